/* onnxtrain convert IN.onnx -o OUT.onnx: import and export. */
#include <string.h>

#include "args.h"
#include "commands.h"
#include "core/util.h"
#include "onnxtrain/onnx_io.h"

static const cli_flag flags[] = {
    {"output", 'o', "OUT", "the file to write (written atomically)"},
};

static const cli_command command = {
    "convert", "IN.onnx -o OUT.onnx",
    "Imports IN and writes it back out: constants folded, weights as initializers.",
    flags, OT_COUNT(flags), 1, 1, NULL};

int cmd_convert(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    const char *out = cli_get(&args, "output");
    if (!out) {
        cli_error(&args, "-o OUT is required");
        cli_free(&args);
        return 2;
    }
    ot_model *m = NULL;
    int rc = 0;
    if (ot_model_load_onnx(args.positional[0], &m) != OT_OK || ot_model_save_onnx(m, out) != OT_OK)
        rc = cli_fail(&args);
    ot_model_free(m);
    cli_free(&args);
    return rc;
}
