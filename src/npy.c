/* npy.c - NumPy .npy reader (versions 1.0/2.0/3.0, '<f4' or '<f8', C order, 0..8 dims)
 * and float32 writer (version 1.0), see io.h.
 *
 * The header is a Python dict literal; a tiny parser accepts exactly the keys 'descr',
 * 'fortran_order' and 'shape' (as NumPy does) and nothing else. Sizes are checked for
 * overflow and against the file's real size before anything large is allocated.
 * Does not handle .npz archives, other dtypes, big-endian data or object arrays.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/backend.h"
#include "convkit/io.h"
#include "fileutil.h"
#include "internal.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
#define NPY_MAX_HEADER (1u << 20) /* sanity cap for a header of at most 8 dims */

size_t ck_array_numel(const struct ck_array *a)
{
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    return n;
}

void ck_array_free(struct ck_array *a)
{
    if (!a)
        return;
    ck_aligned_free(a->data);
    memset(a, 0, sizeof *a);
}

const char *ck_array_shape_str(int ndim, const size_t *shape, char *buf, size_t buf_len)
{
    if (!buf || buf_len == 0)
        return "";
    size_t used = (size_t)snprintf(buf, buf_len, "(");
    for (int i = 0; i < ndim && used < buf_len; i++)
        used += (size_t)snprintf(buf + used, buf_len - used, "%s%zu", i ? ", " : "", shape[i]);
    if (used < buf_len)
        snprintf(buf + used, buf_len - used, ndim == 1 ? ",)" : ")");
    return buf;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void bswap_bytes(unsigned char *p, size_t item, size_t count)
{
    for (size_t i = 0; i < count; i++, p += item)
        for (size_t j = 0; j < item / 2; j++) {
            unsigned char t = p[j];
            p[j] = p[item - 1 - j];
            p[item - 1 - j] = t;
        }
}

/* ---- header dict parser ------------------------------------------------------------ */

struct hparse {
    const char *s, *end;
};

static void skip_ws(struct hparse *h)
{
    while (h->s < h->end && (*h->s == ' ' || *h->s == '\t' || *h->s == '\n' || *h->s == '\r'))
        h->s++;
}

static int accept(struct hparse *h, char c)
{
    skip_ws(h);
    if (h->s < h->end && *h->s == c) {
        h->s++;
        return 1;
    }
    return 0;
}

/* A '...' or "..." literal without escapes into out. */
static int parse_str(struct hparse *h, char *out, size_t out_len)
{
    skip_ws(h);
    if (h->s >= h->end || (*h->s != '\'' && *h->s != '"'))
        return 0;
    char q = *h->s++;
    const char *start = h->s;
    while (h->s < h->end && *h->s != q && *h->s != '\\')
        h->s++;
    if (h->s >= h->end || *h->s != q || (size_t)(h->s - start) >= out_len)
        return 0;
    memcpy(out, start, (size_t)(h->s - start));
    out[h->s - start] = '\0';
    h->s++;
    return 1;
}

static int accept_word(struct hparse *h, const char *w)
{
    skip_ws(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->s) >= n && strncmp(h->s, w, n) == 0) {
        h->s += n;
        return 1;
    }
    return 0;
}

/* (d0, d1, ...) with an optional trailing comma; 0 ok, -1 syntax, -2 too many dims,
 * -3 a value too large. Python ints may carry an L suffix in old files. */
static int parse_shape(struct hparse *h, int *ndim, size_t *shape)
{
    if (!accept(h, '('))
        return -1;
    *ndim = 0;
    if (accept(h, ')'))
        return 0;
    for (;;) {
        skip_ws(h);
        if (h->s >= h->end || *h->s < '0' || *h->s > '9')
            return -1;
        size_t v = 0;
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9') {
            if (v > (SIZE_MAX - 9) / 10)
                return -3;
            v = v * 10 + (size_t)(*h->s++ - '0');
        }
        if (h->s < h->end && *h->s == 'L')
            h->s++;
        if (*ndim == CK_ARRAY_MAX_DIMS)
            return -2;
        shape[(*ndim)++] = v;
        if (accept(h, ')'))
            return *ndim == 1 ? -1 : 0; /* (3) is an int, not a tuple */
        if (!accept(h, ','))
            return -1;
        if (accept(h, ')'))
            return 0;
    }
}

struct npy_header {
    char descr[32];
    int fortran;
    int ndim;
    size_t shape[CK_ARRAY_MAX_DIMS];
};

/* Parse the dict; on failure write the problem (without the file name) into why. */
static enum ck_status parse_header(const char *text, size_t len, struct npy_header *hd,
                                   char *why, size_t why_len)
{
    struct hparse h = {text, text + len};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    memset(hd, 0, sizeof *hd);
    if (!accept(&h, '{')) {
        ck__msg(why, why_len, "header is not a Python dict literal");
        return CK_ERR_CORRUPT_DATA;
    }
    while (!accept(&h, '}')) {
        char key[32];
        if (!parse_str(&h, key, sizeof key) || !accept(&h, ':')) {
            ck__msg(why, why_len, "header dict is malformed (expected 'key': value)");
            return CK_ERR_CORRUPT_DATA;
        }
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (!parse_str(&h, hd->descr, sizeof hd->descr)) {
                ck__msg(why, why_len, "header 'descr' is not a simple dtype string "
                                      "(structured arrays are not supported)");
                return CK_ERR_UNSUPPORTED;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran) {
            seen_fortran = 1;
            if (accept_word(&h, "True"))
                hd->fortran = 1;
            else if (!accept_word(&h, "False")) {
                ck__msg(why, why_len, "header 'fortran_order' is not True or False");
                return CK_ERR_CORRUPT_DATA;
            }
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            int rc = parse_shape(&h, &hd->ndim, hd->shape);
            if (rc == -2) {
                ck__msg(why, why_len, "header 'shape' has more than %d dimensions",
                        CK_ARRAY_MAX_DIMS);
                return CK_ERR_UNSUPPORTED;
            }
            if (rc != 0) {
                ck__msg(why, why_len, "header 'shape' is not a tuple of integers >= 0");
                return CK_ERR_CORRUPT_DATA;
            }
        } else {
            ck__msg(why, why_len, "header has an unexpected or repeated key '%s'", key);
            return CK_ERR_CORRUPT_DATA;
        }
        if (!accept(&h, ',')) {
            if (accept(&h, '}'))
                break;
            ck__msg(why, why_len, "header dict is malformed (expected ',' or '}')");
            return CK_ERR_CORRUPT_DATA;
        }
    }
    skip_ws(&h);
    if (h.s != h.end) {
        ck__msg(why, why_len, "header has garbage after the dict");
        return CK_ERR_CORRUPT_DATA;
    }
    if (!seen_descr || !seen_fortran || !seen_shape) {
        ck__msg(why, why_len, "header lacks the key '%s'",
                !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
        return CK_ERR_CORRUPT_DATA;
    }
    return CK_OK;
}

/* ---- reader -------------------------------------------------------------------------- */

static enum ck_status read_exact(FILE *f, void *buf, size_t n, const char *path,
                                 const char *what, char *msg, size_t msg_len)
{
    size_t got = fread(buf, 1, n, f);
    if (got == n)
        return CK_OK;
    if (ferror(f)) {
        ck__msg(msg, msg_len, "'%s': read error in %s: %s", path, what, strerror(errno));
        return CK_ERR_IO;
    }
    ck__msg(msg, msg_len, "'%s': truncated %s (expected %zu more bytes, got %zu)", path, what,
            n, got);
    return CK_ERR_CORRUPT_DATA;
}

static enum ck_status read_file(FILE *f, const char *path, struct ck_array *out, char *msg,
                                size_t msg_len)
{
    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, f);
    if (got < 6 || memcmp(pre, npy_magic, 6) != 0) {
        if (ferror(f)) {
            ck__msg(msg, msg_len, "'%s': read error: %s", path, strerror(errno));
            return CK_ERR_IO;
        }
        ck__msg(msg, msg_len, "'%s': not a .npy file (bad magic)", path);
        return CK_ERR_CORRUPT_DATA;
    }
    if (got < 8) {
        ck__msg(msg, msg_len, "'%s': truncated header (file ends after the magic)", path);
        return CK_ERR_CORRUPT_DATA;
    }
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0) {
        ck__msg(msg, msg_len, "'%s': unsupported .npy format version %d.%d (need 1.0-3.0)",
                path, major, minor);
        return CK_ERR_UNSUPPORTED;
    }
    size_t len_bytes = major == 1 ? 2 : 4;
    enum ck_status st = read_exact(f, pre + 8, len_bytes, path, "header", msg, msg_len);
    if (st != CK_OK)
        return st;
    size_t hlen = major == 1 ? (size_t)pre[8] | (size_t)pre[9] << 8
                             : (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                                   (size_t)pre[11] << 24;
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        ck__msg(msg, msg_len, "'%s': implausible header length %zu", path, hlen);
        return CK_ERR_CORRUPT_DATA;
    }
    char *text = malloc(hlen + 1);
    if (!text) {
        ck__msg(msg, msg_len, "'%s': out of memory reading the header", path);
        return CK_ERR_OUT_OF_MEMORY;
    }
    st = read_exact(f, text, hlen, path, "header", msg, msg_len);
    struct npy_header hd;
    char why[160];
    if (st == CK_OK) {
        text[hlen] = '\0';
        if (strlen(text) != hlen) {
            ck__msg(msg, msg_len, "'%s': header contains a NUL byte", path);
            st = CK_ERR_CORRUPT_DATA;
        } else {
            st = parse_header(text, hlen, &hd, why, sizeof why);
            if (st != CK_OK)
                ck__msg(msg, msg_len, "'%s': %s", path, why);
        }
    }
    free(text);
    if (st != CK_OK)
        return st;

    size_t item;
    if (strcmp(hd.descr, "<f4") == 0)
        item = 4;
    else if (strcmp(hd.descr, "<f8") == 0)
        item = 8;
    else {
        ck__msg(msg, msg_len, "'%s': dtype '%s' is not supported (need '<f4' or '<f8')", path,
                hd.descr);
        return CK_ERR_UNSUPPORTED;
    }
    if (hd.fortran) {
        ck__msg(msg, msg_len, "'%s': fortran_order is True; only C-order arrays are supported "
                              "(save np.ascontiguousarray(a))", path);
        return CK_ERR_UNSUPPORTED;
    }
    size_t numel = 1;
    for (int i = 0; i < hd.ndim; i++) {
        if (hd.shape[i] != 0 && numel > SIZE_MAX / 8 / hd.shape[i]) {
            ck__msg(msg, msg_len, "'%s': shape is too large for this machine", path);
            return CK_ERR_CORRUPT_DATA;
        }
        numel *= hd.shape[i];
    }
    /* Compare with what the file really holds before allocating. */
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0) {
        ck__msg(msg, msg_len, "'%s': cannot determine the file size", path);
        return CK_ERR_IO;
    }
    long fend = ftell(f);
    if (fend < here || fseek(f, here, SEEK_SET) != 0) {
        ck__msg(msg, msg_len, "'%s': cannot determine the file size", path);
        return CK_ERR_IO;
    }
    size_t avail = (size_t)(fend - here), need = numel * item;
    char shape_buf[200];
    if (avail != need) {
        ck__msg(msg, msg_len, "'%s': %s for shape %s of %s (%zu data bytes expected, %zu found)",
                path, avail < need ? "truncated data" : "trailing bytes after the data",
                ck_array_shape_str(hd.ndim, hd.shape, shape_buf, sizeof shape_buf), hd.descr,
                need, avail);
        return CK_ERR_CORRUPT_DATA;
    }

    float *data = ck_aligned_alloc((numel ? numel : 1) * sizeof(float));
    if (!data) {
        ck__msg(msg, msg_len, "'%s': out of memory for %zu floats", path, numel);
        return CK_ERR_OUT_OF_MEMORY;
    }
    const int swap = !host_is_little_endian();
    if (item == 4) {
        st = read_exact(f, data, need, path, "data", msg, msg_len);
        if (st == CK_OK && swap)
            bswap_bytes((unsigned char *)data, 4, numel);
    } else {
        double chunk[1024];
        for (size_t done = 0; done < numel && st == CK_OK;) {
            size_t n = CK_MIN(numel - done, CK_COUNT_OF(chunk));
            st = read_exact(f, chunk, n * 8, path, "data", msg, msg_len);
            if (st == CK_OK && swap)
                bswap_bytes((unsigned char *)chunk, 8, n);
            for (size_t i = 0; st == CK_OK && i < n; i++)
                data[done + i] = (float)chunk[i];
            done += n;
        }
    }
    if (st != CK_OK) {
        ck_aligned_free(data);
        return st;
    }
    out->data = data;
    out->ndim = hd.ndim;
    memcpy(out->shape, hd.shape, sizeof hd.shape);
    return CK_OK;
}

enum ck_status ck_npy_read(const char *path, struct ck_array *out, char *msg, size_t msg_len)
{
    if (!out) {
        ck__msg(msg, msg_len, "npy: NULL output array");
        return CK_ERR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    if (!path) {
        ck__msg(msg, msg_len, "npy: NULL path");
        return CK_ERR_INVALID_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        ck__msg(msg, msg_len, "'%s': cannot open: %s", path, strerror(errno));
        return CK_ERR_IO;
    }
    enum ck_status st = read_file(f, path, out, msg, msg_len);
    fclose(f);
    return st;
}

/* ---- writer -------------------------------------------------------------------------- */

/* Build the padded v1.0 preamble + header: total length a multiple of 64, ending "\n". */
static size_t build_header(int ndim, const size_t *shape, char *buf, size_t buf_len)
{
    char dict[400], shape_buf[300];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                     ck_array_shape_str(ndim, shape, shape_buf, sizeof shape_buf));
    size_t dict_len = (size_t)n;
    size_t total = (10 + dict_len + 1 + 63) / 64 * 64; /* +1 for the final '\n' */
    if (total > buf_len)
        return 0;
    size_t hlen = total - 10;
    memcpy(buf, npy_magic, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, dict_len);
    memset(buf + 10 + dict_len, ' ', hlen - dict_len - 1);
    buf[total - 1] = '\n';
    return total;
}

enum ck_status ck_npy_write_staged(const char *path, const float *data, int ndim,
                                   const size_t *shape, char *tmp, size_t tmp_len, char *msg,
                                   size_t msg_len)
{
    if (tmp && tmp_len)
        tmp[0] = '\0';
    if (!path || ndim < 0 || ndim > CK_ARRAY_MAX_DIMS || (ndim > 0 && !shape)) {
        ck__msg(msg, msg_len, "'%s': invalid array to write (ndim %d)", path ? path : "(null)",
                ndim);
        return CK_ERR_INVALID_ARGUMENT;
    }
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && numel > SIZE_MAX / sizeof(float) / shape[i]) {
            ck__msg(msg, msg_len, "'%s': array too large", path);
            return CK_ERR_INVALID_ARGUMENT;
        }
        numel *= shape[i];
    }
    if (numel > 0 && !data) {
        ck__msg(msg, msg_len, "'%s': NULL data", path);
        return CK_ERR_INVALID_ARGUMENT;
    }
    char header[512];
    size_t hbytes = build_header(ndim, shape, header, sizeof header);
    if (hbytes == 0) {
        ck__msg(msg, msg_len, "'%s': header too long", path);
        return CK_ERR_INVALID_ARGUMENT;
    }
    FILE *f;
    enum ck_status st = ck__stage_open(path, &f, tmp, tmp_len, msg, msg_len);
    if (st != CK_OK)
        return st;
    int ok = fwrite(header, 1, hbytes, f) == hbytes;
    if (host_is_little_endian()) {
        ok = ok && fwrite(data, sizeof(float), numel, f) == numel;
    } else {
        float chunk[1024];
        for (size_t done = 0; ok && done < numel;) {
            size_t n = CK_MIN(numel - done, CK_COUNT_OF(chunk));
            memcpy(chunk, data + done, n * sizeof(float));
            bswap_bytes((unsigned char *)chunk, 4, n);
            ok = fwrite(chunk, sizeof(float), n, f) == n;
            done += n;
        }
    }
    if (!ok) {
        int err = errno;
        ck__stage_abort(f, tmp);
        ck__msg(msg, msg_len, "'%s': write failed: %s", path, strerror(err));
        return CK_ERR_IO;
    }
    return ck__stage_close(f, path, tmp, msg, msg_len);
}

enum ck_status ck_npy_write(const char *path, const float *data, int ndim, const size_t *shape,
                            char *msg, size_t msg_len)
{
    char tmp[4096 + 64];
    if (path && strlen(path) + 32 > sizeof tmp) {
        ck__msg(msg, msg_len, "'%.64s...': path too long", path);
        return CK_ERR_INVALID_ARGUMENT;
    }
    enum ck_status st = ck_npy_write_staged(path, data, ndim, shape, tmp, sizeof tmp, msg,
                                            msg_len);
    return st != CK_OK ? st : ck_file_commit(tmp, path, msg, msg_len);
}
