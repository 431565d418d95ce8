"""Calibrated post-training INT8 quantization, exported in QDQ form.

``QuantizedFaceMTL`` is a copy of a trained MobileNetV2 ``FaceMTL`` with batch norm folded into
the convolutions and fake-quantization at every point where ONNX Runtime can run integer kernels:
weights per output channel (int8, symmetric) and every activation tensor between layers per tensor
(uint8, asymmetric, range from calibration batches). ``torch.onnx.export`` writes each
fake-quantization as a QuantizeLinear/DequantizeLinear pair; ORT fuses DQ → Conv → Q into
QLinearConv (and Add into QLinearAdd). ``fold_weight_quantization`` then stores the weights
as int8 initializers, which is what makes the file ~4× smaller.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .models import ConvBNReLU, FaceMTL, InvertedResidual, MobileNetV2Backbone


class ActQuant(nn.Module):
    """Per-tensor uint8 fake quantization; records min/max while ``calibrating``."""

    def __init__(self):
        super().__init__()
        self.calibrating = True
        self.low, self.high = float("inf"), float("-inf")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.low = min(self.low, float(x.min()))
            self.high = max(self.high, float(x.max()))
            return x
        low, high = min(self.low, 0.0), max(self.high, 0.0)  # zero must be exactly representable
        scale = max(high - low, 1e-8) / 255.0
        zero_point = int(round(-low / scale))
        return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)


class WeightQuant(nn.Module):
    """Per-output-channel symmetric int8 fake quantization of a fixed weight tensor.

    The scales are buffers computed once, so the exported graph holds them as constants.
    """

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        w = weight.detach().float()
        self.register_buffer("weight", w.clone())
        self.register_buffer("scale", (w.abs().reshape(w.shape[0], -1).amax(1) / 127.0).clamp(min=1e-12))
        self.register_buffer("zero_point", torch.zeros(w.shape[0], dtype=torch.int32))

    def forward(self) -> torch.Tensor:
        return torch.fake_quantize_per_channel_affine(self.weight, self.scale, self.zero_point, 0, -128, 127)


class QConv(nn.Module):
    """Conv (batch norm folded in) → optional ReLU6 → activation fake-quant."""

    def __init__(self, block: ConvBNReLU):
        super().__init__()
        self.conv = fuse_conv_bn_eval(block[0].eval(), block[1].eval())
        self.weight = WeightQuant(self.conv.weight)
        self.relu = len(block) > 2
        self.out_quant = ActQuant()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        y = F.conv2d(x, self.weight(), c.bias, c.stride, c.padding, c.dilation, c.groups)
        return self.out_quant(F.relu6(y) if self.relu else y)


class QInvertedResidual(nn.Module):
    def __init__(self, block: InvertedResidual):
        super().__init__()
        self.layers = nn.Sequential(*[QConv(b) for b in block.block])
        self.use_residual = block.use_residual
        self.add_quant = ActQuant() if block.use_residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return self.add_quant(x + out) if self.add_quant is not None else out


class QuantizedFaceMTL(nn.Module):
    """Fake-quantized copy of a MobileNetV2 FaceMTL with the same ``predict`` outputs."""

    def __init__(self, model: FaceMTL):
        super().__init__()
        if not isinstance(model.backbone, MobileNetV2Backbone):
            raise ValueError("INT8 export supports the mobilenetv2 backbone")
        model = model.eval()
        self.input_quant = ActQuant()
        self.features = nn.Sequential(*[
            QInvertedResidual(m) if isinstance(m, InvertedResidual) else QConv(m) for m in model.backbone.features
        ])
        self.pool_quant = ActQuant()
        self.heads = model.heads
        self.head_weights = nn.ModuleDict({t: WeightQuant(h.weight) for t, h in model.heads.items()})
        self.tasks = model.tasks
        self.reference = model  # for the age decoding in ``predict``

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.features(self.input_quant(x / 127.5 - 1.0))
        f = self.pool_quant(torch.flatten(F.adaptive_avg_pool2d(f, 1), 1))
        return self.reference.scale_age({t: F.linear(f, self.head_weights[t](), h.bias) for t, h in self.heads.items()})

    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.reference.decode(self.forward(x))

    @torch.no_grad()
    def calibrate(self, batches) -> None:
        for module in self.modules():
            if isinstance(module, ActQuant):
                module.calibrating = True
        for images in batches:
            self.forward(images)
        for module in self.modules():
            if isinstance(module, ActQuant):
                module.calibrating = False


def fold_weight_quantization(model_proto) -> int:
    """Replace QuantizeLinear of a constant weight by a stored int8 initializer. Returns the count.

    The exporter writes the weight, its scales and zero points as initializers or Constant nodes
    (sometimes behind an Identity or a Cast); those are evaluated here, the rest is left alone.
    """
    from onnx import helper, numpy_helper

    graph = model_proto.graph
    inits = {i.name: i for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}

    def constant(name: str):
        if name in inits:
            return numpy_helper.to_array(inits[name])
        node = producers.get(name)
        if node is not None and node.op_type == "Constant":
            return numpy_helper.to_array(node.attribute[0].t)
        if node is not None and node.op_type == "Identity":
            return constant(node.input[0])
        if node is not None and node.op_type == "Cast":
            value = constant(node.input[0])
            to = next(a.i for a in node.attribute if a.name == "to")
            return None if value is None else value.astype(helper.tensor_dtype_to_np_dtype(to))
        return None

    folded = 0
    for node in list(graph.node):
        if node.op_type != "QuantizeLinear":
            continue
        w, scale = constant(node.input[0]), constant(node.input[1])
        zp = constant(node.input[2]) if len(node.input) > 2 else np.zeros((), np.uint8)
        if w is None or scale is None or zp is None:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * w.ndim
        if scale.ndim == 1:
            shape[axis] = -1
        info = np.iinfo(zp.dtype)
        q = np.rint(w.astype(np.float64) / scale.reshape(shape or [1]).astype(np.float64)) + zp.reshape(shape or [1])
        graph.initializer.append(numpy_helper.from_array(np.clip(q, info.min, info.max).astype(zp.dtype), node.output[0]))
        graph.node.remove(node)
        folded += 1
    _remove_unused(graph)
    return folded


def _remove_unused(graph) -> None:
    """Drop nodes and initializers whose outputs nothing reads any more."""
    while True:
        used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        for n in dead:
            graph.node.remove(n)
        if not dead:
            break
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)
