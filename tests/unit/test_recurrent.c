/* LSTM, GRU, RNN: central-difference gradient checks of every input through every output
 * (Y, Y_h, Y_c) for each direction, layout, optional input and attribute; sequence_lens
 * semantics (Y zero past a row's length, Y_h its last valid state); errors naming the node.
 * Values against ONNX Runtime and gradients against PyTorch: test_recurrent_reference.c. */
#include <math.h>
#include <string.h>

#include "ops/fast_math.h"
#include "test_support.h"

enum { HAS_B = 1 << 3, HAS_LENS = 1 << 4, HAS_H0 = 1 << 5, HAS_C0 = 1 << 6, HAS_P = 1 << 7 };
#define ALL_FLOATS 0xEFu /* every input but sequence_lens (slot 4) */

typedef struct rnn_shape {
    const char *op;
    int opset, layout, directions;
    int64_t t, b, i, h;
    const int32_t *lens; /* b lengths, with HAS_LENS */
    unsigned present;    /* HAS_* of the optional inputs */
} rnn_shape;

static int gates_of(const char *op) { return !strcmp(op, "LSTM") ? 4 : !strcmp(op, "GRU") ? 3 : 1; }
static int outputs_of(const char *op) { return !strcmp(op, "LSTM") ? 3 : 2; }

static ot_tensor int32_tensor(int64_t n, const int32_t *values) {
    ot_tensor t;
    assert_int_equal(ot_tensor_alloc(NULL, &t, OT_INT32, 1, &n, "lens"), OT_OK);
    memcpy(t.data, values, sizeof(int32_t) * (size_t)n);
    return t;
}

/* The inputs of s in slot order (X, W, R, B, sequence_lens, initial_h, initial_c, P); absent
 * ones are left zeroed (data NULL) and listed as NULL. */
typedef struct rnn_inputs {
    ot_tensor t[8];
    const ot_tensor *list[8];
    int n;
} rnn_inputs;

static void make_inputs(const rnn_shape *s, rnn_inputs *in) {
    memset(in, 0, sizeof *in);
    ot_rng rng;
    ot_rng_seed(&rng, 11);
    int64_t g = gates_of(s->op), d = s->directions;
    int64_t x[3] = {s->layout ? s->b : s->t, s->layout ? s->t : s->b, s->i};
    int64_t w[3] = {d, g * s->h, s->i}, r[3] = {d, g * s->h, s->h}, bias[2] = {d, 2 * g * s->h};
    int64_t state[3] = {s->layout ? s->b : d, s->layout ? d : s->b, s->h}, peep[2] = {d, 3 * s->h};
    in->t[0] = ts_random(&rng, 3, x, -1.0f, 1.0f);
    in->t[1] = ts_random(&rng, 3, w, -0.7f, 0.7f);
    in->t[2] = ts_random(&rng, 3, r, -0.7f, 0.7f);
    if (s->present & HAS_B) in->t[3] = ts_random(&rng, 2, bias, -0.5f, 0.5f);
    if (s->present & HAS_LENS) in->t[4] = int32_tensor(s->b, s->lens);
    if (s->present & HAS_H0) in->t[5] = ts_random(&rng, 3, state, -0.8f, 0.8f);
    if (s->present & HAS_C0) in->t[6] = ts_random(&rng, 3, state, -0.8f, 0.8f);
    if (s->present & HAS_P) in->t[7] = ts_random(&rng, 2, peep, -0.5f, 0.5f);
    in->n = 3;
    for (int k = 0; k < 8; k++) {
        int here = k < 3 || (s->present & (1u << k));
        in->list[k] = here ? &in->t[k] : NULL;
        if (here) in->n = k + 1;
    }
}

static void free_inputs(rnn_inputs *in) {
    for (int k = 0; k < 8; k++)
        if (in->list[k]) ot_tensor_free(&in->t[k]);
}

/* Attributes: hidden_size, direction (forward or bidirectional unless extra has one),
 * layout (opset 14), then `extra`. */
static int make_attrs(const rnn_shape *s, ot_attr *attrs, int n_extra, const ot_attr *extra) {
    int n = 0, has_direction = 0;
    for (int k = 0; k < n_extra; k++) has_direction |= !strcmp(extra[k].name, "direction");
    attrs[n++] = ts_attr_int("hidden_size", s->h);
    if (!has_direction) attrs[n++] = ts_attr_string("direction", s->directions == 2 ? "bidirectional" : "forward");
    if (s->opset >= 14) attrs[n++] = ts_attr_int("layout", s->layout);
    for (int k = 0; k < n_extra; k++) attrs[n++] = extra[k];
    return n;
}

static void free_attrs(int n, ot_attr *attrs) {
    for (int k = 0; k < n; k++) ot_attr_free(&attrs[k]);
}

/* Gradient check of every float input through every output; takes ownership of extra. */
static void gradcheck(const rnn_shape *s, int n_extra, ot_attr *extra) {
    rnn_inputs in;
    make_inputs(s, &in);
    ot_attr attrs[12];
    int n_attrs = make_attrs(s, attrs, n_extra, extra);
    ts_gradcheck_outputs(s->op, s->opset, in.n, in.list, ALL_FLOATS, outputs_of(s->op), n_attrs, attrs,
                         1e-3, 2e-3);
    free_attrs(n_attrs, attrs);
    free_inputs(&in);
}

static ot_attr reverse_attr(void) { return ts_attr_string("direction", "reverse"); }

static const int32_t lens_3[3] = {3, 1, 2};

/* LSTM ------------------------------------------------------------------------------------- */

static void lstm_forward_all_inputs(void **state) {
    (void)state;
    rnn_shape s = {"LSTM", 14, 0, 1, 3, 2, 3, 2, NULL, HAS_B | HAS_H0 | HAS_C0 | HAS_P};
    gradcheck(&s, 0, NULL);
    s.opset = 7; /* the opset 7 row: no layout attribute */
    gradcheck(&s, 0, NULL);
}

static void lstm_reverse_peepholes_clip(void **state) {
    (void)state;
    rnn_shape s = {"LSTM", 14, 0, 1, 4, 2, 2, 3, NULL, HAS_B | HAS_H0 | HAS_C0 | HAS_P};
    /* Pre-activations stay well inside the clip. */
    ot_attr extra[2] = {reverse_attr(), ts_attr_float("clip", 8.0f)};
    gradcheck(&s, 2, extra);
}

static void lstm_bidirectional_sequence_lens(void **state) {
    (void)state;
    rnn_shape s = {"LSTM", 14, 0, 2, 3, 3, 2, 2, lens_3, HAS_B | HAS_LENS | HAS_H0 | HAS_C0 | HAS_P};
    gradcheck(&s, 0, NULL);
}

static void lstm_layout1_bidirectional(void **state) {
    (void)state;
    rnn_shape s = {"LSTM", 14, 1, 2, 3, 3, 2, 2, lens_3, HAS_B | HAS_LENS | HAS_H0 | HAS_C0 | HAS_P};
    gradcheck(&s, 0, NULL);
}

static void lstm_input_forget_activations(void **state) {
    (void)state;
    rnn_shape s = {"LSTM", 14, 0, 1, 3, 2, 2, 2, NULL, HAS_B | HAS_H0 | HAS_C0 | HAS_P};
    static const char *const acts[3] = {"HardSigmoid", "Softsign", "ScaledTanh"};
    static const float alpha[2] = {0.15f, 1.3f}, beta[2] = {0.45f, 0.8f};
    ot_attr extra[4] = {ts_attr_int("input_forget", 1), ts_attr_strings("activations", 3, acts),
                        ts_attr_floats("activation_alpha", 2, alpha), ts_attr_floats("activation_beta", 2, beta)};
    gradcheck(&s, 4, extra);
}

/* GRU -------------------------------------------------------------------------------------- */

static void gru_cases(int linear_before_reset) {
    rnn_shape s = {"GRU", 14, 0, 1, 3, 2, 3, 2, NULL, HAS_B | HAS_H0};
    ot_attr lbr[1] = {ts_attr_int("linear_before_reset", linear_before_reset)};
    gradcheck(&s, 1, lbr);
    ot_attr reverse[3] = {ts_attr_int("linear_before_reset", linear_before_reset), reverse_attr(),
                          ts_attr_float("clip", 6.0f)};
    gradcheck(&s, 3, reverse);
    rnn_shape bi = {"GRU", 14, 1, 2, 3, 3, 2, 2, lens_3, HAS_B | HAS_LENS | HAS_H0};
    ot_attr bi_attrs[1] = {ts_attr_int("linear_before_reset", linear_before_reset)};
    gradcheck(&bi, 1, bi_attrs);
    bi.layout = 0;
    ot_attr bi0_attrs[1] = {ts_attr_int("linear_before_reset", linear_before_reset)};
    gradcheck(&bi, 1, bi0_attrs);
}

static void gru_gradients(void **state) {
    (void)state;
    gru_cases(0);
}

static void gru_linear_before_reset_gradients(void **state) {
    (void)state;
    gru_cases(1);
}

static void gru_without_bias_activations(void **state) {
    (void)state;
    rnn_shape s = {"GRU", 7, 0, 2, 2, 2, 2, 3, NULL, 0};
    static const char *const acts[4] = {"Sigmoid", "Softplus", "HardSigmoid", "Elu"};
    ot_attr extra[1] = {ts_attr_strings("activations", 4, acts)};
    gradcheck(&s, 1, extra);
}

/* RNN -------------------------------------------------------------------------------------- */

static void rnn_gradients(void **state) {
    (void)state;
    rnn_shape s = {"RNN", 14, 0, 1, 4, 2, 3, 3, NULL, HAS_B | HAS_H0};
    gradcheck(&s, 0, NULL);
    ot_attr reverse[2] = {reverse_attr(), ts_attr_float("clip", 4.0f)};
    gradcheck(&s, 2, reverse);
    rnn_shape bi = {"RNN", 14, 1, 2, 3, 3, 2, 2, lens_3, HAS_B | HAS_LENS | HAS_H0};
    gradcheck(&bi, 0, NULL);
}

static void rnn_activation_alpha_beta(void **state) {
    (void)state;
    /* Alphas and betas go, in order, to the activations that read them: LeakyRelu gets 0.2,
     * Affine 0.7 and the first beta, 0.1. */
    rnn_shape s = {"RNN", 14, 0, 2, 3, 2, 2, 2, NULL, HAS_B | HAS_H0};
    static const char *const acts[2] = {"LeakyRelu", "Affine"};
    static const float alpha[2] = {0.2f, 0.7f}, beta[1] = {0.1f};
    ot_attr extra[3] = {ts_attr_strings("activations", 2, acts), ts_attr_floats("activation_alpha", 2, alpha),
                        ts_attr_floats("activation_beta", 1, beta)};
    gradcheck(&s, 3, extra);
}

/* Values ----------------------------------------------------------------------------------- */

/* One-unit RNN with Affine (alpha 1, beta 0): H_t = x_t + 0.5 H_{t-1}, so every output is a
 * sum we can write down. Batch row 1 has length 2 of 3. */
static void rnn_sequence_lens_values(void **state) {
    (void)state;
    int64_t xd[3] = {3, 2, 1}, wd[3] = {2, 1, 1};
    static const float xv[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, wv[2] = {1.0f, 1.0f}, rv[2] = {0.5f, 0.5f};
    static const int32_t lens[2] = {3, 2};
    ot_tensor x = ts_float(3, xd, xv), w = ts_float(3, wd, wv), r = ts_float(3, wd, rv), l = int32_tensor(2, lens);
    const ot_tensor *inputs[5] = {&x, &w, &r, NULL, &l};
    static const char *const acts[2] = {"Affine", "Affine"};
    static const float alpha[2] = {1.0f, 1.0f}, beta[2] = {0.0f, 0.0f};
    ot_attr attrs[5] = {ts_attr_int("hidden_size", 1), ts_attr_string("direction", "bidirectional"),
                        ts_attr_strings("activations", 2, acts), ts_attr_floats("activation_alpha", 2, alpha),
                        ts_attr_floats("activation_beta", 2, beta)};
    ot_model *m = ts_single_node("", "RNN", 14, 5, inputs, NULL, 2, 5, attrs);
    ot_tensor y = ts_run(m, 0, NULL, 0), yh = ts_run(m, 0, NULL, 1);
    /* Y (T, D, B, 1): forward row 0 0.1, 0.35, 0.675; row 1 0.2, 0.5 then 0; reverse row 0
     * from t=2: 0.5, 0.55, 0.375; row 1 from t=1: 0.4, 0.4, then 0. */
    static const float want_y[12] = {0.1f, 0.2f, 0.375f, 0.4f, 0.35f, 0.5f, 0.55f, 0.4f, 0.675f, 0.0f, 0.5f, 0.0f};
    static const float want_yh[4] = {0.675f, 0.5f, 0.375f, 0.4f};
    for (int k = 0; k < 12; k++) assert_true(fabsf(((float *)y.data)[k] - want_y[k]) < 1e-6f);
    for (int k = 0; k < 4; k++) assert_true(fabsf(((float *)yh.data)[k] - want_yh[k]) < 1e-6f);
    ot_tensor_free(&y);
    ot_tensor_free(&yh);
    ot_model_free(m);
    free_attrs(5, attrs);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
    ot_tensor_free(&r);
    ot_tensor_free(&l);
}

/* The gates' vectorised tanh and sigmoid against libm in double: within 4e-7 relative (about
 * 7 ulp; measured 2.6 and 3.2) from -100 to 100 and on tiny arguments. */
static void fast_tanh_sigmoid(void **state) {
    (void)state;
    for (double x = -100.0; x <= 100.0; x += 1e-3) {
        float xf = (float)x;
        double t = tanh((double)xf), s = 1.0 / (1.0 + exp(-(double)xf));
        if (xf != 0.0f && fabs(ot_tanh_fast(xf) - t) > 4e-7 * fabs(t))
            fail_msg("tanh(%.9g) = %.9g, libm %.9g", xf, ot_tanh_fast(xf), t);
        if (s > 1e-37 && fabs(ot_sigmoid_fast(xf) - s) > 4e-7 * s)
            fail_msg("sigmoid(%.9g) = %.9g, libm %.9g", xf, ot_sigmoid_fast(xf), s);
    }
    for (float x = 1e-30f; x < 1e-3f; x *= 1.01f) {
        double t = tanh((double)x);
        if (fabs(ot_tanh_fast(x) - t) > 4e-7 * t || fabs(ot_tanh_fast(-x) + t) > 4e-7 * t)
            fail_msg("tanh(%.9g) = %.9g, libm %.9g", x, ot_tanh_fast(x), t);
    }
    assert_true(ot_tanh_fast(0.0f) == 0.0f && ot_sigmoid_fast(0.0f) == 0.5f);
}

/* Errors ----------------------------------------------------------------------------------- */

static void errors_name_the_node(void **state) {
    (void)state;
    rnn_shape s = {"LSTM", 14, 0, 1, 2, 2, 2, 2, NULL, 0};
    rnn_inputs in;
    make_inputs(&s, &in);
    static const char *const bad[3] = {"Sigmoid", "Swish", "Tanh"};
    ot_attr attrs[2] = {ts_attr_int("hidden_size", 2), ts_attr_strings("activations", 3, bad)};
    ts_expect_node_error("LSTM", 14, 3, in.list, NULL, 1, 2, attrs, 0, OT_ERR_UNSUPPORTED, "Swish");
    ot_attr_free(&attrs[1]);
    attrs[1] = ts_attr_string("direction", "sideways");
    ts_expect_node_error("LSTM", 14, 3, in.list, NULL, 1, 2, attrs, 0, OT_ERR_INVALID, "sideways");
    ot_attr_free(&attrs[1]);
    attrs[1] = ts_attr_int("layout", 0);
    ot_attr_free(&attrs[0]);
    attrs[0] = ts_attr_int("hidden_size", 3); /* W has 4 * 2 rows */
    ts_expect_node_error("LSTM", 14, 3, in.list, NULL, 1, 2, attrs, 0, OT_ERR_INVALID, "input W has shape");
    free_attrs(2, attrs);
    free_inputs(&in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lstm_forward_all_inputs),
        cmocka_unit_test(lstm_reverse_peepholes_clip),
        cmocka_unit_test(lstm_bidirectional_sequence_lens),
        cmocka_unit_test(lstm_layout1_bidirectional),
        cmocka_unit_test(lstm_input_forget_activations),
        cmocka_unit_test(gru_gradients),
        cmocka_unit_test(gru_linear_before_reset_gradients),
        cmocka_unit_test(gru_without_bias_activations),
        cmocka_unit_test(rnn_gradients),
        cmocka_unit_test(rnn_activation_alpha_beta),
        cmocka_unit_test(rnn_sequence_lens_values),
        cmocka_unit_test(fast_tanh_sigmoid),
        cmocka_unit_test(errors_name_the_node),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
