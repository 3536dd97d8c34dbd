"""Right answers on real news (issue 16): derived Reuters articles traced against Reuters.

Builds derived articles with ground truth from Reuters-21578 and traces each with
``Index.trace`` against an index of the whole corpus (built once, cached in
``bench/out/reuters.duckdb``; git-ignored). Kinds (about equal numbers):

- ``spun``: one article, its paragraphs spun with the project's spinner
  (``fixtures.spin``: word and phrase swaps from its dictionary, ``--rate`` of the
  eligible words), one paragraph moved by two places or more, one dropped;
- ``composite``: 1-3 consecutive paragraphs from each of 2-3 unrelated articles;
- ``related``: an article, one paragraph of a *related* article (one that shares
  text with it in the index) that the first does not contain, and one new paragraph;
- ``partial``: 2-3 paragraphs of an article between paragraphs of new text;
- ``control``: new text only.

New text comes from BASIL (``basil.jsonl.gz``: 2010s US politics, not in the index).
Paragraphs are joined with a blank line. The truth class uses the shares and
thresholds of ``Params`` (wholly >= 0.8, partially >= 0.1 of the words derived).

Printed, from the public ``trace`` JSON only (fields missing today are ``n/a``):
main-source accuracy (the source flagged ``main``, else ``sources[0]``), per-sentence
top-1 source accuracy (the sentence's truth source is the one most of its characters
come from), false attribution rate (sentences with no source that list one),
composite F1, 3-class derivation accuracy, substitution precision and recall
(``edits``: ``{from, to, kind, count}``, or today's ``{source, replacement, count}``;
matched as strings, a merged phrase matching the swaps it contains), moved-paragraph
recall (a sentence of the moved paragraph flagged ``moved``, or every paragraph it
jumped over flagged), trace latency. A predicted source is accepted when it is the
true one or an exact duplicate of it (same text; Reuters has them); the per-sentence
figure is also given with a lenient rule (the predicted document contains the
sentence's source text).

``--direct`` also scores ``newstrace.edits`` on each (source, copy) pair: the pair is
aligned with ``align_texts`` and ``passage_edits`` runs on the passages (``word_edits``
on each, ``find_moves`` on all, moved sentences compared with their source text); swaps in the copy's text taken from that source are scored by
character-span overlap with the spinner's swaps.

Usage: python bench/provenance_real.py [--n 150] [--seed 1] [--rate 0.3] [--direct]
       [--no-trace] [--long 1000000] [--db bench/out/reuters.duckdb] [--build-only]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
KINDS = ("spun", "composite", "related", "partial", "control")
SWAP_KINDS = ("substitution", "phrase", "fact")


# --------------------------------------------------------------------------- corpus


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_index(db: Path, records: list[dict[str, Any]]) -> None:
    from newstrace import Index

    db.parent.mkdir(parents=True, exist_ok=True)
    done = db.with_suffix(".built")
    if db.exists() and done.exists():
        return
    for p in (db, done):
        if p.exists():
            p.unlink()
    t = time.perf_counter()
    print(f"building the Reuters index in {db} (once) ...", file=sys.stderr, flush=True)
    with Index.open(db) as idx:
        idx.add(records)
        idx.build()
    done.write_text("ok\n")
    print(f"  built in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)


_PARA = re.compile(r"\n(?=[ \t]{2,}\S)|\n\s*\n")


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraph spans (trimmed): Reuters indents each paragraph; blank lines also split."""
    out, start = [], 0
    for m in list(_PARA.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        s, e = start, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and re.search(r"\w", text[s:e]):
            out.append((s, e))
        if m:
            start = m.end()
    return out


_WORD = re.compile(r"\w+")


def n_words(text: str) -> int:
    return len(_WORD.findall(text))


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


# --------------------------------------------------------------------------- derivations


@dataclass
class Piece:
    text: str
    source: str | None  # Reuters id, None for new text
    src_span: tuple[int, int] | None = None
    subs: list[dict[str, Any]] = field(default_factory=list)  # relative to the piece / source


@dataclass
class Case:
    kind: str
    text: str
    chars: list[tuple[int, int, str | None, tuple[int, int] | None]]  # copy span, source, src span
    sources: dict[str, int]  # source id -> words taken
    subs: list[dict[str, Any]]  # source_id, source, replacement, spans
    moved: list[dict[str, Any]]  # {"source_id", "dst": (s, e), "jumped": [(s, e), ...]}
    derived_words: int
    words: int

    @property
    def main(self) -> str | None:
        return max(self.sources, key=lambda s: self.sources[s]) if self.sources else None


def assemble(kind: str, pieces: list[Piece], moved_idx: int | None = None,
             jumped_idx: list[int] | None = None) -> Case:
    parts, chars, subs, spans = [], [], [], []
    pos = 0
    sources: Counter[str] = Counter()
    derived = words = 0
    for k, p in enumerate(pieces):
        if k:
            parts.append("\n\n")
            pos += 2
        parts.append(p.text)
        spans.append((pos, pos + len(p.text)))
        chars.append((pos, pos + len(p.text), p.source, p.src_span))
        w = n_words(p.text)
        words += w
        if p.source is not None:
            sources[p.source] += w
            derived += w
            for s in p.subs:
                subs.append({**s, "source_id": p.source,
                             "copy_start": s["copy_start"] + pos, "copy_end": s["copy_end"] + pos})
        pos += len(p.text)
    moved = []
    if moved_idx is not None:
        moved.append({"source_id": pieces[moved_idx].source, "dst": spans[moved_idx],
                      "src": pieces[moved_idx].src_span,
                      "jumped": [spans[j] for j in (jumped_idx or [])]})
    return Case(kind, "".join(parts), chars, dict(sources), subs, moved, derived, words)


class Maker:
    def __init__(self, reuters: list[dict[str, Any]], basil: list[dict[str, Any]],
                 related: dict[str, list[tuple[str, list[tuple[int, int]]]]], seed: int,
                 rate: float) -> None:
        from newstrace import fixtures

        self.spin = fixtures.spin
        self.rng = random.Random(seed)
        self.rate = rate
        self.by_id = {r["id"]: r for r in reuters}
        self.eligible = []
        for r in reuters:
            ps = paragraphs(r["text"])
            if len(ps) >= 5 and n_words(r["text"]) >= 150:
                self.eligible.append(r["id"])
        self.rng.shuffle(self.eligible)
        self.used: set[str] = set()
        self.related = related
        self.new_paras = [r["text"][s:e] for r in basil for s, e in paragraphs(r["text"])
                          if 25 <= n_words(r["text"][s:e]) <= 120]
        self.rng.shuffle(self.new_paras)
        self.new_pos = 0

    def take(self) -> str:
        while self.eligible:
            rid = self.eligible.pop()
            if rid not in self.used:
                self.used.add(rid)
                return rid
        raise SystemExit("ran out of Reuters articles")

    def new_text(self) -> Piece:
        t = self.new_paras[self.new_pos % len(self.new_paras)]
        self.new_pos += 1
        return Piece(t, None)

    def piece(self, rid: str, span: tuple[int, int], spin: bool = False) -> Piece:
        text = self.by_id[rid]["text"]
        s, e = span
        body = text[s:e]
        if not spin:
            return Piece(body, rid, span)
        out, subs = self.spin(body, self.rate, self.rng)
        for x in subs:
            x["source_start"] += s
            x["source_end"] += s
        return Piece(out, rid, span, subs)

    def spun(self) -> Case:
        rid = self.take()
        ps = paragraphs(self.by_id[rid]["text"])
        drop = self.rng.randrange(1, len(ps))
        keep = [k for k in range(len(ps)) if k != drop]
        pieces = [self.piece(rid, ps[k], spin=True) for k in keep]
        # move one paragraph (not the lead) two places or more
        i = self.rng.randrange(1, len(pieces))
        targets = [j for j in range(len(pieces)) if abs(j - i) >= 2]
        j = self.rng.choice(targets)
        p = pieces.pop(i)
        pieces.insert(j, p)
        jumped = list(range(j + 1, i + 1)) if j < i else list(range(i, j))
        return assemble("spun", pieces, j, jumped)

    def composite(self) -> Case:
        n = self.rng.choice((2, 3))
        pieces = []
        for _ in range(n):
            rid = self.take()
            ps = paragraphs(self.by_id[rid]["text"])
            k = self.rng.randint(1, 3)
            first = self.rng.randrange(0, len(ps) - k + 1)
            pieces.extend(self.piece(rid, ps[x]) for x in range(first, first + k))
        return assemble("composite", pieces)

    def related_case(self) -> Case | None:
        for _ in range(200):
            rid = self.take()
            for other, shared in self.related.get(rid, []):
                ps = paragraphs(self.by_id[other]["text"])
                own = [sp for sp in ps if n_words(self.by_id[other]["text"][sp[0]:sp[1]]) >= 20
                       and not any(a < sp[1] and sp[0] < b for a, b in shared)]
                if not own:
                    continue
                sp = self.rng.choice(own)
                if norm(self.by_id[other]["text"][sp[0]:sp[1]]) in norm(self.by_id[rid]["text"]):
                    continue
                pieces = [self.piece(rid, x) for x in paragraphs(self.by_id[rid]["text"])]
                pieces.insert(self.rng.randrange(1, len(pieces) + 1), self.piece(other, sp))
                pieces.insert(self.rng.randrange(1, len(pieces) + 1), self.new_text())
                self.used.add(other)
                return assemble("related", pieces)
        return None

    def partial(self) -> Case:
        rid = self.take()
        ps = paragraphs(self.by_id[rid]["text"])
        k = self.rng.randint(2, 3)
        first = self.rng.randrange(0, len(ps) - k + 1)
        pieces = [self.new_text()]
        for x in range(first, first + k):
            pieces.append(self.piece(rid, ps[x]))
            pieces.append(self.new_text())
        pieces.append(self.new_text())
        return assemble("partial", pieces)

    def control(self) -> Case:
        return assemble("control", [self.new_text() for _ in range(self.rng.randint(3, 5))])

    def make(self, kind: str) -> Case | None:
        return {"spun": self.spun, "composite": self.composite, "related": self.related_case,
                "partial": self.partial, "control": self.control}[kind]()


def related_pairs(db: Path) -> dict[str, list[tuple[str, list[tuple[int, int]]]]]:
    """Reuters id -> [(other id, spans of the other that the pair's passages cover)] for
    pairs sharing some text but not near-duplicates (shared 10-60 % of the other)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        """SELECT p.a_id, p.b_id, p.b_start, p.b_end, length(d.text)
           FROM passages p JOIN documents d ON d.id = p.b_id"""
    ).fetchall()
    con.close()
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    lengths: dict[str, int] = {}
    for a, b, s, e, n in rows:
        for x, y, ss, ee in ((a, b, s, e),):
            spans.setdefault((str(x), str(y)), []).append((int(ss), int(ee)))
            lengths[str(y)] = int(n)
    out: dict[str, list[tuple[str, list[tuple[int, int]]]]] = {}
    for (a, b), sp in spans.items():
        covered = sum(e - s for s, e in sp) / max(1, lengths[b])
        if 0.1 <= covered <= 0.6:
            out.setdefault(a, []).append((b, sp))
    return out


# --------------------------------------------------------------------------- scoring helpers


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def truth_source(case: Case, s: int, e: int) -> str | None:
    """The source most of ``[s, e)`` comes from (None: most of it is new text)."""
    by: Counter[str | None] = Counter()
    for cs, ce, src, _ in case.chars:
        o = overlap((s, e), (cs, ce))
        if o:
            by[src] += o
    return by.most_common(1)[0][0] if by else None


def truth_source_text(case: Case, s: int, e: int, by_id: dict[str, dict[str, Any]]) -> str:
    for cs, ce, src, sspan in case.chars:
        if src is not None and overlap((s, e), (cs, ce)) > (e - s) // 2 and sspan:
            return norm(case.text[max(s, cs):min(e, ce)])
    return ""


def truth_class(case: Case) -> str:
    from newstrace.params import DEFAULT_PARAMS

    share = case.derived_words / max(1, case.words)
    if share >= DEFAULT_PARAMS.wholly_derived:
        return "wholly derived"
    if share >= DEFAULT_PARAMS.partially_derived:
        return "partially derived"
    return "not derived"


def pair_matches(f: str, t: str, s: str, r: str) -> bool:
    f, t, s, r = norm(f), norm(t), norm(s), norm(r)
    if (f, t) == (s, r):
        return True
    return bool(f and t) and ((s in f and r in t) or (f in s and t in r))


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def fmt(x: float | None, target: str = "") -> str:
    if x is None:
        return "n/a"
    return f"{x:.3f}" + (f"   (target {target})" if target else "")


# --------------------------------------------------------------------------- trace scoring


@dataclass
class Tally:
    main_ok: int = 0
    main_n: int = 0
    main_field: bool = False
    sent_ok: int = 0
    sent_ok_lenient: int = 0
    sent_n: int = 0
    false_attr: int = 0
    nosrc_n: int = 0
    comp: Counter[str] = field(default_factory=Counter)
    class_ok: int = 0
    class_n: int = 0
    sub_pred: int = 0
    sub_pred_ok: int = 0
    sub_truth: int = 0
    sub_truth_found: int = 0
    edits_field: bool = False
    moves_n: int = 0
    moves_found: int = 0
    moved_field: bool = False
    latency: list[float] = field(default_factory=list)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)


def same_doc(pred: str | None, truth: str | None, dup: dict[str, str]) -> bool:
    if pred is None or truth is None:
        return pred == truth
    return pred == truth or dup.get(pred, pred) == dup.get(truth, truth)


def score_trace(case: Case, out: dict[str, Any], t: Tally, dup: dict[str, str],
                by_id: dict[str, dict[str, Any]]) -> None:
    k = t.by_kind.setdefault(case.kind, Counter())
    sources = out.get("sources") or []
    main = next((s.get("id") for s in sources if s.get("main")), None)
    if any("main" in s for s in sources):
        t.main_field = True
    if main is None and sources:
        main = sources[0].get("id")
    if case.main is not None:
        t.main_n += 1
        ok = same_doc(None if main is None else str(main), case.main, dup)
        t.main_ok += ok
        k["main_ok"] += ok
        k["main_n"] += 1
    for sent in out.get("sentences") or []:
        s, e = int(sent["start"]), int(sent["end"])
        truth = truth_source(case, s, e)
        ranked = sent.get("sources") or []
        top = str(ranked[0]["id"]) if ranked else None
        if truth is None:
            t.nosrc_n += 1
            t.false_attr += top is not None
            continue
        t.sent_n += 1
        ok = same_doc(top, truth, dup)
        t.sent_ok += ok
        k["sent_ok"] += ok
        k["sent_n"] += 1
        if ok:
            t.sent_ok_lenient += 1
        elif top is not None and top in by_id:
            frag = truth_source_text(case, s, e, by_id)
            t.sent_ok_lenient += bool(frag) and frag in norm(by_id[top]["text"])
    truth_comp = len(case.sources) >= 2
    pred_comp = bool(out.get("composite"))
    k["comp_ok"] += truth_comp == pred_comp
    k["comp_n"] += 1
    t.comp[{(True, True): "TP", (False, True): "FP", (True, False): "FN",
            (False, False): "TN"}[(truth_comp, pred_comp)]] += 1
    if "classification" in out:
        t.class_n += 1
        ok = out["classification"] == truth_class(case)
        t.class_ok += ok
        k["class_ok"] += ok
        k["class_n"] += 1
    edits = out.get("edits")
    if isinstance(edits, list):
        t.edits_field = True
        score_edit_rows(case, edits, t)
    sents = out.get("sentences") or []
    if any("moved" in s for s in sents) or "moved" in out:
        t.moved_field = True
    moved_sents = [(int(s["start"]), int(s["end"])) for s in sents if s.get("moved")]
    for m in out.get("moved") or []:
        if isinstance(m, dict) and isinstance(m.get("sentence"), int) and m["sentence"] < len(sents):
            s = sents[m["sentence"]]
            moved_sents.append((int(s["start"]), int(s["end"])))
    for mv in case.moved:
        t.moves_n += 1
        hit = any(overlap(ms, mv["dst"]) for ms in moved_sents)
        alt = mv["jumped"] and all(any(overlap(ms, j) for ms in moved_sents) for j in mv["jumped"])
        t.moves_found += bool(hit or alt)


def score_edit_rows(case: Case, edits: list[dict[str, Any]], t: Tally) -> None:
    """Score ``edits`` rows (``{from, to, kind, count}`` or ``{source, replacement, count}``)
    against the spinner's swaps, as strings."""
    pred = []
    for x in edits:
        if x.get("kind", "substitution") not in SWAP_KINDS:
            continue
        f = x.get("from", x.get("source", ""))
        to = x.get("to", x.get("replacement", ""))
        pred.extend([(f, to)] * int(x.get("count", 1)))
    truth = [(s["source"], s["replacement"]) for s in case.subs]
    t.sub_pred += len(pred)
    t.sub_truth += len(truth)
    free = list(truth)
    for f, to in pred:  # each swap made vouches for one report
        hit = next((q for q, (s, r) in enumerate(free) if pair_matches(f, to, s, r)), None)
        if hit is not None:
            t.sub_pred_ok += 1
            free.pop(hit)
    for s, r in truth:
        t.sub_truth_found += any(pair_matches(f, to, s, r) for f, to in pred)


def module_on_trace(case: Case, out: dict[str, Any], by_id: dict[str, dict[str, Any]],
                    t: Tally, only_main: bool = False) -> None:
    """``passage_edits`` on the passages ``trace`` found: every source (as trace reports
    edits today), or only the main source (flagged ``main``, else ``sources[0]``)."""
    from newstrace.edits import edit_counts, passage_edits

    keep: set[str] | None = None
    if only_main:
        srcs = out.get("sources") or []
        main = next((x for x in srcs if x.get("main")), srcs[0] if srcs else None)
        keep = {str(main["id"])} if main else set()
    by_src: dict[str, list[tuple[int, int, int, int]]] = {}
    for p in out.get("passages") or []:
        if keep is not None and str(p["b_id"]) not in keep:
            continue
        by_src.setdefault(str(p["b_id"]), []).append(
            (int(p["b_start"]), int(p["b_end"]), int(p["a_start"]), int(p["a_end"])))
    edits, moved = [], []
    t0 = time.perf_counter()
    for sid, spans in by_src.items():
        if sid in by_id:
            e, m = passage_edits(by_id[sid]["text"], case.text, spans)
            edits.extend(e)
            moved.extend(x.dst_span for x in m)
    t.latency.append(time.perf_counter() - t0)
    t.edits_field = t.moved_field = True
    score_edit_rows(case, edit_counts(edits), t)
    for mv in case.moved:
        t.moves_n += 1
        hit = any(overlap(x, mv["dst"]) > 0.5 * (mv["dst"][1] - mv["dst"][0]) for x in moved)
        alt = mv["jumped"] and all(any(overlap(x, j) > 0.5 * (j[1] - j[0]) for x in moved)
                                   for j in mv["jumped"])
        t.moves_found += bool(hit or alt)


def report_module_on_trace(t: Tally, title: str) -> None:
    lat = sorted(t.latency)
    print(f"newstrace.edits.passage_edits on trace's passages ({title}):")
    print(f"  {'substitution precision (strings, as for trace)':48} "
          f"{fmt(ratio(t.sub_pred_ok, t.sub_pred), '>= 0.80')}  [{t.sub_pred} reported]")
    print(f"  {'substitution recall (strings, as for trace)':48} "
          f"{fmt(ratio(t.sub_truth_found, t.sub_truth), '>= 0.80')}  [{t.sub_truth} made]")
    print(f"  {'moved-paragraph recall':48} {fmt(ratio(t.moves_found, t.moves_n), '>= 0.80')}"
          f"  [{t.moves_n} moved]")
    if lat:
        print(f"  {'added time per article median / max':48} {statistics.median(lat):.3f} s / "
              f"{lat[-1]:.3f} s")


def report_trace(t: Tally, n: int) -> None:
    lat = sorted(t.latency)
    tp, fp, fn = t.comp["TP"], t.comp["FP"], t.comp["FN"]
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else (None if not (fp or fn) else 0.0)
    p = ratio(t.sub_pred_ok, t.sub_pred) if t.edits_field else None
    r = ratio(t.sub_truth_found, t.sub_truth) if t.edits_field else None
    print(f"trace: {n} derived articles")
    label = "main-source accuracy" + ("" if t.main_field else " (no 'main' field: sources[0])")
    print(f"  {label:48} {fmt(ratio(t.main_ok, t.main_n), '>= 0.95')}")
    print(f"  {'per-sentence top-1 source accuracy':48} {fmt(ratio(t.sent_ok, t.sent_n), '>= 0.90')}"
          f"  [{t.sent_n} sentences]")
    print(f"  {'  lenient (predicted doc contains the text)':48} {fmt(ratio(t.sent_ok_lenient, t.sent_n))}")
    print(f"  {'false attribution (sentences with no source)':48} "
          f"{fmt(ratio(t.false_attr, t.nosrc_n), '<= 0.05')}  [{t.nosrc_n} sentences]")
    print(f"  {'composite F1':48} {fmt(f1, '>= 0.90')}  [tp {tp} fp {fp} fn {fn} tn {t.comp['TN']}]")
    print(f"  {'3-class derivation accuracy':48} {fmt(ratio(t.class_ok, t.class_n), '>= 0.90')}")
    print(f"  {'substitution precision':48} {fmt(p, '>= 0.80')}  [{t.sub_pred} reported]")
    print(f"  {'substitution recall':48} {fmt(r, '>= 0.80')}  [{t.sub_truth} made]")
    mr = ratio(t.moves_found, t.moves_n) if t.moved_field else None
    print(f"  {'moved-paragraph recall':48} {fmt(mr, '>= 0.80')}  [{t.moves_n} moved]")
    if lat:
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        print(f"  {'trace latency median / p95':48} {statistics.median(lat):.3f} s / {p95:.3f} s")
    for kind, c in sorted(t.by_kind.items()):
        parts = []
        for key in ("main", "sent", "comp", "class"):
            if c[f"{key}_n"]:
                parts.append(f"{key} {c[f'{key}_ok'] / c[f'{key}_n']:.2f}")
        print(f"    {kind:10} " + ", ".join(parts))


# --------------------------------------------------------------------------- direct scoring


@dataclass
class Direct:
    pred: int = 0
    pred_ok: int = 0
    truth: int = 0
    found: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    moves_n: int = 0
    moves_found: int = 0
    moves_pred: int = 0
    moves_wrong: int = 0
    fact_on_spin: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


def score_direct(case: Case, by_id: dict[str, dict[str, Any]], d: Direct) -> None:
    from newstrace.align import align_texts
    from newstrace.edits import passage_edits

    for sid in case.sources:
        src = by_id[sid]["text"]
        t0 = time.perf_counter()
        passages = align_texts(case.text, src)
        spans = [(p.b_start, p.b_end, p.a_start, p.a_end) for p in passages]
        edits, moves = passage_edits(src, case.text, spans)
        d.seconds += time.perf_counter() - t0
        mine = [(cs, ce) for cs, ce, src_id, _ in case.chars if src_id == sid]
        moves = [m for m in moves if any(overlap(m.dst_span, x) for x in mine)]
        truth = [s for s in case.subs if s["source_id"] == sid]
        # only the copy's text that came from this source: elsewhere the pair's
        # passages are text the source shares with another source (related articles)
        swaps = [e for e in edits if e.kind in SWAP_KINDS
                 and any(overlap(e.dst_span, m) or m[0] <= e.dst_span[0] < m[1] for m in mine)]
        for e in swaps:
            d.pred += 1
            d.kinds[e.kind] += 1
            ok = any(overlap(e.dst_span, (s["copy_start"], s["copy_end"])) or
                     (e.dst_span[0] == e.dst_span[1] == s["copy_start"]) for s in truth) and any(
                overlap(e.src_span, (s["source_start"], s["source_end"])) for s in truth)
            d.pred_ok += ok
            d.fact_on_spin += ok and e.kind == "fact"
            if not ok and len(d.examples) < 12:
                d.examples.append(f"not a spinner swap: {e.kind}: {e.src!r} -> {e.dst!r}")
        for s in truth:
            d.truth += 1
            d.found += any(overlap(e.dst_span, (s["copy_start"], s["copy_end"])) for e in swaps)
        mvs = [m for m in case.moved if m["source_id"] == sid]
        for mv in mvs:
            d.moves_n += 1
            hit = any(overlap(m.dst_span, mv["dst"]) > 0.5 * (mv["dst"][1] - mv["dst"][0])
                      for m in moves)
            alt = all(any(overlap(m.dst_span, j) > 0.5 * (j[1] - j[0]) for m in moves)
                      for j in mv["jumped"])
            d.moves_found += bool(hit or alt)
        if case.kind == "related" and sid != case.main:
            # the related article's paragraph is set among text it shares in another
            # order: against that article it did move; not counted either way
            continue
        d.moves_pred += len(moves)
        for m in moves:
            right = any(overlap(m.dst_span, mv["dst"]) or any(overlap(m.dst_span, j)
                                                               for j in mv["jumped"]) for mv in mvs)
            d.moves_wrong += not right
            if not right and len(d.examples) < 24:
                d.examples.append(f"wrong move ({case.kind}): {src[slice(*m.src_span)][:40]!r} "
                                  f"at {case.text[slice(*m.dst_span)][:40]!r}")


def report_direct(d: Direct) -> None:
    print("newstrace.edits.passage_edits on the (source, copy) pairs (align_texts passages):")
    print(f"  {'substitution precision (span overlap)':48} {fmt(ratio(d.pred_ok, d.pred), '>= 0.80')}"
          f"  [{d.pred} reported: {dict(d.kinds)}]")
    print(f"  {'substitution recall (span overlap)':48} {fmt(ratio(d.found, d.truth), '>= 0.80')}"
          f"  [{d.truth} made]")
    print(f"  {'spinner swaps reported as fact changes':48} {d.fact_on_spin}")
    print(f"  {'moved-paragraph recall':48} {fmt(ratio(d.moves_found, d.moves_n), '>= 0.80')}"
          f"  [{d.moves_n} moved; {d.moves_pred} moves reported, {d.moves_wrong} wrong]")
    print(f"  {'time (align + edits + moves)':48} {d.seconds:.2f} s")
    for x in d.examples:
        print(f"    {json.dumps(x)[1:-1][:110]}")


# --------------------------------------------------------------------------- main


def long_copy(reuters: list[dict[str, Any]], size: int, seed: int, rate: float) -> None:
    """Time ``passage_edits`` on one long spun copy (one passage: the worst case)."""
    from newstrace import fixtures
    from newstrace.edits import passage_edits

    rng = random.Random(seed)
    parts, n = [], 0
    for r in reuters:
        if n >= size:
            break
        parts.append(r["text"])
        n += len(r["text"]) + 2
    src = "\n\n".join(parts)[:size]
    paras = paragraphs(src)
    k = len(paras) // 2
    moved = src[slice(*paras[k])]
    rest = src[:paras[k][0]] + src[paras[k][1]:]
    reordered = moved + "\n\n" + rest
    copy, subs = fixtures.spin(reordered, rate, rng)
    w0, c0 = time.perf_counter(), time.process_time()
    edits, moves = passage_edits(src, copy, [(0, len(src), 0, len(copy))])
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    swaps = sum(e.kind in SWAP_KINDS for e in edits)
    print(f"long copy: {len(src) / 1e6:.2f} MB source, {len(copy) / 1e6:.2f} MB copy, "
          f"{len(subs)} swaps made; passage_edits {cpu:.2f} s CPU ({wall:.2f} s wall, "
          f"tokenising included): {swaps} swaps, {len(moves)} moves reported")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=150, help="derived articles (split over the kinds)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.3, help="share of eligible words spun")
    ap.add_argument("--db", type=Path, default=HERE / "out" / "reuters.duckdb")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--direct", action="store_true", help="also score newstrace.edits directly")
    ap.add_argument("--no-trace", action="store_true", help="skip tracing (direct scores only)")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--long", type=int, default=0, metavar="CHARS",
                    help="also time passage_edits on one spun copy of this many characters")
    args = ap.parse_args()
    rpath, bpath = args.data / "reuters21578.jsonl.gz", args.data / "basil.jsonl.gz"
    for p in (rpath, bpath):
        if not p.exists():
            print(f"error: {p} not found (needs ../shared/data)", file=sys.stderr)
            return 1
    reuters = read_jsonl(rpath)
    for r in reuters:
        r["id"] = str(r["id"])
    built = args.db.exists() and args.db.with_suffix(".built").exists()
    if not (args.no_trace and not built):  # direct scores alone need no index
        build_index(args.db, reuters)
        built = True
    if args.build_only:
        return 0
    basil = read_jsonl(bpath)
    by_id = {r["id"]: r for r in reuters}
    groups: dict[str, list[str]] = {}
    for r in reuters:
        groups.setdefault(norm(r["text"]), []).append(r["id"])
    dup = {rid: ids[0] for ids in groups.values() for rid in ids}
    maker = Maker(reuters, basil, related_pairs(args.db) if built else {}, args.seed, args.rate)
    cases: list[Case] = []
    per_kind = max(1, args.n // len(KINDS))
    for kind in KINDS:
        made = 0
        while made < per_kind:
            c = maker.make(kind)
            if c is None:
                break
            cases.append(c)
            made += 1
    print(f"{len(cases)} derived articles: "
          + ", ".join(f"{k} {sum(c.kind == k for c in cases)}" for k in KINDS)
          + f"; {sum(len(c.subs) for c in cases)} spinner swaps, "
            f"{sum(len(c.moved) for c in cases)} moved paragraphs")
    if args.long:
        long_copy(reuters, args.long, args.seed, args.rate)
    if args.direct:
        d = Direct()
        for c in cases:
            score_direct(c, by_id, d)
        report_direct(d)
    if not args.no_trace:
        from newstrace import Index

        t, tm, tc = Tally(), Tally(), Tally()
        with Index.open(args.db, read_only=True) as idx:
            idx.trace("warm up the compiled code, please.")
            for n, c in enumerate(cases):
                t0 = time.perf_counter()
                out = idx.trace(c.text, f"case-{n}")
                t.latency.append(time.perf_counter() - t0)
                score_trace(c, out, t, dup, by_id)
                if args.direct:
                    module_on_trace(c, out, by_id, tm)
                    module_on_trace(c, out, by_id, tc, only_main=True)
        report_trace(t, len(cases))
        if args.direct:
            report_module_on_trace(tm, "every source, as trace reports edits today")
            report_module_on_trace(tc, "trace's main source only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
