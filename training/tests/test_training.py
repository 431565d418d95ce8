import json

import numpy as np
import pytest
import torch

from facemtl.crop import INPUT_SIZE
from facemtl.data import BalancedBatchSampler, augment, batch_tensors, class_priors, positive_weights, smile_from_emotion
from facemtl.losses import MultiTaskLoss, gaussian_interval_nll, gaussian_nll
from facemtl.models import FaceMTL
from facemtl.prepare import CACHE_VERSION, SOURCES, build_cache, load_cache, utkface_split
from facemtl.tasks import TASKS
from facemtl.train import TrainConfig, kept_labels, train
from fixtures import UTK_GOOD, make_celeba, make_fairface, make_posed, make_utkface


def synthetic_cache(n_utk=60, n_fer=40, seed=0):
    """A cache built in memory with the same fields as prepare's, with skewed classes."""
    rng = np.random.default_rng(seed)
    n = n_utk + n_fer
    cache = {
        "images": rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
        "source": np.array([0] * n_utk + [1] * n_fer, np.uint8),
        "split": np.zeros(n, np.uint8),
        "framing": np.zeros(n, np.uint8),
        "age": np.concatenate([rng.uniform(1, 90, n_utk), np.full(n_fer, np.nan)]).astype(np.float32),
        "gender": np.concatenate([rng.integers(0, 2, n_utk), -np.ones(n_fer, int)]),
        # ethnicity 4 ("other") is rare: 3 of 60
        "ethnicity": np.concatenate([np.r_[np.zeros(n_utk - 3, int), np.full(3, 4)], -np.ones(n_fer, int)]),
        "emotion_fer2013": np.concatenate([-np.ones(n_utk, int), rng.integers(0, 7, n_fer)]),
        "emotion": np.zeros((n, 8), np.float32),
        "attributes": np.zeros((n, 7), np.float32),
    }
    cache["age_low"] = cache["age_high"] = cache["age"]
    cache["emotion"][n_utk:, 0] = 1.0
    cache["mask"] = np.stack([~np.isnan(cache["age"]), cache["gender"] >= 0, cache["ethnicity"] >= 0,
                              cache["emotion"].sum(1) > 0, cache["emotion_fer2013"] >= 0, np.zeros(n, bool)], 1).astype(np.uint8)
    return cache


def test_head_without_labels_gets_zero_loss_and_zero_gradient():
    cache = synthetic_cache()
    fer_only = np.flatnonzero(cache["source"] == 1)[:16]
    images, labels, mask = batch_tensors(cache, fer_only)
    model = FaceMTL(width=0.25)
    criterion = MultiTaskLoss(tuple(TASKS))
    loss, parts = criterion(model(images), labels, mask)
    loss.backward()
    for task in ("age", "gender", "ethnicity", "attributes"):
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
    assert cache["images"].shape == (4, INPUT_SIZE, INPUT_SIZE, 3)  # the contract's size by default
    # a cache of other-sized crops is refused with one line naming both sizes
    path = tmp_path / "cache.npz"
    np.savez(path, **cache)
    assert load_cache(path, INPUT_SIZE)["images"].shape[1] == INPUT_SIZE
    with pytest.raises(SystemExit, match=f"holds {INPUT_SIZE} px crops, the model takes {INPUT_SIZE + 16} px"):
        load_cache(path, INPUT_SIZE + 16)
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


def test_age_interval_loss_is_the_gaussian_mass_inside_the_group():
    pred = torch.tensor([[35.0, float(np.log(25.0))], [80.0, float(np.log(4.0))], [0.5, 0.0]], requires_grad=True)
    low, high = torch.tensor([30.0, 20.0, 0.0]), torch.tensor([40.0, 30.0, 3.0])
    loss = gaussian_interval_nll(pred, low, high)
    normal = torch.distributions.Normal(pred[:, 0].detach(), torch.tensor([5.0, 2.0, 1.0]))
    mass = normal.cdf(high) - normal.cdf(low)
    assert torch.allclose(loss[:1], -torch.log(mass[:1]), atol=1e-5)  # mean inside: mass 0.68
    assert torch.isfinite(loss).all() and loss[1] > 100  # 25 std away: tiny mass, finite loss
    loss.sum().backward()
    assert pred.grad[1, 0] > 0  # pulls the far-off mean of 80 down towards [20, 30)
    # an exact age (low == high) is the density's NLL
    exact = gaussian_interval_nll(pred.detach(), torch.tensor([33.0] * 3), torch.tensor([33.0] * 3))
    assert torch.allclose(exact, gaussian_nll(pred.detach(), torch.tensor([33.0] * 3)))


def test_celeba_and_fairface_go_into_the_cache_label_masked(tmp_path):
    make_utkface(tmp_path)
    cache = build_cache(tmp_path / "UTKFace", None, None, seed=0, log=lambda *a: None,
                        celeba=make_celeba(tmp_path), fairface=make_fairface(tmp_path))
    source = cache["source"]
    celeba, fairface = source == 2, source == 3
    assert celeba.sum() == 4 and fairface.sum() == 3  # the missing CelebA image and the unknown race are left out
    tasks = list(TASKS)
    mask = cache["mask"].astype(bool)
    # CelebA trains gender and the attributes only; FairFace age (as an interval), gender, ethnicity
    assert (mask[celeba][:, [tasks.index("gender"), tasks.index("attributes")]]).all()
    assert not mask[celeba][:, [tasks.index(t) for t in ("age", "ethnicity", "emotion", "emotion_fer2013")]].any()
    assert mask[fairface][:, :3].all() and not mask[fairface][:, 3:].any()
    assert np.isnan(cache["age"][fairface]).all()
    assert sorted(zip(cache["age_low"][fairface], cache["age_high"][fairface])) == [(3, 10), (50, 60), (70, 117)]
    assert sorted(cache["split"][celeba].tolist()) == [0, 0, 1, 2]  # the official partition
    assert (cache["split"][fairface & (cache["name"] == "val/1.jpg")] == 2).all()  # FairFace val is our test split
    # attribute order: smile eyeglasses makeup lipstick beard moustache sideburns
    by_name = dict(zip(cache["name"][celeba], cache["attributes"][celeba]))
    assert by_name["000001.jpg"].tolist() == [1, 0, 1, 1, 0, 0, 0]
    assert by_name["000002.jpg"].tolist() == [0, 1, 0, 0, 1, 1, 1]  # No_Beard = -1 → beard
    assert dict(zip(cache["name"][celeba], cache["gender"][celeba]))["000002.jpg"] == 0  # Male → 0
    assert cache["ethnicity"][fairface & (cache["name"] == "train/2.jpg")].tolist() == [4]  # Middle Eastern → other


def test_smile_from_emotion_trains_only_the_smile_output_on_clear_votes():
    votes = np.zeros((4, 8), np.float32)
    votes[0, 1] = 1.0  # all happy
    votes[1, [0, 1]] = [0.6, 0.4]  # split: no weak label
    votes[2, 0] = 1.0  # neutral: not smiling
    assert np.array_equal(smile_from_emotion(votes), [1.0, np.nan, 0.0, np.nan], equal_nan=True)  # row 3: no votes

    cache = synthetic_cache()
    fer_only = np.flatnonzero(cache["source"] == 1)[:16]
    cache["emotion"][fer_only[:8]] = votes[0]  # half happy, half neutral
    images, labels, mask = batch_tensors(cache, fer_only)
    model = FaceMTL(width=0.25)
    loss, parts = MultiTaskLoss(tuple(TASKS), smile_from_emotion=0.5)(model(images), labels, mask)
    loss.backward()
    grad = model.heads["attributes"].weight.grad
    assert parts["attributes"] == 0.0 and parts["smile_from_emotion"] > 0
    assert torch.count_nonzero(grad[0]) > 0 and torch.count_nonzero(grad[1:]) == 0  # smile's row only
    off, off_parts = MultiTaskLoss(tuple(TASKS))(model(images), labels, mask)
    assert "smile_from_emotion" not in off_parts


def test_drop_labels_leaves_one_sources_task_out_of_the_loss_only():
    cache = synthetic_cache()
    kept = kept_labels(cache, {"utkface": ["ethnicity"]})
    utk = cache["source"] == SOURCES.index("utkface")
    ethnicity = list(TASKS).index("ethnicity")
    assert not kept[utk, ethnicity].any() and kept[~utk, ethnicity].all()
    assert kept[:, [i for i in range(len(TASKS)) if i != ethnicity]].all()
    assert cache["mask"][utk, ethnicity].all()  # the cache keeps the label: the sampler still balances on it


def test_rare_attributes_weigh_more():
    cache = synthetic_cache()
    cache["mask"][:, list(TASKS).index("attributes")] = 1
    cache["attributes"][:50, 0] = 1  # half positive
    cache["attributes"][:5, 1] = 1  # 5 of 100
    weights = positive_weights(cache, 0, power=0.5)
    assert torch.isclose(weights[0], torch.tensor(1.0)) and torch.isclose(weights[1], torch.tensor(19.0 ** 0.5))


def test_logit_adjustment_uses_the_sampled_prior_and_favours_rare_classes():
    cache = synthetic_cache()
    cache["emotion_fer2013"][60:] = np.r_[np.zeros(22, int), np.repeat(np.arange(1, 7), 3)]  # class 0 common: 22 of 40
    prior = class_priors(cache, 0, "emotion_fer2013", balance_power=0.5)
    assert torch.isclose(prior.sum(), torch.tensor(1.0))
    assert torch.isclose(prior[0] / prior[6], torch.tensor((22 / 3) ** 0.5))  # frequency^(1 - 0.5)
    rows = np.flatnonzero(cache["source"] == 1)
    images, labels, mask = batch_tensors(cache, rows)
    logits = torch.zeros(len(rows), 7, requires_grad=True)  # a head that predicts uniformly
    loss = MultiTaskLoss(("emotion_fer2013",), logit_adjustments={"emotion_fer2013": torch.log(prior)})
    total, _ = loss({"emotion_fer2013": logits}, labels, mask)
    total.backward()
    plain = torch.zeros(len(rows), 7, requires_grad=True)
    MultiTaskLoss(("emotion_fer2013",))({"emotion_fer2013": plain}, labels, mask)[0].backward()
    assert logits.grad[:, 6].sum() < plain.grad[:, 6].sum()  # pushed harder towards the rare class
    assert logits.grad[:, 0].sum() > plain.grad[:, 0].sum()  # and less towards the common one


def test_squeeze_excitation_adds_a_gate_per_block():
    plain, se = FaceMTL(width=0.25), FaceMTL(width=0.25, se=True)
    gates = [m for m in se.modules() if type(m).__name__ == "SqueezeExcitation"]
    blocks = [m for m in se.modules() if type(m).__name__ == "InvertedResidual"]
    assert len(gates) == len(blocks) > 0
    out = se(torch.rand(2, 3, 64, 64) * 255)
    assert out["emotion"].shape == plain(torch.rand(2, 3, 64, 64) * 255)["emotion"].shape


def test_temperature_scaling_undoes_overconfidence():
    from facemtl.calibrate import _fit_temperature, expected_calibration_error

    generator = torch.Generator().manual_seed(0)
    honest = torch.randn(4000, 5, generator=generator) * 2
    labels = torch.multinomial(torch.softmax(honest, 1), 1, generator=generator).squeeze(1)
    overconfident = honest * 3
    t = _fit_temperature(overconfident, labels)
    assert 2.5 < t < 3.5
    correct = overconfident.argmax(1) == labels
    assert expected_calibration_error(torch.softmax(overconfident / t, 1), correct) < \
        expected_calibration_error(torch.softmax(overconfident, 1), correct) / 2


def test_posed_set_is_split_by_performer_and_labels_both_emotion_heads(tmp_path):
    cache = build_cache(None, None, None, seed=0, log=lambda *a: None, posed=make_posed(tmp_path))
    assert len(cache["name"]) == 7  # the file without an expression letter is left out
    assert (cache["source"] == SOURCES.index("posed")).all()
    split_of = {}
    for name, split in zip(cache["name"], cache["split"]):
        assert split_of.setdefault(name[:2], split) == split  # one performer, one split
    by_name = dict(zip(cache["name"], zip(cache["emotion"].argmax(1), cache["emotion_fer2013"])))
    assert by_name["0111d02.jpg"] == (4, 0)  # angry: FER+ column "anger", FER2013 class 0
    assert by_name["0221f03.jpg"] == (6, 2)  # fearful
    tasks = list(TASKS)
    mask = cache["mask"].astype(bool)
    assert mask[:, [tasks.index("emotion"), tasks.index("emotion_fer2013")]].all()
    assert not mask[:, [tasks.index(t) for t in ("age", "gender", "ethnicity", "attributes")]].any()


def test_detector_eye_crops_keep_their_images_split_and_can_be_left_out(tmp_path):
    make_utkface(tmp_path)
    # eyes of a face filling the left half of the image: a crop unlike the dataset's framing
    eyes = {name: ((30.0, 60.0), (70.0, 60.0)) for name in UTK_GOOD[:2]}
    cache = build_cache(tmp_path / "UTKFace", None, None, seed=5, log=lambda *a: None, detector_eyes={"utkface": eyes})
    detector = cache["framing"] == 1
    assert detector.sum() == 2 and sorted(cache["name"][detector]) == sorted(UTK_GOOD[:2])
    for name in UTK_GOOD[:2]:
        rows = np.flatnonzero(cache["name"] == name)
        assert len(rows) == 2 and cache["split"][rows[0]] == cache["split"][rows[1]]
        assert not np.array_equal(cache["images"][rows[0]], cache["images"][rows[1]])
    cache["split"][:] = 0
    drawn = np.concatenate(list(BalancedBatchSampler(cache, 0, 4, 50, {"utkface": 1.0}, framings=(0,))))
    assert not detector[drawn].any() and len(set(drawn.tolist())) == 4
    drawn = np.concatenate(list(BalancedBatchSampler(cache, 0, 4, 50, {"utkface": 1.0})))
    assert detector[drawn].any()


def test_stop_after_ends_the_process_early_and_resume_finishes_the_run(tmp_path):
    cache = synthetic_cache()
    cache["meta"] = np.array(json.dumps({"version": CACHE_VERSION, "size": 64}))
    path = tmp_path / "cache.npz"
    np.savez(path, **cache)
    cfg = TrainConfig(out=str(tmp_path / "run"), cache=str(path), width=0.25, epochs=3, steps_per_epoch=2,
                      batch_size=8, warmup_steps=1, val_limit=20)
    quiet = lambda *a, **k: None  # noqa: E731
    first = train(cfg, log=quiet, stop_after=2)
    assert [row["epoch"] for row in first["history"]] == [1, 2]
    resumed = train(cfg, resume=True, log=quiet, stop_after=2)
    assert [row["epoch"] for row in resumed["history"]] == [1, 2, 3]


def test_interpolation_is_linear_in_every_float_tensor_and_keeps_counters():
    from tools.interpolate import interpolate

    base = FaceMTL(width=0.25).state_dict()
    tuned = FaceMTL(width=0.25).state_dict()
    mixed = interpolate(base, tuned, 0.25)
    weight = next(k for k, v in tuned.items() if v.is_floating_point() and v.dim() == 4)
    assert torch.allclose(mixed[weight], 0.75 * base[weight] + 0.25 * tuned[weight])
    counter = next(k for k, v in tuned.items() if not v.is_floating_point())  # batch norm's num_batches_tracked
    assert mixed[counter] is tuned[counter]
    assert all(torch.equal(interpolate(base, tuned, 1.0)[k], v) for k, v in tuned.items())
