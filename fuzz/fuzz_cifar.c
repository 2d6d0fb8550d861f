/* fuzz_cifar.c - libFuzzer target: CIFAR-10 binary records from memory. A parse that
 * succeeds must describe exactly len / 3073 images with labels below 10. */
#include <stddef.h>
#include <stdint.h>

#include "convkit/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ck_dataset d;
    char msg[256];
    if (ck_cifar10_parse(data, size, "fuzz", &d, msg, sizeof msg) == CK_OK) {
        if (d.n * 3073 != size)
            __builtin_trap();
        for (size_t i = 0; i < d.n; i++)
            if (d.labels[i] >= 10 || d.pixels[i * 3072 + 3071] != data[i * 3073 + 3072])
                __builtin_trap();
        ck_dataset_free(&d);
    }
    return 0;
}
