/* onnxtrain new SPEC --input NAME:DIMS [--init INIT] [--seed S] -o OUT.onnx */
#include <string.h>
#include <stdlib.h>

#include "cli_alloc.h"
#include "args.h"
#include "commands.h"
#include "core/util.h"
#include "onnxtrain/builder.h"
#include "onnxtrain/onnx_io.h"

static const cli_flag flags[] = {
    {"input", 0, "NAME:DIMS", "the input and its per-sample shape, e.g. x:1x28x28 or x:784 "
                              "(the batch dim is added, symbolic)"},
    {"init", 0, "INIT", "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, "
                        "lecun_normal, variance_scaling:SCALE:fan_in|fan_out|fan_avg:normal|uniform "
                        "(default: by activation: He for ReLU/LeakyReLU/PReLU/ELU, LeCun for SELU, "
                        "Glorot otherwise)"},
    {"seed", 0, "S", "seed for the initial weights (default 42)"},
    {"output", 'o', "OUT.onnx", "the model file to write"},
    CLI_MAX_MEMORY_FLAG,
};

static const cli_command command = {
    "new", "SPEC --input NAME:DIMS [--init INIT] [--seed S] -o OUT.onnx",
    "Creates a model from a comma-separated layer list, initialised and ready to train.",
    flags, OT_COUNT(flags), 1, 1,
    "layers:\n"
    "  flatten | dense:N[:act] | conv:N:KxK[:stride[:pad]][:act] | maxpool:K | avgpool:K\n"
    "  globalavgpool | batchnorm | dropout:P\n"
    "  relu | leakyrelu[:alpha] | prelu | elu[:alpha] | selu | sigmoid | tanh | softmax\n"
    "  (pad: a number, same or valid; default 0)\n"
    "example:\n"
    "  onnxtrain new flatten,dense:300:elu,dense:100:elu,dense:10 --input x:1x28x28 -o mlp.onnx"};

/* "x:1x28x28" -> name and dims. */
static int parse_input(const cli_args *args, const char *text, char **name, int *ndim, int64_t *dims) {
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text) {
        cli_error(args, "--input %s: expected NAME:DIMS like x:1x28x28", text);
        return 0;
    }
    *name = cli_xstrndup(text, (size_t)(colon - text));
    *ndim = 0;
    char *copy = cli_xstrdup(colon + 1), *save = NULL;
    int ok = 1;
    for (char *item = strtok_r(copy, "x", &save); item && ok; item = strtok_r(NULL, "x", &save)) {
        int64_t v;
        ok = *ndim < OT_MAX_DIMS - 1 && oti_parse_int64(item, &v) && v >= 1 && v <= (1 << 24);
        if (ok) dims[(*ndim)++] = v;
    }
    free(copy);
    if (!ok || *ndim == 0) {
        cli_error(args, "--input %s: dims must be positive numbers joined by x (e.g. 3x32x32)", text);
        free(*name);
        return 0;
    }
    return 1;
}

int cmd_new(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    int rc = 2;
    char *input = NULL;
    int ndim;
    int64_t dims[OT_MAX_DIMS], seed;
    ot_init_spec init;
    ot_model *m = NULL;
    ot_context *ctx = NULL;
    const char *out = cli_get(&args, "output");
    if (!out) cli_error(&args, "-o OUT.onnx is required");
    else if (!cli_has(&args, "input")) cli_error(&args, "--input NAME:DIMS is required");
    else if (parse_input(&args, cli_get(&args, "input"), &input, &ndim, dims) &&
             cli_get_int(&args, "seed", 42, 0, INT64_MAX, &seed) && cli_context_create(&args, &ctx)) {
        if (ot_builder_parse_init(cli_has(&args, "init") ? cli_get(&args, "init") : "auto", &init) != OT_OK) {
            cli_error(&args, "--init: %s", ot_last_error());
            rc = 2;
        } else {
            ot_rng rng;
            ot_rng_seed(&rng, (uint64_t)seed);
            if (ot_builder_create(input, ndim, dims, &m) != OT_OK ||
                ot_builder_append(ctx, m, args.positional[0], input, &init, &rng, "") != OT_OK ||
                ot_onnx_save(m, out) != OT_OK)
                rc = cli_fail(&args);
            else
                rc = 0;
        }
    }
    free(input);
    ot_model_free(m);
    ot_context_free(ctx);
    cli_free(&args);
    return rc;
}
