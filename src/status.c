/* status.c - string table for enum ck_status. */
#include "convkit/status.h"

static const char *const status_names[] = {
    [CK_OK] = "ok",
    [CK_ERR_INVALID_ARGUMENT] = "invalid argument",
    [CK_ERR_UNSUPPORTED] = "unsupported",
    [CK_ERR_OUT_OF_MEMORY] = "out of memory",
    [CK_ERR_IO] = "I/O error",
    [CK_ERR_CORRUPT_DATA] = "corrupt data",
    [CK_ERR_CPU_FEATURE] = "CPU lacks a required feature",
    [CK_ERR_DIVERGED] = "diverged (NaN or Inf)",
    [CK_ERR_WORKSPACE_TOO_SMALL] = "workspace too small",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == CK_STATUS_COUNT,
               "one string per status");

const char *ck_status_str(enum ck_status status)
{
    if ((unsigned)status >= CK_STATUS_COUNT)
        return "unknown status";
    return status_names[status];
}
