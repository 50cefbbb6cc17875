/* Reductions: values against hand-computed sums of a known tensor, axes as attribute and as
 * input, keepdims / negative axes / noop_with_empty_axes, int64, errors naming the node, and
 * gradient checks (central differences) plus exact tie / zero-norm gradients; ArgMax
 * (keepdims, select_last_index, NaN) and CumSum (exclusive, reverse, gradient checks). */
#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/plan.h"
#include "test_support.h"

static ot_tensor run_op(const char *op, int opset, int n, const ot_tensor *const *inputs, int n_attrs,
                        const ot_attr *attrs) {
    ot_model *m = ts_single_node("", op, opset, n, inputs, NULL, 1, n_attrs, attrs);
    ot_tensor y = ts_run(m, 0, NULL, 0);
    ot_model_free(m);
    return y;
}

static void assert_shape(const ot_tensor *y, int ndim, const int64_t *dims) {
    assert_int_equal(y->ndim, ndim);
    for (int d = 0; d < ndim; d++) assert_int_equal(y->dims[d], dims[d]);
}

static void assert_floats(const ot_tensor *y, int n, const float *want, double tol) {
    assert_int_equal(y->dtype, OT_FLOAT);
    assert_int_equal(ot_tensor_numel(y), n);
    for (int i = 0; i < n; i++) {
        float got = ((float *)y->data)[i];
        if (fabs(got - want[i]) > tol * fmax(1.0, fabs(want[i])))
            fail_msg("[%d]: got %.9g, want %.9g", i, got, want[i]);
    }
}

/* x[i, j, k] = 12 i + 4 j + k, shape [2, 3, 4]. */
static ot_tensor arange_234(void) {
    int64_t dims[3] = {2, 3, 4};
    ot_tensor x = ts_tensor(3, dims);
    for (int i = 0; i < 24; i++) ((float *)x.data)[i] = (float)i;
    return x;
}

static void values_with_axes_attribute(void **state) {
    (void)state;
    ot_tensor x = arange_234();
    const ot_tensor *in[1] = {&x};
    struct {
        const char *op;
        int n_axes;
        int64_t axes[2];
        int keepdims;
        int out_ndim;
        int64_t out_dims[3];
        float want[12];
    } cases[] = {
        /* sum_j (12 i + 4 j + k) = 36 i + 12 + 3 k */
        {"ReduceSum", 1, {1}, 1, 3, {2, 1, 4}, {12, 15, 18, 21, 48, 51, 54, 57}},
        /* sum_i,k = 60 + 32 j */
        {"ReduceSum", 2, {0, 2}, 0, 1, {3}, {60, 92, 124}},
        {"ReduceSum", 1, {-1}, 0, 2, {2, 3}, {6, 22, 38, 54, 70, 86}},
        {"ReduceSum", 0, {0}, 1, 3, {1, 1, 1}, {276}},
        {"ReduceSum", 0, {0}, 0, 0, {0}, {276}},
        {"ReduceMean", 1, {1}, 1, 3, {2, 1, 4}, {4, 5, 6, 7, 16, 17, 18, 19}},
        {"ReduceMean", 0, {0}, 0, 0, {0}, {11.5f}},
        {"ReduceMax", 2, {2, 0}, 1, 3, {1, 3, 1}, {15, 19, 23}},
        {"ReduceMax", 1, {-2}, 0, 2, {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23}},
        {"ReduceMin", 1, {-1}, 0, 2, {2, 3}, {0, 4, 8, 12, 16, 20}},
        /* sqrt(sum_k (4 j + k)^2) for i = 0: sqrt(14), sqrt(126), sqrt(366) */
        {"ReduceL2", 1, {2}, 0, 2, {2, 3}, {3.74165739f, 11.2249722f, 19.1311265f, 27.0924344f, 35.0713558f, 43.0581003f}},
        /* sum_i (12 i + k)^2 for j = 0: k^2 + (12 + k)^2 */
        {"ReduceSumSquare", 1, {0}, 0, 2, {3, 4}, {144, 170, 200, 234, 272, 314, 360, 410, 464, 522, 584, 650}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ot_attr attrs[2] = {ts_attr_int("keepdims", cases[c].keepdims),
                            ts_attr_ints("axes", cases[c].n_axes, cases[c].axes)};
        /* Opset 11: axes is an attribute for every reduction. */
        ot_tensor y = run_op(cases[c].op, 11, 1, in, cases[c].n_axes ? 2 : 1, attrs);
        assert_shape(&y, cases[c].out_ndim, cases[c].out_dims);
        assert_floats(&y, (int)ot_dims_numel(cases[c].out_ndim, cases[c].out_dims), cases[c].want, 1e-6);
        ot_tensor_free(&y);
        for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
    }
    ot_tensor_free(&x);
}

static void axes_as_input(void **state) {
    (void)state;
    ot_tensor x = arange_234();
    int64_t axes_values[2] = {-1, 0}, one = 2;
    ot_tensor axes = ts_int64(1, &one, axes_values), empty = ts_int64(1, (int64_t[]){0}, axes_values);
    const ot_tensor *in[2] = {&x, &axes};
    ot_attr keep0 = ts_attr_int("keepdims", 0), noop = ts_attr_int("noop_with_empty_axes", 1);
    ot_tensor y = run_op("ReduceSum", 13, 2, in, 1, &keep0);
    assert_shape(&y, 1, (int64_t[]){3});
    assert_floats(&y, 3, (float[]){60, 92, 124}, 1e-6);
    ot_tensor_free(&y);
    /* Opset 18 moves the other reductions' axes to the input as well. */
    y = run_op("ReduceMean", 18, 2, in, 1, &keep0);
    assert_floats(&y, 3, (float[]){7.5f, 11.5f, 15.5f}, 1e-6);
    ot_tensor_free(&y);
    /* Empty axes: everything, or nothing with noop_with_empty_axes. Omitted axes: everything. */
    const ot_tensor *in_empty[2] = {&x, &empty};
    y = run_op("ReduceSum", 13, 2, in_empty, 1, &keep0);
    assert_shape(&y, 0, NULL);
    assert_floats(&y, 1, (float[]){276}, 1e-6);
    ot_tensor_free(&y);
    y = run_op("ReduceSum", 13, 2, in_empty, 1, &noop);
    assert_shape(&y, 3, x.dims);
    assert_floats(&y, 24, x.data, 0);
    ot_tensor_free(&y);
    const ot_tensor *omitted[2] = {&x, NULL};
    y = run_op("ReduceMax", 18, 2, omitted, 1, &keep0);
    assert_floats(&y, 1, (float[]){23}, 0);
    ot_tensor_free(&y);
    ot_attr_free(&keep0);
    ot_attr_free(&noop);
    ot_tensor_free(&axes);
    ot_tensor_free(&empty);
    ot_tensor_free(&x);
}

static void int64_reductions(void **state) {
    (void)state;
    int64_t dims[2] = {2, 2}, v[4] = {1, -2, 3, 4}, axis = 1;
    ot_tensor x = ts_int64(2, dims, v);
    const ot_tensor *in[1] = {&x};
    ot_attr attrs[2] = {ts_attr_int("keepdims", 0), ts_attr_ints("axes", 1, &axis)};
    const char *ops[] = {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceSumSquare"};
    int64_t want[4][2] = {{-1, 7}, {1, 4}, {-2, 3}, {5, 25}};
    for (int o = 0; o < 4; o++) {
        ot_tensor y = run_op(ops[o], 11, 1, in, 2, attrs);
        assert_int_equal(y.dtype, OT_INT64);
        for (int i = 0; i < 2; i++) assert_int_equal(((int64_t *)y.data)[i], want[o][i]);
        ot_tensor_free(&y);
    }
    for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
    ot_tensor_free(&x);
}

static void errors_name_the_node(void **state) {
    (void)state;
    ot_tensor x = arange_234();
    const ot_tensor *in[1] = {&x};
    int64_t out_of_range = 3, repeated[2] = {1, -2};
    ot_attr bad_axis = ts_attr_ints("axes", 1, &out_of_range), twice = ts_attr_ints("axes", 2, repeated);
    ot_attr bad_keep = ts_attr_int("keepdims", 2);
    ts_expect_node_error("ReduceMean", 13, 1, in, NULL, 1, 1, &bad_axis, 1, OT_ERR_INVALID, "out of range");
    ts_expect_node_error("ReduceMax", 13, 1, in, NULL, 1, 1, &twice, 1, OT_ERR_INVALID, "repeated");
    ts_expect_node_error("ReduceL2", 13, 1, in, NULL, 1, 1, &bad_keep, 1, OT_ERR_INVALID, "keepdims");
    /* From opset 13 ReduceSum takes axes as an input only. */
    ts_expect_node_error("ReduceSum", 13, 1, in, NULL, 1, 1, &twice, 1, OT_ERR_INVALID, "input from opset 13");
    /* Axes input out of range, and of the wrong dtype. */
    ot_tensor axes = ts_int64(1, (int64_t[]){1}, (int64_t[]){-4}), float_axes = ts_tensor(1, (int64_t[]){1});
    const ot_tensor *with_axes[2] = {&x, &axes}, *with_float_axes[2] = {&x, &float_axes};
    ts_expect_node_error("ReduceSum", 13, 2, with_axes, NULL, 1, 0, NULL, 1, OT_ERR_INVALID, "out of range");
    ts_expect_node_error("ReduceSum", 13, 2, with_float_axes, NULL, 1, 0, NULL, 1, OT_ERR_INVALID, "int64");
    /* Mean and L2 of integers are not defined here. */
    ot_tensor ints = ts_int64(1, (int64_t[]){1}, (int64_t[]){1});
    const ot_tensor *int_in[1] = {&ints};
    ts_expect_node_error("ReduceMean", 13, 1, int_in, NULL, 1, 0, NULL, 1, OT_ERR_INVALID, "float32");
    /* Axes fed at run time (values unknown when the plan is built) cannot shape the plan: a
     * clear error, not a wrong shape. */
    int as_input[2] = {0, 1};
    ts_expect_node_error("ReduceSum", 13, 2, with_axes, as_input, 1, 0, NULL, 0, OT_ERR_UNSUPPORTED, "axes");
    ot_attr_free(&bad_axis);
    ot_attr_free(&twice);
    ot_attr_free(&bad_keep);
    ot_tensor_free(&axes);
    ot_tensor_free(&float_axes);
    ot_tensor_free(&ints);
    ot_tensor_free(&x);
}

/* Uniform values in [lo, hi) of shape (2, 3, 4), the same for every call. */
static ot_tensor random_234(float lo, float hi) {
    ot_rng rng;
    ot_rng_seed(&rng, 11);
    return ts_random(&rng, 3, (int64_t[]){2, 3, 4}, lo, hi);
}

static void gradcheck_reductions(void **state) {
    (void)state;
    ot_tensor x = random_234(-2.0f, 2.0f);
    const ot_tensor *in[1] = {&x};
    const char *ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceSumSquare",
                         "ReduceL1", "ReduceProd", "ReduceLogSumExp"};
    struct {
        int n_axes;
        int64_t axes[2];
        int keepdims;
    } cases[] = {{1, {1}, 1}, {2, {0, 2}, 0}, {1, {-1}, 0}, {0, {0}, 1}, {2, {0, 1}, 1}};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            ot_attr attrs[2] = {ts_attr_int("keepdims", cases[c].keepdims),
                                ts_attr_ints("axes", cases[c].n_axes, cases[c].axes)};
            ts_gradcheck(ops[o], 11, 1, in, 1, cases[c].n_axes ? 2 : 1, attrs, 0, 1e-3, 1e-2);
            for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
        }
    /* Axes as an input (opset 13 ReduceSum, 18 the others) and the no-op. */
    int64_t axis = 1;
    ot_tensor axes = ts_int64(1, (int64_t[]){1}, &axis), empty = ts_int64(1, (int64_t[]){0}, &axis);
    const ot_tensor *with_axes[2] = {&x, &axes}, *with_empty[2] = {&x, &empty};
    ts_gradcheck("ReduceSum", 13, 2, with_axes, 1, 0, NULL, 0, 1e-3, 1e-2);
    ts_gradcheck("ReduceL2", 18, 2, with_axes, 1, 0, NULL, 0, 1e-3, 1e-2);
    /* ReduceLogSum needs positive sums. */
    ot_tensor positive = random_234(0.2f, 2.0f);
    const ot_tensor *pos_axes[2] = {&positive, &axes}, *pos[1] = {&positive};
    ts_gradcheck("ReduceLogSum", 18, 2, pos_axes, 1, 0, NULL, 0, 1e-3, 1e-2);
    ts_gradcheck("ReduceLogSum", 13, 1, pos, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&positive);
    ot_attr noop = ts_attr_int("noop_with_empty_axes", 1);
    ts_gradcheck("ReduceSum", 13, 2, with_empty, 1, 1, &noop, 0, 1e-3, 1e-2);
    ot_attr_free(&noop);
    ot_tensor_free(&axes);
    ot_tensor_free(&empty);
    ot_tensor_free(&x);
}

/* d sum(y) / dx for a reduction along axis 1 with keepdims 0. */
static void gradient_along_axis1(const char *op, const ot_tensor *x, float *grad) {
    int64_t axis = 1;
    ot_attr attrs[2] = {ts_attr_int("keepdims", 0), ts_attr_ints("axes", 1, &axis)};
    const ot_tensor *in[1] = {x};
    ot_model *m = ts_single_node("", op, 13, 1, in, NULL, 1, 2, attrs);
    unsigned char *trainable = calloc((size_t)m->n_values + 1, 1);
    int v = ot_model_find_value(m, "x0");
    trainable[v] = 1;
    ot_plan_options options = {.training = 1, .trainable = trainable};
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    ot_plan_zero_grads(plan);
    ot_tensor *dy = ot_plan_grad(plan, m->outputs[0]);
    for (int64_t i = 0; i < ot_tensor_numel(dy); i++) ((float *)dy->data)[i] = 1.0f;
    assert_int_equal(ot_plan_backward(plan), OT_OK);
    memcpy(grad, ot_plan_grad(plan, v)->data, sizeof(float) * (size_t)ot_tensor_numel(x));
    ot_plan_free(plan);
    free(trainable);
    ot_model_free(m);
    for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
}

/* Ties share the gradient equally (torch.amax); a zero L2 norm gives 0, not NaN (torch.norm). */
/* Expects d sum(y) / dx of `op` along axis 1 on the (2, 3) values v to be want. */
static void expect_axis1_gradient(const char *op, const float *v, const float *want, double tol) {
    int64_t dims[2] = {2, 3};
    float grad[6];
    ot_tensor x = ts_float(2, dims, v);
    gradient_along_axis1(op, &x, grad);
    for (int i = 0; i < 6; i++) assert_float_equal(grad[i], want[i], tol);
    ot_tensor_free(&x);
}

static void ties_and_zero_norm(void **state) {
    (void)state;
    float v[6] = {1, 3, 3, 2, 2, 0};
    expect_axis1_gradient("ReduceMax", v, (float[]){0, 0.5f, 0.5f, 0.5f, 0.5f, 0}, 1e-7);
    expect_axis1_gradient("ReduceMin", v, (float[]){1, 0, 0, 0, 0, 1}, 1e-7);
    expect_axis1_gradient("ReduceL2", (float[]){0, 0, 0, 3, 0, 4}, (float[]){0, 0, 0, 0.6f, 0, 0.8f}, 1e-6);
    /* Prod with zeros (torch.prod): a lone zero gets the others' product, two zeros give 0. */
    float z[6] = {0, 2, 3, 0, 0, 4};
    expect_axis1_gradient("ReduceProd", z, (float[]){6, 0, 0, 0, 0, 0}, 1e-7);
    expect_axis1_gradient("ReduceL1", z, (float[]){0, 1, 1, 0, 0, 1}, 1e-7);
}

/* ReduceLogSumExp shifts by the maximum: no overflow at 1000, -inf rows stay -inf. */
static void log_sum_exp_is_stable(void **state) {
    (void)state;
    int64_t dims[2] = {2, 2}, axis = 1;
    float v[4] = {1000.0f, 1000.0f, -INFINITY, -INFINITY};
    ot_tensor x = ts_float(2, dims, v);
    const ot_tensor *in[1] = {&x};
    ot_attr attrs[2] = {ts_attr_int("keepdims", 0), ts_attr_ints("axes", 1, &axis)};
    ot_tensor y = run_op("ReduceLogSumExp", 13, 1, in, 2, attrs);
    assert_float_equal(((float *)y.data)[0], 1000.0f + logf(2.0f), 1e-3);
    assert_true(isinf(((float *)y.data)[1]) && ((float *)y.data)[1] < 0);
    ot_tensor_free(&y);
    for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
    ot_tensor_free(&x);
}

/* ArgMin picks the smallest (the first NaN before any number; select_last_index for ties);
 * ReduceL1 ReduceProd ReduceLogSum on values with int64 forms. */
static void argmin_and_new_reductions(void **state) {
    (void)state;
    int64_t dims[2] = {2, 3}, axis = 1;
    float v[6] = {3, 1, 1, 2, NAN, 0};
    ot_tensor x = ts_float(2, dims, v);
    const ot_tensor *in[1] = {&x};
    ot_attr attrs[3] = {ts_attr_int("axis", 1), ts_attr_int("keepdims", 0), ts_attr_int("select_last_index", 1)};
    ot_tensor y = run_op("ArgMin", 13, 1, in, 2, attrs);
    ts_expect_int64s(&y, (int64_t[]){1, 1}, 2);
    ot_tensor_free(&y);
    y = run_op("ArgMin", 13, 1, in, 3, attrs);
    ts_expect_int64s(&y, (int64_t[]){2, 1}, 2);
    ot_tensor_free(&y);
    for (int a = 0; a < 3; a++) ot_attr_free(&attrs[a]);
    ot_tensor_free(&x);
    int64_t iv[6] = {-1, 2, -3, 4, 5, -6};
    float fv[6] = {-1, 2, -3, 4, 5, -6};
    ot_tensor xi = ts_int64(2, dims, iv), xf = ts_float(2, dims, fv);
    const ot_tensor *ini[1] = {&xi}, *inf_[1] = {&xf};
    ot_attr red[2] = {ts_attr_int("keepdims", 0), ts_attr_ints("axes", 1, &axis)};
    y = run_op("ReduceL1", 13, 1, ini, 2, red);
    ts_expect_int64s(&y, (int64_t[]){6, 15}, 2);
    ot_tensor_free(&y);
    y = run_op("ReduceProd", 13, 1, ini, 2, red);
    ts_expect_int64s(&y, (int64_t[]){6, -120}, 2);
    ot_tensor_free(&y);
    y = run_op("ReduceProd", 13, 1, inf_, 2, red);
    assert_floats(&y, 2, (float[]){6.0f, -120.0f}, 0.0);
    ot_tensor_free(&y);
    y = run_op("ReduceL1", 13, 1, inf_, 2, red);
    assert_floats(&y, 2, (float[]){6.0f, 15.0f}, 0.0);
    ot_tensor_free(&y);
    for (int a = 0; a < 2; a++) ot_attr_free(&red[a]);
    ot_tensor_free(&xi);
    ot_tensor_free(&xf);
}

/* TopK: the k best values best first with their indices (ties: lower index first; NaN the
 * largest), k as attribute (opset 1) or input (10, 11 with largest = 0); the values'
 * gradient goes back to the picked elements (checked on output 0 only: the indices carry
 * none). */
static void topk_values_and_gradient(void **state) {
    (void)state;
    int64_t dims[2] = {2, 4}, k2 = 2;
    float v[8] = {1, 4, 4, 2, NAN, 0, 3, -1};
    ot_tensor x = ts_float(2, dims, v), k = ts_int64(1, (int64_t[]){1}, &k2);
    const ot_tensor *in[2] = {&x, &k};
    ot_attr largest = ts_attr_int("largest", 0), k_attr = ts_attr_int("k", 2);
    ot_model *m = ts_single_node("", "TopK", 11, 2, in, NULL, 2, 0, NULL);
    ot_tensor y = ts_run(m, 0, NULL, 0), idx = ts_run(m, 0, NULL, 1);
    ot_model_free(m);
    assert_true(isnan(((float *)y.data)[2]));
    assert_float_equal(((float *)y.data)[0], 4.0f, 0.0);
    assert_float_equal(((float *)y.data)[3], 3.0f, 0.0);
    ts_expect_int64s(&idx, (int64_t[]){1, 2, 0, 2}, 4);
    ts_free_tensors((ot_tensor[]){y, idx}, 2);
    m = ts_single_node("", "TopK", 11, 2, in, NULL, 2, 1, &largest);
    idx = ts_run(m, 0, NULL, 1);
    ot_model_free(m);
    ts_expect_int64s(&idx, (int64_t[]){0, 3, 3, 1}, 4);
    ot_tensor_free(&idx);
    m = ts_single_node("", "TopK", 1, 1, in, NULL, 2, 1, &k_attr);
    idx = ts_run(m, 0, NULL, 1);
    ot_model_free(m);
    ts_expect_int64s(&idx, (int64_t[]){1, 2, 0, 2}, 4);
    ot_tensor_free(&idx);
    /* Gradient: distinct values, a loss on Values only. */
    ot_tensor r = random_234(-2.0f, 2.0f);
    const ot_tensor *rin[2] = {&r, &k};
    m = ts_single_node("", "TopK", 11, 2, rin, NULL, 2, 0, NULL);
    m->n_outputs = 1;
    unsigned char *checked = ts_calloc((size_t)m->n_values, 1);
    checked[ot_model_find_value(m, "x0")] = 1;
    ot_plan_options options = ts_plan_options();
    ts_gradcheck_model(&options, m, "TopK", checked, 0, 1e-3, 1e-2);
    free(checked);
    ot_model_free(m);
    ts_free_tensors((ot_tensor[]){x, k, r}, 3);
    ot_attr_free(&largest);
    ot_attr_free(&k_attr);
}

/* ArgMax ---------------------------------------------------------------------------------- */

static void argmax_forms(void **state) {
    (void)state;
    /* [[2, 1], [3, 10]] with a tie in row 0 of the second case. */
    int64_t dims[2] = {2, 3};
    float v[6] = {2, 5, 5, 7, -1, 7};
    ot_tensor x = ts_float(2, dims, v);
    const ot_tensor *in[1] = {&x};
    struct {
        int64_t axis, keepdims, last, opset;
        int ndim;
        int64_t dims[2], want[3];
    } cases[] = {
        {1, 1, 0, 13, 2, {2, 1}, {1, 0}},      {1, 1, 1, 13, 2, {2, 1}, {2, 2}},
        {-1, 0, 0, 12, 1, {2}, {1, 0}},        {0, 1, 0, 11, 2, {1, 3}, {1, 0, 1}},
        {0, 0, 1, 13, 1, {3}, {1, 0, 1}},      {-2, 1, 0, 1, 2, {1, 3}, {1, 0, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ot_attr attrs[3] = {ts_attr_int("axis", cases[i].axis), ts_attr_int("keepdims", cases[i].keepdims),
                            ts_attr_int("select_last_index", cases[i].last)};
        ot_tensor y = run_op("ArgMax", (int)cases[i].opset, 1, in, cases[i].opset >= 12 ? 3 : 2, attrs);
        assert_int_equal(y.dtype, OT_INT64);
        assert_shape(&y, cases[i].ndim, cases[i].dims);
        for (int64_t k = 0; k < ot_tensor_numel(&y); k++) assert_int_equal(((int64_t *)y.data)[k], cases[i].want[k]);
        ot_tensor_free(&y);
        for (int a = 0; a < 3; a++) ot_attr_free(&attrs[a]);
    }
    /* int64 input, default axis 0; NaN counts as the largest value, as in numpy. */
    int64_t iv[6] = {4, -3, 9, 4, 8, -9};
    ot_tensor xi = ts_int64(2, dims, iv);
    const ot_tensor *in_i[1] = {&xi};
    ot_tensor y = run_op("ArgMax", 13, 1, in_i, 0, NULL);
    assert_shape(&y, 2, (int64_t[]){1, 3});
    int64_t want_i[3] = {0, 1, 0};
    for (int k = 0; k < 3; k++) assert_int_equal(((int64_t *)y.data)[k], want_i[k]);
    ot_tensor_free(&y);
    ((float *)x.data)[4] = NAN;
    ot_attr axis1 = ts_attr_int("axis", 1);
    y = run_op("ArgMax", 13, 1, in, 1, &axis1);
    assert_int_equal(((int64_t *)y.data)[1], 1);
    ot_tensor_free(&y);
    ot_attr bad_axis = ts_attr_int("axis", 2), bad_last = ts_attr_int("select_last_index", 3);
    ts_expect_node_error("ArgMax", 13, 1, in, NULL, 1, 1, &bad_axis, 1, OT_ERR_INVALID, "out of range");
    ts_expect_node_error("ArgMax", 13, 1, in, NULL, 1, 1, &bad_last, 1, OT_ERR_INVALID, "select_last_index");
    ot_attr_free(&axis1);
    ot_attr_free(&bad_axis);
    ot_attr_free(&bad_last);
    ot_tensor_free(&xi);
    ot_tensor_free(&x);
}

/* CumSum ---------------------------------------------------------------------------------- */

/* CumSum of x along `axis` with the given flags (the ONNX backend tests' cases, which are
 * float64 there and out of scope, see tests/backend/skipped.txt). */
static void expect_cumsum(const ot_tensor *x, int64_t axis, int exclusive, int reverse, const float *want) {
    ot_tensor a = ts_int64(0, NULL, &axis);
    const ot_tensor *in[2] = {x, &a};
    ot_attr attrs[2] = {ts_attr_int("exclusive", exclusive), ts_attr_int("reverse", reverse)};
    ot_tensor y = run_op("CumSum", 14, 2, in, 2, attrs);
    assert_shape(&y, x->ndim, x->dims);
    assert_floats(&y, (int)ot_tensor_numel(x), want, 1e-6);
    ot_tensor_free(&y);
    ot_tensor_free(&a);
    for (int i = 0; i < 2; i++) ot_attr_free(&attrs[i]);
}

static void cumsum_forms(void **state) {
    (void)state;
    int64_t d5[1] = {5}, d23[2] = {2, 3};
    ot_tensor x = ts_float(1, d5, (float[]){1, 2, 3, 4, 5});
    expect_cumsum(&x, 0, 0, 0, (float[]){1, 3, 6, 10, 15});
    expect_cumsum(&x, 0, 1, 0, (float[]){0, 1, 3, 6, 10});
    expect_cumsum(&x, 0, 0, 1, (float[]){15, 14, 12, 9, 5});
    expect_cumsum(&x, 0, 1, 1, (float[]){14, 12, 9, 5, 0});
    ot_tensor_free(&x);
    x = ts_float(2, d23, (float[]){1, 2, 3, 4, 5, 6});
    expect_cumsum(&x, 0, 0, 0, (float[]){1, 2, 3, 5, 7, 9});
    expect_cumsum(&x, 1, 0, 0, (float[]){1, 3, 6, 4, 9, 15});
    expect_cumsum(&x, -1, 0, 0, (float[]){1, 3, 6, 4, 9, 15});
    expect_cumsum(&x, -1, 1, 1, (float[]){5, 3, 0, 11, 6, 0});
    ot_tensor_free(&x);
    /* int64 sums, an int32 axis, and opset 11. */
    int64_t iv[3] = {INT64_MAX, 1, -5};
    ot_tensor xi = ts_int64(1, (int64_t[]){3}, iv), a32;
    assert_int_equal(ot_tensor_alloc(NULL, &a32, OT_INT32, 0, NULL, "axis"), OT_OK);
    const ot_tensor *in[2] = {&xi, &a32};
    ot_tensor y = run_op("CumSum", 11, 2, in, 0, NULL);
    assert_int_equal(y.dtype, OT_INT64);
    assert_int_equal(((int64_t *)y.data)[0], INT64_MAX);
    assert_int_equal(((int64_t *)y.data)[1], INT64_MIN); /* wraps, as two's complement */
    assert_int_equal(((int64_t *)y.data)[2], INT64_MAX - 4);
    ot_tensor_free(&y);
    ot_tensor_free(&xi);
    ot_tensor_free(&a32);
}

static void cumsum_gradients(void **state) {
    (void)state;
    ot_tensor x = random_234(-1.0f, 1.0f);
    for (int64_t axis = -3; axis < 3; axis += 2)
        for (int flags = 0; flags < 4; flags++) {
            ot_tensor a = ts_int64(0, NULL, &axis);
            const ot_tensor *in[2] = {&x, &a};
            ot_attr attrs[2] = {ts_attr_int("exclusive", flags & 1), ts_attr_int("reverse", flags >> 1)};
            ts_gradcheck("CumSum", 14, 2, in, 1, 2, attrs, 0, 1e-3, 1e-2);
            for (int i = 0; i < 2; i++) ot_attr_free(&attrs[i]);
            ot_tensor_free(&a);
        }
    ot_tensor_free(&x);
    /* Hand-checked: y = exclusive cumsum of 3 values, dy = 1: dx = [2, 1, 0]. */
    ot_tensor x3 = ts_float(1, (int64_t[]){3}, (float[]){1, 2, 3}), a0 = ts_int64(0, NULL, (int64_t[]){0});
    ot_tensor dy = ts_float(1, (int64_t[]){3}, (float[]){1, 1, 1}), got[3];
    const ot_tensor *in[2] = {&x3, &a0};
    ot_attr exclusive = ts_attr_int("exclusive", 1);
    ts_forward_backward("CumSum", 14, 2, in, 1, &exclusive, &dy, got);
    assert_floats(&got[1], 3, (float[]){2, 1, 0}, 1e-7);
    ts_free_tensors(got, 3);
    ot_attr_free(&exclusive);
    ot_tensor_free(&x3);
    ot_tensor_free(&a0);
    ot_tensor_free(&dy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_with_axes_attribute),
        cmocka_unit_test(axes_as_input),
        cmocka_unit_test(int64_reductions),
        cmocka_unit_test(errors_name_the_node),
        cmocka_unit_test(gradcheck_reductions),
        cmocka_unit_test(ties_and_zero_norm),
        cmocka_unit_test(argmax_forms),
        cmocka_unit_test(argmin_and_new_reductions),
        cmocka_unit_test(log_sum_exp_is_stable),
        cmocka_unit_test(topk_values_and_gradient),
        cmocka_unit_test(cumsum_forms),
        cmocka_unit_test(cumsum_gradients),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
