/* SVG and PNG pictures through cairo, streamed into a temporary file that is renamed into
 * place (core/file_io.h), so a failed or interrupted drawing never replaces a good picture. */
#include "surface.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int length) {
    FILE *f = closure;
    return fwrite(data, 1, length, f) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int oti_picture_format(const char *path, int *png) {
    size_t n = strlen(path);
    if (n < 4) return 0;
    *png = !strcasecmp(path + n - 4, ".png");
    return *png || !strcasecmp(path + n - 4, ".svg");
}

ot_status oti_picture_open(oti_picture *p, const char *path, double width, double height) {
    memset(p, 0, sizeof *p);
    if (!oti_picture_format(path, &p->png))
        return oti_fail(OT_ERR_INVALID, "%s: the picture's name should end in .svg or .png", path);
    OT_TRY(oti_atomic_open(&p->file, path));
    if (p->png) p->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
    else p->surface = cairo_svg_surface_create_for_stream(write_stream, p->file.stream, width, height);
    p->cr = cairo_create(p->surface);
    if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS) {
        ot_status status = oti_fail(OT_ERR_MEMORY, "%s: cannot make a %.0f x %.0f picture: %s", path, width, height,
                                    cairo_status_to_string(cairo_status(p->cr)));
        cairo_destroy(p->cr);
        cairo_surface_destroy(p->surface);
        oti_atomic_abort(&p->file);
        return status;
    }
    cairo_set_source_rgb(p->cr, 1, 1, 1);
    cairo_paint(p->cr);
    return OT_OK;
}

ot_status oti_picture_commit(oti_picture *p) {
    cairo_status_t drawn = cairo_status(p->cr);
    cairo_destroy(p->cr);
    cairo_surface_flush(p->surface);
    if (drawn == CAIRO_STATUS_SUCCESS && p->png)
        drawn = cairo_surface_write_to_png_stream(p->surface, write_stream, p->file.stream);
    cairo_surface_finish(p->surface); /* the SVG surface writes its document now */
    if (drawn == CAIRO_STATUS_SUCCESS) drawn = cairo_surface_status(p->surface);
    cairo_surface_destroy(p->surface);
    if (drawn != CAIRO_STATUS_SUCCESS) {
        ot_status status = oti_fail(OT_ERR_IO, "%s: cannot write the picture: %s", p->file.final_path,
                                    cairo_status_to_string(drawn));
        oti_atomic_abort(&p->file);
        return status;
    }
    return oti_atomic_commit(&p->file);
}
