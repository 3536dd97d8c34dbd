"""Boilerplate: page text that is template, not story, kept out of clustering.

Scraped pages carry their site's template (menus, "sign up" boxes, cookie and
copyright notices, lists of other headlines). Two pages that share only that
text are not copies of one story, yet an aligner links them, and reuse clusters
and story families chain through the links (on the Helsinki corpus one cluster
took 404 of 612 pages). This stage finds such text at paragraph level:

* **site template**: a paragraph found on pages of at least ``SITE_MIN_STORIES``
  different stories of the *same publisher* (pages of one story, e.g. a story
  and its update, do not count twice: they are grouped by ``same_story``);
* **banal**: a paragraph found in at least ``BANAL_MIN_DOCS`` documents whose
  pairs mostly (``BANAL_LONE_SHARE``) share nothing else outside boilerplate: a
  notice or formula that joins otherwise unrelated documents (in the spirit of
  TextPAIR's banality filter). A wire paragraph travels with the rest of its
  story, so pairs of its copies share other paragraphs too.

Passages stay stored; ``strip_passages`` trims boilerplate off both ends of each
passage span and drops those that are mostly boilerplate, and the clustering
(``cluster.cluster_passages``, and the Spark engine) works on the result.

Everything here is a plain function of ``(doc_key, publisher, text)`` rows and
passage rows, so that both engines get the same answer from the same input.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import xxhash

#: Paragraph separators: line breaks, and the ``" ### "`` that scraped corpora use.
PARAGRAPH_SPLIT = re.compile(r"\s*\n\s*|\s+#{3}\s+")
_WORD = re.compile(r"\w+")
#: A paragraph on pages of this many different stories of one publisher is template.
SITE_MIN_STORIES = 3
#: A paragraph in this many documents is banal when ...
BANAL_MIN_DOCS = 3
#: ... at least this share of the pairs of those documents share nothing else.
BANAL_LONE_SHARE = 0.5
#: The pairs are those of an even sample of at most this many of the documents (a
#: paragraph in thousands of documents would otherwise cost millions of pairs).
BANAL_SAMPLE = 40
#: Two pages are one story when their shared (non-template) paragraphs hold this share
#: of the characters of the smaller one.
SAME_STORY_SHARE = 0.5
#: Gaps up to this many characters between boilerplate paragraphs are separators.
MAX_SEPARATOR = 8
#: A passage span with at least this share inside boilerplate is left out of clustering.
DROP_SHARE = 0.5

Span = tuple[int, int]
PassageRow = tuple[int, int, int, int, int, int]


def paragraphs(text: str) -> list[tuple[int, int, int]]:
    """Paragraphs of ``text`` as ``(start, end, key)``; ``key`` is a 64-bit hash of the
    casefolded words (so spacing and punctuation differences do not matter).
    Paragraphs without a word are left out.

    >>> [(s, e) for s, e, _ in paragraphs("Menu ### Story text here.\\n\\nMore")]
    [(0, 4), (9, 25), (27, 31)]
    """
    out = []
    pos = 0
    for m in [*PARAGRAPH_SPLIT.finditer(text), None]:
        end = m.start() if m else len(text)
        words = _WORD.findall(text, pos, end)
        if words:
            key = xxhash.xxh64_intdigest(" ".join(words).casefold().encode()) - (1 << 63)
            out.append((pos, end, key))
        pos = m.end() if m else end
    return out


def _groups(pages: Sequence[int], shared: Callable[[int, int], int],
            size: Mapping[int, int]) -> int:
    """Number of stories among ``pages``: greedy groups of pages that are one story
    (shared characters >= ``SAME_STORY_SHARE`` of the smaller page)."""
    leads: list[int] = []
    for p in sorted(pages):
        for q in leads:
            common = shared(p, q)
            if common >= SAME_STORY_SHARE * max(1, min(size[p], size[q])):
                break
        else:
            leads.append(p)
    return len(leads)


class _Shared:
    """Characters of (non-``skip``) paragraphs two documents share, computed for the
    pairs asked about (and remembered): every pair of the documents holding a common
    paragraph would be quadratic (a sign-off line in 19,000 Reuters texts)."""

    def __init__(self, paras: Mapping[int, list[tuple[int, int, int]]], skip: set[int]) -> None:
        self.skip = skip
        self.lengths: dict[int, dict[int, int]] = {}
        self.paras = paras
        self.memo: dict[tuple[int, int], int] = {}

    def _lengths(self, d: int) -> dict[int, int]:
        got = self.lengths.get(d)
        if got is None:
            got = {}
            for s, e, k in self.paras[d]:
                if k not in self.skip and e - s > got.get(k, 0):
                    got[k] = e - s
            self.lengths[d] = got
        return got

    def __call__(self, a: int, b: int) -> int:
        key = (a, b) if a < b else (b, a)
        hit = self.memo.get(key)
        if hit is None:
            la, lb = self._lengths(a), self._lengths(b)
            if len(la) > len(lb):
                la, lb = lb, la
            hit = sum(min(n, lb[k]) for k, n in la.items() if k in lb)
            self.memo[key] = hit
        return hit


def _sample(docs: Sequence[int], n: int) -> list[int]:
    """At most ``n`` of ``docs`` (sorted), evenly spread: deterministic, so both engines
    and every run see the same sample."""
    if len(docs) <= n:
        return list(docs)
    step = len(docs) / n
    return [docs[int(i * step)] for i in range(n)]


def boilerplate_spans(
    docs: Iterable[tuple[int, str | None, str]],
    site_min_stories: int = SITE_MIN_STORIES,
    banal_min_docs: int = BANAL_MIN_DOCS,
    banal_lone_share: float = BANAL_LONE_SHARE,
) -> dict[int, list[Span]]:
    """Boilerplate character spans per document: ``{doc_key: [(start, end), ...]}``.

    Args:
        docs: ``(doc_key, publisher, text)`` rows (publisher may be None: such
            documents get no site template, only banality).

    Documents without boilerplate are left out of the result.
    """
    paras: dict[int, list[tuple[int, int, int]]] = {}
    publisher: dict[int, str | None] = {}
    docs_of: dict[int, set[int]] = defaultdict(set)
    for key, pub, text in docs:
        ps = paragraphs(text or "")
        paras[key] = ps
        publisher[key] = pub
        for _, _, k in ps:
            docs_of[k].add(key)
    size = {d: sum(e - s for s, e, _ in ps) for d, ps in paras.items()}
    repeated = {k for k, ds in docs_of.items() if len(ds) >= 2}

    # 1. site template: per publisher, paragraphs on pages of several stories
    template: dict[str | None, set[int]] = defaultdict(set)
    by_pub: dict[str, list[int]] = defaultdict(list)
    for d, pub in publisher.items():
        if pub:
            by_pub[pub].append(d)
    for pub, pages in by_pub.items():
        if len(pages) < site_min_stories:
            continue
        local: dict[int, set[int]] = defaultdict(set)
        for d in pages:
            for _, _, k in paras[d]:
                if k in repeated:
                    local[k].add(d)
        cands = {k for k, ds in local.items() if len(ds) >= site_min_stories}
        if not cands:
            continue
        # pages of one story (a story and its update) share most of their text
        shared = _Shared(paras, set())
        for k in cands:
            if _groups(sorted(local[k]), shared, size) >= site_min_stories:
                template[pub].add(k)

    # 2. banality: paragraphs joining documents that share nothing else
    site_keys = set().union(*template.values()) if template else set()
    cands = {k for k, ds in docs_of.items() if len(ds) >= banal_min_docs}
    banal: set[int] = set()
    if cands:
        shared = _Shared(paras, site_keys)
        for k in sorted(cands):
            # the share of lone pairs, estimated on an even sample of the documents
            ds = _sample(sorted(docs_of[k]), BANAL_SAMPLE)
            lone = total = 0
            length = {d: max(e - s for s, e, kk in paras[d] if kk == k) for d in ds}
            for i, a in enumerate(ds):
                for b in ds[i + 1:]:
                    total += 1
                    own = 0 if k in site_keys else min(length[a], length[b])
                    if shared(a, b) - own <= 0:
                        lone += 1
            if total and lone >= banal_lone_share * total:
                banal.add(k)

    out: dict[int, list[Span]] = {}
    for d, ps in paras.items():
        tmpl = template.get(publisher[d], set())
        spans = [(s, e) for s, e, k in ps if k in banal or k in tmpl]
        if spans:
            out[d] = spans
    return out


#: A corpus looks scraped when at least this share of its pages (with a publisher)
#: carry a paragraph found on ``SITE_MIN_STORIES`` or more pages of their publisher.
SCRAPED_SHARE = 0.2
#: Paragraphs shorter than this many words are not counted by ``looks_scraped``.
SCRAPED_MIN_WORDS = 4


def looks_scraped(docs: Iterable[tuple[int, str | None, str]], share: float = SCRAPED_SHARE) -> bool:
    """Whether ``(doc_key, publisher, text)`` rows look like scraped web pages: a share
    ``share`` of the pages that name a publisher repeat a paragraph (of
    ``SCRAPED_MIN_WORDS`` words or more) of ``SITE_MIN_STORIES`` or more pages of that
    publisher -- a site template (menus, notices, headline lists). One pass, linear.

    >>> page = "Menu Home News Sport ### Story {} about a thing."
    >>> looks_scraped([(k, "site.com", page.format(k)) for k in range(5)])
    True
    >>> looks_scraped([(k, "site.com", f"Story {k} about a thing.") for k in range(5)])
    False
    """
    pages_of: dict[tuple[str, int], list[int]] = defaultdict(list)
    n = 0
    for key, pub, text in docs:
        if not pub:
            continue
        n += 1
        seen = set()
        for s, e, k in paragraphs(text or ""):
            if k not in seen and len(_WORD.findall(text, s, e)) >= SCRAPED_MIN_WORDS:
                seen.add(k)
                pages_of[pub, k].append(key)
    if not n:
        return False
    templated = {d for ds in pages_of.values() if len(ds) >= SITE_MIN_STORIES for d in ds}
    return len(templated) >= share * n


def _mask(spans: Sequence[Span], length: int) -> np.ndarray:
    m = np.zeros(length, dtype=bool)
    for s, e in spans:
        m[s:e] = True
    return m


def strip_passages(
    passages: Iterable[PassageRow],
    spans: Mapping[int, Sequence[Span]],
    drop_share: float = DROP_SHARE,
    publishers: Mapping[int, str | None] | None = None,
    lengths: Mapping[int, int] | None = None,
) -> list[PassageRow]:
    """Passages for clustering, with boilerplate taken out.

    Each side's span is trimmed of boilerplate at both ends (separators between
    boilerplate paragraphs count as boilerplate); a passage with either side
    covered by boilerplate for ``drop_share`` of its span, or trimmed to nothing,
    is dropped. Boilerplate inside a span, between story text, is kept.
    With ``publishers`` and ``lengths`` (characters per document), a passage
    between two pages of one publisher is dropped unless it covers
    ``SAME_STORY_SHARE`` of the shorter page (the same story posted twice): what
    else two pages of one site share is their template (header, captions, lists).

    Args:
        passages: rows ``(a_key, a_start, a_end, b_key, b_start, b_end)``.
        spans: ``boilerplate_spans`` output.

    >>> strip_passages([(1, 0, 100, 2, 0, 100), (1, 0, 30, 2, 0, 30)], {1: [(0, 40)]})
    [(1, 40, 100, 2, 0, 100)]
    """
    out: list[PassageRow] = []
    masks: dict[int, np.ndarray] = {}

    def side(doc: int, start: int, end: int) -> tuple[int, int] | None:
        bp = spans.get(doc)
        if not bp:
            return start, end
        if doc not in masks:
            ordered = sorted(bp)
            # a short gap (a separator such as " ### ") between two boilerplate
            # paragraphs is boilerplate too
            filled = [ordered[0]]
            for s, e in ordered[1:]:
                if s - filled[-1][1] <= MAX_SEPARATOR:
                    filled[-1] = (filled[-1][0], max(e, filled[-1][1]))
                else:
                    filled.append((s, e))
            masks[doc] = _mask(filled, max(e for _, e in filled))
        m = masks[doc]
        seg = np.zeros(end - start, dtype=bool)
        lo, hi = start, min(end, m.shape[0])
        if hi > lo:
            seg[: hi - lo] = m[lo:hi]
        if seg.mean() >= drop_share if seg.size else True:
            return None
        free = np.flatnonzero(~seg)
        s, e = start + int(free[0]), start + int(free[-1]) + 1
        return s, e

    for row in passages:
        a_key, a0, a1, b_key, b0, b1 = (int(x) for x in row)
        if publishers is not None and lengths is not None:
            pub = publishers.get(a_key)
            if pub and pub == publishers.get(b_key) and min(a1 - a0, b1 - b0) < (
                    SAME_STORY_SHARE * min(lengths.get(a_key, 0), lengths.get(b_key, 0))):
                continue
        a = side(a_key, a0, a1)
        b = side(b_key, b0, b1) if a is not None else None
        if a is None or b is None:
            continue
        out.append((a_key, a[0], a[1], b_key, b[0], b[1]))
    return out


def passages_for_clustering(
    passages: Iterable[PassageRow], docs: Iterable[tuple[int, str | None, str]]
) -> list[PassageRow]:
    """The whole stage: ``boilerplate_spans`` of ``docs`` (``(doc_key, publisher,
    text)``), then ``strip_passages`` with the same-publisher rule. Cluster and
    compute story families from the result.

    >>> page = "Sign up for our newsletter today and save ### {} ### Share this"
    >>> story = "Story {} is a long text about one thing that happened, told in full. "
    >>> docs = [(k, "site.com", page.format(story.format(k) * 3)) for k in (1, 2, 3)]
    >>> docs.append((4, "other.org", "Sign up for our newsletter today and save"))
    >>> boilerplate_spans(docs)[1]
    [(0, 41), (255, 265)]
    >>> passages_for_clustering([(1, 0, 41, 4, 0, 41)], docs)
    []
    """
    docs = list(docs)
    spans = boilerplate_spans(docs)
    return strip_passages(passages, spans, publishers={k: p for k, p, _ in docs},
                          lengths={k: len(t or "") for k, _, t in docs})


__all__ = ["boilerplate_spans", "looks_scraped", "paragraphs", "passages_for_clustering", "strip_passages"]
