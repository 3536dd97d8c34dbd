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
    document, then clusters grown breadth-first from representatives (most passages
    first) admitting a segment when its span, mapped through the passages into the
    representative's offsets, overlaps it by the share of both; clusters ranked by
    documents, characters, first segment."""
    from newstrace.cluster import SAME_PASSAGE_OVERLAP as F
    from newstrace.cluster import SegmentSweep

    ends = sorted(
        [(r[0], r[1], r[2], i, 0) for i, r in enumerate(rows)] + [(r[3], r[4], r[5], i, 1) for i, r in enumerate(rows)],
        key=lambda s: (s[0], s[1], -s[2]),
    )
    sweep, seg_of, segs = SegmentSweep(), {}, {}
    for doc, start, end, i, side in ends:
        num = sweep.add(doc, start, end)
        seg = segs.setdefault((doc, num), [doc, start, end])
        seg[2] = max(seg[2], end)
        seg_of[i, side] = (doc, num)
    ids = sorted(segs)
    links = {s: [] for s in ids}
    for i, r in enumerate(rows):
        a, b = seg_of[i, 0], seg_of[i, 1]
        if ids.index(a) > ids.index(b):
            a, b, r = b, a, (r[3], r[4], r[5], r[0], r[1], r[2])
        links[a].append((b, r[1], r[2], r[4], r[5], ids.index(b)))
        links[b].append((a, r[4], r[5], r[1], r[2], ids.index(a)))
    for s in ids:  # canonical order: by the other segment, then the passage's spans
        links[s].sort(key=lambda x: (x[5], *(x[1:5] if ids.index(s) < x[5] else (x[3], x[4], x[1], x[2]))))
    rep, maps = {}, {}
    for r in sorted(ids, key=lambda s: (-len(links[s]), ids.index(s))):
        if r in rep:
            continue
        rep[r], maps[r] = r, (1.0, 0.0)
        r0, r1 = segs[r][1], segs[r][2]
        queue = [r]
        while queue:
            x = queue.pop(0)
            for y, x0, x1, y0, y1, _ in links[x]:
                if y in rep or y1 <= y0:
                    continue
                ly, lx = segs[y][2] - segs[y][1], segs[x][2] - segs[x][1]
                if y1 - y0 < F * ly or x1 - x0 < F * lx or ly < F * (r1 - r0) or F * ly > r1 - r0:
                    continue
                s = (x1 - x0) / (y1 - y0)
                a = maps[x][0] * s
                b = maps[x][0] * (x0 - y0 * s) + maps[x][1]
                lo, hi = a * segs[y][1] + b, a * segs[y][2] + b
                overlap = min(hi, r1) - max(lo, r0)
                if overlap > 0 and overlap >= F * (hi - lo) and overlap >= F * (r1 - r0):
                    rep[y], maps[y] = r, (a, b)
                    queue.append(y)
    groups = {}
    for s in ids:
        groups.setdefault(rep[s], []).append(s)
    ranked = sorted(groups.values(), key=lambda g: (
        -len({segs[s][0] for s in g}), -sum(segs[s][2] - segs[s][1] for s in g), ids.index(g[0])))
    ranked = [g for g in ranked if len({segs[s][0] for s in g}) >= 2]  # clusters of 2+ documents
    return sorted((cid, *segs[s]) for cid, g in enumerate(ranked, 1) for s in g)


@given(st.lists(st.tuples(spans, spans), max_size=30))
@settings(max_examples=150)
def test_compiled_clustering_follows_the_reference_rule(pairs):
    rows = [(a[0], a[1], a[1] + a[2], b[0], b[1], b[1] + b[2]) for a, b in pairs if a[0] != b[0]]
    got = [(m.cluster_id, m.doc_key, m.start, m.end) for m in cluster_passages(rows)]
    assert got == _reference_clusters(rows)


def _shifted_chain(n, shift=20, length=120, overlap=100):
    """Docs 1..n; doc i holds the story's characters [shift*i, shift*i + length) at
    local offsets [0, length); consecutive docs share ``overlap`` characters."""
    rows = []
    for i in range(1, n):
        rows.append((i, shift, shift + overlap, i + 1, 0, overlap))
    return rows


def test_chain_where_the_ends_share_nothing_is_not_one_cluster():
    # every link overlaps its neighbours by 80-100 %, yet doc 1 holds story chars
    # [20, 140) and doc 8 [160, 280): nothing in common. Union-find made one cluster.
    rows = _shifted_chain(8)
    members = cluster_passages(rows)
    cluster_of = {}
    for m in members:
        cluster_of.setdefault(m.doc_key, set()).add(m.cluster_id)
    assert not cluster_of[1] & cluster_of[8]
    # every cluster is one passage: in story coordinates, each member overlaps every
    # other by at least half of the shorter
    groups = {}
    for m in members:
        groups.setdefault(m.cluster_id, []).append((20 * m.doc_key + m.start, 20 * m.doc_key + m.end))
    for spans_ in groups.values():
        for s0, e0 in spans_:
            for s1, e1 in spans_:
                assert min(e0, e1) - max(s0, s1) >= 0.5 * min(e0 - s0, e1 - s1)


def test_chain_through_a_long_span_is_not_one_cluster():
    # doc 9 (a page) holds two stories; doc 1 copies the first, doc 2 the second, and
    # doc 3 copies the whole page: 1 and 2 share nothing and are never one cluster
    rows = [(1, 0, 100, 9, 0, 100), (2, 0, 100, 9, 100, 200), (3, 0, 200, 9, 0, 200)]
    members = cluster_passages(rows)
    of = {}
    for m in members:
        of.setdefault(m.doc_key, set()).add(m.cluster_id)
    assert not of[1] & of[2]
    assert of[3] & of[9]


def test_one_story_with_many_copies_stays_one_cluster():
    # 30 copies with slightly different spans (datelines, footers): one cluster
    rows = [(1, 0, 1000, k, k % 7, 1000 + k % 5) for k in range(2, 32)]
    rows += [(k, k % 7, 1000 + k % 5, k + 1, (k + 1) % 7, 1000 + (k + 1) % 5) for k in range(2, 31)]
    members = cluster_passages(rows)
    assert {m.cluster_id for m in members} == {1}
    assert len({m.doc_key for m in members}) == 31


QUOTE = ("\u201cWe will not stand by while our neighbours are threatened, and we will answer any "
         "attack on our allies with everything we have,\u201d")


def test_shared_quotation_does_not_link_stories():
    # two stories, each reprinted once; all four pages quote one speaker at length
    story_a = "Flood waters rose across the northern valley overnight and forced hundreds from their homes. "
    story_b = "The central bank raised interest rates by half a point on Thursday to cool prices. "
    texts = {
        1: story_a + QUOTE + " the minister said.",
        2: story_a + QUOTE + " the minister said.",
        3: story_b + QUOTE + " said the minister.",
        4: story_b + QUOTE + " said the minister.",
    }
    q = {k: t.index("\u201c") for k, t in texts.items()}
    ql = len(QUOTE)
    rows = [
        (1, 0, len(story_a), 2, 0, len(story_a)),
        (3, 0, len(story_b), 4, 0, len(story_b)),
        (1, q[1], q[1] + ql, 3, q[3], q[3] + ql),  # the quotation only
        (2, q[2], q[2] + ql, 4, q[4], q[4] + ql),
        (1, q[1] - 20, q[1] + ql, 4, q[4] - 20, q[4] + ql),  # mostly the quotation
    ]
    docs = [(k, f"site{k}.com", t) for k, t in texts.items()]
    members = cluster_passages(rows, docs)
    groups = {}
    for m in members:
        groups.setdefault(m.cluster_id, set()).add(m.doc_key)
    assert sorted(map(sorted, groups.values())) == [[1, 2], [3, 4]]
    # without the quotation rule, the quotation is a cluster of its own (it links the
    # four pages); the rule leaves it out
    plain = cluster_passages(rows, docs, quotations=False)
    assert any(len({m.doc_key for m in plain if m.cluster_id == c}) == 4
               for c in {m.cluster_id for m in plain})


STORY = ("The regional council approved a new flood barrier on Tuesday after three winters of "
         "damage along the river, and work is due to begin in the spring. ")


def test_listing_has_one_row_per_document(tmp_path, capsys):
    import pytest

    from newstrace.cli import main
    from newstrace.index import Index

    n = len(STORY)
    texts = {"a": STORY, "b": STORY + "Other news. " + STORY, "c": "Intro. " + STORY}
    db = tmp_path / "one-row.duckdb"
    with Index.open(db) as idx:
        idx.add([{"id": k, "text": t, "publisher": f"{k}.com"} for k, t in texts.items()])
        keys = dict(idx.con.execute("SELECT id, doc_key FROM documents").fetchall())
        second = n + len("Other news. ")
        # the stored passages (as the aligner would give them): b prints the story twice
        rows = [("a", 0, n, "b", 0, n), ("a", 0, n, "b", second, second + n),
                ("a", 0, n, "c", 7, 7 + n), ("b", 0, n, "c", 7, 7 + n), ("b", second, second + n, "c", 7, 7 + n)]
        for pid, (a, a0, a1, b, b0, b1) in enumerate(rows, 1):
            idx.con.execute("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1.0, 30, 30, 30)",
                            [pid, keys[a], keys[b], a, b, a0, a1, b0, b1])
        idx._cluster(lambda *_: None)
        (cluster,) = idx.clusters()
    assert cluster["n_docs"] == 3 and cluster["n_members"] == 4
    assert [m["id"] for m in cluster["members"]] == ["a", "b", "c"]  # one row per document
    (b_row,) = [m for m in cluster["members"] if m["id"] == "b"]
    assert b_row["spans"] == [[0, n], [second, second + n]]
    assert (b_row["start"], b_row["end"]) == (0, n)
    with pytest.raises(SystemExit) as exc:
        main(["clusters", "--db", str(db)])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.count(".com  chars") == 3 and "+1 more span" in out
    with pytest.raises(SystemExit):
        main(["clusters", "--db", str(db), "--members", "1"])
    assert "2 more document(s)" in capsys.readouterr().out
