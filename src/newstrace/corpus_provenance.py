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
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from newstrace.provenance import (
    classify,
    derived_share,
    contributor_groups,
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
    return {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}


def _date_key(d: dict[str, Any]) -> tuple[bool, datetime, str]:
    t = d.get("published_at")
    return (t is None, t or datetime.max, str(d["id"]))


def analyse(idx: Any, keep_details: bool = False) -> Provenance:
    """Compute edges, per-document provenance, the substitution dictionary and each
    cluster's earliest source from an index's passages (nothing is written).

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
    by_pair: dict[tuple[int, int], list[tuple[int, int, int, int]]] = defaultdict(list)
    for a, b, a0, a1, b0, b1 in rows:
        by_pair[(a, b)].append((a0, a1, b0, b1))

    # 1. direct every pair; incoming[target] = [(source, [(t0, t1, s0, s1)], basis)]
    edges: list[dict[str, Any]] = []
    incoming: dict[int, list[tuple[int, list[tuple[int, int, int, int]], str]]] = defaultdict(list)
    ties: dict[int, set[int]] = defaultdict(set)
    for (a, b), ps in by_pair.items():
        a_src, basis = direction(docs[a], docs[b])
        if a_src is None:
            s, t = sorted((a, b), key=lambda k: str(docs[k]["id"]))
            ties[a].add(b)
            ties[b].add(a)
        else:
            s, t = (a, b) if a_src else (b, a)
        spans = [(p[2], p[3], p[0], p[1]) if t == b else p for p in ps]  # (t0, t1, s0, s1)
        if a_src is not None:
            incoming[t].append((s, spans, basis))
        edges.append(
            {
                "source_id": docs[s]["id"], "target_id": docs[t]["id"], "source_key": s,
                "target_key": t, "chars": _union_len([(x[0], x[1]) for x in spans]),
                "passages": len(spans), "basis": basis,
            }
        )

    # 2. per derived document: share, groups of independent sources, edits vs group leads
    documents: dict[int, dict[str, Any]] = {}
    details: dict[int, list[dict[str, Any]]] = {}
    doc_pairs: dict[int, list[tuple[str, str]]] = {}
    for key, d in docs.items():
        n = max(1, len(d["text"]))
        inc = incoming.get(key, [])
        masks: dict[str, np.ndarray] = {}
        spans_of: dict[str, list[tuple[int, int, int, int]]] = {}
        basis_of: dict[str, str] = {}
        key_of: dict[str, int] = {}
        union = np.zeros(n, dtype=bool)
        for s, spans, basis in inc:
            sid = str(docs[s]["id"])
            m = np.zeros(n, dtype=bool)
            for t0, t1, _, _ in spans:
                m[t0:t1] = True
            masks[sid] = m
            spans_of[sid] = spans
            basis_of[sid] = basis
            key_of[sid] = s
            union |= m
        order = sorted(masks, key=lambda sid: (-int(masks[sid].sum()), _date_key(docs[key_of[sid]])))
        contributors = contributor_groups(masks, order, n)
        share = derived_share(d["text"], union) if inc else 0.0
        subs: list[tuple[str, str]] = []
        n_ins = n_del = n_moved = aligned = 0
        sources_out = []
        det = []
        for g, gm in contributors:
            lead = g[0]
            src = docs[key_of[lead]]
            matches: list[tuple[int, int, int, int]] = []
            edits: list[dict[str, Any]] = []
            for t0, t1, s0, s1 in sorted(spans_of[lead]):
                m_, e_ = word_alignment(d["text"], (t0, t1), src["text"], (s0, s1))
                matches.extend(m_)
                edits.extend(e_)
            moved = moved_sentences(d["text"], sorted(matches))
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
        if inc:
            # candidates for "earliest": each lead and the members that copy most of
            # what the lead covers (not those sharing only a quotation with it)
            members = [
                sid for g, _ in contributors for sid in g
                if sid == g[0]
                or int((masks[sid] & masks[g[0]]).sum()) >= 0.5 * int(masks[g[0]].sum())
            ] or order
            _, earliest = earliest_label(members, {sid: docs[key_of[sid]] for sid in members})
        elif ties.get(key):
            tied = sorted([str(d["id"])] + [str(docs[k]["id"]) for k in ties[key]])
            earliest = "equally early: " + ", ".join(tied)
        else:
            earliest = str(d["id"])  # an original: it is its own earliest source
        doc_pairs[key] = subs
        documents[key] = {
            "doc_key": key, "id": d["id"], "share_reused": round(share, 4),
            "class": classify(share, params), "composite": len(contributors) >= 2,
            "n_sources": len(contributors), "earliest_source": earliest,
            "n_insertions": n_ins, "n_deletions": n_del, "n_moved": n_moved,
            "aligned_words": aligned, "sources": sources_out,
        }
        if keep_details and det:
            details[key] = det

    # 3. substitution dictionary, then spin scores weighted by recurrence
    count: Counter[tuple[str, str]] = Counter()
    in_docs: dict[tuple[str, str], set[int]] = defaultdict(set)
    for key, subs in doc_pairs.items():
        for src, rep in subs:
            k = (src.casefold(), rep.casefold())
            count[k] += 1
            in_docs[k].add(key)
    pair_docs = {k: len(v) for k, v in in_docs.items()}
    for key, subs in doc_pairs.items():
        rec = documents[key]
        n_lex = sum(1 for s, r in subs if is_lexical_substitution(s, r))
        rec["spin_score"] = spin_score(subs, rec["aligned_words"], pair_docs)
        rec["n_substitutions"] = n_lex
        rec["spun"] = is_spun(rec["spin_score"], n_lex)
    substitutions = sorted(
        (
            {"source": k[0], "replacement": k[1], "count": c, "n_docs": pair_docs[k],
             "lexical": is_lexical_substitution(*k)}
            for k, c in count.items()
        ),
        key=lambda x: (-x["n_docs"], -x["count"], x["source"], x["replacement"]),
    )

    clusters = _cluster_sources(idx, docs, edges)
    return Provenance(docs, edges, documents, substitutions, clusters, details)


def _cluster_sources(
    idx: Any, docs: dict[int, dict[str, Any]], edges: list[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """Earliest source per cluster: by date, corrected by clock-skew/evidence edges."""
    members: dict[int, list[int]] = defaultdict(list)
    for cid, key in idx.con.execute(
        "SELECT DISTINCT cluster_id, doc_key FROM cluster_members ORDER BY cluster_id, doc_key"
    ).fetchall():
        if key in docs:
            members[cid].append(key)
    into: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for e in edges:
        if e["basis"] in DIRECTED:
            into[e["target_key"]].append((e["source_key"], e["basis"]))
    out: dict[int, dict[str, Any]] = {}
    for cid, keys in members.items():
        inside = set(keys)
        meta = {str(docs[k]["id"]): docs[k] for k in keys}
        key_of = {str(docs[k]["id"]): k for k in keys}
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
        out[cid] = {
            "cluster_id": cid, "earliest_id": earliest[0] if earliest else None,
            "earliest_ids": earliest, "label": label, "n_undated": len(undated),
            "clock_skew": skew,
        }
    return out


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
    return [[int(s), int(e)] for s, e in zip(starts, ends)]


def compute_provenance(idx: Any) -> None:
    """(Re)build ``edges``, ``doc_provenance``, ``substitutions`` and
    ``cluster_provenance`` from the index's passages and clusters, in one transaction.

    Call after clustering (``Index.build`` does). Documents without any reuse get a
    ``doc_provenance`` row too (not derived, share 0).
    """
    prov = analyse(idx)
    con = idx.con
    con.execute(SCHEMA)
    all_docs = con.execute("SELECT doc_key, id FROM documents").fetchall()
    dp_cols: dict[str, list[Any]] = defaultdict(list)
    for key, doc_id in all_docs:
        rec = prov.documents.get(key) or {
            "doc_key": key, "id": doc_id, "share_reused": 0.0, "class": "not derived",
            "composite": False, "n_sources": 0, "earliest_source": None, "spin_score": 0.0,
            "spun": False, "n_substitutions": 0, "n_insertions": 0, "n_deletions": 0,
            "n_moved": 0, "aligned_words": 0, "sources": [],
        }
        for c in ("doc_key", "id", "share_reused", "class", "composite", "n_sources",
                  "spin_score", "earliest_source", "spun", "n_substitutions", "n_insertions",
                  "n_deletions", "n_moved", "aligned_words"):
            dp_cols[c].append(rec.get(c))
        dp_cols["sources_json"].append(json.dumps(rec["sources"], ensure_ascii=False))
    dp = pa.table(
        {
            "doc_key": pa.array(dp_cols["doc_key"], pa.int32()),
            "id": pa.array(dp_cols["id"], pa.string()),
            "share_reused": pa.array(dp_cols["share_reused"], pa.float64()),
            "class": pa.array(dp_cols["class"], pa.string()),
            "composite": pa.array(dp_cols["composite"], pa.bool_()),
            "n_sources": pa.array(dp_cols["n_sources"], pa.int32()),
            "spin_score": pa.array(dp_cols["spin_score"], pa.float64()),
            "earliest_source": pa.array(dp_cols["earliest_source"], pa.string()),
            "spun": pa.array(dp_cols["spun"], pa.bool_()),
            "n_substitutions": pa.array(dp_cols["n_substitutions"], pa.int32()),
            "n_insertions": pa.array(dp_cols["n_insertions"], pa.int32()),
            "n_deletions": pa.array(dp_cols["n_deletions"], pa.int32()),
            "n_moved": pa.array(dp_cols["n_moved"], pa.int32()),
            "aligned_words": pa.array(dp_cols["aligned_words"], pa.int32()),
            "sources_json": pa.array(dp_cols["sources_json"], pa.string()),
        }
    )
    ed = pa.table(
        {
            "source_id": pa.array([e["source_id"] for e in prov.edges], pa.string()),
            "target_id": pa.array([e["target_id"] for e in prov.edges], pa.string()),
            "chars": pa.array([e["chars"] for e in prov.edges], pa.int32()),
            "passages": pa.array([e["passages"] for e in prov.edges], pa.int32()),
            "source_key": pa.array([e["source_key"] for e in prov.edges], pa.int32()),
            "target_key": pa.array([e["target_key"] for e in prov.edges], pa.int32()),
            "basis": pa.array([e["basis"] for e in prov.edges], pa.string()),
        }
    )
    su = pa.table(
        {
            "source": pa.array([s["source"] for s in prov.substitutions], pa.string()),
            "replacement": pa.array([s["replacement"] for s in prov.substitutions], pa.string()),
            "count": pa.array([s["count"] for s in prov.substitutions], pa.int32()),
            "n_docs": pa.array([s["n_docs"] for s in prov.substitutions], pa.int32()),
            "lexical": pa.array([s["lexical"] for s in prov.substitutions], pa.bool_()),
        }
    )
    cl = list(prov.clusters.values())
    cp = pa.table(
        {
            "cluster_id": pa.array([c["cluster_id"] for c in cl], pa.int32()),
            "earliest_id": pa.array([c["earliest_id"] for c in cl], pa.string()),
            "earliest_ids": pa.array([json.dumps(c["earliest_ids"]) for c in cl], pa.string()),
            "label": pa.array([c["label"] for c in cl], pa.string()),
            "n_undated": pa.array([c["n_undated"] for c in cl], pa.int32()),
            "clock_skew": pa.array([c["clock_skew"] for c in cl], pa.bool_()),
        }
    )
    views = {"prov_dp": dp, "prov_edges": ed, "prov_subs": su, "prov_clusters": cp}
    for name, table in views.items():
        con.register(name, table)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, view in (
            ("doc_provenance", "prov_dp"), ("edges", "prov_edges"),
            ("substitutions", "prov_subs"), ("cluster_provenance", "prov_clusters"),
        ):
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in views:
            con.unregister(name)
