"""Load the Spark engine's Parquet output into a newstrace (DuckDB) database.

Needs only DuckDB (no pyspark): a database built on a cluster can be loaded and
served on a laptop, where ``trace``, ``report``, ``show`` and the web UI work on it
exactly as on a database the DuckDB engine built.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from newstrace.errors import UserError
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.store import connect, set_meta


def _scalar(con: Any, sql: str) -> Any:
    """The single value of a one-row, one-column query."""
    return con.execute(sql).fetchall()[0][0]


MANIFEST = "_newstrace.json"

#: table -> columns, in the order of ``store.SCHEMA`` (the Parquet folders use the same names).
TABLE_COLUMNS: dict[str, list[str]] = {
    "documents": ["doc_key", "id", "url", "publisher", "published_at", "title", "text",
                  "content_hash", "n_chars"],
    "postings": ["hash", "doc_key"],
    "fingerprinted": ["doc_key", "n_tokens", "n_ngrams"],
    "pairs": ["a_key", "b_key", "shared", "aligned", "n_passages"],
    "passages": ["passage_id", "a_key", "b_key", "a_id", "b_id", "a_start", "a_end", "b_start",
                 "b_end", "score", "a_tokens", "b_tokens", "matched_tokens"],
    "clusters": ["cluster_id", "n_members", "n_docs", "earliest_id", "earliest_at", "latest_at",
                 "sample_id", "sample_start", "sample_end", "n_chars"],
    "cluster_members": ["cluster_id", "doc_key", "id", "start_char", "end_char"],
    "families": ["doc_key", "family_id"],
}

#: Tables an older engine did not write: loaded when present.
OPTIONAL_TABLES: dict[str, list[str]] = {
    "minhash": ["doc_key", "sig"],
    "lsh_buckets": ["bucket", "doc_key"],
    "near_dups": ["doc_key", "parent_key", "root_key", "shared", "similarity"],
}


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """The ``_newstrace.json`` the Spark engine writes last (parameters, counts, timings).

    Raises:
        UserError: the folder is not a finished Spark engine output.
    """
    path = Path(out_dir) / MANIFEST
    if not Path(out_dir).is_dir():
        raise UserError(f"{out_dir}: no such folder (expected the --out of `newstrace spark-index`)")
    if not path.exists():
        raise UserError(
            f"{out_dir}: no {MANIFEST}: not a (finished) newstrace Spark output",
            hint="run `newstrace spark-index --input ... --out DIR` to completion first",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as ex:
        raise UserError(f"{path}: unreadable manifest ({ex})") from None


def load_parquet(out_dir: str | Path, db_path: str | Path) -> dict[str, int]:
    """Load every table of a Spark output folder into a new newstrace database.

    The database must not exist yet or be empty. Postings are stored sorted by
    hash (trace looks fingerprints up by hash). Sequences are advanced past the
    loaded keys, so ``newstrace ingest`` + ``index`` can add documents later. The
    provenance tables (``edges``, ``doc_provenance``, ``substitutions``,
    ``cluster_provenance``) are loaded as the Spark engine computed them; an output
    written by an older engine without them gets them computed here, on one machine
    (``corpus_provenance.compute_provenance``).

    Returns:
        ``{table: rows loaded}`` plus ``seconds``.

    Raises:
        UserError: not a Spark output, or the database already holds documents.
    """
    out = Path(out_dir)
    manifest = read_manifest(out)
    params = Params(**json.loads(manifest["params"])) if "params" in manifest else DEFAULT_PARAMS
    for table in TABLE_COLUMNS:
        if not (out / table).is_dir():
            raise UserError(f"{out / table}: missing table folder in the Spark output")
    t0 = time.perf_counter()
    con = connect(db_path)
    try:
        if _scalar(con, "SELECT count(*) FROM documents"):
            raise UserError(
                f"{db_path}: database already holds documents; load into a new file",
            )
        counts: dict[str, int] = {}
        con.execute("BEGIN TRANSACTION")
        try:
            tables = {**TABLE_COLUMNS, **{t: c for t, c in OPTIONAL_TABLES.items() if (out / t).is_dir()}}
            for table, cols in tables.items():
                con.execute(f"DELETE FROM {table}")
                glob = str(out / table / "*.parquet").replace("'", "''")
                col_list = ", ".join(cols)
                order = " ORDER BY hash, doc_key" if table == "postings" else ""
                if table == "documents":
                    order = " ORDER BY doc_key"
                elif table == "passages":
                    order = " ORDER BY passage_id"
                con.execute(
                    f"INSERT INTO {table} ({col_list}) SELECT {col_list} "
                    f"FROM read_parquet('{glob}'){order}"
                )
                counts[table] = int(_scalar(con, f"SELECT count(*) FROM {table}"))
            con.execute("DELETE FROM paired")
            con.execute("INSERT INTO paired SELECT doc_key FROM fingerprinted")
            set_meta(con, "index_signature", params.index_signature())
            set_meta(con, "params", params.to_json())
            set_meta(con, "built_by", {"engine": "spark", **{k: manifest.get(k) for k in ("input", "master", "seconds")}})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        max_key = _scalar(con, "SELECT coalesce(max(doc_key), 0) FROM documents")
        max_pid = _scalar(con, "SELECT coalesce(max(passage_id), 0) FROM passages")
        con.execute(f"CREATE OR REPLACE SEQUENCE doc_key_seq START {int(max_key) + 1}")
        con.execute(f"CREATE OR REPLACE SEQUENCE passage_seq START {int(max_pid) + 1}")
        con.execute("CHECKPOINT")
    except UserError:
        raise
    except Exception as ex:  # a broken Parquet file, a schema mismatch: one line
        raise UserError(f"{out}: cannot load Spark output ({str(ex).splitlines()[0]})") from None
    finally:
        con.close()
    from newstrace.corpus_provenance import TABLE_ORDER

    if all((out / t).is_dir() for t in TABLE_ORDER):
        counts.update(_load_provenance(out, db_path))
    else:  # written by an engine version without the provenance stage: compute it here
        _corpus_provenance(db_path, params)
    counts["seconds"] = round(time.perf_counter() - t0, 3)  # type: ignore[assignment]
    return counts


def _load_provenance(out: Path, db_path: str | Path) -> dict[str, int]:
    """Load the provenance tables the Spark engine computed (``newstrace.spark.provenance``)."""
    from newstrace.corpus_provenance import TABLE_ORDER, record_provenance_state, store_tables

    con = connect(db_path)
    try:
        sources = {}
        for table in TABLE_ORDER:
            glob = str(out / table / "*.parquet").replace("'", "''")
            sources[table] = f"read_parquet('{glob}')"
        store_tables(con, sources)  # rows in TABLE_ORDER, as the DuckDB engine stores them
        record_provenance_state(con)  # computed from the passages and clusters just loaded
        con.execute("CHECKPOINT")
        return {t: int(_scalar(con, f"SELECT count(*) FROM {t}")) for t in TABLE_ORDER}
    except Exception as ex:  # a broken Parquet file, a schema mismatch: one line
        raise UserError(f"{out}: cannot load Spark provenance tables ({str(ex).splitlines()[0]})") from None
    finally:
        con.close()


def _corpus_provenance(db_path: str | Path, params: Params) -> None:
    """Build the corpus provenance tables (edges, doc_provenance...) with the same code
    as ``Index.build`` does, from the loaded passages and clusters."""
    try:
        from newstrace.corpus_provenance import compute_provenance
    except ImportError:  # an engine without corpus provenance
        return
    from newstrace.index import Index

    with Index.open(db_path, params) as idx:
        compute_provenance(idx)
