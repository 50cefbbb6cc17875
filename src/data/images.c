/* images:DIR datasets: one subfolder per class (sorted by name), PNG and JPEG files inside,
 * resized to the model's input size and channels, normalised with --mean/--std. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>

#include "core/util.h"
#include "image_internal.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void oti_image_list_free(char **names, int count) {
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
}

ot_status oti_image_list(const char *dir, int want_dirs, char ***out, int *count) {
    DIR *d = opendir(dir);
    *count = 0;
    *out = NULL;
    if (!d) return OT_OK;
    char **names = NULL;
    int capacity = 0;
    struct dirent *e;
    ot_status status = OT_OK;
    while (status == OT_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = oti_asprintf("%s/%s", dir, e->d_name);
        if (!path) {
            status = OT_ERR_MEMORY;
            break;
        }
        struct stat st;
        int ok = stat(path, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(path);
        if (!ok) continue;
        if (!want_dirs) {
            const char *dot = strrchr(e->d_name, '.');
            if (!dot || !(strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                          strcasecmp(dot, ".jpeg") == 0))
                continue;
        }
        status = oti_grow_array((void **)&names, &capacity, *count + 1, sizeof(char *));
        if (status == OT_OK && !(names[*count] = oti_strdup(e->d_name))) status = OT_ERR_MEMORY;
        if (status == OT_OK) (*count)++;
    }
    closedir(d);
    if (status != OT_OK) {
        oti_image_list_free(names, *count);
        *count = 0;
        return status;
    }
    if (*count) qsort(names, (size_t)*count, sizeof(char *), compare_names);
    *out = names;
    return OT_OK;
}

ot_status oti_identity_add_file(char **identity, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return OT_OK;
    char *next = oti_asprintf("%s|%s:%lld:%lld", *identity, path, (long long)st.st_size, (long long)st.st_mtim.tv_sec);
    OT_ALLOC_CHECK(next);
    free(*identity);
    *identity = next;
    return OT_OK;
}

ot_status oti_images_normalize(float *x, int64_t n, int64_t channels, int64_t plane, const ot_data_options *o,
                               char **identity) {
    /* Per channel: (x - mean) / std. */
    for (int64_t c = 0; c < channels; c++) {
        float mean = o->n_mean ? o->mean[o->n_mean == 1 ? 0 : c] : 0.0f;
        float std = o->n_std ? o->std[o->n_std == 1 ? 0 : c] : 1.0f;
        for (int64_t i = 0; i < n; i++) {
            float *p = x + (i * channels + c) * plane;
            for (int64_t j = 0; j < plane; j++) p[j] = (p[j] - mean) / std;
        }
    }
    for (int i = 0; i < o->n_mean + o->n_std; i++) {
        char *next = oti_asprintf("%s|%s=%.9g", *identity, i < o->n_mean ? "mean" : "std",
                                  i < o->n_mean ? o->mean[i] : o->std[i - o->n_mean]);
        OT_ALLOC_CHECK(next);
        free(*identity);
        *identity = next;
    }
    return OT_OK;
}

void oti_image_to_chw(float *out, const ot_image *image, int channels, int64_t height, int64_t width) {
    double scale_y = (double)image->height / height, scale_x = (double)image->width / width;
    for (int64_t y = 0; y < height; y++) {
        double sy = (y + 0.5) * scale_y - 0.5;
        if (sy < 0) sy = 0;
        int64_t y0 = (int64_t)sy, y1 = y0 + 1 < image->height ? y0 + 1 : y0;
        double fy = sy - y0;
        for (int64_t x = 0; x < width; x++) {
            double sx = (x + 0.5) * scale_x - 0.5;
            if (sx < 0) sx = 0;
            int64_t x0 = (int64_t)sx, x1 = x0 + 1 < image->width ? x0 + 1 : x0;
            double fx = sx - x0;
            double rgb[3];
            for (int c = 0; c < image->channels; c++) {
                const unsigned char *p = image->pixels;
                int ch = image->channels;
                double top = p[(y0 * image->width + x0) * ch + c] * (1 - fx) + p[(y0 * image->width + x1) * ch + c] * fx;
                double bottom = p[(y1 * image->width + x0) * ch + c] * (1 - fx) + p[(y1 * image->width + x1) * ch + c] * fx;
                rgb[c] = (top * (1 - fy) + bottom * fy) / 255.0;
            }
            if (image->channels == 1) rgb[1] = rgb[2] = rgb[0];
            for (int c = 0; c < channels; c++) {
                double v = channels == 1 && image->channels == 3
                               ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
                               : rgb[c];
                out[(c * height + y) * width + x] = (float)v;
            }
        }
    }
}

ot_status oti_dataset_from_images(const char *dir, const ot_data_options *o, ot_dataset *d) {
    if (!o || o->image_height <= 0 || o->image_width <= 0 || (o->image_channels != 1 && o->image_channels != 3))
        return oti_fail(OT_ERR_INVALID, "images:%s: the model input must be N x C x H x W with C 1 or 3 "
                       "to size the images", dir);
    int n_classes;
    char **classes;
    OT_TRY(oti_image_list(dir, 1, &classes, &n_classes));
    if (!n_classes)
        return oti_fail(OT_ERR_IO, "images:%s: no class subfolders (expected DIR/<class>/*.png|jpg)", dir);
    int64_t channels = o->image_channels, height = o->image_height, width = o->image_width;
    int64_t sample = channels * height * width;
    int64_t capacity = 256, n = 0;
    float *x = oti_malloc(sizeof(float) * (size_t)(capacity * sample));
    int64_t *labels = oti_malloc(sizeof(int64_t) * (size_t)capacity);
    char *identity = oti_asprintf("images|%s|%lldx%lldx%lld", dir, (long long)channels, (long long)height, (long long)width);
    ot_status status = x && labels && identity ? OT_OK : OT_ERR_MEMORY;
    for (int c = 0; c < n_classes && status == OT_OK; c++) {
        char *class_dir = oti_asprintf("%s/%s", dir, classes[c]);
        int n_files = 0;
        char **files = NULL;
        status = class_dir ? oti_image_list(class_dir, 0, &files, &n_files) : OT_ERR_MEMORY;
        for (int i = 0; i < n_files && status == OT_OK; i++) {
            char *path = oti_asprintf("%s/%s", class_dir, files[i]);
            if (!path) {
                status = OT_ERR_MEMORY;
                break;
            }
            ot_image image;
            status = oti_image_decode(o->context, path, &image);
            if (status == OT_OK && n == capacity) {
                void *grown = oti_realloc(x, sizeof(float) * (size_t)(2 * capacity * sample));
                if (grown) x = grown;
                void *grown_labels = grown ? oti_realloc(labels, sizeof(int64_t) * (size_t)(2 * capacity)) : NULL;
                if (grown_labels) labels = grown_labels;
                if (grown && grown_labels) capacity *= 2;
                else status = OT_ERR_MEMORY;
                if (status != OT_OK) oti_image_free(&image);
            }
            if (status == OT_OK) {
                oti_image_to_chw(x + n * sample, &image, (int)channels, height, width);
                labels[n++] = c;
                oti_image_free(&image);
                status = oti_identity_add_file(&identity, path);
            }
            free(path);
        }
        oti_image_list_free(files, n_files);
        free(class_dir);
    }
    if (status == OT_OK && n == 0) status = oti_fail(OT_ERR_IO, "images:%s: no PNG or JPEG files found", dir);
    if (status == OT_OK) status = oti_images_normalize(x, n, channels, height * width, o, &identity);
    if (status != OT_OK) {
        free(x);
        free(labels);
        free(identity);
        for (int c = 0; c < n_classes; c++) free(classes[c]);
        free(classes);
        return status;
    }
    d->n = n;
    d->sample_ndim = 3;
    d->sample_dims[0] = channels;
    d->sample_dims[1] = height;
    d->sample_dims[2] = width;
    d->sample_size = sample;
    d->x = x;
    d->labels = labels;
    d->n_classes = n_classes;
    d->class_names = classes;
    d->identity = identity;
    return OT_OK;
}
