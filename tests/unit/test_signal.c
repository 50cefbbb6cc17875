/* The 'signal' family's gradients (DFT and STFT are linear: their backward is the adjoint
 * transform) and errors. Their values are checked against ONNX's backend node tests
 * (backend.node.test_dft*, _stft*, the windows, _melweightmatrix). */
#include "test_support.h"

static void dft_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 21);
    /* Real input, zero-padded to 6, one-sided. */
    ot_tensor real = ts_random(&rng, 3, I64(2, 5, 1), -1, 1);
    ot_tensor six = ts_int64(1, I64(1), I64(6));
    ot_attr onesided = ts_attr_int("onesided", 1);
    ts_gradcheck("DFT", 17, 2, (const ot_tensor *[]){&real, &six}, 1, 1, &onesided, 0, 1e-2, 1e-3);
    ot_attr_free(&onesided);
    /* Complex input along a middle axis, cut to 3, inverse. */
    ot_tensor complex = ts_random(&rng, 4, I64(1, 2, 4, 2), -1, 1);
    ot_tensor three = ts_int64(1, I64(1), I64(3));
    ot_attr attrs[2] = {ts_attr_int("axis", 2), ts_attr_int("inverse", 1)};
    ts_gradcheck("DFT", 17, 2, (const ot_tensor *[]){&complex, &three}, 1, 2, attrs, 0, 1e-2, 1e-3);
    ot_attr_free(&attrs[0]);
    ot_attr_free(&attrs[1]);
    ts_free_tensors((ot_tensor[]){real, six, complex, three}, 4);
}

static void stft_gradients_reach_signal_and_window(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 22);
    ot_tensor signal = ts_random(&rng, 3, I64(2, 10, 1), -1, 1);
    ot_tensor step = ts_int64(0, NULL, I64(3));
    ot_tensor window = ts_random(&rng, 1, I64(4), 0, 1);
    ts_gradcheck("STFT", 17, 3, (const ot_tensor *[]){&signal, &step, &window}, 1 | 4, 0, NULL, 0, 1e-2, 1e-3);
    ts_free_tensors((ot_tensor[]){signal, step, window}, 3);
}

static void signal_errors_name_the_node(void **state) {
    (void)state;
    ot_tensor signal = ts_float(3, I64(1, 4, 1), F32(1, 2, 3, 4));
    ot_tensor step = ts_int64(0, NULL, I64(1)), too_long = ts_int64(0, NULL, I64(5));
    ts_expect_node_error("STFT", 17, 4, (const ot_tensor *[]){&signal, &step, NULL, &too_long}, NULL, 1, 0, NULL, 0,
                         OT_ERR_INVALID, "frame_length 5 must be in [1, 4]");
    ot_attr axis = ts_attr_int("axis", 2);
    ts_expect_node_error("DFT", 17, 1, (const ot_tensor *[]){&signal}, NULL, 1, 1, &axis, 0, OT_ERR_INVALID,
                         "axis 2 must name a dim before the last");
    ot_attr_free(&axis);
    ot_tensor size = ts_int64(0, NULL, I64(-3));
    ts_expect_node_error("HannWindow", 17, 1, (const ot_tensor *[]){&size}, NULL, 1, 0, NULL, 0, OT_ERR_INVALID,
                         "size must not be negative");
    ts_free_tensors((ot_tensor[]){signal, step, too_long, size}, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dft_gradients),
        cmocka_unit_test(stft_gradients_reach_signal_and_window),
        cmocka_unit_test(signal_errors_name_the_node),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
