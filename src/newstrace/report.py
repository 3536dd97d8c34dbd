"""Static HTML report: corpus summary, reuse clusters with timelines, documents with
reused spans highlighted. Every piece of article text is HTML-escaped (Jinja2
autoescape; highlighted text is built from escaped pieces).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from newstrace.provenance import classify

MAX_DOCUMENT_PAGES = 2000
MAX_CLUSTER_PAGES = 500


def template_env() -> Environment:
    """The Jinja2 environment shared by the report and the web UI (autoescape on)."""
    env = Environment(
        loader=PackageLoader("newstrace", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
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
        out.append(str(escape(text[pos:start])))
        out.append(f'<mark class="{escape(css)}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def timeline_svg(members: Sequence[dict[str, Any]], width: int = 640) -> Markup:
    """An inline SVG timeline: one dot per dated copy, undated copies listed apart."""
    dated = [m for m in members if m.get("published_at")]
    if not dated:
        return Markup('<p class="muted">no dated copies</p>')
    times = [datetime.fromisoformat(str(m["published_at"])) for m in dated]
    lo, hi = min(times), max(times)
    span = max((hi - lo).total_seconds(), 1.0)
    parts = [f'<svg class="timeline" viewBox="0 0 {width} 60" width="{width}" height="60" role="img">']
    parts.append(f'<line x1="10" y1="30" x2="{width - 10}" y2="30" stroke="#999"/>')
    for i, (m, t) in enumerate(zip(dated, times)):
        x = 10 + (width - 20) * (t - lo).total_seconds() / span
        colour = "#c0392b" if i == 0 else "#2c7fb8"
        parts.append(
            f'<circle cx="{x:.1f}" cy="30" r="6" fill="{colour}"><title>{escape(m["id"])} '
            f'{escape(format_date(m["published_at"]))}</title></circle>'
        )
    parts.append(f'<text x="10" y="55" font-size="11">{escape(format_date(lo))}</text>')
    parts.append(
        f'<text x="{width - 10}" y="55" font-size="11" text-anchor="end">{escape(format_date(hi))}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def document_reuse(idx: Any) -> dict[str, dict[str, Any]]:
    """Per document: share of its characters reused from earlier documents, and class.

    A span counts as reused *from* the other document when the other one was
    published earlier (or this one is undated and the other is dated).
    """
    rows = idx.con.execute(
        """
        SELECT d.id, d.n_chars, d.published_at, o.published_at AS other_at,
               p.start_char, p.end_char
        FROM (
            SELECT a_key AS k, b_key AS other, a_start AS start_char, a_end AS end_char FROM passages
            UNION ALL
            SELECT b_key, a_key, b_start, b_end FROM passages
        ) p
        JOIN documents d ON d.doc_key = p.k
        JOIN documents o ON o.doc_key = p.other
        """
    ).fetchall()
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    n_chars: dict[str, int] = {}
    for doc_id, n, at, other_at, s, e in rows:
        n_chars[doc_id] = n
        earlier = other_at is not None and (at is None or other_at < at)
        if earlier:
            spans[doc_id].append((s, e))
    out = {}
    for doc_id, n in n_chars.items():
        covered = 0
        end = -1
        for s, e in sorted(spans.get(doc_id, [])):
            if e > end:
                covered += e - max(s, end)
                end = e
        share = covered / max(1, n)
        out[doc_id] = {"share": share}
    return out


def write_report(idx: Any, out: str | Path) -> Path:
    """Write ``index.html`` (plus cluster and document pages) under ``out``."""
    from newstrace.params import DEFAULT_PARAMS

    out = Path(out)
    (out / "clusters").mkdir(parents=True, exist_ok=True)
    (out / "documents").mkdir(parents=True, exist_ok=True)
    env = template_env()
    stats = idx.stats()
    clusters = idx.clusters(limit=MAX_CLUSTER_PAGES)
    reuse = document_reuse(idx)
    docs = idx.con.execute(
        """SELECT id, publisher, published_at, title, n_chars FROM documents
           ORDER BY published_at NULLS LAST, doc_key"""
    ).fetchall()
    documents = []
    for doc_id, publisher, at, title, n in docs:
        share = reuse.get(doc_id, {}).get("share", 0.0)
        documents.append(
            {
                "id": doc_id, "publisher": publisher, "published_at": at, "title": title,
                "n_chars": n, "share": share, "class": classify(share, idx.params),
                "page": page_name(doc_id) if doc_id in reuse else None,
            }
        )
    documents.sort(key=lambda d: (-d["share"], str(d["id"])))
    for d in documents:
        d["page"] = d["page"] if d["page"] else None
    pages_for = {d["id"]: d["page"] for d in documents if d["page"]}
    (out / "style.css").write_text(STYLE_CSS, encoding="utf-8")
    (out / "index.html").write_text(
        env.get_template("report_index.html").render(
            stats=stats, clusters=clusters[:100], documents=documents[:1000], pages=pages_for,
            n_documents=len(documents), root="",
        ),
        encoding="utf-8",
    )
    for c in clusters:
        (out / "clusters" / f"{int(c['cluster_id'])}.html").write_text(
            env.get_template("report_cluster.html").render(cluster=c, pages=pages_for, root="../"),
            encoding="utf-8",
        )
    for d in [d for d in documents if d["page"]][:MAX_DOCUMENT_PAGES]:
        doc = idx.document(d["id"])
        spans = [(p["start"], p["end"], "reused") for p in doc["passages"]]
        (out / "documents" / d["page"]).write_text(
            env.get_template("report_document.html").render(
                doc=doc, info=d, body=highlight(doc["text"], spans), pages=pages_for, root="../",
            ),
            encoding="utf-8",
        )
    _ = DEFAULT_PARAMS
    return out / "index.html"


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
.pill{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;background:#e8eef6}
.pill.wholly{background:#f8d7da}.pill.partially{background:#fff3cd}.pill.not{background:#d4edda}
blockquote{margin:.3rem 0 .8rem;padding:.3rem .8rem;border-left:4px solid #2c7fb8;background:#fff;font-style:italic}
.stats span{display:inline-block;margin-right:1.5rem;font-size:1.05rem}
"""
