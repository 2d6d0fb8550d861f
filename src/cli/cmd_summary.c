/* cmd_summary.c - `convkit summary`: a Keras-style table of a model spec.
 *
 * Builds the net (so shapes, parameter counts and the conv backend of every layer are
 * the ones training would use) and prints, per layer: name, type (with its fused
 * activation), output shape HxWxC, parameters, forward FLOPs per image (a multiply-add
 * counts 2) and the conv backend; then totals and memory, and for layers on `auto` the
 * backend it picks per pass and why. --autotune measures those choices first (and
 * --wisdom FILE keeps them). Exit 2 for a bad command line, spec or backend choice;
 * 1 for unreadable files, a failed measurement or out of memory.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "convkit/convkit.h"
#include "args.h"
#include "cli.h"

#define CMD "summary"

static void usage(FILE *f)
{
    char names[256], presets[128];
    fprintf(f,
            "usage: convkit summary --model SPEC|FILE|PRESET [--batch B] [--backend NAME]\n"
            "                       [--input HxWxC] [--autotune] [--wisdom FILE]\n"
            "\n"
            "Print the layers of a model: output shape (HxWxC), parameters, forward FLOPs\n"
            "per image (multiply-add = 2 FLOPs) and the convolution backend of each conv2d.\n"
            "\n"
            "options:\n"
            "  --model M        a preset (%s), spec text such as\n"
            "                   'input 28x28x1; conv2d 8 3x3 activation=relu; flatten; dense 10'\n"
            "                   (anything with a space or ';'), or a spec file\n"
            "  --batch B        batch size used to size activations and workspace (default 1)\n"
            "  --backend NAME   conv backend for layers without backend=: %s\n"
            "                   (default auto)\n"
            "  --input HxWxC    replace the spec's input shape (e.g. 28x28x1)\n"
            "  --wisdom FILE    measured backend choices for `auto` (read if it exists;\n"
            "                   written after --autotune)\n"
            "  --autotune       time every backend on each conv layer and pass at this\n"
            "                   batch size, keep the fastest (like FFTW wisdom)\n"
            "  --help           this text\n"
            "\n"
            "Exit status: 0 ok; 2 bad option, model spec (the message gives line and column)\n"
            "or backend; 1 the spec file cannot be read or memory runs out.\n",
            ck_model_preset_names(presets, sizeof presets), ck_backend_names(names, sizeof names));
}

/* 1234567 -> "1,234,567" */
static const char *commas(double v, char *buf, size_t len)
{
    char digits[40];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t nd = strlen(digits), o = 0;
    for (size_t i = 0; i < nd && o + 2 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *shape_str(struct ck_shape s, char *buf, size_t len)
{
    if (s.h == 1 && s.w == 1)
        snprintf(buf, len, "%d", s.c);
    else
        snprintf(buf, len, "%dx%dx%d", s.h, s.w, s.c);
    return buf;
}

static void print_table(const struct ck_net *net, const char *model)
{
    char a[40], b[40], c[40], name[48], type[48];
    int count[CK_LAYER_KIND_COUNT] = {0};
    double flops = 0.0;
    const char *rule = "==================================================================="
                       "==================";
    printf("Model: %s (input %s, batch %d)\n", strpbrk(model, " \t\n;") ? "spec text" : model,
           shape_str(net->spec.input, a, sizeof a), net->batch);
    printf("%-18s %-20s %-14s %12s %15s  %s\n", "Layer", "Type", "Output shape", "Params",
           "FLOPs/image", "Backend");
    printf("%s\n", rule);
    printf("%-18s %-20s %-14s %12s %15s\n", "input", "input",
           shape_str(net->spec.input, a, sizeof a), "0", "0");
    for (int i = 0; i < net->n_layers; i++) {
        struct ck_layer_info info;
        ck_net_layer_info(net, i, &info);
        enum ck_layer_kind kind = net->layers[i].spec.kind;
        snprintf(name, sizeof name, "%s_%d", info.type, ++count[kind]);
        if (info.activation != CK_ACT_NONE)
            snprintf(type, sizeof type, "%s+%s", info.type, ck_activation_name(info.activation));
        else
            snprintf(type, sizeof type, "%s", info.type);
        printf("%-18s %-20s %-14s %12s %15s%s%s\n", kind == CK_LAYER_SOFTMAX_XENT ? "loss" : name,
               type, shape_str(info.out, a, sizeof a), commas((double)info.params, b, sizeof b),
               commas(info.flops, c, sizeof c), info.backend ? "  " : "",
               info.backend ? info.backend : "");
        flops += info.flops;
    }
    printf("%s\n", rule);
    printf("Total params: %s\n", commas((double)ck_net_param_count(net), a, sizeof a));
    printf("Trainable params: %s\n", commas((double)ck_net_param_count(net), a, sizeof a));
    printf("Forward FLOPs: %s per image, %s per batch of %d\n", commas(flops, a, sizeof a),
           commas(flops * net->batch, b, sizeof b), net->batch);
    const double mib = 1024.0 * 1024.0;
    printf("Memory: parameters+gradients %.2f MiB, activations+gradients %.2f MiB (batch %d), "
           "workspace %.2f MiB\n",
           2.0 * (double)net->params_len * sizeof(float) / mib,
           2.0 * (double)net->acts_len * sizeof(float) / mib, net->batch,
           (double)net->ws_size / mib);
}

/* Measure every conv layer of net on `auto`, all passes; 0 ok, -1 printed. */
static int autotune(const struct ck_net *net)
{
    char msg[256];
    for (int i = 0; i < net->n_layers; i++) {
        const struct ck_layer *l = &net->layers[i];
        const struct ck_conv_params *p = ck_layer_conv_params(l);
        if (!p || strcmp(ck_layer_backend(l)->name, "auto") != 0)
            continue;
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct ck_auto_choice c;
            if (ck_auto_tune(p, (enum ck_conv_pass)pass, 5, &c, msg, sizeof msg) != CK_OK) {
                ck_cli_error(CMD, "layer %d: %s", i, msg);
                return -1;
            }
        }
    }
    return 0;
}

/* "HxWxC" -> shape; 0 ok. */
static int parse_shape(const char *text, struct ck_shape *s)
{
    char tail;
    return sscanf(text, "%dx%dx%d%c", &s->h, &s->w, &s->c, &tail) == 3 && s->h > 0 &&
                   s->w > 0 && s->c > 0
               ? 0
               : -1;
}

int ck_cmd_summary(int argc, char **argv)
{
    struct ck_opt opts[] = {
        {"model", 1, NULL}, {"batch", 1, NULL},  {"backend", 1, NULL},
        {"input", 1, NULL}, {"wisdom", 1, NULL}, {"autotune", 0, NULL}};
    const size_t n_opts = sizeof opts / sizeof opts[0];
    char msg[512];
    int help = 0, batch = 1;
    if (ck_args_parse(argc, argv, opts, n_opts, &help, msg, sizeof msg) != 0) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CK_EXIT_OK;
    }
    const char *model = ck_args_get(opts, n_opts, "model");
    const char *v, *backend = ck_args_get(opts, n_opts, "backend");
    static const char *const required[] = {"model"};
    if (ck_cli_require(CMD, opts, n_opts, required, 1) != 0)
        return CK_EXIT_USAGE;
    if ((v = ck_args_get(opts, n_opts, "batch")) &&
        ck_args_int("batch", v, 1, INT_MAX, &batch, msg, sizeof msg) != 0) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (backend && !ck_cli_backend(CMD, backend, "auto"))
        return CK_EXIT_USAGE;
    struct ck_shape in, *override = NULL;
    if ((v = ck_args_get(opts, n_opts, "input"))) {
        if (parse_shape(v, &in) != 0) {
            ck_cli_error(CMD, "--input '%s': expected HxWxC with integers >= 1", v);
            return CK_EXIT_USAGE;
        }
        override = &in;
    }
    static struct ck_model_spec spec; /* ~20 KB: keep it off the stack */
    enum ck_status st = ck_model_spec_resolve(model, override, &spec, msg, sizeof msg);
    if (st != CK_OK) {
        ck_cli_error(CMD, "--model: %s", msg);
        return st == CK_ERR_INVALID_ARGUMENT ? CK_EXIT_USAGE : CK_EXIT_RUNTIME;
    }
    const char *wisdom = ck_args_get(opts, n_opts, "wisdom");
    const int tune = ck_args_get(opts, n_opts, "autotune") != NULL;
    if (wisdom && (!tune || access(wisdom, F_OK) == 0) &&
        ck_auto_wisdom_load(wisdom, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--wisdom: %s", msg);
        return CK_EXIT_RUNTIME;
    }
    struct ck_net *net;
    st = ck_net_build(&spec, batch, backend, &net, msg, sizeof msg);
    if (st != CK_OK) {
        ck_cli_error(CMD, "%s", msg);
        return st == CK_ERR_OUT_OF_MEMORY ? CK_EXIT_RUNTIME : CK_EXIT_USAGE;
    }
    if (tune) {
        /* measure, then rebuild so the workspace fits the measured choices */
        int failed = autotune(net);
        ck_net_free(net);
        if (failed)
            return CK_EXIT_RUNTIME;
        if (wisdom && ck_auto_wisdom_save(wisdom, msg, sizeof msg) != CK_OK) {
            ck_cli_error(CMD, "--wisdom: %s", msg);
            return CK_EXIT_RUNTIME;
        }
        if ((st = ck_net_build(&spec, batch, backend, &net, msg, sizeof msg)) != CK_OK) {
            ck_cli_error(CMD, "%s", msg);
            return CK_EXIT_RUNTIME;
        }
    }
    print_table(net, model);
    ck_cli_print_auto_choices(net, "\nauto picks, per conv layer and pass:");
    ck_net_free(net);
    return CK_EXIT_OK;
}
