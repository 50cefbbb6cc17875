/* Keras HDF5 files are parsed by libhdf5 in a child process. libhdf5 (1.10 in Debian 12)
 * has memory-safety bugs on corrupt files: fuzzing found a heap overflow in its attribute
 * decoder (H5O__msg_iterate_real via H5Aexists) and allocations of 2^61 bytes. We cannot fix
 * them here, so the parse runs in a forked child that sends the tensors back through a pipe;
 * a child that crashes or is killed costs the user a clear error, never our process, its
 * memory or its output files.
 *
 * The stream: "OTH5", status (i32), error message; then per tensor: name, layer, role
 * (u32 length, 0xffffffff for NULL, then bytes), dtype (i32), ndim (i32), dims (i64 each),
 * the tensor's bytes; a u32 0xfffffffe ends the list. The parent trusts none of it: lengths,
 * dims and sizes are checked (and against --max-memory) before anything is allocated. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "weights_internal.h"

enum { NULL_STRING = 0xffffffffu, END_OF_LIST = 0xfffffffeu, MAX_STRING = 1 << 20 };

/* Child side ----------------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return 0;
        p += done;
        n -= (size_t)done;
    }
    return 1;
}

static int write_u32(int fd, uint32_t v) { return write_all(fd, &v, sizeof v); }

static int write_string(int fd, const char *s) {
    if (!s) return write_u32(fd, NULL_STRING);
    size_t n = strlen(s);
    return write_u32(fd, (uint32_t)n) && write_all(fd, s, n);
}

static void child_main(const ot_context *ctx, const char *path, int fd) {
    signal(SIGPIPE, SIG_IGN); /* a parent that stopped reading gives EPIPE, not a kill */
    ot_weights w = {0};
    ot_status status = oti_keras_h5_load_in_process(ctx, path, &w);
    int32_t code = status;
    int ok = write_all(fd, "OTH5", 4) && write_all(fd, &code, sizeof code) &&
             write_string(fd, status == OT_OK ? "" : ot_last_error());
    for (int i = 0; ok && status == OT_OK && i < w.count; i++) {
        const ot_named_tensor *item = &w.items[i];
        const ot_tensor *t = &item->tensor;
        int32_t dtype = t->dtype, ndim = t->ndim;
        ok = write_string(fd, item->name) && write_string(fd, item->layer) && write_string(fd, item->role) &&
             write_all(fd, &dtype, sizeof dtype) && write_all(fd, &ndim, sizeof ndim) &&
             write_all(fd, t->dims, sizeof(int64_t) * (size_t)t->ndim) &&
             write_all(fd, t->data, (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype));
    }
    if (ok && status == OT_OK) ok = write_u32(fd, END_OF_LIST);
    _exit(ok ? 0 : 3);
}

/* Parent side ---------------------------------------------------------------------------- */

/* 1 when n bytes were read, 0 at a clean end of stream before any byte, -1 short. */
static int read_all(int fd, void *data, size_t n) {
    char *p = data;
    size_t got = 0;
    while (got < n) {
        ssize_t done = read(fd, p + got, n - got);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return got == 0 ? 0 : -1;
        got += (size_t)done;
    }
    return 1;
}

static ot_status stream_error(const char *path) {
    return oti_fail(OT_ERR_FORMAT, "%s: the HDF5 reader stopped before sending all weights "
                   "(corrupt file)", path);
}

/* Reads a string; *s is NULL for NULL_STRING. *end is set at END_OF_LIST. */
static ot_status read_string(int fd, const char *path, char **s, int *end) {
    uint32_t n;
    *s = NULL;
    if (read_all(fd, &n, sizeof n) != 1) return stream_error(path);
    if (end && n == END_OF_LIST) {
        *end = 1;
        return OT_OK;
    }
    if (n == NULL_STRING) return OT_OK;
    if (n > MAX_STRING) return stream_error(path);
    *s = oti_malloc((size_t)n + 1);
    OT_ALLOC_CHECK(*s);
    if (read_all(fd, *s, n) != 1) {
        free(*s);
        *s = NULL;
        return stream_error(path);
    }
    (*s)[n] = '\0';
    return OT_OK;
}

static ot_status read_tensor(const ot_context *ctx, int fd, const char *path, const char *name, ot_tensor *t) {
    int32_t dtype, ndim;
    int64_t dims[OT_MAX_DIMS];
    if (read_all(fd, &dtype, sizeof dtype) != 1 || read_all(fd, &ndim, sizeof ndim) != 1 || ndim < 0 ||
        ndim > OT_MAX_DIMS || ot_dtype_size((ot_dtype)dtype) == 0 ||
        read_all(fd, dims, sizeof(int64_t) * (size_t)ndim) != 1)
        return stream_error(path);
    for (int d = 0; d < ndim; d++)
        if (dims[d] < 0) return stream_error(path);
    OT_TRY(ot_tensor_alloc(ctx, t, (ot_dtype)dtype, ndim, dims, name));
    if (read_all(fd, t->data, (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype)) != 1) {
        ot_tensor_free(t);
        return stream_error(path);
    }
    return OT_OK;
}

/* *reported is set when the child sent its own error (then its exit does not matter). */
static ot_status read_stream(const ot_context *ctx, int fd, const char *path, ot_weights *out, int *reported) {
    char magic[4];
    int32_t code;
    if (read_all(fd, magic, 4) != 1 || memcmp(magic, "OTH5", 4) || read_all(fd, &code, sizeof code) != 1)
        return stream_error(path);
    char *message;
    OT_TRY(read_string(fd, path, &message, NULL));
    if (code != OT_OK) {
        *reported = 1;
        ot_status status = oti_fail(code > OT_OK && code <= OT_ERR_INTERRUPTED ? (ot_status)code : OT_ERR_FORMAT, "%s",
                                   message ? message : "");
        free(message);
        return status;
    }
    free(message);
    for (;;) {
        char *name = NULL, *layer = NULL, *role = NULL;
        int end = 0;
        ot_status status = read_string(fd, path, &name, &end);
        if (status != OT_OK || end) return status;
        status = read_string(fd, path, &layer, NULL);
        if (status == OT_OK) status = read_string(fd, path, &role, NULL);
        if (status == OT_OK && !name) status = stream_error(path);
        ot_tensor t = {0};
        if (status == OT_OK) status = read_tensor(ctx, fd, path, name, &t);
        if (status == OT_OK) status = ot_weights_add(out, path, name, &t, layer, role);
        ot_tensor_free(&t);
        free(name);
        free(layer);
        free(role);
        if (status != OT_OK) return status;
    }
}

ot_status oti_keras_h5_load(const ot_context *ctx, const char *path, ot_weights *out) {
    int fds[2];
    if (pipe(fds) != 0) return oti_fail(OT_ERR_IO, "%s: cannot start the HDF5 reader: %s", path, strerror(errno));
    fflush(NULL); /* the child must not flush our buffered output a second time */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return oti_fail(OT_ERR_IO, "%s: cannot start the HDF5 reader: %s", path, strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(ctx, path, fds[1]);
    }
    close(fds[1]);
    int reported = 0;
    ot_status status = read_stream(ctx, fds[0], path, out, &reported);
    close(fds[0]); /* a child still writing gets EPIPE and ends */
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (reported) return status;
    if (WIFSIGNALED(wstatus)) {
        ot_weights_free(out);
        return oti_fail(OT_ERR_FORMAT, "%s: libhdf5 crashed reading this file (signal %d): it is "
                       "corrupt; nothing was read from it", path, WTERMSIG(wstatus));
    }
    if (status == OT_OK && (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0))
        status = stream_error(path);
    if (status != OT_OK) ot_weights_free(out);
    return status;
}
