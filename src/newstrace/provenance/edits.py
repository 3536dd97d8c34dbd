"""The one seam through which the attribution model computes edits and moves.

Every edit the attribution model reports (substitution pairs per sentence and per
source, the corpus dictionary, the spin score's swaps, moved sentences) comes from
:func:`word_edits` and :func:`find_moves` here, which are ``newstrace.edits``'s
(anchored swaps only, adjacent edits merged into a spinner's phrase swap, changed
names and numbers as ``fact``, moves by the longest chain in source order). The
model's coverage is measured with :func:`word_matches` (the word alignment of
``newstrace.provenance.core``).

Kinds: ``substitution``, ``phrase``, ``fact``, ``insertion``, ``deletion``.
"""

from __future__ import annotations

from collections import OrderedDict

from newstrace import edits as _edits
from newstrace.provenance.core import (
    word_matches_only,
)
from newstrace.tokens import split_sentences

# The shapes and the word-level rules live in ``newstrace.edits`` (anchored swaps,
# phrase merging, fact changes, moves by the longest chain in source order); this seam
# re-exports them so the model never depends on how edits are computed.
SWAP_KINDS = _edits.SWAP_KINDS
Edit = _edits.Edit
Move = _edits.Move


def swap_kind(src: str, dst: str) -> str:
    """``fact`` for a changed number or name, ``phrase`` for a multi-word swap, else
    ``substitution`` (``newstrace.edits.classify_swap``).

    >>> swap_kind("12", "14"), swap_kind("last year", "a year ago"), swap_kind("want", "wish")
    ('fact', 'phrase', 'substitution')
    """
    return _edits.classify_swap(src, dst)


def word_matches(src_text: str, src_start: int, src_end: int,
                 dst_text: str, dst_start: int, dst_end: int) -> list[tuple[int, int, int, int]]:
    """Matched words of a passage: ``(dst_start, dst_end, src_start, src_end)`` each
    (what the model measures a source's coverage with)."""
    return word_matches_only(dst_text, (dst_start, dst_end), src_text, (src_start, src_end))


def word_edits(src_text: str, src_start: int, src_end: int,
               dst_text: str, dst_start: int, dst_end: int) -> list[Edit]:
    """The edits turning ``src_text[src_start:src_end]`` into ``dst_text[dst_start:dst_end]``
    (``newstrace.edits.word_edits``: swaps only between matched words on both sides).

    >>> [(e.kind, e.src, e.dst) for e in word_edits("It rose last year, he said.", 0, 27,
    ...                                              "It rose a year ago, he said.", 0, 28)]
    [('phrase', 'last year', 'a year ago')]
    """
    return _edits.word_edits(src_text, src_start, src_end, dst_text, dst_start, dst_end)


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
    """Passages (``(src_start, src_end, dst_start, dst_end)``) and sentences inside them that
    the copy holds out of source order (``newstrace.edits.find_moves``)."""
    return _edits.find_moves(src_text, dst_text, spans)


__all__ = ["SWAP_KINDS", "Edit", "Move", "find_moves", "swap_kind", "word_edits", "word_matches"]
