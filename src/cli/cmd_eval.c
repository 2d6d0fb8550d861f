/* cmd_eval.c - `convkit eval`: test accuracy, per-class accuracy and the confusion
 * matrix of a checkpoint on a dataset's test split (class names for CIFAR-10 and
 * Fashion-MNIST). The images are normalised with the statistics stored in the
 * checkpoint. Exit 0 ok, 1 unreadable/corrupt files, 2 usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/train.h"
#include "args.h"
#include "cli.h"
#include "train_cli.h"

#define CMD "eval"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: convkit eval --checkpoint FILE [--dataset NAME] [--data-dir DIR]\n"
            "                    [--backend NAME] [--threads T]\n"
            "\n"
            "Evaluate a checkpoint on the test split of a dataset (default: the one it was\n"
            "trained on): accuracy, per-class accuracy and the confusion matrix (rows are\n"
            "true classes, columns predicted classes).\n"
            "\n"
            "Exit status: 0 ok; 1 unreadable or corrupt checkpoint/data; 2 usage error.\n");
}

static const char *class_name(const struct ck_dataset *d, int k, char *buf, size_t len)
{
    if (d->class_names && k < d->classes)
        return d->class_names[k];
    snprintf(buf, len, "%d", k);
    return buf;
}

static void report(const struct ck_dataset *d, int K, const long long *conf, double loss,
                   double acc)
{
    char nb[16];
    long long right = 0;
    for (int k = 0; k < K; k++)
        right += conf[(size_t)k * K + k];
    printf("%s test set: %zu images\n", d->name, d->n);
    printf("accuracy: %.4f (%lld/%zu), mean loss %.4f\n\n", acc, right, d->n, loss);
    printf("per-class accuracy:\n");
    for (int k = 0; k < K; k++) {
        long long n = 0;
        for (int j = 0; j < K; j++)
            n += conf[(size_t)k * K + j];
        if (n == 0 && k >= d->classes)
            continue;
        printf("  %-12s %.4f  (%lld/%lld)\n", class_name(d, k, nb, sizeof nb),
               n ? (double)conf[(size_t)k * K + k] / (double)n : 0.0, conf[(size_t)k * K + k],
               n);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class):\n%-12s", "");
    for (int j = 0; j < K; j++)
        printf(" %6d", j);
    printf("\n");
    for (int k = 0; k < K; k++) {
        printf("%-12.12s", class_name(d, k, nb, sizeof nb));
        for (int j = 0; j < K; j++)
            printf(" %6lld", conf[(size_t)k * K + j]);
        printf("\n");
    }
}

int ck_cmd_eval(int argc, char **argv)
{
    struct ck_opt o[] = {{"checkpoint", 1, NULL}, {"dataset", 1, NULL}, {"data-dir", 1, NULL},
                         {"backend", 1, NULL},    {"threads", 1, NULL}};
    const size_t n_opts = sizeof o / sizeof o[0];
    char msg[512];
    int help = 0, rc;
    if (ck_args_parse(argc, argv, o, n_opts, &help, msg, sizeof msg) != 0 ||
        ck_cli_threads(o[4].value, msg, sizeof msg) != 0) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CK_EXIT_OK;
    }
    static const char *const required[] = {"checkpoint"};
    if (ck_cli_require(CMD, o, n_opts, required, 1) != 0)
        return CK_EXIT_USAGE;
    struct ck_checkpoint ck = {0};
    struct ck_trainer *t = NULL;
    struct ck_dataset test = {0};
    long long *conf = NULL;
    if ((rc = ck_cli_load_checkpoint(CMD, o[0].value, o[3].value, &ck, &t)) != CK_EXIT_OK)
        return rc;
    const char *name = o[1].value ? o[1].value : ck.dataset;
    if (!name[0]) {
        ck_cli_error(CMD, "the checkpoint names no dataset: give --dataset");
        rc = CK_EXIT_USAGE;
        goto done;
    }
    if ((rc = ck_cli_load_dataset(CMD, name, o[2].value, 0, &t->spec.input, &test)) != CK_EXIT_OK)
        goto done;
    const int K = t->nets[0]->classes;
    conf = calloc((size_t)K * K, sizeof *conf);
    double loss, acc;
    enum ck_status st = conf ? ck_trainer_evaluate(t, &test, &loss, &acc, conf)
                             : CK_ERR_OUT_OF_MEMORY;
    if (st == CK_ERR_INVALID_ARGUMENT) {
        ck_cli_error(CMD, "--dataset %s does not fit the model (image shape or classes)", name);
        rc = CK_EXIT_USAGE;
    } else if (st != CK_OK) {
        ck_cli_error(CMD, "evaluation failed: %s", ck_status_str(st));
        rc = CK_EXIT_RUNTIME;
    } else {
        report(&test, K, conf, loss, acc);
    }
done:
    free(conf);
    ck_dataset_free(&test);
    ck_trainer_free(t);
    ck_checkpoint_free(&ck);
    return rc;
}
