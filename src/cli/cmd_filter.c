/* cmd_filter.c - `convkit filter`: the lecture's hand-made 3x3 filters (or any 2-D .npy
 * kernel) applied to a PNG through a convolution backend, written back as a PNG.
 *
 * Each channel is filtered on its own (depthwise: groups = C, the same kernel for every
 * channel) unless --gray converts to luma first. The kernel is applied as a CNN layer
 * does, i.e. as cross-correlation (no flip). Filtered values are mapped back to 0..255 by
 * --map (abs | clamp | normalize). Does not do colour-space work beyond BT.601 luma.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/convkit.h"
#include "args.h"
#include "cli.h"

#define CMD "filter"

enum map { MAP_ABS, MAP_CLAMP, MAP_NORMALIZE };

/* Named kernels, row-major 3x3. Values derived from their textbook definitions. */
static const struct named_kernel {
    const char *name;
    float k[9];
    enum map map; /* default output mapping */
    const char *what;
} kernels[] = {
    {"edge", {-1, -1, -1, -1, 8, -1, -1, -1, -1}, MAP_ABS,
     "Laplacian edge detector (the lecture's 8-neighbour kernel)"},
    {"sobel-x", {-1, 0, 1, -2, 0, 2, -1, 0, 1}, MAP_ABS,
     "Sobel horizontal gradient (responds to vertical edges)"},
    {"sobel-y", {-1, -2, -1, 0, 0, 0, 1, 2, 1}, MAP_ABS,
     "Sobel vertical gradient (responds to horizontal edges)"},
    {"blur", {1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9},
     MAP_CLAMP, "3x3 box blur, every weight 1/9"},
    {"sharpen", {0, -1, 0, -1, 5, -1, 0, -1, 0}, MAP_CLAMP, "sharpen (identity + Laplacian)"},
};
#define N_KERNELS (sizeof kernels / sizeof kernels[0])

static void usage(FILE *f)
{
    char names[256];
    fprintf(f, "usage: convkit filter --kernel NAME|FILE.npy --input IMG.png --output OUT.png "
               "[options]\n\n"
               "Apply a hand-made filter to an image, as a convolution layer would\n"
               "(cross-correlation, no kernel flip). Colour images are filtered per channel\n"
               "(depthwise, groups = channels) unless --gray.\n\nkernels:\n");
    for (size_t i = 0; i < N_KERNELS; i++)
        fprintf(f, "  %-9s %s; default --map %s\n", kernels[i].name, kernels[i].what,
                kernels[i].map == MAP_ABS ? "abs" : "clamp");
    fprintf(f,
            "  FILE.npy  any 2-D (R,S) float32/float64 kernel; default --map clamp\n"
            "\noptions:\n"
            "  --kernel K          one of the kernels above\n"
            "  --input IMG.png     any PNG (gray, RGB, palette, 16-bit; alpha is ignored)\n"
            "  --output OUT.png    8-bit gray or RGB PNG\n"
            "  --stride S|SH,SW    stride (default 1; the output shrinks accordingly)\n"
            "  --padding MODE      same | valid | P | T,L,B,R (default same: with stride 1\n"
            "                      the output has the input's size)\n"
            "  --backend NAME      %s (default auto)\n"
            "  --gray              convert to gray first: Y = 0.299 R + 0.587 G + 0.114 B\n"
            "  --map M             abs: |v| clamped to 0..255; clamp: v clamped to 0..255;\n"
            "                      normalize: min..max of the result stretched to 0..255\n"
            "                      (values are rounded to the nearest integer)\n"
            "  --help              this text\n"
            "\nExit status: 0 ok; 2 the command line is wrong; 1 a file or the run failed.\n"
            "On failure no output file is created or changed.\n",
            ck_backend_names(names, sizeof names));
}

/* Map filtered values to 0..255 in place (rounding and clamping happen in ck_png_write). */
static void map_values(float *v, size_t n, enum map m)
{
    if (m == MAP_ABS) {
        for (size_t i = 0; i < n; i++)
            v[i] = fabsf(v[i]);
    } else if (m == MAP_NORMALIZE) {
        float lo = v[0], hi = v[0];
        for (size_t i = 1; i < n; i++) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        const double scale = hi > lo ? 255.0 / ((double)hi - lo) : 0.0;
        for (size_t i = 0; i < n; i++)
            v[i] = (float)(((double)v[i] - lo) * scale);
    }
}

struct filter_job {
    const char *kernel, *in_path, *out_path;
    const struct ck_conv_backend *backend;
    struct ck_padding pad;
    int stride[2], gray, R, S;
    enum map map;
    struct ck_array kfile;
    const float *k; /* R*S weights */
    struct ck_image img;
    float *w, *y;
    void *ws;
};

/* Command line -> job (no files touched); 0 ok, -1 after printing a usage error. */
static int parse_options(struct filter_job *j, const struct ck_opt *o, size_t n_opts)
{
    char msg[512];
    const char *v;
    int n;
    j->kernel = ck_args_get(o, n_opts, "kernel");
    j->in_path = ck_args_get(o, n_opts, "input");
    j->out_path = ck_args_get(o, n_opts, "output");
    static const char *const required[] = {"kernel", "input", "output"};
    if (ck_cli_require(CMD, o, n_opts, required, 3) != 0)
        return -1;
    j->map = MAP_CLAMP;
    j->R = j->S = 0;
    for (size_t i = 0; i < N_KERNELS; i++)
        if (strcmp(j->kernel, kernels[i].name) == 0) {
            j->k = kernels[i].k;
            j->R = j->S = 3;
            j->map = kernels[i].map;
        }
    size_t len = strlen(j->kernel);
    if (!j->k && (len < 4 || strcmp(j->kernel + len - 4, ".npy") != 0)) {
        ck_cli_error(CMD, "--kernel '%s': expected edge, sobel-x, sobel-y, blur, sharpen or a "
                     "FILE.npy", j->kernel);
        return -1;
    }
    if ((v = ck_args_get(o, n_opts, "map"))) {
        if (strcmp(v, "abs") == 0)
            j->map = MAP_ABS;
        else if (strcmp(v, "clamp") == 0)
            j->map = MAP_CLAMP;
        else if (strcmp(v, "normalize") == 0)
            j->map = MAP_NORMALIZE;
        else {
            ck_cli_error(CMD, "--map '%s': expected abs, clamp or normalize", v);
            return -1;
        }
    }
    const char *bname = ck_args_get(o, n_opts, "backend");
    if (!(j->backend = ck_cli_backend(CMD, bname, "auto")))
        return -1;
    j->stride[0] = j->stride[1] = 1;
    if ((v = ck_args_get(o, n_opts, "stride"))) {
        if (ck_args_int_list("stride", v, 1, INT_MAX, j->stride, 1, 2, &n, msg, sizeof msg)) {
            ck_cli_error(CMD, "%s", msg);
            return -1;
        }
        if (n == 1)
            j->stride[1] = j->stride[0];
    }
    j->pad.mode = CK_PADDING_SAME;
    if ((v = ck_args_get(o, n_opts, "padding")) &&
        ck_padding_parse(v, &j->pad, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--%s", msg);
        return -1;
    }
    j->gray = ck_args_get(o, n_opts, "gray") != NULL;
    return 0;
}

/* Load the kernel file if any, the image, and convert to gray; 0 ok, -1 printed. */
static int load_inputs(struct filter_job *j)
{
    char msg[512], s1[160];
    if (!j->k) {
        if (ck_npy_read(j->kernel, &j->kfile, msg, sizeof msg) != CK_OK) {
            ck_cli_error(CMD, "--kernel %s", msg);
            return -1;
        }
        const struct ck_array *a = &j->kfile;
        if (a->ndim != 2 || a->shape[0] < 1 || a->shape[1] < 1 || a->shape[0] > 4096 ||
            a->shape[1] > 4096) {
            ck_cli_error(CMD, "--kernel '%s': expected a 2-D (R,S) array with sides 1..4096, "
                         "got shape %s", j->kernel,
                         ck_array_shape_str(a->ndim, a->shape, s1, sizeof s1));
            return -1;
        }
        j->k = a->data;
        j->R = (int)a->shape[0];
        j->S = (int)a->shape[1];
    }
    if (ck_png_read(j->in_path, &j->img, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--input %s", msg);
        return -1;
    }
    if (j->gray && j->img.channels == 3) {
        size_t plane = (size_t)j->img.height * (size_t)j->img.width;
        float *d = j->img.data;
        for (size_t i = 0; i < plane; i++) /* ITU-R BT.601 luma, in place into plane 0 */
            d[i] = 0.299f * d[i] + 0.587f * d[plane + i] + 0.114f * d[2 * plane + i];
        j->img.channels = 1;
    }
    return 0;
}

/* Run the depthwise conv and write the PNG; 0 ok, -1 printed. */
static int run(struct filter_job *j)
{
    char msg[512];
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.N = 1;
    p.C = p.K = p.groups = j->img.channels;
    p.H = j->img.height;
    p.W = j->img.width;
    p.R = j->R;
    p.S = j->S;
    p.stride_h = j->stride[0];
    p.stride_w = j->stride[1];
    if (ck_conv_apply_padding(&p, &j->pad) != CK_OK || ck_conv_check(&p, msg, sizeof msg)) {
        const char *m = strncmp(msg, "conv: ", 6) == 0 ? msg + 6 : msg;
        ck_cli_error(CMD, "'%s' (%dx%d) with a %dx%d kernel: %s", j->in_path, p.W, p.H, p.S,
                     p.R, m);
        return -1;
    }
    enum ck_status st = ck_backend_supports(j->backend, &p, CK_PASS_FORWARD, msg, sizeof msg);
    if (st != CK_OK) {
        ck_cli_error(CMD, "backend '%s' cannot run this filter: %s", j->backend->name, msg);
        return -1;
    }
    int P, Q;
    ck_conv_output_size(&p, &P, &Q);
    size_t rs = (size_t)p.R * (size_t)p.S, y_n = ck_conv_y_numel(&p);
    size_t ws_size = ck_conv_workspace_size(j->backend, &p, CK_PASS_FORWARD);
    j->w = ck_aligned_alloc(rs * (size_t)p.K * sizeof(float));
    j->y = ck_aligned_alloc(y_n * sizeof(float));
    j->ws = ws_size ? ck_aligned_alloc(ws_size) : NULL;
    if (!j->w || !j->y || (ws_size && !j->ws)) {
        ck_cli_error(CMD, "out of memory");
        return -1;
    }
    for (int k = 0; k < p.K; k++) /* w is (K, 1, R, S): the same kernel per channel */
        memcpy(j->w + (size_t)k * rs, j->k, rs * sizeof(float));
    st = ck_conv_forward(j->backend, &p, j->img.data, j->w, NULL, j->y, j->ws, ws_size);
    if (st != CK_OK) {
        ck_cli_error(CMD, "backend '%s' failed: %s", j->backend->name, ck_status_str(st));
        return -1;
    }
    map_values(j->y, y_n, j->map);
    if (ck_png_write(j->out_path, j->y, p.K, P, Q, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--output %s", msg);
        return -1;
    }
    printf("%s: %dx%d %s -> %s %dx%d\n", j->kernel, p.W, p.H, p.C == 1 ? "gray" : "RGB",
           j->out_path, Q, P);
    return 0;
}

int ck_cmd_filter(int argc, char **argv)
{
    struct ck_opt opts[] = {
        {"kernel", 1, NULL}, {"input", 1, NULL},   {"output", 1, NULL},
        {"stride", 1, NULL}, {"padding", 1, NULL}, {"backend", 1, NULL},
        {"gray", 0, NULL},   {"map", 1, NULL},
    };
    const size_t n_opts = sizeof opts / sizeof opts[0];
    char msg[512];
    int help;
    if (ck_args_parse(argc, argv, opts, n_opts, &help, msg, sizeof msg) != 0) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CK_EXIT_OK;
    }
    struct filter_job j;
    memset(&j, 0, sizeof j);
    if (parse_options(&j, opts, n_opts) != 0)
        return CK_EXIT_USAGE;
    int rc = load_inputs(&j) || run(&j);
    ck_array_free(&j.kfile);
    ck_image_free(&j.img);
    ck_aligned_free(j.w);
    ck_aligned_free(j.y);
    ck_aligned_free(j.ws);
    return rc ? CK_EXIT_RUNTIME : CK_EXIT_OK;
}
