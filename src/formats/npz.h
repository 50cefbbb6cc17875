/* NumPy .npz: a zip archive of .npy members named "<array name>.npy", stored (np.savez) or
 * deflated (np.savez_compressed). Read by weights (named tensors) and data (x and y). */
#ifndef OT_NPZ_H
#define OT_NPZ_H

#include "formats/zip.h"
#include "onnxtrain/tensor.h"

/* Called once per member, in the archive's order, with the array's name (without ".npy")
 * and its tensor in the file's dtype (float16 becomes float32); the callee may take the
 * tensor's data (leaving t->data NULL), else it is freed after the call. `what` names the
 * member in messages ("FILE: tensor 'x'"). A failing status stops the reading. */
typedef ot_status (*ot_npz_visitor)(void *user, const char *name, const char *what, ot_tensor *t);

/* Parses an archive in memory; `path` names it in messages. */
ot_status oti_npz_read(const ot_context *ctx, const unsigned char *data, size_t size,
                      const char *path, ot_npz_visitor visit, void *user);
ot_status oti_npz_load(const ot_context *ctx, const char *path, ot_npz_visitor visit, void *user);

/* Writes arrays one by one into a new archive, atomically at finish. */
typedef struct ot_npz_writer {
    ot_zip_writer zip;
    int compress;
} ot_npz_writer;

ot_status oti_npz_writer_open(ot_npz_writer *w, const char *path, int compress);
/* On failure the writer is aborted (nothing left behind). */
ot_status oti_npz_writer_add(ot_npz_writer *w, const char *name, const ot_tensor *t);
ot_status oti_npz_writer_finish(ot_npz_writer *w);

#endif
