"""Edits people can trust: word swaps, phrase swaps, fact changes and moved passages.

Given two texts and a passage the aligner found reused between them, ``word_edits``
says what was changed on the way, and ``find_moves`` says which passages were moved.

Public API:

- ``Edit(kind, src, dst, src_span, dst_span)``: one edit; ``src_text[slice(*src_span)] ==
  src`` and ``dst_text[slice(*dst_span)] == dst`` always hold. ``kind`` is one of:

  - ``"substitution"``: one word swapped for one word ("wants" -> "wishes");
  - ``"phrase"``: a multi-word swap a spinner makes ("last year" -> "a year ago",
    "as well as" -> "like", "Russia" -> "Russian Federation");
  - ``"fact"``: a changed number or name ("12" -> "15", "Trump" -> "Clinton",
    "Finland" -> "Sweden"), kept apart from stylistic swaps;
  - ``"insertion"`` / ``"deletion"``: words present on one side only (an empty span
    at the insertion point on the other side), and the two halves of a replaced block
    too long to be a swap.
- ``word_edits(src_text, src_start, src_end, dst_text, dst_start, dst_end)``: the edits
  turning ``src_text[src_start:src_end]`` into ``dst_text[dst_start:dst_end]``.
- ``Move(src_span, dst_span)`` and ``find_moves(src_text, dst_text, spans)``: which of the
  aligned passages ``(src_start, src_end, dst_start, dst_end)``, or of the sentences
  inside one, appear in the copy in another order than in the source.
- ``classify_swap(src, dst)``: ``"fact"``, ``"phrase"`` or ``"substitution"`` for a pair of
  strings (names by capital letters alone, without sentence context).
- ``is_genuine_swap(src, dst)``: whether a (from, to) pair of a corpus dictionary reads
  as a genuine stylistic swap (for filtering stored tables).
- ``passage_edits(src_text, dst_text, spans)``: ``(edits, moves)`` of a pair from its
  aligned passages: ``word_edits`` on each, ``find_moves`` on all, and a sentence moved
  inside a passage compared with its own source text (its swaps found, not one big
  insertion). The simplest way to wire the module in.
- ``edit_counts(edits)``: ``[{"from", "to", "kind", "count"}]`` for the swap edits
  (``SWAP_KINDS``: substitution, phrase, fact), the public ``edits`` JSON shape,
  commonest first.

Cost: about linear; a 1 MB spun copy against its 1 MB source as one passage takes
about 1.3 s of CPU for ``passage_edits``, tokenising included
(``bench/provenance_real.py --long 1000000``).

How swaps are found (the rules that keep noise out):

1. Words are the project tokens (``newstrace.tokens``, stemmed ids, so "reports" and
   "reported" are the same word). The two word sequences are matched by a
   patience-style diff: words occurring once in each side are anchors, kept where
   they are in the same order (longest increasing subsequence); runs of equal words
   extend each anchor; gaps without anchors and small enough get an exact LCS. No
   word is paired across a long distance, and the cost is about linear.
2. A matched run of one stop word ("the", "of") next to a gap of more than
   ``MAX_SWAP_WORDS`` words is no anchor: it is dissolved into the gaps around it,
   so a chance pairing inside rewritten text cannot frame a swap ("on friday" ->
   "trump"). Unique words are anchors only with a matching neighbour when possible.
3. A gap between two matched runs with 1..``MAX_SWAP_WORDS`` words on both sides is a
   swap. A gap at the edge of the passage is a swap only where a sentence starts (or
   ends) there on both sides, the sentence edge standing for the missing anchor;
   otherwise, and when longer, its words are a deletion and/or an insertion.
   A single function word for a content word or back ("indicted" -> "of", ``FUNCTION_WORDS``)
   is a rewrite too, never a swap; so is a change with punctuation between its words
   ("he wrote, blaming" -> "thanks to"): a spinner swaps runs of words. The same
   marks in the same order on both sides anchor like a matched word, though: the gap
   is cut there ("business,” said" -> "enterprise,” stated" is two swaps).
4. A swap and a one-sided gap separated by a single matched word are one phrase:
   "last year" -> "a year ago" (gaps "last"->"a" and ""->"ago" around "year"); two
   insertions (or deletions) around a word stay insertions (deletions).
5. A swap is a ``fact`` when its numbers differ, or when names (capitalised words
   not starting a sentence, that neither text writes in lower case anywhere: not
   "Trade" in "Trade Minister" when "trade" occurs) stand on both sides and none of
   them shares a 4-letter prefix, most letters (a spelling fix) or initials with a
   name on the other side ("Russia" -> "Russian Federation" stays a phrase).

Moves: passages sorted by their position in the copy; the longest chain (by copy
length) in increasing source order stays in place (weighted longest increasing
subsequence, O(k log k)); every other passage moved. A passage lying inside a bigger
one in the copy but outside it in the source (the aligner took the moved text in as
an insertion) moved too. Neighbouring moved passages that are also neighbours in the
source are reported as one move. Inside each passage that stays, copy sentences are
placed in the source by the word pairs (bigrams) they share with one source sentence
(pairs in few source sentences only), and the same longest chain runs over them:
the aligner takes a moved paragraph into one passage when its words still match.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from newstrace.tokens import CAPITAL, SENTENCE_START, STOP, Tokens, edge_offsets, tokenize_text

__all__ = [
    "FUNCTION_WORDS",
    "MAX_SWAP_WORDS",
    "SWAP_KINDS",
    "Edit",
    "Move",
    "classify_swap",
    "edit_counts",
    "find_moves",
    "is_genuine_swap",
    "passage_edits",
    "word_edits",
]

#: Longest side of a swap, in words ("in the course of" -> "during").
MAX_SWAP_WORDS = 4
#: Gaps without anchors are matched exactly (LCS) up to this many cells.
_DP_MAX_CELLS = 2500

SWAP_KINDS = ("substitution", "phrase", "fact")

#: Words no writer or spinner swaps for a content word: one standing for a content
#: word ("indicted" -> "of", "he" -> "Trump") is a rewrite, not a swap.
FUNCTION_WORDS = frozenset(
    "a an the of to and or nor is are was were be been being am it its this that these "
    "those he she they we i you me him her them us his hers their theirs our your my "
    "s t has have had do does did".split()
)


@dataclass(frozen=True)
class Edit:
    """One edit: ``src`` (source words) became ``dst`` (copy words)."""

    kind: str
    src: str
    dst: str
    src_span: tuple[int, int]
    dst_span: tuple[int, int]


@dataclass(frozen=True)
class Move:
    """A passage at ``src_span`` of the source stands at ``dst_span`` of the copy, out of order."""

    src_span: tuple[int, int]
    dst_span: tuple[int, int]


# --------------------------------------------------------------------------- tokens

_TOKEN_CACHE: OrderedDict[int, tuple[str, Tokens, list[int], np.ndarray]] = OrderedDict()
_TOKEN_CACHE_SIZE = 256


def _tokens(text: str) -> tuple[Tokens, list[int], np.ndarray]:
    """Tokens of ``text`` (stemmed ids), the ids as a list, and the sorted ids of the
    words the text writes in lower case somewhere; remembered by identity."""
    hit = _TOKEN_CACHE.get(id(text))
    if hit is None or hit[0] is not text:
        tok = tokenize_text(text, True)
        lower = np.unique(tok.ids[(tok.stop & CAPITAL) == 0])
        hit = (text, tok, tok.ids.tolist(), lower)
        _TOKEN_CACHE[id(text)] = hit
        if len(_TOKEN_CACHE) > _TOKEN_CACHE_SIZE:
            _TOKEN_CACHE.popitem(last=False)
    else:
        _TOKEN_CACHE.move_to_end(id(text))
    return hit[1], hit[2], hit[3]


def _contains(sorted_ids: np.ndarray, value: int) -> bool:
    k = int(np.searchsorted(sorted_ids, value))
    return k < sorted_ids.shape[0] and int(sorted_ids[k]) == value


def _window(tok: Tokens, start: int, end: int) -> tuple[int, int]:
    """Token range ``[lo, hi)`` of the words lying wholly inside ``[start, end)``."""
    lo = int(np.searchsorted(tok.starts, start, "left"))
    hi = int(np.searchsorted(tok.ends, end, "right"))
    return lo, max(lo, hi)


# --------------------------------------------------------------------------- matching


def _lis(values: Sequence[int]) -> list[int]:
    """Indices of one longest strictly increasing subsequence of ``values``."""
    tails: list[int] = []
    tails_idx: list[int] = []
    prev = [-1] * len(values)
    for k, v in enumerate(values):
        j = bisect.bisect_left(tails, v)
        if j == len(tails):
            tails.append(v)
            tails_idx.append(k)
        else:
            tails[j] = v
            tails_idx[j] = k
        prev[k] = tails_idx[j - 1] if j else -1
    out: list[int] = []
    k = tails_idx[-1] if tails_idx else -1
    while k != -1:
        out.append(k)
        k = prev[k]
    return out[::-1]


def _lcs_pairs(a: Sequence[int], b: Sequence[int], i0: int, j0: int) -> list[tuple[int, int]]:
    """Exact LCS of two short sequences, as index pairs offset by ``(i0, j0)``."""
    n, m = len(a), len(b)
    dp = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, nxt = dp[i], dp[i + 1]
        ai = a[i]
        for j in range(m - 1, -1, -1):
            row[j] = nxt[j + 1] + 1 if ai == b[j] else max(nxt[j], row[j + 1])
    out = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            out.append((i0 + i, j0 + j))
            i += 1
            j += 1
        elif dp[i + 1][j] >= dp[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _unique_pairs(a: list[int], b: list[int], i0: int, i1: int, j0: int, j1: int
                  ) -> list[tuple[int, int]]:
    """Positions of the words occurring once in ``a[i0:i1]`` and once in ``b[j0:j1]``,
    sorted by position in ``a``."""
    if (i1 - i0) + (j1 - j0) > 4096:
        va = np.asarray(a[i0:i1], dtype=np.int64)
        vb = np.asarray(b[j0:j1], dtype=np.int64)
        ua, ia, ca = np.unique(va, return_index=True, return_counts=True)
        ub, ib, cb = np.unique(vb, return_index=True, return_counts=True)
        ua, ia = ua[ca == 1], ia[ca == 1]
        ub, ib = ub[cb == 1], ib[cb == 1]
        _, xa, xb = np.intersect1d(ua, ub, assume_unique=True, return_indices=True)
        pa, pb = ia[xa], ib[xb]
        order = np.argsort(pa, kind="stable")
        return list(zip((pa[order] + i0).tolist(), (pb[order] + j0).tolist(), strict=True))
    seen_a: dict[int, int] = {}
    for i in range(i0, i1):
        w = a[i]
        seen_a[w] = -1 if w in seen_a else i
    seen_b: dict[int, int] = {}
    for j in range(j0, j1):
        w = b[j]
        if w in seen_a:
            seen_b[w] = -1 if w in seen_b else j
    out = [(i, seen_b[w]) for w, i in seen_a.items() if i >= 0 and seen_b.get(w, -1) >= 0]
    out.sort()
    return out


def _unique_anchors(a: list[int], b: list[int], i0: int, i1: int, j0: int, j1: int
                    ) -> list[tuple[int, int]]:
    """Words occurring once in ``a[i0:i1]`` and once in ``b[j0:j1]``, in a common order.

    Pairs whose neighbour on either side matches too (a run of two words or more)
    are preferred: a lone rare word matched far away is how mis-pairings start.
    """
    pairs = _unique_pairs(a, b, i0, i1, j0, j1)
    if not pairs:
        return []
    na, nb = len(a), len(b)
    strong = [(i, j) for i, j in pairs
              if (i > 0 and j > 0 and a[i - 1] == b[j - 1])
              or (i + 1 < na and j + 1 < nb and a[i + 1] == b[j + 1])]
    use = strong or pairs
    return [use[k] for k in _lis([j for _, j in use])]


def _match(a: list[int], b: list[int]) -> list[tuple[int, int]]:
    """Matched word pairs ``(i, j)`` of ``a`` and ``b``, increasing in both."""
    pairs: list[tuple[int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        i0, i1, j0, j1 = stack.pop()
        while i0 < i1 and j0 < j1 and a[i0] == b[j0]:
            pairs.append((i0, j0))
            i0 += 1
            j0 += 1
        while i0 < i1 and j0 < j1 and a[i1 - 1] == b[j1 - 1]:
            i1 -= 1
            j1 -= 1
            pairs.append((i1, j1))
        if i0 >= i1 or j0 >= j1:
            continue
        anchors = _unique_anchors(a, b, i0, i1, j0, j1)
        if anchors:
            pi, pj = i0, j0
            for i, j in anchors:
                pairs.append((i, j))
                if i > pi and j > pj:
                    stack.append((pi, i, pj, j))
                pi, pj = i + 1, j + 1
            if i1 > pi and j1 > pj:
                stack.append((pi, i1, pj, j1))
        elif (i1 - i0) * (j1 - j0) <= _DP_MAX_CELLS:
            pairs.extend(_lcs_pairs(a[i0:i1], b[j0:j1], i0, j0))
    pairs.sort()
    return pairs


# --------------------------------------------------------------------------- classification

_DIGIT = re.compile(r"\d")


def _numbers(words: Iterable[str]) -> list[str]:
    return sorted(w for w in words if _DIGIT.search(w))


def _related_names(a: Sequence[str], b: Sequence[str]) -> bool:
    """Some name of ``a`` and some of ``b`` share a 4-letter prefix, or one is the other's initials."""
    fa = [w.casefold() for w in a]
    fb = [w.casefold() for w in b]
    for x in fa:
        for y in fb:
            if x[:4] == y[:4] and min(len(x), len(y)) >= 4 or x == y:
                return True
            if min(len(x), len(y)) >= 5 and SequenceMatcher(None, x, y).ratio() >= 0.8:
                return True  # a spelling fix ("Coodination")
    for x in fa + fb:  # "St" for "Saint": the letters of a short one, in order, in the other
        for y in fb if x in fa else fa:
            if 2 <= len(x) <= 4 < len(y) and x[0] == y[0] and _in_order(x, y):
                return True
    ia = "".join(w[0] for w in fa if w)
    ib = "".join(w[0] for w in fb if w)
    ja = "".join(ch for w in fa for ch in w if ch.isalpha())
    jb = "".join(ch for w in fb for ch in w if ch.isalpha())
    return (len(ja) >= 2 and ja == ib) or (len(jb) >= 2 and jb == ia)


def _in_order(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _kind(src_words: Sequence[str], dst_words: Sequence[str],
          src_names: Sequence[str], dst_names: Sequence[str]) -> str:
    if _numbers(src_words) != _numbers(dst_words):
        return "fact"
    if src_names and dst_names and not _related_names(src_names, dst_names):
        return "fact"
    if len(src_words) == 1 and len(dst_words) == 1:
        return "substitution"
    return "phrase"


def classify_swap(src: str, dst: str) -> str:
    """``"fact"``, ``"phrase"`` or ``"substitution"`` for a swap given as two strings.

    Without sentence context every capitalised word counts as a name.

    >>> classify_swap("Trump", "Clinton"), classify_swap("12", "15")
    ('fact', 'fact')
    >>> classify_swap("Russia", "Russian Federation"), classify_swap("wants", "wishes")
    ('phrase', 'substitution')
    """
    sw, dw = src.split(), dst.split()
    return _kind(sw, dw, [w for w in sw if w[:1].isupper()], [w for w in dw if w[:1].isupper()])


_STOPS_EXTRA = frozenset({"amp", "nbsp", "quot", "lt", "gt", "http", "https", "www", "com"})


def is_genuine_swap(src: str, dst: str) -> bool:
    """Whether a dictionary pair reads as a genuine stylistic swap a reader would accept.

    Both sides 1..``MAX_SWAP_WORDS`` words, different, not a fact change, no markup
    residue ("amp"), and not a function word standing for a content word or back
    ("indicted" -> "of").

    >>> is_genuine_swap("last year", "a year ago"), is_genuine_swap("indicted", "of")
    (True, False)
    >>> is_genuine_swap("today", "amp"), is_genuine_swap("Trump", "Clinton")
    (False, False)
    >>> is_genuine_swap("his", "the"), is_genuine_swap("today", "video_youtube")
    (False, False)
    """
    from newstrace.tokens import STOPWORDS

    sw = re.findall(r"\w+", src.casefold())
    dw = re.findall(r"\w+", dst.casefold())
    if not sw or not dw or sw == dw:
        return False
    if len(sw) > MAX_SWAP_WORDS or len(dw) > MAX_SWAP_WORDS:
        return False
    if any(w in _STOPS_EXTRA or "_" in w for w in sw + dw):  # markup residue ("video_youtube")
        return False
    if all(w in STOPWORDS or len(w) == 1 for w in sw + dw):
        return False  # "his" -> "the", "s" -> "is": grammar around a rewrite, not a swap
    if _broken(src, (0, len(src))) or _broken(dst, (0, len(dst))):
        return False
    if len(sw) == len(dw) == 1 and (sw[0] in FUNCTION_WORDS) != (dw[0] in FUNCTION_WORDS):
        return False
    if classify_swap(src, dst) == "fact":
        return False
    s_content = any(w not in STOPWORDS for w in sw)
    d_content = any(w not in STOPWORDS for w in dw)
    return s_content == d_content or len(sw) + len(dw) > 2


# --------------------------------------------------------------------------- word edits


#: Punctuation between the words of a swap: a spinner swaps runs of words, so a change
#: spanning a comma, a clause or a sentence end is a rewrite ("he wrote, blaming").
_BREAK = re.compile(r"""[,;:!?#()\[\]"“”«»|/]|[.…](?=\s)""")


def _broken(text: str, span: tuple[int, int]) -> bool:
    return _BREAK.search(text, span[0], span[1]) is not None


_SENTENCE_END = re.compile(r"""[)\]"'”’»]*[.!?…。！？]""")


def _ends_sentence(text: str, pos: int) -> bool:
    """Whether a sentence ends right after ``text[:pos]`` (closing marks, then ``.!?``)."""
    return _SENTENCE_END.match(text, pos) is not None


def word_edits(src_text: str, src_start: int, src_end: int,
               dst_text: str, dst_start: int, dst_end: int) -> list[Edit]:
    """The edits turning ``src_text[src_start:src_end]`` into ``dst_text[dst_start:dst_end]``.

    Edits come in copy order. See the module docstring for the rules.

    >>> e = word_edits("It rose last year, he said.", 0, 27, "It rose a year ago, he said.", 0, 28)
    >>> [(x.kind, x.src, x.dst) for x in e]
    [('phrase', 'last year', 'a year ago')]
    """
    stok, sids, s_lower = _tokens(src_text)
    dtok, dids, d_lower = _tokens(dst_text)
    s_lo, s_hi = _window(stok, src_start, src_end)
    d_lo, d_hi = _window(dtok, dst_start, dst_end)
    a = sids[s_lo:s_hi]
    b = dids[d_lo:d_hi]
    if not a and not b:
        return []
    pairs = _match(a, b) if a and b else []
    s_flags = stok.stop[s_lo:s_hi]
    # runs of consecutive matches; a run of one stop word is no anchor
    runs: list[tuple[int, int, int]] = []  # (i, j, length)
    for i, j in pairs:
        if runs and runs[-1][0] + runs[-1][2] == i and runs[-1][1] + runs[-1][2] == j:
            ri, rj, rl = runs[-1]
            runs[-1] = (ri, rj, rl + 1)
        else:
            runs.append((i, j, 1))
    # a lone stop word next to a long unmatched stretch is no anchor: it was paired by
    # chance inside rewritten text, so it is dissolved into the gaps around it
    kept_runs: list[tuple[int, int, int]] = []
    for k, r in enumerate(runs):
        if r[2] == 1 and int(s_flags[r[0]]) & STOP:
            pe = (kept_runs[-1][0] + kept_runs[-1][2], kept_runs[-1][1] + kept_runs[-1][2]) \
                if kept_runs else (0, 0)
            nx = (runs[k + 1][0], runs[k + 1][1]) if k + 1 < len(runs) else (len(a), len(b))
            if max(r[0] - pe[0], r[1] - pe[1], nx[0] - r[0] - 1, nx[1] - r[1] - 1) > MAX_SWAP_WORDS:
                continue
        kept_runs.append(r)
    runs = kept_runs

    # gaps between runs: (i0, i1, j0, j1, anchored)
    # a gap at the edge of the passage is anchored only by a sentence edge on both sides
    d_flags = dtok.stop
    starts_sentences = bool(a and b and int(s_flags[0]) & SENTENCE_START
                            and int(d_flags[d_lo]) & SENTENCE_START)
    ends_sentences = bool(a and b and _ends_sentence(src_text, int(stok.ends[s_hi - 1]))
                          and _ends_sentence(dst_text, int(dtok.ends[d_hi - 1])))
    gaps: list[list[int]] = []
    pi = pj = 0
    for k, (i, j, length) in enumerate(runs):
        if i > pi or j > pj:
            gaps.append([pi, i, pj, j, int(k > 0 or starts_sentences)])
        pi, pj = i + length, j + length
    if pi < len(a) or pj < len(b):
        gaps.append([pi, len(a), pj, len(b), int(bool(runs) and ends_sentences)])

    # a swap and a one-sided gap with one matched word between them: one phrase
    merged: list[list[int]] = []
    for g in gaps:
        if merged:
            p = merged[-1]
            one_word_between = g[0] - p[1] == 1 and g[2] - p[3] == 1
            p_swap = p[1] > p[0] and p[3] > p[2]
            g_swap = g[1] > g[0] and g[3] > g[2]
            if (one_word_between and p_swap != g_swap and p[4] and g[4]
                    and g[1] - p[0] <= MAX_SWAP_WORDS and g[3] - p[2] <= MAX_SWAP_WORDS):
                p[1], p[3] = g[1], g[3]
                continue
        merged.append(list(g))

    out: list[Edit] = []
    s_starts, s_ends = stok.starts, stok.ends
    d_starts, d_ends = dtok.starts, dtok.ends

    def s_span(i0: int, i1: int) -> tuple[int, int]:
        if i1 > i0:
            return int(s_starts[s_lo + i0]), int(s_ends[s_lo + i1 - 1])
        pos = int(s_ends[s_lo + i0 - 1]) if i0 > 0 else src_start
        return pos, pos

    def d_span(j0: int, j1: int) -> tuple[int, int]:
        if j1 > j0:
            return int(d_starts[d_lo + j0]), int(d_ends[d_lo + j1 - 1])
        pos = int(d_ends[d_lo + j0 - 1]) if j0 > 0 else dst_start
        return pos, pos

    def names(tok: Tokens, lo: int, i0: int, i1: int, text: str) -> list[str]:
        flags, ids = tok.stop, tok.ids
        out = []
        for i in range(i0, i1):
            f = int(flags[lo + i])
            if not f & CAPITAL or f & SENTENCE_START:
                continue
            w = int(ids[lo + i])
            if _contains(s_lower, w) or _contains(d_lower, w):  # "Trade Minister", "trade"
                continue
            out.append(text[int(tok.starts[lo + i]):int(tok.ends[lo + i])])
        return out

    def breaks(text: str, tok: Tokens, lo: int, k0: int, k1: int) -> list[tuple[int, str]]:
        """Word positions inside ``[k0, k1)`` that punctuation precedes, with the marks."""
        out_b = []
        for k in range(k0 + 1, k1):
            between = text[int(tok.ends[lo + k - 1]):int(tok.starts[lo + k])]
            if _BREAK.search(between + " "):
                out_b.append((k, "".join(between.split()).replace("’", "'")))
        return out_b

    # punctuation standing on both sides anchors like a matched word: a gap holding the
    # same marks in the same order on both sides is cut there ("business,” said" ->
    # "enterprise,” stated" is two swaps)
    pieces: list[list[int]] = []
    for g in merged:
        i0, i1, j0, j1, anchored = g
        if i1 - i0 > 1 and j1 - j0 > 1:
            bs = breaks(src_text, stok, s_lo, i0, i1)
            bd = breaks(dst_text, dtok, d_lo, j0, j1)
            if bs and [m for _, m in bs] == [m for _, m in bd]:
                cuts_s = [i0] + [k for k, _ in bs] + [i1]
                cuts_d = [j0] + [k for k, _ in bd] + [j1]
                pieces.extend([cuts_s[x], cuts_s[x + 1], cuts_d[x], cuts_d[x + 1], anchored]
                              for x in range(len(cuts_s) - 1))
                continue
        pieces.append(g)

    for i0, i1, j0, j1, anchored in pieces:
        ss, ds = s_span(i0, i1), d_span(j0, j1)
        ns, nd = i1 - i0, j1 - j0
        sw = [src_text[int(s_starts[s_lo + i]):int(s_ends[s_lo + i])] for i in range(i0, i1)] \
            if ns <= MAX_SWAP_WORDS else []
        dw = [dst_text[int(d_starts[d_lo + j]):int(d_ends[d_lo + j])] for j in range(j0, j1)] \
            if nd <= MAX_SWAP_WORDS else []
        function_for_word = ns == nd == 1 and (
            (sw[0].casefold() in FUNCTION_WORDS) != (dw[0].casefold() in FUNCTION_WORDS))
        if anchored and 0 < ns <= MAX_SWAP_WORDS and 0 < nd <= MAX_SWAP_WORDS \
                and not function_for_word and not _broken(src_text, ss) \
                and not _broken(dst_text, ds):
            kind = _kind(sw, dw, names(stok, s_lo, i0, i1, src_text),
                         names(dtok, d_lo, j0, j1, dst_text))
            out.append(Edit(kind, src_text[ss[0]:ss[1]], dst_text[ds[0]:ds[1]], ss, ds))
            continue
        if ns:
            out.append(Edit("deletion", src_text[ss[0]:ss[1]], "", ss, (ds[0], ds[0])))
        if nd:
            pos = ss[1] if ns else ss[0]
            out.append(Edit("insertion", "", dst_text[ds[0]:ds[1]], (pos, pos), ds))
    return out


def edit_counts(edits: Iterable[Edit]) -> list[dict[str, Any]]:
    """The swap edits (substitution, phrase, fact) as ``[{"from", "to", "kind", "count"}]``.

    >>> e = word_edits("They want peace.", 0, 16, "They wish peace.", 0, 16)
    >>> edit_counts(e + e)
    [{'from': 'want', 'to': 'wish', 'kind': 'substitution', 'count': 2}]
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    for e in edits:
        if e.kind in SWAP_KINDS:
            counts[(e.src, e.dst, e.kind)] += 1
    return [{"from": s, "to": d, "kind": k, "count": c}
            for (s, d, k), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


# --------------------------------------------------------------------------- moves


def _passage_moves(spans: list[tuple[int, int, int, int]]) -> tuple[
        list[list[int]], list[tuple[int, int, int, int]]]:
    """Passages moved out of source order, and the passages that stay.

    The chain of passages in increasing source order covering the most copy text
    stays; the other passages moved. Moved passages next to each other in both texts
    (nothing of the chain between them) are reported as one move, in copy order.

    """
    everything = sorted({(int(s0), int(s1), int(d0), int(d1)) for s0, s1, d0, d1 in spans
                         if s1 > s0 and d1 > d0}, key=lambda x: (x[2], -x[3], x[0]))
    if len(everything) < 2:
        return [], everything
    # a passage lying inside another one in the copy but elsewhere in the source: the
    # bigger passage took it in as an insertion; it was moved there
    inside: list[tuple[int, int, int, int]] = []
    items: list[tuple[int, int, int, int]] = []
    outer: tuple[int, int, int, int] | None = None
    for x in everything:
        if outer is not None and x[3] <= outer[3] and (x[1] <= outer[0] or x[0] >= outer[1]):
            inside.append(x)
            continue
        items.append(x)
        if outer is None or x[3] > outer[3]:
            outer = x
    if not items:
        return [list(x) for x in inside], []
    # weighted longest strictly increasing subsequence of source starts (Fenwick tree of maxima)
    ranks = {v: r + 1 for r, v in enumerate(sorted({x[0] for x in items}))}
    size = len(ranks)
    tree_val = [0] * (size + 1)
    tree_idx = [-1] * (size + 1)
    best = [0] * len(items)
    prev = [-1] * len(items)
    for k, (s0, _s1, d0, d1) in enumerate(items):
        r = ranks[s0] - 1  # strictly smaller source starts
        bv, bi = 0, -1
        while r > 0:
            if tree_val[r] > bv:
                bv, bi = tree_val[r], tree_idx[r]
            r -= r & -r
        best[k] = bv + (d1 - d0)
        prev[k] = bi
        r = ranks[s0]
        while r <= size:
            if best[k] > tree_val[r]:
                tree_val[r], tree_idx[r] = best[k], k
            r += r & -r
    k = max(range(len(items)), key=lambda x: best[x])
    keep: set[int] = set()
    while k != -1:
        keep.add(k)
        k = prev[k]
    kept_starts = sorted(items[x][0] for x in keep)
    moves: list[list[int]] = []
    last = -2
    for k, (s0, s1, d0, d1) in enumerate(items):
        if k in keep:
            continue
        if moves and last == k - 1 and s0 >= moves[-1][1]:
            between = bisect.bisect_left(kept_starts, s0) - bisect.bisect_left(kept_starts, moves[-1][1])
            if between == 0:
                moves[-1][1] = max(moves[-1][1], s1)
                moves[-1][3] = max(moves[-1][3], d1)
                last = k
                continue
        moves.append([s0, s1, d0, d1])
        last = k
    moves.extend([list(x) for x in inside])
    return moves, [items[x] for x in sorted(keep)]


def _weighted_lis(keys: Sequence[int], weights: Sequence[int]) -> set[int]:
    """Indices of the non-decreasing subsequence of ``keys`` with the largest total weight."""
    n = len(keys)
    if not n:
        return set()
    ranks = {v: r + 1 for r, v in enumerate(sorted(set(keys)))}
    size = len(ranks)
    tree_val = [0] * (size + 1)
    tree_idx = [-1] * (size + 1)
    best = [0] * n
    prev = [-1] * n
    for k in range(n):
        r = ranks[keys[k]]
        bv, bi = 0, -1
        q = r
        while q > 0:
            if tree_val[q] > bv:
                bv, bi = tree_val[q], tree_idx[q]
            q -= q & -q
        best[k] = bv + weights[k]
        prev[k] = bi
        while r <= size:
            if best[k] > tree_val[r]:
                tree_val[r], tree_idx[r] = best[k], k
            r += r & -r
    k = max(range(n), key=lambda x: best[x])
    keep: set[int] = set()
    while k != -1:
        keep.add(k)
        k = prev[k]
    return keep


def _sentences(tok: Tokens, lo: int, hi: int) -> list[tuple[int, int]]:
    """Token ranges of the sentences (``SENTENCE_START``) among tokens ``[lo, hi)``."""
    if hi <= lo:
        return []
    starts = (np.flatnonzero(tok.stop[lo:hi] & SENTENCE_START) + lo).tolist()
    if not starts or starts[0] != lo:
        starts.insert(0, lo)
    return list(zip(starts, starts[1:] + [hi], strict=True))


#: A copy sentence is placed in the source when it shares this many word pairs with
#: one source sentence (and a quarter of its own, and twice as many as with any other).
_MIN_SHARED = 3
#: Word pairs in more source sentences than this say nothing about where one came from.
_MAX_POSTINGS = 8


def _sentence_moves(src_text: str, dst_text: str, s0: int, s1: int, d0: int, d1: int
                    ) -> list[list[int]]:
    """Sentences moved inside one aligned passage (the aligner tolerates reordering)."""
    stok, sids, _ = _tokens(src_text)
    dtok, dids, _ = _tokens(dst_text)
    s_lo, s_hi = _window(stok, s0, s1)
    d_lo, d_hi = _window(dtok, d0, d1)
    ssent = _sentences(stok, s_lo, s_hi)
    dsent = _sentences(dtok, d_lo, d_hi)
    if len(ssent) < 2 or len(dsent) < 2:
        return []
    # a copy sentence is placed at the source sentence sharing most of its rare word
    # pairs (pairs in few source sentences): robust to swaps, specific in long texts
    postings: dict[int, list[int]] = {}
    for k, (a, b) in enumerate(ssent):
        for i in range(a, b - 1):
            lst = postings.setdefault(sids[i] * 1_000_003 + sids[i + 1], [])
            if not lst or lst[-1] != k:
                lst.append(k)
    placed: list[tuple[int, int]] = []  # (copy sentence, source sentence)
    for k, (a, b) in enumerate(dsent):
        pairs = {dids[j] * 1_000_003 + dids[j + 1] for j in range(a, b - 1)}
        votes: Counter[int] = Counter()
        for w in pairs:
            lst = postings.get(w)
            if lst and len(lst) <= _MAX_POSTINGS:
                votes.update(lst)
        if votes:
            (best, n), *rest = votes.most_common(2)
            if n >= _MIN_SHARED and 4 * n >= len(pairs) and not (rest and 2 * rest[0][1] > n):
                placed.append((k, best))
    if len(placed) < 2:
        return []
    weights = [dsent[k][1] - dsent[k][0] for k, _ in placed]
    keep = _weighted_lis([x for _, x in placed], weights)
    moves: list[list[int]] = []
    prev_k = prev_x = -2
    for n, (k, x) in enumerate(placed):
        if n in keep:
            continue
        (sa, sb), (da, db) = ssent[x], dsent[k]
        ss, se = edge_offsets(stok, sa, sb)
        ds, de = edge_offsets(dtok, da, db)
        span = [int(ss), int(se), int(ds), int(de)]
        if moves and k == prev_k + 1 and x == prev_x + 1:
            moves[-1][1], moves[-1][3] = span[1], span[3]
        else:
            moves.append(span)
        prev_k, prev_x = k, x
    return moves


def find_moves(src_text: str, dst_text: str,
               spans: list[tuple[int, int, int, int]]) -> list[Move]:
    """Aligned passages ``(src_start, src_end, dst_start, dst_end)`` moved out of source order,
    and sentences moved inside one passage; in copy order.

    >>> src = "A one. B two. C three."
    >>> find_moves(src, "C three. A one. B two.", [(0, 6, 9, 15), (7, 13, 16, 22), (14, 22, 0, 8)])
    [Move(src_span=(14, 22), dst_span=(0, 8))]
    """
    moves, kept = _passage_moves(spans)
    for s0, s1, d0, d1 in kept:
        moves.extend(_sentence_moves(src_text, dst_text, s0, s1, d0, d1))
    moves.sort(key=lambda m: (m[2], m[0]))
    return [Move((m[0], m[1]), (m[2], m[3])) for m in moves]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return (start, end) if end > start else None


def _outside(span: tuple[int, int], holes: Sequence[tuple[int, int]], text: str
             ) -> list[tuple[int, int]]:
    """The parts of ``span`` outside every hole, trimmed to words."""
    parts = [span]
    for h0, h1 in holes:
        nxt = []
        for a, b in parts:
            if h1 <= a or b <= h0:
                nxt.append((a, b))
                continue
            nxt.extend(x for x in (_trim(text, a, h0), _trim(text, h1, b)) if x and x[0] >= a and x[1] <= b)
        parts = nxt
    return parts


def passage_edits(src_text: str, dst_text: str, spans: list[tuple[int, int, int, int]]
                  ) -> tuple[list[Edit], list[Move]]:
    """Edits and moves of a (source, copy) pair from its aligned passages.

    ``word_edits`` on every passage and ``find_moves`` on all of them; a moved
    sentence that a passage took in as an insertion (and left behind as a deletion)
    is compared with its own source text instead, so its swaps are found; what the
    insertion or deletion held besides it stays reported. Edits in copy order.
    """
    moves = find_moves(src_text, dst_text, spans)
    edits: list[Edit] = []
    for s0, s1, d0, d1 in spans:
        edits.extend(word_edits(src_text, s0, s1, dst_text, d0, d1))
    if moves:
        d_holes = [m.dst_span for m in moves]
        s_holes = [m.src_span for m in moves]
        kept: list[Edit] = []
        for e in edits:
            if e.kind == "insertion" and any(
                    h[0] < e.dst_span[1] and e.dst_span[0] < h[1] for h in d_holes):
                kept.extend(Edit("insertion", "", dst_text[a:b], e.src_span, (a, b))
                            for a, b in _outside(e.dst_span, d_holes, dst_text))
            elif e.kind == "deletion" and any(
                    h[0] < e.src_span[1] and e.src_span[0] < h[1] for h in s_holes):
                kept.extend(Edit("deletion", src_text[a:b], "", (a, b), e.dst_span)
                            for a, b in _outside(e.src_span, s_holes, src_text))
            else:
                kept.append(e)
        for m in moves:
            inner = [(s0, s1, d0, d1) for s0, s1, d0, d1 in spans
                     if m.dst_span[0] <= d0 and d1 <= m.dst_span[1]
                     and m.src_span[0] <= s0 and s1 <= m.src_span[1]]
            if not inner:  # moved inside a passage: not yet compared with its source
                kept.extend(word_edits(src_text, *m.src_span, dst_text, *m.dst_span))
        edits = kept
    edits.sort(key=lambda e: (e.dst_span, e.src_span))
    return edits, moves
