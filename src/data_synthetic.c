/* data_synthetic.c - a procedural, learnable dataset of any shape for throughput runs.
 *
 * Record i (of the endless stream; a split starts at its offset) has label
 * hash(seed, i) mod classes and pixels = prototype(label) + uniform noise in [-48, 48],
 * clamped to 0..255. A class prototype is a plane wave per channel with integer
 * frequencies and a phase drawn from the seed. The prototypes (rounded to integers) are
 * computed once when the set is made (a sine per pixel per image was 13% of a seed-cnn
 * training step); the noise is computed on demand, so a synthetic set of any size costs
 * classes * c*h*w bytes and any record can be recomputed alone.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/data.h"
#include "convkit/rng.h"
#include "data_internal.h"
#include "internal.h"

enum { STREAM_LABEL = 0x53594e4c, STREAM_PROTO = 0x53594e50, STREAM_NOISE = 0x53594e4e };

/* Prototype of class label: round(128 + 70 sin(2 pi (fx x / W + fy y / H) + phase)) per
 * channel, in 58..198; out is (C,H,W). */
static void prototype(struct ck_shape shape, uint64_t seed, int label, uint8_t *out)
{
    const int C = shape.c, H = shape.h, W = shape.w;
    for (int c = 0; c < C; c++) {
        uint64_t p = ck_rng_hash(seed, STREAM_PROTO, (uint64_t)label * 8 + c);
        const double fy = (double)(p % 4), fx = (double)((p >> 8) % 4) + 1.0;
        const double phase = (double)((p >> 16) % 1000) * (6.283185307179586 / 1000.0);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                const double wave = sin(6.283185307179586 * (fx * x / W + fy * y / H) + phase);
                out[((size_t)c * H + y) * W + x] = (uint8_t)lrint(128.0 + 70.0 * wave);
            }
        }
    }
}

enum ck_status ck_dataset_synthetic(struct ck_shape shape, int classes, size_t n,
                                    uint64_t seed, uint64_t offset, struct ck_dataset *out,
                                    char *msg, size_t msg_len)
{
    if (!out)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (shape.c < 1 || shape.c > CK_DATA_MAX_CHANNELS || shape.h < 1 || shape.w < 1 ||
        shape.h > 4096 || shape.w > 4096 || ck_shape_numel(shape) > CK_SYNTHETIC_MAX_NUMEL ||
        classes < 2 || classes > CK_DATA_MAX_CLASSES || n == 0) {
        ck__msg(msg, msg_len,
                "synthetic: need 1..%d channels, at most %d values per image, 2..%d classes "
                "and >= 1 image (got %dx%dx%d, %d classes, %zu images)",
                CK_DATA_MAX_CHANNELS, CK_SYNTHETIC_MAX_NUMEL, CK_DATA_MAX_CLASSES, shape.h,
                shape.w, shape.c, classes, n);
        return CK_ERR_INVALID_ARGUMENT;
    }
    const size_t numel = ck_shape_numel(shape);
    out->synth_proto = malloc((size_t)classes * numel);
    if (!out->synth_proto) {
        ck__msg(msg, msg_len, "synthetic: out of memory for %d class prototypes", classes);
        return CK_ERR_OUT_OF_MEMORY;
    }
    for (int label = 0; label < classes; label++)
        prototype(shape, seed, label, out->synth_proto + (size_t)label * numel);
    snprintf(out->name, sizeof out->name, "synthetic");
    out->n = n;
    out->shape = shape;
    out->classes = classes;
    out->synth_seed = seed;
    out->synth_offset = offset;
    return CK_OK;
}

int ck__synthetic_label(const struct ck_dataset *d, size_t i)
{
    uint64_t h = ck_rng_hash(d->synth_seed, STREAM_LABEL, d->synth_offset + i);
    return (int)(h % (uint64_t)d->classes);
}

void ck__synthetic_image(const struct ck_dataset *d, size_t i, uint8_t *out)
{
    const size_t numel = ck_shape_numel(d->shape);
    const uint8_t *proto = d->synth_proto + (size_t)ck__synthetic_label(d, i) * numel;
    const uint64_t base = (d->synth_offset + i) * (uint64_t)numel;
    for (size_t k = 0; k < numel; k++) {
        const uint64_t r = ck_rng_hash(d->synth_seed, STREAM_NOISE, base + k);
        const int v = (int)proto[k] + (int)(r % 97) - 48;
        out[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}
