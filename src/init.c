/* init.c - parameter initialisers: He and Glorot, normal or uniform; biases zero.
 *
 * Fans follow torch.nn.init (conv fan_in = C/G*R*S, fan_out = K*R*S; dense fan_in = in,
 * fan_out = units). Normal variants are plain (untruncated) normals, as PyTorch's
 * kaiming_normal_/xavier_normal_. All draws come from stream CK_RNG_STREAM_INIT of the
 * seed, tensor after tensor in layer order, so one seed gives one set of weights.
 */
#include <math.h>
#include <string.h>

#include "convkit/net.h"
#include "internal.h"

/* ReLU-like activation right after layer i (fused or as the next layer)? */
static int relu_follows(const struct ck_net *net, int i)
{
    const struct ck_layer_spec *s = &net->layers[i].spec;
    if (s->activation == CK_ACT_RELU || s->activation == CK_ACT_LEAKY_RELU)
        return 1;
    if (i + 1 < net->spec.n_layers) {
        enum ck_layer_kind next = net->layers[i + 1].spec.kind;
        return next == CK_LAYER_RELU || next == CK_LAYER_LEAKY_RELU;
    }
    return 0;
}

static void fill(struct ck_rng *r, enum ck_init scheme, const struct ck_param *p)
{
    const double fin = p->fan_in, fsum = (double)p->fan_in + p->fan_out;
    for (size_t j = 0; j < p->numel; j++) {
        double v;
        switch (scheme) {
        case CK_INIT_HE_UNIFORM:
            v = (2.0 * ck_rng_uniform_double(r) - 1.0) * sqrt(6.0 / fin);
            break;
        case CK_INIT_GLOROT_UNIFORM:
            v = (2.0 * ck_rng_uniform_double(r) - 1.0) * sqrt(6.0 / fsum);
            break;
        case CK_INIT_GLOROT_NORMAL:
            v = ck_rng_normal(r, 0.0, sqrt(2.0 / fsum));
            break;
        default: /* CK_INIT_HE_NORMAL */
            v = ck_rng_normal(r, 0.0, sqrt(2.0 / fin));
            break;
        }
        p->value[j] = (float)v;
    }
}

enum ck_status ck_net_init_params(struct ck_net *net, enum ck_init scheme, unsigned long long seed)
{
    if (!net || (unsigned)scheme > CK_INIT_GLOROT_NORMAL)
        return CK_ERR_INVALID_ARGUMENT;
    struct ck_rng r;
    ck_rng_init(&r, seed, CK_RNG_STREAM_INIT);
    for (int i = 0; i < net->n_layers; i++) {
        const struct ck_layer *l = &net->layers[i];
        enum ck_init s = scheme;
        if (s == CK_INIT_AUTO)
            s = relu_follows(net, i) ? CK_INIT_HE_NORMAL : CK_INIT_GLOROT_UNIFORM;
        for (size_t t = 0; t < ck_layer_param_count(l); t++) {
            struct ck_param p;
            ck_layer_param(l, t, &p);
            if (p.ndim == 1)
                memset(p.value, 0, p.numel * sizeof(float));
            else
                fill(&r, s, &p);
        }
    }
    ck_rng_init(&net->dropout_rng, seed, CK_RNG_STREAM_DROPOUT);
    return CK_OK;
}
