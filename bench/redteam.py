"""Red team: the slow attacks of issue 18 against a real ``newstrace`` (loopback only).

Starts ``newstrace serve`` on 127.0.0.1 over a small index built from the test
corpora, runs each attack with bounded counts, stops the server, and prints one
markdown table row per attack (for docs/RESULTS.md):

* slow clients: N connections that announce a body and send a few bytes, then stall
  (the server must answer 408 after --body-timeout and keep serving others);
* aborted uploads: N clients that start a multipart upload and hang up (one log line each);
* concurrent large traces: K traces of M MB at once (bounded by --max-concurrent);
* deep JSON, foreign Host header, text/plain and cross-site posts;
* Ctrl-C during ``newstrace align``; a truncated and a bit-flipped database;
* disk full: ``ingest`` and ``index`` on a small tmpfs (only when run as root; skipped otherwise).

Usage: python bench/redteam.py [--slow 50] [--aborts 200] [--traces 10] [--trace-mb 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "tests" / "data" / "corpora"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def cli(*args: str, timeout: float = 900, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newstrace", *args], env=ENV, capture_output=True,
                          text=True, timeout=timeout, check=False, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: Path, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newstrace", "serve", "--db", str(db), "--port", str(self.port), *extra],
            env=ENV, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-500:]}")
            try:
                if httpx.get(self.url + "/api/stats", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def log_stats(log: Path) -> tuple[int, int]:
    text = log.read_text(errors="replace")
    return len(text.splitlines()), text.count("Traceback")


def build_db(tmp: Path) -> Path:
    db = tmp / "red.duckdb"
    files = [str(CORPORA / c / "articles.jsonl") for c in ("wire_reprint", "synonym_swap", "composite3", "reordered")]
    assert cli("ingest", *files, "--db", str(db), "-q").returncode == 0
    assert cli("index", "--db", str(db), "-q").returncode == 0
    return db


def corpus_words() -> list[str]:
    words: list[str] = []
    for c in ("wire_reprint", "synonym_swap", "composite3"):
        for line in (CORPORA / c / "articles.jsonl").read_text(encoding="utf-8").splitlines():
            words += json.loads(line)["text"].split()
    return words


# -- attacks -------------------------------------------------------------------------------------
def slow_clients(server: Server, n: int, body_timeout: float) -> str:
    """n sockets announce 100 kB, send 10 bytes, stall; count 408s and time a normal request."""
    def one() -> str:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=body_timeout + 30)
        s.sendall(b"POST /api/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n{\"text\": \"")
        try:
            data = s.recv(4096)
        except OSError as ex:
            return type(ex).__name__
        finally:
            s.close()
        return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"

    t0 = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(one) for _ in range(n)]
        time.sleep(0.5)
        t1 = time.perf_counter()
        ok = httpx.get(server.url + "/api/stats", timeout=10).status_code
        stats_ms = (time.perf_counter() - t1) * 1000
        results = [f.result() for f in futures]
    wall = time.monotonic() - t0
    counts = {k: results.count(k) for k in sorted(set(results))}
    return (f"{n} clients stall mid-body: {counts} after {wall:.1f} s (timeout {body_timeout:g} s); "
            f"/api/stats meanwhile {ok} in {stats_ms:.0f} ms")


def aborted_uploads(server: Server, n: int) -> str:
    before, _ = log_stats(server.log)

    def one(i: int) -> None:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"POST /api/trace HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 50000\r\n\r\n"
                  b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
                  + b"word " * 200)
        time.sleep(0.05)
        s.close()

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(one, range(n)))
    time.sleep(1.0)
    after, tracebacks = log_stats(server.log)
    ok = httpx.get(server.url + "/api/stats", timeout=10).status_code
    return (f"{n} uploads cut off: {after - before} log lines ({(after - before) / n:.2f} per client), "
            f"{tracebacks} tracebacks; server still answers {ok}")


def large_traces(db: Path, tmp: Path, k: int, mb: float, words: list[str], max_concurrent: int) -> str:
    rng = random.Random(3)
    target = int(mb * 1024 * 1024)
    texts = []
    for _ in range(k):
        parts: list[str] = []
        size = 0
        while size < target:
            w = rng.choice(words)
            parts.append(w)
            size += len(w) + 1
        texts.append(" ".join(parts)[:target])
    server = Server(db, tmp / f"traces-{max_concurrent}.log", "--max-upload-mb", str(mb + 1),
                    "--max-concurrent", str(max_concurrent), "--queue-wait", "600")
    try:
        t0 = time.monotonic()

        def one(text: str) -> int:
            try:
                return httpx.post(server.url + "/api/trace", json={"text": text}, timeout=600).status_code
            except httpx.HTTPError as ex:
                return -1 if "Timeout" in type(ex).__name__ else -2

        with ThreadPoolExecutor(k) as pool:
            statuses = list(pool.map(one, texts))
        wall = time.monotonic() - t0
        rss = server.peak_rss_mib()
    finally:
        server.stop()
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    return (f"{k} traces of {mb:g} MB at once, --max-concurrent {max_concurrent}: {counts} in {wall:.1f} s, "
            f"server peak RSS {rss:.0f} MiB")


def small_attacks(server: Server) -> str:
    out = []
    r = httpx.post(server.url + "/api/trace", content=b"[" * 2000, headers={"content-type": "application/json"})
    out.append(f"deep JSON {r.status_code} {r.headers.get('content-type', '').split(';')[0]}")
    r = httpx.get(server.url + "/api/stats", headers={"host": "rebind.attacker.test"})
    out.append(f"foreign Host {r.status_code}")
    r = httpx.post(server.url + "/api/trace", content=b"text=hello", headers={"content-type": "text/plain"})
    out.append(f"text/plain {r.status_code}")
    r = httpx.post(server.url + "/api/trace", data={"text": "hello"})
    out.append(f"form post {r.status_code}")
    r = httpx.post(server.url + "/trace", data={"text": "hello world"}, headers={"origin": "http://evil.test"})
    out.append(f"cross-site form {r.status_code}")
    docs = httpx.get(server.url + "/docs")
    cdn = "cdn" in docs.text or "http" in docs.headers.get("content-security-policy", "")
    out.append(f"/docs {docs.status_code}, CDN {'referenced' if cdn else 'none'}")
    _, tracebacks = log_stats(server.log)
    return ", ".join(out) + f"; {tracebacks} tracebacks in the log"


def ctrl_c_align(tmp: Path, words: list[str]) -> str:
    rng = random.Random(7)
    for name in ("a.txt", "b.txt"):
        (tmp / name).write_text(" ".join(rng.choice(words) for _ in range(400_000)), encoding="utf-8")
    results = []
    for delay in (4.0, 6.0, 8.0):
        proc = subprocess.Popen([sys.executable, "-m", "newstrace", "align", "a.txt", "b.txt"], cwd=tmp, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        results.append((proc.returncode, len(err.strip().splitlines()), "Traceback" in err))
    return "SIGINT after 4/6/8 s: " + "; ".join(f"exit {rc}, {n} line(s){', TRACEBACK' if tb else ''}"
                                                for rc, n, tb in results)


def damaged(db: Path, tmp: Path) -> str:
    data = bytearray(db.read_bytes())
    (tmp / "trunc.duckdb").write_bytes(bytes(data[: len(data) // 2]))
    for i in range(16384, len(data), 4096):
        data[i] ^= 0xFF
    (tmp / "flip.duckdb").write_bytes(bytes(data))
    out = []
    for name in ("trunc", "flip"):
        codes = []
        for cmd in (["stats"], ["clusters"], ["show", "orig-11"]):
            r = cli(*cmd, "--db", str(tmp / f"{name}.duckdb"))
            codes.append(f"{r.returncode}/{len(r.stderr.strip().splitlines())}")
        out.append(f"{name}: exit/lines {' '.join(codes)}")
    return "stats, clusters, show on " + "; ".join(out)


def disk_full(tmp: Path) -> str:
    if os.geteuid() != 0:
        return "skipped (needs root to mount a tmpfs)"
    mnt = tmp / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=False).returncode:
        return "skipped (mount failed)"
    try:
        src = "/work/shared/data/reuters21578.jsonl.gz"
        if not Path(src).exists():
            src = str(ROOT.parent / "shared" / "data" / "reuters21578.jsonl.gz")
        db = mnt / "full.duckdb"
        r1 = cli("ingest", src, "--db", str(db), "-q")
        first = r1.stderr.strip().splitlines()
        kept = db.exists()
        readable = cli("stats", "--db", str(db), "--json") if kept else None
        docs = json.loads(readable.stdout)["documents"] if readable and readable.returncode == 0 else None
        big = tmp / "roomy"
        big.mkdir()
        for f in mnt.iterdir():
            shutil.copy(f, big / f.name)
        r2 = cli("ingest", src, "--db", str(big / "full.duckdb"), "-q")
        r3 = cli("index", "--db", str(big / "full.duckdb"), "-q") if r2.returncode == 0 else None
        # index itself running out of space: a fresh small corpus on the full tmpfs
        for f in mnt.iterdir():
            f.unlink()
        db2 = mnt / "idx.duckdb"
        r4 = cli("ingest", src, "--db", str(db2), "-q")
        r5 = cli("index", "--db", str(db2), "-q") if db2.exists() else None
        return (f"ingest Reuters on 4 MB: exit {r1.returncode}, {len(first)} line(s) "
                f"({first[0][:70] + '…' if first else ''}); db kept with {docs} docs readable; "
                f"rerun on a roomy disk: ingest exit {r2.returncode}, index exit "
                f"{r3.returncode if r3 else '-'}; index on the full disk: ingest exit {r4.returncode}, "
                f"index exit {r5.returncode if r5 else '-'} "
                f"({len(r5.stderr.strip().splitlines()) if r5 else 0} line(s), "
                f"{'Traceback' in (r5.stderr if r5 else '')} traceback)")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slow", type=int, default=50, help="slow clients")
    ap.add_argument("--aborts", type=int, default=200, help="aborted uploads")
    ap.add_argument("--traces", type=int, default=10, help="concurrent large traces")
    ap.add_argument("--trace-mb", type=float, default=2.0, help="size of each large trace")
    ap.add_argument("--body-timeout", type=float, default=3.0)
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    words = corpus_words()
    with tempfile.TemporaryDirectory(prefix="redteam-") as tmp_s:
        tmp = Path(tmp_s)
        db = build_db(tmp)
        server = Server(db, tmp / "server.log", "--body-timeout", str(args.body_timeout))
        try:
            rows.append(("slow clients (6)", slow_clients(server, args.slow, args.body_timeout)))
            rows.append(("aborted uploads (6)", aborted_uploads(server, args.aborts)))
            rows.append(("hostile requests (5, 7, 9)", small_attacks(server)))
        finally:
            server.stop()
        for limit in (4, args.traces):
            rows.append((f"large traces (8), limit {limit}",
                         large_traces(db, tmp, args.traces, args.trace_mb, words, limit)))
        rows.append(("Ctrl-C in align (12)", ctrl_c_align(tmp, words)))
        rows.append(("damaged database (4)", damaged(db, tmp)))
        rows.append(("disk full (3)", disk_full(tmp)))
    print("| attack (issue row) | result |")
    print("|---|---|")
    for name, result in rows:
        print(f"| {name} | {result} |")


if __name__ == "__main__":
    main()
