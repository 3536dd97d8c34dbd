"""Stage 5: a document pair -> reused passages with exact character offsets.

Seed, chain, merge, filter -- all on token ids, in a compiled (numba) loop:

1. **Seeds**: positions where both texts share a content word, or a word bigram
   that contains a content word. Words/bigrams that occur more than
   ``seed_max_occurrences`` times in either text are too common to seed all-to-all;
   their occurrences are paired in order instead (``_repeat_seeds``: the p-th in A
   with those near the same rank in B), kept only inside long exact runs, so a text
   repeated within a page, or one word repeated 200,000 times, still aligns at a
   cost linear in the occurrences. Each repeat of A's text is a passage (step 7).
2. **Exact runs**: each seed is extended left and right along its diagonal while
   tokens stay equal (stop words included): maximal exact matches ("runs").
3. **Chaining**: a dynamic programme over runs sorted by position in A links each
   run to the best earlier run that precedes it on *both* sides within
   ``max_gap_tokens`` (a substitution such as "Russia" -> "Russian Federation" is a
   one-to-two token gap). Chains are read off best-first, so reordered paragraphs
   come out as separate chains and several passages per pair are found.
4. **Merging**: chains that follow each other on both sides with at most
   ``merge_gap_tokens`` between them (an inserted or deleted sentence) are merged.
5. **Filtering**: a passage must match ``min_matched_tokens`` tokens and at least
   ``min_density`` of its tokens on each side (only ``relax_density`` once it
   matches ``sparse_min_matched`` tokens: a long sparse chain is heavy rewording,
   not coincidence). Optionally (``relax_strong_tokens``), a pair holding a strong
   passage is aligned again with the relaxed thresholds (hysteresis). This is what keeps articles about
   the same event, written independently, apart: they share names and short
   phrases, not dense runs of text.
5b. **Short fragments** (``short_min_matched``; topic-tested, see 6c):
   exact runs of 3+ tokens are clustered order-free by gaps (``_run_clusters``,
   ``_SHORT_GAP`` tokens); ``short_min_runs`` distinct runs matching
   ``short_min_matched`` tokens make a passage (PAN random obfuscation: short
   passages shuffled and thinned below ``min_matched_tokens``). A chain that short
   also passes with that many runs. Clusters touching a dense copy are dropped.

6. **Sentence stage** (reworded, shuffled or translated text, where exact runs
   are short): two sentences are similar when they share ``sent_min_shared``
   content words and their weighted Dice coefficient (weights log(1 + sentences /
   occurrences), per document) is at least ``sent_min_dice``; only pairs near the
   best match of both their sentences are kept, nearly equal ones are left to the
   exact runs. Similar pairs within ``sent_max_gap`` sentences (B may step back a
   little: sentences get reordered) are chained; a dense chain of
   ``sent_min_seeds`` pairs, at least 3 x ``min_matched_tokens`` long, is a passage
   (down to 2 x when its sentence pairs average a Dice of ``_SENT_SHORT_DICE``:
   short shuffled or translated passages; same-event paraphrase is less similar).
6b. **Sentence seeds** (``sentence_seeds``; after Sanchez-Perez, Gelbukh & Sidorov,
   PAN 2014): sentence pairs with cosine >= ``sp_min_cos`` and weighted Dice >=
   ``sp_min_dice`` (near the best match of both sentences) are seeds, clustered
   recursively by sentence gaps (``sp_max_gap``; summary mode: ``sp_summary_gap`` on
   B); a cluster ``sp_min_tokens`` long with ``sp_min_cover`` of its sentences seeded
   is a passage, unless it overlaps another passage on one side only or a dense copy.
   A fragment of loosely similar seeds (mean cosine < ``_SP_EVIDENT_COS``) must also
   hold a few exact runs inside it on both sides (``_sp_evidence``): pages on one
   topic have look-alike sentences, reused text keeps some phrases verbatim.
   The paper's lax thresholds (cosine and Dice 0.33), topic-tested (6c).
6c. **Topic test** (``topic_contrast``): a sentence-seed or short fragment passes only
   when the cosine of its two spans' content-word counts exceeds the cosine of the two
   whole documents by ``topic_contrast``. Reused text is more alike than the documents
   it sits in (PAN: a passage planted in another page); independent reports of one
   event share names, numbers and topic words all through, so their look-alike
   sentences do not stand out (BASIL). ``--sensitive`` switches the test off.
7. **Union and overlap filter**: passages that overlap (or touch, in the same
   order) on both sides are merged, unless that grows one side only; a passage
   lying mostly inside a stronger one on either side is dropped (a repeated
   source paragraph or a coincidental phrase is not reported twice).
7b. **Extension** (hysteresis): a passage that is not a dense copy (below
   ``_EXT_MAX_DENSITY`` matched) and matches ``_EXT_LICENSE`` x
   ``min_matched_tokens`` grows sentence by sentence into the next / previous
   sentence of A when that sentence is similar (``_EXT_SHARED`` content words,
   weighted Dice ``_EXT_DICE``, near the best match of both sentences) to a
   sentence of B just after *or* just before the passage's B span: PAN's random
   obfuscation shuffles sentences inside a case. Dense copies (verbatim text,
   quotations) end where they end; growth never enters another passage.
8. **Summaries**: passages within ``summary_gap_tokens`` of each other in A whose B
   span is ``summary_ratio`` times longer (and not aligned elsewhere) are merged
   into one: a few sentences condensing a longer text. A summary passage whose B
   span already covers ``_SUMMARY_WHOLE`` of B (B at least 2 x ``summary_ratio``
   times longer than A's span, nothing else of B aligned) summarises all of B.
   Two neighbouring long dense copies (``_dense_copy``) are never one summary: they
   are two passages copied from two places of B.

9. **Bag extension** (``bag_extend_density``, ``_bag_extend``): each side of every
   final passage grows outward over text whose content words the other side's span
   still lacks (multiset difference; order-free: clauses moved across sentences),
   while dense enough, never into another passage; a non-dense side cut inside a
   sentence then takes the rest of it when its words occur in the other span. Off by
   default (on news it also grows shared quotations over the attribution and
   paraphrase around them); on in ``--sensitive``.
10. **Whole-text summaries** (``summary_contrast``, ``_summary_rows``): a window of
   ``_SUMMARY_WINDOW`` tokens of A whose content words are much more like the whole of
   B than both the whole of A is (the topic test's contrast) and the windows before
   and after it are (a block that stands out from the page it sits in), which keeps
   ``_SUMMARY_PHRASES`` of its lower-case word pairs from B (a summary keeps B's
   phrasing; a paragraph of background on the same story shares names, not phrasing)
   and ``_SUMMARY_RARE`` words that B uses only once or twice (B's own details, not
   its topic words), is a summary of B. Overlapping such windows make one passage,
   less the sentences at its ends whose words B mostly lacks; its B span runs from the
   first to the last place where its words occur in B. Only in pairs where the other passages cover
   less than ``_SUMMARY_GATE`` of B, never over a dense copy; loose passages it meets
   are merged into it. Independent reports of one event fail the contrast (the whole
   documents are alike).

The work per pair is roughly linear in the number of seeds (bounded by the
occurrence cap), not quadratic in document length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from newstrace.model import Passage
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.tokens import CAPITAL as _CAPITAL
from newstrace.tokens import QUOTED as _QUOTED
from newstrace.tokens import Tokens, edge_offsets, tokenize_text

_CHAIN_WINDOW = 128  # earlier runs considered as predecessors of a run
_OVERLAP_TOLERANCE = 2  # runs may overlap by this many tokens and still chain
_SHORT_RUN_TOKENS = 3  # short-fragment rule: a chain's exact runs this long are its evidence
_NO_KEY = np.int64(0)


@nb.njit(cache=True, nogil=True)
def _mix(x: np.int64, y: np.int64) -> np.int64:
    h = np.uint64(x) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(y)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    r = np.int64(h)
    if r == 0:
        r = np.int64(1)
    return r


@nb.njit(cache=True, nogil=True)
def _seed_keys(ids: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = ids.shape[0]
    uni = np.zeros(n, dtype=np.int64)
    bi = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if (stop[i] & 1) == 0:
            uni[i] = ids[i] if ids[i] != 0 else 1
        if i + 1 < n and ((stop[i] & 1) == 0 or (stop[i + 1] & 1) == 0):
            bi[i] = _mix(ids[i], ids[i + 1])
    return uni, bi


@nb.njit(cache=True, nogil=True)
def _sorted_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty keys sorted (merge sort: many equal keys are common), with positions."""
    n = 0
    for v in keys:
        if v != _NO_KEY:
            n += 1
    pos = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(keys.shape[0]):
        if keys[i] != _NO_KEY:
            pos[n] = i
            n += 1
    vals = keys[pos]
    order = np.argsort(vals, kind="mergesort")
    return vals[order], pos[order]


@nb.njit(cache=True, nogil=True)
def seed_index(
    ids: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A document's seed keys, sorted once and reused for every pair it is in.

    Returns ``(uni_vals, uni_pos, bi_vals, bi_pos)``: content-word keys and
    content-bearing bigram keys, each sorted, with their token positions.
    """
    uni, bi = _seed_keys(ids, stop)
    uv, up = _sorted_keys(uni)
    bv, bp = _sorted_keys(bi)
    return uv, up, bv, bp


@nb.njit(cache=True, nogil=True, inline="always")
def _set_row(rows: np.ndarray, i: int, a0: int | np.int64, a1: int | np.int64, b0: int | np.int64,
             b1: int | np.int64, matched: int | np.int64) -> None:
    """Write passage row ``i``: ``(a_start, a_end, b_start, b_end, matched)`` in tokens."""
    rows[i, 0] = a0
    rows[i, 1] = a1
    rows[i, 2] = b0
    rows[i, 3] = b1
    rows[i, 4] = matched


@nb.njit(cache=True, nogil=True)
def _match_sorted(
    va_sorted: np.ndarray,
    pa_sorted: np.ndarray,
    vb_sorted: np.ndarray,
    pb_sorted: np.ndarray,
    max_occ: int,
    out_i: np.ndarray,
    out_j: np.ndarray,
    k: int,
) -> int:
    """Merge-join two sorted key lists: append (i, j) of equal keys to out.

    Keys occurring more than ``max_occ`` times on either side are skipped. With
    empty ``out_i`` it only counts (first pass, to size the output).
    """
    na = va_sorted.shape[0]
    nb_ = vb_sorted.shape[0]
    x = 0
    y = 0
    while x < na and y < nb_:
        va = va_sorted[x]
        vb = vb_sorted[y]
        if va < vb:
            x += 1
        elif vb < va:
            y += 1
        else:
            x2 = x
            while x2 < na and va_sorted[x2] == va:
                x2 += 1
            y2 = y
            while y2 < nb_ and vb_sorted[y2] == vb:
                y2 += 1
            if x2 - x <= max_occ and y2 - y <= max_occ:
                if out_i.shape[0] == 0:  # counting pass
                    k += (x2 - x) * (y2 - y)
                else:
                    for p in range(x, x2):
                        for q in range(y, y2):
                            out_i[k] = pa_sorted[p]
                            out_j[k] = pb_sorted[q]
                            k += 1
            x = x2
            y = y2
    return k


_REPEAT_BAND = 2  # repetition seeds: ranks paired this far either side of the in-order rank


@nb.njit(cache=True, nogil=True)
def _repeat_seeds(
    va_sorted: np.ndarray,
    pa_sorted: np.ndarray,
    vb_sorted: np.ndarray,
    pb_sorted: np.ndarray,
    max_occ: int,
    a_ids: np.ndarray,
    b_ids: np.ndarray,
    min_run: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeds from the keys ``_match_sorted`` skips (more than ``max_occ`` occurrences on
    a side): a text repeated within a page, or a word repeated many times.

    Occurrences are paired *in order* -- the p-th of ``ca`` occurrences in A with the
    occurrences of B around rank ``p * cb / ca`` (``_REPEAT_BAND`` either side) -- so a
    key gives O(ca + cb) pairs, never ca x cb; and a pair is kept only inside an exact
    run of ``min_run`` tokens (a long reused copy, not a common word or phrase). A repeat of the same
    text lies on its own diagonal, which in-order pairing reaches.
    """
    na = va_sorted.shape[0]
    nb_ = vb_sorted.shape[0]
    n_a = a_ids.shape[0]
    n_b = b_ids.shape[0]
    # upper bound on the pairs, to size the output
    bound = 0
    x = 0
    y = 0
    while x < na and y < nb_:
        if va_sorted[x] < vb_sorted[y]:
            x += 1
        elif vb_sorted[y] < va_sorted[x]:
            y += 1
        else:
            v = va_sorted[x]
            x2 = x
            while x2 < na and va_sorted[x2] == v:
                x2 += 1
            y2 = y
            while y2 < nb_ and vb_sorted[y2] == v:
                y2 += 1
            if x2 - x > max_occ or y2 - y > max_occ:
                bound += (x2 - x) * (2 * _REPEAT_BAND + 1) + (y2 - y)
            x = x2
            y = y2
    out_i = np.empty(bound, dtype=np.int64)
    out_j = np.empty(bound, dtype=np.int64)
    k = 0
    x = 0
    y = 0
    while x < na and y < nb_:
        if va_sorted[x] < vb_sorted[y]:
            x += 1
        elif vb_sorted[y] < va_sorted[x]:
            y += 1
        else:
            v = va_sorted[x]
            x2 = x
            while x2 < na and va_sorted[x2] == v:
                x2 += 1
            y2 = y
            while y2 < nb_ and vb_sorted[y2] == v:
                y2 += 1
            ca = x2 - x
            cb = y2 - y
            if ca > max_occ or cb > max_occ:
                for p in range(ca):
                    lo = (p * cb) // ca - _REPEAT_BAND
                    hi = ((p + 1) * cb + ca - 1) // ca + _REPEAT_BAND
                    if lo < 0:
                        lo = 0
                    if hi > cb:
                        hi = cb
                    i = pa_sorted[x + p]
                    for q in range(lo, hi):
                        j = pb_sorted[y + q]
                        run = 1
                        t = 1
                        while run < min_run and i - t >= 0 and j - t >= 0 and a_ids[i - t] == b_ids[j - t]:
                            run += 1
                            t += 1
                        t = 1
                        while run < min_run and i + t < n_a and j + t < n_b and a_ids[i + t] == b_ids[j + t]:
                            run += 1
                            t += 1
                        if run >= min_run:
                            out_i[k] = i
                            out_j[k] = j
                            k += 1
            x = x2
            y = y2
    return out_i[:k], out_j[:k]


_ONE_SIDED_GROWTH = 10  # a union growing one side by this much, the other not, is refused
_ONE_SIDED_GAP = 3  # a gap this small on one side makes the other side's gap an insertion


@nb.njit(cache=True, nogil=True)
def _gap_aligned_elsewhere(
    chains: np.ndarray, merged: np.ndarray, x: int, y: int, min_matched: int
) -> bool:
    """Is the text between chains y and x (either side) part of another chain?"""
    a0, a1 = chains[y, 1], chains[x, 0]
    b0, b1 = chains[y, 3], chains[x, 2]
    for z in range(chains.shape[0]):
        if z == x or z == y or merged[z] or 2 * chains[z, 4] < min_matched:
            continue
        oa = min(a1, chains[z, 1]) - max(a0, chains[z, 0])
        ob = min(b1, chains[z, 3]) - max(b0, chains[z, 2])
        if oa >= _ONE_SIDED_GAP or ob >= _ONE_SIDED_GAP:
            return True
    return False


_SUMMARY_WHOLE = 0.42  # a summary spanning this share of B condenses all of B
_SENT_TRIM = True  # sentence passages run from the first to the last shared word
_SENT_MIN_LEN = 2  # a sentence passage is this many times min_matched_tokens long (each side)
_SENT_SHORT = 1.5  # ...and, when shorter than this many times that,
_SENT_SHORT_DICE = 0.6  # ...this similar on average
_SENT_STRONG = 0.5  # shorter chains (down to 2 pairs) pass when this similar on average
_SENT_COVER = 0.6  # share of a sentence chain's span (each side) made of matching sentences
_SENT_NEAR_BEST = 0.7  # a sentence pair is kept when this close to both sentences' best match
_SENT_BACK = 2  # a chained sentence pair may step back this many sentences in B
_SENT_VERBATIM = 0.9  # sentence pairs this similar are left to the exact-run stage
_SENT_MAX_TOKENS = 60  # longer "sentences" (lists, unpunctuated text) are cut into pieces


@nb.njit(cache=True, nogil=True)
def _sentences(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentence of each token, sentence start tokens (ns + 1 entries), content words per sentence."""
    n = flags.shape[0]
    sid = np.empty(n, dtype=np.int64)
    bounds = np.empty(n + 1, dtype=np.int64)
    s = -1
    for i in range(n):
        if i == 0 or (flags[i] & 2) != 0 or i - bounds[s] >= _SENT_MAX_TOKENS:
            s += 1
            bounds[s] = i
        sid[i] = s
    ns = s + 1
    bounds[ns] = n
    content = np.zeros(ns, dtype=np.int64)
    for i in range(n):
        if (flags[i] & 1) == 0:
            content[sid[i]] += 1
    return sid, bounds[: ns + 1].copy(), content


@nb.njit(cache=True, nogil=True)
def _word_weights(
    uv: np.ndarray, up: np.ndarray, sid: np.ndarray, ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Content-word weights log(1 + sentences / occurrences) and their sum per sentence."""
    w = np.zeros(sid.shape[0], dtype=np.float64)
    wsum = np.zeros(ns, dtype=np.float64)
    n = uv.shape[0]
    t = 0
    while t < n:
        t2 = t
        while t2 < n and uv[t2] == uv[t]:
            t2 += 1
        v = np.log(1.0 + ns / (t2 - t))
        for u in range(t, t2):
            w[up[u]] = v
            wsum[sid[up[u]]] += v
        t = t2
    return w, wsum


@nb.njit(cache=True, nogil=True)
def _sentence_pairs(
    si: np.ndarray,
    sj: np.ndarray,
    k_uni: int,
    a_flags: np.ndarray,
    b_flags: np.ndarray,
    a_uv: np.ndarray,
    a_up: np.ndarray,
    b_uv: np.ndarray,
    b_up: np.ndarray,
    min_shared: int,
    min_dice: float,
):
    """Sentence pairs sharing ``min_shared`` content words with a weighted Dice >= ``min_dice``.

    Returns ``(sid_a, bnd_a, sid_b, bnd_b, pa, pb, pc, pd, lo_a, hi_a, lo_b, hi_b, pcos)``:
    sentence of each token and sentence bounds per side, then per pair (in
    ``(sa, sb)`` order) its sentences, shared word count, Dice, the first /
    last+1 shared word on each side, and the cosine of the two sentences'
    weighted (tf-idf-like) content-word vectors.
    """
    sid_a, bnd_a, cnt_a = _sentences(a_flags)
    sid_b, bnd_b, cnt_b = _sentences(b_flags)
    wa, wsum_a = _word_weights(a_uv, a_up, sid_a, cnt_a.shape[0])
    wb, wsum_b = _word_weights(b_uv, b_up, sid_b, cnt_b.shape[0])
    nsb = cnt_b.shape[0]
    sq_a = np.zeros(cnt_a.shape[0], dtype=np.float64)
    for i in range(a_up.shape[0]):
        sq_a[sid_a[a_up[i]]] += wa[a_up[i]] * wa[a_up[i]]
    sq_b = np.zeros(nsb, dtype=np.float64)
    for i in range(b_up.shape[0]):
        sq_b[sid_b[b_up[i]]] += wb[b_up[i]] * wb[b_up[i]]
    keys = np.empty(k_uni, dtype=np.int64)
    for t in range(k_uni):
        keys[t] = sid_a[si[t]] * nsb + sid_b[sj[t]]
    korder = np.argsort(keys, kind="mergesort")
    keys = keys[korder]
    pa = np.empty(k_uni, dtype=np.int64)
    pb = np.empty(k_uni, dtype=np.int64)
    pc = np.empty(k_uni, dtype=np.int64)
    pd = np.empty(k_uni, dtype=np.float64)
    pcos = np.empty(k_uni, dtype=np.float64)
    lo_a = np.empty(k_uni, dtype=np.int64)
    hi_a = np.empty(k_uni, dtype=np.int64)
    lo_b = np.empty(k_uni, dtype=np.int64)
    hi_b = np.empty(k_uni, dtype=np.int64)
    ns = 0
    t = 0
    while t < k_uni:
        t2 = t
        while t2 < k_uni and keys[t2] == keys[t]:
            t2 += 1
        c = t2 - t
        sa = keys[t] // nsb
        sb = keys[t] - sa * nsb
        lim = cnt_a[sa] if cnt_a[sa] < cnt_b[sb] else cnt_b[sb]
        if c > lim:
            c = lim
        if c >= min_shared:
            shared = 0.0
            dot = 0.0
            for u in range(t, t2):
                q = korder[u]
                shared += wa[si[q]] + wb[sj[q]]
                dot += wa[si[q]] * wb[sj[q]]
            dice = shared / (wsum_a[sa] + wsum_b[sb])
            if dice > 1.0:
                dice = 1.0
            if dice >= min_dice:
                pa[ns] = sa
                pb[ns] = sb
                pc[ns] = c
                pd[ns] = dice
                pcos[ns] = min(1.0, dot / np.sqrt(sq_a[sa] * sq_b[sb])) if sq_a[sa] * sq_b[sb] > 0 else 0.0
                la_ = si[korder[t]]
                ha_ = la_
                lb_ = sj[korder[t]]
                hb_ = lb_
                for u in range(t, t2):
                    q = korder[u]
                    la_ = min(la_, si[q])
                    ha_ = max(ha_, si[q])
                    lb_ = min(lb_, sj[q])
                    hb_ = max(hb_, sj[q])
                lo_a[ns] = la_
                hi_a[ns] = ha_ + 1
                lo_b[ns] = lb_
                hi_b[ns] = hb_ + 1
                ns += 1
        t = t2
    return (sid_a, bnd_a, sid_b, bnd_b, pa[:ns], pb[:ns], pc[:ns], pd[:ns],
            lo_a[:ns], hi_a[:ns], lo_b[:ns], hi_b[:ns], pcos[:ns])


@nb.njit(cache=True, nogil=True)
def _sentence_passages(
    bnd_a: np.ndarray,
    bnd_b: np.ndarray,
    all_pa: np.ndarray,
    all_pb: np.ndarray,
    all_pc: np.ndarray,
    all_pd: np.ndarray,
    all_lo_a: np.ndarray,
    all_hi_a: np.ndarray,
    all_lo_b: np.ndarray,
    all_hi_b: np.ndarray,
    a_flags: np.ndarray,
    b_flags: np.ndarray,
    min_shared: int,
    min_dice: float,
    gap_s: int,
    min_seeds: int,
    min_tokens: int,
    snap: int,
) -> np.ndarray:
    """Passages from runs of similar sentences (reworded, shuffled or translated text).

    Two sentences are similar when they share ``min_shared`` content words and
    their Dice coefficient over content words is at least ``min_dice`` (the
    pairs come from ``_sentence_pairs``, possibly laxer). Similar sentence pairs
    that follow each other on both sides within ``gap_s`` sentences are chained;
    a chain of ``min_seeds`` pairs, ``min_tokens`` long on each side, is a passage.
    Rows as in ``align_token_ids``; ``matched`` counts shared content words.
    """
    empty = np.zeros((0, 5), dtype=np.int64)
    if min_seeds <= 0:
        return empty
    nsa = bnd_a.shape[0] - 1
    nsb = bnd_b.shape[0] - 1
    n0 = all_pa.shape[0]
    pa = np.empty(n0, dtype=np.int64)
    pb = np.empty(n0, dtype=np.int64)
    pc = np.empty(n0, dtype=np.int64)
    pd = np.empty(n0, dtype=np.float64)
    lo_a = np.empty(n0, dtype=np.int64)
    hi_a = np.empty(n0, dtype=np.int64)
    lo_b = np.empty(n0, dtype=np.int64)
    hi_b = np.empty(n0, dtype=np.int64)
    ns = 0
    for x in range(n0):
        if all_pc[x] >= min_shared and all_pd[x] >= min_dice:
            pa[ns] = all_pa[x]
            pb[ns] = all_pb[x]
            pc[ns] = all_pc[x]
            pd[ns] = all_pd[x]
            lo_a[ns] = all_lo_a[x]
            hi_a[ns] = all_hi_a[x]
            lo_b[ns] = all_lo_b[x]
            hi_b[ns] = all_hi_b[x]
            ns += 1
    # keep pairs near the best match of both their sentences: a sentence is reused
    # about once (a coincidental second match next to a copied sentence would
    # stretch the passage), though one sentence may condense two. Nearly equal
    # sentences are left to the exact-run stage.
    best_a = np.zeros(nsa, dtype=np.float64)
    best_b = np.zeros(nsb, dtype=np.float64)
    for x in range(ns):
        best_a[pa[x]] = max(best_a[pa[x]], pd[x])
        best_b[pb[x]] = max(best_b[pb[x]], pd[x])
    m = 0
    for x in range(ns):
        if (pd[x] >= _SENT_NEAR_BEST * best_a[pa[x]] and pd[x] >= _SENT_NEAR_BEST * best_b[pb[x]]
                and pd[x] < _SENT_VERBATIM):
            pa[m] = pa[x]
            pb[m] = pb[x]
            pc[m] = pc[x]
            pd[m] = pd[x]
            lo_a[m] = lo_a[x]
            hi_a[m] = hi_a[x]
            lo_b[m] = lo_b[x]
            hi_b[m] = hi_b[x]
            m += 1
    ns = m
    if ns < 2:
        return empty
    # chain: a predecessor precedes in A and lies near in B (either direction: PAN's
    # random obfuscation and human rewriting reorder sentences)
    score = np.empty(ns, dtype=np.float64)
    prev = np.full(ns, -1, dtype=np.int64)
    for x in range(ns):
        best = pd[x]
        bp = -1
        for p in range(x - 1, -1, -1):
            da = pa[x] - pa[p]
            if da > gap_s or x - p > 512:
                break
            db = pb[x] - pb[p]
            if db < 0:
                db = -db  # sentences may be reordered inside a reused passage (a little)
                if db > _SENT_BACK:
                    continue
            if db > gap_s or (da == 0 and db == 0):
                continue
            big = da if da > db else db
            s = score[p] + pd[x] - 0.1 * (big - 1)
            if s > best:
                best = s
                bp = p
        score[x] = best
        prev[x] = bp
    by_score = np.argsort(-score, kind="mergesort")
    used = np.zeros(ns, dtype=np.bool_)
    out = np.empty((ns, 5), dtype=np.int64)
    no = 0
    for t in range(ns):
        x = by_score[t]
        if used[x]:
            continue
        n_seeds = 0
        matched = 0
        dsum = 0.0
        a0 = pa[x]
        a1 = pa[x]
        b0 = pb[x]
        b1 = pb[x]
        ta0 = lo_a[x]
        ta1 = hi_a[x]
        tb0 = lo_b[x]
        tb1 = hi_b[x]
        cur = x
        while cur != -1 and not used[cur]:
            used[cur] = True
            n_seeds += 1
            matched += pc[cur]
            dsum += pd[cur]
            a0 = min(a0, pa[cur])
            a1 = max(a1, pa[cur])
            b0 = min(b0, pb[cur])
            b1 = max(b1, pb[cur])
            ta0 = min(ta0, lo_a[cur])
            ta1 = max(ta1, hi_a[cur])
            tb0 = min(tb0, lo_b[cur])
            tb1 = max(tb1, hi_b[cur])
            cur = prev[cur]
        if n_seeds < min_seeds and not (n_seeds >= 2 and dsum >= n_seeds * _SENT_STRONG):
            continue
        # reuse is dense: most sentences of A's span match (same-event reporting
        # paraphrases a sentence here and there); B may be condensed (a summary)
        if n_seeds < _SENT_COVER * (a1 - a0 + 1) or n_seeds < 0.5 * _SENT_COVER * (b1 - b0 + 1):
            continue
        span = min(bnd_a[a1 + 1] - bnd_a[a0], bnd_b[b1 + 1] - bnd_b[b0])
        if span < min_tokens:
            continue  # a couple of short look-alike sentences: topic, not reuse
        if span < _SENT_SHORT * min_tokens and dsum < n_seeds * _SENT_SHORT_DICE:
            continue  # a short passage must be very similar throughout
        if _SENT_TRIM:
            # from the first to the last shared word, then out to the sentence
            # edges where both sides are close (as for exact-run passages)
            _set_row(out, no, ta0, ta1, tb0, tb1, matched)
            _snap_to_sentences(out[no], a_flags, b_flags, snap)
        else:
            _set_row(out, no, bnd_a[a0], bnd_a[a1 + 1], bnd_b[b0], bnd_b[b1 + 1], matched)
        no += 1
    return out[:no]


_SP_MIN_SHARED = 2  # sentence-seed stage: a seed shares at least this many content words
_SP_SINGLE_COS = 0.5  # a fragment of one seed needs this cosine
_SP_SUMMARY_SEEDS = 3  # a summary-mode fragment holds this many seeds
_SP_NEAR_BEST = 0.7  # a seed's cosine is this close to the best of both its sentences (0: off)


_SP_EVIDENT_COS = 0.7  # fragments whose seeds average a lower cosine need exact runs:
_SP_RUN_TOKENS = 3  # ...runs this long (inside the fragment on both sides)...
_SP_MIN_RUNS = 2  # ...at least this many: reuse leaves verbatim traces, topic similarity does not
_SP_SUMMARY_RUN_TOKENS = 4  # summary-shaped fragments (a long B span): runs this long...
_SP_SUMMARY_RUNS = 3  # ...at least this many
_SP_QUOTE_RUN = 12  # runs this long are whole shared sentences: no evidence for a loose fragment


@nb.njit(cache=True, nogil=True)
def _sp_evidence(row: np.ndarray, run_a: np.ndarray, run_b: np.ndarray,
                 run_len: np.ndarray, ratio: float) -> bool:
    """Does a sentence-seed fragment hold ``_SP_MIN_RUNS`` exact runs of ``_SP_RUN_TOKENS``?

    Pages on the same topic have sentences alike in their content words (seeds),
    but rarely the same phrase word for word; reused text, however reworded,
    keeps a few such runs (names, numbers, untouched clauses). A summary-shaped
    fragment (B span ``ratio`` times A's) offers more room for chance runs: it
    needs ``_SP_SUMMARY_RUNS`` of ``_SP_SUMMARY_RUN_TOKENS``. A run of
    ``_SP_QUOTE_RUN`` tokens or more (a whole quoted sentence, which two reports of one
    event may both carry) is no evidence for the look-alike sentences around it.
    """
    min_len = _SP_RUN_TOKENS
    need = _SP_MIN_RUNS
    if row[3] - row[2] >= ratio * (row[1] - row[0]):
        min_len = _SP_SUMMARY_RUN_TOKENS
        need = _SP_SUMMARY_RUNS
    if need <= 0:
        return True
    cnt = 0
    for t in range(run_a.shape[0]):
        if (min_len <= run_len[t] < _SP_QUOTE_RUN and run_a[t] >= row[0] and run_a[t] + run_len[t] <= row[1]
                and run_b[t] >= row[2] and run_b[t] + run_len[t] <= row[3]):
            cnt += 1
            if cnt >= need:
                return True
    return False


@nb.njit(cache=True, nogil=True)
def _sp_clusters(
    sa: np.ndarray, sb: np.ndarray, gap_a: int, gap_b: int
) -> tuple[np.ndarray, np.ndarray]:
    """Recursive gap clustering of seeds (Sanchez-Perez et al.): split on A, then B, ...

    Seeds sorted by one side are cut wherever consecutive seeds lie more than
    that side's gap apart; each part is cut on the other side, and so on until a
    part is cut on neither side. Returns ``(perm, cuts)``: seed order, and the
    start of each cluster in it (plus the end).
    """
    ns = sa.shape[0]
    perm = np.arange(ns)
    st_lo = np.empty(2 * ns + 2, dtype=np.int64)
    st_hi = np.empty(2 * ns + 2, dtype=np.int64)
    st_side = np.empty(2 * ns + 2, dtype=np.int64)
    st_stable = np.empty(2 * ns + 2, dtype=np.int64)
    cuts = np.empty(ns + 1, dtype=np.int64)
    nc = 0
    top = 0
    st_lo[0], st_hi[0], st_side[0], st_stable[0] = 0, ns, 0, 0
    top = 1
    big = max(sa.max(), sb.max()) + 1 if ns > 0 else 1
    out_perm = np.empty(ns, dtype=np.int64)
    no = 0
    while top > 0:
        top -= 1
        lo, hi, side, stable = st_lo[top], st_hi[top], st_side[top], st_stable[top]
        seg = perm[lo:hi].copy()
        if side == 0:
            key = sa[seg] * big + sb[seg]
        else:
            key = sb[seg] * big + sa[seg]
        order = np.argsort(key, kind="mergesort")
        seg = seg[order]
        perm[lo:hi] = seg
        g = gap_a if side == 0 else gap_b
        coord = sa if side == 0 else sb
        nseg = 1
        for t in range(1, seg.shape[0]):
            if coord[seg[t]] - coord[seg[t - 1]] > g:
                nseg += 1
        if nseg == 1:
            if stable:
                cuts[nc] = no
                nc += 1
                out_perm[no:no + hi - lo] = seg
                no += hi - lo
            else:
                st_lo[top], st_hi[top], st_side[top], st_stable[top] = lo, hi, 1 - side, 1
                top += 1
        else:
            s0 = lo
            for t in range(1, seg.shape[0] + 1):
                if t == seg.shape[0] or coord[seg[t]] - coord[seg[t - 1]] > g:
                    st_lo[top], st_hi[top], st_side[top], st_stable[top] = s0, lo + t, 1 - side, 0
                    top += 1
                    s0 = lo + t
    cuts[nc] = no
    return out_perm, cuts[: nc + 1].copy()


@nb.njit(cache=True, nogil=True)
def _sp_passages(
    bnd_a: np.ndarray,
    bnd_b: np.ndarray,
    pa: np.ndarray,
    pb: np.ndarray,
    pc: np.ndarray,
    pd: np.ndarray,
    pcos: np.ndarray,
    min_cos: float,
    min_dice: float,
    gap: int,
    summary_gap: int,
    ratio: float,
    min_tokens: int,
    cover: float,
    run_a: np.ndarray,
    run_b: np.ndarray,
    run_len: np.ndarray,
) -> np.ndarray:
    """Sentence-seed stage (after Sanchez-Perez, Gelbukh & Sidorov, PAN 2014).

    Seeds are sentence pairs with a cosine of at least ``min_cos`` and a weighted
    Dice of at least ``min_dice`` (both over stemmed content words, weighted per
    document as in ``_sentence_pairs``). Seeds are clustered recursively: a gap
    of more than ``gap`` sentences on either side cuts a cluster. A cluster is a
    passage when both its spans are ``min_tokens`` long and ``cover`` of its
    sentences hold a seed (B's only outside summary mode). Summary mode: clustering again with a B gap of
    ``summary_gap`` sentences, keeping clusters whose B span is ``ratio`` times
    longer than their A span (a few sentences condensing a longer text). A fragment
    whose seeds average a cosine below ``_SP_EVIDENT_COS`` must also hold exact
    runs (``_sp_evidence``): pages on the same topic have look-alike sentences too.
    Rows as in ``align_token_ids``; ``matched`` counts shared content words.
    """
    empty = np.zeros((0, 5), dtype=np.int64)
    n0 = pa.shape[0]
    keep = np.zeros(n0, dtype=np.bool_)
    ns = 0
    for q in range(n0):
        if pc[q] >= _SP_MIN_SHARED and pd[q] >= min_dice and pcos[q] >= min_cos:
            keep[q] = True
            ns += 1
    if ns == 0:
        return empty
    nsa = bnd_a.shape[0] - 1
    nsb = bnd_b.shape[0] - 1
    if _SP_NEAR_BEST > 0:
        # a sentence is reused about once: keep seeds near the best of both sentences
        best_a = np.zeros(nsa, dtype=np.float64)
        best_b = np.zeros(nsb, dtype=np.float64)
        for q in range(n0):
            if keep[q]:
                best_a[pa[q]] = max(best_a[pa[q]], pcos[q])
                best_b[pb[q]] = max(best_b[pb[q]], pcos[q])
        for q in range(n0):
            if keep[q] and (pcos[q] < _SP_NEAR_BEST * best_a[pa[q]]
                            or pcos[q] < _SP_NEAR_BEST * best_b[pb[q]]):
                keep[q] = False
    idx = np.nonzero(keep)[0]
    if idx.shape[0] == 0:
        return empty
    ns = idx.shape[0]
    sa = pa[idx]
    sb = pb[idx]
    mark_a = np.full(nsa, -1, dtype=np.int64)
    mark_b = np.full(nsb, -1, dtype=np.int64)
    out = np.empty((2 * ns, 5), dtype=np.int64)
    no = 0
    stamp = 0
    passes = 2 if summary_gap > gap else 1
    for ps in range(passes):
        gap_b = gap if ps == 0 else summary_gap
        perm, cuts = _sp_clusters(sa, sb, gap, gap_b)
        for c in range(cuts.shape[0] - 1):
            a0 = nsa
            a1 = -1
            b0 = nsb
            b1 = -1
            matched = 0
            da = 0
            db = 0
            cmax = 0.0
            csum = 0.0
            stamp += 1
            for t in range(cuts[c], cuts[c + 1]):
                x = perm[t]
                a0 = min(a0, sa[x])
                a1 = max(a1, sa[x])
                b0 = min(b0, sb[x])
                b1 = max(b1, sb[x])
                matched += pc[idx[x]]
                cmax = max(cmax, pcos[idx[x]])
                csum += pcos[idx[x]]
                if mark_a[sa[x]] != stamp:
                    mark_a[sa[x]] = stamp
                    da += 1
                if mark_b[sb[x]] != stamp:
                    mark_b[sb[x]] = stamp
                    db += 1
            la = bnd_a[a1 + 1] - bnd_a[a0]
            lb = bnd_b[b1 + 1] - bnd_b[b0]
            if la < min_tokens or lb < min_tokens:
                continue
            if da < cover * (a1 - a0 + 1):
                continue
            if cuts[c + 1] - cuts[c] < 2 and cmax < _SP_SINGLE_COS:
                continue  # one sentence pair: only when very similar
            summ = lb >= ratio * la
            if ps == 1 and (not summ or cuts[c + 1] - cuts[c] < _SP_SUMMARY_SEEDS):
                continue  # the summary pass adds summary-shaped fragments of several seeds
            if not summ and db < cover * (b1 - b0 + 1):
                continue
            _set_row(out, no, bnd_a[a0], bnd_a[a1 + 1], bnd_b[b0], bnd_b[b1 + 1], matched)
            if csum < _SP_EVIDENT_COS * (cuts[c + 1] - cuts[c]) and not _sp_evidence(
                    out[no], run_a, run_b, run_len, ratio):
                continue  # loosely similar sentences without a verbatim trace: topic
            no += 1
    return out[:no]


@nb.njit(cache=True, nogil=True)
def _range_cos(a_uv: np.ndarray, a_up: np.ndarray, b_uv: np.ndarray, b_up: np.ndarray,
               a0: int, a1: int, b0: int, b1: int) -> float:
    """Cosine of the content-word counts of tokens ``[a0, a1)`` of A and ``[b0, b1)`` of B
    (``*_uv``/``*_up``: the sorted content-word keys and positions of ``seed_index``)."""
    dot = 0.0
    sa = 0.0
    sb = 0.0
    x = 0
    y = 0
    na = a_uv.shape[0]
    nb_ = b_uv.shape[0]
    while x < na or y < nb_:
        if y >= nb_ or (x < na and a_uv[x] < b_uv[y]):
            v = a_uv[x]
        else:
            v = b_uv[y]
        ca = 0
        while x < na and a_uv[x] == v:
            if a0 <= a_up[x] < a1:
                ca += 1
            x += 1
        cb = 0
        while y < nb_ and b_uv[y] == v:
            if b0 <= b_up[y] < b1:
                cb += 1
            y += 1
        dot += ca * cb
        sa += ca * ca
        sb += cb * cb
    if sa == 0 or sb == 0:
        return 0.0
    return dot / np.sqrt(sa * sb)


@nb.njit(cache=True, nogil=True)
def _topic_filter(rows: np.ndarray, a_uv: np.ndarray, a_up: np.ndarray, b_uv: np.ndarray,
                  b_up: np.ndarray, least: float) -> np.ndarray:
    """Rows whose spans' content-word cosine is at least ``least`` (``topic_contrast``:
    the documents' own cosine plus a margin). Two reports of one event share names,
    numbers and topic words all through; a reused passage is alike beyond that."""
    keep = np.ones(rows.shape[0], dtype=np.bool_)
    for x in range(rows.shape[0]):
        if _range_cos(a_uv, a_up, b_uv, b_up, rows[x, 0], rows[x, 1], rows[x, 2], rows[x, 3]) < least:
            keep[x] = False
    return rows[keep]


_SHORT_GAP = 30  # short-fragment stage: exact runs this many tokens apart (either side) split
_SHORT_DENSITY = 0.2  # ...and a cluster's runs cover at least this share of its span (each side)


@nb.njit(cache=True, nogil=True)
def _run_clusters(a_ids: np.ndarray, run_a: np.ndarray, run_b: np.ndarray, run_len: np.ndarray,
                  min_tokens: int, min_runs: int) -> np.ndarray:
    """Short-fragment stage: order-free clusters of exact runs (``short_min_matched``).

    PAN's random obfuscation shuffles and drops words inside short passages, so
    exact-run chains stay below ``min_matched_tokens``; but the passage keeps
    several verbatim phrases close together on both sides, which text on the same
    topic rarely does. Runs of ``_SHORT_RUN_TOKENS`` tokens are clustered by gaps
    (``_sp_clusters``, ``_SHORT_GAP`` tokens); a cluster of ``min_runs`` runs
    matching ``min_tokens`` tokens, covering ``_SHORT_DENSITY`` of its span on
    both sides, is a passage. Runs count once per distinct wording: a phrase
    repeated on a page ("of the United States", "chain link fence") is one run.
    """
    empty = np.zeros((0, 5), dtype=np.int64)
    n = 0
    for t in range(run_a.shape[0]):
        if run_len[t] >= _SHORT_RUN_TOKENS:
            n += 1
    if n < min_runs or min_runs <= 0:
        return empty
    ia = np.empty(n, dtype=np.int64)
    n = 0
    for t in range(run_a.shape[0]):
        if run_len[t] >= _SHORT_RUN_TOKENS:
            ia[n] = t
            n += 1
    perm, cuts = _sp_clusters(run_a[ia], run_b[ia], _SHORT_GAP, _SHORT_GAP)
    out = np.empty((cuts.shape[0], 5), dtype=np.int64)
    no = 0
    for c in range(cuts.shape[0] - 1):
        if cuts[c + 1] - cuts[c] < min_runs:
            continue
        a0 = np.int64(1 << 62)
        b0 = np.int64(1 << 62)
        a1 = np.int64(-1)
        b1 = np.int64(-1)
        m = 0
        size = cuts[c + 1] - cuts[c]
        keys = np.empty(size, dtype=np.int64)
        lens = np.empty(size, dtype=np.int64)
        for t in range(cuts[c], cuts[c + 1]):
            x = ia[perm[t]]
            a0 = min(a0, run_a[x])
            b0 = min(b0, run_b[x])
            a1 = max(a1, run_a[x] + run_len[x])
            b1 = max(b1, run_b[x] + run_len[x])
            h = np.int64(run_len[x])
            for q in range(run_a[x], run_a[x] + run_len[x]):
                h = _mix(h, a_ids[q])
            keys[t - cuts[c]] = h
            lens[t - cuts[c]] = run_len[x]
        o = np.argsort(keys)
        distinct = 0
        for t in range(size):
            if t == 0 or keys[o[t]] != keys[o[t - 1]]:
                distinct += 1
                m += lens[o[t]]
        if distinct < min_runs or m < min_tokens or m < _SHORT_DENSITY * (a1 - a0) or m < _SHORT_DENSITY * (b1 - b0):
            continue
        _set_row(out, no, a0, a1, b0, b1, m)
        no += 1
    return out[:no]


@nb.njit(cache=True, nogil=True)
def _sp_admit(rows: np.ndarray, sp_rows: np.ndarray, ratio: float) -> np.ndarray:
    """``rows`` plus the sentence-seed fragments that agree with them.

    A fragment overlapping a passage on one side only (a coarser, coincidental
    pairing next to it) is dropped: the other stages' passages are more exact.
    """
    if sp_rows.shape[0] == 0:
        return rows
    out = np.empty((rows.shape[0] + sp_rows.shape[0], 5), dtype=np.int64)
    out[: rows.shape[0]] = rows
    no = rows.shape[0]
    for x in range(sp_rows.shape[0]):
        ok = True
        summ = (sp_rows[x, 3] - sp_rows[x, 2]) >= ratio * (sp_rows[x, 1] - sp_rows[x, 0])
        for y in range(rows.shape[0]):
            oa = min(sp_rows[x, 1], rows[y, 1]) - max(sp_rows[x, 0], rows[y, 0])
            ob = min(sp_rows[x, 3], rows[y, 3]) - max(sp_rows[x, 2], rows[y, 2])
            if (oa > 0) != (ob > 0):
                ok = False
                break
            if (oa > 0 or ob > 0) and (not summ or 2 * oa >= sp_rows[x, 1] - sp_rows[x, 0]) and rows[y, 4] >= _EXT_MAX_DENSITY * min(
                    rows[y, 1] - rows[y, 0], rows[y, 3] - rows[y, 2]):
                ok = False  # a dense copy ends where it ends
                break
        if ok:
            out[no] = sp_rows[x]
            no += 1
    return out[:no]


_EXT_SHARED = 3  # extension stage: a neighbouring sentence pair sharing this many content words...
_EXT_DICE = 0.5  # ...this similar (weighted Dice) grows a passage by one sentence on each side
_EXT_SKIP = 1  # sentences an extension may skip on either side
_EXT_MAX_STEPS = 64
_EXT_MAX_DENSITY = 0.85  # ...unless this share of its tokens is matched
_EXT_LICENSE = 2  # a passage matching this many times min_matched_tokens may grow


@nb.njit(cache=True, nogil=True)
def _ext_free(rows: np.ndarray, x: int, a0: int, a1: int, b0: int, b1: int) -> bool:
    """Is the token range [a0, a1) x [b0, b1) free of every other passage (either side)?"""
    for z in range(rows.shape[0]):
        if z == x:
            continue
        if min(a1, rows[z, 1]) - max(a0, rows[z, 0]) > 0:
            return False
        if min(b1, rows[z, 3]) - max(b0, rows[z, 2]) > 0:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _extend_rows(
    rows: np.ndarray,
    sid_a: np.ndarray,
    bnd_a: np.ndarray,
    sid_b: np.ndarray,
    bnd_b: np.ndarray,
    pa: np.ndarray,
    pb: np.ndarray,
    pc: np.ndarray,
    pd: np.ndarray,
    min_shared: int,
    min_dice: float,
    license: int,
) -> np.ndarray:
    """Grow passages sentence by sentence into similar neighbouring sentences (hysteresis).

    A passage is strong evidence of reuse; the sentences next to it on both sides
    need only be laxly similar (``min_shared`` content words, Dice ``min_dice``,
    near the best match of both sentences) to belong to it: shuffled or reworded
    sentences at a passage's edge that the exact runs missed. An extension may
    skip ``_EXT_SKIP`` sentences per side and never enters another passage.
    """
    n = rows.shape[0]
    npairs = pa.shape[0]
    if n == 0 or npairs == 0:
        return rows
    nsa = bnd_a.shape[0] - 1
    nsb = bnd_b.shape[0] - 1
    best_a = np.zeros(nsa, dtype=np.float64)
    best_b = np.zeros(nsb, dtype=np.float64)
    for q in range(npairs):
        if pc[q] >= min_shared and pd[q] >= min_dice:
            best_a[pa[q]] = max(best_a[pa[q]], pd[q])
            best_b[pb[q]] = max(best_b[pb[q]], pd[q])
    ok = np.zeros(npairs, dtype=np.bool_)
    for q in range(npairs):
        ok[q] = (pc[q] >= min_shared and pd[q] >= min_dice
                 and pd[q] >= _SENT_NEAR_BEST * best_a[pa[q]]
                 and pd[q] >= _SENT_NEAR_BEST * best_b[pb[q]])
    start_a = np.zeros(nsa + 1, dtype=np.int64)  # pairs are sorted by A sentence
    for q in range(npairs):
        start_a[pa[q] + 1] += 1
    for s in range(nsa):
        start_a[s + 1] += start_a[s]
    r = rows.copy()
    for x in range(n):
        if r[x, 4] < license or r[x, 4] >= _EXT_MAX_DENSITY * min(r[x, 1] - r[x, 0], r[x, 3] - r[x, 2]):
            continue  # weak, or a dense copy (verbatim text and quotations end where they end)
        for _ in range(_EXT_MAX_STEPS):
            grown = False
            # the next (then the previous) sentence of A, matched to a sentence of B
            # just after or just before the passage's B span (order-free: shuffled
            # sentences); the B span grows to cover it
            sa1 = sid_a[r[x, 1] - 1]
            sa0 = sid_a[r[x, 0]]
            sb0 = sid_b[r[x, 2]]
            sb1 = sid_b[r[x, 3] - 1]
            for fwd in (True, False):
                bq = -1
                bs = 0.0
                lo_s = sa1 if fwd else max(0, sa0 - 1 - _EXT_SKIP)
                hi_s = min(nsa, sa1 + 2 + _EXT_SKIP) if fwd else sa0 + 1
                for s in range(lo_s, hi_s):
                    na0 = r[x, 1] if fwd else bnd_a[s]
                    na1 = bnd_a[s + 1] if fwd else r[x, 0]
                    if na1 <= na0:
                        continue
                    for q in range(start_a[s], start_a[s + 1]):
                        if not ok[q]:
                            continue
                        t = pb[q]
                        if t > sb1:
                            nb0 = r[x, 3]
                            nb1 = bnd_b[t + 1]
                            dist = t - sb1
                        elif t < sb0:
                            nb0 = bnd_b[t]
                            nb1 = r[x, 2]
                            dist = sb0 - t
                        elif t == sb1 and bnd_b[t + 1] > r[x, 3]:
                            nb0 = r[x, 3]
                            nb1 = bnd_b[t + 1]
                            dist = 0
                        elif t == sb0 and bnd_b[t] < r[x, 2]:
                            nb0 = bnd_b[t]
                            nb1 = r[x, 2]
                            dist = 0
                        else:
                            continue
                        if dist > 1 + _EXT_SKIP:
                            continue
                        da = (s - sa1) if fwd else (sa0 - s)
                        sc = pd[q] - 0.1 * (da + dist)
                        if sc > bs and _ext_free(r, x, na0, na1, nb0, nb1):
                            bs = sc
                            bq = q
                if bq >= 0:
                    if fwd:
                        r[x, 1] = bnd_a[pa[bq] + 1]
                    else:
                        r[x, 0] = bnd_a[pa[bq]]
                    t = pb[bq]
                    if bnd_b[t + 1] > r[x, 3]:
                        r[x, 3] = bnd_b[t + 1]
                    if bnd_b[t] < r[x, 2]:
                        r[x, 2] = bnd_b[t]
                    r[x, 4] += pc[bq]
                    grown = True
            if not grown:
                break
    return r


@nb.njit(cache=True, nogil=True)
def _one_sided(ga: int, gb: int) -> bool:
    return (ga >= _ONE_SIDED_GROWTH and gb < _ONE_SIDED_GAP) or (
        gb >= _ONE_SIDED_GROWTH and ga < _ONE_SIDED_GAP)


_REPEAT_MIN_TOKENS = 45  # a repeat of A's text (see _repeat_copy) is at least this long...
_REPEAT_DENSITY = 0.9  # ...matched this densely on both sides, and covers this much of the
# stronger passage's B span (the same text again, not a phrase of it)


@nb.njit(cache=True, nogil=True)
def _repeat_copy(row: np.ndarray) -> bool:
    """A near-verbatim copy long enough to be a repeat of the text, not a coincidence."""
    la = row[1] - row[0]
    lb = row[3] - row[2]
    return min(la, lb) >= _REPEAT_MIN_TOKENS and row[4] >= _REPEAT_DENSITY * max(la, lb)


@nb.njit(cache=True, nogil=True)
def _union_overlapping(rows: np.ndarray) -> np.ndarray:
    """Merge passages that overlap (or touch) on both sides; drop ones that repeat a side.

    A passage overlapping a stronger one by more than half of its own length on
    either side is the same text aligned a second time (a repeated source
    paragraph, a coincidental phrase inside a reused passage): it is dropped --
    except a long near-verbatim copy (``_repeat_copy``) whose A span is apart from
    the stronger one's and whose B span covers nearly all of the stronger one's: A
    (the query, the suspicious text) repeats the reused text, and each repeat is
    reported. A span of A is reported once.
    """
    n = rows.shape[0]
    if n <= 1:
        return rows
    r = rows.copy()
    alive = np.ones(n, dtype=np.bool_)
    changed = True
    while changed:
        changed = False
        for x in range(n):
            if not alive[x]:
                continue
            for y in range(n):
                if y == x or not alive[y]:
                    continue
                oa = min(r[x, 1], r[y, 1]) - max(r[x, 0], r[y, 0])
                ob = min(r[x, 3], r[y, 3]) - max(r[x, 2], r[y, 2])
                if oa >= 0 and ob >= 0:
                    if (oa == 0 or ob == 0) and (r[x, 0] < r[y, 0]) != (r[x, 2] < r[y, 2]):
                        continue  # adjacent but crossing: swapped sentences, two passages
                    # the union must grow both sides alike: growth on one side only
                    # is a second, coincidental match next to the passage
                    ua = max(r[x, 1], r[y, 1]) - min(r[x, 0], r[y, 0])
                    ub = max(r[x, 3], r[y, 3]) - min(r[x, 2], r[y, 2])
                    if _one_sided(ua - (r[x, 1] - r[x, 0]), ub - (r[x, 3] - r[x, 2])) or _one_sided(
                            ua - (r[y, 1] - r[y, 0]), ub - (r[y, 3] - r[y, 2])):
                        continue
                    r[x, 0] = min(r[x, 0], r[y, 0])
                    r[x, 1] = max(r[x, 1], r[y, 1])
                    r[x, 2] = min(r[x, 2], r[y, 2])
                    r[x, 3] = max(r[x, 3], r[y, 3])
                    r[x, 4] = r[x, 4] + r[y, 4]
                    alive[y] = False
                    changed = True
    for x in range(n):
        if not alive[x]:
            continue
        for y in range(n):
            if y == x or not alive[y]:
                continue
            # y stronger than x (ties: the earlier one wins)
            if r[y, 4] < r[x, 4] or (r[y, 4] == r[x, 4] and y > x):
                continue
            oa = min(r[x, 1], r[y, 1]) - max(r[x, 0], r[y, 0])
            ob = min(r[x, 3], r[y, 3]) - max(r[x, 2], r[y, 2])
            if 2 * oa > r[x, 1] - r[x, 0] or (2 * ob > r[x, 3] - r[x, 2] and not (
                    oa <= 0 and _repeat_copy(r[x])
                    and ob >= _REPEAT_DENSITY * (r[y, 3] - r[y, 2]))):
                alive[x] = False
                break
    m = 0
    for x in range(n):
        if alive[x]:
            m += 1
    out = np.empty((m, 5), dtype=np.int64)
    m = 0
    for x in range(n):
        if alive[x]:
            out[m] = r[x]
            la = r[x, 1] - r[x, 0]
            lb = r[x, 3] - r[x, 2]
            if out[m, 4] > min(la, lb):
                out[m, 4] = min(la, lb)
            m += 1
    order = np.argsort(out[:, 0], kind="mergesort")
    return out[order]


_SUMMARY_COPY_DENSITY = 0.9  # two neighbouring passages this dense (both sides)...
_SUMMARY_COPY_TOKENS = 45  # ...and this long are two copied passages, never one summary


@nb.njit(cache=True, nogil=True)
def _dense_copy(row: np.ndarray) -> bool:
    """A long passage copied nearly word for word on both sides (not a summary piece)."""
    la = row[1] - row[0]
    lb = row[3] - row[2]
    return (min(la, lb) >= _SUMMARY_COPY_TOKENS
            and row[4] >= _SUMMARY_COPY_DENSITY * max(la, lb))


@nb.njit(cache=True, nogil=True)
def _merge_summaries(rows: np.ndarray, gap_a: int, ratio: float, min_matched: int,
                     nbt: int) -> np.ndarray:
    """Merge passages that lie close together in A but spread over a much longer span of B.

    That is the shape of a summary (or a digest): a few consecutive sentences of A
    each condense a different part of B. Such a group becomes one passage when
    B's span is at least ``ratio`` times A's, and little of the B text between
    them is aligned elsewhere (that would be reordered paragraphs, not a summary). Rows must be sorted by ``a_lo``.

    A summary condenses a whole text, not a slice of it: when the B span of a
    summary-shaped passage (merged or single) already covers
    ``_SUMMARY_WHOLE`` of B and nothing else of B is aligned, it is extended to
    all of B.
    """
    n = rows.shape[0]
    if n == 0 or gap_a <= 0:
        return rows
    out = np.empty((n, 5), dtype=np.int64)
    no = 0
    x = 0
    while x < n:
        a0 = rows[x, 0]
        a1 = rows[x, 1]
        b0 = rows[x, 2]
        b1 = rows[x, 3]
        m = rows[x, 4]
        y = x + 1
        while y < n and rows[y, 0] - a1 <= gap_a and not (
                _dense_copy(rows[y - 1]) and _dense_copy(rows[y])):
            a1 = max(a1, rows[y, 1])
            b0 = min(b0, rows[y, 2])
            b1 = max(b1, rows[y, 3])
            m += rows[y, 4]
            y += 1
        elsewhere = 0  # B tokens between them aligned to other parts of A (a reordering)
        for z in range(n):
            if z < x or z >= y:
                ov = min(b1, rows[z, 3]) - max(b0, rows[z, 2])
                if ov > 0:
                    elsewhere += ov
        if ((b1 - b0) >= ratio * (a1 - a0) and m >= min_matched
                and elsewhere * 5 <= (b1 - b0)):
            if ((b1 - b0) >= _SUMMARY_WHOLE * nbt and elsewhere == 0
                    and nbt >= 2 * ratio * (a1 - a0)):
                b0 = 0
                b1 = nbt
            _set_row(out, no, a0, a1, b0, b1, m)
            no += 1
        else:
            for z in range(x, y):
                out[no] = rows[z]
                no += 1
        x = y
    return out[:no]


@nb.njit(cache=True, nogil=True)
def _snap_to_sentences(row: np.ndarray, a_flags: np.ndarray, b_flags: np.ndarray, snap: int) -> None:
    """Extend a passage to the sentence edges when both sides are within ``snap`` tokens.

    A spun first or last word ("Russia said" -> "Russian Federation stated") does
    not match, yet belongs to the passage; stopping at a sentence edge on both
    sides is the evidence that it does.
    """
    if snap <= 0:
        return
    na = a_flags.shape[0]
    nbt = b_flags.shape[0]
    # start: nearest sentence start at or before the passage start, on both sides
    sa = row[0]
    while sa > 0 and row[0] - sa < snap and (a_flags[sa] & 2) == 0:
        sa -= 1
    sb = row[2]
    while sb > 0 and row[2] - sb < snap and (b_flags[sb] & 2) == 0:
        sb -= 1
    # both sides must have an unmatched edge: otherwise the extra words are an insertion
    if sa < row[0] and sb < row[2] and (a_flags[sa] & 2) != 0 and (b_flags[sb] & 2) != 0:
        row[0] = sa
        row[2] = sb
    # end: nearest sentence start (or document end) at or after the passage end
    ea = row[1]
    while ea < na and ea - row[1] < snap and (a_flags[ea] & 2) == 0:
        ea += 1
    eb = row[3]
    while eb < nbt and eb - row[3] < snap and (b_flags[eb] & 2) == 0:
        eb += 1
    if (ea > row[1] and eb > row[3] and (ea == na or (a_flags[ea] & 2) != 0)
            and (eb == nbt or (b_flags[eb] & 2) != 0)):
        row[1] = ea
        row[3] = eb


@nb.njit(cache=True, nogil=True)
def _weak_edge(ra: np.ndarray, rb: np.ndarray, rl: np.ndarray, edge: int, inner: int) -> bool:
    """A chain's end run is weak when it is short and farther from its neighbour than long."""
    if rl[edge] > 2:
        return False
    if ra[edge] < ra[inner]:
        ga = ra[inner] - (ra[edge] + rl[edge])
        gb = rb[inner] - (rb[edge] + rl[edge])
    else:
        ga = ra[edge] - (ra[inner] + rl[inner])
        gb = rb[edge] - (rb[inner] + rl[inner])
    gap = ga if ga > gb else gb
    return gap >= rl[edge] + 2


_BAG_GAP = 6  # bag extension: a stretch of this many unmatched content words ends it
_BAG_MIN_HITS = 2  # ...an extension holds at least this many matched content words
_BAG_CAP = 1.0  # ...and grows a side by at most this times the passage's longer side
_BAG_NEUTRAL = 0.5  # a word of the other span already matched counts this much of a hit
_BAG_COMPLETE = 20  # a side cut inside a sentence takes the rest of it when this short...
_BAG_QUOTED = 0.5  # bag extension: a passage this much inside quotations does not grow
_BAG_COMPLETE_SHARE = 0.4  # ...and this share of its content words occur in the other span
_BAG_ROUNDS = 2  # rounds of (B from A, A from B): each changes the other side's bag


@nb.njit(cache=True, nogil=True)
def _residual_bag(o_ids: np.ndarray, o_flags: np.ndarray, o0: int, o1: int,
                  s_ids: np.ndarray, s_flags: np.ndarray, s0: int, s1: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content words of the other side's span, with how many of each its own span lacks.

    Returns ``(vals, left, total)``: sorted distinct content ids of ``o_ids[o0:o1]``,
    per id the count not matched by the same id in ``s_ids[s0:s1]`` (a multiset
    difference: words the side's missing text should hold), and the count in the span.
    """
    n = 0
    for i in range(o0, o1):
        if (o_flags[i] & 1) == 0:
            n += 1
    ov = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(o0, o1):
        if (o_flags[i] & 1) == 0:
            ov[n] = o_ids[i]
            n += 1
    ov.sort()
    vals = np.empty(n, dtype=np.int64)
    total = np.zeros(n, dtype=np.int64)
    m = 0
    for t in range(n):
        if m == 0 or vals[m - 1] != ov[t]:
            vals[m] = ov[t]
            m += 1
        total[m - 1] += 1
    vals = vals[:m]
    total = total[:m]
    left = total.copy()
    for i in range(s0, s1):
        if (s_flags[i] & 1) == 0:
            k = np.searchsorted(vals, s_ids[i])
            if k < m and vals[k] == s_ids[i] and left[k] > 0:
                left[k] -= 1
    return vals, left, total


@nb.njit(cache=True, nogil=True)
def _bag_scan(s_ids: np.ndarray, s_flags: np.ndarray, start: int, limit: int, step: int,
              vals: np.ndarray, left: np.ndarray, density: float, gap: int,
              min_hits: int, neutral_w: float) -> tuple[int, int]:
    """Scan from ``start`` towards ``limit`` (``step`` +1 or -1) over the side's text.

    A content word still in the residual bag is a hit (consumed); one of the other
    span's words already matched is neutral; any other content word is a miss.
    Returns the furthest edge (exclusive when forward, inclusive when backward)
    where ``_BAG_MIN_HITS`` hits make at least ``density`` of the scanned content
    words, with no ``_BAG_GAP`` misses in a row before it, and its hit count.
    """
    lf = left.copy()
    m = vals.shape[0]
    hits = 0
    neutral = 0
    seg_w = 0.0
    seg_seen = 0
    seen = 0
    miss_run = 0
    best = start
    best_hits = 0
    p = start if step > 0 else start - 1
    while (step > 0 and p < limit) or (step < 0 and p >= limit):
        if (s_flags[p] & 1) == 0:
            v = s_ids[p]
            k = np.searchsorted(vals, v)
            if k < m and vals[k] == v:
                seen += 1
                seg_seen += 1
                if lf[k] > 0:
                    lf[k] -= 1
                    hits += 1
                    seg_w += 1.0
                    miss_run = 0
                else:
                    neutral += 1
                    seg_w += neutral_w
                # the whole extension, and the stretch since the last accepted edge,
                # must be dense: one lucky word after a few misses does not count
                if (hits >= min_hits and hits + neutral_w * neutral >= density * seen
                        and seg_w >= density * seg_seen):
                    best = p + 1 if step > 0 else p
                    best_hits = hits
                    seg_w = 0.0
                    seg_seen = 0
            else:
                seen += 1
                seg_seen += 1
                miss_run += 1
                if miss_run >= gap:
                    break
        p += step
    return best, best_hits


@nb.njit(cache=True, nogil=True)
def _free_limits(r: np.ndarray, x: int, sc: int, lo_lim: int, hi_lim: int) -> tuple[int, int]:
    """``[lo_lim, hi_lim)`` narrowed so that side ``sc`` (0: A, 2: B) of passage ``x``
    grows into no other passage."""
    s0 = r[x, sc]
    s1 = r[x, sc + 1]
    for z in range(r.shape[0]):
        if z == x:
            continue
        if r[z, sc + 1] > s1:
            hi_lim = min(hi_lim, max(s1, r[z, sc]))
        if r[z, sc] < s0:
            lo_lim = max(lo_lim, min(s0, r[z, sc + 1]))
    return lo_lim, hi_lim


@nb.njit(cache=True, nogil=True)
def _sides(side: int, a_ids: np.ndarray, a_flags: np.ndarray, b_ids: np.ndarray,
           b_flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """The side a passage grows on (0: B, 1: A) and the other one: its ids and flags,
    the other's, the row columns of both sides' starts, and its length."""
    if side == 0:
        return b_ids, b_flags, a_ids, a_flags, 2, 0, b_ids.shape[0]
    return a_ids, a_flags, b_ids, b_flags, 0, 2, a_ids.shape[0]


@nb.njit(cache=True, nogil=True)
def _bag_extend(rows: np.ndarray, a_ids: np.ndarray, a_flags: np.ndarray, b_ids: np.ndarray,
                b_flags: np.ndarray, knobs: np.ndarray, snap: int) -> np.ndarray:
    """Grow each passage's sides over reordered text whose words the other side holds.

    PAN's random obfuscation (and an aggregator rearranging clauses) moves words
    across clause and sentence borders: a passage found on both sides may cover
    all of its text on one side but only part on the other, where the moved
    clauses lie just outside the span. Each side is extended outward (before its
    start, after its end) over text whose content words are still *unmatched* in
    the other side's span (a multiset difference, so topic words the passage
    already accounts for do not count), while ``density`` of its content words are
    such hits (``_BAG_MIN_HITS`` at least) and no ``_BAG_GAP`` misses come in a
    row; at most ``_BAG_CAP`` times the passage's longer side, never into another
    passage, then out to a sentence edge within ``snap`` tokens. Both sides are
    grown in turn, ``_BAG_ROUNDS`` times (growing one side changes the other's bag).
    A word of the other span already matched counts ``_BAG_NEUTRAL`` of a hit, and
    the stretch since the last accepted edge must be dense too (one lucky topic
    word after misses does not move the edge). A copy matched word for word leaves
    no residual: it does not grow. Then ``_complete_sentences`` (not for dense copies).
    """
    n = rows.shape[0]
    density = knobs[K_BAG_DENSITY]
    if n == 0 or density <= 0:
        return rows
    gap = int(knobs[K_BAG_GAP])
    min_hits = int(knobs[K_BAG_MIN_HITS])
    cap_ratio = knobs[K_BAG_CAP]
    rounds = int(knobs[K_BAG_ROUNDS])
    neutral_w = knobs[K_BAG_NEUTRAL]
    complete = int(knobs[K_BAG_COMPLETE])
    complete_share = knobs[K_BAG_COMPLETE_SHARE]
    r = rows.copy()
    quoted = np.zeros(n, dtype=np.bool_)
    for x in range(n):
        quoted[x] = (_quoted_share(a_flags, r[x, 0], r[x, 1]) >= _BAG_QUOTED
                     or _quoted_share(b_flags, r[x, 2], r[x, 3]) >= _BAG_QUOTED)
    for _ in range(rounds):
        grown = False
        for x in range(n):
            if quoted[x]:
                continue  # a shared quotation: the text around it is the reporter's own
            for side in range(2):
                # side 0: grow B with A's residual bag; side 1: grow A with B's
                s_ids, s_flags, o_ids, o_flags, sc, oc, ns = _sides(side, a_ids, a_flags, b_ids, b_flags)
                s0 = r[x, sc]
                s1 = r[x, sc + 1]
                vals, left, _total = _residual_bag(o_ids, o_flags, r[x, oc], r[x, oc + 1],
                                                   s_ids, s_flags, s0, s1)
                rest = 0
                for k in range(left.shape[0]):
                    rest += left[k]
                if rest < min_hits:
                    continue
                cap = int(cap_ratio * max(s1 - s0, r[x, oc + 1] - r[x, oc]))
                lo_lim, hi_lim = _free_limits(r, x, sc, max(0, s0 - cap), min(ns, s1 + cap))
                # scan both ways on the full bag; the stronger extension takes its
                # words first, the other direction is scanned again with the rest
                ef, hf = _bag_scan(s_ids, s_flags, s1, hi_lim, 1, vals, left, density, gap, min_hits, neutral_w)
                eb, hb = _bag_scan(s_ids, s_flags, s0, lo_lim, -1, vals, left, density, gap, min_hits, neutral_w)
                if hf == 0 and hb == 0:
                    continue
                first_fwd = hf >= hb
                for t in range(2):
                    fwd = first_fwd if t == 0 else not first_fwd
                    if t == 1:
                        if fwd:
                            ef, hf = _bag_scan(s_ids, s_flags, s1, hi_lim, 1, vals, left, density,
                                               gap, min_hits, neutral_w)
                        else:
                            eb, hb = _bag_scan(s_ids, s_flags, s0, lo_lim, -1, vals, left, density,
                                               gap, min_hits, neutral_w)
                    if fwd:
                        if hf == 0:
                            continue
                        _bag_consume(s_ids, s_flags, s1, ef, vals, left)
                        e = ef
                        q = e
                        while q < hi_lim and q - e < snap and (s_flags[q] & 2) == 0:
                            q += 1
                        if q - e < snap and (q == ns or (q < hi_lim and (s_flags[q] & 2) != 0)):
                            e = q
                        r[x, sc + 1] = e
                        r[x, 4] += hf
                        grown = True
                    else:
                        if hb == 0:
                            continue
                        _bag_consume(s_ids, s_flags, eb, s0, vals, left)
                        e = eb
                        q = e
                        while q > lo_lim and e - q < snap and (s_flags[q] & 2) == 0:
                            q -= 1
                        if e - q < snap and (s_flags[q] & 2) != 0:
                            e = q
                        r[x, sc] = e
                        r[x, 4] += hb
                        grown = True
        if not grown:
            break
    if complete > 0:
        _complete_sentences(r, a_ids, a_flags, b_ids, b_flags, complete, complete_share, quoted)
    return r


@nb.njit(cache=True, nogil=True)
def _quoted_share(flags: np.ndarray, lo: int, hi: int) -> float:
    """Share of tokens ``[lo, hi)`` inside direct quotations (``tokens.QUOTED``)."""
    if hi <= lo:
        return 0.0
    c = 0
    for i in range(lo, hi):
        if (flags[i] & _QUOTED) != 0:
            c += 1
    return c / (hi - lo)


@nb.njit(cache=True, nogil=True)
def _piece_share(s_ids: np.ndarray, s_flags: np.ndarray, lo: int, hi: int,
                 vals: np.ndarray) -> float:
    """Share of the content words of ``s_ids[lo:hi]`` found in ``vals`` (1 when none)."""
    c = 0
    h = 0
    m = vals.shape[0]
    for p in range(lo, hi):
        if (s_flags[p] & 1) == 0:
            c += 1
            k = np.searchsorted(vals, s_ids[p])
            if k < m and vals[k] == s_ids[p]:
                h += 1
    return 1.0 if c == 0 else h / c


@nb.njit(cache=True, nogil=True)
def _complete_sentences(r: np.ndarray, a_ids: np.ndarray, a_flags: np.ndarray,
                        b_ids: np.ndarray, b_flags: np.ndarray, complete: int,
                        share: float, skip: np.ndarray) -> None:
    """Out to the sentence edges: a side cut inside a sentence takes the rest of it.

    The piece between a passage edge and the sentence edge (at most ``complete``
    tokens, never into another passage) joins when ``share`` of its content words
    occur in the other side's span: a reordered clause, or a reworded sentence
    end, whose words the passage's other side holds.
    """
    n = r.shape[0]
    for x in range(n):
        if skip[x] or r[x, 4] >= _EXT_MAX_DENSITY * min(r[x, 1] - r[x, 0], r[x, 3] - r[x, 2]):
            continue  # a dense copy (verbatim text, a quotation) ends where it ends
        for side in range(2):
            s_ids, s_flags, o_ids, o_flags, sc, oc, ns = _sides(side, a_ids, a_flags, b_ids, b_flags)
            vals, _left, _total = _residual_bag(o_ids, o_flags, r[x, oc], r[x, oc + 1],
                                                s_ids, s_flags, 0, 0)
            s0 = r[x, sc]
            s1 = r[x, sc + 1]
            lo_lim, hi_lim = _free_limits(r, x, sc, max(0, s0 - complete), min(ns, s1 + complete))
            q = s1
            while q < hi_lim and (s_flags[q] & 2) == 0:
                q += 1
            if q > s1 and (q == ns or (q < ns and (s_flags[q] & 2) != 0)):
                if _piece_share(s_ids, s_flags, s1, q, vals) >= share:
                    r[x, sc + 1] = q
            q = s0
            while q > lo_lim and (s_flags[q] & 2) == 0:
                q -= 1
            if q < s0 and (s_flags[q] & 2) != 0:
                if _piece_share(s_ids, s_flags, q, s0, vals) >= share:
                    r[x, sc] = q


@nb.njit(cache=True, nogil=True)
def _bag_consume(s_ids: np.ndarray, s_flags: np.ndarray, lo: int, hi: int,
                 vals: np.ndarray, left: np.ndarray) -> None:
    """Take the words of ``s_ids[lo:hi]`` out of the residual bag."""
    m = vals.shape[0]
    for p in range(lo, hi):
        if (s_flags[p] & 1) == 0:
            k = np.searchsorted(vals, s_ids[p])
            if k < m and vals[k] == s_ids[p] and left[k] > 0:
                left[k] -= 1


#: The aligner's settings travel to the compiled functions as one float64 array
#: (:func:`knobs`), read at these positions.
K_MAX_OCC = 0
K_MAX_GAP = 1
K_MERGE_GAP = 2
K_MIN_MATCHED = 3
K_MIN_DENSITY = 4
K_SNAP = 5
K_SENT_MIN_SHARED = 6
K_SENT_MIN_DICE = 7
K_SENT_MAX_GAP = 8
K_SENT_MIN_SEEDS = 9
K_SUMMARY_GAP = 10
K_SUMMARY_RATIO = 11
K_RELAX_STRONG = 12
K_RELAX_DENSITY = 13
K_RELAX_DICE = 14
K_SPARSE_TOKENS = 15
K_SP_COS = 16
K_SP_DICE = 17
K_SP_GAP = 18
K_SP_SUMMARY_GAP = 19
K_SP_MIN_TOKENS = 20
K_SP_COVER = 21
K_SHORT_MIN_MATCHED = 22
K_SHORT_MIN_RUNS = 23
K_TOPIC_CONTRAST = 24
K_BAG_DENSITY = 25
K_BAG_GAP = 26
K_BAG_MIN_HITS = 27
K_BAG_CAP = 28
K_BAG_ROUNDS = 29
K_BAG_NEUTRAL = 30
K_BAG_COMPLETE = 31
K_BAG_COMPLETE_SHARE = 32
K_SUMMARY_CONTRAST = 33


_SUMMARY_WINDOW = 100  # whole-text summaries: tokens of A per window
_SUMMARY_STEP = 20  # ...windows start this many tokens apart (divides the window)
_SUMMARY_MIN_COS = 0.4  # ...least cosine of a window with the whole of B
_SUMMARY_PHRASES = 0.25  # ...least share of the window's lower-case word pairs found in B
_SUMMARY_RARE = 16  # ...least distinct words of the window that B uses once or twice
_SUMMARY_GATE = 0.5  # ...only when the other passages cover less of B than this
_SUMMARY_LOOSE = 0.5  # ...passages matching this share of their tokens are copies


@nb.njit(cache=True, nogil=True)
def _shared_ids(a_vals: np.ndarray, a_pos: np.ndarray, b_vals: np.ndarray, b_pos: np.ndarray,
                na: int, nbt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Dense ids for A's keys (sorted ``seed_index`` keys and positions): the id at each
    position of A (-1: no key), at each position of B holding one of A's keys, how many
    times B holds each id, and the number of ids."""
    a_id = np.full(na, -1, dtype=np.int64)
    b_id = np.full(nbt, -1, dtype=np.int64)
    in_b = np.zeros(a_vals.shape[0] + 1, dtype=np.float64)
    n = 0
    x = 0
    y = 0
    while x < a_vals.shape[0]:
        v = a_vals[x]
        while x < a_vals.shape[0] and a_vals[x] == v:
            a_id[a_pos[x]] = n
            x += 1
        while y < b_vals.shape[0] and b_vals[y] < v:
            y += 1
        while y < b_vals.shape[0] and b_vals[y] == v:
            b_id[b_pos[y]] = n
            in_b[n] += 1.0
            y += 1
        n += 1
    return a_id, b_id, in_b, n


@nb.njit(cache=True, nogil=True)
def _in_b_share(a_word: np.ndarray, cb: np.ndarray, lo: int, hi: int) -> float:
    """Share of the content words of A's tokens ``[lo, hi)`` that B holds (1 when none)."""
    n = 0
    h = 0
    for i in range(lo, hi):
        if a_word[i] >= 0:
            n += 1
            if cb[a_word[i]] > 0:
                h += 1
    return h / n if n else 1.0


@nb.njit(cache=True, nogil=True)
def _summary_rows(rows: np.ndarray, na: int, nbt: int, a_flags: np.ndarray, a_uv: np.ndarray,
                  a_up: np.ndarray, a_bv: np.ndarray, a_bp: np.ndarray, b_uv: np.ndarray,
                  b_up: np.ndarray, b_bv: np.ndarray, b_bp: np.ndarray, doc_cos: float,
                  contrast: float) -> np.ndarray:
    """Stage 10: add passages where a block of A summarises (much of) B; see the module doc."""
    w = _SUMMARY_WINDOW
    if contrast <= 0 or na < w // 2 or nbt < w // 2:
        return rows
    covered = np.zeros(nbt, dtype=np.bool_)
    busy = np.zeros(na, dtype=np.bool_)
    for x in range(rows.shape[0]):
        covered[rows[x, 2]:rows[x, 3]] = True
        if 2.0 * rows[x, 4] >= _SUMMARY_LOOSE * (rows[x, 1] - rows[x, 0] + rows[x, 3] - rows[x, 2]):
            busy[rows[x, 0]:rows[x, 1]] = True
    if covered.sum() > _SUMMARY_GATE * nbt:
        return rows
    # content words of A as dense ids, with their count in B; B positions by A's ids
    a_word, b_word, cb, nd = _shared_ids(a_uv, a_up, b_uv, b_up, na, nbt)
    sb2 = 0.0  # squared norm of B's content-word counts
    y = 0
    while y < b_uv.shape[0]:
        c = 0.0
        v = b_uv[y]
        while y < b_uv.shape[0] and b_uv[y] == v:
            c += 1.0
            y += 1
        sb2 += c * c
    # lower-case word pairs of A (phrasing, not names) as dense ids, and whether B has them
    a_pair, _b_pair, in_b, npairs = _shared_ids(a_bv, a_bp, b_bv, b_bp, na, nbt)
    for i in range(na):
        if (a_flags[i] & _CAPITAL) != 0 or (i + 1 < na and (a_flags[i + 1] & _CAPITAL) != 0):
            a_pair[i] = -1
    # each window: cosine with the whole of B, share of its word pairs found in B
    nwin = max(1, (na - w) // _SUMMARY_STEP + 1)
    cos = np.zeros(nwin, dtype=np.float64)
    pair_share = np.zeros(nwin, dtype=np.float64)
    rare = np.zeros(nwin, dtype=np.int64)
    cnt = np.zeros(nd + 1, dtype=np.float64)
    stamp = np.full(npairs + 1, -1, dtype=np.int64)
    for k in range(nwin):
        s = k * _SUMMARY_STEP
        e = min(na, s + w)
        dot = 0.0
        sa = 0.0
        distinct = 0
        found = 0
        for i in range(s, e):
            d = a_word[i]
            if d >= 0:
                dot += cb[d]
                sa += 2.0 * cnt[d] + 1.0
                if cnt[d] == 0 and 0 < cb[d] <= 2:
                    rare[k] += 1
                cnt[d] += 1.0
            q = a_pair[i]
            if q >= 0 and stamp[q] != k:
                stamp[q] = k
                distinct += 1
                if in_b[q] > 0:
                    found += 1
        for i in range(s, e):
            if a_word[i] >= 0:
                cnt[a_word[i]] = 0.0
        if sa > 0 and sb2 > 0:
            cos[k] = dot / np.sqrt(sa * sb2)
        if distinct > 0:
            pair_share[k] = found / distinct
    # qualifying windows, merged into regions
    hop = w // _SUMMARY_STEP
    out = np.empty((rows.shape[0] + nwin, 5), dtype=np.int64)
    keep = np.ones(rows.shape[0], dtype=np.bool_)
    no = 0
    mark = np.zeros(nd + 1, dtype=np.bool_)
    k = 0
    while k < nwin:
        r0 = -1
        r1 = -1
        while k < nwin:
            s = k * _SUMMARY_STEP
            e = min(na, s + w)
            if r0 >= 0 and s > r1:
                break
            left = cos[k - hop] if k - hop >= 0 else 0.0
            right = cos[k + hop] if k + hop < nwin else 0.0
            local = cos[k] - max(left, right)
            if (min(local, cos[k] - doc_cos) >= contrast and cos[k] >= _SUMMARY_MIN_COS
                    and pair_share[k] >= _SUMMARY_PHRASES and rare[k] >= _SUMMARY_RARE
                    and not busy[s:e].any()):
                if r0 < 0:
                    r0 = s
                r1 = e
            k += 1
        if r0 < 0:
            continue
        # windows overhang the block: sentences at its ends whose content words B mostly
        # lacks are left out; a sentence cut by the first window is taken whole
        q = r0
        while q > 0 and r0 - q < _SUMMARY_STEP and (a_flags[q] & 2) == 0:
            q -= 1
        if (a_flags[q] & 2) != 0:
            r0 = q
        while r0 < r1:
            e = r0 + 1
            while e < r1 and (a_flags[e] & 2) == 0:
                e += 1
            if _in_b_share(a_word, cb, r0, e) >= 0.5:
                break
            r0 = e
        while r1 > r0:
            b = r1 - 1
            while b > r0 and (a_flags[b] & 2) == 0:
                b -= 1
            if _in_b_share(a_word, cb, b, r1) >= 0.5:
                break
            r1 = b
        if r1 <= r0:
            continue
        # B span: where the region's words lie in B
        matched = 0
        for i in range(r0, r1):
            if a_word[i] >= 0:
                mark[a_word[i]] = True
                if cb[a_word[i]] > 0:
                    matched += 1
        b0 = -1
        b1 = -1
        for j in range(nbt):
            if b_word[j] >= 0 and mark[b_word[j]]:
                if b0 < 0:
                    b0 = j
                b1 = j + 1
        mark[:] = False
        if b0 < 0:
            continue
        # loose passages inside the region join it
        for x in range(rows.shape[0]):
            if keep[x] and rows[x, 0] < r1 and r0 < rows[x, 1]:
                keep[x] = False
                r0 = min(r0, rows[x, 0])
                r1 = max(r1, rows[x, 1])
                b0 = min(b0, rows[x, 2])
                b1 = max(b1, rows[x, 3])
                matched = max(matched, rows[x, 4])
        _set_row(out, no, r0, r1, b0, b1, matched)
        no += 1
    if no == 0:
        return rows
    for x in range(rows.shape[0]):
        if keep[x]:
            out[no] = rows[x]
            no += 1
    return out[:no]


def knobs(params: Params = DEFAULT_PARAMS) -> np.ndarray:
    """The aligner settings of ``params`` as the array the compiled functions take."""
    return np.array(
        [
            params.seed_max_occurrences,
            params.max_gap_tokens,
            params.merge_gap_tokens,
            params.min_matched_tokens,
            params.min_density,
            params.snap_tokens,
            params.sent_min_shared,
            params.sent_min_dice,
            params.sent_max_gap,
            params.sent_min_seeds,
            params.summary_gap_tokens,
            params.summary_ratio,
            params.relax_strong_tokens,
            params.relax_density,
            params.relax_dice,
            params.sparse_min_matched,
            params.sp_min_cos if params.sentence_seeds else 0.0,
            params.sp_min_dice,
            params.sp_max_gap,
            params.sp_summary_gap,
            params.sp_min_tokens,
            params.sp_min_cover,
            params.short_min_matched,
            params.short_min_runs,
            params.topic_contrast,
            params.bag_extend_density,
            _BAG_GAP,
            _BAG_MIN_HITS,
            _BAG_CAP,
            _BAG_ROUNDS,
            _BAG_NEUTRAL,
            _BAG_COMPLETE,
            _BAG_COMPLETE_SHARE,
            params.summary_contrast,
        ],
        dtype=np.float64,
    )


@nb.njit(cache=True, nogil=True)
def align_token_ids(
    a_ids: np.ndarray, a_stop: np.ndarray, b_ids: np.ndarray, b_stop: np.ndarray, knobs: np.ndarray
) -> np.ndarray:
    """Core aligner on token ids. Returns int64 rows (a_lo, a_hi, b_lo, b_hi, matched).

    Token ranges are half-open. ``matched`` counts tokens inside exact runs.
    ``knobs``: the settings, :func:`knobs`.
    """
    a_uv, a_up, a_bv, a_bp = seed_index(a_ids, a_stop)
    b_uv, b_up, b_bv, b_bp = seed_index(b_ids, b_stop)
    return _align_indexed(
        a_ids, b_ids, a_stop, b_stop, a_uv, a_up, a_bv, a_bp, b_uv, b_up, b_bv, b_bp, knobs
    )


@nb.njit(cache=True, nogil=True)
def _align_indexed(
    a_ids: np.ndarray,
    b_ids: np.ndarray,
    a_flags: np.ndarray,
    b_flags: np.ndarray,
    a_uv: np.ndarray,
    a_up: np.ndarray,
    a_bv: np.ndarray,
    a_bp: np.ndarray,
    b_uv: np.ndarray,
    b_up: np.ndarray,
    b_bv: np.ndarray,
    b_bp: np.ndarray,
    knobs: np.ndarray,
) -> np.ndarray:
    """Align once; where a pair holds strong evidence of reuse, align again, relaxed.

    A pair with a passage of ``relax_strong`` matched tokens is known to share
    text, so its other passages may be sparser (hysteresis: strict to start, lax
    to continue). The relaxed pass keeps every strict passage's evidence.
    """
    rows = _align_core(a_ids, b_ids, a_flags, b_flags, a_uv, a_up, a_bv, a_bp, b_uv, b_up, b_bv, b_bp, knobs)
    relax_strong = int(knobs[K_RELAX_STRONG])
    if relax_strong <= 0:
        return rows
    strong = False
    for x in range(rows.shape[0]):
        if rows[x, 4] >= relax_strong:
            strong = True
    if not strong:
        return rows
    relaxed = knobs.copy()
    relaxed[K_MIN_DENSITY] = knobs[K_RELAX_DENSITY]
    relaxed[K_SENT_MIN_DICE] = knobs[K_RELAX_DICE]
    return _align_core(a_ids, b_ids, a_flags, b_flags, a_uv, a_up, a_bv, a_bp, b_uv, b_up, b_bv, b_bp, relaxed)


@nb.njit(cache=True, nogil=True)
def _align_core(
    a_ids: np.ndarray,
    b_ids: np.ndarray,
    a_flags: np.ndarray,
    b_flags: np.ndarray,
    a_uv: np.ndarray,
    a_up: np.ndarray,
    a_bv: np.ndarray,
    a_bp: np.ndarray,
    b_uv: np.ndarray,
    b_up: np.ndarray,
    b_bv: np.ndarray,
    b_bp: np.ndarray,
    knobs: np.ndarray,
) -> np.ndarray:
    max_occ = int(knobs[K_MAX_OCC])
    max_gap = int(knobs[K_MAX_GAP])
    merge_gap = int(knobs[K_MERGE_GAP])
    min_matched = int(knobs[K_MIN_MATCHED])
    min_density = knobs[K_MIN_DENSITY]
    snap = int(knobs[K_SNAP])
    sent_min_shared = int(knobs[K_SENT_MIN_SHARED])
    sent_min_dice = knobs[K_SENT_MIN_DICE]
    sent_max_gap = int(knobs[K_SENT_MAX_GAP])
    sent_min_seeds = int(knobs[K_SENT_MIN_SEEDS])
    summary_gap = int(knobs[K_SUMMARY_GAP])
    summary_ratio = knobs[K_SUMMARY_RATIO]
    sparse_tokens = int(knobs[K_SPARSE_TOKENS])
    sp_cos = knobs[K_SP_COS]
    sp_dice = knobs[K_SP_DICE]
    sp_gap = int(knobs[K_SP_GAP])
    sp_summary_gap = int(knobs[K_SP_SUMMARY_GAP])
    sp_min_tokens = int(knobs[K_SP_MIN_TOKENS])
    sp_cover = knobs[K_SP_COVER]
    short_min_matched = int(knobs[K_SHORT_MIN_MATCHED])
    short_min_runs = int(knobs[K_SHORT_MIN_RUNS])
    topic_contrast = knobs[K_TOPIC_CONTRAST]
    summary_contrast = knobs[K_SUMMARY_CONTRAST]
    sparse_density = knobs[K_RELAX_DENSITY]
    na = a_ids.shape[0]
    nbt = b_ids.shape[0]
    empty = np.zeros((0, 5), dtype=np.int64)
    if na == 0 or nbt == 0:
        return empty
    # 1. seeds
    none = np.empty(0, dtype=np.int64)
    k = _match_sorted(a_uv, a_up, b_uv, b_up, max_occ, none, none, 0)
    k = _match_sorted(a_bv, a_bp, b_bv, b_bp, max_occ, none, none, k)
    # keys too common to seed (a text repeated on a page): in-order seeds, exact runs only;
    # they feed the exact runs (2.), not the sentence stages
    rep_i, rep_j = _repeat_seeds(a_bv, a_bp, b_bv, b_bp, max_occ, a_ids, b_ids,
                                 max(min_matched, _REPEAT_MIN_TOKENS))
    if k == 0 and rep_i.shape[0] == 0:
        return empty
    si = np.empty(k, dtype=np.int64)
    sj = np.empty(k, dtype=np.int64)
    k = _match_sorted(a_uv, a_up, b_uv, b_up, max_occ, si, sj, 0)
    k_uni = k
    k = _match_sorted(a_bv, a_bp, b_bv, b_bp, max_occ, si, sj, k)
    lax_shared = min(sent_min_shared, _EXT_SHARED)
    lax_dice = min(sent_min_dice, _EXT_DICE)
    if sp_cos > 0:
        lax_shared = min(lax_shared, _SP_MIN_SHARED)
        lax_dice = min(lax_dice, sp_dice)
    (sid_a, bnd_a, sid_b, bnd_b, spa, spb, spc, spd, slo_a, shi_a, slo_b, shi_b,
     scos) = _sentence_pairs(
        si, sj, k_uni, a_flags, b_flags, a_uv, a_up, b_uv, b_up, lax_shared, lax_dice)
    sent_rows = _sentence_passages(
        bnd_a, bnd_b, spa, spb, spc, spd, slo_a, shi_a, slo_b, shi_b, a_flags, b_flags,
        sent_min_shared, sent_min_dice, sent_max_gap, sent_min_seeds, _SENT_MIN_LEN * min_matched, snap,
    )
    # 2. maximal exact runs along diagonals
    if rep_i.shape[0]:
        si = np.concatenate((si[:k], rep_i))
        sj = np.concatenate((sj[:k], rep_j))
        k = si.shape[0]
    diag = sj - si
    order = np.argsort((diag + na) * (na + 1) + si, kind="mergesort")
    run_a = np.empty(k, dtype=np.int64)
    run_b = np.empty(k, dtype=np.int64)
    run_len = np.empty(k, dtype=np.int64)
    nr = 0
    last_diag = np.int64(-(1 << 62))
    last_end = np.int64(-1)
    for t in range(k):
        i = si[order[t]]
        j = sj[order[t]]
        d = j - i
        if d == last_diag and i < last_end:
            continue
        lo = i
        while lo > 0 and lo + d > 0 and a_ids[lo - 1] == b_ids[lo - 1 + d]:
            lo -= 1
        hi = i + 1
        while hi < na and hi + d < nbt and a_ids[hi] == b_ids[hi + d]:
            hi += 1
        run_a[nr] = lo
        run_b[nr] = lo + d
        run_len[nr] = hi - lo
        nr += 1
        last_diag = d
        last_end = hi
    run_a = run_a[:nr]
    run_b = run_b[:nr]
    run_len = run_len[:nr]
    sp_rows = empty
    if sp_cos > 0:
        sp_rows = _sp_passages(bnd_a, bnd_b, spa, spb, spc, spd, scos, sp_cos, sp_dice, sp_gap,
                               sp_summary_gap, summary_ratio, sp_min_tokens, sp_cover,
                               run_a, run_b, run_len)
    doc_cos = 0.0
    if topic_contrast > 0 or summary_contrast > 0:
        doc_cos = _range_cos(a_uv, a_up, b_uv, b_up, 0, na, 0, nbt)
    if topic_contrast > 0:
        sp_rows = _topic_filter(sp_rows, a_uv, a_up, b_uv, b_up, doc_cos + topic_contrast)
    # 3. chaining DP over runs sorted by (a, b)
    order = np.argsort(run_a * (nbt + 1) + run_b, kind="mergesort")
    ra = run_a[order]
    rb = run_b[order]
    rl = run_len[order]
    score = np.empty(nr, dtype=np.float64)
    prev = np.full(nr, -1, dtype=np.int64)
    longest = 0
    for x in range(nr):
        if rl[x] > longest:
            longest = rl[x]
    reach = max_gap + longest + _OVERLAP_TOLERANCE
    for x in range(nr):
        best = float(rl[x])
        bp = -1
        lo_p = x - _CHAIN_WINDOW
        if lo_p < 0:
            lo_p = 0
        for p in range(x - 1, lo_p - 1, -1):
            if ra[x] - ra[p] > reach:
                break
            ga = ra[x] - (ra[p] + rl[p])
            gb = rb[x] - (rb[p] + rl[p])
            if ga < -_OVERLAP_TOLERANCE or gb < -_OVERLAP_TOLERANCE:
                continue
            if ga > max_gap or gb > max_gap:
                continue
            overlap = 0
            if ga < 0 or gb < 0:
                overlap = -ga if ga < gb else -gb
            gain = rl[x] - overlap
            if gain <= 0:
                continue
            big = ga if ga > gb else gb
            diff = ga - gb if ga > gb else gb - ga
            s = score[p] + gain - 0.05 * big - 0.3 * diff
            if s > best:
                best = s
                bp = p
        score[x] = best
        prev[x] = bp
    # read chains best-first; a run belongs to one chain
    by_score = np.argsort(-score, kind="mergesort")
    used = np.zeros(nr, dtype=np.bool_)
    members = np.empty(nr, dtype=np.int64)
    chains = np.empty((nr, 5), dtype=np.int64)
    chain_runs = np.zeros(nr, dtype=np.int64)  # runs of _SHORT_RUN_TOKENS+ tokens per chain
    nc = 0
    for t in range(nr):
        x = by_score[t]
        if used[x]:
            continue
        a_hi = ra[x] + rl[x]
        b_hi = rb[x] + rl[x]
        a_lo = ra[x]
        b_lo = rb[x]
        # collect the chain's runs (last to first), then trim weak ends: a short run
        # separated from the rest by a wider gap is a coincidence, not the passage edge
        nrun = 0
        cur = x
        while cur != -1 and not used[cur]:
            used[cur] = True
            members[nrun] = cur
            nrun += 1
            cur = prev[cur]
        first = nrun - 1  # members[first] is the chain's first run
        last = 0
        while first > last and _weak_edge(ra, rb, rl, members[first], members[first - 1]):
            first -= 1
        while last < first and _weak_edge(ra, rb, rl, members[last], members[last + 1]):
            last += 1
        matched = 0
        long_runs = 0
        for t2 in range(last, first + 1):
            matched += rl[members[t2]]
            if rl[members[t2]] >= _SHORT_RUN_TOKENS:
                long_runs += 1
        a_lo = ra[members[first]]
        b_lo = rb[members[first]]
        a_hi = ra[members[last]] + rl[members[last]]
        b_hi = rb[members[last]] + rl[members[last]]
        if matched < 3:
            continue
        _set_row(chains, nc, a_lo, a_hi, b_lo, b_hi, matched)
        chain_runs[nc] = long_runs
        nc += 1
    if nc == 0:
        sent_rows = _sp_admit(sent_rows, sp_rows, summary_ratio)
        sent_rows = _extend_rows(_union_overlapping(sent_rows), sid_a, bnd_a, sid_b, bnd_b, spa, spb,
                                 spc, spd, _EXT_SHARED, _EXT_DICE, _EXT_LICENSE * min_matched)
        rows = _bag_extend(_merge_summaries(_union_overlapping(sent_rows), summary_gap,
                                            summary_ratio, 2 * min_matched, nbt),
                           a_ids, a_flags, b_ids, b_flags, knobs, snap)
        return _summary_rows(rows, na, nbt, a_flags, a_uv, a_up, a_bv, a_bp, b_uv, b_up, b_bv,
                             b_bp, doc_cos, summary_contrast)
    chains = chains[:nc]
    chain_runs = chain_runs[:nc]
    # 4. merge chains that follow each other on both sides (one pass in A order).
    # A gap on both sides is a rewording: bridged up to max_gap. A gap on one side
    # only is an insertion/deletion: bridged up to merge_gap -- unless the gap's text
    # is aligned elsewhere (a moved paragraph, not an insertion).
    order = np.argsort(chains[:, 0] * (nbt + 1) + chains[:, 2], kind="mergesort")
    chains = chains[order]
    chain_runs = chain_runs[order]
    merged = np.zeros(nc, dtype=np.bool_)
    for x in range(1, nc):
        best = -1
        best_gap = merge_gap * 4 + 1
        for y in range(x - 1, -1, -1):
            if merged[y]:
                continue
            ga = chains[x, 0] - chains[y, 1]
            gb = chains[x, 2] - chains[y, 3]
            if ga < -_OVERLAP_TOLERANCE or gb < -_OVERLAP_TOLERANCE:
                continue
            lo_gap = ga if ga < gb else gb
            hi_gap = ga if ga > gb else gb
            if not (hi_gap <= max_gap or (lo_gap <= _ONE_SIDED_GAP and hi_gap <= merge_gap)):
                continue
            if hi_gap > max_gap and _gap_aligned_elsewhere(chains, merged, x, y, min_matched):
                continue
            if ga + gb < best_gap:
                best_gap = ga + gb
                best = y
        if best >= 0:
            chains[x, 0] = chains[best, 0]
            chains[x, 2] = chains[best, 2]
            if chains[best, 1] > chains[x, 1]:
                chains[x, 1] = chains[best, 1]
            if chains[best, 3] > chains[x, 3]:
                chains[x, 3] = chains[best, 3]
            chains[x, 4] += chains[best, 4]
            chain_runs[x] += chain_runs[best]
            merged[best] = True
    # 5. filter
    out = np.empty((nc, 5), dtype=np.int64)
    no = 0
    for x in range(nc):
        if merged[x]:
            continue
        m = chains[x, 4]
        la = chains[x, 1] - chains[x, 0]
        lb = chains[x, 3] - chains[x, 2]
        if la <= 0 or lb <= 0:
            continue
        if m < min_matched and not (
            short_min_matched > 0 and m >= short_min_matched and chain_runs[x] >= short_min_runs
        ):
            continue  # short: passes only with several exact runs (see _run_clusters)
        dens = min_density
        if sparse_tokens > 0 and m >= sparse_tokens:
            dens = sparse_density  # a long passage is reuse even when sparser
        if m / la < dens or m / lb < dens:
            continue
        out[no] = chains[x]
        _snap_to_sentences(out[no], a_flags, b_flags, snap)
        no += 1
    short_rows = empty
    if short_min_matched > 0:
        cand = _run_clusters(a_ids, run_a, run_b, run_len, short_min_matched, short_min_runs)
        keep_short = np.ones(cand.shape[0], dtype=np.bool_)
        for x in range(cand.shape[0]):
            _snap_to_sentences(cand[x], a_flags, b_flags, snap)
            for y in range(no):  # a copied passage ends where it ends (no shuffled fringe)
                if _dense_copy(out[y]) and (
                        (cand[x, 0] < out[y, 1] and out[y, 0] < cand[x, 1])
                        or (cand[x, 2] < out[y, 3] and out[y, 2] < cand[x, 3])):
                    keep_short[x] = False
        short_rows = cand[keep_short]
        if topic_contrast > 0:
            short_rows = _topic_filter(short_rows, a_uv, a_up, b_uv, b_up, doc_cos + topic_contrast)
    both = np.empty((no + sent_rows.shape[0] + short_rows.shape[0], 5), dtype=np.int64)
    both[:no] = out[:no]
    both[no:no + sent_rows.shape[0]] = sent_rows
    both[no + sent_rows.shape[0]:] = short_rows
    both = _sp_admit(both, sp_rows, summary_ratio)
    both = _extend_rows(_union_overlapping(both), sid_a, bnd_a, sid_b, bnd_b, spa, spb, spc, spd,
                        _EXT_SHARED, _EXT_DICE, _EXT_LICENSE * min_matched)
    rows = _bag_extend(_merge_summaries(_union_overlapping(both), summary_gap, summary_ratio,
                                        2 * min_matched, nbt),
                       a_ids, a_flags, b_ids, b_flags, knobs, snap)
    return _summary_rows(rows, na, nbt, a_flags, a_uv, a_up, a_bv, a_bp, b_uv, b_up, b_bv, b_bp,
                         doc_cos, summary_contrast)


def align_tokens(
    a: Tokens, b: Tokens, params: Params = DEFAULT_PARAMS
) -> np.ndarray:
    """Align two tokenised texts; rows ``(a_lo, a_hi, b_lo, b_hi, matched)`` in tokens."""
    return align_token_ids(a.ids, a.stop, b.ids, b.stop, knobs(params))


def rows_to_passages(
    rows: np.ndarray,
    a: Tokens,
    b: Tokens,
    a_id: str | None = None,
    b_id: str | None = None,
) -> list[Passage]:
    """Turn token rows from ``align_tokens`` into ``Passage`` records (char offsets)."""
    out = []
    for a_lo, a_hi, b_lo, b_hi, matched in rows.tolist():
        a_len = a_hi - a_lo
        b_len = b_hi - b_lo
        a_start, a_end = edge_offsets(a, a_lo, a_hi)
        b_start, b_end = edge_offsets(b, b_lo, b_hi)
        out.append(
            Passage(
                a_start=int(a_start),
                a_end=int(a_end),
                b_start=int(b_start),
                b_end=int(b_end),
                score=min(1.0, 2.0 * matched / (a_len + b_len)),
                a_id=a_id,
                b_id=b_id,
                a_tokens=a_len,
                b_tokens=b_len,
                matched_tokens=int(matched),
            )
        )
    out.sort(key=lambda p: (p.a_start, p.b_start))
    return out


def align_texts(
    a: str,
    b: str,
    params: Params | None = None,
    a_id: str | None = None,
    b_id: str | None = None,
) -> list[Passage]:
    """Find every reused passage between two texts.

    Args:
        a: First text (in ``trace``, the query; in PAN evaluation, the suspicious text).
        b: Second text.
        params: Uses ``seed_max_occurrences``, ``max_gap_tokens``, ``merge_gap_tokens``,
            ``min_matched_tokens``, ``min_density`` and ``stem``.

    Returns:
        Passages sorted by position in ``a``; ``a[p.a_start:p.a_end]`` is the reused
        text on the first side. Empty when nothing passes the filters.

    Example:
        >>> src = ("Russia said on Tuesday it wants to expand gas exports to Asia as well as "
        ...        "Africa, and the energy ministry expects shipments to rise by a fifth next year.")
        >>> copy = ("Russian Federation stated on Tuesday it wishes to expand gas exports to Asia "
        ...         "like Africa, and the energy ministry expects shipments to rise by a fifth next year.")
        >>> [copy[p.b_start:p.b_end][:18] for p in align_texts(src, copy)]
        ['Russian Federation']
    """
    params = params or DEFAULT_PARAMS
    ta = tokenize_text(a, params.stem)
    tb = tokenize_text(b, params.stem)
    return rows_to_passages(align_tokens(ta, tb, params), ta, tb, a_id, b_id)


@nb.njit(cache=True, nogil=True, parallel=True)
def _align_batch(
    ids: np.ndarray,
    stop: np.ndarray,
    offsets: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    knobs: np.ndarray,
    max_rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    n_docs = offsets.shape[0] - 1
    # seed indexes per document, flat: uni keys/positions and bigram keys/positions
    n_uni = np.zeros(n_docs + 1, dtype=np.int64)
    n_bi = np.zeros(n_docs + 1, dtype=np.int64)
    for d in range(n_docs):
        cu = 0
        cb = 0
        for t in range(offsets[d], offsets[d + 1]):
            if (stop[t] & 1) == 0:
                cu += 1
            if t + 1 < offsets[d + 1] and ((stop[t] & 1) == 0 or (stop[t + 1] & 1) == 0):
                cb += 1
        n_uni[d + 1] = n_uni[d] + cu
        n_bi[d + 1] = n_bi[d] + cb
    uv = np.empty(n_uni[n_docs], dtype=np.int64)
    up = np.empty(n_uni[n_docs], dtype=np.int64)
    bv = np.empty(n_bi[n_docs], dtype=np.int64)
    bp = np.empty(n_bi[n_docs], dtype=np.int64)
    for d in nb.prange(n_docs):
        x_uv, x_up, x_bv, x_bp = seed_index(
            ids[offsets[d] : offsets[d + 1]], stop[offsets[d] : offsets[d + 1]]
        )
        uv[n_uni[d] : n_uni[d] + x_uv.shape[0]] = x_uv
        up[n_uni[d] : n_uni[d] + x_uv.shape[0]] = x_up
        bv[n_bi[d] : n_bi[d] + x_bv.shape[0]] = x_bv
        bp[n_bi[d] : n_bi[d] + x_bv.shape[0]] = x_bp
    n = pair_a.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    rows = np.zeros((n, max_rows, 5), dtype=np.int64)
    for p in nb.prange(n):
        a = pair_a[p]
        b = pair_b[p]
        res = _align_indexed(
            ids[offsets[a] : offsets[a + 1]], ids[offsets[b] : offsets[b + 1]],
            stop[offsets[a] : offsets[a + 1]], stop[offsets[b] : offsets[b + 1]],
            uv[n_uni[a] : n_uni[a + 1]], up[n_uni[a] : n_uni[a + 1]],
            bv[n_bi[a] : n_bi[a + 1]], bp[n_bi[a] : n_bi[a + 1]],
            uv[n_uni[b] : n_uni[b + 1]], up[n_uni[b] : n_uni[b + 1]],
            bv[n_bi[b] : n_bi[b + 1]], bp[n_bi[b] : n_bi[b + 1]], knobs,
        )
        k = res.shape[0]
        counts[p] = k
        for r in range(min(k, max_rows)):
            for c in range(5):
                rows[p, r, c] = res[r, c]
    return counts, rows


@dataclass(frozen=True)
class BatchPassages:
    """Passages of many pairs as parallel arrays (token ranges already turned into chars)."""

    pair: np.ndarray  # index into the input pairs
    a_start: np.ndarray
    a_end: np.ndarray
    b_start: np.ndarray
    b_end: np.ndarray
    score: np.ndarray
    a_tokens: np.ndarray
    b_tokens: np.ndarray
    matched_tokens: np.ndarray
    counts: np.ndarray  # passages per input pair


def align_many(
    docs: Sequence[Tokens],
    pairs: np.ndarray,
    params: Params = DEFAULT_PARAMS,
    max_rows: int = 8,
) -> BatchPassages:
    """Align many document pairs in one compiled, multi-threaded call.

    Args:
        docs: Tokenised documents.
        pairs: int array (n, 2) of indices into ``docs``.
        params: Alignment parameters, as for ``align_tokens``.

    Returns:
        All passages, sorted by pair then position, with char offsets.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if len(docs):
        ids = np.concatenate([d.ids for d in docs])
        stop = np.concatenate([d.stop for d in docs])
        starts = np.concatenate([d.starts for d in docs]).astype(np.int64)
        ends = np.concatenate([d.ends for d in docs]).astype(np.int64)
    else:
        ids = np.empty(0, np.int64)
        stop = np.empty(0, np.uint8)
        starts = ends = np.empty(0, np.int64)
    counts, rows = _align_batch(
        ids, stop, offsets, pairs[:, 0].copy(), pairs[:, 1].copy(), knobs(params), max_rows
    )
    parts = []
    for p in np.nonzero(counts > max_rows)[0].tolist():  # rare: more passages than slots
        a, b = pairs[p]
        parts.append((p, align_tokens(docs[a], docs[b], params)))
    keep = np.minimum(counts, max_rows)
    pair_idx = np.repeat(np.arange(len(pairs)), keep)
    slot = np.concatenate([np.arange(k) for k in keep]) if len(keep) else np.empty(0, np.int64)
    flat = rows[pair_idx, slot] if len(pair_idx) else np.empty((0, 5), np.int64)
    overflow = counts > max_rows
    if overflow.any():
        mask = ~overflow[pair_idx]
        pair_idx, flat = pair_idx[mask], flat[mask]
        for p, extra in parts:
            pair_idx = np.concatenate([pair_idx, np.full(extra.shape[0], p)])
            flat = np.concatenate([flat, extra])
        counts = counts.copy()
        for p, extra in parts:
            counts[p] = extra.shape[0]
    a_base = offsets[pairs[pair_idx, 0]]
    b_base = offsets[pairs[pair_idx, 1]]
    a_lo, a_hi, b_lo, b_hi, matched = (flat[:, k] for k in range(5))
    a_len, b_len = a_hi - a_lo, b_hi - b_lo
    every = Tokens(starts=starts, ends=ends, ids=ids, stop=stop)  # all documents, end to end
    a_start, a_end = edge_offsets(every, a_base + a_lo, a_base + a_hi)
    b_start, b_end = edge_offsets(every, b_base + b_lo, b_base + b_hi)
    order = np.lexsort((starts[b_base + b_lo], starts[a_base + a_lo], pair_idx))
    out = BatchPassages(
        pair=pair_idx,
        a_start=a_start,
        a_end=a_end,
        b_start=b_start,
        b_end=b_end,
        score=np.minimum(1.0, 2.0 * matched / np.maximum(1, a_len + b_len)),
        a_tokens=a_len,
        b_tokens=b_len,
        matched_tokens=matched,
        counts=counts,
    )
    return BatchPassages(**{k: (v[order] if k != "counts" else v) for k, v in out.__dict__.items()})
