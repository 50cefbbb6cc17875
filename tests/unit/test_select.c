/* The 'select' family (ops whose output shape depends on input values): Compress's gradient,
 * and what happens when the values are not known while the plan is built. The ops' results
 * are checked against ONNX's backend node tests (backend.node.test_nonzero_*, _compress_*,
 * _unique_*, _nonmaxsuppression_*). */
#include "test_support.h"

static void compress_gradient_returns_to_the_kept_slices(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 11);
    ot_tensor x = ts_random(&rng, 3, I64(3, 4, 2), -1, 1);
    /* Shorter than the axis: slice 3 is dropped as a false would. */
    ot_tensor cond = ts_bool(1, I64(3), (const uint8_t[]){1, 0, 1});
    ot_attr axis = ts_attr_int("axis", 1);
    ts_gradcheck("Compress", 11, 2, (const ot_tensor *[]){&x, &cond}, 1, 1, &axis, 0, 1e-2, 1e-3);
    ot_attr_free(&axis);
    /* Without axis: the flattened input. */
    ot_tensor flat = ts_bool(1, I64(5), (const uint8_t[]){0, 1, 1, 0, 1});
    ts_gradcheck("Compress", 11, 2, (const ot_tensor *[]){&x, &flat}, 1, 0, NULL, 0, 1e-2, 1e-3);
    ts_free_tensors((ot_tensor[]){x, cond, flat}, 3);
}

static void value_shaped_ops_need_the_values_when_planned(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(2, 2), F32(1, 0, 0, 3));
    const ot_tensor *in[1] = {&x};
    /* Data bound only after planning (a training or shape-only plan): a clear error. */
    ts_expect_node_error("NonZero", 13, 1, in, (const int[]){1}, 1, 0, NULL, 0, OT_ERR_UNSUPPORTED,
                         "depends on the values of input 'x0'");
    /* Given with the data, the inference plan runs the node while it is built. */
    assert_int_equal(ts_build_and_plan("NonZero", 13, 1, in, (const int[]){1}, 1, 0, NULL, 1), OT_OK);
    ts_free_tensors((ot_tensor[]){x}, 1);
}

static void compress_condition_longer_than_the_axis_is_an_error(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(2, 2), F32(1, 2, 3, 4));
    ot_tensor cond = ts_bool(1, I64(3), (const uint8_t[]){1, 0, 1});
    ot_attr axis = ts_attr_int("axis", 0);
    ts_expect_node_error("Compress", 11, 2, (const ot_tensor *[]){&x, &cond}, NULL, 1, 1, &axis, 0, OT_ERR_INVALID,
                         "more than the 2 slices");
    ot_attr_free(&axis);
    ts_free_tensors((ot_tensor[]){x, cond}, 2);
}

static void nms_rejects_bad_thresholds_and_shapes(void **state) {
    (void)state;
    ot_tensor boxes = ts_float(3, I64(1, 2, 4), F32(0, 0, 1, 1, 0, 0.1f, 1, 1.1f));
    ot_tensor scores = ts_float(3, I64(1, 1, 2), F32(0.9f, 0.8f));
    ot_tensor max_out = ts_int64(1, I64(1), I64(2));
    ot_tensor bad_iou = ts_float(1, I64(1), F32(1.5f));
    ts_expect_node_error("NonMaxSuppression", 11, 4, (const ot_tensor *[]){&boxes, &scores, &max_out, &bad_iou}, NULL, 1,
                         0, NULL, 0, OT_ERR_INVALID, "iou_threshold 1.5 is outside [0, 1]");
    ot_tensor flat_boxes = ts_float(2, I64(2, 4), F32(0, 0, 1, 1, 0, 0.1f, 1, 1.1f));
    ts_expect_node_error("NonMaxSuppression", 11, 2, (const ot_tensor *[]){&flat_boxes, &scores}, NULL, 1, 0, NULL, 0,
                         OT_ERR_INVALID, "boxes must be (batches, boxes, 4)");
    ot_attr center = ts_attr_int("center_point_box", 2);
    ts_expect_node_error("NonMaxSuppression", 11, 2, (const ot_tensor *[]){&boxes, &scores}, NULL, 1, 1, &center, 0,
                         OT_ERR_INVALID, "center_point_box must be 0 or 1");
    ot_attr_free(&center);
    ts_free_tensors((ot_tensor[]){boxes, scores, max_out, bad_iou, flat_boxes}, 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compress_gradient_returns_to_the_kept_slices),
        cmocka_unit_test(value_shaped_ops_need_the_values_when_planned),
        cmocka_unit_test(compress_condition_longer_than_the_axis_is_an_error),
        cmocka_unit_test(nms_rejects_bad_thresholds_and_shapes),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
