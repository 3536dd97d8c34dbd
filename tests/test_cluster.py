import random

from hypothesis import given, settings
from hypothesis import strategies as st

from newstrace.cluster import cluster_passages, story_families


def as_sets(members):
    groups = {}
    for m in members:
        groups.setdefault(m.cluster_id, set()).add((m.doc_key, m.start, m.end))
    return sorted(map(sorted, groups.values()))


def test_chain_of_copies_is_one_cluster():
    rows = [(1, 0, 100, 2, 0, 100), (2, 0, 100, 3, 5, 105), (3, 5, 105, 4, 0, 98)]
    members = cluster_passages(rows)
    assert {m.cluster_id for m in members} == {1}
    assert sorted(m.doc_key for m in members) == [1, 2, 3, 4]


def test_composite_splits_into_one_cluster_per_source_passage():
    # doc 9 stitched from docs 1, 2, 3 at disjoint spans
    rows = [(1, 0, 80, 9, 0, 80), (2, 10, 90, 9, 82, 160), (3, 0, 60, 9, 162, 220)]
    members = cluster_passages(rows)
    assert len({m.cluster_id for m in members}) == 3
    assert {m.doc_key for m in members if m.doc_key == 9} == {9}


def test_slightly_overlapping_spans_are_separate_segments():
    rows = [(1, 0, 100, 2, 0, 100), (3, 0, 100, 2, 90, 190)]  # 10-char overlap in doc 2
    assert len({m.cluster_id for m in cluster_passages(rows)}) == 2


spans = st.tuples(st.integers(1, 6), st.integers(0, 300), st.integers(1, 120))


@given(st.lists(st.tuples(spans, spans), max_size=25), st.randoms())
@settings(max_examples=150)
def test_same_clusters_under_any_input_order(pairs, rnd):
    rows = [(a[0], a[1], a[1] + a[2], b[0], b[1], b[1] + b[2]) for a, b in pairs if a[0] != b[0]]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    assert as_sets(cluster_passages(rows)) == as_sets(cluster_passages(shuffled))
    # and ids are assigned the same way
    assert sorted((m.cluster_id, m.doc_key, m.start) for m in cluster_passages(rows)) == sorted(
        (m.cluster_id, m.doc_key, m.start) for m in cluster_passages(shuffled)
    )


def test_story_families():
    fam = story_families([(1, 2), (2, 3), (7, 8)])
    assert fam == {1: 1, 2: 1, 3: 1, 7: 7, 8: 7}
    assert cluster_passages([]) == []
    random.seed(0)


def _reference_clusters(rows):
    """The rule spelled out in plain Python: SegmentSweep (the Spark engine's) per
    document, a dict union-find, clusters ranked by documents, characters, position."""
    from newstrace.cluster import SegmentSweep

    spans = sorted(
        [(r[0], r[1], r[2], i) for i, r in enumerate(rows)] + [(r[3], r[4], r[5], i) for i, r in enumerate(rows)],
        key=lambda s: (s[0], s[1], -s[2]),
    )
    sweep, segs, seg_of = SegmentSweep(), [], {}
    for doc, start, end, i in spans:
        if sweep.add(doc, start, end):
            segs[-1][2] = sweep.end
        else:
            segs.append([doc, start, end])
        seg_of.setdefault(i, []).append(len(segs) - 1)
    parent = list(range(len(segs)))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in seg_of.values():
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    groups = {}
    for s in range(len(segs)):
        groups.setdefault(find(s), []).append(s)
    ranked = sorted(groups.values(), key=lambda g: (
        -len({segs[s][0] for s in g}), -sum(segs[s][2] - segs[s][1] for s in g), segs[g[0]][0], segs[g[0]][1]))
    return [(cid, *segs[s]) for cid, g in enumerate(ranked, 1) for s in g]


@given(st.lists(st.tuples(spans, spans), max_size=30))
@settings(max_examples=150)
def test_compiled_clustering_follows_the_segment_sweep_rule(pairs):
    rows = [(a[0], a[1], a[1] + a[2], b[0], b[1], b[1] + b[2]) for a, b in pairs if a[0] != b[0]]
    got = [(m.cluster_id, m.doc_key, m.start, m.end) for m in cluster_passages(rows)]
    assert got == [tuple(x) for x in _reference_clusters(rows)]
