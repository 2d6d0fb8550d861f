/* fuzz_npy.c - libFuzzer target: the .npy reader (it reads paths, so each input is
 * written to a per-process temporary file first). A successful read must hold as
 * many elements as its shape says. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "convkit/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/ck_fuzz_npy_%d.npy", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t w = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || w != size) {
        remove(path);
        return 0;
    }
    struct ck_array a;
    char msg[256];
    if (ck_npy_read(path, &a, msg, sizeof msg) == CK_OK) {
        size_t n = ck_array_numel(&a);
        volatile float sink = 0.0f;
        for (size_t i = 0; i < n; i++) /* every element must be readable */
            sink += a.data[i];
        (void)sink;
        ck_array_free(&a);
    }
    remove(path);
    return 0;
}
