"""Corpus provenance on Spark: the tables ``edges``, ``doc_provenance``,
``substitutions`` and ``cluster_provenance`` of ``newstrace.corpus_provenance``,
computed with its pure steps inside ``mapInArrow`` (one implementation, two engines).

Stages (after clustering; each reads the Parquet the earlier stages wrote):

1. **pairs** -- passages grouped by document pair, joined with both documents'
   publisher and date (and texts, only for the pairs whose direction may depend on
   credit evidence: ``_needs_texts``) -> ``corpus_provenance.pair_edge`` per pair: the
   ``edges`` rows plus the spans oriented target-first.
2. **documents** -- per document that takes part in a passage: its directed incoming
   edges with the sources' ids, dates and texts (``collect_list``), and the ids it is
   tied with -> ``corpus_provenance.document_provenance``: the row without spin score,
   and its (source, replacement) word pairs.
3. **dictionary** -- the word pairs exploded and counted per casefolded key (Spark
   ``groupBy``: occurrences, distinct documents) -> ``substitution_row`` (lexical flag).
4. **spin** -- each document's keys joined with the dictionary's document counts ->
   ``corpus_provenance.finish_document`` (spin score, spun, lexical substitutions);
   documents without any passage get ``unreused_document`` rows.
5. **clusters** -- per cluster its members (id, date) and the evidence/clock-skew
   edges between them -> ``corpus_provenance.cluster_provenance``.

The heavy step is 2 (a word-level diff of every reused passage), spread over the
workers; everything else is joins and small per-row calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from newstrace.corpus_provenance import (
    ARROW_TYPES,
    CLUSTERS_ARROW,
    DOC_ARROW,
    PAIR_EDGES_ARROW,
    PARTIAL_ARROW,
    SUBS_ARROW,
)
from newstrace.params import Params

#: Parquet folders written by :func:`provenance_stage` (the DuckDB table names).
PROVENANCE_TABLES = ("edges", "doc_provenance", "substitutions", "cluster_provenance")

def _spark_type(t: pa.DataType) -> T.DataType:
    if pa.types.is_struct(t):
        return T.StructType([T.StructField(f.name, _spark_type(f.type)) for f in t])
    if pa.types.is_list(t):
        return T.ArrayType(_spark_type(t.value_type))
    simple = {
        pa.int32(): T.IntegerType(), pa.int64(): T.LongType(), pa.float64(): T.DoubleType(),
        pa.bool_(): T.BooleanType(), pa.string(): T.StringType(),
        pa.timestamp("us"): T.TimestampNTZType(),
    }
    return simple[t]


def _spark_schema(schema: pa.Schema) -> T.StructType:
    return T.StructType([T.StructField(f.name, _spark_type(f.type)) for f in schema])


# ------------------------------------------------------------------------------ workers
# ``mapInArrow`` functions: the batch steps of ``corpus_provenance``, texts in the rows.


def _pairs_worker(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from newstrace.corpus_provenance import pairs_batch

    return (pairs_batch(b) for b in batches)


def _documents_worker(batches: Iterator[pa.RecordBatch], params: Params) -> Iterator[pa.RecordBatch]:
    from newstrace.corpus_provenance import documents_batch

    return (documents_batch(b, params) for b in batches)


def _spin_worker(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from newstrace.corpus_provenance import spin_batch

    return (spin_batch(b) for b in batches)


def _unreused_worker(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from newstrace.corpus_provenance import unreused_batch

    return (unreused_batch(b) for b in batches)


def _dictionary_worker(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from newstrace.corpus_provenance import dictionary_batch

    return (dictionary_batch(b) for b in batches)


def _clusters_worker(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from newstrace.corpus_provenance import clusters_batch

    return (clusters_batch(b) for b in batches)


# ------------------------------------------------------------------------------ stage


def _needs_texts() -> Any:
    """Does a pair (columns ``a_publisher``, ``a_published_at``, ``b_...``) need its
    texts for ``corpus_provenance.direction``?

    Texts are read only by ``credit_evidence``, which ``direction`` consults when a
    date is missing or the dates are at most ``CLOCK_SKEW`` apart, and which looks at
    them only when both publishers are given and differ. This condition is a superset
    of that (exact strings instead of casefolded ones; whole seconds, truncated), so
    a pair that needs its texts always gets them; the others travel without them.
    """
    from newstrace.corpus_provenance import CLOCK_SKEW

    a_at, b_at = F.col("a_published_at"), F.col("b_published_at")
    close = (
        a_at.isNull() | b_at.isNull()
        | (F.abs(F.timestamp_diff("SECOND", a_at, b_at)) <= int(CLOCK_SKEW.total_seconds()))
    )
    pubs = (
        F.col("a_publisher").isNotNull() & F.col("b_publisher").isNotNull()
        & (F.trim(F.col("a_publisher")) != F.trim(F.col("b_publisher")))
    )
    return F.coalesce(close & pubs, F.lit(True))



def provenance_stage(
    spark: SparkSession,
    docs: DataFrame,
    passages: DataFrame,
    cluster_docs: DataFrame,
    out: str,
    work: str,
    n_parts: int,
    params: Params,
    write: Any,
) -> dict[str, float]:
    """Compute and write the four provenance tables under ``out``.

    Args:
        docs: the ``documents`` table.
        passages: the ``passages`` table.
        cluster_docs: ``(cluster_id, doc_key)`` of every cluster member.
        write: ``write(df, path)`` (the pipeline's Parquet writer).

    Returns:
        wall seconds per sub-stage (``pairs``, ``documents``, ``spin``, ``clusters``).
    """
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    # 1. per pair -------------------------------------------------------------------
    meta = ["doc_key", "id", "publisher", "published_at"]
    side = {s: docs.select(*[F.col(f).alias(f"{s}_{f}") for f in meta]) for s in ("a", "b")}
    text = {s: docs.select(F.col("doc_key").alias(f"{s}_tkey"), F.col("text").alias(f"{s}_text"))
            for s in ("a", "b")}
    by_pair = passages.groupBy("a_key", "b_key").agg(
        F.collect_list(F.struct("a_start", "a_end", "b_start", "b_end")).alias("spans")
    )
    pair_rows = (
        by_pair.join(side["a"], F.col("a_key") == F.col("a_doc_key"))
        .join(side["b"], F.col("b_key") == F.col("b_doc_key"))
        .withColumn("_texts", _needs_texts())
        .join(text["a"], F.col("_texts") & (F.col("a_key") == F.col("a_tkey")), "left")
        .join(text["b"], F.col("_texts") & (F.col("b_key") == F.col("b_tkey")), "left")
        .select("spans", *[f"{s}_{f}" for s in ("a", "b") for f in [*meta, "text"]])
        .repartition(n_parts)
    )
    write(pair_rows.mapInArrow(_pairs_worker, _spark_schema(PAIR_EDGES_ARROW)), f"{work}/pair_edges")
    pair_edges = spark.read.parquet(f"{work}/pair_edges")
    # no global sort: load_parquet orders the rows as the DuckDB engine stores them
    write(pair_edges.select(*ARROW_TYPES["edges"]), f"{out}/edges")
    seconds["pairs"] = time.perf_counter() - t

    # 2. per target document ----------------------------------------------------------
    t = time.perf_counter()
    sources = docs.select(
        F.col("doc_key").alias("source_key"), F.col("id").alias("source_id_"),
        F.col("publisher").alias("source_publisher"), F.col("published_at").alias("source_published_at"),
        F.col("text").alias("source_text"),
    )
    incoming = (
        pair_edges.where("directed")
        .join(sources, "source_key")
        .groupBy(F.col("target_key").alias("doc_key"))
        .agg(
            F.collect_list(
                F.struct(
                    "source_key", F.col("source_id_").alias("source_id"), "source_publisher",
                    "source_published_at",
                    "source_text", "basis", "spans",
                )
            ).alias("incoming")
        )
    )
    undirected = pair_edges.where(~F.col("directed"))
    tied = (
        undirected.select(F.col("source_key").alias("doc_key"), F.col("target_id").alias("other"))
        .union(undirected.select(F.col("target_key").alias("doc_key"), F.col("source_id").alias("other")))
        .groupBy("doc_key")
        .agg(F.collect_list("other").alias("tied"))
    )
    involved = (
        passages.select(F.col("a_key").alias("doc_key"))
        .union(passages.select(F.col("b_key").alias("doc_key")))
        .distinct()
    )
    targets = (
        docs.select("doc_key", "id", "text")
        .join(involved, "doc_key", "leftsemi")
        .join(incoming, "doc_key", "left")
        .join(tied, "doc_key", "left")
        .repartition(n_parts)
    )
    write(
        targets.mapInArrow(lambda it: _documents_worker(it, params), _spark_schema(PARTIAL_ARROW)),
        f"{work}/doc_partial",
    )
    partial = spark.read.parquet(f"{work}/doc_partial")
    seconds["documents"] = time.perf_counter() - t

    # 3. substitution dictionary, 4. spin scores -------------------------------------------
    t = time.perf_counter()
    occurrences = partial.select("doc_key", F.explode("subs").alias("s")).select(
        "doc_key", "s.key_source", "s.key_replacement"
    )
    counted = occurrences.groupBy("key_source", "key_replacement").agg(
        F.count("*").cast("int").alias("count"),
        F.countDistinct("doc_key").cast("int").alias("n_docs"),
    )
    write(counted, f"{work}/dictionary")
    counted = spark.read.parquet(f"{work}/dictionary")
    dictionary = counted.select(
        F.col("key_source").alias("source"), F.col("key_replacement").alias("replacement"),
        "count", "n_docs",
    ).mapInArrow(_dictionary_worker, _spark_schema(SUBS_ARROW))
    write(dictionary, f"{out}/substitutions")
    recurring = (
        occurrences.distinct()
        .join(counted, ["key_source", "key_replacement"])
        .groupBy("doc_key")
        .agg(F.collect_list(F.struct("key_source", "key_replacement", "n_docs")).alias("recurring"))
    )
    finished = partial.join(recurring, "doc_key", "left").mapInArrow(
        _spin_worker, _spark_schema(DOC_ARROW)
    )
    others = docs.select("doc_key", "id").join(involved, "doc_key", "leftanti").mapInArrow(
        _unreused_worker, _spark_schema(DOC_ARROW)
    )
    write(finished.union(others), f"{out}/doc_provenance")
    seconds["spin"] = time.perf_counter() - t

    # 5. per cluster ----------------------------------------------------------------------
    t = time.perf_counter()
    members = cluster_docs.select("cluster_id", "doc_key").distinct()
    inner = (
        pair_edges.where(F.col("basis").isin("evidence", "clock-skew"))
        .select("source_key", "target_key", "basis")
        .join(members.withColumnRenamed("doc_key", "target_key"), "target_key")
        .join(members.withColumnRenamed("doc_key", "source_key"), ["cluster_id", "source_key"],
              "leftsemi")
        .groupBy("cluster_id")
        .agg(F.collect_list(F.struct("source_key", "target_key", "basis")).alias("into"))
    )
    per_cluster = (
        members.join(docs.select("doc_key", "id", "published_at"), "doc_key")
        .groupBy("cluster_id")
        .agg(F.collect_list(F.struct("doc_key", "id", "published_at")).alias("members"))
        .join(inner, "cluster_id", "left")
    )
    write(per_cluster.mapInArrow(_clusters_worker, _spark_schema(CLUSTERS_ARROW)),
          f"{out}/cluster_provenance")
    seconds["clusters"] = time.perf_counter() - t
    return seconds
