"""Turn the downloaded datasets into one compact, versioned training cache.

    python -m facemtl.prepare --data ../../shared/data --out ../.cache/facemtl-cache-v3.npz

The cache holds canonical 64×64 crops (uint8 RGB, see models/README.md; `--size` for others), the labels of every
task, a mask per task (1 = this sample has that label), the source dataset and the split.
CelebA (when found) keeps its official identity-disjoint partition; FairFace's train images are
train (a seeded 5% val) and its val images are our FairFace test split.
UTKFace is split train/val/test (80/10/10) with a seeded shuffle inside each stratum of
age band × gender × ethnicity; FER2013's Training rows are train (a seeded 5% of them val) and
its PublicTest rows test. The split's file names are written next to the cache, and the
UTKFace test list is committed in ``training/splits/`` so other tools score the same faces.
The posed-expression set is split by performer (seeded; 20 train, 3 val, 6 test performers).

With ``--detector-eyes DATASET=FILE`` (the JSON lines of ``scripts/detector-eyes.mjs``: the
runtime's BlazeFace eyes per image) a dataset's images also get a second crop, aligned on the
eyes the runtime finds (``framing`` 1), so the model trains on what ``analyze`` will show it; it
keeps the split of its image.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from .crop import INPUT_SIZE, align_crop, dataset_crop
from .datasets import (CELEBA_PARTITIONS, Sample, Skipped, read_celeba, read_fairface, read_fer2013_labels,
                       read_ferplus, read_posed, read_utkface)
from .tasks import TASKS

CACHE_VERSION = 3
SPLITS = ("train", "val", "test")
SOURCES = ("utkface", "fer", "celeba", "fairface", "posed")
FRAMINGS = ("dataset", "detector")  # a dataset's published crop geometry, or the runtime detector's eyes
# The posed set's median BlazeFace eyes (scripts/detector-eyes.mjs on all 1,232 images), its framing
# when no per-image eyes are given.
POSED_EYES = {"eyeCenter": [0.522, 0.506], "eyeDistance": 0.274}
POSED_SPLIT_PERFORMERS = (20, 3, 6)  # train, val, test
AGE_BANDS = (3, 10, 20, 30, 40, 50, 60, 70)  # band edges for stratification


def age_band(age: float) -> int:
    return int(np.searchsorted(AGE_BANDS, age, side="right"))


def utkface_split(samples: list[Sample], seed: int, fractions=(0.8, 0.1, 0.1)) -> list[int]:
    """Split index (0 train, 1 val, 2 test) per sample, stratified and reproducible from ``seed``."""
    strata: dict[tuple, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        strata[(age_band(s.age), s.gender, s.ethnicity)].append(i)
    split = [0] * len(samples)
    rng = np.random.default_rng(seed)
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda i: samples[i].name)
        rng.shuffle(members)
        n_val = int(round(len(members) * fractions[1]))
        n_test = int(round(len(members) * fractions[2]))
        for rank, i in enumerate(members):
            split[i] = 2 if rank < n_test else 1 if rank < n_test + n_val else 0
    return split


# FairFace train images that are byte-identical to val images (extra/README.md): never trained on,
# because FairFace val is our FairFace test split.
FAIRFACE_TRAIN_DUPLICATES_OF_VAL = {"train/1674.jpg", "train/17965.jpg", "train/22979.jpg", "train/34230.jpg",
                                    "train/6629.jpg", "train/9213.jpg"}


def posed_split(performers: list[str], seed: int) -> dict[str, int]:
    """Split index per performer: a seeded shuffle, so nobody is in two splits."""
    order = sorted(set(performers))
    np.random.default_rng(seed + 3).shuffle(order)
    n_train, n_val, _ = POSED_SPLIT_PERFORMERS
    return {p: 0 if rank < n_train else 1 if rank < n_train + n_val else 2 for rank, p in enumerate(order)}


def read_detector_eyes(path: Path) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """File base name → (right eye, left eye) from ``scripts/detector-eyes.mjs`` output (found faces
    only; the file may be gzipped: ``training/eyes/`` holds the ones the shipped model used)."""
    eyes = {}
    text = gzip.decompress(Path(path).read_bytes()).decode() if str(path).endswith(".gz") else Path(path).read_text()
    for line in text.splitlines():
        row = json.loads(line)
        if row.get("score", 0) > 0 and "rightEye" in row:
            eyes[Path(row["name"]).name] = (tuple(row["rightEye"]), tuple(row["leftEye"]))
    return eyes


def _cropped(samples, dataset: str, size: int, limit: int | None, eyes: dict | None = None):
    """(sample with its image replaced by the canonical crop, the detector-eyes crop or None);
    the full image is dropped at once."""
    geometry = POSED_EYES if dataset == "posed" else None
    for n, s in enumerate(samples):
        if limit and n >= limit:
            return
        found = eyes.get(s.name) if eyes else None
        detector = align_crop(s.image, *found, size) if found else None
        s.image = dataset_crop(s.image, dataset, size, geometry)
        yield s, detector


def build_cache(utkface: Path | None, ferplus: Path | None, fer_labels: Path | None, seed: int = 0,
                limit: int | None = None, size: int = INPUT_SIZE, log=print, celeba: Path | None = None,
                fairface: Path | None = None, posed: Path | None = None,
                detector_eyes: dict[str, dict] | None = None) -> dict:
    """Read the datasets and return the cache's arrays (see the module docstring).

    ``detector_eyes`` maps a dataset name to ``read_detector_eyes`` output for its images."""
    skipped = Skipped()
    eyes = detector_eyes or {}
    rows: list[tuple[Sample, str, int, int]] = []  # sample, source, split, framing

    def add(sample: Sample, detector_crop: np.ndarray | None, source: str, split: int) -> None:
        rows.append((sample, source, split, 0))
        if detector_crop is not None:
            rows.append((replace(sample, image=detector_crop), source, split, 1))

    def cropped(samples, dataset: str):
        return _cropped(samples, dataset, size, limit, eyes.get(dataset))

    t0 = time.time()
    if utkface:
        utk = list(cropped(read_utkface(utkface, skipped), "utkface"))
        for (s, detector), sp in zip(utk, utkface_split([s for s, _ in utk], seed)):
            add(s, detector, "utkface", sp)
        log(f"UTKFace: {len(utk)} images in {time.time() - t0:.0f}s")
    if ferplus:
        labels7 = read_fer2013_labels(fer_labels) if fer_labels else None
        rng = np.random.default_rng(seed + 1)
        kept = (s for s in read_ferplus(ferplus, labels7, skipped) if s.usage in ("Training", "PublicTest"))  # PrivateTest is held out
        n = len(rows)
        for s, detector in cropped(kept, "fer"):
            add(s, detector, "fer", 2 if s.usage == "PublicTest" else (1 if rng.random() < 0.05 else 0))
        log(f"FER: {len(rows) - n} crops, {time.time() - t0:.0f}s so far")
    if celeba:
        n = len(rows)
        for s, detector in cropped(read_celeba(celeba, skipped), "celeba"):
            add(s, detector, "celeba", CELEBA_PARTITIONS.index(s.usage))
        log(f"CelebA: {len(rows) - n} crops (official partition), {time.time() - t0:.0f}s so far")
    if fairface:
        rng = np.random.default_rng(seed + 2)
        n = len(rows)
        train = (s for s in read_fairface(fairface, "train", skipped) if s.name not in FAIRFACE_TRAIN_DUPLICATES_OF_VAL)
        for s, detector in cropped(train, "fairface"):
            add(s, detector, "fairface", 1 if rng.random() < 0.05 else 0)
        if (Path(fairface) / "fairface_label_val.csv").exists():
            for s, detector in cropped(read_fairface(fairface, "val", skipped), "fairface"):
                add(s, detector, "fairface", 2)
        log(f"FairFace: {len(rows) - n} crops (train → train/val, val → test), {time.time() - t0:.0f}s so far")
    if posed:
        n = len(rows)
        faces = list(cropped(read_posed(posed, skipped), "posed"))
        split_of = posed_split([s.usage for s, _ in faces], seed)
        for s, detector in faces:
            add(s, detector, "posed", split_of[s.usage])
        log(f"Posed: {len(rows) - n} crops (split by performer), {time.time() - t0:.0f}s so far")

    count = len(rows)
    nan = np.nan
    cache = {
        "images": np.stack([s.image for s, *_ in rows]) if rows else np.zeros((0, size, size, 3), np.uint8),
        "source": np.array([SOURCES.index(src) for _, src, _, _ in rows], np.uint8),
        "split": np.array([sp for _, _, sp, _ in rows], np.uint8),
        "framing": np.array([fr for *_, fr in rows], np.uint8),
        "name": np.array([s.name for s, *_ in rows]),
        "age": np.array([s.age if s.age is not None else nan for s, *_ in rows], np.float32),
        # the age as an interval: [age, age] for an exact age, FairFace's group [low, high) otherwise
        "age_low": np.array([s.age if s.age is not None else s.age_range[0] if s.age_range else nan for s, *_ in rows], np.float32),
        "age_high": np.array([s.age if s.age is not None else s.age_range[1] if s.age_range else nan for s, *_ in rows], np.float32),
        "gender": np.array([s.gender if s.gender is not None else -1 for s, *_ in rows], np.int64),
        "ethnicity": np.array([s.ethnicity if s.ethnicity is not None else -1 for s, *_ in rows], np.int64),
        "emotion_fer2013": np.array([s.emotion_fer2013 if s.emotion_fer2013 is not None else -1 for s, *_ in rows], np.int64),
        "emotion": np.zeros((count, TASKS["emotion"].outputs), np.float32),
        "attributes": np.zeros((count, TASKS["attributes"].outputs), np.float32),
    }
    for i, (s, *_) in enumerate(rows):
        if s.emotion_votes is not None:
            cache["emotion"][i] = s.emotion_votes / s.emotion_votes.sum()
    has_attributes = np.array([s.attributes is not None for s, *_ in rows], bool)
    for i in np.flatnonzero(has_attributes):
        cache["attributes"][i] = rows[i][0].attributes
    cache["mask"] = np.stack([
        ~np.isnan(cache["age_low"]), cache["gender"] >= 0, cache["ethnicity"] >= 0,
        cache["emotion"].sum(1) > 0, cache["emotion_fer2013"] >= 0, has_attributes,
    ], axis=1).astype(np.uint8) if count else np.zeros((0, len(TASKS)), np.uint8)
    cache["meta"] = np.array(json.dumps({
        "version": CACHE_VERSION, "seed": seed, "size": size, "tasks": list(TASKS), "sources": SOURCES,
        "splits": SPLITS, "framings": FRAMINGS, "skipped": dict(skipped.counts), "skipped_examples": skipped.examples,
        "counts": {f"{src}/{sp}" + ("/detector" if fr else ""): int(c) for (src, sp, fr), c in Counter(
            (SOURCES[a], SPLITS[b], int(f)) for a, b, f in zip(cache["source"], cache["split"], cache["framing"])).items()},
    }))
    if skipped.total():
        log(f"skipped {skipped.total()}: {dict(skipped.counts)}")
    return cache


def load_cache(path: str | Path, size: int | None = None) -> dict:
    """The cache's arrays; with ``size``, refused unless its crops are that many pixels (the model's input)."""
    with np.load(path, allow_pickle=False) as data:
        cache = {k: data[k] for k in data.files}
    cache["meta"] = json.loads(str(cache["meta"]))
    if cache["meta"]["version"] != CACHE_VERSION:
        raise SystemExit(f"{path}: cache version {cache['meta']['version']}, expected {CACHE_VERSION}: run prepare again")
    if size is not None and cache["meta"]["size"] != size:
        raise SystemExit(f"{path} holds {cache['meta']['size']} px crops, the model takes {size} px: "
                         f"use a cache prepared with --size {size} (or another input_size)")
    return cache


def _find_extra(data: Path, name: str) -> Path | None:
    """Where ``extra/assemble.sh`` output usually is: DATA/extra/NAME, or a ``data/NAME`` beside DATA."""
    for candidate in (data / "extra" / name, data.parent.parent / "data" / name):
        if candidate.is_dir():
            return candidate
    print(f"{name}: not found under {data / 'extra'} (see ../shared/data/extra/README.md); training without it")
    return None


def main(argv=None) -> None:
    here = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data", help="folder with utkface/ and fer2013/")
    parser.add_argument("--utkface", type=Path, help="UTKFace folder or .tar.gz (default: DATA/utkface/UTKFace.tar.gz)")
    parser.add_argument("--ferplus", type=Path, help="FER+ folders or .tar.gz (default: DATA/fer2013/FERPlus-train-valid.tar.gz)")
    parser.add_argument("--fer-labels", type=Path, help="fer2013_labels.csv (default: DATA/fer2013/fer2013_labels.csv)")
    parser.add_argument("--celeba", type=Path, help="CelebA folder (default: DATA/extra/celeba or ../data/celeba if present)")
    parser.add_argument("--fairface", type=Path, help="FairFace folder (default: DATA/extra/fairface or ../data/fairface if present)")
    parser.add_argument("--posed", type=Path, help="posed expressions folder or .tar.gz (default: DATA/posed/taiwanese-expressions.tar.gz if present)")
    parser.add_argument("--detector-eyes", action="append", default=[], metavar="DATASET=FILE",
                        help="also crop DATASET's images on the runtime detector's eyes (scripts/detector-eyes.mjs output)")
    parser.add_argument("--no-extra", action="store_true", help="UTKFace and FER only, even if CelebA/FairFace/posed are found")
    parser.add_argument("--out", type=Path, default=here / ".cache" / f"facemtl-cache-v{CACHE_VERSION}.npz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=INPUT_SIZE,
                        help=f"crop side in pixels (default {INPUT_SIZE}, the contract's; train with input_size equal to it)")
    parser.add_argument("--limit", type=int, help="at most this many images per dataset (quick runs)")
    parser.add_argument("--splits-dir", type=Path, help="also write the split's file names here")
    args = parser.parse_args(argv)

    utk = args.utkface or args.data / "utkface" / "UTKFace.tar.gz"
    fer = args.ferplus or args.data / "fer2013" / "FERPlus-train-valid.tar.gz"
    labels = args.fer_labels or args.data / "fer2013" / "fer2013_labels.csv"
    missing = [str(p) for p in (utk, fer) if not p.exists()]
    if missing:
        raise SystemExit(f"dataset not found: {', '.join(missing)} (see training/README.md for the layouts)")
    extra = {name: None if args.no_extra else (getattr(args, name) or _find_extra(args.data, name))
             for name in ("celeba", "fairface")}
    posed = args.posed or args.data / "posed" / "taiwanese-expressions.tar.gz"
    extra["posed"] = None if args.no_extra or not posed.exists() else posed
    eyes = {}
    for item in args.detector_eyes:
        dataset, _, path = item.partition("=")
        if dataset not in SOURCES or not path:
            raise SystemExit(f"--detector-eyes takes DATASET=FILE with DATASET one of {', '.join(SOURCES)}, not {item!r}")
        eyes[dataset] = read_detector_eyes(Path(path))
    cache = build_cache(utk, fer, labels if labels.exists() else None, args.seed, args.limit, args.size,
                        detector_eyes=eyes, **extra)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **cache)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.0f} MB, sha256 {digest}…): {json.loads(str(cache['meta']))['counts']}")
    if args.splits_dir:
        args.splits_dir.mkdir(parents=True, exist_ok=True)
        canonical = cache["framing"] == 0
        for source in ("utkface", "posed"):
            rows = canonical & (cache["source"] == SOURCES.index(source))
            for i, split in enumerate(SPLITS):
                if rows.any():
                    names = sorted(cache["name"][rows & (cache["split"] == i)])
                    (args.splits_dir / f"{source}-{split}.txt").write_text("".join(n + "\n" for n in names))


if __name__ == "__main__":
    main()
