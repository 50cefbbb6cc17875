/* The op table: every family's rows, looked up by (domain, name, opset). */
#include <string.h>

#include "families.h"

/* Every family, fixed at compile time. */
static const ot_op_family *const all_families[] = {
#define OT_FAMILY(name) &ot_family_##name,
    OT_FAMILY_LIST
#undef OT_FAMILY
};

#define FAMILY_COUNT ((int)(sizeof all_families / sizeof all_families[0]))

static int same_domain(const char *a, const char *b) {
    int a_default = !a || !*a || strcmp(a, "ai.onnx") == 0;
    int b_default = !b || !*b || strcmp(b, "ai.onnx") == 0;
    if (a_default || b_default) return a_default && b_default;
    return strcmp(a, b) == 0;
}

const ot_op *ot_op_lookup(const char *domain, const char *name, int opset, int *known_name) {
    const ot_op *best = NULL;
    if (known_name) *known_name = 0;
    for (int f = 0; f < FAMILY_COUNT; f++) {
        for (int i = 0; i < all_families[f]->count; i++) {
            const ot_op *op = &all_families[f]->ops[i];
            if (strcmp(op->name, name) != 0 || !same_domain(op->domain, domain)) continue;
            if (known_name) *known_name = 1;
            if (op->since_version <= opset && (!best || op->since_version > best->since_version))
                best = op;
        }
    }
    return best;
}

int ot_op_count(void) {
    int total = 0;
    for (int f = 0; f < FAMILY_COUNT; f++) total += all_families[f]->count;
    return total;
}

const ot_op *ot_op_at(int i) {
    for (int f = 0; f < FAMILY_COUNT; f++) {
        if (i < all_families[f]->count) return &all_families[f]->ops[i];
        i -= all_families[f]->count;
    }
    return NULL;
}
