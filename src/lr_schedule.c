/* lr_schedule.c - learning-rate schedules: constant, step decay, cosine annealing.
 *
 * Step decay counts whole epochs (as torch.optim.lr_scheduler.StepLR stepped once per
 * epoch); cosine is evaluated per optimiser step over the whole run (CosineAnnealingLR
 * with T_max = total steps and eta_min = 0). Pure functions of the step: resuming from
 * a checkpoint gives the same rates.
 */
#include <math.h>

#include "convkit/train.h"

double ck_lr_at(const struct ck_lr_schedule *s, double base_lr, long long step,
                long long steps_per_epoch, int total_epochs)
{
    if (!s || steps_per_epoch < 1)
        return base_lr;
    switch (s->kind) {
    case CK_LR_STEP: {
        const long long epoch = step / steps_per_epoch;
        const int every = s->step_epochs > 0 ? s->step_epochs : 1;
        return base_lr * pow(s->gamma, (double)(epoch / every));
    }
    case CK_LR_COSINE: {
        const double total = (double)steps_per_epoch * (total_epochs > 0 ? total_epochs : 1);
        const double t = (double)step < total ? (double)step / total : 1.0;
        return base_lr * 0.5 * (1.0 + cos(3.14159265358979323846 * t));
    }
    case CK_LR_CONSTANT:
        break;
    }
    return base_lr;
}

const char *ck_lr_schedule_name(enum ck_lr_schedule_kind kind)
{
    switch (kind) {
    case CK_LR_STEP:
        return "step";
    case CK_LR_COSINE:
        return "cosine";
    case CK_LR_CONSTANT:
        break;
    }
    return "constant";
}
