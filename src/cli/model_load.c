/* The one way commands load their model: ONNX, or Caffe's .prototxt + --weights .caffemodel. */
#include "model_load.h"

#include "onnxtrain/caffe_io.h"
#include "onnxtrain/onnx_io.h"

int cli_load_model(const cli_args *args, const ot_context *ctx, const char *path, ot_model **out,
                   int *rc) {
    const char *weights = cli_get(args, "weights");
    *out = NULL;
    if (!ot_caffe_is_prototxt(path) && weights) {
        cli_error(args, "--weights goes with a Caffe network definition (.prototxt), not %s", path);
        *rc = 2;
        return 0;
    }
    ot_status status = ot_caffe_is_prototxt(path) ? ot_caffe_load(ctx, path, weights, out)
                                                  : ot_onnx_load(ctx, path, out);
    if (status == OT_OK) return 1;
    *rc = cli_fail(args);
    return 0;
}
