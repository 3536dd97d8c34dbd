"""The pure steps of ``corpus_provenance`` that both engines call (per pair, per
target document, per cluster, dictionary reduce) on hand-made inputs."""

from __future__ import annotations

from datetime import datetime, timedelta

from newstrace.corpus_provenance import (
    arrow_table,
    cluster_provenance,
    document_provenance,
    finish_document,
    pair_edge,
    substitution_counts,
    substitution_order,
    substitution_row,
    unreused_document,
)
from newstrace.params import DEFAULT_PARAMS

T0 = datetime(2026, 3, 1, 9, 0)
TEXT = "Rain fell on the northern hills for a third day, and officials closed two roads. " * 3


def _doc(key: int, doc_id: str, when: datetime | None, text: str = TEXT, publisher: str | None = None):
    return {"doc_key": key, "id": doc_id, "published_at": when, "text": text, "publisher": publisher}


def test_pair_edge_orients_spans_target_first() -> None:
    a, b = _doc(1, "late", T0 + timedelta(days=1)), _doc(2, "early", T0)
    edge, spans, directed = pair_edge(a, b, [(0, 10, 5, 15), (8, 20, 30, 42)])
    assert directed and edge["basis"] == "date"
    assert (edge["source_id"], edge["target_id"]) == ("early", "late")
    assert spans == [(0, 10, 5, 15), (8, 20, 30, 42)]  # a is the target: unchanged
    assert edge["chars"] == 20 and edge["passages"] == 2
    edge, spans, _ = pair_edge(b, a, [(5, 15, 0, 10)])
    assert spans == [(0, 10, 5, 15)]  # b is the target: flipped


def test_pair_edge_tie_is_undirected_by_smaller_id() -> None:
    edge, _, directed = pair_edge(_doc(1, "zeta", T0), _doc(2, "alpha", T0), [(0, 5, 0, 5)])
    assert not directed and edge["basis"] == "tie" and edge["source_id"] == "alpha"


def test_document_provenance_and_spin() -> None:
    src = _doc(1, "wire", T0)
    copy = _doc(2, "copy", T0 + timedelta(hours=3), TEXT.replace("officials", "authorities"))
    _, spans, _ = pair_edge(src, copy, [(0, len(TEXT), 0, len(copy["text"]))])
    rec, subs, det = document_provenance(copy, [(src, spans, "date")], [], DEFAULT_PARAMS,
                                         keep_details=True)
    assert rec["earliest_source"] == "wire" and rec["n_sources"] == 1 and not rec["composite"]
    assert rec["class"] == "wholly derived" and rec["share_reused"] > 0.9
    assert ("officials", "authorities") in subs and det[0]["source_id"] == "wire"
    count, pair_docs = substitution_counts({2: subs})
    finish_document(rec, subs, pair_docs)
    assert rec["n_substitutions"] == len(subs) and rec["spin_score"] > 0
    rows = sorted((substitution_row(k[0], k[1], c, pair_docs[k]) for k, c in count.items()),
                  key=substitution_order)
    assert rows[0]["lexical"] and rows[0]["n_docs"] == 1
    original, _, _ = document_provenance(src, [], [], DEFAULT_PARAMS)
    assert original["earliest_source"] == "wire" and original["share_reused"] == 0.0
    tied, _, _ = document_provenance(src, [], ["b", "a"], DEFAULT_PARAMS)
    assert tied["earliest_source"] == "equally early: a, b, wire"
    table = arrow_table("doc_provenance", [rec, unreused_document(3, "alone")])
    assert table.column("earliest_source").to_pylist() == ["wire", None]


def test_cluster_provenance_clock_skew_and_undated() -> None:
    members = [_doc(1, "copy", T0), _doc(2, "orig", T0 + timedelta(minutes=20)), _doc(3, "nodate", None)]
    row = cluster_provenance(7, members, {1: [(2, "clock-skew")]})
    assert row["earliest_ids"] == ["orig"] and row["clock_skew"] and row["n_undated"] == 1
    assert row["label"] == "unknown — earliest dated copy is orig (a copy is dated earlier: clock skew)"
    placed = cluster_provenance(7, members, {1: [(2, "clock-skew")], 3: [(2, "evidence")]})
    assert placed["label"] == "orig (a copy is dated earlier: clock skew)"


def test_worker_processes_give_the_same_tables(tmp_path, monkeypatch) -> None:
    import newstrace.corpus_provenance as cp
    from newstrace.fixtures import demo_corpus
    from newstrace.index import Index

    tables = ("doc_provenance", "edges", "substitutions", "cluster_provenance")
    with Index.open(tmp_path / "w.duckdb") as idx:
        idx.add(demo_corpus())
        idx.build()  # demo corpus: below PARALLEL_MIN_DOCS, one process
        serial = {t: idx.con.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
        monkeypatch.setattr(cp, "PARALLEL_MIN_DOCS", 1)
        cp.compute_provenance(idx)  # forked workers, chunks of 2000 documents
        parallel = {t: idx.con.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    assert parallel == serial and serial["doc_provenance"]


def test_text_store_looks_texts_up_by_key() -> None:
    import pyarrow as pa
    import pytest

    from newstrace.corpus_provenance import TextStore

    store = TextStore([7, 2, 40], pa.chunked_array([["Zürich — “quoted”", ""], ["third"]]))
    assert (store[7], store[2], store[40]) == ("Zürich — “quoted”", "", "third")
    assert len(store) == 3
    for missing in (0, 3, 41, -1):
        with pytest.raises(KeyError):
            store[missing]
    assert len(TextStore([], pa.chunked_array([], pa.string()))) == 0


def test_pairs_batch_reads_texts_only_for_credit_evidence() -> None:
    import pyarrow as pa

    from newstrace.corpus_provenance import PAIR_EDGES_ARROW, TextStore, pairs_batch

    class Counting(TextStore):
        reads = 0

        def __getitem__(self, key: int) -> str:
            Counting.reads += 1
            return super().__getitem__(key)

    # y (Baltic Press Agency) credits x's publisher: evidence that x is the source
    texts = Counting([1, 2], pa.array(["LONDON — " + TEXT, "LONDON (Northwire) — " + TEXT]))
    x = _doc(1, "x", T0, publisher="Northwire")
    y = _doc(2, "y", T0 + timedelta(days=1), publisher="Baltic Press Agency")
    far = {"spans": [{"a_start": 0, "a_end": 50, "b_start": 5, "b_end": 55}],
           **{f"{s}_{f}": v for s, d in (("a", x), ("b", y)) for f, v in d.items() if f != "text"}}
    out = pairs_batch(pa.RecordBatch.from_pylist([far]), texts)
    assert out.schema == PAIR_EDGES_ARROW and Counting.reads == 0  # a day apart: dates decide
    assert out.to_pylist()[0]["basis"] == "date" and out.to_pylist()[0]["source_id"] == "x"
    # y dated five minutes *before* x: the credit decides against the clocks
    close = {**far, "b_published_at": T0 - timedelta(minutes=5)}
    edge = pairs_batch(pa.RecordBatch.from_pylist([close]), texts).to_pylist()[0]
    assert Counting.reads == 2 and edge["source_id"] == "x" and edge["basis"] == "clock-skew"
    assert edge["spans"] == [{"t0": 5, "t1": 55, "s0": 0, "s1": 50}]  # target (y) first
