/* train_mpi.c - ck_trainer_step and evaluation across MPI ranks (convkit/train_mpi.h).
 *
 * Rank r runs chunks [C*r/P, C*(r+1)/P) of a step's C chunks, shares the per-chunk
 * loss/status (all-gather), then reduce-scatters the gradients by hand: rank q gets
 * slice q of every chunk's gradient (all-to-all-v) and adds them in chunk order with
 * ck__sum_chunks, the function one process uses; an all-gather spreads the sums.
 * Every wait polls a non-blocking collective against a deadline. Without
 * CONVKIT_HAVE_MPI this file only holds stubs that no caller reaches.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convkit/train.h"
#include "internal.h"
#include "train_internal.h"

#ifdef CONVKIT_HAVE_MPI
#include <mpi.h>
#include <zlib.h>

#include "convkit/train_mpi.h"

struct ck_train_dist {
    MPI_Comm comm;            /* our duplicate, MPI_ERRORS_RETURN */
    int rank, size;
    double timeout;           /* seconds per wait; <= 0: none */
    float *send, *recv;       /* packed gradient slices: [L][G] out, [C][G/P] in */
    int *counts;              /* 4 x size: send counts/displs, receive counts/displs */
    double info[3 * CK_TRAIN_MAX_CHUNKS]; /* per chunk: status, loss, correct */
    double comm_s;            /* time in the exchange */
    long long steps;
    char err[256];            /* why the communicator broke ("" if it did not) */
};

/* ---- waiting with a deadline --------------------------------------------------------- */

static enum ck_status mpi_fail(struct ck_train_dist *d, int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", rc);
    ck__msg(d->err, sizeof d->err, "rank %d: MPI failed in %s: %s", d->rank, what, text);
    return CK_ERR_IO;
}

/* Complete req: spin for the first 2 ms (a fast exchange pays no sleep), then test
 * every 100 us so a waiting rank leaves the core to others; give up after d->timeout. */
static enum ck_status wait_req(struct ck_train_dist *d, MPI_Request *req, int rc,
                               const char *what)
{
    if (rc != MPI_SUCCESS)
        return mpi_fail(d, rc, what);
    const double t0 = MPI_Wtime();
    for (;;) {
        int done = 0;
        if ((rc = MPI_Test(req, &done, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
            return mpi_fail(d, rc, what);
        if (done)
            return CK_OK;
        const double waited = MPI_Wtime() - t0;
        if (d->timeout > 0 && waited > d->timeout) {
            ck__msg(d->err, sizeof d->err, "rank %d: no answer from the other ranks for %g s "
                    "in %s (a rank died or hangs)", d->rank, d->timeout, what);
            return CK_ERR_IO;
        }
        if (waited > 2e-3) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- the step ------------------------------------------------------------------------- */

/* first chunk of rank q when chunks are split over P ranks */
static int chunk_lo(int chunks, int q, int P)
{
    return (int)((long long)chunks * q / P);
}

/* first float of the parameter slice rank q sums */
static size_t slice_lo(size_t G, int q, int P)
{
    return (size_t)((unsigned long long)G * (unsigned long long)q / (unsigned long long)P);
}

void ck__dist_local_images(const struct ck_trainer *t, int n, int *lo, int *hi)
{
    const struct ck_train_dist *d = t->dist;
    const int micro = t->cfg.micro_batch, chunks = (n + micro - 1) / micro;
    *lo = chunk_lo(chunks, d->rank, d->size) * micro;
    *hi = CK_MIN(n, chunk_lo(chunks, d->rank + 1, d->size) * micro);
}

/* Share every chunk's status, loss and correct count: afterwards t->chunk_* hold all
 * chunks on every rank, so every rank takes the same decisions. */
static enum ck_status share_chunk_results(struct ck_trainer *t, int chunks)
{
    struct ck_train_dist *d = t->dist;
    int *cnt = d->counts, *dsp = d->counts + d->size;
    for (int q = 0; q < d->size; q++) {
        dsp[q] = 3 * chunk_lo(chunks, q, d->size);
        cnt[q] = 3 * chunk_lo(chunks, q + 1, d->size) - dsp[q];
    }
    for (int c = dsp[d->rank] / 3; c < chunk_lo(chunks, d->rank + 1, d->size); c++) {
        d->info[3 * c] = (double)t->chunk_status[c];
        d->info[3 * c + 1] = t->chunk_loss[c];
        d->info[3 * c + 2] = (double)t->chunk_correct[c];
    }
    MPI_Request req;
    int rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, d->info, cnt, dsp, MPI_DOUBLE,
                             d->comm, &req);
    enum ck_status st = wait_req(d, &req, rc, "sharing the chunk losses");
    for (int c = 0; st == CK_OK && c < chunks; c++) {
        t->chunk_status[c] = (enum ck_status)d->info[3 * c];
        t->chunk_loss[c] = d->info[3 * c + 1];
        t->chunk_correct[c] = (int)d->info[3 * c + 2];
    }
    return st;
}

/* g0 = sum over all chunks of w[c] * g_c, in chunk order, on every rank; *bad = 1 if a
 * sum is not finite on any rank. */
static enum ck_status exchange_grads(struct ck_trainer *t, int chunks, const float *w, int *bad)
{
    struct ck_train_dist *d = t->dist;
    const int P = d->size, me = d->rank;
    const int c0 = chunk_lo(chunks, me, P), L = chunk_lo(chunks, me + 1, P) - c0;
    const size_t G = t->nets[0]->params_len, lo = slice_lo(G, me, P);
    const size_t len = slice_lo(G, me + 1, P) - lo;
    int *scnt = d->counts, *sdsp = scnt + P, *rcnt = sdsp + P, *rdsp = rcnt + P;
    size_t at = 0;
    for (int q = 0; q < P; q++) { /* slice q of each of my chunks, in chunk order */
        const size_t qlo = slice_lo(G, q, P), qlen = slice_lo(G, q + 1, P) - qlo;
        sdsp[q] = (int)at;
        for (int j = 0; j < L; j++, at += qlen)
            memcpy(d->send + at, t->nets[j]->grads + qlo, qlen * sizeof(float));
        scnt[q] = (int)(at - (size_t)sdsp[q]);
        rdsp[q] = (int)((size_t)chunk_lo(chunks, q, P) * len);
        rcnt[q] = (int)((size_t)(chunk_lo(chunks, q + 1, P) - chunk_lo(chunks, q, P)) * len);
    }
    MPI_Request req[2];
    int rc = MPI_Ialltoallv(d->send, scnt, sdsp, MPI_FLOAT, d->recv, rcnt, rdsp, MPI_FLOAT,
                            d->comm, &req[0]);
    enum ck_status st = wait_req(d, &req[0], rc, "the gradient reduce-scatter");
    if (st != CK_OK)
        return st;
    float *src[CK_TRAIN_MAX_CHUNKS];
    for (int c = 0; c < chunks; c++)
        src[c] = d->recv + (size_t)c * len;
    float *g0 = t->nets[0]->grads;
    *bad = len > 0 ? ck__sum_chunks(g0 + lo, src, w, chunks, len) : 0;
    for (int q = 0; q < P; q++) {
        rdsp[q] = (int)slice_lo(G, q, P);
        rcnt[q] = (int)(slice_lo(G, q + 1, P) - slice_lo(G, q, P));
    }
    rc = MPI_Iallreduce(MPI_IN_PLACE, bad, 1, MPI_INT, MPI_LOR, d->comm, &req[0]);
    if ((st = wait_req(d, &req[0], rc, "the gradient check")) != CK_OK)
        return st;
    rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, g0, rcnt, rdsp, MPI_FLOAT, d->comm,
                         &req[1]);
    return wait_req(d, &req[1], rc, "the gradient all-gather");
}

enum ck_status ck__dist_step(struct ck_trainer *t, const float *x, const int *labels, int n,
                             double *loss, int *correct)
{
    struct ck_train_dist *d = t->dist;
    const int micro = t->cfg.micro_batch, chunks = (n + micro - 1) / micro;
    const int c0 = chunk_lo(chunks, d->rank, d->size);
    const int L = chunk_lo(chunks, d->rank + 1, d->size) - c0;
    /* my chunks on replicas 0..L-1, in parallel as in one process */
    ck__run_chunks(t, c0, L, x, labels, n);
    t->dropout.counter += (uint64_t)chunks * t->dropout_per_chunk;

    const double t0 = MPI_Wtime();
    enum ck_status st = share_chunk_results(t, chunks);
    float w[CK_TRAIN_MAX_CHUNKS];
    if (st == CK_OK)
        st = ck__step_totals(t, chunks, n, w, loss, correct);
    int bad = 0;
    if (st == CK_OK)
        st = exchange_grads(t, chunks, w, &bad);
    d->comm_s += MPI_Wtime() - t0;
    d->steps++;
    if (st != CK_OK)
        return st;
    if (bad)
        return CK_ERR_DIVERGED;
    ck_optim_step(&t->opt, t->nets[0]->params, t->nets[0]->grads);
    return CK_OK;
}

/* ---- small collectives (evaluation) ------------------------------------------------------ */

void ck__dist_rank(const struct ck_trainer *t, int *rank, int *ranks)
{
    *rank = t->dist ? t->dist->rank : 0;
    *ranks = t->dist ? t->dist->size : 1;
}

static enum ck_status allreduce(struct ck_trainer *t, void *v, size_t n, MPI_Datatype type,
                                MPI_Op op, const char *what)
{
    struct ck_train_dist *d = t->dist;
    if (n > (size_t)INT32_MAX)
        return CK_ERR_UNSUPPORTED;
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, v, (int)n, type, op, d->comm, &req);
    return wait_req(d, &req, rc, what);
}

enum ck_status ck__dist_sum_f64(struct ck_trainer *t, double *v, size_t n)
{
    return allreduce(t, v, n, MPI_DOUBLE, MPI_SUM, "an evaluation sum");
}

enum ck_status ck__dist_sum_i64(struct ck_trainer *t, long long *v, size_t n)
{
    return allreduce(t, v, n, MPI_LONG_LONG, MPI_SUM, "an evaluation sum");
}

enum ck_status ck__dist_max_status(struct ck_trainer *t, enum ck_status st)
{
    int s = (int)st;
    enum ck_status cs = allreduce(t, &s, 1, MPI_INT, MPI_MAX, "an evaluation status");
    return cs != CK_OK ? cs : (enum ck_status)s;
}

const char *ck__dist_error(const struct ck_trainer *t)
{
    return t->dist ? t->dist->err : "";
}

/* ---- attaching, checking ------------------------------------------------------------------ */

void ck__dist_free(struct ck_train_dist *d)
{
    if (!d)
        return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && d->comm != MPI_COMM_NULL)
        MPI_Comm_free(&d->comm);
    ck_aligned_free(d->send);
    ck_aligned_free(d->recv);
    free(d->counts);
    free(d);
}

static uint32_t crc_bytes(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t at = 0; at < n; at += 1u << 30)
        crc = (uint32_t)crc32(crc, b + at, (uInt)CK_MIN(n - at, (size_t)1 << 30));
    return crc;
}

enum ck_status ck_trainer_check_replicas(struct ck_trainer *t, uint32_t *crc, char *msg,
                                         size_t msg_len)
{
    if (!t)
        return CK_ERR_INVALID_ARGUMENT;
    const struct ck_net *net = t->nets[0];
    const long long scalars[6] = {t->progress.epoch, t->progress.epoch_step, t->progress.step,
                                  (long long)t->dropout.counter, t->opt.step,
                                  (long long)t->cfg.seed};
    uint32_t mine = crc_bytes(0, NULL, 0);
    mine = crc_bytes(mine, net->params, net->params_len * sizeof(float));
    mine = crc_bytes(mine, t->opt.state, t->opt.state_len * sizeof(float));
    mine = crc_bytes(mine, scalars, sizeof scalars);
    mine = crc_bytes(mine, &t->opt.lr, sizeof t->opt.lr);
    if (crc)
        *crc = mine;
    struct ck_train_dist *d = t->dist;
    if (!d)
        return CK_OK;
    unsigned *all = malloc((size_t)d->size * sizeof *all);
    if (!all)
        return CK_ERR_OUT_OF_MEMORY;
    MPI_Request req;
    unsigned m = mine;
    int rc = MPI_Iallgather(&m, 1, MPI_UNSIGNED, all, 1, MPI_UNSIGNED, d->comm, &req);
    enum ck_status st = wait_req(d, &req, rc, "the weight check");
    if (st != CK_OK)
        ck__msg(msg, msg_len, "%s", d->err);
    for (int q = 1; st == CK_OK && q < d->size; q++)
        if (all[q] != all[0]) {
            ck__msg(msg, msg_len, "the training state differs between ranks: rank %d has "
                    "CRC-32 %08x, rank 0 %08x (step %lld)", q, all[q], all[0], t->progress.step);
            st = CK_ERR_CORRUPT_DATA;
        }
    free(all);
    return st;
}

enum ck_status ck_trainer_set_comm(struct ck_trainer *t, MPI_Comm comm, double timeout_s,
                                   char *msg, size_t msg_len)
{
    if (!t || comm == MPI_COMM_NULL)
        return CK_ERR_INVALID_ARGUMENT;
    ck__dist_free(t->dist);
    t->dist = NULL;
    struct ck_train_dist *d = calloc(1, sizeof *d);
    if (!d)
        return CK_ERR_OUT_OF_MEMORY;
    d->comm = MPI_COMM_NULL;
    d->timeout = timeout_s;
    int rc = MPI_Comm_dup(comm, &d->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(d->comm, &d->rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(d->comm, &d->size);
    enum ck_status st = rc == MPI_SUCCESS ? CK_OK : mpi_fail(d, rc, "setting up");
    if (st != CK_OK)
        ck__msg(msg, msg_len, "%s", d->err);
    /* buffers for a full batch: L <= ceil(C/P) chunks out, C slices of <= ceil(G/P) in */
    const size_t G = t->nets[0]->params_len, P = (size_t)(d->size > 0 ? d->size : 1);
    const size_t C = (size_t)t->n_replicas, Lmax = (C + P - 1) / P, slice = (G + P - 1) / P;
    if (st == CK_OK && (Lmax * G > (size_t)INT32_MAX || C * slice > (size_t)INT32_MAX)) {
        ck__msg(msg, msg_len, "training over MPI: %zu parameters x %zu chunks exceed MPI's "
                "int counts", G, Lmax);
        st = CK_ERR_UNSUPPORTED;
    }
    if (st == CK_OK) {
        d->send = ck_aligned_alloc(CK_MAX(Lmax * G, (size_t)1) * sizeof(float));
        d->recv = ck_aligned_alloc(CK_MAX(C * slice, (size_t)1) * sizeof(float));
        d->counts = malloc(4 * P * sizeof(int));
        if (!d->send || !d->recv || !d->counts) {
            ck__msg(msg, msg_len, "training over MPI: out of memory for the exchange buffers");
            st = CK_ERR_OUT_OF_MEMORY;
        }
    }
    if (st == CK_OK) { /* checked, not assumed: every rank starts from the same state */
        t->dist = d;
        st = ck_trainer_check_replicas(t, NULL, msg, msg_len);
        if (st == CK_OK)
            return CK_OK;
        t->dist = NULL;
    }
    ck__dist_free(d);
    return st;
}

void ck_trainer_comm_rank(const struct ck_trainer *t, int *rank, int *ranks)
{
    ck__dist_rank(t, rank, ranks);
}

const char *ck_trainer_comm_error(const struct ck_trainer *t)
{
    return t ? ck__dist_error(t) : "";
}

void ck_trainer_comm_time(const struct ck_trainer *t, double *seconds, long long *steps)
{
    *seconds = t && t->dist ? t->dist->comm_s : 0.0;
    *steps = t && t->dist ? t->dist->steps : 0;
}

#else /* !CONVKIT_HAVE_MPI: t->dist is always NULL, so none of these is reached */

enum ck_status ck__dist_step(struct ck_trainer *t, const float *x, const int *labels, int n,
                             double *loss, int *correct)
{
    (void)t, (void)x, (void)labels, (void)n, (void)loss, (void)correct;
    return CK_ERR_UNSUPPORTED;
}

void ck__dist_local_images(const struct ck_trainer *t, int n, int *lo, int *hi)
{
    (void)t;
    *lo = 0;
    *hi = n;
}

void ck__dist_rank(const struct ck_trainer *t, int *rank, int *ranks)
{
    (void)t;
    *rank = 0;
    *ranks = 1;
}

enum ck_status ck__dist_sum_f64(struct ck_trainer *t, double *v, size_t n)
{
    (void)t, (void)v, (void)n;
    return CK_OK;
}

enum ck_status ck__dist_sum_i64(struct ck_trainer *t, long long *v, size_t n)
{
    (void)t, (void)v, (void)n;
    return CK_OK;
}

enum ck_status ck__dist_max_status(struct ck_trainer *t, enum ck_status st)
{
    (void)t;
    return st;
}

const char *ck__dist_error(const struct ck_trainer *t)
{
    (void)t;
    return "";
}

void ck__dist_free(struct ck_train_dist *d)
{
    (void)d;
}

#endif
