/* segmentation:IMAGES,MASKS datasets: every PNG/JPEG in IMAGES with the PNG of the same name
 * (extension aside) in MASKS, whose gray values are class numbers (255: ignored, as VOC marks
 * borders; it becomes -100, the default ignore index). Images are resized to the model input
 * (bilinear), masks to the same size by nearest neighbour, so labels stay classes. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "image_internal.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"

#define MASK_IGNORED 255
#define IGNORE_INDEX (-100)

/* The mask's pixels, nearest-neighbour resized to (height, width), as labels. */
static void mask_to_labels(int64_t *out, const ot_image *mask, int64_t height, int64_t width) {
    for (int64_t y = 0; y < height; y++) {
        int64_t sy = (int64_t)((y + 0.5) * (double)mask->height / (double)height);
        if (sy >= mask->height) sy = mask->height - 1;
        for (int64_t x = 0; x < width; x++) {
            int64_t sx = (int64_t)((x + 0.5) * (double)mask->width / (double)width);
            if (sx >= mask->width) sx = mask->width - 1;
            unsigned char v = mask->pixels[(sy * mask->width + sx) * mask->channels];
            out[y * width + x] = v == MASK_IGNORED ? IGNORE_INDEX : v;
        }
    }
}

/* MASKS/<stem>.png for IMAGES/<stem>.<ext>; NULL when out of memory. */
static char *mask_path(const char *masks, const char *file) {
    const char *dot = strrchr(file, '.');
    size_t stem = dot ? (size_t)(dot - file) : strlen(file);
    return oti_asprintf("%s/%.*s.png", masks, (int)stem, file);
}

/* Decodes one image and its mask into sample i of x and labels. */
static ot_status load_pair(const ot_data_options *o, const char *image_path, const char *mask_file, float *x,
                           int64_t *labels) {
    ot_image image, mask = {0};
    OT_TRY(oti_image_decode(o->context, image_path, &image));
    ot_status status = oti_image_decode(o->context, mask_file, &mask);
    if (status == OT_OK && (mask.width != image.width || mask.height != image.height))
        status = oti_fail(OT_ERR_INVALID, "segmentation: mask %s is %lld x %lld pixels, its image %s %lld x %lld",
                         mask_file, (long long)mask.width, (long long)mask.height, image_path,
                         (long long)image.width, (long long)image.height);
    if (status == OT_OK) {
        oti_image_to_chw(x, &image, (int)o->image_channels, o->image_height, o->image_width);
        mask_to_labels(labels, &mask, o->image_height, o->image_width);
    }
    oti_image_free(&image);
    oti_image_free(&mask);
    return status;
}

ot_status oti_dataset_from_segmentation(const char *images, const char *masks, const ot_data_options *o,
                                        ot_dataset *d) {
    if (!o || o->image_height <= 0 || o->image_width <= 0 || (o->image_channels != 1 && o->image_channels != 3))
        return oti_fail(OT_ERR_INVALID, "segmentation:%s: the model input must be N x C x H x W with C 1 or 3 "
                       "to size the images", images);
    char **files;
    int n_files;
    OT_TRY(oti_image_list(images, 0, &files, &n_files));
    if (!n_files) return oti_fail(OT_ERR_IO, "segmentation:%s: no PNG or JPEG files", images);
    int64_t plane = o->image_height * o->image_width, sample = o->image_channels * plane;
    float *x = oti_malloc(sizeof(float) * (size_t)(n_files * sample));
    int64_t *labels = oti_malloc(sizeof(int64_t) * (size_t)(n_files * plane));
    char *identity = oti_asprintf("segmentation|%s|%s|%lldx%lldx%lld", images, masks, (long long)o->image_channels,
                                  (long long)o->image_height, (long long)o->image_width);
    ot_status status = x && labels && identity ? OT_OK : OT_ERR_MEMORY;
    for (int i = 0; i < n_files && status == OT_OK; i++) {
        char *image_path = oti_asprintf("%s/%s", images, files[i]), *mask_file = mask_path(masks, files[i]);
        status = image_path && mask_file ? OT_OK : OT_ERR_MEMORY;
        if (status == OT_OK) status = load_pair(o, image_path, mask_file, x + i * sample, labels + i * plane);
        if (status == OT_OK) status = oti_identity_add_file(&identity, image_path);
        if (status == OT_OK) status = oti_identity_add_file(&identity, mask_file);
        free(image_path);
        free(mask_file);
    }
    oti_image_list_free(files, n_files);
    if (status == OT_OK) status = oti_images_normalize(x, n_files, o->image_channels, plane, o, &identity);
    if (status != OT_OK) {
        free(x);
        free(labels);
        free(identity);
        return status;
    }
    d->n = n_files;
    d->sample_ndim = 3;
    d->sample_dims[0] = o->image_channels;
    d->sample_dims[1] = o->image_height;
    d->sample_dims[2] = o->image_width;
    d->sample_size = sample;
    d->dtype = OT_FLOAT;
    d->x = x;
    d->labels = labels;
    d->label_size = plane;
    d->label_ndim = 2;
    d->label_dims[0] = o->image_height;
    d->label_dims[1] = o->image_width;
    d->identity = identity;
    return OT_OK;
}
