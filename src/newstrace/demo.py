"""``newstrace demo``: ingest the bundled demo corpus, build the index, summarise, report."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from newstrace.fixtures import write_demo_corpus
from newstrace.index import Index


def run_demo(
    db: Path,
    out: Path,
    console: Console | None = None,
    progress: Callable[[bool], AbstractContextManager[Any]] | None = None,
) -> dict[str, Any]:
    """Write the demo corpus, ingest it into ``db``, build, print a summary, write a report.

    Returns:
        ``Index.stats()`` of the built demo index.
    """
    from newstrace.report import write_report

    console = console or Console()
    if not aligner_compiled():
        console.print("compiling the aligner, first run only (about a minute on two cores)…")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "demo_corpus.jsonl"
        n = write_demo_corpus(corpus)
        console.print(f"demo corpus: {n} articles (originals, reprints, spun copies, composites)")
        with Index.open(db) as idx:
            if progress is not None:
                with progress(True) as bar:
                    ingest = idx.ingest([corpus], progress=bar)
                    build = idx.build(progress=bar)
            else:
                ingest = idx.ingest([corpus])
                build = idx.build()
            console.print(f"ingest: {ingest.summary()}")
            console.print(f"index: {build.summary()}")
            stats = idx.stats()
            _print_summary(idx, stats, console)
            path = write_report(idx, out)
    console.print(f"HTML report: {path}")
    return stats


def aligner_compiled() -> bool:
    """Whether numba's cache already holds the compiled aligner: False means the first
    alignment compiles it (a minute or two), which is worth saying before it starts."""
    from numba.core.registry import CPUDispatcher

    import newstrace.align as align

    paths = [
        getattr(getattr(getattr(fn, "_cache", None), "_cache_file", None), "_index_path", None)
        for fn in vars(align).values()
        if isinstance(fn, CPUDispatcher)
    ]
    found = [str(p) for p in paths if p]
    if not found:
        return True  # caching off (e.g. NUMBA_DISABLE_JIT): nothing to announce
    return sum(os.path.exists(p) for p in found) >= 0.75 * len(found)


def _print_summary(idx: Index, stats: dict[str, Any], console: Console) -> None:
    console.print(
        f"[bold]{stats['documents']} documents[/bold], {stats['passages']} reused passages, "
        f"{stats['clusters']} reuse clusters, {stats['families']} story families"
    )
    table = Table(title="most reused passages")
    for col in ("cluster", "copies", "earliest source", "publisher", "passage"):
        table.add_column(col)
    for c in idx.clusters(limit=8):
        first = c["members"][0]
        snippet = c["text"].replace("\n", " ")
        table.add_row(
            str(c["cluster_id"]), str(c["n_docs"]), Text(c["earliest_id"] or "-"),
            Text(first["publisher"] or "-"), Text(snippet[:90] + ("…" if len(snippet) > 90 else "")),
        )
    console.print(table)
