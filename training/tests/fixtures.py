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


CELEBA_COLUMNS = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
                  "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
                  "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face "
                  "Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair "
                  "Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()


def make_celeba(root: Path, seed: int = 0) -> Path:
    """CelebA's official layout (CRLF label file) for 4 images; the label files also list a 5th
    image that is missing, as in a subset. 000001: smiling woman with lipstick; 000002: bearded man
    with glasses and a moustache; 000003 (val) and 000004 (test): no attribute."""
    rng = np.random.default_rng(seed)
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    positives = {"000001.jpg": {"Smiling", "Wearing_Lipstick", "Heavy_Makeup", "No_Beard"},
                 "000002.jpg": {"Male", "Eyeglasses", "Mustache", "Sideburns"},
                 "000003.jpg": {"No_Beard"}, "000004.jpg": {"No_Beard", "Male"}, "000005.jpg": set()}
    lines = [str(len(positives)), " ".join(CELEBA_COLUMNS)]
    for name, pos in positives.items():
        lines.append(name + " " + " ".join(" 1" if c in pos else "-1" for c in CELEBA_COLUMNS))
        if name != "000005.jpg":
            (folder / "img_align_celeba" / name).write_bytes(encode(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8), "JPEG"))
    (folder / "list_attr_celeba.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    partition = {"000001.jpg": 0, "000002.jpg": 0, "000003.jpg": 1, "000004.jpg": 2, "000005.jpg": 0}
    (folder / "list_eval_partition.txt").write_text("".join(f"{n} {p}\n" for n, p in partition.items()))
    return folder


def make_fairface(root: Path, seed: int = 0) -> Path:
    """FairFace's layout: 3 train images (one with an unknown race) and 1 val image."""
    rng = np.random.default_rng(seed)
    folder = root / "fairface"
    for split in ("train", "val"):
        (folder / split).mkdir(parents=True)
    rows = {"train": [("train/1.jpg", "50-59", "Male", "East Asian"), ("train/2.jpg", "more than 70", "Female", "Middle Eastern"),
                      ("train/3.jpg", "20-29", "Female", "Martian")],
            "val": [("val/1.jpg", "3-9", "Female", "Black")]}
    for split, entries in rows.items():
        lines = ["file,age,gender,race,service_test"]
        for name, age, gender, race in entries:
            (folder / name).write_bytes(encode(random_image(rng, 224), "JPEG"))
            lines.append(f"{name},{age},{gender},{race},True")
        (folder / f"fairface_label_{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


# performer 01–04; the last file has no expression letter (a calm face the reader leaves out)
POSED_FILES = ["0111a01.jpg", "0111d02.jpg", "0221b01.jpg", "0221f03.jpg", "0331e01.jpg", "0431g01.jpg", "0431c02.jpg",
               "1201002.jpg"]


def make_posed(root: Path, seed: int = 0) -> Path:
    """The posed-expression layout: ``Taiwanese/faces_256x256/PPTVEnn.jpg``."""
    rng = np.random.default_rng(seed)
    folder = root / "Taiwanese" / "faces_256x256"
    folder.mkdir(parents=True)
    for name in POSED_FILES:
        (folder / name).write_bytes(encode(random_image(rng, 256), "JPEG"))
    return folder.parent
