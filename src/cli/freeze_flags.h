/* The freezing flags shared by train and info: --freeze, --unfreeze, --freeze-upto, applied in
 * command-line order. */
#ifndef OT_CLI_FREEZE_FLAGS_H
#define OT_CLI_FREEZE_FLAGS_H

#include "args.h"
#include "onnxtrain/model.h"

#define CLI_FREEZE_FLAGS                                                                          \
    {"freeze", 0, "PATTERN", "freeze layers/parameters matching a glob, or a layer index range A:B (repeatable, in order)"}, \
    {"unfreeze", 0, "PATTERN", "unfreeze layers/parameters matching a glob or index range (repeatable, in order)"}, \
    {"freeze-upto", 0, "LAYER", "freeze LAYER (name, output name or index) and every layer it depends on"}

/* Applies the flags to m; errors are left in ot_last_error(). */
ot_status cli_apply_freeze_flags(const cli_args *args, ot_model *m);

#endif
