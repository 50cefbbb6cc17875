/* --profile's table (profile_report.c). */
#ifndef OT_CLI_PROFILE_REPORT_H
#define OT_CLI_PROFILE_REPORT_H

#include <stdio.h>

#include "onnxtrain/plan.h"

/* Totals per op type, largest first, then the slowest layers with their forward and
 * backward time and their number of forward runs. */
void cli_profile_print(const ot_profile *profile, FILE *out);

#endif
