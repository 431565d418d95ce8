"""Export a trained checkpoint to ONNX: FP32 and INT8 (calibrated QDQ), then check both with ONNX Runtime.

    cd training
    python3 -m facemtl.export --checkpoint runs/shipped/best.pt --out ../models

Writes ``facemtl-fp32.onnx`` and ``facemtl-int8.onnx`` (names from models/facemtl.json) and prints
the largest difference between PyTorch and ONNX Runtime (onnxruntime-node, run through
``tools/ort_run.mjs``) on the same batch, plus which ops ORT actually executes for the INT8 graph.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from .calibrate import calibrate
from .data import TASK_INDEX, batch_tensors
from .evaluate import choose_thresholds, predict_rows
from .models import load_checkpoint
from .models import ExportWrapper, FaceMTL
from .prepare import load_cache
from .quantize import QuantizedFaceMTL, fold_weight_quantization
from .tasks import CONTRACT

HERE = Path(__file__).resolve().parents[1]
OPSET = 13  # per-channel QuantizeLinear needs 13


def export_onnx(model: torch.nn.Module, tasks: tuple[str, ...], path: Path, size: int) -> None:
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # torch 2.x: keep the TorchScript exporter, which writes QDQ pairs
    torch.onnx.export(
        ExportWrapper(model).eval(), torch.rand(2, 3, size, size) * 255, str(path),
        input_names=[CONTRACT["input"]["name"]], output_names=list(tasks), opset_version=OPSET,
        dynamic_axes={CONTRACT["input"]["name"]: {0: "N"}, **{t: {0: "N"} for t in tasks}}, **kwargs,
    )


def export_int8(model: FaceMTL, calibration: list[torch.Tensor], path: Path, size: int) -> QuantizedFaceMTL:
    import onnx

    qmodel = QuantizedFaceMTL(model)
    qmodel.calibrate(calibration)
    export_onnx(qmodel, model.tasks, path, size)
    proto = onnx.load(str(path))
    fold_weight_quantization(proto)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return qmodel


def calibration_batches(cache: dict, count: int = 1024, batch: int = 128, seed: int = 0) -> list[torch.Tensor]:
    """A seeded sample of training crops, the same number from each dataset in the cache."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(cache["split"] == 0)
    sources = np.unique(cache["source"][rows])
    picks = np.concatenate([rng.choice(rows[cache["source"][rows] == s], count // len(sources), replace=False) for s in sources])
    rng.shuffle(picks)
    return [batch_tensors(cache, picks[i:i + batch])[0] for i in range(0, len(picks), batch)]


def run_onnxruntime(model_path: Path, images: torch.Tensor, optimized: Path | None = None) -> dict[str, np.ndarray]:
    """Outputs of onnxruntime-node on ``images`` (raises if Node or the package is missing)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.f32", Path(tmp) / "out.json"
        np.ascontiguousarray(images.numpy(), dtype=np.float32).tofile(inp)
        cmd = [node, str(HERE / "tools" / "ort_run.mjs"), str(model_path), str(inp), *map(str, images.shape), str(out)]
        if optimized:
            cmd += ["--optimized", str(optimized)]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(out.read_text())
    return {k: np.array(v["data"], np.float32).reshape(v["dims"]) for k, v in result.items()}


def executed_ops(optimized_path: Path) -> Counter:
    import onnx

    return Counter(n.op_type for n in onnx.load(str(optimized_path)).graph.node)


def parity(model, path: Path, images: torch.Tensor) -> dict[str, float]:
    """Largest absolute difference per output between PyTorch and ONNX Runtime."""
    with torch.no_grad():
        ref = {k: v.numpy() for k, v in model.predict(images).items()}
    got = run_onnxruntime(path, images)
    return {k: float(np.abs(got[k] - ref[k]).max()) for k in ref}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", type=Path, default=HERE.parent / "models")
    parser.add_argument("--name", help="file name stem instead of facemtl-{fp32,int8} (e.g. baselines)")
    parser.add_argument("--cache", default=str(HERE.parent / ".cache" / "facemtl-cache-v3.npz"))
    parser.add_argument("--no-int8", action="store_true")
    parser.add_argument("--no-calibration", action="store_true", help="skip temperature scaling on the validation split")
    args = parser.parse_args(argv)

    model = load_checkpoint(args.checkpoint)
    size = model.config["input_size"]
    cache = load_cache(args.cache, size)
    if not args.no_calibration:
        calibrate(model, cache)
    args.out.mkdir(parents=True, exist_ok=True)
    names = {"fp32": f"{args.name}-fp32.onnx", "int8": f"{args.name}-int8.onnx"} if args.name else CONTRACT["files"]
    fp32 = args.out / names["fp32"]
    export_onnx(model, model.tasks, fp32, size)
    batches = calibration_batches(cache)
    check = batches[0][:16]
    print(f"{fp32}: {fp32.stat().st_size / 1e6:.2f} MB, max |ORT − PyTorch| {parity(model, fp32, check)}")
    if args.no_int8:
        return
    int8 = args.out / names["int8"]
    qmodel = export_int8(model, batches, int8, size)
    with tempfile.TemporaryDirectory() as tmp:
        optimized = Path(tmp) / "opt.onnx"
        run_onnxruntime(int8, check[:2], optimized)
        ops = executed_ops(optimized)
    print(f"{int8}: {int8.stat().st_size / 1e6:.2f} MB, max |ORT − fake-quant PyTorch| {parity(qmodel, int8, check)}")
    print(f"ops ONNX Runtime runs for the INT8 model: {dict(ops)}")
    if not args.name:
        write_contract(qmodel, model.tasks, size, cache, args.out / "facemtl.json")


def write_contract(model, tasks: tuple[str, ...], size: int, cache: dict, contract_path: Path) -> None:
    """Store the model's input size in the contract next to the model files and, with an attributes
    head, each binary attribute's decision threshold chosen on the validation split (the INT8
    model's fake-quant twin)."""
    contract = json.loads(contract_path.read_text()) if contract_path.exists() else json.loads(json.dumps(CONTRACT))
    contract["input"]["size"] = size
    rows = np.flatnonzero((cache["split"] == 1) & (cache["mask"][:, TASK_INDEX["attributes"]] > 0))
    if "attributes" not in tasks or len(rows) == 0:
        print("no attributes head or no validation rows with attribute labels: thresholds left as they are")
    else:
        probabilities = predict_rows(model, cache, rows)["attributes"]
        contract["outputs"]["attributes"]["thresholds"] = choose_thresholds(probabilities, cache["attributes"][rows] > 0.5)
        labels = contract["outputs"]["attributes"]["labels"]
        print(f"thresholds on {len(rows)} validation faces: {dict(zip(labels, contract['outputs']['attributes']['thresholds']))}")
    text = json.dumps(contract, indent=2)
    # short number lists on one line, as the file is written by hand (and as prettier keeps them)
    text = re.sub(r"\[\s+([-0-9.e,\s]+?)\s+\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
    contract_path.write_text(text + "\n")
    print(f"input size {size} px → {contract_path}")


if __name__ == "__main__":
    main()
