/* Making a plan: planning starts again on a view of the model each time infer finds a layer
 * to replace (an If whose condition is known, a Loop that trains, a sequence op), and once on
 * a view that writes sequence inputs from their elements. */
#include <stdlib.h>

#include "core/error.h"
#include "core/util.h"
#include "graph/inline.h"
#include "graph/sequence.h"
#include "plan_internal.h"

/* The view in which p's inline_layer is replaced: an If by its branch, a Loop by copies of
 * its body (graph/inline.h), a sequence op by tensor ops (graph/sequence.h, which reads the
 * shapes and positions p knows). */
static ot_status make_view(const ot_plan *p, oti_inlined_model **out) {
    const ot_layer *l = &p->model->layers[p->inline_layer];
    if (l->op->flags & OT_OP_CONTROL_FLOW) return oti_graph_inline(p->model, p->inline_layer, p->inline_choice, out);
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].layer == p->inline_layer) return oti_graph_lower_sequence(p->model, p->inline_layer, p->steps[i].in, out);
    OT_ASSERT(0);
    return OT_ERR_INVALID;
}

/* Plans m; an If whose condition infer finds known is replaced by its branch (a Loop that
 * trains by copies of its body) in a view of the model (graph/inline.h) and planning starts
 * again on the view, until none is left. The plan keeps the views. */
static ot_status create_plan(ot_model *m, const ot_plan_options *options, int n_feeds, const int *feeds,
                             const ot_tensor *feed_shapes, const unsigned char *constant, ot_plan *root,
                             oti_inlined_model *first_view, ot_plan **out) {
    *out = NULL;
    oti_inlined_model **inlined = first_view ? oti_calloc(1, sizeof(void *)) : NULL;
    int n_inlined = 0;
    ot_model *model = m;
    if (first_view && !inlined) {
        oti_graph_inlined_free(first_view);
        return OT_ERR_MEMORY;
    }
    if (first_view) {
        inlined[n_inlined++] = first_view;
        model = &first_view->model;
    }
    for (;;) {
        ot_plan *p = oti_calloc(1, sizeof *p);
        if (!p) break;
        p->model = model;
        if (options) p->options = *options;
        p->n_caller_values = m->n_values;
        p->inlined = inlined;
        p->n_inlined = n_inlined;
        p->inline_layer = -1;
        p->root = root;
        ot_status status = oti_plan_build(p, n_feeds, feeds, feed_shapes, constant);
        if (status == OT_OK && p->inline_layer < 0) {
            *out = p;
            return OT_OK;
        }
        p->inlined = NULL; /* kept for the next round */
        p->n_inlined = 0;
        void *grown = status == OT_OK ? oti_realloc(inlined, sizeof(void *) * (size_t)(n_inlined + 1)) : NULL;
        if (grown) inlined = grown;
        if (status == OT_OK) status = grown ? OT_OK : OT_ERR_MEMORY;
        if (status == OT_OK) status = make_view(p, &inlined[n_inlined]);
        ot_plan_free(p);
        if (status != OT_OK) {
            for (int i = n_inlined - 1; i >= 0; i--) oti_graph_inlined_free(inlined[i]);
            free(inlined);
            return status;
        }
        model = &inlined[n_inlined++]->model;
    }
    for (int i = n_inlined - 1; i >= 0; i--) oti_graph_inlined_free(inlined[i]);
    free(inlined);
    return OT_ERR_MEMORY;
}

/* Sequence inputs are fed as their elements: a first view writes each from tensor inputs
 * (graph/sequence.h), and the plan is made of it. */
ot_status ot_plan_create(ot_model *m, const ot_plan_options *options, int n_feeds,
                         const int *feeds, const ot_tensor *feed_shapes, ot_plan **out) {
    *out = NULL;
    oti_inlined_model *view = NULL;
    int *element_feeds = oti_calloc((size_t)n_feeds + 1, sizeof(int)), n_elements = 0;
    ot_tensor *element_shapes = oti_calloc((size_t)n_feeds + 1, sizeof(ot_tensor));
    ot_status status = element_feeds && element_shapes ? OT_OK : OT_ERR_MEMORY;
    if (status == OT_OK)
        status = oti_graph_feed_sequences(m, n_feeds, feeds, feed_shapes, &view, element_feeds, element_shapes,
                                          &n_elements);
    if (status == OT_OK && view)
        status = create_plan(m, options, n_elements, element_feeds, element_shapes, NULL, NULL, view, out);
    else if (status == OT_OK)
        status = create_plan(m, options, n_feeds, feeds, feed_shapes, NULL, NULL, NULL, out);
    free(element_feeds);
    free(element_shapes);
    return status;
}

ot_status oti_plan_create_sub(const ot_plan *parent, ot_model *subgraph, int n_feeds, const int *feeds,
                              const ot_tensor *shapes, const unsigned char *constant, ot_plan **out) {
    ot_plan_options options = {.context = parent->options.context, .rng = parent->options.rng,
                               .fast_convolution = parent->options.fast_convolution,
                               .conv_tuning = parent->options.conv_tuning};
    ot_plan *root = parent->root ? parent->root : (ot_plan *)parent;
    return create_plan(subgraph, &options, n_feeds, feeds, shapes, constant, root, NULL, out);
}

