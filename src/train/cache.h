/* The frozen-feature cache: the outputs of the frozen part of a model (its "frontier": frozen
 * tensors read by trainable layers) computed once per sample in inference mode and stored in
 * a file, so every epoch runs only the trainable part.
 *
 * File (little-endian): "OTCACHE1", header length, header (keys, sample count, for each
 * frontier tensor: name, dtype, per-sample dims, offset, CRC-32), header CRC-32; then either each
 * frontier tensor as one contiguous array (float32, or int64/bool for masks) (n, per_sample) at a 64-byte aligned offset,
 * memory-mapped when read, so datasets larger than memory work; or (--cache-compress) zlib
 * chunks of 32 samples per tensor, decompressed into memory when read. */
#ifndef OT_CACHE_H
#define OT_CACHE_H

#include "onnxtrain/dataset.h"
#include "onnxtrain/model.h"
#include "onnxtrain/process_group.h"
#include "session.h"

/* The frozen part: layers computable once, before training (their inputs do not depend on
 * trained parameters, and their forward does not change between steps); and its frontier. */
typedef struct ot_frozen_part {
    unsigned char *in_part; /* per layer */
    int n_frontier;
    int frontier[OT_MAX_FEEDS]; /* value indices, in first-use order */
} ot_frozen_part;

/* Finds the frozen part for the given trainable mask and the data d feeds through io (its
 * sample shapes tell which values are stored sample by sample). Errors when a frozen layer
 * with parameters depends on a trainable one (caching would change results). */
ot_status oti_frozen_part_find(ot_model *m, const unsigned char *trainable, const ot_io_binding *io,
                              const ot_dataset *d, ot_frozen_part *out);
/* Nothing is frozen before the first trained layers: every frontier value is a graph input. */
int oti_frozen_part_is_empty(const ot_model *m, const ot_frozen_part *part);
void oti_frozen_part_free(ot_frozen_part *part);

typedef struct ot_feature_cache {
    char *path;
    int64_t n;
    int count;
    int values[OT_MAX_FEEDS];
    ot_tensor shapes[OT_MAX_FEEDS]; /* per-sample shape with a leading batch dim */
    void *arrays[OT_MAX_FEEDS];    /* (n, per_sample) each, of the shape's dtype */
    int64_t per_sample[OT_MAX_FEEDS];
    void *map;                     /* mmap of the file, or NULL */
    size_t map_size;
    void *owned;                   /* decompressed arrays (compressed caches) */
} ot_feature_cache;

typedef void (*ot_cache_message_fn)(void *user, const char *message);

/* Opens DIR/<role>.otcache if its keys match the frozen weights, the frozen graph, the
 * frontier, the data and the plan options that change numbers (base: fast convolution, conv
 * tuning); otherwise (missing, stale, torn or corrupt) builds it by running the frozen part
 * over the dataset in inference mode with base's options, and says which. With a group of
 * several processes (every one calls it) each computes its share of the samples; the file is
 * the same as one process writes. */
ot_status oti_feature_cache_open(ot_feature_cache *cache, ot_model *m, const ot_frozen_part *part,
                                const ot_io_binding *io, const ot_dataset *d, const ot_plan_options *base,
                                const char *dir, const char *role, int compress, ot_process_group *group,
                                ot_cache_message_fn message, void *user);

/* The frontier of samples [start, start + size) of source through the frozen part's plans:
 * values[f] (size, per_sample) of frontier tensor f, in the plan's memory. */
ot_status oti_cache_forward_chunk(ot_plan_pair *plans, const ot_sample_source *source, const ot_frozen_part *part,
                                  int64_t start, int64_t size, const void **values);
/* A parallel build's computation: each rank of g runs whole chunks of `chunk` samples (its
 * share: the same chunks, so the same numbers, as one process computes), then every rank gets
 * every share. arrays[f] (n, per_sample), allocated here, the caller frees them. */
ot_status oti_cache_compute_shares(ot_process_group *g, ot_plan_pair *plans, const ot_sample_source *source,
                                   const ot_frozen_part *part, int64_t chunk, void **arrays);
void oti_feature_cache_close(ot_feature_cache *cache);

/* The cache's frontier tensors as a plan's feeds. */
void oti_feed_set_from_cache(ot_feed_set *feeds, const ot_feature_cache *cache);

/* The cache's frontier arrays plus the dataset's labels as a sample source. */
void oti_sample_source_from_cache(ot_sample_source *s, const ot_feature_cache *cache, const ot_dataset *d);

#endif
