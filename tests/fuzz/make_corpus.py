#!/usr/bin/env python3
"""Rebuilds the seed corpora in tests/fuzz/corpus/<target>/: copies of the small committed
fixtures plus handmade edge cases written here (standard library only). The two colour JPEGs
(images/rgb*.jpg, written once with libjpeg) are kept as committed, and so are two event files
the damaged ones are made from: event_file/ours.tfevents (`onnxtrain train --tensorboard`, 2
epochs of 2 steps) and event_file/tensorboard_writer.tfevents (TensorBoard's own writer:
`tools/py tools/write_tensorboard_log.py DIR LOG.csv 3 1`)."""
import glob, gzip, json, os, shutil, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures")
OUT = os.path.join(HERE, "corpus")
NODE = "/usr/share/libonnx-testdata/data/node"
NODE_TESTS = """conv_with_strides_padding gather_0 reshape_negative_dim slice constant_pad
constantofshape_int_zeros expand_dim_changed tile maxpool_2d_pads averagepool_2d_ceil
batchnorm_example gemm_default_vector_bias if loop11 split_equal_parts_1d concat_2d_axis_0
transpose_all_permutations_0 cast_FLOAT_to_DOUBLE convtranspose reduce_mean_keepdims_example
softmax_axis_1 where_example layer_normalization_2d_axis0 lrn gather_negative_indices
unsqueeze_axis_0 range_float_type_positive_delta_expanded scan9_sum lstm_with_peepholes
gru_seq_length rnn_seq_length einsum_batch_diagonal einsum_batch_matmul tril_neg triu_one_row
cumsum_1d_reverse_exclusive argmax_keepdims_example_select_last_index and_bcast3v1d
range_float_type_positive_delta resize_tf_crop_and_resize resize_upsample_scales_cubic
resize_downsample_sizes_nearest_tf_half_pixel_for_nn resize_upsample_sizes_nearest_ceil_half_pixel
upsample_nearest nonmaxsuppression_two_batches nonzero_example unique_sorted_with_axis compress_0""".split()


def put(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def copy(target, pattern, prefix=""):
    for path in sorted(glob.glob(os.path.join(FIX, pattern))):
        with open(path, "rb") as f:
            put(target, prefix + os.path.basename(path), f.read())


def npy(descr, shape, payload, version=1):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header.encode() + payload


def zip_archive(members, deflate=False):
    """A minimal zip (stored or deflated members) as numpy.savez writes it."""
    body, central = b"", b""
    for name, data in members:
        crc = zlib.crc32(data)
        packed = zlib.compress(data)[2:-4] if deflate else data
        method = 8 if deflate else 0
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(packed),
                            len(data), len(name), 0) + name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc,
                               len(packed), len(data), len(name), 0, 0, 0, 0, 0,
                               len(body)) + name.encode()
        body += local + packed
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(body), 0)
    return body + central + end


def safetensors(header, payload):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + payload


def png(width, height, color, depth, rows, extra=b"", interlace=0):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_pair(images, labels):
    return struct.pack("<H", len(images)) + images + labels


def main():
    # ONNX: the importer's fixtures (good and bad), small trained models, backend node tests.
    copy("onnx", "onnx/*.onnx")
    copy("onnx", "onnx/bad/*")
    copy("onnx", "train/mlp*.onnx", "train_")
    copy("onnx", "weights/cnn.onnx")
    copy("onnx", "sequence/gru_op13.onnx")  # a PyTorch export with GRU, Gather over token ids
    # Subgraphs: PyTorch's If and Loop, an If in a Loop body, Scan axes, a 2^62 trip count, an
    # endless loop, a branch reading an undefined value.
    copy("onnx", "control_flow/*.onnx", "control_flow_")
    for test in NODE_TESTS:
        path = os.path.join(NODE, "test_" + test, "model.onnx")
        if os.path.exists(path):
            shutil.copyfile(path, os.path.join(OUT, "onnx", "test_%s.onnx" % test))
    # Nesting: GraphProto inside AttributeProto inside NodeProto, 40 levels (under the limit).
    inner = b""
    for _ in range(40):
        attr = b"\x0a\x01g" + b"\x32" + varint(len(inner)) + inner + b"\xa0\x01\x05"
        node_msg = b"\x22\x02If" + b"\x2a" + varint(len(attr)) + attr
        inner = b"\x0a" + varint(len(node_msg)) + node_msg
    put("onnx", "nested_graphs.onnx", b"\x08\x08" + b"\x3a" + varint(len(inner)) + inner +
        b"\x42\x02\x10\x11")

    # .npy: fixtures plus version 2/3 headers, zero-size and 8-dim arrays, Fortran order.
    copy("npy", "npy/*")
    copy("npy", "weights/dtypes_*.npy")
    put("npy", "v2.npy", npy("<f4", "(2,)", struct.pack("<2f", 1, 2), version=2))
    put("npy", "empty.npy", npy("<i8", "(0, 3)", b""))
    put("npy", "eight_dims.npy", npy("|u1", "(1, 1, 1, 1, 1, 1, 2, 1)", b"\x01\x02"))
    put("npy", "u2_big.npy", npy(">u2", "(3,)", struct.pack(">3H", 1, 2, 3)))

    # .npz: fixtures plus stored/deflated archives of x/y arrays for the dataset stage.
    copy("npz", "weights/*.npz")
    copy("npz", "data/*.npz", "data_")
    copy("npz", "train/data.npz", "train_")
    x = npy("<f4", "(4, 2)", struct.pack("<8f", *range(8)))
    y = npy("<i8", "(4,)", struct.pack("<4q", 0, 1, 2, 1))
    put("npz", "xy_stored.npz", zip_archive([("x.npy", x), ("y.npy", y)]))
    put("npz", "xy_deflated.npz", zip_archive([("x.npy", x), ("y.npy", y)], deflate=True))
    put("npz", "xy_targets.npz", zip_archive([("x.npy", x), ("y.npy", npy("<f8", "(4, 1)", struct.pack("<4d", 0.5, 1, 2, 3)))]))

    # safetensors: fixtures plus metadata, an empty file, every dtype, zero-size tensors.
    copy("safetensors", "weights/*.safetensors")
    put("safetensors", "empty.safetensors", safetensors({}, b""))
    put("safetensors", "metadata.safetensors", safetensors(
        {"__metadata__": {"format": "pt"}, "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
         "b": {"dtype": "BOOL", "shape": [0, 3], "data_offsets": [4, 4]},
         "c": {"dtype": "BF16", "shape": [], "data_offsets": [4, 6]}}, b"\x00\x3c\x00\xc0\x80\x3f"))

    copy("torch_pt", "weights/*.pt")
    copy("keras_h5", "weights/*.h5")

    # IDX: images and labels (raw, gzip, mismatched counts), as one input split by a length.
    images = open(os.path.join(FIX, "data/images.idx"), "rb").read()
    labels = open(os.path.join(FIX, "data/labels.idx"), "rb").read()
    put("idx", "raw.bin", idx_pair(images, labels))
    put("idx", "gzip.bin", idx_pair(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
    put("idx", "short_labels.bin", idx_pair(images, open(os.path.join(FIX, "data/labels_short.idx"), "rb").read()))
    put("idx", "four_dims.bin", idx_pair(idx([2, 1, 2, 2], bytes(range(8))), idx([2], b"\x00\x01")))
    put("idx", "two_dims.bin", idx_pair(idx([3, 2], bytes(6)), idx([3], b"\x02\x01\x00")))

    # CSV: fixtures plus headers, semicolons, CRLF, blank lines, a single column.
    copy("csv", "data/*.csv")
    put("csv", "header.csv", b"label,a,b\n0,1.5,2\n1,-3,4e2\n")
    put("csv", "semicolon_crlf.csv", b"2;0.1;0.2\r\n\r\n0;0.3;0.4\r\n1 ; 5 ; 6\r\n")
    put("csv", "one_column.csv", b"1\n2\n")
    put("csv", "nan.csv", b"0,nan,1\n1,inf,2\n")
    log_header = b"epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,samples_per_second,elapsed_seconds\n"
    put("training_log", "with_validation.csv", log_header + b"1,1.83187112,0.2625,1.29371546,0.6,0.00100000005,1724.6,0.056\n"
        b"2,0.819461627,0.7,0.688065781,0.7,0.00100000005,848.0,0.176\n")
    put("training_log", "crlf_no_validation.csv", log_header.replace(b"\n", b"\r\n") +
        b"1,0.5,0.8,nan,nan,0.001,100.0,0.1\r\n2,0.4,0.9,nan,nan,0.001,100.0,0.2\r\n\r\n")
    put("training_log", "torn.csv", log_header + b"1,1.83187112,0.2625,1.2937")

    event_file_seeds()

    # Images: fixtures plus PNG colour types (palette + tRNS, 16-bit RGBA, 1-bit gray, gray +
    # alpha, interlaced).
    copy("images", "data/images/cat/0.png", "cat_")
    copy("images", "data/images/dog/1.png", "dog_")
    copy("images", "data/images/cat/gray.jpg", "cat_")
    copy("images", "data/broken_images/a/bad.png")
    plte = struct.pack(">I", 6) + b"PLTE" + b"\xff\x00\x00\x00\xff\x00"
    plte += struct.pack(">I", zlib.crc32(b"PLTE\xff\x00\x00\x00\xff\x00"))
    trns = struct.pack(">I", 1) + b"tRNS\x80" + struct.pack(">I", zlib.crc32(b"tRNS\x80"))
    put("images", "palette.png", png(3, 2, 3, 8, [b"\x00\x01\x00", b"\x01\x00\x01"], plte + trns))
    put("images", "rgba16.png", png(2, 2, 6, 16, [bytes(range(16)), bytes(range(16, 32))]))
    put("images", "gray1.png", png(9, 2, 0, 1, [b"\xa5\x80", b"\x5a\x00"]))
    put("images", "gray_alpha.png", png(2, 1, 4, 8, [b"\x10\xff\x20\x00"]))
    put("images", "interlaced.png", png(1, 1, 2, 8, [b"\x10\x20\x30"], interlace=1))


def event_file_seeds():
    """TensorBoard event files damaged as the reader must handle: a last record cut short, one
    with a wrong data checksum, stray bytes after the last record, a header only, a byte
    changed inside a middle record and in a middle record's length."""
    with open(os.path.join(OUT, "event_file", "tensorboard_writer.tfevents"), "rb") as f:
        data = f.read()
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        at += 16 + struct.unpack_from("<Q", data, at)[0]
    last = data[starts[-1]:]
    put("event_file", "torn.tfevents", data + last[:-5])
    put("event_file", "bad_tail_crc.tfevents", data + last[:-1] + bytes([last[-1] ^ 1]))
    put("event_file", "stray_tail.tfevents", data + b"\x05\x00\x00")
    put("event_file", "header_only.tfevents", data[:12])
    for name, offset in (("bad_middle_data.tfevents", 14), ("bad_middle_length.tfevents", 1)):
        damaged = bytearray(data)
        damaged[starts[2] + offset] ^= 0x40
        put("event_file", name, bytes(damaged))


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


CAFFE_NETS = {
    "pool_lrn.prototxt": """name: "tiny" input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer { name: "pool1" type: "Pooling" bottom: "data" top: "pool1" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "pool1" top: "pool1" relu_param { negative_slope: 0.1 } }
layer { name: "lrn" type: "LRN" bottom: "pool1" top: "lrn" lrn_param { local_size: 3 alpha: 0.1 beta: 0.75 } }
layer { name: "lrn2" type: "LRN" bottom: "lrn" top: "lrn2" lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL } }
layer { name: "gp" type: "Pooling" bottom: "lrn2" top: "gp" pooling_param { pool: MAX global_pooling: true } }
layer { name: "prob" type: "Softmax" bottom: "gp" top: "prob" }
""",
    "shape_ops.prototxt": """layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 1 dim: 4 dim: 6 dim: 6 } } }
layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "cat" concat_param { axis: 1 } }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" eltwise_param { operation: SUM coeff: 1 coeff: -2 } }
layer { name: "max" type: "Eltwise" bottom: "a" bottom: "sum" top: "max" eltwise_param { operation: MAX } }
layer { name: "prod" type: "Eltwise" bottom: "a" bottom: "max" top: "prod" eltwise_param { operation: PROD } }
layer { name: "split" type: "Split" bottom: "prod" top: "p1" top: "p2" }
layer { name: "slice" type: "Slice" bottom: "cat" top: "s1" top: "s2" slice_param { axis: 1 slice_point: 3 } }
layer { name: "eq" type: "Slice" bottom: "cat" top: "e1" top: "e2" }
layer { name: "crop" type: "Crop" bottom: "p1" bottom: "s1" top: "crop" crop_param { axis: 2 offset: 0 } }
layer { name: "perm" type: "Permute" bottom: "p2" top: "perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "flat" type: "Flatten" bottom: "perm" top: "flat" }
layer { name: "reshape" type: "Reshape" bottom: "flat" top: "reshape" reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }
layer { name: "argmax" type: "ArgMax" bottom: "e1" top: "argmax" }
layer { name: "argmax_axis" type: "ArgMax" bottom: "e2" top: "argmax2" argmax_param { axis: 1 } }
""",
    "neurons.prototxt": """input: "x" input_dim: 2 input_dim: 3 input_dim: 4 input_dim: 4
layer { name: "a" type: "AbsVal" bottom: "x" top: "a" }
layer { name: "p" type: "Power" bottom: "a" top: "p" power_param { power: 0.5 scale: 2 shift: 1 } }
layer { name: "l" type: "Log" bottom: "p" top: "l" log_param { base: 10 } }
layer { name: "e" type: "Exp" bottom: "l" top: "e" exp_param { base: 2 scale: -1 } }
layer { name: "b" type: "BNLL" bottom: "e" top: "b" }
layer { name: "el" type: "ELU" bottom: "b" top: "b" elu_param { alpha: 0.5 } }
layer { name: "s" type: "Sigmoid" bottom: "b" top: "s" }
layer { name: "t" type: "TanH" bottom: "s" top: "t" }
layer { name: "d" type: "Dropout" bottom: "t" top: "t" dropout_param { dropout_ratio: 0.3 } }
layer { name: "ssd" type: "PriorBox" bottom: "t" bottom: "x" top: "priors"
  prior_box_param { min_size: 2 max_size: 3 aspect_ratio: 2 flip: true clip: true variance: 0.1 } }
""",
    "syntax.prototxt": """# comments, lists, angle brackets, escapes, separators
name: 'quo\\'ted\\x41\\101' "more"; input: "data"
input_shape < dim: [1, 2, 3, 3] >
layer: { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 stride: 1 group: 2 bias_term: false } },
layer { name: "deconv" type: "Deconvolution" bottom: "conv" top: "de" convolution_param { num_output: 2 kernel_size: 2 stride: 2 } }
layer { name: "train_only" type: "Data" top: "data" include { phase: TRAIN } }
layer { name: "ip" type: "InnerProduct" bottom: "de" top: "ip" inner_product_param { num_output: 5 transpose: true } }
layer { name: "bn" type: "BatchNorm" bottom: "ip" top: "ip" batch_norm_param { eps: 1e-3 } }
layer { name: "sc" type: "Scale" bottom: "ip" top: "ip" }
layer { name: "n" type: "Normalize" bottom: "de" top: "n" norm_param { across_spatial: false } }
layer { name: "pr" type: "PReLU" bottom: "n" top: "n" prelu_param { channel_shared: true } }
""",
    "legacy_v1.prototxt": """name: "LeNet" input: "data" input_dim: 1 input_dim: 1 input_dim: 28 input_dim: 28
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 } }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "relu" type: RELU bottom: "pool1" top: "pool1" }
layers { name: "prob" type: SOFTMAX bottom: "pool1" top: "prob" }
""",
    "errors.prototxt": """input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 4 }
layer { name: "cycle_a" type: "ReLU" bottom: "later" top: "data" }
layer { name: "x" type: "Unknown" bottom: "data" top: "y" }
layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: STOCHASTIC kernel_size: 2 } }
""",
    "deep.prototxt": "a { " * 70 + "}" * 70,
}


def pb_field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def pb_blob(dims, values, legacy=False, double=False):
    if legacy:
        dims = (1,) * (4 - len(dims)) + tuple(dims)
        shape = b"".join(varint(n << 3) + varint(d) for n, d in zip((1, 2, 3, 4), dims))
    else:
        shape = pb_field(7, pb_field(1, b"".join(varint(d) for d in dims)))
    data = struct.pack("<%dd" % len(values), *values) if double else struct.pack("<%df" % len(values), *values)
    return shape + pb_field(8 if double else 5, data)


def pb_layer(name, kind, blobs, v1=False):
    if v1:  # V1LayerParameter: name 4, type 5 (enum), blobs 6
        return pb_field(2, pb_field(4, name.encode()) + varint(5 << 3) + varint(kind) + b"".join(pb_field(6, b) for b in blobs))
    return pb_field(100, pb_field(1, name.encode()) + pb_field(2, kind.encode()) + b"".join(pb_field(7, b) for b in blobs))


def caffe_corpora():
    for name, text in CAFFE_NETS.items():
        put("prototxt", name, text.encode())
    # Weights of tests/fuzz/fuzz_caffemodel.c's net: conv (2, 2, 3, 3), bn, scale, prelu, ip (3, 18).
    ramp = lambda n: [0.1 * ((i % 7) - 3) for i in range(n)]
    def layers(legacy=False, double=False):
        b = lambda dims: pb_blob(dims, ramp(int(__import__("math").prod(dims))), legacy, double)
        return (pb_layer("conv", "Convolution", [b((2, 2, 3, 3)), b((2,))]) +
                pb_layer("bn", "BatchNorm", [b((2,)), pb_blob((2,), [1.0, 2.0]), pb_blob((1,), [0.5])]) +
                pb_layer("scale", "Scale", [b((2,)), b((2,))]) + pb_layer("prelu", "PReLU", [b((2,))]) +
                pb_layer("ip", "InnerProduct", [b((3, 18)), b((3,))]))
    put("caffemodel", "net.caffemodel", b"\x0a\x04fuzz" + layers())
    put("caffemodel", "legacy_dims.caffemodel", layers(legacy=True))
    put("caffemodel", "double.caffemodel", layers(double=True))
    put("caffemodel", "v1.caffemodel", pb_layer("conv", 4, [pb_blob((2, 2, 3, 3), ramp(36), True), pb_blob((2,), ramp(2))], v1=True))
    put("caffemodel", "wrong_size.caffemodel", pb_layer("conv", "Convolution", [pb_blob((2, 2, 3, 2), ramp(24))]))


if __name__ == "__main__":
    main()
    caffe_corpora()
