/* fuzz_idx.c - libFuzzer target: IDX image/label pairs. The first two bytes choose
 * where the input splits into the image file and the label file; the pair is parsed
 * from memory and, when byte 0 is odd, also written to files and read back through
 * the gzip-capable loader (zlib passes raw data through). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "convkit/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ck_dataset *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] >= 10)
            __builtin_trap();
}

static int put(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t rest = size - 2, split = ((size_t)data[0] << 8 | data[1]) % (rest + 1);
    const uint8_t *img = data + 2, *lab = data + 2 + split;
    struct ck_dataset d;
    char msg[256];
    if (ck_idx_parse(img, split, lab, rest - split, 10, "fuzz", &d, msg, sizeof msg) == CK_OK) {
        check(&d);
        ck_dataset_free(&d);
    }
    if (data[0] & 1) {
        char ip[64], lp[64];
        snprintf(ip, sizeof ip, "/tmp/ck_fuzz_idx_%d_i", (int)getpid());
        snprintf(lp, sizeof lp, "/tmp/ck_fuzz_idx_%d_l", (int)getpid());
        if (put(ip, img, split) == 0 && put(lp, lab, rest - split) == 0 &&
            ck_idx_load(ip, lp, 10, &d, msg, sizeof msg) == CK_OK) {
            check(&d);
            ck_dataset_free(&d);
        }
        remove(ip);
        remove(lp);
    }
    return 0;
}
