/* Recurrent ops: LSTM, GRU and RNN (opsets 7 and 14; 14 added `layout`), forward and
 * backward, every direction, optional input and attribute of the ONNX spec.
 *
 * Shapes (layout 0 / layout 1), D directions, G gates (LSTM 4: i o f c; GRU 3: z r h; RNN 1):
 *   X (T, B, I) / (B, T, I)        W (D, G*H, I)   R (D, G*H, H)   B (D, 2*G*H): Wb then Rb
 *   sequence_lens (B) int32        initial_h, initial_c, Y_h, Y_c (D, B, H) / (B, D, H)
 *   P (D, 3*H): peepholes i o f    Y (T, D, B, H) / (B, T, D, H)
 * A batch row b with sequence length L < T runs L steps; Y is 0 past them and Y_h/Y_c hold
 * the state after its last valid step (0 for L = 0, as ONNX Runtime). The reverse direction
 * starts at the row's last valid element. Clip bounds every gate's pre-activation.
 *
 * Each direction runs on its own: X's rows (in X's order, "rows" = T * B) are projected for
 * every step in one GEMM, then each step multiplies the state by R (per-step GEMM). Training
 * forward keeps per X row (c->saved): the gate pre-activations (before clip) and the state
 * before the step, and for LSTM the cell before and after it, for GRU r * H (before the
 * reset, linear_before_reset = 0) or H R_h^T + Rb_h (= 1). Backward walks the steps back,
 * collects the pre-activation gradients per X row and then adds dW, dX, dR, dB each with one
 * GEMM (or sum) over all rows. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "gemm.h"
#include "op.h"
#include "recurrent_internal.h"

/* Shapes ---------------------------------------------------------------------------------- */

enum { IN_X, IN_W, IN_R, IN_B, IN_LENS, IN_H0, IN_C0, IN_P };
enum { OUT_Y, OUT_YH, OUT_YC };

typedef struct rnn_dims {
    int64_t t, b, i, h; /* steps, batch, input size, hidden size */
    int64_t g, gh, d;   /* gates, G * H, directions */
    int64_t rows;       /* T * B: X's rows */
    int layout;
} rnn_dims;

static const ot_tensor *input(const ot_node_ctx *c, int k) { return k < c->n_in ? c->in[k] : NULL; }
static ot_tensor *output(const ot_node_ctx *c, int k) { return k < c->n_out ? c->out[k] : NULL; }

static rnn_dims dims_of(const ot_node_ctx *c) {
    const recurrent_params *p = c->params;
    const ot_tensor *x = c->in[IN_X];
    rnn_dims n;
    n.layout = p->layout;
    n.t = x->dims[p->layout ? 1 : 0];
    n.b = x->dims[p->layout ? 0 : 1];
    n.i = x->dims[2];
    n.h = p->hidden ? p->hidden : c->in[IN_R]->dims[2];
    n.g = p->gates;
    n.gh = n.g * n.h;
    n.d = p->directions;
    n.rows = n.t * n.b;
    return n;
}

/* X's row of (time t, batch row b), and the time of a row. */
static int64_t x_row(const rnn_dims *n, int64_t t, int64_t b) { return n->layout ? b * n->t + t : t * n->b + b; }
static int64_t time_of_row(const rnn_dims *n, int64_t row) { return n->layout ? row % n->t : row / n->b; }
/* Offset of Y's (t, direction, b) vector; of a state's (direction, b) vector. */
static int64_t y_at(const rnn_dims *n, int64_t t, int64_t d, int64_t b) {
    return (n->layout ? (b * n->t + t) * n->d + d : (t * n->d + d) * n->b + b) * n->h;
}
static int64_t state_at(const rnn_dims *n, int64_t d, int64_t b) {
    return (n->layout ? b * n->d + d : d * n->b + b) * n->h;
}

/* Saved floats per direction: pre-activations (rows, GH), previous state (rows, H), the
 * GRU/LSTM extra (rows, H) and LSTM's new cell (rows, H). */
static int64_t saved_per_direction(const rnn_dims *n, rnn_kind kind) {
    int64_t per_row = n->gh + n->h + (kind != KIND_RNN ? n->h : 0) + (kind == KIND_LSTM ? n->h : 0);
    return n->rows * per_row;
}

static ot_status check_float(ot_node_ctx *c, int k, const char *name, int ndim, const int64_t *want) {
    const ot_tensor *t = input(c, k);
    if (!t) return OT_OK;
    char got[128], exp[128];
    OT_NODE_CHECK(c, t->dtype == OT_FLOAT, "input %s must be float32, not %s", name, ot_dtype_name(t->dtype));
    OT_NODE_CHECK(c, t->ndim == ndim && !memcmp(t->dims, want, sizeof(int64_t) * (size_t)ndim),
                  "input %s has shape %s, expected %s", name, ot_shape_string(t->ndim, t->dims, got, sizeof got),
                  ot_shape_string(ndim, want, exp, sizeof exp));
    return OT_OK;
}

static ot_status check_inputs(ot_node_ctx *c, const rnn_dims *n) {
    const recurrent_params *p = c->params;
    int64_t w[3] = {n->d, n->gh, n->i}, r[3] = {n->d, n->gh, n->h}, b[2] = {n->d, 2 * n->gh};
    int64_t state[3] = {n->layout ? n->b : n->d, n->layout ? n->d : n->b, n->h}, peep[2] = {n->d, 3 * n->h};
    OT_TRY(check_float(c, IN_W, "W", 3, w));
    OT_TRY(check_float(c, IN_R, "R", 3, r));
    OT_TRY(check_float(c, IN_B, "B", 2, b));
    OT_TRY(check_float(c, IN_H0, "initial_h", 3, state));
    if (p->kind == KIND_LSTM) {
        OT_TRY(check_float(c, IN_C0, "initial_c", 3, state));
        OT_TRY(check_float(c, IN_P, "P", 2, peep));
    }
    const ot_tensor *lens = input(c, IN_LENS);
    if (lens) {
        OT_NODE_CHECK(c, lens->dtype == OT_INT32 || lens->dtype == OT_INT64,
                      "sequence_lens must be int32, not %s", ot_dtype_name(lens->dtype));
        OT_NODE_CHECK(c, lens->ndim == 1 && lens->dims[0] == n->b,
                      "sequence_lens must have shape [%lld] (the batch size)", (long long)n->b);
    }
    return OT_OK;
}

static ot_status infer_recurrent(ot_node_ctx *c) {
    const recurrent_params *p = c->params;
    int max_in = p->kind == KIND_LSTM ? 8 : 6, max_out = p->kind == KIND_LSTM ? 3 : 2;
    OT_NODE_CHECK(c, c->n_in >= 3 && c->n_in <= max_in && c->in[IN_X] && c->in[IN_W] && c->in[IN_R],
                  "needs inputs X, W, R (and at most %d inputs)", max_in);
    OT_NODE_CHECK(c, c->n_out <= max_out, "has %d outputs; at most %d", c->n_out, max_out);
    const ot_tensor *x = c->in[IN_X], *r = c->in[IN_R];
    char s[128];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT && x->ndim == 3, "X must be a float32 tensor of rank 3, not %s %s",
                  ot_dtype_name(x->dtype), ot_shape_string(x->ndim, x->dims, s, sizeof s));
    OT_NODE_CHECK(c, r->ndim == 3, "R must have rank 3, not shape %s",
                  ot_shape_string(r->ndim, r->dims, s, sizeof s));
    rnn_dims n = dims_of(c);
    OT_TRY(check_inputs(c, &n));
    int64_t y[4] = {n.t, n.d, n.b, n.h}, state[3] = {n.d, n.b, n.h};
    if (n.layout) {
        int64_t y1[4] = {n.b, n.t, n.d, n.h}, state1[3] = {n.b, n.d, n.h};
        memcpy(y, y1, sizeof y);
        memcpy(state, state1, sizeof state);
    }
    if (output(c, OUT_Y)) ot_tensor_set_shape(c->out[OUT_Y], OT_FLOAT, 4, y);
    if (output(c, OUT_YH)) ot_tensor_set_shape(c->out[OUT_YH], OT_FLOAT, 3, state);
    if (output(c, OUT_YC)) ot_tensor_set_shape(c->out[OUT_YC], OT_FLOAT, 3, state);
    c->saved_bytes = sizeof(float) * (size_t)(n.d * saved_per_direction(&n, p->kind));
    /* Forward: projections (rows, GH), gates (B, GH), h, c, r*h (B, H) each. Backward: dz and
     * dr (rows, GH), their step slices (B, GH), dh, dc, d(r*h), new dh (B, H) each. Both: one
     * row's gate values and slopes (2 GH) and h(C), h'(C) (2 H). */
    int64_t forward = n.rows * n.gh + n.b * n.gh + 3 * n.b * n.h;
    int64_t backward = 2 * n.rows * n.gh + 2 * n.b * n.gh + 4 * n.b * n.h;
    int64_t rows = 2 * n.gh + 2 * n.h;
    c->workspace_bytes = sizeof(float) * (size_t)(OT_MAX(forward, backward) + rows);
    return OT_OK;
}

/* One direction's run ----------------------------------------------------------------------- */

typedef struct rnn_run {
    const recurrent_params *p;
    const ot_node_ctx *c;
    rnn_dims n;
    int64_t d;
    int reverse;
    const rnn_act *act;                /* f, g, h of this direction */
    const float *w, *r, *bias, *peep;  /* (GH, I), (GH, H), (2 GH) or NULL, (3 H) or NULL */
    /* Saved per X row (NULL in inference): pre-activations (rows, GH), previous state, the
     * extra (GRU r*H or H R_h^T + Rb_h, LSTM previous cell) and LSTM's cell (rows, H). */
    float *z, *hprev, *aux, *cell;
} rnn_run;

static int64_t seq_len(const rnn_run *run, int64_t b) {
    const ot_tensor *lens = input(run->c, IN_LENS);
    if (!lens) return run->n.t;
    return lens->dtype == OT_INT32 ? ((const int32_t *)lens->data)[b] : ((const int64_t *)lens->data)[b];
}

/* Time index of step s for row b (of length len), -1 when the row has no step s. */
static int64_t time_of(const rnn_run *run, int64_t s, int64_t len) {
    if (s >= len) return -1;
    return run->reverse ? len - 1 - s : s;
}

static void run_init(rnn_run *run, const ot_node_ctx *c, int64_t d) {
    const recurrent_params *p = c->params;
    memset(run, 0, sizeof *run);
    run->p = p;
    run->c = c;
    run->n = dims_of(c);
    const rnn_dims *n = &run->n;
    run->d = d;
    run->reverse = d == 1 || p->reverse;
    run->act = p->acts + d * p->acts_per_dir;
    run->w = (const float *)c->in[IN_W]->data + d * n->gh * n->i;
    run->r = (const float *)c->in[IN_R]->data + d * n->gh * n->h;
    const ot_tensor *b = input(c, IN_B), *peep = input(c, IN_P);
    run->bias = b ? (const float *)b->data + d * 2 * n->gh : NULL;
    run->peep = peep && p->kind == KIND_LSTM ? (const float *)peep->data + d * 3 * n->h : NULL;
    if (!c->saved) return;
    float *s = (float *)c->saved + d * saved_per_direction(n, p->kind);
    run->z = s;
    run->hprev = s + n->rows * n->gh;
    if (p->kind != KIND_RNN) run->aux = run->hprev + n->rows * n->h;
    if (p->kind == KIND_LSTM) run->cell = run->aux + n->rows * n->h;
}

/* The bias added to X's projection (GH): Wb, plus Rb except GRU's h gate with
 * linear_before_reset (there Rb_h is added before the reset gate multiplies). */
static void input_bias(const rnn_run *run, float *out) {
    const rnn_dims *n = &run->n;
    if (!run->bias) {
        memset(out, 0, sizeof(float) * (size_t)n->gh);
        return;
    }
    int64_t rb_end = run->p->kind == KIND_GRU && run->p->linear_before_reset ? 2 * n->h : n->gh;
    for (int64_t j = 0; j < n->gh; j++) out[j] = run->bias[j] + (j < rb_end ? run->bias[n->gh + j] : 0.0f);
}

/* xw (rows, GH) = X (rows, I) W^T + input bias, all steps in one GEMM. */
static void project_inputs(const rnn_run *run, float *xw) {
    const rnn_dims *n = &run->n;
    input_bias(run, xw);
    for (int64_t row = 1; row < n->rows; row++) memcpy(xw + row * n->gh, xw, sizeof(float) * (size_t)n->gh);
    oti_sgemm(run->c->pool, 0, 1, n->rows, n->gh, n->i, 1.0f, run->c->in[IN_X]->data, n->i, run->w, n->i,
              1.0f, xw, n->gh);
}

/* state (B, H) = initial state of this direction, or 0. */
static void load_state(const rnn_run *run, int k, float *state) {
    const rnn_dims *n = &run->n;
    const ot_tensor *init = input(run->c, k);
    for (int64_t b = 0; b < n->b; b++) {
        float *dst = state + b * n->h;
        if (init) memcpy(dst, (const float *)init->data + state_at(n, run->d, b), sizeof(float) * (size_t)n->h);
        else memset(dst, 0, sizeof(float) * (size_t)n->h);
    }
}

/* Forward steps ----------------------------------------------------------------------------- */

/* Step buffers (in the workspace). Forward: xw (rows, GH) X's projections; gates (B, GH)
 * start as H R^T; h, c (B, H) are the state; rh (B, H) is GRU's input to R_h. Backward:
 * dz_all, dr_all (rows, GH) per X row and dz, dr (B, GH) per step: the pre-activation
 * gradients and those of H R^T (+ Rb) (the same buffers except GRU with
 * linear_before_reset); dh, dc (B, H) the state gradients after the step, drh (B, H) GRU's
 * d(r * H), dprev (B, H) the state gradient before the step. Both: act, slope, hc, hslope,
 * one row's activations. */
typedef struct step_state {
    const float *xw;
    float *gates, *h, *c, *rh;
    float *act, *slope; /* (GH) one row's gate values and their slopes */
    float *hc, *hslope; /* (H) LSTM's h(C) and h'(C) */
    float *dz_all, *dr_all;
    float *dz, *dr, *dh, *dc, *drh, *dprev;
} step_state;

/* act, slope (GH) and hc, hslope (H) from `at` on. */
static void row_scratch(step_state *st, float *at, const rnn_dims *n) {
    st->act = at;
    st->slope = at + n->gh;
    st->hc = at + 2 * n->gh;
    st->hslope = st->hc + n->h;
}

/* X's row that step s of batch row b reads, -1 when the row has no step s. */
static int64_t active_row(const rnn_run *run, int64_t s, int64_t b) {
    int64_t t = time_of(run, s, seq_len(run, b));
    return t < 0 ? -1 : x_row(&run->n, t, b);
}

/* RNN: H = f(z). */
static void rnn_row(const rnn_run *run, step_state *st, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    float *z = st->gates + b * n->gh;
    const float *xw = st->xw + row * n->gh;
    for (int64_t j = 0; j < n->h; j++) z[j] += xw[j];
    oti_recurrent_act_forward(&run->act[0], run->p->clip, st->h + b * n->h, z, n->h);
}

/* z (n) += xw + (peephole) p * c. */
static void add_input(float *z, const float *xw, const float *p, const float *c, int64_t n) {
    for (int64_t j = 0; j < n; j++) z[j] += xw[j];
    if (p)
        for (int64_t j = 0; j < n; j++) z[j] += p[j] * c[j];
}

/* LSTM: i, o, f, c gates (act: their values); peepholes on i, f (previous cell) and o (new
 * cell); input_forget couples f = 1 - i. */
static void lstm_row(const rnn_run *run, step_state *st, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    int64_t H = n->h;
    float *z = st->gates + b * n->gh, *h = st->h + b * H, *cell = st->c + b * H, *a = st->act;
    const float *xw = st->xw + row * n->gh, *pp = run->peep;
    const rnn_act *f = &run->act[0], *g = &run->act[1];
    float clip = run->p->clip;
    if (run->aux) memcpy(run->aux + row * H, cell, sizeof(float) * (size_t)H);
    add_input(z, xw, pp, cell, H);
    add_input(z + 2 * H, xw + 2 * H, pp ? pp + 2 * H : NULL, cell, H);
    add_input(z + 3 * H, xw + 3 * H, NULL, NULL, H);
    oti_recurrent_act_forward(f, clip, a, z, H);
    if (run->p->input_forget)
        for (int64_t j = 0; j < H; j++) a[2 * H + j] = 1.0f - a[j];
    else oti_recurrent_act_forward(f, clip, a + 2 * H, z + 2 * H, H);
    oti_recurrent_act_forward(g, clip, a + 3 * H, z + 3 * H, H);
    for (int64_t j = 0; j < H; j++) cell[j] = a[2 * H + j] * cell[j] + a[j] * a[3 * H + j];
    add_input(z + H, xw + H, pp ? pp + H : NULL, cell, H);
    oti_recurrent_act_forward(f, clip, a + H, z + H, H);
    oti_recurrent_act_forward(&run->act[2], 0.0f, h, cell, H);
    for (int64_t j = 0; j < H; j++) h[j] *= a[H + j];
    if (run->cell) memcpy(run->cell + row * H, cell, sizeof(float) * (size_t)H);
}

/* GRU, first half: z and r gates; rh (the input to R_h) = r * H, or H for
 * linear_before_reset. */
static void gru_reset_row(const rnn_run *run, step_state *st, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    int64_t H = n->h;
    float *z = st->gates + b * n->gh, *rh = st->rh + b * H;
    const float *h = st->h + b * H;
    add_input(z, st->xw + row * n->gh, NULL, NULL, 2 * H);
    if (run->p->linear_before_reset) {
        memcpy(rh, h, sizeof(float) * (size_t)H);
        return;
    }
    oti_recurrent_act_forward(&run->act[0], run->p->clip, rh, z + H, H);
    for (int64_t j = 0; j < H; j++) rh[j] *= h[j];
}

/* GRU, second half: gates[:, 2H:] holds rh R_h^T; the h gate and the new state (act: z, r,
 * h gate values). */
static void gru_row(const rnn_run *run, step_state *st, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    int64_t H = n->h;
    float *z = st->gates + b * n->gh, *zh = z + 2 * H, *h = st->h + b * H, *a = st->act;
    const float *xw = st->xw + row * n->gh;
    const rnn_act *f = &run->act[0];
    float clip = run->p->clip;
    if (run->p->linear_before_reset) {
        if (run->bias) add_input(zh, run->bias + n->gh + 2 * H, NULL, NULL, H); /* H R_h^T + Rb_h */
        if (run->aux) memcpy(run->aux + row * H, zh, sizeof(float) * (size_t)H);
        oti_recurrent_act_forward(f, clip, a + H, z + H, H);
        for (int64_t j = 0; j < H; j++) zh[j] = xw[2 * H + j] + a[H + j] * zh[j];
    } else {
        if (run->aux) memcpy(run->aux + row * H, st->rh + b * H, sizeof(float) * (size_t)H);
        add_input(zh, xw + 2 * H, NULL, NULL, H);
    }
    oti_recurrent_act_forward(f, clip, a, z, H);
    oti_recurrent_act_forward(&run->act[1], clip, a + 2 * H, zh, H);
    for (int64_t j = 0; j < H; j++) h[j] = (1.0f - a[j]) * a[2 * H + j] + a[j] * h[j];
}

typedef void (*row_fn)(const rnn_run *, step_state *, int64_t, int64_t);

/* Calls fn(run, st, b, X's row) for every batch row b with a step s. */
static void for_active_rows(const rnn_run *run, step_state *st, int64_t s, row_fn fn) {
    for (int64_t b = 0; b < run->n.b; b++) {
        int64_t row = active_row(run, s, b);
        if (row >= 0) fn(run, st, b, row);
    }
}

/* Saves the state before the step (hprev) of batch row b. */
static void save_prev_state(const rnn_run *run, step_state *st, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    if (run->hprev) memcpy(run->hprev + row * n->h, st->h + b * n->h, sizeof(float) * (size_t)n->h);
}

/* Saves the pre-activations of the step and writes Y for batch row b. */
static void finish_row(const rnn_run *run, step_state *st, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    ot_tensor *y = output(run->c, OUT_Y);
    if (run->z) memcpy(run->z + row * n->gh, st->gates + b * n->gh, sizeof(float) * (size_t)n->gh);
    if (y) memcpy((float *)y->data + y_at(n, time_of_row(n, row), run->d, b), st->h + b * n->h,
                  sizeof(float) * (size_t)n->h);
}

static void forward_step(const rnn_run *run, step_state *st, int64_t s) {
    const rnn_dims *n = &run->n;
    ot_pool *pool = run->c->pool;
    for_active_rows(run, st, s, save_prev_state);
    if (run->p->kind != KIND_GRU) {
        /* gates (B, GH) = H (B, H) R^T */
        oti_sgemm(pool, 0, 1, n->b, n->gh, n->h, 1.0f, st->h, n->h, run->r, n->h, 0.0f, st->gates, n->gh);
        for_active_rows(run, st, s, run->p->kind == KIND_LSTM ? lstm_row : rnn_row);
    } else {
        /* gates[:, :2H] = H R_zr^T, then gates[:, 2H:] = rh (B, H) R_h^T */
        oti_sgemm(pool, 0, 1, n->b, 2 * n->h, n->h, 1.0f, st->h, n->h, run->r, n->h, 0.0f, st->gates, n->gh);
        memset(st->rh, 0, sizeof(float) * (size_t)(n->b * n->h));
        for_active_rows(run, st, s, gru_reset_row);
        oti_sgemm(pool, 0, 1, n->b, n->h, n->h, 1.0f, st->rh, n->h, run->r + 2 * n->h * n->h, n->h, 0.0f,
                  st->gates + 2 * n->h, n->gh);
        for_active_rows(run, st, s, gru_row);
    }
    for_active_rows(run, st, s, finish_row);
}

/* Y_h / Y_c of this direction: the final state, 0 for rows of length 0. */
static void store_state(const rnn_run *run, int k, const float *state) {
    const rnn_dims *n = &run->n;
    ot_tensor *out = output(run->c, k);
    if (!out) return;
    for (int64_t b = 0; b < n->b; b++) {
        float *dst = (float *)out->data + state_at(n, run->d, b);
        if (seq_len(run, b) > 0) memcpy(dst, state + b * n->h, sizeof(float) * (size_t)n->h);
        else memset(dst, 0, sizeof(float) * (size_t)n->h);
    }
}

static ot_status check_lengths(ot_node_ctx *c) {
    rnn_run run;
    run_init(&run, c, 0);
    for (int64_t b = 0; b < run.n.b; b++) {
        int64_t len = seq_len(&run, b);
        OT_NODE_CHECK(c, len >= 0 && len <= run.n.t, "sequence_lens[%lld] is %lld; it must be in [0, %lld]",
                      (long long)b, (long long)len, (long long)run.n.t);
    }
    return OT_OK;
}

static ot_status forward_recurrent(ot_node_ctx *c) {
    OT_TRY(check_lengths(c));
    ot_tensor *y = output(c, OUT_Y);
    if (y) memset(y->data, 0, sizeof(float) * (size_t)ot_tensor_numel(y));
    for (int64_t d = 0; d < ((const recurrent_params *)c->params)->directions; d++) {
        rnn_run run;
        run_init(&run, c, d);
        const rnn_dims *n = &run.n;
        float *xw = c->workspace; // (rows, GH)
        step_state st = {.xw = xw, .gates = xw + n->rows * n->gh}; // gates (B, GH)
        st.h = st.gates + n->b * n->gh;
        st.c = st.h + n->b * n->h;
        st.rh = st.c + n->b * n->h;
        row_scratch(&st, st.rh + n->b * n->h, n);
        project_inputs(&run, xw);
        load_state(&run, IN_H0, st.h);
        load_state(&run, IN_C0, st.c);
        for (int64_t s = 0; s < n->t; s++) forward_step(&run, &st, s);
        store_state(&run, OUT_YH, st.h);
        if (run.p->kind == KIND_LSTM) store_state(&run, OUT_YC, st.c);
    }
    return OT_OK;
}

/* Backward steps ---------------------------------------------------------------------------- */

static void rnn_grad_row(const rnn_run *run, step_state *gs, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    const float *dh = gs->dh + b * n->h;
    float *dz = gs->dz + b * n->gh;
    oti_recurrent_act_backward(&run->act[0], run->p->clip, gs->act, gs->slope, run->z + row * n->gh, n->h);
    for (int64_t j = 0; j < n->h; j++) dz[j] = dh[j] * gs->slope[j];
}

/* LSTM: from dH and dC after the step, dz of the four gates, dC before it and the peepholes'
 * gradients. a, s: the gates' values and slopes; hc, hs: h(C) and h'(C). */
static void lstm_grad_row(const rnn_run *run, step_state *gs, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    int64_t H = n->h;
    const float *z = run->z + row * n->gh, *cprev = run->aux + row * H, *cell = run->cell + row * H;
    const float *dh = gs->dh + b * H, *pp = run->peep;
    float *dz = gs->dz + b * n->gh, *dc = gs->dc + b * H;
    float *a = gs->act, *s = gs->slope, *hc = gs->hc, *hs = gs->hslope;
    float clip = run->p->clip;
    oti_recurrent_act_backward(&run->act[0], clip, a, s, z, 3 * H); /* i, o, f */
    oti_recurrent_act_backward(&run->act[1], clip, a + 3 * H, s + 3 * H, z + 3 * H, H);
    oti_recurrent_act_backward(&run->act[2], 0.0f, hc, hs, cell, H);
    int coupled = run->p->input_forget;
    for (int64_t j = 0; j < H; j++) {
        float fg = coupled ? 1.0f - a[j] : a[2 * H + j];
        float dzo = dh[j] * hc[j] * s[H + j];
        float dcell = dc[j] + dh[j] * a[H + j] * hs[j] + (pp ? dzo * pp[H + j] : 0.0f);
        float di = dcell * a[3 * H + j], df = dcell * cprev[j];
        if (coupled) di -= df, df = 0.0f;
        dz[j] = di * s[j];
        dz[H + j] = dzo;
        dz[2 * H + j] = df * s[2 * H + j];
        dz[3 * H + j] = dcell * a[j] * s[3 * H + j];
        dc[j] = dcell * fg + (pp ? dz[j] * pp[j] + dz[2 * H + j] * pp[2 * H + j] : 0.0f);
    }
    ot_tensor *dp = pp ? run->c->din[IN_P] : NULL;
    float *dpeep = dp ? (float *)dp->data + run->d * 3 * H : NULL;
    for (int64_t j = 0; dpeep && j < H; j++) {
        dpeep[j] += dz[j] * cprev[j];
        dpeep[H + j] += dz[H + j] * cell[j];
        dpeep[2 * H + j] += dz[2 * H + j] * cprev[j];
    }
}

/* GRU, first half: dz of the z and h gates; dprev = dh * z; with linear_before_reset also dr
 * and dz of r (without, d(r * H) needs dz_h R_h first). */
static void gru_grad_row(const rnn_run *run, step_state *gs, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    int64_t H = n->h;
    const float *z = run->z + row * n->gh, *hprev = run->hprev + row * H, *aux = run->aux + row * H;
    const float *dh = gs->dh + b * H;
    float *dz = gs->dz + b * n->gh, *dr = gs->dr + b * n->gh, *dprev = gs->dprev + b * H;
    float *a = gs->act, *s = gs->slope;
    float clip = run->p->clip;
    oti_recurrent_act_backward(&run->act[0], clip, a, s, z, 2 * H); /* z, r */
    oti_recurrent_act_backward(&run->act[1], clip, a + 2 * H, s + 2 * H, z + 2 * H, H);
    for (int64_t j = 0; j < H; j++) {
        dz[j] = dh[j] * (hprev[j] - a[2 * H + j]) * s[j];
        dz[2 * H + j] = dh[j] * (1.0f - a[j]) * s[2 * H + j];
        dprev[j] = dh[j] * a[j];
    }
    if (!run->p->linear_before_reset) return;
    for (int64_t j = 0; j < H; j++) { /* aux: H R_h^T + Rb_h */
        dz[H + j] = dz[2 * H + j] * aux[j] * s[H + j];
        dr[j] = dz[j];
        dr[H + j] = dz[H + j];
        dr[2 * H + j] = dz[2 * H + j] * a[H + j];
    }
}

/* GRU without linear_before_reset, second half: drh = d(r * H) (B, H) is known; dz of r and
 * the direct part of dprev. */
static void gru_reset_grad_row(const rnn_run *run, step_state *gs, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    int64_t H = n->h;
    const float *z = run->z + row * n->gh, *hprev = run->hprev + row * H, *drh = gs->drh + b * H;
    float *dz = gs->dz + b * n->gh, *dprev = gs->dprev + b * H, *r = gs->act, *s = gs->slope;
    oti_recurrent_act_backward(&run->act[0], run->p->clip, r, s, z + H, H);
    for (int64_t j = 0; j < H; j++) {
        dz[H + j] = drh[j] * hprev[j] * s[j];
        dprev[j] += drh[j] * r[j];
    }
}

/* The step's dz, dr and dprev start at 0 (inactive rows stay so and add nothing to the
 * GEMMs). */
static void begin_grad_step(const rnn_run *run, step_state *gs) {
    const rnn_dims *n = &run->n;
    memset(gs->dz, 0, sizeof(float) * (size_t)(n->b * n->gh));
    if (gs->dr != gs->dz) memset(gs->dr, 0, sizeof(float) * (size_t)(n->b * n->gh));
    memset(gs->dprev, 0, sizeof(float) * (size_t)(n->b * n->h));
}

/* dh += dY of the step for batch row b. */
static void add_output_grad(const rnn_run *run, step_state *gs, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    ot_tensor *dy = output(run->c, OUT_Y) ? run->c->dout[OUT_Y] : NULL;
    if (!dy) return;
    const float *g = (const float *)dy->data + y_at(n, time_of_row(n, row), run->d, b);
    for (int64_t j = 0; j < n->h; j++) gs->dh[b * n->h + j] += g[j];
}

/* Batch row b after the step: dh = dprev (the state gradient before it); dz and dr go to X's
 * row. */
static void end_grad_row(const rnn_run *run, step_state *gs, int64_t b, int64_t row) {
    const rnn_dims *n = &run->n;
    memcpy(gs->dh + b * n->h, gs->dprev + b * n->h, sizeof(float) * (size_t)n->h);
    memcpy(gs->dz_all + row * n->gh, gs->dz + b * n->gh, sizeof(float) * (size_t)n->gh);
    if (gs->dr != gs->dz) memcpy(gs->dr_all + row * n->gh, gs->dr + b * n->gh, sizeof(float) * (size_t)n->gh);
}

static void backward_step(const rnn_run *run, step_state *gs, int64_t s) {
    const rnn_dims *n = &run->n;
    ot_pool *pool = run->c->pool;
    int64_t H = n->h, k = n->gh; /* dprev (B, H) += dr (B, k) R[:k] (k, H) */
    begin_grad_step(run, gs);
    for_active_rows(run, gs, s, add_output_grad);
    if (run->p->kind == KIND_RNN) for_active_rows(run, gs, s, rnn_grad_row);
    if (run->p->kind == KIND_LSTM) for_active_rows(run, gs, s, lstm_grad_row);
    if (run->p->kind == KIND_GRU) {
        for_active_rows(run, gs, s, gru_grad_row);
        if (!run->p->linear_before_reset) {
            /* drh (B, H) = dz_h (B, H) R_h (H, H); dprev += drh R_h's part through r * H. */
            oti_sgemm(pool, 0, 0, n->b, H, H, 1.0f, gs->dz + 2 * H, n->gh, run->r + 2 * H * H, H, 0.0f,
                      gs->drh, H);
            for_active_rows(run, gs, s, gru_reset_grad_row);
            k = 2 * H;
        }
    }
    oti_sgemm(pool, 0, 0, n->b, H, k, 1.0f, gs->dr, n->gh, run->r, H, 1.0f, gs->dprev, H);
    for_active_rows(run, gs, s, end_grad_row);
}

/* dh (or dc) = dY_h (dY_c) of this direction, 0 for rows of length 0 (their output is 0). */
static void load_state_grad(const rnn_run *run, int k, float *dstate) {
    const rnn_dims *n = &run->n;
    const ot_tensor *dout = output(run->c, k) ? run->c->dout[k] : NULL;
    for (int64_t b = 0; b < n->b; b++) {
        float *dst = dstate + b * n->h;
        if (dout && seq_len(run, b) > 0)
            memcpy(dst, (const float *)dout->data + state_at(n, run->d, b), sizeof(float) * (size_t)n->h);
        else memset(dst, 0, sizeof(float) * (size_t)n->h);
    }
}

/* d initial state += the state gradient before the first step. */
static void add_state_grad(const rnn_run *run, int k, const float *dstate) {
    const rnn_dims *n = &run->n;
    ot_tensor *din = input(run->c, k) ? run->c->din[k] : NULL;
    for (int64_t b = 0; din && b < n->b; b++) {
        float *dst = (float *)din->data + state_at(n, run->d, b);
        for (int64_t j = 0; j < n->h; j++) dst[j] += dstate[b * n->h + j];
    }
}

/* out (cols) += the column sums of a (rows, cols) block with row stride ld. */
static void add_column_sums(float *out, const float *a, int64_t rows, int64_t cols, int64_t ld) {
    for (int64_t row = 0; row < rows; row++)
        for (int64_t j = 0; j < cols; j++) out[j] += a[row * ld + j];
}

/* dW, dX, dR, dB from the per-row gradients, each one GEMM (or sum) over X's rows. */
static void add_weight_grads(const rnn_run *run, const step_state *gs) {
    const ot_node_ctx *c = run->c;
    const rnn_dims *n = &run->n;
    ot_pool *pool = c->pool;
    int64_t H = n->h, d = run->d;
    const float *x = c->in[IN_X]->data;
    if (c->din[IN_W]) /* dW (GH, I) += dz^T (GH, rows) X (rows, I) */
        oti_sgemm(pool, 1, 0, n->gh, n->i, n->rows, 1.0f, gs->dz_all, n->gh, x, n->i, 1.0f,
                  (float *)c->din[IN_W]->data + d * n->gh * n->i, n->i);
    if (c->din[IN_X]) /* dX (rows, I) += dz (rows, GH) W (GH, I) */
        oti_sgemm(pool, 0, 0, n->rows, n->i, n->gh, 1.0f, gs->dz_all, n->gh, run->w, n->i, 1.0f,
                  c->din[IN_X]->data, n->i);
    if (c->din[IN_R]) {
        /* dR (GH, H) += dr^T (GH, rows) Hprev (rows, H); GRU's h gate reads r * H unless
         * linear_before_reset. */
        float *dr = (float *)c->din[IN_R]->data + d * n->gh * H;
        int gru_rh = run->p->kind == KIND_GRU && !run->p->linear_before_reset;
        int64_t k = gru_rh ? 2 * H : n->gh;
        oti_sgemm(pool, 1, 0, k, H, n->rows, 1.0f, gs->dr_all, n->gh, run->hprev, H, 1.0f, dr, H);
        if (gru_rh)
            oti_sgemm(pool, 1, 0, H, H, n->rows, 1.0f, gs->dr_all + 2 * H, n->gh, run->aux, H, 1.0f,
                      dr + 2 * H * H, H);
    }
    if (input(c, IN_B) && c->din[IN_B]) {
        float *db = (float *)c->din[IN_B]->data + d * 2 * n->gh;
        add_column_sums(db, gs->dz_all, n->rows, n->gh, n->gh);
        add_column_sums(db + n->gh, gs->dr_all, n->rows, n->gh, n->gh);
    }
}

static ot_status backward_recurrent(ot_node_ctx *c) {
    const recurrent_params *p = c->params;
    for (int64_t d = 0; d < p->directions; d++) {
        rnn_run run;
        run_init(&run, c, d);
        const rnn_dims *n = &run.n;
        int separate_dr = p->kind == KIND_GRU && p->linear_before_reset;
        step_state gs = {0};
        gs.dz_all = c->workspace; // (rows, GH)
        gs.dr_all = separate_dr ? gs.dz_all + n->rows * n->gh : gs.dz_all;
        gs.dz = gs.dz_all + 2 * n->rows * n->gh; // (B, GH)
        gs.dr = separate_dr ? gs.dz + n->b * n->gh : gs.dz;
        gs.dh = gs.dz + 2 * n->b * n->gh; // (B, H) each
        gs.dc = gs.dh + n->b * n->h;
        gs.drh = gs.dc + n->b * n->h;
        gs.dprev = gs.drh + n->b * n->h;
        row_scratch(&gs, gs.dprev + n->b * n->h, n);
        memset(gs.dz_all, 0, sizeof(float) * (size_t)(2 * n->rows * n->gh));
        load_state_grad(&run, OUT_YH, gs.dh);
        load_state_grad(&run, OUT_YC, gs.dc);
        for (int64_t s = n->t - 1; s >= 0; s--) backward_step(&run, &gs, s);
        add_state_grad(&run, IN_H0, gs.dh);
        if (p->kind == KIND_LSTM) add_state_grad(&run, IN_C0, gs.dc);
        add_weight_grads(&run, &gs);
    }
    return OT_OK;
}

/* W and R are kernels (no layout the weight matchers know), B a bias, sequence_lens a
 * constant; X, the initial states and the peepholes are data (trained where initializers). */
#define RECURRENT_ROW(op, since, parser)                                                       \
    {.name = op, .since_version = since, .params_size = sizeof(recurrent_params), .parse = parser, \
     .infer = infer_recurrent, .forward = forward_recurrent, .backward = backward_recurrent,   \
     .flags = OT_OP_OPTIONAL_OUTPUTS,                                                           \
     .inputs = {[IN_W] = OT_ROLE_KERNEL, [IN_R] = OT_ROLE_KERNEL, [IN_B] = OT_ROLE_BIAS,        \
                [IN_LENS] = OT_ROLE_CONSTANT}}

const ot_op oti_ops_recurrent[] = {
    RECURRENT_ROW("LSTM", 7, oti_recurrent_parse_lstm), RECURRENT_ROW("LSTM", 14, oti_recurrent_parse_lstm),
    RECURRENT_ROW("GRU", 7, oti_recurrent_parse_gru), RECURRENT_ROW("GRU", 14, oti_recurrent_parse_gru),
    RECURRENT_ROW("RNN", 7, oti_recurrent_parse_rnn), RECURRENT_ROW("RNN", 14, oti_recurrent_parse_rnn),
};
const ot_op_family oti_family_recurrent = {oti_ops_recurrent, OT_COUNT(oti_ops_recurrent)};
