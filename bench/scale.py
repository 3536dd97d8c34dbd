"""Scaling benchmark: DuckDB engine (and Spark local[2]) on 10k / 100k / 1M news-like articles.

Corpora are derived from ../shared/data/reuters21578.jsonl.gz, so reuse is dense and
realistic: originals (Reuters articles, and beyond 19k "mutated" originals: a Reuters
article with every third word replaced by a random corpus word, which breaks every
3-gram so it shares nothing with its base), plus verbatim reprints (with byline or
footer), spun copies (``newstrace.fixtures.spin``, rate 0.2-0.4, its SPIN_DICTIONARY),
composites of 2-3 sources and reprints of reprints. Half of each corpus is derived.

For each size it reports (DuckDB engine, one child process per build): ingest+index
wall time, peak RSS of the child (``resource.getrusage``), on-disk size, time growth
per doubling of the corpus; and trace latency p50/p99 over 200 queries (fresh spins
of indexed originals, not themselves indexed). With ``--spark`` also the Spark
engine's wall time (``newstrace spark-index``, local[2], JVM start included) on full
Reuters-21578 and on each corpus.

    .venv/bin/python bench/scale.py --sizes 10000,100000 --spark
    .venv/bin/python bench/scale.py --sizes 10000,100000,1000000      # 1M: hours on 2 cores
    .venv/bin/python bench/scale.py --sizes 1000000 --trace-only      # trace latency only
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REUTERS = ROOT.parent / "shared" / "data" / "reuters21578.jsonl.gz"
PY = sys.executable


def load_reuters() -> list[dict[str, Any]]:
    with gzip.open(REUTERS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _mutate(text: str, vocab: list[str], rng: random.Random) -> str:
    """Replace every third word by a random corpus word: no 3-gram survives."""
    import re

    words = list(re.finditer(r"[A-Za-z]+", text))
    out, pos = [], 0
    for i, m in enumerate(words):
        if i % 3 == 2:
            out.append(text[pos : m.start()])
            out.append(rng.choice(vocab))
            pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def generate(n: int, path: Path, seed: int = 7) -> int:
    """Write an n-article JSONL corpus (half originals, half derived); return n."""
    from newstrace.fixtures import composite, reprint, spin

    rng = random.Random(seed)
    base = load_reuters()
    n_orig = n // 2
    originals: list[dict[str, Any]] = []
    vocab = sorted({w for r in base[:2000] for w in r["text"].split() if w.isalpha()})
    for i in range(n_orig):
        src = base[i % len(base)]
        if i < len(base):
            rec = {"id": f"o{i}", "text": src["text"], "title": src.get("title"),
                   "published_at": src.get("date"), "publisher": "Reuters"}
        else:  # a new "original": unrelated to its base at the 3-gram level
            day = 1 + rng.randrange(28)
            rec = {"id": f"o{i}", "text": _mutate(src["text"], vocab, rng), "title": src.get("title"),
                   "published_at": f"1987-0{1 + rng.randrange(9)}-{day:02d}T12:00:00",
                   "publisher": f"Wire {i % 7}"}
        originals.append(rec)
    recs = list(originals)
    derived: list[dict[str, Any]] = []
    for j in range(n - n_orig):
        kind = rng.random()
        pub = f"Outlet {rng.randrange(500)}"
        if kind < 0.4:
            src = rng.choice(originals)
            text = reprint(src["text"], rng, publisher=pub).text
        elif kind < 0.7:
            src = rng.choice(originals)
            text, _ = spin(src["text"], rng.uniform(0.2, 0.4), rng)
        elif kind < 0.85 or not derived:
            srcs = rng.sample(originals, rng.randint(2, 3))
            src = srcs[0]
            text = composite([s["text"] for s in srcs], rng).text
        else:  # reprint of a reprint / of a spin
            src = rng.choice(derived)
            text = reprint(src["text"], rng, publisher=pub).text
        rec = {"id": f"d{j}", "text": text, "title": src.get("title"), "publisher": pub,
               "published_at": _later(src.get("published_at"), rng)}
        derived.append(rec)
    recs.extend(derived)
    rng.shuffle(recs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(recs)


def _later(date: str | None, rng: random.Random) -> str | None:
    from datetime import datetime, timedelta

    if not date:
        return None
    try:
        d = datetime.fromisoformat(date)
    except ValueError:
        return None
    return (d + timedelta(minutes=rng.randint(30, 3000))).isoformat()


def queries(n: int, seed: int = 99) -> list[str]:
    """Fresh spins (rate 0.3) of Reuters originals: traced, not indexed."""
    from newstrace.fixtures import spin

    rng = random.Random(seed)
    base = load_reuters()[:5000]
    return [spin(rng.choice(base)["text"], 0.3, rng)[0] for _ in range(n)]


def run_child(code: str, *args: str) -> tuple[float, float, str]:
    """Run python code in a child; return (wall s, peak RSS MiB of that child, stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen([PY, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"child failed: {err[-2000:]}")
    CPU_SECONDS[0] = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, out


#: CPU seconds (user + system) of the last child: on a shared machine, wall time
#: depends on what else runs; CPU time much less so.
CPU_SECONDS = [0.0]


BUILD = """
import json, os, resource, sys, time
from newstrace.index import Index
log = open(sys.argv[2] + ".progress.log", "a", buffering=1)
last = [0.0, None]
def progress(stage, done, total):  # a line per stage and at most one every 30 s
    now = time.perf_counter()
    if stage != last[1] or now - last[0] > 30 or done == total:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        log.write(f"{time.strftime('%H:%M:%S')} {stage} {done}/{total} load {os.getloadavg()[0]:.1f} peak RSS {peak} MiB\\n")
        last[0], last[1] = now, stage
t = time.perf_counter()
idx = Index.open(sys.argv[2])
idx.ingest([sys.argv[1]], progress=progress)
t1 = time.perf_counter()
r = idx.build(progress=progress)
print(json.dumps({"ingest": t1 - t, "stages": r.seconds, "stats": idx.stats()}))
"""

TRACE = """
import json, sys, time
from newstrace.index import Index
qs = json.load(open(sys.argv[2]))
idx = Index.open(sys.argv[1], read_only=True)
idx.trace(qs[0])  # warm-up (JIT, caches)
lat = []
for q in qs:
    t = time.perf_counter(); idx.trace(q); lat.append(time.perf_counter() - t)
print(json.dumps(lat))
"""

SPARK = """
import json, sys
from newstrace.spark.jobs import index_with_spark
r = index_with_spark(sys.argv[1], sys.argv[2], master=sys.argv[3], overwrite=True)
print(json.dumps({"seconds": r.seconds, "counts": r.counts}))
"""


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(math.ceil(q * len(s))) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated corpus sizes")
    ap.add_argument("--work", default="/tmp/newstrace-scale", help="scratch folder")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--spark", action="store_true", help="also time the Spark engine")
    ap.add_argument("--spark-sizes", default="10000,100000", help="corpus sizes for Spark")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--json", default=None, help="write the results here too")
    ap.add_argument("--trace-only", action="store_true",
                    help="only time trace queries against already built WORK/index-N.duckdb")
    args = ap.parse_args()
    if not REUTERS.exists():
        sys.exit(f"{REUTERS} not found")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    qpath = work / "queries.json"
    qpath.write_text(json.dumps(queries(args.queries)))
    results: list[dict[str, Any]] = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        if args.trace_only:
            db = work / f"index-{n}.duckdb"
            _, trace_rss, out = run_child(TRACE, str(db), str(qpath))
            lat = json.loads(out.strip().splitlines()[-1])
            row = {"engine": "duckdb", "docs": n, "queries": len(lat),
                   "trace_p50_ms": 1000 * pct(lat, 0.5), "trace_p90_ms": 1000 * pct(lat, 0.9),
                   "trace_p99_ms": 1000 * pct(lat, 0.99), "trace_max_ms": 1000 * max(lat),
                   "trace_rss_mib": trace_rss, "disk_mib": db.stat().st_size / 2**20,
                   "load_avg": os.getloadavg()}
            print(json.dumps(row), flush=True)
            results.append(row)
            continue
        corpus = work / f"corpus-{n}.jsonl"
        if not corpus.exists():
            t = time.perf_counter()
            generate(n, corpus)
            print(f"generated {n} articles in {time.perf_counter() - t:.0f}s", flush=True)
        db = work / f"index-{n}.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        wall, rss, out = run_child(BUILD, str(corpus), str(db))
        build_cpu = CPU_SECONDS[0]
        info = json.loads(out.strip().splitlines()[-1])
        _, trace_rss, out = run_child(TRACE, str(db), str(qpath))
        lat = json.loads(out.strip().splitlines()[-1])
        row = {"engine": "duckdb", "docs": n, "wall_s": wall, "cpu_s": build_cpu, "peak_rss_mib": rss,
               "disk_mib": db.stat().st_size / 2**20, "stages": info["stages"],
               "ingest_s": info["ingest"], "passages": info["stats"]["passages"],
               "pairs": info["stats"]["candidate_pairs"],
               "trace_p50_ms": 1000 * pct(lat, 0.5), "trace_p99_ms": 1000 * pct(lat, 0.99),
               "trace_rss_mib": trace_rss, "load_avg": os.getloadavg()}
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.spark:
        inputs = [("reuters-21578", REUTERS)] + [
            (str(n), work / f"corpus-{n}.jsonl") for n in map(int, args.spark_sizes.split(","))
            if (work / f"corpus-{n}.jsonl").exists()
        ]
        for name, path in inputs:
            wall, rss, out = run_child(SPARK, str(path), str(work / f"spark-{name}"), args.master)
            info = json.loads(out.strip().splitlines()[-1])
            row = {"engine": f"spark {args.master}", "docs": info["counts"]["documents"],
                   "corpus": name, "wall_s": wall, "pipeline_s": info["seconds"]["total"],
                   "stages": info["seconds"], "passages": info["counts"]["passages"],
                   "pairs": info["counts"]["pairs"], "driver_rss_mib": rss}
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.trace_only:
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
        return
    print()
    print(f"{'engine':<16}{'docs':>9}{'wall s':>9}{'peak RSS MiB':>14}{'disk MiB':>10}"
          f"{'pairs':>10}{'passages':>10}{'trace p50 ms':>14}{'p99 ms':>9}")
    for r in results:
        print(f"{r['engine']:<16}{r['docs']:>9}{r['wall_s']:>9.1f}"
              f"{r.get('peak_rss_mib', r.get('driver_rss_mib', 0)):>14.0f}"
              f"{r.get('disk_mib', 0):>10.1f}{r['pairs']:>10}{r['passages']:>10}"
              f"{r.get('trace_p50_ms', 0):>14.1f}{r.get('trace_p99_ms', 0):>9.1f}")
    duck = [r for r in results if r["engine"] == "duckdb"]
    for x, y in zip(duck, duck[1:], strict=False):
        doublings = math.log2(y["docs"] / x["docs"])
        per = (y["wall_s"] / x["wall_s"]) ** (1 / doublings)
        per_cpu = (y["cpu_s"] / x["cpu_s"]) ** (1 / doublings)
        print(f"duckdb {x['docs']} -> {y['docs']}: time x{y['wall_s'] / x['wall_s']:.2f}, "
              f"x{per:.2f} per doubling (target <= 2.2); CPU time x{per_cpu:.2f} per doubling")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
