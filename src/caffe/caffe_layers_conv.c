/* Caffe's weighted and windowed layers: Convolution -> Conv, Deconvolution -> ConvTranspose,
 * InnerProduct -> Flatten + Gemm, Pooling -> MaxPool / AveragePool / Global*Pool. Weight
 * blobs keep Caffe's layouts, which are ONNX's: (O, I/group, kH, kW) for Conv, (I, O/group,
 * kH, kW) for ConvTranspose, (O, K) for InnerProduct ((K, O) with transpose). */
#include <string.h>

#include "caffe_internal.h"
#include "core/attr_build.h"
#include "core/util.h"

typedef struct conv_geometry {
    int64_t kernel[2], stride[2], pad[2], dilation[2];
} conv_geometry;

static ot_status read_geometry(const caffe_layer *l, const ot_prototxt_message *p,
                               int64_t default_kernel, conv_geometry *g) {
    OT_TRY(
        oti_caffe_spatial(l, p, "kernel_size", "kernel_h", "kernel_w", default_kernel, g->kernel));
    OT_TRY(oti_caffe_spatial(l, p, "stride", "stride_h", "stride_w", 1, g->stride));
    OT_TRY(oti_caffe_spatial(l, p, "pad", "pad_h", "pad_w", 0, g->pad));
    OT_TRY(oti_caffe_spatial(l, p, "dilation", "dilation_h", "dilation_w", 1, g->dilation));
    for (int d = 0; d < 2; d++) {
        if (g->kernel[d] < 1 || g->kernel[d] > 1 << 16)
            return oti_caffe_bad_field(l, "kernel_size", "must be 1 or more");
        if (g->stride[d] < 1 || g->stride[d] > 1 << 16)
            return oti_caffe_bad_field(l, "stride", "must be 1 or more");
        if (g->dilation[d] < 1 || g->dilation[d] > 1 << 16)
            return oti_caffe_bad_field(l, "dilation", "must be 1 or more");
        if (g->pad[d] < 0 || g->pad[d] > 1 << 16)
            return oti_caffe_bad_field(l, "pad", "must be 0 or more");
    }
    return OT_OK;
}

static ot_status convolution(caffe_builder *b, const caffe_layer *l, int transposed) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, "convolution_param", &p));
    int64_t num_output, group, axis;
    int bias_term;
    conv_geometry g;
    OT_TRY(oti_prototxt_get_int(p, "num_output", 0, l->what, &num_output));
    OT_TRY(oti_prototxt_get_int(p, "group", 1, l->what, &group));
    OT_TRY(oti_prototxt_get_int(p, "axis", 1, l->what, &axis));
    OT_TRY(oti_prototxt_get_bool(p, "bias_term", 1, l->what, &bias_term));
    OT_TRY(read_geometry(l, p, 0, &g));
    if (num_output < 1 || num_output > 1 << 24)
        return oti_caffe_bad_field(l, "num_output", "must be 1 or more");
    if (group < 1 || num_output % group)
        return oti_caffe_bad_field(l, "group", "must divide num_output");
    if (axis != 1) return oti_caffe_bad_field(l, "axis", "other than 1 is not supported");
    /* Conv: (O, I/group, kH, kW); ConvTranspose: (I, O/group, kH, kW). */
    int64_t wdims[4] = {transposed ? -1 : num_output, transposed ? num_output / group : -1,
                        g.kernel[0], g.kernel[1]};
    int64_t bdims[1] = {num_output};
    const char *inputs[3] = {l->bottoms[0]};
    OT_TRY(oti_caffe_blob(b, l, 0, "weight", 4, wdims, &inputs[1]));
    if (bias_term) OT_TRY(oti_caffe_blob(b, l, 1, "bias", 1, bdims, &inputs[2]));
    int64_t pads[4] = {g.pad[0], g.pad[1], g.pad[0], g.pad[1]};
    ot_attr attrs[5] = {oti_attr_ints("kernel_shape", 2, g.kernel),
                        oti_attr_ints("strides", 2, g.stride), oti_attr_ints("pads", 4, pads),
                        oti_attr_ints("dilations", 2, g.dilation), oti_attr_int("group", group)};
    return oti_caffe_node(b, l, transposed ? "ConvTranspose" : "Conv", NULL, bias_term ? 3 : 2,
                          inputs, 5, attrs, 0, NULL);
}

static ot_status convert_convolution(caffe_builder *b, const caffe_layer *l) {
    return convolution(b, l, 0);
}
static ot_status convert_deconvolution(caffe_builder *b, const caffe_layer *l) {
    return convolution(b, l, 1);
}

/* y = flatten(x, axis) W^T + b: Caffe's InnerProduct flattens everything from axis on. */
static ot_status convert_inner_product(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, "inner_product_param", &p));
    int64_t num_output, axis;
    int bias_term, transpose;
    OT_TRY(oti_prototxt_get_int(p, "num_output", 0, l->what, &num_output));
    OT_TRY(oti_prototxt_get_int(p, "axis", 1, l->what, &axis));
    OT_TRY(oti_prototxt_get_bool(p, "bias_term", 1, l->what, &bias_term));
    OT_TRY(oti_prototxt_get_bool(p, "transpose", 0, l->what, &transpose));
    if (num_output < 1 || num_output > 1 << 24)
        return oti_caffe_bad_field(l, "num_output", "must be 1 or more");
    if (axis != 1) return oti_caffe_bad_field(l, "axis", "other than 1 is not supported");
    int64_t wdims[2] = {transpose ? -1 : num_output, transpose ? num_output : -1},
            bdims[1] = {num_output};
    const char *inputs[3];
    ot_attr flatten_axis = oti_attr_int("axis", 1);
    OT_TRY(oti_caffe_node(b, l, "Flatten", "flatten", 1, l->bottoms, 1, &flatten_axis, -1,
                          &inputs[0]));
    OT_TRY(oti_caffe_blob(b, l, 0, "weight", 2, wdims, &inputs[1]));
    if (bias_term) OT_TRY(oti_caffe_blob(b, l, 1, "bias", 1, bdims, &inputs[2]));
    ot_attr trans_b = oti_attr_int("transB", !transpose);
    return oti_caffe_node(b, l, "Gemm", NULL, bias_term ? 3 : 2, inputs, 1, &trans_b, 0, NULL);
}

/* Caffe sizes pooled outputs with ceil((in + 2 pad - kernel) / stride) + 1, dropping a last
 * window that starts in the bottom/right padding: ONNX's ceil_mode with the same rule. Its
 * AVE divides by the window clipped to the padded input (not to the input): ONNX's
 * count_include_pad=1, whose padded window is clipped the same way. */
static ot_status convert_pooling(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, "pooling_param", &p));
    const char *pool, *round_mode;
    int global;
    OT_TRY(oti_prototxt_get_enum(p, "pool", "MAX", l->what, &pool));
    OT_TRY(oti_prototxt_get_enum(p, "round_mode", "CEIL", l->what, &round_mode));
    OT_TRY(oti_prototxt_get_bool(p, "global_pooling", 0, l->what, &global));
    int max = !strcmp(pool, "MAX"), ceil = !strcmp(round_mode, "CEIL");
    if (!max && strcmp(pool, "AVE"))
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: pool %s is not supported (MAX and AVE are)",
                        l->what, pool);
    if (!ceil && strcmp(round_mode, "FLOOR"))
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: unknown round_mode %s (CEIL or FLOOR)", l->what,
                        round_mode);
    if (global)
        return oti_caffe_node(b, l, max ? "GlobalMaxPool" : "GlobalAveragePool", NULL, 1,
                              l->bottoms, 0, NULL, 0, NULL);
    conv_geometry g;
    OT_TRY(read_geometry(l, p, 0, &g));
    for (int d = 0; d < 2; d++)
        if (g.pad[d] >= g.kernel[d])
            return oti_caffe_bad_field(l, "pad", "must be smaller than the kernel");
    int64_t pads[4] = {g.pad[0], g.pad[1], g.pad[0], g.pad[1]};
    ot_attr attrs[4] = {oti_attr_ints("kernel_shape", 2, g.kernel),
                        oti_attr_ints("strides", 2, g.stride), oti_attr_ints("pads", 4, pads),
                        oti_attr_int("ceil_mode", ceil)};
    ot_attr with_pad[5] = {attrs[0], attrs[1], attrs[2], attrs[3],
                           oti_attr_int("count_include_pad", 1)};
    return oti_caffe_node(b, l, max ? "MaxPool" : "AveragePool", NULL, 1, l->bottoms, max ? 4 : 5,
                          max ? attrs : with_pad, 0, NULL);
}

const struct caffe_converter_row oti_caffe_conv_rows[] = {{"Convolution", convert_convolution},
                                                          {"Deconvolution", convert_deconvolution},
                                                          {"InnerProduct", convert_inner_product},
                                                          {"Pooling", convert_pooling},
                                                          {NULL, NULL}};
