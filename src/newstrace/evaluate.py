"""Measure the engine against ground truth.

- PAN text-alignment measures (Potthast et al. 2010, "An Evaluation Framework
  for Plagiarism Detection"): character-level precision (averaged over
  detections), recall (averaged over true cases), granularity and
  plagdet = F1 / log2(1 + granularity), per obfuscation type and overall.
- ``load_pan`` / ``run_pan``: align every (suspicious, source) pair of a
  directory in the pan13-train layout (``documents.jsonl.gz``,
  ``pairs.jsonl.gz``) and score the detections.
- ``run_basil``: the false-positive check on same-event, different-outlet news.

A detection or case is an :class:`Ann`: the suspicious document and range, the
source document and range, in characters (Python ``str`` indices).
"""

from __future__ import annotations

import gzip
import json
import math
import multiprocessing as mp
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from newstrace.errors import UserError
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.tokens import quotation_mask

#: Order in which obfuscation types are reported (others follow, sorted).
TYPE_ORDER = (
    "none", "verbatim", "random", "translation", "summary",
    "spin", "reorder", "insert", "delete", "composite",
)


class Ann(NamedTuple):
    """A case or a detection: a range of a suspicious and a range of a source document.

    The lengths are in characters; the size counts both documents.
    """

    suspicious: str
    susp_offset: int
    susp_length: int
    source: str
    src_offset: int
    src_length: int

    @property
    def pair(self) -> tuple[str, str]:
        return (self.suspicious, self.source)

    @property
    def size(self) -> int:
        """Characters counted for this annotation: both documents together."""
        return self.susp_length + self.src_length


# --------------------------------------------------------------------------- measures


def _overlap(a: Ann, b: Ann) -> bool:
    """Same document pair, and the ranges intersect in the suspicious and in the source."""
    return (
        a.suspicious == b.suspicious
        and a.source == b.source
        and a.susp_offset < b.susp_offset + b.susp_length
        and b.susp_offset < a.susp_offset + a.susp_length
        and a.src_offset < b.src_offset + b.src_length
        and b.src_offset < a.src_offset + a.src_length
    )


def _union_inside(lo: int, hi: int, ranges: Iterable[tuple[int, int]]) -> int:
    """How many positions of [lo, hi) lie in at least one of the half-open ``ranges``."""
    spans = sorted((max(s, lo), min(e, hi)) for s, e in ranges)
    total = 0
    run_start = run_end = None
    for s, e in spans:
        if s >= e:
            continue
        if run_end is None or s > run_end:
            if run_end is not None:
                total += run_end - run_start  # type: ignore[operator]
            run_start, run_end = s, e
        elif e > run_end:
            run_end = e
    if run_end is not None:
        total += run_end - run_start  # type: ignore[operator]
    return total


def _by_pair(anns: Iterable[Ann]) -> dict[tuple[str, str], list[Ann]]:
    groups: dict[tuple[str, str], list[Ann]] = defaultdict(list)
    for a in anns:
        groups[a.pair].append(a)
    return groups


def _covered(t: Ann, hits: Sequence[Ann]) -> tuple[int, int]:
    """Characters of ``t`` (suspicious, source) inside the ranges of ``hits``."""
    return (
        _union_inside(t.susp_offset, t.susp_offset + t.susp_length,
                      ((h.susp_offset, h.susp_offset + h.susp_length) for h in hits)),
        _union_inside(t.src_offset, t.src_offset + t.src_length,
                      ((h.src_offset, h.src_offset + h.src_length) for h in hits)),
    )


def _mean_coverage(targets: Sequence[Ann], others: Sequence[Ann]) -> float:
    """Mean over ``targets`` of the share of their characters covered by overlapping ``others``."""
    if not targets and not others:
        return 1.0
    if not targets or not others:
        return 0.0
    groups = _by_pair(others)
    acc = 0.0
    for t in targets:
        hits = [o for o in groups.get(t.pair, ()) if _overlap(t, o)]
        if not hits:
            continue
        in_susp, in_src = _covered(t, hits)
        acc += (in_susp + in_src) / t.size
    return acc / len(targets)


def recall(cases: Iterable[Ann], detections: Iterable[Ann]) -> float:
    """PAN macro recall: mean over cases of the share of the case's characters detected."""
    return _mean_coverage(sorted(set(cases)), sorted(set(detections)))


def precision(cases: Iterable[Ann], detections: Iterable[Ann]) -> float:
    """PAN macro precision: mean over detections of the share of the detection that is a case."""
    return _mean_coverage(sorted(set(detections)), sorted(set(cases)))


def granularity(cases: Iterable[Ann], detections: Iterable[Ann]) -> float:
    """Mean number of detections per detected case (1 when nothing is detected)."""
    cs, ds = sorted(set(cases)), sorted(set(detections))
    if not ds:
        return 1.0
    groups = _by_pair(ds)
    detected = hits = 0
    for c in cs:
        n = sum(1 for d in groups.get(c.pair, ()) if _overlap(c, d))
        if n:
            detected += 1
            hits += n
    return hits / detected if detected else 1.0


def plagdet(prec: float, rec: float, gran: float) -> float:
    """F1 of precision and recall, divided by log2(1 + granularity)."""
    if prec < 0 or rec < 0 or gran < 1 or (prec == 0 and rec == 0):
        return 0.0
    f1 = 2 * prec * rec / (prec + rec)
    return f1 / math.log2(1 + gran)


@dataclass(frozen=True)
class Scores:
    """PAN measures over one group of pairs."""

    precision: float
    recall: float
    granularity: float
    plagdet: float
    cases: int
    detections: int
    pairs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(cases: Iterable[Ann], detections: Iterable[Ann], pairs: int = 0) -> Scores:
    """All PAN measures for one set of cases and detections (duplicates counted once)."""
    cs, ds = sorted(set(cases)), sorted(set(detections))
    p, r, g = precision(cs, ds), recall(cs, ds), granularity(cs, ds)
    return Scores(p, r, g, plagdet(p, r, g), len(cs), len(ds), pairs)


@dataclass(frozen=True)
class Losses:
    """Where precision and recall go, each split into parts that add up exactly.

    ``1 - precision = outside + susp_excess + src_excess``: detections overlapping
    no case (real but unlisted reuse, or false matches), and the characters of
    the other detections beyond their cases, in the suspicious and in the source.
    ``1 - recall = missed + susp_partial + src_partial``: cases no detection
    overlaps, and the case characters the overlapping detections leave out.
    ``listed_only`` is what the measures would be without the ``outside`` detections.
    """

    outside: float
    susp_excess: float
    src_excess: float
    missed: float
    susp_partial: float
    src_partial: float
    outside_detections: int
    missed_cases: int
    listed_only: Scores

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def loss_breakdown(cases: Iterable[Ann], detections: Iterable[Ann], pairs: int = 0) -> Losses:
    """Split ``1 - precision`` and ``1 - recall`` of one group of pairs into their causes.

    Uses PAN's definitions (a detection and a case count for each other when
    they overlap in both documents), so the parts add up to the measured losses.

    >>> case = Ann("s", 0, 100, "r", 0, 100)
    >>> loss = loss_breakdown([case], [Ann("s", 50, 100, "r", 0, 100), Ann("s", 500, 50, "r", 500, 50)])
    >>> loss.outside, loss.susp_excess, loss.missed, loss.susp_partial
    (0.5, 0.125, 0.0, 0.25)
    """
    cs, ds = sorted(set(cases)), sorted(set(detections))
    n_out, susp_x, src_x, listed = _uncovered(ds, cs)
    n_missed, susp_p, src_p, _ = _uncovered(cs, ds)
    nd, nc = max(1, len(ds)), max(1, len(cs))
    return Losses(n_out / nd, susp_x / nd, src_x / nd, n_missed / nc, susp_p / nc, src_p / nc,
                  n_out, n_missed, score(cs, listed, pairs))


def losses_by_type(pairs: Sequence[PanPair], detections: Iterable[Ann]) -> dict[str, Losses]:
    """``loss_breakdown`` per obfuscation type over ``pairs`` (the pairs aligned: with
    ``--limit``, ``select_pairs``'s choice), for the detections on those pairs."""
    kind = {(p.suspicious, p.source): p.obfuscation for p in pairs}
    cases: dict[str, list[Ann]] = defaultdict(list)
    dets: dict[str, list[Ann]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for p in pairs:
        cases[p.obfuscation].extend(p.cases)
        counts[p.obfuscation] += 1
    for d in detections:
        if d.pair in kind:
            dets[kind[d.pair]].append(d)
    return {t: loss_breakdown(cases[t], dets[t], counts[t]) for t in _type_order(counts)}


def _uncovered(targets: Sequence[Ann], others: Sequence[Ann]) -> tuple[int, float, float, list[Ann]]:
    """How many ``targets`` no ``other`` overlaps, and over the rest the sums of the
    uncovered share per side (characters of the side left out / the target's size),
    with the rest themselves."""
    groups = _by_pair(others)
    alone = 0
    susp = src = 0.0
    met = []
    for t in targets:
        hits = [o for o in groups.get(t.pair, ()) if _overlap(t, o)]
        if not hits:
            alone += 1
            continue
        met.append(t)
        in_susp, in_src = _covered(t, hits)
        susp += (t.susp_length - in_susp) / t.size
        src += (t.src_length - in_src) / t.size
    return alone, susp, src, met


def _type_order(types: Iterable[str]) -> list[str]:
    present = set(types)
    return [t for t in TYPE_ORDER if t in present] + sorted(present - set(TYPE_ORDER))


@dataclass
class Evaluation:
    """Scores per obfuscation type and overall, with the detections that were left out."""

    by_type: dict[str, Scores]
    overall: Scores
    unlisted_detections: int = 0
    empty_detections: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_type": {k: v.to_dict() for k, v in self.by_type.items()},
            "overall": self.overall.to_dict(),
            "unlisted_detections": self.unlisted_detections,
            "empty_detections": self.empty_detections,
        }


def evaluate(
    pair_types: dict[tuple[str, str], str], cases: Iterable[Ann], detections: Iterable[Ann]
) -> Evaluation:
    """Score detections against cases, per type of the (suspicious, source) pair and overall.

    Detections on pairs absent from ``pair_types`` and detections of zero total
    length are not scored (they are counted).
    """
    kept: list[Ann] = []
    unlisted = empty = 0
    for d in detections:
        if d.pair not in pair_types:
            unlisted += 1
        elif d.size <= 0:
            empty += 1
        else:
            kept.append(d)
    case_list = list(cases)
    cases_by_type: dict[str, list[Ann]] = defaultdict(list)
    for c in case_list:
        cases_by_type[pair_types[c.pair]].append(c)
    dets_by_type: dict[str, list[Ann]] = defaultdict(list)
    for d in kept:
        dets_by_type[pair_types[d.pair]].append(d)
    pairs_by_type: dict[str, int] = defaultdict(int)
    for t in pair_types.values():
        pairs_by_type[t] += 1
    by_type = {
        t: score(cases_by_type[t], dets_by_type[t], pairs_by_type[t])
        for t in _type_order(pair_types.values())
    }
    overall = score(case_list, kept, len(pair_types))
    return Evaluation(by_type, overall, unlisted, empty)


# --------------------------------------------------------------------------- PAN-format I/O


def _open_text(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as ex:
                raise UserError(f"{path}:{n}: not JSON ({ex.msg})") from None
            if not isinstance(rec, dict):
                raise UserError(f"{path}:{n}: expected a JSON object")
            yield n, rec


def _find(directory: Path, stem: str) -> Path:
    for name in (f"{stem}.jsonl.gz", f"{stem}.jsonl"):
        if (directory / name).is_file():
            return directory / name
    raise UserError(f"{directory}: no {stem}.jsonl.gz (expected the pan13-train layout)")


@dataclass
class PanPair:
    """One listed (suspicious, source) pair with its true cases."""

    suspicious: str
    source: str
    obfuscation: str
    cases: list[Ann] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PanCorpus:
    """A directory in the pan13-train layout, read into memory."""

    documents: dict[str, str]
    pairs: list[PanPair]
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> other fields

    @property
    def pair_types(self) -> dict[tuple[str, str], str]:
        return {(p.suspicious, p.source): p.obfuscation for p in self.pairs}

    @property
    def cases(self) -> list[Ann]:
        return [c for p in self.pairs for c in p.cases]


def load_pan(directory: str | os.PathLike[str]) -> PanCorpus:
    """Read ``documents.jsonl.gz`` and ``pairs.jsonl.gz`` from a PAN-layout directory."""
    d = Path(directory)
    if not d.is_dir():
        raise UserError(f"{d}: not a directory")
    docs: dict[str, str] = {}
    meta: dict[str, dict[str, Any]] = {}
    dpath = _find(d, "documents")
    for n, rec in _jsonl(dpath):
        if not isinstance(rec.get("id"), str) or not isinstance(rec.get("text"), str):
            raise UserError(f"{dpath}:{n}: a document needs string 'id' and 'text'")
        docs[rec["id"]] = rec["text"]
        rest = {k: v for k, v in rec.items() if k not in ("id", "text")}
        if rest:
            meta[rec["id"]] = rest
    pairs: list[PanPair] = []
    ppath = _find(d, "pairs")
    for n, rec in _jsonl(ppath):
        try:
            susp, src, obf = rec["suspicious"], rec["source"], rec["obfuscation"]
            cases = [
                Ann(susp, int(c["susp_offset"]), int(c["susp_length"]),
                    src, int(c["src_offset"]), int(c["src_length"]))
                for c in rec.get("cases", [])
            ]
        except (KeyError, TypeError, ValueError) as ex:
            raise UserError(f"{ppath}:{n}: bad pair record ({ex!r})") from None
        for doc_id in (susp, src):
            if doc_id not in docs:
                raise UserError(f"{ppath}:{n}: document {doc_id!r} is not in {dpath.name}")
        extra = {k: v for k, v in rec.items()
                 if k not in ("suspicious", "source", "obfuscation", "cases")}
        extra["case_records"] = rec.get("cases", [])
        pairs.append(PanPair(susp, src, obf, cases, extra))
    return PanCorpus(docs, pairs, meta)


def read_detections(path: str | os.PathLike[str]) -> list[Ann]:
    """Read a detections JSONL file (the format ``pan_measures.py`` reads)."""
    p = Path(path)
    out = []
    for n, rec in _jsonl(p):
        try:
            out.append(Ann(rec["suspicious"], int(rec["susp_offset"]), int(rec["susp_length"]),
                           rec["source"], int(rec["src_offset"]), int(rec["src_length"])))
        except (KeyError, TypeError, ValueError) as ex:
            raise UserError(f"{p}:{n}: bad detection line ({ex!r})") from None
    return out


def write_detections(path: str | os.PathLike[str], detections: Iterable[Ann]) -> None:
    """Write detections as JSONL, one per line (``.gz`` suffix: gzip)."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "wt", encoding="utf-8") as f:  # type: ignore[operator]
        for d in detections:
            f.write(json.dumps(d._asdict()) + "\n")


# --------------------------------------------------------------------------- running the engine

#: The recall-oriented preset (``--sensitive``): the lax stages of the defaults (the
#: sentence-seed stage with the thresholds of Sanchez-Perez, Gelbukh & Sidorov, cosine
#: and Dice 0.33, and its summary mode; short fragments of exact runs,
#: ``short_min_matched``: 14 run tokens in 5 distinct runs of 3+ tokens close together)
#: and the bag extension (``bag_extend_density``: passages grow over reordered text at
#: their edges), *without* the topic test (``topic_contrast`` 0). It finds a little more
#: reworded text on PAN, and much more same-event paraphrase between independent news
#: articles (see ``run_basil``).
SENSITIVE_OVERRIDES: dict[str, Any] = {
    "sentence_seeds": True,
    "sp_min_cos": 0.33,
    "sp_min_dice": 0.33,
    "sp_min_tokens": 30,
    "sp_summary_gap": 40,
    "short_min_matched": 14,
    "short_min_runs": 5,
    "topic_contrast": 0.0,
    "bag_extend_density": 0.5,
}


def sensitive_params(params: Params | None = None) -> Params:
    """``params`` (default: the defaults) with the recall-oriented preset applied."""
    return (params or DEFAULT_PARAMS).with_overrides(**SENSITIVE_OVERRIDES)


#: An aligner: (a, b, params) -> passages with a_start/a_end/b_start/b_end.
Aligner = Callable[[str, str, Params | None], Sequence[Any]]


def _default_aligner() -> Aligner:
    from newstrace.align import align_texts

    return align_texts


_worker_aligner: Aligner | None = None
_worker_params: Params | None = None


def _worker_init(aligner: Aligner | None, params: Params | None) -> None:
    global _worker_aligner, _worker_params
    _worker_aligner = aligner or _default_aligner()
    _worker_params = params


def _align_task(
    task: tuple[int, str, str],
) -> tuple[int, list[tuple[int, int, int, int]], float, int, float]:
    """-> (index, spans, CPU s of this call, worker pid, CPU s of the worker so far)."""
    idx, susp_text, src_text = task
    assert _worker_aligner is not None
    t0 = time.process_time()
    passages = _worker_aligner(susp_text, src_text, _worker_params)
    spans = [(p.a_start, p.a_end, p.b_start, p.b_end) for p in passages]
    t1 = time.process_time()
    return idx, spans, t1 - t0, os.getpid(), t1


def align_pairs(
    tasks: Sequence[tuple[str, str]],
    params: Params | None = None,
    workers: int = 2,
    aligner: Aligner | None = None,
) -> tuple[list[list[tuple[int, int, int, int]]], float, float]:
    """Align each (a, b) text pair; -> (spans per pair, worker CPU s, align CPU s), totals.

    Worker CPU is the whole CPU time of the worker processes (start-up and
    JIT compilation included); align CPU counts the aligner calls only.
    """
    results: list[list[tuple[int, int, int, int]]] = [[] for _ in tasks]
    numbered = [(i, a, b) for i, (a, b) in enumerate(tasks)]
    if workers <= 1:
        t0 = time.process_time()
        _worker_init(aligner, params)
        align_cpu = 0.0
        for task in numbered:
            i, spans, cpu, _, _ = _align_task(task)
            results[i] = spans
            align_cpu += cpu
        return results, time.process_time() - t0, align_cpu
    # Worker CPU: each worker's own process CPU time (start-up, imports and JIT
    # included) as of its last task; robust to the start method.
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    align_cpu = 0.0
    per_worker: dict[int, float] = {}
    with ctx.Pool(workers, initializer=_worker_init, initargs=(aligner, params)) as pool:
        for i, spans, cpu, pid, total in pool.imap_unordered(_align_task, numbered, chunksize=4):
            results[i] = spans
            align_cpu += cpu
            per_worker[pid] = max(total, per_worker.get(pid, 0.0))
        pool.close()
        pool.join()
    return results, sum(per_worker.values()), align_cpu


@dataclass
class PanRun:
    """What ``run_pan`` measured."""

    evaluation: Evaluation
    detections: list[Ann]
    pairs: int
    negative_pairs: int
    negative_detections: int  # detections on `none` pairs
    negative_pairs_hit: int  # `none` pairs with at least one detection
    worker_cpu_s: float
    align_cpu_s: float
    wall_s: float
    workers: int

    @property
    def cpu_s_per_pair(self) -> float:
        return self.worker_cpu_s / self.pairs if self.pairs else 0.0

    @property
    def align_cpu_s_per_pair(self) -> float:
        return self.align_cpu_s / self.pairs if self.pairs else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = self.evaluation.to_dict()
        d.update(
            pairs=self.pairs,
            negative_pairs=self.negative_pairs,
            negative_detections=self.negative_detections,
            negative_pairs_hit=self.negative_pairs_hit,
            cpu_s_per_pair=self.cpu_s_per_pair,
            align_cpu_s_per_pair=self.align_cpu_s_per_pair,
            wall_s=self.wall_s,
            workers=self.workers,
        )
        return d


def select_pairs(
    pairs: Sequence[PanPair], limit: int | None = None, types: Iterable[str] | None = None
) -> list[PanPair]:
    """The first ``limit`` pairs of each obfuscation type (in file order), of ``types`` only."""
    wanted = set(types) if types else None
    taken: dict[str, int] = defaultdict(int)
    out = []
    for p in pairs:
        if wanted is not None and p.obfuscation not in wanted:
            continue
        if limit is not None and taken[p.obfuscation] >= limit:
            continue
        taken[p.obfuscation] += 1
        out.append(p)
    return out


#: PAN output: detections of one pair this close on both sides (chars) are one detection.
PAN_JOIN_A = 200
PAN_JOIN_B = 400


def join_detections(
    spans: Sequence[tuple[int, int, int, int]], gap_a: int = PAN_JOIN_A, gap_b: int = PAN_JOIN_B
) -> list[tuple[int, int, int, int]]:
    """Join a pair's detections lying within ``gap_a`` chars in the suspicious text and
    ``gap_b`` chars in the source, in either order (PAN output policy).

    The engine reports sentences swapped inside a reused passage as two passages
    (their order crosses); PAN counts one case detected twice (granularity), so the
    PAN output joins them, as PAN systems do (Sanchez-Perez et al. merge adjacent
    fragments too). Two copies from distant places of the source stay apart.

    >>> join_detections([(0, 100, 500, 600), (110, 200, 380, 480), (900, 950, 0, 50)])
    [(0, 200, 380, 600), (900, 950, 0, 50)]
    """
    out = sorted(spans)
    if gap_a < 0 or len(out) < 2:
        return list(out)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a0, a1, b0, b1 = out[i]
                c0, c1, d0, d1 = out[j]
                if max(a0, c0) - min(a1, c1) <= gap_a and max(b0, d0) - min(b1, d1) <= gap_b:
                    out[i] = (min(a0, c0), max(a1, c1), min(b0, d0), max(b1, d1))
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return sorted(out)


def run_pan(
    directory: str | os.PathLike[str] | PanCorpus,
    params: Params | None = None,
    workers: int = 2,
    limit: int | None = None,
    types: Iterable[str] | None = None,
    detections_out: str | os.PathLike[str] | None = None,
    aligner: Aligner | None = None,
    join: tuple[int, int] = (PAN_JOIN_A, PAN_JOIN_B),
) -> PanRun:
    """Align every listed pair (a = suspicious, b = source) and score it with the PAN measures.

    ``join``: (suspicious, source) char gaps for ``join_detections`` ((-1, -1): off).

    ``limit`` keeps the first N pairs of each type, ``types`` some types only;
    scores then cover the selected pairs. ``detections_out`` also writes the
    detections JSONL that ``pan_measures.py`` reads.
    """
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    if workers < 1:
        raise UserError("--workers must be at least 1")
    corpus = directory if isinstance(directory, PanCorpus) else load_pan(directory)
    chosen = select_pairs(corpus.pairs, limit, types)
    if not chosen:
        raise UserError("no pairs to evaluate (check --types / the pairs file)")
    docs = corpus.documents
    t0 = time.perf_counter()
    spans, worker_cpu, align_cpu = align_pairs(
        [(docs[p.suspicious], docs[p.source]) for p in chosen], params, workers, aligner
    )
    wall = time.perf_counter() - t0
    spans = [join_detections(s, *join) for s in spans]
    detections = [
        Ann(p.suspicious, a0, a1 - a0, p.source, b0, b1 - b0)
        for p, pair_spans in zip(chosen, spans, strict=True)
        for a0, a1, b0, b1 in pair_spans
    ]
    if detections_out is not None:
        write_detections(detections_out, detections)
    pair_types = {(p.suspicious, p.source): p.obfuscation for p in chosen}
    evaluation = evaluate(pair_types, [c for p in chosen for c in p.cases], detections)
    neg = [(p, s) for p, s in zip(chosen, spans, strict=True) if p.obfuscation == "none"]
    return PanRun(
        evaluation=evaluation,
        detections=detections,
        pairs=len(chosen),
        negative_pairs=len(neg),
        negative_detections=sum(len(s) for _, s in neg),
        negative_pairs_hit=sum(1 for _, s in neg if s),
        worker_cpu_s=worker_cpu,
        align_cpu_s=align_cpu,
        wall_s=wall,
        workers=workers,
    )


# --------------------------------------------------------------------------- composites


def composite_attribution(
    corpus: PanCorpus, detections: Iterable[Ann]
) -> dict[str, Any]:
    """Share of stitched sentences of synthetic composites attributed to their true source.

    ``synth`` stores each composite case's sentences (``sentences``: [[offset,
    length], ...] in the suspicious text). A sentence is attributed to the
    source whose detections cover most of its characters; it counts as right
    when that source is the case's own.
    """
    cover: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for d in detections:
        cover[d.suspicious].append((d.source, d.susp_offset, d.susp_offset + d.susp_length))
    total = right = 0
    for p in corpus.pairs:
        if p.obfuscation != "composite":
            continue
        for rec in p.extra.get("case_records", []):
            for off, length in rec.get("sentences", []):
                total += 1
                best, best_n = None, 0
                by_src: dict[str, list[tuple[int, int]]] = defaultdict(list)
                for src, s, e in cover.get(p.suspicious, ()):
                    by_src[src].append((s, e))
                for src, ranges in sorted(by_src.items()):
                    n = _union_inside(off, off + length, ranges)
                    if n > best_n:
                        best, best_n = src, n
                if best == p.source:
                    right += 1
    return {"sentences": total, "attributed": right,
            "share": right / total if total else float("nan")}


# --------------------------------------------------------------------------- BASIL


def quoted_share(text: str, start: int, end: int) -> float:
    """Share of ``text[start:end]`` inside direct quotations, as the engine's derived
    share sees them (``tokens.quotation_mask``: curly, straight and mixed marks,
    quotations running over paragraphs, block quotations after a colon)."""
    if end <= start:
        return 0.0
    return float(quotation_mask(text)[start:end].sum()) / (end - start)


@dataclass
class BasilRun:
    """Cross-outlet pairs of same-event articles and the passages found in them."""

    events: int
    pairs: int
    pairs_with_passages: int
    passages: list[dict[str, Any]]
    cpu_s: float
    pairs_called_derived: int = 0
    """Pairs where the derived share of either article (``provenance.derived_share``:
    copied prose outside quotations, from the word alignment of its passages, over its
    length) reaches ``Params.partially_derived``: the engine would call it derived."""
    max_reused_share: float = 0.0
    """Largest reused share of an article over all pairs."""

    @property
    def quoted_passages(self) -> int:
        """Passages at least half inside quotation marks on both sides."""
        return sum(1 for p in self.passages if min(p["a_quoted"], p["b_quoted"]) >= 0.5)

    @property
    def pairs_with_unquoted(self) -> int:
        """Pairs with a passage that is mostly outside quotation marks (likely copied prose)."""
        return len({(p["a_id"], p["b_id"]) for p in self.passages
                    if min(p["a_quoted"], p["b_quoted"]) < 0.5})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(quoted_passages=self.quoted_passages,
                 pairs_with_unquoted=self.pairs_with_unquoted)
        return d


def _read_jsonl_any(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    return [rec for _, rec in _jsonl(path)]


def run_basil(
    path: str | os.PathLike[str],
    params: Params | None = None,
    aligner: Aligner | None = None,
    limit: int | None = None,
) -> BasilRun:
    """Align the three cross-outlet pairs of each BASIL event; list every passage found.

    The articles are written independently, so a passage should be a shared
    quotation, never copied reporting.
    """
    rows = _read_jsonl_any(Path(path))
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n, r in enumerate(rows, 1):
        if not isinstance(r.get("text"), str) or "event" not in r:
            raise UserError(f"{path}:{n}: a BASIL record needs 'event' and 'text'")
        events[str(r["event"])].append(r)
    align = aligner or _default_aligner()
    found: list[dict[str, Any]] = []
    n_pairs = hit = derived = 0
    top_share = 0.0
    threshold = (params or DEFAULT_PARAMS).partially_derived
    t0 = time.process_time()
    for k, ev in enumerate(sorted(events)):
        if limit is not None and k >= limit:
            break
        arts = sorted(events[ev], key=lambda r: str(r.get("id")))
        for i in range(len(arts)):
            for j in range(i + 1, len(arts)):
                a, b = arts[i], arts[j]
                if a.get("outlet") is not None and a.get("outlet") == b.get("outlet"):
                    continue
                n_pairs += 1
                ps = align(a["text"], b["text"], params)
                if ps:
                    hit += 1
                    ab = [(p.a_start, p.a_end, p.b_start, p.b_end) for p in ps]
                    share = max(_derived(a["text"], b["text"], ab),
                                _derived(b["text"], a["text"], [(w, x, y, z) for y, z, w, x in ab]))
                    top_share = max(top_share, share)
                    if share >= threshold:
                        derived += 1
                for p in ps:
                    found.append({
                        "event": ev,
                        "a_id": a.get("id"), "b_id": b.get("id"),
                        "a_outlet": a.get("outlet"), "b_outlet": b.get("outlet"),
                        "a_start": p.a_start, "a_end": p.a_end,
                        "b_start": p.b_start, "b_end": p.b_end,
                        "score": float(p.score),
                        "a_quoted": quoted_share(a["text"], p.a_start, p.a_end),
                        "b_quoted": quoted_share(b["text"], p.b_start, p.b_end),
                        "a_text": a["text"][p.a_start:p.a_end],
                        "b_text": b["text"][p.b_start:p.b_end],
                    })
    return BasilRun(min(len(events), limit or len(events)), n_pairs, hit, found,
                    time.process_time() - t0, derived, top_share)


def _derived(text: str, other: str, spans: list[tuple[int, int, int, int]]) -> float:
    """The share the engine classifies by: copied prose outside direct quotations
    (``provenance.derived_share`` with the passages' word alignment), spans being
    ``(start, end, other_start, other_end)``."""
    from newstrace.provenance import derived_share

    mask = np.zeros(len(text), dtype=bool)
    for s, e, _, _ in spans:
        mask[s:e] = True
    return derived_share(text, mask, [(other, spans)])


def _covered_share(spans: list[tuple[int, int]], length: int) -> float:
    """Share of ``length`` characters covered by the union of ``spans``."""
    if length <= 0:
        return 0.0
    covered = 0
    end = 0
    for s, e in sorted(spans):
        s = max(s, end)
        if e > s:
            covered += e - s
            end = e
    return covered / length


__all__ = [
    "Ann",
    "BasilRun",
    "Evaluation",
    "PanCorpus",
    "PanPair",
    "PanRun",
    "Scores",
    "align_pairs",
    "composite_attribution",
    "evaluate",
    "granularity",
    "load_pan",
    "plagdet",
    "precision",
    "quoted_share",
    "read_detections",
    "recall",
    "run_basil",
    "run_pan",
    "score",
    "select_pairs",
    "write_detections",
]


@dataclass
class HelsinkiRun:
    """Reuse clusters found in a corpus of real coverage by many publishers."""

    documents: int
    publishers: int
    clusters: int
    clusters_multi_publisher: int
    top: list[dict[str, Any]] = field(default_factory=list)
    boilerplate: dict[str, Any] = field(default_factory=dict)
    """The same passages clustered with page boilerplate taken out
    (``boilerplate.passages_for_clustering``): clusters, clusters reaching 2+
    publishers, widest clusters (documents, publishers, first text), boilerplate share."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cluster_reach(members: Any, publisher: dict[int, Any]) -> list[tuple[int, int, int]]:
    """``(cluster_id, documents, publishers)`` of clusters of 2+ documents, widest first."""
    docs_of: dict[int, set[int]] = defaultdict(set)
    for m in members:
        docs_of[m.cluster_id].add(m.doc_key)
    reach = [(c, len(ds), len({publisher[d] for d in ds})) for c, ds in docs_of.items()
             if len(ds) >= 2]
    return sorted(reach, key=lambda r: (-r[2], -r[1], r[0]))


def run_helsinki(path: str | Path, params: Params | None = None, top: int = 10) -> HelsinkiRun:
    """Index ``path`` (e.g. helsinki.jsonl.gz) in a temporary database and report the
    reuse clusters: how many, and how many publishers each reaches (wire reprints);
    and the same with page boilerplate left out of clustering.
    """
    import tempfile

    from newstrace.boilerplate import boilerplate_spans, passages_for_clustering
    from newstrace.cluster import cluster_passages, story_families
    from newstrace.index import Index

    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "h.duckdb", params) as idx:
        idx.ingest([path])
        idx.build()
        con = idx.con
        n_docs, n_pub = con.execute(
            "SELECT count(*), count(DISTINCT publisher) FROM documents").fetchall()[0]
        reach = con.execute(
            """SELECT m.cluster_id, count(DISTINCT m.doc_key), count(DISTINCT d.publisher)
               FROM cluster_members m JOIN documents d USING (doc_key)
               GROUP BY m.cluster_id HAVING count(DISTINCT m.doc_key) >= 2
               ORDER BY 3 DESC, 2 DESC, 1"""
        ).fetchall()
        tops = []
        for cid, n, pubs in reach[:top]:
            c = idx.cluster(cid)
            tops.append({"cluster_id": cid, "documents": n, "publishers": pubs,
                         "earliest_id": c["earliest_id"], "text": c["text"][:160]})
        docs = con.execute("SELECT doc_key, publisher, text FROM documents").fetchall()
        rows = con.execute(
            "SELECT a_key, a_start, a_end, b_key, b_start, b_end FROM passages").fetchall()
    publisher = {k: p for k, p, _ in docs}
    text = {k: t for k, _, t in docs}
    spans = boilerplate_spans(docs)
    kept = passages_for_clustering(rows, docs)
    members = cluster_passages(kept)
    after = _cluster_reach(members, publisher)
    first: dict[int, tuple[int, int, int]] = {}
    for m in members:
        first.setdefault(m.cluster_id, (m.doc_key, m.start, m.end))
    families = story_families([(r[0], r[3]) for r in kept])
    fam_size: dict[int, int] = defaultdict(int)
    for f in families.values():
        fam_size[f] += 1
    bp_chars = sum(e - s for v in spans.values() for s, e in v)
    boiler = {
        "passages": len(rows), "passages_kept": len(kept),
        "boilerplate_share": round(bp_chars / max(1, sum(len(t) for t in text.values())), 4),
        "clusters": len(after), "clusters_multi_publisher": sum(1 for r in after if r[2] >= 2),
        "largest_family": max(fam_size.values(), default=0),
        "top": [{"cluster_id": c, "documents": n, "publishers": p,
                 "text": text[first[c][0]][first[c][1]:first[c][2]][:160]}
                for c, n, p in after[:top]],
    }
    return HelsinkiRun(
        documents=int(n_docs), publishers=int(n_pub), clusters=len(reach),
        clusters_multi_publisher=sum(1 for _, _, p in reach if p >= 2), top=tops,
        boilerplate=boiler,
    )

