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

import gc
import json
import multiprocessing as mp
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from newstrace.provenance import (
    classify,
    contributor_groups,
    derived_share,
    earliest_label,
    is_lexical_substitution,
    is_spun,
    moved_sentences,
    spin_score,
    word_alignment,
)

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
    n = max(1, len(text))
    masks: dict[str, np.ndarray] = {}
    spans_of: dict[str, list[Span]] = {}
    basis_of: dict[str, str] = {}
    src_of: dict[str, dict[str, Any]] = {}
    union = np.zeros(n, dtype=bool)
    for src, spans, basis in incoming:
        sid = str(src["id"])
        m = np.zeros(n, dtype=bool)
        for t0, t1, _, _ in spans:
            m[t0:t1] = True
        masks[sid] = m
        spans_of[sid] = spans
        basis_of[sid] = basis
        src_of[sid] = src
        union |= m
    order = sorted(masks, key=lambda sid: (-int(masks[sid].sum()), _date_key(src_of[sid])))
    contributors = contributor_groups(masks, order, n)
    # only copied prose counts: matched words outside quotations (provenance.copied_mask;
    # sources in order of coverage, so a passage already copied from a better source is
    # not word-aligned again)
    share = derived_share(text, union, [(src_of[sid]["text"], spans_of[sid]) for sid in order]) if incoming else 0.0
    subs: list[tuple[str, str]] = []
    n_ins = n_del = n_moved = aligned = 0
    sources_out = []
    det = []
    for g, gm in contributors:
        lead = g[0]
        src = src_of[lead]
        matches: list[Span] = []
        edits: list[dict[str, Any]] = []
        for t0, t1, s0, s1 in sorted(spans_of[lead]):
            m_, e_ = word_alignment(text, (t0, t1), src["text"], (s0, s1))
            matches.extend(m_)
            edits.extend(e_)
        moved = moved_sentences(text, sorted(matches))
        aligned += len(matches)
        n_moved += len(moved)
        n_ins += sum(1 for e in edits if e["op"] == "insert")
        n_del += sum(1 for e in edits if e["op"] == "delete")
        subs.extend((e["source"], e["replacement"]) for e in edits if e["op"] == "substitute")
        sources_out.append(
            {
                "id": lead, "copies": g[1:], "share": round(float(gm.sum()) / n, 4),
                "spans": _mask_runs(masks[lead]), "basis": basis_of[lead],
                "published_at": _iso(src.get("published_at")),
            }
        )
        if keep_details:
            det.append(
                {
                    "source_id": lead, "source": src, "copies": g[1:],
                    "passages": sorted(spans_of[lead]), "matches": sorted(matches),
                    "edits": edits, "moved": moved, "share": float(gm.sum()) / n,
                    "basis": basis_of[lead],
                }
            )
    if incoming:
        # candidates for "earliest": each lead and the members that copy most of
        # what the lead covers (not those sharing only a quotation with it)
        members = [
            sid for g, _ in contributors for sid in g
            if sid == g[0]
            or int((masks[sid] & masks[g[0]]).sum()) >= 0.5 * int(masks[g[0]].sum())
        ] or order
        _, earliest = earliest_label(members, {sid: src_of[sid] for sid in members})
    elif tied_ids:
        tied = sorted({str(target["id"]), *map(str, tied_ids)})
        earliest = "equally early: " + ", ".join(tied)
    else:
        earliest = str(target["id"])  # an original: it is its own earliest source
    record = {
        "doc_key": key, "id": target["id"], "share_reused": round(share, 4),
        "class": classify(share, params), "composite": len(contributors) >= 2,
        "n_sources": len(contributors), "earliest_source": earliest,
        "n_insertions": n_ins, "n_deletions": n_del, "n_moved": n_moved,
        "aligned_words": aligned, "sources": sources_out,
    }
    return record, subs, det


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


# ------------------------------------------------------------------------------ DuckDB engine


@dataclass
class Provenance:
    """In-memory result of :func:`analyse` (what :func:`compute_provenance` stores)."""

    docs: dict[int, dict[str, Any]]
    edges: list[dict[str, Any]]
    documents: dict[int, dict[str, Any]]
    substitutions: list[dict[str, Any]]
    clusters: dict[int, dict[str, Any]]
    details: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _load_docs(idx: Any) -> dict[int, dict[str, Any]]:
    cur = idx.con.execute(
        """SELECT doc_key, id, publisher, published_at, title, n_chars, text FROM documents
           WHERE doc_key IN (SELECT a_key FROM passages UNION SELECT b_key FROM passages)"""
    )
    cols = [c[0] for c in cur.description]
    return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def analyse(idx: Any, keep_details: bool = False) -> Provenance:
    """Compute edges, per-document provenance, the substitution dictionary and each
    cluster's earliest source from an index's passages (nothing is written).

    Runs the pure steps above on one machine, in this order: :func:`pair_edge` per
    document pair, :func:`document_provenance` per document, the dictionary
    (:func:`substitution_counts`, :func:`substitution_row`), :func:`finish_document`
    per document and :func:`cluster_provenance` per cluster.

    Args:
        idx: an open ``Index``.
        keep_details: also keep, per derived document, its alignment against each
            independent source (passages, word matches, edits) for side-by-side views.
    """
    params = idx.params
    docs = _load_docs(idx)
    rows = idx.con.execute(
        "SELECT a_key, b_key, a_start, a_end, b_start, b_end FROM passages ORDER BY a_key, b_key, a_start"
    ).fetchall()
    by_pair: dict[tuple[int, int], list[Span]] = defaultdict(list)
    for a, b, a0, a1, b0, b1 in rows:
        by_pair[(a, b)].append((a0, a1, b0, b1))

    # 1. direct every pair; incoming[target] = [(source doc, [(t0, t1, s0, s1)], basis)]
    edges: list[dict[str, Any]] = []
    incoming: dict[int, list[tuple[dict[str, Any], list[Span], str]]] = defaultdict(list)
    ties: dict[int, list[str]] = defaultdict(list)
    for (a, b), ps in by_pair.items():
        edge, spans, directed = pair_edge(docs[a], docs[b], ps)
        s, t = edge["source_key"], edge["target_key"]
        if directed:
            incoming[t].append((docs[s], spans, edge["basis"]))
        else:
            ties[s].append(str(docs[t]["id"]))
            ties[t].append(str(docs[s]["id"]))
        edges.append(edge)

    # 2. per document: share, groups of independent sources, edits vs group leads
    documents: dict[int, dict[str, Any]] = {}
    details: dict[int, list[dict[str, Any]]] = {}
    doc_subs: dict[int, list[tuple[str, str]]] = {}
    for key, rec, subs, det in _each_document(docs, incoming, ties, params, keep_details):
        documents[key] = rec
        doc_subs[key] = subs
        if keep_details and det:
            details[key] = det

    # 3. substitution dictionary, then spin scores weighted by recurrence
    count, pair_docs = substitution_counts(doc_subs)
    for key, subs in doc_subs.items():
        finish_document(documents[key], subs, pair_docs)
    substitutions = sorted(
        (substitution_row(k[0], k[1], c, pair_docs[k]) for k, c in count.items()),
        key=substitution_order,
    )

    # 4. earliest source per cluster
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for cid, key in idx.con.execute(
        "SELECT DISTINCT cluster_id, doc_key FROM cluster_members ORDER BY cluster_id, doc_key"
    ).fetchall():
        if key in docs:
            members[cid].append(docs[key])
    into: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for e in edges:
        if e["basis"] in DIRECTED:
            into[e["target_key"]].append((e["source_key"], e["basis"]))
    clusters = {cid: cluster_provenance(cid, ms, into) for cid, ms in members.items()}
    return Provenance(docs, edges, documents, substitutions, clusters, details)


#: Corpora with at least this many documents run ``document_provenance`` in worker
#: processes (forked: they share the loaded texts), one per CPU ...
PARALLEL_MIN_DOCS = 5_000
#: ... and at most this many: the workers' reference counting dirties the shared pages,
#: so each worker ends up with a copy of the parent's heap (at 1 M documents 13 GiB).
PARALLEL_MAX_DOCS = 200_000
_SHARED: tuple[Any, ...] = ()


def _document_batch(keys: list[int]) -> list[tuple[int, dict[str, Any], list[tuple[str, str]], Any]]:
    docs, incoming, ties, params, keep_details = _SHARED
    out = []
    for key in keys:
        rec, subs, det = document_provenance(
            docs[key], incoming.get(key, []), ties.get(key, []), params, keep_details
        )
        out.append((key, rec, subs, det))
    return out


def _each_document(
    docs: dict[int, dict[str, Any]], incoming: Any, ties: Any, params: Any, keep_details: bool
) -> Iterator[tuple[int, dict[str, Any], list[tuple[str, str]], Any]]:
    """``document_provenance`` of every document, in ``docs`` order; in forked worker
    processes for a large corpus (the per-document word alignments dominate)."""
    global _SHARED
    keys = list(docs)
    workers = min(os.cpu_count() or 1, 8)
    _SHARED = (docs, incoming, ties, params, keep_details)
    try:
        if (not PARALLEL_MIN_DOCS <= len(keys) <= PARALLEL_MAX_DOCS or workers < 2
                or "fork" not in mp.get_all_start_methods()):
            yield from _document_batch(keys)
            return
        chunks = [keys[i : i + 2000] for i in range(0, len(keys), 2000)]
        # objects allocated so far are left out of the workers' garbage collections,
        # which would otherwise touch (and so copy) every page the fork shares
        gc.collect()
        gc.freeze()
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                for part in pool.imap(_document_batch, chunks):
                    yield from part
        finally:
            gc.unfreeze()
    finally:
        _SHARED = ()


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


def compute_provenance(idx: Any) -> None:
    """(Re)build ``edges``, ``doc_provenance``, ``substitutions`` and
    ``cluster_provenance`` from the index's passages and clusters, in one transaction.

    Call after clustering (``Index.build`` does). Documents without any reuse get a
    ``doc_provenance`` row too (not derived, share 0).
    """
    prov = analyse(idx)
    all_docs = idx.con.execute("SELECT doc_key, id FROM documents").fetchall()
    dp = [prov.documents.get(key) or unreused_document(key, doc_id) for key, doc_id in all_docs]
    store_tables(
        idx.con,
        {
            "doc_provenance": arrow_table("doc_provenance", dp),
            "edges": arrow_table("edges", prov.edges),
            "substitutions": arrow_table("substitutions", prov.substitutions),
            "cluster_provenance": arrow_table("cluster_provenance", list(prov.clusters.values())),
        },
    )


def store_tables(con: Any, tables: dict[str, Any]) -> None:
    """Replace the four tables' rows with ``tables`` (table name -> anything DuckDB can
    select from: an Arrow table, or a SQL ``FROM`` clause given as a string), in one
    transaction."""
    con.execute(SCHEMA)
    views = {}
    for name, table in tables.items():
        if not isinstance(table, str):
            view = f"prov_{name}"
            con.register(view, table)
            views[name] = view
    con.execute("BEGIN TRANSACTION")
    try:
        for name, table in tables.items():
            cols = ", ".join(ARROW_TYPES[name])
            source = views.get(name) or table
            con.execute(f"DELETE FROM {name}")
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {source}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for view in views.values():
            con.unregister(view)
