/* The frozen-feature cache file: keys, building, opening (memory-mapped or decompressed),
 * integrity checks. See cache.h for the layout. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "core/file_io.h"
#include "onnxtrain/plan.h"
#include "ops/conv_tuning.h"

#define CACHE_MAGIC "OTCACHE1"
#define CACHE_VERSION 2 /* 2: each frontier tensor says its dtype */
/* Samples per compressed chunk and per build batch. A training-sized batch keeps the frozen
 * part's activations in the CPU caches: 256 made the 500-image fine-tune's build ~1.8x slower
 * (page faults on a 50 MiB arena, a second arena for the tail, every pass from DRAM); 16 to
 * 64 measured alike (within run-to-run noise) for its 500 training and 5000 test images. */
#define CACHE_CHUNK 32
#define CACHE_ALIGN 64

enum { LAYOUT_RAW = 0, LAYOUT_ZLIB = 1 };
enum { KEY_WEIGHTS, KEY_GRAPH, KEY_DATA, KEY_COUNT };
static const char *const key_names[KEY_COUNT] = {"frozen weights", "frozen graph, cut point or conv arithmetic", "data or preprocessing"};

/* FNV-1a, 64 bits: enough to notice changes; the cache is not a security boundary. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
static uint64_t hash_string(uint64_t h, const char *s) { return hash_bytes(h, s, strlen(s) + 1); }
static uint64_t hash_int(uint64_t h, int64_t v) { return hash_bytes(h, &v, sizeof v); }

/* The plan options that change a frozen layer's numbers: a cache built with others is stale. */
static uint64_t hash_numerics(uint64_t h, const ot_plan_options *numerics) {
    h = hash_int(h, numerics->fast_convolution);
    if (numerics->conv_tuning) {
        const ot_conv_tuning *t = numerics->conv_tuning;
        h = hash_int(hash_int(hash_int(h, t->column_budget_floats), t->winograd_min_channels), t->winograd_chunk_floats);
        h = hash_int(hash_int(h, t->fft_min_channels), t->fft_chunk_samples);
        h = hash_bytes(h, &t->fft_min_gain, sizeof t->fft_min_gain);
    }
    return h;
}

static void compute_keys(const ot_model *m, const ot_frozen_part *part, const ot_io_binding *io,
                         const ot_dataset *d, const ot_plan_options *numerics, uint64_t keys[KEY_COUNT]) {
    uint64_t weights = 1469598103934665603ull, graph = weights, data = weights;
    graph = hash_numerics(hash_string(graph, m->values[io->input].name), numerics);
    for (int a = 0; a < io->n_arrays; a++) graph = hash_string(graph, m->values[io->array_inputs[a]].name);
    for (int i = 0; i < m->n_layers; i++) {
        if (!part->in_part[i]) continue;
        const ot_layer *l = &m->layers[i];
        graph = hash_string(hash_string(hash_string(graph, l->name), l->op_type), l->domain);
        graph = hash_int(graph, l->opset);
        for (int a = 0; a < l->n_attrs; a++) {
            const ot_attr *at = &l->attrs[a];
            graph = hash_int(hash_string(graph, at->name), at->type);
            graph = hash_bytes(hash_bytes(graph, &at->f, sizeof at->f), &at->i, sizeof at->i);
            if (at->s) graph = hash_bytes(graph, at->s, at->s_len);
            if (at->ints) graph = hash_bytes(graph, at->ints, sizeof(int64_t) * (size_t)at->count);
            if (at->floats) graph = hash_bytes(graph, at->floats, sizeof(float) * (size_t)at->count);
            if (at->t.data) graph = hash_bytes(graph, at->t.data, (size_t)ot_tensor_numel(&at->t) * ot_dtype_size(at->t.dtype));
        }
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            graph = hash_string(graph, v >= 0 ? m->values[v].name : "");
            if (v < 0 || m->values[v].kind != OT_VALUE_INITIALIZER) continue;
            const ot_tensor *t = &m->values[v].tensor;
            weights = hash_string(weights, m->values[v].name);
            weights = hash_bytes(weights, t->dims, sizeof(int64_t) * (size_t)t->ndim);
            weights = hash_bytes(weights, t->data, (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype));
        }
        for (int k = 0; k < l->n_outputs; k++) graph = hash_string(graph, l->outputs[k] >= 0 ? m->values[l->outputs[k]].name : "");
    }
    for (int f = 0; f < part->n_frontier; f++) graph = hash_string(graph, m->values[part->frontier[f]].name);
    data = hash_string(data, d->identity);
    data = hash_int(data, d->n);
    data = hash_bytes(data, d->sample_dims, sizeof(int64_t) * (size_t)d->sample_ndim);
    keys[KEY_WEIGHTS] = weights;
    keys[KEY_GRAPH] = graph;
    keys[KEY_DATA] = data;
}

/* Header --------------------------------------------------------------------------------- */

typedef struct cache_header {
    uint32_t version, layout;
    uint64_t keys[KEY_COUNT];
    int64_t n;
    int count;
    char names[OT_MAX_FEEDS][256];
    ot_tensor shapes[OT_MAX_FEEDS];
    uint64_t offsets[OT_MAX_FEEDS];
    uint32_t crcs[OT_MAX_FEEDS];
    uint64_t data_bytes[OT_MAX_FEEDS]; /* bytes on disk for this tensor's section */
} cache_header;

/* Appends to a growing buffer, or only counts (measure_only). Running out of memory sets the
 * sticky `failed` flag, checked once before the bytes are used. */
typedef struct byte_writer {
    unsigned char *buf;
    size_t len, cap;
    int failed, measure_only;
} byte_writer;

static void put(byte_writer *w, const void *data, size_t n) {
    if (w->measure_only) {
        w->len += n;
        return;
    }
    if (!w->failed && w->len + n > w->cap) {
        unsigned char *grown = oti_realloc(w->buf, (w->len + n) * 2);
        if (grown) {
            w->buf = grown;
            w->cap = (w->len + n) * 2;
        } else {
            w->failed = 1;
        }
    }
    if (!w->failed && n) memcpy(w->buf + w->len, data, n);
    w->len += n;
}
static void put_u32(byte_writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(byte_writer *w, uint64_t v) { put(w, &v, 8); }

static void encode_header(const cache_header *h, byte_writer *w) {
    put_u32(w, h->version);
    put_u32(w, h->layout);
    for (int k = 0; k < KEY_COUNT; k++) put_u64(w, h->keys[k]);
    put_u64(w, (uint64_t)h->n);
    put_u32(w, (uint32_t)h->count);
    for (int f = 0; f < h->count; f++) {
        uint32_t len = (uint32_t)strlen(h->names[f]);
        put_u32(w, len);
        put(w, h->names[f], len);
        put_u32(w, (uint32_t)h->shapes[f].dtype);
        put_u32(w, (uint32_t)h->shapes[f].ndim);
        for (int d = 0; d < h->shapes[f].ndim; d++) put_u64(w, (uint64_t)h->shapes[f].dims[d]);
        put_u64(w, h->offsets[f]);
        put_u64(w, h->data_bytes[f]);
        put_u32(w, h->crcs[f]);
    }
}

typedef struct byte_reader {
    const unsigned char *p, *end;
    int failed;
} byte_reader;

static void get(byte_reader *r, void *out, size_t n) {
    if (r->failed || (size_t)(r->end - r->p) < n) {
        r->failed = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
}
static uint32_t get_u32(byte_reader *r) { uint32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(byte_reader *r) { uint64_t v; get(r, &v, 8); return v; }

static int decode_header(const unsigned char *data, size_t size, cache_header *h) {
    byte_reader r = {data, data + size, 0};
    memset(h, 0, sizeof *h);
    h->version = get_u32(&r);
    h->layout = get_u32(&r);
    for (int k = 0; k < KEY_COUNT; k++) h->keys[k] = get_u64(&r);
    h->n = (int64_t)get_u64(&r);
    uint32_t count = get_u32(&r);
    if (r.failed || h->version != CACHE_VERSION || count > OT_MAX_FEEDS || h->n < 0) return 0;
    h->count = (int)count;
    for (int f = 0; f < h->count; f++) {
        uint32_t len = get_u32(&r);
        if (len >= sizeof h->names[f]) return 0;
        get(&r, h->names[f], len);
        uint32_t dtype = get_u32(&r), ndim = get_u32(&r);
        if (ndim < 1 || ndim > OT_MAX_DIMS) return 0;
        if (dtype != OT_FLOAT && dtype != OT_INT64 && dtype != OT_BOOL) return 0;
        h->shapes[f].ndim = (int)ndim;
        h->shapes[f].dtype = (ot_dtype)dtype;
        for (uint32_t d = 0; d < ndim; d++) h->shapes[f].dims[d] = (int64_t)get_u64(&r);
        h->offsets[f] = get_u64(&r);
        h->data_bytes[f] = get_u64(&r);
        h->crcs[f] = get_u32(&r);
    }
    return !r.failed;
}

static int64_t per_sample_of(const ot_tensor *shape) {
    return ot_dims_numel(shape->ndim - 1, shape->dims + 1);
}

/* Bytes per sample of a frontier tensor. */
static uint64_t row_bytes_of(const ot_tensor *shape) {
    return (uint64_t)per_sample_of(shape) * ot_dtype_size(shape->dtype);
}

/* Building --------------------------------------------------------------------------------- */

static ot_status write_at(int fd, uint64_t offset, const void *data, size_t n, const char *path) {
    const unsigned char *p = data;
    while (n) {
        ssize_t done = pwrite(fd, p, n, (off_t)offset);
        if (done <= 0) return oti_fail(OT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        p += done;
        offset += (uint64_t)done;
        n -= (size_t)done;
    }
    return OT_OK;
}

static size_t header_region(const cache_header *h) {
    byte_writer w = {.measure_only = 1};
    encode_header(h, &w);
    size_t n = 8 + 4 + w.len + 4;
    return (n + CACHE_ALIGN - 1) / CACHE_ALIGN * CACHE_ALIGN;
}

ot_status oti_cache_forward_chunk(ot_plan_pair *plans, const ot_sample_source *source, const ot_frozen_part *part,
                                  int64_t start, int64_t size, const void **values) {
    ot_plan *plan;
    OT_TRY(oti_plan_pair_get(plans, size, &plan));
    for (int k = 0; k < source->count; k++)
        ot_plan_value(plan, plans->feeds.values[k])->data = (char *)source->arrays[k] + start * source->row_bytes[k];
    OT_TRY(ot_plan_forward(plan));
    for (int f = 0; f < part->n_frontier; f++) values[f] = ot_plan_value(plan, part->frontier[f])->data;
    return OT_OK;
}

/* The frozen part in inference mode, CACHE_CHUNK samples at a time: feeds the data's
 * arrays, computes the frontier. */
static ot_status frozen_plans(ot_plan_pair *plans, ot_model *m, const ot_frozen_part *part, const ot_io_binding *io,
                              const ot_dataset *d, const ot_plan_options *base, ot_sample_source *source) {
    ot_plan_options options = *base;
    options.targets = part->frontier;
    options.n_targets = part->n_frontier;
    ot_feed_set feeds;
    oti_feed_set_from_dataset(&feeds, io, d);
    oti_sample_source_from_dataset(source, d);
    return oti_plan_pair_init(plans, m, &options, &feeds, OT_MIN(CACHE_CHUNK, d->n));
}

/* Writes the cache file: the frontier computed chunk by chunk, or (computed) taken from
 * arrays (n, per_sample) the ranks of a parallel build computed together. */
static ot_status build(const char *path, ot_model *m, const ot_frozen_part *part, const ot_io_binding *io,
                       const ot_dataset *d, const ot_plan_options *base, int compress,
                       const uint64_t keys[KEY_COUNT], void *const *computed) {
    ot_sample_source source;
    ot_plan_pair plans;
    OT_TRY(frozen_plans(&plans, m, part, io, d, base, &source));
    cache_header h = {.version = CACHE_VERSION, .layout = compress ? LAYOUT_ZLIB : LAYOUT_RAW, .n = d->n,
                      .count = part->n_frontier};
    memcpy(h.keys, keys, sizeof h.keys);
    for (int f = 0; f < h.count; f++) {
        snprintf(h.names[f], sizeof h.names[f], "%s", m->values[part->frontier[f]].name);
        h.shapes[f] = *ot_plan_value(plans.full, part->frontier[f]);
        h.shapes[f].data = NULL;
        h.shapes[f].dims[0] = 1;
        h.crcs[f] = (uint32_t)crc32(0, NULL, 0);
    }
    uint64_t at = header_region(&h);
    for (int f = 0; f < h.count && !compress; f++) {
        h.offsets[f] = at;
        h.data_bytes[f] = (uint64_t)d->n * row_bytes_of(&h.shapes[f]);
        at = (at + h.data_bytes[f] + CACHE_ALIGN - 1) / CACHE_ALIGN * CACHE_ALIGN;
    }
    ot_atomic_file file;
    ot_status status = oti_atomic_open(&file, path);
    if (status != OT_OK) {
        oti_plan_pair_free(&plans);
        return status;
    }
    int fd = fileno(file.stream);
    size_t chunk_capacity = 0;
    unsigned char *chunk = NULL;
    for (int64_t start = 0; start < d->n && status == OT_OK; start += CACHE_CHUNK) {
        int64_t size = OT_MIN(CACHE_CHUNK, d->n - start);
        const void *chunk_values[OT_MAX_FEEDS];
        for (int f = 0; f < h.count && computed; f++)
            chunk_values[f] = (const char *)computed[f] + (uint64_t)start * row_bytes_of(&h.shapes[f]);
        if (!computed) status = oti_cache_forward_chunk(&plans, &source, part, start, size, chunk_values);
        for (int f = 0; f < h.count && status == OT_OK; f++) {
            const void *values = chunk_values[f];
            size_t bytes = (size_t)((uint64_t)size * row_bytes_of(&h.shapes[f]));
            h.crcs[f] = (uint32_t)crc32_z(h.crcs[f], (const unsigned char *)values, bytes);
            if (!compress) {
                status = write_at(fd, h.offsets[f] + (uint64_t)start * row_bytes_of(&h.shapes[f]),
                                  values, bytes, path);
                continue;
            }
            /* Chunk record: tensor index, first sample, sample count, compressed length. */
            uLongf packed = compressBound((uLong)bytes);
            if (packed > chunk_capacity) {
                unsigned char *grown = oti_realloc(chunk, packed);
                if (!grown) {
                    status = OT_ERR_MEMORY;
                    break;
                }
                chunk = grown;
                chunk_capacity = packed;
            }
            if (compress2(chunk, &packed, (const Bytef *)values, (uLong)bytes, 1) != Z_OK) {
                status = oti_fail(OT_ERR_MEMORY, "%s: out of memory compressing", path);
                break;
            }
            uint64_t record[4] = {(uint64_t)f, (uint64_t)start, (uint64_t)size, (uint64_t)packed};
            status = write_at(fd, at, record, sizeof record, path);
            if (status == OT_OK) status = write_at(fd, at + sizeof record, chunk, packed, path);
            h.data_bytes[f] += sizeof record + packed;
            at += sizeof record + packed;
        }
    }
    free(chunk);
    oti_plan_pair_free(&plans);
    if (status == OT_OK) {
        byte_writer w = {0};
        byte_writer body = {0};
        encode_header(&h, &body);
        if (!body.failed) {
            put(&w, CACHE_MAGIC, 8);
            put_u32(&w, (uint32_t)body.len);
            put(&w, body.buf, body.len);
            put_u32(&w, (uint32_t)crc32(0, body.buf, (uInt)body.len));
        }
        if (w.failed || body.failed) status = OT_ERR_MEMORY;
        if (status == OT_OK) status = write_at(fd, 0, w.buf, w.len, path);
        /* The file's size marks completeness: the last section ends exactly there. */
        if (status == OT_OK && !compress && ftruncate(fd, (off_t)at) != 0)
            status = oti_fail(OT_ERR_IO, "%s: %s", path, strerror(errno));
        free(w.buf);
        free(body.buf);
    }
    if (status != OT_OK) {
        oti_atomic_abort(&file);
        return status;
    }
    /* No fsync: opening checks the size and every checksum, so a file torn by a power loss
     * is rebuilt, never trusted. */
    return oti_atomic_commit_unsynced(&file);
}

/* Opening ---------------------------------------------------------------------------------- */

/* Reads and checks the header; *why says what is wrong when it returns 0. */
static int read_header(const unsigned char *data, size_t size, cache_header *h, const char **why) {
    if (size < 16 || memcmp(data, CACHE_MAGIC, 8) != 0) {
        *why = "not a cache file";
        return 0;
    }
    uint32_t len;
    memcpy(&len, data + 8, 4);
    if (len > size - 16) {
        *why = "torn (header runs past the end)";
        return 0;
    }
    uint32_t crc;
    memcpy(&crc, data + 12 + len, 4);
    if (crc != (uint32_t)crc32(0, data + 12, len) || !decode_header(data + 12, len, h)) {
        *why = "corrupt header";
        return 0;
    }
    return 1;
}

static int load_sections(ot_feature_cache *c, const cache_header *h, const unsigned char *data,
                         size_t size, const char **why) {
    size_t total = 0;
    for (int f = 0; f < h->count; f++) total += (size_t)((uint64_t)h->n * row_bytes_of(&h->shapes[f]));
    if (h->layout == LAYOUT_RAW) {
        for (int f = 0; f < h->count; f++) {
            uint64_t bytes = (uint64_t)h->n * row_bytes_of(&h->shapes[f]);
            if (h->offsets[f] % CACHE_ALIGN || h->offsets[f] > size || bytes > size - h->offsets[f]) {
                *why = "torn (data runs past the end)";
                return 0;
            }
            c->arrays[f] = (void *)(data + h->offsets[f]);
            if ((uint32_t)crc32_z(0, data + h->offsets[f], (size_t)bytes) != h->crcs[f]) {
                *why = "corrupt (checksum mismatch)";
                return 0;
            }
        }
        return 1;
    }
    c->owned = malloc(total + 1);
    if (!c->owned) {
        *why = "too large to decompress into memory";
        return 0;
    }
    unsigned char *next = c->owned;
    for (int f = 0; f < h->count; f++) {
        c->arrays[f] = next;
        next += (uint64_t)h->n * row_bytes_of(&h->shapes[f]);
    }
    const unsigned char *p = data + header_region(h), *end = data + size;
    int64_t filled[OT_MAX_FEEDS] = {0};
    int ok = 1;
    while (ok && p < end) {
        uint64_t record[4];
        if ((size_t)(end - p) < sizeof record) { ok = 0; break; }
        memcpy(record, p, sizeof record);
        p += sizeof record;
        uint64_t f = record[0], start = record[1], count = record[2], packed = record[3];
        if (f >= (uint64_t)h->count || start != (uint64_t)filled[f] || count > (uint64_t)(h->n - (int64_t)start) ||
            packed > (uint64_t)(end - p)) { ok = 0; break; }
        uLongf bytes = (uLongf)(count * row_bytes_of(&h->shapes[f]));
        uLongf got = bytes;
        if (uncompress((Bytef *)c->arrays[f] + start * row_bytes_of(&h->shapes[f]), &got, p, (uLong)packed) != Z_OK ||
            got != bytes) { ok = 0; break; }
        filled[f] += (int64_t)count;
        p += packed;
    }
    for (int f = 0; ok && f < h->count; f++) {
        ok = filled[f] == h->n &&
             (uint32_t)crc32_z(0, (const unsigned char *)c->arrays[f], (size_t)((uint64_t)h->n * row_bytes_of(&h->shapes[f]))) == h->crcs[f];
    }
    if (!ok) *why = "corrupt or torn (compressed data does not check out)";
    return ok;
}

/* Maps path and checks it against the expected keys and frontier. Returns OT_OK with
 * *usable = 0 (and *why) when it must be rebuilt. */
static ot_status try_open(ot_feature_cache *c, const ot_model *m, const ot_frozen_part *part,
                          const uint64_t keys[KEY_COUNT], int *usable, const char **why) {
    *usable = 0;
    int fd = open(c->path, O_RDONLY);
    if (fd < 0) {
        *why = errno == ENOENT ? "none yet" : "unreadable";
        return OT_OK;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 16) {
        close(fd);
        *why = "torn (too short)";
        return OT_OK;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        *why = "cannot be mapped";
        return OT_OK;
    }
    c->map = map;
    c->map_size = (size_t)st.st_size;
    cache_header h;
    if (!read_header(map, c->map_size, &h, why)) return OT_OK;
    for (int k = 0; k < KEY_COUNT; k++)
        if (h.keys[k] != keys[k]) {
            *why = key_names[k];
            return OT_OK;
        }
    if (h.count != part->n_frontier) {
        *why = key_names[KEY_GRAPH];
        return OT_OK;
    }
    c->n = h.n;
    c->count = h.count;
    for (int f = 0; f < h.count; f++) {
        if (strcmp(h.names[f], m->values[part->frontier[f]].name)) {
            *why = key_names[KEY_GRAPH];
            return OT_OK;
        }
        c->values[f] = part->frontier[f];
        c->shapes[f] = h.shapes[f];
        c->per_sample[f] = per_sample_of(&h.shapes[f]);
        if (c->per_sample[f] <= 0) {
            *why = "corrupt header";
            return OT_OK;
        }
    }
    *usable = load_sections(c, &h, map, c->map_size, why);
    if (*usable && h.layout == LAYOUT_ZLIB) { /* everything is in memory now */
        munmap(c->map, c->map_size);
        c->map = NULL;
    }
    return OT_OK;
}

static void release(ot_feature_cache *c) {
    if (c->map) munmap(c->map, c->map_size);
    free(c->owned);
    c->map = NULL;
    c->owned = NULL;
}

/* A build by every rank of a group: each computes its share of the chunks, all get every
 * share, then rank 0 writes the file and any rank that still finds none (a DIR local to its
 * machine) writes its own copy. */
static ot_status build_on_ranks(ot_feature_cache *c, ot_process_group *g, ot_model *m, const ot_frozen_part *part,
                                const ot_io_binding *io, const ot_dataset *d, const ot_plan_options *base,
                                int compress, const uint64_t keys[KEY_COUNT]) {
    ot_sample_source source;
    ot_plan_pair plans;
    void *arrays[OT_MAX_FEEDS] = {0};
    ot_status status = frozen_plans(&plans, m, part, io, d, base, &source);
    if (status == OT_OK) status = oti_cache_compute_shares(g, &plans, &source, part, CACHE_CHUNK, arrays);
    oti_plan_pair_free(&plans);
    int rank = ot_process_group_rank(g);
    if (status == OT_OK && rank == 0) status = build(c->path, m, part, io, d, base, compress, keys, arrays);
    int failed = ot_process_group_first_failed(g, status == OT_OK);
    if (status == OT_OK && failed >= 0)
        status = oti_fail(OT_ERR_IO, "%s: rank %d could not build its part of the cache", c->path, failed);
    int usable = 0;
    const char *why = NULL;
    if (status == OT_OK && rank > 0) status = try_open(c, m, part, keys, &usable, &why);
    release(c);
    if (status == OT_OK && rank > 0 && !usable) status = build(c->path, m, part, io, d, base, compress, keys, arrays);
    for (int f = 0; f < OT_MAX_FEEDS; f++) free(arrays[f]);
    return status;
}

static ot_status open_cache(ot_feature_cache *c, ot_model *m, const ot_frozen_part *part,
                            const ot_io_binding *io, const ot_dataset *d, const ot_plan_options *base,
                            const char *dir, const char *role, int compress, ot_process_group *group,
                            ot_cache_message_fn message, void *user) {
    OT_TRY(oti_make_dirs(dir));
    char *name = oti_asprintf("%s.otcache", role);
    OT_ALLOC_CHECK(name);
    c->path = oti_path_join(dir, name);
    free(name);
    OT_ALLOC_CHECK(c->path);
    uint64_t keys[KEY_COUNT];
    compute_keys(m, part, io, d, base, keys);
    int usable;
    const char *why = NULL;
    OT_TRY(try_open(c, m, part, keys, &usable, &why));
    int ranks = ot_process_group_size(group);
    /* A group reuses the cache only if every rank can: otherwise all build it together. */
    if (ranks > 1 && ot_process_group_first_failed(group, usable) >= 0 && usable) {
        usable = 0;
        why = "missing on another rank";
    }
    char text[1024];
    if (usable) {
        if (message) {
            snprintf(text, sizeof text, "cache: reusing %s (%lld samples; frozen weights, graph and data unchanged)",
                     c->path, (long long)c->n);
            message(user, text);
        }
        return OT_OK;
    }
    release(c);
    if (message) {
        int changed = 0;
        for (int k = 0; k < KEY_COUNT; k++) changed |= why == key_names[k];
        if (!strcmp(why, "none yet")) snprintf(text, sizeof text, "cache: building %s", c->path);
        else if (ranks > 1 && !strcmp(why, "missing on another rank"))
            snprintf(text, sizeof text, "cache: building %s again with the ranks that have none", c->path);
        else if (changed) snprintf(text, sizeof text, "cache: rebuilding %s (%s changed)", c->path, why);
        else snprintf(text, sizeof text, "cache: %s is %s; rebuilding it", c->path, why);
        message(user, text);
    }
    double start = oti_now_ms();
    if (ranks > 1) OT_TRY(build_on_ranks(c, group, m, part, io, d, base, compress, keys));
    else OT_TRY(build(c->path, m, part, io, d, base, compress, keys, NULL));
    OT_TRY(try_open(c, m, part, keys, &usable, &why));
    if (!usable) return oti_fail(OT_ERR_IO, "%s: the cache just written does not read back (%s)", c->path, why);
    if (message) {
        snprintf(text, sizeof text, "cache: %lld samples in %.1fs%s", (long long)c->n, (oti_now_ms() - start) / 1000,
                 ranks > 1 ? " (every rank its share)" : "");
        message(user, text);
    }
    return OT_OK;
}

ot_status oti_feature_cache_open(ot_feature_cache *c, ot_model *m, const ot_frozen_part *part,
                                const ot_io_binding *io, const ot_dataset *d, const ot_plan_options *base,
                                const char *dir, const char *role, int compress, ot_process_group *group,
                                ot_cache_message_fn message, void *user) {
    memset(c, 0, sizeof *c);
    ot_status status = open_cache(c, m, part, io, d, base, dir, role, compress, group, message, user);
    if (status != OT_OK) oti_feature_cache_close(c);
    return status;
}

void oti_feature_cache_close(ot_feature_cache *c) {
    release(c);
    free(c->path);
    memset(c, 0, sizeof *c);
}

void oti_feed_set_from_cache(ot_feed_set *feeds, const ot_feature_cache *cache) {
    memset(feeds, 0, sizeof *feeds);
    feeds->count = cache->count;
    for (int k = 0; k < cache->count; k++) {
        feeds->values[k] = cache->values[k];
        feeds->shapes[k] = cache->shapes[k];
    }
}

void oti_sample_source_from_cache(ot_sample_source *s, const ot_feature_cache *c, const ot_dataset *d) {
    memset(s, 0, sizeof *s);
    s->n = c->n;
    s->count = c->count;
    for (int f = 0; f < c->count; f++) {
        s->arrays[f] = c->arrays[f];
        s->per_sample[f] = c->per_sample[f];
        s->row_bytes[f] = (size_t)row_bytes_of(&c->shapes[f]);
    }
    s->labels = d->labels;
    s->label_size = d->label_size;
    s->targets = d->targets;
    s->target_size = d->target_size;
}
