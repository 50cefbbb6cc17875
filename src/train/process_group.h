/* The collectives the data-parallel trainer uses, over an ot_process_group. For a group of
 * one (or NULL) each is a no-op that returns OT_OK. Errors name the rank and the call. */
#ifndef OT_TRAIN_PROCESS_GROUP_H
#define OT_TRAIN_PROCESS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/process_group.h"

/* Element-wise sums across the group, in place: every process gets the totals. */
ot_status oti_group_sum_floats(ot_process_group *g, float *values, int64_t n);
ot_status oti_group_sum_doubles(ot_process_group *g, double *values, int64_t n);
/* Element-wise maximum across the group, in place. */
ot_status oti_group_max_doubles(ot_process_group *g, double *values, int64_t n);
/* Copies root's `bytes` bytes at data to every process. */
ot_status oti_group_broadcast(ot_process_group *g, void *data, size_t bytes, int root);

#endif
