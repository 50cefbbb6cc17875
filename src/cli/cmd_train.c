/* onnxtrain train MODEL.onnx --data SPEC [...] -o OUT.onnx: (fine-)tuning from the CLI. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_alloc.h"
#include "args.h"
#include "commands.h"
#include "model_load.h"
#include "core/util.h"
#include "data_flags.h"
#include "freeze_flags.h"
#include "onnxtrain/builder.h"
#include "core/file_io.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/train.h"
#include "onnxtrain/transfer.h"
#include "profile_report.h"
#include "progress.h"
#include "shape_flags.h"
#include "train_flags.h"
#include "train_ranks.h"

static const cli_flag flags[] = {
    {"data", 0, "SPEC", "training data: fashion-mnist[:train|test], idx:IMAGES,LABELS, npz:FILE[:x=NAME,y=NAME,INPUT=NAME], csv:FILE, images:DIR, segmentation:IMAGES,MASKS"},
    {"val", 0, "SPEC", "validation data (same forms as --data)"},
    {"val-split", 0, "F", "hold out this fraction of --data (shuffled with --seed) for validation"},
    {"test", 0, "SPEC", "score the final model on this data after training"},
    {"out", 'o', "OUT.onnx", "write the trained model here (atomically)"},
    CLI_TRAIN_FLAGS,
    CLI_DATA_FLAGS,
    CLI_FREEZE_FLAGS,
    {"unfreeze-every", 0, "E:K", "gradual unfreezing: every E epochs unfreeze the next K frozen layers from the top"},
    {"cut", 0, "LAYER", "keep LAYER and what it depends on; its output becomes the model output"},
    {"head", 0, "SPEC", "append new layers after the output (onnxtrain new's layer spec), e.g. dense:5"},
    {"init", 0, "INIT", "initializer for --head layers (see onnxtrain new --help; default by activation)"},
    {"cache", 0, "DIR", "cache the frozen layers' outputs (train, val and test data) in DIR; epochs and reruns then run only the trainable part"},
    {"cache-compress", 0, NULL, "store the cache compressed with zlib"},
    {"checkpoint", 0, "FILE", "save model, optimizer, schedule, epoch and RNG state here after every epoch"},
    {"resume", 0, NULL, "continue from --checkpoint FILE"},
    {"early-stopping", 0, "N", "stop after N epochs without validation improvement and keep the best weights"},
    {"augment", 0, "LIST", "images: flip,shift:N,crop:N,brightness:F applied on the fly while training"},
    {"quiet", 'q', NULL, "print nothing but errors"},
    {"log", 0, "FILE.csv", "write one CSV line per epoch"},
    {"tensorboard", 0, "DIR", "write TensorBoard event files to DIR: loss and learning rate per step, losses, accuracies and parameter counts per epoch"},
    CLI_SHAPE_FLAG,
    CLI_CAFFE_WEIGHTS_FLAG,
    CLI_MAX_MEMORY_FLAG,
    CLI_FAST_CONV_FLAG,
    CLI_PROFILE_FLAG,
    CLI_RANKS_FLAGS,
};

static const cli_command command = {
    "train", "MODEL.onnx|NET.prototxt --data SPEC [flags] -o OUT.onnx",
    "Trains MODEL on labelled data and writes the result. Frozen layers keep their weights and\n"
    "run in inference mode; --cut/--head replace the top; --cache makes retraining the top fast.",
    flags, OT_COUNT(flags), 1, 1,
    "order of each step: loss + l1/l2 -> gradients (of --accumulate batches) -> clip -> optimizer -> max-norm.\n"
    "schedules: exponential:r  power:r[,c]  piecewise:s1=lr1,s2=lr2,...  plateau:patience[,factor]  cosine:T\n"
    "  linear:T; --warmup W first: lr (t+1)/W for steps t < W, then the schedule from its step 0.\n"
    "token data: npz:FILE:x=input_ids,y=labels,attention_mask=mask feeds array 'mask' to the model input\n"
    "  'attention_mask'; integer x stays int64; labels (N) per sample or (N, T) per token, for logits\n"
    "  (N, C) or (N, T, C) (class axis last); --ignore-index labels count for nothing.\n"
    "example (the README's demo):\n"
    "  onnxtrain train models/fashion5.onnx --data fashion-mnist:train --classes 5-9 --per-class 100 \\\n"
    "    --freeze-upto pool2 --cut flatten1 --head dense:5 --cache /tmp/cache -o demo.onnx"};

static volatile sig_atomic_t interrupted_flag;
static volatile int interrupt_request;
static void on_sigint(int signal_number) {
    (void)signal_number;
    if (interrupted_flag) _exit(130); /* second Ctrl-C: stop now */
    interrupted_flag = 1;
    interrupt_request = 1;
}

static ot_status load_data(const cli_args *args, const char *flag, const ot_value *input,
                           ot_context *ctx, ot_dataset **out) {
    cli_data_options data;
    if (!cli_data_options_read(args, input, ctx, &data)) return oti_fail(OT_ERR_INVALID, "(see above)");
    /* --limit and --per-class pick training samples; --val and --test are used whole (with
     * the same --classes and normalisation). */
    if (strcmp(flag, "data")) data.options.limit = data.options.per_class = 0;
    ot_status status = ot_dataset_load(cli_get(args, flag), &data.options, out);
    if (status != OT_OK) oti_error_prefix("--%s: ", flag);
    return status;
}

/* --cache, --checkpoint, --resume, --augment, --unfreeze-every. */
static int read_transfer_flags(const cli_args *args, ot_train_config *config) {
    config->cache_dir = cli_get(args, "cache");
    config->cache_compress = cli_has(args, "cache-compress");
    if (config->cache_compress && !config->cache_dir) {
        cli_error(args, "--cache-compress needs --cache DIR");
        return 0;
    }
    config->checkpoint_path = cli_get(args, "checkpoint");
    config->resume = cli_has(args, "resume");
    if (config->resume && !config->checkpoint_path) {
        cli_error(args, "--resume needs --checkpoint FILE (the file to resume from)");
        return 0;
    }
    const char *every = cli_get(args, "unfreeze-every");
    if (every) {
        int64_t e = 0, k = 0;
        char *copy = cli_xstrdup(every), *colon = strchr(copy, ':');
        int ok = colon && (*colon = '\0', oti_parse_int64(copy, &e)) && oti_parse_int64(colon + 1, &k) &&
                 e >= 1 && k >= 1 && e < 1000000 && k < 1000000;
        free(copy);
        if (!ok) {
            cli_error(args, "--unfreeze-every %s: expected E:K (every E epochs, K more layers), both >= 1", every);
            return 0;
        }
        config->unfreeze_every = (int)e;
        config->unfreeze_count = (int)k;
    }
    const char *augment = cli_get(args, "augment");
    if (augment) {
        char *copy = cli_xstrdup(augment), *save = NULL;
        int ok = 1;
        for (char *item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
            int64_t n;
            double f;
            if (!strcmp(item, "flip")) config->augment_flip = 1;
            else if (!strncmp(item, "shift:", 6) && oti_parse_int64(item + 6, &n) && n >= 1 && n < 4096) config->augment_shift = (int)n;
            else if (!strncmp(item, "crop:", 5) && oti_parse_int64(item + 5, &n) && n >= 1 && n < 4096) config->augment_crop = (int)n;
            else if (!strncmp(item, "brightness:", 11) && oti_parse_double(item + 11, &f) && f > 0 && f < 100) config->augment_brightness = f;
            else ok = 0;
        }
        free(copy);
        if (!ok) {
            cli_error(args, "--augment %s: expected a list of flip, shift:N, crop:N, brightness:F", augment);
            return 0;
        }
    }
    return 1;
}

static int prepare_model(const cli_args *args, ot_model *m, ot_train_config *config) {
    if (cli_has(args, "cut") && ot_transfer_cut(m, cli_get(args, "cut")) != OT_OK) {
        oti_error_prefix("--cut: ");
        return 0;
    }
    if (cli_has(args, "head")) {
        ot_init_spec init;
        if (ot_builder_parse_init(cli_has(args, "init") ? cli_get(args, "init") : "auto", &init) != OT_OK) {
            oti_error_prefix("--init: ");
            return 0;
        }
        if (m->n_outputs != 1) {
            oti_fail(OT_ERR_INVALID, "--head needs a model with one output (use --cut LAYER first)");
            return 0;
        }
        ot_rng rng;
        ot_rng_seed(&rng, config->seed ^ 0x9e3779b97f4a7c15ull);
        if (ot_builder_append(config->context, m, cli_get(args, "head"), m->values[m->outputs[0]].name, &init,
                                   &rng, "head_") != OT_OK)
            return 0;
    }
    return cli_apply_freeze_flags(args, m) == OT_OK;
}

/* What is about to happen, in a few lines. */
static void print_summary(const ot_model *m, const ot_dataset *train, const ot_dataset *val,
                          const ot_dataset *test, const ot_train_config *c) {
    ot_parameter_counts p = ot_transfer_parameter_counts(m);
    printf("model    %d layers: %d trained (%lld parameters), %d frozen (%lld parameters)\n", m->n_layers,
           p.trained_layers, (long long)p.trained, p.frozen_layers, (long long)p.frozen);
    printf("data     %lld training samples", (long long)train->n);
    if (train->n_classes) printf(" in %lld classes", (long long)train->n_classes);
    if (val) printf(", %lld validation", (long long)val->n);
    if (test) printf(", %lld test", (long long)test->n);
    printf("\ntraining %s, lr %g, batch %lld, %lld epochs, loss %s%s\n", ot_optimizer_name(c->optimizer.kind),
           c->optimizer.lr, (long long)c->batch, (long long)c->epochs, ot_loss_name(c->loss.kind),
           c->cache_dir ? ", frozen-feature cache" : "");
    fflush(stdout);
}

/* Every file training writes (-o, --checkpoint, --log, files in --cache and --tensorboard DIR): a read-only or
 * full folder is an error before any work, not after hours of training. Only the writer (rank
 * 0) writes the model, the logs and checkpoints; every rank may write the cache. */
static ot_status check_writable(const cli_args *args, const char *out, const ot_train_config *c, int writer) {
    const char *paths[] = {out, c->checkpoint_path, cli_get(args, "log")};
    const char *flags[] = {"-o", "--checkpoint", "--log"};
    for (int i = 0; i < 3 && writer; i++) {
        if (!paths[i]) continue;
        ot_status status = oti_check_writable(paths[i]);
        if (status != OT_OK) {
            oti_error_prefix("%s: ", flags[i]);
            return status;
        }
    }
    const char *dirs[] = {c->cache_dir, writer ? cli_get(args, "tensorboard") : NULL};
    const char *dir_flags[] = {"--cache", "--tensorboard"};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i]) continue;
        char *probe = cli_or_exit(oti_path_join(dirs[i], "probe"));
        ot_status status = oti_make_dirs(dirs[i]);
        if (status == OT_OK) status = oti_check_writable(probe);
        free(probe);
        if (status != OT_OK) {
            oti_error_prefix("%s: ", dir_flags[i]);
            return status;
        }
    }
    return OT_OK;
}

/* Room for the trained model and a checkpoint (its weights, at least) in their folders. */
static ot_status check_space(const char *out, const ot_train_config *c, const ot_model *m) {
    uint64_t bytes = 0;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER)
            bytes += (uint64_t)ot_tensor_numel(&m->values[v].tensor) * ot_dtype_size(m->values[v].tensor.dtype);
    const char *paths[] = {out, c->checkpoint_path};
    const char *flags[] = {"-o", "--checkpoint"};
    for (int i = 0; i < 2; i++) {
        if (!paths[i]) continue;
        char *dir = cli_or_exit(oti_path_dirname(paths[i]));
        struct statvfs st;
        int known = statvfs(dir, &st) == 0;
        free(dir);
        uint64_t available = known ? (uint64_t)st.f_bavail * st.f_frsize : UINT64_MAX;
        if (available < bytes)
            return oti_fail(OT_ERR_IO, "%s %s: its folder has %.1f MiB free, the file needs at least "
                           "%.1f MiB (free some space or write elsewhere)", flags[i], paths[i],
                           available / 1048576.0, bytes / 1048576.0);
    }
    return OT_OK;
}

int cmd_train(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    ot_train_config config;
    ot_train_config_defaults(&config);
    config.fast_convolution = cli_has(&args, "fast-conv");
    if (cli_has(&args, "profile") && ot_profile_create(&config.profile) != OT_OK) {
        cli_fail(&args);
        cli_free(&args);
        return 1;
    }
    config.sync_batch_norm = cli_has(&args, "sync-bn");
    int rc = 2, ready = 0;
    if (!cli_ranks_open(&args, &config.group)) {
        ready = 1; /* the ranks cannot talk: nothing to agree on */
        rc = 1;
    }
    /* Only rank 0 prints progress and writes the model, the log and checkpoints. */
    int writer = ot_process_group_rank(config.group) == 0;
    ot_model *m = NULL;
    ot_dataset *train = NULL, *val = NULL, *test = NULL;
    cli_progress progress;
    cli_progress_init(&progress, cli_has(&args, "quiet") || !writer, writer ? cli_get(&args, "log") : NULL);
    const char *out = cli_get(&args, "out");
    if (rc == 1) goto done;
    if (!cli_has(&args, "data")) {
        cli_error(&args, "--data SPEC is required");
        goto done;
    }
    if (!out && !cli_has(&args, "checkpoint")) {
        cli_error(&args, "-o OUT.onnx is required (where the trained model goes)");
        goto done;
    }
    if (!cli_train_config_read(&args, &config)) goto done;
    if (cli_has(&args, "val") && cli_has(&args, "val-split")) {
        cli_error(&args, "give --val or --val-split, not both");
        goto done;
    }
    double val_split = 0;
    if (!cli_get_double(&args, "val-split", 0, 0, 1, &val_split)) goto done;
    if (!read_transfer_flags(&args, &config) || !cli_context_create(&args, &config.context)) goto done;
    if (config.cache_dir && (config.augment_flip || config.augment_shift || config.augment_crop ||
                             config.augment_brightness)) {
        cli_error(&args, "--cache cannot be combined with --augment: augmented images differ every "
                  "epoch, so the frozen layers' outputs cannot be computed once");
        goto done;
    }
    rc = 1;
    /* Fail before training when a result could not be written. */
    if (check_writable(&args, out, &config, writer) != OT_OK) {
        rc = cli_fail(&args);
        goto done;
    }
    if (!cli_load_model(&args, config.context, args.positional[0], &m, &rc)) goto done;
    if (!prepare_model(&args, m, &config) || (writer && check_space(out, &config, m) != OT_OK)) {
        rc = cli_fail(&args);
        goto done;
    }
    if (!cli_check_io_flags(&args, m, &config.loss) || !cli_apply_shape_flags(&args, m, 1)) {
        rc = 2;
        goto done;
    }
    const ot_value *input = m->n_inputs ? &m->values[m->inputs[0]] : NULL;
    if (load_data(&args, "data", input, config.context, &train) != OT_OK ||
        (cli_has(&args, "val") && load_data(&args, "val", input, config.context, &val) != OT_OK) ||
        (cli_has(&args, "test") && load_data(&args, "test", input, config.context, &test) != OT_OK)) {
        rc = cli_fail(&args);
        goto done;
    }
    if (val_split > 0) {
        ot_rng split_rng;
        ot_rng_seed(&split_rng, config.seed + 1);
        if (ot_dataset_split(train, val_split, &split_rng, &val) != OT_OK) {
            oti_error_prefix("--val-split: ");
            rc = cli_fail(&args);
            goto done;
        }
    }
    if (config.early_stopping && !val) {
        cli_error(&args, "--early-stopping needs validation data (--val or --val-split)");
        rc = 2;
        goto done;
    }
    if (!progress.quiet) print_summary(m, train, val, test, &config);
    cli_tensorboard tensorboard = {0};
    if (writer && cli_has(&args, "tensorboard")) {
        if (!cli_tensorboard_open(&tensorboard, cli_get(&args, "tensorboard"), m)) {
            oti_error_prefix("--tensorboard: ");
            rc = cli_fail(&args);
            goto done;
        }
        progress.tensorboard = &tensorboard;
    }
    cli_progress_attach(&progress, &config);
    config.interrupt = &interrupt_request;
    ready = 1;
    if (!cli_ranks_ready(&args, config.group, 1)) {
        cli_tensorboard_close(&tensorboard);
        rc = 1;
        goto done;
    }
    signal(SIGINT, on_sigint);
    ot_train_result result;
    ot_status status = ot_train(m, &config, train, val, &result);
    signal(SIGINT, SIG_DFL);
    cli_tensorboard_close(&tensorboard);
    progress.tensorboard = NULL;
    if (status != OT_OK) {
        rc = cli_fail(&args);
        ot_process_group_abort(config.group, rc); /* others may wait for this rank */
        goto done;
    }
    if (!writer) {
        rc = result.interrupted ? 130 : 0;
        goto done;
    }
    if (test) {
        ot_eval_result e;
        if (ot_evaluate_cached(m, &config, "test", test, &e) != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
        if (!progress.quiet) {
            printf("test: loss %.4f  accuracy %.4f", e.loss, e.accuracy);
            if (!isnan(e.mean_iou)) printf("  mean IoU %.4f", e.mean_iou);
            printf("  (%lld samples)\n", (long long)e.samples);
        }
    }
    if (out && ot_onnx_save(m, out) != OT_OK) {
        rc = cli_fail(&args);
        goto done;
    }
    if (out && !progress.quiet) printf("wrote %s\n", out);
    if (config.profile) cli_profile_print(config.profile, stdout);
    if (result.interrupted) {
        fprintf(stderr, "onnxtrain train: interrupted after epoch %lld%s\n", (long long)result.epochs_run,
                config.checkpoint_path ? "; resume with the same command and --resume" : "");
        rc = 130;
        goto done;
    }
    rc = 0;
done:
    if (!ready) cli_ranks_ready(&args, config.group, 0);
    ot_process_group_close(config.group);
    cli_progress_free(&progress);
    ot_dataset_free(train);
    ot_dataset_free(val);
    ot_dataset_free(test);
    ot_model_free(m);
    ot_context_free(config.context);
    ot_profile_free(config.profile);
    cli_free(&args);
    return rc;
}
