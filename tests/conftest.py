"""Shared fixtures: corpora under tests/data, the shared evaluation data beside the repo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
CORPORA = DATA / "corpora"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_corpus(name: str) -> list[dict[str, Any]]:
    """Records of a named fixture corpus (with their ``truth``)."""
    with (CORPORA / name / "articles.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not found: the shared evaluation data sits beside the checkout in CI")
    return path


@pytest.fixture
def corpus():
    return load_corpus


# The first call compiles/loads numba code and builds tables: no per-example deadline.
from hypothesis import settings as _settings  # noqa: E402

_settings.register_profile("newstrace", deadline=None)
_settings.load_profile("newstrace")
