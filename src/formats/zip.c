/* Zip reader and writer (PKWARE APPNOTE 6.3: local headers, central directory, end record,
 * ZIP64 extensions). The reader trusts only the central directory for sizes (local headers
 * may defer them to data descriptors) and uses each local header just to find where the data
 * starts; every field is checked against the buffer before use. */
#include "zip.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <stdio.h>

#include "core/util.h"
#include "onnxtrain/tensor.h"
#include "core/context_internal.h"

enum {
    LOCAL_SIG = 0x04034b50,
    CENTRAL_SIG = 0x02014b50,
    END_SIG = 0x06054b50,
    ZIP64_END_SIG = 0x06064b50,
    ZIP64_LOCATOR_SIG = 0x07064b50,
    LOCAL_SIZE = 30,
    CENTRAL_SIZE = 46,
    END_SIZE = 22,
    ZIP64_END_SIZE = 56,
    ZIP64_LOCATOR_SIZE = 20,
    ZIP64_EXTRA_ID = 0x0001
};

/* Deflate cannot expand by more than about 1032:1; a larger claimed ratio is a lie. */
#define MAX_DEFLATE_RATIO 1032u

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* True if [offset, offset + length) lies inside a buffer of `size` bytes. */
static int in_bounds(uint64_t offset, uint64_t length, size_t size) {
    return offset <= size && length <= size - offset;
}

int oti_zip_sniff(const unsigned char *data, size_t size) {
    return size >= 4 && data[0] == 'P' && data[1] == 'K' &&
           ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

/* Finds the end-of-central-directory record: the last 22+ bytes, before a comment of at
 * most 64 KiB whose length must reach exactly to the end of the file. */
static ot_status find_end_record(const ot_zip *z, size_t *end_pos) {
    if (z->size < END_SIZE)
        return oti_fail(OT_ERR_FORMAT, "%s: not a zip archive (only %zu bytes: truncated?)",
                       z->what, z->size);
    size_t lowest = z->size - END_SIZE > 65535 ? z->size - END_SIZE - 65535 : 0;
    for (size_t pos = z->size - END_SIZE + 1; pos-- > lowest;) {
        if (rd32(z->data + pos) == END_SIG && pos + END_SIZE + rd16(z->data + pos + 20) == z->size) {
            *end_pos = pos;
            return OT_OK;
        }
    }
    return oti_fail(OT_ERR_FORMAT, "%s: zip end-of-central-directory record not found "
                   "(truncated or not a zip archive)", z->what);
}

typedef struct directory_info {
    uint64_t count, offset, size;
} directory_info;

static ot_status read_end_records(const ot_zip *z, size_t end_pos, directory_info *dir) {
    const unsigned char *e = z->data + end_pos;
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10))
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: multi-part zip archives are not supported", z->what);
    dir->count = rd16(e + 10);
    dir->size = rd32(e + 12);
    dir->offset = rd32(e + 16);
    int needs_zip64 = dir->count == 0xFFFF || dir->size == 0xFFFFFFFF || dir->offset == 0xFFFFFFFF;
    int has_locator = end_pos >= ZIP64_LOCATOR_SIZE &&
                      rd32(z->data + end_pos - ZIP64_LOCATOR_SIZE) == ZIP64_LOCATOR_SIG;
    if (!has_locator) {
        if (needs_zip64)
            return oti_fail(OT_ERR_FORMAT, "%s: zip end record needs a ZIP64 record, which is "
                           "missing (truncated?)", z->what);
        return OT_OK;
    }
    const unsigned char *loc = z->data + end_pos - ZIP64_LOCATOR_SIZE;
    uint64_t record = rd64(loc + 8);
    if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: multi-part zip archives are not supported", z->what);
    if (!in_bounds(record, ZIP64_END_SIZE, end_pos - ZIP64_LOCATOR_SIZE) ||
        rd32(z->data + record) != ZIP64_END_SIG)
        return oti_fail(OT_ERR_FORMAT, "%s: ZIP64 end record offset %llu is outside the archive "
                       "or does not point at one", z->what, (unsigned long long)record);
    const unsigned char *r = z->data + record;
    if (rd32(r + 16) != 0 || rd32(r + 20) != 0 || rd64(r + 24) != rd64(r + 32))
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: multi-part zip archives are not supported", z->what);
    dir->count = rd64(r + 32);
    dir->size = rd64(r + 40);
    dir->offset = rd64(r + 48);
    return OT_OK;
}

/* Replaces the 0xFFFFFFFF fields of a central header with their ZIP64 extra values, which
 * appear in this order and only for the fields that need them. */
static ot_status apply_zip64_extra(const ot_zip *z, const unsigned char *extra, size_t extra_len,
                                   const char *name, uint64_t *size, uint64_t *csize,
                                   uint64_t *offset) {
    int want_size = *size == 0xFFFFFFFF, want_csize = *csize == 0xFFFFFFFF,
        want_offset = *offset == 0xFFFFFFFF;
    if (!want_size && !want_csize && !want_offset) return OT_OK;
    size_t pos = 0;
    while (extra_len - pos >= 4) {
        uint16_t id = rd16(extra + pos), len = rd16(extra + pos + 2);
        if (len > extra_len - pos - 4) break;
        if (id == ZIP64_EXTRA_ID) {
            const unsigned char *f = extra + pos + 4;
            size_t need = 8u * (size_t)(want_size + want_csize + want_offset);
            if (len < need)
                return oti_fail(OT_ERR_FORMAT, "%s: entry '%s': ZIP64 extra field is too short",
                               z->what, name);
            if (want_size) *size = rd64(f), f += 8;
            if (want_csize) *csize = rd64(f), f += 8;
            if (want_offset) *offset = rd64(f);
            return OT_OK;
        }
        pos += 4 + (size_t)len;
    }
    return oti_fail(OT_ERR_FORMAT, "%s: entry '%s': sizes need a ZIP64 extra field, which is "
                   "missing", z->what, name);
}

static int compare_names(const void *a, const void *b) {
    return strcmp((*(const ot_zip_entry *const *)a)->name, (*(const ot_zip_entry *const *)b)->name);
}

static ot_status check_unique_names(const ot_zip *z) {
    if (z->n_entries < 2) return OT_OK;
    const ot_zip_entry **sorted = oti_malloc(sizeof(void *) * (size_t)z->n_entries);
    OT_ALLOC_CHECK(sorted);
    for (int i = 0; i < z->n_entries; i++) sorted[i] = &z->entries[i];
    qsort(sorted, (size_t)z->n_entries, sizeof(void *), compare_names);
    ot_status status = OT_OK;
    for (int i = 1; i < z->n_entries && status == OT_OK; i++)
        if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
            status = oti_fail(OT_ERR_FORMAT, "%s: zip entry '%s' appears twice", z->what,
                             sorted[i]->name);
    free(sorted);
    return status;
}

/* Reads one central header at *pos, advancing it; fills e (name owned). */
static ot_status read_central_entry(const ot_zip *z, const directory_info *dir, uint64_t *pos,
                                    ot_zip_entry *e) {
    uint64_t dir_end = dir->offset + dir->size;
    if (!in_bounds(*pos, CENTRAL_SIZE, dir_end) || rd32(z->data + *pos) != CENTRAL_SIG)
        return oti_fail(OT_ERR_FORMAT, "%s: zip central directory entry %d is truncated or "
                       "corrupt", z->what, z->n_entries);
    const unsigned char *c = z->data + *pos;
    uint16_t flags = rd16(c + 8), name_len = rd16(c + 28), extra_len = rd16(c + 30),
             comment_len = rd16(c + 32);
    uint64_t variable = (uint64_t)name_len + extra_len + comment_len;
    if (!in_bounds(*pos + CENTRAL_SIZE, variable, dir_end))
        return oti_fail(OT_ERR_FORMAT, "%s: zip central directory entry %d runs past the "
                       "directory", z->what, z->n_entries);
    const unsigned char *name = c + CENTRAL_SIZE;
    if (memchr(name, 0, name_len))
        return oti_fail(OT_ERR_FORMAT, "%s: zip entry %d has a NUL byte in its name", z->what,
                       z->n_entries);
    e->name = oti_strndup((const char *)name, name_len);
    OT_ALLOC_CHECK(e->name);
    e->method = rd16(c + 10);
    e->crc32 = rd32(c + 16);
    e->compressed_size = rd32(c + 20);
    e->size = rd32(c + 24);
    uint64_t local = rd32(c + 42);
    *pos += CENTRAL_SIZE + variable;
    OT_TRY(apply_zip64_extra(z, name + name_len, extra_len, e->name, &e->size,
                             &e->compressed_size, &local));
    if (flags & 0x41)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: zip entry '%s' is encrypted", z->what, e->name);
    if (e->method != OT_ZIP_STORED && e->method != OT_ZIP_DEFLATED)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: zip entry '%s' uses compression method %u "
                       "(only stored and deflated are supported)", z->what, e->name, e->method);
    if (e->method == OT_ZIP_STORED && e->size != e->compressed_size)
        return oti_fail(OT_ERR_FORMAT, "%s: zip entry '%s' is stored but its sizes differ "
                       "(%llu vs %llu)", z->what, e->name, (unsigned long long)e->size,
                       (unsigned long long)e->compressed_size);
    /* The local header: same name, then the data, all before the central directory. */
    if (!in_bounds(local, LOCAL_SIZE, dir->offset) || rd32(z->data + local) != LOCAL_SIG)
        return oti_fail(OT_ERR_FORMAT, "%s: zip entry '%s': local header offset %llu is outside "
                       "the archive or corrupt", z->what, e->name, (unsigned long long)local);
    const unsigned char *l = z->data + local;
    uint64_t data_start = local + LOCAL_SIZE + rd16(l + 26) + (uint64_t)rd16(l + 28);
    if (rd16(l + 26) != name_len || !in_bounds(local + LOCAL_SIZE, name_len, dir->offset) ||
        memcmp(l + LOCAL_SIZE, name, name_len) != 0)
        return oti_fail(OT_ERR_FORMAT, "%s: zip entry '%s': local header names a different "
                       "entry", z->what, e->name);
    if (!in_bounds(data_start, e->compressed_size, dir->offset))
        return oti_fail(OT_ERR_FORMAT, "%s: zip entry '%s': %llu bytes of data at offset %llu run "
                       "past the end of the archive (truncated?)", z->what, e->name,
                       (unsigned long long)e->compressed_size, (unsigned long long)data_start);
    e->data_offset = data_start;
    return OT_OK;
}

ot_status oti_zip_open(const ot_context *ctx, ot_zip *zip, const unsigned char *data, size_t size,
                      const char *what) {
    memset(zip, 0, sizeof *zip);
    zip->context = ctx;
    zip->data = data;
    zip->size = size;
    zip->what = oti_strdup(what);
    OT_ALLOC_CHECK_COPY(zip->what, what);
    size_t end_pos = 0;
    directory_info dir = {0, 0, 0};
    ot_status status = find_end_record(zip, &end_pos);
    if (status == OT_OK) status = read_end_records(zip, end_pos, &dir);
    if (status == OT_OK && !in_bounds(dir.offset, dir.size, end_pos))
        status = oti_fail(OT_ERR_FORMAT, "%s: zip central directory (offset %llu, %llu bytes) "
                         "lies outside the archive (truncated?)", what,
                         (unsigned long long)dir.offset, (unsigned long long)dir.size);
    if (status == OT_OK && dir.count > dir.size / CENTRAL_SIZE)
        status = oti_fail(OT_ERR_FORMAT, "%s: zip directory claims %llu entries in %llu bytes",
                         what, (unsigned long long)dir.count, (unsigned long long)dir.size);
    if (status == OT_OK && dir.count > INT_MAX / 2)
        status = oti_fail(OT_ERR_UNSUPPORTED, "%s: too many zip entries", what);
    if (status == OT_OK) {
        zip->entries = oti_calloc((size_t)dir.count + 1, sizeof(ot_zip_entry));
        if (!zip->entries) status = OT_ERR_MEMORY;
        uint64_t pos = dir.offset;
        for (uint64_t i = 0; zip->entries && i < dir.count && status == OT_OK; i++) {
            status = read_central_entry(zip, &dir, &pos, &zip->entries[zip->n_entries]);
            zip->n_entries++; /* counted even on failure so its name is freed */
        }
    }
    if (status == OT_OK) status = check_unique_names(zip);
    if (status != OT_OK) oti_zip_close(zip);
    return status;
}

void oti_zip_close(ot_zip *zip) {
    for (int i = 0; i < zip->n_entries; i++) free(zip->entries[i].name);
    free(zip->entries);
    free(zip->what);
    memset(zip, 0, sizeof *zip);
}

int oti_zip_find(const ot_zip *zip, const char *name) {
    for (int i = 0; i < zip->n_entries; i++)
        if (!strcmp(zip->entries[i].name, name)) return i;
    return -1;
}

static ot_status inflate_entry(const ot_zip *zip, const ot_zip_entry *e, unsigned char *out) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
        return oti_fail(OT_ERR_MEMORY, "%s: entry '%s': out of memory starting zlib", zip->what, e->name);
    const unsigned char *in = zip->data + e->data_offset;
    uint64_t in_left = e->compressed_size, out_left = e->size;
    int rc = Z_OK;
    s.next_out = out;
    /* zlib counts in 32-bit uInt: feed and drain in chunks. */
    while (rc == Z_OK) {
        if (s.avail_in == 0 && in_left) {
            s.next_in = (unsigned char *)in;
            s.avail_in = (uInt)OT_MIN(in_left, (uint64_t)UINT_MAX);
            in += s.avail_in;
            in_left -= s.avail_in;
        }
        if (s.avail_out == 0) {
            s.avail_out = (uInt)OT_MIN(out_left, (uint64_t)UINT_MAX);
            out_left -= s.avail_out;
        }
        uInt before_in = s.avail_in, before_out = s.avail_out;
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc == Z_BUF_ERROR || (rc == Z_OK && s.avail_in == before_in && s.avail_out == before_out))
            break; /* no progress: input ended early or output is full */
    }
    int complete = rc == Z_STREAM_END && s.avail_out == 0 && out_left == 0;
    const char *message = s.msg;
    inflateEnd(&s);
    if (!complete)
        return oti_fail(OT_ERR_FORMAT, "%s: entry '%s': deflated data is corrupt or does not "
                       "give the %llu bytes the directory says (%s)", zip->what, e->name,
                       (unsigned long long)e->size,
                       message ? message : rc == Z_STREAM_END ? "ends early" : "truncated");
    return OT_OK;
}

ot_status oti_zip_extract(const ot_zip *zip, int index, unsigned char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    OT_ASSERT(index >= 0 && index < zip->n_entries);
    const ot_zip_entry *e = &zip->entries[index];
    if (e->size > SIZE_MAX - 1 ||
        (e->method == OT_ZIP_DEFLATED && e->size / MAX_DEFLATE_RATIO > e->compressed_size + 1))
        return oti_fail(OT_ERR_FORMAT, "%s: entry '%s' claims %llu bytes from %llu compressed "
                       "bytes, more than deflate can produce", zip->what, e->name,
                       (unsigned long long)e->size, (unsigned long long)e->compressed_size);
    char *what = oti_asprintf("%s: entry '%s'", zip->what, e->name);
    OT_ALLOC_CHECK(what);
    ot_status status = oti_check_memory(zip->context, (size_t)e->size, what);
    free(what);
    OT_TRY(status);
    unsigned char *out = malloc((size_t)e->size + 1);
    if (!out)
        return oti_fail(OT_ERR_MEMORY, "%s: entry '%s': out of memory allocating %llu bytes", zip->what,
                       e->name, (unsigned long long)e->size);
    if (e->method == OT_ZIP_STORED) {
        if (e->size) memcpy(out, zip->data + e->data_offset, (size_t)e->size);
    } else {
        status = inflate_entry(zip, e, out);
        if (status != OT_OK) {
            free(out);
            return status;
        }
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < e->size;) {
        uInt chunk = (uInt)OT_MIN(e->size - done, (uint64_t)UINT_MAX);
        crc = crc32(crc, out + done, chunk);
        done += chunk;
    }
    if ((uint32_t)crc != e->crc32) {
        free(out);
        return oti_fail(OT_ERR_FORMAT, "%s: entry '%s': CRC-32 mismatch (corrupt data)",
                       zip->what, e->name);
    }
    *data = out;
    *size = (size_t)e->size;
    return OT_OK;
}

/* Writer ---------------------------------------------------------------------------------- */

/* 1980-01-01 00:00: a fixed timestamp keeps output files reproducible. */
enum { DOS_TIME = 0, DOS_DATE = (0 << 9) | (1 << 5) | 1, ZIP64_VERSION = 45, DEFLATE_VERSION = 20 };

typedef struct byte_buffer {
    unsigned char *data;
    size_t len, cap;
    int failed; /* memory ran out: later puts do nothing; checked before writing */
} byte_buffer;

static void put_bytes(byte_buffer *b, const void *data, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = OT_MAX(b->len + n, b->cap * 2 + 64);
        unsigned char *grown = oti_realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}
static void put16(byte_buffer *b, unsigned v) {
    unsigned char p[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put_bytes(b, p, 2);
}
static void put32(byte_buffer *b, uint32_t v) {
    put16(b, v & 0xFFFF);
    put16(b, v >> 16);
}
static void put64(byte_buffer *b, uint64_t v) {
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static ot_status write_out(ot_zip_writer *w, const void *data, size_t n) {
    if (w->failed) return OT_ERR_IO;
    if (n && fwrite(data, 1, n, w->file.stream) != n) {
        w->failed = 1;
        return oti_fail(OT_ERR_IO, "%s: write failed", w->file.final_path);
    }
    w->offset += n;
    return OT_OK;
}

ot_status oti_zip_writer_open(ot_zip_writer *w, const char *path) {
    memset(w, 0, sizeof *w);
    return oti_atomic_open(&w->file, path);
}

/* Raw deflate of a whole buffer into a new one. */
static ot_status deflate_buffer(const char *name, const unsigned char *in, size_t size,
                                unsigned char **out, size_t *out_size) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return oti_fail(OT_ERR_MEMORY, "zip entry '%s': out of memory starting zlib", name);
    size_t cap = (size_t)deflateBound(&s, (uLong)size);
    unsigned char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&s);
        return oti_fail(OT_ERR_MEMORY, "zip entry '%s': out of memory allocating %zu bytes", name, cap);
    }
    size_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        uInt in_chunk = (uInt)OT_MIN(size - in_done, (size_t)UINT_MAX);
        uInt out_chunk = (uInt)OT_MIN(cap - out_done, (size_t)UINT_MAX);
        s.next_in = (unsigned char *)in + in_done;
        s.avail_in = in_chunk;
        s.next_out = buf + out_done;
        s.avail_out = out_chunk;
        int last = in_done + in_chunk == size;
        rc = deflate(&s, last ? Z_FINISH : Z_NO_FLUSH);
        in_done += in_chunk - s.avail_in;
        out_done += out_chunk - s.avail_out;
        if (rc == Z_STREAM_ERROR || (rc == Z_BUF_ERROR && out_done == cap)) break;
    }
    deflateEnd(&s);
    if (rc != Z_STREAM_END) {
        free(buf);
        return oti_fail(OT_ERR_MEMORY, "zip entry '%s': deflate failed", name);
    }
    *out = buf;
    *out_size = out_done;
    return OT_OK;
}

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

ot_status oti_zip_writer_add(ot_zip_writer *w, const char *name, const void *data, size_t size,
                            int method) {
    OT_ASSERT(method == OT_ZIP_STORED || method == OT_ZIP_DEFLATED);
    if (w->failed) return oti_fail(OT_ERR_IO, "%s: an earlier write failed", w->file.final_path);
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > 0xFFFF)
        return oti_fail(OT_ERR_INVALID, "zip entry name '%.40s' is empty or too long", name);
    for (int i = 0; i < w->n_entries; i++)
        if (!strcmp(w->entries[i].name, name))
            return oti_fail(OT_ERR_INVALID, "zip entry '%s' would appear twice", name);
    unsigned char *packed = NULL;
    size_t packed_size = size;
    if (method == OT_ZIP_DEFLATED) OT_TRY(deflate_buffer(name, data, size, &packed, &packed_size));
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < size;) {
        uInt chunk = (uInt)OT_MIN(size - done, (size_t)UINT_MAX);
        crc = crc32(crc, (const unsigned char *)data + done, chunk);
        done += chunk;
    }
    char *entry_name = oti_strdup(name);
    if (!entry_name ||
        oti_grow_array((void **)&w->entries, &w->capacity, w->n_entries + 1, sizeof(ot_zip_entry)) != OT_OK) {
        free(entry_name);
        free(packed);
        return OT_ERR_MEMORY;
    }
    ot_zip_entry *e = &w->entries[w->n_entries++];
    e->name = entry_name;
    e->method = (uint16_t)method;
    e->crc32 = (uint32_t)crc;
    e->size = size;
    e->compressed_size = packed_size;
    e->data_offset = w->offset; /* the writer keeps the local header's offset here */
    int zip64 = w->force_zip64 || size >= 0xFFFFFFFFu || packed_size >= 0xFFFFFFFFu;
    byte_buffer h = {0};
    put32(&h, LOCAL_SIG);
    put16(&h, zip64 ? ZIP64_VERSION : DEFLATE_VERSION);
    put16(&h, is_ascii(name) ? 0 : 1u << 11); /* bit 11: the name is UTF-8 */
    put16(&h, (unsigned)method);
    put16(&h, DOS_TIME);
    put16(&h, DOS_DATE);
    put32(&h, (uint32_t)crc);
    put32(&h, zip64 ? 0xFFFFFFFFu : (uint32_t)packed_size);
    put32(&h, zip64 ? 0xFFFFFFFFu : (uint32_t)size);
    put16(&h, (unsigned)name_len);
    put16(&h, zip64 ? 20 : 0);
    put_bytes(&h, name, name_len);
    if (zip64) { /* the local ZIP64 extra always holds both sizes */
        put16(&h, ZIP64_EXTRA_ID);
        put16(&h, 16);
        put64(&h, size);
        put64(&h, packed_size);
    }
    ot_status status = h.failed ? OT_ERR_MEMORY : write_out(w, h.data, h.len);
    if (status == OT_OK) status = write_out(w, packed ? packed : data, packed_size);
    free(h.data);
    free(packed);
    return status;
}

static void central_entry(const ot_zip_writer *w, const ot_zip_entry *e, byte_buffer *b) {
    int big_size = w->force_zip64 || e->size >= 0xFFFFFFFFu;
    int big_csize = w->force_zip64 || e->compressed_size >= 0xFFFFFFFFu;
    int big_offset = w->force_zip64 || e->data_offset >= 0xFFFFFFFFu;
    int zip64 = big_size || big_csize || big_offset;
    size_t name_len = strlen(e->name);
    unsigned extra_len = zip64 ? 4u + 8u * (unsigned)(big_size + big_csize + big_offset) : 0;
    put32(b, CENTRAL_SIG);
    put16(b, 3u << 8 | ZIP64_VERSION); /* made by: Unix, spec 4.5 */
    put16(b, zip64 ? ZIP64_VERSION : DEFLATE_VERSION);
    put16(b, is_ascii(e->name) ? 0 : 1u << 11);
    put16(b, e->method);
    put16(b, DOS_TIME);
    put16(b, DOS_DATE);
    put32(b, e->crc32);
    put32(b, big_csize ? 0xFFFFFFFFu : (uint32_t)e->compressed_size);
    put32(b, big_size ? 0xFFFFFFFFu : (uint32_t)e->size);
    put16(b, (unsigned)name_len);
    put16(b, extra_len);
    put16(b, 0); /* comment */
    put16(b, 0); /* disk */
    put16(b, 0); /* internal attributes */
    put32(b, 0100644u << 16); /* external: a regular file, rw-r--r-- */
    put32(b, big_offset ? 0xFFFFFFFFu : (uint32_t)e->data_offset);
    put_bytes(b, e->name, name_len);
    if (zip64) {
        put16(b, ZIP64_EXTRA_ID);
        put16(b, extra_len - 4);
        if (big_size) put64(b, e->size);
        if (big_csize) put64(b, e->compressed_size);
        if (big_offset) put64(b, e->data_offset);
    }
}

ot_status oti_zip_writer_finish(ot_zip_writer *w) {
    if (w->failed) { /* the failing write already left its message */
        oti_zip_writer_abort(w);
        return OT_ERR_IO;
    }
    byte_buffer b = {0};
    uint64_t dir_offset = w->offset;
    for (int i = 0; i < w->n_entries; i++) central_entry(w, &w->entries[i], &b);
    uint64_t dir_size = b.len;
    int zip64 = w->force_zip64 || w->n_entries >= 0xFFFF || dir_offset >= 0xFFFFFFFFu ||
                dir_size >= 0xFFFFFFFFu;
    if (zip64) {
        uint64_t record = dir_offset + dir_size;
        put32(&b, ZIP64_END_SIG);
        put64(&b, ZIP64_END_SIZE - 12); /* size of the rest of the record */
        put16(&b, 3u << 8 | ZIP64_VERSION);
        put16(&b, ZIP64_VERSION);
        put32(&b, 0);
        put32(&b, 0);
        put64(&b, (uint64_t)w->n_entries);
        put64(&b, (uint64_t)w->n_entries);
        put64(&b, dir_size);
        put64(&b, dir_offset);
        put32(&b, ZIP64_LOCATOR_SIG);
        put32(&b, 0);
        put64(&b, record);
        put32(&b, 1);
    }
    put32(&b, END_SIG);
    put16(&b, 0);
    put16(&b, 0);
    put16(&b, zip64 ? 0xFFFF : (unsigned)w->n_entries);
    put16(&b, zip64 ? 0xFFFF : (unsigned)w->n_entries);
    put32(&b, zip64 ? 0xFFFFFFFFu : (uint32_t)dir_size);
    put32(&b, zip64 ? 0xFFFFFFFFu : (uint32_t)dir_offset);
    put16(&b, 0);
    ot_status status = b.failed ? OT_ERR_MEMORY : write_out(w, b.data, b.len);
    free(b.data);
    if (status != OT_OK) {
        oti_zip_writer_abort(w);
        return status;
    }
    for (int i = 0; i < w->n_entries; i++) free(w->entries[i].name);
    free(w->entries);
    w->entries = NULL;
    w->n_entries = 0;
    return oti_atomic_commit(&w->file);
}

void oti_zip_writer_abort(ot_zip_writer *w) {
    for (int i = 0; i < w->n_entries; i++) free(w->entries[i].name);
    free(w->entries);
    w->entries = NULL;
    w->n_entries = 0;
    if (w->file.stream) oti_atomic_abort(&w->file);
}
