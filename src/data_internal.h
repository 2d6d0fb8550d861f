/* data_internal.h - helpers shared by the data_*.c loaders; not public API. */
#ifndef CONVKIT_DATA_INTERNAL_H
#define CONVKIT_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "convkit/data.h"

/* Read a whole file (through zlib's gzread when gz != 0, which also passes raw files
 * through unchanged) into a malloc'ed buffer of at most max_len bytes. CK_ERR_IO names
 * the file and the reason; a file over max_len is CK_ERR_CORRUPT_DATA. */
enum ck_status ck__read_file(const char *path, int gz, size_t max_len, uint8_t **buf,
                             size_t *len, char *msg, size_t msg_len);

const char *const *ck__cifar10_class_names(void);
const char *const *ck__fashion_mnist_class_names(void);

/* Raw pixels of synthetic record i (data_synthetic.c). */
void ck__synthetic_image(const struct ck_dataset *d, size_t i, uint8_t *out);
int ck__synthetic_label(const struct ck_dataset *d, size_t i);

#endif
