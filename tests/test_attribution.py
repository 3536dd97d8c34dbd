"""The one attribution model: sources grouped right (two articles sharing a paragraph
are two sources), no self-citation, rewording counts toward the class, and trace,
corpus provenance and watch agree on one document."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

import numpy as np
import pytest

from newstrace import Index
from newstrace.corpus_provenance import analyse
from newstrace.fixtures import load_originals, paragraph_spans, spin
from newstrace.params import Params
from newstrace.provenance import attribute, copied_spans, derived_share, word_edits
from newstrace.watch import _copy_analysis

QUERY_ID = "spun-copy"


def _paras(text: str) -> list[str]:
    return [text[s:e] for s, e in paragraph_spans(text)]


@pytest.fixture(scope="module")
def shape():
    """Article A; article B that shares one short paragraph of A; a copy of A spun,
    with a paragraph moved, one paragraph of B's own pasted in and a new paragraph
    (the Reuters 2796/28 shape, with the project's own articles)."""
    orig = {r["id"]: r for r in load_originals()}
    a = dict(orig["orig-12"])
    b = dict(orig["orig-20"])
    a_par, b_par = _paras(a["text"]), _paras(b["text"])
    shared = a_par[3]
    b["text"] = "\n\n".join(b_par[:2] + [shared] + b_par[2:])
    rng = random.Random(7)
    spun = [spin(p, 0.2, rng)[0] for p in a_par]
    spun[1], spun[4] = spun[4], spun[1]  # a paragraph moved
    new_par = _paras(orig["orig-01"]["text"])[2]  # not indexed: no source
    pasted = b_par[3]  # B's own paragraph
    parts = spun[:3] + [pasted] + spun[3:] + [new_par]
    query = "\n\n".join(parts)
    starts = []
    pos = 0
    for p in parts:
        starts.append((pos, pos + len(p)))
        pos += len(p) + 2
    a_regions = [starts[i] for i in (0, 1, 2, 4, 5, 6)]
    return {"a": a, "b": b, "query": query, "a_regions": a_regions,
            "pasted": starts[3], "new": starts[7]}


@pytest.fixture(scope="module")
def index(shape, tmp_path_factory):
    orig = load_originals()
    others = [r for r in orig if r["id"] > "orig-10" and r["id"] not in ("orig-12", "orig-20")]
    recs = [shape["a"], shape["b"]] + others
    recs = [{k: v for k, v in r.items() if k != "same_event_group"} for r in recs]
    idx = Index.open(tmp_path_factory.mktemp("attr") / "x.duckdb")
    idx.add(recs)
    idx.build()
    idx.con.execute("SELECT 1").fetchall()
    yield idx
    idx.close()


def test_shared_paragraph_makes_two_sources_not_copies(shape, index):
    r = index.trace(shape["query"], QUERY_ID)
    a, b = shape["a"]["id"], shape["b"]["id"]
    assert r["self"] is None
    assert r["composite"] is True
    assert r["main"] == a
    assert [s["id"] for s in r["composite_sources"]][:2] == [a, b]
    by_id = {s["id"]: s for s in r["sources"]}
    assert by_id[a]["group"] != by_id[b]["group"]
    assert b not in by_id[a]["copies"] and by_id[a]["main"] is True
    # A (1 March) was published before B (9 March): earliest source and note agree
    assert r["earliest_source"] == a and r["earliest_note"] == a
    # every sentence of A's paragraphs is coloured A; the pasted one B; the new one nothing
    for sent in r["sentences"]:
        inside = lambda reg, s=sent: reg[0] <= s["start"] < reg[1]  # noqa: E731
        if any(inside(reg) for reg in shape["a_regions"]):
            assert sent["sources"] and sent["sources"][0]["id"] == a, sent
        elif inside(shape["pasted"]):
            assert sent["sources"] and sent["sources"][0]["id"] == b, sent
        elif inside(shape["new"]):
            assert not sent["sources"] and sent["note"] == "no source found"
    # the moved paragraph is reported with offsets on both sides
    moved = [s for s in r["sentences"] if s["moved"]]
    assert moved and all(set(s["moved"]) >= {"from", "to"} for s in moved)
    # edits carry from/to/kind/count; every swap is against the lead of its group
    assert r["edits"] and all({"from", "to", "kind", "count"} <= set(e) for e in r["edits"])
    assert {e["kind"] for e in r["edits"]} <= {"substitution", "phrase", "fact"}
    assert r["spin"]["spun"] is True


def test_self_trace_names_the_indexed_article_and_cites_the_others(shape, index):
    a = shape["a"]["id"]
    for r in (index.trace(shape["a"]["text"]), index.trace(shape["a"]["text"], a)):
        assert r["self"] == a
        assert a not in {s["id"] for s in r["sources"]}
        # B holds a paragraph of A: A is attributed to B for that paragraph only
        assert [s["id"] for s in r["sources"]] == [shape["b"]["id"]]
        assert r["classification"] == "partially derived"


def test_trace_corpus_provenance_and_watch_agree(shape, index, tmp_path):
    recs = [{k: v for k, v in r.items() if k != "same_event_group"} for r in load_originals()
            if r["id"] > "orig-10" and r["id"] not in ("orig-12", "orig-20")]
    idx = Index.open(tmp_path / "agree.duckdb")
    try:
        idx.add([shape["a"], shape["b"], *recs,
                 {"id": QUERY_ID, "text": shape["query"], "published_at": datetime(2026, 3, 25)}])
        idx.build()
        idx.con.execute("SELECT 1").fetchall()
        key = idx.con.execute("SELECT doc_key FROM documents WHERE id = ?", [QUERY_ID]).fetchall()[0][0]
        trace = idx.trace(shape["query"], QUERY_ID)
        assert trace["self"] == QUERY_ID
        prov = analyse(idx, keep_details=True)
        row = prov.documents[key]
        watch = _copy_analysis(idx, key)
        t_sources = [(s["id"], sorted(s["copies"])) for s in trace["composite_sources"]]
        assert t_sources == [(s["id"], sorted(s["copies"])) for s in row["sources"]]
        assert t_sources == [(s["id"], sorted(s["copies"])) for s in watch["sources"]]
        assert trace["classification"] == row["class"] == watch["class"]
        assert trace["derived_share"] == row["share_reused"] == watch["share_reused"]
        assert trace["composite"] == row["composite"] == watch["composite"] is True
        t_edits = Counter({(e["from"], e["to"]): e["count"] for e in trace["edits"]})
        c_edits = Counter((e["source"], e["replacement"]) for d in prov.details[key]
                          for e in d["edits"] if e["op"] == "substitute")
        assert t_edits == c_edits and t_edits
    finally:
        idx.close()


def test_rewording_counts_toward_the_class_quotations_do_not():
    src = ("The regional council approved a new budget for public transport on Tuesday after "
           "a long debate about rising ticket prices and the cost of maintaining old rail lines "
           "across the northern valleys, where many commuters depend on slow regional trains.")
    # the same prose, reworded: every few words a longer rewrite breaks the copied runs
    cpy = ("The regional council approved, following hours of heated argument among members, "
           "a new budget for public transport that evening, after a very lengthy and quite bitter "
           "discussion about rising ticket prices and, as several speakers stressed repeatedly, "
           "the cost of maintaining old rail lines, a burden that grows every single year, across "
           "the northern valleys, where, as the transport union pointed out at length, many "
           "commuters depend on slow regional trains.")
    spans = [(0, len(cpy), 0, len(src))]
    share = derived_share(cpy, np.ones(len(cpy), bool), [(src, spans)])
    assert share >= Params().partially_derived
    # no run of copied words is long enough: only the rewording makes it derived
    assert copied_spans(cpy, (0, len(cpy)), src, (0, len(src))) == []
    att = attribute(cpy, {"s": spans}, {"s": {"text": src, "published_at": None}}, Params())
    assert att.classification != "not derived" and att.derived_share == round(share, 4)
    # a direct quotation shared by two outlets: not derived either way
    quote = '"We will not raise ticket prices this year, whatever the cost of the old lines," she said.'
    a_txt = "Rail fares dominated the meeting. " + quote
    b_txt = "Commuters had feared a rise. " + quote + " Critics were unconvinced."
    qa, qb = a_txt.index(quote), b_txt.index(quote)
    q_spans = [(qb, qb + len(quote), qa, qa + len(quote))]
    assert derived_share(b_txt, np.ones(len(b_txt), bool), [(a_txt, q_spans)]) == 0.0


def test_word_edits_seam_kinds():
    src = "Prices rose 12 percent last year in Berlin, officials said."
    dst = "Prices climbed 14 percent a year ago in Berlin, officials said."
    kinds = {(e.src, e.dst): e.kind for e in word_edits(src, 0, len(src), dst, 0, len(dst))}
    # the changed number makes its swap a fact; the spinner's phrase swap is one edit
    assert kinds[("rose 12", "climbed 14")] == "fact"
    assert kinds[("last year", "a year ago")] == "phrase"
    assert len(kinds) == 2


def test_watch_reports_the_spun_copy_as_reuse_of_its_main_source(shape, tmp_path):
    from newstrace.fixtures import write_jsonl
    from newstrace.watch import add_watch, recent_reuses, run_watch

    a, b = shape["a"]["id"], shape["b"]["id"]
    recs = [{k: v for k, v in r.items() if k != "same_event_group"}
            for r in [shape["a"], shape["b"]] + [r for r in load_originals()
                                                 if r["id"] > "orig-10" and r["id"] not in (a, b)]]
    write_jsonl(tmp_path / "base.jsonl", recs)
    db = tmp_path / "w.duckdb"
    with Index.open(db) as idx:
        idx.ingest([tmp_path / "base.jsonl"])
        idx.build()
        add_watch(idx, [a, b])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "001-copy.jsonl", [{"id": "copy-1", "text": shape["query"], "publisher": "Spin Farm"}])
    rep = run_watch(db, inbox, once=True, settle=0)
    assert rep.reuses >= 1
    with Index.open(db) as idx:
        found = {r["original_id"]: r for r in recent_reuses(idx.con) if r["copy_id"] == "copy-1"}
    assert a in found and found[a]["composite"] and found[a]["meter_class"] == "wholly derived"
    # B's pasted paragraph is reuse of B too, but the copy is mostly A's
    assert b not in found or found[b]["share"] < found[a]["share"]
    assert b in found[a]["other_sources"]
