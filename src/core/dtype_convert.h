/* Moving values between a model's dtypes and the three the engine computes in (float32, int64,
 * bool): element loops shared by the ONNX importer, the exporter, .npy files and the plan. */
#ifndef OT_DTYPE_CONVERT_H
#define OT_DTYPE_CONVERT_H

#include "onnxtrain/tensor.h"

/* n elements of dtype `from` (host byte order) into dst, in ot_dtype_storage(from). Returns
 * the index of the first uint64 value above INT64_MAX (stored wrapped), or -1. */
int64_t oti_widen_values(void *dst, const void *src, ot_dtype from, int64_t n);
/* n elements held in ot_dtype_storage(to) into dst, in dtype `to`: integers keep their low
 * bits (two's complement), floats round to nearest even. */
void oti_narrow_values(void *dst, ot_dtype to, const void *src, int64_t n);
/* In place, n elements held in ot_dtype_storage(declared) take declared's range and precision:
 * integers wrap to its width, float16/bfloat16 round (float64 stays at float32 precision). */
void oti_fit_values(void *data, ot_dtype declared, int64_t n);
/* One int64 value wrapped to an integer dtype's width (unchanged for int64/uint64). */
int64_t oti_wrap_integer(int64_t v, ot_dtype declared);

#endif
