/* fileutil.c - staged (temporary file + fsync + rename) writes, see fileutil.h and
 * ck_file_commit/ck_file_discard in io.h. POSIX only (open O_EXCL, fsync, rename). */
#define _POSIX_C_SOURCE 200809L

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convkit/io.h"
#include "internal.h"

enum ck_status ck__stage_open(const char *path, FILE **f, char *tmp, size_t tmp_len, char *msg,
                              size_t msg_len)
{
    static unsigned counter; /* names only; O_EXCL resolves any collision */
    *f = NULL;
    if (tmp && tmp_len)
        tmp[0] = '\0';
    if (!path || !*path || !tmp || tmp_len < strlen(path) + 32) {
        ck__msg(msg, msg_len, "'%s': invalid output path", path ? path : "(null)");
        return CK_ERR_INVALID_ARGUMENT;
    }
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base) {
        ck__msg(msg, msg_len, "'%s': output path is a directory", path);
        return CK_ERR_INVALID_ARGUMENT;
    }
    int fd = -1;
    int err = 0;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, tmp_len, "%.*s.%s.tmp-%ld-%u", dir_len, path, base, (long)getpid(),
                 counter++);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        err = errno;
        if (fd < 0 && err != EEXIST)
            break;
    }
    if (fd < 0) {
        tmp[0] = '\0';
        ck__msg(msg, msg_len, "'%s': cannot create file: %s", path, strerror(err));
        return CK_ERR_IO;
    }
    *f = fdopen(fd, "wb");
    if (!*f) {
        err = errno;
        close(fd);
        remove(tmp);
        tmp[0] = '\0';
        ck__msg(msg, msg_len, "'%s': cannot open for writing: %s", path, strerror(err));
        return CK_ERR_IO;
    }
    return CK_OK;
}

enum ck_status ck__stage_close(FILE *f, const char *path, char *tmp, char *msg, size_t msg_len)
{
    int err = 0;
    if (fflush(f) != 0 || ferror(f))
        err = errno ? errno : EIO;
    else if (fsync(fileno(f)) != 0)
        err = errno;
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (err) {
        remove(tmp);
        tmp[0] = '\0';
        ck__msg(msg, msg_len, "'%s': write failed: %s", path, strerror(err));
        return CK_ERR_IO;
    }
    return CK_OK;
}

void ck__stage_abort(FILE *f, char *tmp)
{
    if (f)
        fclose(f);
    if (tmp && *tmp) {
        remove(tmp);
        tmp[0] = '\0';
    }
}

/* Best effort: make the rename durable by syncing the directory holding path. */
static void sync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

enum ck_status ck_file_commit(const char *tmp, const char *path, char *msg, size_t msg_len)
{
    if (!tmp || !*tmp || !path) {
        ck__msg(msg, msg_len, "'%s': nothing staged to commit", path ? path : "(null)");
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        ck__msg(msg, msg_len, "'%s': cannot rename into place: %s", path, strerror(err));
        return CK_ERR_IO;
    }
    sync_dir_of(path);
    return CK_OK;
}

void ck_file_discard(const char *tmp)
{
    if (tmp && *tmp)
        remove(tmp);
}
