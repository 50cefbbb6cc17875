/* NumPy .npz: a zip archive of .npy members named "<array name>.npy", stored (np.savez) or
 * deflated (np.savez_compressed). Each member is parsed by the .npy reader. */
#include <string.h>

#include "../core/util.h"
#include "onnxtrain/npy.h"
#include "weights_internal.h"

ot_status ot_npz_parse(const unsigned char *data, size_t size, const char *path, ot_weights *out) {
    ot_zip zip;
    OT_TRY(ot_zip_open(&zip, data, size, path));
    ot_status status = OT_OK;
    for (int i = 0; i < zip.n_entries && status == OT_OK; i++) {
        const char *entry = zip.entries[i].name;
        size_t len = strlen(entry);
        if (len <= 4 || strcmp(entry + len - 4, ".npy") != 0) {
            status = ot_fail(OT_ERR_FORMAT, "%s: member '%s' is not a .npy array", path, entry);
            break;
        }
        char *name = ot_xstrndup(entry, len - 4);
        char *what = ot_xasprintf("%s: tensor '%s'", path, name);
        unsigned char *member;
        size_t member_size;
        status = ot_zip_extract(&zip, i, &member, &member_size);
        if (status == OT_OK) {
            ot_tensor t = {0};
            status = ot_npy_parse(member, member_size, what, &t);
            free(member);
            if (status == OT_OK) status = ot_weights_float_dtype(&t, what);
            if (status == OT_OK) status = ot_weights_add(out, path, name, &t, NULL, NULL);
            ot_tensor_free(&t);
        }
        free(what);
        free(name);
    }
    ot_zip_close(&zip);
    return status;
}

ot_status ot_npz_save(const char *path, const ot_weights *w, int compress) {
    ot_zip_writer zw;
    OT_TRY(ot_zip_writer_open(&zw, path));
    for (int i = 0; i < w->count; i++) {
        const ot_named_tensor *item = &w->items[i];
        unsigned char *npy;
        size_t npy_size;
        ot_status status = ot_npy_serialize(&item->tensor, &npy, &npy_size);
        if (status != OT_OK) {
            ot_error_prefix("%s: tensor '%s': ", path, item->name);
            ot_zip_writer_abort(&zw);
            return status;
        }
        char *entry = ot_xasprintf("%s.npy", item->name);
        status = ot_zip_writer_add(&zw, entry, npy, npy_size,
                                   compress ? OT_ZIP_DEFLATED : OT_ZIP_STORED);
        free(entry);
        free(npy);
        if (status != OT_OK) {
            ot_zip_writer_abort(&zw);
            return status;
        }
    }
    return ot_zip_writer_finish(&zw);
}
