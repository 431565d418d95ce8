"""Weight interpolation of a fine-tuned model with the model it started from (WiSE-FT, Wortsman et
al. 2022): every weight and batch-norm statistic becomes (1 − alpha)·base + alpha·tuned. A fine-tune
that gains on some heads and drifts on others often keeps most of the gains and little of the drift
somewhere between the two.

    ./python tools/interpolate.py --base init/facemtl-v3-fp32.onnx --tuned runs/v9/best.pt \\
        --alpha 0.5 --cache ../.cache/facemtl-cache-v3.npz --out runs/v9-wise/best.pt

``--base`` is a checkpoint (.pt) or the FP32 ONNX file the run's ``init_from`` named (re-created the
same way, so both ends share batch-norm parameterisation). The output is a checkpoint that
``facemtl.export`` takes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from facemtl.init_onnx import init_from_onnx  # noqa: E402
from facemtl.models import load_checkpoint, load_state, model_from_config  # noqa: E402
from facemtl.prepare import load_cache  # noqa: E402


def interpolate(base: dict, tuned: dict, alpha: float) -> dict:
    """(1 − alpha)·base + alpha·tuned for float tensors; integer buffers (batch counts) from ``tuned``."""
    return {k: torch.lerp(base[k], v, alpha) if v.is_floating_point() else v for k, v in tuned.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the model the fine-tune started from: .pt or FP32 .onnx")
    parser.add_argument("--tuned", required=True, help="the fine-tuned checkpoint (.pt)")
    parser.add_argument("--alpha", type=float, default=0.5, help="0 = base, 1 = tuned")
    parser.add_argument("--cache", help="training cache (with an ONNX --base: re-creates its batch norms)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    state = load_state(args.tuned)
    if args.base.endswith(".onnx"):
        if not args.cache:
            raise SystemExit("--cache is needed to re-create an ONNX base model's batch norms")
        base = model_from_config(state["config"])
        init_from_onnx(base, args.base, load_cache(args.cache, state["config"]["input_size"]))
    else:
        base = load_checkpoint(args.base)
    state["model"] = interpolate(base.state_dict(), state["model"], args.alpha)
    for key in ("optimizer", "criterion"):  # not a training state to resume any more
        state.pop(key, None)
    state["interpolated"] = {"base": args.base, "tuned": args.tuned, "alpha": args.alpha}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(f"{args.out}: {1 - args.alpha:g} × {args.base} + {args.alpha:g} × {args.tuned}")


if __name__ == "__main__":
    main()
