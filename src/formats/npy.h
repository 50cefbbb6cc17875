/* NumPy .npy arrays: read (any numeric dtype, either byte order, C or Fortran order) and
 * write (little-endian, C order). Object arrays are refused: they would need pickle. */
#ifndef ONNXTRAIN_NPY_H
#define ONNXTRAIN_NPY_H

#include <stddef.h>

#include "onnxtrain/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a .npy image in memory into an owned tensor of the file's dtype. `what` names the
 * source in messages. */
ot_status oti_npy_parse(const ot_context *ctx, const unsigned char *data, size_t size, const char *what, ot_tensor *out);
ot_status oti_npy_load(const ot_context *ctx, const char *path, ot_tensor *out);
/* Serialises to a new buffer (caller frees). */
ot_status oti_npy_serialize(const ot_tensor *t, unsigned char **data, size_t *size);
/* Writes atomically. */
ot_status oti_npy_save(const char *path, const ot_tensor *t);

/* Converts in place to float32 (from any numeric dtype); refuses non-numeric. */
ot_status oti_tensor_to_float(ot_tensor *t, const char *what);
/* Converts in place to int64 from any integer dtype or bool; refuses floats. */
ot_status oti_tensor_to_int64(ot_tensor *t, const char *what);

#ifdef __cplusplus
}
#endif
#endif
