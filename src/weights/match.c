/* Matches named source tensors to an ONNX model's initializers, in passes that each see only
 * what earlier passes left: --map lines, exact names, normalised names, Keras layer + role,
 * then order and shape. Pairs chosen by name that cannot be reconciled are conflicts: neither
 * side is reused by later passes, so a wrong model fails loudly instead of being filled
 * with shuffled weights. Nothing in the model changes until every pair has been checked. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "ops/op.h"
#include "match_internal.h"
#include "core/file_io.h"
#include "onnxtrain/graph.h"

typedef struct matcher {
    ot_model *m;
    const ot_weights *w;
    const char *source_path;
    match_target *targets;
    int n_targets;
    int *target_of_value;  /* value -> target index, -1 */
    int *source_taken;     /* per source: 1 if matched or in a conflict */
    ot_tensor *converted;  /* per target: the tensor to install */
    char **layer_keys;     /* per layer: '\n'-separated normalised names */
    ot_match_report *report;
    int out_of_memory;     /* sticky: set by any failed allocation, checked between passes */
} matcher;

/* Records a failed allocation (p NULL); returns whether p is usable. */
static int allocated(matcher *mt, const void *p) {
    if (!p) mt->out_of_memory = 1;
    return p != NULL;
}

static void report_add(matcher *mt, ot_match_entry **list, int *count, const char *source,
                       const char *target, ot_match_how how, const char *transform,
                       const char *detail) {
    if (oti_match_report_add(list, count, source, target, how, transform, detail) != OT_OK)
        mt->out_of_memory = 1;
}

/* The op row of a layer, resolved or not (models loaded structure-only keep their layers
 * unresolved); NULL for ops the table does not know. */
static const ot_op *op_of(const ot_model *m, const ot_layer *l) {
    return l->op ? l->op : oti_op_lookup(l->domain, l->op_type, (int)ot_model_opset(m, l->domain), NULL);
}

/* A layer that adds a bias to what another computes (Add): biases, no kernel of its own. */
static int adds_bias(const ot_op *op) {
    if (!op) return 0;
    int bias = 0;
    for (int k = 0; k < OT_OP_DESCRIBED_INPUTS; k++) {
        if (op->inputs[k] == OT_ROLE_KERNEL) return 0;
        bias |= op->inputs[k] == OT_ROLE_BIAS;
    }
    return bias;
}

/* The layer producing value v multiplies by an (in, out) kernel (MatMul: a Dense layer's
 * first half). */
static int produced_by_dense_kernel(const ot_model *m, int v) {
    int p = v >= 0 ? m->values[v].producer : -1;
    const ot_op *op = p >= 0 ? op_of(m, &m->layers[p]) : NULL;
    return op && op->kernel_layout == OT_KERNEL_IN_OUT;
}

/* What input slot k of layer l is, in Keras' words, and how a kernel there is laid out: the
 * op table says. An initializer added to a layer's output is a bias only next to a MatMul. */
static void role_of_slot(const ot_model *m, const ot_layer *l, int slot, match_target *t) {
    const ot_op *op = op_of(m, l);
    ot_input_role role = oti_op_input_role(op, slot);
    t->role = oti_role_keras_name(role);
    t->layout = role == OT_ROLE_KERNEL ? op->kernel_layout : OT_KERNEL_NONE;
    if (t->layout == OT_KERNEL_GEMM_B) {
        const ot_attr *a = ot_layer_find_attr(l, "transB");
        t->trans_b = a && a->type == OT_ATTR_INT && a->i != 0;
    }
    if (adds_bias(op)) {
        int other = l->n_inputs == 2 ? l->inputs[1 - slot] : -1;
        if (!produced_by_dense_kernel(m, other)) t->role = NULL;
    }
}

/* Parameters to fill: what training would update (ot_graph_is_parameter), plus running
 * statistics (BatchNormalization's). A layer the op table does not know (yet) is
 * judged by the role of the slot that reads the value (`role_known`). */
static int should_fill(const ot_model *m, int value, int unresolved_with_role) {
    const ot_value *v = &m->values[value];
    if (v->kind != OT_VALUE_INITIALIZER || v->tensor.dtype != OT_FLOAT || v->tensor.ndim == 0)
        return 0;
    if (ot_graph_is_parameter(m, value) || unresolved_with_role) return 1;
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++) {
            ot_input_role role = oti_op_input_role(op_of(m, l), k);
            if (l->inputs[k] == value && (role == OT_ROLE_RUNNING_MEAN || role == OT_ROLE_RUNNING_VAR))
                return 1;
        }
    }
    return 0;
}

static void add_key(matcher *mt, char **keys, const char *name) {
    char *norm = oti_weights_normalize_name(name);
    if (allocated(mt, norm) && *norm) {
        char *joined = oti_asprintf("%s%s\n", *keys ? *keys : "\n", norm);
        if (allocated(mt, joined)) {
            free(*keys);
            *keys = joined;
        }
    }
    free(norm);
}

/* A layer answers to its node name, to the scope of a PyTorch-style node name
 * ("/features/0/Conv" -> "features/0"), and to the prefix of its weights' names
 * ("conv1.weight" -> "conv1"). */
static void build_layer_keys(matcher *mt) {
    ot_model *m = mt->m;
    mt->layer_keys = oti_calloc((size_t)m->n_layers + 1, sizeof(char *));
    if (!allocated(mt, mt->layer_keys)) return;
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        add_key(mt, &mt->layer_keys[i], l->name);
        const char *last = strrchr(l->name, '/');
        if (last && last != l->name) {
            char *scope = oti_strndup(l->name, (size_t)(last - l->name));
            if (allocated(mt, scope)) add_key(mt, &mt->layer_keys[i], scope);
            free(scope);
        }
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            if (v < 0 || m->values[v].kind != OT_VALUE_INITIALIZER) continue;
            const char *name = m->values[v].name;
            const char *cut = NULL;
            for (const char *p = name; *p; p++)
                if (*p == '.' || *p == '/') cut = p;
            if (cut && cut != name) {
                char *prefix = oti_strndup(name, (size_t)(cut - name));
                if (allocated(mt, prefix)) add_key(mt, &mt->layer_keys[i], prefix);
                free(prefix);
            }
        }
    }
    /* MatMul + Add(bias): the Add answers to the MatMul's names too. */
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        if (!adds_bias(op_of(m, l))) continue;
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            int p = v >= 0 ? m->values[v].producer : -1;
            if (produced_by_dense_kernel(m, v) && mt->layer_keys[p]) {
                char *joined = oti_asprintf("%s%s", mt->layer_keys[i] ? mt->layer_keys[i] : "\n",
                                            mt->layer_keys[p] + 1);
                if (!allocated(mt, joined)) continue;
                free(mt->layer_keys[i]);
                mt->layer_keys[i] = joined;
            }
        }
    }
}

static int layer_answers_to(matcher *mt, int layer, const char *keras_layer) {
    if (layer < 0 || !mt->layer_keys[layer]) return 0;
    char *norm = oti_weights_normalize_name(keras_layer);
    char *needle = norm ? oti_asprintf("\n%s\n", norm) : NULL;
    int found = allocated(mt, needle) && strstr(mt->layer_keys[layer], needle) != NULL;
    free(needle);
    free(norm);
    return found;
}

/* Every initializer, ordered by first use (layer order, then input order). */
static void build_targets(matcher *mt) {
    ot_model *m = mt->m;
    mt->targets = oti_calloc((size_t)m->n_values + 1, sizeof(match_target));
    mt->target_of_value = oti_malloc(sizeof(int) * ((size_t)m->n_values + 1));
    mt->converted = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    if (!allocated(mt, mt->targets) || !allocated(mt, mt->target_of_value) ||
        !allocated(mt, mt->converted))
        return;
    for (int v = 0; v < m->n_values; v++) mt->target_of_value[v] = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < (pass == 0 ? m->n_layers : 1); i++) {
            const ot_layer *l = pass == 0 ? &m->layers[i] : NULL;
            int n = pass == 0 ? l->n_inputs : m->n_values;
            for (int k = 0; k < n; k++) {
                int v = pass == 0 ? l->inputs[k] : k;
                if (v < 0 || m->values[v].kind != OT_VALUE_INITIALIZER || mt->target_of_value[v] >= 0)
                    continue;
                match_target *t = &mt->targets[mt->n_targets];
                t->value = v;
                t->layer = pass == 0 ? i : -1;
                if (l) role_of_slot(m, l, k, t);
                t->is_param = should_fill(m, v, l && !l->op && t->role);
                mt->target_of_value[v] = mt->n_targets++;
            }
        }
    }
}

static void shape_text(const ot_tensor *t, char *buf, size_t size) {
    char shape[128];
    snprintf(buf, size, "%s %s", ot_shape_string(t->ndim, t->dims, shape, sizeof shape),
             ot_dtype_name(t->dtype));
}

/* Tries source -> target. A pair chosen by name that does not fit is recorded as a conflict
 * (and both sides are set aside) when `conflict_if_unfit`; order matching just moves on. */
static int try_pair(matcher *mt, int source, int target, ot_match_how how, int conflict_if_unfit) {
    match_target *t = &mt->targets[target];
    const ot_named_tensor *s = &mt->w->items[source];
    const ot_value *v = &mt->m->values[t->value];
    const char *transform;
    char why[512];
    int fits = oti_match_convert(s, t, &v->tensor, &mt->converted[target], &transform, why, sizeof why);
    if (fits < 0) {
        mt->out_of_memory = 1;
        return 0;
    }
    if (!fits) {
        if (conflict_if_unfit) {
            report_add(mt, &mt->report->conflicts, &mt->report->n_conflicts, s->name, v->name,
                       how, NULL, why);
            t->taken = 1;
            mt->source_taken[source] = 1;
        }
        return 0;
    }
    char detail[300], from[140], to[140];
    shape_text(&s->tensor, from, sizeof from);
    shape_text(&v->tensor, to, sizeof to);
    if (!strcmp(from, to)) snprintf(detail, sizeof detail, "%s", to);
    else snprintf(detail, sizeof detail, "%s -> %s", from, to);
    report_add(mt, &mt->report->matched, &mt->report->n_matched, s->name, v->name, how,
               transform, detail);
    t->taken = 1;
    mt->source_taken[source] = 1;
    return 1;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* --map FILE: "source_name = onnx_name" per line; '#' starts a comment line. An explicit
 * pair that cannot be honoured is an error, not a report line. */
static ot_status apply_map(matcher *mt, const char *map_path) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_read_file(map_path, (size_t)64 << 20, &data, &size));
    if (memchr(data, 0, size)) {
        free(data);
        return oti_fail(OT_ERR_FORMAT, "%s: a NUL byte in a text file", map_path);
    }
    char *text = oti_strndup((const char *)data, size);
    free(data);
    OT_ALLOC_CHECK(text);
    ot_status status = OT_OK;
    int line_no = 0;
    for (char *line = text, *next; line && status == OT_OK; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            status = oti_fail(OT_ERR_INVALID, "%s:%d: expected 'source_name = onnx_name'", map_path, line_no);
            break;
        }
        *eq = 0;
        char *source = trim(s), *target = trim(eq + 1);
        int si = ot_weights_find(mt->w, source);
        int v = ot_model_find_value(mt->m, target);
        int ti = v >= 0 ? mt->target_of_value[v] : -1;
        if (si < 0)
            status = oti_fail(OT_ERR_INVALID, "%s:%d: tensor '%s' is not in %s", map_path, line_no,
                             source, mt->source_path);
        else if (ti < 0)
            status = oti_fail(OT_ERR_INVALID, "%s:%d: '%s' is not an initializer of the model",
                             map_path, line_no, target);
        else if (mt->source_taken[si] || mt->targets[ti].taken)
            status = oti_fail(OT_ERR_INVALID, "%s:%d: '%s' or '%s' is already mapped", map_path,
                             line_no, source, target);
        else if (!try_pair(mt, si, ti, OT_MATCH_MAP, 1) && !mt->out_of_memory)
            status = oti_fail(OT_ERR_INVALID, "%s:%d: tensor '%s' cannot fill '%s': %s", map_path,
                             line_no, source, target,
                             mt->report->conflicts[mt->report->n_conflicts - 1].detail);
        if (mt->out_of_memory) status = OT_ERR_MEMORY;
    }
    free(text);
    return status;
}

static void match_exact(matcher *mt) {
    for (int i = 0; i < mt->w->count; i++) {
        if (mt->source_taken[i]) continue;
        int v = ot_model_find_value(mt->m, mt->w->items[i].name);
        int ti = v >= 0 ? mt->target_of_value[v] : -1;
        if (ti >= 0 && !mt->targets[ti].taken) try_pair(mt, i, ti, OT_MATCH_EXACT, 1);
    }
}

/* Normalised names, only where the normalised name is unique on both sides. */
static void match_normalized(matcher *mt) {
    int ns = mt->w->count;
    char **src = oti_calloc((size_t)ns + 1, sizeof(char *));
    char **dst = oti_calloc((size_t)mt->n_targets + 1, sizeof(char *));
    for (int i = 0; i < ns && allocated(mt, src) && allocated(mt, dst); i++)
        if (!mt->source_taken[i]) allocated(mt, src[i] = oti_weights_normalize_name(mt->w->items[i].name));
    for (int t = 0; t < mt->n_targets && src && dst; t++)
        if (!mt->targets[t].taken && mt->targets[t].is_param)
            allocated(mt, dst[t] = oti_weights_normalize_name(mt->m->values[mt->targets[t].value].name));
    for (int i = 0; i < ns && !mt->out_of_memory; i++) {
        if (!src[i] || !*src[i]) continue;
        int found = -1, count = 0, twins = 0;
        for (int t = 0; t < mt->n_targets; t++)
            if (dst[t] && !strcmp(dst[t], src[i])) found = t, count++;
        for (int j = 0; j < ns; j++) twins += src[j] && !strcmp(src[j], src[i]);
        if (count == 1 && twins == 1) try_pair(mt, i, found, OT_MATCH_NORMALIZED, 1);
    }
    for (int i = 0; i < ns && src; i++) free(src[i]);
    for (int t = 0; t < mt->n_targets && dst; t++) free(dst[t]);
    free(src);
    free(dst);
}

static int same_role(const char *source_role, const char *target_role) {
    if (!source_role || !target_role) return 0;
    if (!strcmp(source_role, target_role)) return 1;
    return !strcmp(source_role, "depthwise_kernel") && !strcmp(target_role, "kernel");
}

/* Keras: the ONNX layer of the same name, the slot of the same role. */
static void match_layers(matcher *mt) {
    for (int i = 0; i < mt->w->count; i++) {
        const ot_named_tensor *s = &mt->w->items[i];
        if (mt->source_taken[i] || !s->layer || !s->role) continue;
        int found = -1, count = 0;
        for (int t = 0; t < mt->n_targets; t++) {
            const match_target *tg = &mt->targets[t];
            if (tg->taken || !tg->is_param || !same_role(s->role, tg->role)) continue;
            if (layer_answers_to(mt, tg->layer, s->layer)) found = t, count++;
        }
        if (count == 1) try_pair(mt, i, found, OT_MATCH_LAYER, 1);
    }
}

/* What is left: each parameter, in model order, takes the next unused source that fits. */
static void match_order(matcher *mt) {
    int next = 0;
    for (int t = 0; t < mt->n_targets; t++) {
        if (mt->targets[t].taken || !mt->targets[t].is_param) continue;
        for (int i = next; i < mt->w->count; i++) {
            if (mt->source_taken[i]) continue;
            if (try_pair(mt, i, t, OT_MATCH_ORDER, 0)) {
                next = i + 1; /* keep the file's order: never go back */
                break;
            }
        }
    }
}

static void finish_report(matcher *mt) {
    ot_match_report *r = mt->report;
    char detail[300];
    for (int i = 0; i < mt->w->count; i++) {
        if (mt->source_taken[i]) continue;
        shape_text(&mt->w->items[i].tensor, detail, sizeof detail);
        report_add(mt, &r->unmatched_sources, &r->n_unmatched_sources, mt->w->items[i].name,
                   NULL, OT_MATCH_NONE, NULL, detail);
    }
    for (int t = 0; t < mt->n_targets; t++) {
        const match_target *tg = &mt->targets[t];
        if (!tg->is_param) continue;
        r->n_params++;
        if (mt->converted[t].data) {
            r->n_filled++;
            continue;
        }
        const ot_value *v = &mt->m->values[tg->value];
        shape_text(&v->tensor, detail, sizeof detail);
        report_add(mt, &r->unfilled, &r->n_unfilled, NULL, v->name, OT_MATCH_NONE, NULL, detail);
    }
}

static ot_status strict_failure(const matcher *mt) {
    const ot_match_report *r = mt->report;
    char list[512] = "";
    for (int i = 0; i < r->n_unfilled && strlen(list) < 400; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, r->unfilled[i].target, sizeof list - strlen(list) - 1);
    }
    return oti_fail(OT_ERR_INVALID, "%s: strict: %d of %d ONNX parameters were not filled "
                   "(%s%s); nothing was written", mt->source_path, r->n_unfilled, r->n_params,
                   list, r->n_unfilled > 0 && strlen(list) >= 400 ? ", ..." : "");
}

ot_status ot_weights_apply(ot_model *m, const ot_weights *w, const char *source_path,
                           const ot_match_options *options, ot_match_report *report) {
    memset(report, 0, sizeof *report);
    report->source_path = oti_strdup(source_path);
    OT_ALLOC_CHECK_COPY(report->source_path, source_path);
    report->n_sources = w->count;
    matcher mt = {.m = m, .w = w, .source_path = source_path, .report = report};
    mt.source_taken = oti_calloc((size_t)w->count + 1, sizeof(int));
    if (allocated(&mt, mt.source_taken)) build_targets(&mt);
    if (!mt.out_of_memory) build_layer_keys(&mt);
    ot_status status = OT_OK;
    if (!mt.out_of_memory && options && options->map_path) status = apply_map(&mt, options->map_path);
    /* Each pass reads what the earlier ones built: stop at the first failed allocation. */
    void (*const passes[])(matcher *) = {match_exact, match_normalized, match_layers, match_order,
                                         finish_report};
    for (int p = 0; p < OT_COUNT(passes) && status == OT_OK && !mt.out_of_memory; p++) passes[p](&mt);
    if (status == OT_OK && mt.out_of_memory) status = OT_ERR_MEMORY;
    if (status == OT_OK && options && options->strict && report->n_unfilled > 0)
        status = strict_failure(&mt);
    /* Install only when everything succeeded: a failure leaves the model as it was. */
    for (int t = 0; t < mt.n_targets && mt.converted; t++) {
        ot_tensor *c = &mt.converted[t];
        if (status == OT_OK && c->data) {
            ot_tensor *dst = &m->values[mt.targets[t].value].tensor;
            ot_tensor_free(dst);
            *dst = *c;
        } else {
            ot_tensor_free(c);
        }
    }
    for (int i = 0; i < m->n_layers && mt.layer_keys; i++) free(mt.layer_keys[i]);
    free(mt.layer_keys);
    free(mt.converted);
    free(mt.targets);
    free(mt.target_of_value);
    free(mt.source_taken);
    return status;
}
