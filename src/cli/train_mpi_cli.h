/* train_mpi_cli.h - `convkit train` under mpirun (CLI only): start/stop MPI, agree on
 * exit codes, attach a trainer to MPI_COMM_WORLD, check the ranks agree. Without MPI
 * (or when not launched by an MPI launcher) every function acts as one process: rank 0
 * of 1, and agreement returns the caller's own exit code. */
#ifndef CONVKIT_CLI_TRAIN_MPI_CLI_H
#define CONVKIT_CLI_TRAIN_MPI_CLI_H

#include "convkit/train.h"

/* MPI_Init when launched by mpirun/mpiexec/srun (their environment variables) and built
 * with MPI; ranks other than 0 send stdout to /dev/null. 0 ok, else an exit code. */
int ck_cli_mpi_start(void);
/* End MPI: MPI_Abort if the communicator broke (a rank died, hung or MPI failed),
 * otherwise a clean MPI_Finalize. Returns rc. */
int ck_cli_mpi_end(int rc);
int ck_cli_mpi_rank(void);
int ck_cli_mpi_ranks(void);
/* Collective: the largest exit code of all ranks (rc itself in one process). Every
 * rank must call it the same number of times; ck_cli_mpi_end makes up for a rank that
 * failed before the first call. */
int ck_cli_mpi_agree(int rc);
/* Attach t to MPI_COMM_WORLD (collective; no-op in one process). Prints on failure and
 * returns the exit code. */
int ck_cli_mpi_attach(struct ck_trainer *t, double timeout_s);
/* Collective check that all ranks hold the same weights; rank 0 prints one line. */
int ck_cli_mpi_check(struct ck_trainer *t);
/* After a failed step: 1 (and the job will be aborted) if the communicator broke. */
int ck_cli_mpi_failed(const struct ck_trainer *t);
/* Test-only fault injection, CONVKIT_MPI_TEST_FAIL=exit:K|hang:K (the last rank exits
 * or hangs after step K); called after every step. */
void ck_cli_mpi_test_hook(const struct ck_trainer *t);

#endif
