/* Data-parallel training across processes: the group of processes mpirun (or srun) started
 * together, one per rank. The program opens it once (MPI_Init) and hands it to the trainer
 * through ot_train_config.group; without mpirun, or in a build without MPI, it is a group of
 * one and training runs exactly as it does without a group.
 *
 *     ot_process_group *group;
 *     ot_process_group_open(&argc, &argv, &group);
 *     config.group = group;                      // every rank trains on its share
 *     ot_train(m, &config, train, val, &result);
 *     ot_process_group_close(group);             // MPI_Finalize
 */
#ifndef ONNXTRAIN_PROCESS_GROUP_H
#define ONNXTRAIN_PROCESS_GROUP_H

#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_process_group ot_process_group;

/* Joins the processes started together (MPI_Init) when this one was started by mpirun or
 * srun; otherwise (or built without MPI) a group of one. argc/argv may be NULL. */
OT_API ot_status ot_process_group_open(int *argc, char ***argv, ot_process_group **out);
/* Leaves the group (MPI_Finalize); NULL is fine. */
OT_API void ot_process_group_close(ot_process_group *group);

/* This process's rank (0 for NULL) and the number of processes (1 for NULL). */
OT_API int ot_process_group_rank(const ot_process_group *group);
OT_API int ot_process_group_size(const ot_process_group *group);
/* Whether this build can run data-parallel (was built with MPI). */
OT_API int ot_process_group_available(void);

/* Every process calls it with whether its own work succeeded; returns the lowest rank that
 * failed, or -1 when none did. */
OT_API int ot_process_group_first_failed(ot_process_group *group, int ok);
/* Ends every process of the group with exit code `code` (MPI_Abort): for a failure on one
 * process while the others may be waiting for it in a collective. Returns only for a group
 * of one. */
OT_API void ot_process_group_abort(ot_process_group *group, int code);

#ifdef __cplusplus
}
#endif
#endif
