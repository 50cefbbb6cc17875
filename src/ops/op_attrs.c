/* Attribute readers for the ops' parse functions, and node-prefixed errors. */
#include <stdarg.h>
#include <string.h>
#include <stdio.h>

#include "op.h"
#include "core/error.h"

ot_status oti_node_fail(const ot_layer *l, ot_status code, const char *fmt, ...) {
    char message[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    return oti_fail(code, "%s node '%s': %s", l->op_type, l->name, message);
}

static ot_status wrong_type(const ot_layer *l, const ot_attr *a, const char *expected) {
    return oti_node_fail(l, OT_ERR_INVALID, "attribute '%s' should be %s", a->name, expected);
}

ot_status oti_attr_get_int(const ot_layer *l, const char *name, int64_t fallback, int64_t *out) {
    const ot_attr *a = ot_layer_find_attr(l, name);
    if (!a) {
        *out = fallback;
        return OT_OK;
    }
    if (a->type != OT_ATTR_INT) return wrong_type(l, a, "an int");
    *out = a->i;
    return OT_OK;
}

ot_status oti_attr_get_float(const ot_layer *l, const char *name, float fallback, float *out) {
    const ot_attr *a = ot_layer_find_attr(l, name);
    if (!a) {
        *out = fallback;
        return OT_OK;
    }
    if (a->type == OT_ATTR_INT) { /* some exporters write whole numbers as ints */
        *out = (float)a->i;
        return OT_OK;
    }
    if (a->type != OT_ATTR_FLOAT) return wrong_type(l, a, "a float");
    *out = a->f;
    return OT_OK;
}

ot_status oti_attr_get_ints(const ot_layer *l, const char *name, int64_t *out, int capacity,
                           int *count) {
    const ot_attr *a = ot_layer_find_attr(l, name);
    *count = -1;
    if (!a) return OT_OK;
    if (a->type != OT_ATTR_INTS) return wrong_type(l, a, "a list of ints");
    if (a->count > capacity)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "attribute '%s' has %d values, at most %d "
                            "are supported", name, a->count, capacity);
    if (a->count) memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->count);
    *count = a->count;
    return OT_OK;
}

ot_status oti_attr_get_floats(const ot_layer *l, const char *name, float *out, int capacity,
                             int *count) {
    const ot_attr *a = ot_layer_find_attr(l, name);
    *count = -1;
    if (!a) return OT_OK;
    if (a->type != OT_ATTR_FLOATS) return wrong_type(l, a, "a list of floats");
    if (a->count > capacity)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "attribute '%s' has %d values, at most %d "
                            "are supported", name, a->count, capacity);
    if (a->count) memcpy(out, a->floats, sizeof(float) * (size_t)a->count);
    *count = a->count;
    return OT_OK;
}

ot_status oti_attr_get_string(const ot_layer *l, const char *name, const char *fallback,
                             const char **out) {
    const ot_attr *a = ot_layer_find_attr(l, name);
    if (!a) {
        *out = fallback;
        return OT_OK;
    }
    if (a->type != OT_ATTR_STRING) return wrong_type(l, a, "a string");
    *out = a->s;
    return OT_OK;
}

int oti_normalize_axis(int64_t axis, int rank) {
    if (axis < -rank || axis >= rank) return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}
