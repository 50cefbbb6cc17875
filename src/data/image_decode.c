/* PNG (libpng) and JPEG (libjpeg) files -> 8-bit pixels, H x W x C with C = 1 or 3.
 * Palette, 16-bit and alpha PNGs are converted; CMYK JPEGs are refused. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <stdlib.h>

#include "core/util.h"
#include "image_internal.h"
#include "onnxtrain/tensor.h"
#include "core/context_internal.h"

#define IMAGE_MAX_PIXELS ((int64_t)1 << 28)

/* libpng reports through our status, not stderr: errors jump back to decode_png. */
static void png_error_quietly(png_structp png, png_const_charp message) {
    (void)message;
    png_longjmp(png, 1);
}
static void png_warning_quietly(png_structp png, png_const_charp message) { (void)png, (void)message; }

static ot_status decode_png(const ot_context *ctx, FILE *f, const char *path, ot_image *out) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_quietly, png_warning_quietly);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        return oti_fail(OT_ERR_MEMORY, "%s: out of memory starting the PNG decoder", path);
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return oti_fail(OT_ERR_FORMAT, "%s: corrupt PNG", path);
    }
    png_init_io(png, f);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if (!width || !height || (int64_t)width * height > IMAGE_MAX_PIXELS) {
        png_destroy_read_struct(&png, &info, NULL);
        return oti_fail(OT_ERR_FORMAT, "%s: bad PNG size %ux%u", path, width, height);
    }
    int color = png_get_color_type(png, info);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_alpha(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    if (channels != 1 && channels != 3) longjmp(png_jmpbuf(png), 1);
    if (oti_check_memory(ctx, (size_t)width * height * (size_t)channels, path) != OT_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return OT_ERR_MEMORY; /* the header alone asks for it: --max-memory decides */
    }
    pixels = oti_malloc((size_t)width * height * (size_t)channels);
    rows = oti_malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        return OT_ERR_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * width * (size_t)channels;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->pixels = pixels;
    return OT_OK;
}

typedef struct jpeg_error_jump {
    struct jpeg_error_mgr base;
    jmp_buf jump;
} jpeg_error_jump;

static void jpeg_error_exit(j_common_ptr info) { longjmp(((jpeg_error_jump *)info->err)->jump, 1); }
static void jpeg_quiet(j_common_ptr info, int level) { (void)info; (void)level; }

static ot_status decode_jpeg(const ot_context *ctx, FILE *f, const char *path, ot_image *out) {
    struct jpeg_decompress_struct info;
    jpeg_error_jump error;
    unsigned char *volatile pixels = NULL;
    info.err = jpeg_std_error(&error.base);
    error.base.error_exit = jpeg_error_exit;
    error.base.emit_message = jpeg_quiet;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        free(pixels);
        return oti_fail(OT_ERR_FORMAT, "%s: corrupt JPEG", path);
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, f);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: CMYK JPEGs are not supported", path);
    }
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    /* Sized from the header, before libjpeg allocates: a few hundred bytes can declare
     * 65535 x 65535, and a progressive file makes libjpeg hold every coefficient. */
    int64_t width = info.image_width, height = info.image_height;
    if (!width || !height || width * height > IMAGE_MAX_PIXELS) {
        jpeg_destroy_decompress(&info);
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: %lld x %lld pixels, over the %lld a decoded image "
                        "may have", path, (long long)width, (long long)height, (long long)IMAGE_MAX_PIXELS);
    }
    size_t coefficients = info.progressive_mode || info.buffered_image
                              ? (size_t)(width * height) * (size_t)info.num_components * sizeof(JCOEF)
                              : 0;
    size_t needed = (size_t)(width * height) * (info.num_components == 1 ? 1 : 3) + coefficients;
    if (oti_check_memory(ctx, needed, path) != OT_OK) {
        jpeg_destroy_decompress(&info);
        return OT_ERR_MEMORY;
    }
    /* And libjpeg keeps to it (beyond it, it would need a backing store it does not have,
     * and fails). */
    info.mem->max_memory_to_use = (long)(coefficients + ((size_t)64 << 20));
    jpeg_start_decompress(&info);
    int channels = info.output_components;
    if (info.output_width != width || info.output_height != height || (channels != 1 && channels != 3))
        longjmp(error.jump, 1);
    pixels = oti_malloc((size_t)(width * height * channels));
    if (!pixels) {
        jpeg_destroy_decompress(&info);
        return OT_ERR_MEMORY;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + (size_t)info.output_scanline * (size_t)(width * channels);
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->pixels = pixels;
    return OT_OK;
}

ot_status oti_image_decode(const ot_context *ctx, const char *path, ot_image *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return oti_fail(OT_ERR_IO, "%s: cannot open", path);
    unsigned char magic[8] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    rewind(f);
    ot_status status;
    if (got == 8 && !png_sig_cmp(magic, 0, 8)) status = decode_png(ctx, f, path, out);
    else if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) status = decode_jpeg(ctx, f, path, out);
    else status = oti_fail(OT_ERR_FORMAT, "%s: not a PNG or JPEG file", path);
    fclose(f);
    return status;
}

void oti_image_free(ot_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
