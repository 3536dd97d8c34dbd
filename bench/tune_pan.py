"""Quick PAN tuning loop: a stratified sample, parameter overrides from the command line.

    python bench/tune_pan.py --limit 150 min_density=0.4 max_gap_tokens=20
    python bench/tune_pan.py --limit 0 --basil --sensitive   # full run, recall preset
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from newstrace.evaluate import load_pan, run_pan, sensitive_params
from newstrace.params import DEFAULT_PARAMS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pan13-train"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--types", default=None)
    ap.add_argument("--basil", action="store_true", help="also run the BASIL same-event check")
    ap.add_argument("--sensitive", action="store_true", help="start from the --sensitive preset")
    ap.add_argument("--join", default=None,
                    help="A,B: char gaps for joining detections (default: evaluate.PAN_JOIN_*; -1,-1 off)")
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    ov = {}
    for kv in a.overrides:
        k, v = kv.split("=")
        cur = getattr(DEFAULT_PARAMS, k)
        ov[k] = type(cur)(v) if not isinstance(cur, bool) else v in ("1", "true")
    base = sensitive_params() if a.sensitive else DEFAULT_PARAMS
    params = base.with_overrides(**ov)
    corpus = load_pan(DATA)
    t0 = time.perf_counter()
    extra = {"join": tuple(int(x) for x in a.join.split(","))} if a.join else {}
    run = run_pan(corpus, params=params, workers=a.workers, limit=a.limit or None,
                  types=a.types.split(",") if a.types else None, **extra)
    ev = run.evaluation
    print("sensitive" if a.sensitive else "", " ".join(a.overrides) or "defaults",
          f"({time.perf_counter() - t0:.0f}s)")
    for name, s in [*ev.by_type.items(), ("overall", ev.overall)]:
        print(f"  {name:12s} P {s.precision:.3f} R {s.recall:.3f} G {s.granularity:.3f} "
              f"plagdet {s.plagdet:.3f}  dets {s.detections}/{s.cases}")
    print(f"  negatives: {run.negative_detections} dets on {run.negative_pairs} pairs; "
          f"align CPU s/pair {run.align_cpu_s_per_pair:.4f}")
    if a.basil:
        from newstrace.evaluate import run_basil

        b = run_basil(DATA.parent / "basil.jsonl.gz", params=params)
        print(f"  BASIL pairs with a passage {b.pairs_with_passages}/{b.pairs}; passages "
              f"{len(b.passages)} ({b.quoted_passages} quoted); pairs with unquoted "
              f"{b.pairs_with_unquoted}; called derived {b.pairs_called_derived}")


if __name__ == "__main__":
    main()
