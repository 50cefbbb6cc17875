/* Decoded images and resizing, shared by the images: loader and its tests. */
#ifndef OT_IMAGE_INTERNAL_H
#define OT_IMAGE_INTERNAL_H

#include <stdint.h>

#include "onnxtrain/context.h"
#include "onnxtrain/status.h"

typedef struct ot_image {
    int64_t width, height;
    int channels;          /* 1 or 3 */
    unsigned char *pixels; /* (height, width, channels) */
} ot_image;

ot_status oti_image_decode(const ot_context *ctx, const char *path, ot_image *out);
void oti_image_free(ot_image *image);

/* Bilinear resize (half-pixel centres, like PIL/torchvision without antialias) and channel
 * conversion (gray <-> RGB by ITU-R 601 luma / replication) into floats in [0,1].
 * out: (channels, height, width). */
void oti_image_to_chw(float *out, const ot_image *image, int channels, int64_t height, int64_t width);

#endif
