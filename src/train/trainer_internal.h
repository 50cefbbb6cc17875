/* The trainer's state, shared by trainer.c (the loop) and batch.c (gathering, augmenting). */
#ifndef OT_TRAINER_INTERNAL_H
#define OT_TRAINER_INTERNAL_H

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
    ot_plan_pair plans, eval_plans;
    int64_t epoch, step;
    double lr;
    int interrupted;
    int64_t *order;        /* sample order of the epoch */
    float *batch_x;        /* (batch, sample_size) */
    int64_t *batch_labels; /* (batch) */
    float *batch_targets;  /* (batch, target_size) */
    float *best;           /* early stopping snapshot */
} trainer;

/* Copies samples order[0..size) into the batch buffers (augmenting when configured). */
void ot_gather_batch(trainer *t, const int64_t *order, int64_t size);

#endif
