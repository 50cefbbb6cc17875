/* --shape NAME=DIMS, shared by info, run, train and eval: fixes an input's symbolic dims
 * (a model exported with [N,3,H,W]) so every shape can be inferred. */
#ifndef OT_CLI_SHAPE_FLAGS_H
#define OT_CLI_SHAPE_FLAGS_H

#include "args.h"
#include "onnxtrain/model.h"

#define CLI_SHAPE_FLAG                                                                           \
    {"shape", 0, "NAME=DIMS", "fix input NAME's symbolic dims, e.g. x=1x3x48x192 ('N' keeps a dim symbolic; repeatable)"}

/* Applies every --shape to m. keep_batch: the first dim stays the batch (train, eval, run
 * take it from the data). Returns 0 after printing the error, naming the flag. */
int cli_apply_shape_flags(const cli_args *args, ot_model *m, int keep_batch);

#endif
