"""Tiny end-to-end: prepare → train → export FP32 and INT8 → ONNX Runtime parity (< 1 minute)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from facemtl.data import batch_tensors
from facemtl.export import export_int8, export_onnx, parity
from facemtl.models import load_checkpoint
from facemtl.init_onnx import init_from_onnx
from facemtl.models import FaceMTL
from facemtl.prepare import build_cache
from facemtl.train import TrainConfig, train
from fixtures import make_ferplus, make_utkface

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules" / "onnxruntime-node"


@pytest.mark.skipif(shutil.which("node") is None or not NODE_MODULES.exists(),
                    reason="needs node and onnxruntime-node (npm ci) for the ONNX Runtime check")
def test_train_export_and_onnxruntime_parity(tmp_path):
    utk, fer = tmp_path / "utk", tmp_path / "fer"
    make_utkface(utk), make_ferplus(fer)
    # 64 px whatever the shipped contract says: the config below trains at its default input_size
    cache = build_cache(utk / "UTKFace", fer, None, seed=0, size=64, log=lambda *a: None)
    # the fixtures are tiny: use them all for training and validation
    cache["split"][:] = 0
    path = tmp_path / "cache.npz"
    np.savez(path, **cache)
    cfg = TrainConfig(out=str(tmp_path / "run"), cache=str(path), width=0.25, epochs=2, steps_per_epoch=3,
                      batch_size=8, warmup_steps=1, val_limit=50)
    summary = train(cfg, log=lambda *a, **k: None)
    assert len(summary["history"]) == 2 and (tmp_path / "run" / "metrics.csv").exists()
    assert (tmp_path / "run" / "curves.png").exists()

    model = load_checkpoint(tmp_path / "run" / "last.pt")
    images = torch.from_numpy(cache["images"][:6]).permute(0, 3, 1, 2).float()
    fp32 = tmp_path / "m-fp32.onnx"
    export_onnx(model, model.tasks, fp32, 64)
    assert max(parity(model, fp32, images).values()) < 1e-3

    # a warm start from that ONNX file reproduces the model (batch norms re-created from data)
    warm = FaceMTL(width=0.25, tasks=model.tasks)
    init_from_onnx(warm, str(fp32), cache, calibration=len(cache["split"]))
    with torch.no_grad():
        ours, theirs = warm.eval().predict(images), model.predict(images)
    assert max(float((ours[t] - theirs[t]).abs().max()) for t in model.tasks) < 1e-3

    batches = [batch_tensors(cache, np.arange(len(cache["age"])))[0]]
    int8 = tmp_path / "m-int8.onnx"
    qmodel = export_int8(model, batches, int8, 64)
    diffs = parity(qmodel, int8, images)
    assert diffs["gender"] < 0.1 and diffs["emotion"] < 0.1  # ORT's integer kernels vs fake-quant
    assert int8.stat().st_size < fp32.stat().st_size / 2
