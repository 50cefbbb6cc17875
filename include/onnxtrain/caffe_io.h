/* Caffe models in: a network definition in protobuf text format (deploy.prototxt, the current
 * `layer` or the legacy `layers` form) with its weights (.caffemodel), converted into the
 * same layer list as an ONNX model, so it runs, trains and exports like one. */
#ifndef ONNXTRAIN_CAFFE_IO_H
#define ONNXTRAIN_CAFFE_IO_H

#include "onnxtrain/context.h"
#include "onnxtrain/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest .prototxt read (network definitions are a few hundred KiB at most). */
#define OT_CAFFE_MAX_PROTOTXT_BYTES ((size_t)64 << 20)

/* Loads prototxt with the weights in caffemodel (NULL: none; then layers with weights are an
 * error naming the first). Unsupported layer types are reported together. Errors start with
 * the file's name. */
OT_API ot_status ot_caffe_load(const ot_context *ctx, const char *prototxt, const char *caffemodel,
                               ot_model **out);
/* The same from memory; prototxt_what and caffemodel_what name the sources in messages. */
OT_API ot_status ot_caffe_load_buffers(const ot_context *ctx, const char *prototxt,
                                       size_t prototxt_size, const char *prototxt_what,
                                       const void *caffemodel, size_t caffemodel_size,
                                       const char *caffemodel_what, ot_model **out);
/* True when path's extension is .prototxt (a Caffe network definition). */
OT_API int ot_caffe_is_prototxt(const char *path);

#ifdef __cplusplus
}
#endif
#endif
