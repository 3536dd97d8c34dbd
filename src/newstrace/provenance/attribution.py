"""The attribution model: one text, its aligned passages and their documents -> one
:class:`Attribution`.

``Index.trace`` (via ``build_trace``), corpus provenance
(``corpus_provenance.document_provenance``, both engines), ``watch`` and through them
the web pages and the report all call :func:`attribute`; each only formats its result.

Rules (documented constants in ``newstrace.provenance.core`` and here):

* **Sources** are ranked by the share of the text's tokens their passages cover, then
  by date. Going down the ranking, a source is an **independent source** (a
  *contributor*) when it covers at least ``MIN_CONTRIBUTOR_SHARE`` of the text's tokens
  (or ``MIN_CONTRIBUTOR_TOKENS`` of them in a long text, whichever is fewer) that no
  better-ranked contributor covers, in runs of at least ``MIN_UNIQUE_RUN`` tokens. Otherwise it is a **copy** of the
  contributor whose coverage holds at least ``COPY_WITHIN`` of its own, but only when
  their *own texts* are near-identical over that span: the words of the text that each
  of them matches there agree on ``NEAR_IDENTICAL`` of them (two articles that share
  one paragraph are copies of each other over that paragraph, not over the rest). Any
  other source is a separate, minor source. Within a group the member that the text
  repeats most word for word leads (``lead_by_fidelity``).
* **Main** source: the contributor with the largest share. **Composite**: two or more
  contributors, in a text that is derived (a text sharing only quotations or names
  with two others is not a composite of them).
* **Earliest**: ``earliest_label`` over the contributors and their copies (ties,
  undated members spelled out; corpus provenance directs pairs first, clock skew
  included, and only passes earlier sources).
* **Derivation class** (``classify``): ``derived_share`` over all sources' passages:
  copied prose outside quotations plus reworded passages at their
  ``reworded_weight``.
* **Edits, moves, spin**: against each contributor's lead, only over the tokens that
  contributor owns (the first contributor covering them), through
  ``newstrace.provenance.edits`` (``word_edits``, ``find_moves``).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from newstrace.params import Params
from newstrace.provenance.core import (
    MAX_SUBSTITUTION_TOKENS,
    MIN_CONTRIBUTOR_SHARE,
    _words,
    classify,
    derived_share,
    earliest_label,
    exact_share,
    is_lexical_substitution,
    is_spun,
    lead_by_fidelity,
    spin_score,
)
from newstrace.provenance.edits import (
    SWAP_KINDS,
    Edit,
    Move,
    find_moves,
    sentences_of,
    word_edits,
    word_matches,
)
from newstrace.tokens import TOKEN_RE

#: A source is a copy of a contributor only when this share of its covered tokens lies
#: in what the contributor covers ...
COPY_WITHIN = 0.8
#: ... and, over that span, the text's words matched by the one and by the other agree
#: on this share of those matched by either (their own texts are near-identical there).
NEAR_IDENTICAL = 0.8
#: ... or this many of its tokens, whichever is fewer: in a long text (a digest of many
#: stories) each story's source is a source, though under 5 % of it.
MIN_CONTRIBUTOR_TOKENS = 100
#: Only runs of at least this many tokens that no better source covers count as a
#: source's own contribution (not slivers where two versions differ by a word or two).
MIN_UNIQUE_RUN = 8
#: A source counts for a sentence when it matches this share of the sentence's words.
MIN_SENTENCE_SHARE = 0.2

#: ``(t0, t1, s0, s1)``: ``text[t0:t1]`` aligned to ``source_text[s0:s1]``.
Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class SourceGroup:
    """One independent source (a contributor) of the text."""

    id: str
    copies: tuple[str, ...]
    share: float  # share of the text's tokens covered by the group
    spans: tuple[tuple[int, int], ...]  # char spans of the text the lead covers
    published_at: Any
    basis: str | None
    main: bool


@dataclass(frozen=True)
class SentenceSource:
    id: str
    relation: str  # exact / near-exact / reworded / partial
    share: float
    b_start: int
    b_end: int
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    sources: tuple[SentenceSource, ...]
    moved: Move | None
    moved_source: str | None


@dataclass(frozen=True)
class EditCount:
    src: str
    dst: str
    kind: str
    count: int
    source_ids: tuple[str, ...]


@dataclass(frozen=True)
class Attribution:
    """Everything a reader is told about where one text came from."""

    n_chars: int
    n_tokens: int
    order: tuple[str, ...]  # all sources, best first
    coverage_of: Mapping[str, float]  # share of the text's tokens each source covers
    group_of: Mapping[str, int]  # group number of each source (contributors first)
    groups: tuple[SourceGroup, ...]  # the contributors, main first
    main: str | None
    composite: bool
    earliest_ids: tuple[str, ...]
    earliest_note: str
    coverage: float  # share of tokens covered by any source
    derived_share: float
    classification: str
    sentences: tuple[Sentence, ...]
    moves: tuple[tuple[str, Move], ...]  # (source id, move) against the leads
    lead_edits: Mapping[str, tuple[Edit, ...]]  # each contributor lead's edits (owned tokens)
    lead_matches: Mapping[str, tuple[tuple[int, int, int, int], ...]]
    edits: tuple[EditCount, ...]  # word swaps against the leads, most frequent first
    substitutions: tuple[tuple[str, str], ...]  # (from, to) of every swap, for the dictionary
    aligned_words: int
    spin_score: float
    lexical_substitutions: int
    spun: bool
    self_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def contributors(self) -> list[str]:
        return [g.id for g in self.groups]


def _date_key(meta: Mapping[str, Any], sid: str) -> tuple[bool, datetime, str]:
    when = meta.get("published_at")
    return (when is None, when or datetime.max, sid)


def _tok_mask(starts: np.ndarray, spans: Sequence[tuple[int, int]], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if not spans:
        return mask
    arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    lo = np.searchsorted(starts, arr[:, 0])
    hi = np.searchsorted(starts, arr[:, 1])
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        mask[a:b] = True
    return mask


def _word_mask(starts: np.ndarray, matches: Sequence[tuple[int, int, int, int]], n: int) -> np.ndarray:
    """Token mask of matched words (each match is one word: its token by binary search)."""
    mask = np.zeros(n, dtype=bool)
    if matches and n:
        pos = np.fromiter((m[0] for m in matches), dtype=np.int64, count=len(matches))
        k = np.searchsorted(starts, pos, side="right") - 1
        mask[k[k >= 0]] = True
    return mask


def _mask_spans(mask: np.ndarray, tok: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Char spans of the runs of True in a token mask (``tok``: ``(n, 2)`` offsets)."""
    if not mask.any():
        return ()
    m = mask.astype(np.int8)
    d = np.diff(np.concatenate(([0], m, [0])))
    first = np.flatnonzero(d == 1)
    last = np.flatnonzero(d == -1) - 1
    return tuple((int(tok[a, 0]), int(tok[b, 1])) for a, b in zip(first, last, strict=True))


def _long_runs(mask: np.ndarray, least: int) -> int:
    """Number of True in runs of at least ``least`` of them.

    >>> _long_runs(np.array([1, 1, 0, 1, 1, 1], bool), 3)
    3
    """
    if not mask.any():
        return 0
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    lengths = np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
    return int(lengths[lengths >= least].sum())


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """``mask`` with runs of at most ``gap`` False between two True filled in.

    >>> _close_gaps(np.array([1, 0, 0, 1, 0, 0, 0, 1], bool), 2).astype(int).tolist()
    [1, 1, 1, 1, 0, 0, 0, 1]
    """
    idx = np.flatnonzero(mask)
    out = mask.copy()
    if len(idx) < 2:
        return out
    d = np.diff(idx)
    fill = np.flatnonzero((d > 1) & (d <= gap + 1))
    if len(fill):
        n = len(mask) + 1
        delta = np.bincount(idx[fill] + 1, minlength=n) - np.bincount(idx[fill + 1], minlength=n)
        out |= np.cumsum(delta[:-1]) > 0
    return out


def attribute(
    text: str,
    spans_by_source: Mapping[str, Sequence[Span]],
    documents: Mapping[str, Mapping[str, Any]],
    params: Params,
    *,
    basis: Mapping[str, str] | None = None,
    detail: bool = True,
    self_id: str | None = None,
) -> Attribution:
    """Attribute ``text`` to its sources (the module docstring's rules).

    Args:
        text: The text (the copy side of every span).
        spans_by_source: per source id, its passages ``(t0, t1, s0, s1)``.
        documents: per source id, ``text`` and ``published_at`` (others kept as is).
        params: ``wholly_derived`` / ``partially_derived``.
        basis: per source id, how the direction was decided (corpus provenance).
        detail: also compute the per-sentence sources (trace, web); corpus provenance
            needs only the summary.
        self_id: the indexed id of the text itself (reported, never a source).
    """
    # the text's words (``_words``: ``TOKEN_RE``'s tokens, remembered for the text)
    tok = np.array([(a, b) for a, b, _ in _words(text, 0, len(text))], dtype=np.int64).reshape(-1, 2)
    starts = tok[:, 0]
    n_tok = len(tok)
    nt = max(1, n_tok)
    ids = [sid for sid, sp in spans_by_source.items() if sp and sid != self_id]
    spans = {sid: sorted(spans_by_source[sid]) for sid in ids}
    src_text = {sid: str(documents[sid]["text"]) for sid in ids}
    matched_cache: dict[str, list[tuple[int, int, int, int]]] = {}

    def matches(sid: str) -> list[tuple[int, int, int, int]]:
        if sid not in matched_cache:
            out: list[tuple[int, int, int, int]] = []
            st = src_text[sid]
            for t0, t1, s0, s1 in spans[sid]:
                out.extend(word_matches(st, s0, s1, text, t0, t1))
            out.sort()
            matched_cache[sid] = out
        return matched_cache[sid]

    matched = {sid: _word_mask(starts, matches(sid), n_tok) for sid in ids}
    # what a source covers: its matched words and the short gaps between them (a
    # spinner's swaps), not the whole passage (the aligner may bridge a paragraph
    # pasted from elsewhere between two of the source's paragraphs)
    cover = {sid: _close_gaps(matched[sid], MAX_SUBSTITUTION_TOKENS) for sid in ids}
    count = {sid: int(cover[sid].sum()) for sid in ids}
    order = sorted(ids, key=lambda s: (-count[s], _date_key(documents[s], s)))

    def matched_mask(sid: str) -> np.ndarray:
        return matched[sid]

    # -- groups: contributors by unique coverage, copies by near-identity ----------------
    min_new = min(MIN_CONTRIBUTOR_SHARE * nt, MIN_CONTRIBUTOR_TOKENS)
    contributors: list[list[str]] = []
    minor: list[list[str]] = []
    covered = np.zeros(n_tok, dtype=bool)
    for sid in order:
        m = cover[sid]
        if _long_runs(m & ~covered, MIN_UNIQUE_RUN) >= min_new:
            contributors.append([sid])
            covered |= m
            continue
        for g in contributors:
            lead = cover[g[0]]
            inside = m & lead
            n_in = int(inside.sum())
            if n_in == 0 or n_in < COPY_WITHIN * count[sid]:
                continue
            ml, mc = matched_mask(g[0]) & inside, matched_mask(sid) & inside
            either = int((ml | mc).sum())
            if either and int((ml & mc).sum()) >= NEAR_IDENTICAL * either:
                g.append(sid)
                break
        else:
            minor.append([sid])
    lead_by_fidelity(contributors, cover, lambda sid: exact_share(text, src_text[sid], spans[sid]),
                     lambda sid: _date_key(documents[sid], sid))
    group_cover = []
    for g in contributors:
        u = np.zeros(n_tok, dtype=bool)
        for sid in g:
            u |= cover[sid]
        group_cover.append(u)
    rank = sorted(range(len(contributors)), key=lambda i: -int(group_cover[i].sum()))
    contributors = [contributors[i] for i in rank]
    group_cover = [group_cover[i] for i in rank]
    group_of = {sid: gi for gi, g in enumerate(contributors + minor) for sid in g}

    # -- who owns each token: the first contributor covering it --------------------------
    owner = np.full(n_tok, -1, dtype=np.int64)
    for gi, g in enumerate(contributors):
        free = (owner < 0) & cover[g[0]]
        owner[free] = gi

    def owned_all(gi: int, positions: Sequence[int]) -> list[bool]:
        """Does contributor ``gi`` own the token at (or before) each char position?"""
        if not len(positions):
            return []
        k = np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1
        ok = (k >= 0) & (k < n_tok)
        own = np.where(ok, owner[np.clip(k, 0, max(0, n_tok - 1))] if n_tok else -1, -1)
        return ((own == gi) | ((own < 0) & (gi == 0))).tolist()

    groups: list[SourceGroup] = []
    lead_edits: dict[str, tuple[Edit, ...]] = {}
    lead_matches: dict[str, tuple[tuple[int, int, int, int], ...]] = {}
    moves: list[tuple[str, Move]] = []
    for gi, g in enumerate(contributors):
        lead = g[0]
        st = src_text[lead]
        eds: list[Edit] = []
        for t0, t1, s0, s1 in spans[lead]:
            eds.extend(word_edits(st, s0, s1, text, t0, t1))
        keep = owned_all(gi, [e.dst_span[0] for e in eds])
        lead_edits[lead] = tuple(e for e, k in zip(eds, keep, strict=True) if k)
        ms = matches(lead)
        keep = owned_all(gi, [m[0] for m in ms])
        lead_matches[lead] = tuple(m for m, k in zip(ms, keep, strict=True) if k)
        mine = []  # the lead's passages that are mostly its own (owned) tokens
        for t0, t1, s0, s1 in spans[lead]:
            lo, hi = np.searchsorted(starts, [t0, t1])
            if hi > lo and int((owner[lo:hi] == gi).sum()) >= 0.5 * (hi - lo):
                mine.append((s0, s1, t0, t1))
        mvs = find_moves(st, text, mine)
        moves.extend((lead, mv) for mv, k in zip(mvs, owned_all(gi, [m.dst_span[0] for m in mvs]), strict=True) if k)
        groups.append(SourceGroup(
            id=lead, copies=tuple(g[1:]), share=round(float(group_cover[gi].sum()) / nt, 4),
            spans=_mask_spans(cover[lead], tok), published_at=documents[lead].get("published_at"),
            basis=(basis or {}).get(lead), main=gi == 0,
        ))

    # -- earliest, class ------------------------------------------------------------------
    members = [sid for g in contributors for sid in g] or order
    earliest_ids, note = earliest_label(members, {sid: documents[sid] for sid in members})
    if not members:
        note = "no source found"
    reused = np.zeros(len(text), dtype=bool)
    for sid in ids:
        for t0, t1, _, _ in spans[sid]:
            reused[t0:t1] = True
    share = derived_share(text, reused, [(src_text[sid], spans[sid]) for sid in order]) if ids else 0.0
    any_cover = np.zeros(n_tok, dtype=bool)
    for sid in ids:
        any_cover |= cover[sid]

    # -- edits, spin ------------------------------------------------------------------------
    counts: Counter[tuple[str, str, str]] = Counter()
    docs_of: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    subs: list[tuple[str, str]] = []
    for lead, eds in lead_edits.items():
        for e in eds:
            if e.kind in SWAP_KINDS:
                key = (e.src, e.dst, e.kind)
                counts[key] += 1
                docs_of[key].add(lead)
                subs.append((e.src, e.dst))
    aligned = sum(len(m) for m in lead_matches.values())
    score = spin_score(subs, aligned)
    n_lex = sum(1 for a, b in subs if is_lexical_substitution(a, b))
    edits = tuple(EditCount(k[0], k[1], k[2], c, tuple(sorted(docs_of[k])))
                  for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    cls = classify(share, params)
    sentences = _sentences(text, starts, order, contributors, group_of, spans, src_text, documents,
                           matches, moves) if detail else ()
    return Attribution(
        n_chars=len(text), n_tokens=n_tok, order=tuple(order),
        coverage_of={sid: round(count[sid] / nt, 4) for sid in order}, group_of=group_of,
        groups=tuple(groups), main=groups[0].id if groups else None,
        composite=len(groups) >= 2 and cls != "not derived", earliest_ids=tuple(earliest_ids), earliest_note=note,
        coverage=round(float(any_cover.sum()) / nt, 4), derived_share=round(share, 4),
        classification=cls, sentences=sentences, moves=tuple(moves),
        lead_edits=lead_edits, lead_matches=lead_matches, edits=edits,
        substitutions=tuple(subs), aligned_words=aligned, spin_score=score,
        lexical_substitutions=n_lex, spun=is_spun(score, n_lex), self_id=self_id,
    )


def _sentences(
    text: str,
    starts: np.ndarray,
    order: list[str],
    contributors: list[list[str]],
    group_of: Mapping[str, int],
    spans: Mapping[str, list[Span]],
    src_text: Mapping[str, str],
    documents: Mapping[str, Mapping[str, Any]],
    matches: Any,
    moves: list[tuple[str, Move]],
) -> tuple[Sentence, ...]:
    """Per sentence, its sources ranked (share, then group, then date). Each source's
    matches are placed in sentences by one binary search each, and only the sentences
    a source matches are visited: linear in the text's length and the matches."""
    leads = {g[0] for g in contributors}
    sents = sentences_of(text)
    s_starts = np.fromiter((a for a, _ in sents), dtype=np.int64, count=len(sents))
    s_ends = np.fromiter((b for _, b in sents), dtype=np.int64, count=len(sents))
    n_words = np.searchsorted(starts, s_ends) - np.searchsorted(starts, s_starts)
    cand: dict[int, list[tuple[str, int, int]]] = defaultdict(list)  # sentence -> (source, i, j)
    by_src: dict[str, tuple[list[tuple[int, int, int, int]], list[int], list[Edit]]] = {}
    for sid in order:
        ms = matches(sid)
        eds: list[Edit] = []
        st = src_text[sid]
        for t0, t1, s0, s1 in spans[sid]:
            eds.extend(word_edits(st, s0, s1, text, t0, t1))
        eds.sort(key=lambda e: e.dst_span)
        by_src[sid] = (ms, [e.dst_span[0] for e in eds], eds)
        if not ms:
            continue
        m_starts = np.fromiter((m[0] for m in ms), dtype=np.int64, count=len(ms))
        si = np.searchsorted(s_starts, m_starts, side="right") - 1
        ok = si >= 0
        ok[ok] = m_starts[ok] < s_ends[si[ok]]
        pos = np.flatnonzero(ok)
        if not len(pos):
            continue
        sis = si[pos]
        cuts = np.flatnonzero(np.diff(sis)) + 1
        firsts = np.concatenate(([0], cuts))
        lasts = np.concatenate((cuts, [len(sis)]))
        for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True):
            # matches are sorted by copy offset: those of one sentence are contiguous
            cand[int(sis[a])].append((sid, int(pos[a]), int(pos[b - 1]) + 1))
    move_at = {mv.dst_span[0]: (sid, mv) for sid, mv in moves}
    out = []
    for idx, (s, e) in enumerate(sents):
        n_sent = int(n_words[idx])
        found: list[SentenceSource] = []
        for sid, i, j in cand.get(idx, ()) if n_sent else ():
            ms, estarts, eds = by_src[sid]
            share = (j - i) / n_sent
            if share < MIN_SENTENCE_SHARE:
                continue
            inside = ms[i:j]
            b_start = min(m[2] for m in inside)
            b_end = max(m[3] for m in inside)
            src_words = len(TOKEN_RE.findall(src_text[sid], b_start, b_end))
            if share >= 0.999 and src_words == len(inside):
                relation = "exact"
            elif share >= 0.9:
                relation = "near-exact"
            elif share >= 0.5:
                relation = "reworded"
            else:
                relation = "partial"
            a, b = bisect.bisect_left(estarts, s), bisect.bisect_right(estarts, e)
            sent_eds = tuple(x for x in eds[a:b] if s <= x.dst_span[0] < e or (
                x.kind == "deletion" and s < x.dst_span[0] <= e))
            found.append(SentenceSource(sid, relation, round(min(share, 1.0), 4), b_start, b_end, sent_eds))
        found.sort(key=lambda f: (-f.share, f.id not in leads, group_of.get(f.id, 1 << 30),
                                  _date_key(documents[f.id], f.id)))
        mv = move_at.get(s)
        out.append(Sentence(idx, s, e, tuple(found), mv[1] if mv else None, mv[0] if mv else None))
    return tuple(out)


__all__ = ["COPY_WITHIN", "NEAR_IDENTICAL", "Attribution", "EditCount", "Sentence",
           "SentenceSource", "SourceGroup", "attribute"]
