"""The Spark engine gives the same answers as the DuckDB engine.

Both engines index the same JSONL (the demo corpus; the first 2,000 Reuters-21578
articles) and must agree on passages (ids and character offsets), reuse clusters
(as sets of (doc id, start, end) members), each cluster's earliest source and the
corpus provenance tables (edges, doc_provenance, substitutions, cluster_provenance,
compared by document id). The
Spark output is loaded with ``load_parquet``, so the comparison also proves that a
Spark-built database answers ``trace`` like a DuckDB-built one.
"""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import Any

import pytest

from newstrace.fixtures import write_demo_corpus
from newstrace.index import Index
from newstrace.spark import unavailable_reason

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"Spark engine: {REASON}")

REUTERS = Path(__file__).resolve().parents[3] / "shared" / "data" / "reuters21578.jsonl.gz"


@pytest.fixture(scope="module")
def spark() -> Any:
    from newstrace.spark import get_spark

    session = get_spark(
        "local[2]",
        conf={"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
              "spark.driver.memory": "2g"},
    )
    yield session
    session.stop()


def _both_engines(spark: Any, src: Path, tmp: Path) -> tuple[Index, Index]:
    from newstrace.spark.jobs import run_pipeline
    from newstrace.spark.load import load_parquet

    duck = Index.open(tmp / "duck.duckdb")
    duck.ingest([src])
    duck.build()
    run_pipeline(spark, str(src), str(tmp / "spark-out"), partitions=4)
    load_parquet(tmp / "spark-out", tmp / "spark.duckdb")
    return duck, Index.open(tmp / "spark.duckdb", read_only=True)


def _passages(idx: Index) -> set[tuple[Any, ...]]:
    rows = idx.con.execute(
        "SELECT a_id, a_start, a_end, b_id, b_start, b_end, round(score, 6) FROM passages"
    ).fetchall()
    out = set()
    for a_id, a0, a1, b_id, b0, b1, score in rows:  # orient by id, not by engine-internal key
        out.add((a_id, a0, a1, b_id, b0, b1, score) if a_id <= b_id else (b_id, b0, b1, a_id, a0, a1, score))
    return out


def _clusters(idx: Index) -> dict[frozenset[tuple[str, int, int]], str]:
    members: dict[int, set[tuple[str, int, int]]] = {}
    for cid, doc_id, s, e in idx.con.execute(
        "SELECT cluster_id, id, start_char, end_char FROM cluster_members"
    ).fetchall():
        members.setdefault(cid, set()).add((doc_id, s, e))
    earliest = dict(idx.con.execute("SELECT cluster_id, earliest_id FROM clusters").fetchall())
    return {frozenset(m): earliest[c] for c, m in members.items()}


_PROVENANCE_QUERIES = {
    # by document id, not by engine-internal key
    "edges": "SELECT source_id, target_id, chars, passages, basis FROM edges",
    "doc_provenance": """SELECT id, class, round(share_reused, 4), composite, n_sources,
        earliest_source, spun, round(spin_score, 3), n_substitutions, n_insertions, n_deletions,
        n_moved, aligned_words, sources_json FROM doc_provenance""",
    "substitutions": "SELECT source, replacement, count, n_docs, lexical FROM substitutions",
    "cluster_provenance": "SELECT cluster_id, earliest_id, earliest_ids, label, n_undated, "
                          "clock_skew FROM cluster_provenance",
}


def _assert_same_provenance(duck: Index, sparked: Index) -> None:
    """Both engines' corpus provenance tables hold the same rows (and, where the
    DuckDB engine's row order means something, in the same order)."""
    for table, query in _PROVENANCE_QUERIES.items():
        a = sorted(duck.con.execute(query).fetchall(), key=repr)
        b = sorted(sparked.con.execute(query).fetchall(), key=repr)
        assert len(a) == len(b), (table, len(a), len(b))
        assert a == b, (table, sorted(set(a) - set(b), key=repr)[:3], sorted(set(b) - set(a), key=repr)[:3])
    assert duck.con.execute("SELECT count(*) FROM edges").fetchone()[0], "no edges: vacuous"
    # the dictionary is stored most widespread first: same order in both
    order = "SELECT source, replacement FROM substitutions"
    assert duck.con.execute(order).fetchall() == sparked.con.execute(order).fetchall()


def _assert_same(duck: Index, sparked: Index) -> None:
    docs = "SELECT doc_key, id, content_hash FROM documents ORDER BY doc_key"
    assert duck.con.execute(docs).fetchall() == sparked.con.execute(docs).fetchall()
    p_duck, p_spark = _passages(duck), _passages(sparked)
    assert p_duck, "no passages found: the comparison would be vacuous"
    assert p_spark == p_duck, (sorted(p_duck - p_spark)[:5], sorted(p_spark - p_duck)[:5])
    c_duck, c_spark = _clusters(duck), _clusters(sparked)
    assert set(c_spark) == set(c_duck)
    assert c_spark == c_duck  # same earliest source per cluster
    fam = "SELECT doc_key, family_id FROM families ORDER BY doc_key"
    assert duck.con.execute(fam).fetchall() == sparked.con.execute(fam).fetchall()
    assert duck.stats() == sparked.stats()
    _assert_same_provenance(duck, sparked)


def _trace_same(duck: Index, sparked: Index, text: str) -> None:
    a, b = duck.trace(text), sparked.trace(text)
    assert a == b
    assert a["sources"], "the traced text should have sources"


_TALKS = (
    "ASTANA (BPA) — Negotiators from the five riparian states agreed on Tuesday to share "
    "gauge readings from the upper reservoirs every six hours, a step that engineers "
    "downstream have sought since the spring floods swept away two pumping stations. "
    "The accord, reached after nine days of closed sessions in the capital, also sets up "
    "a joint fund for dredging the silted channels near the delta, although the amount "
    "each government will pay in remains to be settled at a meeting planned for autumn. "
    "Farmers' unions welcomed the deal but warned that irrigation quotas were untouched."
)


def _direction_cases() -> list[dict[str, Any]]:
    """Articles whose direction needs credit evidence (so their texts): a copy dated 20
    minutes before its source (clock skew), one with the source's timestamp
    (evidence), an undated one, and two uncredited ones with equal dates (tie)."""
    tail = " Officials declined to comment further on the talks."
    return [
        {"id": "bpa-talks", "publisher": "Baltic Press Agency", "text": _TALKS,
         "published_at": "2026-03-01T10:00:00"},
        {"id": "metro-talks", "publisher": "Metro Chronicle", "text": _TALKS + tail,
         "published_at": "2026-03-01T09:40:00"},
        {"id": "harbour-talks", "publisher": "Harbour Daily", "text": "Update: " + _TALKS,
         "published_at": "2026-03-01T10:00:00"},
        {"id": "undated-talks", "publisher": "Valley Post", "text": _TALKS + " More soon."},
        {"id": "tie-a", "publisher": "X Weekly", "text": _TALKS[14:] + " (a)",
         "published_at": "2026-03-04T08:00:00"},
        {"id": "tie-b", "publisher": "Y Weekly", "text": _TALKS[14:] + " (b)",
         "published_at": "2026-03-04T08:00:00"},
    ]


@pytest.fixture(scope="module")
def demo(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus plus ``_direction_cases`` indexed by both engines
    (``duck.duckdb``, ``spark-out``, ``spark.duckdb``)."""
    import json

    tmp = tmp_path_factory.mktemp("demo")
    src = tmp / "demo.jsonl"
    write_demo_corpus(src)
    with src.open("a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in _direction_cases())
    duck, sparked = _both_engines(spark, src, tmp)
    duck.close()
    sparked.close()
    return tmp


def test_demo_corpus_same_results(demo: Path) -> None:
    duck = Index.open(demo / "duck.duckdb", read_only=True)
    sparked = Index.open(demo / "spark.duckdb", read_only=True)
    try:
        _assert_same(duck, sparked)
        from newstrace.corpus_provenance import provenance_is_current

        assert provenance_is_current(duck) and provenance_is_current(sparked)  # reports read the tables
        bases = {b for (b,) in sparked.con.execute("SELECT DISTINCT basis FROM edges").fetchall()}
        assert {"clock-skew", "evidence", "undated", "tie"} <= bases, bases
        text = duck.con.execute("SELECT text FROM documents WHERE id = 'copy-01'").fetchall()[0][0]
        _trace_same(duck, sparked, text)
    finally:
        duck.close()
        sparked.close()


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.skipif(not REUTERS.exists(), reason=f"{REUTERS} not present (../shared/data)")
def test_reuters_2000_same_results(spark: Any, tmp_path: Path) -> None:
    src = tmp_path / "reuters2000.jsonl"
    with gzip.open(REUTERS, "rt", encoding="utf-8") as fh, src.open("w", encoding="utf-8") as out:
        out.writelines(itertools.islice(fh, 2000))
    duck, sparked = _both_engines(spark, src, tmp_path)
    try:
        _assert_same(duck, sparked)
        key = duck.con.execute(
            "SELECT b_id FROM passages GROUP BY b_id ORDER BY count(*) DESC, b_id LIMIT 1"
        ).fetchall()[0][0]
        text = duck.con.execute("SELECT text FROM documents WHERE id = ?", [key]).fetchall()[0][0]
        _trace_same(duck, sparked, text)
    finally:
        duck.close()
        sparked.close()


def test_load_recomputes_provenance_for_older_output(demo: Path, tmp_path: Path) -> None:
    """An output folder without the provenance tables (an older engine) still loads:
    ``load_parquet`` then computes them on one machine, with the same result."""
    import shutil

    from newstrace.corpus_provenance import TABLE_ORDER
    from newstrace.spark.load import load_parquet

    out = tmp_path / "old-out"
    shutil.copytree(demo / "spark-out", out)
    for table in TABLE_ORDER:
        assert (out / table).is_dir(), f"the Spark engine wrote no {table}"
        shutil.rmtree(out / table)
    load_parquet(out, tmp_path / "old.duckdb")
    new = Index.open(demo / "spark.duckdb", read_only=True)
    old = Index.open(tmp_path / "old.duckdb", read_only=True)
    try:
        _assert_same_provenance(old, new)
    finally:
        new.close()
        old.close()


def test_bad_input_is_a_user_error(spark: Any, tmp_path: Path) -> None:
    from newstrace.errors import UserError
    from newstrace.spark.jobs import run_pipeline

    with pytest.raises(UserError, match="no such file"):
        run_pipeline(spark, str(tmp_path / "missing.jsonl"), str(tmp_path / "out"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x1", "text": "fine text here"}\nnot json\n{"id": "x2"}\n', encoding="utf-8")
    report = run_pipeline(spark, str(bad), str(tmp_path / "out2"), partitions=2)
    assert report.counts["documents"] == 1
    assert report.rejected == 2
    rows = spark.read.parquet(str(tmp_path / "out2" / "rejected")).collect()
    reasons = sorted(r["reason"] for r in rows)
    assert reasons[0].startswith("malformed JSON") and "text" in reasons[1]
