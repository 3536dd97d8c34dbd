"""Regenerate the small named test corpora under ``tests/data/corpora/<name>/``.

Each corpus is an ``articles.jsonl`` (with a ``truth`` field per article, see
``newstrace.fixtures``) and a one-line ``README.md``. Everything is derived from the
project's own fictional articles with a fixed seed, so rerunning this script gives
byte-identical files::

    python tests/data/make_corpora.py
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from newstrace.fixtures import (
    FILLER_SENTENCES,
    Derived,
    composite,
    delete_sentences,
    identity,
    insert_sentences,
    load_originals,
    make_record,
    reorder_paragraphs,
    reprint,
    spin_derived,
    write_jsonl,
)

ROOT = Path(__file__).parent / "corpora"
SEED = 42


def original(rec: dict[str, Any]) -> dict[str, Any]:
    """An original article with its (empty) ground truth."""
    out = {k: rec[k] for k in ("id", "publisher", "published_at", "title", "url", "text")}
    truth: dict[str, Any] = {"kind": "original", "sources": [], "spans": [], "substitutions": []}
    if rec.get("same_event_group"):
        truth["same_event_group"] = rec["same_event_group"]
    out["truth"] = truth
    return out


def write(name: str, readme: str, records: list[dict[str, Any]], root: Path = ROOT) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    assert len(records) < 20
    write_jsonl(folder / "articles.jsonl", records)
    (folder / "README.md").write_text(readme.strip() + "\n", encoding="utf-8")
    print(f"{name}: {len(records)} articles")


def main(root: Path = ROOT) -> None:
    """Write every corpus under ``root`` (default: ``tests/data/corpora``)."""

    def put(name: str, readme: str, records: list[dict[str, Any]]) -> None:
        write(name, readme, records, root)

    rng = random.Random(SEED)
    orig = {o["id"]: o for o in load_originals()}

    # wire_reprint: one wire story reprinted three times (one with byline/footer), one unrelated.
    src = original(orig["orig-11"])
    recs = [src, original(orig["orig-19"])]
    for n, (pub, when) in enumerate(
        [
            ("Courier Daily", "2026-03-01T09:05:00+00:00"),
            ("Metro Chronicle", "2026-03-01T14:40:00+00:00"),
            ("NewsNow247", "2026-03-02T08:00:00+00:00"),
        ],
        start=1,
    ):
        derived = reprint(src["text"], rng, publisher=pub) if n > 1 else identity(src["text"])
        recs.append(
            make_record(f"reprint-{n}", "reprint", [src], derived, publisher=pub, published_at=when)
        )
    put(
        "wire_reprint",
        "A Northwire story and three verbatim reprints (two with byline/copyright "
        "lines), plus one unrelated article.",
        recs,
    )

    # synonym_swap: spun copies at two rates.
    src = original(orig["orig-24"])
    recs = [src, original(orig["orig-27"])]
    for n, (rate, pub, when) in enumerate(
        [
            (0.2, "InfoStream Digest", "2026-03-13T15:00:00+00:00"),
            (0.4, "Global Feed Online", "2026-03-14T02:30:00+00:00"),
        ],
        start=1,
    ):
        recs.append(
            make_record(
                f"spun-{n}",
                "spin",
                [src],
                spin_derived(src["text"], rate, rng),
                publisher=pub,
                published_at=when,
                spin_rate=rate,
            )
        )
    put(
        "synonym_swap",
        "A story and two spinner copies (synonym substitution at rates 0.2 and "
        "0.4, e.g. Russia -> Russian Federation), plus one unrelated article.",
        recs,
    )

    # reordered: paragraph shuffle, inserted sentences, deleted sentences.
    src = original(orig["orig-23"])
    recs = [
        src,
        make_record(
            "reordered-1",
            "reorder",
            [src],
            reorder_paragraphs(src["text"], rng),
            publisher="Metro Chronicle",
            published_at="2026-03-12T10:00:00+00:00",
        ),
        make_record(
            "inserted-1",
            "insert",
            [src],
            insert_sentences(src["text"], FILLER_SENTENCES, rng, count=2),
            publisher="DailyPulse Hub",
            published_at="2026-03-12T11:00:00+00:00",
        ),
        make_record(
            "deleted-1",
            "delete",
            [src],
            delete_sentences(src["text"], 2, rng),
            publisher="Evening Ledger",
            published_at="2026-03-12T12:00:00+00:00",
        ),
    ]
    put(
        "reordered",
        "A story copied with its paragraphs reordered, with two sentences "
        "inserted, and with two sentences deleted.",
        recs,
    )

    # composite3: three dated sources stitched and spun, an undated reprint, a same-event article.
    sources = [original(orig[i]) for i in ("orig-01", "orig-11", "orig-24")]
    stitched: Derived = spin_derived(composite([s["text"] for s in sources], rng), 0.25, rng)
    recs = [
        *sources,
        make_record(
            "composite-1",
            "composite",
            sources,
            stitched,
            publisher="The Morning Aggregator",
            published_at="2026-03-14T06:00:00+00:00",
            title="Europe roundup: floods, wind power and sturgeon",
            spin_rate=0.25,
        ),
        make_record(
            "undated-reprint-1",
            "reprint",
            [sources[2]],
            reprint(sources[2]["text"], rng, publisher="Metro Chronicle"),
            publisher="Metro Chronicle",
            published_at=None,
        ),
        original(orig["orig-02"]),
    ]
    put(
        "composite3",
        "One article stitched from paragraphs of three dated sources and then "
        "spun; an undated reprint of one source; and an independent same-event article "
        "(orig-02, same flood as orig-01: not a copy except one shared quotation).",
        recs,
    )

    # no_match: same-event groups only.
    recs = [original(o) for o in orig.values() if o.get("same_event_group")]
    put(
        "no_match",
        "Only independently written coverage of the same four events: nothing is "
        "reused except one short shared quotation per event.",
        recs,
    )

    put(
        "unicode_offsets",
        "Multilingual articles (CJK, emoji with ZWJ and skin tones, "
        "combining marks, Hebrew and Arabic) reused verbatim and reordered across documents.",
        unicode_records(rng),
    )

    short = {"publisher": "Courier Daily", "title": "Short", "url": None}
    truth = {"kind": "original", "sources": [], "spans": [], "substitutions": []}
    recs = [
        {
            **short,
            "id": "empty",
            "published_at": "2026-03-02T08:00:00+00:00",
            "text": "",
            "truth": truth,
        },
        {
            **short,
            "id": "whitespace",
            "published_at": "2026-03-02T09:00:00+00:00",
            "text": "  \n\n\t \n",
            "truth": truth,
        },
        {
            **short,
            "id": "one-word",
            "published_at": "2026-03-02T10:00:00+00:00",
            "text": "Developing.",
            "truth": truth,
        },
        {
            **short,
            "id": "three-sentences",
            "published_at": "2026-03-02T11:00:00+00:00",
            "text": "Firefighters contained a warehouse blaze in Gdańsk on Monday. Nobody was hurt, "
            "the city said. Investigators are examining a faulty forklift charger.",
            "truth": truth,
        },
    ]
    put(
        "short_and_empty",
        "Degenerate inputs: an empty text, a whitespace-only text, a "
        "one-word text and a three-sentence article; nothing should match or crash.",
        recs,
    )


UNICODE_SOURCE = """\
TAIPEI (Northwire) — 臺北市政府週二宣布，捷運環狀線北段將於四月底通車，沿線居民期待已久。 City officials said the 5.8-kilometre extension 🚇 would carry about 30,000 riders a day once it opens.

Café owner Zoë Mu\u0308ller, who runs a bakery beside the new Shilin station, said business had already picked up. “People come to look at the trains and stay for a pastry,” she said, adding that her crème brûle\u0301e sold out twice last week. 🥐☕

The line's bilingual signage drew praise from visitors: one sign reads 「下一站：士林」, another tells tourists in Japanese 「次は士林です」, and a temporary banner welcomes guests from Tel Aviv with “ברוכים הבאים” and from Dubai with “أهلاً وسهلاً”.

Commuters posted photos with 👍🏽 and 🎉 while a family group of four 👩‍👩‍👧‍👦 posed for the mayor's camera. Officials said ticket prices would stay at NT$20 for the first three stations."""

UNICODE_OTHER = """\
東京（Harbour Herald）— 気象庁は水曜日、関東地方で桜の開花を観測したと発表した。平年より五日早い。

上野公園では朝から多くの花見客が訪れ、「今年は暖かい日が続いたので、早く咲いた」と話す人もいた。 Visitors from São Paulo and Łódź were among the crowds. 🌸

The agency expects full bloom within about a week, weather permitting."""


def unicode_records(rng: random.Random) -> list[dict[str, Any]]:
    """A multilingual source, a reprint, a reordered copy, and an unrelated text."""
    src: dict[str, Any] = {
        "id": "uni-source",
        "publisher": "Northwire",
        "published_at": "2026-03-17T02:00:00+00:00",
        "title": "臺北捷運環狀線北段 to open in April",
        "url": "https://example-northwire.test/2026/03/17/taipei-circular-line",
        "text": UNICODE_SOURCE,
        "truth": {"kind": "original", "sources": [], "spans": [], "substitutions": []},
    }
    other = {
        "id": "uni-other",
        "publisher": "Harbour Herald",
        "published_at": "2026-03-18T01:00:00+00:00",
        "title": "東京で桜開花",
        "url": "https://example-harbourherald.test/2026/03/18/tokyo-sakura",
        "text": UNICODE_OTHER,
        "truth": {"kind": "original", "sources": [], "spans": [], "substitutions": []},
    }
    return [
        src,
        make_record(
            "uni-reprint",
            "reprint",
            [src],
            reprint(src["text"], rng, publisher="亞洲新聞網", byline=True, footer=True),
            publisher="亞洲新聞網",
            published_at="2026-03-17T06:30:00+00:00",
        ),
        make_record(
            "uni-reordered",
            "reorder",
            [src],
            reorder_paragraphs(src["text"], rng),
            publisher="Global Feed Online",
            published_at="2026-03-17T09:00:00+00:00",
        ),
        other,
    ]


if __name__ == "__main__":
    main()
