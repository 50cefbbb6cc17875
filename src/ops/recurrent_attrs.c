/* The recurrent ops' attributes: direction, layout, hidden size, clip, the GRU/LSTM flags and
 * the activation lists with their alpha/beta, and the activations themselves. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "fast_math.h"
#include "recurrent_internal.h"

/* Per activation: its ONNX name, whether it reads alpha / beta, and their defaults (ONNX
 * Runtime's: 0 for Affine and ScaledTanh). */
typedef struct act_info {
    const char *name;
    act_kind kind;
    int uses_alpha, uses_beta;
    float alpha, beta;
} act_info;

static const act_info act_table[] = {
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0.0f, 0.0f},
    {"Tanh", ACT_TANH, 0, 0, 0.0f, 0.0f},
    {"Relu", ACT_RELU, 0, 0, 0.0f, 0.0f},
    {"Affine", ACT_AFFINE, 1, 1, 0.0f, 0.0f},
    {"LeakyRelu", ACT_LEAKY_RELU, 1, 0, 0.01f, 0.0f},
    {"ThresholdedRelu", ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0.0f},
    {"ScaledTanh", ACT_SCALED_TANH, 1, 1, 0.0f, 0.0f},
    {"HardSigmoid", ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", ACT_ELU, 1, 0, 1.0f, 0.0f},
    {"Softsign", ACT_SOFTSIGN, 0, 0, 0.0f, 0.0f},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0.0f, 0.0f},
};

/* ONNX names compare case-insensitively (ONNX Runtime lowercases them). */
static int same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

static const act_info *find_act(const char *name) {
    for (int i = 0; i < OT_COUNT(act_table); i++)
        if (same_name(act_table[i].name, name)) return &act_table[i];
    return NULL;
}

/* activations, activation_alpha, activation_beta: alphas and betas are consumed in order by
 * the activations that read them (as ONNX Runtime); absent lists keep each op's defaults. */
static ot_status parse_activations(const ot_layer *l, recurrent_params *p) {
    static const char *const defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    int need = p->acts_per_dir * p->directions;
    const ot_attr *a = ot_layer_find_attr(l, "activations");
    if (a && a->type != OT_ATTR_STRINGS)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute 'activations' should be a list of strings");
    int given = a ? a->count : 0;
    if (a && given != need && !(p->directions == 2 && given == p->acts_per_dir))
        return oti_node_fail(l, OT_ERR_INVALID, "activations has %d names; %s with %d direction(s) "
                             "needs %d", given, l->op_type, p->directions, need);
    float alphas[MAX_ACTS], betas[MAX_ACTS];
    int n_alpha, n_beta, next_alpha = 0, next_beta = 0;
    OT_TRY(oti_attr_get_floats(l, "activation_alpha", alphas, MAX_ACTS, &n_alpha));
    OT_TRY(oti_attr_get_floats(l, "activation_beta", betas, MAX_ACTS, &n_beta));
    for (int k = 0; k < need; k++) {
        const char *name = a ? a->strings[k % given] : defaults[p->kind][k % p->acts_per_dir];
        const act_info *info = find_act(name);
        if (!info) return oti_node_fail(l, OT_ERR_UNSUPPORTED, "unknown activation '%s'", name);
        rnn_act *act = &p->acts[k];
        act->kind = info->kind;
        act->alpha = info->uses_alpha && next_alpha < n_alpha ? alphas[next_alpha++] : info->alpha;
        act->beta = info->uses_beta && next_beta < n_beta ? betas[next_beta++] : info->beta;
    }
    return OT_OK;
}

static ot_status parse_direction(const ot_layer *l, recurrent_params *p) {
    const char *direction;
    OT_TRY(oti_attr_get_string(l, "direction", "forward", &direction));
    p->directions = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
    p->reverse = strcmp(direction, "reverse") == 0;
    if (p->directions == 1 && !p->reverse && strcmp(direction, "forward") != 0)
        return oti_node_fail(l, OT_ERR_INVALID, "direction is '%s'; it must be forward, reverse or "
                             "bidirectional", direction);
    return OT_OK;
}

/* A 0/1 attribute. */
static ot_status parse_flag(const ot_layer *l, const char *name, int *out) {
    int64_t v;
    OT_TRY(oti_attr_get_int(l, name, 0, &v));
    if (v != 0 && v != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "%s must be 0 or 1, not %lld", name, (long long)v);
    *out = (int)v;
    return OT_OK;
}

static ot_status parse_recurrent(const ot_layer *l, recurrent_params *p, rnn_kind kind) {
    memset(p, 0, sizeof *p);
    static const int gates[3] = {1, 3, 4}, acts[3] = {1, 2, 3};
    p->kind = kind;
    p->gates = gates[kind];
    p->acts_per_dir = acts[kind];
    OT_TRY(parse_direction(l, p));
    OT_TRY(oti_attr_get_int(l, "hidden_size", 0, &p->hidden));
    if (p->hidden < 0)
        return oti_node_fail(l, OT_ERR_INVALID, "hidden_size is %lld", (long long)p->hidden);
    OT_TRY(oti_attr_get_float(l, "clip", 0.0f, &p->clip));
    if (!(p->clip >= 0.0f))
        return oti_node_fail(l, OT_ERR_INVALID, "clip is %g; it must be positive (or 0: none)", p->clip);
    if (l->opset >= 14) OT_TRY(parse_flag(l, "layout", &p->layout));
    if (kind == KIND_GRU) OT_TRY(parse_flag(l, "linear_before_reset", &p->linear_before_reset));
    if (kind == KIND_LSTM) OT_TRY(parse_flag(l, "input_forget", &p->input_forget));
    return parse_activations(l, p);
}

ot_status oti_recurrent_parse_rnn(const ot_layer *l, void *params) { return parse_recurrent(l, params, KIND_RNN); }
ot_status oti_recurrent_parse_gru(const ot_layer *l, void *params) { return parse_recurrent(l, params, KIND_GRU); }
ot_status oti_recurrent_parse_lstm(const ot_layer *l, void *params) { return parse_recurrent(l, params, KIND_LSTM); }

/* Activations ----------------------------------------------------------------------------- */

static float act_value(const rnn_act *a, float x) {
    switch (a->kind) {
    case ACT_SIGMOID: return ot_sigmoid_fast(x);
    case ACT_TANH: return ot_tanh_fast(x);
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_AFFINE: return a->alpha * x + a->beta;
    case ACT_LEAKY_RELU: return x >= 0.0f ? x : a->alpha * x;
    case ACT_THRESHOLDED_RELU: return x > a->alpha ? x : 0.0f;
    case ACT_SCALED_TANH: return a->alpha * tanhf(a->beta * x);
    case ACT_HARD_SIGMOID: return fminf(fmaxf(a->alpha * x + a->beta, 0.0f), 1.0f);
    case ACT_ELU: return x >= 0.0f ? x : a->alpha * (expf(x) - 1.0f);
    case ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case ACT_SOFTPLUS: return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
    }
    return x;
}

/* d act(x) / dx. */
static float act_slope(const rnn_act *a, float x) {
    switch (a->kind) {
    case ACT_SIGMOID: { float s = ot_sigmoid_fast(x); return s * (1.0f - s); }
    case ACT_TANH: { float t = ot_tanh_fast(x); return 1.0f - t * t; }
    case ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case ACT_AFFINE: return a->alpha;
    case ACT_LEAKY_RELU: return x >= 0.0f ? 1.0f : a->alpha;
    case ACT_THRESHOLDED_RELU: return x > a->alpha ? 1.0f : 0.0f;
    case ACT_SCALED_TANH: { float t = tanhf(a->beta * x); return a->alpha * a->beta * (1.0f - t * t); }
    case ACT_HARD_SIGMOID: { float v = a->alpha * x + a->beta; return v > 0.0f && v < 1.0f ? a->alpha : 0.0f; }
    case ACT_ELU: return x >= 0.0f ? 1.0f : a->alpha * expf(x);
    case ACT_SOFTSIGN: { float d = 1.0f + fabsf(x); return 1.0f / (d * d); }
    case ACT_SOFTPLUS: return ot_sigmoid_fast(x);
    }
    return 1.0f;
}

/* Where clip bounds z (clip 0: nowhere). */
static float clip_limit(float clip) { return clip > 0.0f ? clip : INFINITY; }
static float clamp(float z, float lim) { return z < -lim ? -lim : z > lim ? lim : z; }

/* Sigmoid and Tanh (the default gates) vectorise. */
void oti_recurrent_act_forward(const rnn_act *a, float clip, float *y, const float *z, int64_t n) {
    float lim = clip_limit(clip);
    if (a->kind == ACT_SIGMOID)
        for (int64_t j = 0; j < n; j++) y[j] = ot_sigmoid_fast(clamp(z[j], lim));
    else if (a->kind == ACT_TANH)
        for (int64_t j = 0; j < n; j++) y[j] = ot_tanh_fast(clamp(z[j], lim));
    else
        for (int64_t j = 0; j < n; j++) y[j] = act_value(a, clamp(z[j], lim));
}

void oti_recurrent_act_backward(const rnn_act *a, float clip, float *y, float *dy, const float *z, int64_t n) {
    float lim = clip_limit(clip);
    oti_recurrent_act_forward(a, clip, y, z, n);
    if (a->kind == ACT_SIGMOID)
        for (int64_t j = 0; j < n; j++) dy[j] = y[j] * (1.0f - y[j]);
    else if (a->kind == ACT_TANH)
        for (int64_t j = 0; j < n; j++) dy[j] = 1.0f - y[j] * y[j];
    else
        for (int64_t j = 0; j < n; j++) dy[j] = act_slope(a, clamp(z[j], lim));
    for (int64_t j = 0; j < n; j++) dy[j] = z[j] < -lim || z[j] > lim ? 0.0f : dy[j];
}

