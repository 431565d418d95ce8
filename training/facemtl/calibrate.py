"""Post-hoc calibration on the validation split (Guo et al. 2017, temperature scaling).

Each softmax head gets one temperature T (logits / T) that minimises its negative log-likelihood
on the validation faces it has labels for; accuracy does not change (argmax is kept), the
probabilities become honest. The age head gets a linear correction of its mean (least absolute
error on the validation ages, which are exact ages; FairFace's perceived-age groups pull the mean
otherwise) and one factor on its predicted standard deviation so that the 90% interval covers 90%
of the validation ages. ``FaceMTL.decode`` applies both, so the
exported FP32 and INT8 graphs carry them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .data import TASK_INDEX
from .evaluate import Z90, predict_rows
from .tasks import BINARY_TASKS


def _fit_temperature(logits: torch.Tensor, target: torch.Tensor) -> float:
    """The T minimising the cross-entropy of softmax(logits / T) against the class ids ``target``."""
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def loss_fn():
        optimizer.zero_grad()
        log_p = F.log_softmax(logits / log_t.exp(), dim=1)
        loss = F.nll_loss(log_p, target)
        loss.backward()
        return loss

    optimizer.step(loss_fn)
    return float(log_t.exp())


def expected_calibration_error(probabilities: torch.Tensor, correct: torch.Tensor, bins: int = 15) -> float:
    """Top-label ECE over equal-width confidence bins (as `facemtl eval` computes it)."""
    confidence = probabilities.max(1).values
    index = (confidence * bins).ceil().clamp(1, bins) - 1
    ece = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            ece += float(in_bin.float().mean() * (correct[in_bin].float().mean() - confidence[in_bin].mean()).abs())
    return ece


def fit_linear_l1(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) minimising mean |y − (a·x + b)|: for each a on a grid the best b is the median residual."""
    best = (np.inf, 1.0, 0.0)
    for a in np.arange(0.8, 1.2001, 0.005):
        b = float(np.median(y - a * x))
        best = min(best, (float(np.abs(y - a * x - b).mean()), float(a), b))
    return best[1], best[2]


def calibrate(model, cache: dict, split: int = 1, log=print) -> dict[str, float]:
    """Fit the temperatures and the age std factor on ``split`` and set ``model.calibration``."""
    rows = np.flatnonzero(cache["split"] == split)
    raw = {task: torch.from_numpy(v) for task, v in predict_rows(model, cache, rows, raw=True).items()}
    mask = torch.from_numpy(cache["mask"][rows].astype(bool))
    calibration: dict[str, float] = {}
    for task, logits in raw.items():
        m = mask[:, TASK_INDEX[task]]
        if task in BINARY_TASKS or not m.any():
            continue
        if task == "age":
            exact = m & ~torch.from_numpy(np.isnan(cache["age"][rows]))
            true, mean = cache["age"][rows][exact.numpy()], logits[exact, 0].numpy()
            scale, shift = fit_linear_l1(mean, true)
            calibration["age_scale"], calibration["age_shift"] = scale, shift
            mean = np.clip(scale * mean + shift, 0, 116)
            log(f"calibration age: mean × {scale:.3f} + {shift:.2f} years, validation MAE "
                f"{np.abs(true - logits[exact, 0].numpy()).mean():.2f} → {np.abs(true - mean).mean():.2f}")
            error = torch.from_numpy(np.abs(true - mean))
            std = torch.exp(0.5 * logits[exact, 1].clamp(-10, 12))
            # the factor that puts 90% of |error| / std inside Z90
            calibration["age_std"] = float(torch.quantile(error / std, 0.9) / Z90)
            continue
        target = torch.from_numpy(cache[task][rows])[m]
        # FER+: fitted on the majority vote, the label its accuracy and ECE are measured against
        labels = target.argmax(1) if task == "emotion" else target.long()
        t = _fit_temperature(logits[m], labels)
        before = expected_calibration_error(F.softmax(logits[m], 1), logits[m].argmax(1) == labels)
        after = expected_calibration_error(F.softmax(logits[m] / t, 1), logits[m].argmax(1) == labels)
        log(f"calibration {task}: T {t:.3f}, validation ECE {before:.3f} → {after:.3f} ({int(m.sum())} faces)")
        calibration[task] = t
    if "age_std" in calibration:
        log(f"calibration age: std × {calibration['age_std']:.3f} for 90% coverage on validation")
    model.calibration = calibration
    return calibration
