"""Evasion and repetition: disguised copies must be traced, flagged, with exact offsets.

1. Evasion: N Reuters-21578 articles are indexed; each is copied with ``rate`` of its
   words carrying look-alike letters and/or zero-width characters inside them
   (``newstrace.evasion.disguise``) and traced against the index. Recall = characters
   of the copy (first to last word) covered by a passage whose source is the
   original; offsets are exact when every such passage's two spans are the same
   text (the copy's span maps back onto the original's through ``disguise``'s offset
   map); flagged = the trace's ``evasion.flagged``. The originals are traced too:
   they must not be flagged.
2. Repetition: a text A repeated within a page, and one word repeated 200,000
   times: passages, seconds and peak RSS growth of each alignment.

Usage: python bench/evasion.py [--data PATH] [--n 300] [--rate 0.8] [--repeat-words 200000]
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

from newstrace.align import align_texts
from newstrace.evasion import disguise, evasion_marks
from newstrace.index import Index
from newstrace.tokens import tokenize_text

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578.jsonl.gz"


def _articles(path: Path, n: int) -> list[dict]:
    out, seen = [], set()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            text = rec.get("text") or ""
            if len(text) < 800 or text in seen:
                continue
            seen.add(text)
            out.append({"id": rec["id"], "text": text, "published_at": rec.get("date")})
            if len(out) == n:
                break
    return out


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evasion(data: Path, n: int, rate: float) -> dict:
    docs = _articles(data, n)
    by_id = {d["id"]: d["text"] for d in docs}
    tmp = tempfile.TemporaryDirectory()
    covered = total = exact = passages = flagged = found = false_flags = 0
    t_trace = 0.0
    with Index.open(Path(tmp.name) / "ev.duckdb") as idx:
        idx.add(docs)
        idx.build()
        for k, d in enumerate(docs):
            copy, origin = disguise(d["text"], rate=rate, seed=k)
            t0 = time.perf_counter()
            res = idx.trace(copy, query_id="copy")
            t_trace += time.perf_counter() - t0
            flagged += bool(res["evasion"]["flagged"])
            false_flags += bool(evasion_marks(d["text"])["flagged"])
            tok = tokenize_text(copy)
            lo, hi = int(tok.starts[0]), int(tok.ends[-1])
            total += hi - lo
            mask = bytearray(hi - lo)
            right = [p for p in res["passages"] if p["b_id"] == d["id"]]
            found += bool(right)
            for p in right:
                passages += 1
                a0, a1 = max(p["a_start"], lo), min(p["a_end"], hi)
                mask[a0 - lo : a1 - lo] = b"\x01" * max(0, a1 - a0)
                src = by_id[d["id"]]
                mapped = "".join(src[o] for o in origin[p["a_start"] : p["a_end"]] if o >= 0)
                exact += (origin[p["a_start"]] == p["b_start"]
                          and origin[p["a_end"] - 1] == p["b_end"] - 1
                          and mapped == src[p["b_start"] : p["b_end"]])
            covered += sum(mask)
    return {"articles": len(docs), "rate": rate, "recall": covered / total,
            "found": found / len(docs), "passages": passages,
            "exact_offsets": exact / max(passages, 1), "flagged": flagged / len(docs),
            "originals_flagged": false_flags, "trace_ms": 1000 * t_trace / len(docs)}


def repetition(data: Path, words: int) -> list[dict]:
    text = _articles(data, 1)[0]["text"]
    rep9 = "\n\n".join([text] * 9)
    rep10 = "\n\n".join([text] * 10)
    police = " ".join(["police"] * words)
    cases = [("A vs A x9 (source repeats A)", text, rep9, 1),
             ("A x9 vs A (query repeats A)", rep9, text, 9),
             ("A x10 vs the same A x10", rep10, rep10, None),
             (f"'police' x{words:,} vs the same", police, police, None)]
    rows = []
    for name, a, b, want in cases:
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        ps = align_texts(a, b)
        sec = time.perf_counter() - t0
        covered = sum(p.a_end - p.a_start for p in ps) / len(a)
        rows.append({"case": name, "passages": len(ps), "expected": want,
                     "a_covered": covered, "seconds": sec, "rss_growth_mib": _rss_mib() - rss0})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rate", type=float, default=0.8)
    ap.add_argument("--repeat-words", type=int, default=200_000)
    args = ap.parse_args()
    if not args.data.exists():
        print(f"error: {args.data} not found (needs ../shared/data)", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    align_texts("warm up the compiled aligner " * 5, "warm up the compiled aligner " * 5)
    ev = evasion(args.data, args.n, args.rate)
    print(f"evasion: {ev['articles']} Reuters articles, {ev['rate']:.0%} of words disguised")
    print(f"  recall (copy chars covered by the right source)  {ev['recall']:.4f}")
    print(f"  copies whose original is found                  {ev['found']:.4f}")
    print(f"  passages with exact offsets                     {ev['exact_offsets']:.4f} "
          f"of {ev['passages']}")
    print(f"  copies flagged (evasion.flagged)                {ev['flagged']:.4f}")
    print(f"  originals flagged                               {ev['originals_flagged']}")
    print(f"  trace, mean                                     {ev['trace_ms']:.1f} ms")
    print("repetition:")
    print(f"  {'case':40} {'passages':>8} {'expected':>8} {'A covered':>9} {'seconds':>8} "
          f"{'RSS +MiB':>8}")
    for r in repetition(args.data, args.repeat_words):
        want = "-" if r["expected"] is None else str(r["expected"])
        print(f"  {r['case']:40} {r['passages']:>8} {want:>8} {r['a_covered']:>9.3f} "
              f"{r['seconds']:>8.2f} {r['rss_growth_mib']:>8.0f}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
