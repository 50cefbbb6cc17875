/* Pooling: forward values against PyTorch, the ONNX Indices output, gradient checks for every
 * mode, and clear errors for bad attributes and shapes.
 *
 * Expected values come from torch 1.13 (torch.nn.functional.max_pool*d / avg_pool*d) on the
 * inputs of distinct_input() below; the generating script is reproduced in the comments of
 * each block (x = distinct(shape) is the same formula in Python). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "test_support.h"

/* x[i] = ((i * 7919) % n) * 0.1 - 0.05 * n: distinct values 0.1 apart (7919 is prime), so
 * maxima have no ties and central differences (h = 1e-3) never cross one. */
static ot_tensor distinct_input(int ndim, const int64_t *dims) {
    ot_tensor t = ts_tensor(ndim, dims);
    int64_t n = ot_tensor_numel(&t);
    float *x = t.data;
    for (int64_t i = 0; i < n; i++) x[i] = (float)(((i * 7919) % n) * 0.1 - 0.05 * (double)n);
    return t;
}

static void free_attrs(int n, ot_attr *attrs) {
    for (int i = 0; i < n; i++) ot_attr_free(&attrs[i]);
}

static void assert_values(const ot_tensor *got, int ndim, const int64_t *dims, const float *want,
                          double tolerance) {
    assert_int_equal(got->ndim, ndim);
    for (int d = 0; d < ndim; d++) assert_int_equal(got->dims[d], dims[d]);
    for (int64_t i = 0; i < ot_dims_numel(ndim, dims); i++)
        if (fabs(((float *)got->data)[i] - want[i]) > tolerance)
            fail_msg("value %lld: got %.7g, want %.7g", (long long)i, ((float *)got->data)[i], want[i]);
}

/* Runs a one-node model on x (a graph input) and returns output `output`. */
static ot_tensor run_node(const char *op, int opset, const ot_tensor *x, int n_outputs, int output,
                          int n_attrs, const ot_attr *attrs) {
    const ot_tensor *inputs[1] = {x};
    int as_input[1] = {1};
    ot_model *m = ts_single_node("", op, opset, 1, inputs, as_input, n_outputs, n_attrs, attrs);
    ot_tensor y = ts_run(m, 1, x, output);
    ot_model_free(m);
    return y;
}

/* Resolving or planning a one-node model whose input is `x` (an initializer) must fail with
 * OT_ERR_INVALID and a message naming the node and containing `needle`. */
static void expect_error(const char *op, int opset, const ot_tensor *x, int n_outputs, int n_attrs,
                         const ot_attr *attrs, const char *needle) {
    const ot_tensor *inputs[1] = {x};
    ts_expect_node_error(op, opset, 1, inputs, NULL, n_outputs, n_attrs, attrs, 1, OT_ERR_INVALID, needle);
}

/* torch: y, idx = F.max_pool2d(x, 2, 2, 1, ceil_mode=True, return_indices=True) on
 * x = distinct((1, 2, 5, 5)); ONNX indices add the plane offset c * 25. Output (1, 2, 3, 3):
 * ceil gives 4 windows per dim, the last starts in the right padding and is dropped. */
static void maxpool_ceil_values_and_indices(void **state) {
    (void)state;
    static const float want_y[18] = {-2.5f, 1.3f, 0.1f, 2.0f, 0.8f, 2.2f, 1.0f, 2.4f, 1.7f,
                                     0.0f, 1.9f, 0.7f, -0.5f, 1.4f, 2.1f, -1.5f, 2.3f, 1.1f};
    static const int64_t want_idx[18] = {0, 2, 4, 5, 7, 13, 15, 21, 18, 25, 26, 28, 30, 31, 34, 40, 42, 44};
    int64_t xd[4] = {1, 2, 5, 5}, yd[4] = {1, 2, 3, 3}, k[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    ot_tensor x = distinct_input(4, xd);
    ot_attr attrs[4] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, k),
                        ts_attr_ints("pads", 4, pads), ts_attr_int("ceil_mode", 1)};
    ot_tensor y = run_node("MaxPool", 12, &x, 2, 0, 4, attrs);
    assert_values(&y, 4, yd, want_y, 0);
    ot_tensor idx = run_node("MaxPool", 12, &x, 2, 1, 4, attrs);
    assert_int_equal(idx.dtype, OT_INT64);
    for (int i = 0; i < 18; i++) assert_int_equal(((int64_t *)idx.data)[i], want_idx[i]);
    ot_tensor_free(&y);
    ot_tensor_free(&idx);
    ot_tensor_free(&x);
    free_attrs(4, attrs);
}

/* Ties keep the window's first element and a NaN takes over (PyTorch's rule: val > max or
 * isnan(val), so the last NaN wins), on the 2x2 stride-2 path and the general 2-D one (a
 * 3x3 stride-3 pool over the same numbers spread out). */
static void maxpool_ties_and_nans(void **state) {
    (void)state;
    int64_t xd[4] = {1, 1, 2, 4}, k2[2] = {2, 2};
    ot_tensor x = ts_tensor(4, xd);
    const float values[8] = {1, 1, NAN, 5, 1, 1, 7, NAN};
    memcpy(x.data, values, sizeof values);
    ot_attr attrs[2] = {ts_attr_ints("kernel_shape", 2, k2), ts_attr_ints("strides", 2, k2)};
    ot_tensor y = run_node("MaxPool", 12, &x, 2, 0, 2, attrs);
    ot_tensor idx = run_node("MaxPool", 12, &x, 2, 1, 2, attrs);
    const float *yv = y.data;
    const int64_t *iv = idx.data;
    assert_true(yv[0] == 1.0f && isnan(yv[1]));
    assert_int_equal(iv[0], 0);
    assert_int_equal(iv[1], 7);
    free_attrs(2, attrs);
    ot_tensor_free(&y);
    ot_tensor_free(&idx);
    ot_tensor_free(&x);

    int64_t xd3[4] = {1, 1, 3, 6}, k3[2] = {3, 3};
    ot_tensor x3 = ts_tensor(4, xd3);
    float *v3 = x3.data;
    for (int i = 0; i < 18; i++) v3[i] = -10.0f;
    v3[0] = v3[1] = v3[6] = v3[7] = 1.0f;         /* window 1: ties at (0,0),(0,1),(1,0),(1,1) */
    v3[3] = NAN, v3[4] = 5, v3[9] = 7, v3[10] = NAN; /* window 2: the last NaN is at 10 */
    ot_attr attrs3[2] = {ts_attr_ints("kernel_shape", 2, k3), ts_attr_ints("strides", 2, k3)};
    y = run_node("MaxPool", 12, &x3, 2, 0, 2, attrs3);
    idx = run_node("MaxPool", 12, &x3, 2, 1, 2, attrs3);
    yv = y.data;
    iv = idx.data;
    assert_true(yv[0] == 1.0f && isnan(yv[1]));
    assert_int_equal(iv[0], 0);
    assert_int_equal(iv[1], 10);
    ot_tensor_free(&y);
    /* Without the Indices output inference keeps no positions (a values-only loop). */
    y = run_node("MaxPool", 12, &x3, 1, 0, 2, attrs3);
    yv = y.data;
    assert_true(yv[0] == 1.0f && isnan(yv[1]));
    free_attrs(2, attrs3);
    ot_tensor_free(&y);
    ot_tensor_free(&idx);
    ot_tensor_free(&x3);
}

/* The values-only 2x2 stride-2 loop (8 outputs at a time, the last block overlapping) gives
 * bit for bit the positional loop's values, over widths around the vector length, odd
 * inputs (floor mode drops the last row and column), NaNs and signed-zero ties. */
static void maxpool_2x2_values_match_positions(void **state) {
    (void)state;
    const int64_t widths[] = {2, 7, 14, 15, 16, 17, 28, 29, 33, 46};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        int64_t xd[4] = {2, 3, 6, widths[w]}, k[2] = {2, 2};
        ot_tensor x = ts_tensor(4, xd);
        float *xv = x.data;
        int64_t n = ot_tensor_numel(&x);
        for (int64_t i = 0; i < n; i++) {
            int64_t r = (i * 7919) % 23;
            /* mostly zeros of both signs (which zero wins shows the order), some larger and
             * smaller numbers, a few NaNs */
            xv[i] = r == 0 ? NAN : r < 14 ? (r % 2 ? -0.0f : 0.0f) : (float)(r - 20) * 0.25f;
        }
        ot_attr attrs[2] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, k)};
        ot_tensor values = run_node("MaxPool", 12, &x, 1, 0, 2, attrs);
        ot_tensor with_positions = run_node("MaxPool", 12, &x, 2, 0, 2, attrs);
        assert_int_equal(ot_tensor_numel(&values), ot_tensor_numel(&with_positions));
        const float *a = values.data, *b = with_positions.data;
        for (int64_t i = 0; i < ot_tensor_numel(&values); i++) {
            if (isnan(a[i]) && isnan(b[i])) continue;
            if (memcmp(&a[i], &b[i], sizeof(float)))
                fail_msg("width %lld, output %lld: %g (values only) vs %g", (long long)widths[w], (long long)i,
                         a[i], b[i]);
        }
        free_attrs(2, attrs);
        ot_tensor_free(&values);
        ot_tensor_free(&with_positions);
        ot_tensor_free(&x);
    }
}

/* ONNX's storage_order=1 example: 5x5 input 1..25, kernel 2, stride 2; column-major indices. */
static void maxpool_column_major_indices(void **state) {
    (void)state;
    int64_t xd[4] = {1, 1, 5, 5}, k[2] = {2, 2};
    float xs[25];
    for (int i = 0; i < 25; i++) xs[i] = (float)(i + 1);
    ot_tensor x = ts_float(4, xd, xs);
    ot_attr attrs[3] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, k),
                        ts_attr_int("storage_order", 1)};
    ot_tensor idx = run_node("MaxPool", 12, &x, 2, 1, 3, attrs);
    static const int64_t want[4] = {6, 16, 8, 18};
    for (int i = 0; i < 4; i++) assert_int_equal(((int64_t *)idx.data)[i], want[i]);
    ot_tensor_free(&idx);
    ot_tensor_free(&x);
    free_attrs(3, attrs);
}

/* torch: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=cip) on
 * x = distinct((1, 1, 6, 6)). The last window per dim starts at 5 and spans the right pad
 * and one position beyond it: count_include_pad divides by 2 there, not 3. */
static void averagepool_ceil_count_include_pad(void **state) {
    (void)state;
    static const float want_include[16] = {0.2444445f, 0.8666667f, 0.7333333f, 0.3333333f,
                                           0.3666667f, 0.4f, 0.2f, 0.05f, -0.4333333f, -0.8f, -1.0f,
                                           -0.55f, -0.4166667f, -0.7f, -0.8f, -0.425f};
    static const float want_exclude[16] = {0.5500001f, 1.3f, 1.1f, 1.0f, 0.55f, 0.4f, 0.2f, 0.1f,
                                           -0.65f, -0.8f, -1.0f, -1.1f, -1.25f, -1.4f, -1.6f, -1.7f};
    int64_t xd[4] = {1, 1, 6, 6}, yd[4] = {1, 1, 4, 4}, k[2] = {3, 3}, s[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    ot_tensor x = distinct_input(4, xd);
    for (int include = 0; include <= 1; include++) {
        ot_attr attrs[5] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, s),
                            ts_attr_ints("pads", 4, pads), ts_attr_int("ceil_mode", 1),
                            ts_attr_int("count_include_pad", include)};
        ot_tensor y = run_node("AveragePool", 11, &x, 1, 0, 5, attrs);
        assert_values(&y, 4, yd, include ? want_include : want_exclude, 1e-6);
        ot_tensor_free(&y);
        free_attrs(5, attrs);
    }
    ot_tensor_free(&x);
}

/* torch: F.max_pool1d(distinct((1, 1, 9)), 3, 1, 1, dilation=2), F.max_pool3d(x3, 2, (1, 2, 2))
 * and F.avg_pool3d(x3, 2, (1, 2, 2), (1, 1, 0), count_include_pad=False) with
 * x3 = distinct((1, 1, 3, 4, 4)). */
static void dilated_1d_and_3d_values(void **state) {
    (void)state;
    static const float want_1d[7] = {0.35f, 0.25f, 0.35f, 0.25f, 0.15f, 0.05f, -0.05f};
    static const float want_max3d[8] = {2.3f, 2.2f, 1.6f, 1.4f, 0.8f, 0.6f, 0.0f, -0.2f};
    static const float want_avg3d[24] = {-0.05000007f, 2.15f, 1.75f, 1.55f, 1.15f, 0.95f, 0.35f,
                                         1.35f, 0.95f, 0.7499999f, 0.3500001f, 0.15f, -0.05f, -0.25f,
                                         -0.65f, -0.85f, -1.25f, -1.45f, -0.85f, -1.05f, -1.45f,
                                         -1.65f, -2.05f, -2.25f};
    int64_t d1[3] = {1, 1, 9}, y1[3] = {1, 1, 7}, k1[1] = {3}, s1[1] = {1}, p1[2] = {1, 1}, dil[1] = {2};
    ot_tensor x1 = distinct_input(3, d1);
    ot_attr a1[4] = {ts_attr_ints("kernel_shape", 1, k1), ts_attr_ints("strides", 1, s1),
                     ts_attr_ints("pads", 2, p1), ts_attr_ints("dilations", 1, dil)};
    ot_tensor y = run_node("MaxPool", 12, &x1, 1, 0, 4, a1);
    assert_values(&y, 3, y1, want_1d, 1e-6);
    ot_tensor_free(&y);

    int64_t d3[5] = {1, 1, 3, 4, 4}, ymax[5] = {1, 1, 2, 2, 2}, yavg[5] = {1, 1, 4, 3, 2};
    int64_t k3[3] = {2, 2, 2}, s3[3] = {1, 2, 2}, p3[6] = {1, 1, 0, 1, 1, 0};
    ot_tensor x3 = distinct_input(5, d3);
    ot_attr a3[3] = {ts_attr_ints("kernel_shape", 3, k3), ts_attr_ints("strides", 3, s3),
                     ts_attr_ints("pads", 6, p3)};
    y = run_node("MaxPool", 12, &x3, 1, 0, 2, a3);
    assert_values(&y, 5, ymax, want_max3d, 1e-6);
    ot_tensor_free(&y);
    y = run_node("AveragePool", 11, &x3, 1, 0, 3, a3);
    assert_values(&y, 5, yavg, want_avg3d, 1e-5);
    ot_tensor_free(&y);
    free_attrs(4, a1);
    free_attrs(3, a3);
    ot_tensor_free(&x1);
    ot_tensor_free(&x3);
}

/* Global pools reduce every spatial dim to 1; closed forms on a small input. */
static void global_pool_values(void **state) {
    (void)state;
    int64_t xd[3] = {1, 2, 3}, yd[3] = {1, 2, 1};
    float xs[6] = {1.0f, -2.0f, 4.0f, 0.5f, 0.25f, -1.0f};
    ot_tensor x = ts_float(3, xd, xs);
    float want_avg[2] = {1.0f, -0.25f / 3.0f}, want_max[2] = {4.0f, 0.5f};
    ot_tensor y = run_node("GlobalAveragePool", 1, &x, 1, 0, 0, NULL);
    assert_values(&y, 3, yd, want_avg, 1e-7);
    ot_tensor_free(&y);
    y = run_node("GlobalMaxPool", 1, &x, 1, 0, 0, NULL);
    assert_values(&y, 3, yd, want_max, 0);
    ot_tensor_free(&y);
    ot_tensor_free(&x);
}

/* Windows that hold no input element (dilation steps over the input, the rest is padding):
 * MaxPool gives -inf with Indices -1 and routes no gradient; AveragePool without
 * count_include_pad gives 0. Nothing is read outside the input (checked under ASan). */
static void windows_without_input_elements(void **state) {
    (void)state;
    int64_t xd[3] = {1, 1, 1}, yd[3] = {1, 1, 2}, k[1] = {2}, dil[1] = {3}, pads[2] = {2, 2};
    float one = 5.0f;
    ot_tensor x = ts_float(3, xd, &one);
    ot_attr attrs[3] = {ts_attr_ints("kernel_shape", 1, k), ts_attr_ints("dilations", 1, dil),
                        ts_attr_ints("pads", 2, pads)};
    ot_tensor y = run_node("MaxPool", 12, &x, 2, 0, 3, attrs);
    ot_tensor idx = run_node("MaxPool", 12, &x, 2, 1, 3, attrs);
    assert_int_equal(y.dims[2], yd[2]);
    for (int i = 0; i < 2; i++) {
        assert_true(isinf(((float *)y.data)[i]) && ((float *)y.data)[i] < 0);
        assert_int_equal(((int64_t *)idx.data)[i], -1);
    }
    ot_tensor_free(&y);
    ot_tensor_free(&idx);
    y = run_node("AveragePool", 19, &x, 1, 0, 3, attrs);
    float zeros[2] = {0.0f, 0.0f};
    assert_values(&y, 3, yd, zeros, 0);
    ot_tensor_free(&y);
    const ot_tensor *inputs[1] = {&x};
    ts_gradcheck("AveragePool", 19, 1, inputs, 1, 3, attrs, 0, 1e-3, 1e-2);
    free_attrs(3, attrs);
    /* Global pools on (N, C) inputs: no spatial dims, the identity. */
    int64_t nc[2] = {2, 3};
    ot_tensor x2 = distinct_input(2, nc);
    y = run_node("GlobalMaxPool", 1, &x2, 1, 0, 0, NULL);
    assert_values(&y, 2, nc, x2.data, 0);
    ot_tensor_free(&y);
    ot_tensor_free(&x2);
    ot_tensor_free(&x);
}

static void gradcheck_pool(const char *op, int opset, int ndim, const int64_t *dims, int n_attrs,
                           const ot_attr *attrs) {
    ot_tensor x = distinct_input(ndim, dims);
    const ot_tensor *inputs[1] = {&x};
    ts_gradcheck(op, opset, 1, inputs, 1, n_attrs, attrs, 0, 1e-3, 1e-2);
    ot_tensor_free(&x);
}

static void maxpool_gradients(void **state) {
    (void)state;
    int64_t d2[4] = {2, 2, 5, 5}, k[2] = {2, 2}, k3[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    ot_attr ceil_attrs[4] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, k),
                       ts_attr_ints("pads", 4, pads), ts_attr_int("ceil_mode", 1)};
    gradcheck_pool("MaxPool", 12, 4, d2, 4, ceil_attrs);
    /* Overlapping windows (stride 1 < kernel 3): an input can be the max of several. */
    ot_attr overlap[2] = {ts_attr_ints("kernel_shape", 2, k3), ts_attr_string("auto_pad", "SAME_UPPER")};
    gradcheck_pool("MaxPool", 12, 4, d2, 2, overlap);
    int64_t d1[3] = {1, 2, 9}, k1[1] = {3}, p1[2] = {2, 1}, dil[1] = {2};
    ot_attr dilated[3] = {ts_attr_ints("kernel_shape", 1, k1), ts_attr_ints("pads", 2, p1),
                          ts_attr_ints("dilations", 1, dil)};
    gradcheck_pool("MaxPool", 12, 3, d1, 3, dilated);
    int64_t d3[5] = {1, 1, 3, 4, 4}, kk3[3] = {2, 2, 2};
    ot_attr cube[1] = {ts_attr_ints("kernel_shape", 3, kk3)};
    gradcheck_pool("MaxPool", 12, 5, d3, 1, cube);
    gradcheck_pool("GlobalMaxPool", 1, 4, d2, 0, NULL);
    /* The 2x2 stride-2 fast path, which skips positions when no backward runs; 5x5 leaves
     * the last row and column outside every window. */
    ot_attr plain[2] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, k)};
    gradcheck_pool("MaxPool", 12, 4, d2, 2, plain);
    free_attrs(2, plain);
    free_attrs(4, ceil_attrs);
    free_attrs(2, overlap);
    free_attrs(3, dilated);
    free_attrs(1, cube);
}

static void averagepool_gradients(void **state) {
    (void)state;
    int64_t d2[4] = {1, 2, 6, 6}, k[2] = {3, 3}, s[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    for (int include = 0; include <= 1; include++)
        for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++) {
            ot_attr attrs[5] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, s),
                                ts_attr_ints("pads", 4, pads), ts_attr_int("ceil_mode", ceil_mode),
                                ts_attr_int("count_include_pad", include)};
            gradcheck_pool("AveragePool", 11, 4, d2, 5, attrs);
            free_attrs(5, attrs);
        }
    ot_attr lower[2] = {ts_attr_ints("kernel_shape", 2, k), ts_attr_string("auto_pad", "SAME_LOWER")};
    gradcheck_pool("AveragePool", 11, 4, d2, 2, lower);
    int64_t d3[5] = {1, 1, 3, 4, 4}, k3[3] = {2, 2, 2}, s3[3] = {1, 2, 2}, p3[6] = {1, 1, 0, 1, 1, 0};
    ot_attr cube[4] = {ts_attr_ints("kernel_shape", 3, k3), ts_attr_ints("strides", 3, s3),
                       ts_attr_ints("pads", 6, p3), ts_attr_int("count_include_pad", 1)};
    gradcheck_pool("AveragePool", 11, 5, d3, 4, cube);
    gradcheck_pool("GlobalAveragePool", 1, 4, d2, 0, NULL);
    free_attrs(2, lower);
    free_attrs(4, cube);
}

static void bad_attributes(void **state) {
    (void)state;
    int64_t xd[4] = {1, 1, 4, 4};
    ot_tensor x = ts_tensor(4, xd);
    int64_t k[2] = {2, 2}, zero_k[2] = {2, 0}, zero_s[2] = {1, 0}, neg_pads[4] = {0, -1, 0, 0};
    int64_t three_pads[3] = {1, 1, 1}, big_k[2] = {6, 6}, k1[1] = {2};
    struct {
        const char *op;
        ot_attr attrs[2];
        int n_attrs, n_outputs;
        const char *needle;
    } cases[] = {
        {"MaxPool", {ts_attr_ints("kernel_shape", 2, zero_k)}, 1, 1, "kernel_shape[1] is 0"},
        {"MaxPool", {ts_attr_ints("strides", 2, k)}, 1, 1, "kernel_shape is required"},
        {"AveragePool", {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("strides", 2, zero_s)}, 2, 1,
         "strides[1] is 0"},
        {"MaxPool", {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("pads", 4, neg_pads)}, 2, 1,
         "must not be negative"},
        {"MaxPool", {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("pads", 3, three_pads)}, 2, 1,
         "pads has 3 values"},
        {"MaxPool", {ts_attr_ints("kernel_shape", 2, k), ts_attr_ints("dilations", 1, k1)}, 2, 1,
         "dilations has 1 values"},
        {"AveragePool", {ts_attr_ints("kernel_shape", 2, k), ts_attr_string("auto_pad", "SAME")}, 2, 1,
         "auto_pad must be"},
        {"MaxPool", {ts_attr_ints("kernel_shape", 2, k), ts_attr_int("storage_order", 2)}, 2, 1,
         "storage_order"},
        {"MaxPool", {ts_attr_ints("kernel_shape", 1, k1)}, 1, 1, "needs rank 3"},
        {"AveragePool", {ts_attr_ints("kernel_shape", 2, big_k)}, 1, 1, "larger than the padded input"},
        {"AveragePool", {ts_attr_ints("kernel_shape", 2, k)}, 1, 2, "no second output"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(cases[i].op, 12, &x, cases[i].n_outputs, cases[i].n_attrs, cases[i].attrs,
                     cases[i].needle);
        free_attrs(cases[i].n_attrs, cases[i].attrs);
    }
    int64_t int_dims[4] = {1, 1, 2, 2}, ints[4] = {1, 2, 3, 4};
    ot_tensor xi = ts_int64(4, int_dims, ints);
    ot_attr kernel[1] = {ts_attr_ints("kernel_shape", 2, k)};
    expect_error("MaxPool", 12, &xi, 1, 1, kernel, "must be float32");
    expect_error("GlobalAveragePool", 1, &xi, 1, 0, NULL, "must be float32");
    free_attrs(1, kernel);
    ot_tensor_free(&xi);
    ot_tensor_free(&x);
}

/* MaxUnpool (indices from a 2x2 / stride 2 pool, with and without output_shape) and
 * RoiAlign in both modes and coordinate modes: gradients w.r.t. X. */
static void unpool_and_roi_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 11);
    ot_tensor x = ts_random(&rng, 4, (const int64_t[]){1, 2, 2, 2}, -1, 1);
    ot_tensor idx = ts_int64(4, (const int64_t[]){1, 2, 2, 2}, (const int64_t[]){5, 7, 13, 15, 16, 19, 25, 31});
    ot_tensor shape = ts_int64(1, (const int64_t[]){4}, (const int64_t[]){1, 2, 5, 5});
    ot_attr unpool[2] = {ts_attr_ints("kernel_shape", 2, (const int64_t[]){2, 2}),
                         ts_attr_ints("strides", 2, (const int64_t[]){2, 2})};
    ts_gradcheck("MaxUnpool", 11, 2, (const ot_tensor *[]){&x, &idx}, 1, 2, unpool, 0, 1e-2, 1e-3);
    ts_gradcheck("MaxUnpool", 11, 3, (const ot_tensor *[]){&x, &idx, &shape}, 1, 2, unpool, 0, 1e-2, 1e-3);
    ot_tensor img = ts_random(&rng, 4, (const int64_t[]){2, 2, 6, 6}, -1, 1);
    ot_tensor rois = ts_float(2, (const int64_t[]){3, 4}, (const float[]){0.3f, 0.7f, 4.2f, 5.1f, 1.1f, 0.2f, 3.3f, 2.9f,
                                                                          -0.5f, 2.5f, 6.5f, 4.0f});
    ot_tensor batch = ts_int64(1, (const int64_t[]){3}, (const int64_t[]){0, 1, 1});
    static const char *const modes[2] = {"avg", "max"}, *const ctms[2] = {"half_pixel", "output_half_pixel"};
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 2; k++) {
            ot_attr roi[5] = {ts_attr_string("mode", modes[m]), ts_attr_string("coordinate_transformation_mode", ctms[k]),
                              ts_attr_int("output_height", 2), ts_attr_int("output_width", 3),
                              ts_attr_int("sampling_ratio", m ? 1 : 0)};
            ts_gradcheck("RoiAlign", 16, 3, (const ot_tensor *[]){&img, &rois, &batch}, 1, 5, roi, 0, 1e-3, 1e-2);
            for (int i = 0; i < 5; i++) ot_attr_free(&roi[i]);
        }
    for (int i = 0; i < 2; i++) ot_attr_free(&unpool[i]);
    ts_free_tensors((ot_tensor[]){x, idx, shape, img, rois, batch}, 6);
}

/* ROIs that are not finite, or absurdly far from the image (with sampling_ratio 0 their sample
 * count would grow with them): errors naming the node, not a hang. */
static void roialign_rejects_unusable_boxes(void **state) {
    (void)state;
    ot_tensor img = ts_float(4, (const int64_t[]){1, 1, 2, 2}, (const float[]){1, 2, 3, 4});
    ot_tensor nan_box = ts_float(2, (const int64_t[]){1, 4}, (const float[]){NAN, 0, 1, 1});
    ot_tensor far_box = ts_float(2, (const int64_t[]){1, 4}, (const float[]){0, 0, 1e30f, 1e30f});
    ot_tensor batch = ts_int64(1, (const int64_t[]){1}, (const int64_t[]){0});
    ot_attr attrs[2] = {ts_attr_int("output_height", 1), ts_attr_int("output_width", 1)};
    ts_expect_node_error("RoiAlign", 16, 3, (const ot_tensor *[]){&img, &nan_box, &batch}, NULL, 1, 2, attrs, 0,
                         OT_ERR_INVALID, "rois[0] has a coordinate that is not finite");
    ts_expect_node_error("RoiAlign", 16, 3, (const ot_tensor *[]){&img, &far_box, &batch}, NULL, 1, 2, attrs, 0,
                         OT_ERR_INVALID, "times the 2 x 2 image away");
    ot_attr_free(&attrs[0]);
    ot_attr_free(&attrs[1]);
    ts_free_tensors((ot_tensor[]){img, nan_box, far_box, batch}, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maxpool_ceil_values_and_indices),
        cmocka_unit_test(roialign_rejects_unusable_boxes),
        cmocka_unit_test(maxpool_column_major_indices),
        cmocka_unit_test(maxpool_ties_and_nans),
        cmocka_unit_test(maxpool_2x2_values_match_positions),
        cmocka_unit_test(averagepool_ceil_count_include_pad),
        cmocka_unit_test(dilated_1d_and_3d_values),
        cmocka_unit_test(global_pool_values),
        cmocka_unit_test(windows_without_input_elements),
        cmocka_unit_test(maxpool_gradients),
        cmocka_unit_test(averagepool_gradients),
        cmocka_unit_test(bad_attributes),
        cmocka_unit_test(unpool_and_roi_gradients),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
