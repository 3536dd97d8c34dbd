"""Watch pages: who reused the watched originals (``/watch``), one reuse side by side
(``/watch/reuse/{id}``), an Atom feed of new reuses (``/watch/feed.atom``) and the JSON
report (``/api/watch``, ``/api/watch/reuses/{id}``).

Read-only, like the rest of the web UI: the tables are written by ``newstrace watch``
(a DuckDB file has one writer process, so serve a copy or stop the watcher to browse).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from newstrace.errors import UserError
from newstrace.model import Passage
from newstrace.report import template_env
from newstrace.watch import format_lag, get_reuse, recent_reuses, watch_report
from newstrace.web import views

router = APIRouter()

_ENV = template_env()
_ENV.filters["when"] = views.fmt_date
_ENV.filters["lag"] = format_lag
_ENV.globals["palette"] = views.PALETTE

ATOM_NS = "http://www.w3.org/2005/Atom"


def _render(name: str, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(name).render(**ctx))


def _since(since: str | None) -> str | None:
    return since.strip() or None if since else None


def _report(request: Request, since: str | None) -> dict[str, Any]:
    with request.app.state.store.index() as idx:
        try:
            return watch_report(idx, since=_since(since))
        except UserError as ex:
            raise HTTPException(400, str(ex)) from None


def _reuse(request: Request, reuse_id: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    with request.app.state.store.index() as idx:
        try:
            r = get_reuse(idx.con, reuse_id)
            original = idx.document(r["original_id"])
            copy = idx.document(r["copy_id"])
        except UserError as ex:
            raise HTTPException(404, str(ex)) from None
    return r, original, copy


@router.get("/watch", response_class=HTMLResponse, include_in_schema=False)
def watch_page(request: Request, since: str | None = Query(None, max_length=40)) -> HTMLResponse:
    rep = _report(request, since)
    return _render("web_watch.html", rep=rep, since=since or "", page="watch")


@router.get("/watch/reuse/{reuse_id}", response_class=HTMLResponse, include_in_schema=False)
def reuse_page(request: Request, reuse_id: int) -> HTMLResponse:
    r, original, copy = _reuse(request, reuse_id)
    passages = [
        Passage(p["a_start"], p["a_end"], p["b_start"], p["b_end"], p["score"])
        for p in sorted(r["passages"] or [], key=lambda p: p["a_start"])
    ]
    sbs = views.side_by_side(original["text"], copy["text"], passages)
    return _render(
        "web_watch_reuse.html", r=r, sbs=sbs, text=None, page="watch",
        left={"label": "Original", "doc": original}, right={"label": "Copy", "doc": copy},
    )


def _atom_time(value: str | None) -> str:
    if not value:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value[:19] + "Z"  # stored times are UTC


@router.get("/watch/feed.atom", include_in_schema=False)
def watch_feed(request: Request, limit: int = Query(50, ge=1, le=500)) -> Response:
    with request.app.state.store.index() as idx:
        items = recent_reuses(idx.con, limit=limit)
    base = str(request.base_url).rstrip("/")
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "title", "newstrace: new reuses of watched originals")
    sub(feed, "id", f"{base}/watch/feed.atom")
    sub(feed, "link", href=f"{base}/watch/feed.atom", rel="self")
    sub(feed, "link", href=f"{base}/watch", rel="alternate")
    sub(feed, "updated", _atom_time(items[0]["found_at"] if items else None))
    author = sub(feed, "author")
    sub(author, "name", "newstrace watch")
    for r in items:
        e = sub(feed, "entry")
        who = r["copy_publisher"] or "unknown publisher"
        sub(e, "title", f"{who} reused {r['original_id']} ({r['class']}, {100 * r['share']:.0f}%"
                        f"{', uncredited' if not r['credited'] else ''})")
        sub(e, "id", f"{base}/watch/reuse/{r['reuse_id']}")
        sub(e, "link", href=f"{base}/watch/reuse/{r['reuse_id']}", rel="alternate")
        if r.get("copy_url"):
            sub(e, "link", href=str(r["copy_url"]), rel="related")
        sub(e, "updated", _atom_time(r["found_at"]))
        sub(e, "summary", (
            f"{r['copy_id']} ({who}) reuses {100 * r['share']:.0f}% of {r['original_id']}"
            f" ({r['original_publisher'] or 'unknown publisher'}); class {r['class']}; "
            f"{'credited' if r['credited'] else 'not credited'}; lag {format_lag(r['lag_seconds'])}; "
            f"{r['n_substitutions']} substitution(s), spin score {r['spin_score']:.1f}"
            + (f"; also from {', '.join(r['other_sources'])}" if r["other_sources"] else "")
        ))
        for name in (r["class"], "uncredited" if not r["credited"] else "credited"):
            sub(e, "category", term=name)
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/api/watch", tags=["api"], summary="Reuses of watched originals, per original")
def api_watch(request: Request, since: str | None = Query(None, max_length=40)) -> dict[str, Any]:
    return _report(request, since)


@router.get("/api/watch/reuses/{reuse_id}", tags=["api"], summary="One recorded reuse with its edits")
def api_reuse(request: Request, reuse_id: int) -> dict[str, Any]:
    with request.app.state.store.index() as idx:
        try:
            return get_reuse(idx.con, reuse_id)
        except UserError as ex:
            raise HTTPException(404, str(ex)) from None
