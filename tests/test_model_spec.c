/* test_model_spec.c - the model-spec parser: good specs (every option, comments, ';',
 * defaults, presets, input override, files, canonical format) and every malformed case
 * with the reported line and column checked by hand. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convkit/convkit.h"

static struct ck_model_spec spec; /* large: keep off the stack */
static char msg[512];

static void parse_ok(const char *text)
{
    enum ck_status st = ck_model_spec_parse(text, NULL, &spec, msg, sizeof msg);
    cr_assert_eq(st, CK_OK, "spec failed: %s", msg);
}

static void expect_shape(int i, int h, int w, int c)
{
    struct ck_shape s = spec.shapes[i];
    cr_expect(s.h == h && s.w == w && s.c == c, "layer %d: got %dx%dx%d, expected %dx%dx%d",
              i, s.h, s.w, s.c, h, w, c);
}

Test(model_spec, seed_cnn_preset_is_the_design_block)
{
    parse_ok("seed-cnn");
    cr_assert_eq(spec.n_layers, 7);
    cr_expect(spec.input.h == 32 && spec.input.w == 32 && spec.input.c == 3);
    /* same-padded 3x3 convs keep the size, 2x2/2 pools halve it */
    expect_shape(0, 32, 32, 32);
    expect_shape(1, 16, 16, 32);
    expect_shape(2, 16, 16, 64);
    expect_shape(3, 8, 8, 64);
    expect_shape(4, 1, 1, 4096);
    expect_shape(5, 1, 1, 128);
    expect_shape(6, 1, 1, 10);
    cr_expect_eq(spec.layers[0].activation, CK_ACT_RELU);
    cr_expect_eq(spec.layers[2].padding.mode, CK_PADDING_SAME);
    cr_expect(spec.layers[3].stride_h == 2 && spec.layers[3].stride_w == 2); /* = pool */
    cr_expect_eq(spec.layers[6].activation, CK_ACT_NONE);
    cr_expect_not_null(ck_model_preset("seed-cnn"));
    cr_expect_null(ck_model_preset("resnet50"));
}

Test(model_spec, every_option_comments_semicolons_and_blank_lines)
{
    parse_ok("# a comment line\n"
             "\n"
             "input 17x13x4   # trailing comment\n"
             "conv2d 6 3x5 stride=2,1 padding=1,2,0,3 dilation=2 groups=2 activation=leaky_relu "
             "alpha=0.2 backend=naive bias=false\n"
             "  maxpool2d 3 stride=2 padding=same ; avgpool2d\n"
             "relu; leaky_relu alpha=0.3; sigmoid; tanh; dropout 0.25\n"
             "flatten\r\n"
             "dense 7 activation=tanh bias=true\n");
    cr_assert_eq(spec.n_layers, 10);
    const struct ck_layer_spec *c = &spec.layers[0];
    cr_expect(c->kind == CK_LAYER_CONV2D && c->units == 6 && c->kh == 3 && c->kw == 5);
    cr_expect(c->stride_h == 2 && c->stride_w == 1 && c->dilation_h == 2 && c->dilation_w == 2);
    cr_expect(c->padding.mode == CK_PADDING_EXPLICIT && c->padding.top == 1 &&
              c->padding.left == 2 && c->padding.bottom == 0 && c->padding.right == 3);
    cr_expect(c->groups == 2 && c->activation == CK_ACT_LEAKY_RELU && c->bias == 0);
    cr_expect(fabsf(c->alpha - 0.2f) < 1e-7f && strcmp(c->backend, "naive") == 0);
    cr_expect_eq(c->line, 4);
    cr_expect_eq(c->column, 1);
    /* conv: H: (17 + 1 + 0 - (2*2+1)) / 2 + 1 = 7; W: (13 + 2 + 3 - (4*2+1)) / 1 + 1 = 10 */
    expect_shape(0, 7, 10, 6);
    /* maxpool 3x3/2 same: ceil(7/2) = 4, ceil(10/2) = 5 */
    cr_expect(spec.layers[1].kh == 3 && spec.layers[1].kw == 3 && spec.layers[1].column == 3);
    expect_shape(1, 4, 5, 6);
    /* avgpool default 2x2 stride 2: 2x2; its column counts from the line start */
    cr_expect(spec.layers[2].kh == 2 && spec.layers[2].stride_h == 2 && spec.layers[2].line == 5);
    cr_expect_eq(spec.layers[2].column, 39); /* 2 spaces + 34 chars + " ; " */
    expect_shape(2, 2, 2, 6);
    cr_expect_eq(spec.layers[4].kind, CK_LAYER_LEAKY_RELU);
    cr_expect(fabsf(spec.layers[4].alpha - 0.3f) < 1e-7f);
    cr_expect(fabsf(spec.layers[7].rate - 0.25f) < 1e-7f);
    expect_shape(8, 1, 1, 24); /* flatten 2*2*6 */
    expect_shape(9, 1, 1, 7);
    cr_expect(spec.layers[9].activation == CK_ACT_TANH && spec.layers[9].bias == 1);
}

Test(model_spec, single_number_sizes_and_defaults)
{
    parse_ok("input 8x8x1; conv2d 4 3; maxpool2d 2x3; flatten; dense 2");
    const struct ck_layer_spec *c = &spec.layers[0];
    cr_expect(c->kh == 3 && c->kw == 3 && c->stride_h == 1 && c->groups == 1 && c->bias == 1);
    cr_expect(c->padding.mode == CK_PADDING_VALID && c->activation == CK_ACT_NONE);
    cr_expect(c->backend[0] == '\0');
    expect_shape(0, 6, 6, 4);
    /* pool stride defaults to the pool size (2,3): (6-2)/2+1 = 3, (6-3)/3+1 = 2 */
    cr_expect(spec.layers[1].stride_h == 2 && spec.layers[1].stride_w == 3);
    expect_shape(1, 3, 2, 4);
}

Test(model_spec, input_override_replaces_the_input_line)
{
    struct ck_shape in = {1, 28, 28};
    cr_assert_eq(ck_model_spec_parse("seed-cnn", &in, &spec, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect(spec.input.c == 1 && spec.input.h == 28);
    expect_shape(3, 7, 7, 64); /* 28 -> 14 -> 7 */
    expect_shape(4, 1, 1, 3136);
    /* a shape that becomes invalid under the override is reported at its layer */
    struct ck_shape tiny = {1, 2, 2};
    cr_expect_eq(ck_model_spec_parse("seed-cnn", &tiny, &spec, msg, sizeof msg),
                 CK_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "line 5, column 1: maxpool2d:") != NULL, "%s", msg);
}

struct bad {
    const char *text;
    int line, col;
    const char *what;
};

/* Columns are 1-based byte positions, counted by hand. */
static const struct bad bad_specs[] = {
    {"", 1, 1, "missing input line"},
    {"   \n# only a comment\n", 3, 1, "missing input line"},
    {"conv2d 8 3x3\ninput 8x8x1", 1, 1, "missing input line"},
    {"input 32x32x3\nconv3d 8 3x3", 2, 1, "unknown layer 'conv3d'"},
    {"input 32x32x3\nconv2d eight 3x3", 2, 8, "bad number 'eight'"},
    {"input 32x32x3\nconv2d 8 3x3 strides=2", 2, 14, "unknown option 'strides'"},
    {"input 32x32x3\nconv2d 8 3y3", 2, 10, "bad size '3y3'"},
    {"input 32x32\nrelu", 1, 7, "bad input shape '32x32'"},
    {"input 32x32x0\nrelu", 1, 7, "bad input shape"},
    {"input\nrelu", 1, 6, "input needs a shape"},
    {"input 4x4x1\nconv2d 2 5x5", 2, 1, "larger than the padded input 4x4"},
    {"input 8x8x1\nconv2d 2 3x3\ndense 10", 3, 1, "add 'flatten' before it"},
    {"input 8x8x3; conv2d 4 3x3 groups=2", 1, 14, "groups (2) must divide"},
    {"input 8x8x1\ndropout 1.5", 2, 9, "dropout rate"},
    {"input 8x8x1\ndropout", 2, 8, "dropout needs a rate"},
    {"input 8x8x1\nconv2d 8 3x3 padding=1,2", 2, 22, "give 1 value"},
    {"input 8x8x1\nconv2d 8 3x3 padding=wide", 2, 22, "padding 'wide'"},
    {"input 8x8x1\nconv2d 8 3x3 activation=gelu", 2, 25, "unknown activation 'gelu'"},
    {"input 8x8x1\nconv2d 8 3x3 stride=2 stride=1", 2, 23, "given twice"},
    {"input 8x8x1\nconv2d 8 3x3 stride=0", 2, 21, "bad number '0' for stride"},
    {"input 8x8x1\nconv2d 8 3x3 stride=", 2, 21, "needs a value"},
    {"input 8x8x1\nconv2d 8", 2, 9, "conv2d needs filters and a size"},
    {"input 8x8x1\nconv2d 8 3x3 4", 2, 14, "unexpected word '4'"},
    {"input 8x8x1\ninput 8x8x1", 2, 1, "input given twice"},
    {"input 8x8x1\n", 1, 1, "no layers"},
    {"input 8x8x1\nflatten extra", 2, 9, "unexpected word 'extra'"},
    {"input 8x8x1\ndense", 2, 6, "dense needs a unit count"},
    {"input 8x8x1\nconv2d 4 3x3 backend=nope", 2, 22, "unknown backend 'nope'"},
    {"input 8x8x1\nmaxpool2d 3x3 padding=3", 2, 1, "smaller than the pool window"},
    {"input 8x8x1\nconv2d 4 3x3 bias=maybe", 2, 19, "bias must be true or false"},
    {"input 8x8x1; relu; bogus", 1, 20, "unknown layer 'bogus'"},
    {"# c\ninput 8x8x1 # x\n\nrelu\nconv2d 0 3x3", 5, 8, "bad number '0'"},
    {"input 8x8x1\nleaky_relu alpha=-1", 2, 18, "alpha"},
    {"input 8x8x1\nrelu alpha=0.1", 2, 6, "unknown option 'alpha' for relu"},
    {"input 8x8x1\nflatten\nconv2d 4 3x3", 3, 1, "larger than the padded input 1x1"},
    {"input 8x8x1\ndense 4 activation=relu=3", 2, 20, "unknown activation"},
};

Test(model_spec, malformed_specs_report_line_and_column)
{
    for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
        const struct bad *b = &bad_specs[i];
        msg[0] = '\0';
        enum ck_status st = ck_model_spec_parse(b->text, NULL, &spec, msg, sizeof msg);
        char where[48];
        snprintf(where, sizeof where, "line %d, column %d: ", b->line, b->col);
        cr_expect_eq(st, CK_ERR_INVALID_ARGUMENT, "case %zu (%s) parsed", i, b->text);
        cr_expect(strncmp(msg, where, strlen(where)) == 0, "case %zu: want '%s', got '%s'", i,
                  where, msg);
        cr_expect(strstr(msg, b->what) != NULL, "case %zu: want '%s' in '%s'", i, b->what, msg);
    }
}

Test(model_spec, load_from_file_and_resolve)
{
    char path[] = "/tmp/ck_spec_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("input 10x10x2\nconv2d 3 3x3\n\nflatten\ndense 4 activation=sigmoid\n", f);
    fclose(f);
    cr_assert_eq(ck_model_spec_load(path, NULL, &spec, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(spec.n_layers, 3);
    expect_shape(1, 1, 1, 3 * 8 * 8);
    cr_assert_eq(ck_model_spec_resolve(path, NULL, &spec, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_model_spec_resolve("seed-cnn", NULL, &spec, msg, sizeof msg), CK_OK);
    cr_expect_eq(spec.n_layers, 7);
    cr_assert_eq(ck_model_spec_resolve("input 4x4x1; flatten; dense 2", NULL, &spec, msg,
                                       sizeof msg), CK_OK, "%s", msg);
    /* a parse error in a file names the file, then line and column */
    f = fopen(path, "w");
    fputs("input 10x10x2\nconv2d 3 3x3 wat=1\n", f);
    fclose(f);
    cr_expect_eq(ck_model_spec_load(path, NULL, &spec, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT);
    char want[96];
    snprintf(want, sizeof want, "%s: line 2, column 14: unknown option 'wat'", path);
    cr_expect(strncmp(msg, want, strlen(want)) == 0, "got '%s'", msg);
    unlink(path);
    /* a missing file is an I/O error naming it */
    cr_expect_eq(ck_model_spec_load(path, NULL, &spec, msg, sizeof msg), CK_ERR_IO);
    cr_expect(strstr(msg, path) && strstr(msg, "No such file"), "%s", msg);
    cr_expect_eq(ck_model_spec_resolve(path, NULL, &spec, msg, sizeof msg), CK_ERR_IO);
}

Test(model_spec, canonical_format_parses_back_to_the_same_spec)
{
    parse_ok("input 17x13x4\n"
             "conv2d 6 3x5 stride=2,1 padding=1,2,0,3 dilation=2 groups=2 "
             "activation=leaky_relu alpha=0.2 backend=naive bias=false\n"
             "maxpool2d 3 stride=2 padding=same; avgpool2d; leaky_relu alpha=0.3\n"
             "dropout 0.25; flatten; dense 7 activation=sigmoid\n");
    static struct ck_model_spec again;
    char text[2048];
    cr_assert_eq(ck_model_spec_format(&spec, text, sizeof text), CK_OK);
    cr_assert_eq(ck_model_spec_parse(text, NULL, &again, msg, sizeof msg), CK_OK, "%s\n%s", msg,
                 text);
    cr_assert_eq(again.n_layers, spec.n_layers);
    for (int i = 0; i < spec.n_layers; i++) {
        struct ck_layer_spec a = spec.layers[i], b = again.layers[i];
        a.line = b.line = a.column = b.column = 0;
        if (a.padding.mode == CK_PADDING_SAME) /* unused explicit fields */
            a.padding = b.padding;
        cr_expect(memcmp(&a, &b, sizeof a) == 0, "layer %d differs after format:\n%s", i, text);
        cr_expect(memcmp(&spec.shapes[i], &again.shapes[i], sizeof(struct ck_shape)) == 0);
    }
    char small[16];
    cr_expect_eq(ck_model_spec_format(&spec, small, sizeof small), CK_ERR_INVALID_ARGUMENT);
}
