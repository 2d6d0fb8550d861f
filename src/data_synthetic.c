/* data_synthetic.c - a procedural, learnable dataset of any shape for throughput runs.
 *
 * Record i (of the endless stream; a split starts at its offset) has label
 * hash(seed, i) mod classes and pixels = prototype(label) + uniform noise in [-48, 48],
 * clamped to 0..255. A class prototype is a plane wave per channel with integer
 * frequencies and a phase drawn from the seed. Everything is computed on demand, so a
 * synthetic set of any size costs no memory and any record can be recomputed alone.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convkit/data.h"
#include "convkit/rng.h"
#include "data_internal.h"
#include "internal.h"

enum { STREAM_LABEL = 0x53594e4c, STREAM_PROTO = 0x53594e50, STREAM_NOISE = 0x53594e4e };

enum ck_status ck_dataset_synthetic(struct ck_shape shape, int classes, size_t n,
                                    uint64_t seed, uint64_t offset, struct ck_dataset *out,
                                    char *msg, size_t msg_len)
{
    if (!out)
        return CK_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (shape.c < 1 || shape.c > CK_DATA_MAX_CHANNELS || shape.h < 1 || shape.w < 1 ||
        shape.h > 4096 || shape.w > 4096 || ck_shape_numel(shape) > CK_SYNTHETIC_MAX_NUMEL ||
        classes < 2 || classes > CK_DATA_MAX_CLASSES || n == 0) {
        ck__msg(msg, msg_len,
                "synthetic: need 1..%d channels, at most %d values per image, 2..%d classes "
                "and >= 1 image (got %dx%dx%d, %d classes, %zu images)",
                CK_DATA_MAX_CHANNELS, CK_SYNTHETIC_MAX_NUMEL, CK_DATA_MAX_CLASSES, shape.h,
                shape.w, shape.c, classes, n);
        return CK_ERR_INVALID_ARGUMENT;
    }
    snprintf(out->name, sizeof out->name, "synthetic");
    out->n = n;
    out->shape = shape;
    out->classes = classes;
    out->synth_seed = seed;
    out->synth_offset = offset;
    return CK_OK;
}

int ck__synthetic_label(const struct ck_dataset *d, size_t i)
{
    uint64_t h = ck_rng_hash(d->synth_seed, STREAM_LABEL, d->synth_offset + i);
    return (int)(h % (uint64_t)d->classes);
}

void ck__synthetic_image(const struct ck_dataset *d, size_t i, uint8_t *out)
{
    const int C = d->shape.c, H = d->shape.h, W = d->shape.w;
    const int label = ck__synthetic_label(d, i);
    const uint64_t base = (d->synth_offset + i) * (uint64_t)(C * H * W);
    for (int c = 0; c < C; c++) {
        uint64_t p = ck_rng_hash(d->synth_seed, STREAM_PROTO, (uint64_t)label * 8 + c);
        const double fy = (double)(p % 4), fx = (double)((p >> 8) % 4) + 1.0;
        const double phase = (double)((p >> 16) % 1000) * (6.283185307179586 / 1000.0);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                const size_t k = ((size_t)c * H + y) * W + x;
                const double wave = sin(6.283185307179586 * (fx * x / W + fy * y / H) + phase);
                const uint64_t r = ck_rng_hash(d->synth_seed, STREAM_NOISE, base + k);
                const int noise = (int)(r % 97) - 48;
                const int v = (int)lrint(128.0 + 70.0 * wave) + noise;
                out[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
}
