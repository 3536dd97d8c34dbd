"""The one seam through which the attribution model computes edits and moves.

Every edit the attribution model reports (substitution pairs per sentence and per
source, the corpus dictionary, the spin score's swaps, moved sentences) comes from
:func:`word_edits` and :func:`find_moves` here. Their signatures and the
:class:`Edit` / :class:`Move` shapes are those of ``newstrace.edits`` (word-level edit
logic maintained separately); this module implements them by adapting the word
alignment of ``newstrace.provenance.core`` (``word_alignment``,
``is_lexical_substitution``, ``moved_sentences``) so that the implementation can be
replaced without touching the model.

Kinds: ``substitution`` (one word or a short run swapped for another),
``phrase`` (a swap with several words on either side: "last year" -> "a year ago"),
``fact`` (a changed number or name), ``insertion``, ``deletion``. A replaced run longer
than ``MAX_SUBSTITUTION_TOKENS`` words is a rewrite: a deletion and an insertion.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from newstrace.provenance.core import (
    _common_prefix,
    moved_sentences,
    word_alignment,
    word_matches_only,
)
from newstrace.tokens import STOPWORDS, split_sentences

#: Kinds of :class:`Edit` that swap words (what the substitution dictionary and the spin
#: score count); the other kinds are ``insertion`` and ``deletion``.
SWAP_KINDS = ("substitution", "phrase", "fact")


@dataclass(frozen=True)
class Edit:
    """One edit turning the source passage into the copy."""

    kind: str  # "substitution" | "phrase" | "fact" | "insertion" | "deletion"
    src: str  # source words (original surface text)
    dst: str  # copy words
    src_span: tuple[int, int]  # char offsets in the source text
    dst_span: tuple[int, int]  # char offsets in the copy text


@dataclass(frozen=True)
class Move:
    """A sentence or paragraph of the copy taken from elsewhere in the source."""

    src_span: tuple[int, int]
    dst_span: tuple[int, int]


def swap_kind(src: str, dst: str) -> str:
    """``fact`` for a changed number or name, ``phrase`` for a multi-word swap, else
    ``substitution``.

    >>> swap_kind("12", "14"), swap_kind("Smith", "Jones"), swap_kind("last year", "a year ago")
    ('fact', 'fact', 'phrase')
    >>> swap_kind("want", "wish"), swap_kind("Russia", "Russian Federation")
    ('substitution', 'phrase')
    """
    if any(ch.isdigit() for ch in src + dst):
        return "fact"
    sw, dw = src.split(), dst.split()
    if (sw and dw and all(w[:1].isupper() and w.casefold() not in STOPWORDS for w in sw + dw)
            and _common_prefix(src.casefold(), dst.casefold()) < 4):
        return "fact"  # a name for another name (not "Russia" -> "Russian Federation")
    if len(sw) > 1 or len(dw) > 1:
        return "phrase"
    return "substitution"


_ALIGN_CACHE: OrderedDict[tuple[int, int, int, int, int, int], tuple[str, str, Any]] = OrderedDict()
_ALIGN_CACHE_SIZE = 8192


def _align(src_text: str, src_start: int, src_end: int,
           dst_text: str, dst_start: int, dst_end: int) -> tuple[list[tuple[int, int, int, int]], list[dict[str, Any]]]:
    """``word_alignment`` of one passage (copy = ``dst``), remembered: the model asks for
    the matches and the edits of the same passage."""
    key = (id(src_text), src_start, src_end, id(dst_text), dst_start, dst_end)
    hit = _ALIGN_CACHE.get(key)
    if hit is not None and hit[0] is src_text and hit[1] is dst_text:
        _ALIGN_CACHE.move_to_end(key)
        return hit[2]
    out = word_alignment(dst_text, (dst_start, dst_end), src_text, (src_start, src_end))
    _ALIGN_CACHE[key] = (src_text, dst_text, out)
    if len(_ALIGN_CACHE) > _ALIGN_CACHE_SIZE:
        _ALIGN_CACHE.popitem(last=False)
    return out


def word_matches(src_text: str, src_start: int, src_end: int,
                 dst_text: str, dst_start: int, dst_end: int) -> list[tuple[int, int, int, int]]:
    """Matched words of a passage: ``(dst_start, dst_end, src_start, src_end)`` each
    (``word_alignment``'s matches; its edits only when asked: ``word_edits``)."""
    key = (id(src_text), src_start, src_end, id(dst_text), dst_start, dst_end)
    hit = _ALIGN_CACHE.get(key)
    if hit is not None and hit[0] is src_text and hit[1] is dst_text:
        return hit[2][0]
    return word_matches_only(dst_text, (dst_start, dst_end), src_text, (src_start, src_end))


def word_edits(src_text: str, src_start: int, src_end: int,
               dst_text: str, dst_start: int, dst_end: int) -> list[Edit]:
    """The edits turning ``src_text[src_start:src_end]`` into ``dst_text[dst_start:dst_end]``.

    >>> [(e.kind, e.src, e.dst) for e in word_edits("Russia want peace", 0, 17,
    ...                                              "Russian Federation wish for peace", 0, 33)]
    [('phrase', 'Russia', 'Russian Federation'), ('phrase', 'want', 'wish for')]
    """
    out: list[Edit] = []
    for e in _align(src_text, src_start, src_end, dst_text, dst_start, dst_end)[1]:
        s_span = (e["source_start"], e["source_end"])
        d_span = (e["copy_start"], e["copy_end"])
        op = e["op"]
        if op == "substitute":
            out.append(Edit(swap_kind(e["source"], e["replacement"]), e["source"],
                            e["replacement"], s_span, d_span))
        elif op == "rewrite":
            out.append(Edit("deletion", e["source"], "", s_span, (d_span[0], d_span[0])))
            out.append(Edit("insertion", "", e["replacement"], (s_span[1], s_span[1]), d_span))
        elif op == "insert":
            if e["replacement"].strip():
                out.append(Edit("insertion", "", e["replacement"], s_span, d_span))
        else:
            out.append(Edit("deletion", e["source"], "", s_span, d_span))
    return out


_SENTENCES: OrderedDict[int, tuple[str, list[tuple[int, int]]]] = OrderedDict()


def sentences_of(text: str) -> list[tuple[int, int]]:
    """``split_sentences(text)``, remembered for the last few texts (by identity): the
    model asks for the sentences of one long text once per source."""
    hit = _SENTENCES.get(id(text))
    if hit is None or hit[0] is not text:
        hit = (text, split_sentences(text))
        _SENTENCES[id(text)] = hit
        if len(_SENTENCES) > 64:
            _SENTENCES.popitem(last=False)
    else:
        _SENTENCES.move_to_end(id(text))
    return hit[1]


def find_moves(src_text: str, dst_text: str,
               spans: list[tuple[int, int, int, int]]) -> list[Move]:
    """Sentences of the copy moved relative to the source, over the aligned passages
    ``spans`` (``(src_start, src_end, dst_start, dst_end)``): the copy's sentences off
    the longest run in source order (``moved_sentences``), each with the source span
    of its matched words.
    """
    matches: list[tuple[int, int, int, int]] = []
    for s0, s1, d0, d1 in spans:
        matches.extend(word_matches(src_text, s0, s1, dst_text, d0, d1))
    if not matches:
        return []
    matches.sort()
    sents = sentences_of(dst_text)
    moved = moved_sentences(dst_text, matches, sents)
    if not moved:
        return []
    starts = [m[0] for m in matches]
    out = []
    for si in moved:
        s, e = sents[si]
        inside = matches[bisect.bisect_left(starts, s):bisect.bisect_left(starts, e)]
        if inside:
            out.append(Move((min(m[2] for m in inside), max(m[3] for m in inside)), (s, e)))
    return out


__all__ = ["SWAP_KINDS", "Edit", "Move", "find_moves", "swap_kind", "word_edits", "word_matches"]
