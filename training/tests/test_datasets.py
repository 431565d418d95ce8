import numpy as np
import pytest

from facemtl.crop import align_crop, dataset_crop
from facemtl.datasets import Skipped, parse_utkface_name, read_fer2013_csv, read_ferplus, read_utkface
from fixtures import UTK_GOOD, make_fer2013_csv, make_ferplus, make_tar, make_utkface


def test_utkface_name_parsing():
    assert parse_utkface_name("25_0_3_20170116174525125.jpg.chip.jpg") == (25, 0, 3)
    assert parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg") is None  # no race field
    assert parse_utkface_name("200_0_0_20170116174525125.jpg.chip.jpg") is None  # impossible age


@pytest.mark.parametrize("archive", [False, True])
def test_utkface_reader_skips_and_counts_bad_files(tmp_path, archive):
    folder = make_utkface(tmp_path)
    source = make_tar(folder, tmp_path / "UTKFace.tar.gz") if archive else folder
    skipped = Skipped()
    samples = list(read_utkface(source, skipped))
    assert sorted(s.name for s in samples) == sorted(UTK_GOOD)
    assert skipped.counts == {"malformed name": 3, "corrupt image": 1}
    first = next(s for s in samples if s.name.startswith("61_1_4"))
    assert (first.age, first.gender, first.ethnicity) == (61.0, 1, 4)
    assert first.image.shape == (200, 200, 3) and first.image.dtype == np.uint8


def test_ferplus_reader_votes_and_original_labels(tmp_path):
    make_ferplus(tmp_path)
    skipped = Skipped()
    samples = {s.name: s for s in read_ferplus(tmp_path, {"fer0000000.png": 0, "fer0000002.png": 5}, skipped)}
    assert skipped.counts == {"corrupt image": 1}
    assert samples["fer0000000.png"].emotion_votes.tolist() == [4, 0, 0, 1, 3, 2, 0, 0]
    assert samples["fer0000000.png"].emotion_fer2013 == 0
    assert samples["fer0000002.png"].emotion_votes is None  # mostly 'not a face'
    assert samples["fer0000002.png"].emotion_fer2013 == 5
    assert samples["fer0000003.png"].usage == "Training"
    assert samples["fer0000001.png"].image.shape == (48, 48, 3)


def test_fer2013_csv_reader(tmp_path):
    path = make_fer2013_csv(tmp_path / "fer2013.csv")
    skipped = Skipped()
    rows = list(read_fer2013_csv(path, skipped=skipped))
    assert [r.emotion_fer2013 for r in rows] == [0, 3, 6]
    assert skipped.counts == {"malformed row": 1}
    assert [r.emotion_fer2013 for r in read_fer2013_csv(path, usage="PublicTest")] == [3]
    assert rows[0].image.shape == (48, 48, 3)


def test_align_crop_matches_contract_geometry():
    # a white dot at each eye position must land on the canonical eye positions of the crop
    image = np.zeros((300, 400, 3), np.uint8)
    eye_r, eye_l = (150.5, 120.5), (230.5, 140.5)  # rotated, pixel centres
    for x, y in (eye_r, eye_l):
        image[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 255
    crop = align_crop(image, eye_r, eye_l, size=64, geometry={"eyeCenter": [0.5, 0.3], "eyeDistance": 0.42})
    bright = np.argwhere(crop[..., 0] > 60)
    expected = [(0.3 * 64, 0.5 * 64 - 0.21 * 64), (0.3 * 64, 0.5 * 64 + 0.21 * 64)]
    for ey, ex in expected:
        near = bright[np.hypot(bright[:, 0] + 0.5 - ey, bright[:, 1] + 0.5 - ex) < 2.5]
        assert len(near) > 0, f"no eye near {(ex, ey)}"


def test_utkface_dataset_crop_is_a_resize():
    # on a horizontal ramp (value = column index) bilinear sampling is exact, so each crop column
    # must hold the source position its pixel centre maps to under a plain 200 → 64 resize
    image = np.repeat(np.repeat(np.arange(200, dtype=np.uint8)[None, :, None], 200, 0), 3, 2)
    crop = dataset_crop(image, "utkface", 64)
    expected = np.clip((np.arange(64) + 0.5) * 200 / 64 - 0.5, 0, 199)
    assert np.abs(crop[32, :, 0] - expected).max() <= 0.5 + 1e-6
    assert np.abs(crop[:, 10, 0].astype(int) - int(crop[32, 10, 0])).max() == 0  # no vertical change
