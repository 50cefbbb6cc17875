/* Tensors: a dtype, up to OT_MAX_DIMS dims, and a data pointer.
 *
 * A tensor is a plain descriptor. `owns` says whether ot_tensor_free releases data;
 * views into arenas or into another tensor have owns == 0. Data is C order, dense.
 *
 * The engine computes in three dtypes (float32, int64, bool). A model's other dtypes are
 * widened where they enter (every integer dtype is held as int64, float16/bfloat16/float64 as
 * float32) and `declared` keeps the model's dtype: results are wrapped or rounded to it after
 * every op, and narrowed to it where they leave (ot_tensor_widen, ot_tensor_narrow). */
#ifndef ONNXTRAIN_TENSOR_H
#define ONNXTRAIN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/context.h"
#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OT_MAX_DIMS 8

/* Values are ONNX's TensorProto.DataType numbers, so conversion is a cast. */
typedef enum ot_dtype {
    OT_UNDEFINED = 0,
    OT_FLOAT = 1,
    OT_UINT8 = 2,
    OT_INT8 = 3,
    OT_UINT16 = 4,
    OT_INT16 = 5,
    OT_INT32 = 6,
    OT_INT64 = 7,
    OT_STRING = 8,
    OT_BOOL = 9,
    OT_FLOAT16 = 10,
    OT_DOUBLE = 11,
    OT_UINT32 = 12,
    OT_UINT64 = 13,
    OT_BFLOAT16 = 16
} ot_dtype;

typedef struct ot_tensor {
    ot_dtype dtype;
    int ndim;
    int64_t dims[OT_MAX_DIMS]; /* -1: unknown (symbolic) in declared shapes */
    void *data;
    int owns;
    /* The model's dtype when `dtype` is the wider one that holds it (int8 held as int64,
     * float16 as float32); OT_UNDEFINED when the two are the same. */
    ot_dtype declared;
} ot_tensor;

/* Bytes per element (0 for dtypes without a fixed size, such as strings). */
OT_API size_t ot_dtype_size(ot_dtype dtype);
/* "float32", "int64", ... (numpy names). */
OT_API const char *ot_dtype_name(ot_dtype dtype);
/* True for the dtypes the engine computes with: float32, int64, bool. */
OT_API int ot_dtype_is_computed(ot_dtype dtype);
/* The computed dtype that holds `dtype`: int64 for every integer dtype, float32 for every
 * float dtype, bool for bool; OT_UNDEFINED for strings. */
OT_API ot_dtype ot_dtype_storage(ot_dtype dtype);
/* The model's dtype of t: t->declared when set, else t->dtype. */
OT_API ot_dtype ot_tensor_declared(const ot_tensor *t);
/* Records that t (held in its computed dtype) is `declared` in the model. */
OT_API void ot_tensor_declare(ot_tensor *t, ot_dtype declared);

/* A new owned tensor in src's computed dtype, with src's dtype as `declared`. uint64 values
 * above INT64_MAX are refused (the engine holds integers as int64). */
OT_API ot_status ot_tensor_widen(const ot_context *ctx, const ot_tensor *src, ot_tensor *dst,
                                 const char *what);
/* A new owned tensor in src's declared dtype (a plain copy when nothing is declared). */
OT_API ot_status ot_tensor_narrow(const ot_tensor *src, ot_tensor *dst, const char *what);

/* Element count; 1 for scalars; -1 if a dim is unknown or the product overflows. */
OT_API int64_t ot_tensor_numel(const ot_tensor *t);
OT_API int64_t ot_dims_numel(int ndim, const int64_t *dims);

/* Byte size of a dtype/shape, checked for overflow. `what` names the tensor in the error
 * message. */
OT_API ot_status ot_tensor_byte_size(ot_dtype dtype, int ndim, const int64_t *dims, const char *what,
                              size_t *bytes);

/* Allocates zeroed, owned storage for the given shape, refused (OT_ERR_MEMORY) over ctx's
 * memory limit (NULL: none). */
OT_API ot_status ot_tensor_alloc(const ot_context *ctx, ot_tensor *t, ot_dtype dtype, int ndim,
                          const int64_t *dims, const char *what);
/* Deep copy (owned). */
OT_API ot_status ot_tensor_copy(ot_tensor *dst, const ot_tensor *src, const char *what);
OT_API void ot_tensor_free(ot_tensor *t);

/* Sets dtype and shape, leaving data alone; clears `declared`. */
OT_API void ot_tensor_set_shape(ot_tensor *t, ot_dtype dtype, int ndim, const int64_t *dims);
OT_API int ot_tensor_same_shape(const ot_tensor *a, const ot_tensor *b);
/* "[1,3,224,224]" with "?" for unknown dims, into buf. */
OT_API const char *ot_shape_string(int ndim, const int64_t *dims, char *buf, size_t size);


#ifdef __cplusplus
}
#endif
#endif
