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



def build_chain_index(tmp: Path, n: int = 420) -> dict[str, Any]:
    """An index whose largest reuse cluster has ``n`` articles: one wire story of made-up
    paragraphs reprinted ``n`` times, each reprint with its own dateline, closing line and
    a small edit (a syndicated story: one near-duplicate group, one cluster)."""
    from newstrace.fixtures import demo_corpus, write_jsonl
    from newstrace.index import Index

    rng = random.Random(19)
    # plain words only: a stray quotation mark would make the story a "shared quotation"
    vocab = sorted({w for d in demo_corpus() for w in d["text"].split() if w.isalpha()})
    blocks = []
    for _ in range(5):
        words = [rng.choice(vocab) for _ in range(34)]
        blocks.append(" ".join(words).capitalize() + ".")
    records = []
    for i in range(n):
        hour = i * 7 // 60  # about 8.5 articles an hour, over two days
        body = list(blocks)
        k = rng.randrange(len(body))
        words = body[k].split()
        words[rng.randrange(1, len(words) - 1)] = rng.choice(vocab)  # a small per-copy edit
        body[k] = " ".join(words)
        records.append({
            "id": f"chain-{i:03d}", "publisher": f"Outlet {i % 37}", "title": f"Chained story {i}",
            "published_at": f"2026-03-{1 + hour // 24:02d}T{hour % 24:02d}:{(i * 7) % 60:02d}:00",
            "text": f"CITY {i} (Outlet {i % 37}) — " + " ".join(body) + f" Reported for outlet {i}.",
        })
    corpus = tmp / "chain.jsonl"
    write_jsonl(corpus, records)
    db = tmp / "chain.duckdb"
    with Index.open(db) as idx:
        idx.ingest([corpus])
        idx.build()
        top = idx.clusters(limit=1)[0]
    return {"db": db, "cluster_id": top["cluster_id"], "n_docs": top["n_docs"], "records": records}


# -- the end of `make test`: say plainly whether the browser tests ran --------------------------
BROWSER_TESTS = Path(__file__).parent / "test_web_browser.py"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """One section at the end: how many browser tests ran, or how many were skipped and why
    (a module-level skip hides them all as one line of ``-ra``)."""
    import re

    if not BROWSER_TESTS.exists():
        return
    name = BROWSER_TESTS.name
    n_defined = len(re.findall(r"^def test_", BROWSER_TESTS.read_text(encoding="utf-8"), re.M))
    stats = terminalreporter.stats
    mine = {key: [r for r in stats.get(key, []) if name in str(getattr(r, "nodeid", ""))]
            for key in ("passed", "failed", "error", "skipped")}
    if not any(mine.values()):
        return  # the browser tests were not selected
    tr = terminalreporter
    tr.section("browser tests (real Chromium)", sep="-")
    ran = len(mine["passed"]) + len(mine["failed"])
    skipped = mine["skipped"]
    whole_module = [r for r in skipped if getattr(r, "when", "") == "collect" or "::" not in r.nodeid]
    reasons = sorted({str(r.longrepr[2] if isinstance(r.longrepr, tuple) else r.longrepr).removeprefix("Skipped: ")
                      for r in skipped})
    if whole_module:
        tr.write_line(f"SKIPPED all {n_defined} browser tests in tests/{name}: {'; '.join(reasons)}",
                      yellow=True, bold=True)
        return
    if skipped:
        tr.write_line(f"{len(skipped)} browser test(s) skipped: {'; '.join(reasons)}", yellow=True, bold=True)
    tr.write_line(f"{ran} browser test(s) ran in Chromium ({len(mine['failed'])} failed)",
                  green=not mine["failed"], red=bool(mine["failed"]))
