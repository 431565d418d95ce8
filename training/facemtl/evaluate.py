"""Metrics of a model on a split of the training cache (PyTorch side).

The numbers of record for the shipped ONNX files come from ``facemtl eval`` (TypeScript, ONNX
Runtime); this module scores checkpoints during training and the single-task baselines.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import TASK_INDEX, batch_tensors
from .prepare import SOURCES
from .tasks import TASKS

Z90 = 1.6448536  # two-sided 90% interval of a Gaussian


@torch.no_grad()
def predict_rows(model, cache: dict, rows: np.ndarray, batch_size: int = 512, raw: bool = False) -> dict[str, np.ndarray]:
    """The model's outputs on cache rows, batched: decoded (as exported), or raw logits with ``raw``."""
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {t: [] for t in model.tasks}
    for start in range(0, len(rows), batch_size):
        images, _, _ = batch_tensors(cache, rows[start:start + batch_size])
        for t, v in (model(images) if raw else model.predict(images)).items():
            chunks[t].append(v.numpy())
    return {t: np.concatenate(v) if v else np.zeros((0, TASKS[t].outputs)) for t, v in chunks.items()}


def metrics(cache: dict, rows: np.ndarray, pred: dict[str, np.ndarray]) -> dict[str, float]:
    """Age MAE and interval coverage; accuracy of each classification head on its labelled rows."""
    mask = cache["mask"][rows].astype(bool)
    out: dict[str, float] = {}
    exact_age = mask[:, TASK_INDEX["age"]] & ~np.isnan(cache["age"][rows])
    if "age" in pred and exact_age.any():
        m = exact_age
        true, mean, std = cache["age"][rows][m], pred["age"][m, 0], pred["age"][m, 1]
        out["age_mae"] = float(np.abs(true - mean).mean())
        out["age_coverage90"] = float((np.abs(true - mean) <= Z90 * std).mean())
    age_group = mask[:, TASK_INDEX["age"]] & ~exact_age  # FairFace: is the mean inside the group?
    if "age" in pred and age_group.any():
        mean = pred["age"][age_group, 0]
        inside = (mean >= cache["age_low"][rows][age_group]) & (mean < cache["age_high"][rows][age_group])
        out["age_group_acc"] = float(inside.mean())
    for task in ("gender", "ethnicity", "emotion_fer2013"):
        if task in pred and mask[:, TASK_INDEX[task]].any():
            m = mask[:, TASK_INDEX[task]]
            out[f"{task}_acc"] = float((pred[task][m].argmax(1) == cache[task][rows][m]).mean())
    if "attributes" in pred and mask[:, TASK_INDEX["attributes"]].any():
        m = mask[:, TASK_INDEX["attributes"]]
        true, yes = cache["attributes"][rows][m] > 0.5, pred["attributes"][m] >= 0.5
        recall_pos = (yes & true).sum(0) / np.maximum(true.sum(0), 1)
        recall_neg = (~yes & ~true).sum(0) / np.maximum((~true).sum(0), 1)
        out["attributes_acc"] = float((yes == true).mean())  # mean over the attributes
        out["attributes_bacc"] = float(((recall_pos + recall_neg) / 2).mean())
    if "emotion" in pred and mask[:, TASK_INDEX["emotion"]].any():
        m = mask[:, TASK_INDEX["emotion"]]
        out["emotion_ferplus_acc"] = float((pred["emotion"][m].argmax(1) == cache["emotion"][rows][m].argmax(1)).mean())
    return out


def group_metrics(cache: dict, rows: np.ndarray, pred: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Age MAE and gender accuracy per ethnicity × gender group (UTKFace rows)."""
    groups = {}
    eth, gen = cache["ethnicity"][rows], cache["gender"][rows]
    for e, e_name in enumerate(TASKS["ethnicity"].labels):
        for g, g_name in enumerate(TASKS["gender"].labels):
            m = (eth == e) & (gen == g)
            if not m.any():
                continue
            entry = {"n": int(m.sum())}
            if "age" in pred:
                entry["age_mae"] = float(np.abs(cache["age"][rows][m] - pred["age"][m, 0]).mean())
            if "gender" in pred:
                entry["gender_acc"] = float((pred["gender"][m].argmax(1) == g).mean())
            groups[f"{e_name}/{g_name}"] = entry
    return groups


def evaluate_split(model, cache: dict, split: int, limit: int | None = None) -> dict[str, float]:
    """Metrics on a split's dataset-framed crops, without the posed set (comparable across caches),
    plus ``posed_emotion_acc`` and ``detector_*`` (the same metrics on detector-eye crops) when the
    cache has such rows."""
    def score(rows: np.ndarray, at_most: int | None) -> dict[str, float]:
        if at_most:  # evenly spread, so every epoch scores the same rows
            rows = rows[np.linspace(0, len(rows) - 1, min(at_most, len(rows))).astype(int)]
        return metrics(cache, rows, predict_rows(model, cache, rows))

    in_split = cache["split"] == split
    posed = cache["source"] == SOURCES.index("posed")
    canonical = cache["framing"] == 0
    out = score(np.flatnonzero(in_split & canonical & ~posed), limit)
    posed_rows = np.flatnonzero(in_split & canonical & posed)
    if len(posed_rows) and "emotion" in model.tasks:
        out["posed_emotion_acc"] = score(posed_rows, None)["emotion_ferplus_acc"]
    detector_rows = np.flatnonzero(in_split & ~canonical & ~posed)
    if len(detector_rows):
        detector = score(detector_rows, limit // 4 if limit else None)
        out.update({f"detector_{k}": v for k, v in detector.items() if k in ("age_mae", "ethnicity_acc", "gender_acc")})
    return out


def choose_thresholds(probabilities: np.ndarray, truth: np.ndarray) -> list[float]:
    """Per binary attribute (columns), the threshold that maximises the mean of accuracy and
    balanced accuracy: plain accuracy alone would make rare attributes "always no", balanced
    accuracy alone would flood them with false positives."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    chosen = []
    for k in range(truth.shape[1]):
        yes, true = probabilities[:, k][None, :] >= grid[:, None], truth[:, k][None, :]
        accuracy = (yes == true).mean(1)
        recall_pos = (yes & true).sum(1) / max(int(true.sum()), 1)
        recall_neg = (~yes & ~true).sum(1) / max(int((~true).sum()), 1)
        chosen.append(float(grid[np.argmax(accuracy + (recall_pos + recall_neg) / 2)]))
    return chosen
