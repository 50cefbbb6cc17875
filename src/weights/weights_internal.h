/* Helpers shared by the weights readers (not part of the public API). */
#ifndef OT_WEIGHTS_INTERNAL_H
#define OT_WEIGHTS_INTERNAL_H

#include "onnxtrain/weights.h"
#include "onnxtrain/zip.h"

/* float64/float16/bfloat16 -> float32 in place; integer and bool tensors are kept. */
ot_status ot_weights_float_dtype(ot_tensor *t, const char *what);
/* Detection on a buffer already read (see ot_weights_detect). */
ot_status ot_weights_detect_buffer(const unsigned char *data, size_t size, const char *path,
                                   ot_weights_format *format);
/* The zip entry holding a torch.save pickle ("data.pkl" or "<folder>/data.pkl"), or -1. */
int ot_torch_find_pickle(const ot_zip *zip);

/* Keras HDF5 read by libhdf5 in this process (keras_h5_isolated.c runs it in a child). */
ot_status ot_keras_h5_load_in_process(const char *path, ot_weights *out);

#endif
