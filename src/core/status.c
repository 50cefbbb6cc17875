/* Thread-local error messages behind oti_fail / ot_last_error. */
#include "onnxtrain/status.h"

#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include "core/error.h"

#define OT_MESSAGE_CAPACITY 2048

static _Thread_local char last_message[OT_MESSAGE_CAPACITY];

const char *ot_last_error(void) { return last_message; }

void ot_error_clear(void) { last_message[0] = '\0'; }

ot_status oti_fail(ot_status code, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, args);
    va_end(args);
    return code;
}

void oti_error_prefix(const char *fmt, ...) {
    char prefix[OT_MESSAGE_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);
    /* prefix + message, cut to the buffer. */
    size_t prefix_len = strnlen(prefix, sizeof prefix - 1);
    size_t message_len = strnlen(last_message, sizeof last_message - 1);
    if (prefix_len + message_len > sizeof last_message - 1) message_len = sizeof last_message - 1 - prefix_len;
    memmove(last_message + prefix_len, last_message, message_len);
    memcpy(last_message, prefix, prefix_len);
    last_message[prefix_len + message_len] = '\0';
}

const char *ot_status_name(ot_status status) {
    switch (status) {
    case OT_OK: return "ok";
    case OT_ERR_IO: return "i/o error";
    case OT_ERR_FORMAT: return "format error";
    case OT_ERR_UNSUPPORTED: return "unsupported";
    case OT_ERR_INVALID: return "invalid";
    case OT_ERR_MEMORY: return "out of memory";
    case OT_ERR_NUMERIC: return "numeric error";
    case OT_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
