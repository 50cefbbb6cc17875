/* Data-parallel runs from the CLI: the process group's lifetime belongs to cmd_train, which
 * opens it (MPI_Init) after parsing its flags and closes it (MPI_Finalize) on every way out. */
#include "train_ranks.h"

int cli_ranks_open(const cli_args *args, ot_process_group **group) {
    if (ot_process_group_open(NULL, NULL, group) != OT_OK) return cli_fail(args), 0;
    cli_set_process_label(ot_process_group_rank(*group), ot_process_group_size(*group));
    return 1;
}

int cli_ranks_ready(const cli_args *args, ot_process_group *group, int ok) {
    int failed = ot_process_group_first_failed(group, ok);
    if (failed < 0) return 1;
    if (ok && ot_process_group_rank(group) == 0)
        cli_error(args, "rank %d could not get ready to train (its error is above): every rank stops", failed);
    return 0;
}
