/* .caffemodel -> each layer's weight blobs as float tensors. A .caffemodel is a serialized
 * NetParameter; protobuf-c reads it with our subset of Caffe's schema (proto/caffe.proto),
 * after the same wire-format limits as ONNX files (nesting, lengths, decoded size). */
#include <stdlib.h>
#include <string.h>

#include "caffe.pb-c.h"
#include "caffe_internal.h"
#include "core/util.h"
#include "onnx/onnx_internal.h"

/* Dims from `shape`, or else the legacy num/channels/height/width (all four, as Caffe's
 * BlobProto wrote them). */
static ot_status blob_dims(const Caffe__BlobProto *p, const char *what, int *ndim, int64_t *dims) {
    if (p->shape) {
        if (p->shape->n_dim > OT_MAX_DIMS)
            return oti_fail(OT_ERR_UNSUPPORTED, "%s has %zu dims; at most %d are supported", what,
                            p->shape->n_dim, OT_MAX_DIMS);
        *ndim = (int)p->shape->n_dim;
        for (int d = 0; d < *ndim; d++) dims[d] = p->shape->dim[d];
    } else {
        int64_t legacy[4] = {p->num, p->channels, p->height, p->width};
        *ndim = 4;
        memcpy(dims, legacy, sizeof legacy);
    }
    for (int d = 0; d < *ndim; d++)
        if (dims[d] < 0 || dims[d] > ((int64_t)1 << 40))
            return oti_fail(OT_ERR_FORMAT, "%s has dim %d of size %lld", what, d,
                            (long long)dims[d]);
    return OT_OK;
}

/* One BlobProto: float `data` or `double_data`, as many values as its shape holds. */
static ot_status import_blob(const ot_context *ctx, const Caffe__BlobProto *p, const char *what,
                             ot_tensor *out) {
    int ndim = 0;
    int64_t dims[OT_MAX_DIMS];
    OT_TRY(blob_dims(p, what, &ndim, dims));
    int64_t count = ot_dims_numel(ndim, dims);
    size_t given = p->n_data ? p->n_data : p->n_double_data;
    if (p->n_data && p->n_double_data)
        return oti_fail(OT_ERR_FORMAT, "%s has both float and double data", what);
    if (count < 0 || (uint64_t)count != given)
        return oti_fail(OT_ERR_FORMAT, "%s has %zu values but its shape holds %lld", what, given,
                        (long long)count);
    OT_TRY(ot_tensor_alloc(ctx, out, OT_FLOAT, ndim, dims, what));
    float *dst = out->data;
    if (p->n_data) memcpy(dst, p->data, sizeof(float) * given);
    for (size_t i = 0; i < p->n_double_data; i++) dst[i] = (float)p->double_data[i];
    return OT_OK;
}

static ot_status add_layer(const ot_context *ctx, caffe_weights *w, const char *name,
                           size_t n_blobs, Caffe__BlobProto *const *blobs, const char *what) {
    caffe_layer_blobs *l = &w->layers[w->count];
    memset(l, 0, sizeof *l);
    l->layer = oti_strdup(name ? name : "");
    OT_ALLOC_CHECK(l->layer);
    w->count++; /* oti_caffe_weights_free frees what is filled */
    l->blobs = oti_calloc(n_blobs + 1, sizeof(ot_tensor));
    OT_ALLOC_CHECK(l->blobs);
    for (size_t k = 0; k < n_blobs; k++) {
        char *blob_what = oti_asprintf("%s: layer '%s' blob %zu", what, l->layer, k);
        OT_ALLOC_CHECK(blob_what);
        ot_status status = import_blob(ctx, blobs[k], blob_what, &l->blobs[k]);
        free(blob_what);
        OT_TRY(status);
        l->count++;
    }
    return OT_OK;
}

static ot_status import_net(const ot_context *ctx, const Caffe__NetParameter *net, const char *what,
                            caffe_weights *w) {
    w->layers = oti_calloc(net->n_layer + net->n_layers + 1, sizeof(caffe_layer_blobs));
    OT_ALLOC_CHECK(w->layers);
    for (size_t i = 0; i < net->n_layer; i++)
        OT_TRY(add_layer(ctx, w, net->layer[i]->name, net->layer[i]->n_blobs, net->layer[i]->blobs,
                         what));
    for (size_t i = 0; i < net->n_layers; i++)
        OT_TRY(add_layer(ctx, w, net->layers[i]->name, net->layers[i]->n_blobs,
                         net->layers[i]->blobs, what));
    return OT_OK;
}

ot_status oti_caffe_weights_read(const ot_context *ctx, const void *data, size_t size,
                                 const char *what, caffe_weights *out) {
    memset(out, 0, sizeof *out);
    OT_TRY(oti_onnx_check_limits(ctx, data, size, &caffe__net_parameter__descriptor, what));
    Caffe__NetParameter *net = caffe__net_parameter__unpack(NULL, size, data);
    if (!net)
        return oti_fail(OT_ERR_FORMAT,
                        "%s: not a valid .caffemodel (protobuf parse failed: truncated or "
                        "corrupt file?)",
                        what);
    ot_status status = import_net(ctx, net, what, out);
    caffe__net_parameter__free_unpacked(net, NULL);
    if (status != OT_OK) oti_caffe_weights_free(out);
    return status;
}

void oti_caffe_weights_free(caffe_weights *w) {
    for (int i = 0; i < w->count; i++) {
        for (int k = 0; k < w->layers[i].count; k++) ot_tensor_free(&w->layers[i].blobs[k]);
        free(w->layers[i].blobs);
        free(w->layers[i].layer);
    }
    free(w->layers);
    memset(w, 0, sizeof *w);
}

const caffe_layer_blobs *oti_caffe_weights_find(const caffe_weights *w, const char *layer) {
    for (int i = 0; w && i < w->count; i++)
        if (!strcmp(w->layers[i].layer, layer)) return &w->layers[i];
    return NULL;
}

/* V1LayerParameter.LayerType (Caffe's numbering) by name, and the type string it became. */
const char *oti_caffe_v1_type(const char *enum_name) {
    static const char *const names[][2] = {
        {"ABSVAL", "AbsVal"},
        {"ARGMAX", "ArgMax"},
        {"BNLL", "BNLL"},
        {"CONCAT", "Concat"},
        {"CONVOLUTION", "Convolution"},
        {"DATA", "Data"},
        {"DECONVOLUTION", "Deconvolution"},
        {"DROPOUT", "Dropout"},
        {"ELTWISE", "Eltwise"},
        {"EXP", "Exp"},
        {"FLATTEN", "Flatten"},
        {"IMAGE_DATA", "ImageData"},
        {"INNER_PRODUCT", "InnerProduct"},
        {"LRN", "LRN"},
        {"POOLING", "Pooling"},
        {"POWER", "Power"},
        {"RELU", "ReLU"},
        {"SIGMOID", "Sigmoid"},
        {"SOFTMAX", "Softmax"},
        {"SPLIT", "Split"},
        {"SLICE", "Slice"},
        {"TANH", "TanH"},
        {"ACCURACY", "Accuracy"},
        {"SOFTMAX_LOSS", "SoftmaxWithLoss"},
        {"MVN", "MVN"},
        {"THRESHOLD", "Threshold"},
        {"SILENCE", "Silence"},
        {"HDF5_DATA", "HDF5Data"},
        {"MEMORY_DATA", "MemoryData"},
        {"WINDOW_DATA", "WindowData"},
        {"DUMMY_DATA", "DummyData"},
        {"EUCLIDEAN_LOSS", "EuclideanLoss"},
        {"HINGE_LOSS", "HingeLoss"},
        {"IM2COL", "Im2col"},
        {"INFOGAIN_LOSS", "InfogainLoss"},
        {"MULTINOMIAL_LOGISTIC_LOSS", "MultinomialLogisticLoss"},
        {"SIGMOID_CROSS_ENTROPY_LOSS", "SigmoidCrossEntropyLoss"},
        {"CONTRASTIVE_LOSS", "ContrastiveLoss"},
        {"HDF5_OUTPUT", "HDF5Output"}};
    for (int i = 0; i < OT_COUNT(names); i++)
        if (!strcmp(names[i][0], enum_name)) return names[i][1];
    return NULL;
}
