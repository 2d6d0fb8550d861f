/* fileutil.h - atomic ("staged") file writes shared by the npy and png writers.
 *
 * ck__stage_open() creates a new temporary file next to the target (same directory, so
 * rename is atomic); ck__stage_close() flushes, fsyncs and closes it, removing it on any
 * failure. ck_file_commit()/ck_file_discard() (public, io.h) finish the job. Internal.
 */
#ifndef CONVKIT_FILEUTIL_H
#define CONVKIT_FILEUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "convkit/status.h"

/* Create "<dir>/.<base>.tmp-<pid>-<n>" (mode 0666 & ~umask) for writing; its name goes
 * to tmp (tmp_len >= strlen(path) + 32). On failure tmp is "" and msg names path. */
enum ck_status ck__stage_open(const char *path, FILE **f, char *tmp, size_t tmp_len, char *msg,
                              size_t msg_len);

/* fflush + fsync + fclose f. On failure the file is removed, tmp set to "", and msg
 * names path. f is always closed. */
enum ck_status ck__stage_close(FILE *f, const char *path, char *tmp, char *msg, size_t msg_len);

/* Close f and remove tmp (after a write error); tmp is set to "". */
void ck__stage_abort(FILE *f, char *tmp);

#endif
