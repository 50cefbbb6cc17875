/* Shared by the ONNX importer and exporter: the protobuf-c types stay in src/onnx. */
#ifndef OT_ONNX_INTERNAL_H
#define OT_ONNX_INTERNAL_H

#include "onnx.pb-c.h"
#include "onnx_data.pb-c.h"
#include "onnxtrain/model.h"

/* TensorProto -> owned ot_tensor in the engine's dtype (integers int64, floats float32), the
 * file's dtype kept as t->declared. model_dir is the
 * folder external data must stay inside (NULL: external data refused). what names the tensor
 * in messages. */
ot_status oti_onnx_tensor_import(const ot_context *ctx, const Onnx__TensorProto *proto, const char *model_dir,
                             const char *what, ot_tensor *out);
/* ot_tensor -> TensorProto in t's declared dtype, using raw_data (little-endian). The proto
 * borrows t's data, or `narrowed` (numel * size of the declared dtype bytes, unused when
 * nothing is declared), which receives the values narrowed to the declared dtype. */
void oti_onnx_tensor_export(const ot_tensor *t, const char *name, void *narrowed,
                            Onnx__TensorProto *proto);

/* Walks serialized protobuf of type `root` before protobuf-c unpacks it (onnx_limits.c):
 * nesting deeper than OT_ONNX_MAX_NESTING, lengths past the end, and a decoded size over the
 * memory limit are errors naming the limit. */
ot_status oti_onnx_check_limits(const ot_context *ctx, const void *data, size_t size, const ProtobufCMessageDescriptor *root,
                            const char *what);
/* A file over OT_ONNX_MAX_FILE_BYTES or the memory limit is an error saying what to do. */
ot_status oti_onnx_check_file_size(const ot_context *ctx, const char *path);

#endif
