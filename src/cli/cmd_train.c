/* cmd_train.c - `convkit train`: train a model spec on a dataset with progress,
 * test accuracy after every epoch, a CSV log and checkpoints; `--resume` continues.
 *
 * The recipe (optimiser, schedule, batch, micro-batch, seed, augmentation) comes from
 * the options, or from the checkpoint when resuming (an option that contradicts it is
 * a usage error). The model's input shape is set to the dataset's image shape (so
 * seed-cnn runs on 28x28x1 Fashion-MNIST). Exit 0 when done, 1 on a runtime failure
 * (including a non-finite loss or gradient, which keeps the last good checkpoint),
 * 2 for a usage error. The loop itself is the library's (train.h); this file prints.
 * Under mpirun the ranks train one model data-parallel (train_mpi_cli.h, docs/mpi.md):
 * rank 0 alone prints, logs and writes checkpoints.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/train.h"
#include "args.h"
#include "cli.h"
#include "train_cli.h"
#include "train_mpi_cli.h"

#define CMD "train"

static void usage(FILE *f)
{
    char names[256];
    fprintf(f,
            "usage: convkit train --model SPEC --dataset cifar10|fashion-mnist|mnist|synthetic\n"
            "                     [--data-dir DIR] [--backend NAME] [--epochs E] [--batch B]\n"
            "                     [--micro-batch M] [--optimizer sgd|adam] [--lr X]\n"
            "                     [--momentum M] [--weight-decay L2] [--schedule S]\n"
            "                     [--threads T] [--seed S] [--augment] [--steps N]\n"
            "                     [--checkpoint FILE] [--resume FILE] [--log FILE.csv]\n"
            "                     [--mpi-timeout S] [--wisdom FILE]\n"
            "\n"
            "Train a CNN with softmax cross-entropy; print progress and the test accuracy\n"
            "after every epoch. Same seed and recipe => the same weights, bit for bit, for\n"
            "any --threads.\n"
            "\n"
            "options:\n"
            "  --model M          preset (seed-cnn), spec text or spec file; its input shape\n"
            "                     is replaced by the dataset's (synthetic: kept, or --input)\n"
            "  --dataset D        cifar10 (needs --data-dir; scripts/fetch-cifar10.sh),\n"
            "                     fashion-mnist (default dir %s),\n"
            "                     mnist (needs --data-dir), synthetic (procedural images)\n"
            "  --data-dir DIR     directory of the dataset files\n"
            "  --input HxWxC      synthetic only: image shape (default: the model's input)\n"
            "  --backend NAME     conv backend: %s (default auto)\n"
            "  --epochs E         total epochs to reach (default 10)\n"
            "  --batch B          images per optimiser step (default 64)\n"
            "  --micro-batch M    images per data-parallel chunk (default min(B, 64); under\n"
            "                     mpirun -np P at most ceil(B/P)); part of the recipe:\n"
            "                     changing it changes the rounding\n"
            "  --optimizer O      sgd or adam (default adam)\n"
            "  --lr X             learning rate (default 0.001 adam, 0.01 sgd)\n"
            "  --momentum M       SGD momentum (default 0.9)\n"
            "  --weight-decay L2  L2 penalty added to the gradients (default 0)\n"
            "  --schedule S       constant | cosine | step[:EPOCHS[:GAMMA]] (default cosine;\n"
            "                     step defaults to step:5:0.1); cosine spans --epochs\n"
            "  --threads T        OpenMP threads (default: all cores)\n"
            "  --seed S           seed of initialisation, shuffling, augmentation, dropout\n"
            "                     (default 1)\n"
            "  --augment          random crop (zero padding H/8) and horizontal flip\n"
            "  --steps N          stop once N optimiser steps are done in total\n"
            "  --checkpoint FILE  save after every epoch and at the end (atomic)\n"
            "  --resume FILE      continue from a checkpoint (its recipe; --checkpoint\n"
            "                     defaults to FILE)\n"
            "  --log FILE.csv     one row per epoch: %s\n"
            "  --mpi-timeout S    under mpirun: seconds a rank waits for the others in one\n"
            "                     exchange before ending the job (default 300; 0: forever)\n"
            "  --wisdom FILE      backend choices `auto` measured with `convkit summary\n"
            "                     --autotune --wisdom FILE` (the choice changes rounding:\n"
            "                     resume with the same file)\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 done; 1 runtime failure (unreadable data, non-finite loss or\n"
            "gradient: the last good checkpoint is kept); 2 usage error.\n"
            "\n"
            "`mpirun -np P convkit train ...` trains one model on P processes (each takes\n"
            "its share of every batch's micro-batches): the same weights, bit for bit, as\n"
            "one process with the same --micro-batch. Rank 0 prints and writes the log and\n"
            "checkpoints.\n",
            CK_FASHION_MNIST_DIR, ck_backend_names(names, sizeof names),
            "epoch,step,loss,accuracy,test_accuracy,images_per_s,seconds");
}

/* ---- progress display -------------------------------------------------------------- */

struct progress {
    int tty, epochs, epoch;
    double t_epoch, t_last;
    long long images;
};

static void fmt_time(double s, char *buf, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void bar(long long done, long long total, char *buf, size_t len)
{
    const int width = 30;
    int fill = total > 0 ? (int)(width * done / total) : width;
    size_t o = 0;
    buf[o++] = '[';
    for (int i = 0; i < width && o + 3 < len; i++)
        buf[o++] = i < fill ? '=' : (i == fill ? '>' : '.');
    buf[o++] = ']';
    buf[o] = '\0';
}

static void on_step(void *user, const struct ck_trainer *t, long long step, long long steps,
                    double loss, double acc, int images)
{
    ck_cli_mpi_test_hook(t);
    struct progress *p = user;
    p->images += images;
    if (!p->tty)
        return;
    double now = ck_cli_now();
    if (now - p->t_last < 0.1 && step < steps)
        return;
    p->t_last = now;
    const double el = now - p->t_epoch, ips = el > 0 ? (double)p->images / el : 0.0;
    char b[40], eta[32];
    bar(step, steps, b, sizeof b);
    fmt_time(step > 0 ? el * (double)(steps - step) / (double)step : 0.0, eta, sizeof eta);
    printf("\r%*lld/%lld %s - ETA %s - loss %.4f - acc %.4f - %.0f img/s \033[K",
           (int)snprintf(NULL, 0, "%lld", steps), step, steps, b, eta, loss, acc, ips);
    fflush(stdout);
}

/* ---- options -> recipe ---------------------------------------------------------------- */

enum { O_MODEL, O_DATASET, O_DATA_DIR, O_INPUT, O_BACKEND, O_EPOCHS, O_BATCH, O_MICRO,
       O_OPTIMIZER, O_LR, O_MOMENTUM, O_WD, O_SCHEDULE, O_THREADS, O_SEED, O_AUGMENT,
       O_STEPS, O_CHECKPOINT, O_RESUME, O_LOG, O_MPI_TIMEOUT, O_WISDOM, O_COUNT };

/* The default micro-batch: the whole batch up to 64 images, so one chunk and the layers' own
 * OpenMP loops take the threads (seed-cnn, batch 64: faster than two data-parallel chunks of
 * 32 at 1 and at 2 threads). Under mpirun with P ranks, at most ceil(B / P), so that every
 * rank has a chunk to run. */
static int default_micro_batch(int batch)
{
    int m = batch < 64 ? batch : 64;
    const int ranks = ck_cli_mpi_ranks();
    if (ranks > 1 && (batch + ranks - 1) / ranks < m)
        m = (batch + ranks - 1) / ranks;
    return m;
}

/* Apply the recipe options given on the command line to cfg. 0 ok, -1 with msg. */
static int apply_recipe(const struct ck_opt *o, struct ck_train_config *cfg,
                        struct ck_shape in, char *msg, size_t msg_len)
{
    const char *v;
    if ((v = o[O_OPTIMIZER].value)) {
        if (strcmp(v, "sgd") != 0 && strcmp(v, "adam") != 0) {
            snprintf(msg, msg_len, "--optimizer '%s': expected sgd or adam", v);
            return -1;
        }
        enum ck_optim_kind k = strcmp(v, "adam") == 0 ? CK_OPTIM_ADAM : CK_OPTIM_SGD;
        if (k != cfg->optim.kind) {
            double mom = cfg->optim.momentum;
            cfg->optim = ck_optim_config_default(k);
            cfg->optim.momentum = mom;
        }
    }
    if ((v = o[O_LR].value) && ck_cli_double("lr", v, 0.0, 1e300, &cfg->optim.lr, msg, msg_len))
        return -1;
    if ((v = o[O_MOMENTUM].value) &&
        ck_cli_double("momentum", v, 0.0, 1.0, &cfg->optim.momentum, msg, msg_len))
        return -1;
    if ((v = o[O_WD].value) &&
        ck_cli_double("weight-decay", v, 0.0, 1e6, &cfg->optim.weight_decay, msg, msg_len))
        return -1;
    const int old_batch = cfg->batch;
    if ((v = o[O_BATCH].value) && ck_args_int("batch", v, 1, 1 << 20, &cfg->batch, msg, msg_len))
        return -1;
    if ((v = o[O_MICRO].value)) {
        if (ck_args_int("micro-batch", v, 1, cfg->batch, &cfg->micro_batch, msg, msg_len))
            return -1;
    } else if (cfg->batch != old_batch) {
        cfg->micro_batch = default_micro_batch(cfg->batch);
    }
    if ((cfg->batch + cfg->micro_batch - 1) / cfg->micro_batch > CK_TRAIN_MAX_CHUNKS) {
        snprintf(msg, msg_len, "--micro-batch %d: at most %d micro-batches per batch of %d",
                 cfg->micro_batch, CK_TRAIN_MAX_CHUNKS, cfg->batch);
        return -1;
    }
    if ((v = o[O_SEED].value)) {
        unsigned long long s;
        if (ck_cli_u64("seed", v, &s, msg, msg_len))
            return -1;
        cfg->seed = s;
    }
    if ((v = o[O_SCHEDULE].value)) {
        int ep = 5, n = 0;
        double gamma = 0.1;
        char tail;
        if (strcmp(v, "constant") == 0) {
            cfg->schedule.kind = CK_LR_CONSTANT;
        } else if (strcmp(v, "cosine") == 0) {
            cfg->schedule.kind = CK_LR_COSINE;
        } else if (strncmp(v, "step", 4) == 0 && (v[4] == '\0' || v[4] == ':') &&
                   (v[4] == '\0' || (n = sscanf(v + 5, "%d:%lf%c", &ep, &gamma, &tail)) == 1 ||
                    n == 2) &&
                   ep >= 1 && gamma > 0.0 && gamma <= 1.0) {
            cfg->schedule = (struct ck_lr_schedule){CK_LR_STEP, ep, gamma};
        } else {
            snprintf(msg, msg_len, "--schedule '%s': expected constant, cosine or "
                                   "step[:EPOCHS[:GAMMA]] (EPOCHS >= 1, 0 < GAMMA <= 1)", v);
            return -1;
        }
    }
    if (o[O_AUGMENT].value) {
        cfg->augment.crop_pad = in.h / 8 > 0 ? in.h / 8 : 1;
        cfg->augment.flip = 1;
    }
    return 0;
}

/* The first recipe field where a and b differ, as an option name; NULL if none. */
static const char *recipe_diff(const struct ck_train_config *a, const struct ck_train_config *b)
{
    if (a->optim.kind != b->optim.kind)
        return "--optimizer";
    if (a->optim.lr != b->optim.lr)
        return "--lr";
    if (a->optim.momentum != b->optim.momentum)
        return "--momentum";
    if (a->optim.weight_decay != b->optim.weight_decay)
        return "--weight-decay";
    if (a->batch != b->batch)
        return "--batch";
    if (a->micro_batch != b->micro_batch)
        return "--micro-batch";
    if (a->seed != b->seed)
        return "--seed";
    if (a->schedule.kind != b->schedule.kind ||
        (a->schedule.kind == CK_LR_STEP && (a->schedule.step_epochs != b->schedule.step_epochs ||
                                            a->schedule.gamma != b->schedule.gamma)))
        return "--schedule";
    if (a->augment.crop_pad != b->augment.crop_pad || a->augment.flip != b->augment.flip)
        return "--augment";
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------ */

struct run {
    struct ck_trainer *t;
    struct ck_dataset train, test;
    const char *dataset, *ckpt_path;
    FILE *log;
    int epochs;
    long long max_steps;
};

static int save_checkpoint(const struct run *r)
{
    char msg[512];
    int rc = CK_EXIT_OK;
    if (r->ckpt_path && ck_cli_mpi_rank() == 0 &&
        ck_checkpoint_save(r->ckpt_path, r->t, r->dataset, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--checkpoint: %s", msg);
        rc = CK_EXIT_RUNTIME;
    }
    return r->ckpt_path ? ck_cli_mpi_agree(rc) : rc; /* MPI: the others learn rank 0's */
}

static int train_loop(struct run *r)
{
    struct ck_trainer *t = r->t;
    const long long spe = ck_train_steps_per_epoch(t, r->train.n);
    struct progress p = {.tty = isatty(STDOUT_FILENO), .epochs = r->epochs};
    const double t_run = ck_cli_now();
    char msg[512];
    while (t->progress.epoch < r->epochs && (r->max_steps == 0 || t->progress.step < r->max_steps)) {
        const int epoch = t->progress.epoch + 1;
        struct ck_epoch_stats stats = {0};
        struct ck_train_hooks hooks = {on_step, &p};
        p.images = 0;
        p.t_epoch = p.t_last = ck_cli_now();
        if (p.tty)
            printf("Epoch %d/%d\n", epoch, r->epochs);
        enum ck_status st = ck_train_epoch(t, &r->train, r->epochs, r->max_steps, &hooks, &stats,
                                           msg, sizeof msg);
        const double secs = ck_cli_now() - p.t_epoch;
        if (st != CK_OK) {
            if (p.tty)
                printf("\n");
            fflush(stdout);
            /* MPI: rank 0 speaks for all, except when this rank's exchange broke */
            if (ck_cli_mpi_failed(t) || ck_cli_mpi_rank() == 0)
                ck_cli_error(CMD, "%s%s%s", msg,
                             st == CK_ERR_DIVERGED && r->ckpt_path ? "; kept the last checkpoint "
                                                                   : "",
                             st == CK_ERR_DIVERGED && r->ckpt_path ? r->ckpt_path : "");
            return st == CK_ERR_INVALID_ARGUMENT ? CK_EXIT_USAGE : CK_EXIT_RUNTIME;
        }
        const double ips = secs > 0 ? (double)stats.images / secs : 0.0;
        const double loss = stats.images ? stats.loss_sum / (double)stats.images : 0.0;
        const double acc = stats.images ? (double)stats.correct / (double)stats.images : 0.0;
        double test_acc = 0.0;
        if (ck_trainer_evaluate(t, &r->test, NULL, &test_acc, NULL) != CK_OK) {
            if (ck_cli_mpi_failed(t) || ck_cli_mpi_rank() == 0)
                ck_cli_error(CMD, "evaluating the test set failed");
            return CK_EXIT_RUNTIME;
        }
        char el[32];
        fmt_time(secs, el, sizeof el);
        const int partial = t->progress.epoch_step != 0;
        if (p.tty) {
            const long long done = partial ? t->progress.epoch_step : spe;
            char b[40];
            bar(done, spe, b, sizeof b);
            printf("\r%*lld/%lld %s - %s - loss %.4f - acc %.4f - %.0f img/s - test_acc %.4f\033[K\n",
                   (int)snprintf(NULL, 0, "%lld", spe), done, spe, b, el, loss, acc, ips, test_acc);
        }
        else
            printf("epoch %d/%d%s - %lld steps - %.1fs - loss %.4f - acc %.4f - %.0f img/s - "
                   "test_acc %.4f\n",
                   epoch, r->epochs, partial ? " (stopped by --steps)" : "", stats.steps, secs,
                   loss, acc, ips, test_acc);
        fflush(stdout);
        if (r->log) {
            fprintf(r->log, "%d,%lld,%.6f,%.6f,%.6f,%.1f,%.3f\n", epoch, t->progress.step, loss,
                    acc, test_acc, ips, ck_cli_now() - t_run);
            fflush(r->log);
        }
        int rc = ck_cli_mpi_check(t); /* MPI: every rank holds the same weights */
        if (rc == CK_EXIT_OK)
            rc = save_checkpoint(r);
        if (rc != CK_EXIT_OK)
            return rc;
    }
    return CK_EXIT_OK;
}

static void print_header(const struct run *r, const char *backend)
{
    const struct ck_trainer *t = r->t;
    const struct ck_train_config *c = &t->cfg;
    const struct ck_shape in = t->spec.input;
    printf("train: %s, %zu training / %zu test images of %dx%dx%d; %zu parameters\n",
           r->dataset, r->train.n, r->test.n, in.h, in.w, in.c, ck_net_param_count(t->nets[0]));
    printf("recipe: %s lr %g", c->optim.kind == CK_OPTIM_ADAM ? "adam" : "sgd", c->optim.lr);
    if (c->optim.kind == CK_OPTIM_SGD)
        printf(" momentum %g", c->optim.momentum);
    if (c->optim.weight_decay > 0)
        printf(" weight decay %g", c->optim.weight_decay);
    printf(", %s schedule, batch %d (micro-batch %d), seed %llu%s; backend %s, %d thread%s\n",
           ck_lr_schedule_name(c->schedule.kind), c->batch, c->micro_batch,
           (unsigned long long)c->seed, c->augment.flip ? ", augmented" : "",
           backend ? backend : "auto", ck_cli_max_threads(), ck_cli_max_threads() > 1 ? "s" : "");
    if (t->progress.step > 0)
        printf("resumed at epoch %d, step %lld\n", t->progress.epoch, t->progress.step);
    ck_cli_print_auto_choices(t->nets[0], "auto picks (per micro-batch), per conv layer and pass:");
    fflush(stdout);
}

static int train_main(int argc, char **argv)
{
    struct ck_opt o[O_COUNT] = {
        {"model", 1, NULL},     {"dataset", 1, NULL},   {"data-dir", 1, NULL},
        {"input", 1, NULL},     {"backend", 1, NULL},   {"epochs", 1, NULL},
        {"batch", 1, NULL},     {"micro-batch", 1, NULL}, {"optimizer", 1, NULL},
        {"lr", 1, NULL},        {"momentum", 1, NULL},  {"weight-decay", 1, NULL},
        {"schedule", 1, NULL},  {"threads", 1, NULL},   {"seed", 1, NULL},
        {"augment", 0, NULL},   {"steps", 1, NULL},     {"checkpoint", 1, NULL},
        {"resume", 1, NULL},    {"log", 1, NULL},       {"mpi-timeout", 1, NULL},
        {"wisdom", 1, NULL}};
    char msg[512];
    int help = 0, rc;
    if (ck_args_parse(argc, argv, o, O_COUNT, &help, msg, sizeof msg) != 0) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CK_EXIT_OK;
    }
    struct run r = {.epochs = 10};
    const char *backend = o[O_BACKEND].value, *resume = o[O_RESUME].value, *v;
    unsigned long long steps = 0;
    if ((v = o[O_EPOCHS].value) && ck_args_int("epochs", v, 1, 1000000, &r.epochs, msg, sizeof msg)) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (((v = o[O_STEPS].value) && ck_cli_u64("steps", v, &steps, msg, sizeof msg)) ||
        ck_cli_threads(o[O_THREADS].value, msg, sizeof msg)) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    r.max_steps = (long long)steps;
    double mpi_timeout = 300.0;
    if ((v = o[O_MPI_TIMEOUT].value) &&
        ck_cli_double("mpi-timeout", v, 0.0, 1e9, &mpi_timeout, msg, sizeof msg)) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (backend && !ck_cli_backend(CMD, backend, "auto"))
        return CK_EXIT_USAGE;
    if ((v = o[O_WISDOM].value) && ck_auto_wisdom_load(v, msg, sizeof msg) != CK_OK) {
        ck_cli_error(CMD, "--wisdom: %s", msg);
        return CK_EXIT_USAGE;
    }
    static const char *const required[] = {"model", "dataset"}; /* unless --resume */
    if (!resume && ck_cli_require(CMD, o, O_COUNT, required, 2) != 0)
        return CK_EXIT_USAGE;
    if (resume && o[O_MODEL].value) {
        ck_cli_error(CMD, "--model cannot be combined with --resume: the checkpoint holds the "
                          "model");
        return CK_EXIT_USAGE;
    }
    struct ck_shape synth, *synth_shape = NULL;
    if ((v = o[O_INPUT].value)) {
        if (ck_cli_shape(v, &synth) != 0) {
            ck_cli_error(CMD, "--input '%s': expected HxWxC with integers >= 1", v);
            return CK_EXIT_USAGE;
        }
        synth_shape = &synth;
    }
    if (synth_shape && !resume && strcmp(o[O_DATASET].value, "synthetic") != 0) {
        ck_cli_error(CMD, "--input is for --dataset synthetic only (other datasets set the "
                          "model's input shape)");
        return CK_EXIT_USAGE;
    }
    struct ck_checkpoint ck = {0};
    static struct ck_model_spec spec; /* ~20 KB: keep it off the stack */
    if (resume) {
        if ((rc = ck_cli_load_checkpoint(CMD, resume, backend, &ck, &r.t)) != CK_EXIT_OK)
            return rc;
        struct ck_train_config given = r.t->cfg;
        const char *diff;
        if (apply_recipe(o, &given, r.t->spec.input, msg, sizeof msg) != 0) {
            ck_cli_error(CMD, "%s", msg);
            rc = CK_EXIT_USAGE;
            goto done;
        }
        if ((diff = recipe_diff(&given, &r.t->cfg))) {
            ck_cli_error(CMD, "%s differs from the recipe in %s (a resumed run keeps its "
                              "checkpoint's recipe)", diff, resume);
            rc = CK_EXIT_USAGE;
            goto done;
        }
        r.dataset = ck.dataset;
        if (o[O_DATASET].value && strcmp(o[O_DATASET].value, ck.dataset) != 0) {
            ck_cli_error(CMD, "--dataset %s differs from %s, which the checkpoint was trained on",
                         o[O_DATASET].value, ck.dataset);
            rc = CK_EXIT_USAGE;
            goto done;
        }
        synth = r.t->spec.input;
        synth_shape = &synth;
        r.ckpt_path = o[O_CHECKPOINT].value ? o[O_CHECKPOINT].value : resume;
    } else {
        r.dataset = o[O_DATASET].value;
        r.ckpt_path = o[O_CHECKPOINT].value;
        if (strcmp(r.dataset, "synthetic") == 0 && !synth_shape) {
            /* the model's own input line gives the synthetic images' shape */
            if (ck_model_spec_resolve(o[O_MODEL].value, NULL, &spec, msg, sizeof msg) != CK_OK) {
                ck_cli_error(CMD, "--model: %s", msg);
                return CK_EXIT_USAGE;
            }
            synth = spec.input;
            synth_shape = &synth;
        }
    }
    const char *dir = o[O_DATA_DIR].value;
    if ((rc = ck_cli_load_dataset(CMD, r.dataset, dir, 1, synth_shape, &r.train)) != CK_EXIT_OK ||
        (rc = ck_cli_load_dataset(CMD, r.dataset, dir, 0, synth_shape, &r.test)) != CK_EXIT_OK)
        goto done;
    if (!resume) {
        enum ck_status st = ck_model_spec_resolve(o[O_MODEL].value, &r.train.shape, &spec, msg,
                                                  sizeof msg);
        if (st != CK_OK) {
            ck_cli_error(CMD, "--model: %s", msg);
            rc = st == CK_ERR_INVALID_ARGUMENT ? CK_EXIT_USAGE : CK_EXIT_RUNTIME;
            goto done;
        }
        struct ck_train_config cfg = ck_train_config_default();
        cfg.optim = ck_optim_config_default(CK_OPTIM_ADAM);
        cfg.optim.momentum = 0.9;
        cfg.schedule.kind = CK_LR_COSINE;
        cfg.micro_batch = default_micro_batch(cfg.batch);
        if (apply_recipe(o, &cfg, spec.input, msg, sizeof msg) != 0) {
            ck_cli_error(CMD, "%s", msg);
            rc = CK_EXIT_USAGE;
            goto done;
        }
        if (cfg.optim.kind == CK_OPTIM_ADAM)
            cfg.optim.momentum = 0.0; /* not used by Adam; keeps printed recipes honest */
        if (ck_dataset_stats(&r.train, &cfg.norm) != CK_OK) {
            ck_cli_error(CMD, "--dataset: images with more than %d channels", CK_DATA_MAX_CHANNELS);
            rc = CK_EXIT_USAGE;
            goto done;
        }
        st = ck_trainer_create(&spec, &cfg, backend, &r.t, msg, sizeof msg);
        if (st != CK_OK) {
            ck_cli_error(CMD, "%s", msg);
            rc = st == CK_ERR_OUT_OF_MEMORY ? CK_EXIT_RUNTIME : CK_EXIT_USAGE;
            goto done;
        }
    }
    if (o[O_LOG].value && ck_cli_mpi_rank() == 0) {
        FILE *probe = resume ? fopen(o[O_LOG].value, "rb") : NULL;
        int had_rows = probe && fgetc(probe) != EOF;
        if (probe)
            fclose(probe);
        if (!(r.log = fopen(o[O_LOG].value, had_rows ? "a" : "w"))) {
            ck_cli_error(CMD, "--log %s: cannot open for writing", o[O_LOG].value);
            rc = CK_EXIT_RUNTIME;
            goto done;
        }
        if (!had_rows)
            fprintf(r.log, "epoch,step,loss,accuracy,test_accuracy,images_per_s,seconds\n");
    }
    /* MPI: every rank got here; agree on the setup, then share the work */
    if ((rc = ck_cli_mpi_agree(CK_EXIT_OK)) != CK_EXIT_OK ||
        (rc = ck_cli_mpi_attach(r.t, mpi_timeout)) != CK_EXIT_OK)
        goto done;
    print_header(&r, backend);
    if (ck_cli_mpi_ranks() > 1)
        printf("mpi: %d ranks, each runs its share of the %d micro-batches of a batch (one "
               "process gives the same bits with --micro-batch %d)\n",
               ck_cli_mpi_ranks(), r.t->n_replicas, r.t->cfg.micro_batch);
    if (r.t->progress.epoch >= r.epochs ||
        (r.max_steps > 0 && r.t->progress.step >= r.max_steps)) {
        printf("nothing to do: already at epoch %d, step %lld\n", r.t->progress.epoch,
               r.t->progress.step);
        rc = CK_EXIT_OK;
        goto done;
    }
    rc = train_loop(&r);
done:
    if (r.log && fclose(r.log) != 0 && rc == CK_EXIT_OK) {
        ck_cli_error(CMD, "--log %s: write failed", o[O_LOG].value);
        rc = CK_EXIT_RUNTIME;
    }
    ck_trainer_free(r.t);
    ck_checkpoint_free(&ck);
    ck_dataset_free(&r.train);
    ck_dataset_free(&r.test);
    return rc;
}

int ck_cmd_train(int argc, char **argv)
{
    int rc = ck_cli_mpi_start();
    if (rc != CK_EXIT_OK)
        return rc;
    return ck_cli_mpi_end(train_main(argc, argv));
}
