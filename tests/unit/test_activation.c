/* Activations: forward values against closed forms, backward against central differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/fast_math.h"

#include "test_support.h"

static const char *const unary_ops[] = {"Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid",
                                        "HardSigmoid", "HardSwish", "Tanh", "Softplus",
                                        "Softsign", "ThresholdedRelu", "Gelu"};

static void gradcheck_unary_ops(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 1);
    int64_t dims[2] = {3, 5};
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        ot_tensor x = ts_random(&rng, 2, dims, -3.0f, 3.0f);
        /* Keep samples away from kinks, where central differences are meaningless. */
        for (int j = 0; j < 15; j++) {
            float *v = x.data;
            if (fabsf(v[j]) < 0.05f || fabsf(fabsf(v[j]) - 1.0f) < 0.05f ||
                fabsf(fabsf(v[j]) - 3.0f) < 0.05f || fabsf(fabsf(v[j]) - 2.5f) < 0.05f)
                v[j] += 0.2f;
        }
        const ot_tensor *inputs[1] = {&x};
        ts_gradcheck(unary_ops[i], 17, 1, inputs, 1, 0, NULL, 0, 1e-3, 2e-2);
        ot_tensor_free(&x);
    }
}

static void forward_values(void **state) {
    (void)state;
    int64_t dims[1] = {4};
    float xs[4] = {-2.0f, -0.5f, 0.5f, 2.0f};
    ot_tensor x = ts_float(1, dims, xs);
    const ot_tensor *inputs[1] = {&x};
    int as_input[1] = {1};
    ot_model *m = ts_single_node("", "Elu", 17, 1, inputs, as_input, 1, 0, NULL);
    ot_tensor y = ts_run(m, 1, &x, 0);
    for (int i = 0; i < 4; i++) {
        float want = xs[i] > 0 ? xs[i] : expm1f(xs[i]);
        assert_float_equal(((float *)y.data)[i], want, 1e-6);
    }
    ot_tensor_free(&y);
    ot_model_free(m);
    m = ts_single_node("", "Selu", 17, 1, inputs, as_input, 1, 0, NULL);
    y = ts_run(m, 1, &x, 0);
    /* PyTorch's constants: alpha 1.6732632423543772, scale 1.0507009873554805. */
    for (int i = 0; i < 4; i++) {
        double want = 1.0507009873554805 * (xs[i] > 0 ? xs[i] : 1.6732632423543772 * expm1(xs[i]));
        assert_float_equal(((float *)y.data)[i], want, 1e-6);
    }
    ot_tensor_free(&y);
    ot_model_free(m);
    ot_tensor_free(&x);
}

/* A tensor large enough to be split over the compute threads gives bit-identical values to
 * the same values run in pieces too small to split. */
static void split_forward_matches_pieces(void **state) {
    (void)state;
    enum { N = 100000, PIECE = 10000 };
    ot_rng rng;
    ot_rng_seed(&rng, 3);
    int64_t dims[1] = {N}, piece_dims[1] = {PIECE};
    ot_tensor x = ts_random(&rng, 1, dims, -4.0f, 4.0f);
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        const ot_tensor *inputs[1] = {&x};
        int as_input[1] = {1};
        ot_model *m = ts_single_node("", unary_ops[i], 17, 1, inputs, as_input, 1, 0, NULL);
        ot_tensor whole = ts_run(m, 1, &x, 0);
        ot_model_free(m);
        for (int64_t at = 0; at < N; at += PIECE) {
            ot_tensor piece = ts_float(1, piece_dims, (float *)x.data + at);
            const ot_tensor *piece_inputs[1] = {&piece};
            m = ts_single_node("", unary_ops[i], 17, 1, piece_inputs, as_input, 1, 0, NULL);
            ot_tensor y = ts_run(m, 1, &piece, 0);
            if (memcmp(y.data, (float *)whole.data + at, sizeof(float) * PIECE) != 0)
                fail_msg("%s: split forward differs from pieces at %lld", unary_ops[i], (long long)at);
            ot_tensor_free(&y);
            ot_tensor_free(&piece);
            ot_model_free(m);
        }
        ot_tensor_free(&whole);
    }
    ot_tensor_free(&x);
}

static void prelu_and_clip_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 2);
    int64_t xd[4] = {2, 3, 2, 2}, sd[3] = {3, 1, 1};
    ot_tensor x = ts_random(&rng, 4, xd, -2.0f, 2.0f), slope = ts_random(&rng, 3, sd, 0.1f, 0.5f);
    const ot_tensor *inputs[2] = {&x, &slope};
    ts_gradcheck("PRelu", 16, 2, inputs, 3, 0, NULL, 0, 1e-3, 1e-2);
    float lo = -0.5f, hi = 0.7f;
    ot_tensor tlo = ts_float(0, NULL, &lo), thi = ts_float(0, NULL, &hi);
    const ot_tensor *clip_inputs[3] = {&x, &tlo, &thi};
    ts_gradcheck("Clip", 13, 3, clip_inputs, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&x);
    ot_tensor_free(&slope);
    ot_tensor_free(&tlo);
    ot_tensor_free(&thi);
}

/* The vectorised expm1 used by ELU/SELU stays within 2 ulp of libm's expm1f over [-88, 0]:
 * every 257th float (4.4 million of them, every exponent and many mantissas; the whole range
 * passes too but takes 30 s), plus the range's ends. */
static int64_t expm1_ulp_difference(float x) {
    float want = expm1f(x), got = ot_expm1_nonpositive(x);
    if (want == got) return 0; /* also -0 == 0 */
    int32_t a, b;
    memcpy(&a, &want, 4);
    memcpy(&b, &got, 4);
    int64_t ulp = (int64_t)a - b;
    if (ulp < 0) ulp = -ulp;
    if (ulp > 2) fail_msg("expm1(%.9g): libm %.9g, ours %.9g (%lld ulp)", x, want, got, (long long)ulp);
    return ulp;
}

/* Shrink: x + bias below -lambd, x - bias above lambd, 0 between (ONNX's hard and soft
 * shrink); the gradient is 1 outside [-lambd, lambd], checked away from the ends. */
static void shrink_values_and_gradient(void **state) {
    (void)state;
    int64_t d[1] = {6};
    float v[6] = {-2.0f, -1.2f, -0.4f, 0.3f, 1.1f, 2.5f};
    ot_tensor x = ts_float(1, d, v);
    const ot_tensor *in[1] = {&x};
    ot_attr attrs[2] = {ts_attr_float("lambd", 1.0f), ts_attr_float("bias", 0.5f)};
    ot_model *m = ts_single_node("", "Shrink", 9, 1, in, (int[]){1}, 1, 2, attrs);
    ot_tensor y = ts_run(m, 1, &x, 0);
    float want[6] = {-1.5f, -0.7f, 0.0f, 0.0f, 0.6f, 2.0f};
    for (int i = 0; i < 6; i++) assert_float_equal(((float *)y.data)[i], want[i], 1e-6);
    ts_gradcheck("Shrink", 9, 1, in, 1, 2, attrs, 0, 1e-3, 1e-2);
    ts_gradcheck("Shrink", 9, 1, in, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&y);
    ot_model_free(m);
    for (int a = 0; a < 2; a++) ot_attr_free(&attrs[a]);
    ot_tensor_free(&x);
}

static void fast_expm1_is_accurate(void **state) {
    (void)state;
    const float lo = -88.0f;
    uint32_t end;
    memcpy(&end, &lo, 4); /* negative floats' bits grow with magnitude from 0x80000000 (-0) */
    int64_t worst = expm1_ulp_difference(lo);
    for (uint32_t bits = 0x80000000u; bits <= end; bits += 257) {
        float x;
        memcpy(&x, &bits, 4);
        int64_t ulp = expm1_ulp_difference(x);
        if (ulp > worst) worst = ulp;
    }
    print_message("largest difference from expm1f: %lld ulp\n", (long long)worst);
}

/* The vectorised erf (Erf, GELU) stays within 3 ulp of erf, computed in double: every 101st
 * positive float up to 10 (10.5 million of them, each exponent and many mantissas; erf is odd
 * and the code works on |x|, so the negatives are the same), with both sides of the switch
 * between its two approximations at 0.8, and 0, +-infinity and NaN. */
static void fast_erf_is_accurate(void **state) {
    (void)state;
    const float hi = 10.0f;
    uint32_t end;
    memcpy(&end, &hi, 4);
    double worst = 0.0;
    float worst_at = 0.0f, switch_at = 0.8f;
    float extra[2] = {switch_at, nextafterf(switch_at, 0.0f)};
    for (uint32_t bits = 1; bits <= end + 2; bits += bits <= end ? 101 : 1) {
        float x;
        if (bits <= end) memcpy(&x, &bits, 4);
        else x = extra[bits - end - 1];
        double want = erf((double)x);
        float got = ot_erf_fast(x), want_f = (float)want;
        double ulp = fabs((double)got - want) / (double)(nextafterf(want_f, INFINITY) - want_f);
        if (ulp > worst) {
            worst = ulp;
            worst_at = x;
        }
        if (!(ulp <= 3.0)) fail_msg("erf(%.9g): %.9g, ours %.9g (%.2f ulp)", x, want, got, ulp);
        assert_true(ot_erf_fast(-x) == -got);
    }
    assert_true(ot_erf_fast(0.0f) == 0.0f && ot_erf_fast(INFINITY) == 1.0f && ot_erf_fast(-INFINITY) == -1.0f);
    assert_true(isnan(ot_erf_fast(NAN)));
    print_message("largest difference from erf: %.2f ulp at %.9g\n", worst, worst_at);
}

/* Clip keeps a NaN a NaN: ONNX Runtime 1.31 gives [nan, 0, 3, 6] for [nan, -1, 3, 9] clipped to
 * [0, 6], as PyTorch's clamp does; and more values than one thread's share, so the threaded
 * ranges run too. */
static void clip_keeps_nan(void **state) {
    (void)state;
    enum { N = 40000 };
    float *xs = ts_calloc(N, sizeof(float));
    for (int i = 0; i < N; i++) xs[i] = (float)(i % 11) - 2.0f;
    xs[0] = NAN, xs[1] = -1, xs[2] = 3, xs[3] = 9;
    ot_tensor x = ts_float(1, (const int64_t[]){N}, xs);
    ot_tensor lo = ts_float(0, NULL, (const float[]){0}), hi = ts_float(0, NULL, (const float[]){6});
    ot_model *m = ts_single_node("", "Clip", 13, 3, (const ot_tensor *[]){&x, &lo, &hi}, (const int[]){1, 0, 0}, 1, 0, NULL);
    ot_tensor y = ts_run(m, 1, &x, 0);
    const float *v = y.data;
    assert_true(isnan(v[0]));
    assert_float_equal(v[1], 0, 0);
    assert_float_equal(v[2], 3, 0);
    assert_float_equal(v[3], 6, 0);
    for (int i = 4; i < N; i++) assert_float_equal(v[i], fminf(fmaxf(xs[i], 0), 6), 0);
    ot_tensor_free(&y);
    ot_model_free(m);
    free(xs);
    ts_free_tensors((ot_tensor[]){x, lo, hi}, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradcheck_unary_ops),
        cmocka_unit_test(forward_values),
        cmocka_unit_test(fast_expm1_is_accurate),
        cmocka_unit_test(fast_erf_is_accurate),
        cmocka_unit_test(split_forward_matches_pieces),
        cmocka_unit_test(prelu_and_clip_gradients),
        cmocka_unit_test(shrink_values_and_gradient),
        cmocka_unit_test(clip_keeps_nan),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
