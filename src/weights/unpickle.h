/* A restricted unpickler: runs the pickle stack machine for the opcodes state_dicts need
 * (protocols 2-5) and builds plain values: None, bools, ints, floats, strings, bytes, tuples,
 * lists, dicts. Globals are never imported: each GLOBAL is looked up through a hook that
 * either refuses it (with its name in the error) or gives an id; REDUCE and BINPERSID go to
 * hooks too, which build only what they know (tensors, storages). Nothing is executed. */
#ifndef OT_WEIGHTS_UNPICKLE_H
#define OT_WEIGHTS_UNPICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/tensor.h"

typedef enum pickle_type {
    PICKLE_NONE,
    PICKLE_BOOL,
    PICKLE_INT,
    PICKLE_FLOAT,
    PICKLE_STRING,
    PICKLE_BYTES,
    PICKLE_TUPLE,
    PICKLE_LIST,
    PICKLE_DICT,   /* items[2k] is a key, items[2k + 1] its value, in insertion order */
    PICKLE_GLOBAL, /* an allowed global: id from the hook, name "module.name" */
    PICKLE_OBJECT  /* built by a hook (a storage, a tensor): kind and pointer are its own */
} pickle_type;

typedef struct pickle_value {
    pickle_type type;
    int64_t i;       /* BOOL, INT; GLOBAL: the id */
    double f;        /* FLOAT */
    char *s;         /* STRING (no NUL inside), BYTES, GLOBAL's name; NUL-terminated */
    size_t len;
    struct pickle_value **items; /* TUPLE, LIST, DICT */
    int n, cap;
    int kind;        /* OBJECT: the hook's own tag */
    void *object;    /* OBJECT: owned by the hooks' context, not by the machine */
} pickle_value;

typedef struct pickle_machine pickle_machine;

typedef struct pickle_hooks {
    void *ctx;
    /* An id >= 0 for an allowed global, or -1 to refuse it. */
    int (*find_global)(void *ctx, const char *module, const char *name);
    /* Calls an allowed global with a tuple of arguments (REDUCE). */
    ot_status (*call)(void *ctx, pickle_machine *pm, const pickle_value *callable,
                      const pickle_value *args, pickle_value **result);
    /* Resolves a persistent id (BINPERSID). */
    ot_status (*persistent_load)(void *ctx, pickle_machine *pm, const pickle_value *pid,
                                 pickle_value **result);
} pickle_hooks;

/* Runs the pickle in data[0..size) up to STOP. `what` names it in errors ("x.pt: data.pkl").
 * The result lives in the machine; free both with oti_pickle_free. On failure *pm is NULL. */
ot_status oti_pickle_load(const unsigned char *data, size_t size, const char *what,
                      const pickle_hooks *hooks, pickle_machine **pm, pickle_value **result);
void oti_pickle_free(pickle_machine *pm);
/* A new value owned by the machine (for hooks). */
pickle_value *oti_pickle_new(pickle_machine *pm, pickle_type type);
/* The source name for messages. */
const char *oti_pickle_what(const pickle_machine *pm);
const char *oti_pickle_type_name(pickle_type type);

#endif
