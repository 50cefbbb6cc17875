/* Elementwise family: forward values against hand-computed constants and a naive
 * index-by-index broadcasting reference, int64 and bool paths, errors naming the node.
 * Gradient checks: test_elementwise_gradients.c. */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnxtrain/plan.h"
#include "test_support.h"

/* Runs a one-node model whose inputs are all initializers; returns output 0. */
static ot_tensor run_op(const char *op, int opset, int n, const ot_tensor *const *inputs, int n_attrs,
                        const ot_attr *attrs) {
    ot_model *m = ts_single_node("", op, opset, n, inputs, NULL, 1, n_attrs, attrs);
    ot_tensor y = ts_run(m, 0, NULL, 0);
    ot_model_free(m);
    return y;
}

/* Plan creation or forward of a one-node model must fail with OT_ERR_INVALID and a message
 * naming the node and containing `text`. */
static void expect_failure(const char *op, int opset, int n, const ot_tensor *const *inputs, int n_attrs,
                           const ot_attr *attrs, const char *text) {
    ot_model *m = ts_single_node("", op, opset, n, inputs, NULL, 1, n_attrs, attrs);
    /* Trainable inputs keep the node from being folded at plan time, so forward runs it. */
    unsigned char *trainable = calloc((size_t)m->n_values + 1, 1);
    ot_plan_options options = {.trainable = trainable};
    for (int v = 0; v < m->n_values; v++) trainable[v] = m->values[v].tensor.dtype == OT_FLOAT;
    ot_plan *plan = NULL;
    ot_status status = ot_plan_create(m, &options, 0, NULL, NULL, &plan);
    if (status == OT_OK) {
        status = ot_plan_forward(plan);
        ot_plan_free(plan);
    }
    assert_int_equal(status, OT_ERR_INVALID);
    char node[64];
    snprintf(node, sizeof node, "%s node 'node'", op);
    if (!strstr(ot_last_error(), node) || !strstr(ot_last_error(), text))
        fail_msg("%s: unexpected message: %s", op, ot_last_error());
    free(trainable);
    ot_model_free(m);
}

static void assert_floats(const ot_tensor *y, int n, const float *want, double tol) {
    assert_int_equal(y->dtype, OT_FLOAT);
    assert_int_equal(ot_tensor_numel(y), n);
    for (int i = 0; i < n; i++) {
        float got = ((float *)y->data)[i];
        if (isnan(want[i])) {
            if (!isnan(got)) fail_msg("[%d]: got %g, want nan", i, got);
        } else if (fabs(got - want[i]) > tol * fmax(1.0, fabs(want[i]))) {
            fail_msg("[%d]: got %.9g, want %.9g", i, got, want[i]);
        }
    }
}

static void assert_int64s(const ot_tensor *y, int n, const int64_t *want) {
    assert_int_equal(y->dtype, OT_INT64);
    assert_int_equal(ot_tensor_numel(y), n);
    for (int i = 0; i < n; i++) assert_int_equal(((int64_t *)y->data)[i], want[i]);
}

static void assert_bools(const ot_tensor *y, int n, const uint8_t *want) {
    assert_int_equal(y->dtype, OT_BOOL);
    assert_int_equal(ot_tensor_numel(y), n);
    for (int i = 0; i < n; i++)
        if ((((uint8_t *)y->data)[i] != 0) != (want[i] != 0)) fail_msg("[%d]: got %d, want %d", i, ((uint8_t *)y->data)[i], want[i]);
}

/* Offset into a tensor of shape (ndim, dims) for the output index `flat` of out_dims (rank
 * out_ndim), by numpy rules: dims aligned at the right, size-1 dims repeat. */
static int64_t ref_offset(int64_t flat, int out_ndim, const int64_t *out_dims, int ndim, const int64_t *dims) {
    int64_t offset = 0, stride = 1;
    for (int d = out_ndim - 1; d >= 0; d--) {
        int64_t i = flat % out_dims[d];
        flat /= out_dims[d];
        int td = d - (out_ndim - ndim);
        if (td < 0) continue;
        if (dims[td] != 1) offset += i * stride;
        stride *= dims[td];
    }
    return offset;
}

/* Hand-checked small cases --------------------------------------------------------------- */

static void arithmetic_values(void **state) {
    (void)state;
    int64_t d4[1] = {4}, d1[1] = {1};
    float a[4] = {1.5f, -2.0f, 3.0f, 0.25f}, b[4] = {0.5f, 4.0f, -1.0f, 2.0f}, s = 2.0f;
    ot_tensor ta = ts_float(1, d4, a), tb = ts_float(1, d4, b), ts = ts_float(0, NULL, &s),
              t1 = ts_float(1, d1, &s);
    struct {
        const char *op;
        const ot_tensor *rhs;
        float want[4];
    } cases[] = {
        {"Add", &tb, {2.0f, 2.0f, 2.0f, 2.25f}},     {"Sub", &tb, {1.0f, -6.0f, 4.0f, -1.75f}},
        {"Mul", &tb, {0.75f, -8.0f, -3.0f, 0.5f}},   {"Div", &tb, {3.0f, -0.5f, -3.0f, 0.125f}},
        {"Pow", &ts, {2.25f, 4.0f, 9.0f, 0.0625f}},  {"Div", &t1, {0.75f, -1.0f, 1.5f, 0.125f}},
        {"Sub", &ts, {-0.5f, -4.0f, 1.0f, -1.75f}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ot_tensor *in[2] = {&ta, cases[i].rhs};
        ot_tensor y = run_op(cases[i].op, 14, 2, in, 0, NULL);
        assert_floats(&y, 4, cases[i].want, 1e-6);
        ot_tensor_free(&y);
    }
    /* A scalar on the left broadcasts too: 2 - a. */
    const ot_tensor *in[2] = {&ts, &ta};
    ot_tensor y = run_op("Sub", 14, 2, in, 0, NULL);
    float want[4] = {0.5f, 4.0f, -1.0f, 1.75f};
    assert_floats(&y, 4, want, 1e-6);
    assert_int_equal(y.ndim, 1);
    ot_tensor_free(&y);
    /* Pow with a general exponent: values from numpy.power(float32). */
    float base[3] = {2.0f, 0.5f, 9.0f}, expo[3] = {0.5f, -1.5f, 1.25f};
    ot_tensor tbase = ts_float(1, (int64_t[]){3}, base), texpo = ts_float(1, (int64_t[]){3}, expo);
    const ot_tensor *pin[2] = {&tbase, &texpo};
    y = run_op("Pow", 15, 2, pin, 0, NULL);
    float want_pow[3] = {1.41421354f, 2.82842708f, 15.5884571f};
    assert_floats(&y, 3, want_pow, 1e-6);
    ot_tensor_free(&y);
    ot_tensor_free(&tbase);
    ot_tensor_free(&texpo);
    ot_tensor_free(&ta);
    ot_tensor_free(&tb);
    ot_tensor_free(&ts);
    ot_tensor_free(&t1);
}

/* Every binary op on [2,3,4] with [3,1], [1], a scalar and [4], against the naive reference. */
static void broadcasting_matches_reference(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 3);
    int64_t da[3] = {2, 3, 4};
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow"};
    struct {
        int ndim;
        int64_t dims[3];
    } rhs_shapes[] = {{2, {3, 1}}, {1, {1}}, {0, {0}}, {1, {4}}, {3, {2, 1, 4}}, {3, {1, 3, 1}}};
    ot_tensor a = ts_random(&rng, 3, da, 0.5f, 2.0f);
    for (size_t s = 0; s < sizeof rhs_shapes / sizeof rhs_shapes[0]; s++) {
        ot_tensor b = ts_random(&rng, rhs_shapes[s].ndim, rhs_shapes[s].dims, 0.5f, 2.0f);
        for (int swap = 0; swap < 2; swap++) {
            const ot_tensor *lhs = swap ? &b : &a, *rhs = swap ? &a : &b;
            for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
                const ot_tensor *in[2] = {lhs, rhs};
                ot_tensor y = run_op(ops[o], 14, 2, in, 0, NULL);
                assert_int_equal(y.ndim, 3);
                for (int d = 0; d < 3; d++) assert_int_equal(y.dims[d], da[d]);
                for (int64_t i = 0; i < 24; i++) {
                    double x0 = ((float *)lhs->data)[ref_offset(i, 3, da, lhs->ndim, lhs->dims)];
                    double x1 = ((float *)rhs->data)[ref_offset(i, 3, da, rhs->ndim, rhs->dims)];
                    double want = o == 0 ? x0 + x1 : o == 1 ? x0 - x1 : o == 2 ? x0 * x1 : o == 3 ? x0 / x1 : pow(x0, x1);
                    double got = ((float *)y.data)[i];
                    if (fabs(got - want) > 1e-6 * fmax(1.0, fabs(want)))
                        fail_msg("%s shape case %zu swap %d [%lld]: got %.9g want %.9g", ops[o], s, swap,
                                 (long long)i, got, want);
                }
                ot_tensor_free(&y);
            }
        }
        ot_tensor_free(&b);
    }
    ot_tensor_free(&a);
}

static void int64_arithmetic(void **state) {
    (void)state;
    int64_t d4[1] = {4};
    int64_t a[4] = {-7, 7, -7, 7}, b[4] = {2, -2, -2, 2};
    ot_tensor ta = ts_int64(1, d4, a), tb = ts_int64(1, d4, b);
    const ot_tensor *in[2] = {&ta, &tb};
    struct {
        const char *op;
        int64_t want[4];
    } cases[] = {{"Add", {-5, 5, -9, 9}},  {"Sub", {-9, 9, -5, 5}},     {"Mul", {-14, -14, 14, 14}},
                 /* C and ONNX truncate toward zero (numpy's // would floor: -4). */
                 {"Div", {-3, -3, 3, 3}},
                 /* Negative integer exponents truncate 1 / x**n toward zero. */
                 {"Pow", {49, 0, 0, 49}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ot_tensor y = run_op(cases[i].op, 15, 2, in, 0, NULL);
        assert_int64s(&y, 4, cases[i].want);
        ot_tensor_free(&y);
    }
    /* Max/Min on int64 with a broadcast scalar. */
    int64_t three = 3;
    ot_tensor t3 = ts_int64(0, NULL, &three);
    const ot_tensor *mm[2] = {&ta, &t3};
    ot_tensor y = run_op("Max", 13, 2, mm, 0, NULL);
    assert_int64s(&y, 4, (int64_t[]){3, 7, 3, 7});
    ot_tensor_free(&y);
    y = run_op("Min", 13, 2, mm, 0, NULL);
    assert_int64s(&y, 4, (int64_t[]){-7, 3, -7, 3});
    ot_tensor_free(&y);
    /* Neg and Abs on int64. */
    const ot_tensor *un[1] = {&ta};
    y = run_op("Neg", 13, 1, un, 0, NULL);
    assert_int64s(&y, 4, (int64_t[]){7, -7, 7, -7});
    ot_tensor_free(&y);
    y = run_op("Abs", 13, 1, un, 0, NULL);
    assert_int64s(&y, 4, (int64_t[]){7, 7, 7, 7});
    ot_tensor_free(&y);
    /* Integer division by zero is an error naming the node, not a crash. */
    int64_t zeros[4] = {1, 0, 1, 1};
    ot_tensor tz = ts_int64(1, d4, zeros);
    const ot_tensor *dz[2] = {&ta, &tz};
    expect_failure("Div", 14, 2, dz, 0, NULL, "division by zero");
    ot_tensor_free(&tz);
    ot_tensor_free(&t3);
    ot_tensor_free(&ta);
    ot_tensor_free(&tb);
}

/* Pow with mixed dtypes: the output takes the base's dtype (numpy power, cast back). */
static void pow_mixed_dtypes(void **state) {
    (void)state;
    int64_t d3[1] = {3};
    float fb[3] = {1.5f, -2.0f, 4.0f}, fe[3] = {2.0f, 0.5f, 1.5f};
    int64_t ib[3] = {2, -3, 5}, ie[3] = {3, 3, 0};
    ot_tensor tfb = ts_float(1, d3, fb), tfe = ts_float(1, d3, fe), tib = ts_int64(1, d3, ib),
              tie = ts_int64(1, d3, ie);
    const ot_tensor *f_i[2] = {&tfb, &tie};
    ot_tensor y = run_op("Pow", 15, 2, f_i, 0, NULL);
    assert_floats(&y, 3, (float[]){3.375f, -8.0f, 1.0f}, 1e-6);
    ot_tensor_free(&y);
    const ot_tensor *i_f[2] = {&tib, &tfe};
    y = run_op("Pow", 15, 2, i_f, 0, NULL);
    /* 2**2 = 4, (-3)**0.5 = nan -> INT64_MIN (numpy on x86), 5**1.5 = 11.18 -> 11 */
    assert_int64s(&y, 3, (int64_t[]){4, INT64_MIN, 11});
    ot_tensor_free(&y);
    const ot_tensor *i_i[2] = {&tib, &tie};
    y = run_op("Pow", 15, 2, i_i, 0, NULL);
    assert_int64s(&y, 3, (int64_t[]){8, -27, 1});
    ot_tensor_free(&y);
    ot_tensor_free(&tfb);
    ot_tensor_free(&tfe);
    ot_tensor_free(&tib);
    ot_tensor_free(&tie);
}

static void variadic_values(void **state) {
    (void)state;
    int64_t d23[2] = {2, 3}, d3[1] = {3}, d21[2] = {2, 1};
    float a[6] = {1, 5, -2, 0, 3, 8}, b[3] = {2, 2, 2}, c[2] = {-1, 6};
    ot_tensor ta = ts_float(2, d23, a), tb = ts_float(1, d3, b), tc = ts_float(2, d21, c);
    const ot_tensor *in[3] = {&ta, &tb, &tc};
    struct {
        const char *op;
        float want[6];
    } cases[] = {{"Max", {2, 5, 2, 6, 6, 8}},
                 {"Min", {-1, -1, -2, 0, 2, 2}},
                 {"Sum", {2, 6, -1, 8, 11, 16}},
                 {"Mean", {2.0f / 3, 2, -1.0f / 3, 8.0f / 3, 11.0f / 3, 16.0f / 3}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ot_tensor y = run_op(cases[i].op, 13, 3, in, 0, NULL);
        assert_int_equal(y.ndim, 2);
        assert_floats(&y, 6, cases[i].want, 1e-6);
        ot_tensor_free(&y);
    }
    /* One input: a copy. Opset 6 rows exist too. */
    const ot_tensor *one[1] = {&ta};
    ot_tensor y = run_op("Sum", 6, 1, one, 0, NULL);
    assert_floats(&y, 6, a, 0);
    ot_tensor_free(&y);
    /* NaN propagates through Max and Min, like numpy.maximum / torch.maximum. */
    float n2[2] = {NAN, 1.0f}, m2[2] = {3.0f, NAN};
    ot_tensor tn = ts_float(1, (int64_t[]){2}, n2), tm = ts_float(1, (int64_t[]){2}, m2);
    const ot_tensor *nan_in[2] = {&tn, &tm};
    y = run_op("Max", 13, 2, nan_in, 0, NULL);
    assert_floats(&y, 2, (float[]){NAN, NAN}, 0);
    ot_tensor_free(&y);
    y = run_op("Min", 13, 2, nan_in, 0, NULL);
    assert_floats(&y, 2, (float[]){NAN, NAN}, 0);
    ot_tensor_free(&y);
    ot_tensor_free(&tn);
    ot_tensor_free(&tm);
    ot_tensor_free(&ta);
    ot_tensor_free(&tb);
    ot_tensor_free(&tc);
}

static void unary_values(void **state) {
    (void)state;
    int64_t d4[1] = {4};
    float x[4] = {0.25f, 1.0f, 2.0f, 4.0f}, s[4] = {-1.5f, -0.0f, 0.5f, 2.0f};
    ot_tensor tx = ts_float(1, d4, x), ts = ts_float(1, d4, s);
    struct {
        const char *op;
        const ot_tensor *in;
        float want[4];
    } cases[] = {
        {"Sqrt", &tx, {0.5f, 1.0f, 1.41421356f, 2.0f}},
        {"Exp", &tx, {1.28402542f, 2.71828183f, 7.3890561f, 54.5981500f}},
        {"Log", &tx, {-1.38629436f, 0.0f, 0.69314718f, 1.38629436f}},
        {"Reciprocal", &tx, {4.0f, 1.0f, 0.5f, 0.25f}},
        {"Neg", &ts, {1.5f, 0.0f, -0.5f, -2.0f}},
        {"Abs", &ts, {1.5f, 0.0f, 0.5f, 2.0f}},
        /* scipy.special.erf */
        {"Erf", &ts, {-0.96610515f, 0.0f, 0.52049988f, 0.99532227f}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ot_tensor *in[1] = {cases[i].in};
        ot_tensor y = run_op(cases[i].op, 13, 1, in, 0, NULL);
        assert_floats(&y, 4, cases[i].want, 1e-6);
        ot_tensor_free(&y);
    }
    ot_tensor_free(&tx);
    ot_tensor_free(&ts);
}

/* Round is half to even; Sign keeps NaN; IsInf picks signs by attribute; the two new
 * comparisons; Mod with both sign rules on float32 and int64 (numpy's mod and fmod). */
static void rounding_predicates_mod(void **state) {
    (void)state;
    int64_t d4[1] = {4};
    float x[4] = {-2.5f, 0.5f, 1.5f, 2.7f};
    ot_tensor tx = ts_float(1, d4, x);
    const ot_tensor *in[1] = {&tx};
    struct {
        const char *op;
        float want[4];
    } cases[] = {{"Round", {-2.0f, 0.0f, 2.0f, 3.0f}}, {"Floor", {-3.0f, 0.0f, 1.0f, 2.0f}},
                 {"Ceil", {-2.0f, 1.0f, 2.0f, 3.0f}},  {"Sign", {-1.0f, 1.0f, 1.0f, 1.0f}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ot_tensor y = run_op(cases[i].op, 13, 1, in, 0, NULL);
        assert_floats(&y, 4, cases[i].want, 0.0);
        ot_tensor_free(&y);
    }
    float special[4] = {-INFINITY, INFINITY, NAN, 1.0f};
    ot_tensor ts = ts_float(1, d4, special);
    const ot_tensor *sin_[1] = {&ts};
    ot_attr neg_only = ts_attr_int("detect_positive", 0);
    ot_tensor y = run_op("IsInf", 10, 1, sin_, 1, &neg_only);
    assert_bools(&y, 4, (uint8_t[]){1, 0, 0, 0});
    ot_tensor_free(&y);
    y = run_op("IsNaN", 13, 1, sin_, 0, NULL);
    assert_bools(&y, 4, (uint8_t[]){0, 0, 1, 0});
    ot_tensor_free(&y);
    ot_attr_free(&neg_only);
    float b[4] = {-2.5f, 1.0f, 1.5f, 3.0f};
    ot_tensor tb = ts_float(1, d4, b);
    const ot_tensor *pair[2] = {&tx, &tb};
    y = run_op("GreaterOrEqual", 12, 2, pair, 0, NULL);
    assert_bools(&y, 4, (uint8_t[]){1, 0, 1, 0});
    ot_tensor_free(&y);
    y = run_op("LessOrEqual", 12, 2, pair, 0, NULL);
    assert_bools(&y, 4, (uint8_t[]){1, 1, 1, 1});
    ot_tensor_free(&y);
    int64_t ia[4] = {-7, 7, -7, 7}, ib[4] = {3, -3, -3, 3};
    ot_tensor ta = ts_int64(1, d4, ia), tib = ts_int64(1, d4, ib);
    const ot_tensor *ipair[2] = {&ta, &tib};
    y = run_op("Mod", 13, 2, ipair, 0, NULL);
    ts_expect_int64s(&y, (int64_t[]){2, -2, -1, 1}, 4);
    ot_tensor_free(&y);
    ot_attr fmod_attr = ts_attr_int("fmod", 1);
    y = run_op("Mod", 13, 2, ipair, 1, &fmod_attr);
    ts_expect_int64s(&y, (int64_t[]){-1, 1, -1, 1}, 4);
    ot_tensor_free(&y);
    float fa[4] = {-7.5f, 7.5f, -7.5f, 7.5f}, fb[4] = {2.0f, -2.0f, -2.0f, 2.0f};
    ot_tensor tfa = ts_float(1, d4, fa), tfb = ts_float(1, d4, fb);
    const ot_tensor *fpair[2] = {&tfa, &tfb};
    y = run_op("Mod", 13, 2, fpair, 0, NULL);
    assert_floats(&y, 4, (float[]){0.5f, -0.5f, -1.5f, 1.5f}, 0.0);
    ot_tensor_free(&y);
    y = run_op("Mod", 13, 2, fpair, 1, &fmod_attr);
    assert_floats(&y, 4, (float[]){-1.5f, 1.5f, -1.5f, 1.5f}, 0.0);
    ot_tensor_free(&y);
    ot_attr_free(&fmod_attr);
    ot_tensor zero = ts_int64(1, (int64_t[]){1}, (int64_t[]){0});
    const ot_tensor *by_zero[2] = {&ta, &zero};
    ts_expect_node_error("Mod", 13, 2, by_zero, (int[]){1, 1}, 1, 0, NULL, 1, OT_ERR_INVALID, "division by zero");
    ts_free_tensors((ot_tensor[]){tx, ts, tb, ta, tib, tfa, tfb, zero}, 8);
}

static void comparisons_not_where(void **state) {
    (void)state;
    int64_t d23[2] = {2, 3}, d3[1] = {3};
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {2, 2, 7};
    ot_tensor ta = ts_float(2, d23, a), tb = ts_float(1, d3, b);
    const ot_tensor *in[2] = {&ta, &tb};
    ot_tensor y = run_op("Equal", 13, 2, in, 0, NULL);
    assert_bools(&y, 6, (uint8_t[]){0, 1, 0, 0, 0, 0});
    ot_tensor_free(&y);
    y = run_op("Less", 13, 2, in, 0, NULL);
    assert_bools(&y, 6, (uint8_t[]){1, 0, 1, 0, 0, 1});
    ot_tensor_free(&y);
    y = run_op("Greater", 13, 2, in, 0, NULL);
    assert_bools(&y, 6, (uint8_t[]){0, 0, 0, 1, 1, 0});
    ot_tensor_free(&y);
    /* int64 and bool. */
    int64_t ia[3] = {5, -1, 9}, ib = 5;
    ot_tensor tia = ts_int64(1, d3, ia), tib = ts_int64(0, NULL, &ib);
    const ot_tensor *iin[2] = {&tia, &tib};
    y = run_op("Greater", 13, 2, iin, 0, NULL);
    assert_bools(&y, 3, (uint8_t[]){0, 0, 1});
    ot_tensor_free(&y);
    ot_tensor ba = ts_bool(1, d3, (uint8_t[]){1, 0, 1}), bb = ts_bool(1, d3, (uint8_t[]){1, 1, 0});
    const ot_tensor *bin[2] = {&ba, &bb};
    y = run_op("Equal", 13, 2, bin, 0, NULL);
    assert_bools(&y, 3, (uint8_t[]){1, 0, 0});
    ot_tensor_free(&y);
    const ot_tensor *nin[1] = {&ba};
    y = run_op("Not", 1, 1, nin, 0, NULL);
    assert_bools(&y, 3, (uint8_t[]){0, 1, 0});
    ot_tensor_free(&y);
    /* Where: condition [3] broadcast over X [2,3], Y a scalar; int64 too. */
    float zero = -1.0f;
    ot_tensor tz = ts_float(0, NULL, &zero);
    const ot_tensor *win[3] = {&ba, &ta, &tz};
    y = run_op("Where", 16, 3, win, 0, NULL);
    assert_floats(&y, 6, (float[]){1, -1, 3, 4, -1, 6}, 0);
    ot_tensor_free(&y);
    const ot_tensor *wiin[3] = {&bb, &tia, &tib};
    y = run_op("Where", 16, 3, wiin, 0, NULL);
    assert_int64s(&y, 3, (int64_t[]){5, -1, 5});
    ot_tensor_free(&y);
    ot_tensor_free(&tz);
    ot_tensor_free(&ba);
    ot_tensor_free(&bb);
    ot_tensor_free(&tia);
    ot_tensor_free(&tib);
    ot_tensor_free(&ta);
    ot_tensor_free(&tb);
}

/* And Or Xor on bool with numpy broadcasting ([2, 2] against [2]), opset 1's broadcast
 * attribute, and only bool inputs. */
static void logical_ops(void **state) {
    (void)state;
    int64_t d22[2] = {2, 2}, d2[1] = {2};
    ot_tensor a = ts_bool(2, d22, (uint8_t[]){0, 0, 1, 1}), b = ts_bool(1, d2, (uint8_t[]){0, 1});
    const ot_tensor *in[2] = {&a, &b};
    const char *ops[3] = {"And", "Or", "Xor"};
    uint8_t want[3][4] = {{0, 0, 0, 1}, {0, 1, 1, 1}, {0, 1, 1, 0}};
    for (int o = 0; o < 3; o++) {
        ot_tensor y = run_op(ops[o], 7, 2, in, 0, NULL);
        assert_bools(&y, 4, want[o]);
        ot_tensor_free(&y);
        ot_attr broadcast = ts_attr_int("broadcast", 1);
        y = run_op(ops[o], 1, 2, in, 1, &broadcast);
        assert_bools(&y, 4, want[o]);
        ot_tensor_free(&y);
        ot_attr_free(&broadcast);
    }
    ot_tensor f = ts_tensor(1, d2);
    const ot_tensor *fin[2] = {&f, &f};
    ts_expect_node_error("Or", 7, 2, fin, NULL, 1, 0, NULL, 1, OT_ERR_INVALID, "must be bool");
    ot_tensor_free(&f);
    ot_tensor_free(&a);
    ot_tensor_free(&b);
}

/* Opset < 7: B broadcasts to A only with broadcast=1, aligned at `axis`. */
static void legacy_broadcast(void **state) {
    (void)state;
    int64_t da[3] = {2, 3, 2}, db[1] = {3};
    float a[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, b[3] = {100, 200, 300};
    ot_tensor ta = ts_float(3, da, a), tb = ts_float(1, db, b);
    const ot_tensor *in[2] = {&ta, &tb};
    ot_attr attrs[2] = {ts_attr_int("broadcast", 1), ts_attr_int("axis", 1)};
    ot_tensor y = run_op("Add", 6, 2, in, 2, attrs);
    assert_floats(&y, 12, (float[]){100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311}, 0);
    ot_tensor_free(&y);
    expect_failure("Add", 6, 2, in, 1, attrs, "do not broadcast"); /* trailing: [3] vs [..., 2] */
    int64_t bad_axis = 2;
    ot_attr at_2[2] = {ts_attr_int("broadcast", 1), ts_attr_int("axis", bad_axis)};
    expect_failure("Add", 6, 2, in, 2, at_2, "does not broadcast to A"); /* [3] at axis 2 of [2,3,2] */
    for (int i = 0; i < 2; i++) ot_attr_free(&at_2[i]);
    expect_failure("Mul", 6, 2, in, 0, NULL, "broadcast is 0");
    for (int i = 0; i < 2; i++) ot_attr_free(&attrs[i]);
    ot_tensor_free(&ta);
    ot_tensor_free(&tb);
}

static void errors_name_the_node(void **state) {
    (void)state;
    int64_t d23[2] = {2, 3}, d4[1] = {4};
    ot_tensor a = ts_tensor(2, d23), b = ts_tensor(1, d4);
    int64_t iv[4] = {1, 2, 3, 4};
    ot_tensor ib = ts_int64(1, d4, iv);
    const ot_tensor *in[2] = {&a, &b};
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Sum", "Equal", "Less"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) expect_failure(ops[i], 13, 2, in, 0, NULL, "do not broadcast");
    const ot_tensor *three[3] = {&a, &a, &b};
    expect_failure("Mean", 13, 3, three, 0, NULL, "do not broadcast");
    const ot_tensor *mixed[2] = {&b, &ib};
    expect_failure("Add", 14, 2, mixed, 0, NULL, "same dtype");
    const ot_tensor *not_bool[1] = {&a};
    expect_failure("Not", 1, 1, not_bool, 0, NULL, "must be bool");
    const ot_tensor *where[3] = {&a, &a, &a};
    expect_failure("Where", 16, 3, where, 0, NULL, "condition must be bool");
    const ot_tensor *sqrt_int[1] = {&ib};
    expect_failure("Sqrt", 13, 1, sqrt_int, 0, NULL, "must be float32");
    ot_tensor_free(&a);
    ot_tensor_free(&b);
    ot_tensor_free(&ib);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arithmetic_values),
        cmocka_unit_test(broadcasting_matches_reference),
        cmocka_unit_test(int64_arithmetic),
        cmocka_unit_test(pow_mixed_dtypes),
        cmocka_unit_test(variadic_values),
        cmocka_unit_test(unary_values),
        cmocka_unit_test(rounding_predicates_mod),
        cmocka_unit_test(comparisons_not_where),
        cmocka_unit_test(logical_ops),
        cmocka_unit_test(legacy_broadcast),
        cmocka_unit_test(errors_name_the_node),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
