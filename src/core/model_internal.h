/* Model internals shared by src/core and src/onnx. */
#ifndef OT_MODEL_INTERNAL_H
#define OT_MODEL_INTERNAL_H

#include "onnxtrain/model.h"

ot_status oti_model_rebuild_index(ot_model *m);
void oti_layer_free(ot_layer *l);
void oti_value_free(ot_value *v);

#endif
