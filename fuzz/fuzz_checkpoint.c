/* fuzz_checkpoint.c - libFuzzer target: checkpoint decoding. Inputs that start with the
 * magic get a correct length and CRC patched in (when long enough), so the fuzzer gets
 * past the frame checks and exercises the field decoder; a decoded checkpoint's spec
 * text is also run through the model-spec parser, as restoring would. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "convkit/checkpoint.h"
#include "convkit/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size + 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    if (size >= 24 && (data[8] & 0x80)) { /* half the time: a well-framed payload */
        const uint64_t plen = size - 24;
        memcpy(b, "CKPT\r\n\x1a\n", 8);
        b[8] = 1, b[9] = b[10] = b[11] = 0;
        for (int i = 0; i < 8; i++)
            b[12 + i] = (uint8_t)(plen >> (8 * i));
        uint32_t crc = (uint32_t)crc32(0L, b + 20, (uInt)plen);
        for (int i = 0; i < 4; i++)
            b[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    struct ck_checkpoint c;
    char msg[256];
    if (ck_checkpoint_parse(b, size, "fuzz", &c, msg, sizeof msg) == CK_OK) {
        static struct ck_model_spec spec;
        (void)ck_model_spec_parse(c.spec_text, NULL, &spec, msg, sizeof msg);
        ck_checkpoint_free(&c);
    }
    free(b);
    return 0;
}
