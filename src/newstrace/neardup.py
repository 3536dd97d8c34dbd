"""Near-duplicate grouping before the document-frequency cut (MinHash + LSH banding).

A wire story reprinted by thousands of sites must not look like boilerplate: every
n-gram of it would occur in more than ``max_doc_freq`` documents and be dropped. So,
before candidates, each document is compared with the documents fingerprinted before
it by MinHash (``MINHASH_K`` min-wise hashes of its n-gram fingerprints, the ones
``shingles.document_fingerprints`` already made) and LSH banding (``MINHASH_BANDS``
bands of ``MINHASH_ROWS`` hashes). A document whose estimated Jaccard similarity with
an earlier one reaches ``Params.near_dup_threshold`` is a *near duplicate* of it:

- its *parent* is the smallest ``doc_key`` among the first documents of its LSH
  buckets that passes the threshold (a fixed rule: both engines give the same groups,
  whatever the batch boundaries); its *root* is the parent's root;
- it posts only the fingerprints its parent lacks (its dateline, byline, edits), so
  document frequency counts distinct texts, not copies, and the candidate join sees a
  story once whatever the number of its reprints;
- it gets one candidate pair, with its parent (a star per group, chained): cost linear
  in the number of copies, and the union-find clustering sees the copies connected.

Each LSH bucket remembers only its first document, so grouping costs
``MINHASH_BANDS`` lookups and at most as many signature comparisons per document.

Why a compiled MinHash over the existing fingerprints rather than datasketch or rensa:
the fingerprints are already 64-bit hashes, so a signature is ``K`` minima of a
seeded mix of them (one numba loop, no new dependency, no re-shingling of text), and
the same function runs in the Spark workers, which is what keeps both engines equal.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

#: Signature length, and its banding: 16 bands of 4 rows catch a pair of Jaccard 0.7
#: with probability 0.99 (1 - (1 - 0.7**4)**16), one of 0.3 with 0.12.
MINHASH_K = 64
MINHASH_BANDS = 16
MINHASH_ROWS = 4

_SEEDS = np.array(
    [(0x9E3779B97F4A7C15 * (i + 1) + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF for i in range(MINHASH_K)],
    dtype=np.uint64,
)
_BAND_MULT = np.array([0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
                      dtype=np.uint64)


@nb.njit(cache=True, nogil=True)
def _signatures(hashes: np.ndarray, offsets: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    n = offsets.shape[0] - 1
    k = seeds.shape[0]
    out = np.full((n, k), np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    for d in range(n):
        for i in range(offsets[d], offsets[d + 1]):
            h0 = np.uint64(hashes[i])
            for j in range(k):
                h = h0 ^ seeds[j]
                h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
                h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
                h = h ^ (h >> np.uint64(31))
                if h < out[d, j]:
                    out[d, j] = h
    return out


def signatures(hash_sets: list[np.ndarray]) -> np.ndarray:
    """MinHash signatures (``len(hash_sets)`` x ``MINHASH_K``, int64) of fingerprint sets."""
    sizes = np.array([h.shape[0] for h in hash_sets], dtype=np.int64)
    offsets = np.zeros(len(hash_sets) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    flat = np.concatenate(hash_sets).view(np.uint64) if hash_sets and offsets[-1] else np.empty(0, np.uint64)
    return _signatures(flat, offsets, _SEEDS).view(np.int64)


def band_keys(sigs: np.ndarray) -> np.ndarray:
    """LSH bucket keys (``n`` x ``MINHASH_BANDS``, int64): each band's rows and its number, hashed."""
    s = np.ascontiguousarray(sigs).view(np.uint64).reshape(-1, MINHASH_BANDS, MINHASH_ROWS)
    with np.errstate(over="ignore"):
        acc = np.arange(1, MINHASH_BANDS + 1, dtype=np.uint64)[None, :] * np.uint64(0x94D049BB133111EB)
        for r in range(MINHASH_ROWS):
            acc = acc + s[:, :, r] * _BAND_MULT[r]
        acc = acc ^ (acc >> np.uint64(31))
        acc = acc * np.uint64(0xBF58476D1CE4E5B9)
        acc = acc ^ (acc >> np.uint64(29))
    return acc.view(np.int64)


def needed_equal(threshold: float) -> int:
    """Equal signature positions (of ``MINHASH_K``) that make two documents near duplicates."""
    return max(1, math.ceil(threshold * MINHASH_K - 1e-9))


def eligible(n_hashes: int, min_shared: int) -> bool:
    """Documents with too few fingerprints are never grouped (nothing to compare)."""
    return n_hashes >= max(1, min_shared)


def group_batch(
    keys: list[int],
    sigs: np.ndarray,
    bands: np.ndarray,
    known_first: dict[int, int],
    known_sigs: dict[int, np.ndarray],
    need: int,
) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """Parents of a batch of documents (``keys`` ascending, all later than the index's).

    Args:
        keys: the eligible documents of the batch, ascending.
        sigs, bands: their signatures and bucket keys (rows in ``keys`` order).
        known_first: bucket -> its first document, for the batch's buckets already stored.
        known_sigs: signatures of those first documents.
        need: ``needed_equal(threshold)``.

    Returns:
        ``({doc_key: (parent_key, equal positions)}, {new bucket: its first doc_key})``.
    """
    firsts: dict[int, int] = {}
    sig_of = dict(known_sigs)
    parents: dict[int, tuple[int, int]] = {}
    for row, key in enumerate(keys):
        sig = sigs[row]
        cands = set()
        for b in bands[row].tolist():
            first = known_first.get(b)
            if first is None:
                first = firsts.get(b)
            if first is not None and first < key:
                cands.add(first)
        for c in sorted(cands):
            other = sig_of.get(c)
            if other is None:
                continue
            eq = int(np.count_nonzero(other == sig))
            if eq >= need:
                parents[key] = (c, eq)
                break
        for b in bands[row].tolist():
            if b not in known_first and b not in firsts:
                firsts[b] = key
        sig_of[key] = sig
    return parents, firsts
