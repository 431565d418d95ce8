"""Grad-CAM and guided backpropagation on a random model: shapes, ranges, locality, the CLI."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from facemtl.explain import explain_image, grad_cam, guided_backprop, guided_relus, main
from facemtl.models import FaceMTL


@pytest.fixture(scope="module")
def model() -> FaceMTL:
    """A random model whose batch-norm statistics are set on smooth images: at initialisation the
    running statistics (mean 0, variance 1) shrink the activations to ~1e-10 and every map is noise."""
    torch.manual_seed(0)
    model = FaceMTL().train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average: one batch sets the statistics
    with torch.no_grad():
        model(torch.stack([as_tensor(smooth_face(seed)) for seed in range(32)]))
    return model.eval()


def as_tensor(face: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(face.copy()).permute(2, 0, 1).float()


def smooth_face(seed: int = 1) -> np.ndarray:
    """A smooth random 64×64 RGB image (uint8), so that a pasted patch is a local change."""
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 200, size=(8, 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((64, 64), Image.BILINEAR))


def test_maps_have_the_input_size_and_unit_range(model: FaceMTL) -> None:
    maps = explain_image(model, smooth_face(), model.tasks)
    assert set(maps) == set(model.tasks)
    for task, result in maps.items():
        for name in ("gradcam", "guided", "guided_gradcam"):
            values = result[name]
            assert values.shape == (64, 64), (task, name)
            assert values.min() >= 0 and values.max() <= 1 + 1e-6, (task, name)
        assert result["guided"].max() > 0, task  # some pixel raises the score


def test_guided_relus_are_swapped_back(model: FaceMTL) -> None:
    relus = sum(isinstance(m, (nn.ReLU, nn.ReLU6)) for m in model.modules())
    with guided_relus(model):
        assert not any(isinstance(m, (nn.ReLU, nn.ReLU6)) for m in model.modules())
    assert sum(isinstance(m, (nn.ReLU, nn.ReLU6)) for m in model.modules()) == relus
    image = as_tensor(smooth_face())
    with torch.no_grad():
        before = model(image[None])["gender"]
        with guided_relus(model):
            during = model(image[None])["gender"]
    torch.testing.assert_close(before, during)  # same forward pass, only the backward differs


def test_grad_cam_responds_where_the_input_changed(model: FaceMTL) -> None:
    face = smooth_face()
    image = as_tensor(face)
    changed = image.clone()
    changed[:, 40:60, 40:60] = torch.tensor([255.0, 0.0, 0.0])[:, None, None]  # a red square, bottom right
    for task in ("age", "gender", "ethnicity", "emotion"):
        cam, index = grad_cam(model, image, task)
        cam_changed, _ = grad_cam(model, changed, task, None if index < 0 else index)
        assert np.abs(cam_changed - cam).max() > 0.05, task
        again, _ = grad_cam(model, image, task, None if index < 0 else index)
        np.testing.assert_allclose(again, cam, atol=1e-6)  # and only because of the change
    # (on a random model the gradient weights are arbitrary, and the last feature map sees the
    # whole 64×64 crop, so *where* the map moves most is not a property one can assert here)


def test_guided_backprop_differs_from_the_plain_gradient(model: FaceMTL) -> None:
    image = as_tensor(smooth_face())
    guided = guided_backprop(model, image, "age")
    x = image[None].clone().requires_grad_(True)
    model(x)["age"][:, 0].sum().backward()
    plain = x.grad[0].clamp(min=0).amax(dim=0).numpy()
    plain = plain / plain.max()
    assert guided.shape == plain.shape == (64, 64)
    assert np.abs(guided - plain).mean() > 0.01  # the ReLUs were really swapped for guided ones


def test_cli_writes_one_png_per_image_and_task(tmp_path, capsys) -> None:
    source = tmp_path / "face.png"
    Image.fromarray(smooth_face()).resize((100, 100)).save(source)
    main(["--images", str(source), "--out", str(tmp_path / "maps"), "--tasks", "gender", "emotion"])
    written = sorted(p.name for p in (tmp_path / "maps").iterdir())
    assert written == ["face_emotion.png", "face_gender.png"]
    panel = Image.open(tmp_path / "maps" / "face_gender.png")
    assert panel.size == (3 * 64 * 2, 64 * 2)  # face | Grad-CAM | guided Grad-CAM, twice enlarged
    assert "gender:" in capsys.readouterr().out


def test_cli_loads_a_training_checkpoint(tmp_path, model: FaceMTL) -> None:
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": model.state_dict(), "config": model.config, "history": [{"epoch": 1}]}, checkpoint)
    source = tmp_path / "face.png"
    Image.fromarray(smooth_face()).save(source)
    main(["--checkpoint", str(checkpoint), "--images", str(source), "--out", str(tmp_path), "--tasks", "age"])
    assert (tmp_path / "face_age.png").exists()


def test_cli_rejects_an_unreadable_image(tmp_path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(SystemExit):
        main(["--images", str(bad), "--out", str(tmp_path / "maps")])


def test_region_shares_locate_the_weight() -> None:
    from facemtl.explain import region_shares

    heat = np.zeros((64, 64), dtype=np.float32)
    heat[45:55, 20:44] = 1.0  # all weight on the mouth
    shares = region_shares(heat)
    assert shares["mouth_chin"] == pytest.approx(1.0)
    assert shares["eyes_brows"] == 0.0


def test_cli_report_prints_a_table_per_head_and_label(tmp_path, capsys) -> None:
    source = tmp_path / "face.png"
    Image.fromarray(smooth_face()).save(source)
    main(["--images", str(source), str(source), "--out", str(tmp_path), "--tasks", "gender", "--report", "--no-png"])
    out = capsys.readouterr().out
    assert "| gender | " in out and "| 2 |" in out  # both faces under the same predicted label
    assert not list(tmp_path.glob("*_gender.png"))
