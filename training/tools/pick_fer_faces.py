"""Print FER+ face images with a clear majority, up to N per emotion, for explanation reports.

    python3 tools/pick_fer_faces.py FER2013Valid [--per-class 25] [--min-votes 6]

Reads ``FER2013Valid/label.csv`` (name, box, 10 vote counts) and prints one image path per line:
in file-name order, the first ``--per-class`` images of each emotion that at least
``--min-votes`` of the 10 annotators chose.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

EMOTIONS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")


def pick(folder: Path, per_class: int, min_votes: int) -> list[Path]:
    chosen: dict[str, list[Path]] = {e: [] for e in EMOTIONS}
    with open(folder / "label.csv", newline="") as f:
        rows = sorted(csv.reader(f), key=lambda row: row[0])
    for row in rows:
        votes = [int(v) for v in row[2:10]]
        best = max(range(len(EMOTIONS)), key=lambda i: votes[i])
        if votes[best] >= min_votes and len(chosen[EMOTIONS[best]]) < per_class:
            chosen[EMOTIONS[best]].append(folder / row[0])
    return [path for paths in chosen.values() for path in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--per-class", type=int, default=25)
    parser.add_argument("--min-votes", type=int, default=6)
    args = parser.parse_args()
    for path in pick(args.folder, args.per_class, args.min_votes):
        print(path)


if __name__ == "__main__":
    main()
