/* Strict recursive-descent JSON parser. Recursion depth is capped so hostile nesting cannot
 * exhaust the stack; every read is checked against the end of the text. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define JSON_MAX_DEPTH 64

typedef struct parser {
    const unsigned char *p, *start, *end;
    const char *what;
} parser;

static ot_status syntax_error(const parser *ps, const char *message) {
    return oti_fail(OT_ERR_FORMAT, "%s: bad JSON at byte %zu: %s", ps->what,
                   (size_t)(ps->p - ps->start), message);
}

static void skip_space(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(unsigned char *dst, unsigned cp) {
    if (cp < 0x80) {
        dst[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (unsigned char)(0xC0 | cp >> 6);
        dst[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (unsigned char)(0xE0 | cp >> 12);
        dst[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        dst[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (unsigned char)(0xF0 | cp >> 18);
    dst[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    dst[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    dst[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (no overlongs, no surrogates, <= U+10FFFF), 0 if
 * invalid. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Parses a string starting at the opening quote into a new NUL-terminated buffer. */
static ot_status parse_string(parser *ps, char **out, size_t *out_len) {
    ps->p++; /* opening quote */
    /* The decoded text is never longer than the source text. */
    const unsigned char *scan = ps->p;
    while (scan < ps->end && *scan != '"') scan += (*scan == '\\' && scan + 1 < ps->end) ? 2 : 1;
    if (scan >= ps->end) return syntax_error(ps, "unterminated string");
    unsigned char *buf = oti_malloc((size_t)(scan - ps->p) + 1);
    OT_ALLOC_CHECK(buf);
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end) {
            free(buf);
            return syntax_error(ps, "unterminated string");
        }
        unsigned c = *ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20) {
            free(buf);
            return syntax_error(ps, "control character in string");
        }
        if (c != '\\') {
            size_t len = utf8_sequence(ps->p, ps->end);
            if (!len) {
                free(buf);
                return syntax_error(ps, "invalid UTF-8 in string");
            }
            memcpy(buf + n, ps->p, len);
            n += len;
            ps->p += len;
            continue;
        }
        if (ps->end - ps->p < 2) {
            free(buf);
            return syntax_error(ps, "unterminated escape");
        }
        unsigned e = ps->p[1];
        ps->p += 2;
        const char *simple = strchr("\"\\/bfnrt", (int)e);
        if (e && simple) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            buf[n++] = (unsigned char)decoded[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned cp;
        if (e != 'u' || ps->end - ps->p < 4 || !hex4(ps->p, &cp)) {
            ps->p -= 2;
            free(buf);
            return syntax_error(ps, "bad escape in string");
        }
        ps->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* high surrogate: a low one must follow */
            unsigned low;
            if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                !hex4(ps->p + 2, &low) || low < 0xDC00 || low > 0xDFFF) {
                free(buf);
                return syntax_error(ps, "unpaired surrogate in \\u escape");
            }
            ps->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return syntax_error(ps, "unpaired surrogate in \\u escape");
        }
        if (cp == 0) {
            free(buf);
            return syntax_error(ps, "\\u0000 in a string is not supported");
        }
        /* An escape (6 or 12 source bytes) never decodes to more bytes than it used. */
        n += put_utf8(buf + n, cp);
    }
    buf[n] = 0;
    *out = (char *)buf;
    *out_len = n;
    return OT_OK;
}

static ot_status parse_number(parser *ps, ot_json *v) {
    const unsigned char *begin = ps->p;
    int integer = 1, negative = 0;
    if (ps->p < ps->end && *ps->p == '-') {
        negative = 1;
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return syntax_error(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
        if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            return syntax_error(ps, "leading zero in number");
    } else {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && *ps->p == '.') {
        integer = 0;
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return syntax_error(ps, "digit expected after '.'");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integer = 0;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return syntax_error(ps, "digit expected in exponent");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    char *text = oti_strndup((const char *)begin, (size_t)(ps->p - begin));
    OT_ALLOC_CHECK(text);
    v->type = OT_JSON_NUMBER;
    v->number = strtod(text, NULL);
    free(text);
    if (integer && !negative) {
        uint64_t u = 0;
        int fits = 1;
        for (const unsigned char *d = begin; d < ps->p; d++) {
            unsigned digit = (unsigned)(*d - '0');
            if (u > (UINT64_MAX - digit) / 10) fits = 0;
            u = u * 10 + digit;
        }
        v->is_uint = fits;
        v->uint_value = fits ? u : 0;
    }
    return OT_OK;
}

static ot_status parse_value(parser *ps, ot_json *v, int depth);

static int compare_keys(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorting a copy keeps the check O(n log n): a header may hold very many keys. */
static ot_status check_unique_keys(const parser *ps, const ot_json *v) {
    if (v->count < 2) return OT_OK;
    char **sorted = oti_malloc(sizeof(char *) * (size_t)v->count);
    OT_ALLOC_CHECK(sorted);
    memcpy(sorted, v->keys, sizeof(char *) * (size_t)v->count);
    qsort(sorted, (size_t)v->count, sizeof(char *), compare_keys);
    ot_status status = OT_OK;
    for (int i = 1; i < v->count && status == OT_OK; i++)
        if (!strcmp(sorted[i - 1], sorted[i]))
            status = oti_fail(OT_ERR_FORMAT, "%s: bad JSON: key '%s' appears twice", ps->what,
                             sorted[i]);
    free(sorted);
    return status;
}

static ot_status parse_container(parser *ps, ot_json *v, int depth, int object) {
    if (depth >= JSON_MAX_DEPTH) return syntax_error(ps, "nesting too deep");
    v->type = object ? OT_JSON_OBJECT : OT_JSON_ARRAY;
    ps->p++;
    int capacity = 0;
    int key_capacity = 0;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        return OT_OK;
    }
    for (;;) {
        skip_space(ps);
        char *key = NULL;
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') return syntax_error(ps, "object key expected");
            size_t key_len;
            OT_TRY(parse_string(ps, &key, &key_len));
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return syntax_error(ps, "':' expected after object key");
            }
            ps->p++;
            skip_space(ps);
        }
        if (oti_grow_array((void **)&v->items, &capacity, v->count + 1, sizeof(ot_json)) != OT_OK ||
            (object && oti_grow_array((void **)&v->keys, &key_capacity, v->count + 1, sizeof(char *)) != OT_OK)) {
            free(key);
            return OT_ERR_MEMORY;
        }
        if (object) v->keys[v->count] = key;
        memset(&v->items[v->count], 0, sizeof(ot_json));
        v->count++; /* counted before parsing so a failure frees what was built */
        OT_TRY(parse_value(ps, &v->items[v->count - 1], depth + 1));
        skip_space(ps);
        if (ps->p >= ps->end) return syntax_error(ps, object ? "unterminated object" : "unterminated array");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == (object ? '}' : ']')) {
            ps->p++;
            return object ? check_unique_keys(ps, v) : OT_OK;
        }
        return syntax_error(ps, object ? "',' or '}' expected" : "',' or ']' expected");
    }
}

static ot_status parse_value(parser *ps, ot_json *v, int depth) {
    skip_space(ps);
    if (ps->p >= ps->end) return syntax_error(ps, "value expected");
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, 1);
    case '[': return parse_container(ps, v, depth, 0);
    case '"':
        v->type = OT_JSON_STRING;
        return parse_string(ps, &v->string, &v->string_len);
    case 't':
    case 'f':
    case 'n':
        if (literal(ps, "true")) v->type = OT_JSON_BOOL, v->boolean = 1;
        else if (literal(ps, "false")) v->type = OT_JSON_BOOL, v->boolean = 0;
        else if (literal(ps, "null")) v->type = OT_JSON_NULL;
        else return syntax_error(ps, "unknown literal");
        return OT_OK;
    default: return parse_number(ps, v);
    }
}

static void free_contents(ot_json *v) {
    for (int i = 0; i < v->count; i++) {
        free_contents(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
}

ot_status oti_json_parse(const char *text, size_t len, const char *what, ot_json **out) {
    *out = NULL;
    parser ps = {(const unsigned char *)text, (const unsigned char *)text,
                 (const unsigned char *)text + len, what};
    ot_json *root = oti_calloc(1, sizeof *root);
    OT_ALLOC_CHECK(root);
    ot_status status = parse_value(&ps, root, 0);
    if (status == OT_OK) {
        skip_space(&ps);
        if (ps.p != ps.end) status = syntax_error(&ps, "text after the end of the value");
    }
    if (status != OT_OK) {
        oti_json_free(root);
        return status;
    }
    *out = root;
    return OT_OK;
}

void oti_json_free(ot_json *json) {
    if (!json) return;
    free_contents(json);
    free(json);
}

const ot_json *oti_json_get(const ot_json *object, const char *key) {
    if (!object || object->type != OT_JSON_OBJECT) return NULL;
    for (int i = 0; i < object->count; i++)
        if (!strcmp(object->keys[i], key)) return &object->items[i];
    return NULL;
}

const char *oti_json_type_name(ot_json_type type) {
    switch (type) {
    case OT_JSON_NULL: return "null";
    case OT_JSON_BOOL: return "a boolean";
    case OT_JSON_NUMBER: return "a number";
    case OT_JSON_STRING: return "a string";
    case OT_JSON_ARRAY: return "an array";
    case OT_JSON_OBJECT: return "an object";
    }
    return "?";
}

/* Writing ------------------------------------------------------------------------------- */

static void append_bytes(ot_json_writer *w, const char *text, size_t n) {
    if (w->failed) return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = OT_MAX(w->len + n + 1, w->cap * 2 + 256);
        char *grown = oti_realloc(w->text, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->text = grown;
        w->cap = cap;
    }
    memcpy(w->text + w->len, text, n);
    w->len += n;
    w->text[w->len] = 0;
}

void oti_json_append(ot_json_writer *w, const char *text) { append_bytes(w, text, strlen(text)); }

ot_status oti_json_append_string(ot_json_writer *w, const char *s, const char *what) {
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    append_bytes(w, "\"", 1);
    while (p < end) {
        if (*p == '"' || *p == '\\') {
            char escaped[2] = {'\\', (char)*p};
            append_bytes(w, escaped, 2);
            p++;
        } else if (*p < 0x20) {
            char escaped[8];
            snprintf(escaped, sizeof escaped, "\\u%04x", *p);
            append_bytes(w, escaped, 6);
            p++;
        } else {
            size_t len = utf8_sequence(p, end);
            if (!len) return oti_fail(OT_ERR_INVALID, "%s: name '%s' is not valid UTF-8", what, s);
            append_bytes(w, (const char *)p, len);
            p += len;
        }
    }
    append_bytes(w, "\"", 1);
    return OT_OK;
}
