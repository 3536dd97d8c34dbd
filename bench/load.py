"""Bounded load test of ``newstrace serve`` (loopback only; stops by itself).

1. builds the demo index in a temporary folder and starts
   ``newstrace serve --db DB --port N`` on 127.0.0.1;
2. fires CONCURRENCY (default 200) simultaneous ``POST /api/trace`` requests (demo
   articles, some spun or cut) and reports errors, p50/p99 latency and throughput;
3. runs an index update from other processes while readers keep querying:
   a) ``newstrace ingest`` *in place* on the served file: DuckDB allows one writer
      process and no other process may hold the file then, so this must fail cleanly
      (exit 1, one line) while the server keeps answering;
   b) the supported way: ``ingest`` + ``index`` on a *copy* of the database in another
      process while the server keeps serving the old file; then the server is restarted
      on the new file (swap) and answers again;
   and reports how many reads succeeded during each.

Usage: python bench/load.py [--concurrency 200] [--json out.json] [--timeout 300] [--demo-db FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _build_demo(folder: Path) -> tuple[Path, list[str]]:
    from newstrace.fixtures import demo_corpus
    from newstrace.index import Index

    records = [{k: v for k, v in r.items() if k != "truth"} for r in demo_corpus()]
    db = folder / "demo.duckdb"
    with Index.open(db) as idx:
        idx.add(records)
        idx.build()
    return db, [r["text"] for r in records]


class Server:
    def __init__(self, db: Path, log: Path) -> None:
        self.db, self.port, self.log = db, _free_port(), log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, wait_s: float = 240) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newstrace", "serve", "--db", str(self.db), "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"),
        )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-500:]}")
            try:
                if httpx.get(self.url + "/api/stats", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _queries(texts: list[str], n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        t = rng.choice(texts)
        kind = rng.random()
        if kind < 0.3:
            a = rng.randint(0, max(0, len(t) // 2))
            t = t[a : a + rng.randint(300, 1500)]
        elif kind < 0.5:
            words = t.split(" ")
            t = " ".join(w.upper() if rng.random() < 0.2 else w for w in words)
        out.append(t or "empty")
    return out


async def _trace_burst(url: str, queries: list[str], timeout: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=len(queries), max_keepalive_connections=len(queries))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        gate = asyncio.Event()

        async def one(text: str) -> tuple[float, int | str]:
            await gate.wait()
            t0 = time.perf_counter()
            try:
                resp = await client.post("/api/trace", json={"text": text})
                ok: int | str = resp.status_code
                if resp.status_code == 200:
                    body = resp.json()
                    if "sources" not in body:
                        ok = "bad body"
            except httpx.HTTPError as ex:
                ok = type(ex).__name__
            return time.perf_counter() - t0, ok

        tasks = [asyncio.create_task(one(q)) for q in queries]
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        gate.set()
        results = await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
    lat = sorted(r[0] for r in results)
    errors = [r[1] for r in results if r[1] != 200]
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
    return {
        "requests": len(results), "errors": len(errors), "error_kinds": sorted({str(e) for e in errors}),
        "p50_ms": round(q[49] * 1000, 1), "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(lat[-1] * 1000, 1), "wall_s": round(wall, 2),
        "throughput_rps": round(len(results) / wall, 1),
    }


def _reads_while(proc: subprocess.Popen[bytes], url: str, texts: list[str], limit_s: float) -> dict[str, Any]:
    ok = err = 0
    t_end = time.monotonic() + limit_s
    with httpx.Client(base_url=url, timeout=30) as client:
        i = 0
        while proc.poll() is None and time.monotonic() < t_end:
            try:
                if i % 2:
                    r = client.post("/api/trace", json={"text": texts[i % len(texts)][:1500]})
                else:
                    r = client.get("/api/stats")
                ok += r.status_code == 200
                err += r.status_code != 200
            except httpx.HTTPError:
                err += 1
            i += 1
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return {"reads_ok": ok, "reads_failed": err}


def run(concurrency: int, timeout: float, reuse: Path | None = None) -> dict[str, Any]:
    started = time.monotonic()
    out: dict[str, Any] = {"concurrency": concurrency}
    with tempfile.TemporaryDirectory(prefix="newstrace-load-") as tmp_s:
        tmp = Path(tmp_s)
        t0 = time.perf_counter()
        if reuse is not None:  # an already built demo index (copied: the run writes to it)
            from newstrace.fixtures import demo_corpus

            db, texts = tmp / "demo.duckdb", [r["text"] for r in demo_corpus()]
            shutil.copyfile(reuse, db)
        else:
            db, texts = _build_demo(tmp)
        out["demo_build_s"] = round(time.perf_counter() - t0, 2)
        server = Server(db, tmp / "server.log")
        server.start()
        try:
            # warm up (first trace compiles / loads caches)
            httpx.post(server.url + "/api/trace", json={"text": texts[0]}, timeout=120)
            out["trace_burst"] = asyncio.run(_trace_burst(server.url, _queries(texts, concurrency), timeout))

            extra = tmp / "new.jsonl"
            extra.write_text("".join(
                json.dumps({"id": f"update-{i}", "text": t[::-1][:2000] + " " + t[:1500],
                            "published_at": "2026-06-01T00:00:00Z"}) + "\n"
                for i, t in enumerate(texts[:30])))
            # a) in place: refused by DuckDB's file lock, server unaffected
            proc = subprocess.Popen([sys.executable, "-m", "newstrace", "ingest", str(extra), "--db", str(db)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            reads = _reads_while(proc, server.url, texts, 120)
            stderr = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").strip()
            out["update_in_place"] = {"exit_code": proc.returncode, "message": stderr.splitlines()[:2], **reads}
            # b) on a copy, in another process, while the server keeps reading the old file
            new_db = tmp / "demo-next.duckdb"
            shutil.copyfile(db, new_db)
            cmd = (f"{sys.executable} -m newstrace ingest {extra} --db {new_db} -q && "
                   f"{sys.executable} -m newstrace index --db {new_db} -q")
            proc = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            t0 = time.perf_counter()
            reads = _reads_while(proc, server.url, texts, max(30.0, timeout - (time.monotonic() - started)))
            out["update_on_copy"] = {"exit_code": proc.returncode, "seconds": round(time.perf_counter() - t0, 2),
                                     **reads}
            # swap: restart the server on the updated file
            server.stop()
            t0 = time.perf_counter()
            server = Server(new_db, tmp / "server2.log")
            server.start()
            stats = httpx.get(server.url + "/api/stats", timeout=10).json()
            out["swap"] = {"restart_s": round(time.perf_counter() - t0, 2), "documents": stats.get("documents")}
        finally:
            server.stop()
    out["total_s"] = round(time.monotonic() - started, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=300, help="overall bound, seconds")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--demo-db", type=Path, help="use a copy of this demo index instead of building one")
    args = ap.parse_args()
    os.environ.setdefault("NO_COLOR", "1")
    # hard stop: the whole run is bounded
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("load test over time")))
    signal.alarm(int(args.timeout) + 60)
    result = run(args.concurrency, args.timeout, args.demo_db)
    signal.alarm(0)
    b = result["trace_burst"]
    print(f"{b['requests']} concurrent POST /api/trace: {b['errors']} errors, p50 {b['p50_ms']} ms, "
          f"p99 {b['p99_ms']} ms, {b['throughput_rps']} req/s")
    u, c = result["update_in_place"], result["update_on_copy"]
    print(f"ingest in place while serving: exit {u['exit_code']} ({' '.join(u['message'])[:160]}); "
          f"reads meanwhile {u['reads_ok']} ok / {u['reads_failed']} failed")
    print(f"ingest+index on a copy ({c['seconds']} s, exit {c['exit_code']}): reads meanwhile "
          f"{c['reads_ok']} ok / {c['reads_failed']} failed; swap restart {result['swap']['restart_s']} s, "
          f"{result['swap']['documents']} documents")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    ok = b["errors"] == 0 and u["reads_failed"] == 0 and c["reads_failed"] == 0 and c["exit_code"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
