/* onnxtrain run MODEL.onnx -i NAME=FILE.npy ... -o OUTDIR: inference on .npy files. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_alloc.h"
#include "args.h"
#include "commands.h"
#include "model_load.h"
#include "core/util.h"
#include "core/file_io.h"
#include "formats/npy.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "shape_flags.h"

static const cli_flag flags[] = {
    {"input", 'i', "NAME=FILE.npy", "a graph input (repeat for each; NAME= may be left out when "
                                    "the model has one input)"},
    {"output-dir", 'o', "OUTDIR", "folder for <output name>.npy, one per graph output (created)"},
    {"repeat", 0, "N", "run the forward pass N times and print the mean time per run (benchmarking)"},
    {"seed", 0, "S", "seed for random ops without a seed attribute (RandomNormal, Bernoulli, ...; default 42)"},
    {"max-memory", 0, "MiB", "refuse plans larger than this"},
    CLI_FAST_CONV_FLAG,
    CLI_SHAPE_FLAG,
    CLI_CAFFE_WEIGHTS_FLAG,
};

static const cli_command command = {
    "run", "MODEL.onnx|NET.prototxt [--weights NET.caffemodel] -i NAME=FILE.npy [-i ...] -o OUTDIR",
    "Runs MODEL on the inputs and writes every graph output as OUTDIR/<name>.npy.\n"
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

/* Output names can hold '/' or ':' (PyTorch: "/fc/Gemm_output_0"); keep file names flat. */
static char *output_file_name(const char *dir, const char *name) {
    char *safe = cli_xstrdup(name);
    for (char *p = safe; *p; p++)
        if (*p == '/' || *p == '\\' || *p == ':') *p = '_';
    if (safe[0] == '.' || !safe[0]) {
        char *prefixed = cli_xasprintf("output%s", safe);
        free(safe);
        safe = prefixed;
    }
    char *file_name = cli_xasprintf("%s.npy", safe);
    char *path = cli_or_exit(oti_path_join(dir, file_name));
    free(safe);
    free(file_name);
    return path;
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
    const char *specs[64];
    int n_specs = cli_get_all(&args, "input", specs, 64);
    ot_tensor inputs[64];
    int feeds[64];
    memset(inputs, 0, sizeof inputs);
    if (!cli_load_model(&args, ctx, args.positional[0], &m, &rc)) {
        goto done;
    }
    if (!cli_apply_shape_flags(&args, m, 1)) {
        rc = 2;
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
        ot_tensor file_tensor;
        if (oti_npy_load(ctx, file, &file_tensor) != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
        bound[slot] = 1;
        int ok = check_input(&args, &m->values[m->inputs[slot]], &file_tensor, file);
        /* The engine computes in float32, int64 and bool; the tensor keeps the file's dtype as
         * declared, so outputs that follow it are fitted and written in it. */
        ot_status widened = ok ? ot_tensor_widen(ctx, &file_tensor, &inputs[slot], file) : OT_OK;
        ot_tensor_free(&file_tensor);
        if (!ok) goto done;
        if (widened != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
    }
    if (m->n_inputs > 64) {
        cli_error(&args, "models with more than 64 inputs are not supported");
        goto done;
    }
    for (int k = 0; k < m->n_inputs; k++) {
        if (!bound[k]) {
            cli_error(&args, "input '%s' is not given (-i %s=FILE.npy)", m->values[m->inputs[k]].name,
                      m->values[m->inputs[k]].name);
            goto done;
        }
        feeds[k] = m->inputs[k];
    }
    ot_rng rng;
    ot_rng_seed(&rng, (uint64_t)seed);
    ot_plan_options options = {.context = ctx, .fast_convolution = cli_has(&args, "fast-conv"), .rng = &rng};
    if (oti_make_dirs(out_dir) != OT_OK || ot_plan_create(m, &options, m->n_inputs, feeds, inputs, &plan) != OT_OK) {
        rc = cli_fail(&args);
        goto done;
    }
    for (int k = 0; k < m->n_inputs; k++) ot_plan_value(plan, feeds[k])->data = inputs[k].data;
    double start = oti_now_ms();
    for (int64_t r = 0; r < repeat; r++)
        if (ot_plan_forward(plan) != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
    if (cli_has(&args, "repeat"))
        printf("{\"ms_per_run\": %.3f, \"runs\": %lld}\n", (oti_now_ms() - start) / (double)repeat, (long long)repeat);
    for (int k = 0; k < m->n_outputs; k++) {
        int v = m->outputs[k];
        const ot_tensor *t = ot_plan_value(plan, v);
        char *path = output_file_name(out_dir, m->values[v].name);
        ot_tensor narrowed = {0};
        ot_status status = t ? ot_tensor_narrow(t, &narrowed, m->values[v].name)
                             : oti_fail(OT_ERR_INVALID, "output '%s' was not computed", m->values[v].name);
        if (status == OT_OK) status = oti_npy_save(path, &narrowed);
        ot_tensor_free(&narrowed);
        free(path);
        if (status != OT_OK) {
            rc = cli_fail(&args);
            goto done;
        }
    }
    rc = 0;
done:
    for (int k = 0; k < 64; k++) ot_tensor_free(&inputs[k]);
    ot_plan_free(plan);
    ot_model_free(m);
    ot_context_free(ctx);
    cli_free(&args);
    return rc;
}
