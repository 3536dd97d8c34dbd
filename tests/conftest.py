"""Shared fixtures: corpora under tests/data, the shared evaluation data beside the repo."""

from __future__ import annotations

import json
import random
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


# -- web fixtures (shared by test_web.py and test_web_browser.py) --------------------------------
XSS_TEXT = (
    "GENEVA (Test Wire) — Delegates meeting in Geneva on Thursday agreed a new framework "
    "for sharing satellite data on crop yields <script>alert(1)</script> after two days of "
    "talks, officials said. The agreement <img src=x onerror=alert(1)> commits forty countries "
    "to publish harvest estimates every month, and sets up a small secretariat in Rome to "
    "check the figures before release. \"This is the first time exporters and importers have "
    "agreed to look at the same numbers at the same time,\" one negotiator said after the "
    "closing session, adding that the first joint report was due in the autumn."
)


def build_web_index(tmp: Path) -> dict[str, Any]:
    """Demo corpus minus one composite (the query), plus an XSS article and its reprint."""
    from newstrace.fixtures import demo_corpus, spin_derived, write_jsonl
    from newstrace.index import Index

    records = demo_corpus()
    comp = next(r for r in records if r["truth"]["kind"] == "composite")
    records = [r for r in records if r["id"] != comp["id"]]
    records.append({"id": "xss-1", "publisher": "<b>Evil</b> Wire", "title": "<script>alert(1)</script> talks",
                    "published_at": "2026-03-01T10:00:00", "text": XSS_TEXT})
    records.append({"id": "xss-2", "publisher": "Copy Desk", "title": "Copy <img src=x onerror=alert(1)>",
                    "published_at": "2026-03-02T10:00:00", "text": XSS_TEXT + " Reporting by staff."})
    corpus = tmp / "corpus.jsonl"
    write_jsonl(corpus, records)
    db = tmp / "web.duckdb"
    with Index.open(db) as idx:
        idx.ingest([corpus])
        idx.build()
    spun = spin_derived(comp["text"], 0.3, random.Random(5))
    return {"db": db, "composite": comp, "spun": spun.text}

