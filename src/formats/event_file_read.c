/* TensorBoard event file reader: the epoch/ scalars of one file (one run) as the table the CSV
 * training log gives (formats/training_log.h), so a plot has one input whatever the log was.
 * Event protobufs through protobuf-c (proto/tensorboard.proto), whose structs stay in this file. */
#include "event_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/util.h"
#include "tensorboard.pb-c.h"

#define MAX_COLUMNS 64 /* epoch and the epoch/ tags */
#define EPOCH_PREFIX "epoch/"

/* One scalar: a value of a column at a step; seq keeps the file's order among equal steps. */
typedef struct scalar {
    int64_t step;
    size_t seq;
    int column;
    double value;
} scalar;

typedef struct reading {
    const char *name;      /* labels errors */
    oti_training_log *log; /* columns grow as tags appear; the values come last */
    scalar *scalars;
    size_t n_scalars, cap;
} reading;

static uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The column of an epoch/ tag (added when new), or -1 for other tags. train --tensorboard
 * says epoch/learning_rate where the CSV log says lr: the table uses the CSV's names. */
static ot_status column_of(reading *r, const char *tag, int *column) {
    *column = -1;
    if (!tag || strncmp(tag, EPOCH_PREFIX, strlen(EPOCH_PREFIX)) != 0) return OT_OK;
    const char *name = tag + strlen(EPOCH_PREFIX);
    if (!strcmp(name, "learning_rate")) name = "lr";
    if (!*name || !strcmp(name, "epoch")) return OT_OK;
    *column = oti_training_log_column(r->log, name);
    if (*column >= 0) return OT_OK;
    if (r->log->n_columns == MAX_COLUMNS)
        return oti_fail(OT_ERR_FORMAT, "%s: more than %d epoch/ tags", r->name, MAX_COLUMNS - 1);
    char *copy = oti_strdup(name);
    OT_ALLOC_CHECK(copy);
    *column = r->log->n_columns;
    r->log->columns[r->log->n_columns++] = copy;
    return OT_OK;
}

static ot_status add_scalar(reading *r, int64_t step, int column, double value) {
    if (r->n_scalars == r->cap) {
        size_t cap = OT_MAX((size_t)64, 2 * r->cap);
        scalar *grown = oti_realloc(r->scalars, cap * sizeof *grown);
        OT_ALLOC_CHECK(grown);
        r->scalars = grown;
        r->cap = cap;
    }
    r->scalars[r->n_scalars] = (scalar){step, r->n_scalars, column, value};
    r->n_scalars++;
    return OT_OK;
}

/* The epoch/ scalars of one record's Event; other events and values are not for plots. */
static ot_status add_event(reading *r, const unsigned char *data, size_t size, size_t offset) {
    Tensorboard__Event *event = tensorboard__event__unpack(NULL, size, data);
    if (!event)
        return oti_fail(OT_ERR_FORMAT, "%s: the record at offset %zu is not a TensorBoard event",
                        r->name, offset);
    ot_status status = OT_OK;
    Tensorboard__Summary *summary =
        event->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY ? event->summary : NULL;
    for (size_t i = 0; summary && i < summary->n_value && status == OT_OK; i++) {
        const Tensorboard__SummaryValue *v = summary->value[i];
        int column = -1;
        if (v->value_case == TENSORBOARD__SUMMARY_VALUE__VALUE_SIMPLE_VALUE)
            status = column_of(r, v->tag, &column);
        if (status == OT_OK && column >= 0)
            status = add_scalar(r, event->step, column, v->simple_value);
    }
    tensorboard__event__free_unpacked(event, NULL);
    return status;
}

/* Walks the TFRecords (uint64 length, its masked CRC-32C, the Event, the Event's masked
 * CRC-32C). As TensorBoard does, a record the file ends inside (a writer's append in progress)
 * and a whole last record failing its checksum are skipped; anything else failing a checksum
 * is damage, an error at its offset. */
static ot_status read_records(reading *r, const unsigned char *data, size_t size) {
    size_t at = 0;
    while (size - at >= 12) {
        if (get_le(data + at + 8, 4) != oti_crc32c_masked(data + at, 8))
            return oti_fail(OT_ERR_FORMAT,
                            "%s: the record at offset %zu has a wrong length checksum (damaged, or "
                            "not a TensorBoard event file)",
                            r->name, at);
        uint64_t length = get_le(data + at, 8);
        if (size - at < 16 || length > size - at - 16) return OT_OK; /* torn */
        const unsigned char *payload = data + at + 12;
        size_t end = at + 16 + (size_t)length;
        if (get_le(payload + length, 4) != oti_crc32c_masked(payload, (size_t)length)) {
            if (end == size) return OT_OK;
            return oti_fail(OT_ERR_FORMAT,
                            "%s: the record at offset %zu has a wrong data checksum (damaged)",
                            r->name, at);
        }
        OT_TRY(add_event(r, payload, (size_t)length, at));
        at = end;
    }
    return OT_OK;
}

static int by_step(const void *a, const void *b) {
    const scalar *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One row per step, in step order; NaN where a tag has no value at a step; of a tag written
 * twice at one step (a resumed run), the later value. */
static ot_status make_rows(reading *r) {
    oti_training_log *log = r->log;
    if (!r->n_scalars)
        return oti_fail(OT_ERR_FORMAT,
                        "%s: no epoch/ scalars (not a training log, or no epoch finished yet?)",
                        r->name);
    qsort(r->scalars, r->n_scalars, sizeof *r->scalars, by_step);
    size_t steps = 1;
    for (size_t i = 1; i < r->n_scalars; i++) steps += r->scalars[i].step != r->scalars[i - 1].step;
    log->values = oti_malloc(steps * (size_t)log->n_columns * sizeof(double));
    OT_ALLOC_CHECK(log->values);
    int64_t row = -1;
    for (size_t i = 0; i < r->n_scalars; i++) {
        const scalar *s = &r->scalars[i];
        if (!i || s->step != s[-1].step) {
            double *values = log->values + ++row * log->n_columns;
            for (int k = 0; k < log->n_columns; k++) values[k] = NAN;
            values[0] = (double)s->step;
        }
        log->values[row * log->n_columns + s->column] = s->value;
    }
    log->n_rows = row + 1;
    return OT_OK;
}

static ot_status parse(reading *r, const unsigned char *data, size_t size) {
    r->log->columns = oti_calloc(MAX_COLUMNS, sizeof(char *));
    OT_ALLOC_CHECK(r->log->columns);
    r->log->columns[0] = oti_strdup("epoch");
    OT_ALLOC_CHECK(r->log->columns[0]);
    r->log->n_columns = 1;
    OT_TRY(read_records(r, data, size));
    return make_rows(r);
}

ot_status oti_event_file_parse(const char *name, const unsigned char *data, size_t size,
                               oti_training_log *out) {
    memset(out, 0, sizeof *out);
    reading r = {name, out, NULL, 0, 0};
    ot_status status = parse(&r, data, size);
    free(r.scalars);
    if (status != OT_OK) oti_training_log_free(out);
    return status;
}
