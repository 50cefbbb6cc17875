/* Allocation that fails softly, strings, parsing and clocks. */
#include "util.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *out_of_memory(size_t size) {
    oti_fail(OT_ERR_MEMORY, "out of memory allocating %zu bytes", size);
    return NULL;
}

void *oti_malloc(size_t size) {
    void *p = malloc(size ? size : 1);
    return p ? p : out_of_memory(size);
}

void *oti_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return out_of_memory(SIZE_MAX);
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : out_of_memory(count * size);
}

void *oti_realloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    return p ? p : out_of_memory(size);
}

char *oti_strdup(const char *s) {
    if (!s) return NULL;
    return oti_strndup(s, strlen(s));
}

char *oti_strndup(const char *s, size_t n) {
    char *p = oti_malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n); /* empty protobuf bytes fields have data == NULL */
    p[n] = '\0';
    return p;
}

ot_status oti_grow_array(void **array, int *capacity, int needed, size_t elem_size) {
    if (needed <= *capacity) return OT_OK;
    int capacity_new = *capacity ? *capacity : 8;
    while (capacity_new < needed) capacity_new *= 2;
    void *grown = oti_realloc(*array, (size_t)capacity_new * elem_size);
    OT_ALLOC_CHECK(grown);
    *array = grown;
    memset((char *)*array + (size_t)*capacity * elem_size, 0,
           (size_t)(capacity_new - *capacity) * elem_size);
    *capacity = capacity_new;
    return OT_OK;
}

char *oti_vasprintf(const char *fmt, va_list args) {
    va_list copy;
    va_copy(copy, args);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *s = oti_malloc((size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, args);
    return s;
}

char *oti_asprintf(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *s = oti_vasprintf(fmt, args);
    va_end(args);
    return s;
}

int oti_glob_match(const char *pattern, const char *text) {
    return fnmatch(pattern, text, 0) == 0;
}

int oti_parse_int64(const char *s, int64_t *out) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

int oti_parse_double(const char *s, double *out) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

double oti_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
