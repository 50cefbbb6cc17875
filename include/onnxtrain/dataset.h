/* Datasets held in memory: samples (float32, or int64 token ids), integer class labels per
 * sample or per token (or float targets), and further inputs' arrays (attention masks).
 *
 * Data specs name where samples come from:
 *   fashion-mnist[:train|test]   Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
 *   idx:IMAGES,LABELS            IDX files, gzip or raw
 *   npz:FILE[:x=NAME,y=NAME,INPUT=NAME...]
 *                                arrays x and y (renamed with x=/y=); INPUT=NAME feeds the
 *                                array NAME to the model input INPUT (an attention mask).
 *                                Integer x stays integer (token ids); integer y of shape
 *                                (N) or (N, T) are class labels, per sample or per token.
 *   csv:FILE                     label in the first column, features after
 *   images:DIR                   one subfolder per class, PNG/JPEG (see images.c)
 *   segmentation:IMAGES,MASKS    images and same-named PNG masks of class numbers (255:
 *                                ignored, -100), labels (N, H, W) (see segmentation.c)
 * Image bytes become float32 in [0,1], shaped N x 1 x H x W (N x C x H x W for images:). */
#ifndef ONNXTRAIN_DATASET_H
#define ONNXTRAIN_DATASET_H

#include "onnxtrain/context.h"
#include "onnxtrain/rng.h"
#include "onnxtrain/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A further per-sample array that feeds a model input other than the trained one: an
 * attention mask next to token ids. */
typedef struct ot_dataset_array {
    char *name;      /* where it comes from (the npz array) */
    char *input;     /* the model input it feeds */
    ot_dtype dtype;  /* float32, int64 or bool */
    int sample_ndim;
    int64_t sample_dims[OT_MAX_DIMS];
    int64_t sample_size; /* elements per sample */
    void *data;      /* (n, sample_size) */
} ot_dataset_array;

#define OT_DATASET_MAX_ARRAYS 8

typedef struct ot_dataset {
    int64_t n;                        /* samples */
    int sample_ndim;                  /* shape of one sample, e.g. 1 x 28 x 28 */
    int64_t sample_dims[OT_MAX_DIMS];
    int64_t sample_size;              /* elements per sample */
    ot_dtype dtype;                   /* of x: float32, int64 (token ids) or bool */
    void *x;                          /* (n, sample_size) */
    char *x_name;                     /* the array x came from, for messages; NULL: "x" */
    unsigned char *bytes;             /* while loading image bytes: (n, sample_size) pixels,
                                         converted to x after filtering (so 60000 images
                                         filtered to 500 convert only 500) */
    int64_t *labels;                  /* (n, label_size) class labels, or NULL */
    int64_t label_size;               /* labels per sample: 1, or T for per-token labels */
    int label_ndim;                   /* shape of one sample's labels: () or (T) or (H, W) */
    int64_t label_dims[OT_MAX_DIMS];
    float *targets;                   /* (n, target_size) regression/bce targets, or NULL */
    char *y_name;                     /* the array targets came from, for messages; NULL: "y" */
    int64_t target_size;
    int64_t n_classes;                /* max label + 1 */
    int n_arrays;                     /* further inputs' arrays */
    ot_dataset_array arrays[OT_DATASET_MAX_ARRAYS];
    char *identity;                   /* files and their sizes/mtimes: part of cache keys */
    char **class_names;               /* images: folder names; NULL otherwise */
} ot_dataset;

/* Options applied while loading (and part of the identity). */
typedef struct ot_data_options {
    /* Threads (converting pixels) and memory limit (NULL: one thread, no limit). */
    ot_context *context;
    int64_t limit;          /* keep the first N samples (after class filtering); 0: all */
    const int64_t *classes; /* keep only these labels, relabelled 0..n_classes-1 in this order */
    int n_classes;
    int64_t per_class;      /* keep the first N samples of each class; 0: all */
    /* images: target size and channels (from the model input), normalisation */
    int64_t image_channels, image_height, image_width;
    const float *mean, *std; /* per channel, or NULL */
    int n_mean, n_std;
} ot_data_options;

OT_API ot_status ot_dataset_load(const char *spec, const ot_data_options *options, ot_dataset **out);
OT_API void ot_dataset_free(ot_dataset *d);

/* A dataset from arrays in memory (copied): n samples of sample_ndim dims each in x
 * (n * prod(sample_dims) floats) with class labels (n) or float targets (n * target_size;
 * labels NULL), or neither (labels and targets NULL: inference data). `name` identifies the
 * data in cache keys: change it when the arrays change. */
OT_API ot_status ot_dataset_from_arrays(const char *name, int64_t n, int sample_ndim,
                                        const int64_t *sample_dims, const float *x,
                                        const int64_t *labels, const float *targets,
                                        int64_t target_size, ot_dataset **out);

/* Reshapes samples to the model input's per-sample shape when the element count matches;
 * `input` names the model input in the error. */
OT_API ot_status ot_dataset_reshape(ot_dataset *d, int ndim, const int64_t *dims, const char *input);

/* Splits off the last fraction of samples (after an optional shuffle with rng) as a
 * validation set. */
OT_API ot_status ot_dataset_split(ot_dataset *d, double fraction, ot_rng *shuffle, ot_dataset **val);

#ifdef __cplusplus
}
#endif
#endif
