/* Runs one ONNX backend test folder (model.onnx + test_data_set_N/{input,output}_K.pb) and
 * compares outputs as ONNX's runner does: |got - want| <= atol + rtol * |want|, with
 * rtol 1e-3 and atol 1e-7 for floats, exact for ints and bools, in the declared dtype.
 *
 *   backend_runner DIR             run; exit 0 on pass
 *   backend_runner --classify DIR  print "run" or "skip: <reason>" (used for the manifest) */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>

#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "core/util.h"
#include "ops/op.h"

#define MAX_IO 32

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int compare(const char *name, const ot_tensor *got, const ot_tensor *want, int verbose) {
    char a[128], b[128];
    /* Both are held in the engine's dtypes; the declared dtypes must agree, and the values
     * (ours fitted to the declared dtype by the plan) then compare exactly as narrowed ones. */
    if (ot_tensor_declared(got) != ot_tensor_declared(want) || got->dtype != want->dtype) {
        fprintf(stderr, "output '%s': dtype %s, expected %s\n", name,
                ot_dtype_name(ot_tensor_declared(got)), ot_dtype_name(ot_tensor_declared(want)));
        return 0;
    }
    if (ot_tensor_numel(got) != ot_tensor_numel(want) || !ot_tensor_same_shape(got, want)) {
        fprintf(stderr, "output '%s': shape %s, expected %s\n", name,
                ot_shape_string(got->ndim, got->dims, a, sizeof a),
                ot_shape_string(want->ndim, want->dims, b, sizeof b));
        return 0;
    }
    int64_t n = ot_tensor_numel(want), bad = 0, first_bad = -1;
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        int ok;
        if (want->dtype == OT_FLOAT) {
            float g = ((float *)got->data)[i], w = ((float *)want->data)[i];
            if (isnan(w)) ok = isnan(g);
            else if (isinf(w)) ok = g == w;
            else {
                double err = fabs((double)g - w);
                ok = err <= 1e-7 + 1e-3 * fabs(w);
                if (err > worst) worst = err;
            }
        } else if (want->dtype == OT_INT64) {
            ok = ((int64_t *)got->data)[i] == ((int64_t *)want->data)[i];
        } else {
            ok = (((uint8_t *)got->data)[i] != 0) == (((uint8_t *)want->data)[i] != 0);
        }
        if (!ok) {
            bad++;
            if (first_bad < 0) first_bad = i;
        }
    }
    if (bad) {
        fprintf(stderr, "output '%s': %lld of %lld values differ (first at %lld", name,
                (long long)bad, (long long)n, (long long)first_bad);
        if (want->dtype == OT_FLOAT)
            fprintf(stderr, ": got %g, want %g; largest error %g", ((float *)got->data)[first_bad],
                    ((float *)want->data)[first_bad], worst);
        fprintf(stderr, ")\n");
        return 0;
    }
    if (verbose) fprintf(stderr, "output '%s': %lld values ok (largest error %g)\n", name, (long long)n, worst);
    return 1;
}

static int run_data_set(ot_model *m, const char *dir) {
    ot_tensor inputs[MAX_IO] = {{0}}, outputs[MAX_IO] = {{0}};
    int ok = 1, n_in = 0, n_out = 0;
    char path[8192];
    if (strlen(dir) > 4096) return 0;
    for (int k = 0; k < MAX_IO; k++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, k);
        if (!file_exists(path)) break;
        if (ot_onnx_load_tensor(NULL, path, &inputs[k], NULL) != OT_OK) {
            fprintf(stderr, "%s\n", ot_last_error());
            ok = 0;
            goto done;
        }
        n_in++;
    }
    for (int k = 0; k < MAX_IO; k++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", dir, k);
        if (!file_exists(path)) break;
        if (ot_onnx_load_tensor(NULL, path, &outputs[k], NULL) != OT_OK) {
            fprintf(stderr, "%s\n", ot_last_error());
            ok = 0;
            goto done;
        }
        n_out++;
    }
    /* input_K feeds the K-th graph input; tests may leave trailing optional inputs out. */
    if (n_in > m->n_inputs || n_out != m->n_outputs) {
        fprintf(stderr, "%s: %d inputs / %d outputs on disk, model has %d / %d\n", dir, n_in,
                n_out, m->n_inputs, m->n_outputs);
        ok = 0;
        goto done;
    }
    ot_plan *plan;
    if (ot_plan_create(m, NULL, n_in, m->inputs, inputs, &plan) != OT_OK) {
        fprintf(stderr, "%s\n", ot_last_error());
        ok = 0;
        goto done;
    }
    for (int k = 0; k < n_in; k++) ot_plan_value(plan, m->inputs[k])->data = inputs[k].data;
    if (ot_plan_forward(plan) != OT_OK) {
        fprintf(stderr, "%s\n", ot_last_error());
        ok = 0;
    }
    for (int k = 0; k < n_out && ok; k++) {
        const ot_tensor *got = ot_plan_value(plan, m->outputs[k]);
        ok = got && compare(m->values[m->outputs[k]].name, got, &outputs[k], getenv("VERBOSE") != NULL);
    }
    ot_plan_free(plan);
done:
    for (int k = 0; k < MAX_IO; k++) {
        ot_tensor_free(&inputs[k]);
        ot_tensor_free(&outputs[k]);
    }
    return ok;
}

static int classify(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ot_model *m;
    ot_status status = ot_onnx_load(NULL, path, &m);
    if (status == OT_ERR_UNSUPPORTED) {
        const char *message = strstr(ot_last_error(), "model.onnx: ");
        printf("skip: %s\n", message ? message + 12 : ot_last_error());
        return 0;
    }
    if (status != OT_OK) {
        printf("run\n"); /* an import failure of a supported model is a failure to report */
        return 0;
    }
    for (int io = 0; io < 2; io++) {
        int n = io ? m->n_outputs : m->n_inputs;
        for (int k = 0; k < n; k++) {
            const ot_value *v = &m->values[io ? m->outputs[k] : m->inputs[k]];
            if (v->type == OT_TYPE_SEQUENCE) {
                printf("skip: %s '%s' is a sequence (the runner feeds and compares tensors only)\n",
                       io ? "output" : "input", v->name);
                ot_model_free(m);
                return 0;
            }
            /* Every numeric dtype is widened (integers to int64, floats to float32); float64
             * tests check the op's arithmetic in float32, with the float tolerance. */
            if (v->has_type && ot_dtype_storage(v->tensor.dtype) == OT_UNDEFINED) {
                printf("skip: %s '%s' is %s (the engine computes numbers and bools)\n",
                       io ? "output" : "input", v->name, ot_dtype_name(v->tensor.dtype));
                ot_model_free(m);
                return 0;
            }
        }
    }
    printf("run\n");
    ot_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--classify")) return classify(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: backend_runner [--classify] TEST_DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", argv[1]);
    ot_model *m;
    if (ot_onnx_load(NULL, path, &m) != OT_OK) {
        fprintf(stderr, "%s\n", ot_last_error());
        return 1;
    }
    /* Data sets in name order: test_data_set_0, _1, ... */
    int ok = 1, sets = 0;
    for (int k = 0; k < 100; k++) {
        snprintf(path, sizeof path, "%s/test_data_set_%d", argv[1], k);
        if (!file_exists(path)) break;
        sets++;
        if (!run_data_set(m, path)) {
            fprintf(stderr, "FAILED: %s\n", path);
            ok = 0;
        }
    }
    if (!sets) {
        fprintf(stderr, "%s: no test_data_set_N folders\n", argv[1]);
        ok = 0;
    }
    ot_model_free(m);
    return ok ? 0 : 1;
}
