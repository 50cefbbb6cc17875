/* Gathering a batch from the training source in the epoch's order, with on-the-fly image
 * augmentation (flip, shift, crop-and-resize, brightness) drawn from the run's generator. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "trainer_internal.h"

/* Horizontal flip of each channel: x (C, H, W). */
static void flip(float *x, int64_t c, int64_t h, int64_t w) {
    for (int64_t k = 0; k < c * h; k++) {
        float *row = x + k * w;
        for (int64_t i = 0, j = w - 1; i < j; i++, j--) {
            float tmp = row[i];
            row[i] = row[j];
            row[j] = tmp;
        }
    }
}

/* Translates by (dy, dx), filling uncovered pixels with 0: x (C, H, W), scratch the same. */
static void shift(float *x, float *scratch, int64_t c, int64_t h, int64_t w, int64_t dy, int64_t dx) {
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                int64_t si = i - dy, sj = j - dx;
                scratch[(k * h + i) * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? x[(k * h + si) * w + sj] : 0.0f;
            }
    memcpy(x, scratch, sizeof(float) * (size_t)(c * h * w));
}

/* Takes a (h - n) x (w - n) window at (top, left) and resizes it back to h x w (bilinear). */
static void crop_resize(float *x, float *scratch, int64_t c, int64_t h, int64_t w, int64_t n,
                        int64_t top, int64_t left) {
    double sy = (double)(h - n) / h, sx = (double)(w - n) / w;
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < h; i++) {
            double fy = fmin(fmax((i + 0.5) * sy - 0.5, 0), h - n - 1);
            int64_t y0 = (int64_t)fy, y1 = OT_MIN(y0 + 1, h - n - 1);
            double wy = fy - y0;
            for (int64_t j = 0; j < w; j++) {
                double fx = fmin(fmax((j + 0.5) * sx - 0.5, 0), w - n - 1);
                int64_t x0 = (int64_t)fx, x1 = OT_MIN(x0 + 1, w - n - 1);
                double wx = fx - x0;
                const float *plane = x + k * h * w;
#define AT(r, q) plane[(top + (r)) * w + left + (q)]
                double v = (AT(y0, x0) * (1 - wx) + AT(y0, x1) * wx) * (1 - wy) + (AT(y1, x0) * (1 - wx) + AT(y1, x1) * wx) * wy;
#undef AT
                scratch[(k * h + i) * w + j] = (float)v;
            }
        }
    memcpy(x, scratch, sizeof(float) * (size_t)(c * h * w));
}

/* Per-pixel labels (segmentation) follow their image through the same flips, shifts and crops:
 * labels (h, w); uncovered pixels are ignored (-100), crops resize by nearest neighbour. */
static void flip_labels(int64_t *y, int64_t h, int64_t w) {
    for (int64_t r = 0; r < h; r++)
        for (int64_t i = 0, j = w - 1; i < j; i++, j--) {
            int64_t tmp = y[r * w + i];
            y[r * w + i] = y[r * w + j];
            y[r * w + j] = tmp;
        }
}

static void shift_labels(int64_t *y, int64_t *scratch, int64_t h, int64_t w, int64_t dy, int64_t dx) {
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            int64_t si = i - dy, sj = j - dx;
            scratch[i * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? y[si * w + sj] : -100;
        }
    memcpy(y, scratch, sizeof(int64_t) * (size_t)(h * w));
}

static void crop_resize_labels(int64_t *y, int64_t *scratch, int64_t h, int64_t w, int64_t n, int64_t top,
                               int64_t left) {
    for (int64_t i = 0; i < h; i++) {
        int64_t si = OT_MIN((int64_t)((i + 0.5) * (double)(h - n) / (double)h), h - n - 1);
        for (int64_t j = 0; j < w; j++) {
            int64_t sj = OT_MIN((int64_t)((j + 0.5) * (double)(w - n) / (double)w), w - n - 1);
            scratch[i * w + j] = y[(top + si) * w + left + sj];
        }
    }
    memcpy(y, scratch, sizeof(int64_t) * (size_t)(h * w));
}

/* x (C, H, W) and, for per-pixel labels, y (H, W) (else NULL) get the same random transform. */
static void augment(trainer *t, float *x, float *scratch, int64_t *y, int64_t *label_scratch) {
    const ot_train_config *c = t->config;
    const ot_dataset *d = t->train;
    int64_t ch = d->sample_ndim == 3 ? d->sample_dims[0] : 1;
    int64_t h = d->sample_dims[d->sample_ndim - 2], w = d->sample_dims[d->sample_ndim - 1];
    if (c->augment_flip && ot_rng_uniform(&t->rng) < 0.5f) {
        flip(x, ch, h, w);
        if (y) flip_labels(y, h, w);
    }
    if (c->augment_shift) {
        int64_t range = 2 * c->augment_shift + 1;
        int64_t dy = (int64_t)ot_rng_below(&t->rng, (uint32_t)range) - c->augment_shift;
        int64_t dx = (int64_t)ot_rng_below(&t->rng, (uint32_t)range) - c->augment_shift;
        shift(x, scratch, ch, h, w, dy, dx);
        if (y) shift_labels(y, label_scratch, h, w, dy, dx);
    }
    if (c->augment_crop && c->augment_crop < OT_MIN(h, w)) {
        int64_t n = c->augment_crop;
        int64_t top = ot_rng_below(&t->rng, (uint32_t)(n + 1)), left = ot_rng_below(&t->rng, (uint32_t)(n + 1));
        crop_resize(x, scratch, ch, h, w, n, top, left);
        if (y) crop_resize_labels(y, label_scratch, h, w, n, top, left);
    }
    if (c->augment_brightness > 0) {
        float delta = (float)(c->augment_brightness * (2.0 * ot_rng_uniform(&t->rng) - 1.0));
        for (int64_t i = 0; i < ch * h * w; i++) x[i] += delta;
    }
}

/* Whether the training labels are per pixel of the images (segmentation). */
static int labels_per_pixel(const trainer *t) {
    const ot_dataset *d = t->train;
    return d->labels && d->label_ndim == 2 && d->sample_ndim >= 2 &&
           d->label_dims[0] == d->sample_dims[d->sample_ndim - 2] &&
           d->label_dims[1] == d->sample_dims[d->sample_ndim - 1];
}

void oti_gather_batch(trainer *t, const int64_t *order, int64_t size) {
    const ot_sample_source *s = &t->train_source;
    const ot_train_config *c = t->config;
    int augmenting = !t->caching && (c->augment_flip || c->augment_shift || c->augment_crop || c->augment_brightness > 0) &&
                     t->train->sample_ndim >= 2 && t->train->dtype == OT_FLOAT;
    for (int k = 0; k < s->count; k++) {
        size_t row = s->row_bytes[k];
        for (int64_t i = 0; i < size; i++)
            memcpy((char *)t->batch_feeds[k] + i * row, (const char *)s->arrays[k] + order[i] * row, row);
    }
    int64_t label_size = OT_MAX(s->label_size, 1);
    for (int64_t i = 0; i < size; i++) {
        if (t->batch_labels)
            memcpy(t->batch_labels + i * label_size, s->labels + order[i] * label_size, sizeof(int64_t) * (size_t)label_size);
        if (t->batch_targets)
            memcpy(t->batch_targets + i * s->target_size, s->targets + order[i] * s->target_size,
                   sizeof(float) * (size_t)s->target_size);
    }
    int pixels = augmenting && labels_per_pixel(t);
    if (augmenting)
        for (int64_t i = 0; i < size; i++)
            augment(t, (float *)t->batch_feeds[0] + i * s->per_sample[0], t->augment_scratch,
                    pixels ? t->batch_labels + i * label_size : NULL, t->label_scratch);
}
