/* Attributes built in place for ot_layer_add_attr, which deep-copies them: these borrow their
 * name and values and allocate nothing. Shared by the code that makes layers (the builder,
 * the Caffe importer). */
#ifndef OT_CORE_ATTR_BUILD_H
#define OT_CORE_ATTR_BUILD_H

#include <string.h>

#include "onnxtrain/model.h"

static inline ot_attr oti_attr_int(const char *name, int64_t v) {
    return (ot_attr){.name = (char *)name, .type = OT_ATTR_INT, .i = v};
}
static inline ot_attr oti_attr_float(const char *name, float v) {
    return (ot_attr){.name = (char *)name, .type = OT_ATTR_FLOAT, .f = v};
}
static inline ot_attr oti_attr_ints(const char *name, int count, const int64_t *v) {
    return (ot_attr){
        .name = (char *)name, .type = OT_ATTR_INTS, .count = count, .ints = (int64_t *)v};
}
static inline ot_attr oti_attr_string(const char *name, const char *v) {
    return (ot_attr){
        .name = (char *)name, .type = OT_ATTR_STRING, .s = (char *)v, .s_len = strlen(v)};
}

#endif
