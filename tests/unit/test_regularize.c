/* L1/L2 gradients, clipping by value and by global norm (PyTorch's clip_grad_norm_ rule),
 * and max-norm over output units. */
#include <math.h>
#include <string.h>

#include "test_support.h"
#include "train/parameters.h"

static void l1_l2(void **state) {
    (void)state;
    float w[3] = {2.0f, -1.0f, 0.0f}, g[3] = {0.5f, 0.5f, 0.5f};
    oti_add_l1_l2(g, w, 3, 0.1f, 0.01f);
    assert_float_equal(g[0], 0.5 + 0.1 + 0.04, 1e-7);
    assert_float_equal(g[1], 0.5 - 0.1 - 0.02, 1e-7);
    assert_float_equal(g[2], 0.5, 1e-7);
}

static void clipping(void **state) {
    (void)state;
    float g[4] = {3.0f, -4.0f, 0.0f, 0.5f};
    oti_clip_by_value(g, 4, 1.0f);
    assert_float_equal(g[0], 1.0, 0);
    assert_float_equal(g[1], -1.0, 0);
    assert_float_equal(g[3], 0.5, 0);
    float h[2] = {3.0f, 4.0f};
    double norm = oti_clip_by_norm(h, 2, 1.0);
    assert_float_equal(norm, 5.0, 1e-12);
    assert_float_equal(h[0], 3.0 / (5.0 + 1e-6), 1e-7);
    assert_float_equal(h[1], 4.0 / (5.0 + 1e-6), 1e-7);
    float small[2] = {0.3f, 0.4f};
    oti_clip_by_norm(small, 2, 1.0);
    assert_float_equal(small[0], 0.3, 0); /* under the limit: untouched */
}

static void max_norm_rows_and_columns(void **state) {
    (void)state;
    /* Two units of 2 weights: as Gemm transB rows (3,4) and (0.3,0.4). */
    float block[4] = {3.0f, 4.0f, 0.3f, 0.4f};
    int64_t units = 2, len = 2, unit_stride = 2, elem_stride = 1;
    ot_parameters p = {.count = 1, .block = block, .offsets = (int64_t[]){0}, .units = &units,
                       .unit_len = &len, .unit_stride = &unit_stride, .elem_stride = &elem_stride};
    oti_apply_max_norm(&p, 1.0);
    assert_float_equal(block[0], 3.0 / (5.0 + 1e-7), 1e-7);
    assert_float_equal(block[1], 4.0 / (5.0 + 1e-7), 1e-7);
    assert_float_equal(block[2], 0.3, 0);
    /* Columns (MatMul (K, N)): unit u is column u. */
    float cols[4] = {3.0f, 0.3f, 4.0f, 0.4f};
    unit_stride = 1;
    elem_stride = 2;
    p.block = cols;
    oti_apply_max_norm(&p, 1.0);
    assert_float_equal(cols[0], 3.0 / (5.0 + 1e-7), 1e-7);
    assert_float_equal(cols[2], 4.0 / (5.0 + 1e-7), 1e-7);
    assert_float_equal(cols[1], 0.3, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(l1_l2),
        cmocka_unit_test(clipping),
        cmocka_unit_test(max_norm_rows_and_columns),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
