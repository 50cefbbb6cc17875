/* The matcher's report (what went where and how, what was left, what conflicted) and the
 * name normalisation the matcher compares with. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "match_internal.h"

const char *ot_match_how_name(ot_match_how how) {
    switch (how) {
    case OT_MATCH_MAP: return "map";
    case OT_MATCH_EXACT: return "exact";
    case OT_MATCH_NORMALIZED: return "normalized name";
    case OT_MATCH_LAYER: return "layer + role";
    case OT_MATCH_ORDER: return "order + shape";
    case OT_MATCH_NONE: break;
    }
    return "none";
}

ot_status oti_match_report_add(ot_match_entry **list, int *count, const char *source,
                               const char *target, ot_match_how how, const char *transform,
                               const char *detail) {
    ot_match_entry *grown = oti_realloc(*list, sizeof(ot_match_entry) * (size_t)(*count + 1));
    OT_ALLOC_CHECK(grown);
    *list = grown;
    ot_match_entry e = {.source = oti_strdup(source), .target = oti_strdup(target), .how = how,
                        .transform = transform, .detail = oti_strdup(detail)};
    if ((source && !e.source) || (target && !e.target) || (detail && !e.detail)) {
        free(e.source);
        free(e.target);
        free(e.detail);
        return OT_ERR_MEMORY;
    }
    (*list)[(*count)++] = e;
    return OT_OK;
}

static void free_list(ot_match_entry *list, int count) {
    for (int i = 0; i < count; i++) {
        free(list[i].source);
        free(list[i].target);
        free(list[i].detail);
    }
    free(list);
}

void ot_match_report_free(ot_match_report *r) {
    free_list(r->matched, r->n_matched);
    free_list(r->conflicts, r->n_conflicts);
    free_list(r->unmatched_sources, r->n_unmatched_sources);
    free_list(r->unfilled, r->n_unfilled);
    free(r->source_path);
    memset(r, 0, sizeof *r);
}

void ot_match_report_print(const ot_match_report *r, FILE *out) {
    fprintf(out, "weights: %d tensors in %s; the model has %d parameters to fill\n",
            r->n_sources, r->source_path ? r->source_path : "?", r->n_params);
    fprintf(out, "matched (%d):\n", r->n_matched);
    for (int i = 0; i < r->n_matched; i++) {
        const ot_match_entry *e = &r->matched[i];
        fprintf(out, "  %s -> %s %s (%s%s%s)\n", e->source, e->target, e->detail,
                ot_match_how_name(e->how), e->transform ? ", " : "",
                e->transform ? e->transform : "");
    }
    if (r->n_conflicts) {
        fprintf(out, "conflicts, not copied (%d):\n", r->n_conflicts);
        for (int i = 0; i < r->n_conflicts; i++)
            fprintf(out, "  %s -> %s (%s): %s\n", r->conflicts[i].source, r->conflicts[i].target,
                    ot_match_how_name(r->conflicts[i].how), r->conflicts[i].detail);
    }
    if (r->n_unmatched_sources) {
        fprintf(out, "unmatched in the weights (%d):\n", r->n_unmatched_sources);
        for (int i = 0; i < r->n_unmatched_sources; i++)
            fprintf(out, "  %s %s\n", r->unmatched_sources[i].source, r->unmatched_sources[i].detail);
    }
    if (r->n_unfilled) {
        fprintf(out, "ONNX parameters not filled (%d):\n", r->n_unfilled);
        for (int i = 0; i < r->n_unfilled; i++)
            fprintf(out, "  %s %s\n", r->unfilled[i].target, r->unfilled[i].detail);
    }
    fprintf(out, "filled %d of %d ONNX parameters\n", r->n_filled, r->n_params);
}

static int is_separator(char c) { return c == '.' || c == '/' || c == ':' || c == '_'; }

char *oti_weights_normalize_name(const char *name) {
    size_t len = strlen(name);
    /* TensorFlow's output suffix ":0". */
    size_t end = len;
    while (end > 0 && name[end - 1] >= '0' && name[end - 1] <= '9') end--;
    if (end < len && end > 0 && name[end - 1] == ':') len = end - 1;
    /* Separators unified to '.', runs collapsed, none at either end. */
    char *out = oti_malloc(len + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_separator(name[i])) {
            if (n > 0 && out[n - 1] != '.') out[n++] = '.';
        } else {
            out[n++] = name[i];
        }
    }
    while (n > 0 && out[n - 1] == '.') n--;
    out[n] = 0;
    /* Wrappers' prefixes: DataParallel's "module.", checkpoints' "model.". */
    static const char *const prefixes[] = {"module.", "model."};
    for (int again = 1; again;) {
        again = 0;
        for (int p = 0; p < OT_COUNT(prefixes); p++) {
            size_t k = strlen(prefixes[p]);
            if (n > k && !strncmp(out, prefixes[p], k)) {
                memmove(out, out + k, n - k + 1);
                n -= k;
                again = 1;
            }
        }
    }
    return out;
}
