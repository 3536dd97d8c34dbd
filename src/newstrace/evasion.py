"""Signs of evasion in a text: look-alike letters mixed into words, invisible characters.

Content farms hide copied text from duplicate detectors by swapping Latin letters
for Cyrillic or Greek look-alikes ("pоlice" with a Cyrillic о) and by putting
zero-width characters inside words. The tokeniser undoes both for matching
(``newstrace.tokens``); this module *reports* them, since their presence is itself a
sign of spinning. ``trace --json`` carries the result as the per-query ``evasion``.

What counts (the same rules as the tokeniser's):

- a *look-alike letter*: a letter of a word's minority script that has a look-alike
  in the word's dominant script (Unicode TR39 ``confusables.txt``), or, in a
  mostly-Latin text, any Greek/Cyrillic/Armenian letter of a word whose such
  letters all have Latin look-alikes;
- an *invisible character*: one of ``tokens.IGNORABLE`` (category Cf, the combining
  grapheme joiner, variation selectors) between two letters of a word. Soft hyphens
  (legitimate hyphenation hints) and ZWNJ/ZWJ inside words of scripts that use them
  (Arabic, Persian, Indic ...) are counted apart and do not flag the text.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np

from newstrace.tokens import (
    IGNORABLE,
    _script,
    confusable_form,
    latin_lookalike,
    mostly_latin,
    tokenize_text,
)

_SOFT_HYPHEN = "\u00ad"
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: shape Arabic/Indic words, no use in Latin
_JOINER_FREE = frozenset({"LATIN", "CYRILLIC", "GREEK"})
_MAX_EXAMPLES = 5


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()


def evasion_marks(text: str, max_examples: int = _MAX_EXAMPLES) -> dict[str, Any]:
    """Count look-alike letters and invisible characters inside the words of ``text``.

    Returns ``{"flagged", "lookalike_words", "lookalike_letters", "invisible_chars",
    "soft_hyphens", "examples"}``: ``flagged`` is true when any look-alike letter or
    invisible character (soft hyphens and script-legitimate joiners aside) is found;
    ``examples`` lists up to ``max_examples`` words as ``{"kind": "lookalike" |
    "invisible", "start", "end", "offsets", "chars"}`` (char offsets into ``text``;
    ``chars`` names the code points, never the raw characters).

    >>> m = evasion_marks("The p\\u043elice s\\u200baid.")
    >>> m["flagged"], m["lookalike_letters"], m["invisible_chars"]
    (True, 1, 1)
    >>> [(e["kind"], e["offsets"]) for e in m["examples"]]
    [('lookalike', [5]), ('invisible', [13])]
    >>> evasion_marks("Полиция заявила, что это так.")["flagged"]
    False
    """
    out: dict[str, Any] = {"flagged": False, "lookalike_words": 0, "lookalike_letters": 0,
                           "invisible_chars": 0, "soft_hyphens": 0, "examples": []}
    tok = tokenize_text(text, stem=False)
    if not len(tok):
        return out
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    non_ascii = np.concatenate([[0], np.cumsum(cp > 127)])
    starts, ends = tok.starts.astype(np.int64), tok.ends.astype(np.int64)
    latin_text = mostly_latin(cp)
    examples: list[dict[str, Any]] = out["examples"]
    for t in np.nonzero(non_ascii[ends] > non_ascii[starts])[0].tolist():
        s, e = int(starts[t]), int(ends[t])
        word = text[s:e]
        hidden = [k for k, ch in enumerate(word) if ord(ch) in IGNORABLE]
        if hidden:
            scripts = {_script(ch) for ch in word if ch.isalpha()}
            flagged_hidden = []
            for k in hidden:
                if word[k] == _SOFT_HYPHEN:
                    out["soft_hyphens"] += 1
                elif word[k] in _JOINERS and not scripts <= _JOINER_FREE:
                    continue  # a joiner doing its job in Arabic, Persian, Indic scripts
                else:
                    flagged_hidden.append(k)
            out["invisible_chars"] += len(flagged_hidden)
            if flagged_hidden and len(examples) < max_examples:
                examples.append({"kind": "invisible", "start": s, "end": e,
                                 "offsets": [s + k for k in flagged_hidden],
                                 "chars": sorted({_codepoint(word[k]) for k in flagged_hidden})})
        # letters that the tokeniser maps to another script (NFKC keeps one char per
        # letter for the scripts concerned; compare letter by letter on the visible ones)
        visible = [(k, ch) for k, ch in enumerate(word) if ord(ch) not in IGNORABLE]
        plain = "".join(unicodedata.normalize("NFKC", ch) if len(
            unicodedata.normalize("NFKC", ch)) == 1 else ch for _, ch in visible)
        mapped = (latin_lookalike(plain) if latin_text else None) or confusable_form(plain)
        changed = [visible[k][0] for k in range(len(plain)) if plain[k] != mapped[k]]
        if changed:
            out["lookalike_words"] += 1
            out["lookalike_letters"] += len(changed)
            if len(examples) < max_examples:
                examples.append({"kind": "lookalike", "start": s, "end": e,
                                 "offsets": [s + k for k in changed],
                                 "chars": sorted({_codepoint(word[k]) for k in changed})})
    out["flagged"] = bool(out["lookalike_letters"] or out["invisible_chars"])
    examples.sort(key=lambda x: (x["start"], x["kind"]))
    return out


#: Look-alike letters a content farm puts for Latin ones (Cyrillic and Greek; all are
#: TR39 confusables of the Latin letter), and invisible characters it puts inside words.
LOOKALIKES = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "o": "\u043e", "p": "\u0440",
    "x": "\u0445", "y": "\u0443", "A": "\u0391", "B": "\u0412", "C": "\u0421", "E": "\u0395",
    "H": "\u041d", "I": "\u0406", "K": "\u039a", "M": "\u041c", "N": "\u039d", "O": "\u041e",
    "P": "\u03a1", "T": "\u0422", "X": "\u03a7", "Y": "\u03a5", "Z": "\u0396",
}
INVISIBLES = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def disguise(text: str, rate: float = 0.8, seed: int = 0) -> tuple[str, list[int]]:
    """A copy of ``text`` as a content farm hides it: ``rate`` of its words carry
    look-alike letters (``LOOKALIKES``) and/or invisible characters (``INVISIBLES``).

    Returns ``(copy, origin)``: ``origin[i]`` is the offset in ``text`` of the copy's
    character ``i`` (-1 for an inserted invisible character), to check offsets exactly.

    >>> copy, origin = disguise("The police said", rate=1.0, seed=1)
    >>> len(copy) > len("The police said"), "".join("The police said"[o] for o in origin if o >= 0)
    (True, 'The police said')
    """
    import random

    from newstrace.tokens import TOKEN_RE

    rng = random.Random(seed)
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in TOKEN_RE.finditer(text):
        for k in range(pos, m.start()):
            out.append(text[k])
            origin.append(k)
        word = m.group()
        pos = m.end()
        chars = list(word)
        inserts: dict[int, str] = {}
        if rng.random() < rate:
            swappable = [k for k, ch in enumerate(chars) if ch in LOOKALIKES]
            mode = rng.choice(("letters", "invisible", "both"))
            if len(chars) < 2 or (mode != "invisible" and swappable):
                for k in rng.sample(swappable, min(len(swappable), rng.randint(1, 2))):
                    chars[k] = LOOKALIKES[chars[k]]
            if len(chars) >= 2 and (mode != "letters" or not swappable):
                inserts[rng.randrange(1, len(chars))] = rng.choice(INVISIBLES)
        for k, ch in enumerate(chars):
            if k in inserts:
                out.append(inserts[k])
                origin.append(-1)
            out.append(ch)
            origin.append(m.start() + k)
    for k in range(pos, len(text)):
        out.append(text[k])
        origin.append(k)
    return "".join(out), origin
