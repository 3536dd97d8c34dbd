"""Full pipeline on Reuters-21578 (19,043 articles): figures per stage, words/s, peak RSS.

Usage: python bench/index_reuters.py [--data PATH] [--db PATH]
The last line is the total wall time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from newstrace import Index

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578.jsonl.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--db", type=Path, default=None)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"error: {args.data} not found (needs ../shared/data)", file=sys.stderr)
        return 1
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "reuters.duckdb"
    if db.exists():
        db.unlink()
    t0 = time.perf_counter()
    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    t_read = time.perf_counter() - t0
    with Index.open(db) as idx:
        t = time.perf_counter()
        ingest = idx.add(records)
        t_ingest = time.perf_counter() - t
        build = idx.build()
        stats = idx.stats()
        words = idx.con.execute("SELECT sum(n_tokens) FROM fingerprinted").fetchone()[0]
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"documents        {stats['documents']}")
    print(f"words            {words}")
    print(f"rejected         {len(ingest.rejected)}")
    print(f"candidate pairs  {stats['candidate_pairs']}")
    print(f"passages         {stats['passages']}")
    print(f"reuse clusters   {stats['clusters']}")
    print(f"read json        {t_read:.2f} s")
    print(f"ingest           {t_ingest:.2f} s")
    for stage, sec in build.seconds.items():
        print(f"{stage:16} {sec:.2f} s")
    print(f"words/s          {words / total:,.0f}")
    print(f"peak RSS         {rss:,.0f} MiB")
    print(f"db size          {db.stat().st_size / 2**20:,.1f} MiB")
    print(f"total            {total:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
