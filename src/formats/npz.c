/* NumPy .npz archives: members parsed and serialised by the .npy code, held by the zip code. */
#include "npz.h"

#include <string.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "core/util.h"
#include "npy.h"

ot_status oti_npz_read(const ot_context *ctx, const unsigned char *data, size_t size,
                      const char *path, ot_npz_visitor visit, void *user) {
    ot_zip zip;
    OT_TRY(oti_zip_open(ctx, &zip, data, size, path));
    ot_status status = OT_OK;
    for (int i = 0; i < zip.n_entries && status == OT_OK; i++) {
        const char *entry = zip.entries[i].name;
        size_t len = strlen(entry);
        if (len <= 4 || strcmp(entry + len - 4, ".npy") != 0) {
            status = oti_fail(OT_ERR_FORMAT, "%s: member '%s' is not a .npy array", path, entry);
            break;
        }
        char *name = oti_strndup(entry, len - 4);
        char *what = name ? oti_asprintf("%s: tensor '%s'", path, name) : NULL;
        unsigned char *member;
        size_t member_size;
        status = what ? oti_zip_extract(&zip, i, &member, &member_size) : OT_ERR_MEMORY;
        if (status == OT_OK) {
            ot_tensor t = {0};
            status = oti_npy_parse(ctx, member, member_size, what, &t);
            free(member);
            if (status == OT_OK) status = visit(user, name, what, &t);
            ot_tensor_free(&t);
        }
        free(what);
        free(name);
    }
    oti_zip_close(&zip);
    return status;
}

ot_status oti_npz_load(const ot_context *ctx, const char *path, ot_npz_visitor visit, void *user) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_read_file(path, 0, &data, &size));
    ot_status status = oti_npz_read(ctx, data, size, path, visit, user);
    free(data);
    return status;
}

ot_status oti_npz_writer_open(ot_npz_writer *w, const char *path, int compress) {
    w->compress = compress;
    return oti_zip_writer_open(&w->zip, path);
}

ot_status oti_npz_writer_add(ot_npz_writer *w, const char *name, const ot_tensor *t) {
    unsigned char *npy;
    size_t npy_size;
    ot_status status = oti_npy_serialize(t, &npy, &npy_size);
    if (status != OT_OK) {
        oti_error_prefix("%s: tensor '%s': ", w->zip.file.final_path, name);
        oti_zip_writer_abort(&w->zip);
        return status;
    }
    char *entry = oti_asprintf("%s.npy", name);
    status = entry ? oti_zip_writer_add(&w->zip, entry, npy, npy_size,
                                        w->compress ? OT_ZIP_DEFLATED : OT_ZIP_STORED)
                   : OT_ERR_MEMORY;
    free(entry);
    free(npy);
    if (status != OT_OK) oti_zip_writer_abort(&w->zip);
    return status;
}

ot_status oti_npz_writer_finish(ot_npz_writer *w) {
    return oti_zip_writer_finish(&w->zip);
}
