"""``newstrace watch add|remove|list|run|report|rules``: who reprinted our stories?"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from newstrace import term
from newstrace.errors import UserError
from newstrace.term import safe

watch_app = typer.Typer(
    help="Watch originals and record who reuses them (reverse trace).", no_args_is_help=True
)
console: Console = term.SafeConsole()
err_console: Console = term.SafeConsole(stderr=True)

_DB = typer.Option(..., "--db", help="The newstrace database file (DuckDB).")


def _open(db: Path, read_only: bool = False) -> Any:
    from newstrace.cli import _state, param_overrides
    from newstrace.index import Index

    _state["db"] = str(db)
    if not db.exists():
        raise UserError(f"{db}: no such database",
                        hint=f"create it with `newstrace ingest FILES --db {db}` and `newstrace index`")
    return Index.open(db, read_only=read_only, overrides=param_overrides())


@watch_app.command("add")
def add(
    paths: list[Path] | None = typer.Argument(
        None, help="Files of originals to ingest and watch (JSONL, CSV, HTML, WARC, .txt)."
    ),
    db: Path = _DB,
    publisher: str | None = typer.Option(
        None, "--publisher", help="Watch every document of this publisher, now and later."
    ),
    ids: list[str] | None = typer.Option(None, "--id", help="Watch the document with this id (repeatable)."),
    alias: list[str] | None = typer.Option(
        None, "--alias", help="Another name that credits the original, e.g. BPA (repeatable)."
    ),
    backfill: bool = typer.Option(
        True, "--backfill/--no-backfill", help="Record the reuses already in the index (no alerts)."
    ),
) -> None:
    """Mark documents (files, ids) or a whole publisher as watched originals.

    Examples:

    \b
        newstrace watch add --db news.duckdb --publisher "Baltic Press Agency" --alias BPA
        newstrace watch add --db news.duckdb --id orig-01 --id orig-02
        newstrace watch add --db news.duckdb our-stories.jsonl
    """
    from newstrace.watch import _build, add_watch

    doc_ids = list(ids or [])
    rejected = 0
    with _open(db) as idx:
        if paths:
            from newstrace.ingest import Rejected, read_documents

            for path in paths:
                if not path.exists() and not path.is_symlink():
                    raise UserError(
                        f"{path}: no such file; PATHS are files of originals "
                        f"(to watch an indexed document by its id: --id {path})"
                    )
            docs = []
            for item in read_documents(paths):
                if isinstance(item, Rejected):
                    rejected += 1
                    err_console.print(term.text(f"rejected: {item}", style="yellow"))
                else:
                    docs.append(item[0])
            res = idx.add(docs)
            rejected += len(res.rejected)
            for where, reason in res.rejected[:20]:
                err_console.print(term.text(f"rejected: {where}: {reason}", style="yellow"))
            doc_ids.extend(d.id for d in docs)
            if backfill:
                _build(idx, "fast")  # align the originals with what is indexed already
        if not doc_ids and not publisher:
            raise UserError("nothing to watch: give files, --id or --publisher")
        out = add_watch(idx, doc_ids or None, publisher=publisher, aliases=alias or (),
                        backfill=backfill)
    what = []
    if out["documents"]:
        what.append(f"{len(out['documents'])} document(s)")
    if out["publisher"]:
        what.append(f"publisher {out['publisher']!r}")
    console.print(term.text(f"watching {' and '.join(what)}; {out['backfilled']} existing reuse(s) recorded"))
    if rejected:
        raise typer.Exit(2)


@watch_app.command("remove")
def remove(
    db: Path = _DB,
    publisher: str | None = typer.Option(None, "--publisher", help="Stop watching this publisher."),
    ids: list[str] | None = typer.Option(None, "--id", help="Stop watching this document."),
) -> None:
    """Stop watching documents or a publisher (recorded reuses are kept).

    Examples:

    \b
        newstrace watch remove --db news.duckdb --id orig-01
        newstrace watch remove --db news.duckdb --publisher "Baltic Press Agency"
    """
    from newstrace.watch import remove_watch

    with _open(db) as idx:
        n = remove_watch(idx, ids, publisher)
    console.print(f"removed {n} watch entr{'y' if n == 1 else 'ies'}")


@watch_app.command("list")
def list_(db: Path = _DB, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The watchlist: watched documents and publishers, with their aliases.

    Example:

        newstrace watch list --db news.duckdb
    """
    from newstrace.watch import list_watched

    with _open(db, read_only=True) as idx:
        rows = list_watched(idx.con)
    if as_json:
        sys.stdout.write(term.json_dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print("nothing watched yet: use `newstrace watch add`")
        return
    t = Table()
    for col in ("kind", "value", "aliases", "added"):
        t.add_column(col)
    for r in rows:
        t.add_row(*(term.text(v) for v in (r["kind"], r["value"], ", ".join(r["aliases"]),
                                          (r["added_at"] or "")[:16])))
    console.print(t)


def _rules_from(min_share: float | None, uncredited: bool | None, min_spin: float | None,
                min_chars: int | None, off: list[str] | None) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if min_share is not None:
        rules["min_share"] = min_share
    if uncredited is not None:
        rules["uncredited"] = uncredited
    if min_spin is not None:
        rules["min_spin"] = min_spin
    if min_chars is not None:
        rules["min_chars"] = min_chars
    for name in off or []:
        rules[name] = False if name == "uncredited" else None
    from newstrace.watch import check_rules

    return check_rules(rules)


_MIN_SHARE = typer.Option(None, "--min-share", help="Alert when at least this share (0-1) of the original is reused.")
_UNCREDITED = typer.Option(None, "--uncredited/--no-uncredited", help="Alert on reuse that does not credit the original.")
_MIN_SPIN = typer.Option(None, "--min-spin", help="Alert when the copy's spin score reaches this.")
_MIN_CHARS = typer.Option(None, "--min-chars", help="No alert below this many characters of the original reused.")
_OFF = typer.Option(None, "--off", help="Disable a rule: min_share, uncredited, min_spin or min_chars (repeatable).")


@watch_app.command("rules")
def rules(
    db: Path = _DB,
    min_share: float | None = _MIN_SHARE,
    uncredited: bool | None = _UNCREDITED,
    min_spin: float | None = _MIN_SPIN,
    min_chars: int | None = _MIN_CHARS,
    off: list[str] | None = _OFF,
    webhook: str | None = typer.Option(None, "--webhook", help="POST each alert as JSON to this URL."),
    no_webhook: bool = typer.Option(False, "--no-webhook", help="Forget the stored webhook URL."),
) -> None:
    """Show or change the stored alert rules and webhook (an alert fires when any rule passes).

    Example:

        newstrace watch rules --db news.duckdb --min-share 0.3 --min-spin 2 --webhook http://127.0.0.1:9000/hook
    """
    from newstrace.watch import set_rules

    new = _rules_from(min_share, uncredited, min_spin, min_chars, off)
    with _open(db) as idx:
        out = set_rules(idx, new, webhook=webhook, clear_webhook=no_webhook)
    sys.stdout.write(term.json_dumps(out, indent=2) + "\n")


@watch_app.command("run")
def run(
    db: Path = _DB,
    inbox: Path = typer.Option(..., "--inbox", help="Folder where new files arrive."),
    interval: float = typer.Option(10.0, "--interval", help="Seconds between passes over the inbox."),
    once: bool = typer.Option(False, "--once", help="One pass, then exit (for cron)."),
    webhook: str | None = typer.Option(None, "--webhook", help="POST each new alert as JSON here."),
    settle: float = typer.Option(1.0, "--settle", help="Leave files modified less than this many seconds ago."),
    batch: int = typer.Option(1, "--batch", help="Files indexed together per build (more = faster, later alerts)."),
    mode: str = typer.Option("full", "--mode", help="full: Index.build() per batch; fast: no cluster/provenance refresh."),
    min_share: float | None = _MIN_SHARE,
    uncredited: bool | None = _UNCREDITED,
    min_spin: float | None = _MIN_SPIN,
    min_chars: int | None = _MIN_CHARS,
    off: list[str] | None = _OFF,
) -> None:
    """Index every new file dropped into --inbox and record new reuses of watched originals.

    Safe to stop and restart: no file is processed twice, none is skipped. Files ending
    in .part/.tmp and hidden files are ignored until renamed.

    Example:

        newstrace watch run --db news.duckdb --inbox incoming/ --interval 30
    """
    from newstrace.watch import run_watch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    rules_ = _rules_from(min_share, uncredited, min_spin, min_chars, off)

    def show(rep: Any) -> None:
        if rep.files or rep.sent or rep.failed:
            err_console.print(term.text(rep.summary()))

    try:
        total = run_watch(db, inbox, once=once, interval=interval, webhook=webhook, rules=rules_,
                          settle=settle, batch=batch, mode=mode, on_cycle=None if once else show)
    except KeyboardInterrupt:
        err_console.print("stopped; run the same command again to resume")
        return
    if once:
        console.print(term.text(total.summary()))
        if total.rejected:
            raise typer.Exit(2)


@watch_app.command("report")
def report(
    db: Path = _DB,
    since: str | None = typer.Option(None, "--since", help="Only reuses recorded since this date."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per watched original: who reused it, when, how much, credited or not, what changed.

    Examples:

    \b
        newstrace watch report --db news.duckdb
        newstrace watch report --db news.duckdb --since 2026-03-01 --json
    """
    from newstrace.watch import format_lag, watch_report

    with _open(db, read_only=True) as idx:
        rep = watch_report(idx, since=since)
    if as_json:
        sys.stdout.write(term.json_dumps(rep, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if not rep["originals"]:
        console.print(term.text("no watched original has been reused" + (f" since {rep['since']}" if since else "")))
        return
    for o in rep["originals"]:
        title = f"{o['id']} · {o['publisher'] or 'unknown publisher'} · {o['title'] or ''}"
        t = Table(title=safe(title), title_justify="left")
        for col in ("copy", "publisher", "lag", "share", "class", "credit", "subs", "cut", "added", "spin", "other sources"):
            t.add_column(col, justify="right" if col in ("share", "subs", "cut", "added", "spin") else "left")
        for r in o["reuses"]:
            t.add_row(
                term.text(r["copy_id"]), term.text(r["copy_publisher"] or ""), format_lag(r["lag_seconds"]),
                f"{100 * r['share']:.0f}%", term.text(r["class"]),
                "yes" if r["credited"] else "[bold red]no[/]", str(r["n_substitutions"]),
                str(r["cut_chars"]), str(r["inserted_chars"]), f"{r['spin_score']:.1f}",
                term.text(", ".join(r["other_sources"])),
            )
        if not o["reuses"]:
            t.add_row("(no reuse yet)", *[""] * 10)
        console.print(t)
    console.print(f"{rep['n_reuses']} reuse(s), {rep['n_alerts']} alert(s)")


def register(app: typer.Typer) -> None:
    """Add the ``watch`` sub-app to the main CLI."""
    app.add_typer(watch_app, name="watch")


__all__ = ["register", "watch_app"]
