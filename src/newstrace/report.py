"""Static HTML report: corpus summary, reuse clusters with timelines, documents with
reused spans highlighted. Every piece of article text is HTML-escaped (Jinja2
autoescape; highlighted text is built from escaped pieces).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from newstrace.corpus_provenance import (
    analyse,
    document_details,
    provenance_is_current,
    stored_provenance,
)
from newstrace.provenance import extend_to_sentence_edges
from newstrace.tokens import split_sentences

MAX_DOCUMENT_PAGES = 2000
MAX_CLUSTER_PAGES = 500
#: The index page: this many clusters with a quote and a timeline, the next ones as rows.
INDEX_CLUSTERS_DETAILED = 20
INDEX_CLUSTERS = 100
#: The index page lists this many documents; ``documents-N.html`` list them all.
INDEX_DOCUMENTS = 100
DOCUMENTS_PER_PAGE = 500


_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def isolate(text: str) -> Markup:
    """Escape ``text``; if it holds bidi controls (e.g. U+202E), isolate it in ``<bdi>``
    so it cannot reverse the page text around it.

    >>> str(isolate("a<b")), str(isolate("x\u202ey"))
    ('a&lt;b', '<bdi>x\u202ey</bdi>')
    """
    escaped = escape(text)
    if _BIDI_CONTROLS.search(text):
        return Markup(f"<bdi>{escaped}</bdi>")
    return escaped


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}`` in a template: plain strings with bidi controls are isolated."""
    if isinstance(value, str) and not isinstance(value, Markup) and _BIDI_CONTROLS.search(value):
        return isolate(value)
    return value


def template_env() -> Environment:
    """The Jinja2 environment shared by the report and the web UI (autoescape on)."""
    env = Environment(
        loader=PackageLoader("newstrace", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["date"] = format_date
    env.filters["pct"] = lambda x: f"{100 * float(x or 0):.0f}%"
    env.globals["highlight"] = highlight
    env.globals["timeline_svg"] = timeline_svg
    return env


def format_date(value: Any) -> str:
    if not value:
        return "undated"
    s = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return s[:16].replace("T", " ")


def page_name(doc_id: str) -> str:
    """A safe file name for a document page (ids may hold any character)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", doc_id)[:40].strip("-") or "doc"
    return f"{slug}-{hashlib.sha1(doc_id.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}.html"


def highlight(text: str, spans: Sequence[tuple[int, int, str]]) -> Markup:
    """Escape ``text`` and wrap each ``(start, end, css_class)`` span in ``<mark>``.

    Overlapping spans are flattened (the first that starts wins).

    >>> str(highlight("a <b> c", [(2, 5, "x")]))
    'a <mark class="x">&lt;b&gt;</mark> c'
    """
    out: list[str] = []
    pos = 0
    for start, end, css in sorted(spans):
        start = max(start, pos)
        if end <= start:
            continue
        out.append(str(isolate(text[pos:start])))
        out.append(f'<mark class="{escape(css)}">{isolate(text[start:end])}</mark>')
        pos = end
    out.append(str(isolate(text[pos:])))
    return Markup("".join(out))


def timeline_svg(members: Sequence[dict[str, Any]], width: int = 640,
                 earliest_id: str | None = None) -> Markup:
    """An inline SVG timeline: one dot per dated copy (one per document), the earliest
    source red and drawn last, so copies published at the same minute never hide it."""
    seen: set[str] = set()
    dated = []
    for m in members:
        if m.get("published_at") and m["id"] not in seen:
            seen.add(m["id"])
            dated.append(m)
    if not dated:
        return Markup('<p class="muted">no dated copies</p>')
    times = [datetime.fromisoformat(str(m["published_at"])) for m in dated]
    lo, hi = min(times), max(times)
    span = max((hi - lo).total_seconds(), 1.0)
    first = next((i for i, m in enumerate(dated) if m["id"] == earliest_id), None)
    if first is None:
        first = min(range(len(dated)), key=lambda i: times[i])
    parts = [f'<svg class="timeline" viewBox="0 0 {width} 60" width="{width}" height="60" role="img">']
    parts.append(f'<line x1="10" y1="30" x2="{width - 10}" y2="30" stroke="#999"/>')
    order = [i for i in range(len(dated)) if i != first] + [first]
    for i in order:
        m, t = dated[i], times[i]
        x = 10 + (width - 20) * (t - lo).total_seconds() / span
        colour = "#c0392b" if i == first else "#2c7fb8"
        cls = "earliest" if i == first else "copy"
        parts.append(
            f'<circle class="{cls}" cx="{x:.1f}" cy="30" r="6" fill="{colour}"><title>{escape(m["id"])} '
            f'{escape(format_date(m["published_at"]))}</title></circle>'
        )
    parts.append(f'<text x="10" y="55" font-size="11">{escape(format_date(lo))}</text>')
    parts.append(
        f'<text x="{width - 10}" y="55" font-size="11" text-anchor="end">{escape(format_date(hi))}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def highlight_edits(text: str, start: int, end: int, marks: Sequence[tuple[int, int, str, str]]) -> Markup:
    """Escape ``text[start:end]``, wrapping each ``(s, e, css, title)`` mark in ``<mark>``.

    >>> str(highlight_edits("a <b> c", 0, 7, [(2, 5, "sub", "was: x")]))
    'a <mark class="sub" title="was: x">&lt;b&gt;</mark> c'
    """
    out: list[str] = []
    pos = start
    for s, e, css, title in sorted(marks):
        s = max(s, pos)
        e = min(e, end)
        if e < s or (e == s and css != "ins-point"):
            continue
        out.append(str(isolate(text[pos:s])))
        if css == "ins-point":
            out.append(f'<mark class="del-point" title="{escape(title)}">⁁</mark>')
        else:
            out.append(f'<mark class="{escape(css)}" title="{escape(title)}">{isolate(text[s:e])}</mark>')
        pos = e
    out.append(str(isolate(text[pos:end])))
    return Markup("".join(out))


def side_by_side(doc_text: str, det: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a side-by-side view of one copy against one source, edits marked.

    One row per sentence of the copy that the source contributes to: ``source_html``
    and ``copy_html`` are escaped HTML with substitutions (``sub``), insertions
    (``ins``), deletions (``del``) and rewrites (``rw``) marked; ``moved`` is True for
    a sentence that sits elsewhere in the source.
    """
    src_text = det["source"]["text"]
    matches = det["matches"]
    edits = det["edits"]
    moved = set(det.get("moved", []))
    covered = [extend_to_sentence_edges(doc_text, (t0, t1), src_text, (s0, s1))[0]
               for t0, t1, s0, s1 in det["passages"]]
    rows = []
    for si, (cs, ce) in enumerate(split_sentences(doc_text)):
        if not any(c0 < ce and cs < c1 for c0, c1 in covered):
            continue
        ms = [m for m in matches if cs <= m[0] < ce]
        es = [e for e in edits if cs <= e["copy_start"] <= ce and (e["copy_start"] < ce or e["op"] == "delete")]
        src_pos = [(m[2], m[3]) for m in ms] + [
            (e["source_start"], e["source_end"]) for e in es if e["op"] != "insert"
        ]
        if not ms:
            continue
        a0 = min(p[0] for p in src_pos)
        a1 = max(p[1] for p in src_pos)
        copy_marks: list[tuple[int, int, str, str]] = []
        src_marks: list[tuple[int, int, str, str]] = []
        for e in es:
            op = e["op"]
            if op == "substitute":
                copy_marks.append((e["copy_start"], e["copy_end"], "sub", f"was: {e['source']}"))
                src_marks.append((e["source_start"], e["source_end"], "sub", f"became: {e['replacement']}"))
            elif op == "rewrite":
                copy_marks.append((e["copy_start"], e["copy_end"], "rw", f"rewritten from: {e['source']}"))
                src_marks.append((e["source_start"], e["source_end"], "rw", "rewritten"))
            elif op == "insert":
                copy_marks.append((e["copy_start"], e["copy_end"], "ins", "inserted"))
            elif op == "delete":
                src_marks.append((e["source_start"], e["source_end"], "del", "deleted in the copy"))
                copy_marks.append((e["copy_start"], e["copy_start"], "ins-point", f"deleted: {e['source']}"))
        rows.append(
            {
                "copy_html": highlight_edits(doc_text, cs, ce, copy_marks),
                "source_html": highlight_edits(src_text, a0, a1, src_marks),
                "copy_span": (cs, ce), "source_span": (a0, a1), "moved": si in moved,
            }
        )
    return rows


def write_report(idx: Any, out: str | Path) -> Path:
    """Write ``index.html`` (plus cluster and document pages) under ``out``.

    Clusters with timelines and earliest source, composites, spun articles, the
    substitution dictionary, and per document a side-by-side view with the edits
    marked against each of its sources. Reads the stored provenance tables when they
    are current (aligning again only the documents that get a page); otherwise, e.g.
    after ``build(refresh=False)``, computes provenance in memory
    (``corpus_provenance.analyse``), so it also works on a read-only index.
    """
    out = Path(out)
    (out / "clusters").mkdir(parents=True, exist_ok=True)
    (out / "documents").mkdir(parents=True, exist_ok=True)
    env = template_env()
    stats = idx.stats()
    clusters = idx.clusters(limit=MAX_CLUSTER_PAGES)
    stored = provenance_is_current(idx)
    prov = stored_provenance(idx) if stored else analyse(idx, keep_details=True)
    by_id = {str(r["id"]): r for r in prov.documents.values()}
    for c in clusters:
        cp = prov.clusters.get(int(c["cluster_id"]))
        c["earliest_label"] = cp["label"] if cp else c["earliest_id"]
        c["clock_skew"] = bool(cp and cp["clock_skew"])
    docs = idx.con.execute(
        """SELECT doc_key, id, publisher, published_at, title, n_chars FROM documents
           ORDER BY published_at NULLS LAST, doc_key"""
    ).fetchall()
    documents = []
    for key, doc_id, publisher, at, title, n in docs:
        rec = by_id.get(str(doc_id))
        documents.append(
            {
                "id": doc_id, "publisher": publisher, "published_at": at, "title": title,
                "n_chars": n, "share": rec["share_reused"] if rec else 0.0,
                "class": rec["class"] if rec else "not derived",
                "composite": bool(rec and rec["composite"]),
                "spun": bool(rec and rec.get("spun")),
                "spin_score": rec.get("spin_score", 0.0) if rec else 0.0,
                "n_substitutions": rec.get("n_substitutions", 0) if rec else 0,
                "earliest": rec["earliest_source"] if rec else None,
                "sources": rec["sources"] if rec else [],
                "key": key,
                "page": page_name(doc_id) if rec else None,
            }
        )
    documents.sort(key=lambda d: (-d["share"], str(d["id"])))
    paged = [d for d in documents if d["page"]][:MAX_DOCUMENT_PAGES]
    pages_for = {d["id"]: d["page"] for d in paged}
    details = document_details(idx, [d["key"] for d in paged]) if stored else prov.details
    composites = [d for d in documents if d["composite"]]
    spun = sorted((d for d in documents if d["spun"]), key=lambda d: -d["spin_score"])
    (out / "style.css").write_text(STYLE_CSS, encoding="utf-8")
    n_lists = max(1, -(-len(documents) // DOCUMENTS_PER_PAGE))
    (out / "index.html").write_text(
        env.get_template("report_index.html").render(
            stats=stats, clusters=clusters[:INDEX_CLUSTERS_DETAILED],
            more_clusters=clusters[INDEX_CLUSTERS_DETAILED:INDEX_CLUSTERS],
            documents=documents[:INDEX_DOCUMENTS], pages=pages_for,
            n_documents=len(documents), composites=composites, spun=spun,
            substitutions=prov.substitutions[:100], n_substitutions=len(prov.substitutions),
            params=idx.params, root="", n_lists=n_lists,
        ),
        encoding="utf-8",
    )
    for old in out.glob("documents-*.html"):
        old.unlink()
    for n in range(1, n_lists + 1):
        lo = (n - 1) * DOCUMENTS_PER_PAGE
        (out / f"documents-{n}.html").write_text(
            env.get_template("report_documents.html").render(
                documents=documents[lo : lo + DOCUMENTS_PER_PAGE], pages=pages_for, page=n,
                n_lists=n_lists, lo=lo, n_documents=len(documents), params=idx.params, root="",
            ),
            encoding="utf-8",
        )
    for c in clusters:
        rows: dict[str, dict[str, Any]] = {}
        for m in c["members"]:  # one row per document (a member per passage)
            rows.setdefault(m["id"], m)
        (out / "clusters" / f"{int(c['cluster_id'])}.html").write_text(
            env.get_template("report_cluster.html").render(cluster=c, rows=list(rows.values()),
                                                           pages=pages_for, root="../"),
            encoding="utf-8",
        )
    for d in paged:
        doc = idx.document(d["id"])
        dets = details.get(d["key"], [])
        colour = {det["source_id"]: f"src{i % 6}" for i, det in enumerate(dets)}
        spans = [
            (s, e, colour[src["id"]]) for src in d["sources"] for s, e in src["spans"]
            if src["id"] in colour
        ]
        if not spans:
            spans = [(p["start"], p["end"], "reused") for p in doc["passages"]]
        views = [
            {
                "source_id": det["source_id"], "colour": colour[det["source_id"]],
                "source": det["source"], "copies": det["copies"], "share": det["share"],
                "basis": det["basis"], "moved": det["moved"],
                "n": {op: sum(1 for e in det["edits"] if e["op"] == op)
                      for op in ("substitute", "insert", "delete", "rewrite")},
                "rows": side_by_side(doc["text"], det),
            }
            for det in dets
        ]
        outgoing = _outgoing(idx, prov, str(d["id"]), stored)
        (out / "documents" / d["page"]).write_text(
            env.get_template("report_document.html").render(
                doc=doc, info=d, body=highlight(doc["text"], spans), pages=pages_for,
                views=views, outgoing=outgoing, root="../",
            ),
            encoding="utf-8",
        )
    return out / "index.html"


_DIRECTED = ("date", "evidence", "clock-skew", "undated")


def _outgoing(idx: Any, prov: Any, doc_id: str, stored: bool) -> list[dict[str, Any]]:
    """The documents that copy ``doc_id`` (directed edges out of it)."""
    if not stored:
        return [e for e in prov.edges if str(e["source_id"]) == doc_id and e["basis"] in _DIRECTED]
    cur = idx.con.execute(
        f"""SELECT * FROM edges WHERE source_id = ? AND basis IN ({", ".join("?" * len(_DIRECTED))})
            ORDER BY target_key""", [doc_id, *_DIRECTED])
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


STYLE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#f0f3f7}
.muted{color:#777}.num{text-align:right;white-space:nowrap}
.article{background:#fff;border:1px solid #ddd;padding:1rem 1.25rem;line-height:1.6;white-space:pre-wrap}
mark.reused{background:#ffe08a}mark{padding:0 1px}
mark.src0{background:#ffe08a}mark.src1{background:#b9e4ff}mark.src2{background:#c8f0c0}
mark.src3{background:#f5c6e8}mark.src4{background:#ffd2b0}mark.src5{background:#dcd0ff}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:3px;vertical-align:middle;margin-right:.3rem}
.swatch.src0{background:#ffe08a}.swatch.src1{background:#b9e4ff}.swatch.src2{background:#c8f0c0}
.swatch.src3{background:#f5c6e8}.swatch.src4{background:#ffd2b0}.swatch.src5{background:#dcd0ff}
mark.sub{background:#ffd27f;border-bottom:2px solid #d68000}
mark.ins{background:#c9f2c9;border-bottom:2px solid #2e9b2e}
mark.del{background:#f8c9c9;text-decoration:line-through;color:#8a1f1f}
mark.rw{background:#e3d4f7}mark.del-point{background:none;color:#c0392b;font-weight:700}
.sbs{width:100%;table-layout:fixed}.sbs td{line-height:1.5;font-size:.9rem}
.sbs th{width:50%}.legend mark{margin-right:.6rem}
.flag{color:#b03a2e;font-weight:600}
nav.toc a{margin-right:1rem}
.pill{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;background:#e8eef6}
.pill.wholly{background:#f8d7da}.pill.partially{background:#fff3cd}.pill.not{background:#d4edda}
blockquote{margin:.3rem 0 .8rem;padding:.3rem .8rem;border-left:4px solid #2c7fb8;background:#fff;font-style:italic}
.stats span{display:inline-block;margin-right:1.5rem;font-size:1.05rem}
"""
