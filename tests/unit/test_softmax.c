/* Softmax and LogSoftmax: forward values against PyTorch in both opset semantics (coerced
 * 2-D before 13, single axis from 13), the row kernels the losses use, gradient checks,
 * rows masked with -inf (partly: ordinary; fully: 0 / -inf, zero gradient, no NaN) and
 * errors.
 *
 * Expected values from torch 1.13 on x = sin(i * 0.7) * 3 reshaped to (2, 3, 4):
 *   torch.softmax(x, 1), torch.log_softmax(x, 1)              (opset 13, axis 1)
 *   torch.softmax(x.reshape(2, 12), 1)                        (opset 11, axis 1: coerced)
 *   torch.log_softmax(x.reshape(6, 4), 1)                     (the row kernel)
 *   torch.softmax / log_softmax of [1000, 1001, 1002, -1000]  (stability) */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "test_support.h"

static const float softmax_axis1[24] = {
    0.25757867f, 0.83139867f, 0.72616357f, 0.40671065f, 0.70365602f, 0.042018358f,
    0.0027640553f, 0.0016017815f, 0.038765293f, 0.12658298f, 0.27107239f, 0.59168756f,
    0.39873576f, 0.16906761f, 0.084922485f, 0.0091070822f, 0.0016273763f, 0.010161358f,
    0.28203899f, 0.95036775f, 0.59963685f, 0.82077098f, 0.63303852f, 0.040525261f};
static const float log_softmax_axis1[24] = {
    -1.3564301f, -0.18464586f, -0.31998f, -0.89965326f, -0.35146564f, -3.1696486f,
    -5.8910565f, -6.4366388f, -3.2502301f, -2.0668571f, -1.3053694f, -0.52477652f,
    -0.9194563f, -1.7774565f, -2.4660163f, -4.6987028f, -6.4207864f, -4.5891633f,
    -1.2657099f, -0.050906286f, -0.51143104f, -0.19751112f, -0.45722401f, -3.2058296f};
static const float softmax_2d_axis1[24] = {
    0.013999376f, 0.096705064f, 0.26917502f, 0.18653907f, 0.03824364f, 0.0048874132f,
    0.0010245825f, 0.00073466188f, 0.0021068901f, 0.014723642f, 0.10048138f, 0.27137929f,
    0.21737255f, 0.043602355f, 0.0055754804f, 0.0011956961f, 0.00088717137f, 0.0026206034f,
    0.018516924f, 0.12477663f, 0.32689467f, 0.21167593f, 0.041561358f, 0.0053206831f};
static const float log_softmax_rows_6x4[24] = {
    -3.7003207f, -1.7676675f, -0.74397147f, -1.1106926f, -0.16024442f, -2.2175586f,
    -3.7799363f, -4.1125669f, -5.2175722f, -3.2733307f, -1.3528128f, -0.3592678f,
    -0.20842636f, -1.8149281f, -3.8716607f, -5.4113102f, -5.1087971f, -4.0256753f,
    -2.070395f, -0.16255495f, -0.58274728f, -1.0173287f, -2.6452143f, -4.7007837f};
static const float softmax_large[4] = {0.090030573f, 0.24472848f, 0.66524094f, 0.0f};
static const float log_softmax_large[4] = {-2.4076059f, -1.4076059f, -0.40760595f, -2002.4076f};

static ot_tensor sine_input(int ndim, const int64_t *dims) {
    ot_tensor t = ts_tensor(ndim, dims);
    float *x = t.data;
    for (int64_t i = 0; i < ot_tensor_numel(&t); i++) x[i] = (float)(sin((double)i * 0.7) * 3.0);
    return t;
}

static void assert_close(const float *got, const float *want, int64_t n, double rel) {
    for (int64_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-7 + rel * fabs(want[i]))
            fail_msg("value %lld: got %.8g, want %.8g", (long long)i, got[i], want[i]);
}

/* Output 0 of op on x (a graph input); axis < -100 leaves the attribute out. */
static ot_tensor run_softmax(const char *op, int opset, const ot_tensor *x, int64_t axis) {
    const ot_tensor *inputs[1] = {x};
    int as_input[1] = {1};
    ot_attr attr = ts_attr_int("axis", axis);
    ot_model *m = ts_single_node("", op, opset, 1, inputs, as_input, 1, axis < -100 ? 0 : 1, &attr);
    ot_tensor y = ts_run(m, 1, x, 0);
    ot_model_free(m);
    ot_attr_free(&attr);
    return y;
}

static void forward_values(void **state) {
    (void)state;
    int64_t dims[3] = {2, 3, 4};
    ot_tensor x = sine_input(3, dims);
    ot_tensor y = run_softmax("Softmax", 13, &x, 1);
    assert_close(y.data, softmax_axis1, 24, 1e-6);
    ot_tensor_free(&y);
    y = run_softmax("Softmax", 13, &x, -2); /* the same axis counted from the end */
    assert_close(y.data, softmax_axis1, 24, 1e-6);
    ot_tensor_free(&y);
    y = run_softmax("LogSoftmax", 13, &x, 1);
    assert_close(y.data, log_softmax_axis1, 24, 1e-6);
    ot_tensor_free(&y);
    /* Opset 11, default axis 1: (2, 3, 4) coerced to (2, 12). */
    y = run_softmax("Softmax", 11, &x, -1000);
    assert_close(y.data, softmax_2d_axis1, 24, 1e-6);
    ot_tensor_free(&y);
    ot_tensor_free(&x);
}

static void large_values_are_stable(void **state) {
    (void)state;
    int64_t dims[1] = {4};
    float xs[4] = {1000.0f, 1001.0f, 1002.0f, -1000.0f};
    ot_tensor x = ts_float(1, dims, xs);
    ot_tensor y = run_softmax("Softmax", 13, &x, -1000); /* default axis -1 */
    assert_close(y.data, softmax_large, 4, 1e-6);
    ot_tensor_free(&y);
    y = run_softmax("LogSoftmax", 13, &x, -1000);
    assert_close(y.data, log_softmax_large, 4, 1e-6);
    ot_tensor_free(&y);
    ot_tensor_free(&x);
}

/* The last axis of rows: (2, 3, 4) read as six rows of four. */
static void last_axis_rows(void **state) {
    (void)state;
    int64_t dims[2] = {6, 4};
    ot_tensor x = sine_input(2, dims);
    ot_tensor y = run_softmax("LogSoftmax", 13, &x, -1);
    assert_close(y.data, log_softmax_rows_6x4, 24, 1e-6);
    ot_tensor_free(&y);
    ot_tensor_free(&x);
}

static void gradients(void **state) {
    (void)state;
    static const char *const ops[2] = {"Softmax", "LogSoftmax"};
    /* (opset, axis): single axis in the middle, first and last; coerced at 1 and 2. */
    static const int cases[5][2] = {{13, 1}, {13, 0}, {13, -1}, {11, 1}, {1, 2}};
    int64_t dims[3] = {2, 3, 4};
    ot_tensor x = sine_input(3, dims);
    const ot_tensor *inputs[1] = {&x};
    for (int op = 0; op < 2; op++)
        for (int c = 0; c < 5; c++) {
            ot_attr axis = ts_attr_int("axis", cases[c][1]);
            ts_gradcheck(ops[op], cases[c][0], 1, inputs, 1, 1, &axis, 0, 1e-3, 1e-2);
            ot_attr_free(&axis);
        }
    ot_tensor_free(&x);
}

/* Attention masks added as -inf: a row with some finite values is an ordinary softmax (the
 * masked entries get 0); a fully masked row gives 0 (Softmax) or -inf (LogSoftmax) and a zero
 * gradient, never NaN (docs/OPS.md). */
static void masked_rows(void **state) {
    (void)state;
    int64_t dims[2] = {3, 4};
    float v[12] = {1.0f, -INFINITY, 2.0f, -INFINITY, /* partially masked */
                   -INFINITY, -INFINITY, -INFINITY, -INFINITY, /* fully masked */
                   0.5f, -1.0f, 0.25f, 2.0f};
    ot_tensor x = ts_float(2, dims, v), dy = ts_float(2, dims, (float[]){1, 2, 3, 4, 5, 6, 7, 8, -1, 2, -3, 4});
    const ot_tensor *inputs[1] = {&x};
    float e = expf(1.0f), e2 = expf(2.0f);
    for (int log = 0; log < 2; log++) {
        ot_tensor got[2];
        ts_forward_backward(log ? "LogSoftmax" : "Softmax", 13, 1, inputs, 0, NULL, &dy, got);
        const float *y = got[0].data, *dx = got[1].data;
        for (int i = 0; i < 12; i++)
            if (isnan(y[i]) || isnan(dx[i])) fail_msg("%s: NaN at %d (y %g, dx %g)", log ? "LogSoftmax" : "Softmax", i, y[i], dx[i]);
        float p0 = e / (e + e2), p2 = e2 / (e + e2);
        if (log) {
            assert_float_equal(y[0], logf(p0), 1e-6);
            assert_true(y[1] == -INFINITY && y[3] == -INFINITY);
            /* d(x_i - logsumexp)/dx: dy_i - p_i * sum(dy); masked entries have p = 0. */
            assert_float_equal(dx[0], 1.0f - p0 * 10.0f, 1e-5);
            assert_float_equal(dx[1], 2.0f, 1e-6);
            for (int i = 4; i < 8; i++) assert_true(y[i] == -INFINITY && dx[i] == 0.0f);
        } else {
            assert_float_equal(y[0], p0, 1e-6);
            assert_float_equal(y[2], p2, 1e-6);
            assert_true(y[1] == 0.0f && y[3] == 0.0f && dx[1] == 0.0f && dx[3] == 0.0f);
            /* p_i * (dy_i - sum_j p_j dy_j) */
            assert_float_equal(dx[0], p0 * (1.0f - (p0 * 1.0f + p2 * 3.0f)), 1e-6);
            for (int i = 4; i < 8; i++) assert_true(y[i] == 0.0f && dx[i] == 0.0f);
        }
        ts_free_tensors(got, 2);
    }
    /* Central differences through the partially masked row (and the other two). */
    for (int64_t axis = -1; axis <= 0; axis++) {
        ot_attr attr = ts_attr_int("axis", axis);
        ts_gradcheck("Softmax", 13, 1, inputs, 1, 1, &attr, 0, 1e-3, 1e-2);
        ot_attr_free(&attr);
    }
    ot_tensor_free(&x);
    ot_tensor_free(&dy);
}

/* Attention-sized rows (512 x 128, split over the compute threads) give bit-identical
 * forward and backward values to the same rows run 32 at a time (too few to split), and
 * match a double-precision softmax (libm exp) within 1e-6; some entries are -inf (masked,
 * exactly 0) or far below the row's maximum (beyond the fast exp's range). */
static void split_rows_match_pieces_and_reference(void **state) {
    (void)state;
    enum { ROWS = 512, N = 128, PIECE = 32 };
    ot_rng rng;
    ot_rng_seed(&rng, 7);
    int64_t dims[2] = {ROWS, N}, piece_dims[2] = {PIECE, N};
    ot_tensor x = ts_random(&rng, 2, dims, -8.0f, 8.0f), dy = ts_random(&rng, 2, dims, -1.0f, 1.0f);
    float *xv = x.data;
    for (int r = 0; r < ROWS; r++) {
        xv[r * N + r % N] = -INFINITY;
        xv[r * N + (r + 1) % N] = -120.0f;
    }
    static const char *const ops[2] = {"Softmax", "LogSoftmax"};
    for (int op = 0; op < 2; op++) {
        ot_tensor whole[2], piece[2];
        ts_forward_backward(ops[op], 13, 1, (const ot_tensor *[]){&x}, 0, NULL, &dy, whole);
        for (int r0 = 0; r0 < ROWS; r0 += PIECE) {
            ot_tensor xp = ts_float(2, piece_dims, xv + r0 * N);
            ot_tensor dyp = ts_float(2, piece_dims, (float *)dy.data + r0 * N);
            ts_forward_backward(ops[op], 13, 1, (const ot_tensor *[]){&xp}, 0, NULL, &dyp, piece);
            for (int k = 0; k < 2; k++)
                if (memcmp(piece[k].data, (float *)whole[k].data + r0 * N, sizeof(float) * PIECE * N))
                    fail_msg("%s: %s of rows %d.. differs when split", ops[op], k ? "dx" : "y", r0);
            ts_free_tensors(piece, 2);
            ts_free_tensors((ot_tensor[]){xp, dyp}, 2);
        }
        const float *y = whole[0].data;
        for (int r = 0; r < ROWS; r++) {
            double max = -INFINITY, sum = 0;
            for (int i = 0; i < N; i++) max = fmax(max, xv[r * N + i]);
            for (int i = 0; i < N; i++) sum += exp((double)xv[r * N + i] - max);
            for (int i = 0; i < N; i++) {
                double want = op ? xv[r * N + i] - max - log(sum) : exp((double)xv[r * N + i] - max) / sum;
                double got = y[r * N + i];
                if (xv[r * N + i] == -INFINITY && !(op ? got == -INFINITY : got == 0.0))
                    fail_msg("%s: masked entry (%d, %d) is %g", ops[op], r, i, got);
                else if (isfinite(want) && fabs(got - want) > 1e-7 + 1e-6 * fabs(want))
                    fail_msg("%s: (%d, %d) is %.9g, want %.9g", ops[op], r, i, got, want);
            }
        }
        ts_free_tensors(whole, 2);
    }
    ts_free_tensors((ot_tensor[]){x, dy}, 2);
}

/* Softmax-like `op` with `axis` on x (an initializer) must fail to resolve or plan with
 * OT_ERR_INVALID and a message naming the node and containing `needle`. */
/* Hardmax: one-hot of the first maximum along the axis (13), or of the flattened trailing
 * dims (opsets < 13, axis 1). */
static void hardmax_forms(void **state) {
    (void)state;
    int64_t dims[3] = {2, 2, 2};
    float v[8] = {1, 3, 3, 2, 5, 5, 0, 7};
    ot_tensor x = ts_float(3, dims, v);
    ot_tensor y = run_softmax("Hardmax", 13, &x, -1);
    float last_axis[8] = {0, 1, 1, 0, 1, 0, 0, 1};
    assert_close(y.data, last_axis, 8, 0.0);
    ot_tensor_free(&y);
    y = run_softmax("Hardmax", 11, &x, 1);
    float flattened[8] = {0, 1, 0, 0, 0, 0, 0, 1};
    assert_close(y.data, flattened, 8, 0.0);
    ot_tensor_free(&y);
    y = run_softmax("Hardmax", 13, &x, 1);
    float middle_axis[8] = {0, 1, 1, 0, 1, 0, 0, 1};
    assert_close(y.data, middle_axis, 8, 0.0);
    ot_tensor_free(&y);
    ot_tensor_free(&x);
}

static void expect_error(const char *op, int opset, const ot_tensor *x, int64_t axis, const char *needle) {
    const ot_tensor *inputs[1] = {x};
    ot_attr attr = ts_attr_int("axis", axis);
    ts_expect_node_error(op, opset, 1, inputs, NULL, 1, 1, &attr, 1, OT_ERR_INVALID, needle);
    ot_attr_free(&attr);
}

static void bad_axis_and_dtype(void **state) {
    (void)state;
    int64_t dims[3] = {2, 3, 4};
    ot_tensor x = sine_input(3, dims);
    expect_error("Softmax", 13, &x, 3, "axis 3 is out of range");
    expect_error("LogSoftmax", 13, &x, -4, "axis -4 is out of range");
    expect_error("Softmax", 11, &x, 5, "axis 5 is out of range");
    int64_t values[2] = {1, 2}, idims[1] = {2};
    ot_tensor xi = ts_int64(1, idims, values);
    expect_error("Softmax", 13, &xi, -1, "must be float32");
    ot_tensor_free(&xi);
    ot_tensor_free(&x);
}

/* SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss: the scores' gradient under every
 * reduction, with class weights and an ignored label, and through log_prob (output 1). */
static void loss_gradients(void **state) {
    (void)state;
    static const char *const ops[2] = {"SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss"};
    static const char *const reductions[3] = {"none", "sum", "mean"};
    int64_t xd[3] = {2, 3, 2}, td[2] = {2, 2}, wd[1] = {3};
    ot_tensor x = sine_input(3, xd);
    ot_tensor t = ts_int64(2, td, (const int64_t[]){0, 2, -1, 1});
    ot_tensor w = ts_float(1, wd, (const float[]){0.5f, 2.0f, 1.5f});
    for (int op = 0; op < 2; op++)
        for (int r = 0; r < 3; r++) {
            ot_attr attrs[2] = {ts_attr_string("reduction", reductions[r]), ts_attr_int("ignore_index", -1)};
            ts_gradcheck(ops[op], 13, 3, (const ot_tensor *[]){&x, &t, &w}, 1, 2, attrs, 0, 1e-3, 1e-2);
            ts_gradcheck(ops[op], 12, 2, (const ot_tensor *[]){&x, &t}, 1, 2, attrs, 0, 1e-3, 1e-2);
            ot_attr_free(&attrs[0]);
            ot_attr_free(&attrs[1]);
        }
    /* Both outputs: the loss and log_prob. */
    ot_attr ii = ts_attr_int("ignore_index", -1);
    ts_gradcheck_outputs("SoftmaxCrossEntropyLoss", 13, 3, (const ot_tensor *[]){&x, &t, &w}, 1, 2, 1, &ii,
                         1e-3, 1e-2);
    ot_attr_free(&ii);
    ts_free_tensors((ot_tensor[]){x, t, w}, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_values),
        cmocka_unit_test(large_values_are_stable),
        cmocka_unit_test(last_axis_rows),
        cmocka_unit_test(gradients),
        cmocka_unit_test(bad_axis_and_dtype),
        cmocka_unit_test(masked_rows),
        cmocka_unit_test(split_rows_match_pieces_and_reference),
        cmocka_unit_test(hardmax_forms),
        cmocka_unit_test(loss_gradients),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
