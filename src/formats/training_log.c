/* The CSV training log reader: one header line, rows of numbers with as many fields; lines end
 * in \n or \r\n; a line holding only whitespace ends the table. Bounds keep a corrupt file from
 * asking for more memory than its own size. */
#include "training_log.h"

#include <string.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "core/util.h"
#include "formats/event_file.h"

#define MAX_COLUMNS 64
#define MAX_FIELD 64
#define MAX_LOG_BYTES ((size_t)64 << 20)
/* An event file has a record per training step too: ~40 bytes each, allocations bounded by it. */
#define MAX_EVENT_FILE_BYTES ((size_t)256 << 20)

/* The next line of text from *at (without its end of line); NULL at the end. */
static const char *next_line(const char *text, size_t size, size_t *at, size_t *len) {
    if (*at >= size) return NULL;
    const char *start = text + *at, *nl = memchr(start, '\n', size - *at);
    size_t n = nl ? (size_t)(nl - start) : size - *at;
    *at += n + (nl ? 1 : 0);
    if (n && start[n - 1] == '\r') n--;
    *len = n;
    return start;
}

/* Splits a line at commas into fields copied to fields[k] (at most MAX_FIELD - 1 bytes each);
 * returns the number of fields, or -1 when there are too many or one is too long. */
static int split_fields(const char *line, size_t len, char fields[MAX_COLUMNS][MAX_FIELD]) {
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ',') continue;
        if (n == MAX_COLUMNS || i - start >= MAX_FIELD) return -1;
        memcpy(fields[n], line + start, i - start);
        fields[n++][i - start] = '\0';
        start = i + 1;
    }
    return n;
}

static int blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t') return 0;
    return 1;
}

static ot_status read_header(const char *name, const char *line, size_t len, oti_training_log *log) {
    char fields[MAX_COLUMNS][MAX_FIELD];
    int n = split_fields(line, len, fields);
    if (n < 2) return oti_fail(OT_ERR_FORMAT, "%s: the first line should name the columns (epoch,train_loss,...)", name);
    log->columns = oti_calloc((size_t)n, sizeof(char *));
    OT_ALLOC_CHECK(log->columns);
    log->n_columns = n;
    for (int k = 0; k < n; k++) {
        log->columns[k] = oti_strdup(fields[k]);
        OT_ALLOC_CHECK(log->columns[k]);
    }
    if (oti_training_log_column(log, "epoch") < 0)
        return oti_fail(OT_ERR_FORMAT, "%s: no 'epoch' column in the header line (is it a training log?)", name);
    return OT_OK;
}

static ot_status read_row(const char *name, int64_t row, const char *line, size_t len, oti_training_log *log) {
    char fields[MAX_COLUMNS][MAX_FIELD];
    int n = split_fields(line, len, fields);
    if (n != log->n_columns)
        return oti_fail(OT_ERR_FORMAT, "%s: line %lld has %d fields, the header %d", name, (long long)row + 2, n,
                       log->n_columns);
    double *values = log->values + row * log->n_columns;
    for (int k = 0; k < n; k++)
        if (!oti_parse_double(fields[k], &values[k]))
            return oti_fail(OT_ERR_FORMAT, "%s: line %lld, column '%s': '%s' is not a number", name,
                           (long long)row + 2, log->columns[k], fields[k]);
    return OT_OK;
}

static ot_status parse(const char *name, const char *text, size_t size, oti_training_log *log) {
    size_t at = 0, len = 0;
    const char *line = next_line(text, size, &at, &len);
    if (!line) return oti_fail(OT_ERR_FORMAT, "%s: empty file", name);
    OT_TRY(read_header(name, line, len, log));
    /* Rows are at most one per remaining line: size bounds the allocation. */
    int64_t most = 1;
    for (size_t i = at; i < size; i++) most += text[i] == '\n';
    log->values = oti_malloc(sizeof(double) * (size_t)(most * log->n_columns));
    OT_ALLOC_CHECK(log->values);
    while ((line = next_line(text, size, &at, &len)) && !blank(line, len)) {
        OT_TRY(read_row(name, log->n_rows, line, len, log));
        log->n_rows++;
    }
    if (!log->n_rows) return oti_fail(OT_ERR_FORMAT, "%s: no rows after the header (no epoch finished yet?)", name);
    return OT_OK;
}

ot_status oti_training_log_parse(const char *name, const char *text, size_t size, oti_training_log *out) {
    memset(out, 0, sizeof *out);
    ot_status status = parse(name, text, size, out);
    if (status != OT_OK) oti_training_log_free(out);
    return status;
}

int oti_training_log_is_event_file(const char *path) { return strstr(oti_path_base(path), "tfevents") != NULL; }

ot_status oti_training_log_read(const char *path, oti_training_log *out) {
    memset(out, 0, sizeof *out);
    unsigned char *data;
    size_t size;
    int events = oti_training_log_is_event_file(path);
    OT_TRY(oti_read_file(path, events ? MAX_EVENT_FILE_BYTES : MAX_LOG_BYTES, &data, &size));
    ot_status status = events ? oti_event_file_parse(path, data, size, out)
                              : oti_training_log_parse(path, (const char *)data, size, out);
    free(data);
    return status;
}

void oti_training_log_free(oti_training_log *log) {
    for (int k = 0; k < log->n_columns && log->columns; k++) free(log->columns[k]);
    free(log->columns);
    free(log->values);
    memset(log, 0, sizeof *log);
}

int oti_training_log_column(const oti_training_log *log, const char *name) {
    for (int k = 0; k < log->n_columns; k++)
        if (log->columns[k] && !strcmp(log->columns[k], name)) return k;
    return -1;
}
