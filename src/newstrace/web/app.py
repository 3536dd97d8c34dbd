"""FastAPI application: server-rendered pages (Jinja2, autoescape) and a JSON API over
a read-only ``Index``.

Pages: ``/`` (paste or upload an article), ``POST /trace``, ``/compare`` (side by
side), ``/documents/{id}``, ``/clusters/{id}``, ``/search``, ``/corpus``.
API: ``POST /api/trace``, ``GET /api/documents/{id}``, ``GET /api/clusters/{id}``,
``POST /api/align``, ``GET /api/search``, ``GET /api/stats``; OpenAPI at ``/docs``.

Safety: every piece of article text is escaped; request bodies are capped (checked
on ``Content-Length`` and while reading); static files come only from the
package's own ``static`` folder; every page carries a Content-Security-Policy
with ``script-src 'self'``. One DuckDB cursor per request (connections are not
thread-safe).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from newstrace.align import align_texts
from newstrace.errors import UserError
from newstrace.index import Index
from newstrace.params import Params
from newstrace.report import template_env
from newstrace.web import views
from newstrace.web.fulltext import FullText

DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: Room for multipart boundaries and the other small form fields.
FORM_OVERHEAD_BYTES = 64 * 1024
STATIC_DIR = Path(__file__).resolve().parent / "static"
UPLOAD_SUFFIXES = {".txt", ".text", ".html", ".htm", ""}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: FastAPI's Swagger/ReDoc pages load their assets from a CDN with an inline bootstrap.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; frame-ancestors 'none'"
)


class PayloadTooLarge(StarletteHTTPException):
    """A request body over the configured limit (413)."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        got = f"{size:,} bytes" if size is not None else "more than that"
        super().__init__(
            413,
            f"upload too large: {got}; the limit is {limit:,} bytes "
            f"({limit / 1048576:.1f} MB). Trace a shorter text, or start the server "
            f"with a larger --max-upload-mb.",
        )


def _wants_json(scope_path: str, accept: str = "") -> bool:
    return scope_path.startswith("/api/") or scope_path == "/openapi.json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _error_body(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": message, "errors": errors or [], "status": status}


class GuardMiddleware:
    """Pure ASGI middleware: caps request bodies and adds security headers."""

    def __init__(self, app: Any, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        csp = DOCS_CSP if path in ("/docs", "/redoc") else CSP
        started = False

        async def send_wrapped(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in extra if h[0] not in names
                ]
            await send(message)

        length = headers.get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await self._reply(scope, send_wrapped, 400, "invalid Content-Length header")
                return
            if size > self.max_body:
                await self._reply(scope, send_wrapped, 413, PayloadTooLarge(self.max_upload, size).detail)
                return

        received = 0

        async def receive_limited() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge(self.max_upload)
            return message

        try:
            await self.app(scope, receive_limited, send_wrapped)
        except PayloadTooLarge as ex:
            if started:
                raise
            await self._reply(scope, send_wrapped, 413, ex.detail)

    async def _reply(self, scope: dict[str, Any], send: Any, status: int, message: str) -> None:
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        accept = headers.get(b"accept", b"").decode("latin-1")
        if _wants_json(scope.get("path", ""), accept):
            body = json.dumps(_error_body(status, message)).encode()
            ctype = b"application/json"
        else:
            body = _error_page(status, message).encode()
            ctype = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


_ENV = template_env()
_ENV.filters["when"] = views.fmt_date
_ENV.globals["palette"] = views.PALETTE


def _render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(name).render(**ctx), status_code=status)


def _error_page(status: int, message: str) -> str:
    return _ENV.get_template("web_error.html").render(status=status, message=message)


class _Store:
    """The read-only index and a lock to hand out one cursor per request."""

    def __init__(self, db_path: str | Path, params: Params | None,
                 overrides: Mapping[str, Any] | None = None) -> None:
        self.base = Index.open(db_path, params, read_only=True, overrides=overrides)
        self.lock = threading.Lock()
        self._overview: dict[str, Any] | None = None
        self._fulltext: FullText | None = None
        self.db_path = db_path

    def fulltext(self) -> FullText:
        """The FTS5 search index (``<db>.search.sqlite``, or in memory), opened on first use."""
        with self.lock:
            if self._fulltext is None:
                self._fulltext = FullText(self.db_path)
            return self._fulltext

    @contextmanager
    def index(self) -> Iterator[Index]:
        with self.lock:
            cur = self.base.con.cursor()
        try:
            yield Index(cur, self.base.path, self.base.params, True)
        finally:
            cur.close()

    def overview(self) -> dict[str, Any]:
        with self.lock:
            cached = self._overview
        if cached is None:
            with self.index() as idx:
                cached = views.corpus_overview(idx.con)
                cached["stats"] = idx.stats()
                cached["clusters"] = idx.clusters(limit=20)
            with self.lock:
                self._overview = cached
        return cached


class AlignRequest(BaseModel):
    a: str = Field(..., description="First text (side a of every passage).")
    b: str = Field(..., description="Second text (side b).")


class TraceRequest(BaseModel):
    text: str = Field(..., description="The article to trace.")


def _decode_upload(data: bytes, filename: str) -> str:
    name = filename or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise HTTPException(415, f"{name}: unsupported file type {suffix!r}; upload a .txt or .html file")
    if b"\x00" in data[:8192]:
        raise HTTPException(415, f"{name}: binary file; upload a .txt or .html file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as ex:
        raise HTTPException(400, f"{name}: not valid UTF-8 (byte {ex.start})") from None
    if suffix in (".html", ".htm") or (not suffix and text.lstrip()[:1] == "<"):
        from newstrace.ingest import html_to_record

        body = html_to_record(text).get("text")
        if not body:
            raise HTTPException(400, f"{name}: no article text found in the HTML")
        text = str(body)
    return text


def create_app(
    db_path: str | Path,
    params: Params | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    overrides: Mapping[str, Any] | None = None,
) -> FastAPI:
    """The web application over the index at ``db_path`` (opened read-only).

    ``params=None`` reads the parameters back from the index (then ``newstrace.toml``
    beside it, then ``overrides``), as the command line does.

    Raises:
        UserError: the database is missing, unreadable or incompatible.
    """
    store = _Store(db_path, params, overrides)
    limit = int(max_upload_bytes)
    app = FastAPI(
        title="newstrace",
        description="Trace where news text comes from: reprints, spun copies and composites.",
        version="0.1.0",
    )
    app.state.store = store
    app.state.max_upload_bytes = limit
    app.add_middleware(GuardMiddleware, max_body=limit + FORM_OVERHEAD_BYTES, max_upload=limit)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR), follow_symlink=False), name="static")
    # load the compiled aligner now, so the first trace answers as fast as the rest
    align_texts("warm up the aligner once " * 4, "warm up the aligner once " * 4)

    # -- errors -------------------------------------------------------------------------------
    def _error(request: Request, status: int, message: str, errors: list[Any] | None = None) -> Response:
        if _wants_json(request.url.path, request.headers.get("accept", "")):
            return JSONResponse(_error_body(status, message, errors), status_code=status)
        return HTMLResponse(_error_page(status, message), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, ex: StarletteHTTPException) -> Response:
        message = ex.detail if isinstance(ex.detail, str) else json.dumps(ex.detail)
        if ex.status_code == 404 and message == "Not Found":
            message = f"not found: {request.url.path}"
        return _error(request, ex.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, ex: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in ex.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        message = f"invalid request: {'.'.join(first['loc'])}: {first['msg']}"
        return _error(request, 422, message, errors)

    @app.exception_handler(UserError)
    async def _user_error(request: Request, ex: UserError) -> Response:
        message = str(ex)
        status = 404 if message.startswith("no ") and " with id " in message else 400
        return _error(request, status, message)

    # -- helpers ------------------------------------------------------------------------------
    def _check_text(text: str) -> str:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise PayloadTooLarge(limit, size)
        if not text.strip():
            raise HTTPException(400, "nothing to trace: the text is empty")
        return text

    async def _text_from_form(request: Request) -> tuple[str, dict[str, Any]]:
        try:
            form = await request.form(max_files=2, max_fields=20, max_part_size=limit + 1024)
        except PayloadTooLarge:
            raise
        except (MultiPartException, ValueError, KeyError, AssertionError) as ex:  # malformed body
            detail = getattr(ex, "detail", None) or str(ex)
            raise HTTPException(400, f"cannot read the form: {detail}") from None
        upload = form.get("file")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise PayloadTooLarge(limit, upload.size if upload.size else None)
            return _check_text(_decode_upload(data, upload.filename)), fields
        return _check_text(str(fields.get("text", ""))), fields

    def _trace(text: str) -> tuple[dict[str, Any], float]:
        t = time.perf_counter()
        with store.index() as idx:
            result = idx.trace(text)
        return result, time.perf_counter() - t

    def _doc_or_404(idx: Index, doc_id: str) -> dict[str, Any]:
        try:
            return idx.document(doc_id)
        except UserError as ex:
            raise HTTPException(404, str(ex)) from None

    # -- pages --------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> HTMLResponse:
        with store.index() as idx:
            stats = idx.stats()
        return _render("web_home.html", stats=stats, limit=limit, page="trace")

    @app.get("/trace", include_in_schema=False)
    def trace_get() -> RedirectResponse:
        return RedirectResponse("/", status_code=303)

    @app.post("/trace", response_class=HTMLResponse, include_in_schema=False)
    async def trace_page(request: Request) -> HTMLResponse:
        text, _ = await _text_from_form(request)
        result, seconds = await run_in_threadpool(_trace, text)
        view = views.trace_view(text, result)
        return _render("web_trace.html", text=text, result=result, view=view, seconds=seconds,
                       page="trace")

    @app.post("/compare", response_class=HTMLResponse, include_in_schema=False)
    async def compare_text(request: Request) -> HTMLResponse:
        text, fields = await _text_from_form(request)
        source_id = str(fields.get("source", ""))

        def work() -> dict[str, Any]:
            with store.index() as idx:
                doc = _doc_or_404(idx, source_id)
            passages = align_texts(doc["text"], text, store.base.params)
            return {"doc": doc, "sbs": views.side_by_side(doc["text"], text, passages)}

        data = await run_in_threadpool(work)
        left = {"label": "Source", "doc": data["doc"]}
        right = {"label": "Your text", "doc": None}
        return _render("web_compare.html", left=left, right=right, sbs=data["sbs"],
                       text=text, page="trace")

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_docs(
        a: str = Query(..., description="Id of the first document (shown left)."),
        b: str = Query(..., description="Id of the second document (shown right)."),
    ) -> HTMLResponse:
        with store.index() as idx:
            da, db = _doc_or_404(idx, a), _doc_or_404(idx, b)
        passages = align_texts(da["text"], db["text"], store.base.params)
        sbs = views.side_by_side(da["text"], db["text"], passages)
        return _render("web_compare.html", left={"label": "A", "doc": da},
                       right={"label": "B", "doc": db}, sbs=sbs, text=None, page="document")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((STATIC_DIR / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/documents/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(doc_id: str) -> HTMLResponse:
        with store.index() as idx:
            doc = _doc_or_404(idx, doc_id)
            shared: dict[str, int] = {}
            for p in doc["passages"]:
                shared[p["other_id"]] = shared.get(p["other_id"], 0) + p["end"] - p["start"]
            # most shared text first, so the cards above "show more" are the closest copies
            others = sorted(shared, key=lambda o: (-shared[o], o))
            meta = {}
            if others:
                for oid, pub, at, title in idx.con.execute(
                    "SELECT id, publisher, published_at, title FROM documents WHERE id IN (SELECT unnest(?))",
                    [others],
                ).fetchall():
                    meta[oid] = {"publisher": pub, "published_at": at.isoformat() if at else None,
                                 "title": title}
        colour = {oid: views.colour_index(i) for i, oid in enumerate(others)}
        regions = [
            (p["start"], p["end"], {"cls": f"psg c{colour[p['other_id']]}",
                                    "title": f"also in {p['other_id']}"})
            for p in doc["passages"]
        ]
        body = views.mark_text(views.reflow(doc["text"]), regions)
        return _render("web_document.html", doc=doc, body=body, others=others, meta=meta,
                       colour=colour, shared=shared, shown=views.SIDEBAR_SHOWN, page="document")

    @app.get("/clusters/{cluster_id}", response_class=HTMLResponse, include_in_schema=False)
    def cluster_page(cluster_id: int, page: int = Query(1, ge=1, le=1_000_000)) -> HTMLResponse:
        with store.index() as idx:
            cluster = idx.cluster(cluster_id)
            members = views.distinct_members(cluster)
            graph = hist = None
            if len(members) <= views.GRAPH_MAX_ROWS:
                ids = sorted(m["id"] for m in members)
                links = idx.con.execute(
                    """SELECT a_id, b_id, max(score) FROM passages
                       WHERE a_id IN (SELECT unnest(?)) AND b_id IN (SELECT unnest(?))
                       GROUP BY a_id, b_id""",
                    [ids, ids],
                ).fetchall()
                graph = views.cluster_graph(cluster, links)
            else:
                hist = views.cluster_histogram(members, cluster["earliest_id"])
        pager = views.page_slice(len(members), page, views.CLUSTER_PAGE_SIZE)
        return _render("web_cluster.html", cluster=cluster, graph=graph, hist=hist, pager=pager,
                       rows=members[pager["lo"]:pager["hi"]], n_articles=len(members), page="corpus")

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(
        q: str = Query("", max_length=500), field: str = Query("all"),
        page: int = Query(1, ge=1, le=10_000),
    ) -> HTMLResponse:
        if field not in views.SEARCH_FIELDS:
            raise HTTPException(400, f"field must be one of {', '.join(views.SEARCH_FIELDS)}")
        results, pager = None, None
        if q.strip():
            size = views.SEARCH_PAGE_SIZE
            with store.index() as idx:
                results, total = views.search_with_total(
                    idx.con, q.strip(), field, limit=size, offset=(page - 1) * size,
                    fulltext=store.fulltext(),
                )
            pager = views.page_slice(total, page, size)
        return _render("web_search.html", q=q, field=field, fields=views.SEARCH_FIELDS,
                       results=results, pager=pager, page="search")

    @app.get("/corpus", response_class=HTMLResponse, include_in_schema=False)
    def corpus_page() -> HTMLResponse:
        ov = store.overview()
        return _render("web_corpus.html", ov=ov, page="corpus")

    # -- JSON API -----------------------------------------------------------------------------
    trace_body = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": TraceRequest.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary",
                                     "description": "A .txt or .html file."},
                            "text": {"type": "string"},
                        },
                    }
                },
            },
        }
    }

    @app.post("/api/trace", tags=["api"], openapi_extra=trace_body,
              summary="Trace an article: which indexed documents does it reuse?")
    async def api_trace(request: Request) -> JSONResponse:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            text, _ = await _text_from_form(request)
        else:
            raw = await request.body()
            try:
                payload = json.loads(raw or b"null")
            except ValueError as ex:
                raise HTTPException(400, f"request body: invalid JSON ({ex})") from None
            if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
                raise HTTPException(422, 'request body: expected {"text": "..."}')
            text = _check_text(payload["text"])
        result, seconds = await run_in_threadpool(_trace, text)
        return JSONResponse(result, headers={"Server-Timing": f"trace;dur={seconds * 1000:.1f}"})

    @app.get("/api/documents/{doc_id:path}", tags=["api"], summary="One document and its reused spans")
    def api_document(doc_id: str) -> dict[str, Any]:
        with store.index() as idx:
            return _doc_or_404(idx, doc_id)

    @app.get("/api/clusters/{cluster_id}", tags=["api"], summary="One reuse cluster, members by date")
    def api_cluster(cluster_id: int) -> dict[str, Any]:
        with store.index() as idx:
            try:
                return idx.cluster(cluster_id)
            except UserError as ex:
                raise HTTPException(404, str(ex)) from None

    @app.post("/api/align", tags=["api"], summary="Reused passages between two texts")
    def api_align(req: AlignRequest) -> dict[str, Any]:
        for value in (req.a, req.b):
            if len(value.encode("utf-8", "surrogatepass")) > limit:
                raise PayloadTooLarge(limit)
        passages = align_texts(req.a, req.b, store.base.params, a_id="a", b_id="b")
        return {"passages": [p.to_dict() for p in passages]}

    @app.get("/api/search", tags=["api"],
             summary="Documents containing every word of q (full text, best first)")
    def api_search(
        q: str = Query(..., min_length=1, max_length=500), field: str = Query("all"),
        limit: int = Query(views.SEARCH_PAGE_SIZE, ge=1, le=500), offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        if field not in views.SEARCH_FIELDS:
            raise HTTPException(400, f"field must be one of {', '.join(views.SEARCH_FIELDS)}")
        with store.index() as idx:
            found, total = views.search_with_total(idx.con, q, field, limit=limit, offset=offset,
                                                   fulltext=store.fulltext())
        return {"results": [{k: v for k, v in r.items() if k != "title_marked"}
                            | {"snippet": r["snippet"].striptags()} for r in found],
                "total": total}

    @app.get("/api/stats", tags=["api"], summary="Corpus counts")
    def api_stats() -> dict[str, Any]:
        with store.index() as idx:
            return idx.stats()

    app.include_router(__import__("newstrace.web.watch", fromlist=["router"]).router)  # /watch pages
    return app
