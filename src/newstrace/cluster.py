"""Stage 6: passages -> reuse clusters (one passage and all its copies) and story families.

Each passage links a span of one document to a span of another. Within a
document, spans that overlap by at least half of the longer one are the same
*segment*; union-find over the links joins segments into clusters. Documents
joined by any passage form a story family. The result does not depend on the
order of the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

#: Two spans in one document are one segment when they overlap by this share of the longer.
SAME_SEGMENT_OVERLAP = 0.5


@dataclass(frozen=True)
class ClusterMember:
    cluster_id: int
    doc_key: int
    start: int
    end: int


class SegmentSweep:
    """Assigns spans, fed in (doc, start, -end) order, to segments of their document.

    A span joins the current segment when it overlaps it by at least
    ``SAME_SEGMENT_OVERLAP`` of the *longer* of the two; the segment then grows to
    cover it. (Measured against the shorter one, a page-long span swallowed every
    paragraph-sized span inside it and chained unrelated stories into one cluster:
    on the Helsinki corpus one cluster took 504 of 612 pages.) Both engines use this one rule (DuckDB in ``cluster_passages``, Spark
    per partition).

    >>> sweep = SegmentSweep()
    >>> [sweep.add(*span) for span in [(1, 0, 100), (1, 10, 90), (1, 95, 200), (2, 0, 5)]]
    [False, True, False, False]
    >>> sweep.number, sweep.end
    (0, 5)
    """

    def __init__(self) -> None:
        self.doc = self.start = self.end = -1
        self.number = -1  # segment number within the current document

    def add(self, doc: int, start: int, end: int) -> bool:
        """Feed one span; True when it joined the current segment, False when it opened one."""
        if doc == self.doc:
            overlap = min(self.end, end) - start
            if overlap > 0 and overlap >= SAME_SEGMENT_OVERLAP * max(end - start, self.end - self.start):
                self.end = max(self.end, end)
                return True
            self.number += 1
        else:
            self.number = 0
        self.doc, self.start, self.end = doc, start, end
        return False


@njit(cache=True)
def _sweep(order, docs, starts, ends, overlap_share):  # pragma: no cover - compiled
    """``SegmentSweep`` over all spans at once (compiled): segment of each span, and
    each segment's document, start and end. Segments come out in (doc, start) order."""
    m = order.shape[0]
    seg_of_span = np.empty(m, np.int64)
    seg_doc = np.empty(m, np.int64)
    seg_start = np.empty(m, np.int64)
    seg_end = np.empty(m, np.int64)
    k = -1
    cur_doc = cur_start = cur_end = -1
    for i in range(m):
        idx = order[i]
        d, s, e = docs[idx], starts[idx], ends[idx]
        joined = False
        if d == cur_doc:
            overlap = min(cur_end, e) - s
            if overlap > 0 and overlap >= overlap_share * max(e - s, cur_end - cur_start):
                cur_end = max(cur_end, e)
                seg_end[k] = cur_end
                joined = True
        if not joined:
            k += 1
            seg_doc[k], seg_start[k], seg_end[k] = d, s, e
            cur_doc, cur_start, cur_end = d, s, e
        seg_of_span[idx] = k
    return seg_of_span, seg_doc[: k + 1], seg_start[: k + 1], seg_end[: k + 1]


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
    seg_of_span, seg_doc, seg_start, seg_end = _sweep(order, docs, starts, ends, SAME_SEGMENT_OVERLAP)
    del order, docs, starts, ends
    root = _components(seg_of_span[:n], seg_of_span[n:], len(seg_doc))
    # rank the components: most documents, most characters, then first position (the
    # root is the component's first segment in (doc, start) order), then the root
    roots, group = np.unique(root, return_inverse=True)
    pairs = np.unique(group.astype(np.int64) * (int(seg_doc.max()) + 1) + seg_doc)
    n_docs = np.bincount(pairs // (int(seg_doc.max()) + 1), minlength=len(roots))
    chars = np.bincount(group, weights=(seg_end - seg_start).astype(np.float64), minlength=len(roots))
    rank = np.lexsort((roots, seg_start[roots], seg_doc[roots], -chars, -n_docs))
    cluster_of_group = np.empty(len(roots), np.int64)
    cluster_of_group[rank] = np.arange(1, len(roots) + 1)
    cluster_id = cluster_of_group[group]
    out = np.argsort(cluster_id, kind="stable")  # segments are already in (doc, start) order
    return cluster_id[out], seg_doc[out], seg_start[out], seg_end[out]


def cluster_passages(
    passages: Sequence[tuple[int, int, int, int, int, int]],
    docs: Iterable[tuple[int, str | None, str]] | None = None,
) -> list[ClusterMember]:
    """Group passage spans into reuse clusters.

    Args:
        passages: rows ``(a_key, a_start, a_end, b_key, b_start, b_end)``.
        docs: ``(doc_key, publisher, text)`` of the documents: when given, page
            boilerplate is taken out first (``boilerplate.passages_for_clustering``),
            so that clusters do not chain through site templates and notices.

    Returns:
        Cluster members (one per segment); cluster ids are 1.. ordered by number
        of documents (largest first), then by total characters, then position.

    >>> rows = [(1, 0, 50, 2, 10, 60), (2, 12, 58, 3, 0, 46), (1, 100, 150, 4, 0, 50)]
    >>> sorted((m.cluster_id, m.doc_key, m.start, m.end) for m in cluster_passages(rows))
    [(1, 1, 0, 50), (1, 2, 10, 60), (1, 3, 0, 46), (2, 1, 100, 150), (2, 4, 0, 50)]
    """
    if docs is not None:
        from newstrace.boilerplate import passages_for_clustering

        passages = passages_for_clustering(passages, docs)
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
