"""Who does an article credit? Attribution (credit) extraction and the credit verdict.

Two main functions, no database, no model weights::

    >>> from newstrace.credits import extract_credits, credit_verdict
    >>> [(c.name, c.kind, c.form) for c in extract_credits("MOSCOW (Reuters) - Putin told Itar-Tass ...")]
    [('Reuters', 'agency', 'dateline'), ('TASS', 'agency', 'reporting_verb')]
    >>> v = credit_verdict("Putin said so, AFP reported.", "copy.example", "Reuters", None)
    >>> v.verdict, [c.name for c in v.credits]
    ('credited_other', ['AFP'])

:func:`extract_credits` ``(text, aliases=None) -> list[Credit]``
    Every agency, outlet and person the text credits, in text order, one :class:`Credit`
    per name occurrence: ``name`` (canonical, e.g. "Associated Press" for "AP"), ``kind``
    (``agency`` | ``outlet`` | ``person``), ``form`` (how it is credited, below) and
    ``start``/``end`` (Python ``str`` offsets of the name as printed, end-exclusive;
    ``text[start:end]`` is "AP", "Itar-Tass", "Jane Doe").
:func:`credit_verdict` ``(copy_text, copy_publisher, source_publisher, source_text, aliases=None)``
    -> :class:`CreditVerdict`: does a copy credit the source it reuses? ``verdict`` is
    ``credited`` | ``credited_other`` | ``uncredited``; ``via`` says why; ``credits`` are
    the matching credits in the copy (offsets into ``copy_text``). ``to_json()`` gives the
    ``credit`` object of the public JSON.
:func:`canonical_publisher` ``(publisher, aliases=None) -> str``
    "reuters.com", "www.cnn.com/world", "AP" -> "Reuters", "CNN", "Associated Press";
    an unknown publisher comes back stripped, unchanged.

Forms
-----
``dateline``        "MOSCOW (Reuters) -", "HELSINKI, Finland (AP) —", "MOSCOW, July 16. /TASS/."
                    (an upper-case place, then the credit in parentheses or slashes).
``credit_line``     "(AP) —" / "(CNN)" without a place, "— AFP" or "REUTER" closing a paragraph
                    or the text, a portal's source tag "Reuters•", a title's masthead "… | Miami Herald", "The Associated Press contributed to this report", "Associated
                    Press writers Zeke Miller and Ken Thomas contributed", "material from Reuters",
                    "Source: Reuters", and the people of "Reporting by …; Writing by …; Editing by …".
``copyright``       "Copyright 2018 The Associated Press", "© 2018 Thomson/Reuters".
``photo``           "(AP Photo/Evan Vucci)", "Photo: Pablo Martinez Monsivais, AP", "AFP/Getty Images",
                    "(Reuters/Kevin Lamarque)": the agency credited for a picture.
``byline``          "By Jane Doe", "By JANE DOE, Associated Press", "By Reuters" (at a paragraph start).
``reporting_verb``  "told Itar-Tass", "AFP reported", "Tass said", "said in a statement to Bloomberg",
                    "Speaking to state news agency Itar-Tass", "was quoted by Kyodo", "polled by Reuters",
                    "the official news agency Tass reported".
``according_to``    "according to Interfax", "according to Russia's Interfax news agency".
``mention``         a known agency or outlet named anywhere else ("a Reuters/Ipsos poll", "CNN's Jim
                    Acosta", and "Reuters" inside a quotation of a person). A mention *names* the
                    organisation without attributing the article or a fact to it.

Rules and decisions
-------------------
* Names come from the curated list ``data/agencies.json`` (133 agencies, picture agencies and outlets
  with aliases and web domains; its header documents the fields; upper-case forms such as "REUTERS"
  are added automatically). Aliases are matched case-sensitively as whole words,
  so "ap" or "reuter" in running lower-case text are not credits. Short or ambiguous forms ("PA",
  "AA", "RT", "FT", "Getty", "Guardian") are *strict*: they count only inside a credit construction
  (every form above except ``mention``), so "Pittsburgh, PA" is no credit.
* Names not in the list are credited only through unambiguous constructions: a parenthesised
  dateline ("PORTO, Portugal (Northwire) —", kind ``agency``), "news agency NAME" / "the ACRONYM news
  agency" (kind ``agency``), and people in bylines, "Reporting/Writing/Editing by" and "… contributed"
  lines (kind ``person``). Ordinary capitalised words ("Reporters Without Borders", "Associated
  Builders") are never credits; a person is a run of 2-4 capitalised words in one of those lines.
* A picture agency (Getty Images, EPA, Shutterstock, Lehtikuva) credits pictures only: its credits are
  ``photo``. People are credited only as authors (bylines, role and contributor lines), not when quoted;
  a photographer's line laid out like a byline ("### Jane Doe, AP ###") is a known confusion.
* A quotation is not special: "Reuters" inside a quoted sentence is still extracted (a ``mention``, or
  e.g. ``reporting_verb`` for '"... ," he told Reuters'), because the reader sees the name either way.
* ``aliases`` extends the list: ``{"Baltic Press Agency": ["BPA"], "Reuters": ["Thomson Reuters
  Foundation"]}``, canonical name -> list of other forms, as ``watch`` stores them (a JSON list per
  watched publisher: pass ``{publisher: json.loads(row.aliases)}``). Extra aliases are ordinary
  (non-strict) whole-word forms; a new name gets kind ``outlet``, or the known entry's kind.
* Speed: one trie-shaped regular expression, compiled once, finds every listed alias in a single pass;
  each hit is classified from at most ~160 characters around it; the other patterns run only where
  their anchor (":", a dash, "newspaper", "contributed", "By" ...) occurs, on a window around it. The
  caller's aliases run as a second, small pattern (cached per alias set). Linear in the text: about
  10,000 Reuters-21578 documents a second on one core (``bench/credit.py``).

Credit verdict (per copy, per source)
-------------------------------------
``credited``        the copy and the source have the same publisher (``via="same_publisher"``); or the
                    copy credits the source's publisher, in any form including ``mention``
                    (``via="publisher"``; an unknown publisher also matches its initials of three or
                    more letters or its first word when they stand in a credit construction, as
                    "(BPA)" for "Baltic Press Agency", and the caller's ``aliases``); or the copy credits
                    someone the *source itself* credits for its text -- the source's dateline, credit
                    line, copyright, photo or byline names, e.g. the agency a syndicating site's article
                    carries (``via="source_credit"``).
``credited_other``  not credited, but the copy credits another agency or outlet in a construction
                    (any form but ``mention``), other than its own publisher (``via="other"``).
``uncredited``      neither. Bylines of people alone do not make ``credited_other`` (the copy's own staff
                    sign what they reprint); they make ``credited`` when the source carries the same
                    byline.

For callers (trace, corpus provenance, watch, web)
-------------------------------------------------
* Per reused source: ``credit_verdict(copy.text, copy.publisher, source.publisher, source.text,
  aliases).to_json()`` is the source's ``credit`` field of the public JSON (``{"verdict", "via",
  "credits": [{"name", "kind", "form", "start", "end"}]}``, offsets into the copy).
* When one document is compared with many, extract once and pass ``copy_credits=`` /
  ``source_credits=`` (results of :func:`extract_credits` with the same ``aliases``).
* ``watch`` aliases: ``{publisher: json.loads(watched.aliases)}`` (a JSON string is accepted too).
* Cost: about 0.1 ms per Reuters-sized document, 0.3 ms per verdict with both texts extracted; run it on
  the documents that take part in a reuse, not on every document at index time (``docs/RESULTS.md``).

Why regular expressions and not spaCy: no maintained English model installs from PyPI as a wheel
(the ``en_core_web_*`` models are published on GitHub releases, and the look-alike PyPI uploads are
unofficial re-packs), and an NER pass would cost more than the whole indexing budget allows
(``extract_credits`` must run on every document; see ``bench/credit.py`` for the timing). Credits in
news follow a small set of fixed conventions, which the patterns below spell out.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "AUTHORSHIP_FORMS",
    "FORMS",
    "Credit",
    "CreditVerdict",
    "canonical_publisher",
    "credit_verdict",
    "extract_credits",
    "load_agencies",
]

#: Every value of :attr:`Credit.form`.
FORMS = ("dateline", "credit_line", "copyright", "photo", "byline", "reporting_verb", "according_to", "mention")
#: Forms that attribute the whole text (or its pictures): the source's own credits of these forms
#: count as credits of the source in :func:`credit_verdict`.
AUTHORSHIP_FORMS = frozenset({"dateline", "credit_line", "copyright", "photo", "byline"})


@dataclass(frozen=True)
class Credit:
    """One credited name in a text (see the module docstring)."""

    name: str
    kind: str
    form: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CreditVerdict:
    """Does a copy credit its source? ``verdict``, ``via`` and the copy's matching ``credits``."""

    verdict: str
    via: str | None = None
    credits: tuple[Credit, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "via": self.via, "credits": [c.to_json() for c in self.credits]}


# ----------------------------------------------------------------------------- the list
@dataclass(frozen=True)
class _Entry:
    name: str
    kind: str
    strict: bool


@lru_cache(maxsize=1)
def load_agencies() -> tuple[dict[str, Any], ...]:
    """The entries of ``data/agencies.json`` (name, kind, aliases, strict, domains)."""
    raw = resources.files("newstrace").joinpath("data/agencies.json").read_text(encoding="utf-8")
    return tuple(json.loads(raw)["entries"])


def _norm_aliases(aliases: Mapping[str, Sequence[str]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not aliases:
        return ()
    out = []
    for name, forms in aliases.items():
        if isinstance(forms, str):  # a JSON list stored as text, or one alias
            try:
                forms = json.loads(forms)
            except ValueError:
                forms = [forms]
        clean = tuple(sorted({f.strip() for f in (forms or ()) if isinstance(f, str) and f.strip()}))
        if name and name.strip():
            out.append((name.strip(), clean))
    return tuple(sorted(out))


def _trie_regex(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, shaped as a trie (longest first)."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        end = "" in node
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if end:
            return "(?:" + body + ")?"
        return body

    return emit(trie)


@dataclass(frozen=True)
class _Matcher:
    regex: re.Pattern[str]
    table: dict[str, _Entry]


@lru_cache(maxsize=1)
def _matcher() -> _Matcher:
    """The list's aliases in one trie-shaped pattern (built once)."""
    table: dict[str, _Entry] = {}
    for e in load_agencies():
        entry, strict_entry = _Entry(e["name"], e["kind"], False), _Entry(e["name"], e["kind"], True)
        forms = [e["name"], *e["aliases"]]
        forms += [a.upper() for a in forms if len(a) >= 4]
        for a in forms:
            if a not in e.get("strict", ()):
                table.setdefault(a, entry)
        for a in e.get("strict", ()):
            table.setdefault(a, strict_entry)
    return _compile(table)


def _compile(table: dict[str, _Entry]) -> _Matcher:
    # no look-behind in front: a pattern that starts with the trie's first characters lets the
    # regex engine skip ahead fast; the left word boundary is checked by the caller (_BAD_BEFORE)
    pattern = r"(?:" + _trie_regex(table) + r")(?![\w&@-]|\.\w)"
    return _Matcher(re.compile(pattern), table)


@lru_cache(maxsize=256)
def _extra_matcher(extra: tuple[tuple[str, tuple[str, ...]], ...],
                   strict_extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> _Matcher | None:
    """A small pattern for the caller's aliases (and the verdict's strict short forms), run after the
    list's own: compiling it costs microseconds, not the whole list's trie."""
    kinds = {e["name"].casefold(): e["kind"] for e in load_agencies()}
    canon = {e["name"].casefold(): e["name"] for e in load_agencies()}
    table: dict[str, _Entry] = {}
    for name, forms in extra:
        cname = canon.get(name.casefold(), name)
        for a in (cname, *forms):
            table[a] = _Entry(cname, kinds.get(cname.casefold(), "outlet"), False)
    for name, forms in strict_extra:
        cname = canon.get(name.casefold(), name)
        for a in forms:
            table.setdefault(a, _Entry(cname, kinds.get(cname.casefold(), "outlet"), True))
    return _compile(table) if table else None


# ----------------------------------------------------------------------------- context patterns
_UP = "A-ZÀ-ÖØ-ÞĀ-Ž"
#: A dateline place: upper-case words ("TURNBERRY/GLASGOW"), then optionally ", Scotland" / ", July 15".
_PLACE = rf"[{_UP}][{_UP}'’.\-/ ]*[{_UP}](?:,[^()\n#]{{1,40}}?)?\.?"
_DATELINE_PRE = re.compile(rf"(?:^|\n|###)[ \t\xa0]*{_PLACE}(?:[ \t\xa0]*\(|[ \t\xa0]+/)[ \t]*$")
_PAREN_PRE = re.compile(r"[(/][ \t]*$")
_PAREN_POST = re.compile(r"^[^()\n]{0,25}?[)/]")
_PAREN_CREDIT_POST = re.compile(r"^[^()\n]{0,25}?[)/][ \t\xa0/.]*(?:[-—–:]|\Z|###|\n|&#)")
_PHOTO_POST = re.compile(
    r"^(?:\s+(?:Photo|PHOTO|photo|Images|Pictures|Photos)\b|\s*[/|]\s*(?:Getty|Shutterstock|REX\b)|\s+via\s+[A-Z]"
    rf"|\s*/\s*[{_UP}][\w.'’-]+(?: [{_UP}][\w.'’-]+)+\s*\))"
)
_PHOTO_PRE = re.compile(r"\b(?:Photo|PHOTO|Photos|Photograph|Pictured|Image|IMAGE|photo credit|Photo credit)\b[^.()#\n]{0,60}$")
_PHOTO_PIPE = re.compile(rf"[{_UP}][\w'’.-]+ [{_UP}][\w'’.-]+ ?\| ?$")
_COPYRIGHT_PRE = re.compile(r"(?:Copyright|COPYRIGHT|©|\([cC]\))[^.\n#]{0,40}$")
_BYLINE_PRE = re.compile(
    r"(?:^|\n|###|[—–|])[ \t\xa0]*(?:By|BY)[ \t\xa0]+(?:(?:[^#\n.]{2,80}?)(?:,|\||—|–| - |/)[ \t\xa0]*)?(?:the |The |THE )?$"
)
_SOURCE_PRE = re.compile(
    r"(?:material from|[Ss]ources?:|SOURCE:|Media:|Video:|[Cc]ourtesy(?: of)?:?|[Ww]ith (?:reporting|files|wire reports?) (?:from|by)"
    r"|[Ii]nformation from|[Rr]eporting (?:from|by)|[Cc]ompiled from|[Rr]eports from)[^.#\n]{0,60}$"
)
_CONTRIB_POST = re.compile(
    r"^(?:['’]s?)?\s+(?:(?:staff )?writers?|reporters?|correspondents?|photographers?|contributed)\b"
    r"|^[^.;#\n]{0,100}?\bcontributed\b"
)
#: after a stand-alone name: "— By JILL COLVIN" (a byline follows) or "(@FoxNews)" (a tweet's signature)
_TAG_POST = re.compile(r"^[ \t\xa0]*(?:[—–-]+[ \t\xa0]*By\b|\(@\w+\))")
_SEG_END_POST = re.compile(r"^[ \t\xa0]*(?:\)[ \t\xa0]*)?(?:\Z|###|\n(?=\s|\Z)|&#)")
_SIGNOFF_PRE = re.compile(r"(?:^|\n|###|[.!?\"”’)]|[-—–]{1,2})[ \t\xa0]*(?:[Tt]he[ \t\xa0]+)?$")
_ACCORDING_PRE = re.compile(r"\b[Aa]ccording to\s+(?:[^.;:!?\"“”\n#(]{0,45}?\s)?$")
_FILLER = (
    r"(?:(?:the|The|a|an|Russia['’]s|[A-Z][a-z]+['’]s|state|state-run|state-owned|official|semi-official|semiofficial|"
    r"national|government|government-run|independent|private|privately-owned|pro-\w+|news|agency|newspaper|daily|"
    r"weekly|channel|broadcaster|television|TV|radio|outlet|network|wire|service|website|magazine|publication|"
    r"business|financial|\w+-language|[A-Z][a-z]+(?:n|an|ian|ese|ish|i|ic)|Soviet|Chinese|Japanese|French|British|"
    r"German|Polish|Hungarian|Yugoslav|Iranian|Turkish|Korean|Indonesian|Malaysian|Israeli|Saudi|Egyptian)[\s,]+){0,6}"
)
_REPORT_PRE = re.compile(
    r"(?:\b(?i:told|tells|telling|tell|speaking to|spoke to|speaking with|spoke with|talking to|talked to|talking with|"
    r"said to|says to|in (?:an? )?(?:exclusive )?(?:interviews?|statements?|emails?|e-mail|phone call|telephone interview|"
    r"call|emailed statement|written statement|note) (?:with|to)|news agency|in (?:remarks|comments) to|"
    r"(?:quoted|cited|polled|queried|surveyed|interviewed|contacted|reached|seen|obtained|reviewed|reported|"
    r"confirmed|asked|carried|released|published|broadcast|aired|surveyed) by|"
    r"(?:said|says|told|speaking|appearing|appeared|spoke|interview|remarks) on|wrote in|writing in|"
    r"an? (?:report|story|article|dispatch|interview|investigation|analysis|poll|survey) (?:by|in|from|with|on)|"
    r"(?:reports?|reporting|reported) (?:by|in|from)|(?:cited|quoted|reported) in)\s+{f})$".replace("{f}", _FILLER)
)
_REPORT_POST = re.compile(
    r"^(?:['’]s?)?(?:\s+(?:news agency|news service|agency|newspaper|daily|television|TV|radio|channel|network|"
    r"News|Health|said on \w+ it|Inc)\b)*(?:\s*,\s*(?:the|a|an|which|citing)\s[^,.;]{0,60},)?\s*,?\s*"
    r"(?:(?:also|later|first|earlier|previously|has|had|have|on \w+|last \w+|\w+day)\s+){0,2}"
    r"(?:reported|reports|reporting|report|said|says|quoted|quotes|quoting|cited|cites|citing|wrote|writes|added|"
    r"announced|noted|learned|learnt|carried|published|broadcast|aired|stated|claimed|confirmed|revealed|disclosed|"
    r"obtained|tweeted|asked|interviewed|calculated|calculations|calculates|estimated|estimates|released|releases)\b"
)
_NEWS_AGENCY_NAME = re.compile(
    rf"\bnews agency,?\s+([{_UP}][\w'’-]*(?:\s+[{_UP}][\w'’-]*){{0,2}})|\b(?:the|The|official|state|national)\s+"
    rf"([{_UP}]{{2,}}[\w-]*)\s+news agency\b"
)
_UNKNOWN_DATELINE = re.compile(
    rf"\(([{_UP}][\w&.'’-]*(?:[ \t][{_UP}][\w&.'’-]*){{0,4}})\)[ \t\xa0]*(?:-{{1,2}}|—|–)"
)

# people
_NOT_NAME = (r"(?:AND|January|February|March|April|May|June|July|August|September|October|November|December|"
             r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Updated|Posted|Published)\b")
_NAME_WORD = rf"(?!{_NOT_NAME})(?:[{_UP}][\w-]*(?:['’][\w-]+)*\.?|[{_UP}]\.)"
_PARTICLE = r"(?:de|da|di|del|della|van|von|der|den|bin|al|el|la|le|du|dos|ter)"
_PERSON = rf"{_NAME_WORD}(?:[ \t\xa0]+(?:{_PARTICLE}[ \t\xa0]+)?{_NAME_WORD}){{1,3}}"
_PERSON_LIST = (
    rf"{_PERSON}(?:(?:,[ \t\xa0]*(?:and[ \t\xa0]+)?|[ \t\xa0]+(?:and|AND)[ \t\xa0]+|[ \t\xa0]*&[ \t\xa0]*){_PERSON})*"
)
_PERSON_RE = re.compile(r"(?<![\w'’.-])" + _PERSON)
_BYLINE = re.compile(rf"B[yY][ \t\xa0]+({_PERSON_LIST})")
_SEG_START_PRE = re.compile(r"(?:^|\n|###|[—–|])[ \t\xa0]*$")
#: A paragraph start where a single newline may be a hard wrap (wire copy): after a sentence end or
#: before an indented line.
_PARA_START_PRE = re.compile(r"(?:^|(?<=[.!?:\"”\n])\n|\n[ \t\xa0]+|###|[—–|])[ \t\xa0]*$")
#: "### CBS Philadelphia• ###": the source tag of a syndicating portal (name, then a bullet).
_TAG = re.compile(rf"(?:^|(?<=###)|(?<=\n))[ \t\xa0]*([{_UP}][\w&.'’-]*(?:[ \t][{_UP}][\w&.'’-]*){{0,4}})[ \t\xa0]*•")
#: A byline without "By": "### Caren Bohan and Deborah Berry, USA TODAY" (before a known name) ...
_NAMES_BEFORE = re.compile(rf"(?:^|\n|###)[ \t\xa0]*({_PERSON_LIST})[ \t\xa0]*(?:,|\||—|–| - )[ \t\xa0]*(?:the |The )?$")
#: Picture agencies: "Pekka Sipola, EPA-EFE" names a photographer, not an author.
_PHOTO_AGENCIES = frozenset({"EPA", "Getty Images", "Shutterstock", "Lehtikuva"})
_PHOTO_AFTER = re.compile(r"^[ \t\xa0]*(?:POOL|Pool|via|/|\|)")
#: ... or "### Nick Givas | Media And Politics Reporter".
_NAME_ROLE = re.compile(
    rf"(?:^|(?<=###)|(?<=\n))[ \t\xa0]*({_PERSON})[ \t\xa0]*(?:,|\||—|–| - )[^#\n]{{0,50}}?"
    r"\b(?:Reporter|Correspondent|Writer|Editor|Columnist|Contributor|reporter|correspondent|writer|editor)\b"
)
#: Unknown names in a source line or a closing credit: "(Source: Baltic Press Agency)", "— Northwire".
_SOURCE_NAME = re.compile(
    rf"(?<![\w-])(?:[Ss]ources?|SOURCE|[Cc]ourtesy(?: of)?|[Cc]redit|[Vv]ia):[ \t\xa0]*([{_UP}][\w&.'’-]*(?:[ \t\xa0][{_UP}][\w&.'’-]*){{0,4}})"
)
_MASTHEAD = re.compile(rf"\|[ \t\xa0]*([{_UP}][\w&.'’-]*(?:[ \t\xa0][{_UP}][\w&.'’-]*){{0,4}})[ \t\xa0]*$")
_SIGNOFF_NAME = re.compile(
    rf"[—–-]-?[ \t\xa0]*([{_UP}][\w&.'’-]*(?:[ \t\xa0][{_UP}][\w&.'’-]*){{0,4}})[ \t\xa0]*(?=\Z|###|\n)"
)
_PAPER_WORDS = ("ewspaper", "aily", "eekly", "agazine")
_ROLE_WORDS = ("eporter", "orrespondent", "riter", "ditor", "olumnist", "ontributor")
#: "the Kuwait daily al-Qabas said", "newspaper Asahi Shimbun reported": a named paper before a reporting verb.
_PAPER_NAME = re.compile(
    rf"(?:ewspaper|aily|eekly|agazine)[ \t\xa0\n]+((?:al-|el-)?[{_UP}][\w'’-]+"
    rf"(?:[ \t\xa0][{_UP}][\w'’-]+){{0,3}})"
)
_ROLE_BY = re.compile(r"by[ \t\xa0]+(" + _PERSON_LIST + ")")
_ROLE_PRE = re.compile(
    r"\b(?:[Rr]eporting|[Ww]riting|[Ee]diting|Compiled|Edited|Written|Graphics|Produced|Translated|Research)[ \t\xa0]+$"
)
_CONTRIB = re.compile(
    r"(?:(?<=writers )|(?<=writer )|(?<=reporters )|(?<=reporter )|(?<=correspondents )|(?<=correspondent )|"
    r"(?<=###)|(?<=\n)|(?<=\. )|(?<=’ )|(?<=' )|(?<=’s )|(?<='s )|^)[ \t\xa0]*"
    rf"({_PERSON_LIST})(?:[ \t\xa0]*\([^)\n]{{0,80}}\))?(?:[ \t\xa0]+(?:in|from)[ \t\xa0]+[{_UP}][\w.]+(?:,?[ \t\xa0]+[{_UP}][\w.]+)?)?"
    r"(?:,?[ \t\xa0]+and[ \t\xa0]+[^.#\n]{0,40}?)?[ \t\xa0]+(?:also[ \t\xa0]+)?contributed\b"
)
_NOT_PERSON_FIRST = frozenset(
    {"The", "THE", "A", "An", "This", "That", "In", "On", "At", "For", "From", "With", "And", "But", "It", "He",
     "She", "They", "We", "I", "Our", "His", "Her", "Their", "Staff", "Associated", "Reuters", "Editing", "Writing",
     "Reporting", "President", "Follow", "More", "Read", "Click", "Updated", "Posted", "Published", "Last"}
)


_LOWER_SIGNOFF = re.compile(r"(?<![\w-])(reuters?)[ \t\xa0\n]*\Z")


_CAP_BEFORE = re.compile(rf"(?<![\w'’.-])([{_UP}][\w-]*\.?)[ \t\xa0]$")
_CAP_OK = frozenset({"The", "THE", "A", "An", "And", "Or", "But", "Of", "From", "To", "For", "By", "With", "In", "On",
                     "At", "As", "Via", "Source", "Copyright", "Credit", "Photo", "Then", "When", "While", "Meanwhile",
                     "Also", "Earlier", "Later", "Separately", "Official", "State", "News"})
_NATIONALITY = re.compile(
    r"[A-Z][a-z]+(?:an|ese|ish|ian|i|ic)$|Soviet|French|Dutch|Greek|Thai|Swiss|Czech|Danish|Irish|Welsh|Scottish|Kuwait"
)


def _finds(text: str, words: Sequence[str]) -> Iterable[int]:
    """Every index where one of ``words`` occurs (str.find: fast, no regex scan)."""
    for w in words:
        i = text.find(w)
        while i >= 0:
            yield i
            i = text.find(w, i + 1)


def _BAD_BEFORE(ch: str) -> bool:
    """A character that may not stand right before a name (it would be inside a word)."""
    return ch.isalnum() or ch in "_&@.-"


_NOT_PLAIN_TAIL = ("hoto", "HOTO", "mage", "IMAGE", "ictured", "opyright", "OPYRIGHT", "©", "(c)", "(C)", "|", "/",
                   "By", "BY", "ource", "OURCE", "ourtesy", "Media:", "Video:", "material", "eporting", "ccording")


def _classify(text: str, s: int, e: int) -> str:
    """The form of the credit for the name at ``text[s:e]``.

    Each context pattern is tried only when a cheap substring test says it can match.
    """
    if len(text) - e < 4 and not text[e:].strip():
        # fast path for the commonest credit, a wire sign-off closing the text ("... said.\n Reuter")
        tail = text[max(0, s - 80):s]
        if not any(w in tail for w in _NOT_PLAIN_TAIL) and _SIGNOFF_PRE.search(tail[-10:]):
            return "credit_line"
    pre = text[max(0, s - 160):s]
    post = text[e:e + 140]
    p80 = pre[-80:]
    if _PHOTO_POST.match(post) or (pre.endswith("/") and post.startswith("/") and not _DATELINE_PRE.search(pre)) or (
        ("hoto" in p80 or "HOTO" in p80 or "mage" in p80 or "IMAGE" in p80 or "ictured" in p80)
        and _PHOTO_PRE.search(p80)
    ) or ("|" in pre[-40:] and _PHOTO_PIPE.search(pre[-40:])
          and (_SEG_END_POST.match(post) or post.lstrip().startswith("|"))):
        return "photo"
    p60 = pre[-60:]
    if ("opyright" in p60 or "OPYRIGHT" in p60 or "©" in p60 or "(c)" in p60 or "(C)" in p60) \
            and _COPYRIGHT_PRE.search(p60):
        return "copyright"
    if _PAREN_PRE.search(pre[-4:]) and _PAREN_POST.match(post):
        if _DATELINE_PRE.search(pre):
            return "dateline"
        # "(AP) —", "(CNN)" opening a paragraph, "(J. Scott Applewhite/AP)" closing one; not "They (Fox) are"
        if _PAREN_CREDIT_POST.match(post) or _PARA_START_PRE.search(pre[-12:-1] if pre.endswith("(") else pre[-12:]):
            return "credit_line"
    p100 = pre[-100:]
    if ("By" in p100 or "BY" in p100) and _BYLINE_PRE.search(p100):
        return "byline"
    if ("contributed" in post or post[:1] in ("'", "’", " ")) and _CONTRIB_POST.match(post):
        return "credit_line"
    if (_SEG_END_POST.match(post) or _TAG_POST.match(post)) and _SIGNOFF_PRE.search(pre[-10:]):
        return "credit_line"
    # the clause before the name: from the last sentence, line or paragraph break
    # (a single newline is a hard line wrap in wire copy, not a break)
    cut = max(pre.rfind(". "), pre.rfind(".\n"), pre.rfind("\n\n"), pre.rfind("\n "), pre.rfind("#"), pre.rfind(";"),
              pre.rfind('"'), pre.rfind("“"))
    clause = pre[cut + 1:][-110:]
    if len(clause) > 3 and _SOURCE_PRE.search(clause):
        return "credit_line"
    if "ccording" in clause and _ACCORDING_PRE.search(clause):
        return "according_to"
    if len(clause) > 3 and _REPORT_PRE.search(clause):
        return "reporting_verb"
    if _REPORT_POST.match(post):
        # "Michael Bloomberg said", "Michael J. Fox said": the name ends a person's name
        w = _CAP_BEFORE.search(pre[-30:])
        if w and w.group(1) not in _CAP_OK and not _NATIONALITY.match(w.group(1)):
            return "mention"
        return "reporting_verb"
    return "mention"


def _split_people(text: str, lo: int, hi: int) -> Iterable[tuple[int, int]]:
    for m in _PERSON_RE.finditer(text, lo, hi):
        first = m.group(0).split()[0]
        if first in _NOT_PERSON_FIRST:
            continue
        yield m.start(), m.end()


def extract_credits(text: str, aliases: Mapping[str, Sequence[str]] | None = None) -> list[Credit]:
    """Every agency, outlet and person ``text`` credits, in text order (see the module docstring).

    >>> [(c.name, c.form, c.start, c.end) for c in extract_credits("WASHINGTON (AP) — A man ... -- AFP")]
    [('Associated Press', 'dateline', 12, 14), ('AFP', 'credit_line', 31, 34)]
    """
    return _extract(text, _extra_matcher(_norm_aliases(aliases)) if aliases else None)


class _Spans:
    """Non-overlapping credits by span, kept sorted: overlap look-ups in O(log n)."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.map: dict[tuple[int, int], Credit] = {}

    def overlapping(self, s: int, e: int) -> list[tuple[int, int]]:
        i = bisect_left(self.keys, (s, -1))
        found = [self.keys[i - 1]] if i and self.keys[i - 1][1] > s else []
        while i < len(self.keys) and self.keys[i][0] < e:
            found.append(self.keys[i])
            i += 1
        return found

    def put(self, c: Credit) -> None:
        insort(self.keys, (c.start, c.end))
        self.map[(c.start, c.end)] = c

    def remove(self, k: tuple[int, int]) -> None:
        self.keys.pop(bisect_left(self.keys, k))
        del self.map[k]


def _alias_hits(text: str, m: _Matcher) -> Iterable[Credit]:
    for hit in m.regex.finditer(text):
        s, e = hit.span()
        if s and _BAD_BEFORE(text[s - 1]):
            continue
        entry = m.table[hit.group(0)]
        form = _classify(text, s, e)
        if entry.name in _PHOTO_AGENCIES and (form == "credit_line" or (form == "mention" and not entry.strict)):
            form = "photo"   # a picture agency credits pictures only
        if form == "mention" and entry.strict:
            continue
        yield Credit(entry.name, entry.kind, form, s, e)


def _extract(text: str, extra: _Matcher | None) -> list[Credit]:
    """:func:`extract_credits` with the list's pattern and, optionally, a small extra one."""
    if not text:
        return []
    base = _matcher()
    out = _Spans()
    for c in _alias_hits(text, base):
        out.put(c)
    if extra is not None:
        for c in _alias_hits(text, extra):   # the caller's forms win over the list's
            for k in out.overlapping(c.start, c.end):
                out.remove(k)
            out.put(c)

    def lookup(name: str) -> _Entry | None:
        return (extra.table.get(name) if extra is not None else None) or base.table.get(name)
    # "Name, Agency" bylines: the agency credit becomes a byline and the names before it are credited
    for (s, e), c in list(out.map.items()):
        if c.form in ("mention", "credit_line") and c.name not in _PHOTO_AGENCIES \
                and text[max(0, s - 6):s].rstrip(" \t\xa0").endswith((",", "|", "—", "–", "-", "the", "The")) \
                and not _PHOTO_AFTER.match(text[e:e + 10]) and (b := _NAMES_BEFORE.search(text, max(0, s - 120), s)):
            if b.end() == s or not text[b.end():s].strip(" \t\xa0,|—–-/"):
                out.map[(s, e)] = Credit(c.name, c.kind, "byline", s, e)
                for ps, pe in _split_people(text, b.start(1), b.end(1)):
                    if not out.overlapping(ps, pe):
                        out.put(Credit(text[ps:pe], "person", "byline", ps, pe))
    if "•" in text:
        for t in _TAG.finditer(text):
            ts, te = t.span(1)
            known = lookup(t.group(1))
            over = out.overlapping(ts, te)
            if all(out.map[k].form == "mention" and k[1] - k[0] <= te - ts for k in over):
                for k in over:
                    out.remove(k)
                name, kind = (known.name, known.kind) if known else (t.group(1), "outlet")
                out.put(Credit(name, kind, "credit_line", ts, te))
    # an all-lower-case wire text still closes with its sign-off: "... the bank said.\n reuter"
    if (low := _LOWER_SIGNOFF.search(text, max(0, len(text) - 24))) and not out.overlapping(*low.span(1)):
        out.put(Credit("Reuters", "agency", "credit_line", *low.span(1)))

    def add(name: str, kind: str, form: str, s: int, e: int) -> None:
        if not out.overlapping(s, e):
            out.put(Credit(name, kind, form, s, e))

    # a web page's title line ending in its masthead: "Finnish brewery creates quirky beer | Charlotte Observer"
    head = text[:300]
    head_end = min((i for i in (head.find("###"), head.find("\n")) if i >= 0), default=-1)
    if head_end > 0 and "|" in head[:head_end] and (d := _MASTHEAD.search(text, 0, head_end)):
        add(d.group(1), "outlet", "credit_line", d.start(1), d.end(1))
    for i in _finds(text, (":",)):
        if (d := _SOURCE_NAME.search(text, max(0, i - 12), i + 60)) and d.start() < i < d.start(1):
            add(d.group(1), "agency", "credit_line", d.start(1), d.end(1))
    for i in _finds(text, ("—", "–", "--")):
        prev = text[max(0, i - 5):i].rstrip(" \t\xa0")
        if prev and not prev.endswith((".", "!", "?", '"', "”", "’", "\n", "###")):
            continue
        if (d := _SIGNOFF_NAME.match(text, i)) and text[i:i + 3] != "---":
            add(d.group(1), "agency", "credit_line", d.start(1), d.end(1))
    if "(" in text:
        for d in _UNKNOWN_DATELINE.finditer(text):
            if _DATELINE_PRE.search(text[max(0, d.start() - 100):d.start() + 1]):
                add(d.group(1), "agency", "dateline", d.start(1), d.end(1))
    if "news agency" in text:
        for d in _NEWS_AGENCY_NAME.finditer(text):
            g = 1 if d.group(1) else 2
            add(d.group(g), "agency", "reporting_verb" if g == 1 else _classify(text, d.start(g), d.end(g)),
                d.start(g), d.end(g))
    if "By" in text or "BY" in text:
        for b in _BYLINE.finditer(text):
            if not _SEG_START_PRE.search(text[max(0, b.start() - 8):b.start()]):
                continue
            for s, e in _split_people(text, b.start(1), b.end(1)):
                add(text[s:e], "person", "byline", s, e)
    for i in _finds(text, _ROLE_WORDS) if ("|" in text or "###" in text) else ():
        for b in _NAME_ROLE.finditer(text, max(0, i - 110), i + 15):
            for s, e in _split_people(text, b.start(1), b.end(1)):
                add(text[s:e], "person", "byline", s, e)
    for i in _finds(text, _PAPER_WORDS):
        if (b := _PAPER_NAME.match(text, i)) is None:
            continue
        ps, pe = b.span(1)
        if _REPORT_POST.match(text[pe:pe + 140]):
            add(b.group(1), "outlet", "reporting_verb", ps, pe)
    if " by" in text:
        for b in _ROLE_BY.finditer(text):
            if not _ROLE_PRE.search(text[max(0, b.start() - 14):b.start()]):
                continue
            for s, e in _split_people(text, b.start(1), b.end(1)):
                add(text[s:e], "person", "credit_line", s, e)
    if "contributed" in text:
        for c in re.finditer(r"\bcontributed\b", text):
            lo = max(0, c.start() - 300)
            for b in _CONTRIB.finditer(text, lo, c.end()):
                for s, e in _split_people(text, b.start(1), b.end(1)):
                    add(text[s:e], "person", "credit_line", s, e)
    return [out.map[k] for k in out.keys]


# ----------------------------------------------------------------------------- publishers
_STOP = frozenset({"the", "a", "an", "of", "and", "news", "daily", "online", "press", "new", "north", "south",
                   "east", "west", "national", "international", "world", "global", "united"})


@lru_cache(maxsize=1)
def _domain_index() -> tuple[dict[str, str], dict[str, str]]:
    domains: dict[str, str] = {}
    names: dict[str, str] = {}
    for e in load_agencies():
        for d in e.get("domains", ()):
            domains[d.casefold()] = e["name"]
        for a in [e["name"], *e["aliases"], *e.get("strict", ())]:
            names.setdefault(a.casefold(), e["name"])
        names.setdefault(("the " + e["name"]).casefold(), e["name"])
    return domains, names


def canonical_publisher(publisher: str | None, aliases: Mapping[str, Sequence[str]] | None = None) -> str:
    """The list's name for ``publisher`` (a name, alias or web domain), else ``publisher`` stripped.

    >>> canonical_publisher("www.reuters.com/article"), canonical_publisher("The Associated Press")
    ('Reuters', 'Associated Press')
    >>> canonical_publisher("Baltic Press Agency")
    'Baltic Press Agency'
    """
    p = (publisher or "").strip()
    if not p:
        return ""
    for name, forms in _norm_aliases(aliases):
        if p.casefold() == name.casefold() or p.casefold() in {f.casefold() for f in forms}:
            return _domain_index()[1].get(name.casefold(), name)
    domains, names = _domain_index()
    if p.casefold() in names:
        return names[p.casefold()]
    host = re.sub(r"^[a-z]+://", "", p.casefold())
    host = host[4:] if host.startswith("www.") else host
    parts = host.split("/")
    for i in range(len(parts), 0, -1):
        key = "/".join(parts[:i])
        if key in domains:
            return domains[key]
    return p


def _derived_forms(name: str) -> tuple[str, ...]:
    """Strict short forms of an unknown publisher: initials ("BPA") and a distinctive first word."""
    if "." in name or name.casefold() in _domain_index()[1]:
        return ()
    words = re.findall(r"[^\W_]+", name)
    out = []
    caps = "".join(w[0] for w in words if w[0].isupper())
    if len(caps) >= 3:
        out.append(caps)
    if len(words) > 1 and words[0].casefold() not in _STOP and len(words[0]) >= 4:
        out.append(words[0])
    return tuple(out)


def _same_org(a: str, b: str) -> bool:
    """Same organisation: equal names (case-folded), or one is the other's initials / first word."""
    if not a or not b:
        return False
    if a.casefold() == b.casefold():
        return True
    return a in _derived_forms(b) or b in _derived_forms(a)


def credit_verdict(
    copy_text: str,
    copy_publisher: str | None,
    source_publisher: str | None,
    source_text: str | None,
    aliases: Mapping[str, Sequence[str]] | None = None,
    *,
    copy_credits: Sequence[Credit] | None = None,
    source_credits: Sequence[Credit] | None = None,
) -> CreditVerdict:
    """Does the copy credit the source it reuses? (see the module docstring)

    ``copy_credits`` / ``source_credits`` may pass :func:`extract_credits` results already computed
    with the same ``aliases``; the copy's are recomputed when the source's publisher is not in the list
    (its short forms such as "(BPA)" must be matched).

    >>> credit_verdict("ASTANA (BPA) — ...", "Evening Ledger", "Baltic Press Agency", None).verdict
    'credited'
    >>> credit_verdict("A storm hit ...", "Evening Ledger", "Baltic Press Agency", None).verdict
    'uncredited'
    """
    src = canonical_publisher(source_publisher, aliases)
    cpy = canonical_publisher(copy_publisher, aliases)
    if src and cpy and src.casefold() == cpy.casefold():
        return CreditVerdict("credited", "same_publisher")
    if source_credits is None and source_text:
        source_credits = extract_credits(source_text, aliases)
    own_credits = [c for c in (source_credits or ()) if c.form in AUTHORSHIP_FORMS]
    # names the copy must be searched for beyond the list: the source's publisher (with its short
    # forms) and whoever the source itself credits
    known = _domain_index()[1]
    extra = dict(_norm_aliases(aliases))
    derived = _derived_forms(src) if src else ()
    for name in [src, *(c.name for c in own_credits)]:
        if name and name.casefold() not in known and "." not in name and name not in derived:
            extra.setdefault(name, ())
    norm = _norm_aliases(extra)
    if copy_credits is None or derived or len(extra) > len(_norm_aliases(aliases)):
        strict = ((src, derived),) if derived else ()
        copy_credits = _extract(copy_text or "", _extra_matcher(norm, strict))
    src_key = src.casefold()
    hits = tuple(c for c in copy_credits if src_key and c.name.casefold() == src_key)
    if hits:
        return CreditVerdict("credited", "publisher", hits)
    own = [c.name for c in own_credits if not _same_org(c.name, cpy)]
    hits = tuple(c for c in copy_credits if any(_same_org(c.name, o) for o in own))
    if hits:
        return CreditVerdict("credited", "source_credit", hits)
    others = tuple(
        c for c in copy_credits
        if c.kind != "person" and c.form != "mention" and c.name.casefold() != cpy.casefold()
    )
    if others:
        return CreditVerdict("credited_other", "other", others)
    return CreditVerdict("uncredited")
