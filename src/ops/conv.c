/* Conv (1-D, 2-D, 3-D; groups, dilations, strides, pads, auto_pad, optional bias) as
 * im2col + GEMM per group, and the conv family's op table (ConvTranspose lives in
 * conv_transpose.c, depthwise kernels in conv_depthwise.c).
 *
 * Work is cut into tiles: small images are stacked several samples per tile so the GEMM is
 * wide enough to run at full speed; large ones are cut into ranges of output positions so
 * the column buffer stays under the plan's column budget (conv_tuning.h). Pointwise convs (1x1, stride 1,
 * no pad) use X as the column matrix directly. Tiles that cover whole images are spread over
 * the compute threads, each running its own single-threaded GEMMs with its own scratch (and
 * its own dW, summed at the end); otherwise each GEMM is split over the threads. Backward
 * recomputes the columns rather than saving them (they are kernel_size times the size of X).
 * FFT (conv_fft.c) and Winograd (conv_winograd.c) convs take the shapes they suit first. */
#include <string.h>

#include "core/util.h"
#include "conv_internal.h"
#include "gemm.h"

#define TARGET_COLUMNS 1024 /* stack samples until a tile's GEMM is this wide */

typedef struct conv_tiling {
    int64_t samples;   /* images per tile */
    int64_t positions; /* output positions per tile (all of them when samples > 1) */
    int direct;        /* pointwise, one sample per tile: X is the column matrix */
    int64_t col_floats; /* column buffer (in_per_group * kernel_size, samples * positions) */
    int64_t tmp_floats; /* stacked outputs (out_per_group, samples * positions) */
    int64_t dw_floats;  /* a thread's own dW (out_channels, in_per_group * kernel_size) */
    int parts;          /* threads sharing the tiles (1: tiles in turn, each GEMM split) */
} conv_tiling;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* One tile: samples n0 .. n0+nb-1 (all positions) or positions p0 .. p0+np-1 of one
 * sample, for group g. */
typedef struct conv_tile {
    int64_t n0, nb, p0, np, g;
} conv_tile;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Tiles run over sample blocks, then groups, then position ranges. */
static int64_t tile_count(const conv_shape *s, const conv_tiling *t) {
    return ceil_div(s->batch, t->samples) * s->group * ceil_div(s->geom.out_size, t->positions);
}

static conv_tile tile_at(const conv_shape *s, const conv_tiling *t, int64_t index) {
    int64_t ranges = ceil_div(s->geom.out_size, t->positions);
    int64_t p0 = index % ranges * t->positions, g = index / ranges % s->group;
    int64_t n0 = index / ranges / s->group * t->samples;
    conv_tile tile = {n0, min64(t->samples, s->batch - n0), p0,
                      min64(t->positions, s->geom.out_size - p0), g};
    return tile;
}

/* Backward passes that produce dW spread whole-image tiles over this many slots, whatever the
 * thread count: slot k takes a fixed share of the tiles in order and sums its dW on its own
 * (slot 0 into dW itself), and the slots are added in order at the end. Spreading over the
 * threads instead made the sums, and so the trained weights, depend on the thread count. */
#define DW_SLOTS 2

/* Tiling for `threads` parts (the pool's threads, or DW_SLOTS for a pass producing dW). */
static conv_tiling conv_tiling_of(const conv_shape *s, int64_t threads) {
    const ot_conv_geom *g = &s->geom;
    /* rows is 0 for an input without channels (the output is then the bias) */
    int64_t rows = s->in_per_group * g->kernel_size, p = g->out_size, sized = rows > 0 ? rows : 1;
    conv_tiling t = {1, p, 0, 0, 0, 0, 1};
    int pointwise = oti_conv_geom_is_pointwise(g);
    if (p < TARGET_COLUMNS && s->batch > 1) {
        int64_t fit = s->tuning->column_budget_floats / (sized * p);
        t.samples = min64(min64((TARGET_COLUMNS + p - 1) / p, s->batch), fit > 1 ? fit : 1);
    }
    if (t.samples == 1 && !pointwise) t.positions = oti_conv_positions_per_tile(s, sized);
    t.direct = pointwise && t.samples == 1;
    t.col_floats = t.direct ? 0 : rows * t.samples * t.positions;
    t.tmp_floats = t.samples > 1 ? s->out_per_group * t.samples * p : 0;
    /* Whole-image tiles write disjoint parts of Y and dX. Spread them when every thread
     * gets a fair share (a 2:1 split would lose to splitting each GEMM). */
    int64_t tiles = tile_count(s, &t);
    if (t.positions == p && threads > 1 && (tiles >= 2 * threads || (tiles >= threads && tiles % threads == 0))) {
        t.parts = (int)threads;
        t.dw_floats = s->out_channels * rows;
    }
    return t;
}

/* Scratch of one part: columns, then tmp, then its dW (parts other than 0). */
static int64_t part_floats(const conv_tiling *t) { return t->col_floats + t->tmp_floats + t->dw_floats; }

static ot_status parse_conv(const ot_layer *l, void *params) { return oti_conv_parse_params(l, params, 0); }

/* Whole-conv algorithms tried before the depthwise loops and im2col, in this order: the first
 * that applies runs forward, and each gradient its backward_applies accepts (NULL: both);
 * im2col takes the others. */
typedef struct conv_algorithm {
    int (*applies)(const conv_shape *s);
    int (*backward_applies)(const conv_shape *s, int input_gradient);
    size_t (*workspace)(const conv_shape *s);
    void (*forward)(float *y, const float *x, const float *w, const float *bias,
                    const conv_shape *s, void *workspace);
    void (*backward)(float *dx, float *dw, const float *dy, const float *x, const float *w,
                     const conv_shape *s, void *workspace);
} conv_algorithm;

static const conv_algorithm algorithms[] = {
    {oti_conv_fft_applies, NULL, oti_conv_fft_workspace, oti_conv_fft_forward, oti_conv_fft_backward},
    {oti_conv_winograd_applies, oti_conv_winograd_backward_applies, oti_conv_winograd_workspace, oti_conv_winograd_forward, oti_conv_winograd_backward},
};

/* The node's choice, made by infer (c->variant: 1 + the algorithm's index, 0 for none). */
static const conv_algorithm *algorithm_of(const ot_node_ctx *c) {
    return c->variant > 0 && c->variant <= (int)OT_COUNT(algorithms) ? &algorithms[c->variant - 1] : NULL;
}

/* Whether algorithm a takes dX (input_gradient) or dW. */
static int algorithm_takes(const conv_algorithm *a, const conv_shape *s, int input_gradient) {
    return !a->backward_applies || a->backward_applies(s, input_gradient);
}

static size_t im2col_workspace(const conv_shape *s) {
    conv_tiling t = conv_tiling_of(s, oti_pool_threads(s->pool)), d = conv_tiling_of(s, DW_SLOTS);
    return sizeof(float) * (size_t)OT_MAX(part_floats(&t) * t.parts, part_floats(&d) * d.parts);
}

static ot_status infer_conv(ot_node_ctx *c) {
    conv_shape s;
    OT_TRY(oti_conv_shape_of(c, &s));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, s.spatial + 2, s.y_dims);
    size_t direct = 0, tiled = 0;
    c->variant = 0;
    for (size_t i = 0; i < OT_COUNT(algorithms) && !c->variant; i++)
        if (algorithms[i].applies(&s)) c->variant = (int)i + 1;
    const conv_algorithm *a = algorithm_of(c);
    if (a) {
        c->workspace_bytes = a->workspace(&s);
        /* (whether backward will run is not known yet) */
        if (!(algorithm_takes(a, &s, 1) && algorithm_takes(a, &s, 0)))
            c->workspace_bytes = OT_MAX(c->workspace_bytes, im2col_workspace(&s));
        return OT_OK;
    }
    if (oti_conv_depthwise_forward_applies(&s)) direct = oti_conv_depthwise_workspace(&s);
    if (!oti_conv_depthwise_backward_applies(&s)) tiled = im2col_workspace(&s);
    c->workspace_bytes = direct > tiled ? direct : tiled;
    return OT_OK;
}

/* The tile's columns (rows, nb * np) with their row stride: X itself when direct. */
static const float *tile_columns(const conv_shape *s, const conv_tiling *t, const conv_tile *tile,
                                 const float *x, float *col, int64_t *ld) {
    const ot_conv_geom *g = &s->geom;
    const float *image = x + (tile->n0 * s->in_channels + tile->g * s->in_per_group) * g->image_size;
    if (t->direct) {
        *ld = g->out_size;
        return image + tile->p0;
    }
    *ld = tile->nb * tile->np;
    oti_im2col(s->pool, col, *ld, image, tile->nb, s->in_channels * g->image_size, s->in_per_group, g,
              tile->p0, tile->p0 + tile->np);
    return col;
}

/* y[n0 + b, g's channels, :] (+ bias) = tmp (out_per_group, nb * P), sample b at b * P. */
static void unstack_outputs(float *y, const float *tmp, const float *bias, const conv_shape *s,
                            const conv_tile *tile) {
    int64_t p = s->geom.out_size, mg = s->out_per_group;
    for (int64_t b = 0; b < tile->nb; b++)
        for (int64_t m = 0; m < mg; m++) {
            int64_t channel = tile->g * mg + m;
            float *dst = y + ((tile->n0 + b) * s->out_channels + channel) * p;
            const float *src = tmp + m * tile->nb * p + b * p;
            float add = bias ? bias[channel] : 0.0f;
            for (int64_t i = 0; i < p; i++) dst[i] = src[i] + add;
        }
}

/* tmp (out_per_group, nb * P) = dy[n0 + b, g's channels, :] side by side. */
static void stack_gradients(float *tmp, const float *dy, const conv_shape *s, const conv_tile *tile) {
    int64_t p = s->geom.out_size, mg = s->out_per_group;
    for (int64_t b = 0; b < tile->nb; b++)
        for (int64_t m = 0; m < mg; m++) {
            const float *src = dy + ((tile->n0 + b) * s->out_channels + tile->g * mg + m) * p;
            float *dst = tmp + m * tile->nb * p + b * p;
            for (int64_t i = 0; i < p; i++) dst[i] = src[i];
        }
}

/* y[n, m, 0 .. count) += bias[m] for rows of length ld (channels per sample). */
static void add_bias(float *y, const float *bias, int64_t batch, int64_t channels, int64_t ld,
                     int64_t count) {
    for (int64_t n = 0; n < batch; n++)
        for (int64_t m = 0; m < channels; m++) {
            float *row = y + (n * channels + m) * ld;
            for (int64_t i = 0; i < count; i++) row[i] += bias[m];
        }
}

/* One call's inputs and outputs, shared by the threads that split its tiles. */
typedef struct conv_run {
    const conv_shape *s;
    const conv_tiling *t;
    const float *x, *w, *bias, *dy; // X (N, C, ...), W (M, C/group, k...), B (M), dY like Y
    float *y, *dx, *dw;              // Y (N, M, ...); dX, dW NULL when not wanted
    float *workspace;                // part_floats(t) per part
} conv_run;

static void forward_tile(const conv_run *r, const conv_tile *tile, float *scratch) {
    const conv_shape *s = r->s;
    const conv_tiling *t = r->t;
    float *col = scratch, *tmp = scratch + t->col_floats;
    int64_t rows = s->in_per_group * s->geom.kernel_size, p = s->geom.out_size, mg = s->out_per_group;
    const float *wg = r->w + tile->g * mg * rows, *bg = r->bias ? r->bias + tile->g * mg : NULL;
    int64_t ld;
    const float *columns = tile_columns(s, t, tile, r->x, col, &ld);
    float *yg = r->y + (tile->n0 * s->out_channels + tile->g * mg) * p + tile->p0;
    if (t->samples == 1) {
        oti_sgemm(s->pool, 0, 0, mg, tile->np, rows, 1.0f, wg, rows, columns, ld, 0.0f, yg, p);
        if (bg) add_bias(yg, bg, 1, mg, p, tile->np);
    } else {
        oti_sgemm(s->pool, 0, 0, mg, tile->nb * p, rows, 1.0f, wg, rows, columns, ld, 0.0f, tmp, tile->nb * p);
        unstack_outputs(r->y, tmp, r->bias, s, tile);
    }
}

/* dW (into dw, the part's own or the real one) and dX of one tile. */
static void backward_tile(const conv_run *r, const conv_tile *tile, float *scratch, float *dw) {
    const conv_shape *s = r->s;
    const conv_tiling *t = r->t;
    float *col = scratch, *tmp = scratch + t->col_floats;
    int64_t rows = s->in_per_group * s->geom.kernel_size, p = s->geom.out_size, mg = s->out_per_group;
    int64_t image = s->geom.image_size, width = tile->nb * tile->np;
    /* The tile's dy as (out_per_group, width), with its row stride. */
    const float *g = r->dy + (tile->n0 * s->out_channels + tile->g * mg) * p + tile->p0;
    int64_t ldg = p;
    if (tile->nb > 1) {
        stack_gradients(tmp, r->dy, s, tile);
        g = tmp;
        ldg = width;
    }
    if (dw) { /* dW_g (out_per_group, rows) += dy_g @ columns^T */
        int64_t ld;
        const float *columns = tile_columns(s, t, tile, r->x, col, &ld);
        oti_sgemm(s->pool, 0, 1, mg, rows, width, 1.0f, g, ldg, columns, ld, 1.0f, dw + tile->g * mg * rows, rows);
    }
    if (!r->dx) return;
    const float *wg = r->w + tile->g * mg * rows;
    float *dxg = r->dx + (tile->n0 * s->in_channels + tile->g * s->in_per_group) * image;
    if (t->direct) { /* dX_g (C/group, P) += W_g^T @ dy_g */
        oti_sgemm(s->pool, 1, 0, rows, width, mg, 1.0f, wg, rows, g, ldg, 1.0f, dxg + tile->p0, p);
        return;
    }
    /* the columns' gradient W_g^T @ dy_g, added back into the images */
    oti_sgemm(s->pool, 1, 0, rows, width, mg, 1.0f, wg, rows, g, ldg, 0.0f, col, width);
    oti_col2im_add(s->pool, dxg, col, width, tile->nb, s->in_channels * image, s->in_per_group, &s->geom,
                  tile->p0, tile->p0 + tile->np);
}

static void forward_tiles(int64_t first, int64_t end, int part, void *arg) {
    const conv_run *r = arg;
    float *scratch = r->workspace + part * part_floats(r->t);
    for (int64_t i = first; i < end; i++) {
        conv_tile tile = tile_at(r->s, r->t, i);
        forward_tile(r, &tile, scratch);
    }
}

/* dX only: tiles spread over the threads' parts (their outputs are disjoint). */
static void backward_tiles(int64_t first, int64_t end, int part, void *arg) {
    const conv_run *r = arg;
    float *scratch = r->workspace + part * part_floats(r->t);
    for (int64_t i = first; i < end; i++) {
        conv_tile tile = tile_at(r->s, r->t, i);
        backward_tile(r, &tile, scratch, NULL);
    }
}

/* With dW: slots [first, end) of DW_SLOTS, each its share of the tiles in order on its own
 * scratch; slot 0 adds into the real dW, the others into their own, summed afterwards. */
static void backward_slots(int64_t first, int64_t end, int part, void *arg) {
    (void)part;
    const conv_run *r = arg;
    int64_t tiles = tile_count(r->s, r->t);
    for (int64_t slot = first; slot < end; slot++) {
        float *scratch = r->workspace + slot * part_floats(r->t), *dw = r->dw;
        if (slot > 0) {
            dw = scratch + r->t->col_floats + r->t->tmp_floats;
            memset(dw, 0, sizeof(float) * (size_t)r->t->dw_floats);
        }
        for (int64_t i = slot * tiles / r->t->parts; i < (slot + 1) * tiles / r->t->parts; i++) {
            conv_tile tile = tile_at(r->s, r->t, i);
            backward_tile(r, &tile, scratch, dw);
        }
    }
}

/* Runs fn over all tiles: spread over the parts, or in turn with each GEMM split over the
 * threads. */
static void run_tiles(const conv_run *r, ot_range_fn fn) {
    int64_t tiles = tile_count(r->s, r->t);
    if (r->t->parts > 1) oti_parallel_ranges(r->s->pool, tiles, 1, fn, (void *)r);
    else fn(0, tiles, 0, (void *)r);
}

static ot_status forward_conv(ot_node_ctx *c) {
    conv_shape s;
    OT_TRY(oti_conv_shape_of(c, &s));
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    const conv_algorithm *a = algorithm_of(c);
    if (a) {
        a->forward(y, x, w, bias, &s, c->workspace);
        return OT_OK;
    }
    if (oti_conv_depthwise_forward_applies(&s)) {
        oti_conv_depthwise_forward(y, x, w, bias, &s, c->workspace);
        return OT_OK;
    }
    conv_tiling t = conv_tiling_of(&s, oti_pool_threads(s.pool));
    conv_run r = {&s, &t, x, w, bias, NULL, y, NULL, NULL, c->workspace};
    run_tiles(&r, forward_tiles);
    return OT_OK;
}

static ot_status backward_conv(ot_node_ctx *c) {
    conv_shape s;
    OT_TRY(oti_conv_shape_of(c, &s));
    const float *x = c->in[0]->data, *w = c->in[1]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0] ? c->din[0]->data : NULL, *dw = c->din[1] ? c->din[1]->data : NULL;
    if (c->n_in > 2 && c->in[2] && c->din[2])
        oti_conv_bias_backward(c->din[2]->data, dy, s.batch, s.out_channels, s.geom.out_size);
    if (!dx && !dw) return OT_OK;
    const conv_algorithm *a = algorithm_of(c);
    if (a) {
        float *dx_a = algorithm_takes(a, &s, 1) ? dx : NULL, *dw_a = algorithm_takes(a, &s, 0) ? dw : NULL;
        if (dx_a || dw_a) a->backward(dx_a, dw_a, dy, x, w, &s, c->workspace);
        if (dx_a) dx = NULL;
        if (dw_a) dw = NULL;
        if (!dx && !dw) return OT_OK;
    } else if (oti_conv_depthwise_backward_applies(&s)) {
        oti_conv_depthwise_backward(dx, dw, dy, x, w, &s, c->workspace);
        return OT_OK;
    }
    conv_tiling t = conv_tiling_of(&s, dw ? DW_SLOTS : oti_pool_threads(s.pool));
    conv_run r = {&s, &t, x, w, NULL, dy, NULL, dx, dw, c->workspace};
    if (!dw) {
        run_tiles(&r, backward_tiles);
        return OT_OK;
    }
    if (t.parts == 1) {
        backward_slots(0, 1, 0, &r); /* one slot: each GEMM split over the threads */
        return OT_OK;
    }
    oti_parallel_ranges(s.pool, t.parts, 1, backward_slots, &r);
    for (int slot = 1; slot < t.parts; slot++) { /* the other slots' dW, in order */
        const float *own = r.workspace + slot * part_floats(&t) + t.col_floats + t.tmp_floats;
        for (int64_t i = 0; i < t.dw_floats; i++) dw[i] += own[i];
    }
    return OT_OK;
}

const ot_op oti_ops_conv[] = {
    {.name = "Conv", .since_version = 1, .params_size = sizeof(conv_params), .parse = parse_conv,
     .infer = infer_conv, .forward = forward_conv, .backward = backward_conv,
     .inputs = {[1] = OT_ROLE_KERNEL, [2] = OT_ROLE_BIAS}, .kernel_layout = OT_KERNEL_OIHW},
    {.name = "ConvTranspose", .since_version = 1, .params_size = sizeof(conv_params),
     .parse = oti_conv_transpose_parse, .infer = oti_conv_transpose_infer, .forward = oti_conv_transpose_forward,
     .backward = oti_conv_transpose_backward, .inputs = {[1] = OT_ROLE_KERNEL, [2] = OT_ROLE_BIAS},
     .kernel_layout = OT_KERNEL_IOHW},
};
const ot_op_family oti_family_conv = {oti_ops_conv, OT_COUNT(oti_ops_conv)};
