/* Leaving the message of a failure (onnxtrain/status.h), and programmer errors. */
#ifndef OT_CORE_ERROR_H
#define OT_CORE_ERROR_H

#include <stdio.h>
#include <stdlib.h>

#include "onnxtrain/status.h"

/* Records a printf-style message and returns code, so callers write
 * `return oti_fail(OT_ERR_FORMAT, "%s: truncated header", path);`. */
ot_status oti_fail(ot_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message: "model.onnx: " + message. */
void oti_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Programmer errors: always on, names file and line, aborts. */
#define OT_ASSERT(cond)                                                                        \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "onnxtrain: internal error at %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                                    \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif
