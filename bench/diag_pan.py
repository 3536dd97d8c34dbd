"""Where do PAN precision and recall go? Their losses split by cause, per obfuscation type.

    python bench/diag_pan.py [--limit N] [--types verbatim,random] [--sensitive]
                             [--show outside|missed --type random] [name=value ...]

Precision: detections overlapping no case (real reuse the ground truth does not
list, or false matches: read them with ``--show outside``), and characters
beyond the cases, in the suspicious and in the source. Recall: cases with no
detection (``--show missed``) and case characters left out of the detected
ones. The last column is plagdet without the detections outside every case, the
figure the engine would reach if it reported none of them.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from newstrace.evaluate import (
    Ann,
    _overlap,
    load_pan,
    losses_by_type,
    run_pan,
    select_pairs,
    sensitive_params,
)
from newstrace.params import DEFAULT_PARAMS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pan13-train"


def _clip(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + " …"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--limit", type=int, default=None, help="at most N pairs of each type")
    ap.add_argument("--types", default=None, help="comma-separated types (default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sensitive", action="store_true", help="start from the --sensitive preset")
    ap.add_argument("--show", choices=("outside", "missed"), help="print these, with their text")
    ap.add_argument("--type", default="verbatim", help="the type --show reads")
    ap.add_argument("overrides", nargs="*", help="Params fields as name=value")
    a = ap.parse_args()
    ov = {}
    for kv in a.overrides:
        k, v = kv.split("=")
        kind = type(getattr(DEFAULT_PARAMS, k))
        ov[k] = (v.lower() in ("1", "true", "yes")) if kind is bool else kind(v)
    corpus = load_pan(a.data)
    base = sensitive_params() if a.sensitive else DEFAULT_PARAMS
    types = a.types.split(",") if a.types else None
    run = run_pan(corpus, params=base.with_overrides(**ov), workers=a.workers,
                  limit=a.limit, types=types)
    chosen = select_pairs(corpus.pairs, a.limit, types)
    losses = losses_by_type(chosen, run.detections)
    scores = run.evaluation.by_type

    table = Table(title="PAN losses (parts add up to 1 - precision and 1 - recall)")
    for col in ("type", "P", "outside (dets)", "susp excess", "src excess", "R",
                "missed (cases)", "susp partial", "src partial", "plagdet", "without outside"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for t, loss in losses.items():
        if t == "none":
            continue
        s = scores[t]
        table.add_row(
            t, f"{s.precision:.4f}", f"{loss.outside:.4f} ({loss.outside_detections})",
            f"{loss.susp_excess:.4f}", f"{loss.src_excess:.4f}", f"{s.recall:.4f}",
            f"{loss.missed:.4f} ({loss.missed_cases})", f"{loss.susp_partial:.4f}",
            f"{loss.src_partial:.4f}", f"{s.plagdet:.4f}", f"{loss.listed_only.plagdet:.4f}",
        )
    Console(width=170).print(table)
    print(f"detections on negative pairs: {run.negative_detections}")

    if a.show:
        docs = corpus.documents
        kind = {(p.suspicious, p.source): p.obfuscation for p in chosen}
        cases = [c for p in chosen if p.obfuscation == a.type for c in p.cases]
        dets = [d for d in run.detections if kind.get(d.pair) == a.type]
        mine, others = (dets, cases) if a.show == "outside" else (cases, dets)
        by_pair: dict[tuple[str, str], list[Ann]] = defaultdict(list)
        for x in others:
            by_pair[x.pair].append(x)
        for x in sorted(mine):
            if any(_overlap(x, y) for y in by_pair.get(x.pair, ())):
                continue
            print(f"\n{x.suspicious} [{x.susp_offset}+{x.susp_length}]  "
                  f"{x.source} [{x.src_offset}+{x.src_length}]")
            print("  susp:", _clip(docs[x.suspicious][x.susp_offset:x.susp_offset + x.susp_length]))
            print("  src: ", _clip(docs[x.source][x.src_offset:x.src_offset + x.src_length]))


if __name__ == "__main__":
    main()
