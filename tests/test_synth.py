"""The test-set generator: determinism, exact ground-truth offsets, readable by run_pan."""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import datetime
from pathlib import Path

import pytest

from newstrace.errors import UserError
from newstrace.evaluate import load_pan, run_pan
from newstrace.synth import TYPES, read_corpus, sentences, spin, synonym_table, synthesize

REUTERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578.jsonl.gz"

_VOCAB_TEXT = """government minister officials economy market prices company shares bank rates
report increase decline production exports imports trade agreement talks president country week
month growth demand supply oil gold wheat coffee sugar shipping port strike workers union
court ruling election vote party leaders capital investment profit loss quarter dividend
earnings analysts forecast inflation currency dollar yen sterling bonds treasury budget
deficit surplus tax reform Russia China Japan Germany France Britain Brazil Canada Mexico
India"""
VOCAB = _VOCAB_TEXT.split()
_VERBS_TEXT = "said reported announced expected rose fell agreed rejected approved warned"
VERBS = _VERBS_TEXT.split()


def _corpus(n: int = 120, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        sents = []
        for _ in range(rng.randint(4, 10)):
            words = [rng.choice(VOCAB) for _ in range(rng.randint(6, 14))]
            words.insert(rng.randint(1, len(words) - 1), rng.choice(VERBS))
            sents.append(" ".join(words).capitalize() + ".")
        rows.append({"id": f"d{i}", "text": "\n".join(sents) + "\n",
                     "published_at": f"1987-03-{1 + i % 28:02d}T10:00:00"})
    return rows


def _read(d: Path, name: str) -> list[dict]:
    with gzip.open(d / name, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(_corpus(), out, seed=11, rate=0.3, sources=3, count=6)
    return out


def _words(s: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", s.lower())


def test_deterministic_for_a_seed(tmp_path, synth_dir):
    synthesize(_corpus(), tmp_path / "again", seed=11, rate=0.3, sources=3, count=6)
    synthesize(_corpus(), tmp_path / "other", seed=12, rate=0.3, sources=3, count=6)
    for name in ("documents.jsonl.gz", "pairs.jsonl.gz"):
        assert (synth_dir / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert (synth_dir / "pairs.jsonl.gz").read_bytes() != \
        (tmp_path / "other" / "pairs.jsonl.gz").read_bytes()


def test_truth_offsets(synth_dir):
    docs = {d["id"]: d for d in _read(synth_dir, "documents.jsonl.gz")}
    pairs = _read(synth_dir, "pairs.jsonl.gz")
    kinds = {p["obfuscation"] for p in pairs}
    assert kinds == set(TYPES)
    for p in pairs:
        susp, src = docs[p["suspicious"]]["text"], docs[p["source"]]["text"]
        kind = p["obfuscation"]
        if kind == "none":
            assert p["cases"] == []
            continue
        assert docs[p["suspicious"]]["published_at"] > docs[p["source"]]["published_at"]
        (c,) = p["cases"]
        got = susp[c["susp_offset"]:c["susp_offset"] + c["susp_length"]]
        orig = src[c["src_offset"]:c["src_offset"] + c["src_length"]]
        # both ends sit on word boundaries, at sentence edges of the source
        assert got == got.strip() and orig == orig.strip()
        assert orig[-1] in ".!?\"'" and orig[0].isupper()
        before = susp[:c["susp_offset"]]
        assert before == "" or before[-1].isspace()
        if kind in ("verbatim", "composite"):
            assert got == orig
        elif kind == "spin":
            assert got != orig
            assert len(_words(got)) >= len(_words(orig)) * 0.7
        elif kind == "reorder":
            src_sents = [orig[s:e] for s, e in sentences(orig)]
            assert got != orig and sorted(src_sents) == sorted(got[s:e] for s, e in sentences(got))
        elif kind == "insert":
            assert all(orig[s:e] in got for s, e in sentences(orig))
            assert len(got) > len(orig)
        elif kind == "delete":
            assert all(got[s:e] in orig for s, e in sentences(got))
            assert len(got) < len(orig)
        if kind == "composite":
            for off, length in c["sentences"]:
                assert susp[off:off + length] in orig


def test_composites_have_k_sources_dated_earlier(synth_dir):
    docs = {d["id"]: d for d in _read(synth_dir, "documents.jsonl.gz")}
    by_doc: dict[str, list[str]] = {}
    for p in _read(synth_dir, "pairs.jsonl.gz"):
        if p["obfuscation"] == "composite":
            by_doc.setdefault(p["suspicious"], []).append(p["source"])
    assert len(by_doc) == 6 and all(len(set(v)) == 3 for v in by_doc.values())
    for t, srcs in by_doc.items():
        when = datetime.fromisoformat(docs[t]["published_at"])
        assert all(datetime.fromisoformat(docs[s]["published_at"]) < when for s in srcs)


def test_run_pan_reads_synth_output(synth_dir):
    import difflib

    from newstrace.model import Passage

    def exact_blocks(a, b, params=None):
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return [Passage(m.a, m.a + m.size, m.b, m.b + m.size, 1.0)
                for m in sm.get_matching_blocks() if m.size >= 40]

    corpus = load_pan(synth_dir)
    assert len(corpus.pairs) == 6 * 6 + 6 * 3
    run = run_pan(corpus, workers=1, aligner=exact_blocks, types=["verbatim", "none"])
    assert run.evaluation.by_type["verbatim"].recall > 0.95
    assert run.negative_detections == 0


def test_spin_rate_and_multiword():
    table = synonym_table()
    assert "Russian Federation" in table["russia"]
    text = ("Russia wants to take part in the talks, officials said on Monday. "
            "The government currently expects exports to increase as well as imports. ") * 4
    words = len(_words(text))
    res = spin(text, 0.3, random.Random(5))
    assert abs(res.replaced / res.words - 0.3) < 0.08 and res.words == words
    multi = [(a, b) for a, b in res.substitutions if " " in a or " " in b]
    assert multi, res.substitutions
    # Russia -> Russian Federation occurs for some seed
    assert any(("Russia", "Russian Federation") in spin("Russia and Russia.", 1.0,
                                                        random.Random(s)).substitutions
               for s in range(60))
    assert spin(text, 0.0, random.Random(1)).text == text


def test_bad_options(tmp_path):
    with pytest.raises(UserError):
        synthesize(_corpus(10), tmp_path, types=["nonsense"])
    with pytest.raises(UserError):
        synthesize(_corpus(10), tmp_path, count=50)  # too few articles
    with pytest.raises(UserError):
        read_corpus(tmp_path / "nope.jsonl")


@pytest.mark.skipif(not REUTERS.is_file(), reason=f"{REUTERS} absent")
def test_reuters_sample(tmp_path):
    rows = read_corpus(REUTERS)[:600]
    rep = synthesize(rows, tmp_path, seed=1, count=5, rate=0.3)
    assert rep.pairs["composite"] == 15 and 0.2 < rep.spin_rate <= 0.4
    assert load_pan(tmp_path).pairs
