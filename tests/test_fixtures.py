"""Tests for the deterministic demo corpus and ground-truth derivations."""

from __future__ import annotations

import importlib.util
import json
import random
from datetime import datetime
from pathlib import Path

import pytest

from newstrace import fixtures
from newstrace.fixtures import (
    SPIN_DICTIONARY,
    composite,
    delete_sentences,
    demo_corpus,
    insert_sentences,
    load_originals,
    reorder_paragraphs,
    reprint,
    sentence_spans,
    spin,
    spin_candidates,
    spin_derived,
)


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return demo_corpus()


@pytest.fixture(scope="module")
def originals() -> list[dict]:
    return load_originals()


def check_spans(copy: str, sources: list[str], derived: fixtures.Derived) -> None:
    """Every span slices correctly; verbatim spans are equal on both sides."""
    for sp in derived.spans:
        src = sources[sp["source_index"]]
        assert 0 <= sp["source_start"] <= sp["source_end"] <= len(src)
        assert 0 <= sp["copy_start"] <= sp["copy_end"] <= len(copy)
        if sp["verbatim"]:
            assert (
                copy[sp["copy_start"] : sp["copy_end"]]
                == src[sp["source_start"] : sp["source_end"]]
            )
    for sub in derived.substitutions:
        src = sources[sub.get("source_index", 0)]
        assert src[sub["source_start"] : sub["source_end"]] == sub["source"]
        assert copy[sub["copy_start"] : sub["copy_end"]] == sub["replacement"]


# --------------------------------------------------------------------------- originals


def test_originals_shape(originals: list[dict]) -> None:
    assert 28 <= len(originals) <= 32
    publishers = {o["publisher"] for o in originals}
    assert len(publishers) >= 8
    for o in originals:
        words = len(o["text"].split())
        assert 180 <= words <= 450, o["id"]
        assert 4 <= len(o["text"].split("\n\n")) <= 8, o["id"]
        assert o["url"].startswith("https://example-") and ".test/" in o["url"]
        dt = datetime.fromisoformat(o["published_at"])
        assert dt.tzinfo is not None
        assert "2026-03-01" <= dt.date().isoformat() <= "2026-03-20"
    assert any(not o["text"].isascii() for o in originals)


def test_same_event_groups(originals: list[dict]) -> None:
    groups: dict[str, list[str]] = {}
    for o in originals:
        if o.get("same_event_group"):
            groups.setdefault(o["same_event_group"], []).append(o["id"])
    assert len(groups) == 4
    assert all(2 <= len(ids) <= 3 for ids in groups.values())


def test_same_event_articles_share_little_text(originals: list[dict]) -> None:
    """Independent same-event articles share no 8-word run outside the one quotation."""
    groups: dict[str, list[dict]] = {}
    for o in originals:
        if o.get("same_event_group"):
            groups.setdefault(o["same_event_group"], []).append(o)

    def grams(text: str) -> set[tuple[str, ...]]:
        words = [w.strip(".,“”\"'’:;—-").lower() for w in text.split()]
        return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}

    for members in groups.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                shared = grams(a["text"]) & grams(b["text"])
                # one shared quotation of <= 25 words yields at most 18 shared 8-grams
                assert len(shared) <= 18, (a["id"], b["id"], len(shared))


# --------------------------------------------------------------------------- corpus


def test_determinism() -> None:
    assert demo_corpus(42) == demo_corpus(42)
    assert demo_corpus(7) == demo_corpus(7)
    assert demo_corpus(42) != demo_corpus(7)


def test_ids_unique_and_counts(corpus: list[dict]) -> None:
    ids = [r["id"] for r in corpus]
    assert len(ids) == len(set(ids))
    kinds: dict[str, int] = {}
    for r in corpus:
        kinds[r["truth"]["kind"]] = kinds.get(r["truth"]["kind"], 0) + 1
    assert kinds["original"] == len(load_originals())
    assert kinds["reprint"] >= 12 and kinds["spin"] == 10 and kinds["composite"] == 6
    assert kinds["reorder"] == 5 and kinds["insert"] + kinds["delete"] >= 5
    assert 38 <= len(corpus) - kinds["original"] <= 45
    assert sum(r["published_at"] is None for r in corpus) == 2
    assert any("chain_origin" in r["truth"] for r in corpus)


def test_truth_spans_slice(corpus: list[dict]) -> None:
    by_id = {r["id"]: r for r in corpus}
    for r in corpus:
        truth = r["truth"]
        for sp in truth["spans"]:
            src = by_id[sp["source_id"]]["text"]
            assert sp["source_id"] in truth["sources"]
            assert 0 <= sp["copy_start"] < sp["copy_end"] <= len(r["text"])
            assert 0 <= sp["source_start"] < sp["source_end"] <= len(src)
            if sp["verbatim"]:
                assert (
                    r["text"][sp["copy_start"] : sp["copy_end"]]
                    == src[sp["source_start"] : sp["source_end"]]
                )
        for sub in truth["substitutions"]:
            src = by_id[sub["source_id"]]["text"]
            assert src[sub["source_start"] : sub["source_end"]] == sub["source"]
            assert r["text"][sub["copy_start"] : sub["copy_end"]] == sub["replacement"]
        if truth["kind"] == "original":
            assert truth["spans"] == [] and truth["sources"] == []
        else:
            assert truth["spans"], r["id"]


def test_spin_copies_reconstruct(corpus: list[dict]) -> None:
    """Undoing the substitutions of a spun copy gives back its source exactly."""
    by_id = {r["id"]: r for r in corpus}
    for r in corpus:
        if r["truth"]["kind"] != "spin":
            continue
        text = r["text"]
        for sub in sorted(r["truth"]["substitutions"], key=lambda s: -s["copy_start"]):
            text = text[: sub["copy_start"]] + sub["source"] + text[sub["copy_end"] :]
        assert text == by_id[r["truth"]["sources"][0]]["text"]


def test_derived_dated_after_sources(corpus: list[dict]) -> None:
    by_id = {r["id"]: r for r in corpus}
    for r in corpus:
        if r["truth"]["kind"] == "original" or r["published_at"] is None:
            continue
        mine = datetime.fromisoformat(r["published_at"])
        for sid in r["truth"]["sources"]:
            theirs = by_id[sid]["published_at"]
            assert theirs is not None
            assert mine > datetime.fromisoformat(theirs), (r["id"], sid)
        assert r["publisher"] not in {by_id[s]["publisher"] for s in r["truth"]["sources"]}


def test_write_demo_corpus(tmp_path) -> None:
    path = tmp_path / "demo.jsonl"
    n = fixtures.write_demo_corpus(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert n == len(lines) == len(demo_corpus())


# --------------------------------------------------------------------------- spinner


def test_spin_dictionary_size_and_examples() -> None:
    assert len(SPIN_DICTIONARY) >= 250
    assert "Russian Federation" in SPIN_DICTIONARY["russia"]
    assert "wish for" in SPIN_DICTIONARY["want"]
    assert "like" in SPIN_DICTIONARY["as well as"]
    assert "now" in SPIN_DICTIONARY["currently"]
    assert "stated" in SPIN_DICTIONARY["said"]
    assert all(SPIN_DICTIONARY.values())


def test_spin_full_rate_and_case() -> None:
    text = "Russia said it currently wants talks, as well as a deal."
    spun, subs = spin(text, 1.0, random.Random(3))
    assert [s["source"] for s in subs][:2] == ["Russia", "said"]
    assert spun.startswith("Russian Federation ")
    assert "as well as" in [s["source"] for s in subs]  # multiword key matched first
    for s in subs:
        assert text[s["source_start"] : s["source_end"]] == s["source"]
        assert spun[s["copy_start"] : s["copy_end"]] == s["replacement"]
        assert s["replacement"][0].isupper() == s["source"][0].isupper()


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.3, 0.4, 0.7])
def test_spin_rate(originals: list[dict], rate: float) -> None:
    rng = random.Random(5)
    for o in originals[:10]:
        eligible = spin_candidates(o["text"])
        _, subs = spin(o["text"], rate, rng)
        assert abs(len(subs) / len(eligible) - rate) <= 0.1


def test_spin_zero_and_empty() -> None:
    assert spin("", 0.5, random.Random(1)) == ("", [])
    assert spin("The cat.", 0.0, random.Random(1)) == ("The cat.", [])


# --------------------------------------------------------------------------- derivations


@pytest.mark.parametrize("seed", range(5))
def test_derivations_slice(originals: list[dict], seed: int) -> None:
    rng = random.Random(seed)
    a, b, c = (o["text"] for o in originals[seed : seed + 3])
    for derived in (
        reprint(a, rng, publisher="Tester"),
        reorder_paragraphs(a, rng),
        insert_sentences(a, fixtures.FILLER_SENTENCES, rng),
        delete_sentences(a, 2, rng),
    ):
        check_spans(derived.text, [a], derived)
        assert all(sp["verbatim"] for sp in derived.spans)
    mixed = composite([a, b, c], rng)
    check_spans(mixed.text, [a, b, c], mixed)
    assert {sp["source_index"] for sp in mixed.spans} == {0, 1, 2}
    spun = spin_derived(mixed, 0.3, rng)
    check_spans(spun.text, [a, b, c], spun)
    assert spun.substitutions and not all(sp["verbatim"] for sp in spun.spans)


def test_reorder_changes_order(originals: list[dict]) -> None:
    text = originals[0]["text"]
    derived = reorder_paragraphs(text, random.Random(1))
    assert derived.text != text
    assert sorted(derived.text.split("\n\n")) == sorted(text.split("\n\n"))


def test_insert_and_delete_lengths(originals: list[dict]) -> None:
    text = originals[3]["text"]
    ins = insert_sentences(text, ["An inserted sentence."], random.Random(2), count=1)
    assert len(ins.text) == len(text) + len(" An inserted sentence.")
    dele = delete_sentences(text, 1, random.Random(2))
    assert len(dele.text) < len(text)
    assert len(sentence_spans(dele.text)) == len(sentence_spans(text)) - 1


def test_sentence_spans_abbreviations() -> None:
    text = "Dr. Brändli met St. Moritz officials. They agreed.\n\nA new “paragraph” here."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Brändli met St. Moritz officials.",
        "They agreed.",
        "A new “paragraph” here.",
    ]


def test_degenerate_inputs() -> None:
    rng = random.Random(0)
    for text in ["", "   \n ", "Word"]:
        for derived in (
            reprint(text, rng),
            reorder_paragraphs(text, rng),
            insert_sentences(text, ["X."], rng),
            delete_sentences(text, 2, rng),
        ):
            check_spans(derived.text, [text], derived)


# --------------------------------------------------------------------------- named corpora

CORPORA = Path(__file__).parent / "data" / "corpora"
CORPUS_NAMES = [
    "wire_reprint",
    "synonym_swap",
    "reordered",
    "composite3",
    "no_match",
    "unicode_offsets",
    "short_and_empty",
]


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_named_corpus_truth(name: str) -> None:
    lines = (CORPORA / name / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert 0 < len(records) < 20
    assert (CORPORA / name / "README.md").read_text(encoding="utf-8").strip()
    by_id = {r["id"]: r for r in records}
    assert len(by_id) == len(records)
    for r in records:
        for sp in r["truth"]["spans"]:
            src = by_id[sp["source_id"]]["text"]
            if sp["verbatim"]:
                assert (
                    r["text"][sp["copy_start"] : sp["copy_end"]]
                    == src[sp["source_start"] : sp["source_end"]]
                )
        for sub in r["truth"]["substitutions"]:
            assert (
                by_id[sub["source_id"]]["text"][sub["source_start"] : sub["source_end"]]
                == sub["source"]
            )
            assert r["text"][sub["copy_start"] : sub["copy_end"]] == sub["replacement"]


def test_named_corpora_up_to_date(tmp_path: Path) -> None:
    """The committed corpora are what ``tests/data/make_corpora.py`` generates."""
    spec = importlib.util.spec_from_file_location(
        "make_corpora", CORPORA.parent / "make_corpora.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in CORPUS_NAMES:
        for fname in ("articles.jsonl", "README.md"):
            assert (tmp_path / name / fname).read_bytes() == (CORPORA / name / fname).read_bytes()
