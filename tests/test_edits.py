"""Edits people can trust (issue 16 item 3): anchored swaps, phrases, facts, moves."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from newstrace import fixtures
from newstrace.align import align_texts
from newstrace.edits import (
    SWAP_KINDS,
    Edit,
    classify_swap,
    edit_counts,
    find_moves,
    is_genuine_swap,
    passage_edits,
    word_edits,
)


def _edits(src: str, dst: str) -> list[Edit]:
    return word_edits(src, 0, len(src), dst, 0, len(dst))


def _swaps(src: str, dst: str) -> list[Edit]:
    return [e for e in _edits(src, dst) if e.kind in SWAP_KINDS]


def _assert_offsets(src: str, dst: str, edits: list[Edit]) -> None:
    for e in edits:
        assert src[e.src_span[0]:e.src_span[1]] == e.src
        assert dst[e.dst_span[0]:e.dst_span[1]] == e.dst


def test_phrase_swap_is_one_phrase_edit() -> None:
    src = "Exports to Asia rose sharply last year, the ministry said on Tuesday."
    dst = "Exports to Asia rose sharply a year ago, the ministry said on Tuesday."
    edits = _edits(src, dst)
    assert [(e.kind, e.src, e.dst) for e in edits] == [("phrase", "last year", "a year ago")]
    _assert_offsets(src, dst, edits)
    assert edits[0].src_span == (src.index("last"), src.index("last") + len("last year"))


def test_multiword_spinner_swaps() -> None:
    src = "Officials in Russia said they will buy grain as well as sugar from neighbours."
    dst = "Officials in Russian Federation said they will buy grain like sugar from neighbours."
    got = [(e.kind, e.src, e.dst) for e in _edits(src, dst)]
    assert got == [("phrase", "Russia", "Russian Federation"), ("phrase", "as well as", "like")]


def test_changed_names_and_numbers_are_facts() -> None:
    src = "On Monday President Trump said 12 people were hurt in the blast near Helsinki."
    dst = "On Monday President Clinton said 15 people were hurt in the blast near Helsinki."
    edits = _edits(src, dst)
    assert [(e.kind, e.src, e.dst) for e in edits] == [
        ("fact", "Trump", "Clinton"), ("fact", "12", "15")]
    _assert_offsets(src, dst, edits)
    e = _edits("Talks between Finland and Estonia resumed in spring.",
               "Talks between Sweden and Estonia resumed in spring.")
    assert [(x.kind, x.src, x.dst) for x in e] == [("fact", "Finland", "Sweden")]
    # a stylistic swap of a common word stays a substitution
    e = _edits("The ministry wants talks soon.", "The ministry wishes talks soon.")
    assert [(x.kind, x.src, x.dst) for x in e] == [("substitution", "wants", "wishes")]
    assert classify_swap("Trump", "Clinton") == "fact"
    assert classify_swap("Russia", "Russian Federation") == "phrase"


def test_verbatim_copy_has_no_edits() -> None:
    text = fixtures.load_originals()[0]["text"]
    copy = "Reprinted.\n\n" + text
    assert word_edits(text, 0, len(text), copy, len("Reprinted.\n\n"), len(copy)) == []


def test_rewritten_stretch_is_no_swap() -> None:
    # the two middles share only "of": an LCS would pair it and report
    # "was indicted on charges -> faces a long list" and the like
    src = ("Officials said the former aide was indicted on charges of fraud in the "
           "Iran affair, the court said on Friday.")
    dst = ("Officials said the former aide faces a long list of accusations relating "
           "to money, the court said on Friday.")
    edits = _edits(src, dst)
    assert not [e for e in edits if e.kind in SWAP_KINDS]
    assert {e.kind for e in edits} == {"deletion", "insertion"}
    _assert_offsets(src, dst, edits)
    deleted = " ".join(e.src for e in edits if e.kind == "deletion")
    assert "indicted" in deleted and "Iran" in deleted


def test_function_word_for_content_word_is_no_swap() -> None:
    # a real rewrite (Helsinki pages): "last week" anchors both sides of "indicted"/"of"
    src = "Questions grew after the Justice Department last week indicted 12 Russian officers."
    dst = "Questions grew after the U.S. indictment last week of 12 Russian officers."
    edits = _edits(src, dst)
    assert ("indicted", "of") not in [(e.src, e.dst) for e in edits]
    assert not [e for e in edits if e.kind == "substitution" and e.dst == "of"]
    _assert_offsets(src, dst, edits)


def test_swap_at_edge_of_stretch_is_not_a_substitution() -> None:
    # the stretch starts mid-sentence at the changed word: nothing anchors it on the left
    src = "Police say the aide, indicted yesterday, denied every charge before the court."
    dst = "Police say the aide, charged yesterday, denied every charge before the court."
    s0, d0 = src.index("indicted"), dst.index("charged")
    edits = word_edits(src, s0, len(src), dst, d0, len(dst))
    assert [(e.kind, e.src, e.dst) for e in edits] == [
        ("deletion", "indicted", ""), ("insertion", "", "charged")]
    _assert_offsets(src, dst, edits)
    # the same change inside the stretch, anchored on both sides, is a swap
    edits = _edits(src, dst)
    assert [(e.kind, e.src, e.dst) for e in edits] == [("substitution", "indicted", "charged")]
    # a sentence start on both sides stands for the left anchor
    edits = _edits("Indicted yesterday, the aide denied it.", "Charged yesterday, the aide denied it.")
    assert [(e.kind, e.src, e.dst) for e in edits] == [("substitution", "Indicted", "Charged")]
    # and a long replaced block is never a swap, anchored or not
    edits = _edits("The aide denied every single charge laid before the court today.",
                   "The aide rejected all of the accusations that prosecutors made today.")
    assert not [e for e in edits if e.kind in SWAP_KINDS]


def test_noise_pairs_are_not_genuine_swaps() -> None:
    assert not is_genuine_swap("indicted", "of")
    assert not is_genuine_swap("today", "amp")
    assert not is_genuine_swap("on Friday", "Trump")
    assert not is_genuine_swap("he wrote, blaming", "thanks to")
    assert classify_swap("St", "Saint") == "substitution"
    assert is_genuine_swap("last year", "a year ago")
    assert is_genuine_swap("as well as", "like")
    assert is_genuine_swap("want", "wish for")


def test_edit_counts_shape() -> None:
    src = "They want peace and they want bread."
    dst = "They wish peace and they wish bread."
    rows = edit_counts(_edits(src, dst))
    assert rows == [{"from": "want", "to": "wish", "kind": "substitution", "count": 2}]


def _paragraph_article() -> str:
    for rec in fixtures.load_originals():
        if len(fixtures.paragraph_spans(rec["text"])) >= 5:
            return rec["text"]
    raise AssertionError("no demo article with 5 paragraphs")


def test_moved_paragraph_found_with_offsets() -> None:
    src = _paragraph_article()
    paras = fixtures.paragraph_spans(src)
    moved = 3
    order = [moved] + [k for k in range(len(paras)) if k != moved]
    pieces, where = [], {}
    pos = 0
    for k in order:
        s, e = paras[k]
        if pieces:
            pieces.append("\n\n")
            pos += 2
        where[k] = pos
        pieces.append(src[s:e])
        pos += e - s
    dst = "".join(pieces)
    passages = align_texts(dst, src)
    spans = [(p.b_start, p.b_end, p.a_start, p.a_end) for p in passages]
    moves = find_moves(src, dst, spans)
    assert len(moves) == 1
    m = moves[0]
    s, e = paras[moved]
    assert m.src_span == (s, e)
    assert m.dst_span == (where[moved], where[moved] + e - s)
    assert src[slice(*m.src_span)] == dst[slice(*m.dst_span)]


def test_paragraph_moved_inside_one_passage() -> None:
    # the aligner may take a moved paragraph into one long passage: sentences tell
    src = _paragraph_article()
    paras = fixtures.paragraph_spans(src)
    moved = len(paras) - 1
    order = [0, moved] + list(range(1, moved))
    dst = "\n\n".join(src[slice(*paras[k])] for k in order)
    moves = find_moves(src, dst, [(0, len(src), 0, len(dst))])
    s, e = paras[moved]
    start = dst.index(src[s:e])
    assert [(m.src_span, m.dst_span) for m in moves] == [((s, e), (start, start + e - s))]
    # in order: no move
    same = "\n\n".join(src[slice(*p)] for p in paras)
    assert find_moves(src, same, [(0, len(src), 0, len(same))]) == []


def test_passage_edits_finds_swaps_in_a_moved_paragraph() -> None:
    src = _paragraph_article()
    paras = fixtures.paragraph_spans(src)
    moved = len(paras) - 1
    order = [0, moved] + list(range(1, moved))
    pieces = [src[slice(*paras[k])] for k in order]
    rng = random.Random(3)
    spun, subs = fixtures.spin(pieces[1], 0.5, rng)
    assert subs
    pieces[1] = spun
    dst = "\n\n".join(pieces)
    edits, moves = passage_edits(src, dst, [(0, len(src), 0, len(dst))])
    _assert_offsets(src, dst, edits)
    assert len(moves) == 1 and moves[0].src_span == paras[moved]
    base = len(pieces[0]) + 2
    inside = [e for e in edits if e.kind in SWAP_KINDS]
    assert inside
    for e in inside:  # every swap reported is one the spinner made in the moved paragraph
        assert any(e.dst_span[0] < base + s["copy_end"] and base + s["copy_start"] < e.dst_span[1]
                   for s in subs), e
    assert not [e for e in edits if e.kind == "insertion" and len(e.dst) > len(spun) // 2]


def test_find_moves_keeps_the_longest_chain() -> None:
    # a short passage jumping ahead of two long ones: the short one moved
    spans = [(600, 650, 0, 50), (0, 300, 50, 350), (300, 600, 350, 650)]
    moves = find_moves("x" * 650, "y" * 650, spans)
    assert [(m.src_span, m.dst_span) for m in moves] == [((600, 650), (0, 50))]
    # in order: nothing moved; neighbouring moved passages are one move
    assert find_moves("x", "y", [(0, 5, 0, 5), (5, 9, 5, 9)]) == []
    spans = [(500, 550, 0, 50), (550, 600, 50, 100), (0, 500, 100, 600)]
    moves = find_moves("x" * 600, "y" * 600, spans)
    assert [(m.src_span, m.dst_span) for m in moves] == [((500, 600), (0, 100))]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 0.5))
def test_reported_swaps_are_spinner_swaps(seed: int, rate: float) -> None:
    originals = fixtures.load_originals()
    rng = random.Random(seed)
    src = originals[rng.randrange(len(originals))]["text"]
    dst, subs = fixtures.spin(src, rate, rng)
    edits = _edits(src, dst)
    _assert_offsets(src, dst, edits)
    truth = [((s["source_start"], s["source_end"]), (s["copy_start"], s["copy_end"])) for s in subs]

    def overlaps(x: tuple[int, int], y: tuple[int, int]) -> bool:
        return x[0] < y[1] and y[0] < x[1]

    for e in edits:
        if e.kind in SWAP_KINDS:
            assert any(overlaps(e.src_span, ts) and overlaps(e.dst_span, td) for ts, td in truth), e
    # and most of the spinner's swaps are found (recall, loosely)
    found = sum(any(overlaps(e.dst_span, td) for e in edits if e.kind in SWAP_KINDS)
                for _, td in truth)
    assert found >= 0.7 * len(truth) - 1


_VOCAB = ["the", "of", "Bank", "rates", "rose", "12", "said", "on", "Friday", "Trump", "and",
          "market", "él", "東京", "a", "year", "ago", "last", "."]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), max_size=40), st.lists(st.sampled_from(_VOCAB), max_size=40),
       st.integers(0, 30), st.integers(0, 30))
def test_offsets_exact_on_any_text(a: list[str], b: list[str], cut_a: int, cut_b: int) -> None:
    src, dst = " ".join(a), " ".join(b)
    s0, d0 = min(cut_a, len(src)), min(cut_b, len(dst))
    edits = word_edits(src, s0, len(src), dst, d0, len(dst))
    _assert_offsets(src, dst, edits)
    for e in edits:
        assert s0 <= e.src_span[0] <= e.src_span[1] <= len(src)
        assert d0 <= e.dst_span[0] <= e.dst_span[1] <= len(dst)
        assert e.kind in ("substitution", "phrase", "fact", "insertion", "deletion")
    assert word_edits(src, 0, len(src), src, 0, len(src)) == []
