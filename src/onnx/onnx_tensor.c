/* TensorProto <-> ot_tensor: raw_data and typed fields widened to the engine's dtypes (integers
 * to int64, floats to float32, the file's dtype kept as `declared`) and narrowed back on export;
 * external data confined to the model's folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

#include "core/dtype_convert.h"
#include "core/half.h"
#include "core/util.h"
#include "onnx_internal.h"
#include "core/file_io.h"
#include "core/context_internal.h"

/* Widens n elements of little-endian `raw` in dtype `from` into t (allocated in the computed
 * dtype); uint64 values above INT64_MAX are refused. */
static ot_status widen_raw(ot_tensor *t, ot_dtype from, const void *raw, int64_t n, const char *what) {
    int64_t too_large = oti_widen_values(t->data, raw, from, n);
    if (too_large < 0) return OT_OK;
    uint64_t value;
    memcpy(&value, (const char *)raw + 8 * too_large, 8);
    return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s': uint64 value %llu (element %lld) is above "
                   "2^63-1; the engine holds integers as int64", what, (unsigned long long)value,
                   (long long)too_large);
}

/* The typed field that holds `from` (int32_data carries every dtype of 16 bits or fewer). */
static ot_status widen_typed(ot_tensor *t, ot_dtype from, const Onnx__TensorProto *proto, int64_t n,
                             const char *what) {
    switch (from) {
    case OT_FLOAT: return widen_raw(t, from, proto->float_data, n, what);
    case OT_DOUBLE: return widen_raw(t, from, proto->double_data, n, what);
    case OT_INT64: return widen_raw(t, from, proto->int64_data, n, what);
    case OT_UINT64: return widen_raw(t, from, proto->uint64_data, n, what);
    case OT_UINT32:
        for (int64_t i = 0; i < n; i++) ((int64_t *)t->data)[i] = (uint32_t)proto->uint64_data[i];
        return OT_OK;
    case OT_FLOAT16: case OT_BFLOAT16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)proto->int32_data[i];
            ((float *)t->data)[i] = from == OT_FLOAT16 ? oti_half_to_float(h) : oti_bfloat16_to_float(h);
        }
        return OT_OK;
    case OT_BOOL:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = proto->int32_data[i] != 0;
        return OT_OK;
    default: /* int32, int16, int8, uint16, uint8 */
        for (int64_t i = 0; i < n; i++)
            ((int64_t *)t->data)[i] = oti_wrap_integer(proto->int32_data[i], from);
        return OT_OK;
    }
}

/* Resolves `location` inside model_dir; refuses absolute paths and anything that leaves the
 * folder, including through symbolic links. */
static ot_status open_external(const char *model_dir, const char *location, const char *what,
                               int *fd_out, uint64_t *file_size) {
    if (!model_dir)
        return oti_fail(OT_ERR_INVALID, "tensor '%s': external data is not allowed here", what);
    if (!location || !*location || location[0] == '/' || strstr(location, ".."))
        return oti_fail(OT_ERR_INVALID,
                       "tensor '%s': external data location '%s' must be a relative path inside "
                       "the model's folder",
                       what, location ? location : "");
    char *joined = oti_path_join(model_dir, location);
    OT_ALLOC_CHECK(joined);
    char real_dir[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(model_dir, real_dir) || !realpath(joined, real_file)) {
        ot_status s = oti_fail(OT_ERR_IO, "tensor '%s': external data file '%s' cannot be opened: %s",
                              what, joined, strerror(errno));
        free(joined);
        return s;
    }
    size_t dir_len = strlen(real_dir);
    if (strncmp(real_file, real_dir, dir_len) != 0 || real_file[dir_len] != '/') {
        ot_status s = oti_fail(OT_ERR_INVALID,
                              "tensor '%s': external data file '%s' resolves outside the model's "
                              "folder",
                              what, location);
        free(joined);
        return s;
    }
    int fd = open(real_file, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        ot_status s = oti_fail(OT_ERR_IO, "tensor '%s': external data file '%s' is not a readable "
                              "regular file", what, joined);
        free(joined);
        return s;
    }
    free(joined);
    *fd_out = fd;
    *file_size = (uint64_t)st.st_size;
    return OT_OK;
}

static ot_status read_external(const Onnx__TensorProto *proto, const char *model_dir,
                               const char *what, size_t expected_bytes, unsigned char **raw) {
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < proto->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = proto->external_data[i];
        if (!e->key || !e->value) continue;
        if (strcmp(e->key, "location") == 0) location = e->value;
        else if (strcmp(e->key, "offset") == 0 && (!oti_parse_int64(e->value, &offset) || offset < 0))
            return oti_fail(OT_ERR_FORMAT, "tensor '%s': bad external data offset '%s'", what, e->value);
        else if (strcmp(e->key, "length") == 0 && (!oti_parse_int64(e->value, &length) || length < 0))
            return oti_fail(OT_ERR_FORMAT, "tensor '%s': bad external data length '%s'", what, e->value);
    }
    if (length >= 0 && (uint64_t)length != expected_bytes)
        return oti_fail(OT_ERR_FORMAT, "tensor '%s': external data length %lld disagrees with its "
                       "dims (%zu bytes)", what, (long long)length, expected_bytes);
    int fd;
    uint64_t file_size;
    OT_TRY(open_external(model_dir, location, what, &fd, &file_size));
    if ((uint64_t)offset > file_size || expected_bytes > file_size - (uint64_t)offset) {
        close(fd);
        return oti_fail(OT_ERR_FORMAT, "tensor '%s': external data (offset %lld, %zu bytes) runs "
                       "past the end of '%s' (%llu bytes)", what, (long long)offset,
                       expected_bytes, location, (unsigned long long)file_size);
    }
    unsigned char *buf = malloc(expected_bytes ? expected_bytes : 1);
    if (!buf) {
        close(fd);
        return oti_fail(OT_ERR_MEMORY, "tensor '%s': out of memory allocating %zu bytes", what, expected_bytes);
    }
    size_t done = 0;
    while (done < expected_bytes) {
        ssize_t got = pread(fd, buf + done, expected_bytes - done, (off_t)(offset + (int64_t)done));
        if (got <= 0) {
            free(buf);
            close(fd);
            return oti_fail(OT_ERR_IO, "tensor '%s': reading external data '%s' failed", what, location);
        }
        done += (size_t)got;
    }
    close(fd);
    *raw = buf;
    return OT_OK;
}

static ot_status count_mismatch(const char *what, const char *field, size_t have, int64_t need) {
    return oti_fail(OT_ERR_FORMAT, "tensor '%s': %s has %zu values, its dims need %lld", what,
                   field, have, (long long)need);
}

ot_status oti_onnx_tensor_import(const ot_context *ctx, const Onnx__TensorProto *proto, const char *model_dir,
                             const char *what, ot_tensor *out) {
    ot_dtype from = (ot_dtype)proto->data_type;
    if (!proto->has_data_type || from == OT_UNDEFINED)
        return oti_fail(OT_ERR_FORMAT, "tensor '%s' has no data type", what);
    if (ot_dtype_size(from) == 0 || from > OT_BFLOAT16)
        return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s' has data type %d (%s), which is not "
                       "supported", what, (int)from, ot_dtype_name(from));
    if (proto->n_dims > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s' has %zu dims; at most %d are supported",
                       what, proto->n_dims, OT_MAX_DIMS);
    for (size_t d = 0; d < proto->n_dims; d++)
        if (proto->dims[d] < 0)
            return oti_fail(OT_ERR_FORMAT, "tensor '%s' has a negative dim (%lld)", what,
                           (long long)proto->dims[d]);
    int ndim = (int)proto->n_dims;
    size_t source_bytes;
    OT_TRY(ot_tensor_byte_size(from, ndim, proto->dims, what, &source_bytes));
    OT_TRY(oti_check_memory(ctx, source_bytes, what));
    int64_t n = ot_dims_numel(ndim, proto->dims);
    /* The data must be there before the tensor is allocated: dims alone (a few bytes of a
     * hostile file) must not make us allocate gigabytes. */
    int external = proto->has_data_location &&
                   proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    int raw = !external && proto->has_raw_data && (proto->raw_data.len > 0 || n == 0);
    unsigned char *external_raw = NULL;
    if (external) {
        OT_TRY(read_external(proto, model_dir, what, source_bytes, &external_raw));
    } else if (raw) {
        if (proto->raw_data.len != source_bytes)
            return oti_fail(OT_ERR_FORMAT, "tensor '%s': raw_data has %zu bytes, its dims %s "
                           "need %zu", what, proto->raw_data.len,
                           ot_shape_string(ndim, proto->dims, (char[96]){0}, 96), source_bytes);
    } else {
        const char *field = "int32_data";
        size_t have = proto->n_int32_data;
        if (from == OT_FLOAT) field = "float_data", have = proto->n_float_data;
        else if (from == OT_DOUBLE) field = "double_data", have = proto->n_double_data;
        else if (from == OT_INT64) field = "int64_data", have = proto->n_int64_data;
        else if (from == OT_UINT32 || from == OT_UINT64) field = "uint64_data", have = proto->n_uint64_data;
        if (have != (size_t)n) return count_mismatch(what, field, have, n);
    }
    ot_tensor t = {0};
    ot_status status = ot_tensor_alloc(ctx, &t, ot_dtype_storage(from), ndim, proto->dims, what);
    if (status == OT_OK) {
        ot_tensor_declare(&t, from);
        if (external) status = widen_raw(&t, from, external_raw, n, what);
        else if (raw) status = widen_raw(&t, from, proto->raw_data.data, n, what);
        else status = widen_typed(&t, from, proto, n, what);
    }
    free(external_raw);
    if (status != OT_OK) {
        ot_tensor_free(&t);
        return status;
    }
    *out = t;
    return OT_OK;
}

void oti_onnx_tensor_export(const ot_tensor *t, const char *name, void *narrowed,
                            Onnx__TensorProto *proto) {
    ot_dtype declared = ot_tensor_declared(t);
    int64_t n = ot_tensor_numel(t);
    onnx__tensor_proto__init(proto);
    proto->name = (char *)name;
    proto->n_dims = (size_t)t->ndim;
    proto->dims = (int64_t *)t->dims;
    proto->has_data_type = 1;
    proto->data_type = (int32_t)declared;
    proto->has_raw_data = 1;
    proto->raw_data.len = (size_t)n * ot_dtype_size(declared);
    proto->raw_data.data = t->data;
    if (declared != t->dtype) {
        oti_narrow_values(narrowed, declared, t->data, n);
        proto->raw_data.data = narrowed;
    }
}
