/* Cairo surfaces that end up in a file written atomically: SVG (vector, for browsers) or PNG,
 * chosen by the path's extension. */
#ifndef OT_VIZ_SURFACE_H
#define OT_VIZ_SURFACE_H

#include <cairo.h>
#include <cairo-svg.h>

#include "core/file_io.h"

typedef struct oti_picture {
    cairo_surface_t *surface;
    cairo_t *cr;
    ot_atomic_file file;
    int png;
} oti_picture;

/* Whether path ends in .svg or .png (case-insensitive); *png says which. */
int oti_picture_format(const char *path, int *png);
/* A width x height (points, = pixels in PNG) picture for path (.svg or .png), white. */
ot_status oti_picture_open(oti_picture *p, const char *path, double width, double height);
/* Finishes the drawing and renames the file into place; frees p in every case. */
ot_status oti_picture_commit(oti_picture *p);

#endif
