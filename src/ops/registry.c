/* The op table: every family's rows, looked up by (domain, name, opset); what input roles
 * mean outside the kernels. */
#include <string.h>

#include "families.h"

/* Every family, fixed at compile time. */
static const ot_op_family *const all_families[] = {
#define OT_FAMILY(name) &oti_family_##name,
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

const ot_op *oti_op_lookup(const char *domain, const char *name, int opset, int *known_name) {
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

int oti_op_count(void) {
    int total = 0;
    for (int f = 0; f < FAMILY_COUNT; f++) total += all_families[f]->count;
    return total;
}

const ot_op *oti_op_at(int i) {
    for (int f = 0; f < FAMILY_COUNT; f++) {
        if (i < all_families[f]->count) return &all_families[f]->ops[i];
        i -= all_families[f]->count;
    }
    return NULL;
}

ot_input_role oti_op_input_role(const ot_op *op, int slot) {
    if (!op || slot < 0) return OT_ROLE_DATA;
    return slot < OT_OP_DESCRIBED_INPUTS ? op->inputs[slot] : op->other_inputs;
}

int oti_role_is_trained(ot_input_role role) {
    return role != OT_ROLE_CONSTANT && role != OT_ROLE_RUNNING_MEAN && role != OT_ROLE_RUNNING_VAR;
}

const char *oti_role_keras_name(ot_input_role role) {
    switch (role) {
    case OT_ROLE_KERNEL: return "kernel";
    case OT_ROLE_BIAS: return "bias";
    case OT_ROLE_SCALE: return "gamma";
    case OT_ROLE_SHIFT: return "beta";
    case OT_ROLE_SLOPE: return "alpha";
    case OT_ROLE_EMBEDDING: return "embeddings";
    case OT_ROLE_RUNNING_MEAN: return "moving_mean";
    case OT_ROLE_RUNNING_VAR: return "moving_variance";
    case OT_ROLE_DATA:
    case OT_ROLE_CONSTANT: return NULL;
    }
    return NULL;
}
