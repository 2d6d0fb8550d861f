/* convkit.h - umbrella header of the convkit C library.
 *
 * convkit: convolutional neural networks on multicore CPUs. Include this one header;
 * link with -lconvkit (pkg-config --cflags --libs convkit, or CMake
 * find_package(convkit) and target convkit::convkit).
 */
#ifndef CONVKIT_H
#define CONVKIT_H

#define CONVKIT_VERSION_MAJOR 0
#define CONVKIT_VERSION_MINOR 1
#define CONVKIT_VERSION_PATCH 0
#define CONVKIT_VERSION_STRING "0.1.0"

#include "convkit/status.h"
#include "convkit/cpu.h"
#include "convkit/conv.h"
#include "convkit/backend.h"
#include "convkit/autotune.h"
#include "convkit/rng.h"
#include "convkit/model.h"
#include "convkit/layer.h"
#include "convkit/net.h"
#include "convkit/optim.h"
#include "convkit/io.h"
#include "convkit/data.h"
#include "convkit/train.h"
#include "convkit/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The library's version string, e.g. "0.1.0 (openmp, avx2)". */
const char *ck_version(void);

#ifdef __cplusplus
}
#endif
#endif
