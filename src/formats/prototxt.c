/* A byte-level reader for protocol buffers' text format: `name: value`, `name { ... }` (or
 * `name: { ... }`, `< ... >`), lists `name: [a, b]`, quoted strings with C escapes, numbers,
 * identifiers and `#` comments. Recursion is capped at OT_PROTOTXT_MAX_DEPTH and every read
 * is checked against the end of the text. Accessors are in prototxt_fields.c. */
#include "prototxt.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

typedef struct parser {
    const char *p, *end;
    const char *what;
    int line;
} parser;

static ot_status syntax_error(const parser *ps, const char *message) {
    return oti_fail(OT_ERR_FORMAT, "%s:%d: bad text format: %s", ps->what, ps->line, message);
}

/* Skips spaces, newlines (counting lines) and # comments. */
static void skip_space(parser *ps) {
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') ps->line++;
        if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n') ps->p++;
            continue;
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return;
        ps->p++;
    }
}

static int peek(parser *ps, char c) {
    skip_space(ps);
    return ps->p < ps->end && *ps->p == c;
}

static int is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Numbers and identifiers: 1, -2.5e-3, 0x1F, inf, MAX. */
static int is_word_char(char c) {
    return is_name_char(c) || c == '.' || c == '-' || c == '+';
}

void oti_prototxt_free(ot_prototxt_message *m) {
    for (int i = 0; i < m->count; i++) {
        free(m->fields[i].name);
        free(m->fields[i].text);
        oti_prototxt_free(&m->fields[i].message);
    }
    free(m->fields);
    memset(m, 0, sizeof *m);
}

/* A field name: letters, digits, underscores, starting with a letter or underscore. */
static ot_status read_name(parser *ps, char **out) {
    skip_space(ps);
    const char *start = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p)) ps->p++;
    if (ps->p == start || (*start >= '0' && *start <= '9')) {
        if (start < ps->end && *start == '[')
            return syntax_error(ps, "extensions and Any fields ([...]) are not supported");
        return syntax_error(ps, "expected a field name");
    }
    *out = oti_strndup(start, (size_t)(ps->p - start));
    return *out ? OT_OK : OT_ERR_MEMORY;
}

/* A number or identifier token: its text as written (numbers are parsed on use). */
static ot_status read_scalar(parser *ps, char **out) {
    skip_space(ps);
    const char *start = ps->p;
    while (ps->p < ps->end && is_word_char(*ps->p)) ps->p++;
    if (ps->p == start) return syntax_error(ps, "expected a value (number, identifier or string)");
    *out = oti_strndup(start, (size_t)(ps->p - start));
    return *out ? OT_OK : OT_ERR_MEMORY;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One escape after the backslash: \n \t \r \a \b \f \v \\ \' \" \? \NNN (octal) \xHH. */
static ot_status read_escape(parser *ps, unsigned char *out) {
    if (ps->p >= ps->end) return syntax_error(ps, "unterminated string");
    char c = *ps->p++;
    static const char from[] = "ntrabfv\\'\"?", to[] = "\n\t\r\a\b\f\v\\'\"?";
    const char *k = strchr(from, c);
    if (k && c) {
        *out = (unsigned char)to[k - from];
        return OT_OK;
    }
    unsigned v = 0;
    if (c >= '0' && c <= '7') {
        v = (unsigned)(c - '0');
        for (int i = 0; i < 2 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; i++)
            v = v * 8 + (unsigned)(*ps->p++ - '0');
    } else if (c == 'x' || c == 'X') {
        int digits = 0;
        for (; digits < 2 && ps->p < ps->end && hex_digit(*ps->p) >= 0; digits++)
            v = v * 16 + (unsigned)hex_digit(*ps->p++);
        if (!digits) return syntax_error(ps, "\\x needs a hex digit");
    } else {
        return syntax_error(ps, "unknown escape in a string");
    }
    if (v == 0 || v > 255) return syntax_error(ps, "strings may not contain a NUL byte");
    *out = (unsigned char)v;
    return OT_OK;
}

/* One quoted string ("..." or '...') appended to *buf (length *len). */
static ot_status read_quoted(parser *ps, char **buf, size_t *len) {
    char quote = *ps->p++;
    const char *start = ps->p;
    /* Escapes only shrink the text: the quoted bytes bound the result. */
    while (ps->p < ps->end && *ps->p != quote && *ps->p != '\n')
        ps->p += (*ps->p == '\\' && ps->p + 1 < ps->end) ? 2 : 1;
    if (ps->p >= ps->end || *ps->p != quote) return syntax_error(ps, "unterminated string");
    size_t span = (size_t)(ps->p - start);
    char *grown = oti_realloc(*buf, *len + span + 1);
    OT_ALLOC_CHECK(grown);
    *buf = grown;
    parser in = {start, ps->p, ps->what, ps->line};
    while (in.p < in.end) {
        unsigned char c = (unsigned char)*in.p++;
        if (c == '\\')
            OT_TRY(read_escape(&in, &c));
        else if (c == 0)
            return syntax_error(ps, "strings may not contain a NUL byte");
        grown[(*len)++] = (char)c;
    }
    grown[*len] = 0;
    ps->p++; /* the closing quote */
    return OT_OK;
}

/* Adjacent quoted strings are one value ("a" "b" == "ab"). */
static ot_status read_string(parser *ps, char **out) {
    char *buf = NULL;
    size_t len = 0;
    ot_status status = OT_OK;
    while (status == OT_OK && (peek(ps, '"') || peek(ps, '\'')))
        status = read_quoted(ps, &buf, &len);
    if (status != OT_OK) {
        free(buf);
        return status;
    }
    *out = buf;
    return OT_OK;
}

static ot_status parse_fields(parser *ps, int depth, char close, ot_prototxt_message *out);

static ot_status add_field(ot_prototxt_message *m, ot_prototxt_field **out) {
    OT_TRY(
        oti_grow_array((void **)&m->fields, &m->capacity, m->count + 1, sizeof(ot_prototxt_field)));
    *out = &m->fields[m->count++];
    memset(*out, 0, sizeof **out);
    return OT_OK;
}

/* The value after `name:` (or the `{` of a message): one field of m. */
static ot_status parse_value(parser *ps, int depth, const char *name, int line,
                             ot_prototxt_message *m) {
    ot_prototxt_field *f;
    char *copy = oti_strdup(name);
    OT_ALLOC_CHECK(copy);
    ot_status status = add_field(m, &f);
    if (status != OT_OK) {
        free(copy);
        return status;
    }
    f->name = copy;
    f->line = line;
    skip_space(ps);
    if (ps->p < ps->end && (*ps->p == '{' || *ps->p == '<')) {
        if (depth >= OT_PROTOTXT_MAX_DEPTH) return syntax_error(ps, "messages nested too deeply");
        char close = *ps->p++ == '{' ? '}' : '>';
        f->kind = OT_PROTOTXT_MESSAGE;
        return parse_fields(ps, depth + 1, close, &f->message);
    }
    if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
        f->kind = OT_PROTOTXT_STRING;
        return read_string(ps, &f->text);
    }
    f->kind = OT_PROTOTXT_SCALAR;
    return read_scalar(ps, &f->text);
}

/* `name: [v, v, ...]`: one field per item. */
static ot_status parse_list(parser *ps, int depth, const char *name, ot_prototxt_message *m) {
    ps->p++; /* [ */
    if (peek(ps, ']')) {
        ps->p++;
        return OT_OK;
    }
    for (;;) {
        OT_TRY(parse_value(ps, depth, name, ps->line, m));
        if (peek(ps, ']')) {
            ps->p++;
            return OT_OK;
        }
        if (!peek(ps, ',')) return syntax_error(ps, "expected ',' or ']' in a list");
        ps->p++;
    }
}

/* Fields until `close` ('}' or '>') or, at the top (close 0), the end of the text. */
static ot_status parse_fields(parser *ps, int depth, char close, ot_prototxt_message *out) {
    for (;;) {
        skip_space(ps);
        if (ps->p >= ps->end) {
            if (close) return syntax_error(ps, close == '}' ? "missing '}'" : "missing '>'");
            return OT_OK;
        }
        if (*ps->p == close && close) {
            ps->p++;
            return OT_OK;
        }
        char *name = NULL;
        int line = ps->line;
        OT_TRY(read_name(ps, &name));
        int colon = peek(ps, ':');
        if (colon) ps->p++;
        ot_status status;
        if (peek(ps, '['))
            status = parse_list(ps, depth, name, out);
        else if (!colon && !peek(ps, '{') && !peek(ps, '<'))
            status = syntax_error(ps, "expected ':' or '{' after a field name");
        else
            status = parse_value(ps, depth, name, line, out);
        free(name);
        OT_TRY(status);
        if (peek(ps, ',') || peek(ps, ';')) ps->p++;
    }
}

ot_status oti_prototxt_parse(const char *text, size_t len, const char *what,
                             ot_prototxt_message *out) {
    memset(out, 0, sizeof *out);
    parser ps = {text, text + len, what, 1};
    ot_status status = parse_fields(&ps, 0, 0, out);
    if (status != OT_OK) oti_prototxt_free(out);
    return status;
}
