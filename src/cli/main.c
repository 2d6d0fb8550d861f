/* main.c - `convkit` command dispatcher: `convkit <command> [options]`.
 *
 * Each command lives in its own file (cmd_<name>.c) and is listed in commands[]. The
 * dispatcher only routes and prints top-level help/version; exit codes: 0 ok,
 * 1 runtime failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "convkit/convkit.h"
#include "cli.h"

static const struct ck_cli_command commands[] = {
    {"summary", "layer table of a model spec: output shapes, parameters, FLOPs", ck_cmd_summary},
    {"conv", "one convolution (any pass, any backend) on .npy files", ck_cmd_conv},
    {"filter", "apply a hand-made filter (edge, sobel, blur, ...) to a PNG image", ck_cmd_filter},
    {"train", "train a model on CIFAR-10, (Fashion-)MNIST or synthetic data", ck_cmd_train},
    {"eval", "test accuracy, per-class accuracy and confusion matrix of a checkpoint", ck_cmd_eval},
    {"export", "write a checkpoint's parameters as .npy files (PyTorch layouts)", ck_cmd_export},
    {"visualize", "PNGs of first-layer filters and feature maps for one image", ck_cmd_visualize},
    {"version", "print the version and build configuration", ck_cmd_version},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: convkit <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`convkit <command> --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return ck_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "convkit: unknown command '%s' (try convkit --help)\n", argv[1]);
    return CK_EXIT_USAGE;
}
