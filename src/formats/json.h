/* A small strict JSON parser (RFC 8259) for safetensors headers: the whole text must be one
 * value, strings must be valid UTF-8, objects may not repeat a key, nesting is limited.
 * Object members keep their file order. */
#ifndef OT_WEIGHTS_JSON_H
#define OT_WEIGHTS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/status.h"

typedef enum ot_json_type {
    OT_JSON_NULL,
    OT_JSON_BOOL,
    OT_JSON_NUMBER,
    OT_JSON_STRING,
    OT_JSON_ARRAY,
    OT_JSON_OBJECT
} ot_json_type;

typedef struct ot_json {
    ot_json_type type;
    int boolean;
    double number;
    /* Set when the number is written as a plain non-negative integer that fits in 64 bits;
     * offsets and dims are read from here, exactly. */
    int is_uint;
    uint64_t uint_value;
    char *string; /* NUL-terminated; \u0000 is refused so C strings are whole */
    size_t string_len;
    int count;           /* array items / object members */
    struct ot_json *items;
    char **keys;         /* objects: keys[i] names items[i] */
} ot_json;

/* Parses text[0..len). `what` names the source in messages ("x.safetensors: JSON header").
 * On success *out is a new tree (free with oti_json_free). */
ot_status oti_json_parse(const char *text, size_t len, const char *what, ot_json **out);
void oti_json_free(ot_json *json);
/* The member named key of an object, or NULL. */
const ot_json *oti_json_get(const ot_json *object, const char *key);
const char *oti_json_type_name(ot_json_type type);

/* Growing text buffer for writing JSON. */
typedef struct ot_json_writer {
    char *text;
    size_t len, cap;
    int failed; /* memory ran out: later appends do nothing; the user checks this at the end */
} ot_json_writer;

void oti_json_append(ot_json_writer *w, const char *text);
/* Appends s as a quoted JSON string; fails (naming `what`) if s is not valid UTF-8. */
ot_status oti_json_append_string(ot_json_writer *w, const char *s, const char *what);

#endif
