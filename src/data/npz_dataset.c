/* npz:FILE datasets: arrays x (samples, ...) and y (labels: integers, one per sample; or
 * float targets, (samples, ...)). */
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "core/util.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"
#include "formats/npy.h"
#include "formats/npz.h"

static int is_integer_dtype(ot_dtype t) {
    return t == OT_INT64 || t == OT_INT32 || t == OT_INT16 || t == OT_INT8 || t == OT_UINT8 ||
           t == OT_UINT16 || t == OT_UINT32 || t == OT_UINT64 || t == OT_BOOL;
}

/* The two arrays a dataset reads from the archive; the others are skipped. */
typedef struct xy_arrays {
    const char *x_name, *y_name;
    ot_tensor x, y;
    int has_x, has_y;
} xy_arrays;

static ot_status keep_xy(void *user, const char *name, const char *what, ot_tensor *t) {
    (void)what;
    xy_arrays *a = user;
    int is_x = !strcmp(name, a->x_name), is_y = !strcmp(name, a->y_name);
    if (is_x && !a->has_x) {
        a->x = *t;
        a->has_x = 1;
    } else if (is_y && !a->has_y) {
        a->y = *t;
        a->has_y = 1;
    } else {
        return OT_OK;
    }
    t->data = NULL; /* taken */
    t->owns = 0;
    return OT_OK;
}

ot_status oti_dataset_from_npz(const ot_context *ctx, const char *path, const char *x_name, const char *y_name, ot_dataset *d) {
    xy_arrays arrays = {.x_name = x_name, .y_name = y_name};
    ot_status status = oti_npz_load(ctx, path, keep_xy, &arrays);
    if (status == OT_OK && (!arrays.has_x || !arrays.has_y))
        status = oti_fail(OT_ERR_INVALID, "%s: no array named '%s' (use npz:FILE:x=NAME,y=NAME)", path,
                         !arrays.has_x ? x_name : y_name);
    ot_tensor *x = arrays.has_x ? &arrays.x : NULL, *y = arrays.has_y ? &arrays.y : NULL;
    if (status == OT_OK && (x->ndim < 1 || y->ndim < 1 || x->dims[0] != y->dims[0] || x->dims[0] == 0))
        status = oti_fail(OT_ERR_INVALID, "%s: '%s' and '%s' must have the same, non-zero first dim "
                         "(samples)", path, x_name, y_name);
    if (status == OT_OK) status = oti_tensor_to_float(x, x_name);
    if (status == OT_OK) {
        d->n = x->dims[0];
        d->sample_ndim = x->ndim - 1;
        memcpy(d->sample_dims, x->dims + 1, sizeof(int64_t) * (size_t)(x->ndim - 1));
        d->sample_size = ot_tensor_numel(x) / d->n;
        d->x = x->data;
        x->owns = 0; /* the dataset takes the data */
        x->data = NULL;
        if (is_integer_dtype(y->dtype) && y->ndim == 1) {
            d->labels = oti_malloc(sizeof(int64_t) * (size_t)d->n);
            status = d->labels ? oti_tensor_to_float(y, y_name) /* exact for labels below 2^24 */
                               : OT_ERR_MEMORY;
            for (int64_t i = 0; i < d->n && status == OT_OK; i++) {
                float label = ((float *)y->data)[i];
                /* Checked before the cast: converting an out-of-range float is undefined. */
                if (!(label >= 0 && label < 16777216.0f))
                    status = oti_fail(OT_ERR_INVALID, "%s: '%s' holds label %g at sample %lld: labels "
                                     "must be class numbers 0 .. 2^24-1", path, y_name, label, (long long)i);
                else
                    d->labels[i] = (int64_t)label;
            }
        } else {
            status = oti_tensor_to_float(y, y_name);
            if (status == OT_OK) {
                d->target_size = ot_tensor_numel(y) / d->n;
                d->targets = y->data;
                y->owns = 0;
                y->data = NULL;
                for (int64_t i = 0; i < d->n * d->target_size && status == OT_OK; i++)
                    if (!isfinite(d->targets[i]))
                        status = oti_fail(OT_ERR_INVALID, "%s: '%s' holds a NaN or infinite target", path, y_name);
            }
        }
    }
    ot_tensor_free(&arrays.x);
    ot_tensor_free(&arrays.y);
    return status;
}
