/* Flag parsing: --name VALUE, --name=VALUE, -x VALUE, switches, positional arguments. */
#include "cli_alloc.h"
#include "args.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/status.h"
#include "onnxtrain/tensor.h"

void cli_print_help(const cli_command *command) {
    printf("usage: onnxtrain %s %s\n\n%s\n", command->name, command->usage, command->summary);
    if (command->n_flags) printf("\nflags:\n");
    for (int i = 0; i < command->n_flags; i++) {
        const cli_flag *f = &command->flags[i];
        char left[64];
        if (f->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", f->short_name, f->name, f->value ? " " : "",
                     f->value ? f->value : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", f->name, f->value ? " " : "", f->value ? f->value : "");
        printf("  %-28s %s\n", left, f->help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
    if (command->details) printf("\n%s\n", command->details);
}

/* Messages quote names read from files (tensor, layer and node names): control bytes are
 * written as \xNN so a hostile file cannot send escape sequences to the terminal. */
/* Which process of a data-parallel run speaks ("rank 1 of 3: "); empty otherwise. */
static char process_label[64];

void cli_set_process_label(int rank, int ranks) {
    if (ranks > 1) snprintf(process_label, sizeof process_label, "rank %d of %d: ", rank, ranks);
    else process_label[0] = '\0';
}

/* One write per message: the ranks of a data-parallel run share stderr, and a line written a
 * character at a time would interleave with theirs. */
static void print_message(const cli_args *args, const char *message) {
    size_t length = strlen(message);
    char *line = cli_xmalloc(4 * length + 1), *at = line;
    for (const unsigned char *p = (const unsigned char *)message; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) at += sprintf(at, "\\x%02x", *p);
        else *at++ = (char)*p;
    }
    *at = '\0';
    fprintf(stderr, "onnxtrain %s: %s%s\n", args->command->name, process_label, line);
    free(line);
}

void cli_error(const cli_args *args, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *message = cli_xvasprintf(fmt, ap);
    va_end(ap);
    print_message(args, message);
    free(message);
}

static int find_flag(const cli_command *c, const char *name, size_t len, char short_name);

int cli_fail(const cli_args *args) {
    const char *message = ot_last_error();
    if (strstr(message, "over the memory limit") && find_flag(args->command, "max-memory", 10, 0) >= 0) {
        char *hinted = cli_xasprintf("%s (raise it with --max-memory)", message);
        print_message(args, hinted);
        free(hinted);
    } else {
        print_message(args, message);
    }
    return 1;
}

static int find_flag(const cli_command *c, const char *name, size_t len, char short_name) {
    for (int i = 0; i < c->n_flags; i++) {
        if (short_name && c->flags[i].short_name == short_name) return i;
        if (!short_name && strlen(c->flags[i].name) == len && !strncmp(c->flags[i].name, name, len))
            return i;
    }
    return -1;
}

int cli_parse(const cli_command *command, int argc, char **argv, cli_args *out) {
    memset(out, 0, sizeof *out);
    out->command = command;
    out->positional = cli_xcalloc((size_t)argc + 1, sizeof(char *));
    out->given_flag = cli_xcalloc((size_t)argc + 1, sizeof(int));
    out->given_value = cli_xcalloc((size_t)argc + 1, sizeof(char *));
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            out->positional[out->n_positional++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_positional = 1;
            continue;
        }
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            cli_print_help(command);
            return 1;
        }
        int index;
        const char *inline_value = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            index = find_flag(command, name, len, 0);
            if (eq) inline_value = eq + 1;
        } else {
            index = arg[2] == '\0' ? find_flag(command, NULL, 0, arg[1]) : -1;
        }
        if (index < 0) {
            cli_error(out, "unknown flag '%s' (see onnxtrain %s --help)", arg, command->name);
            return 2;
        }
        const cli_flag *f = &command->flags[index];
        const char *value = NULL;
        if (f->value) {
            if (inline_value) value = inline_value;
            else if (i + 1 < argc) value = argv[++i];
            else {
                cli_error(out, "flag --%s needs a value (%s)", f->name, f->value);
                return 2;
            }
        } else if (inline_value) {
            cli_error(out, "flag --%s takes no value", f->name);
            return 2;
        }
        out->given_flag[out->n_given] = index;
        out->given_value[out->n_given++] = value ? value : "";
    }
    if (out->n_positional < command->min_positional || out->n_positional > command->max_positional) {
        cli_error(out, "expected %s (usage: onnxtrain %s %s)",
                  command->min_positional == command->max_positional && command->min_positional == 1
                      ? "one argument" : "different arguments",
                  command->name, command->usage);
        return 2;
    }
    return 0;
}

void cli_free(cli_args *args) {
    free(args->positional);
    free(args->given_flag);
    free(args->given_value);
}

const char *cli_get(const cli_args *args, const char *name) {
    const char *value = NULL;
    for (int i = 0; i < args->n_given; i++)
        if (!strcmp(args->command->flags[args->given_flag[i]].name, name)) value = args->given_value[i];
    return value;
}

int cli_has(const cli_args *args, const char *name) { return cli_get(args, name) != NULL; }

int cli_get_all(const cli_args *args, const char *name, const char **values, int capacity) {
    int n = 0;
    for (int i = 0; i < args->n_given; i++)
        if (!strcmp(args->command->flags[args->given_flag[i]].name, name) && n < capacity)
            values[n++] = args->given_value[i];
    return n;
}

int cli_get_int(const cli_args *args, const char *name, int64_t fallback, int64_t min,
                int64_t max, int64_t *out) {
    const char *value = cli_get(args, name);
    if (!value) {
        *out = fallback;
        return 1;
    }
    int64_t v;
    if (!oti_parse_int64(value, &v) || v < min || v > max) {
        cli_error(args, "--%s: expected a whole number from %lld to %lld, got '%s'", name,
                  (long long)min, (long long)max, value);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_context_create(const cli_args *args, ot_context **out) {
    int64_t mib;
    *out = NULL;
    if (!cli_get_int(args, "max-memory", 0, 0, INT64_MAX / 1048576, &mib)) return 0;
    ot_context_options options = {.threads = 0, .memory_limit = (size_t)mib * 1048576};
    if (ot_context_create(&options, out) != OT_OK) {
        cli_fail(args);
        return 0;
    }
    return 1;
}

int cli_get_double(const cli_args *args, const char *name, double fallback, double min,
                   double max, double *out) {
    const char *value = cli_get(args, name);
    if (!value) {
        *out = fallback;
        return 1;
    }
    double v;
    if (!oti_parse_double(value, &v) || !isfinite(v) || v < min || v > max) {
        cli_error(args, "--%s: expected a number from %g to %g, got '%s'", name, min, max, value);
        return 0;
    }
    *out = v;
    return 1;
}
