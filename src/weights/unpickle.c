/* The pickle stack machine (CPython Lib/pickle.py, protocol 2-5 opcodes), restricted to
 * building data. Every operand length is checked against the end of the stream, memo
 * indices are bounded by the stream's size, and each opcode allocates O(1) values, so a
 * hostile pickle costs at most memory proportional to its size and never runs code. */
#include "unpickle.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"

struct pickle_machine {
    const unsigned char *data, *p, *end;
    char *what;
    const pickle_hooks *hooks;
    pickle_value **stack;
    int n_stack, cap_stack;
    int *marks;
    int n_marks, cap_marks;
    pickle_value **memo;
    int cap_memo;
    size_t memo_count; /* MEMOIZE's next index */
    pickle_value **all; /* every value, freed together */
    int n_all, cap_all;
    /* Out of memory mid-opcode: new values become this scratch one (so the opcode can finish
     * without NULL checks everywhere) and the flag ends the run after the opcode. */
    pickle_value scratch;
    int out_of_memory;
};

const char *oti_pickle_what(const pickle_machine *pm) { return pm->what; }

const char *oti_pickle_type_name(pickle_type type) {
    static const char *const names[] = {"None", "bool", "int", "float", "str", "bytes",
                                        "tuple", "list", "dict", "global", "object"};
    return (unsigned)type < OT_COUNT(names) ? names[type] : "?";
}

static void free_value_contents(pickle_value *v) {
    free(v->s);
    free(v->items);
}

pickle_value *oti_pickle_new(pickle_machine *pm, pickle_type type) {
    pickle_value *v = oti_calloc(1, sizeof *v);
    if (!v || oti_grow_array((void **)&pm->all, &pm->cap_all, pm->n_all + 1, sizeof(void *)) != OT_OK) {
        free(v);
        pm->out_of_memory = 1;
        free_value_contents(&pm->scratch);
        v = &pm->scratch;
        memset(v, 0, sizeof *v);
        v->type = type;
        return v;
    }
    v->type = type;
    pm->all[pm->n_all++] = v;
    return v;
}

void oti_pickle_free(pickle_machine *pm) {
    if (!pm) return;
    for (int i = 0; i < pm->n_all; i++) {
        free_value_contents(pm->all[i]);
        free(pm->all[i]);
    }
    free_value_contents(&pm->scratch);
    free(pm->all);
    free(pm->stack);
    free(pm->marks);
    free(pm->memo);
    free(pm->what);
    free(pm);
}

static ot_status bad(const pickle_machine *pm, const char *message) {
    return oti_fail(OT_ERR_FORMAT, "%s: bad pickle at byte %zu: %s", pm->what,
                   (size_t)(pm->p - pm->data), message);
}

static void push(pickle_machine *pm, pickle_value *v) {
    if (oti_grow_array((void **)&pm->stack, &pm->cap_stack, pm->n_stack + 1, sizeof(void *)) != OT_OK) {
        pm->out_of_memory = 1;
        return;
    }
    pm->stack[pm->n_stack++] = v;
}

/* Values above the top mark must not be taken by a plain pop. */
static int floor_of_stack(const pickle_machine *pm) {
    return pm->n_marks ? pm->marks[pm->n_marks - 1] : 0;
}

static ot_status pop(pickle_machine *pm, pickle_value **out) {
    if (pm->n_stack <= floor_of_stack(pm)) return bad(pm, "stack underflow");
    *out = pm->stack[--pm->n_stack];
    return OT_OK;
}

static ot_status top(pickle_machine *pm, pickle_value **out) {
    if (pm->n_stack <= floor_of_stack(pm)) return bad(pm, "stack underflow");
    *out = pm->stack[pm->n_stack - 1];
    return OT_OK;
}

/* Pops everything above the top mark and the mark itself: items [*first, *first + *n). */
static ot_status pop_mark(pickle_machine *pm, int *first, int *n) {
    if (!pm->n_marks) return bad(pm, "no MARK on the stack");
    *first = pm->marks[--pm->n_marks];
    *n = pm->n_stack - *first;
    pm->n_stack = *first;
    return OT_OK;
}

static ot_status take(pickle_machine *pm, size_t n, const unsigned char **out) {
    if ((size_t)(pm->end - pm->p) < n) return bad(pm, "truncated operand");
    *out = pm->p;
    pm->p += n;
    return OT_OK;
}

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void append_item(pickle_machine *pm, pickle_value *container, pickle_value *item) {
    if (oti_grow_array((void **)&container->items, &container->cap, container->n + 1, sizeof(void *)) != OT_OK) {
        pm->out_of_memory = 1;
        return;
    }
    container->items[container->n++] = item;
}

static ot_status push_sequence(pickle_machine *pm, pickle_type type, int first, int n) {
    pickle_value *v = oti_pickle_new(pm, type);
    for (int i = 0; i < n; i++) append_item(pm, v, pm->stack[first + i]);
    push(pm, v);
    return OT_OK;
}

static ot_status push_text(pickle_machine *pm, pickle_type type, uint64_t len) {
    const unsigned char *text;
    if (len > (uint64_t)(pm->end - pm->p)) return bad(pm, "string runs past the end");
    OT_TRY(take(pm, (size_t)len, &text));
    if (type == PICKLE_STRING && memchr(text, 0, (size_t)len))
        return bad(pm, "NUL character in a string");
    pickle_value *v = oti_pickle_new(pm, type);
    v->s = oti_strndup((const char *)text, (size_t)len);
    if (!v->s) pm->out_of_memory = 1;
    v->len = (size_t)len;
    push(pm, v);
    return OT_OK;
}

static ot_status push_int(pickle_machine *pm, int64_t value, pickle_type type) {
    pickle_value *v = oti_pickle_new(pm, type);
    v->i = value;
    push(pm, v);
    return OT_OK;
}

static ot_status memo_put(pickle_machine *pm, uint64_t index) {
    /* A pickler numbers memo entries 0, 1, 2, ...: never more than the stream has bytes. */
    if (index >= (uint64_t)(pm->end - pm->data) || index >= (uint64_t)INT32_MAX)
        return bad(pm, "memo index out of range");
    pickle_value *v;
    OT_TRY(top(pm, &v));
    if ((int)index >= pm->cap_memo) {
        int old = pm->cap_memo;
        OT_TRY(oti_grow_array((void **)&pm->memo, &pm->cap_memo, (int)index + 1, sizeof(void *)));
        memset(pm->memo + old, 0, sizeof(void *) * (size_t)(pm->cap_memo - old));
    }
    pm->memo[index] = v;
    return OT_OK;
}

static ot_status memo_get(pickle_machine *pm, uint64_t index) {
    if (index >= (uint64_t)pm->cap_memo || !pm->memo[index]) return bad(pm, "memo key not found");
    push(pm, pm->memo[index]);
    return OT_OK;
}

static ot_status find_global(pickle_machine *pm, const char *module, const char *name) {
    int id = pm->hooks->find_global(pm->hooks->ctx, module, name);
    if (id < 0)
        return oti_fail(OT_ERR_FORMAT, "%s: refused pickle global '%s.%s': only tensors, "
                       "storages and OrderedDicts are read, and no code is run (a model saved "
                       "whole needs its classes: save model.state_dict() instead)",
                       pm->what, module, name);
    pickle_value *v = oti_pickle_new(pm, PICKLE_GLOBAL);
    v->i = id;
    v->s = oti_asprintf("%s.%s", module, name);
    if (!v->s) pm->out_of_memory = 1;
    v->len = v->s ? strlen(v->s) : 0;
    push(pm, v);
    return OT_OK;
}

/* GLOBAL's operands: "module\nname\n". */
static ot_status read_line(pickle_machine *pm, char **out) {
    const unsigned char *nl = memchr(pm->p, '\n', (size_t)(pm->end - pm->p));
    if (!nl) return bad(pm, "unterminated GLOBAL operand");
    if (memchr(pm->p, 0, (size_t)(nl - pm->p))) return bad(pm, "NUL in GLOBAL operand");
    *out = oti_strndup((const char *)pm->p, (size_t)(nl - pm->p));
    OT_ALLOC_CHECK(*out);
    pm->p = nl + 1;
    return OT_OK;
}

static ot_status op_setitems(pickle_machine *pm, int first, int n, pickle_value *dict) {
    if (dict->type != PICKLE_DICT) return bad(pm, "SETITEM(S) on something other than a dict");
    if (n % 2) return bad(pm, "SETITEMS with an odd number of items");
    /* Keys are appended without lookup (torch.save never repeats one); duplicate tensor
     * names are refused later, when the state_dict is read. */
    for (int i = 0; i < n; i++) append_item(pm, dict, pm->stack[first + i]);
    return OT_OK;
}

static ot_status step(pickle_machine *pm, int *stop) {
    const unsigned char *arg = NULL;
    pickle_value *a = NULL, *b = NULL, *c = NULL;
    int first = 0, n = 0;
    unsigned op = *pm->p++;
    switch (op) {
    case 0x80: /* PROTO */
        OT_TRY(take(pm, 1, &arg));
        if (arg[0] < 2 || arg[0] > 5) return bad(pm, "unsupported pickle protocol");
        return OT_OK;
    case 0x95: /* FRAME: a length hint only */
        return take(pm, 8, &arg);
    case '.': *stop = 1; return OT_OK; /* STOP */
    case '(': /* MARK */
        OT_TRY(oti_grow_array((void **)&pm->marks, &pm->cap_marks, pm->n_marks + 1, sizeof(int)));
        pm->marks[pm->n_marks++] = pm->n_stack;
        return OT_OK;
    case '0': return pop(pm, &a); /* POP */
    case '1': return pop_mark(pm, &first, &n); /* POP_MARK */
    case 'N': push(pm, oti_pickle_new(pm, PICKLE_NONE)); return OT_OK;
    case 0x88: return push_int(pm, 1, PICKLE_BOOL); /* NEWTRUE */
    case 0x89: return push_int(pm, 0, PICKLE_BOOL); /* NEWFALSE */
    case 'J': OT_TRY(take(pm, 4, &arg)); return push_int(pm, (int32_t)le(arg, 4), PICKLE_INT);
    case 'K': OT_TRY(take(pm, 1, &arg)); return push_int(pm, arg[0], PICKLE_INT);
    case 'M': OT_TRY(take(pm, 2, &arg)); return push_int(pm, (int64_t)le(arg, 2), PICKLE_INT);
    case 0x8a: { /* LONG1: n-byte little-endian two's complement */
        OT_TRY(take(pm, 1, &arg));
        unsigned len = arg[0];
        if (len > 8) return bad(pm, "integer wider than 64 bits");
        OT_TRY(take(pm, len, &arg));
        uint64_t u = le(arg, (int)len);
        if (len && len < 8 && (arg[len - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * len);
        return push_int(pm, (int64_t)u, PICKLE_INT);
    }
    case 'G': { /* BINFLOAT: big-endian double */
        OT_TRY(take(pm, 8, &arg));
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | arg[i];
        pickle_value *v = oti_pickle_new(pm, PICKLE_FLOAT);
        memcpy(&v->f, &bits, sizeof v->f);
        push(pm, v);
        return OT_OK;
    }
    case 'X': OT_TRY(take(pm, 4, &arg)); return push_text(pm, PICKLE_STRING, le(arg, 4));
    case 0x8c: OT_TRY(take(pm, 1, &arg)); return push_text(pm, PICKLE_STRING, arg[0]);
    case 0x8d: OT_TRY(take(pm, 8, &arg)); return push_text(pm, PICKLE_STRING, le(arg, 8));
    case 'C': OT_TRY(take(pm, 1, &arg)); return push_text(pm, PICKLE_BYTES, arg[0]);
    case 'B': OT_TRY(take(pm, 4, &arg)); return push_text(pm, PICKLE_BYTES, le(arg, 4));
    case 0x8e: OT_TRY(take(pm, 8, &arg)); return push_text(pm, PICKLE_BYTES, le(arg, 8));
    case ']': push(pm, oti_pickle_new(pm, PICKLE_LIST)); return OT_OK;
    case ')': push(pm, oti_pickle_new(pm, PICKLE_TUPLE)); return OT_OK;
    case '}': push(pm, oti_pickle_new(pm, PICKLE_DICT)); return OT_OK;
    case 't': /* TUPLE */
        OT_TRY(pop_mark(pm, &first, &n));
        return push_sequence(pm, PICKLE_TUPLE, first, n);
    case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
        n = (int)(op - 0x84);
        if (pm->n_stack - floor_of_stack(pm) < n) return bad(pm, "stack underflow");
        pm->n_stack -= n;
        return push_sequence(pm, PICKLE_TUPLE, pm->n_stack, n);
    case 'a': /* APPEND */
        OT_TRY(pop(pm, &a));
        OT_TRY(top(pm, &b));
        if (b->type != PICKLE_LIST) return bad(pm, "APPEND to something other than a list");
        append_item(pm, b, a);
        return OT_OK;
    case 'e': /* APPENDS */
        OT_TRY(pop_mark(pm, &first, &n));
        OT_TRY(top(pm, &b));
        if (b->type != PICKLE_LIST) return bad(pm, "APPENDS to something other than a list");
        for (int i = 0; i < n; i++) append_item(pm, b, pm->stack[first + i]);
        return OT_OK;
    case 's': /* SETITEM */
        if (pm->n_stack - floor_of_stack(pm) < 3) return bad(pm, "stack underflow");
        pm->n_stack -= 2;
        return op_setitems(pm, pm->n_stack, 2, pm->stack[pm->n_stack - 1]);
    case 'u': /* SETITEMS */
        OT_TRY(pop_mark(pm, &first, &n));
        OT_TRY(top(pm, &b));
        return op_setitems(pm, first, n, b);
    case 'q': OT_TRY(take(pm, 1, &arg)); return memo_put(pm, arg[0]); /* BINPUT */
    case 'r': OT_TRY(take(pm, 4, &arg)); return memo_put(pm, le(arg, 4)); /* LONG_BINPUT */
    case 0x94: OT_TRY(memo_put(pm, pm->memo_count)); pm->memo_count++; return OT_OK;
    case 'h': OT_TRY(take(pm, 1, &arg)); return memo_get(pm, arg[0]); /* BINGET */
    case 'j': OT_TRY(take(pm, 4, &arg)); return memo_get(pm, le(arg, 4)); /* LONG_BINGET */
    case 'c': { /* GLOBAL */
        char *module, *name;
        OT_TRY(read_line(pm, &module));
        ot_status status = read_line(pm, &name);
        if (status == OT_OK) {
            status = find_global(pm, module, name);
            free(name);
        }
        free(module);
        return status;
    }
    case 0x93: /* STACK_GLOBAL */
        OT_TRY(pop(pm, &b));
        OT_TRY(pop(pm, &a));
        if (a->type != PICKLE_STRING || b->type != PICKLE_STRING)
            return bad(pm, "STACK_GLOBAL needs two strings");
        return find_global(pm, a->s, b->s);
    case 'R': /* REDUCE */
        OT_TRY(pop(pm, &b));
        OT_TRY(pop(pm, &a));
        if (a->type != PICKLE_GLOBAL || b->type != PICKLE_TUPLE)
            return bad(pm, "REDUCE needs a global and a tuple of arguments");
        OT_TRY(pm->hooks->call(pm->hooks->ctx, pm, a, b, &c));
        push(pm, c);
        return OT_OK;
    case 'b': /* BUILD: would set attributes from a state; plain data has none to set */
        OT_TRY(pop(pm, &a));
        return top(pm, &b);
    case 'Q': /* BINPERSID */
        OT_TRY(pop(pm, &a));
        OT_TRY(pm->hooks->persistent_load(pm->hooks->ctx, pm, a, &c));
        push(pm, c);
        return OT_OK;
    default: {
        pm->p--;
        char message[96];
        snprintf(message, sizeof message, "opcode 0x%02x ('%c') is not supported by the "
                 "restricted unpickler", op, op >= 0x20 && op < 0x7f ? (char)op : '?');
        return bad(pm, message);
    }
    }
}

ot_status oti_pickle_load(const unsigned char *data, size_t size, const char *what,
                      const pickle_hooks *hooks, pickle_machine **pm_out, pickle_value **result) {
    *pm_out = NULL;
    *result = NULL;
    pickle_machine *pm = oti_calloc(1, sizeof *pm);
    OT_ALLOC_CHECK(pm);
    pm->data = pm->p = data;
    pm->end = data + size;
    pm->what = oti_strdup(what);
    if (!pm->what) {
        free(pm);
        return OT_ERR_MEMORY;
    }
    pm->hooks = hooks;
    int stop = 0;
    ot_status status = OT_OK;
    while (status == OT_OK && !stop) {
        if (pm->p >= pm->end) status = bad(pm, "ends without STOP (truncated?)");
        else status = step(pm, &stop);
        if (status == OT_OK && pm->out_of_memory) status = OT_ERR_MEMORY;
    }
    if (status == OT_OK && (pm->n_stack != 1 || pm->n_marks))
        status = bad(pm, "STOP with a stack that does not hold exactly one value");
    if (status != OT_OK) {
        oti_pickle_free(pm);
        return status;
    }
    *result = pm->stack[0];
    *pm_out = pm;
    return OT_OK;
}
