/* safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
 * JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {str: str}}, then the data. Offsets are relative to the data; tensors must
 * tile it exactly (no gaps, no overlaps, nothing left over). */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "core/file_io.h"
#include "formats/json.h"
#include "weights_internal.h"

/* The reference implementation refuses headers over 100 MB. */
#define MAX_HEADER_BYTES ((uint64_t)100 << 20)

static const struct {
    const char *name;
    ot_dtype dtype;
} dtypes[] = {
    {"F32", OT_FLOAT}, {"F16", OT_FLOAT16}, {"BF16", OT_BFLOAT16}, {"F64", OT_DOUBLE},
    {"I64", OT_INT64}, {"I32", OT_INT32},   {"I16", OT_INT16},     {"I8", OT_INT8},
    {"U8", OT_UINT8},  {"U16", OT_UINT16},  {"U32", OT_UINT32},    {"U64", OT_UINT64},
    {"BOOL", OT_BOOL},
};

static const char *dtype_code(ot_dtype dtype) {
    for (int i = 0; i < OT_COUNT(dtypes); i++)
        if (dtypes[i].dtype == dtype) return dtypes[i].name;
    return NULL;
}

typedef struct entry {
    const char *name; /* borrowed from the JSON tree */
    ot_dtype dtype;
    int ndim;
    int64_t dims[OT_MAX_DIMS];
    uint64_t begin, end;
} entry;

static ot_status read_entry(const char *path, const char *name, const ot_json *info, entry *e) {
    e->name = name;
    if (info->type != OT_JSON_OBJECT)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': header entry is %s, not an object", path,
                       name, oti_json_type_name(info->type));
    const ot_json *dtype = oti_json_get(info, "dtype"), *shape = oti_json_get(info, "shape"),
                  *offsets = oti_json_get(info, "data_offsets");
    if (!dtype || dtype->type != OT_JSON_STRING)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': missing or bad \"dtype\"", path, name);
    e->dtype = OT_UNDEFINED;
    for (int i = 0; i < OT_COUNT(dtypes); i++)
        if (!strcmp(dtype->string, dtypes[i].name)) e->dtype = dtypes[i].dtype;
    if (e->dtype == OT_UNDEFINED)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: tensor '%s': dtype '%s' is not supported", path,
                       name, dtype->string);
    if (!shape || shape->type != OT_JSON_ARRAY)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': missing or bad \"shape\"", path, name);
    if (shape->count > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: tensor '%s': %d dims, at most %d are supported",
                       path, name, shape->count, OT_MAX_DIMS);
    e->ndim = shape->count;
    for (int d = 0; d < shape->count; d++) {
        const ot_json *dim = &shape->items[d];
        if (dim->type != OT_JSON_NUMBER || !dim->is_uint || dim->uint_value > ((uint64_t)1 << 40))
            return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': shape entry %d is not a valid dim",
                           path, name, d);
        e->dims[d] = (int64_t)dim->uint_value;
    }
    if (!offsets || offsets->type != OT_JSON_ARRAY || offsets->count != 2 ||
        offsets->items[0].type != OT_JSON_NUMBER || !offsets->items[0].is_uint ||
        offsets->items[1].type != OT_JSON_NUMBER || !offsets->items[1].is_uint)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be two "
                       "non-negative integers", path, name);
    e->begin = offsets->items[0].uint_value;
    e->end = offsets->items[1].uint_value;
    if (e->end < e->begin)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before "
                       "they begin", path, name, (unsigned long long)e->begin,
                       (unsigned long long)e->end);
    return OT_OK;
}

static int compare_offsets(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* The entries, sorted by offset, must cover [0, data_size) exactly. */
static ot_status check_layout(const char *path, entry *sorted, int n, uint64_t data_size) {
    qsort(sorted, (size_t)n, sizeof(entry), compare_offsets);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (sorted[i].end > data_size)
            return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] run past "
                           "the end of the data (%llu bytes)", path, sorted[i].name,
                           (unsigned long long)sorted[i].begin, (unsigned long long)sorted[i].end,
                           (unsigned long long)data_size);
        if (sorted[i].begin < at)
            return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] overlap "
                           "tensor '%s'", path, sorted[i].name, (unsigned long long)sorted[i].begin,
                           (unsigned long long)sorted[i].end, sorted[i - 1].name);
        if (sorted[i].begin > at)
            return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': data starts at %llu, leaving a gap "
                           "after byte %llu (data must be contiguous)", path, sorted[i].name,
                           (unsigned long long)sorted[i].begin, (unsigned long long)at);
        at = sorted[i].end;
    }
    if (at != data_size)
        return oti_fail(OT_ERR_FORMAT, "%s: %llu bytes of data after the last tensor (data must "
                       "be covered exactly)", path, (unsigned long long)(data_size - at));
    return OT_OK;
}

static ot_status build_tensor(const ot_context *ctx, const char *path, const entry *e, const unsigned char *data,
                              ot_weights *out) {
    char *what = oti_asprintf("%s: tensor '%s'", path, e->name);
    OT_ALLOC_CHECK(what);
    size_t bytes;
    ot_status status = ot_tensor_byte_size(e->dtype, e->ndim, e->dims, what, &bytes);
    if (status == OT_OK && bytes != e->end - e->begin) {
        char shape[128];
        status = oti_fail(OT_ERR_FORMAT, "%s: shape %s of %s needs %zu bytes but data_offsets "
                         "give %llu", what, ot_shape_string(e->ndim, e->dims, shape, sizeof shape),
                         ot_dtype_name(e->dtype), bytes, (unsigned long long)(e->end - e->begin));
    }
    ot_tensor t = {0};
    if (status == OT_OK) status = ot_tensor_alloc(ctx, &t, e->dtype, e->ndim, e->dims, what);
    if (status == OT_OK) {
        /* The data is little-endian, as is every machine onnxtrain builds for. */
        if (bytes) memcpy(t.data, data + e->begin, bytes);
        if (e->dtype == OT_BOOL)
            for (size_t i = 0; i < bytes; i++)
                ((unsigned char *)t.data)[i] = ((unsigned char *)t.data)[i] != 0;
        status = oti_weights_float_dtype(&t, what);
    }
    if (status == OT_OK) status = ot_weights_add(out, path, e->name, &t, NULL, NULL);
    ot_tensor_free(&t);
    free(what);
    return status;
}

static ot_status check_metadata(const char *path, const ot_json *meta) {
    if (meta->type != OT_JSON_OBJECT)
        return oti_fail(OT_ERR_FORMAT, "%s: \"__metadata__\" is %s, not an object", path,
                       oti_json_type_name(meta->type));
    for (int i = 0; i < meta->count; i++)
        if (meta->items[i].type != OT_JSON_STRING)
            return oti_fail(OT_ERR_FORMAT, "%s: \"__metadata__\" value '%s' is not a string", path,
                           meta->keys[i]);
    return OT_OK;
}

ot_status oti_safetensors_parse(const ot_context *ctx, const unsigned char *data, size_t size, const char *path,
                               ot_weights *out) {
    if (size < 8)
        return oti_fail(OT_ERR_FORMAT, "%s: truncated safetensors file (%zu bytes, no header "
                       "length)", path, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | data[i];
    if (n > size - 8)
        return oti_fail(OT_ERR_FORMAT, "%s: safetensors header length %llu runs past the end of "
                       "the file (%zu bytes)", path, (unsigned long long)n, size);
    if (n > MAX_HEADER_BYTES)
        return oti_fail(OT_ERR_FORMAT, "%s: safetensors header of %llu bytes is over the 100 MB "
                       "limit", path, (unsigned long long)n);
    if (n < 2 || data[8] != '{')
        return oti_fail(OT_ERR_FORMAT, "%s: safetensors header does not start with '{'", path);
    char *what = oti_asprintf("%s: safetensors header", path);
    OT_ALLOC_CHECK(what);
    ot_json *header;
    ot_status status = oti_json_parse((const char *)data + 8, (size_t)n, what, &header);
    free(what);
    OT_TRY(status);
    if (header->type != OT_JSON_OBJECT) {
        oti_json_free(header);
        return oti_fail(OT_ERR_FORMAT, "%s: safetensors header is not a JSON object", path);
    }
    entry *entries = oti_calloc((size_t)header->count + 1, sizeof(entry));
    if (!entries) status = OT_ERR_MEMORY;
    int n_entries = 0;
    for (int i = 0; entries && i < header->count && status == OT_OK; i++) {
        if (!strcmp(header->keys[i], "__metadata__"))
            status = check_metadata(path, &header->items[i]);
        else
            status = read_entry(path, header->keys[i], &header->items[i], &entries[n_entries++]);
    }
    const unsigned char *payload = data + 8 + n;
    uint64_t payload_size = size - 8 - n;
    /* Check the layout on a sorted copy; build tensors in header order. */
    entry *sorted = status == OT_OK ? oti_calloc((size_t)n_entries + 1, sizeof(entry)) : NULL;
    if (status == OT_OK && !sorted) status = OT_ERR_MEMORY;
    if (status == OT_OK && n_entries) memcpy(sorted, entries, sizeof(entry) * (size_t)n_entries);
    if (status == OT_OK) status = check_layout(path, sorted, n_entries, payload_size);
    for (int i = 0; i < n_entries && status == OT_OK; i++)
        status = build_tensor(ctx, path, &entries[i], payload, out);
    free(sorted);
    free(entries);
    oti_json_free(header);
    return status;
}

static int compare_names(const void *a, const void *b) {
    return strcmp((*(const ot_named_tensor *const *)a)->name,
                  (*(const ot_named_tensor *const *)b)->name);
}

ot_status oti_safetensors_serialize(const ot_weights *w, unsigned char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    /* Sorted by name, both in the header and in the data. */
    const ot_named_tensor **sorted = oti_calloc((size_t)w->count + 1, sizeof(void *));
    OT_ALLOC_CHECK(sorted);
    for (int i = 0; i < w->count; i++) sorted[i] = &w->items[i];
    qsort(sorted, (size_t)w->count, sizeof(void *), compare_names);
    ot_json_writer header = {0};
    oti_json_append(&header, "{");
    uint64_t offset = 0;
    ot_status status = OT_OK;
    for (int i = 0; i < w->count && status == OT_OK; i++) {
        const ot_tensor *t = &sorted[i]->tensor;
        const char *code = dtype_code(t->dtype);
        if (!code) {
            status = oti_fail(OT_ERR_UNSUPPORTED, "tensor '%s': dtype %s cannot be written to "
                             "safetensors", sorted[i]->name, ot_dtype_name(t->dtype));
            break;
        }
        size_t bytes;
        status = ot_tensor_byte_size(t->dtype, t->ndim, t->dims, sorted[i]->name, &bytes);
        if (status != OT_OK) break;
        if (i) oti_json_append(&header, ",");
        status = oti_json_append_string(&header, sorted[i]->name, "safetensors");
        char buf[64];
        snprintf(buf, sizeof buf, ":{\"dtype\":\"%s\",\"shape\":[", code);
        oti_json_append(&header, buf);
        for (int d = 0; d < t->ndim; d++) {
            snprintf(buf, sizeof buf, "%s%lld", d ? "," : "", (long long)t->dims[d]);
            oti_json_append(&header, buf);
        }
        snprintf(buf, sizeof buf, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                 (unsigned long long)(offset + bytes));
        oti_json_append(&header, buf);
        offset += bytes;
    }
    oti_json_append(&header, "}");
    /* Spaces pad the header so the data starts 8-byte aligned. */
    while (header.len % 8 && !header.failed) oti_json_append(&header, " ");
    if (status == OT_OK && header.failed) status = OT_ERR_MEMORY;
    unsigned char *buf = NULL;
    if (status == OT_OK) {
        buf = malloc(8 + header.len + (size_t)offset + 1);
        if (!buf) status = oti_fail(OT_ERR_MEMORY, "out of memory allocating %llu bytes for safetensors",
                                   (unsigned long long)(8 + header.len + offset));
    }
    if (status == OT_OK) {
        for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
        memcpy(buf + 8, header.text, header.len);
        size_t at = 8 + header.len;
        for (int i = 0; i < w->count; i++) {
            const ot_tensor *t = &sorted[i]->tensor;
            size_t bytes = (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
            if (bytes) memcpy(buf + at, t->data, bytes);
            at += bytes;
        }
        *data = buf;
        *size = at;
    }
    free(header.text);
    free(sorted);
    return status;
}

ot_status oti_safetensors_save(const char *path, const ot_weights *w) {
    unsigned char *data;
    size_t size;
    ot_status status = oti_safetensors_serialize(w, &data, &size);
    if (status != OT_OK) {
        oti_error_prefix("%s: ", path);
        return status;
    }
    status = oti_write_file_atomic(path, data, size);
    free(data);
    return status;
}
