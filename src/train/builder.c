/* Building layers from a text spec (onnxtrain new, --head): Gemm/Conv/pool/BatchNorm/
 * Dropout/activation nodes with freshly initialised weights. */
#include "onnxtrain/builder.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/attr_build.h"
#include "core/util.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/plan.h"

ot_status ot_builder_parse_init(const char *text, ot_init_spec *s) {
    memset(s, 0, sizeof *s);
    const char *names[] = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                           "lecun_uniform", "lecun_normal"};
    for (int i = 0; i < 6; i++) {
        if (strcmp(text, names[i])) continue;
        s->scale = i / 2 == 1 ? 2.0 : 1.0;
        s->mode = i / 2 == 0 ? OT_FAN_AVG : OT_FAN_IN;
        s->normal = i % 2;
        return OT_OK;
    }
    if (!strcmp(text, "auto")) {
        s->by_activation = 1;
        return OT_OK;
    }
    if (!strncmp(text, "variance_scaling:", 17)) {
        char *copy = oti_strdup(text + 17);
        OT_ALLOC_CHECK_COPY(copy, text + 17);
        char *mode = strchr(copy, ':');
        char *dist = mode ? strchr(mode + 1, ':') : NULL;
        int ok = mode && dist;
        if (ok) {
            *mode++ = '\0';
            *dist++ = '\0';
            ok = oti_parse_double(copy, &s->scale) && s->scale > 0;
            if (!strcmp(mode, "fan_in")) s->mode = OT_FAN_IN;
            else if (!strcmp(mode, "fan_out")) s->mode = OT_FAN_OUT;
            else if (!strcmp(mode, "fan_avg")) s->mode = OT_FAN_AVG;
            else ok = 0;
            if (!strcmp(dist, "normal")) s->normal = 1;
            else if (strcmp(dist, "uniform")) ok = 0;
        }
        free(copy);
        if (ok) return OT_OK;
    }
    return oti_fail(OT_ERR_INVALID, "'%s' is not an initializer: expected glorot_uniform, glorot_normal, he_uniform, "
                   "he_normal, lecun_uniform, lecun_normal or variance_scaling:SCALE:"
                   "fan_in|fan_out|fan_avg:normal|uniform", text);
}

void ot_builder_fill(float *w, int64_t n, const ot_init_spec *spec, int64_t fan_in, int64_t fan_out,
                  ot_rng *rng) {
    double fan = spec->mode == OT_FAN_IN ? fan_in : spec->mode == OT_FAN_OUT ? fan_out
                                                                              : (fan_in + fan_out) / 2.0;
    double variance = spec->scale / fmax(1.0, fan);
    if (spec->normal) {
        /* TensorFlow: a normal truncated at 2 sigma has std 0.8796 of the untruncated one. */
        double std = sqrt(variance) / 0.87962566103423978;
        for (int64_t i = 0; i < n; i++) w[i] = (float)(std * ot_rng_truncated_normal(rng));
    } else {
        double limit = sqrt(3.0 * variance);
        for (int64_t i = 0; i < n; i++) w[i] = (float)(limit * (2.0 * ot_rng_uniform(rng) - 1.0));
    }
}

static ot_status start_model(ot_model *m, const char *input_name, int ndim, const int64_t *dims) {
    if (ndim < 0 || ndim >= OT_MAX_DIMS)
        return oti_fail(OT_ERR_INVALID, "input '%s': samples of %d dims (at most %d)", input_name, ndim,
                        OT_MAX_DIMS - 1);
    OT_TRY(ot_model_set_opset(m, "", 17));
    m->ir_version = 8;
    OT_ALLOC_CHECK(m->producer_name = oti_strdup("onnxtrain"));
    OT_ALLOC_CHECK(m->producer_version = oti_strdup("0.1.0"));
    OT_ALLOC_CHECK(m->graph_name = oti_strdup("onnxtrain"));
    int v;
    OT_TRY(ot_model_add_value(m, input_name, OT_VALUE_INPUT, &v));
    ot_value *in = &m->values[v];
    in->has_type = in->has_shape = 1;
    in->tensor.dtype = OT_FLOAT;
    in->tensor.ndim = ndim + 1;
    in->tensor.dims[0] = -1;
    OT_ALLOC_CHECK(in->dim_names[0] = oti_strdup("N"));
    memcpy(in->tensor.dims + 1, dims, sizeof(int64_t) * (size_t)ndim);
    OT_ALLOC_CHECK(m->inputs = oti_calloc(2, sizeof(int)));
    m->inputs[m->n_inputs++] = v;
    return OT_OK;
}

ot_status ot_builder_create(const char *input_name, int ndim, const int64_t *dims, ot_model **out) {
    *out = ot_model_new();
    if (!*out) return OT_ERR_MEMORY;
    ot_status status = start_model(*out, input_name, ndim, dims);
    if (status != OT_OK) {
        ot_model_free(*out);
        *out = NULL;
    }
    return status;
}

/* Building state: the model, the current tensor and its shape (batch 1). */
typedef struct builder {
    const ot_context *context; /* new weights stay within its memory limit */
    ot_model *m;
    char *current;
    ot_tensor shape;
    const ot_init_spec *init;
    ot_rng *rng;
    const char *prefix;
    int counts[16];
} builder;

enum { K_DENSE, K_CONV, K_POOL, K_BN, K_DROPOUT, K_FLATTEN, K_ACT };

static int is_activation(const char *name) {
    const char *acts[] = {"relu", "leakyrelu", "prelu", "elu", "selu", "sigmoid", "tanh", "softmax"};
    for (int i = 0; i < 8; i++)
        if (!strcmp(name, acts[i])) return 1;
    return 0;
}

/* The init for a layer followed by activation act (NULL: none). */
static ot_init_spec init_for(const builder *b, const char *act) {
    if (!b->init->by_activation) return *b->init;
    ot_init_spec s = {0};
    if (act && (!strcmp(act, "relu") || !strcmp(act, "leakyrelu") || !strcmp(act, "prelu") || !strcmp(act, "elu")))
        ot_builder_parse_init("he_normal", &s);
    else if (act && !strcmp(act, "selu"))
        ot_builder_parse_init("lecun_normal", &s);
    else
        ot_builder_parse_init("glorot_uniform", &s);
    return s;
}

static ot_status refresh_shape(builder *b) {
    return ot_plan_infer_value_shape(b->context, b->m, ot_model_find_value(b->m, b->current), &b->shape);
}

/* Names of new layers and their tensors fit in NAME_MAX_BYTES (a prefix that long fails). */
#define NAME_MAX_BYTES 256

/* printf into buf (NAME_MAX_BYTES), failing when it does not fit. */
static ot_status format_name(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ot_status format_name(char *buf, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, NAME_MAX_BYTES, fmt, args);
    va_end(args);
    if (n < 0 || n >= NAME_MAX_BYTES)
        return oti_fail(OT_ERR_INVALID, "new layer name '%.40s...' is longer than %d bytes", buf,
                        NAME_MAX_BYTES - 1);
    return OT_OK;
}

static int name_taken(const ot_model *m, const char *name) {
    for (int i = 0; i < m->n_layers; i++)
        if (!strcmp(m->layers[i].name, name)) return 1;
    char out[NAME_MAX_BYTES + 16], weight[NAME_MAX_BYTES + 16];
    snprintf(out, sizeof out, "%s_out", name);
    snprintf(weight, sizeof weight, "%s.weight", name);
    return ot_model_find_value(m, name) >= 0 || ot_model_find_value(m, out) >= 0 ||
           ot_model_find_value(m, weight) >= 0;
}

/* "<prefix><base><k>" into name, with the next k not used by a layer or tensor of the model. */
static ot_status next_name(builder *b, int kind, const char *base, char *name) {
    do {
        OT_TRY(format_name(name, "%s%s%d", b->prefix, base, ++b->counts[kind]));
    } while (name_taken(b->m, name));
    return OT_OK;
}

static ot_status add_weight(builder *b, const char *name, int ndim, const int64_t *dims,
                            const ot_init_spec *init, int64_t fan_in, int64_t fan_out, float fill) {
    ot_tensor t;
    OT_TRY(ot_tensor_alloc(b->context, &t, OT_FLOAT, ndim, dims, name));
    int64_t n = ot_tensor_numel(&t);
    if (init) ot_builder_fill(t.data, n, init, fan_in, fan_out, b->rng);
    else for (int64_t i = 0; i < n; i++) ((float *)t.data)[i] = fill;
    ot_status status = ot_model_add_initializer(b->m, name, &t, NULL);
    if (status != OT_OK) ot_tensor_free(&t);
    return status;
}

/* Appends node op(inputs) -> "<name>_out" and makes it current. attrs are copied (they
 * borrow their names and values: attr_int and the like allocate nothing). */
static ot_status add_node(builder *b, const char *name, const char *op, int n_in,
                          const char *const *inputs, int n_attrs, ot_attr *attrs) {
    char *out = oti_asprintf("%s_out", name);
    OT_ALLOC_CHECK(out);
    const char *outs[1] = {out};
    int li;
    ot_status status = ot_model_add_layer(b->m, name, op, "", n_in, inputs, 1, outs, &li);
    for (int a = 0; a < n_attrs && status == OT_OK; a++) status = ot_layer_add_attr(&b->m->layers[li], &attrs[a]);
    if (status == OT_OK) {
        free(b->current);
        b->current = out;
        status = refresh_shape(b);
        if (status != OT_OK) oti_error_prefix("layer '%s': ", name);
    } else {
        free(out);
    }
    return status;
}

static ot_status add_activation(builder *b, const char *act, const char *arg) {
    static const struct { const char *spec, *op, *base; } table[] = {
        {"relu", "Relu", "relu"}, {"leakyrelu", "LeakyRelu", "leakyrelu"}, {"prelu", "PRelu", "prelu"},
        {"elu", "Elu", "elu"}, {"selu", "Selu", "selu"}, {"sigmoid", "Sigmoid", "sigmoid"},
        {"tanh", "Tanh", "tanh"}, {"softmax", "Softmax", "softmax"}};
    int k = 0;
    while (strcmp(table[k].spec, act)) k++;
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_ACT + 1 + k, table[k].base, name));
    ot_attr attrs[1];
    int n_attrs = 0;
    double alpha = 0;
    if (arg && (!oti_parse_double(arg, &alpha) || !isfinite(alpha)))
        return oti_fail(OT_ERR_INVALID, "layer spec %s:%s: alpha must be a number", act, arg);
    if (!strcmp(act, "leakyrelu")) attrs[n_attrs++] = oti_attr_float("alpha", arg ? (float)alpha : 0.01f);
    if (!strcmp(act, "elu")) attrs[n_attrs++] = oti_attr_float("alpha", arg ? (float)alpha : 1.0f);
    /* Before opset 13 Softmax flattens to 2-D at axis; axis 1 keeps (N, classes) intact. */
    if (!strcmp(act, "softmax")) attrs[n_attrs++] = oti_attr_int("axis", ot_model_opset(b->m, "") >= 13 ? -1 : 1);
    const char *inputs[2] = {b->current, NULL};
    int n_in = 1;
    char slope[NAME_MAX_BYTES];
    if (!strcmp(act, "prelu")) {
        /* One slope per channel (dim 1), shaped to broadcast: (C, 1, 1) for images. */
        int64_t dims[OT_MAX_DIMS] = {b->shape.ndim > 1 ? b->shape.dims[1] : 1};
        int ndim = b->shape.ndim > 1 ? b->shape.ndim - 1 : 1;
        for (int d = 1; d < ndim; d++) dims[d] = 1;
        OT_TRY(format_name(slope, "%s.slope", name));
        OT_TRY(add_weight(b, slope, ndim, dims, NULL, 0, 0, 0.25f));
        inputs[1] = slope;
        n_in = 2;
    }
    return add_node(b, name, table[k].op, n_in, inputs, n_attrs, attrs);
}

static ot_status add_dense(builder *b, int64_t units, const char *act) {
    if (b->shape.ndim != 2)
        return oti_fail(OT_ERR_INVALID, "dense:%lld needs a 2-D input (batch, features), but the "
                       "input has %d dims: add 'flatten' before it", (long long)units, b->shape.ndim);
    int64_t in = b->shape.dims[1];
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_DENSE, "dense", name));
    char w[NAME_MAX_BYTES], bias[NAME_MAX_BYTES];
    OT_TRY(format_name(w, "%s.weight", name));
    OT_TRY(format_name(bias, "%s.bias", name));
    ot_init_spec init = init_for(b, act);
    int64_t wd[2] = {units, in}, bd[1] = {units};
    ot_status status = add_weight(b, w, 2, wd, &init, in, units, 0);
    if (status == OT_OK) status = add_weight(b, bias, 1, bd, NULL, 0, 0, 0.0f);
    if (status == OT_OK) {
        const char *inputs[3] = {b->current, w, bias};
        ot_attr attrs[1] = {oti_attr_int("transB", 1)};
        status = add_node(b, name, "Gemm", 3, inputs, 1, attrs);
    }
    return status;
}

static ot_status add_conv(builder *b, int64_t filters, int64_t kh, int64_t kw, int64_t stride,
                          int64_t pad, int same, const char *act) {
    if (b->shape.ndim != 4)
        return oti_fail(OT_ERR_INVALID, "conv needs a 4-D input (N, C, H, W), but the input has %d "
                       "dims", b->shape.ndim);
    int64_t channels = b->shape.dims[1];
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_CONV, "conv", name));
    char w[NAME_MAX_BYTES], bias[NAME_MAX_BYTES];
    OT_TRY(format_name(w, "%s.weight", name));
    OT_TRY(format_name(bias, "%s.bias", name));
    ot_init_spec init = init_for(b, act);
    int64_t wd[4] = {filters, channels, kh, kw}, bd[1] = {filters};
    ot_status status = add_weight(b, w, 4, wd, &init, channels * kh * kw, filters * kh * kw, 0);
    if (status == OT_OK) status = add_weight(b, bias, 1, bd, NULL, 0, 0, 0.0f);
    if (status == OT_OK) {
        const char *inputs[3] = {b->current, w, bias};
        int64_t kernel[2] = {kh, kw}, strides[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
        ot_attr attrs[3] = {oti_attr_ints("kernel_shape", 2, kernel), oti_attr_ints("strides", 2, strides),
                            same ? oti_attr_string("auto_pad", "SAME_UPPER") : oti_attr_ints("pads", 4, pads)};
        status = add_node(b, name, "Conv", 3, inputs, 3, attrs);
    }
    return status;
}

static ot_status add_batchnorm(builder *b) {
    if (b->shape.ndim < 2) return oti_fail(OT_ERR_INVALID, "batchnorm needs (N, C, ...) input");
    int64_t channels = b->shape.dims[1], dims[1] = {channels};
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_BN, "bn", name));
    const char *roles[4] = {"weight", "bias", "running_mean", "running_var"};
    const float fills[4] = {1.0f, 0.0f, 0.0f, 1.0f};
    char names[4][NAME_MAX_BYTES];
    ot_status status = OT_OK;
    for (int k = 0; k < 4 && status == OT_OK; k++) {
        status = format_name(names[k], "%s.%s", name, roles[k]);
        if (status == OT_OK) status = add_weight(b, names[k], 1, dims, NULL, 0, 0, fills[k]);
    }
    if (status == OT_OK) {
        const char *inputs[5] = {b->current, names[0], names[1], names[2], names[3]};
        ot_attr attrs[2] = {oti_attr_float("epsilon", 1e-5f), oti_attr_float("momentum", 0.9f)};
        status = add_node(b, name, "BatchNormalization", 5, inputs, 2, attrs);
    }
    return status;
}

static ot_status add_pool(builder *b, const char *kind, int64_t k) {
    if (b->shape.ndim != 4) return oti_fail(OT_ERR_INVALID, "%s needs a 4-D input (N, C, H, W)", kind);
    int global = !strcmp(kind, "globalavgpool");
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_POOL, global ? "globalavgpool" : !strcmp(kind, "maxpool") ? "maxpool" : "avgpool", name));
    const char *inputs[1] = {b->current};
    ot_status status;
    if (global) {
        status = add_node(b, name, "GlobalAveragePool", 1, inputs, 0, NULL);
    } else {
        int64_t kernel[2] = {k, k};
        ot_attr attrs[2] = {oti_attr_ints("kernel_shape", 2, kernel), oti_attr_ints("strides", 2, kernel)};
        status = add_node(b, name, !strcmp(kind, "maxpool") ? "MaxPool" : "AveragePool", 1, inputs, 2, attrs);
    }
    return status;
}

static ot_status add_dropout(builder *b, double p) {
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_DROPOUT, "dropout", name));
    if (ot_model_opset(b->m, "") < 12) { /* ratio was an attribute before opset 12 */
        const char *inputs[1] = {b->current};
        ot_attr attrs[1] = {oti_attr_float("ratio", (float)p)};
        ot_status status = add_node(b, name, "Dropout", 1, inputs, 1, attrs);
        return status;
    }
    char ratio[NAME_MAX_BYTES];
    OT_TRY(format_name(ratio, "%s.ratio", name));
    ot_tensor t;
    ot_status status = ot_tensor_alloc(NULL, &t, OT_FLOAT, 0, NULL, ratio);
    if (status == OT_OK) {
        *(float *)t.data = (float)p;
        status = ot_model_add_initializer(b->m, ratio, &t, NULL);
    }
    if (status == OT_OK) {
        const char *inputs[2] = {b->current, ratio};
        status = add_node(b, name, "Dropout", 2, inputs, 0, NULL);
    }
    return status;
}

static ot_status add_flatten(builder *b) {
    char name[NAME_MAX_BYTES];
    OT_TRY(next_name(b, K_FLATTEN, "flatten", name));
    const char *inputs[1] = {b->current};
    ot_attr attrs[1] = {oti_attr_int("axis", 1)};
    ot_status status = add_node(b, name, "Flatten", 1, inputs, 1, attrs);
    return status;
}

/* Splits "conv:32:3x3:1:same:relu" at ':' into at most 8 fields. */
static int split_fields(char *item, char **fields) {
    int n = 0;
    for (char *save = NULL, *f = strtok_r(item, ":", &save); f && n < 8; f = strtok_r(NULL, ":", &save))
        fields[n++] = f;
    return n;
}

static ot_status bad_layer(const char *item, const char *expected) {
    return oti_fail(OT_ERR_INVALID, "layer spec '%s': expected %s", item, expected);
}

static ot_status add_layer(builder *b, char *item, const char *next_item) {
    char *original = oti_strdup(item);
    OT_ALLOC_CHECK_COPY(original, item);
    char *f[8];
    int n = split_fields(item, f);
    int64_t a = 0, c = 0;
    ot_status status;
    /* The activation that follows decides the default initializer. */
    char next_act[32] = {0};
    if (next_item) sscanf(next_item, "%31[a-z]", next_act);
    const char *following = is_activation(next_act) ? next_act : NULL;
    if (n == 0) status = bad_layer(original, "a layer");
    else if (!strcmp(f[0], "flatten") && n == 1) status = add_flatten(b);
    else if (!strcmp(f[0], "dense")) {
        if (n < 2 || n > 3 || !oti_parse_int64(f[1], &a) || a < 1 || (n == 3 && !is_activation(f[2])))
            status = bad_layer(original, "dense:UNITS[:ACTIVATION]");
        else {
            status = add_dense(b, a, n == 3 ? f[2] : following);
            if (status == OT_OK && n == 3) status = add_activation(b, f[2], NULL);
        }
    } else if (!strcmp(f[0], "conv")) {
        int64_t kh = 0, kw = 0, stride = 1, pad = 0;
        int same = 0, k = 3;
        const char *act = NULL;
        int ok = n >= 3 && oti_parse_int64(f[1], &a) && a >= 1 && sscanf(f[2], "%lldx%lld", (long long *)&kh, (long long *)&kw) == 2 && kh >= 1 && kw >= 1;
        if (ok && k < n && !is_activation(f[k])) ok = oti_parse_int64(f[k++], &stride) && stride >= 1;
        if (ok && k < n && !is_activation(f[k])) {
            if (!strcmp(f[k], "same")) same = 1;
            else if (strcmp(f[k], "valid")) ok = oti_parse_int64(f[k], &pad) && pad >= 0;
            k++;
        }
        if (ok && k < n) act = is_activation(f[k]) ? f[k++] : NULL, ok = act != NULL;
        ok = ok && k == n;
        if (!ok) status = bad_layer(original, "conv:FILTERS:KxK[:STRIDE[:PAD]][:ACTIVATION]");
        else {
            status = add_conv(b, a, kh, kw, stride, pad, same, act ? act : following);
            if (status == OT_OK && act) status = add_activation(b, act, NULL);
        }
    } else if (!strcmp(f[0], "maxpool") || !strcmp(f[0], "avgpool")) {
        if (n != 2 || !oti_parse_int64(f[1], &a) || a < 1) status = bad_layer(original, "maxpool:K or avgpool:K");
        else status = add_pool(b, f[0], a);
    } else if (!strcmp(f[0], "globalavgpool") && n == 1) status = add_pool(b, f[0], 0);
    else if (!strcmp(f[0], "batchnorm") && n == 1) status = add_batchnorm(b);
    else if (!strcmp(f[0], "dropout")) {
        double p;
        if (n != 2 || !oti_parse_double(f[1], &p) || p < 0 || p >= 1) status = bad_layer(original, "dropout:P with 0 <= P < 1");
        else status = add_dropout(b, p);
    } else if (is_activation(f[0]) && n <= 2) {
        int takes_alpha = !strcmp(f[0], "leakyrelu") || !strcmp(f[0], "elu");
        if (n == 2 && !takes_alpha) status = bad_layer(original, "no argument for this activation");
        else status = add_activation(b, f[0], n == 2 ? f[1] : NULL);
    } else {
        status = bad_layer(original, "flatten, dense:N[:act], conv:N:KxK[:stride[:pad]][:act], maxpool:K, "
                           "avgpool:K, globalavgpool, batchnorm, dropout:P, relu, leakyrelu[:alpha], prelu, "
                           "elu[:alpha], selu, sigmoid, tanh or softmax");
    }
    (void)c;
    free(original);
    return status;
}

ot_status ot_builder_append(const ot_context *ctx, ot_model *m, const char *spec, const char *from,
                                 const ot_init_spec *init, ot_rng *rng, const char *prefix) {
    if (ot_model_find_value(m, from) < 0) return oti_fail(OT_ERR_INVALID, "tensor '%s' does not exist", from);
    builder b = {.context = ctx, .m = m, .current = oti_strdup(from), .init = init, .rng = rng, .prefix = prefix ? prefix : ""};
    char *copy = oti_strdup(spec);
    ot_status status = b.current && copy ? refresh_shape(&b) : OT_ERR_MEMORY;
    char *items[256];
    int n_items = 0;
    for (char *save = NULL, *item = status == OT_OK ? strtok_r(copy, ",", &save) : NULL; item && n_items < 256;
         item = strtok_r(NULL, ",", &save))
        items[n_items++] = item;
    if (n_items == 0 && status == OT_OK) status = oti_fail(OT_ERR_INVALID, "empty layer spec");
    for (int i = 0; i < n_items && status == OT_OK; i++)
        status = add_layer(&b, items[i], i + 1 < n_items ? items[i + 1] : NULL);
    int *outputs = status == OT_OK ? oti_calloc(2, sizeof(int)) : NULL;
    if (status == OT_OK && !outputs) status = OT_ERR_MEMORY;
    if (status == OT_OK) {
        /* The last layer's output is the model's only output, typed (N, ...). */
        int v = ot_model_find_value(m, b.current);
        free(m->outputs);
        m->outputs = outputs;
        m->outputs[0] = v;
        m->n_outputs = 1;
        ot_value *out = &m->values[v];
        out->has_type = out->has_shape = 1;
        ot_tensor_set_shape(&out->tensor, OT_FLOAT, b.shape.ndim, b.shape.dims);
        out->tensor.dims[0] = -1;
        free(out->dim_names[0]);
        out->dim_names[0] = oti_strdup("N");
        status = out->dim_names[0] ? ot_graph_prune(m) : OT_ERR_MEMORY;
    }
    free(copy);
    free(b.current);
    return status;
}
