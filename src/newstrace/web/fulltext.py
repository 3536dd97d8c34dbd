"""Full-text search over the documents: SQLite FTS5 through the standard library.

The FTS index is built from the DuckDB ``documents`` table the first time someone
searches, and refreshed (new documents only) when the table has grown. It lives in a
file beside the database, ``<db>.search.sqlite``, or in memory when that folder is not
writable. It is a cache: deleting the file only costs a rebuild.

A query is all words (each word must occur; ``"a phrase"`` in quotes must occur as
written), ranked by BM25 with the title weighted above the text. Words are folded
(case, diacritics) and stemmed (Porter), so ``golfing`` finds ``golf``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

SCHEMA_VERSION = "1"
FIELDS = ("all", "title", "publisher", "text")
_WEIGHTS = (5.0, 2.0, 1.0)  # title, publisher, text (bm25: higher weight, more relevant)
_MARK_ON, _MARK_OFF = "\x02", "\x03"  # ingest strips control characters from texts
_BATCH = 2000


def fts_path(db_path: str | Path) -> Path:
    """Where the FTS index of the database ``db_path`` is kept."""
    p = Path(db_path)
    return p.with_name(p.name + ".search.sqlite")


def fts_query(q: str, field: str = "all") -> str | None:
    """The user's query as an FTS5 expression: every word (or quoted phrase) required.

    >>> fts_query('Putin golf')
    '("putin" "golf")'
    >>> fts_query('"prime minister" oil', "title")
    '{title} : ("prime minister" "oil")'
    >>> fts_query("  ?! ") is None
    True
    """
    terms = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', q):
        words = re.findall(r"[^\W_]+", (phrase or word).casefold())  # FTS5's unicode61 words
        if words:
            terms.append('"' + " ".join(words) + '"')
    if not terms:
        return None
    expr = "(" + " ".join(terms) + ")"
    return expr if field == "all" else "{" + field + "} : " + expr


def _markup(snippet: str) -> Markup:
    parts = re.split(f"([{_MARK_ON}{_MARK_OFF}])", snippet)
    out = []
    for part in parts:
        if part == _MARK_ON:
            out.append("<mark>")
        elif part == _MARK_OFF:
            out.append("</mark>")
        else:
            out.append(str(escape(part)))
    return Markup("".join(out))


def snippet(marked: str, context: int = 70, windows: int = 3) -> Markup:
    """Snippet of a text whose matches FTS5 marked (``highlight``): a window around the
    first match of each different word (up to ``windows``), joined by "…", so every
    word of an all-words query shows where it can.

    >>> str(snippet("a \\x02cat\\x03 sat on the \\x02mat\\x03", context=4))
    'a <mark>cat</mark> sat…the <mark>mat</mark>'
    """
    plain, spans, pos = [], [], 0
    for m in re.finditer(f"{_MARK_ON}([^{_MARK_OFF}]*){_MARK_OFF}", marked):
        plain.append(marked[pos : m.start()])
        start = sum(map(len, plain))
        plain.append(m.group(1))
        spans.append((start, start + len(m.group(1))))
        pos = m.end()
    plain.append(marked[pos:])
    text = "".join(plain)
    if not spans:
        return Markup(escape(text[: 2 * context]) + ("…" if len(text) > 2 * context else ""))
    firsts: dict[str, tuple[int, int]] = {}
    for s, e in spans:
        firsts.setdefault(text[s:e].casefold(), (s, e))
    cuts: list[list[int]] = []
    for s, e in sorted(firsts.values())[:windows]:
        lo, hi = max(0, s - context), min(len(text), e + context)
        if cuts and lo <= cuts[-1][1]:
            cuts[-1][1] = max(cuts[-1][1], hi)
        else:
            cuts.append([lo, hi])
    out = ["…" if cuts[0][0] > 0 else ""]
    for n, (lo, hi) in enumerate(cuts):
        # widen to word edges
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
        while hi < len(text) and not text[hi].isspace():
            hi += 1
        cuts[n][1] = hi
        if n:
            out.append("…")
        inner = [(s, e) for s, e in spans if lo <= s and e <= hi]
        pos = lo
        for s, e in inner:
            out.append(str(escape(text[pos:s])) + "<mark>" + str(escape(text[s:e])) + "</mark>")
            pos = e
        out.append(str(escape(text[pos:hi])))
    out.append("…" if cuts[-1][1] < len(text) else "")
    return Markup("".join(out))


class FullText:
    """The FTS5 index of one DuckDB database (one SQLite connection, used under a lock)."""

    def __init__(self, db_path: str | Path | None, in_memory: bool = False) -> None:
        self.path: Path | None = None
        con = None
        if db_path is not None and not in_memory:
            path = fts_path(db_path)
            try:
                con = sqlite3.connect(path, check_same_thread=False)
                con.execute("CREATE TABLE IF NOT EXISTS fts_meta(key TEXT PRIMARY KEY, value TEXT)")
                con.execute("INSERT OR REPLACE INTO fts_meta VALUES ('writable', '1')")  # probe
                con.commit()
                self.path = path
            except sqlite3.Error:  # read-only folder or file: keep the index in memory
                if con is not None:
                    con.close()
                con = None
        if con is None:
            con = sqlite3.connect(":memory:", check_same_thread=False)
            con.execute("CREATE TABLE fts_meta(key TEXT PRIMARY KEY, value TEXT)")
        self.con = con
        self.lock = threading.Lock()
        self._create()

    def _create(self) -> None:
        meta = dict(self.con.execute("SELECT key, value FROM fts_meta").fetchall())
        if meta.get("schema") != SCHEMA_VERSION:
            self.con.execute("DROP TABLE IF EXISTS docs_fts")
            self.con.execute("DELETE FROM fts_meta")
        self.con.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(title, publisher, text, "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        self.con.execute("INSERT OR REPLACE INTO fts_meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        self.con.commit()

    def _meta(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT key, value FROM fts_meta").fetchall())

    def refresh(self, duck: Any) -> int:
        """Bring the index up to date with DuckDB's ``documents`` (connection ``duck``).

        Documents are only ever added, with growing ``doc_key``: new ones are appended.
        When the indexed part no longer matches (another database at the same path),
        the whole index is rebuilt. Returns the number of documents added.
        """
        with self.lock:
            meta = self._meta()
            last = int(meta.get("max_key", "0"))
            if last:
                row = duck.execute(
                    "SELECT count(*), max(content_hash) FILTER (WHERE doc_key = ?) FROM documents "
                    "WHERE doc_key <= ?",
                    [last, last],
                ).fetchone()
                if str(row[0]) != meta.get("n_docs") or row[1] != meta.get("last_hash"):
                    self.con.execute("DELETE FROM docs_fts")
                    last = 0
            added = 0
            n_docs = int(meta.get("n_docs", "0")) if last else 0
            last_hash = meta.get("last_hash") if last else None
            while True:
                rows = duck.execute(
                    """SELECT doc_key, coalesce(title, ''), coalesce(publisher, ''), text, content_hash
                       FROM documents WHERE doc_key > ? ORDER BY doc_key LIMIT ?""",
                    [last, _BATCH],
                ).fetchall()
                if not rows:
                    break
                self.con.executemany(
                    "INSERT INTO docs_fts(rowid, title, publisher, text) VALUES (?, ?, ?, ?)",
                    [r[:4] for r in rows],
                )
                added += len(rows)
                n_docs += len(rows)
                last, last_hash = rows[-1][0], rows[-1][4]
            if added or not last:
                self.con.executemany(
                    "INSERT OR REPLACE INTO fts_meta VALUES (?, ?)",
                    [("max_key", str(last)), ("n_docs", str(n_docs)), ("last_hash", last_hash or "")],
                )
            self.con.commit()
            return added

    def search(self, q: str, field: str = "all", limit: int = 50, offset: int = 0
               ) -> tuple[list[dict[str, Any]], int]:
        """``(hits, total)``: hits best first, each ``{"doc_key", "score", "snippet", "title"}``
        (``snippet``, from the text, and ``title`` are ``Markup`` with the matched words in
        ``<mark>``)."""
        if field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}")
        expr = fts_query(q, field)
        if expr is None:
            return [], 0
        with self.lock:
            total = self.con.execute(
                "SELECT count(*) FROM docs_fts WHERE docs_fts MATCH ?", (expr,)
            ).fetchone()[0]
            rows = self.con.execute(
                """SELECT rowid, bm25(docs_fts, ?, ?, ?) AS score,
                           highlight(docs_fts, 2, ?, ?),
                           highlight(docs_fts, 0, ?, ?)
                    FROM docs_fts WHERE docs_fts MATCH ?
                    ORDER BY score, rowid LIMIT ? OFFSET ?""",
                (*_WEIGHTS, _MARK_ON, _MARK_OFF, _MARK_ON, _MARK_OFF, expr, limit, offset),
            ).fetchall()
        hits = [{"doc_key": k, "score": round(-s, 4), "snippet": snippet(text), "title": _markup(title)}
                for k, s, text, title in rows]
        return hits, int(total)

    def close(self) -> None:
        with self.lock:
            self.con.close()
