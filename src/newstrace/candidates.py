"""Stage 4: postings -> candidate document pairs (a SQL self-join in DuckDB).

A pair is a candidate when the two documents share at least
``min_shared_ngrams`` fingerprints that occur in at most ``max_doc_freq``
documents. Dropping frequent fingerprints (boilerplate, formulaic phrases) is
what keeps the join near-linear: each kept fingerprint contributes at most
``max_doc_freq**2 / 2`` pairs. A candidate is not a match; only alignment decides.

Two rules keep the join linear whatever the corpus. Near duplicates (``neardup``) post
only the fingerprints their parent lacks and are paired with it directly, so a story's
fingerprints count once however often it is reprinted. And each document keeps at most
``max_pairs_per_doc`` partners, those sharing the most fingerprints (a pair stays when
it is in the top list of either document): an adversarial corpus of phrases each in
``max_doc_freq`` documents cannot make the pairs quadratic. In an incremental build the
ranking of an old document counts only the pairs found in that build.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from newstrace.params import Params
from newstrace.store import get_meta, registered, set_meta, transaction

#: Up to this many new documents, candidates are found through the packed postings
#: lookup (cost ~ their fingerprints) rather than a join over all postings (cost ~ corpus).
SMALL_INCREMENT = 1000


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
        n_new, first_new = con.execute("SELECT count(*), min(doc_key) FROM new_docs").fetchall()[0]
        if n_new == 0:
            return 0
        before = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
        if n_new <= SMALL_INCREMENT and _runs(con):
            # a few new documents: read the postings of their fingerprints through the
            # packed lookup instead of joining against every stored posting
            new_hashes = con.execute(
                "SELECT DISTINCT hash FROM postings WHERE doc_key >= ? "
                "AND doc_key IN (SELECT doc_key FROM new_docs)",
                [first_new],
            ).fetchnumpy()["hash"]
            hs, ds = lookup_postings(con, np.asarray(new_hashes, np.int64), params.max_doc_freq)
            with registered(con, hits=pa.table({"hash": hs, "doc_key": ds})):
                _insert_pairs(con, "hits", params)
        else:
            _insert_pairs(con, "postings", params)
        # near duplicates (``neardup``): one pair with the parent, a star per group
        con.execute(
            """
            INSERT INTO pairs (a_key, b_key, shared)
            SELECT least(parent_key, doc_key), greatest(parent_key, doc_key), shared
            FROM near_dups SEMI JOIN new_docs USING (doc_key)
            """
        )
        # ...and in a group of at most max_doc_freq documents, every copy with every
        # copy, as without grouping (which copy reprinted which stays visible)
        con.execute(
            """
            INSERT INTO pairs (a_key, b_key, shared)
            WITH g AS (SELECT doc_key, root_key FROM near_dups
                       UNION ALL SELECT DISTINCT root_key, root_key FROM near_dups),
                 small AS (SELECT root_key FROM g GROUP BY root_key HAVING count(*) <= ?)
            SELECT x.doc_key, nd.doc_key, nd.shared
            FROM near_dups nd SEMI JOIN new_docs USING (doc_key) SEMI JOIN small USING (root_key)
            JOIN g x ON x.root_key = nd.root_key AND x.doc_key < nd.doc_key
                        AND x.doc_key <> nd.parent_key
            """,
            [params.max_doc_freq],
        )
        con.execute("INSERT INTO paired SELECT doc_key FROM new_docs")
        after = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    return int(after - before)


def _insert_pairs(con: duckdb.DuckDBPyConnection, source: str, params: Params) -> None:
    """The candidate join over ``source`` (all postings, or every posting of the new
    documents' fingerprints)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE useful AS
        SELECT hash FROM {source}
        WHERE hash IN (SELECT p.hash FROM {source} p SEMI JOIN new_docs n USING (doc_key))
        GROUP BY hash HAVING count(*) BETWEEN 2 AND ?
        """,
        [params.max_doc_freq],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE new_postings AS
        SELECT p.hash, p.doc_key FROM {source} p
        SEMI JOIN new_docs n USING (doc_key)
        SEMI JOIN useful u USING (hash)
        """
    )
    found = f"""
        SELECT least(n.doc_key, p.doc_key) AS a_key, greatest(n.doc_key, p.doc_key) AS b_key,
               count(*) AS shared
        FROM new_postings n
        JOIN {source} p ON p.hash = n.hash AND p.doc_key <> n.doc_key
        WHERE p.doc_key NOT IN (SELECT doc_key FROM new_docs) OR p.doc_key < n.doc_key
        GROUP BY 1, 2
        HAVING count(*) >= $min_shared
        """
    if params.max_pairs_per_doc <= 0:
        con.execute(f"INSERT INTO pairs (a_key, b_key, shared) {found}",
                    {"min_shared": params.min_shared_ngrams})
        return
    # the evidence cap: each document keeps its top partners by shared fingerprints
    con.execute(f"CREATE OR REPLACE TEMP TABLE found_pairs AS {found}", {"min_shared": params.min_shared_ngrams})
    con.execute(
        """
        INSERT INTO pairs (a_key, b_key, shared)
        SELECT a_key, b_key, any_value(shared) FROM (
            SELECT a_key, b_key, shared,
                   row_number() OVER (PARTITION BY d ORDER BY shared DESC, o) AS rank
            FROM (SELECT a_key AS d, b_key AS o, * FROM found_pairs
                  UNION ALL SELECT b_key AS d, a_key AS o, * FROM found_pairs)
        ) WHERE rank <= ? GROUP BY a_key, b_key
        """,
        [params.max_pairs_per_doc],
    )
    con.execute("DROP TABLE found_pairs")


def rank_documents_for_hashes(
    con: duckdb.DuckDBPyConnection, hashes: list[int], params: Params, limit: int
) -> list[tuple[int, int]]:
    """Documents sharing the most (non-boilerplate) fingerprints with a query.

    Returns:
        ``[(doc_key, shared)]`` best first, at most ``limit``, each with
        ``shared >= min_shared_ngrams``.
    """
    if not len(hashes):
        return []
    hs, ds = lookup_postings(con, np.asarray(hashes, np.int64), params.max_doc_freq)
    if hs.shape[0] == 0:
        return []
    _, inverse, df = np.unique(hs, return_inverse=True, return_counts=True)
    keys, shared = np.unique(ds[df[inverse] <= params.max_doc_freq], return_counts=True)
    ok = shared >= params.min_shared_ngrams
    keys, shared = keys[ok], shared[ok]
    order = np.lexsort((keys, -shared))[:limit]
    return [(int(keys[i]), int(shared[i])) for i in order]


# -- the trace lookup index ------------------------------------------------------------------
#
# A trace needs the postings of ~100 query fingerprints. Scanning the ``postings`` table
# costs time linear in the corpus (120 ms at 100k documents), so the postings are also
# packed, sorted by hash, into blocks of ``PACK_BLOCK`` entries stored as BLOBs in
# ``postings_blocks``. The first hash of every block is kept in memory; a lookup finds
# the blocks that can hold each query hash by binary search and fetches only those
# (~1 ms per 100 hashes, whatever the corpus size).
#
# Packing is incremental, like a log-structured merge: each pack turns the postings of
# documents fingerprinted since the last pack into a new sorted *run* (a doc_key range),
# then merges it with the newest older runs while they are less than ``PACK_MERGE``
# times larger, so a corpus has O(log n) runs and each posting is rewritten O(log n)
# times. Postings not yet packed (fewer than ``PACK_MIN_ROWS``) are scanned directly;
# ``postings`` is appended in doc_key order, so that scan reads only its tail. A pack
# is one transaction: an interrupted one leaves the previous runs in place.

PACK_BLOCK = 1024
PACK_MIN_ROWS = 200_000
PACK_MERGE = 4
_RUNS_KEY = "postings_runs"
_block_cache: dict[int, tuple[str, list[tuple[np.ndarray, np.ndarray]]]] = {}


def _runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, int]]:
    return list(get_meta(con, _RUNS_KEY) or [])


def _upto(runs: list[dict[str, int]]) -> int:
    return max((r["hi"] for r in runs), default=0)


def packed_upto(con: duckdb.DuckDBPyConnection) -> int:
    """Documents with ``doc_key`` up to this have their postings packed."""
    return _upto(_runs(con))


def pack_postings(
    con: duckdb.DuckDBPyConnection,
    min_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Pack new postings into a sorted run (merging smaller runs); return rows written.

    Nothing is done while fewer than ``min_rows`` (default ``PACK_MIN_ROWS``) postings
    are unpacked. Call after fingerprinting: every document up to the largest
    fingerprinted ``doc_key`` must have its postings stored.
    """
    min_rows = PACK_MIN_ROWS if min_rows is None else min_rows
    runs = _runs(con)
    lo = _upto(runs)
    hi, n_new = con.execute(
        "SELECT coalesce(max(doc_key), 0), count(*) FROM postings WHERE doc_key > ?", [lo]
    ).fetchall()[0]
    if n_new == 0 or n_new < min_rows:
        return 0
    merged: dict[str, Any] = {"lo": lo, "hi": int(hi), "rows": int(n_new)}
    dropped: list[dict[str, int]] = []
    while runs and runs[-1]["rows"] < PACK_MERGE * merged["rows"]:
        old = runs.pop()
        dropped.append(old)
        merged = {"lo": old["lo"], "hi": merged["hi"], "rows": old["rows"] + merged["rows"]}
    next_block = int(con.execute("SELECT coalesce(max(block), -1) + 1 FROM postings_blocks").fetchall()[0][0])
    merged["first_block"] = next_block
    merged["token"] = uuid.uuid4().hex  # tells cached block starts of another pack apart
    total = merged["rows"]
    written = 0
    with transaction(con):
        if dropped:
            con.execute(
                "DELETE FROM postings_blocks WHERE block >= ?", [min(r["first_block"] for r in dropped)]
            )
        # read through a second cursor: the connection itself is writing the blocks
        reader = con.cursor().sql(
            "SELECT hash, doc_key FROM postings WHERE doc_key > $lo AND doc_key <= $hi ORDER BY hash, doc_key",
            params={"lo": merged["lo"], "hi": merged["hi"]},
        ).to_arrow_reader(PACK_BLOCK * 512)
        block = next_block
        carry_h = np.empty(0, np.int64)
        carry_d = np.empty(0, np.int32)
        for batch in reader:
            hs = np.concatenate([carry_h, batch.column(0).to_numpy().astype(np.int64, copy=False)])
            ds = np.concatenate([carry_d, batch.column(1).to_numpy().astype(np.int32, copy=False)])
            full = (hs.shape[0] // PACK_BLOCK) * PACK_BLOCK
            if full:
                block = _write_blocks(con, block, hs[:full], ds[:full])
            carry_h, carry_d = hs[full:], ds[full:]
            written += full
            if progress:
                progress(written, total)
        if carry_h.shape[0]:
            block = _write_blocks(con, block, carry_h, carry_d)
            written += carry_h.shape[0]
        merged["blocks"] = block - next_block
        set_meta(con, _RUNS_KEY, [*runs, merged])
    if progress:
        progress(total, total)
    return written


def _write_blocks(con: duckdb.DuckDBPyConnection, first: int, hs: np.ndarray, ds: np.ndarray) -> int:
    starts = np.arange(0, hs.shape[0], PACK_BLOCK)
    table = pa.table(
        {
            "block": pa.array(np.arange(first, first + starts.shape[0], dtype=np.int64)),
            "first_hash": pa.array(hs[starts]),
            "hashes": pa.array([hs[s : s + PACK_BLOCK].tobytes() for s in starts], pa.binary()),
            "doc_keys": pa.array([ds[s : s + PACK_BLOCK].tobytes() for s in starts], pa.binary()),
        }
    )
    with registered(con, new_blocks=table):
        con.execute("INSERT INTO postings_blocks SELECT * FROM new_blocks")
    return first + starts.shape[0]


def _block_starts(con: duckdb.DuckDBPyConnection, runs: list[dict[str, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per run: (first hash of each block, block ids), cached per connection and runs state."""
    state = repr([r.get("token") for r in runs])
    hit = _block_cache.get(id(con))
    if hit is not None and hit[0] == state:
        return hit[1]
    out = []
    for r in runs:
        rel = con.execute(
            "SELECT block, first_hash FROM postings_blocks WHERE block >= ? AND block < ? ORDER BY block",
            [r["first_block"], r["first_block"] + r["blocks"]],
        ).fetchnumpy()
        out.append((np.asarray(rel["first_hash"], np.int64), np.asarray(rel["block"], np.int64)))
    _block_cache[id(con)] = (state, out)
    return out


def lookup_postings(
    con: duckdb.DuckDBPyConnection, hashes: np.ndarray, max_doc_freq: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All ``(hash, doc_key)`` postings of the given hashes (packed runs + unpacked tail).

    A hash spanning more blocks than ``max_doc_freq`` entries can fill is known to be
    too common: it is left out (all of its postings) without reading its blocks.
    """
    q = np.unique(np.asarray(hashes, dtype=np.int64))
    if q.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int32)
    runs = _runs(con)
    starts = _block_starts(con, runs)
    spans = [(np.searchsorted(first, q, "left"), np.searchsorted(first, q, "right")) for first, _ in starts]
    if max_doc_freq is not None:  # blocks left..right-2 hold only this hash: too common
        common = np.zeros(q.shape[0], dtype=bool)
        for left, right in spans:
            common |= (right - left - 1) * PACK_BLOCK > max_doc_freq
        if common.any():  # dropped everywhere (tail too), so no partial count looks rare
            q = q[~common]
            spans = [(left[~common], right[~common]) for left, right in spans]
    want: list[np.ndarray] = []
    for (_, ids), (left, right) in zip(starts, spans, strict=True):
        keep = right > 0
        for a, b in zip(np.maximum(left[keep] - 1, 0), right[keep] - 1, strict=True):
            want.append(ids[a : b + 1])
    hs_parts: list[np.ndarray] = []
    ds_parts: list[np.ndarray] = []
    if want:
        blocks = np.unique(np.concatenate(want))
        with registered(con, want_blocks=pa.table({"block": pa.array(blocks)})):
            rows = con.execute(
                "SELECT hashes, doc_keys FROM postings_blocks SEMI JOIN want_blocks USING (block)"
            ).fetchall()
        if rows:
            bh = np.frombuffer(b"".join(r[0] for r in rows), np.int64)
            bd = np.frombuffer(b"".join(r[1] for r in rows), np.int32)
            at = np.searchsorted(q, bh)  # q is sorted and small: no sort of the blocks
            at[at == q.shape[0]] = 0
            sel = q[at] == bh
            hs_parts.append(bh[sel])
            ds_parts.append(bd[sel])
    with registered(con, query_hashes=pa.table({"hash": pa.array(q)})):
        tail = con.execute(
            "SELECT hash, doc_key FROM postings WHERE doc_key > ? AND hash IN (SELECT hash FROM query_hashes)",
            [_upto(runs)],
        ).fetchnumpy()
    hs_parts.append(np.asarray(tail["hash"], np.int64))
    ds_parts.append(np.asarray(tail["doc_key"], np.int32))
    return np.concatenate(hs_parts), np.concatenate(ds_parts)
