/* conv_problem_run.h - the --problem mode of `convkit conv` (CLI only). */
#ifndef CONVKIT_CLI_CONV_PROBLEM_RUN_H
#define CONVKIT_CLI_CONV_PROBLEM_RUN_H

#include <stdint.h>

#include "convkit/convkit.h"
#include "args.h"

struct ck_conv_problem_job {
    struct ck_conv_params params;
    const struct ck_conv_backend *backend;
    enum ck_conv_pass pass;
    uint64_t seed;
    int repeat;           /* timed runs; the median is printed */
    const char *out_path; /* optional .npy of the result */
};

/** Run, time and check one problem; prints one line. 0 ok, -1 after printing an error. */
int ck_conv_problem_run(const struct ck_conv_problem_job *job);

/** Print every compiled-in backend name, one per line. */
void ck_conv_list_backends(void);

#endif
