"""Stage 7: passages + dates -> sources, derivation class, composites, edits.

Used by ``Index.trace`` for one query; corpus-wide provenance builds on the same
pieces. Derivation classes follow the METER corpus (Gaizauskas, Clough et al.):
*wholly derived* when at least ``Params.wholly_derived`` of the text's tokens lie
in reused passages, *partially derived* from ``Params.partially_derived``, else
*not derived*.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from newstrace.model import Passage
from newstrace.params import Params
from newstrace.tokens import TOKEN_RE, split_sentences

#: A replaced run longer than this (tokens, either side) is a rewrite, not a substitution.
MAX_SUBSTITUTION_TOKENS = 4
#: A source must cover this share of the query's tokens to count as a contributor.
MIN_CONTRIBUTOR_SHARE = 0.05
#: Sources whose covered query regions overlap by this share of the smaller are copies
#: of one another (one contributor, not two).
SAME_GROUP_OVERLAP = 0.5


def classify(share: float, params: Params) -> str:
    """METER-style class from the share of a text that is reused.

    >>> from newstrace.params import Params
    >>> classify(0.9, Params()), classify(0.3, Params()), classify(0.01, Params())
    ('wholly derived', 'partially derived', 'not derived')
    """
    if share >= params.wholly_derived:
        return "wholly derived"
    if share >= params.partially_derived:
        return "partially derived"
    return "not derived"


def _words(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    return [
        (m.start(), m.end(), unicodedata.normalize("NFKC", m.group()).casefold())
        for m in TOKEN_RE.finditer(text, start, end)
    ]


def word_alignment(
    copy_text: str, copy_span: tuple[int, int], source_text: str, source_span: tuple[int, int]
) -> tuple[list[tuple[int, int, int, int]], list[dict[str, Any]]]:
    """Word-level diff of a reused passage.

    Returns:
        ``(matches, edits)``: matched words as ``(copy_start, copy_end, source_start,
        source_end)`` char offsets, and the edits turning the source passage into the
        copy: ``{"op": "substitute"|"insert"|"delete"|"rewrite", "source", "replacement",
        "source_start", "source_end", "copy_start", "copy_end"}``.

    >>> m, e = word_alignment("Russian Federation wish for peace", (0, 33), "Russia want peace", (0, 17))
    >>> [(x["source"], x["replacement"]) for x in e]
    [('Russia want', 'Russian Federation wish for')]
    """
    cw = _words(copy_text, *copy_span)
    sw = _words(source_text, *source_span)
    sm = SequenceMatcher(None, [w for _, _, w in sw], [w for _, _, w in cw], autojunk=False)
    matches: list[tuple[int, int, int, int]] = []
    edits: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                s, c = sw[i1 + k], cw[j1 + k]
                matches.append((c[0], c[1], s[0], s[1]))
            continue
        s_start = sw[i1][0] if i2 > i1 else (sw[i1 - 1][1] if i1 > 0 else source_span[0])
        s_end = sw[i2 - 1][1] if i2 > i1 else s_start
        c_start = cw[j1][0] if j2 > j1 else (cw[j1 - 1][1] if j1 > 0 else copy_span[0])
        c_end = cw[j2 - 1][1] if j2 > j1 else c_start
        if tag == "replace":
            op = "substitute" if max(i2 - i1, j2 - j1) <= MAX_SUBSTITUTION_TOKENS else "rewrite"
        else:
            op = "delete" if tag == "delete" else "insert"
        edits.append(
            {
                "op": op,
                "source": source_text[s_start:s_end],
                "replacement": copy_text[c_start:c_end],
                "source_start": s_start, "source_end": s_end,
                "copy_start": c_start, "copy_end": c_end,
            }
        )
    return matches, edits


def _sort_key_date(meta: Mapping[str, Any]) -> tuple[bool, datetime, str]:
    when = meta.get("published_at")
    return (when is None, when or datetime.max, str(meta.get("id")))


def build_trace(
    text: str,
    query_id: str,
    passages: Sequence[Passage],
    sources_meta: Mapping[str, Mapping[str, Any]],
    params: Params,
) -> dict[str, Any]:
    """Assemble the ``trace --json`` document for one query.

    Args:
        text: The query text (side ``a`` of every passage).
        query_id: Its id in the output.
        passages: Passages between the query (a) and indexed documents (b).
        sources_meta: ``{doc id: {"id", "title", "publisher", "url", "published_at", "text"}}``.
        params: Uses ``wholly_derived`` and ``partially_derived``.
    """
    qtok = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
    starts = np.array([s for s, _ in qtok], dtype=np.int64)
    n_tok = max(1, len(qtok))
    by_source: dict[str, list[Passage]] = defaultdict(list)
    for p in passages:
        by_source[str(p.b_id)].append(p)

    covered_by: dict[str, np.ndarray] = {}
    all_covered = np.zeros(len(qtok), dtype=bool)
    matches_by_source: dict[str, list[tuple[int, int, int, int]]] = {}
    edits_by_source: dict[str, list[dict[str, Any]]] = {}
    for sid, ps in by_source.items():
        mask = np.zeros(len(qtok), dtype=bool)
        matches: list[tuple[int, int, int, int]] = []
        edits: list[dict[str, Any]] = []
        src_text = str(sources_meta[sid]["text"])
        for p in ps:
            lo, hi = np.searchsorted(starts, [p.a_start, p.a_end])
            mask[lo:hi] = True
            m, e = word_alignment(text, (p.a_start, p.a_end), src_text, (p.b_start, p.b_end))
            matches.extend(m)
            edits.extend(e)
        covered_by[sid] = mask
        all_covered |= mask
        matches_by_source[sid] = sorted(matches)
        edits_by_source[sid] = edits

    # sources ranked by coverage, then date; grouped when they cover the same query text
    order = sorted(
        by_source, key=lambda s: (-int(covered_by[s].sum()), _sort_key_date(sources_meta[s]))
    )
    groups: list[list[str]] = []
    for sid in order:
        mask = covered_by[sid]
        for g in groups:
            lead = covered_by[g[0]]
            inter = int((lead & mask).sum())
            if inter >= SAME_GROUP_OVERLAP * min(int(lead.sum()), int(mask.sum())):
                g.append(sid)
                break
        else:
            groups.append([sid])
    group_of = {sid: gi for gi, g in enumerate(groups) for sid in g}
    contributors = [
        g for g in groups if max(covered_by[s].sum() for s in g) / n_tok >= MIN_CONTRIBUTOR_SHARE
    ]

    sources = []
    for sid in order:
        meta = sources_meta[sid]
        sources.append(
            {
                "id": sid,
                "title": meta.get("title"),
                "publisher": meta.get("publisher"),
                "url": meta.get("url"),
                "published_at": _iso(meta.get("published_at")),
                "coverage": round(float(covered_by[sid].sum()) / n_tok, 4),
                "group": group_of[sid],
                "passages": [p.to_dict() for p in sorted(by_source[sid], key=lambda p: p.a_start)],
            }
        )

    sentences = []
    for idx, (s, e) in enumerate(split_sentences(text)):
        lo, hi = np.searchsorted(starts, [s, e])
        n_sent = int(hi - lo)
        found = []
        for sid in by_source:
            inside = [m for m in matches_by_source[sid] if s <= m[0] < e]
            if not inside or n_sent == 0:
                continue
            share = len(inside) / n_sent
            if share < 0.2:
                continue
            b_start = min(m[2] for m in inside)
            b_end = max(m[3] for m in inside)
            src_words = len(TOKEN_RE.findall(str(sources_meta[sid]["text"]), b_start, b_end))
            if share >= 0.999 and src_words == len(inside):
                relation = "exact"
            elif share >= 0.9:
                relation = "near-exact"
            elif share >= 0.5:
                relation = "reworded"
            else:
                relation = "partial"
            sent_edits = [
                x for x in edits_by_source[sid] if s <= x["copy_start"] < e or (
                    x["op"] == "delete" and s < x["copy_start"] <= e)
            ]
            found.append(
                {
                    "id": sid,
                    "relation": relation,
                    "share": round(share, 4),
                    "b_start": b_start,
                    "b_end": b_end,
                    "published_at": _iso(sources_meta[sid].get("published_at")),
                    "edits": [x for x in sent_edits if x["op"] != "insert" or x["replacement"]],
                }
            )
        found.sort(key=lambda f: (-f["share"], _sort_key_date(sources_meta[f["id"]])))
        sentences.append({"index": idx, "start": s, "end": e, "sources": found})

    edit_counts: Counter[tuple[str, str]] = Counter()
    edit_docs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sid, edits in edits_by_source.items():
        for x in edits:
            if x["op"] == "substitute":
                key = (x["source"], x["replacement"])
                edit_counts[key] += 1
                edit_docs[key].add(sid)
    coverage = float(all_covered.sum()) / n_tok
    dated = [s for s in order if sources_meta[s].get("published_at") is not None]
    earliest: list[str] = []
    if dated:
        first = min(sources_meta[s]["published_at"] for s in dated)
        earliest = sorted(s for s in dated if sources_meta[s]["published_at"] == first)
    return {
        "query_id": query_id,
        "n_chars": len(text),
        "n_tokens": len(qtok),
        "coverage": round(coverage, 4),
        "classification": classify(coverage, params),
        "composite": len(contributors) >= 2,
        "contributors": [g[0] if len(g) == 1 else _earliest(g, sources_meta) for g in contributors],
        "earliest_source": earliest[0] if len(earliest) == 1 else (earliest or None),
        "passages": [p.to_dict() for p in sorted(passages, key=lambda p: (p.a_start, str(p.b_id)))],
        "sources": sources,
        "sentences": sentences,
        "edits": [
            {"source": k[0], "replacement": k[1], "count": c, "source_ids": sorted(edit_docs[k])}
            for k, c in edit_counts.most_common()
        ],
    }


def _earliest(ids: Sequence[str], meta: Mapping[str, Mapping[str, Any]]) -> str:
    return min(ids, key=lambda s: _sort_key_date(meta[s]))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
