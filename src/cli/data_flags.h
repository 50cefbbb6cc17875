/* Data flags shared by train and eval: --limit, --classes, --per-class, --mean, --std. */
#ifndef OT_CLI_DATA_FLAGS_H
#define OT_CLI_DATA_FLAGS_H

#include "args.h"
#include "onnxtrain/dataset.h"
#include "onnxtrain/model.h"

#define CLI_DATA_FLAGS                                                                            \
    {"limit", 0, "N", "use the first N samples (after class filtering; train: --data only)"},    \
    {"classes", 0, "LIST", "keep these labels only, relabelled 0..k-1 in order (e.g. 5-9 or 1,3,7)"}, \
    {"per-class", 0, "N", "keep the first N samples of each class (train: --data only)"},        \
    {"mean", 0, "M[,M,M]", "images: subtract per-channel mean (after scaling to [0,1])"},        \
    {"std", 0, "S[,S,S]", "images: divide by per-channel std"}

typedef struct cli_data_options {
    ot_data_options options;
    int64_t classes[256];
    float mean[4], std[4];
} cli_data_options;

/* Reads the data flags; image sizes come from the model input (N, C, H, W) when it has one;
 * loading uses ctx. Returns 0 (after printing the error) on a bad value. */
int cli_data_options_read(const cli_args *args, const ot_value *input, ot_context *ctx,
                          cli_data_options *out);

#endif
