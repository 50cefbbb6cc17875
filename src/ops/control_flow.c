/* If, Loop and Scan: rows that parse and check the subgraph attributes. The plan runs them
 * (src/exec/control*.c), since running a subgraph means planning it: these rows have no infer
 * or forward. Every input is data (a branch may read any value of the enclosing graph). */
#include "control_flow.h"

/* The GRAPH attribute `name`, or NULL (and an error naming the node) when absent. */
static const ot_model *graph_attr(const ot_layer *l, const char *name) {
    const ot_attr *a = ot_layer_find_attr(l, name);
    if (a && a->type == OT_ATTR_GRAPH && a->g) return a->g;
    oti_node_fail(l, OT_ERR_INVALID, "has no graph attribute '%s'", name);
    return NULL;
}

static int explicit_inputs(const ot_layer *l) { return l->n_inputs - l->n_implicit_inputs; }

static ot_status parse_if(const ot_layer *l, void *out) {
    ot_control_params *p = out;
    p->kind = OT_CONTROL_IF;
    if (!(p->branches[1] = graph_attr(l, "then_branch")) || !(p->branches[0] = graph_attr(l, "else_branch")))
        return OT_ERR_INVALID;
    if (explicit_inputs(l) != 1) return oti_node_fail(l, OT_ERR_INVALID, "has %d inputs; If takes the condition only", explicit_inputs(l));
    for (int b = 0; b < 2; b++)
        if (p->branches[b]->n_outputs != l->n_outputs || p->branches[b]->n_inputs != 0)
            return oti_node_fail(l, OT_ERR_INVALID, "%s branch has %d inputs and %d outputs; it needs none "
                                 "and %d (one per node output)", b ? "then" : "else",
                                 p->branches[b]->n_inputs, p->branches[b]->n_outputs, l->n_outputs);
    return OT_OK;
}

/* Loop(M, cond, v_initial...) -> (v_final..., scan outputs...); body(iteration, cond, v...) ->
 * (cond, v..., scan slices...). */
static ot_status parse_loop(const ot_layer *l, void *out) {
    ot_control_params *p = out;
    p->kind = OT_CONTROL_LOOP;
    if (!(p->body = graph_attr(l, "body"))) return OT_ERR_INVALID;
    int n_in = explicit_inputs(l);
    p->n_states = n_in - 2;
    p->n_scan_outputs = l->n_outputs - p->n_states;
    if (n_in < 2 || p->n_scan_outputs < 0 || p->body->n_inputs != n_in ||
        p->body->n_outputs != 1 + l->n_outputs)
        return oti_node_fail(l, OT_ERR_INVALID, "has %d inputs and %d outputs, its body %d inputs and %d "
                             "outputs; a Loop with N loop-carried values and K scan outputs has 2+N, N+K, "
                             "2+N and 1+N+K", n_in, l->n_outputs, p->body->n_inputs, p->body->n_outputs);
    return OT_OK;
}

/* An axis attribute list (scan_input_axes, ...): n entries, default 0 (or absent). */
static ot_status parse_axes(const ot_layer *l, const char *name, int n, int *out) {
    int64_t values[OT_SCAN_MAX];
    int count;
    OT_TRY(oti_attr_get_ints(l, name, values, OT_SCAN_MAX, &count));
    if (count >= 0 && count != n)
        return oti_node_fail(l, OT_ERR_INVALID, "'%s' has %d entries for %d scan tensors", name, count, n);
    for (int i = 0; i < n; i++) out[i] = count < 0 ? 0 : (int)values[i];
    return OT_OK;
}

/* Scan(states..., scan inputs...) -> (final states..., scan outputs...); opset 8 starts with
 * sequence_lens and has a batch dim; directions 1 scan from the end. */
static ot_status parse_scan(const ot_layer *l, void *out) {
    ot_control_params *p = out;
    p->kind = OT_CONTROL_SCAN;
    if (!(p->body = graph_attr(l, "body"))) return OT_ERR_INVALID;
    int64_t m;
    OT_TRY(oti_attr_get_int(l, "num_scan_inputs", -1, &m));
    p->batched = l->opset < 9;
    p->first_state = p->batched;
    int n_in = explicit_inputs(l) - p->first_state;
    if (m < 1 || m > n_in || m > OT_SCAN_MAX)
        return oti_node_fail(l, OT_ERR_INVALID, "num_scan_inputs %lld does not fit its %d inputs (at most %d)",
                             (long long)m, n_in, OT_SCAN_MAX);
    p->n_scan_inputs = (int)m;
    p->n_states = n_in - p->n_scan_inputs;
    p->n_scan_outputs = l->n_outputs - p->n_states;
    if (p->n_scan_outputs < 0 || p->n_scan_outputs > OT_SCAN_MAX || p->body->n_inputs != n_in ||
        p->body->n_outputs != l->n_outputs)
        return oti_node_fail(l, OT_ERR_INVALID, "its body has %d inputs and %d outputs; the node's %d states "
                             "and %d scan inputs need %d and %d", p->body->n_inputs, p->body->n_outputs,
                             p->n_states, p->n_scan_inputs, n_in, l->n_outputs);
    if (p->batched && explicit_inputs(l) > 0 && l->inputs[0] >= 0)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "sequence_lens is not supported (every sequence is full length)");
    const char *directions = p->batched ? "directions" : "scan_input_directions";
    OT_TRY(parse_axes(l, directions, p->n_scan_inputs, p->input_reverse));
    if (p->batched) return OT_OK;
    OT_TRY(parse_axes(l, "scan_input_axes", p->n_scan_inputs, p->input_axes));
    OT_TRY(parse_axes(l, "scan_output_axes", p->n_scan_outputs, p->output_axes));
    return parse_axes(l, "scan_output_directions", p->n_scan_outputs, p->output_reverse);
}

#define CONTROL_ROW(op_name, since, parser)                                                    \
    {.name = op_name, .since_version = since, .params_size = sizeof(ot_control_params),        \
     .parse = parser, .flags = OT_OP_CONTROL_FLOW}

/* Later opsets add sequence and optional types (If 13/16, Loop 13/16, Scan 16): the same
 * rows serve their tensor-only uses. */
const ot_op oti_ops_control_flow[] = {
    CONTROL_ROW("If", 1, parse_if),
    CONTROL_ROW("Loop", 1, parse_loop),
    CONTROL_ROW("Scan", 8, parse_scan),
};
const ot_op_family oti_family_control_flow = {oti_ops_control_flow,
                                              (int)(sizeof oti_ops_control_flow / sizeof oti_ops_control_flow[0])};
