/* Shape family: forward values against numpy (values generated with numpy and written out,
 * or closed-form index formulas), every opset form (attribute vs input), int64 and bool data,
 * errors that name the node. Gradients: test_shape_gradients.c. */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "test_support.h"
#include "onnxtrain/graph.h"


/* Runs one node: input 0 is a graph input fed at run time, the others are initializers
 * (known when the plan is built). Returns a copy of output `out_k`. */
static ot_tensor run_op(const char *op, int opset, int n_in, const ot_tensor *const *in, int n_out,
                        int out_k, int n_attrs, const ot_attr *attrs) {
    int as_input[8] = {1};
    ot_model *m = ts_single_node("", op, opset, n_in, in, as_input, n_out, n_attrs, attrs);
    ot_tensor y = ts_run(m, 1, in[0], out_k);
    ot_model_free(m);
    return y;
}

/* Builds the plan and runs forward; expects OT_ERR_INVALID with a message naming the node
 * and containing `needle`. `as_input` marks graph inputs, fed from `in`. */
static void expect_error(const char *op, int opset, int n_in, const ot_tensor *const *in,
                         const int *as_input, int n_out, int n_attrs, const ot_attr *attrs,
                         const char *needle) {
    static const int first_only[8] = {1};
    if (!as_input) as_input = first_only;
    ot_model *m = ts_single_node("", op, opset, n_in, in, as_input, n_out, n_attrs, attrs);
    ot_tensor feeds[8];
    for (int k = 0, f = 0; k < n_in; k++)
        if (as_input[k] && in[k]) feeds[f++] = *in[k];
    /* Shapes only: these inputs are run-time data, unknown while the plan is built. */
    ot_tensor shapes[8];
    for (int k = 0; k < m->n_inputs; k++) {
        shapes[k] = feeds[k];
        shapes[k].data = NULL;
    }
    ot_plan *plan = NULL;
    ot_status status = ot_plan_create(m, NULL, m->n_inputs, m->inputs, shapes, &plan);
    if (status == OT_OK) {
        for (int k = 0; k < m->n_inputs; k++) ot_plan_value(plan, m->inputs[k])->data = feeds[k].data;
        status = ot_plan_forward(plan);
        ot_plan_free(plan);
    }
    if (status != OT_ERR_INVALID) fail_msg("%s: expected an error containing '%s', got %s (%s)", op,
                                           needle, ot_status_name(status), ot_last_error());
    char node[64];
    snprintf(node, sizeof node, "%s node 'node'", op);
    if (!strstr(ot_last_error(), node) || !strstr(ot_last_error(), needle))
        fail_msg("%s: message '%s' should name the node and contain '%s'", op, ot_last_error(), needle);
    ot_model_free(m);
}

/* Resolves a one-node model and returns the status (for attribute errors found by parse). */
static ot_status resolve_status(const char *op, int opset, int n_attrs, const ot_attr *attrs) {
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", opset), OT_OK);
    int x;
    assert_int_equal(ot_model_add_value(m, "x", OT_VALUE_INPUT, &x), OT_OK);
    const char *in[1] = {"x"}, *out[1] = {"y"};
    int li;
    assert_int_equal(ot_model_add_layer(m, "node", op, "", 1, in, 1, out, &li), OT_OK);
    for (int a = 0; a < n_attrs; a++) assert_int_equal(ot_layer_add_attr(&m->layers[li], &attrs[a]), OT_OK);
    ot_status status = ot_graph_resolve(m);
    ot_model_free(m);
    return status;
}

static void expect_shape(const ot_tensor *t, int ndim, const int64_t *dims) {
    char got[128], want[128];
    ot_shape_string(t->ndim, t->dims, got, sizeof got);
    ot_shape_string(ndim, dims, want, sizeof want);
    if (t->ndim != ndim || strcmp(got, want)) fail_msg("shape %s, expected %s", got, want);
}

/* 0, 1, 2, ... as float32 or int64. */
static ot_tensor arange_float(int ndim, const int64_t *dims) {
    ot_tensor t = ts_tensor(ndim, dims);
    for (int64_t i = 0; i < ot_tensor_numel(&t); i++) ((float *)t.data)[i] = (float)i;
    return t;
}

static ot_tensor arange_int64(int ndim, const int64_t *dims) {
    ot_tensor t;
    assert_int_equal(ot_tensor_alloc(NULL, &t, OT_INT64, ndim, dims, "test"), OT_OK);
    for (int64_t i = 0; i < ot_tensor_numel(&t); i++) ((int64_t *)t.data)[i] = i;
    return t;
}

/* Shape ---------------------------------------------------------------------------------- */

static void shape_with_start_end(void **state) {
    (void)state;
    ot_tensor x = ts_tensor(4, I64(2, 3, 4, 5));
    const ot_tensor *in[1] = {&x};
    ot_tensor y = run_op("Shape", 15, 1, in, 1, 0, 0, NULL);
    ts_expect_int64s(&y, I64(2, 3, 4, 5), 4);
    ot_tensor_free(&y);
    ot_attr attrs[2] = {ts_attr_int("start", -3), ts_attr_int("end", -1)};
    y = run_op("Shape", 15, 1, in, 1, 0, 2, attrs);
    ts_expect_int64s(&y, I64(3, 4), 2);
    ot_tensor_free(&y);
    ot_attr clipped[2] = {ts_attr_int("start", -10), ts_attr_int("end", 10)};
    y = run_op("Shape", 15, 1, in, 1, 0, 2, clipped);
    ts_expect_int64s(&y, I64(2, 3, 4, 5), 4);
    ot_tensor_free(&y);
    for (int a = 0; a < 2; a++) {
        ot_attr_free(&attrs[a]);
        ot_attr_free(&clipped[a]);
    }
    ot_tensor_free(&x);
}

/* Reshape, Flatten, Squeeze, Unsqueeze --------------------------------------------------- */

static void reshape_forms(void **state) {
    (void)state;
    ot_tensor x = arange_int64(3, I64(2, 3, 4));
    ot_tensor shape = ts_int64(1, I64(3), I64(0, -1, 2));
    const ot_tensor *in[2] = {&x, &shape};
    ot_tensor y = run_op("Reshape", 14, 2, in, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(2, 6, 2));
    assert_int_equal(y.dtype, OT_INT64);
    for (int i = 0; i < 24; i++) assert_int_equal(((int64_t *)y.data)[i], i);
    ot_tensor_free(&y);

    /* Opset 1-4: the shape is an attribute. */
    ot_attr attr = ts_attr_ints("shape", 2, I64(4, -1));
    y = run_op("Reshape", 4, 1, in, 1, 0, 1, &attr);
    expect_shape(&y, 2, I64(4, 6));
    ot_tensor_free(&y);
    ot_attr_free(&attr);

    /* allowzero: a 0 is a real 0-sized dim, not a copy. */
    ot_tensor empty = ts_tensor(2, I64(0, 3));
    ot_tensor to_zero = ts_int64(1, I64(2), I64(3, 0));
    const ot_tensor *ein[2] = {&empty, &to_zero};
    ot_attr allowzero = ts_attr_int("allowzero", 1);
    y = run_op("Reshape", 14, 2, ein, 1, 0, 1, &allowzero);
    expect_shape(&y, 2, I64(3, 0));
    ot_tensor_free(&y);
    ot_attr_free(&allowzero);
    /* Without it the 0 copies dim 1 (3): 9 elements from 0. */
    expect_error("Reshape", 14, 2, ein, NULL, 1, 0, NULL, "cannot reshape [0,3] (0 elements) into [3,0]");
    ts_free_tensors((ot_tensor[]){x, shape, empty, to_zero}, 4);
}

static void reshape_errors(void **state) {
    (void)state;
    ot_tensor x = ts_tensor(2, I64(2, 6));
    struct { int64_t dims[4]; int n; const char *needle; } cases[] = {
        {{5, 5}, 2, "cannot reshape [2,6] (12 elements) into [5,5]"},
        {{-1, -1}, 2, "more than one -1"},
        {{-2, 6}, 2, "negative dim -2"},
        {{3, 0, 0, 2}, 4, "copies dim 2 (0), but the input [2,6] has only 2 dims"},
        {{0, -1}, 2, "shape [0,-1]: the -1 dim cannot be inferred next to a 0 dim"},
    };
    for (int i = 0; i < OT_COUNT(cases); i++) {
        ot_tensor shape = ts_int64(1, (int64_t[]){cases[i].n}, cases[i].dims);
        const ot_tensor *in[2] = {&x, &shape};
        if (i == 4) {
            ot_tensor zero = ts_tensor(2, I64(0, 6));
            const ot_tensor *zin[2] = {&zero, &shape};
            expect_error("Reshape", 14, 2, zin, NULL, 1, 0, NULL, cases[i].needle);
            ot_tensor_free(&zero);
        } else {
            expect_error("Reshape", 14, 2, in, NULL, 1, 0, NULL, cases[i].needle);
        }
        ot_tensor_free(&shape);
    }
    /* A shape only known at run time cannot decide the plan's shapes. */
    ot_tensor shape = ts_int64(1, I64(2), I64(3, 4));
    const ot_tensor *in[2] = {&x, &shape};
    expect_error("Reshape", 14, 2, in, (const int[]){1, 1}, 1, 0, NULL, "must be known when the plan is built");
    ot_tensor_free(&shape);
    ot_tensor_free(&x);
}

static void flatten_axes(void **state) {
    (void)state;
    ot_tensor x = arange_float(3, I64(2, 3, 4));
    const ot_tensor *in[1] = {&x};
    struct { int64_t axis; int64_t dims[2]; } cases[] = {
        {0, {1, 24}}, {1, {2, 12}}, {3, {24, 1}}, {-1, {6, 4}}, {-3, {1, 24}},
    };
    for (int i = 0; i < OT_COUNT(cases); i++) {
        ot_attr axis = ts_attr_int("axis", cases[i].axis);
        ot_tensor y = run_op("Flatten", 13, 1, in, 1, 0, 1, &axis);
        expect_shape(&y, 2, cases[i].dims);
        for (int j = 0; j < 24; j++) assert_int_equal(((float *)y.data)[j], j);
        ot_tensor_free(&y);
        ot_attr_free(&axis);
    }
    ot_tensor y = run_op("Flatten", 13, 1, in, 1, 0, 0, NULL); /* default axis 1 */
    expect_shape(&y, 2, I64(2, 12));
    ot_tensor_free(&y);
    for (int64_t bad = -4; bad <= 4; bad += 8) {
        ot_attr axis = ts_attr_int("axis", bad);
        expect_error("Flatten", 13, 1, in, NULL, 1, 1, &axis, "out of range for rank 3");
        ot_attr_free(&axis);
    }
    ot_tensor_free(&x);
}

static void squeeze_and_unsqueeze(void **state) {
    (void)state;
    ot_tensor x = arange_int64(4, I64(1, 3, 1, 2));
    const ot_tensor *in1[1] = {&x};
    /* Opset 11: axes attribute, negative allowed. */
    ot_attr axes = ts_attr_ints("axes", 1, I64(-2));
    ot_tensor y = run_op("Squeeze", 11, 1, in1, 1, 0, 1, &axes);
    expect_shape(&y, 3, I64(1, 3, 2));
    ts_expect_int64s(&y, I64(0, 1, 2, 3, 4, 5), 6);
    ot_tensor_free(&y);
    ot_attr_free(&axes);
    /* Opset 13: axes input; absent means every size-1 dim. */
    ot_tensor axes_in = ts_int64(1, I64(2), I64(0, 2));
    const ot_tensor *in2[2] = {&x, &axes_in};
    y = run_op("Squeeze", 13, 2, in2, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(3, 2));
    ot_tensor_free(&y);
    y = run_op("Squeeze", 13, 1, in1, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(3, 2));
    ot_tensor_free(&y);
    ot_tensor_free(&axes_in);
    struct { int64_t axes[2]; int n; const char *needle; } bad[] = {
        {{1}, 1, "cannot squeeze axis 1 of size 3"},
        {{4}, 1, "axis 4 is out of range for rank 4"},
        {{0, -4}, 2, "axis 0 is given twice"},
    };
    for (int i = 0; i < OT_COUNT(bad); i++) {
        ot_tensor a = ts_int64(1, (int64_t[]){bad[i].n}, bad[i].axes);
        const ot_tensor *in[2] = {&x, &a};
        expect_error("Squeeze", 13, 2, in, NULL, 1, 0, NULL, bad[i].needle);
        ot_tensor_free(&a);
    }

    ot_tensor z = arange_float(2, I64(3, 2));
    const ot_tensor *zin[1] = {&z};
    ot_attr uaxes = ts_attr_ints("axes", 2, I64(0, -1));
    y = run_op("Unsqueeze", 11, 1, zin, 1, 0, 1, &uaxes);
    expect_shape(&y, 4, I64(1, 3, 2, 1));
    ts_expect_floats(&y, F32(0, 1, 2, 3, 4, 5), 6);
    ot_tensor_free(&y);
    ot_attr_free(&uaxes);
    ot_tensor ua = ts_int64(1, I64(2), I64(-1, 1)); /* unsorted, negative */
    const ot_tensor *uin[2] = {&z, &ua};
    y = run_op("Unsqueeze", 13, 2, uin, 1, 0, 0, NULL);
    expect_shape(&y, 4, I64(3, 1, 2, 1));
    ot_tensor_free(&y);
    ot_tensor_free(&ua);
    ot_tensor dup = ts_int64(1, I64(2), I64(1, -3));
    const ot_tensor *din[2] = {&z, &dup};
    expect_error("Unsqueeze", 13, 2, din, NULL, 1, 0, NULL, "axis 1 is given twice");
    ot_tensor_free(&dup);
    ot_tensor far = ts_int64(1, I64(1), I64(3));
    const ot_tensor *fin[2] = {&z, &far};
    expect_error("Unsqueeze", 13, 2, fin, NULL, 1, 0, NULL, "axis 3 is out of range for rank 3");
    ot_tensor_free(&far);
    expect_error("Unsqueeze", 13, 1, zin, NULL, 1, 0, NULL, "needs axes");
    ot_tensor_free(&z);
    ot_tensor_free(&x);
}

/* Transpose, Expand, Tile ---------------------------------------------------------------- */

static void transpose_perms(void **state) {
    (void)state;
    ot_tensor xf = arange_float(3, I64(2, 3, 4));
    ot_tensor xi = arange_int64(3, I64(2, 3, 4));
    /* perm (1, 2, 0): y[a][b][c] = x[c][a][b] = 12c + 4a + b */
    ot_attr perm = ts_attr_ints("perm", 3, I64(1, 2, 0));
    for (int t = 0; t < 2; t++) {
        const ot_tensor *in[1] = {t ? &xi : &xf};
        ot_tensor y = run_op("Transpose", 13, 1, in, 1, 0, 1, &perm);
        expect_shape(&y, 3, I64(3, 4, 2));
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 2; c++) {
                    int64_t at = (a * 4 + b) * 2 + c, want = 12 * c + 4 * a + b;
                    if (t) assert_int_equal(((int64_t *)y.data)[at], want);
                    else assert_int_equal((int64_t)((float *)y.data)[at], want);
                }
        ot_tensor_free(&y);
    }
    ot_attr_free(&perm);
    /* default: dims reversed, y[a][b][c] = x[c][b][a] */
    const ot_tensor *in[1] = {&xi};
    ot_tensor y = run_op("Transpose", 13, 1, in, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(4, 3, 2));
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++)
                assert_int_equal(((int64_t *)y.data)[(a * 3 + b) * 2 + c], 12 * c + 4 * b + a);
    ot_tensor_free(&y);
    ot_attr bad = ts_attr_ints("perm", 3, I64(0, 0, 1));
    expect_error("Transpose", 13, 1, in, NULL, 1, 1, &bad, "not a permutation");
    ot_attr_free(&bad);
    ot_attr short_perm = ts_attr_ints("perm", 2, I64(1, 0));
    expect_error("Transpose", 13, 1, in, NULL, 1, 1, &short_perm, "perm has 2 values");
    ot_attr_free(&short_perm);
    ot_tensor_free(&xf);
    ot_tensor_free(&xi);
}

static void expand_broadcasts(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(3, 1), F32(1, 2, 3));
    ot_tensor shape = ts_int64(1, I64(3), I64(2, 1, 4));
    const ot_tensor *in[2] = {&x, &shape};
    ot_tensor y = run_op("Expand", 13, 2, in, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(2, 3, 4));
    for (int i = 0; i < 24; i++) assert_float_equal(((float *)y.data)[i], 1 + (i / 4) % 3, 0);
    ot_tensor_free(&y);
    /* A shorter shape with 1s keeps the input's larger dims. */
    ot_tensor ones = ts_int64(1, I64(1), I64(1));
    const ot_tensor *in1[2] = {&x, &ones};
    y = run_op("Expand", 8, 2, in1, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(3, 1));
    ts_expect_floats(&y, F32(1, 2, 3), 3);
    ot_tensor_free(&y);
    ot_tensor bad = ts_int64(1, I64(2), I64(2, 5));
    const ot_tensor *bin[2] = {&x, &bad};
    expect_error("Expand", 13, 2, bin, NULL, 1, 0, NULL, "cannot be expanded to shape [2,5]");
    ts_free_tensors((ot_tensor[]){x, shape, ones, bad}, 4);
}

/* Trilu on the arange of (2, 3, 4): element (b, i, j) = 12 b + 4 i + j is kept when
 * j - i >= k (upper) or j - i <= k (lower), else 0. */
static void trilu_triangles(void **state) {
    (void)state;
    ot_tensor x = arange_float(3, I64(2, 3, 4)), xi = arange_int64(3, I64(2, 3, 4));
    for (int upper = 0; upper < 2; upper++)
        for (int64_t k = -4; k <= 5; k++) {
            ot_tensor kt = ts_int64(0, NULL, &k);
            ot_attr attr = ts_attr_int("upper", upper);
            for (int as_int = 0; as_int < 2; as_int++) {
                const ot_tensor *in[2] = {as_int ? &xi : &x, &kt};
                ot_tensor y = run_op("Trilu", 14, 2, in, 1, 0, upper ? 0 : 1, &attr);
                expect_shape(&y, 3, I64(2, 3, 4));
                for (int64_t e = 0; e < 24; e++) {
                    int64_t i = (e / 4) % 3, j = e % 4, keep = upper ? j - i >= k : j - i <= k;
                    double got = as_int ? (double)((int64_t *)y.data)[e] : ((float *)y.data)[e];
                    if (got != (keep ? (double)e : 0.0)) fail_msg("upper %d k %lld [%lld]: got %g", upper, (long long)k, (long long)e, got);
                }
                ot_tensor_free(&y);
            }
            ot_attr_free(&attr);
            ot_tensor_free(&kt);
        }
    /* Without k: the main diagonal, upper by default. */
    const ot_tensor *in1[1] = {&x};
    ot_tensor y = run_op("Trilu", 14, 1, in1, 1, 0, 0, NULL);
    ts_expect_floats(&y, F32(0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11, 12, 13, 14, 15, 0, 17, 18, 19, 0, 0, 22, 23), 24);
    ot_tensor_free(&y);
    ot_tensor v = arange_float(1, I64(4)), kf = ts_float(0, NULL, F32(1));
    expect_error("Trilu", 14, 1, (const ot_tensor *[]){&v}, NULL, 1, 0, NULL, "rank 2 or more");
    expect_error("Trilu", 14, 2, (const ot_tensor *[]){&x, &kf}, NULL, 1, 0, NULL, "k must be int64");
    ot_attr bad = ts_attr_int("upper", 2);
    assert_int_equal(resolve_status("Trilu", 14, 1, &bad), OT_ERR_INVALID);
    ot_attr_free(&bad);
    ts_free_tensors((ot_tensor[]){x, xi, v, kf}, 4);
}

/* Size: the element count as an int64 scalar, for any dtype. */
static void size_counts(void **state) {
    (void)state;
    ot_tensor x = arange_int64(3, I64(2, 3, 4)), empty = ts_tensor(2, I64(3, 0));
    for (int i = 0; i < 2; i++) {
        ot_tensor y = run_op("Size", 13, 1, (const ot_tensor *[]){i ? &empty : &x}, 1, 0, 0, NULL);
        expect_shape(&y, 0, NULL);
        ts_expect_int64s(&y, I64(i ? 0 : 24), 1);
        ot_tensor_free(&y);
    }
    ts_free_tensors((ot_tensor[]){x, empty}, 2);
}

static void tile_repeats(void **state) {
    (void)state;
    ot_tensor x = ts_int64(2, I64(2, 2), I64(1, 2, 3, 4));
    ot_tensor repeats = ts_int64(1, I64(2), I64(2, 3));
    const ot_tensor *in[2] = {&x, &repeats};
    ot_tensor y = run_op("Tile", 13, 2, in, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(4, 6));
    /* numpy.tile(x, (2, 3)) */
    ts_expect_int64s(&y, I64(1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4), 24);
    ot_tensor_free(&y);
    ot_tensor wrong = ts_int64(1, I64(1), I64(2));
    const ot_tensor *win[2] = {&x, &wrong};
    expect_error("Tile", 13, 2, win, NULL, 1, 0, NULL, "repeats has 1 values, but the input has rank 2");
    ot_tensor negative = ts_int64(1, I64(2), I64(1, -1));
    const ot_tensor *nin[2] = {&x, &negative};
    expect_error("Tile", 13, 2, nin, NULL, 1, 0, NULL, "repeats[1] is negative");
    ts_free_tensors((ot_tensor[]){x, repeats, wrong, negative}, 4);
}

/* Concat, Split -------------------------------------------------------------------------- */

static void concat_inputs(void **state) {
    (void)state;
    ot_tensor a = ts_int64(2, I64(2, 1), I64(1, 2));
    ot_tensor b = ts_int64(2, I64(2, 2), I64(3, 4, 5, 6));
    ot_tensor c;
    assert_int_equal(ot_tensor_alloc(NULL, &c, OT_INT64, 2, I64(2, 0), "c"), OT_OK);
    const ot_tensor *in[3] = {&a, &b, &c};
    ot_attr axis = ts_attr_int("axis", -1);
    ot_tensor y = run_op("Concat", 13, 3, in, 1, 0, 1, &axis);
    expect_shape(&y, 2, I64(2, 3));
    ts_expect_int64s(&y, I64(1, 3, 4, 2, 5, 6), 6);
    ot_tensor_free(&y);
    ot_attr_free(&axis);
    ot_attr axis0 = ts_attr_int("axis", 0);
    const ot_tensor *same[2] = {&b, &b};
    y = run_op("Concat", 4, 2, same, 1, 0, 1, &axis0);
    expect_shape(&y, 2, I64(4, 2));
    ts_expect_int64s(&y, I64(3, 4, 5, 6, 3, 4, 5, 6), 8);
    ot_tensor_free(&y);
    expect_error("Concat", 13, 2, (const ot_tensor *[]){&a, &b}, NULL, 1, 1, &axis0,
                 "input 1 has shape [2,2], which does not match input 0's [2,1] except along axis 0");
    ot_attr_free(&axis0);
    ot_attr axis2 = ts_attr_int("axis", 2);
    expect_error("Concat", 13, 2, (const ot_tensor *[]){&a, &b}, NULL, 1, 1, &axis2,
                 "axis 2 is out of range for rank 2");
    ot_attr_free(&axis2);
    assert_int_equal(resolve_status("Concat", 13, 0, NULL), OT_ERR_INVALID); /* axis required */
    ts_free_tensors((ot_tensor[]){a, b, c}, 3);
}

static void split_forms(void **state) {
    (void)state;
    ot_tensor x = arange_float(2, I64(2, 6));
    const ot_tensor *in1[1] = {&x};
    ot_attr attrs[2] = {ts_attr_int("axis", -1), ts_attr_ints("split", 2, I64(2, 4))};
    ot_tensor y0 = run_op("Split", 11, 1, in1, 2, 0, 2, attrs);
    ot_tensor y1 = run_op("Split", 11, 1, in1, 2, 1, 2, attrs);
    expect_shape(&y0, 2, I64(2, 2));
    ts_expect_floats(&y0, F32(0, 1, 6, 7), 4);
    ts_expect_floats(&y1, F32(2, 3, 4, 5, 8, 9, 10, 11), 8);
    ot_tensor_free(&y0);
    ot_tensor_free(&y1);
    /* Opset 13: sizes from the input, a zero-sized part in the middle. */
    ot_tensor sizes = ts_int64(1, I64(3), I64(1, 0, 5));
    const ot_tensor *in2[2] = {&x, &sizes};
    ot_tensor parts[3];
    for (int k = 0; k < 3; k++) parts[k] = run_op("Split", 13, 2, in2, 3, k, 1, attrs);
    expect_shape(&parts[1], 2, I64(2, 0));
    ts_expect_floats(&parts[0], F32(0, 6), 2);
    ts_expect_floats(&parts[2], F32(1, 2, 3, 4, 5, 7, 8, 9, 10, 11), 10);
    ts_free_tensors(parts, 3);
    /* Equal parts by default; from opset 18 the last part may be smaller. */
    for (int k = 0; k < 3; k++) parts[k] = run_op("Split", 13, 1, in1, 3, k, 1, attrs);
    ts_expect_floats(&parts[1], F32(2, 3, 8, 9), 4);
    ts_free_tensors(parts, 3);
    ot_attr num[2] = {ts_attr_int("axis", 1), ts_attr_int("num_outputs", 4)};
    for (int k = 0; k < 4; k++) {
        ot_tensor y = run_op("Split", 18, 1, in1, 4, k, 2, num);
        expect_shape(&y, 2, (int64_t[]){2, k < 3 ? 2 : 0}); /* ceil(6 / 4) = 2: 2, 2, 2, 0 */
        ot_tensor_free(&y);
    }
    expect_error("Split", 13, 1, in1, NULL, 4, 1, attrs, "axis 1 of size 6 cannot be split into 4 equal parts");
    ot_tensor bad = ts_int64(1, I64(2), I64(2, 3));
    expect_error("Split", 13, 2, (const ot_tensor *[]){&x, &bad}, NULL, 2, 1, attrs,
                 "split sizes add up to 5, but axis 1 has size 6");
    expect_error("Split", 13, 2, (const ot_tensor *[]){&x, &bad}, NULL, 3, 1, attrs,
                 "split has 2 sizes, but the node has 3 outputs");
    for (int a = 0; a < 2; a++) {
        ot_attr_free(&attrs[a]);
        ot_attr_free(&num[a]);
    }
    ts_free_tensors((ot_tensor[]){x, sizes, bad}, 3);
}

/* Slice, Gather -------------------------------------------------------------------------- */

static void slice_forms(void **state) {
    (void)state;
    ot_tensor x = arange_float(3, I64(2, 3, 4));
    /* x[:, 0:3:2, -1::-2] via inputs, axes out of order and negative, INT64_MIN end */
    ot_tensor starts = ts_int64(1, I64(2), I64(-1, 0));
    ot_tensor ends = ts_int64(1, I64(2), I64(INT64_MIN, 3));
    ot_tensor axes = ts_int64(1, I64(2), I64(-1, 1));
    ot_tensor steps = ts_int64(1, I64(2), I64(-2, 2));
    const ot_tensor *in[5] = {&x, &starts, &ends, &axes, &steps};
    ot_tensor y = run_op("Slice", 13, 5, in, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(2, 2, 2));
    ts_expect_floats(&y, F32(3, 1, 11, 9, 15, 13, 23, 21), 8);
    ot_tensor_free(&y);
    /* Opset 9 attributes: x[0:1, :, 1:-1] */
    ot_attr attrs[3] = {ts_attr_ints("starts", 2, I64(0, 1)), ts_attr_ints("ends", 2, I64(1, -1)),
                        ts_attr_ints("axes", 2, I64(0, 2))};
    y = run_op("Slice", 9, 1, in, 1, 0, 3, attrs);
    expect_shape(&y, 3, I64(1, 3, 2));
    ts_expect_floats(&y, F32(1, 2, 5, 6, 9, 10), 6);
    ot_tensor_free(&y);
    for (int a = 0; a < 3; a++) ot_attr_free(&attrs[a]);
    /* Clamping: an end past the dim; default axes 0..n-1; a start past the end gives 0. */
    ot_tensor s2 = ts_int64(1, I64(3), I64(0, 1, 1)), e2 = ts_int64(1, I64(3), I64(5, 1000, 1000));
    const ot_tensor *in2[3] = {&x, &s2, &e2};
    y = run_op("Slice", 10, 3, in2, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(2, 2, 3));
    ot_tensor_free(&y);
    ot_tensor s3 = ts_int64(1, I64(1), I64(7)), e3 = ts_int64(1, I64(1), I64(9));
    const ot_tensor *in3[3] = {&x, &s3, &e3};
    y = run_op("Slice", 13, 3, in3, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(0, 3, 4));
    ot_tensor_free(&y);
    /* Negative step from past the end down past the start: x[:, 2::-1, :] */
    ot_tensor s4 = ts_int64(1, I64(1), I64(100)), e4 = ts_int64(1, I64(1), I64(-100));
    ot_tensor a4 = ts_int64(1, I64(1), I64(1)), st4 = ts_int64(1, I64(1), I64(-1));
    const ot_tensor *in4[5] = {&x, &s4, &e4, &a4, &st4};
    y = run_op("Slice", 13, 5, in4, 1, 0, 0, NULL);
    expect_shape(&y, 3, I64(2, 3, 4));
    assert_float_equal(((float *)y.data)[0], 8, 0);
    assert_float_equal(((float *)y.data)[4], 4, 0);
    assert_float_equal(((float *)y.data)[8], 0, 0);
    ot_tensor_free(&y);
    ot_tensor zero_step = ts_int64(1, I64(1), I64(0));
    expect_error("Slice", 13, 5, (const ot_tensor *[]){&x, &s4, &e4, &a4, &zero_step}, NULL, 1, 0,
                 NULL, "step 0 is 0");
    ot_tensor bad_axis = ts_int64(1, I64(1), I64(3));
    expect_error("Slice", 13, 4, (const ot_tensor *[]){&x, &s4, &e4, &bad_axis}, NULL, 1, 0, NULL,
                 "axis 3 is out of range for rank 3");
    ts_free_tensors((ot_tensor[]){x, starts, ends, axes, steps, s2, e2, s3, e3, s4, e4, a4, st4,
                           zero_step, bad_axis}, 15);
}

static void gather_indices(void **state) {
    (void)state;
    ot_tensor d = arange_float(2, I64(3, 4));
    ot_tensor idx = ts_int64(2, I64(2, 2), I64(0, -1, 2, 1));
    const ot_tensor *in[2] = {&d, &idx};
    ot_attr axis = ts_attr_int("axis", -1);
    ot_tensor y = run_op("Gather", 13, 2, in, 1, 0, 1, &axis);
    expect_shape(&y, 3, I64(3, 2, 2));
    /* numpy.take(d, idx, axis=1) */
    ts_expect_floats(&y, F32(0, 3, 2, 1, 4, 7, 6, 5, 8, 11, 10, 9), 12);
    ot_tensor_free(&y);
    ot_attr_free(&axis);
    /* int32 indices, int64 data, axis 0, repeated index */
    ot_tensor di = arange_int64(2, I64(3, 4));
    ot_tensor idx32;
    assert_int_equal(ot_tensor_alloc(NULL, &idx32, OT_INT32, 1, I64(3), "idx32"), OT_OK);
    memcpy(idx32.data, (const int32_t[]){2, 0, 2}, 3 * sizeof(int32_t));
    const ot_tensor *in32[2] = {&di, &idx32};
    y = run_op("Gather", 1, 2, in32, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(3, 4));
    ts_expect_int64s(&y, I64(8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11), 12);
    ot_tensor_free(&y);
    /* Scalar index drops the axis. */
    ot_tensor scalar = ts_int64(0, NULL, I64(-2));
    y = run_op("Gather", 13, 2, (const ot_tensor *[]){&di, &scalar}, 1, 0, 0, NULL);
    expect_shape(&y, 1, I64(4));
    ts_expect_int64s(&y, I64(4, 5, 6, 7), 4);
    ot_tensor_free(&y);
    /* Out of range at run time (indices fed as a graph input): an error naming the node. */
    ot_tensor far = ts_int64(1, I64(2), I64(1, 3));
    expect_error("Gather", 13, 2, (const ot_tensor *[]){&d, &far}, (const int[]){0, 1}, 1, 0, NULL,
                 "index 3 (at position 1 of the indices) is out of range for an axis of size 3");
    ot_tensor below = ts_int64(1, I64(1), I64(-4));
    expect_error("Gather", 13, 2, (const ot_tensor *[]){&d, &below}, (const int[]){0, 1}, 1, 0, NULL,
                 "index -4");
    ot_attr axis2 = ts_attr_int("axis", 2);
    expect_error("Gather", 13, 2, in, NULL, 1, 1, &axis2, "axis 2 is out of range for rank 2");
    ot_attr_free(&axis2);
    ts_free_tensors((ot_tensor[]){d, idx, di, idx32, scalar, far, below}, 7);
}

/* Pad ------------------------------------------------------------------------------------ */

static void pad_modes(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(2, 3), F32(1, 2, 3, 4, 5, 6));
    /* constant, opset 13 inputs: numpy.pad(x, ((1, 0), (2, 1)), constant_values=9.5) */
    ot_tensor pads = ts_int64(1, I64(4), I64(1, 2, 0, 1));
    float nine_half = 9.5f;
    ot_tensor value = ts_float(0, NULL, &nine_half);
    const ot_tensor *in[3] = {&x, &pads, &value};
    ot_tensor y = run_op("Pad", 13, 3, in, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(3, 6));
    ts_expect_floats(&y, F32(9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 1, 2, 3, 9.5, 9.5, 9.5, 4, 5, 6, 9.5), 18);
    ot_tensor_free(&y);
    /* the same with opset 2 attributes */
    ot_attr attrs[2] = {ts_attr_ints("pads", 4, I64(1, 2, 0, 1)), ts_attr_float("value", 9.5f)};
    y = run_op("Pad", 2, 1, in, 1, 0, 2, attrs);
    ts_expect_floats(&y, F32(9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 1, 2, 3, 9.5, 9.5, 9.5, 4, 5, 6, 9.5), 18);
    ot_tensor_free(&y);
    for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
    /* reflect: numpy.pad(x, ((1, 1), (2, 2)), mode='reflect') */
    ot_attr reflect = ts_attr_string("mode", "reflect");
    ot_tensor rpads = ts_int64(1, I64(4), I64(1, 2, 1, 2));
    y = run_op("Pad", 13, 2, (const ot_tensor *[]){&x, &rpads}, 1, 0, 1, &reflect);
    expect_shape(&y, 2, I64(4, 7));
    ts_expect_floats(&y, F32(6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1), 28);
    ot_tensor_free(&y);
    /* reflect pads longer than the dim repeat the reflection, as numpy does */
    ot_tensor row = ts_float(1, I64(3), F32(1, 2, 3));
    ot_tensor long_pads = ts_int64(1, I64(2), I64(5, 4));
    y = run_op("Pad", 13, 2, (const ot_tensor *[]){&row, &long_pads}, 1, 0, 1, &reflect);
    ts_expect_floats(&y, F32(2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3), 12);
    ot_tensor_free(&y);
    ot_attr_free(&reflect);
    /* edge: numpy.pad(x, ((0, 1), (3, 1)), mode='edge') */
    ot_attr edge = ts_attr_string("mode", "edge");
    ot_tensor epads = ts_int64(1, I64(4), I64(0, 3, 1, 1));
    y = run_op("Pad", 11, 2, (const ot_tensor *[]){&x, &epads}, 1, 0, 1, &edge);
    expect_shape(&y, 2, I64(3, 7));
    ts_expect_floats(&y, F32(1, 1, 1, 1, 2, 3, 3, 4, 4, 4, 4, 5, 6, 6, 4, 4, 4, 4, 5, 6, 6), 21);
    ot_tensor_free(&y);
    ot_attr_free(&edge);
    /* negative pads crop; opset 18 axes pick the padded dims */
    ot_tensor crop = ts_int64(1, I64(4), I64(0, -1, 1, 0));
    y = run_op("Pad", 13, 2, (const ot_tensor *[]){&x, &crop}, 1, 0, 0, NULL);
    expect_shape(&y, 2, I64(3, 2));
    ts_expect_floats(&y, F32(2, 3, 5, 6, 0, 0), 6);
    ot_tensor_free(&y);
    ot_tensor axis_pads = ts_int64(1, I64(2), I64(1, 1)), axes = ts_int64(1, I64(1), I64(-1));
    y = run_op("Pad", 18, 4, (const ot_tensor *[]){&x, &axis_pads, NULL, &axes}, 1, 0, 0, NULL);
    ts_expect_floats(&y, F32(0, 1, 2, 3, 0, 0, 4, 5, 6, 0), 10);
    ot_tensor_free(&y);
    /* int64 and bool data */
    ot_tensor xi = ts_int64(1, I64(2), I64(7, 8));
    int64_t minus = -1;
    ot_tensor vi = ts_int64(0, NULL, &minus), p1 = ts_int64(1, I64(2), I64(1, 2));
    y = run_op("Pad", 13, 3, (const ot_tensor *[]){&xi, &p1, &vi}, 1, 0, 0, NULL);
    ts_expect_int64s(&y, I64(-1, 7, 8, -1, -1), 5);
    ot_tensor_free(&y);
    ot_tensor xb;
    assert_int_equal(ot_tensor_alloc(NULL, &xb, OT_BOOL, 1, I64(2), "xb"), OT_OK);
    ((uint8_t *)xb.data)[0] = 1;
    y = run_op("Pad", 13, 2, (const ot_tensor *[]){&xb, &p1}, 1, 0, 0, NULL);
    assert_int_equal(y.dtype, OT_BOOL);
    assert_memory_equal(y.data, ((const uint8_t[]){0, 1, 0, 0, 0}), 5);
    ot_tensor_free(&y);
    /* errors */
    ot_tensor short_pads = ts_int64(1, I64(2), I64(1, 1));
    expect_error("Pad", 13, 2, (const ot_tensor *[]){&x, &short_pads}, NULL, 1, 0, NULL,
                 "pads has 2 values; 2 axes need 4");
    ot_tensor too_neg = ts_int64(1, I64(4), I64(0, -2, 0, -2));
    expect_error("Pad", 13, 2, (const ot_tensor *[]){&x, &too_neg}, NULL, 1, 0, NULL,
                 "remove more than dim 1's 3 elements");
    ot_attr wrap = ts_attr_string("mode", "wrap");
    assert_int_equal(resolve_status("Pad", 13, 1, &wrap), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "mode 'wrap' is not supported"));
    ot_attr_free(&wrap);
    ts_free_tensors((ot_tensor[]){x, pads, value, rpads, row, long_pads, epads, crop, axis_pads, axes, xi,
                           vi, p1, xb, short_pads, too_neg}, 16);
}

/* OneHot: a new dim of size depth at axis; negative indices count from the end, indices out
 * of range give a row of off; the gradient reaches values (on and off sums). */
static void onehot_values_and_gradient(void **state) {
    (void)state;
    int64_t d3[1] = {3}, d2[1] = {2}, depth_value = 4;
    float indices[3] = {1.0f, -1.0f, 7.0f}, values[2] = {-0.5f, 2.0f};
    ot_tensor idx = ts_float(1, d3, indices), depth = ts_int64(1, (int64_t[]){1}, &depth_value),
              vals = ts_float(1, d2, values);
    const ot_tensor *in[3] = {&idx, &depth, &vals};
    ot_tensor y = run_op("OneHot", 11, 3, in, 1, 0, 0, NULL);
    float h = -0.5f, o = 2.0f;
    ts_expect_floats(&y, (float[]){h, o, h, h, h, h, h, o, h, h, h, h}, 12);
    ot_tensor_free(&y);
    ot_attr axis0 = ts_attr_int("axis", 0);
    y = run_op("OneHot", 11, 3, in, 1, 0, 1, &axis0);
    assert_int_equal(y.dims[0], 4);
    ts_expect_floats(&y, (float[]){h, h, h, o, h, h, h, h, h, h, o, h}, 12);
    ot_tensor_free(&y);
    ts_gradcheck("OneHot", 11, 3, in, 4, 1, &axis0, 0, 1e-3, 1e-2);
    ot_attr_free(&axis0);
    ts_free_tensors((ot_tensor[]){idx, depth, vals}, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shape_with_start_end),
        cmocka_unit_test(onehot_values_and_gradient),
        cmocka_unit_test(reshape_forms),
        cmocka_unit_test(reshape_errors),
        cmocka_unit_test(flatten_axes),
        cmocka_unit_test(squeeze_and_unsqueeze),
        cmocka_unit_test(transpose_perms),
        cmocka_unit_test(expand_broadcasts),
        cmocka_unit_test(tile_repeats),
        cmocka_unit_test(concat_inputs),
        cmocka_unit_test(split_forms),
        cmocka_unit_test(slice_forms),
        cmocka_unit_test(gather_indices),
        cmocka_unit_test(pad_modes),
        cmocka_unit_test(trilu_triangles),
        cmocka_unit_test(size_counts),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
