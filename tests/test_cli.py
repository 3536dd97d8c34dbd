"""The CLI: exit codes, one-line errors, JSON output (DESIGN.md contract)."""

from __future__ import annotations

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
