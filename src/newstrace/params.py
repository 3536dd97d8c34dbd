"""Every tunable parameter, with one name everywhere (Params field, ``--set``, meta table).

The parameters an index is built with are stored in its ``meta`` table and read
back when it is opened, so ``trace``, ``serve`` and ``report`` use what ``index``
used. ``resolve`` layers the sources, each overriding the one before:

1. the defaults below;
2. the parameters stored in the database by its last build;
3. ``newstrace.toml`` beside the database (a ``[params]`` table);
4. ``--set name=value`` on the command line (or ``overrides`` in the API).

The *index* parameters (``Params.index_signature``) cannot change once postings
are stored: opening the index with other values raises ``IncompatibleIndex``.
"""

from __future__ import annotations

import ast
import inspect
import json
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from newstrace.errors import UserError

#: The configuration file read beside a database.
CONFIG_NAME = "newstrace.toml"

#: Bump when tokenisation or hashing changes: stored postings become invalid.
NORMALISER_VERSION = 3


@dataclass(frozen=True)
class Params:
    # -- fingerprinting / candidates (index parameters) --
    ngram_tokens: int = 3
    """Word n-gram length for candidate fingerprints (shorter finds more spun copies)."""
    max_doc_freq: int = 60
    """Fingerprints seen in more documents than this are boilerplate: ignored for candidates."""
    min_shared_ngrams: int = 3
    """A document pair becomes a candidate when it shares at least this many fingerprints."""
    stem: bool = True
    """Match word stems (Snowball English), so 'reports'/'reported' match."""
    near_dup_threshold: float = 0.7
    """Documents whose estimated Jaccard similarity (MinHash over their fingerprints) with
    an earlier document reaches this are its near duplicates (``neardup``): they post only
    the fingerprints it lacks, so ``max_doc_freq`` counts distinct texts, not reprints, and
    each is paired with its group instead of with every other copy (0: off)."""
    max_pairs_per_doc: int = 50
    """Evidence cap on candidates: a pair is kept when each document is among the other's
    ``max_pairs_per_doc`` partners with the most shared fingerprints, for at least one of
    the two (ties: lower key), so candidates stay linear in the corpus (0: no cap)."""

    # -- alignment --
    seed_max_occurrences: int = 8
    """A seed word/bigram occurring more often than this in a document is too common to seed."""
    max_gap_tokens: int = 16
    """Largest run of unmatched tokens a passage may bridge (substitutions, insertions)."""
    merge_gap_tokens: int = 40
    """Consecutive passages closer than this on both sides are merged into one."""
    min_matched_tokens: int = 15
    """A passage must match at least this many tokens on each side."""
    min_density: float = 0.45
    """Share of a passage's tokens that must be matched, on each side."""
    snap_tokens: int = 4
    """Extend a passage to the sentence edges when both sides are this close (0: never)."""
    sent_min_shared: int = 4
    """Sentence stage: two sentences are similar when they share this many content words..."""
    sent_min_dice: float = 0.35
    """...and their Dice coefficient over content words (idf-weighted) is at least this."""
    sent_max_gap: int = 5
    """Similar sentence pairs this many sentences apart (both sides) are chained."""
    sent_min_seeds: int = 3
    """A chain of this many similar sentence pairs is a passage (2 when very similar;
    0: no sentence stage)."""
    summary_gap_tokens: int = 40
    """Passages this close in the first text, spread over a B span ``summary_ratio`` times
    longer, are one summarised passage (0: never merge)."""
    summary_ratio: float = 2.0
    """See ``summary_gap_tokens``."""
    relax_strong_tokens: int = 0
    """A pair with a passage of this many matched tokens is aligned again with the
    relaxed thresholds below (hysteresis: strict to start, lax to continue; 0: never)."""
    relax_density: float = 0.3
    """``min_density`` of the relaxed pass."""
    relax_dice: float = 0.28
    """``sent_min_dice`` of the relaxed pass."""
    sparse_min_matched: int = 40
    """A passage matching this many tokens needs only ``relax_density`` (0: never)."""
    sentence_seeds: bool = True
    """Sentence-seed stage (after Sanchez-Perez, Gelbukh & Sidorov, PAN 2014): sentence
    pairs with cosine >= ``sp_min_cos`` and weighted Dice >= ``sp_min_dice`` are seeds,
    clustered by sentence gaps into passages, with the paper's lax thresholds; same-event
    news stays apart through ``topic_contrast``."""
    sp_min_cos: float = 0.33
    """Sentence-seed stage: least cosine of a seed sentence pair (the paper's 0.33; guarded
    by ``topic_contrast``)."""
    sp_min_dice: float = 0.33
    """Sentence-seed stage: least weighted Dice of a seed sentence pair (the paper: 0.33)."""
    sp_max_gap: int = 4
    """Sentence-seed stage: seeds more than this many sentences apart (either side) split."""
    sp_summary_gap: int = 40
    """Sentence-seed stage, summary mode: this larger sentence gap on the B side, for
    fragments whose B span is ``summary_ratio`` times their A span (0: no summary mode)."""
    sp_min_tokens: int = 30
    """Sentence-seed stage: least length of a fragment (tokens, each side)."""
    sp_min_cover: float = 0.5
    """Sentence-seed stage: least share of a fragment's sentences holding a seed (each
    side; A only for summary-shaped fragments)."""
    short_min_matched: int = 14
    """Short-fragment rule: an exact-run passage matching fewer than ``min_matched_tokens``
    but at least this many tokens still passes when it holds ``short_min_runs`` exact
    runs of 3+ tokens (0: off)."""
    short_min_runs: int = 5
    """See ``short_min_matched``."""
    bag_extend_density: float = 0.5
    """Bag extension: grow each passage's sides over neighbouring text whose content
    words the other side's span still lacks (any order: clauses moved across
    sentences), while this share of its content words match; a reworded side cut inside
    a sentence then takes the rest of it when its words occur in the other span. A
    passage mostly inside quotation marks (a shared quotation) does not grow: the
    attribution and paraphrase around it are each reporter's own (0: off)."""
    topic_contrast: float = 0.12
    """Topic test for the lax stages (sentence-seed fragments, short fragments): a
    fragment passes only when the cosine of its content words (both spans) exceeds
    the cosine of the two whole documents by this much. Reuse makes a passage more
    alike than the documents are; independent reports of one event are alike
    throughout (0: off)."""
    summary_contrast: float = 0.18
    """Whole-text summaries (``align._summary_rows``): a block of A about 100 tokens long
    is a summary of B when its content-word cosine with the whole of B exceeds, by this
    margin, both the whole of A's and the neighbouring blocks', and it keeps some of B's
    word pairs (0: off)."""

    # -- trace / provenance --
    max_trace_candidates: int = 50
    """Documents aligned per trace query (ranked by shared fingerprints)."""
    wholly_derived: float = 0.8
    """Share of a document's characters reused from others to call it wholly derived."""
    partially_derived: float = 0.1
    """Share above which a document is partially derived (below: not derived)."""

    def index_signature(self) -> dict[str, Any]:
        """The parameters an index's stored state depends on."""
        return {
            "ngram_tokens": self.ngram_tokens,
            "stem": self.stem,
            "normaliser_version": NORMALISER_VERSION,
            "hash": "xxh64",
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def with_overrides(self, **overrides: Any) -> Params:
        known = {f.name for f in fields(self)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(f"unknown parameter(s): {', '.join(bad)}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


DEFAULT_PARAMS = Params()


def _field_docs() -> dict[str, str]:
    """Each field's docstring (the string literal under it in the class body)."""
    try:
        tree = ast.parse(inspect.getsource(Params))
    except (OSError, TypeError):  # source not shipped: help stays empty
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


#: (name, default, help) for docs, ``newstrace params`` and --help.
PARAMS: list[tuple[str, Any, str]] = [
    (f.name, getattr(DEFAULT_PARAMS, f.name), doc)
    for f, doc in ((f, _field_docs().get(f.name, "")) for f in fields(Params))
]

_TYPES = {f.name: str(f.type) for f in fields(Params)}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def convert(name: str, value: Any, where: str) -> Any:
    """``value`` as the type of field ``name``; ``where`` names the source in errors."""
    kind = _TYPES.get(name)
    if kind is None:
        raise UserError(f"{where}: unknown parameter {name!r}",
                        hint="newstrace params --db FILE lists them")
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: {name} must be {kind}, got {value!r}") from None
    return value


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``--set name=value`` options -> ``{name: typed value}``, each name checked."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set {item!r}: expected NAME=VALUE, e.g. min_density=0.5")
        name = name.strip()
        out[name] = convert(name, value.strip(), f"--set {item!r}")
    return out


def read_config(path: Path) -> dict[str, Any]:
    """The ``[params]`` table of a ``newstrace.toml`` file, values checked and typed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as ex:
        raise UserError(f"{path}: cannot read ({ex.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as ex:
        raise UserError(f"{path}: not valid TOML ({ex})") from None
    table = data.get("params", {})
    if not isinstance(table, dict):
        raise UserError(f"{path}: [params] must be a table of name = value")
    extra = sorted(set(data) - {"params"})
    if extra:
        raise UserError(f"{path}: unknown section or key {extra[0]!r}",
                        hint="parameters go in a [params] table")
    return {name: convert(name, value, f"{path}: [params] {name}") for name, value in table.items()}


def stored_values(text: str | None) -> dict[str, Any]:
    """Parameters stored in an index's meta table; fields this version lacks are ignored."""
    if not text:
        return {}
    try:
        data = json.loads(text) if isinstance(text, str) else dict(text)
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in _TYPES}


def resolve(stored: str | None, config: Path | None,
            overrides: Mapping[str, Any] | None = None) -> tuple[Params, dict[str, str]]:
    """The parameters in force and, per parameter not at its default, where it came from."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    layers: list[tuple[str, Mapping[str, Any]]] = [("index", stored_values(stored))]
    if config is not None and config.is_file():
        layers.append((str(config), read_config(config)))
    layers.append(("--set", dict(overrides or {})))
    for source, layer in layers:
        for name, value in layer.items():
            values[name] = convert(name, value, source)
            origin[name] = source
    params = replace(DEFAULT_PARAMS, **values)
    origin = {k: v for k, v in origin.items() if getattr(params, k) != getattr(DEFAULT_PARAMS, k)
              or v != "index"}
    return params, origin
