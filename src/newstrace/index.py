"""The library API: an ``Index`` over one DuckDB file, and the pipeline that builds it.

>>> from newstrace import Index                                # doctest: +SKIP
>>> idx = Index.open("news.duckdb")                            # doctest: +SKIP
>>> idx.add([{"id": "a1", "text": "..."}])                     # doctest: +SKIP
>>> idx.build()                                                # doctest: +SKIP
>>> result = idx.trace("pasted article text")                  # doctest: +SKIP

Stages (each resumable; see ``store``): fingerprint -> candidates -> align -> cluster.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from newstrace import neardup, provenance
from newstrace.align import align_many, align_tokens, rows_to_passages
from newstrace.candidates import find_new_candidates, pack_postings, rank_documents_for_hashes
from newstrace.cluster import CLUSTER_MIN_SCORE, cluster_arrays, family_arrays
from newstrace.corpus_provenance import compute_provenance
from newstrace.errors import IncompatibleIndex, UserError
from newstrace.evasion import evasion_marks
from newstrace.ingest import Rejected, coerce_documents, content_hash, read_located
from newstrace.model import Document, IngestReport, Passage
from newstrace.params import CONFIG_NAME, Params
from newstrace.params import resolve as resolve_params
from newstrace.shingles import document_fingerprints, ngram_hashes
from newstrace.store import connect, get_meta, registered, set_meta, transaction
from newstrace.tokens import Tokens, tokenize_text

#: progress(stage, done, total) -- called as work advances; total may be 0 if unknown.
ProgressFn = Callable[[str, int, int], None]

FINGERPRINT_BATCH = 2000
ALIGN_BATCH = 20000


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _token_rows(keys: list[int], data: list[bytes]) -> pa.Table:
    """Rows of ``doc_tokens``: each document's ``Tokens.to_bytes()``."""
    return pa.table({"doc_key": pa.array(keys, pa.int32()), "data": pa.array(data, pa.binary())})


@dataclass
class BuildReport:
    """What ``Index.build`` did, with wall seconds per stage."""

    fingerprinted: int = 0
    candidate_pairs: int = 0
    aligned_pairs: int = 0
    passages: int = 0
    clusters: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"fingerprinted {self.fingerprinted} document(s), {self.candidate_pairs} new candidate "
            f"pair(s), aligned {self.aligned_pairs}, {self.passages} new passage(s), "
            f"{self.clusters} cluster(s)"
        )


class _TokenCache:
    """LRU cache of tokenised documents, so alignment does not re-tokenise."""

    def __init__(self, max_docs: int = 50_000) -> None:
        self.max_docs = max_docs
        self.items: OrderedDict[int, Tokens] = OrderedDict()

    def get(self, key: int) -> Tokens | None:
        tok = self.items.get(key)
        if tok is not None:
            self.items.move_to_end(key)
        return tok

    def put(self, key: int, tok: Tokens) -> None:
        self.items[key] = tok
        self.items.move_to_end(key)
        while len(self.items) > self.max_docs:
            self.items.popitem(last=False)


def _signature_diff(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    """'ngram_tokens=3 (asked: 4), ...': the index parameters that differ."""
    names = sorted(set(stored) | set(wanted), key=lambda n: (n not in wanted, n))
    return ", ".join(f"{n}={stored.get(n)!r} (asked: {wanted.get(n)!r})"
                     for n in names if stored.get(n) != wanted.get(n))


class Index:
    """A newstrace index stored in one DuckDB file.

    Use ``Index.open(path)``; ``add``/``ingest`` store documents, ``build`` runs the
    pipeline incrementally, ``trace`` answers "where did this text come from?".
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, params: Params, read_only: bool):
        self.con = con
        self.path = path
        self.params = params
        self.read_only = read_only
        self._tokens = _TokenCache()

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | Path, params: Params | None = None, read_only: bool = False,
        overrides: Mapping[str, Any] | None = None,
    ) -> Index:
        """Open or create the index at ``path``.

        Args:
            params: the parameters to use, as given. None (the default) reads them back:
                those stored by the index's last build, then ``newstrace.toml`` beside
                the database, then ``overrides`` (``--set``), each over the one before
                (``params.resolve``).
            overrides: parameter values that win over the stored and configured ones
                (only with ``params=None``).

        Raises:
            IncompatibleIndex: the index was built with other fingerprint parameters.
            UserError: the file cannot be opened, or a parameter is unknown or ill-typed.
        """
        con = connect(path, read_only=read_only)
        try:  # a damaged file or bad parameters: do not leave the connection open
            if params is None:
                params, _ = resolve_params(
                    get_meta(con, "params"), Path(path).parent / CONFIG_NAME, overrides
                )
            stored = get_meta(con, "index_signature")
        except BaseException:
            con.close()
            raise
        if stored is not None and stored != params.index_signature():
            con.close()
            raise IncompatibleIndex(
                f"{path}: index built with {_signature_diff(stored, params.index_signature())}",
                hint="use the same parameters, or build a new database",
            )
        return cls(con, Path(path), params, read_only)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest -------------------------------------------------------------------------------
    def add(
        self,
        docs: Iterable[Document | Mapping[str, Any]],
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Store documents (dicts with ``id``/``text``/... or ``Document``); skip duplicates."""
        located = ((item.where if isinstance(item, Rejected) else f"record {n}", item)
                   for n, item in enumerate(coerce_documents(docs), 1))
        return self._store_items(located, progress or _no_progress)

    def ingest(
        self,
        paths: Iterable[str | Path],
        field_map: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
        date_order: str | None = None,
        follow_symlinks: bool = False,
    ) -> IngestReport:
        """Read files (JSONL, CSV, .txt folders, HTML, WARC) and store their documents.

        Bad records are reported in the returned ``IngestReport.rejected`` with file
        and line; every good record is stored. ``date_order`` (``"dmy"``/``"mdy"``) says
        how to read numeric dates like 03/05/2024 (without it: day first, with a warning).
        Symbolic links inside a folder that point outside it are rejected unless
        ``follow_symlinks``.
        """
        pages = False

        def watch(items: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
            nonlocal pages
            for where, item in items:
                if not pages and not isinstance(item, Rejected) and _from_page(where):
                    pages = True
                yield where, item

        items = read_located(paths, field_map, date_order, follow_symlinks=follow_symlinks)
        report = self._store_items(watch(items), progress or _no_progress)
        if pages and not self.read_only:  # HTML / WARC pages: boilerplate is stripped by default
            set_meta(self.con, "scraped_pages", True)
        return report

    def _store_items(self, items: Iterable[tuple[str, Any]], progress: ProgressFn) -> IngestReport:
        """Store ``(where, item)`` pairs; ``where`` names the file and line in rejections."""
        self._require_writable()
        added = duplicates = 0
        rejected: list[tuple[str, str]] = []
        warnings: list[tuple[str, str]] = []
        batch: list[tuple[Document, str, str]] = []
        seen_in_batch: dict[str, str] = {}
        n = 0

        def flush() -> None:
            nonlocal added, duplicates
            if not batch:
                return
            a, d, rej = self._insert_documents(batch)
            added += a
            duplicates += d
            rejected.extend(rej)
            batch.clear()
            seen_in_batch.clear()

        for where, item in items:
            n += 1
            if isinstance(item, Rejected):
                rejected.append((item.where, item.reason))
            else:
                doc, warns = item
                for w in warns:
                    warnings.append((doc.id, w))
                digest = content_hash(
                    {
                        "publisher": doc.publisher, "url": doc.url, "title": doc.title,
                        "published_at": doc.published_at.isoformat() if doc.published_at else "",
                        "text": doc.text,
                    }
                )
                prev = seen_in_batch.get(doc.id)
                if prev is not None:
                    if prev == digest:
                        duplicates += 1
                    else:
                        rejected.append((where, f"duplicate id {doc.id[:80]!r} with different content"))
                else:
                    seen_in_batch[doc.id] = digest
                    batch.append((doc, digest, where))
                if len(batch) >= 2000:
                    flush()
            progress("ingest", n, 0)
        flush()
        return IngestReport(
            added=added, duplicates=duplicates, rejected=rejected, warnings=warnings
        )

    def _insert_documents(
        self, batch: list[tuple[Document, str, str]]
    ) -> tuple[int, int, list[tuple[str, str]]]:
        con = self.con
        ids = [d.id for d, _, _ in batch]
        existing = dict(
            con.execute(
                "SELECT id, content_hash FROM documents WHERE id IN (SELECT unnest(?))", [ids]
            ).fetchall()
        )
        new = []
        dup = 0
        rejected = []
        for doc, digest, where in batch:
            old = existing.get(doc.id)
            if old is None:
                new.append((doc, digest))
            elif old == digest:
                dup += 1
            else:
                rejected.append(
                    (where, f"duplicate id {doc.id[:80]!r} with different content (already stored)")
                )
        if new:
            table = pa.table(
                {
                    "id": [d.id for d, _ in new],
                    "url": [d.url for d, _ in new],
                    "publisher": [d.publisher for d, _ in new],
                    "published_at": pa.array([d.published_at for d, _ in new], pa.timestamp("us")),
                    "title": [d.title for d, _ in new],
                    "text": [d.text for d, _ in new],
                    "content_hash": [h for _, h in new],
                    "n_chars": [len(d.text) for d, _ in new],
                }
            )
            with registered(con, new_documents=table):
                con.execute(
                    """
                    INSERT INTO documents (doc_key, id, url, publisher, published_at, title, text,
                                           content_hash, n_chars)
                    SELECT nextval('doc_key_seq'), id, url, publisher, published_at, title, text,
                           content_hash, n_chars
                    FROM new_documents
                    """
                )
        return len(new), dup, rejected

    # -- build ---------------------------------------------------------------------------------
    def build(
        self, progress: ProgressFn | None = None, refresh: bool = True, boilerplate: bool | None = None
    ) -> BuildReport:
        """Run fingerprint -> candidates -> align -> cluster -> provenance on new documents.

        Old pairs are never re-aligned; new postings are packed for trace lookups
        (``candidates.pack_postings``); clusters and corpus provenance are
        recomputed from all passages. Safe to interrupt: the next call resumes.

        Args:
            progress: Called as ``progress(stage, done, total)``.
            refresh: With False, stop after alignment (new passages stored; clusters
                and provenance tables left as they were until the next full build).
                Cheap enough to call for every few new articles (``watch run``).
            boilerplate: True to leave page boilerplate (``boilerplate.py``: site
                templates, banal notices) out of clustering, for scraped web pages;
                False to keep it. Stored in the database; None keeps the stored
                choice, and with none stored it is on for pages ingested from HTML or
                WARC and for corpora that look scraped (``strips_boilerplate``).
        """
        self._require_writable()
        progress = progress or _no_progress
        report = BuildReport()
        stored = get_meta(self.con, "index_signature")
        if stored is None:
            set_meta(self.con, "index_signature", self.params.index_signature())
        elif stored != self.params.index_signature():
            raise IncompatibleIndex(
                f"{self.path}: index built with "
                f"{_signature_diff(stored, self.params.index_signature())}",
                hint="use the same parameters, or build a new database",
            )
        set_meta(self.con, "params", self.params.to_json())
        if boilerplate is not None:
            set_meta(self.con, "strip_boilerplate", bool(boilerplate))
        t = time.perf_counter()
        report.fingerprinted = self._fingerprint(progress)
        report.seconds["fingerprint"] = time.perf_counter() - t
        t = time.perf_counter()
        progress("candidates", 0, 1)
        report.candidate_pairs = find_new_candidates(self.con, self.params)
        progress("candidates", 1, 1)
        report.seconds["candidates"] = time.perf_counter() - t
        t = time.perf_counter()
        report.aligned_pairs, report.passages = self._align(progress)
        report.seconds["align"] = time.perf_counter() - t
        t = time.perf_counter()
        pack_postings(self.con, progress=lambda done, total: progress("pack", done, total))
        report.seconds["pack"] = time.perf_counter() - t
        if not refresh:
            return report
        t = time.perf_counter()
        report.clusters = self._cluster(progress)
        report.seconds["cluster"] = time.perf_counter() - t
        t = time.perf_counter()
        progress("provenance", 0, 1)
        compute_provenance(self, lambda done, total: progress("provenance", done, total))
        progress("provenance", 1, 1)
        report.seconds["provenance"] = time.perf_counter() - t
        return report

    def _tokenize(self, key: int, text: str) -> Tokens:
        tok = self._tokens.get(key)
        if tok is None:
            tok = tokenize_text(text, self.params.stem)
            self._tokens.put(key, tok)
        return tok

    def _tokenize_key(self, key: int) -> Tokens:
        (text,) = self.con.execute("SELECT text FROM documents WHERE doc_key = ?", [key]).fetchall()[0]
        return self._tokenize(key, text)

    def _fingerprint(self, progress: ProgressFn) -> int:
        con = self.con
        todo = con.execute(
            "SELECT doc_key FROM documents ANTI JOIN fingerprinted USING (doc_key) ORDER BY doc_key"
        ).fetchall()
        keys = [k for (k,) in todo]
        total = len(keys)
        done = 0
        progress("fingerprint", 0, total)
        for lo in range(0, total, FINGERPRINT_BATCH):
            chunk = keys[lo : lo + FINGERPRINT_BATCH]
            rows = con.execute(
                "SELECT doc_key, text FROM documents WHERE doc_key IN (SELECT unnest(?))", [chunk]
            ).fetchall()
            hash_parts = []
            key_parts = []
            fp_keys, fp_tokens, fp_ngrams, fp_data = [], [], [], []
            for key, text in rows:
                tok = self._tokenize(key, text)
                fp_data.append(tok.to_bytes())
                hashes = document_fingerprints(tok, self.params.ngram_tokens)
                hash_parts.append(hashes)
                key_parts.append(np.full(hashes.shape[0], key, dtype=np.int32))
                fp_keys.append(key)
                fp_tokens.append(len(tok))
                fp_ngrams.append(int(hashes.shape[0]))
            near = self._near_duplicates(fp_keys, hash_parts)
            for i, key in enumerate(fp_keys):
                residual = near["residual"].get(key)
                if residual is not None:  # a near duplicate posts what its parent lacks
                    hash_parts[i] = residual
                    key_parts[i] = key_parts[i][: residual.shape[0]]
            postings = pa.table(
                {
                    "hash": np.concatenate(hash_parts) if hash_parts else np.empty(0, np.int64),
                    "doc_key": np.concatenate(key_parts) if key_parts else np.empty(0, np.int32),
                }
            )
            marks = pa.table({"doc_key": fp_keys, "n_tokens": fp_tokens, "n_ngrams": fp_ngrams})
            stored = _token_rows(fp_keys, fp_data)
            with transaction(con, batch_postings=postings, batch_marks=marks, batch_tokens=stored,
                             batch_sigs=near["sigs"], batch_buckets=near["buckets"],
                             batch_near=near["near"]):
                con.execute("INSERT INTO postings SELECT hash, doc_key FROM batch_postings")
                con.execute("INSERT INTO minhash SELECT doc_key, sig FROM batch_sigs")
                con.execute("INSERT INTO lsh_buckets SELECT bucket, doc_key FROM batch_buckets")
                con.execute(
                    "INSERT INTO near_dups SELECT doc_key, parent_key, root_key, shared, similarity "
                    "FROM batch_near"
                )
                con.execute("INSERT INTO doc_tokens SELECT doc_key, data FROM batch_tokens")
                con.execute("INSERT INTO fingerprinted SELECT doc_key, n_tokens, n_ngrams FROM batch_marks")
            done += len(chunk)
            progress("fingerprint", done, total)
        return total

    def _near_duplicates(self, keys: list[int], hash_sets: list[np.ndarray]) -> dict[str, Any]:
        """Group a fingerprinted batch (``keys`` ascending) with earlier documents (``neardup``).

        Returns the rows to store (``sigs``, ``buckets``, ``near`` as Arrow tables) and
        ``residual``: for each near duplicate, the fingerprints its parent lacks.
        """
        con = self.con
        threshold = self.params.near_dup_threshold
        ok = [i for i, h in enumerate(hash_sets)
              if threshold > 0 and neardup.eligible(h.shape[0], self.params.min_shared_ngrams)]
        ok_keys = [keys[i] for i in ok]
        sigs = neardup.signatures([hash_sets[i] for i in ok]) if ok else np.empty((0, neardup.MINHASH_K), np.int64)
        bands = neardup.band_keys(sigs) if ok else np.empty((0, neardup.MINHASH_BANDS), np.int64)
        known_first: dict[int, int] = {}
        known_sigs: dict[int, np.ndarray] = {}
        if ok:
            with registered(con, batch_bands=pa.table({"bucket": bands.ravel()})):
                known_first = dict(con.execute(
                    "SELECT bucket, doc_key FROM lsh_buckets SEMI JOIN batch_bands USING (bucket)"
                ).fetchall())
            if known_first:
                got = con.execute(
                    "SELECT doc_key, sig FROM minhash WHERE doc_key IN (SELECT unnest(?))",
                    [sorted(set(known_first.values()))],
                ).fetchall()
                known_sigs = {k: np.asarray(sig, np.int64) for k, sig in got}
        parents, firsts = neardup.group_batch(
            ok_keys, sigs, bands, known_first, known_sigs, neardup.needed_equal(threshold)
        )
        by_key = dict(zip(keys, hash_sets, strict=True))
        roots: dict[int, int] = {}
        outside = sorted({p for p, _ in parents.values() if p not in by_key})
        if outside:
            roots = dict(con.execute(
                "SELECT doc_key, root_key FROM near_dups WHERE doc_key IN (SELECT unnest(?))", [outside]
            ).fetchall())
        for key in sorted(parents):
            parent = parents[key][0]
            roots[key] = roots.get(parent, parent)
        # what each group has posted so far: a member posts only fingerprints new to its group
        posted: dict[int, np.ndarray] = {}
        old_roots = sorted({r for k, r in roots.items() if k in parents and r not in by_key})
        if old_roots:
            rel = con.execute(
                """
                SELECT g.root, p.hash FROM postings p JOIN (
                    SELECT doc_key, root_key AS root FROM near_dups WHERE root_key IN (SELECT unnest($r))
                    UNION ALL SELECT unnest($r), unnest($r)) g USING (doc_key)
                """,
                {"r": old_roots},
            ).fetchnumpy()
            got_r = np.asarray(rel["root"], np.int64)
            got_h = np.asarray(rel["hash"], np.int64)
            order = np.argsort(got_r, kind="stable")
            got_r, got_h = got_r[order], got_h[order]
            cuts = np.flatnonzero(np.diff(got_r)) + 1
            for part_r, part_h in zip(np.split(got_r, cuts), np.split(got_h, cuts), strict=True):
                if part_r.shape[0]:
                    posted[int(part_r[0])] = np.unique(part_h)
        residual: dict[int, np.ndarray] = {}
        near_rows: dict[str, list[Any]] = {n: [] for n in ("doc_key", "parent_key", "root_key", "shared",
                                                            "similarity")}
        for key in sorted(parents):
            parent, eq = parents[key]
            root = roots[key]
            own = by_key[key]
            have = posted.get(root)
            if have is None:  # a root of this batch: it posted all of its fingerprints
                have = by_key[root]
            residual[key] = np.setdiff1d(own, have, assume_unique=True)
            posted[root] = np.union1d(have, residual[key]) if residual[key].shape[0] else have
            near_rows["doc_key"].append(key)
            near_rows["parent_key"].append(parent)
            near_rows["root_key"].append(root)
            near_rows["shared"].append(int(own.shape[0] - residual[key].shape[0]))
            near_rows["similarity"].append(eq / neardup.MINHASH_K)
        sig_table = pa.table({
            "doc_key": pa.array(ok_keys, pa.int32()),
            "sig": pa.ListArray.from_arrays(
                pa.array(np.arange(0, sigs.size + 1, neardup.MINHASH_K, dtype=np.int32)),
                pa.array(sigs.ravel()),
            ),
        })
        bucket_table = pa.table({
            "bucket": pa.array(list(firsts), pa.int64()),
            "doc_key": pa.array(list(firsts.values()), pa.int32()),
        })
        near_table = pa.table({
            "doc_key": pa.array(near_rows["doc_key"], pa.int32()),
            "parent_key": pa.array(near_rows["parent_key"], pa.int32()),
            "root_key": pa.array(near_rows["root_key"], pa.int32()),
            "shared": pa.array(near_rows["shared"], pa.int32()),
            "similarity": pa.array(near_rows["similarity"], pa.float64()),
        })
        return {"sigs": sig_table, "buckets": bucket_table, "near": near_table, "residual": residual}

    def _align(self, progress: ProgressFn) -> tuple[int, int]:
        con = self.con
        total = con.execute("SELECT count(*) FROM pairs WHERE NOT aligned").fetchall()[0][0]
        progress("align", 0, total)
        done = n_passages = 0
        todo = con.execute(
            "SELECT a_key, b_key FROM pairs WHERE NOT aligned ORDER BY a_key, b_key"
        ).fetchnumpy()
        todo_a = np.asarray(todo["a_key"], np.int64)
        todo_b = np.asarray(todo["b_key"], np.int64)
        del todo
        for lo_pair in range(0, todo_a.shape[0], ALIGN_BATCH):
            pairs = list(zip(todo_a[lo_pair : lo_pair + ALIGN_BATCH].tolist(),
                             todo_b[lo_pair : lo_pair + ALIGN_BATCH].tolist(), strict=True))
            keys = sorted({k for p in pairs for k in p})
            self._load_tokens([k for k in keys if self._tokens.get(k) is None])
            position = {k: i for i, k in enumerate(keys)}
            docs = [self._tokens.get(k) or self._tokenize_key(k) for k in keys]
            pair_idx = np.array([(position[a], position[b]) for a, b in pairs], dtype=np.int64)
            found = align_many(docs, pair_idx, self.params)
            ids = dict(
                con.execute(
                    "SELECT doc_key, id FROM documents WHERE doc_key IN (SELECT unnest(?))", [keys]
                ).fetchall()
            )
            key_arr = np.array(keys, dtype=np.int64)
            a_keys = key_arr[pair_idx[found.pair, 0]]
            b_keys = key_arr[pair_idx[found.pair, 1]]
            new_passages = pa.table(
                {
                    "a_key": a_keys.astype(np.int32),
                    "b_key": b_keys.astype(np.int32),
                    "a_id": [ids[k] for k in a_keys.tolist()],
                    "b_id": [ids[k] for k in b_keys.tolist()],
                    "a_start": found.a_start.astype(np.int32),
                    "a_end": found.a_end.astype(np.int32),
                    "b_start": found.b_start.astype(np.int32),
                    "b_end": found.b_end.astype(np.int32),
                    "score": found.score.astype(np.float64),
                    "a_tokens": found.a_tokens.astype(np.int32),
                    "b_tokens": found.b_tokens.astype(np.int32),
                    "matched_tokens": found.matched_tokens.astype(np.int32),
                },
                schema=_PASSAGE_SCHEMA,
            )
            counts = found.counts.tolist()
            chunk = pa.table(
                {"a_key": [a for a, _ in pairs], "b_key": [b for _, b in pairs], "n": counts}
            )
            with transaction(con, new_passages=new_passages, aligned_chunk=chunk):
                con.execute(
                    """
                    INSERT INTO passages
                    SELECT nextval('passage_seq'), a_key, b_key, a_id, b_id, a_start, a_end,
                           b_start, b_end, score, a_tokens, b_tokens, matched_tokens
                    FROM new_passages ORDER BY a_key, b_key, a_start, b_start
                    """
                )
                con.execute(
                    """
                    UPDATE pairs SET aligned = true, n_passages = c.n FROM aligned_chunk c
                    WHERE pairs.a_key = c.a_key AND pairs.b_key = c.b_key
                    """
                )
            done += len(pairs)
            n_passages += new_passages.num_rows
            progress("align", done, total)
        return done, n_passages

    def _load_tokens(self, keys: list[int]) -> None:
        """Put the stored tokens of ``keys`` in the cache; documents with none stored
        (an index from an older version, or loaded from Spark output) are tokenised
        once and their tokens stored."""
        con = self.con
        for lo in range(0, len(keys), 5000):
            chunk = keys[lo : lo + 5000]
            for key, data in con.execute(
                "SELECT doc_key, data FROM doc_tokens WHERE doc_key IN (SELECT unnest(?))", [chunk]
            ).fetchall():
                self._tokens.put(key, Tokens.from_bytes(data))
            missing = [k for k in chunk if self._tokens.get(k) is None]
            if missing:
                made = []
                for key, text in con.execute(
                    "SELECT doc_key, text FROM documents WHERE doc_key IN (SELECT unnest(?))", [missing]
                ).fetchall():
                    made.append((key, self._tokenize(key, text).to_bytes()))
                if made and not self.read_only:  # stored for next time
                    table = _token_rows([k for k, _ in made], [d for _, d in made])
                    with transaction(con, made_tokens=table):
                        con.execute("INSERT INTO doc_tokens SELECT doc_key, data FROM made_tokens")

    def strips_boilerplate(self) -> bool:
        """Whether clustering leaves page boilerplate out: the stored ``--boilerplate``
        choice when one was made, else on for pages ingested from HTML or WARC and for
        corpora that look scraped (``boilerplate.looks_scraped``)."""
        chosen = get_meta(self.con, "strip_boilerplate")
        if chosen is not None:
            return bool(chosen)
        if get_meta(self.con, "scraped_pages"):
            return True
        from newstrace.boilerplate import looks_scraped

        if not self.con.execute("SELECT count(*) FROM documents WHERE publisher IS NOT NULL").fetchall()[0][0]:
            return False
        return looks_scraped(self.con.execute(
            "SELECT doc_key, publisher, text FROM documents WHERE publisher IS NOT NULL").fetchall())

    def _cluster(self, progress: ProgressFn) -> int:
        con = self.con
        progress("cluster", 0, 1)
        names = ("a_key", "a_start", "a_end", "b_key", "b_start", "b_end")
        # columns, not rows: a million-document index has ten million passages
        fetched = con.execute(f"SELECT {', '.join(names)} FROM passages").fetchnumpy()
        cols = [np.asarray(fetched[n], np.int64) for n in names]
        del fetched
        fam_cols = (cols[0], cols[3])
        # weak passages (loose alignments of common phrases) link nothing either
        strong = np.asarray(con.execute("SELECT score FROM passages").fetchnumpy()["score"]) >= CLUSTER_MIN_SCORE
        if not strong.all():
            cols = [c[strong] for c in cols]
        if self.strips_boilerplate():
            from newstrace.boilerplate import passages_for_clustering

            rows = np.stack(cols, axis=1).tolist()
            docs = con.execute("SELECT doc_key, publisher, text FROM documents").fetchall()
            kept = np.asarray(passages_for_clustering(rows, docs), np.int64).reshape(-1, 6)
            cols = [kept[:, i] for i in range(6)]
            fam_cols = (cols[0], cols[3])
        # shared quotations (both spans mostly inside quotation marks) link nothing
        quoted = _quoted_passages(con, cols)
        if quoted.any():
            cols = [c[~quoted] for c in cols]
        cluster_id, doc_key, start, end = cluster_arrays(*cols)
        fam_key, fam_id = family_arrays(*fam_cols)
        del cols
        mem = pa.table(
            {
                "cluster_id": pa.array(cluster_id.astype(np.int32)),
                "doc_key": pa.array(doc_key.astype(np.int32)),
                "start_char": pa.array(start.astype(np.int32)),
                "end_char": pa.array(end.astype(np.int32)),
            }
        )
        fam = pa.table(
            {"doc_key": pa.array(fam_key.astype(np.int32)), "family_id": pa.array(fam_id.astype(np.int32))}
        )
        with transaction(con, new_members=mem, new_families=fam):
            con.execute("DELETE FROM cluster_members")
            con.execute("DELETE FROM clusters")
            con.execute("DELETE FROM families")
            con.execute(
                """
                INSERT INTO cluster_members
                SELECT m.cluster_id, m.doc_key, d.id, m.start_char, m.end_char
                FROM new_members m JOIN documents d USING (doc_key)
                """
            )
            con.execute("INSERT INTO families SELECT doc_key, family_id FROM new_families")
            con.execute(
                """
                INSERT INTO clusters
                SELECT cluster_id, count(*), count(DISTINCT doc_key),
                       arg_min(id, (published_at IS NULL, published_at, doc_key)),
                       min(published_at), max(published_at),
                       arg_min(id, (published_at IS NULL, published_at, doc_key)),
                       -- a document can hold two segments of one cluster: order fully,
                       -- or the sample depends on the aggregation's thread schedule
                       arg_min(start_char, (published_at IS NULL, published_at, doc_key, start_char, end_char)),
                       arg_min(end_char, (published_at IS NULL, published_at, doc_key, start_char, end_char)),
                       sum(end_char - start_char)
                FROM cluster_members JOIN documents USING (doc_key, id)
                GROUP BY cluster_id
                """
            )
        progress("cluster", 1, 1)
        return int(con.execute("SELECT count(*) FROM clusters").fetchall()[0][0])

    # -- queries -------------------------------------------------------------------------------
    def trace(self, text: str, query_id: str = "query") -> dict[str, Any]:
        """Which indexed documents does ``text`` reuse? The ``trace --json`` document.

        Finds candidate documents by shared fingerprints, aligns the best
        ``max_trace_candidates`` with the query, and reports passages (``a`` = the
        query, ``b`` = the indexed document), per-source coverage, sentence-by-sentence
        sources, edits, the derivation class and the composite flag.
        """
        if not isinstance(text, str) or not text.strip():
            raise UserError("nothing to trace: the text is empty")
        query = tokenize_text(text, self.params.stem)
        hashes, _ = ngram_hashes(query, self.params.ngram_tokens)
        ranked = rank_documents_for_hashes(
            self.con, np.unique(hashes).tolist(), self.params, self.params.max_trace_candidates
        )
        groups = self._group_earliest([k for k, _ in ranked])
        ties = self._group_ties({g[2]: g[0] for g in groups.values()})
        keys: list[int] = []
        for key, _shared in ranked:  # a near-duplicate group: its earliest copies too, first
            firsts = ties.get(groups[key][2], [groups[key][0]]) if key in groups else []
            keys.extend(k for k in (*firsts, key) if k not in keys)
        docs = self._fetch_documents(keys)
        # the traced text may itself be indexed (same id, or the same text): it is said
        # so (``self``) and attributed to the other documents only
        self_id = provenance.find_self(text, query_id, {d["id"]: d for d in docs.values()})
        if self_id is None and query_id != "query":
            row = self.con.execute("SELECT 1 FROM documents WHERE id = ?", [query_id]).fetchall()
            self_id = query_id if row else None
        self_key = next((k for k, d in docs.items() if d["id"] == self_id), None)
        if self_key is not None and self_key in groups:
            # the text is an indexed copy: its near-identical copies are its sources
            more = [k for k in self._group_members(groups[self_key][2]) if k not in keys]
            keys = more + keys
            docs.update(self._fetch_documents(more))
        passages: list[Passage] = []
        source_texts: dict[str, str] = {}
        for key in keys:
            doc = docs[key]
            if doc["id"] == self_id:
                continue
            tok = self._tokenize(key, doc["text"])
            rows = align_tokens(query, tok, self.params)
            if rows.shape[0]:
                passages.extend(rows_to_passages(rows, query, tok, query_id, doc["id"]))
                source_texts[doc["id"]] = doc["text"]
        meta = {d["id"]: d for d in docs.values() if d["id"] in source_texts}
        result = provenance.build_trace(text, query_id, passages, meta, self.params,
                                        self_id=self_id)
        result["evasion"] = evasion_marks(text)  # look-alike letters, invisible characters
        groups.update(self._group_earliest([k for k in keys if k not in groups]))
        in_group = {docs[k]["id"]: groups[k] for k in keys if k in groups}
        for src in result.get("sources", []):
            if src.get("id") in in_group:  # indexed near-identical copies of this source (itself too)
                src["near_duplicates"] = in_group[src["id"]][1]
        result["sources"] = _group_first(result.get("sources", []), in_group)
        return result

    def _group_members(self, root: int, limit: int = 10) -> list[int]:
        """The earliest ``limit`` members of the near-duplicate group ``root``."""
        rows = self.con.execute(
            """
            SELECT d.doc_key FROM documents d
            WHERE d.doc_key = ? OR d.doc_key IN (SELECT doc_key FROM near_dups WHERE root_key = ?)
            ORDER BY d.published_at IS NULL, d.published_at, d.doc_key LIMIT ?
            """,
            [root, root, limit],
        ).fetchall()
        return [int(k) for (k,) in rows]

    def _group_ties(self, earliest_of_root: dict[int, int], limit: int = 10) -> dict[int, list[int]]:
        """Per near-duplicate group (by root), its members published at the same time as
        its earliest one (at most ``limit``): a tie for the earliest source is reported as
        a tie, not settled by storage order."""
        if not earliest_of_root:
            return {}
        rows = self.con.execute(
            """
            WITH e AS (SELECT unnest(?) AS root, unnest(?) AS first_key),
            g AS (SELECT n.root_key AS root, n.doc_key FROM near_dups n SEMI JOIN e ON e.root = n.root_key
                  UNION ALL SELECT root, root FROM e),
            t AS (SELECT g.root, g.doc_key FROM g
                  JOIN e USING (root)
                  JOIN documents d ON d.doc_key = g.doc_key
                  JOIN documents f ON f.doc_key = e.first_key
                  WHERE d.published_at IS NOT DISTINCT FROM f.published_at)
            SELECT root, list(DISTINCT doc_key ORDER BY doc_key)[1:?] FROM t GROUP BY root
            """,
            [list(earliest_of_root), list(earliest_of_root.values()), limit],
        ).fetchall()
        out = {int(r): [int(k) for k in ks] for r, ks in rows}
        for root, first in earliest_of_root.items():  # the earliest itself leads
            got = out.setdefault(root, [first])
            if first in got:
                got.remove(first)
            got.insert(0, first)
        return out

    def _group_earliest(self, keys: list[int]) -> dict[int, tuple[int, int, int]]:
        """For documents in near-duplicate groups (``neardup``): ``{key: (the group's
        earliest document, group size, root)}``."""
        if not keys:
            return {}
        try:
            self.con.execute("SELECT 1 FROM near_dups LIMIT 0")
        except duckdb.CatalogException:  # an index from before near-duplicate groups, read-only
            return {}
        rows = self.con.execute(
            """
            WITH q AS (SELECT unnest(?) AS k),
            r AS (SELECT q.k, coalesce(n.root_key, q.k) AS root
                  FROM q LEFT JOIN near_dups n ON n.doc_key = q.k),
            g AS (SELECT doc_key, root_key AS root FROM near_dups
                  WHERE root_key IN (SELECT root FROM r)
                  UNION ALL SELECT DISTINCT root, root FROM r)
            SELECT r.k, arg_min(d.doc_key, (d.published_at IS NULL, d.published_at, d.doc_key)),
                   count(DISTINCT d.doc_key), r.root
            FROM r JOIN g USING (root) JOIN documents d ON d.doc_key = g.doc_key
            GROUP BY r.k, r.root HAVING count(DISTINCT d.doc_key) > 1
            """,
            [keys],
        ).fetchall()
        return {int(k): (int(e), int(n), int(root)) for k, e, n, root in rows}

    def _fetch_documents(self, keys: list[int]) -> dict[int, dict[str, Any]]:
        if not keys:
            return {}
        cur = self.con.execute(
            """SELECT doc_key, id, url, publisher, published_at, title, text
               FROM documents WHERE doc_key IN (SELECT unnest(?))""",
            [keys],
        )
        cols = [c[0] for c in cur.description]
        return {row[0]: dict(zip(cols, row, strict=True)) for row in cur.fetchall()}

    def document(self, doc_id: str) -> dict[str, Any]:
        """One document with its metadata and every reused span (passages to other docs).

        Raises:
            UserError: no document has this id.
        """
        cur = self.con.execute(
            """SELECT doc_key, id, url, publisher, published_at, title, text
               FROM documents WHERE id = ?""",
            [doc_id],
        )
        found = cur.fetchall()
        if not found:
            raise UserError(f"no document with id {doc_id!r}")
        row = found[0]
        doc = dict(zip([c[0] for c in cur.description], row, strict=True))
        key = doc.pop("doc_key")
        cur = self.con.execute(
            """
            SELECT p.*, o.publisher AS other_publisher, o.published_at AS other_published_at
            FROM (
                SELECT passage_id, a_start AS start, a_end AS "end", b_id AS other_id,
                       b_start AS other_start, b_end AS other_end, score, b_key AS other_key
                FROM passages WHERE a_key = ?
                UNION ALL
                SELECT passage_id, b_start, b_end, a_id, a_start, a_end, score, a_key
                FROM passages WHERE b_key = ?
            ) p LEFT JOIN documents o ON o.doc_key = p.other_key
            ORDER BY start, other_id
            """,
            [key, key],
        )
        cols = [c[0] for c in cur.description]
        doc["passages"] = []
        for r in cur.fetchall():
            p = dict(zip(cols, r, strict=True))
            del p["other_key"]
            p["other_published_at"] = _iso(p["other_published_at"])
            doc["passages"].append(p)
        doc["clusters"] = [
            {"cluster_id": c, "start": s, "end": e}
            for c, s, e in self.con.execute(
                """SELECT cluster_id, start_char, end_char FROM cluster_members
                   WHERE doc_key = ? ORDER BY start_char""",
                [key],
            ).fetchall()
        ]
        doc["published_at"] = _iso(doc["published_at"])
        return doc

    def clusters(self, limit: int | None = None, min_docs: int = 2) -> list[dict[str, Any]]:
        """Reuse clusters, largest first, each with members (dated) and the passage text."""
        sql = """SELECT cluster_id FROM clusters WHERE n_docs >= ?
                 ORDER BY n_docs DESC, n_chars DESC, cluster_id"""
        params: list[Any] = [min_docs]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        ids = [c for (c,) in self.con.execute(sql, params).fetchall()]
        return [self.cluster(c) for c in ids]

    def cluster(self, cluster_id: int) -> dict[str, Any]:
        """One reuse cluster: its documents in date order (undated last), one row each
        (``spans``: every span of the passage in that document), and the earliest's text.

        Raises:
            UserError: no such cluster.
        """
        found = self.con.execute(
            """SELECT cluster_id, n_members, n_docs, earliest_id, earliest_at, latest_at,
                      sample_id, sample_start, sample_end FROM clusters WHERE cluster_id = ?""",
            [int(cluster_id)],
        ).fetchall()
        if not found:
            raise UserError(f"no cluster with id {cluster_id}")
        row = found[0]
        members = self.con.execute(
            """
            SELECT m.id, d.publisher, d.published_at, d.title, m.start_char, m.end_char,
                   substr(d.text, m.start_char + 1, m.end_char - m.start_char)
            FROM cluster_members m JOIN documents d USING (doc_key)
            WHERE m.cluster_id = ?
            ORDER BY d.published_at NULLS LAST, d.doc_key, m.start_char
            """,
            [int(cluster_id)],
        ).fetchall()
        sample = next((m[6] for m in members if m[0] == row[6] and m[4] == row[7]), members[0][6])
        # one row per document: a document can hold the passage more than once (a page
        # that prints a story twice); its row lists every span, ``start``/``end`` the first
        rows: dict[str, dict[str, Any]] = {}
        for m in members:
            doc = rows.get(m[0])
            if doc is None:
                rows[m[0]] = {"id": m[0], "publisher": m[1], "published_at": _iso(m[2]), "title": m[3],
                              "start": m[4], "end": m[5], "spans": [[m[4], m[5]]]}
            else:
                doc["spans"].append([m[4], m[5]])
        return {
            "cluster_id": row[0],
            "n_members": row[1],
            "n_docs": row[2],
            "earliest_id": row[3],
            "earliest_at": _iso(row[4]),
            "latest_at": _iso(row[5]),
            "text": sample,
            "members": list(rows.values()),
        }

    def stats(self) -> dict[str, Any]:
        """Counts of documents, indexed documents, pairs, passages, clusters, families."""
        q = self.con.execute
        return {
            "documents": q("SELECT count(*) FROM documents").fetchall()[0][0],
            "fingerprinted": q("SELECT count(*) FROM fingerprinted").fetchall()[0][0],
            "candidate_pairs": q("SELECT count(*) FROM pairs").fetchall()[0][0],
            "aligned_pairs": q("SELECT count(*) FROM pairs WHERE aligned").fetchall()[0][0],
            "passages": q("SELECT count(*) FROM passages").fetchall()[0][0],
            "clusters": q("SELECT count(*) FROM clusters WHERE n_docs >= 2").fetchall()[0][0],
            "families": q("SELECT count(DISTINCT family_id) FROM families").fetchall()[0][0],
            "documents_with_reuse": q("SELECT count(*) FROM families").fetchall()[0][0],
        }

    def _require_writable(self) -> None:
        if self.read_only:
            raise UserError(f"{self.path}: opened read-only")


_PASSAGE_SCHEMA = pa.schema(
    [
        ("a_key", pa.int32()), ("b_key", pa.int32()), ("a_id", pa.string()), ("b_id", pa.string()),
        ("a_start", pa.int32()), ("a_end", pa.int32()), ("b_start", pa.int32()),
        ("b_end", pa.int32()), ("score", pa.float64()), ("a_tokens", pa.int32()),
        ("b_tokens", pa.int32()), ("matched_tokens", pa.int32()),
    ]
)


def _from_page(where: str) -> bool:
    """Whether an ingested item's location names an HTML or WARC file."""
    from newstrace.ingest import HTML_SUFFIXES, WARC_SUFFIXES

    name = where.lower()
    return any(name.endswith(x) or f"{x}:" in name or f"{x} " in name
               for x in (*HTML_SUFFIXES, *WARC_SUFFIXES))


def _quoted_passages(con: Any, cols: list[np.ndarray]) -> np.ndarray:
    """``cluster.quoted_passages`` for passage columns, reading only the texts of the
    documents whose passages can be quotations (their text has quotation marks)."""
    from newstrace.cluster import quoted_passages

    if not len(cols[0]):
        return np.zeros(0, dtype=bool)
    keys = np.unique(np.concatenate([cols[0], cols[3]]))
    texts = dict(con.execute(
        "SELECT doc_key, text FROM documents WHERE doc_key IN (SELECT unnest(?))", [keys.tolist()]
    ).fetchall())
    return quoted_passages(np.stack(cols, axis=1), texts)


def _group_first(sources: list[dict[str, Any]], in_group: dict[str, tuple[int, int, int]]) -> list[dict[str, Any]]:
    """Sources of one near-duplicate group listed together, earliest first, where the
    best-ranked of them stood (a reprint's byline or footer must not outrank the original)."""
    def when(src: dict[str, Any]) -> tuple[bool, str, str]:
        return (src.get("published_at") is None, str(src.get("published_at") or ""), str(src.get("id")))

    out: list[dict[str, Any]] = []
    done: set[int] = set()
    for src in sources:
        g = in_group.get(src.get("id"))  # type: ignore[arg-type]
        if g is None:
            out.append(src)
        elif g[2] not in done:
            done.add(g[2])
            out.extend(sorted((s for s in sources if (in_group.get(s.get("id")) or (0, 0, -1))[2] == g[2]),
                              key=when))
    return out


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
