"""Provenance: earliest source, METER class, composites, edits, spin score, trace."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from newstrace import Index
from newstrace.corpus_provenance import compute_provenance, credits, direction
from newstrace.fixtures import demo_corpus
from newstrace.params import Params
from newstrace.provenance import (
    classify,
    earliest_label,
    find_moves,
    is_lexical_substitution,
    spin_score,
    word_alignment,
)

C3 = Path(__file__).parent / "data" / "corpora" / "composite3" / "articles.jsonl"


def _records(path: Path = C3) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _strip(recs):
    return [{k: v for k, v in r.items() if k != "truth"} for r in recs]


def _flush(idx: Index) -> None:
    # work around a pending result left on the connection by build/open (see report)
    idx.con.execute("SELECT 1").fetchall()


@pytest.fixture(scope="module")
def c3(tmp_path_factory):
    idx = Index.open(tmp_path_factory.mktemp("c3") / "x.duckdb")
    idx.ingest([C3])
    idx.build()
    _flush(idx)
    compute_provenance(idx)
    yield idx
    idx.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    recs = demo_corpus()
    idx = Index.open(tmp_path_factory.mktemp("demo") / "x.duckdb")
    idx.add(_strip(recs))
    idx.build()
    _flush(idx)
    compute_provenance(idx)
    yield idx, recs
    idx.close()


def _dp(idx):
    cur = idx.con.execute("SELECT * FROM doc_provenance")
    cols = [c[0] for c in cur.description]
    return {r[1]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


# -- unit ------------------------------------------------------------------------------------
def test_word_alignment_splits_spinner_substitutions():
    copy = "Russian Federation wish for peace as well as quiet"
    src = "Russia want peace like quiet"
    _, edits = word_alignment(copy, (0, len(copy)), src, (0, len(src)))
    pairs = [(e["source"], e["replacement"]) for e in edits if e["op"] == "substitute"]
    assert pairs == [("Russia", "Russian Federation"), ("want", "wish for"), ("like", "as well as")]


def test_word_alignment_insert_delete_and_sentence_edge():
    src = "The mayor said the bridge will reopen soon. It was weak."
    copy = "The mayor said the old bridge will reopen. It was feeble."
    _, edits = word_alignment(copy, (0, 42), src, (0, 43))
    ops = {(e["op"], e["source"], e["replacement"]) for e in edits}
    assert ("insert", "", "old") in ops
    assert ("delete", "soon", "") in ops
    assert ("substitute", "weak", "feeble") in ops  # beyond the passage end, same sentence


def test_moved_sentences():
    src = "Alpha one two three. Beta four five six. Gamma seven eight nine."
    cpy = "Gamma seven eight nine. Alpha one two three. Beta four five six."
    # the aligner gives one passage per reordered piece; moves come from the one seam
    spans = []
    for piece in ("Gamma seven eight nine.", "Alpha one two three.", "Beta four five six."):
        c, s_ = cpy.index(piece), src.index(piece)
        spans.append((s_, s_ + len(piece), c, c + len(piece)))
    moves = find_moves(src, cpy, spans)
    assert [m.dst_span for m in moves] == [(0, len("Gamma seven eight nine."))]


def test_spin_score_and_lexical():
    assert not is_lexical_substitution("4,300", "4,500")
    assert not is_lexical_substitution("reports", "reported")
    assert is_lexical_substitution("as well as", "like")
    assert spin_score([], 100) == 0.0
    assert spin_score([("want", "wish for")], 100, {("want", "wish for"): 3}) == 2.0


def test_classify_thresholds_configurable():
    p = Params(wholly_derived=0.5, partially_derived=0.3)
    assert classify(0.6, p) == "wholly derived"
    assert classify(0.35, p) == "partially derived"
    assert classify(0.2, p) == "not derived"


def test_earliest_label_ties_and_undated():
    m = {"a": {"published_at": datetime(2026, 1, 1)}, "b": {"published_at": datetime(2026, 1, 1)},
         "c": {"published_at": None}, "d": {"published_at": datetime(2026, 1, 2)}}
    assert earliest_label(["a", "b", "d"], m) == (["a", "b"], "equally early: a, b")
    assert earliest_label(["d", "c"], m) == (["d"], "unknown — earliest dated copy is d")
    assert earliest_label(["c"], m) == ([], "unknown — no dated copy")


def test_direction_rule_clock_skew_tie_undated():
    src = {"id": "o", "publisher": "Baltic Press Agency", "text": "ASTANA (BPA) — Talks.",
           "published_at": datetime(2026, 3, 1, 10, 0)}
    cp = {"id": "c", "publisher": "Metro Chronicle", "text": "ASTANA (BPA) — Talks.",
          "published_at": datetime(2026, 3, 1, 9, 40)}  # 20 min *before* its source
    assert credits(cp["text"], "Baltic Press Agency")
    assert direction(src, cp) == (True, "clock-skew")
    far = dict(cp, published_at=datetime(2026, 3, 1, 7, 0))  # 3 h before: date wins
    assert direction(src, far) == (False, "date")
    a = {"id": "a", "publisher": "X", "text": "t", "published_at": datetime(2026, 3, 1)}
    b = {"id": "b", "publisher": "Y", "text": "t", "published_at": datetime(2026, 3, 1)}
    assert direction(a, b) == (None, "tie")
    assert direction(a, dict(b, published_at=None)) == (True, "undated")
    assert direction(dict(a, published_at=None), dict(b, published_at=None)) == (None, "unknown")


# -- composite3 fixture corpus -----------------------------------------------------------------
def test_corpus_provenance_composite3(c3):
    dp = _dp(c3)
    comp = dp["composite-1"]
    assert comp["class"] == "wholly derived" and comp["composite"] and comp["n_sources"] == 3
    assert {s["id"] for s in json.loads(comp["sources_json"])} == {"orig-01", "orig-11", "orig-24"}
    assert comp["spun"]
    # the undated reprint is derived from orig-24 only (not a composite with composite-1)
    rep = dp["undated-reprint-1"]
    assert rep["class"] == "wholly derived" and not rep["composite"]
    assert rep["earliest_source"] == "orig-24"
    # the same-event article written independently is not derived
    assert dp["orig-02"]["class"] == "not derived"
    for o in ("orig-01", "orig-11", "orig-24"):
        assert dp[o]["class"] == "not derived"
    edges = set(c3.con.execute("SELECT source_id, target_id FROM edges").fetchall())
    assert {("orig-01", "composite-1"), ("orig-11", "composite-1"), ("orig-24", "composite-1"),
            ("orig-24", "undated-reprint-1")} <= edges
    chars = c3.con.execute(
        "SELECT chars FROM edges WHERE source_id='orig-24' AND target_id='undated-reprint-1'"
    ).fetchone()[0]
    assert chars > 1300


def test_cluster_earliest_sources_composite3(c3):
    rows = c3.con.execute(
        """SELECT cp.earliest_id, cp.label, list(m.id) FROM cluster_provenance cp
           JOIN cluster_members m USING (cluster_id) GROUP BY ALL"""
    ).fetchall()
    found = {e for e, _, _ in rows}
    assert found == {"orig-01", "orig-11", "orig-24"}
    for earliest, label, _members in rows:
        assert label == earliest  # undated reprint is shown derived by its credit "(BPA)"


def test_substitution_dictionary_composite3(c3):
    truth = next(r for r in _records() if r["id"] == "composite-1")["truth"]["substitutions"]
    subs = {(s, r) for s, r, *_ in c3.con.execute("SELECT * FROM substitutions").fetchall()}
    for t in truth:
        assert (t["source"].casefold(), t["replacement"].casefold()) in subs


def test_trace_attributes_every_stitched_sentence(tmp_path):
    recs = _records()
    comp = next(r for r in recs if r["id"] == "composite-1")
    idx = Index.open(tmp_path / "x.duckdb")
    idx.add(_strip([r for r in recs if r["id"] != "composite-1"]))
    idx.build()
    _flush(idx)
    t = idx.trace(comp["text"], "composite-1")
    assert t["composite"] and t["n_sources"] == 3
    assert {g["id"] for g in t["composite_sources"]} == {"orig-01", "orig-11", "orig-24"}
    assert t["classification"] == "wholly derived"
    assert t["spin"]["spun"]
    spans = comp["truth"]["spans"]
    for s in t["sentences"]:
        truth = {sp["source_id"] for sp in spans if sp["copy_start"] <= s["start"] < sp["copy_end"]}
        assert s["sources"], s
        assert s["sources"][0]["id"] in truth
    got = {(e["source"], e["replacement"]) for e in t["edits"]}
    for sub in comp["truth"]["substitutions"]:
        assert (sub["source"], sub["replacement"]) in got
    idx.close()


def test_trace_no_source_found(c3):
    _flush(c3)
    t = c3.trace("Completely unrelated words about gardening tomatoes in small urban balconies today.")
    assert t["classification"] == "not derived" and not t["composite"]
    assert all(s["note"] == "no source found" for s in t["sentences"])


# -- demo corpus -----------------------------------------------------------------------------
def test_demo_spin_scores_separate_spun_from_reprints(demo):
    idx, recs = demo
    dp = _dp(idx)
    spun = [dp[r["id"]]["spin_score"] for r in recs if r["truth"]["kind"] == "spin"]
    verbatim = [dp[r["id"]]["spin_score"] for r in recs if r["truth"]["kind"] in ("reprint", "composite", "reorder", "delete", "insert")]
    assert min(spun) >= 2.0 and max(verbatim) < 1.0
    assert all(dp[r["id"]]["spun"] for r in recs if r["truth"]["kind"] == "spin")
    assert not any(dp[r["id"]]["spun"] for r in recs if r["truth"]["kind"] == "reprint")


def test_demo_composites_and_sources(demo):
    idx, recs = demo
    dp = _dp(idx)
    for r in recs:
        kind = r["truth"]["kind"]
        d = dp[r["id"]]
        if kind == "composite":
            got = {s["id"] for s in json.loads(d["sources_json"])}
            assert d["composite"] and got == set(r["truth"]["sources"]), r["id"]
        elif kind != "original":
            assert not d["composite"], r["id"]
            assert d["class"] == "wholly derived", r["id"]
            got = {s["id"] for s in json.loads(d["sources_json"])}
            assert got == set(r["truth"]["sources"]), r["id"]


def test_demo_reordered_copies_have_moved_sentences(demo):
    idx, recs = demo
    dp = _dp(idx)
    for r in recs:
        if r["truth"]["kind"] == "reorder":
            assert dp[r["id"]]["n_moved"] > 0
        if r["truth"]["kind"] == "reprint":
            assert dp[r["id"]]["n_moved"] == 0


def test_compute_provenance_is_idempotent(c3):
    before = c3.con.execute("SELECT count(*) FROM edges").fetchone()[0]
    compute_provenance(c3)
    assert c3.con.execute("SELECT count(*) FROM edges").fetchone()[0] == before


def test_shared_quotations_do_not_make_a_document_derived():
    from newstrace.provenance import derived_share, quotation_mask

    text = 'The minister said: “We will cut the tariffs on steel and aluminium by half next year.” Markets rose.'
    reused = quotation_mask(text)  # only the quotation is shared with another outlet
    assert reused.sum() > 0.5 * len(text)
    assert derived_share(text, reused) == 0.0
    copied = np.zeros(len(text), dtype=bool)
    copied[:] = True  # a wholesale reprint still counts, outside the quotation
    assert derived_share(text, copied) > 0.1


# -- same-event reports are not derived (BASIL-style false positives) -----------------------

_Q1 = "“We will not accept any deal that leaves our workers behind, and we will fight it in court,”"
_Q2 = "“This is a sad day for every family in this state,”"


def _shares(copy: str, source: str, spans):
    from newstrace.provenance import derived_share

    mask = np.zeros(len(copy), dtype=bool)
    for t0, t1, _, _ in spans:
        mask[t0:t1] = True
    return derived_share(copy, mask), derived_share(copy, mask, [(source, spans)])


def test_glued_quotations_and_attributions_are_not_copied_prose():
    # two outlets quote the same two sentences with their own reporting text between
    a = (f"Governor Jane Smith attacked the plan on Monday. {_Q1} Smith, a Democrat, "
         f"said at a rally in the capital. {_Q2} she added.")
    b = (f"The plan drew fire. {_Q1} Gov. Jane Smith said in a statement. {_Q2} "
         "Smith said, according to aides.")
    spans = [(a.index(_Q1), a.index(_Q2) + len(_Q2), b.index(_Q1), b.index(_Q2) + len(_Q2))]
    whole_span, copied = _shares(a, b, spans)
    assert whole_span > 0.1  # the old measure: the reporting text between counted
    assert copied == 0.0


def test_names_and_titles_alone_are_not_copied_prose():
    a = "Susan Rice, President Barack Obama's national security adviser, criticized the speech."
    b = "Susan E. Rice, President Obama's national security adviser, said the speech hurt ties."
    spans = [(0, a.index(" criticized"), 0, b.index(" said"))]
    assert _shares(a, b, spans)[1] == 0.0


def test_copied_prose_still_counts_and_spun_copies_stay_wholly_derived():
    from newstrace.fixtures import spin
    from newstrace.provenance import classify

    src = ("The city council voted on Tuesday to close the old harbour bridge to heavy lorries "
           "after engineers found cracks in two of its steel supports. Buses will be diverted "
           "over the northern crossing for at least three months while repairs are planned. "
           "“We cannot take any risk,” the mayor said.")
    whole, copied = _shares(src, src, [(0, len(src), 0, len(src))])
    assert whole == 1.0 and copied > 0.9  # a reprint: all but the attribution "the mayor said"
    import random

    spun_text, subs = spin(src, 0.4, random.Random(3))
    assert subs
    _, share = _shares(spun_text, src, [(0, len(spun_text), 0, len(src))])
    assert classify(share, Params()) == "wholly derived", share


def test_prose_the_source_quotes_is_not_copied_from_it():
    # B quotes A's paragraph (a block quotation after a colon): A did not copy B
    para = ("There was one problem: the senator never served overseas, and records show he "
            "obtained five deferments between 1965 and 1970 to avoid the war.")
    a = f"Officials met on Monday. {para} The campaign disputed the account."
    b = f"Here is an excerpt from the report:\n\n{para}\n\nThe campaign disputed it."
    spans = [(a.index(para), a.index(para) + len(para), b.index(para), b.index(para) + len(para))]
    assert _shares(a, b, spans)[1] == 0.0
    assert _shares(b, a, [(s2, e2, s1, e1) for s1, e1, s2, e2 in spans])[1] == 0.0


def test_quotation_mask_pairs_mixed_marks_and_paragraphs():
    from newstrace.provenance import quotation_mask

    text = '“For the record, I love my sister," she wrote.\n\n"Freedom means freedom," she said.'
    mask = quotation_mask(text)
    assert text[mask.nonzero()[0][0]] == "“" and not mask[text.index("she wrote")]
    assert mask[text.index("Freedom")] and not mask[text.index("she said")]
    # a quotation continued into the next paragraph ends at its paragraph's end
    cont = '“First part of the quote.\n\n“Second part,” he said.'
    m = quotation_mask(cont)
    assert m[cont.index("First")] and not m[cont.index("he said")]


def test_the_copy_repeated_word_for_word_leads_its_group():
    """A reprint of an original, and a spun copy of that original published before the
    reprint: both cover the reprint, the spun one by a paragraph break more (its passage
    spans two paragraphs). The reprint repeats the original word for word: it leads."""
    import numpy as np

    from newstrace.provenance import exact_share, group_sources, lead_by_fidelity

    original = "Rain fell on Porto.\n\nThe river rose six metres."
    spun = "Rain decreased on Porto.\n\nThe stream rose six metres."
    reprint = original
    masks = {"orig": np.ones(len(reprint), bool), "spun": np.ones(len(reprint), bool)}
    masks["orig"][19:21] = False  # the paragraph break between its two passages
    spans = {"orig": [(0, 19, 0, 19), (21, 47, 21, 47)], "spun": [(0, 47, 0, len(spun))]}
    texts = {"orig": original, "spun": spun}
    groups = group_sources(masks, ["spun", "orig"])  # by coverage: the spun copy first
    assert groups == [["spun", "orig"]]
    lead_by_fidelity(groups, masks, lambda s: exact_share(reprint, texts[s], spans[s]))
    assert groups == [["orig", "spun"]]
    # equals keep the ranking; a member covering much less never leads
    masks["orig"][:30] = False
    groups = group_sources(masks, ["spun", "orig"])
    lead_by_fidelity(groups, masks, lambda s: exact_share(reprint, texts[s], spans[s]))
    assert groups[0][0] == "spun"
