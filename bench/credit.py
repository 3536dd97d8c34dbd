"""Credit extraction and the credit verdict, measured.

Usage: python bench/credit.py [--data ../shared/data] [--sample tests/data/credits_sample.jsonl]
                              [--no-timing] [--show-errors]

1. Extraction precision and recall of :func:`newstrace.credits.extract_credits` on the hand-labelled
   sample (tests/data/credits_sample.jsonl: 241 credit mentions in 112 Helsinki and Reuters-21578
   documents; split ``dev`` was labelled first and used while building the extractor, ``heldout`` was
   labelled afterwards and never used to tune it -- its row is the honest estimate). A predicted credit is correct when its span overlaps a labelled one and both name the
   same organisation or person (names compared through :func:`canonical_publisher`, case-folded);
   each label matches at most one prediction. Form agreement is reported for the matched pairs.
2. Synthetic verdict checks built from the project's demo originals
   (src/newstrace/data/demo_originals.jsonl): for every original, copies with and without a credit
   line, credited to the wrong agency, credited through the source's own agency (a syndicating site
   whose text carries the original's dateline), with a watch alias, and from the same publisher.
   Every verdict must be right.
3. Timing: ``extract_credits`` over every Reuters-21578 text (19,043 documents), best of three runs.

Exit status 1 when the sample or data is missing or a verdict check fails.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from newstrace.credits import canonical_publisher, credit_verdict, extract_credits

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
CORPORA = {"helsinki": "helsinki.jsonl.gz", "reuters": "reuters21578.jsonl.gz"}


def _safe(s: str) -> str:
    """Text from data, escaped for the terminal."""
    return json.dumps(s, ensure_ascii=False)


def _key(name: str) -> str:
    return canonical_publisher(name).casefold()


def load_sample(sample: Path, data: Path) -> list[tuple[str, str, list[dict], str]]:
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    wanted: dict[str, set[str]] = {}
    for r in rows:
        corpus, _, doc_id = r["doc"].partition(":")
        wanted.setdefault(corpus, set()).add(doc_id)
    texts: dict[str, str] = {}
    for corpus, ids in wanted.items():
        with gzip.open(data / CORPORA[corpus], "rt", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if str(d["id"]) in ids:
                    texts[f"{corpus}:{d['id']}"] = d["text"]
    out = []
    for r in rows:
        text = texts.get(r["doc"])
        if text is None or hashlib.sha1(text.encode()).hexdigest() != r["sha1"]:
            raise SystemExit(f"error: {r['doc']} is missing or changed in {data}")
        out.append((r["doc"], text, r["credits"], r.get("split", "dev")))
    return out


def score(sample: list[tuple[str, str, list[dict], str]], show_errors: bool) -> dict[str, float]:
    tp = fp = fn = 0
    by_corpus: Counter[tuple[str, str]] = Counter()
    by_split: Counter[tuple[str, str]] = Counter()
    by_kind: Counter[tuple[str, str]] = Counter()
    by_form: Counter[tuple[str, str]] = Counter()
    form_ok = 0
    errors = []
    for doc, text, gold, split in sample:
        corpus = doc.split(":")[0]
        pred = extract_credits(text)
        used = set()
        for p in pred:
            match = None
            for i, g in enumerate(gold):
                if i in used or not (p.start < g["end"] and g["start"] < p.end):
                    continue
                if _key(p.name) == _key(g["name"]):
                    match = i
                    break
            if match is None:
                fp += 1
                by_corpus[(corpus, "fp")] += 1
                by_split[(split, "fp")] += 1
                by_kind[(p.kind, "fp")] += 1
                by_form[(p.form, "fp")] += 1
                errors.append(f"  FP {doc} {p.form:<14} {_safe(text[p.start:p.end])} as {_safe(p.name)}"
                              f"  ...{_safe(text[max(0, p.start - 30):p.end + 30])}")
            else:
                used.add(match)
                tp += 1
                g = gold[match]
                form_ok += g["form"] == p.form
                by_corpus[(corpus, "tp")] += 1
                by_split[(split, "tp")] += 1
                by_kind[(g["kind"], "tp")] += 1
                by_form[(g["form"], "tp")] += 1
                by_form[(p.form, "ptp")] += 1
        for i, g in enumerate(gold):
            if i not in used:
                fn += 1
                by_corpus[(corpus, "fn")] += 1
                by_split[(split, "fn")] += 1
                by_kind[(g["kind"], "fn")] += 1
                by_form[(g["form"], "fn")] += 1
                errors.append(f"  FN {doc} {g['form']:<14} {_safe(g['text'])} ({_safe(g['name'])})")

    def pr(t: int, f_p: int, f_n: int) -> tuple[float, float]:
        return (t / (t + f_p) if t + f_p else 1.0), (t / (t + f_n) if t + f_n else 1.0)

    p, r = pr(tp, fp, fn)
    print(f"Extraction on the labelled sample: {len(sample)} documents, {tp + fn} labelled credits, "
          f"{tp + fp} extracted")
    print(f"{'group':<26}{'labels':>8}{'found':>8}{'wrong':>8}{'precision':>11}{'recall':>8}")
    print(f"{'all':<26}{tp + fn:>8}{tp:>8}{fp:>8}{p:>11.3f}{r:>8.3f}")
    for name, table, ptp in (("split", by_split, "tp"), ("corpus", by_corpus, "tp"), ("kind", by_kind, "tp")):
        for g in sorted({k for k, _ in table}):
            t, f_p, f_n = table[(g, ptp)], table[(g, "fp")], table[(g, "fn")]
            gp, gr = pr(t, f_p, f_n)
            print(f"{name + ' ' + g:<26}{t + f_n:>8}{t:>8}{f_p:>8}{gp:>11.3f}{gr:>8.3f}")
    for g in sorted({k for k, _ in by_form}):
        t, f_n = by_form[(g, "tp")], by_form[(g, "fn")]
        gp, _ = pr(by_form[(g, "ptp")], by_form[(g, "fp")], 0)
        gr = t / (t + f_n) if t + f_n else 1.0
        print(f"{'form ' + g:<26}{t + f_n:>8}{t:>8}{by_form[(g, 'fp')]:>8}{gp:>11.3f}{gr:>8.3f}")
    print(f"form agreement on the {tp} matched credits: {form_ok / tp if tp else 0:.3f}")
    if show_errors:
        print("\n".join(errors))
    return {"precision": p, "recall": r}


# ----------------------------------------------------------------------------- verdict checks
_DATELINE_CREDIT = re.compile(r"^([^\n(]{1,60}?)\s*\([^)\n]+\)\s*(—|-)\s*")


def strip_credit(text: str) -> str:
    """The original's text without its dateline credit: "PORTO (Northwire) — Two" -> "PORTO — Two"."""
    return _DATELINE_CREDIT.sub(lambda m: f"{m.group(1)} {m.group(2)} ", text, count=1)


def verdict_cases(originals: list[dict]) -> list[tuple[str, dict, str, str | None]]:
    """(case name, verdict arguments, expected verdict, expected via) for every original."""
    cases = []
    for o in originals:
        pub, text = o["publisher"], o["text"]
        body = strip_credit(text)
        base = {"copy_publisher": "Copycat Gazette", "source_publisher": pub, "source_text": text}
        cases.append((f"{o['id']} no credit", {**base, "copy_text": body}, "uncredited", None))
        cases.append((f"{o['id']} credit line", {**base, "copy_text": body + f"\n\n— {pub}"}, "credited", "publisher"))
        cases.append((f"{o['id']} kept dateline", {**base, "copy_text": text}, "credited"
                      if _has_dateline_credit(text) else "uncredited", "publisher" if _has_dateline_credit(text) else None))
        cases.append((f"{o['id']} according to", {**base, "copy_text": f"According to {pub}, " + body[0].lower()
                                                  + body[1:]}, "credited", "publisher"))
        wrong = "Reuters" if pub != "Reuters" else "AFP"
        cases.append((f"{o['id']} wrong agency", {**base, "copy_text": f"LONDON ({wrong}) — " + body},
                      "credited_other", "other"))
        cases.append((f"{o['id']} own dateline", {**base, "copy_text": "LONDON (Copycat Gazette) — " + body},
                      "uncredited", None))
        # the source is a syndicating site's copy that carries the original's dateline: crediting the
        # original agency credits the source through its own credit
        if _has_dateline_credit(text):
            synd = {"copy_publisher": "Copycat Gazette", "source_publisher": "portal.example/news",
                    "source_text": text}
            cases.append((f"{o['id']} via source's agency", {**synd, "copy_text": body + f"\n\n(Source: {pub})"},
                          "credited", "source_credit"))
            cases.append((f"{o['id']} syndicated, no credit", {**synd, "copy_text": body}, "uncredited", None))
        cases.append((f"{o['id']} same publisher", {**base, "copy_publisher": pub, "copy_text": body},
                      "credited", "same_publisher"))
        alias = "".join(w[0] for w in pub.split()) + "X"
        cases.append((f"{o['id']} watch alias", {**base, "copy_text": body + f" ({alias})",
                                                 "aliases": {pub: [alias]}}, "credited", "publisher"))
    # a known agency through the syndicator: yahoo carries AP, the copy credits "The Associated Press"
    ap_text = "WASHINGTON (AP) — The Senate voted on Tuesday to approve the bill, officials said."
    cases.append(("AP via syndicator", {"copy_publisher": "Copycat Gazette", "source_publisher": "yahoo.com/news",
                                        "source_text": ap_text,
                                        "copy_text": "The Senate voted on Tuesday to approve the bill, the "
                                                     "Associated Press reported."}, "credited", "source_credit"))
    cases.append(("AP alias of AP", {"copy_publisher": "Copycat Gazette", "source_publisher": "apnews.com",
                                     "source_text": ap_text,
                                     "copy_text": "WASHINGTON (AP) — The Senate voted on Tuesday."},
                  "credited", "publisher"))
    return cases


def _has_dateline_credit(text: str) -> bool:
    return bool(_DATELINE_CREDIT.match(text))


def check_verdicts(originals: list[dict]) -> bool:
    cases = verdict_cases(originals)
    bad = 0
    per: Counter[str] = Counter()
    ok_per: Counter[str] = Counter()
    for name, args, want, want_via in cases:
        v = credit_verdict(args["copy_text"], args["copy_publisher"], args["source_publisher"],
                           args["source_text"], args.get("aliases"))
        kind = name.split(" ", 1)[1] if name.startswith("orig-") else name
        per[kind] += 1
        if v.verdict == want and v.via == want_via:
            ok_per[kind] += 1
        else:
            bad += 1
            print(f"  WRONG {name}: {v.verdict}/{v.via}, expected {want}/{want_via}")
    t = time.perf_counter()
    for _name, args, _want, _via in cases:
        credit_verdict(args["copy_text"], args["copy_publisher"], args["source_publisher"],
                       args["source_text"], args.get("aliases"))
    per_call = (time.perf_counter() - t) / len(cases)
    print(f"\nVerdict checks from {len(originals)} demo originals: {len(cases) - bad}/{len(cases)} right "
          f"({per_call * 1000:.2f} ms per verdict, both texts extracted)")
    print(f"{'case':<28}{'checks':>8}{'right':>8}")
    for kind in per:
        print(f"{kind:<28}{per[kind]:>8}{ok_per[kind]:>8}")
    return bad == 0


def timing(data: Path) -> None:
    with gzip.open(data / CORPORA["reuters"], "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    extract_credits("warm up (Reuters)")
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        n = sum(len(extract_credits(x)) for x in texts)
        runs.append(time.perf_counter() - t)
    dt = min(runs)
    chars = sum(map(len, texts))
    print(f"\nTiming: extract_credits over {len(texts)} Reuters-21578 texts ({chars / 1e6:.1f} M chars): "
          f"best of 3 {dt:.2f} s (runs {', '.join(f'{r:.2f}' for r in runs)}), {n} credits, "
          f"{len(texts) / dt:,.0f} docs/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sample", type=Path, default=ROOT / "tests" / "data" / "credits_sample.jsonl")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args()
    for p in (args.sample, args.data / CORPORA["helsinki"], args.data / CORPORA["reuters"]):
        if not p.exists():
            print(f"error: {p} not found", file=sys.stderr)
            return 1
    score(load_sample(args.sample, args.data), args.show_errors)
    originals = [json.loads(line) for line in
                 (ROOT / "src" / "newstrace" / "data" / "demo_originals.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    ok = check_verdicts(originals)
    if not args.no_timing:
        timing(args.data)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
