"""The ``newstrace`` command line: a thin layer over the library API.

Each command parses its arguments, makes one library call, and prints the
result (rich tables by default, the DESIGN.md JSON with ``--json``). Every
failure is one line on stderr with an exit code (``newstrace.errors``: 1 user
error or missing database, 2 rejected records, 3 damaged database, 4 disk full,
130 interrupted); ``--traceback`` shows the trace. Data reaches the terminal
only through ``newstrace.term`` (control sequences stripped, markup escaped).
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from newstrace import term
from newstrace.errors import UserError
from newstrace.term import safe

app = typer.Typer(
    name="newstrace",
    help="Trace where news text comes from: reprints, spun copies and composites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
console: Console = term.SafeConsole()
err_console: Console = term.SafeConsole(stderr=True)
_state: dict[str, Any] = {"traceback": False, "set": {}, "db": None}

DbOption = typer.Option(..., "--db", help="The newstrace database file (DuckDB).")


@app.callback()
def _root(
    traceback: bool = typer.Option(False, "--traceback", help="Show tracebacks for user errors too."),
    set_: list[str] = typer.Option(
        [], "--set",
        help="Set a parameter, NAME=VALUE (repeatable; may follow the command). Wins over "
        "newstrace.toml beside the database and the values stored in it; `newstrace params "
        "--db FILE` lists them.",
    ),
) -> None:
    _state["traceback"] = traceback
    from newstrace.params import parse_sets

    _state["set"] = parse_sets(set_)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar driven by the library's ``progress(stage, done, total)`` callback."""
    if not enabled or not err_console.is_terminal and not _force_progress():
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield update


def _force_progress() -> bool:
    import os

    return os.environ.get("NEWSTRACE_PROGRESS") == "1"


def parse_field_map(field: list[str]) -> dict[str, str]:
    """``--field NAME=COLUMN`` options -> ``{NAME: COLUMN}``, checking each NAME."""
    out = {}
    for item in field:
        if "=" not in item:
            raise UserError(f"--field {item!r}: expected NAME=COLUMN, e.g. published_at=pubdate")
        name, column = item.split("=", 1)
        if name not in ("id", "url", "publisher", "published_at", "title", "text"):
            raise UserError(f"--field {item!r}: unknown field {name!r}")
        out[name] = column
    return out


def _open_index(db: Path, read_only: bool = False, create: bool = False) -> Any:
    """Open the database ``db``; unless ``create``, refuse (without creating it) when it is missing."""
    from newstrace.index import Index

    _state["db"] = str(db)
    if not create and not db.exists():
        hint = "check the path, or create it with `newstrace ingest FILES --db " + str(db) + "`"
        raise UserError(f"{db}: no such database", hint=hint)
    return Index.open(db, read_only=read_only, overrides=param_overrides())


def param_overrides() -> dict[str, Any]:
    """The ``--set`` values given on this command line."""
    return dict(_state["set"])


def _hoist_sets(argv: list[str]) -> list[str]:
    """Move ``--set NAME=VALUE`` options to the front, where the root command reads them,
    so they may be written after the subcommand like any other option."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg == "--set" and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 2
            continue
        if arg.startswith("--set="):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _remove_if_empty(db: Path) -> None:
    """After a failed first ``ingest``: delete the database it created if nothing was stored."""
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            n = con.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            con.close()
    except (duckdb.Error, OSError):
        n = 0
    if n == 0:
        for path in (db, db.with_name(db.name + ".wal")):
            path.unlink(missing_ok=True)


def _print_json(obj: Any) -> None:
    sys.stdout.write(term.json_dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def _read_input(arg: str, literal: bool = False) -> str:
    if literal:
        return arg
    if arg == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(arg)
        if not path.exists():
            raise UserError(f"{arg}: no such file", hint="pass --text to give the text itself")
        if path.is_dir():
            raise UserError(f"{arg}: is a directory, expected a file")
        try:
            data = path.read_bytes()
        except OSError as ex:
            raise UserError(f"{arg}: cannot read ({ex.strerror})") from None
        if path.suffix.lower() in {".html", ".htm"}:
            from newstrace.ingest import html_to_record

            text = html_to_record(data.decode("utf-8", "replace")).get("text")
            if not text:
                raise UserError(f"{arg}: no article text found in HTML")
            return str(text)
    if b"\x00" in data[:8192]:
        raise UserError(f"{arg}: binary file, expected text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as ex:
        raise UserError(f"{arg}: not valid UTF-8 (byte {ex.start})") from None


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders: JSONL, CSV, .txt, HTML, WARC."),
    db: Path = DbOption,
    field: list[str] = typer.Option(
        [], "--field", help="Map a field to a column of yours, e.g. --field published_at=pubdate."
    ),
    errors: Optional[Path] = typer.Option(
        None, "--errors", help="Write rejected records to this JSONL file (where, reason)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary line."),
    date_order: Optional[str] = typer.Option(
        None, "--date-order",
        help="How to read numeric dates like 03/05/2024: dmy (3 May) or mdy (March 5). "
        "Without it they are read day first, with a warning for each ambiguous one.",
    ),
    follow_symlinks: bool = typer.Option(
        False, "--follow-symlinks",
        help="Also read symbolic links inside a folder that point outside it (not followed by default).",
    ),
) -> None:
    """Store articles from files; re-ingesting the same content adds nothing.

    Exit code 2 when some records were rejected (all others are stored). CSV files
    may be comma-, semicolon-, tab- or bar-separated (detected from the header).

    Example:

    \b
        newstrace ingest articles.jsonl pages/ --db news.duckdb
        newstrace ingest us-feed.csv --db news.duckdb --date-order mdy
    """
    from newstrace.ingest import DATE_ORDERS

    field_map = parse_field_map(field)
    if date_order is not None and date_order not in DATE_ORDERS:
        raise UserError(f"--date-order {date_order!r}: expected dmy or mdy")
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UserError(f"{path}: no such file or directory")
    created = not db.exists()
    try:
        with _open_index(db, create=True) as idx, progress_bar(not quiet) as bar:
            report = idx.ingest(paths, field_map=field_map, progress=bar, date_order=date_order,
                                follow_symlinks=follow_symlinks)
    except BaseException:
        if created:
            _remove_if_empty(db)
        raise
    for where, reason in report.rejected[:20] if not quiet else []:
        err_console.print(term.text(f"rejected: {where}: {reason}", style="yellow"), soft_wrap=True)
    if len(report.rejected) > 20 and not quiet:
        err_console.print(f"rejected: ... and {len(report.rejected) - 20} more", soft_wrap=True)
    if errors is not None:
        with errors.open("w", encoding="utf-8") as fh:
            for where, reason in report.rejected:
                fh.write(json.dumps({"where": where, "reason": reason}, ensure_ascii=False) + "\n")
    console.print(term.text(f"{db}: {report.summary()}"), soft_wrap=True)
    if report.warnings and not quiet:
        console.print(
            term.text(
                f"{len(report.warnings)} record(s) stored with warnings, e.g. "
                f"{report.warnings[0][0]}: {report.warnings[0][1]}"
            ),
            soft_wrap=True,
        )
    if report.rejected:
        raise typer.Exit(2)


@app.command()
def index(
    db: Optional[Path] = typer.Option(None, "--db", help="The newstrace database file (DuckDB)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary line."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (embedded) or spark."),
    input_paths: list[str] = typer.Option(
        [], "--input", help="With --engine spark: JSONL or Parquet input (repeatable)."
    ),
    out: Optional[str] = typer.Option(
        None, "--out", help="With --engine spark: output folder (one Parquet folder per table)."
    ),
    master: str = typer.Option("local[2]", "--master", help="With --engine spark: Spark master URL."),
    boilerplate: Optional[bool] = typer.Option(
        None, "--boilerplate/--no-boilerplate",
        help="Leave page boilerplate (site templates, banal notices) out of clustering; for "
        "scraped web pages. Remembered by the database.",
    ),
) -> None:
    """Fingerprint, find candidate pairs, align, cluster and attribute new documents.

    Incremental: old pairs are never re-aligned. Safe to interrupt; run again to resume.
    With --engine spark the same pipeline runs on Spark and writes Parquet; load it
    with `newstrace load-parquet OUT --db FILE` for trace, report and serve.

    Examples:

    \b
        newstrace index --db news.duckdb
        newstrace index --db scraped.duckdb --boilerplate
        newstrace index --engine spark --input articles.jsonl --out spark-out/
    """
    if engine not in ("duckdb", "spark"):
        raise UserError(f"--engine {engine!r}: expected duckdb or spark")
    if engine == "spark":
        if not input_paths or not out:
            raise UserError("--engine spark needs --input PATH and --out DIR")
        if boilerplate:
            raise UserError("--boilerplate is not available with --engine spark yet")
        from newstrace.cli_spark import spark_index

        spark_index(input_paths, out, master=master, quiet=quiet)
        return
    if db is None:
        raise UserError("--db is required (the database to index)")
    with _open_index(db) as idx, progress_bar(not quiet) as bar:
        report = idx.build(progress=bar, boilerplate=boilerplate)
        stats = idx.stats()
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items())
    console.print(term.text(f"{db}: {report.summary()} ({timing})"))
    console.print(
        f"index: {stats['documents']} documents, {stats['passages']} passages, "
        f"{stats['clusters']} reuse clusters, {stats['families']} story families"
    )


@app.command()
def align(
    a: str = typer.Argument(..., help="First text: a file (.txt or .html), or - for stdin."),
    b: str = typer.Argument(..., help="Second text: a file, or - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON of DESIGN.md."),
    text: bool = typer.Option(False, "--text", help="A and B are the texts themselves."),
) -> None:
    """Find the reused passages between two texts, with exact character offsets.

    Example:

        newstrace align original.txt copy.txt --json
    """
    from newstrace.align import align_texts

    if a == "-" and b == "-":
        raise UserError("only one of A and B can be - (stdin)")
    ta, tb = _read_input(a, text), _read_input(b, text)
    a_id, b_id = ("a", "b") if text else (a, b)
    passages = align_texts(ta, tb, a_id=a_id, b_id=b_id)
    if as_json:
        _print_json({"passages": [p.to_dict() for p in passages]})
        return
    if not passages:
        console.print("no reused passage found")
        return
    table = Table(title=f"{len(passages)} reused passage(s)")
    for col in ("A chars", "B chars", "score", "A text"):
        table.add_column(col)
    for p in passages:
        snippet = ta[p.a_start : p.a_end]
        table.add_row(
            f"{p.a_start}-{p.a_end}", f"{p.b_start}-{p.b_end}", f"{p.score:.2f}",
            term.text(snippet[:120] + ("…" if len(snippet) > 120 else "")),
        )
    console.print(table)


_COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta"]


@app.command()
def trace(
    source: str = typer.Argument(..., help="The article to trace: a file (.txt/.html) or - for stdin."),
    db: Path = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print the trace JSON of DESIGN.md."),
) -> None:
    """Which indexed articles does this text reuse? Sentence by sentence.

    Example:

        newstrace trace suspicious.txt --db news.duckdb
    """
    with _open_index(db, read_only=True) as idx:  # refuse a missing database before reading stdin
        text = _read_input(source)
        result = idx.trace(text, query_id=source if source != "-" else "query")
    if as_json:
        _print_json(result)
        return
    print_trace(text, result)


def print_trace(text: str, result: dict[str, Any]) -> None:
    """Render a trace result in the terminal: verdict, sources legend, coloured sentences."""
    colour = {s["id"]: _COLOURS[i % len(_COLOURS)] for i, s in enumerate(result["sources"])}
    verdict = safe(trace_verdict(result))
    console.print(
        Text(verdict, style="bold")
        + Text(f": {result['coverage']:.0%} of the text reused from {len(result['sources'])} document(s)")
    )
    if result.get("self"):
        console.print(term.text(f"this article is in the index as {result['self']}"), soft_wrap=True)
    earliest = result["earliest_source"]
    if earliest:
        if isinstance(earliest, list):
            console.print(term.text(f"earliest sources (tied): {', '.join(str(e) for e in earliest)}"),
                          soft_wrap=True)
        else:
            console.print(term.text(f"earliest source: {earliest}"), soft_wrap=True)
    if result["sources"]:
        table = Table(title="sources")
        for col in ("", "id", "publisher", "published", "share", "passages"):
            table.add_column(col)
        for s in result["sources"]:
            table.add_row(
                Text("■", style=colour[s["id"]]), term.text(s["id"]), term.text(s["publisher"] or "-"),
                term.text((s["published_at"] or "undated")[:16]), f"{s['coverage']:.0%}", str(len(s["passages"])),
            )
        console.print(table)
    ev = result.get("evasion") or {}
    if ev.get("flagged"):
        kinds = sorted({c for e in ev["examples"] for c in e["chars"]})
        console.print(Text(
            f"warning: {ev['lookalike_letters']} look-alike letter(s) in {ev['lookalike_words']} "
            f"word(s) and {ev['invisible_chars']} invisible character(s) inside words "
            f"({', '.join(kinds[:3])}{', ...' if len(kinds) > 3 else ''}): "
            "a sign of evasion (spinning)", style="bold yellow"), soft_wrap=True)
    for sent in result["sentences"]:
        body = term.body(text[sent["start"] : sent["end"]])
        if sent["sources"]:
            best = sent["sources"][0]
            body.stylize(colour[best["id"]])
            label = term.text(f" [{best['id']} · {best['relation']}]", style="dim")
            subs = [e for e in best["edits"] if e["op"] == "substitute"]
            if subs:
                label.append(
                    term.clean(" " + "; ".join(f"{e['source']} → {e['replacement']}" for e in subs[:4])
                               + (f"; and {len(subs) - 4} more" if len(subs) > 4 else "")),
                    style="dim italic",
                )
            body.append_text(label)
        else:
            body.stylize("dim")
            body.append(" [no source found]", style="dim")
        console.print(body, soft_wrap=True)
    if result["edits"]:
        shown = result["edits"][:_EDITS_SHOWN]
        more = len(result["edits"]) - len(shown)
        console.print(
            term.text(
                "substitutions: "
                + "; ".join(f"{e['source']} → {e['replacement']} ×{e['count']}" for e in shown)
                + (f"; and {more} more (--json lists all)" if more else "")
            ),
            soft_wrap=True,
        )


_EDITS_SHOWN = 12


def trace_verdict(result: dict[str, Any]) -> str:
    """The one-line verdict of a trace: classification, composite, spun."""
    parts = [result["classification"]]
    if result.get("composite"):
        parts.append("composite")
    if (result.get("spin") or {}).get("spun"):
        parts.append(f"spun (spin score {result['spin']['score']:.1f})")
    return ", ".join(parts)


@app.command()
def clusters(
    db: Path = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(20, "--limit", help="Show at most this many clusters (0: all)."),
    members: int = typer.Option(
        10, "--members", help="Show at most this many documents per cluster (0: all; --json lists all)."),
) -> None:
    """Reuse clusters: one passage and all its copies, earliest first; one row per document.

    Example:

        newstrace clusters --db news.duckdb --limit 10 --members 0
    """
    with _open_index(db, read_only=True) as idx:
        found = idx.clusters(limit=limit or None)
    if as_json:
        _print_json({"clusters": found})
        return
    if not found:
        console.print("no reuse clusters (run `newstrace index` first?)")
        return
    for c in found:
        console.print(
            f"[bold]cluster {c['cluster_id']}[/bold]: {c['n_docs']} documents, "
            f"earliest {safe(c['earliest_id'])} ({safe((c['earliest_at'] or 'undated')[:16])})"
        )
        snippet = c["text"][:200] + ("…" if len(c["text"]) > 200 else "")
        console.print(term.text("  “" + snippet.replace("\n", " ") + "”", style="italic"))
        shown = c["members"] if members <= 0 else c["members"][:members]
        for m in shown:
            spans = m.get("spans") or [[m["start"], m["end"]]]
            where = f"chars {spans[0][0]}-{spans[0][1]}" + (
                f" (+{len(spans) - 1} more span{'s' if len(spans) > 2 else ''})" if len(spans) > 1 else "")
            console.print(
                term.text(f"   {(m['published_at'] or 'undated')[:16]:16}  {m['id']}  {m['publisher'] or '-'}  {where}")
            )
        if len(shown) < len(c["members"]):
            console.print(Text(f"   … and {len(c['members']) - len(shown)} more document(s) (--members 0 lists all)",
                               style="dim"))


@app.command()
def show(
    doc_id: str = typer.Argument(..., help="The document id."),
    db: Path = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One document with its reused spans highlighted.

    Example:

        newstrace show copy-07 --db news.duckdb
    """
    with _open_index(db, read_only=True) as idx:
        doc = idx.document(doc_id)
    if as_json:
        _print_json(doc)
        return
    console.print(term.text(f"{doc['id']} · {doc['publisher'] or '-'} · {doc['published_at'] or 'undated'}", style="bold"))
    if doc["title"]:
        console.print(term.text(doc["title"], style="bold"))
    body = term.body(doc["text"])
    for p in doc["passages"]:
        body.stylize("reverse", p["start"], p["end"])
    console.print(body)
    table = Table(title=f"{len(doc['passages'])} reused passage(s)")
    for col in ("chars", "other document", "publisher", "published", "other chars", "score"):
        table.add_column(col)
    for p in doc["passages"]:
        table.add_row(
            f"{p['start']}-{p['end']}", term.text(p["other_id"]), term.text(p.get("other_publisher") or "-"),
            term.text((p.get("other_published_at") or "undated")[:16]),
            f"{p['other_start']}-{p['other_end']}", f"{p['score']:.2f}",
        )
    console.print(table)


@app.command()
def stats(db: Path = DbOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts: documents, pairs, passages, clusters.

    Example:

        newstrace stats --db news.duckdb
    """
    with _open_index(db, read_only=True) as idx:
        s = idx.stats()
    if as_json:
        _print_json(s)
    else:
        for k, v in s.items():
            console.print(term.text(f"{k:22} {v}"))


@app.command("params")
def params_cmd(
    db: Optional[Path] = typer.Option(
        None, "--db", help="The database whose parameters to show (default: the built-in defaults)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON {name: value}."),
) -> None:
    """The parameters in force: defaults, then those stored by the last build, then
    newstrace.toml beside the database, then --set.

    Examples:

        newstrace params --db news.duckdb

        newstrace params --db news.duckdb --set min_density=0.5 --json
    """
    from newstrace.params import CONFIG_NAME, DEFAULT_PARAMS, PARAMS, resolve
    from newstrace.store import get_meta

    stored = None
    config = None
    if db is not None:
        if not db.exists():
            raise UserError(f"{db}: no such database")
        with _open_index(db, read_only=True) as idx:
            stored = get_meta(idx.con, "params")
        config = db.parent / CONFIG_NAME
    params, origin = resolve(stored, config, param_overrides())
    if as_json:
        _print_json({name: getattr(params, name) for name, _, _ in PARAMS})
        return
    table = Table(title="parameters", title_justify="left")
    for col in ("name", "value", "default", "from", "meaning"):
        table.add_column(col, overflow="fold")
    for name, _default, doc in PARAMS:
        value = getattr(params, name)
        table.add_row(name, term.text(value), str(getattr(DEFAULT_PARAMS, name)),
                      term.text(origin.get(name, "default")), doc)
    console.print(table)


@app.command()
def report(
    db: Path = DbOption,
    out: Path = typer.Option(..., "--out", help="Folder for the static HTML report."),
) -> None:
    """Write a static HTML report (opens without a server).

    Example:

        newstrace report --db news.duckdb --out report/
    """
    from newstrace.report import write_report

    with _open_index(db, read_only=True) as idx:
        path = write_report(idx, out)
    console.print(term.text(f"report written to {path}"))


@app.command()
def demo(
    db: Path = typer.Option(Path("demo.duckdb"), "--db", help="Database to create."),
    out: Path = typer.Option(Path("demo-report"), "--out", help="Folder for the HTML report."),
) -> None:
    """Build an index of the bundled demo corpus, print a summary and write a report.

    Example:

        newstrace demo --db demo.duckdb --out demo-report
    """
    from newstrace.demo import run_demo

    run_demo(db, out, console=console, progress=progress_bar)


def _register_extensions() -> None:
    """Commands that live in their own modules (evaluation, web, spark...)."""
    import importlib

    for name in ("newstrace.cli_eval", "newstrace.cli_web", "newstrace.cli_spark", "newstrace.cli_watch"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as ex:
            if ex.name == name:
                continue
            raise
        module.register(app)


_register_extensions()


def _chain(ex: BaseException) -> Iterator[BaseException]:
    """``ex`` and the exceptions it was raised from or during, innermost last."""
    seen: set[int] = set()
    cur: BaseException | None = ex
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _interrupted(ex: BaseException) -> bool:
    """Ctrl-C, also when it surfaces as click's Abort, a numba ``SystemError`` or DuckDB's own."""
    import duckdb

    return any(isinstance(e, (KeyboardInterrupt, duckdb.InterruptException)) for e in _chain(ex))


def classify(ex: BaseException) -> UserError | None:
    """The one-line ``UserError`` for a failure a user can meet (disk full, damaged database),
    or None when ``ex`` is not one of those."""
    import errno

    import duckdb

    from newstrace.errors import DatabaseDamaged, NoSpaceLeft
    from newstrace.store import open_error

    db = _state.get("db")
    for e in _chain(ex):
        if isinstance(e, UserError):
            return e
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            where = e.filename or db or "disk"
            return NoSpaceLeft(f"{where}: no space left on device",
                               hint="free some space and run the same command again to resume")
        if isinstance(e, duckdb.Error):
            err = open_error(Path(db or "database"), e, existed=True)
            if isinstance(err, (NoSpaceLeft, DatabaseDamaged)):
                return err
    return None


def _fail(ex: UserError) -> None:
    err_console.print(term.text(f"Error: {ex}", style="red"), soft_wrap=True)
    if ex.hint:
        err_console.print(term.text(ex.hint), soft_wrap=True)
    sys.exit(ex.exit_code)


def _interrupt() -> None:
    from newstrace.errors import EXIT_INTERRUPTED

    err_console.print("Interrupted; run the same command again to resume.")
    sys.exit(EXIT_INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every failure to one line and an exit code.

    Exit codes are listed in ``newstrace.errors`` (and the README); ``--traceback``
    re-raises instead.
    """
    try:
        args = _hoist_sets(list(sys.argv[1:] if argv is None else argv))
        code = app(args=args, standalone_mode=False, prog_name="newstrace")
    except click.exceptions.Abort as ex:
        if _state["traceback"]:
            raise
        if _interrupted(ex):
            _interrupt()
        err_console.print("Aborted.")
        sys.exit(1)
    except click.ClickException as ex:
        ex.show()
        sys.exit(1 if ex.exit_code == 2 else ex.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except (SystemExit, click.exceptions.Exit):
        raise
    except BaseException as ex:  # noqa: BLE001 - every failure becomes one line
        if _state["traceback"]:
            raise
        if _interrupted(ex):
            _interrupt()
        err = classify(ex)
        if err is not None:
            _fail(err)
        if not isinstance(ex, Exception):
            raise
        first = (str(ex).splitlines() or [""])[0][:200]
        _fail(UserError(f"internal error ({type(ex).__name__}: {first})",
                        hint="run again with --traceback for details, and please report it"))
    if code == 130:  # typer turns Ctrl-C into a silent Exit(130)
        _interrupt()
    sys.exit(code or 0)
