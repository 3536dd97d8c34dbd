"""Candidate lookup: packed postings runs give exactly what a scan of ``postings`` gives."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from newstrace import candidates
from newstrace.candidates import lookup_postings, pack_postings, rank_documents_for_hashes
from newstrace.fixtures import demo_corpus
from newstrace.index import Index
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.store import get_meta


def _scan(con, hashes):
    rows = con.execute(
        "SELECT hash, doc_key FROM postings WHERE hash IN (SELECT unnest(?)) ORDER BY hash, doc_key",
        [[int(h) for h in hashes]],
    ).fetchall()
    return rows


def _sorted(hs, ds):
    return sorted(zip(hs.tolist(), ds.tolist(), strict=True))


@pytest.fixture()
def small_blocks(monkeypatch):
    """Tiny blocks and runs, so a small corpus has several runs, merges and a tail."""
    monkeypatch.setattr(candidates, "PACK_BLOCK", 16)
    monkeypatch.setattr(candidates, "PACK_MIN_ROWS", 300)


def test_packed_runs_match_a_scan(tmp_path, small_blocks):
    docs = demo_corpus()
    idx = Index.open(tmp_path / "p.duckdb")
    sizes = []
    for lo in range(0, len(docs), 9):  # incremental builds: new runs, merges, a tail
        idx.add(docs[lo : lo + 9])
        idx.build(refresh=False)
        sizes.append([r["rows"] for r in get_meta(idx.con, "postings_runs") or []])
    runs = get_meta(idx.con, "postings_runs")
    assert runs and len({len(s) for s in sizes}) > 1, sizes  # runs were created and merged
    for a, b in itertools.pairwise(runs):
        assert a["hi"] == b["lo"] and a["rows"] >= candidates.PACK_MERGE * b["rows"]
    n_postings = idx.con.execute("SELECT count(*) FROM postings").fetchall()[0][0]
    unpacked = idx.con.execute(
        "SELECT count(*) FROM postings WHERE doc_key > ?", [runs[-1]["hi"]]
    ).fetchall()[0][0]
    assert sum(r["rows"] for r in runs) + unpacked == n_postings
    all_hashes = np.array([h for (h,) in idx.con.execute("SELECT DISTINCT hash FROM postings").fetchall()])
    rng = np.random.default_rng(3)
    for _ in range(20):
        q = rng.choice(all_hashes, size=60, replace=False)
        q = np.concatenate([q, rng.integers(-(2**62), 2**62, size=5)])  # and absent hashes
        hs, ds = lookup_postings(idx.con, q)
        assert _sorted(hs, ds) == _scan(idx.con, q)
    idx.close()


def test_common_hashes_are_skipped_without_losing_rare_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(candidates, "PACK_BLOCK", 4)
    # every copy posting every fingerprint (no near-duplicate groups): some hash spans blocks
    idx = Index.open(tmp_path / "c.duckdb", Params(near_dup_threshold=0))
    idx.add(demo_corpus())
    idx.build(refresh=False)
    pack_postings(idx.con, min_rows=0)
    con = idx.con
    common, n_common = con.execute(
        "SELECT hash, count(*) AS n FROM postings GROUP BY hash ORDER BY n DESC, hash LIMIT 1"
    ).fetchall()[0]
    assert n_common >= 2 * candidates.PACK_BLOCK + 1  # spans >= 2 blocks that start with it
    rare = [h for (h,) in con.execute(
        "SELECT hash FROM postings GROUP BY hash HAVING count(*) = 2 ORDER BY hash LIMIT 30").fetchall()]
    hs, ds = lookup_postings(con, np.array([common, *rare]), max_doc_freq=2)
    assert common not in set(hs.tolist())  # dropped before its blocks are read
    assert _sorted(hs, ds) == _scan(con, rare)
    idx.close()


def test_ranking_is_the_same_before_and_after_packing(tmp_path):
    idx = Index.open(tmp_path / "r.duckdb")
    idx.add(demo_corpus())
    idx.build(refresh=False)
    con = idx.con
    queries = [
        np.array([h for (h,) in con.execute(
            "SELECT hash FROM postings WHERE doc_key = ?", [k]).fetchall()])
        for k in (1, 5, 17, 30)
    ]
    before = [rank_documents_for_hashes(con, q.tolist(), DEFAULT_PARAMS, 10) for q in queries]
    assert pack_postings(con, min_rows=0) > 0
    after = [rank_documents_for_hashes(con, q.tolist(), DEFAULT_PARAMS, 10) for q in queries]
    assert before == after and all(before)
    assert pack_postings(con, min_rows=0) == 0  # nothing new to pack
    idx.close()


def test_small_increments_find_the_same_pairs_through_the_lookup(tmp_path, small_blocks):
    docs = demo_corpus()
    one = Index.open(tmp_path / "one.duckdb")
    one.add(docs)
    one.build(refresh=False)
    inc = Index.open(tmp_path / "inc.duckdb")
    inc.add(docs[:40])
    inc.build(refresh=False)
    assert get_meta(inc.con, "postings_runs")  # later builds go through the lookup
    for doc in docs[40:]:  # one article at a time, as `watch` does
        inc.add([doc])
        inc.build(refresh=False)

    def pairs(idx):
        return sorted(idx.con.execute(
            """SELECT least(a.id, b.id), greatest(a.id, b.id), p.shared FROM pairs p
               JOIN documents a ON a.doc_key = p.a_key JOIN documents b ON b.doc_key = p.b_key"""
        ).fetchall())

    assert pairs(inc) == pairs(one) and pairs(one)
    one.close()
    inc.close()
