/* IDX files (MNIST's format), gzip-compressed or raw: magic 0 0 TYPE NDIM, NDIM big-endian
 * u32 dims, then the bytes. Images (ubyte, 3 dims) become floats in [0,1] shaped
 * N x 1 x H x W; labels (ubyte, 1 dim) become int64. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <stdlib.h>

#include "core/util.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"
#include "core/context_internal.h"

#define IDX_MAX_BYTES ((size_t)4 << 30)

typedef struct idx_array {
    int ndim;
    int64_t dims[4];     /* dims[0]: the entries read */
    int64_t file_items;  /* dims[0] as the header gives it */
    unsigned char *data; /* ubyte payload */
    size_t size;
} idx_array;

static ot_status read_exact(gzFile f, void *buf, size_t n, const char *path) {
    size_t done = 0;
    while (done < n) {
        unsigned chunk = (unsigned)OT_MIN(n - done, (size_t)1 << 30);
        int got = gzread(f, (char *)buf + done, chunk);
        if (got <= 0) {
            int err;
            const char *message = gzerror(f, &err);
            return oti_fail(OT_ERR_FORMAT, "%s: truncated IDX file (%s)", path,
                           err ? message : "unexpected end of data");
        }
        done += (size_t)got;
    }
    return OT_OK;
}

/* Reads an IDX file; with max_items > 0 only the first max_items entries of dim 0 are read
 * (dims[0] says how many were), so a gzip stream is decompressed only that far. */
static ot_status read_idx(const ot_context *ctx, const char *path, int64_t max_items, idx_array *out) {
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) return oti_fail(OT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    gzFile f = gzopen(path, "rb");
    if (!f) return oti_fail(OT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(f, 1 << 17); /* read the file in 128 KiB blocks rather than 8 KiB */
    unsigned char magic[4];
    ot_status status = read_exact(f, magic, 4, path);
    if (status == OT_OK && (magic[0] || magic[1] || magic[3] < 1 || magic[3] > 4))
        status = oti_fail(OT_ERR_FORMAT, "%s: not an IDX file (bad magic)", path);
    if (status == OT_OK && magic[2] != 0x08)
        status = oti_fail(OT_ERR_UNSUPPORTED, "%s: IDX type 0x%02x is not supported (only unsigned "
                         "bytes, 0x08)", path, magic[2]);
    size_t total = 1;
    for (int d = 0; status == OT_OK && d < magic[3]; d++) {
        unsigned char b[4];
        status = read_exact(f, b, 4, path);
        if (status != OT_OK) break;
        out->dims[d] = (int64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        if (out->dims[d] == 0 || total > IDX_MAX_BYTES / (size_t)out->dims[d])
            status = oti_fail(OT_ERR_FORMAT, "%s: bad IDX dims", path);
        else total *= (size_t)out->dims[d];
    }
    out->file_items = out->dims[0];
    if (status == OT_OK && max_items > 0 && max_items < out->dims[0]) {
        total = total / (size_t)out->dims[0] * (size_t)max_items;
        out->dims[0] = max_items;
    }
    /* The samples become floats: check that size against the memory limit first. */
    if (status == OT_OK) status = oti_check_memory(ctx, total * sizeof(float), path);
    if (status == OT_OK) {
        out->ndim = magic[3];
        out->size = total;
        /* A header can claim gigabytes a small (or gzip) file does not hold: start with what
         * the file can hold (deflate expands at most 1032:1) and grow as data arrives. One
         * buffer of the right size for an honest file (growing Fashion-MNIST's 47 MB from
         * 1 MB copied 31 MB). */
        size_t can_hold = (size_t)st.st_size * 1032 + ((size_t)1 << 20);
        size_t capacity = 0, done = 0;
        while (status == OT_OK && done < total) {
            capacity = OT_MIN(total, capacity ? capacity * 2 : can_hold);
            unsigned char *grown = realloc(out->data, capacity);
            if (!grown) {
                status = oti_fail(OT_ERR_MEMORY, "%s: out of memory allocating %zu bytes", path, capacity);
                break;
            }
            out->data = grown;
            status = read_exact(f, out->data + done, capacity - done, path);
            done = capacity;
        }
    }
    gzclose(f);
    if (status != OT_OK) {
        free(out->data);
        out->data = NULL;
    }
    return status;
}

/* How many leading samples the options need: up to the last one they keep (all without
 * filtering options). Selection is causal, so the prefix selects the same samples. */
static ot_status needed_prefix(const idx_array *labels, const ot_data_options *o, int64_t *prefix) {
    *prefix = 0;
    if (!o || (!o->limit && !o->n_classes && !o->per_class)) return OT_OK;
    int64_t n = labels->dims[0];
    int64_t *mapped = oti_malloc(sizeof(int64_t) * (size_t)(n + 1));
    unsigned char *keep = oti_malloc((size_t)n + 1);
    ot_status status = mapped && keep ? OT_OK : OT_ERR_MEMORY;
    for (int64_t i = 0; i < n && status == OT_OK; i++) mapped[i] = labels->data[i];
    if (status == OT_OK) status = oti_dataset_select(mapped, n, o, keep, NULL);
    if (status != OT_OK) {
        free(mapped);
        free(keep);
        return status;
    }
    int64_t last = -1;
    for (int64_t i = 0; i < n; i++)
        if (keep[i]) last = i;
    free(mapped);
    free(keep);
    *prefix = last + 1 > 0 ? last + 1 : 1; /* nothing kept: read one, the filters then say so */
    return OT_OK;
}

ot_status oti_dataset_from_idx(const char *images_path, const char *labels_path, const ot_data_options *options,
                              ot_dataset *d) {
    idx_array images, labels;
    OT_TRY(read_idx(options ? options->context : NULL, labels_path, 0, &labels));
    int64_t prefix = 0;
    ot_status status = labels.ndim == 1 ? needed_prefix(&labels, options, &prefix) : OT_OK;
    if (status == OT_OK) status = read_idx(options ? options->context : NULL, images_path, prefix, &images);
    if (status != OT_OK) {
        free(labels.data);
        return status;
    }
    /* A prefix read leaves the rest of the file unread (and unchecked). */
    if (labels.ndim == 1 && images.dims[0] < labels.dims[0]) labels.dims[0] = images.dims[0];
    if (images.ndim < 2) status = oti_fail(OT_ERR_FORMAT, "%s: images need at least 2 dims", images_path);
    else if (labels.ndim != 1) status = oti_fail(OT_ERR_FORMAT, "%s: labels need 1 dim", labels_path);
    else if (labels.file_items != images.file_items)
        status = oti_fail(OT_ERR_FORMAT, "%s has %lld images but %s has %lld labels", images_path,
                         (long long)images.file_items, labels_path, (long long)labels.file_items);
    if (status == OT_OK) {
        d->n = images.dims[0];
        /* N x H x W images gain a channel dim: N x 1 x H x W. */
        d->sample_ndim = images.ndim == 3 ? 3 : images.ndim - 1;
        if (images.ndim == 3) {
            d->sample_dims[0] = 1;
            d->sample_dims[1] = images.dims[1];
            d->sample_dims[2] = images.dims[2];
        } else {
            for (int i = 1; i < images.ndim; i++) d->sample_dims[i - 1] = images.dims[i];
        }
        d->sample_size = (int64_t)(images.size / (size_t)d->n);
        d->labels = malloc(sizeof(int64_t) * (size_t)d->n);
        if (!d->labels) status = oti_fail(OT_ERR_MEMORY, "%s: out of memory", images_path);
    }
    if (status == OT_OK) {
        /* Pixels stay bytes until the dataset's filters have run (ot_dataset_load). */
        d->bytes = images.data;
        images.data = NULL;
        for (int64_t i = 0; i < d->n; i++) d->labels[i] = labels.data[i];
    }
    free(images.data);
    free(labels.data);
    return status;
}
