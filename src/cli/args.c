/* args.c - `--name value` / `--name=value` option parsing and number helpers for the
 * convkit commands (see args.h). Knows nothing about what any option means. */
#include "convkit/backend.h"
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_msg(char *msg, size_t msg_len, const char *fmt, ...) CK_CLI_PRINTF(3, 4);

static void put_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    if (!msg || msg_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

static struct ck_opt *find_opt(struct ck_opt *opts, size_t n_opts, const char *name,
                               size_t name_len)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strlen(opts[i].name) == name_len && strncmp(opts[i].name, name, name_len) == 0)
            return &opts[i];
    return NULL;
}

int ck_args_parse(int argc, char **argv, struct ck_opt *opts, size_t n_opts, int *help,
                  char *msg, size_t msg_len)
{
    *help = 0;
    for (size_t i = 0; i < n_opts; i++)
        opts[i].value = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help = 1;
            return 0;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            put_msg(msg, msg_len, "unexpected argument '%s' (options look like --name VALUE)",
                    a);
            return -1;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        struct ck_opt *o = find_opt(opts, n_opts, name, name_len);
        if (!o) {
            put_msg(msg, msg_len, "unknown option '--%.*s' (see --help)", (int)name_len, name);
            return -1;
        }
        if (o->value) {
            put_msg(msg, msg_len, "option --%s given more than once", o->name);
            return -1;
        }
        if (!o->has_value) {
            if (eq) {
                put_msg(msg, msg_len, "option --%s takes no value", o->name);
                return -1;
            }
            o->value = "";
            continue;
        }
        if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            o->value = argv[++i];
        } else {
            put_msg(msg, msg_len, "option --%s needs a value", o->name);
            return -1;
        }
        if (o->value[0] == '\0') {
            put_msg(msg, msg_len, "option --%s has an empty value", o->name);
            return -1;
        }
    }
    return 0;
}

const char *ck_args_get(const struct ck_opt *opts, size_t n_opts, const char *name)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return opts[i].value;
    return NULL;
}

int ck_cli_require(const char *cmd, const struct ck_opt *opts, size_t n_opts,
                   const char *const *names, size_t n_names)
{
    for (size_t i = 0; i < n_names; i++)
        if (!ck_args_get(opts, n_opts, names[i])) {
            ck_cli_error(cmd, "missing required option --%s (see --help)", names[i]);
            return -1;
        }
    return 0;
}

/* Parse [s, end) as a decimal int in [lo, hi]; 0 ok, -1 not a number, -2 out of range. */
static int parse_int_span(const char *s, const char *end, int lo, int hi, int *out)
{
    char buf[32];
    size_t len = (size_t)(end - s);
    if (len == 0 || len >= sizeof buf)
        return len == 0 ? -1 : -2;
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *p = buf;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    char *tail;
    errno = 0;
    long v = strtol(buf, &tail, 10);
    if (*tail != '\0')
        return -1;
    if (errno == ERANGE || v < lo || v > hi)
        return -2;
    *out = (int)v;
    return 0;
}

static void range_msg(char *msg, size_t msg_len, const char *opt, const char *text, int lo,
                      int hi)
{
    if (hi == INT_MAX)
        put_msg(msg, msg_len, "--%s '%s': values must be integers >= %d", opt, text, lo);
    else
        put_msg(msg, msg_len, "--%s '%s': values must be integers in %d..%d", opt, text, lo,
                hi);
}

int ck_args_int(const char *opt, const char *text, int lo, int hi, int *out, char *msg,
                size_t msg_len)
{
    int n;
    return ck_args_int_list(opt, text, lo, hi, out, 1, 1, &n, msg, msg_len);
}

int ck_args_int_list(const char *opt, const char *text, int lo, int hi, int *vals, int min_n,
                     int max_n, int *n, char *msg, size_t msg_len)
{
    *n = 0;
    if (!text) {
        put_msg(msg, msg_len, "--%s: missing value", opt);
        return -1;
    }
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        if (*n == max_n) {
            put_msg(msg, msg_len, "--%s '%s': expected at most %d value%s", opt, text, max_n,
                    max_n == 1 ? "" : "s");
            return -1;
        }
        int rc = parse_int_span(s, end, lo, hi, &vals[*n]);
        if (rc == -1) {
            put_msg(msg, msg_len, "--%s '%s': not an integer%s", opt, text,
                    max_n > 1 ? " list" : "");
            return -1;
        }
        if (rc == -2) {
            range_msg(msg, msg_len, opt, text, lo, hi);
            return -1;
        }
        (*n)++;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (*n < min_n) {
        put_msg(msg, msg_len, "--%s '%s': expected at least %d values", opt, text, min_n);
        return -1;
    }
    return 0;
}

void ck_cli_error(const char *cmd, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    fprintf(stderr, "convkit %s: %s\n", cmd, line);
}

const struct ck_conv_backend *ck_cli_backend(const char *cmd, const char *name,
                                             const char *dflt)
{
    const struct ck_conv_backend *b = ck_backend_find(name ? name : dflt);
    if (!b) {
        char names[256];
        ck_cli_error(cmd, "--backend '%s': unknown backend (known: %s)", name ? name : dflt,
                     ck_backend_names(names, sizeof names));
    }
    return b;
}
