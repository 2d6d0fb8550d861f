/* cmd_conv.c - `convkit conv`: one convolution pass on NumPy files through a chosen backend.
 *
 * Reads x (N,C,H,W) or (C,H,W), w (K,C/G,R,S), optional bias (K) and, for the backward
 * passes, dy (N,K,P,Q); runs the pass through the checked ck_conv_* entry points; writes
 * float32 .npy output(s) atomically (all outputs or none). Exit 2 when the command line
 * itself is wrong, 1 when a file or the run fails. `--problem DESC` (seeded random data,
 * timed) and `--list-backends` are handed to conv_problem_run.c.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/convkit.h"
#include "args.h"
#include "cli.h"
#include "conv_problem_run.h"

#define CMD "conv"

static void usage(FILE *f)
{
    char names[256];
    fprintf(f,
            "usage: convkit conv --input X.npy --weights W.npy --output OUT.npy [options]\n"
            "       convkit conv --problem DESC [--backend NAME] [--pass PASS] [--seed S]\n"
            "                    [--repeat N] [--output OUT.npy]\n"
            "       convkit conv --list-backends\n"
            "\n"
            "One 2-D convolution pass on NumPy files (float32 or float64, C order in;\n"
            "float32 out). Layouts as PyTorch: x is (N,C,H,W) -- or (C,H,W), read as N=1,\n"
            "then outputs are 3-D too; w is (K,C/groups,R,S); bias is (K).\n"
            "\n"
            "options:\n"
            "  --input X.npy          input x; for backward-data only its shape is used\n"
            "  --weights W.npy        filters w\n"
            "  --bias B.npy           bias (forward only)\n"
            "  --stride S|SH,SW       stride (default 1)\n"
            "  --padding MODE         valid | same | P | T,L,B,R (default valid);\n"
            "                         same = TensorFlow/Keras rule, odd pixel bottom/right\n"
            "  --dilation D|DH,DW     dilation (default 1)\n"
            "  --groups G             groups, divides C and K (default 1)\n"
            "  --backend NAME         %s (default auto)\n"
            "  --pass PASS            forward | backward-data | backward-weights\n"
            "                         (default forward)\n"
            "  --grad-output DY.npy   dy (N,K,P,Q), required by the backward passes\n"
            "  --output OUT.npy       forward: y (N,K,P,Q); backward-data: dx (shape of x);\n"
            "                         backward-weights: dw (shape of w)\n"
            "  --bias-grad DB.npy     backward-weights: also write db (K)\n"
            "  --problem DESC         instead of files: a oneDNN benchdnn descriptor such as\n"
            "                         mb64ic32ih16oc64kh3ph1 (keys mb g ic ih iw oc oh ow kh kw\n"
            "                         sh sw ph pw dh dw; dh0 = dense), run on seeded random\n"
            "                         data in [-1,1), timed, and checked against naive\n"
            "  --seed S               seed of the random data (default 1)\n"
            "  --repeat N             timed runs with --problem; the median is shown (default 3)\n"
            "  --list-backends        print the compiled-in backend names, one per line\n"
            "  --help                 this text\n"
            "\n"
            "Exit status: 0 ok; 2 the command line is wrong (unknown/missing/repeated option,\n"
            "bad number, unknown backend); 1 a file or the run failed (unreadable or\n"
            "malformed .npy, inconsistent shapes, backend cannot run the problem).\n"
            "On failure no output file is created or changed.\n",
            ck_backend_names(names, sizeof names));
}

/* Everything one run needs; zero-initialised, freed by job_free. */
struct job {
    enum ck_conv_pass pass;
    const struct ck_conv_backend *backend;
    struct ck_padding pad;
    int stride[2], dilation[2], groups;
    const char *x_path, *w_path, *b_path, *dy_path, *out_path, *db_path;
    struct ck_array x, w, b, dy;
    float *out, *db;
    void *ws;
};

static void job_free(struct job *j)
{
    ck_array_free(&j->x);
    ck_array_free(&j->w);
    ck_array_free(&j->b);
    ck_array_free(&j->dy);
    ck_aligned_free(j->out);
    ck_aligned_free(j->db);
    ck_aligned_free(j->ws);
}

/* Parse the command line into j; 0 ok, -1 after printing a usage error. */
static int parse_options(struct job *j, struct ck_opt *o, size_t n_opts)
{
    char msg[512];
    int n;
    const char *v;
    j->x_path = ck_args_get(o, n_opts, "input");
    j->w_path = ck_args_get(o, n_opts, "weights");
    j->b_path = ck_args_get(o, n_opts, "bias");
    j->dy_path = ck_args_get(o, n_opts, "grad-output");
    j->out_path = ck_args_get(o, n_opts, "output");
    j->db_path = ck_args_get(o, n_opts, "bias-grad");
    static const char *const required[] = {"input", "weights", "output"};
    if (ck_cli_require(CMD, o, n_opts, required, 3) != 0)
        return -1;
    j->pass = CK_PASS_FORWARD;
    if ((v = ck_args_get(o, n_opts, "pass")) && ck_conv_pass_parse(v, &j->pass) != CK_OK) {
        ck_cli_error(CMD, "--pass '%s': expected forward, backward-data or backward-weights", v);
        return -1;
    }
    const char *bname = ck_args_get(o, n_opts, "backend");
    if (!(j->backend = ck_cli_backend(CMD, bname, "auto")))
        return -1;
    j->stride[0] = j->stride[1] = j->dilation[0] = j->dilation[1] = j->groups = 1;
    if ((v = ck_args_get(o, n_opts, "stride"))) {
        if (ck_args_int_list("stride", v, 1, INT_MAX, j->stride, 1, 2, &n, msg, sizeof msg)) {
            ck_cli_error(CMD, "%s", msg);
            return -1;
        }
        if (n == 1)
            j->stride[1] = j->stride[0];
    }
    if ((v = ck_args_get(o, n_opts, "dilation"))) {
        if (ck_args_int_list("dilation", v, 1, INT_MAX, j->dilation, 1, 2, &n, msg,
                             sizeof msg)) {
            ck_cli_error(CMD, "%s", msg);
            return -1;
        }
        if (n == 1)
            j->dilation[1] = j->dilation[0];
    }
    if ((v = ck_args_get(o, n_opts, "groups")) &&
        ck_args_int("groups", v, 1, INT_MAX, &j->groups, msg, sizeof msg)) {
        ck_cli_error(CMD, "%s", msg);
        return -1;
    }
    j->pad.mode = CK_PADDING_VALID;
    if ((v = ck_args_get(o, n_opts, "padding")) &&
        ck_padding_parse(v, &j->pad, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--%s", msg); /* msg starts with "padding '...'" */
        return -1;
    }
    /* options that only make sense for some passes */
    if (j->pass == CK_PASS_FORWARD && j->dy_path) {
        ck_cli_error(CMD, "--grad-output is only used by the backward passes");
        return -1;
    }
    if (j->pass != CK_PASS_FORWARD && !j->dy_path) {
        ck_cli_error(CMD, "--pass %s needs --grad-output DY.npy", ck_conv_pass_name(j->pass));
        return -1;
    }
    if (j->pass != CK_PASS_FORWARD && j->b_path) {
        ck_cli_error(CMD, "--bias is only used by --pass forward");
        return -1;
    }
    if (j->pass != CK_PASS_BACKWARD_WEIGHTS && j->db_path) {
        ck_cli_error(CMD, "--bias-grad is only written by --pass backward-weights");
        return -1;
    }
    if (j->db_path && strcmp(j->db_path, j->out_path) == 0) {
        ck_cli_error(CMD, "--output and --bias-grad name the same file '%s'", j->out_path);
        return -1;
    }
    return 0;
}

/* Read one .npy for option opt; 0 ok, -1 after printing the error. */
static int load(const char *opt, const char *path, struct ck_array *a)
{
    char msg[512];
    if (ck_npy_read(path, a, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--%s %s", opt, msg);
        return -1;
    }
    return 0;
}

static int shape_is(const struct ck_array *a, int ndim, const size_t *shape)
{
    if (a->ndim != ndim)
        return 0;
    for (int i = 0; i < ndim; i++)
        if (a->shape[i] != shape[i])
            return 0;
    return 1;
}

/* Shapes -> conv params, with messages saying expected vs got; 0 ok, -1 printed. */
static int build_params(struct job *j, struct ck_conv_params *p)
{
    char s1[160], s2[160], msg[512];
    const struct ck_array *x = &j->x, *w = &j->w;
    if (x->ndim != 4 && x->ndim != 3) {
        ck_cli_error(CMD, "--input '%s': expected a 4-D (N,C,H,W) or 3-D (C,H,W) array, got "
                     "shape %s", j->x_path, ck_array_shape_str(x->ndim, x->shape, s1, sizeof s1));
        return -1;
    }
    if (w->ndim != 4) {
        ck_cli_error(CMD, "--weights '%s': expected a 4-D (K,C/groups,R,S) array, got shape %s",
                     j->w_path, ck_array_shape_str(w->ndim, w->shape, s1, sizeof s1));
        return -1;
    }
    const int o = x->ndim - 3; /* index of C in x's shape */
    size_t dims[8] = {o ? x->shape[0] : 1, x->shape[o], x->shape[o + 1], x->shape[o + 2],
                      w->shape[0], w->shape[1], w->shape[2], w->shape[3]};
    for (int i = 0; i < 8; i++) {
        if (dims[i] == 0 || dims[i] > INT_MAX) {
            ck_cli_error(CMD, "--%s '%s': every dimension must be in 1..%d, got shape %s",
                         i < 4 ? "input" : "weights", i < 4 ? j->x_path : j->w_path, INT_MAX,
                         i < 4 ? ck_array_shape_str(x->ndim, x->shape, s1, sizeof s1)
                               : ck_array_shape_str(w->ndim, w->shape, s1, sizeof s1));
            return -1;
        }
    }
    ck_conv_params_init(p);
    p->N = (int)dims[0], p->C = (int)dims[1], p->H = (int)dims[2], p->W = (int)dims[3];
    p->K = (int)dims[4], p->R = (int)dims[6], p->S = (int)dims[7];
    p->groups = j->groups;
    p->stride_h = j->stride[0], p->stride_w = j->stride[1];
    p->dilation_h = j->dilation[0], p->dilation_w = j->dilation[1];
    if (p->C % j->groups != 0) {
        ck_cli_error(CMD, "--groups %d does not divide the input channels C=%d of '%s'",
                     j->groups, p->C, j->x_path);
        return -1;
    }
    if (p->K % j->groups != 0) {
        ck_cli_error(CMD, "--groups %d does not divide the output channels K=%d of '%s'",
                     j->groups, p->K, j->w_path);
        return -1;
    }
    if (dims[5] != (size_t)(p->C / j->groups)) {
        ck_cli_error(CMD, "--weights '%s': shape %s has %zu input channels per group, expected "
                     "C/groups = %d/%d = %d", j->w_path,
                     ck_array_shape_str(w->ndim, w->shape, s1, sizeof s1), dims[5], p->C,
                     j->groups, p->C / j->groups);
        return -1;
    }
    if (j->b_path) {
        size_t want = (size_t)p->K;
        if (!shape_is(&j->b, 1, &want)) {
            ck_cli_error(CMD, "--bias '%s': expected shape %s, got %s", j->b_path,
                         ck_array_shape_str(1, &want, s1, sizeof s1),
                         ck_array_shape_str(j->b.ndim, j->b.shape, s2, sizeof s2));
            return -1;
        }
    }
    if (ck_conv_apply_padding(p, &j->pad) != CK_OK || ck_conv_check(p, msg, sizeof msg) != CK_OK) {
        const char *m = strncmp(msg, "conv: ", 6) == 0 ? msg + 6 : msg;
        ck_cli_error(CMD, "%s", m);
        return -1;
    }
    if (j->dy_path) {
        int P, Q;
        ck_conv_output_size(p, &P, &Q);
        size_t want[4] = {(size_t)p->N, (size_t)p->K, (size_t)P, (size_t)Q};
        /* with a 3-D x, dy may be (K,P,Q) or (1,K,P,Q) */
        int ok = shape_is(&j->dy, 4, want) || (x->ndim == 3 && shape_is(&j->dy, 3, want + 1));
        if (!ok) {
            ck_cli_error(CMD, "--grad-output '%s': expected shape %s (N,K,P,Q), got %s",
                         j->dy_path,
                         x->ndim == 3 ? ck_array_shape_str(3, want + 1, s1, sizeof s1)
                                      : ck_array_shape_str(4, want, s1, sizeof s1),
                         ck_array_shape_str(j->dy.ndim, j->dy.shape, s2, sizeof s2));
            return -1;
        }
    }
    return 0;
}

/* Run the pass and write the output(s); 0 ok, -1 printed. */
static int run(struct job *j, const struct ck_conv_params *p)
{
    char msg[512];
    enum ck_status st = ck_backend_supports(j->backend, p, j->pass, msg, sizeof msg);
    if (st != CK_OK) {
        ck_cli_error(CMD, "backend '%s' cannot run this %s problem: %s", j->backend->name,
                     ck_conv_pass_name(j->pass), msg);
        return -1;
    }
    size_t out_n = j->pass == CK_PASS_FORWARD         ? ck_conv_y_numel(p)
                   : j->pass == CK_PASS_BACKWARD_DATA ? ck_conv_x_numel(p)
                                                      : ck_conv_w_numel(p);
    size_t ws_size = ck_conv_workspace_size(j->backend, p, j->pass);
    j->out = ck_aligned_alloc(out_n * sizeof(float));
    j->db = j->db_path ? ck_aligned_alloc((size_t)p->K * sizeof(float)) : NULL;
    j->ws = ws_size ? ck_aligned_alloc(ws_size) : NULL;
    if (!j->out || (j->db_path && !j->db) || (ws_size && !j->ws)) {
        ck_cli_error(CMD, "out of memory (%zu output floats, %zu workspace bytes)", out_n,
                     ws_size);
        return -1;
    }
    switch (j->pass) {
    case CK_PASS_FORWARD:
        st = ck_conv_forward(j->backend, p, j->x.data, j->w.data, j->b_path ? j->b.data : NULL,
                             j->out, j->ws, ws_size);
        break;
    case CK_PASS_BACKWARD_DATA:
        st = ck_conv_backward_data(j->backend, p, j->dy.data, j->w.data, j->out, j->ws,
                                   ws_size);
        break;
    default:
        st = ck_conv_backward_weights(j->backend, p, j->x.data, j->dy.data, j->out, j->db,
                                      j->ws, ws_size);
        break;
    }
    if (st != CK_OK) {
        ck_cli_error(CMD, "backend '%s' failed in %s: %s", j->backend->name,
                     ck_conv_pass_name(j->pass), ck_status_str(st));
        return -1;
    }

    /* output shape: y (N,K,P,Q) [3-D without N if x was 3-D], dx = x's, dw = w's */
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    size_t y_shape[4] = {(size_t)p->N, (size_t)p->K, (size_t)P, (size_t)Q};
    size_t db_shape[1] = {(size_t)p->K};
    int ndim = 4;
    const size_t *shape = j->w.shape;
    if (j->pass == CK_PASS_FORWARD) {
        ndim = j->x.ndim;
        shape = j->x.ndim == 4 ? y_shape : y_shape + 1;
    } else if (j->pass == CK_PASS_BACKWARD_DATA) {
        ndim = j->x.ndim;
        shape = j->x.shape;
    }
    /* stage every output first, then rename them all: all files or none */
    char tmp_out[4200] = "", tmp_db[4200] = "";
    if (strlen(j->out_path) > 4096 || (j->db_path && strlen(j->db_path) > 4096)) {
        ck_cli_error(CMD, "output path too long");
        return -1;
    }
    st = ck_npy_write_staged(j->out_path, j->out, ndim, shape, tmp_out, sizeof tmp_out, msg,
                             sizeof msg);
    if (st == CK_OK && j->db_path) {
        st = ck_npy_write_staged(j->db_path, j->db, 1, db_shape, tmp_db, sizeof tmp_db, msg,
                                 sizeof msg);
        if (st != CK_OK)
            ck_file_discard(tmp_out);
    }
    if (st == CK_OK) {
        st = ck_file_commit(tmp_out, j->out_path, msg, sizeof msg);
        if (st != CK_OK)
            ck_file_discard(tmp_db);
    }
    if (st == CK_OK && j->db_path) {
        st = ck_file_commit(tmp_db, j->db_path, msg, sizeof msg);
        if (st != CK_OK)
            remove(j->out_path); /* do not leave half of the result */
    }
    if (st != CK_OK) {
        ck_cli_error(CMD, "%s", msg);
        return -1;
    }
    char desc[128], s1[160];
    printf("%s %s %s: wrote %s %s%s%s\n", j->backend->name, ck_conv_pass_name(j->pass),
           ck_conv_problem_format(p, desc, sizeof desc), j->out_path,
           ck_array_shape_str(ndim, shape, s1, sizeof s1), j->db_path ? " and " : "",
           j->db_path ? j->db_path : "");
    return 0;
}

/* `--problem DESC`: no input files; params from the descriptor, data seeded random. */
static int problem_main(const struct ck_opt *o, size_t n_opts)
{
    static const char *const file_opts[] = {"input", "weights", "bias", "grad-output",
                                             "bias-grad", "stride", "padding", "dilation",
                                             "groups"};
    for (size_t i = 0; i < sizeof file_opts / sizeof file_opts[0]; i++) {
        if (ck_args_get(o, n_opts, file_opts[i])) {
            ck_cli_error(CMD, "--%s cannot be combined with --problem (the descriptor gives "
                         "the whole problem)", file_opts[i]);
            return CK_EXIT_USAGE;
        }
    }
    struct ck_conv_problem_job job;
    memset(&job, 0, sizeof job);
    char msg[512];
    const char *v;
    if (ck_conv_problem_parse(ck_args_get(o, n_opts, "problem"), &job.params, msg,
                              sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--%s", msg); /* msg starts with "problem '...'" */
        return CK_EXIT_USAGE;
    }
    job.pass = CK_PASS_FORWARD;
    if ((v = ck_args_get(o, n_opts, "pass")) && ck_conv_pass_parse(v, &job.pass) != CK_OK) {
        ck_cli_error(CMD, "--pass '%s': expected forward, backward-data or backward-weights", v);
        return CK_EXIT_USAGE;
    }
    const char *bname = ck_args_get(o, n_opts, "backend");
    if (!(job.backend = ck_cli_backend(CMD, bname, "auto")))
        return CK_EXIT_USAGE;
    int seed = 1;
    job.repeat = 3;
    if (((v = ck_args_get(o, n_opts, "seed")) &&
         ck_args_int("seed", v, 0, 2147483647, &seed, msg, sizeof msg)) ||
        ((v = ck_args_get(o, n_opts, "repeat")) &&
         ck_args_int("repeat", v, 1, 1000, &job.repeat, msg, sizeof msg))) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    job.seed = (uint64_t)seed;
    job.out_path = ck_args_get(o, n_opts, "output");
    return ck_conv_problem_run(&job) ? CK_EXIT_RUNTIME : CK_EXIT_OK;
}

int ck_cmd_conv(int argc, char **argv)
{
    struct ck_opt opts[] = {
        {"input", 1, NULL},   {"weights", 1, NULL},  {"bias", 1, NULL},
        {"stride", 1, NULL},  {"padding", 1, NULL},  {"dilation", 1, NULL},
        {"groups", 1, NULL},  {"backend", 1, NULL},  {"pass", 1, NULL},
        {"grad-output", 1, NULL}, {"output", 1, NULL}, {"bias-grad", 1, NULL},
        {"problem", 1, NULL}, {"seed", 1, NULL},     {"repeat", 1, NULL},
        {"list-backends", 0, NULL},
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
    if (ck_args_get(opts, n_opts, "list-backends")) {
        ck_conv_list_backends();
        return CK_EXIT_OK;
    }
    if (ck_args_get(opts, n_opts, "problem"))
        return problem_main(opts, n_opts);
    if (ck_args_get(opts, n_opts, "seed") || ck_args_get(opts, n_opts, "repeat")) {
        ck_cli_error(CMD, "--seed and --repeat are only used with --problem");
        return CK_EXIT_USAGE;
    }
    struct job j;
    memset(&j, 0, sizeof j);
    if (parse_options(&j, opts, n_opts) != 0)
        return CK_EXIT_USAGE;

    struct ck_conv_params p;
    int rc = load("input", j.x_path, &j.x) || load("weights", j.w_path, &j.w) ||
             (j.b_path && load("bias", j.b_path, &j.b)) ||
             (j.dy_path && load("grad-output", j.dy_path, &j.dy)) || build_params(&j, &p) ||
             run(&j, &p);
    job_free(&j);
    return rc ? CK_EXIT_RUNTIME : CK_EXIT_OK;
}
