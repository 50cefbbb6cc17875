/* Resize and Upsample (src/ops/resize.c): central-difference gradient checks of every mode
 * (nearest, linear, cubic, antialias) over 1-D, 2-D and 3-D resizes up and down with several
 * coordinate modes; errors naming the node; and PyTorch's F.interpolate as its exporter writes
 * it (sizes computed from Shape, Constant scales), forward within 1e-5 and the input gradient
 * within 1e-4 of PyTorch's. Fixtures: tools/fixtures/gen_resize_fixtures.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxtrain/onnx_io.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

/* Gradient checks ---------------------------------------------------------------------------- */

/* One Resize node's check: X (x_rank, x_dims) random; scales (n values) when scales is
 * non-NULL, else sizes; roi when given. */
typedef struct resize_case {
    int opset;
    int rank;
    int64_t dims[5];
    const float *scales;
    const int64_t *sizes;
    const float *roi;
    int n_attrs;
    ot_attr attrs[8];
} resize_case;

static void gradcheck_case(const resize_case *rc) {
    ot_rng rng;
    ot_rng_seed(&rng, 7);
    int64_t n = rc->rank, roi_n = 2 * n;
    ot_tensor x = ts_random(&rng, rc->rank, rc->dims, -1.0f, 1.0f);
    ot_tensor roi = rc->roi ? ts_float(1, &roi_n, rc->roi) : (ot_tensor){0};
    ot_tensor scales = rc->scales ? ts_float(1, &n, rc->scales) : (ot_tensor){0};
    ot_tensor sizes = rc->sizes ? ts_int64(1, &n, rc->sizes) : (ot_tensor){0};
    const ot_tensor *in[4] = {&x, rc->roi ? &roi : NULL, rc->scales ? &scales : NULL,
                              rc->sizes ? &sizes : NULL};
    ts_gradcheck("Resize", rc->opset, 4, in, 1u, rc->n_attrs, rc->attrs, 0, 1e-2, 1e-2);
    ot_tensor_free(&x);
    if (rc->roi) ot_tensor_free(&roi);
    if (rc->scales) ot_tensor_free(&scales);
    if (rc->sizes) ot_tensor_free(&sizes);
}

/* Checks and frees n cases. */
static void gradcheck_cases(resize_case *cases, int n) {
    for (int i = 0; i < n; i++) {
        gradcheck_case(&cases[i]);
        for (int k = 0; k < cases[i].n_attrs; k++) ot_attr_free(&cases[i].attrs[k]);
    }
}

#define ATTR_MODE(m) ts_attr_string("mode", m)
#define ATTR_COORD(c) ts_attr_string("coordinate_transformation_mode", c)

static void nearest_gradients(void **state) {
    (void)state;
    static const float up2[] = {1, 1, 2, 2};
    static const int64_t down[] = {1, 1, 2, 3}, up_1d[] = {2, 8};
    resize_case cases[] = {
        /* 2-D x2, the common decoder upsample */
        {13, 4, {1, 2, 3, 4}, up2, NULL, NULL, 2, {ATTR_MODE("nearest"), ATTR_COORD("half_pixel")}},
        /* downsampling by sizes, asymmetric floor */
        {13, 4, {1, 1, 5, 7}, NULL, down, NULL, 3,
         {ATTR_MODE("nearest"), ATTR_COORD("asymmetric"), ts_attr_string("nearest_mode", "floor")}},
        /* 1-D (N, W), align_corners ceil */
        {13, 2, {2, 5}, NULL, up_1d, NULL, 3,
         {ATTR_MODE("nearest"), ATTR_COORD("align_corners"), ts_attr_string("nearest_mode", "ceil")}},
    };
    gradcheck_cases(cases, (int)(sizeof cases / sizeof cases[0]));
}

static void linear_gradients(void **state) {
    (void)state;
    static const float up[] = {1, 1, 2, 1.5f}, roi[] = {0, 0, 0.2f, -0.1f, 1, 1, 0.9f, 1.3f};
    static const int64_t down[] = {1, 2, 3, 2}, tri[] = {1, 1, 5, 2, 4}, one_d[] = {3, 4},
                         crop[] = {1, 1, 4, 5};
    resize_case cases[] = {
        {13, 4, {1, 2, 3, 4}, up, NULL, NULL, 2, {ATTR_MODE("linear"), ATTR_COORD("half_pixel")}},
        {13, 4, {1, 2, 5, 7}, NULL, down, NULL, 2, {ATTR_MODE("linear"), ATTR_COORD("align_corners")}},
        /* 3-D trilinear, up on one axis and down on another */
        {13, 5, {1, 1, 3, 4, 3}, NULL, tri, NULL, 2, {ATTR_MODE("linear"), ATTR_COORD("pytorch_half_pixel")}},
        {13, 2, {3, 7}, NULL, one_d, NULL, 2, {ATTR_MODE("linear"), ATTR_COORD("asymmetric")}},
        /* crops reaching outside the input take extrapolation_value (no gradient there) */
        {13, 4, {1, 1, 4, 5}, NULL, crop, roi, 3,
         {ATTR_MODE("linear"), ATTR_COORD("tf_crop_and_resize"), ts_attr_float("extrapolation_value", 3.0f)}},
        {18, 4, {1, 1, 4, 5}, up, NULL, NULL, 2, {ATTR_MODE("linear"), ATTR_COORD("half_pixel_symmetric")}},
    };
    gradcheck_cases(cases, (int)(sizeof cases / sizeof cases[0]));
}

/* Cubic, antialiased downsampling (linear and cubic), exclude_outside. */
static void cubic_and_antialias_gradients(void **state) {
    (void)state;
    static const float up[] = {1, 1, 2, 2};
    static const int64_t down[] = {1, 1, 3, 4}, down_1d[] = {2, 3};
    resize_case cases[] = {
        {13, 4, {1, 1, 3, 4}, up, NULL, NULL, 2, {ATTR_MODE("cubic"), ATTR_COORD("half_pixel")}},
        {13, 4, {1, 1, 3, 4}, up, NULL, NULL, 3,
         {ATTR_MODE("cubic"), ts_attr_int("exclude_outside", 1), ts_attr_float("cubic_coeff_a", -0.5f)}},
        {18, 4, {1, 1, 8, 9}, NULL, down, NULL, 2, {ATTR_MODE("linear"), ts_attr_int("antialias", 1)}},
        {18, 2, {2, 10}, NULL, down_1d, NULL, 3,
         {ATTR_MODE("cubic"), ts_attr_int("antialias", 1), ts_attr_int("exclude_outside", 1)}},
    };
    gradcheck_cases(cases, (int)(sizeof cases / sizeof cases[0]));
}

/* Output 0 of one node with every input an initializer (NULL: omitted). */
static ot_tensor run_node(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                          int n_attrs, const ot_attr *attrs) {
    ot_model *m = ts_single_node("", op, opset, n_inputs, inputs, NULL, 1, n_attrs, attrs);
    ot_tensor y = ts_run(m, 0, NULL, 0);
    ot_model_free(m);
    return y;
}

/* Opset 18: axes select the resized axes; keep_aspect_ratio_policy scales them by one factor. */
static void axes_and_aspect_ratio(void **state) {
    (void)state;
    int64_t x_dims[] = {1, 2, 4, 6}, two = 2;
    static const int64_t sizes_hw[] = {6, 6};
    ot_tensor x = ts_tensor(4, x_dims), sizes = ts_int64(1, &two, sizes_hw);
    for (int64_t i = 0; i < ot_tensor_numel(&x); i++) ((float *)x.data)[i] = (float)i;
    const ot_tensor *in[4] = {&x, NULL, NULL, &sizes};
    static const int64_t axes[] = {2, 3};
    /* not_larger: scale min(6/4, 6/6) = 1 -> (4, 6), the identity; not_smaller: 1.5 -> (6, 9) */
    const char *policies[] = {"stretch", "not_larger", "not_smaller"};
    const int64_t want_h[] = {6, 4, 6}, want_w[] = {6, 6, 9};
    for (int p = 0; p < 3; p++) {
        ot_attr attrs[] = {ATTR_MODE("nearest"), ts_attr_ints("axes", 2, axes),
                           ts_attr_string("keep_aspect_ratio_policy", policies[p])};
        ot_tensor y = run_node("Resize", 18, 4, in, 3, attrs);
        assert_int_equal(y.dims[2], want_h[p]);
        assert_int_equal(y.dims[3], want_w[p]);
        if (p == 1) ts_expect_floats(&y, x.data, ot_tensor_numel(&x));
        ot_tensor_free(&y);
        for (int i = 0; i < 3; i++) ot_attr_free(&attrs[i]);
    }
    ot_attr attrs[] = {ATTR_MODE("linear"), ts_attr_ints("axes", 2, axes)};
    ts_gradcheck("Resize", 18, 4, in, 1u, 2, attrs, 0, 1e-2, 1e-2);
    for (int i = 0; i < 2; i++) ot_attr_free(&attrs[i]);
    ot_tensor_free(&x);
    ot_tensor_free(&sizes);
}

/* Upsample-7 (scales attribute) and Upsample-9 (scales input): asymmetric, floor. */
static void upsample(void **state) {
    (void)state;
    int64_t x_dims[] = {1, 1, 2, 2}, four = 4;
    const float xv[] = {1, 2, 3, 4}, sv[] = {1, 1, 2, 1.5f};
    ot_tensor x = ts_float(4, x_dims, xv), scales = ts_float(1, &four, sv);
    const ot_tensor *in[2] = {&x, &scales};
    ot_attr nearest = ATTR_MODE("nearest");
    ot_tensor y = run_node("Upsample", 9, 2, in, 1, &nearest);
    const float want[] = {1, 1, 2, 1, 1, 2, 3, 3, 4, 3, 3, 4};
    ts_expect_floats(&y, want, 12);
    ot_tensor_free(&y);
    ot_attr attrs[] = {ATTR_MODE("linear"), ts_attr_floats("scales", 4, sv)};
    ts_gradcheck("Upsample", 7, 1, in, 1u, 2, attrs, 0, 1e-2, 1e-2);
    ts_gradcheck("Upsample", 9, 2, in, 1u, 1, &nearest, 0, 1e-2, 1e-2);
    for (int i = 0; i < 2; i++) ot_attr_free(&attrs[i]);
    ot_attr_free(&nearest);
    ot_tensor_free(&x);
    ot_tensor_free(&scales);
}

/* Errors --------------------------------------------------------------------------------------- */

static void errors(void **state) {
    (void)state;
    int64_t x_dims[] = {1, 1, 2, 2}, four = 4, eight = 8, six = 6;
    ot_tensor x = ts_tensor(4, x_dims);
    const float zero[] = {1, 1, 0, 2}, negative[] = {1, 1, -2, 2}, good[] = {1, 1, 2, 2};
    const int64_t bad_sizes[] = {1, 1, 0, 3}, sizes_v[] = {1, 1, 3, 3};
    const float roi_v[] = {0, 0, 0, 0, 1, 1}, eight_v[] = {1, 1, 1, 1, 1, 1, 1, 1};
    ot_tensor s_zero = ts_float(1, &four, zero), s_neg = ts_float(1, &four, negative);
    ot_tensor s_good = ts_float(1, &four, good), z_bad = ts_int64(1, &four, bad_sizes);
    ot_tensor z_good = ts_int64(1, &four, sizes_v), roi_short = ts_float(1, &six, roi_v);
    ot_tensor s_long = ts_float(1, &eight, eight_v);
    ot_attr linear = ATTR_MODE("linear");
    ot_attr crop[] = {ATTR_MODE("linear"), ATTR_COORD("tf_crop_and_resize")};
    const int as_input[4] = {0, 0, 1, 0}, constants[4] = {0};
#define EXPECT(in, n_attrs, attrs, as, at_plan, needle)                                         \
    ts_expect_node_error("Resize", 13, 4, in, as, 1, n_attrs, attrs, at_plan, OT_ERR_INVALID, needle)
    const ot_tensor *zero_scale[] = {&x, NULL, &s_zero, NULL};
    EXPECT(zero_scale, 1, &linear, constants, 1, "scales must be positive");
    const ot_tensor *neg_scale[] = {&x, NULL, &s_neg, NULL};
    EXPECT(neg_scale, 1, &linear, constants, 1, "scales must be positive");
    const ot_tensor *zero_size[] = {&x, NULL, NULL, &z_bad};
    EXPECT(zero_size, 1, &linear, constants, 1, "sizes must be positive");
    const ot_tensor *both[] = {&x, NULL, &s_good, &z_good};
    EXPECT(both, 1, &linear, constants, 1, "both scales and sizes");
    const ot_tensor *neither[] = {&x, NULL, NULL, NULL};
    EXPECT(neither, 1, &linear, constants, 1, "needs scales or sizes");
    const ot_tensor *short_roi[] = {&x, &roi_short, NULL, &z_good};
    EXPECT(short_roi, 2, crop, constants, 1, "roi has 6 values");
    const ot_tensor *no_roi[] = {&x, NULL, NULL, &z_good};
    EXPECT(no_roi, 2, crop, constants, 1, "needs a roi");
    const ot_tensor *long_scales[] = {&x, NULL, &s_long, NULL};
    EXPECT(long_scales, 1, &linear, constants, 1, "scales has 8 values");
    /* scales fed at run time only: unknown when the plan is built */
    const ot_tensor *fed[] = {&x, NULL, &s_good, NULL};
    EXPECT(fed, 1, &linear, as_input, 0, "must be known when the plan is built");
#undef EXPECT
    ot_attr bad_mode = ts_attr_string("mode", "area");
    const ot_tensor *ok[] = {&x, NULL, &s_good, NULL};
    ts_expect_node_error("Resize", 13, 4, ok, constants, 1, 1, &bad_mode, 1, OT_ERR_UNSUPPORTED,
                         "mode 'area'");
    ot_attr_free(&bad_mode);
    ot_attr_free(&linear);
    for (int i = 0; i < 2; i++) ot_attr_free(&crop[i]);
    ot_tensor all[] = {x, s_zero, s_neg, s_good, z_bad, z_good, roi_short, s_long};
    ts_free_tensors(all, 8);
}

/* Against PyTorch ------------------------------------------------------------------------------ */

static const ot_tensor *fixture_tensor(const ot_weights *w, const char *name) {
    int i = ot_weights_find(w, name);
    if (i < 0) fail_msg("the fixture has no '%s'", name);
    return &w->items[i].tensor;
}

/* |got - want| <= tolerance * max(1, |want|), value by value. */
static void expect_close(const char *what, const ot_tensor *got, const ot_tensor *want, double tolerance) {
    assert_true(ot_tensor_same_shape(got, want));
    const float *g = got->data, *w = want->data;
    for (int64_t k = 0; k < ot_tensor_numel(want); k++)
        if (fabs((double)g[k] - w[k]) > tolerance * fmax(1.0, fabs(w[k])))
            fail_msg("%s[%lld] = %.7g, PyTorch %.7g", what, (long long)k, g[k], w[k]);
}

/* The exported model as it is: x fed, y compared. */
static void forward_matches(const char *name) {
    ot_weights fixture;
    ot_model *m = ts_load_case("resize", name, &fixture);
    const ot_tensor *x = fixture_tensor(&fixture, "x");
    ot_plan_options options = ts_plan_options();
    ot_plan *plan;
    if (ot_plan_create(m, &options, 1, m->inputs, x, &plan) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    ot_plan_value(plan, m->inputs[0])->data = x->data;
    if (ot_plan_forward(plan) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    expect_close(name, ot_plan_value(plan, m->outputs[0]), fixture_tensor(&fixture, "y"), 1e-5);
    ot_plan_free(plan);
    ot_weights_free(&fixture);
    ot_model_free(m);
}

/* The gradient: plans train initializers, not graph inputs, so x becomes a trained
 * initializer holding the fixture's values; dy is PyTorch's upstream gradient. */
static void gradient_matches(const char *name) {
    ot_weights fixture;
    ot_model *m = ts_load_case("resize", name, &fixture);
    int v = m->inputs[0];
    ot_value *xv = &m->values[v];
    ot_tensor_free(&xv->tensor);
    if (ot_tensor_copy(&xv->tensor, fixture_tensor(&fixture, "x"), "x") != OT_OK) fail_msg("%s", ot_last_error());
    xv->kind = OT_VALUE_INITIALIZER;
    m->n_inputs = 0;
    unsigned char *trainable = ts_calloc((size_t)m->n_values + 1, 1);
    trainable[v] = 1;
    ot_plan_options options = ts_plan_options();
    options.training = 1;
    options.trainable = trainable;
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    if (ot_plan_forward(plan) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    ot_plan_zero_grads(plan);
    const ot_tensor *dy = fixture_tensor(&fixture, "dy");
    ot_tensor *g = ot_plan_grad(plan, m->outputs[0]);
    assert_true(ot_tensor_same_shape(g, dy));
    memcpy(g->data, dy->data, sizeof(float) * (size_t)ot_tensor_numel(dy));
    if (ot_plan_backward(plan) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    expect_close(name, ot_plan_grad(plan, v), fixture_tensor(&fixture, "dx"), 1e-4);
    ot_plan_free(plan);
    free(trainable);
    ot_weights_free(&fixture);
    ot_model_free(m);
}

static void torch_case(void **state) {
    forward_matches(*state);
    gradient_matches(*state);
}

#define TORCH_CASE(name) {"torch_" name, torch_case, NULL, NULL, name}

/* GridSample: X's gradient in every mode; the grid's for bilinear under each padding mode and
 * align_corners. Grid points sit away from integer pixel coordinates (where bilinear has
 * kinks), some outside [-1, 1] so that border and reflection padding act. */
static void grid_sample_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 41);
    ot_tensor x = ts_random(&rng, 4, (const int64_t[]){1, 2, 3, 4}, -1, 1);
    ot_tensor grid = ts_float(4, (const int64_t[]){1, 2, 3, 2},
                              (const float[]){-0.6f, -0.45f, -0.1f, 0.05f, 0.4f, 0.55f, 0.9f, -0.95f, 1.2f, 0.2f, -1.3f, 1.15f});
    const char *modes[] = {"bilinear", "nearest", "bicubic"}, *pads[] = {"zeros", "border", "reflection"};
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 3; k++)
            for (int align = 0; align < 2; align++) {
                ot_attr attrs[3] = {ts_attr_string("mode", modes[m]), ts_attr_string("padding_mode", pads[k]),
                                    ts_attr_int("align_corners", align)};
                /* The grid's gradient: bilinear only (nearest's is 0, bicubic has none). */
                unsigned mask = m == 0 ? 3 : 1;
                ts_gradcheck("GridSample", 16, 2, (const ot_tensor *[]){&x, &grid}, mask, 3, attrs, 0, 1e-3, 2e-3);
                for (int a = 0; a < 3; a++) ot_attr_free(&attrs[a]);
            }
    ts_free_tensors((ot_tensor[]){x, grid}, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nearest_gradients),
        cmocka_unit_test(linear_gradients),
        cmocka_unit_test(cubic_and_antialias_gradients),
        cmocka_unit_test(axes_and_aspect_ratio),
        cmocka_unit_test(upsample),
        cmocka_unit_test(grid_sample_gradients),
        cmocka_unit_test(errors),
        TORCH_CASE("nearest_x2"),
        TORCH_CASE("nearest_sizes_18"),
        TORCH_CASE("bilinear_up"),
        TORCH_CASE("bilinear_up_corners"),
        TORCH_CASE("bilinear_down"),
        TORCH_CASE("bilinear_down_corners"),
        TORCH_CASE("bicubic_up"),
        TORCH_CASE("bicubic_corners"),
        TORCH_CASE("linear_1d"),
        TORCH_CASE("trilinear"),
        TORCH_CASE("bilinear_antialias"),
        TORCH_CASE("bicubic_antialias"),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
