/* The op table: every family's rows, looked up by (domain, name, opset). */
#include <string.h>

#include "families.h"

static const ot_op_family *families(int *count) {
    static ot_op_family table[OT_FAMILY_COUNT];
    static int filled = 0;
    if (!filled) {
        int n = 0;
#define OT_FAMILY(name) table[n++] = (ot_op_family){ot_ops_##name, ot_ops_##name##_count};
        OT_FAMILY_LIST
#undef OT_FAMILY
        filled = n;
    }
    *count = filled;
    return table;
}

static int same_domain(const char *a, const char *b) {
    int a_default = !a || !*a || strcmp(a, "ai.onnx") == 0;
    int b_default = !b || !*b || strcmp(b, "ai.onnx") == 0;
    if (a_default || b_default) return a_default && b_default;
    return strcmp(a, b) == 0;
}

const ot_op *ot_op_lookup(const char *domain, const char *name, int opset, int *known_name) {
    int n_families;
    const ot_op_family *table = families(&n_families);
    const ot_op *best = NULL;
    if (known_name) *known_name = 0;
    for (int f = 0; f < n_families; f++) {
        for (int i = 0; i < table[f].count; i++) {
            const ot_op *op = &table[f].ops[i];
            if (strcmp(op->name, name) != 0 || !same_domain(op->domain, domain)) continue;
            if (known_name) *known_name = 1;
            if (op->since_version <= opset && (!best || op->since_version > best->since_version))
                best = op;
        }
    }
    return best;
}

int ot_op_count(void) {
    int n_families, total = 0;
    const ot_op_family *table = families(&n_families);
    for (int f = 0; f < n_families; f++) total += table[f].count;
    return total;
}

const ot_op *ot_op_at(int i) {
    int n_families;
    const ot_op_family *table = families(&n_families);
    for (int f = 0; f < n_families; f++) {
        if (i < table[f].count) return &table[f].ops[i];
        i -= table[f].count;
    }
    return NULL;
}
