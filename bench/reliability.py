"""Reliability figures: fuzz cases run, SIGKILL points survived, load p50/p99.

Runs ``tests/test_reliability.py`` (hypothesis fuzzing of ingest and trace),
``tests/test_crash_resume.py`` (SIGKILL during ``newstrace index``, resume, compare
with an uninterrupted run) and ``bench/load.py`` (200 concurrent traces against
``newstrace serve``), then prints one line per figure.

Usage: python bench/reliability.py [--kill-points 10] [--concurrency 200] [--skip-load]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(test: str, env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, env={**os.environ, **env}, timeout=1800, check=False,
    ).returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kill-points", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--skip-load", action="store_true")
    args = ap.parse_args()
    lines = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        fuzz, kills, load = tmp / "fuzz.json", tmp / "kills.json", tmp / "load.json"
        rc = _pytest("tests/test_reliability.py", {"NEWSTRACE_FUZZ_COUNT_FILE": str(fuzz)})
        counts = json.loads(fuzz.read_text()) if fuzz.exists() else {}
        lines.append(f"fuzz cases run: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in counts.items())})"
                     f" -> {'0 crashes, 0 good records lost' if rc == 0 else 'FAILURES, see above'}")
        failed |= rc != 0
        rc = _pytest("tests/test_crash_resume.py", {"NEWSTRACE_KILL_COUNT_FILE": str(kills),
                                                    "NEWSTRACE_KILL_POINTS": str(args.kill_points)})
        k = json.loads(kills.read_text()) if kills.exists() else {}
        stages = sorted({s.split(" ")[0] for _, s in k.get("kills", [])})
        lines.append(f"kill points survived: {k.get('kill_points', 0)} SIGKILLs in {k.get('runs', 0)} runs "
                     f"({k.get('chains', 0)} chains; stages {', '.join(stages)}) -> "
                     f"{'final database identical to an uninterrupted run' if rc == 0 else 'FAILED'}")
        failed |= rc != 0
        if not args.skip_load:
            rc = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--concurrency",
                                 str(args.concurrency), "--json", str(load)], cwd=ROOT, timeout=900, check=False).returncode
            if load.exists():
                b = json.loads(load.read_text())["trace_burst"]
                lines.append(f"load: {b['requests']} concurrent traces, {b['errors']} errors, p50 {b['p50_ms']} ms,"
                             f" p99 {b['p99_ms']} ms, {b['throughput_rps']} req/s")
            else:
                lines.append("load: no result (see output above)")
            failed |= rc != 0
    print("\n" + "\n".join(lines))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
