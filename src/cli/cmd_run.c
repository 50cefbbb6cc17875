/* onnxtrain run MODEL.onnx -i NAME=FILE.npy ... -o OUTDIR: inference on .npy files. A sequence
 * input or output is a folder of .npy files, one per element: 0.npy, 1.npy, ... */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli_alloc.h"
#include "args.h"
#include "commands.h"
#include "model_load.h"
#include "core/util.h"
#include "core/file_io.h"
#include "formats/npy.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "profile_report.h"
#include "shape_flags.h"

static const cli_flag flags[] = {
    {"input", 'i', "NAME=FILE.npy", "a graph input (repeat for each; NAME= may be left out when "
                                    "the model has one input); a sequence input: NAME=FOLDER holding "
                                    "0.npy, 1.npy, ... (its elements in order; empty: an empty sequence)"},
    {"output-dir", 'o', "OUTDIR", "folder for <output name>.npy, one per graph output (created); a "
                                  "sequence output: OUTDIR/<output name>/0.npy, 1.npy, ..."},
    {"repeat", 0, "N", "run the forward pass N times and print the mean time per run (benchmarking)"},
    {"seed", 0, "S", "seed for random ops without a seed attribute (RandomNormal, Bernoulli, ...; default 42)"},
    {"max-memory", 0, "MiB", "refuse plans larger than this"},
    CLI_FAST_CONV_FLAG,
    CLI_PROFILE_FLAG,
    CLI_SHAPE_FLAG,
    CLI_CAFFE_WEIGHTS_FLAG,
};

static const cli_command command = {
    "run", "MODEL.onnx|NET.prototxt [--weights NET.caffemodel] -i NAME=FILE.npy [-i ...] -o OUTDIR",
    "Runs MODEL on the inputs and writes every graph output as OUTDIR/<name>.npy (a sequence "
    "output as the folder OUTDIR/<name>/ of 0.npy, 1.npy, ...).\n"
    ".npy files: any numeric dtype or bool, little-endian or not, C order; their dtype and shape "
    "must match the model's declared inputs. Outputs are written in their declared dtypes.",
    flags, OT_COUNT(flags), 1, 1, NULL};

/* Checks a given array against the input's declared dtype and fixed dims. */
static int check_input(const cli_args *args, const ot_value *v, const ot_tensor *t, const char *file) {
    if (v->has_type && v->tensor.dtype != t->dtype) {
        cli_error(args, "input '%s': %s holds %s, the model expects %s", v->name, file,
                  ot_dtype_name(t->dtype), ot_dtype_name(v->tensor.dtype));
        return 0;
    }
    if (!v->has_shape) return 1;
    int ok = v->tensor.ndim == t->ndim;
    for (int d = 0; ok && d < t->ndim; d++) ok = v->tensor.dims[d] < 0 || v->tensor.dims[d] == t->dims[d];
    if (!ok) {
        char want[128], got[128];
        cli_error(args, "input '%s': %s has shape %s, the model expects %s", v->name, file,
                  ot_shape_string(t->ndim, t->dims, got, sizeof got),
                  ot_value_shape_string(v, want, sizeof want));
        return 0;
    }
    return 1;
}

/* One graph input as given: a tensor (count 1) or a sequence's elements in order. */
typedef struct run_input {
    ot_tensor *elements;
    int count;
} run_input;

static int is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Loads one .npy file for input v, checked against its declared type and widened to the
 * engine's dtypes (the tensor keeps the file's dtype as declared, so outputs that follow it
 * are fitted and written in it). 0 on success, else the exit code. */
static int load_array(const cli_args *args, const ot_context *ctx, const ot_value *v, const char *file,
                      ot_tensor *out) {
    ot_tensor file_tensor;
    if (oti_npy_load(ctx, file, &file_tensor) != OT_OK) return cli_fail(args);
    int ok = check_input(args, v, &file_tensor, file);
    ot_status widened = ok ? ot_tensor_widen(ctx, &file_tensor, out, file) : OT_OK;
    ot_tensor_free(&file_tensor);
    if (!ok) return 1;
    return widened == OT_OK ? 0 : cli_fail(args);
}

/* A sequence input: FOLDER/0.npy, FOLDER/1.npy, ... up to the first missing number. */
#define RUN_SEQUENCE_MAX 100000
static int load_sequence(const cli_args *args, const ot_context *ctx, const ot_value *v, const char *folder,
                         run_input *in) {
    for (int k = 0;; k++) {
        char *file_name = cli_xasprintf("%d.npy", k);
        char *path = cli_or_exit(oti_path_join(folder, file_name));
        free(file_name);
        struct stat st;
        int rc = stat(path, &st) != 0 ? -1 : 0;
        if (!rc && k >= RUN_SEQUENCE_MAX) {
            cli_error(args, "input '%s': %s holds more than %d elements", v->name, folder, RUN_SEQUENCE_MAX);
            rc = 1;
        }
        if (!rc) {
            in->elements = cli_xrealloc(in->elements, (size_t)(k + 1) * sizeof(ot_tensor));
            memset(&in->elements[k], 0, sizeof(ot_tensor));
            in->count = k + 1;
            rc = load_array(args, ctx, v, path, &in->elements[k]);
        }
        free(path);
        if (rc) return rc < 0 ? 0 : rc;
    }
}

/* Input v from -i's FILE: a .npy file for a tensor, a folder of them for a sequence. */
static int load_input(const cli_args *args, const ot_context *ctx, const ot_value *v, const char *file,
                      run_input *in) {
    int sequence = v->type == OT_TYPE_SEQUENCE;
    if (sequence != is_folder(file)) {
        cli_error(args, sequence ? "input '%s' is a sequence: %s is not a folder holding its elements as 0.npy, "
                                   "1.npy, ..."
                                 : "input '%s' is a tensor: %s is a folder, give a .npy file",
                  v->name, file);
        return 1;
    }
    if (sequence) return load_sequence(args, ctx, v, file, in);
    in->elements = cli_xcalloc(1, sizeof(ot_tensor));
    in->count = 1;
    return load_array(args, ctx, v, file, &in->elements[0]);
}

/* The plan's feeds: a tensor input once, a sequence input once per element (once, of dtype
 * OT_UNDEFINED, when empty: ot_plan_create's rule). Returns their number. */
static int make_feeds(const ot_model *m, const run_input *inputs, int *feeds, ot_tensor *shapes) {
    int n = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        for (int e = 0; e < inputs[k].count; e++) {
            feeds[n] = m->inputs[k];
            shapes[n++] = inputs[k].elements[e];
        }
        if (!inputs[k].count) {
            feeds[n] = m->inputs[k];
            shapes[n++] = (ot_tensor){.dtype = OT_UNDEFINED};
        }
    }
    return n;
}

static void bind_inputs(ot_plan *plan, const ot_model *m, const run_input *inputs) {
    for (int k = 0; k < m->n_inputs; k++) {
        int v = m->inputs[k];
        if (m->values[v].type != OT_TYPE_SEQUENCE) {
            ot_plan_value(plan, v)->data = inputs[k].elements[0].data;
            continue;
        }
        for (int e = 0; e < inputs[k].count; e++) {
            ot_tensor *element = ot_plan_sequence_element(plan, v, e);
            if (element) element->data = inputs[k].elements[e].data;
        }
    }
}

/* Output names can hold '/' or ':' (PyTorch: "/fc/Gemm_output_0"); keep file names flat. */
static char *output_path(const char *dir, const char *name, const char *suffix) {
    char *safe = cli_xstrdup(name);
    for (char *p = safe; *p; p++)
        if (*p == '/' || *p == '\\' || *p == ':') *p = '_';
    if (safe[0] == '.' || !safe[0]) {
        char *prefixed = cli_xasprintf("output%s", safe);
        free(safe);
        safe = prefixed;
    }
    char *file_name = cli_xasprintf("%s%s", safe, suffix);
    char *path = cli_or_exit(oti_path_join(dir, file_name));
    free(safe);
    free(file_name);
    return path;
}

static ot_status save_tensor(const char *path, const ot_tensor *t, const char *name) {
    ot_tensor narrowed = {0};
    ot_status status = t ? ot_tensor_narrow(t, &narrowed, name)
                         : oti_fail(OT_ERR_INVALID, "output '%s' was not computed", name);
    if (status == OT_OK) status = oti_npy_save(path, &narrowed);
    ot_tensor_free(&narrowed);
    return status;
}

/* Output v as OUTDIR/<name>.npy, or a sequence as the folder OUTDIR/<name>/ of 0.npy, ... */
static ot_status save_output(ot_plan *plan, const ot_model *m, int v, const char *out_dir) {
    const char *name = m->values[v].name;
    int length = ot_plan_sequence_length(plan, v);
    if (length < 0) {
        char *path = output_path(out_dir, name, ".npy");
        ot_status status = save_tensor(path, ot_plan_value(plan, v), name);
        free(path);
        return status;
    }
    char *folder = output_path(out_dir, name, "");
    ot_status status = oti_make_dirs(folder);
    for (int e = 0; status == OT_OK && e < length; e++) {
        char *file_name = cli_xasprintf("%d.npy", e);
        char *path = cli_or_exit(oti_path_join(folder, file_name));
        status = save_tensor(path, ot_plan_sequence_element(plan, v, e), name);
        free(file_name);
        free(path);
    }
    /* An earlier run's longer sequence: its extra elements would read as part of this one. */
    for (int e = length; status == OT_OK; e++) {
        char *file_name = cli_xasprintf("%d.npy", e);
        char *path = cli_or_exit(oti_path_join(folder, file_name));
        int removed = remove(path) == 0;
        free(file_name);
        free(path);
        if (!removed) break;
    }
    free(folder);
    return status;
}

int cmd_run(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    int rc = 1;
    const char *out_dir = cli_get(&args, "output-dir");
    if (!out_dir) {
        cli_error(&args, "-o OUTDIR is required");
        cli_free(&args);
        return 2;
    }
    int64_t repeat, seed;
    ot_context *ctx;
    if (!cli_get_int(&args, "repeat", 1, 1, 1000000, &repeat) || !cli_get_int(&args, "seed", 42, 0, INT64_MAX, &seed) ||
        !cli_context_create(&args, &ctx)) {
        cli_free(&args);
        return 2;
    }
    ot_model *m = NULL;
    ot_plan *plan = NULL;
    ot_profile *profile = NULL;
    const char *specs[64];
    int n_specs = cli_get_all(&args, "input", specs, 64);
    run_input inputs[64];
    int *feeds = NULL;
    ot_tensor *shapes = NULL;
    memset(inputs, 0, sizeof inputs);
    if (!cli_load_model(&args, ctx, args.positional[0], &m, &rc)) {
        goto done;
    }
    if (!cli_apply_shape_flags(&args, m, 1)) {
        rc = 2;
        goto done;
    }
    if (m->n_inputs > 64) {
        cli_error(&args, "models with more than 64 inputs are not supported");
        goto done;
    }
    int bound[64] = {0};
    for (int i = 0; i < n_specs; i++) {
        const char *eq = strchr(specs[i], '=');
        char *name = eq ? cli_xstrndup(specs[i], (size_t)(eq - specs[i])) : NULL;
        const char *file = eq ? eq + 1 : specs[i];
        if (!name && m->n_inputs == 1) name = cli_xstrdup(m->values[m->inputs[0]].name);
        if (!name) {
            cli_error(&args, "-i %s: the model has %d inputs; write NAME=FILE.npy", specs[i], m->n_inputs);
            goto done;
        }
        int slot = -1;
        for (int k = 0; k < m->n_inputs; k++)
            if (!strcmp(m->values[m->inputs[k]].name, name)) slot = k;
        if (slot < 0) {
            cli_error(&args, "-i %s: the model has no input named '%s'", specs[i], name);
            free(name);
            goto done;
        }
        free(name);
        if (bound[slot]) {
            cli_error(&args, "input '%s' is given twice", m->values[m->inputs[slot]].name);
            goto done;
        }
        bound[slot] = 1;
        int failed = load_input(&args, ctx, &m->values[m->inputs[slot]], file, &inputs[slot]);
        if (failed) {
            rc = failed;
            goto done;
        }
    }
    int n_feeds = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        if (!bound[k]) {
            const char *input = m->values[m->inputs[k]].name;
            int sequence = m->values[m->inputs[k]].type == OT_TYPE_SEQUENCE;
            cli_error(&args, "input '%s' is not given (-i %s=%s)", input, input, sequence ? "FOLDER" : "FILE.npy");
            goto done;
        }
        n_feeds += inputs[k].count ? inputs[k].count : 1;
    }
    feeds = cli_xcalloc((size_t)n_feeds + 1, sizeof(int));
    shapes = cli_xcalloc((size_t)n_feeds + 1, sizeof(ot_tensor));
    n_feeds = make_feeds(m, inputs, feeds, shapes);
    ot_rng rng;
    ot_rng_seed(&rng, (uint64_t)seed);
    ot_plan_options options = {.context = ctx, .fast_convolution = cli_has(&args, "fast-conv"), .rng = &rng};
    if (cli_has(&args, "profile") && ot_profile_create(&profile) != OT_OK) {
        rc = cli_fail(&args);
        goto done;
    }
    options.profile = profile;
    if (oti_make_dirs(out_dir) != OT_OK || ot_plan_create(m, &options, n_feeds, feeds, shapes, &plan) != OT_OK) {
        rc = cli_fail(&args);
        goto done;
    }
    bind_inputs(plan, m, inputs);
    double start = oti_now_ms();
    for (int64_t r = 0; r < repeat; r++)
        if (ot_plan_forward(plan) != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
    if (cli_has(&args, "repeat"))
        printf("{\"ms_per_run\": %.3f, \"runs\": %lld}\n", (oti_now_ms() - start) / (double)repeat, (long long)repeat);
    for (int k = 0; k < m->n_outputs; k++)
        if (save_output(plan, m, m->outputs[k], out_dir) != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
    if (profile) cli_profile_print(profile, stdout);
    rc = 0;
done:
    for (int k = 0; k < 64; k++) {
        for (int e = 0; e < inputs[k].count; e++) ot_tensor_free(&inputs[k].elements[e]);
        free(inputs[k].elements);
    }
    free(feeds);
    free(shapes);
    ot_plan_free(plan);
    ot_profile_free(profile);
    ot_model_free(m);
    ot_context_free(ctx);
    cli_free(&args);
    return rc;
}
