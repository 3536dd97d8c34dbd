"""Reverse trace: watch originals and record who reuses them, continuously.

Tracing answers "where did this article come from?"; a watch answers the opposite
question a wire agency or rights holder asks: "where did *our* articles go?".

>>> from newstrace.watch import add_watch, run_watch, watch_report   # doctest: +SKIP
>>> with Index.open("news.duckdb") as idx:                            # doctest: +SKIP
...     add_watch(idx, publisher="Northwire")
>>> run_watch("news.duckdb", "inbox/", once=True)                     # doctest: +SKIP
>>> with Index.open("news.duckdb", read_only=True) as idx:            # doctest: +SKIP
...     report = watch_report(idx)

Tables (created here, in the index's DuckDB file, with ``CREATE TABLE IF NOT EXISTS``):

``watched(kind, value, aliases, added_at)``
    ``kind`` is ``document`` (``value`` = a document id) or ``publisher`` (``value``
    = a publisher name: every document of that publisher, now and later, is watched).
    ``aliases`` (JSON list) are extra credit forms, e.g. ``["BPA"]``.
``watch_files(path, sha1, size, mtime, status, processed_at, n_docs, n_rejected, message)``
    One row per inbox file version (``path`` + ``sha1``). ``status`` is ``processing``
    while its documents are being indexed and ``done`` once its reuses are recorded;
    ``done`` is written in the same transaction as the reuses and alerts, so a crash
    between ingest and that commit leaves ``processing`` and the next run redoes the
    file (ingest is idempotent, reuses are keyed) -- nothing is skipped, nothing doubled.
``reuses(reuse_id, original_id, copy_id, ...)``
    One row per (original, copy), unique: see :data:`REUSE_COLUMNS`.
``alerts(alert_id, reuse_id, original_id, copy_id, rules, payload, created_at,
delivered_at, attempts, last_error)``
    One row per reuse that passed an alert rule; webhook delivery is retried on later
    cycles until delivered or :data:`MAX_ATTEMPTS` failures (at-least-once).
``watch_settings(key, value)``
    Stored alert rules (``rules``) and webhook URL (``webhook``).

Measures of one reuse (documented rules)
----------------------------------------
* **lag**: ``copy.published_at - original.published_at`` in seconds; ``None`` when
  either is undated (the report says "undated").
* **share**: characters of the original inside passages aligned with the copy,
  divided by the original's length (union of spans).
* **credit**: the copy credits the original when its text (byline and datelines
  are part of the text) names the original's publisher -- the full name, or a
  parenthesised first word or initials such as "(Northwire)" / "(BPA)", the rule of
  :func:`newstrace.corpus_provenance.credits` -- or one of the watch's ``aliases``
  as a whole word; a copy from the same publisher is credited by definition.
* **edits**: word-level diff of every aligned passage (substitutions, rewrites,
  insertions and deletions inside passages), **cuts** (runs of the original with
  at least one word that no passage covers) and **insertions** (runs of the copy
  with a word that neither this original nor any other source covers).
* **spin score / spun / composite**: the copy's ``doc_provenance`` row when
  ``Index.build`` has computed it; otherwise (``mode="fast"``) the same helpers
  (``group_sources``, ``spin_score``, ``is_spun``) applied to this copy alone, with
  substitution recurrence taken from the stored ``substitutions`` table.
* **class**: ``composite`` (two or more independent sources) > ``spun`` >
  ``cut`` (cuts cover at least :data:`CUT_SHARE` of the original) > ``edited``
  (lexical substitutions or rewrites) > ``verbatim``.
* **direction**: :func:`newstrace.corpus_provenance.direction`; a document that the
  original itself copies is not a reuse; ``tie``/``unknown`` directions are kept
  and labelled.
* A reuse is recorded when the words matched exactly between the two (word-level
  diff of the passages) hold at least ``min_chars`` characters of the original
  (default :data:`MIN_REUSE_CHARS`): a shared quotation with a paraphrase around it
  (two outlets covering one event) is not a reprint, a reprinted paragraph is; and
  those characters must be at least :data:`MIN_DENSITY` of the original's aligned
  span (a loose alignment across a paraphrase is not reuse).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newstrace.corpus_provenance import credits, direction
from newstrace.errors import UserError
from newstrace.ingest import Rejected, parse_date, read_documents
from newstrace.provenance import (
    attribute,
    is_lexical_substitution,
    is_spun,
    spin_score,
    word_alignment,
)
from newstrace.tokens import TOKEN_RE

log = logging.getLogger("newstrace.watch")

#: Reuses covering fewer characters of the original than this are not recorded.
MIN_REUSE_CHARS = 80
#: ... and when those matched characters are at least this share of the original's
#: aligned span (a loose alignment across a paraphrase is related coverage, not reuse;
#: a verbatim copy scores about 0.83 since spaces and punctuation do not count).
MIN_DENSITY = 0.35
#: Share of the original left out (cuts) from which a copy is classed ``cut``.
CUT_SHARE = 0.05
#: Webhook deliveries are attempted this many times (once per cycle) at most.
MAX_ATTEMPTS = 5
#: Default seconds a file must be unmodified before it is read (still being written).
DEFAULT_SETTLE = 1.0
DEFAULT_INTERVAL = 10.0
WEBHOOK_TIMEOUT = 3.0
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".swp")

#: Default alert rules: an alert fires when any enabled rule passes.
DEFAULT_RULES: dict[str, Any] = {"min_share": 0.5, "uncredited": True, "min_spin": 2.0}
RULE_KEYS = {"min_share": float, "uncredited": bool, "min_spin": float, "min_chars": int}

SCHEMA = """
CREATE TABLE IF NOT EXISTS watched(
    kind VARCHAR NOT NULL, value VARCHAR NOT NULL, aliases VARCHAR,
    added_at TIMESTAMP DEFAULT current_timestamp, PRIMARY KEY (kind, value)
);
CREATE TABLE IF NOT EXISTS watch_files(
    path VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, size BIGINT, mtime DOUBLE,
    status VARCHAR NOT NULL, processed_at TIMESTAMP, n_docs INTEGER, n_rejected INTEGER,
    message VARCHAR, PRIMARY KEY (path, sha1)
);
CREATE SEQUENCE IF NOT EXISTS reuse_seq START 1;
CREATE TABLE IF NOT EXISTS reuses(
    reuse_id BIGINT NOT NULL, original_id VARCHAR NOT NULL, copy_id VARCHAR NOT NULL,
    original_publisher VARCHAR, original_title VARCHAR, original_at TIMESTAMP,
    copy_publisher VARCHAR, copy_title VARCHAR, copy_url VARCHAR, copy_at TIMESTAMP,
    lag_seconds DOUBLE, share DOUBLE, chars_reused INTEGER, matched_chars INTEGER, copy_share DOUBLE,
    credited BOOLEAN, credit_match VARCHAR, class VARCHAR, meter_class VARCHAR,
    n_substitutions INTEGER, n_rewrites INTEGER, n_insertions INTEGER, n_deletions INTEGER,
    cut_chars INTEGER, inserted_chars INTEGER, spin_score DOUBLE, spun BOOLEAN,
    composite BOOLEAN, other_sources VARCHAR, direction VARCHAR, edits_json VARCHAR,
    passages_json VARCHAR, source_file VARCHAR, backfill BOOLEAN,
    found_at TIMESTAMP NOT NULL, PRIMARY KEY (original_id, copy_id)
);
CREATE SEQUENCE IF NOT EXISTS alert_seq START 1;
CREATE TABLE IF NOT EXISTS alerts(
    alert_id BIGINT NOT NULL, reuse_id BIGINT NOT NULL, original_id VARCHAR NOT NULL,
    copy_id VARCHAR NOT NULL, rules VARCHAR, payload VARCHAR,
    created_at TIMESTAMP NOT NULL, delivered_at TIMESTAMP, attempts INTEGER DEFAULT 0,
    last_error VARCHAR, PRIMARY KEY (original_id, copy_id)
);
CREATE TABLE IF NOT EXISTS watch_settings(key VARCHAR PRIMARY KEY, value VARCHAR);
"""

#: Columns of ``reuses`` in insert order (``reuse_id`` comes from ``reuse_seq``).
REUSE_COLUMNS = (
    "original_id", "copy_id", "original_publisher", "original_title", "original_at",
    "copy_publisher", "copy_title", "copy_url", "copy_at", "lag_seconds", "share",
    "chars_reused", "matched_chars", "copy_share", "credited", "credit_match", "class", "meter_class",
    "n_substitutions", "n_rewrites", "n_insertions", "n_deletions", "cut_chars",
    "inserted_chars", "spin_score", "spun", "composite", "other_sources", "direction",
    "edits_json", "passages_json", "source_file", "backfill", "found_at",
)
_JSON_COLUMNS = ("other_sources", "edits_json", "passages_json")


# ----------------------------------------------------------------------------- schema
def ensure_schema(con: Any) -> None:
    """Create the watch tables if missing (needs a writable connection)."""
    con.execute(SCHEMA)


def _has_tables(con: Any) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('watched', 'reuses', 'alerts')"
    ).fetchall()
    return rows[0][0] == 3


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _setting(con: Any, key: str) -> Any:
    rows = con.execute("SELECT value FROM watch_settings WHERE key = ?", [key]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def _set_setting(con: Any, key: str, value: Any) -> None:
    con.execute(
        "INSERT INTO watch_settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )


# ----------------------------------------------------------------------------- rules
def check_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Validate alert rules; returns a clean dict.

    Keys: ``min_share`` (0..1, share of the original reused), ``uncredited`` (bool:
    alert on uncredited reuse), ``min_spin`` (spin score), ``min_chars`` (characters of
    the original). ``None`` disables a rule.

    Raises:
        UserError: an unknown key or a bad value.
    """
    out: dict[str, Any] = {}
    for key, value in rules.items():
        if key not in RULE_KEYS:
            raise UserError(f"alert rule {key!r}: unknown (use {', '.join(sorted(RULE_KEYS))})")
        if value is None:
            out[key] = None
            continue
        kind = RULE_KEYS[key]
        try:
            v = kind(value) if kind is not bool else _as_bool(value)
        except (TypeError, ValueError):
            raise UserError(f"alert rule {key}: expected {kind.__name__}, got {value!r}") from None
        if key == "min_share" and not 0.0 <= v <= 1.0:
            raise UserError(f"alert rule min_share: must be between 0 and 1, got {value}")
        if key in ("min_spin", "min_chars") and v < 0:
            raise UserError(f"alert rule {key}: must not be negative, got {value}")
        out[key] = v
    return out


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def rules_passed(reuse: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """Names of the rules a reuse passes (an alert fires when the list is not empty).

    ``min_chars`` is a precondition, not a trigger: below it nothing fires.

    >>> rules_passed({"share": 0.9, "credited": True, "spin_score": 0.0, "chars_reused": 900},
    ...              {"min_share": 0.5, "uncredited": True, "min_spin": 2.0})
    ['min_share']
    """
    if rules.get("min_chars") is not None and reuse["chars_reused"] < rules["min_chars"]:
        return []
    passed = []
    if rules.get("min_share") is not None and reuse["share"] >= rules["min_share"]:
        passed.append("min_share")
    if rules.get("uncredited") and not reuse["credited"]:
        passed.append("uncredited")
    if rules.get("min_spin") is not None and (reuse["spin_score"] or 0.0) >= rules["min_spin"]:
        passed.append("min_spin")
    return passed


def set_rules(idx: Any, rules: dict[str, Any] | None = None, webhook: str | None = None,
              clear_webhook: bool = False) -> dict[str, Any]:
    """Store alert rules (merged over the stored/default ones) and the webhook URL."""
    idx._require_writable()
    ensure_schema(idx.con)
    current = stored_rules(idx.con)
    if rules:
        current.update(check_rules(rules))
    _set_setting(idx.con, "rules", current)
    if webhook is not None:
        _set_setting(idx.con, "webhook", check_webhook(webhook))
    elif clear_webhook:
        idx.con.execute("DELETE FROM watch_settings WHERE key = 'webhook'")
    return {"rules": current, "webhook": _setting(idx.con, "webhook")}


def stored_rules(con: Any) -> dict[str, Any]:
    """The stored alert rules, or :data:`DEFAULT_RULES`."""
    stored = _setting(con, "rules") if _has_settings(con) else None
    out = dict(DEFAULT_RULES)
    if stored:
        out.update(stored)
    return out


def _has_settings(con: Any) -> bool:
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'watch_settings'"
    ).fetchall()[0][0] == 1


def check_webhook(url: str) -> str:
    """A webhook must be an http(s) URL with a host.

    Raises:
        UserError: anything else.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--webhook {url!r}: expected an http:// or https:// URL with a host")
    return url


# ----------------------------------------------------------------------------- watchlist
def add_watch(
    idx: Any,
    doc_ids: Iterable[str] | None = None,
    publisher: str | None = None,
    aliases: Sequence[str] = (),
    backfill: bool = True,
) -> dict[str, Any]:
    """Mark documents (by id) or a whole publisher as watched originals.

    With ``backfill`` the reuses already in the index are recorded at once (flagged
    ``backfill``; they raise no alert).

    Returns:
        ``{"documents": [...], "publisher": ..., "backfilled": n}``.

    Raises:
        UserError: an unknown document id, or nothing to watch.
    """
    idx._require_writable()
    ids = [str(i) for i in (doc_ids or [])]
    if not ids and not publisher:
        raise UserError("nothing to watch: give document ids or a publisher")
    con = idx.con
    ensure_schema(con)
    if ids:
        known = {
            r[0] for r in con.execute(
                "SELECT id FROM documents WHERE id IN (SELECT unnest(?))", [ids]
            ).fetchall()
        }
        missing = [i for i in ids if i not in known]
        if missing:
            raise UserError(
                f"no document with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                hint="ingest the original first, or watch its publisher with --publisher",
            )
    alias_json = json.dumps([a for a in aliases if a.strip()]) if aliases else None
    rows = [("document", i) for i in ids] + ([("publisher", publisher.strip())] if publisher else [])
    for kind, value in rows:
        con.execute(
            """INSERT INTO watched(kind, value, aliases) VALUES (?, ?, ?)
               ON CONFLICT (kind, value) DO UPDATE SET aliases = coalesce(excluded.aliases, watched.aliases)""",
            [kind, value, alias_json],
        )
    n = 0
    if backfill:
        keys = _watched_keys(con, ids=ids, publisher=publisher)
        if keys:
            found = find_reuses(idx, keys, source_file=None, backfill=True)
            n = _record(idx, found, rules=None, file_row=None)
    return {"documents": ids, "publisher": publisher, "backfilled": n}


def remove_watch(idx: Any, doc_ids: Iterable[str] | None = None, publisher: str | None = None) -> int:
    """Stop watching documents or a publisher (recorded reuses are kept)."""
    idx._require_writable()
    ensure_schema(idx.con)
    n = 0
    for kind, value in [("document", str(i)) for i in (doc_ids or [])] + (
        [("publisher", publisher)] if publisher else []
    ):
        n += idx.con.execute(
            "DELETE FROM watched WHERE kind = ? AND value = ? RETURNING 1", [kind, value]
        ).fetchall().__len__()
    return n


def list_watched(con: Any) -> list[dict[str, Any]]:
    if not _has_tables(con):
        return []
    return [
        {"kind": k, "value": v, "aliases": json.loads(a) if a else [], "added_at": _iso(t)}
        for k, v, a, t in con.execute(
            "SELECT kind, value, aliases, added_at FROM watched ORDER BY kind, value"
        ).fetchall()
    ]


def _watched_keys(con: Any, ids: Sequence[str] | None = None, publisher: str | None = None) -> list[int]:
    """doc_keys of watched documents (all of them, or only those named)."""
    if ids is None and publisher is None:
        sql = """SELECT doc_key FROM documents
                 WHERE id IN (SELECT value FROM watched WHERE kind = 'document')
                    OR publisher IN (SELECT value FROM watched WHERE kind = 'publisher')"""
        return [k for (k,) in con.execute(sql).fetchall()]
    return [
        k for (k,) in con.execute(
            "SELECT doc_key FROM documents WHERE id IN (SELECT unnest(?)) OR publisher = ?",
            [list(ids or []), publisher],
        ).fetchall()
    ]


def _aliases_for(con: Any, doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for (a,) in con.execute(
        """SELECT aliases FROM watched WHERE aliases IS NOT NULL AND
           ((kind = 'document' AND value = ?) OR (kind = 'publisher' AND value = ?))""",
        [doc["id"], doc.get("publisher")],
    ).fetchall():
        out.extend(json.loads(a))
    return out


# ----------------------------------------------------------------------------- analysis
def credit_of(copy: dict[str, Any], original: dict[str, Any], aliases: Sequence[str] = ()) -> str | None:
    """What in the copy credits the original (see the module docstring), or None.

    >>> credit_of({"text": "ASTANA (BPA) - ...", "publisher": "X"},
    ...           {"publisher": "Baltic Press Agency"})
    'publisher credit'
    >>> credit_of({"text": "as BPA reported", "publisher": "X"}, {"publisher": "Other"}, ["BPA"])
    'alias BPA'
    >>> credit_of({"text": "nothing", "publisher": "X"}, {"publisher": "Baltic Press Agency"}) is None
    True
    """
    pub = (original.get("publisher") or "").strip()
    cpub = (copy.get("publisher") or "").strip()
    if pub and cpub and pub.casefold() == cpub.casefold():
        return "same publisher"
    text = copy.get("text") or ""
    if pub and credits(text, pub):
        return "publisher credit"
    for alias in aliases:
        if alias and re.search(r"(?<!\w)" + re.escape(alias) + r"(?!\w)", text):
            return f"alias {alias}"
    return None


def _union_len(spans: Iterable[tuple[int, int]]) -> int:
    total, end = 0, -1
    for s, e in sorted(spans):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def _gaps(text: str, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs of ``text`` outside ``covered`` that hold at least one word, trimmed."""
    out = []
    pos = 0
    for s, e in sorted(covered) + [(len(text), len(text))]:
        if s > pos:
            words = list(TOKEN_RE.finditer(text, pos, s))
            if words:
                out.append((words[0].start(), words[-1].end()))
        pos = max(pos, e)
    return out


@dataclass
class _Found:
    """Reuses found in one pass (not yet stored)."""

    reuses: list[dict[str, Any]] = field(default_factory=list)


def _docs(con: Any, keys: Iterable[int]) -> dict[int, dict[str, Any]]:
    keys = list(set(keys))
    if not keys:
        return {}
    cur = con.execute(
        """SELECT doc_key, id, url, publisher, published_at, title, text
           FROM documents WHERE doc_key IN (SELECT unnest(?))""",
        [keys],
    )
    cols = [c[0] for c in cur.description]
    return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def _doc_provenance(con: Any, keys: list[int]) -> dict[int, dict[str, Any]]:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'doc_provenance'"
    ).fetchall()[0][0]
    if not exists or not keys:
        return {}
    cur = con.execute(
        """SELECT doc_key, share_reused, class, composite, n_sources, spin_score, spun,
                  sources_json FROM doc_provenance WHERE doc_key IN (SELECT unnest(?))""",
        [keys],
    )
    cols = [c[0] for c in cur.description]
    return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def _recurrence(con: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'substitutions'"
    ).fetchall()[0][0]
    if not exists or not pairs:
        return {}
    src = [p[0] for p in pairs]
    rep = [p[1] for p in pairs]
    rows = con.execute(
        """SELECT s.source, s.replacement, s.n_docs FROM substitutions s
           JOIN (SELECT unnest(?) AS source, unnest(?) AS replacement) q USING (source, replacement)""",
        [src, rep],
    ).fetchall()
    # the stored count does not include the new copy yet: it recurs when seen once elsewhere
    return {(a, b): int(n) + 1 for a, b, n in rows}


def find_reuses(
    idx: Any,
    keys: Iterable[int],
    source_file: str | dict[int, str] | None,
    backfill: bool = False,
    min_chars: int = MIN_REUSE_CHARS,
) -> list[dict[str, Any]]:
    """Reuses of a watched original that involve any of ``keys`` (new or watched docs).

    Each passage pair (watched original W, other document C) where W is the source
    (or the direction is undecided) becomes one reuse of W by C with its measures.
    """
    con = idx.con
    keys = sorted(set(int(k) for k in keys))
    if not keys:
        return []
    watched = set(_watched_keys(con))
    if not watched:
        return []
    rows = con.execute(
        """SELECT a_key, b_key, a_start, a_end, b_start, b_end, score FROM passages
           WHERE a_key IN (SELECT unnest(?)) OR b_key IN (SELECT unnest(?))
           ORDER BY a_key, b_key, a_start, b_start""",
        [keys, keys],
    ).fetchall()
    by_pair: dict[tuple[int, int], list[tuple[int, int, int, int, float]]] = {}
    for a, b, a0, a1, b0, b1, sc in rows:
        if a in watched:
            by_pair.setdefault((a, b), []).append((a0, a1, b0, b1, sc))
        if b in watched:
            by_pair.setdefault((b, a), []).append((b0, b1, a0, a1, sc))
    if not by_pair:
        return []
    docs = _docs(con, [k for p in by_pair for k in p])
    cand: list[tuple[int, int, str]] = []
    for (w, c), ps in by_pair.items():
        w_src, basis = direction(docs[w], docs[c])
        if w_src is False:
            continue  # the watched document copies this one, not the other way round
        if _union_len((p[0], p[1]) for p in ps) < min_chars:
            continue  # cheap pre-check; the real test is on matched words below
        cand.append((w, c, basis))
    if not cand:
        return []
    copies = sorted({c for _, c, _ in cand})
    prov = _doc_provenance(con, copies)
    local = {c: _copy_analysis(idx, c) for c in copies if c not in prov}
    found_at = _now()
    out = []
    for w, c, basis in cand:
        src = source_file.get(c, source_file.get(w)) if isinstance(source_file, dict) else source_file
        r = _measure(con, docs[w], docs[c], by_pair[(w, c)], basis, prov.get(c), local.get(c),
                     src, backfill, found_at, idx.params)
        if r["matched_chars"] >= min_chars and r["matched_chars"] >= MIN_DENSITY * r["chars_reused"]:
            out.append(r)
    return out


def _copy_analysis(idx: Any, key: int) -> dict[str, Any]:
    """This copy's provenance computed alone (when ``doc_provenance`` has no row yet):
    independent sources, composite flag and spin score, as ``corpus_provenance`` does.
    """
    con = idx.con
    rows = con.execute(
        """SELECT b_key, a_start, a_end, b_start, b_end FROM passages WHERE a_key = ?
           UNION ALL SELECT a_key, b_start, b_end, a_start, a_end FROM passages WHERE b_key = ?""",
        [key, key],
    ).fetchall()
    spans: dict[int, list[tuple[int, int, int, int]]] = {}
    for other, t0, t1, s0, s1 in rows:
        spans.setdefault(other, []).append((t0, t1, s0, s1))
    docs = _docs(con, list(spans) + [key])
    me = docs[key]
    spans_of: dict[str, list[tuple[int, int, int, int]]] = {}
    src_of: dict[str, dict[str, Any]] = {}
    basis_of: dict[str, str] = {}
    for other, sp in spans.items():
        is_src, basis = direction(docs[other], me)
        if not is_src:
            continue
        sid = str(docs[other]["id"])
        spans_of[sid] = sp
        src_of[sid] = docs[other]
        basis_of[sid] = basis
    # the one attribution model (as corpus provenance: same sources, class and edits)
    att = attribute(me["text"], spans_of, src_of, idx.params, basis=basis_of, detail=False)
    rec = _recurrence(con, {(s.casefold(), r.casefold()) for s, r in att.substitutions})
    score = spin_score(list(att.substitutions), att.aligned_words, rec)
    return {
        "share_reused": att.derived_share, "class": att.classification,
        "composite": att.composite, "n_sources": len(att.groups),
        "spin_score": score, "spun": is_spun(score, att.lexical_substitutions),
        "sources": [{"id": g.id, "copies": list(g.copies), "main": g.main} for g in att.groups],
    }


def _date_key(d: dict[str, Any]) -> tuple[bool, datetime, str]:
    t = d.get("published_at")
    return (t is None, t or datetime.max, str(d["id"]))


def _measure(
    con: Any,
    w: dict[str, Any],
    c: dict[str, Any],
    ps: list[tuple[int, int, int, int, float]],
    basis: str,
    prov: dict[str, Any] | None,
    local: dict[str, Any] | None,
    source_file: str | None,
    backfill: bool,
    found_at: datetime,
    params: Any,
) -> dict[str, Any]:
    wt, ct = w["text"], c["text"]
    subs: list[dict[str, Any]] = []
    rewrites: list[dict[str, Any]] = []
    ins_ops: list[dict[str, Any]] = []
    del_ops: list[dict[str, Any]] = []
    w_cov: list[tuple[int, int]] = []
    c_cov: list[tuple[int, int]] = []
    matched_chars = 0
    for w0, w1, c0, c1, _ in ps:
        w_cov.append((w0, w1))
        c_cov.append((c0, c1))
        matches, ops = word_alignment(ct, (c0, c1), wt, (w0, w1))
        for m in matches:
            c_cov.append((m[0], m[1]))
            w_cov.append((m[2], m[3]))
            matched_chars += m[3] - m[2]
        for e in ops:
            item = {k: e[k] for k in ("source", "replacement", "source_start", "source_end",
                                      "copy_start", "copy_end")}
            {"substitute": subs, "rewrite": rewrites, "insert": ins_ops, "delete": del_ops}[
                e["op"]].append(item)
            w_cov.append((e["source_start"], e["source_end"]))
            c_cov.append((e["copy_start"], e["copy_end"]))
    passage_w = _union_len((p[0], p[1]) for p in ps)
    cuts = _gaps(wt, w_cov)
    # the copy's own additions: not covered by this original nor by any other source
    other_cov = [
        (s, e) for s, e in con.execute(
            """SELECT a_start, a_end FROM passages WHERE a_key = ? AND b_key <> ?
               UNION ALL SELECT b_start, b_end FROM passages WHERE b_key = ? AND a_key <> ?""",
            [c["doc_key"], w["doc_key"], c["doc_key"], w["doc_key"]],
        ).fetchall()
    ]
    inserted = _gaps(ct, c_cov + other_cov)
    p = prov or {}
    loc = local or {}
    groups = json.loads(prov.get("sources_json") or "[]") if prov else loc.get("sources", [])
    # other independent sources: contributor groups that do not hold this original
    srcs = [g["id"] for g in groups if g["id"] != w["id"] and w["id"] not in g.get("copies", [])]
    composite = bool(p.get("composite", loc.get("composite", False)))
    spin = float(p.get("spin_score", loc.get("spin_score", 0.0)) or 0.0)
    spun = bool(p.get("spun", loc.get("spun", False)))
    meter = p.get("class", loc.get("class"))
    n_lex = sum(1 for s in subs if is_lexical_substitution(s["source"], s["replacement"]))
    cut_chars = sum(e - s for s, e in cuts)
    n = max(1, len(wt))
    if composite:
        cls = "composite"
    elif spun:
        cls = "spun"
    elif cut_chars / n >= CUT_SHARE:
        cls = "cut"
    elif n_lex or rewrites:
        cls = "edited"
    else:
        cls = "verbatim"
    credit = credit_of(c, w, _aliases_for(con, w))
    lag = None
    if w.get("published_at") is not None and c.get("published_at") is not None:
        lag = (c["published_at"] - w["published_at"]).total_seconds()
    edits = {
        "substitutions": [{"source": s["source"], "replacement": s["replacement"],
                           "source_start": s["source_start"], "copy_start": s["copy_start"],
                           "lexical": is_lexical_substitution(s["source"], s["replacement"])}
                          for s in subs],
        "rewrites": [{"source": s["source"], "replacement": s["replacement"]} for s in rewrites],
        "cuts": [{"start": s, "end": e, "text": wt[s:e][:300]} for s, e in cuts],
        "insertions": [{"start": s, "end": e, "text": ct[s:e][:300]} for s, e in inserted]
        + [{"start": i["copy_start"], "end": i["copy_end"], "text": i["replacement"][:300]}
           for i in ins_ops if i["replacement"].strip()],
        "deletions": [{"start": d["source_start"], "end": d["source_end"], "text": d["source"][:300]}
                      for d in del_ops],
    }
    return {
        "original_id": w["id"], "copy_id": c["id"],
        "original_publisher": w.get("publisher"), "original_title": w.get("title"),
        "original_at": w.get("published_at"),
        "copy_publisher": c.get("publisher"), "copy_title": c.get("title"),
        "copy_url": c.get("url"), "copy_at": c.get("published_at"),
        "lag_seconds": lag, "share": round(passage_w / n, 4), "chars_reused": passage_w,
        "matched_chars": matched_chars,
        "copy_share": round(_union_len((q[2], q[3]) for q in ps) / max(1, len(ct)), 4),
        "credited": credit is not None, "credit_match": credit, "class": cls,
        "meter_class": meter, "n_substitutions": n_lex, "n_rewrites": len(rewrites),
        "n_insertions": len(edits["insertions"]), "n_deletions": len(del_ops),
        "cut_chars": cut_chars, "inserted_chars": sum(e - s for s, e in inserted),
        "spin_score": round(spin, 3), "spun": spun, "composite": composite,
        "other_sources": srcs, "direction": basis,
        "edits_json": edits,
        "passages_json": [{"a_start": q[0], "a_end": q[1], "b_start": q[2], "b_end": q[3],
                           "score": round(float(q[4]), 4)} for q in ps],
        "source_file": source_file, "backfill": backfill, "found_at": found_at,
    }


# ----------------------------------------------------------------------------- storing
def _record(
    idx: Any,
    found: list[dict[str, Any]],
    rules: dict[str, Any] | None,
    file_row: dict[str, Any] | None,
    files_done: Sequence[dict[str, Any]] = (),
) -> int:
    """Insert reuses (new ones only) and their alerts; mark files done; one transaction.

    Returns the number of new reuses.
    """
    con = idx.con
    cols = ", ".join(REUSE_COLUMNS)
    marks = ", ".join("?" for _ in REUSE_COLUMNS)
    new = 0
    done = list(files_done) + ([file_row] if file_row else [])
    con.execute("BEGIN TRANSACTION")
    try:
        for r in found:
            values = [json.dumps(r[k], ensure_ascii=False) if k in _JSON_COLUMNS else r[k]
                      for k in REUSE_COLUMNS]
            got = con.execute(
                f"""INSERT INTO reuses (reuse_id, {cols}) VALUES (nextval('reuse_seq'), {marks})
                    ON CONFLICT (original_id, copy_id) DO NOTHING RETURNING reuse_id""",
                values,
            ).fetchall()
            if not got:
                continue
            new += 1
            if rules is None or r["backfill"]:
                continue
            passed = rules_passed(r, rules)
            if not passed:
                continue
            payload = alert_payload(r, got[0][0], passed)
            con.execute(
                """INSERT INTO alerts (alert_id, reuse_id, original_id, copy_id, rules, payload,
                                       created_at, attempts)
                   VALUES (nextval('alert_seq'), ?, ?, ?, ?, ?, ?, 0)
                   ON CONFLICT (original_id, copy_id) DO NOTHING""",
                [got[0][0], r["original_id"], r["copy_id"], json.dumps(passed),
                 json.dumps(payload, ensure_ascii=False), _now()],
            )
        for f in done:
            con.execute(
                """UPDATE watch_files SET status = 'done', processed_at = ?, n_docs = ?,
                          n_rejected = ?, message = ? WHERE path = ? AND sha1 = ?""",
                [_now(), f["n_docs"], f["n_rejected"], f.get("message"), f["path"], f["sha1"]],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return new


def alert_payload(r: dict[str, Any], reuse_id: int, passed: list[str]) -> dict[str, Any]:
    """The JSON body POSTed to the webhook for one alert."""
    return {
        "event": "newstrace.reuse",
        "reuse_id": reuse_id,
        "rules": passed,
        "original": {"id": r["original_id"], "publisher": r["original_publisher"],
                     "title": r["original_title"], "published_at": _iso(r["original_at"])},
        "copy": {"id": r["copy_id"], "publisher": r["copy_publisher"], "title": r["copy_title"],
                 "url": r["copy_url"], "published_at": _iso(r["copy_at"])},
        "class": r["class"], "share": r["share"], "credited": r["credited"],
        "spin_score": r["spin_score"], "composite": r["composite"],
        "lag_seconds": r["lag_seconds"], "found_at": _iso(r["found_at"]),
    }


def deliver_alerts(con: Any, webhook: str | None, timeout: float = WEBHOOK_TIMEOUT) -> dict[str, int]:
    """POST every undelivered alert (fewer than ``MAX_ATTEMPTS`` tries) to ``webhook``.

    Failures are logged and counted, never raised; each alert is retried on later calls.
    """
    if not webhook:
        return {"sent": 0, "failed": 0}
    pending = con.execute(
        """SELECT alert_id, payload FROM alerts WHERE delivered_at IS NULL AND attempts < ?
           ORDER BY alert_id""",
        [MAX_ATTEMPTS],
    ).fetchall()
    sent = failed = 0
    for alert_id, payload in pending:
        error = _post_json(webhook, payload.encode("utf-8"), timeout)
        if error is None:
            sent += 1
            con.execute(
                "UPDATE alerts SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE alert_id = ?",
                [_now(), alert_id],
            )
        else:
            failed += 1
            log.warning("webhook %s: alert %s not delivered: %s", webhook, alert_id, error)
            con.execute(
                "UPDATE alerts SET attempts = attempts + 1, last_error = ? WHERE alert_id = ?",
                [error[:500], alert_id],
            )
    return {"sent": sent, "failed": failed}


def _post_json(url: str, body: bytes, timeout: float) -> str | None:
    req = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "newstrace-watch"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if not 200 <= resp.status < 300:
                return f"HTTP {resp.status}"
        return None
    except urllib.error.HTTPError as ex:
        return f"HTTP {ex.code}"
    except (urllib.error.URLError, OSError, ValueError) as ex:
        return str(getattr(ex, "reason", ex))


# ----------------------------------------------------------------------------- inbox
def _is_partial(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~")) or name.lower().endswith(PARTIAL_SUFFIXES)


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pending_files(con: Any, inbox: Path, settle: float = DEFAULT_SETTLE) -> list[dict[str, Any]]:
    """Files in ``inbox`` (recursively, sorted by path) not yet done, ready to read.

    Skips hidden files, partial downloads (``.part``, ``.tmp``...) and files modified
    less than ``settle`` seconds ago (still being written).
    """
    now = time.time()
    out: list[dict[str, Any]] = []
    done = {
        (p, s, m) for p, s, m in con.execute(
            "SELECT path, size, mtime FROM watch_files WHERE status = 'done'"
        ).fetchall()
    }
    for dirpath, dirnames, filenames in os.walk(inbox):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if _is_partial(path):
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            if now - st.st_mtime < settle:
                continue
            key = (str(path), st.st_size, st.st_mtime)
            if key in done:
                continue
            out.append({"path": str(path), "size": st.st_size, "mtime": st.st_mtime})
    out.sort(key=lambda f: f["path"])
    return out


# ----------------------------------------------------------------------------- running
@dataclass
class CycleReport:
    """What one pass over the inbox did."""

    files: int = 0
    documents: int = 0
    rejected: int = 0
    reuses: int = 0
    alerts: int = 0
    sent: int = 0
    failed: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, other: CycleReport) -> None:
        for name in ("files", "documents", "rejected", "reuses", "alerts", "sent", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.seconds.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v

    def summary(self) -> str:
        return (
            f"{self.files} file(s), {self.documents} document(s), {self.rejected} rejected, "
            f"{self.reuses} new reuse(s), {self.alerts} alert(s)"
            + (f", webhook {self.sent} sent / {self.failed} failed" if self.sent or self.failed else "")
        )


def _build(idx: Any, mode: str) -> dict[str, float]:
    """Index the new documents. ``full``: ``Index.build()`` (clusters and corpus
    provenance recomputed). ``fast``: fingerprint, candidates and alignment only --
    the per-copy measures are then computed here (see ``_copy_analysis``)."""
    return dict(idx.build(refresh=mode == "full").seconds)


def process_files(
    idx: Any,
    files: list[dict[str, Any]],
    rules: dict[str, Any],
    mode: str = "full",
) -> CycleReport:
    """Ingest ``files`` (one batch), index them incrementally, record their reuses.

    The files are marked ``processing`` first (one transaction) and ``done`` in the
    transaction that stores their reuses and alerts.
    """
    rep = CycleReport()
    con = idx.con
    t0 = time.perf_counter()
    ready: list[dict[str, Any]] = []
    for f in files:
        try:
            ready.append(dict(f, sha1=_sha1(Path(f["path"]))))
        except OSError as ex:
            log.warning("%s: cannot read (%s); will retry", f["path"], ex)
    if not ready:
        return rep
    status = {
        (p, h): st for p, h, st in con.execute(
            "SELECT path, sha1, status FROM watch_files WHERE path IN (SELECT unnest(?))",
            [[f["path"] for f in ready]],
        ).fetchall()
    }
    todo = []
    con.execute("BEGIN TRANSACTION")
    try:
        for f in ready:
            if status.get((f["path"], f["sha1"])) == "done":  # touched, same content
                con.execute(
                    "UPDATE watch_files SET size = ?, mtime = ? WHERE path = ? AND sha1 = ?",
                    [f["size"], f["mtime"], f["path"], f["sha1"]],
                )
                continue
            con.execute(
                """INSERT INTO watch_files (path, sha1, size, mtime, status)
                   VALUES (?, ?, ?, ?, 'processing')
                   ON CONFLICT (path, sha1) DO UPDATE SET size = excluded.size, mtime = excluded.mtime""",
                [f["path"], f["sha1"], f["size"], f["mtime"]],
            )
            todo.append(f)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if not todo:
        return rep
    docs = []
    file_of: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for f in todo:
        rejected: list[str] = []
        n_docs = 0
        for item in read_documents([f["path"]]):
            if isinstance(item, Rejected):
                rejected.append(str(item))
            else:
                docs.append(item[0])
                file_of.setdefault(item[0].id, f["path"])
                n_docs += 1
        for r in rejected[:5]:
            log.warning("rejected: %s", r)
        rows.append(dict(f, n_docs=n_docs, n_rejected=len(rejected),
                         message="; ".join(rejected[:3]) or None))
        rep.rejected += len(rejected)
    res = idx.add(docs)
    for where, reason in res.rejected:
        log.warning("rejected: %s: %s", where, reason)
    rep.rejected += len(res.rejected)
    rep.files = len(rows)
    rep.documents = res.added
    key_file: dict[int, str] = {}
    if file_of:
        for k, i in con.execute(
            "SELECT doc_key, id FROM documents WHERE id IN (SELECT unnest(?))", [list(file_of)]
        ).fetchall():
            key_file[k] = file_of[i]
    rep.seconds["ingest"] = time.perf_counter() - t0
    # documents stored by other means (``newstrace ingest``, ``watch add FILE``) and not
    # indexed yet are scanned too: their passages appear in this build
    unindexed = [
        k for (k,) in con.execute(
            "SELECT doc_key FROM documents ANTI JOIN fingerprinted USING (doc_key)"
        ).fetchall()
    ]
    rep.seconds.update(_build(idx, mode))
    t = time.perf_counter()
    found = find_reuses(idx, set(key_file) | set(unindexed), source_file=key_file)
    rep.seconds["measure"] = time.perf_counter() - t
    t = time.perf_counter()
    before = con.execute("SELECT count(*) FROM alerts").fetchall()[0][0]
    rep.reuses = _record(idx, found, rules, file_row=None, files_done=rows)
    rep.alerts = con.execute("SELECT count(*) FROM alerts").fetchall()[0][0] - before
    rep.seconds["record"] = time.perf_counter() - t
    return rep


def run_watch(
    idx_path: str | Path,
    inbox: str | Path,
    once: bool = False,
    interval: float = DEFAULT_INTERVAL,
    webhook: str | None = None,
    rules: dict[str, Any] | None = None,
    *,
    settle: float = DEFAULT_SETTLE,
    batch: int = 1,
    mode: str = "full",
    max_cycles: int | None = None,
    stop: threading.Event | None = None,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> CycleReport:
    """Watch ``inbox``: index every new file and record new reuses of watched originals.

    Args:
        idx_path: the index (DuckDB file); opened for writing while running.
        inbox: folder of JSONL/CSV/HTML/WARC/.txt files; read recursively, in path order.
        once: one pass, then return (for cron).
        interval: seconds between passes.
        webhook: POST each new alert there (overrides the stored ``watch rules`` URL).
        rules: alert rules (see :func:`check_rules`); default: the stored ones.
        settle: a file modified less than this many seconds ago is left for a later pass.
        batch: files indexed together per ``build`` (1 = one at a time; more = higher
            throughput at the cost of lag).
        mode: ``full`` (``Index.build()`` per batch) or ``fast`` (fingerprint/candidates/
            align only; run ``newstrace build`` later to refresh clusters and provenance).
        max_cycles / stop: end after this many passes / when the event is set.
        on_cycle: called with each pass's report.

    Returns:
        The totals over all passes.

    Raises:
        UserError: the inbox is missing, or a bad rule/webhook/mode.
    """
    from newstrace.index import Index

    inbox = Path(inbox)
    if not inbox.is_dir():
        raise UserError(f"{inbox}: no such folder (the inbox to watch)")
    if mode not in ("full", "fast"):
        raise UserError(f"--mode {mode!r}: expected full or fast")
    if batch < 1:
        raise UserError(f"--batch: must be at least 1, got {batch}")
    if interval < 0:
        raise UserError(f"--interval: must not be negative, got {interval}")
    total = CycleReport()
    with Index.open(idx_path) as idx:
        ensure_schema(idx.con)
        active = stored_rules(idx.con)
        if rules:
            active.update(check_rules(rules))
        url = check_webhook(webhook) if webhook else _setting(idx.con, "webhook")
        cycles = 0
        while True:
            cycles += 1
            rep = CycleReport()
            files = pending_files(idx.con, inbox, settle)
            for lo in range(0, len(files), batch):
                rep.add(process_files(idx, files[lo : lo + batch], active, mode))
                delivered = deliver_alerts(idx.con, url)
                rep.sent += delivered["sent"]
                rep.failed += delivered["failed"]
            if not files:  # retry earlier failures even when nothing new came in
                delivered = deliver_alerts(idx.con, url)
                rep.sent += delivered["sent"]
                rep.failed += delivered["failed"]
            total.add(rep)
            if on_cycle:
                on_cycle(rep)
            if once or (max_cycles is not None and cycles >= max_cycles):
                break
            if stop is not None:
                if stop.wait(interval):
                    break
            else:
                time.sleep(interval)
    return total


# ----------------------------------------------------------------------------- reporting
def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _row_to_reuse(cols: list[str], row: Sequence[Any]) -> dict[str, Any]:
    r = dict(zip(cols, row, strict=True))
    for k in _JSON_COLUMNS:
        if k in r and isinstance(r[k], str):
            r[k] = json.loads(r[k])
    r["edits"] = r.pop("edits_json", None)
    r["passages"] = r.pop("passages_json", None)
    for k in ("original_at", "copy_at", "found_at"):
        r[k] = _iso(r.get(k))
    return r


def get_reuse(con: Any, reuse_id: int) -> dict[str, Any]:
    """One recorded reuse by id.

    Raises:
        UserError: no such reuse.
    """
    if not _has_tables(con):
        raise UserError(f"no reuse with id {reuse_id}")
    cur = con.execute("SELECT * FROM reuses WHERE reuse_id = ?", [int(reuse_id)])
    rows = cur.fetchall()
    if not rows:
        raise UserError(f"no reuse with id {reuse_id}")
    return _row_to_reuse([c[0] for c in cur.description], rows[0])


def recent_reuses(con: Any, limit: int = 50, include_backfill: bool = False) -> list[dict[str, Any]]:
    """The newest recorded reuses (for feeds), newest first."""
    if not _has_tables(con):
        return []
    cur = con.execute(
        f"""SELECT * FROM reuses {'' if include_backfill else 'WHERE NOT backfill'}
            ORDER BY found_at DESC, reuse_id DESC LIMIT ?""",
        [int(limit)],
    )
    cols = [c[0] for c in cur.description]
    return [_row_to_reuse(cols, r) for r in cur.fetchall()]


def watch_report(idx: Any, since: str | datetime | None = None) -> dict[str, Any]:
    """Per watched original: its reuses (recorded since ``since``, when given).

    ``since`` filters on when a reuse was recorded (``found_at``); an ISO date or
    datetime. Originals watched by id are listed even without reuses.

    Returns:
        ``{"since", "generated_at", "watched", "n_reuses", "n_alerts", "originals": [
        {"id", "title", "publisher", "published_at", "n_reuses", "n_uncredited",
        "reuses": [...]}]}``; each reuse has the ``reuses`` columns, ``edits`` and
        ``passages`` decoded.
    """
    con = idx.con
    when = None
    if since is not None:
        try:
            when = since if isinstance(since, datetime) else parse_date(str(since))
        except ValueError:
            when = None
        if when is None:
            raise UserError(f"--since {since!r}: not a date (use e.g. 2026-03-21 or 2026-03-21T08:00)")
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
    out: dict[str, Any] = {
        "since": _iso(when), "generated_at": _iso(_now()), "watched": list_watched(con),
        "n_reuses": 0, "n_alerts": 0, "originals": [],
    }
    if not _has_tables(con):
        return out
    cur = con.execute(
        """SELECT * FROM reuses WHERE ? IS NULL OR found_at >= ?
           ORDER BY original_id, copy_at NULLS LAST, copy_id""",
        [when, when],
    )
    cols = [c[0] for c in cur.description]
    reuses = [_row_to_reuse(cols, r) for r in cur.fetchall()]
    ids = sorted({r["original_id"] for r in reuses} | {
        w["value"] for w in out["watched"] if w["kind"] == "document"
    })
    meta = {}
    if ids:
        for i, title, pub, at in con.execute(
            "SELECT id, title, publisher, published_at FROM documents WHERE id IN (SELECT unnest(?))",
            [ids],
        ).fetchall():
            meta[i] = {"title": title, "publisher": pub, "published_at": _iso(at)}
    by_orig: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in reuses:
        by_orig[r["original_id"]].append(r)
    for i in ids:
        rs = by_orig[i]
        m = meta.get(i, {})
        out["originals"].append(
            {"id": i, "title": m.get("title"), "publisher": m.get("publisher"),
             "published_at": m.get("published_at"), "n_reuses": len(rs),
             "n_uncredited": sum(1 for r in rs if not r["credited"]), "reuses": rs}
        )
    out["originals"].sort(key=lambda o: (-o["n_reuses"], o["id"]))
    out["n_reuses"] = len(reuses)
    out["n_alerts"] = con.execute(
        "SELECT count(*) FROM alerts WHERE ? IS NULL OR created_at >= ?", [when, when]
    ).fetchall()[0][0]
    return out


def format_lag(seconds: float | None) -> str:
    """Human lag: "+2 h 5 min", "-10 min" (copy dated earlier), "undated".

    >>> format_lag(7500), format_lag(None), format_lag(90000)
    ('+2 h 5 min', 'undated', '+1 d 1 h')
    """
    if seconds is None:
        return "undated"
    sign = "-" if seconds < 0 else "+"
    s = int(abs(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    mnt = rem // 60
    if d:
        return f"{sign}{d} d {h} h"
    if h:
        return f"{sign}{h} h {mnt} min"
    return f"{sign}{mnt} min"
