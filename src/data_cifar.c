/* data_cifar.c - CIFAR-10 binary version: records of 1 label byte + 3072 bytes
 * (1024 R, 1024 G, 1024 B, row-major 32x32), which is already our NCHW uint8 layout.
 *
 * A buffer must be a whole, non-zero number of records and every label < 10; the
 * loader reads data_batch_1..5.bin or test_batch.bin from a directory and joins them.
 * Not here: downloading (scripts/fetch-cifar10.sh) or the Python-pickle version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/data.h"
#include "data_internal.h"
#include "internal.h"

#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)

static const char *const cifar10_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};

const char *const *ck__cifar10_class_names(void)
{
    return cifar10_names;
}

/* Check a buffer of records; *records gets their count. */
static enum ck_status check_records(const uint8_t *buf, size_t len, const char *name,
                                    size_t *records, char *msg, size_t msg_len)
{
    if (len == 0 || len % CIFAR_RECORD != 0) {
        ck__msg(msg, msg_len,
                "%s: not CIFAR-10 binary data: %zu bytes is not a whole number of "
                "3073-byte records (truncated or wrong file?)",
                name, len);
        return CK_ERR_CORRUPT_DATA;
    }
    *records = len / CIFAR_RECORD;
    for (size_t i = 0; i < *records; i++) {
        if (buf[i * CIFAR_RECORD] >= 10) {
            ck__msg(msg, msg_len, "%s: record %zu has label %d (CIFAR-10 labels are 0..9)",
                    name, i, buf[i * CIFAR_RECORD]);
            return CK_ERR_CORRUPT_DATA;
        }
    }
    return CK_OK;
}

/* Append the records of buf to d (whose arrays have room). */
static void append_records(struct ck_dataset *d, const uint8_t *buf, size_t records)
{
    for (size_t i = 0; i < records; i++, d->n++) {
        d->labels[d->n] = buf[i * CIFAR_RECORD];
        memcpy(d->pixels + d->n * CIFAR_PIXELS, buf + i * CIFAR_RECORD + 1, CIFAR_PIXELS);
    }
}

static void init_cifar(struct ck_dataset *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "cifar10");
    d->shape = (struct ck_shape){3, 32, 32};
    d->classes = 10;
    d->class_names = cifar10_names;
}

enum ck_status ck_cifar10_parse(const uint8_t *buf, size_t len, const char *name,
                                struct ck_dataset *out, char *msg, size_t msg_len)
{
    size_t records = 0;
    if (!out)
        return CK_ERR_INVALID_ARGUMENT;
    init_cifar(out);
    enum ck_status st = check_records(buf, len, name ? name : "CIFAR-10 data", &records, msg,
                                      msg_len);
    if (st != CK_OK)
        return st;
    out->pixels = malloc(records * CIFAR_PIXELS);
    out->labels = malloc(records);
    if (!out->pixels || !out->labels) {
        ck_dataset_free(out);
        ck__msg(msg, msg_len, "%s: out of memory", name ? name : "CIFAR-10 data");
        return CK_ERR_OUT_OF_MEMORY;
    }
    append_records(out, buf, records);
    return CK_OK;
}

enum ck_status ck_cifar10_load(const char *dir, int train, struct ck_dataset *out, char *msg,
                               size_t msg_len)
{
    static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin",
                                              "data_batch_3.bin", "data_batch_4.bin",
                                              "data_batch_5.bin"};
    static const char *const test_files[] = {"test_batch.bin"};
    const char *const *files = train ? train_files : test_files;
    const size_t n_files = train ? CK_COUNT_OF(train_files) : CK_COUNT_OF(test_files);
    if (!out || !dir)
        return CK_ERR_INVALID_ARGUMENT;
    init_cifar(out);
    uint8_t *bufs[CK_COUNT_OF(train_files)] = {0};
    size_t lens[CK_COUNT_OF(train_files)] = {0}, records[CK_COUNT_OF(train_files)] = {0};
    size_t total = 0;
    enum ck_status st = CK_OK;
    char path[4096];
    for (size_t f = 0; f < n_files && st == CK_OK; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        st = ck__read_file(path, 0, (size_t)1 << 31, &bufs[f], &lens[f], msg, msg_len);
        if (st == CK_OK)
            st = check_records(bufs[f], lens[f], path, &records[f], msg, msg_len);
        total += records[f];
    }
    if (st == CK_OK) {
        out->pixels = malloc(total * CIFAR_PIXELS);
        out->labels = malloc(total);
        if (!out->pixels || !out->labels) {
            ck__msg(msg, msg_len, "%s: out of memory for %zu CIFAR-10 images", dir, total);
            st = CK_ERR_OUT_OF_MEMORY;
        }
    }
    for (size_t f = 0; f < n_files; f++) {
        if (st == CK_OK)
            append_records(out, bufs[f], records[f]);
        free(bufs[f]);
    }
    if (st != CK_OK)
        ck_dataset_free(out);
    return st;
}
