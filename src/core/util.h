/* Small helpers shared by every module: checked allocation of bookkeeping memory and
 * string copies. Bookkeeping sizes are bounded by input sizes already checked, so running
 * out here is reported and aborts; tensor data goes through ot_tensor_alloc instead. */
#ifndef OT_UTIL_H
#define OT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

void *oti_xmalloc(size_t size);
void *oti_xcalloc(size_t count, size_t size);
void *oti_xrealloc(void *ptr, size_t size);
char *oti_xstrdup(const char *s);  /* NULL stays NULL */
char *oti_xstrndup(const char *s, size_t n);
/* Grows *array (of elem_size items) so that it holds at least `needed`; doubles. */
void oti_grow_array(void **array, int *capacity, int needed, size_t elem_size);
/* printf into a new string. */
char *oti_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *oti_xvasprintf(const char *fmt, va_list args) __attribute__((format(printf, 1, 0)));
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
