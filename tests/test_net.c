/* test_net.c - whole nets: parameter counts of the lecture's networks, a finite-
 * difference gradient check through conv-pool-conv-flatten-dense-softmax/xent, backend
 * switching after build, initialisers, training steps that reduce the loss on a tiny
 * synthetic set, determinism, divergence, chunked evaluation, and `convkit summary`.
 */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "convkit/convkit.h"

static struct ck_model_spec spec;
static char msg[512];

static struct ck_net *build(const char *text, int batch, const char *backend)
{
    struct ck_net *net = NULL;
    cr_assert_eq(ck_model_spec_parse(text, NULL, &spec, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_net_build(&spec, batch, backend, &net, msg, sizeof msg), CK_OK, "%s", msg);
    return net;
}

/* ---------------------------------------------------------------------------------- */

Test(net, lecture_parameter_counts)
{
    /* params = K * (R*S*C) weights + K biases:
     *   conv 3->6 3x3:   6 * (3*3*3)  + 6  =   162 +  6 =  168
     *   conv 6->12 5x5: 12 * (5*5*6)  + 12 =  1800 + 12 = 1812
     *   conv 12->24 3x3: 24 * (3*3*12) + 24 = 2592 + 24 = 2616   total 4596 */
    static const struct {
        const char *text;
        size_t params;
    } cases[] = {
        {"input 32x32x3; conv2d 6 3x3", 168},
        {"input 32x32x6; conv2d 12 5x5", 1812},
        {"input 32x32x12; conv2d 24 3x3", 2616},
        {"input 32x32x3; conv2d 6 3x3; conv2d 12 5x5; conv2d 24 3x3", 4596},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ck_net *net = build(cases[i].text, 1, NULL);
        cr_expect_eq(ck_net_param_count(net), cases[i].params, "%s: %zu", cases[i].text,
                     ck_net_param_count(net));
        ck_net_free(net);
    }
    /* seed-cnn on 32x32x3:
     *   conv2d 32 3x3 (C=3):   32*(3*3*3)   + 32  =     864 +  32 =     896
     *   conv2d 64 3x3 (C=32):  64*(3*3*32)  + 64  =   18432 +  64 =   18496
     *   flatten 8*8*64 = 4096; dense 128: 128*4096 + 128 = 524288 + 128 = 524416
     *   dense 10: 10*128 + 10 = 1290          total 896+18496+524416+1290 = 545098 */
    struct ck_net *net = build("seed-cnn", 2, NULL);
    cr_expect_eq(ck_net_param_count(net), 545098);
    cr_expect_eq(ck_net_param_tensor_count(net), 8);
    cr_expect_eq(net->classes, 10);
    /* conv1 forward FLOPs per image: 2 * K*P*Q * C*R*S = 2 * 32*32*32 * 27 = 1,769,472 */
    struct ck_layer_info info;
    cr_assert_eq(ck_net_layer_info(net, 0, &info), CK_OK);
    cr_expect_eq(info.params, 896);
    cr_expect(info.flops == 1769472.0 && info.backend != NULL && info.out.c == 32);
    cr_assert_eq(ck_net_layer_info(net, 5, &info), CK_OK); /* dense 128: 2*4096*128 */
    cr_expect(info.flops == 1048576.0 && info.backend == NULL && info.activation == CK_ACT_RELU);
    ck_net_free(net);
}

/* ---------------------------------------------------------------------------------- */

static double net_loss(struct ck_net *net, const float *x, const int *labels)
{
    cr_assert_eq(ck_net_forward(net, x, net->batch, labels, 1), CK_OK);
    return net->loss;
}

Test(net, whole_net_gradient_matches_finite_differences)
{
    /* smooth activations (tanh, sigmoid) and average pooling keep the loss differentiable
     * everywhere, so central differences converge; kinks are covered per layer */
    struct ck_net *net = build("input 8x8x2\n"
                               "conv2d 4 3x3 padding=same activation=tanh\n"
                               "avgpool2d 2x2\n"
                               "conv2d 6 3x3 groups=2 activation=sigmoid\n"
                               "flatten\n"
                               "dense 5\n",
                               3, NULL);
    cr_assert_eq(ck_net_init_params(net, CK_INIT_GLOROT_UNIFORM, 5), CK_OK);
    for (size_t i = 0; i < net->params_len; i++) /* biases off zero too */
        if (net->params[i] == 0.0f)
            net->params[i] = 0.05f;
    float x[3 * 2 * 8 * 8];
    ckt_fill_uniform(x, sizeof x / sizeof x[0], 3, -1.0f, 1.0f);
    const int labels[3] = {4, 0, 2};
    net_loss(net, x, labels);
    ckt_fill_nan(net->grads, net->params_len);
    cr_assert_eq(ck_net_backward(net), CK_OK);
    float *grads = malloc(net->params_len * sizeof(float));
    memcpy(grads, net->grads, net->params_len * sizeof(float));
    const float eps = 1.0f / 128;
    size_t checked = 0;
    for (size_t t = 0; t < ck_net_param_tensor_count(net); t++) {
        struct ck_param p;
        int layer;
        cr_assert_eq(ck_net_param(net, t, &p, &layer), CK_OK);
        const float *g = grads + (p.value - net->params);
        double amax = 1e-4;
        for (size_t i = 0; i < p.numel; i++)
            amax = fmax(amax, fabs(g[i]));
        for (size_t i = 0; i < p.numel; i++, checked++) {
            float save = p.value[i];
            p.value[i] = save + eps;
            double lp = net_loss(net, x, labels);
            p.value[i] = save - eps;
            double lm = net_loss(net, x, labels);
            p.value[i] = save;
            double num = (lp - lm) / (2.0 * eps);
            cr_assert(fabs(num - g[i]) <= 2e-2 * amax + 1e-5,
                      "layer %d %s[%zu]: analytic %.6g numeric %.6g (max %.3g)", layer, p.name, i,
                      g[i], num, amax);
        }
    }
    cr_expect_eq(checked, ck_net_param_count(net));
    free(grads);
    ck_net_free(net);
}

/* ---------------------------------------------------------------------------------- */

static const char *switch_spec = "input 12x12x3\n"
                                 "conv2d 8 3x3 padding=same activation=relu\n"
                                 "maxpool2d 2x2\n"
                                 "conv2d 8 3x3 stride=2 padding=1\n"
                                 "flatten\n"
                                 "dense 4\n";

Test(net, backend_switch_after_build_keeps_results)
{
    struct ck_net *net = build(switch_spec, 2, "naive");
    cr_assert_eq(ck_net_init_params(net, CK_INIT_AUTO, 9), CK_OK);
    float x[2 * 3 * 12 * 12];
    ckt_fill_uniform(x, sizeof x / sizeof x[0], 4, -1.0f, 1.0f);
    const int labels[2] = {1, 3};
    cr_assert_eq(ck_net_forward(net, x, 2, labels, 0), CK_OK);
    float ref[8];
    memcpy(ref, ck_net_output(net), sizeof ref);
    double ref_loss = net->loss;
    int switched = 0;
    for (size_t b = 0; b < ck_backend_count(); b++) {
        const char *name = ck_backend_get(b)->name;
        enum ck_status s0 = ck_net_set_backend(net, 0, name, msg, sizeof msg);
        enum ck_status s2 = ck_net_set_backend(net, 2, name, msg, sizeof msg);
        if (s0 != CK_OK || s2 != CK_OK) {
            cr_expect(s0 == CK_ERR_UNSUPPORTED || s0 == CK_ERR_CPU_FEATURE || s2 == s0 ||
                          s2 == CK_ERR_UNSUPPORTED,
                      "%s: %s", name, msg);
            continue;
        }
        switched++;
        cr_expect_str_eq(ck_layer_backend(&net->layers[0])->name, name);
        cr_expect_str_eq(net->spec.layers[2].backend, name);
        for (int i = 0; i < net->n_layers; i++)
            cr_expect(net->ws_size >= ck_layer_workspace_size(&net->layers[i]));
        cr_assert_eq(ck_net_forward(net, x, 2, labels, 0), CK_OK);
        const float *out = ck_net_output(net);
        for (int i = 0; i < 8; i++)
            cr_expect(fabsf(out[i] - ref[i]) < 1e-4f, "%s: p[%d] %g vs %g", name, i, out[i],
                      ref[i]);
        cr_expect(fabs(net->loss - ref_loss) < 1e-4, "%s: loss %g vs %g", name, net->loss,
                  ref_loss);
    }
    cr_expect(switched >= 1);
    /* errors: not a conv layer, unknown name (the message lists the known ones) */
    cr_expect_eq(ck_net_set_backend(net, 1, "naive", msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_net_set_backend(net, 99, "naive", msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_net_set_backend(net, 0, "nope", msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "nope") && strstr(msg, "naive"), "%s", msg);
    cr_expect_eq(ck_net_set_backend(net, 0, "auto", msg, sizeof msg), CK_OK, "%s", msg);
    ck_net_free(net);
}

Test(net, build_errors)
{
    struct ck_net *net = (struct ck_net *)&spec; /* must be reset to NULL on failure */
    cr_assert_eq(ck_model_spec_parse("seed-cnn", NULL, &spec, msg, sizeof msg), CK_OK);
    cr_expect_eq(ck_net_build(&spec, 0, NULL, &net, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    cr_expect_null(net);
    cr_expect_eq(ck_net_build(&spec, 4, "warp-drive", &net, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "warp-drive") && strstr(msg, "naive"), "%s", msg);
    cr_expect_null(net);
    ck_net_free(NULL);
}

/* ---------------------------------------------------------------------------------- */

Test(net, initialisers)
{
    struct ck_net *a = build("input 8x8x1; flatten; dense 4096; dense 128 activation=relu; "
                             "dense 10",
                             1, NULL);
    struct ck_param w;
    /* He normal on dense 4096 -> 128 (fan_in 4096): std sqrt(2/4096) = 0.0221 */
    cr_assert_eq(ck_net_init_params(a, CK_INIT_HE_NORMAL, 1), CK_OK);
    cr_assert_eq(ck_net_param(a, 2, &w, NULL), CK_OK);
    cr_assert_eq(w.numel, 128 * 4096);
    double s2 = 0;
    for (size_t i = 0; i < w.numel; i++)
        s2 += (double)w.value[i] * w.value[i];
    cr_expect(fabs(sqrt(s2 / w.numel) / sqrt(2.0 / 4096) - 1.0) < 0.01, "std %g",
              sqrt(s2 / w.numel));
    struct ck_param b;
    cr_assert_eq(ck_net_param(a, 3, &b, NULL), CK_OK);
    for (size_t i = 0; i < b.numel; i++)
        cr_assert(b.value[i] == 0.0f);
    /* Glorot uniform: |w| <= sqrt(6/(4096+128)) = 0.03769 and the extremes get close */
    cr_assert_eq(ck_net_init_params(a, CK_INIT_GLOROT_UNIFORM, 1), CK_OK);
    double bound = sqrt(6.0 / (4096 + 128)), mx = 0;
    for (size_t i = 0; i < w.numel; i++)
        mx = fmax(mx, fabs(w.value[i]));
    cr_expect(mx <= bound && mx > 0.999 * bound, "max %g bound %g", mx, bound);
    /* He uniform: bound sqrt(6/fan_in); same seed -> same weights; other seed -> others */
    cr_assert_eq(ck_net_init_params(a, CK_INIT_HE_UNIFORM, 7), CK_OK);
    float first = w.value[0];
    mx = 0;
    for (size_t i = 0; i < w.numel; i++)
        mx = fmax(mx, fabs(w.value[i]));
    cr_expect(mx <= sqrt(6.0 / 4096) && mx > 0.999 * sqrt(6.0 / 4096));
    cr_assert_eq(ck_net_init_params(a, CK_INIT_HE_UNIFORM, 7), CK_OK);
    cr_expect(w.value[0] == first);
    cr_assert_eq(ck_net_init_params(a, CK_INIT_HE_UNIFORM, 8), CK_OK);
    cr_expect(w.value[0] != first);
    /* Glorot normal: std sqrt(2/(fan_in+fan_out)) */
    cr_assert_eq(ck_net_init_params(a, CK_INIT_GLOROT_NORMAL, 3), CK_OK);
    s2 = 0;
    for (size_t i = 0; i < w.numel; i++)
        s2 += (double)w.value[i] * w.value[i];
    cr_expect(fabs(sqrt(s2 / w.numel) / sqrt(2.0 / (4096 + 128)) - 1.0) < 0.01);
    ck_net_free(a);
}

/* ---------------------------------------------------------------------------------- */
/* training                                                                              */

enum { IMGS = 24, BATCH = 8 };

/* Three classes of 8x8 images: a bright 2-row bar at rows 3k..3k+1, plus noise. */
static void synthetic(float *x, int *labels)
{
    ckt_fill_uniform(x, IMGS * 64, 21, -0.3f, 0.3f);
    for (int i = 0; i < IMGS; i++) {
        labels[i] = i % 3;
        for (int r = 3 * labels[i]; r < 3 * labels[i] + 2; r++)
            for (int c = 0; c < 8; c++)
                x[i * 64 + r * 8 + c] += 1.0f;
    }
}

static const char *tiny_spec = "input 8x8x1\n"
                               "conv2d 4 3x3 padding=same activation=relu\n"
                               "maxpool2d 2x2\n"
                               "flatten\n"
                               "dropout 0.1\n"
                               "dense 3\n";

/* Train `steps` steps cycling through the set; returns the net (caller frees). */
static struct ck_net *train(const struct ck_optim_config *cfg, int steps, unsigned seed,
                            double *before, double *after, double *acc)
{
    static float x[IMGS * 64];
    static int labels[IMGS];
    synthetic(x, labels);
    struct ck_net *net = build(tiny_spec, BATCH, NULL);
    cr_assert_eq(ck_net_init_params(net, CK_INIT_AUTO, seed), CK_OK);
    struct ck_optim opt;
    cr_assert_eq(ck_optim_init(&opt, cfg, net->params_len, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_evaluate(net, x, labels, IMGS, before, NULL), CK_OK);
    for (int s = 0; s < steps; s++) {
        int b = s % (IMGS / BATCH);
        double loss;
        int correct;
        cr_assert_eq(ck_train_step(net, &opt, x + b * BATCH * 64, labels + b * BATCH, &loss,
                                   &correct),
                     CK_OK);
        cr_assert(correct >= 0 && correct <= BATCH);
    }
    cr_assert_eq(ck_evaluate(net, x, labels, IMGS, after, acc), CK_OK);
    cr_expect_eq(opt.step, steps);
    ck_optim_free(&opt);
    return net;
}

Test(net, sgd_and_adam_steps_reduce_the_loss)
{
    struct ck_optim_config sgd = ck_optim_config_default(CK_OPTIM_SGD);
    sgd.lr = 0.05, sgd.momentum = 0.9, sgd.weight_decay = 1e-4;
    double before, after, acc;
    ck_net_free(train(&sgd, 30, 1, &before, &after, &acc));
    cr_expect(after < 0.5 * before, "SGD: loss %g -> %g", before, after);
    cr_expect(acc > 0.9, "SGD accuracy %g", acc);
    struct ck_optim_config adam = ck_optim_config_default(CK_OPTIM_ADAM);
    adam.lr = 0.01;
    ck_net_free(train(&adam, 30, 1, &before, &after, &acc));
    cr_expect(after < 0.5 * before, "Adam: loss %g -> %g", before, after);
}

Test(net, same_seed_same_weights_bit_for_bit)
{
    struct ck_optim_config sgd = ck_optim_config_default(CK_OPTIM_SGD);
    sgd.lr = 0.05, sgd.momentum = 0.9;
    double b, a, acc;
    struct ck_net *n1 = train(&sgd, 6, 3, &b, &a, &acc);
    struct ck_net *n2 = train(&sgd, 6, 3, &b, &a, &acc);
    struct ck_net *n3 = train(&sgd, 6, 4, &b, &a, &acc);
    cr_expect(memcmp(n1->params, n2->params, n1->params_len * sizeof(float)) == 0);
    cr_expect(memcmp(n1->params, n3->params, n1->params_len * sizeof(float)) != 0);
    cr_expect_eq(n1->dropout_rng.counter, n2->dropout_rng.counter);
    ck_net_free(n1), ck_net_free(n2), ck_net_free(n3);
}

Test(net, nan_input_is_reported_as_diverged_without_update)
{
    struct ck_net *net = build(tiny_spec, 2, NULL);
    cr_assert_eq(ck_net_init_params(net, CK_INIT_AUTO, 1), CK_OK);
    struct ck_optim opt;
    struct ck_optim_config cfg = ck_optim_config_default(CK_OPTIM_SGD);
    cr_assert_eq(ck_optim_init(&opt, &cfg, net->params_len, NULL, 0), CK_OK);
    float x[2 * 64];
    ckt_fill_uniform(x, 128, 1, 0, 1);
    x[5] = NAN;
    const int labels[2] = {0, 1};
    float *before = malloc(net->params_len * sizeof(float));
    memcpy(before, net->params, net->params_len * sizeof(float));
    double loss = 0;
    cr_expect_eq(ck_train_step(net, &opt, x, labels, &loss, NULL), CK_ERR_DIVERGED);
    cr_expect(isnan(loss));
    cr_expect(memcmp(before, net->params, net->params_len * sizeof(float)) == 0);
    cr_expect_eq(opt.step, 0);
    /* an optimiser sized for another net is refused */
    struct ck_optim small;
    cr_assert_eq(ck_optim_init(&small, &cfg, 3, NULL, 0), CK_OK);
    x[5] = 0;
    cr_expect_eq(ck_train_step(net, &small, x, labels, NULL, NULL), CK_ERR_INVALID_ARGUMENT);
    free(before);
    ck_optim_free(&opt), ck_optim_free(&small);
    ck_net_free(net);
}

Test(net, evaluate_in_chunks_equals_one_image_at_a_time)
{
    static float x[IMGS * 64];
    static int labels[IMGS];
    synthetic(x, labels);
    struct ck_net *n3 = build(tiny_spec, 5, NULL), *n1 = build(tiny_spec, 1, NULL);
    cr_assert_eq(ck_net_init_params(n3, CK_INIT_AUTO, 2), CK_OK);
    memcpy(n1->params, n3->params, n3->params_len * sizeof(float));
    /* 23 images in chunks of 5 (5,5,5,5,3) vs 23 single forwards summed here */
    double loss, acc, sum = 0;
    int correct = 0;
    cr_assert_eq(ck_evaluate(n3, x, labels, 23, &loss, &acc), CK_OK);
    for (int i = 0; i < 23; i++) {
        cr_assert_eq(ck_net_forward(n1, x + i * 64, 1, labels + i, 0), CK_OK);
        sum += n1->loss;
        correct += n1->correct;
    }
    cr_expect(fabs(loss - sum / 23) < 1e-6, "%g vs %g", loss, sum / 23);
    cr_expect(fabs(acc - correct / 23.0) < 1e-12);
    /* inference ignores dropout: the same images give the same outputs twice */
    cr_assert_eq(ck_net_forward(n1, x, 1, NULL, 0), CK_OK);
    float p0 = ck_net_output(n1)[0];
    cr_assert_eq(ck_net_forward(n1, x, 1, NULL, 0), CK_OK);
    cr_expect(ck_net_output(n1)[0] == p0);
    cr_expect_eq(ck_net_backward(n1), CK_ERR_INVALID_ARGUMENT); /* no labels: no loss */
    cr_expect_eq(ck_net_forward(n1, x, 2, NULL, 0), CK_ERR_INVALID_ARGUMENT); /* > batch */
    ck_net_free(n3), ck_net_free(n1);
}

/* ---------------------------------------------------------------------------------- */
/* convkit summary                                                                       */

/* Run the CLI with args; capture stdout/stderr into buffers; return the exit code. */
static int run_cli(const char *args, char *out, size_t out_len, char *err, size_t err_len)
{
    char eo[] = "/tmp/ck_sum_out_XXXXXX", ee[] = "/tmp/ck_sum_err_XXXXXX";
    int fo = mkstemp(eo), fe = mkstemp(ee);
    cr_assert(fo >= 0 && fe >= 0);
    close(fo), close(fe);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", CK_CLI_PATH, args, eo, ee);
    int rc = system(cmd);
    const char *paths[2] = {eo, ee};
    char *bufs[2] = {out, err};
    size_t lens[2] = {out_len, err_len};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "r");
        size_t n = f ? fread(bufs[i], 1, lens[i] - 1, f) : 0;
        bufs[i][n] = '\0';
        if (f)
            fclose(f);
        unlink(paths[i]);
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(summary_cli, seed_cnn_table)
{
    static char out[8192], err[1024];
    cr_assert_eq(run_cli("summary --model seed-cnn", out, sizeof out, err, sizeof err), 0, "%s",
                 err);
    cr_expect(strstr(out, "Total params: 545,098") != NULL, "%s", out);
    cr_expect(strstr(out, "32x32x32") && strstr(out, "8x8x64") && strstr(out, "4096"), "%s", out);
    cr_expect(strstr(out, "1,769,472") != NULL, "conv1 FLOPs missing:\n%s", out);
    cr_expect(strstr(out, "524,416") != NULL, "%s", out);
    /* --input and --batch, --backend naive appears in the conv rows */
    cr_assert_eq(run_cli("summary --model seed-cnn --input 28x28x1 --batch 4 --backend naive",
                         out, sizeof out, err, sizeof err),
                 0, "%s", err);
    /* 28 -> 14 -> 7: dense 128 has 7*7*64*128 + 128 = 401,536; total 320 + 18,496 +
     * 401,536 + 1,290 = 421,642 */
    cr_expect(strstr(out, "Total params: 421,642") != NULL, "%s", out);
    cr_expect(strstr(out, "naive") != NULL);
    cr_assert_eq(run_cli("summary --help", out, sizeof out, err, sizeof err), 0);
    cr_expect(strstr(out, "usage: convkit summary") != NULL);
}

Test(summary_cli, errors_are_one_line_with_exit_2)
{
    static char out[4096], err[1024];
    int rc = run_cli("summary --model 'input 8x8x1\nconv2d 4 9x9'", out, sizeof out, err,
                     sizeof err);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, "line 2, column 1:") != NULL, "%s", err);
    cr_expect_eq(count_lines(err), 1, "%s", err);
    cr_expect_eq(out[0], '\0');
    rc = run_cli("summary --model seed-cnn --backend warp", out, sizeof out, err, sizeof err);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, "warp") && strstr(err, "naive"), "%s", err);
    cr_expect_eq(count_lines(err), 1);
    cr_expect_eq(run_cli("summary", out, sizeof out, err, sizeof err), 2);
    cr_expect_eq(run_cli("summary --model seed-cnn --batch 0", out, sizeof out, err, sizeof err),
                 2);
    cr_expect_eq(run_cli("summary --model seed-cnn --input 28x28", out, sizeof out, err,
                         sizeof err),
                 2);
    rc = run_cli("summary --model /nonexistent/model.txt", out, sizeof out, err, sizeof err);
    cr_expect_eq(rc, 1);
    cr_expect(strstr(err, "/nonexistent/model.txt") != NULL, "%s", err);
}

/* ---------------------------------------------------------------------------------- */
/* arena sharing: in-place max-pool gradients, flatten without a copy, replicas          */

/* Forward + backward of net on x (n = batch, labels) after copying params in. */
static void grads_of(struct ck_net *net, const float *params, const float *x, const int *y)
{
    memcpy(net->params, params, net->params_len * sizeof(float));
    ckt_fill_nan(net->grads, net->params_len);
    cr_assert_eq(ck_net_forward(net, x, net->batch, y, 1), CK_OK);
    cr_assert_eq(ck_net_backward(net), CK_OK);
}

Test(net, fused_relu_pool_gradients_equal_a_separate_relu_layer)
{
    /* "conv relu -> maxpool 2x2" writes the pool's masked gradient over the conv's output;
     * "conv -> relu -> maxpool" runs the textbook layer by layer. Same float operations,
     * so the gradients must match bit for bit. 7x7: the pool leaves a row and a column
     * uncovered (their gradient is 0); padding=same convs make exact zeros (ties). */
    struct ck_net *a = build("input 7x7x2; conv2d 4 3x3 padding=same activation=relu;"
                             "maxpool2d 2x2; conv2d 6 3x3 padding=same activation=relu;"
                             "maxpool2d 2x2; flatten; dense 3", 3, "naive");
    struct ck_net *b = build("input 7x7x2; conv2d 4 3x3 padding=same; relu; maxpool2d 2x2;"
                             "conv2d 6 3x3 padding=same; relu; maxpool2d 2x2; flatten; dense 3",
                             3, "naive");
    cr_assert_eq(a->params_len, b->params_len);
    cr_assert_eq(a->layers[0].dy, a->layers[0].y, "conv gradient should live in its output");
    cr_assert_eq(a->layers[4].y, a->layers[3].y, "flatten should reuse its input");
    cr_assert_lt(a->act_grads_len, b->act_grads_len);
    cr_assert_eq(ck_net_init_params(a, CK_INIT_AUTO, 3), CK_OK);
    float x[3 * 2 * 7 * 7];
    ckt_fill_uniform(x, sizeof x / sizeof x[0], 9, -1.0f, 1.0f);
    const int y[3] = {2, 0, 1};
    float *p = malloc(a->params_len * sizeof(float));
    memcpy(p, a->params, a->params_len * sizeof(float));
    grads_of(a, p, x, y);
    grads_of(b, p, x, y);
    cr_assert_eq(a->loss, b->loss);
    cr_assert_eq(memcmp(a->grads, b->grads, a->params_len * sizeof(float)), 0);
    double gmax = 0.0;
    for (size_t i = 0; i < a->params_len; i++)
        gmax = fmax(gmax, fabs(a->grads[i]));
    cr_assert_gt(gmax, 0.0);
    free(p);
    ck_net_free(a);
    ck_net_free(b);
}

Test(net, replica_sharing_buffers_computes_the_owners_gradients)
{
    struct ck_net *owner = build(switch_spec, 2, NULL), *r = NULL;
    cr_assert_eq(ck_net_init_params(owner, CK_INIT_AUTO, 4), CK_OK);
    cr_assert_eq(ck_net_build_replica(owner, 1, &r, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert(r->params == owner->params && r->acts == owner->acts && r->grads != owner->grads);
    float x[2 * 3 * 12 * 12];
    ckt_fill_uniform(x, sizeof x / sizeof x[0], 5, -1.0f, 1.0f);
    const int y[2] = {3, 1};
    grads_of(owner, owner->params, x, y);
    grads_of(r, owner->params, x, y);
    cr_assert_eq(memcmp(owner->grads, r->grads, owner->params_len * sizeof(float)), 0);
    ck_net_free(r);
    ck_net_free(owner);
}
