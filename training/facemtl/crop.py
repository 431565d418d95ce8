"""The crop convention of models/README.md, in NumPy (the TypeScript runtime implements the same).

A face crop is a similarity transform of the source image fixed by the two eye centres, sampled
bilinearly with edge pixels replicated. Dataset images carry no landmarks, so they use the
dataset's typical ("virtual") eye positions from ``models/facemtl.json``.
"""

from __future__ import annotations

import numpy as np

from .tasks import CONTRACT

CROP = CONTRACT["crop"]
INPUT_SIZE = CONTRACT["input"]["size"]


def align_crop(image: np.ndarray, eye_right: tuple[float, float], eye_left: tuple[float, float],
               size: int = INPUT_SIZE, geometry: dict = CROP) -> np.ndarray:
    """Crop ``image`` (H×W×C uint8) to size×size×C uint8 following the contract.

    ``eye_right`` is the eye on the image's left (the subject's right), in source pixels with
    pixel centres at ``i + 0.5``.
    """
    er, el = np.asarray(eye_right, np.float64), np.asarray(eye_left, np.float64)
    centre = (er + el) / 2
    delta = el - er
    distance = float(np.hypot(*delta))
    theta = np.arctan2(delta[1], delta[0])
    scale = geometry["eyeDistance"] * size / distance
    cos, sin = np.cos(theta), np.sin(theta)

    u = np.arange(size) + 0.5
    qx, qy = np.meshgrid(u - geometry["eyeCenter"][0] * size, u - geometry["eyeCenter"][1] * size)
    sx = centre[0] + (cos * qx - sin * qy) / scale - 0.5  # to index space (centres at integers)
    sy = centre[1] + (sin * qx + cos * qy) / scale - 0.5
    return _bilinear(image, sx, sy)


def _bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    img = image.astype(np.float32)
    if img.ndim == 2:
        img = img[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    out = top * (1 - fy) + bottom * fy
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def dataset_crop(image: np.ndarray, dataset: str, size: int = INPUT_SIZE, geometry: dict | None = None) -> np.ndarray:
    """Canonical crop of a dataset image from the dataset's virtual eyes (``datasetEyes``, or
    ``geometry`` for a dataset the contract does not list)."""
    geometry = geometry or CONTRACT["datasetEyes"][dataset]
    h, w = image.shape[:2]
    cx, cy = geometry["eyeCenter"][0] * w, geometry["eyeCenter"][1] * h
    half = geometry["eyeDistance"] * w / 2
    return align_crop(image, (cx - half, cy), (cx + half, cy), size)
