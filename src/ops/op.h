/* The op interface: one row per (domain, op type, since-version) in the op table.
 *
 * Adding an op touches its family file (src/ops/<family>.c) and that family's table only.
 * Kernels follow llm.c's order: outputs first, then inputs, then sizes. Forward keeps in
 * c->saved what backward needs; backward ADDS into the input gradients (din), which are NULL
 * for inputs that need none. docs/ADDING_AN_OP.md says how to add one. */
#ifndef OT_OP_H
#define OT_OP_H

#include "core/thread_pool.h"
#include "onnxtrain/context.h"
#include "onnxtrain/model.h"

struct ot_rng;
struct ot_conv_tuning;

typedef struct ot_node_ctx {
    const ot_model *model;
    const ot_layer *layer;
    const void *params; /* the op's parsed attribute struct */
    int n_in, n_out;
    ot_tensor *const *in;     /* in[i] NULL where the optional input is omitted */
    ot_tensor *const *out;    /* out[i] NULL where the optional output is omitted */
    const unsigned char *in_known; /* in_known[i]: data is available at plan time */
    ot_tensor *const *din;    /* backward: gradients of inputs to add into; NULL if not needed */
    ot_tensor *const *dout;   /* backward: gradients of outputs; NULL if none flows */
    void *saved;              /* forward -> backward state, saved_bytes long */
    size_t saved_bytes;       /* set by infer (training plans only allocate it) */
    void *workspace;          /* scratch for this call only, workspace_bytes long */
    size_t workspace_bytes;   /* set by infer */
    int training;             /* dropout drops, BatchNormalization uses batch statistics */
    int backward;             /* this node's backward will run (forward may skip saving
                                 what only backward reads) */
    struct ot_rng *rng;       /* the run's generator (dropout) */
    const ot_cross_sum *cross_sum; /* training: batch statistics summed across processes, or NULL */
    ot_pool *pool;            /* the plan's compute threads (NULL: the calling thread) */
    /* The plan's convolution options: Winograd F(4x4, 3x3) and F(2x2, 5x5) (fast), and the
     * thresholds (NULL: the defaults). */
    int fast_convolution;
    const struct ot_conv_tuning *conv_tuning;
    /* Set by infer for ops with several algorithms (Conv): which one this node runs, kept by
     * the plan for forward and backward, so the choice is made once per plan. */
    int variant;
} ot_node_ctx;

enum {
    OT_OP_RANDOM = 1u << 0,        /* output is random in training: never folded then */
    OT_OP_SHAPE_ONLY = 1u << 1,    /* output depends on input shapes only (Shape): folded at plan */
    OT_OP_WRITES_INPUTS = 1u << 2, /* training forward updates inputs (BN running stats) */
    OT_OP_COPY = 1u << 3,          /* output 0 is input 0 unchanged (Identity) */
    OT_OP_SOFTMAX = 1u << 4,       /* output 0 is a (log-)softmax of input 0's logits */
    OT_OP_SIGMOID = 1u << 5,       /* output 0 is the sigmoid of input 0's logits */
    OT_OP_OPTIONAL_OUTPUTS = 1u << 6, /* every output may be omitted, the first too (LSTM's Y) */
    OT_OP_LAYOUT = 1u << 7,           /* output 0 is input 0's values rearranged or retyped
                                         (Reshape, Transpose, Cast): a weight that reaches a
                                         layer through such ops is still that layer's weight */
    OT_OP_VALUE_SHAPED = 1u << 8,     /* the output shape depends on input values (NonZero,
                                         Unique, NonMaxSuppression): infer needs the data, so
                                         inference plans of such models run every node while
                                         they are built, from the feeds' data (exec/plan.c) */
    OT_OP_SAMPLES = 1u << 9,          /* draws random numbers in every mode (RandomNormal,
                                         Bernoulli): never folded, at import or in a plan */
    OT_OP_LOSS = 1u << 10,            /* output 0 is a loss (SoftmaxCrossEntropyLoss,
                                         NegativeLogLikelihoodLoss): `train --output` naming
                                         it trains on the model's own loss */
    OT_OP_CONTROL_FLOW = 1u << 11,    /* runs subgraphs (If, Loop, Scan): the plan infers and
                                         runs it (src/exec/control*.c); the row has no infer,
                                         forward or backward, and nothing folds it at import */
    OT_OP_SEQUENCE = 1u << 12         /* reads or makes a sequence (ops/sequence.h): the plan
                                         rewrites it into tensor ops (graph/sequence.h); the row
                                         only parses, and nothing folds it at import */
};

/* What an input slot holds: the one place that says which initializers are trained, what
 * other frameworks call them (weight matching) and how a kernel stores its values. */
typedef enum ot_input_role {
    OT_ROLE_DATA = 0,     /* an activation (trained where an initializer is given instead) */
    OT_ROLE_KERNEL,       /* a layer's filter or weight matrix; the row's kernel_layout says how */
    OT_ROLE_BIAS,
    OT_ROLE_SCALE,        /* a normalization's scale (gamma) */
    OT_ROLE_SHIFT,        /* a normalization's shift (beta) */
    OT_ROLE_SLOPE,        /* PRelu's negative slope (alpha) */
    OT_ROLE_EMBEDDING,    /* a lookup table (Gather's data) */
    OT_ROLE_RUNNING_MEAN, /* statistics: updated by training-mode forward, never by gradients */
    OT_ROLE_RUNNING_VAR,
    OT_ROLE_CONSTANT      /* shapes, axes, indices, bounds, ratios, optimizer state: never trained */
} ot_input_role;

typedef enum ot_kernel_layout {
    OT_KERNEL_NONE = 0,
    OT_KERNEL_OIHW,   /* Conv W (out, in / group, spatial...) */
    OT_KERNEL_IOHW,   /* ConvTranspose W (in, out / group, spatial...) */
    OT_KERNEL_IN_OUT, /* MatMul B (in, out) */
    OT_KERNEL_GEMM_B  /* Gemm B (in, out), or (out, in) with transB */
} ot_kernel_layout;

/* Inputs a row describes one by one; later slots take the row's other_inputs role. */
#define OT_OP_DESCRIBED_INPUTS 8

typedef struct ot_op {
    const char *domain; /* "" for ai.onnx */
    const char *name;
    int since_version; /* the row serves opsets from here up to the next row's since */
    size_t params_size;
    /* Reads layer->attrs (and layer->opset) into params; validates attribute values. */
    ot_status (*parse)(const ot_layer *layer, void *params);
    /* Sets every present output's dtype and dims from the inputs' dtypes, dims and (where
     * in_known) data; sets saved_bytes and workspace_bytes. Errors name the node. */
    ot_status (*infer)(ot_node_ctx *c);
    ot_status (*forward)(ot_node_ctx *c);
    ot_status (*backward)(ot_node_ctx *c); /* NULL: not differentiable */
    unsigned flags;
    /* Per input slot (OT_ROLE_DATA where a row says nothing), and for slots past the
     * described ones. */
    ot_input_role inputs[OT_OP_DESCRIBED_INPUTS];
    ot_input_role other_inputs;
    ot_kernel_layout kernel_layout; /* of the OT_ROLE_KERNEL input */
} ot_op;

/* The role of input `slot` of op (NULL, an op the table does not know: data). */
ot_input_role oti_op_input_role(const ot_op *op, int slot);
/* Initializers in slots of this role are trained parameters (no constant or statistic). */
int oti_role_is_trained(ot_input_role role);
/* What Keras calls a weight of this role ("kernel", "bias", "gamma", "moving_mean", ...), or
 * NULL for data and constants. */
const char *oti_role_keras_name(ot_input_role role);

/* The row for (domain, name) serving `opset`, or NULL. *known_name says whether some row
 * exists for the name at all (so callers can say "needs opset >= N"). */
const ot_op *oti_op_lookup(const char *domain, const char *name, int opset, int *known_name);
/* Every row, for listings. */
int oti_op_count(void);
const ot_op *oti_op_at(int i);

/* A family's table, registered in registry.c. */
typedef struct ot_op_family {
    const ot_op *ops;
    int count;
} ot_op_family;

/* Attribute readers for parse functions; defaults when absent. A present attribute of the
 * wrong type is an error naming the node and attribute. */
ot_status oti_attr_get_int(const ot_layer *l, const char *name, int64_t fallback, int64_t *out);
ot_status oti_attr_get_float(const ot_layer *l, const char *name, float fallback, float *out);
/* Copies up to `capacity` ints; *count = -1 when absent. More than capacity is an error. */
ot_status oti_attr_get_ints(const ot_layer *l, const char *name, int64_t *out, int capacity,
                           int *count);
ot_status oti_attr_get_floats(const ot_layer *l, const char *name, float *out, int capacity,
                             int *count);
/* Borrowed string, or fallback. */
ot_status oti_attr_get_string(const ot_layer *l, const char *name, const char *fallback,
                             const char **out);

/* Errors from ops, prefixed with the node: "Conv node 'conv1': <message>". */
ot_status oti_node_fail(const ot_layer *l, ot_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define OT_NODE_CHECK(c, cond, ...)                                                            \
    do {                                                                                       \
        if (!(cond)) return oti_node_fail((c)->layer, OT_ERR_INVALID, __VA_ARGS__);             \
    } while (0)

/* Runs the layer's forward once on c, whose shapes are inferred and outputs allocated, with
 * saved state and scratch of its own (freed before returning): constant folding at import
 * (graph/fold.c) and at plan time (exec/plan.c). */
ot_status oti_op_forward_once(ot_node_ctx *c);
/* After infer: sets each output's `declared` dtype (declared.c). Infer assigns
 * out[k]->declared itself (after ot_tensor_set_shape, even when equal to the computed dtype)
 * only where an output's dtype is not its first same-typed input's: Cast's target, an int64
 * index output of an integer input. */
void oti_op_declare_outputs(ot_node_ctx *c);
/* After forward: wraps or rounds each output declared narrower than its computed dtype. */
void oti_op_fit_outputs(const ot_node_ctx *c);

/* Normalises an axis in [-rank, rank) to [0, rank); -1 (and an error) when out of range. */
int oti_normalize_axis(int64_t axis, int rank);

#endif
