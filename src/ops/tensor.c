/* Op family 'tensor': ops that make or pass tensors whole. Identity, Constant,
 * ConstantOfShape, Range, EyeLike, Cast and CastLike (between every fixed-size dtype, held in
 * the computed dtypes and fitted to the target by the plan) and Dropout
 * (inverted dropout in training, the identity otherwise). */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "onnxtrain/rng.h"
#include "op.h"

static ot_status check_input_sized(const ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    OT_NODE_CHECK(c, ot_dtype_size(c->in[0]->dtype) > 0, "input has dtype %s, which has no fixed size",
                  ot_dtype_name(c->in[0]->dtype));
    return OT_OK;
}

static void add_gradient(float *dx, const float *dy, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
}

/* Identity ------------------------------------------------------------------------------- */

static ot_status infer_identity(ot_node_ctx *c) {
    OT_TRY(check_input_sized(c));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

static ot_status forward_identity(ot_node_ctx *c) {
    size_t bytes = (size_t)ot_tensor_numel(c->in[0]) * ot_dtype_size(c->in[0]->dtype);
    if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
    return OT_OK;
}

static ot_status backward_identity(ot_node_ctx *c) {
    if (c->din[0] && c->dout[0])
        add_gradient(c->din[0]->data, c->dout[0]->data, ot_tensor_numel(c->in[0]));
    return OT_OK;
}

/* Constant ------------------------------------------------------------------------------- */

typedef enum constant_kind { CONST_TENSOR, CONST_FLOAT, CONST_FLOATS, CONST_INT, CONST_INTS } constant_kind;

typedef struct constant_params {
    constant_kind kind;
    const char *attr; /* the attribute holding the value (a static name) */
} constant_params;

static ot_status parse_constant(const ot_layer *l, void *params) {
    static const struct { const char *name; constant_kind kind; ot_attr_type type; } forms[] = {
        {"value", CONST_TENSOR, OT_ATTR_TENSOR},     {"value_float", CONST_FLOAT, OT_ATTR_FLOAT},
        {"value_floats", CONST_FLOATS, OT_ATTR_FLOATS}, {"value_int", CONST_INT, OT_ATTR_INT},
        {"value_ints", CONST_INTS, OT_ATTR_INTS},
    };
    constant_params *p = params;
    int found = 0;
    for (int i = 0; i < OT_COUNT(forms); i++) {
        const ot_attr *a = ot_layer_find_attr(l, forms[i].name);
        if (!a) continue;
        if (a->type != forms[i].type)
            return oti_node_fail(l, OT_ERR_INVALID, "attribute '%s' has the wrong type", forms[i].name);
        if (forms[i].kind == CONST_TENSOR && ot_dtype_size(a->t.dtype) == 0)
            return oti_node_fail(l, OT_ERR_UNSUPPORTED, "value has dtype %s, which is not supported",
                                ot_dtype_name(a->t.dtype));
        p->kind = forms[i].kind;
        p->attr = forms[i].name;
        found++;
    }
    const char *unsupported[] = {"sparse_value", "value_string", "value_strings"};
    for (int i = 0; i < OT_COUNT(unsupported); i++)
        if (ot_layer_find_attr(l, unsupported[i]))
            return oti_node_fail(l, OT_ERR_UNSUPPORTED, "attribute '%s' is not supported", unsupported[i]);
    if (found != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "needs exactly one of value, value_float, "
                            "value_floats, value_int, value_ints (has %d)", found);
    return OT_OK;
}

static ot_status infer_constant(ot_node_ctx *c) {
    const constant_params *p = c->params;
    const ot_attr *a = ot_layer_find_attr(c->layer, p->attr);
    OT_NODE_CHECK(c, a, "attribute '%s' disappeared", p->attr);
    int64_t n = a->count;
    switch (p->kind) {
    case CONST_TENSOR:
        ot_tensor_set_shape(c->out[0], a->t.dtype, a->t.ndim, a->t.dims);
        c->out[0]->declared = ot_tensor_declared(&a->t);
        break;
    case CONST_FLOAT: ot_tensor_set_shape(c->out[0], OT_FLOAT, 0, NULL); break;
    case CONST_INT: ot_tensor_set_shape(c->out[0], OT_INT64, 0, NULL); break;
    case CONST_FLOATS: ot_tensor_set_shape(c->out[0], OT_FLOAT, 1, &n); break;
    case CONST_INTS: ot_tensor_set_shape(c->out[0], OT_INT64, 1, &n); break;
    }
    return OT_OK;
}

static ot_status forward_constant(ot_node_ctx *c) {
    const constant_params *p = c->params;
    const ot_attr *a = ot_layer_find_attr(c->layer, p->attr);
    void *y = c->out[0]->data;
    switch (p->kind) {
    case CONST_TENSOR:
        if (ot_tensor_numel(&a->t))
            memcpy(y, a->t.data, (size_t)ot_tensor_numel(&a->t) * ot_dtype_size(a->t.dtype));
        break;
    case CONST_FLOAT: memcpy(y, &a->f, sizeof(float)); break;
    case CONST_INT: memcpy(y, &a->i, sizeof(int64_t)); break;
    case CONST_FLOATS: if (a->count) memcpy(y, a->floats, sizeof(float) * (size_t)a->count); break;
    case CONST_INTS: if (a->count) memcpy(y, a->ints, sizeof(int64_t) * (size_t)a->count); break;
    }
    return OT_OK;
}

/* ConstantOfShape ------------------------------------------------------------------------ */

typedef struct constant_of_shape_params {
    ot_dtype dtype, declared;
    unsigned char value[8]; /* one element of dtype */
} constant_of_shape_params;

static ot_status parse_constant_of_shape(const ot_layer *l, void *params) {
    constant_of_shape_params *p = params;
    const ot_attr *a = ot_layer_find_attr(l, "value");
    p->dtype = p->declared = OT_FLOAT; /* default: float 0 */
    if (!a) return OT_OK;
    if (a->type != OT_ATTR_TENSOR)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute 'value' should be a tensor");
    size_t elem = ot_dtype_size(a->t.dtype);
    if (elem == 0 || elem > sizeof p->value)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "value has dtype %s, which is not supported",
                            ot_dtype_name(a->t.dtype));
    if (ot_tensor_numel(&a->t) != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "value must hold one element, not %lld",
                            (long long)ot_tensor_numel(&a->t));
    p->dtype = a->t.dtype;
    p->declared = ot_tensor_declared(&a->t);
    memcpy(p->value, a->t.data, elem);
    return OT_OK;
}

static ot_status infer_constant_of_shape(ot_node_ctx *c) {
    const constant_of_shape_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs a shape input");
    const ot_tensor *shape = c->in[0];
    OT_NODE_CHECK(c, c->in_known[0], "the shape input '%s' must be known when the plan is built "
                  "(an initializer, a Constant, or computed from shapes)",
                  c->model->values[c->layer->inputs[0]].name);
    OT_NODE_CHECK(c, shape->dtype == OT_INT64 && shape->ndim == 1, "shape must be a 1-D int64 tensor");
    int64_t n = ot_tensor_numel(shape);
    OT_NODE_CHECK(c, n <= OT_MAX_DIMS, "shape has %lld dims; at most %d are supported", (long long)n,
                  OT_MAX_DIMS);
    const int64_t *dims = shape->data;
    for (int64_t d = 0; d < n; d++)
        OT_NODE_CHECK(c, dims[d] >= 0, "shape dim %lld is negative (%lld)", (long long)d, (long long)dims[d]);
    ot_tensor_set_shape(c->out[0], p->dtype, (int)n, dims);
    c->out[0]->declared = p->declared;
    return OT_OK;
}

static ot_status forward_constant_of_shape(ot_node_ctx *c) {
    const constant_of_shape_params *p = c->params;
    size_t elem = ot_dtype_size(p->dtype);
    unsigned char *y = c->out[0]->data;
    int64_t n = ot_tensor_numel(c->out[0]);
    for (int64_t i = 0; i < n; i++) memcpy(y + (size_t)i * elem, p->value, elem);
    return OT_OK;
}

/* Range ---------------------------------------------------------------------------------- */

/* Range(start, limit, delta), scalars of one dtype (float32 or int64): the values
 * start + i * delta for i in [0, max(ceil((limit - start) / delta), 0)). The count sets the
 * output shape, so the three must be known when the plan is built (Range over a Shape, as
 * position ids are made, folds). */

/* ceil((limit - start) / delta) clamped at 0, exactly (the difference in uint64_t cannot
 * overflow); UINT64_MAX stands for more than int64 can count. */
static uint64_t range_count_i64(int64_t start, int64_t limit, int64_t delta) {
    if (delta > 0 ? limit <= start : limit >= start) return 0;
    uint64_t span = delta > 0 ? (uint64_t)limit - (uint64_t)start : (uint64_t)start - (uint64_t)limit;
    uint64_t step = delta > 0 ? (uint64_t)delta : (uint64_t)(-(delta + 1)) + 1;
    return span / step + (span % step != 0);
}

static ot_status infer_range(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 3 && c->in[0] && c->in[1] && c->in[2], "needs inputs start, limit and delta");
    static const char *const names[3] = {"start", "limit", "delta"};
    ot_dtype t = c->in[0]->dtype;
    OT_NODE_CHECK(c, t == OT_FLOAT || t == OT_INT64, "inputs must be float32 or int64, not %s", ot_dtype_name(t));
    for (int k = 0; k < 3; k++) {
        OT_NODE_CHECK(c, c->in[k]->dtype == t, "%s is %s, start is %s: they must have one dtype", names[k],
                      ot_dtype_name(c->in[k]->dtype), ot_dtype_name(t));
        OT_NODE_CHECK(c, ot_tensor_numel(c->in[k]) == 1, "%s must be a scalar", names[k]);
        OT_NODE_CHECK(c, c->in_known[k], "input '%s' (%s) must be known when the plan is built (an "
                      "initializer, a Constant, or computed from shapes): it sets the output's length",
                      c->model->values[c->layer->inputs[k]].name, names[k]);
    }
    int64_t n;
    if (t == OT_FLOAT) {
        float start = *(const float *)c->in[0]->data, limit = *(const float *)c->in[1]->data,
              delta = *(const float *)c->in[2]->data;
        OT_NODE_CHECK(c, delta != 0.0f && isfinite(delta) && isfinite(start) && isfinite(limit),
                      "start, limit and delta must be finite and delta non-zero");
        double count = ceil(((double)limit - start) / delta);
        OT_NODE_CHECK(c, count < 9e15, "%g values are too many", count);
        n = count > 0 ? (int64_t)count : 0;
    } else {
        int64_t delta = *(const int64_t *)c->in[2]->data;
        OT_NODE_CHECK(c, delta != 0, "delta must not be 0");
        uint64_t count = range_count_i64(*(const int64_t *)c->in[0]->data, *(const int64_t *)c->in[1]->data, delta);
        OT_NODE_CHECK(c, count <= (uint64_t)INT64_MAX, "%llu values are too many", (unsigned long long)count);
        n = (int64_t)count;
    }
    ot_tensor_set_shape(c->out[0], t, 1, &n);
    return OT_OK;
}

static ot_status forward_range(ot_node_ctx *c) {
    int64_t n = c->out[0]->dims[0];
    if (c->in[0]->dtype == OT_FLOAT) {
        float start = *(const float *)c->in[0]->data, delta = *(const float *)c->in[2]->data, *y = c->out[0]->data;
        for (int64_t i = 0; i < n; i++) y[i] = start + (float)i * delta;
    } else {
        uint64_t start = *(const uint64_t *)c->in[0]->data, delta = *(const uint64_t *)c->in[2]->data;
        int64_t *y = c->out[0]->data;
        for (int64_t i = 0; i < n; i++) y[i] = (int64_t)(start + (uint64_t)i * delta);
    }
    return OT_OK;
}

/* Cast ----------------------------------------------------------------------------------- */

typedef struct cast_params {
    ot_dtype to; /* as the model names it; held in ot_dtype_storage(to) */
} cast_params;

/* Opset < 6 names the target dtype with a string. */
static ot_dtype dtype_from_name(const char *name) {
    static const struct { const char *name; ot_dtype dtype; } names[] = {
        {"FLOAT", OT_FLOAT}, {"UINT8", OT_UINT8}, {"INT8", OT_INT8}, {"UINT16", OT_UINT16},
        {"INT16", OT_INT16}, {"INT32", OT_INT32}, {"INT64", OT_INT64}, {"BOOL", OT_BOOL},
        {"FLOAT16", OT_FLOAT16}, {"DOUBLE", OT_DOUBLE}, {"UINT32", OT_UINT32},
        {"UINT64", OT_UINT64}, {"BFLOAT16", OT_BFLOAT16}, {"STRING", OT_STRING},
    };
    for (int i = 0; i < OT_COUNT(names); i++)
        if (!strcmp(names[i].name, name)) return names[i].dtype;
    return OT_UNDEFINED;
}

static ot_status parse_cast(const ot_layer *l, void *params) {
    cast_params *p = params;
    const ot_attr *a = ot_layer_find_attr(l, "to");
    if (!a) return oti_node_fail(l, OT_ERR_INVALID, "needs a 'to' attribute");
    if (a->type == OT_ATTR_STRING) p->to = dtype_from_name(a->s);
    else if (a->type == OT_ATTR_INT) p->to = (ot_dtype)a->i;
    else return oti_node_fail(l, OT_ERR_INVALID, "attribute 'to' should be an int");
    if (p->to < OT_FLOAT || p->to > OT_BFLOAT16 || ot_dtype_storage(p->to) == OT_UNDEFINED)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "cannot cast to dtype %s",
                            a->type == OT_ATTR_STRING ? a->s : ot_dtype_name(p->to));
    return OT_OK;
}

/* Output: `to`, held in its computed dtype; the plan wraps or rounds it to `to` after
 * forward (int8 wraps, float16 rounds), as numpy's astype does. */
static ot_status infer_cast_to(ot_node_ctx *c, ot_dtype to) {
    OT_TRY(check_input_sized(c));
    ot_tensor_set_shape(c->out[0], ot_dtype_storage(to), c->in[0]->ndim, c->in[0]->dims);
    c->out[0]->declared = to;
    return OT_OK;
}

static ot_status infer_cast(ot_node_ctx *c) {
    const cast_params *p = c->params;
    return infer_cast_to(c, p->to);
}

/* Truncates toward zero like C and numpy; NaN gives 0 and values beyond int64 saturate
 * (the spec leaves both undefined; C would have undefined behaviour). */
static int64_t float_to_int64(double f) {
    if (isnan(f)) return 0;
    if (f >= 9223372036854775807.0) return INT64_MAX;
    if (f <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)f;
}

/* Between the computed dtypes; a uint64 input (int64 bits) converts to float as unsigned. */
static void cast_element(ot_tensor *y, const ot_tensor *x, int64_t k) {
    int from_unsigned = ot_tensor_declared(x) == OT_UINT64;
    double f = 0;
    int64_t i = 0;
    if (x->dtype == OT_FLOAT) f = ((const float *)x->data)[k], i = float_to_int64(f);
    else if (x->dtype == OT_BOOL) i = ((const uint8_t *)x->data)[k] != 0, f = (double)i;
    else i = ((const int64_t *)x->data)[k], f = from_unsigned ? (double)(uint64_t)i : (double)i;
    if (y->dtype == OT_FLOAT) ((float *)y->data)[k] = (float)f;
    else if (y->dtype == OT_BOOL) ((uint8_t *)y->data)[k] = x->dtype == OT_FLOAT ? f != 0.0 : i != 0;
    else if (x->dtype == OT_FLOAT && ot_tensor_declared(y) == OT_UINT64 && f >= 9223372036854775808.0)
        ((int64_t *)y->data)[k] = f < 18446744073709551616.0 ? (int64_t)(uint64_t)f : INT64_MAX;
    else ((int64_t *)y->data)[k] = i;
}

static ot_status forward_cast(ot_node_ctx *c) {
    const ot_tensor *x = c->in[0];
    if (x->dtype == c->out[0]->dtype && ot_tensor_declared(x) != OT_UINT64) return forward_identity(c);
    int64_t n = ot_tensor_numel(x);
    for (int64_t k = 0; k < n; k++) cast_element(c->out[0], x, k);
    return OT_OK;
}

/* CastLike: Cast to the declared dtype of input 1 (`target_type`), which only lends its
 * dtype. */
static ot_status infer_cast_like(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[1], "needs inputs input and target_type");
    OT_NODE_CHECK(c, ot_dtype_storage(c->in[1]->dtype) != OT_UNDEFINED, "cannot cast to dtype %s",
                  ot_dtype_name(c->in[1]->dtype));
    return infer_cast_to(c, ot_tensor_declared(c->in[1]));
}

/* Only float -> float casts carry a gradient (straight through the rounding). */
static ot_status backward_cast(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != OT_FLOAT || c->out[0]->dtype != OT_FLOAT)
        return OT_OK;
    add_gradient(c->din[0]->data, c->dout[0]->data, ot_tensor_numel(c->in[0]));
    return OT_OK;
}

/* EyeLike -------------------------------------------------------------------------------- */

/* EyeLike: a 2-D tensor of the input's shape with ones on diagonal k (k > 0 above the main
 * one) and zeros elsewhere, in attribute dtype (default: the input's declared dtype). Only
 * the input's shape is read. */
typedef struct eye_like_params {
    int64_t k;
    ot_dtype dtype; /* OT_UNDEFINED: the input's */
} eye_like_params;

static ot_status parse_eye_like(const ot_layer *l, void *params) {
    eye_like_params *p = params;
    int64_t dtype;
    OT_TRY(oti_attr_get_int(l, "k", 0, &p->k));
    OT_TRY(oti_attr_get_int(l, "dtype", OT_UNDEFINED, &dtype));
    p->dtype = (ot_dtype)dtype;
    if (p->dtype != OT_UNDEFINED && ot_dtype_storage(p->dtype) == OT_UNDEFINED)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "dtype %s is not supported", ot_dtype_name(p->dtype));
    return OT_OK;
}

static ot_status infer_eye_like(ot_node_ctx *c) {
    const eye_like_params *p = c->params;
    OT_TRY(check_input_sized(c));
    OT_NODE_CHECK(c, c->in[0]->ndim == 2, "input must be 2-D, not of rank %d", c->in[0]->ndim);
    ot_dtype t = p->dtype == OT_UNDEFINED ? ot_tensor_declared(c->in[0]) : p->dtype;
    ot_tensor_set_shape(c->out[0], ot_dtype_storage(t), 2, c->in[0]->dims);
    c->out[0]->declared = t;
    return OT_OK;
}

static ot_status forward_eye_like(ot_node_ctx *c) {
    const eye_like_params *p = c->params;
    ot_tensor *y = c->out[0]; // (rows, cols)
    int64_t rows = y->dims[0], cols = y->dims[1];
    size_t elem = ot_dtype_size(y->dtype);
    memset(y->data, 0, (size_t)(rows * cols) * elem);
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + p->k;
        if (j < 0 || j >= cols) continue;
        int64_t at = i * cols + j;
        if (y->dtype == OT_FLOAT) ((float *)y->data)[at] = 1.0f;
        else if (y->dtype == OT_INT64) ((int64_t *)y->data)[at] = 1;
        else ((uint8_t *)y->data)[at] = 1;
    }
    return OT_OK;
}

/* Dropout -------------------------------------------------------------------------------- */

typedef struct dropout_params {
    float ratio;  /* opset < 12 attribute */
    int is_test;  /* opset < 7: never drop */
    int64_t seed; /* generator seed when the plan has none (training_mode set in inference) */
} dropout_params;

/* Forward's record for backward, followed by the keep mask (one byte per element). */
typedef struct dropout_saved {
    int dropped;
    float scale;
} dropout_saved;

static ot_status parse_dropout(const ot_layer *l, void *params) {
    dropout_params *p = params;
    int64_t is_test;
    OT_TRY(oti_attr_get_float(l, "ratio", 0.5f, &p->ratio));
    OT_TRY(oti_attr_get_int(l, "is_test", 0, &is_test));
    OT_TRY(oti_attr_get_int(l, "seed", 0, &p->seed));
    p->is_test = l->opset < 7 && is_test != 0;
    return OT_OK;
}

static ot_status infer_dropout(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "input must be float32, not %s", ot_dtype_name(x->dtype));
    if (c->layer->opset >= 12) {
        if (c->n_in > 1 && c->in[1])
            OT_NODE_CHECK(c, c->in[1]->dtype == OT_FLOAT && ot_tensor_numel(c->in[1]) == 1,
                          "ratio must be a float scalar");
        if (c->n_in > 2 && c->in[2])
            OT_NODE_CHECK(c, c->in[2]->dtype == OT_BOOL && ot_tensor_numel(c->in[2]) == 1,
                          "training_mode must be a bool scalar");
    }
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim, x->dims);
    /* The mask is bool from opset 10, the input's type before. */
    if (c->n_out > 1 && c->out[1])
        ot_tensor_set_shape(c->out[1], c->layer->opset >= 10 ? OT_BOOL : OT_FLOAT, x->ndim, x->dims);
    c->saved_bytes = sizeof(dropout_saved) + (size_t)ot_tensor_numel(x);
    return OT_OK;
}

/* Drops in training plans (unless frozen) and wherever the training_mode input is true. */
static int dropout_active(const ot_node_ctx *c, float *ratio) {
    const dropout_params *p = c->params;
    *ratio = p->ratio;
    if (p->is_test) return 0;
    int training = c->training;
    if (c->layer->opset >= 12) {
        *ratio = c->n_in > 1 && c->in[1] ? ((const float *)c->in[1]->data)[0] : 0.5f;
        if (c->n_in > 2 && c->in[2] && ((const uint8_t *)c->in[2]->data)[0]) training = 1;
    }
    return training && *ratio != 0.0f;
}

static ot_status forward_dropout(ot_node_ctx *c) {
    const dropout_params *p = c->params;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    dropout_saved *saved = c->saved;
    uint8_t *keep = (uint8_t *)(saved + 1);
    float ratio;
    saved->dropped = dropout_active(c, &ratio);
    saved->scale = 1.0f;
    if (saved->dropped) {
        OT_NODE_CHECK(c, ratio > 0.0f && ratio < 1.0f, "ratio must be in [0, 1), not %g", ratio);
        /* Plans without a generator (inference with training_mode set) draw from the seed. */
        ot_rng local;
        ot_rng *rng = c->rng;
        if (!rng) {
            ot_rng_seed(&local, (uint64_t)p->seed);
            rng = &local;
        }
        saved->scale = 1.0f / (1.0f - ratio);
        for (int64_t i = 0; i < n; i++) {
            keep[i] = ot_rng_uniform(rng) >= ratio;
            y[i] = keep[i] ? x[i] * saved->scale : 0.0f;
        }
    } else {
        memset(keep, 1, (size_t)n);
        if (n) memcpy(y, x, sizeof(float) * (size_t)n);
    }
    if (c->n_out > 1 && c->out[1]) {
        if (c->out[1]->dtype == OT_BOOL) memcpy(c->out[1]->data, keep, (size_t)n);
        else for (int64_t i = 0; i < n; i++) ((float *)c->out[1]->data)[i] = keep[i];
    }
    return OT_OK;
}

static ot_status backward_dropout(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    const dropout_saved *saved = c->saved;
    const uint8_t *keep = (const uint8_t *)(saved + 1);
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    if (!saved->dropped) add_gradient(dx, dy, n);
    else for (int64_t i = 0; i < n; i++) dx[i] += keep[i] ? dy[i] * saved->scale : 0.0f;
    return OT_OK;
}

const ot_op oti_ops_tensor[] = {
    {.name = "Identity", .since_version = 1, .infer = infer_identity, .forward = forward_identity,
     .backward = backward_identity, .flags = OT_OP_COPY},
    {.name = "Constant", .since_version = 1, .params_size = sizeof(constant_params),
     .parse = parse_constant, .infer = infer_constant, .forward = forward_constant},
    {.name = "ConstantOfShape", .since_version = 9, .params_size = sizeof(constant_of_shape_params),
     .parse = parse_constant_of_shape, .infer = infer_constant_of_shape,
     .forward = forward_constant_of_shape, .inputs = {[0] = OT_ROLE_CONSTANT}},
    {.name = "Range", .since_version = 11, .infer = infer_range, .forward = forward_range,
     .inputs = {OT_ROLE_CONSTANT, OT_ROLE_CONSTANT, OT_ROLE_CONSTANT}},
    {.name = "Cast", .since_version = 1, .params_size = sizeof(cast_params), .parse = parse_cast,
     .infer = infer_cast, .forward = forward_cast, .backward = backward_cast, .flags = OT_OP_LAYOUT},
    /* target_type lends its dtype only. */
    {.name = "CastLike", .since_version = 15, .infer = infer_cast_like, .forward = forward_cast,
     .backward = backward_cast, .flags = OT_OP_LAYOUT, .inputs = {[1] = OT_ROLE_CONSTANT}},
    {.name = "EyeLike", .since_version = 9, .params_size = sizeof(eye_like_params),
     .parse = parse_eye_like, .infer = infer_eye_like, .forward = forward_eye_like,
     .flags = OT_OP_SHAPE_ONLY},
    /* ratio and training_mode */
    {.name = "Dropout", .since_version = 1, .params_size = sizeof(dropout_params),
     .parse = parse_dropout, .infer = infer_dropout, .forward = forward_dropout,
     .backward = backward_dropout, .flags = OT_OP_RANDOM,
     .inputs = {[1] = OT_ROLE_CONSTANT, [2] = OT_ROLE_CONSTANT}},
};
const ot_op_family oti_family_tensor = {oti_ops_tensor, OT_COUNT(oti_ops_tensor)};
