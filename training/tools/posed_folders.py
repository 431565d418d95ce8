"""Write one split of the posed-expression set as class folders, for ``facemtl eval folders``.

    ./python tools/posed_folders.py ../../shared/data/posed/taiwanese-expressions.tar.gz /tmp/posed-test
    facemtl eval folders /tmp/posed-test --task emotion --detect

The split is prepare's (by performer, seeded: the names in ``splits/posed-<split>.txt``); images are
copied byte for byte into ``OUT/<emotion>/`` (neutral, happiness, sadness, anger, disgust, fear,
surprise: the FER+ names the eval matches to the model's labels).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facemtl.datasets import POSED_EXPRESSIONS, POSED_NAME, _iter_files  # noqa: E402
from facemtl.prepare import SPLITS  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="taiwanese-expressions.tar.gz or its extracted folder")
    parser.add_argument("out", type=Path)
    parser.add_argument("--split", default="test", choices=SPLITS)
    args = parser.parse_args(argv)
    names = set((HERE / "splits" / f"posed-{args.split}.txt").read_text().split())
    written = 0
    for name, data in _iter_files(args.source, ".jpg"):
        match = POSED_NAME.match(name)
        if match and name in names:
            folder = args.out / POSED_EXPRESSIONS[match.group(4)]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            written += 1
    print(f"{written} images of {len(names)} in {args.out}")


if __name__ == "__main__":
    main()
