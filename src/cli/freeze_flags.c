/* --freeze / --unfreeze / --freeze-upto -> ot_model_apply_freeze, in command-line order. */
#include "freeze_flags.h"

#include <string.h>

#include "onnxtrain/transfer.h"

ot_status cli_apply_freeze_flags(const cli_args *args, ot_model *m) {
    ot_freeze_rule rules[256];
    int n = 0;
    for (int i = 0; i < args->n_given && n < 256; i++) {
        const char *name = args->command->flags[args->given_flag[i]].name;
        ot_freeze_action action;
        if (!strcmp(name, "freeze")) action = OT_FREEZE;
        else if (!strcmp(name, "unfreeze")) action = OT_UNFREEZE;
        else if (!strcmp(name, "freeze-upto")) action = OT_FREEZE_UPTO;
        else continue;
        rules[n++] = (ot_freeze_rule){action, args->given_value[i]};
    }
    return ot_model_apply_freeze(m, n, rules);
}
