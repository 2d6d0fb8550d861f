/* data_idx.c - IDX files (MNIST, Fashion-MNIST): big-endian headers, uint8 payloads.
 *
 * Header: two zero bytes, a type byte (0x08 = unsigned byte, the only type accepted),
 * the number of dimensions, then one big-endian u32 per dimension. Images must have 3
 * dimensions (n, rows, cols), labels 1 (n); both n must agree, every label must be a
 * valid class and the payload must be exactly the product of the dimensions (trailing
 * bytes are refused). Files may be gzip-compressed (zlib). Not here: other IDX types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/data.h"
#include "data_internal.h"
#include "internal.h"

#define IDX_MAX_BYTES ((size_t)1 << 31)

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                              "Ankle boot"};

const char *const *ck__fashion_mnist_class_names(void)
{
    return fashion_names;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Validate an IDX ubyte header with ndim dimensions; dims and *data get the payload. */
static enum ck_status idx_header(const uint8_t *buf, size_t len, int ndim, const char *what,
                                 const char *name, uint32_t *dims, const uint8_t **data,
                                 char *msg, size_t msg_len)
{
    if (len < 4 || buf[0] != 0 || buf[1] != 0) {
        ck__msg(msg, msg_len, "%s: not an IDX file (bad magic number)", name);
        return CK_ERR_CORRUPT_DATA;
    }
    if (buf[2] != 0x08) {
        ck__msg(msg, msg_len, "%s: IDX element type 0x%02x, expected 0x08 (unsigned byte)",
                name, buf[2]);
        return CK_ERR_CORRUPT_DATA;
    }
    if (buf[3] != ndim) {
        ck__msg(msg, msg_len, "%s: IDX %s file has %d dimensions, expected %d", name, what,
                buf[3], ndim);
        return CK_ERR_CORRUPT_DATA;
    }
    const size_t header = 4 + 4 * (size_t)ndim;
    if (len < header) {
        ck__msg(msg, msg_len, "%s: truncated IDX header", name);
        return CK_ERR_CORRUPT_DATA;
    }
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        dims[d] = be32(buf + 4 + 4 * d);
        if (dims[d] == 0 || dims[d] > IDX_MAX_BYTES || numel > IDX_MAX_BYTES / dims[d]) {
            ck__msg(msg, msg_len, "%s: IDX dimension %d is %u (empty or too large)", name, d,
                    dims[d]);
            return CK_ERR_CORRUPT_DATA;
        }
        numel *= dims[d];
    }
    if (len - header != numel) {
        ck__msg(msg, msg_len, "%s: IDX payload is %zu bytes, header says %zu (%s)", name,
                len - header, numel, len - header < numel ? "truncated" : "trailing bytes");
        return CK_ERR_CORRUPT_DATA;
    }
    *data = buf + header;
    return CK_OK;
}

/* Parse an image/label pair; messages name images_name or labels_name. */
static enum ck_status parse_pair(const uint8_t *images, size_t images_len,
                                 const char *images_name, const uint8_t *labels,
                                 size_t labels_len, const char *labels_name, int classes,
                                 struct ck_dataset *out, char *msg, size_t msg_len)
{
    if (!out || classes < 1 || classes > CK_DATA_MAX_CLASSES)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    const char *nm = labels_name;
    uint32_t idims[3], ldims[1];
    const uint8_t *ipix, *lab;
    enum ck_status st = idx_header(images, images_len, 3, "image", images_name, idims, &ipix,
                                   msg, msg_len);
    if (st != CK_OK)
        return st;
    st = idx_header(labels, labels_len, 1, "label", labels_name, ldims, &lab, msg, msg_len);
    if (st != CK_OK)
        return st;
    if (idims[0] != ldims[0]) {
        ck__msg(msg, msg_len, "%s has %u labels but %s has %u images", nm, ldims[0],
                images_name, idims[0]);
        return CK_ERR_CORRUPT_DATA;
    }
    if (idims[1] > 65536 || idims[2] > 65536) {
        ck__msg(msg, msg_len, "%s: image size %ux%u is too large", images_name, idims[1], idims[2]);
        return CK_ERR_CORRUPT_DATA;
    }
    for (uint32_t i = 0; i < ldims[0]; i++) {
        if (lab[i] >= classes) {
            ck__msg(msg, msg_len, "%s: label %u of image %u is not below %d classes", nm,
                    lab[i], i, classes);
            return CK_ERR_CORRUPT_DATA;
        }
    }
    const size_t n = idims[0], pix = (size_t)idims[1] * idims[2];
    out->pixels = malloc(n * pix);
    out->labels = malloc(n);
    if (!out->pixels || !out->labels) {
        ck_dataset_free(out);
        ck__msg(msg, msg_len, "%s: out of memory for %zu images", images_name, n);
        return CK_ERR_OUT_OF_MEMORY;
    }
    memcpy(out->pixels, ipix, n * pix);
    memcpy(out->labels, lab, n);
    out->n = n;
    out->shape = (struct ck_shape){1, (int)idims[1], (int)idims[2]};
    out->classes = classes;
    snprintf(out->name, sizeof out->name, "idx");
    return CK_OK;
}

enum ck_status ck_idx_parse(const uint8_t *images, size_t images_len, const uint8_t *labels,
                            size_t labels_len, int classes, const char *name,
                            struct ck_dataset *out, char *msg, size_t msg_len)
{
    char in[300], ln[300];
    snprintf(in, sizeof in, "%s images", name ? name : "IDX");
    snprintf(ln, sizeof ln, "%s labels", name ? name : "IDX");
    return parse_pair(images, images_len, in, labels, labels_len, ln, classes, out, msg,
                      msg_len);
}

enum ck_status ck_idx_load(const char *images_path, const char *labels_path, int classes,
                           struct ck_dataset *out, char *msg, size_t msg_len)
{
    if (!images_path || !labels_path || !out)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    uint8_t *img = NULL, *lab = NULL;
    size_t img_len = 0, lab_len = 0;
    enum ck_status st = ck__read_file(images_path, 1, IDX_MAX_BYTES, &img, &img_len, msg,
                                      msg_len);
    if (st == CK_OK)
        st = ck__read_file(labels_path, 1, IDX_MAX_BYTES, &lab, &lab_len, msg, msg_len);
    if (st == CK_OK) {
        st = parse_pair(img, img_len, images_path, lab, lab_len, labels_path, classes, out,
                        msg, msg_len);
    }
    free(img);
    free(lab);
    return st;
}
