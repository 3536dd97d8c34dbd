"""The Spark engine gives the same answers as the DuckDB engine.

Both engines index the same JSONL (the demo corpus; the first 2,000 Reuters-21578
articles) and must agree on passages (ids and character offsets), reuse clusters
(as sets of (doc id, start, end) members) and each cluster's earliest source. The
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


def _trace_same(duck: Index, sparked: Index, text: str) -> None:
    a, b = duck.trace(text), sparked.trace(text)
    assert a == b
    assert a["sources"], "the traced text should have sources"


def test_demo_corpus_same_results(spark: Any, tmp_path: Path) -> None:
    src = tmp_path / "demo.jsonl"
    write_demo_corpus(src)
    duck, sparked = _both_engines(spark, src, tmp_path)
    try:
        _assert_same(duck, sparked)
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
