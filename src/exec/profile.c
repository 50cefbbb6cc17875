/* ot_profile: per-layer time of plan runs, a table keyed by (layer name, op type). Plans find
 * their steps' rows once, when built (oti_profile_row), and add to them after each call. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "onnxtrain/plan.h"
#include "profile_internal.h"

struct ot_profile {
    ot_profile_entry *rows; /* layer and op_type owned */
    int n, cap;
};

ot_status ot_profile_create(ot_profile **out) {
    *out = oti_calloc(1, sizeof **out);
    return *out ? OT_OK : OT_ERR_MEMORY;
}

void ot_profile_free(ot_profile *profile) {
    if (!profile) return;
    for (int i = 0; i < profile->n; i++) {
        free((char *)profile->rows[i].layer);
        free((char *)profile->rows[i].op_type);
    }
    free(profile->rows);
    free(profile);
}

int ot_profile_count(const ot_profile *profile) { return profile ? profile->n : 0; }

ot_profile_entry ot_profile_at(const ot_profile *profile, int index) { return profile->rows[index]; }

int oti_profile_row(ot_profile *profile, const char *layer, const char *op_type) {
    if (!profile) return -1;
    layer = layer ? layer : "";
    for (int i = 0; i < profile->n; i++)
        if (!strcmp(profile->rows[i].layer, layer) && !strcmp(profile->rows[i].op_type, op_type)) return i;
    if (profile->n == profile->cap) {
        int cap = profile->cap ? 2 * profile->cap : 64;
        ot_profile_entry *rows = oti_realloc(profile->rows, sizeof *rows * (size_t)cap);
        if (!rows) return -1; /* that layer goes untimed */
        profile->rows = rows;
        profile->cap = cap;
    }
    ot_profile_entry e = {oti_strdup(layer), oti_strdup(op_type), 0.0, 0.0, 0, 0};
    if (!e.layer || !e.op_type) {
        free((char *)e.layer);
        free((char *)e.op_type);
        return -1;
    }
    profile->rows[profile->n] = e;
    return profile->n++;
}

void oti_profile_add(ot_profile *profile, int row, int backward, double seconds) {
    if (!profile || row < 0) return;
    ot_profile_entry *e = &profile->rows[row];
    if (backward) {
        e->backward_seconds += seconds;
        e->backward_runs++;
    } else {
        e->forward_seconds += seconds;
        e->forward_runs++;
    }
}
