"""Deterministic demo corpus and ground-truth derivations (reprints, spins, composites).

Everything here is pure standard-library Python and fully deterministic for a seed:
each derivation takes a ``random.Random`` and returns the derived text together with
its ground truth, i.e. which character range of the copy came from which character
range of which source. Offsets are Python string indices into the original text,
end-exclusive, exactly like the engine's public JSON.

The originals in ``newstrace/data/demo_originals.jsonl`` are fictional articles written
for this project (no third-party text). Four "same-event" groups (``same_event_group``
``g1``..``g4``) cover one event each, written independently by 2-3 outlets: related
but not copied, apart from one short shared quotation per group.

Example:
    >>> import random
    >>> text, subs = spin("Russia said it currently wants talks.", 1.0, random.Random(1))
    >>> [s["source"] for s in subs]
    ['Russia', 'said', 'currently', 'wants', 'talks']
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "FILLER_SENTENCES",
    "SPIN_DICTIONARY",
    "STOPWORDS",
    "Derived",
    "composite",
    "delete_sentences",
    "demo_corpus",
    "identity",
    "insert_sentences",
    "load_originals",
    "make_record",
    "paragraph_spans",
    "reorder_paragraphs",
    "reprint",
    "sentence_spans",
    "spin",
    "spin_candidates",
    "spin_derived",
    "write_demo_corpus",
    "write_jsonl",
]

DEFAULT_SEED = 42

# --------------------------------------------------------------------------- records


@dataclass
class Derived:
    """A derived text and its ground truth.

    Attributes:
        text: the derived (copy) text.
        spans: one dict per reused range, with keys ``source_index`` (index into the
            list of sources given to the derivation; 0 for single-source ones),
            ``source_start``, ``source_end``, ``copy_start``, ``copy_end`` (end-exclusive
            character offsets) and ``verbatim`` (True when
            ``copy[copy_start:copy_end] == source[source_start:source_end]``).
        substitutions: spinner substitutions, each with ``source``, ``replacement``,
            ``source_index``, ``source_start``, ``source_end`` (into the source) and
            ``copy_start``, ``copy_end`` (into the copy).
    """

    text: str
    spans: list[dict[str, Any]]
    substitutions: list[dict[str, Any]] = field(default_factory=list)


def _span(
    source_index: int, source_start: int, source_end: int, copy_start: int, verbatim: bool = True
) -> dict[str, Any]:
    return {
        "source_index": source_index,
        "source_start": source_start,
        "source_end": source_end,
        "copy_start": copy_start,
        "copy_end": copy_start + (source_end - source_start),
        "verbatim": verbatim,
    }


def identity(text: str) -> Derived:
    """Return ``text`` as a verbatim copy of itself (one span covering all of it)."""
    return Derived(text, [_span(0, 0, len(text), 0)] if text else [])


# --------------------------------------------------------------------------- originals


def load_originals() -> list[dict[str, Any]]:
    """Load the bundled original (fictional) articles.

    Returns:
        One dict per article with ``id``, ``publisher``, ``published_at`` (ISO 8601
        string), ``title``, ``url``, ``text`` and, for same-event articles,
        ``same_event_group``.
    """
    path = resources.files("newstrace").joinpath("data").joinpath("demo_originals.jsonl")
    with path.open("r", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------- segmentation

_ABBREVIATIONS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "st",
        "jr",
        "sr",
        "prof",
        "gen",
        "gov",
        "sen",
        "rep",
        "no",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "mt",
        "ft",
    ]
)
_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*(?=\s+[\"“‘(\[]?[^\W_a-z])")
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.DOTALL)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each paragraph (blocks separated by blank lines).

    Leading/trailing whitespace of a paragraph is excluded from its span.
    """
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each sentence, never crossing a paragraph break.

    A simple rule-based splitter (terminal punctuation, optional closing quote,
    whitespace, then an upper-case letter, digit or opening quote) that skips common
    abbreviations such as "Dr." and "St." and single initials. Good enough for the
    fixtures; it is not the engine's sentence splitter.
    """
    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        para = text[p_start:p_end]
        start = 0
        for m in _SENTENCE_END.finditer(para):
            before = re.search(r"([^\W\d_]+)\.$", para[: m.start() + 1])
            if before and (before.group(1).lower() in _ABBREVIATIONS or len(before.group(1)) == 1):
                continue
            end = m.end()
            spans.append((p_start + start, p_start + end))
            nxt = end
            while nxt < len(para) and para[nxt].isspace():
                nxt += 1
            start = nxt
        if start < len(para):
            spans.append((p_start + start, p_end))
    return spans


# --------------------------------------------------------------------------- spinner

STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "nor",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "into",
        "onto",
        "upon",
        "than",
        "then",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "it",
        "its",
        "it's",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "we",
        "us",
        "our",
        "ours",
        "you",
        "your",
        "yours",
        "i",
        "me",
        "my",
        "mine",
        "who",
        "whom",
        "whose",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "if",
        "so",
        "not",
        "no",
        "as",
        "up",
        "out",
        "off",
        "over",
        "under",
        "again",
        "once",
        "very",
        "s",
        "t",
    ]
)

# One entry per line: "key: replacement | replacement". Keys are lower-case and may
# be multiword; replacements keep their own capitalisation (proper nouns), and the
# first letter is upper-cased when the replaced text starts with a capital.
_SPIN_TABLE = """
russia: Russian Federation
russian federation: Russia
united states: United States of America | US
united kingdom: Great Britain | Britain
european union: EU | European bloc
want: wish for | desire
wants: wishes for | desires
wanted: wished for | desired
wish for: want
as well as: like | along with
currently: now | at present | presently
now: currently | at this point
said: stated | mentioned | said to reporters
says: states | mentions
say: state | mention
stated: said
told: informed | advised
increase: rise | boost | improve
increases: rises | boosts
increased: rose | elevated
rise: increase | boost
rose: increased | climbed
rising: increasing | climbing
fell: decreased | dropped
fall: decline | drop
falling: declining | dropping
drop: decline | fall
decline: fall | drop
government: administration | authorities
governments: administrations
minister: secretary | official
officials: authorities | representatives
official: authorized | formal
because: since | as
because of: due to | owing to
due to: because of | owing to
about: approximately | roughly | around
roughly: approximately | about
approximately: about | roughly
around: about | approximately
more than: over | in excess of
less than: under | below
at least: no less than | a minimum of
company: firm | business | enterprise
companies: firms | businesses
firm: company | business
business: enterprise | company
group: collection | bunch
help: assist | aid
helped: assisted | aided
begin: start | commence
began: started | commenced
start: begin | commence
started: began | commenced
end: finish | conclude
ended: finished | concluded
big: large | huge
large: big | sizeable
huge: enormous | massive
small: little | tiny
little: small | minor
new: novel | fresh
old: aged | elderly
important: significant | vital
significant: important | considerable
show: demonstrate | display
showed: demonstrated | revealed
shows: demonstrates | reveals
use: utilize | employ
used: utilized | employed
using: utilizing | employing
make: create | produce
made: created | produced
get: obtain | receive
got: obtained | received
give: provide | offer
gave: provided | offered
given: provided | offered
need: require | must have
needs: requires
needed: required
find: discover | locate
found: discovered | located
think: believe | consider
believe: think | feel
try: attempt | endeavour
tried: attempted
trying: attempting
build: construct | erect
built: constructed | erected
building: constructing
buy: purchase | acquire
bought: purchased | acquired
sell: market | offer for sale
sold: marketed
pay: compensate | remunerate
paid: compensated
cost: expense | price
costs: expenses
price: cost | rate
prices: costs | rates
money: funds | cash
funds: money | capital
job: position | post
jobs: positions | posts
work: labour | job
worked: laboured
working: operating | functioning
workers: employees | staff
people: individuals | persons | folks
person: individual
children: kids | youngsters
child: kid | youngster
family: household | relatives
families: households
home: residence | house
homes: residences | houses
house: residence | home
city: town | metropolis
town: city | municipality
country: nation | state
countries: nations | states
region: area | zone
area: region | zone
world: globe | planet
year: twelve months
years: decades | seasons
month: four weeks
week: seven days
day: date
today: at the moment | these days
later: afterwards | subsequently
early: initial | premature
late: belated | overdue
soon: shortly | quickly
quickly: rapidly | swiftly
fast: quick | rapid
slow: gradual | sluggish
high: elevated | excessive
low: reduced | minimal
strong: powerful | robust
weak: feeble | fragile
good: great | fine
bad: poor | terrible
best: finest | greatest
worst: poorest
better: improved | superior
major: main | key
main: principal | primary
key: essential | crucial
many: numerous | several
several: various | many
some: certain
most: the majority of
all: every one of
also: additionally | moreover
however: nevertheless | nonetheless
although: though | even though
but: yet | however
despite: regardless of | in spite of
still: nonetheless | yet
again: once more | anew
already: previously | by now
often: frequently | usually
usually: normally | typically
only: solely | merely
just: merely | simply
very: extremely | really
really: truly | genuinely
likely: probable | expected
expected: anticipated | predicted
expect: anticipate | predict
expects: anticipates
plan: scheme | strategy
plans: schemes | strategies
planned: scheduled | intended
project: scheme | venture
report: account | statement
reported: announced | disclosed
reports: accounts
statement: announcement | declaration
announced: declared | unveiled
announce: declare | unveil
decision: ruling | verdict
decided: determined | resolved
agree: concur | consent
agreed: concurred | settled on
agreement: deal | accord
deal: agreement | arrangement
talks: negotiations | discussions
meeting: assembly | gathering
problem: issue | trouble
problems: issues | troubles
issue: problem | matter
question: query | issue
answer: response | reply
change: alter | modify
changed: altered | modified
keep: retain | maintain
kept: retained | maintained
stay: remain
remain: stay | continue
remains: stays
move: shift | relocate
moved: shifted | relocated
leave: depart | exit
left: departed
reach: attain | get to
reached: attained | hit
including: such as | comprising
include: comprise | contain
includes: comprises | contains
allow: permit | enable
allowed: permitted
support: backing | assistance
warned: cautioned | alerted
warn: caution | alert
urged: pressed | encouraged
asked: requested | questioned
ask: request | inquire
called: named | termed
call: name | phone
power: electricity | energy
electricity: power | energy
energy: power | vitality
water: H2O | fluid
rain: rainfall | precipitation
storm: tempest | gale
heavy: hefty | weighty
dead: deceased | lifeless
died: passed away | perished
killed: slain | fatally injured
damage: harm | destruction
damaged: harmed | impaired
residents: inhabitants | locals
police: law enforcement | officers
court: tribunal | bench
judge: justice | magistrate
ruling: decision | judgment
law: legislation | statute
lawyer: attorney | solicitor
lawyers: attorneys | solicitors
case: matter | lawsuit
evidence: proof | testimony
market: marketplace | industry
markets: marketplaces
shares: stocks | equities
investors: financiers | backers
profit: earnings | gains
revenue: income | turnover
growth: expansion | development
economy: financial system
economic: financial | fiscal
analysts: experts | commentators
experts: specialists | authorities
scientists: researchers | experts
researchers: scientists | investigators
study: research | analysis
data: information | figures
information: data | details
figures: numbers | statistics
record: document | file
chief executive: CEO | managing director
chief: head | leader
director: manager | head
leader: chief | head
president: head of state | chairman
team: squad | side
players: athletes | competitors
win: triumph | victory
won: triumphed | secured
victory: win | triumph
race: contest | competition
title: championship | crown
fans: supporters | followers
season: campaign | term
game: match | contest
health: well-being | wellness
hospital: clinic | medical centre
doctors: physicians | medics
disease: illness | condition
patients: sufferers | cases
vaccine: vaccination | jab
risk: danger | hazard
safety: security | protection
danger: risk | peril
dangerous: hazardous | risky
serious: grave | severe
severe: serious | extreme
environmental: ecological | green
pollution: contamination
protect: safeguard | shield
restore: revive | rebuild
travel: journey | trip
journey: trip | voyage
passengers: travellers | riders
flights: flying | departures
airline: carrier | air carrier
train: locomotive | rail service
road: street | route
roads: streets | routes
bridge: crossing | overpass
tunnel: underpass | passage
ship: vessel | boat
trade: commerce | business
exports: shipments abroad
export: ship abroad
farmers: growers | producers
growers: farmers | producers
crop: harvest | yield
harvest: crop | yield
fish: marine life
birds: avian species
tonnes: metric tons
percent: per cent
per cent: percent
billion: thousand million
following: after | subsequent to
before: prior to | ahead of
after: following | subsequent to
during: throughout | in the course of
across: throughout | over
near: close to | nearby
beside: next to | alongside
between: among | amid
within: inside | in
without: lacking | minus
against: versus | opposed to
toward: towards | in the direction of
towards: toward
in order to: to | so as to
a lot of: plenty of | numerous
a number of: several | a few
in addition: furthermore | moreover
at the moment: now | currently
for example: for instance | such as
in particular: particularly | especially
at present: currently | now
at the same time: simultaneously | concurrently
so far: up to now | thus far
each year: annually | every year
every year: annually | each year
last year: the previous year | the prior year
next year: the coming year | the following year
whole: entire | complete
entire: whole | full
full: complete | entire
first: initial | earliest
final: last | closing
last: final | previous
next: following | subsequent
previous: prior | earlier
clear: obvious | evident
able: capable | in a position
difficult: hard | challenging
hard: difficult | tough
easy: simple | effortless
possible: feasible | potential
necessary: essential | required
enough: sufficient | adequate
similar: comparable | alike
different: distinct | diverse
unusual: uncommon | rare
rare: uncommon | unusual
common: frequent | widespread
widely: broadly | extensively
public: general public | community
private: personal | confidential
local: regional | neighbourhood
national: countrywide | domestic
international: global | worldwide
global: worldwide | international
foreign: overseas | international
european: continental
spokesman: representative | spokesperson
spokeswoman: representative | spokesperson
reporters: journalists | the press
news: reports | headlines
media: press | news outlets"""


def _parse_table(table: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in table.strip().splitlines():
        key, _, values = line.partition(":")
        out[key.strip()] = [v.strip() for v in values.split("|") if v.strip()]
    return out


SPIN_DICTIONARY: dict[str, list[str]] = _parse_table(_SPIN_TABLE)
"""A spinner thesaurus: lower-case word or phrase -> candidate replacements."""

_MAX_KEY_WORDS = max(len(k.split()) for k in SPIN_DICTIONARY)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def spin_candidates(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` ranges a spinner may replace, left to right.

    Multiword dictionary keys are matched first (longest match wins) and only across
    single spaces; single words are eligible when they have an entry and are not in
    :data:`STOPWORDS`. Ranges never overlap. This is the denominator of the spin rate.
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        matched = 0
        for n_words in range(min(_MAX_KEY_WORDS, len(words) - i), 0, -1):
            chunk = words[i : i + n_words]
            if any(text[a[1] : b[0]] != " " for a, b in itertools.pairwise(chunk)):
                continue
            phrase = text[chunk[0][0] : chunk[-1][1]].lower()
            if phrase in SPIN_DICTIONARY and (n_words > 1 or phrase not in STOPWORDS):
                out.append((chunk[0][0], chunk[-1][1]))
                matched = n_words
                break
        i += matched or 1
    return out


def _match_case(surface: str, replacement: str) -> str:
    if len(surface) > 1 and surface.isupper():
        return replacement.upper()
    if surface[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def spin(text: str, rate: float, rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """Replace about ``rate`` of the eligible words/phrases by dictionary synonyms.

    Exactly ``round(rate * len(spin_candidates(text)))`` candidates are replaced,
    chosen with ``rng``; each replacement is drawn from the entry with ``rng`` and
    takes the capitalisation of the replaced text.

    Args:
        text: the source text.
        rate: share of eligible words to replace, 0..1.
        rng: the random generator (consumed).

    Returns:
        ``(spun_text, substitutions)``; each substitution is ``{"source",
        "replacement", "source_start", "source_end", "copy_start", "copy_end"}`` with
        ``text[source_start:source_end] == source`` and
        ``spun_text[copy_start:copy_end] == replacement``.
    """
    candidates = spin_candidates(text)
    k = max(0, min(len(candidates), round(rate * len(candidates))))
    chosen = sorted(rng.sample(range(len(candidates)), k))
    pieces: list[str] = []
    subs: list[dict[str, Any]] = []
    pos = 0
    out_len = 0
    for idx in chosen:
        start, end = candidates[idx]
        surface = text[start:end]
        options = [v for v in SPIN_DICTIONARY[surface.lower()] if v.lower() != surface.lower()]
        replacement = _match_case(surface, rng.choice(options))
        pieces.append(text[pos:start])
        out_len += start - pos
        subs.append(
            {
                "source": surface,
                "replacement": replacement,
                "source_start": start,
                "source_end": end,
                "copy_start": out_len,
                "copy_end": out_len + len(replacement),
            }
        )
        pieces.append(replacement)
        out_len += len(replacement)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces), subs


def spin_derived(derived: Derived | str, rate: float, rng: random.Random) -> Derived:
    """Spin a derived text and carry its ground truth through the substitutions.

    Spans are shifted to the spun text (and marked non-verbatim when a substitution
    falls inside them); each substitution gets the ``source_index`` and the offsets
    in the original source of the span it falls in.

    Args:
        derived: a :class:`Derived` (or a plain text, treated as :func:`identity`).
        rate: share of eligible words to replace.
        rng: the random generator.
    """
    base = identity(derived) if isinstance(derived, str) else derived
    new_text, subs = spin(base.text, rate, rng)

    def shift(pos: int) -> int:
        delta = 0
        for s in subs:
            if s["source_end"] <= pos:
                delta += len(s["replacement"]) - len(s["source"])
            elif s["source_start"] < pos:
                raise ValueError("span boundary inside a substitution")
        return pos + delta

    spans = []
    out_subs = []
    for sp in base.spans:
        inside = [
            s
            for s in subs
            if sp["copy_start"] <= s["source_start"] and s["source_end"] <= sp["copy_end"]
        ]
        new = dict(sp)
        new["copy_start"] = shift(sp["copy_start"])
        new["copy_end"] = shift(sp["copy_end"])
        new["verbatim"] = sp["verbatim"] and not inside
        spans.append(new)
        for s in inside:
            offset = sp["source_start"] - sp["copy_start"]
            out_subs.append(
                {
                    "source": s["source"],
                    "replacement": s["replacement"],
                    "source_index": sp["source_index"],
                    "source_start": s["source_start"] + offset,
                    "source_end": s["source_end"] + offset,
                    "copy_start": s["copy_start"],
                    "copy_end": s["copy_end"],
                }
            )
    return Derived(new_text, spans, base.substitutions + out_subs)


# --------------------------------------------------------------------------- derivations

_BYLINES = [
    "By Staff Reporter",
    "By our correspondent",
    "From wire reports",
    "By News Desk",
    "Agency report",
    "By Foreign Desk staff",
]


def reprint(
    text: str,
    rng: random.Random,
    publisher: str = "Newswire",
    *,
    byline: bool | None = None,
    footer: bool | None = None,
) -> Derived:
    """Verbatim reprint, optionally with a byline line and a copyright footer.

    Args:
        text: the source text.
        rng: the random generator; decides (each with probability 1/2) whether a byline
            line is prepended and whether a "Copyright ... All rights reserved." footer
            is appended.
        publisher: name used in the byline and footer.
        byline: force the byline line on (True) or off (False); None lets ``rng`` decide.
        footer: force the copyright footer on or off; None lets ``rng`` decide.

    Returns:
        A :class:`Derived` with one verbatim span covering the whole source.
    """
    add_byline = rng.random() < 0.5 if byline is None else byline
    add_footer = rng.random() < 0.5 if footer is None else footer
    header = f"{rng.choice(_BYLINES)} | {publisher}\n\n" if add_byline else ""
    tail = f"\n\nCopyright © 2026 {publisher}. All rights reserved." if add_footer else ""
    return Derived(header + text + tail, [_span(0, 0, len(text), len(header))] if text else [])


def _join(pieces: Sequence[tuple[int, int, int]], texts: Sequence[str], sep: str) -> Derived:
    """Join ``(source_index, start, end)`` slices with ``sep``; one span per slice."""
    out: list[str] = []
    spans = []
    pos = 0
    for n, (src, start, end) in enumerate(pieces):
        if n:
            out.append(sep)
            pos += len(sep)
        out.append(texts[src][start:end])
        spans.append(_span(src, start, end, pos))
        pos += end - start
    return Derived("".join(out), spans)


def reorder_paragraphs(text: str, rng: random.Random, keep_lead: bool = True) -> Derived:
    """Shuffle paragraphs (the lead stays first when ``keep_lead`` and there are ≥ 4).

    The order always differs from the original when there are enough paragraphs to
    shuffle. Paragraphs are re-joined with a blank line; one verbatim span each.
    """
    paras = paragraph_spans(text)
    fixed = 1 if keep_lead and len(paras) >= 4 else 0
    rest = paras[fixed:]
    order = list(range(len(rest)))
    if len(rest) >= 2:
        while order == sorted(order):
            rng.shuffle(order)
    pieces = [(0, s, e) for s, e in paras[:fixed]] + [(0, *rest[i]) for i in order]
    return _join(pieces, [text], "\n\n")


def insert_sentences(
    text: str, filler_sentences: Sequence[str], rng: random.Random, count: int | None = None
) -> Derived:
    """Insert sentences (from ``filler_sentences``) after randomly chosen sentences.

    Args:
        text: the source text.
        filler_sentences: candidate sentences to insert (drawn without replacement).
        rng: the random generator.
        count: how many to insert; default 1..3 chosen by ``rng``.

    Returns:
        A :class:`Derived` whose verbatim spans are the source pieces between insertions.
    """
    sentences = sentence_spans(text)
    if not sentences or not filler_sentences:
        return identity(text)
    if count is None:
        count = rng.randint(1, min(3, len(filler_sentences)))
    count = min(count, len(filler_sentences), len(sentences))
    points = sorted(rng.sample([end for _, end in sentences], count))
    fillers = rng.sample(list(filler_sentences), count)
    out: list[str] = []
    spans = []
    pos = src = 0
    for point, filler in zip(points, fillers, strict=True):
        out.append(text[src:point])
        spans.append(_span(0, src, point, pos))
        pos += point - src
        ins = " " + filler
        out.append(ins)
        pos += len(ins)
        src = point
    out.append(text[src:])
    if src < len(text):
        spans.append(_span(0, src, len(text), pos))
    return Derived("".join(out), spans)


def delete_sentences(text: str, k: int, rng: random.Random) -> Derived:
    """Delete ``k`` sentences (never the first one, never a paragraph's only sentence).

    The deleted sentence takes its following whitespace with it (or the preceding
    whitespace when it ends its paragraph), so paragraphs stay intact.

    Returns:
        A :class:`Derived` with verbatim spans for the kept stretches.
    """
    sentences = sentence_spans(text)
    paras = paragraph_spans(text)

    def para_of(span: tuple[int, int]) -> int:
        return next(i for i, (ps, pe) in enumerate(paras) if ps <= span[0] < pe)

    removable = []
    for i, sp in enumerate(sentences[1:], start=1):
        p = para_of(sp)
        same_next = i + 1 < len(sentences) and para_of(sentences[i + 1]) == p
        same_prev = para_of(sentences[i - 1]) == p
        if same_next:
            removable.append((sp[0], sentences[i + 1][0]))
        elif same_prev:
            removable.append((sentences[i - 1][1], sp[1]))
    chosen = sorted(rng.sample(removable, min(k, len(removable))))
    # Two adjacent choices may touch or overlap at a boundary: merge them.
    cuts: list[list[int]] = []
    for start, end in chosen:
        if cuts and start <= cuts[-1][1]:
            cuts[-1][1] = max(cuts[-1][1], end)
        else:
            cuts.append([start, end])
    keep = []
    prev = 0
    for start, end in cuts:
        if start > prev:
            keep.append((0, prev, start))
        prev = end
    if prev < len(text):
        keep.append((0, prev, len(text)))
    return _join(keep, [text], "")


def composite(
    texts: Sequence[str], rng: random.Random, per_source: tuple[int, int] = (1, 2)
) -> Derived:
    """Stitch consecutive paragraphs from each source into one article.

    Args:
        texts: the source texts, used in the given order.
        rng: the random generator.
        per_source: inclusive range of paragraphs taken from each source.

    Returns:
        A :class:`Derived`; span ``source_index`` is the index into ``texts``.
    """
    pieces: list[tuple[int, int, int]] = []
    for idx, text in enumerate(texts):
        paras = paragraph_spans(text)
        if not paras:
            continue
        count = min(len(paras), rng.randint(*per_source))
        first = rng.randrange(0, len(paras) - count + 1)
        pieces.extend((idx, s, e) for s, e in paras[first : first + count])
    return _join(pieces, texts, "\n\n")


FILLER_SENTENCES: list[str] = [
    "The company did not respond to a request for comment by publication time.",
    "Officials declined to give further details, citing an ongoing review.",
    "The announcement was first reported by local media earlier in the day.",
    "Readers can follow live updates on our website throughout the evening.",
    "A spokesperson for the ministry said more information would follow.",
    "Critics say the measures come too late to make a real difference.",
    "The figures could not be independently verified.",
    "This story has been updated with additional reaction.",
    "Similar concerns were raised at a public hearing last autumn.",
    "Weather forecasters expect conditions to remain changeable into next week.",
    "The issue is likely to feature prominently in the next parliamentary session.",
    "Neighbouring regions have reported comparable trends in recent months.",
]
"""Original sentences inserted by :func:`insert_sentences` in the demo corpus."""


# --------------------------------------------------------------------------- demo corpus

_PUBLISHERS = [
    "Northwire",
    "Baltic Press Agency",
    "Courier Daily",
    "Meridian News Service",
    "Harbour Herald",
    "Alpine Dispatch",
    "Southern Cross Wire",
    "Evening Ledger",
]


_COPY_PUBLISHERS = [
    "DailyPulse Hub",
    "NewsNow247",
    "Global Feed Online",
    "Metro Chronicle",
    "InfoStream Digest",
    "The Morning Aggregator",
]


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:60].strip("-")


def _later(dates: Iterable[str], rng: random.Random) -> str:
    latest = max(datetime.fromisoformat(d) for d in dates)
    minutes = rng.randint(60, 30 * 60)
    return (latest + timedelta(minutes=minutes)).astimezone(UTC).isoformat()


def _truth(
    kind: str, sources: Sequence[dict[str, Any]], derived: Derived | None, **extra: Any
) -> dict[str, Any]:
    ids = [s["id"] for s in sources]
    spans: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    if derived is not None:
        for sp in derived.spans:
            item = {"source_id": ids[sp["source_index"]]}
            item.update({k: v for k, v in sp.items() if k != "source_index"})
            spans.append(item)
        for s in derived.substitutions:
            item = {"source_id": ids[s.get("source_index", 0)]}
            item.update({k: v for k, v in s.items() if k != "source_index"})
            subs.append(item)
    truth = {"kind": kind, "sources": ids, "spans": spans, "substitutions": subs}
    truth.update(extra)
    return truth


def make_record(
    record_id: str,
    kind: str,
    sources: Sequence[dict[str, Any]],
    derived: Derived,
    *,
    publisher: str,
    published_at: str | None,
    title: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a derived article record (with its ``truth``) from a :class:`Derived`.

    Args:
        record_id: the new article's id.
        kind: truth kind (reprint, spin, reorder, insert, delete, composite).
        sources: the source records, in the order of the derivation's ``source_index``.
        derived: the derivation result.
        publisher: the copy's publisher; also used in its example URL.
        published_at: ISO 8601 string, or None for an undated copy.
        title: defaults to the first source's title.
        **extra: added to the ``truth`` dict (e.g. ``spin_rate``, ``chain_origin``).

    Returns:
        A record with ``id``, ``publisher``, ``published_at``, ``title``, ``url``,
        ``text`` and ``truth`` (spans/substitutions name sources by ``source_id``).
    """
    title = title or sources[0]["title"]
    day = (published_at or "2026-03-21")[:10].replace("-", "/")
    return {
        "id": record_id,
        "publisher": publisher,
        "published_at": published_at,
        "title": title,
        "url": f"https://example-{_slug(publisher)}.test/{day}/{_slug(title)}",
        "text": derived.text,
        "truth": _truth(kind, sources, derived, **extra),
    }


def demo_corpus(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Build the demo corpus: the originals plus about 40 derived articles.

    Derived articles: 10 dated verbatim reprints, 2 undated reprints
    (``published_at`` null), 1 reprint of a reprint, 10 spun copies (rate 0.2-0.4),
    5 paragraph reorders, 3 sentence insertions, 3 sentence deletions and 6
    composites of 2-3 sources. Every record has a ``truth`` dict: ``kind``
    (original|reprint|spin|reorder|insert|delete|composite), ``sources`` (ids),
    ``spans`` (``source_id``, ``source_start``, ``source_end``, ``copy_start``,
    ``copy_end``, ``verbatim``) and ``substitutions``; originals in a same-event group
    also carry ``same_event_group``. The output depends only on ``seed``.
    """
    rng = random.Random(seed)
    originals = load_originals()
    records: list[dict[str, Any]] = []
    for o in originals:
        rec = {k: o[k] for k in ("id", "publisher", "published_at", "title", "url", "text")}
        extra = {"same_event_group": o["same_event_group"]} if o.get("same_event_group") else {}
        rec["truth"] = _truth("original", [], None, **extra)
        records.append(rec)
    by_id = {r["id"]: r for r in records}
    counter = 0

    def add(
        kind: str,
        sources: list[dict[str, Any]],
        derive: Derived | Callable[[str], Derived],
        *,
        dated: bool = True,
        title: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Append a derived record; ``derive`` may depend on the chosen publisher."""
        nonlocal counter
        counter += 1
        own = {s["publisher"] for s in sources}
        publisher = rng.choice([p for p in _PUBLISHERS + _COPY_PUBLISHERS if p not in own])
        derived = derive if isinstance(derive, Derived) else derive(publisher)
        published = (
            _later([s["published_at"] for s in sources if s["published_at"]], rng)
            if dated
            else None
        )
        rec = make_record(
            f"copy-{counter:02d}",
            kind,
            sources,
            derived,
            publisher=publisher,
            published_at=published,
            title=title,
            **extra,
        )
        records.append(rec)
        return rec

    pool = list(originals)
    def pick(n: int) -> list[Any]:
        return [by_id[o["id"]] for o in rng.sample(pool, n)]

    def reprint_of(text: str) -> Callable[[str], Derived]:
        return lambda publisher: reprint(text, rng, publisher=publisher)

    for src in pick(10):
        add("reprint", [src], reprint_of(src["text"]))
    for src in pick(2):
        add("reprint", [src], reprint_of(src["text"]), dated=False)
    src = pick(1)[0]
    first = add("reprint", [src], reprint_of(src["text"]))
    add("reprint", [first], reprint_of(first["text"]), chain_origin=src["id"])
    for src in pick(10):
        rate = round(rng.uniform(0.2, 0.4), 2)
        title, _ = spin(src["title"], 0.5, rng)
        spun = spin_derived(src["text"], rate, rng)
        add("spin", [src], spun, title=title, spin_rate=rate)
    for src in pick(5):
        add("reorder", [src], reorder_paragraphs(src["text"], rng))
    for src in pick(3):
        add("insert", [src], insert_sentences(src["text"], FILLER_SENTENCES, rng))
    for src in pick(3):
        add("delete", [src], delete_sentences(src["text"], rng.randint(1, 3), rng))
    for _ in range(6):
        sources = pick(rng.randint(2, 3))
        mixed = composite([s["text"] for s in sources], rng)
        add("composite", sources, mixed, title=f"Roundup: {sources[0]['title']}")
    return records


def write_demo_corpus(path: str | Path, seed: int = DEFAULT_SEED) -> int:
    """Write :func:`demo_corpus` as JSONL (UTF-8, one article per line, ``truth`` kept).

    Returns:
        The number of articles written.
    """
    return write_jsonl(path, demo_corpus(seed))


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSONL (non-ASCII kept as is); return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n
