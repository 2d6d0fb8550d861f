/* files.h - test helpers for temporary directories and running the `convkit` binary with
 * its stdout/stderr captured. POSIX only; tests only (no Criterion calls in here). */
#ifndef CK_TEST_FILES_H
#define CK_TEST_FILES_H

#include <stddef.h>

/* Create a new empty directory "/tmp/<prefix>_XXXXXX"; its path goes to buf. 0 on success. */
int ckt_tmpdir_make(char *buf, size_t buf_len, const char *prefix);

/* Remove dir and everything in it, subdirectories too (symbolic links are removed, not
 * followed). Safe on a directory that no longer exists. */
void ckt_tmpdir_remove(const char *dir);

/* "dir/name" in one of 16 rotating static buffers, so that a command line can hold
 * several paths at once (the 17th call reuses the first buffer). Not thread-safe. */
const char *ckt_path(const char *dir, const char *name);

/* Number of entries in dir (not . or ..) whose name contains needle (NULL: every entry). */
int ckt_dir_count(const char *dir, const char *needle);

struct ckt_run {
    int rc;          /* exit status, or -1 if the process did not exit normally */
    int signal;      /* terminating signal, or 0 */
    char out[16384]; /* stdout (truncated, NUL-terminated) */
    char err[4096];  /* stderr */
};

/* Run argv[0] with argv (NULL-terminated), stdout/stderr going to scratch files in dir
 * that are read into r and removed. Returns 0, or -1 if the process could not start. */
int ckt_run_capture(const char *const *argv, const char *dir, struct ckt_run *r);

#endif
