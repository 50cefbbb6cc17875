/* Protocol buffers' text format (what Caffe's .prototxt files are written in), read into a
 * tree of fields without a schema: the reader (src/caffe) gives fields their meaning. Field
 * order is kept; a message may repeat a field. */
#ifndef OT_FORMATS_PROTOTXT_H
#define OT_FORMATS_PROTOTXT_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/status.h"

/* Nesting deeper than this is an error (Caffe's files nest three or four levels). */
#define OT_PROTOTXT_MAX_DEPTH 64

typedef enum ot_prototxt_kind {
    OT_PROTOTXT_SCALAR, /* a number or an identifier (enum value, true/false): its text */
    OT_PROTOTXT_STRING, /* a quoted string, escapes resolved (adjacent strings joined) */
    OT_PROTOTXT_MESSAGE
} ot_prototxt_kind;

typedef struct ot_prototxt_field ot_prototxt_field;

typedef struct ot_prototxt_message {
    ot_prototxt_field *fields;
    int count, capacity;
} ot_prototxt_message;

struct ot_prototxt_field {
    char *name;
    int line; /* 1-based, for messages */
    ot_prototxt_kind kind;
    char *text; /* SCALAR and STRING, NUL-terminated (strings with a NUL byte are refused) */
    ot_prototxt_message message;
};

/* Parses text[0..len) as one message's fields. `what` names the source in messages
 * ("deploy.prototxt"). On success *out holds the fields (free with oti_prototxt_free). */
ot_status oti_prototxt_parse(const char *text, size_t len, const char *what,
                             ot_prototxt_message *out);
void oti_prototxt_free(ot_prototxt_message *m);

/* The k-th field called name (0-based), or NULL. */
const ot_prototxt_field *oti_prototxt_find(const ot_prototxt_message *m, const char *name, int k);
int oti_prototxt_count(const ot_prototxt_message *m, const char *name);

/* Scalar values of a field; `what` prefixes the error ("deploy.prototxt: layer 'conv1'").
 * Integers must be whole numbers in range, booleans true/false/1/0 (any case for the words),
 * floats may be inf/nan. Enum values are read as the field's text (SCALAR). */
ot_status oti_prototxt_int(const ot_prototxt_field *f, const char *what, int64_t *out);
ot_status oti_prototxt_float(const ot_prototxt_field *f, const char *what, double *out);
ot_status oti_prototxt_bool(const ot_prototxt_field *f, const char *what, int *out);
/* A quoted string (STRING) or an identifier (SCALAR), by kind, with the wrong kind an error. */
ot_status oti_prototxt_string(const ot_prototxt_field *f, const char *what, const char **out);
ot_status oti_prototxt_identifier(const ot_prototxt_field *f, const char *what, const char **out);

/* The field once, or its default when absent; given twice is an error. */
ot_status oti_prototxt_get_int(const ot_prototxt_message *m, const char *name, int64_t fallback,
                               const char *what, int64_t *out);
ot_status oti_prototxt_get_float(const ot_prototxt_message *m, const char *name, double fallback,
                                 const char *what, double *out);
ot_status oti_prototxt_get_bool(const ot_prototxt_message *m, const char *name, int fallback,
                                const char *what, int *out);
/* Enum fields: the identifier, or fallback when absent. */
ot_status oti_prototxt_get_enum(const ot_prototxt_message *m, const char *name,
                                const char *fallback, const char *what, const char **out);
/* A sub-message field once (NULL when absent). */
ot_status oti_prototxt_get_message(const ot_prototxt_message *m, const char *name, const char *what,
                                   const ot_prototxt_message **out);

#endif
