"""The measured comparisons behind the model card, at the small configuration.

    cd training && python3 -m facemtl.experiments [--only NAME ...] [--out runs/experiments]

Each experiment is the small config (``configs/small.json``) with a few fields changed: the
multi-task model with fixed or learned (uncertainty) loss weights (and fixed with twice the
steps, so each task sees as many samples as its single-task model), without batch balancing,
without label masking, the mini-Xception backbone, and the single-task baselines of the same
backbone. Every run is scored on the test splits and the table goes to ``results/experiments.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .evaluate import metrics, predict_rows
from .models import FaceMTL, count_parameters
from .prepare import load_cache
from .train import TrainConfig, train

HERE = Path(__file__).resolve().parents[1]

EXPERIMENTS: dict[str, dict] = {
    "mtl-fixed": {},
    # Twice the steps: each task then sees as many of its samples as a single-task run does.
    "mtl-fixed-2x": {"epochs": 8},
    "mtl-uncertainty": {"weighting": "uncertainty"},
    "mtl-no-class-balance": {"balance_power": 0.0},
    "mtl-no-label-masking": {"label_masking": False},
    "mtl-minixception": {"backbone": "minixception", "width": 1.0},
    "single-age": {"tasks": ["age"]},
    "single-gender": {"tasks": ["gender"]},
    "single-ethnicity": {"tasks": ["ethnicity"]},
    "single-emotion": {"tasks": ["emotion", "emotion_fer2013"]},
}

COLUMNS = ["age_mae", "age_coverage90", "gender_acc", "ethnicity_acc", "emotion_ferplus_acc", "emotion_fer2013_acc"]


def load_checkpoint(path: str | Path) -> FaceMTL:
    state = torch.load(path, map_location="cpu")
    model = FaceMTL(**{k: (tuple(v) if k == "tasks" else v) for k, v in state["config"].items()})
    model.load_state_dict(state["model"])
    return model.eval()


def test_metrics(checkpoint: Path, cache: dict) -> dict[str, float]:
    model = load_checkpoint(checkpoint)
    rows = np.flatnonzero(cache["split"] == 2)
    return {**metrics(cache, rows, predict_rows(model, cache, rows)), "parameters": count_parameters(model)}


def write_table(results: dict[str, dict], path: Path) -> None:
    head = "| experiment | params | " + " | ".join(COLUMNS) + " | train min |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for name, r in results.items():
        cells = [f"{r[c]:.3f}" if c in r else "–" for c in COLUMNS]
        lines.append(f"| {name} | {r['parameters']:,} | " + " | ".join(cells) + f" | {r['train_minutes']:.1f} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Experiments (small configuration, test splits)\n\n"
        "Made by `cd training && python3 -m facemtl.experiments` (configs/small.json plus the changes in\n"
        "`facemtl/experiments.py`); UTKFace test split (seeded, stratified) and FER2013 PublicTest.\n"
        "Accuracies are fractions; age MAE in years.\n\n" + "\n".join(lines) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(HERE / "configs" / "small.json"))
    parser.add_argument("--only", nargs="*", help="run these experiments only")
    parser.add_argument("--out", default=str(HERE / "runs" / "experiments"))
    parser.add_argument("--table", default=str(HERE / "results" / "experiments.md"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every run")
    args = parser.parse_args(argv)

    results_file = Path(args.out) / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    cache = None
    for name, changes in EXPERIMENTS.items():
        if args.only and name not in args.only:
            continue
        cfg = TrainConfig.load(args.config, args.set)
        for key, value in {**changes, "out": str(Path(args.out) / name)}.items():
            setattr(cfg, key, value)
        print(f"== {name}", flush=True)
        summary = train(cfg, resume=True, log=lambda *a, **k: print(*a, **k, flush=True))
        cache = cache or load_cache(cfg.cache)
        results[name] = {**test_metrics(Path(cfg.out) / "best.pt", cache),
                         "train_minutes": sum(r["seconds"] for r in summary["history"]) / 60}
        # Keep the table in the order of EXPERIMENTS, whichever runs were redone.
        results = {key: results[key] for key in [*EXPERIMENTS, *results] if key in results}
        results_file.write_text(json.dumps(results, indent=2))
        write_table(results, Path(args.table))
    print(Path(args.table).read_text())


if __name__ == "__main__":
    main()
