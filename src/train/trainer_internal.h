/* The trainer's state, shared by trainer.c (the loop), trainer_setup.c (plans, cache,
 * unfreezing), batch.c (gathering, augmenting) and checkpoint.c. */
#ifndef OT_TRAINER_INTERNAL_H
#define OT_TRAINER_INTERNAL_H

#include "cache.h"
#include "onnxtrain/train.h"
#include "parameters.h"
#include "session.h"

typedef struct trainer {
    ot_model *m;
    const ot_train_config *config;
    ot_dataset *train, *val;
    ot_io_binding io;
    ot_parameters params;
    ot_optimizer *optimizer;
    ot_schedule schedule;
    ot_rng rng;
    ot_rng epoch_rng;         /* the generator when this epoch's order was drawn */
    ot_plan_pair plans, eval_plans;
    /* Where batches come from: the datasets, or the frozen-feature caches. */
    int caching;
    ot_frozen_part part;
    ot_feature_cache train_cache, val_cache;
    ot_sample_source train_source, val_source;
    int64_t epoch, step;
    int64_t position;         /* samples of the epoch's order done (whatever the group size) */
    ot_loss_tally epoch_tally;  /* this epoch's loss and accuracy so far */
    ot_loss_tally step_tally;   /* the current step's batches */
    int64_t skipped_batches;    /* steps skipped for a non-finite loss or gradient */
    double lr;
    int interrupted;
    int64_t *order;                 /* sample order of the epoch */
    void *batch_feeds[OT_MAX_FEEDS]; /* (batch, per_sample[k]) of the feed's dtype */
    int64_t *batch_labels;          /* (batch, label_size) */
    float *batch_targets;           /* (batch, target_size) */
    float *augment_scratch;         /* (per_sample) for shifts and crops */
    int64_t *label_scratch;         /* (label_size) for per-pixel labels' shifts and crops */
    /* Data parallelism (data_parallel.c): rank of ranks; a step's summed scalars; the
     * BatchNorm cross sum (synchronised BatchNorm) and a pass with no rows of its own. */
    ot_process_group *group;
    int rank, ranks;
    int stop_agreed;            /* some rank was interrupted during the last step */
    ot_cross_sum cross_sum;
    int synced_norm;            /* training plans sum BatchNorm statistics across ranks */
    int empty_share;            /* the current pass's rows are not this rank's: contribute 0 */
    float *held_grads;          /* (params.total): gradients kept across an empty pass */
    /* early stopping */
    float *best;
    int has_best;
    double best_val;
    int64_t since_best, best_epoch;
} trainer;

/* Copies samples order[0..size) of the training source into the batch buffers,
 * augmenting images when configured. */
void oti_gather_batch(trainer *t, const int64_t *order, int64_t size);

/* (Re)builds everything that depends on which parameters are trained: the parameter block,
 * optimizer state (kept for parameters trained before), frozen-feature caches, plans. */
ot_status oti_trainer_prepare(trainer *t);
ot_status oti_trainer_release(trainer *t);

/* Data parallelism (data_parallel.c). Rows [*first, *first + *count) of the global batch of
 * the epoch order that starts at `start` (of n samples) are this rank's. */
void oti_share_of_batch(const trainer *t, int64_t start, int64_t n, int64_t *first, int64_t *count);
/* Joins config's group (before plans are made: they take the BatchNorm cross sum); every
 * rank must have the same number of samples. */
ot_status oti_parallel_setup(trainer *t);
/* After the parameters are packed (and a checkpoint loaded): every rank must train the same
 * parameters; rank 0's weights and statistics are copied to all. */
ot_status oti_parallel_share_weights(trainer *t);
/* Sums the step's gradients and loss tallies over the ranks, and agrees on an interrupt. */
ot_status oti_parallel_reduce_step(trainer *t);
/* Rank r > 0 draws dropout and augmentation from its own generator; the epoch order stays
 * rank 0's: oti_parallel_sync_generator copies rank 0's generator to all at the epoch's end. */
void oti_parallel_rank_generator(trainer *t);
ot_status oti_parallel_sync_generator(trainer *t);
/* Copies rank 0's `bytes` at data to every rank (validation results: decided once). */
ot_status oti_parallel_from_rank0(trainer *t, void *data, size_t bytes);

/* Checkpoints: everything needed to continue exactly where training stopped. */
ot_status oti_checkpoint_save(const trainer *t, const char *path);
ot_status oti_checkpoint_load(trainer *t, const char *path);

#endif
