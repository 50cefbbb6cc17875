/* CSV datasets: one sample per line, the class label in the first column, features after.
 * A first line that is not numeric is taken as a header and skipped. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "loaders.h"
#include "onnxtrain/dataset.h"
#include "core/file_io.h"

/* Parses one line into values; returns the count or -1 on a bad field. */
static int64_t parse_line(char *line, double *values, int64_t capacity) {
    int64_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v)) return -1;
        if (n < capacity) values[n] = v;
        n++;
        p = end;
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (*p == ',' || *p == ';') {
            p++;
            continue;
        }
        if (*p == '\0' || *p == '\n') return n;
        return -1;
    }
}

ot_status oti_dataset_from_csv(const char *path, ot_dataset *d) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_read_file(path, (size_t)4 << 30, &data, &size));
    char *text = oti_strndup((const char *)data, size);
    free(data);
    OT_ALLOC_CHECK(text);
    int64_t columns = -1, rows = 0, capacity_rows = 1024;
    double *row = NULL;
    float *x = NULL;
    int64_t *labels = NULL;
    ot_status status = OT_OK;
    int64_t line_number = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_number++;
        char *trimmed = line;
        while (*trimmed == ' ' || *trimmed == '\t' || *trimmed == '\r') trimmed++;
        if (!*trimmed) continue;
        if (columns < 0) {
            /* Count the fields of the first data line. */
            int64_t n = 1;
            for (char *p = trimmed; *p; p++) n += *p == ',' || *p == ';';
            row = oti_malloc(sizeof(double) * (size_t)n);
            if (!row) {
                status = OT_ERR_MEMORY;
                break;
            }
            int64_t got = parse_line(trimmed, row, n);
            if (got < 0 && line_number == 1) { /* header */
                free(row);
                row = NULL;
                continue;
            }
            if (got < 2) {
                status = oti_fail(OT_ERR_FORMAT, "%s:%lld: expected a label and at least one "
                                 "feature, separated by commas", path, (long long)line_number);
                break;
            }
            columns = got;
            x = oti_malloc(sizeof(float) * (size_t)(capacity_rows * (columns - 1)));
            labels = oti_malloc(sizeof(int64_t) * (size_t)capacity_rows);
            if (!x || !labels) {
                status = OT_ERR_MEMORY;
                break;
            }
        }
        int64_t got = parse_line(trimmed, row, columns);
        if (got != columns) {
            status = oti_fail(OT_ERR_FORMAT, "%s:%lld: %s (expected %lld numeric fields)", path,
                             (long long)line_number, got < 0 ? "a field is not a number" : "wrong field count",
                             (long long)columns);
            break;
        }
        if (row[0] < 0 || row[0] != floor(row[0]) || row[0] > 1e9) {
            status = oti_fail(OT_ERR_FORMAT, "%s:%lld: label %g is not a class number (0, 1, 2, ...)",
                             path, (long long)line_number, row[0]);
            break;
        }
        if (rows == capacity_rows) {
            capacity_rows *= 2;
            void *grown = oti_realloc(x, sizeof(float) * (size_t)(capacity_rows * (columns - 1)));
            if (grown) x = grown;
            void *grown_labels = grown ? oti_realloc(labels, sizeof(int64_t) * (size_t)capacity_rows) : NULL;
            if (grown_labels) labels = grown_labels;
            if (!grown || !grown_labels) {
                status = OT_ERR_MEMORY;
                break;
            }
        }
        labels[rows] = (int64_t)row[0];
        for (int64_t j = 1; j < columns; j++) x[rows * (columns - 1) + j - 1] = (float)row[j];
        rows++;
    }
    free(text);
    free(row);
    if (status == OT_OK && rows == 0) status = oti_fail(OT_ERR_FORMAT, "%s: no samples", path);
    if (status != OT_OK) {
        free(x);
        free(labels);
        return status;
    }
    d->n = rows;
    d->sample_ndim = 1;
    d->sample_dims[0] = columns - 1;
    d->sample_size = columns - 1;
    d->x = x;
    d->labels = labels;
    return OT_OK;
}
