"""Stage 3: tokens -> stable 64-bit word n-gram fingerprints (vectorised, no per-token loop).

An n-gram's hash combines its token ids with fixed odd multipliers and a
splitmix64 finaliser, all in wrapping uint64 arithmetic, so the same n-gram
gives the same hash in every process and on every engine. N-grams made only of
stop words are dropped: they are everywhere and carry no evidence of reuse.
"""

from __future__ import annotations

import numpy as np

from newstrace.tokens import Tokens

# Fixed odd 64-bit multipliers, one per n-gram position (supports n <= 8).
_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)


def _finalise(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def ngram_hashes(tokens: Tokens, ngram_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every word n-gram that contains at least one content word.

    Args:
        tokens: Output of ``tokenize_text``.
        ngram_tokens: n, the number of tokens per n-gram (1..8).

    Returns:
        ``(hashes, positions)``: int64 hashes and the token index where each
        n-gram starts, in text order. ``len <= max(0, len(tokens) - n + 1)``.
    """
    if not 1 <= ngram_tokens <= len(_MULTIPLIERS):
        raise ValueError("ngram_tokens must be in [1, 8]")
    count = len(tokens) - ngram_tokens + 1
    if count <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    ids = tokens.ids.view(np.uint64)
    acc = np.zeros(count, dtype=np.uint64)
    all_stop = np.ones(count, dtype=bool)
    with np.errstate(over="ignore"):
        for k in range(ngram_tokens):
            acc += ids[k : k + count] * _MULTIPLIERS[k]
            all_stop &= (tokens.stop[k : k + count] & 1).astype(bool)
        hashes = _finalise(acc).view(np.int64)
    keep = ~all_stop
    return hashes[keep], np.nonzero(keep)[0]


def document_fingerprints(tokens: Tokens, ngram_tokens: int) -> np.ndarray:
    """The distinct n-gram hashes of a document (its postings), sorted."""
    hashes, _ = ngram_hashes(tokens, ngram_tokens)
    return np.unique(hashes)
