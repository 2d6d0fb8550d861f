/* cmd_visualize.c - `convkit visualize`: what a trained CNN sees, as PNG grids.
 *
 * For one test image: input.png (the image itself), layer<i>_conv2d_filters.png for
 * the first conv layer (one tile per filter: RGB when it has 3 input channels, else
 * one gray tile per input channel; 128 = zero, symmetric scaling per filter) and
 * layer<i>_conv2d_features.png for every conv layer (one tile per output channel,
 * after the fused activation, min..max scaled per map). Tiles are enlarged with
 * nearest-neighbour so a map is at least 48 pixels wide and separated by 2-pixel
 * white lines. All files are staged, then renamed together. Exit 0/1/2 as usual.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/io.h"
#include "convkit/train.h"
#include "args.h"
#include "cli.h"
#include "train_cli.h"

#define CMD "visualize"
#define MAX_OUT (CK_MODEL_MAX_LAYERS + 2)
#define SEP 2

static void usage(FILE *f)
{
    fprintf(f,
            "usage: convkit visualize --checkpoint FILE --out DIR [--index I]\n"
            "                         [--dataset NAME] [--data-dir DIR]\n"
            "\n"
            "Write PNGs for test image I (default 0) of the dataset (default: the one the\n"
            "checkpoint was trained on): input.png, the first conv layer's filters and every\n"
            "conv layer's feature maps (layer<i>_conv2d_{filters,features}.png). DIR is\n"
            "created if missing; nothing is written on failure.\n"
            "\n"
            "Exit status: 0 ok; 1 unreadable/corrupt files or write failure; 2 usage error.\n");
}

/* A grid image being built: channels x height x width floats in 0..255. */
struct grid {
    float *px;
    int channels, height, width, cols, tile_h, tile_w, scale;
};

/* n tiles of h x w (ch channels) in a near-square grid, each enlarged by scale. */
static int grid_init(struct grid *g, int n, int ch, int h, int w, int scale)
{
    g->cols = (int)ceil(sqrt((double)n));
    const int rows = (n + g->cols - 1) / g->cols;
    g->channels = ch;
    g->scale = scale;
    g->tile_h = h;
    g->tile_w = w;
    g->height = rows * h * scale + (rows + 1) * SEP;
    g->width = g->cols * w * scale + (g->cols + 1) * SEP;
    size_t numel = (size_t)ch * g->height * g->width;
    g->px = malloc(numel * sizeof(float));
    if (!g->px)
        return -1;
    for (size_t i = 0; i < numel; i++)
        g->px[i] = 255.0f;
    return 0;
}

/* Tile i from values v[c][y][x] mapped by 0..255 = lo..hi (clamped). */
static void grid_put(struct grid *g, int i, const float *v, float lo, float hi)
{
    const int r = i / g->cols, col = i % g->cols, s = g->scale;
    const int y0 = SEP + r * (g->tile_h * s + SEP), x0 = SEP + col * (g->tile_w * s + SEP);
    const float k = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    for (int c = 0; c < g->channels; c++)
        for (int y = 0; y < g->tile_h * s; y++)
            for (int x = 0; x < g->tile_w * s; x++) {
                float val = v[((size_t)c * g->tile_h + y / s) * g->tile_w + x / s];
                float out = hi > lo ? (val - lo) * k : 128.0f;
                g->px[((size_t)c * g->height + y0 + y) * g->width + x0 + x] =
                    out < 0 ? 0 : out > 255 ? 255 : out;
            }
}

static int scale_for(int w)
{
    return w >= 48 ? 1 : (48 + w - 1) / w;
}

struct outputs {
    char path[MAX_OUT][4200], tmp[MAX_OUT][4200];
    int n;
};

static int stage(struct outputs *o, const char *dir, const char *name, const struct grid *g)
{
    char msg[512];
    if (o->n >= MAX_OUT)
        return -1;
    snprintf(o->path[o->n], sizeof o->path[o->n], "%s/%s", dir, name);
    if (ck_png_write_staged(o->path[o->n], g->px, g->channels, g->height, g->width,
                            o->tmp[o->n], sizeof o->tmp[o->n], msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "%s", msg);
        return -1;
    }
    o->n++;
    return 0;
}

/* The first conv layer's filters: w is (K, C, R, S). */
static int filters_png(struct outputs *out, const char *dir, const struct ck_layer *l, int li)
{
    const struct ck_conv_params *p = ck_layer_conv_params(l);
    const int K = p->K, C = p->C / p->groups, R = p->R, S = p->S, rgb = C == 3;
    struct grid g;
    if (grid_init(&g, rgb ? K : K * C, rgb ? 3 : 1, R, S, scale_for(S)) != 0)
        return -1;
    const size_t per = (size_t)C * R * S;
    for (int k = 0; k < K; k++) {
        const float *w = l->params + (size_t)k * per;
        float m = 0.0f;
        for (size_t i = 0; i < per; i++)
            m = fmaxf(m, fabsf(w[i]));
        if (rgb)
            grid_put(&g, k, w, -m, m);
        else
            for (int c = 0; c < C; c++)
                grid_put(&g, k * C + c, w + (size_t)c * R * S, -m, m);
    }
    char name[64];
    snprintf(name, sizeof name, "layer%d_conv2d_filters.png", li);
    int rc = stage(out, dir, name, &g);
    free(g.px);
    return rc;
}

/* Feature maps of layer l for the single image of the last forward: y is (1, K, P, Q). */
static int features_png(struct outputs *out, const char *dir, const struct ck_layer *l, int li)
{
    const int K = l->out.c, P = l->out.h, Q = l->out.w;
    struct grid g;
    if (grid_init(&g, K, 1, P, Q, scale_for(Q)) != 0)
        return -1;
    for (int k = 0; k < K; k++) {
        const float *y = l->y + (size_t)k * P * Q;
        float lo = y[0], hi = y[0];
        for (int i = 1; i < P * Q; i++) {
            lo = fminf(lo, y[i]);
            hi = fmaxf(hi, y[i]);
        }
        grid_put(&g, k, y, lo, hi);
    }
    char name[64];
    snprintf(name, sizeof name, "layer%d_conv2d_features.png", li);
    int rc = stage(out, dir, name, &g);
    free(g.px);
    return rc;
}

static int input_png(struct outputs *out, const char *dir, const struct ck_dataset *d, size_t i)
{
    const struct ck_shape s = d->shape;
    const size_t numel = ck_shape_numel(s);
    uint8_t *raw = malloc(numel);
    float *v = malloc(numel * sizeof(float));
    struct grid g = {0};
    int rc = -1;
    if (raw && v && (s.c == 1 || s.c == 3) && grid_init(&g, 1, s.c, s.h, s.w, scale_for(s.w * 4)) == 0) {
        ck_dataset_image(d, i, raw);
        for (size_t k = 0; k < numel; k++)
            v[k] = raw[k];
        grid_put(&g, 0, v, 0.0f, 255.0f);
        rc = stage(out, dir, "input.png", &g);
    } else if (raw && v && s.c != 1 && s.c != 3) {
        rc = 0; /* no PNG for 2- or 4-channel images */
    }
    free(g.px);
    free(raw);
    free(v);
    return rc;
}

int ck_cmd_visualize(int argc, char **argv)
{
    struct ck_opt o[] = {{"checkpoint", 1, NULL}, {"out", 1, NULL}, {"index", 1, NULL},
                         {"dataset", 1, NULL},    {"data-dir", 1, NULL}};
    char msg[512];
    int help = 0, rc, index = 0;
    if (ck_args_parse(argc, argv, o, 5, &help, msg, sizeof msg) != 0 ||
        (o[2].value && ck_args_int("index", o[2].value, 0, 1 << 30, &index, msg, sizeof msg))) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CK_EXIT_OK;
    }
    static const char *const required[] = {"checkpoint", "out"};
    if (ck_cli_require(CMD, o, 5, required, 2) != 0)
        return CK_EXIT_USAGE;
    const char *dir = o[1].value;
    struct ck_checkpoint ck = {0};
    struct ck_trainer *t = NULL;
    struct ck_dataset test = {0};
    static struct outputs out;
    out.n = 0;
    if ((rc = ck_cli_load_checkpoint(CMD, o[0].value, NULL, &ck, &t)) != CK_EXIT_OK)
        return rc;
    const char *name = o[3].value ? o[3].value : ck.dataset;
    if (!name[0]) {
        ck_cli_error(CMD, "the checkpoint names no dataset: give --dataset");
        rc = CK_EXIT_USAGE;
        goto done;
    }
    if ((rc = ck_cli_load_dataset(CMD, name, o[4].value, 0, &t->spec.input, &test)))
        goto done;
    const struct ck_shape a = test.shape, b = t->spec.input;
    if (a.c != b.c || a.h != b.h || a.w != b.w) {
        ck_cli_error(CMD, "--dataset %s has %dx%dx%d images, the model takes %dx%dx%d", name,
                     a.h, a.w, a.c, b.h, b.w, b.c);
        rc = CK_EXIT_USAGE;
        goto done;
    }
    if ((size_t)index >= test.n) {
        ck_cli_error(CMD, "--index %d: the %s test set has %zu images", index, name, test.n);
        rc = CK_EXIT_USAGE;
        goto done;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        ck_cli_error(CMD, "--out %s: %s", dir, strerror(errno));
        rc = CK_EXIT_RUNTIME;
        goto done;
    }
    uint32_t idx = (uint32_t)index;
    ck_dataset_batch(&test, &idx, 1, &t->cfg.norm, NULL, 0, 0, t->x, t->labels);
    struct ck_net *net = t->nets[0];
    rc = CK_EXIT_RUNTIME;
    if (ck_net_forward(net, t->x, 1, NULL, 0) != CK_OK) {
        ck_cli_error(CMD, "forward pass failed");
        goto done;
    }
    int first = 1, failed = input_png(&out, dir, &test, idx) != 0;
    for (int i = 0; !failed && i < net->spec.n_layers; i++) {
        if (net->layers[i].spec.kind != CK_LAYER_CONV2D)
            continue;
        if (first && filters_png(&out, dir, &net->layers[i], i) != 0)
            failed = 1;
        first = 0;
        if (!failed && features_png(&out, dir, &net->layers[i], i) != 0)
            failed = 1;
    }
    for (int i = 0; i < out.n; i++) {
        if (failed) {
            ck_file_discard(out.tmp[i]);
        } else if (ck_file_commit(out.tmp[i], out.path[i], msg, sizeof msg) != CK_OK) {
            ck_cli_error(CMD, "%s", msg);
            failed = 1;
        }
    }
    if (!failed) {
        const float *prob = ck_net_output(net);
        int best = 0;
        for (int k = 1; k < net->classes; k++)
            best = prob[k] > prob[best] ? k : best;
        const int label = ck_dataset_label(&test, idx);
        printf("%s test image %d: label %d%s%s%s, predicted %d%s%s%s (p = %.3f)\n", name, index,
               label, test.class_names ? " (" : "", test.class_names ? test.class_names[label] : "",
               test.class_names ? ")" : "", best, test.class_names && best < test.classes ? " (" : "",
               test.class_names && best < test.classes ? test.class_names[best] : "",
               test.class_names && best < test.classes ? ")" : "", (double)prob[best]);
        for (int i = 0; i < out.n; i++)
            printf("%s\n", out.path[i]);
        rc = CK_EXIT_OK;
    } else if (out.n == 0) {
        ck_cli_error(CMD, "out of memory or write failure");
    }
done:
    ck_dataset_free(&test);
    ck_trainer_free(t);
    ck_checkpoint_free(&ck);
    return rc;
}
