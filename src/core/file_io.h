/* Reading whole files and writing files atomically.
 *
 * Every file onnxtrain writes goes through ot_atomic_file: data goes to a temporary file in
 * the target's folder, is flushed to disk, then renamed over the target, so a crash or a kill
 * leaves either the old file or the new one, never a torn one. */
#ifndef ONNXTRAIN_FILE_IO_H
#define ONNXTRAIN_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole regular file (at most max_bytes; 0: no limit beyond memory). Caller frees. */
ot_status oti_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size);

typedef struct ot_atomic_file {
    FILE *stream; /* write here */
    char *final_path;
    char *temp_path;
} ot_atomic_file;

/* Opens a temporary file next to path. */
ot_status oti_atomic_open(ot_atomic_file *f, const char *path);
/* Flushes, fsyncs, renames over the target. Closes f in every case. */
ot_status oti_atomic_commit(ot_atomic_file *f);
/* As oti_atomic_commit without the fsyncs, for files whose reader verifies every byte
 * (checksums and sizes) and rebuilds them when they do not check out, such as the
 * frozen-feature cache: a kill still leaves the old file or the new one; a power loss may
 * leave a torn new one, which the reader rejects. Saves ~10 ms per file. */
ot_status oti_atomic_commit_unsynced(ot_atomic_file *f);
/* Removes the temporary file, leaving the target untouched. */
void oti_atomic_abort(ot_atomic_file *f);
/* Writes a whole buffer atomically. */
ot_status oti_write_file_atomic(const char *path, const void *data, size_t size);

/* Checks that a file could be created in path's folder (exists, writable, not full), by
 * creating and removing a temporary file there. Used before long work starts. */
ot_status oti_check_writable(const char *path);

/* The folder part of a path ("." if none). Caller frees. */
char *oti_path_dirname(const char *path);
/* The name after the last '/' (all of path if none), inside path. */
const char *oti_path_base(const char *path);
/* Joins folder and name. Caller frees. */
char *oti_path_join(const char *dir, const char *name);
/* Creates a folder and its parents if missing. */
ot_status oti_make_dirs(const char *path);

#ifdef __cplusplus
}
#endif
#endif
