/* Freezing and unfreezing layers and parameters by pattern, index range or "up to". */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/transfer.h"

/* Parses "A:B" into [begin, end) over n layers. */
static int parse_range(const char *text, int n, int *begin, int *end) {
    const char *colon = strchr(text, ':');
    if (!colon || strchr(colon + 1, ':')) return 0;
    int64_t a = 0, b = n;
    char left[32]; /* longer than any integer: then not a range */
    size_t left_len = (size_t)(colon - text);
    if (left_len >= sizeof left) return 0;
    memcpy(left, text, left_len);
    left[left_len] = '\0';
    int ok = (!*left || oti_parse_int64(left, &a)) && (!colon[1] || oti_parse_int64(colon + 1, &b));
    if (!ok) return 0;
    if (a < 0) a += n;
    if (b < 0) b += n;
    *begin = (int)OT_MAX(0, OT_MIN(a, n));
    *end = (int)OT_MAX(0, OT_MIN(b, n));
    return 1;
}

static void set_layer(ot_model *m, int i, int frozen) {
    ot_layer *l = &m->layers[i];
    l->frozen = frozen;
    for (int k = 0; k < l->n_inputs; k++)
        if (l->inputs[k] >= 0 && m->values[l->inputs[k]].kind == OT_VALUE_INITIALIZER)
            m->values[l->inputs[k]].frozen = frozen;
}

/* Marks layer i and every layer it depends on. */
static ot_status freeze_ancestors(ot_model *m, int target) {
    unsigned char *needed = oti_calloc((size_t)m->n_values + 1, 1);
    OT_ALLOC_CHECK(needed);
    for (int k = 0; k < m->layers[target].n_outputs; k++)
        if (m->layers[target].outputs[k] >= 0) needed[m->layers[target].outputs[k]] = 1;
    for (int i = target; i >= 0; i--) {
        const ot_layer *l = &m->layers[i];
        int produces = 0;
        for (int k = 0; k < l->n_outputs; k++) produces |= l->outputs[k] >= 0 && needed[l->outputs[k]];
        if (!produces) continue;
        set_layer(m, i, 1);
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0) needed[l->inputs[k]] = 1;
    }
    free(needed);
    return OT_OK;
}

static ot_status apply_rule(ot_model *m, const ot_freeze_rule *rule) {
    if (rule->action == OT_FREEZE_UPTO) {
        int i = ot_model_find_layer(m, rule->pattern);
        if (i < 0)
            return oti_fail(OT_ERR_INVALID, "no layer has the name, output name or index '%s'",
                           rule->pattern);
        return freeze_ancestors(m, i);
    }
    int frozen = rule->action == OT_FREEZE, matched = 0, begin, end;
    if (parse_range(rule->pattern, m->n_layers, &begin, &end)) {
        for (int i = begin; i < end; i++) set_layer(m, i, frozen);
        matched = end > begin;
    } else {
        for (int i = 0; i < m->n_layers; i++)
            if (oti_glob_match(rule->pattern, m->layers[i].name)) {
                set_layer(m, i, frozen);
                matched = 1;
            }
        for (int v = 0; v < m->n_values; v++)
            if (m->values[v].kind == OT_VALUE_INITIALIZER && oti_glob_match(rule->pattern, m->values[v].name)) {
                m->values[v].frozen = frozen;
                matched = 1;
            }
    }
    if (!matched)
        return oti_fail(OT_ERR_INVALID, "'%s' matches no layer name, parameter name or index range",
                       rule->pattern);
    return OT_OK;
}

int ot_transfer_layer_is_frozen(const ot_model *m, int i) {
    const ot_layer *l = &m->layers[i];
    int has_params = 0, all_frozen = 1;
    for (int k = 0; k < l->n_inputs; k++) {
        int v = l->inputs[k];
        if (v < 0 || !ot_graph_is_parameter(m, v)) continue;
        has_params = 1;
        all_frozen &= m->values[v].frozen;
    }
    return has_params ? all_frozen : l->frozen;
}

ot_status ot_transfer_freeze(ot_model *m, int n_rules, const ot_freeze_rule *rules) {
    for (int r = 0; r < n_rules; r++) OT_TRY(apply_rule(m, &rules[r]));
    /* A layer runs in inference mode exactly when it counts as frozen. */
    for (int i = 0; i < m->n_layers; i++) m->layers[i].frozen = ot_transfer_layer_is_frozen(m, i);
    return OT_OK;
}

ot_parameter_counts ot_transfer_parameter_counts(const ot_model *m) {
    ot_parameter_counts c = {0};
    for (int i = 0; i < m->n_layers; i++) {
        int64_t n = ot_graph_layer_parameter_count(m, &m->layers[i]);
        if (!n) continue;
        if (ot_transfer_layer_is_frozen(m, i)) c.frozen += n, c.frozen_layers++;
        else c.trained += n, c.trained_layers++;
    }
    return c;
}

int ot_transfer_unfreeze_top(ot_model *m, int count) {
    int done = 0;
    for (int i = m->n_layers - 1; i >= 0 && done < count; i--) {
        if (!m->layers[i].frozen || ot_graph_layer_parameter_count(m, &m->layers[i]) == 0) continue;
        set_layer(m, i, 0);
        done++;
    }
    /* Parameter-free layers between unfrozen ones follow their producers' state. */
    for (int i = 0; i < m->n_layers; i++) m->layers[i].frozen = ot_transfer_layer_is_frozen(m, i);
    return done;
}
