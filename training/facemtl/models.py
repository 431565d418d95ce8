"""The networks: one shared backbone, one small head per task.

Backbones are plain ``nn.Module``s that map a normalised image batch to a feature vector:
- ``MobileNetV2Backbone``: inverted residuals sized for the edge (width multiplier, any input size,
  optional squeeze-excitation).
- ``MiniXceptionBackbone``: the mini-Xception of Arriaga et al. 2017 (real-time emotion/gender).

``FaceMTL`` puts the heads on a backbone. Its ``forward`` returns raw logits (for the losses);
``predict`` returns what the exported ONNX model outputs (probabilities, age mean and std).
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from .tasks import BINARY_TASKS, TASKS


def _make_divisible(value: float, divisor: int = 8) -> int:
    """Round channel counts to a multiple of 8, as MobileNet does (good for SIMD kernels)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, relu: bool = True):
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if relu:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al. 2018, as placed in MobileNetV3): a gate per channel from the
    globally pooled features, so a block can weigh channels by what the whole face shows."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        squeezed = _make_divisible(channels / reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(self.pool(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int, se: bool = False):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(cin, hidden, kernel=1))
        layers.append(ConvBNReLU(hidden, hidden, stride=stride, groups=hidden))
        if se:  # after the depthwise conv, where MobileNetV3 puts it
            layers.append(SqueezeExcitation(hidden))
        layers.append(ConvBNReLU(hidden, cout, kernel=1, relu=False))
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2 (Sandler et al. 2018) for small inputs.

    At 64×64 the stock total stride of 32 would leave a 2×2 map, so below 96 pixels the
    160-channel stage keeps its resolution (total stride 16, a 4×4 last map).
    """

    # expansion t, channels c, repeats n, first stride s
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, width: float = 0.5, input_size: int = 64, last_channels: int = 512, se: bool = False):
        super().__init__()
        cin = _make_divisible(32 * width)
        layers: list[nn.Module] = [ConvBNReLU(3, cin, stride=2)]
        for t, c, n, s in self.SETTINGS:
            if c == 160 and input_size < 96:
                s = 1
            cout = _make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, se))
                cin = cout
        self.out_channels = last_channels or _make_divisible(1280 * width)
        layers.append(ConvBNReLU(cin, self.out_channels, kernel=1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)


class SeparableConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )


class XceptionModule(nn.Module):
    """Residual module of mini-Xception: two separable convs + max-pool, 1×1 strided shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))
        self.body = nn.Sequential(
            SeparableConv(cin, cout), nn.ReLU(inplace=True), SeparableConv(cout, cout), nn.MaxPool2d(3, 2, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class MiniXceptionBackbone(nn.Module):
    """mini-Xception (Arriaga, Plöger, Valdenegro 2017): ~60k parameters, the small baseline."""

    def __init__(self, width: float = 1.0, input_size: int = 64, last_channels: int = 0, se: bool = False):
        super().__init__()
        if se:
            raise ValueError("mini-Xception has no squeeze-excitation option")
        base = int(8 * width)
        self.stem = nn.Sequential(
            nn.Conv2d(3, base, 3, bias=False), nn.BatchNorm2d(base), nn.ReLU(inplace=True),
            nn.Conv2d(base, base, 3, bias=False), nn.BatchNorm2d(base), nn.ReLU(inplace=True),
        )
        chans = [base, int(16 * width), int(32 * width), int(64 * width), int(128 * width)]
        self.modules_ = nn.Sequential(*[XceptionModule(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.out_channels = chans[-1]
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.modules_(self.stem(x))), 1)


BACKBONES = {"mobilenetv2": MobileNetV2Backbone, "minixception": MiniXceptionBackbone}


class FaceMTL(nn.Module):
    """Shared backbone + one linear head per task.

    Input: float RGB in 0..255, NCHW (the ONNX contract); normalisation happens here so that the
    runtime never has to know it. ``tasks`` lets the same class build single-task baselines.
    """

    def __init__(self, backbone: str = "mobilenetv2", width: float = 0.5, input_size: int = 64,
                 tasks: tuple[str, ...] = tuple(TASKS), dropout: float = 0.2, age_offset: float = 33.0,
                 age_scale: float = 20.0, se: bool = False):
        super().__init__()
        self.config = dict(backbone=backbone, width=width, input_size=input_size, tasks=list(tasks), dropout=dropout, se=se)
        self.backbone = BACKBONES[backbone](width=width, input_size=input_size, se=se)
        self.dropout = nn.Dropout(dropout)
        self.tasks = tuple(tasks)
        self.heads = nn.ModuleDict({t: nn.Linear(self.backbone.out_channels, TASKS[t].outputs) for t in self.tasks})
        # age head predicts a standardised mean; these constants put its start near the data's mean
        self.age_offset, self.age_scale = age_offset, age_scale
        # post-hoc calibration (facemtl.calibrate, set at export): a softmax temperature per head,
        # "age_scale"/"age_shift" on the age mean and "age_std" on its std; empty = none
        self.calibration: dict[str, float] = {}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.backbone(x / 127.5 - 1.0))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs per task: logits, and for age ``[mean_years, log_variance]``."""
        f = self.features(x)
        return self.scale_age({t: head(f) for t, head in self.heads.items()})

    def scale_age(self, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The age head predicts a standardised mean and log-variance: put them in years."""
        if "age" in out:
            raw = out["age"]
            out = {**out, "age": torch.stack([raw[:, 0] * self.age_scale + self.age_offset,
                                              raw[:, 1] + 2 * math.log(self.age_scale)], dim=1)}
        return out

    def decode(self, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw outputs → what the exported model outputs: probabilities (softmax, or a sigmoid per
        binary attribute), age ``[mean, std]`` in years."""
        result = {}
        for t, v in out.items():
            if t == "age":
                std = torch.exp(0.5 * v[:, 1].clamp(-10, 12)) * self.calibration.get("age_std", 1.0)
                mean = v[:, 0] * self.calibration.get("age_scale", 1.0) + self.calibration.get("age_shift", 0.0)
                result[t] = torch.stack([mean.clamp(0, 116), std], dim=1)
            elif t in BINARY_TASKS:
                result[t] = torch.sigmoid(v)
            else:
                result[t] = F.softmax(v / self.calibration.get(t, 1.0), dim=1)
        return result

    def predict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.decode(self.forward(x))


class ExportWrapper(nn.Module):
    """Returns ``predict``'s outputs as a tuple in task order, for ``torch.onnx.export``."""

    def __init__(self, model: FaceMTL):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor):
        out = self.model.predict(image)
        return tuple(out[t] for t in self.model.tasks)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_state(path) -> dict:
    """A checkpoint ``train`` wrote. It holds the config and history as plain Python objects, which
    the weights-only loader (torch ≥ 2.6's default) refuses: loaded as a full pickle (our own files)."""
    return torch.load(path, map_location="cpu", weights_only=False)


def model_from_config(config: dict) -> FaceMTL:
    """A fresh model of a checkpoint's ``config`` (FaceMTL's arguments; JSON stores tasks as a list)."""
    return FaceMTL(**{k: (tuple(v) if k == "tasks" else v) for k, v in config.items()})


def load_checkpoint(path) -> FaceMTL:
    """The trained model of a checkpoint, in eval mode."""
    state = load_state(path)
    model = model_from_config(state["config"])
    model.load_state_dict(state["model"])
    return model.eval()
