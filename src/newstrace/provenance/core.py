"""The pieces of the attribution model (see ``newstrace.provenance``).

Used by ``Index.trace`` for one query; corpus-wide provenance builds on the same
pieces. Derivation classes follow the METER corpus (Gaizauskas, Clough et al.):
*wholly derived* when at least ``Params.wholly_derived`` of the text's tokens lie
in reused passages, *partially derived* from ``Params.partially_derived``, else
*not derived*.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

import numba as nb
import numpy as np

from newstrace.params import Params
from newstrace.tokens import STOPWORDS, TOKEN_RE, quotation_mask

#: A replaced run longer than this (tokens, either side) is a rewrite, not a substitution.
MAX_SUBSTITUTION_TOKENS = 4
#: A source must cover this share of the query's tokens to count as a contributor.
MIN_CONTRIBUTOR_SHARE = 0.05
#: Sources whose covered query regions overlap by this share of the smaller are copies
#: of one another (one contributor, not two).
SAME_GROUP_OVERLAP = 0.5
#: Within such a group, members covering this share of what the best one covers are
#: equally good leads; the one whose passages are most often word for word the text
#: leads (``lead_by_fidelity``).
LEAD_NEAR_COVERAGE = 0.95
#: Fidelities this close are equal for ``lead_by_fidelity`` (then the earliest leads).
LEAD_FIDELITY_TIE = 0.02
#: ...and above this fidelity the text repeats them word for word (see there).
LEAD_VERBATIM = 0.5
#: A copy is flagged as spun when its spin score (weighted lexical substitutions per 100
#: aligned words, see ``spin_score``) reaches this ...
SPIN_FLAG_SCORE = 2.0
#: ... and it has at least this many lexical substitutions.
SPIN_FLAG_MIN_SUBSTITUTIONS = 3


#: Words that report a quotation ("X said", "according to X", "told reporters in a
#: statement"): they surround every shared quotation and are never evidence of copying.
ATTRIBUTION_WORDS: frozenset[str] = frozenset(
    """said says say saying told tell tells added adds adding wrote writes write writing
    according statement statements interview asked asks continued continues noted notes
    explained explains stated states declared declares insisted insists argued argues
    reportedly reported reports reporting replied replies remarked tweeted tweets posted
    announced announces spokesman spokeswoman spokesperson""".split()
)
#: Reused prose outside quotations counts only in runs with at least this many matched
#: content words (not stop words, not attribution words): shorter shared runs are
#: names, titles, attributions and formulaic phrases that independent reports share.
MIN_COPIED_CONTENT_WORDS = 6


def _is_content(surface: str, word: str) -> bool:
    """A word that shows copied prose: not a stop or attribution word, and not
    capitalised (names and titles are shared by every report on the same people)."""
    return (word not in STOPWORDS and word not in ATTRIBUTION_WORDS
            and (len(word) > 1 or word.isdigit()) and not surface[:1].isupper())


def copied_spans(
    copy_text: str,
    copy_span: tuple[int, int],
    source_text: str,
    source_span: tuple[int, int],
    quoted: np.ndarray | None = None,
    min_content_words: int = MIN_COPIED_CONTENT_WORDS,
    source_quoted: np.ndarray | None = None,
    stats: dict[str, Any] | None = None,
) -> list[tuple[int, int]]:
    """The parts of a passage's copy side that are copied prose, as char spans.

    An aligner passage can be far wider than what was copied: it glues two shared
    quotations together with the (different or formulaic) reporting text between
    them, or bridges gaps between sparse matches. Here the passage is aligned word
    by word (``word_alignment``'s diff) and only *runs* of matched words count:
    consecutive matches with at most ``MAX_SUBSTITUTION_TOKENS`` unmatched words
    between them on either side (a spinner's substitutions stay inside a run).
    Each run is cut at quotations (on either side: prose that the source quotes was
    not copied from it, the source quotes it); a piece outside them counts when it
    holds ``min_content_words`` matched content words (``STOPWORDS``,
    ``ATTRIBUTION_WORDS`` and capitalised words, i.e. the names and titles that
    any two reports on the same people share, do not count), from its first to its
    last matched word.

    Args:
        quoted: ``quotation_mask(copy_text)`` when the caller has it.
        source_quoted: ``quotation_mask(source_text)`` likewise.
        stats: when given, filled with ``span`` (the passage widened to sentence
            edges), ``words`` (its copy words outside quotations), ``content_words``
            (its content words outside quotations) and ``content`` (matched content
            words outside quotations on both sides): what
            ``reworded_weight`` needs, without aligning the passage twice.

    >>> src = 'Ten people died when floods hit northern villages, police said. "It is awful," the mayor said.'
    >>> cpy = 'Floods killed ten. "It is awful," the mayor said on Monday.'
    >>> copied_spans(cpy, (19, 49), src, (64, 94))
    []
    >>> copied_spans(src, (0, 63), src, (0, 63))
    [(0, 62)]
    """
    copy_span, source_span = extend_to_sentence_edges(
        copy_text, copy_span, source_text, source_span)
    cw = _words(copy_text, *copy_span)
    sw = _words(source_text, *source_span)
    if not cw or not sw:
        return []
    if quoted is None:
        quoted = quotation_mask(copy_text)
    if source_quoted is None:
        source_quoted = quotation_mask(source_text)
    pairs: list[tuple[int, int]] = []  # (copy word, source word) matched
    for tag, i1, i2, j1, _j2 in _word_opcodes([w for *_, w in sw], [w for *_, w in cw]):
        if tag == "equal":
            pairs.extend((j1 + k, i1 + k) for k in range(i2 - i1))
    if stats is not None:
        stats["span"] = copy_span
        stats["words"] = sum(1 for start, _, _ in cw if not quoted[start])
        stats["content"] = sum(
            1 for c, s in pairs
            if not quoted[cw[c][0]] and not source_quoted[sw[s][0]]
            and _is_content(copy_text[cw[c][0]:cw[c][1]], cw[c][2]))
        stats["content_words"] = sum(
            1 for start, end, word in cw if not quoted[start] and _is_content(copy_text[start:end], word))
    out: list[tuple[int, int]] = []
    lim = MAX_SUBSTITUTION_TOKENS

    def flush(run: list[tuple[int, int]]) -> None:
        if not run:
            return
        source_of = dict(run)
        piece = 0  # matched content words of the current unquoted piece
        lo = hi = -1
        for c in range(run[0][0], run[-1][0] + 1):
            start, end, word = cw[c]
            s = source_of.get(c)
            if quoted[start] or (s is not None and source_quoted[sw[s][0]]):
                if piece >= min_content_words:
                    out.append((lo, hi))
                piece, lo = 0, -1
            elif s is not None:
                if lo < 0:
                    lo = start
                hi = end
                piece += _is_content(copy_text[start:end], word)
        if piece >= min_content_words:
            out.append((lo, hi))

    run: list[tuple[int, int]] = []
    for c, s in pairs:
        if run and (c - run[-1][0] - 1 > lim or s - run[-1][1] - 1 > lim):
            flush(run)
            run = []
        run.append((c, s))
    flush(run)
    return out


def copied_mask(
    text: str,
    sources: Iterable[tuple[str, Iterable[tuple[int, int, int, int]]]],
    min_content_words: int = MIN_COPIED_CONTENT_WORDS,
    reworded: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of the characters of ``text`` that are copied prose (``copied_spans``).

    Args:
        text: The document (the copy).
        sources: ``(source_text, passages)`` per source, each passage
            ``(start, end, source_start, source_end)`` (char offsets in ``text`` first).
        reworded: when given (a float array as long as ``text``, zeros), each
            passage's characters are set to its ``reworded_weight`` (the highest over
            the passages covering them): the reworded prose around the copied runs.
    """
    mask = np.zeros(len(text), dtype=bool)
    quoted = _quotations(text)
    for source_text, spans in sources:
        source_quoted: np.ndarray | None = None
        for t0, t1, s0, s1 in spans:
            outside = ~quoted[t0:t1]
            todo = int(outside.sum())
            if todo == 0 or int((mask[t0:t1] & outside).sum()) >= ALREADY_COPIED * todo:
                continue  # (nearly) all of it is copied prose from an earlier-listed source
            if source_quoted is None:
                source_quoted = _quotations(source_text)
            stats: dict[str, Any] = {}
            for a, b in copied_spans(text, (t0, t1), source_text, (s0, s1), quoted,
                                     min_content_words, source_quoted, stats):
                mask[a:b] = True
            if reworded is not None and stats:
                w = reworded_weight(stats["content"], stats["content_words"])
                if w > 0:
                    a, b = stats["span"]
                    np.maximum(reworded[a:b], w, out=reworded[a:b])
    return mask


#: A reused passage that is reworded rather than copied run by run (a heavy rewrite that
#: the aligner still found: it passed its seed, density and topic tests) counts toward
#: the derived share with a weight (``reworded_weight``): the share of its content words
#: outside quotations that match the source, at most ``REWORDED_MAX_WEIGHT``, when it
#: holds at least ``REWORDED_MIN_CONTENT_WORDS`` matched content words (a paragraph's
#: worth: names, stop words, attribution words and quotations never count, so two
#: reports of one event sharing a sentence or a quotation stay out; on BASIL no
#: passage between independent reports has more than 14) and that share reaches
#: ``REWORDED_MIN_DENSITY``.
REWORDED_MIN_CONTENT_WORDS = 16
REWORDED_MIN_DENSITY = 0.3
REWORDED_MAX_WEIGHT = 0.75


def reworded_weight(content: int, content_words: int) -> float:
    """Weight of a reworded passage's characters in the derived share (see
    ``REWORDED_MIN_CONTENT_WORDS``): 0 below the minimums, else the share of its
    content words that match the source, capped at ``REWORDED_MAX_WEIGHT``.

    >>> reworded_weight(10, 20), reworded_weight(20, 80), reworded_weight(20, 40), reworded_weight(30, 32)
    (0.0, 0.0, 0.5, 0.75)
    """
    if content < REWORDED_MIN_CONTENT_WORDS or content_words <= 0:
        return 0.0
    density = content / content_words
    if density < REWORDED_MIN_DENSITY:
        return 0.0
    return min(REWORDED_MAX_WEIGHT, density)


#: ``copied_mask`` skips a passage when this share of its unquoted characters is already
#: copied prose from a source listed before (list sources best first): a story reprinted
#: ten times is word-aligned against one copy, not ten.
ALREADY_COPIED = 0.8


def derived_share(
    text: str,
    reused: np.ndarray,
    sources: Iterable[tuple[str, Iterable[tuple[int, int, int, int]]]] | None = None,
) -> float:
    """Share of ``text``'s own prose reused from other documents.

    Two outlets quoting the same speaker share the quotation without one copying
    the other, so quoted text is evidence of nothing, either way: the share is the
    reused characters *outside* direct quotations over all characters outside them
    (a verbatim reprint of an article that is one quarter quotation is still wholly
    derived).

    Args:
        text: The document.
        reused: Boolean mask over its characters of what passages cover.
        sources: The passages behind ``reused`` with their source texts
            (``(source_text, [(start, end, source_start, source_end), ...])`` per
            source). When given, only copied prose counts (``copied_mask``): runs of
            matched words outside quotations, not the reporting text, names and
            attributions that an aligner passage also covers, plus the reworded
            prose of the passages with their ``reworded_weight`` (a rewrite is
            reuse too, METER's *partially derived*, counted at a discount). Without
            it the whole mask counts.

    >>> t = 'Rain fell. “We are ready,” the mayor said.'
    >>> derived_share(t, quotation_mask(t)), derived_share(t, np.ones(len(t), bool))
    (0.0, 1.0)
    """
    if not len(text):
        return 0.0
    outside = ~quotation_mask(text)
    n = int(outside.sum())
    if n == 0:
        return 0.0
    if sources is not None:
        weights = np.zeros(len(text), dtype=np.float32)
        copied = reused & copied_mask(text, sources, reworded=weights) & outside
        rest = reused & outside & ~copied
        return (float(copied.sum()) + float(weights[rest].sum())) / n
    return float((reused & outside).sum()) / n


def classify(share: float, params: Params) -> str:
    """METER-style class from the share of a text that is reused.

    >>> from newstrace.params import Params
    >>> classify(0.9, Params()), classify(0.3, Params()), classify(0.01, Params())
    ('wholly derived', 'partially derived', 'not derived')
    """
    if share >= params.wholly_derived:
        return "wholly derived"
    if share >= params.partially_derived:
        return "partially derived"
    return "not derived"


#: ``TOKEN_RE`` on ASCII text (no CJK, no combining marks: runs of letters and digits).
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+")


def _all_words(text: str) -> list[tuple[int, int, str]]:
    if text.isascii():  # NFKC leaves ASCII alone, and lowering keeps its offsets
        low = text.lower()
        return [(m.start(), m.end(), m.group()) for m in _ASCII_WORD_RE.finditer(low)]
    return [
        (m.start(), m.end(), unicodedata.normalize("NFKC", m.group()).casefold())
        for m in TOKEN_RE.finditer(text)
    ]


#: The words of recently seen texts: corpus provenance aligns one text against many
#: (a wire story against each of its copies), each passage being a slice of it.
_WORDS_CACHE: OrderedDict[int, tuple[str, list[int], list[tuple[int, int, str]]]] = OrderedDict()
_WORDS_CACHE_SIZE = 4096


_QUOTED_CACHE: OrderedDict[int, tuple[str, np.ndarray]] = OrderedDict()


def _quotations(text: str) -> np.ndarray:
    """``quotation_mask(text)``, remembered for recently seen texts (by identity, as
    ``_words``); the mask is shared: read it, don't write it."""
    hit = _QUOTED_CACHE.get(id(text))
    if hit is None or hit[0] is not text:
        hit = (text, quotation_mask(text))
        _QUOTED_CACHE[id(text)] = hit
        if len(_QUOTED_CACHE) > _WORDS_CACHE_SIZE:
            _QUOTED_CACHE.popitem(last=False)
    else:
        _QUOTED_CACHE.move_to_end(id(text))
    return hit[1]


def _words(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """The words lying in ``text[start:end]``: ``(start, end, normalised form)``."""
    hit = _WORDS_CACHE.get(id(text))
    if hit is None or hit[0] is not text:
        words = _all_words(text)
        hit = (text, [w[0] for w in words], words)
        _WORDS_CACHE[id(text)] = hit
        if len(_WORDS_CACHE) > _WORDS_CACHE_SIZE:
            _WORDS_CACHE.popitem(last=False)
    else:
        _WORDS_CACHE.move_to_end(id(text))
    _, starts, words = hit
    i = bisect.bisect_left(starts, start)
    j = bisect.bisect_left(starts, end)
    while j > i and words[j - 1][1] > end:  # a word running past the span is not in it
        j -= 1
    return words[i:j]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _split_replace(src: Sequence[str], cpy: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """Split a replaced run into the finest plausible substitution segments.

    A spinner often replaces adjacent words ("Russia want" -> "Russian Federation wish
    for"); ``SequenceMatcher`` reports them as one block. A small dynamic programme
    pairs equal-length runs word for word; for unequal runs a small dynamic programme
    cuts both sides into the same number of segments (1..``MAX_SUBSTITUTION_TOKENS``
    words each), preferring more segments, segments whose words share a prefix
    ("Russia"/"Russian") and segments of similar length, and keeps the cut only when
    such a shared prefix anchors it ("more than" -> "in excess of" stays one pair).
    Returns ``(i1, i2, j1, j2)`` relative to the block.
    """
    n, m = len(src), len(cpy)
    if n == 0 or m == 0 or (n == 1 and m == 1):
        return [(0, n, 0, m)]
    if n == m:
        return [(k, k + 1, k, k + 1) for k in range(n)]
    lim = MAX_SUBSTITUTION_TOKENS
    neg = float("-inf")
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if best[i][j] == neg:
                continue
            for di in range(1, min(lim, n - i) + 1):
                for dj in range(1, min(lim, m - j) + 1):
                    a, b = src[i], cpy[j]
                    pre = _common_prefix(a, b)
                    sim = pre / max(len(a), len(b)) if pre >= 3 else 0.0
                    score = best[i][j] + 1.0 + 2.0 * sim - 0.3 * (di - dj) ** 2
                    if score > best[i + di][j + dj]:
                        best[i + di][j + dj] = score
                        back[i + di][j + dj] = (i, j)
    segs: list[tuple[int, int, int, int]] = []
    evidence = False
    i, j = n, m
    while (i, j) != (0, 0):
        prev = back[i][j]
        if prev is None:  # pragma: no cover - every (n, m) <= lim is reachable
            return [(0, n, 0, m)]
        segs.append((prev[0], i, prev[1], j))
        evidence = evidence or _common_prefix(src[prev[0]], cpy[prev[1]]) >= 3
        i, j = prev
    # unequal lengths are only cut where a shared word prefix shows where to cut
    return segs[::-1] if evidence and len(segs) > 1 else [(0, n, 0, m)]


_EDGE = re.compile(r"[.!?…。！？\n]")


def extend_to_sentence_edges(
    copy_text: str, copy_span: tuple[int, int], source_text: str, source_span: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Widen a passage to the sentence edges when only a few words are left out.

    The aligner ends a passage on an exact match, so a substitution in the first or
    last words of a sentence ("... has been weak." -> "... has been feeble.") falls
    outside it. When both sides have 1..``MAX_SUBSTITUTION_TOKENS`` words before the
    sentence boundary, both spans are widened to take them in.

    >>> extend_to_sentence_edges("It was feeble.", (0, 6), "It was weak.", (0, 6))
    ((0, 13), (0, 11))
    """

    def tail(text: str, end: int) -> int | None:
        m = _EDGE.search(text, end)
        stop = m.start() if m else len(text)
        words = list(TOKEN_RE.finditer(text, end, stop))
        return words[-1].end() if 0 < len(words) <= MAX_SUBSTITUTION_TOKENS else None

    def head(text: str, start: int) -> int | None:
        lo = max(0, start - 200)
        edges = list(_EDGE.finditer(text, lo, start))
        begin = edges[-1].end() if edges else (0 if lo == 0 else None)
        if begin is None:
            return None
        words = list(TOKEN_RE.finditer(text, begin, start))
        return words[0].start() if 0 < len(words) <= MAX_SUBSTITUTION_TOKENS else None

    (c0, c1), (s0, s1) = copy_span, source_span
    ct, st = tail(copy_text, c1), tail(source_text, s1)
    if ct is not None and st is not None:
        c1, s1 = ct, st
    ch, sh = head(copy_text, c0), head(source_text, s0)
    if ch is not None and sh is not None:
        c0, s0 = ch, sh
    return (c0, c1), (s0, s1)


#: Above this many cells the compiled LCS gives way to difflib (memory bound).
_LCS_MAX_CELLS = 4_000_000


@nb.njit(cache=True, nogil=True)
def _lcs_ops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Longest common subsequence of two int sequences, as a list of ops.

    Returns rows ``(op, i, j)``: op 0 = match a[i] with b[j], 1 = delete a[i],
    2 = insert b[j], in order. O(len(a) * len(b)) time and memory.
    """
    n = a.shape[0]
    m = b.shape[0]
    dp = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if a[i] == b[j]:
                dp[i, j] = dp[i + 1, j + 1] + 1
            elif dp[i + 1, j] >= dp[i, j + 1]:
                dp[i, j] = dp[i + 1, j]
            else:
                dp[i, j] = dp[i, j + 1]
    out = np.empty((n + m, 3), dtype=np.int64)
    k = 0
    i = 0
    j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            out[k, 0] = 0
            out[k, 1] = i
            out[k, 2] = j
            i += 1
            j += 1
        elif dp[i + 1, j] >= dp[i, j + 1]:
            out[k, 0] = 1
            out[k, 1] = i
            out[k, 2] = j
            i += 1
        else:
            out[k, 0] = 2
            out[k, 1] = i
            out[k, 2] = j
            j += 1
        k += 1
    while i < n:
        out[k, 0] = 1
        out[k, 1] = i
        out[k, 2] = j
        i += 1
        k += 1
    while j < m:
        out[k, 0] = 2
        out[k, 1] = i
        out[k, 2] = j
        j += 1
        k += 1
    return out[:k]


_OPCODES_CACHE: OrderedDict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[str, int, int, int, int]]] = OrderedDict()
_OPCODES_CACHE_SIZE = 2048


def _word_opcodes(src: Sequence[str], cpy: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """``_word_opcodes_uncached``, remembered for recent word sequences: the attribution
    model aligns a passage for its copied prose, its matches and its edits."""
    key = (tuple(src), tuple(cpy))
    hit = _OPCODES_CACHE.get(key)
    if hit is not None:
        _OPCODES_CACHE.move_to_end(key)
        return hit
    out = _word_opcodes_uncached(src, cpy)
    _OPCODES_CACHE[key] = out
    if len(_OPCODES_CACHE) > _OPCODES_CACHE_SIZE:
        _OPCODES_CACHE.popitem(last=False)
    return out


def _word_opcodes_uncached(src: Sequence[str], cpy: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes (equal/replace/delete/insert) turning ``src`` into ``cpy``.

    Identical sequences take a fast path; otherwise a compiled LCS (difflib for huge
    passages). Adjacent deletions and insertions between two matches form a replace.

    >>> _word_opcodes_uncached(["a", "b", "c"], ["a", "x", "c", "d"])
    [('equal', 0, 1, 0, 1), ('replace', 1, 2, 1, 2), ('equal', 2, 3, 2, 3), ('insert', 3, 3, 3, 4)]
    """
    n, m = len(src), len(cpy)
    if list(src) == list(cpy):
        return [("equal", 0, n, 0, m)] if n else []
    if n * m > _LCS_MAX_CELLS:
        sm = SequenceMatcher(None, list(src), list(cpy), autojunk=False)
        return [tuple(op) for op in sm.get_opcodes()]  # type: ignore[misc]
    vocab: dict[str, int] = {}
    a = np.array([vocab.setdefault(w, len(vocab)) for w in src], dtype=np.int64)
    b = np.array([vocab.setdefault(w, len(vocab)) for w in cpy], dtype=np.int64)
    ops = _lcs_ops(a, b).tolist()
    out: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    k = 0
    while k < len(ops):
        if ops[k][0] == 0:
            i0, j0 = i, j
            while k < len(ops) and ops[k][0] == 0:
                i += 1
                j += 1
                k += 1
            out.append(("equal", i0, i, j0, j))
        else:
            i0, j0 = i, j
            while k < len(ops) and ops[k][0] != 0:
                if ops[k][0] == 1:
                    i += 1
                else:
                    j += 1
                k += 1
            tag = "replace" if i > i0 and j > j0 else ("delete" if i > i0 else "insert")
            out.append((tag, i0, i, j0, j))
    return out


def word_alignment(
    copy_text: str,
    copy_span: tuple[int, int],
    source_text: str,
    source_span: tuple[int, int],
    extend: bool = True,
) -> tuple[list[tuple[int, int, int, int]], list[dict[str, Any]]]:
    """Word-level diff of a reused passage.

    Returns:
        ``(matches, edits)``: matched words as ``(copy_start, copy_end, source_start,
        source_end)`` char offsets, and the edits turning the source passage into the
        copy: ``{"op": "substitute"|"insert"|"delete"|"rewrite", "source", "replacement",
        "source_start", "source_end", "copy_start", "copy_end"}``. With ``extend`` the
        spans are first widened to the sentence edges when only a few words are left
        out on both sides (``extend_to_sentence_edges``). A replaced run of at
        most ``MAX_SUBSTITUTION_TOKENS`` words on each side is split into single
        substitutions where it plausibly holds several (see ``_split_replace``); longer
        replaced runs are rewrites.

    >>> m, e = word_alignment("Russian Federation wish for peace", (0, 33), "Russia want peace", (0, 17))
    >>> [(x["source"], x["replacement"]) for x in e]
    [('Russia', 'Russian Federation'), ('want', 'wish for')]
    """
    if extend:
        copy_span, source_span = extend_to_sentence_edges(
            copy_text, copy_span, source_text, source_span
        )
    cw = _words(copy_text, *copy_span)
    sw = _words(source_text, *source_span)
    opcodes = _word_opcodes([w for _, _, w in sw], [w for _, _, w in cw])
    matches: list[tuple[int, int, int, int]] = []
    edits: list[dict[str, Any]] = []

    def add(op: str, i1: int, i2: int, j1: int, j2: int) -> None:
        s_start = sw[i1][0] if i2 > i1 else (sw[i1 - 1][1] if i1 > 0 else source_span[0])
        s_end = sw[i2 - 1][1] if i2 > i1 else s_start
        c_start = cw[j1][0] if j2 > j1 else (cw[j1 - 1][1] if j1 > 0 else copy_span[0])
        c_end = cw[j2 - 1][1] if j2 > j1 else c_start
        edits.append(
            {
                "op": op,
                "source": source_text[s_start:s_end],
                "replacement": copy_text[c_start:c_end],
                "source_start": s_start, "source_end": s_end,
                "copy_start": c_start, "copy_end": c_end,
            }
        )

    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            for k in range(i2 - i1):
                s, c = sw[i1 + k], cw[j1 + k]
                matches.append((c[0], c[1], s[0], s[1]))
        elif tag == "replace":
            if max(i2 - i1, j2 - j1) > MAX_SUBSTITUTION_TOKENS:
                add("rewrite", i1, i2, j1, j2)
                continue
            segs = _split_replace([w for _, _, w in sw[i1:i2]], [w for _, _, w in cw[j1:j2]])
            for a1, a2, b1, b2 in segs:
                add("substitute", i1 + a1, i1 + a2, j1 + b1, j1 + b2)
        else:
            add("delete" if tag == "delete" else "insert", i1, i2, j1, j2)
    return matches, edits


def word_matches_only(
    copy_text: str,
    copy_span: tuple[int, int],
    source_text: str,
    source_span: tuple[int, int],
) -> list[tuple[int, int, int, int]]:
    """``word_alignment(...)[0]`` without working out the edits (the matched words of a
    passage are needed for every source, the edits only against a text's leads).

    >>> word_matches_only("It was feeble.", (0, 6), "It was weak.", (0, 6))
    [(0, 2, 0, 2), (3, 6, 3, 6)]
    """
    copy_span, source_span = extend_to_sentence_edges(copy_text, copy_span, source_text, source_span)
    cw = _words(copy_text, *copy_span)
    sw = _words(source_text, *source_span)
    out: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, _j2 in _word_opcodes([w for _, _, w in sw], [w for _, _, w in cw]):
        if tag == "equal":
            for k in range(i2 - i1):
                s, c = sw[i1 + k], cw[j1 + k]
                out.append((c[0], c[1], s[0], s[1]))
    return out


def is_lexical_substitution(source: str, replacement: str) -> bool:
    """True for a word-for-word swap a spinner makes; False for ordinary editing.

    Number changes ("4,300" -> "4,500"), case-only changes and inflections of one
    stem ("reports" -> "reported") are editing, not spinning.

    >>> is_lexical_substitution("want", "wish for"), is_lexical_substitution("12", "14")
    (True, False)
    """
    a, b = source.casefold().strip(), replacement.casefold().strip()
    if not a or not b or a == b:
        return False
    if any(ch.isdigit() for ch in a + b):
        return False
    wa, wb = a.split(), b.split()
    if len(wa) == 1 and len(wb) == 1 and _common_prefix(a, b) >= max(4, min(len(a), len(b)) - 2):
        return False
    return True


def spin_score(
    substitutions: Sequence[tuple[str, str]],
    aligned_words: int,
    pair_docs: Mapping[tuple[str, str], int] | None = None,
) -> float:
    """Spin score of one copy: weighted lexical substitutions per 100 aligned words.

    In the spirit of DSpin (Zhang et al., NDSS 2014): a spinner swaps words for
    dictionary synonyms at a steady rate, and its pairs recur across the articles it
    spins, while ordinary editing changes numbers, inflections or rewrites whole
    clauses. Each lexical substitution (``is_lexical_substitution``) weighs 1, plus 1
    when the same (casefolded) pair is seen in at least two documents of the corpus
    (``pair_docs``: pair -> number of documents). Non-lexical substitutions weigh 0.
    A verbatim reprint scores 0; a copy spun at a rate of 20-40 % scores about 5-15.

    >>> spin_score([("want", "wish for"), ("12", "14")], 100)
    1.0
    """
    total = 0.0
    for src, rep in substitutions:
        if not is_lexical_substitution(src, rep):
            continue
        key = (src.casefold(), rep.casefold())
        total += 1.0 + (1.0 if pair_docs and pair_docs.get(key, 0) >= 2 else 0.0)
    return round(100.0 * total / max(1, aligned_words), 3)


def group_sources(masks: Mapping[str, np.ndarray], order: Sequence[str]) -> list[list[str]]:
    """Group sources that are copies of one another (one independent source per group).

    ``masks`` gives, per source, the boolean mask of the copy's tokens (or chars) it
    covers; ``order`` ranks the sources (most coverage first, then earliest). A source
    joins the first group whose lead it overlaps by ``SAME_GROUP_OVERLAP`` of the
    smaller of the two; the lead of each group is its first (best-ranked) member.
    """
    groups: list[list[str]] = []
    for sid in order:
        mask = masks[sid]
        n = int(mask.sum())
        for g in groups:
            lead = masks[g[0]]
            inter = int((lead & mask).sum())
            if inter > 0 and inter >= SAME_GROUP_OVERLAP * min(int(lead.sum()), n):
                g.append(sid)
                break
        else:
            groups.append([sid])
    return groups


def exact_share(text: str, src_text: str, spans: Iterable[tuple[int, int, int, int]]) -> float:
    """Share of the characters of ``spans`` (``(t0, t1, s0, s1)``: ``text[t0:t1]`` aligned
    to ``src_text[s0:s1]``) in spans that are the same text, spacing aside.

    >>> exact_share("a b. c d.", "c  d. a x.", [(0, 4, 6, 10), (5, 9, 0, 5)])
    0.5
    """
    same = total = 0
    for t0, t1, s0, s1 in spans:
        total += t1 - t0
        if text[t0:t1].split() == src_text[s0:s1].split():
            same += t1 - t0
    return same / total if total else 0.0


def lead_by_fidelity(groups: list[list[str]], masks: Mapping[str, np.ndarray],
                     fidelity: Callable[[str], float],
                     date_key: Callable[[str], Any] | None = None) -> None:
    """Re-lead each group of copies (in place): of the members covering
    ``LEAD_NEAR_COVERAGE`` of what the first covers, the one with the highest
    ``fidelity`` (e.g. ``exact_share``) leads. A copy spun from the original or the
    original itself, both covering a reprint, are told apart by which one the reprint
    repeats word for word. Members within ``LEAD_FIDELITY_TIE`` of the best fidelity
    are equals. Of equals the first in ranking order (most covered) leads when the text
    repeats them word for word (fidelity >= ``LEAD_VERBATIM``: a reprint of a reprint
    holds the words the second added); when it repeats neither (a spun text), a word
    more or less covered is chance and the earliest (``date_key``) leads.
    """
    for g in groups:
        best = int(masks[g[0]].sum())
        near = [sid for sid in g if int(masks[sid].sum()) >= LEAD_NEAR_COVERAGE * best]
        if len(near) < 2:
            continue
        fid = {sid: fidelity(sid) for sid in near}
        top = max(fid.values())
        equals = [sid for sid in near if fid[sid] >= top - LEAD_FIDELITY_TIE]
        if date_key is None or top >= LEAD_VERBATIM:
            lead = equals[0]  # repeated word for word: the one covering most (ranking)
        else:  # a reworded text: a word more or less is chance, the earliest leads
            lead = min(equals, key=date_key)
        g.remove(lead)
        g.insert(0, lead)


def contributor_groups(
    masks: Mapping[str, np.ndarray], order: Sequence[str], n: int
) -> list[tuple[list[str], np.ndarray]]:
    """Independent sources of a text: ``group_sources`` groups with their union mask,
    keeping those that cover at least ``MIN_CONTRIBUTOR_SHARE`` of its ``n`` tokens.

    Two or more contributors make the text a composite.
    """
    out = []
    for group in group_sources(masks, order):
        union = np.zeros(n, dtype=bool)
        for sid in group:
            union |= masks[sid]
        if union.sum() / max(1, n) >= MIN_CONTRIBUTOR_SHARE:
            out.append((group, union))
    return out


def earliest_label(ids: Sequence[str], meta: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], str]:
    """The earliest of ``ids`` by ``published_at``, and a sentence saying how sure that is.

    Returns ``(earliest_ids, label)``: one id when it is clearly first; all of them,
    labelled "equally early: X, Y", when several share the first timestamp; the
    earliest dated one, labelled "unknown — earliest dated copy is X", when some are
    undated; ``([], "unknown — no dated copy")`` when none is dated.

    >>> from datetime import datetime as D
    >>> m = {"a": {"published_at": D(2026, 1, 1)}, "b": {"published_at": D(2026, 1, 1)}, "c": {}}
    >>> earliest_label(["a", "b"], m)[1], earliest_label(["a", "c"], m)[1]
    ('equally early: a, b', 'unknown — earliest dated copy is a')
    """
    dated = [i for i in ids if meta[i].get("published_at") is not None]
    if not dated:
        return [], "unknown — no dated copy" if ids else "no source"
    first = min(meta[i]["published_at"] for i in dated)
    tied = sorted(i for i in dated if meta[i]["published_at"] == first)
    if len(tied) > 1:
        return tied, "equally early: " + ", ".join(tied)
    if len(dated) < len(ids):
        return tied, f"unknown — earliest dated copy is {tied[0]}"
    return tied, tied[0]


def _sort_key_date(meta: Mapping[str, Any]) -> tuple[bool, datetime, str]:
    when = meta.get("published_at")
    return (when is None, when or datetime.max, str(meta.get("id")))


def is_spun(score: float, n_lexical: int) -> bool:
    """Flag a copy as spun: ``score >= SPIN_FLAG_SCORE`` and enough lexical swaps."""
    return score >= SPIN_FLAG_SCORE and n_lexical >= SPIN_FLAG_MIN_SUBSTITUTIONS


def _mask_spans(mask: np.ndarray, tok: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Character spans ``[start, end]`` of the runs of True in a token mask."""
    out: list[list[int]] = []
    k = 0
    n = len(mask)
    while k < n:
        if mask[k]:
            j = k
            while j + 1 < n and mask[j + 1]:
                j += 1
            out.append([int(tok[k][0]), int(tok[j][1])])
            k = j + 1
        else:
            k += 1
    return out


def _earliest(ids: Sequence[str], meta: Mapping[str, Mapping[str, Any]]) -> str:
    return min(ids, key=lambda s: _sort_key_date(meta[s]))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
