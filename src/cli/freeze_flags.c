/* --freeze / --unfreeze / --freeze-upto -> ot_transfer_freeze, in command-line order. */
#include "freeze_flags.h"

#include <string.h>

#include "onnxtrain/transfer.h"
#include "core/error.h"

/* One rule at a time, so a failure names its flag. */
ot_status cli_apply_freeze_flags(const cli_args *args, ot_model *m) {
    for (int i = 0; i < args->n_given; i++) {
        const char *name = args->command->flags[args->given_flag[i]].name;
        ot_freeze_action action;
        if (!strcmp(name, "freeze")) action = OT_FREEZE;
        else if (!strcmp(name, "unfreeze")) action = OT_UNFREEZE;
        else if (!strcmp(name, "freeze-upto")) action = OT_FREEZE_UPTO;
        else continue;
        ot_freeze_rule rule = {action, args->given_value[i]};
        if (ot_transfer_freeze(m, 1, &rule) != OT_OK) {
            oti_error_prefix("--%s: ", name);
            return OT_ERR_INVALID;
        }
    }
    return OT_OK;
}
