/* --profile: the time table printed after `run` and `train`, from the ot_profile the plans
 * filled: totals per op type, then the slowest layers. */
#include "profile_report.h"

#include <stdlib.h>
#include <string.h>

#include "cli_alloc.h"

#define SLOWEST_LAYERS 15

typedef struct op_total {
    const char *op_type;
    double forward, backward;
    int layers;
} op_total;

static double total_of(const ot_profile_entry *e) { return e->forward_seconds + e->backward_seconds; }

static int by_total_desc(const void *a, const void *b) {
    double x = total_of(a), y = total_of(b);
    return x < y ? 1 : x > y ? -1 : 0;
}

static int op_by_total_desc(const void *a, const void *b) {
    const op_total *x = a, *y = b;
    double tx = x->forward + x->backward, ty = y->forward + y->backward;
    return tx < ty ? 1 : tx > ty ? -1 : strcmp(x->op_type, y->op_type);
}

/* The last `width` characters of a long layer name (its end tells the layers apart). */
static const char *tail(const char *name, size_t width) {
    size_t n = strlen(name);
    return n > width ? name + n - width : name;
}

void cli_profile_print(const ot_profile *profile, FILE *out) {
    int n = ot_profile_count(profile);
    ot_profile_entry *rows = cli_xcalloc((size_t)n + 1, sizeof *rows);
    op_total *ops = cli_xcalloc((size_t)n + 1, sizeof *ops);
    int n_ops = 0;
    double forward = 0.0, backward = 0.0;
    for (int i = 0; i < n; i++) {
        rows[i] = ot_profile_at(profile, i);
        forward += rows[i].forward_seconds;
        backward += rows[i].backward_seconds;
        int k = 0;
        while (k < n_ops && strcmp(ops[k].op_type, rows[i].op_type)) k++;
        if (k == n_ops) ops[n_ops++] = (op_total){rows[i].op_type, 0.0, 0.0, 0};
        ops[k].forward += rows[i].forward_seconds;
        ops[k].backward += rows[i].backward_seconds;
        ops[k].layers++;
    }
    double all = forward + backward > 0.0 ? forward + backward : 1.0;
    fprintf(out, "profile: %.3f s in the layers (forward %.3f s, backward %.3f s)\n", forward + backward,
            forward, backward);
    qsort(ops, (size_t)n_ops, sizeof *ops, op_by_total_desc);
    fprintf(out, "%-28s %10s %10s %10s %6s %6s\n", "op type", "forward s", "backward s", "total s", "share", "layers");
    for (int k = 0; k < n_ops; k++)
        fprintf(out, "%-28s %10.3f %10.3f %10.3f %5.1f%% %6d\n", ops[k].op_type, ops[k].forward,
                ops[k].backward, ops[k].forward + ops[k].backward,
                100.0 * (ops[k].forward + ops[k].backward) / all, ops[k].layers);
    qsort(rows, (size_t)n, sizeof *rows, by_total_desc);
    fprintf(out, "%-44s %-20s %10s %10s %6s %6s\n", "slowest layers", "op type", "forward s", "backward s",
            "share", "runs");
    for (int i = 0; i < n && i < SLOWEST_LAYERS; i++)
        fprintf(out, "%-44s %-20s %10.3f %10.3f %5.1f%% %6lld\n", tail(rows[i].layer, 44), rows[i].op_type,
                rows[i].forward_seconds, rows[i].backward_seconds, 100.0 * total_of(&rows[i]) / all,
                (long long)rows[i].forward_runs);
    free(rows);
    free(ops);
}
