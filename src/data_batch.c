/* data_batch.c - datasets by name, whole-file reads, channel statistics and batches.
 *
 * ck_dataset_batch is the only place pixels become floats: each image is read as uint8
 * (or computed, for synthetic data), optionally cropped/flipped with bits from the
 * counter-based RNG (draw aug_base + j for slot j, so batches do not depend on the
 * thread count or on earlier batches), then normalised per channel. Not here: the
 * file formats themselves (data_cifar.c, data_idx.c, data_synthetic.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "convkit/data.h"
#include "convkit/rng.h"
#include "data_internal.h"
#include "internal.h"

enum ck_status ck__read_file(const char *path, int gz, size_t max_len, uint8_t **buf,
                             size_t *len, char *msg, size_t msg_len)
{
    *buf = NULL;
    *len = 0;
    FILE *raw = fopen(path, "rb");
    if (!raw) {
        ck__msg(msg, msg_len, "%s: %s", path, strerror(errno));
        return CK_ERR_IO;
    }
    gzFile f = NULL;
    if (gz) {
        fclose(raw);
        raw = NULL;
        if (!(f = gzopen(path, "rb"))) {
            ck__msg(msg, msg_len, "%s: cannot open", path);
            return CK_ERR_IO;
        }
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    enum ck_status st = b ? CK_OK : CK_ERR_OUT_OF_MEMORY;
    while (st == CK_OK) {
        if (n == cap) {
            if (cap > max_len) {
                ck__msg(msg, msg_len, "%s: larger than %zu bytes", path, max_len);
                st = CK_ERR_CORRUPT_DATA;
                break;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                st = CK_ERR_OUT_OF_MEMORY;
                break;
            }
            b = nb;
            cap *= 2;
        }
        const size_t want = CK_MIN(cap - n, (size_t)1 << 30);
        size_t got;
        if (f) {
            int r = gzread(f, b + n, (unsigned)want);
            if (r < 0) {
                int zerr = 0;
                const char *why = gzerror(f, &zerr);
                ck__msg(msg, msg_len, "%s: %s", path,
                        zerr == Z_ERRNO ? strerror(errno) : (why && *why ? why : "bad gzip data"));
                st = zerr == Z_ERRNO ? CK_ERR_IO : CK_ERR_CORRUPT_DATA;
                break;
            }
            got = (size_t)r;
        } else {
            got = fread(b + n, 1, want, raw);
            if (got == 0 && ferror(raw)) {
                ck__msg(msg, msg_len, "%s: %s", path, strerror(errno));
                st = CK_ERR_IO;
                break;
            }
        }
        if (got == 0)
            break;
        n += got;
    }
    if (raw)
        fclose(raw);
    /* gzread stops quietly at a truncated gzip stream; gzclose_r then reports it */
    if (f && gzclose_r(f) != Z_OK && st == CK_OK) {
        ck__msg(msg, msg_len, "%s: truncated or corrupt gzip data", path);
        st = CK_ERR_CORRUPT_DATA;
    }
    if (st == CK_OK && n > max_len) {
        ck__msg(msg, msg_len, "%s: larger than %zu bytes", path, max_len);
        st = CK_ERR_CORRUPT_DATA;
    }
    if (st == CK_ERR_OUT_OF_MEMORY)
        ck__msg(msg, msg_len, "%s: out of memory", path);
    if (st != CK_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = n;
    return CK_OK;
}

void ck_dataset_free(struct ck_dataset *d)
{
    if (!d)
        return;
    free(d->pixels);
    free(d->labels);
    free(d->synth_proto);
    memset(d, 0, sizeof *d);
}

const char *const *ck_dataset_class_names(const char *name)
{
    if (name && strcmp(name, "cifar10") == 0)
        return ck__cifar10_class_names();
    if (name && strcmp(name, "fashion-mnist") == 0)
        return ck__fashion_mnist_class_names();
    return NULL;
}

/* dir/base.gz if it exists, else dir/base */
static void idx_path(const char *dir, const char *base, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.gz", dir, base);
    FILE *f = fopen(buf, "rb");
    if (f)
        fclose(f);
    else
        snprintf(buf, len, "%s/%s", dir, base);
}

enum ck_status ck_dataset_load(const char *name, const char *dir, int train,
                               const struct ck_shape *synthetic_shape, struct ck_dataset *out,
                               char *msg, size_t msg_len)
{
    if (!name || !out)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    enum ck_status st;
    if (strcmp(name, "synthetic") == 0) {
        if (!synthetic_shape) {
            ck__msg(msg, msg_len, "synthetic: an image shape is needed");
            return CK_ERR_INVALID_ARGUMENT;
        }
        /* the test split continues the same stream after the 50000 training records */
        return ck_dataset_synthetic(*synthetic_shape, 10, train ? 50000 : 10000, 0x5EED,
                                    train ? 0 : 50000, out, msg, msg_len);
    }
    if (strcmp(name, "cifar10") == 0) {
        if (!dir) {
            ck__msg(msg, msg_len, "cifar10: give --data-dir (scripts/fetch-cifar10.sh "
                                  "downloads it)");
            return CK_ERR_INVALID_ARGUMENT;
        }
        return ck_cifar10_load(dir, train, out, msg, msg_len);
    }
    const int fashion = strcmp(name, "fashion-mnist") == 0;
    if (!fashion && strcmp(name, "mnist") != 0) {
        ck__msg(msg, msg_len, "unknown dataset '%s' (known: cifar10, fashion-mnist, mnist, "
                              "synthetic)", name);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (!dir && !fashion) {
        ck__msg(msg, msg_len, "mnist: give --data-dir (a directory with the IDX files)");
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (!dir)
        dir = CK_FASHION_MNIST_DIR;
    char ipath[4096], lpath[4096];
    idx_path(dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte", ipath,
             sizeof ipath);
    idx_path(dir, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte", lpath,
             sizeof lpath);
    st = ck_idx_load(ipath, lpath, 10, out, msg, msg_len);
    if (st == CK_OK) {
        snprintf(out->name, sizeof out->name, "%s", name);
        out->class_names = ck_dataset_class_names(name);
    }
    return st;
}

int ck_dataset_label(const struct ck_dataset *d, size_t i)
{
    return d->labels ? d->labels[i] : ck__synthetic_label(d, i);
}

void ck_dataset_image(const struct ck_dataset *d, size_t i, uint8_t *out)
{
    const size_t numel = ck_shape_numel(d->shape);
    if (d->pixels)
        memcpy(out, d->pixels + i * numel, numel);
    else
        ck__synthetic_image(d, i, out);
}

enum ck_status ck_dataset_stats(const struct ck_dataset *d, struct ck_normalize *out)
{
    if (!d || !out || d->shape.c < 1 || d->shape.c > CK_DATA_MAX_CHANNELS || d->n == 0)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->channels = d->shape.c;
    const size_t plane = (size_t)d->shape.h * d->shape.w;
    for (int c = 0; c < d->shape.c; c++) {
        if (!d->pixels) {
            out->mean[c] = 0.5f;
            out->std[c] = 0.25f;
            continue;
        }
        /* integer sums are exact, so the result does not depend on summation order */
        uint64_t s = 0, ss = 0;
        for (size_t i = 0; i < d->n; i++) {
            const uint8_t *p = d->pixels + (i * d->shape.c + c) * plane;
            for (size_t k = 0; k < plane; k++) {
                s += p[k];
                ss += (uint64_t)p[k] * p[k];
            }
        }
        const double cnt = (double)d->n * (double)plane;
        const double mean = (double)s / cnt / 255.0;
        const double var = (double)ss / cnt / (255.0 * 255.0) - mean * mean;
        out->mean[c] = (float)mean;
        out->std[c] = (float)(var > 1e-12 ? sqrt(var) : 1.0);
    }
    return CK_OK;
}

/* Source pixel of output (c, y, x) after crop offset (dy, dx) and optional flip. */
static uint8_t pick(const uint8_t *img, int H, int W, int c, int y, int x, int pad, int dy,
                    int dx, int flip)
{
    int sy = y + dy - pad, sx = (flip ? W - 1 - x : x) + dx - pad;
    if (sy < 0 || sy >= H || sx < 0 || sx >= W)
        return 0; /* zero padding (black), as torchvision's RandomCrop */
    return img[((size_t)c * H + sy) * W + sx];
}

void ck_dataset_batch(const struct ck_dataset *d, const uint32_t *idx, int count,
                      const struct ck_normalize *norm, const struct ck_augment *aug,
                      uint64_t aug_seed, uint64_t aug_base, float *x, int *labels)
{
    const int C = d->shape.c, H = d->shape.h, W = d->shape.w;
    const size_t numel = ck_shape_numel(d->shape);
    float scale[CK_DATA_MAX_CHANNELS], shift[CK_DATA_MAX_CHANNELS];
    for (int c = 0; c < C; c++) {
        const float sd = norm ? norm->std[c] : 1.0f, mu = norm ? norm->mean[c] : 0.0f;
        scale[c] = 1.0f / (255.0f * sd);
        shift[c] = -mu / sd;
    }
    #pragma omp parallel for schedule(static)
    for (int j = 0; j < count; j++) {
        uint8_t synth[CK_SYNTHETIC_MAX_NUMEL]; /* synthetic images are computed here */
        const uint8_t *img = synth;
        float *x_j = x + (size_t)j * numel;
        if (d->pixels)
            img = d->pixels + (size_t)idx[j] * numel;
        else
            ck__synthetic_image(d, idx[j], synth);
        labels[j] = ck_dataset_label(d, idx[j]);
        int pad = 0, dy = 0, dx = 0, flip = 0;
        if (aug) {
            const uint64_t bits = ck_rng_hash(aug_seed, CK_RNG_STREAM_AUGMENT, aug_base + (uint64_t)j);
            pad = aug->crop_pad;
            dy = pad ? (int)((bits & 0xffff) % (uint64_t)(2 * pad + 1)) : 0;
            dx = pad ? (int)(((bits >> 16) & 0xffff) % (uint64_t)(2 * pad + 1)) : 0;
            flip = aug->flip ? (int)((bits >> 32) & 1) : 0;
            if (pad == 0)
                dy = dx = 0;
        }
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < W; xx++)
                    x_j[((size_t)c * H + y) * W + xx] =
                        (float)pick(img, H, W, c, y, xx, pad, dy, dx, flip) * scale[c] + shift[c];
    }
}
