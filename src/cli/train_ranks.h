/* `mpirun -np N onnxtrain train`: joining the process group, agreeing that every rank is ready
 * before training starts, and the flag that only matters across ranks. */
#ifndef OT_CLI_TRAIN_RANKS_H
#define OT_CLI_TRAIN_RANKS_H

#include "args.h"
#include "onnxtrain/process_group.h"

#define CLI_RANKS_FLAGS                                                                          \
    {"sync-bn", 0, NULL, "under mpirun: BatchNorm normalises with the statistics of the global batch " \
                         "(all ranks' rows), not each rank's own"}

/* Joins the ranks mpirun or srun started (a group of one otherwise); errors then name the
 * rank. Returns 0 after printing the error. */
int cli_ranks_open(const cli_args *args, ot_process_group **group);
/* Every rank calls it once, with whether it got ready to train (a rank that failed calls it
 * on its way out). Returns 1 when every rank is ready; otherwise rank 0 says which was not. */
int cli_ranks_ready(const cli_args *args, ot_process_group *group, int ok);

#endif
