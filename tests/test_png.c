/* test_png.c - PNG reading and writing (ck_png_read / ck_png_write, io.h).
 *
 * Input PNGs of every flavour (palette, palette+tRNS, 1/4/8/16-bit gray, gray+alpha, RGB,
 * RGBA, 16-bit RGB, Adam7 interlaced) are written here with libpng's own low-level API
 * from known samples; files written by convkit are decoded with libpng's simplified API.
 * Expected values follow from the PNG definition (e.g. a 16-bit sample v reads as v/257).
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convkit/convkit.h"
#include "files.h"

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_png"), 0);
}

static void remove_dir(void)
{
    ckt_tmpdir_remove(dir);
}

TestSuite(png, .init = make_dir, .fini = remove_dir);

static int count_entries(void)
{
    return ckt_dir_count(dir, NULL);
}

static const char *path_of(const char *name)
{
    return ckt_path(dir, name);
}

/* Optional chunks for write_raw. */
struct extras {
    const png_color *palette;
    int n_palette;
    const png_byte *trans;
    int n_trans;
    int interlace;
};

/* Write a PNG with libpng: rows hold packed samples exactly as PNG stores them
 * (16-bit big-endian, sub-byte samples packed MSB first). */
static void write_raw(const char *path, int w, int h, int depth, int color,
                      const unsigned char *pixels, size_t rowbytes, const struct extras *x)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    if (setjmp(png_jmpbuf(png)))
        cr_assert_fail("libpng failed to write the test image %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 x && x->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (x && x->palette)
        png_set_PLTE(png, info, x->palette, x->n_palette);
    if (x && x->trans)
        png_set_tRNS(png, info, x->trans, x->n_trans, NULL);
    png_bytep rows[64];
    cr_assert(h <= 64);
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)pixels + (size_t)y * rowbytes;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    cr_assert_eq(fclose(f), 0);
}

static struct ck_image read_ok(const char *path)
{
    struct ck_image img;
    char msg[256] = "";
    enum ck_status st = ck_png_read(path, &img, msg, sizeof msg);
    cr_assert_eq(st, CK_OK, "%s: %s", path, msg);
    return img;
}

static void expect_plane(const struct ck_image *img, int c, const double *want)
{
    size_t plane = (size_t)img->width * img->height;
    for (size_t i = 0; i < plane; i++)
        cr_expect_float_eq(img->data[c * plane + i], want[i], 1e-4,
                           "channel %d pixel %zu: %g vs %g", c, i, img->data[c * plane + i],
                           want[i]);
}

Test(png, palette_with_and_without_transparency)
{
    const png_color pal[3] = {{10, 20, 30}, {200, 100, 50}, {0, 255, 0}};
    const unsigned char idx[2 * 3] = {0, 1, 2, 2, 1, 0};
    const png_byte trans[3] = {255, 0, 128};
    for (int t = 0; t < 2; t++) {
        struct extras x = {pal, 3, t ? trans : NULL, t ? 3 : 0, 0};
        write_raw(path_of("pal.png"), 3, 2, 8, PNG_COLOR_TYPE_PALETTE, idx, 3, &x);
        struct ck_image img = read_ok(path_of("pal.png"));
        cr_expect_eq(img.channels, 3, "palette images are colour");
        cr_expect_eq(img.width, 3);
        cr_expect_eq(img.height, 2);
        double r[6], g[6], b[6];
        for (int i = 0; i < 6; i++) {
            r[i] = pal[idx[i]].red;
            g[i] = pal[idx[i]].green;
            b[i] = pal[idx[i]].blue;
        }
        expect_plane(&img, 0, r);
        expect_plane(&img, 1, g);
        expect_plane(&img, 2, b);
        ck_image_free(&img);
    }
}

Test(png, sixteen_bit_keeps_precision)
{
    /* gray 16-bit, 2x2: 0, 100*257, 65535, 1000 -> v/257 */
    const unsigned char g16[8] = {0x00, 0x00, 0x64, 0x64, 0xff, 0xff, 0x03, 0xe8};
    write_raw(path_of("g16.png"), 2, 2, 16, PNG_COLOR_TYPE_GRAY, g16, 4, NULL);
    struct ck_image img = read_ok(path_of("g16.png"));
    cr_expect_eq(img.channels, 1);
    const double want[4] = {0, 100, 255, 1000.0 / 257};
    expect_plane(&img, 0, want);
    ck_image_free(&img);

    /* RGB 16-bit, 1x1: R = 0x0102, G = 0xfffe, B = 0x8080 */
    const unsigned char c16[6] = {0x01, 0x02, 0xff, 0xfe, 0x80, 0x80};
    write_raw(path_of("c16.png"), 1, 1, 16, PNG_COLOR_TYPE_RGB, c16, 6, NULL);
    img = read_ok(path_of("c16.png"));
    cr_expect_eq(img.channels, 3);
    const double r = 258.0 / 257, g = 65534.0 / 257, b = 32896.0 / 257;
    expect_plane(&img, 0, &r);
    expect_plane(&img, 1, &g);
    expect_plane(&img, 2, &b);
    ck_image_free(&img);
}

Test(png, low_bit_depth_gray_expands)
{
    /* 1-bit, 3x1: 1 0 1 packed MSB first = 0b10100000 -> 255 0 255 */
    const unsigned char b1[1] = {0xa0};
    write_raw(path_of("g1.png"), 3, 1, 1, PNG_COLOR_TYPE_GRAY, b1, 1, NULL);
    struct ck_image img = read_ok(path_of("g1.png"));
    const double w1[3] = {255, 0, 255};
    cr_expect_eq(img.channels, 1);
    expect_plane(&img, 0, w1);
    ck_image_free(&img);
    /* 4-bit, 2x1: 3, 15 -> 3*17, 255 */
    const unsigned char b4[1] = {0x3f};
    write_raw(path_of("g4.png"), 2, 1, 4, PNG_COLOR_TYPE_GRAY, b4, 1, NULL);
    img = read_ok(path_of("g4.png"));
    const double w4[2] = {51, 255};
    expect_plane(&img, 0, w4);
    ck_image_free(&img);
}

Test(png, alpha_is_dropped)
{
    const unsigned char ga[4] = {7, 0, 250, 255}; /* gray+alpha, 2x1 */
    write_raw(path_of("ga.png"), 2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, ga, 4, NULL);
    struct ck_image img = read_ok(path_of("ga.png"));
    cr_expect_eq(img.channels, 1, "gray+alpha reads as gray");
    const double g[2] = {7, 250};
    expect_plane(&img, 0, g);
    ck_image_free(&img);

    const unsigned char rgba[8] = {1, 2, 3, 0, 40, 50, 60, 128}; /* RGBA, 2x1 */
    write_raw(path_of("rgba.png"), 2, 1, 8, PNG_COLOR_TYPE_RGBA, rgba, 8, NULL);
    img = read_ok(path_of("rgba.png"));
    cr_expect_eq(img.channels, 3, "RGBA reads as RGB");
    const double r[2] = {1, 40}, gg[2] = {2, 50}, b[2] = {3, 60};
    expect_plane(&img, 0, r);
    expect_plane(&img, 1, gg);
    expect_plane(&img, 2, b);
    ck_image_free(&img);
}

Test(png, interlaced_rgb)
{
    enum { W = 7, H = 5 };
    unsigned char px[H * W * 3];
    for (int i = 0; i < H * W * 3; i++)
        px[i] = (unsigned char)(i * 7 % 256);
    struct extras x = {NULL, 0, NULL, 0, 1};
    write_raw(path_of("adam7.png"), W, H, 8, PNG_COLOR_TYPE_RGB, px, W * 3, &x);
    struct ck_image img = read_ok(path_of("adam7.png"));
    cr_assert_eq(img.channels, 3);
    cr_assert_eq(img.width, W);
    cr_assert_eq(img.height, H);
    for (int c = 0; c < 3; c++) {
        double want[H * W];
        for (int i = 0; i < H * W; i++)
            want[i] = px[i * 3 + c];
        expect_plane(&img, c, want);
    }
    ck_image_free(&img);
}

/* Decode a file convkit wrote with libpng's simplified API into 8-bit samples. */
static void decode_simplified(const char *path, png_uint_32 format, unsigned char *out,
                              size_t out_len, int *w, int *h, int *file_channels)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&im, path), "%s", im.message);
    *file_channels = (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    *w = (int)im.width;
    *h = (int)im.height;
    im.format = format;
    cr_assert(PNG_IMAGE_SIZE(im) <= out_len);
    cr_assert(png_image_finish_read(&im, NULL, out, 0, NULL), "%s", im.message);
}

Test(png, write_gray_rounds_and_clamps)
{
    const float v[8] = {12.4f, 12.6f, 254.7f, 300.0f, -3.0f, NAN, 128.0f, 0.49f};
    const unsigned char want[8] = {12, 13, 255, 255, 0, 0, 128, 0};
    char msg[256] = "";
    cr_assert_eq(ck_png_write(path_of("g.png"), v, 1, 2, 4, msg, sizeof msg), CK_OK, "%s", msg);
    unsigned char got[8];
    int w, h, ch;
    decode_simplified(path_of("g.png"), PNG_FORMAT_GRAY, got, sizeof got, &w, &h, &ch);
    cr_expect_eq(w, 4);
    cr_expect_eq(h, 2);
    cr_expect_eq(ch, 1, "written as gray");
    for (int i = 0; i < 8; i++)
        cr_expect_eq(got[i], want[i], "pixel %d: %d vs %d", i, got[i], want[i]);
    cr_expect_eq(count_entries(), 1, "no temporary file left");
}

Test(png, rgb_round_trip)
{
    enum { W = 5, H = 3 };
    float planes[3 * H * W];
    for (int i = 0; i < 3 * H * W; i++)
        planes[i] = (float)((i * 37) % 256);
    char msg[256] = "";
    cr_assert_eq(ck_png_write(path_of("c.png"), planes, 3, H, W, msg, sizeof msg), CK_OK, "%s",
                 msg);
    unsigned char got[3 * H * W];
    int w, h, ch;
    decode_simplified(path_of("c.png"), PNG_FORMAT_RGB, got, sizeof got, &w, &h, &ch);
    cr_expect_eq(ch, 3);
    for (int y = 0; y < H; y++) /* interleaved file vs planar input */
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++)
                cr_expect_eq(got[(y * W + x) * 3 + c], planes[c * H * W + y * W + x]);
    struct ck_image img = read_ok(path_of("c.png"));
    cr_expect_eq(img.channels, 3);
    cr_expect_eq(memcmp(img.data, planes, sizeof planes), 0, "exact round trip");
    ck_image_free(&img);
}

static void expect_reject(const char *path, enum ck_status want, const char *needle)
{
    struct ck_image img;
    char msg[256] = "";
    enum ck_status st = ck_png_read(path, &img, msg, sizeof msg);
    cr_expect_eq(st, want, "%s: %s (%s)", path, ck_status_str(st), msg);
    cr_expect_null(img.data);
    cr_expect_not_null(strstr(msg, path), "message names the file: %s", msg);
    cr_expect_not_null(strstr(msg, needle), "message says '%s': %s", needle, msg);
}

static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    cr_assert(n < cap);
    return n;
}

static void spit(const char *path, const unsigned char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
}

Test(png, rejects_bad_files)
{
    spit(path_of("text.png"), (const unsigned char *)"this is not a png", 17);
    expect_reject(path_of("text.png"), CK_ERR_CORRUPT_DATA, "not a PNG");
    spit(path_of("empty.png"), (const unsigned char *)"", 0);
    expect_reject(path_of("empty.png"), CK_ERR_CORRUPT_DATA, "not a PNG");
    expect_reject(path_of("missing.png"), CK_ERR_IO, "cannot open");

    enum { W = 16, H = 16 };
    unsigned char px[W * H];
    for (int i = 0; i < W * H; i++)
        px[i] = (unsigned char)(i * 31 + (i >> 3));
    write_raw(path_of("ok.png"), W, H, 8, PNG_COLOR_TYPE_GRAY, px, W, NULL);
    static unsigned char buf[1 << 16];
    size_t n = slurp(path_of("ok.png"), buf, sizeof buf);
    spit(path_of("half.png"), buf, n / 2);
    expect_reject(path_of("half.png"), CK_ERR_CORRUPT_DATA, "truncated");
    spit(path_of("sig.png"), buf, 12);
    expect_reject(path_of("sig.png"), CK_ERR_CORRUPT_DATA, "truncated");
    spit(path_of("noend.png"), buf, n - 12); /* IEND chunk missing */
    expect_reject(path_of("noend.png"), CK_ERR_CORRUPT_DATA, "truncated");

    /* flip one byte inside the IDAT data: the chunk's CRC no longer matches */
    size_t pos = 8;
    while (pos + 8 <= n && memcmp(buf + pos + 4, "IDAT", 4) != 0) {
        size_t len = (size_t)buf[pos] << 24 | (size_t)buf[pos + 1] << 16 |
                     (size_t)buf[pos + 2] << 8 | buf[pos + 3];
        pos += 12 + len;
    }
    cr_assert(pos + 10 < n, "found IDAT");
    buf[pos + 9] ^= 0x55;
    spit(path_of("crc.png"), buf, n);
    expect_reject(path_of("crc.png"), CK_ERR_CORRUPT_DATA, "corrupt PNG");
}

Test(png, write_rejects_bad_arguments_and_leaves_nothing)
{
    const float v[4] = {0};
    char msg[256] = "", p[300];
    cr_expect_eq(ck_png_write(path_of("two.png"), v, 2, 1, 2, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT, "2 channels cannot be written");
    cr_expect_eq(ck_png_write(path_of("zero.png"), v, 1, 0, 2, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
    snprintf(p, sizeof p, "%s/nodir/x.png", dir);
    cr_expect_eq(ck_png_write(p, v, 1, 2, 2, msg, sizeof msg), CK_ERR_IO);
    cr_expect_not_null(strstr(msg, p), "%s", msg);
    cr_expect_eq(count_entries(), 0);
}

Test(png, shipped_assets)
{
    struct ck_image img = read_ok(CK_SOURCE_DIR "/assets/camera.png");
    cr_expect_eq(img.channels, 1);
    cr_expect_eq(img.width, 512);
    cr_expect_eq(img.height, 512);
    ck_image_free(&img);
    img = read_ok(CK_SOURCE_DIR "/assets/chelsea.png");
    cr_expect_eq(img.channels, 3);
    cr_expect_eq(img.width, 451);
    cr_expect_eq(img.height, 300);
    ck_image_free(&img);
}
