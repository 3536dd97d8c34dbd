"""The newstrace pipeline on Spark DataFrames: same stages, same code, same results.

Stages (each writes one Parquet folder under ``out``, named like the DuckDB table):

1. **ingest** -- JSONL lines (or Parquet rows) are validated by
   ``newstrace.ingest.make_document`` inside ``mapInArrow``; the first record of
   an id wins (a later one with other content is rejected), and ``doc_key`` is
   the rank of the record's line, exactly as the DuckDB engine numbers documents.
2. **fingerprint** -- ``tokenize_text`` + ``document_fingerprints`` per document
   (``mapInArrow``); tokens travel on as packed binary columns.
3. **candidates** -- Spark SQL, the rule of ``newstrace.candidates``: fingerprints
   in 2..``max_doc_freq`` documents; pairs ``a_key < b_key`` sharing at least
   ``min_shared_ngrams`` of them.
4. **align** -- the compiled aligner ``align_tokens`` + ``rows_to_passages`` per
   pair (``mapInArrow``), ``a`` = the document with the smaller key.
5. **cluster** -- the rule of ``newstrace.cluster``: passages that link (score
   ``CLUSTER_MIN_SCORE`` or more, not a shared quotation) are swept into segments
   per document (``SegmentSweep``); connected components of the segment graph by the
   large-star/small-star method (Kiveris et al., SoCC 2014) on DataFrames, lineage
   cut by ``localCheckpoint`` each round, only to put whole components into one
   partition, where ``cluster.passage_clusters`` grows the clusters from their
   representatives; clusters ranked and summarised as in ``Index._cluster``; story
   families on documents joined by any passage. (Page boilerplate is not stripped by
   this engine yet.)
6. **provenance** -- ``edges``, ``doc_provenance``, ``substitutions`` and
   ``cluster_provenance`` with the pure steps of ``newstrace.corpus_provenance``
   (per pair, per target document, per cluster; see ``newstrace.spark.provenance``).

Run it with ``newstrace spark-index --input PATH --out DIR [--master URL]``, or on a
cluster ``spark-submit --master yarn -m newstrace.spark.jobs --input ... --out ...``
(see the README), then ``newstrace load-parquet DIR --db FILE``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from newstrace.errors import UserError
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.spark.load import MANIFEST, TABLE_COLUMNS

LogFn = Callable[[str], None]

# ------------------------------------------------------------------------------ schemas

_PARSED = T.StructType(
    [
        T.StructField("_line", T.LongType()),
        T.StructField("where", T.StringType()),
        T.StructField("reason", T.StringType()),
        T.StructField("id", T.StringType()),
        T.StructField("url", T.StringType()),
        T.StructField("publisher", T.StringType()),
        T.StructField("published_at", T.TimestampNTZType()),
        T.StructField("title", T.StringType()),
        T.StructField("text", T.StringType()),
        T.StructField("content_hash", T.StringType()),
        T.StructField("n_chars", T.IntegerType()),
    ]
)
_PARSED_ARROW = pa.schema(
    [
        ("_line", pa.int64()), ("where", pa.string()), ("reason", pa.string()),
        ("id", pa.string()), ("url", pa.string()), ("publisher", pa.string()),
        ("published_at", pa.timestamp("us")), ("title", pa.string()), ("text", pa.string()),
        ("content_hash", pa.string()), ("n_chars", pa.int32()),
    ]
)

_TOKENS = T.StructType(
    [
        T.StructField("doc_key", T.IntegerType()),
        T.StructField("n_tokens", T.IntegerType()),
        T.StructField("n_ngrams", T.IntegerType()),
        T.StructField("hashes", T.ArrayType(T.LongType())),
        T.StructField("ids", T.BinaryType()),
        T.StructField("stop", T.BinaryType()),
        T.StructField("starts", T.BinaryType()),
        T.StructField("ends", T.BinaryType()),
        T.StructField("sig", T.ArrayType(T.LongType())),
        T.StructField("bands", T.ArrayType(T.LongType())),
    ]
)
_TOKENS_ARROW = pa.schema(
    [
        ("doc_key", pa.int32()), ("n_tokens", pa.int32()), ("n_ngrams", pa.int32()),
        ("hashes", pa.list_(pa.int64())), ("ids", pa.binary()), ("stop", pa.binary()),
        ("starts", pa.binary()), ("ends", pa.binary()),
        ("sig", pa.list_(pa.int64())), ("bands", pa.list_(pa.int64())),
    ]
)

_PASSAGE_FIELDS = [
    ("a_key", T.IntegerType(), pa.int32()), ("b_key", T.IntegerType(), pa.int32()),
    ("a_id", T.StringType(), pa.string()), ("b_id", T.StringType(), pa.string()),
    ("a_start", T.IntegerType(), pa.int32()), ("a_end", T.IntegerType(), pa.int32()),
    ("b_start", T.IntegerType(), pa.int32()), ("b_end", T.IntegerType(), pa.int32()),
    ("score", T.DoubleType(), pa.float64()), ("a_tokens", T.IntegerType(), pa.int32()),
    ("b_tokens", T.IntegerType(), pa.int32()), ("matched_tokens", T.IntegerType(), pa.int32()),
]
_PASSAGES = T.StructType([T.StructField(n, t) for n, t, _ in _PASSAGE_FIELDS])
_PASSAGES_ARROW = pa.schema([(n, a) for n, _, a in _PASSAGE_FIELDS])

_SEGMENTS = T.StructType(
    [
        T.StructField("passage_id", T.LongType()),
        T.StructField("side", T.ByteType()),
        T.StructField("seg_id", T.LongType()),
    ]
)
_SEGMENTS_ARROW = pa.schema([("passage_id", pa.int64()), ("side", pa.int8()), ("seg_id", pa.int64())])

_QUOTED = T.StructType([T.StructField("passage_id", T.LongType()), T.StructField("quoted", T.BooleanType())])
_QUOTED_ARROW = pa.schema([("passage_id", pa.int64()), ("quoted", pa.bool_())])
_REPS = T.StructType([T.StructField("seg_id", T.LongType()), T.StructField("rep", T.LongType())])
_REPS_ARROW = pa.schema([("seg_id", pa.int64()), ("rep", pa.int64())])

#: Segment ids are ``doc_key << SEG_BITS | index of the segment in its document``.
SEG_BITS = 24

# ------------------------------------------------------------------------------ workers
# These run in the Python workers (mapInArrow): they call the shared implementation.


def _parse_records(
    batches: Iterator[pa.RecordBatch], source: str, field_map: dict[str, str], jsonl: bool
) -> Iterator[pa.RecordBatch]:
    """Raw lines/rows -> validated documents or rejections (``newstrace.ingest`` rules)."""
    from newstrace.ingest import Rejected, content_hash, make_document

    unit = "line" if jsonl else "record"
    for batch in batches:
        cols: dict[str, list[Any]] = {name: [] for name in _PARSED_ARROW.names}

        def add(
            line: int, where: str, reason: str | None, doc: Any = None,
            cols: dict[str, list[Any]] = cols,
        ) -> None:
            cols["_line"].append(line)
            cols["where"].append(where)
            cols["reason"].append(reason)
            for name in ("id", "url", "publisher", "published_at", "title", "text"):
                cols[name].append(getattr(doc, name) if doc is not None else None)
            if doc is None:
                cols["content_hash"].append(None)
                cols["n_chars"].append(None)
            else:
                cols["content_hash"].append(
                    content_hash(
                        {
                            "publisher": doc.publisher, "url": doc.url, "title": doc.title,
                            "published_at": doc.published_at.isoformat() if doc.published_at else "",
                            "text": doc.text,
                        }
                    )
                )
                cols["n_chars"].append(len(doc.text))

        lines = batch.column("_line").to_pylist()
        if jsonl:
            records: list[Any] = batch.column("value").to_pylist()
        else:
            records = batch.drop_columns(["_line"]).to_pylist()
        for line, raw in zip(lines, records, strict=True):
            where = f"{source} {unit} {line}"
            if jsonl:
                if raw is None or not raw.strip():
                    continue
                if raw.startswith("\ufeff"):
                    raw = raw[1:]
                try:
                    raw = json.loads(raw)
                except json.JSONDecodeError as ex:
                    add(line, where, f"malformed JSON ({ex.msg} at column {ex.colno})")
                    continue
                except RecursionError:
                    add(line, where, "malformed JSON (nested too deeply)")
                    continue
            item = make_document(raw, where, field_map)
            if isinstance(item, Rejected):
                add(line, item.where, item.reason)
            else:
                add(line, where, None, item[0])
        yield pa.record_batch([pa.array(cols[n], _PARSED_ARROW.field(n).type) for n in _PARSED_ARROW.names],
                              schema=_PARSED_ARROW)


def _fingerprint(batches: Iterator[pa.RecordBatch], params: Params) -> Iterator[pa.RecordBatch]:
    """Documents -> tokens (packed) and distinct n-gram fingerprints, as the DuckDB engine."""
    from newstrace import neardup
    from newstrace.shingles import document_fingerprints
    from newstrace.tokens import tokenize_text

    for batch in batches:
        keys = batch.column("doc_key").to_pylist()
        texts = batch.column("text").to_pylist()
        out: dict[str, list[Any]] = {n: [] for n in _TOKENS_ARROW.names}
        for key, text in zip(keys, texts, strict=True):
            tok = tokenize_text(text, params.stem)
            hashes = document_fingerprints(tok, params.ngram_tokens)
            out["doc_key"].append(key)
            out["n_tokens"].append(len(tok))
            out["n_ngrams"].append(int(hashes.shape[0]))
            out["hashes"].append(hashes)
            out["ids"].append(tok.ids.tobytes())
            out["stop"].append(tok.stop.tobytes())
            out["starts"].append(tok.starts.tobytes())
            out["ends"].append(tok.ends.tobytes())
            if params.near_dup_threshold > 0 and neardup.eligible(hashes.shape[0], params.min_shared_ngrams):
                sig = neardup.signatures([hashes])
                out["sig"].append(sig[0].tolist())
                out["bands"].append(neardup.band_keys(sig)[0].tolist())
            else:
                out["sig"].append(None)
                out["bands"].append(None)
        hashes_arr = pa.ListArray.from_arrays(
            pa.array(np.cumsum([0] + [h.shape[0] for h in out["hashes"]]), pa.int32()),
            pa.array(np.concatenate(out["hashes"]) if out["hashes"] else np.empty(0, np.int64)),
        )
        arrays = [
            pa.array(out["doc_key"], pa.int32()), pa.array(out["n_tokens"], pa.int32()),
            pa.array(out["n_ngrams"], pa.int32()), hashes_arr,
            pa.array(out["ids"], pa.binary()), pa.array(out["stop"], pa.binary()),
            pa.array(out["starts"], pa.binary()), pa.array(out["ends"], pa.binary()),
            pa.array(out["sig"], pa.list_(pa.int64())), pa.array(out["bands"], pa.list_(pa.int64())),
        ]
        yield pa.record_batch(arrays, schema=_TOKENS_ARROW)


def _unpack(ids: bytes, stop: bytes, starts: bytes, ends: bytes) -> Any:
    from newstrace.tokens import Tokens

    return Tokens(
        starts=np.frombuffer(starts, dtype=np.int32),
        ends=np.frombuffer(ends, dtype=np.int32),
        ids=np.frombuffer(ids, dtype=np.int64),
        stop=np.frombuffer(stop, dtype=np.uint8),
    )


def _align(batches: Iterator[pa.RecordBatch], params: Params) -> Iterator[pa.RecordBatch]:
    """Candidate pairs with both documents' tokens -> passages.

    Calls ``newstrace.align.align_many`` exactly as ``Index._align`` does (one
    compiled batch call per Arrow batch), so both engines share the aligner.
    """
    from newstrace.align import align_many

    names = [n for n, _, _ in _PASSAGE_FIELDS]
    for batch in batches:
        if batch.num_rows == 0:
            continue
        c = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        position: dict[int, int] = {}
        docs: list[Any] = []
        ids: list[str] = []
        pair_idx = np.empty((batch.num_rows, 2), dtype=np.int64)
        for i in range(batch.num_rows):
            for side, col in ((0, "a"), (1, "b")):
                key = c[f"{col}_key"][i]
                pos = position.get(key)
                if pos is None:
                    pos = position[key] = len(docs)
                    docs.append(_unpack(c[f"{col}_ids"][i], c[f"{col}_stop"][i],
                                        c[f"{col}_starts"][i], c[f"{col}_ends"][i]))
                    ids.append(c[f"{col}_id"][i])
                pair_idx[i, side] = pos
        found = align_many(docs, pair_idx, params)
        keys = np.empty(len(docs), dtype=np.int64)
        for key, pos in position.items():
            keys[pos] = key
        a_pos = pair_idx[found.pair, 0]
        b_pos = pair_idx[found.pair, 1]
        arrays = {
            "a_key": keys[a_pos].astype(np.int32), "b_key": keys[b_pos].astype(np.int32),
            "a_id": [ids[k] for k in a_pos.tolist()], "b_id": [ids[k] for k in b_pos.tolist()],
            "a_start": found.a_start.astype(np.int32), "a_end": found.a_end.astype(np.int32),
            "b_start": found.b_start.astype(np.int32), "b_end": found.b_end.astype(np.int32),
            "score": found.score.astype(np.float64), "a_tokens": found.a_tokens.astype(np.int32),
            "b_tokens": found.b_tokens.astype(np.int32),
            "matched_tokens": found.matched_tokens.astype(np.int32),
        }
        yield pa.record_batch([pa.array(arrays[n], _PASSAGES_ARROW.field(n).type) for n in names],
                              schema=_PASSAGES_ARROW)


def _segments(batches: Iterator[pa.RecordBatch], overlap_share: float) -> Iterator[pa.RecordBatch]:
    """Spans sorted by (doc, start, -end) within the partition -> segment id per span.

    The same ``newstrace.cluster.SegmentSweep`` that ``cluster_passages`` uses
    (``overlap_share`` is its ``SAME_SEGMENT_OVERLAP``, passed for the record).
    """
    from newstrace.cluster import SegmentSweep

    sweep = SegmentSweep()
    for batch in batches:
        docs = batch.column("doc_key").to_numpy().tolist()
        starts = batch.column("start").to_numpy().tolist()
        ends = batch.column("end").to_numpy().tolist()
        seg = np.empty(len(docs), dtype=np.int64)
        for i, (d, s, e) in enumerate(zip(docs, starts, ends, strict=True)):
            sweep.add(d, s, e)
            seg[i] = (d << SEG_BITS) | sweep.number
        yield pa.record_batch(
            [batch.column("passage_id"), batch.column("side"), pa.array(seg, pa.int64())],
            schema=_SEGMENTS_ARROW,
        )


def _quoted(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Passages with both texts -> ``(passage_id, quoted)``: ``cluster.quoted_passages``."""
    from newstrace.cluster import quoted_passages

    for batch in batches:
        cols = {n: batch.column(n).to_pylist() for n in batch.schema.names}
        texts = dict(zip(cols["a_key"], cols["a_text"], strict=True))
        texts.update(zip(cols["b_key"], cols["b_text"], strict=True))
        rows = list(zip(*(cols[n] for n in ("a_key", "a_start", "a_end", "b_key", "b_start", "b_end")),
                        strict=True))
        quoted = quoted_passages(rows, texts) if rows else np.zeros(0, bool)
        yield pa.record_batch([batch.column("passage_id"), pa.array(quoted, pa.bool_())],
                              schema=_QUOTED_ARROW)


def _grow_clusters(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Links of whole components (one partition) -> ``(seg_id, rep)``: the same
    ``cluster.passage_clusters`` the DuckDB engine runs on all links at once."""
    from newstrace.cluster import passage_clusters

    tables = [pa.Table.from_batches([b]) for b in batches]
    if not tables:
        return
    t = pa.concat_tables(tables)
    if t.num_rows == 0:
        return
    c = {n: t.column(n).to_numpy() for n in t.schema.names}
    ids = np.concatenate([c["src"], c["dst"]])
    starts = np.concatenate([c["src_start"], c["dst_start"]])
    ends = np.concatenate([c["src_end"], c["dst_end"]])
    node, first = np.unique(ids, return_index=True)
    rep = passage_clusters(node, starts[first], ends[first], c["src"], c["u0"], c["u1"],
                           c["dst"], c["v0"], c["v1"])
    yield pa.record_batch([pa.array(node, pa.int64()), pa.array(rep, pa.int64())], schema=_REPS_ARROW)


# ------------------------------------------------------------------------------ graph


def connected_components(
    edges: DataFrame, max_rounds: int = 64, stats: dict[str, Any] | None = None
) -> DataFrame:
    """Connected components of an undirected graph given as ``edges(src, dst)`` (longs).

    Large-star / small-star rounds (Kiveris et al., "Connected Components in
    MapReduce and Beyond", SoCC 2014) until the edge set is a set of stars, each
    leaf pointing at the smallest node of its component. Each round's edges are
    ``localCheckpoint``-ed so the plan does not grow with the number of rounds.

    Returns:
        ``(node, label)`` for every node of ``edges``; ``label`` = the smallest node
        of its component.
    """
    nodes = (
        edges.select(F.col("src").alias("node"))
        .union(edges.select(F.col("dst").alias("node")))
        .distinct()
    )
    e = (
        edges.where(F.col("src") != F.col("dst"))
        .select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst"))
        .distinct()
        .localCheckpoint()
    )
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - reported in stats
        # large star: each node u links its larger neighbours to min(N(u) + u)
        both = e.union(e.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
        low = both.groupBy("src").agg(F.least(F.min("dst"), F.col("src")).alias("m"))
        e = (
            both.where(F.col("dst") > F.col("src"))
            .join(low, "src")
            .select(F.col("dst").alias("src"), F.col("m").alias("dst"))
            .distinct()
        )
        # small star: each node u links its smaller neighbours and itself to their min
        low = e.groupBy("src").agg(F.min("dst").alias("m"))
        e = (
            e.join(low, "src")
            .where(F.col("dst") != F.col("m"))
            .select(F.col("dst").alias("src"), F.col("m").alias("dst"))
            .union(low.select("src", F.col("m").alias("dst")))
            .distinct()
            .localCheckpoint()
        )
        # a set of stars: every leaf has one edge, and no centre is a leaf
        fan = e.groupBy("src").count().where("count > 1").limit(1).count()
        if not fan and not e.join(
            e.select(F.col("src").alias("dst")).distinct(), "dst", "leftsemi"
        ).limit(1).count():
            break
    else:  # pragma: no cover - O(log^2 n) rounds are needed; 64 is far beyond any corpus
        raise RuntimeError("connected components did not converge")
    if stats is not None:
        stats["rounds"] = rounds
    labels = e.select(F.col("src").alias("node"), F.col("dst").alias("label"))
    return (
        nodes.join(labels, "node", "left")
        .select("node", F.coalesce("label", "node").alias("label"))
    )


# ------------------------------------------------------------------------------ pipeline


@dataclass
class SparkReport:
    """What ``run_pipeline`` did: counts per table and wall seconds per stage."""

    input: str = ""
    out: str = ""
    master: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    duplicates: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        c = self.counts
        timing = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        return (
            f"{c.get('documents', 0)} document(s), {c.get('pairs', 0)} candidate pair(s), "
            f"{c.get('passages', 0)} passage(s), {c.get('clusters', 0)} cluster(s); "
            f"rejected {self.rejected}, duplicates {self.duplicates} ({timing})"
        )


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _input_kind(path: str) -> str:
    name = path.lower().rstrip("/")
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz",
                      ".jsonl.bz2", ".json.bz2")):
        return "jsonl"
    if _is_local(path) and os.path.isdir(_local(path)):
        files = [f for f in os.listdir(_local(path)) if not f.startswith(("_", "."))]
        if files and all(f.endswith(".parquet") for f in files):
            return "parquet"
        return "jsonl"
    raise UserError(
        f"{path}: unsupported input for the Spark engine (expected JSON Lines, optionally "
        ".gz, or Parquet)",
    )


def _with_line_numbers(df: DataFrame) -> DataFrame:
    """Number rows 1.. in file order without a global sort (offsets per partition)."""
    df = df.withColumn("_pid", F.spark_partition_id()).withColumn(
        "_mid", F.monotonically_increasing_id()
    )
    counts: dict[int, int] = dict(df.groupBy("_pid").count().collect())
    offsets, total = {}, 0
    for pid in sorted(counts):
        offsets[pid] = total
        total += counts[pid]
    mapping = F.create_map(*[x for pid, off in offsets.items() for x in (F.lit(pid), F.lit(off))]) \
        if offsets else F.create_map(F.lit(0), F.lit(0))
    line = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33) + mapping[F.col("_pid")] + 1
    return df.withColumn("_line", line.cast("long")).drop("_pid", "_mid")


def _dense_rank_by(df: DataFrame, col: str, name: str) -> DataFrame:
    """``df`` plus ``name`` = 1.. in the order of ``col`` (unique).

    Only the key column goes through the (single-partition) window, so this stays
    cheap at millions of rows; a range-partitioned sort would be sampled anew by
    each job and could number rows inconsistently.
    """
    keys = df.select(col).withColumn(name, F.row_number().over(Window.orderBy(col)))
    return df.join(keys, col)


def _write(df: DataFrame, path: str) -> None:
    df.write.mode("overwrite").parquet(path)


def run_pipeline(
    spark: SparkSession,
    input_path: str | list[str],
    out: str,
    params: Params = DEFAULT_PARAMS,
    field_map: dict[str, str] | None = None,
    overwrite: bool = False,
    partitions: int | None = None,
    log: LogFn | None = None,
) -> SparkReport:
    """Run ingest -> fingerprint -> candidates -> align -> cluster; write Parquet under ``out``.

    Args:
        spark: a session (``newstrace.spark.get_spark``).
        input_path: JSON Lines file(s) (``.gz`` ok) or Parquet file/folder; several
            paths are read in the given order.
        out: output folder; one Parquet folder per table plus ``_newstrace.json``.
        params: the same ``Params`` as the DuckDB engine.
        field_map: like ``newstrace ingest --field``.
        overwrite: replace an existing output.
        partitions: parallelism of the heavy stages (default: 2 x default parallelism).
        log: called with one line per finished stage.

    Raises:
        UserError: bad input path or an existing output without ``overwrite``.
    """
    log = log or (lambda _msg: None)
    paths = [input_path] if isinstance(input_path, str) else list(input_path)
    if not paths:
        raise UserError("no input given")
    for p in paths:
        if _is_local(p) and not os.path.exists(_local(p)):
            raise UserError(f"{p}: no such file or folder")
    kinds = {_input_kind(p) for p in paths}
    if len(kinds) > 1:
        raise UserError("inputs mix JSON Lines and Parquet; give one kind at a time")
    kind = kinds.pop()
    out = out.rstrip("/")
    if _is_local(out):
        existing = Path(_local(out))
        if existing.exists() and any(existing.iterdir()) and not overwrite:
            raise UserError(f"{out}: output folder is not empty", hint="pass --overwrite to replace it")
    report = SparkReport(input=",".join(paths), out=out, master=str(spark.sparkContext.master))
    n_parts = partitions or max(2, 2 * spark.sparkContext.defaultParallelism)
    work = f"{out}/_work"
    t_all = time.perf_counter()

    # 1. ingest -------------------------------------------------------------------------
    t = time.perf_counter()
    field_map = dict(field_map or {})
    parsed_parts = []
    line_base = 0
    for p in paths:
        if kind == "jsonl":
            raw = spark.read.option("lineSep", "\n").text(p)
        else:
            raw = spark.read.parquet(p)
        raw = _with_line_numbers(raw)
        source = _local(p)

        def fn(it: Iterator[pa.RecordBatch], s: str = source) -> Iterator[pa.RecordBatch]:
            return _parse_records(it, s, field_map, kind == "jsonl")

        parsed = raw.repartition(n_parts).mapInArrow(fn, _PARSED)
        parsed = parsed.withColumn("_line", F.col("_line") + F.lit(line_base))
        parsed_parts.append(parsed)
        line_base += 1 << 40  # several inputs: later files after earlier ones
    parsed = parsed_parts[0]
    for extra in parsed_parts[1:]:
        parsed = parsed.union(extra)
    _write(parsed, f"{work}/parsed")
    parsed = spark.read.parquet(f"{work}/parsed")
    ok = parsed.where(F.col("reason").isNull())
    by_id = Window.partitionBy("id").orderBy("_line")
    ranked = ok.withColumn("_n", F.row_number().over(by_id)).withColumn(
        "_first_hash", F.first("content_hash").over(by_id)
    )
    first = ranked.where("_n = 1").drop("_n", "_first_hash")
    later = ranked.where("_n > 1")
    report.duplicates = later.where(F.col("content_hash") == F.col("_first_hash")).count()
    rejected = parsed.where(F.col("reason").isNotNull()).select("_line", "where", "reason").union(
        later.where(F.col("content_hash") != F.col("_first_hash")).select(
            "_line", F.col("id").alias("where"),
            F.lit("duplicate id with different content").alias("reason"),
        )
    )
    _write(rejected.orderBy("_line").drop("_line"), f"{out}/rejected")
    report.rejected = spark.read.parquet(f"{out}/rejected").count()
    docs = _dense_rank_by(first, "_line", "doc_key").select(
        F.col("doc_key").cast("int").alias("doc_key"), *TABLE_COLUMNS["documents"][1:]
    )
    _write(docs.orderBy("doc_key"), f"{out}/documents")
    docs = spark.read.parquet(f"{out}/documents")
    report.counts["documents"] = docs.count()
    report.seconds["ingest"] = time.perf_counter() - t
    log(f"ingest: {report.counts['documents']} documents, {report.rejected} rejected, "
        f"{report.duplicates} duplicates ({report.seconds['ingest']:.1f}s)")

    # 2. fingerprint --------------------------------------------------------------------
    t = time.perf_counter()
    tokens = docs.select("doc_key", "text").repartition(n_parts).mapInArrow(
        lambda it: _fingerprint(it, params), _TOKENS
    )
    _write(tokens, f"{work}/tokens")
    tokens = spark.read.parquet(f"{work}/tokens")
    near = _near_duplicates(spark, tokens, params, out, work)
    if near is None:
        postings = tokens.select(F.explode("hashes").alias("hash"), "doc_key")
    else:  # each group posts a fingerprint once, by its first document (newstrace.neardup)
        roots = tokens.select("doc_key").join(near.select("doc_key", "root_key"), "doc_key", "left")
        postings = (
            tokens.select("doc_key", F.explode("hashes").alias("hash"))
            .join(roots, "doc_key")
            .groupBy(F.coalesce("root_key", "doc_key").alias("root"), "hash")
            .agg(F.min("doc_key").alias("doc_key"))
            .select("hash", "doc_key")
        )
    _write(postings, f"{out}/postings")
    _write(tokens.select("doc_key", "n_tokens", "n_ngrams").orderBy("doc_key"), f"{out}/fingerprinted")
    postings = spark.read.parquet(f"{out}/postings")
    report.counts["postings"] = postings.count()
    report.seconds["fingerprint"] = time.perf_counter() - t
    log(f"fingerprint: {report.counts['postings']} postings ({report.seconds['fingerprint']:.1f}s)")

    # 3. candidates (the rule of newstrace.candidates) ------------------------------------
    t = time.perf_counter()
    useful = (
        postings.groupBy("hash").count()
        .where(F.col("count").between(2, params.max_doc_freq))
        .select("hash")
    )
    kept = postings.join(useful, "hash", "leftsemi")
    pairs = (
        kept.alias("x").join(kept.alias("y"), "hash")
        .where(F.col("x.doc_key") < F.col("y.doc_key"))
        .groupBy(F.col("x.doc_key").alias("a_key"), F.col("y.doc_key").alias("b_key"))
        .agg(F.count("*").cast("int").alias("shared"))
        .where(F.col("shared") >= params.min_shared_ngrams)
    )
    if params.max_pairs_per_doc > 0:  # the evidence cap: each document's top partners
        _write(pairs, f"{work}/pairs_all")
        pairs = spark.read.parquet(f"{work}/pairs_all")
        both = pairs.select(F.col("a_key").alias("d"), F.col("b_key").alias("o"), "a_key", "b_key", "shared").union(
            pairs.select(F.col("b_key").alias("d"), F.col("a_key").alias("o"), "a_key", "b_key", "shared"))
        rank = F.row_number().over(Window.partitionBy("d").orderBy(F.desc("shared"), "o"))
        pairs = (
            both.withColumn("_rank", rank).where(F.col("_rank") <= params.max_pairs_per_doc)
            .groupBy("a_key", "b_key").agg(F.first("shared").alias("shared"))
        )
    if near is not None:
        pairs = pairs.select("a_key", "b_key", "shared").union(_group_pairs(near, params))
    _write(pairs, f"{work}/pairs")
    pairs = spark.read.parquet(f"{work}/pairs")
    report.counts["pairs"] = pairs.count()
    report.seconds["candidates"] = time.perf_counter() - t
    log(f"candidates: {report.counts['pairs']} pairs ({report.seconds['candidates']:.1f}s)")

    # 4. align ----------------------------------------------------------------------------
    t = time.perf_counter()
    tok_cols = ["ids", "stop", "starts", "ends"]
    ids = docs.select("doc_key", "id")
    side_a = tokens.join(ids, "doc_key").select(
        F.col("doc_key").alias("a_key"), F.col("id").alias("a_id"),
        *[F.col(c).alias(f"a_{c}") for c in tok_cols],
    )
    side_b = tokens.join(ids, "doc_key").select(
        F.col("doc_key").alias("b_key"), F.col("id").alias("b_id"),
        *[F.col(c).alias(f"b_{c}") for c in tok_cols],
    )
    work_pairs = (
        pairs.select("a_key", "b_key").join(side_a, "a_key").join(side_b, "b_key")
        .repartition(n_parts, "a_key")
    )
    found = work_pairs.mapInArrow(lambda it: _align(it, params), _PASSAGES)
    _write(found, f"{work}/found")
    found = spark.read.parquet(f"{work}/found")
    order = Window.orderBy("a_key", "b_key", "a_start", "b_start")
    passages = found.withColumn("passage_id", F.row_number().over(order).cast("long")).select(
        *TABLE_COLUMNS["passages"]
    )
    _write(passages, f"{out}/passages")
    passages = spark.read.parquet(f"{out}/passages")
    n_found = passages.groupBy("a_key", "b_key").agg(F.count("*").cast("int").alias("n_passages"))
    final_pairs = pairs.join(n_found, ["a_key", "b_key"], "left").select(
        "a_key", "b_key", "shared", F.lit(True).alias("aligned"),
        F.coalesce("n_passages", F.lit(0)).alias("n_passages"),
    )
    _write(final_pairs, f"{out}/pairs")
    report.counts["passages"] = passages.count()
    report.seconds["align"] = time.perf_counter() - t
    log(f"align: {report.counts['passages']} passages ({report.seconds['align']:.1f}s)")

    # 5. cluster ----------------------------------------------------------------------------
    t = time.perf_counter()
    _cluster(spark, docs, passages, out, work, n_parts, report)
    report.seconds["cluster"] = time.perf_counter() - t
    log(f"cluster: {report.counts['clusters']} clusters ({report.seconds['cluster']:.1f}s)")

    # 6. provenance (the pure steps of newstrace.corpus_provenance) -------------------------
    t = time.perf_counter()
    from newstrace.spark.provenance import PROVENANCE_TABLES, provenance_stage

    parts = provenance_stage(
        spark, docs, passages, spark.read.parquet(f"{out}/cluster_members"), out, work, n_parts,
        params, _write,
    )
    for table in PROVENANCE_TABLES:
        report.counts[table] = spark.read.parquet(f"{out}/{table}").count()
    report.seconds["provenance"] = time.perf_counter() - t
    report.seconds.update({f"provenance.{k}": v for k, v in parts.items()})
    log(f"provenance: {report.counts['edges']} edges, {report.counts['substitutions']} substitution "
        f"pairs ({report.seconds['provenance']:.1f}s: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in parts.items()) + ")")

    report.seconds["total"] = time.perf_counter() - t_all
    manifest = {
        "engine": "spark",
        "input": report.input,
        "master": report.master,
        "params": params.to_json(),
        "index_signature": params.index_signature(),
        "counts": report.counts,
        "rejected": report.rejected,
        "duplicates": report.duplicates,
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
        "tables": list(TABLE_COLUMNS) + list(PROVENANCE_TABLES),
    }
    if _is_local(out):
        shutil.rmtree(_local(work), ignore_errors=True)
        Path(_local(out), MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    else:  # a cluster file system: keep _work (remove it with the cluster's tools)
        spark.createDataFrame([(json.dumps(manifest),)], "value string").coalesce(1).write.mode(
            "overwrite").text(f"{out}/_manifest")
    return report


def _near_duplicates(
    spark: SparkSession, tokens: DataFrame, params: Params, out: str, work: str
) -> DataFrame | None:
    """The rule of ``newstrace.neardup`` (as ``Index._near_duplicates``): each LSH bucket's
    first document; a document's parent is the smallest of its buckets' first documents
    before it whose signature agrees on ``needed_equal`` positions; roots by pointer
    jumping. Writes ``minhash``, ``lsh_buckets`` and ``near_dups``; None when off."""
    from newstrace import neardup

    if params.near_dup_threshold <= 0:
        return None
    need = neardup.needed_equal(params.near_dup_threshold)
    signed = tokens.where(F.col("sig").isNotNull())
    _write(signed.select("doc_key", "sig").orderBy("doc_key"), f"{out}/minhash")
    bands = signed.select("doc_key", F.explode("bands").alias("bucket"))
    firsts = bands.groupBy("bucket").agg(F.min("doc_key").alias("first"))
    _write(firsts.select("bucket", F.col("first").alias("doc_key")), f"{out}/lsh_buckets")
    firsts = spark.read.parquet(f"{out}/lsh_buckets").withColumnRenamed("doc_key", "first")
    cands = (
        bands.join(firsts, "bucket").where(F.col("first") < F.col("doc_key"))
        .select("doc_key", "first").distinct()
        .join(signed.select("doc_key", F.col("sig").alias("sig_d")), "doc_key")
        .join(signed.select(F.col("doc_key").alias("first"), F.col("sig").alias("sig_f")), "first")
    )
    equal = F.aggregate(
        F.zip_with("sig_d", "sig_f", lambda x, y: F.when(x == y, 1).otherwise(0)), F.lit(0), lambda a, x: a + x
    )
    cands = cands.withColumn("eq", equal).where(F.col("eq") >= need)
    first_ok = F.row_number().over(Window.partitionBy("doc_key").orderBy("first"))
    parents = cands.withColumn("_n", first_ok).where("_n = 1").select(
        "doc_key", F.col("first").alias("parent_key"), "eq", F.col("first").alias("root_key"))
    _write(parents, f"{work}/near_0")
    near = spark.read.parquet(f"{work}/near_0")
    step = 0
    while True:  # pointer jumping: root_key <- the root's own parent, until none has one
        up = near.select(F.col("doc_key").alias("root_key"), F.col("root_key").alias("_up"))
        hop = near.join(up, "root_key", "left")
        if hop.where(F.col("_up").isNotNull()).limit(1).count() == 0:
            break
        step += 1
        _write(hop.select("doc_key", "parent_key", "eq", F.coalesce("_up", "root_key").alias("root_key")),
               f"{work}/near_{step}")
        near = spark.read.parquet(f"{work}/near_{step}")
    # shared: the document's fingerprints its group had already (it posts the rest)
    root_of = tokens.select("doc_key", "hashes").join(near, "doc_key")
    posted_before = (
        tokens.select("doc_key", F.explode("hashes").alias("hash"))
        .join(near.select("doc_key", "root_key"), "doc_key", "left")
        .groupBy(F.coalesce("root_key", "doc_key").alias("root"), "hash")
        .agg(F.min("doc_key").alias("doc_key"))
        .groupBy("doc_key").agg(F.count("*").alias("_posted"))
    )
    final = root_of.join(posted_before, "doc_key", "left").select(
        F.col("doc_key").cast("int"), F.col("parent_key").cast("int"), F.col("root_key").cast("int"),
        (F.size("hashes") - F.coalesce("_posted", F.lit(0))).cast("int").alias("shared"),
        (F.col("eq") / F.lit(neardup.MINHASH_K)).cast("double").alias("similarity"),
    )
    _write(final.orderBy("doc_key"), f"{out}/near_dups")
    return spark.read.parquet(f"{out}/near_dups")


def _group_pairs(near: DataFrame, params: Params) -> DataFrame:
    """Candidate pairs of near duplicates (``candidates.find_new_candidates``): each with its
    parent, and every two documents of a group of at most ``max_doc_freq``."""
    star = near.select(F.least("parent_key", "doc_key").alias("a_key"),
                       F.greatest("parent_key", "doc_key").alias("b_key"), "shared")
    members = near.select("doc_key", "root_key").union(
        near.select(F.col("root_key").alias("doc_key"), "root_key").distinct())
    small = members.groupBy("root_key").count().where(F.col("count") <= params.max_doc_freq).select("root_key")
    inner = (
        near.join(small, "root_key")
        .join(members.withColumnRenamed("doc_key", "x"), "root_key")
        .where((F.col("x") < F.col("doc_key")) & (F.col("x") != F.col("parent_key")))
        .select(F.col("x").alias("a_key"), F.col("doc_key").alias("b_key"), "shared")
    )
    return star.union(inner)


def _cluster(
    spark: SparkSession, docs: DataFrame, passages: DataFrame, out: str, work: str,
    n_parts: int, report: SparkReport,
) -> None:
    from newstrace.cluster import CLUSTER_MIN_SCORE, SAME_PASSAGE_OVERLAP

    # the passages that take part (as Index._cluster): strong, and not a shared quotation
    texts = docs.select("doc_key", "text")
    quoted = (
        passages.where(F.col("score") >= CLUSTER_MIN_SCORE)
        .select("passage_id", "a_key", "a_start", "a_end", "b_key", "b_start", "b_end")
        .join(texts.select(F.col("doc_key").alias("a_key"), F.col("text").alias("a_text")), "a_key")
        .join(texts.select(F.col("doc_key").alias("b_key"), F.col("text").alias("b_text")), "b_key")
        .repartition(n_parts)
        .mapInArrow(_quoted, _QUOTED)
    )
    _write(quoted, f"{work}/quoted")
    linking = passages.join(
        spark.read.parquet(f"{work}/quoted").where(~F.col("quoted")).select("passage_id"), "passage_id"
    )
    spans = linking.select(
        "passage_id", F.lit(0).cast("byte").alias("side"), F.col("a_key").alias("doc_key"),
        F.col("a_start").alias("start"), F.col("a_end").alias("end"),
    ).union(
        linking.select(
            "passage_id", F.lit(1).cast("byte").alias("side"), F.col("b_key").alias("doc_key"),
            F.col("b_start").alias("start"), F.col("b_end").alias("end"),
        )
    )
    seg_of = (
        spans.repartition(n_parts, "doc_key")
        .sortWithinPartitions("doc_key", "start", F.col("end").desc(), "passage_id", "side")
        .mapInArrow(lambda it: _segments(it, SAME_PASSAGE_OVERLAP), _SEGMENTS)
    )
    _write(seg_of, f"{work}/seg_of")
    seg_of = spark.read.parquet(f"{work}/seg_of")
    spans = spans.join(seg_of, ["passage_id", "side"])
    segments = spans.groupBy("seg_id", "doc_key").agg(
        F.min("start").alias("start"), F.max("end").alias("end")
    )
    _write(segments, f"{work}/segments")
    segments = spark.read.parquet(f"{work}/segments")
    links = (
        seg_of.where("side = 0").select("passage_id", F.col("seg_id").alias("src"))
        .join(seg_of.where("side = 1").select("passage_id", F.col("seg_id").alias("dst")), "passage_id")
        .join(linking.select("passage_id", F.col("a_start").alias("u0"), F.col("a_end").alias("u1"),
                             F.col("b_start").alias("v0"), F.col("b_end").alias("v1")), "passage_id")
    )
    _write(links, f"{work}/links")
    links = spark.read.parquet(f"{work}/links")
    comp = connected_components(links.select("src", "dst")).select(
        F.col("node").alias("src"), "label")
    seg_ext = segments.select("seg_id", "start", "end")
    grouped = (
        links.join(comp, "src")
        .join(seg_ext.select(F.col("seg_id").alias("src"), F.col("start").alias("src_start"),
                             F.col("end").alias("src_end")), "src")
        .join(seg_ext.select(F.col("seg_id").alias("dst"), F.col("start").alias("dst_start"),
                             F.col("end").alias("dst_end")), "dst")
        .select("label", "src", "src_start", "src_end", "dst", "dst_start", "dst_end",
                F.col("u0").cast("long"), F.col("u1").cast("long"), F.col("v0").cast("long"),
                F.col("v1").cast("long"))
        .repartition(n_parts, "label")
        .mapInArrow(_grow_clusters, _REPS)
    )
    _write(grouped, f"{work}/reps")
    reps = spark.read.parquet(f"{work}/reps")
    members = segments.join(reps, "seg_id").withColumnRenamed("rep", "label")
    _write(members, f"{work}/members")
    members = spark.read.parquet(f"{work}/members")
    # rank clusters like cluster.rank_clusters: most documents, most characters, first segment
    ranking = members.groupBy("label").agg(
        F.countDistinct("doc_key").alias("n_docs"),
        F.sum(F.col("end") - F.col("start")).alias("chars"),
        F.min("seg_id").alias("first"),
    )
    ranking = ranking.where(F.col("n_docs") >= 2).withColumn(  # as cluster_arrays: 2+ documents
        "cluster_id",
        F.row_number().over(Window.orderBy(F.col("n_docs").desc(), F.col("chars").desc(), F.col("first"))
                            ).cast("int"),
    ).select("label", "cluster_id")
    cm = (
        members.join(ranking, "label")
        .join(docs.select("doc_key", "id", "published_at"), "doc_key")
        .select("cluster_id", "doc_key", "id", F.col("start").alias("start_char"),
                F.col("end").alias("end_char"), "published_at")
    )
    _write(cm, f"{work}/cm")
    cm = spark.read.parquet(f"{work}/cm")
    _write(cm.drop("published_at").orderBy("cluster_id", "doc_key", "start_char"),
           f"{out}/cluster_members")
    earliest = F.struct(F.col("published_at").isNull(), F.col("published_at"), F.col("doc_key"),
                        F.col("start_char"))
    clusters = cm.groupBy("cluster_id").agg(
        F.count("*").cast("int").alias("n_members"),
        F.countDistinct("doc_key").cast("int").alias("n_docs"),
        F.min_by("id", earliest).alias("earliest_id"),
        F.min("published_at").alias("earliest_at"),
        F.max("published_at").alias("latest_at"),
        F.min_by("id", earliest).alias("sample_id"),
        F.min_by("start_char", earliest).alias("sample_start"),
        F.min_by("end_char", earliest).alias("sample_end"),
        F.sum(F.col("end_char") - F.col("start_char")).cast("int").alias("n_chars"),
    )
    _write(clusters.orderBy("cluster_id"), f"{out}/clusters")
    report.counts["clusters"] = spark.read.parquet(f"{out}/clusters").count()
    report.counts["cluster_members"] = spark.read.parquet(f"{out}/cluster_members").count()
    # story families: documents joined by any passage; id = smallest doc_key
    fam = connected_components(
        passages.select(F.col("a_key").cast("long").alias("src"), F.col("b_key").cast("long").alias("dst"))
    ).select(F.col("node").cast("int").alias("doc_key"), F.col("label").cast("int").alias("family_id"))
    _write(fam.orderBy("doc_key"), f"{out}/families")
    report.counts["families"] = spark.read.parquet(f"{out}/families").select("family_id").distinct().count()


def index_with_spark(
    input_path: str | list[str],
    out: str,
    master: str = "local[2]",
    params: Params = DEFAULT_PARAMS,
    conf: dict[str, str] | None = None,
    **kwargs: Any,
) -> SparkReport:
    """Start (or reuse) a session on ``master`` and run the pipeline. The library call
    behind ``newstrace spark-index`` / ``newstrace index --engine spark``."""
    from newstrace.spark import get_spark

    spark = get_spark(master, conf=conf)
    return run_pipeline(spark, input_path, out, params=params, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """``spark-submit -m newstrace.spark.jobs --input PATH --out DIR`` (cluster entry point)."""
    import argparse

    parser = argparse.ArgumentParser(prog="newstrace.spark.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, action="append", help="JSONL(.gz) or Parquet")
    parser.add_argument("--out", required=True)
    parser.add_argument("--master", default=None, help="default: as given to spark-submit")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    from newstrace.spark import get_spark

    spark = get_spark(args.master or "", conf={})
    report = run_pipeline(spark, args.input, args.out, overwrite=args.overwrite,
                          partitions=args.partitions, log=print)
    print(report.summary())
    print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
