"""Stage 2: text -> word tokens with exact character offsets into the original text.

Every token keeps ``(start, end)`` so that ``text[start:end]`` is its surface form;
matching uses a normalised form (Unicode NFKC, casefold, optional Snowball stem)
mapped to a stable 64-bit id (xxh64 of the normal form). CJK ideographs and kana
are one token per character; other scripts split on non-word characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import snowballstemmer
import xxhash

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
TOKEN_RE = re.compile(rf"[{_CJK}]|(?:[^\W_{_CJK}][{_MARKS}]*)+")

STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also although am an and any are as at be
    because been before being below between both but by can could did do does doing down
    during each either few for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves said says say told according also
    s t d ll m re ve mr mrs ms per its it's via upon among within without whether yet
    one two three many much may might must shall since still though thus""".split()
)

_stemmer = snowballstemmer.stemmer("english")

#: Bits of ``Tokens.stop``.
STOP = 1
SENTENCE_START = 2
_BOUNDARY_RE = re.compile(r"""[.!?…。！？]+["'”’)\]]*\s+|\n\s*\n""")


@dataclass(frozen=True)
class Tokens:
    """Tokens of one text as parallel arrays (length = number of tokens)."""

    starts: np.ndarray  # int32 char offsets
    ends: np.ndarray  # int32, end-exclusive
    ids: np.ndarray  # int64 stable ids of the normalised form
    stop: np.ndarray  # uint8 flags: bit 0 (STOP) stop word, bit 1 (SENTENCE_START) starts a sentence

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def normalise_word(surface: str, stem: bool = True) -> str:
    """NFKC + casefold (+ stem). The stable normal form used for matching.

    >>> normalise_word("Reported")
    'report'
    """
    norm = unicodedata.normalize("NFKC", surface).casefold()
    if stem and norm.isascii() and norm.isalpha() and len(norm) > 3:
        norm = _stemmer.stemWord(norm)
    return norm


def _hash64(norm: str) -> int:
    return xxhash.xxh64_intdigest(norm.encode("utf-8")) - (1 << 63)


class _Vocabulary:
    """Caches surface form -> (id, is_stop); per process, ids are stable everywhere."""

    def __init__(self, stem: bool) -> None:
        self.stem = stem
        self.cache: dict[str, tuple[int, int]] = {}

    def lookup(self, surface: str) -> tuple[int, int]:
        hit = self.cache.get(surface)
        if hit is None:
            folded = unicodedata.normalize("NFKC", surface).casefold()
            is_stop = 1 if folded in STOPWORDS else 0
            hit = (_hash64(normalise_word(surface, self.stem)), is_stop)
            if len(self.cache) < 2_000_000:
                self.cache[surface] = hit
        return hit


_VOCABS: dict[bool, _Vocabulary] = {}


def tokenize_text(text: str, stem: bool = True) -> Tokens:
    """Split ``text`` into tokens with exact offsets.

    Args:
        text: Any Unicode string (as decoded, un-normalised).
        stem: Whether the ids match word stems rather than exact words.

    Returns:
        A ``Tokens`` record; ``text[starts[k]:ends[k]]`` is token ``k``.

    >>> t = tokenize_text("Größe, naïve café!")
    >>> [("Größe, naïve café!")[s:e] for s, e in zip(t.starts, t.ends)]
    ['Größe', 'naïve', 'café']
    """
    vocab = _VOCABS.get(stem)
    if vocab is None:
        vocab = _VOCABS[stem] = _Vocabulary(stem)
    spans: list[int] = []
    ids: list[int] = []
    stops: list[int] = []
    lookup = vocab.lookup
    for m in TOKEN_RE.finditer(text):
        s, e = m.span()
        spans.append(s)
        spans.append(e)
        tid, st = lookup(m.group())
        ids.append(tid)
        stops.append(st)
    offsets = np.array(spans, dtype=np.int32).reshape(-1, 2)
    starts = np.ascontiguousarray(offsets[:, 0])
    flags = np.array(stops, dtype=np.uint8)
    if flags.shape[0]:
        flags[0] |= SENTENCE_START
        bounds = [m.end() for m in _BOUNDARY_RE.finditer(text)]
        if bounds:
            first = np.searchsorted(starts, np.array(bounds, dtype=np.int64))
            first = first[first < flags.shape[0]]
            flags[first] |= SENTENCE_START
    return Tokens(
        starts=starts,
        ends=np.ascontiguousarray(offsets[:, 1]),
        ids=np.array(ids, dtype=np.int64),
        stop=flags,
    )


_SENTENCE_END = re.compile(r"""[.!?…。！？]+["'”’)\]]*(?=\s+|$)|\n\s*\n""")
_ABBREV = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt gov sen rep inc corp ltd co vs no jan feb "
    "mar apr jun jul aug sep sept oct nov dec u.s e.g i.e etc".split()
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split text into sentence spans ``(start, end)``, trimmed of surrounding space.

    A rule-based splitter: ends at ``.!?`` followed by space (not after common
    abbreviations or single initials) and at blank lines.

    >>> s = "Mr. Smith went. He said: \\"Yes.\\" Then left."
    >>> [s[a:b] for a, b in split_sentences(s)]
    ['Mr. Smith went.', 'He said: "Yes."', 'Then left.']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if m.group().startswith("."):
            word = re.search(r"([\w.]+)\.$", text[start : m.start() + 1])
            if word and (word.group(1).lower() in _ABBREV or len(word.group(1)) == 1):
                continue
        _append_span(text, start, end, spans)
        start = end
    _append_span(text, start, len(text), spans)
    return spans


def _append_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
