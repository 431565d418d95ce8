"""The tasks the model predicts, their output sizes and label orders (see models/facemtl.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
CONTRACT = json.loads((MODELS_DIR / "facemtl.json").read_text())


@dataclass(frozen=True)
class Task:
    name: str
    outputs: int  # size of the head's output
    labels: tuple[str, ...]


def _task(name: str) -> Task:
    labels = tuple(CONTRACT["outputs"][name]["labels"])
    return Task(name, len(labels), labels)


# Order matters: it is the order of the ONNX outputs.
TASKS: dict[str, Task] = {t: _task(t) for t in ("age", "gender", "ethnicity", "emotion", "emotion_fer2013", "attributes")}
BINARY_TASKS = ("attributes",)  # independent yes/no outputs (sigmoid), not one softmax
