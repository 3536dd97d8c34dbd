"""Coherence of reuse clusters: does every member of a cluster align with every other?

For every cluster with ``--min-docs`` (10) or more documents, each pair of members in
different documents is aligned with the real aligner (``align_texts`` on the two
members' spans); the cluster's coherence is the share of pairs that give at least one
passage. Goal (issue 17): >= 0.9 for every such cluster. Prints the ``--top`` (20)
largest clusters with size, publishers, coherence and the start of the cluster's
passage (its earliest member's span), then the lowest coherence over all checked
clusters.

Usage:
    python bench/cluster_coherence.py                       # index Helsinki in a temp dir
    python bench/cluster_coherence.py --db hel.duckdb       # an index built before
    python bench/cluster_coherence.py --db hel.duckdb --recluster   # re-run the cluster stage first
    python bench/cluster_coherence.py --markdown            # the table as Markdown
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from pathlib import Path

from newstrace import Index
from newstrace.align import align_texts

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "helsinki.jsonl.gz"


def coherence(idx: Index, cluster_id: int, max_pairs: int, rnd: random.Random) -> tuple[float, int]:
    """Share of member pairs (in different documents) whose spans align; pairs checked."""
    members = idx.con.execute(
        """SELECT m.doc_key, substr(d.text, m.start_char + 1, m.end_char - m.start_char)
           FROM cluster_members m JOIN documents d USING (doc_key)
           WHERE m.cluster_id = ? ORDER BY m.doc_key, m.start_char""",
        [cluster_id],
    ).fetchall()
    pairs = [(a, b) for a, b in itertools.combinations(range(len(members)), 2)
             if members[a][0] != members[b][0]]
    if len(pairs) > max_pairs:
        pairs = rnd.sample(pairs, max_pairs)
    if not pairs:
        return 1.0, 0
    ok = sum(1 for a, b in pairs if align_texts(members[a][1], members[b][1], idx.params))
    return ok / len(pairs), len(pairs)


def _clean(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    flat = "".join(c if c.isprintable() else "?" for c in flat).replace("|", "/")
    return flat[:width] + ("…" if len(flat) > width else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--db", type=Path, default=None, help="an existing index (else a temporary one)")
    ap.add_argument("--recluster", action="store_true", help="re-run the cluster stage of --db first")
    ap.add_argument("--min-docs", type=int, default=10)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--max-pairs", type=int, default=1000, help="pairs sampled per cluster (seeded)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if args.db is None or not args.db.exists():
        if not args.data.exists():
            print(f"error: {args.data} not found (needs ../shared/data)", file=sys.stderr)
            return 1
        db = args.db or Path(tmp.name) / "h.duckdb"
        with Index.open(db) as idx:
            idx.ingest([args.data])
            t = time.perf_counter()
            idx.build()
            print(f"indexed {args.data.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    else:
        db = args.db
        if args.recluster:
            with Index.open(db) as idx:
                t = time.perf_counter()
                idx._cluster(lambda *_: None)  # noqa: SLF001 - the stage alone, for measuring
                print(f"clustered in {time.perf_counter() - t:.2f} s", file=sys.stderr)
    rnd = random.Random(17)
    with Index.open(db, read_only=True) as idx:
        rows = idx.con.execute(
            """SELECT c.cluster_id, c.n_docs, count(DISTINCT d.publisher)
               FROM clusters c JOIN cluster_members m USING (cluster_id)
               JOIN documents d ON d.doc_key = m.doc_key
               WHERE c.n_docs >= ? GROUP BY c.cluster_id, c.n_docs
               ORDER BY c.n_docs DESC, c.cluster_id""",
            [args.min_docs],
        ).fetchall()
        n_clusters, largest = idx.con.execute(
            "SELECT count(*), max(n_docs) FROM clusters WHERE n_docs >= 2").fetchall()[0]
        checked = []
        for cid, n_docs, pubs in rows:
            share, n_pairs = coherence(idx, cid, args.max_pairs, rnd)
            checked.append((cid, n_docs, pubs, share, n_pairs, idx.cluster(cid)["text"]))
    head = ("cluster", "documents", "publishers", "coherence", "pairs", "passage (first 80 chars)")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for cid, n, p, share, n_pairs, text in checked[: args.top]:
            print(f"| {cid} | {n} | {p} | {share:.3f} | {n_pairs} | {_clean(text)} |")
    else:
        print(f"{head[0]:>7} {head[1]:>9} {head[2]:>10} {head[3]:>9} {head[4]:>6}  {head[5]}")
        for cid, n, p, share, n_pairs, text in checked[: args.top]:
            print(f"{cid:>7} {n:>9} {p:>10} {share:>9.3f} {n_pairs:>6}  {_clean(text)}")
    for cid, n, p, share, n_pairs, text in checked[args.top:]:
        if share < 0.9:
            print(f"{cid:>7} {n:>9} {p:>10} {share:>9.3f} {n_pairs:>6}  {_clean(text)}  (below 0.9)")
    low = min(checked, key=lambda r: r[3]) if checked else None
    below = sum(1 for r in checked if r[3] < 0.9)
    print(f"clusters (2+ documents): {n_clusters}; largest: {largest} documents")
    print(f"clusters with {args.min_docs}+ documents: {len(checked)}; below 0.9 coherence: {below}; "
          + (f"lowest {low[3]:.3f} (cluster {low[0]}, {low[1]} documents)" if low else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
