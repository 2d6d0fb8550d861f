/* test_train.c - the training loop (train.h): learning, determinism across thread
 * counts, chunked gradients against a whole-batch reference, schedules, divergence,
 * resuming and evaluation. Tiny nets on synthetic 8x8 images keep it fast.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/train.h"
#include "files.h"

#define TINY "input 8x8x1; conv2d 4 3x3 padding=same activation=relu; maxpool2d 2x2; " \
             "flatten; dropout 0.25; dense 10"
#define TINY_NODROP "input 8x8x1; conv2d 4 3x3 padding=same activation=relu; maxpool2d 2x2; " \
                    "flatten; dense 10"

static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

static struct ck_dataset synth(size_t n, uint64_t offset)
{
    struct ck_dataset d;
    char msg[256];
    cr_assert_eq(ck_dataset_synthetic((struct ck_shape){1, 8, 8}, 10, n, 3, offset, &d, msg,
                                      sizeof msg), CK_OK, "%s", msg);
    return d;
}

static struct ck_trainer *make(const char *spec_text, int batch, int micro,
                               enum ck_optim_kind kind, double lr, int augment)
{
    struct ck_model_spec spec;
    char msg[256];
    cr_assert_eq(ck_model_spec_parse(spec_text, NULL, &spec, msg, sizeof msg), CK_OK, "%s", msg);
    struct ck_train_config c = ck_train_config_default();
    c.optim = ck_optim_config_default(kind);
    c.optim.lr = lr;
    if (kind == CK_OPTIM_SGD)
        c.optim.momentum = 0.9;
    c.batch = batch;
    c.micro_batch = micro;
    c.seed = 11;
    c.norm.mean[0] = 0.5f;
    c.norm.std[0] = 0.25f;
    if (augment)
        c.augment = (struct ck_augment){1, 1};
    struct ck_trainer *t;
    cr_assert_eq(ck_trainer_create(&spec, &c, "naive", &t, msg, sizeof msg), CK_OK, "%s", msg);
    return t;
}

static void run_epochs(struct ck_trainer *t, const struct ck_dataset *d, int epochs)
{
    char msg[256];
    while (t->progress.epoch < epochs)
        cr_assert_eq(ck_train_epoch(t, d, epochs, 0, NULL, NULL, msg, sizeof msg), CK_OK, "%s",
                     msg);
}

Test(train, a_few_steps_reduce_the_loss)
{
    struct ck_dataset d = synth(96, 0);
    struct ck_trainer *t = make(TINY, 16, 4, CK_OPTIM_ADAM, 0.01, 0);
    double before, after, acc;
    cr_assert_eq(ck_trainer_evaluate(t, &d, &before, &acc, NULL), CK_OK);
    run_epochs(t, &d, 3);
    cr_assert_eq(t->progress.step, 18);
    cr_assert_eq(ck_trainer_evaluate(t, &d, &after, &acc, NULL), CK_OK);
    cr_assert_lt(after, 0.7 * before, "loss %g -> %g", before, after);
    ck_trainer_free(t);
    ck_dataset_free(&d);
}

/* Train 2 epochs with T threads; return a copy of the parameters. */
static float *train_with_threads(int threads, int micro, size_t *len)
{
    set_threads(threads);
    struct ck_dataset d = synth(80, 0);
    struct ck_trainer *t = make(TINY, 16, micro, CK_OPTIM_SGD, 0.05, 1);
    run_epochs(t, &d, 2);
    *len = t->nets[0]->params_len;
    float *p = malloc(*len * sizeof(float));
    memcpy(p, t->nets[0]->params, *len * sizeof(float));
    ck_trainer_free(t);
    ck_dataset_free(&d);
    set_threads(2);
    return p;
}

Test(train, same_weights_for_1_2_and_3_threads)
{
    const int micros[2] = {4, 16}; /* data-parallel chunks, and one chunk (intra-op) */
    for (int m = 0; m < 2; m++) {
        size_t n1, n2, n3;
        float *a = train_with_threads(1, micros[m], &n1);
        float *b = train_with_threads(2, micros[m], &n2);
        float *c = train_with_threads(3, micros[m], &n3);
        cr_assert_eq(n1, n2);
        cr_assert_eq(memcmp(a, b, n1 * sizeof(float)), 0, "micro %d: 1 vs 2 threads", micros[m]);
        cr_assert_eq(memcmp(a, c, n1 * sizeof(float)), 0, "micro %d: 1 vs 3 threads", micros[m]);
        free(a);
        free(b);
        free(c);
    }
}

Test(train, chunked_gradient_is_the_whole_batch_mean_gradient)
{
    /* batch 10 in chunks of 4, 4, 2: the size-weighted sum of chunk means must be the
     * mean gradient of one forward/backward over all 10 images (computed on a
     * separate net with batch 10). lr 0 keeps the weights. */
    struct ck_dataset d = synth(10, 0);
    struct ck_trainer *t = make(TINY_NODROP, 10, 4, CK_OPTIM_SGD, 0.0, 0);
    uint32_t idx[10];
    for (int i = 0; i < 10; i++)
        idx[i] = (uint32_t)i;
    float x[640];
    int y[10];
    ck_dataset_batch(&d, idx, 10, &t->cfg.norm, NULL, 0, 0, x, y);
    double loss;
    cr_assert_eq(ck_trainer_step(t, x, y, 10, &loss, NULL), CK_OK);

    struct ck_net *ref;
    char msg[256];
    cr_assert_eq(ck_net_build(&t->spec, 10, "naive", &ref, msg, sizeof msg), CK_OK, "%s", msg);
    memcpy(ref->params, t->nets[0]->params, ref->params_len * sizeof(float));
    cr_assert_eq(ck_net_forward(ref, x, 10, y, 1), CK_OK);
    cr_assert_eq(ck_net_backward(ref), CK_OK);
    cr_assert(fabs(ref->loss - loss) < 1e-5 * fabs(ref->loss), "loss %g vs %g", loss, ref->loss);
    double gmax = 0.0, emax = 0.0;
    for (size_t i = 0; i < ref->params_len; i++)
        gmax = fmax(gmax, fabs(ref->grads[i]));
    for (size_t i = 0; i < ref->params_len; i++)
        emax = fmax(emax, fabs((double)ref->grads[i] - t->nets[0]->grads[i]));
    cr_assert_gt(gmax, 0.0);
    cr_assert_leq(emax / gmax, 1e-5, "max gradient error %g of %g", emax, gmax);
    ck_net_free(ref);
    ck_dataset_free(&d);
    ck_trainer_free(t);
}

Test(train, learning_rate_schedules)
{
    struct ck_lr_schedule c = {CK_LR_COSINE, 1, 0.1}, s = {CK_LR_STEP, 2, 0.5},
                          k = {CK_LR_CONSTANT, 1, 0.1};
    /* 4 epochs of 10 steps: cosine lr * (1 + cos(pi t / 40)) / 2 */
    cr_assert_float_eq(ck_lr_at(&c, 0.2, 0, 10, 4), 0.2, 1e-15);
    cr_assert_float_eq(ck_lr_at(&c, 0.2, 20, 10, 4), 0.1, 1e-15);
    cr_assert_float_eq(ck_lr_at(&c, 0.2, 10, 10, 4), 0.1 * (1.0 + sqrt(0.5)), 1e-15);
    cr_assert_float_eq(ck_lr_at(&c, 0.2, 40, 10, 4), 0.0, 1e-15);
    /* step: halve every 2 epochs: steps 0..19 -> 0.2, 20..39 -> 0.1, 40.. -> 0.05 */
    cr_assert_float_eq(ck_lr_at(&s, 0.2, 19, 10, 4), 0.2, 1e-15);
    cr_assert_float_eq(ck_lr_at(&s, 0.2, 20, 10, 4), 0.1, 1e-15);
    cr_assert_float_eq(ck_lr_at(&s, 0.2, 45, 10, 4), 0.05, 1e-15);
    cr_assert_float_eq(ck_lr_at(&k, 0.2, 45, 10, 4), 0.2, 1e-15);
}

Test(train, non_finite_input_stops_before_the_update)
{
    struct ck_trainer *t = make(TINY, 8, 4, CK_OPTIM_SGD, 0.1, 0);
    float x[512];
    int y[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int i = 0; i < 512; i++)
        x[i] = (float)(i % 7) * 0.1f;
    x[300] = NAN; /* image 4 -> chunk 1 */
    const size_t n = t->nets[0]->params_len;
    float *before = malloc(n * sizeof(float));
    memcpy(before, t->nets[0]->params, n * sizeof(float));
    double loss;
    cr_assert_eq(ck_trainer_step(t, x, y, 8, &loss, NULL), CK_ERR_DIVERGED);
    cr_assert(!isfinite(loss));
    cr_assert_eq(memcmp(before, t->nets[0]->params, n * sizeof(float)), 0);
    cr_assert_eq(t->opt.step, 0);
    free(before);
    ck_trainer_free(t);
}

Test(train, exploding_learning_rate_is_reported)
{
    struct ck_dataset d = synth(64, 0);
    struct ck_trainer *t = make(TINY_NODROP, 8, 4, CK_OPTIM_SGD, 1e30, 0);
    char msg[256] = "";
    enum ck_status st = ck_train_epoch(t, &d, 1, 0, NULL, NULL, msg, sizeof msg);
    cr_assert_eq(st, CK_ERR_DIVERGED, "%s", ck_status_str(st));
    cr_assert(strstr(msg, "not finite") && strstr(msg, "step"), "%s", msg);
    cr_assert_lt(t->progress.step, 8);
    ck_trainer_free(t);
    ck_dataset_free(&d);
}

Test(train, resumed_training_is_bit_identical)
{
    char dir[64], path[128], pa[128], pb[128];
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_train"), 0);
    snprintf(path, sizeof path, "%s/mid.ckpt", dir);
    snprintf(pa, sizeof pa, "%s/a.ckpt", dir);
    snprintf(pb, sizeof pb, "%s/b.ckpt", dir);
    struct ck_dataset d = synth(72, 0); /* 5 steps per epoch, the last one short */
    char msg[256];
    struct ck_trainer *a = make(TINY, 16, 4, CK_OPTIM_ADAM, 0.01, 1);
    a->cfg.schedule.kind = CK_LR_COSINE;
    run_epochs(a, &d, 2);
    cr_assert_eq(ck_checkpoint_save(pa, a, "synthetic", msg, sizeof msg), CK_OK, "%s", msg);

    struct ck_trainer *b = make(TINY, 16, 4, CK_OPTIM_ADAM, 0.01, 1);
    b->cfg.schedule.kind = CK_LR_COSINE;
    cr_assert_eq(ck_train_epoch(b, &d, 2, 3, NULL, NULL, msg, sizeof msg), CK_OK); /* stop mid-epoch */
    cr_assert_eq(b->progress.step, 3);
    cr_assert_eq(ck_checkpoint_save(path, b, "synthetic", msg, sizeof msg), CK_OK, "%s", msg);
    ck_trainer_free(b);
    struct ck_checkpoint ck;
    cr_assert_eq(ck_checkpoint_read(path, &ck, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_checkpoint_restore(&ck, "naive", &b, msg, sizeof msg), CK_OK, "%s", msg);
    ck_checkpoint_free(&ck);
    run_epochs(b, &d, 2);
    cr_assert_eq(ck_checkpoint_save(pb, b, "synthetic", msg, sizeof msg), CK_OK, "%s", msg);

    cr_assert_eq(memcmp(a->nets[0]->params, b->nets[0]->params,
                        a->nets[0]->params_len * sizeof(float)), 0);
    FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
    int ca, cb, same = 1;
    do {
        ca = fgetc(fa), cb = fgetc(fb);
        same &= ca == cb;
    } while (ca != EOF && cb != EOF);
    fclose(fa);
    fclose(fb);
    cr_assert(same, "straight and resumed checkpoints differ");
    ck_trainer_free(a);
    ck_trainer_free(b);
    ck_dataset_free(&d);
    ckt_tmpdir_remove(dir);
}

Test(train, evaluation_confusion_matrix)
{
    struct ck_dataset d = synth(37, 500);
    struct ck_trainer *t = make(TINY, 16, 4, CK_OPTIM_ADAM, 0.01, 0);
    struct ck_dataset tr = synth(96, 0);
    run_epochs(t, &tr, 2);
    long long conf[100];
    double loss, acc;
    cr_assert_eq(ck_trainer_evaluate(t, &d, &loss, &acc, conf), CK_OK);
    long long total = 0, diag = 0;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) {
            total += conf[i * 10 + j];
            diag += i == j ? conf[i * 10 + j] : 0;
        }
    cr_assert_eq(total, 37);
    cr_assert_float_eq(acc, (double)diag / 37.0, 1e-12);
    /* independently: one image at a time through replica 0 */
    int right = 0;
    for (uint32_t i = 0; i < 37; i++) {
        float x[64];
        int y;
        ck_dataset_batch(&d, &i, 1, &t->cfg.norm, NULL, 0, 0, x, &y);
        cr_assert_eq(ck_net_forward(t->nets[0], x, 1, &y, 0), CK_OK);
        right += t->nets[0]->correct;
        cr_assert_eq(conf[y * 10 + y] > 0 || !t->nets[0]->correct, 1);
    }
    cr_assert_eq(right, diag);
    ck_trainer_free(t);
    ck_dataset_free(&d);
    ck_dataset_free(&tr);
}

Test(train, dataset_must_fit_the_model)
{
    struct ck_trainer *t = make(TINY, 16, 4, CK_OPTIM_ADAM, 0.01, 0);
    struct ck_dataset d;
    char msg[256] = "";
    cr_assert_eq(ck_dataset_synthetic((struct ck_shape){3, 8, 8}, 10, 10, 1, 0, &d, msg,
                                      sizeof msg), CK_OK);
    cr_assert_eq(ck_train_epoch(t, &d, 1, 0, NULL, NULL, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "8x8x3") && strstr(msg, "8x8x1"), "%s", msg);
    ck_trainer_free(t);
    ck_dataset_free(&d);
}
