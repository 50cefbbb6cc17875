/* Shared by the 'shape' family files (shape.c and shape_*.c): strided copies that every
 * data-movement op reduces to, readers for inputs that must be known at plan time (shape,
 * axes, pads, starts...), and the ops' entry points for the table in shape.c. */
#ifndef OT_SHAPE_INTERNAL_H
#define OT_SHAPE_INTERNAL_H

#include "op.h"

/* Tile views each dim as (repeat, dim), so strided walks go up to twice the tensor rank. */
#define OT_SHAPE_MAX_WALK (2 * OT_MAX_DIMS)

/* C-order element strides of a dense tensor. */
void oti_shape_strides(int ndim, const int64_t *dims, int64_t *strides);

/* dst[dst_offset + sum i_d * dst_strides[d]] = src[src_offset + sum i_d * src_strides[d]]
 * for every index i in dims (ndim <= OT_SHAPE_MAX_WALK). Strides and offsets in elements of
 * elem_size bytes; any dtype with a fixed size. */
void oti_shape_copy(void *dst, const int64_t *dst_strides, int64_t dst_offset, const void *src,
                   const int64_t *src_strides, int64_t src_offset, int ndim, const int64_t *dims,
                   size_t elem_size);
/* The same walk with dst[...] += src[...] on floats: the backward of every copy above.
 * Stride-0 destination dims (broadcast, tile) accumulate, as a gradient must. */
void oti_shape_accumulate(float *dst, const int64_t *dst_strides, int64_t dst_offset,
                         const float *src, const int64_t *src_strides, int64_t src_offset,
                         int ndim, const int64_t *dims);

/* Reads input k (int64 or int32, a scalar or 1-D) that decides output shapes, so must be
 * known when the plan is built. At most `capacity` values; `what` names it in errors. */
ot_status oti_shape_known_ints(const ot_node_ctx *c, int k, const char *what, int64_t *out,
                              int capacity, int *count);
/* Element i of an int64 or int32 tensor. */
int64_t oti_shape_int_at(const ot_tensor *t, int64_t i);
/* Normalises n axes against rank into out; an axis out of [-rank, rank) or repeated is an
 * error naming the node. */
ot_status oti_shape_normalize_axes(const ot_node_ctx *c, const int64_t *axes, int n, int rank,
                                  int *out);
/* Checks that input 0 exists and has a dtype with a fixed element size. */
ot_status oti_shape_check_data(const ot_node_ctx *c);

/* Ops, by file. Each op has parse (where it has attributes), infer, forward and backward. */
#define OT_SHAPE_OP_FUNCS(name)                                                                \
    ot_status oti_shape_infer_##name(ot_node_ctx *c);                                           \
    ot_status oti_shape_forward_##name(ot_node_ctx *c);                                         \
    ot_status oti_shape_backward_##name(ot_node_ctx *c);

/* shape_view.c: ops that keep the data as it is and change only the shape. */
ot_status oti_shape_parse_shape(const ot_layer *l, void *params);
ot_status oti_shape_infer_shape(ot_node_ctx *c);
ot_status oti_shape_forward_shape(ot_node_ctx *c);
ot_status oti_shape_infer_size(ot_node_ctx *c);
ot_status oti_shape_forward_size(ot_node_ctx *c);
ot_status oti_shape_parse_reshape(const ot_layer *l, void *params);
ot_status oti_shape_parse_flatten(const ot_layer *l, void *params);
ot_status oti_shape_parse_squeeze(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(reshape)
OT_SHAPE_OP_FUNCS(flatten)
OT_SHAPE_OP_FUNCS(squeeze)
OT_SHAPE_OP_FUNCS(unsqueeze)
/* The forward and backward every view op shares: copy, and add the gradient back. */
ot_status oti_shape_forward_view(ot_node_ctx *c);
ot_status oti_shape_backward_view(ot_node_ctx *c);
typedef struct ot_shape_reshape_params {
    int64_t shape[OT_MAX_DIMS]; /* opset < 5: the shape attribute */
    int n_shape;
    int allowzero;
} ot_shape_reshape_params;
typedef struct ot_shape_axes_params {
    int64_t axes[OT_MAX_DIMS]; /* attribute form (Squeeze/Unsqueeze < 13) */
    int n_axes;                /* -1: absent */
    int64_t axis;              /* Flatten; Shape start */
    int64_t end;               /* Shape end */
    int has_end;
} ot_shape_axes_params;

/* shape_layout.c: Transpose, Expand, Tile. */
ot_status oti_shape_parse_transpose(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(transpose)
OT_SHAPE_OP_FUNCS(expand)
OT_SHAPE_OP_FUNCS(tile)
typedef struct ot_shape_transpose_params {
    int64_t perm[OT_MAX_DIMS];
    int n_perm; /* -1: reverse the dims */
} ot_shape_transpose_params;

/* shape_concat.c: Concat, Split. */
ot_status oti_shape_parse_concat(const ot_layer *l, void *params);
ot_status oti_shape_parse_split(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(concat)
OT_SHAPE_OP_FUNCS(split)
typedef struct ot_shape_concat_params {
    int64_t axis;
} ot_shape_concat_params;
typedef struct ot_shape_split_params {
    int64_t axis;
    int64_t num_outputs; /* opset 18; 0 when absent. The split attribute is read in infer. */
} ot_shape_split_params;

/* shape_slice.c: Slice, Gather. */
ot_status oti_shape_parse_slice(const ot_layer *l, void *params);
ot_status oti_shape_parse_gather(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(slice)
OT_SHAPE_OP_FUNCS(gather)
typedef struct ot_shape_slice_params {
    int64_t starts[OT_MAX_DIMS], ends[OT_MAX_DIMS], axes[OT_MAX_DIMS]; /* opset < 10 */
    int n_starts, n_ends, n_axes;
} ot_shape_slice_params;
typedef struct ot_shape_gather_params {
    int64_t axis;
} ot_shape_gather_params;

/* shape_scatter.c: GatherElements, ScatterElements (and Scatter, its opset-9 name);
 * shape_gather_nd.c: GatherND, ScatterND. */
typedef enum ot_scatter_reduction {
    OT_SCATTER_NONE, OT_SCATTER_ADD, OT_SCATTER_MUL, OT_SCATTER_MAX, OT_SCATTER_MIN
} ot_scatter_reduction;
typedef struct ot_shape_scatter_params {
    int64_t axis;       /* GatherElements, ScatterElements */
    int64_t batch_dims; /* GatherND */
    ot_scatter_reduction reduction;
} ot_shape_scatter_params;
ot_status oti_shape_parse_elements(const ot_layer *l, void *params);
ot_status oti_shape_parse_nd(const ot_layer *l, void *params);
ot_status oti_shape_parse_reduction(const ot_layer *l, ot_scatter_reduction *out);
/* *dst = reduce(*dst, v) (float32). */
void oti_shape_reduce_into(float *dst, float v, ot_scatter_reduction r);
/* Input k is an int64 or int32 indices tensor. */
ot_status oti_shape_check_indices(const ot_node_ctx *c, int k);
/* Error naming the node unless the reduction has a gradient (none, add). */
ot_status oti_shape_check_scatter_gradient(const ot_node_ctx *c, ot_scatter_reduction r);
/* din[0] += dout[0] where written[i] is 0 (a scatter's data gradient). */
void oti_shape_scatter_pass_through(const ot_node_ctx *c, const unsigned char *written);
OT_SHAPE_OP_FUNCS(gather_elements)
OT_SHAPE_OP_FUNCS(scatter_elements)
OT_SHAPE_OP_FUNCS(gather_nd)
OT_SHAPE_OP_FUNCS(scatter_nd)

/* shape_space.c: DepthToSpace, SpaceToDepth. */
ot_status oti_shape_parse_space(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(space)
typedef struct ot_shape_space_params {
    int64_t blocksize;
    int to_depth; /* SpaceToDepth */
    int crd;      /* DepthToSpace mode CRD (else DCR) */
} ot_shape_space_params;

/* shape_pad.c: Pad. */
ot_status oti_shape_parse_pad(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(pad)
typedef enum ot_pad_mode { OT_PAD_CONSTANT, OT_PAD_REFLECT, OT_PAD_EDGE } ot_pad_mode;
typedef struct ot_shape_pad_params {
    ot_pad_mode mode;
    int64_t pads[2 * OT_MAX_DIMS]; /* opset < 11 attribute */
    int n_pads;
    float value; /* opset < 11 attribute */
} ot_shape_pad_params;

/* shape_trilu.c: Trilu. */
ot_status oti_shape_parse_trilu(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(trilu)
typedef struct ot_shape_trilu_params {
    int upper;
} ot_shape_trilu_params;

/* shape_onehot.c: OneHot. */
ot_status oti_shape_parse_onehot(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(onehot)
typedef struct ot_shape_onehot_params {
    int64_t axis;
} ot_shape_onehot_params;

/* shape_sequence.c: ReverseSequence. */
ot_status oti_shape_parse_reverse_sequence(const ot_layer *l, void *params);
OT_SHAPE_OP_FUNCS(reverse_sequence)
typedef struct ot_shape_reverse_sequence_params {
    int64_t batch_axis, time_axis;
} ot_shape_reverse_sequence_params;

#endif
