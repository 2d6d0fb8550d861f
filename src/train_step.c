/* train_step.c - one training step and an evaluation pass on in-memory tensors.
 *
 * The llm.c loop shape: forward (with labels) -> check the loss -> backward (which
 * overwrites the gradients, so there is no zero_grad) -> optimiser update. Single-
 * threaded driver; layers and backends may thread inside. No data loading, shuffling,
 * schedules or logging here: that is the training loop's job.
 */
#include <math.h>

#include "convkit/net.h"
#include "convkit/optim.h"

enum ck_status ck_train_step(struct ck_net *net, struct ck_optim *opt, const float *x,
                             const int *labels, double *loss, int *correct)
{
    if (!net || !opt || !x || !labels || opt->n != net->params_len)
        return CK_ERR_INVALID_ARGUMENT;
    enum ck_status st = ck_net_forward(net, x, net->batch, labels, 1);
    if (st != CK_OK)
        return st;
    if (loss)
        *loss = net->loss;
    if (correct)
        *correct = net->correct;
    if (!isfinite(net->loss))
        return CK_ERR_DIVERGED;
    st = ck_net_backward(net);
    if (st != CK_OK)
        return st;
    ck_optim_step(opt, net->params, net->grads);
    return CK_OK;
}

enum ck_status ck_evaluate(struct ck_net *net, const float *x, const int *labels, size_t n,
                           double *loss, double *accuracy)
{
    if (!net || !x || !labels || n == 0)
        return CK_ERR_INVALID_ARGUMENT;
    const size_t in_numel = ck_shape_numel(net->spec.input);
    double loss_sum = 0.0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i += (size_t)net->batch) {
        int b = (int)(n - i < (size_t)net->batch ? n - i : (size_t)net->batch);
        enum ck_status st = ck_net_forward(net, x + i * in_numel, b, labels + i, 0);
        if (st != CK_OK)
            return st;
        loss_sum += net->loss * b;
        correct += (size_t)net->correct;
    }
    if (loss)
        *loss = loss_sum / (double)n;
    if (accuracy)
        *accuracy = (double)correct / (double)n;
    return isfinite(loss_sum) ? CK_OK : CK_ERR_DIVERGED;
}
