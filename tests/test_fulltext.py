"""The web search's FTS5 index: all words, ranked, refreshed incrementally, rebuilt when stale."""

from __future__ import annotations

from pathlib import Path

from newstrace.index import Index
from newstrace.web.fulltext import FullText, fts_path, fts_query

DOCS = [
    {"id": "a", "title": "Trump plays golf", "text": "The president went golfing in Scotland before meeting Putin."},
    {"id": "b", "title": "Summit in Helsinki", "text": "Putin and Trump meet in Helsinki; no golf was played."},
    {"id": "c", "title": "Weather", "text": "Showers in the Bahia cocoa zone eased the drought."},
]


def _ids(idx: Index, ft: FullText, q: str, field: str = "all") -> list[str]:
    ft.refresh(idx.con)
    hits, total = ft.search(q, field)
    keys = [h["doc_key"] for h in hits]
    assert total == len(keys)
    names = dict(idx.con.execute("SELECT doc_key, id FROM documents").fetchall())
    return [names[k] for k in keys]


def test_all_words_ranked_incremental_and_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with Index.open(db) as idx:
        idx.add(DOCS[:2])
        ft = FullText(db)
        assert ft.path == fts_path(db) and ft.path.exists()
        assert _ids(idx, ft, "putin golf")[0] == "a"  # both match; "golf" in a's title ranks it first
        assert set(_ids(idx, ft, "putin golf")) == {"a", "b"}
        assert _ids(idx, ft, "golf", "title") == ["a"]
        assert _ids(idx, ft, '"no golf"') == ["b"]
        assert _ids(idx, ft, "cocoa") == []
        idx.add(DOCS[2:])
        assert ft.refresh(idx.con) == 1 and _ids(idx, ft, "cocoa drought") == ["c"]
        assert ft.refresh(idx.con) == 0
        ft.close()
    # another database at the same path: the stale index is rebuilt, not trusted
    for p in tmp_path.glob("x.duckdb*"):
        if p != fts_path(db):
            p.unlink()
    with Index.open(db) as idx:
        idx.add([{"id": "z", "text": "Completely different text about harbour cranes."}])
        ft = FullText(db)
        assert _ids(idx, ft, "putin") == [] and _ids(idx, ft, "cranes") == ["z"]
        mem = FullText(None, in_memory=True)
        assert mem.path is None and _ids(idx, mem, "harbour") == ["z"]


def test_query_words_are_quoted_never_syntax() -> None:
    assert fts_query("a OR b NOT c") == '("a" "or" "b" "not" "c")'
    assert fts_query('x" OR 1=1 --') == '("x" "or" "1 1")'  # 1=1 is one term: a phrase
    assert fts_query("*") is None and fts_query("") is None
