"""Where the public data sets are for tests: $LOOPLAB_DATA, else ../shared/data beside the repo.

Outside CI a test that needs them skips, saying why, when they are absent; CI sets
LOOPLAB_REQUIRE_DATA=1 and then their absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    path = Path(os.environ.get("LOOPLAB_DATA", REPO.parent / "shared" / "data"))
    if not (path / "gsm8k" / "test.jsonl").is_file():
        message = f"the public data sets are not at {path} (set LOOPLAB_DATA)"
        if os.environ.get("LOOPLAB_REQUIRE_DATA") == "1":
            pytest.fail(message + "; LOOPLAB_REQUIRE_DATA=1")
        pytest.skip(reason=message)
    return path
