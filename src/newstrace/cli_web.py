"""``newstrace serve``: the local web UI (FastAPI + uvicorn), over a read-only index."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import typer

from newstrace.errors import UserError


def _require_web() -> None:
    try:
        import fastapi  # noqa: F401
        import multipart  # noqa: F401  (python-multipart)
        import uvicorn  # noqa: F401
    except ImportError as ex:
        raise UserError(
            f"the web UI needs {ex.name}", hint="install it with: pip install 'newstrace[web]'"
        ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_DB_OPTION = typer.Option(..., "--db", help="The newstrace database file (DuckDB), opened read-only.")


def serve(
    db: Path = _DB_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    max_upload_mb: float = typer.Option(2.0, "--max-upload-mb", help="Largest article upload, in MB."),
    get: str | None = typer.Option(
        None, "--get", help="Print the response to one GET request for PATH (e.g. /api/stats) and exit."
    ),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host",
        help="A Host name the server answers to (repeatable; *.example.org for subdomains). "
        "Default: localhost, 127.0.0.1, ::1 and the --host address.",
    ),
    max_concurrent: int = typer.Option(
        4, "--max-concurrent",
        help="Trace/align requests run at once; more wait (--queue-wait), then get 503 with Retry-After."
    ),
    queue_wait: float = typer.Option(
        10.0, "--queue-wait",
        help="Seconds a trace/align request waits for a free slot before it gets 503.",
    ),
    body_timeout: float = typer.Option(
        30.0, "--body-timeout", help="Seconds a client may take to send a request body (then 408)."
    ),
) -> None:
    """Serve the web UI: paste an article and see where it came from.

    Example:

        newstrace serve --db news.duckdb --port 8000
    """
    _require_web()
    if max_upload_mb <= 0:
        raise UserError(f"--max-upload-mb: must be positive, got {max_upload_mb}")
    if not 0 < port < 65536:
        raise UserError(f"--port: must be 1-65535, got {port}")
    if max_concurrent < 1:
        raise UserError(f"--max-concurrent: must be at least 1, got {max_concurrent}")
    if body_timeout <= 0:
        raise UserError(f"--body-timeout: must be positive, got {body_timeout}")
    from newstrace.cli import param_overrides
    from newstrace.web.app import LOOPBACK_HOSTS, create_app

    hosts = list(allowed_host) or [*LOOPBACK_HOSTS, *([host] if host not in ("0.0.0.0", "::", "") else [])]
    app = create_app(db, max_upload_bytes=int(max_upload_mb * 1024 * 1024), allowed_hosts=tuple(hosts),
                     max_concurrent=max_concurrent, body_timeout=body_timeout, queue_wait=queue_wait,
                     overrides=param_overrides())
    if get is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        if not get.startswith("/"):
            raise UserError(f"--get: path must start with /, got {get!r}")
        with TestClient(app, base_url="http://127.0.0.1") as client:
            response = client.get(get)
        from newstrace import term

        body = response.text
        if response.headers.get("content-type", "").startswith("application/json"):
            body = term.escape_json_controls(body)  # still the same JSON
        else:
            body = term.clean(body)
        sys.stdout.write(body)
        if not body.endswith("\n"):
            sys.stdout.write("\n")
        if response.status_code >= 400:
            raise typer.Exit(1)
        return
    import uvicorn

    if not _is_loopback(host):
        typer.echo(
            f"warning: binding {host}: the UI will be reachable from other machines "
            "(it has no login).",
            err=True,
        )
        if not allowed_host:
            typer.echo(f"note: only Host names {', '.join(hosts)} are served; "
                       "add others with --allowed-host NAME", err=True)
    typer.echo(f"newstrace: serving {db} on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``newstrace`` command line."""
    app.command("serve")(serve)
