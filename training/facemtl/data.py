"""Batches from the training cache: balanced sampling and batched augmentation.

The whole cache sits in memory (uint8), so a batch is one fancy-indexing op; augmentation runs on
the batch tensor (one ``grid_sample`` for all the affine warps), which keeps 2 CPU cores busy with
the network rather than with image code.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .prepare import SOURCES
from .tasks import TASKS

TASK_INDEX = {t: i for i, t in enumerate(TASKS)}
HAPPINESS = TASKS["emotion"].labels.index("happy")


def batch_tensors(cache: dict, idx: np.ndarray) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """(images N×3×H×W float 0–255, labels per task with missing ones zero-filled, mask N×T)."""
    images = torch.from_numpy(cache["images"][idx]).permute(0, 3, 1, 2).float()
    labels = {
        "age": torch.from_numpy(np.nan_to_num(cache["age"][idx])),
        "age_low": torch.from_numpy(np.nan_to_num(cache["age_low"][idx])),
        "age_high": torch.from_numpy(np.nan_to_num(cache["age_high"][idx])),
        "gender": torch.from_numpy(cache["gender"][idx].clip(0)),
        "ethnicity": torch.from_numpy(cache["ethnicity"][idx].clip(0)),
        "emotion": torch.from_numpy(cache["emotion"][idx]),
        "emotion_fer2013": torch.from_numpy(cache["emotion_fer2013"][idx].clip(0)),
        "attributes": torch.from_numpy(cache["attributes"][idx]),
        "smile_from_emotion": torch.from_numpy(smile_from_emotion(cache["emotion"][idx])),
    }
    return images, labels, torch.from_numpy(cache["mask"][idx]).bool()


def smile_from_emotion(votes: np.ndarray) -> np.ndarray:
    """A weak smile label from the emotion votes (FER+, posed): 1 where half or more say happy, 0 where
    none does, NaN where fewer than half do or there are no emotion labels (those samples do not train it).

    CelebA is one look of smiling (celebrities, posed for cameras); FER's and the posed set's happy
    faces let the smile head learn smiles in other light, poses and ages (``TrainConfig.smile_from_emotion``).
    """
    labelled = votes.sum(1) > 0
    happy = votes[:, HAPPINESS]
    return np.where(labelled & (happy >= 0.5), 1.0, np.where(labelled & (happy == 0), 0.0, np.nan)).astype(np.float32)


def positive_weights(cache: dict, split: int = 0, power: float = 0.5) -> torch.Tensor:
    """Per binary attribute, the weight of a positive in the loss: (negatives / positives)^power.

    Rare attributes (moustache, sideburns: ~5% of CelebA) would otherwise be learnt as "always no".
    """
    rows = (cache["split"] == split) & (cache["mask"][:, TASK_INDEX["attributes"]] > 0)
    rate = cache["attributes"][rows].mean(0).clip(1e-3, 1 - 1e-3) if rows.any() else np.full(TASKS["attributes"].outputs, 0.5)
    return torch.tensor(((1 - rate) / rate) ** power, dtype=torch.float32)


def class_of(cache: dict, task: str) -> np.ndarray:
    """The class a sample counts as for balancing a task (the vote majority for FER+)."""
    return cache["emotion"].argmax(1) if task == "emotion" else cache[task]


def class_priors(cache: dict, split: int, task: str, balance_power: float) -> torch.Tensor:
    """The class distribution of ``task`` in the batches: labelled rows' class frequencies, flattened
    as the sampler's balancing does (frequency^(1 - power)); for the logit-adjusted loss."""
    rows = (cache["split"] == split) & (cache["mask"][:, TASK_INDEX[task]] > 0)
    counts = np.bincount(class_of(cache, task)[rows], minlength=TASKS[task].outputs).astype(np.float64)
    prior = np.maximum(counts, 1) ** (1 - balance_power)
    return torch.tensor(prior / prior.sum(), dtype=torch.float32)


def balancing_weights(cache: dict, rows: np.ndarray, task: str, power: float) -> np.ndarray:
    """Sampling weight ∝ class frequency^-power (0: none, 1: fully balanced, 0.5: in between)."""
    classes = class_of(cache, task)[rows]
    counts = np.bincount(classes, minlength=TASKS[task].outputs).astype(np.float64)
    return (np.maximum(counts[classes], 1) ** -power).astype(np.float64)


class BalancedBatchSampler:
    """Index batches that mix the datasets in a set proportion, class-balanced within each.

    ``mix`` maps a source dataset to its share of every batch; ``balance`` maps a source to the
    task whose classes are balanced by sampling weights (``power`` sets how strongly); only rows
    whose crop framing is in ``framings`` are drawn (0 dataset geometry, 1 detector eyes).
    """

    def __init__(self, cache: dict, split: int, batch_size: int, steps: int, mix: dict[str, float],
                 balance: dict[str, str] | None = None, power: float = 0.5, seed: int = 0,
                 framings: tuple[int, ...] = (0, 1)):
        self.batch_size, self.steps = batch_size, steps
        self.rng = np.random.default_rng(seed)
        in_split = (cache["split"] == split) & np.isin(cache["framing"], framings)
        self.pools = []
        total = sum(mix.values())
        for source, share in mix.items():
            rows = np.flatnonzero(in_split & (cache["source"] == SOURCES.index(source)))
            if share <= 0 or len(rows) == 0:
                continue
            task = (balance or {}).get(source)
            if task:
                rows = rows[cache["mask"][rows, TASK_INDEX[task]] > 0]
            weights = balancing_weights(cache, rows, task, power) if task and power > 0 else np.ones(len(rows))
            self.pools.append((source, rows, weights / weights.sum(), share / total))
        counts = [int(round(batch_size * share)) for *_, share in self.pools]
        counts[-1] = batch_size - sum(counts[:-1])
        self.counts = counts

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            parts = [self.rng.choice(rows, size=n, p=p) for (_, rows, p, _), n in zip(self.pools, self.counts) if n > 0]
            yield self.rng.permutation(np.concatenate(parts))


def augment(images: torch.Tensor, generator: torch.Generator | None = None, strength: float = 1.0) -> torch.Tensor:
    """Flip, small affine, colour jitter, random grayscale and random erasing, on a 0–255 batch."""
    n = images.shape[0]
    rand = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
    x = images / 255.0

    flip = rand(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)

    angle = (rand(n) * 2 - 1) * math.radians(10) * strength
    scale = 1 + (rand(n) * 2 - 1) * 0.10 * strength
    shift = (rand(n, 2) * 2 - 1) * 0.08 * strength
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    brightness = 1 + (rand(n, 1, 1, 1) * 2 - 1) * 0.25 * strength
    contrast = 1 + (rand(n, 1, 1, 1) * 2 - 1) * 0.25 * strength
    saturation = 1 + (rand(n, 1, 1, 1) * 2 - 1) * 0.25 * strength
    mean = gray.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * contrast + mean
    x = (x - gray) * saturation + gray
    x = x * brightness
    to_gray = rand(n) < 0.2
    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1).expand_as(x)
    x = torch.where(to_gray[:, None, None, None], gray, x)

    # random erasing (Zhong et al. 2017): one rectangle of noise in a quarter of the images
    h, w = x.shape[2:]
    erase = rand(n) < 0.25 * strength
    eh = (rand(n) * 0.3 + 0.1) * h
    ew = (rand(n) * 0.3 + 0.1) * w
    y0, x0 = rand(n) * (h - eh), rand(n) * (w - ew)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    box = ((ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1)) &
           (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1)) & erase.view(n, 1, 1))
    x = torch.where(box.unsqueeze(1), rand(n, 3, h, w), x)
    return (x.clamp(0, 1) * 255.0)
