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

struct ot_data_options;
/* Sorted names of the entries of dir that are folders (want_dirs) or PNG/JPEG files; none for
 * a folder that cannot be read. */
ot_status oti_image_list(const char *dir, int want_dirs, char ***out, int *count);
void oti_image_list_free(char **names, int count);
/* Appends "|path:size:mtime" to *identity (cache keys change with the file). */
ot_status oti_identity_add_file(char **identity, const char *path);
/* Normalises n samples (channels, plane) with the options' --mean/--std and adds them to
 * *identity. */
ot_status oti_images_normalize(float *x, int64_t n, int64_t channels, int64_t plane,
                               const struct ot_data_options *o, char **identity);

#endif
