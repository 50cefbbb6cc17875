/* Op family 'training': the optimizer ops of ai.onnx.preview.training (opset 1) Adagrad,
 * Momentum (standard and nesterov) and Adam. Each updates any number of tensors at once:
 * inputs R (learning rate), T (update count), then X_1..X_k, G_1..G_k and the state tensors
 * (H for Adagrad, V for Momentum, V then H for Adam), k of each; outputs the new X_1..X_k
 * followed by the new states. They run the trainer's kernels (optimizer_kernels.h)
 * with ONNX's coefficients: outputs are first copied from X and the states, then updated in
 * place. No backward: an optimizer step is not differentiated. */
#include <math.h>
#include <string.h>

#include "optimizer_kernels.h"
#include "op.h"

typedef enum training_kind { TRAIN_ADAGRAD, TRAIN_MOMENTUM, TRAIN_ADAM } training_kind;

typedef struct training_params {
    training_kind kind;
    int n_states; /* state tensors per optimized tensor: 1, or 2 for Adam */
    float norm_coefficient, norm_coefficient_post;
    float epsilon, decay_factor;
    float alpha, beta;
    int nesterov;
} training_params;

/* Momentum's attributes have no defaults in the spec: absence is an error. */
static ot_status required_float(const ot_layer *l, const char *name, float *out) {
    if (!ot_layer_find_attr(l, name))
        return oti_node_fail(l, OT_ERR_INVALID, "attribute '%s' is required", name);
    return oti_attr_get_float(l, name, 0.0f, out);
}

static ot_status parse_momentum(const ot_layer *l, training_params *p) {
    const char *mode;
    OT_TRY(required_float(l, "alpha", &p->alpha));
    OT_TRY(required_float(l, "beta", &p->beta));
    OT_TRY(required_float(l, "norm_coefficient", &p->norm_coefficient));
    if (!ot_layer_find_attr(l, "mode"))
        return oti_node_fail(l, OT_ERR_INVALID, "attribute 'mode' is required");
    OT_TRY(oti_attr_get_string(l, "mode", "", &mode));
    if (strcmp(mode, "standard") != 0 && strcmp(mode, "nesterov") != 0)
        return oti_node_fail(l, OT_ERR_INVALID, "mode must be 'standard' or 'nesterov', not '%s'",
                            mode);
    p->nesterov = strcmp(mode, "nesterov") == 0;
    return OT_OK;
}

static ot_status parse(const ot_layer *l, void *params) {
    training_params *p = params;
    memset(p, 0, sizeof *p);
    p->n_states = 1;
    if (!strcmp(l->op_type, "Adagrad")) {
        p->kind = TRAIN_ADAGRAD;
        OT_TRY(oti_attr_get_float(l, "epsilon", 1e-6f, &p->epsilon));
        OT_TRY(oti_attr_get_float(l, "decay_factor", 0.0f, &p->decay_factor));
        OT_TRY(oti_attr_get_float(l, "norm_coefficient", 0.0f, &p->norm_coefficient));
    } else if (!strcmp(l->op_type, "Momentum")) {
        p->kind = TRAIN_MOMENTUM;
        OT_TRY(parse_momentum(l, p));
    } else if (!strcmp(l->op_type, "Adam")) {
        p->kind = TRAIN_ADAM;
        p->n_states = 2;
        OT_TRY(oti_attr_get_float(l, "alpha", 0.9f, &p->alpha));
        OT_TRY(oti_attr_get_float(l, "beta", 0.999f, &p->beta));
        OT_TRY(oti_attr_get_float(l, "norm_coefficient", 0.0f, &p->norm_coefficient));
        OT_TRY(oti_attr_get_float(l, "norm_coefficient_post", 0.0f, &p->norm_coefficient_post));
        OT_TRY(oti_attr_get_float(l, "epsilon", 1e-6f, &p->epsilon));
    } else {
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not a training op");
    }
    return OT_OK;
}

/* The input layout: R, T, then groups of k tensors (X, G, states...). */
static int tensors_per_group(const training_params *p) { return 2 + p->n_states; }

static int optimized_count(const ot_node_ctx *c) {
    const training_params *p = c->params;
    return (c->n_in - 2) / tensors_per_group(p);
}

/* in[] index of role r (0 = X, 1 = G, 2.. = states) of optimized tensor i. */
static int input_index(int k, int role, int i) { return 2 + role * k + i; }
/* out[] index of role r (0 = X, 1.. = states) of optimized tensor i. */
static int output_index(int k, int role, int i) { return role * k + i; }

static ot_status check_scalar(ot_node_ctx *c, int index, const char *name, ot_dtype dtype) {
    const ot_tensor *t = c->in[index];
    OT_NODE_CHECK(c, t, "input %s is required", name);
    OT_NODE_CHECK(c, t->dtype == dtype, "input %s must be %s, not %s", name, ot_dtype_name(dtype),
                  ot_dtype_name(t->dtype));
    OT_NODE_CHECK(c, ot_tensor_numel(t) == 1, "input %s must be a scalar", name);
    return OT_OK;
}

static const char *const role_names[4] = {"X", "G", "state", "state"};

static ot_status infer(ot_node_ctx *c) {
    const training_params *p = c->params;
    int per_group = tensors_per_group(p);
    OT_NODE_CHECK(c, c->n_in >= 2 + per_group && (c->n_in - 2) % per_group == 0,
                  "needs R, T and %d groups of k tensors (X..., G..., %s), not %d inputs", per_group,
                  p->kind == TRAIN_ADAGRAD ? "H..." : p->kind == TRAIN_MOMENTUM ? "V..." : "V..., H...",
                  c->n_in);
    int k = optimized_count(c);
    OT_NODE_CHECK(c, c->n_out <= (1 + p->n_states) * k,
                  "has %d outputs; %d optimized tensors give at most %d", c->n_out, k,
                  (1 + p->n_states) * k);
    OT_TRY(check_scalar(c, 0, "R", OT_FLOAT));
    OT_TRY(check_scalar(c, 1, "T", OT_INT64));
    size_t scratch = 0; /* floats for the outputs left out, for the largest tensor */
    for (int i = 0; i < k; i++) {
        const ot_tensor *x = c->in[input_index(k, 0, i)];
        for (int role = 0; role < per_group; role++) {
            const ot_tensor *t = c->in[input_index(k, role, i)];
            OT_NODE_CHECK(c, t, "input %s %d is missing", role_names[role], i + 1);
            OT_NODE_CHECK(c, t->dtype == OT_FLOAT, "input %s %d must be float32, not %s",
                          role_names[role], i + 1, ot_dtype_name(t->dtype));
            OT_NODE_CHECK(c, ot_tensor_same_shape(t, x), "input %s %d must have the shape of X %d",
                          role_names[role], i + 1, i + 1);
        }
        size_t missing = 0;
        for (int role = 0; role <= p->n_states; role++) {
            int o = output_index(k, role, i);
            if (o < c->n_out && c->out[o]) ot_tensor_set_shape(c->out[o], OT_FLOAT, x->ndim, x->dims);
            else missing += (size_t)ot_tensor_numel(x);
        }
        if (missing > scratch) scratch = missing;
    }
    c->workspace_bytes = scratch * sizeof(float);
    return OT_OK;
}

/* Where role r of tensor i is written: its output, or scratch when the output is left out.
 * The buffer starts as a copy of the input, which the kernels then update in place. */
static float *output_buffer(ot_node_ctx *c, int k, int role, int i, float **scratch) {
    int o = output_index(k, role, i);
    const ot_tensor *from = c->in[input_index(k, role == 0 ? 0 : role + 1, i)];
    int64_t n = ot_tensor_numel(from);
    float *buffer;
    if (o < c->n_out && c->out[o]) buffer = c->out[o]->data;
    else {
        buffer = *scratch;
        *scratch += n;
    }
    if (buffer != from->data) memcpy(buffer, from->data, sizeof(float) * (size_t)n);
    return buffer;
}

/* ONNX's Adam coefficients: the learning rate R * sqrt(1 - beta^T) / (1 - alpha^T) (R at
 * T == 0), eps added to the uncorrected sqrt(H), X scaled by 1 - norm_coefficient_post
 * after the update. */
static ot_adam_coeffs onnx_adam_coeffs(const training_params *p, double r, int64_t t) {
    double alpha = oti_typed_value(p->alpha), beta = oti_typed_value(p->beta);
    double step_size = t > 0 ? r * sqrt(1.0 - pow(beta, (double)t)) / (1.0 - pow(alpha, (double)t)) : r;
    return (ot_adam_coeffs){
        .step_size = (float)step_size,
        .denom_scale = 1.0f,
        .eps = p->epsilon,
        .beta1 = p->alpha,
        .one_minus_beta1 = (float)(1.0 - alpha),
        .beta2 = p->beta,
        .one_minus_beta2 = (float)(1.0 - beta),
        .wd = p->norm_coefficient,
        .pre_scale = 1.0f,
        .post_scale = (float)(1.0 - oti_typed_value(p->norm_coefficient_post)),
    };
}

static void update_one(const training_params *p, float *x, float *s0, float *s1, const float *g,
                       int64_t n, double r, int64_t t) {
    switch (p->kind) {
    case TRAIN_ADAGRAD: {
        float lr = (float)(r / (1.0 + (double)t * oti_typed_value(p->decay_factor)));
        oti_adagrad_update(x, s0, g, n, lr, p->norm_coefficient, p->epsilon);
        break;
    }
    case TRAIN_MOMENTUM:
        /* The gradient's coefficient is 1 on the first update (T == 0), beta after. */
        oti_momentum_update(x, s0, g, n, (float)r, p->norm_coefficient, p->alpha,
                           t > 0 ? p->beta : 1.0f, p->nesterov);
        break;
    case TRAIN_ADAM: {
        ot_adam_coeffs coeffs = onnx_adam_coeffs(p, r, t);
        oti_adam_update(x, s0, s1, g, n, &coeffs);
        break;
    }
    }
}

static ot_status forward(ot_node_ctx *c) {
    const training_params *p = c->params;
    int k = optimized_count(c);
    double r = ((const float *)c->in[0]->data)[0];
    int64_t t = ((const int64_t *)c->in[1]->data)[0];
    for (int i = 0; i < k; i++) {
        float *scratch = c->workspace;
        const ot_tensor *g = c->in[input_index(k, 1, i)];
        float *x = output_buffer(c, k, 0, i, &scratch);
        float *s0 = output_buffer(c, k, 1, i, &scratch);
        float *s1 = p->n_states == 2 ? output_buffer(c, k, 2, i, &scratch) : NULL;
        update_one(p, x, s0, s1, g->data, ot_tensor_numel(g), r, t);
    }
    return OT_OK;
}

#define C OT_ROLE_CONSTANT
#define TRAINING_OP(op_name)                                                                   \
    {.domain = "ai.onnx.preview.training", .name = op_name, .since_version = 1,                  \
     .params_size = sizeof(training_params), .parse = parse, .infer = infer, .forward = forward, \
     .inputs = {C, C, C, C, C, C, C, C}, .other_inputs = C}

/* Every input is state the op itself updates (or R and T): none is a trained parameter. */
const ot_op oti_ops_training[] = {
    TRAINING_OP("Adagrad"),
    TRAINING_OP("Momentum"),
    TRAINING_OP("Adam"),
};
#undef C
const ot_op_family oti_family_training = {oti_ops_training, (int)(sizeof oti_ops_training / sizeof oti_ops_training[0])};
