/* Helpers shared by the weights readers (not part of the public API). */
#ifndef OT_WEIGHTS_INTERNAL_H
#define OT_WEIGHTS_INTERNAL_H

#include "onnxtrain/weights.h"
#include "formats/zip.h"

/* Per-format readers and writers (ot_weights_load/save dispatch to these). Readers of a
 * buffer borrow it; `path` names the source in messages. */
ot_status oti_weights_parse_npz(const ot_context *ctx, const unsigned char *data, size_t size, const char *path, ot_weights *out);
ot_status oti_safetensors_parse(const ot_context *ctx, const unsigned char *data, size_t size, const char *path,
                               ot_weights *out);
/* Serialises into a new buffer (caller frees). */
ot_status oti_safetensors_serialize(const ot_weights *w, unsigned char **data, size_t *size);
ot_status oti_safetensors_save(const char *path, const ot_weights *w);
/* PyTorch torch.save zip archives: the state_dict at the top, or under "state_dict" /
 * "model". Only an allow-list of pickle globals is accepted; nothing is executed. */
ot_status oti_torch_pt_parse(const ot_context *ctx, const unsigned char *data, size_t size, const char *path,
                            ot_weights *out);
/* Keras 2 HDF5 (save / save_weights): tensors named "<layer>/<weight name>" with their layer
 * and role set. */
ot_status oti_keras_h5_load(const ot_context *ctx, const char *path, ot_weights *out);

/* float64/float16/bfloat16 -> float32 in place; integer and bool tensors are kept. */
ot_status oti_weights_float_dtype(ot_tensor *t, const char *what);
/* Detection on a buffer already read (see ot_weights_detect). */
ot_status oti_weights_detect_buffer(const unsigned char *data, size_t size, const char *path,
                                   ot_weights_format *format);
/* The zip entry holding a torch.save pickle ("data.pkl" or "<folder>/data.pkl"), or -1. */
int oti_torch_find_pickle(const ot_zip *zip);

/* Keras HDF5 read by libhdf5 in this process (keras_h5_isolated.c runs it in a child). */
ot_status oti_keras_h5_load_in_process(const ot_context *ctx, const char *path, ot_weights *out);

#endif
