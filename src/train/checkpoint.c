/* Training checkpoints: a zip (written atomically) holding state.txt (epoch, step, position
 * in the epoch, generator states, schedule and early-stopping state), trained.txt (the names
 * of the trained parameters and frozen layers), every float initializer as weights/<name>.npy,
 * the optimizer state as optimizer/<k>.npy, and the early-stopping snapshot as best.npy. */
#include <inttypes.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "formats/npy.h"
#include "formats/zip.h"
#include "trainer_internal.h"

/* 2: loss tallies (items, scored) and skipped steps; 3: the position in the epoch in samples
 * (samples_in_epoch, instead of batches: a run may resume with another number of processes,
 * so another global batch). Version 2 files still load. */
#define CHECKPOINT_VERSION 3

static ot_status add_npy(ot_zip_writer *w, const char *name, const ot_tensor *t) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_npy_serialize(t, &data, &size));
    ot_status status = oti_zip_writer_add(w, name, data, size, OT_ZIP_STORED);
    free(data);
    return status;
}

static ot_status add_floats(ot_zip_writer *w, const char *name, const float *values, int64_t n) {
    ot_tensor t = {.dtype = OT_FLOAT, .ndim = 1, .dims = {n}, .data = (void *)values};
    return add_npy(w, name, &t);
}

/* NULL when out of memory. */
static char *state_text(const trainer *t) {
    const ot_optimizer *o = t->optimizer;
    return oti_asprintf(
        "version %d\nepoch %" PRId64 "\nsamples_in_epoch %" PRId64 "\nstep %" PRId64 "\n"
        "rng %" PRIu64 " %" PRIu64 "\nepoch_rng %" PRIu64 " %" PRIu64 "\n"
        "epoch_loss %.17g %" PRId64 " %" PRId64 " %" PRId64 "\nskipped %" PRId64 "\n"
        "schedule %.17g %d %.17g\nbest %.17g %" PRId64 " %" PRId64 " %d\n"
        "optimizer %s %" PRId64 " %" PRId64 "\nlr %.17g\n",
        CHECKPOINT_VERSION, t->epoch, t->position, t->step, t->rng.state, t->rng.increment,
        t->epoch_rng.state, t->epoch_rng.increment, t->epoch_tally.sum, t->epoch_tally.items,
        t->epoch_tally.correct, t->epoch_tally.scored, t->skipped_batches, t->schedule.best, t->schedule.wait, t->schedule.scale, t->best_val, t->since_best,
        t->best_epoch, t->has_best, ot_optimizer_name(o->config.kind), o->step, o->n, t->lr);
}

/* NULL when out of memory. */
static char *trained_text(const trainer *t) {
    size_t len = 0, cap = 256;
    char *text = oti_malloc(cap);
    if (!text) return NULL;
    text[0] = '\0';
    const ot_model *m = t->m;
    for (int v = 0; v < m->n_values + m->n_layers; v++) {
        const char *line = NULL, *kind = NULL;
        if (v < m->n_values) {
            if (m->values[v].kind == OT_VALUE_INITIALIZER && !m->values[v].frozen) line = m->values[v].name, kind = "value";
        } else if (m->layers[v - m->n_values].frozen) {
            line = m->layers[v - m->n_values].name, kind = "frozen_layer";
        }
        if (!line) continue;
        size_t need = strlen(kind) + strlen(line) + 3;
        if (len + need >= cap) {
            char *grown = oti_realloc(text, (len + need) * 2);
            if (!grown) {
                free(text);
                return NULL;
            }
            text = grown;
            cap = (len + need) * 2;
        }
        len += (size_t)sprintf(text + len, "%s %s\n", kind, line);
    }
    return text;
}

ot_status oti_checkpoint_save(const trainer *t, const char *path) {
    ot_zip_writer w;
    OT_TRY(oti_zip_writer_open(&w, path));
    char *state = state_text(t), *trained = trained_text(t);
    ot_status status = state && trained ? OT_OK : OT_ERR_MEMORY;
    if (status == OT_OK) status = oti_zip_writer_add(&w, "state.txt", state, strlen(state), OT_ZIP_STORED);
    if (status == OT_OK) status = oti_zip_writer_add(&w, "trained.txt", trained, strlen(trained), OT_ZIP_STORED);
    free(state);
    free(trained);
    const ot_model *m = t->m;
    for (int v = 0; v < m->n_values && status == OT_OK; v++) {
        const ot_value *value = &m->values[v];
        if (value->kind != OT_VALUE_INITIALIZER || value->tensor.dtype != OT_FLOAT) continue;
        char *name = oti_asprintf("weights/%s.npy", value->name);
        if (!name) {
            status = OT_ERR_MEMORY;
            break;
        }
        status = add_npy(&w, name, &value->tensor);
        free(name);
    }
    for (int k = 0; k < t->optimizer->n_state && status == OT_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "optimizer/%d.npy", k);
        status = add_floats(&w, name, t->optimizer->state[k], t->optimizer->n);
    }
    if (status == OT_OK && t->has_best) {
        int64_t n = 0;
        for (int v = 0; v < m->n_values; v++)
            if (m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT)
                n += ot_tensor_numel(&m->values[v].tensor);
        status = add_floats(&w, "best.npy", t->best, n);
    }
    if (status != OT_OK) {
        oti_zip_writer_abort(&w);
        oti_error_prefix("checkpoint %s: ", path);
        return status;
    }
    return oti_zip_writer_finish(&w);
}

/* Loading --------------------------------------------------------------------------------- */

static ot_status read_entry(const ot_zip *zip, const char *name, const char *path, unsigned char **data,
                            size_t *size) {
    int i = oti_zip_find(zip, name);
    if (i < 0) return oti_fail(OT_ERR_FORMAT, "checkpoint %s has no %s", path, name);
    return oti_zip_extract(zip, i, data, size);
}

static ot_status read_floats(const ot_zip *zip, const char *name, const char *path, float *out, int64_t n) {
    unsigned char *data;
    size_t size;
    OT_TRY(read_entry(zip, name, path, &data, &size));
    ot_tensor t;
    ot_status status = oti_npy_parse(zip->context, data, size, name, &t);
    free(data);
    OT_TRY(status);
    if (t.dtype != OT_FLOAT || ot_tensor_numel(&t) != n)
        status = oti_fail(OT_ERR_INVALID, "checkpoint %s: %s holds %lld values, this run has %lld "
                         "(was it made with other flags or another model?)", path, name,
                         (long long)ot_tensor_numel(&t), (long long)n);
    else
        memcpy(out, t.data, sizeof(float) * (size_t)n);
    ot_tensor_free(&t);
    return status;
}

static ot_status parse_state(trainer *t, const char *text, const char *path) {
    int version = 0, has_best = 0;
    char kind[32] = {0}, position_kind[32] = {0};
    int64_t opt_step = 0, opt_n = 0;
    int got = sscanf(text,
                     "version %d\nepoch %" SCNd64 "\n%31s %" SCNd64 "\nstep %" SCNd64 "\n"
                     "rng %" SCNu64 " %" SCNu64 "\nepoch_rng %" SCNu64 " %" SCNu64 "\n"
                     "epoch_loss %lg %" SCNd64 " %" SCNd64 " %" SCNd64 "\nskipped %" SCNd64 "\n"
                     "schedule %lg %d %lg\nbest %lg %" SCNd64 " %" SCNd64 " %d\n"
                     "optimizer %31s %" SCNd64 " %" SCNd64 "\nlr %lg",
                     &version, &t->epoch, position_kind, &t->position, &t->step, &t->rng.state, &t->rng.increment,
                     &t->epoch_rng.state, &t->epoch_rng.increment, &t->epoch_tally.sum, &t->epoch_tally.items,
                     &t->epoch_tally.correct, &t->epoch_tally.scored, &t->skipped_batches,
                     &t->schedule.best, &t->schedule.wait, &t->schedule.scale, &t->best_val, &t->since_best,
                     &t->best_epoch, &has_best, kind, &opt_step, &opt_n, &t->lr);
    /* Version 2 counted whole batches of this run's size. */
    int known = (version == CHECKPOINT_VERSION && !strcmp(position_kind, "samples_in_epoch")) ||
                (version == 2 && !strcmp(position_kind, "batch_in_epoch"));
    if (got != 25 || !known)
        return oti_fail(OT_ERR_FORMAT, "checkpoint %s: state.txt is not a version 2 or %d checkpoint state",
                       path, CHECKPOINT_VERSION);
    if (version == 2) t->position = OT_MIN(t->position * t->config->batch, t->train_source.n);
    if (strcmp(kind, ot_optimizer_name(t->config->optimizer.kind)))
        return oti_fail(OT_ERR_INVALID, "checkpoint %s was made with the %s optimizer, this run uses %s",
                       path, kind, ot_optimizer_name(t->config->optimizer.kind));
    if (t->epoch < 1 || t->position < 0 || t->position > t->train_source.n || t->step < 0)
        return oti_fail(OT_ERR_FORMAT, "checkpoint %s: bad epoch or step", path);
    t->has_best = has_best && t->best;
    t->optimizer->step = opt_step;
    (void)opt_n;
    return OT_OK;
}

/* Restores which parameters are trained and which layers frozen, as when saved. */
static ot_status restore_trained(trainer *t, char *text, const char *path) {
    ot_model *m = t->m;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER) m->values[v].frozen = 1;
    for (int i = 0; i < m->n_layers; i++) m->layers[i].frozen = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "value ", 6)) {
            int v = ot_model_find_value(m, line + 6);
            if (v < 0 || m->values[v].kind != OT_VALUE_INITIALIZER)
                return oti_fail(OT_ERR_INVALID, "checkpoint %s trains '%s', which this model does not have", path, line + 6);
            m->values[v].frozen = 0;
        } else if (!strncmp(line, "frozen_layer ", 13)) {
            int i = ot_model_find_layer(m, line + 13);
            if (i < 0) return oti_fail(OT_ERR_INVALID, "checkpoint %s freezes layer '%s', which this model does not have", path, line + 13);
            m->layers[i].frozen = 1;
        }
    }
    return OT_OK;
}

ot_status oti_checkpoint_load(trainer *t, const char *path) {
    unsigned char *file;
    size_t file_size;
    OT_TRY(oti_read_file(path, 0, &file, &file_size));
    ot_zip zip;
    ot_status status = oti_zip_open(t->config->context, &zip, file, file_size, path);
    if (status != OT_OK) {
        free(file);
        return status;
    }
    unsigned char *state = NULL, *trained = NULL;
    size_t state_size, trained_size;
    status = read_entry(&zip, "state.txt", path, &state, &state_size);
    if (status == OT_OK) status = read_entry(&zip, "trained.txt", path, &trained, &trained_size);
    if (status == OT_OK) {
        char *text = oti_strndup((const char *)trained, trained_size);
        status = text ? restore_trained(t, text, path) : OT_ERR_MEMORY;
        free(text);
    }
    /* The trained set may differ from the start of the run (gradual unfreezing). */
    if (status == OT_OK) status = oti_trainer_prepare(t);
    if (status == OT_OK) {
        char *text = oti_strndup((const char *)state, state_size);
        status = text ? parse_state(t, text, path) : OT_ERR_MEMORY;
        free(text);
    }
    ot_model *m = t->m;
    for (int v = 0; v < m->n_values && status == OT_OK; v++) {
        ot_value *value = &m->values[v];
        if (value->kind != OT_VALUE_INITIALIZER || value->tensor.dtype != OT_FLOAT) continue;
        char *name = oti_asprintf("weights/%s.npy", value->name);
        status = name ? read_floats(&zip, name, path, value->tensor.data, ot_tensor_numel(&value->tensor))
                      : OT_ERR_MEMORY;
        free(name);
    }
    for (int k = 0; k < t->optimizer->n_state && status == OT_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "optimizer/%d.npy", k);
        status = read_floats(&zip, name, path, t->optimizer->state[k], t->optimizer->n);
    }
    if (status == OT_OK && t->has_best) {
        int64_t n = 0;
        for (int v = 0; v < m->n_values; v++)
            if (m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT)
                n += ot_tensor_numel(&m->values[v].tensor);
        status = read_floats(&zip, "best.npy", path, t->best, n);
    }
    free(state);
    free(trained);
    oti_zip_close(&zip);
    free(file);
    return status;
}
