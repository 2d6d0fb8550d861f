/* fuzz_model_spec.c - libFuzzer target: the model-spec parser. Any text must parse or
 * fail with a message; a spec that parses must format to canonical text that parses
 * back to a spec formatting to the same text (the checkpoint round trip). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static struct ck_model_spec a, b;
    static char fa[CK_MODEL_MAX_LAYERS * 256 + 64], fb[sizeof fa];
    char msg[256];
    if (ck_model_spec_parse(text, NULL, &a, msg, sizeof msg) == CK_OK &&
        ck_model_spec_format(&a, fa, sizeof fa) == CK_OK) {
        if (ck_model_spec_parse(fa, NULL, &b, msg, sizeof msg) != CK_OK)
            __builtin_trap();
        if (ck_model_spec_format(&b, fb, sizeof fb) != CK_OK || strcmp(fa, fb) != 0)
            __builtin_trap();
    }
    free(text);
    return 0;
}
