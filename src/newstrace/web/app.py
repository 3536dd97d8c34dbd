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

import asyncio
import json
import logging
import re
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
from starlette.requests import ClientDisconnect

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
#: Swagger UI and ReDoc come from the package (fastapi-offline's copies), started by our own
#: script file: no CDN, no inline script. Both set inline styles, and ReDoc runs a blob: worker.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: Host header names accepted by default (DNS rebinding guard): this machine only.
#: ``testserver`` is the name Starlette's TestClient sends.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_ALLOWED_HOSTS = (*LOOPBACK_HOSTS, "testserver")
#: Nesting depth over which a JSON body is refused before it is parsed.
MAX_JSON_DEPTH = 64
#: Seconds a client may take to send its whole request body.
DEFAULT_BODY_TIMEOUT_S = 30.0
#: Trace/align requests served at once; more wait for a slot up to DEFAULT_QUEUE_WAIT_S
#: seconds (before their body is read), then get 503 with Retry-After.
DEFAULT_MAX_HEAVY = 4
DEFAULT_QUEUE_WAIT_S = 10.0
#: Requests that run the aligner (method, path).
HEAVY = {("POST", "/api/trace"), ("POST", "/api/align"), ("POST", "/trace"), ("POST", "/compare"),
         ("GET", "/compare")}
#: API paths that also take a multipart/form-data file upload.
MULTIPART_API = {"/api/trace"}

log = logging.getLogger("newstrace.web")


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


class BodyTimeout(StarletteHTTPException):
    """The client did not send its request body in time (408)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"request body not received within {seconds:g} s")


def _wants_json(scope_path: str, accept: str = "") -> bool:
    return scope_path.startswith("/api/") or scope_path == "/openapi.json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _error_body(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": message, "errors": errors or [], "status": status}


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in the JSON text ``raw`` (strings skipped),
    found without parsing it (so without Python's recursion)."""
    depth = deepest = 0
    for m in _JSON_BRACKETS.finditer(_JSON_STRING.sub(b"", raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _host_name(value: str) -> str:
    """``example.org:8000`` -> ``example.org``; ``[::1]:8000`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``host`` (a Host header value) matches ``allowed`` names; ``*.example.org``
    matches subdomains and ``*`` anything (the rules of Starlette's TrustedHostMiddleware)."""
    name = _host_name(host)
    for pattern in allowed:
        if pattern == "*" or name == pattern or (
            pattern.startswith("*.") and name.endswith(pattern[1:])
        ):
            return True
    return False


class GuardMiddleware:
    """Pure ASGI middleware in front of every request.

    It checks the Host header (DNS rebinding) and the Origin of unsafe requests
    (cross-site forms), caps request bodies and the time to send them, accepts
    only JSON (or, for ``/api/trace``, a multipart upload) as API bodies and
    refuses JSON nested deeper than ``MAX_JSON_DEPTH``, bounds the number of
    trace/align requests running at once (503 + ``Retry-After``), logs a client
    that hangs up as one line, turns any unhandled exception into the one JSON
    (or HTML) error shape, and adds the security headers to every response.
    """

    def __init__(
        self, app: Any, max_body: int, max_upload: int,
        allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_S, max_heavy: int = DEFAULT_MAX_HEAVY,
        queue_wait: float = DEFAULT_QUEUE_WAIT_S,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.body_timeout = body_timeout
        self.max_heavy = max_heavy
        self.queue_wait = queue_wait
        self.heavy_running = 0

    async def _heavy_slot(self) -> bool:
        """Take one of the ``max_heavy`` slots, waiting up to ``queue_wait`` seconds for one.

        Polls rather than using an ``asyncio.Semaphore``, which would tie the
        middleware to one event loop.
        """
        deadline = time.monotonic() + self.queue_wait
        while self.heavy_running >= self.max_heavy:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        self.heavy_running += 1
        return True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
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

        async def reply(status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
            await self._reply(scope, send_wrapped, status, message, extra)

        host = headers.get(b"host", b"").decode("latin-1")
        if not host_allowed(host, self.allowed_hosts):
            await reply(400, f"invalid Host header {host[:100]!r}: this server answers to "
                             f"{', '.join(self.allowed_hosts)} (see `newstrace serve --allowed-host`)")
            return
        if method not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get(b"origin", b"").decode("latin-1")
            site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
            foreign = origin not in ("", "null") and not host_allowed(
                origin.split("://", 1)[-1].split("/", 1)[0], self.allowed_hosts)
            if site == "cross-site" or foreign or (origin == "null" and site not in ("", "same-origin")):
                await reply(403, "cross-site request refused")
                return

        length = headers.get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await reply(400, "invalid Content-Length header")
                return
            if size > self.max_body:
                await reply(413, PayloadTooLarge(self.max_upload, size).detail)
                return

        ctype = headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()
        is_json = ctype == "application/json" or ctype.endswith("+json")
        if method == "POST" and path.startswith("/api/"):
            multipart_ok = path in MULTIPART_API and ctype == "multipart/form-data"
            if not (is_json or multipart_ok):
                also = " or a multipart/form-data file upload" if path in MULTIPART_API else ""
                await reply(415, f"unsupported Content-Type {ctype or '(none)'!r}: send application/json{also}")
                return

        heavy = (method, path) in HEAVY
        received = 0
        deadline = time.monotonic() + self.body_timeout
        body_done = False

        async def receive_limited() -> dict[str, Any]:
            nonlocal received, body_done
            if body_done:  # after the body: waiting for a disconnect has no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise BodyTimeout(self.body_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge(self.max_upload)
                body_done = not message.get("more_body", False)
            return message

        app_receive = receive_limited
        slot = False
        try:
            if heavy or (is_json and method in ("POST", "PUT", "PATCH")):
                # read the whole (capped, timed) body first: slow senders never hold a trace
                # slot, and deep JSON is refused before any parser sees it
                chunks = []
                while True:
                    message = await receive_limited()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnect()
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
                raw = b"".join(chunks)
                if is_json and json_depth(raw) > MAX_JSON_DEPTH:
                    await reply(400, f"request body: JSON nested deeper than {MAX_JSON_DEPTH} levels")
                    return
                replayed = False

                async def app_receive() -> dict[str, Any]:
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": raw, "more_body": False}
                    return await receive()

            if heavy:
                slot = await self._heavy_slot()
                if not slot:
                    await reply(503, f"busy: {self.heavy_running} trace/align requests running and "
                                     f"none finished within {self.queue_wait:g} s; try again shortly",
                                [(b"retry-after", b"2")])
                    return
            await self.app(scope, app_receive, send_wrapped)
        except (PayloadTooLarge, BodyTimeout) as ex:
            if started:
                raise
            log.warning("%s %s: %s", method, path, ex.detail)
            await reply(ex.status_code, ex.detail)
        except ClientDisconnect:
            log.warning("%s %s: client disconnected before sending its whole request", method, path)
        except Exception as ex:  # noqa: BLE001 - one error shape for everything, never a bare 500
            log.error("%s %s: internal error (%s: %s)", method, path, type(ex).__name__,
                      str(ex).splitlines()[0][:200] if str(ex) else "", exc_info=True)
            if not started:
                await reply(500, "internal server error")
        finally:
            if slot:
                self.heavy_running -= 1

    async def _reply(self, scope: dict[str, Any], send: Any, status: int, message: str,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
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
                            (b"connection", b"close"), *(extra or [])],
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


def _docs_assets() -> Path | None:
    """The folder of Swagger UI and ReDoc files shipped by the ``fastapi-offline`` package."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).resolve().parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


_SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newstrace API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
<link rel="icon" href="/docs-assets/favicon.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>
"""
_REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newstrace API</title>
<link rel="icon" href="/docs-assets/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs-assets/redoc.standalone.js"></script>
</body></html>
"""


def create_app(
    db_path: str | Path,
    params: Params | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    overrides: Mapping[str, Any] | None = None,
    allowed_hosts: tuple[str, ...] | list[str] | None = None,
    max_concurrent: int = DEFAULT_MAX_HEAVY,
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S,
    queue_wait: float = DEFAULT_QUEUE_WAIT_S,
) -> FastAPI:
    """The web application over the index at ``db_path`` (opened read-only).

    ``params=None`` reads the parameters back from the index (then ``newstrace.toml``
    beside it, then ``overrides``), as the command line does.
    ``allowed_hosts``: Host header names served (default ``DEFAULT_ALLOWED_HOSTS``:
    this machine's names); ``max_concurrent``: trace/align requests run at once
    (more wait up to ``queue_wait`` seconds for a slot, then get 503 with
    ``Retry-After``); ``body_timeout``: seconds a client may take
    to send its request body (408 after that).

    Raises:
        UserError: the database is missing, unreadable or incompatible.
    """
    if max_concurrent < 1:
        raise UserError(f"max_concurrent must be at least 1, got {max_concurrent}")
    if body_timeout <= 0:
        raise UserError(f"body_timeout must be positive, got {body_timeout}")
    store = _Store(db_path, params, overrides)
    limit = int(max_upload_bytes)
    app = FastAPI(
        title="newstrace",
        description="Trace where news text comes from: reprints, spun copies and composites.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.max_upload_bytes = limit
    app.add_middleware(
        GuardMiddleware, max_body=limit + FORM_OVERHEAD_BYTES, max_upload=limit,
        allowed_hosts=tuple(allowed_hosts or DEFAULT_ALLOWED_HOSTS), body_timeout=body_timeout,
        max_heavy=int(max_concurrent), queue_wait=max(0.0, float(queue_wait)),
    )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR), follow_symlink=False), name="static")
    assets = _docs_assets()
    if assets is not None:  # Swagger UI and ReDoc from the package, never from a CDN
        app.mount("/docs-assets", StaticFiles(directory=str(assets), follow_symlink=False),
                  name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def swagger_ui() -> HTMLResponse:
            return HTMLResponse(_SWAGGER_PAGE)

        @app.get("/redoc", include_in_schema=False)
        def redoc() -> HTMLResponse:
            return HTMLResponse(_REDOC_PAGE)
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
        if ctype.startswith("multipart/form-data"):  # GuardMiddleware lets only JSON and this in
            text, _ = await _text_from_form(request)
        else:
            raw = await request.body()
            try:
                payload = json.loads(raw or b"null")
            except RecursionError:
                raise HTTPException(400, "request body: JSON nested too deeply") from None
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
