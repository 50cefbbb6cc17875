"""Writes torchvision's ResNet18 as ONNX the way PyTorch's exporter lays it out in eval mode
(BatchNorm folded into the convolutions, node names such as /layer3/layer3.0/conv1/Conv), with
random weights, using only the onnx package and numpy: the graph-picture test needs a real
ResNet18's layers without torch. 45 MB: written at test time, not committed.
  tools/py tools/make_resnet18_onnx.py OUT.onnx"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
nodes, inits = [], []


def conv(name, x, cin, cout, k, stride, pad):
    w, b = f"{name}.weight", f"{name}.bias"
    inits.append(numpy_helper.from_array((rng.standard_normal((cout, cin, k, k)) * 0.05).astype(np.float32), w))
    inits.append(numpy_helper.from_array(np.zeros(cout, np.float32), b))
    out = f"/{name.replace('.', '/')}/Conv_output_0"
    path = "/".join(name.split(".")[:1] + [".".join(name.split(".")[:2])] + name.split(".")[2:]) if "." in name else name
    nodes.append(helper.make_node("Conv", [x, w, b], [out], name=f"/{path}/Conv", kernel_shape=[k, k],
                                  strides=[stride, stride], pads=[pad] * 4))
    return out


def op(kind, name, inputs, **attrs):
    out = f"{name}_output_0"
    nodes.append(helper.make_node(kind, inputs, [out], name=name, **attrs))
    return out


def block(prefix, x, cin, cout, stride):
    """torchvision's BasicBlock: conv-relu-conv (+ a 1x1 downsample), add, relu."""
    y = op("Relu", f"/{prefix.split('.')[0]}/{prefix}/relu/Relu", [conv(f"{prefix}.conv1", x, cin, cout, 3, stride, 1)])
    y = conv(f"{prefix}.conv2", y, cout, cout, 3, 1, 1)
    if stride != 1 or cin != cout:
        x = conv(f"{prefix}.downsample.0", x, cin, cout, 1, stride, 0)
    y = op("Add", f"/{prefix.split('.')[0]}/{prefix}/Add", [y, x])
    return op("Relu", f"/{prefix.split('.')[0]}/{prefix}/relu_1/Relu", [y])


def main():
    x = op("Relu", "/relu/Relu", [conv("conv1", "input", 3, 64, 7, 2, 3)])
    x = op("MaxPool", "/maxpool/MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512], 1):
        for b in range(2):
            x = block(f"layer{stage}.{b}", x, cin, cout, 2 if stage > 1 and b == 0 else 1)
            cin = cout
    x = op("GlobalAveragePool", "/avgpool/GlobalAveragePool", [x])
    x = op("Flatten", "/Flatten", [x], axis=1)
    inits.append(numpy_helper.from_array((rng.standard_normal((1000, 512)) * 0.02).astype(np.float32), "fc.weight"))
    inits.append(numpy_helper.from_array(np.zeros(1000, np.float32), "fc.bias"))
    nodes.append(helper.make_node("Gemm", [x, "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1))
    graph = helper.make_graph(nodes, "resnet18", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_resnet18_onnx")
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[1])


if __name__ == "__main__":
    main()
