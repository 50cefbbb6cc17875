/* Tensor family: Identity, Constant, ConstantOfShape, Range, Cast (values from numpy/torch written
 * out), Dropout (inference is the identity; training drops about `ratio` and scales the rest
 * by 1/(1-ratio); backward uses the same mask), gradients by central differences. */
#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "test_support.h"
#include "onnxtrain/graph.h"


/* One node, input 0 fed at run time (the others initializers); returns output `out_k`. */
static ot_tensor run_op(const char *op, int opset, int n_in, const ot_tensor *const *in, int n_out,
                        int out_k, int n_attrs, const ot_attr *attrs) {
    int as_input[8] = {1};
    ot_model *m = ts_single_node("", op, opset, n_in, in, as_input, n_out, n_attrs, attrs);
    ot_tensor y = ts_run(m, n_in ? 1 : 0, n_in ? in[0] : NULL, out_k);
    ot_model_free(m);
    return y;
}

/* Plan creation (and forward) of a one-node model with every input an initializer; expects
 * `code` with a message naming the node and containing `needle`. */
static void expect_error(const char *op, int opset, int n_in, const ot_tensor *const *in,
                         const int *as_input, int n_out, int n_attrs, const ot_attr *attrs,
                         ot_status code, const char *needle) {
    ot_model *m = ts_single_node("", op, opset, n_in, in, as_input, n_out, n_attrs, attrs);
    ot_tensor feeds[8];
    for (int k = 0, f = 0; k < n_in; k++)
        if (as_input && as_input[k]) feeds[f++] = *in[k];
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
    if (status != code) fail_msg("%s: expected %s, got %s (%s)", op, ot_status_name(code),
                                 ot_status_name(status), ot_last_error());
    if (!strstr(ot_last_error(), "node 'node'") || !strstr(ot_last_error(), needle))
        fail_msg("%s: message '%s' should name the node and contain '%s'", op, ot_last_error(), needle);
    ot_model_free(m);
}

/* Resolves a one-node model (no inputs) and returns the status: attribute errors. */
static ot_status resolve_status(const char *op, int opset, int n_attrs, const ot_attr *attrs) {
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", opset), OT_OK);
    const char *out[1] = {"y"};
    int li;
    assert_int_equal(ot_model_add_layer(m, "node", op, "", 0, NULL, 1, out, &li), OT_OK);
    for (int a = 0; a < n_attrs; a++) assert_int_equal(ot_layer_add_attr(&m->layers[li], &attrs[a]), OT_OK);
    ot_status status = ot_graph_resolve(m);
    ot_model_free(m);
    return status;
}

static ot_attr attr_tensor(const char *name, const ot_tensor *t) {
    ot_attr a = {0};
    a.name = ts_strdup(name);
    a.type = OT_ATTR_TENSOR;
    assert_int_equal(ot_tensor_copy(&a.t, t, name), OT_OK);
    return a;
}

static ot_tensor typed(ot_dtype dtype, int ndim, const int64_t *dims, const void *values) {
    ot_tensor t;
    assert_int_equal(ot_tensor_alloc(NULL, &t, dtype, ndim, dims, "test"), OT_OK);
    memcpy(t.data, values, (size_t)ot_tensor_numel(&t) * ot_dtype_size(dtype));
    return t;
}

/* Identity, Constant, ConstantOfShape ---------------------------------------------------- */

static void identity_passes_any_dtype(void **state) {
    (void)state;
    ot_tensor xi = ts_int64(2, I64(2, 2), I64(5, -6, 7, 1LL << 40));
    ot_tensor y = run_op("Identity", 16, 1, (const ot_tensor *[]){&xi}, 1, 0, 0, NULL);
    ts_expect_int64s(&y, xi.data, 4);
    ot_tensor_free(&y);
    ot_tensor xb = typed(OT_BOOL, 1, I64(3), (const uint8_t[]){1, 0, 1});
    y = run_op("Identity", 1, 1, (const ot_tensor *[]){&xb}, 1, 0, 0, NULL);
    assert_int_equal(y.dtype, OT_BOOL);
    assert_memory_equal(y.data, xb.data, 3);
    ot_tensor_free(&y);
    ot_rng rng;
    ot_rng_seed(&rng, 5);
    ot_tensor xf = ts_random(&rng, 2, I64(3, 4), -1, 1);
    ts_gradcheck("Identity", 16, 1, (const ot_tensor *[]){&xf}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_tensor_free(&xi);
    ot_tensor_free(&xb);
    ot_tensor_free(&xf);
}

static void constant_forms(void **state) {
    (void)state;
    ot_tensor value = ts_int64(2, I64(2, 1), I64(4, -9));
    ot_attr a = attr_tensor("value", &value);
    ot_tensor y = run_op("Constant", 13, 0, NULL, 1, 0, 1, &a);
    assert_int_equal(y.ndim, 2);
    assert_int_equal(y.dims[0], 2);
    ts_expect_int64s(&y, I64(4, -9), 2);
    ot_tensor_free(&y);
    ot_attr_free(&a);
    ot_attr f = ts_attr_float("value_float", 2.5f);
    y = run_op("Constant", 12, 0, NULL, 1, 0, 1, &f);
    assert_int_equal(y.ndim, 0);
    ts_expect_floats(&y, F32(2.5f), 1);
    ot_tensor_free(&y);
    ot_attr ints = ts_attr_ints("value_ints", 3, I64(1, 2, 3));
    y = run_op("Constant", 13, 0, NULL, 1, 0, 1, &ints);
    ts_expect_int64s(&y, I64(1, 2, 3), 3);
    ot_tensor_free(&y);
    ot_attr one = ts_attr_int("value_int", -7);
    y = run_op("Constant", 13, 0, NULL, 1, 0, 1, &one);
    assert_int_equal(y.ndim, 0);
    ts_expect_int64s(&y, I64(-7), 1);
    ot_tensor_free(&y);
    ot_attr two[2] = {f, one};
    assert_int_equal(resolve_status("Constant", 13, 2, two), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "Constant node 'node': needs exactly one of"));
    assert_int_equal(resolve_status("Constant", 13, 0, NULL), OT_ERR_INVALID);
    ot_attr strings = ts_attr_string("value_string", "x");
    assert_int_equal(resolve_status("Constant", 13, 1, &strings), OT_ERR_UNSUPPORTED);
    ot_attr_free(&strings);
    ot_attr_free(&f);
    ot_attr_free(&ints);
    ot_attr_free(&one);
    ot_tensor_free(&value);
}

static void constant_of_shape_values(void **state) {
    (void)state;
    ot_tensor shape = ts_int64(1, I64(2), I64(2, 3));
    /* initializers only, so the shape is known when the plan is built */
    ot_model *m = ts_single_node("", "ConstantOfShape", 9, 1, (const ot_tensor *[]){&shape}, NULL, 1, 0, NULL);
    ot_tensor y = ts_run(m, 0, NULL, 0);
    ot_model_free(m);
    assert_int_equal(y.ndim, 2);
    assert_int_equal(y.dims[1], 3);
    ts_expect_floats(&y, F32(0, 0, 0, 0, 0, 0), 6);
    ot_tensor_free(&y);
    ot_tensor seven = ts_int64(1, I64(1), I64(7));
    ot_attr value = attr_tensor("value", &seven);
    m = ts_single_node("", "ConstantOfShape", 9, 1, (const ot_tensor *[]){&shape}, NULL, 1, 1, &value);
    y = ts_run(m, 0, NULL, 0);
    ot_model_free(m);
    ts_expect_int64s(&y, I64(7, 7, 7, 7, 7, 7), 6);
    ot_tensor_free(&y);
    ot_tensor negative = ts_int64(1, I64(2), I64(2, -3));
    expect_error("ConstantOfShape", 9, 1, (const ot_tensor *[]){&negative}, NULL, 1, 0, NULL,
                 OT_ERR_INVALID, "shape dim 1 is negative (-3)");
    expect_error("ConstantOfShape", 9, 1, (const ot_tensor *[]){&shape}, (const int[]){1}, 1, 0, NULL,
                 OT_ERR_INVALID, "must be known when the plan is built");
    ot_attr_free(&value);
    ot_tensor_free(&seven);
    ot_tensor_free(&negative);
    ot_tensor_free(&shape);
}

/* Cast ----------------------------------------------------------------------------------- */

static ot_tensor cast(const ot_tensor *x, int opset, ot_attr to) {
    ot_tensor y = run_op("Cast", opset, 1, (const ot_tensor *[]){x}, 1, 0, 1, &to);
    ot_attr_free(&to);
    return y;
}

/* Widening keeps the model's dtype as `declared`; narrowing gives the same bytes back. */
static void widen_and_narrow_round_trip(void **state) {
    (void)state;
    ot_tensor i8 = typed(OT_INT8, 1, I64(3), (const int8_t[]){-128, 127, 5}), wide, back;
    assert_int_equal(ot_tensor_widen(NULL, &i8, &wide, "i8"), OT_OK);
    assert_int_equal(wide.dtype, OT_INT64);
    assert_int_equal(ot_tensor_declared(&wide), OT_INT8);
    ts_expect_int64s(&wide, I64(-128, 127, 5), 3);
    assert_int_equal(ot_tensor_narrow(&wide, &back, "i8"), OT_OK);
    assert_int_equal(back.dtype, OT_INT8);
    assert_memory_equal(back.data, i8.data, 3);
    ot_tensor_free(&back);
    ot_tensor_free(&wide);
    /* float16 1/3 (0x3555) widens exactly and narrows to the same bits */
    ot_tensor half = typed(OT_FLOAT16, 0, NULL, (const uint16_t[]){0x3555});
    assert_int_equal(ot_tensor_widen(NULL, &half, &wide, "half"), OT_OK);
    ts_expect_floats(&wide, F32(0.333251953125f), 1);
    assert_int_equal(ot_tensor_narrow(&wide, &back, "half"), OT_OK);
    assert_int_equal(((uint16_t *)back.data)[0], 0x3555);
    ot_tensor_free(&back);
    ot_tensor_free(&wide);
    /* uint64 above 2^63 - 1 cannot be held as int64: refused, naming the tensor */
    ot_tensor u64 = typed(OT_UINT64, 1, I64(2), (const uint64_t[]){1, (uint64_t)1 << 63});
    assert_int_equal(ot_tensor_widen(NULL, &u64, &wide, "big"), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "'big'"));
    assert_non_null(strstr(ot_last_error(), "above 2^63-1"));
    ot_tensor_free(&u64);
    ot_tensor_free(&half);
    ot_tensor_free(&i8);
}

/* Results wrap to their declared width after each op, as numpy's int8/uint8 arithmetic. */
static void integer_results_wrap_to_declared_width(void **state) {
    (void)state;
    ot_tensor x = ts_int64(1, I64(3), I64(100, -100, 7)), b = ts_int64(1, I64(3), I64(100, -100, 9));
    x.declared = b.declared = OT_INT8;
    ot_tensor y = run_op("Add", 14, 2, (const ot_tensor *[]){&x, &b}, 1, 0, 0, NULL);
    assert_int_equal(ot_tensor_declared(&y), OT_INT8);
    ts_expect_int64s(&y, I64(-56, 56, 16), 3); /* numpy: int8(100) + int8(100) == -56 */
    ot_tensor_free(&y);
    x.declared = b.declared = OT_UINT8;
    y = run_op("Sub", 14, 2, (const ot_tensor *[]){&b, &x}, 1, 0, 0, NULL);
    ts_expect_int64s(&y, I64(0, 0, 2), 3);
    ot_tensor_free(&y);
    y = run_op("Sub", 14, 2, (const ot_tensor *[]){&x, &b}, 1, 0, 0, NULL);
    assert_int_equal(ot_tensor_declared(&y), OT_UINT8);
    ts_expect_int64s(&y, I64(0, 0, 254), 3); /* uint8(7) - uint8(9) == 254 */
    ot_tensor_free(&y);
    ot_tensor_free(&x);
    ot_tensor_free(&b);
}

static void cast_between_dtypes(void **state) {
    (void)state;
    /* numpy: float32 -> int64 truncates toward zero */
    ot_tensor x = ts_float(1, I64(5), F32(-2.7f, -0.5f, 0.0f, 0.5f, 2.7f));
    ot_tensor y = cast(&x, 13, ts_attr_int("to", OT_INT64));
    ts_expect_int64s(&y, I64(-2, 0, 0, 0, 2), 5);
    ot_tensor_free(&y);
    y = cast(&x, 13, ts_attr_int("to", OT_BOOL));
    assert_int_equal(y.dtype, OT_BOOL);
    assert_memory_equal(y.data, ((const uint8_t[]){1, 1, 0, 1, 1}), 5);
    ot_tensor_free(&y);
    /* bool -> float, int64 -> float (2^62 + 1 rounds to 2^62), int32 -> int64 */
    ot_tensor b = typed(OT_BOOL, 1, I64(2), (const uint8_t[]){1, 0});
    y = cast(&b, 13, ts_attr_int("to", OT_FLOAT));
    ts_expect_floats(&y, F32(1, 0), 2);
    ot_tensor_free(&y);
    ot_tensor big = ts_int64(1, I64(2), I64((1LL << 62) + 1, -3));
    y = cast(&big, 13, ts_attr_int("to", OT_FLOAT));
    ts_expect_floats(&y, F32(4611686018427387904.0f, -3), 2);
    ot_tensor_free(&y);
    /* an int32 is held as int64 (declared int32); int32 -> int8 wraps */
    ot_tensor i32 = ts_int64(1, I64(2), I64(-5, 1 << 30));
    i32.declared = OT_INT32;
    y = cast(&i32, 13, ts_attr_int("to", OT_INT64));
    ts_expect_int64s(&y, I64(-5, 1 << 30), 2);
    assert_int_equal(ot_tensor_declared(&y), OT_INT64);
    ot_tensor_free(&y);
    y = cast(&i32, 13, ts_attr_int("to", OT_INT8));
    ts_expect_int64s(&y, I64(-5, 0), 2);
    assert_int_equal(ot_tensor_declared(&y), OT_INT8);
    ot_tensor_free(&y);
    /* float -> uint8 goes through the integer and wraps, as numpy's astype does; the result
     * is held as int64, declared uint8 */
    ot_tensor wide = ts_float(1, I64(2), F32(300.7f, -1.2f));
    y = cast(&wide, 13, ts_attr_int("to", OT_UINT8));
    assert_int_equal(ot_tensor_declared(&y), OT_UINT8);
    ts_expect_int64s(&y, I64(44, 255), 2);
    ot_tensor_free(&y);
    /* float16 / bfloat16 targets are held as float32, rounded (numpy, torch) */
    ot_tensor third = ts_float(0, NULL, F32(1.0f / 3.0f));
    y = cast(&third, 13, ts_attr_int("to", OT_FLOAT16));
    ts_expect_floats(&y, F32(0.333251953125f), 1);
    ot_tensor_free(&y);
    y = cast(&third, 13, ts_attr_int("to", OT_BFLOAT16));
    ts_expect_floats(&y, F32(0.333984375f), 1);
    ot_tensor_free(&y);
    /* opset 1 names the dtype with a string */
    y = cast(&x, 1, ts_attr_string("to", "INT64"));
    ts_expect_int64s(&y, I64(-2, 0, 0, 0, 2), 5);
    ot_tensor_free(&y);
    /* NaN and out-of-range values do not hit undefined behaviour: saturate, NaN -> 0 */
    ot_tensor odd = ts_float(1, I64(3), F32(NAN, 1e30f, -1e30f));
    y = cast(&odd, 13, ts_attr_int("to", OT_INT64));
    ts_expect_int64s(&y, I64(0, INT64_MAX, INT64_MIN), 3);
    ot_tensor_free(&y);
    ot_attr bad = ts_attr_string("to", "STRING");
    assert_int_equal(resolve_status("Cast", 1, 1, &bad), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "Cast node 'node': cannot cast to dtype STRING"));
    ot_attr_free(&bad);
    /* float -> float carries the gradient straight through */
    ot_attr to_float = ts_attr_int("to", OT_FLOAT);
    ts_gradcheck("Cast", 13, 1, (const ot_tensor *[]){&x}, 1, 1, &to_float, 0, 1e-2, 1e-3);
    ot_attr_free(&to_float);
    ot_tensor all[] = {x, b, big, i32, wide, third, odd};
    for (int i = 0; i < OT_COUNT(all); i++) ot_tensor_free(&all[i]);
}

/* Dropout -------------------------------------------------------------------------------- */

/* CastLike takes input 1's dtype; EyeLike puts ones on diagonal k of the input's shape. */
static void cast_like_and_eye_like(void **state) {
    (void)state;
    int64_t d23[2] = {2, 3};
    float v[6] = {1.5f, -2.7f, 0.0f, 3.0f, 4.9f, -0.2f};
    int64_t like_value = 0;
    ot_tensor x = ts_float(2, d23, v), like = ts_int64(1, (int64_t[]){1}, &like_value);
    const ot_tensor *in[2] = {&x, &like};
    ot_tensor y = run_op("CastLike", 15, 2, in, 1, 0, 0, NULL);
    ts_expect_int64s(&y, (int64_t[]){1, -2, 0, 3, 4, 0}, 6);
    ot_tensor_free(&y);
    ot_attr k = ts_attr_int("k", 1);
    y = run_op("EyeLike", 9, 1, in, 1, 0, 1, &k);
    ts_expect_floats(&y, (float[]){0, 1, 0, 0, 0, 1}, 6);
    ot_tensor_free(&y);
    ot_attr as_int64[2] = {ts_attr_int("k", -1), ts_attr_int("dtype", OT_INT64)};
    y = run_op("EyeLike", 9, 1, in, 1, 0, 2, as_int64);
    ts_expect_int64s(&y, (int64_t[]){0, 0, 0, 1, 0, 0}, 6);
    ot_tensor_free(&y);
    /* float -> float: the gradient passes straight through. */
    float like_float = 0.0f;
    ot_tensor likef = ts_float(1, (int64_t[]){1}, &like_float);
    const ot_tensor *float_in[2] = {&x, &likef};
    ts_gradcheck("CastLike", 15, 2, float_in, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&likef);
    ot_attr_free(&k);
    for (int a = 0; a < 2; a++) ot_attr_free(&as_int64[a]);
    ot_tensor_free(&x);
    ot_tensor_free(&like);
}

static void dropout_inference_is_identity(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 6);
    ot_tensor x = ts_random(&rng, 2, I64(4, 5), -1, 1);
    float ratio = 0.5f;
    ot_tensor r = ts_float(0, NULL, &ratio);
    const ot_tensor *in[2] = {&x, &r};
    ot_tensor y = run_op("Dropout", 13, 2, in, 2, 0, 0, NULL);
    ts_expect_floats(&y, x.data, 20);
    ot_tensor mask = run_op("Dropout", 13, 2, in, 2, 1, 0, NULL);
    assert_int_equal(mask.dtype, OT_BOOL);
    for (int i = 0; i < 20; i++) assert_int_equal(((uint8_t *)mask.data)[i], 1);
    ot_tensor_free(&mask);
    ot_tensor_free(&y);
    /* opset 7-9: ratio attribute, mask of the input's type */
    ot_attr attr = ts_attr_float("ratio", 0.3f);
    mask = run_op("Dropout", 7, 1, in, 2, 1, 1, &attr);
    ts_expect_floats(&mask, F32(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 20);
    ot_tensor_free(&mask);
    ot_attr_free(&attr);
    ot_tensor_free(&x);
    ot_tensor_free(&r);
}

/* Training plan over x (a trained initializer): forward drops, backward follows the mask. */
static void dropout_training_drops_and_scales(void **state) {
    (void)state;
    const int64_t n = 20000;
    const float ratio = 0.3f;
    ot_tensor x = ts_tensor(1, &n);
    for (int64_t i = 0; i < n; i++) ((float *)x.data)[i] = 1.0f + (float)(i % 7);
    ot_tensor r = ts_float(0, NULL, &ratio);
    ot_model *m = ts_single_node("", "Dropout", 13, 2, (const ot_tensor *[]){&x, &r}, NULL, 2, 0, NULL);
    unsigned char *trainable = ts_calloc((size_t)m->n_values, 1);
    trainable[ot_model_find_value(m, "x0")] = 1;
    ot_rng rng;
    ot_rng_seed(&rng, 11);
    ot_plan_options options = {.training = 1, .trainable = trainable, .rng = &rng};
    ot_plan *plan;
    assert_int_equal(ot_plan_create(m, &options, 0, NULL, NULL, &plan), OT_OK);
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    const float *y = ot_plan_value(plan, m->outputs[0])->data;
    const uint8_t *keep = ot_plan_value(plan, m->outputs[1])->data;
    const float *xs = x.data;
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!keep[i]) {
            dropped++;
            assert_float_equal(y[i], 0.0f, 0);
        } else {
            assert_float_equal(y[i], xs[i] / (1.0f - ratio), 1e-5 * xs[i]);
        }
    }
    /* Binomial(20000, 0.3): standard deviation 65 drops; allow 5 of them. */
    double fraction = (double)dropped / (double)n;
    if (fabs(fraction - ratio) > 325.0 / n) fail_msg("dropped %.4f of the values, expected %.2f", fraction, ratio);
    /* A second forward draws a new mask. */
    uint8_t *first = ts_malloc((size_t)n);
    memcpy(first, keep, (size_t)n);
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    assert_true(memcmp(first, keep, (size_t)n) != 0);
    free(first);
    /* Backward: dx = dy * mask / (1 - ratio) */
    ot_plan_zero_grads(plan);
    float *dy = ot_plan_grad(plan, m->outputs[0])->data;
    for (int64_t i = 0; i < n; i++) dy[i] = (float)(i % 5) - 2.0f;
    assert_int_equal(ot_plan_backward(plan), OT_OK);
    const float *dx = ot_plan_grad(plan, ot_model_find_value(m, "x0"))->data;
    for (int64_t i = 0; i < n; i++)
        assert_float_equal(dx[i], keep[i] ? dy[i] / (1.0f - ratio) : 0.0f, 1e-5);
    ot_plan_free(plan);
    free(trainable);
    ot_model_free(m);
    ot_tensor_free(&x);
    ot_tensor_free(&r);
}

static void dropout_training_mode_and_gradient(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 8);
    ot_tensor x = ts_random(&rng, 2, I64(50, 40), 1, 2);
    float half = 0.5f, zero = 0.0f, one = 1.0f;
    ot_tensor r = ts_float(0, NULL, &half), r0 = ts_float(0, NULL, &zero), r1 = ts_float(0, NULL, &one);
    ot_tensor on = typed(OT_BOOL, 0, NULL, (const uint8_t[]){1});
    /* training_mode = true drops even in an inference plan (seeded by the 'seed' attribute) */
    ot_tensor y = run_op("Dropout", 13, 3, (const ot_tensor *[]){&x, &r, &on}, 1, 0, 0, NULL);
    int dropped = 0;
    for (int i = 0; i < 2000; i++) {
        float v = ((float *)y.data)[i], want = 2.0f * ((float *)x.data)[i];
        if (v == 0.0f) dropped++;
        else assert_float_equal(v, want, 1e-6);
    }
    assert_in_range(dropped, 1000 - 150, 1000 + 150);
    ot_tensor_free(&y);
    /* ratio 0 in training mode is the identity */
    y = run_op("Dropout", 13, 3, (const ot_tensor *[]){&x, &r0, &on}, 1, 0, 0, NULL);
    ts_expect_floats(&y, x.data, 2000);
    ot_tensor_free(&y);
    expect_error("Dropout", 13, 3, (const ot_tensor *[]){&x, &r1, &on}, (const int[]){1, 0, 0}, 1, 0,
                 NULL, OT_ERR_INVALID, "ratio must be in [0, 1), not 1");
    /* The gradient check reseeds the run's generator before every forward: same mask. */
    ot_tensor small = ts_random(&rng, 2, I64(3, 4), -1, 1);
    ts_gradcheck("Dropout", 13, 2, (const ot_tensor *[]){&small, &r}, 1, 0, NULL, 1, 1e-2, 1e-3);
    ts_gradcheck("Dropout", 13, 2, (const ot_tensor *[]){&small, &r}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_tensor all[] = {x, r, r0, r1, on, small};
    for (int i = 0; i < OT_COUNT(all); i++) ot_tensor_free(&all[i]);
}

/* Range from constants (folded when the plan is built) and from int64 graph inputs (fixed
 * feeds); float32 and int64, negative and fractional deltas, empty ranges. */
static ot_tensor run_range(const ot_tensor *start, const ot_tensor *limit, const ot_tensor *delta, int as_inputs) {
    const ot_tensor *in[3] = {start, limit, delta};
    int as_input[3] = {as_inputs, as_inputs, as_inputs};
    ot_model *m = ts_single_node("", "Range", 11, 3, in, as_input, 1, 0, NULL);
    ot_tensor feeds[3] = {*start, *limit, *delta};
    ot_tensor y = ts_run(m, as_inputs ? 3 : 0, feeds, 0);
    ot_model_free(m);
    return y;
}

static void range_values(void **state) {
    (void)state;
    struct {
        float start, limit, delta;
        int n;
        float want[6];
    } fc[] = {{1, 5, 2, 2, {1, 3}}, {0.5f, 2.0f, 0.25f, 6, {0.5f, 0.75f, 1, 1.25f, 1.5f, 1.75f}},
              {3, 0, -1, 3, {3, 2, 1}}, {3, 3, 1, 0, {0}}, {0, 5, -1, 0, {0}}};
    for (size_t i = 0; i < sizeof fc / sizeof fc[0]; i++) {
        ot_tensor s = ts_float(0, NULL, &fc[i].start), l = ts_float(0, NULL, &fc[i].limit),
                  d = ts_float(0, NULL, &fc[i].delta);
        ot_tensor y = run_range(&s, &l, &d, 0);
        assert_int_equal(y.ndim, 1);
        assert_int_equal(y.dims[0], fc[i].n);
        ts_expect_floats(&y, fc[i].want, fc[i].n);
        ts_free_tensors((ot_tensor[]){y, s, l, d}, 4);
    }
    struct {
        int64_t start, limit, delta;
        int n;
        int64_t want[4];
    } ic[] = {{10, 4, -3, 2, {10, 7}}, {-2, 2, 1, 4, {-2, -1, 0, 1}}, {0, 7, 3, 3, {0, 3, 6}},
              {INT64_MIN, INT64_MAX, INT64_MAX, 3, {INT64_MIN, -1, INT64_MAX - 1}}};
    for (size_t i = 0; i < sizeof ic / sizeof ic[0]; i++)
        for (int as_inputs = 0; as_inputs < 2; as_inputs++) {
            ot_tensor s = ts_int64(0, NULL, &ic[i].start), l = ts_int64(0, NULL, &ic[i].limit),
                      d = ts_int64(0, NULL, &ic[i].delta);
            ot_tensor y = run_range(&s, &l, &d, as_inputs);
            assert_int_equal(y.dims[0], ic[i].n);
            ts_expect_int64s(&y, ic[i].want, ic[i].n);
            ts_free_tensors((ot_tensor[]){y, s, l, d}, 4);
        }
}

static void range_errors(void **state) {
    (void)state;
    ot_tensor s = ts_float(0, NULL, F32(0)), l = ts_float(0, NULL, F32(4)), d = ts_float(0, NULL, F32(1)),
              zero = ts_float(0, NULL, F32(0)), li = ts_int64(0, NULL, I64(4));
    int all_inputs[3] = {1, 1, 1};
    /* Float feeds are not known when the plan is built, and they set the output's length. */
    expect_error("Range", 11, 3, (const ot_tensor *[]){&s, &l, &d}, all_inputs, 1, 0, NULL, OT_ERR_INVALID,
                 "must be known when the plan is built");
    expect_error("Range", 11, 3, (const ot_tensor *[]){&s, &l, &zero}, NULL, 1, 0, NULL, OT_ERR_INVALID,
                 "delta non-zero");
    expect_error("Range", 11, 3, (const ot_tensor *[]){&s, &li, &d}, NULL, 1, 0, NULL, OT_ERR_INVALID,
                 "one dtype");
    ts_free_tensors((ot_tensor[]){s, l, d, zero, li}, 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_passes_any_dtype),
        cmocka_unit_test(cast_like_and_eye_like),
        cmocka_unit_test(constant_forms),
        cmocka_unit_test(constant_of_shape_values),
        cmocka_unit_test(cast_between_dtypes),
        cmocka_unit_test(widen_and_narrow_round_trip),
        cmocka_unit_test(integer_results_wrap_to_declared_width),
        cmocka_unit_test(range_values),
        cmocka_unit_test(range_errors),
        cmocka_unit_test(dropout_inference_is_identity),
        cmocka_unit_test(dropout_training_drops_and_scales),
        cmocka_unit_test(dropout_training_mode_and_gradient),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
