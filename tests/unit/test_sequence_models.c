/* Sequence models exported by PyTorch 1.13 (tools/fixtures/gen_sequence_fixtures.py): a
 * BERT-style encoder classifier with a padding mask, a GPT-style causal encoder with per-token
 * labels, a bidirectional LSTM and a GRU classifier over token ids, at opsets 13, 14 and 17.
 * Each runs within 1e-4 of ONNX Runtime; after 3 optimizer steps (SGD and AdamW; warm-up,
 * accumulation and label smoothing in one case each) its weights are within 1e-4 relative of
 * PyTorch's. */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnxtrain/dataset.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/train.h"
#include "onnxtrain/transfer.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

/* The data spec of a model's npz: token ids, labels and (bert) the mask for its input. */
static void data_spec(const char *model, char *spec, size_t size) {
    char path[256];
    snprintf(path, sizeof path, "sequence/%s_data.npz", model);
    snprintf(spec, size, "npz:%s:x=input_ids,y=labels%s", ts_fixture(path),
             strcmp(model, "bert") ? "" : ",attention_mask=attention_mask");
}

static ot_model *load_model(const char *model, int opset) {
    char path[256];
    snprintf(path, sizeof path, "sequence/%s_op%d.onnx", model, opset);
    ot_model *m;
    if (ot_onnx_load(NULL, ts_fixture(path), &m) != OT_OK) fail_msg("%s: %s", path, ot_last_error());
    return m;
}

/* The first 8 samples through the model in inference mode, against ONNX Runtime. */
static void runs_like_onnxruntime(const char *model, int opset) {
    ot_model *m = load_model(model, opset);
    char spec[4096], path[256];
    data_spec(model, spec, sizeof spec);
    ot_data_options options = {.limit = 8};
    ot_dataset *d;
    if (ot_dataset_load(spec, &options, &d) != OT_OK) fail_msg("%s", ot_last_error());
    int feeds[2] = {ot_model_find_value(m, "input_ids"), ot_model_find_value(m, "attention_mask")};
    ot_tensor shapes[2] = {{.dtype = OT_INT64, .ndim = 2, .dims = {8, d->sample_size}},
                           {.dtype = OT_INT64, .ndim = 2, .dims = {8, d->sample_size}}};
    int n_feeds = feeds[1] >= 0 ? 2 : 1;
    ot_plan_options plan_options = {.context = ts_context()};
    ot_plan *plan;
    if (ot_plan_create(m, &plan_options, n_feeds, feeds, shapes, &plan) != OT_OK)
        fail_msg("%s op%d: %s", model, opset, ot_last_error());
    ot_plan_value(plan, feeds[0])->data = d->x;
    if (n_feeds == 2) ot_plan_value(plan, feeds[1])->data = d->arrays[0].data;
    if (ot_plan_forward(plan) != OT_OK) fail_msg("%s op%d: %s", model, opset, ot_last_error());
    snprintf(path, sizeof path, "sequence/%s_op%d_expected.npz", model, opset);
    ot_weights expected;
    if (ot_weights_load(NULL, ts_fixture(path), &expected) != OT_OK) fail_msg("%s", ot_last_error());
    const ot_tensor *want = NULL;
    for (int i = 0; i < expected.count; i++)
        if (!strcmp(expected.items[i].name, "ort_logits")) want = &expected.items[i].tensor;
    assert_non_null(want);
    const ot_tensor *got = ot_plan_value(plan, m->outputs[0]);
    assert_int_equal(ot_tensor_numel(got), ot_tensor_numel(want));
    double worst = 0;
    for (int64_t k = 0; k < ot_tensor_numel(want); k++) {
        double err = fabs((double)((float *)got->data)[k] - ((float *)want->data)[k]);
        worst = fmax(worst, err);
        if (err > 1e-4) fail_msg("%s op%d: logits[%lld] = %.7g, ONNX Runtime %.7g", model, opset, (long long)k,
                                 ((float *)got->data)[k], ((float *)want->data)[k]);
    }
    print_message("%s op%d: largest difference from ONNX Runtime %.2e\n", model, opset, worst);
    ot_weights_free(&expected);
    ot_plan_free(plan);
    ot_dataset_free(d);
    ot_model_free(m);
}

typedef struct train_case {
    const char *model, *name;
    ot_optimizer_kind kind;
    float lr;
    int64_t warmup, accumulate;
    double smoothing;
} train_case;

/* Adam divides a gradient by its magnitude (+ eps 1e-8): where PyTorch's |gradient| fell
 * below 1e-6 in some step (the attention key bias, whose exact gradient is 0; a few weights
 * the data leaves unused) the update follows rounding noise, and two implementations can only
 * agree to within Adam's step bound, 2 lr per step. The fixtures record that minimum
 * (gradmin/<case>/<name>); every other entry is compared to 1e-4 relative. */
static const ot_tensor *find_tensor(const ot_weights *w, const char *prefix, const char *name) {
    char key[512];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    for (int i = 0; i < w->count; i++)
        if (!strcmp(w->items[i].name, key)) return &w->items[i].tensor;
    return NULL;
}

static void trains_like_pytorch(const train_case *tc, int opset) {
    ot_model *m = load_model(tc->model, opset);
    char spec[4096], path[256];
    data_spec(tc->model, spec, sizeof spec);
    /* 3 steps of batch 4 x accumulate from the first samples, in order. */
    int64_t accumulate = tc->accumulate ? tc->accumulate : 1;
    ot_data_options options = {.limit = 3 * 4 * accumulate};
    ot_dataset *d;
    if (ot_dataset_load(spec, &options, &d) != OT_OK) fail_msg("%s", ot_last_error());
    ot_train_config config;
    ot_train_config_defaults(&config);
    ot_optimizer_defaults(tc->kind, &config.optimizer);
    config.optimizer.lr = tc->lr;
    config.epochs = 1;
    config.batch = 4;
    config.accumulate = accumulate;
    config.shuffle = 0;
    config.schedule.warmup = tc->warmup;
    config.loss.label_smoothing = tc->smoothing;
    config.input_name = "input_ids";
    config.context = ts_context();
    ot_train_result result;
    if (ot_train(m, &config, d, NULL, &result) != OT_OK)
        fail_msg("%s %s op%d: %s", tc->model, tc->name, opset, ot_last_error());

    snprintf(path, sizeof path, "sequence/%s_train_%s.npz", tc->model, tc->name);
    ot_weights expected;
    if (ot_weights_load(NULL, ts_fixture(path), &expected) != OT_OK) fail_msg("%s", ot_last_error());
    char prefix[64], gradmin_prefix[80];
    snprintf(prefix, sizeof prefix, "%s/", tc->name);
    snprintf(gradmin_prefix, sizeof gradmin_prefix, "gradmin/%s/", tc->name);
    double worst = 0;
    int compared = 0;
    int64_t noisy = 0, entries = 0;
    for (int i = 0; i < expected.count; i++) {
        const char *name = expected.items[i].name;
        if (strncmp(name, prefix, strlen(prefix))) continue;
        name += strlen(prefix);
        int v = ot_model_find_value(m, name);
        if (v < 0) fail_msg("%s: the model has no tensor '%s'", tc->model, name);
        const ot_tensor *got = &m->values[v].tensor, *want = &expected.items[i].tensor;
        int64_t numel = ot_tensor_numel(want);
        assert_int_equal(ot_tensor_numel(got), numel);
        const ot_tensor *gradmin = tc->kind == OT_OPTIMIZER_ADAMW ? find_tensor(&expected, gradmin_prefix, name) : NULL;
        if (tc->kind == OT_OPTIMIZER_ADAMW && !gradmin) fail_msg("%s: no gradmin for %s", tc->name, name);
        for (int64_t k = 0; k < numel; k++) {
            double a = ((float *)got->data)[k], b = ((float *)want->data)[k];
            double err = fabs(a - b), allowed = 1e-4 * fabs(b) + 1e-6;
            entries++;
            if (gradmin && ((float *)gradmin->data)[k] < 1e-6f) {
                allowed = 2.0 * tc->lr * 3;
                noisy++;
            } else {
                worst = fmax(worst, err / allowed);
            }
            if (err > allowed)
                fail_msg("%s %s op%d: %s[%lld] = %.7g, PyTorch %.7g", tc->model, tc->name, opset, name,
                         (long long)k, a, b);
        }
        compared++;
    }
    assert_true(compared > 0);
    print_message("%s %s op%d: %d tensors, largest difference %.2f of the tolerance 1e-4 |w| + 1e-6 (%lld of %lld "
                  "entries with |gradient| < 1e-6 compared to Adam's step bound)\n", tc->model, tc->name, opset, compared,
                  worst, (long long)noisy, (long long)entries);
    ot_weights_free(&expected);
    ot_dataset_free(d);
    ot_model_free(m);
}

/* The trained values of m's unfrozen float initializers, concatenated (caller frees). */
static float *trained_values(const ot_model *m, int64_t *count) {
    int64_t n = 0;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER && !m->values[v].frozen && m->values[v].tensor.dtype == OT_FLOAT)
            n += ot_tensor_numel(&m->values[v].tensor);
    float *out = ts_malloc(sizeof(float) * (size_t)(n + 1));
    n = 0;
    for (int v = 0; v < m->n_values; v++) {
        const ot_tensor *t = &m->values[v].tensor;
        if (m->values[v].kind != OT_VALUE_INITIALIZER || m->values[v].frozen || t->dtype != OT_FLOAT) continue;
        memcpy(out + n, t->data, sizeof(float) * (size_t)ot_tensor_numel(t));
        n += ot_tensor_numel(t);
    }
    *count = n;
    return out;
}

/* Frozen embeddings and first encoder layer, their outputs (and the mask's) cached on disk:
 * the trained second layer and head come out as without the cache, on the first run (which
 * builds the cache) and on the second (which reads it). */
static void frozen_encoder_with_cache(void **state) {
    (void)state;
    const ot_freeze_rule rules[] = {{OT_FREEZE, "tok.*"}, {OT_FREEZE, "pos.*"}, {OT_FREEZE, "encoder.layers.0.*"}};
    char spec[4096], dir[4096];
    data_spec("bert", spec, sizeof spec);
    snprintf(dir, sizeof dir, "%s/cache", ts_temp_dir());
    float *runs[3];
    int64_t counts[3];
    for (int run = 0; run < 3; run++) {
        ot_model *m = load_model("bert", 17);
        if (ot_transfer_freeze(m, 3, rules) != OT_OK) fail_msg("%s", ot_last_error());
        ot_dataset *d;
        if (ot_dataset_load(spec, NULL, &d) != OT_OK) fail_msg("%s", ot_last_error());
        ot_train_config config;
        ot_train_config_defaults(&config);
        ot_optimizer_defaults(OT_OPTIMIZER_ADAMW, &config.optimizer);
        config.epochs = 2;
        config.batch = 8;
        config.input_name = "input_ids";
        config.context = ts_context();
        config.cache_dir = run == 0 ? NULL : dir;
        ot_train_result result;
        if (ot_train(m, &config, d, NULL, &result) != OT_OK) fail_msg("run %d: %s", run, ot_last_error());
        runs[run] = trained_values(m, &counts[run]);
        ot_dataset_free(d);
        ot_model_free(m);
    }
    assert_true(counts[0] > 0);
    for (int run = 1; run < 3; run++) {
        assert_int_equal(counts[run], counts[0]);
        for (int64_t i = 0; i < counts[0]; i++)
            if (fabsf(runs[run][i] - runs[0][i]) > 1e-5f)
                fail_msg("run %d (cache): trained value %lld is %.7g, without the cache %.7g", run, (long long)i,
                         runs[run][i], runs[0][i]);
    }
    for (int run = 0; run < 3; run++) free(runs[run]);
}

static const train_case cases[] = {
    {"bert", "sgd", OT_OPTIMIZER_SGD, 0.1f, 0, 1, 0},
    {"bert", "adamw", OT_OPTIMIZER_ADAMW, 1e-3f, 0, 1, 0},
    {"bert", "sgd_warmup", OT_OPTIMIZER_SGD, 0.1f, 2, 1, 0},
    {"bert", "sgd_smooth", OT_OPTIMIZER_SGD, 0.1f, 0, 1, 0.1},
    {"gpt", "sgd", OT_OPTIMIZER_SGD, 0.1f, 0, 1, 0},
    {"gpt", "adamw", OT_OPTIMIZER_ADAMW, 1e-3f, 0, 1, 0},
    {"gpt", "adamw_accum", OT_OPTIMIZER_ADAMW, 1e-3f, 0, 2, 0},
    {"lstm", "sgd", OT_OPTIMIZER_SGD, 0.1f, 0, 1, 0},
    {"lstm", "adamw", OT_OPTIMIZER_ADAMW, 1e-3f, 0, 1, 0},
    {"lstm", "sgd_warmup", OT_OPTIMIZER_SGD, 0.1f, 2, 1, 0},
    {"gru", "sgd", OT_OPTIMIZER_SGD, 0.1f, 0, 1, 0},
    {"gru", "adamw", OT_OPTIMIZER_ADAMW, 1e-3f, 0, 1, 0},
    {"gru", "adamw_accum", OT_OPTIMIZER_ADAMW, 1e-3f, 0, 2, 0},
};

/* The opsets each model was exported at (gpt needs Trilu: 14 and up). */
static int opsets_of(const char *model, int *opsets) {
    if (!strcmp(model, "gpt")) {
        opsets[0] = 14;
        opsets[1] = 17;
        return 2;
    }
    opsets[0] = 13;
    opsets[1] = 14;
    opsets[2] = 17;
    return 3;
}

static const char *const models[] = {"bert", "gpt", "lstm", "gru"};

static void forward_case(void **state) {
    const char *model = *state;
    int opsets[3], n = opsets_of(model, opsets);
    for (int i = 0; i < n; i++) runs_like_onnxruntime(model, opsets[i]);
}

/* Every case at the model's last opset; SGD at every opset (the opsets' graphs differ:
 * LayerNormalization at 17, its decomposition before). */
static void train_case_run(void **state) {
    const train_case *tc = *state;
    int opsets[3], n = opsets_of(tc->model, opsets);
    for (int i = 0; i < n; i++)
        if (i == n - 1 || !strcmp(tc->name, "sgd")) trains_like_pytorch(tc, opsets[i]);
}

int main(void) {
    enum { N_MODELS = sizeof models / sizeof models[0], N_CASES = sizeof cases / sizeof cases[0] };
    struct CMUnitTest tests[N_MODELS + N_CASES + 1];
    static char names[N_MODELS + N_CASES][64];
    for (int i = 0; i < N_MODELS; i++) {
        tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(forward_case, (void *)models[i]);
        snprintf(names[i], sizeof names[i], "%s_runs_like_onnxruntime", models[i]);
        tests[i].name = names[i];
    }
    for (int i = 0; i < N_CASES; i++) {
        tests[N_MODELS + i] = (struct CMUnitTest)cmocka_unit_test_prestate(train_case_run, (void *)&cases[i]);
        snprintf(names[N_MODELS + i], sizeof names[0], "%s_%s_trains_like_pytorch", cases[i].model, cases[i].name);
        tests[N_MODELS + i].name = names[N_MODELS + i];
    }
    tests[N_MODELS + N_CASES] = (struct CMUnitTest)cmocka_unit_test(frozen_encoder_with_cache);
    ts_select_cases();
    return _cmocka_run_group_tests("sequence_models", tests, N_MODELS + N_CASES + 1, NULL, NULL);
}
