"""Stage 4: postings -> candidate document pairs (a SQL self-join in DuckDB).

A pair is a candidate when the two documents share at least
``min_shared_ngrams`` fingerprints that occur in at most ``max_doc_freq``
documents. Dropping frequent fingerprints (boilerplate, formulaic phrases) is
what keeps the join near-linear: each kept fingerprint contributes at most
``max_doc_freq**2 / 2`` pairs. A candidate is not a match; only alignment decides.
"""

from __future__ import annotations

import duckdb

from newstrace.params import Params
from newstrace.store import transaction


def find_new_candidates(con: duckdb.DuckDBPyConnection, params: Params) -> int:
    """Find candidate pairs involving documents not yet paired; store them in ``pairs``.

    Pairs among old documents are never recomputed (incremental indexing). Runs
    in one transaction with marking the new documents as ``paired``.

    Returns:
        The number of new candidate pairs.
    """
    with transaction(con):
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE new_docs AS
            SELECT f.doc_key FROM fingerprinted f ANTI JOIN paired p USING (doc_key)
            """
        )
        n_new = con.execute("SELECT count(*) FROM new_docs").fetchall()[0][0]
        if n_new == 0:
            return 0
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE useful AS
            SELECT hash FROM postings
            WHERE hash IN (SELECT p.hash FROM postings p SEMI JOIN new_docs n USING (doc_key))
            GROUP BY hash HAVING count(*) BETWEEN 2 AND ?
            """,
            [params.max_doc_freq],
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE new_postings AS
            SELECT p.hash, p.doc_key FROM postings p
            SEMI JOIN new_docs n USING (doc_key)
            SEMI JOIN useful u USING (hash)
            """
        )
        before = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
        con.execute(
            """
            INSERT INTO pairs (a_key, b_key, shared)
            SELECT least(n.doc_key, p.doc_key), greatest(n.doc_key, p.doc_key), count(*)
            FROM new_postings n
            JOIN postings p ON p.hash = n.hash AND p.doc_key <> n.doc_key
            WHERE p.doc_key NOT IN (SELECT doc_key FROM new_docs) OR p.doc_key < n.doc_key
            GROUP BY 1, 2
            HAVING count(*) >= ?
            """,
            [params.min_shared_ngrams],
        )
        con.execute("INSERT INTO paired SELECT doc_key FROM new_docs")
        after = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    return int(after - before)


def rank_documents_for_hashes(
    con: duckdb.DuckDBPyConnection, hashes: list[int], params: Params, limit: int
) -> list[tuple[int, int]]:
    """Documents sharing the most (non-boilerplate) fingerprints with a query.

    Returns:
        ``[(doc_key, shared)]`` best first, at most ``limit``, each with
        ``shared >= min_shared_ngrams``.
    """
    if not hashes:
        return []
    import pyarrow as pa

    query = pa.table({"hash": pa.array(sorted(set(hashes)), type=pa.int64())})
    con.register("query_hashes", query)
    try:
        rows = con.execute(
            """
            WITH hits AS (
                SELECT p.hash, p.doc_key FROM postings p SEMI JOIN query_hashes q USING (hash)
            ), ok AS (
                SELECT hash FROM hits GROUP BY hash HAVING count(*) <= ?
            )
            SELECT doc_key, count(*) AS shared FROM hits SEMI JOIN ok USING (hash)
            GROUP BY doc_key HAVING count(*) >= ?
            ORDER BY shared DESC, doc_key LIMIT ?
            """,
            [params.max_doc_freq, params.min_shared_ngrams, limit],
        ).fetchall()
    finally:
        con.unregister("query_hashes")
    return [(int(k), int(s)) for k, s in rows]
