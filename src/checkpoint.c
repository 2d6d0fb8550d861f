/* checkpoint.c - save, read and restore training checkpoints (format in checkpoint.h).
 *
 * The payload is built in memory by a tiny little-endian writer, then written with the
 * header and CRC through the staged (temp file + fsync + rename) writer of fileutil.h.
 * The reader checks the frame (magic, version, exact length, CRC) before decoding, then
 * every field's range; restore rebuilds the trainer from the spec and recipe and
 * copies the state in. Not here: what is trained (train.c) or printed (the CLI).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "convkit/checkpoint.h"
#include "convkit/io.h"
#include "data_internal.h"
#include "fileutil.h"
#include "internal.h"

static const uint8_t MAGIC[8] = {'C', 'K', 'P', 'T', '\r', '\n', 0x1a, '\n'};
#define HEADER_BYTES 20
#define MAX_FILE_BYTES ((size_t)1 << 32)

/* ---- little-endian writer ----------------------------------------------------------- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
    if (w->oom)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *np = realloc(w->p, cap);
        if (!np) {
            w->oom = 1;
            return;
        }
        w->p = np;
        w->cap = cap;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put_u64(struct wbuf *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 8);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 4);
}

static void put_f64(struct wbuf *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(w, u);
}

static void put_f32(struct wbuf *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_u32(w, u);
}

static void put_str(struct wbuf *w, const char *s)
{
    put_u32(w, (uint32_t)strlen(s));
    put(w, s, strlen(s));
}

static void put_floats(struct wbuf *w, const float *v, size_t n)
{
    put_u64(w, n);
    for (size_t i = 0; i < n; i++)
        put_f32(w, v[i]);
}

/* ---- little-endian reader ------------------------------------------------------------ */

struct rbuf {
    const uint8_t *p;
    size_t len, at;
    int bad; /* 1 once a read ran past the end */
};

static const uint8_t *take(struct rbuf *r, size_t n)
{
    if (r->bad || n > r->len - r->at) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->at;
    r->at += n;
    return p;
}

static uint64_t get_u64(struct rbuf *r)
{
    const uint8_t *b = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; b && i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static uint32_t get_u32(struct rbuf *r)
{
    const uint8_t *b = take(r, 4);
    uint32_t v = 0;
    for (int i = 0; b && i < 4; i++)
        v |= (uint32_t)b[i] << (8 * i);
    return v;
}

static double get_f64(struct rbuf *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static float get_f32(struct rbuf *r)
{
    uint32_t u = get_u32(r);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* ---- the payload ------------------------------------------------------------------------ */

static void put_config(struct wbuf *w, const struct ck_train_config *c)
{
    const struct ck_optim_config *o = &c->optim;
    put_u32(w, (uint32_t)o->kind);
    put_f64(w, o->lr);
    put_f64(w, o->momentum);
    put_f64(w, o->dampening);
    put_u32(w, (uint32_t)o->nesterov);
    put_f64(w, o->beta1);
    put_f64(w, o->beta2);
    put_f64(w, o->eps);
    put_f64(w, o->weight_decay);
    put_u32(w, (uint32_t)c->schedule.kind);
    put_u32(w, (uint32_t)c->schedule.step_epochs);
    put_f64(w, c->schedule.gamma);
    put_u32(w, (uint32_t)c->batch);
    put_u32(w, (uint32_t)c->micro_batch);
    put_u64(w, c->seed);
    put_u32(w, (uint32_t)c->init);
    put_u32(w, (uint32_t)c->augment.crop_pad);
    put_u32(w, (uint32_t)c->augment.flip);
    put_u32(w, (uint32_t)c->norm.channels);
    for (int i = 0; i < CK_DATA_MAX_CHANNELS; i++) {
        put_f32(w, c->norm.mean[i]);
        put_f32(w, c->norm.std[i]);
    }
}

static void get_config(struct rbuf *r, struct ck_train_config *c)
{
    struct ck_optim_config *o = &c->optim;
    o->kind = (enum ck_optim_kind)get_u32(r);
    o->lr = get_f64(r);
    o->momentum = get_f64(r);
    o->dampening = get_f64(r);
    o->nesterov = (int)get_u32(r);
    o->beta1 = get_f64(r);
    o->beta2 = get_f64(r);
    o->eps = get_f64(r);
    o->weight_decay = get_f64(r);
    c->schedule.kind = (enum ck_lr_schedule_kind)get_u32(r);
    c->schedule.step_epochs = (int)get_u32(r);
    c->schedule.gamma = get_f64(r);
    c->batch = (int)get_u32(r);
    c->micro_batch = (int)get_u32(r);
    c->seed = get_u64(r);
    c->init = (enum ck_init)get_u32(r);
    c->augment.crop_pad = (int)get_u32(r);
    c->augment.flip = (int)get_u32(r);
    c->norm.channels = (int)get_u32(r);
    for (int i = 0; i < CK_DATA_MAX_CHANNELS; i++) {
        c->norm.mean[i] = get_f32(r);
        c->norm.std[i] = get_f32(r);
    }
}

/* Ranges that the trainer and the optimiser would otherwise refuse later or misuse. */
static const char *config_problem(const struct ck_train_config *c)
{
    const struct ck_optim_config *o = &c->optim;
    if ((unsigned)o->kind > CK_OPTIM_ADAM || (unsigned)o->nesterov > 1)
        return "optimiser";
    if (!isfinite(o->lr) || !isfinite(o->momentum) || !isfinite(o->dampening) ||
        !isfinite(o->beta1) || !isfinite(o->beta2) || !isfinite(o->eps) ||
        !isfinite(o->weight_decay))
        return "optimiser settings";
    if ((unsigned)c->schedule.kind > CK_LR_COSINE || !isfinite(c->schedule.gamma) ||
        c->schedule.step_epochs < 0)
        return "learning-rate schedule";
    if (c->batch < 1 || c->micro_batch < 1 || c->micro_batch > c->batch)
        return "batch sizes";
    if ((unsigned)c->init > CK_INIT_GLOROT_NORMAL)
        return "initialiser";
    if (c->augment.crop_pad < 0 || c->augment.crop_pad > 64 || (unsigned)c->augment.flip > 1)
        return "augmentation";
    if (c->norm.channels < 0 || c->norm.channels > CK_DATA_MAX_CHANNELS)
        return "normalisation";
    return NULL;
}

void ck_checkpoint_free(struct ck_checkpoint *c)
{
    if (!c)
        return;
    free(c->spec_text);
    free(c->params);
    free(c->state);
    memset(c, 0, sizeof *c);
}

enum ck_status ck_checkpoint_save(const char *path, const struct ck_trainer *t,
                                  const char *dataset, char *msg, size_t msg_len)
{
    if (!path || !t)
        return CK_ERR_INVALID_ARGUMENT;
    const size_t text_len = CK_MODEL_MAX_LAYERS * 256 + 64;
    char *spec_text = malloc(text_len);
    if (!spec_text) {
        ck__msg(msg, msg_len, "%s: out of memory", path);
        return CK_ERR_OUT_OF_MEMORY;
    }
    if (ck_model_spec_format(&t->spec, spec_text, text_len) != CK_OK) {
        free(spec_text);
        ck__msg(msg, msg_len, "%s: model spec too long to save", path);
        return CK_ERR_INVALID_ARGUMENT;
    }
    struct wbuf w = {0};
    put_str(&w, spec_text);
    free(spec_text);
    put_str(&w, dataset ? dataset : "");
    put_config(&w, &t->cfg);
    put_u32(&w, (uint32_t)t->progress.epoch);
    put_u64(&w, (uint64_t)t->progress.epoch_step);
    put_u64(&w, (uint64_t)t->progress.step);
    put_u64(&w, t->dropout.counter);
    put_u64(&w, (uint64_t)t->opt.step);
    put_f64(&w, t->opt.lr);
    put_floats(&w, t->nets[0]->params, t->nets[0]->params_len);
    put_floats(&w, t->opt.state, t->opt.state_len);
    if (w.oom) {
        free(w.p);
        ck__msg(msg, msg_len, "%s: out of memory", path);
        return CK_ERR_OUT_OF_MEMORY;
    }
    struct wbuf h = {0};
    put(&h, MAGIC, sizeof MAGIC);
    put_u32(&h, CK_CHECKPOINT_VERSION);
    put_u64(&h, w.len);
    uint32_t crc = (uint32_t)crc32(0L, w.p, (uInt)0);
    for (size_t at = 0; at < w.len; at += 1u << 30) /* crc32 takes uInt lengths */
        crc = (uint32_t)crc32(crc, w.p + at, (uInt)CK_MIN(w.len - at, (size_t)1 << 30));
    struct wbuf tail = {0};
    put_u32(&tail, crc);

    char tmp[4096 + 64];
    FILE *f;
    enum ck_status st = h.oom || tail.oom ? CK_ERR_OUT_OF_MEMORY : CK_OK;
    if (st == CK_OK && strlen(path) + 32 > sizeof tmp) {
        ck__msg(msg, msg_len, "%s: path too long", path);
        st = CK_ERR_INVALID_ARGUMENT;
    }
    if (st == CK_OK)
        st = ck__stage_open(path, &f, tmp, sizeof tmp, msg, msg_len);
    if (st == CK_OK) {
        if (fwrite(h.p, 1, h.len, f) != h.len || fwrite(w.p, 1, w.len, f) != w.len ||
            fwrite(tail.p, 1, tail.len, f) != tail.len) {
            ck__stage_abort(f, tmp);
            ck__msg(msg, msg_len, "%s: write failed", path);
            st = CK_ERR_IO;
        } else {
            st = ck__stage_close(f, path, tmp, msg, msg_len);
        }
    }
    if (st == CK_OK)
        st = ck_file_commit(tmp, path, msg, msg_len);
    free(w.p);
    free(h.p);
    free(tail.p);
    return st;
}

/* Read n floats announced by a u64 count; NULL (and r->bad or *too_big) on failure. */
static float *get_floats(struct rbuf *r, size_t *n)
{
    uint64_t count = get_u64(r);
    *n = 0;
    if (r->bad || count > (r->len - r->at) / 4) {
        r->bad = 1;
        return NULL;
    }
    float *v = malloc(count ? count * sizeof(float) : 1);
    if (!v)
        return NULL;
    for (uint64_t i = 0; i < count; i++)
        v[i] = get_f32(r);
    *n = (size_t)count;
    return v;
}

enum ck_status ck_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                                   struct ck_checkpoint *out, char *msg, size_t msg_len)
{
    if (!out || (!buf && len))
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    const char *nm = name ? name : "checkpoint";
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0) {
        ck__msg(msg, msg_len, "%s: not a convkit checkpoint (bad magic)", nm);
        return CK_ERR_CORRUPT_DATA;
    }
    struct rbuf r = {buf, len, 8, 0};
    uint32_t version = get_u32(&r);
    uint64_t plen = get_u64(&r);
    if (r.bad) {
        ck__msg(msg, msg_len, "%s: truncated checkpoint header", nm);
        return CK_ERR_CORRUPT_DATA;
    }
    if (version != CK_CHECKPOINT_VERSION) {
        ck__msg(msg, msg_len, "%s: checkpoint version %u, this convkit reads version %d", nm,
                version, CK_CHECKPOINT_VERSION);
        return CK_ERR_CORRUPT_DATA;
    }
    const size_t avail = len >= HEADER_BYTES + 4 ? len - HEADER_BYTES - 4 : 0;
    if (len < HEADER_BYTES + 4 || plen != avail) {
        ck__msg(msg, msg_len, "%s: checkpoint is %zu bytes, its header says %llu (%s)", nm, len,
                (unsigned long long)plen + HEADER_BYTES + 4,
                len < HEADER_BYTES + 4 || plen > avail ? "truncated" : "trailing bytes");
        return CK_ERR_CORRUPT_DATA;
    }
    const uint8_t *payload = buf + HEADER_BYTES;
    uint32_t crc = (uint32_t)crc32(0L, payload, (uInt)0);
    for (size_t at = 0; at < plen; at += 1u << 30)
        crc = (uint32_t)crc32(crc, payload + at, (uInt)CK_MIN(plen - at, (size_t)1 << 30));
    struct rbuf tr = {buf + len - 4, 4, 0, 0};
    if (crc != get_u32(&tr)) {
        ck__msg(msg, msg_len, "%s: checksum mismatch: the checkpoint is corrupt", nm);
        return CK_ERR_CORRUPT_DATA;
    }
    r = (struct rbuf){payload, (size_t)plen, 0, 0};
    uint32_t slen = get_u32(&r);
    const uint8_t *s = take(&r, slen);
    if (s && !memchr(s, 0, slen) && (out->spec_text = malloc((size_t)slen + 1))) {
        memcpy(out->spec_text, s, slen);
        out->spec_text[slen] = '\0';
    }
    uint32_t dlen = get_u32(&r);
    const uint8_t *ds = take(&r, dlen);
    if (ds && dlen < sizeof out->dataset && !memchr(ds, 0, dlen)) {
        memcpy(out->dataset, ds, dlen);
        out->dataset[dlen] = '\0';
    } else {
        r.bad = 1;
    }
    get_config(&r, &out->cfg);
    out->progress.epoch = (int)get_u32(&r);
    out->progress.epoch_step = (long long)get_u64(&r);
    out->progress.step = (long long)get_u64(&r);
    out->dropout_counter = get_u64(&r);
    out->optim_step = (long long)get_u64(&r);
    out->optim_lr = get_f64(&r);
    if (!r.bad)
        out->params = get_floats(&r, &out->n_params);
    if (!r.bad)
        out->state = get_floats(&r, &out->n_state);
    const char *bad = NULL;
    if (r.bad || !out->spec_text || !out->params || !out->state)
        bad = r.bad ? "fields run past the end" : "out of memory or bad spec text";
    else if (r.at != r.len)
        bad = "trailing bytes after the last field";
    else if ((bad = config_problem(&out->cfg)) != NULL)
        ;
    else if (out->progress.epoch < 0 || out->progress.epoch_step < 0 || out->progress.step < 0 ||
             out->optim_step < 0 || !isfinite(out->optim_lr))
        bad = "progress counters";
    if (bad) {
        ck__msg(msg, msg_len, "%s: corrupt checkpoint (%s)", nm, bad);
        ck_checkpoint_free(out);
        return CK_ERR_CORRUPT_DATA;
    }
    return CK_OK;
}

enum ck_status ck_checkpoint_read(const char *path, struct ck_checkpoint *out, char *msg,
                                  size_t msg_len)
{
    if (!path || !out)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    enum ck_status st = ck__read_file(path, 0, MAX_FILE_BYTES, &buf, &len, msg, msg_len);
    if (st != CK_OK)
        return st;
    st = ck_checkpoint_parse(buf, len, path, out, msg, msg_len);
    free(buf);
    return st;
}

enum ck_status ck_checkpoint_restore(const struct ck_checkpoint *c, const char *backend,
                                     struct ck_trainer **out, char *msg, size_t msg_len)
{
    if (!c || !out || !c->spec_text)
        return CK_ERR_INVALID_ARGUMENT;
    *out = NULL;
    struct ck_model_spec *spec = malloc(sizeof *spec); /* ~20 KB: keep it off the stack */
    char why[400];
    if (!spec)
        return CK_ERR_OUT_OF_MEMORY;
    if (ck_model_spec_parse(c->spec_text, NULL, spec, why, sizeof why) != CK_OK) {
        free(spec);
        ck__msg(msg, msg_len, "checkpoint model spec does not parse: %s", why);
        return CK_ERR_CORRUPT_DATA;
    }
    struct ck_trainer *t;
    enum ck_status st = ck_trainer_create(spec, &c->cfg, backend, &t, msg, msg_len);
    free(spec);
    if (st != CK_OK)
        return st == CK_ERR_INVALID_ARGUMENT ? CK_ERR_CORRUPT_DATA : st;
    if (c->n_params != t->nets[0]->params_len || c->n_state != t->opt.state_len) {
        ck__msg(msg, msg_len,
                "checkpoint holds %zu parameters and %zu optimiser values; its model needs "
                "%zu and %zu",
                c->n_params, c->n_state, t->nets[0]->params_len, t->opt.state_len);
        ck_trainer_free(t);
        return CK_ERR_CORRUPT_DATA;
    }
    memcpy(t->nets[0]->params, c->params, c->n_params * sizeof(float));
    if (c->n_state)
        memcpy(t->opt.state, c->state, c->n_state * sizeof(float));
    t->opt.step = c->optim_step;
    t->opt.lr = c->optim_lr;
    t->progress = c->progress;
    t->dropout.counter = c->dropout_counter;
    *out = t;
    return CK_OK;
}
