/* files.c - temporary directories and captured child processes for the I/O and CLI tests. */
#define _POSIX_C_SOURCE 200809L
#include "files.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int ckt_tmpdir_make(char *buf, size_t buf_len, const char *prefix)
{
    if ((size_t)snprintf(buf, buf_len, "/tmp/%s_XXXXXX", prefix) >= buf_len)
        return -1;
    return mkdtemp(buf) ? 0 : -1;
}

void ckt_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                ckt_tmpdir_remove(p);
            else
                remove(p);
        }
    closedir(d);
    rmdir(dir);
}

int ckt_dir_count(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n += !needle || strstr(e->d_name, needle) != NULL;
    closedir(d);
    return n;
}

static void slurp_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

int ckt_run_capture(const char *const *argv, const char *dir, struct ckt_run *r)
{
    char out_path[1024], err_path[1024];
    snprintf(out_path, sizeof out_path, "%s/ckt_stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/ckt_stderr.txt", dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int st = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (st != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    r->rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    slurp_text(out_path, r->out, sizeof r->out);
    slurp_text(err_path, r->err, sizeof r->err);
    remove(out_path);
    remove(err_path);
    return 0;
}

const char *ckt_path(const char *dir, const char *name)
{
    static char p[16][512];
    static int i;
    i = (i + 1) % 16;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}
