/* Datasets from arrays a program already holds (ot_dataset_from_arrays). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"

ot_status ot_dataset_from_arrays(const char *name, int64_t n, int sample_ndim,
                                 const int64_t *sample_dims, const float *x,
                                 const int64_t *labels, const float *targets,
                                 int64_t target_size, ot_dataset **out) {
    *out = NULL;
    const char *what = name ? name : "arrays";
    if (n < 1 || !x) return oti_fail(OT_ERR_INVALID, "dataset %s: needs at least one sample", what);
    if (sample_ndim < 0 || sample_ndim >= OT_MAX_DIMS)
        return oti_fail(OT_ERR_INVALID, "dataset %s: samples of %d dims (at most %d)", what, sample_ndim,
                       OT_MAX_DIMS - 1);
    if (labels && targets)
        return oti_fail(OT_ERR_INVALID, "dataset %s: give labels or targets, not both", what);
    int64_t size = 1;
    for (int d = 0; d < sample_ndim; d++) {
        if (sample_dims[d] < 1 || size > INT64_MAX / sample_dims[d] / n)
            return oti_fail(OT_ERR_INVALID, "dataset %s: sample dim %d is %lld", what, d,
                           (long long)sample_dims[d]);
        size *= sample_dims[d];
    }
    if (targets && (target_size < 1 || target_size > INT64_MAX / n))
        return oti_fail(OT_ERR_INVALID, "dataset %s: targets of %lld values per sample", what,
                       (long long)target_size);
    for (int64_t i = 0; labels && i < n; i++)
        if (labels[i] < 0)
            return oti_fail(OT_ERR_INVALID, "dataset %s: sample %lld has label %lld; labels are class "
                           "numbers from 0", what, (long long)i, (long long)labels[i]);
    ot_dataset *d = oti_calloc(1, sizeof *d);
    OT_ALLOC_CHECK(d);
    d->n = n;
    d->sample_ndim = sample_ndim;
    memcpy(d->sample_dims, sample_dims, sizeof(int64_t) * (size_t)sample_ndim);
    d->sample_size = size;
    d->dtype = OT_FLOAT;
    d->label_size = labels ? 1 : 0;
    d->x = oti_malloc(sizeof(float) * (size_t)(n * size));
    if (labels) d->labels = oti_malloc(sizeof(int64_t) * (size_t)n);
    if (targets) d->targets = oti_malloc(sizeof(float) * (size_t)(n * target_size));
    d->identity = oti_asprintf("arrays|%s|%lld", what, (long long)n);
    if (!d->x || (labels && !d->labels) || (targets && !d->targets) || !d->identity) {
        ot_dataset_free(d);
        return OT_ERR_MEMORY;
    }
    memcpy(d->x, x, sizeof(float) * (size_t)(n * size));
    if (labels) {
        memcpy(d->labels, labels, sizeof(int64_t) * (size_t)n);
        for (int64_t i = 0; i < n; i++)
            if (labels[i] >= d->n_classes) d->n_classes = labels[i] + 1;
    }
    if (targets) {
        d->target_size = target_size;
        memcpy(d->targets, targets, sizeof(float) * (size_t)(n * target_size));
    }
    ot_status status = oti_dataset_check_finite(d, what);
    if (status != OT_OK) {
        ot_dataset_free(d);
        return status;
    }
    *out = d;
    return OT_OK;
}
