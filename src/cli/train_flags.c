/* Training flags -> ot_train_config, each value checked with an error naming the flag. */
#include "train_flags.h"

#include <string.h>

#include "core/util.h"

static int read_float(const cli_args *args, const char *name, float *value, double min, double max) {
    double v;
    if (!cli_get_double(args, name, *value, min, max, &v)) return 0;
    *value = (float)v;
    return 1;
}

int cli_loss_read(const cli_args *args, ot_loss *loss) {
    const char *name = cli_get(args, "loss");
    ot_loss_kind kind = OT_LOSS_SOFTMAX_CE;
    if (name && !ot_loss_kind_from_name(name, &kind)) {
        cli_error(args, "--loss %s: unknown (softmax-ce, mse, bce, output)", name);
        return 0;
    }
    *loss = ot_loss_of_kind(kind);
    if (!cli_get_int(args, "ignore-index", -100, INT64_MIN, INT64_MAX, &loss->ignore_index) ||
        !cli_get_double(args, "label-smoothing", 0, 0, 1, &loss->label_smoothing))
        return 0;
    if (kind != OT_LOSS_SOFTMAX_CE && (cli_has(args, "ignore-index") || cli_has(args, "label-smoothing"))) {
        cli_error(args, "--ignore-index and --label-smoothing apply to --loss softmax-ce only");
        return 0;
    }
    return 1;
}

int cli_train_config_read(const cli_args *args, ot_train_config *c) {
    const char *name = cli_get(args, "optimizer");
    ot_optimizer_kind kind = OT_OPTIMIZER_ADAM;
    if (name && !ot_optimizer_kind_from_name(name, &kind)) {
        cli_error(args, "--optimizer %s: unknown (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, ftrl)", name);
        return 0;
    }
    ot_optimizer_defaults(kind, &c->optimizer);
    ot_optimizer_config *o = &c->optimizer;
    if (!read_float(args, "lr", &o->lr, 0, 1e6) || !read_float(args, "momentum", &o->momentum, 0, 1) ||
        !read_float(args, "decay", &o->decay, 0, 1) || !read_float(args, "beta1", &o->beta1, 0, 0.999999) ||
        !read_float(args, "beta2", &o->beta2, 0, 0.99999999) || !read_float(args, "eps", &o->eps, 0, 1) ||
        !read_float(args, "weight-decay", &o->weight_decay, 0, 1e6))
        return 0;
    if (o->lr <= 0 && cli_has(args, "lr")) {
        cli_error(args, "--lr must be greater than 0");
        return 0;
    }
    double l1, l2;
    if (!cli_get_double(args, "l1", 0, 0, 1e6, &l1) || !cli_get_double(args, "l2", 0, 0, 1e6, &l2)) return 0;
    if (kind == OT_OPTIMIZER_FTRL) {
        o->l1 = (float)l1; /* FTRL-Proximal's own regularisation */
        o->l2 = (float)l2;
    } else {
        c->l1 = l1;
        c->l2 = l2;
    }
    if (!cli_get_double(args, "clip-value", 0, 0, 1e30, &c->clip_value) ||
        !cli_get_double(args, "clip-norm", 0, 0, 1e30, &c->clip_norm) ||
        !cli_get_double(args, "max-norm", 0, 0, 1e30, &c->max_norm))
        return 0;
    if ((cli_has(args, "clip-value") && c->clip_value <= 0) || (cli_has(args, "clip-norm") && c->clip_norm <= 0) ||
        (cli_has(args, "max-norm") && c->max_norm <= 0)) {
        cli_error(args, "--clip-value, --clip-norm and --max-norm must be greater than 0");
        return 0;
    }
    if (cli_has(args, "clip-value") && cli_has(args, "clip-norm")) {
        cli_error(args, "give --clip-value or --clip-norm, not both");
        return 0;
    }
    if (!cli_loss_read(args, &c->loss)) return 0;
    if (cli_has(args, "schedule") && ot_schedule_parse(cli_get(args, "schedule"), &c->schedule) != OT_OK) {
        cli_error(args, "--schedule: %s", ot_last_error());
        return 0;
    }
    if (!cli_get_int(args, "warmup", 0, 0, INT64_MAX / 2, &c->schedule.warmup) ||
        !cli_get_int(args, "accumulate", 1, 1, 1 << 20, &c->accumulate))
        return 0;
    const char *nonfinite = cli_get(args, "on-nonfinite");
    if (nonfinite && !strcmp(nonfinite, "skip-batch")) c->on_nonfinite = OT_NONFINITE_SKIP_BATCH;
    else if (nonfinite && strcmp(nonfinite, "stop")) {
        cli_error(args, "--on-nonfinite %s: expected stop or skip-batch", nonfinite);
        return 0;
    }
    int64_t seed, early = 0;
    if (!cli_get_int(args, "epochs", 10, 1, 1000000, &c->epochs) ||
        !cli_get_int(args, "batch", 32, 1, 1 << 20, &c->batch) ||
        !cli_get_int(args, "seed", 42, 0, INT64_MAX, &seed))
        return 0;
    c->seed = (uint64_t)seed;
    c->shuffle = !cli_has(args, "no-shuffle");
    c->input_name = cli_get(args, "input");
    c->output_name = cli_get(args, "output");
    if (args->command->n_flags && cli_get(args, "early-stopping") &&
        !cli_get_int(args, "early-stopping", 0, 1, 1000000, &early))
        return 0;
    c->early_stopping = (int)early;
    return 1;
}

static int names_one_of(const ot_model *m, const int *values, int count, const char *name) {
    for (int i = 0; i < count; i++)
        if (!strcmp(m->values[values[i]].name, name)) return 1;
    return 0;
}

int cli_check_io_flags(const cli_args *args, const ot_model *m, ot_loss *loss) {
    const char *input = cli_get(args, "input"), *output = cli_get(args, "output");
    if (input && !names_one_of(m, m->inputs, m->n_inputs, input)) {
        cli_error(args, "--input %s: the model has no such input", input);
        return 0;
    }
    if (output && !names_one_of(m, m->outputs, m->n_outputs, output)) {
        cli_error(args, "--output %s: the model has no such output", output);
        return 0;
    }
    if (!cli_has(args, "loss") && ot_output_is_loss(m, output)) *loss = ot_loss_of_kind(OT_LOSS_OUTPUT);
    return 1;
}

