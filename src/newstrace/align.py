"""Stage 5: a document pair -> reused passages with exact character offsets.

Seed, chain, merge, filter -- all on token ids, in a compiled (numba) loop:

1. **Seeds**: positions where both texts share a content word, or a word bigram
   that contains a content word. Words/bigrams that occur more than
   ``seed_max_occurrences`` times in either text are too common to seed.
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
   ``min_density`` of its tokens on each side. This is what keeps articles about
   the same event, written independently, apart: they share names and short
   phrases, not dense runs of text.

The work per pair is roughly linear in the number of seeds (bounded by the
occurrence cap), not quadratic in document length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np

from newstrace.model import Passage
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.tokens import Tokens, tokenize_text

_CHAIN_WINDOW = 128  # earlier runs considered as predecessors of a run
_OVERLAP_TOLERANCE = 2  # runs may overlap by this many tokens and still chain
_NO_KEY = np.int64(0)


@nb.njit(cache=True, nogil=True)
def _mix(x: np.int64, y: np.int64) -> np.int64:
    h = np.uint64(x) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(y)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    r = np.int64(h)
    if r == 0:
        r = 1
    return r


@nb.njit(cache=True, nogil=True)
def _seed_keys(ids: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = ids.shape[0]
    uni = np.zeros(n, dtype=np.int64)
    bi = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if stop[i] == 0:
            uni[i] = ids[i] if ids[i] != 0 else 1
        if i + 1 < n and (stop[i] == 0 or stop[i + 1] == 0):
            bi[i] = _mix(ids[i], ids[i + 1])
    return uni, bi


@nb.njit(cache=True, nogil=True)
def _match_keys(
    ka: np.ndarray, kb: np.ndarray, max_occ: int, out_i: np.ndarray, out_j: np.ndarray, k: int
) -> int:
    """Append (i, j) with ka[i] == kb[j] != 0 to out; skip keys over max_occ."""
    oa = np.argsort(ka)
    ob = np.argsort(kb)
    na = ka.shape[0]
    nb_ = kb.shape[0]
    x = 0
    y = 0
    while x < na and y < nb_:
        va = ka[oa[x]]
        vb = kb[ob[y]]
        if va == _NO_KEY:
            x += 1
            continue
        if vb == _NO_KEY:
            y += 1
            continue
        if va < vb:
            x += 1
        elif vb < va:
            y += 1
        else:
            x2 = x
            while x2 < na and ka[oa[x2]] == va:
                x2 += 1
            y2 = y
            while y2 < nb_ and kb[ob[y2]] == vb:
                y2 += 1
            if x2 - x <= max_occ and y2 - y <= max_occ:
                for p in range(x, x2):
                    for q in range(y, y2):
                        if k < out_i.shape[0]:
                            out_i[k] = oa[p]
                            out_j[k] = ob[q]
                            k += 1
            x = x2
            y = y2
    return k


@nb.njit(cache=True, nogil=True)
def align_token_ids(
    a_ids: np.ndarray,
    a_stop: np.ndarray,
    b_ids: np.ndarray,
    b_stop: np.ndarray,
    max_occ: int,
    max_gap: int,
    merge_gap: int,
    min_matched: int,
    min_density: float,
) -> np.ndarray:
    """Core aligner on token ids. Returns int64 rows (a_lo, a_hi, b_lo, b_hi, matched).

    Token ranges are half-open. ``matched`` counts tokens inside exact runs.
    """
    na = a_ids.shape[0]
    nbt = b_ids.shape[0]
    empty = np.zeros((0, 5), dtype=np.int64)
    if na == 0 or nbt == 0:
        return empty
    # 1. seeds
    ua, ba = _seed_keys(a_ids, a_stop)
    ub, bb = _seed_keys(b_ids, b_stop)
    cap = 4 * max_occ * (na if na < nbt else nbt) + 16
    si = np.empty(cap, dtype=np.int64)
    sj = np.empty(cap, dtype=np.int64)
    k = _match_keys(ua, ub, max_occ, si, sj, 0)
    k = _match_keys(ba, bb, max_occ, si, sj, k)
    if k == 0:
        return empty
    si = si[:k]
    sj = sj[:k]
    # 2. maximal exact runs along diagonals
    diag = sj - si
    order = np.argsort((diag + na) * (na + 1) + si)
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
    # 3. chaining DP over runs sorted by (a, b)
    order = np.argsort(run_a * (nbt + 1) + run_b)
    ra = run_a[order]
    rb = run_b[order]
    rl = run_len[order]
    score = np.empty(nr, dtype=np.float64)
    prev = np.full(nr, -1, dtype=np.int64)
    for x in range(nr):
        best = float(rl[x])
        bp = -1
        lo_p = x - _CHAIN_WINDOW
        if lo_p < 0:
            lo_p = 0
        for p in range(x - 1, lo_p - 1, -1):
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
    by_score = np.argsort(-score)
    used = np.zeros(nr, dtype=np.bool_)
    chains = np.empty((nr, 5), dtype=np.int64)
    nc = 0
    for t in range(nr):
        x = by_score[t]
        if used[x]:
            continue
        a_hi = ra[x] + rl[x]
        b_hi = rb[x] + rl[x]
        a_lo = ra[x]
        b_lo = rb[x]
        matched = 0
        cur = x
        while cur != -1 and not used[cur]:
            used[cur] = True
            matched += rl[cur]
            a_lo = ra[cur]
            b_lo = rb[cur]
            cur = prev[cur]
        if matched < 3:
            continue
        chains[nc, 0] = a_lo
        chains[nc, 1] = a_hi
        chains[nc, 2] = b_lo
        chains[nc, 3] = b_hi
        chains[nc, 4] = matched
        nc += 1
    if nc == 0:
        return empty
    chains = chains[:nc]
    # 4. merge chains that follow each other on both sides
    order = np.argsort(chains[:, 0])
    chains = chains[order]
    merged = np.zeros(nc, dtype=np.bool_)
    changed = True
    while changed:
        changed = False
        for x in range(nc):
            if merged[x]:
                continue
            for y in range(nc):
                if y == x or merged[y]:
                    continue
                ga = chains[y, 0] - chains[x, 1]
                gb = chains[y, 2] - chains[x, 3]
                if -_OVERLAP_TOLERANCE <= ga <= merge_gap and -_OVERLAP_TOLERANCE <= gb <= merge_gap:
                    chains[x, 1] = max(chains[x, 1], chains[y, 1])
                    chains[x, 3] = max(chains[x, 3], chains[y, 3])
                    chains[x, 4] += chains[y, 4]
                    merged[y] = True
                    changed = True
    # 5. filter
    out = np.empty((nc, 5), dtype=np.int64)
    no = 0
    for x in range(nc):
        if merged[x]:
            continue
        m = chains[x, 4]
        la = chains[x, 1] - chains[x, 0]
        lb = chains[x, 3] - chains[x, 2]
        if m < min_matched or la <= 0 or lb <= 0:
            continue
        if m / la < min_density or m / lb < min_density:
            continue
        out[no] = chains[x]
        no += 1
    return out[:no]


def align_tokens(
    a: Tokens, b: Tokens, params: Params = DEFAULT_PARAMS
) -> np.ndarray:
    """Align two tokenised texts; rows ``(a_lo, a_hi, b_lo, b_hi, matched)`` in tokens."""
    return align_token_ids(
        a.ids,
        a.stop,
        b.ids,
        b.stop,
        params.seed_max_occurrences,
        params.max_gap_tokens,
        params.merge_gap_tokens,
        params.min_matched_tokens,
        params.min_density,
    )


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
        out.append(
            Passage(
                a_start=int(a.starts[a_lo]),
                a_end=int(a.ends[a_hi - 1]),
                b_start=int(b.starts[b_lo]),
                b_end=int(b.ends[b_hi - 1]),
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
        >>> src = "The minister said the Russia deal would cut gas prices by a third next winter, officials confirmed on Monday in Brussels."
        >>> copy = "The minister stated the Russian Federation deal would cut gas prices by a third next winter, officials confirmed on Monday in Brussels."
        >>> [(copy[p.b_start:p.b_end][:12]) for p in align_texts(src, copy)]
        ['The minister']
    """
    params = params or DEFAULT_PARAMS
    ta = tokenize_text(a, params.stem)
    tb = tokenize_text(b, params.stem)
    return rows_to_passages(align_tokens(ta, tb, params), ta, tb, a_id, b_id)


def align_many(
    pairs: Sequence[tuple[Tokens, Tokens]], params: Params = DEFAULT_PARAMS
) -> list[np.ndarray]:
    """Align many token pairs; the compiled core releases the GIL, so threads use all cores."""
    from concurrent.futures import ThreadPoolExecutor
    import os

    if len(pairs) < 64:
        return [align_tokens(x, y, params) for x, y in pairs]
    workers = max(1, min(os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: align_tokens(p[0], p[1], params), pairs, chunksize=64))
