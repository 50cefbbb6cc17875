/* Test helpers: tensors, single-node models, gradient checks by central differences. */
#include "test_support.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/weights.h"

void *ts_malloc(size_t size) {
    void *p = oti_malloc(size);
    assert_non_null(p);
    return p;
}

void *ts_calloc(size_t count, size_t size) {
    void *p = oti_calloc(count, size);
    assert_non_null(p);
    return p;
}

char *ts_strdup(const char *s) {
    char *p = oti_strdup(s);
    assert_non_null(p);
    return p;
}

ot_tensor ts_tensor(int ndim, const int64_t *dims) {
    ot_tensor t;
    assert_int_equal(ot_tensor_alloc(NULL, &t, OT_FLOAT, ndim, dims, "test"), OT_OK);
    return t;
}

ot_tensor ts_random(ot_rng *rng, int ndim, const int64_t *dims, float lo, float hi) {
    ot_tensor t = ts_tensor(ndim, dims);
    float *x = t.data;
    for (int64_t i = 0; i < ot_tensor_numel(&t); i++) x[i] = lo + (hi - lo) * ot_rng_uniform(rng);
    return t;
}

ot_tensor ts_int64(int ndim, const int64_t *dims, const int64_t *values) {
    ot_tensor t;
    assert_int_equal(ot_tensor_alloc(NULL, &t, OT_INT64, ndim, dims, "test"), OT_OK);
    memcpy(t.data, values, sizeof(int64_t) * (size_t)ot_tensor_numel(&t));
    return t;
}

ot_tensor ts_bool(int ndim, const int64_t *dims, const uint8_t *values) {
    ot_tensor t;
    assert_int_equal(ot_tensor_alloc(NULL, &t, OT_BOOL, ndim, dims, "test"), OT_OK);
    memcpy(t.data, values, (size_t)ot_tensor_numel(&t));
    return t;
}

ot_tensor ts_float(int ndim, const int64_t *dims, const float *values) {
    ot_tensor t = ts_tensor(ndim, dims);
    memcpy(t.data, values, sizeof(float) * (size_t)ot_tensor_numel(&t));
    return t;
}

void ts_expect_floats(const ot_tensor *t, const float *want, int64_t n) {
    assert_int_equal(t->dtype, OT_FLOAT);
    assert_int_equal(ot_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        if (((const float *)t->data)[i] != want[i])
            fail_msg("value %lld: %.9g, expected %.9g", (long long)i, ((const float *)t->data)[i], want[i]);
}

void ts_expect_int64s(const ot_tensor *t, const int64_t *want, int64_t n) {
    assert_int_equal(t->dtype, OT_INT64);
    assert_int_equal(ot_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        if (((const int64_t *)t->data)[i] != want[i])
            fail_msg("value %lld: %lld, expected %lld", (long long)i,
                     (long long)((const int64_t *)t->data)[i], (long long)want[i]);
}

void ts_free_tensors(ot_tensor *t, int n) {
    for (int i = 0; i < n; i++) ot_tensor_free(&t[i]);
}

/* An attribute with its name (owned) and type, nothing else set. */
static ot_attr named_attr(const char *name, ot_attr_type type, int count) {
    ot_attr a = {0};
    a.name = ts_strdup(name);
    a.type = type;
    a.count = count;
    return a;
}

/* A copy of `bytes` bytes (never a zero-sized allocation). */
static void *copy_of(const void *values, size_t bytes) {
    void *p = ts_malloc(bytes + sizeof(int64_t));
    memcpy(p, values, bytes);
    return p;
}

ot_attr ts_attr_int(const char *name, int64_t value) {
    ot_attr a = named_attr(name, OT_ATTR_INT, 0);
    a.i = value;
    return a;
}

ot_attr ts_attr_float(const char *name, float value) {
    ot_attr a = named_attr(name, OT_ATTR_FLOAT, 0);
    a.f = value;
    return a;
}

ot_attr ts_attr_ints(const char *name, int count, const int64_t *values) {
    ot_attr a = named_attr(name, OT_ATTR_INTS, count);
    a.ints = copy_of(values, sizeof(int64_t) * (size_t)count);
    return a;
}

ot_attr ts_attr_floats(const char *name, int count, const float *values) {
    ot_attr a = named_attr(name, OT_ATTR_FLOATS, count);
    a.floats = copy_of(values, sizeof(float) * (size_t)count);
    return a;
}

ot_attr ts_attr_strings(const char *name, int count, const char *const *values) {
    ot_attr a = named_attr(name, OT_ATTR_STRINGS, count);
    a.strings = ts_calloc((size_t)count + 1, sizeof(char *));
    for (int i = 0; i < count; i++) a.strings[i] = ts_strdup(values[i]);
    return a;
}

ot_attr ts_attr_string(const char *name, const char *value) {
    ot_attr a = named_attr(name, OT_ATTR_STRING, 0);
    a.s = ts_strdup(value);
    a.s_len = strlen(value);
    return a;
}

/* The model ts_single_node describes, checked and resolved: *out is the model (the caller
 * frees it), the return is the status of ot_graph_check and ot_graph_resolve. */
static ot_status build_single_node(const char *domain, const char *op, int opset, int n_inputs,
                                   const ot_tensor *const *inputs, const int *as_input, int n_outputs,
                                   int n_attrs, const ot_attr *attrs, ot_model **out) {
    assert_true(n_inputs >= 0 && n_inputs <= 16 && n_outputs >= 0 && n_outputs <= 8);
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, domain, opset), OT_OK);
    if (domain && *domain) assert_int_equal(ot_model_set_opset(m, "", 17), OT_OK);
    char names[16][16], outs[8][16];
    const char *in_names[16], *out_names[8];
    m->inputs = ts_calloc(17, sizeof(int));
    for (int k = 0; k < n_inputs; k++) {
        snprintf(names[k], sizeof names[k], "x%d", k);
        in_names[k] = inputs[k] ? names[k] : "";
        if (!inputs[k]) continue;
        if (as_input && as_input[k]) {
            int v;
            assert_int_equal(ot_model_add_value(m, names[k], OT_VALUE_INPUT, &v), OT_OK);
            m->values[v].tensor = *inputs[k];
            m->values[v].tensor.data = NULL;
            m->values[v].tensor.owns = 0;
            m->values[v].has_type = m->values[v].has_shape = 1;
            m->inputs[m->n_inputs++] = v;
        } else {
            ot_tensor copy;
            assert_int_equal(ot_tensor_copy(&copy, inputs[k], names[k]), OT_OK);
            assert_int_equal(ot_model_add_initializer(m, names[k], &copy, NULL), OT_OK);
        }
    }
    for (int k = 0; k < n_outputs; k++) {
        snprintf(outs[k], sizeof outs[k], "y%d", k);
        out_names[k] = outs[k];
    }
    int li;
    assert_int_equal(ot_model_add_layer(m, "node", op, domain, n_inputs, in_names, n_outputs,
                                        out_names, &li), OT_OK);
    for (int a = 0; a < n_attrs; a++) assert_int_equal(ot_layer_add_attr(&m->layers[li], &attrs[a]), OT_OK);
    m->outputs = ts_calloc((size_t)n_outputs + 1, sizeof(int));
    for (int k = 0; k < n_outputs; k++) m->outputs[m->n_outputs++] = ot_model_find_value(m, outs[k]);
    *out = m;
    ot_status status = ot_graph_check(m);
    if (status == OT_OK) status = ot_graph_resolve(m);
    return status;
}

ot_model *ts_single_node(const char *domain, const char *op, int opset, int n_inputs,
                         const ot_tensor *const *inputs, const int *as_input, int n_outputs,
                         int n_attrs, const ot_attr *attrs) {
    ot_model *m;
    if (build_single_node(domain, op, opset, n_inputs, inputs, as_input, n_outputs, n_attrs, attrs, &m) != OT_OK)
        fail_msg("building %s: %s", op, ot_last_error());
    return m;
}

/* Made once on first use and never changed: every test sees the same two threads. */
static ot_context *shared_context;

static void make_shared_context(void) {
    ot_context_options options = {.threads = 2};
    if (ot_context_create(&options, &shared_context) != OT_OK) abort();
}

ot_context *ts_context(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_shared_context);
    return shared_context;
}

ot_plan_options ts_plan_options(void) { return (ot_plan_options){.context = ts_context()}; }

/* Plans m (inference) with its graph inputs fed from inputs[k] where as_input[k] is set, then
 * binds their data and runs forward once. */
static ot_status plan_and_forward(ot_model *m, int n_inputs, const ot_tensor *const *inputs,
                                  const int *as_input, int data_at_plan_time) {
    ot_tensor feeds[16];
    void *data[16];
    int n_feeds = 0;
    for (int k = 0; k < n_inputs; k++)
        if (inputs[k] && as_input && as_input[k]) {
            feeds[n_feeds] = *inputs[k];
            data[n_feeds] = inputs[k]->data;
            if (!data_at_plan_time) feeds[n_feeds].data = NULL; /* shapes only */
            n_feeds++;
        }
    assert_int_equal(n_feeds, m->n_inputs);
    ot_plan *plan;
    ot_plan_options options = ts_plan_options();
    ot_status status = ot_plan_create(m, &options, n_feeds, m->inputs, feeds, &plan);
    if (status != OT_OK) return status;
    for (int k = 0; k < n_feeds; k++) {
        ot_tensor *t = ot_plan_value(plan, m->inputs[k]);
        if (t) t->data = data[k];
    }
    status = ot_plan_forward(plan);
    ot_plan_free(plan);
    return status;
}

ot_status ts_build_and_plan(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                            const int *as_input, int n_outputs, int n_attrs, const ot_attr *attrs,
                            int data_at_plan_time) {
    ot_model *m;
    ot_status status = build_single_node("", op, opset, n_inputs, inputs, as_input, n_outputs, n_attrs,
                                         attrs, &m);
    if (status == OT_OK) status = plan_and_forward(m, n_inputs, inputs, as_input, data_at_plan_time);
    ot_model_free(m);
    return status;
}

void ts_expect_node_error(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                          const int *as_input, int n_outputs, int n_attrs, const ot_attr *attrs,
                          int data_at_plan_time, ot_status code, const char *needle) {
    ot_status status = ts_build_and_plan(op, opset, n_inputs, inputs, as_input, n_outputs, n_attrs, attrs,
                                         data_at_plan_time);
    const char *message = status == OT_OK ? "no error" : ot_last_error();
    if (status != code)
        fail_msg("%s: expected %s with a message containing '%s', got %s (%s)", op, ot_status_name(code),
                 needle, ot_status_name(status), message);
    char node[96];
    snprintf(node, sizeof node, "%s node 'node'", op);
    if (!strstr(message, node) || !strstr(message, needle))
        fail_msg("%s: message '%s' should name the node ('%s') and contain '%s'", op, message, node, needle);
}

ot_tensor ts_run(ot_model *m, int n_feeds, const ot_tensor *feeds, int output) {
    ot_plan *plan;
    ot_plan_options options = ts_plan_options();
    ot_status status = ot_plan_create(m, &options, n_feeds, m->inputs, feeds, &plan);
    if (status != OT_OK) fail_msg("plan: %s", ot_last_error());
    for (int k = 0; k < n_feeds; k++) ot_plan_value(plan, m->inputs[k])->data = feeds[k].data;
    status = ot_plan_forward(plan);
    if (status != OT_OK) fail_msg("forward: %s", ot_last_error());
    ot_tensor copy;
    assert_int_equal(ot_tensor_copy(&copy, ot_plan_value(plan, m->outputs[output]), "y"), OT_OK);
    ot_plan_free(plan);
    return copy;
}

void ts_forward_backward(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                         int n_attrs, const ot_attr *attrs, const ot_tensor *dy, ot_tensor *out) {
    ot_plan_options base = ts_plan_options();
    ts_forward_backward_with(&base, op, opset, n_inputs, inputs, n_attrs, attrs, dy, out);
}

void ts_forward_backward_with(const ot_plan_options *base, const char *op, int opset, int n_inputs,
                              const ot_tensor *const *inputs, int n_attrs, const ot_attr *attrs,
                              const ot_tensor *dy, ot_tensor *out) {
    ot_model *m = ts_single_node("", op, opset, n_inputs, inputs, NULL, 1, n_attrs, attrs);
    unsigned char *trainable = ts_calloc((size_t)m->n_values + 1, 1);
    int values[8];
    assert_true(n_inputs <= 8);
    for (int k = 0; k < n_inputs; k++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", k);
        values[k] = ot_model_find_value(m, name);
        trainable[values[k]] = 1;
    }
    ot_plan_options options = *base;
    options.training = 1;
    options.trainable = trainable;
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    if (ot_plan_forward(plan) != OT_OK) fail_msg("forward: %s", ot_last_error());
    const ot_tensor *y = ot_plan_value(plan, m->outputs[0]);
    if (ot_tensor_copy(&out[0], y, "y") != OT_OK) fail_msg("%s", ot_last_error());
    if (ot_tensor_numel(dy) != ot_tensor_numel(y))
        fail_msg("%s: y has %lld values, dy %lld", op, (long long)ot_tensor_numel(y),
                 (long long)ot_tensor_numel(dy));
    ot_plan_zero_grads(plan);
    memcpy(ot_plan_grad(plan, m->outputs[0])->data, dy->data, sizeof(float) * (size_t)ot_tensor_numel(dy));
    if (ot_plan_backward(plan) != OT_OK) fail_msg("backward: %s", ot_last_error());
    for (int k = 0; k < n_inputs; k++)
        if (ot_tensor_copy(&out[1 + k], ot_plan_grad(plan, values[k]), "gradient") != OT_OK)
            fail_msg("%s", ot_last_error());
    ot_plan_free(plan);
    ot_model_free(m);
    free(trainable);
}

/* Loss = sum over the outputs of sum(w_k * y_k) in double (w holds every output's weights one
 * after another), after a forward with the dropout generator reset. */
static double loss_of(ot_plan *plan, ot_model *m, const float *w, ot_rng *rng) {
    ot_rng_seed(rng, 7);
    if (ot_plan_forward(plan) != OT_OK) fail_msg("forward: %s", ot_last_error());
    double loss = 0;
    for (int k = 0; k < m->n_outputs; k++) {
        const ot_tensor *y = ot_plan_value(plan, m->outputs[k]);
        for (int64_t i = 0; i < ot_tensor_numel(y); i++) loss += (double)*w++ * ((float *)y->data)[i];
    }
    return loss;
}

void ts_gradcheck(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                  unsigned check_mask, int n_attrs, const ot_attr *attrs, int training,
                  double h, double tolerance) {
    ot_plan_options base = ts_plan_options();
    ts_gradcheck_with(&base, op, opset, n_inputs, inputs, check_mask, n_attrs, attrs, training, h,
                      tolerance);
}

/* ts_gradcheck_with on a node with n_outputs outputs, all in the loss. */
static void gradcheck_outputs(const ot_plan_options *base, const char *op, int opset, int n_inputs,
                              const ot_tensor *const *inputs, unsigned check_mask, int n_outputs,
                              int n_attrs, const ot_attr *attrs, int training, double h, double tolerance) {
    ot_model *m = ts_single_node("", op, opset, n_inputs, inputs, NULL, n_outputs, n_attrs, attrs);
    unsigned char *checked = ts_calloc((size_t)m->n_values + 1, 1);
    for (int k = 0; k < n_inputs; k++)
        if (inputs[k] && ((check_mask >> k) & 1)) {
            char name[16];
            snprintf(name, sizeof name, "x%d", k);
            checked[ot_model_find_value(m, name)] = 1;
        }
    ts_gradcheck_model(base, m, op, checked, training, h, tolerance);
    free(checked);
    ot_model_free(m);
}

void ts_gradcheck_with(const ot_plan_options *base, const char *op, int opset, int n_inputs,
                       const ot_tensor *const *inputs, unsigned check_mask, int n_attrs,
                       const ot_attr *attrs, int training, double h, double tolerance) {
    gradcheck_outputs(base, op, opset, n_inputs, inputs, check_mask, 1, n_attrs, attrs, training, h,
                      tolerance);
}

void ts_gradcheck_outputs(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                          unsigned check_mask, int n_outputs, int n_attrs, const ot_attr *attrs,
                          double h, double tolerance) {
    ot_plan_options base = ts_plan_options();
    gradcheck_outputs(&base, op, opset, n_inputs, inputs, check_mask, n_outputs, n_attrs, attrs, 0, h,
                      tolerance);
}

void ts_gradcheck_model(const ot_plan_options *base, ot_model *m, const char *what,
                        const unsigned char *checked, int training, double h, double tolerance) {
    ot_rng rng;
    ot_rng_seed(&rng, 7);
    /* Backward needs a training plan; a frozen layer in it runs its inference form. */
    ot_plan_options options = *base;
    options.training = 1;
    options.trainable = checked;
    options.rng = &rng;
    for (int i = 0; i < m->n_layers; i++) m->layers[i].frozen = !training;
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    /* Random weights for every output's values, one output after another. */
    int64_t ny = 0;
    for (int k = 0; k < m->n_outputs; k++) ny += ot_tensor_numel(ot_plan_value(plan, m->outputs[k]));
    float *w = ts_malloc(sizeof(float) * (size_t)(ny + 1));
    ot_rng wrng;
    ot_rng_seed(&wrng, 99);
    for (int64_t i = 0; i < ny; i++) w[i] = 2.0f * ot_rng_uniform(&wrng) - 1.0f;

    loss_of(plan, m, w, &rng);
    ot_plan_zero_grads(plan);
    const float *wk = w;
    for (int k = 0; k < m->n_outputs; k++) {
        ot_tensor *dy = ot_plan_grad(plan, m->outputs[k]);
        assert_non_null(dy);
        memcpy(dy->data, wk, sizeof(float) * (size_t)ot_tensor_numel(dy));
        wk += ot_tensor_numel(dy);
    }
    if (ot_plan_backward(plan) != OT_OK) fail_msg("backward: %s", ot_last_error());

    for (int v = 0; v < m->n_values; v++) {
        if (!checked[v]) continue;
        float *x = m->values[v].tensor.data;
        const float *g = ot_plan_grad(plan, v)->data;
        int64_t n = ot_tensor_numel(&m->values[v].tensor);
        float *analytic = ts_malloc(sizeof(float) * (size_t)(n + 1));
        memcpy(analytic, g, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            float saved = x[i];
            x[i] = saved + (float)h;
            double up = loss_of(plan, m, w, &rng);
            x[i] = saved - (float)h;
            double down = loss_of(plan, m, w, &rng);
            x[i] = saved;
            double numeric = (up - down) / (2 * h);
            double scale = fmax(1.0, fmax(fabs(numeric), fabs(analytic[i])));
            if (fabs(numeric - analytic[i]) > tolerance * scale)
                fail_msg("%s: d loss / d %s [%lld]: backward %.6g, central difference %.6g",
                         what, m->values[v].name, (long long)i, analytic[i], numeric);
        }
        free(analytic);
    }
    free(w);
    ot_plan_free(plan);
}

const char *ts_fixture(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", OT_FIXTURES, name);
    return path;
}

ot_model *ts_load_case(const char *dir, const char *name, ot_weights *fixture) {
    char path[512];
    ot_model *m;
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (ot_onnx_load(NULL, ts_fixture(path), &m) != OT_OK) fail_msg("%s", ot_last_error());
    snprintf(path, sizeof path, "%s/%s.npz", dir, name);
    if (ot_weights_load(NULL, ts_fixture(path), fixture) != OT_OK) fail_msg("%s", ot_last_error());
    return m;
}

const char *ts_temp_dir(void) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/onnxtrain-test-XXXXXX");
    if (!mkdtemp(path)) fail_msg("mkdtemp failed");
    return path;
}

void ts_select_cases(void) {
    const char *pattern = getenv("OT_TEST_CASE");
    if (pattern && *pattern) cmocka_set_test_filter(pattern);
}
