/* The plans' side of ot_profile (onnxtrain/plan.h). */
#ifndef OT_PROFILE_INTERNAL_H
#define OT_PROFILE_INTERNAL_H

#include "onnxtrain/plan.h"

/* The row of (layer, op_type), added if new; -1 without a profile (or out of memory: that
 * layer is then not timed). */
int oti_profile_row(ot_profile *profile, const char *layer, const char *op_type);
/* Adds one forward (backward 0) or backward call of `seconds` to the row. */
void oti_profile_add(ot_profile *profile, int row, int backward, double seconds);

#endif
