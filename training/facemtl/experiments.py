"""The measured comparisons behind the model card, at the small configuration.

    cd training && python3 -m facemtl.experiments [--group two-sources|four-sources] [--only NAME ...]

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

from .evaluate import metrics, predict_rows
from .models import count_parameters, load_checkpoint
from .prepare import SOURCES, load_cache
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
# With CelebA and FairFace in the cache (four sources; ``--group four-sources``): the methods'
# switches again, the new data's effect at equal compute, and the attributes' single-task model.
EXPERIMENTS_FOUR_SOURCES: dict[str, dict] = {
    "mtl4-fixed": {},
    "mtl4-no-extra-data": {"mix": {"utkface": 0.5, "fer": 0.5}},
    "mtl4-no-label-masking": {"label_masking": False},
    "mtl4-no-balancing": {"balance_power": 0.0, "positive_weight_power": 0.0},
    "single-attributes": {"tasks": ["attributes"]},
    # issue 14, lever 3: capacity (a from-scratch run; dataset crops only, as the rows above had)
    "mtl4-width075": {"width": 0.75},
}
# Issue 14's remaining levers on the five-source cache (posed expressions and detector crops in,
# the shipped mix): the baseline again, then one change each; "80px" needs the 80 px cache
# (prepare --size 80 --out ../.cache/facemtl-cache-v3-80.npz).
EXPERIMENTS_FIVE_SOURCES: dict[str, dict] = {
    "mtl5-fixed": {},
    "mtl5-se": {"se": True},
    "mtl5-80px": {"input_size": 80, "cache": str(HERE.parent / ".cache" / "facemtl-cache-v3-80.npz")},
    "mtl5-logit-adjust": {"logit_adjust": 1.0},
}
GROUPS = {"two-sources": EXPERIMENTS, "four-sources": EXPERIMENTS_FOUR_SOURCES, "five-sources": EXPERIMENTS_FIVE_SOURCES}
# what every run of a group changes, and where its table goes
SHIPPED_MIX = {"utkface": 0.3, "fer": 0.32, "celeba": 0.2, "fairface": 0.15, "posed": 0.03}
GROUP_CHANGES = {"two-sources": {"mix": {"utkface": 0.5, "fer": 0.5}}, "four-sources": {}, "five-sources": {"mix": SHIPPED_MIX}}
GROUP_TABLES = {"two-sources": "experiments.md", "four-sources": "experiments-four-sources.md",
                "five-sources": "experiments-five-sources.md"}

# UTKFace test rows give age, gender and ethnicity; FER PublicTest the emotions; the extra sets
# are reported apart (prefixed) so the UTKFace/FER columns mean the same in every row.
COLUMNS = ["age_mae", "age_coverage90", "gender_acc", "ethnicity_acc", "emotion_ferplus_acc", "emotion_fer2013_acc",
           "celeba_gender_acc", "celeba_attributes_acc", "celeba_attributes_bacc", "fairface_gender_acc",
           "fairface_ethnicity_acc", "fairface_age_group_acc", "posed_emotion_ferplus_acc", "posed_emotion_fer2013_acc",
           "detector_age_mae", "detector_gender_acc", "detector_ethnicity_acc"]


def test_metrics(checkpoint: Path, cache: dict) -> dict[str, float]:
    """Test-split metrics per source on the dataset-framed crops: UTKFace and FER unprefixed, the
    others prefixed; ``detector_`` the UTKFace test faces cropped on the runtime detector's eyes."""
    model = load_checkpoint(checkpoint)
    out: dict[str, float] = {"parameters": count_parameters(model)}
    test = cache["split"] == 2
    for index, source in enumerate(SOURCES):
        for framing, prefix in ((0, "" if source in ("utkface", "fer") else f"{source}_"), (1, "detector_")):
            rows = np.flatnonzero(test & (cache["source"] == index) & (cache["framing"] == framing))
            if len(rows) and (framing == 0 or source == "utkface"):
                out.update({prefix + k: v for k, v in metrics(cache, rows, predict_rows(model, cache, rows)).items()})
    return out


SMALL_CONFIG = ("# Experiments (small configuration, test splits)\n\n"
                "Made by `cd training && python3 -m facemtl.experiments {command}` (configs/small.json plus the\n"
                "changes in `facemtl/experiments.py`); ")
COLUMN_NOTES = ("UTKFace test split (seeded, stratified) and FER2013 PublicTest;\n"
                "`celeba_*`: CelebA's official test partition; `fairface_*`: FairFace val; `posed_*`: the posed-expression\n"
                "test performers; `detector_*`: the UTKFace test faces cropped on the runtime detector's eyes. Accuracies\n"
                "are fractions (attributes: mean over the 7 at 0.5), age MAE in years; `fairface_age_group_acc`: the\n"
                "predicted mean falls in the labelled age group. PyTorch FP32 on the cache's crops.\n\n")


def write_table(results: dict[str, dict], path: Path, command: str = "", title: str = SMALL_CONFIG) -> None:
    columns = [c for c in COLUMNS if any(c in r for r in results.values())]
    head = "| experiment | params | " + " | ".join(columns) + " | train min |"
    lines = [head, "|" + "---|" * (len(columns) + 3)]
    for name, r in results.items():
        cells = [f"{r[c]:.3f}" if c in r else "–" for c in columns]
        lines.append(f"| {name} | {r['parameters']:,} | " + " | ".join(cells) + f" | {r['train_minutes']:.1f} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(title.format(command=command) + COLUMN_NOTES + "\n".join(lines) + "\n")


def score_runs(runs: list[str], cache_path: str, table: Path) -> None:
    """Score finished runs (``NAME=RUN_DIR``, its best.pt) on the test splits into ``table``."""
    cache = load_cache(cache_path)
    results = {}
    for item in runs:
        name, _, run = item.partition("=")
        results[name] = {**test_metrics(Path(run) / "best.pt", cache), "train_minutes": _history_minutes(Path(run))}
        print(name, results[name], flush=True)
    title = ("# Levers at full size (test splits)\n\n"
             "Made by `cd training && python3 -m facemtl.experiments {command}`: finished runs (each run's\n"
             "`config.json` says what it changed), scored on ")
    write_table(results, table, "--score " + " ".join(runs) + f" --table {table.relative_to(HERE)}", title)


def _history_minutes(run: Path) -> float:
    """Training minutes of a run from its metrics.csv."""
    lines = (run / "metrics.csv").read_text().splitlines()
    column = lines[0].split(",").index("seconds")
    return sum(float(line.split(",")[column]) for line in lines[1:]) / 60


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(HERE / "configs" / "small.json"))
    parser.add_argument("--only", nargs="*", help="run these experiments only")
    parser.add_argument("--group", choices=list(GROUPS), default="two-sources",
                        help="two-sources: the earlier UTKFace+FER set; four-sources: with CelebA and FairFace; "
                             "five-sources: with posed expressions and detector crops (issue 14's levers)")
    parser.add_argument("--out", default=str(HERE / "runs" / "experiments"))
    parser.add_argument("--table", help="the markdown table to write (default: results/ and the group's file)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every run")
    parser.add_argument("--score", nargs="+", metavar="NAME=RUN_DIR", help="only score these finished runs into --table")
    args = parser.parse_args(argv)
    if args.score:
        return score_runs(args.score, TrainConfig.load(args.config, args.set).cache,
                          Path(args.table or HERE / "results" / "levers.md").resolve())

    results_file = Path(args.out) / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    experiments = GROUPS[args.group]
    table = Path(args.table or HERE / "results" / GROUP_TABLES[args.group])
    for name, changes in experiments.items():
        if args.only and name not in args.only:
            continue
        cfg = TrainConfig.load(args.config, args.set)
        for key, value in {**GROUP_CHANGES[args.group], **changes, "out": str(Path(args.out) / name)}.items():
            setattr(cfg, key, value)
        print(f"== {name}", flush=True)
        summary = train(cfg, resume=True, log=lambda *a, **k: print(*a, **k, flush=True))
        # the run's own cache (the 80 px run has another), loaded for scoring and let go at once:
        # a process holding a second multi-GB cache while the next run trains measured 3× slower
        results[name] = {**test_metrics(Path(cfg.out) / "best.pt", load_cache(cfg.cache, cfg.input_size)),
                         "train_minutes": sum(r["seconds"] for r in summary["history"]) / 60}
        # Keep the table in the order of EXPERIMENTS, whichever runs were redone.
        results_file.write_text(json.dumps(results, indent=2))
        # the group's rows, in the order of its experiments, whichever runs were redone
        write_table({key: results[key] for key in experiments if key in results}, table, f"--group {args.group}")
    print(table.read_text())


if __name__ == "__main__":
    main()
