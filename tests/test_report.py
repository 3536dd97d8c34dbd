"""Static HTML report: pages exist, text is escaped, edits are marked."""

from __future__ import annotations

import json
from pathlib import Path

from newstrace import Index
from newstrace.report import highlight, highlight_edits, page_name, write_report

C3 = Path(__file__).parent / "data" / "corpora" / "composite3" / "articles.jsonl"


def test_highlight_escapes():
    assert str(highlight("<b>x</b>", [(0, 3, "r")])) == '<mark class="r">&lt;b&gt;</mark>x&lt;/b&gt;'
    out = str(highlight_edits("a <i> b", 0, 7, [(2, 5, "sub", 'was: "<x>"')]))
    assert "&lt;i&gt;" in out and "<i>" not in out and "&lt;x&gt;" in out


def test_report_composite3(tmp_path):
    recs = [json.loads(x) for x in C3.read_text(encoding="utf-8").splitlines() if x.strip()]
    recs.append({"id": "evil", "publisher": "<script>alert(1)</script>", "published_at": None,
                 "text": recs[0]["text"] + "\n\n<script>alert('x')</script>"})
    db = tmp_path / "x.duckdb"
    with Index.open(db) as idx:
        idx.add([{k: v for k, v in r.items() if k != "truth"} for r in recs])
        idx.build()
    with Index.open(db, read_only=True) as idx:
        index = write_report(idx, tmp_path / "rep")
    html = index.read_text(encoding="utf-8")
    for needle in ("Composites", "Spun articles", "Substitution dictionary", "composite-1",
                   "contamination", "<svg"):
        assert needle in html
    assert "<script>" not in html
    page = (tmp_path / "rep" / "documents" / page_name("composite-1")).read_text(encoding="utf-8")
    assert "Side by side with orig-24" in page and "Side by side with orig-11" in page
    assert 'class="sub" title="was: pollution"' in page
    evil = (tmp_path / "rep" / "documents" / page_name("evil")).read_text(encoding="utf-8")
    assert "<script>" not in evil and "&lt;script&gt;" in evil


def _pages(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_report_reads_stored_provenance_and_matches_the_in_memory_one(tmp_path, monkeypatch):
    """A built index's report reads the stored provenance tables (aligning again only
    the documents that get a page) and is byte for byte the report computed in memory;
    after a build without refresh the tables are stale and it computes in memory."""
    from newstrace import report
    from newstrace.corpus_provenance import provenance_is_current

    recs = [json.loads(x) for x in C3.read_text(encoding="utf-8").splitlines() if x.strip()]
    db = tmp_path / "x.duckdb"
    with Index.open(db) as idx:
        idx.add([{k: v for k, v in r.items() if k != "truth"} for r in recs[:-1]])
        idx.build()
        assert provenance_is_current(idx)
    with Index.open(db, read_only=True) as idx:
        write_report(idx, tmp_path / "stored")
        monkeypatch.setattr(report, "provenance_is_current", lambda idx: False)
        write_report(idx, tmp_path / "memory")
        monkeypatch.undo()
    stored, memory = _pages(tmp_path / "stored"), _pages(tmp_path / "memory")
    assert len(stored) > 5 and stored == memory
    with Index.open(db) as idx:
        idx.add([{k: v for k, v in r.items() if k != "truth"} for r in recs[-1:]])
        idx.build(refresh=False)
        assert not provenance_is_current(idx)
        idx.build()
        assert provenance_is_current(idx)


def test_report_index_short_earliest_dots_and_document_pages(tmp_path, monkeypatch):
    """Every cluster's timeline has its red earliest dot (drawn last, never hidden), the
    earliest source and its date are apart, and the index lists a few documents with
    the rest on numbered pages."""
    import re

    from newstrace import report
    from newstrace.fixtures import demo_corpus

    db = tmp_path / "demo.duckdb"
    with Index.open(db) as idx:
        idx.add([{k: v for k, v in r.items() if k != "truth"} for r in demo_corpus()])
        idx.build()
    monkeypatch.setattr(report, "INDEX_DOCUMENTS", 10)
    monkeypatch.setattr(report, "DOCUMENTS_PER_PAGE", 30)
    with Index.open(db, read_only=True) as idx:
        n_docs = idx.stats()["documents"]
        clusters = idx.clusters(limit=report.INDEX_CLUSTERS)
        write_report(idx, tmp_path / "rep")
    html = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg class=\"timeline\".*?</svg>", html, re.S)
    assert len(svgs) == min(len(clusters), report.INDEX_CLUSTERS_DETAILED)
    for svg in svgs:
        assert svg.count('class="earliest"') == 1
        assert svg.rindex("<circle") == svg.index('<circle class="earliest"')  # drawn on top
    assert not re.search(r"[\w>]<span class=\"muted\">\(", html)  # "12074 (2018…", not "12074(2018…"
    if len(clusters) > report.INDEX_CLUSTERS_DETAILED:
        assert "More clusters" in html
    listed = html.split('id="documents"', 1)[1]
    assert listed.count("<tr>") - 1 == 10 and "documents-1.html" in listed
    pages = sorted((tmp_path / "rep").glob("documents-*.html"))
    assert len(pages) == -(-n_docs // 30)
    rows = sum(p.read_text(encoding="utf-8").count("<tr>") - 1 for p in pages)
    assert rows == n_docs
    for c in clusters[:5]:
        page = (tmp_path / "rep" / "clusters" / f"{c['cluster_id']}.html").read_text(encoding="utf-8")
        assert page.count("<tr>") - 1 == len({m["id"] for m in c["members"]})  # no repeated rows
