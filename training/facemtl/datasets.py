"""Readers for the face datasets in the layouts users download.

Each reader yields ``Sample``s: an image (H×W×3 uint8 RGB) and whatever labels that dataset has.
A malformed file name or an unreadable image is skipped and counted in ``Skipped``, never raised.

- UTKFace: a ``UTKFace/`` folder or ``UTKFace.tar.gz``; names ``age_gender_race_datetime.jpg...``.
- FER+: ``FER2013Train/`` / ``FER2013Valid/`` / ``FER2013Test/`` folders (or the tar.gz holding
  them) with ``label.csv`` (10 vote counts); ``fer2013new.csv`` carries the same votes by Usage.
- FER2013 original: ``fer2013.csv`` (emotion, pixels, Usage) and ``fer2013_labels.csv`` (the
  original 7-class label per FER+ image name).
- CelebA: ``img_align_celeba/`` with ``list_attr_celeba.txt`` and ``list_eval_partition.txt`` (the
  official layout; rows whose image is missing are skipped, so a subset reads like the full set).
- FairFace: ``train/``, ``val/`` and ``fairface_label_{train,val}.csv`` (age group, gender, race).
- Taiwanese posed expressions: ``faces_256x256/PPTVEnn.jpg`` in a folder or ``taiwanese-expressions.tar.gz``
  (PP performer, E the posed expression letter a–g).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

# FER+ vote columns, in the order of label.csv and fer2013new.csv
FERPLUS_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
FERPLUS_EMOTIONS = 8  # the first 8 columns are emotions; unknown and NF are not
FER_SPLITS = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}

UTK_NAME = re.compile(r"^(\d{1,3})_([01])_([0-4])_\d+")


@dataclass
class Sample:
    image: np.ndarray  # H×W×3 uint8 RGB
    name: str
    age: float | None = None
    gender: int | None = None
    ethnicity: int | None = None
    emotion_votes: np.ndarray | None = None  # FER+ votes over the 8 emotions
    emotion_fer2013: int | None = None  # original 7-class label
    usage: str | None = None  # FER: Training / PublicTest / PrivateTest; CelebA/FairFace: train / val / test
    age_range: tuple[float, float] | None = None  # FairFace: an age group [low, high) instead of an age
    attributes: np.ndarray | None = None  # CelebA: 0/1 per entry of CELEBA_ATTRIBUTES


@dataclass
class Skipped:
    """Counts of skipped inputs by reason, with a few examples each."""

    counts: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)

    def add(self, reason: str, name: str) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(name)

    def total(self) -> int:
        return sum(self.counts.values())


def decode_image(data: bytes) -> np.ndarray:
    """Decode an encoded image to H×W×3 uint8 RGB (grayscale is replicated)."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return np.asarray(img.convert("RGB"))


def _decoded(data: bytes, name: str, skipped: Skipped) -> np.ndarray | None:
    """The decoded image, or None with ``name`` counted as a corrupt image (PIL raises many types)."""
    try:
        return decode_image(data)
    except Exception:
        skipped.add("corrupt image", name)
        return None


def _iter_files(path: Path, suffix: str) -> Iterator[tuple[str, bytes]]:
    """(base name, bytes) of every file ending in ``suffix`` in a folder tree or a .tar(.gz)."""
    if path.is_dir():
        for root, _, files in sorted(os.walk(path)):
            for name in sorted(files):
                if name.endswith(suffix):
                    yield name, (Path(root) / name).read_bytes()
    else:
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(suffix):
                    yield os.path.basename(member.name), tar.extractfile(member).read()


def parse_utkface_name(name: str) -> tuple[int, int, int] | None:
    """(age, gender, race) from a UTKFace file name, or None when the name is malformed."""
    match = UTK_NAME.match(name)
    if not match:
        return None
    age, gender, race = (int(g) for g in match.groups())
    return (age, gender, race) if 0 <= age <= 116 else None


def read_utkface(path: str | Path, skipped: Skipped | None = None) -> Iterator[Sample]:
    skipped = skipped if skipped is not None else Skipped()
    for name, data in _iter_files(Path(path), ".jpg"):
        labels = parse_utkface_name(name)
        if labels is None:
            skipped.add("malformed name", name)
            continue
        image = _decoded(data, name, skipped)
        if image is None:
            continue
        yield Sample(image, name, age=float(labels[0]), gender=labels[1], ethnicity=labels[2])


def read_votes_csv(path: str | Path) -> dict[str, np.ndarray]:
    """A FER+ ``label.csv``: image name → the 10 vote counts."""
    votes = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) < 12 or not row[0].endswith(".png"):
                continue
            votes[row[0]] = np.array([float(v) for v in row[2:12]], np.float32)
    return votes


def read_fer2013new(path: str | Path) -> dict[str, tuple[str, np.ndarray]]:
    """``fer2013new.csv``: image name → (Usage, 10 votes). A name seen twice keeps its later row."""
    out = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if len(row) >= 12 and row[1].strip():
                out[row[1].strip()] = (row[0], np.array([float(v) for v in row[2:12]], np.float32))
    return out


def read_fer2013_labels(path: str | Path) -> dict[str, int]:
    """``Usage,Image name,emotion,emotion_name``: image name → original 7-class label."""
    with open(path, newline="") as f:
        return {row["Image name"]: int(row["emotion"]) for row in csv.DictReader(f) if row.get("Image name")}


def read_ferplus(path: str | Path, labels_7class: dict[str, int] | None = None,
                 skipped: Skipped | None = None) -> Iterator[Sample]:
    """FER+ folders (or the archive holding them), each with its ``label.csv``.

    Images whose most-voted column is 'unknown' or 'not a face' carry no emotion votes (the
    FER+ paper drops them); they still carry the original label when ``labels_7class`` has it.
    """
    skipped = skipped if skipped is not None else Skipped()
    path = Path(path)
    usage_of = {v: k for k, v in FER_SPLITS.items()}
    # label.csv first: a tar streams members in order, so read all CSVs, then images
    votes: dict[tuple[str, str], np.ndarray] = {}
    images: list[tuple[str, str, bytes]] = []
    for folder, name, data in _iter_fer_members(path):
        if name == "label.csv":
            for row in csv.reader(io.StringIO(data.decode())):
                if len(row) >= 12:
                    votes[(folder, row[0])] = np.array([float(v) for v in row[2:12]], np.float32)
        elif name.endswith(".png"):
            images.append((folder, name, data))
    for folder, name, data in images:
        v = votes.get((folder, name))
        original = labels_7class.get(name) if labels_7class else None
        if v is None and original is None:
            skipped.add("no label", name)
            continue
        image = _decoded(data, name, skipped)
        if image is None:
            continue
        # FER+ drops images whose most-voted column is 'unknown' or 'not a face'
        emotion_votes = v[:FERPLUS_EMOTIONS] if v is not None and int(np.argmax(v)) < FERPLUS_EMOTIONS else None
        yield Sample(image, name, emotion_votes=emotion_votes, emotion_fer2013=original, usage=usage_of.get(folder))


def _iter_fer_members(path: Path) -> Iterator[tuple[str, str, bytes]]:
    """(split folder name, file name, bytes) for files under FER2013* folders."""
    if path.is_dir():
        folders = [path] if path.name.startswith("FER2013") else sorted(p for p in path.iterdir() if p.name.startswith("FER2013") and p.is_dir())
        for folder in folders:
            for file in sorted(folder.iterdir()):
                yield folder.name, file.name, file.read_bytes()
    else:
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile():
                    parts = Path(member.name).parts
                    folder = next((p for p in parts if p.startswith("FER2013")), "")
                    yield folder, parts[-1], tar.extractfile(member).read()


def read_fer2013_csv(path: str | Path, usage: str | None = None, skipped: Skipped | None = None) -> Iterator[Sample]:
    """The original ``fer2013.csv``: ``emotion,pixels,Usage`` with 2304 gray values per row."""
    skipped = skipped if skipped is not None else Skipped()
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if usage and row.get("Usage") != usage:
                continue
            try:
                pixels = np.array(row["pixels"].split(), np.uint8)
                label = int(row["emotion"])
                if pixels.size != 48 * 48 or not 0 <= label <= 6:
                    raise ValueError
            except (ValueError, KeyError, AttributeError):
                skipped.add("malformed row", f"row {i + 2}")
                continue
            gray = pixels.reshape(48, 48)
            yield Sample(np.repeat(gray[..., None], 3, axis=2), f"row{i + 2}", emotion_fer2013=label, usage=row.get("Usage"))


# The binary attributes the model predicts, each from CelebA's ±1 columns: (name, column, negated)
CELEBA_ATTRIBUTES = (
    ("smile", "Smiling", False),
    ("eyeglasses", "Eyeglasses", False),  # sunglasses included, as CelebA labels them
    ("makeup", "Heavy_Makeup", False),  # the eye-makeup proxy
    ("lipstick", "Wearing_Lipstick", False),
    ("beard", "No_Beard", True),
    ("moustache", "Mustache", False),
    ("sideburns", "Sideburns", False),
)
CELEBA_PARTITIONS = ("train", "val", "test")


def read_celeba_attributes(path: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """``list_attr_celeba.txt``: (the 40 column names, image name → ±1 values)."""
    with open(path) as f:
        lines = f.read().splitlines()
    columns = lines[1].split()
    rows = {}
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == len(columns) + 1:
            rows[parts[0]] = np.array([int(v) for v in parts[1:]], np.int8)
    return columns, rows


def read_celeba(path: str | Path, skipped: Skipped | None = None) -> Iterator[Sample]:
    """CelebA's official layout: gender (``Male``) and the ``CELEBA_ATTRIBUTES``; usage from the partition."""
    skipped = skipped if skipped is not None else Skipped()
    root = Path(path)
    columns, attrs = read_celeba_attributes(root / "list_attr_celeba.txt")
    index = [columns.index(column) for _, column, _ in CELEBA_ATTRIBUTES]
    negate = np.array([neg for *_, neg in CELEBA_ATTRIBUTES])
    male = columns.index("Male")
    with open(root / "list_eval_partition.txt") as f:
        partition = {name: int(p) for name, p in (line.split() for line in f if line.strip())}
    images = root / "img_align_celeba"
    for name in sorted(attrs):
        file = images / name
        if not file.exists():
            continue  # a subset of CelebA: only the images present are read
        if name not in partition:
            skipped.add("no partition", name)
            continue
        image = _decoded(file.read_bytes(), name, skipped)
        if image is None:
            continue
        values = attrs[name]
        positive = (values[index] > 0) ^ negate
        yield Sample(image, name, gender=0 if values[male] > 0 else 1, attributes=positive.astype(np.float32),
                     usage=CELEBA_PARTITIONS[partition[name]])


# FairFace's 7 race groups → UTKFace's 5 (white, black, asian, indian, other)
FAIRFACE_RACE = {"White": 0, "Black": 1, "East Asian": 2, "Southeast Asian": 2, "Indian": 3,
                 "Latino_Hispanic": 4, "Middle Eastern": 4}
FAIRFACE_AGE = {"0-2": (0, 3), "3-9": (3, 10), "10-19": (10, 20), "20-29": (20, 30), "30-39": (30, 40),
                "40-49": (40, 50), "50-59": (50, 60), "60-69": (60, 70), "more than 70": (70, 117)}


def read_fairface(path: str | Path, usage: str = "train", skipped: Skipped | None = None) -> Iterator[Sample]:
    """FairFace's layout: ``fairface_label_<usage>.csv`` and the images it names (relative paths)."""
    skipped = skipped if skipped is not None else Skipped()
    root = Path(path)
    with open(root / f"fairface_label_{usage}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        name = row.get("file", "")
        age, race, gender = FAIRFACE_AGE.get(row.get("age", "")), FAIRFACE_RACE.get(row.get("race", "")), row.get("gender")
        if age is None or race is None or gender not in ("Male", "Female"):
            skipped.add("malformed row", name)
            continue
        try:
            image = decode_image((root / name).read_bytes())
        except Exception:
            skipped.add("corrupt image" if (root / name).exists() else "missing image", name)
            continue
        yield Sample(image, name, gender=0 if gender == "Male" else 1, ethnicity=race,
                     age_range=(float(age[0]), float(age[1])), usage=usage)


# Taiwanese posed-expression database: the expression letter of ``PPTVEnn.jpg`` → FER+ column
POSED_EXPRESSIONS = {"a": "neutral", "b": "happiness", "c": "sadness", "d": "anger", "e": "disgust", "f": "fear",
                     "g": "surprise"}
# FER+ column → original FER2013 class (0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral)
FERPLUS_TO_FER2013 = {"anger": 0, "disgust": 1, "fear": 2, "happiness": 3, "sadness": 4, "surprise": 5, "neutral": 6}
POSED_NAME = re.compile(r"^(\d\d)(\d)(\d)([a-g])\d+\.jpg$")


def read_posed(path: str | Path, skipped: Skipped | None = None) -> Iterator[Sample]:
    """Posed expressions, labelled with the posed letter; ``usage`` is the performer ("01"–"30").

    Files without an expression letter (calm faces, per the database's readme) are left out."""
    skipped = skipped if skipped is not None else Skipped()
    for name, data in _iter_files(Path(path), ".jpg"):
        match = POSED_NAME.match(name)
        if not match:
            skipped.add("no expression letter", name)
            continue
        image = _decoded(data, name, skipped)
        if image is None:
            continue
        emotion = POSED_EXPRESSIONS[match.group(4)]
        votes = np.zeros(FERPLUS_EMOTIONS, np.float32)
        votes[FERPLUS_COLUMNS.index(emotion)] = 1
        yield Sample(image, name, emotion_votes=votes, emotion_fer2013=FERPLUS_TO_FER2013[emotion], usage=match.group(1))
