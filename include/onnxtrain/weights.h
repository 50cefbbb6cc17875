/* Weights in other frameworks' files: a list of named tensors read from .npy/.npz,
 * safetensors, PyTorch torch.save archives and Keras 2 HDF5 files (chosen by content, not by
 * extension), written to .npz and safetensors, and matched into an ONNX model's parameters.
 *
 *     ot_weights w;
 *     ot_weights_load("resnet.pt", &w);            // any supported format
 *     ot_match_report report;
 *     ot_weights_apply(model, &w, "resnet.pt", &options, &report);
 *     ot_match_report_print(&report, stdout);
 */
#ifndef ONNXTRAIN_WEIGHTS_H
#define ONNXTRAIN_WEIGHTS_H

#include <stdio.h>

#include "onnxtrain/context.h"
#include "onnxtrain/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_weights_format {
    OT_WEIGHTS_UNKNOWN = 0,
    OT_WEIGHTS_NPY,
    OT_WEIGHTS_NPZ,
    OT_WEIGHTS_SAFETENSORS,
    OT_WEIGHTS_TORCH,
    OT_WEIGHTS_KERAS_H5,
    OT_WEIGHTS_ONNX /* initializers of an .onnx model (recognised by extension only) */
} ot_weights_format;

typedef struct ot_named_tensor {
    char *name;       /* as the source names it: "conv1.weight", "conv2d/kernel:0" */
    ot_tensor tensor; /* owned; float formats become float32, integer and bool stay */
    char *layer;      /* Keras: the layer ("conv2d"); NULL for other formats */
    char *role;       /* Keras: "kernel", "bias", "gamma", "beta", "moving_mean", ... */
} ot_named_tensor;

typedef struct ot_weights {
    ot_named_tensor *items; /* in the file's order */
    int count, capacity;
    ot_weights_format format;
    struct ot_name_index *index; /* private: name -> item */
} ot_weights;

/* "npz", "safetensors", "pytorch", "keras-h5", "npy", "onnx". */
OT_API const char *ot_weights_format_name(ot_weights_format format);
/* Parses a --format value ("npz", "safetensors", "onnx"); 0 if unknown. */
OT_API int ot_weights_format_from_name(const char *name, ot_weights_format *format);
/* The format an output path's extension asks for (.npz, .safetensors, .onnx, .npy), or
 * OT_WEIGHTS_UNKNOWN. */
OT_API ot_weights_format ot_weights_format_from_extension(const char *path);

/* Identifies a file by its first bytes: \x93NUMPY (npy), a zip holding .npy members (npz)
 * or a data.pkl (PyTorch), \x89HDF (Keras HDF5), a plausible safetensors header; .onnx by
 * extension. Unrecognised files are an error naming the path. */
OT_API ot_status ot_weights_detect(const char *path, ot_weights_format *format);
/* Detects and reads any supported format. On failure *out is empty. */
OT_API ot_status ot_weights_load(const ot_context *ctx, const char *path, ot_weights *out);
/* Writes npz (stored; deflated with compress), safetensors or npy (exactly one tensor). */
OT_API ot_status ot_weights_save(const char *path, ot_weights_format format, const ot_weights *w,
                          int compress);
OT_API void ot_weights_free(ot_weights *w);

/* Appends a tensor, taking ownership of t's data (t is cleared). Duplicate names are an
 * error naming `source` and the tensor. layer/role may be NULL. */
OT_API ot_status ot_weights_add(ot_weights *w, const char *source, const char *name, ot_tensor *t,
                         const char *layer, const char *role);
OT_API int ot_weights_find(const ot_weights *w, const char *name);
/* Every initializer of a model under its ONNX name (copies). */
OT_API ot_status ot_weights_from_model(const ot_model *m, ot_weights *out);

/* Matching into a model ----------------------------------------------------------------- */

typedef enum ot_match_how {
    OT_MATCH_NONE = 0,
    OT_MATCH_MAP,        /* a --map line */
    OT_MATCH_EXACT,      /* same name */
    OT_MATCH_NORMALIZED, /* same name after unifying separators and dropping prefixes */
    OT_MATCH_LAYER,      /* Keras layer name + role */
    OT_MATCH_ORDER       /* next unmatched source of the same shape, in order */
} ot_match_how;

/* One line of the report. Strings are owned by the report, so it outlives the weights and
 * the model. */
typedef struct ot_match_entry {
    char *source;          /* source tensor name, NULL if none */
    char *target;          /* ONNX initializer name, NULL if none */
    ot_match_how how;
    const char *transform; /* static text ("HWIO->OIHW", "transposed", "reshaped") or NULL */
    char *detail;          /* shapes and dtypes, or why a pair conflicts */
} ot_match_entry;

typedef struct ot_match_report {
    char *source_path;
    int n_sources;             /* tensors in the weights file */
    int n_params;              /* ONNX parameters (and BN statistics) that should be filled */
    int n_filled;              /* of those, filled */
    ot_match_entry *matched;   /* every tensor copied, and how */
    int n_matched;
    ot_match_entry *conflicts; /* pairs chosen by name whose shape or dtype disagree */
    int n_conflicts;
    ot_match_entry *unmatched_sources; /* weights that went nowhere */
    int n_unmatched_sources;
    ot_match_entry *unfilled;  /* ONNX parameters left as they were */
    int n_unfilled;
} ot_match_report;

typedef struct ot_match_options {
    const char *map_path; /* lines "source_name = onnx_name"; NULL: none */
    int strict;           /* fail unless every ONNX parameter was filled */
} ot_match_options;

/* Copies matched tensors into the model's initializers (after layout transforms). With
 * strict, nothing is changed unless every parameter is filled. The report is filled even
 * when the call fails on --strict (free it with ot_match_report_free). */
OT_API ot_status ot_weights_apply(ot_model *m, const ot_weights *w, const char *source_path,
                           const ot_match_options *options, ot_match_report *report);
OT_API void ot_match_report_print(const ot_match_report *report, FILE *out);
OT_API void ot_match_report_free(ot_match_report *report);
OT_API const char *ot_match_how_name(ot_match_how how);

#ifdef __cplusplus
}
#endif
#endif
