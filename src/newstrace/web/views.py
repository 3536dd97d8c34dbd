"""View models for the web pages: coloured trace, side-by-side diff, cluster graph,
search and the corpus overview.

Everything that ends up in HTML as markup is built here from escaped pieces
(``markupsafe.escape``); templates get either plain values (autoescaped by Jinja)
or ``Markup`` built by these functions. No article text is ever trusted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
from markupsafe import Markup, escape

from newstrace.edits import is_genuine_swap
from newstrace.provenance import word_alignment
from newstrace.report import isolate
from newstrace.web.fulltext import FIELDS, FullText

#: (background, accent) per source group; accents are readable on white.
PALETTE: list[tuple[str, str]] = [
    ("#cfe3ff", "#1f5fbf"),
    ("#ffd9b0", "#b85400"),
    ("#c6efcd", "#1e7b34"),
    ("#e6d4fb", "#6b3fb0"),
    ("#ffd1e3", "#b0306a"),
    ("#c4eeec", "#0f7a74"),
    ("#fff0a0", "#7d6300"),
    ("#e8dccf", "#7a5230"),
]

EDIT_LABEL = {
    "substitute": "substituted",
    "rewrite": "rewritten",
    "insert": "added",
    "delete": "removed",
}


def colour_index(i: int) -> int:
    return i % len(PALETTE)


def fmt_date(value: Any) -> str:
    """``2026-03-10T15:30:00`` -> ``10 Mar 2026, 15:30``; None -> ``undated``."""
    if not value:
        return "undated"
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return when.strftime("%d %b %Y, %H:%M")


# ------------------------------------------------------------------------------ marking
def _flatten(spans: Iterable[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
    """Sort spans and cut overlaps (the earlier-starting span wins)."""
    out: list[tuple[int, int, Any]] = []
    pos = -1
    for s, e, payload in sorted(spans, key=lambda x: (x[0], -x[1])):
        s = max(s, pos)
        if e <= s:
            continue
        out.append((s, e, payload))
        pos = e
    return out


def _inner_markup(text: str, start: int, end: int, inner: Sequence[dict[str, Any]]) -> str:
    """Escaped ``text[start:end]`` with ``inner`` edit marks (``s, e, kind, title``)."""
    out: list[str] = []
    pos = start
    items = sorted(
        (x for x in inner if start <= x["s"] <= end and x["e"] <= end),
        key=lambda x: (x["s"], x["e"]),
    )
    for x in items:
        s, e = max(x["s"], pos), x["e"]
        if s > x["s"] and x["e"] > x["s"]:
            continue  # overlaps an earlier mark
        out.append(str(isolate(text[pos:s])))
        title = escape(x["title"])
        kind = escape(x["kind"])
        if e <= s:
            out.append(f'<span class="gap {kind}" title="{title}" aria-label="{title}">⁁</span>')
            continue
        tag = "del" if x.get("side") == "left" else "ins"
        out.append(f'<{tag} class="ed {kind}" title="{title}">{isolate(text[s:e])}</{tag}>')
        pos = e
    out.append(str(isolate(text[pos:end])))
    return "".join(out)


def mark_text(
    text: str,
    regions: Sequence[tuple[int, int, dict[str, Any]]],
    inner: Sequence[dict[str, Any]] = (),
) -> Markup:
    """Escape ``text``; wrap each region in ``<span>`` with its escaped attributes, and
    edits (``inner``) inside regions in ``<ins>``/``<del>``.

    A region's payload: ``{"cls", "id", "title", "badge", "href"}`` (all optional).

    >>> str(mark_text("a <b> c", [(2, 5, {"cls": "x"})]))
    'a <span class="x">&lt;b&gt;</span> c'
    """
    out: list[str] = []
    pos = 0
    for s, e, p in _flatten(regions):
        out.append(str(isolate(text[pos:s])))
        attrs = f' class="{escape(p.get("cls", ""))}"'
        if p.get("id"):
            attrs += f' id="{escape(p["id"])}"'
        if p.get("title"):
            attrs += f' title="{escape(p["title"])}"'
        if p.get("peer"):
            attrs += f' data-peer="{escape(p["peer"])}"'
        out.append(f"<span{attrs}>")
        if p.get("badge"):
            href = escape(p.get("href") or "#")
            out.append(
                f'<a class="badge {escape(p.get("badge_cls", ""))}" href="{href}">'
                f'{escape(p["badge"])}</a>'
            )
        out.append(_inner_markup(text, s, e, [x for x in inner if s <= x["s"] < e or x["s"] == e == x["e"]]))
        out.append("</span>")
        pos = e
    out.append(str(isolate(text[pos:])))
    return Markup("".join(out))


# ------------------------------------------------------------------------------- trace
def trace_view(text: str, result: dict[str, Any]) -> dict[str, Any]:
    """Groups of sources with colours, the coloured article and a verdict in words."""
    sources = result["sources"]
    by_id = {s["id"]: s for s in sources}
    group_rank: dict[int, int] = {}
    for s in sources:
        group_rank.setdefault(int(s["group"]), len(group_rank))
    groups: list[dict[str, Any]] = []
    for g, rank in sorted(group_rank.items(), key=lambda x: x[1]):
        members = [s for s in sources if int(s["group"]) == g]
        # the attribution model's lead first (``composite_sources``), then by date
        leads = set(result.get("contributors") or [])
        members.sort(key=lambda s: (s["id"] not in leads, s["published_at"] is None,
                                    s["published_at"] or "", s["id"]))
        bg, fg = PALETTE[colour_index(rank)]
        groups.append(
            {
                "number": rank + 1,
                "colour": colour_index(rank),
                "bg": bg,
                "fg": fg,
                "lead": members[0],
                "copies": members[1:],
                "coverage": max(m["coverage"] for m in members),
            }
        )
    group_of = {s["id"]: group_rank[int(s["group"])] for s in sources}

    regions = []
    inner: list[dict[str, Any]] = []
    sourced_sentences = 0
    for sent in result["sentences"]:
        if not sent["sources"]:
            continue
        sourced_sentences += 1
        best = sent["sources"][0]
        rank = group_of.get(best["id"], 0)
        src = by_id.get(best["id"], {})
        title = (
            f"Source {rank + 1}: {src.get('publisher') or 'unknown publisher'}, "
            f"{fmt_date(src.get('published_at'))} — {best['relation']}"
        )
        regions.append(
            (
                sent["start"],
                sent["end"],
                {
                    "cls": f"sent c{colour_index(rank)}",
                    "title": title,
                    "badge": str(rank + 1),
                    "badge_cls": f"c{colour_index(rank)}",
                    "href": f"#source-{rank + 1}",
                },
            )
        )
        for ed in best["edits"]:
            if ed["op"] == "delete":
                continue
            was = ed["source"] or "nothing"
            inner.append(
                {
                    "s": ed["copy_start"],
                    "e": ed["copy_end"],
                    "kind": ed["op"],
                    "title": f"{EDIT_LABEL.get(ed['op'], ed['op'])}; the source has: {was}",
                }
            )
    cov = float(result["coverage"])
    verdict = result["classification"]
    n_groups = len(result.get("contributors") or [])
    if verdict == "not derived":
        summary = "No substantial part of this text was found in the indexed articles."
    else:
        summary = (
            f"{cov:.0%} of this text was found in {len(sources)} indexed "
            f"article{'s' if len(sources) != 1 else ''}"
            + (f", drawn from {n_groups} independent sources." if n_groups > 1 else ".")
        )
    if result.get("self"):
        summary = f"This article is in the index as {result['self']}. " + summary
    earliest = result.get("earliest_source")
    if isinstance(earliest, list):
        earliest = earliest[0] if earliest else None
    return {
        "groups": groups,
        "body": mark_text(text, regions, inner),
        "verdict": verdict,
        "verdict_cls": verdict.split()[0],
        "composite": bool(result["composite"]),
        "summary": summary,
        "coverage": cov,
        "earliest": by_id.get(earliest) if earliest else None,
        "n_sentences": len(result["sentences"]),
        "sourced_sentences": sourced_sentences,
        "self_match": [result["self"]] if result.get("self") else [],
    }


# ------------------------------------------------------------------------ side by side
def side_by_side(left: str, right: str, passages: Sequence[Any]) -> dict[str, Any]:
    """Mark ``left`` (the source) and ``right`` (the copy) word by word.

    ``passages`` have ``a_*`` offsets into ``left`` and ``b_*`` into ``right``.
    """
    lreg, rreg = [], []
    linner: list[dict[str, Any]] = []
    rinner: list[dict[str, Any]] = []
    rows = []
    counts: Counter[str] = Counter()
    subs: Counter[tuple[str, str]] = Counter()
    for n, p in enumerate(passages, start=1):
        a_start, a_end, b_start, b_end = p.a_start, p.a_end, p.b_start, p.b_end
        matches, edits = word_alignment(right, (b_start, b_end), left, (a_start, a_end))
        # the word diff may widen a passage to its sentence edges: mark the widened span
        for c_s, c_e, s_s, s_e in matches:
            a_start, a_end = min(a_start, s_s), max(a_end, s_e)
            b_start, b_end = min(b_start, c_s), max(b_end, c_e)
        for ed in edits:
            a_start, a_end = min(a_start, ed["source_start"]), max(a_end, ed["source_end"])
            b_start, b_end = min(b_start, ed["copy_start"]), max(b_end, ed["copy_end"])
        colour = colour_index(n - 1)
        lreg.append((a_start, a_end, {"cls": f"psg c{colour}", "id": f"L{n}", "peer": f"R{n}",
                                      "badge": str(n), "badge_cls": f"c{colour}", "href": f"#R{n}",
                                      "title": f"passage {n}"}))
        rreg.append((b_start, b_end, {"cls": f"psg c{colour}", "id": f"R{n}", "peer": f"L{n}",
                                      "badge": str(n), "badge_cls": f"c{colour}", "href": f"#L{n}",
                                      "title": f"passage {n}"}))
        for ed in edits:
            op = ed["op"]
            counts[op] += 1
            if op == "substitute":
                subs[(ed["source"], ed["replacement"])] += 1
            label = EDIT_LABEL.get(op, op)
            linner.append({"s": ed["source_start"], "e": ed["source_end"], "kind": op,
                           "side": "left", "title": f"{label}: “{ed['source']}” → “{ed['replacement']}”"})
            rinner.append({"s": ed["copy_start"], "e": ed["copy_end"], "kind": op,
                           "side": "right", "title": f"{label}: “{ed['source']}” → “{ed['replacement']}”"})
        rows.append(
            {
                "n": n, "colour": colour, "score": p.score,
                "a_start": a_start, "a_end": a_end, "b_start": b_start, "b_end": b_end,
                "matched": len(matches), "edits": len(edits),
            }
        )
    return {
        "left": mark_text(reflow(left), lreg, linner),
        "right": mark_text(reflow(right), rreg, rinner),
        "rows": rows,
        "counts": dict(counts),
        "substitutions": subs.most_common(),
    }


# ----------------------------------------------------------------------------- cluster
def cluster_graph(cluster: dict[str, Any], links: Sequence[tuple[str, str, float]]) -> dict[str, Any]:
    """Geometry of the timeline + source -> copy graph of one cluster.

    ``links``: ``(doc id, doc id, best score)`` between member documents. Each copy
    is attached to the earlier member it matches best (ties: the earliest).
    """
    seen: dict[str, dict[str, Any]] = {}
    for m in cluster["members"]:
        seen.setdefault(m["id"], m)
    members = list(seen.values())  # date order, undated last (from Index.cluster)
    best: dict[tuple[str, str], float] = {}
    for a, b, score in links:
        for k in ((a, b), (b, a)):
            best[k] = max(best.get(k, 0.0), float(score))
    row_h, top, label_w, width = 34, 20, 330, 1240
    x0, x1 = label_w + 20, width - 110
    times = {}
    for m in members:
        if m.get("published_at"):
            try:
                times[m["id"]] = datetime.fromisoformat(str(m["published_at"]))
            except ValueError:
                pass
    lo = min(times.values()) if times else None
    hi = max(times.values()) if times else None
    span = max((hi - lo).total_seconds(), 1.0) if lo and hi else 1.0
    nodes = []
    pos: dict[str, tuple[float, float]] = {}
    dated = [m["id"] for m in members if m["id"] in times]
    rank = {doc_id: i for i, doc_id in enumerate(dated)}
    steps = max(1, len(dated) - 1)
    for i, m in enumerate(members):
        t = times.get(m["id"])
        if t is not None and lo is not None:
            # half publication order, half time: bursts stay readable, gaps still show
            frac = 0.5 * rank[m["id"]] / steps + 0.5 * (t - lo).total_seconds() / span
            x = x0 + (x1 - x0) * frac
        else:
            x = width - 45
        y = top + i * row_h + row_h / 2
        pos[m["id"]] = (x, y)
        nodes.append(
            {
                "id": m["id"], "x": round(x, 1), "y": round(y, 1), "first": i == 0 and t is not None,
                "label": f"{m.get('publisher') or 'unknown'} · {fmt_date(m.get('published_at'))}",
                "undated": t is None,
            }
        )
    edges = []
    parents: dict[str, str | None] = {}
    for i, m in enumerate(members):
        if i == 0:
            parents[m["id"]] = None
            continue
        cands = [(best.get((p["id"], m["id"]), 0.0), -j, p["id"]) for j, p in enumerate(members[:i])
                 if (p["id"], m["id"]) in best and (p["id"] in times or m["id"] not in times)]
        if not cands:
            parents[m["id"]] = None
            continue
        _, _, parent = max(cands)
        parents[m["id"]] = parent
        (px, py), (cx, cy) = pos[parent], pos[m["id"]]
        edges.append({"d": f"M{px:.1f},{py + 7:.1f} L{px:.1f},{cy:.1f} L{cx - 9:.1f},{cy:.1f}",
                      "title": f"{parent} → {m['id']}"})
    height = top + len(members) * row_h + 40
    ticks = []
    if lo and hi:
        ticks = [{"x": x0, "label": fmt_date(lo), "anchor": "start"}]
        if hi != lo:
            ticks.append({"x": x1, "label": fmt_date(hi), "anchor": "end"})
    return {
        "nodes": nodes, "edges": edges, "width": width, "height": height, "x0": x0, "x1": x1,
        "axis_y": height - 28, "ticks": ticks, "parents": parents,
        "has_undated": any(n["undated"] for n in nodes),
    }


#: Above this many distinct articles a cluster's timeline is a histogram (binned by
#: hour, day or week) instead of one row per article.
GRAPH_MAX_ROWS = 60
#: Rows per page of a cluster's copies table.
CLUSTER_PAGE_SIZE = 100


def distinct_members(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per article (a cluster lists one member per passage): the first span in
    date order, with ``n_spans`` (how many passages of the article are in the cluster)."""
    out: dict[str, dict[str, Any]] = {}
    for m in cluster["members"]:
        if m["id"] in out:
            out[m["id"]]["n_spans"] += 1
        else:
            out[m["id"]] = {**m, "n_spans": 1}
    return list(out.values())


def _bin_unit(span_seconds: float) -> tuple[str, int]:
    if span_seconds <= 4 * 86400:
        return "hour", 3600
    if span_seconds <= 180 * 86400:
        return "day", 86400
    return "week", 7 * 86400


def cluster_histogram(members: Sequence[dict[str, Any]], earliest_id: str | None) -> dict[str, Any]:
    """A timeline that stays readable for hundreds of copies: articles per hour, day or
    week (chosen from the time span), as SVG bar geometry; the earliest source is a dot."""
    times: list[tuple[datetime, str]] = []
    for m in members:
        try:
            if m.get("published_at"):
                times.append((datetime.fromisoformat(str(m["published_at"])), m["id"]))
        except ValueError:
            continue
    undated = len(members) - len(times)
    width, x0, x1, top, plot_h = 1240, 60, 1220, 20, 180
    out: dict[str, Any] = {"width": width, "height": top + plot_h + 60, "bars": [], "ticks": [],
                           "undated": undated, "unit": None, "x0": x0, "x1": x1,
                           "axis_y": top + plot_h, "earliest": None, "max": 0}
    if not times:
        return out
    lo, hi = min(t for t, _ in times), max(t for t, _ in times)
    unit, step = _bin_unit((hi - lo).total_seconds())
    if unit == "hour":
        start = lo.replace(minute=0, second=0, microsecond=0)
    else:
        start = lo.replace(hour=0, minute=0, second=0, microsecond=0)
        if unit == "week":
            start -= timedelta(days=start.weekday())
    n_bins = int((hi - start).total_seconds() // step) + 1
    counts = [0] * n_bins
    for t, _ in times:
        counts[int((t - start).total_seconds() // step)] += 1
    peak = max(counts)
    bw = (x1 - x0) / n_bins
    fmt = "%d %b %H:00" if unit == "hour" else "%d %b %Y"
    for i, c in enumerate(counts):
        t = start + timedelta(seconds=i * step)
        h = plot_h * c / peak if c else 0
        out["bars"].append({
            "x": round(x0 + i * bw + 1, 1), "w": round(max(bw - 2, 1), 1), "y": round(top + plot_h - h, 1),
            "h": round(h, 1), "count": c,
            "title": f"{t.strftime(fmt)} ({unit}): {c} article{'s' if c != 1 else ''}",
        })
    every = max(1, n_bins // 8)
    for i in range(0, n_bins, every):
        t = start + timedelta(seconds=i * step)
        out["ticks"].append({"x": round(x0 + i * bw, 1), "label": t.strftime(fmt)})
    first = next(((t, i) for t, i in sorted(times) if i == earliest_id), None) or min(times)
    fx = x0 + ((first[0] - start).total_seconds() / step) * bw
    out["earliest"] = {"x": round(fx, 1), "y": top + plot_h, "id": first[1],
                       "label": fmt_date(first[0])}
    out.update(unit=unit, max=peak, n_bins=n_bins)
    return out


def page_slice(n: int, page: int, size: int) -> dict[str, Any]:
    """Pagination of ``n`` rows: clamps ``page`` (1-based), gives the slice and links."""
    pages = max(1, -(-n // size))
    page = min(max(1, page), pages)
    lo = (page - 1) * size
    return {"page": page, "pages": pages, "lo": lo, "hi": min(n, lo + size), "n": n,
            "prev": page - 1 if page > 1 else None, "next": page + 1 if page < pages else None}


#: Documents of which the sidebar lists this many others at first ("show more" for the rest).
SIDEBAR_SHOWN = 12


def reflow(text: str) -> str:
    """``text`` for display with hard line breaks inside paragraphs turned into spaces
    (one character for one, so every offset still points at the same character).

    A paragraph break (a blank line, or a new line that starts indented) is kept. Only a
    text that looks hard-wrapped (most lines end before 90 characters) is changed.

    >>> reflow("a wrapped\\nline of text\\n    New paragraph\\n\\nLast")
    'a wrapped line of text\\n    New paragraph\\n\\nLast'
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    full = [ln for ln in lines if ln.strip()]
    if len(full) < 3 or sorted(len(ln) for ln in full)[len(full) // 2] > 90:
        return text
    return re.sub(r"(?<=[^\n])\n(?=[^\s])", " ", text)


# ------------------------------------------------------------------------------ search
SEARCH_FIELDS = FIELDS
SEARCH_PAGE_SIZE = 50


def search(con: Any, q: str, field: str, limit: int = SEARCH_PAGE_SIZE, offset: int = 0,
           fulltext: FullText | None = None) -> list[dict[str, Any]]:
    """All-words full-text search, best first (see ``search_with_total``)."""
    return search_with_total(con, q, field, limit, offset, fulltext)[0]


def search_with_total(con: Any, q: str, field: str, limit: int = SEARCH_PAGE_SIZE, offset: int = 0,
                      fulltext: FullText | None = None) -> tuple[list[dict[str, Any]], int]:
    """All-words full-text search (SQLite FTS5, see ``newstrace.web.fulltext``), best
    first: ``(results, total)``, each result with its metadata and a marked snippet.
    Without ``fulltext`` an in-memory index of ``con``'s documents is built for the call."""
    if fulltext is None:
        fulltext = FullText(None, in_memory=True)
    fulltext.refresh(con)
    hits, total = fulltext.search(q, field, limit=limit, offset=offset)
    keys = [h["doc_key"] for h in hits]
    meta = {}
    if keys:
        for key, doc_id, publisher, at, title in con.execute(
            """SELECT doc_key, id, publisher, published_at, title FROM documents
               WHERE doc_key IN (SELECT unnest(?))""",
            [keys],
        ).fetchall():
            meta[key] = (doc_id, publisher, at, title)
    out = []
    for h in hits:
        if h["doc_key"] not in meta:
            continue
        doc_id, publisher, at, title = meta[h["doc_key"]]
        out.append(
            {
                "id": doc_id, "publisher": publisher, "published_at": at.isoformat() if at else None,
                "title": title, "snippet": h["snippet"], "score": h["score"],
                "title_marked": h["title"] if title else None,
            }
        )
    return out, total


# ---------------------------------------------------------------------------- overview
MAX_OVERVIEW_PASSAGES = 5000


def stored_dictionary(con: Any, limit: int) -> list[dict[str, Any]] | None:
    """The corpus substitution dictionary the last build stored, as the report shows it
    (``corpus_provenance.stored_dictionary``); None when the index has no stored
    provenance."""
    from newstrace.corpus_provenance import stored_dictionary as stored

    try:
        rows = stored(con)
    except duckdb.CatalogException:  # an index without provenance tables
        return None
    if not con.execute("SELECT count(*) FROM substitutions").fetchone()[0]:
        return None
    return [{"source": r["source"], "replacement": r["replacement"], "count": r["count"],
             "documents": r["n_docs"]} for r in rows[:limit]]


def corpus_overview(con: Any) -> dict[str, Any]:
    """Most reused sources, most spun articles and the substitution dictionary.

    Direction: in each aligned pair, the earlier document (undated last, then by
    insertion order) is the source. Edits are computed on at most
    ``MAX_OVERVIEW_PASSAGES`` passages (the overview says so when it samples).
    """
    reused = con.execute(
        """
        WITH pr AS (
            SELECT p.a_key, p.b_key,
                   (coalesce(da.published_at, TIMESTAMP '9999-12-31'), p.a_key)
                   <= (coalesce(db.published_at, TIMESTAMP '9999-12-31'), p.b_key) AS a_first
            FROM (SELECT DISTINCT a_key, b_key FROM passages) p
            JOIN documents da ON da.doc_key = p.a_key
            JOIN documents db ON db.doc_key = p.b_key
        ), e AS (
            SELECT CASE WHEN a_first THEN a_key ELSE b_key END AS src,
                   CASE WHEN a_first THEN b_key ELSE a_key END AS copy
            FROM pr
        )
        SELECT d.id, d.publisher, d.published_at, d.title, count(DISTINCT e.copy) AS copies
        FROM e JOIN documents d ON d.doc_key = e.src
        GROUP BY ALL ORDER BY copies DESC, d.published_at NULLS LAST, d.id LIMIT 15
        """
    ).fetchall()
    most_reused = [
        {"id": r[0], "publisher": r[1], "published_at": r[2].isoformat() if r[2] else None,
         "title": r[3], "copies": r[4]}
        for r in reused
    ]
    total = con.execute("SELECT count(*) FROM passages").fetchone()[0]
    rows = con.execute(
        """
        SELECT p.a_id, p.b_id, p.a_start, p.a_end, p.b_start, p.b_end,
               (coalesce(da.published_at, TIMESTAMP '9999-12-31'), p.a_key)
               <= (coalesce(db.published_at, TIMESTAMP '9999-12-31'), p.b_key) AS a_first
        FROM passages p
        JOIN documents da ON da.doc_key = p.a_key
        JOIN documents db ON db.doc_key = p.b_key
        WHERE p.score < 1.0
        ORDER BY p.passage_id LIMIT ?
        """,
        [MAX_OVERVIEW_PASSAGES],
    ).fetchall()
    ids = sorted({r[0] for r in rows} | {r[1] for r in rows})
    texts: dict[str, str] = {}
    meta: dict[str, dict[str, Any]] = {}
    for lo in range(0, len(ids), 2000):
        for doc_id, text, publisher, at, title in con.execute(
            """SELECT id, text, publisher, published_at, title FROM documents
               WHERE id IN (SELECT unnest(?))""",
            [ids[lo : lo + 2000]],
        ).fetchall():
            texts[doc_id] = text
            meta[doc_id] = {"publisher": publisher, "published_at": at.isoformat() if at else None,
                            "title": title}
    subs: Counter[tuple[str, str]] = Counter()
    sub_docs: dict[tuple[str, str], set[str]] = defaultdict(set)
    per_copy: Counter[str] = Counter()
    source_of: dict[str, str] = {}
    for a_id, b_id, a_s, a_e, b_s, b_e, a_first in rows:
        if a_first:
            src, cp, src_span, cp_span = a_id, b_id, (a_s, a_e), (b_s, b_e)
        else:
            src, cp, src_span, cp_span = b_id, a_id, (b_s, b_e), (a_s, a_e)
        _, edits = word_alignment(texts[cp], cp_span, texts[src], src_span)
        n = 0
        for ed in edits:
            if ed["op"] == "substitute":
                key = (ed["source"].casefold(), ed["replacement"].casefold())
                subs[key] += 1
                sub_docs[key].add(cp)
                n += 1
        if n > per_copy.get(cp, -1):
            per_copy[cp] = n
            source_of[cp] = src
    most_spun = [
        {"id": cp, **meta[cp], "substitutions": n, "source": source_of.get(cp)}
        for cp, n in per_copy.most_common(15)
        if n > 0
    ]
    dictionary = stored_dictionary(con, 60)
    if dictionary is None:  # no corpus provenance stored: the sampled passages' swaps
        dictionary = [
            {"source": k[0], "replacement": k[1], "count": c, "documents": len(sub_docs[k])}
            for k, c in sorted(subs.items(), key=lambda x: (-len(sub_docs[x[0]]), -x[1], x[0]))
            if is_genuine_swap(*k)
        ][:60]
    return {
        "most_reused": most_reused,
        "most_spun": most_spun,
        "dictionary": dictionary,
        "sampled": len(rows) >= MAX_OVERVIEW_PASSAGES,
        "n_sampled": len(rows),
        "n_passages": total,
    }
