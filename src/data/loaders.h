/* The data spec loaders behind ot_dataset_load: each fills a fresh dataset. */
#ifndef OT_DATA_LOADERS_H
#define OT_DATA_LOADERS_H

#include "onnxtrain/dataset.h"

/* IDX reads the labels first and, when the options keep only a prefix's worth of samples
 * (--limit, --classes, --per-class), decompresses the images only up to the last kept one. */
ot_status oti_dataset_from_idx(const char *images, const char *labels, const ot_data_options *options,
                              ot_dataset *d);
/* Marks in keep[] the samples the options keep and relabels labels[] to the classes' order;
 * *kept_count (may be NULL) says how many. Whether sample i is kept depends only on samples
 * 0..i. labels may be NULL when the options filter by limit only. */
ot_status oti_dataset_select(int64_t *labels, int64_t n, const ot_data_options *options, unsigned char *keep,
                             int64_t *kept_count);
/* Every float array of d (samples, further inputs, targets) must be finite: a NaN pixel
 * would otherwise train silently (ReLU and max pooling swallow it). Errors name `source`, the
 * array and the first sample. */
ot_status oti_dataset_check_finite(const ot_dataset *d, const char *source);
ot_status oti_dataset_from_csv(const char *path, ot_dataset *d);
/* Which arrays of an npz file a dataset reads: x, y, and per further model input the array
 * that feeds it. */
typedef struct oti_npz_names {
    const char *x, *y;
    int n_inputs;
    const char *input[OT_DATASET_MAX_ARRAYS], *array[OT_DATASET_MAX_ARRAYS];
} oti_npz_names;
ot_status oti_dataset_from_npz(const ot_context *ctx, const char *path, const oti_npz_names *names, ot_dataset *d);
/* segmentation:IMAGES,MASKS (segmentation.c). */
ot_status oti_dataset_from_segmentation(const char *images, const char *masks, const ot_data_options *options,
                                        ot_dataset *d);
ot_status oti_dataset_from_images(const char *dir, const ot_data_options *options, ot_dataset *d);

#endif
