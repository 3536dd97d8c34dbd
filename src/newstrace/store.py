"""DuckDB storage: schema, connection, parameters saved beside the state built from them.

Atomicity: every stage writes its output for a batch inside one transaction
together with the marker that says the batch is done, so an interrupted run
leaves either all or none of a batch, and the next run resumes from there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from newstrace.errors import DatabaseDamaged, IncompatibleIndex, NoSpaceLeft, UserError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS doc_key_seq START 1;
CREATE TABLE IF NOT EXISTS documents(
    doc_key INTEGER PRIMARY KEY,
    id VARCHAR NOT NULL UNIQUE,
    url VARCHAR,
    publisher VARCHAR,
    published_at TIMESTAMP,
    title VARCHAR,
    text VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    n_chars INTEGER,
    ingested_at TIMESTAMP DEFAULT current_timestamp
);
-- stage 3 output: distinct n-gram hashes per document; fingerprinted marks done docs
CREATE TABLE IF NOT EXISTS postings(hash BIGINT NOT NULL, doc_key INTEGER NOT NULL);
-- the same postings packed by hash into blocks for trace lookups (candidates.pack_postings)
CREATE TABLE IF NOT EXISTS postings_blocks(
    block BIGINT NOT NULL, first_hash BIGINT NOT NULL, hashes BLOB NOT NULL, doc_keys BLOB NOT NULL
);
-- the tokens of each fingerprinted document (Tokens.to_bytes), so alignment reads them
CREATE TABLE IF NOT EXISTS doc_tokens(doc_key INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprinted(doc_key INTEGER NOT NULL, n_tokens INTEGER, n_ngrams INTEGER);
-- near-duplicate grouping (neardup): MinHash signatures, the first document of each LSH
-- bucket, and each near duplicate's parent/root (the rest post only what the parent lacks)
CREATE TABLE IF NOT EXISTS minhash(doc_key INTEGER NOT NULL, sig BIGINT[] NOT NULL);
CREATE TABLE IF NOT EXISTS lsh_buckets(bucket BIGINT NOT NULL, doc_key INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS near_dups(
    doc_key INTEGER NOT NULL, parent_key INTEGER NOT NULL, root_key INTEGER NOT NULL,
    shared INTEGER NOT NULL, similarity DOUBLE NOT NULL
);
-- stage 4 output: candidate pairs (a_key < b_key); paired marks docs whose pairs are found
CREATE TABLE IF NOT EXISTS pairs(
    a_key INTEGER NOT NULL, b_key INTEGER NOT NULL, shared INTEGER NOT NULL,
    aligned BOOLEAN NOT NULL DEFAULT false, n_passages INTEGER
);
CREATE TABLE IF NOT EXISTS paired(doc_key INTEGER NOT NULL);
-- stage 5 output
CREATE SEQUENCE IF NOT EXISTS passage_seq START 1;
CREATE TABLE IF NOT EXISTS passages(
    passage_id BIGINT NOT NULL,
    a_key INTEGER NOT NULL, b_key INTEGER NOT NULL,
    a_id VARCHAR NOT NULL, b_id VARCHAR NOT NULL,
    a_start INTEGER NOT NULL, a_end INTEGER NOT NULL,
    b_start INTEGER NOT NULL, b_end INTEGER NOT NULL,
    score DOUBLE NOT NULL,
    a_tokens INTEGER, b_tokens INTEGER, matched_tokens INTEGER
);
-- stage 6 output, rebuilt as a whole from passages
CREATE TABLE IF NOT EXISTS clusters(
    cluster_id INTEGER NOT NULL, n_members INTEGER, n_docs INTEGER,
    earliest_id VARCHAR, earliest_at TIMESTAMP, latest_at TIMESTAMP,
    sample_id VARCHAR, sample_start INTEGER, sample_end INTEGER, n_chars INTEGER
);
CREATE TABLE IF NOT EXISTS cluster_members(
    cluster_id INTEGER NOT NULL, doc_key INTEGER NOT NULL, id VARCHAR NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS families(doc_key INTEGER NOT NULL, family_id INTEGER NOT NULL);
"""

TABLES = (
    "documents", "postings", "postings_blocks", "doc_tokens", "fingerprinted", "minhash", "lsh_buckets",
    "near_dups", "pairs", "paired", "passages",
    "clusters", "cluster_members", "families",
)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a newstrace database and ensure its schema.

    Raises:
        UserError: the file is not a DuckDB database or cannot be opened.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise UserError(f"{path}: no such database", hint="create it with `newstrace ingest`")
    if path.exists() and path.is_dir():
        raise UserError(f"{path}: is a directory, not a database file")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(16)
        if len(head) >= 12 and head[8:12] != b"DUCK":
            raise UserError(f"{path}: not a newstrace (DuckDB) database")
    existed = path.exists() and path.stat().st_size > 0
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as ex:
        raise open_error(path, ex, existed) from None
    limit = os.environ.get("NEWSTRACE_MEMORY_LIMIT")
    if limit:  # e.g. "6GB": DuckDB spills joins and sorts to disk beyond it
        try:
            con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error:
            raise UserError(f"NEWSTRACE_MEMORY_LIMIT={limit!r}: not a memory size like 6GB") from None
    if not read_only:
        con.execute(SCHEMA)
        version = get_meta(con, "schema_version")
        if version is None:
            set_meta(con, "schema_version", SCHEMA_VERSION)
        elif int(version) != SCHEMA_VERSION:
            raise IncompatibleIndex(
                f"{path}: schema version {version}, this newstrace needs {SCHEMA_VERSION}",
                hint="rebuild the database from the original files",
            )
    return con


def open_error(path: Path, ex: BaseException, existed: bool = True) -> UserError:
    """The one-line error for a database that DuckDB could not open or read."""
    first = (str(ex).splitlines() or [type(ex).__name__])[0][:200]
    low = first.lower()
    if "no space left" in low or "disk is full" in low or "disk full" in low:
        return NoSpaceLeft(f"{path}: no space left on device ({first})",
                           hint="free some space and run the same command again")
    if "could not set lock" in low or "conflicting lock" in low:
        return UserError(f"{path}: database is in use by another process ({first})",
                         hint="wait for it to finish (or stop `newstrace serve`), then run again")
    damaged_words = ("checksum", "corrupt", "invalidated", "could not read", "serializ")
    if existed and (isinstance(ex, (duckdb.IOException, duckdb.InternalException,
                                    duckdb.SerializationException, duckdb.FatalException))
                    or any(w in low for w in damaged_words)):
        return DatabaseDamaged(f"{path}: database file is damaged or truncated ({first})",
                               hint="restore it from a backup, or rebuild it from the original files")
    return UserError(f"{path}: cannot open database ({first})")


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: Any) -> Iterator[None]:
    """Arrow ``tables`` registered as views under their keyword names for the block."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, **tables: Any) -> Iterator[None]:
    """One DuckDB transaction, with Arrow ``tables`` registered as views for its statements.

    Everything written inside commits together or not at all (a killed run leaves
    no half batch); the views are unregistered afterwards.

    Example:
        >>> with transaction(con, batch=arrow_table):  # doctest: +SKIP
        ...     con.execute("INSERT INTO postings SELECT * FROM batch")
    """
    with registered(con, **tables):
        con.execute("BEGIN TRANSACTION")
        try:
            yield
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # e.g. a failed write (disk full) already ended the transaction:
                pass  # the original error is the one to report
            raise


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> Any:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> None:
    con.execute(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )
