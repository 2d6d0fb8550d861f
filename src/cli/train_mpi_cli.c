/* train_mpi_cli.c - the MPI side of `convkit train` (see train_mpi_cli.h, docs/mpi.md).
 *
 * MPI starts only when an MPI launcher started this process, so a plain `convkit train`
 * never touches MPI even in an MPI build. Rank 0 prints and writes files; the other
 * ranks' stdout goes to /dev/null, their errors still reach stderr. A broken
 * communicator (timeout, MPI error) ends the whole job with MPI_Abort so no rank
 * waits forever. Test-only faults: CONVKIT_MPI_TEST_FAIL=exit:K|hang:K, _CORRUPT=1.
 */
#define _POSIX_C_SOURCE 200809L /* pause */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "train_mpi_cli.h"

/* Set by Open MPI (mpirun), MPICH/Intel MPI (Hydra), PMIx launchers and Slurm's srun. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

#ifdef CONVKIT_HAVE_MPI
#include <mpi.h>

#include "convkit/train_mpi.h"

static struct {
    int on, rank, ranks, agreed, broken;
    long long fail_step; /* test hook: step after which the last rank fails (0: never) */
    int fail_hang;
} mpi = {0, 0, 1, 0, 0, 0, 0};

int ck_cli_mpi_start(void)
{
    if (!launched_by_mpi())
        return CK_EXIT_OK;
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "convkit train: MPI_Init failed\n");
        return CK_EXIT_RUNTIME;
    }
    mpi.on = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi.ranks);
    if (mpi.rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "convkit train: rank %d: cannot silence stdout\n", mpi.rank);
    const char *f = getenv("CONVKIT_MPI_TEST_FAIL");
    if (f && (strncmp(f, "exit:", 5) == 0 || strncmp(f, "hang:", 5) == 0)) {
        mpi.fail_hang = f[0] == 'h';
        mpi.fail_step = atoll(f + 5);
    }
    return CK_EXIT_OK;
}

int ck_cli_mpi_agree(int rc)
{
    mpi.agreed = 1;
    if (!mpi.on || mpi.broken)
        return rc;
    int all = rc;
    if (MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "convkit train: rank %d: MPI failed while the ranks compared exit "
                        "codes\n", mpi.rank);
        mpi.broken = 1;
        return CK_EXIT_RUNTIME;
    }
    return all;
}

int ck_cli_mpi_end(int rc)
{
    if (!mpi.on)
        return rc;
    if (!mpi.agreed && !mpi.broken) /* failed before the ranks compared setups */
        rc = ck_cli_mpi_agree(rc);
    if (mpi.broken) {
        fprintf(stderr, "convkit train: rank %d: ending the MPI job (exit %d)\n", mpi.rank,
                rc ? rc : CK_EXIT_RUNTIME);
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, rc ? rc : CK_EXIT_RUNTIME);
    }
    MPI_Finalize();
    return rc;
}

int ck_cli_mpi_rank(void)
{
    return mpi.rank;
}

int ck_cli_mpi_ranks(void)
{
    return mpi.ranks;
}

int ck_cli_mpi_attach(struct ck_trainer *t, double timeout_s)
{
    if (!mpi.on)
        return CK_EXIT_OK;
    char msg[512];
    enum ck_status st = ck_trainer_set_comm(t, MPI_COMM_WORLD, timeout_s, msg, sizeof msg);
    if (st == CK_OK)
        return CK_EXIT_OK;
    if (st == CK_ERR_IO)
        mpi.broken = 1;
    if (mpi.rank == 0 || mpi.broken)
        fprintf(stderr, "convkit train: %s\n", msg);
    return CK_EXIT_RUNTIME;
}

int ck_cli_mpi_check(struct ck_trainer *t)
{
    if (!mpi.on)
        return CK_EXIT_OK;
    const char *corrupt = getenv("CONVKIT_MPI_TEST_CORRUPT");
    if (corrupt && strcmp(corrupt, "1") == 0 && mpi.rank == mpi.ranks - 1 && mpi.ranks > 1) {
        unsigned char *b = (unsigned char *)t->nets[0]->params; /* test only: one bit */
        b[0] ^= 1u;
    }
    char msg[512];
    uint32_t crc = 0;
    enum ck_status st = ck_trainer_check_replicas(t, &crc, msg, sizeof msg);
    if (st == CK_ERR_IO)
        mpi.broken = 1;
    if (st != CK_OK) {
        if (mpi.rank == 0 || mpi.broken)
            fprintf(stderr, "convkit train: %s\n", msg);
        return CK_EXIT_RUNTIME;
    }
    double secs;
    long long steps;
    ck_trainer_comm_time(t, &secs, &steps);
    printf("mpi: %d ranks hold identical weights (CRC-32 %08x); gradient exchange %.2f ms "
           "per step\n", mpi.ranks, (unsigned)crc, steps ? 1e3 * secs / (double)steps : 0.0);
    fflush(stdout);
    return CK_EXIT_OK;
}

int ck_cli_mpi_failed(const struct ck_trainer *t)
{
    if (mpi.on && *ck_trainer_comm_error(t))
        mpi.broken = 1;
    return mpi.broken;
}

void ck_cli_mpi_test_hook(const struct ck_trainer *t)
{
    if (!mpi.on || mpi.fail_step <= 0 || mpi.rank != mpi.ranks - 1 || mpi.ranks < 2 ||
        t->progress.step != mpi.fail_step)
        return;
    fprintf(stderr, "convkit train: rank %d: test fault (CONVKIT_MPI_TEST_FAIL): %s after "
                    "step %lld\n", mpi.rank, mpi.fail_hang ? "hanging" : "exiting",
            mpi.fail_step);
    fflush(stderr);
    if (!mpi.fail_hang)
        _exit(3);
    for (;;)
        pause();
}

#else /* built without MPI: one process */

int ck_cli_mpi_start(void)
{
    const char *n = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE")
                                                    : getenv("PMI_SIZE");
    if (launched_by_mpi() && n && atoi(n) > 1) {
        fprintf(stderr, "convkit train: this convkit was built without MPI (CONVKIT_MPI): "
                        "under an MPI launcher it would run %s separate trainings\n", n);
        return CK_EXIT_USAGE;
    }
    return CK_EXIT_OK;
}

int ck_cli_mpi_end(int rc)
{
    return rc;
}

int ck_cli_mpi_rank(void)
{
    return 0;
}

int ck_cli_mpi_ranks(void)
{
    return 1;
}

int ck_cli_mpi_agree(int rc)
{
    return rc;
}

int ck_cli_mpi_attach(struct ck_trainer *t, double timeout_s)
{
    (void)t, (void)timeout_s;
    return CK_EXIT_OK;
}

int ck_cli_mpi_check(struct ck_trainer *t)
{
    (void)t;
    return CK_EXIT_OK;
}

int ck_cli_mpi_failed(const struct ck_trainer *t)
{
    (void)t;
    return 0;
}

void ck_cli_mpi_test_hook(const struct ck_trainer *t)
{
    (void)t;
}

#endif
