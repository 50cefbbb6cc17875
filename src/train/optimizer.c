/* Optimizers over one contiguous parameter block (include/onnxtrain/optimizer.h): names,
 * defaults, validation, state allocation, and the step, which turns the configuration into
 * the coefficients of one kernel of optimizer_kernels.h and runs it over the block, split
 * across the compute threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnxtrain/optimizer.h"
#include "onnxtrain/tensor.h"
#include "core/context_internal.h"
#include "ops/optimizer_kernels.h"
#include "core/error.h"

static const char *const kind_names[] = {
    [OT_OPTIMIZER_SGD] = "sgd",         [OT_OPTIMIZER_MOMENTUM] = "momentum",
    [OT_OPTIMIZER_NESTEROV] = "nesterov", [OT_OPTIMIZER_ADAGRAD] = "adagrad",
    [OT_OPTIMIZER_RMSPROP] = "rmsprop", [OT_OPTIMIZER_ADAM] = "adam",
    [OT_OPTIMIZER_ADAMW] = "adamw",     [OT_OPTIMIZER_FTRL] = "ftrl"};
enum { KIND_COUNT = (int)(sizeof kind_names / sizeof kind_names[0]) };

int ot_optimizer_kind_from_name(const char *name, ot_optimizer_kind *kind) {
    if (!name) return 0;
    for (int k = 0; k < KIND_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (ot_optimizer_kind)k;
            return 1;
        }
    }
    return 0;
}

const char *ot_optimizer_name(ot_optimizer_kind kind) {
    return (int)kind >= 0 && (int)kind < KIND_COUNT ? kind_names[kind] : "unknown";
}

void ot_optimizer_defaults(ot_optimizer_kind kind, ot_optimizer_config *config) {
    memset(config, 0, sizeof *config);
    config->kind = kind;
    config->lr = 0.01f;
    switch (kind) {
    case OT_OPTIMIZER_SGD: break;
    case OT_OPTIMIZER_MOMENTUM:
    case OT_OPTIMIZER_NESTEROV: config->momentum = 0.9f; break;
    case OT_OPTIMIZER_ADAGRAD: config->eps = 1e-10f; break; /* initial accumulator 0 */
    case OT_OPTIMIZER_RMSPROP:
        config->decay = 0.99f;
        config->eps = 1e-8f;
        break;
    case OT_OPTIMIZER_ADAM:
    case OT_OPTIMIZER_ADAMW:
        config->lr = 0.001f;
        config->beta1 = 0.9f;
        config->beta2 = 0.999f;
        config->eps = 1e-8f;
        if (kind == OT_OPTIMIZER_ADAMW) config->weight_decay = 0.01f;
        break;
    case OT_OPTIMIZER_FTRL:
        config->lr_power = -0.5f;
        config->initial_accumulator = 0.1f;
        break;
    }
}

/* Buffers a kind keeps (see the header's state[] and the step below for their meaning). */
static int state_count(const ot_optimizer_config *c) {
    switch (c->kind) {
    case OT_OPTIMIZER_SGD: return 0;
    case OT_OPTIMIZER_MOMENTUM:
    case OT_OPTIMIZER_NESTEROV:
    case OT_OPTIMIZER_ADAGRAD: return 1;
    case OT_OPTIMIZER_RMSPROP: return c->momentum > 0.0f ? 2 : 1;
    case OT_OPTIMIZER_ADAM:
    case OT_OPTIMIZER_ADAMW:
    case OT_OPTIMIZER_FTRL: return 2;
    }
    return 0;
}

/* `!(x >= lo)` rather than `x < lo` so that NaN is refused too. */
#define REQUIRE(cond, ...)                                                                     \
    do {                                                                                       \
        if (!(cond)) return oti_fail(OT_ERR_INVALID, __VA_ARGS__);                              \
    } while (0)

static ot_status validate(const ot_optimizer_config *c) {
    const char *name = ot_optimizer_name(c->kind);
    REQUIRE((int)c->kind >= 0 && (int)c->kind < KIND_COUNT, "unknown optimizer kind %d",
            (int)c->kind);
    REQUIRE(c->lr >= 0.0f && isfinite(c->lr), "%s: learning rate must be >= 0, not %g", name,
            c->lr);
    REQUIRE(c->weight_decay >= 0.0f, "%s: weight decay must be >= 0, not %g", name,
            c->weight_decay);
    switch (c->kind) {
    case OT_OPTIMIZER_SGD: break;
    case OT_OPTIMIZER_MOMENTUM:
    case OT_OPTIMIZER_NESTEROV:
        /* PyTorch: Nesterov momentum requires a momentum. */
        REQUIRE(c->momentum > 0.0f, "%s: momentum must be > 0, not %g", name, c->momentum);
        break;
    case OT_OPTIMIZER_ADAGRAD:
        REQUIRE(c->eps >= 0.0f, "%s: eps must be >= 0, not %g", name, c->eps);
        REQUIRE(c->initial_accumulator >= 0.0f, "%s: initial accumulator must be >= 0, not %g",
                name, c->initial_accumulator);
        break;
    case OT_OPTIMIZER_RMSPROP:
        REQUIRE(c->decay >= 0.0f && c->decay <= 1.0f, "%s: decay (alpha) must be in [0, 1], not %g",
                name, c->decay);
        REQUIRE(c->eps >= 0.0f, "%s: eps must be >= 0, not %g", name, c->eps);
        REQUIRE(c->momentum >= 0.0f, "%s: momentum must be >= 0, not %g", name, c->momentum);
        break;
    case OT_OPTIMIZER_ADAM:
    case OT_OPTIMIZER_ADAMW:
        REQUIRE(c->beta1 >= 0.0f && c->beta1 < 1.0f, "%s: beta1 must be in [0, 1), not %g", name,
                c->beta1);
        REQUIRE(c->beta2 >= 0.0f && c->beta2 < 1.0f, "%s: beta2 must be in [0, 1), not %g", name,
                c->beta2);
        REQUIRE(c->eps >= 0.0f, "%s: eps must be >= 0, not %g", name, c->eps);
        break;
    case OT_OPTIMIZER_FTRL:
        REQUIRE(c->lr > 0.0f, "%s: learning rate must be > 0 (it divides), not %g", name, c->lr);
        REQUIRE(c->lr_power <= 0.0f, "%s: lr_power must be <= 0, not %g", name, c->lr_power);
        REQUIRE(c->initial_accumulator >= 0.0f, "%s: initial accumulator must be >= 0, not %g",
                name, c->initial_accumulator);
        REQUIRE(c->l1 >= 0.0f && c->l2 >= 0.0f, "%s: l1 and l2 must be >= 0, not %g and %g",
                name, c->l1, c->l2);
        break;
    }
    return OT_OK;
}

/* The value every state buffer starts from: Adagrad's sum and FTRL's accumulator (state 0)
 * start at initial_accumulator, everything else at zero. */
static float state_initial_value(const ot_optimizer_config *c, int k) {
    int accumulates = c->kind == OT_OPTIMIZER_ADAGRAD || c->kind == OT_OPTIMIZER_FTRL;
    return accumulates && k == 0 ? c->initial_accumulator : 0.0f;
}

ot_status ot_optimizer_create(ot_context *ctx, const ot_optimizer_config *config, int64_t n_params,
                              ot_optimizer **out) {
    *out = NULL;
    OT_TRY(validate(config));
    if (n_params < 0 || (uint64_t)n_params > SIZE_MAX / 2 / sizeof(float))
        return oti_fail(OT_ERR_INVALID, "%s optimizer: bad parameter count %lld",
                       ot_optimizer_name(config->kind), (long long)n_params);
    int n_state = state_count(config);
    size_t bytes = (size_t)n_params * sizeof(float);
    OT_TRY(oti_check_memory(ctx, bytes * (size_t)n_state, "the optimizer state"));
    ot_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt) return oti_fail(OT_ERR_MEMORY, "out of memory allocating the optimizer");
    opt->config = *config;
    opt->context = ctx;
    opt->n = n_params;
    opt->n_state = n_state;
    for (int k = 0; k < n_state; k++) {
        /* One extra float so that zero parameters still give a non-NULL buffer. */
        opt->state[k] = calloc((size_t)n_params + 1, sizeof(float));
        if (!opt->state[k]) {
            ot_optimizer_free(opt);
            return oti_fail(OT_ERR_MEMORY, "out of memory allocating %.1f MiB of %s optimizer state",
                           bytes / 1048576.0, ot_optimizer_name(config->kind));
        }
        float initial = state_initial_value(config, k);
        if (initial != 0.0f)
            for (int64_t i = 0; i < n_params; i++) opt->state[k][i] = initial;
    }
    *out = opt;
    return OT_OK;
}

void ot_optimizer_free(ot_optimizer *opt) {
    if (!opt) return;
    for (int k = 0; k < 2; k++) free(opt->state[k]);
    free(opt);
}

/* PyTorch's Adam/AdamW coefficients at step t (1-based), computed in double from the typed
 * values and rounded once, as PyTorch does with its Python floats. */
static ot_adam_coeffs adam_coeffs(const ot_optimizer_config *c, float lr, int64_t t) {
    double beta1 = oti_typed_value(c->beta1), beta2 = oti_typed_value(c->beta2);
    double lr_typed = oti_typed_value(lr);
    double bias_correction1 = 1.0 - pow(beta1, (double)t);
    double bias_correction2 = 1.0 - pow(beta2, (double)t);
    int decoupled = c->kind == OT_OPTIMIZER_ADAMW;
    double decay = decoupled ? 1.0 - lr_typed * oti_typed_value(c->weight_decay) : 1.0;
    return (ot_adam_coeffs){
        .step_size = (float)(lr_typed / bias_correction1),
        .denom_scale = (float)sqrt(bias_correction2),
        .eps = c->eps,
        .beta1 = c->beta1,
        .one_minus_beta1 = (float)(1.0 - beta1),
        .beta2 = c->beta2,
        .one_minus_beta2 = (float)(1.0 - beta2),
        .wd = decoupled ? 0.0f : c->weight_decay,
        .pre_scale = (float)decay,
        .post_scale = 1.0f,
    };
}

/* One step's work over the parameter range [begin, end): every update is per element, so
 * ranges run on separate threads with the same results as one pass. */
typedef struct step_job {
    const ot_optimizer *opt;
    float *params;
    const float *grads;
    float lr;
    ot_adam_coeffs adam;
} step_job;

static void step_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const step_job *j = arg;
    const ot_optimizer *opt = j->opt;
    const ot_optimizer_config *c = &opt->config;
    float wd = c->weight_decay, lr = j->lr;
    int64_t n = end - begin;
    float *p = j->params + begin, *s0 = opt->state[0] ? opt->state[0] + begin : NULL;
    float *s1 = opt->state[1] ? opt->state[1] + begin : NULL;
    const float *g = j->grads + begin;
    switch (c->kind) {
    case OT_OPTIMIZER_SGD: oti_sgd_update(p, g, n, lr, wd); break;
    case OT_OPTIMIZER_MOMENTUM:
    case OT_OPTIMIZER_NESTEROV:
        /* Dampening 0: the buffer starts at 0, so the first step leaves buf = g (PyTorch). */
        oti_momentum_update(p, s0, g, n, lr, wd, c->momentum, 1.0f, c->kind == OT_OPTIMIZER_NESTEROV);
        break;
    case OT_OPTIMIZER_ADAGRAD:
        /* lr_decay 0: PyTorch's clr = lr / (1 + (step - 1) * lr_decay) is lr. */
        oti_adagrad_update(p, s0, g, n, lr, wd, c->eps);
        break;
    case OT_OPTIMIZER_RMSPROP: {
        float one_minus_alpha = (float)(1.0 - oti_typed_value(c->decay));
        if (opt->n_state == 2)
            oti_rmsprop_momentum_update(p, s0, s1, g, n, lr, wd, c->decay, one_minus_alpha, c->eps,
                                       c->momentum);
        else
            oti_rmsprop_update(p, s0, g, n, lr, wd, c->decay, one_minus_alpha, c->eps);
        break;
    }
    case OT_OPTIMIZER_ADAM:
    case OT_OPTIMIZER_ADAMW: oti_adam_update(p, s0, s1, g, n, &j->adam); break;
    case OT_OPTIMIZER_FTRL:
        /* FTRL divides by the rate; a schedule that reaches 0 (cosine's end) means no update. */
        if (lr > 0.0f) oti_ftrl_update(p, s0, s1, g, n, lr, wd, c->l1, c->l2, c->lr_power);
        break;
    }
}

/* Below this many parameters per thread, waking a thread costs more than it saves. */
enum { STEP_GRAIN = 32768 };

void ot_optimizer_step(ot_optimizer *opt, float *params, const float *grads, float lr) {
    opt->step++;
    step_job job = {.opt = opt, .params = params, .grads = grads, .lr = lr};
    if (opt->config.kind == OT_OPTIMIZER_ADAM || opt->config.kind == OT_OPTIMIZER_ADAMW)
        job.adam = adam_coeffs(&opt->config, lr, opt->step);
    oti_parallel_ranges(oti_context_pool(opt->context), opt->n, STEP_GRAIN, step_range, &job);
}
