/* Tensor descriptors: sizes with overflow checks, allocation against a context's memory
 * limit. */
#include "onnxtrain/tensor.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "context_internal.h"
#include "core/error.h"

ot_status oti_check_memory(const ot_context *ctx, size_t bytes, const char *what) {
    size_t limit = ot_context_memory_limit(ctx);
    if (limit && bytes > limit)
        return oti_fail(OT_ERR_MEMORY, "%s needs %.1f MiB, over the memory limit of %.1f MiB", what,
                       bytes / 1048576.0, limit / 1048576.0);
    return OT_OK;
}

size_t ot_dtype_size(ot_dtype dtype) {
    switch (dtype) {
    case OT_FLOAT: case OT_INT32: case OT_UINT32: return 4;
    case OT_INT64: case OT_UINT64: case OT_DOUBLE: return 8;
    case OT_UINT8: case OT_INT8: case OT_BOOL: return 1;
    case OT_UINT16: case OT_INT16: case OT_FLOAT16: case OT_BFLOAT16: return 2;
    case OT_STRING: case OT_UNDEFINED: return 0;
    }
    return 0;
}

const char *ot_dtype_name(ot_dtype dtype) {
    switch (dtype) {
    case OT_FLOAT: return "float32";
    case OT_UINT8: return "uint8";
    case OT_INT8: return "int8";
    case OT_UINT16: return "uint16";
    case OT_INT16: return "int16";
    case OT_INT32: return "int32";
    case OT_INT64: return "int64";
    case OT_STRING: return "string";
    case OT_BOOL: return "bool";
    case OT_FLOAT16: return "float16";
    case OT_DOUBLE: return "float64";
    case OT_UINT32: return "uint32";
    case OT_UINT64: return "uint64";
    case OT_BFLOAT16: return "bfloat16";
    case OT_UNDEFINED: return "undefined";
    }
    return "unknown";
}

int ot_dtype_is_computed(ot_dtype dtype) {
    return dtype == OT_FLOAT || dtype == OT_INT64 || dtype == OT_BOOL;
}

int64_t ot_dims_numel(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] != 0 && n > INT64_MAX / dims[i]) return -1;
        n *= dims[i];
    }
    return n;
}

int64_t ot_tensor_numel(const ot_tensor *t) { return ot_dims_numel(t->ndim, t->dims); }

ot_status ot_tensor_byte_size(ot_dtype dtype, int ndim, const int64_t *dims, const char *what,
                              size_t *bytes) {
    if (ndim < 0 || ndim > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s' has %d dims; at most %d are supported",
                       what, ndim, OT_MAX_DIMS);
    size_t elem = ot_dtype_size(dtype);
    if (elem == 0)
        return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s' has dtype %s, which has no fixed size",
                       what, ot_dtype_name(dtype));
    int64_t n = ot_dims_numel(ndim, dims);
    if (n < 0 || (uint64_t)n > SIZE_MAX / elem || (uint64_t)n * elem > ((uint64_t)1 << 46)) {
        char shape[128];
        return oti_fail(OT_ERR_MEMORY, "tensor '%s' with shape %s is too large or has a bad dim",
                       what, ot_shape_string(ndim, dims, shape, sizeof shape));
    }
    *bytes = (size_t)n * elem;
    return OT_OK;
}

void ot_tensor_set_shape(ot_tensor *t, ot_dtype dtype, int ndim, const int64_t *dims) {
    OT_ASSERT(ndim >= 0 && ndim <= OT_MAX_DIMS);
    t->dtype = dtype;
    t->declared = OT_UNDEFINED;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    for (int i = ndim; i < OT_MAX_DIMS; i++) t->dims[i] = 0;
}

ot_status ot_tensor_alloc(const ot_context *ctx, ot_tensor *t, ot_dtype dtype, int ndim,
                          const int64_t *dims, const char *what) {
    size_t bytes;
    OT_TRY(ot_tensor_byte_size(dtype, ndim, dims, what, &bytes));
    OT_TRY(oti_check_memory(ctx, bytes, what));
    void *data = calloc(bytes ? bytes : 1, 1);
    if (!data)
        return oti_fail(OT_ERR_MEMORY, "out of memory allocating %zu bytes for tensor '%s'", bytes, what);
    ot_tensor_set_shape(t, dtype, ndim, dims);
    t->data = data;
    t->owns = 1;
    return OT_OK;
}

ot_status ot_tensor_copy(ot_tensor *dst, const ot_tensor *src, const char *what) {
    ot_tensor copy = {0};
    ot_status status = ot_tensor_alloc(NULL, &copy, src->dtype, src->ndim, src->dims, what);
    if (status != OT_OK) {
        memset(dst, 0, sizeof *dst); /* safe to free */
        return status;
    }
    size_t bytes = (size_t)ot_tensor_numel(src) * ot_dtype_size(src->dtype);
    if (bytes) memcpy(copy.data, src->data, bytes);
    copy.declared = src->declared;
    *dst = copy;
    return OT_OK;
}

void ot_tensor_free(ot_tensor *t) {
    if (t->owns) free(t->data);
    t->data = NULL;
    t->owns = 0;
}

int ot_tensor_same_shape(const ot_tensor *a, const ot_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

const char *ot_shape_string(int ndim, const int64_t *dims, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "[");
    for (int i = 0; i < ndim && used < size; i++) {
        if (dims[i] < 0)
            used += (size_t)snprintf(buf + used, size - used, "%s?", i ? "," : "");
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "",
                                     (long long)dims[i]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}
