/* The named tensor list shared by every weights format, format detection by content, and
 * dispatch to the per-format readers and writers. */
#include "onnxtrain/weights.h"

#include <string.h>
#include <stdlib.h>

#include "core/name_index.h"
#include "core/util.h"
#include "core/file_io.h"
#include "formats/npy.h"
#include "formats/npz.h"
#include "onnxtrain/onnx_io.h"
#include "formats/zip.h"
#include "weights_internal.h"

const char *ot_weights_format_name(ot_weights_format format) {
    switch (format) {
    case OT_WEIGHTS_NPY: return "npy";
    case OT_WEIGHTS_NPZ: return "npz";
    case OT_WEIGHTS_SAFETENSORS: return "safetensors";
    case OT_WEIGHTS_TORCH: return "pytorch";
    case OT_WEIGHTS_KERAS_H5: return "keras-h5";
    case OT_WEIGHTS_ONNX: return "onnx";
    case OT_WEIGHTS_UNKNOWN: break;
    }
    return "unknown";
}

int ot_weights_format_from_name(const char *name, ot_weights_format *format) {
    static const struct {
        const char *name;
        ot_weights_format format;
    } names[] = {{"npz", OT_WEIGHTS_NPZ}, {"safetensors", OT_WEIGHTS_SAFETENSORS},
                 {"onnx", OT_WEIGHTS_ONNX}, {"npy", OT_WEIGHTS_NPY}};
    for (int i = 0; i < OT_COUNT(names); i++)
        if (!strcmp(name, names[i].name)) {
            *format = names[i].format;
            return 1;
        }
    return 0;
}

static int has_extension(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

ot_weights_format ot_weights_format_from_extension(const char *path) {
    if (has_extension(path, ".npz")) return OT_WEIGHTS_NPZ;
    if (has_extension(path, ".safetensors")) return OT_WEIGHTS_SAFETENSORS;
    if (has_extension(path, ".onnx")) return OT_WEIGHTS_ONNX;
    if (has_extension(path, ".npy")) return OT_WEIGHTS_NPY;
    return OT_WEIGHTS_UNKNOWN;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The entry holding a torch.save pickle: "data.pkl" at the top or one folder down
 * ("archive/data.pkl", "<name>/data.pkl"). -1 if none. */
int oti_torch_find_pickle(const ot_zip *zip) {
    for (int i = 0; i < zip->n_entries; i++) {
        const char *name = zip->entries[i].name;
        const char *slash = strchr(name, '/');
        if (!strcmp(name, "data.pkl") || (slash && !strcmp(slash + 1, "data.pkl"))) return i;
    }
    return -1;
}

static const unsigned char hdf5_magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

ot_status oti_weights_detect_buffer(const unsigned char *data, size_t size, const char *path,
                                   ot_weights_format *format) {
    *format = OT_WEIGHTS_UNKNOWN;
    if (size >= 6 && !memcmp(data, "\x93NUMPY", 6)) {
        *format = OT_WEIGHTS_NPY;
        return OT_OK;
    }
    /* HDF5 puts its signature at 0, 512, 1024, 2048, ... (after an optional user block). */
    for (size_t at = 0; at + 8 <= size && at <= 4096; at = at ? at * 2 : 512)
        if (!memcmp(data + at, hdf5_magic, 8)) {
            *format = OT_WEIGHTS_KERAS_H5;
            return OT_OK;
        }
    if (oti_zip_sniff(data, size)) {
        ot_zip zip;
        OT_TRY(oti_zip_open(NULL, &zip, data, size, path));
        int npy = 0;
        for (int i = 0; i < zip.n_entries; i++) npy += ends_with(zip.entries[i].name, ".npy");
        if (oti_torch_find_pickle(&zip) >= 0) *format = OT_WEIGHTS_TORCH;
        else if (npy == zip.n_entries) *format = OT_WEIGHTS_NPZ;
        oti_zip_close(&zip);
        if (*format == OT_WEIGHTS_UNKNOWN)
            return oti_fail(OT_ERR_FORMAT, "%s: a zip archive that is neither .npz (only .npy "
                           "members) nor a PyTorch torch.save archive (data.pkl)", path);
        return OT_OK;
    }
    /* safetensors: 8-byte little-endian header length, then a JSON object. */
    if (size >= 10) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | data[i];
        if (n >= 2 && n <= size - 8 && data[8] == '{') {
            *format = OT_WEIGHTS_SAFETENSORS;
            return OT_OK;
        }
        if (data[8] == '{' && n > size - 8)
            return oti_fail(OT_ERR_FORMAT, "%s: safetensors header length %llu runs past the end "
                           "of the file (%zu bytes)", path, (unsigned long long)n, size);
    }
    /* torch.save before PyTorch 1.6 wrote a bare pickle stream (protocol 2). */
    if (size >= 2 && data[0] == 0x80 && data[1] <= 5)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: a bare pickle (PyTorch's legacy format from "
                       "before 1.6?): re-save it with a current torch.save, which writes a zip "
                       "archive", path);
    if (has_extension(path, ".onnx")) {
        *format = OT_WEIGHTS_ONNX;
        return OT_OK;
    }
    return oti_fail(OT_ERR_FORMAT, "%s: unrecognised weights file (expected .npy, .npz, "
                   "safetensors, a PyTorch torch.save archive, a Keras .h5 or .onnx)", path);
}

ot_status ot_weights_detect(const char *path, ot_weights_format *format) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_read_file(path, 0, &data, &size));
    ot_status status = oti_weights_detect_buffer(data, size, path, format);
    free(data);
    return status;
}

static ot_status load_npy(const ot_context *ctx, const unsigned char *data, size_t size, const char *path,
                          ot_weights *out) {
    ot_tensor t;
    OT_TRY(oti_npy_parse(ctx, data, size, path, &t));
    /* The tensor is named after the file: "dir/conv1.weight.npy" -> "conv1.weight". */
    const char *base = oti_path_base(path);
    char *name = oti_strdup(base);
    OT_ALLOC_CHECK_COPY(name, base);
    if (has_extension(name, ".npy")) name[strlen(name) - 4] = 0;
    ot_status status = oti_weights_float_dtype(&t, path);
    if (status == OT_OK) status = ot_weights_add(out, path, name, &t, NULL, NULL);
    ot_tensor_free(&t);
    free(name);
    return status;
}

typedef struct npz_target {
    ot_weights *weights;
    const char *path;
} npz_target;

static ot_status add_npz_member(void *user, const char *name, const char *what, ot_tensor *t) {
    npz_target *target = user;
    OT_TRY(oti_weights_float_dtype(t, what));
    return ot_weights_add(target->weights, target->path, name, t, NULL, NULL);
}

ot_status oti_weights_parse_npz(const ot_context *ctx, const unsigned char *data, size_t size, const char *path, ot_weights *out) {
    npz_target target = {out, path};
    return oti_npz_read(ctx, data, size, path, add_npz_member, &target);
}

static ot_status save_npz(const char *path, const ot_weights *w, int compress) {
    ot_npz_writer npz;
    OT_TRY(oti_npz_writer_open(&npz, path, compress));
    for (int i = 0; i < w->count; i++) OT_TRY(oti_npz_writer_add(&npz, w->items[i].name, &w->items[i].tensor));
    return oti_npz_writer_finish(&npz);
}

static ot_status load_onnx(const ot_context *ctx, const char *path, ot_weights *out) {
    ot_model *m;
    OT_TRY(ot_onnx_load_mode(ctx, path, OT_LOAD_STRUCTURE_ONLY, &m));
    ot_status status = ot_weights_from_model(m, out);
    ot_model_free(m);
    return status;
}

ot_status ot_weights_load(const ot_context *ctx, const char *path, ot_weights *out) {
    memset(out, 0, sizeof *out);
    unsigned char *data;
    size_t size;
    OT_TRY(oti_read_file(path, 0, &data, &size));
    ot_weights_format format;
    ot_status status = oti_weights_detect_buffer(data, size, path, &format);
    if (status == OT_OK) {
        switch (format) {
        case OT_WEIGHTS_NPY: status = load_npy(ctx, data, size, path, out); break;
        case OT_WEIGHTS_NPZ: status = oti_weights_parse_npz(ctx, data, size, path, out); break;
        case OT_WEIGHTS_SAFETENSORS: status = oti_safetensors_parse(ctx, data, size, path, out); break;
        case OT_WEIGHTS_TORCH: status = oti_torch_pt_parse(ctx, data, size, path, out); break;
        case OT_WEIGHTS_KERAS_H5: status = oti_keras_h5_load(ctx, path, out); break;
        case OT_WEIGHTS_ONNX: status = load_onnx(ctx, path, out); break;
        case OT_WEIGHTS_UNKNOWN: status = oti_fail(OT_ERR_FORMAT, "%s: unknown format", path); break;
        }
    }
    free(data);
    if (status != OT_OK) {
        ot_weights_free(out);
        return status;
    }
    out->format = format;
    return OT_OK;
}

ot_status ot_weights_save(const char *path, ot_weights_format format, const ot_weights *w,
                          int compress) {
    switch (format) {
    case OT_WEIGHTS_NPZ: return save_npz(path, w, compress);
    case OT_WEIGHTS_SAFETENSORS: return oti_safetensors_save(path, w);
    case OT_WEIGHTS_NPY:
        if (w->count != 1)
            return oti_fail(OT_ERR_INVALID, "%s: a .npy file holds one tensor, not %d (write "
                           ".npz instead)", path, w->count);
        return oti_npy_save(path, &w->items[0].tensor);
    default:
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: cannot write weights as %s", path,
                       ot_weights_format_name(format));
    }
}

void ot_weights_free(ot_weights *w) {
    for (int i = 0; i < w->count; i++) {
        free(w->items[i].name);
        free(w->items[i].layer);
        free(w->items[i].role);
        ot_tensor_free(&w->items[i].tensor);
    }
    free(w->items);
    oti_name_index_free(w->index);
    memset(w, 0, sizeof *w);
}

int ot_weights_find(const ot_weights *w, const char *name) {
    return w->index ? oti_name_index_get(w->index, name) : -1;
}

ot_status ot_weights_add(ot_weights *w, const char *source, const char *name, ot_tensor *t,
                         const char *layer, const char *role) {
    if (ot_weights_find(w, name) >= 0)
        return oti_fail(OT_ERR_FORMAT, "%s: tensor '%s' appears twice", source, name);
    if (!w->index && !(w->index = oti_name_index_new()))
        return oti_fail(OT_ERR_MEMORY, "%s: out of memory", source);
    OT_TRY(oti_grow_array((void **)&w->items, &w->capacity, w->count + 1, sizeof(ot_named_tensor)));
    ot_named_tensor *item = &w->items[w->count];
    item->name = oti_strdup(name);
    item->layer = oti_strdup(layer);
    item->role = oti_strdup(role);
    /* The index borrows the item's own copy of the name, which never moves. */
    if (!item->name || (layer && !item->layer) || (role && !item->role) ||
        !oti_name_index_put(w->index, item->name, w->count)) {
        free(item->name);
        free(item->layer);
        free(item->role);
        memset(item, 0, sizeof *item);
        return oti_fail(OT_ERR_MEMORY, "%s: out of memory", source);
    }
    w->count++;
    item->tensor = *t;
    memset(t, 0, sizeof *t);
    return OT_OK;
}

ot_status oti_weights_float_dtype(ot_tensor *t, const char *what) {
    if (t->dtype == OT_DOUBLE || t->dtype == OT_FLOAT16 || t->dtype == OT_BFLOAT16)
        return oti_tensor_to_float(t, what);
    return OT_OK;
}

ot_status ot_weights_from_model(const ot_model *m, ot_weights *out) {
    memset(out, 0, sizeof *out);
    out->format = OT_WEIGHTS_ONNX;
    const char *source = m->source_path ? m->source_path : "model";
    for (int v = 0; v < m->n_values; v++) {
        const ot_value *value = &m->values[v];
        if (value->kind != OT_VALUE_INITIALIZER) continue;
        ot_tensor copy = {0};
        ot_status status = ot_tensor_copy(&copy, &value->tensor, value->name);
        if (status == OT_OK) status = ot_weights_add(out, source, value->name, &copy, NULL, NULL);
        if (status != OT_OK) {
            ot_tensor_free(&copy);
            ot_weights_free(out);
            return status;
        }
    }
    return OT_OK;
}
