/* Layout transforms when weights move between frameworks. Keras stores conv kernels
 * spatial-first with channels last (HWIO; Conv1D WIO, Conv3D DHWIO; Conv2DTranspose HWOI),
 * depthwise kernels as HWCM, and Dense kernels as [in, out]; ONNX wants OIHW (IOHW for
 * ConvTranspose, [C*M, 1, H, W] for depthwise) and Gemm's B per transB. Other sources
 * already use ONNX's layouts (PyTorch's), so only dims of size 1 may differ. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "match_internal.h"

/* out = src permuted: out dim d is src dim perm[d]. */
static ot_status permute(const ot_tensor *src, const int *perm, ot_tensor *out) {
    int n = src->ndim;
    int64_t dims[OT_MAX_DIMS], src_strides[OT_MAX_DIMS];
    for (int d = 0; d < n; d++) dims[d] = src->dims[perm[d]];
    int64_t stride = 1;
    for (int d = n - 1; d >= 0; d--) {
        src_strides[d] = stride;
        stride *= src->dims[d];
    }
    OT_TRY(ot_tensor_alloc(NULL, out, src->dtype, n, dims, "permuted weight"));
    size_t elem = ot_dtype_size(src->dtype);
    int64_t total = ot_tensor_numel(out), index[OT_MAX_DIMS] = {0};
    const unsigned char *in = src->data;
    unsigned char *dst = out->data;
    for (int64_t k = 0; k < total; k++) {
        int64_t at = 0;
        for (int d = 0; d < n; d++) at += index[d] * src_strides[perm[d]];
        memcpy(dst + (size_t)k * elem, in + (size_t)at * elem, elem);
        for (int d = n - 1; d >= 0; d--) {
            if (++index[d] < dims[d]) break;
            index[d] = 0;
        }
    }
    return OT_OK;
}

/* Same dims once the 1s are dropped ([C] vs [C,1,1], [1,N] vs [N]). */
static int same_without_ones(const ot_tensor *a, const ot_tensor *b) {
    int i = 0, j = 0;
    for (;;) {
        while (i < a->ndim && a->dims[i] == 1) i++;
        while (j < b->ndim && b->dims[j] == 1) j++;
        if (i == a->ndim || j == b->ndim) return i == a->ndim && j == b->ndim;
        if (a->dims[i++] != b->dims[j++]) return 0;
    }
}

static const char *conv_transform_name(int ndim, int transpose) {
    static const char *const conv[] = {"WIO->OIW", "HWIO->OIHW", "DHWIO->OIDHW"};
    static const char *const conv_t[] = {"WOI->IOW", "HWOI->IOHW", "DHWOI->IODHW"};
    if (ndim < 3 || ndim > 5) return transpose ? "spatial-first->IO..." : "spatial-first->OI...";
    return transpose ? conv_t[ndim - 3] : conv[ndim - 3];
}

/* Keras kernel -> ONNX layout; *keras_out is NULL when the role needs no change. */
static ot_status keras_layout(const ot_named_tensor *source, const match_target *target,
                              const ot_tensor *target_tensor, ot_tensor *keras_out,
                              const char **transform, int *changed) {
    const ot_tensor *src = &source->tensor;
    *changed = 0;
    int n = src->ndim;
    if (!strcmp(source->role, "depthwise_kernel") && target->layout == OT_KERNEL_OIHW && n >= 3 &&
        target_tensor->ndim == n) {
        /* [spatial..., C, M] -> [C*M, 1, spatial...]: channel c, multiplier m is output c*M+m. */
        int perm[OT_MAX_DIMS] = {n - 2, n - 1};
        for (int d = 0; d < n - 2; d++) perm[2 + d] = d;
        OT_TRY(permute(src, perm, keras_out));
        int64_t dims[OT_MAX_DIMS];
        dims[0] = keras_out->dims[0] * keras_out->dims[1];
        dims[1] = 1;
        for (int d = 2; d < n; d++) dims[d] = keras_out->dims[d];
        ot_tensor_set_shape(keras_out, keras_out->dtype, n, dims);
        *transform = "depthwise HWCM->(C*M)1HW";
        *changed = 1;
        return OT_OK;
    }
    if (strcmp(source->role, "kernel") != 0) return OT_OK;
    if ((target->layout == OT_KERNEL_OIHW || target->layout == OT_KERNEL_IOHW) && n >= 3) {
        /* Both move the last two dims to the front, swapped: HWIO -> OIHW, HWOI -> IOHW. */
        int perm[OT_MAX_DIMS] = {n - 1, n - 2};
        for (int d = 0; d < n - 2; d++) perm[2 + d] = d;
        OT_TRY(permute(src, perm, keras_out));
        *transform = conv_transform_name(n, target->layout == OT_KERNEL_IOHW);
        *changed = 1;
    } else if (target->layout == OT_KERNEL_GEMM_B && n == 2 && target->trans_b) {
        int perm[2] = {1, 0};
        OT_TRY(permute(src, perm, keras_out));
        *transform = "[in,out]->[out,in] (transB=1)";
        *changed = 1;
    }
    return OT_OK;
}

int oti_match_convert(const ot_named_tensor *source, const match_target *target,
                     const ot_tensor *target_tensor, ot_tensor *out, const char **transform,
                     char *why, size_t why_size) {
    char a[128], b[128];
    *transform = NULL;
    memset(out, 0, sizeof *out);
    const ot_tensor *src = &source->tensor;
    if (src->dtype != target_tensor->dtype) {
        snprintf(why, why_size, "dtype %s vs %s", ot_dtype_name(src->dtype),
                 ot_dtype_name(target_tensor->dtype));
        return 0;
    }
    ot_tensor laid = {0};
    int changed = 0;
    ot_status laid_out = source->role ? keras_layout(source, target, target_tensor, &laid, transform, &changed) : OT_OK;
    if (laid_out == OT_ERR_MEMORY) return -1;
    if (laid_out != OT_OK) {
        snprintf(why, why_size, "%s", ot_last_error());
        return 0;
    }
    const ot_tensor *from = changed ? &laid : src;
    if (!ot_tensor_same_shape(from, target_tensor)) {
        if (ot_tensor_numel(from) != ot_tensor_numel(target_tensor) ||
            !same_without_ones(from, target_tensor)) {
            char c[128];
            if (changed)
                snprintf(why, why_size, "shape %s (%s: %s) vs %s",
                         ot_shape_string(src->ndim, src->dims, a, sizeof a), *transform,
                         ot_shape_string(laid.ndim, laid.dims, c, sizeof c),
                         ot_shape_string(target_tensor->ndim, target_tensor->dims, b, sizeof b));
            else
                snprintf(why, why_size, "shape %s vs %s",
                         ot_shape_string(src->ndim, src->dims, a, sizeof a),
                         ot_shape_string(target_tensor->ndim, target_tensor->dims, b, sizeof b));
            ot_tensor_free(&laid);
            return 0;
        }
        *transform = *transform ? *transform : "reshaped";
    }
    /* The result takes the target's exact shape (same bytes in C order). */
    if (changed) {
        *out = laid;
    } else if (ot_tensor_copy(out, src, "weight") != OT_OK) {
        return -1; /* out of memory: there is no limit here */
    }
    ot_tensor_set_shape(out, target_tensor->dtype, target_tensor->ndim, target_tensor->dims);
    return 1;
}
