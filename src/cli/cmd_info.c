/* onnxtrain info MODEL.onnx [--json]: inputs, outputs, opset, producer, layer table. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_alloc.h"
#include "args.h"
#include "commands.h"
#include "model_load.h"
#include "freeze_flags.h"
#include "shape_flags.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/transfer.h"
#include "core/file_io.h"
#include "core/util.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "viz/model_graph.h"

static const cli_flag flags[] = {
    {"json", 0, NULL, "print JSON instead of a table"},
    {"graph", 0, "FILE", "also draw the layer graph (Graphviz) to FILE: .svg, .png or .dot; frozen layers grey and "
                         "dashed, a new head (head_*) green, the cut point red, name prefixes (layer3/) boxed"},
    {"batch", 0, "N", "size for unknown (symbolic) input dims when inferring shapes (default 1)"},
    CLI_SHAPE_FLAG,
    CLI_FREEZE_FLAGS,
    CLI_CAFFE_WEIGHTS_FLAG,
    CLI_MAX_MEMORY_FLAG,
};

static const cli_command command = {
    "info", "MODEL.onnx|NET.prototxt [--weights NET.caffemodel] [--json] [--graph model.svg]",
    "Shows the model's inputs and outputs (name, dtype, shape), opset, producer, and a table of\n"
    "layers (index, name, op, output shape, parameter count) with totals.",
    flags, OT_COUNT(flags), 1, 1, NULL};

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

/* Inferred shape; dims that change with the symbolic size print as "N". */
static void format_inferred(const ot_tensor *a, const ot_tensor *b, char *buf, size_t size) {
    if (a->dtype == OT_UNDEFINED) {
        snprintf(buf, size, "?");
        return;
    }
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < a->ndim && used < size; d++) {
        int varies = b && (b->ndim != a->ndim || b->dims[d] != a->dims[d]);
        if (varies) used += (size_t)snprintf(buf + used, size - used, "%sN", d ? "," : "");
        else used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? "," : "", (long long)a->dims[d]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* Shapes of every value with unknown input dims set to `size`; NULL-dtype on failure. */
static int infer_with(ot_model *m, int64_t size, ot_tensor *shapes) {
    ot_tensor feeds[64];
    int n = m->n_inputs < 64 ? m->n_inputs : 64;
    for (int k = 0; k < n; k++) {
        const ot_value *v = &m->values[m->inputs[k]];
        feeds[k] = v->tensor;
        feeds[k].data = NULL;
        if (!v->has_shape) return 0;
        for (int d = 0; d < v->tensor.ndim; d++)
            if (feeds[k].dims[d] < 0) feeds[k].dims[d] = size;
    }
    return ot_plan_infer_shapes(m, n, m->inputs, feeds, shapes) == OT_OK;
}

/* Which input dims past the batch are symbolic, and how to fix them. */
static void print_unknown_dims(const ot_model *m) {
    for (int k = 0; k < m->n_inputs; k++) {
        const ot_value *v = &m->values[m->inputs[k]];
        char dims[256] = "", example[256] = "";
        int unknown = 0;
        size_t at = 0, ex = (size_t)snprintf(example, sizeof example, "%s=", v->name);
        for (int d = 0; v->has_shape && d < v->tensor.ndim; d++) {
            int symbolic = v->tensor.dims[d] < 0;
            if (symbolic && d > 0 && at < sizeof dims) {
                at += (size_t)snprintf(dims + at, sizeof dims - at, "%s%d (%s)", unknown ? ", " : "", d,
                                       v->dim_names[d] ? v->dim_names[d] : "?");
                unknown++;
            }
            if (ex < sizeof example)
                ex += (size_t)snprintf(example + ex, sizeof example - ex, "%s%s", d ? "x" : "",
                                       symbolic ? (d ? "SIZE" : "1") : "");
            if (!symbolic && ex < sizeof example)
                ex += (size_t)snprintf(example + ex, sizeof example - ex, "%lld", (long long)v->tensor.dims[d]);
        }
        if (unknown)
            printf("input '%s' has unknown dims %s: fix them with --shape %s to see every shape\n", v->name, dims,
                   example);
    }
}

/* --graph FILE: the picture, titled with the model's file name (not its folder, which says
 * nothing about the model and would date the picture) and totals. */
static int write_graph(const cli_args *args, const ot_model *m, const char *const *shapes, int64_t params,
                       const char *path) {
    ot_parameter_counts counts = ot_transfer_parameter_counts(m);
    char *title = cli_xasprintf("%s: %d layers, %lld parameters (%lld frozen)", oti_path_base(args->positional[0]),
                                m->n_layers, (long long)params, (long long)counts.frozen);
    ot_status status = oti_model_graph_write(m, shapes, title, path);
    free(title);
    if (status != OT_OK) {
        oti_error_prefix("--graph: ");
        return cli_fail(args);
    }
    fprintf(stderr, "wrote %s\n", path);
    return 0;
}

int cmd_info(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    int64_t batch;
    ot_context *ctx = NULL;
    const char *graph = cli_get(&args, "graph");
    if (graph && !oti_model_graph_format(graph)) {
        cli_error(&args, "--graph %s: the graph's name should end in .svg, .png or .dot", graph);
        cli_free(&args);
        return 2;
    }
    if (!cli_get_int(&args, "batch", 1, 1, 1 << 20, &batch) || !cli_context_create(&args, &ctx)) {
        cli_free(&args);
        return 2;
    }
    ot_model *m = NULL;
    int rc = 0;
    if (!cli_load_model(&args, ctx, args.positional[0], &m, &rc)) {
    } else if (!cli_apply_shape_flags(&args, m, 0)) rc = 2; /* the error is printed */
    else if (cli_apply_freeze_flags(&args, m) != OT_OK) rc = cli_fail(&args);
    if (rc) {
        ot_model_free(m);
        ot_context_free(ctx);
        cli_free(&args);
        return rc;
    }
    ot_tensor *shapes = cli_xcalloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    ot_tensor *shapes2 = cli_xcalloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    int inferred = infer_with(m, batch, shapes);
    const char *infer_error = inferred ? NULL : cli_xstrdup(ot_last_error());
    int inferred2 = inferred && infer_with(m, batch + 1, shapes2);
    int json = cli_has(&args, "json");
    int64_t total_params = 0;
    char buf[256];
    char **shape_text = cli_xcalloc((size_t)m->n_layers + 1, sizeof(char *)); /* for --graph */

    if (json) {
        printf("{\"file\": ");
        json_string(args.positional[0]);
        printf(", \"producer\": ");
        json_string(m->producer_name ? m->producer_name : "");
        printf(", \"producer_version\": ");
        json_string(m->producer_version ? m->producer_version : "");
        printf(", \"ir_version\": %lld, \"opsets\": {", (long long)m->ir_version);
        for (int i = 0; i < m->n_opsets; i++) {
            printf("%s", i ? ", " : "");
            json_string(m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx");
            printf(": %lld", (long long)m->opsets[i].version);
        }
        printf("},\n");
        for (int io = 0; io < 2; io++) {
            printf(" \"%s\": [", io ? "outputs" : "inputs");
            int n = io ? m->n_outputs : m->n_inputs;
            for (int k = 0; k < n; k++) {
                const ot_value *v = &m->values[io ? m->outputs[k] : m->inputs[k]];
                printf("%s{\"name\": ", k ? ", " : "");
                json_string(v->name);
                printf(", \"dtype\": \"%s\", \"shape\": ", v->has_type ? ot_dtype_name(ot_tensor_declared(&v->tensor)) : "?");
                ot_value_shape_string(v, buf, sizeof buf);
                json_string(buf);
                printf("}");
            }
            printf("],\n");
        }
        printf(" \"layers\": [\n");
    } else {
        printf("model     %s\nproducer  %s %s\nir        %lld\nopset    ", args.positional[0],
               m->producer_name ? m->producer_name : "", m->producer_version ? m->producer_version : "",
               (long long)m->ir_version);
        for (int i = 0; i < m->n_opsets; i++)
            printf(" %s=%lld", m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx", (long long)m->opsets[i].version);
        printf("\n");
        for (int io = 0; io < 2; io++) {
            int n = io ? m->n_outputs : m->n_inputs;
            for (int k = 0; k < n; k++) {
                const ot_value *v = &m->values[io ? m->outputs[k] : m->inputs[k]];
                ot_value_shape_string(v, buf, sizeof buf);
                printf("%-9s %s  %s %s\n", io ? "output" : "input", v->name,
                       v->has_type ? ot_dtype_name(ot_tensor_declared(&v->tensor)) : "?", buf);
            }
        }
        if (!inferred) printf("(shapes not inferred: %s)\n", infer_error);
        print_unknown_dims(m);
        printf("\n%5s  %-32s %-20s %-20s %12s  %s\n", "index", "name", "op", "output shape", "parameters", "state");
    }
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        int64_t params = ot_graph_layer_parameter_count(m, l);
        total_params += params;
        int out = l->n_outputs > 0 ? l->outputs[0] : -1;
        if (inferred && out >= 0) format_inferred(&shapes[out], inferred2 ? &shapes2[out] : NULL, buf, sizeof buf);
        else snprintf(buf, sizeof buf, "?");
        shape_text[i] = cli_xstrdup(buf);
        if (json) {
            printf("  {\"index\": %d, \"name\": ", i);
            json_string(l->name);
            printf(", \"op\": ");
            json_string(l->op_type);
            printf(", \"output_shape\": ");
            json_string(buf);
            printf(", \"parameters\": %lld, \"frozen\": %s}%s\n", (long long)params,
                   ot_transfer_layer_is_frozen(m, i) ? "true" : "false", i + 1 < m->n_layers ? "," : "");
        } else {
            printf("%5d  %-32s %-20s %-20s %12lld  %s\n", i, l->name, l->op_type, buf, (long long)params,
                   ot_transfer_layer_is_frozen(m, i) ? "frozen" : params ? "trainable" : "");
        }
    }
    if (json) {
        printf(" ],\n \"layer_count\": %d, \"parameter_count\": %lld}\n", m->n_layers, (long long)total_params);
    } else {
        printf("\n%d layers, %lld parameters (%.1f MiB as float32)\n", m->n_layers,
               (long long)total_params, total_params * 4.0 / 1048576.0);
    }
    if (graph) rc = write_graph(&args, m, (const char *const *)shape_text, total_params, graph);
    for (int i = 0; i < m->n_layers; i++) free(shape_text[i]);
    free(shape_text);
    free((void *)infer_error);
    free(shapes);
    free(shapes2);
    ot_model_free(m);
    ot_context_free(ctx);
    cli_free(&args);
    return rc;
}
