"""PAN measures: hand-computed values, agreement with the reference scorer, run_pan plumbing."""

from __future__ import annotations

import gzip
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from newstrace.errors import UserError
from newstrace.evaluate import (
    Ann,
    evaluate,
    granularity,
    load_pan,
    loss_breakdown,
    losses_by_type,
    plagdet,
    precision,
    recall,
    run_pan,
    score,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
PAN_DIR = SHARED / "data" / "pan13-train"
REFERENCE = SHARED / "tools" / "pan_measures.py"

needs_pan = pytest.mark.skipif(
    not (PAN_DIR / "pairs.jsonl.gz").is_file() or not REFERENCE.is_file(),
    reason=f"PAN data or reference scorer absent (expected {PAN_DIR} and {REFERENCE})",
)

# Annotations from the examples in the unit tests of PAN's official script.
A1 = Ann("t1", 0, 100, "s1", 0, 100)
A3 = Ann("t1", 100, 100, "s1", 100, 100)
A4 = Ann("t1", 0, 200, "s1", 0, 200)
A7 = Ann("t2", 0, 100, "s2", 0, 100)
A9 = Ann("t2", 50, 100, "s2", 50, 100)
A10 = Ann("t2", 25, 75, "s2", 25, 75)


@pytest.mark.parametrize(
    "cases, dets, want",
    [
        ([], [], 1), ([A1], [], 0), ([], [A1], 0), ([A1], [A1], 1), ([A1, A7], [A1], 0.5),
        ([A1], [A7], 0), ([A7], [A9], 0.5), ([A7], [A10], 0.75), ([A7], [A9, A10], 0.75),
        ([A1], [A4, A7], 1), ([A1], [A3], 0),
    ],
)
def test_recall_hand_computed(cases, dets, want):
    assert recall(cases, dets) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(
    "cases, dets, want",
    [([A1, A7], [A1], 1), ([A1], [A4], 0.5), ([A7], [A10], 1), ([A7], [A9, A10], 0.75),
     ([A1], [A3, A4], 0.25)],
)
def test_precision_hand_computed(cases, dets, want):
    assert precision(cases, dets) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(
    "cases, dets, want",
    [([], [], 1), ([A1], [A3, A4], 1), ([A1], [A1, A3, A4], 2), ([A1, A3], [A1, A4], 1.5)],
)
def test_granularity_hand_computed(cases, dets, want):
    assert granularity(cases, dets) == pytest.approx(want, abs=1e-12)


def test_plagdet_values():
    assert plagdet(1, 1, 1) == 1
    assert plagdet(1, 1, 2) == pytest.approx(0.6309297536, abs=1e-9)  # 1 / log2(3)
    assert plagdet(1, 0.5, 1) == pytest.approx(2 / 3)
    assert plagdet(0, 0, 1) == 0
    assert plagdet(0.75, 0.25, 2) == pytest.approx(0.375 / math.log2(3))


def test_case_split_in_two_detections():
    # one case of 100+100 chars found as two halves: P = R = 1, granularity 2 -> 0.631
    case = Ann("t", 10, 100, "s", 0, 100)
    halves = [Ann("t", 10, 50, "s", 0, 50), Ann("t", 60, 50, "s", 50, 50)]
    s = score([case], halves)
    assert (s.precision, s.recall, s.granularity) == (1, 1, 2)
    assert s.plagdet == pytest.approx(0.631, abs=5e-4)


def test_partial_detection_hand_computed():
    # case 100+100 chars; detection covers suspicious 50..150 and source 0..100:
    # recall = (50 + 100) / 200, precision = (50 + 100) / 200
    case = Ann("t", 0, 100, "s", 0, 100)
    det = Ann("t", 50, 100, "s", 0, 100)
    s = score([case], [det])
    assert s.recall == pytest.approx(0.75) and s.precision == pytest.approx(0.75)
    assert s.plagdet == pytest.approx(0.75)


def test_duplicates_counted_once_and_other_pairs_ignored():
    case = Ann("t", 0, 100, "s", 0, 100)
    assert score([case, case], [case, case]).detections == 1
    ev = evaluate({("t", "s"): "verbatim"}, [case],
                  [case, Ann("x", 0, 5, "y", 0, 5), Ann("t", 3, 0, "s", 3, 0)])
    assert ev.overall.plagdet == 1
    assert ev.unlisted_detections == 1 and ev.empty_detections == 1


def test_negative_group_scores():
    pt = {("t", "s"): "none", ("u", "v"): "verbatim"}
    case = Ann("u", 0, 10, "v", 0, 10)
    clean = evaluate(pt, [case], [case])
    assert clean.by_type["none"].plagdet == 1 and clean.overall.plagdet == 1
    noisy = evaluate(pt, [case], [case, Ann("t", 0, 10, "s", 0, 10)])
    assert noisy.by_type["none"].plagdet == 0
    assert noisy.overall.precision == pytest.approx(0.5)


def test_loss_breakdown_hand_computed():
    # case 100+100 chars. d1 overlaps it: suspicious 50..150 (50 chars beyond the case),
    # source 0..120 (20 beyond); d2 lies outside every case; the second case is missed.
    case, missed = Ann("t", 0, 100, "s", 0, 100), Ann("t", 900, 100, "s", 900, 100)
    d1, d2 = Ann("t", 50, 100, "s", 0, 120), Ann("t", 500, 40, "s", 500, 60)
    loss = loss_breakdown([case, missed], [d1, d2])
    assert loss.outside == pytest.approx(1 / 2) and loss.outside_detections == 1
    assert loss.susp_excess == pytest.approx(50 / 220 / 2)
    assert loss.src_excess == pytest.approx(20 / 220 / 2)
    assert loss.missed == pytest.approx(1 / 2) and loss.missed_cases == 1
    assert loss.susp_partial == pytest.approx(50 / 200 / 2) and loss.src_partial == 0
    # without the outside detection: precision of d1 alone, same recall
    assert loss.listed_only.precision == pytest.approx(150 / 220)
    assert loss.listed_only.recall == pytest.approx(recall([case, missed], [d1]))


def test_losses_by_type_groups_cases_and_detections_of_the_given_pairs():
    from newstrace.evaluate import PanPair
    c1, c2 = Ann("t", 0, 100, "s", 0, 100), Ann("u", 0, 100, "v", 0, 100)
    pairs = [PanPair("t", "s", "verbatim", [c1]), PanPair("u", "v", "random", [c2])]
    # a detection on a pair not given (not aligned under --limit) is left out
    dets = [c1, Ann("u", 500, 10, "v", 500, 10), Ann("x", 0, 10, "y", 0, 10)]
    by = losses_by_type(pairs, dets)
    assert list(by) == ["verbatim", "random"]
    assert by["verbatim"].outside == 0 and by["verbatim"].missed == 0
    assert by["random"].outside_detections == 1 and by["random"].missed_cases == 1
    assert by["random"].listed_only.pairs == 1


def test_loss_parts_add_up_to_the_measured_losses():
    rng = random.Random(3)
    for _ in range(200):
        cases, dets = [], []
        for _ in range(rng.randint(0, 4)):
            o, r = rng.randrange(0, 2000, 10), rng.randrange(0, 2000, 10)
            cases.append(Ann("t", o, rng.randint(1, 300), "s", r, rng.randint(1, 300)))
        for _ in range(rng.randint(0, 5)):
            base = rng.choice(cases) if cases and rng.random() < 0.7 else Ann("t", 0, 0, "s", 0, 0)
            dets.append(Ann("t", max(0, base.susp_offset + rng.randint(-80, 80)), rng.randint(1, 400),
                            "s", max(0, base.src_offset + rng.randint(-80, 80)), rng.randint(1, 400)))
        loss, sc = loss_breakdown(cases, dets), score(cases, dets)
        if dets:
            assert loss.outside + loss.susp_excess + loss.src_excess == pytest.approx(1 - sc.precision)
        if cases:
            assert loss.missed + loss.susp_partial + loss.src_partial == pytest.approx(1 - sc.recall)
            assert loss.listed_only.recall == pytest.approx(sc.recall)


# --------------------------------------------------------------------------- reference agreement


def _random_detections(rng: random.Random, pairs: list[dict], docs_len: dict[str, int]) -> list:
    dets = []
    for p in pairs:
        s, r = p["suspicious"], p["source"]
        ls, lr = docs_len[s], docs_len[r]
        for c in p["cases"]:
            kind = rng.random()
            so, sl, ro, rl = c["susp_offset"], c["susp_length"], c["src_offset"], c["src_length"]
            if kind < 0.25:
                dets.append((s, so, sl, r, ro, rl))  # exact
            elif kind < 0.55:  # shifted / resized
                a = max(0, so + rng.randint(-200, 200))
                b = max(0, ro + rng.randint(-200, 200))
                dets.append((s, a, max(1, sl + rng.randint(-300, 300)),
                             r, b, max(1, rl + rng.randint(-300, 300))))
            elif kind < 0.8:  # split into pieces, possibly overlapping
                k = rng.randint(2, 4)
                for i in range(k):
                    dets.append((s, so + i * sl // k, sl // k + rng.randint(0, 40),
                                 r, ro + i * rl // k, rl // k + rng.randint(0, 40)))
            elif kind < 0.9:
                dets.append((s, so, sl, r, ro, rl))
                dets.append((s, so, sl, r, ro, rl))  # duplicate
            # else: missed
        for _ in range(rng.choice([0, 0, 0, 1, 2])):  # noise anywhere in the pair
            a, b = rng.randrange(ls), rng.randrange(lr)
            dets.append((s, a, rng.randint(1, 800), r, b, rng.randint(0, 800)))
    dets.append(("nobody", 0, 10, "nothing", 0, 10))  # pair not listed
    dets.append((pairs[0]["suspicious"], 5, 0, pairs[0]["source"], 5, 0))  # zero length
    return dets


@needs_pan
def test_agrees_with_reference_scorer(tmp_path):
    rng = random.Random(7)
    with gzip.open(PAN_DIR / "pairs.jsonl.gz", "rt", encoding="utf-8") as f:
        all_pairs = [json.loads(line) for line in f]
    by_type: dict[str, list[dict]] = {}
    for p in all_pairs:
        by_type.setdefault(p["obfuscation"], []).append(p)
    subset = [p for ps in by_type.values() for p in rng.sample(ps, min(40, len(ps)))]
    needed = {p["suspicious"] for p in subset} | {p["source"] for p in subset}
    docs_len = {}
    with gzip.open(PAN_DIR / "documents.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["id"] in needed:
                docs_len[d["id"]] = len(d["text"])
    truth = tmp_path / "truth"
    truth.mkdir()
    with gzip.open(truth / "pairs.jsonl.gz", "wt", encoding="utf-8") as f:
        for p in subset:
            f.write(json.dumps(p) + "\n")
    dets = _random_detections(rng, subset, docs_len)
    assert len(dets) >= 200
    det_path = tmp_path / "dets.jsonl"
    keys = ("suspicious", "susp_offset", "susp_length", "source", "src_offset", "src_length")
    det_path.write_text("".join(json.dumps(dict(zip(keys, d, strict=True))) + "\n" for d in dets))
    out = tmp_path / "ref.json"
    subprocess.run([sys.executable, str(REFERENCE), str(truth), str(det_path), "--json", str(out)],
                   check=True, capture_output=True)
    ref = json.loads(out.read_text())

    pair_types = {(p["suspicious"], p["source"]): p["obfuscation"] for p in subset}
    cases = [Ann(p["suspicious"], c["susp_offset"], c["susp_length"],
                 p["source"], c["src_offset"], c["src_length"]) for p in subset for c in p["cases"]]
    ours = evaluate(pair_types, cases, [Ann(*d) for d in dets])
    assert ours.unlisted_detections == ref["ignored"]["unlisted_pair"]
    assert ours.empty_detections == ref["ignored"]["zero_length"]
    groups = {**ours.by_type, "overall": ours.overall}
    assert set(groups) == set(ref["results"])
    for name, s in groups.items():
        r = ref["results"][name]
        for m in ("precision", "recall", "granularity", "plagdet"):
            assert abs(getattr(s, m) - r[m]) < 1e-9, (name, m, getattr(s, m), r[m])
        assert (s.cases, s.detections, s.pairs) == (r["cases"], r["detections"], r["pairs"])
    # the generated detections must exercise imperfect scores
    assert 0.2 < ours.overall.plagdet < 0.95


# --------------------------------------------------------------------------- run_pan plumbing


def _oracle_aligner(a: str, b: str, params=None):
    """A stand-in aligner for the tests: exact common blocks of 60+ characters (difflib)."""
    import difflib

    from newstrace.model import Passage

    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [Passage(m.a, m.a + m.size, m.b, m.b + m.size, 1.0)
            for m in sm.get_matching_blocks() if m.size >= 60]


def _write_pan(d: Path, docs: dict[str, str], pairs: list[dict]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    with gzip.open(d / "documents.jsonl.gz", "wt", encoding="utf-8") as f:
        for k, v in docs.items():
            f.write(json.dumps({"id": k, "text": v}) + "\n")
    with gzip.open(d / "pairs.jsonl.gz", "wt", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")


def test_run_pan_on_tiny_corpus(tmp_path):
    passage = "The quick brown fox jumps over the lazy dog near the riverbank today. " * 2
    src = "Completely unrelated opening words here. " + passage + "Then other things."
    susp = "Some preface of the suspicious text. " + passage + "And an ending."
    other = "Nothing in common at all with any of these documents, just filler text."
    docs = {"s1": src, "t1": susp, "s2": other, "t2": "Another lone text without reuse."}
    pairs = [
        {"suspicious": "t1", "source": "s1", "obfuscation": "verbatim",
         "cases": [{"susp_offset": susp.index(passage), "susp_length": len(passage),
                    "src_offset": src.index(passage), "src_length": len(passage)}]},
        {"suspicious": "t2", "source": "s2", "obfuscation": "none", "cases": []},
    ]
    _write_pan(tmp_path / "pan", docs, pairs)
    out = tmp_path / "dets.jsonl"
    run = run_pan(tmp_path / "pan", workers=1, aligner=_oracle_aligner, detections_out=out)
    assert run.pairs == 2 and run.negative_pairs == 1 and run.negative_detections == 0
    assert run.evaluation.by_type["verbatim"].recall > 0.95
    assert run.evaluation.overall.precision > 0.95
    assert len(out.read_text().splitlines()) == len(run.detections) >= 1
    two = run_pan(tmp_path / "pan", workers=2, aligner=_oracle_aligner)
    assert two.evaluation.to_dict() == run.evaluation.to_dict()
    assert two.worker_cpu_s > 0
    assert run_pan(tmp_path / "pan", workers=1, aligner=_oracle_aligner,
                   types=["none"]).pairs == 1


def test_load_pan_errors(tmp_path):
    with pytest.raises(UserError):
        load_pan(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="documents"):
        load_pan(tmp_path / "empty")
    _write_pan(tmp_path / "bad", {"a": "x"},
               [{"suspicious": "a", "source": "zz", "obfuscation": "none", "cases": []}])
    with pytest.raises(UserError, match="zz"):
        load_pan(tmp_path / "bad")


def test_quoted_share_and_basil(tmp_path):
    from newstrace.evaluate import quoted_share, run_basil

    text = 'He said "we will win this race" and left.'
    s = text.index("we")
    assert quoted_share(text, s, s + len("we will win")) == 1
    assert quoted_share(text, 0, 7) == 0
    # mixed marks pair up, as in the engine's derived share (provenance.quotation_mask)
    mixed = '“we agree," he said.'
    assert quoted_share(mixed, 0, mixed.index(" he")) == 1
    quote = "“I am not going to resign from this office under any circumstances,” she said."
    rows = [
        {"id": "e1_1", "event": "e1", "outlet": "fox", "text": "Fox lead. " + quote},
        {"id": "e1_2", "event": "e1", "outlet": "nyt", "text": "Times lead text. " + quote},
        {"id": "e1_3", "event": "e1", "outlet": "hpo", "text": "Nothing shared here at all."},
    ]
    path = tmp_path / "basil.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = run_basil(path, aligner=_oracle_aligner)
    assert run.pairs == 3 and run.pairs_with_passages == 1
    assert run.quoted_passages == 1 and run.pairs_with_unquoted == 0
    assert "resign" in run.passages[0]["a_text"]


def test_basil_glued_quotations_are_not_called_derived(tmp_path):
    from newstrace.evaluate import run_basil
    from newstrace.model import Passage

    q1 = "“We will not accept any deal that leaves our workers behind, and we will fight it,”"
    q2 = "“This is a sad day for every family in this state and beyond,”"
    a = f"Governor Smith attacked the plan. {q1} Smith said at a rally. {q2} she added."
    b = f"The plan drew fire. {q1} Gov. Jane Smith said in a statement. {q2} Smith said."

    def glue(x, y, params=None):  # an aligner that bridges the reporting text between
        return [Passage(x.index(q1), x.index(q2) + len(q2), y.index(q1), y.index(q2) + len(q2), 1.0)]

    rows = [{"id": "e_1", "event": "e", "outlet": "fox", "text": a},
            {"id": "e_2", "event": "e", "outlet": "nyt", "text": b}]
    path = tmp_path / "basil.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = run_basil(path, aligner=glue)
    assert run.pairs_with_passages == 1 and run.pairs_called_derived == 0
    assert run.max_reused_share == 0.0


def test_sensitive_preset_switches_on_the_lax_sentence_seed_stage() -> None:
    from newstrace.evaluate import SENSITIVE_OVERRIDES, sensitive_params
    from newstrace.params import DEFAULT_PARAMS

    p = sensitive_params()
    assert p.sentence_seeds and p.sp_min_cos <= 0.33 and p.sp_min_dice <= 0.33
    assert p.sp_summary_gap > 0 and p.short_min_matched > 0
    assert p.topic_contrast == 0 < DEFAULT_PARAMS.topic_contrast  # the lax stages, unguarded
    assert {k: getattr(p, k) for k in SENSITIVE_OVERRIDES} == SENSITIVE_OVERRIDES
    # everything else stays as given
    base = DEFAULT_PARAMS.with_overrides(min_matched_tokens=20)
    assert sensitive_params(base).min_matched_tokens == 20


def test_eval_pan_offers_the_sensitive_option() -> None:
    from typer.testing import CliRunner

    from newstrace.cli import app

    out = CliRunner().invoke(app, ["eval", "pan", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "--sensitive" in out.output
    assert "--no-join" in out.output


def test_join_detections_joins_swapped_neighbours_not_distant_copies() -> None:
    """A pair's detections close on both sides (either order: swapped sentences) are
    one PAN detection; a copy from a distant place of the source stays apart."""
    from newstrace.evaluate import join_detections

    swapped = [(1000, 1300, 5400, 5700), (1310, 1600, 5000, 5390)]  # B order crosses
    assert join_detections(swapped) == [(1000, 1600, 5000, 5700)]
    assert join_detections(swapped, -1, -1) == sorted(swapped)  # off
    distant = [(1000, 1300, 500, 800), (1310, 1600, 9000, 9300)]  # adjacent in A only
    assert join_detections(distant) == distant
    far_a = [(1000, 1300, 500, 800), (2000, 2300, 810, 1100)]  # adjacent in B only
    assert join_detections(far_a) == far_a
    # chains: a joined detection can reach a third one
    chain = [(0, 100, 0, 100), (150, 250, 150, 250), (300, 400, 300, 400)]
    assert join_detections(chain, 60, 60) == [(0, 400, 0, 400)]
    assert join_detections([]) == []
