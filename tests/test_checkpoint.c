/* test_checkpoint.c - checkpoint files (checkpoint.h): the byte layout checked against
 * the documented format with an independent CRC-32 (zlib), round trips, and refusal of
 * truncated, corrupted, inconsistent and trailing-garbage files; atomic writes.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/train.h"
#include "files.h"

#define SPEC "input 6x6x2; conv2d 3 3x3 activation=relu; flatten; dense 4"

static char dir[64], path[128];

static void setup(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_ckpt"), 0);
    snprintf(path, sizeof path, "%s/t.ckpt", dir);
}

static void teardown(void)
{
    ckt_tmpdir_remove(dir);
}

TestSuite(checkpoint, .init = setup, .fini = teardown);

/* An Adam trainer after two steps on fixed data (so the state is not all zero). */
static struct ck_trainer *trained(void)
{
    struct ck_model_spec spec;
    char msg[256];
    cr_assert_eq(ck_model_spec_parse(SPEC, NULL, &spec, msg, sizeof msg), CK_OK, "%s", msg);
    struct ck_train_config c = ck_train_config_default();
    c.optim = ck_optim_config_default(CK_OPTIM_ADAM);
    c.batch = 4;
    c.micro_batch = 2;
    c.seed = 5;
    c.schedule = (struct ck_lr_schedule){CK_LR_STEP, 3, 0.5};
    c.augment = (struct ck_augment){1, 1};
    c.norm = (struct ck_normalize){2, {0.25f, 0.5f}, {0.5f, 0.125f}};
    struct ck_trainer *t;
    cr_assert_eq(ck_trainer_create(&spec, &c, "naive", &t, msg, sizeof msg), CK_OK, "%s", msg);
    float x[4 * 72];
    int y[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4 * 72; i++)
        x[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
    for (int s = 0; s < 2; s++)
        cr_assert_eq(ck_trainer_step(t, x, y, 4, NULL, NULL), CK_OK);
    t->progress = (struct ck_train_progress){3, 1, 2};
    t->dropout.counter = 12345;
    return t;
}

static uint8_t *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 16);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the trailing CRC after an edit of the payload. */
static void reseal(uint8_t *b, size_t len)
{
    put_le32(b + len - 4, (uint32_t)crc32(0L, b + 20, (uInt)(len - 24)));
}

Test(checkpoint, file_layout_matches_the_format)
{
    struct ck_trainer *t = trained();
    char msg[256];
    cr_assert_eq(ck_checkpoint_save(path, t, "synthetic", msg, sizeof msg), CK_OK, "%s", msg);
    size_t len;
    uint8_t *b = slurp(path, &len);
    cr_assert_eq(memcmp(b, "CKPT\r\n\x1a\n", 8), 0);
    cr_assert_eq(le(b + 8, 4), 1);
    cr_assert_eq(le(b + 12, 8), len - 24);
    cr_assert_eq(le(b + len - 4, 4), (uint32_t)crc32(0L, b + 20, (uInt)(len - 24)));
    /* payload starts with the spec text, length-prefixed */
    char text[4096];
    cr_assert_eq(ck_model_spec_format(&t->spec, text, sizeof text), CK_OK);
    cr_assert_eq(le(b + 20, 4), strlen(text));
    cr_assert_eq(memcmp(b + 24, text, strlen(text)), 0);
    /* ends with params (count + floats) and Adam state (count 2 * params_len + floats) */
    const size_t np = t->nets[0]->params_len, ns = t->opt.state_len;
    cr_assert_eq(ns, 2 * np);
    const uint8_t *state = b + len - 4 - 4 * ns;
    cr_assert_eq(le(state - 8, 8), ns);
    cr_assert_eq(memcmp(state, t->opt.state, 4 * ns), 0); /* little-endian host */
    cr_assert_eq(le(state - 8 - 4 * np - 8, 8), np);
    free(b);
    ck_trainer_free(t);
}

Test(checkpoint, round_trip_restores_everything)
{
    struct ck_trainer *t = trained();
    char msg[256];
    cr_assert_eq(ck_checkpoint_save(path, t, "fashion-mnist", msg, sizeof msg), CK_OK, "%s", msg);
    struct ck_checkpoint c;
    cr_assert_eq(ck_checkpoint_read(path, &c, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_str_eq(c.dataset, "fashion-mnist");
    cr_assert_eq(memcmp(&c.cfg.optim, &t->cfg.optim, sizeof c.cfg.optim), 0);
    cr_assert_eq(c.cfg.schedule.kind, CK_LR_STEP);
    cr_assert_eq(c.cfg.schedule.step_epochs, 3);
    cr_assert_eq(c.cfg.batch, 4);
    cr_assert_eq(c.cfg.micro_batch, 2);
    cr_assert_eq(c.cfg.seed, 5);
    cr_assert_eq(c.cfg.augment.crop_pad, 1);
    cr_assert_eq(c.cfg.norm.std[1], 0.125f);
    cr_assert_eq(c.progress.epoch, 3);
    cr_assert_eq(c.progress.epoch_step, 1);
    cr_assert_eq(c.progress.step, 2);
    cr_assert_eq(c.dropout_counter, 12345);
    cr_assert_eq(c.optim_step, 2);
    struct ck_trainer *r;
    cr_assert_eq(ck_checkpoint_restore(&c, NULL, &r, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(memcmp(r->nets[0]->params, t->nets[0]->params,
                        t->nets[0]->params_len * sizeof(float)), 0);
    cr_assert_eq(memcmp(r->opt.state, t->opt.state, t->opt.state_len * sizeof(float)), 0);
    cr_assert_eq(r->opt.step, 2);
    cr_assert_eq(r->dropout.counter, 12345);
    /* saving the restored trainer reproduces the file byte for byte */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/again.ckpt", dir);
    cr_assert_eq(ck_checkpoint_save(p2, r, "fashion-mnist", msg, sizeof msg), CK_OK);
    size_t l1, l2;
    uint8_t *b1 = slurp(path, &l1), *b2 = slurp(p2, &l2);
    cr_assert_eq(l1, l2);
    cr_assert_eq(memcmp(b1, b2, l1), 0);
    free(b1);
    free(b2);
    ck_checkpoint_free(&c);
    ck_trainer_free(r);
    ck_trainer_free(t);
}

Test(checkpoint, truncated_and_corrupted_files_are_refused)
{
    struct ck_trainer *t = trained();
    char msg[256];
    cr_assert_eq(ck_checkpoint_save(path, t, "synthetic", msg, sizeof msg), CK_OK, "%s", msg);
    ck_trainer_free(t);
    size_t len;
    uint8_t *b = slurp(path, &len);
    struct ck_checkpoint c;
    const size_t cuts[] = {0, 5, 8, 19, 20, 23, 200, len / 2, len - 5, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        msg[0] = '\0';
        cr_assert_eq(ck_checkpoint_parse(b, cuts[i], "cut", &c, msg, sizeof msg),
                     CK_ERR_CORRUPT_DATA, "cut at %zu", cuts[i]);
        cr_assert(strstr(msg, "cut"), "%s", msg);
    }
    cr_assert_eq(ck_checkpoint_parse(b, len - 1, "cut", &c, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "truncated"), "%s", msg);
    /* one flipped bit anywhere: header, payload, CRC */
    const size_t at[] = {0, 9, 13, 20, 30, len / 3, len / 2, len - 30, len - 2};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        b[at[i]] ^= 0x10;
        cr_assert_eq(ck_checkpoint_parse(b, len, "flip", &c, msg, sizeof msg),
                     CK_ERR_CORRUPT_DATA, "bit flip at %zu accepted", at[i]);
        b[at[i]] ^= 0x10;
    }
    msg[0] = '\0';
    b[len / 2] ^= 1;
    cr_assert_eq(ck_checkpoint_parse(b, len, "flip", &c, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "checksum"), "%s", msg);
    b[len / 2] ^= 1;
    /* trailing garbage */
    b[len] = 0;
    cr_assert_eq(ck_checkpoint_parse(b, len + 1, "tail", &c, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert_eq(ck_checkpoint_parse(b, len, "ok", &c, msg, sizeof msg), CK_OK, "%s", msg);
    ck_checkpoint_free(&c);
    /* via the file reader, the message names the file */
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len - 100, f);
    fclose(f);
    cr_assert_eq(ck_checkpoint_read(path, &c, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, path), "%s", msg);
    free(b);
}

Test(checkpoint, consistent_crc_but_bad_fields_are_refused)
{
    struct ck_trainer *t = trained();
    char msg[256];
    cr_assert_eq(ck_checkpoint_save(path, t, "synthetic", msg, sizeof msg), CK_OK, "%s", msg);
    ck_trainer_free(t);
    size_t len;
    uint8_t *b = slurp(path, &len);
    struct ck_checkpoint c;
    struct ck_trainer *r;
    /* the spec says dense 4; make it dense 5: the stored parameters no longer fit */
    uint8_t *d4 = NULL;
    for (size_t i = 0; i + 7 <= len && !d4; i++)
        if (memcmp(b + i, "dense 4", 7) == 0)
            d4 = b + i;
    cr_assert_not_null(d4);
    d4[6] = '5';
    reseal(b, len);
    cr_assert_eq(ck_checkpoint_parse(b, len, "x", &c, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_checkpoint_restore(&c, NULL, &r, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "parameters"), "%s", msg);
    ck_checkpoint_free(&c);
    /* a spec that does not parse */
    d4[0] = 'D';
    reseal(b, len);
    cr_assert_eq(ck_checkpoint_parse(b, len, "x", &c, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ck_checkpoint_restore(&c, NULL, &r, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    ck_checkpoint_free(&c);
    d4[0] = 'd', d4[6] = '4';
    /* batch field set to 0 (offset: spec, dataset, then kind u32, lr/mom/damp f64,
     * nesterov u32, beta1/beta2/eps/wd f64, schedule kind/epochs u32, gamma f64) */
    size_t off = 20 + 4 + le(b + 20, 4);
    off += 4 + le(b + off, 4);
    off += 4 + 3 * 8 + 4 + 4 * 8 + 4 + 4 + 8;
    cr_assert_eq(le(b + off, 4), 4);
    put_le32(b + off, 0);
    reseal(b, len);
    cr_assert_eq(ck_checkpoint_parse(b, len, "x", &c, msg, sizeof msg), CK_ERR_CORRUPT_DATA);
    cr_assert(strstr(msg, "batch"), "%s", msg);
    free(b);
}

Test(checkpoint, writes_are_atomic)
{
    struct ck_trainer *t = trained();
    char msg[512], bad[200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.ckpt", dir);
    cr_assert_eq(ck_checkpoint_save(bad, t, NULL, msg, sizeof msg), CK_ERR_IO);
    cr_assert(strstr(msg, "x.ckpt"), "%s", msg);
    cr_assert_eq(ckt_dir_count(dir, NULL), 0);
    cr_assert_eq(ck_checkpoint_save(path, t, NULL, msg, sizeof msg), CK_OK, "%s", msg);
    t->progress.step++;
    cr_assert_eq(ck_checkpoint_save(path, t, NULL, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(ckt_dir_count(dir, NULL), 1); /* replaced in place, no temporary left */
    struct ck_checkpoint c;
    cr_assert_eq(ck_checkpoint_read(path, &c, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(c.progress.step, 3);
    cr_assert_str_eq(c.dataset, "");
    ck_checkpoint_free(&c);
    ck_trainer_free(t);
}
