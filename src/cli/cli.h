/* cli.h - shared declarations of the `convkit` command-line tool (not a library API). */
#ifndef CONVKIT_CLI_H
#define CONVKIT_CLI_H

enum { CK_EXIT_OK = 0, CK_EXIT_RUNTIME = 1, CK_EXIT_USAGE = 2 };

struct ck_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

int ck_cmd_version(int argc, char **argv);
int ck_cmd_summary(int argc, char **argv);
int ck_cmd_conv(int argc, char **argv);
int ck_cmd_filter(int argc, char **argv);
int ck_cmd_train(int argc, char **argv);
int ck_cmd_eval(int argc, char **argv);
int ck_cmd_export(int argc, char **argv);
int ck_cmd_visualize(int argc, char **argv);

struct ck_net;
/* auto_report.c: for every conv layer of net on `auto`, print (after the line `title`)
 * the backend it picks per pass and why; prints nothing if no layer is on auto. */
void ck_cli_print_auto_choices(const struct ck_net *net, const char *title);

#endif
