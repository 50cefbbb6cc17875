/* NonMaxSuppression (opsets 10, 11): boxes (batches, boxes, 4) and scores (batches, classes,
 * boxes) -> selected_indices (selected, 3) int64 rows [batch, class, box]. Per batch and class,
 * boxes scoring above score_threshold (when given) are taken best score first (ties: the lower
 * box index first), each kept unless its IoU with a box already kept exceeds iou_threshold,
 * until max_output_boxes_per_class (default 0: none) are kept. center_point_box 0 reads boxes as
 * two opposite corners [y1, x1, y2, x2] in either order, 1 as [x_center, y_center, width,
 * height]. A box of zero area overlaps nothing. The same greedy rule as ONNX Runtime. */
#include <stdlib.h>

#include "core/util.h"
#include "select_internal.h"

ot_status oti_select_parse_nms(const ot_layer *l, void *params) {
    ot_select_nms_params *p = params;
    OT_TRY(oti_attr_get_int(l, "center_point_box", 0, &p->center_point_box));
    if (p->center_point_box != 0 && p->center_point_box != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "center_point_box must be 0 or 1, not %lld",
                            (long long)p->center_point_box);
    return OT_OK;
}

typedef struct nms_setup {
    int64_t batches, classes, boxes, max_per_class;
    float iou_threshold, score_threshold;
    int has_score_threshold, center;
} nms_setup;

static int present(const ot_node_ctx *c, int k) { return c->n_in > k && c->in[k] && ot_tensor_numel(c->in[k]) > 0; }

static ot_status nms_setup_of(const ot_node_ctx *c, nms_setup *s) {
    const ot_tensor *boxes = c->in[0], *scores = c->in[1];
    OT_NODE_CHECK(c, boxes->dtype == OT_FLOAT && scores->dtype == OT_FLOAT, "boxes and scores must be float32");
    OT_NODE_CHECK(c, boxes->ndim == 3 && boxes->dims[2] == 4, "boxes must be (batches, boxes, 4)");
    OT_NODE_CHECK(c, scores->ndim == 3 && scores->dims[0] == boxes->dims[0] && scores->dims[2] == boxes->dims[1],
                  "scores must be (batches, classes, boxes) = (%lld, ?, %lld)", (long long)boxes->dims[0],
                  (long long)boxes->dims[1]);
    *s = (nms_setup){.batches = boxes->dims[0], .classes = scores->dims[1], .boxes = boxes->dims[1],
                     .center = (int)((const ot_select_nms_params *)c->params)->center_point_box};
    if (present(c, 2)) {
        OT_NODE_CHECK(c, c->in[2]->dtype == OT_INT64 && ot_tensor_numel(c->in[2]) == 1,
                      "max_output_boxes_per_class must be one int64");
        s->max_per_class = ((const int64_t *)c->in[2]->data)[0];
    }
    if (s->max_per_class < 0) s->max_per_class = 0;
    if (s->max_per_class > s->boxes) s->max_per_class = s->boxes;
    if (present(c, 3)) {
        OT_NODE_CHECK(c, c->in[3]->dtype == OT_FLOAT && ot_tensor_numel(c->in[3]) == 1, "iou_threshold must be one float32");
        s->iou_threshold = ((const float *)c->in[3]->data)[0];
        OT_NODE_CHECK(c, s->iou_threshold >= 0.0f && s->iou_threshold <= 1.0f, "iou_threshold %g is outside [0, 1]",
                      (double)s->iou_threshold);
    }
    if (present(c, 4)) {
        OT_NODE_CHECK(c, c->in[4]->dtype == OT_FLOAT && ot_tensor_numel(c->in[4]) == 1,
                      "score_threshold must be one float32");
        s->score_threshold = ((const float *)c->in[4]->data)[0];
        s->has_score_threshold = 1;
    }
    return OT_OK;
}

/* Box b as (ymin, xmin, ymax, xmax). */
static void corners(const float *b, int center, float out[4]) {
    if (center) {
        out[0] = b[1] - b[3] / 2, out[1] = b[0] - b[2] / 2, out[2] = b[1] + b[3] / 2, out[3] = b[0] + b[2] / 2;
        return;
    }
    out[0] = b[0] < b[2] ? b[0] : b[2], out[2] = b[0] < b[2] ? b[2] : b[0];
    out[1] = b[1] < b[3] ? b[1] : b[3], out[3] = b[1] < b[3] ? b[3] : b[1];
}

static int suppresses(const float *a_box, const float *b_box, int center, float threshold) {
    float a[4], b[4];
    corners(a_box, center, a);
    corners(b_box, center, b);
    float ymin = a[0] > b[0] ? a[0] : b[0], xmin = a[1] > b[1] ? a[1] : b[1];
    float ymax = a[2] < b[2] ? a[2] : b[2], xmax = a[3] < b[3] ? a[3] : b[3];
    if (xmax <= xmin || ymax <= ymin) return 0;
    float inter = (xmax - xmin) * (ymax - ymin);
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0) return 0;
    return inter / uni > threshold;
}

typedef struct scored {
    float score;
    int64_t box;
} scored;

static int by_score(const void *pa, const void *pb) {
    const scored *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? 1 : -1;
    return (a->box > b->box) - (a->box < b->box);
}

/* Runs the selection; writes rows to out (NULL: only counts). *n_selected gets the count. */
static ot_status nms_run(const ot_node_ctx *c, const nms_setup *s, int64_t *out, int64_t *n_selected) {
    scored *cand = oti_malloc(sizeof(scored) * (size_t)(s->boxes + 1));
    int64_t *kept = oti_malloc(sizeof(int64_t) * (size_t)(s->max_per_class + 1));
    if (!cand || !kept) {
        free(cand);
        free(kept);
        return OT_ERR_MEMORY;
    }
    const float *boxes = c->in[0]->data, *scores = c->in[1]->data; // (B, boxes, 4), (B, classes, boxes)
    *n_selected = 0;
    for (int64_t b = 0; b < s->batches; b++)
        for (int64_t k = 0; k < s->classes && s->max_per_class > 0; k++) {
            const float *sc = scores + (b * s->classes + k) * s->boxes;
            int64_t n = 0, n_kept = 0;
            for (int64_t i = 0; i < s->boxes; i++)
                if (!s->has_score_threshold || sc[i] > s->score_threshold) cand[n++] = (scored){sc[i], i};
            qsort(cand, (size_t)n, sizeof(scored), by_score);
            for (int64_t i = 0; i < n && n_kept < s->max_per_class; i++) {
                const float *box = boxes + (b * s->boxes + cand[i].box) * 4;
                int keep = 1;
                for (int64_t j = 0; j < n_kept && keep; j++)
                    keep = !suppresses(box, boxes + (b * s->boxes + kept[j]) * 4, s->center, s->iou_threshold);
                if (!keep) continue;
                kept[n_kept++] = cand[i].box;
                if (out) out[*n_selected * 3] = b, out[*n_selected * 3 + 1] = k, out[*n_selected * 3 + 2] = cand[i].box;
                ++*n_selected;
            }
        }
    free(cand);
    free(kept);
    return OT_OK;
}

ot_status oti_select_infer_nms(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs boxes and scores");
    for (int k = 0; k < c->n_in && k < 5; k++)
        if (c->in[k]) OT_TRY(oti_select_need_values(c, k, k < 2 ? (k ? "scores" : "boxes") : "input"));
    nms_setup s;
    OT_TRY(nms_setup_of(c, &s));
    int64_t dims[2] = {0, 3};
    OT_TRY(nms_run(c, &s, NULL, &dims[0]));
    ot_tensor_set_shape(c->out[0], OT_INT64, 2, dims);
    return OT_OK;
}

ot_status oti_select_forward_nms(ot_node_ctx *c) {
    nms_setup s;
    OT_TRY(nms_setup_of(c, &s));
    int64_t n;
    return nms_run(c, &s, c->out[0]->data, &n);
}
