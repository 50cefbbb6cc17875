/* BatchNormalization, LayerNormalization, LRN: forward values against PyTorch, running
 * statistics updates against torch.nn.BatchNorm2d, gradient checks for every mode (and through
 * ONNX's LayerNormalization decomposition), errors.
 *
 * Expected values were generated with torch 1.13 / numpy on the inputs built below
 * (sine_input: x[i] = sin(i * 0.9 + phase) * 2 + 0.5, computed in double, stored as float):
 *   bn_eval_y      F.batch_norm(x, rmean, rvar, scale, bias, training=False, eps=1e-5)
 *   bn_train_y     F.batch_norm(x, None, None, scale, bias, training=True, eps=1e-3)
 *   bn_onnx_*      0.8 * running + 0.2 * batch statistic (biased variance), the ONNX
 *                  reference's training_mode outputs for momentum 0.8
 *   bn_torch_*     nn.BatchNorm2d(3, eps=1e-3, momentum=0.1), weights copied, one batch in
 *                  train() mode: output, running_mean, running_var
 *   bn_spatial0_*  F.batch_norm(x.reshape(2, 12), m12, v12, s12, b12, training=False)
 *   ln_axis1_*     F.layer_norm(x, (3, 4), w, b, 1e-5), and mean / 1/sqrt(var + eps) per row
 *   ln_last_y      F.layer_norm(x, (4,), w4, None, 1e-2)
 *   lrn3_y         F.local_response_norm(x, 3, 0.2, 0.75, 1.5)
 *   lrn4_y         the ONNX LRN formula in numpy, size 4 (window c-1 .. c+2), alpha 0.3,
 *                  beta 0.6, bias 2 (PyTorch places even windows differently, c-2 .. c+1). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <unistd.h>

#include "core/util.h"
#include "onnxtrain/onnx_io.h"
#include "test_support.h"

static const float bn_eval_y[24] = {
    0.51079023f, 2.6560104f, 3.1777709f, 1.6812135f, 0.38399157f, 1.0746803f, 0.81033128f,
    -0.20900157f, 1.8343254f, 2.2801344f, 0.86907524f, -1.3309913f, -2.1756032f, -1.5759791f,
    0.60287035f, 2.7120352f, -1.4339436f, -0.69948065f, 0.42259398f, 1.0831168f, -2.0733695f,
    -0.045948975f, 1.8849366f, 2.2580314f};
static const float bn_train_y[24] = {
    -0.25111467f, 1.4691575f, 1.887562f, 0.68745875f, 0.32197574f, 0.7330271f, 0.57570434f,
    -0.030933779f, 1.1217551f, 1.6852603f, -0.098326616f, -2.8792231f, -2.4053588f, -1.9245147f,
    -0.17727476f, 1.5140845f, -0.75993663f, -0.32283384f, 0.34494928f, 0.73804784f, -3.8175933f,
    -1.2549224f, 1.1857278f, 1.6573217f};
static const float bn_onnx_running_mean[3] = {0.3239521f, -0.093504489f, 0.55962011f};
static const float bn_onnx_running_var[3] = {1.3330195f, 0.81861385f, 2.3127491f};
static const float bn_torch_running_mean[3] = {0.26197603f, -0.096752241f, 0.47981006f};
static const float bn_torch_running_var[3] = {1.293154f, 0.73349363f, 2.4287138f};
static const float bn_spatial0_eval_y[24] = {
    0.19496976f, 1.303777f, 1.6060581f, 0.80708897f, -0.84462798f, -1.5500733f, -1.0963365f,
    0.6605503f, 3.7536356f, 3.8978412f, 2.6100168f, -0.23065251f, -1.1922696f, -0.91260648f,
    0.21854858f, 1.3813065f, 2.7399726f, 1.7350386f, -0.399845f, -1.629761f, -1.925935f,
    0.82073784f, 3.8798389f, 4.0978608f};
static const float ln_axis1_y[24] = {
    -0.27575508f, 0.5909912f, 0.88639599f, -0.07425493f, -1.804253f, -2.8015521f, -1.8010101f,
    0.91230834f, 3.3919661f, 3.4526391f, 0.58799314f, -3.2672994f, -1.1118308f, -0.89944375f,
    0.17877229f, 1.4236501f, 1.628067f, 0.2386139f, -1.876281f, -2.8974311f, -1.5495262f,
    1.6010149f, 4.2789655f, 4.1871953f};
static const float ln_axis1_mean[2] = {0.75433205f, 0.59931449f};
static const float ln_axis1_invstd[2] = {0.73799729f, 0.68169333f};
static const float ln_last_y[24] = {
    -1.1297131f, -1.0734361f, 0.43795985f, -2.3924289f, -0.6367479f, 1.0569446f, -0.071690716f,
    3.2496495f, 1.4350128f, -0.83076853f, -0.13574813f, -3.0318942f, -1.8517549f, 0.6262852f,
    0.26060462f, 2.6791587f, 2.1456881f, -0.40899158f, -0.36267212f, -2.2282121f, -2.3804336f,
    0.10026904f, 0.47009692f, 1.4940624f};
static const float lrn3_y[40] = {
    0.50281024f, 1.3152012f, 1.4572275f, 0.81211841f, -0.3490862f, -0.78533906f, -0.53703821f,
    0.50352615f, 1.3125941f, 1.3759539f, 0.77102244f, -0.36524889f, -0.78661895f, -0.5250563f,
    0.52627629f, 1.3190829f, 1.3972741f, 0.76542175f, -0.44043207f, -0.8960166f, -0.59893322f,
    0.57013077f, 1.3379836f, 1.4469155f, 0.73024464f, -0.39655155f, -0.78855437f, -0.50010288f,
    0.57131857f, 1.3312955f, 1.3637862f, 0.70944017f, -0.41169015f, -0.78921115f, -0.4871265f,
    0.59358001f, 1.4164796f, 1.3801712f, 0.70556211f, -0.49496189f};
static const float lrn4_y[40] = {
    0.41136369f, 1.1409503f, 1.3521203f, 0.73524609f, -0.31617972f, -0.76821612f, -0.509688f,
    0.41924667f, 1.1442771f, 1.3001584f, 0.70308386f, -0.33125072f, -0.77883017f, -0.50276574f,
    0.48156297f, 1.2613639f, 1.3394973f, 0.69869637f, -0.39788178f, -0.85459192f, -0.53831556f,
    0.46608498f, 1.1668056f, 1.3441591f, 0.66416794f, -0.36061724f, -0.77323756f, -0.47146421f,
    0.47410861f, 1.1677411f, 1.2903317f, 0.64442254f, -0.39005029f, -0.78172041f, -0.46469395f,
    0.54346244f, 1.3346232f, 1.3215619f, 0.64197425f, -0.44837633f};

static ot_tensor sine_input(int ndim, const int64_t *dims, double phase) {
    ot_tensor t = ts_tensor(ndim, dims);
    float *x = t.data;
    for (int64_t i = 0; i < ot_tensor_numel(&t); i++) x[i] = (float)(sin((double)i * 0.9 + phase) * 2.0 + 0.5);
    return t;
}

static void assert_close(const float *got, const float *want, int64_t n, double rel) {
    for (int64_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-6 + rel * fabs(want[i]))
            fail_msg("value %lld: got %.8g, want %.8g", (long long)i, got[i], want[i]);
}

static void free_attrs(int n, ot_attr *attrs) {
    for (int i = 0; i < n; i++) ot_attr_free(&attrs[i]);
}

/* Index of value "x<k>" in a ts_single_node model. */
static int input_value(const ot_model *m, int k) {
    char name[16];
    snprintf(name, sizeof name, "x%d", k);
    return ot_model_find_value(m, name);
}

/* The BatchNorm inputs shared by several tests: x (2, 3, 2, 2) and per-channel parameters. */
typedef struct bn_inputs {
    ot_tensor x, scale, bias, mean, var;
    const ot_tensor *list[5];
} bn_inputs;

static void bn_inputs_init(bn_inputs *b) {
    int64_t xd[4] = {2, 3, 2, 2}, cd[1] = {3};
    static const float scale[3] = {1.5f, -0.5f, 2.0f}, bias[3] = {0.1f, 0.2f, -0.3f};
    static const float mean[3] = {0.2f, -0.1f, 0.4f}, var[3] = {1.2f, 0.6f, 2.5f};
    b->x = sine_input(4, xd, 0.0);
    b->scale = ts_float(1, cd, scale);
    b->bias = ts_float(1, cd, bias);
    b->mean = ts_float(1, cd, mean);
    b->var = ts_float(1, cd, var);
    const ot_tensor *list[5] = {&b->x, &b->scale, &b->bias, &b->mean, &b->var};
    memcpy(b->list, list, sizeof list);
}

static void bn_inputs_free(bn_inputs *b) {
    ot_tensor_free(&b->x);
    ot_tensor_free(&b->scale);
    ot_tensor_free(&b->bias);
    ot_tensor_free(&b->mean);
    ot_tensor_free(&b->var);
}

/* Runs a model whose inputs are all initializers (inference plan) and returns output k. */
static ot_tensor run_constant_model(ot_model *m, int output) { return ts_run(m, 0, NULL, output); }

/* BatchNormalization ----------------------------------------------------------------------- */

static void batchnorm_inference_values(void **state) {
    (void)state;
    bn_inputs b;
    bn_inputs_init(&b);
    /* Opset 15, opset 9 and opset 6 (is_test=1, as PyTorch exported it) agree. */
    static const int opsets[3] = {15, 9, 6};
    for (int i = 0; i < 3; i++) {
        ot_attr attrs[1] = {ts_attr_int("is_test", 1)};
        ot_model *m = ts_single_node("", "BatchNormalization", opsets[i], 5, b.list, NULL, 1,
                                     opsets[i] < 7 ? 1 : 0, attrs);
        ot_tensor y = run_constant_model(m, 0);
        assert_close(y.data, bn_eval_y, 24, 1e-5);
        ot_tensor_free(&y);
        ot_model_free(m);
        free_attrs(1, attrs);
    }
    bn_inputs_free(&b);
}

/* A batch large enough to be split over the compute threads (24 planes of 4096 values)
 * against the closed form in double precision. */
static void batchnorm_inference_large_batch(void **state) {
    (void)state;
    bn_inputs b;
    bn_inputs_init(&b);
    ot_tensor_free(&b.x);
    int64_t xd[4] = {8, 3, 64, 64};
    b.x = sine_input(4, xd, 0.0);
    b.list[0] = &b.x;
    ot_model *m = ts_single_node("", "BatchNormalization", 15, 5, b.list, NULL, 1, 0, NULL);
    ot_tensor y = run_constant_model(m, 0);
    const float *x = b.x.data, *yv = y.data, *scale = b.scale.data, *bias = b.bias.data;
    const float *mean = b.mean.data, *var = b.var.data;
    for (int64_t i = 0; i < 8 * 3 * 4096; i++) {
        int64_t c = i / 4096 % 3;
        double want = (x[i] - mean[c]) / sqrt(var[c] + 1e-5) * scale[c] + bias[c];
        if (fabs(yv[i] - want) > 1e-5) fail_msg("value %lld: got %.7g, want %.7g", (long long)i, yv[i], want);
    }
    ot_tensor_free(&y);
    ot_model_free(m);
    bn_inputs_free(&b);
}

/* Opset 7 spatial=0: statistics per activation, parameters of shape (C, H, W). */
static void batchnorm_spatial0_values(void **state) {
    (void)state;
    int64_t xd[4] = {2, 3, 2, 2}, pd[3] = {3, 2, 2};
    float s[12], bias[12], mean[12], var[12];
    for (int i = 0; i < 12; i++) {
        s[i] = 0.5f + 0.1f * (float)i;
        bias[i] = 0.05f * (float)i - 0.3f;
        mean[i] = 0.1f * (float)((i % 5) - 2);
        var[i] = 0.5f + 0.2f * (float)(i % 4);
    }
    ot_tensor x = sine_input(4, xd, 0.0), ts = ts_float(3, pd, s), tb = ts_float(3, pd, bias);
    ot_tensor tm = ts_float(3, pd, mean), tv = ts_float(3, pd, var);
    const ot_tensor *inputs[5] = {&x, &ts, &tb, &tm, &tv};
    ot_attr attrs[1] = {ts_attr_int("spatial", 0)};
    ot_model *m = ts_single_node("", "BatchNormalization", 7, 5, inputs, NULL, 1, 1, attrs);
    ot_tensor y = run_constant_model(m, 0);
    assert_close(y.data, bn_spatial0_eval_y, 24, 1e-5);
    ot_tensor_free(&y);
    ot_model_free(m);
    /* Gradients with per-activation batch statistics (4 values per feature). */
    ts_gradcheck("BatchNormalization", 7, 5, inputs, 0x7, 1, attrs, 1, 1e-3, 1e-2);
    free_attrs(1, attrs);
    ot_tensor_free(&x);
    ot_tensor_free(&ts);
    ot_tensor_free(&tb);
    ot_tensor_free(&tm);
    ot_tensor_free(&tv);
}

/* training_mode=1 (opset 15) in an inference plan: batch statistics, the optional outputs as
 * the ONNX reference computes them, and the running statistics inputs left alone. */
static void batchnorm_training_mode_outputs(void **state) {
    (void)state;
    bn_inputs b;
    bn_inputs_init(&b);
    ot_attr attrs[3] = {ts_attr_int("training_mode", 1), ts_attr_float("epsilon", 1e-3f),
                        ts_attr_float("momentum", 0.8f)};
    ot_model *m = ts_single_node("", "BatchNormalization", 15, 5, b.list, NULL, 3, 3, attrs);
    ot_tensor y = run_constant_model(m, 0), rm = run_constant_model(m, 1), rv = run_constant_model(m, 2);
    assert_close(y.data, bn_train_y, 24, 1e-5);
    assert_close(rm.data, bn_onnx_running_mean, 3, 1e-5);
    assert_close(rv.data, bn_onnx_running_var, 3, 1e-5);
    assert_memory_equal(m->values[input_value(m, 3)].tensor.data, b.mean.data, 3 * sizeof(float));
    assert_memory_equal(m->values[input_value(m, 4)].tensor.data, b.var.data, 3 * sizeof(float));
    ot_tensor_free(&y);
    ot_tensor_free(&rm);
    ot_tensor_free(&rv);
    ot_model_free(m);
    free_attrs(3, attrs);
    bn_inputs_free(&b);
}

/* A training plan normalises with batch statistics and updates running_mean/running_var in
 * place exactly as torch.nn.BatchNorm2d(momentum=0.1) does (ONNX momentum 0.9). */
static void batchnorm_training_updates_running_statistics(void **state) {
    (void)state;
    bn_inputs b;
    bn_inputs_init(&b);
    ot_attr attrs[1] = {ts_attr_float("epsilon", 1e-3f)};
    ot_model *m = ts_single_node("", "BatchNormalization", 15, 5, b.list, NULL, 1, 1, attrs);
    unsigned char *trainable = ts_calloc((size_t)m->n_values + 1, 1);
    trainable[input_value(m, 1)] = trainable[input_value(m, 2)] = 1;
    ot_plan_options options = {.training = 1, .trainable = trainable};
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    assert_close(ot_plan_value(plan, m->outputs[0])->data, bn_train_y, 24, 1e-5);
    assert_close(m->values[input_value(m, 3)].tensor.data, bn_torch_running_mean, 3, 1e-6);
    assert_close(m->values[input_value(m, 4)].tensor.data, bn_torch_running_var, 3, 1e-6);
    ot_plan_free(plan);
    /* An inference plan then uses (and keeps) the updated statistics. */
    ot_tensor y = run_constant_model(m, 0);
    assert_close(m->values[input_value(m, 3)].tensor.data, bn_torch_running_mean, 3, 1e-6);
    ot_tensor_free(&y);
    free(trainable);
    ot_model_free(m);
    free_attrs(1, attrs);
    bn_inputs_free(&b);
}

static void batchnorm_gradients(void **state) {
    (void)state;
    bn_inputs b;
    bn_inputs_init(&b);
    /* Training (batch statistics) and frozen (running statistics) forms. */
    ts_gradcheck("BatchNormalization", 15, 5, b.list, 0x7, 0, NULL, 1, 1e-3, 1e-2);
    ts_gradcheck("BatchNormalization", 15, 5, b.list, 0x7, 0, NULL, 0, 1e-3, 1e-2);
    ts_gradcheck("BatchNormalization", 9, 5, b.list, 0x7, 0, NULL, 1, 1e-3, 1e-2);
    /* A frozen node with training_mode=1 still normalises with batch statistics. */
    ot_attr attrs[1] = {ts_attr_int("training_mode", 1)};
    ts_gradcheck("BatchNormalization", 15, 5, b.list, 0x7, 1, attrs, 0, 1e-3, 1e-2);
    free_attrs(1, attrs);
    bn_inputs_free(&b);
    /* Planes of 35 values (the 4-lane sums' remainder) and 6 features spread over the
     * threads, in training mode. */
    int64_t xd[4] = {3, 6, 5, 7}, cd[1] = {6};
    static const float scale[6] = {1.5f, -0.5f, 2.0f, 0.7f, 1.0f, -1.2f}, bias[6] = {0.1f, 0.2f, -0.3f, 0.0f, 0.5f, -0.1f};
    static const float mean[6] = {0}, var[6] = {1, 1, 1, 1, 1, 1};
    ot_tensor x = sine_input(4, xd, 0.3), ts = ts_float(1, cd, scale), tb = ts_float(1, cd, bias);
    ot_tensor tm = ts_float(1, cd, mean), tv = ts_float(1, cd, var);
    const ot_tensor *list[5] = {&x, &ts, &tb, &tm, &tv};
    ts_gradcheck("BatchNormalization", 15, 5, list, 0x7, 0, NULL, 1, 1e-3, 1e-2);
    ot_tensor t[5] = {x, ts, tb, tm, tv};
    ts_free_tensors(t, 5);
}

/* LayerNormalization ------------------------------------------------------------------------ */

static void layernorm_values(void **state) {
    (void)state;
    int64_t xd[3] = {2, 3, 4}, pd[2] = {3, 4}, wd[1] = {4};
    float w[12], bias[12], w4[4] = {1.5f, -1.0f, 0.5f, 2.0f};
    for (int i = 0; i < 12; i++) {
        w[i] = 0.5f + 0.25f * (float)i;
        bias[i] = 0.1f * (float)i - 0.4f;
    }
    ot_tensor x = sine_input(3, xd, 0.3), tw = ts_float(2, pd, w), tb = ts_float(2, pd, bias);
    ot_tensor tw4 = ts_float(1, wd, w4);
    const ot_tensor *inputs[3] = {&x, &tw, &tb};
    ot_attr axis1[1] = {ts_attr_int("axis", 1)};
    ot_model *m = ts_single_node("", "LayerNormalization", 17, 3, inputs, NULL, 3, 1, axis1);
    ot_tensor y = run_constant_model(m, 0), mean = run_constant_model(m, 1), inv = run_constant_model(m, 2);
    assert_close(y.data, ln_axis1_y, 24, 1e-5);
    assert_close(mean.data, ln_axis1_mean, 2, 1e-6);
    assert_close(inv.data, ln_axis1_invstd, 2, 1e-6);
    assert_int_equal(mean.ndim, 3);
    assert_int_equal(mean.dims[0], 2);
    assert_int_equal(mean.dims[1], 1);
    assert_int_equal(mean.dims[2], 1);
    ot_tensor_free(&y);
    ot_tensor_free(&mean);
    ot_tensor_free(&inv);
    ot_model_free(m);
    /* Default axis -1, Scale (4), no bias. */
    const ot_tensor *last_inputs[2] = {&x, &tw4};
    ot_attr eps[1] = {ts_attr_float("epsilon", 1e-2f)};
    m = ts_single_node("", "LayerNormalization", 17, 2, last_inputs, NULL, 1, 1, eps);
    y = run_constant_model(m, 0);
    assert_close(y.data, ln_last_y, 24, 1e-5);
    ot_tensor_free(&y);
    ot_model_free(m);
    /* The same Scale as (1, 1, 4): leading 1-dims beyond the normalised ones broadcast too. */
    int64_t w3d[3] = {1, 1, 4};
    ot_tensor tw4_3d = ts_float(3, w3d, w4);
    last_inputs[1] = &tw4_3d;
    m = ts_single_node("", "LayerNormalization", 17, 2, last_inputs, NULL, 1, 1, eps);
    y = run_constant_model(m, 0);
    assert_close(y.data, ln_last_y, 24, 1e-5);
    ot_tensor_free(&y);
    ot_model_free(m);
    ot_tensor_free(&tw4_3d);
    free_attrs(1, axis1);
    free_attrs(1, eps);
    ot_tensor_free(&x);
    ot_tensor_free(&tw);
    ot_tensor_free(&tb);
    ot_tensor_free(&tw4);
}

/* GroupNormalization opset 18: scale and bias per group. Expected values from ONNX Runtime
 * 1.x (x = i^1.5, 2 groups, epsilon 1e-2). */
static void groupnorm_values(void **state) {
    (void)state;
    int64_t xd[3] = {1, 4, 2}, gd[1] = {2};
    float xv[8];
    for (int i = 0; i < 8; i++) xv[i] = powf((float)i, 1.5f);
    ot_tensor x = ts_float(3, xd, xv), w = ts_float(1, gd, (const float[]){2, 0.5f});
    ot_tensor b = ts_float(1, gd, (const float[]){1, -1});
    const ot_tensor *inputs[3] = {&x, &w, &b};
    ot_attr attrs[2] = {ts_attr_int("num_groups", 2), ts_attr_float("epsilon", 1e-2f)};
    ot_model *m = ts_single_node("", "GroupNormalization", 18, 3, inputs, NULL, 1, 2, attrs);
    ot_tensor y = run_constant_model(m, 0);
    const float want[8] = {-1.279106f, -0.268929f, 1.578106f, 3.969928f,
                           -1.649382f, -1.244381f, -0.796559f, -0.309678f};
    assert_close(y.data, want, 8, 1e-5);
    ot_tensor_free(&y);
    ot_model_free(m);
    free_attrs(2, attrs);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
    ot_tensor_free(&b);
}

/* Instance and group normalization: gradients of X, scale and B. */
static void instance_and_group_norm_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 8);
    int64_t xd[4] = {2, 4, 3, 2}, cd[1] = {4}, gd[1] = {2};
    ot_tensor x = sine_input(4, xd, 0.3);
    ot_tensor w = ts_random(&rng, 1, cd, 0.5f, 1.5f), b = ts_random(&rng, 1, cd, -0.5f, 0.5f);
    ot_tensor wg = ts_random(&rng, 1, gd, 0.5f, 1.5f), bg = ts_random(&rng, 1, gd, -0.5f, 0.5f);
    ts_gradcheck("InstanceNormalization", 6, 3, (const ot_tensor *[]){&x, &w, &b}, 0x7, 0, NULL, 0,
                 1e-3, 1e-2);
    ot_attr groups[1] = {ts_attr_int("num_groups", 2)};
    ts_gradcheck("GroupNormalization", 18, 3, (const ot_tensor *[]){&x, &wg, &bg}, 0x7, 1, groups, 0,
                 1e-3, 1e-2);
    /* Scale per channel is opset 21's form: an error naming the node at opset 18. */
    ts_expect_node_error("GroupNormalization", 18, 3, (const ot_tensor *[]){&x, &w, &b}, NULL, 1, 1,
                         groups, 0, OT_ERR_INVALID, "one value per group");
    free_attrs(1, groups);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
    ot_tensor_free(&b);
    ot_tensor_free(&wg);
    ot_tensor_free(&bg);
}

static void layernorm_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 3);
    int64_t xd[3] = {2, 3, 4}, pd[2] = {3, 4}, rowd[2] = {1, 4}, cold[2] = {3, 1}, wd[1] = {4};
    ot_tensor x = sine_input(3, xd, 0.3);
    ot_tensor w = ts_random(&rng, 2, pd, 0.5f, 1.5f), b = ts_random(&rng, 2, pd, -0.5f, 0.5f);
    ot_tensor w_row = ts_random(&rng, 2, rowd, 0.5f, 1.5f), b_col = ts_random(&rng, 2, cold, -0.5f, 0.5f);
    ot_tensor w4 = ts_random(&rng, 1, wd, 0.5f, 1.5f);
    ot_attr axis1[1] = {ts_attr_int("axis", 1)};
    const ot_tensor *full[3] = {&x, &w, &b};
    ts_gradcheck("LayerNormalization", 17, 3, full, 0x7, 1, axis1, 0, 1e-3, 1e-2);
    /* Scale (1, 4) and bias (3, 1) broadcast over the normalised (3, 4). */
    const ot_tensor *broadcast[3] = {&x, &w_row, &b_col};
    ts_gradcheck("LayerNormalization", 17, 3, broadcast, 0x7, 1, axis1, 0, 1e-3, 1e-2);
    const ot_tensor *last[2] = {&x, &w4};
    ts_gradcheck("LayerNormalization", 17, 2, last, 0x3, 0, NULL, 0, 1e-3, 1e-2);
    free_attrs(1, axis1);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
    ot_tensor_free(&b);
    ot_tensor_free(&w_row);
    ot_tensor_free(&b_col);
    ot_tensor_free(&w4);
}

/* Gradients that reach X through the Mean and InvStdDev outputs (ts_gradcheck only follows
 * output 0): loss = sum(u * Mean) + sum(v * InvStdDev), against central differences. */
static double mean_invstd_loss(ot_plan *plan, const ot_model *m, const float *u, const float *v) {
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    const float *mean = ot_plan_value((ot_plan *)plan, m->outputs[1])->data;
    const float *inv = ot_plan_value((ot_plan *)plan, m->outputs[2])->data;
    return (double)u[0] * mean[0] + (double)u[1] * mean[1] + (double)v[0] * inv[0] + (double)v[1] * inv[1];
}

static void layernorm_statistics_outputs_gradient(void **state) {
    (void)state;
    int64_t xd[2] = {2, 5}, wd[1] = {5};
    float ones[5] = {1, 1, 1, 1, 1};
    ot_tensor x = sine_input(2, xd, 0.7), w = ts_float(1, wd, ones);
    const ot_tensor *inputs[2] = {&x, &w};
    ot_model *m = ts_single_node("", "LayerNormalization", 17, 2, inputs, NULL, 3, 0, NULL);
    unsigned char *trainable = ts_calloc((size_t)m->n_values + 1, 1);
    int xv = input_value(m, 0);
    trainable[xv] = 1;
    ot_plan_options options = {.training = 1, .trainable = trainable};
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    const float u[2] = {0.7f, -1.3f}, v[2] = {0.4f, 0.9f};
    mean_invstd_loss(plan, m, u, v);
    ot_plan_zero_grads(plan);
    memset(ot_plan_grad(plan, m->outputs[0])->data, 0, 10 * sizeof(float));
    memcpy(ot_plan_grad(plan, m->outputs[1])->data, u, sizeof u);
    memcpy(ot_plan_grad(plan, m->outputs[2])->data, v, sizeof v);
    assert_int_equal(ot_plan_backward(plan), OT_OK);
    const float *g = ot_plan_grad(plan, xv)->data;
    float *xs = m->values[xv].tensor.data;
    const double h = 1e-3;
    for (int i = 0; i < 10; i++) {
        float saved = xs[i];
        xs[i] = saved + (float)h;
        double up = mean_invstd_loss(plan, m, u, v);
        xs[i] = saved - (float)h;
        double down = mean_invstd_loss(plan, m, u, v);
        xs[i] = saved;
        double numeric = (up - down) / (2 * h);
        if (fabs(numeric - g[i]) > 1e-2 * fmax(1.0, fabs(numeric)))
            fail_msg("dX[%d]: backward %.6g, central difference %.6g", i, g[i], numeric);
    }
    ot_plan_free(plan);
    free(trainable);
    ot_model_free(m);
    ot_tensor_free(&x);
    ot_tensor_free(&w);
}

/* LRN ---------------------------------------------------------------------------------------- */

static void lrn_values_and_gradients(void **state) {
    (void)state;
    int64_t xd[4] = {2, 5, 2, 2};
    ot_tensor x = sine_input(4, xd, 0.1);
    const ot_tensor *inputs[1] = {&x};
    ot_attr odd[4] = {ts_attr_int("size", 3), ts_attr_float("alpha", 0.2f), ts_attr_float("beta", 0.75f),
                      ts_attr_float("bias", 1.5f)};
    ot_attr even[4] = {ts_attr_int("size", 4), ts_attr_float("alpha", 0.3f), ts_attr_float("beta", 0.6f),
                       ts_attr_float("bias", 2.0f)};
    ot_model *m = ts_single_node("", "LRN", 13, 1, inputs, NULL, 1, 4, odd);
    ot_tensor y = run_constant_model(m, 0);
    assert_close(y.data, lrn3_y, 40, 1e-5);
    ot_tensor_free(&y);
    ot_model_free(m);
    m = ts_single_node("", "LRN", 13, 1, inputs, NULL, 1, 4, even);
    y = run_constant_model(m, 0);
    assert_close(y.data, lrn4_y, 40, 1e-5);
    ot_tensor_free(&y);
    ot_model_free(m);
    ts_gradcheck("LRN", 13, 1, inputs, 1, 4, odd, 0, 1e-3, 1e-2);
    ts_gradcheck("LRN", 13, 1, inputs, 1, 4, even, 0, 1e-3, 1e-2);
    free_attrs(4, odd);
    free_attrs(4, even);
    ot_tensor_free(&x);
}

/* Errors ------------------------------------------------------------------------------------ */

/* Resolving or planning a one-node model of initializers (NULL: omitted input) must fail
 * with OT_ERR_INVALID and a message naming the node and containing `needle`. */
static void expect_error(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                         int n_attrs, const ot_attr *attrs, const char *needle) {
    ts_expect_node_error(op, opset, n_inputs, inputs, NULL, 1, n_attrs, attrs, 1, OT_ERR_INVALID, needle);
}

static void bad_inputs_and_attributes(void **state) {
    (void)state;
    bn_inputs b;
    bn_inputs_init(&b);
    int64_t d2[1] = {2}, d1[1] = {3};
    float two[2] = {1.0f, 1.0f};
    ot_tensor short_scale = ts_float(1, d2, two), vector = ts_tensor(1, d1);
    const ot_tensor *bad_scale[5] = {&b.x, &short_scale, &b.bias, &b.mean, &b.var};
    expect_error("BatchNormalization", 15, 5, bad_scale, 0, NULL, "scale has shape [2]; it needs 3 values");
    const ot_tensor *no_var[5] = {&b.x, &b.scale, &b.bias, &b.mean, NULL};
    expect_error("BatchNormalization", 15, 5, no_var, 0, NULL, "input var is missing");
    expect_error("BatchNormalization", 15, 4, b.list, 0, NULL, "needs 5 inputs");
    const ot_tensor *rank1[5] = {&vector, &b.scale, &b.bias, &b.mean, &b.var};
    expect_error("BatchNormalization", 15, 5, rank1, 0, NULL, "rank >= 2");
    ot_attr mode[1] = {ts_attr_int("training_mode", 2)};
    expect_error("BatchNormalization", 15, 5, b.list, 1, mode, "training_mode must be 0 or 1");
    ot_attr negative_eps[1] = {ts_attr_float("epsilon", -1.0f)};
    expect_error("BatchNormalization", 15, 5, b.list, 1, negative_eps, "epsilon");

    int64_t xd[3] = {2, 3, 4}, wd[1] = {5};
    ot_tensor x = sine_input(3, xd, 0.0), w5 = ts_tensor(1, wd);
    const ot_tensor *ln_bad_scale[2] = {&x, &w5};
    expect_error("LayerNormalization", 17, 2, ln_bad_scale, 0, NULL, "does not broadcast");
    int64_t w24d[3] = {2, 1, 4};
    ot_tensor w24 = ts_tensor(3, w24d);
    const ot_tensor *ln_leading[2] = {&x, &w24};
    expect_error("LayerNormalization", 17, 2, ln_leading, 0, NULL, "does not broadcast");
    ot_tensor_free(&w24);
    const ot_tensor *ln[2] = {&x, &vector};
    ot_attr axis3[1] = {ts_attr_int("axis", 3)};
    expect_error("LayerNormalization", 17, 2, ln, 1, axis3, "axis 3 is out of range");
    expect_error("LayerNormalization", 17, 1, ln, 0, NULL, "needs inputs X and Scale");

    const ot_tensor *lrn[1] = {&b.x};
    ot_attr size0[1] = {ts_attr_int("size", 0)};
    expect_error("LRN", 13, 1, lrn, 1, size0, "size is 0");
    expect_error("LRN", 13, 1, lrn, 0, NULL, "size is required");
    const ot_tensor *lrn_rank1[1] = {&vector};
    ot_attr size3[1] = {ts_attr_int("size", 3)};
    expect_error("LRN", 13, 1, lrn_rank1, 1, size3, "rank >= 2");
    free_attrs(1, mode);
    free_attrs(1, negative_eps);
    free_attrs(1, axis3);
    free_attrs(1, size0);
    free_attrs(1, size3);
    ot_tensor_free(&short_scale);
    ot_tensor_free(&vector);
    ot_tensor_free(&x);
    ot_tensor_free(&w5);
    bn_inputs_free(&b);
}

/* The opset-17 decomposition ONNX gives for LayerNormalization (the backend tests'
 * *_expanded models: Shape, Size, Slice, ConstantOfShape, Flatten, ReduceMean, Sub, Pow or
 * Mul, Sqrt, Div, Reciprocal, Reshape...) trains: with X, Scale and B made trained
 * initializers (from the test's data set), central differences agree with backward through
 * every node. (Its outputs are checked by the backend tests themselves.) */
static void layernorm_decomposition_trains(void **state) {
    (void)state;
    static const char *const tests[] = {"test_layer_normalization_3d_axis1_epsilon_expanded",
                                        "test_layer_normalization_4d_axis_negative_2_expanded",
                                        "test_layer_normalization_default_axis_expanded"};
    char path[512];
    for (int t = 0; t < OT_COUNT(tests); t++) {
        snprintf(path, sizeof path, "/usr/share/libonnx-testdata/data/node/%s", tests[t]);
        if (access(path, R_OK) != 0) skip(); /* the backend test data is not installed */
        ot_model *m;
        snprintf(path, sizeof path, "/usr/share/libonnx-testdata/data/node/%s/model.onnx", tests[t]);
        if (ot_onnx_load(NULL, path, &m) != OT_OK) fail_msg("%s", ot_last_error());
        unsigned char *checked = ts_calloc((size_t)m->n_values + 1, 1);
        /* Graph inputs become initializers holding the data set's values. */
        for (int k = 0; k < m->n_inputs; k++) {
            ot_value *v = &m->values[m->inputs[k]];
            snprintf(path, sizeof path, "/usr/share/libonnx-testdata/data/node/%s/test_data_set_0/input_%d.pb",
                     tests[t], k);
            ot_tensor_free(&v->tensor);
            if (ot_onnx_load_tensor(NULL, path, &v->tensor, NULL) != OT_OK) fail_msg("%s", ot_last_error());
            v->kind = OT_VALUE_INITIALIZER;
            checked[m->inputs[k]] = 1;
        }
        m->n_inputs = 0;
        ot_plan_options options = ts_plan_options();
        ts_gradcheck_model(&options, m, tests[t], checked, 0, 1e-3, 2e-2);
        free(checked);
        ot_model_free(m);
    }
}

/* MeanVarianceNormalization over the default axes [0, 2, 3] and over one middle axis. */
static void mvn_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 31);
    ot_tensor x = ts_random(&rng, 4, (const int64_t[]){2, 3, 2, 2}, -1, 1);
    ts_gradcheck("MeanVarianceNormalization", 13, 1, (const ot_tensor *[]){&x}, 1, 0, NULL, 0, 1e-2, 2e-3);
    ot_attr axes = ts_attr_ints("axes", 1, (const int64_t[]){1});
    ts_gradcheck("MeanVarianceNormalization", 13, 1, (const ot_tensor *[]){&x}, 1, 1, &axes, 0, 1e-2, 2e-3);
    ot_attr_free(&axes);
    ot_tensor_free(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batchnorm_inference_values),
        cmocka_unit_test(batchnorm_inference_large_batch),
        cmocka_unit_test(batchnorm_spatial0_values),
        cmocka_unit_test(batchnorm_training_mode_outputs),
        cmocka_unit_test(batchnorm_training_updates_running_statistics),
        cmocka_unit_test(batchnorm_gradients),
        cmocka_unit_test(layernorm_values),
        cmocka_unit_test(layernorm_gradients),
        cmocka_unit_test(groupnorm_values),
        cmocka_unit_test(instance_and_group_norm_gradients),
        cmocka_unit_test(layernorm_statistics_outputs_gradient),
        cmocka_unit_test(layernorm_decomposition_trains),
        cmocka_unit_test(lrn_values_and_gradients),
        cmocka_unit_test(mvn_gradients),
        cmocka_unit_test(bad_inputs_and_attributes),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
