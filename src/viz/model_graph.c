/* The model graph through Graphviz's libraries (cgraph builds it, gvc lays it out and renders
 * it into memory, core/file_io.h writes it atomically). Nodes are "L<index>" with the SVG id
 * "layer<index>", so layers with empty or repeated names stay apart; graph inputs are plain
 * text nodes "input<k>". */
#include "model_graph.h"

#include <gvc.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/file_io.h"
#include "core/util.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/transfer.h"

#define FROZEN_FILL "#d9d9d9"
#define TRAINED_FILL "#cfe2ff"
#define HEAD_FILL "#c7eec7"
#define PLAIN_FILL "#ffffff"

static const char *extension(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : "";
}

int oti_model_graph_format(const char *path) {
    const char *e = extension(path);
    return !strcasecmp(e, "svg") || !strcasecmp(e, "png") || !strcasecmp(e, "dot");
}

/* The cluster a layer name belongs to: its first component ("layer3" of "/layer3/x/Conv"
 * or of "layer3.0.conv1"); "" when the name has a single component. */
static void name_prefix(const char *name, char *out, size_t size) {
    while (*name == '/') name++;
    size_t n = strcspn(name, "/.");
    if (!name[n] || n == 0 || n >= size) n = 0;
    memcpy(out, name, n);
    out[n] = '\0';
}

static int is_head(const ot_layer *l) { return l->name && !strncmp(l->name, "head_", 5); }

/* The layer producing value v, or -1 (an input or initializer). */
static int producer(const ot_model *m, int v) {
    for (int i = 0; i < m->n_layers; i++)
        for (int k = 0; k < m->layers[i].n_outputs; k++)
            if (m->layers[i].outputs[k] == v) return i;
    return -1;
}

/* The layer the new head starts from: the producer of the first head layer's data input. */
static int cut_point(const ot_model *m) {
    for (int i = 0; i < m->n_layers; i++)
        if (is_head(&m->layers[i])) {
            int v = m->layers[i].n_inputs ? m->layers[i].inputs[0] : -1;
            return v >= 0 ? producer(m, v) : -1;
        }
    return -1;
}

static void set(void *object, const char *name, const char *value) { agsafeset(object, (char *)name, (char *)value, ""); }

static void style_layer(Agnode_t *node, const ot_model *m, int i, int cut, const char *shape) {
    const ot_layer *l = &m->layers[i];
    int64_t params = ot_graph_layer_parameter_count(m, l);
    int frozen = ot_transfer_layer_is_frozen(m, i);
    char label[512], id[32], count[48] = "";
    if (params) snprintf(count, sizeof count, "\n%lld parameters%s", (long long)params, frozen ? " (frozen)" : "");
    snprintf(label, sizeof label, "%s\n%s  %s%s%s", l->name && *l->name ? l->name : "(unnamed)", l->op_type,
             shape ? shape : "", count, i == cut ? "\ncut point: the new head starts here" : "");
    snprintf(id, sizeof id, "layer%d", i);
    set(node, "id", id);
    set(node, "label", label);
    set(node, "fillcolor", frozen ? FROZEN_FILL : is_head(l) ? HEAD_FILL : params ? TRAINED_FILL : PLAIN_FILL);
    set(node, "style", frozen ? "filled,dashed" : is_head(l) ? "filled,bold" : "filled");
    if (i == cut) {
        set(node, "color", "#d62728");
        set(node, "peripheries", "2");
        set(node, "penwidth", "2");
    }
}

/* The subgraph of a layer: the cluster of its name prefix when at least two layers share it. */
static Agraph_t *parent_of(Agraph_t *g, const ot_model *m, int i) {
    char prefix[128], other[128];
    name_prefix(m->layers[i].name ? m->layers[i].name : "", prefix, sizeof prefix);
    if (!*prefix) return g;
    int shared = 0;
    for (int j = 0; j < m->n_layers && shared < 2; j++) {
        name_prefix(m->layers[j].name ? m->layers[j].name : "", other, sizeof other);
        shared += !strcmp(prefix, other);
    }
    if (shared < 2) return g;
    char name[160];
    snprintf(name, sizeof name, "cluster_%s", prefix);
    Agraph_t *cluster = agsubg(g, name, 1);
    set(cluster, "label", prefix);
    set(cluster, "style", "rounded");
    set(cluster, "color", "#999999");
    return cluster;
}

static void add_nodes(Agraph_t *g, const ot_model *m, const char *const *shapes, Agnode_t **nodes) {
    int cut = cut_point(m);
    for (int i = 0; i < m->n_layers; i++) {
        char name[32];
        snprintf(name, sizeof name, "L%d", i);
        nodes[i] = agnode(parent_of(g, m, i), name, 1);
        style_layer(nodes[i], m, i, cut, shapes ? shapes[i] : NULL);
    }
    for (int k = 0; k < m->n_inputs; k++) {
        char name[32];
        snprintf(name, sizeof name, "input%d", k);
        nodes[m->n_layers + k] = agnode(g, name, 1);
        set(nodes[m->n_layers + k], "id", name);
        set(nodes[m->n_layers + k], "shape", "plaintext");
        set(nodes[m->n_layers + k], "label", m->values[m->inputs[k]].name);
    }
}

/* An edge from each layer input's producer (or graph input) to the layer. */
static void add_edges(Agraph_t *g, const ot_model *m, Agnode_t **nodes) {
    for (int i = 0; i < m->n_layers; i++)
        for (int k = 0; k < m->layers[i].n_inputs; k++) {
            int v = m->layers[i].inputs[k], from = v >= 0 ? producer(m, v) : -1;
            for (int q = 0; from < 0 && v >= 0 && q < m->n_inputs; q++)
                if (m->inputs[q] == v) from = m->n_layers + q;
            if (from >= 0) agedge(g, nodes[from], nodes[i], NULL, 1);
        }
}

static ot_status render(GVC_t *gvc, Agraph_t *g, const char *path) {
    if (gvLayout(gvc, g, "dot") != 0) return oti_fail(OT_ERR_INVALID, "%s: Graphviz could not lay out the graph", path);
    char *data = NULL;
    unsigned int size = 0;
    char format[8];
    snprintf(format, sizeof format, "%s", extension(path));
    for (char *c = format; *c; c++) *c = (char)(*c | 0x20);
    ot_status status = gvRenderData(gvc, g, format, &data, &size) == 0
                           ? oti_write_file_atomic(path, data, size)
                           : oti_fail(OT_ERR_IO, "%s: Graphviz could not render %s (its plugins are missing?)", path, format);
    gvFreeRenderData(data);
    gvFreeLayout(gvc, g);
    return status;
}

ot_status oti_model_graph_write(const ot_model *m, const char *const *shapes, const char *title, const char *path) {
    if (!oti_model_graph_format(path))
        return oti_fail(OT_ERR_INVALID, "%s: the graph's name should end in .svg, .png or .dot", path);
    Agnode_t **nodes = oti_calloc((size_t)(m->n_layers + m->n_inputs) + 1, sizeof *nodes);
    OT_ALLOC_CHECK(nodes);
    GVC_t *gvc = gvContext();
    Agraph_t *g = agopen("model", Agdirected, NULL);
    set(g, "label", title);
    set(g, "labelloc", "t");
    set(g, "fontname", "sans-serif");
    agattr(g, AGNODE, "shape", "box");
    agattr(g, AGNODE, "fontname", "sans-serif");
    agattr(g, AGNODE, "fontsize", "10");
    add_nodes(g, m, shapes, nodes);
    add_edges(g, m, nodes);
    ot_status status = render(gvc, g, path);
    agclose(g);
    gvFreeContext(gvc);
    free(nodes);
    return status;
}
