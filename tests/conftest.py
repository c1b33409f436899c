"""Shared test fixtures: the benchmark data beside the repository, and isolation of the plugin registry."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real benchmark tables), else ``$NAPE_DATA``; tests using it skip when neither exists."""
    root = SHARED_DATA if SHARED_DATA.is_dir() else Path(os.environ.get("NAPE_DATA") or SHARED_DATA)
    if not root.is_dir():
        pytest.skip(f"benchmark data not found at {SHARED_DATA} (nor in $NAPE_DATA)")
    return root
