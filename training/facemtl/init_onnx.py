"""Start a model from the weights of an earlier exported FP32 ONNX file (a warm start).

Only the ONNX files of earlier models are kept (checkpoints are not committed), and the exporter
folds each batch norm into its convolution. So the convolution weights are copied in graph order,
and each batch norm is re-created from data: on a batch of training crops its input has mean μ and
std σ per channel; setting weight σ, bias μ + b (b: the folded bias) and running stats (μ, σ²) makes
the batch norm reproduce the folded convolution in eval mode and, on that batch, in train mode.
Heads with the same name and shape are copied; new heads keep their random start.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .data import batch_tensors
from .models import FaceMTL


def _onnx_weights(path: str) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """(conv (weight, bias) in graph order, Gemm (weight, bias) in graph order, output names)."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i).copy() for i in proto.graph.initializer}
    convs, gemms = [], []
    for node in proto.graph.node:
        if node.op_type in ("Conv", "Gemm"):
            w, b = init[node.input[1]], init[node.input[2]] if len(node.input) > 2 else None
            (convs if node.op_type == "Conv" else gemms).append((w, b))
    return convs, gemms, [o.name for o in proto.graph.output]


@torch.no_grad()
def init_from_onnx(model: FaceMTL, path: str, cache: dict, calibration: int = 512) -> str:
    convs, gemms, outputs = _onnx_weights(path)
    modules = list(model.backbone.modules())
    pairs = [(m, modules[i + 1]) for i, m in enumerate(modules[:-1])
             if isinstance(m, nn.Conv2d) and isinstance(modules[i + 1], nn.BatchNorm2d)]
    if len(pairs) != len(convs):
        raise SystemExit(f"{path}: {len(convs)} convolutions, the model has {len(pairs)}: not the same backbone")
    folded_bias = []
    for (conv, bn), (w, b) in zip(pairs, convs):
        if tuple(conv.weight.shape) != w.shape:
            raise SystemExit(f"{path}: convolution shape {w.shape} ≠ {tuple(conv.weight.shape)}: not the same backbone")
        conv.weight.copy_(torch.from_numpy(w))
        bias = torch.from_numpy(b) if b is not None else torch.zeros(w.shape[0])
        folded_bias.append(bias)
        # identity batch norm plus the folded bias: the model now computes what the ONNX file does
        bn.weight.fill_(1.0), bn.bias.copy_(bias), bn.running_mean.zero_(), bn.running_var.fill_(1.0 - bn.eps)

    # batch norm input statistics on real crops, then re-parametrise (see the module docstring)
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [bn.register_forward_hook(lambda m, inp, _: stats.__setitem__(m, (inp[0].mean((0, 2, 3)), inp[0].var((0, 2, 3)))))
             for _, bn in pairs]
    rows = np.random.default_rng(0).choice(np.flatnonzero(cache["split"] == 0), size=calibration, replace=False)
    images, _, _ = batch_tensors(cache, np.sort(rows))
    model.eval()
    model(images)
    for hook in hooks:
        hook.remove()
    for (_, bn), bias in zip(pairs, folded_bias):
        mean, var = stats[bn]
        bn.running_mean.copy_(mean), bn.running_var.copy_(var)
        bn.weight.copy_(torch.sqrt(var + bn.eps)), bn.bias.copy_(mean + bias)

    heads = dict(zip([o for o in outputs if o in model.heads], gemms))
    copied = []
    for name, (w, b) in heads.items():
        head = model.heads[name]
        if tuple(head.weight.shape) == w.shape:
            head.weight.copy_(torch.from_numpy(w)), head.bias.copy_(torch.from_numpy(b))
            copied.append(name)
    return f"{len(pairs)} convolutions, heads {', '.join(copied) or 'none'}"
