/* Transfer learning on the layer list: freezing, cutting, new heads.
 *
 * Freeze rules apply in order. A PATTERN is a glob on layer names or parameter (initializer)
 * names, or a layer index range A:B (Python slice: A inclusive, B exclusive, either may be
 * left out or negative). A frozen layer's parameters never change and it runs in inference
 * mode (BatchNormalization keeps its running statistics, as in Keras). */
#ifndef ONNXTRAIN_TRANSFER_H
#define ONNXTRAIN_TRANSFER_H

#include "onnxtrain/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_freeze_action { OT_FREEZE, OT_UNFREEZE, OT_FREEZE_UPTO } ot_freeze_action;

typedef struct ot_freeze_rule {
    ot_freeze_action action;
    const char *pattern; /* FREEZE_UPTO: a layer name, output name or index */
} ot_freeze_rule;

/* Applies rules in order; unmatched patterns are an error naming them. */
OT_API ot_status ot_transfer_freeze(ot_model *m, int n_rules, const ot_freeze_rule *rules);
/* Whether layer i counts as frozen (all its parameters frozen, or frozen by a rule when it
 * has none). */
OT_API int ot_transfer_layer_is_frozen(const ot_model *m, int layer);
/* Parameters and layers with parameters, trained and frozen (ot_transfer_layer_is_frozen). */
typedef struct ot_parameter_counts {
    int64_t trained, frozen;
    int trained_layers, frozen_layers;
} ot_parameter_counts;
OT_API ot_parameter_counts ot_transfer_parameter_counts(const ot_model *m);
/* Unfreezes the `count` frozen layers with parameters nearest the output; returns how many. */
OT_API int ot_transfer_unfreeze_top(ot_model *m, int count);

/* Keeps `layer` (name, output name or index) and everything it depends on; its first output
 * becomes the only graph output. */
OT_API ot_status ot_transfer_cut(ot_model *m, const char *layer);

/* Sets declared dtype/shape on the graph outputs from shape inference (batch left symbolic),
 * so exported models describe their outputs. */
OT_API ot_status ot_transfer_type_outputs(ot_model *m);

#ifdef __cplusplus
}
#endif
#endif
