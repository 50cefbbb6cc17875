/* The 'random' family: ops that draw random numbers every time they run, so they are never
 * folded (OT_OP_SAMPLES).
 * RandomUniform / RandomNormal (opset 1): `shape`, `dtype` (float; float16/float64 held as
 *   float32), low/high or mean/scale. The -Like forms (opset 1) take the shape, and unless
 *   `dtype` says otherwise the dtype, of their input.
 * Bernoulli (opset 15): 1 with probability p (input, float32 in [0, 1]) else 0, in `dtype`
 *   (default the input's; any numeric dtype or bool, held as the engine holds it).
 * Multinomial (opset 7): input (batch, classes) of unnormalized log-probabilities ->
 *   (batch, sample_size) class indices in int32 (default) or int64, drawn with replacement.
 * Generator: a node with a `seed` attribute draws from a generator seeded with it each run (so
 * it gives the same numbers every run, as the attribute asks); otherwise from the plan's
 * generator (seeded by --seed in `train` and `run`), or, in a plan without one, from seed 0.
 * The exact streams differ from numpy's and ONNX Runtime's (the spec leaves them open). */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "onnxtrain/rng.h"
#include "op.h"

typedef struct random_params {
    int has_seed;
    float seed;
    float a, b;            /* low/high, or mean/scale */
    int64_t dtype;         /* OT_UNDEFINED: the input's (Like, Bernoulli) or float */
    int64_t shape[OT_MAX_DIMS];
    int ndim;              /* -1: from the input (Like) */
    int64_t sample_size;   /* Multinomial */
} random_params;

static ot_status parse_common(const ot_layer *l, random_params *p, int64_t default_dtype) {
    p->has_seed = ot_layer_find_attr(l, "seed") != NULL;
    OT_TRY(oti_attr_get_float(l, "seed", 0.0f, &p->seed));
    OT_TRY(oti_attr_get_int(l, "dtype", default_dtype, &p->dtype));
    p->ndim = -1;
    return OT_OK;
}

static ot_status parse_shape(const ot_layer *l, random_params *p) {
    OT_TRY(oti_attr_get_ints(l, "shape", p->shape, OT_MAX_DIMS, &p->ndim));
    if (p->ndim < 0) return oti_node_fail(l, OT_ERR_INVALID, "needs a 'shape' attribute");
    for (int d = 0; d < p->ndim; d++)
        if (p->shape[d] < 0) return oti_node_fail(l, OT_ERR_INVALID, "shape has a negative dim");
    return OT_OK;
}

/* The shape-or-Like forms: two float attributes (low/high, mean/scale) and, without an input,
 * a shape. */
static ot_status parse_sampler(const ot_layer *l, random_params *p, const char *a, float a_default, const char *b,
                               float b_default) {
    OT_TRY(parse_common(l, p, l->n_inputs ? OT_UNDEFINED : OT_FLOAT));
    OT_TRY(oti_attr_get_float(l, a, a_default, &p->a));
    OT_TRY(oti_attr_get_float(l, b, b_default, &p->b));
    return l->n_inputs ? OT_OK : parse_shape(l, p);
}

static ot_status parse_uniform(const ot_layer *l, void *params) {
    return parse_sampler(l, params, "low", 0.0f, "high", 1.0f);
}

static ot_status parse_normal(const ot_layer *l, void *params) {
    return parse_sampler(l, params, "mean", 0.0f, "scale", 1.0f);
}

static ot_status parse_bernoulli(const ot_layer *l, void *params) {
    return parse_common(l, params, OT_UNDEFINED);
}

static ot_status parse_multinomial(const ot_layer *l, void *params) {
    random_params *p = params;
    OT_TRY(parse_common(l, p, OT_INT32));
    OT_TRY(oti_attr_get_int(l, "sample_size", 1, &p->sample_size));
    if (p->sample_size < 0) return oti_node_fail(l, OT_ERR_INVALID, "sample_size must not be negative");
    if (p->dtype != OT_INT32 && p->dtype != OT_INT64)
        return oti_node_fail(l, OT_ERR_INVALID, "dtype must be int32 or int64");
    return OT_OK;
}

static ot_status infer_sample(ot_node_ctx *c) {
    const random_params *p = c->params;
    ot_dtype declared = p->dtype == OT_UNDEFINED ? (c->n_in ? ot_tensor_declared(c->in[0]) : OT_FLOAT) : (ot_dtype)p->dtype;
    OT_NODE_CHECK(c, ot_dtype_storage(declared) == OT_FLOAT, "only floating-point samples are supported, not %s",
                  ot_dtype_name(declared));
    if (p->ndim >= 0) ot_tensor_set_shape(c->out[0], OT_FLOAT, p->ndim, p->shape);
    else ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, c->in[0]->dims);
    ot_tensor_declare(c->out[0], declared);
    return OT_OK;
}

/* The generator a run draws from (see the file comment); local is its storage. */
static ot_rng *generator(const ot_node_ctx *c, ot_rng *local) {
    const random_params *p = c->params;
    if (!p->has_seed && c->rng) return c->rng;
    ot_rng_seed(local, (uint64_t)(int64_t)p->seed);
    return local;
}

static ot_status forward_uniform(ot_node_ctx *c) {
    const random_params *p = c->params;
    ot_rng local, *rng = generator(c, &local);
    float *y = c->out[0]->data;
    for (int64_t i = 0; i < ot_tensor_numel(c->out[0]); i++) y[i] = p->a + (p->b - p->a) * ot_rng_uniform(rng);
    return OT_OK;
}

static ot_status forward_normal(ot_node_ctx *c) {
    const random_params *p = c->params;
    ot_rng local, *rng = generator(c, &local);
    float *y = c->out[0]->data;
    for (int64_t i = 0; i < ot_tensor_numel(c->out[0]); i++) y[i] = (float)(p->a + p->b * ot_rng_normal(rng));
    return OT_OK;
}

static ot_status infer_bernoulli(ot_node_ctx *c) {
    const random_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in == 1 && c->in[0] && c->in[0]->dtype == OT_FLOAT, "needs a float32 input of probabilities");
    ot_dtype declared = p->dtype == OT_UNDEFINED ? ot_tensor_declared(c->in[0]) : (ot_dtype)p->dtype;
    ot_dtype t = ot_dtype_storage(declared);
    OT_NODE_CHECK(c, t == OT_FLOAT || t == OT_INT64 || t == OT_BOOL, "dtype must be numeric or bool, not %s",
                  ot_dtype_name(declared));
    ot_tensor_set_shape(c->out[0], t, c->in[0]->ndim, c->in[0]->dims);
    ot_tensor_declare(c->out[0], declared);
    return OT_OK;
}

static ot_status forward_bernoulli(ot_node_ctx *c) {
    ot_rng local, *rng = generator(c, &local);
    const float *prob = c->in[0]->data;
    ot_tensor *y = c->out[0];
    for (int64_t i = 0; i < ot_tensor_numel(y); i++) {
        OT_NODE_CHECK(c, prob[i] >= 0.0f && prob[i] <= 1.0f, "probability %g at %lld is outside [0, 1]", (double)prob[i],
                      (long long)i);
        int one = ot_rng_uniform(rng) < prob[i];
        if (y->dtype == OT_FLOAT) ((float *)y->data)[i] = (float)one;
        else if (y->dtype == OT_INT64) ((int64_t *)y->data)[i] = one;
        else ((uint8_t *)y->data)[i] = (uint8_t)one;
    }
    return OT_OK;
}

static ot_status infer_multinomial(ot_node_ctx *c) {
    const random_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in == 1 && c->in[0] && c->in[0]->dtype == OT_FLOAT && c->in[0]->ndim == 2,
                  "needs a float32 input (batch, classes)");
    OT_NODE_CHECK(c, c->in[0]->dims[1] > 0, "needs at least one class");
    /* Held as int64 like every integer; int32 is its declared dtype. */
    ot_tensor_set_shape(c->out[0], OT_INT64, 2, (const int64_t[]){c->in[0]->dims[0], p->sample_size});
    ot_tensor_declare(c->out[0], (ot_dtype)p->dtype);
    c->workspace_bytes = sizeof(double) * (size_t)c->in[0]->dims[1];
    return OT_OK;
}

/* Inverse-CDF sampling from softmax(row): cdf holds the running sums of exp(x - max). */
static ot_status forward_multinomial(ot_node_ctx *c) {
    const random_params *p = c->params;
    ot_rng local, *rng = generator(c, &local);
    int64_t batch = c->in[0]->dims[0], classes = c->in[0]->dims[1];
    double *cdf = c->workspace; // (classes)
    for (int64_t b = 0; b < batch; b++) {
        const float *x = (const float *)c->in[0]->data + b * classes;
        float top = x[0];
        for (int64_t k = 1; k < classes; k++) top = x[k] > top ? x[k] : top;
        double sum = 0.0;
        for (int64_t k = 0; k < classes; k++) cdf[k] = sum += exp((double)x[k] - (double)top);
        OT_NODE_CHECK(c, sum > 0.0 && isfinite(sum), "row %lld has no finite log-probability", (long long)b);
        for (int64_t s = 0; s < p->sample_size; s++) {
            double u = (double)ot_rng_uniform(rng) * sum;
            int64_t k = 0;
            while (k < classes - 1 && cdf[k] <= u) k++;
            ((int64_t *)c->out[0]->data)[b * p->sample_size + s] = k;
        }
    }
    return OT_OK;
}

#define S OT_OP_SAMPLES
#define ROW(op_name, since, parse_fn, infer_fn, forward_fn)                                     \
    {.name = op_name, .since_version = since, .params_size = sizeof(random_params), .parse = parse_fn, \
     .infer = infer_fn, .forward = forward_fn, .flags = S}
const ot_op oti_ops_random[] = {
    ROW("RandomUniform", 1, parse_uniform, infer_sample, forward_uniform),
    ROW("RandomNormal", 1, parse_normal, infer_sample, forward_normal),
    ROW("RandomUniformLike", 1, parse_uniform, infer_sample, forward_uniform),
    ROW("RandomNormalLike", 1, parse_normal, infer_sample, forward_normal),
    ROW("Bernoulli", 15, parse_bernoulli, infer_bernoulli, forward_bernoulli),
    ROW("Multinomial", 7, parse_multinomial, infer_multinomial, forward_multinomial),
};
#undef ROW
#undef S
const ot_op_family oti_family_random = {oti_ops_random, OT_COUNT(oti_ops_random)};
