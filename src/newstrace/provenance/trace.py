"""The ``trace --json`` document: :func:`attribute`'s result in the public JSON shape."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from newstrace.model import Passage
from newstrace.params import Params
from newstrace.provenance.attribution import Attribution, attribute
from newstrace.provenance.core import _iso
from newstrace.provenance.edits import SWAP_KINDS, Edit


def edit_dict(e: Edit) -> dict[str, Any]:
    """An edit in the per-sentence JSON shape (``op``/``source``/``replacement`` and
    offsets, as before; ``kind``/``from``/``to`` added)."""
    op = "substitute" if e.kind in SWAP_KINDS else ("insert" if e.kind == "insertion" else "delete")
    return {
        "op": op, "kind": e.kind, "source": e.src, "replacement": e.dst, "from": e.src, "to": e.dst,
        "source_start": e.src_span[0], "source_end": e.src_span[1],
        "copy_start": e.dst_span[0], "copy_end": e.dst_span[1],
    }


def find_self(text: str, query_id: str | None, documents: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The indexed id of the traced text itself: a document with the query's id, else
    the first (by id) whose text is the same, spacing aside."""
    if query_id is not None and str(query_id) in documents:
        return str(query_id)
    norm = " ".join(text.split())
    same = sorted(sid for sid, d in documents.items() if " ".join(str(d.get("text") or "").split()) == norm)
    return same[0] if same else None


def build_trace(
    text: str,
    query_id: str,
    passages: Sequence[Passage],
    sources_meta: Mapping[str, Mapping[str, Any]],
    params: Params,
    self_id: str | None = None,
) -> dict[str, Any]:
    """Assemble the ``trace --json`` document for one query.

    Args:
        text: The query text (side ``a`` of every passage).
        query_id: Its id in the output.
        passages: Passages between the query (a) and indexed documents (b).
        sources_meta: ``{doc id: {"id", "title", "publisher", "url", "published_at", "text"}}``.
        params: Uses ``wholly_derived`` and ``partially_derived``.
        self_id: the indexed id of the query itself (``find_self``): reported as
            ``self``, never a source.
    """
    passages = [p for p in passages if str(p.b_id) != self_id]
    by_source: dict[str, list[Passage]] = defaultdict(list)
    for p in passages:
        by_source[str(p.b_id)].append(p)
    spans = {sid: [(p.a_start, p.a_end, p.b_start, p.b_end) for p in ps] for sid, ps in by_source.items()}
    att = attribute(text, spans, sources_meta, params, self_id=self_id)
    return trace_json(att, text, query_id, by_source, sources_meta, passages)


def trace_json(
    att: Attribution,
    text: str,
    query_id: str,
    by_source: Mapping[str, Sequence[Passage]],
    sources_meta: Mapping[str, Mapping[str, Any]],
    passages: Sequence[Passage],
) -> dict[str, Any]:
    copies_of = {g.id: list(g.copies) for g in att.groups}
    sources = []
    for sid in att.order:
        meta = sources_meta[sid]
        sources.append({
            "id": sid, "title": meta.get("title"), "publisher": meta.get("publisher"),
            "url": meta.get("url"), "published_at": _iso(meta.get("published_at")),
            "coverage": att.coverage_of[sid], "group": att.group_of[sid],
            "main": sid == att.main, "copies": copies_of.get(sid, []),
            "passages": [p.to_dict() for p in sorted(by_source[sid], key=lambda p: p.a_start)],
        })
    sentences = []
    moved = []
    for sent in att.sentences:
        found = [{
            "id": f.id, "relation": f.relation, "share": f.share, "b_start": f.b_start,
            "b_end": f.b_end, "published_at": _iso(sources_meta[f.id].get("published_at")),
            "edits": [edit_dict(e) for e in f.edits],
        } for f in sent.sources]
        mv: Any = False
        if sent.moved is not None:
            mv = {"from": list(sent.moved.src_span), "to": list(sent.moved.dst_span),
                  "source_id": sent.moved_source}
            moved.append({"sentence": sent.index, "source_id": sent.moved_source,
                          "from": list(sent.moved.src_span), "to": list(sent.moved.dst_span)})
        sentences.append({
            "index": sent.index, "start": sent.start, "end": sent.end, "sources": found,
            "note": None if found else "no source found", "moved": mv,
        })
    earliest = list(att.earliest_ids)
    return {
        "query_id": query_id,
        "self": att.self_id,
        "main": att.main,
        "n_sources": len(att.groups),
        "composite_sources": [{
            "id": g.id, "copies": list(g.copies), "share": g.share,
            "spans": [list(s) for s in g.spans], "published_at": _iso(g.published_at),
            "main": g.main,
        } for g in att.groups],
        "earliest_note": att.earliest_note,
        "moved": moved,
        "spin": {"score": att.spin_score, "lexical_substitutions": att.lexical_substitutions,
                 "aligned_words": att.aligned_words, "spun": att.spun},
        "n_chars": att.n_chars,
        "n_tokens": att.n_tokens,
        "coverage": att.coverage,
        "derived_share": att.derived_share,
        "classification": att.classification,
        "composite": att.composite,
        "contributors": att.contributors,
        "earliest_source": earliest[0] if len(earliest) == 1 else (earliest or None),
        "passages": [p.to_dict() for p in sorted(passages, key=lambda p: (p.a_start, str(p.b_id)))],
        "sources": sources,
        "sentences": sentences,
        "edits": [{"from": e.src, "to": e.dst, "kind": e.kind, "count": e.count,
                   "source": e.src, "replacement": e.dst, "source_ids": list(e.source_ids)}
                  for e in att.edits],
    }
