"""Near-duplicate collapse (issue 17 item 1) and the candidate cap (item 5).

A story reprinted more than ``max_doc_freq`` times must stay one cluster with the right
earliest source, found by ``trace``; adversarial phrase corpora must stay linear.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from conftest import load_corpus

from newstrace import neardup
from newstrace.index import Index
from newstrace.params import Params

START = datetime(2026, 3, 3, 6, 0)


def _story() -> dict:
    recs = load_corpus("wire_reprint")
    return max(recs, key=lambda r: len(r["text"]))


def _copy(text: str, i: int, rng: random.Random, edit: bool) -> str:
    """A reprint: dateline, byline, footer; with ``edit``, a few words changed."""
    words = text.split(" ")
    if edit:
        for _ in range(2):
            j = rng.randrange(len(words))
            words[j] = f"edit{i}x{rng.randrange(1000)}"
    return f"CITY{i % 7} (Outlet {i}) - By Writer{i % 5}\n\n" + " ".join(words) + f"\n\nCopyright Outlet {i} media"


def _corpus(n: int, edit: bool, seed: int = 1) -> tuple[list[dict], dict]:
    rng = random.Random(seed)
    orig = _story()
    docs = [{"id": "original", "text": orig["text"], "publisher": "Wire",
             "published_at": START.isoformat()}]
    order = list(range(n))
    rng.shuffle(order)
    for i in order:  # copies stored in random order, all later than the original
        when = START + timedelta(minutes=rng.randrange(1, 5000))
        docs.append({"id": f"copy{i:04d}", "text": _copy(orig["text"], i, rng, edit),
                     "publisher": f"Outlet {i}", "published_at": when.isoformat()})
    # the original is not the first stored: near-duplicate roots need not be the earliest
    docs.insert(3, docs.pop(0))
    return docs, orig


def _one_cluster(idx: Index, n_docs: int) -> dict:
    clusters = idx.clusters(min_docs=2)
    big = [c for c in clusters if c["n_docs"] >= 2]
    assert len(big) == 1, [c["n_docs"] for c in big]
    assert big[0]["n_docs"] == n_docs
    assert big[0]["earliest_id"] == "original"
    return big[0]


def _build(tmp: Path, docs: list[dict], params: Params | None = None) -> Index:
    tmp.mkdir(parents=True, exist_ok=True)
    idx = Index.open(tmp / "n.duckdb", params)
    idx.add(docs)
    idx.build()
    return idx


def test_signatures_estimate_jaccard() -> None:
    rng = np.random.default_rng(3)
    a = np.unique(rng.integers(-(2**62), 2**62, 400))
    b = np.unique(np.concatenate([a[:300], rng.integers(-(2**62), 2**62, 100)]))
    sa, sb = neardup.signatures([a, b])
    jac = np.intersect1d(a, b).shape[0] / np.union1d(a, b).shape[0]
    assert abs(np.mean(sa == sb) - jac) < 0.15
    assert (neardup.signatures([a])[0] == sa).all()  # deterministic
    assert neardup.band_keys(np.stack([sa, sa])).shape == (2, neardup.MINHASH_BANDS)


def test_61_and_150_exact_copies_are_one_cluster(tmp_path: Path) -> None:
    orig = _story()
    for n in (61, 150):
        docs = [{"id": "original", "text": orig["text"], "published_at": START.isoformat()}]
        docs += [{"id": f"c{i}", "text": orig["text"],
                  "published_at": (START + timedelta(hours=1 + i)).isoformat()} for i in range(n - 1)]
        docs.insert(5, docs.pop(0))
        with _build(tmp_path / str(n), docs) as idx:
            _one_cluster(idx, n)
            n_pairs = idx.stats()["candidate_pairs"]
            assert n_pairs < 3 * n  # a star, not n²/2


def test_81_near_copies_one_cluster_and_trace(tmp_path: Path) -> None:
    docs, orig = _corpus(80, edit=True)
    with _build(tmp_path, docs) as idx:
        _one_cluster(idx, 81)
        assert idx.stats()["candidate_pairs"] < 4 * 81
        query = _copy(orig["text"], 999, random.Random(9), edit=True)
        result = idx.trace(query)
        assert result["sources"][0]["id"] == "original"
        assert result["sources"][0].get("near_duplicates", 0) >= 81


def test_incremental_copies_join_the_group(tmp_path: Path) -> None:
    docs, orig = _corpus(120, edit=True, seed=5)
    with _build(tmp_path, docs[:40]) as idx:
        _one_cluster(idx, 40)
        idx.add(docs[40:100])
        idx.build()
        idx.add(docs[100:])
        idx.build()
        _one_cluster(idx, 121)
        # the first 40 (a group under max_doc_freq) are paired all with all, the rest as a star
        assert idx.stats()["candidate_pairs"] < 40 * 39 // 2 + 4 * 81
        assert idx.trace(_copy(orig["text"], 777, random.Random(2), edit=True))["sources"][0]["id"] == "original"


def test_boilerplate_of_distinct_texts_still_dropped(tmp_path: Path) -> None:
    rng = random.Random(4)
    footer = "This article was distributed by the Example Syndicate under licence; all rights reserved worldwide."
    docs = [{"id": f"d{i}", "text": " ".join(f"w{rng.randrange(10**6)}" for _ in range(120)) + " " + footer}
            for i in range(70)]
    with _build(tmp_path, docs) as idx:
        assert idx.stats()["candidate_pairs"] == 0  # the footer is in 70 distinct texts
        assert idx.con.execute("SELECT count(*) FROM near_dups").fetchall()[0][0] == 0


def test_adversarial_phrases_stay_under_the_cap(tmp_path: Path) -> None:
    rng = random.Random(7)
    n_docs, per_doc, df = 300, 12, 40
    phrases = [" ".join(f"p{j}w{k}" for k in range(5)) for j in range(n_docs * per_doc // df)]
    slots = [j for j in range(len(phrases)) for _ in range(df)]
    rng.shuffle(slots)
    docs = [{"id": f"a{i}", "text": ". ".join(phrases[j] for j in slots[i * per_doc:(i + 1) * per_doc])}
            for i in range(n_docs)]
    k = 10
    with _build(tmp_path / "cap", docs, Params(max_pairs_per_doc=k)) as idx:
        capped = idx.stats()["candidate_pairs"]
        per_doc_max = idx.con.execute(
            "SELECT max(c) FROM (SELECT a_key, count(*) c FROM pairs GROUP BY a_key)").fetchall()[0][0]
    with _build(tmp_path / "free", docs, Params(max_pairs_per_doc=0)) as idx:
        free = idx.stats()["candidate_pairs"]
    assert capped <= k * n_docs < free
    assert per_doc_max is not None and capped > 0
