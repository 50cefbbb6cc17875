/* Conv and ConvTranspose: forward values and input gradients against PyTorch, gradient checks
 * by central differences, the tiled paths (stacked samples, position ranges), and clear
 * errors for bad attributes and shapes.
 *
 * Reference values: tests/fixtures/conv/<case>_*.npy from tools/fixtures/gen_conv_fixtures.py
 * (torch 1.13 in float64 on the float32 inputs; d<name> = d sum(y * dy) / d input). The
 * attributes below must match that script's table. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "formats/npy.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/plan.h"
#include "ops/conv_internal.h"
#include "test_support.h"

static ot_tensor load_fixture(const char *case_name, const char *name) {
    char file[256];
    snprintf(file, sizeof file, "conv/%s_%s.npy", case_name, name);
    ot_tensor t;
    if (oti_npy_load(NULL, ts_fixture(file), &t) != OT_OK) fail_msg("%s: %s", file, ot_last_error());
    return t;
}

/* How a group of cases runs: the plans' options (conv arithmetic and thresholds) and the
 * tolerance. scale_tolerance above 0 holds results to that fraction of the largest |value| of
 * each tensor instead (the fast Winograd transforms' error scales with the tensor, not with
 * each element). */
typedef struct conv_run {
    ot_conv_tuning tuning;
    int fast;
    double scale_tolerance;
} conv_run;

static conv_run default_run(void) { return (conv_run){oti_conv_tuning_default(), 0, 0.0}; }

static ot_plan_options plan_options_of(const conv_run *run) {
    ot_plan_options options = ts_plan_options();
    options.fast_convolution = run->fast;
    options.conv_tuning = &run->tuning;
    return options;
}

static void assert_close(const conv_run *run, const char *what, const char *case_name, const float *got,
                         const ot_tensor *want) {
    const float *w = want->data;
    float scale = 0.0f;
    for (int64_t i = 0; i < ot_tensor_numel(want); i++) scale = fmaxf(scale, fabsf(w[i]));
    for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
        float tolerance = run->scale_tolerance > 0 ? (float)run->scale_tolerance * scale : 1e-5f + 1e-4f * fabsf(w[i]);
        if (!(fabsf(got[i] - w[i]) <= tolerance))
            fail_msg("%s %s[%lld]: got %.7g, expected %.7g", case_name, what, (long long)i, got[i], w[i]);
    }
}

/* Runs `op` on the case's inputs (x, w[, b] or a, b[, c]) in a training plan where every
 * input is trained, then checks y and, after backward from the case's dy, every input's
 * gradient against the fixtures. */
static void check_against_torch(const conv_run *run, const char *op, int opset, const char *case_name,
                                int n_inputs, const char *const *names, int n_attrs, const ot_attr *attrs) {
    ot_tensor inputs[4], got[5];
    const ot_tensor *ptrs[4];
    for (int k = 0; k < n_inputs; k++) {
        inputs[k] = load_fixture(case_name, names[k]);
        ptrs[k] = &inputs[k];
    }
    ot_tensor want_y = load_fixture(case_name, "y"), dy = load_fixture(case_name, "dy");
    ot_plan_options options = plan_options_of(run);
    ts_forward_backward_with(&options, op, opset, n_inputs, ptrs, n_attrs, attrs, &dy, got);
    assert_true(ot_tensor_same_shape(&got[0], &want_y));
    assert_close(run, "y", case_name, got[0].data, &want_y);
    for (int k = 0; k < n_inputs; k++) {
        char grad_name[16];
        snprintf(grad_name, sizeof grad_name, "d%s", names[k]);
        ot_tensor want = load_fixture(case_name, grad_name);
        assert_close(run, grad_name, case_name, got[1 + k].data, &want);
        ot_tensor_free(&want);
        ot_tensor_free(&inputs[k]);
    }
    ts_free_tensors(got, 1 + n_inputs);
    ot_tensor_free(&want_y);
    ot_tensor_free(&dy);
}

static void free_attrs(int n, ot_attr *attrs) {
    for (int i = 0; i < n; i++) ot_attr_free(&attrs[i]);
}

/* The attributes of one conv case: strides, pads, dilations, group, optional auto_pad and
 * output_padding; r spatial dims. */
typedef struct conv_case {
    const char *name;
    int r, bias;
    int64_t strides[3], pads[6], dilations[3], output_padding[3];
    int64_t group;
    const char *auto_pad;
} conv_case;

static int case_attrs(const conv_case *cc, int transpose, ot_attr *attrs) {
    int n = 0;
    attrs[n++] = ts_attr_ints("strides", cc->r, cc->strides);
    attrs[n++] = ts_attr_ints("dilations", cc->r, cc->dilations);
    attrs[n++] = ts_attr_int("group", cc->group);
    if (cc->auto_pad) attrs[n++] = ts_attr_string("auto_pad", cc->auto_pad);
    else attrs[n++] = ts_attr_ints("pads", 2 * cc->r, cc->pads);
    if (transpose) attrs[n++] = ts_attr_ints("output_padding", cc->r, cc->output_padding);
    return n;
}

static const conv_case conv_cases[] = {
    {"conv1d", 1, 1, {2}, {1, 2}, {2}, {0}, 2, NULL},
    {"conv2d", 2, 1, {2, 1}, {1, 0, 2, 1}, {1, 2}, {0}, 1, NULL},
    {"conv2d_group", 2, 0, {1, 1}, {1, 1, 1, 1}, {1, 1}, {0}, 2, NULL},
    {"conv2d_depthwise", 2, 1, {2, 2}, {1, 1, 1, 1}, {1, 1}, {0}, 3, NULL},
    {"conv2d_depthwise_dilated", 2, 0, {1, 2}, {2, 0, 1, 1}, {2, 3}, {0}, 4, NULL},
    /* 3x3 at stride 1: the register-blocked depthwise row kernel */
    {"conv2d_depthwise_3x3", 2, 1, {1, 1}, {1, 1, 1, 1}, {2, 1}, {0}, 4, NULL},
    /* one input channel, four outputs, 5x5 (MNIST-style first layer: direct loops) */
    {"conv2d_one_channel", 2, 1, {1, 1}, {2, 1, 0, 2}, {1, 1}, {0}, 1, NULL},
    {"conv2d_one_channel_wide", 2, 1, {1, 1}, {2, 1, 1, 3}, {1, 1}, {0}, 1, NULL},
    {"conv2d_pointwise", 2, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, {0}, 1, NULL},
    {"conv2d_batched", 2, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, {0}, 1, NULL},
    {"conv2d_same_upper", 2, 0, {2, 2}, {0}, {1, 1}, {0}, 1, "SAME_UPPER"},
    {"conv2d_same_lower", 2, 0, {2, 2}, {0}, {1, 1}, {0}, 1, "SAME_LOWER"},
    /* Winograd tiles: F(4x4, 3x3) and F(2x2, 5x5), outputs not whole tiles */
    {"conv2d_winograd_3x3", 2, 1, {1, 1}, {1, 0, 1, 2}, {1, 1}, {0}, 1, NULL},
    {"conv2d_winograd_5x5", 2, 1, {1, 1}, {0, 3, 1, 0}, {1, 1}, {0}, 1, NULL},
    /* FFT: LeNet's second conv (32 -> 48 channels, 14 x 14, pads 2), a 7x4 kernel on an
     * odd-sized frame with uneven pads */
    {"conv2d_fft_lenet", 2, 1, {1, 1}, {2, 2, 2, 2}, {1, 1}, {0}, 1, NULL},
    {"conv2d_fft_7x4", 2, 1, {1, 1}, {3, 1, 3, 2}, {1, 1}, {0}, 1, NULL},
    {"conv3d", 3, 1, {1, 2, 1}, {1, 0, 1, 0, 1, 0}, {1, 1, 2}, {0}, 2, NULL},
};

static const conv_case transpose_cases[] = {
    {"convT1d", 1, 1, {3}, {1, 1}, {1}, {0}, 1, NULL},
    {"convT2d", 2, 1, {2, 3}, {1, 0, 1, 0}, {1, 2}, {1, 2}, 2, NULL},
    {"convT3d", 3, 0, {2, 1, 2}, {0, 1, 0, 0, 1, 0}, {1, 1, 1}, {1, 0, 0}, 1, NULL},
};

static void run_cases(const conv_run *run, const conv_case *cases, int count, int transpose) {
    static const char *const names[3] = {"x", "w", "b"};
    for (int i = 0; i < count; i++) {
        ot_attr attrs[6];
        int n = case_attrs(&cases[i], transpose, attrs);
        check_against_torch(run, transpose ? "ConvTranspose" : "Conv", 17, cases[i].name,
                            cases[i].bias ? 3 : 2, names, n, attrs);
        free_attrs(n, attrs);
    }
}

static void conv_matches_torch(void **state) {
    (void)state;
    conv_run run = default_run();
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
}

static void conv_transpose_matches_torch(void **state) {
    (void)state;
    conv_run run = default_run();
    run_cases(&run, transpose_cases, OT_COUNT(transpose_cases), 1);
}

/* A column budget of a few hundred floats forces ranges of output positions (and single
 * samples) per tile; results must not change. */
static void small_tiles_match_torch(void **state) {
    (void)state;
    conv_run run = default_run();
    run.tuning.column_budget_floats = 200;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    run_cases(&run, transpose_cases, OT_COUNT(transpose_cases), 1);
}

/* Winograd for every conv it can take, dX and dW included. */
static conv_run winograd_run(void) {
    conv_run run = default_run();
    run.tuning.winograd_min_channels = 1;
    run.tuning.winograd_dx_max_ratio = run.tuning.winograd_dw_max_ratio = INT64_MAX / 4096;
    run.tuning.winograd_dw_min_channels = 1;
    return run;
}

/* Every 2-D, stride-1 3x3 or 5x5 case through the Winograd path (one input channel, two,
 * 18, 20), in chunks of a tile row or a few: results must not change. Then with im2col
 * taking dW, and dX, as it does where the weights outweigh the tiles. */
static void winograd_matches_torch(void **state) {
    (void)state;
    conv_run run = winograd_run();
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    run.tuning.winograd_chunk_floats = 0;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    run = winograd_run();
    run.tuning.winograd_dw_max_ratio = 0;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    run = winograd_run();
    run.tuning.winograd_dx_max_ratio = 0;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
}

/* Every 2-D, stride-1 case with 16 taps or more through the FFT path (one input channel up
 * to 32, batches of 2 to 4 in 16 columns, frames of odd and even sides), also where it would
 * not pay, then one and two samples at a time: results must not change. */
static void fft_matches_torch(void **state) {
    (void)state;
    conv_run run = default_run();
    run.tuning.fft_min_channels = 1;
    run.tuning.fft_min_gain = 0.0;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    run.tuning.fft_chunk_samples = 1;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    run.tuning.fft_chunk_samples = 2;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
}

/* The FFT path against im2col (itself held to PyTorch above) on 40 random geometries: kernels
 * 4x4 to 7x6, planes 1 to 20 wide, pads 0 to 5 on each side (some beyond the kernel), 1 to
 * 20 channels, 1 to 5 samples, in chunks of 1 to 3 samples. */
static void fft_matches_im2col_on_random_shapes(void **state) {
    (void)state;
    conv_run im2col = default_run(), fft = default_run();
    im2col.tuning.fft_min_channels = (int64_t)1 << 40;
    fft.tuning.fft_min_channels = 1;
    fft.tuning.fft_min_gain = 0.0;
    ot_rng rng;
    ot_rng_seed(&rng, 2026);
    for (int round = 0; round < 40; round++) {
        int64_t kh = 4 + (int64_t)ot_rng_below(&rng, 4), kw = 4 + (int64_t)ot_rng_below(&rng, 3);
        int64_t pads[4];
        for (int i = 0; i < 4; i++) pads[i] = (int64_t)ot_rng_below(&rng, 6);
        int64_t h = 1 + (int64_t)ot_rng_below(&rng, 20), w = 1 + (int64_t)ot_rng_below(&rng, 20);
        if (h + pads[0] + pads[2] < kh) pads[2] = kh - h - pads[0]; /* at least one output */
        if (w + pads[1] + pads[3] < kw) pads[3] = kw - w - pads[1];
        if (h + pads[0] + pads[2] > 32 || w + pads[1] + pads[3] > 32) continue; /* not the FFT's */
        int64_t n = 1 + (int64_t)ot_rng_below(&rng, 5), c = 1 + (int64_t)ot_rng_below(&rng, 20),
                o = 1 + (int64_t)ot_rng_below(&rng, 20);
        int64_t xd[4] = {n, c, h, w}, wd[4] = {o, c, kh, kw}, bd[1] = {o};
        int64_t yd[4] = {n, o, h + pads[0] + pads[2] - kh + 1, w + pads[1] + pads[3] - kw + 1};
        ot_tensor x = ts_random(&rng, 4, xd, -1.0f, 1.0f), wt = ts_random(&rng, 4, wd, -1.0f, 1.0f);
        ot_tensor b = ts_random(&rng, 1, bd, -1.0f, 1.0f), dy = ts_random(&rng, 4, yd, -1.0f, 1.0f);
        ot_attr attrs[1] = {ts_attr_ints("pads", 4, pads)};
        const ot_tensor *inputs[3] = {&x, &wt, &b};
        ot_tensor want[4], got[4];
        ot_plan_options options = plan_options_of(&im2col);
        ts_forward_backward_with(&options, "Conv", 17, 3, inputs, 1, attrs, &dy, want);
        fft.tuning.fft_chunk_samples = 1 + (int64_t)ot_rng_below(&rng, 3);
        options = plan_options_of(&fft);
        ts_forward_backward_with(&options, "Conv", 17, 3, inputs, 1, attrs, &dy, got);
        static const char *const names[4] = {"y", "dx", "dw", "db"};
        char label[96];
        snprintf(label, sizeof label, "round %d (%lldx%lld kernel, %lldx%lld image)", round,
                 (long long)kh, (long long)kw, (long long)h, (long long)w);
        for (int k = 0; k < 4; k++) {
            assert_close(&fft, names[k], label, got[k].data, &want[k]);
            ot_tensor_free(&want[k]);
            ot_tensor_free(&got[k]);
        }
        ot_attr_free(&attrs[0]);
        ot_tensor_free(&x);
        ot_tensor_free(&wt);
        ot_tensor_free(&b);
        ot_tensor_free(&dy);
    }
}

/* y, dx, dw, db of a 3x3 conv (pads 1 1 1 pad_right) on random x (xd) with wd[0] output
 * channels, under run's options, on the shared two-thread context (two) and on a
 * one-thread one (one). */
static void run_on_one_and_two_threads(const conv_run *run, const int64_t *xd, const int64_t *wd,
                                       int64_t pad_right, unsigned seed, ot_tensor *two, ot_tensor *one) {
    ot_context *alone;
    ot_context_options one_thread = {.threads = 1};
    assert_int_equal(ot_context_create(&one_thread, &alone), OT_OK);
    ot_rng rng;
    ot_rng_seed(&rng, seed);
    int64_t bd[1] = {wd[0]}, yd[4] = {xd[0], wd[0], xd[2], xd[3] + pad_right - 1};
    int64_t pads[4] = {1, 1, 1, pad_right};
    ot_tensor x = ts_random(&rng, 4, xd, -1.0f, 1.0f), wt = ts_random(&rng, 4, wd, -1.0f, 1.0f);
    ot_tensor b = ts_random(&rng, 1, bd, -1.0f, 1.0f), dy = ts_random(&rng, 4, yd, -1.0f, 1.0f);
    ot_attr attrs[1] = {ts_attr_ints("pads", 4, pads)};
    const ot_tensor *inputs[3] = {&x, &wt, &b};
    ot_plan_options options = plan_options_of(run);
    ts_forward_backward_with(&options, "Conv", 17, 3, inputs, 1, attrs, &dy, two);
    options.context = alone;
    ts_forward_backward_with(&options, "Conv", 17, 3, inputs, 1, attrs, &dy, one);
    ot_attr_free(&attrs[0]);
    ot_tensor_free(&x);
    ot_tensor_free(&wt);
    ot_tensor_free(&b);
    ot_tensor_free(&dy);
    ot_context_free(alone);
}

static void assert_same_bits(const ot_tensor *a, const ot_tensor *b, int n) {
    for (int k = 0; k < n; k++)
        assert_memory_equal(a[k].data, b[k].data, sizeof(float) * (size_t)ot_tensor_numel(&a[k]));
}

/* Winograd over many chunks of tiles (so that each thread takes whole chunks) against
 * im2col, within the conv tolerance, and bit for bit the same on one thread as on two. The
 * images are large enough for several chunks but not for im2col's own tiling to differ. */
static void winograd_chunks_match_im2col(void **state) {
    (void)state;
    conv_run im2col = default_run(), winograd = winograd_run();
    im2col.tuning.winograd_min_channels = (int64_t)1 << 40;
    winograd.tuning.winograd_chunk_floats = 0; /* the fewest tiles per chunk (64) */
    int64_t xd[4] = {3, 16, 22, 18}, wd[4] = {20, 16, 3, 3};
    ot_tensor want[4], want_alone[4], got[4], got_alone[4];
    run_on_one_and_two_threads(&im2col, xd, wd, 0, 2027, want, want_alone);
    run_on_one_and_two_threads(&winograd, xd, wd, 0, 2027, got, got_alone);
    static const char *const names[4] = {"y", "dx", "dw", "db"};
    for (int k = 0; k < 4; k++) assert_close(&winograd, names[k], "winograd chunks", got[k].data, &want[k]);
    assert_same_bits(got, got_alone, 4);
    ts_free_tensors(want, 4);
    ts_free_tensors(want_alone, 4);
    ts_free_tensors(got, 4);
    ts_free_tensors(got_alone, 4);
}

/* im2col's backward with whole-image tiles spread over parts: dW summed in fixed slots, so a
 * one-thread context gives the same bits as the two-thread one (the parts once followed the
 * threads, and ResNet18's trained weights with them). Against PyTorch-checked im2col runs
 * elsewhere; here only the thread count changes. */
static void im2col_dw_same_bits_on_any_thread_count(void **state) {
    (void)state;
    conv_run im2col = default_run();
    im2col.tuning.winograd_min_channels = im2col.tuning.fft_min_channels = (int64_t)1 << 40;
    /* 1225 positions an image: one tile per image, five tiles for the two slots */
    int64_t xd[4] = {5, 3, 35, 35}, wd[4] = {5, 3, 3, 3};
    ot_tensor two[4], one[4];
    run_on_one_and_two_threads(&im2col, xd, wd, 1, 2028, two, one);
    assert_same_bits(two, one, 4);
    ts_free_tensors(two, 4);
    ts_free_tensors(one, 4);
}

/* Central differences for Conv and ConvTranspose on random inputs (every input checked). */
static void gradcheck_inputs(const conv_run *run, const char *op, int r, const int64_t *x_dims,
                             const int64_t *w_dims, int64_t bias_len, int n_attrs, const ot_attr *attrs,
                             unsigned seed, unsigned mask) {
    ot_rng rng;
    ot_rng_seed(&rng, seed);
    int64_t b_dims[1] = {bias_len};
    ot_tensor x = ts_random(&rng, r + 2, x_dims, -1.0f, 1.0f);
    ot_tensor w = ts_random(&rng, r + 2, w_dims, -1.0f, 1.0f);
    ot_tensor b = ts_random(&rng, 1, b_dims, -1.0f, 1.0f);
    const ot_tensor *inputs[3] = {&x, &w, bias_len ? &b : NULL};
    ot_plan_options options = plan_options_of(run);
    ts_gradcheck_with(&options, op, 17, bias_len ? 3 : 2, inputs, mask, n_attrs, attrs, 0, 1e-2, 1e-2);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
    ot_tensor_free(&b);
}

static void gradcheck(const conv_run *run, const char *op, int r, const int64_t *x_dims,
                      const int64_t *w_dims, int64_t bias_len, int n_attrs, const ot_attr *attrs,
                      unsigned seed) {
    gradcheck_inputs(run, op, r, x_dims, w_dims, bias_len, n_attrs, attrs, seed, 7);
}

/* --fast-conv: F(4x4, 3x3) and F(2x2, 5x5), dW through F(3x3, 4x4) and F(5x5, 2x2), held to
 * 1e-5 of each tensor's scale (measured on these fixtures: y and dX at most 2.7e-6, dW up to
 * 7.8e-6: its sums run over every tile of the batch), plus central differences through the
 * same transforms. */
static void fast_winograd_matches_torch(void **state) {
    (void)state;
    conv_run run = winograd_run();
    run.fast = 1;
    run.scale_tolerance = 1e-5;
    run_cases(&run, conv_cases, OT_COUNT(conv_cases), 0);
    int64_t xd[4] = {2, 3, 9, 7}, wd[4] = {4, 3, 3, 3}, p[4] = {1, 0, 2, 1};
    ot_attr a[1] = {ts_attr_ints("pads", 4, p)};
    gradcheck_inputs(&run, "Conv", 2, xd, wd, 4, 1, a, 17, 7);
    int64_t xd5[4] = {2, 2, 7, 6}, wd5[4] = {3, 2, 5, 5}, p5[4] = {2, 1, 0, 3};
    ot_attr a5[1] = {ts_attr_ints("pads", 4, p5)};
    gradcheck_inputs(&run, "Conv", 2, xd5, wd5, 3, 1, a5, 18, 7);
    free_attrs(1, a);
    free_attrs(1, a5);
}

static void conv_gradients(void **state) {
    (void)state;
    conv_run plain = default_run(), winograd = winograd_run(), fft = default_run();
    fft.tuning.fft_min_channels = 1;
    fft.tuning.fft_min_gain = 0.0;
    {   /* 1-D, stride 2, asymmetric pads, dilation 2, 2 groups */
        int64_t xd[3] = {2, 4, 7}, wd[3] = {4, 2, 2}, s[1] = {2}, p[2] = {1, 2}, d[1] = {2};
        ot_attr a[4] = {ts_attr_ints("strides", 1, s), ts_attr_ints("pads", 2, p),
                        ts_attr_ints("dilations", 1, d), ts_attr_int("group", 2)};
        gradcheck(&plain, "Conv", 1, xd, wd, 4, 4, a, 1);
        free_attrs(4, a);
    }
    {   /* 2-D with stride, pads, dilation and 3 groups; batch 3 is stacked in one tile */
        int64_t xd[4] = {3, 3, 5, 6}, wd[4] = {6, 1, 2, 3}, s[2] = {2, 1}, p[4] = {1, 0, 0, 2},
                d[2] = {2, 1};
        ot_attr a[4] = {ts_attr_ints("strides", 2, s), ts_attr_ints("pads", 4, p),
                        ts_attr_ints("dilations", 2, d), ts_attr_int("group", 3)};
        gradcheck(&plain, "Conv", 2, xd, wd, 6, 4, a, 2);
        free_attrs(4, a);
    }
    {   /* 2-D, 2 input channels per group: im2col per group */
        int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {4, 2, 3, 3}, p[4] = {1, 1, 1, 1};
        ot_attr a[2] = {ts_attr_ints("pads", 4, p), ts_attr_int("group", 2)};
        gradcheck(&plain, "Conv", 2, xd, wd, 4, 2, a, 3);
        free_attrs(2, a);
    }
    {   /* depthwise with channel multiplier 2, stride 2 (direct loops) */
        int64_t xd[4] = {2, 2, 6, 5}, wd[4] = {4, 1, 3, 3}, s[2] = {2, 2}, p[4] = {1, 1, 1, 1};
        ot_attr a[3] = {ts_attr_ints("strides", 2, s), ts_attr_ints("pads", 4, p), ts_attr_int("group", 2)};
        gradcheck(&plain, "Conv", 2, xd, wd, 4, 3, a, 4);
        free_attrs(3, a);
    }
    {   /* depthwise 2x3 at stride 1 with uneven pads (padded-plane forward, generic taps) */
        int64_t xd[4] = {1, 2, 5, 6}, wd[4] = {2, 1, 2, 3}, p[4] = {1, 0, 0, 2};
        ot_attr a[2] = {ts_attr_ints("pads", 4, p), ts_attr_int("group", 2)};
        gradcheck(&plain, "Conv", 2, xd, wd, 2, 2, a, 12);
        free_attrs(2, a);
    }
    {   /* one input channel, three outputs, 5x5: with dX, and as a first layer (W, B only) */
        int64_t xd[4] = {2, 1, 7, 9}, wd[4] = {3, 1, 5, 5}, p[4] = {2, 2, 1, 2};
        ot_attr a[1] = {ts_attr_ints("pads", 4, p)};
        gradcheck(&plain, "Conv", 2, xd, wd, 3, 1, a, 13);
        gradcheck_inputs(&plain, "Conv", 2, xd, wd, 3, 1, a, 14, 6);
        free_attrs(1, a);
    }
    {   /* 1-D depthwise with stride 2, dilation 2 and uneven pads */
        int64_t xd[3] = {2, 3, 9}, wd[3] = {3, 1, 3}, s[1] = {2}, p[2] = {2, 1}, d[1] = {2};
        ot_attr a[4] = {ts_attr_ints("strides", 1, s), ts_attr_ints("pads", 2, p),
                        ts_attr_ints("dilations", 1, d), ts_attr_int("group", 3)};
        gradcheck(&plain, "Conv", 1, xd, wd, 3, 4, a, 11);
        free_attrs(4, a);
    }
    {   /* pointwise, one sample: X is the column matrix */
        int64_t xd[4] = {1, 3, 3, 4}, wd[4] = {2, 3, 1, 1};
        gradcheck(&plain, "Conv", 2, xd, wd, 2, 0, NULL, 5);
    }
    {   /* Winograd 3x3 and 5x5 (uneven pads, partial tiles), every channel count let through */
        int64_t xd[4] = {2, 3, 6, 7}, wd[4] = {4, 3, 3, 3}, p[4] = {1, 0, 2, 1};
        ot_attr a[1] = {ts_attr_ints("pads", 4, p)};
        gradcheck(&winograd, "Conv", 2, xd, wd, 4, 1, a, 15);
        int64_t xd5[4] = {2, 2, 7, 6}, wd5[4] = {3, 2, 5, 5}, p5[4] = {2, 1, 0, 3};
        ot_attr a5[1] = {ts_attr_ints("pads", 4, p5)};
        gradcheck(&winograd, "Conv", 2, xd5, wd5, 3, 1, a5, 16);
        /* pads beyond the kernel (dX's own pads r - 1 - pad go negative) */
        int64_t pw[4] = {3, 0, 2, 4};
        ot_attr aw[1] = {ts_attr_ints("pads", 4, pw)};
        gradcheck(&winograd, "Conv", 2, xd, wd, 4, 1, aw, 19);
        free_attrs(1, a);
        free_attrs(1, a5);
        free_attrs(1, aw);
    }
    {   /* FFT: 5x5 with uneven pads, 4x4 on a frame of odd sides, every channel count let
         * through; dX and dW, and W and B only (a first layer) */
        int64_t xd[4] = {2, 2, 7, 6}, wd[4] = {3, 2, 5, 5}, p[4] = {2, 1, 0, 3};
        ot_attr a[1] = {ts_attr_ints("pads", 4, p)};
        gradcheck(&fft, "Conv", 2, xd, wd, 3, 1, a, 20);
        int64_t xd4[4] = {3, 3, 5, 6}, wd4[4] = {2, 3, 4, 4}, p4[4] = {1, 0, 3, 1};
        ot_attr a4[1] = {ts_attr_ints("pads", 4, p4)};
        gradcheck(&fft, "Conv", 2, xd4, wd4, 2, 1, a4, 21);
        gradcheck_inputs(&fft, "Conv", 2, xd4, wd4, 2, 1, a4, 22, 6);
        free_attrs(1, a);
        free_attrs(1, a4);
    }
    {   /* 3-D with stride and pads, no bias */
        int64_t xd[5] = {1, 2, 3, 4, 3}, wd[5] = {2, 2, 2, 2, 2}, s[3] = {1, 2, 1},
                p[6] = {0, 1, 1, 1, 0, 0};
        ot_attr a[2] = {ts_attr_ints("strides", 3, s), ts_attr_ints("pads", 6, p)};
        gradcheck(&plain, "Conv", 3, xd, wd, 0, 2, a, 6);
        free_attrs(2, a);
    }
}

static void conv_transpose_gradients(void **state) {
    (void)state;
    conv_run plain = default_run();
    {   /* 2-D, strides, pads, output_padding, dilation, 2 groups */
        int64_t xd[4] = {2, 4, 3, 3}, wd[4] = {4, 2, 2, 3}, s[2] = {2, 3}, p[4] = {1, 0, 0, 1},
                op[2] = {1, 0}, d[2] = {1, 2};
        ot_attr a[5] = {ts_attr_ints("strides", 2, s), ts_attr_ints("pads", 4, p),
                        ts_attr_ints("output_padding", 2, op), ts_attr_ints("dilations", 2, d),
                        ts_attr_int("group", 2)};
        gradcheck(&plain, "ConvTranspose", 2, xd, wd, 4, 5, a, 7);
        free_attrs(5, a);
    }
    {   /* 1-D with output_shape larger than the natural size (zeros at the end) */
        int64_t xd[3] = {1, 2, 4}, wd[3] = {2, 3, 3}, s[1] = {2}, shape[1] = {11};
        ot_attr a[2] = {ts_attr_ints("strides", 1, s), ts_attr_ints("output_shape", 1, shape)};
        gradcheck(&plain, "ConvTranspose", 1, xd, wd, 3, 2, a, 8);
        free_attrs(2, a);
    }
    {   /* 3-D SAME_UPPER */
        int64_t xd[5] = {1, 1, 2, 2, 3}, wd[5] = {1, 2, 2, 3, 2}, s[3] = {2, 1, 2};
        ot_attr a[2] = {ts_attr_ints("strides", 3, s), ts_attr_string("auto_pad", "SAME_UPPER")};
        gradcheck(&plain, "ConvTranspose", 3, xd, wd, 2, 2, a, 9);
        free_attrs(2, a);
    }
}

/* ONNX's own example (onnx/backend/test/case/node/convtranspose.py, output_shape): x =
 * 0..8 as (1,1,3,3), W all ones (1,2,3,3), strides [3,2], output_shape [10,8] -> the natural
 * 9x7 result padded with a zero row and column at the end. */
static void conv_transpose_output_shape_values(void **state) {
    (void)state;
    int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 2, 3, 3}, s[2] = {3, 2}, shape[2] = {10, 8};
    float xs[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, ones[18];
    for (int i = 0; i < 18; i++) ones[i] = 1.0f;
    static const float want_rows[3][8] = {{0, 0, 1, 1, 3, 2, 2, 0}, {3, 3, 7, 4, 9, 5, 5, 0},
                                          {6, 6, 13, 7, 15, 8, 8, 0}};
    ot_tensor x = ts_float(4, xd, xs), w = ts_float(4, wd, ones);
    const ot_tensor *inputs[2] = {&x, &w};
    int as_input[2] = {1, 0};
    ot_attr a[2] = {ts_attr_ints("strides", 2, s), ts_attr_ints("output_shape", 2, shape)};
    ot_model *m = ts_single_node("", "ConvTranspose", 11, 2, inputs, as_input, 1, 2, a);
    ot_tensor y = ts_run(m, 1, &x, 0);
    assert_int_equal(y.dims[2], 10);
    assert_int_equal(y.dims[3], 8);
    const float *v = y.data;
    for (int c = 0; c < 2; c++)
        for (int h = 0; h < 10; h++)
            for (int col = 0; col < 8; col++) {
                float want = h == 9 ? 0.0f : want_rows[h / 3][col];
                assert_float_equal(v[(c * 10 + h) * 8 + col], want, 0.0);
            }
    ot_tensor_free(&y);
    ot_model_free(m);
    free_attrs(2, a);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
}

/* Empty tensors are valid ONNX: no samples gives an empty Y; no input channels gives Y = B
 * (the sum over channels is empty), on both the GEMM and the direct paths. */
static void empty_inputs(void **state) {
    (void)state;
    int64_t bd[1] = {2};
    float bias[2] = {0.5f, -1.5f};
    ot_tensor b = ts_float(1, bd, bias);
    struct { int64_t x[4], w[4], y_numel; } cases[] = {
        {{0, 3, 5, 5}, {2, 3, 3, 3}, 0},  /* no samples, im2col path */
        {{0, 2, 5, 5}, {2, 1, 3, 3}, 0},  /* no samples, depthwise path */
        {{2, 0, 5, 5}, {2, 0, 3, 3}, 2 * 2 * 3 * 3}, /* no channels */
    };
    for (int i = 0; i < 3; i++) {
        ot_tensor x = ts_tensor(4, cases[i].x), w = ts_tensor(4, cases[i].w);
        const ot_tensor *inputs[3] = {&x, &w, &b};
        int as_input[3] = {1, 0, 0};
        ot_attr group = ts_attr_int("group", cases[i].x[1] == 2 ? 2 : 1);
        ot_model *m = ts_single_node("", "Conv", 17, 3, inputs, as_input, 1, 1, &group);
        ot_tensor y = ts_run(m, 1, &x, 0);
        assert_int_equal(ot_tensor_numel(&y), cases[i].y_numel);
        for (int64_t k = 0; k < cases[i].y_numel; k++)
            assert_float_equal(((float *)y.data)[k], bias[k / 9 % 2], 0.0);
        ot_tensor_free(&y);
        ot_model_free(m);
        ot_attr_free(&group);
        ot_tensor_free(&x);
        ot_tensor_free(&w);
    }
    ot_tensor_free(&b);
}

/* Resolving or planning Conv/ConvTranspose on X and W must fail with OT_ERR_INVALID (or
 * `code`) and a message naming the node and containing `needle`. */
static void expect_error(const char *op, const ot_tensor *x, const ot_tensor *w, int n_attrs,
                         const ot_attr *attrs, ot_status code, const char *needle) {
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", 17), OT_OK);
    const ot_tensor *inputs[2] = {x, w};
    const char *in_names[2] = {"x0", "x1"}, *out_names[1] = {"y0"};
    for (int k = 0; k < 2; k++) {
        ot_tensor copy;
        assert_int_equal(ot_tensor_copy(&copy, inputs[k], in_names[k]), OT_OK);
        assert_int_equal(ot_model_add_initializer(m, in_names[k], &copy, NULL), OT_OK);
    }
    int li;
    assert_int_equal(ot_model_add_layer(m, "node", op, "", 2, in_names, 1, out_names, &li), OT_OK);
    for (int a = 0; a < n_attrs; a++) assert_int_equal(ot_layer_add_attr(&m->layers[li], &attrs[a]), OT_OK);
    m->outputs = ts_calloc(1, sizeof(int));
    m->outputs[m->n_outputs++] = ot_model_find_value(m, "y0");
    ot_status status = ot_graph_check(m);
    if (status == OT_OK) status = ot_graph_resolve(m);
    if (status == OT_OK) {
        ot_plan *plan;
        status = ot_plan_create(m, NULL, 0, NULL, NULL, &plan);
        if (status == OT_OK) ot_plan_free(plan);
    }
    if (status == OT_OK) fail_msg("%s: expected an error containing '%s'", op, needle);
    const char *message = ot_last_error();
    if (status != code || !strstr(message, "'node'") || !strstr(message, needle))
        fail_msg("%s: error %s '%s' should be %s, name the node and say '%s'", op,
                 ot_status_name(status), message, ot_status_name(code), needle);
    ot_model_free(m);
}

static void bad_attributes_and_shapes(void **state) {
    (void)state;
    int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {2, 4, 3, 3}, w5d[5] = {2, 4, 3, 3, 1};
    ot_tensor x = ts_tensor(4, xd), w = ts_tensor(4, wd), w5 = ts_tensor(5, w5d);
    int64_t zero_kernel[2] = {0, 3}, zero_stride[2] = {1, 0}, negative_pads[4] = {0, -1, 0, 0};
    int64_t wrong_kernel[2] = {2, 3}, three[3] = {1, 1, 1}, big_pads[4] = {0, 0, 0, 0};
    ot_attr a;
    a = ts_attr_ints("kernel_shape", 2, zero_kernel);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "kernel_shape[0] is 0");
    ot_attr_free(&a);
    a = ts_attr_ints("strides", 2, zero_stride);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "strides[1] is 0");
    expect_error("ConvTranspose", &x, &w, 1, &a, OT_ERR_INVALID, "strides[1] is 0");
    ot_attr_free(&a);
    a = ts_attr_ints("pads", 4, negative_pads);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "pads[1] is -1");
    ot_attr_free(&a);
    a = ts_attr_int("group", 3);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "group 3 does not divide");
    ot_attr_free(&a);
    a = ts_attr_int("group", 2); /* W expects 4 * 2 = 8 input channels */
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "has 4 channels");
    ot_attr_free(&a);
    a = ts_attr_int("group", 0);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "group is 0");
    ot_attr_free(&a);
    a = ts_attr_ints("kernel_shape", 2, wrong_kernel);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "kernel_shape[0] is 2");
    ot_attr_free(&a);
    a = ts_attr_ints("dilations", 3, three);
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "dilations has 3 values");
    ot_attr_free(&a);
    a = ts_attr_string("auto_pad", "SAME");
    expect_error("Conv", &x, &w, 1, &a, OT_ERR_INVALID, "auto_pad must be");
    ot_attr_free(&a);
    expect_error("Conv", &x, &w5, 0, NULL, OT_ERR_INVALID, "W has rank 5");
    a = ts_attr_ints("pads", 4, big_pads);
    int64_t tiny_dims[4] = {1, 4, 2, 2};
    ot_tensor tiny = ts_tensor(4, tiny_dims);
    expect_error("Conv", &tiny, &w, 1, &a, OT_ERR_INVALID, "exceeds the padded input");
    ot_attr_free(&a);
    int64_t wt_dims[4] = {3, 2, 3, 3}; /* ConvTranspose: W's first dim must be X's channels */
    ot_tensor wt = ts_tensor(4, wt_dims);
    expect_error("ConvTranspose", &x, &wt, 0, NULL, OT_ERR_INVALID, "has 4 channels");
    int64_t x6_dims[6] = {1, 1, 2, 2, 2, 2}, w6_dims[6] = {1, 1, 1, 1, 1, 1};
    ot_tensor x6 = ts_tensor(6, x6_dims), w6 = ts_tensor(6, w6_dims);
    expect_error("Conv", &x6, &w6, 0, NULL, OT_ERR_UNSUPPORTED, "4 spatial dims");
    ot_tensor_free(&x);
    ot_tensor_free(&w);
    ot_tensor_free(&w5);
    ot_tensor_free(&tiny);
    ot_tensor_free(&wt);
    ot_tensor_free(&x6);
    ot_tensor_free(&w6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_matches_torch),
        cmocka_unit_test(conv_transpose_matches_torch),
        cmocka_unit_test(small_tiles_match_torch),
        cmocka_unit_test(winograd_matches_torch),
        cmocka_unit_test(winograd_chunks_match_im2col),
        cmocka_unit_test(im2col_dw_same_bits_on_any_thread_count),
        cmocka_unit_test(fft_matches_torch),
        cmocka_unit_test(fft_matches_im2col_on_random_shapes),
        cmocka_unit_test(fast_winograd_matches_torch),
        cmocka_unit_test(conv_gradients),
        cmocka_unit_test(conv_transpose_gradients),
        cmocka_unit_test(conv_transpose_output_shape_values),
        cmocka_unit_test(empty_inputs),
        cmocka_unit_test(bad_attributes_and_shapes),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
