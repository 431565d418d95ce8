import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TRAINING))

SHARED_DATA = TRAINING.parents[1] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The datasets beside the checkout; tests that need them skip when they are absent."""
    if not (SHARED_DATA / "utkface" / "UTKFace.tar.gz").exists():
        pytest.skip(f"needs the datasets in {SHARED_DATA} (absent on this machine)")
    return SHARED_DATA
