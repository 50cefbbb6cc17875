/* Data specs -> datasets in memory; class filters, limits, reshaping, validation splits. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "core/context_internal.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

void ot_dataset_free(ot_dataset *d) {
    if (!d) return;
    free(d->x);
    free(d->x_name);
    free(d->y_name);
    for (int k = 0; k < d->n_arrays; k++) {
        free(d->arrays[k].name);
        free(d->arrays[k].input);
        free(d->arrays[k].data);
    }
    free(d->bytes);
    free(d->labels);
    free(d->targets);
    free(d->identity);
    if (d->class_names)
        for (int64_t c = 0; c < d->n_classes; c++) free(d->class_names[c]);
    free(d->class_names);
    free(d);
}

/* "path:size:mtime" into buf, so that a changed file changes cache keys. */
static const char *file_stamp(const char *path, char *buf, size_t size) {
    struct stat st;
    if (stat(path, &st) != 0) snprintf(buf, size, "?");
    else
        snprintf(buf, size, "%lld:%lld.%09ld", (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                 (long)st.st_mtim.tv_nsec);
    return buf;
}

/* d->identity = "KIND|FILE:stamp[|FILE2:stamp][EXTRA]" (part of cache keys). */
static ot_status set_identity(ot_dataset *d, const char *kind, const char *file, const char *file2,
                              const char *extra) {
    char a[96], b[96];
    d->identity = oti_asprintf("%s|%s:%s%s%s%s%s%s", kind, file, file_stamp(file, a, sizeof a),
                               file2 ? "|" : "", file2 ? file2 : "", file2 ? ":" : "",
                               file2 ? file_stamp(file2, b, sizeof b) : "", extra ? extra : "");
    OT_ALLOC_CHECK(d->identity);
    return OT_OK;
}

static ot_status load_fashion_mnist(const char *part, const ot_data_options *options, ot_dataset *d) {
    int test = 0;
    if (!part || !strcmp(part, "train")) test = 0;
    else if (!strcmp(part, "test")) test = 1;
    else return oti_fail(OT_ERR_INVALID, "data spec fashion-mnist:%s: expected :train or :test", part);
    char *images = oti_asprintf("%s/%s-images-idx3-ubyte.gz", FASHION_MNIST_DIR, test ? "t10k" : "train");
    char *labels = oti_asprintf("%s/%s-labels-idx1-ubyte.gz", FASHION_MNIST_DIR, test ? "t10k" : "train");
    struct stat st;
    ot_status status;
    if (!images || !labels)
        status = OT_ERR_MEMORY;
    else if (stat(images, &st) != 0)
        status = oti_fail(OT_ERR_IO, "Fashion-MNIST is not installed (%s is missing): install it "
                         "with 'apt-get install dataset-fashion-mnist'", images);
    else
        status = oti_dataset_from_idx(images, labels, options, d);
    if (status == OT_OK) status = set_identity(d, "fashion-mnist", images, labels, NULL);
    free(images);
    free(labels);
    return status;
}

/* npz:FILE or npz:FILE:x=NAME,y=NAME,INPUT=NAME... */
static ot_status load_npz(const char *spec, const ot_data_options *options, ot_dataset *d) {
    char *file = oti_strdup(spec + 4);
    OT_ALLOC_CHECK_COPY(file, spec + 4);
    oti_npz_names names = {.x = "x", .y = "y"}; /* pointing into file, when renamed */
    char *options_part = NULL;
    /* The options start at the last ':' followed by NAME=: paths may hold ':' themselves. */
    for (char *colon = strchr(file, ':'); colon; colon = strchr(colon + 1, ':')) {
        char *equals = strchr(colon + 1, '=');
        if (equals && !memchr(colon + 1, '/', (size_t)(equals - colon - 1))) {
            options_part = colon;
            break;
        }
    }
    ot_status status = OT_OK;
    if (options_part) {
        *options_part = '\0';
        char *save = NULL;
        for (char *item = strtok_r(options_part + 1, ",", &save); item && status == OT_OK;
             item = strtok_r(NULL, ",", &save)) {
            char *equals = strchr(item, '=');
            if (!equals || equals == item || !equals[1]) {
                status = oti_fail(OT_ERR_INVALID, "data spec '%s': '%s' is not NAME=ARRAY (x=NAME, y=NAME, "
                                 "or INPUT=NAME for a further model input)", spec, item);
                break;
            }
            *equals = '\0';
            if (!strcmp(item, "x")) names.x = equals + 1;
            else if (!strcmp(item, "y")) names.y = equals + 1;
            else if (names.n_inputs == OT_DATASET_MAX_ARRAYS)
                status = oti_fail(OT_ERR_INVALID, "data spec '%s': more than %d further inputs", spec,
                                 OT_DATASET_MAX_ARRAYS);
            else {
                names.input[names.n_inputs] = item;
                names.array[names.n_inputs++] = equals + 1;
            }
        }
    }
    if (status == OT_OK) status = oti_dataset_from_npz(options->context, file, &names, d);
    if (status == OT_OK) {
        char *ids = oti_asprintf("|x=%s|y=%s", names.x, names.y);
        for (int k = 0; k < names.n_inputs && ids; k++) {
            char *next = oti_asprintf("%s|%s=%s", ids, names.input[k], names.array[k]);
            free(ids);
            ids = next;
        }
        status = ids ? set_identity(d, "npz", file, NULL, ids) : OT_ERR_MEMORY;
        free(ids);
    }
    free(file);
    return status;
}

/* "KIND:A,B" (KIND: the first `prefix` characters): A, allocated, and B, in spec. */
static ot_status split_pair(const char *spec, size_t prefix, const char *form, char **first, const char **second) {
    const char *comma = strchr(spec + prefix, ',');
    if (!comma) return oti_fail(OT_ERR_INVALID, "data spec '%s': expected %s", spec, form);
    *first = oti_strndup(spec + prefix, (size_t)(comma - spec - prefix));
    OT_ALLOC_CHECK(*first);
    *second = comma + 1;
    return OT_OK;
}

static ot_status load_by_spec(const char *spec, const ot_data_options *options, ot_dataset *d) {
    if (!strncmp(spec, "fashion-mnist", 13) && (spec[13] == '\0' || spec[13] == ':'))
        return load_fashion_mnist(spec[13] ? spec + 14 : NULL, options, d);
    char *first;
    const char *second;
    if (!strncmp(spec, "idx:", 4)) {
        OT_TRY(split_pair(spec, 4, "idx:IMAGES,LABELS", &first, &second));
        ot_status status = oti_dataset_from_idx(first, second, options, d);
        if (status == OT_OK) status = set_identity(d, "idx", first, second, NULL);
        free(first);
        return status;
    }
    if (!strncmp(spec, "csv:", 4)) {
        OT_TRY(oti_dataset_from_csv(spec + 4, d));
        return set_identity(d, "csv", spec + 4, NULL, NULL);
    }
    if (!strncmp(spec, "npz:", 4)) return load_npz(spec, options, d);
    if (!strncmp(spec, "images:", 7)) return oti_dataset_from_images(spec + 7, options, d);
    if (!strncmp(spec, "segmentation:", 13)) {
        OT_TRY(split_pair(spec, 13, "segmentation:IMAGES,MASKS", &first, &second));
        ot_status status = oti_dataset_from_segmentation(first, second, options, d);
        free(first);
        return status;
    }
    return oti_fail(OT_ERR_INVALID, "unknown data spec '%s' (fashion-mnist[:train|test], "
                   "idx:IMAGES,LABELS, npz:FILE, csv:FILE, images:DIR, segmentation:IMAGES,MASKS)", spec);
}

static ot_status check_finite_array(const char *source, const char *name, const float *v, int64_t n, int64_t per) {
    for (int64_t i = 0; i < n * per; i++)
        if (!isfinite(v[i]))
            return oti_fail(OT_ERR_INVALID, "%s: array '%s' holds %s at sample %lld (element %lld of it): data "
                           "must be finite", source, name, isnan(v[i]) ? "NaN" : "an infinite value",
                           (long long)(i / per), (long long)(i % per));
    return OT_OK;
}

ot_status oti_dataset_check_finite(const ot_dataset *d, const char *source) {
    if (d->x && d->dtype == OT_FLOAT)
        OT_TRY(check_finite_array(source, d->x_name ? d->x_name : "x", d->x, d->n, d->sample_size));
    for (int a = 0; a < d->n_arrays; a++)
        if (d->arrays[a].dtype == OT_FLOAT)
            OT_TRY(check_finite_array(source, d->arrays[a].name, d->arrays[a].data, d->n, d->arrays[a].sample_size));
    if (d->targets)
        OT_TRY(check_finite_array(source, d->y_name ? d->y_name : "y", d->targets, d->n, d->target_size));
    return OT_OK;
}

/* Every per-sample array of d: where it is and its bytes per sample. */
typedef struct dataset_columns {
    int count;
    void **data[3 + OT_DATASET_MAX_ARRAYS];
    size_t row_bytes[3 + OT_DATASET_MAX_ARRAYS];
} dataset_columns;

static void add_column(dataset_columns *c, void **data, size_t row_bytes) {
    if (!*data) return;
    c->data[c->count] = data;
    c->row_bytes[c->count++] = row_bytes;
}

static dataset_columns columns_of(ot_dataset *d) {
    dataset_columns c = {0};
    if (d->bytes) add_column(&c, (void **)&d->bytes, (size_t)d->sample_size);
    else add_column(&c, &d->x, ot_dtype_size(d->dtype) * (size_t)d->sample_size);
    add_column(&c, (void **)&d->labels, sizeof(int64_t) * (size_t)OT_MAX(d->label_size, 1));
    add_column(&c, (void **)&d->targets, sizeof(float) * (size_t)d->target_size);
    for (int k = 0; k < d->n_arrays; k++)
        add_column(&c, &d->arrays[k].data, ot_dtype_size(d->arrays[k].dtype) * (size_t)d->arrays[k].sample_size);
    return c;
}

/* Keeps samples whose index is marked, in order. */
static void keep_samples(ot_dataset *d, const unsigned char *keep) {
    dataset_columns c = columns_of(d);
    int64_t kept = 0;
    for (int64_t i = 0; i < d->n; i++) {
        if (!keep[i]) continue;
        if (kept != i)
            for (int k = 0; k < c.count; k++)
                memmove((char *)*c.data[k] + kept * c.row_bytes[k], (char *)*c.data[k] + i * c.row_bytes[k],
                        c.row_bytes[k]);
        kept++;
    }
    d->n = kept;
}

static int compare_labels(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

ot_status oti_dataset_select(int64_t *labels, int64_t n, const ot_data_options *o, unsigned char *keep,
                             int64_t *kept_count) {
    memset(keep, 0, (size_t)n);
    /* Per-class counts: by the new label with --classes, else by the rank of the label among
     * those present (labels can be large: "999999999" must not size an array). */
    int64_t *seen = NULL, *distinct = NULL, n_distinct = 0;
    if (o && o->per_class && o->n_classes) {
        seen = oti_calloc((size_t)o->n_classes + 1, sizeof(int64_t));
        OT_ALLOC_CHECK(seen);
    } else if (o && o->per_class) {
        distinct = oti_malloc(sizeof(int64_t) * (size_t)(n + 1));
        OT_ALLOC_CHECK(distinct);
        memcpy(distinct, labels, sizeof(int64_t) * (size_t)n);
        qsort(distinct, (size_t)n, sizeof(int64_t), compare_labels);
        for (int64_t i = 0; i < n; i++)
            if (i == 0 || distinct[i] != distinct[n_distinct - 1]) distinct[n_distinct++] = distinct[i];
        seen = oti_calloc((size_t)n_distinct + 1, sizeof(int64_t));
        if (!seen) {
            free(distinct);
            return OT_ERR_MEMORY;
        }
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        if (o && o->n_classes) {
            int64_t mapped = -1;
            for (int c = 0; c < o->n_classes; c++)
                if (o->classes[c] == labels[i]) mapped = c;
            if (mapped < 0) continue;
            labels[i] = mapped;
        }
        if (seen) {
            int64_t k = labels[i];
            if (distinct)
                k = (int64_t *)bsearch(&labels[i], distinct, (size_t)n_distinct, sizeof(int64_t),
                                       compare_labels) - distinct;
            if (seen[k] >= o->per_class) continue;
            seen[k]++;
        }
        if (o && o->limit && kept >= o->limit) continue;
        keep[i] = 1;
        kept++;
    }
    free(seen);
    free(distinct);
    if (kept_count) *kept_count = kept;
    return OT_OK;
}

static ot_status apply_options(ot_dataset *d, const ot_data_options *o, const char *spec) {
    if (o && (o->n_classes || o->per_class) && (!d->labels || d->label_size > 1))
        return oti_fail(OT_ERR_INVALID, "%s: selecting classes needs one class label per sample", spec);
    unsigned char *keep = oti_calloc((size_t)d->n + 1, 1);
    OT_ALLOC_CHECK(keep);
    ot_status selected = oti_dataset_select(d->labels, d->n, o, keep, NULL);
    if (selected != OT_OK) {
        free(keep);
        return selected;
    }
    keep_samples(d, keep);
    free(keep);
    if (o && o->n_classes) d->n_classes = o->n_classes;
    if (d->n == 0) return oti_fail(OT_ERR_INVALID, "%s: no samples left after filtering", spec);
    if (o && (o->limit || o->n_classes || o->per_class)) {
        char *filtered = oti_asprintf("%s|limit=%lld|per-class=%lld|classes=", d->identity,
                                      (long long)o->limit, (long long)o->per_class);
        OT_ALLOC_CHECK(filtered);
        for (int c = 0; c < o->n_classes; c++) {
            char *next = oti_asprintf("%s%lld,", filtered, (long long)o->classes[c]);
            free(filtered);
            OT_ALLOC_CHECK(next);
            filtered = next;
        }
        free(d->identity);
        d->identity = filtered;
    }
    return OT_OK;
}

static void convert_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    ot_dataset *d = arg;
    float *x = d->x;
    for (int64_t i = begin; i < end; i++) x[i] = d->bytes[i] / 255.0f; /* as numpy: x / 255 */
}

/* Image bytes -> floats in [0, 1], for the samples the filters kept. Split over the threads:
 * most of the time is the first touch of the new pages (188 MB for Fashion-MNIST's training
 * images), which the kernel serves per thread. */
static ot_status bytes_to_floats(const ot_context *ctx, ot_dataset *d, const char *spec) {
    size_t n = (size_t)(d->n * d->sample_size);
    OT_TRY(oti_check_memory(ctx, n * sizeof(float), spec));
    d->x = malloc(sizeof(float) * (n ? n : 1));
    d->dtype = OT_FLOAT;
    if (!d->x) return oti_fail(OT_ERR_MEMORY, "%s: out of memory allocating %zu MiB for the samples", spec, n * 4 >> 20);
    oti_parallel_ranges(oti_context_pool(ctx), (int64_t)n, (int64_t)1 << 20, convert_range, d);
    free(d->bytes);
    d->bytes = NULL;
    return OT_OK;
}

ot_status ot_dataset_load(const char *spec, const ot_data_options *options, ot_dataset **out) {
    *out = NULL;
    const ot_data_options none = {0};
    if (!options) options = &none;
    ot_dataset *d = oti_calloc(1, sizeof *d);
    OT_ALLOC_CHECK(d);
    ot_status status = load_by_spec(spec, options, d);
    if (status == OT_OK && d->x && d->dtype == OT_UNDEFINED) d->dtype = OT_FLOAT; /* float loaders */
    if (status == OT_OK && !d->identity && !(d->identity = oti_strdup(spec))) status = OT_ERR_MEMORY;
    if (status == OT_OK && d->labels) {
        if (d->label_size < 1) d->label_size = 1;
        for (int64_t i = 0; i < d->n * d->label_size; i++)
            if (d->labels[i] >= d->n_classes) d->n_classes = d->labels[i] + 1;
    }
    if (status == OT_OK) status = apply_options(d, options, spec);
    if (status == OT_OK) status = oti_dataset_check_finite(d, spec);
    if (status == OT_OK && d->bytes) status = bytes_to_floats(options->context, d, spec);
    if (status != OT_OK) {
        ot_dataset_free(d);
        return status;
    }
    *out = d;
    return OT_OK;
}

ot_status ot_dataset_reshape(ot_dataset *d, int ndim, const int64_t *dims, const char *input) {
    int64_t size = ot_dims_numel(ndim, dims);
    if (size != d->sample_size) {
        char want[128], have[128];
        return oti_fail(OT_ERR_INVALID, "data samples have shape %s (%lld values), but model input "
                       "'%s' takes %s per sample (%lld values)",
                       ot_shape_string(d->sample_ndim, d->sample_dims, have, sizeof have),
                       (long long)d->sample_size, input, ot_shape_string(ndim, dims, want, sizeof want),
                       (long long)size);
    }
    d->sample_ndim = ndim;
    memcpy(d->sample_dims, dims, sizeof(int64_t) * (size_t)ndim);
    return OT_OK;
}

/* Copies of d's per-sample arrays for samples [first, first + count), in order `order`
 * (NULL: as they are), into v's fields of the same names. All or nothing. */
static ot_status copy_rows(ot_dataset *d, ot_dataset *v, const int64_t *order, int64_t first, int64_t count) {
    dataset_columns from = columns_of(d), to = columns_of(v);
    void *made[3 + OT_DATASET_MAX_ARRAYS] = {0};
    for (int k = 0; k < from.count; k++) {
        made[k] = oti_malloc(from.row_bytes[k] * (size_t)count + 1);
        if (!made[k]) {
            for (int j = 0; j < k; j++) free(made[j]);
            return OT_ERR_MEMORY;
        }
        for (int64_t i = 0; i < count; i++) {
            int64_t at = order ? order[first + i] : first + i;
            memcpy((char *)made[k] + i * from.row_bytes[k], (char *)*from.data[k] + at * from.row_bytes[k],
                   from.row_bytes[k]);
        }
    }
    for (int k = 0; k < to.count; k++) {
        if (v == d) free(*to.data[k]);
        *to.data[k] = made[k];
    }
    return OT_OK;
}

ot_status ot_dataset_split(ot_dataset *d, double fraction, ot_rng *shuffle, ot_dataset **val) {
    int64_t n_val = (int64_t)(d->n * fraction + 0.5);
    if (fraction <= 0 || fraction >= 1 || n_val < 1 || n_val >= d->n)
        return oti_fail(OT_ERR_INVALID, "a validation fraction of %g leaves no training or no validation samples "
                       "of %lld", fraction, (long long)d->n);
    if (shuffle) {
        /* Shuffle whole samples by a permutation: all the new arrays first, so that running
         * out of memory leaves d as it was. */
        int64_t *order = oti_malloc(sizeof(int64_t) * (size_t)d->n);
        OT_ALLOC_CHECK(order);
        for (int64_t i = 0; i < d->n; i++) order[i] = i;
        ot_rng_shuffle(shuffle, order, d->n);
        ot_status status = copy_rows(d, d, order, 0, d->n);
        free(order);
        OT_TRY(status);
    }
    ot_dataset *v = oti_calloc(1, sizeof *v);
    OT_ALLOC_CHECK(v);
    int64_t n_train = d->n - n_val;
    *v = *d;
    v->n = n_val;
    v->bytes = NULL;
    v->class_names = NULL;
    v->x_name = NULL;
    v->y_name = NULL;
    v->identity = NULL;
    for (int k = 0; k < d->n_arrays; k++) v->arrays[k].name = v->arrays[k].input = NULL;
    /* v's columns are d's until copy_rows replaces them. */
    ot_status status = copy_rows(d, v, NULL, n_train, n_val);
    if (status != OT_OK) {
        v->x = NULL;
        v->labels = NULL;
        v->targets = NULL;
        v->n_arrays = 0;
        ot_dataset_free(v);
        return status;
    }
    v->identity = oti_asprintf("%s|val-split", d->identity);
    if (!v->identity || (d->x_name && !(v->x_name = oti_strdup(d->x_name))) ||
        (d->y_name && !(v->y_name = oti_strdup(d->y_name)))) {
        ot_dataset_free(v);
        return OT_ERR_MEMORY;
    }
    for (int k = 0; k < d->n_arrays; k++) {
        v->arrays[k].name = oti_strdup(d->arrays[k].name);
        v->arrays[k].input = oti_strdup(d->arrays[k].input);
        if (!v->arrays[k].name || !v->arrays[k].input) {
            ot_dataset_free(v);
            return OT_ERR_MEMORY;
        }
    }
    d->n = n_train;
    *val = v;
    return OT_OK;
}
