"""The library API end to end on the project's own fixture corpora."""

from __future__ import annotations

import json

import pytest
from conftest import CORPORA, load_corpus

from newstrace import IncompatibleIndex, Index, Params, UserError
from newstrace.fixtures import demo_corpus


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Index.open(path) as idx:
        idx.add(demo_corpus())
        idx.build()
    return path


def records_by_id():
    return {r["id"]: r for r in demo_corpus()}


def test_every_derived_demo_article_is_linked_to_its_sources(demo_index):
    recs = records_by_id()
    with Index.open(demo_index, read_only=True) as idx:
        for rid, rec in recs.items():
            truth = rec["truth"]
            if truth["kind"] == "original":
                continue
            doc = idx.document(rid)
            linked = {p["other_id"] for p in doc["passages"]}
            for src in truth["sources"]:
                assert src in linked, f"{rid} ({truth['kind']}) not linked to its source {src}"


def test_truth_spans_are_covered_with_exact_offsets(demo_index):
    recs = records_by_id()
    with Index.open(demo_index, read_only=True) as idx:
        for rid, rec in recs.items():
            truth = rec["truth"]
            if truth["kind"] not in ("reprint", "composite", "reorder", "insert", "delete"):
                continue
            doc = idx.document(rid)
            for span in truth["spans"]:
                hits = [
                    p for p in doc["passages"]
                    if p["other_id"] == span["source_id"]
                    and p["start"] <= span["copy_start"] + 15 and p["end"] >= span["copy_end"] - 15
                ]
                assert hits, f"{rid}: span {span} not found"
                for p in hits:  # offsets slice the stored text
                    assert doc["text"][p["start"] : p["end"]].strip()


def test_independent_same_event_originals_are_not_linked_beyond_quotes(demo_index):
    recs = records_by_id()
    groups = {}
    for r in recs.values():
        g = r["truth"].get("same_event_group")
        if g:
            groups.setdefault(g, []).append(r["id"])
    assert groups
    with Index.open(demo_index, read_only=True) as idx:
        for ids in groups.values():
            for rid in ids:
                doc = idx.document(rid)
                text = doc["text"]
                for p in doc["passages"]:
                    if p["other_id"] in ids:
                        chunk = text[max(0, p["start"] - 2) : p["end"] + 2]
                        assert any(q in chunk for q in "\"“”"), chunk


def test_clusters_have_the_earliest_source_first(demo_index):
    with Index.open(demo_index, read_only=True) as idx:
        clusters = idx.clusters(limit=None)
        assert clusters
        for c in clusters:
            dated = [m for m in c["members"] if m["published_at"]]
            if dated:
                assert c["earliest_id"] == dated[0]["id"]
                assert dated == sorted(dated, key=lambda m: m["published_at"])
            assert c["text"]


def test_trace_finds_the_sources_of_a_spun_composite(tmp_path):
    recs = load_corpus("composite3")
    comp = next(r for r in recs if r["truth"]["kind"] == "composite")
    with Index.open(tmp_path / "c.duckdb") as idx:
        idx.add([r for r in recs if r["id"] != comp["id"]])
        idx.build()
        result = idx.trace(comp["text"], query_id="q")
    source_ids = {s["id"] for s in result["sources"]}
    assert set(comp["truth"]["sources"]) <= source_ids
    assert result["composite"] is True
    assert result["classification"] == "wholly derived"
    for p in result["passages"]:
        assert p["a_id"] == "q"
        assert 0 <= p["a_start"] < p["a_end"] <= len(comp["text"])
    json.dumps(result)  # the result is plain JSON


def test_trace_of_unrelated_text_finds_nothing(demo_index):
    with Index.open(demo_index, read_only=True) as idx:
        result = idx.trace("A completely unrelated note about gardening, tomatoes and the weather in May.")
    assert result["sources"] == [] and result["classification"] == "not derived"
    assert all(s["sources"] == [] for s in result["sentences"])


def test_reingesting_adds_nothing_and_incremental_build_keeps_old_pairs(tmp_path):
    recs = demo_corpus()
    first, second = recs[:40], recs[40:]
    path = tmp_path / "inc.duckdb"
    with Index.open(path) as idx:
        idx.add(first)
        idx.build()
        pairs_before = idx.con.execute("SELECT a_key, b_key FROM pairs").fetchall()
        again = idx.add(first)
        assert again.added == 0 and again.duplicates == len(first)
        report = idx.build()
        assert report.fingerprinted == 0 and report.aligned_pairs == 0
        idx.add(second)
        report = idx.build()
        assert report.fingerprinted == len(second)
        pairs_after = idx.con.execute("SELECT a_key, b_key FROM pairs").fetchall()
        assert set(pairs_before) <= set(pairs_after)
        inc = sorted(idx.con.execute(
            "SELECT a_id, b_id, a_start, a_end, b_start, b_end FROM passages").fetchall())
    # the same corpus indexed in one go gives the same passages
    with Index.open(tmp_path / "once.duckdb") as idx:
        idx.add(recs)
        idx.build()
        once = idx.con.execute("SELECT a_id, b_id, a_start, a_end, b_start, b_end FROM passages").fetchall()
    norm = lambda rows: sorted(  # noqa: E731 -- orientation may differ between runs
        (a, b, s1, e1, s2, e2) if a < b else (b, a, s2, e2, s1, e1) for a, b, s1, e1, s2, e2 in rows)
    assert norm(inc) == norm(once)


def test_duplicate_ids_and_bad_records_are_reported_not_fatal(tmp_path):
    with Index.open(tmp_path / "d.duckdb") as idx:
        r = idx.add([
            {"id": "x", "text": "First version of the story."},
            {"id": "x", "text": "Second, different version."},
            {"id": "y", "text": "   "},
            {"text": "No id given, so the id comes from the content hash."},
        ])
        assert r.added == 2
        assert {w for w, _ in r.rejected} == {"record 2", "record 3"}
        assert any("duplicate id" in why for _, why in r.rejected)
        ids = [i for (i,) in idx.con.execute("SELECT id FROM documents ORDER BY id").fetchall()]
        assert ids[0].startswith("sha1:") and "x" in ids


def test_params_are_saved_and_checked(tmp_path):
    path = tmp_path / "p.duckdb"
    with Index.open(path) as idx:
        idx.add(load_corpus("wire_reprint"))
        idx.build()
    with pytest.raises(IncompatibleIndex):
        Index.open(path, params=Params(ngram_tokens=5))


def test_document_and_cluster_errors(demo_index):
    with Index.open(demo_index, read_only=True) as idx:
        with pytest.raises(UserError, match="no document"):
            idx.document("does-not-exist")
        with pytest.raises(UserError, match="no cluster"):
            idx.cluster(10**6)
        with pytest.raises(UserError):
            idx.trace("   ")


def test_short_and_empty_corpus(tmp_path):
    with Index.open(tmp_path / "s.duckdb") as idx:
        r = idx.ingest([CORPORA / "short_and_empty" / "articles.jsonl"])
        assert r.added >= 2 and len(r.rejected) >= 1
        report = idx.build()
        assert report.passages == 0


def test_alignment_reads_stored_tokens_and_backfills_missing_ones(tmp_path):
    from newstrace.tokens import Tokens, tokenize_text

    recs = demo_corpus()
    with Index.open(tmp_path / "t.duckdb") as idx:
        idx.add(recs)
        idx.build()
        con = idx.con
        n_docs = con.execute("SELECT count(*) FROM documents").fetchall()[0][0]
        assert con.execute("SELECT count(*) FROM doc_tokens").fetchall()[0][0] == n_docs
        key, text = con.execute("SELECT doc_key, text FROM documents ORDER BY doc_key LIMIT 1").fetchall()[0]
        (data,) = con.execute("SELECT data FROM doc_tokens WHERE doc_key = ?", [key]).fetchall()[0]
        stored, fresh = Tokens.from_bytes(data), tokenize_text(text)
        assert all((getattr(stored, f) == getattr(fresh, f)).all() for f in ("starts", "ends", "ids", "stop"))
        before = con.execute("SELECT * FROM passages ORDER BY passage_id").fetchall()
        # an index without stored tokens (older version): re-align everything from text
        con.execute("DELETE FROM doc_tokens")
        con.execute("DELETE FROM passages")
        con.execute("UPDATE pairs SET aligned = false")
    with Index.open(tmp_path / "t.duckdb") as idx:  # a fresh process: empty token cache
        idx.build()
        after = idx.con.execute("SELECT * FROM passages ORDER BY passage_id").fetchall()
        assert [r[1:] for r in after] == [r[1:] for r in before]
        assert idx.con.execute("SELECT count(DISTINCT doc_key) FROM doc_tokens").fetchall()[0][0] > 0


def test_boilerplate_option_is_stored_and_keeps_templates_out_of_clusters(tmp_path):
    menu = ("Home ### World ### Sign up for our daily newsletter and never miss a single story "
            "from our newsroom, delivered to your inbox every morning before breakfast")

    stories = [
        "Heavy rain swelled the river overnight and water poured into low streets of the old town. "
        "Firefighters carried elderly residents from flooded cottages while volunteers stacked sandbags "
        "beside the bakery. The mayor opened the school gym as a shelter and asked drivers to avoid the "
        "bridge until engineers inspect its damaged pillars on Tuesday morning.",
        "Voters queued before dawn outside polling stations across the northern province, where turnout "
        "reached its highest level in two decades. Counting began after sunset, and early tallies showed "
        "the opposition coalition ahead in most rural districts, though urban ballots from the capital "
        "were still being sorted by exhausted clerks.",
        "The visiting side scored twice in the final ten minutes to snatch a dramatic victory at the "
        "packed stadium. Their young striker curled a free kick past the goalkeeper, then a defender "
        "headed home from a corner, leaving home supporters stunned and the coach facing questions "
        "about substitutions.",
        "Shares of chipmakers slid sharply on Friday after a leading supplier warned that orders from "
        "smartphone manufacturers had weakened. Bond yields edged lower as investors sought safety, "
        "while the currency strengthened against the euro for a third straight session of nervous "
        "trading.",
    ]
    recs = [{"id": f"a{k}", "publisher": "a.example", "text": f"{menu} ### {text}"}
            for k, text in enumerate(stories)]
    recs.append({"id": "b0", "publisher": "b.example", "text": stories[0]})

    def clustered(idx):
        return {tuple(sorted({m["id"] for m in idx.cluster(c["cluster_id"])["members"]}))
                for c in idx.clusters()}

    with Index.open(tmp_path / "bp.duckdb") as idx:
        idx.add(recs)
        idx.build()  # no choice stored: the pages look scraped (one site's menu on 4 pages)
        assert idx.strips_boilerplate()
        assert clustered(idx) == {("a0", "b0")}  # the story; the menu links nothing
        idx.build(boilerplate=False)
        assert clustered(idx) == {("a0", "a1", "a2", "a3"), ("a0", "b0")}  # the menu is a "story"
        idx.build()  # the choice is remembered
        assert clustered(idx) == {("a0", "a1", "a2", "a3"), ("a0", "b0")}
        idx.build(boilerplate=True)
        assert clustered(idx) == {("a0", "b0")}


def test_boilerplate_is_off_for_plain_corpora_and_on_for_html_pages(tmp_path):
    plain = [{"id": f"p{k}", "publisher": "wire", "text": f"Story number {k} about one thing."}
             for k in range(5)]
    with Index.open(tmp_path / "plain.duckdb") as idx:
        idx.add(plain)
        assert not idx.strips_boilerplate()
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Floods</title></head><body><article><p>"
                    + " ".join(["Heavy rain swelled the river overnight and water poured into streets."] * 3)
                    + "</p></article></body></html>", encoding="utf-8")
    with Index.open(tmp_path / "html.duckdb") as idx:
        idx.ingest([page])
        assert idx.strips_boilerplate()
