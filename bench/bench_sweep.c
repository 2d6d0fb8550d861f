/* bench_sweep.c - which convolution problems each preset benchmarks.
 *
 * quick: five small problems (the seed CNN's two layers at batch 8, a 1x1, a strided
 *        5x5, a 7x7), so the whole run stays under a minute on 2 cores.
 * full:  the parameter sweep filter {1,3,5,7} x stride {1,2} x padding {valid,same} x
 *        channels {3->32, 32->64, 64->64, 128->128} x image {16,32,56}, with the batch
 *        picked so one call is about CKB_SWEEP_GFLOP; the seed CNN's layers at batch 64;
 *        real-network layers (VGG, ResNet 3x3/1x1/stem); the test suite's shape corpus
 *        (at the smallest thread count only); the issues' target layers.
 * --problem=DESC replaces the conv problems of either preset with the ones given.
 * Each problem is registered for all passes, backends and thread counts by bench_conv.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "convkit/status.h"
#include "shapes.h"

/* Target GFLOP of one sweep call (the batch gives 0.5x-1x of it): 12-25 ms at 40 GFLOP/s. */
#define CKB_SWEEP_GFLOP 1.0

static const char *const quick_problems[] = {
    "mb8ic3ih32oc32kh3ph1",     /* seed conv1, batch 8 */
    "mb8ic32ih16oc64kh3ph1",    /* seed conv2, batch 8 */
    "mb4ic32ih28oc64kh1",       /* 1x1 (pointwise) */
    "mb2ic16ih32oc16kh5sh2ph2", /* strided 5x5 */
    "mb2ic8ih20oc16kh7ph3",     /* 7x7, channels not a multiple of 8 */
};

static const char *const seed_problems[] = {
    "mb64ic3ih32oc32kh3ph1",  /* seed CNN conv1: 32x32x3 -> 32 filters 3x3 same */
    "mb64ic32ih16oc64kh3ph1", /* seed CNN conv2: 16x16x32 -> 64 filters 3x3 same */
};

/* Layers the issues set targets on that the lists above and the sweep do not hold. */
static const char *const target_problems[] = {
    "mb64ic64ih32oc64kh3ph1", /* Winograd target: 3x3, 64 channels, 32x32 */
    "mb64ic32ih16oc64kh5ph2", /* direct-conv target: seed conv2 with a 5x5 filter */
};

/* Layers of well-known ImageNet networks (batch sized for ~1-4 GFLOP a call). */
static const char *const network_problems[] = {
    "mb1ic64ih224oc64kh3ph1",   /* VGG-16 conv1_2 */
    "mb1ic128ih112oc128kh3ph1", /* VGG-16 conv2_2 */
    "mb1ic256ih56oc256kh3ph1",  /* VGG-16 conv3_x */
    "mb1ic512ih28oc512kh3ph1",  /* VGG-16 conv4_x */
    "mb1ic512ih14oc512kh3ph1",  /* VGG-16 conv5_x */
    "mb8ic3ih224oc64kh7sh2ph3", /* ResNet stem 7x7 stride 2 */
    "mb8ic64ih56oc64kh3ph1",    /* ResNet-18/34 conv2_x */
    "mb8ic128ih28oc128kh3ph1",  /* ResNet-18/34 conv3_x */
    "mb8ic256ih14oc256kh3ph1",  /* ResNet-18/34 conv4_x */
    "mb8ic512ih7oc512kh3ph1",   /* ResNet-18/34 conv5_x */
    "mb8ic64ih56oc128kh3sh2ph1", /* ResNet-18 downsampling 3x3 */
    "mb8ic64ih56oc256kh1",      /* ResNet-50 bottleneck expand 1x1 */
    "mb8ic256ih56oc64kh1",      /* ResNet-50 bottleneck reduce 1x1 */
    "mb8ic512ih28oc128kh1",     /* ResNet-50 conv3_x reduce 1x1 */
    "mb8ic256ih56oc512kh1sh2",  /* ResNet-50 projection shortcut 1x1 stride 2 */
};

static void register_desc(const struct ckb_config *cfg, const char *desc)
{
    struct ck_conv_params p;
    char msg[256];
    if (ck_conv_problem_parse(desc, &p, msg, sizeof msg) != CK_OK) {
        fprintf(stderr, "convkit-bench: bad built-in problem: %s\n", msg);
        exit(1);
    }
    ckb_register_conv_problem(cfg, &p, 0);
}

/* The parameter sweep; the batch is the largest power of two <= 64 within budget. */
static void register_parameter_sweep(const struct ckb_config *cfg)
{
    static const int filters[] = {1, 3, 5, 7};
    static const int strides[] = {1, 2};
    static const int channels[][2] = {{3, 32}, {32, 64}, {64, 64}, {128, 128}};
    static const int images[] = {16, 32, 56};
    for (size_t ci = 0; ci < sizeof channels / sizeof channels[0]; ci++)
        for (size_t ii = 0; ii < sizeof images / sizeof images[0]; ii++)
            for (size_t fi = 0; fi < sizeof filters / sizeof filters[0]; fi++)
                for (size_t si = 0; si < sizeof strides / sizeof strides[0]; si++)
                    for (int same = 0; same <= 1; same++) {
                        struct ck_conv_params p;
                        ck_conv_params_init(&p);
                        p.C = channels[ci][0];
                        p.K = channels[ci][1];
                        p.H = p.W = images[ii];
                        p.R = p.S = filters[fi];
                        p.stride_h = p.stride_w = strides[si];
                        struct ck_padding pad = {same ? CK_PADDING_SAME : CK_PADDING_VALID,
                                                 0, 0, 0, 0};
                        ck_conv_apply_padding(&p, &pad);
                        double per_image = ck_conv_flops(&p) * 1e-9;
                        p.N = 64;
                        while (p.N > 1 && p.N * per_image > CKB_SWEEP_GFLOP)
                            p.N /= 2;
                        ckb_register_conv_problem(cfg, &p, 0); /* 1x1 "same" == "valid": once */
                    }
}

void ckb_register_conv_sweeps(const struct ckb_config *cfg)
{
    if (cfg->n_problems > 0) { /* --problem: exactly these */
        for (int i = 0; i < cfg->n_problems; i++)
            register_desc(cfg, cfg->problems[i]);
        return;
    }
    if (cfg->preset == CKB_PRESET_QUICK) {
        for (size_t i = 0; i < sizeof quick_problems / sizeof quick_problems[0]; i++)
            register_desc(cfg, quick_problems[i]);
        return;
    }
    for (size_t i = 0; i < sizeof seed_problems / sizeof seed_problems[0]; i++)
        register_desc(cfg, seed_problems[i]);
    for (size_t i = 0; i < sizeof target_problems / sizeof target_problems[0]; i++)
        register_desc(cfg, target_problems[i]);
    for (size_t i = 0; i < sizeof network_problems / sizeof network_problems[0]; i++)
        register_desc(cfg, network_problems[i]);
    register_parameter_sweep(cfg);
    /* The test corpus: odd sizes, asymmetric padding, dilation, groups. Tiny problems
     * (microseconds a call), so one thread count only. */
    for (size_t i = 0; i < ckt_corpus_count(); i++)
        ckb_register_conv_problem(cfg, &ckt_corpus_get(i)->p, 1);
}
