/* Shape family gradients: central differences for the views, layouts and selections, and
 * the exact gradient of the multi-output Split, Trilu's masked gradient. Forward values:
 * test_shape.c. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "test_support.h"


static void gradients_of_views_and_layouts(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 3);
    ot_tensor x = ts_random(&rng, 3, I64(2, 3, 4), -1, 1);
    ot_tensor shape = ts_int64(1, I64(2), I64(-1, 6));
    ts_gradcheck("Reshape", 14, 2, (const ot_tensor *[]){&x, &shape}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_attr axis = ts_attr_int("axis", 2);
    ts_gradcheck("Flatten", 13, 1, (const ot_tensor *[]){&x}, 1, 1, &axis, 0, 1e-2, 1e-3);
    ot_attr_free(&axis);
    ot_tensor ua = ts_int64(1, I64(1), I64(1));
    ts_gradcheck("Unsqueeze", 13, 2, (const ot_tensor *[]){&x, &ua}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_tensor s = ts_random(&rng, 3, I64(2, 1, 4), -1, 1);
    ts_gradcheck("Squeeze", 13, 2, (const ot_tensor *[]){&s, &ua}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_attr perm = ts_attr_ints("perm", 3, I64(2, 0, 1));
    ts_gradcheck("Transpose", 13, 1, (const ot_tensor *[]){&x}, 1, 1, &perm, 0, 1e-2, 1e-3);
    ot_attr_free(&perm);
    /* Expand and Tile repeat elements: their gradients sum the copies. */
    ot_tensor e = ts_random(&rng, 2, I64(3, 1), -1, 1);
    ot_tensor eshape = ts_int64(1, I64(3), I64(2, 3, 4));
    ts_gradcheck("Expand", 13, 2, (const ot_tensor *[]){&e, &eshape}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_tensor reps = ts_int64(1, I64(3), I64(2, 1, 3));
    ts_gradcheck("Tile", 13, 2, (const ot_tensor *[]){&x, &reps}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ts_free_tensors((ot_tensor[]){x, shape, ua, s, e, eshape, reps}, 7);
}

static void gradients_of_selections(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 4);
    ot_tensor a = ts_random(&rng, 2, I64(2, 3), -1, 1), b = ts_random(&rng, 2, I64(2, 2), -1, 1);
    ot_attr axis = ts_attr_int("axis", 1);
    ts_gradcheck("Concat", 13, 2, (const ot_tensor *[]){&a, &b}, 3, 1, &axis, 0, 1e-2, 1e-3);
    ot_tensor x = ts_random(&rng, 3, I64(3, 4, 5), -1, 1);
    ot_tensor starts = ts_int64(1, I64(2), I64(-1, 1)), ends = ts_int64(1, I64(2), I64(0, 5));
    ot_tensor axes = ts_int64(1, I64(2), I64(1, 2)), steps = ts_int64(1, I64(2), I64(-2, 3));
    ts_gradcheck("Slice", 13, 5, (const ot_tensor *[]){&x, &starts, &ends, &axes, &steps}, 1, 0,
                 NULL, 0, 1e-2, 1e-3);
    /* Gather with a repeated index: both picks add into the same row. */
    ot_tensor idx = ts_int64(2, I64(2, 2), I64(1, -1, 1, 0));
    ts_gradcheck("Gather", 13, 2, (const ot_tensor *[]){&a, &idx}, 1, 1, &axis, 0, 1e-2, 1e-3);
    ot_attr_free(&axis);
    ot_tensor pads = ts_int64(1, I64(6), I64(1, 3, 0, 0, 2, -1));
    const char *modes[] = {"constant", "reflect", "edge"};
    for (int i = 0; i < 3; i++) {
        ot_attr mode = ts_attr_string("mode", modes[i]);
        ts_gradcheck("Pad", 13, 2, (const ot_tensor *[]){&x, &pads}, 1, 1, &mode, 0, 1e-2, 1e-3);
        ot_attr_free(&mode);
    }
    ts_free_tensors((ot_tensor[]){a, b, x, starts, ends, axes, steps, idx, pads}, 9);
}

/* Element and tuple gathers scatter-add (a repeated index gets both gradients); scatters
 * pass dy to data (not where reduction none overwrote it) and gather it into updates. */
static void gradients_of_gathers_and_scatters(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 5);
    ot_tensor x = ts_random(&rng, 2, I64(3, 4), -1, 1);
    ot_tensor ei = ts_int64(2, I64(2, 4), I64(0, 2, -1, 1, 0, 0, 2, 1));
    ot_tensor eu = ts_random(&rng, 2, I64(2, 4), -1, 1);
    ot_attr axis = ts_attr_int("axis", 0);
    ts_gradcheck("GatherElements", 13, 2, (const ot_tensor *[]){&x, &ei}, 1, 1, &axis, 0, 1e-2, 1e-3);
    ot_tensor ui = ts_int64(2, I64(2, 4), I64(0, 2, -1, 1, 1, 0, 0, 0));
    const char *reductions[] = {"none", "add"};
    for (int i = 0; i < 2; i++) {
        ot_attr attrs[2] = {axis, ts_attr_string("reduction", reductions[i])};
        ts_gradcheck("ScatterElements", 16, 3, (const ot_tensor *[]){&x, &ui, &eu}, 5, 2, attrs, 0, 1e-2, 1e-3);
        ot_tensor ni = ts_int64(2, I64(2, 1), I64(2, -3));
        ot_tensor nu = ts_random(&rng, 2, I64(2, 4), -1, 1);
        ts_gradcheck("ScatterND", 16, 3, (const ot_tensor *[]){&x, &ni, &nu}, 5, 1, attrs + 1, 0, 1e-2, 1e-3);
        ot_attr_free(&attrs[1]);
        ts_free_tensors((ot_tensor[]){ni, nu}, 2);
    }
    ot_attr_free(&axis);
    /* batch_dims 1: each of the 3 rows picks its own elements. */
    ot_tensor gi = ts_int64(3, I64(3, 2, 1), I64(1, 1, 0, 3, -1, 2));
    ot_attr batch = ts_attr_int("batch_dims", 1);
    ts_gradcheck("GatherND", 13, 2, (const ot_tensor *[]){&x, &gi}, 1, 1, &batch, 0, 1e-2, 1e-3);
    ot_tensor gi0 = ts_int64(2, I64(2, 1), I64(2, 2));
    ts_gradcheck("GatherND", 13, 2, (const ot_tensor *[]){&x, &gi0}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ot_attr_free(&batch);
    ts_free_tensors((ot_tensor[]){x, ei, eu, ui, gi, gi0}, 6);
}

/* Indices out of range are errors naming the node, for every index op. */
static void index_errors_name_the_node(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(2, 2), F32(1, 2, 3, 4)), u = ts_float(2, I64(1, 2), F32(5, 6));
    ot_tensor bad = ts_int64(2, I64(1, 2), I64(0, 2)), tuple = ts_int64(2, I64(1, 1), I64(-3));
    const ot_tensor *ge[2] = {&x, &bad}, *se[3] = {&x, &bad, &u}, *nd[3] = {&x, &tuple, &u};
    ts_expect_node_error("GatherElements", 13, 2, ge, NULL, 1, 0, NULL, 0, OT_ERR_INVALID, "out of range");
    ts_expect_node_error("ScatterElements", 13, 3, se, NULL, 1, 0, NULL, 0, OT_ERR_INVALID, "out of range");
    ts_expect_node_error("GatherND", 13, 2, nd, NULL, 1, 0, NULL, 0, OT_ERR_INVALID, "out of range");
    ts_expect_node_error("ScatterND", 13, 3, nd, NULL, 1, 0, NULL, 0, OT_ERR_INVALID, "out of range");
    ts_free_tensors((ot_tensor[]){x, u, bad, tuple}, 4);
}

static void gradients_of_depth_and_space(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 6);
    ot_tensor x = ts_random(&rng, 4, I64(2, 8, 2, 3), -1, 1);
    ot_tensor s = ts_random(&rng, 4, I64(1, 2, 4, 6), -1, 1);
    const char *modes[] = {"DCR", "CRD"};
    for (int i = 0; i < 2; i++) {
        ot_attr attrs[2] = {ts_attr_int("blocksize", 2), ts_attr_string("mode", modes[i])};
        ts_gradcheck("DepthToSpace", 13, 1, (const ot_tensor *[]){&x}, 1, 2, attrs, 0, 1e-2, 1e-3);
        ot_attr_free(&attrs[1]);
        if (!i) ts_gradcheck("SpaceToDepth", 13, 1, (const ot_tensor *[]){&s}, 1, 1, attrs, 0, 1e-2, 1e-3);
        ot_attr_free(&attrs[0]);
    }
    ts_free_tensors((ot_tensor[]){x, s}, 2);
}

/* Split has several outputs: feed each a distinct gradient and check the input's gradient
 * is exactly their concatenation (0 where an output takes no gradient). */
/* Trilu passes the gradient of the kept triangle only, for both triangles and diagonals
 * above, on and below the main one. */
static void trilu_gradient_is_masked(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 14);
    ot_tensor x = ts_random(&rng, 3, (int64_t[]){2, 3, 5}, -1.0f, 1.0f);
    for (int upper = 0; upper < 2; upper++)
        for (int64_t k = -2; k <= 2; k += 2) {
            ot_tensor kt = ts_int64(0, NULL, &k);
            ot_attr attr = ts_attr_int("upper", upper);
            ts_gradcheck("Trilu", 14, 2, (const ot_tensor *[]){&x, &kt}, 1, 1, &attr, 0, 1e-2, 1e-3);
            ot_attr_free(&attr);
            ot_tensor_free(&kt);
        }
    ot_tensor_free(&x);
}

static void split_gradient_is_concatenation(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(2, 5), F32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    ot_tensor sizes = ts_int64(1, I64(3), I64(2, 1, 2));
    ot_attr axis = ts_attr_int("axis", 1);
    ot_model *m = ts_single_node("", "Split", 13, 2, (const ot_tensor *[]){&x, &sizes}, NULL, 3, 1, &axis);
    unsigned char *trainable = ts_calloc((size_t)m->n_values, 1);
    trainable[ot_model_find_value(m, "x0")] = 1;
    ot_plan_options options = {.training = 1, .trainable = trainable};
    ot_plan *plan;
    assert_int_equal(ot_plan_create(m, &options, 0, NULL, NULL, &plan), OT_OK);
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    ot_plan_zero_grads(plan);
    const float dy0[4] = {10, 11, 12, 13}, dy2[4] = {30, 31, 32, 33};
    memcpy(ot_plan_grad(plan, m->outputs[0])->data, dy0, sizeof dy0);
    memset(ot_plan_grad(plan, m->outputs[1])->data, 0, 2 * sizeof(float));
    memcpy(ot_plan_grad(plan, m->outputs[2])->data, dy2, sizeof dy2);
    assert_int_equal(ot_plan_backward(plan), OT_OK);
    const float want[10] = {10, 11, 0, 30, 31, 12, 13, 0, 32, 33};
    ts_expect_floats(ot_plan_grad(plan, ot_model_find_value(m, "x0")), want, 10);
    ot_plan_free(plan);
    free(trainable);
    ot_model_free(m);
    ot_attr_free(&axis);
    ot_tensor_free(&x);
    ot_tensor_free(&sizes);
}

/* ReverseSequence reverses dy the way it reverses x, either axis order. */
static void reverse_sequence_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 7);
    ot_tensor x = ts_random(&rng, 3, I64(4, 3, 2), -1, 1);
    ot_tensor lens = ts_int64(1, I64(3), I64(4, 1, 2)), lens_b = ts_int64(1, I64(4), I64(3, 0, 1, 2));
    ot_attr time_major[2] = {ts_attr_int("batch_axis", 1), ts_attr_int("time_axis", 0)};
    ot_attr batch_major[2] = {ts_attr_int("batch_axis", 0), ts_attr_int("time_axis", 1)};
    ts_gradcheck("ReverseSequence", 10, 2, (const ot_tensor *[]){&x, &lens}, 1, 2, time_major, 0, 1e-2, 1e-3);
    ts_gradcheck("ReverseSequence", 10, 2, (const ot_tensor *[]){&x, &lens_b}, 1, 2, batch_major, 0, 1e-2, 1e-3);
    for (int i = 0; i < 2; i++) {
        ot_attr_free(&time_major[i]);
        ot_attr_free(&batch_major[i]);
    }
    ts_free_tensors((ot_tensor[]){x, lens, lens_b}, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_of_views_and_layouts),
        cmocka_unit_test(gradients_of_selections),
        cmocka_unit_test(split_gradient_is_concatenation),
        cmocka_unit_test(trilu_gradient_is_masked),
        cmocka_unit_test(gradients_of_gathers_and_scatters),
        cmocka_unit_test(gradients_of_depth_and_space),
        cmocka_unit_test(index_errors_name_the_node),
        cmocka_unit_test(reverse_sequence_gradients),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
