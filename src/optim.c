/* optim.c - SGD (momentum, dampening, Nesterov) and Adam, PyTorch semantics.
 *
 * Per element, with g = grad + weight_decay * p:
 *   SGD:  buf = step == 0 ? g : momentum * buf + (1 - dampening) * g;
 *         d = nesterov ? g + momentum * buf : buf (d = g without momentum); p -= lr * d
 *   Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; t = step + 1;
 *         p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Element-wise, so the OpenMP split cannot change any result. Adam runs 8 floats at a
 * time on AVX2 CPUs (simd/optim_avx2.c: the same operations, bit for bit).
 */
#include <math.h>
#include <string.h>

#include "convkit/cpu.h"
#include "convkit/optim.h"
#include "internal.h"
#ifdef CONVKIT_HAVE_AVX2
#include "optim_avx2.h"
#endif

struct ck_optim_config ck_optim_config_default(enum ck_optim_kind kind)
{
    struct ck_optim_config c = {.kind = kind, .lr = kind == CK_OPTIM_ADAM ? 1e-3 : 1e-2,
                                .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    return c;
}

static enum ck_status check_config(const struct ck_optim_config *c, char *msg, size_t msg_len)
{
    const char *bad = NULL;
    if (c->kind != CK_OPTIM_SGD && c->kind != CK_OPTIM_ADAM)
        bad = "unknown optimiser kind";
    else if (!(c->lr >= 0.0 && isfinite(c->lr)))
        bad = "learning rate must be finite and >= 0";
    else if (!(c->weight_decay >= 0.0 && isfinite(c->weight_decay)))
        bad = "weight decay must be finite and >= 0";
    else if (c->kind == CK_OPTIM_SGD && !(c->momentum >= 0.0 && c->momentum < 1e6))
        bad = "momentum must be >= 0";
    else if (c->kind == CK_OPTIM_SGD && !(c->dampening >= 0.0 && c->dampening <= 1.0))
        bad = "dampening must be in [0, 1]";
    else if (c->kind == CK_OPTIM_SGD && c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0))
        bad = "Nesterov momentum needs momentum > 0 and zero dampening";
    else if (c->kind == CK_OPTIM_ADAM &&
             !(c->beta1 >= 0.0 && c->beta1 < 1.0 && c->beta2 >= 0.0 && c->beta2 < 1.0))
        bad = "Adam betas must be in [0, 1)";
    else if (c->kind == CK_OPTIM_ADAM && !(c->eps >= 0.0 && isfinite(c->eps)))
        bad = "Adam eps must be finite and >= 0";
    if (bad) {
        ck__msg(msg, msg_len, "optimiser: %s", bad);
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

enum ck_status ck_optim_init(struct ck_optim *o, const struct ck_optim_config *cfg, size_t n,
                             char *msg, size_t msg_len)
{
    if (!o || !cfg)
        return CK_ERR_INVALID_ARGUMENT;
    memset(o, 0, sizeof *o);
    enum ck_status st = check_config(cfg, msg, msg_len);
    if (st != CK_OK)
        return st;
    o->cfg = *cfg;
    o->lr = cfg->lr;
    o->n = n;
    if (cfg->kind == CK_OPTIM_ADAM)
        o->state_len = 2 * n;
    else if (cfg->momentum > 0.0)
        o->state_len = n;
    if (o->state_len > 0) {
        o->state = ck_aligned_alloc(o->state_len * sizeof(float));
        if (!o->state) {
            ck__msg(msg, msg_len, "optimiser: out of memory for %zu state values", o->state_len);
            o->state_len = 0;
            return CK_ERR_OUT_OF_MEMORY;
        }
        memset(o->state, 0, o->state_len * sizeof(float));
    }
    return CK_OK;
}

void ck_optim_free(struct ck_optim *o)
{
    if (!o)
        return;
    ck_aligned_free(o->state);
    o->state = NULL;
    o->state_len = 0;
}

static void sgd_step(struct ck_optim *o, float *p, const float *grad)
{
    const float lr = (float)o->lr, wd = (float)o->cfg.weight_decay;
    const float mom = (float)o->cfg.momentum, damp = 1.0f - (float)o->cfg.dampening;
    const int first = o->step == 0, nesterov = o->cfg.nesterov;
    float *buf = o->state;
    const long long n = (long long)o->n;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (long long i = 0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        if (buf) {
            buf[i] = first ? g : mom * buf[i] + damp * g;
            g = nesterov ? g + mom * buf[i] : buf[i];
        }
        p[i] -= lr * g;
    }
}

static void adam_step(struct ck_optim *o, float *p, const float *grad)
{
    const double t = (double)(o->step + 1);
    const float b1 = (float)o->cfg.beta1, b2 = (float)o->cfg.beta2;
    const float wd = (float)o->cfg.weight_decay, eps = (float)o->cfg.eps;
    const float step_size = (float)(o->lr / (1.0 - pow(o->cfg.beta1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(o->cfg.beta2, t));
    float *m = o->state, *v = o->state + o->n;
    const long long n = (long long)o->n;
    long long i0 = 0; /* first element the portable loop does */
#ifdef CONVKIT_HAVE_AVX2
    if (ck_cpu_features() & CK_CPU_AVX2) { /* bit-identical 8-wide (simd/optim_avx2.h) */
        const struct ck_adam_coef c = {b1, b2, wd, eps, step_size, bc2_sqrt};
        i0 = n / 8 * 8;
        #pragma omp parallel for schedule(static) if (n > 65536)
        for (long long b = 0; b < i0; b += 4096) {
            const size_t len = (size_t)CK_MIN(4096, i0 - b);
            ck_adam_update__avx2(&c, p + b, grad + b, m + b, v + b, len);
        }
    }
#endif
    #pragma omp parallel for schedule(static) if (n - i0 > 65536)
    for (long long i = i0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

void ck_optim_step(struct ck_optim *o, float *params, const float *grads)
{
    if (!o || !params || !grads)
        return;
    if (o->cfg.kind == CK_OPTIM_ADAM)
        adam_step(o, params, grads);
    else
        sgd_step(o, params, grads);
    o->step++;
}
