/* Allocation for the CLI: a program that runs out of memory says so and exits (the library
 * returns OT_ERR_MEMORY instead; only the CLI may exit). */
#ifndef OT_CLI_ALLOC_H
#define OT_CLI_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* p, or exit with the library's message when p is NULL (a library function that returns
 * NULL when out of memory). */
void *cli_or_exit(void *p);
void *cli_xmalloc(size_t size);
void *cli_xcalloc(size_t count, size_t size);
void *cli_xrealloc(void *ptr, size_t size);
char *cli_xstrdup(const char *s); /* NULL stays NULL */
char *cli_xstrndup(const char *s, size_t n);
char *cli_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *cli_xvasprintf(const char *fmt, va_list args) __attribute__((format(printf, 1, 0)));

#endif
