"""Corpus-wide provenance: who was first, who copied whom, how much, and what changed.

Built from the stored ``passages``, ``clusters`` and document dates; writes four
tables (rebuilt as a whole, like ``clusters``):

``edges(source_id, target_id, chars, passages, source_key, target_key, basis)``
    The directed reuse graph: ``target`` reuses ``chars`` characters (union of its
    spans) of ``source`` in ``passages`` passages. ``basis`` says how the direction
    was decided (see *Direction* below); ``tie``/``unknown`` rows are undirected
    (``source_id`` is then the smaller id).
``doc_provenance(doc_key, id, share_reused, class, composite, n_sources, spin_score,
earliest_source, spun, n_substitutions, n_insertions, n_deletions, n_moved,
aligned_words, sources_json)``
    Per document: the share of its characters reused from *earlier* documents, the
    METER class (``Params.wholly_derived`` / ``Params.partially_derived``), the
    composite flag with the independent sources (JSON: id, copies, share, spans), the
    spin score and the edits against its sources.
``substitutions(source, replacement, count, n_docs, lexical)``
    The corpus substitution dictionary (casefolded pairs), most widespread first.
``cluster_provenance(cluster_id, earliest_id, earliest_ids, label, n_undated,
clock_skew)``
    The earliest source of each reuse cluster, with ties, undated members and clock
    skew spelled out in ``label``.

One implementation, two engines
-------------------------------
The work is split into pure steps over plain values: :func:`pair_edge` (per document
pair), :func:`document_provenance` (per target document: its passages against the
earlier sources, with their texts), the dictionary reduce (:func:`substitution_counts`,
:func:`substitution_row`, :func:`substitution_order`), :func:`finish_document` (spin
score, per document, given the dictionary's document counts) and
:func:`cluster_provenance` (per cluster). :func:`analyse` chains them on one machine
for the DuckDB engine; ``newstrace.spark.provenance`` calls the same functions inside
``mapInArrow`` and writes the same four tables as Parquet.

Direction (documented rule)
---------------------------
For each aligned document pair:

1. *Credit evidence*: a copy usually keeps the original's credit ("ASTANA (BPA) —",
   "… | Northwire", "Copyright … Northwire"). The pair has evidence that A is the
   source when B's text credits A's publisher (its full name, or a parenthesised
   first word / initials such as "(BPA)") and A's text does not credit B's.
2. Both dated and more than ``CLOCK_SKEW`` apart: the earlier one is the source,
   whatever the evidence (``basis = date``).
3. Both dated within ``CLOCK_SKEW`` (1 hour), including the same timestamp: evidence
   decides. When it contradicts the dates, the later-dated document is the source
   and the pair is flagged ``basis = clock-skew`` (the copy's clock or time zone is
   off). Without evidence, different timestamps keep their order (``date``) and
   equal ones are ``tie``: equally early, never guessed.
4. One undated: evidence decides (``evidence``); without it the dated document is
   presumed the source (``undated``) — an undated copy is shown as derived, and its
   cluster's earliest source is qualified ("unknown — earliest dated copy is X")
   unless evidence shows the undated copy is derived.
5. Both undated: evidence, else ``unknown`` (undirected).

Only directed edges whose source is earlier count as reuse *from earlier documents*.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from newstrace.provenance import (
    attribute,
    earliest_label,
    edit_dict,
    is_lexical_substitution,
    is_spun,
    spin_score,
)
from newstrace.store import get_meta, registered, set_meta
from newstrace.tokens import split_sentences

#: Two dates closer than this may be clock skew: credit evidence decides the direction.
CLOCK_SKEW = timedelta(hours=1)

DIRECTED = ("date", "evidence", "clock-skew", "undated")

SCHEMA = """
CREATE TABLE IF NOT EXISTS edges(
    source_id VARCHAR NOT NULL, target_id VARCHAR NOT NULL, chars INTEGER NOT NULL,
    passages INTEGER NOT NULL, source_key INTEGER, target_key INTEGER, basis VARCHAR
);
CREATE TABLE IF NOT EXISTS doc_provenance(
    doc_key INTEGER NOT NULL, id VARCHAR NOT NULL, share_reused DOUBLE, class VARCHAR,
    composite BOOLEAN, n_sources INTEGER, spin_score DOUBLE, earliest_source VARCHAR,
    spun BOOLEAN, n_substitutions INTEGER, n_insertions INTEGER, n_deletions INTEGER,
    n_moved INTEGER, aligned_words INTEGER, sources_json VARCHAR
);
CREATE TABLE IF NOT EXISTS substitutions(
    source VARCHAR NOT NULL, replacement VARCHAR NOT NULL, count INTEGER NOT NULL,
    n_docs INTEGER NOT NULL, lexical BOOLEAN
);
CREATE TABLE IF NOT EXISTS cluster_provenance(
    cluster_id INTEGER NOT NULL, earliest_id VARCHAR, earliest_ids VARCHAR, label VARCHAR,
    n_undated INTEGER, clock_skew BOOLEAN
);
"""

_STOP = {"the", "a", "an", "of", "and", "news", "daily", "online", "press"}



def _credit_re(publisher: str | None) -> re.Pattern[str] | None:
    """A pattern matching a credit to ``publisher`` in an article's text."""
    if not publisher or not publisher.strip():
        return None
    words = re.findall(r"[^\W_]+", publisher)
    alts = [re.escape(publisher.strip())]
    inner = []
    if words and words[0].casefold() not in _STOP and len(words[0]) >= 4:
        inner.append(re.escape(words[0]))
    caps = "".join(w[0] for w in words if w[0].isupper())
    if len(caps) >= 3:
        inner.append(re.escape(caps))
    if inner:
        alts.append(r"\((?:" + "|".join(inner) + r")\b[^)\n]{0,40}\)")
    return re.compile("|".join(alts))


def credits(text: str, publisher: str | None) -> bool:
    """Does ``text`` credit ``publisher`` (full name, or "(First…)" / "(INITIALS)")?

    >>> credits("ASTANA (BPA) — Russia and ...", "Baltic Press Agency")
    True
    >>> credits("Southern Portugal was hit", "Southern Cross Wire")
    False
    """
    pat = _credit_re(publisher)
    return bool(pat and pat.search(text))


def credit_evidence(a: dict[str, Any], b: dict[str, Any]) -> int:
    """+1: evidence that ``a`` is the source of ``b``; -1: the reverse; 0: none."""
    pa_, pb_ = a.get("publisher"), b.get("publisher")
    if not pa_ or not pb_ or pa_.strip().casefold() == pb_.strip().casefold():
        return 0
    b_credits_a = credits(b["text"], pa_)
    a_credits_b = credits(a["text"], pb_)
    if b_credits_a and not a_credits_b:
        return 1
    if a_credits_b and not b_credits_a:
        return -1
    return 0


def direction(a: dict[str, Any], b: dict[str, Any]) -> tuple[bool | None, str]:
    """Which of two aligned documents is the source (the module docstring's rule).

    Returns ``(a_is_source, basis)``; ``a_is_source`` is None for ``tie``/``unknown``.
    """
    ta, tb = a.get("published_at"), b.get("published_at")
    if ta is not None and tb is not None:
        delta = (tb - ta).total_seconds()
        if abs(delta) > CLOCK_SKEW.total_seconds():
            return delta > 0, "date"
        ev = credit_evidence(a, b)
        if ev:
            a_src = ev > 0
            if (a_src and delta < 0) or (not a_src and delta > 0):
                return a_src, "clock-skew"
            return a_src, "evidence" if delta == 0 else "date"
        if delta == 0:
            return None, "tie"
        return delta > 0, "date"
    ev = credit_evidence(a, b)
    if ev:
        return ev > 0, "evidence"
    if ta is not None or tb is not None:
        return ta is not None, "undated"
    return None, "unknown"


# ------------------------------------------------------------------------------ pure steps
# Each step takes plain values (dicts of document fields, lists of spans) and returns
# plain rows, so the DuckDB engine (``analyse`` below) and the Spark engine
# (``newstrace.spark.provenance``: one call per pair / target / cluster inside
# ``mapInArrow``) run the very same code.

#: ``(a_start, a_end, b_start, b_end)`` of a passage, or ``(t0, t1, s0, s1)`` once oriented
#: target-first by :func:`pair_edge`.
Span = tuple[int, int, int, int]

#: Columns of the four tables, in the order of ``SCHEMA``.
EDGE_COLUMNS = ["source_id", "target_id", "chars", "passages", "source_key", "target_key", "basis"]
DOC_COLUMNS = [
    "doc_key", "id", "share_reused", "class", "composite", "n_sources", "spin_score",
    "earliest_source", "spun", "n_substitutions", "n_insertions", "n_deletions", "n_moved",
    "aligned_words", "sources_json",
]
SUBSTITUTION_COLUMNS = ["source", "replacement", "count", "n_docs", "lexical"]
CLUSTER_COLUMNS = ["cluster_id", "earliest_id", "earliest_ids", "label", "n_undated", "clock_skew"]

#: Arrow types of the four tables (what ``compute_provenance`` inserts and the Spark
#: engine writes as Parquet).
ARROW_TYPES: dict[str, dict[str, pa.DataType]] = {
    "edges": {
        "source_id": pa.string(), "target_id": pa.string(), "chars": pa.int32(),
        "passages": pa.int32(), "source_key": pa.int32(), "target_key": pa.int32(),
        "basis": pa.string(),
    },
    "doc_provenance": {
        "doc_key": pa.int32(), "id": pa.string(), "share_reused": pa.float64(),
        "class": pa.string(), "composite": pa.bool_(), "n_sources": pa.int32(),
        "spin_score": pa.float64(), "earliest_source": pa.string(), "spun": pa.bool_(),
        "n_substitutions": pa.int32(), "n_insertions": pa.int32(), "n_deletions": pa.int32(),
        "n_moved": pa.int32(), "aligned_words": pa.int32(), "sources_json": pa.string(),
    },
    "substitutions": {
        "source": pa.string(), "replacement": pa.string(), "count": pa.int32(),
        "n_docs": pa.int32(), "lexical": pa.bool_(),
    },
    "cluster_provenance": {
        "cluster_id": pa.int32(), "earliest_id": pa.string(), "earliest_ids": pa.string(),
        "label": pa.string(), "n_undated": pa.int32(), "clock_skew": pa.bool_(),
    },
}


def pair_edge(
    a: dict[str, Any], b: dict[str, Any], spans: list[Span]
) -> tuple[dict[str, Any], list[Span], bool]:
    """Direct one aligned document pair (per-pair step).

    Args:
        a, b: the two documents (``doc_key``, ``id``, ``publisher``, ``published_at``,
            ``text``).
        spans: their passages as ``(a_start, a_end, b_start, b_end)``.

    Returns:
        ``(edge, oriented, directed)``: the ``edges`` row; the spans turned
        target-first ``(t0, t1, s0, s1)``; False for ``tie``/``unknown`` (then the
        source is the document with the smaller id and nothing is derived).
    """
    a_src, basis = direction(a, b)
    if a_src is None:
        s, t = (a, b) if str(a["id"]) <= str(b["id"]) else (b, a)
    else:
        s, t = (a, b) if a_src else (b, a)
    flip = t["doc_key"] == b["doc_key"]
    oriented = [(p[2], p[3], p[0], p[1]) if flip else (p[0], p[1], p[2], p[3]) for p in spans]
    edge = {
        "source_id": s["id"], "target_id": t["id"], "source_key": s["doc_key"],
        "target_key": t["doc_key"], "chars": _union_len([(x[0], x[1]) for x in oriented]),
        "passages": len(oriented), "basis": basis,
    }
    return edge, oriented, a_src is not None


def _date_key(d: dict[str, Any]) -> tuple[bool, datetime, str]:
    t = d.get("published_at")
    return (t is None, t or datetime.max, str(d["id"]))


def document_provenance(
    target: dict[str, Any],
    incoming: list[tuple[dict[str, Any], list[Span], str]],
    tied_ids: list[str],
    params: Any,
    keep_details: bool = False,
) -> tuple[dict[str, Any], list[tuple[str, str]], list[dict[str, Any]]]:
    """Provenance of one document that takes part in some passage (per-target step).

    Args:
        target: ``doc_key``, ``id``, ``text`` of the document.
        incoming: one entry per directed edge into it: the source document (``doc_key``,
            ``id``, ``published_at``, ``text``), the oriented spans ``(t0, t1, s0, s1)``
            (:func:`pair_edge`) and the edge's basis.
        tied_ids: ids of the documents it is tied with (``tie``/``unknown`` edges).
        params: the index ``Params`` (class thresholds).
        keep_details: also return, per independent source, its alignment.

    Returns:
        ``(record, substitutions, details)``: the ``doc_provenance`` row, still without
        ``spin_score``/``spun``/``n_substitutions`` (they need the corpus dictionary:
        :func:`finish_document`) and with ``sources`` as a list; the (source,
        replacement) word pairs of its edits; the details (empty unless asked).
    """
    key = target["doc_key"]
    text = target["text"]
    spans_of: dict[str, list[Span]] = {}
    basis_of: dict[str, str] = {}
    src_of: dict[str, dict[str, Any]] = {}
    for src, spans, basis in incoming:
        sid = str(src["id"])
        spans_of[sid] = list(spans)
        basis_of[sid] = basis
        src_of[sid] = src
    att = attribute(text, spans_of, src_of, params, basis=basis_of, detail=False)
    n_ins = sum(1 for eds in att.lead_edits.values() for e in eds if e.kind == "insertion")
    n_del = sum(1 for eds in att.lead_edits.values() for e in eds if e.kind == "deletion")
    sources_out = [
        {
            "id": g.id, "copies": list(g.copies), "share": g.share,
            "spans": [list(x) for x in g.spans], "basis": g.basis,
            "published_at": _iso(g.published_at), "main": g.main,
        }
        for g in att.groups
    ]
    det = []
    if keep_details:
        for g in att.groups:
            moved_idx = [i for i, (s, _) in enumerate(split_sentences(text))
                         if any(mv.dst_span[0] == s for sid, mv in att.moves if sid == g.id)]
            det.append(
                {
                    "source_id": g.id, "source": src_of[g.id], "copies": list(g.copies),
                    "passages": sorted(spans_of[g.id]), "matches": list(att.lead_matches[g.id]),
                    "edits": [edit_dict(e) for e in att.lead_edits[g.id]], "moved": moved_idx,
                    "share": g.share, "basis": g.basis,
                }
            )
    if incoming:
        earliest = att.earliest_note
    elif tied_ids:
        tied = sorted({str(target["id"]), *map(str, tied_ids)})
        earliest = "equally early: " + ", ".join(tied)
    else:
        earliest = str(target["id"])  # an original: it is its own earliest source
    record = {
        "doc_key": key, "id": target["id"], "share_reused": att.derived_share,
        "class": att.classification, "composite": att.composite,
        "n_sources": len(att.groups), "earliest_source": earliest,
        "n_insertions": n_ins, "n_deletions": n_del, "n_moved": len(att.moves),
        "aligned_words": att.aligned_words, "sources": sources_out,
    }
    return record, list(att.substitutions), det


def unreused_document(doc_key: int, doc_id: str) -> dict[str, Any]:
    """The ``doc_provenance`` row of a document without any passage."""
    return {
        "doc_key": doc_key, "id": doc_id, "share_reused": 0.0, "class": "not derived",
        "composite": False, "n_sources": 0, "earliest_source": None, "spin_score": 0.0,
        "spun": False, "n_substitutions": 0, "n_insertions": 0, "n_deletions": 0,
        "n_moved": 0, "aligned_words": 0, "sources": [],
    }


def substitution_key(source: str, replacement: str) -> tuple[str, str]:
    """The dictionary key of a word pair (casefolded)."""
    return source.casefold(), replacement.casefold()


def finish_document(
    record: dict[str, Any], subs: list[tuple[str, str]], pair_docs: dict[tuple[str, str], int]
) -> dict[str, Any]:
    """Add ``spin_score``, ``n_substitutions`` and ``spun`` to a
    :func:`document_provenance` record (in place; returned too).

    ``pair_docs`` maps a :func:`substitution_key` to its number of documents in the
    corpus; only the keys of ``subs`` are looked up.
    """
    n_lex = sum(1 for s, r in subs if is_lexical_substitution(s, r))
    record["spin_score"] = spin_score(subs, record["aligned_words"], pair_docs)
    record["n_substitutions"] = n_lex
    record["spun"] = is_spun(record["spin_score"], n_lex)
    return record


def substitution_counts(
    doc_subs: dict[int, list[tuple[str, str]]],
) -> tuple[Counter[tuple[str, str]], dict[tuple[str, str], int]]:
    """Occurrences and number of documents of each :func:`substitution_key`."""
    count: Counter[tuple[str, str]] = Counter()
    in_docs: dict[tuple[str, str], set[int]] = defaultdict(set)
    for key, subs in doc_subs.items():
        for src, rep in subs:
            k = substitution_key(src, rep)
            count[k] += 1
            in_docs[k].add(key)
    return count, {k: len(v) for k, v in in_docs.items()}


def substitution_row(source: str, replacement: str, count: int, n_docs: int) -> dict[str, Any]:
    """One ``substitutions`` row (the final reduce step, per dictionary key)."""
    return {"source": source, "replacement": replacement, "count": count, "n_docs": n_docs,
            "lexical": is_lexical_substitution(source, replacement)}


def substitution_order(row: dict[str, Any]) -> tuple[int, int, str, str]:
    """Sort key of the dictionary: most widespread first, then most frequent, then A-Z."""
    return (-row["n_docs"], -row["count"], row["source"], row["replacement"])


def cluster_provenance(
    cluster_id: int,
    members: list[dict[str, Any]],
    into: dict[int, list[tuple[int, str]]],
) -> dict[str, Any]:
    """Earliest source of one cluster: by date, corrected by clock-skew/evidence edges
    (per-cluster step).

    Args:
        members: the cluster's documents (``doc_key``, ``id``, ``published_at``).
        into: target key -> ``[(source key, basis)]`` of the directed edges; only the
            ``evidence``/``clock-skew`` edges between members matter.
    """
    members = sorted(members, key=lambda d: d["doc_key"])
    keys = [d["doc_key"] for d in members]
    docs = {d["doc_key"]: d for d in members}
    inside = set(keys)
    meta = {str(d["id"]): d for d in members}
    key_of = {str(d["id"]): d["doc_key"] for d in members}
    dated = [k for k in keys if docs[k]["published_at"] is not None]
    undated = [k for k in keys if docs[k]["published_at"] is None]
    # an undated member is placed when evidence shows it copies a member
    unplaced = [
        k for k in undated
        if not any(s in inside and b == "evidence" for s, b in into.get(k, []))
    ]
    ids = [str(docs[k]["id"]) for k in dated + unplaced]
    earliest, label = earliest_label(ids, meta)
    skew = False
    # a "first" member that evidence shows copied another member is not the source
    changed = True
    guard = 0
    while changed and guard < 10:
        changed = False
        guard += 1
        fixed: list[str] = []
        for eid in earliest:
            srcs = [
                (s, b) for s, b in into.get(key_of[eid], [])
                if s in inside and b in ("clock-skew", "evidence")
            ]
            if srcs:
                changed = True
                skew = skew or any(b == "clock-skew" for _, b in srcs)
                fixed.extend(str(docs[s]["id"]) for s, _ in srcs)
            else:
                fixed.append(eid)
        earliest = sorted(set(fixed))
    if len(earliest) > 1:
        label = "equally early: " + ", ".join(earliest)
    elif earliest:
        label = earliest[0] + (" (a copy is dated earlier: clock skew)" if skew else "")
    else:
        label = "unknown — no dated copy"
    if unplaced and earliest:
        label = f"unknown — earliest dated copy is {label}"
    return {
        "cluster_id": cluster_id, "earliest_id": earliest[0] if earliest else None,
        "earliest_ids": earliest, "label": label, "n_undated": len(undated),
        "clock_skew": skew,
    }


def arrow_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of one of the four tables as Arrow, typed as ``ARROW_TYPES`` (``sources``
    and ``earliest_ids`` lists are stored as JSON text)."""
    types = ARROW_TYPES[table]
    cols: dict[str, list[Any]] = {name: [] for name in types}
    for r in rows:
        for name in types:
            if name == "sources_json":
                v = r["sources_json"] if "sources_json" in r else json.dumps(r["sources"], ensure_ascii=False)
            elif name == "earliest_ids" and not isinstance(r["earliest_ids"], str):
                v = json.dumps(r["earliest_ids"])
            else:
                v = r[name]
            cols[name].append(v)
    return pa.table({name: pa.array(cols[name], t) for name, t in types.items()})


# ------------------------------------------------------------------------------ batch steps
# The per-row steps over Arrow record batches: one batch in, one batch out. The Spark
# engine calls them inside ``mapInArrow``; the DuckDB engine over the batches of a SQL
# stream (in worker processes). Document texts travel in the rows (``a_text``,
# ``source_text``: Spark) or come from a :class:`TextStore` (DuckDB).

SPAN_ARROW = pa.struct([("t0", pa.int32()), ("t1", pa.int32()), ("s0", pa.int32()), ("s1", pa.int32())])
SUB_ARROW = pa.struct(
    [("source", pa.string()), ("replacement", pa.string()), ("key_source", pa.string()),
     ("key_replacement", pa.string())]
)
#: :func:`pairs_batch` output: an ``edges`` row, whether it is directed, the oriented spans.
PAIR_EDGES_ARROW = pa.schema(
    [*ARROW_TYPES["edges"].items(), ("directed", pa.bool_()), ("spans", pa.list_(SPAN_ARROW))]
)
#: :func:`documents_batch` output: a ``doc_provenance`` row without the spin columns,
#: plus the document's word substitutions.
PARTIAL_ARROW = pa.schema(
    [(n, t) for n, t in ARROW_TYPES["doc_provenance"].items()
     if n not in ("spin_score", "spun", "n_substitutions")]
    + [("subs", pa.list_(SUB_ARROW))]
)
DOC_ARROW = pa.schema(list(ARROW_TYPES["doc_provenance"].items()))
SUBS_ARROW = pa.schema(list(ARROW_TYPES["substitutions"].items()))
CLUSTERS_ARROW = pa.schema(list(ARROW_TYPES["cluster_provenance"].items()))

#: Provenance table -> the order of its rows in the database (both engines).
TABLE_ORDER: dict[str, str] = {
    "edges": "least(source_key, target_key), greatest(source_key, target_key)",
    "doc_provenance": "doc_key",
    "substitutions": "n_docs DESC, count DESC, source, replacement",
    "cluster_provenance": "cluster_id",
}


class TextStore:
    """Document texts by ``doc_key``, held once in one Arrow UTF-8 buffer.

    About the size of the texts themselves (no Python object per document), and
    read-only: forked worker processes share its pages instead of copying them.
    """

    #: Texts kept as Python strings after a lookup (least recently used dropped).
    RECENT = 4096

    def __init__(self, keys: Any, texts: Any) -> None:
        chunks = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
        # 64-bit offsets: a large corpus holds more than 2 GiB of text
        arr = pa.chunked_array([c.cast(pa.large_string()) for c in chunks], pa.large_string()).combine_chunks()
        keys = np.asarray(keys, dtype=np.int64)
        self._arr = arr
        self._pos = np.full(int(keys.max()) + 1 if len(keys) else 0, -1, dtype=np.int64)
        self._pos[keys] = np.arange(len(keys))
        self._offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + len(arr) + 1]
        data = arr.buffers()[2]
        self._data = memoryview(data) if data is not None else memoryview(b"")
        self._recent: OrderedDict[int, str] = OrderedDict()

    @classmethod
    def load(cls, con: Any, keys_sql: str) -> TextStore:
        """Texts of the documents whose ``doc_key`` the query ``keys_sql`` returns."""
        table = con.sql(
            f"SELECT d.doc_key, d.text FROM documents d SEMI JOIN ({keys_sql}) k ON k.doc_key = d.doc_key"
        ).to_arrow_table()
        return cls(table.column("doc_key").to_numpy(), table.column("text"))

    def __len__(self) -> int:
        return len(self._arr)

    def __getitem__(self, key: int) -> str:
        text = self._recent.get(key)
        if text is not None:
            self._recent.move_to_end(key)
            return text
        i = self._pos[key] if 0 <= key < len(self._pos) else -1
        if i < 0:
            raise KeyError(key)
        text = str(self._data[self._offsets[i] : self._offsets[i + 1]], "utf-8")
        # the same object for a text asked for again soon (a wire story is the source
        # of many copies): ``provenance``'s word cache knows texts by identity
        self._recent[key] = text
        if len(self._recent) > self.RECENT:
            self._recent.popitem(last=False)
        return text


class _Doc(dict):  # type: ignore[type-arg]
    """A document's fields; ``text`` is read from the store only when a step asks."""

    def __init__(self, texts: TextStore, **fields: Any) -> None:
        super().__init__(**fields)
        self._texts = texts

    def __missing__(self, name: str) -> Any:
        if name != "text":
            raise KeyError(name)
        self["text"] = text = self._texts[self["doc_key"]]
        return text


def _doc(texts: TextStore | None, text: str | None, **fields: Any) -> dict[str, Any]:
    if texts is None or text is not None:
        return {**fields, "text": text}
    return _Doc(texts, **fields)


def pairs_batch(batch: pa.RecordBatch, texts: TextStore | None = None) -> pa.RecordBatch:
    """Document pairs (``spans`` and ``a_``/``b_`` ``doc_key``, ``id``, ``publisher``,
    ``published_at`` [, ``text``]) -> :func:`pair_edge` per pair (``PAIR_EDGES_ARROW``)."""
    fields = ("doc_key", "id", "publisher", "published_at")
    out = []
    for r in batch.to_pylist():
        a, b = (_doc(texts, r.get(f"{s}_text"), **{f: r[f"{s}_{f}"] for f in fields}) for s in "ab")
        spans = [(p["a_start"], p["a_end"], p["b_start"], p["b_end"]) for p in r["spans"]]
        edge, oriented, directed = pair_edge(a, b, spans)
        edge["directed"] = directed
        edge["spans"] = [{"t0": x[0], "t1": x[1], "s0": x[2], "s1": x[3]} for x in oriented]
        out.append(edge)
    return pa.RecordBatch.from_pylist(out, schema=PAIR_EDGES_ARROW)


def documents_batch(
    batch: pa.RecordBatch,
    params: Any,
    texts: TextStore | None = None,
    details: dict[int, list[dict[str, Any]]] | None = None,
) -> pa.RecordBatch:
    """Documents (``doc_key``, ``id`` [, ``text``], ``incoming``: list of ``source_key``,
    ``source_id``, ``source_publisher``, ``source_published_at`` [, ``source_text``],
    ``basis``, ``spans``; ``tied``: ids) -> :func:`document_provenance` (``PARTIAL_ARROW``).
    With ``details`` given, each document's alignments are added to it."""
    out = []
    for r in batch.to_pylist():
        incoming = []
        for e in r["incoming"] or []:
            src = {
                "doc_key": e["source_key"], "id": e["source_id"],
                "publisher": e.get("source_publisher"), "published_at": e["source_published_at"],
                "text": e["source_text"] if texts is None else texts[e["source_key"]],
            }
            incoming.append((src, [(x["t0"], x["t1"], x["s0"], x["s1"]) for x in e["spans"]], e["basis"]))
        target = {"doc_key": r["doc_key"], "id": r["id"],
                  "text": r["text"] if texts is None else texts[r["doc_key"]]}
        rec, subs, det = document_provenance(
            target, incoming, list(r["tied"] or []), params, keep_details=details is not None
        )
        if details is not None and det:
            details[r["doc_key"]] = det
        rec["sources_json"] = json.dumps(rec.pop("sources"), ensure_ascii=False)
        rec["subs"] = [
            {"source": s, "replacement": p, "key_source": k[0], "key_replacement": k[1]}
            for s, p in subs for k in (substitution_key(s, p),)
        ]
        out.append(rec)
    return pa.RecordBatch.from_pylist(out, schema=PARTIAL_ARROW)


def spin_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Partial rows with ``recurring`` (their keys' ``n_docs``) -> :func:`finish_document`."""
    out = []
    for r in batch.to_pylist():
        subs = [(s["source"], s["replacement"]) for s in r.pop("subs") or []]
        pair_docs = {(k["key_source"], k["key_replacement"]): k["n_docs"] for k in r.pop("recurring") or []}
        out.append(finish_document(r, subs, pair_docs))
    return pa.RecordBatch.from_pylist(out, schema=DOC_ARROW)


def unreused_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``doc_key``, ``id`` of documents without any passage -> :func:`unreused_document`."""
    out = []
    for key, doc_id in zip(batch.column("doc_key").to_pylist(), batch.column("id").to_pylist(), strict=True):
        rec = unreused_document(key, doc_id)
        rec["sources_json"] = json.dumps(rec.pop("sources"))
        out.append(rec)
    return pa.RecordBatch.from_pylist(out, schema=DOC_ARROW)


def dictionary_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Counted keys (``source``, ``replacement``, ``count``, ``n_docs``) -> :func:`substitution_row`."""
    rows = [substitution_row(r["source"], r["replacement"], r["count"], r["n_docs"]) for r in batch.to_pylist()]
    return pa.RecordBatch.from_pylist(rows, schema=SUBS_ARROW)


def clusters_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Clusters (``cluster_id``, ``members``, ``into``: the evidence / clock-skew edges
    between members) -> :func:`cluster_provenance`."""
    rows = []
    for r in batch.to_pylist():
        into: dict[int, list[tuple[int, str]]] = {}
        for e in r["into"] or []:
            into.setdefault(e["target_key"], []).append((e["source_key"], e["basis"]))
        rows.append(cluster_provenance(r["cluster_id"], r["members"], into))
    return pa.RecordBatch.from_pylist(
        [{**row, "earliest_ids": json.dumps(row["earliest_ids"])} for row in rows], schema=CLUSTERS_ARROW
    )


# ------------------------------------------------------------------------------ DuckDB engine
# The same stages as ``newstrace.spark.provenance``, with DuckDB doing the grouping and
# joins: each stage is one SQL query read as a stream of record batches, the batch
# steps run on them in worker processes, and their output is kept as Arrow (a few
# dozen bytes per edge or document) for the next stage's SQL. Texts are held once, in
# a TextStore; nothing is held per passage as a Python object, so a million-document
# corpus fits (``bench/scale.py``).

#: Corpora with at least this many documents in passages run the batch steps in
#: forked worker processes, one per CPU (they share the TextStore's pages).
PARALLEL_MIN_DOCS = 5_000
#: Rows per batch handed to a step.
BATCH_ROWS = 2_000

_PAIRS_SQL = """
SELECT p.spans,
       a.doc_key AS a_doc_key, a.id AS a_id, a.publisher AS a_publisher, a.published_at AS a_published_at,
       b.doc_key AS b_doc_key, b.id AS b_id, b.publisher AS b_publisher, b.published_at AS b_published_at
FROM (SELECT a_key, b_key,
             list(struct_pack(a_start, a_end, b_start, b_end) ORDER BY a_start, a_end, b_start, b_end) AS spans
      FROM passages GROUP BY a_key, b_key) p
JOIN documents a ON a.doc_key = p.a_key
JOIN documents b ON b.doc_key = p.b_key
"""
_INVOLVED_SQL = "SELECT source_key AS doc_key FROM prov_pairs UNION SELECT target_key FROM prov_pairs"
_TARGETS_SQL = f"""
WITH inc AS (
    SELECT e.target_key AS doc_key,
           list(struct_pack(source_key := e.source_key, source_id := e.source_id,
                            source_publisher := d.publisher, source_published_at := d.published_at,
                            basis := e.basis, spans := e.spans) ORDER BY e.source_key) AS incoming
    FROM prov_pairs e JOIN documents d ON d.doc_key = e.source_key
    WHERE e.directed GROUP BY e.target_key),
tie AS (
    SELECT doc_key, list(other ORDER BY other) AS tied FROM (
        SELECT source_key AS doc_key, target_id AS other FROM prov_pairs WHERE NOT directed
        UNION ALL SELECT target_key, source_id FROM prov_pairs WHERE NOT directed)
    GROUP BY doc_key)
SELECT d.doc_key, d.id, inc.incoming, tie.tied
FROM documents d SEMI JOIN ({_INVOLVED_SQL}) k ON k.doc_key = d.doc_key
LEFT JOIN inc ON inc.doc_key = d.doc_key LEFT JOIN tie ON tie.doc_key = d.doc_key
"""
_OCCURRENCES_SQL = "SELECT doc_key, s.key_source, s.key_replacement FROM (SELECT doc_key, unnest(subs) AS s FROM prov_partial)"
_DICTIONARY_SQL = f"""
SELECT key_source AS source, key_replacement AS replacement, count(*)::INTEGER AS count,
       count(DISTINCT doc_key)::INTEGER AS n_docs
FROM ({_OCCURRENCES_SQL}) GROUP BY key_source, key_replacement
"""
_SPIN_SQL = f"""
WITH rec AS (
    SELECT o.doc_key, list(struct_pack(key_source := o.key_source, key_replacement := o.key_replacement,
                                       n_docs := c.n_docs)) AS recurring
    FROM (SELECT DISTINCT * FROM ({_OCCURRENCES_SQL})) o
    JOIN prov_dictionary c ON c.source = o.key_source AND c.replacement = o.key_replacement
    GROUP BY o.doc_key)
SELECT p.*, rec.recurring FROM prov_partial p LEFT JOIN rec ON rec.doc_key = p.doc_key
"""
_UNREUSED_SQL = f"SELECT d.doc_key, d.id FROM documents d ANTI JOIN ({_INVOLVED_SQL}) k ON k.doc_key = d.doc_key"
_CLUSTERS_SQL = """
WITH m AS (SELECT DISTINCT cluster_id, doc_key FROM cluster_members),
inner_edges AS (
    SELECT t.cluster_id,
           list(struct_pack(source_key := e.source_key, target_key := e.target_key, basis := e.basis)) AS "into"
    FROM prov_pairs e
    JOIN m t ON t.doc_key = e.target_key
    JOIN m s ON s.cluster_id = t.cluster_id AND s.doc_key = e.source_key
    WHERE e.basis IN ('evidence', 'clock-skew')
    GROUP BY t.cluster_id)
SELECT m.cluster_id,
       list(struct_pack(doc_key := d.doc_key, id := d.id, published_at := d.published_at)) AS members,
       any_value(i."into") AS "into"
FROM m JOIN documents d ON d.doc_key = m.doc_key LEFT JOIN inner_edges i ON i.cluster_id = m.cluster_id
GROUP BY m.cluster_id
"""

#: What forked workers read (set before the fork): the texts, the params.
_SHARED: tuple[Any, ...] = ()


def _step(name: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    texts, params, details = _SHARED
    if name == "pairs":
        return pairs_batch(batch, texts)
    if name == "documents":
        return documents_batch(batch, params, texts, details)
    return {"spin": spin_batch, "unreused": unreused_batch, "dictionary": dictionary_batch,
            "clusters": clusters_batch}[name](batch)


class _Stages:
    """Runs batch steps over SQL streams, in forked workers when there are several CPUs."""

    def __init__(self, cur: Any, texts: TextStore, params: Any, details: dict[int, Any] | None) -> None:
        global _SHARED
        self.cur = cur  # the stages' reads and their registered Arrow tables
        _SHARED = (texts, params, details)
        workers = min(os.cpu_count() or 1, 8)
        self.pool = None
        if (len(texts) >= PARALLEL_MIN_DOCS and workers >= 2 and details is None
                and "fork" in mp.get_all_start_methods()):
            self.pool = mp.get_context("fork").Pool(workers)
        self.window = 2 * workers

    def close(self) -> None:
        global _SHARED
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        _SHARED = ()
        self.cur.close()

    def run(self, name: str, sql: str, schema: pa.Schema,
            progress: Callable[[int], None] | None = None) -> pa.Table:
        """``sql``'s rows through the batch step ``name``; the output as one table."""
        reader = self.cur.sql(sql).to_arrow_reader(BATCH_ROWS)
        out = []
        for batch in self._map(name, reader):
            out.append(batch)
            if progress:
                progress(batch.num_rows)
        return pa.Table.from_batches(out, schema=schema)

    def _map(self, name: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        if self.pool is None:
            for batch in batches:
                yield _step(name, batch)
            return
        pending: deque[Any] = deque()  # a bounded window: the stream is not read ahead
        for batch in batches:
            pending.append(self.pool.apply_async(_step, (name, batch)))
            if len(pending) >= self.window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def register(self, **tables: pa.Table) -> None:
        for view, table in tables.items():
            self.cur.register(view, table)


def provenance_tables(
    idx: Any,
    progress: Callable[[int, int], None] | None = None,
    details: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, pa.Table]:
    """Compute the four provenance tables from an index's passages and clusters
    (nothing is written): pairs -> documents -> dictionary -> spin -> clusters.

    Args:
        idx: an open ``Index``.
        progress: ``progress(done, total)`` over the documents that take part in a
            passage (the word alignments, the costly step).
        details: a dict to fill, per derived document, with its alignment against each
            independent source (passages, word matches, edits) for side-by-side views.

    Returns:
        table name -> Arrow table, typed as ``ARROW_TYPES`` (``edges`` with two more
        columns, ``directed`` and ``spans``).
    """
    cur = idx.con.cursor()  # a connection of its own: the caller's may hold a result
    texts = TextStore.load(cur, "SELECT a_key AS doc_key FROM passages UNION SELECT b_key FROM passages")
    stages = _Stages(cur, texts, idx.params, details)
    try:
        pairs = stages.run("pairs", _PAIRS_SQL, PAIR_EDGES_ARROW)
        stages.register(prov_pairs=pairs)
        done = 0

        def documents_done(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(texts))

        partial = stages.run("documents", _TARGETS_SQL, PARTIAL_ARROW, documents_done)
        stages.register(prov_partial=partial)
        dictionary = stages.run("dictionary", _DICTIONARY_SQL, SUBS_ARROW)
        stages.register(prov_dictionary=dictionary)
        finished = stages.run("spin", _SPIN_SQL, DOC_ARROW)
        unreused = stages.run("unreused", _UNREUSED_SQL, DOC_ARROW)
        clusters = stages.run("clusters", _CLUSTERS_SQL, CLUSTERS_ARROW)
    finally:
        stages.close()
    return {
        "edges": pairs, "doc_provenance": pa.concat_tables([finished, unreused]),
        "substitutions": dictionary, "cluster_provenance": clusters,
    }


def compute_provenance(idx: Any, progress: Callable[[int, int], None] | None = None) -> None:
    """(Re)build ``edges``, ``doc_provenance``, ``substitutions`` and
    ``cluster_provenance`` from the index's passages and clusters, in one transaction.

    Call after clustering (``Index.build`` does). Documents without any reuse get a
    ``doc_provenance`` row too (not derived, share 0). What the tables were computed
    from is recorded (:func:`provenance_is_current`).
    """
    state = _provenance_state(idx.con)
    store_tables(idx.con, provenance_tables(idx, progress))
    set_meta(idx.con, "provenance_of", state)


def record_provenance_state(con: Any) -> None:
    """Record that the stored provenance tables match the index as it is now (after
    loading tables computed elsewhere, e.g. by the Spark engine)."""
    set_meta(con, "provenance_of", _provenance_state(con))


def _provenance_state(con: Any) -> dict[str, int]:
    """What the provenance tables depend on: the passages, clusters and documents."""
    row = con.execute(
        """SELECT (SELECT count(*) FROM passages), (SELECT coalesce(max(passage_id), -1) FROM passages),
                  (SELECT count(*) FROM cluster_members), (SELECT count(*) FROM documents)"""
    ).fetchall()[0]
    return dict(zip(("passages", "max_passage_id", "cluster_members", "documents"), map(int, row), strict=True))


def provenance_is_current(idx: Any) -> bool:
    """Were the stored provenance tables computed from the index as it is now? (Not
    after a ``build(refresh=False)`` or an ingest since the last full build.)"""
    stored = get_meta(idx.con, "provenance_of")
    return stored is not None and stored == _provenance_state(idx.con)


def document_details(idx: Any, doc_keys: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per document of ``doc_keys``, its alignment against each independent source
    (passages, word matches, edits: the side-by-side views of a report), computed for
    these documents only, by the same pairs and documents steps as
    :func:`provenance_tables`."""
    details: dict[int, list[dict[str, Any]]] = {}
    if not doc_keys:
        return details
    cur = idx.con.cursor()
    try:
        cur.register("details_wanted", pa.table({"doc_key": pa.array(sorted(set(doc_keys)), pa.int32())}))
        involved = ("(a_key IN (SELECT doc_key FROM details_wanted) "
                    "OR b_key IN (SELECT doc_key FROM details_wanted))")
        pairs_sql = _PAIRS_SQL.replace("FROM passages GROUP BY", f"FROM passages WHERE {involved} GROUP BY")
        texts = TextStore.load(
            cur, f"SELECT a_key AS doc_key FROM passages WHERE {involved} UNION SELECT b_key FROM passages WHERE {involved}")
        batches = [pairs_batch(b, texts) for b in cur.sql(pairs_sql).to_arrow_reader(BATCH_ROWS)]
        cur.register("prov_pairs", pa.Table.from_batches(batches, schema=PAIR_EDGES_ARROW))
        targets = f"SELECT * FROM ({_TARGETS_SQL}) t WHERE t.doc_key IN (SELECT doc_key FROM details_wanted)"
        for batch in cur.sql(targets).to_arrow_reader(BATCH_ROWS):
            documents_batch(batch, idx.params, texts, details)
    finally:
        cur.close()
    return details


def genuine_swaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dictionary rows a reader would accept as swaps (``edits.is_genuine_swap``): the
    stored table keeps every pair (the spin score counts them); the report and the web
    show these."""
    from newstrace.edits import is_genuine_swap

    return [r for r in rows if is_genuine_swap(r["source"], r["replacement"])]


def stored_dictionary(con: Any) -> list[dict[str, Any]]:
    """The stored corpus dictionary as the report and the web show it (most widespread
    first, genuine swaps only: :func:`genuine_swaps`)."""
    return genuine_swaps(con.sql(
        f"SELECT source, replacement, count, n_docs, lexical FROM substitutions ORDER BY {TABLE_ORDER['substitutions']}"
    ).to_arrow_table().to_pylist())


def stored_provenance(idx: Any) -> Provenance:
    """The stored tables as :func:`analyse` gives them, without recomputing, and without
    the edges (read them per document from the ``edges`` table) or the details
    (:func:`document_details`). Check :func:`provenance_is_current` first."""
    cur = idx.con.cursor()
    try:
        documents = _python_documents(cur.sql("SELECT * FROM doc_provenance").to_arrow_table())
        clusters = _python_clusters(cur.sql("SELECT * FROM cluster_provenance").to_arrow_table())
        substitutions = stored_dictionary(cur)
    finally:
        cur.close()
    return Provenance([], documents, substitutions, clusters)


def store_tables(con: Any, tables: dict[str, Any]) -> None:
    """Replace the four tables' rows with ``tables`` (table name -> anything DuckDB can
    select from: an Arrow table, or a SQL ``FROM`` clause given as a string), in one
    transaction, in the order of ``TABLE_ORDER``."""
    con.execute(SCHEMA)
    views = {f"prov_{name}": table for name, table in tables.items() if not isinstance(table, str)}
    with registered(con, **views):
        con.execute("BEGIN TRANSACTION")
        try:
            for name, table in tables.items():
                cols = ", ".join(ARROW_TYPES[name])
                source = table if isinstance(table, str) else f"prov_{name}"
                con.execute(f"DELETE FROM {name}")
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {source} ORDER BY {TABLE_ORDER[name]}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


@dataclass
class Provenance:
    """The four tables as Python values (what :func:`analyse` returns)."""

    edges: list[dict[str, Any]]
    documents: dict[int, dict[str, Any]]
    substitutions: list[dict[str, Any]]
    clusters: dict[int, dict[str, Any]]
    details: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def _python_documents(table: pa.Table) -> dict[int, dict[str, Any]]:
    """``doc_provenance`` rows of the documents that take part in some passage, by
    ``doc_key``, with ``sources`` parsed."""
    documents = {}
    for r in table.to_pylist():
        if r["earliest_source"] is not None:
            r["sources"] = json.loads(r.pop("sources_json"))
            documents[r["doc_key"]] = r
    return documents


def _python_clusters(table: pa.Table) -> dict[int, dict[str, Any]]:
    """``cluster_provenance`` rows by ``cluster_id`` (ascending), ``earliest_ids`` parsed."""
    clusters = {}
    for r in table.to_pylist():
        r["earliest_ids"] = json.loads(r["earliest_ids"])
        clusters[r["cluster_id"]] = r
    return dict(sorted(clusters.items()))


def analyse(idx: Any, keep_details: bool = False) -> Provenance:
    """The provenance tables of :func:`provenance_tables` as Python values, for a
    read-only index or a report (``documents`` holds the documents that take part in
    some passage, with ``sources`` parsed; ``clusters`` has ``earliest_ids`` as a list).

    Args:
        idx: an open ``Index``.
        keep_details: also keep, per derived document, its alignment against each
            independent source (passages, word matches, edits) for side-by-side views.
    """
    details: dict[int, list[dict[str, Any]]] | None = {} if keep_details else None
    tables = provenance_tables(idx, details=details)
    documents = _python_documents(tables["doc_provenance"])
    clusters = _python_clusters(tables["cluster_provenance"])
    edges = tables["edges"].drop_columns(["directed", "spans"]).to_pylist()
    edges.sort(key=lambda e: (min(e["source_key"], e["target_key"]), max(e["source_key"], e["target_key"])))
    substitutions = genuine_swaps(sorted(tables["substitutions"].to_pylist(), key=substitution_order))
    return Provenance(edges, documents, substitutions, clusters, details or {})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _union_len(spans: list[tuple[int, int]]) -> int:
    total = 0
    end = -1
    for s, e in sorted(spans):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def _mask_runs(mask: np.ndarray) -> list[list[int]]:
    if not mask.any():
        return []
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return [[int(s), int(e)] for s, e in zip(starts, ends, strict=True)]


