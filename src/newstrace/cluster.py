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


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            if rx < ry:
                self.parent[ry] = rx
            else:
                self.parent[rx] = ry


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
    n = arr.shape[0]
    # spans: 2 per passage -> (doc, start, end, passage index)
    docs = np.concatenate([arr[:, 0], arr[:, 3]])
    starts = np.concatenate([arr[:, 1], arr[:, 4]])
    ends = np.concatenate([arr[:, 2], arr[:, 5]])
    order = np.lexsort((-ends, starts, docs))
    seg_of_span = np.empty(2 * n, dtype=np.int64)
    seg_doc: list[int] = []
    seg_start: list[int] = []
    seg_end: list[int] = []
    sweep = SegmentSweep()
    for idx in order.tolist():
        d, s, e = int(docs[idx]), int(starts[idx]), int(ends[idx])
        if sweep.add(d, s, e):
            seg_end[-1] = sweep.end
        else:
            seg_doc.append(d)
            seg_start.append(s)
            seg_end.append(e)
        seg_of_span[idx] = len(seg_doc) - 1
    uf = _UnionFind(len(seg_doc))
    for p in range(n):
        uf.union(int(seg_of_span[p]), int(seg_of_span[p + n]))
    groups: dict[int, list[int]] = {}
    for seg in range(len(seg_doc)):
        groups.setdefault(uf.find(seg), []).append(seg)

    def rank(segs: list[int]) -> tuple[int, int, int, int]:
        n_docs = len({seg_doc[s] for s in segs})
        chars = sum(seg_end[s] - seg_start[s] for s in segs)
        first = min((seg_doc[s], seg_start[s]) for s in segs)
        return (-n_docs, -chars, first[0], first[1])

    members = []
    for cid, segs in enumerate(sorted(groups.values(), key=rank), 1):
        for s in sorted(segs, key=lambda s: (seg_doc[s], seg_start[s])):
            members.append(ClusterMember(cid, seg_doc[s], seg_start[s], seg_end[s]))
    return members


def story_families(pairs: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Connected components of documents joined by passages: ``{doc_key: family_id}``.

    Family ids are the smallest doc_key of each family.
    """
    keys = sorted({k for pair in pairs for k in pair})
    index = {k: i for i, k in enumerate(keys)}
    uf = _UnionFind(len(keys))
    for a, b in pairs:
        uf.union(index[a], index[b])
    return {k: keys[uf.find(index[k])] for k in keys}
