"""The multi-task loss: label masking, per-task losses and their weighting.

Label masking: a sample contributes only to the heads it has labels for. A task with no labelled
sample in a batch adds exactly zero loss and zero gradient (missing labels are zero-filled and
multiplied by a 0 mask, never NaN).
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .data import TASK_INDEX
from .tasks import BINARY_TASKS, TASKS

SMILE = TASKS["attributes"].labels.index("smile")


def gaussian_nll(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample Gaussian negative log-likelihood; ``pred`` is ``[mean, log_variance]``."""
    mean, log_var = pred[:, 0], pred[:, 1].clamp(-6, 12)
    return 0.5 * (log_var + (target - mean) ** 2 / torch.exp(log_var))


def gaussian_interval_nll(pred: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Per-sample loss of an age known as an interval [low, high) (FairFace's age groups).

    The negative log of the Gaussian's mass inside the interval; an exact age (``low == high``)
    falls back to the density's NLL. The interval never invents an age inside the group.
    """
    exact = high - low < 1e-6
    mean, log_var = pred[:, 0], pred[:, 1].clamp(-6, 12)
    std = torch.exp(0.5 * log_var)
    a, b = (low - mean) / std, (high - mean) / std
    # both ends in the upper tail: use the mirror image, where log_ndtr keeps its precision
    flip = a > 0
    a, b = torch.where(flip, -b, a), torch.where(flip, -a, b)
    log_b, log_a = torch.special.log_ndtr(b), torch.special.log_ndtr(a)
    log_mass = log_b + torch.log1p(-torch.exp((log_a - log_b).clamp(max=-1e-6)))
    return torch.where(exact, gaussian_nll(pred, low), -log_mass)


def per_sample_losses(outputs: dict[str, torch.Tensor], labels: dict[str, torch.Tensor],
                      class_weights: dict[str, torch.Tensor] | None = None,
                      label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """Unreduced loss of every sample for every task the model has."""
    cw = class_weights or {}
    losses = {}
    for task, out in outputs.items():
        if task == "age":
            losses[task] = gaussian_interval_nll(out, labels["age_low"], labels["age_high"])
        elif task in BINARY_TASKS:  # yes/no per attribute, positives weighted (``positive_weights``)
            bce = F.binary_cross_entropy_with_logits(out, labels[task], pos_weight=cw.get(task), reduction="none")
            losses[task] = bce.mean(1)
        elif task == "emotion":  # FER+ probability mode: cross-entropy against the vote distribution
            log_p = F.log_softmax(out, dim=1)
            weight = cw.get(task)
            target = labels[task] * weight if weight is not None else labels[task]
            losses[task] = -(target * log_p).sum(1)
        else:
            losses[task] = F.cross_entropy(out, labels[task], weight=cw.get(task), reduction="none",
                                           label_smoothing=label_smoothing)
    return losses


def masked_mean(loss: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over labelled samples; exactly 0 (with 0 gradient) when none is labelled."""
    mask = mask.to(loss.dtype)
    return (loss * mask).sum() / mask.sum().clamp(min=1.0)


class MultiTaskLoss(nn.Module):
    """Weighted sum of masked task losses.

    ``weighting="fixed"``: Σ w_t·L_t. ``weighting="uncertainty"``: Kendall, Gal & Cipolla (2018)
    homoscedastic weighting, Σ exp(−s_t)·L_t + s_t with a learned s_t per task.
    """

    def __init__(self, tasks: tuple[str, ...], weights: dict[str, float] | None = None, weighting: str = "fixed",
                 label_masking: bool = True, label_smoothing: float = 0.0,
                 class_weights: dict[str, torch.Tensor] | None = None,
                 logit_adjustments: dict[str, torch.Tensor] | None = None, smile_from_emotion: float = 0.0):
        super().__init__()
        # weight of the smile output's loss on the weak labels emotion votes give (data.smile_from_emotion)
        self.smile_from_emotion = smile_from_emotion if "attributes" in tasks else 0.0
        # added to a head's logits before its loss (training only): see TrainConfig.logit_adjust
        self.logit_adjustments = logit_adjustments or {}
        self.tasks, self.weighting, self.label_masking = tasks, weighting, label_masking
        self.weights = {t: (weights or {}).get(t, 1.0) for t in tasks}
        self.label_smoothing, self.class_weights = label_smoothing, class_weights
        self.log_vars = nn.Parameter(torch.zeros(len(tasks))) if weighting == "uncertainty" else None

    def forward(self, outputs: dict[str, torch.Tensor], labels: dict[str, torch.Tensor],
                mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        outputs = {t: out + self.logit_adjustments[t].to(out.device) if t in self.logit_adjustments else out
                   for t, out in outputs.items()}
        losses = per_sample_losses(outputs, labels, self.class_weights, self.label_smoothing)
        total = torch.zeros(())
        parts = {}
        for i, task in enumerate(self.tasks):
            # without masking every sample trains every head, on the zero-filled labels
            task_mask = mask[:, TASK_INDEX[task]] if self.label_masking else torch.ones_like(mask[:, 0])
            loss = masked_mean(losses[task], task_mask)
            parts[task] = float(loss.detach())
            if self.log_vars is not None:
                total = total + torch.exp(-self.log_vars[i]) * self.weights[task] * loss + self.log_vars[i] * task_mask.any()
            else:
                total = total + self.weights[task] * loss
        if self.smile_from_emotion:
            loss = weak_smile_loss(outputs["attributes"][:, SMILE], labels["smile_from_emotion"])
            parts["smile_from_emotion"] = float(loss.detach())
            total = total + self.smile_from_emotion * loss
        return total, parts


def weak_smile_loss(smile_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the smile output over the samples with a weak label (target not NaN)."""
    known = ~torch.isnan(target)
    bce = F.binary_cross_entropy_with_logits(smile_logits, torch.nan_to_num(target), reduction="none")
    return masked_mean(bce, known)
