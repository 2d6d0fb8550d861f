/* test_optim.c - SGD (momentum, dampening, Nesterov, weight decay) and Adam against
 * values computed by hand from the PyTorch update rules (derivations in comments),
 * plus configuration checks. Gradients are fixed numbers, so each step is arithmetic. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "convkit/convkit.h"

/* Run steps on one parameter p0 with gradient sequence g[], return p after each. */
static void run(const struct ck_optim_config *cfg, float p0, const float *g, int steps,
                double *out)
{
    struct ck_optim o;
    cr_assert_eq(ck_optim_init(&o, cfg, 1, NULL, 0), CK_OK);
    float p = p0;
    for (int s = 0; s < steps; s++) {
        ck_optim_step(&o, &p, &g[s]);
        out[s] = p;
    }
    cr_assert_eq(o.step, steps);
    ck_optim_free(&o);
}

static void expect(const double *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        cr_expect(fabs(got[i] - want[i]) <= tol, "step %d: got %.9g, expected %.9g", i + 1,
                  got[i], want[i]);
}

static const float grads[3] = {0.5f, -0.2f, 0.1f};

Test(optim, sgd_momentum_matches_hand_computation)
{
    /* lr 0.1, momentum 0.9, p0 = 1; buf1 = g1 (PyTorch: no dampening on step 1)
     * 1: buf = 0.5                      p = 1 - 0.1*0.5 = 0.95
     * 2: buf = 0.9*0.5 - 0.2 = 0.25     p = 0.95 - 0.025 = 0.925
     * 3: buf = 0.9*0.25 + 0.1 = 0.325   p = 0.925 - 0.0325 = 0.8925 */
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_SGD);
    c.lr = 0.1, c.momentum = 0.9;
    double got[3];
    run(&c, 1.0f, grads, 3, got);
    expect(got, (double[]){0.95, 0.925, 0.8925}, 3, 1e-6);
}

Test(optim, sgd_nesterov_matches_hand_computation)
{
    /* d = g + momentum*buf:
     * 1: buf = 0.5,  d = 0.5 + 0.45 = 0.95,      p = 1 - 0.095 = 0.905
     * 2: buf = 0.25, d = -0.2 + 0.225 = 0.025,   p = 0.905 - 0.0025 = 0.9025
     * 3: buf = 0.325, d = 0.1 + 0.2925 = 0.3925, p = 0.9025 - 0.03925 = 0.86325 */
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_SGD);
    c.lr = 0.1, c.momentum = 0.9, c.nesterov = 1;
    double got[3];
    run(&c, 1.0f, grads, 3, got);
    expect(got, (double[]){0.905, 0.9025, 0.86325}, 3, 1e-6);
}

Test(optim, sgd_dampening_and_plain_weight_decay)
{
    /* momentum 0.9, dampening 0.5: 1: buf = 0.5, p = 0.95;
     * 2: buf = 0.45 + 0.5*(-0.2) = 0.35, p = 0.95 - 0.035 = 0.915 */
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_SGD);
    c.lr = 0.1, c.momentum = 0.9, c.dampening = 0.5;
    double got[3];
    run(&c, 1.0f, grads, 2, got);
    expect(got, (double[]){0.95, 0.915}, 2, 1e-6);
    /* plain SGD, weight decay 0.01, p0 = 2, g = 0.5 twice, lr 0.1:
     * 1: g' = 0.5 + 0.02 = 0.52,          p = 2 - 0.052 = 1.948
     * 2: g' = 0.5 + 0.01948 = 0.51948,    p = 1.948 - 0.051948 = 1.896052 */
    struct ck_optim_config d = ck_optim_config_default(CK_OPTIM_SGD);
    d.lr = 0.1, d.weight_decay = 0.01;
    const float g2[2] = {0.5f, 0.5f};
    run(&d, 2.0f, g2, 2, got);
    expect(got, (double[]){1.948, 1.896052}, 2, 1e-6);
}

Test(optim, adam_matches_hand_computation)
{
    /* lr 0.1, betas (0.9, 0.999), eps 1e-8, p0 = 1, g = 0.5, -0.2, 0.1:
     * 1: m = 0.05, v = 0.00025; m^ = 0.05/0.1 = 0.5, v^ = 0.00025/0.001 = 0.25
     *    p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
     * 2: m = 0.045 - 0.02 = 0.025, v = 0.00024975 + 0.00004 = 0.00028975
     *    m^ = 0.025/0.19 = 0.1315789, v^ = 0.00028975/0.001999 = 0.1449475, sqrt 0.3807197
     *    p = 0.9 - 0.1 * 0.1315789/0.3807197 = 0.8654394
     * 3: m = 0.0225 + 0.01 = 0.0325, v = 0.00028946025 + 0.00001 = 0.00029946025
     *    m^ = 0.0325/0.271 = 0.1199262, v^ = 0.00029946025/0.002997001 = 0.0999200
     *    p = 0.8654394 - 0.1 * 0.1199262/0.3161012 = 0.8275002 */
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_ADAM);
    c.lr = 0.1;
    double got[3];
    run(&c, 1.0f, grads, 3, got);
    expect(got, (double[]){0.900000002, 0.8654394, 0.8275002}, 3, 2e-6);
}

Test(optim, adam_weight_decay_is_added_to_the_gradient)
{
    /* PyTorch Adam (not AdamW): g' = 0.3 + 0.1*2 = 0.5; the first step of Adam moves by
     * lr * g'/|g'| (up to eps) = 0.01, so p = 2 - 0.01 = 1.99 */
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_ADAM);
    c.lr = 0.01, c.weight_decay = 0.1;
    const float g[1] = {0.3f};
    double got[1];
    run(&c, 2.0f, g, 1, got);
    expect(got, (double[]){1.99}, 1, 1e-6);
}

Test(optim, steps_are_element_wise_and_lr_can_change)
{
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_SGD);
    c.lr = 0.5;
    struct ck_optim o;
    cr_assert_eq(ck_optim_init(&o, &c, 3, NULL, 0), CK_OK);
    cr_assert_eq(o.state_len, 0); /* plain SGD keeps no state */
    float p[3] = {1, 2, 3};
    const float g[3] = {1, -1, 0};
    ck_optim_step(&o, p, g); /* p - 0.5 g */
    cr_expect(p[0] == 0.5f && p[1] == 2.5f && p[2] == 3.0f);
    o.lr = 0.25;
    ck_optim_step(&o, p, g); /* p - 0.25 g */
    cr_expect(p[0] == 0.25f && p[1] == 2.75f && p[2] == 3.0f);
    ck_optim_free(&o);
    ck_optim_free(&o); /* idempotent */
}

Test(optim, bad_configurations_are_rejected)
{
    struct ck_optim o;
    char msg[128];
    struct ck_optim_config c = ck_optim_config_default(CK_OPTIM_SGD);
    c.nesterov = 1; /* needs momentum */
    cr_expect_eq(ck_optim_init(&o, &c, 4, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "Nesterov") != NULL, "%s", msg);
    c = ck_optim_config_default(CK_OPTIM_SGD);
    c.lr = -1;
    cr_expect_eq(ck_optim_init(&o, &c, 4, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    c = ck_optim_config_default(CK_OPTIM_ADAM);
    c.beta2 = 1.0;
    cr_expect_eq(ck_optim_init(&o, &c, 4, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    c = ck_optim_config_default(CK_OPTIM_ADAM);
    c.weight_decay = NAN;
    cr_expect_eq(ck_optim_init(&o, &c, 4, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    c = ck_optim_config_default(CK_OPTIM_ADAM);
    cr_assert_eq(ck_optim_init(&o, &c, 4, msg, sizeof msg), CK_OK);
    cr_expect_eq(o.state_len, 8); /* m and v */
    ck_optim_free(&o);
}

/* Adam on 8205 values (vector blocks of 4096, a 13-value tail, both OpenMP splits) must
 * equal the formula evaluated one float operation at a time (volatile: no contraction,
 * no reordering), bit for bit: the AVX2 path may not change any result. */
Test(optim, adam_is_the_scalar_formula_bit_for_bit)
{
    enum { N = 2 * 4096 + 13 };
    static float p[N], q[N], g[N], m[N], v[N];
    struct ck_optim_config cfg = ck_optim_config_default(CK_OPTIM_ADAM);
    cfg.weight_decay = 1e-3;
    struct ck_optim o;
    char msg[128];
    cr_assert_eq(ck_optim_init(&o, &cfg, N, msg, sizeof msg), CK_OK, "%s", msg);
    struct ck_rng r;
    ck_rng_init(&r, 5, 9);
    for (int i = 0; i < N; i++)
        p[i] = q[i] = 2.0f * ck_rng_uniform(&r) - 1.0f;
    const float b1 = (float)cfg.beta1, b2 = (float)cfg.beta2, wd = (float)cfg.weight_decay;
    const float eps = (float)cfg.eps;
    for (int s = 1; s <= 4; s++) {
        for (int i = 0; i < N; i++)
            g[i] = (ck_rng_uniform(&r) - 0.5f) * (s == 2 ? 1e-6f : 1e-2f);
        ck_optim_step(&o, p, g);
        const float step = (float)(cfg.lr / (1.0 - pow(cfg.beta1, s)));
        const float bc = (float)sqrt(1.0 - pow(cfg.beta2, s));
        int differ = 0;
        for (int i = 0; i < N; i++) {
            volatile float gi = wd * q[i];
            gi = g[i] + gi;
            volatile float a = b1 * m[i], b = (1.0f - b1) * gi;
            m[i] = a + b;
            a = b2 * v[i], b = (1.0f - b2) * gi, b = b * gi;
            v[i] = a + b;
            volatile float den = sqrtf(v[i]) / bc;
            den = den + eps;
            volatile float num = step * m[i];
            num = num / den;
            q[i] = q[i] - num;
            differ += memcmp(&p[i], &q[i], sizeof(float)) != 0;
        }
        cr_assert_eq(differ, 0, "step %d: %d of %d values differ", s, differ, N);
    }
    ck_optim_free(&o);
}
