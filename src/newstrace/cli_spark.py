"""``newstrace spark-index`` and ``newstrace load-parquet``: the Spark engine from the CLI.

pyspark is imported only when ``spark-index`` runs (it is an optional extra);
``load-parquet`` needs only DuckDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from newstrace.errors import UserError
from newstrace.term import SafeConsole
from newstrace.term import text as term_text

console: Console = SafeConsole()
err_console: Console = SafeConsole(stderr=True)


def spark_index(
    input_paths: list[str],
    out: str,
    master: str = "local[2]",
    partitions: Optional[int] = None,
    overwrite: bool = False,
    quiet: bool = False,
    field_map: Optional[dict[str, str]] = None,
) -> None:
    """Run the Spark engine and print its summary (shared by ``spark-index`` and
    ``index --engine spark``)."""
    from newstrace.spark import unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise UserError(f"--engine spark: {reason}")
    from newstrace.spark.jobs import index_with_spark

    log = None if quiet else (lambda msg: err_console.print(term_text(msg)))
    report = index_with_spark(
        input_paths, out, master=master, partitions=partitions, overwrite=overwrite,
        log=log, field_map=field_map,
    )
    console.print(term_text(f"{out}: {report.summary()}"))
    if report.rejected:
        err_console.print(f"rejected records are listed in {out}/rejected/ (Parquet: where, reason)")
        raise typer.Exit(2)


def _field_map(field: list[str]) -> dict[str, str]:
    from newstrace.cli import parse_field_map

    return parse_field_map(field)


def register(app: typer.Typer) -> None:
    @app.command("spark-index")
    def spark_index_cmd(
        input_paths: list[str] = typer.Option(
            ..., "--input", help="JSON Lines (.gz ok) or Parquet file/folder; repeat for several."
        ),
        out: str = typer.Option(..., "--out", help="Output folder: one Parquet folder per table."),
        master: str = typer.Option("local[2]", "--master", help="Spark master URL."),
        partitions: Optional[int] = typer.Option(
            None, "--partitions", help="Parallelism of the heavy stages (default 2 x cores)."
        ),
        field: list[str] = typer.Option(
            [], "--field", help="Map a field to a column of yours, e.g. --field published_at=pubdate."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary line."),
    ) -> None:
        """Index articles with the Spark engine (same results as `newstrace index`).

        Writes OUT/documents, postings, pairs, passages, clusters, cluster_members,
        families, edges, doc_provenance, substitutions, cluster_provenance (Parquet). Load them with `newstrace load-parquet OUT --db FILE` to
        trace, report and browse. Exit code 2 when some records were rejected.

        Example:

            newstrace spark-index --input articles.jsonl.gz --out spark-out --master local[2]
        """
        spark_index(input_paths, out, master=master, partitions=partitions,
                    overwrite=overwrite, quiet=quiet, field_map=_field_map(field))

    @app.command("load-parquet")
    def load_parquet_cmd(
        out_dir: Path = typer.Argument(..., help="The --out folder of `newstrace spark-index`."),
        db: Path = typer.Option(..., "--db", help="A new newstrace database file (DuckDB)."),
    ) -> None:
        """Load Spark engine output into a newstrace database (trace/report/web work on it).

        Example:

            newstrace load-parquet spark-out --db news.duckdb
        """
        from newstrace.spark.load import load_parquet

        counts = load_parquet(out_dir, db)
        seconds = counts.pop("seconds", 0)
        console.print(term_text(
            f"{db}: loaded {counts['documents']} documents, {counts['passages']} passages, "
            f"{counts['clusters']} clusters from {out_dir} ({seconds:.1f}s)"
        ))
