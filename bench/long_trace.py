"""Trace and corpus provenance of a long spun article: both must stay linear in its length.

Builds a copy of about ``--mb`` megabytes from Reuters-21578 articles (each spun at 20 %
with the project's spinner, every third one with two paragraphs swapped), then times
``Index.trace`` of it against an index of the Reuters corpus, and the corpus provenance
step of it (``corpus_provenance.document_provenance`` over the passages the trace found,
the sources as its earlier documents). Target: under 5 s each for 1 MB.

Usage: python bench/long_trace.py --db reuters.duckdb [--mb 1.0] [--data PATH]
(the index is built first when ``--db`` does not exist: see bench/index_reuters.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

from newstrace import Index, provenance
from newstrace.corpus_provenance import document_provenance
from newstrace.fixtures import paragraph_spans, spin

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578.jsonl.gz"


def long_copy(records: list[dict], size: int, rng: random.Random) -> tuple[str, list[str]]:
    """A copy of about ``size`` characters stitched from spun Reuters articles."""
    parts: list[str] = []
    used: list[str] = []
    total = 0
    pool = [r for r in records if len(r.get("text") or "") > 1500]
    rng.shuffle(pool)
    for k, r in enumerate(pool):
        if total >= size:
            break
        text, _ = spin(r["text"], 0.2, rng)
        paras = [text[s:e] for s, e in paragraph_spans(text)]
        if k % 3 == 0 and len(paras) > 3:
            paras[1], paras[2] = paras[2], paras[1]
        piece = "\n\n".join(paras)
        parts.append(piece)
        used.append(str(r["id"]))
        total += len(piece) + 2
    return "\n\n".join(parts), used


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--mb", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"error: {args.data} not found (needs ../shared/data)", file=sys.stderr)
        return 1
    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    if not args.db.exists():
        with Index.open(args.db) as idx:
            idx.add(records)
            idx.build()
    text, used = long_copy(records, int(args.mb * 1_000_000), random.Random(args.seed))
    print(f"copy             {len(text):,} chars from {len(used)} spun articles")
    spent = []
    build = provenance.build_trace

    def timed(*a, **k):  # the attribution model's part of the trace
        t = time.perf_counter()
        out = build(*a, **k)
        spent.append(time.perf_counter() - t)
        return out

    provenance.build_trace = timed
    with Index.open(args.db, read_only=True) as idx:
        t = time.perf_counter()
        result = idx.trace(text, "long-copy")
        t_trace = time.perf_counter() - t
        print(f"trace            {t_trace:.2f} s  ({len(result['sources'])} sources, "
              f"{result['classification']}, {len(result['sentences'])} sentences, "
              f"{len(result['edits'])} edit pairs)")
        print(f"  of which attribution (build_trace) {sum(spent):.2f} s, "
              f"candidates + alignment {t_trace - sum(spent):.2f} s")
        ids = [s["id"] for s in result["sources"]]
        rows = idx.con.execute(
            "SELECT doc_key, id, publisher, published_at, text FROM documents WHERE id IN (SELECT unnest(?))",
            [ids]).fetchall()
    docs = {r[1]: {"doc_key": r[0], "id": r[1], "publisher": r[2], "published_at": r[3], "text": r[4]}
            for r in rows}
    incoming = [(docs[s["id"]], [(p["a_start"], p["a_end"], p["b_start"], p["b_end"]) for p in s["passages"]], "date")
                for s in result["sources"]]
    target = {"doc_key": -1, "id": "long-copy", "text": text}
    t = time.perf_counter()
    record, subs, _ = document_provenance(target, incoming, [], idx.params)
    t_prov = time.perf_counter() - t
    print(f"provenance       {t_prov:.2f} s  ({record['n_sources']} independent sources, "
          f"{record['class']}, {len(subs)} swaps)")
    print(f"max              {max(t_trace, t_prov):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
