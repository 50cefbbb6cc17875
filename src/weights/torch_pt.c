/* PyTorch torch.save archives (PyTorch >= 1.6): a zip holding <prefix>/data.pkl, a pickle
 * whose tensors refer to storages by persistent id ('storage', torch.FloatStorage, key,
 * location, numel), each stored raw in <prefix>/data/<key>. Tensors are rebuilt from
 * torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) as views: any stride
 * and offset, checked against the storage's size, gathered into dense C order once the
 * state_dict names them. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "unpickle.h"
#include "weights_internal.h"

enum {
    G_ORDERED_DICT,
    G_REBUILD_TENSOR_V2,
    G_REBUILD_TENSOR,
    G_REBUILD_PARAMETER,
    G_REBUILD_PARAMETER_WITH_STATE,
    G_STORAGE
};

/* The allow-list: everything else is refused by name. */
static const struct {
    const char *module, *name;
    int id;
    ot_dtype dtype; /* storages */
} allowed[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT, OT_UNDEFINED},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2, OT_UNDEFINED},
    {"torch._utils", "_rebuild_tensor", G_REBUILD_TENSOR, OT_UNDEFINED},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER, OT_UNDEFINED},
    {"torch._utils", "_rebuild_parameter_with_state", G_REBUILD_PARAMETER_WITH_STATE, OT_UNDEFINED},
    {"torch", "FloatStorage", G_STORAGE, OT_FLOAT},
    {"torch", "DoubleStorage", G_STORAGE, OT_DOUBLE},
    {"torch", "HalfStorage", G_STORAGE, OT_FLOAT16},
    {"torch", "BFloat16Storage", G_STORAGE, OT_BFLOAT16},
    {"torch", "LongStorage", G_STORAGE, OT_INT64},
    {"torch", "IntStorage", G_STORAGE, OT_INT32},
    {"torch", "ShortStorage", G_STORAGE, OT_INT16},
    {"torch", "CharStorage", G_STORAGE, OT_INT8},
    {"torch", "ByteStorage", G_STORAGE, OT_UINT8},
    {"torch", "BoolStorage", G_STORAGE, OT_BOOL},
};

enum { OBJECT_STORAGE = 1, OBJECT_TENSOR = 2 };

typedef struct storage {
    char *key;
    ot_dtype dtype;
    int64_t numel;
    unsigned char *data; /* numel elements */
} storage;

typedef struct torch_ctx {
    const ot_context *context; /* its memory limit bounds each tensor */
    const char *path;
    const ot_zip *zip;
    char *prefix; /* "archive/" */
    storage **storages;
    int n_storages, cap_storages;
    struct tensor_view **views;
    int n_views, cap_views;
} torch_ctx;

static int find_global(void *ctx, const char *module, const char *name) {
    (void)ctx;
    for (int i = 0; i < OT_COUNT(allowed); i++)
        if (!strcmp(module, allowed[i].module) && !strcmp(name, allowed[i].name)) return i;
    return -1;
}

static ot_status load_storage(torch_ctx *t, const char *key, ot_dtype dtype, int64_t numel,
                              storage **out) {
    for (int i = 0; i < t->n_storages; i++)
        if (!strcmp(t->storages[i]->key, key)) {
            if (t->storages[i]->dtype != dtype || t->storages[i]->numel != numel)
                return oti_fail(OT_ERR_FORMAT, "%s: storage '%s' is used with two different "
                               "types or sizes", t->path, key);
            *out = t->storages[i];
            return OT_OK;
        }
    char *entry = oti_asprintf("%sdata/%s", t->prefix, key);
    OT_ALLOC_CHECK(entry);
    int index = oti_zip_find(t->zip, entry);
    if (index < 0) {
        ot_status s = oti_fail(OT_ERR_FORMAT, "%s: storage '%s' is missing (no zip entry '%s')",
                              t->path, key, entry);
        free(entry);
        return s;
    }
    free(entry);
    size_t elem = ot_dtype_size(dtype);
    if (numel < 0 || (uint64_t)numel != t->zip->entries[index].size / elem ||
        t->zip->entries[index].size % elem)
        return oti_fail(OT_ERR_FORMAT, "%s: storage '%s' has %llu bytes, but %lld %s elements "
                       "need %llu", t->path, key, (unsigned long long)t->zip->entries[index].size,
                       (long long)numel, ot_dtype_name(dtype),
                       (unsigned long long)((uint64_t)(numel < 0 ? 0 : numel) * elem));
    storage *s = oti_calloc(1, sizeof *s);
    OT_ALLOC_CHECK(s);
    size_t size;
    ot_status status = oti_zip_extract(t->zip, index, &s->data, &size);
    if (status != OT_OK) {
        free(s);
        return status;
    }
    s->key = oti_strdup(key);
    s->dtype = dtype;
    s->numel = numel;
    if (!s->key || oti_grow_array((void **)&t->storages, &t->cap_storages, t->n_storages + 1,
                                  sizeof(void *)) != OT_OK) {
        free(s->key);
        free(s->data);
        free(s);
        return OT_ERR_MEMORY;
    }
    t->storages[t->n_storages++] = s;
    *out = s;
    return OT_OK;
}

/* pid = ('storage', storage class, key, location, numel) */
static ot_status persistent_load(void *ctx, pickle_machine *pm, const pickle_value *pid,
                                 pickle_value **result) {
    torch_ctx *t = ctx;
    if (pid->type != PICKLE_TUPLE || pid->n != 5 || pid->items[0]->type != PICKLE_STRING ||
        strcmp(pid->items[0]->s, "storage") != 0 || pid->items[1]->type != PICKLE_GLOBAL ||
        allowed[pid->items[1]->i].id != G_STORAGE || pid->items[2]->type != PICKLE_STRING ||
        pid->items[4]->type != PICKLE_INT)
        return oti_fail(OT_ERR_FORMAT, "%s: data.pkl: a persistent id that is not "
                       "('storage', <storage class>, key, location, numel)", t->path);
    storage *s = NULL;
    OT_TRY(load_storage(t, pid->items[2]->s, allowed[pid->items[1]->i].dtype, pid->items[4]->i, &s));
    pickle_value *v = oti_pickle_new(pm, PICKLE_OBJECT);
    v->kind = OBJECT_STORAGE;
    v->object = s;
    *result = v;
    return OT_OK;
}

static int is_int_tuple(const pickle_value *v) {
    if (v->type != PICKLE_TUPLE) return 0;
    for (int i = 0; i < v->n; i++)
        if (v->items[i]->type != PICKLE_INT || v->items[i]->i < 0) return 0;
    return 1;
}

/* A tensor as the pickle describes it: a view of a storage. It is checked when built and
 * gathered into a dense tensor only when its name is known (collect). */
typedef struct tensor_view {
    const storage *s;
    int ndim;
    int64_t offset, dims[OT_MAX_DIMS], strides[OT_MAX_DIMS];
} tensor_view;

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, meta]) */
static ot_status rebuild_tensor(torch_ctx *t, pickle_machine *pm, const pickle_value *args,
                                pickle_value **result) {
    const pickle_value *const *a = (const pickle_value *const *)args->items;
    if (args->n < 4 || a[0]->type != PICKLE_OBJECT || a[0]->kind != OBJECT_STORAGE ||
        a[1]->type != PICKLE_INT || a[1]->i < 0 || !is_int_tuple(a[2]) || !is_int_tuple(a[3]) ||
        a[2]->n != a[3]->n)
        return oti_fail(OT_ERR_FORMAT, "%s: data.pkl: _rebuild_tensor arguments are not "
                       "(storage, offset >= 0, size, stride) with sizes and strides >= 0",
                       t->path);
    if (a[2]->n > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: a tensor with %d dims (at most %d are supported)",
                       t->path, a[2]->n, OT_MAX_DIMS);
    tensor_view *view = oti_calloc(1, sizeof *view);
    OT_ALLOC_CHECK(view);
    if (oti_grow_array((void **)&t->views, &t->cap_views, t->n_views + 1, sizeof(void *)) != OT_OK) {
        free(view);
        return OT_ERR_MEMORY;
    }
    t->views[t->n_views++] = view;
    view->s = a[0]->object;
    view->ndim = a[2]->n;
    view->offset = a[1]->i;
    for (int d = 0; d < view->ndim; d++) {
        view->dims[d] = a[2]->items[d]->i;
        view->strides[d] = a[3]->items[d]->i;
    }
    pickle_value *v = oti_pickle_new(pm, PICKLE_OBJECT);
    v->kind = OBJECT_TENSOR;
    v->object = view;
    *result = v;
    return OT_OK;
}

/* Gathers a view into a dense C-order tensor, after checking that its last element lies
 * inside the storage (any stride and offset, overflow-safe). */
static ot_status materialize(const torch_ctx *t, const tensor_view *view, const char *name,
                             ot_tensor *out) {
    const storage *s = view->s;
    int ndim = view->ndim;
    int64_t numel = ot_dims_numel(ndim, view->dims);
    char shape[128];
    ot_shape_string(ndim, view->dims, shape, sizeof shape);
    if (numel < 0)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': size %s overflows", t->path, name, shape);
    if (numel > 0) {
        int64_t last = view->offset;
        for (int d = 0; d < ndim; d++) {
            int64_t term;
            if (__builtin_mul_overflow(view->dims[d] - 1, view->strides[d], &term) ||
                __builtin_add_overflow(last, term, &last))
                last = INT64_MAX;
        }
        if (last >= s->numel)
            return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': shape %s at offset %lld reaches "
                           "element %lld of storage '%s', which has %lld", t->path, name, shape,
                           (long long)view->offset, (long long)last, s->key, (long long)s->numel);
    }
    /* In bounds, but a stride-0 (expanded) or overlapping view: a few bytes of pickle could
     * ask for terabytes gathered from a one-element storage. Tensors of a state_dict fit in
     * their storage. */
    if (numel > s->numel)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: tensor '%s': shape %s has %lld elements, more than "
                       "its storage '%s' holds (%lld): an expanded or overlapping view (save "
                       "tensor.contiguous() instead)", t->path, name, shape, (long long)numel, s->key,
                       (long long)s->numel);
    char *what = oti_asprintf("%s: tensor '%s'", t->path, name);
    OT_ALLOC_CHECK(what);
    ot_status status = ot_tensor_alloc(t->context, out, s->dtype, ndim, view->dims, what);
    if (status == OT_OK) {
        size_t elem = ot_dtype_size(s->dtype);
        int64_t index[OT_MAX_DIMS] = {0};
        unsigned char *dst = out->data;
        for (int64_t k = 0; k < numel; k++) {
            int64_t at = view->offset;
            for (int d = 0; d < ndim; d++) at += index[d] * view->strides[d];
            memcpy(dst + (size_t)k * elem, s->data + (size_t)at * elem, elem);
            for (int d = ndim - 1; d >= 0; d--) { /* C order: last dim fastest */
                if (++index[d] < view->dims[d]) break;
                index[d] = 0;
            }
        }
        if (s->dtype == OT_BOOL)
            for (int64_t k = 0; k < numel; k++) dst[k] = dst[k] != 0;
        status = oti_weights_float_dtype(out, what);
        if (status != OT_OK) ot_tensor_free(out);
    }
    free(what);
    return status;
}

static ot_status call(void *ctx, pickle_machine *pm, const pickle_value *callable,
                      const pickle_value *args, pickle_value **result) {
    torch_ctx *t = ctx;
    switch (allowed[callable->i].id) {
    case G_ORDERED_DICT:
        if (args->n != 0)
            return oti_fail(OT_ERR_FORMAT, "%s: data.pkl: OrderedDict called with arguments",
                           t->path);
        *result = oti_pickle_new(pm, PICKLE_DICT);
        return OT_OK;
    case G_REBUILD_TENSOR_V2:
    case G_REBUILD_TENSOR:
        return rebuild_tensor(t, pm, args, result);
    case G_REBUILD_PARAMETER:
    case G_REBUILD_PARAMETER_WITH_STATE:
        /* A Parameter is its data tensor; requires_grad and hooks do not matter here. */
        if (args->n < 1 || args->items[0]->type != PICKLE_OBJECT ||
            args->items[0]->kind != OBJECT_TENSOR)
            return oti_fail(OT_ERR_FORMAT, "%s: data.pkl: _rebuild_parameter without a tensor",
                           t->path);
        *result = args->items[0];
        return OT_OK;
    default:
        return oti_fail(OT_ERR_FORMAT, "%s: data.pkl: '%s' cannot be called", t->path,
                       callable->s);
    }
}

static int dict_has_tensors(const pickle_value *dict) {
    for (int i = 1; i < dict->n; i += 2)
        if (dict->items[i]->type == PICKLE_OBJECT && dict->items[i]->kind == OBJECT_TENSOR) return 1;
    return 0;
}

static const pickle_value *dict_get(const pickle_value *dict, const char *key) {
    for (int i = 0; i + 1 < dict->n; i += 2)
        if (dict->items[i]->type == PICKLE_STRING && !strcmp(dict->items[i]->s, key))
            return dict->items[i + 1];
    return NULL;
}

/* The state_dict: the top dict if it holds tensors, else the one under "state_dict" or
 * "model" (checkpoints that also hold an optimizer, an epoch, ...), a few levels deep. */
static const pickle_value *find_state_dict(const pickle_value *v, int depth) {
    if (v->type != PICKLE_DICT || depth > 4) return NULL;
    if (dict_has_tensors(v)) return v;
    static const char *const keys[] = {"state_dict", "model"};
    for (int k = 0; k < OT_COUNT(keys); k++) {
        const pickle_value *inner = dict_get(v, keys[k]);
        const pickle_value *found = inner ? find_state_dict(inner, depth + 1) : NULL;
        if (found) return found;
    }
    return NULL;
}

static ot_status collect(torch_ctx *t, const pickle_value *root, ot_weights *out) {
    const pickle_value *dict = find_state_dict(root, 0);
    if (!dict)
        return oti_fail(OT_ERR_FORMAT, "%s: no tensors found: the pickle holds a %s, not a "
                       "state_dict (nor one under \"state_dict\" or \"model\")", t->path,
                       oti_pickle_type_name(root->type));
    for (int i = 0; i + 1 < dict->n; i += 2) {
        const pickle_value *key = dict->items[i], *value = dict->items[i + 1];
        /* Non-tensor entries (None buffers, _extra_state) are not weights. */
        if (value->type != PICKLE_OBJECT || value->kind != OBJECT_TENSOR) continue;
        if (key->type != PICKLE_STRING)
            return oti_fail(OT_ERR_FORMAT, "%s: a state_dict key is a %s, not a string", t->path,
                           oti_pickle_type_name(key->type));
        ot_tensor tensor = {0}; /* tied weights: one view under two names, gathered twice */
        OT_TRY(materialize(t, value->object, key->s, &tensor));
        ot_status status = ot_weights_add(out, t->path, key->s, &tensor, NULL, NULL);
        ot_tensor_free(&tensor);
        OT_TRY(status);
    }
    return OT_OK;
}

static ot_status check_byte_order(const torch_ctx *t) {
    char *entry = oti_asprintf("%sbyteorder", t->prefix);
    OT_ALLOC_CHECK(entry);
    int index = oti_zip_find(t->zip, entry);
    free(entry);
    if (index < 0) return OT_OK; /* older writers: little-endian */
    unsigned char *data;
    size_t size;
    OT_TRY(oti_zip_extract(t->zip, index, &data, &size));
    int little = size == 6 && !memcmp(data, "little", 6);
    free(data);
    if (!little)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: saved on a big-endian machine (byteorder is "
                       "not 'little'): not supported", t->path);
    return OT_OK;
}

ot_status oti_torch_pt_parse(const ot_context *ctx, const unsigned char *data, size_t size, const char *path,
                            ot_weights *out) {
    ot_zip zip;
    OT_TRY(oti_zip_open(ctx, &zip, data, size, path));
    torch_ctx t = {.context = ctx, .path = path, .zip = &zip};
    int pkl = oti_torch_find_pickle(&zip);
    ot_status status = OT_OK;
    if (pkl < 0) status = oti_fail(OT_ERR_FORMAT, "%s: no data.pkl in the archive", path);
    unsigned char *pickle = NULL;
    size_t pickle_size = 0;
    if (status == OT_OK) {
        const char *name = zip.entries[pkl].name;
        t.prefix = oti_strndup(name, strlen(name) - strlen("data.pkl"));
        status = t.prefix ? check_byte_order(&t) : OT_ERR_MEMORY;
    }
    if (status == OT_OK) status = oti_zip_extract(&zip, pkl, &pickle, &pickle_size);
    pickle_machine *pm = NULL;
    pickle_value *root = NULL;
    if (status == OT_OK) {
        pickle_hooks hooks = {&t, find_global, call, persistent_load};
        char *what = oti_asprintf("%s: %s", path, zip.entries[pkl].name);
        status = what ? oti_pickle_load(pickle, pickle_size, what, &hooks, &pm, &root) : OT_ERR_MEMORY;
        free(what);
    }
    if (status == OT_OK) status = collect(&t, root, out);
    oti_pickle_free(pm);
    free(pickle);
    for (int i = 0; i < t.n_storages; i++) {
        free(t.storages[i]->key);
        free(t.storages[i]->data);
        free(t.storages[i]);
    }
    free(t.storages);
    for (int i = 0; i < t.n_views; i++) free(t.views[i]);
    free(t.views);
    free(t.prefix);
    oti_zip_close(&zip);
    return status;
}
