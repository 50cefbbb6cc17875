/* Helpers for the training tests (train_support.h). */
#include "train_support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "onnxtrain/builder.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/transfer.h"

#define DEMO_MODEL OT_FIXTURES "/../../models/fashion5.onnx"

static void on_message(void *user, const char *message) {
    messages *m = user;
    if (m->count < 16) snprintf(m->text[m->count++], sizeof m->text[0], "%s", message);
}

static void on_epoch(void *user, const ot_epoch_stats *s) {
    messages *m = user;
    if (!isnan(s->val_loss) && s->val_loss < m->best_val) m->best_val = s->val_loss;
}

int said(const messages *m, const char *words) {
    for (int i = 0; i < m->count; i++)
        if (strstr(m->text[i], words)) return 1;
    return 0;
}

ot_model *prepared_model_head(const char *cut, const char *upto, const char *head) {
    ot_model *m;
    if (ot_onnx_load(NULL, DEMO_MODEL, &m) != OT_OK) fail_msg("%s", ot_last_error());
    assert_int_equal(ot_transfer_cut(m, cut), OT_OK);
    ot_init_spec init;
    ot_builder_parse_init("auto", &init);
    ot_rng rng;
    ot_rng_seed(&rng, 3);
    if (ot_builder_append(NULL, m, head, m->values[m->outputs[0]].name, &init, &rng, "head_") != OT_OK)
        fail_msg("%s", ot_last_error());
    ot_freeze_rule rule = {OT_FREEZE_UPTO, upto};
    assert_int_equal(ot_transfer_freeze(m, 1, &rule), OT_OK);
    return m;
}

ot_model *prepared_model(const char *cut) { return prepared_model_head(cut, "flatten1", "dense:5"); }
ot_model *conv_cut_model(void) { return prepared_model_head("maxpool2", "maxpool2", "flatten,dense:5"); }

ot_dataset *data(int64_t limit, int test) {
    int64_t classes[5] = {5, 6, 7, 8, 9};
    ot_data_options o = {.limit = limit, .classes = classes, .n_classes = 5};
    ot_dataset *d;
    if (ot_dataset_load(test ? "fashion-mnist:test" : "fashion-mnist:train", &o, &d) != OT_OK)
        fail_msg("%s", ot_last_error());
    return d;
}

ot_train_config config_with(messages *log, const char *cache) {
    ot_train_config c;
    ot_train_config_defaults(&c);
    c.context = ts_context();
    c.epochs = 2;
    c.batch = 16;
    c.cache_dir = cache;
    c.callbacks = (ot_train_callbacks){.user = log, .on_message = on_message, .on_epoch = on_epoch};
    return c;
}

float *snapshot(const ot_model *m, int64_t *n) {
    *n = 0;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT)
            *n += ot_tensor_numel(&m->values[v].tensor);
    float *copy = ts_malloc(sizeof(float) * (size_t)(*n + 1)), *at = copy;
    for (int v = 0; v < m->n_values; v++) {
        const ot_tensor *t = &m->values[v].tensor;
        if (m->values[v].kind != OT_VALUE_INITIALIZER || t->dtype != OT_FLOAT) continue;
        memcpy(at, t->data, sizeof(float) * (size_t)ot_tensor_numel(t));
        at += ot_tensor_numel(t);
    }
    return copy;
}

const ot_tensor *tensor(const ot_model *m, const char *name) {
    int v = ot_model_find_value(m, name);
    if (v < 0) fail_msg("no tensor %s", name);
    return &m->values[v].tensor;
}

