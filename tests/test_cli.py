"""The CLI: exit codes, one-line errors, JSON output (DESIGN.md contract)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from conftest import CORPORA, load_corpus

from newstrace.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "news.duckdb"
    for corpus in ("wire_reprint", "synonym_swap", "composite3"):
        with pytest.raises(SystemExit) as exc:
            main(["ingest", str(CORPORA / corpus / "articles.jsonl"), "--db", str(path), "-q"])
        assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        main(["index", "--db", str(path), "-q"])
    assert exc.value.code == 0
    return path


def test_ingest_summary_and_reingest(db, capsys):
    code, out, _ = run(["ingest", str(CORPORA / "wire_reprint" / "articles.jsonl"), "--db", str(db), "-q"], capsys)
    assert code == 0
    assert "added 0" in out and "duplicate" in out


def test_ingest_rejections_exit_2_and_errors_file(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "A fine article about the harbour and its cranes."}\n{not json\n', encoding="utf-8")
    errors = tmp_path / "rejects.jsonl"
    code, out, err = run(["ingest", str(bad), "--db", str(tmp_path / "x.duckdb"), "--errors", str(errors)], capsys)
    assert code == 2
    assert "added 1" in out and "rejected 1" in out
    assert "bad.jsonl line 2" in err and "malformed JSON" in err
    rows = [json.loads(line) for line in errors.read_text().splitlines()]
    assert rows[0]["where"].endswith("bad.jsonl line 2")


def test_user_errors_are_one_line_without_traceback(tmp_path, capsys):
    code, _, err = run(["ingest", str(tmp_path / "missing.jsonl"), "--db", str(tmp_path / "x.duckdb")], capsys)
    assert code == 1
    assert err.startswith("Error: ") and "no such file" in err and "Traceback" not in err
    code, _, err = run(["show", "nope", "--db", str(tmp_path / "absent.duckdb")], capsys)
    assert code == 1 and "no such database" in err
    notdb = tmp_path / "not.duckdb"
    notdb.write_text("hello, I am not a database, just some text that is long enough")
    code, _, err = run(["stats", "--db", str(notdb)], capsys)
    assert code == 1 and "not a newstrace" in err


def test_align_json_contract(tmp_path, capsys):
    recs = load_corpus("synonym_swap")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(recs[0]["text"], encoding="utf-8")
    b.write_text(recs[2]["text"], encoding="utf-8")
    code, out, _ = run(["align", str(a), str(b), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["passages"]
    for p in data["passages"]:
        assert set(p) >= {"a_start", "a_end", "b_start", "b_end", "score", "a_id", "b_id"}
        assert recs[0]["text"][p["a_start"] : p["a_end"]]
        assert 0 <= p["score"] <= 1


def test_trace_json_and_terminal(db, tmp_path, capsys):
    comp = next(r for r in load_corpus("composite3") if r["truth"]["kind"] == "composite")
    query = tmp_path / "q.txt"
    query.write_text(comp["text"] + "\n\nA new closing sentence written by the aggregator itself about nothing.", encoding="utf-8")
    code, out, _ = run(["trace", str(query), "--db", str(db), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    for key in ("sources", "sentences", "edits", "classification", "composite", "passages"):
        assert key in data
    assert any(not s["sources"] for s in data["sentences"])  # the aggregator's own sentence
    code, out, _ = run(["trace", str(query), "--db", str(db)], capsys)
    assert code == 0 and "derived" in out and "no source found" in out


def test_trace_warns_of_lookalike_letters_and_invisible_characters(db, tmp_path, capsys):
    from newstrace.evasion import disguise

    comp = next(r for r in load_corpus("composite3") if r["truth"]["kind"] == "composite")
    query = tmp_path / "q.txt"
    query.write_text(disguise(comp["text"], rate=0.8, seed=2)[0], encoding="utf-8")
    code, out, _ = run(["trace", str(query), "--db", str(db), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["evasion"]["flagged"] and data["sources"]
    code, out, _ = run(["trace", str(query), "--db", str(db)], capsys)
    warning = next(line for line in out.splitlines() if line.startswith("warning:"))
    assert "look-alike" in warning and "invisible" in warning and warning.isascii()


def test_clusters_show_stats_report(db, tmp_path, capsys):
    code, out, _ = run(["clusters", "--db", str(db), "--json"], capsys)
    assert code == 0
    clusters = json.loads(out)["clusters"]
    assert clusters and clusters[0]["members"]
    doc_id = clusters[0]["members"][0]["id"]
    code, out, _ = run(["show", doc_id, "--db", str(db), "--json"], capsys)
    assert code == 0 and json.loads(out)["id"] == doc_id
    code, out, _ = run(["stats", "--db", str(db), "--json"], capsys)
    assert json.loads(out)["documents"] > 0
    code, out, _ = run(["report", "--db", str(db), "--out", str(tmp_path / "rep")], capsys)
    assert code == 0 and (tmp_path / "rep" / "index.html").exists()


def test_help_for_every_command():
    for cmd in ("ingest", "index", "align", "trace", "clusters", "show", "stats", "report", "demo"):
        out = subprocess.run([sys.executable, "-m", "newstrace", cmd, "--help"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "Example" in out.stdout


# -- a newcomer's first hour (issue 19) ------------------------------------------------------
def test_index_help_examples_on_separate_lines():
    out = subprocess.run([sys.executable, "-m", "newstrace", "index", "--help"], capture_output=True, text=True)
    lines = [ln.strip() for ln in out.stdout.splitlines()]
    assert "newstrace index --db news.duckdb" in lines
    assert "newstrace index --db scraped.duckdb --boilerplate" in lines


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_ingest_sniffs_csv_delimiter(tmp_path, capsys, sep):
    f = tmp_path / "feed.csv"
    rows = [["id", "publisher", "published_at", "text"],
            ["s1", "Harbour Herald", "2024-03-05", "A long article, with commas, about the harbour cranes."],
            ["s2", "Copy Desk", "2024-03-06", "Another article; about the same cranes, the next day."]]
    with f.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=sep).writerows(rows)  # quotes the fields holding sep
    db = tmp_path / "x.duckdb"
    code, out, err = run(["ingest", str(f), "--db", str(db), "-q"], capsys)
    assert code == 0, err
    assert "added 2" in out and "rejected 0" in out
    code, out, _ = run(["show", "s2", "--db", str(db), "--json"], capsys)
    doc = json.loads(out)
    assert doc["publisher"] == "Copy Desk" and doc["text"].startswith("Another article; about")


def test_ingest_date_order(tmp_path, capsys):
    f = tmp_path / "us.csv"
    f.write_text("id,published_at,text\n"
                 "d1,03/05/2024,An article about the harbour cranes and the strike.\n"
                 "d2,13/05/2024,An article about the bridge and its long closure.\n", encoding="utf-8")
    db = tmp_path / "dmy.duckdb"
    code, out, _ = run(["ingest", str(f), "--db", str(db)], capsys)
    assert code == 0
    # the ambiguous date is read day first, never silently: a warning names it
    assert "1 record(s) stored with warnings" in out and "'03/05/2024' is ambiguous" in out
    assert "--date-order mdy" in out

    def date(db_, doc_id):
        code, out, _ = run(["show", doc_id, "--db", str(db_), "--json"], capsys)
        return json.loads(out)["published_at"][:10]

    assert date(db, "d1") == "2024-05-03" and date(db, "d2") == "2024-05-13"
    db2 = tmp_path / "mdy.duckdb"
    code, out, _ = run(["ingest", str(f), "--db", str(db2), "--date-order", "mdy"], capsys)
    # with an explicit order nothing is ambiguous; 13/05 cannot be month/day
    assert "ambiguous" not in out and "published_at ignored" in out
    assert date(db2, "d1") == "2024-03-05"
    code, _, err = run(["ingest", str(f), "--db", str(db2), "--date-order", "ymd"], capsys)
    assert code == 1 and "expected dmy or mdy" in err


@pytest.fixture(scope="module")
def spun_db(tmp_path_factory):
    """Two identical dated originals (a tie for earliest) and the query: a spun copy."""
    import random

    from newstrace.fixtures import spin_derived

    tmp = tmp_path_factory.mktemp("spun")
    orig = load_corpus("synonym_swap")[0]
    recs = [
        {"id": "twin-a", "publisher": "Wire A", "published_at": orig["published_at"], "text": orig["text"]},
        {"id": "twin-b", "publisher": "Wire B", "published_at": orig["published_at"], "text": orig["text"]},
    ]
    corpus = tmp / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    db = tmp / "s.duckdb"
    with pytest.raises(SystemExit):
        main(["ingest", str(corpus), "--db", str(db), "-q"])
    with pytest.raises(SystemExit):
        main(["index", "--db", str(db), "-q"])
    query = tmp / "q.txt"
    query.write_text(spin_derived(orig["text"], 0.45, random.Random(3)).text, encoding="utf-8")
    return db, query


def test_trace_text_shows_spun_ties_and_more_edits(spun_db, capsys):
    db, query = spun_db
    code, out, _ = run(["trace", str(query), "--db", str(db), "--json"], capsys)
    data = json.loads(out)
    assert data["spin"]["spun"] and sorted(data["earliest_source"]) == ["twin-a", "twin-b"]
    code, out, _ = run(["trace", str(query), "--db", str(db)], capsys)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith(data["classification"]) and "spun" in first
    assert "earliest sources (tied): twin-a, twin-b" in out and "['twin" not in out
    footer = next(ln for ln in out.splitlines() if ln.startswith("substitutions:"))
    more = len(data["edits"]) - 12
    if more > 0:
        assert f"and {more} more" in " ".join(out.split())
    else:
        assert "more" not in footer


def test_show_lists_other_documents_with_publisher_and_date(spun_db, capsys):
    db, _ = spun_db
    code, out, _ = run(["show", "twin-a", "--db", str(db), "--json"], capsys)
    passages = json.loads(out)["passages"]
    assert passages and all(p["other_publisher"] == "Wire B" for p in passages)
    code, out, _ = run(["show", "twin-a", "--db", str(db)], capsys)
    row = next(ln for ln in out.splitlines() if "twin-b" in ln)
    assert "Wire B" in row and passages[0]["other_published_at"][:10] in row
