"""Train a facemtl model from a config file.

    cd training
    python3 -m facemtl.train --config configs/small.json            # ~30 min on 2 CPU cores
    python3 -m facemtl.train --config configs/shipped.json --resume  # continue from the last checkpoint
    python3 -m facemtl.train --config configs/small.json --set tasks=emotion,emotion_fer2013 --set out=runs/x

Every epoch: validation metrics to ``OUT/metrics.csv``, learning curves to ``OUT/curves.png``,
and ``OUT/last.pt`` (resumable) plus ``OUT/best.pt`` (best validation score).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from .data import TASK_INDEX, BalancedBatchSampler, augment, batch_tensors, class_priors, positive_weights
from .init_onnx import init_from_onnx
from .evaluate import evaluate_split
from .losses import MultiTaskLoss
from .models import FaceMTL, count_parameters, load_state
from .prepare import SOURCES, load_cache
from .tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class TrainConfig:
    out: str = "runs/small"
    cache: str = str(ROOT / ".cache" / "facemtl-cache-v3.npz")
    backbone: str = "mobilenetv2"
    width: float = 0.5
    input_size: int = 64
    se: bool = False  # squeeze-excitation in every inverted residual (MobileNetV2 only)
    tasks: list = field(default_factory=lambda: list(TASKS))
    epochs: int = 8
    steps_per_epoch: int = 200
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 200
    # batch balancing: share of each dataset in every batch, and the task balanced within it
    # (a source missing from the cache is left out and the others' shares renormalised)
    mix: dict = field(default_factory=lambda: {"utkface": 0.25, "fer": 0.35, "celeba": 0.2, "fairface": 0.2})
    balance: dict = field(default_factory=lambda: {"utkface": "ethnicity", "fer": "emotion", "fairface": "ethnicity",
                                                   "posed": "emotion"})
    detector_crops: bool = True  # also draw the crops made on the runtime detector's eyes (cache framing 1)
    balance_power: float = 0.5  # 0 = plain sampling, 1 = equal classes
    label_masking: bool = True
    # labels left out per source, e.g. {"fairface": ["ethnicity"]}: FairFace's 7 groups folded into
    # UTKFace's 5 (Latino and Middle Eastern as "other") do not mean what UTKFace's do
    drop_labels: dict = field(default_factory=dict)
    weighting: str = "fixed"  # "fixed" or "uncertainty"
    loss_weights: dict = field(default_factory=lambda: {"age": 0.1, "gender": 1.0, "ethnicity": 1.0, "emotion": 1.0, "emotion_fer2013": 1.0,
                                                        "attributes": 1.0})
    # weight of a second smile loss on the weak labels FER's and the posed set's emotion votes give
    # (most votes happy: smiling, none: not), so the smile head is not CelebA's look only; 0 = off
    smile_from_emotion: float = 0.0
    positive_weight_power: float = 0.5  # binary attributes: a positive weighs (negatives/positives)^power
    init_from: str = ""  # start from an earlier model's weights (same backbone): a checkpoint (.pt) or its FP32 ONNX file
    label_smoothing: float = 0.05
    # logit adjustment (Menon et al. 2021) of the emotion losses: τ·log(class prior as sampled) is
    # added to the logits in training only, so the plain logits at test time favour rare classes
    logit_adjust: float = 0.0
    augment: float = 1.0  # strength, 0 = off
    dropout: float = 0.2
    threads: int = 0  # 0 = torch's default
    seed: int = 0
    val_limit: int = 4000
    device: str = "auto"

    @classmethod
    def load(cls, path: str | None, overrides: list[str]) -> "TrainConfig":
        values = json.loads(Path(path).read_text()) if path else {}
        for item in overrides:
            key, _, raw = item.partition("=")
            values[key] = _parse_value(cls, key, raw)
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise SystemExit(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**values)


def _parse_value(cls, key: str, raw: str):
    kinds = {f.name: f for f in fields(cls)}
    if key not in kinds:
        raise SystemExit(f"unknown config key: {key}")
    default = kinds[key].default if kinds[key].default is not kinds[key].default_factory else None
    if key == "tasks":
        return raw.split(",")
    if raw.startswith(("{", "[")):
        return json.loads(raw)
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    for kind in (int, float):
        if isinstance(default, kind):
            return kind(raw)
    return raw


def validation_score(m: dict[str, float]) -> float:
    """One number to pick the best epoch: mean of accuracies minus age MAE in tens of years
    (on the dataset-framed crops: the ``detector_`` figures are reported, not scored)."""
    accs = [v for k, v in m.items() if k.endswith("_acc") and not k.startswith("detector_")]
    score = sum(accs) / len(accs) if accs else 0.0
    return score - m.get("age_mae", 0.0) / 10 if "age_mae" in m else score


def batch_mix(cfg: TrainConfig, cache: dict) -> dict[str, float]:
    """The configured mix, less the sources that are not in the cache or label none of the tasks
    (a single-task model draws only from the datasets that label its task)."""
    present = {SOURCES[i] for i in np.unique(cache["source"])}
    mask = cache["mask"].astype(bool)
    labels_any = {src: bool(mask[cache["source"] == SOURCES.index(src)][:, [TASK_INDEX[t] for t in cfg.tasks]].any())
                  for src in present}
    return {src: share for src, share in cfg.mix.items() if src in present and labels_any[src]}


def kept_labels(cache: dict, drop: dict[str, list[str]]) -> torch.Tensor:
    """Rows × tasks: False where ``drop`` leaves a source's label out of the loss (the sampler still
    balances on it)."""
    kept = np.ones(cache["mask"].shape, bool)
    for source, tasks in drop.items():
        rows = cache["source"] == SOURCES.index(source)
        for task in tasks:
            kept[rows, TASK_INDEX[task]] = False
    return torch.from_numpy(kept)


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def build(cfg: TrainConfig, cache: dict | None = None) -> tuple[FaceMTL, MultiTaskLoss]:
    model = FaceMTL(cfg.backbone, cfg.width, cfg.input_size, tuple(cfg.tasks), cfg.dropout, se=cfg.se)
    class_weights = {"attributes": positive_weights(cache, 0, cfg.positive_weight_power)} if cache and cfg.positive_weight_power else None
    adjustments = ({t: cfg.logit_adjust * torch.log(class_priors(cache, 0, t, cfg.balance_power))
                    for t in ("emotion", "emotion_fer2013") if t in cfg.tasks} if cache and cfg.logit_adjust else None)
    criterion = MultiTaskLoss(tuple(cfg.tasks), cfg.loss_weights, cfg.weighting, cfg.label_masking, cfg.label_smoothing,
                              class_weights, adjustments, cfg.smile_from_emotion)
    return model, criterion


def plot_curves(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in rows[0] if k not in ("epoch", "seconds", "lr")]
    # Three panels because the scales differ: losses, fractions (accuracy, coverage), years.
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    epochs = [r["epoch"] for r in rows]
    for k in keys:
        ax = axes[0] if k.startswith("loss") else axes[2] if k.endswith("_mae") else axes[1]
        ax.plot(epochs, [r[k] for r in rows], label=k, marker="o", markersize=3)
    titles = ("training loss", "validation accuracy / coverage", "validation age MAE (years)")
    for ax, title in zip(axes, titles):
        ax.set_title(title), ax.set_xlabel("epoch"), ax.legend(fontsize=7), ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def train(cfg: TrainConfig, resume: bool = False, log=print, stop_after: int = 0) -> dict:
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                          "cpu" if cfg.device == "auto" else cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))

    cache = load_cache(cfg.cache, cfg.input_size)
    kept = kept_labels(cache, cfg.drop_labels)
    model, criterion = build(cfg, cache)
    if cfg.init_from and not (resume and (out / "last.pt").exists()):
        if cfg.init_from.endswith(".pt"):  # a checkpoint of this code: the weights as trained, batch norm included
            model.load_state_dict(load_state(cfg.init_from)["model"])
            copied = "all weights"
        else:
            copied = init_from_onnx(model, cfg.init_from, cache)
        log(f"initialised from {cfg.init_from}: {copied}")
    model.to(device), criterion.to(device)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(criterion.parameters()), lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    start_epoch, best, history = 0, -math.inf, []
    if resume and (out / "last.pt").exists():
        state = load_state(out / "last.pt")
        model.load_state_dict(state["model"]), criterion.load_state_dict(state["criterion"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, history = state["epoch"], state["best"], state["history"]
        log(f"resumed from {out / 'last.pt'} at epoch {start_epoch}")
    mix = batch_mix(cfg, cache)
    log(f"{cfg.backbone} width {cfg.width} @ {cfg.input_size}px, {count_parameters(model):,} parameters, "
        f"tasks {','.join(cfg.tasks)}, batches {mix}, device {device}")

    total_steps = cfg.epochs * cfg.steps_per_epoch
    generator = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        sampler = BalancedBatchSampler(cache, 0, cfg.batch_size, cfg.steps_per_epoch, mix, cfg.balance,
                                       cfg.balance_power, seed=cfg.seed * 1000 + epoch,
                                       framings=(0, 1) if cfg.detector_crops else (0,))
        sums: dict[str, float] = {}
        t0 = time.time()
        for i, idx in enumerate(sampler):
            step = epoch * cfg.steps_per_epoch + i
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, cfg)
            images, labels, mask = batch_tensors(cache, idx)
            mask = mask & kept[idx]
            if cfg.augment > 0:
                images = augment(images, generator, cfg.augment)
            images, mask = images.to(device), mask.to(device)
            labels = {k: v.to(device) for k, v in labels.items()}
            loss, parts = criterion(model(images), labels, mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in {"loss": float(loss), **{f"loss_{t}": p for t, p in parts.items()}}.items():
                sums[k] = sums.get(k, 0.0) + v
            if (i + 1) % 20 == 0 or i + 1 == len(sampler):
                elapsed = time.time() - t0
                rate = (i + 1) * cfg.batch_size / elapsed
                eta = (total_steps - step - 1) * cfg.batch_size / rate
                log(f"epoch {epoch + 1}/{cfg.epochs} step {i + 1}/{len(sampler)} loss {sums['loss'] / (i + 1):.3f} "
                    f"{rate:.0f} img/s ETA {eta / 60:.1f} min", end="\r" if (i + 1) < len(sampler) else "\n")

        model.cpu()
        val = evaluate_split(model, cache, 1, cfg.val_limit)
        model.to(device)
        row = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1), "lr": optimizer.param_groups[0]["lr"],
               **{k: round(v / len(sampler), 4) for k, v in sums.items()}, **{f"val_{k}": round(v, 4) for k, v in val.items()}}
        history.append(row)
        log("  ".join(f"{k} {v}" for k, v in row.items()))
        score = validation_score(val)
        state = {"model": model.state_dict(), "criterion": criterion.state_dict(), "optimizer": optimizer.state_dict(),
                 "config": model.config, "train_config": asdict(cfg), "epoch": epoch + 1, "best": max(best, score),
                 "history": history, "val": val}
        if score > best:
            best = score
            torch.save(state, out / "best.pt")
        torch.save(state, out / "last.pt")
        with open(out / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[-1]))
            writer.writeheader()
            writer.writerows(history)
        plot_curves(history, out / "curves.png")
        if stop_after and epoch + 1 - start_epoch >= stop_after and epoch + 1 < cfg.epochs:
            log(f"stopped after {stop_after} epochs in this process; continue with --resume")
            break
    return {"best": best, "history": history}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="JSON file of TrainConfig fields")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    # A long-lived training process has slowed to half speed on the 2-core box (v5: 240-290 s an
    # epoch after a start, 450-630 s later); a fresh one with --resume was fast again (training/README.md).
    parser.add_argument("--stop-after", type=int, default=0, metavar="N",
                        help="stop after N epochs in this process (resume in a fresh one)")
    args = parser.parse_args(argv)
    cfg = TrainConfig.load(args.config, args.set)
    np.random.seed(cfg.seed)
    train(cfg, args.resume, log=lambda *a, **k: print(*a, **k, flush=True), stop_after=args.stop_after)


if __name__ == "__main__":
    main()
