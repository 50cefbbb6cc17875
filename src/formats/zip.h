/* Zip archives, as used by .npz and PyTorch's torch.save: a reader over a buffer in memory
 * (stored and deflated entries, ZIP64, every size and offset checked against the buffer) and
 * a writer that streams entries into an atomically written file. Nothing is ever extracted
 * to disk, so entry names are only compared, never used as paths. */
#ifndef ONNXTRAIN_ZIP_H
#define ONNXTRAIN_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/file_io.h"
#include "onnxtrain/context.h"
#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { OT_ZIP_STORED = 0, OT_ZIP_DEFLATED = 8 };

typedef struct ot_zip_entry {
    char *name;              /* as stored (UTF-8 or CP437 bytes), NUL-terminated */
    uint16_t method;         /* OT_ZIP_STORED or OT_ZIP_DEFLATED */
    uint32_t crc32;
    uint64_t compressed_size;
    uint64_t size;           /* uncompressed */
    uint64_t data_offset;    /* where the (compressed) bytes start in the buffer */
} ot_zip_entry;

typedef struct ot_zip {
    const ot_context *context; /* its memory limit bounds extracted entries */
    const unsigned char *data; /* borrowed */
    size_t size;
    char *what;                /* the file's name, for messages */
    ot_zip_entry *entries;
    int n_entries;
} ot_zip;

/* True if the buffer starts like a zip archive (a local header, or an empty archive). */
int oti_zip_sniff(const unsigned char *data, size_t size);

/* Reads the central directory of the archive in data[0..size) (borrowed: it must outlive
 * the ot_zip). Refuses encrypted entries, methods other than stored/deflated, duplicate
 * names, and any size or offset outside the buffer. */
ot_status oti_zip_open(const ot_context *ctx, ot_zip *zip, const unsigned char *data, size_t size, const char *what);
void oti_zip_close(ot_zip *zip);
/* Index of the entry with this exact name, or -1. */
int oti_zip_find(const ot_zip *zip, const char *name);
/* Decompresses an entry into a new buffer (caller frees), checking its size and CRC-32. */
ot_status oti_zip_extract(const ot_zip *zip, int index, unsigned char **data, size_t *size);

/* Writer. Entries are written in order; ZIP64 records are used when a size, an offset or
 * the entry count needs them (or always, with force_zip64, which tests use). */
typedef struct ot_zip_writer {
    ot_atomic_file file;
    uint64_t offset;     /* bytes written so far */
    ot_zip_entry *entries;
    int n_entries, capacity;
    int force_zip64;
    int failed;
} ot_zip_writer;

ot_status oti_zip_writer_open(ot_zip_writer *w, const char *path);
/* Adds one entry; method OT_ZIP_STORED or OT_ZIP_DEFLATED. */
ot_status oti_zip_writer_add(ot_zip_writer *w, const char *name, const void *data, size_t size,
                            int method);
/* Writes the central directory and replaces the target file. Closes w in every case. */
ot_status oti_zip_writer_finish(ot_zip_writer *w);
/* Discards everything; the target file is untouched. */
void oti_zip_writer_abort(ot_zip_writer *w);

#ifdef __cplusplus
}
#endif
#endif
