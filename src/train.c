/* train.c - the training loop: data-parallel steps over fixed micro-batch chunks,
 * epochs in a seeded shuffled order, evaluation with a confusion matrix.
 *
 * One step, llm.c style: form the batch -> set the learning rate -> every chunk runs
 * forward + backward on its own replica (OpenMP threads over workers: replicas beyond
 * the thread count share a worker's activation buffers and run one after another, so
 * one thread holds one set of activations) -> sum the chunk
 * gradients in chunk order (element-wise, so the thread count cannot change a bit) and
 * check them -> optimiser update. Chunking depends only on batch and micro_batch.
 * Not here: checkpoints (checkpoint.c), schedules (lr_schedule.c), printing (the CLI).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/train.h"
#include "internal.h"
#include "train_internal.h"

struct ck_train_config ck_train_config_default(void)
{
    struct ck_train_config c;
    memset(&c, 0, sizeof c);
    c.optim = ck_optim_config_default(CK_OPTIM_SGD);
    c.optim.momentum = 0.9;
    c.schedule = (struct ck_lr_schedule){CK_LR_CONSTANT, 1, 0.1};
    c.batch = 64;
    c.micro_batch = 32;
    c.seed = 1;
    c.init = CK_INIT_AUTO;
    c.norm.channels = CK_DATA_MAX_CHANNELS;
    for (int i = 0; i < CK_DATA_MAX_CHANNELS; i++) {
        c.norm.mean[i] = 0.0f;
        c.norm.std[i] = 1.0f;
    }
    return c;
}

static enum ck_status check_config(const struct ck_train_config *c, const struct ck_shape in,
                                   char *msg, size_t msg_len)
{
    const char *bad = NULL;
    if (c->batch < 1 || c->micro_batch < 1 || c->micro_batch > c->batch)
        bad = "need batch >= 1 and 1 <= micro-batch <= batch";
    else if ((c->batch + c->micro_batch - 1) / c->micro_batch > CK_TRAIN_MAX_CHUNKS)
        bad = "too many micro-batches per batch (at most 64)";
    else if (c->schedule.kind == CK_LR_STEP &&
             (c->schedule.step_epochs < 1 || !(c->schedule.gamma > 0.0 && c->schedule.gamma <= 1.0)))
        bad = "step schedule needs step epochs >= 1 and 0 < gamma <= 1";
    else if ((unsigned)c->schedule.kind > CK_LR_COSINE)
        bad = "unknown learning-rate schedule";
    else if (c->augment.crop_pad < 0 || c->augment.crop_pad > 64)
        bad = "crop padding must be 0..64";
    else if (in.c > CK_DATA_MAX_CHANNELS)
        bad = "more input channels than normalisation supports (4)";
    for (int i = 0; !bad && i < in.c; i++)
        if (!(c->norm.std[i] > 0.0f) || !isfinite(c->norm.mean[i]))
            bad = "normalisation needs finite means and positive standard deviations";
    if (bad) {
        ck__msg(msg, msg_len, "training: %s", bad);
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

/* Point replica net (built sharing nets[0]'s buffers) at worker w's buffers instead:
 * the same layout, so every layer pointer moves by the same offsets. */
static void replica_buffers_of(struct ck_net *net, const struct ck_net *w)
{
    const float *a0 = net->acts, *g0 = net->act_grads;
    for (int i = 0; i < net->n_layers; i++) {
        struct ck_layer *l = &net->layers[i];
        const int in_output = l->dy == l->y; /* see net.c */
        l->y = w->acts + (l->y - a0);
        l->dy = in_output ? l->y : w->act_grads + (l->dy - g0);
        l->x = i > 0 ? net->layers[i - 1].y : NULL;
        l->dx = i > 0 ? net->layers[i - 1].dy : NULL;
    }
    net->acts = w->acts;
    net->act_grads = w->act_grads;
    net->ws = w->ws;
}

/* Dropout draws of one full chunk: every dropout layer draws micro * numel values. */
static uint64_t dropout_draws(const struct ck_net *net)
{
    uint64_t d = 0;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].spec.kind == CK_LAYER_DROPOUT)
            d += (uint64_t)net->batch * ck_shape_numel(net->layers[i].out);
    return d;
}

enum ck_status ck_trainer_create(const struct ck_model_spec *spec,
                                 const struct ck_train_config *cfg, const char *backend,
                                 struct ck_trainer **out, char *msg, size_t msg_len)
{
    if (out)
        *out = NULL;
    if (!spec || !cfg || !out)
        return CK_ERR_INVALID_ARGUMENT;
    enum ck_status st = check_config(cfg, spec->input, msg, msg_len);
    if (st != CK_OK)
        return st;
    struct ck_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return CK_ERR_OUT_OF_MEMORY;
    t->cfg = *cfg;
    t->spec = *spec;
    t->perm_epoch = -1;
    t->n_replicas = (cfg->batch + cfg->micro_batch - 1) / cfg->micro_batch;
    t->n_workers = CK_MIN(t->n_replicas, ck__max_threads());
    st = ck_net_build(spec, cfg->micro_batch, backend, &t->nets[0], msg, msg_len);
    for (int r = 1; r < t->n_replicas && st == CK_OK; r++) {
        /* replica r computes its own gradients in worker r % W's buffers */
        st = ck_net_build_replica(t->nets[0], r >= t->n_workers, &t->nets[r], msg, msg_len);
        if (st == CK_OK && r >= t->n_workers)
            replica_buffers_of(t->nets[r], t->nets[r % t->n_workers]);
    }
    if (st == CK_OK)
        st = ck_net_init_params(t->nets[0], cfg->init, cfg->seed);
    if (st == CK_OK)
        st = ck_optim_init(&t->opt, &cfg->optim, t->nets[0]->params_len, msg, msg_len);
    if (st == CK_OK) {
        const size_t numel = ck_shape_numel(spec->input), b = (size_t)cfg->batch;
        t->x = ck_aligned_alloc(b * numel * sizeof(float));
        t->labels = malloc(b * sizeof(int));
        t->pred = malloc(b * sizeof(int));
        t->idx = malloc(b * sizeof(uint32_t));
        if (!t->x || !t->labels || !t->pred || !t->idx) {
            ck__msg(msg, msg_len, "training: out of memory for a batch of %d", cfg->batch);
            st = CK_ERR_OUT_OF_MEMORY;
        }
    }
    if (st != CK_OK) {
        ck_trainer_free(t);
        return st;
    }
    ck_rng_init(&t->dropout, cfg->seed, CK_RNG_STREAM_DROPOUT);
    t->dropout_per_chunk = dropout_draws(t->nets[0]);
    *out = t;
    return CK_OK;
}

void ck_trainer_free(struct ck_trainer *t)
{
    if (!t)
        return;
    ck__dist_free(t->dist);
    /* replicas first: they borrow nets[0]'s parameters */
    for (int r = CK_TRAIN_MAX_CHUNKS - 1; r >= 0; r--)
        ck_net_free(t->nets[r]);
    ck_optim_free(&t->opt);
    ck_aligned_free(t->x);
    free(t->labels);
    free(t->pred);
    free(t->idx);
    free(t->perm);
    free(t);
}

/* Forward + backward of chunk c (images [c*micro, c*micro + nc)) on replica r. */
void ck__run_chunk(struct ck_trainer *t, int r, int c, const float *x, const int *labels, int n)
{
    const int micro = t->cfg.micro_batch, off = c * micro, nc = CK_MIN(micro, n - off);
    struct ck_net *net = t->nets[r];
    net->dropout_rng = t->dropout;
    net->dropout_rng.counter += (uint64_t)c * t->dropout_per_chunk;
    enum ck_status st = ck_net_forward(net, x + (size_t)off * ck_shape_numel(t->spec.input),
                                       nc, labels + off, 1);
    t->chunk_loss[c] = st == CK_OK ? net->loss : NAN;
    t->chunk_correct[c] = st == CK_OK ? net->correct : 0;
    if (st == CK_OK && !isfinite(net->loss))
        st = CK_ERR_DIVERGED;
    if (st == CK_OK)
        st = ck_net_backward(net);
    t->chunk_status[c] = st;
}

/* fn(t, j, arg) for j = 0 .. L-1: worker w runs j = w, w+W, ... one after another (the
 * replicas they address share w's buffers), workers run in parallel. One worker runs
 * outside any parallel region, so the layers' own OpenMP loops get the threads: inside
 * even an inactive region their teams would be nested ones, which libgomp starts afresh,
 * thread creation and all, every time. */
static void over_workers(struct ck_trainer *t, int L, void (*fn)(struct ck_trainer *, int, void *),
                         void *arg)
{
    const int W = CK_MIN(t->n_workers, L);
    if (W <= 1) {
        for (int j = 0; j < L; j++)
            fn(t, j, arg);
        return;
    }
    #pragma omp parallel for schedule(static)
    for (int w = 0; w < W; w++)
        for (int j = w; j < L; j += t->n_workers)
            fn(t, j, arg);
}

struct chunks_job {
    int c0, n;
    const float *x;
    const int *labels;
};

static void run_chunk_job(struct ck_trainer *t, int j, void *arg)
{
    const struct chunks_job *a = arg;
    ck__run_chunk(t, j, a->c0 + j, a->x, a->labels, a->n);
}

/* Chunks c0 .. c0+L-1 on replicas 0 .. L-1, spread over the workers (over_workers). */
void ck__run_chunks(struct ck_trainer *t, int c0, int L, const float *x, const int *labels,
                    int n)
{
    struct chunks_job a = {c0, n, x, labels};
    over_workers(t, L, run_chunk_job, &a);
}

/* dst[i] = sum_c w[c] * src[c][i] in chunk order (dst may be src[0]); returns 1 if any
 * sum is not finite. The one place chunk gradients are added, with or without MPI.
 * Blocks of 1024 values, chunk by chunk inside a block so the loops vectorise; every
 * value still sees (src0 w0 + src1 w1) + ... in chunk order. */
int ck__sum_chunks(float *dst, float *const *src, const float *w, int chunks, size_t len)
{
    int bad = 0;
    const long long nb = (long long)((len + 1023) / 1024);
    #pragma omp parallel for schedule(static) reduction(| : bad)
    for (long long b = 0; b < nb; b++) {
        const size_t lo = (size_t)b * 1024, n = CK_MIN((size_t)1024, len - lo);
        float *d = dst + lo;
        const float *s0 = src[0] + lo, w0 = w[0];
        for (size_t i = 0; i < n; i++)
            d[i] = s0[i] * w0;
        for (int c = 1; c < chunks; c++) {
            const float *sc = src[c] + lo, wc = w[c];
            for (size_t i = 0; i < n; i++)
                d[i] = d[i] + sc[i] * wc;
        }
        int nonfinite = 0;
        for (size_t i = 0; i < n; i++)
            nonfinite |= !(d[i] - d[i] == 0.0f); /* inf - inf and NaN are NaN */
        bad |= nonfinite;
    }
    return bad;
}

enum ck_status ck__step_totals(struct ck_trainer *t, int chunks, int n, float *w,
                               double *loss, int *correct)
{
    const int micro = t->cfg.micro_batch;
    double loss_sum = 0.0;
    int right = 0;
    enum ck_status st = CK_OK;
    for (int c = 0; c < chunks; c++) {
        const int nc = CK_MIN(micro, n - c * micro);
        loss_sum += t->chunk_loss[c] * nc;
        right += t->chunk_correct[c];
        w[c] = (float)nc / (float)n;
        if (st == CK_OK || (st == CK_ERR_DIVERGED && t->chunk_status[c] != CK_ERR_DIVERGED))
            st = t->chunk_status[c] != CK_OK ? t->chunk_status[c] : st;
    }
    if (loss)
        *loss = loss_sum / n;
    if (correct)
        *correct = right;
    return st;
}

enum ck_status ck_trainer_step(struct ck_trainer *t, const float *x, const int *labels, int n,
                               double *loss, int *correct)
{
    if (!t || !x || !labels || n < 1 || n > t->cfg.batch)
        return CK_ERR_INVALID_ARGUMENT;
    if (t->dist)
        return ck__dist_step(t, x, labels, n, loss, correct);
    const int micro = t->cfg.micro_batch, chunks = (n + micro - 1) / micro;
    ck__run_chunks(t, 0, chunks, x, labels, n);
    t->dropout.counter += (uint64_t)chunks * t->dropout_per_chunk;

    float w[CK_TRAIN_MAX_CHUNKS];
    enum ck_status st = ck__step_totals(t, chunks, n, w, loss, correct);
    if (st != CK_OK)
        return st;
    float *gp[CK_TRAIN_MAX_CHUNKS];
    for (int c = 0; c < chunks; c++)
        gp[c] = t->nets[c]->grads;
    if (ck__sum_chunks(gp[0], gp, w, chunks, t->nets[0]->params_len))
        return CK_ERR_DIVERGED;
    ck_optim_step(&t->opt, t->nets[0]->params, t->nets[0]->grads);
    return CK_OK;
}

void ck_trainer_local_images(const struct ck_trainer *t, int n, int *lo, int *hi)
{
    *lo = 0;
    *hi = n;
    if (t && t->dist)
        ck__dist_local_images(t, n, lo, hi);
}

long long ck_train_steps_per_epoch(const struct ck_trainer *t, size_t n)
{
    return t ? (long long)((n + (size_t)t->cfg.batch - 1) / (size_t)t->cfg.batch) : 0;
}

/* The epoch's order: Fisher-Yates driven by the shuffle stream at counter epoch << 40,
 * so epoch e's order is a pure function of (seed, e). */
static enum ck_status make_perm(struct ck_trainer *t, size_t n, int epoch)
{
    if (t->perm_n != n) {
        free(t->perm);
        t->perm_n = 0;
        if (!(t->perm = malloc(n * sizeof *t->perm)))
            return CK_ERR_OUT_OF_MEMORY;
        t->perm_n = n;
    }
    struct ck_rng r;
    ck_rng_init(&r, t->cfg.seed, CK_RNG_STREAM_SHUFFLE);
    r.counter = (uint64_t)epoch << 40;
    for (size_t i = 0; i < n; i++)
        t->perm[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = ck_rng_below(&r, (uint32_t)(i + 1));
        uint32_t tmp = t->perm[i];
        t->perm[i] = t->perm[j];
        t->perm[j] = tmp;
    }
    t->perm_epoch = epoch;
    return CK_OK;
}

/* The dataset must fit the net: same image shape, labels below its outputs. */
static enum ck_status check_dataset(const struct ck_trainer *t, const struct ck_dataset *d,
                                    char *msg, size_t msg_len)
{
    const struct ck_shape a = d->shape, b = t->spec.input;
    if (a.c != b.c || a.h != b.h || a.w != b.w) {
        ck__msg(msg, msg_len, "dataset %s has %dx%dx%d images but the model's input is %dx%dx%d",
                d->name, a.h, a.w, a.c, b.h, b.w, b.c);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (d->classes > t->nets[0]->classes) {
        ck__msg(msg, msg_len, "dataset %s has %d classes but the model has %d outputs", d->name,
                d->classes, t->nets[0]->classes);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (d->n == 0 || d->n > UINT32_MAX) {
        ck__msg(msg, msg_len, "dataset %s: %zu records", d->name, d->n);
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

enum ck_status ck_train_epoch(struct ck_trainer *t, const struct ck_dataset *train,
                              int total_epochs, long long max_steps,
                              const struct ck_train_hooks *hooks, struct ck_epoch_stats *stats,
                              char *msg, size_t msg_len)
{
    if (!t || !train)
        return CK_ERR_INVALID_ARGUMENT;
    enum ck_status st = check_dataset(t, train, msg, msg_len);
    if (st != CK_OK)
        return st;
    struct ck_train_progress *pg = &t->progress;
    const long long spe = ck_train_steps_per_epoch(t, train->n);
    if (t->perm_epoch != pg->epoch && make_perm(t, train->n, pg->epoch) != CK_OK) {
        ck__msg(msg, msg_len, "training: out of memory for the epoch order");
        return CK_ERR_OUT_OF_MEMORY;
    }
    const int augment = t->cfg.augment.crop_pad > 0 || t->cfg.augment.flip;
    struct ck_epoch_stats local = {0};
    if (!stats)
        stats = &local;
    while (pg->epoch_step < spe) {
        if (max_steps > 0 && pg->step >= max_steps)
            return CK_OK;
        const size_t start = (size_t)pg->epoch_step * (size_t)t->cfg.batch;
        const int n = (int)CK_MIN((size_t)t->cfg.batch, train->n - start);
        int lo, hi; /* this process's share of the batch: all of it without MPI */
        ck_trainer_local_images(t, n, &lo, &hi);
        ck_dataset_batch(train, t->perm + start + lo, hi - lo, &t->cfg.norm,
                         augment ? &t->cfg.augment : NULL, t->cfg.seed,
                         (uint64_t)pg->step * (uint64_t)t->cfg.batch + (uint64_t)lo,
                         t->x + (size_t)lo * ck_shape_numel(t->spec.input), t->labels + lo);
        t->opt.lr = ck_lr_at(&t->cfg.schedule, t->cfg.optim.lr, pg->step, spe, total_epochs);
        double loss;
        int correct;
        st = ck_trainer_step(t, t->x, t->labels, n, &loss, &correct);
        if (st == CK_ERR_DIVERGED) {
            ck__msg(msg, msg_len, "step %lld (epoch %d): %s is not finite (loss %g); stopped "
                    "before updating the weights", pg->step + 1, pg->epoch + 1,
                    isfinite(loss) ? "a gradient" : "the loss", loss);
            return st;
        }
        if (st != CK_OK) {
            const char *why = ck__dist_error(t); /* MPI: which rank, what failed */
            ck__msg(msg, msg_len, "step %lld: %s", pg->step + 1, *why ? why : ck_status_str(st));
            return st;
        }
        pg->step++;
        pg->epoch_step++;
        stats->loss_sum += loss * n;
        stats->correct += correct;
        stats->images += n;
        stats->steps++;
        if (hooks && hooks->on_step)
            hooks->on_step(hooks->user, t, pg->epoch_step, spe,
                           stats->loss_sum / (double)stats->images,
                           (double)stats->correct / (double)stats->images, n);
    }
    pg->epoch++;
    pg->epoch_step = 0;
    return CK_OK;
}

/* index of the largest of p[0..k) (first on ties) */
static int argmax(const float *p, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}

/* Inference forward of chunk c of the n images in t->x (*arg) on replica c: status, loss
 * sum and predicted classes into the trainer's per-chunk arrays. */
static void eval_chunk(struct ck_trainer *t, int c, void *arg)
{
    const int n = *(const int *)arg;
    const int K = t->nets[0]->classes, micro = t->cfg.micro_batch;
    const int off = c * micro, nc = CK_MIN(micro, n - off);
    struct ck_net *net = t->nets[c];
    const size_t numel = ck_shape_numel(t->spec.input);
    enum ck_status s = ck_net_forward(net, t->x + (size_t)off * numel, nc, t->labels + off, 0);
    t->chunk_status[c] = s;
    t->chunk_loss[c] = s == CK_OK ? net->loss * nc : NAN;
    const float *p = ck_net_output(net);
    for (int j = 0; s == CK_OK && j < nc; j++)
        t->pred[off + j] = argmax(p + (size_t)j * K, K);
}

enum ck_status ck_trainer_evaluate(struct ck_trainer *t, const struct ck_dataset *d,
                                   double *loss, double *accuracy, long long *confusion)
{
    if (!t || !d)
        return CK_ERR_INVALID_ARGUMENT;
    enum ck_status st = check_dataset(t, d, NULL, 0);
    if (st != CK_OK)
        return st;
    const int K = t->nets[0]->classes, micro = t->cfg.micro_batch;
    const int cpb = (t->cfg.batch + micro - 1) / micro; /* chunks per block */
    const size_t batch = (size_t)t->cfg.batch;
    const size_t blocks = (d->n + batch - 1) / batch;
    int rank = 0, ranks = 1;
    ck__dist_rank(t, &rank, &ranks);
    /* With MPI, rank r evaluates blocks r, r + P, ... and every chunk's loss lands in
     * closs[block * cpb + chunk] on exactly one rank, so summing the arrays over the
     * ranks is exact and the loss adds up in the single-process order. */
    double *closs = NULL;
    if (ranks > 1 && !(closs = calloc(blocks * (size_t)cpb, sizeof *closs)))
        return CK_ERR_OUT_OF_MEMORY;
    if (confusion)
        memset(confusion, 0, sizeof(long long) * (size_t)K * (size_t)K);
    double loss_sum = 0.0;
    long long right = 0;
    for (size_t b = (size_t)rank; b < blocks && st == CK_OK; b += (size_t)ranks) {
        const size_t start = b * batch;
        const int n = (int)CK_MIN(batch, d->n - start);
        for (int j = 0; j < n; j++)
            t->idx[j] = (uint32_t)(start + (size_t)j);
        ck_dataset_batch(d, t->idx, n, &t->cfg.norm, NULL, 0, 0, t->x, t->labels);
        const int chunks = (n + micro - 1) / micro;
        over_workers(t, chunks, eval_chunk, &(int){n});
        for (int c = 0; c < chunks; c++) {
            if (t->chunk_status[c] != CK_OK && st == CK_OK)
                st = t->chunk_status[c];
            if (closs)
                closs[b * (size_t)cpb + (size_t)c] = t->chunk_loss[c];
            else
                loss_sum += t->chunk_loss[c];
        }
        for (int j = 0; st == CK_OK && j < n; j++) {
            right += t->pred[j] == t->labels[j];
            if (confusion)
                confusion[(size_t)t->labels[j] * K + t->pred[j]]++;
        }
    }
    if (closs) { /* collective: every rank gets here with its own st */
        enum ck_status cs = ck__dist_sum_i64(t, &right, 1);
        if (cs == CK_OK)
            cs = ck__dist_sum_f64(t, closs, blocks * (size_t)cpb);
        if (cs == CK_OK && confusion)
            cs = ck__dist_sum_i64(t, confusion, (size_t)K * (size_t)K);
        if (cs == CK_OK)
            cs = ck__dist_max_status(t, st); /* every rank returns the same status */
        st = cs;
        for (size_t k = 0; k < blocks * (size_t)cpb; k++)
            loss_sum += closs[k];
        free(closs);
    }
    if (st != CK_OK)
        return st;
    if (loss)
        *loss = loss_sum / (double)d->n;
    if (accuracy)
        *accuracy = (double)right / (double)d->n;
    return CK_OK;
}
