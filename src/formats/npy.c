/* .npy format 1.0-3.0: magic, version, header length, a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, padding, raw data. */
#include "npy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/half.h"
#include "core/util.h"
#include "core/file_io.h"

/* Finds the value text after 'key': (or "key":, also a Python literal) in the header dict. */
static const char *find_key(const char *header, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "'%s'", key);
    const char *p = strstr(header, pattern);
    if (!p) {
        snprintf(pattern, sizeof pattern, "\"%s\"", key);
        p = strstr(header, pattern);
    }
    if (!p) return NULL;
    p += strlen(pattern);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static ot_status parse_descr(const char *descr, const char *what, ot_dtype *dtype, int *swap) {
    char order = descr[0];
    char kind = descr[1];
    int size = atoi(descr + 2);
    *swap = order == '>';
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return oti_fail(OT_ERR_FORMAT, "%s: bad dtype '%s'", what, descr);
    if (kind == 'f' && size == 4) *dtype = OT_FLOAT;
    else if (kind == 'f' && size == 8) *dtype = OT_DOUBLE;
    else if (kind == 'f' && size == 2) *dtype = OT_FLOAT16;
    else if (kind == 'i' && size == 8) *dtype = OT_INT64;
    else if (kind == 'i' && size == 4) *dtype = OT_INT32;
    else if (kind == 'i' && size == 2) *dtype = OT_INT16;
    else if (kind == 'i' && size == 1) *dtype = OT_INT8;
    else if (kind == 'u' && size == 1) *dtype = OT_UINT8;
    else if (kind == 'u' && size == 2) *dtype = OT_UINT16;
    else if (kind == 'u' && size == 4) *dtype = OT_UINT32;
    else if (kind == 'u' && size == 8) *dtype = OT_UINT64;
    else if (kind == 'b' && size == 1) *dtype = OT_BOOL;
    else if (kind == 'O')
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: object arrays are refused (they need pickle, "
                       "which could run code)", what);
    else
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported (numeric dtypes only)",
                       what, descr);
    return OT_OK;
}

static ot_status parse_header(const char *header, const char *what, ot_dtype *dtype, int *swap,
                              int *fortran, int *ndim, int64_t *dims) {
    const char *descr = find_key(header, "descr");
    const char *order = find_key(header, "fortran_order");
    const char *shape = find_key(header, "shape");
    if (!descr || !order || !shape)
        return oti_fail(OT_ERR_FORMAT, "%s: .npy header lacks descr, fortran_order or shape", what);
    if (*descr != '\'' && *descr != '"')
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: structured dtypes are not supported", what);
    char descr_text[16] = {0};
    const char *end = strchr(descr + 1, *descr);
    if (!end || end - descr - 1 >= (long)sizeof descr_text || end - descr - 1 < 2)
        return oti_fail(OT_ERR_FORMAT, "%s: bad descr in .npy header", what);
    memcpy(descr_text, descr + 1, (size_t)(end - descr - 1));
    OT_TRY(parse_descr(descr_text, what, dtype, swap));
    if (!strncmp(order, "True", 4)) *fortran = 1;
    else if (!strncmp(order, "False", 5)) *fortran = 0;
    else return oti_fail(OT_ERR_FORMAT, "%s: bad fortran_order in .npy header", what);
    if (*shape != '(') return oti_fail(OT_ERR_FORMAT, "%s: bad shape in .npy header", what);
    const char *p = shape + 1;
    *ndim = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p))
            return oti_fail(OT_ERR_FORMAT, "%s: bad shape in .npy header", what);
        if (*ndim >= OT_MAX_DIMS)
            return oti_fail(OT_ERR_UNSUPPORTED, "%s: more than %d dims", what, OT_MAX_DIMS);
        char *after;
        long long v = strtoll(p, &after, 10);
        if (v < 0 || after == p || v > ((long long)1 << 40))
            return oti_fail(OT_ERR_FORMAT, "%s: bad dim in .npy header", what);
        dims[(*ndim)++] = v;
        p = after;
    }
    return OT_OK;
}

static void byte_swap(unsigned char *data, size_t n, size_t elem) {
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
            unsigned char t = data[i * elem + a];
            data[i * elem + a] = data[i * elem + b];
            data[i * elem + b] = t;
        }
}

/* Fortran order -> C order: element at column-major index goes to its row-major place. */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, int ndim,
                         const int64_t *dims, size_t elem) {
    int64_t n = ot_dims_numel(ndim, dims);
    int64_t index[OT_MAX_DIMS] = {0};
    for (int64_t f = 0; f < n; f++) {
        int64_t c = 0;
        for (int d = 0; d < ndim; d++) c = c * dims[d] + index[d];
        memcpy(dst + (size_t)c * elem, src + (size_t)f * elem, elem);
        for (int d = 0; d < ndim; d++) { /* column-major: first dim fastest */
            if (++index[d] < dims[d]) break;
            index[d] = 0;
        }
    }
}

ot_status oti_npy_parse(const ot_context *ctx, const unsigned char *data, size_t size, const char *what, ot_tensor *out) {
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
        return oti_fail(OT_ERR_FORMAT, "%s: not a .npy file (bad magic)", what);
    int major = data[6];
    size_t header_len, header_start;
    if (major == 1) {
        header_len = (size_t)data[8] | (size_t)data[9] << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return oti_fail(OT_ERR_FORMAT, "%s: truncated .npy header", what);
        header_len = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 |
                     (size_t)data[11] << 24;
        header_start = 12;
    } else {
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: .npy version %d is not supported", what, major);
    }
    if (header_len > size - header_start)
        return oti_fail(OT_ERR_FORMAT, "%s: .npy header length %zu runs past the end of the file",
                       what, header_len);
    char *header = oti_strndup((const char *)data + header_start, header_len);
    OT_ALLOC_CHECK(header);
    ot_dtype dtype = OT_UNDEFINED;
    int swap = 0, fortran = 0, ndim = 0;
    int64_t dims[OT_MAX_DIMS] = {0};
    ot_status status = parse_header(header, what, &dtype, &swap, &fortran, &ndim, dims);
    free(header);
    OT_TRY(status);
    size_t elem = ot_dtype_size(dtype), bytes;
    OT_TRY(ot_tensor_byte_size(dtype, ndim, dims, what, &bytes));
    size_t offset = header_start + header_len;
    if (size - offset != bytes)
        return oti_fail(OT_ERR_FORMAT, "%s: .npy data has %zu bytes, shape and dtype need %zu",
                       what, size - offset, bytes);
    ot_tensor t;
    OT_TRY(ot_tensor_alloc(ctx, &t, dtype, ndim, dims, what));
    size_t n = bytes / (elem ? elem : 1);
    if (fortran && ndim > 1) fortran_to_c(t.data, data + offset, ndim, dims, elem);
    else memcpy(t.data, data + offset, bytes);
    if (swap && elem > 1) byte_swap(t.data, n, elem);
    if (dtype == OT_BOOL)
        for (size_t i = 0; i < n; i++) ((unsigned char *)t.data)[i] = ((unsigned char *)t.data)[i] != 0;
    *out = t;
    return OT_OK;
}

ot_status oti_npy_load(const ot_context *ctx, const char *path, ot_tensor *out) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_read_file(path, 0, &data, &size));
    ot_status status = oti_npy_parse(ctx, data, size, path, out);
    free(data);
    return status;
}

static const char *descr_of(ot_dtype dtype) {
    switch (dtype) {
    case OT_FLOAT: return "<f4";
    case OT_DOUBLE: return "<f8";
    case OT_INT64: return "<i8";
    case OT_INT32: return "<i4";
    case OT_INT16: return "<i2";
    case OT_INT8: return "|i1";
    case OT_UINT8: return "|u1";
    case OT_UINT16: return "<u2";
    case OT_UINT32: return "<u4";
    case OT_UINT64: return "<u8";
    case OT_BOOL: return "|b1";
    case OT_FLOAT16: return "<f2";
    default: return NULL;
    }
}

ot_status oti_npy_serialize(const ot_tensor *t, unsigned char **data, size_t *size) {
    const char *descr = descr_of(t->dtype);
    if (!descr)
        return oti_fail(OT_ERR_UNSUPPORTED, "dtype %s cannot be written to .npy", ot_dtype_name(t->dtype));
    char shape[256] = "(";
    size_t used = 1;
    /* Python tuple syntax as numpy writes it: (), (5,), (2, 3). */
    for (int d = 0; d < t->ndim; d++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%lld", d ? ", " : "", (long long)t->dims[d]);
    snprintf(shape + used, sizeof shape - used, t->ndim == 1 ? ",)" : ")");
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    /* Pad with spaces so that data starts at a multiple of 64, ending with a newline. */
    size_t total_header = 10 + (size_t)n + 1;
    size_t padded = (total_header + 63) / 64 * 64;
    size_t header_len = padded - 10;
    size_t bytes = (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
    unsigned char *buf = malloc(padded + bytes);
    if (!buf) return oti_fail(OT_ERR_MEMORY, "out of memory allocating %zu bytes for .npy", padded + bytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(header_len & 0xff);
    buf[9] = (unsigned char)(header_len >> 8);
    memcpy(buf + 10, header, (size_t)n);
    memset(buf + 10 + n, ' ', header_len - (size_t)n - 1);
    buf[padded - 1] = '\n';
    if (bytes) memcpy(buf + padded, t->data, bytes);
    *data = buf;
    *size = padded + bytes;
    return OT_OK;
}

ot_status oti_npy_save(const char *path, const ot_tensor *t) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_npy_serialize(t, &data, &size));
    ot_status status = oti_write_file_atomic(path, data, size);
    free(data);
    return status;
}

/* Element i of an integer or bool tensor whose values all fit int64 (every integer dtype but
 * uint64); 0 for other dtypes. */
static int small_integer_at(const ot_tensor *t, int64_t i, int64_t *v) {
    switch (t->dtype) {
    case OT_INT64: *v = ((int64_t *)t->data)[i]; return 1;
    case OT_INT32: *v = ((int32_t *)t->data)[i]; return 1;
    case OT_INT16: *v = ((int16_t *)t->data)[i]; return 1;
    case OT_INT8: *v = ((int8_t *)t->data)[i]; return 1;
    case OT_UINT8: case OT_BOOL: *v = ((uint8_t *)t->data)[i]; return 1;
    case OT_UINT16: *v = ((uint16_t *)t->data)[i]; return 1;
    case OT_UINT32: *v = ((uint32_t *)t->data)[i]; return 1;
    default: return 0;
    }
}

/* t takes `data` (dtype) in place of its own. */
static void adopt(ot_tensor *t, void *data, ot_dtype dtype) {
    if (t->owns) free(t->data);
    t->data = data;
    t->owns = 1;
    t->dtype = dtype;
}

ot_status oti_tensor_to_float(ot_tensor *t, const char *what) {
    if (t->dtype == OT_FLOAT) return OT_OK;
    int64_t n = ot_tensor_numel(t);
    float *out = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!out) return oti_fail(OT_ERR_MEMORY, "%s: out of memory allocating for float32 conversion", what);
    for (int64_t i = 0; i < n; i++) {
        int64_t integer;
        switch (t->dtype) {
        case OT_DOUBLE: out[i] = (float)((double *)t->data)[i]; break;
        case OT_FLOAT16: out[i] = oti_half_to_float(((uint16_t *)t->data)[i]); break;
        case OT_BFLOAT16: out[i] = oti_bfloat16_to_float(((uint16_t *)t->data)[i]); break;
        case OT_UINT64: out[i] = (float)((uint64_t *)t->data)[i]; break;
        default:
            if (!small_integer_at(t, i, &integer)) {
                free(out);
                return oti_fail(OT_ERR_UNSUPPORTED, "%s: dtype %s cannot become float32", what,
                               ot_dtype_name(t->dtype));
            }
            out[i] = (float)integer;
        }
    }
    adopt(t, out, OT_FLOAT);
    return OT_OK;
}

ot_status oti_tensor_to_int64(ot_tensor *t, const char *what) {
    if (t->dtype == OT_INT64) return OT_OK;
    int64_t n = ot_tensor_numel(t);
    int64_t *out = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!out) return oti_fail(OT_ERR_MEMORY, "%s: out of memory allocating for int64 conversion", what);
    for (int64_t i = 0; i < n; i++) {
        if (small_integer_at(t, i, &out[i])) continue;
        if (t->dtype != OT_UINT64) {
            free(out);
            return oti_fail(OT_ERR_UNSUPPORTED, "%s: dtype %s is not an integer type", what, ot_dtype_name(t->dtype));
        }
        uint64_t u = ((uint64_t *)t->data)[i];
        if (u > INT64_MAX) {
            free(out);
            return oti_fail(OT_ERR_INVALID, "%s: element %lld (%llu) does not fit int64", what, (long long)i,
                           (unsigned long long)u);
        }
        out[i] = (int64_t)u;
    }
    adopt(t, out, OT_INT64);
    return OT_OK;
}
