/* Widening a model's dtypes to the engine's (integers to int64, floats to float32), narrowing
 * them back, and wrapping results to the declared width. uint64 is held as int64's bits:
 * values above INT64_MAX are refused where they enter. */
#include "dtype_convert.h"

#include <string.h>

#include "core/error.h"
#include "half.h"

ot_dtype ot_dtype_storage(ot_dtype dtype) {
    switch (dtype) {
    case OT_FLOAT: case OT_FLOAT16: case OT_BFLOAT16: case OT_DOUBLE: return OT_FLOAT;
    case OT_UINT8: case OT_INT8: case OT_UINT16: case OT_INT16: case OT_INT32: case OT_INT64:
    case OT_UINT32: case OT_UINT64: return OT_INT64;
    case OT_BOOL: return OT_BOOL;
    case OT_STRING: case OT_UNDEFINED: return OT_UNDEFINED;
    }
    return OT_UNDEFINED;
}

ot_dtype ot_tensor_declared(const ot_tensor *t) {
    return t->declared != OT_UNDEFINED ? t->declared : t->dtype;
}

void ot_tensor_declare(ot_tensor *t, ot_dtype declared) {
    t->declared = declared == t->dtype ? OT_UNDEFINED : declared;
}

int64_t oti_wrap_integer(int64_t v, ot_dtype declared) {
    switch (declared) {
    case OT_INT8: return (int8_t)v;
    case OT_UINT8: return (uint8_t)v;
    case OT_INT16: return (int16_t)v;
    case OT_UINT16: return (uint16_t)v;
    case OT_INT32: return (int32_t)v;
    case OT_UINT32: return (uint32_t)v;
    default: return v;
    }
}

/* Element k of integer data in dtype `from`, as int64 (uint64: its bits). */
static int64_t integer_at(const void *src, ot_dtype from, int64_t k) {
    switch (from) {
    case OT_INT8: return ((const int8_t *)src)[k];
    case OT_UINT8: return ((const uint8_t *)src)[k];
    case OT_INT16: return ((const int16_t *)src)[k];
    case OT_UINT16: return ((const uint16_t *)src)[k];
    case OT_INT32: return ((const int32_t *)src)[k];
    case OT_UINT32: return ((const uint32_t *)src)[k];
    case OT_BOOL: return ((const uint8_t *)src)[k] != 0;
    default: return ((const int64_t *)src)[k]; /* int64, uint64 */
    }
}

static float float_at(const void *src, ot_dtype from, int64_t k) {
    switch (from) {
    case OT_FLOAT16: return oti_half_to_float(((const uint16_t *)src)[k]);
    case OT_BFLOAT16: return oti_bfloat16_to_float(((const uint16_t *)src)[k]);
    case OT_DOUBLE: return (float)((const double *)src)[k];
    default: return ((const float *)src)[k];
    }
}

int64_t oti_widen_values(void *dst, const void *src, ot_dtype from, int64_t n) {
    ot_dtype to = ot_dtype_storage(from);
    int64_t too_large = -1;
    if (to == OT_FLOAT) {
        for (int64_t k = 0; k < n; k++) ((float *)dst)[k] = float_at(src, from, k);
    } else if (to == OT_BOOL) {
        for (int64_t k = 0; k < n; k++) ((uint8_t *)dst)[k] = ((const uint8_t *)src)[k] != 0;
    } else {
        for (int64_t k = 0; k < n; k++) {
            int64_t v = integer_at(src, from, k);
            if (from == OT_UINT64 && v < 0 && too_large < 0) too_large = k;
            ((int64_t *)dst)[k] = v;
        }
    }
    return too_large;
}

void oti_narrow_values(void *dst, ot_dtype to, const void *src, int64_t n) {
    const float *f = src;
    const int64_t *i = src;
    for (int64_t k = 0; k < n; k++) {
        switch (to) {
        case OT_FLOAT16: ((uint16_t *)dst)[k] = oti_float_to_half(f[k]); break;
        case OT_BFLOAT16: ((uint16_t *)dst)[k] = oti_float_to_bfloat16(f[k]); break;
        case OT_DOUBLE: ((double *)dst)[k] = f[k]; break;
        case OT_INT8: ((int8_t *)dst)[k] = (int8_t)i[k]; break;
        case OT_UINT8: ((uint8_t *)dst)[k] = (uint8_t)i[k]; break;
        case OT_INT16: ((int16_t *)dst)[k] = (int16_t)i[k]; break;
        case OT_UINT16: ((uint16_t *)dst)[k] = (uint16_t)i[k]; break;
        case OT_INT32: ((int32_t *)dst)[k] = (int32_t)i[k]; break;
        case OT_UINT32: ((uint32_t *)dst)[k] = (uint32_t)i[k]; break;
        default: /* same width: float32, int64, uint64, bool */
            memcpy((char *)dst + k * (int64_t)ot_dtype_size(to),
                   (const char *)src + k * (int64_t)ot_dtype_size(to), ot_dtype_size(to));
        }
    }
}

void oti_fit_values(void *data, ot_dtype declared, int64_t n) {
    float *f = data;
    int64_t *i = data;
    switch (declared) {
    case OT_FLOAT16:
        for (int64_t k = 0; k < n; k++) f[k] = oti_half_to_float(oti_float_to_half(f[k]));
        break;
    case OT_BFLOAT16:
        for (int64_t k = 0; k < n; k++) f[k] = oti_bfloat16_to_float(oti_float_to_bfloat16(f[k]));
        break;
    case OT_INT8: case OT_UINT8: case OT_INT16: case OT_UINT16: case OT_INT32: case OT_UINT32:
        for (int64_t k = 0; k < n; k++) i[k] = oti_wrap_integer(i[k], declared);
        break;
    default: break; /* float32, float64 (held at float32 precision), int64, uint64, bool */
    }
}

ot_status ot_tensor_widen(const ot_context *ctx, const ot_tensor *src, ot_tensor *dst,
                          const char *what) {
    ot_dtype to = ot_dtype_storage(src->dtype);
    if (to == OT_UNDEFINED)
        return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s' has dtype %s, which the engine cannot "
                       "compute with", what, ot_dtype_name(src->dtype));
    ot_tensor t;
    OT_TRY(ot_tensor_alloc(ctx, &t, to, src->ndim, src->dims, what));
    int64_t too_large = oti_widen_values(t.data, src->data, src->dtype, ot_tensor_numel(src));
    if (too_large >= 0) {
        ot_tensor_free(&t);
        return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s': uint64 value %llu (element %lld) is "
                       "above 2^63-1; the engine holds integers as int64", what,
                       (unsigned long long)((const uint64_t *)src->data)[too_large],
                       (long long)too_large);
    }
    ot_tensor_declare(&t, ot_tensor_declared(src));
    *dst = t;
    return OT_OK;
}

ot_status ot_tensor_narrow(const ot_tensor *src, ot_tensor *dst, const char *what) {
    ot_dtype to = ot_tensor_declared(src);
    ot_tensor t;
    OT_TRY(ot_tensor_alloc(NULL, &t, to, src->ndim, src->dims, what));
    oti_narrow_values(t.data, to, src->data, ot_tensor_numel(src));
    *dst = t;
    return OT_OK;
}
