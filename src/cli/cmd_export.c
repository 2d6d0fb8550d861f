/* cmd_export.c - `convkit export`: every parameter of a checkpoint as a float32 .npy
 * file in PyTorch's layout (conv weight K x C/G x R x S, dense weight out x in, bias K),
 * named layer<i>_<type>.<weight|bias>.npy where i is the layer's position in the model
 * spec (0 = first line after `input`). All files are staged and renamed into place
 * together: on failure none is left. Exit 0 ok, 1 I/O or corrupt checkpoint, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/io.h"
#include "convkit/train.h"
#include "args.h"
#include "cli.h"
#include "train_cli.h"

#define CMD "export"
#define MAX_FILES 2 * CK_MODEL_MAX_LAYERS

static void usage(FILE *f)
{
    fprintf(f,
            "usage: convkit export --checkpoint FILE --npy-dir DIR\n"
            "\n"
            "Write every parameter as DIR/layer<i>_<type>.<weight|bias>.npy (float32, C order,\n"
            "PyTorch layouts: conv weight [K][C/groups][R][S], dense weight [out][in], bias [K]),\n"
            "i = position in the model spec. In PyTorch: p.data.copy_(torch.from_numpy(\n"
            "numpy.load(file))). DIR is created if missing. Nothing is written on failure.\n"
            "\n"
            "Exit status: 0 ok; 1 unreadable/corrupt checkpoint or write failure; 2 usage error.\n");
}

int ck_cmd_export(int argc, char **argv)
{
    struct ck_opt o[] = {{"checkpoint", 1, NULL}, {"npy-dir", 1, NULL}};
    char msg[512];
    int help = 0, rc;
    if (ck_args_parse(argc, argv, o, 2, &help, msg, sizeof msg) != 0) {
        ck_cli_error(CMD, "%s", msg);
        return CK_EXIT_USAGE;
    }
    if (help) {
        usage(stdout);
        return CK_EXIT_OK;
    }
    static const char *const required[] = {"checkpoint", "npy-dir"};
    if (ck_cli_require(CMD, o, 2, required, 2) != 0)
        return CK_EXIT_USAGE;
    const char *dir = o[1].value;
    struct ck_checkpoint ck = {0};
    struct ck_trainer *t = NULL;
    if ((rc = ck_cli_load_checkpoint(CMD, o[0].value, "naive", &ck, &t)) != CK_EXIT_OK)
        return rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        ck_cli_error(CMD, "--npy-dir %s: %s", dir, strerror(errno));
        rc = CK_EXIT_RUNTIME;
        goto done;
    }
    static char tmp[MAX_FILES][4200], path[MAX_FILES][4200];
    const size_t n = ck_net_param_tensor_count(t->nets[0]);
    size_t staged = 0;
    rc = CK_EXIT_OK;
    for (size_t i = 0; i < n && i < MAX_FILES && rc == CK_EXIT_OK; i++) {
        struct ck_param p;
        int li;
        ck_net_param(t->nets[0], i, &p, &li);
        size_t shape[4];
        for (int d = 0; d < p.ndim; d++)
            shape[d] = (size_t)p.dims[d];
        snprintf(path[i], sizeof path[i], "%s/layer%d_%s.%s.npy", dir, li,
                 t->nets[0]->layers[li].ops->name, p.name);
        if (ck_npy_write_staged(path[i], p.value, p.ndim, shape, tmp[i], sizeof tmp[i], msg,
                                sizeof msg) != CK_OK) {
            ck_cli_error(CMD, "%s", msg);
            rc = CK_EXIT_RUNTIME;
        } else {
            staged++;
        }
    }
    for (size_t i = 0; i < staged; i++) {
        if (rc != CK_EXIT_OK) {
            ck_file_discard(tmp[i]);
        } else if (ck_file_commit(tmp[i], path[i], msg, sizeof msg) != CK_OK) {
            ck_cli_error(CMD, "%s", msg);
            rc = CK_EXIT_RUNTIME;
        }
    }
    for (size_t i = 0; rc == CK_EXIT_OK && i < staged; i++) {
        struct ck_param p;
        ck_net_param(t->nets[0], i, &p, NULL);
        char shp[64];
        snprintf(shp, sizeof shp, "(%d%s", p.dims[0], p.ndim == 1 ? ",)" : "");
        for (int d = 1; d < p.ndim; d++)
            snprintf(shp + strlen(shp), sizeof shp - strlen(shp), ", %d%s", p.dims[d],
                     d == p.ndim - 1 ? ")" : "");
        printf("%s %s\n", path[i], shp);
    }
done:
    ck_trainer_free(t);
    ck_checkpoint_free(&ck);
    return rc;
}
