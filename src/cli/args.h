/* args.h - option parsing shared by every `convkit` command (CLI only, not library API).
 *
 * A command lists the options it accepts in an array of struct ck_opt, calls
 * ck_args_parse() once, then reads each opt's value. Accepted forms: `--name value`,
 * `--name=value`, flags `--name`, and `--help`/`-h` anywhere. Unknown options, repeated
 * options, missing values and stray positional words are usage errors. Number helpers
 * turn option text into ints with a one-line message naming the option on error.
 * Printing: ck_cli_error() writes the single `convkit CMD: message` line on stderr.
 */
#ifndef CONVKIT_CLI_ARGS_H
#define CONVKIT_CLI_ARGS_H

#include <stddef.h>

#if defined(__GNUC__)
#define CK_CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CK_CLI_PRINTF(f, a)
#endif

/** One option a command accepts. name has no leading "--". */
struct ck_opt {
    const char *name;  /**< e.g. "input" for --input */
    int has_value;     /**< 1: takes a value; 0: a flag */
    const char *value; /**< out: the value, NULL if absent; a present flag gets "" */
};

/**
 * Parse argv[1..argc) (argv[0] is the command name) against opts[0..n_opts).
 * Fills each opt's value and *help (1 if --help/-h was given; then nothing else is
 * checked). Returns 0 on success, -1 with one line in msg on a usage error.
 */
int ck_args_parse(int argc, char **argv, struct ck_opt *opts, size_t n_opts, int *help,
                  char *msg, size_t msg_len);

/** The value of option name (NULL if absent or not in opts). */
const char *ck_args_get(const struct ck_opt *opts, size_t n_opts, const char *name);

/**
 * The required options: names[0..n_names), each in opts. 0 if all were given; else
 * prints `convkit CMD: missing required option --NAME (see --help)` for the first
 * missing one and returns -1.
 */
int ck_cli_require(const char *cmd, const struct ck_opt *opts, size_t n_opts,
                   const char *const *names, size_t n_names);

/** Parse text as a decimal int in [lo, hi]. 0 on success; -1 with a message naming --opt. */
int ck_args_int(const char *opt, const char *text, int lo, int hi, int *out, char *msg,
                size_t msg_len);

/**
 * Parse a comma-separated list of between min_n and max_n ints, each in [lo, hi],
 * into vals; *n gets the count. 0 on success; -1 with a message naming --opt.
 * e.g. --stride 2 or --stride 2,1: ck_args_int_list("stride", text, 1, INT_MAX, v, 1, 2, &n, ...)
 */
int ck_args_int_list(const char *opt, const char *text, int lo, int hi, int *vals, int min_n,
                     int max_n, int *n, char *msg, size_t msg_len);

struct ck_conv_backend;

/**
 * The backend named by --backend (name), or dflt when name is NULL. Unknown names print
 * `convkit CMD: --backend 'x': unknown backend (known: ...)` and return NULL.
 */
const struct ck_conv_backend *ck_cli_backend(const char *cmd, const char *name,
                                             const char *dflt);

/** Print `convkit CMD: message` as exactly one line on stderr (newlines become spaces). */
void ck_cli_error(const char *cmd, const char *fmt, ...) CK_CLI_PRINTF(2, 3);

#endif
