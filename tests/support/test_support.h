/* Helpers for the unit tests: single-node models, random tensors, gradient checks. */
#ifndef OT_TEST_SUPPORT_H
#define OT_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "onnxtrain/model.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/rng.h"

/* A float32 tensor of the given shape (owned), zero-filled. */
/* Allocation in tests: a NULL (out of memory) fails the test at once. */
void *ts_malloc(size_t size);
void *ts_calloc(size_t count, size_t size);
char *ts_strdup(const char *s);

ot_tensor ts_tensor(int ndim, const int64_t *dims);
/* The same with values uniform in [lo, hi) from rng. */
ot_tensor ts_random(ot_rng *rng, int ndim, const int64_t *dims, float lo, float hi);
/* Array literals for dims and values: ts_float(2, I64(2, 3), F32(1, 2, 3, 4, 5, 6)). */
#define I64(...) ((const int64_t[]){__VA_ARGS__})
#define F32(...) ((const float[]){__VA_ARGS__})
/* An int64 tensor from values. */
ot_tensor ts_int64(int ndim, const int64_t *dims, const int64_t *values);
/* A bool tensor from 0/1 bytes. */
ot_tensor ts_bool(int ndim, const int64_t *dims, const uint8_t *values);
/* A float tensor from values. */
ot_tensor ts_float(int ndim, const int64_t *dims, const float *values);
/* Fails unless t holds exactly these n values (float32 / int64). */
void ts_expect_floats(const ot_tensor *t, const float *want, int64_t n);
void ts_expect_int64s(const ot_tensor *t, const int64_t *want, int64_t n);
/* Frees n tensors. */
void ts_free_tensors(ot_tensor *t, int n);

/* Attribute constructors (the returned attr borrows nothing; free with ot_attr_free). */
ot_attr ts_attr_int(const char *name, int64_t value);
ot_attr ts_attr_float(const char *name, float value);
ot_attr ts_attr_ints(const char *name, int count, const int64_t *values);
ot_attr ts_attr_string(const char *name, const char *value);
ot_attr ts_attr_strings(const char *name, int count, const char *const *values);
ot_attr ts_attr_floats(const char *name, int count, const float *values);

/* A model with one node `op` at `opset`: inputs[k] (copied) become initializers named
 * "x<k>" (graph inputs where as_input[k] is set; NULL entries are omitted optional inputs),
 * outputs "y0".."y<n-1>". Fails the test on error. */
ot_model *ts_single_node(const char *domain, const char *op, int opset, int n_inputs,
                         const ot_tensor *const *inputs, const int *as_input, int n_outputs,
                         int n_attrs, const ot_attr *attrs);

/* The same model built without failing the test: returns the status of checking and
 * resolving it (parse errors), then of planning it in inference mode (infer errors) and of one
 * forward (run-time errors). Graph inputs (as_input[k] set) are fed from inputs[k]: with
 * data_at_plan_time their values are given to the plan (small int64 feeds are then fixed, as
 * in ts_run); without it the plan sees shapes only and the data is bound afterwards, as for
 * run-time data. With every input an initializer the node is folded while planning. The
 * model is freed; ot_last_error() holds the message of a failure. */
ot_status ts_build_and_plan(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                            const int *as_input, int n_outputs, int n_attrs, const ot_attr *attrs,
                            int data_at_plan_time);
/* Fails the test unless ts_build_and_plan returns `code` with a message that names the node
 * ("<op> node 'node'") and contains `needle`. */
void ts_expect_node_error(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                          const int *as_input, int n_outputs, int n_attrs, const ot_attr *attrs,
                          int data_at_plan_time, ot_status code, const char *needle);

/* Runs the model's forward in inference mode with the graph inputs bound to `feeds` (in the
 * model's input order); returns a copy of output k. */
ot_tensor ts_run(ot_model *m, int n_feeds, const ot_tensor *feeds, int output);

/* The tests' context: two compute threads on any machine, so the kernels' threaded paths run
 * the same way everywhere. Made on first use, never changed. */
ot_context *ts_context(void);
/* The plan options of the helpers below: ts_context(), default convolutions. */
ot_plan_options ts_plan_options(void);

/* One node in a training plan where every input is trained: out[0] = a copy of y0 and,
 * after backward from dy (y0's shape), out[1 + k] = a copy of input k's gradient. The
 * caller frees the 1 + n_inputs tensors. */
void ts_forward_backward(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                         int n_attrs, const ot_attr *attrs, const ot_tensor *dy, ot_tensor *out);
/* The same with other plan options (context, convolution arithmetic and tuning). */
void ts_forward_backward_with(const ot_plan_options *base, const char *op, int opset, int n_inputs,
                              const ot_tensor *const *inputs, int n_attrs, const ot_attr *attrs,
                              const ot_tensor *dy, ot_tensor *out);

/* Gradient check of one node: every float input whose bit is set in `check_mask` becomes a
 * trained initializer; the loss is sum(w * y0) for fixed random w; analytic gradients (plan
 * backward) are compared with central differences (step h) as
 * |a - n| <= tolerance * max(1, |a|, |n|). Inputs whose bit is clear stay constants.
 * training selects training-mode forward (BatchNorm batch statistics). */
void ts_gradcheck(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                  unsigned check_mask, int n_attrs, const ot_attr *attrs, int training,
                  double h, double tolerance);
void ts_gradcheck_with(const ot_plan_options *base, const char *op, int opset, int n_inputs,
                       const ot_tensor *const *inputs, unsigned check_mask, int n_attrs,
                       const ot_attr *attrs, int training, double h, double tolerance);
/* The same check on a whole model: every initializer whose checked[value] is set (all
 * float32) is trained and checked, the loss is sum(w * output 0). `what` names the model in
 * failures. Every layer's frozen flag is set to !training (frozen layers run their
 * inference form); the initializers keep their values. */
void ts_gradcheck_model(const ot_plan_options *base, ot_model *m, const char *what,
                        const unsigned char *checked, int training, double h, double tolerance);

/* The same for a node with n_outputs outputs (inference-form forward): the loss sums
 * sum(w_k * y_k) over every output k. */
void ts_gradcheck_outputs(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                          unsigned check_mask, int n_outputs, int n_attrs, const ot_attr *attrs,
                          double h, double tolerance);

/* Runs a cmocka group, only the cases matching $OT_TEST_CASE when it is set (a glob on the
 * case name, as tools/t passes it). */
void ts_select_cases(void);
#define ts_run_group_tests(tests, setup, teardown) (ts_select_cases(), cmocka_run_group_tests(tests, setup, teardown))

/* Path of a committed fixture (tests/fixtures/NAME); static buffer. */
const char *ts_fixture(const char *name);
/* Loads the fixture model <dir>/<name>.onnx and its tensors <dir>/<name>.npz into *fixture
 * (free both); fails the test on error. */
struct ot_weights;
ot_model *ts_load_case(const char *dir, const char *name, struct ot_weights *fixture);
/* A fresh empty temporary folder for this test (removed by the OS / tmp cleaners). */
const char *ts_temp_dir(void);

#endif
