"""Boilerplate stage: site templates and banal notices are kept out of clustering."""

from __future__ import annotations

from newstrace.boilerplate import (
    boilerplate_spans,
    paragraphs,
    passages_for_clustering,
    strip_passages,
)
from newstrace.cluster import cluster_passages

MENU = "Home ### World ### Sign up for our daily newsletter and never miss a story"
NOTICE = "Copyright 2018 Example Wire. All rights reserved. This material may not be redistributed."


def _story(topic: str) -> str:
    return " ".join(f"{topic} sentence {i} tells part of the story about {topic} in detail." for i in range(6))


def _pages():
    """Three stories on site A (menu on each), one on site B; A's story 1 also on B."""
    docs = []
    for k, topic in enumerate(["floods", "elections", "football"], 1):
        docs.append((k, "a.example", f"{MENU} ### {_story(topic)} ### {NOTICE}"))
    docs.append((4, "b.example", f"{_story('floods')} ### {NOTICE}"))
    docs.append((5, "c.example", f"{_story('markets')} ### {NOTICE}"))
    return docs


def _span(docs, key, needle):
    text = dict((k, t) for k, _, t in docs)[key]
    s = text.index(needle)
    return s, s + len(needle)


def test_paragraph_keys_ignore_spacing_and_case():
    (_, _, k1), = paragraphs("Sign  up, now!")
    (_, _, k2), = paragraphs("sign up now")
    assert k1 == k2


def test_site_template_and_banal_notice_are_found_story_is_not():
    docs = _pages()
    spans = boilerplate_spans(docs)
    text = {k: t for k, _, t in docs}
    found = {k: [text[k][s:e] for s, e in v] for k, v in spans.items()}
    assert "Sign up for our daily newsletter and never miss a story" in found[1]
    assert NOTICE in found[5]  # joins stories that share nothing else
    for k in found:  # no story paragraph is boilerplate
        assert not any("sentence" in x for x in found[k])
    assert 4 in found and all(x == NOTICE for x in found[4])  # no menu on site B


def test_clusters_do_not_chain_through_boilerplate():
    docs = _pages()
    notice = [_span(docs, k, NOTICE) for k in (1, 2, 3, 4, 5)]
    menu = [_span(docs, k, MENU) for k in (1, 2, 3)]
    story = _span(docs, 1, _story("floods")), _span(docs, 4, _story("floods"))
    rows = [
        (1, *story[0], 4, *story[1]),  # the real reprint
        (1, *notice[0], 5, *notice[4]),  # notice only
        (2, *notice[1], 3, *notice[2]),
        (1, *menu[0], 2, *menu[1]),  # menu only, same site
        (2, *menu[1], 3, *menu[2]),
    ]
    before = cluster_passages(rows)
    assert len({m.doc_key for m in before if m.cluster_id == 1}) >= 3
    kept = passages_for_clustering(rows, docs)
    assert kept == [rows[0]]
    after = cluster_passages(rows, docs)
    assert {m.doc_key for m in after} == {1, 4}


def test_strip_passages_trims_ends_and_keeps_story_spans():
    spans = {1: [(0, 10), (12, 20)]}
    # boilerplate at the start, separator gap filled: trimmed to the story
    assert strip_passages([(1, 0, 100, 2, 0, 100)], spans) == [(1, 20, 100, 2, 0, 100)]
    # mostly boilerplate: dropped
    assert strip_passages([(1, 0, 30, 2, 0, 30)], spans) == []
    # same publisher, small share of the pages: template, dropped; the whole page: kept
    pubs, lengths = {1: "x", 2: "x"}, {1: 1000, 2: 1000}
    assert strip_passages([(1, 100, 200, 2, 100, 200)], {}, publishers=pubs, lengths=lengths) == []
    whole = [(1, 0, 990, 2, 0, 995)]
    assert strip_passages(whole, {}, publishers=pubs, lengths=lengths) == whole
