"""The corpus substitution dictionary that ``newstrace.edits`` gives, on real reprints.

Indexes a corpus once (cached in ``bench/out/<name>.duckdb``, git-ignored), runs
``passage_edits`` on the stored passages of every document pair (the earlier document
as the source, the later as the copy; ties by id), and prints the commonest swap pairs
(substitution, phrase, fact) with the number of copies each is seen in, and whether
``is_genuine_swap`` accepts it. Issue 16 asks for the top 50 on the Helsinki pages.

Usage: python bench/edits_dictionary.py [--data ../shared/data/helsinki.jsonl.gz] [--top 50]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parents[1] / "shared" / "data" / "helsinki.jsonl.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--top", type=int, default=50)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"error: {args.data} not found", file=sys.stderr)
        return 1
    import duckdb

    from newstrace import Index
    from newstrace.edits import SWAP_KINDS, is_genuine_swap, passage_edits

    name = args.data.name.split(".")[0]
    db = HERE / "out" / f"{name}.duckdb"
    done = db.with_suffix(".built")
    if not (db.exists() and done.exists()):
        db.parent.mkdir(parents=True, exist_ok=True)
        if db.exists():
            db.unlink()
        with gzip.open(args.data, "rt", encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        with Index.open(db) as idx:
            idx.add(records)
            idx.build()
        done.write_text("ok\n")
    con = duckdb.connect(str(db), read_only=True)
    docs = {str(i): (t, str(d) if d is not None else "") for i, t, d in
            con.execute("SELECT id, text, published_at FROM documents").fetchall()}
    rows = con.execute("SELECT a_id, b_id, a_start, a_end, b_start, b_end FROM passages").fetchall()
    con.close()
    pairs: dict[tuple[str, str], set[tuple[int, int, int, int]]] = defaultdict(set)
    for a, b, a0, a1, b0, b1 in rows:
        a, b = str(a), str(b)
        if (docs[a][1], a) <= (docs[b][1], b):  # a is earlier: the source
            pairs[(a, b)].add((a0, a1, b0, b1))
        else:
            pairs[(b, a)].add((b0, b1, a0, a1))
    t = time.perf_counter()
    seen: Counter[tuple[str, str, str]] = Counter()
    copies: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    n_moves = 0
    for (src, dst), spans in pairs.items():
        edits, moves = passage_edits(docs[src][0], docs[dst][0], sorted(spans))
        n_moves += len(moves)
        for e in edits:
            if e.kind in SWAP_KINDS:
                key = (e.src.casefold(), e.dst.casefold(), e.kind)
                seen[key] += 1
                copies[key].add(dst)
    secs = time.perf_counter() - t
    print(f"{len(docs)} documents, {len(pairs)} source-copy pairs, {sum(seen.values())} swaps "
          f"({len(seen)} distinct), {n_moves} moves; passage_edits {secs:.1f} s")
    top = sorted(seen, key=lambda k: (-len(copies[k]), -seen[k], k))[: args.top]
    genuine = 0
    print(f"{'from':28} {'to':28} {'kind':12} copies  seen  genuine")
    for k in top:
        g = is_genuine_swap(k[0], k[1]) if k[2] != "fact" else False
        genuine += g
        print(f"{json.dumps(k[0])[1:-1][:28]:28} {json.dumps(k[1])[1:-1][:28]:28} {k[2]:12} "
              f"{len(copies[k]):6} {seen[k]:5}  {'yes' if g else '-'}")
    print(f"is_genuine_swap accepts {genuine} of the top {len(top)} (fact changes listed apart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
