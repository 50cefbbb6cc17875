/* Loading the model a command works on: an ONNX file, or a Caffe network definition
 * (NET.prototxt) with its weights from --weights NET.caffemodel. */
#ifndef OT_CLI_MODEL_LOAD_H
#define OT_CLI_MODEL_LOAD_H

#include "args.h"
#include "onnxtrain/model.h"

#define CLI_CAFFE_WEIGHTS_FLAG                                                                     \
    {                                                                                              \
        "weights", 0, "NET.caffemodel",                                                            \
            "with a Caffe MODEL.prototxt: its weights (without them, "                             \
            "layers that have weights are an error)"                                               \
    }

/* Loads path (.prototxt: Caffe, with --weights; else ONNX). Returns 0 after printing the error
 * (2 for a flag misused, 1 for a file that failed to load) in *rc. */
int cli_load_model(const cli_args *args, const ot_context *ctx, const char *path, ot_model **out,
                   int *rc);

#endif
