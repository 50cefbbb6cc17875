/* Caffe's layers that combine, split or rearrange blobs: Concat, Eltwise (SUM with
 * coefficients, PROD, MAX), Flatten, Reshape, Split (aliases: no node), Slice and Crop
 * (ONNX Slice per top), Permute (Transpose) and ArgMax (ArgMax, then Cast to float, as Caffe
 * outputs indices as floats). */
#include <stdint.h>
#include <string.h>

#include "caffe_internal.h"
#include "core/attr_build.h"
#include "core/util.h"

static ot_status convert_concat(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, -1, 1));
    const ot_prototxt_message *p;
    int64_t axis, concat_dim;
    OT_TRY(oti_caffe_params(l, "concat_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "concat_dim", 1, l->what, &concat_dim));
    OT_TRY(oti_prototxt_get_int(p, "axis", concat_dim, l->what, &axis));
    ot_attr attr = oti_attr_int("axis", axis);
    return oti_caffe_node(b, l, "Concat", NULL, l->n_bottoms, l->bottoms, 1, &attr, 0, NULL);
}

/* SUM: Sum of bottoms (each times its coefficient, when given); PROD: Mul in turn; MAX: Max. */
static ot_status convert_eltwise(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, -1, 1));
    const ot_prototxt_message *p;
    const char *operation;
    OT_TRY(oti_caffe_params(l, "eltwise_param", &p));
    OT_TRY(oti_prototxt_get_enum(p, "operation", "SUM", l->what, &operation));
    int n_coeff = oti_prototxt_count(p, "coeff");
    if (!strcmp(operation, "MAX"))
        return oti_caffe_node(b, l, "Max", NULL, l->n_bottoms, l->bottoms, 0, NULL, 0, NULL);
    if (!strcmp(operation, "PROD")) {
        const char *inputs[2] = {l->bottoms[0]};
        if (l->n_bottoms == 1)
            return oti_caffe_node(b, l, "Identity", NULL, 1, inputs, 0, NULL, 0, NULL);
        for (int k = 1; k < l->n_bottoms; k++) {
            inputs[1] = l->bottoms[k];
            int last = k == l->n_bottoms - 1;
            OT_TRY(oti_caffe_node(b, l, "Mul", last ? NULL : "prod", 2, inputs, 0, NULL,
                                  last ? 0 : -1, &inputs[0]));
        }
        return OT_OK;
    }
    if (strcmp(operation, "SUM"))
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: unknown operation %s (SUM, PROD or MAX)", l->what,
                        operation);
    if (n_coeff && n_coeff != l->n_bottoms)
        return oti_fail(OT_ERR_FORMAT, "%s has %d coeff values for %d bottoms", l->what, n_coeff,
                        l->n_bottoms);
    const char *terms[CAFFE_MAX_TOPS];
    for (int k = 0; k < l->n_bottoms; k++) {
        double coeff = 1;
        terms[k] = l->bottoms[k];
        if (n_coeff) OT_TRY(oti_prototxt_float(oti_prototxt_find(p, "coeff", k), l->what, &coeff));
        if (coeff == 1) continue;
        float value = (float)coeff;
        const char *inputs[2] = {l->bottoms[k]};
        OT_TRY(oti_caffe_constant(b, l, "coeff", 0, NULL, &value, &inputs[1]));
        OT_TRY(oti_caffe_node(b, l, "Mul", "coeff", 2, inputs, 0, NULL, -1, &terms[k]));
    }
    return oti_caffe_node(b, l, "Sum", NULL, l->n_bottoms, terms, 0, NULL, 0, NULL);
}

static ot_status convert_flatten(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    int64_t axis, end_axis;
    OT_TRY(oti_caffe_params(l, "flatten_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "axis", 1, l->what, &axis));
    OT_TRY(oti_prototxt_get_int(p, "end_axis", -1, l->what, &end_axis));
    if (end_axis != -1) return oti_caffe_bad_field(l, "end_axis", "other than -1 is not supported");
    ot_attr attr = oti_attr_int("axis", axis);
    return oti_caffe_node(b, l, "Flatten", NULL, 1, l->bottoms, 1, &attr, 0, NULL);
}

/* Caffe's 0 (copy the dim) and -1 (infer it) mean what ONNX's Reshape makes of them. */
static ot_status convert_reshape(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p, *shape = NULL;
    int64_t axis, num_axes, dims[OT_MAX_DIMS];
    int ndim = 0;
    OT_TRY(oti_caffe_params(l, "reshape_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "axis", 0, l->what, &axis));
    OT_TRY(oti_prototxt_get_int(p, "num_axes", -1, l->what, &num_axes));
    OT_TRY(oti_prototxt_get_message(p, "shape", l->what, &shape));
    if (axis != 0 || num_axes != -1)
        return oti_caffe_bad_field(l, "axis/num_axes", "other than 0 and -1 are not supported");
    if (shape) OT_TRY(oti_caffe_shape_dims(shape, l->what, &ndim, dims));
    const char *inputs[2] = {l->bottoms[0]};
    OT_TRY(oti_caffe_int64_constant(b, l, "shape", ndim, dims, &inputs[1]));
    return oti_caffe_node(b, l, "Reshape", NULL, 2, inputs, 0, NULL, 0, NULL);
}

/* Every top is the bottom itself. */
static ot_status convert_split(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, -1));
    for (int k = 0; k < l->n_tops; k++) OT_TRY(oti_caffe_bind(b, l->tops[k], l->bottoms[0]));
    return OT_OK;
}

/* Top k = x[start_k : end_k] along axis, as a Slice node writing top k. */
static ot_status slice_top(caffe_builder *b, const caffe_layer *l, int k, int64_t axis,
                           int64_t n_axes, const int64_t *starts, const int64_t *ends,
                           const char *data) {
    const char *inputs[4] = {data};
    int64_t axes[OT_MAX_DIMS];
    for (int d = 0; d < n_axes; d++) axes[d] = axis + d;
    OT_TRY(oti_caffe_int64_constant(b, l, "starts", (int)n_axes, starts, &inputs[1]));
    OT_TRY(oti_caffe_int64_constant(b, l, "ends", (int)n_axes, ends, &inputs[2]));
    OT_TRY(oti_caffe_int64_constant(b, l, "axes", (int)n_axes, axes, &inputs[3]));
    char suffix[32];
    snprintf(suffix, sizeof suffix, "slice%d", k);
    return oti_caffe_node(b, l, "Slice", l->n_tops > 1 ? suffix : NULL, 4, inputs, 0, NULL, k,
                          NULL);
}

/* slice_point p1 < p2 < ...: tops [0, p1), [p1, p2), ..., [p_last, end); without points, equal
 * parts of the axis. */
static ot_status convert_slice(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, -1));
    const ot_prototxt_message *p;
    int64_t axis, slice_dim, points[CAFFE_MAX_TOPS + 1];
    OT_TRY(oti_caffe_params(l, "slice_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "slice_dim", 1, l->what, &slice_dim));
    OT_TRY(oti_prototxt_get_int(p, "axis", slice_dim, l->what, &axis));
    int n = oti_prototxt_count(p, "slice_point");
    if (n && n != l->n_tops - 1)
        return oti_fail(OT_ERR_FORMAT, "%s has %d slice_point values for %d tops (need %d)",
                        l->what, n, l->n_tops, l->n_tops - 1);
    points[0] = 0;
    for (int k = 0; k < n; k++) {
        OT_TRY(oti_prototxt_int(oti_prototxt_find(p, "slice_point", k), l->what, &points[k + 1]));
        if (points[k + 1] <= points[k])
            return oti_caffe_bad_field(l, "slice_point", "must increase from 1 on");
    }
    if (!n) {
        ot_tensor shape;
        OT_TRY(oti_caffe_shape(b, l->bottoms[0], l, &shape));
        int64_t a = axis < 0 ? axis + shape.ndim : axis;
        if (a < 0 || a >= shape.ndim || shape.dims[a] % l->n_tops)
            return oti_fail(OT_ERR_FORMAT, "%s: axis %lld does not split into %d equal parts",
                            l->what, (long long)axis, l->n_tops);
        for (int k = 1; k < l->n_tops; k++) points[k] = k * (shape.dims[a] / l->n_tops);
    }
    for (int k = 0; k < l->n_tops; k++) {
        int64_t start = points[k], end = k + 1 < l->n_tops ? points[k + 1] : INT64_MAX;
        OT_TRY(slice_top(b, l, k, axis, 1, &start, &end, l->bottoms[0]));
    }
    return OT_OK;
}

/* Crops bottom 0 to bottom 1's dims from axis on, at offsets (one for all, or one per dim). */
static ot_status convert_crop(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 2, 1));
    const ot_prototxt_message *p;
    int64_t axis, starts[OT_MAX_DIMS], ends[OT_MAX_DIMS];
    OT_TRY(oti_caffe_params(l, "crop_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "axis", 2, l->what, &axis));
    ot_tensor data, reference;
    OT_TRY(oti_caffe_shape(b, l->bottoms[0], l, &data));
    OT_TRY(oti_caffe_shape(b, l->bottoms[1], l, &reference));
    if (axis < 0) axis += data.ndim;
    if (axis < 0 || axis >= data.ndim || reference.ndim != data.ndim)
        return oti_fail(OT_ERR_FORMAT, "%s: axis %lld and bottoms of %d and %d dims do not fit",
                        l->what, (long long)axis, data.ndim, reference.ndim);
    int n_axes = data.ndim - (int)axis, n_offsets = oti_prototxt_count(p, "offset");
    if (n_offsets > 1 && n_offsets != n_axes)
        return oti_fail(OT_ERR_FORMAT, "%s has %d offsets for %d cropped dims", l->what, n_offsets,
                        n_axes);
    for (int d = 0; d < n_axes; d++) {
        int64_t offset = 0;
        if (n_offsets)
            OT_TRY(oti_prototxt_int(oti_prototxt_find(p, "offset", n_offsets > 1 ? d : 0), l->what,
                                    &offset));
        starts[d] = offset;
        ends[d] = offset + reference.dims[axis + d];
        if (offset < 0 || ends[d] > data.dims[axis + d])
            return oti_fail(OT_ERR_FORMAT,
                            "%s: crop [%lld, %lld) of dim %lld falls outside its %lld", l->what,
                            (long long)starts[d], (long long)ends[d], (long long)(axis + d),
                            (long long)data.dims[axis + d]);
    }
    return slice_top(b, l, 0, axis, n_axes, starts, ends, l->bottoms[0]);
}

/* order lists the new dims; dims it leaves out follow in their order (Caffe's rule). */
static ot_status convert_permute(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, "permute_param", &p));
    ot_tensor shape;
    OT_TRY(oti_caffe_shape(b, l->bottoms[0], l, &shape));
    int n = oti_prototxt_count(p, "order");
    int64_t perm[OT_MAX_DIMS];
    int used[OT_MAX_DIMS] = {0};
    if (n > shape.ndim)
        return oti_fail(OT_ERR_FORMAT, "%s: %d order values for %d dims", l->what, n, shape.ndim);
    for (int k = 0; k < n; k++) {
        OT_TRY(oti_prototxt_int(oti_prototxt_find(p, "order", k), l->what, &perm[k]));
        if (perm[k] < 0 || perm[k] >= shape.ndim || used[perm[k]])
            return oti_caffe_bad_field(l, "order", "must name each dim of the input at most once");
        used[perm[k]] = 1;
    }
    for (int d = 0; d < shape.ndim; d++)
        if (!used[d]) perm[n++] = d;
    ot_attr attr = oti_attr_ints("perm", n, perm);
    return oti_caffe_node(b, l, "Transpose", NULL, 1, l->bottoms, 1, &attr, 0, NULL);
}

/* top_k 1 without out_max_val: the index along axis (kept as a dim of 1), or, without axis,
 * over each sample's flattened values, shaped (N, 1, 1) as Caffe's; as float. */
static ot_status convert_argmax(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    int64_t top_k, axis;
    int out_max_val;
    OT_TRY(oti_caffe_params(l, "argmax_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "top_k", 1, l->what, &top_k));
    OT_TRY(oti_prototxt_get_bool(p, "out_max_val", 0, l->what, &out_max_val));
    int has_axis = oti_prototxt_find(p, "axis", 0) != NULL;
    OT_TRY(oti_prototxt_get_int(p, "axis", 1, l->what, &axis));
    if (top_k != 1 || out_max_val)
        return oti_caffe_bad_field(l, "top_k/out_max_val",
                                   "other than 1 and false are not supported");
    const char *x = l->bottoms[0], *index;
    ot_attr flatten_axis = oti_attr_int("axis", 1);
    if (!has_axis)
        OT_TRY(oti_caffe_node(b, l, "Flatten", "flatten", 1, &x, 1, &flatten_axis, -1, &x));
    ot_attr attrs[2] = {oti_attr_int("axis", has_axis ? axis : 1), oti_attr_int("keepdims", 1)};
    OT_TRY(oti_caffe_node(b, l, "ArgMax", "argmax", 1, &x, 2, attrs, -1, &index));
    ot_attr to = oti_attr_int("to", 1); /* FLOAT */
    if (has_axis) return oti_caffe_node(b, l, "Cast", NULL, 1, &index, 1, &to, 0, NULL);
    OT_TRY(oti_caffe_node(b, l, "Cast", "cast", 1, &index, 1, &to, -1, &index));
    int64_t dims[3] = {0, 1, 1};
    const char *inputs[2] = {index};
    OT_TRY(oti_caffe_int64_constant(b, l, "shape", 3, dims, &inputs[1]));
    return oti_caffe_node(b, l, "Reshape", NULL, 2, inputs, 0, NULL, 0, NULL);
}

const struct caffe_converter_row oti_caffe_shape_rows[] = {
    {"Concat", convert_concat},   {"Eltwise", convert_eltwise},
    {"Flatten", convert_flatten}, {"Reshape", convert_reshape},
    {"Split", convert_split},     {"Slice", convert_slice},
    {"Crop", convert_crop},       {"Permute", convert_permute},
    {"ArgMax", convert_argmax},   {NULL, NULL}};
