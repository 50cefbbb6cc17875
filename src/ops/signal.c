/* The 'signal' family's table, and the ops that only make constants from a few numbers:
 * HannWindow, HammingWindow, BlackmanWindow (opset 17): size -> a 1-D window of that length,
 *   periodic (default; N = size) or symmetric (N = size - 1): Hann 0.5 - 0.5 cos(2 pi n / N),
 *   Hamming 25/46 - 21/46 cos(2 pi n / N), Blackman 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n /
 *   N); a symmetric window of size 1 is [1].
 * MelWeightMatrix (opset 17): (num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
 *   upper_edge_hertz) -> (dft_length / 2 + 1, num_mel_bins) triangular filters on the mel scale
 *   (2595 log10(1 + f / 700)), with ONNX's reference arithmetic: num_mel_bins + 2 points spaced
 *   by (high - low) / (num_mel_bins + 2) mels, each mapped to bin floor((dft_length + 1) f /
 *   sample_rate).
 * Every input decides the output shape or values, so they must be known when the plan is built
 * (the ops are then folded). float16/float64 outputs are held as float32 and declared as asked. */
#include <math.h>

#include "core/util.h"
#include "shape_internal.h"
#include "signal_internal.h"

ot_status oti_signal_known_int(const ot_node_ctx *c, int k, const char *what, int64_t *out) {
    int64_t v[1];
    int count;
    OT_TRY(oti_shape_known_ints(c, k, what, v, 1, &count));
    OT_NODE_CHECK(c, count == 1, "%s must be one value", what);
    *out = v[0];
    return OT_OK;
}

static ot_status known_float(const ot_node_ctx *c, int k, const char *what, double *out) {
    OT_NODE_CHECK(c, k < c->n_in && c->in[k], "needs input %d (%s)", k, what);
    const ot_tensor *t = c->in[k];
    OT_NODE_CHECK(c, c->in_known[k], "%s must be known when the plan is built", what);
    OT_NODE_CHECK(c, ot_tensor_numel(t) == 1, "%s must be one value", what);
    if (t->dtype == OT_FLOAT) *out = ((const float *)t->data)[0];
    else if (t->dtype == OT_INT64 || t->dtype == OT_INT32) *out = (double)oti_shape_int_at(t, 0);
    else return oti_node_fail(c->layer, OT_ERR_INVALID, "%s must be float32 or an integer", what);
    return OT_OK;
}

typedef struct window_params {
    int64_t periodic, output_datatype;
} window_params;

static ot_status parse_window(const ot_layer *l, void *params) {
    window_params *p = params;
    OT_TRY(oti_attr_get_int(l, "periodic", 1, &p->periodic));
    OT_TRY(oti_attr_get_int(l, "output_datatype", OT_FLOAT, &p->output_datatype));
    if (ot_dtype_storage((ot_dtype)p->output_datatype) != OT_FLOAT)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "output_datatype %lld: only floating-point windows are supported",
                            (long long)p->output_datatype);
    return OT_OK;
}

static ot_status infer_window(ot_node_ctx *c) {
    int64_t size;
    OT_TRY(oti_signal_known_int(c, 0, "size", &size));
    OT_NODE_CHECK(c, size >= 0, "size must not be negative, not %lld", (long long)size);
    ot_tensor_set_shape(c->out[0], OT_FLOAT, 1, &size);
    ot_tensor_declare(c->out[0], (ot_dtype)((const window_params *)c->params)->output_datatype);
    return OT_OK;
}

/* sum_k a[k] cos(2 pi k n / N) with alternating signs, as the three windows are written. */
static ot_status forward_cosine_window(ot_node_ctx *c, const double *a, int terms) {
    const window_params *p = c->params;
    int64_t size = c->out[0]->dims[0], period = p->periodic ? size : size - 1;
    float *w = c->out[0]->data; // (size)
    for (int64_t n = 0; n < size; n++) {
        if (period <= 0) {
            w[n] = 1.0f;
            continue;
        }
        double v = 0.0;
        for (int k = 0; k < terms; k++) v += (k % 2 ? -a[k] : a[k]) * cos(2.0 * M_PI * (double)(k * n) / (double)period);
        w[n] = (float)v;
    }
    return OT_OK;
}

static ot_status forward_hann(ot_node_ctx *c) { return forward_cosine_window(c, (const double[]){0.5, 0.5}, 2); }
static ot_status forward_hamming(ot_node_ctx *c) {
    return forward_cosine_window(c, (const double[]){25.0 / 46.0, 21.0 / 46.0}, 2);
}
static ot_status forward_blackman(ot_node_ctx *c) {
    return forward_cosine_window(c, (const double[]){0.42, 0.5, 0.08}, 3);
}

/* ---- MelWeightMatrix ---- */

typedef struct mel_setup {
    int64_t mel_bins, dft_length, spectrum_bins;
    double sample_rate, low_hz, high_hz;
} mel_setup;

static ot_status mel_setup_of(const ot_node_ctx *c, mel_setup *s) {
    OT_NODE_CHECK(c, c->n_in == 5, "needs num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz");
    int64_t rate;
    OT_TRY(oti_signal_known_int(c, 0, "num_mel_bins", &s->mel_bins));
    OT_TRY(oti_signal_known_int(c, 1, "dft_length", &s->dft_length));
    OT_TRY(oti_signal_known_int(c, 2, "sample_rate", &rate));
    OT_TRY(known_float(c, 3, "lower_edge_hertz", &s->low_hz));
    OT_TRY(known_float(c, 4, "upper_edge_hertz", &s->high_hz));
    s->sample_rate = (double)rate;
    OT_NODE_CHECK(c, s->mel_bins > 0 && s->dft_length > 0 && rate > 0,
                  "num_mel_bins, dft_length and sample_rate must be positive");
    OT_NODE_CHECK(c, s->low_hz >= 0 && s->low_hz <= s->high_hz && s->high_hz <= s->sample_rate / 2,
                  "the edges must satisfy 0 <= lower_edge_hertz <= upper_edge_hertz <= sample_rate / 2");
    s->spectrum_bins = s->dft_length / 2 + 1;
    return OT_OK;
}

static ot_status infer_mel(ot_node_ctx *c) {
    mel_setup s;
    OT_TRY(mel_setup_of(c, &s));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, 2, (const int64_t[]){s.spectrum_bins, s.mel_bins});
    ot_tensor_declare(c->out[0], (ot_dtype)((const window_params *)c->params)->output_datatype);
    return OT_OK;
}

static double hertz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }

static ot_status forward_mel(ot_node_ctx *c) {
    mel_setup s;
    OT_TRY(mel_setup_of(c, &s));
    int64_t *bins = oti_malloc(sizeof(int64_t) * (size_t)(s.mel_bins + 2));
    OT_ALLOC_CHECK(bins);
    double low = hertz_to_mel(s.low_hz), step = (hertz_to_mel(s.high_hz) - low) / (double)(s.mel_bins + 2);
    for (int64_t i = 0; i < s.mel_bins + 2; i++) {
        double hz = 700.0 * (pow(10.0, ((double)i * step + low) / 2595.0) - 1.0);
        bins[i] = (int64_t)floor((double)(s.dft_length + 1) * hz / s.sample_rate);
    }
    float *w = c->out[0]->data; // (spectrum_bins, mel_bins)
    for (int64_t i = 0; i < s.spectrum_bins * s.mel_bins; i++) w[i] = 0.0f;
    for (int64_t m = 0; m < s.mel_bins; m++) {
        int64_t left = bins[m], center = bins[m + 1], right = bins[m + 2];
        /* With the edges checked, every point lies in [0, spectrum_bins). */
        if (right >= s.spectrum_bins || left < 0) {
            free(bins);
            return oti_node_fail(c->layer, OT_ERR_INVALID, "mel filter %lld reaches bin %lld, past the %lld bins",
                                (long long)m, (long long)right, (long long)s.spectrum_bins);
        }
        if (center == left) w[center * s.mel_bins + m] = 1.0f;
        for (int64_t j = left; j <= center && center > left; j++)
            w[j * s.mel_bins + m] = (float)((double)(j - left) / (double)(center - left));
        for (int64_t j = center; j < right; j++)
            w[j * s.mel_bins + m] = (float)((double)(right - j) / (double)(right - center));
    }
    free(bins);
    return OT_OK;
}

#define C OT_ROLE_CONSTANT
#define WINDOW_ROW(op_name, fn)                                                                \
    {.name = op_name, .since_version = 17, .params_size = sizeof(window_params), .parse = parse_window, \
     .infer = infer_window, .forward = fn, .inputs = {C}}
const ot_op oti_ops_signal[] = {
    WINDOW_ROW("HannWindow", forward_hann),
    WINDOW_ROW("HammingWindow", forward_hamming),
    WINDOW_ROW("BlackmanWindow", forward_blackman),
    {.name = "MelWeightMatrix", .since_version = 17, .params_size = sizeof(window_params), .parse = parse_window,
     .infer = infer_mel, .forward = forward_mel, .inputs = {C, C, C, C, C}},
    {.name = "DFT", .since_version = 17, .params_size = sizeof(ot_signal_dft_params), .parse = oti_signal_parse_dft,
     .infer = oti_signal_infer_dft, .forward = oti_signal_forward_dft, .backward = oti_signal_backward_dft,
     .inputs = {[1] = C}},
    {.name = "STFT", .since_version = 17, .params_size = sizeof(ot_signal_dft_params), .parse = oti_signal_parse_stft,
     .infer = oti_signal_infer_stft, .forward = oti_signal_forward_stft, .backward = oti_signal_backward_stft,
     .inputs = {[1] = C, [3] = C}},
};
#undef WINDOW_ROW
#undef C
const ot_op_family oti_family_signal = {oti_ops_signal, OT_COUNT(oti_ops_signal)};
