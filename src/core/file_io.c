/* Whole-file reads, atomic writes (temp file + fsync + rename), path helpers. */
#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

ot_status oti_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return oti_fail(OT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return oti_fail(OT_ERR_IO, "%s: not a regular file", path);
    }
    if (max_bytes && (uint64_t)st.st_size > max_bytes) {
        fclose(f);
        return oti_fail(OT_ERR_MEMORY, "%s: file is %.1f MiB, over the limit of %.1f MiB", path,
                       st.st_size / 1048576.0, max_bytes / 1048576.0);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return oti_fail(OT_ERR_MEMORY, "%s: out of memory allocating %zu bytes to read it", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != n) {
        free(buf);
        return oti_fail(OT_ERR_IO, "%s: read failed (file changed while reading?)", path);
    }
    *data = buf;
    *size = n;
    return OT_OK;
}

const char *oti_path_base(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *oti_path_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return oti_strdup(".");
    if (slash == path) return oti_strdup("/");
    return oti_strndup(path, (size_t)(slash - path));
}

char *oti_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    if (n && dir[n - 1] == '/') return oti_asprintf("%s%s", dir, name);
    return oti_asprintf("%s/%s", dir, name);
}

ot_status oti_make_dirs(const char *path) {
    char *copy = oti_strdup(path);
    OT_ALLOC_CHECK_COPY(copy, path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            ot_status s = oti_fail(OT_ERR_IO, "%s: cannot create folder: %s", copy, strerror(errno));
            free(copy);
            return s;
        }
        *p = '/';
    }
    ot_status status = OT_OK;
    if (mkdir(copy, 0777) != 0 && errno != EEXIST)
        status = oti_fail(OT_ERR_IO, "%s: cannot create folder: %s", copy, strerror(errno));
    free(copy);
    return status;
}

ot_status oti_atomic_open(ot_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    /* rename() would replace a device or FIFO (-o /dev/null, run as root) with a file. */
    struct stat existing;
    if (stat(path, &existing) == 0 && !S_ISREG(existing.st_mode))
        return oti_fail(OT_ERR_IO, "%s exists and is not a regular file: refusing to replace it",
                       path);
    char *dir = oti_path_dirname(path);
    const char *base = oti_path_base(path);
    char *pattern = dir ? oti_asprintf("%s/.%s.tmp-XXXXXX", dir, base) : NULL;
    free(dir);
    OT_ALLOC_CHECK(pattern);
    int fd = mkstemp(pattern);
    if (fd < 0) {
        ot_status s = oti_fail(OT_ERR_IO, "%s: cannot create a temporary file next to it: %s",
                              path, strerror(errno));
        free(pattern);
        return s;
    }
    fchmod(fd, 0644);
    f->stream = fdopen(fd, "wb");
    if (!f->stream) {
        close(fd);
        unlink(pattern);
        free(pattern);
        return oti_fail(OT_ERR_IO, "%s: cannot open temporary file", path);
    }
    f->temp_path = pattern;
    f->final_path = oti_strdup(path);
    if (!f->final_path) {
        oti_atomic_abort(f);
        return OT_ERR_MEMORY;
    }
    return OT_OK;
}

void oti_atomic_abort(ot_atomic_file *f) {
    if (f->stream) fclose(f->stream);
    if (f->temp_path) unlink(f->temp_path);
    free(f->temp_path);
    free(f->final_path);
    memset(f, 0, sizeof *f);
}

static ot_status commit(ot_atomic_file *f, int durable) {
    int failed = fflush(f->stream) != 0 || ferror(f->stream);
    int saved_errno = errno;
    if (!failed && durable && fsync(fileno(f->stream)) != 0) {
        failed = 1;
        saved_errno = errno;
    }
    if (fclose(f->stream) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    f->stream = NULL;
    if (failed) {
        ot_status s = oti_fail(OT_ERR_IO, "%s: write failed: %s (the previous file, if any, is "
                              "untouched)", f->final_path, strerror(saved_errno));
        oti_atomic_abort(f);
        return s;
    }
    if (rename(f->temp_path, f->final_path) != 0) {
        ot_status s = oti_fail(OT_ERR_IO, "%s: cannot replace: %s", f->final_path, strerror(errno));
        oti_atomic_abort(f);
        return s;
    }
    if (durable) { /* make the rename itself durable */
        /* The folder's name on the stack: nothing here may fail after the rename. */
        char dir[PATH_MAX];
        const char *slash = strrchr(f->final_path, '/');
        size_t len = !slash ? 1 : slash == f->final_path ? 1 : (size_t)(slash - f->final_path);
        if (len < sizeof dir) {
            memcpy(dir, slash ? f->final_path : ".", len);
            dir[len] = '\0';
            int dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
            if (dir_fd >= 0) {
                fsync(dir_fd);
                close(dir_fd);
            }
        }
    }
    free(f->temp_path);
    free(f->final_path);
    memset(f, 0, sizeof *f);
    return OT_OK;
}

ot_status oti_atomic_commit(ot_atomic_file *f) { return commit(f, 1); }

ot_status oti_atomic_commit_unsynced(ot_atomic_file *f) { return commit(f, 0); }

ot_status oti_write_file_atomic(const char *path, const void *data, size_t size) {
    ot_atomic_file f;
    OT_TRY(oti_atomic_open(&f, path));
    if (size && fwrite(data, 1, size, f.stream) != size) {
        ot_status s = oti_fail(OT_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        oti_atomic_abort(&f);
        return s;
    }
    return oti_atomic_commit(&f);
}

ot_status oti_check_writable(const char *path) {
    ot_atomic_file f;
    OT_TRY(oti_atomic_open(&f, path));
    /* A few KiB catches a full disk, which an empty file would not: local filesystems refuse
     * the write itself (ext4 and XFS reserve blocks at write time, tmpfs allocates), NFS
     * reports it at close. No fsync: it would wait for the journal to commit everything
     * written before (10 ms after a previous run) and finds nothing the close does not. */
    char block[4096] = {0};
    int failed = fwrite(block, 1, sizeof block, f.stream) != sizeof block || fflush(f.stream) != 0;
    int saved_errno = errno;
    if (fclose(f.stream) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    f.stream = NULL;
    oti_atomic_abort(&f);
    if (failed)
        return oti_fail(OT_ERR_IO, "%s: cannot write there: %s", path, strerror(saved_errno));
    return OT_OK;
}
