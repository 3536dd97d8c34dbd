"""Where does PAN recall go? Missed case characters by cause, per obfuscation type.

    python bench/diag_pan.py --limit 300 [name=value ...]

(a) case has no overlapping detection, (b) detected but chars missed at the
edges / inside (partial), (c) cases split over several detections.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from newstrace.evaluate import load_pan, run_pan, select_pairs, sensitive_params
from newstrace.params import DEFAULT_PARAMS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pan13-train"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--types", default="random,translation,summary")
    ap.add_argument("--sensitive", action="store_true", help="start from the --sensitive preset")
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    ov = {}
    for kv in a.overrides:
        k, v = kv.split("=")
        ov[k] = type(getattr(DEFAULT_PARAMS, k))(v)
    corpus = load_pan(DATA)
    base = sensitive_params() if a.sensitive else DEFAULT_PARAMS
    run = run_pan(corpus, params=base.with_overrides(**ov), workers=2,
                  limit=a.limit or None, types=a.types.split(","))
    dets = defaultdict(list)
    for d in run.detections:
        dets[(d.suspicious, d.source)].append(d)
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    types = set(a.types.split(","))
    for p in select_pairs(corpus.pairs, a.limit or None, types):
        ds = dets.get((p.suspicious, p.source)) or []
        for c in p.cases:
            st = stats[p.obfuscation]
            for side, off, ln, doff, dln in (("susp", c.susp_offset, c.susp_length, "susp_offset", "susp_length"),
                                             ("src", c.src_offset, c.src_length, "src_offset", "src_length")):
                cov = [0] * ln
                hits = 0
                for d in ds:
                    lo = max(off, getattr(d, doff))
                    hi = min(off + ln, getattr(d, doff) + getattr(d, dln))
                    if hi > lo:
                        hits += 1
                        for i in range(lo - off, hi - off):
                            cov[i] = 1
                got = sum(cov)
                st[f"{side} chars"] += ln
                if hits == 0:
                    st[f"{side} (a) undetected"] += ln
                else:
                    st[f"{side} (b) partial miss"] += ln - got
                if side == "susp":
                    st["cases"] += 1
                    st["cases undetected"] += hits == 0
                    st["cases split (c)"] += hits > 1
    for t, st in stats.items():
        print(t, f"cases {st['cases']:.0f} undetected {st['cases undetected']:.0f} split {st['cases split (c)']:.0f}")
        for side in ("susp", "src"):
            tot = st[f"{side} chars"]
            print(f"  {side}: (a) {st[f'{side} (a) undetected'] / tot:.3f}  (b) {st[f'{side} (b) partial miss'] / tot:.3f}")


if __name__ == "__main__":
    main()
