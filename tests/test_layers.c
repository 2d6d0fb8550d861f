/* test_layers.c - every layer kind on its own: central finite-difference gradient checks
 * w.r.t. inputs and parameters (conv on every registered backend, with stride, padding,
 * dilation, groups, fused activations), and forward values derived by hand or by fp64
 * loops written here: the lecture's 4x4 pooling example, Keras-style average pooling at
 * the border, softmax/cross-entropy with extreme logits, dropout's mask and scaling.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "convkit/convkit.h"

/* ---------------------------------------------------------------------------------- */
/* a layer with its own buffers                                                         */

struct rig {
    struct ck_layer l;
    int n;
    size_t nx, ny;
    float *x, *y, *dx, *dy, *r, *params, *grads;
    void *ws;
    size_t ws_size;
    struct ck_rng rng; /* dropout stream, restored before every forward */
    int labels[8];
};

static struct ck_model_spec spec_buf;

/* Build layer `line` (spec syntax; NULL = softmax_xent) on n images of shape in, on
 * backend (NULL = default). Returns the status of ck_layer_create. */
static enum ck_status rig_make(struct rig *g, const char *line, struct ck_shape in, int n,
                               const struct ck_conv_backend *backend)
{
    char text[256], msg[256];
    struct ck_layer_spec ls = {.kind = CK_LAYER_SOFTMAX_XENT};
    memset(g, 0, sizeof *g);
    if (line) {
        snprintf(text, sizeof text, "input %dx%dx%d\n%s", in.h, in.w, in.c, line);
        cr_assert_eq(ck_model_spec_parse(text, NULL, &spec_buf, msg, sizeof msg), CK_OK, "%s",
                     msg);
        ls = spec_buf.layers[0];
    }
    enum ck_status st = ck_layer_create(&ls, n, in, backend, &g->l, msg, sizeof msg);
    if (st != CK_OK)
        return st;
    g->n = n;
    g->nx = (size_t)n * ck_shape_numel(g->l.in);
    g->ny = (size_t)n * ck_shape_numel(g->l.out);
    g->x = malloc(g->nx * sizeof(float));
    g->dx = malloc(g->nx * sizeof(float));
    g->y = malloc(g->ny * sizeof(float));
    g->dy = malloc(g->ny * sizeof(float));
    g->r = malloc(g->ny * sizeof(float));
    size_t np = g->l.n_params ? g->l.n_params : 1;
    g->params = malloc(np * sizeof(float));
    g->grads = malloc(np * sizeof(float));
    ckt_fill_uniform(g->x, g->nx, 11, -1.0f, 1.0f);
    ckt_fill_uniform(g->r, g->ny, 12, -1.0f, 1.0f);
    ckt_fill_uniform(g->params, np, 13, -0.5f, 0.5f);
    g->ws_size = ck_layer_workspace_size(&g->l);
    g->ws = g->ws_size ? ck_aligned_alloc(g->ws_size) : NULL;
    g->l.x = g->x, g->l.y = g->y, g->l.dx = g->dx, g->l.dy = g->dy;
    g->l.params = g->params, g->l.grads = g->grads;
    ck_rng_init(&g->rng, 77, CK_RNG_STREAM_DROPOUT);
    for (int i = 0; i < 8; i++)
        g->labels[i] = (i * 5 + 1) % (int)ck_shape_numel(g->l.in);
    return CK_OK;
}

static void rig_free(struct rig *g)
{
    ck_layer_destroy(&g->l);
    free(g->x), free(g->y), free(g->dx), free(g->dy), free(g->r);
    free(g->params), free(g->grads);
    ck_aligned_free(g->ws);
}

static struct ck_layer_ctx rig_ctx(struct rig *g, struct ck_rng *rng)
{
    *rng = g->rng;
    return (struct ck_layer_ctx){.n = g->n, .training = 1, .ws = g->ws, .ws_size = g->ws_size,
                                 .rng = rng, .labels = g->labels};
}

/* Forward; the scalar checked: sum_i r_i y_i, or the cross-entropy for the loss head. */
static double rig_loss(struct rig *g)
{
    struct ck_rng rng;
    struct ck_layer_ctx ctx = rig_ctx(g, &rng);
    cr_assert_eq(g->l.ops->forward(&g->l, &ctx), CK_OK);
    if (g->l.spec.kind == CK_LAYER_SOFTMAX_XENT)
        return ctx.loss;
    double s = 0;
    for (size_t i = 0; i < g->ny; i++)
        s += (double)g->r[i] * g->y[i];
    return s;
}

/* Analytic gradients at the current point: dy = r (d loss / d y). */
static void rig_backward(struct rig *g)
{
    struct ck_rng rng;
    rig_loss(g);
    memcpy(g->dy, g->r, g->ny * sizeof(float));
    ckt_fill_nan(g->dx, g->nx);
    if (g->l.n_params)
        ckt_fill_nan(g->grads, g->l.n_params);
    struct ck_layer_ctx ctx = rig_ctx(g, &rng);
    cr_assert_eq(g->l.ops->backward(&g->l, &ctx), CK_OK);
}

/* Central differences of rig_loss w.r.t. v[0..count) against analytic[0..count):
 * |numeric - analytic| <= 1e-2 * max(max |analytic|, 1e-3) at up to 80 spread indices. */
static void check_grad(struct rig *g, float *v, size_t count, const float *analytic,
                       const char *what, const char *layer)
{
    const float eps = 1.0f / 128;
    double amax = 1e-3;
    for (size_t i = 0; i < count; i++) {
        cr_assert(isfinite(analytic[i]), "%s %s[%zu] not written", layer, what, i);
        amax = fmax(amax, fabs(analytic[i]));
    }
    size_t step = count > 80 ? count / 80 : 1;
    for (size_t i = 0; i < count; i += step) {
        const float save = v[i];
        v[i] = save + eps;
        double lp = rig_loss(g);
        v[i] = save - eps;
        double lm = rig_loss(g);
        v[i] = save;
        double num = (lp - lm) / (2.0 * eps);
        cr_assert(fabs(num - analytic[i]) <= 1e-2 * amax,
                  "%s: d/d%s[%zu]: analytic %.6g, numeric %.6g (max |grad| %.3g)", layer, what, i,
                  analytic[i], num, amax);
    }
}

/* Gradient check of one layer w.r.t. x and every parameter tensor. */
static void grad_check(struct rig *g, const char *layer)
{
    rig_backward(g);
    float *dx = malloc(g->nx * sizeof(float));
    float *dp = malloc((g->l.n_params + 1) * sizeof(float));
    memcpy(dx, g->dx, g->nx * sizeof(float));
    memcpy(dp, g->grads, g->l.n_params * sizeof(float));
    check_grad(g, g->x, g->nx, dx, "x", layer);
    for (size_t t = 0; t < ck_layer_param_count(&g->l); t++) {
        struct ck_param p;
        ck_layer_param(&g->l, t, &p);
        check_grad(g, p.value, p.numel, dp + (p.value - g->params), p.name, layer);
    }
    free(dx);
    free(dp);
}

/* Keep inputs at least 0.1 away from ReLU's kink (|x| >= 0.1 > eps). */
static void away_from_zero(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < 0 ? x[i] - 0.1f : x[i] + 0.1f;
}

/* Distinct values 0.05 apart (a permutation), so max-pool windows never tie. */
static void distinct_values(float *x, size_t n)
{
    size_t k = 7919; /* prime: coprime to the small sizes used here */
    while (n % k == 0)
        k += 2;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * k) % n) * 0.05f - 0.025f * (float)n;
}

/* ---------------------------------------------------------------------------------- */
/* gradient checks                                                                      */

struct conv_case {
    const char *line;
    struct ck_shape in;
    int n;
};

static const struct conv_case conv_cases[] = {
    {"conv2d 4 3x3 padding=same", {3, 6, 7}, 2},
    {"conv2d 3 3x2 stride=2,1 padding=1,0,2,1 dilation=2", {2, 9, 8}, 2},
    {"conv2d 6 3x3 stride=2 groups=2 padding=1", {4, 7, 7}, 2},
    {"conv2d 2 1x1 bias=false", {3, 4, 5}, 3},
    {"conv2d 4 3x3 padding=same activation=tanh", {2, 5, 5}, 2},
    {"conv2d 4 2x2 stride=2 activation=sigmoid", {3, 6, 6}, 1},
};

Test(layers, conv2d_gradients_on_every_backend)
{
    for (size_t b = 0; b < ck_backend_count(); b++) {
        const struct ck_conv_backend *be = ck_backend_get(b);
        for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
            struct rig g;
            const struct conv_case *c = &conv_cases[i];
            enum ck_status st = rig_make(&g, c->line, c->in, c->n, be);
            if (st == CK_ERR_UNSUPPORTED || st == CK_ERR_CPU_FEATURE)
                continue; /* e.g. winograd on a strided conv */
            cr_assert_eq(st, CK_OK, "%s on %s", c->line, be->name);
            char name[160];
            snprintf(name, sizeof name, "%s [%s]", c->line, be->name);
            grad_check(&g, name);
            rig_free(&g);
        }
    }
}

Test(layers, pool_gradients)
{
    static const struct conv_case cases[] = {
        {"maxpool2d 2x2", {3, 6, 6}, 2},
        {"maxpool2d 3x3 stride=2 padding=same", {2, 7, 6}, 2},
        {"maxpool2d 2x3 stride=1,2 padding=1,0,0,2", {2, 5, 6}, 1},
        {"avgpool2d 2x2", {3, 6, 6}, 2},
        {"avgpool2d 3x3 stride=1 padding=1", {2, 5, 4}, 2},
        {"avgpool2d 2x3 stride=1,2 padding=same", {1, 5, 7}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rig g;
        cr_assert_eq(rig_make(&g, cases[i].line, cases[i].in, cases[i].n, NULL), CK_OK);
        distinct_values(g.x, g.nx);
        grad_check(&g, cases[i].line);
        rig_free(&g);
    }
}

Test(layers, activation_gradients)
{
    static const char *const lines[] = {"relu", "leaky_relu alpha=0.1", "sigmoid", "tanh"};
    for (size_t i = 0; i < 4; i++) {
        struct rig g;
        cr_assert_eq(rig_make(&g, lines[i], (struct ck_shape){2, 3, 4}, 2, NULL), CK_OK);
        away_from_zero(g.x, g.nx);
        grad_check(&g, lines[i]);
        rig_free(&g);
    }
}

Test(layers, dense_flatten_dropout_gradients)
{
    static const struct conv_case cases[] = {
        {"dense 5", {12, 1, 1}, 3},
        {"dense 4 activation=sigmoid", {7, 1, 1}, 2},
        {"dense 3 bias=false activation=tanh", {9, 1, 1}, 2},
        {"dense 6 activation=leaky_relu alpha=0.2", {5, 1, 1}, 2},
        {"flatten", {2, 3, 4}, 2},
        {"dropout 0.3", {3, 4, 4}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rig g;
        cr_assert_eq(rig_make(&g, cases[i].line, cases[i].in, cases[i].n, NULL), CK_OK);
        if (strstr(cases[i].line, "leaky")) { /* keep pre-activations away from the kink */
            memset(g.params, 0, g.l.n_params * sizeof(float));
            for (int u = 0; u < 6; u++) /* w[u][i] = 0.1 for i == u % 5, bias +-0.3 */
                g.params[u * 5 + u % 5] = 0.1f, g.params[30 + u] = u % 2 ? 0.3f : -0.3f;
        }
        grad_check(&g, cases[i].line);
        rig_free(&g);
    }
}

Test(layers, softmax_cross_entropy_gradient)
{
    struct rig g;
    cr_assert_eq(rig_make(&g, NULL, (struct ck_shape){6, 1, 1}, 4, NULL), CK_OK);
    for (size_t i = 0; i < g.nx; i++)
        g.x[i] *= 3.0f;
    grad_check(&g, "softmax_xent");
    /* dz = (p - onehot) / N: each row of the gradient sums to zero */
    for (int n = 0; n < 4; n++) {
        double s = 0;
        for (int k = 0; k < 6; k++)
            s += g.dx[n * 6 + k];
        cr_expect(fabs(s) < 1e-6, "row %d sums to %g", n, s);
    }
    rig_free(&g);
}

/* ---------------------------------------------------------------------------------- */
/* forward values from the definitions                                                  */

static void pool_forward_4x4(const char *line, float *out)
{
    static const float lecture[16] = {2, 4, 3, 5, 4, 6, 1, 4, 7, 8, 5, 4, 3, 4, 1, 2};
    struct rig g;
    cr_assert_eq(rig_make(&g, line, (struct ck_shape){1, 4, 4}, 1, NULL), CK_OK);
    cr_assert(g.l.out.h == 2 && g.l.out.w == 2);
    memcpy(g.x, lecture, sizeof lecture);
    rig_loss(&g);
    memcpy(out, g.y, 4 * sizeof(float));
    rig_free(&g);
}

Test(layers, lecture_pooling_example)
{
    /* [2 4 3 5; 4 6 1 4; 7 8 5 4; 3 4 1 2], 2x2 windows, stride 2:
     *   top-left {2,4,4,6}  top-right {3,5,1,4}  bottom-left {7,8,3,4}  bottom-right {5,4,1,2}
     * max:      6                5                   8                     5
     * average:  16/4 = 4         13/4 = 3.25         22/4 = 5.5            12/4 = 3
     * The slide's max values (6 5; 8 5) are right; its average 4.2 for the top-right window
     * is wrong (3 + 5 + 1 + 4 = 13, 13/4 = 3.25); 4, 5.5 and 3 are right. */
    float y[4];
    pool_forward_4x4("maxpool2d 2x2 stride=2", y);
    cr_expect(y[0] == 6 && y[1] == 5 && y[2] == 8 && y[3] == 5, "max %g %g %g %g", y[0], y[1],
              y[2], y[3]);
    pool_forward_4x4("avgpool2d 2x2 stride=2", y);
    cr_expect(y[0] == 4 && y[1] == 3.25f && y[2] == 5.5f && y[3] == 3, "avg %g %g %g %g", y[0],
              y[1], y[2], y[3]);
}

Test(layers, avgpool_padding_is_not_counted)
{
    /* x = [1 2; 3 4], 2x2 windows, stride 1, padding 1 -> 3x3 output; each window averages
     * only the real pixels it covers (Keras): corners see one pixel, edges two, centre all */
    struct rig g;
    cr_assert_eq(rig_make(&g, "avgpool2d 2x2 stride=1 padding=1", (struct ck_shape){1, 2, 2}, 1,
                          NULL),
                 CK_OK);
    const float x[4] = {1, 2, 3, 4};
    const float want[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    memcpy(g.x, x, sizeof x);
    rig_loss(&g);
    for (int i = 0; i < 9; i++)
        cr_expect(g.y[i] == want[i], "y[%d] = %g, expected %g", i, g.y[i], want[i]);
    rig_free(&g);
}

Test(layers, conv2d_forward_matches_fp64_loops_with_bias_groups_and_relu)
{
    /* x (2,4,7,7), w (6,2,3,3), groups 2, stride 2, pad 1 -> y (2,6,4,4), then relu */
    struct rig g;
    cr_assert_eq(rig_make(&g, "conv2d 6 3x3 stride=2 groups=2 padding=1 activation=relu",
                          (struct ck_shape){4, 7, 7}, 2, NULL),
                 CK_OK);
    rig_loss(&g);
    const float *w = g.params, *b = g.params + 6 * 2 * 9;
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 6; k++)
            for (int p = 0; p < 4; p++)
                for (int q = 0; q < 4; q++) {
                    double acc = b[k];
                    for (int c = 0; c < 2; c++)
                        for (int r = 0; r < 3; r++)
                            for (int s = 0; s < 3; s++) {
                                int h = p * 2 - 1 + r, x = q * 2 - 1 + s, ch = (k / 3) * 2 + c;
                                if (h >= 0 && h < 7 && x >= 0 && x < 7)
                                    acc += (double)g.x[((n * 4 + ch) * 7 + h) * 7 + x] *
                                           w[((k * 2 + c) * 3 + r) * 3 + s];
                            }
                    double want = acc > 0 ? acc : 0;
                    float got = g.y[((n * 6 + k) * 4 + p) * 4 + q];
                    cr_assert(fabs(got - want) < 1e-5, "y[%d][%d][%d][%d] = %g, want %g", n, k, p,
                              q, got, want);
                }
    rig_free(&g);
}

Test(layers, fused_activation_equals_separate_layers)
{
    /* conv2d+relu == conv2d then relu, forward and backward, bit for bit */
    struct rig fused, conv, act;
    const struct ck_shape in = {3, 6, 6};
    cr_assert_eq(rig_make(&fused, "conv2d 4 3x3 activation=relu", in, 2, NULL), CK_OK);
    cr_assert_eq(rig_make(&conv, "conv2d 4 3x3", in, 2, NULL), CK_OK);
    cr_assert_eq(rig_make(&act, "relu", conv.l.out, 2, NULL), CK_OK);
    act.l.x = conv.y;  /* relu reads conv's output */
    act.l.dx = conv.dy; /* and writes conv's output gradient */
    rig_backward(&fused);
    struct ck_rng rng;
    struct ck_layer_ctx ctx = rig_ctx(&conv, &rng);
    cr_assert_eq(conv.l.ops->forward(&conv.l, &ctx), CK_OK);
    cr_assert_eq(act.l.ops->forward(&act.l, &ctx), CK_OK);
    memcpy(act.dy, fused.r, fused.ny * sizeof(float));
    cr_assert_eq(act.l.ops->backward(&act.l, &ctx), CK_OK);
    cr_assert_eq(conv.l.ops->backward(&conv.l, &ctx), CK_OK);
    cr_expect(memcmp(fused.y, act.y, fused.ny * sizeof(float)) == 0);
    cr_expect(memcmp(fused.dx, conv.dx, fused.nx * sizeof(float)) == 0);
    cr_expect(memcmp(fused.grads, conv.grads, fused.l.n_params * sizeof(float)) == 0);
    rig_free(&fused), rig_free(&conv), rig_free(&act);
}

Test(layers, dense_forward_matches_fp64_loops)
{
    struct rig g;
    cr_assert_eq(rig_make(&g, "dense 5 activation=sigmoid", (struct ck_shape){7, 1, 1}, 3, NULL),
                 CK_OK);
    rig_loss(&g);
    for (int n = 0; n < 3; n++)
        for (int u = 0; u < 5; u++) {
            double z = g.params[35 + u]; /* bias after w[5][7] */
            for (int i = 0; i < 7; i++)
                z += (double)g.params[u * 7 + i] * g.x[n * 7 + i];
            double want = 1.0 / (1.0 + exp(-z));
            cr_expect(fabs(g.y[n * 5 + u] - want) < 1e-6, "y[%d][%d]", n, u);
        }
    rig_free(&g);
}

Test(layers, activation_values)
{
    struct rig g;
    const float x[6] = {-100, -2, 0, 0.5f, 2, 100};
    static const char *const lines[] = {"relu", "leaky_relu alpha=0.1", "sigmoid", "tanh"};
    for (int a = 0; a < 4; a++) {
        cr_assert_eq(rig_make(&g, lines[a], (struct ck_shape){6, 1, 1}, 1, NULL), CK_OK);
        memcpy(g.x, x, sizeof x);
        rig_loss(&g);
        for (int i = 0; i < 6; i++) {
            double v = x[i], want = a == 0   ? (v > 0 ? v : 0)
                                    : a == 1 ? (v > 0 ? v : 0.1 * v)
                                    : a == 2 ? 1.0 / (1.0 + exp(-v))
                                             : tanh(v);
            cr_expect(fabs(g.y[i] - want) <= 1e-6 * fmax(1.0, fabs(want)), "%s(%g) = %g, want %g",
                      lines[a], v, g.y[i], want);
        }
        rig_free(&g);
    }
}

Test(layers, softmax_probabilities_and_extreme_logits)
{
    struct rig g;
    cr_assert_eq(rig_make(&g, NULL, (struct ck_shape){2, 1, 1}, 3, NULL), CK_OK);
    /* rows: (1000, 0) label 1 -> loss 1000 (p_1 underflows to 0 but the loss is computed
     * from logits); (0, 1000) label 1 -> loss log(1 + e^-1000) = 0; (1, 1) label 0 -> log 2 */
    const float z[6] = {1000, 0, 0, 1000, 1, 1};
    memcpy(g.x, z, sizeof z);
    g.labels[0] = 1, g.labels[1] = 1, g.labels[2] = 0;
    double loss = rig_loss(&g);
    double want = (1000.0 + 0.0 + log(2.0)) / 3.0;
    cr_expect(fabs(loss - want) < 1e-4, "loss %.9g, want %.9g", loss, want);
    cr_expect(g.y[0] == 1.0f && g.y[1] == 0.0f && g.y[4] == 0.5f && g.y[5] == 0.5f);
    struct ck_rng rng;
    struct ck_layer_ctx ctx = rig_ctx(&g, &rng);
    g.l.ops->forward(&g.l, &ctx);
    cr_expect_eq(ctx.correct, 2); /* row 3 ties: the first maximum (class 0) is chosen */
    /* a label out of range is refused */
    g.labels[0] = 2;
    cr_expect_eq(g.l.ops->forward(&g.l, &ctx), CK_ERR_INVALID_ARGUMENT);
    rig_free(&g);
}

Test(layers, dropout_mask_scaling_and_inference)
{
    struct rig g;
    cr_assert_eq(rig_make(&g, "dropout 0.25", (struct ck_shape){4, 16, 16}, 2, NULL), CK_OK);
    struct ck_rng rng;
    struct ck_layer_ctx ctx = rig_ctx(&g, &rng);
    rng.counter = 1000;
    cr_assert_eq(g.l.ops->forward(&g.l, &ctx), CK_OK);
    cr_expect_eq(rng.counter, 1000 + g.ny); /* one draw per element */
    size_t dropped = 0;
    for (size_t i = 0; i < g.ny; i++) {
        /* keep_i = uniform(draw 1000+i) >= rate; kept values are scaled by 1/(1-rate) */
        float u = ck_rng_unit_float(ck_rng_hash(77, CK_RNG_STREAM_DROPOUT, 1000 + i));
        float want = u >= 0.25f ? g.x[i] / 0.75f : 0.0f;
        cr_assert(fabsf(g.y[i] - want) <= 1e-6f, "y[%zu] = %g, want %g", i, g.y[i], want);
        dropped += u < 0.25f;
    }
    cr_expect(fabs((double)dropped / g.ny - 0.25) < 0.04, "dropped %zu of %zu", dropped, g.ny);
    /* the next forward draws a new mask */
    float *y1 = malloc(g.ny * sizeof(float));
    memcpy(y1, g.y, g.ny * sizeof(float));
    g.l.ops->forward(&g.l, &ctx);
    cr_expect(memcmp(y1, g.y, g.ny * sizeof(float)) != 0);
    free(y1);
    /* inference: identity, and the stream is not advanced */
    ctx.training = 0;
    uint64_t before = rng.counter;
    g.l.ops->forward(&g.l, &ctx);
    cr_expect(memcmp(g.x, g.y, g.ny * sizeof(float)) == 0);
    cr_expect_eq(rng.counter, before);
    rig_free(&g);
}

Test(layers, parameter_descriptors)
{
    struct rig g;
    cr_assert_eq(rig_make(&g, "conv2d 6 3x5 groups=2", (struct ck_shape){4, 8, 8}, 1, NULL),
                 CK_OK);
    struct ck_param w, b;
    cr_assert_eq(ck_layer_param_count(&g.l), 2);
    ck_layer_param(&g.l, 0, &w);
    ck_layer_param(&g.l, 1, &b);
    /* w is (K, C/G, R, S) = (6, 2, 3, 5); torch fans: in = 2*3*5, out = 6*3*5 */
    cr_expect(w.ndim == 4 && w.dims[0] == 6 && w.dims[1] == 2 && w.dims[2] == 3 && w.dims[3] == 5);
    cr_expect(w.numel == 180 && w.fan_in == 30 && w.fan_out == 90 && w.value == g.params);
    cr_expect(b.ndim == 1 && b.numel == 6 && b.value == g.params + 180 && b.grad == g.grads + 180);
    cr_expect_eq(g.l.n_params, 186);
    cr_expect_str_eq(ck_layer_backend(&g.l) ? "ok" : "none", "ok");
    rig_free(&g);
}

Test(layers, nan_propagates_through_relu_and_max_pooling)
{
    /* as in PyTorch: a NaN must reach the loss so that divergence is detected */
    struct rig g;
    cr_assert_eq(rig_make(&g, "relu", (struct ck_shape){2, 1, 1}, 1, NULL), CK_OK);
    g.x[0] = NAN, g.x[1] = -1;
    rig_loss(&g);
    cr_expect(isnan(g.y[0]) && g.y[1] == 0.0f);
    rig_free(&g);
    cr_assert_eq(rig_make(&g, "maxpool2d 2x2", (struct ck_shape){1, 2, 4}, 1, NULL), CK_OK);
    const float x[8] = {1, NAN, 5, 6, 2, 3, 7, NAN}; /* windows {1,NaN,2,3} {5,6,7,NaN} */
    memcpy(g.x, x, sizeof x);
    rig_loss(&g);
    cr_expect(isnan(g.y[0]) && isnan(g.y[1]), "%g %g", g.y[0], g.y[1]);
    rig_free(&g);
}
