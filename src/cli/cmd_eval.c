/* onnxtrain eval MODEL.onnx --data SPEC [--json]: loss and accuracy in inference mode. */
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "args.h"
#include "commands.h"
#include "model_load.h"
#include "core/util.h"
#include "data_flags.h"
#include "shape_flags.h"
#include "train_flags.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/train.h"

static const cli_flag flags[] = {
    {"data", 0, "SPEC", "evaluation data (as for train --data)"},
    CLI_LOSS_FLAGS,
    {"input", 0, "NAME", "the model input fed with the data"},
    {"output", 0, "NAME", "the model output scored (default: the first)"},
    {"batch", 0, "N", "samples per forward pass (default 256)"},
    {"json", 0, NULL, "print JSON"},
    CLI_DATA_FLAGS,
    CLI_SHAPE_FLAG,
    CLI_CAFFE_WEIGHTS_FLAG,
    CLI_MAX_MEMORY_FLAG,
    CLI_FAST_CONV_FLAG,
};

static const cli_command command = {
    "eval", "MODEL.onnx|NET.prototxt --data SPEC [--json]",
    "Scores MODEL on labelled data: loss, accuracy, samples.", flags, OT_COUNT(flags), 1, 1, NULL};

int cmd_eval(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    int rc = 2;
    ot_context *ctx = NULL;
    ot_model *m = NULL;
    ot_dataset *d = NULL;
    ot_loss loss;
    int64_t batch;
    cli_data_options data;
    if (!cli_has(&args, "data")) cli_error(&args, "--data SPEC is required");
    else if (!cli_loss_read(&args, &loss)) {
    } else if (cli_get_int(&args, "batch", 256, 1, 1 << 20, &batch) && cli_context_create(&args, &ctx)) {
        rc = 1;
        ot_eval_result e;
        ot_train_config scoring;
        ot_train_config_defaults(&scoring);
        scoring.context = ctx;
        scoring.fast_convolution = cli_has(&args, "fast-conv");
        scoring.loss = loss;
        scoring.input_name = cli_get(&args, "input");
        scoring.output_name = cli_get(&args, "output");
        if (!cli_load_model(&args, ctx, args.positional[0], &m, &rc)) {
        } else if (!cli_check_io_flags(&args, m, &scoring.loss) || !cli_apply_shape_flags(&args, m, 1)) rc = 2;
        else if (!cli_data_options_read(&args, m->n_inputs ? &m->values[m->inputs[0]] : NULL, ctx, &data)) rc = 2;
        else if (ot_dataset_load(cli_get(&args, "data"), &data.options, &d) != OT_OK ||
                 ot_evaluate(m, &scoring, batch, d, &e) != OT_OK)
            rc = cli_fail(&args);
        else {
            if (cli_has(&args, "json")) {
                char iou[64] = "null", accuracy[64] = "null"; /* JSON has no NaN */
                if (!isnan(e.mean_iou)) snprintf(iou, sizeof iou, "%.9g", e.mean_iou);
                if (!isnan(e.accuracy)) snprintf(accuracy, sizeof accuracy, "%.9g", e.accuracy);
                printf("{\"loss\": %.9g, \"accuracy\": %s, \"mean_iou\": %s, \"samples\": %lld}\n", e.loss,
                       accuracy, iou, (long long)e.samples);
            } else {
                printf("loss %.4f  accuracy %.4f  ", e.loss, e.accuracy);
                if (!isnan(e.mean_iou)) printf("mean IoU %.4f  ", e.mean_iou);
                printf("samples %lld\n", (long long)e.samples);
            }
            rc = 0;
        }
    }
    ot_dataset_free(d);
    ot_model_free(m);
    ot_context_free(ctx);
    cli_free(&args);
    return rc;
}
