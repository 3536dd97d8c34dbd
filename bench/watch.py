"""Watch throughput and alert lag against a large index.

Usage: python bench/watch.py [--base-size 100000] [--arrivals 500] [--mode fast|full]
                             [--batch 64] [--rate 50] [--settle 0.2] [--base-db PATH]

1. Base index: ``--base-size`` articles derived from Reuters-21578 (19,043 real
   articles): variant 0 is the real text; variant k>0 maps every word through a
   seeded permutation of the corpus vocabulary, so each variant keeps Reuters'
   length, duplicate and near-duplicate structure but shares no n-grams with the
   others. Built once with ``Index.build()`` and cached at ``--base-db``.
2. 100 real (variant 0) articles are watched.
3. Throughput: ``--arrivals`` new files (one article each: 10 % copies of watched
   articles -- verbatim, spun, cut -- and 90 % unseen articles of another variant)
   are dropped at once; ``run_watch(once=True)`` processes them. Printed: articles/s.
4. Lag: the same mix arrives at ``--rate`` files/s while ``run_watch`` runs; the
   median and p90 seconds from a copy's arrival (file renamed into the inbox) to its
   alert row are printed.
5. One ``Index.build()`` on a single new article, stage by stage (where the time
   goes in ``--mode full``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newstrace import Index
from newstrace.fixtures import delete_sentences, reprint, spin_derived, write_jsonl
from newstrace.watch import add_watch, run_watch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578.jsonl.gz"
WORD = re.compile(r"[A-Za-z]+")


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


class Variants:
    """Word-permutation variants of a corpus (variant 0 = the original text)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        vocab: set[str] = set()
        for r in records:
            vocab.update(w.lower() for w in WORD.findall(r.get("text") or ""))
        self.vocab = sorted(vocab)
        self.records = records
        self.maps: dict[int, dict[str, str]] = {}

    def _map(self, k: int) -> dict[str, str]:
        if k not in self.maps:
            perm = list(self.vocab)
            random.Random(1000 + k).shuffle(perm)
            self.maps[k] = dict(zip(self.vocab, perm, strict=True))
        return self.maps[k]

    def text(self, k: int, text: str) -> str:
        if k == 0:
            return text
        m = self._map(k)

        def sub(mt: re.Match[str]) -> str:
            w = mt.group()
            rep = m.get(w.lower(), w)
            if w.isupper() and len(w) > 1:
                return rep.upper()
            return rep.capitalize() if w[0].isupper() else rep

        return WORD.sub(sub, text)

    def record(self, k: int, i: int) -> dict[str, Any]:
        r = self.records[i]
        return {
            "id": f"v{k}-{r['id']}", "publisher": r.get("publisher") or "Reuters",
            "published_at": r.get("published_at"), "title": self.text(k, r.get("title") or ""),
            "text": self.text(k, r["text"]),
        }


def build_base(db: Path, variants: Variants, size: int) -> float:
    n = len(variants.records)
    t = time.perf_counter()
    with Index.open(db) as idx:
        done = 0
        k = 0
        while done < size:
            take = min(n, size - done)
            idx.add(variants.record(k, i) for i in range(take))
            done += take
            k += 1
        rep = idx.build()
        print(f"base build       {rep.summary()}")
        print("base stages      " + ", ".join(f"{s} {v:.1f}s" for s, v in rep.seconds.items()))
    return time.perf_counter() - t


def arrivals(variants: Variants, watched: list[dict[str, Any]], count: int, seed: int,
             fresh_variant: int) -> list[dict[str, Any]]:
    """10 % copies of watched articles (verbatim / spun / cut), 90 % unseen articles."""
    rng = random.Random(seed)
    out = []
    pool = list(range(len(variants.records)))
    rng.shuffle(pool)
    for n in range(count):
        if n % 10 == 5:
            w = rng.choice(watched)
            kind = ("reprint", "spin", "cut")[n // 10 % 3]
            if kind == "reprint":
                text = reprint(w["text"], rng, "Copy Desk", byline=True, footer=False).text
            elif kind == "spin":
                text = spin_derived(w["text"], 0.3, rng).text
            else:
                text = delete_sentences(w["text"], 2, rng).text
            at = None
            if w.get("published_at"):
                at = (datetime.fromisoformat(str(w["published_at"]).replace("Z", "+00:00"))
                      + timedelta(hours=2)).isoformat()
            out.append({"id": f"copy-{seed}-{n}", "publisher": "Copy Desk", "published_at": at,
                        "title": "copy", "text": text, "_copy": True})
        else:
            rec = variants.record(fresh_variant, pool[n % len(pool)])
            rec["id"] = f"new-{seed}-{n}"
            out.append(rec)
    return out


def drop(inbox: Path, n: int, rec: dict[str, Any]) -> None:
    path = inbox / f"{n:06d}.jsonl"
    part = path.with_name(path.name + ".part")
    write_jsonl(part, [{k: v for k, v in rec.items() if not k.startswith("_")}])
    os.replace(part, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--base-size", type=int, default=100_000)
    ap.add_argument("--base-db", type=Path, default=None, help="cache of the base index")
    ap.add_argument("--arrivals", type=int, default=500)
    ap.add_argument("--mode", choices=("fast", "full"), default="fast")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rate", type=float, default=50.0, help="files per second in the lag run")
    ap.add_argument("--settle", type=float, default=0.2)
    ap.add_argument("--interval", type=float, default=0.1)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"error: {args.data} not found (needs ../shared/data)", file=sys.stderr)
        return 1
    records = [r for r in load(args.data) if r.get("text")]
    variants = Variants(records)
    tmp = Path(tempfile.mkdtemp(prefix="nt-watch-"))
    base_db = args.base_db or Path(tempfile.gettempdir()) / f"nt-watch-base-{args.base_size}.duckdb"
    if not base_db.exists():
        sec = build_base(base_db, variants, args.base_size)
        print(f"base index       {args.base_size} articles built in {sec:.1f} s -> {base_db}")
    else:
        print(f"base index       reusing {base_db}")
    db = tmp / "watch.duckdb"
    shutil.copy(base_db, db)
    rng = random.Random(5)
    candidates = [i for i, r in enumerate(records) if 800 <= len(r["text"]) <= 4000]
    watched = [variants.record(0, i) for i in rng.sample(candidates, 100)]
    with Index.open(db) as idx:
        n_docs = idx.con.execute("SELECT count(*) FROM documents").fetchone()[0]
        add_watch(idx, [w["id"] for w in watched], backfill=False)
    print(f"index            {n_docs} documents, 100 watched, mode {args.mode}, batch {args.batch}")

    # -- warm-up: compile the aligner once (numba; a running watcher pays this once)
    warm = tmp / "warm"
    warm.mkdir()
    for n, rec in enumerate(arrivals(variants, watched, 12, seed=9, fresh_variant=49)):
        drop(warm, n, rec)
    t = time.perf_counter()
    run_watch(db, warm, once=True, settle=0, batch=args.batch, mode=args.mode)
    print(f"warm-up          {time.perf_counter() - t:.1f} s (first pass: numba compilation, caches)")

    # -- throughput: a backlog of files processed in one pass
    inbox = tmp / "inbox1"
    inbox.mkdir()
    stream = arrivals(variants, watched, args.arrivals, seed=1, fresh_variant=50)
    for n, rec in enumerate(stream):
        drop(inbox, n, rec)
    t = time.perf_counter()
    rep = run_watch(db, inbox, once=True, settle=0, batch=args.batch, mode=args.mode)
    sec = time.perf_counter() - t
    n_copies = sum(1 for r in stream if r.get("_copy"))
    print(f"throughput       {rep.documents} articles in {sec:.2f} s = {rep.documents / sec:.1f} articles/s "
          f"({rep.reuses} reuses of {n_copies} copies, {rep.alerts} alerts)")
    print("  stages         " + ", ".join(f"{s} {v:.2f}s" for s, v in rep.seconds.items()))

    # -- lag: files arrive at --rate per second while the watcher runs
    inbox2 = tmp / "inbox2"
    inbox2.mkdir()
    stream2 = arrivals(variants, watched, args.arrivals, seed=2, fresh_variant=51)
    arrived: dict[str, datetime] = {}
    stop = threading.Event()

    def writer() -> None:
        gap = 1.0 / args.rate
        t0 = time.perf_counter()
        for n, rec in enumerate(stream2):
            delay = t0 + n * gap - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            drop(inbox2, n, rec)
            arrived[rec["id"]] = datetime.now(UTC).replace(tzinfo=None)

    processed = [0]

    def count(rep: Any) -> None:
        processed[0] += rep.files

    def watcher() -> None:
        run_watch(db, inbox2, interval=args.interval, settle=args.settle, batch=args.batch,
                  mode=args.mode, stop=stop, on_cycle=count)

    w = threading.Thread(target=watcher)
    t = time.perf_counter()
    w.start()
    writer()
    copies = {r["id"] for r in stream2 if r.get("_copy")}
    deadline = time.perf_counter() + 900
    while processed[0] < len(stream2) and time.perf_counter() < deadline:
        time.sleep(0.2)
    stop.set()
    w.join()
    wall = time.perf_counter() - t
    with Index.open(db, read_only=True) as idx:
        rows = idx.con.execute(
            "SELECT copy_id, created_at FROM alerts WHERE copy_id IN (SELECT unnest(?))", [sorted(copies)]
        ).fetchall()
        done = idx.con.execute(
            "SELECT count(*) FROM watch_files WHERE status = 'done' AND path LIKE ?", [f"{inbox2}%"]
        ).fetchone()[0]
    lags = sorted((at - arrived[c]).total_seconds() for c, at in rows if c in arrived)
    print(f"lag run          {len(stream2)} files at {args.rate:g}/s, {done} processed in {wall:.1f} s; "
          f"{len(rows)} alerts for {len(copies)} copies")
    if lags:
        p90 = lags[min(len(lags) - 1, int(0.9 * len(lags)))]
        print(f"alert lag        median {statistics.median(lags):.2f} s, p90 {p90:.2f} s, max {lags[-1]:.2f} s "
              f"(settle {args.settle} s, interval {args.interval} s)")

    # -- where the time goes: one Index.build() for one new article
    one = variants.record(52, 7)
    with Index.open(db) as idx:
        idx.add([one])
        t = time.perf_counter()
        b = idx.build()
        print(f"one full build   {time.perf_counter() - t:.2f} s: "
              + ", ".join(f"{s} {v:.2f}s" for s, v in b.seconds.items()))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
