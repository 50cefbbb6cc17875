/* Elementwise family: gradient checks (central differences) for every differentiable op,
 * broadcast inputs included, and the edges of Pow's gradient. */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnxtrain/plan.h"
#include "test_support.h"

static void gradcheck_binary_broadcast(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 5);
    int64_t da[3] = {2, 3, 4};
    struct {
        int ndim;
        int64_t dims[3];
    } rhs_shapes[] = {{3, {2, 3, 4}}, {2, {3, 1}}, {1, {1}}, {0, {0}}, {1, {4}}};
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow"};
    for (size_t s = 0; s < sizeof rhs_shapes / sizeof rhs_shapes[0]; s++) {
        ot_tensor a = ts_random(&rng, 3, da, 0.5f, 2.0f);
        ot_tensor b = ts_random(&rng, rhs_shapes[s].ndim, rhs_shapes[s].dims, 0.5f, 2.0f);
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            const ot_tensor *in[2] = {&a, &b};
            ts_gradcheck(ops[o], 14, 2, in, 3, 0, NULL, 0, 1e-3, 1e-2);
            const ot_tensor *swapped[2] = {&b, &a};
            ts_gradcheck(ops[o], 14, 2, swapped, 3, 0, NULL, 0, 1e-3, 1e-2);
        }
        ot_tensor_free(&a);
        ot_tensor_free(&b);
    }
    /* Legacy (opset 6) broadcasting at an axis sums the gradient the same way. */
    int64_t db[1] = {3};
    ot_tensor a = ts_random(&rng, 3, da, 0.5f, 2.0f), b = ts_random(&rng, 1, db, 0.5f, 2.0f);
    ot_attr attrs[2] = {ts_attr_int("broadcast", 1), ts_attr_int("axis", 1)};
    const ot_tensor *in[2] = {&a, &b};
    ts_gradcheck("Mul", 6, 2, in, 3, 2, attrs, 0, 1e-3, 1e-2);
    for (int i = 0; i < 2; i++) ot_attr_free(&attrs[i]);
    ot_tensor_free(&a);
    ot_tensor_free(&b);
}

/* Gradients of a one-node model for the loss sum(y * w) with w = 1: din for each input in
 * `mask`, copied into grads[k] (float, the input's numel). */
static void gradients_of(const char *op, int opset, int n, const ot_tensor *const *inputs, unsigned mask,
                         float **grads) {
    ot_model *m = ts_single_node("", op, opset, n, inputs, NULL, 1, 0, NULL);
    unsigned char *trainable = calloc((size_t)m->n_values + 1, 1);
    char name[8];
    for (int k = 0; k < n; k++)
        if ((mask >> k) & 1) {
            snprintf(name, sizeof name, "x%d", k);
            trainable[ot_model_find_value(m, name)] = 1;
        }
    ot_plan_options options = {.training = 1, .trainable = trainable};
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    ot_plan_zero_grads(plan);
    ot_tensor *dy = ot_plan_grad(plan, m->outputs[0]);
    for (int64_t i = 0; i < ot_tensor_numel(dy); i++) ((float *)dy->data)[i] = 1.0f;
    assert_int_equal(ot_plan_backward(plan), OT_OK);
    for (int k = 0; k < n; k++) {
        if (!((mask >> k) & 1)) continue;
        snprintf(name, sizeof name, "x%d", k);
        const ot_tensor *g = ot_plan_grad(plan, ot_model_find_value(m, name));
        memcpy(grads[k], g->data, sizeof(float) * (size_t)ot_tensor_numel(g));
    }
    ot_plan_free(plan);
    free(trainable);
    ot_model_free(m);
}

static void gradcheck_variadic(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 6);
    int64_t d0[3] = {2, 3, 4}, d1[2] = {3, 1}, d2[1] = {4};
    ot_tensor a = ts_random(&rng, 3, d0, -2.0f, 2.0f), b = ts_random(&rng, 2, d1, -2.0f, 2.0f),
              c = ts_random(&rng, 1, d2, -2.0f, 2.0f);
    const ot_tensor *in[3] = {&a, &b, &c};
    const char *ops[] = {"Max", "Min", "Sum", "Mean"};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) ts_gradcheck(ops[o], 13, 3, in, 7, 0, NULL, 0, 1e-3, 1e-2);
    /* Two-way ties: PyTorch's maximum gives each input half, which is also what central
     * differences see at a tie. */
    int64_t d4[1] = {4};
    float x[4] = {1, 2, 3, 4}, z[4] = {1, 5, 3, 0};
    ot_tensor tx = ts_float(1, d4, x), tz = ts_float(1, d4, z);
    const ot_tensor *pair[2] = {&tx, &tz};
    ts_gradcheck("Max", 13, 2, pair, 3, 0, NULL, 0, 1e-3, 1e-3);
    ts_gradcheck("Min", 13, 2, pair, 3, 0, NULL, 0, 1e-3, 1e-3);
    /* Three-way tie: the gradient splits in three. */
    float g0[4], g1[4], g2[4], *grads[3] = {g0, g1, g2};
    const ot_tensor *triple[3] = {&tx, &tz, &tx};
    gradients_of("Max", 13, 3, triple, 7, grads);
    float want0[4] = {1.0f / 3, 0, 1.0f / 3, 0.5f}, want1[4] = {1.0f / 3, 1, 1.0f / 3, 0};
    for (int i = 0; i < 4; i++) {
        assert_float_equal(g0[i], want0[i], 1e-6);
        assert_float_equal(g1[i], want1[i], 1e-6);
        assert_float_equal(g2[i], want0[i], 1e-6);
    }
    ot_tensor_free(&tx);
    ot_tensor_free(&tz);
    ot_tensor_free(&a);
    ot_tensor_free(&b);
    ot_tensor_free(&c);
}

static void gradcheck_where(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 8);
    int64_t dc[2] = {3, 1}, dx[3] = {2, 3, 4}, dy[1] = {4};
    ot_tensor cond = ts_bool(2, dc, (uint8_t[]){1, 0, 1});
    ot_tensor x = ts_random(&rng, 3, dx, -1.0f, 1.0f), y = ts_random(&rng, 1, dy, -1.0f, 1.0f);
    const ot_tensor *in[3] = {&cond, &x, &y};
    ts_gradcheck("Where", 16, 3, in, 6, 0, NULL, 0, 1e-3, 1e-2);
    const ot_tensor *swapped[3] = {&cond, &y, &x};
    ts_gradcheck("Where", 16, 3, swapped, 6, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&cond);
    ot_tensor_free(&x);
    ot_tensor_free(&y);
}

static void gradcheck_unary(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 9);
    int64_t d[2] = {3, 5};
    ot_tensor positive = ts_random(&rng, 2, d, 0.3f, 3.0f), any = ts_random(&rng, 2, d, -2.0f, 2.0f);
    /* Keep Abs samples away from its kink at 0. */
    for (int i = 0; i < 15; i++)
        if (fabsf(((float *)any.data)[i]) < 0.05f) ((float *)any.data)[i] += 0.2f;
    const char *positive_ops[] = {"Sqrt", "Log", "Reciprocal"};
    const char *any_ops[] = {"Exp", "Neg", "Abs", "Erf"};
    const ot_tensor *pin[1] = {&positive}, *ain[1] = {&any};
    for (size_t i = 0; i < 3; i++) ts_gradcheck(positive_ops[i], 13, 1, pin, 1, 0, NULL, 0, 1e-3, 1e-2);
    for (size_t i = 0; i < 4; i++) ts_gradcheck(any_ops[i], 13, 1, ain, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&positive);
    ot_tensor_free(&any);
}

/* The trigonometric and hyperbolic functions inside their domains (Asin, Acos, Atanh in
 * (-1, 1), Acosh above 1, Tan inside (-pi/2, pi/2)); Round/Floor/Ceil/Sign pass zero, so the
 * check holds between their jumps; Mod's divisor gradient is -floor(a / b) (-trunc for fmod),
 * checked away from the jumps where a / b is an integer. */
static void gradcheck_trig_and_mod(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 21);
    int64_t d[2] = {3, 4};
    ot_tensor unit = ts_random(&rng, 2, d, -0.8f, 0.8f), above = ts_random(&rng, 2, d, 1.2f, 3.0f);
    const ot_tensor *uin[1] = {&unit}, *ain[1] = {&above};
    const char *unit_ops[] = {"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Atanh"};
    for (size_t i = 0; i < sizeof unit_ops / sizeof unit_ops[0]; i++)
        ts_gradcheck(unit_ops[i], 13, 1, uin, 1, 0, NULL, 0, 1e-3, 1e-2);
    ts_gradcheck("Acosh", 13, 1, ain, 1, 0, NULL, 0, 1e-3, 1e-2);
    /* Samples at k + 0.3: far from Round's, Floor's and Ceil's jumps. */
    for (int i = 0; i < 12; i++) ((float *)above.data)[i] = (float)(i - 6) + 0.3f;
    const char *flat_ops[] = {"Round", "Floor", "Ceil", "Sign"};
    for (size_t i = 0; i < 4; i++) ts_gradcheck(flat_ops[i], 13, 1, ain, 1, 0, NULL, 0, 1e-3, 1e-2);
    float a[4] = {-7.3f, 7.3f, -5.1f, 4.4f}, b[4] = {2.0f, -2.0f, -1.5f, 1.5f};
    int64_t d4[1] = {4};
    ot_tensor ta = ts_float(1, d4, a), tb = ts_float(1, d4, b);
    const ot_tensor *pair[2] = {&ta, &tb};
    ot_attr fmod_attr = ts_attr_int("fmod", 1);
    ts_gradcheck("Mod", 13, 2, pair, 3, 0, NULL, 0, 1e-3, 1e-2);
    ts_gradcheck("Mod", 13, 2, pair, 3, 1, &fmod_attr, 0, 1e-3, 1e-2);
    ot_attr_free(&fmod_attr);
    ts_free_tensors((ot_tensor[]){unit, above, ta, tb}, 4);
}

/* Pow's exponent gradient is y * ln(x) for x > 0 and 0 elsewhere; an int64 exponent still
 * passes a gradient to the base. */
static void pow_gradient_edges(void **state) {
    (void)state;
    int64_t d4[1] = {4};
    float x[4] = {-2.0f, 0.0f, 2.0f, 3.0f}, e[4] = {2.0f, 2.0f, 3.0f, 0.0f};
    ot_tensor tx = ts_float(1, d4, x), te = ts_float(1, d4, e);
    float gx[4], ge[4], *grads[2] = {gx, ge};
    const ot_tensor *in[2] = {&tx, &te};
    gradients_of("Pow", 15, 2, in, 3, grads);
    float want_x[4] = {-4.0f, 0.0f, 12.0f, 0.0f}, want_e[4] = {0.0f, 0.0f, 8.0f * logf(2.0f), logf(3.0f)};
    for (int i = 0; i < 4; i++) {
        assert_float_equal(gx[i], want_x[i], 1e-5);
        assert_float_equal(ge[i], want_e[i], 1e-5);
    }
    ot_rng rng;
    ot_rng_seed(&rng, 10);
    int64_t d23[2] = {2, 3}, iexp[3] = {2, 3, -1};
    ot_tensor base = ts_random(&rng, 2, d23, 0.5f, 2.0f), ie = ts_int64(1, (int64_t[]){3}, iexp);
    const ot_tensor *pin[2] = {&base, &ie};
    ts_gradcheck("Pow", 15, 2, pin, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&base);
    ot_tensor_free(&ie);
    ot_tensor_free(&tx);
    ot_tensor_free(&te);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradcheck_binary_broadcast),
        cmocka_unit_test(gradcheck_variadic),
        cmocka_unit_test(gradcheck_where),
        cmocka_unit_test(gradcheck_unary),
        cmocka_unit_test(pow_gradient_edges),
        cmocka_unit_test(gradcheck_trig_and_mod),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
