/* Einsum (opset 12), float32, forward and backward.
 *
 * The equation ("bhqd,bhkd->bhqk", "...ij,...jk->...ik", "ii->i", "bi,oij,bj->bo"; spaces
 * ignored; without "->" the output is numpy's implicit one: the ellipsis dims, then the
 * labels used once, in ASCII order) is parsed once. When shapes are known, every label gets
 * a size and every operand becomes a view: per label, an element stride (a label repeated in
 * one operand, a diagonal, sums its axes' strides; a broadcast size-1 ellipsis dim has
 * stride 0 and does not count as the operand's label).
 *
 * Contraction: one operand is a direct loop (sums, diagonals, transposes). Two operands are a
 * batched GEMM: labels in both and the output are the batch, those in one operand and the
 * output are M or N, those in both but not the output are K, and labels in only one operand
 * are summed out first. An operand already laid out as (batch, M, K) or (batch, K, M) is used
 * in place (attention's "bhqd,bhkd->bhqk" and "bhqk,bhkd->bhqd" need no copy); others are
 * packed into the workspace by the direct loop. More operands contract left to right, keeping
 * the labels later operands or the output need.
 *
 * Backward: the gradient of operand k is the einsum of the output gradient with the other
 * operands, whose output is operand k's labels; it is computed by the same contraction into
 * the workspace, then added through operand k's strides (a diagonal gets the gradient on the
 * diagonal, a broadcast dim the sum). infer runs every contraction once without data to size
 * the workspace, so forward and backward allocate nothing. */
#include <string.h>

#include "core/util.h"
#include "einsum.h"
#include "gemm.h"

#define LETTERS 52
#define MAX_LABELS (LETTERS + OT_MAX_DIMS) /* letters, then the ellipsis dims */

/* Parsing ------------------------------------------------------------------------------- */

static int letter_id(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + ch - 'a';
    return -1;
}

static char letter_of(int id) { return (char)(id < 26 ? 'A' + id : 'a' + id - 26); }

static ot_status parse_term(const ot_layer *l, const char *s, size_t len, ot_einsum_term *t) {
    t->n = t->ellipsis = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') continue;
        int ellipsis = s[i] == '.';
        if (ellipsis && (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' || t->ellipsis))
            return oti_node_fail(l, OT_ERR_INVALID, "equation: '.' must be one '...' per term");
        int id = ellipsis ? OT_EINSUM_ELLIPSIS : letter_id(s[i]);
        if (id == -1 && !ellipsis)
            return oti_node_fail(l, OT_ERR_INVALID, "equation: character '%c' is not a letter", s[i]);
        if (t->n - t->ellipsis >= OT_MAX_DIMS && !ellipsis)
            return oti_node_fail(l, OT_ERR_UNSUPPORTED, "equation: a term has more than %d labels", OT_MAX_DIMS);
        t->sym[t->n++] = (int8_t)id;
        t->ellipsis |= ellipsis;
        i += ellipsis ? 2 : 0;
    }
    return OT_OK;
}

ot_status oti_einsum_parse(const ot_layer *l, void *params) {
    ot_einsum_params *p = params;
    memset(p, 0, sizeof *p);
    const char *eq;
    OT_TRY(oti_attr_get_string(l, "equation", NULL, &eq));
    if (!eq) return oti_node_fail(l, OT_ERR_INVALID, "needs an 'equation' attribute");
    const char *arrow = strstr(eq, "->");
    const char *end = arrow ? arrow : eq + strlen(eq);
    for (const char *term = eq;; term++) {
        const char *comma = memchr(term, ',', (size_t)(end - term));
        const char *stop = comma ? comma : end;
        if (p->n_inputs == OT_EINSUM_MAX_INPUTS)
            return oti_node_fail(l, OT_ERR_UNSUPPORTED, "equation has more than %d inputs", OT_EINSUM_MAX_INPUTS);
        OT_TRY(parse_term(l, term, (size_t)(stop - term), &p->in[p->n_inputs++]));
        if (!comma) break;
        term = comma;
    }
    p->explicit_output = arrow != NULL;
    if (!arrow) return OT_OK;
    OT_TRY(parse_term(l, arrow + 2, strlen(arrow + 2), &p->out));
    for (int i = 0; i < p->out.n; i++)
        for (int j = 0; j < i; j++)
            if (p->out.sym[i] == p->out.sym[j])
                return oti_node_fail(l, OT_ERR_INVALID, "equation: output label '%c' is repeated",
                                    letter_of(p->out.sym[i]));
    return OT_OK;
}

/* Binding to shapes ---------------------------------------------------------------------- */

/* A list of labels in order. */
typedef struct label_list {
    int n;
    int l[MAX_LABELS];
} label_list;

/* An operand: data and, per label, the element stride (0: the operand does not vary along
 * it); `labels` has the bits of the labels it varies along (or has at size 1). */
typedef struct ein_view {
    const float *data;
    int64_t stride[MAX_LABELS];
    uint64_t labels;
} ein_view;

typedef struct ein_problem {
    int n_in;
    int64_t size[MAX_LABELS];
    label_list out;                          /* output labels, in the output's order */
    label_list axes[OT_EINSUM_MAX_INPUTS];   /* label of each axis of input k */
    ein_view in[OT_EINSUM_MAX_INPUTS];
} ein_problem;

static uint64_t bit(int label) { return (uint64_t)1 << label; }

static uint64_t mask_of(const label_list *list) {
    uint64_t m = 0;
    for (int i = 0; i < list->n; i++) m |= bit(list->l[i]);
    return m;
}

/* Each axis of input k gets its label: letters as written, the ellipsis's dims the last
 * `ellipsis_dims` ellipsis labels (numpy aligns them at the right). */
static ot_status label_axes(const ot_node_ctx *c, int k, int ellipsis_dims, label_list *axes) {
    const ot_einsum_term *t = &((const ot_einsum_params *)c->params)->in[k];
    int rank = c->in[k]->ndim, own = rank - (t->n - t->ellipsis);
    OT_NODE_CHECK(c, own >= 0 && (t->ellipsis || own == 0),
                  "input %d has rank %d, its equation term %d labels", k, rank, t->n - t->ellipsis);
    axes->n = 0;
    for (int i = 0; i < t->n; i++) {
        if (t->sym[i] != OT_EINSUM_ELLIPSIS) axes->l[axes->n++] = t->sym[i];
        else
            for (int d = 0; d < own; d++) axes->l[axes->n++] = LETTERS + ellipsis_dims - own + d;
    }
    return OT_OK;
}

/* Sizes: a letter must have one size everywhere; ellipsis dims broadcast (1 or equal). */
static ot_status label_sizes(const ot_node_ctx *c, ein_problem *p) {
    for (int l = 0; l < MAX_LABELS; l++) p->size[l] = -1;
    for (int k = 0; k < c->n_in; k++)
        for (int d = 0; d < p->axes[k].n; d++) {
            int l = p->axes[k].l[d];
            int64_t have = p->size[l], dim = c->in[k]->dims[d];
            if (l >= LETTERS && (have == -1 || have == 1)) p->size[l] = dim;
            else if (l >= LETTERS) OT_NODE_CHECK(c, dim == 1 || dim == have,
                                                 "input %d's ellipsis dim %d is %lld, which does not broadcast with %lld",
                                                 k, d, (long long)dim, (long long)have);
            else if (have == -1) p->size[l] = dim;
            else OT_NODE_CHECK(c, dim == have, "label '%c' is %lld in input %d, %lld elsewhere",
                               letter_of(l), (long long)dim, k, (long long)have);
        }
    return OT_OK;
}

static void bind_view(ein_view *v, const ot_tensor *x, const label_list *axes, const int64_t *size) {
    memset(v, 0, sizeof *v);
    v->data = x->data;
    int64_t stride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        int l = axes->l[d];
        if (x->dims[d] == size[l]) { /* a size-1 dim against a larger one is broadcast */
            v->stride[l] += stride;
            v->labels |= bit(l);
        }
        stride *= x->dims[d];
    }
}

/* The output's labels: as written, or numpy's implicit output. */
static ot_status output_labels(const ot_node_ctx *c, ein_problem *p, int ellipsis_dims) {
    const ot_einsum_params *e = c->params;
    p->out.n = 0;
    if (e->explicit_output) {
        uint64_t used = 0;
        for (int k = 0; k < c->n_in; k++) used |= mask_of(&p->axes[k]);
        for (int i = 0; i < e->out.n; i++) {
            int l = e->out.sym[i];
            if (l == OT_EINSUM_ELLIPSIS)
                for (int d = 0; d < ellipsis_dims; d++) p->out.l[p->out.n++] = LETTERS + d;
            else {
                OT_NODE_CHECK(c, used & bit(l), "output label '%c' is in no input", letter_of(l));
                p->out.l[p->out.n++] = l;
            }
        }
        return OT_OK;
    }
    int count[LETTERS] = {0};
    for (int k = 0; k < c->n_in; k++)
        for (int i = 0; i < e->in[k].n; i++)
            if (e->in[k].sym[i] != OT_EINSUM_ELLIPSIS) count[e->in[k].sym[i]]++;
    for (int d = 0; d < ellipsis_dims; d++) p->out.l[p->out.n++] = LETTERS + d;
    for (int l = 0; l < LETTERS; l++)
        if (count[l] == 1) p->out.l[p->out.n++] = l;
    return OT_OK;
}

static ot_status bind(const ot_node_ctx *c, ein_problem *p) {
    const ot_einsum_params *e = c->params;
    OT_NODE_CHECK(c, c->n_in == e->n_inputs, "equation has %d inputs, the node %d", e->n_inputs, c->n_in);
    p->n_in = c->n_in;
    int ellipsis_dims = 0;
    for (int k = 0; k < c->n_in; k++) {
        OT_NODE_CHECK(c, c->in[k], "input %d is missing", k);
        OT_NODE_CHECK(c, c->in[k]->dtype == OT_FLOAT, "input %d must be float32, not %s", k,
                      ot_dtype_name(c->in[k]->dtype));
        int own = c->in[k]->ndim - (e->in[k].n - e->in[k].ellipsis);
        if (own > ellipsis_dims) ellipsis_dims = own;
    }
    for (int k = 0; k < c->n_in; k++) OT_TRY(label_axes(c, k, ellipsis_dims, &p->axes[k]));
    OT_TRY(label_sizes(c, p));
    for (int k = 0; k < c->n_in; k++) bind_view(&p->in[k], c->in[k], &p->axes[k], p->size);
    return output_labels(c, p, ellipsis_dims);
}

/* Contraction ------------------------------------------------------------------------------ */

/* One contraction's state: sizes, the threads, and the workspace handed out in order. With
 * `sizing` nothing is computed and `used` ends at the floats a real run takes. */
typedef struct ein_run {
    const int64_t *size;
    ot_pool *pool;
    float *base;
    size_t used;
    int sizing;
} ein_run;

static float *take(ein_run *r, int64_t n) {
    float *p = r->sizing || !r->base ? NULL : r->base + r->used; /* no base: nothing is taken */
    r->used += (size_t)n;
    return p;
}

static int64_t numel(const int64_t *size, const label_list *list) {
    int64_t n = 1;
    for (int i = 0; i < list->n; i++) n *= size[list->l[i]];
    return n;
}

static void append(label_list *list, const label_list *more) {
    for (int i = 0; i < more->n; i++) list->l[list->n++] = more->l[i];
}

/* The labels of `m` in decreasing stride of v (v's memory order for a dense operand). */
static void labels_by_stride(label_list *list, uint64_t m, const ein_view *v) {
    list->n = 0;
    for (int l = 0; l < MAX_LABELS; l++) {
        if (!(m & bit(l))) continue;
        int at = list->n++;
        for (; at > 0 && v->stride[list->l[at - 1]] < v->stride[l]; at--) list->l[at] = list->l[at - 1];
        list->l[at] = l;
    }
}

/* A dense buffer over `order` as a view. */
static void dense_view(ein_view *v, const float *data, const int64_t *size, const label_list *order) {
    memset(v, 0, sizeof *v);
    v->data = data;
    int64_t stride = 1;
    for (int i = order->n - 1; i >= 0; i--) {
        v->stride[order->l[i]] = stride;
        v->labels |= bit(order->l[i]);
        stride *= size[order->l[i]];
    }
}

/* Whether v is exactly the dense buffer over `order` (size-1 labels' strides do not matter). */
static int is_dense(const ein_view *v, const int64_t *size, const label_list *order) {
    int64_t stride = 1;
    for (int i = order->n - 1; i >= 0; i--) {
        int l = order->l[i];
        if (size[l] != 1 && v->stride[l] != stride) return 0;
        stride *= size[l];
    }
    return 1;
}

/* Steps the index over `list` (last label fastest) and every view's offset with it. */
static void advance(const int64_t *size, const label_list *list, int64_t *index, const ein_view *v,
                    int n, int64_t *off) {
    for (int d = list->n - 1; d >= 0; d--) {
        int l = list->l[d];
        for (int k = 0; k < n; k++) off[k] += v[k].stride[l];
        if (++index[d] < size[l]) return;
        for (int k = 0; k < n; k++) off[k] -= v[k].stride[l] * size[l];
        index[d] = 0;
    }
}

/* Sum over the labels of `sum` of the product of the views at offsets off. */
static double sum_products(const int64_t *size, const label_list *sum, const ein_view *v, int n,
                           const int64_t *start) {
    int64_t index[MAX_LABELS] = {0}, off[OT_EINSUM_MAX_INPUTS];
    memcpy(off, start, sizeof(int64_t) * (size_t)n);
    double total = 0;
    for (int64_t t = numel(size, sum); t > 0; t--) {
        double product = 1;
        for (int k = 0; k < n; k++) product *= v[k].data[off[k]];
        total += product;
        advance(size, sum, index, v, n, off);
    }
    return total;
}

// out: dense over `out`; out = sum over `sum` of the product of the n views.
static void direct_loop(const ein_run *r, float *out, const label_list *outl, const label_list *sum,
                        const ein_view *v, int n) {
    if (r->sizing) return;
    int64_t index[MAX_LABELS] = {0}, off[OT_EINSUM_MAX_INPUTS] = {0};
    int64_t count = numel(r->size, outl);
    for (int64_t i = 0; i < count; i++) {
        out[i] = (float)sum_products(r->size, sum, v, n, off);
        advance(r->size, outl, index, v, n, off);
    }
}

static void list_of(label_list *list, uint64_t m) {
    list->n = 0;
    for (int l = 0; l < MAX_LABELS; l++)
        if (m & bit(l)) list->l[list->n++] = l;
}

/* An operand as a (batch, rows, cols) GEMM operand: in place when v is already dense that
 * way (or transposed), else packed (labels only v has summed out; labels v lacks repeat). */
static const float *gemm_operand(ein_run *r, const ein_view *v, uint64_t summed, const label_list *batch,
                                 const label_list *rows, const label_list *cols, int *trans) {
    label_list order = *batch;
    append(&order, rows);
    append(&order, cols);
    *trans = 0;
    if (!summed && is_dense(v, r->size, &order)) return v->data;
    label_list swapped = *batch;
    append(&swapped, cols);
    append(&swapped, rows);
    *trans = 1;
    if (!summed && is_dense(v, r->size, &swapped)) return v->data;
    *trans = 0;
    float *packed = take(r, numel(r->size, &order));
    label_list sum;
    list_of(&sum, summed);
    direct_loop(r, packed, &order, &sum, v, 1);
    return packed;
}

static int64_t max1(int64_t v) { return v > 1 ? v : 1; }

/* out (dense over outl) = the contraction of a and b. */
static void contract_pair(ein_run *r, const ein_view *a, const ein_view *b, float *out, const label_list *outl) {
    uint64_t o = mask_of(outl);
    label_list batch = {0}, m = {0}, n = {0}, k;
    for (int i = 0; i < outl->n; i++) {
        int l = outl->l[i];
        label_list *group = (a->labels & b->labels & bit(l)) ? &batch : (b->labels & bit(l)) && !(a->labels & bit(l)) ? &n : &m;
        group->l[group->n++] = l;
    }
    labels_by_stride(&k, a->labels & b->labels & ~o, a);
    int ta, tb;
    const float *pa = gemm_operand(r, a, a->labels & ~b->labels & ~o, &batch, &m, &k, &ta);
    const float *pb = gemm_operand(r, b, b->labels & ~a->labels & ~o, &batch, &k, &n, &tb);
    label_list grouped = batch;
    append(&grouped, &m);
    append(&grouped, &n);
    int in_place = !memcmp(grouped.l, outl->l, sizeof(int) * (size_t)outl->n);
    float *pc = in_place ? out : take(r, numel(r->size, &grouped));
    int64_t nb = numel(r->size, &batch), nm = numel(r->size, &m), nn = numel(r->size, &n), nk = numel(r->size, &k);
    for (int64_t i = 0; i < nb && !r->sizing; i++)
        oti_sgemm(r->pool, ta, tb, nm, nn, nk, 1.0f, pa + i * nm * nk, max1(ta ? nm : nk), pb + i * nk * nn,
                  max1(tb ? nk : nn), 0.0f, pc + i * nm * nn, max1(nn));
    if (in_place) return;
    ein_view cv;
    dense_view(&cv, pc, r->size, &grouped);
    label_list none = {0};
    direct_loop(r, out, outl, &none, &cv, 1);
}

/* out (dense over outl) = the einsum of n views, contracted left to right. */
static void contract(ein_run *r, float *out, const label_list *outl, const ein_view *v, int n) {
    uint64_t o = mask_of(outl);
    if (n == 1) {
        label_list sum;
        list_of(&sum, v[0].labels & ~o);
        direct_loop(r, out, outl, &sum, v, 1);
        return;
    }
    ein_view acc = v[0];
    for (int i = 1; i < n - 1; i++) {
        uint64_t later = o;
        for (int j = i + 1; j < n; j++) later |= v[j].labels;
        /* The intermediate is laid out (batch, M, N) so its GEMM writes it in place. */
        label_list keep, group;
        labels_by_stride(&keep, acc.labels & v[i].labels & later, &acc);
        labels_by_stride(&group, acc.labels & ~v[i].labels & later, &acc);
        append(&keep, &group);
        labels_by_stride(&group, v[i].labels & ~acc.labels & later, &v[i]);
        append(&keep, &group);
        float *t = take(r, numel(r->size, &keep));
        contract_pair(r, &acc, &v[i], t, &keep);
        dense_view(&acc, t, r->size, &keep);
    }
    contract_pair(r, &acc, &v[n - 1], out, outl);
}

/* The op --------------------------------------------------------------------------------- */

/* Operand k's gradient: the einsum of dy with the other operands onto k's own labels (each
 * once, in axis order), in the workspace, then added into dx through k's strides. */
static void gradient(ein_run *r, const ein_problem *p, int k, const float *dy, float *dx) {
    ein_view v[OT_EINSUM_MAX_INPUTS];
    int n = 0;
    dense_view(&v[n++], dy, p->size, &p->out);
    for (int j = 0; j < p->n_in; j++)
        if (j != k) v[n++] = p->in[j];
    label_list target = {0};
    uint64_t seen = 0;
    for (int d = 0; d < p->axes[k].n; d++) {
        int l = p->axes[k].l[d];
        if ((p->in[k].labels & bit(l)) && !(seen & bit(l))) target.l[target.n++] = l;
        seen |= bit(l);
    }
    float *g = take(r, numel(p->size, &target));
    contract(r, g, &target, v, n);
    if (r->sizing) return;
    /* dx[k's offset] += g[i] over target's index space. */
    int64_t index[MAX_LABELS] = {0}, off = 0, count = numel(p->size, &target);
    ein_view dst = p->in[k];
    for (int64_t i = 0; i < count; i++) {
        dx[off] += g[i];
        advance(p->size, &target, index, &dst, 1, &off);
    }
}

static ein_run run_of(const ot_node_ctx *c, const ein_problem *p, int sizing) {
    return (ein_run){.size = p->size, .pool = c->pool, .base = c->workspace, .sizing = sizing};
}

ot_status oti_einsum_infer(ot_node_ctx *c) {
    ein_problem p;
    OT_TRY(bind(c, &p));
    int64_t dims[MAX_LABELS];
    OT_NODE_CHECK(c, p.out.n <= OT_MAX_DIMS, "output has %d dims, at most %d are supported", p.out.n, OT_MAX_DIMS);
    for (int i = 0; i < p.out.n; i++) dims[i] = p.size[p.out.l[i]];
    ot_tensor_set_shape(c->out[0], OT_FLOAT, p.out.n, dims);
    /* The workspace is the largest of forward's and each operand's gradient. */
    ein_run r = run_of(c, &p, 1);
    contract(&r, NULL, &p.out, p.in, p.n_in);
    size_t floats = r.used;
    for (int k = 0; k < p.n_in; k++) {
        r.used = 0;
        gradient(&r, &p, k, NULL, NULL);
        if (r.used > floats) floats = r.used;
    }
    c->workspace_bytes = floats * sizeof(float);
    return OT_OK;
}

ot_status oti_einsum_forward(ot_node_ctx *c) {
    ein_problem p;
    OT_TRY(bind(c, &p));
    ein_run r = run_of(c, &p, 0);
    contract(&r, c->out[0]->data, &p.out, p.in, p.n_in);
    return OT_OK;
}

ot_status oti_einsum_backward(ot_node_ctx *c) {
    if (!c->dout[0]) return OT_OK;
    ein_problem p;
    OT_TRY(bind(c, &p));
    for (int k = 0; k < p.n_in; k++) {
        if (!c->din[k]) continue;
        ein_run r = run_of(c, &p, 0);
        gradient(&r, &p, k, c->dout[0]->data, c->din[k]->data);
    }
    return OT_OK;
}
