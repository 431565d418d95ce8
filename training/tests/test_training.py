import numpy as np
import torch

from facemtl.data import BalancedBatchSampler, augment, batch_tensors
from facemtl.losses import MultiTaskLoss
from facemtl.models import FaceMTL
from facemtl.prepare import build_cache, utkface_split
from facemtl.tasks import TASKS
from fixtures import make_utkface


def synthetic_cache(n_utk=60, n_fer=40, seed=0):
    """A cache built in memory with the same fields as prepare's, with skewed classes."""
    rng = np.random.default_rng(seed)
    n = n_utk + n_fer
    cache = {
        "images": rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
        "source": np.array([0] * n_utk + [1] * n_fer, np.uint8),
        "split": np.zeros(n, np.uint8),
        "age": np.concatenate([rng.uniform(1, 90, n_utk), np.full(n_fer, np.nan)]).astype(np.float32),
        "gender": np.concatenate([rng.integers(0, 2, n_utk), -np.ones(n_fer, int)]),
        # ethnicity 4 ("other") is rare: 3 of 60
        "ethnicity": np.concatenate([np.r_[np.zeros(n_utk - 3, int), np.full(3, 4)], -np.ones(n_fer, int)]),
        "emotion_fer2013": np.concatenate([-np.ones(n_utk, int), rng.integers(0, 7, n_fer)]),
        "emotion": np.zeros((n, 8), np.float32),
    }
    cache["emotion"][n_utk:, 0] = 1.0
    cache["mask"] = np.stack([~np.isnan(cache["age"]), cache["gender"] >= 0, cache["ethnicity"] >= 0,
                              cache["emotion"].sum(1) > 0, cache["emotion_fer2013"] >= 0], 1).astype(np.uint8)
    return cache


def test_head_without_labels_gets_zero_loss_and_zero_gradient():
    cache = synthetic_cache()
    fer_only = np.flatnonzero(cache["source"] == 1)[:16]
    images, labels, mask = batch_tensors(cache, fer_only)
    model = FaceMTL(width=0.25)
    criterion = MultiTaskLoss(tuple(TASKS))
    loss, parts = criterion(model(images), labels, mask)
    loss.backward()
    for task in ("age", "gender", "ethnicity"):
        assert parts[task] == 0.0
        assert torch.count_nonzero(model.heads[task].weight.grad) == 0, task
    assert parts["emotion"] > 0 and torch.count_nonzero(model.heads["emotion"].weight.grad) > 0


def test_without_masking_every_head_trains_on_every_sample():
    cache = synthetic_cache()
    images, labels, mask = batch_tensors(cache, np.flatnonzero(cache["source"] == 1)[:16])
    model = FaceMTL(width=0.25)
    loss, parts = MultiTaskLoss(tuple(TASKS), label_masking=False)(model(images), labels, mask)
    assert parts["age"] > 0  # trained towards the zero-filled "label"


def test_uncertainty_weighting_learns_task_weights():
    cache = synthetic_cache()
    images, labels, mask = batch_tensors(cache, np.arange(32))
    criterion = MultiTaskLoss(tuple(TASKS), weighting="uncertainty")
    loss, _ = criterion(FaceMTL(width=0.25)(images), labels, mask)
    loss.backward()
    assert criterion.log_vars.grad is not None and torch.count_nonzero(criterion.log_vars.grad) > 0


def test_sampler_mixes_datasets_in_proportion_and_balances_classes():
    cache = synthetic_cache()
    sampler = BalancedBatchSampler(cache, 0, 20, 200, {"utkface": 0.75, "fer": 0.25},
                                   {"utkface": "ethnicity"}, power=1.0, seed=3)
    batches = list(sampler)
    assert len(batches) == 200 and all(len(b) == 20 for b in batches)
    rows = np.concatenate(batches)
    assert all((cache["source"][b] == 0).sum() == 15 for b in batches)
    utk = rows[cache["source"][rows] == 0]
    rare = (cache["ethnicity"][utk] == 4).mean()
    assert 0.4 < rare < 0.6  # fully balanced: the 3 "other" faces are half of the draws
    plain = np.concatenate(list(BalancedBatchSampler(cache, 0, 20, 200, {"utkface": 1.0}, None, seed=3)))
    assert (cache["ethnicity"][plain] == 4).mean() < 0.12


def test_augment_keeps_range_and_shape():
    images = torch.rand(8, 3, 64, 64) * 255
    out = augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 255
    assert not torch.allclose(out, images)


def test_split_is_stratified_and_seeded(tmp_path):
    make_utkface(tmp_path)
    cache = build_cache(tmp_path / "UTKFace", None, None, seed=5, log=lambda *a: None)
    assert cache["images"].shape == (4, 64, 64, 3)
    assert cache["mask"][:, :3].all() and not cache["mask"][:, 3:].any()

    class S:
        def __init__(self, i):
            self.name, self.age, self.gender, self.ethnicity = f"{i}", 30.0, i % 2, 0

    samples = [S(i) for i in range(200)]
    a, b = utkface_split(samples, seed=1), utkface_split(samples, seed=1)
    assert a == b and a != utkface_split(samples, seed=2)
    for gender in (0, 1):  # each stratum is split 80/10/10
        counts = np.bincount([s for s, x in zip(a, samples) if x.gender == gender], minlength=3)
        assert counts.tolist() == [80, 10, 10]
