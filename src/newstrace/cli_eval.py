"""``newstrace eval pan|basil`` and ``newstrace synth``: thin wrappers over evaluate/synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from newstrace.errors import UserError
from newstrace.term import SafeConsole
from newstrace.term import text as term_text

eval_app = typer.Typer(help="Measure the engine against ground truth.", no_args_is_help=True)


def _types(value: str | None) -> list[str] | None:
    return [t.strip() for t in value.split(",") if t.strip()] if value else None


def pan_table(run: Any, title: str = "PAN text alignment") -> Table:
    """A rich table of a ``PanRun``: one row per obfuscation type, then overall."""
    t = Table(title=title)
    for col in ("type", "pairs", "cases", "dets", "precision", "recall", "granularity", "plagdet"):
        t.add_column(col, justify="left" if col == "type" else "right")
    ev = run.evaluation
    for name, s in [*ev.by_type.items(), ("overall", ev.overall)]:
        t.add_row(
            name,
            str(s.pairs),
            str(s.cases),
            str(s.detections),
            f"{s.precision:.4f}",
            f"{s.recall:.4f}",
            f"{s.granularity:.4f}",
            f"{s.plagdet:.4f}",
            style="bold" if name == "overall" else None,
        )
    return t


@eval_app.command("pan")
def eval_pan(
    directory: Annotated[Path, typer.Argument(help="A directory in the pan13-train layout.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most N pairs of each type.")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
    types: Annotated[
        str | None, typer.Option("--types", help="Comma-separated types only.")
    ] = None,
    detections: Annotated[
        Path | None,
        typer.Option(
            "--detections", help="Also write the detections JSONL (pan_measures.py format)."
        ),
    ] = None,
    sensitive: Annotated[
        bool,
        typer.Option(
            "--sensitive",
            help="Recall-oriented preset: the lax stages without their topic test "
            "(topic_contrast 0: a little more reworded text found, and much more "
            "same-event paraphrase between independent articles).",
        ),
    ] = False,
    no_join: Annotated[
        bool,
        typer.Option(
            "--no-join",
            help="Report the engine's passages as they are, without joining a pair's "
            "detections that lie within 200 / 400 chars (suspicious / source) of each other.",
        ),
    ] = False,
) -> None:
    """Align every (suspicious, source) pair of DIR and print PAN's measures per type.

    Precision is averaged over detections, recall over true cases;
    plagdet = F1 / log2(1 + granularity). Also prints detections on negative
    (`none`) pairs and CPU seconds per pair.

    Example:

        newstrace eval pan ../shared/data/pan13-train --limit 100
    """
    from newstrace.evaluate import PAN_JOIN_A, PAN_JOIN_B, run_pan, sensitive_params

    run = run_pan(
        directory, params=sensitive_params() if sensitive else None, workers=workers,
        limit=limit, types=_types(types), detections_out=detections,
        join=(-1, -1) if no_join else (PAN_JOIN_A, PAN_JOIN_B),
    )
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=1))
        return
    console = SafeConsole()
    console.print(pan_table(run))
    console.print(
        f"negative pairs: {run.negative_pairs}, detections on them: {run.negative_detections} "
        f"({run.negative_pairs_hit} pairs)\n"
        f"CPU s per pair: {run.cpu_s_per_pair:.4f} (workers, all included), "
        f"{run.align_cpu_s_per_pair:.4f} (aligning only); {run.workers} workers, "
        f"wall {run.wall_s:.1f} s"
    )
    if run.evaluation.unlisted_detections or run.evaluation.empty_detections:
        console.print(f"ignored detections: {run.evaluation.empty_detections} of zero length")


@eval_app.command("basil")
def eval_basil(
    path: Annotated[Path, typer.Argument(help="basil.jsonl.gz (event, outlet, text per article).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="The first N events only.")] = None,
    sensitive: Annotated[
        bool, typer.Option("--sensitive", help="The recall-oriented preset (as for eval pan).")
    ] = False,
) -> None:
    """Align the cross-outlet pairs of each event; list every passage found.

    The articles were written independently, so each passage should be a shared
    quotation; the target is no derived pair.

    Example:

        newstrace eval basil ../shared/data/basil.jsonl.gz
    """
    from newstrace.evaluate import run_basil, sensitive_params

    run = run_basil(path, params=sensitive_params() if sensitive else None, limit=limit)
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=1))
        return
    console = SafeConsole()
    t = Table(title=f"BASIL: {run.pairs} cross-outlet pairs of {run.events} events")
    for col in ("pair", "score", "quoted", "a", "b"):
        t.add_column(col, overflow="fold")
    for p in run.passages:
        t.add_row(
            term_text(f"{p['a_outlet']}/{p['b_outlet']} {p['event'][:8]}"),
            f"{p['score']:.2f}",
            f"{min(p['a_quoted'], p['b_quoted']):.0%}",
            term_text(p["a_text"]),
            term_text(p["b_text"]),
        )
    console.print(t)
    console.print(
        f"pairs with a passage: {run.pairs_with_passages} of {run.pairs}; "
        f"passages: {len(run.passages)}, {run.quoted_passages} mostly quoted; "
        f"pairs with an unquoted passage: {run.pairs_with_unquoted}; "
        f"pairs called derived: {run.pairs_called_derived} (target 0)"
    )


def synth(
    corpus: Annotated[
        Path, typer.Argument(help="JSONL(.gz) with id, text, optional published_at.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write (pan13-train layout).")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same output.")] = 0,
    rate: Annotated[
        float, typer.Option("--rate", help="Share of words spun in `spin` pairs.")
    ] = 0.3,
    sources: Annotated[
        int, typer.Option("--sources", help="Articles stitched into a composite.")
    ] = 3,
    count: Annotated[
        int, typer.Option("--count", help="Pairs per type (composite: documents).")
    ] = 100,
    types: Annotated[
        str | None, typer.Option("--types", help="Comma-separated types only.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Derive a PAN-like test set with exact ground truth from a corpus.

    Types: verbatim, spin (WordNet synonyms at --rate), reorder, insert,
    delete, composite (of --sources articles, dated after them), none
    (unrelated pairs). Score it with `newstrace eval pan OUT`.

    Example:

        newstrace synth ../shared/data/reuters21578.jsonl.gz --out synth-r03 --seed 1 --rate 0.3
    """
    from newstrace.synth import read_corpus, synthesize

    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    rep = synthesize(
        read_corpus(corpus),
        out,
        seed=seed,
        rate=rate,
        sources=sources,
        count=count,
        types=_types(types),
    )
    if as_json:
        typer.echo(json.dumps(rep.to_dict(), indent=1))
        return
    console = SafeConsole()
    t = Table(title=term_text(f"synth -> {rep.out}"))
    t.add_column("type")
    t.add_column("pairs", justify="right")
    for k, v in rep.pairs.items():
        t.add_row(k, str(v))
    console.print(t)
    console.print(f"{rep.documents} documents; words spun: {rep.spin_rate:.3f}")


def register(app: typer.Typer) -> None:
    """Add the ``eval`` sub-app and the ``synth`` command to the main CLI."""
    app.add_typer(eval_app, name="eval")
    app.command("synth")(synth)


__all__ = ["eval_app", "pan_table", "register"]
