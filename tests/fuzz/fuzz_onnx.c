/* libFuzzer harness for the ONNX importer: loads the input as a model in both load modes
 * (no external data allowed; structure only without a memory limit, the full load with its
 * constant folding under FUZZ_MEMORY_LIMIT), exports what loads and re-imports the export,
 * and plans and runs fully loaded models on small inputs (symbolic dims 1, int64 feeds hold
 * ones) under FUZZ_PLAN_LIMIT. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"

/* Plans and runs small: a few MiB of activations can already take seconds of compute under
 * ASan and coverage (a ConvTranspose with a 37x52x33 kernel timed out at 64 MiB). */
#define FUZZ_PLAN_LIMIT ((size_t)1 << 20)

/* Contexts with the memory limits, made once (the first input makes them, in libFuzzer and
 * in the replay test alike): loading with constant folding, and planning. */
static ot_context *folding_context, *planning_context;

static void make_contexts(void) {
    ot_context_options folding = {.threads = 1, .memory_limit = FUZZ_MEMORY_LIMIT};
    /* Loops run their body at most a thousand times per forward, nested ones included. */
    ot_context_options planning = {.threads = 1, .memory_limit = FUZZ_PLAN_LIMIT, .max_loop_iterations = 1000};
    if (ot_context_create(&folding, &folding_context) != OT_OK ||
        ot_context_create(&planning, &planning_context) != OT_OK)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

/* An exported model must load again (structure only: the engine's op checks already ran). */
static void onnx_round_trip(const ot_model *m) {
    unsigned char *data = NULL;
    size_t size = 0;
    if (ot_onnx_serialize(m, &data, &size) != OT_OK) return;
    ot_model *again = NULL;
    if (ot_onnx_load_buffer(NULL, data, size, NULL, "export", OT_LOAD_STRUCTURE_ONLY, &again) != OT_OK) {
        fprintf(stderr, "fuzz_onnx: the export of a loaded model does not load: %s\n", ot_last_error());
        abort();
    }
    ot_model_free(again);
    free(data);
}

/* Feeds of the declared dtypes and shapes, unknown dims 1; int64 feeds (shapes, axes) hold
 * ones. Returns 0 when an input cannot be fed (undeclared shape, dtype the engine lacks). */
static int onnx_make_feeds(const ot_model *m, int *feeds, ot_tensor *shapes, void **buffers) {
    if (m->n_inputs > 16) return 0;
    for (int k = 0; k < m->n_inputs; k++) {
        const ot_value *v = &m->values[m->inputs[k]];
        if (!v->has_shape || !v->has_type || !ot_dtype_is_computed(v->tensor.dtype)) return 0;
        feeds[k] = m->inputs[k];
        shapes[k] = v->tensor;
        shapes[k].data = NULL;
        shapes[k].owns = 0;
        for (int d = 0; d < shapes[k].ndim; d++)
            if (shapes[k].dims[d] < 0) shapes[k].dims[d] = 1;
        int64_t n = ot_tensor_numel(&shapes[k]);
        if (n < 0 || n > (1 << 16)) return 0;
        size_t bytes = (size_t)(n ? n : 1) * ot_dtype_size(shapes[k].dtype);
        buffers[k] = calloc(1, bytes);
        if (shapes[k].dtype == OT_INT64)
            for (int64_t i = 0; i < n; i++) ((int64_t *)buffers[k])[i] = 1;
        shapes[k].data = buffers[k];
    }
    return 1;
}


static void onnx_plan_and_run(ot_model *m) {
    int feeds[16];
    ot_tensor shapes[16];
    void *buffers[16] = {0};
    if (onnx_make_feeds(m, feeds, shapes, buffers)) {
        ot_plan *plan = NULL;
        ot_plan_options options = {.context = planning_context};
        if (ot_plan_create(m, &options, m->n_inputs, feeds, shapes, &plan) == OT_OK) {
            for (int k = 0; k < m->n_inputs; k++) ot_plan_value(plan, feeds[k])->data = buffers[k];
            ot_plan_forward(plan);
            ot_plan_free(plan);
        }
    }
    for (int k = 0; k < 16; k++) free(buffers[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_contexts);
    ot_model *m = NULL;
    /* Reading alone must never allocate beyond what the bytes hold: no memory limit. */
    if (ot_onnx_load_buffer(NULL, data, size, NULL, "fuzz.onnx", OT_LOAD_STRUCTURE_ONLY, &m) == OT_OK) {
        onnx_round_trip(m);
        ot_model_free(m);
    }
    /* Folding constants and planning allocate what the graph computes: --max-memory's job. */
    if (ot_onnx_load_buffer(folding_context, data, size, NULL, "fuzz.onnx", OT_LOAD_FULL, &m) == OT_OK) {
        onnx_round_trip(m);
        onnx_plan_and_run(m);
        ot_model_free(m);
    }
    return 0;
}
