"""Stage 6: passages -> reuse clusters (one passage and all its copies) and story families.

A reuse cluster is **one passage and its copies**: every member's span lines up with
the cluster's representative passage. It is built in three steps, each a plain
function of the passage rows, so that the DuckDB and Spark engines give the same
answer and the result does not depend on the order of the input:

1. **Segments.** Within a document, the spans of its passages are swept in
   ``(start, -end)`` order; a span joins an open segment when it overlaps the
   segment's first span (its *anchor*) by ``SAME_PASSAGE_OVERLAP`` of *both*
   (``SegmentSweep``), otherwise it opens a segment of its own. A page-long span and
   the paragraph-sized spans inside it are different segments.
2. **Links.** Each passage links the segments of its two ends and carries the linear
   map between its two spans (character offsets on one side to the other).
3. **Grow from a representative** (``passage_clusters``). Segments are taken in order
   of the number of passages they hold (ties: document, position); an unassigned one
   becomes a cluster's *representative* and the cluster grows breadth-first over the
   links. A segment is admitted when its span, mapped through the chain of passages
   into the representative's offsets, overlaps the representative's span by
   ``SAME_PASSAGE_OVERLAP`` of both; the link's passage must also cover that share of
   both segments, and the segment must be about as long as the representative (within
   that share), so images cannot drift through ever longer pages. So a chain A~B~C
   with A and C disjoint can never be one cluster: C's image does not cover A. Each link is looked at no more than
   twice, so the stage is linear in the number of passages (compiled with numba).

Passages that are mostly inside quotation marks on both sides (``QUOTED_SHARE``: a
speaker's words that every outlet quotes) are left out of clustering
(``quoted_passages``): they are not reuse of anyone's text and they joined unrelated
stories; so are passages scoring below ``CLUSTER_MIN_SCORE`` (loose alignments of
stock phrases). Both stay stored and count for story families. Page boilerplate is
left out the same way when the index strips it
(``boilerplate.passages_for_clustering``).

Documents joined by any passage form a story family.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

#: Two spans are one passage (one segment in a document, or a member and its cluster's
#: representative) when they overlap by this share of *each* of them.
SAME_PASSAGE_OVERLAP = 0.85
#: The old name of the segment rule's share (both rules use one share now).
SAME_SEGMENT_OVERLAP = SAME_PASSAGE_OVERLAP
#: Passages scoring below this (loose alignments of stock phrases: "President Donald
#: Trump and Russian President Vladimir Putin") take no part in clustering.
CLUSTER_MIN_SCORE = 0.6
#: A passage with at least this share of *both* its spans inside direct quotations
#: (``tokens.quotation_mask``) is a shared quotation and does not take part in clustering.
QUOTED_SHARE = 0.5


@dataclass(frozen=True)
class ClusterMember:
    cluster_id: int
    doc_key: int
    start: int
    end: int


class SegmentSweep:
    """Assigns spans, fed in (doc, start, -end) order, to segments of their document.

    A span joins the open segment whose anchor (first span) it overlaps most, when
    that overlap is at least ``share`` of the longer of the two; otherwise it opens a
    segment. The segment then covers all its spans. Measured against the *shorter*
    span, or against the segment's growing extent, a page-long span swallowed every
    paragraph-sized span inside it and chained unrelated stories into one cluster (on
    the Helsinki corpus one cluster took 504 of 612 pages). This plain-Python class is
    what the Spark engine runs per partition; ``_sweep`` is the same rule compiled.

    >>> sweep = SegmentSweep()
    >>> [sweep.add(*span) for span in [(1, 0, 100), (1, 0, 40), (1, 5, 100), (1, 95, 200), (2, 0, 5)]]
    [0, 1, 0, 2, 0]
    >>> sweep.number, sweep.end
    (0, 5)
    """

    def __init__(self, share: float = SAME_PASSAGE_OVERLAP) -> None:
        self.share = share
        self.doc = self.end = -1
        self.number = -1  # segment of the last span, numbered within its document
        self.count = 0
        self.open: list[list[int]] = []  # [anchor start, anchor end, number, segment end]

    def add(self, doc: int, start: int, end: int) -> int:
        """Feed one span; returns its segment's number within the document."""
        if doc != self.doc:
            self.doc, self.count, self.open = doc, 0, []
        best, best_overlap = -1, 0
        still = []
        for seg in self.open:
            if seg[1] <= start:
                continue  # spans come by start: this anchor overlaps nothing from here on
            still.append(seg)
            overlap = min(seg[1], end) - start
            if overlap > best_overlap and overlap >= self.share * max(end - start, seg[1] - seg[0]):
                best, best_overlap = len(still) - 1, overlap
        self.open = still
        if best < 0:
            self.open.append([start, end, self.count, end])
            self.count += 1
            seg = self.open[-1]
        else:
            seg = self.open[best]
            seg[3] = max(seg[3], end)
        self.number, self.end = seg[2], seg[3]
        return seg[2]


@njit(cache=True)
def _sweep(order, docs, starts, ends, share):  # pragma: no cover - compiled
    """``SegmentSweep`` over all spans at once (compiled): segment of each span, and
    each segment's document, start and end. Segments are numbered in (doc, anchor)
    order, the order of the Spark engine's ``doc << SEG_BITS | number`` ids."""
    m = order.shape[0]
    seg_of_span = np.empty(m, np.int64)
    seg_doc = np.empty(m, np.int64)
    seg_start = np.empty(m, np.int64)
    seg_end = np.empty(m, np.int64)
    anchor_end = np.empty(m, np.int64)
    open_seg = np.empty(m, np.int64)  # segments open in the current document, oldest first
    n_open = 0
    k = -1
    cur_doc = -1
    for i in range(m):
        idx = order[i]
        d, s, e = docs[idx], starts[idx], ends[idx]
        if d != cur_doc:
            cur_doc = d
            n_open = 0
        best = -1
        best_overlap = 0
        kept = 0
        for j in range(n_open):
            g = open_seg[j]
            if anchor_end[g] <= s:
                continue
            open_seg[kept] = g
            kept += 1
            overlap = min(anchor_end[g], e) - s
            if overlap > best_overlap and overlap >= share * max(e - s, anchor_end[g] - seg_start[g]):
                best = g
                best_overlap = overlap
        n_open = kept
        if best < 0:
            k += 1
            seg_doc[k] = d
            seg_start[k] = s
            seg_end[k] = e
            anchor_end[k] = e
            open_seg[n_open] = k
            n_open += 1
            best = k
        elif e > seg_end[best]:
            seg_end[best] = e
        seg_of_span[idx] = best
    return seg_of_span, seg_doc[: k + 1], seg_start[: k + 1], seg_end[: k + 1]


@njit(cache=True)
def _grow(prio, ptr, dst, x0, x1, y0, y1, start, end, share):  # pragma: no cover - compiled
    """Clusters grown breadth-first from representatives taken in ``prio`` order.

    Node ``x``'s half-links are ``ptr[x]:ptr[x+1]``, each to ``dst[h]`` through a
    passage whose span is ``x0[h]:x1[h]`` on ``x`` and ``y0[h]:y1[h]`` on ``dst[h]``.
    Each admitted node keeps the linear map (slope, offset) from its offsets to its
    representative's; a node is admitted when its mapped span overlaps the
    representative's by ``share`` of both. Returns each node's representative.
    """
    n = start.shape[0]
    rep = np.full(n, -1, np.int64)
    slope = np.zeros(n)
    offset = np.zeros(n)
    queue = np.empty(n, np.int64)
    for i in range(n):
        r = prio[i]
        if rep[r] >= 0:
            continue
        rep[r] = r
        slope[r] = 1.0
        offset[r] = 0.0
        r0 = start[r]
        r1 = end[r]
        head = 0
        tail = 1
        queue[0] = r
        while head < tail:
            x = queue[head]
            head += 1
            for h in range(ptr[x], ptr[x + 1]):
                y = dst[h]
                if rep[y] >= 0 or y1[h] <= y0[h]:
                    continue
                ly = end[y] - start[y]
                lx = end[x] - start[x]
                # the passage must be most of both segments, and the segment about as
                # long as the representative: images do not drift through long pages
                if (y1[h] - y0[h] < share * ly or x1[h] - x0[h] < share * lx
                        or ly < share * (r1 - r0) or share * ly > r1 - r0):
                    continue
                s = (x1[h] - x0[h]) / (y1[h] - y0[h])
                a = slope[x] * s
                b = slope[x] * (x0[h] - y0[h] * s) + offset[x]
                lo = a * start[y] + b
                hi = a * end[y] + b
                overlap = min(hi, r1) - max(lo, r0)
                if overlap > 0 and overlap >= share * (hi - lo) and overlap >= share * (r1 - r0):
                    rep[y] = r
                    slope[y] = a
                    offset[y] = b
                    queue[tail] = y
                    tail += 1
    return rep


def passage_clusters(
    node: np.ndarray, start: np.ndarray, end: np.ndarray,
    u: np.ndarray, u0: np.ndarray, u1: np.ndarray,
    v: np.ndarray, v0: np.ndarray, v1: np.ndarray,
    share: float = SAME_PASSAGE_OVERLAP,
) -> np.ndarray:
    """Representative of each segment (step 3 of the module docstring).

    Args:
        node, start, end: the segments: ids (sorted, unique; integers whose order is
            (document, position)) and spans.
        u, u0, u1, v, v0, v1: one row per passage: the segment of each end and the
            passage's span there.

    Returns:
        The id of each segment's representative. The answer depends only on the set
        of rows (links are put in a canonical order first), and each connected
        component of the links gets the same answer alone as with the others: the
        Spark engine runs this on partitions of whole components.
    """
    node = np.asarray(node, np.int64)
    if node.shape[0] == 0:
        return node.copy()
    iu = np.searchsorted(node, np.asarray(u, np.int64))
    iv = np.searchsorted(node, np.asarray(v, np.int64))
    swap = iu > iv
    a, b = np.where(swap, iv, iu), np.where(swap, iu, iv)
    a0, a1 = np.where(swap, v0, u0).astype(np.int64), np.where(swap, v1, u1).astype(np.int64)
    b0, b1 = np.where(swap, u0, v0).astype(np.int64), np.where(swap, u1, v1).astype(np.int64)
    order = np.lexsort((b1, b0, a1, a0, b, a))
    a, b, a0, a1, b0, b1 = (c[order] for c in (a, b, a0, a1, b0, b1))
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    half = np.lexsort((np.arange(src.shape[0]), dst, src))
    x0 = np.concatenate([a0, b0])[half].astype(np.float64)
    x1 = np.concatenate([a1, b1])[half].astype(np.float64)
    y0 = np.concatenate([b0, a0])[half].astype(np.float64)
    y1 = np.concatenate([b1, a1])[half].astype(np.float64)
    src, dst = src[half], dst[half]
    n = node.shape[0]
    degree = np.bincount(src, minlength=n)
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum(degree)
    prio = np.lexsort((np.arange(n), -degree))
    rep = _grow(prio, ptr, dst, x0, x1, y0, y1, np.asarray(start, np.float64),
                np.asarray(end, np.float64), float(share))
    return node[rep]


@njit(cache=True)
def _components(x, y, n):  # pragma: no cover - compiled
    """Union-find over ``n`` items linked by ``x[i] -- y[i]``: each item's root, the
    smallest item of its component."""
    parent = np.arange(n)
    for i in range(x.shape[0]):
        rx = x[i]
        while parent[rx] != rx:
            parent[rx] = parent[parent[rx]]
            rx = parent[rx]
        ry = y[i]
        while parent[ry] != ry:
            parent[ry] = parent[parent[ry]]
            ry = parent[ry]
        if rx < ry:
            parent[ry] = rx
        elif ry < rx:
            parent[rx] = ry
    for i in range(n):  # parents are always smaller: one pass from the left resolves all
        parent[i] = parent[parent[i]]
    return parent


_MARKS = re.compile('["\u201c\u201d\u201e\u00ab\u00bb]|:[ \t]*\n')


def quoted_passages(
    passages: Sequence[Sequence[int]] | np.ndarray, texts: Mapping[int, str], share: float = QUOTED_SHARE
) -> np.ndarray:
    """Boolean per passage row ``(a_key, a_start, a_end, b_key, b_start, b_end)``: both
    spans at least ``share`` inside direct quotations (``tokens.quotation_mask``).
    ``texts`` maps doc_key to text; a document missing from it has no quotations.

    >>> t = 'Officials said: \u201cWe will rebuild every bridge and every road.\u201d'
    >>> quoted_passages([(1, 16, len(t), 2, 16, len(t)), (1, 0, len(t), 2, 0, 16)], {1: t, 2: t}).tolist()
    [True, False]
    """
    from newstrace.tokens import quotation_mask

    cums: dict[int, np.ndarray | None] = {}

    def inside(key: int, s: int, e: int) -> bool:
        if key not in cums:
            text = texts.get(key) or ""
            cums[key] = (np.concatenate([[0], np.cumsum(quotation_mask(text))])
                         if _MARKS.search(text) else None)
        cum = cums[key]
        if cum is None or e <= s:
            return False
        e = min(e, cum.shape[0] - 1)
        return e > s and int(cum[e] - cum[s]) >= share * (e - s)

    arr = np.asarray(passages, dtype=np.int64).reshape(-1, 6)
    out = np.zeros(arr.shape[0], dtype=bool)
    for i, (ak, a0, a1, bk, b0, b1) in enumerate(arr.tolist()):
        out[i] = inside(ak, a0, a1) and inside(bk, b0, b1)
    return out


def rank_clusters(
    rep: np.ndarray, seg_doc: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray
) -> np.ndarray:
    """Cluster ids 1.. for segments (given in id order) grouped by ``rep``: most
    documents first, then most characters, then the cluster's first segment."""
    roots, group = np.unique(rep, return_inverse=True)
    group = group.reshape(-1).astype(np.int64)
    first = np.full(len(roots), len(rep), np.int64)
    np.minimum.at(first, group, np.arange(len(rep)))
    width = int(seg_doc.max()) + 1
    pairs = np.unique(group * width + seg_doc)
    n_docs = np.bincount(pairs // width, minlength=len(roots))
    chars = np.bincount(group, weights=(seg_end - seg_start).astype(np.float64), minlength=len(roots))
    rank = np.lexsort((first, -chars, -n_docs))
    cluster_of_group = np.empty(len(roots), np.int64)
    cluster_of_group[rank] = np.arange(1, len(roots) + 1)
    return cluster_of_group[group]


def cluster_arrays(
    a_key: np.ndarray, a_start: np.ndarray, a_end: np.ndarray,
    b_key: np.ndarray, b_start: np.ndarray, b_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cluster_passages` on columns: the passages' six columns in, the members'
    ``(cluster_id, doc_key, start, end)`` columns out, ordered by cluster, then
    document and start. Memory is a few arrays of the passages' length (a million-
    document index has ten million passages)."""
    n = len(a_key)
    if n == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, empty
    docs = np.concatenate([a_key, b_key]).astype(np.int64)
    starts = np.concatenate([a_start, b_start]).astype(np.int64)
    ends = np.concatenate([a_end, b_end]).astype(np.int64)
    order = np.lexsort((-ends, starts, docs))
    seg_of_span, seg_doc, seg_start, seg_end = _sweep(order, docs, starts, ends, SAME_PASSAGE_OVERLAP)
    del order, docs
    node = np.arange(len(seg_doc), dtype=np.int64)
    rep = passage_clusters(node, seg_start, seg_end,
                           seg_of_span[:n], starts[:n], ends[:n], seg_of_span[n:], starts[n:], ends[n:])
    del starts, ends
    cluster_id = rank_clusters(rep, seg_doc, seg_start, seg_end)
    # a segment no cluster admitted, alone in its document, is not reuse of anything
    # listed: clusters of one document are dropped (they rank last, so ids stay 1..)
    width = int(seg_doc.max()) + 1
    n_docs = np.bincount(np.unique(cluster_id * width + seg_doc) // width)
    keep = n_docs[cluster_id] >= 2
    cluster_id, seg_doc, seg_start, seg_end = (c[keep] for c in (cluster_id, seg_doc, seg_start, seg_end))
    out = np.lexsort((seg_end, seg_start, seg_doc, cluster_id))
    return cluster_id[out], seg_doc[out], seg_start[out], seg_end[out]


def cluster_passages(
    passages: Sequence[tuple[int, int, int, int, int, int]],
    docs: Iterable[tuple[int, str | None, str]] | None = None,
    quotations: bool = True,
) -> list[ClusterMember]:
    """Group passage spans into reuse clusters.

    Args:
        passages: rows ``(a_key, a_start, a_end, b_key, b_start, b_end)``.
        docs: ``(doc_key, publisher, text)`` of the documents: when given, page
            boilerplate is taken out first (``boilerplate.passages_for_clustering``),
            so that clusters do not chain through site templates and notices, and
            (unless ``quotations`` is False) shared quotations are left out
            (``quoted_passages``).

    Returns:
        Cluster members (one per segment) of the clusters that reach two or more
        documents; cluster ids are 1.. ordered by number of documents (largest
        first), then by total characters, then position.

    >>> rows = [(1, 0, 50, 2, 10, 60), (2, 12, 58, 3, 0, 46), (1, 100, 150, 4, 0, 50)]
    >>> sorted((m.cluster_id, m.doc_key, m.start, m.end) for m in cluster_passages(rows))
    [(1, 1, 0, 50), (1, 2, 10, 60), (1, 3, 0, 46), (2, 1, 100, 150), (2, 4, 0, 50)]
    """
    if docs is not None:
        from newstrace.boilerplate import passages_for_clustering

        docs = list(docs)
        passages = passages_for_clustering(passages, docs)
        if quotations and passages:
            drop = quoted_passages(passages, {k: t for k, _, t in docs})
            passages = [p for p, d in zip(passages, drop, strict=True) if not d]
    if not passages:
        return []
    arr = np.asarray(passages, dtype=np.int64).reshape(-1, 6)
    cols = cluster_arrays(*(arr[:, i] for i in range(6)))
    return [ClusterMember(*row) for row in zip(*(c.tolist() for c in cols), strict=True)]


def family_arrays(a_key: np.ndarray, b_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`story_families` on columns: ``(doc_key, family_id)`` arrays."""
    keys, inverse = np.unique(np.concatenate([a_key, b_key]).astype(np.int64), return_inverse=True)
    n = len(a_key)
    root = _components(inverse[:n], inverse[n:], len(keys))
    return keys, keys[root]


def story_families(pairs: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Connected components of documents joined by passages: ``{doc_key: family_id}``.

    Family ids are the smallest doc_key of each family.
    """
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    keys, family = family_arrays(arr[:, 0], arr[:, 1])
    return dict(zip(keys.tolist(), family.tolist(), strict=True))
