/* TensorBoard event file writer: Event protobufs (proto/tensorboard.proto, through protobuf-c,
 * whose structs stay in this file) framed as TFRecords and appended to a new file. */
#include "event_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>

#include "core/crc32c.h"
#include "core/file_io.h"
#include "core/util.h"
#include "tensorboard.pb-c.h"

struct oti_event_writer {
    int fd;
    char *path;
    unsigned char *pending; /* framed records not yet written */
    size_t pending_len, pending_cap;
};

static double wall_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void put_le(unsigned char *out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) out[i] = (unsigned char)(v >> (8 * i));
}

/* Appends one TFRecord to pending: uint64 length, uint32 masked CRC of those 8 bytes, the
 * Event, uint32 masked CRC of the Event (all little-endian). */
static ot_status frame_event(oti_event_writer *w, const Tensorboard__Event *event) {
    size_t size = tensorboard__event__get_packed_size(event), need = w->pending_len + size + 16;
    if (need > w->pending_cap) {
        size_t cap = OT_MAX(need, 2 * w->pending_cap);
        unsigned char *grown = oti_realloc(w->pending, cap);
        OT_ALLOC_CHECK(grown);
        w->pending = grown;
        w->pending_cap = cap;
    }
    unsigned char *at = w->pending + w->pending_len;
    put_le(at, size, 8);
    put_le(at + 8, oti_crc32c_masked(at, 8), 4);
    tensorboard__event__pack(event, at + 12);
    put_le(at + 12 + size, oti_crc32c_masked(at + 12, size), 4);
    w->pending_len = need;
    return OT_OK;
}

ot_status oti_event_writer_scalar(oti_event_writer *w, const char *tag, int64_t step, double value) {
    if (isnan(value)) return OT_OK;
    Tensorboard__SummaryValue v = TENSORBOARD__SUMMARY_VALUE__INIT, *values[1] = {&v};
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY_VALUE__VALUE_SIMPLE_VALUE;
    v.simple_value = (float)value;
    Tensorboard__Summary summary = TENSORBOARD__SUMMARY__INIT;
    summary.n_value = 1;
    summary.value = values;
    Tensorboard__Event event = TENSORBOARD__EVENT__INIT;
    event.wall_time = wall_time_now();
    event.step = step;
    event.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    event.summary = &summary;
    return frame_event(w, &event);
}

ot_status oti_event_writer_flush(oti_event_writer *w, int sync) {
    size_t done = 0;
    while (done < w->pending_len) {
        ssize_t n = write(w->fd, w->pending + done, w->pending_len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return oti_fail(OT_ERR_IO, "%s: cannot write: %s", w->path, strerror(n < 0 ? errno : ENOSPC));
        done += (size_t)n;
    }
    w->pending_len = 0;
    if (sync && fsync(w->fd) != 0) return oti_fail(OT_ERR_IO, "%s: cannot write: %s", w->path, strerror(errno));
    return OT_OK;
}

/* events.out.tfevents.<seconds>.<host>.<pid>: TensorBoard reads files with "tfevents" in
 * their name, in name order; the pid keeps two runs started in one second apart. */
static char *new_event_path(const char *dir) {
    char host[256] = "localhost";
    if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '/') *c = '_';
    char *name = oti_asprintf("events.out.tfevents.%lld.%s.%ld", (long long)time(NULL), host, (long)getpid());
    if (!name) return NULL;
    char *path = oti_path_join(dir, name);
    free(name);
    return path;
}

ot_status oti_event_writer_open(const char *dir, oti_event_writer **out) {
    *out = NULL;
    OT_TRY(oti_make_dirs(dir));
    oti_event_writer *w = oti_calloc(1, sizeof *w);
    OT_ALLOC_CHECK(w);
    w->fd = -1;
    w->path = new_event_path(dir);
    if (!w->path) {
        free(w);
        return OT_ERR_MEMORY;
    }
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
    ot_status status = w->fd < 0 ? oti_fail(OT_ERR_IO, "%s: cannot create: %s", w->path, strerror(errno)) : OT_OK;
    Tensorboard__Event version = TENSORBOARD__EVENT__INIT;
    version.wall_time = wall_time_now();
    version.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
    version.file_version = "brain.Event:2";
    if (status == OT_OK) status = frame_event(w, &version);
    if (status == OT_OK) status = oti_event_writer_flush(w, 0);
    if (status != OT_OK) {
        oti_event_writer_close(w);
        return status;
    }
    *out = w;
    return OT_OK;
}

const char *oti_event_writer_path(const oti_event_writer *w) { return w->path; }

ot_status oti_event_writer_close(oti_event_writer *w) {
    if (!w) return OT_OK;
    ot_status status = w->fd >= 0 ? oti_event_writer_flush(w, 1) : OT_OK;
    if (w->fd >= 0) close(w->fd);
    free(w->pending);
    free(w->path);
    free(w);
    return status;
}
