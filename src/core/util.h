/* Small helpers shared by every module: allocation that reports running out of memory as a
 * status (never an abort), string copies, parsing, clocks. Tensor data goes through
 * ot_tensor_alloc, which also checks the context's memory limit. */
#ifndef OT_UTIL_H
#define OT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Allocation never aborts: on failure these leave "out of memory: ..." as the message (no
 * allocation needed for that) and return NULL; zero sizes allocate one byte, so NULL always
 * means failure. Callers in ot_status functions check with OT_ALLOC_CHECK. */
void *oti_malloc(size_t size);
void *oti_calloc(size_t count, size_t size);
void *oti_realloc(void *ptr, size_t size); /* ptr is untouched on failure */
char *oti_strdup(const char *s);           /* NULL for NULL: check with OT_ALLOC_CHECK_COPY */
char *oti_strndup(const char *s, size_t n);
/* printf into a new string. */
char *oti_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *oti_vasprintf(const char *fmt, va_list args) __attribute__((format(printf, 1, 0)));
/* Grows *array (of elem_size items) so that it holds at least `needed`; doubles. */
ot_status oti_grow_array(void **array, int *capacity, int needed, size_t elem_size);

/* In a function returning ot_status: OT_ERR_MEMORY (the message is set) when p is NULL, or,
 * for a copy of source, when source was not NULL but the copy is. */
#define OT_ALLOC_CHECK(p)                                                                      \
    do {                                                                                       \
        if (!(p)) return OT_ERR_MEMORY;                                                        \
    } while (0)
#define OT_ALLOC_CHECK_COPY(p, source)                                                         \
    do {                                                                                       \
        if ((source) && !(p)) return OT_ERR_MEMORY;                                            \
    } while (0)
/* Glob match with * and ? (fnmatch without flags). */
int oti_glob_match(const char *pattern, const char *text);
/* Parses a whole decimal integer; 0 if s is not one. */
int oti_parse_int64(const char *s, int64_t *out);
int oti_parse_double(const char *s, double *out);
/* Milliseconds since an arbitrary start (monotonic clock). */
double oti_now_ms(void);

#define OT_COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))
#define OT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define OT_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
