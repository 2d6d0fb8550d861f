/* test_npy.c - .npy reading and writing (ck_npy_read / ck_npy_write, io.h).
 *
 * Every input file is built byte by byte here from the NumPy format specification
 * (magic, version, little-endian header length, dict text, raw data), so the reader is
 * never checked against its own writer alone; malformed files cover each rejection rule.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convkit/convkit.h"
#include "files.h"

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_npy"), 0);
}

static void remove_dir(void)
{
    ckt_tmpdir_remove(dir);
}

TestSuite(npy, .init = make_dir, .fini = remove_dir);

static int count_entries(void)
{
    return ckt_dir_count(dir, NULL);
}

static const char *path_of(const char *name)
{
    return ckt_path(dir, name);
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* A .npy file: version major.0, the given header dict text (padded with spaces and "\n"
 * to a multiple of 64 as NumPy does), then n_data raw bytes. Returns the file size. */
static size_t make_npy(const char *path, int major, const char *dict, const void *data,
                       size_t n_data)
{
    unsigned char buf[4096];
    size_t pre = major == 1 ? 10 : 12;
    size_t dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    cr_assert(total + n_data <= sizeof buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    if (major > 1)
        buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (n_data)
        memcpy(buf + total, data, n_data);
    write_bytes(path, buf, total + n_data);
    return total + n_data;
}

/* Read path expecting failure with status want and a message naming path and needle. */
static void expect_reject(const char *path, enum ck_status want, const char *needle)
{
    struct ck_array a;
    char msg[512] = "";
    enum ck_status st = ck_npy_read(path, &a, msg, sizeof msg);
    cr_expect_eq(st, want, "%s: got %s (%s), want %s", path, ck_status_str(st), msg,
                 ck_status_str(want));
    cr_expect_null(a.data, "no data on failure");
    cr_expect_not_null(strstr(msg, path), "message names the file: %s", msg);
    cr_expect_not_null(strstr(msg, needle), "message mentions '%s': %s", needle, msg);
    cr_expect_null(strchr(msg, '\n'), "one line: %s", msg);
}

Test(npy, reads_handmade_f4_and_f8)
{
    const float f[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
    make_npy(path_of("f4.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
             f, sizeof f);
    struct ck_array a;
    char msg[256] = "";
    cr_assert_eq(ck_npy_read(path_of("f4.npy"), &a, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(a.ndim, 2);
    cr_expect_eq(a.shape[0], 2);
    cr_expect_eq(a.shape[1], 3);
    cr_expect_eq(ck_array_numel(&a), 6);
    cr_expect_eq(memcmp(a.data, f, sizeof f), 0);
    cr_expect_eq((uintptr_t)a.data % 64, 0, "64-byte aligned");
    ck_array_free(&a);
    cr_expect_null(a.data);

    /* float64 converts to the nearest float32; key order and quotes may vary */
    const double d[3] = {0.1, -1e10, 123456789.0};
    make_npy(path_of("f8.npy"), 1,
             "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<f8\"}", d, sizeof d);
    cr_assert_eq(ck_npy_read(path_of("f8.npy"), &a, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(a.ndim, 1);
    cr_expect_eq(a.shape[0], 3);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(a.data[i], (float)d[i], "element %d", i);
    ck_array_free(&a);
}

Test(npy, reads_versions_2_and_3_and_scalars)
{
    const float one = 42.0f;
    for (int major = 2; major <= 3; major++) {
        make_npy(path_of("v.npy"), major,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &one, 4);
        struct ck_array a;
        char msg[256] = "";
        cr_assert_eq(ck_npy_read(path_of("v.npy"), &a, msg, sizeof msg), CK_OK, "v%d: %s",
                     major, msg);
        cr_expect_eq(a.ndim, 0, "a 0-d array");
        cr_expect_eq(ck_array_numel(&a), 1);
        cr_expect_eq(a.data[0], 42.0f);
        ck_array_free(&a);
    }
}

Test(npy, empty_array_reads_with_non_null_data)
{
    make_npy(path_of("e.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }",
             NULL, 0);
    struct ck_array a;
    char msg[256] = "";
    cr_assert_eq(ck_npy_read(path_of("e.npy"), &a, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(ck_array_numel(&a), 0);
    cr_expect_not_null(a.data);
    ck_array_free(&a);
}

Test(npy, write_header_is_padded_and_exact)
{
    const float v[6] = {1, 2, 3, 4, 5, 6};
    const size_t shape[2] = {2, 3};
    char msg[256] = "";
    cr_assert_eq(ck_npy_write(path_of("w.npy"), v, 2, shape, msg, sizeof msg), CK_OK, "%s", msg);
    unsigned char buf[256];
    FILE *f = fopen(path_of("w.npy"), "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_eq(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0, "magic and version 1.0");
    size_t hlen = buf[8] | (size_t)buf[9] << 8;
    cr_expect_eq((10 + hlen) % 64, 0, "preamble + header is a multiple of 64 (%zu)", 10 + hlen);
    cr_expect_eq(buf[10 + hlen - 1], '\n', "header ends with a newline");
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    cr_expect_eq(memcmp(buf + 10, dict, strlen(dict)), 0, "header is NumPy's dict");
    for (size_t i = 10 + strlen(dict); i < 10 + hlen - 1; i++)
        cr_expect_eq(buf[i], ' ', "padding is spaces (byte %zu)", i);
    cr_assert_eq(n, 10 + hlen + sizeof v, "file is header + 24 data bytes");
    cr_expect_eq(memcmp(buf + 10 + hlen, v, sizeof v), 0, "little-endian float32 data");
}

Test(npy, round_trip_every_ndim)
{
    size_t shape[8] = {2, 1, 3, 1, 2, 1, 1, 2};
    float data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (float)i * 0.5f - 7.25f;
    for (int ndim = 0; ndim <= 8; ndim++) {
        char msg[256] = "";
        cr_assert_eq(ck_npy_write(path_of("r.npy"), data, ndim, shape, msg, sizeof msg), CK_OK,
                     "ndim %d: %s", ndim, msg);
        struct ck_array a;
        cr_assert_eq(ck_npy_read(path_of("r.npy"), &a, msg, sizeof msg), CK_OK, "ndim %d: %s",
                     ndim, msg);
        cr_expect_eq(a.ndim, ndim);
        size_t numel = 1;
        for (int i = 0; i < ndim; i++) {
            cr_expect_eq(a.shape[i], shape[i]);
            numel *= shape[i];
        }
        cr_expect_eq(ck_array_numel(&a), numel);
        cr_expect_eq(memcmp(a.data, data, numel * sizeof(float)), 0, "ndim %d", ndim);
        ck_array_free(&a);
    }
    cr_expect_eq(count_entries(), 1, "no temporary files left behind");
}

Test(npy, rejects_malformed_files)
{
    const float f[4] = {1, 2, 3, 4};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";

    write_bytes(path_of("magic.npy"), "\x93NUMPZ\x01\x00\x10\x00{}", 12);
    expect_reject(path_of("magic.npy"), CK_ERR_CORRUPT_DATA, "bad magic");
    write_bytes(path_of("text.npy"), "hello", 5);
    expect_reject(path_of("text.npy"), CK_ERR_CORRUPT_DATA, "bad magic");
    write_bytes(path_of("empty.npy"), "", 0);
    expect_reject(path_of("empty.npy"), CK_ERR_CORRUPT_DATA, "bad magic");

    /* truncated header: file ends after the magic, in the length, in the dict */
    write_bytes(path_of("th1.npy"), "\x93NUMPY", 6);
    expect_reject(path_of("th1.npy"), CK_ERR_CORRUPT_DATA, "truncated header");
    write_bytes(path_of("th2.npy"), "\x93NUMPY\x01\x00\x76", 9);
    expect_reject(path_of("th2.npy"), CK_ERR_CORRUPT_DATA, "truncated header");
    size_t full = make_npy(path_of("full.npy"), 1, ok, f, sizeof f);
    unsigned char buf[256];
    FILE *in = fopen(path_of("full.npy"), "rb");
    cr_assert_eq(fread(buf, 1, full, in), full);
    fclose(in);
    write_bytes(path_of("th3.npy"), buf, 40);
    expect_reject(path_of("th3.npy"), CK_ERR_CORRUPT_DATA, "truncated header");

    /* truncated data and trailing bytes */
    write_bytes(path_of("td.npy"), buf, full - 3);
    expect_reject(path_of("td.npy"), CK_ERR_CORRUPT_DATA, "truncated data");
    buf[full] = 0;
    write_bytes(path_of("tail.npy"), buf, full + 1);
    expect_reject(path_of("tail.npy"), CK_ERR_CORRUPT_DATA, "trailing bytes");

    /* valid files of a kind this reader does not take */
    make_npy(path_of("i4.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }",
             f, sizeof f);
    expect_reject(path_of("i4.npy"), CK_ERR_UNSUPPORTED, "'<i4'");
    make_npy(path_of("be.npy"), 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
             f, sizeof f);
    expect_reject(path_of("be.npy"), CK_ERR_UNSUPPORTED, "'>f4'");
    make_npy(path_of("fo.npy"), 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
             f, sizeof f);
    expect_reject(path_of("fo.npy"), CK_ERR_UNSUPPORTED, "fortran_order");
    make_npy(path_of("st.npy"), 1,
             "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", f, sizeof f);
    expect_reject(path_of("st.npy"), CK_ERR_UNSUPPORTED, "descr");
    make_npy(path_of("v4.npy"), 1, ok, f, sizeof f);
    FILE *v4 = fopen(path_of("v4.npy"), "r+b");
    fseek(v4, 6, SEEK_SET);
    fputc(4, v4);
    fclose(v4);
    expect_reject(path_of("v4.npy"), CK_ERR_UNSUPPORTED, "version 4.0");
    make_npy(path_of("d9.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }", f,
             sizeof f);
    expect_reject(path_of("d9.npy"), CK_ERR_UNSUPPORTED, "more than 8 dimensions");

    /* garbage headers */
    make_npy(path_of("g1.npy"), 1, "garbage that is not a dict", f, sizeof f);
    expect_reject(path_of("g1.npy"), CK_ERR_CORRUPT_DATA, "not a Python dict");
    make_npy(path_of("g2.npy"), 1, "['descr', '<f4']", f, sizeof f);
    expect_reject(path_of("g2.npy"), CK_ERR_CORRUPT_DATA, "not a Python dict");
    make_npy(path_of("g3.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)", f,
             sizeof f);
    expect_reject(path_of("g3.npy"), CK_ERR_CORRUPT_DATA, "malformed");
    make_npy(path_of("g4.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } x",
             f, sizeof f);
    expect_reject(path_of("g4.npy"), CK_ERR_CORRUPT_DATA, "garbage after");
    make_npy(path_of("g5.npy"), 1, "{'descr': '<f4', 'shape': (4,), }", f, sizeof f);
    expect_reject(path_of("g5.npy"), CK_ERR_CORRUPT_DATA, "fortran_order");
    make_npy(path_of("g6.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1, }", f, sizeof f);
    expect_reject(path_of("g6.npy"), CK_ERR_CORRUPT_DATA, "'extra'");
    make_npy(path_of("g7.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }",
             f, sizeof f);
    expect_reject(path_of("g7.npy"), CK_ERR_CORRUPT_DATA, "shape");
    make_npy(path_of("g8.npy"), 1, "{'descr': '<f4', 'fortran_order': maybe, 'shape': (4,), }",
             f, sizeof f);
    expect_reject(path_of("g8.npy"), CK_ERR_CORRUPT_DATA, "fortran_order");

    expect_reject(path_of("missing.npy"), CK_ERR_IO, "cannot open");
}

Test(npy, huge_shapes_fail_without_allocating)
{
    const float f[4] = {0};
    /* 2^40 * 2^40 elements overflows 64 bits; 2^20 * 2^20 fits but is not in the file */
    make_npy(path_of("o1.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }",
             f, sizeof f);
    expect_reject(path_of("o1.npy"), CK_ERR_CORRUPT_DATA, "too large");
    make_npy(path_of("o2.npy"), 1,
             "{'descr': '<f8', 'fortran_order': False, 'shape': (1048576, 1048576), }", f,
             sizeof f);
    expect_reject(path_of("o2.npy"), CK_ERR_CORRUPT_DATA, "truncated data");
    make_npy(path_of("o3.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", f,
             sizeof f);
    expect_reject(path_of("o3.npy"), CK_ERR_CORRUPT_DATA, "shape");
}

Test(npy, failed_write_leaves_nothing)
{
    const float v[2] = {1, 2};
    const size_t shape[1] = {2};
    char msg[256] = "", p[300];
    snprintf(p, sizeof p, "%s/no/such/dir/x.npy", dir);
    cr_expect_eq(ck_npy_write(p, v, 1, shape, msg, sizeof msg), CK_ERR_IO);
    cr_expect_not_null(strstr(msg, p), "%s", msg);
    /* the target is a directory: rename fails after the data was staged */
    cr_assert_eq(mkdir(path_of("adir"), 0700), 0);
    cr_expect_eq(ck_npy_write(path_of("adir"), v, 1, shape, msg, sizeof msg), CK_ERR_IO);
    cr_expect_eq(count_entries(), 1, "only the directory remains, no temporary file");
    cr_expect_eq(ck_npy_write(path_of("bad.npy"), v, 9, shape, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(count_entries(), 1);
}

Test(npy, overwrite_replaces_and_staged_discard_removes)
{
    const float a[2] = {1, 2}, b[3] = {3, 4, 5};
    size_t sa[1] = {2}, sb[1] = {3};
    char msg[256] = "", tmp[512];
    cr_assert_eq(ck_npy_write(path_of("o.npy"), a, 1, sa, msg, sizeof msg), CK_OK);
    cr_assert_eq(ck_npy_write_staged(path_of("o.npy"), b, 1, sb, tmp, sizeof tmp, msg,
                                     sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(count_entries(), 2, "target + staged temporary");
    ck_file_discard(tmp);
    cr_expect_eq(count_entries(), 1);
    struct ck_array r;
    cr_assert_eq(ck_npy_read(path_of("o.npy"), &r, msg, sizeof msg), CK_OK);
    cr_expect_eq(r.shape[0], 2, "discarded write did not touch the target");
    ck_array_free(&r);
    cr_assert_eq(ck_npy_write(path_of("o.npy"), b, 1, sb, msg, sizeof msg), CK_OK);
    cr_assert_eq(ck_npy_read(path_of("o.npy"), &r, msg, sizeof msg), CK_OK);
    cr_expect_eq(r.shape[0], 3);
    cr_expect_eq(r.data[2], 5.0f);
    ck_array_free(&r);
    cr_expect_eq(count_entries(), 1);
}

Test(npy, shape_str)
{
    char buf[64];
    size_t s[3] = {2, 3, 4};
    cr_expect_str_eq(ck_array_shape_str(0, s, buf, sizeof buf), "()");
    cr_expect_str_eq(ck_array_shape_str(1, s, buf, sizeof buf), "(2,)");
    cr_expect_str_eq(ck_array_shape_str(3, s, buf, sizeof buf), "(2, 3, 4)");
}
