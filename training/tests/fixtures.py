"""Small generated datasets in the published layouts (no real faces needed)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

UTK_GOOD = ["25_0_0_20170116174525125.jpg.chip.jpg", "3_1_2_20161219140530307.jpg.chip.jpg",
            "61_1_4_20170109142408075.jpg.chip.jpg", "80_0_1_20170110183726390.jpg.chip.jpg"]
UTK_MALFORMED = ["39_1_20170116174525125.jpg.chip.jpg", "notaface.jpg", "200_0_0_20170116174525125.jpg.chip.jpg"]
UTK_CORRUPT = "30_0_3_20170119171411389.jpg.chip.jpg"


def encode(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def random_image(rng, size: int, gray: bool = False) -> np.ndarray:
    shape = (size, size) if gray else (size, size, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def make_utkface(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "UTKFace"
    folder.mkdir(parents=True)
    for name in UTK_GOOD + UTK_MALFORMED:
        (folder / name).write_bytes(encode(random_image(rng, 200), "JPEG"))
    (folder / UTK_CORRUPT).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def make_tar(folder: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return out


FER_VOTES = {  # neutral happiness surprise sadness anger disgust fear contempt unknown NF
    "fer0000000.png": [4, 0, 0, 1, 3, 2, 0, 0, 0, 0],
    "fer0000001.png": [0, 10, 0, 0, 0, 0, 0, 0, 0, 0],
    "fer0000002.png": [0, 0, 0, 0, 0, 0, 0, 0, 2, 8],  # not a face: no emotion votes
    "fer0000003.png": [1, 0, 0, 0, 0, 0, 0, 9, 0, 0],
}


def make_ferplus(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "FER2013Train"
    folder.mkdir(parents=True)
    lines = []
    for name, votes in FER_VOTES.items():
        (folder / name).write_bytes(encode(random_image(rng, 48, gray=True), "PNG"))
        lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
    (folder / "fer0000009.png").write_bytes(b"\x89PNG broken")
    lines.append('fer0000009.png,"(0, 0, 48, 48)",0,10,0,0,0,0,0,0,0,0')
    (folder / "label.csv").write_text("\n".join(lines) + "\n")
    return folder


def make_fer2013_csv(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    rows = ["emotion,pixels,Usage"]
    for label, usage in [(0, "Training"), (3, "PublicTest"), (6, "PrivateTest")]:
        rows.append(f"{label},{' '.join(map(str, rng.integers(0, 256, 2304)))},{usage}")
    rows.append("9,1 2 3,Training")  # malformed
    path.write_text("\n".join(rows) + "\n")
    return path
