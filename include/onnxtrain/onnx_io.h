/* ONNX files in and out. The only API that knows the ONNX protobuf format. */
#ifndef ONNXTRAIN_ONNX_IO_H
#define ONNXTRAIN_ONNX_IO_H

#include "onnxtrain/context.h"
#include "onnxtrain/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest .onnx file read into memory (weights beyond this go in external data files). */
#define OT_ONNX_MAX_FILE_BYTES ((size_t)2 << 30)
/* Deepest nesting of protobuf messages accepted (a model is 0, its graph 1, a node 2, an
 * attribute 3, a subgraph in it 4, ...); deeper files are refused before decoding. */
#ifndef OT_ONNX_MAX_NESTING
#define OT_ONNX_MAX_NESTING 64
#endif

/* Loads, resolves ops, folds constants and checks the graph. Errors start with the path.
 * Every buffer the file asks for stays within ctx's memory limit (NULL: none). */
OT_API ot_status ot_onnx_load(const ot_context *ctx, const char *path, ot_model **out);

typedef enum ot_load_mode {
    OT_LOAD_FULL = 0,      /* resolve every op (unsupported ones are an error), fold constants */
    OT_LOAD_STRUCTURE_ONLY /* graph and weights as in the file: enough to read, fill and write
                              weights of models with ops the engine does not run */
} ot_load_mode;
OT_API ot_status ot_onnx_load_mode(const ot_context *ctx, const char *path, ot_load_mode mode,
                                  ot_model **out);
/* The same from memory; base_dir resolves external data (NULL: none allowed); `what` names
 * the source in messages. */
OT_API ot_status ot_onnx_load_buffer(const ot_context *ctx, const void *data, size_t size,
                                    const char *base_dir, const char *what, ot_load_mode mode,
                                    ot_model **out);

/* Writes the model (current weights as initializers) atomically. */
OT_API ot_status ot_onnx_save(const ot_model *m, const char *path);
/* Serialises into a new buffer (caller frees). */
OT_API ot_status ot_onnx_serialize(const ot_model *m, unsigned char **data, size_t *size);

/* Reads a serialized TensorProto file (the backend tests' input_N.pb); name may be NULL. */
OT_API ot_status ot_onnx_load_tensor(const ot_context *ctx, const char *path, ot_tensor *out, char **name);
/* Reads a serialized SequenceProto of tensors (a backend test's sequence input or output):
 * *count owned tensors in *elements (caller frees each and the array). */
OT_API ot_status ot_onnx_load_sequence(const ot_context *ctx, const char *path, ot_tensor **elements, int *count);

#ifdef __cplusplus
}
#endif
#endif
