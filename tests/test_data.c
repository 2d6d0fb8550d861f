/* test_data.c - dataset loaders and batch formation (data.h).
 *
 * CIFAR-10 and IDX files are built byte by byte here from the formats' definitions
 * (label byte + R,G,B planes; big-endian IDX headers), raw and gzip'ed with zlib, then
 * truncated or corrupted to cover every rejection rule. Normalisation and
 * augmentation values are derived by hand from their definitions.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "convkit/convkit.h"
#include "convkit/data.h"
#include "files.h"

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_data"), 0);
}

static void remove_dir(void)
{
    ckt_tmpdir_remove(dir);
}

TestSuite(data, .init = make_dir, .fini = remove_dir);

static const char *path_of(const char *name)
{
    static char p[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void write_bytes(const char *path, const void *buf, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(gzwrite(f, buf, (unsigned)n), (int)n);
        cr_assert_eq(gzclose(f), Z_OK);
        return;
    }
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* ---- CIFAR-10 ------------------------------------------------------------------------ */

/* Record r: label, then pixel k of the 3072 has value (r * 7 + k) % 251. */
static uint8_t *cifar_records(int n, const int *labels)
{
    uint8_t *b = malloc((size_t)n * 3073);
    for (int r = 0; r < n; r++) {
        b[(size_t)r * 3073] = (uint8_t)labels[r];
        for (int k = 0; k < 3072; k++)
            b[(size_t)r * 3073 + 1 + k] = (uint8_t)((r * 7 + k) % 251);
    }
    return b;
}

Test(data, cifar_parse_planes_and_labels)
{
    const int labels[2] = {3, 9};
    uint8_t *b = cifar_records(2, labels);
    struct ck_dataset d;
    char msg[256];
    cr_assert_eq(ck_cifar10_parse(b, 2 * 3073, "x", &d, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.shape.c, 3);
    cr_assert_eq(d.shape.h, 32);
    cr_assert_eq(d.shape.w, 32);
    cr_assert_eq(d.labels[0], 3);
    cr_assert_eq(d.labels[1], 9);
    /* record 1, green plane (c = 1), row 2, column 5: byte 1024 + 2*32 + 5 of its pixels */
    const int k = 1024 + 2 * 32 + 5;
    cr_assert_eq(d.pixels[3072 + k], (uint8_t)((7 + k) % 251));
    cr_assert_str_eq(d.class_names[9], "truck");
    uint8_t img[3072];
    ck_dataset_image(&d, 1, img);
    cr_assert_eq(img[k], (uint8_t)((7 + k) % 251));
    ck_dataset_free(&d);
    free(b);
}

Test(data, cifar_parse_rejects_bad_sizes_and_labels)
{
    const int labels[2] = {0, 10};
    uint8_t *b = cifar_records(2, labels);
    struct ck_dataset d;
    char msg[256] = "";
    cr_assert_eq(ck_cifar10_parse(b, 0, "empty", &d, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert_eq(ck_cifar10_parse(b, 3073 + 100, "cut", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "cut") && strstr(msg, "3073"), "%s", msg);
    cr_assert_eq(ck_cifar10_parse(b, 2 * 3073, "lab", &d, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "label 10"), "%s", msg);
    cr_assert_null(d.pixels);
    free(b);
}

static void write_cifar_dir(int per_file, int bad_file, size_t cut)
{
    static const char *const names[] = {"data_batch_1.bin", "data_batch_2.bin",
                                        "data_batch_3.bin", "data_batch_4.bin",
                                        "data_batch_5.bin", "test_batch.bin"};
    int labels[8];
    for (int f = 0; f < 6; f++) {
        for (int r = 0; r < per_file; r++)
            labels[r] = (f + r) % 10;
        uint8_t *b = cifar_records(per_file, labels);
        size_t len = (size_t)per_file * 3073;
        write_bytes(path_of(names[f]), b, f == bad_file ? len - cut : len, 0);
        free(b);
    }
}

Test(data, cifar_load_joins_five_batches)
{
    write_cifar_dir(2, -1, 0);
    struct ck_dataset tr, te;
    char msg[256];
    cr_assert_eq(ck_cifar10_load(dir, 1, &tr, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(tr.n, 10);
    for (int f = 0; f < 5; f++)
        for (int r = 0; r < 2; r++)
            cr_assert_eq(tr.labels[f * 2 + r], (f + r) % 10);
    cr_assert_eq(ck_cifar10_load(dir, 0, &te, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(te.n, 2);
    cr_assert_eq(te.labels[1], (5 + 1) % 10);
    ck_dataset_free(&tr);
    ck_dataset_free(&te);
}

Test(data, cifar_load_truncated_and_missing)
{
    write_cifar_dir(2, 2, 1);
    struct ck_dataset d;
    char msg[512];
    cr_assert_eq(ck_cifar10_load(dir, 1, &d, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "data_batch_3.bin"), "%s", msg);
    remove(path_of("data_batch_4.bin"));
    write_cifar_dir(2, -1, 0);
    remove(path_of("data_batch_4.bin"));
    cr_assert_eq(ck_cifar10_load(dir, 1, &d, msg, sizeof msg), CK_ERR_IO);
    cr_assert(strstr(msg, "data_batch_4.bin"), "%s", msg);
    cr_assert_eq(ck_dataset_load("cifar10", NULL, 1, NULL, &d, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
}

/* ---- IDX ------------------------------------------------------------------------------ */

/* IDX ubyte file with dims; payload byte i = (i * 3 + 1) % 256 (labels: i % 10). */
static size_t idx_bytes(uint8_t *buf, int ndim, const uint32_t *dims, int labels)
{
    size_t o = 0, n = 1;
    buf[o++] = 0, buf[o++] = 0, buf[o++] = 0x08, buf[o++] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++) {
        buf[o++] = (uint8_t)(dims[d] >> 24), buf[o++] = (uint8_t)(dims[d] >> 16);
        buf[o++] = (uint8_t)(dims[d] >> 8), buf[o++] = (uint8_t)dims[d];
        n *= dims[d];
    }
    for (size_t i = 0; i < n; i++)
        buf[o++] = labels ? (uint8_t)(i % 10) : (uint8_t)((i * 3 + 1) % 256);
    return o;
}

static uint8_t img_buf[4096], lab_buf[256];
static size_t img_len, lab_len;

static void make_idx(uint32_t n, uint32_t rows, uint32_t cols)
{
    const uint32_t idims[3] = {n, rows, cols}, ldims[1] = {n};
    img_len = idx_bytes(img_buf, 3, idims, 0);
    lab_len = idx_bytes(lab_buf, 1, ldims, 1);
}

Test(data, idx_parse_values)
{
    make_idx(5, 3, 4);
    struct ck_dataset d;
    char msg[256];
    cr_assert_eq(ck_idx_parse(img_buf, img_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_OK, "%s", msg);
    cr_assert_eq(d.n, 5);
    cr_assert_eq(d.shape.c, 1);
    cr_assert_eq(d.shape.h, 3);
    cr_assert_eq(d.shape.w, 4);
    cr_assert_eq(d.labels[4], 4);
    /* image 2, row 1, column 3 = payload byte 2*12 + 1*4 + 3 = 31 -> (31*3+1) % 256 */
    cr_assert_eq(d.pixels[31], (uint8_t)((31 * 3 + 1) % 256));
    ck_dataset_free(&d);
}

Test(data, idx_rejections)
{
    struct ck_dataset d;
    char msg[256] = "";
    make_idx(5, 3, 4);
    /* truncated payload, trailing byte */
    cr_assert_eq(ck_idx_parse(img_buf, img_len - 1, lab_buf, lab_len, 10, "t", &d, msg,
                              sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "truncated"), "%s", msg);
    cr_assert_eq(ck_idx_parse(img_buf, img_len + 1, lab_buf, lab_len, 10, "t", &d, msg,
                              sizeof msg), CK_ERR_CORRUPT_DATA);
    /* truncated header */
    cr_assert_eq(ck_idx_parse(img_buf, 9, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    /* bad magic, wrong type, wrong dimension count */
    img_buf[1] = 1;
    cr_assert_eq(ck_idx_parse(img_buf, img_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    img_buf[1] = 0, img_buf[2] = 0x0D;
    cr_assert_eq(ck_idx_parse(img_buf, img_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "0x0d"), "%s", msg);
    img_buf[2] = 0x08;
    cr_assert_eq(ck_idx_parse(lab_buf, lab_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    /* label out of range */
    lab_buf[8 + 3] = 10;
    cr_assert_eq(ck_idx_parse(img_buf, img_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "label 10"), "%s", msg);
    /* count mismatch: 4 labels for 5 images */
    const uint32_t ld[1] = {4};
    lab_len = idx_bytes(lab_buf, 1, ld, 1);
    cr_assert_eq(ck_idx_parse(img_buf, img_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "4 labels") && strstr(msg, "5 images"), "%s", msg);
    /* zero images */
    make_idx(0, 3, 4);
    cr_assert_eq(ck_idx_parse(img_buf, img_len, lab_buf, lab_len, 10, "t", &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
}

Test(data, idx_gzip_and_raw_files_agree)
{
    make_idx(6, 2, 5);
    write_bytes(path_of("img.gz"), img_buf, img_len, 1);
    write_bytes(path_of("lab.gz"), lab_buf, lab_len, 1);
    write_bytes(path_of("img.raw"), img_buf, img_len, 0);
    write_bytes(path_of("lab.raw"), lab_buf, lab_len, 0);
    struct ck_dataset a, b;
    char msg[256];
    cr_assert_eq(ck_idx_load(path_of("img.gz"), path_of("lab.gz"), 10, &a, msg, sizeof msg),
                 CK_OK, "%s", msg);
    cr_assert_eq(ck_idx_load(path_of("img.raw"), path_of("lab.raw"), 10, &b, msg, sizeof msg),
                 CK_OK, "%s", msg);
    cr_assert_eq(a.n, 6);
    cr_assert_eq(memcmp(a.pixels, img_buf + 16, 60), 0);
    cr_assert_eq(memcmp(b.pixels, img_buf + 16, 60), 0);
    cr_assert_eq(memcmp(a.labels, b.labels, 6), 0);
    ck_dataset_free(&a);
    ck_dataset_free(&b);
}

Test(data, idx_truncated_gzip_is_corrupt)
{
    make_idx(40, 8, 8);
    write_bytes(path_of("img.gz"), img_buf, img_len, 1);
    write_bytes(path_of("lab.gz"), lab_buf, lab_len, 1);
    FILE *f = fopen(path_of("img.gz"), "rb");
    uint8_t z[8192];
    size_t zn = fread(z, 1, sizeof z, f);
    fclose(f);
    write_bytes(path_of("img.gz"), z, zn - 12, 0); /* cut the deflate end and trailer */
    struct ck_dataset d;
    char msg[256] = "";
    cr_assert_eq(ck_idx_load(path_of("img.gz"), path_of("lab.gz"), 10, &d, msg, sizeof msg),
                 CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "img.gz"), "%s", msg);
    cr_assert_eq(ck_idx_load(path_of("none.gz"), path_of("lab.gz"), 10, &d, msg, sizeof msg),
                 CK_ERR_IO);
    cr_assert(strstr(msg, "none.gz"), "%s", msg);
}

Test(data, load_fashion_mnist_by_name)
{
    make_idx(7, 28, 28 / 2); /* any shape works; the files decide */
    write_bytes(path_of("train-images-idx3-ubyte.gz"), img_buf, img_len, 1);
    write_bytes(path_of("train-labels-idx1-ubyte.gz"), lab_buf, lab_len, 1);
    make_idx(3, 28, 14);
    write_bytes(path_of("t10k-images-idx3-ubyte"), img_buf, img_len, 0); /* raw also works */
    write_bytes(path_of("t10k-labels-idx1-ubyte"), lab_buf, lab_len, 0);
    struct ck_dataset tr, te;
    char msg[512];
    cr_assert_eq(ck_dataset_load("fashion-mnist", dir, 1, NULL, &tr, msg, sizeof msg), CK_OK,
                 "%s", msg);
    cr_assert_eq(ck_dataset_load("fashion-mnist", dir, 0, NULL, &te, msg, sizeof msg), CK_OK,
                 "%s", msg);
    cr_assert_eq(tr.n, 7);
    cr_assert_eq(te.n, 3);
    cr_assert_str_eq(tr.name, "fashion-mnist");
    cr_assert_str_eq(tr.class_names[9], "Ankle boot");
    ck_dataset_free(&tr);
    cr_assert_eq(ck_dataset_load("imagenet", dir, 1, NULL, &tr, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "imagenet"), "%s", msg);
    ck_dataset_free(&te);
}

/* ---- synthetic, statistics, batches ------------------------------------------------------- */

Test(data, synthetic_is_a_pure_function_of_seed_and_index)
{
    struct ck_shape s = {3, 8, 6};
    struct ck_dataset a, b, c;
    char msg[256];
    cr_assert_eq(ck_dataset_synthetic(s, 10, 100, 7, 0, &a, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_dataset_synthetic(s, 10, 100, 7, 50, &b, msg, sizeof msg), CK_OK);
    cr_assert_eq(ck_dataset_synthetic(s, 10, 100, 8, 0, &c, msg, sizeof msg), CK_OK);
    uint8_t x[144], y[144], z[144];
    int seen[10] = {0}, differ = 0;
    for (size_t i = 0; i < 100; i++) {
        int l = ck_dataset_label(&a, i);
        cr_assert(l >= 0 && l < 10);
        seen[l] = 1;
    }
    for (int k = 0; k < 10; k++)
        cr_assert(seen[k], "class %d never drawn in 100 records", k);
    ck_dataset_image(&a, 60, x);
    ck_dataset_image(&b, 10, y); /* same stream position 60 */
    ck_dataset_image(&c, 60, z);
    cr_assert_eq(memcmp(x, y, sizeof x), 0);
    cr_assert_eq(ck_dataset_label(&a, 60), ck_dataset_label(&b, 10));
    for (int k = 0; k < 144; k++)
        differ += x[k] != z[k];
    cr_assert_gt(differ, 100);
    cr_assert_null(a.pixels);
    ck_dataset_free(&a);
    ck_dataset_free(&b);
    ck_dataset_free(&c);
    struct ck_shape big = {4, 100, 100};
    cr_assert_eq(ck_dataset_synthetic(big, 10, 1, 1, 0, &a, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
}

/* The documented recipe (data_synthetic.c), written out in fp64 with the file's stream
 * constants: label = hash(seed, 'SYNL', offset + i) mod classes; pixel = clamp(round(128 +
 * 70 sin(2 pi (fx x / W + fy y / H) + phase)) + hash(seed, 'SYNN', base + k) mod 97 - 48)
 * with fy, fx, phase from hash(seed, 'SYNP', 8 label + c). */
Test(data, synthetic_pixels_follow_the_definition)
{
    const struct ck_shape s = {2, 5, 7};
    const uint64_t seed = 7, offset = 3;
    struct ck_dataset d;
    char msg[256];
    cr_assert_eq(ck_dataset_synthetic(s, 13, 40, seed, offset, &d, msg, sizeof msg), CK_OK);
    for (size_t i = 0; i < 40; i++) {
        const int label = (int)(ck_rng_hash(seed, 0x53594e4c, offset + i) % 13);
        cr_assert_eq(ck_dataset_label(&d, i), label);
        uint8_t img[70];
        ck_dataset_image(&d, i, img);
        for (int c = 0; c < 2; c++) {
            const uint64_t p = ck_rng_hash(seed, 0x53594e50, (uint64_t)label * 8 + (uint64_t)c);
            const double fy = (double)(p % 4), fx = (double)((p >> 8) % 4 + 1);
            const double phase = (double)((p >> 16) % 1000) * 6.283185307179586 / 1000.0;
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 7; x++) {
                    const int k = (c * 5 + y) * 7 + x;
                    const double wave = sin(6.283185307179586 * (fx * x / 7.0 + fy * y / 5.0) + phase);
                    const uint64_t r = ck_rng_hash(seed, 0x53594e4e, (offset + i) * 70 + (uint64_t)k);
                    long v = lrint(128.0 + 70.0 * wave) + (long)(r % 97) - 48;
                    v = v < 0 ? 0 : v > 255 ? 255 : v;
                    /* the sine may round differently in its last bit: allow 1 */
                    cr_assert_leq(labs(v - (long)img[k]), 1, "record %zu value %d: %d vs %ld", i,
                                  k, img[k], v);
                }
        }
    }
    ck_dataset_free(&d);
}

Test(data, channel_stats_from_definition)
{
    /* 2 images of 1x1x2 (c = 2 planes of one pixel): channel 0 = {0, 255}, channel 1 =
     * {51, 51}. mean0 = 0.5, std0 = 0.5 (population); mean1 = 0.2, std1 = 0 -> 1. */
    uint8_t px[4] = {0, 51, 255, 51}, lab[2] = {0, 1};
    struct ck_dataset d = {.n = 2, .shape = {2, 1, 1}, .classes = 2, .pixels = px,
                           .labels = lab};
    struct ck_normalize nz;
    cr_assert_eq(ck_dataset_stats(&d, &nz), CK_OK);
    cr_assert_float_eq(nz.mean[0], 0.5f, 1e-7);
    cr_assert_float_eq(nz.std[0], 0.5f, 1e-7);
    cr_assert_float_eq(nz.mean[1], 0.2f, 1e-7);
    cr_assert_float_eq(nz.std[1], 1.0f, 1e-7);
}

Test(data, batch_normalises_per_channel)
{
    uint8_t px[8] = {0, 51, 102, 255, /* image 0: c0 = {0, 51}, c1 = {102, 255} */
                     255, 0, 51, 51};
    uint8_t lab[2] = {4, 2};
    struct ck_dataset d = {.n = 2, .shape = {2, 1, 2}, .classes = 5, .pixels = px,
                           .labels = lab};
    struct ck_normalize nz = {.channels = 2, .mean = {0.2f, 0.4f}, .std = {0.5f, 0.25f}};
    const uint32_t idx[2] = {1, 0};
    float x[8];
    int y[2];
    ck_dataset_batch(&d, idx, 2, &nz, NULL, 0, 0, x, y);
    cr_assert_eq(y[0], 2);
    cr_assert_eq(y[1], 4);
    /* slot 0 = image 1: (255/255 - 0.2)/0.5 = 1.6, (0 - 0.2)/0.5 = -0.4,
     * (51/255 - 0.4)/0.25 = -0.8, same */
    const double want[8] = {1.6, -0.4, -0.8, -0.8, -0.4, 0.0, 0.0, 2.4};
    for (int i = 0; i < 8; i++)
        cr_assert(fabs(x[i] - want[i]) < 1e-6, "x[%d] = %g, want %g", i, x[i], want[i]);
}

/* Reference crop/flip of a 1-channel h x w image: out(y, x) = in(y + dy - p, x' + dx - p)
 * with x' = flip ? w-1-x : x, zero outside. */
static void ref_aug(const uint8_t *in, int h, int w, int p, int dy, int dx, int flip, float *out)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sy = y + dy - p, sx = (flip ? w - 1 - x : x) + dx - p;
            out[y * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0.0f : (float)in[sy * w + sx];
        }
}

Test(data, augmentation_is_a_crop_or_flip_and_seeded)
{
    uint8_t px[20];
    for (int i = 0; i < 20; i++)
        px[i] = (uint8_t)(10 + i * 11);
    uint8_t lab[1] = {0};
    struct ck_dataset d = {.n = 1, .shape = {1, 4, 5}, .classes = 1, .pixels = px, .labels = lab};
    struct ck_normalize raw = {.channels = 1, .mean = {0.0f}, .std = {1.0f / 255.0f}};
    struct ck_augment aug = {.crop_pad = 1, .flip = 1};
    int seen[3][3][2] = {{{0}}};
    uint32_t idx[64] = {0};
    static float x[64 * 20];
    int y[64];
    ck_dataset_batch(&d, idx, 64, &raw, &aug, 99, 1000, x, y);
    for (int j = 0; j < 64; j++) {
        int found = 0;
        for (int dy = 0; dy < 3 && !found; dy++)
            for (int dx = 0; dx < 3 && !found; dx++)
                for (int f = 0; f < 2 && !found; f++) {
                    float r[20];
                    ref_aug(px, 4, 5, 1, dy, dx, f, r);
                    int same = 1;
                    for (int k = 0; k < 20; k++)
                        same &= fabsf(r[k] - x[j * 20 + k]) < 1e-3f;
                    if (same) {
                        seen[dy][dx][f]++;
                        found = 1;
                    }
                }
        cr_assert(found, "slot %d is not a 1-pixel crop/flip of the image", j);
    }
    int kinds = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            kinds += (seen[a][b][0] > 0) + (seen[a][b][1] > 0);
    cr_assert_geq(kinds, 12, "only %d of 18 crop/flip choices in 64 draws", kinds);
    /* slot j depends on draw base + j only: slot 5 alone with base 1005 is the same */
    float one[20];
    ck_dataset_batch(&d, idx, 1, &raw, &aug, 99, 1005, one, y);
    cr_assert_eq(memcmp(one, x + 5 * 20, sizeof one), 0);
}
