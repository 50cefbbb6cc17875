/* The net whose weights fuzz_caffemodel.c fuzzes (and the unit tests load with the seed
 * corpus's weights): every layer kind whose blobs are checked against its parameters. */
#ifndef OT_FUZZ_CAFFE_NET_H
#define OT_FUZZ_CAFFE_NET_H

static const char fuzz_caffemodel_net[] =
    "name: \"fuzz\" input: \"data\" input_shape { dim: 1 dim: 2 dim: 5 dim: 5 }\n"
    "layer { name: \"conv\" type: \"Convolution\" bottom: \"data\" top: \"conv\"\n"
    "  convolution_param { num_output: 2 kernel_size: 3 } }\n"
    "layer { name: \"bn\" type: \"BatchNorm\" bottom: \"conv\" top: \"conv\" }\n"
    "layer { name: \"scale\" type: \"Scale\" bottom: \"conv\" top: \"conv\" scale_param { "
    "bias_term: true } }\n"
    "layer { name: \"prelu\" type: \"PReLU\" bottom: \"conv\" top: \"conv\" }\n"
    "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"conv\" top: \"ip\" inner_product_param "
    "{ num_output: 3 } }\n";

#endif
