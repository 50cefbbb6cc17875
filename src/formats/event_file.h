/* TensorBoard event files: TFRecord framing (length, masked CRC-32C of the length, an Event
 * protobuf, its masked CRC-32C) of scalar summaries, appended while training runs.
 *
 * A TensorBoard reading the folder during training must never see a torn record: records are
 * gathered in memory and appended with one write() per flush to a file opened O_APPEND, so a
 * reader sees whole records, or a trailing one cut short that it reads again later. Each run
 * writes its own new file (events.out.tfevents.<seconds>.<host>.<pid>), never an existing one. */
#ifndef ONNXTRAIN_EVENT_FILE_H
#define ONNXTRAIN_EVENT_FILE_H

#include <stdint.h>

#include "formats/training_log.h"
#include "onnxtrain/status.h"

typedef struct oti_event_writer oti_event_writer;

/* Creates dir (and its parents) and a new event file in it, holding the file-version record. */
ot_status oti_event_writer_open(const char *dir, oti_event_writer **out);
/* The event file's path. */
const char *oti_event_writer_path(const oti_event_writer *w);
/* Adds a scalar (tag, step, value) stamped with the current wall time, in memory until the
 * next flush. NaN values are left out (a series without them, e.g. no validation data). */
ot_status oti_event_writer_scalar(oti_event_writer *w, const char *tag, int64_t step, double value);
/* Appends what was added since the last flush in one write; sync: also fsync the file. */
ot_status oti_event_writer_flush(oti_event_writer *w, int sync);
/* Flushes (with fsync) and closes; the status of that flush. NULL is fine. */
ot_status oti_event_writer_close(oti_event_writer *w);

/* Reading (event_file_read.c): the epoch/ scalars of one event file as a training-log table,
 * the columns named as in the CSV log (epoch/train_loss -> train_loss, epoch/learning_rate ->
 * lr), one row per step (the epoch), NaN where a tag has no value at a step. A torn or damaged
 * last record is skipped, as TensorBoard does; damage before it is an error giving its offset.
 * name labels errors. On failure out is left empty. oti_training_log_read reads the files. */
ot_status oti_event_file_parse(const char *name, const unsigned char *data, size_t size, oti_training_log *out);

#endif
