/* io.h - NumPy .npy and PNG files as float32 arrays.
 *
 * NPY: reads format versions 1.0, 2.0 and 3.0 holding little-endian float32 ('<f4') or
 * float64 ('<f8', converted to float32) in C order, 0 to 8 dimensions; writes float32
 * version 1.0 files that NumPy and PyTorch load. PNG (libpng): reads any PNG into float
 * planes (C,H,W) with values 0..255; writes 8-bit gray or RGB. Every write is atomic: the
 * data goes to a temporary file in the target's directory, is flushed and fsync'ed, then
 * renamed over the target; on failure the temporary file is removed and the target is
 * untouched. Errors: CK_ERR_IO (open/read/write failed), CK_ERR_CORRUPT_DATA (malformed
 * or truncated file), CK_ERR_UNSUPPORTED (valid file this reader does not take, e.g.
 * '<i4' or Fortran order), with one line naming the file in msg. No compressed .npz.
 */
#ifndef CONVKIT_IO_H
#define CONVKIT_IO_H

#include <stddef.h>

#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_ARRAY_MAX_DIMS 8

/** A dense C-order float32 array. data is 64-byte aligned (ck_aligned_alloc) and never
 *  NULL after a successful read, even for an array with 0 elements. */
struct ck_array {
    float *data;
    int ndim;                         /**< 0 (a scalar) .. CK_ARRAY_MAX_DIMS */
    size_t shape[CK_ARRAY_MAX_DIMS];  /**< shape[ndim..] are 0 */
};

/** @brief Number of elements: the product of the shape (1 for ndim 0). */
size_t ck_array_numel(const struct ck_array *a);
/** @brief Free a->data and zero *a. Safe on a zeroed or already freed array. */
void ck_array_free(struct ck_array *a);
/** @brief "(2, 3, 4)" (NumPy style) into buf. Returns buf. */
const char *ck_array_shape_str(int ndim, const size_t *shape, char *buf, size_t buf_len);

/**
 * @brief Read a .npy file into out (zeroed first; free with ck_array_free).
 * Trailing bytes after the array data are rejected (CK_ERR_CORRUPT_DATA): a file must
 * hold exactly one array.
 */
enum ck_status ck_npy_read(const char *path, struct ck_array *out, char *msg, size_t msg_len);

/** @brief Write a float32 .npy (version 1.0, header padded to a multiple of 64 bytes). */
enum ck_status ck_npy_write(const char *path, const float *data, int ndim, const size_t *shape,
                            char *msg, size_t msg_len);

/** Planar float image: data[c][y][x], channels 1 (gray) or 3 (RGB), values 0..255. */
struct ck_image {
    float *data;
    int channels, height, width;
};

void ck_image_free(struct ck_image *img);

/**
 * @brief Read any PNG (gray, gray+alpha, RGB, RGBA, palette, 1..16 bits, interlaced).
 * Gray and gray+alpha give 1 channel, everything else 3; alpha is dropped. 16-bit
 * samples keep their precision (value / 257, so still 0..255).
 */
enum ck_status ck_png_read(const char *path, struct ck_image *out, char *msg, size_t msg_len);

/**
 * @brief Write an 8-bit gray (channels 1) or RGB (channels 3) PNG from planes
 * data[c][y][x]; each value is rounded to nearest and clamped to 0..255 (NaN -> 0).
 */
enum ck_status ck_png_write(const char *path, const float *data, int channels, int height,
                            int width, char *msg, size_t msg_len);

/* ---- two-phase writes, for commands that must produce several files or none ---------- */

/**
 * @brief Like ck_npy_write / ck_png_write, but leave the complete, fsync'ed file under a
 * temporary name next to path, written into tmp (tmp_len >= strlen(path) + 32). Then
 * ck_file_commit(tmp, path) renames it into place, or ck_file_discard(tmp) removes it.
 * On failure nothing is left behind and tmp is "".
 */
enum ck_status ck_npy_write_staged(const char *path, const float *data, int ndim,
                                   const size_t *shape, char *tmp, size_t tmp_len, char *msg,
                                   size_t msg_len);
enum ck_status ck_png_write_staged(const char *path, const float *data, int channels,
                                   int height, int width, char *tmp, size_t tmp_len, char *msg,
                                   size_t msg_len);
/** @brief rename(tmp, path) (then best-effort fsync of the directory); removes tmp on failure. */
enum ck_status ck_file_commit(const char *tmp, const char *path, char *msg, size_t msg_len);
/** @brief Remove a staged temporary file (no-op for NULL or ""). */
void ck_file_discard(const char *tmp);

#ifdef __cplusplus
}
#endif
#endif
