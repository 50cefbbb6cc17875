/* Result codes and error messages.
 *
 * Every library function that can fail returns an ot_status. On failure it leaves a
 * one-line message for the calling thread, naming what is wrong and where (file, node,
 * tensor). ot_last_error() returns it; the library owns the buffer, which stays valid until
 * the next failing call on the same thread. The library never prints or exits. */
#ifndef ONNXTRAIN_STATUS_H
#define ONNXTRAIN_STATUS_H

/* Marks the public API: the only symbols the shared library exports (the library is built
 * with hidden visibility; internal functions carry oti_). */
#if defined(__GNUC__)
#define OT_API __attribute__((visibility("default")))
#else
#define OT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_status {
    OT_OK = 0,
    OT_ERR_IO,          /* a file cannot be opened, read or written */
    OT_ERR_FORMAT,      /* an input file is malformed */
    OT_ERR_UNSUPPORTED, /* valid input that this build does not handle (op, dtype) */
    OT_ERR_INVALID,     /* a bad argument, attribute, graph or flag value */
    OT_ERR_MEMORY,      /* allocation failed or a size limit was hit */
    OT_ERR_NUMERIC,     /* NaN or Inf where a number was expected */
    OT_ERR_INTERRUPTED  /* stopped by a signal */
} ot_status;

/* The message of the last failure on this thread ("" if none). */
OT_API const char *ot_last_error(void);

/* Clears the message (used when a failure is handled and retried). */
OT_API void ot_error_clear(void);

OT_API const char *ot_status_name(ot_status status);

/* Propagates a failure: OT_TRY(load(...)); */
#define OT_TRY(expr)                                                                           \
    do {                                                                                       \
        ot_status ot_try_status_ = (expr);                                                     \
        if (ot_try_status_ != OT_OK) return ot_try_status_;                                    \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
