"""Where does each head look? Grad-CAM and guided backpropagation maps per task.

As in Arriaga et al. 2017 ("Real-time convolutional neural networks for emotion and gender
classification"): guided backpropagation (Springenberg et al. 2015) shows which input pixels raise
a head's score; Grad-CAM (Selvaraju et al. 2017) weights the last convolutional feature map by the
gradient of the score, a coarse "where"; their product is guided Grad-CAM.

The score of a classification head is the logit of its predicted (or a given) class; of the age
head, the predicted mean age.

    /usr/bin/python3 -m facemtl.explain --checkpoint runs/x/best.pt --images a.jpg b.jpg --out maps/

(from ``training/``) writes ``<image>_<task>.png`` per image and task: the face, the Grad-CAM
overlay and the guided Grad-CAM map side by side. Images are taken as face crops (resized to the
model input); ``--dataset fer`` crops FER2013-style images the way the training cache does.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch import nn
import torch.nn.functional as F

from .crop import dataset_crop
from .models import FaceMTL, load_checkpoint
from .tasks import TASKS


def load_model(checkpoint: str | None) -> FaceMTL:
    """The model of a training checkpoint (``{'model': state_dict, 'config': ...}``), or a random one."""
    if checkpoint is None:
        return FaceMTL().eval()
    return load_checkpoint(checkpoint)


def last_conv_block(model: FaceMTL) -> nn.Module:
    """The module whose output is the last spatial feature map (Grad-CAM's layer)."""
    backbone = model.backbone
    return backbone.features if hasattr(backbone, "features") else backbone.modules_


class _GuidedReLU(torch.autograd.Function):
    """ReLU/ReLU6 forward; backward passes only positive gradients where the input was active."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, upper: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.upper = upper
        return x.clamp(0, upper)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        active = (x > 0) & (x < ctx.upper)
        return grad.clamp(min=0) * active, None


class _GuidedModule(nn.Module):
    def __init__(self, upper: float):
        super().__init__()
        self.upper = upper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _GuidedReLU.apply(x, self.upper)


@contextlib.contextmanager
def guided_relus(model: nn.Module) -> Iterator[None]:
    """Temporarily swaps every ReLU/ReLU6 of ``model`` for its guided-backprop twin."""
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, (nn.ReLU, nn.ReLU6)):
                upper = 6.0 if isinstance(child, nn.ReLU6) else float("inf")
                swapped.append((parent, name, child))
                setattr(parent, name, _GuidedModule(upper))
    try:
        yield
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


def task_score(out: dict[str, torch.Tensor], task: str, target: int | None = None) -> tuple[torch.Tensor, int]:
    """The scalar to explain (summed over the batch) and the class it belongs to (-1 for age)."""
    if task == "age":
        return out["age"][:, 0].sum(), -1
    logits = out[task]
    index = int(logits[0].argmax()) if target is None else target
    return logits[:, index].sum(), index


def grad_cam(model: FaceMTL, image: torch.Tensor, task: str, target: int | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM of one image (``[3, S, S]``, 0–255): an ``[S, S]`` map in 0–1 and the explained class."""
    layer = last_conv_block(model)
    captured: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        output.retain_grad()
        captured["maps"] = output

    handle = layer.register_forward_hook(keep)
    try:
        model.zero_grad(set_to_none=True)
        score, index = task_score(model(image[None].float()), task, target)
        score.backward()
    finally:
        handle.remove()
    maps, grads = captured["maps"][0], captured["maps"].grad[0]
    weights = grads.mean(dim=(1, 2))  # global-average-pooled gradients, one per channel
    cam = F.relu((weights[:, None, None] * maps).sum(0)).detach()
    cam = F.interpolate(cam[None, None], size=image.shape[1:], mode="bilinear", align_corners=False)[0, 0]
    return _unit(cam.numpy()), index


def guided_backprop(model: FaceMTL, image: torch.Tensor, task: str, target: int | None = None) -> np.ndarray:
    """Guided backpropagation of one image: ``[S, S]`` gradient magnitudes in 0–1."""
    x = image[None].float().clone().requires_grad_(True)
    with guided_relus(model):
        model.zero_grad(set_to_none=True)
        score, _ = task_score(model(x), task, target)
        score.backward()
    return _unit(x.grad[0].clamp(min=0).amax(dim=0).numpy())


def _unit(values: np.ndarray) -> np.ndarray:
    values = values - values.min()
    peak = values.max()
    return (values / peak if peak > 0 else values).astype(np.float32)


def colormap(values: np.ndarray) -> np.ndarray:
    """A jet-like colour map: 0–1 → RGB uint8 (blue = low, red = high)."""
    v = np.clip(values, 0, 1)[..., None]
    rgb = np.clip(1.5 - np.abs(4 * v - np.array([3, 2, 1])), 0, 1)
    return (rgb * 255).astype(np.uint8)


def overlay(face: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    return (face * (1 - alpha) + colormap(heat) * alpha).astype(np.uint8)


def load_face(path: str, size: int, dataset: str) -> np.ndarray:
    """An image file as an ``[S, S, 3]`` uint8 face crop."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    if dataset == "fer":
        return dataset_crop(rgb, "fer", size).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR))


def explain_image(model: FaceMTL, face: np.ndarray, tasks: tuple[str, ...]) -> dict[str, dict]:
    """Per task: Grad-CAM, guided backprop and guided Grad-CAM maps (0–1) and the explained label."""
    image = torch.from_numpy(face.copy()).permute(2, 0, 1).float()
    maps = {}
    for task in tasks:
        cam, index = grad_cam(model, image, task)
        guided = guided_backprop(model, image, task, None if index < 0 else index)
        label = "mean age" if index < 0 else TASKS[task].labels[index]
        maps[task] = {"gradcam": cam, "guided": guided, "guided_gradcam": _unit(cam * guided), "label": label}
    return maps


def save_panel(face: np.ndarray, maps: dict, path: Path, scale: int = 2) -> None:
    """face | Grad-CAM overlay | guided Grad-CAM, enlarged ``scale`` times."""
    guided = (maps["guided_gradcam"][..., None].repeat(3, axis=2) * 255).astype(np.uint8)
    panel = np.concatenate([face, overlay(face, maps["gradcam"]), guided], axis=1)
    image = Image.fromarray(panel)
    image.resize((image.width * scale, image.height * scale), Image.NEAREST).save(path)


# Horizontal bands of a canonical crop (eyes at 0.30 of the height, see models/README.md), as
# fractions of the height: where a map puts its weight says which facial features a head uses.
REGIONS = {"eyes_brows": (0.12, 0.44), "nose_cheeks": (0.44, 0.62), "mouth_chin": (0.62, 0.94)}


def region_shares(heat: np.ndarray) -> dict[str, float]:
    """The share of a map's total weight in each band of ``REGIONS`` (the rest is outside them)."""
    size = heat.shape[0]
    total = float(heat.sum()) or 1.0
    return {name: float(heat[int(a * size):int(b * size)].sum()) / total for name, (a, b) in REGIONS.items()}


def report(model: FaceMTL, faces: list[np.ndarray], tasks: tuple[str, ...]) -> str:
    """Markdown: per task and predicted label, the mean share of Grad-CAM weight in each region."""
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    for face in faces:
        for task, maps in explain_image(model, face, tasks).items():
            rows.setdefault((task, maps["label"]), []).append(region_shares(maps["gradcam"]))
    lines = ["| head | predicted | faces | " + " | ".join(REGIONS) + " |", "|---|---|---|" + "---|" * len(REGIONS)]
    for (task, label), shares in sorted(rows.items()):
        means = [np.mean([s[r] for s in shares]) for r in REGIONS]
        lines.append(f"| {task} | {label} | {len(shares)} | " + " | ".join(f"{m:.2f}" for m in means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="training checkpoint (.pt); default: a random model (for testing)")
    parser.add_argument("--images", nargs="+", required=True, help="face images (crops)")
    parser.add_argument("--out", required=True, help="output folder for the PNGs")
    parser.add_argument("--dataset", choices=["utkface", "fer"], default="utkface",
                        help="how to crop the images: utkface = resize (default), fer = FER2013 crop")
    parser.add_argument("--tasks", nargs="+", help="tasks to explain (default: all heads of the model)")
    parser.add_argument("--report", action="store_true",
                        help="also print a markdown table: Grad-CAM weight per face region, by head and predicted label")
    parser.add_argument("--no-png", action="store_true", help="write no PNGs (with --report)")
    args = parser.parse_args(argv)

    model = load_model(args.checkpoint)
    tasks = tuple(args.tasks or model.tasks)
    unknown = [t for t in tasks if t not in model.tasks]
    if unknown:
        parser.error(f"the model has no head {unknown}; it has {list(model.tasks)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    faces = []
    for path in args.images:
        try:
            face = load_face(path, model.config["input_size"], args.dataset)
        except (OSError, ValueError) as error:
            parser.error(f"cannot read {path}: {error}")
        faces.append(face)
        if args.no_png:
            continue
        for task, maps in explain_image(model, face, tasks).items():
            target = out / f"{Path(path).stem}_{task}.png"
            save_panel(face, maps, target)
            print(f"{target}  ({task}: {maps['label']})")
    if args.report:
        print(report(model, faces, tasks))


if __name__ == "__main__":
    main()
