/* png_io.c - PNG read/write through libpng into planar float images (see io.h).
 *
 * Reading normalises every PNG flavour with libpng's transforms (palette -> RGB, low bit
 * depths -> 8, tRNS -> alpha, then alpha stripped) and keeps 16-bit precision. libpng
 * reports errors by longjmp: each libpng call sequence lives in a function of its own
 * whose mutable state sits in a caller-owned struct, so nothing is lost across the jump
 * and the caller frees everything. Writes are staged (fileutil.h). No other formats.
 */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/backend.h"
#include "convkit/io.h"
#include "fileutil.h"
#include "internal.h"

#define PNG_MAX_SIDE 65535 /* refuse absurd dimensions before allocating */

/* State shared with the libpng callbacks; owned by the caller of the setjmp function. */
struct png_ctx {
    FILE *f;
    const char *path;
    char err[160]; /* libpng's message when it longjmps */
    int truncated; /* the read callback hit end of file */
};

static void on_error(png_structp png, png_const_charp text)
{
    struct png_ctx *c = png_get_error_ptr(png);
    if (c && !c->err[0])
        snprintf(c->err, sizeof c->err, "%s", text);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text)
{
    (void)png, (void)text; /* warnings (e.g. a bad optional chunk) are not errors */
}

static void on_read(png_structp png, png_bytep buf, size_t len)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (fread(buf, 1, len, c->f) != len) {
        c->truncated = !ferror(c->f);
        png_error(png, c->truncated ? "file is truncated" : "read error");
    }
}

static void on_write(png_structp png, png_bytep buf, size_t len)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (fwrite(buf, 1, len, c->f) != len)
        png_error(png, "write error");
}

static void on_flush(png_structp png)
{
    (void)png;
}

/* ---- reading ------------------------------------------------------------------------- */

struct read_state {
    png_structp png;
    png_infop info;
    unsigned char *pixels; /* interleaved rows after the transforms */
    png_bytep *rows;
    int width, height, channels, bytes_per_sample;
};

/* All libpng calls of a read; returns 0 or 1 after a libpng error (message in c->err). */
static int read_png(struct png_ctx *c, struct read_state *s)
{
    if (setjmp(png_jmpbuf(s->png)))
        return 1;
    png_set_read_fn(s->png, c, on_read);
    png_set_sig_bytes(s->png, 8);
    png_set_user_limits(s->png, PNG_MAX_SIDE, PNG_MAX_SIDE);
    png_read_info(s->png, s->info);
    int color = png_get_color_type(s->png, s->info);
    int depth = png_get_bit_depth(s->png, s->info);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(s->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(s->png);
    if (png_get_valid(s->png, s->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(s->png);
    png_set_strip_alpha(s->png);
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);
    s->width = (int)png_get_image_width(s->png, s->info);
    s->height = (int)png_get_image_height(s->png, s->info);
    s->channels = png_get_channels(s->png, s->info);
    s->bytes_per_sample = png_get_bit_depth(s->png, s->info) == 16 ? 2 : 1;
    size_t rowbytes = png_get_rowbytes(s->png, s->info);
    if (s->channels != 1 && s->channels != 3)
        png_error(s->png, "unexpected channel count after conversion");
    if (rowbytes != (size_t)s->width * s->channels * s->bytes_per_sample)
        png_error(s->png, "unexpected row size after conversion");
    s->pixels = malloc(rowbytes * (size_t)s->height);
    s->rows = malloc(sizeof *s->rows * (size_t)s->height);
    if (!s->pixels || !s->rows)
        png_error(s->png, "out of memory");
    for (int y = 0; y < s->height; y++)
        s->rows[y] = s->pixels + rowbytes * (size_t)y;
    png_read_image(s->png, s->rows);
    png_read_end(s->png, NULL);
    return 0;
}

static enum ck_status png_read_file(FILE *f, const char *path, struct ck_image *out, char *msg,
                                    size_t msg_len)
{
    unsigned char sig[8];
    size_t got = fread(sig, 1, sizeof sig, f);
    if (got != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        if (ferror(f)) {
            ck__msg(msg, msg_len, "'%s': read error: %s", path, strerror(errno));
            return CK_ERR_IO;
        }
        ck__msg(msg, msg_len, "'%s': not a PNG file (bad signature)", path);
        return CK_ERR_CORRUPT_DATA;
    }
    struct png_ctx c = {.f = f, .path = path};
    struct read_state s = {0};
    enum ck_status st = CK_OK;
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    if (!s.png || !s.info) {
        ck__msg(msg, msg_len, "'%s': out of memory (libpng)", path);
        st = CK_ERR_OUT_OF_MEMORY;
    } else if (read_png(&c, &s) != 0) {
        if (strcmp(c.err, "out of memory") == 0) {
            ck__msg(msg, msg_len, "'%s': out of memory", path);
            st = CK_ERR_OUT_OF_MEMORY;
        } else if (c.truncated) {
            ck__msg(msg, msg_len, "'%s': truncated PNG (file ends early)", path);
            st = CK_ERR_CORRUPT_DATA;
        } else if (strcmp(c.err, "read error") == 0) {
            ck__msg(msg, msg_len, "'%s': read error: %s", path, strerror(errno));
            st = CK_ERR_IO;
        } else {
            ck__msg(msg, msg_len, "'%s': corrupt PNG: %s", path, c.err);
            st = CK_ERR_CORRUPT_DATA;
        }
    }
    if (st == CK_OK) {
        size_t plane = (size_t)s.width * (size_t)s.height;
        float *data = ck_aligned_alloc(plane * (size_t)s.channels * sizeof(float));
        if (!data) {
            ck__msg(msg, msg_len, "'%s': out of memory for a %dx%d image", path, s.width,
                    s.height);
            st = CK_ERR_OUT_OF_MEMORY;
        } else {
            /* interleaved HWC bytes -> planar CHW floats; 16-bit samples are big-endian */
            const int C = s.channels, B = s.bytes_per_sample;
            for (size_t i = 0; i < plane; i++)
                for (int ch = 0; ch < C; ch++) {
                    const unsigned char *p = s.pixels + (i * (size_t)C + (size_t)ch) * (size_t)B;
                    data[(size_t)ch * plane + i] =
                        B == 1 ? (float)p[0] : (float)(((unsigned)p[0] << 8 | p[1]) / 257.0);
                }
            out->data = data;
            out->channels = C;
            out->height = s.height;
            out->width = s.width;
        }
    }
    if (s.png)
        png_destroy_read_struct(&s.png, s.info ? &s.info : NULL, NULL);
    free(s.rows);
    free(s.pixels);
    return st;
}

enum ck_status ck_png_read(const char *path, struct ck_image *out, char *msg, size_t msg_len)
{
    if (!out || !path) {
        ck__msg(msg, msg_len, "png: NULL argument");
        return CK_ERR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        ck__msg(msg, msg_len, "'%s': cannot open: %s", path, strerror(errno));
        return CK_ERR_IO;
    }
    enum ck_status st = png_read_file(f, path, out, msg, msg_len);
    fclose(f);
    return st;
}

void ck_image_free(struct ck_image *img)
{
    if (!img)
        return;
    ck_aligned_free(img->data);
    memset(img, 0, sizeof *img);
}

/* ---- writing ------------------------------------------------------------------------- */

static unsigned char to_byte(float v)
{
    if (!(v > 0.0f)) /* also NaN */
        return 0;
    if (v >= 255.0f)
        return 255;
    return (unsigned char)lrintf(v);
}

struct write_state {
    png_structp png;
    png_infop info;
    unsigned char *row;
};

static int write_png(struct png_ctx *c, struct write_state *s, const float *data, int channels,
                     int height, int width)
{
    if (setjmp(png_jmpbuf(s->png)))
        return 1;
    png_set_write_fn(s->png, c, on_write, on_flush);
    png_set_IHDR(s->png, s->info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    const size_t plane = (size_t)width * (size_t)height;
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++)
            for (int ch = 0; ch < channels; ch++)
                s->row[(size_t)x * channels + ch] =
                    to_byte(data[(size_t)ch * plane + (size_t)y * width + x]);
        png_write_row(s->png, s->row);
    }
    png_write_end(s->png, NULL);
    return 0;
}

enum ck_status ck_png_write_staged(const char *path, const float *data, int channels,
                                   int height, int width, char *tmp, size_t tmp_len, char *msg,
                                   size_t msg_len)
{
    if (tmp && tmp_len)
        tmp[0] = '\0';
    if (!path || !data || (channels != 1 && channels != 3) || height < 1 || width < 1 ||
        height > PNG_MAX_SIDE || width > PNG_MAX_SIDE) {
        ck__msg(msg, msg_len, "'%s': cannot write a %dx%d image with %d channels as PNG "
                              "(need 1 or 3 channels, sides 1..%d)",
                path ? path : "(null)", width, height, channels, PNG_MAX_SIDE);
        return CK_ERR_INVALID_ARGUMENT;
    }
    FILE *f;
    enum ck_status st = ck__stage_open(path, &f, tmp, tmp_len, msg, msg_len);
    if (st != CK_OK)
        return st;
    struct png_ctx c = {.f = f, .path = path};
    struct write_state s = {0};
    s.row = malloc((size_t)width * (size_t)channels);
    s.png = s.row ? png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning)
                  : NULL;
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    if (!s.row || !s.png || !s.info) {
        ck__msg(msg, msg_len, "'%s': out of memory", path);
        st = CK_ERR_OUT_OF_MEMORY;
    } else if (write_png(&c, &s, data, channels, height, width) != 0) {
        ck__msg(msg, msg_len, "'%s': PNG write failed: %s", path, c.err);
        st = CK_ERR_IO;
    }
    if (s.png)
        png_destroy_write_struct(&s.png, s.info ? &s.info : NULL);
    free(s.row);
    if (st != CK_OK) {
        ck__stage_abort(f, tmp);
        return st;
    }
    return ck__stage_close(f, path, tmp, msg, msg_len);
}

enum ck_status ck_png_write(const char *path, const float *data, int channels, int height,
                            int width, char *msg, size_t msg_len)
{
    char tmp[4096 + 64];
    if (path && strlen(path) + 32 > sizeof tmp) {
        ck__msg(msg, msg_len, "'%.64s...': path too long", path);
        return CK_ERR_INVALID_ARGUMENT;
    }
    enum ck_status st = ck_png_write_staged(path, data, channels, height, width, tmp,
                                            sizeof tmp, msg, msg_len);
    return st != CK_OK ? st : ck_file_commit(tmp, path, msg, msg_len);
}
