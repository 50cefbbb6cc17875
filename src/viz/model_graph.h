/* A model's layer graph as a picture through Graphviz (dot layout): one box per layer with its
 * name, op, output shape and parameter count; frozen layers grey and dashed, a new head
 * (layers named head_*, as train --head makes them) green and bold, the cut point (the layer
 * the head starts from) with a red double border; layers sharing a name prefix ("layer3" of
 * "/layer3/layer3.0/conv1/Conv" or "layer3.0.conv1") boxed together in a cluster. */
#ifndef OT_VIZ_MODEL_GRAPH_H
#define OT_VIZ_MODEL_GRAPH_H

#include "onnxtrain/model.h"

/* Writes m's graph to path: .svg, .png or .dot (Graphviz's own text), atomically. shapes[i]
 * is layer i's output shape as text ("[1,64,56,56]"), or NULL; title heads the picture. */
ot_status oti_model_graph_write(const ot_model *m, const char *const *shapes, const char *title, const char *path);
/* Whether path ends in .svg, .png or .dot. */
int oti_model_graph_format(const char *path);

#endif
