/* Learning-rate schedules: parsing, the formulas at chosen steps, plateau state, errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnxtrain/train.h"
#include "test_support.h"

static ot_schedule parse(const char *text) {
    ot_schedule s;
    if (ot_schedule_parse(text, &s) != OT_OK) fail_msg("%s: %s", text, ot_last_error());
    return s;
}

static void formulas(void **state) {
    (void)state;
    ot_schedule s = parse("exponential:100");
    assert_float_equal(ot_schedule_lr(&s, 0.1, 0), 0.1, 1e-12);
    assert_float_equal(ot_schedule_lr(&s, 0.1, 100), 0.01, 1e-12);
    assert_float_equal(ot_schedule_lr(&s, 0.1, 250), 0.1 * pow(10, -2.5), 1e-12);
    s = parse("power:50");
    assert_float_equal(ot_schedule_lr(&s, 1.0, 50), 0.5, 1e-12);
    s = parse("power:50,2");
    assert_float_equal(ot_schedule_lr(&s, 1.0, 50), 0.25, 1e-12);
    s = parse("piecewise:10=0.05,20=0.01");
    assert_float_equal(ot_schedule_lr(&s, 0.1, 9), 0.1, 0);
    assert_float_equal(ot_schedule_lr(&s, 0.1, 10), 0.05, 0);
    assert_float_equal(ot_schedule_lr(&s, 0.1, 1000), 0.01, 0);
    s = parse("cosine:100");
    assert_float_equal(ot_schedule_lr(&s, 1.0, 0), 1.0, 1e-12);
    assert_float_equal(ot_schedule_lr(&s, 1.0, 50), 0.5, 1e-12);
    assert_float_equal(ot_schedule_lr(&s, 1.0, 100), 0.0, 1e-12);
    assert_float_equal(ot_schedule_lr(&s, 1.0, 150), 0.0, 1e-12);
}

static void plateau(void **state) {
    (void)state;
    ot_schedule s = parse("plateau:2,0.5");
    assert_int_equal(ot_schedule_observe(&s, 1.0), 0);
    assert_int_equal(ot_schedule_observe(&s, 1.1), 0);
    assert_int_equal(ot_schedule_observe(&s, 1.2), 1); /* two epochs without improvement */
    assert_float_equal(ot_schedule_lr(&s, 0.1, 7), 0.05, 1e-12);
    assert_int_equal(ot_schedule_observe(&s, 0.9), 0);
    s = parse("plateau:3");
    assert_float_equal(s.factor, 0.1, 0);
}

static void errors(void **state) {
    (void)state;
    const char *bad[] = {"exponential", "exponential:-1", "power:0", "piecewise:", "piecewise:10=0.1,5=0.2",
                         "plateau:0", "plateau:2,1.5", "cosine:abc", "warmup:10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ot_schedule s;
        assert_int_equal(ot_schedule_parse(bad[i], &s), OT_ERR_INVALID);
        /* names the text it was given, and no command-line flag */
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s' is not a schedule", bad[i]);
        assert_non_null(strstr(ot_last_error(), quoted));
        assert_null(strstr(ot_last_error(), "--"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formulas),
        cmocka_unit_test(plateau),
        cmocka_unit_test(errors),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
