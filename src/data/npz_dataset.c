/* npz:FILE datasets: arrays x (samples, ...) and y (labels: integers, one per sample (N) or
 * one per token (N, T); or float targets (N, ...)), and further arrays that feed named model
 * inputs (an attention mask). Integer x stays integer (token ids), as int64. */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"
#include "formats/npy.h"
#include "formats/npz.h"

static int is_integer_dtype(ot_dtype t) {
    return t == OT_INT64 || t == OT_INT32 || t == OT_INT16 || t == OT_INT8 || t == OT_UINT8 ||
           t == OT_UINT16 || t == OT_UINT32 || t == OT_UINT64 || t == OT_BOOL;
}

/* The arrays a dataset reads from the archive (x, y, then the further inputs'); the others
 * are skipped. */
typedef struct wanted_arrays {
    const oti_npz_names *names;
    ot_tensor t[2 + OT_DATASET_MAX_ARRAYS];
    int found[2 + OT_DATASET_MAX_ARRAYS];
} wanted_arrays;

static const char *wanted_name(const oti_npz_names *names, int k) {
    return k == 0 ? names->x : k == 1 ? names->y : names->array[k - 2];
}

/* One array may be wanted twice (y as the labels and as a model input, for a model that
 * computes its own loss): the first slot takes it, later ones get a copy. */
static ot_status keep_wanted(void *user, const char *name, const char *what, ot_tensor *t) {
    wanted_arrays *a = user;
    int first = -1;
    for (int k = 0; k < 2 + a->names->n_inputs; k++) {
        if (a->found[k] || strcmp(name, wanted_name(a->names, k))) continue;
        if (first < 0) {
            a->t[k] = *t;
            first = k;
        } else {
            OT_TRY(ot_tensor_copy(&a->t[k], &a->t[first], what));
        }
        a->found[k] = 1;
    }
    if (first >= 0) {
        t->data = NULL; /* taken */
        t->owns = 0;
    }
    return OT_OK;
}

/* Samples as int64 (integer or bool arrays) or float32 (the rest; ot_dataset_load checks
 * they are finite). */
static ot_status samples_typed(ot_tensor *t, const char *path, const char *name) {
    char what[512];
    snprintf(what, sizeof what, "%s: array '%s'", path, name);
    if (is_integer_dtype(t->dtype)) return oti_tensor_to_int64(t, what);
    return oti_tensor_to_float(t, what);
}

static void take_shape(const ot_tensor *t, int *ndim, int64_t *dims, int64_t *size) {
    *ndim = t->ndim - 1;
    memcpy(dims, t->dims + 1, sizeof(int64_t) * (size_t)(t->ndim - 1));
    *size = ot_tensor_numel(t) / t->dims[0];
}

static ot_status take_labels(ot_tensor *y, const char *path, const char *name, ot_dataset *d) {
    char what[512];
    snprintf(what, sizeof what, "%s: array '%s'", path, name);
    OT_TRY(oti_tensor_to_int64(y, what));
    d->labels = y->data;
    d->label_size = ot_tensor_numel(y) / d->n;
    d->label_ndim = y->ndim - 1;
    memcpy(d->label_dims, y->dims + 1, sizeof(int64_t) * (size_t)d->label_ndim);
    y->data = NULL;
    y->owns = 0;
    return OT_OK;
}

static ot_status take_targets(ot_tensor *y, const char *path, const char *name, ot_dataset *d) {
    char what[512];
    snprintf(what, sizeof what, "%s: array '%s'", path, name);
    OT_TRY(oti_tensor_to_float(y, what));
    d->target_size = ot_tensor_numel(y) / d->n;
    d->targets = y->data;
    y->data = NULL;
    y->owns = 0;
    d->y_name = oti_strdup(name);
    return d->y_name ? OT_OK : OT_ERR_MEMORY;
}

static ot_status take_input_array(ot_tensor *t, const char *path, const oti_npz_names *names, int k,
                                  ot_dataset *d) {
    const char *name = names->array[k];
    OT_TRY(samples_typed(t, path, name));
    ot_dataset_array *a = &d->arrays[d->n_arrays];
    memset(a, 0, sizeof *a);
    a->name = oti_strdup(name);
    a->input = oti_strdup(names->input[k]);
    if (!a->name || !a->input) {
        free(a->name);
        free(a->input);
        return OT_ERR_MEMORY;
    }
    a->dtype = t->dtype;
    take_shape(t, &a->sample_ndim, a->sample_dims, &a->sample_size);
    a->data = t->data;
    t->data = NULL;
    t->owns = 0;
    d->n_arrays++;
    return OT_OK;
}

ot_status oti_dataset_from_npz(const ot_context *ctx, const char *path, const oti_npz_names *names, ot_dataset *d) {
    wanted_arrays arrays = {.names = names};
    ot_status status = oti_npz_load(ctx, path, keep_wanted, &arrays);
    int count = 2 + names->n_inputs;
    for (int k = 0; k < count && status == OT_OK; k++)
        if (!arrays.found[k])
            status = oti_fail(OT_ERR_INVALID, "%s: no array named '%s' (use npz:FILE:x=NAME,y=NAME)", path,
                             wanted_name(names, k));
    ot_tensor *x = &arrays.t[0], *y = &arrays.t[1];
    for (int k = 0; k < count && status == OT_OK; k++) {
        ot_tensor *t = &arrays.t[k];
        if (t->ndim < 1 || t->dims[0] != x->dims[0] || x->dims[0] == 0)
            status = oti_fail(OT_ERR_INVALID, "%s: '%s' and '%s' must have the same, non-zero first dim "
                             "(samples)", path, names->x, wanted_name(names, k));
    }
    if (status == OT_OK) status = samples_typed(x, path, names->x);
    if (status == OT_OK) {
        d->n = x->dims[0];
        take_shape(x, &d->sample_ndim, d->sample_dims, &d->sample_size);
        d->dtype = x->dtype;
        d->x = x->data;
        x->owns = 0; /* the dataset takes the data */
        x->data = NULL;
        d->x_name = oti_strdup(names->x);
        if (!d->x_name) status = OT_ERR_MEMORY;
    }
    if (status == OT_OK)
        status = is_integer_dtype(y->dtype) ? take_labels(y, path, names->y, d) : take_targets(y, path, names->y, d);
    for (int k = 0; k < names->n_inputs && status == OT_OK; k++)
        status = take_input_array(&arrays.t[2 + k], path, names, k, d);
    for (int k = 0; k < count; k++) ot_tensor_free(&arrays.t[k]);
    return status;
}
