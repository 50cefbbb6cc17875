/* Keras 2 HDF5 weights, read with libhdf5. model.save() puts the weights under
 * /model_weights, save_weights() at the root; either group lists its layers in the
 * layer_names attribute, each layer group lists its weights in weight_names ("conv1/kernel:0"),
 * and each weight is the dataset <layer group>/<weight name>. The layer and the role ("kernel",
 * "bias", "gamma", ...) are kept for matching by layer. */
#include <hdf5.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "weights_internal.h"

typedef struct string_list {
    char **items;
    int count;
} string_list;

static void free_strings(string_list *list) {
    for (int i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* Reads a string-array attribute (fixed-length as h5py writes numpy 'S' arrays, or
 * variable-length). An empty array of any type (Keras writes float64 []) gives no strings. */
static ot_status read_string_attr(hid_t object, const char *attr, const char *path,
                                  const char *where, string_list *out) {
    memset(out, 0, sizeof *out);
    hid_t a = H5Aopen(object, attr, H5P_DEFAULT);
    if (a < 0) return oti_fail(OT_ERR_FORMAT, "%s: %s has no '%s' attribute", path, where, attr);
    hid_t type = H5Aget_type(a), space = H5Aget_space(a), mem = -1;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    ot_status status = OT_OK;
    if (type < 0 || n < 0 || n > 1000000) {
        status = oti_fail(OT_ERR_FORMAT, "%s: %s: unreadable '%s' attribute", path, where, attr);
    } else if (n > 0 && H5Tget_class(type) != H5T_STRING) {
        status = oti_fail(OT_ERR_FORMAT, "%s: %s: attribute '%s' is not a list of strings", path,
                         where, attr);
    } else if (n > 0 && H5Tis_variable_str(type) > 0) {
        char **strings = oti_calloc((size_t)n, sizeof(char *));
        out->items = oti_calloc((size_t)n, sizeof(char *));
        mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, H5T_VARIABLE);
        if (!strings || !out->items) {
            status = OT_ERR_MEMORY;
        } else if (H5Aread(a, mem, strings) < 0) {
            status = oti_fail(OT_ERR_FORMAT, "%s: %s: cannot read attribute '%s'", path, where, attr);
        } else {
            for (hssize_t i = 0; i < n; i++) {
                out->items[out->count] = oti_strdup(strings[i] ? strings[i] : "");
                if (!out->items[out->count]) {
                    status = OT_ERR_MEMORY;
                    break;
                }
                out->count++;
            }
            H5Dvlen_reclaim(mem, space, H5P_DEFAULT, strings);
        }
        free(strings);
    } else if (n > 0) {
        size_t width = H5Tget_size(type);
        char *buf = NULL;
        if (width == 0 || width > 65536) {
            status = oti_fail(OT_ERR_FORMAT, "%s: %s: attribute '%s' has strings of %zu bytes",
                             path, where, attr, width);
        } else if (!(buf = oti_calloc((size_t)n, width)) ||
                   !(out->items = oti_calloc((size_t)n, sizeof(char *)))) {
            status = OT_ERR_MEMORY;
        } else {
            mem = H5Tcopy(H5T_C_S1);
            H5Tset_size(mem, width);
            H5Tset_strpad(mem, H5T_STR_NULLPAD);
            if (H5Aread(a, mem, buf) < 0) {
                status = oti_fail(OT_ERR_FORMAT, "%s: %s: cannot read attribute '%s'", path, where,
                                 attr);
            } else {
                for (hssize_t i = 0; i < n; i++) {
                    out->items[out->count] = oti_strndup(buf + (size_t)i * width, width);
                    if (!out->items[out->count]) {
                        status = OT_ERR_MEMORY;
                        break;
                    }
                    out->count++;
                }
            }
        }
        free(buf);
    }
    if (mem >= 0) H5Tclose(mem);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(a);
    return status;
}

/* "conv1/kernel:0" -> "kernel"; NULL when out of memory. */
static char *role_of(const char *weight_name) {
    const char *slash = strrchr(weight_name, '/');
    const char *base = slash ? slash + 1 : weight_name;
    const char *colon = strrchr(base, ':');
    return oti_strndup(base, colon ? (size_t)(colon - base) : strlen(base));
}

/* The dataset's bytes must be in the file: dims alone (a 3 KB file declaring an unwritten
 * 8 GiB dataset that reads as fill values) must not make us allocate. Keras writes weights
 * uncompressed; compressed chunks may expand up to deflate's 1032:1. */
static ot_status stored_in_file(hid_t d, hid_t type, int64_t numel, const char *what) {
    hid_t dcpl = H5Dget_create_plist(d);
    int filtered = dcpl >= 0 && H5Pget_nfilters(dcpl) > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    uint64_t stored = H5Dget_storage_size(d), elem = H5Tget_size(type);
    uint64_t needed = numel < 0 ? UINT64_MAX : (uint64_t)numel * (elem ? elem : 1);
    if (numel > 0 && (elem == 0 || needed / elem != (uint64_t)numel ||
                      needed > (filtered ? stored * 1032 + 1024 : stored)))
        return oti_fail(OT_ERR_FORMAT, "%s: the file stores %llu bytes of its %llu (an unwritten or "
                       "truncated dataset)", what, (unsigned long long)stored,
                       (unsigned long long)needed);
    return OT_OK;
}

static ot_status read_dataset(const ot_context *ctx, hid_t group, const char *path, const char *layer,
                              const char *weight_name, ot_tensor *out) {
    hid_t d = H5Dopen2(group, weight_name, H5P_DEFAULT);
    if (d < 0)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s': layer '%s' lists it in weight_names but "
                       "has no such dataset", path, weight_name, layer);
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    int ndim = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    H5T_class_t type_class = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    ot_status status = OT_OK;
    char *what = oti_asprintf("%s: tensor '%s'", path, weight_name);
    if (!what) {
        status = OT_ERR_MEMORY;
    } else if (ndim < 0 || ndim > OT_MAX_DIMS) {
        status = oti_fail(OT_ERR_UNSUPPORTED, "%s: %d dims (at most %d are supported)", what, ndim,
                         OT_MAX_DIMS);
    } else if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
        status = oti_fail(OT_ERR_UNSUPPORTED, "%s: not a numeric dataset", what);
    } else {
        hsize_t h5dims[OT_MAX_DIMS] = {0};
        int64_t dims[OT_MAX_DIMS] = {0};
        H5Sget_simple_extent_dims(space, h5dims, NULL);
        for (int i = 0; i < ndim; i++) dims[i] = h5dims[i] > ((hsize_t)1 << 40) ? -1 : (int64_t)h5dims[i];
        int is_float = type_class == H5T_FLOAT;
        status = stored_in_file(d, type, ot_dims_numel(ndim, dims), what);
        if (status == OT_OK) status = ot_tensor_alloc(ctx, out, is_float ? OT_FLOAT : OT_INT64, ndim, dims, what);
        /* HDF5 converts any stored float (16/32/64-bit) or integer width to the native type. */
        if (status == OT_OK && ot_tensor_numel(out) > 0 &&
            H5Dread(d, is_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                    H5P_DEFAULT, out->data) < 0) {
            ot_tensor_free(out);
            status = oti_fail(OT_ERR_FORMAT, "%s: cannot read the dataset (corrupt file?)", what);
        }
    }
    free(what);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return status;
}

static ot_status read_layer(const ot_context *ctx, hid_t weights, const char *path, const char *layer, ot_weights *out) {
    if (H5Lexists(weights, layer, H5P_DEFAULT) <= 0)
        return oti_fail(OT_ERR_FORMAT, "%s: layer '%s' is listed in layer_names but has no group",
                       path, layer);
    hid_t g = H5Gopen2(weights, layer, H5P_DEFAULT);
    if (g < 0) return oti_fail(OT_ERR_FORMAT, "%s: layer '%s' is not a group", path, layer);
    char *where = oti_asprintf("layer '%s'", layer);
    string_list names = {0};
    ot_status status = where ? read_string_attr(g, "weight_names", path, where, &names) : OT_ERR_MEMORY;
    free(where);
    for (int i = 0; i < names.count && status == OT_OK; i++) {
        ot_tensor t = {0};
        status = read_dataset(ctx, g, path, layer, names.items[i], &t);
        if (status != OT_OK) break;
        /* Weight names are usually unique ("conv1/kernel:0"); qualify them if not. */
        char *name = ot_weights_find(out, names.items[i]) < 0
                         ? oti_strdup(names.items[i])
                         : oti_asprintf("%s/%s", layer, names.items[i]);
        char *role = role_of(names.items[i]);
        status = name && role ? ot_weights_add(out, path, name, &t, layer, role) : OT_ERR_MEMORY;
        ot_tensor_free(&t);
        free(role);
        free(name);
    }
    free_strings(&names);
    H5Gclose(g);
    return status;
}

static int has_attr(hid_t object, const char *name) { return H5Aexists(object, name) > 0; }

/* libhdf5 registers an atexit handler that closes what is still open. After some corrupt
 * files (a fuzzed object header) its own state cannot be closed and the handler prints
 * "infinite loop closing library" at every exit. We only read, so nothing needs closing at
 * exit: skip the handler. H5dont_atexit must come before any other HDF5 call. */
static void hdf5_init(void) { H5dont_atexit(); }

ot_status oti_keras_h5_load_in_process(const ot_context *ctx, const char *path, ot_weights *out) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, hdf5_init);
    /* libhdf5 prints its own error stack by default; we report errors ourselves. */
    H5E_auto2_t old_func;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ot_status status = OT_OK;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t weights = -1;
    if (file < 0) {
        status = oti_fail(OT_ERR_FORMAT, "%s: cannot open as HDF5 (truncated or corrupt?)", path);
    } else if (has_attr(file, "layer_names")) {
        weights = H5Gopen2(file, "/", H5P_DEFAULT);
    } else if (H5Lexists(file, "model_weights", H5P_DEFAULT) > 0) {
        weights = H5Gopen2(file, "model_weights", H5P_DEFAULT);
        if (weights >= 0 && !has_attr(weights, "layer_names")) {
            H5Gclose(weights);
            weights = -1;
        }
    }
    if (status == OT_OK && weights < 0)
        status = oti_fail(OT_ERR_FORMAT, "%s: an HDF5 file, but not Keras 2 weights (no "
                         "layer_names attribute at / or /model_weights; Keras 3 .weights.h5 "
                         "files are not supported)", path);
    string_list layers = {0};
    if (status == OT_OK) status = read_string_attr(weights, "layer_names", path, "the weights group", &layers);
    for (int i = 0; i < layers.count && status == OT_OK; i++)
        status = read_layer(ctx, weights, path, layers.items[i], out);
    free_strings(&layers);
    if (weights >= 0) H5Gclose(weights);
    if (file >= 0) H5Fclose(file);
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    return status;
}
