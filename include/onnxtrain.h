/* onnxtrain: train, fine-tune and convert ONNX models on the CPU, in C.
 *
 *     #include <onnxtrain.h>
 *
 *     ot_context *ctx;
 *     ot_context_create(NULL, &ctx);                     // threads and memory limit
 *     ot_model *m;
 *     if (ot_onnx_load(ctx, "pretrained.onnx", &m) != OT_OK) {
 *         fprintf(stderr, "%s\n", ot_last_error());      // names the file, node or tensor
 *         return 1;
 *     }
 *     ot_freeze_rule keep = {OT_FREEZE_UPTO, "flatten1"};
 *     ot_transfer_freeze(m, 1, &keep);                // frozen layers keep their weights
 *     ot_train_config config;
 *     ot_train_config_defaults(&config);
 *     config.context = ctx;
 *     ot_train_result result;
 *     ot_train(m, &config, data, NULL, &result);         // data: ot_dataset_load or _from_arrays
 *     ot_onnx_save(m, "mine.onnx");
 *     ot_model_free(m);
 *     ot_context_free(ctx);
 *
 * Every function that can fail returns an ot_status and leaves a message for
 * ot_last_error(); the library never prints or exits. examples/finetune_in_memory.c is a
 * complete program. Link with `pkg-config --cflags --libs onnxtrain` (add --static for
 * libonnxtrain.a) or CMake's find_package(onnxtrain) (onnxtrain::onnxtrain). */
#ifndef ONNXTRAIN_H
#define ONNXTRAIN_H

#include "onnxtrain/status.h"
#include "onnxtrain/context.h"
#include "onnxtrain/tensor.h"
#include "onnxtrain/rng.h"
#include "onnxtrain/model.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/caffe_io.h"
#include "onnxtrain/weights.h"
#include "onnxtrain/dataset.h"
#include "onnxtrain/optimizer.h"
#include "onnxtrain/train.h"
#include "onnxtrain/transfer.h"
#include "onnxtrain/builder.h"
#include "onnxtrain/process_group.h"

#endif
