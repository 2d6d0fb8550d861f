/* data.h - image classification datasets kept as uint8 until a batch is formed.
 *
 * Loaders: CIFAR-10 binary batches (1 label byte + 3072 bytes of R, G, B planes per
 * record), IDX files (MNIST, Fashion-MNIST; raw or gzip), and a procedural `synthetic`
 * dataset of any shape whose pixels are computed from (seed, index) when a batch is
 * formed, so it costs no memory. Every loader validates sizes and labels and reports a
 * malformed or truncated file as CK_ERR_CORRUPT_DATA with one line naming the file.
 * ck_dataset_batch turns chosen records into float32 NCHW with per-channel
 * normalisation and optional augmentation (random crop with zero padding, horizontal
 * flip) drawn from the counter-based RNG, so a batch is a pure function of its inputs.
 * Not here: shuffling order and epochs (train.h), downloads (scripts/fetch-cifar10.sh).
 */
#ifndef CONVKIT_DATA_H
#define CONVKIT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "convkit/model.h"
#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_DATA_MAX_CHANNELS 4 /**< channels a dataset may have (for normalisation) */
#define CK_DATA_MAX_CLASSES 256
#define CK_SYNTHETIC_MAX_NUMEL 16384 /**< values per synthetic image (e.g. 64x64x4) */

/** Default directory of Debian's dataset-fashion-mnist package. */
#define CK_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/** A labelled image set. pixels[i][c][y][x] (uint8, NCHW) or NULL for synthetic. */
struct ck_dataset {
    char name[32];             /**< "cifar10", "fashion-mnist", "mnist", "synthetic" */
    size_t n;                  /**< records */
    struct ck_shape shape;     /**< per-image shape (c, h, w) */
    int classes;               /**< labels are in [0, classes) */
    uint8_t *pixels;           /**< n * c*h*w bytes; NULL for a synthetic set */
    uint8_t *labels;           /**< n labels; NULL for a synthetic set */
    const char *const *class_names; /**< classes names, or NULL (then "0", "1", ...) */
    uint64_t synth_seed;       /**< synthetic: seed of the procedural pixels/labels */
    uint64_t synth_offset;     /**< synthetic: index of record 0 (test split differs) */
    uint8_t *synth_proto;      /**< synthetic: classes x c*h*w prototype pixels (made once;
                                    free with ck_dataset_free) */
};

/** Per-channel normalisation: x = (pixel / 255 - mean[c]) / std[c]. */
struct ck_normalize {
    int channels;
    float mean[CK_DATA_MAX_CHANNELS];
    float std[CK_DATA_MAX_CHANNELS];
};

/** Augmentation applied when a training batch is formed. */
struct ck_augment {
    int crop_pad; /**< random crop after zero-padding this many pixels per side (0: off) */
    int flip;     /**< random horizontal flip with probability 1/2 */
};

/** @brief Free what a loader allocated and zero *d (safe on a zeroed dataset). */
void ck_dataset_free(struct ck_dataset *d);

/**
 * @brief Parse CIFAR-10 binary records from memory (any whole number of 3073-byte
 * records, at least one), appending nothing: out is replaced. name is used in messages.
 */
enum ck_status ck_cifar10_parse(const uint8_t *buf, size_t len, const char *name,
                                struct ck_dataset *out, char *msg, size_t msg_len);
/**
 * @brief Load CIFAR-10 from dir: data_batch_1..5.bin (train != 0) or test_batch.bin.
 * Each file may hold any whole number of records (the official ones hold 10000).
 */
enum ck_status ck_cifar10_load(const char *dir, int train, struct ck_dataset *out, char *msg,
                               size_t msg_len);

/**
 * @brief Parse an IDX image file (ubyte, 3 dims n x rows x cols) and an IDX label file
 * (ubyte, 1 dim n) already in memory; n must agree and labels be < classes.
 */
enum ck_status ck_idx_parse(const uint8_t *images, size_t images_len, const uint8_t *labels,
                            size_t labels_len, int classes, const char *name,
                            struct ck_dataset *out, char *msg, size_t msg_len);
/**
 * @brief Load an IDX pair from files, each raw or gzip-compressed (zlib detects which).
 */
enum ck_status ck_idx_load(const char *images_path, const char *labels_path, int classes,
                           struct ck_dataset *out, char *msg, size_t msg_len);

/**
 * @brief A procedural dataset: n images of shape, labels in [0, classes). Record i of
 * the train split is record (offset + i) of an endless stream; each class has a
 * smooth random prototype and each image is its prototype plus noise, so a net can
 * learn it. Pixels exist only in ck_dataset_batch; the set holds only its classes'
 * prototypes (classes * c*h*w bytes): release it with ck_dataset_free. At most
 * CK_SYNTHETIC_MAX_NUMEL values per image. CK_ERR_OUT_OF_MEMORY if the prototypes do not fit.
 */
enum ck_status ck_dataset_synthetic(struct ck_shape shape, int classes, size_t n,
                                    uint64_t seed, uint64_t offset, struct ck_dataset *out,
                                    char *msg, size_t msg_len);

/**
 * @brief Load a dataset by name: "cifar10" (dir required), "fashion-mnist" (dir NULL:
 * CK_FASHION_MNIST_DIR), "mnist" (dir required) or "synthetic" (dir ignored; shape
 * required then, 10 classes, 50000 train / 10000 test images). Files are
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] for the IDX sets.
 */
enum ck_status ck_dataset_load(const char *name, const char *dir, int train,
                               const struct ck_shape *synthetic_shape, struct ck_dataset *out,
                               char *msg, size_t msg_len);

/** @brief Class names of a known dataset ("cifar10", "fashion-mnist") or NULL. */
const char *const *ck_dataset_class_names(const char *name);

/** @brief Label of record i (synthetic labels are computed). */
int ck_dataset_label(const struct ck_dataset *d, size_t i);

/** @brief Per-channel mean and standard deviation of the pixels / 255 over the whole
 *  set (in fp64, fixed order), or 0.5 / 0.25 for a synthetic set. */
enum ck_status ck_dataset_stats(const struct ck_dataset *d, struct ck_normalize *out);

/**
 * @brief Form a batch: x[j] = normalised (and, if aug is not NULL, augmented) image of
 * record idx[j], labels[j] its label, for j < count. Augmentation of slot j uses draw
 * (aug_base + j) of stream CK_RNG_STREAM_AUGMENT of seed aug_seed, so a batch depends
 * only on its arguments. x is [count][c][h][w]. Parallel over images (OpenMP).
 */
void ck_dataset_batch(const struct ck_dataset *d, const uint32_t *idx, int count,
                      const struct ck_normalize *norm, const struct ck_augment *aug,
                      uint64_t aug_seed, uint64_t aug_base, float *x, int *labels);

/** @brief The raw uint8 planes of record i into out[c][h][w] (synthetic: computed). */
void ck_dataset_image(const struct ck_dataset *d, size_t i, uint8_t *out);

#ifdef __cplusplus
}
#endif
#endif
