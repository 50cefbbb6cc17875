/* The CLI's allocation: the library's, exiting with its message when memory runs out. */
#include "cli_alloc.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"

void *cli_or_exit(void *p) {
    if (!p) {
        fprintf(stderr, "onnxtrain: %s\n", ot_last_error());
        exit(1);
    }
    return p;
}

void *cli_xmalloc(size_t size) { return cli_or_exit(oti_malloc(size)); }
void *cli_xcalloc(size_t count, size_t size) { return cli_or_exit(oti_calloc(count, size)); }
void *cli_xrealloc(void *ptr, size_t size) { return cli_or_exit(oti_realloc(ptr, size)); }
char *cli_xstrdup(const char *s) { return s ? cli_or_exit(oti_strdup(s)) : NULL; }
char *cli_xstrndup(const char *s, size_t n) { return cli_or_exit(oti_strndup(s, n)); }
char *cli_xvasprintf(const char *fmt, va_list args) { return cli_or_exit(oti_vasprintf(fmt, args)); }

char *cli_xasprintf(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *s = cli_xvasprintf(fmt, args);
    va_end(args);
    return s;
}
