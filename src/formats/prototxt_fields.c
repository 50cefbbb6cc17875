/* Reading the fields of a parsed text-format message (prototxt.h): lookups by name and
 * checked conversions of scalar text to integers, floats and booleans, with errors that name
 * the field, its line and what it belongs to. */
#include "prototxt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

const ot_prototxt_field *oti_prototxt_find(const ot_prototxt_message *m, const char *name, int k) {
    for (int i = 0; m && i < m->count; i++)
        if (!strcmp(m->fields[i].name, name) && k-- == 0) return &m->fields[i];
    return NULL;
}

int oti_prototxt_count(const ot_prototxt_message *m, const char *name) {
    int n = 0;
    for (int i = 0; m && i < m->count; i++) n += !strcmp(m->fields[i].name, name);
    return n;
}

static ot_status wrong(const ot_prototxt_field *f, const char *what, const char *expected) {
    return oti_fail(OT_ERR_FORMAT, "%s: field '%s' (line %d) must be %s, not '%s'", what, f->name,
                    f->line, expected, f->kind == OT_PROTOTXT_MESSAGE ? "{...}" : f->text);
}

ot_status oti_prototxt_int(const ot_prototxt_field *f, const char *what, int64_t *out) {
    if (f->kind != OT_PROTOTXT_SCALAR) return wrong(f, what, "an integer");
    char *end;
    errno = 0;
    long long v = strtoll(f->text, &end, 0);
    if (end == f->text || *end || errno) return wrong(f, what, "an integer");
    *out = v;
    return OT_OK;
}

ot_status oti_prototxt_float(const ot_prototxt_field *f, const char *what, double *out) {
    if (f->kind != OT_PROTOTXT_SCALAR) return wrong(f, what, "a number");
    const char *t = f->text;
    int negative = *t == '-';
    const char *word = t + negative;
    if (!strcasecmp(word, "inf") || !strcasecmp(word, "infinity")) {
        *out = negative ? -INFINITY : INFINITY;
        return OT_OK;
    }
    if (!strcasecmp(word, "nan")) {
        *out = NAN;
        return OT_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (end != t && (*end == 'f' || *end == 'F') && end[1] == 0) end++; /* 1.5f */
    if (end == t || *end || (errno && fabs(v) > 1.0)) return wrong(f, what, "a number");
    *out = v;
    return OT_OK;
}

ot_status oti_prototxt_bool(const ot_prototxt_field *f, const char *what, int *out) {
    if (f->kind == OT_PROTOTXT_SCALAR) {
        if (!strcasecmp(f->text, "true") || !strcmp(f->text, "1") || !strcmp(f->text, "t")) {
            *out = 1;
            return OT_OK;
        }
        if (!strcasecmp(f->text, "false") || !strcmp(f->text, "0") || !strcmp(f->text, "f")) {
            *out = 0;
            return OT_OK;
        }
    }
    return wrong(f, what, "true or false");
}

ot_status oti_prototxt_string(const ot_prototxt_field *f, const char *what, const char **out) {
    if (f->kind != OT_PROTOTXT_STRING) return wrong(f, what, "a quoted string");
    *out = f->text;
    return OT_OK;
}

ot_status oti_prototxt_identifier(const ot_prototxt_field *f, const char *what, const char **out) {
    if (f->kind != OT_PROTOTXT_SCALAR) return wrong(f, what, "a name (an enum value)");
    *out = f->text;
    return OT_OK;
}

/* The field named `name` if given once, NULL if absent; twice is an error. */
static ot_status single(const ot_prototxt_message *m, const char *name, const char *what,
                        const ot_prototxt_field **out) {
    *out = oti_prototxt_find(m, name, 0);
    const ot_prototxt_field *again = oti_prototxt_find(m, name, 1);
    if (again)
        return oti_fail(OT_ERR_FORMAT, "%s: field '%s' is given twice (lines %d and %d)", what,
                        name, (*out)->line, again->line);
    return OT_OK;
}

ot_status oti_prototxt_get_int(const ot_prototxt_message *m, const char *name, int64_t fallback,
                               const char *what, int64_t *out) {
    const ot_prototxt_field *f;
    OT_TRY(single(m, name, what, &f));
    *out = fallback;
    return f ? oti_prototxt_int(f, what, out) : OT_OK;
}

ot_status oti_prototxt_get_float(const ot_prototxt_message *m, const char *name, double fallback,
                                 const char *what, double *out) {
    const ot_prototxt_field *f;
    OT_TRY(single(m, name, what, &f));
    *out = fallback;
    return f ? oti_prototxt_float(f, what, out) : OT_OK;
}

ot_status oti_prototxt_get_bool(const ot_prototxt_message *m, const char *name, int fallback,
                                const char *what, int *out) {
    const ot_prototxt_field *f;
    OT_TRY(single(m, name, what, &f));
    *out = fallback;
    return f ? oti_prototxt_bool(f, what, out) : OT_OK;
}

ot_status oti_prototxt_get_enum(const ot_prototxt_message *m, const char *name,
                                const char *fallback, const char *what, const char **out) {
    const ot_prototxt_field *f;
    OT_TRY(single(m, name, what, &f));
    *out = fallback;
    return f ? oti_prototxt_identifier(f, what, out) : OT_OK;
}

ot_status oti_prototxt_get_message(const ot_prototxt_message *m, const char *name, const char *what,
                                   const ot_prototxt_message **out) {
    const ot_prototxt_field *f;
    OT_TRY(single(m, name, what, &f));
    *out = NULL;
    if (!f) return OT_OK;
    if (f->kind != OT_PROTOTXT_MESSAGE) return wrong(f, what, "a message { ... }");
    *out = &f->message;
    return OT_OK;
}
