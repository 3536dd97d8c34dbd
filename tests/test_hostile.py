"""Hostile input at the terminal and the server, full disks, damaged files (issue 18).

One test group per row of the issue's table:
 1 escape sequences in data printed by every command      7 Host header, text/plain and form posts
 2 rich markup in ids, publishers, dates                   8 concurrent heavy requests bounded (503)
 3 disk full during ingest and index (exit 4, resumes)     9 /docs and /redoc without any CDN
 4 truncated and bit-flipped databases (exit 3)           10 symlinks out of an ingested folder
 5 deeply nested JSON bodies (400, JSON shape)            11 missing database never created
 6 client aborts (one log line) and body-read timeout     12 Ctrl-C: exit 130, never a traceback
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import CORPORA

from newstrace import term
from newstrace.cli import main
from newstrace.index import Index

ESC_CLEAR = "\x1b[2J"
ESC_TITLE = "\x1b]0;pwned\x07"
MARKUP = "[/] [link=http://e.vil]y[/link] [bold red]"
HOSTILE = f"{ESC_CLEAR}{ESC_TITLE}\x1b[1;1H\u202eevil\u202c\x9b31m{MARKUP}"
EVIL_ID = f"orig{ESC_CLEAR} [/]{ESC_TITLE}[link=http://e.vil]x[/link]"


def run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def assert_clean(*outputs: str) -> None:
    """Nothing in the output can steer a terminal: no ESC, no C1 controls, no bidi overrides."""
    for s in outputs:
        for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\u202c"):
            assert ch not in s, (repr(ch), s[:2000])
        assert "Traceback" not in s, s[-3000:]


def flat(s: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(s.split())


def assert_one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("Error: "), err
    assert len(lines) <= 2, err  # the error and, at most, a hint
    assert "Traceback" not in err


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hostile-clean") / "news.duckdb"
    with Index.open(db) as idx:
        idx.ingest([CORPORA / "wire_reprint" / "articles.jsonl"])
        idx.build()
    return db


@pytest.fixture(scope="module")
def evil_db(clean_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clean index with escape sequences and markup written straight into every field
    (ingest cleans control characters, but a database can come from elsewhere)."""
    db = tmp_path_factory.mktemp("hostile-evil") / "evil.duckdb"
    shutil.copy(clean_db, db)
    con = duckdb.connect(str(db))
    old = "orig-11"
    for table, col in (("documents", "id"), ("passages", "a_id"), ("passages", "b_id"),
                       ("clusters", "earliest_id"), ("clusters", "sample_id"), ("cluster_members", "id")):
        con.execute(f"UPDATE {table} SET {col} = ? WHERE {col} = ?", [EVIL_ID, old])
    con.execute("UPDATE documents SET publisher = ?, title = ?", [HOSTILE, HOSTILE])
    # same length as what it replaces, so every stored offset still fits
    text = con.execute("SELECT text FROM documents WHERE id = ?", [EVIL_ID]).fetchone()[0]
    con.execute("UPDATE documents SET text = ? WHERE id = ?", [HOSTILE + text[len(HOSTILE):], EVIL_ID])
    con.close()
    return db


# -- term helpers --------------------------------------------------------------------------------
def test_clean_strips_sequences_and_keeps_text() -> None:
    assert term.clean(f"a{ESC_CLEAR}b{ESC_TITLE}c\x1b[1;31md\x07e\r\nf") == "abcde\nf"
    assert term.clean("x\u202egnp.exe\u202c") == "xgnp.exe"
    assert term.clean("tab\tand\nnewline") == "tab\tand\nnewline"
    assert term.clean("\x9b2J\x9d8;;http://e\x9cz") == "z"
    assert term.safe("x [/] [link=http://e.vil]y[/link]") == r"x \[/] \[link=http://e.vil]y\[/link]"
    body = term.body(f"ab{ESC_CLEAR}c\r")
    assert len(body.plain) == len(f"ab{ESC_CLEAR}c\r") and "\x1b" not in body.plain
    dumped = term.json_dumps({"t": HOSTILE}, ensure_ascii=False)
    assert json.loads(dumped) == {"t": HOSTILE}
    assert_clean(dumped)


# -- rows 1 and 2: every command, hostile fields -------------------------------------------------
def test_trace_prints_hostile_fields_inert(evil_db: Path, tmp_path: Path, capsys: Any) -> None:
    with Index.open(evil_db, read_only=True) as idx:
        doc = idx.document(EVIL_ID)
    query = tmp_path / "q.txt"
    query.write_text(doc["text"][:1500] + " " + HOSTILE, encoding="utf-8")
    code, out, err = run(["trace", str(query), "--db", str(evil_db)], capsys)
    assert code == 0, err
    assert_clean(out, err)
    assert "[link=http://e.vil]" in out  # shown as text, not turned into a hyperlink
    assert "earliest source" in out
    code, out, err = run(["trace", str(query), "--db", str(evil_db), "--json"], capsys)
    assert code == 0 and json.loads(out)["sources"]
    assert_clean(out)


def test_align_prints_hostile_text_inert(tmp_path: Path, capsys: Any) -> None:
    text = (CORPORA / "wire_reprint" / "articles.jsonl").read_text(encoding="utf-8")
    body = json.loads(text.splitlines()[0])["text"][:1200]
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(HOSTILE + body, encoding="utf-8")
    b.write_text(body + HOSTILE, encoding="utf-8")
    code, out, err = run(["align", str(a), str(b)], capsys)
    assert code == 0, err
    assert "reused passage" in out
    assert_clean(out, err)
    code, out, err = run(["align", HOSTILE + body, body, "--text", "--json"], capsys)
    assert code == 0 and json.loads(out)["passages"]
    assert_clean(out)


def test_clusters_show_stats_report_inert(evil_db: Path, tmp_path: Path, capsys: Any) -> None:
    code, out, err = run(["clusters", "--db", str(evil_db)], capsys)
    assert code == 0, err
    assert_clean(out, err)
    assert "[link=http://e.vil]x[/link]" in out and "[/]" in out
    code, out, err = run(["show", EVIL_ID, "--db", str(evil_db)], capsys)
    assert code == 0, err
    assert_clean(out, err)
    assert "[bold red]" in out
    code, out, err = run(["show", EVIL_ID, "--db", str(evil_db), "--json"], capsys)
    assert code == 0 and json.loads(out)["id"] == EVIL_ID
    assert_clean(out)
    code, out, err = run(["show", EVIL_ID + "nope", "--db", str(evil_db)], capsys)
    assert code == 1
    assert_clean(out, err)
    assert_one_line_error(err)
    code, out, err = run(["stats", "--db", str(evil_db)], capsys)
    assert code == 0 and "documents" in out
    code, out, err = run(["report", "--db", str(evil_db), "--out", str(tmp_path / "r [bold]")], capsys)
    assert code == 0, err
    assert_clean(out, err)
    assert "r [bold]" in flat(out)


def test_ingest_and_index_print_hostile_ids_and_paths_inert(tmp_path: Path, capsys: Any) -> None:
    rec = json.loads((CORPORA / "wire_reprint" / "articles.jsonl").read_text(encoding="utf-8").splitlines()[0])
    bad_id = "x [/] [link=http://e.vil]y[/link]" + ESC_CLEAR
    records = [
        {**rec, "id": bad_id, "publisher": MARKUP + ESC_TITLE, "published_at": "2026-01-01 [/]"},
        {**rec, "id": bad_id, "text": rec["text"] + " changed"},  # same id, other content: rejected
        {**rec, "id": "other [/]", "published_at": ESC_CLEAR + "[bold]not a date"},
    ]
    src = tmp_path / "in [bold]"
    src.mkdir()
    (src / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    db = tmp_path / "db [bold] [link=x].duckdb"
    code, out, err = run(["ingest", str(src), "--db", str(db)], capsys)
    assert code == 2, err  # stored what it could, named the rejected record
    assert_clean(out, err)
    assert "rejected" in err and "[link=http://e.vil]y[/link]" in err
    assert "db [bold] [link=x].duckdb" in flat(out)
    code, out, err = run(["index", "--db", str(db), "-q"], capsys)
    assert code == 0, err
    assert_clean(out, err)
    assert "db [bold] [link=x].duckdb" in flat(out)
    code, out, err = run(["clusters", "--db", str(db)], capsys)
    assert code == 0, err
    assert_clean(out, err)


def test_watch_commands_print_hostile_fields_inert(evil_db: Path, tmp_path: Path, capsys: Any) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(evil_db, db)
    code, out, err = run(["watch", "add", "--db", str(db), "--id", EVIL_ID, "--alias", MARKUP], capsys)
    assert code == 0, err
    assert_clean(out, err)
    for cmd in (["watch", "list"], ["watch", "report"], ["watch", "report", "--json"]):
        code, out, err = run([*cmd, "--db", str(db)], capsys)
        assert code == 0, (cmd, err)
        assert_clean(out, err)


def test_serve_get_prints_hostile_response_inert(evil_db: Path, capsys: Any) -> None:
    pytest.importorskip("fastapi")
    from urllib.parse import quote

    code, out, err = run(["serve", "--db", str(evil_db), "--get", "/api/documents/" + quote(EVIL_ID, safe="")],
                         capsys)
    assert code == 0, err
    assert_clean(out, err)
    assert json.loads(out)["id"] == EVIL_ID  # the JSON still carries the exact id
    code, out, err = run(["serve", "--db", str(evil_db), "--get", "/documents/" + quote(EVIL_ID, safe="")],
                         capsys)
    assert code == 0, err
    assert_clean(out, err)


# -- row 3: disk full ----------------------------------------------------------------------------
def _enospc(*_args: Any, **_kw: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_during_index_is_one_line_and_resumes(clean_db: Path, tmp_path: Path, capsys: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import newstrace.index as index_mod
    from newstrace.store import transaction as real_transaction

    db = tmp_path / "full.duckdb"
    with Index.open(db) as idx:
        idx.ingest([CORPORA / "wire_reprint" / "articles.jsonl"])
    calls = {"n": 0}

    def failing_transaction(con: Any, **tables: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the first batch commits, the second meets a full disk
            class Full:
                def __enter__(self) -> None:
                    con.execute("BEGIN TRANSACTION")
                    _enospc()

                def __exit__(self, *exc: Any) -> None:
                    return None

            return Full()
        return real_transaction(con, **tables)

    monkeypatch.setattr(index_mod, "transaction", failing_transaction)
    code, out, err = run(["index", "--db", str(db), "-q"], capsys)
    assert code == 4
    assert_one_line_error(err)
    assert "no space left on device" in err and str(db) in err
    monkeypatch.setattr(index_mod, "transaction", real_transaction)
    code, out, err = run(["index", "--db", str(db), "-q"], capsys)  # resumes
    assert code == 0, err
    with Index.open(db, read_only=True) as a, Index.open(clean_db, read_only=True) as b:
        assert a.stats() == b.stats()


def test_disk_full_during_first_ingest_leaves_no_file(tmp_path: Path, capsys: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Index, "_insert_documents", _enospc)
    db = tmp_path / "new.duckdb"
    code, out, err = run(["ingest", str(CORPORA / "wire_reprint" / "articles.jsonl"), "--db", str(db)], capsys)
    assert code == 4
    assert_one_line_error(err)
    assert not db.exists() and not Path(str(db) + ".wal").exists()


def test_disk_full_real_duckdb_message_is_classified() -> None:
    from newstrace.cli import classify
    from newstrace.errors import NoSpaceLeft

    try:  # what DuckDB raises when its WAL write fails
        raise duckdb.TransactionException(
            'Failed to commit: Could not write file "x.duckdb.wal": No space left on device')
    except duckdb.Error as ex:
        err = classify(ex)
    assert isinstance(err, NoSpaceLeft) and err.exit_code == 4


def test_failed_rollback_does_not_hide_the_error(tmp_path: Path) -> None:
    from newstrace.store import connect, transaction

    con = connect(tmp_path / "t.duckdb")
    with pytest.raises(OSError) as exc:
        with transaction(con):
            con.execute("COMMIT")  # the transaction is gone, as after a failed write
            _enospc()
    assert exc.value.errno == errno.ENOSPC
    con.close()


# -- row 4: damaged database ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hostile-big") / "big.duckdb"
    with Index.open(db) as idx:
        for corpus in ("wire_reprint", "synonym_swap", "composite3", "reordered"):
            idx.ingest([CORPORA / corpus / "articles.jsonl"])
        idx.build()
    return db


@pytest.mark.parametrize("damage", ["truncated", "bit-flipped"])
def test_damaged_database_is_one_line_exit_3(big_db: Path, tmp_path: Path, capsys: Any, damage: str) -> None:
    data = bytearray(big_db.read_bytes())
    db = tmp_path / f"{damage}.duckdb"
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        for i in range(16384, len(data), 4096):  # every block after the headers
            data[i] ^= 0xFF
    db.write_bytes(bytes(data))
    for cmd in (["stats"], ["clusters"], ["show", "orig-11"], ["index", "-q"]):
        code, out, err = run([*cmd, "--db", str(db)], capsys)
        assert code == 3, (cmd, code, err)
        assert_one_line_error(err)
        assert str(db) in err and "damaged" in err


def test_traceback_flag_shows_details(big_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    db.write_bytes(big_db.read_bytes()[: big_db.stat().st_size // 2])
    with pytest.raises(duckdb.Error):
        main(["--traceback", "stats", "--db", str(db)])


# -- row 11: missing database --------------------------------------------------------------------
@pytest.mark.parametrize("cmd", [["index"], ["stats"], ["clusters"], ["show", "x"], ["trace", "-"],
                                 ["report", "--out", "r"], ["serve", "--get", "/"], ["watch", "list"],
                                 ["watch", "add", "--id", "x"]])
def test_missing_database_is_refused_not_created(tmp_path: Path, capsys: Any, cmd: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115
    db = tmp_path / "typo.duckdb"
    code, out, err = run([*cmd, "--db", str(db)], capsys)
    assert code == 1, err
    assert_one_line_error(err)
    assert "no such database" in err
    assert not db.exists() and not Path(str(db) + ".wal").exists()


def test_failed_first_ingest_leaves_no_file(tmp_path: Path, capsys: Any) -> None:
    db = tmp_path / "x.duckdb"
    code, out, err = run(["ingest", str(tmp_path / "nope"), "--db", str(db)], capsys)
    assert code == 1
    assert_one_line_error(err)
    assert not db.exists()


# -- row 10: symlinks out of an ingested folder --------------------------------------------------
def test_ingest_does_not_follow_symlinks_out_of_a_folder(tmp_path: Path, capsys: Any) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash " * 20, encoding="utf-8")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("An ordinary article about the harbour and the ships. " * 10, encoding="utf-8")
    (folder / "inside.txt").symlink_to(folder / "a.txt")  # stays inside: read
    (folder / "passwd.txt").symlink_to(outside)
    db = tmp_path / "s.duckdb"
    code, out, err = run(["ingest", str(folder), "--db", str(db)], capsys)
    assert code == 2
    assert "passwd.txt" in err and "outside the folder" in err
    with Index.open(db, read_only=True) as idx:
        texts = [r[0] for r in idx.con.execute("SELECT text FROM documents").fetchall()]
    assert texts and not any("root:x" in t for t in texts)
    code, out, err = run(["ingest", str(folder), "--db", str(db), "--follow-symlinks"], capsys)
    assert code == 0, err
    with Index.open(db, read_only=True) as idx:
        texts = [r[0] for r in idx.con.execute("SELECT text FROM documents").fetchall()]
    assert any("root:x" in t for t in texts)


# -- row 12: interrupt ---------------------------------------------------------------------------
def test_interrupt_in_align_and_trace_is_130_with_message(clean_db: Path, tmp_path: Path, capsys: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import newstrace.align as align_mod

    def numba_interrupted(*_a: Any, **_k: Any) -> Any:
        # what a compiled function returns when Ctrl-C lands inside it
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("CPUDispatcher(<function x>) returned a result with an exception set") from ki

    monkeypatch.setattr(align_mod, "align_texts", numba_interrupted)
    code, out, err = run(["align", "a b c", "a b c", "--text"], capsys)
    assert code == 130
    assert "run the same command again to resume" in err and "Traceback" not in err

    def interrupted(*_a: Any, **_k: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(Index, "trace", interrupted)
    q = tmp_path / "q.txt"
    q.write_text("some text to trace", encoding="utf-8")
    code, out, err = run(["trace", str(q), "--db", str(clean_db)], capsys)
    assert code == 130
    assert "run the same command again to resume" in err


@pytest.mark.slow
def test_real_ctrl_c_during_align_subprocess(tmp_path: Path) -> None:
    """SIGINT to a real ``newstrace align`` of two long texts: 130 and one line, no traceback."""
    base = (CORPORA / "wire_reprint" / "articles.jsonl").read_text(encoding="utf-8")
    words = " ".join(json.loads(line)["text"] for line in base.splitlines()).split()
    import random

    rng = random.Random(7)
    a = " ".join(rng.choice(words) for _ in range(800_000))
    b = " ".join(rng.choice(words) for _ in range(800_000))
    (tmp_path / "a.txt").write_text(a, encoding="utf-8")
    (tmp_path / "b.txt").write_text(b, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "newstrace", "align", "a.txt", "b.txt"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a shell that started us in the background may have left SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # interrupt once the child has used 3 s of CPU: past the imports (about 1 s), inside the align
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / ticks >= 3.0:
            break
        time.sleep(0.1)
    if proc.poll() is not None:
        pytest.skip("align finished before the interrupt")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "Traceback" not in err and "SystemError" not in err
    assert "run the same command again to resume" in err


# -- web: rows 5-9 -------------------------------------------------------------------------------
def _client(db: Path, **kw: Any) -> Any:
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from newstrace.web import create_app

    return TestClient(create_app(db, **kw), raise_server_exceptions=False)


SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


def assert_error_shape(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text[:500]
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]
    for h in SECURITY_HEADERS:
        assert h in resp.headers
    return body


@pytest.fixture(scope="module")
def client(clean_db: Path) -> Any:
    return _client(clean_db)


def test_deeply_nested_json_is_400_json(client: Any) -> None:
    for path in ("/api/trace", "/api/align"):
        resp = client.post(path, content=b"[" * 2000, headers={"content-type": "application/json"})
        assert "nested" in assert_error_shape(resp, 400)["error"]
        deep = b'{"text": ' + b"[" * 100 + b"]" * 100 + b"}"
        assert_error_shape(client.post(path, content=deep, headers={"content-type": "application/json"}), 400)
    # brackets inside strings do not count
    ok = client.post("/api/trace", json={"text": "[[[[" * 100 + " a normal sentence about ships"})
    assert ok.status_code == 200


def test_500_is_json_shape_with_headers(clean_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(clean_db)

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(Index, "stats", boom)
    body = assert_error_shape(client.get("/api/stats"), 500)
    assert "boom" not in body["error"]  # no internals to the client
    resp = client.get("/")
    assert resp.status_code == 500 and "text/html" in resp.headers["content-type"]
    for h in SECURITY_HEADERS:
        assert h in resp.headers


def test_host_header_checked(client: Any, clean_db: Path) -> None:
    for host in ("evil.example", "attacker.test:8000", "127.0.0.1.evil.example"):
        assert_error_shape(client.get("/api/stats", headers={"host": host}), 400)
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert client.get("/api/stats", headers={"host": host}).status_code == 200
    custom = _client(clean_db, allowed_hosts=["news.example.org", "*.corp.test"])
    assert custom.get("/api/stats", headers={"host": "news.example.org"}).status_code == 200
    assert custom.get("/api/stats", headers={"host": "a.corp.test:80"}).status_code == 200
    assert_error_shape(custom.get("/api/stats", headers={"host": "localhost"}), 400)


def test_api_takes_json_or_upload_only(client: Any) -> None:
    # reprint-3: an indexed reprint, so its trace cites the original (not itself)
    text = json.loads((CORPORA / "wire_reprint" / "articles.jsonl").read_text().splitlines()[4])["text"]
    assert_error_shape(client.post("/api/trace", content=text, headers={"content-type": "text/plain"}), 415)
    assert_error_shape(client.post("/api/trace", data={"text": text}), 415)
    assert_error_shape(client.post("/api/trace", content=json.dumps({"text": text})), 415)  # no type
    assert_error_shape(client.post("/api/align", data={"a": text, "b": text}), 415)
    assert client.post("/api/trace", json={"text": text}).status_code == 200
    resp = client.post("/api/trace", files={"file": ("a.txt", text.encode(), "text/plain")})
    assert resp.status_code == 200 and resp.json()["sources"]
    # a cross-site form cannot make the server work
    assert_error_shape(client.post("/api/trace", files={"file": ("a.txt", text.encode(), "text/plain")},
                                   headers={"origin": "http://evil.example"}), 403)
    resp = client.post("/trace", data={"text": text}, headers={"sec-fetch-site": "cross-site"})
    assert resp.status_code == 403
    resp = client.post("/trace", data={"text": text}, headers={"origin": "http://127.0.0.1:8000"})
    assert resp.status_code == 200


def test_docs_served_from_the_package_without_cdn(client: Any) -> None:
    for page in ("/docs", "/redoc"):
        resp = client.get(page)
        assert resp.status_code == 200
        csp = resp.headers["content-security-policy"]
        assert "http" not in csp and "cdn" not in csp
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "unsafe" not in script_src
        assert "cdn" not in resp.text and "http" not in resp.text and "<script>" not in resp.text
        for src in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css",
                    "/docs-assets/redoc.standalone.js", "/static/docs.js"):
            if src.rsplit("/", 1)[-1].split(".")[0] in resp.text or src.endswith("docs.js"):
                asset = client.get(src)
                assert asset.status_code == 200 and len(asset.content) > 100, src
    assert client.get("/openapi.json").json()["paths"]["/api/trace"]


# -- GuardMiddleware on its own: aborts, timeouts, concurrency ------------------------------------
def _asgi_call(mw: Any, path: str, messages: list[Any], method: str = "POST",
               headers: list[tuple[bytes, bytes]] | None = None) -> list[dict[str, Any]]:
    """Run one request through ``mw``; ``messages`` are receive() results or a float (sleep)."""
    sent: list[dict[str, Any]] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        while queue and isinstance(queue[0], (int, float)):
            await asyncio.sleep(queue.pop(0))
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(b"host", b"127.0.0.1:8000"), *(headers or [])]}
    asyncio.run(mw(scope, receive, send))
    return sent


async def _echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    body = await Request(scope, receive).body()
    await JSONResponse({"n": len(body)})(scope, receive, send)


def test_client_abort_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    from newstrace.web.app import GuardMiddleware

    mw = GuardMiddleware(_echo_app, max_body=10_000, max_upload=9_000)
    with caplog.at_level(logging.WARNING, logger="newstrace.web"):
        for ctype in (b"multipart/form-data; boundary=x", b"application/json"):
            sent = _asgi_call(mw, "/api/trace", [{"type": "http.request", "body": b"--x", "more_body": True},
                                                 {"type": "http.disconnect"}],
                              headers=[(b"content-type", ctype)])
            assert sent == []  # nobody to answer
    lines = [r for r in caplog.records if r.name == "newstrace.web"]
    assert len(lines) == 2 and all("disconnected" in r.getMessage() for r in lines)
    assert all(r.exc_info is None for r in lines)


def test_slow_body_gets_408() -> None:
    from newstrace.web.app import GuardMiddleware

    mw = GuardMiddleware(_echo_app, max_body=10_000, max_upload=9_000, body_timeout=0.3)
    sent = _asgi_call(mw, "/api/align", [{"type": "http.request", "body": b"{", "more_body": True}, 5.0],
                      headers=[(b"content-type", b"application/json")])
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["status"] == 408
    sent = _asgi_call(mw, "/upload", [{"type": "http.request", "body": b"a", "more_body": True}, 5.0],
                      headers=[(b"content-type", b"application/octet-stream")])
    assert sent[0]["status"] == 408


def test_concurrent_heavy_requests_bounded() -> None:
    from newstrace.web.app import GuardMiddleware

    release = asyncio.Event()
    running = {"n": 0, "max": 0}

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        running["n"] += 1
        running["max"] = max(running["max"], running["n"])
        await release.wait()
        running["n"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    mw = GuardMiddleware(slow_app, max_body=10_000, max_upload=9_000, max_heavy=2, queue_wait=0.05)

    async def one(path: str) -> int:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b'{"text": "x"}', "more_body": False}

        async def send(m: dict[str, Any]) -> None:
            sent.append(m)

        scope = {"type": "http", "method": "POST", "path": path,
                 "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")]}
        await mw(scope, receive, send)
        start = sent[0]
        if start["status"] == 503:
            assert (b"retry-after", b"2") in start["headers"]
        return int(start["status"])

    async def scenario() -> list[int]:
        tasks = [asyncio.create_task(one("/api/trace")) for _ in range(5)]
        light = asyncio.create_task(one("/api/other"))  # not a trace/align: not counted
        await asyncio.sleep(0.1)
        release.set()
        return [*await asyncio.gather(*tasks), await light]

    statuses = asyncio.run(scenario())
    assert sorted(statuses[:5]) == [200, 200, 503, 503, 503]
    assert statuses[5] == 200
    assert running["max"] == 3  # two traces and the light request
    assert mw.heavy_running == 0


def test_heavy_requests_queue_briefly_before_503() -> None:
    from newstrace.web.app import GuardMiddleware

    running = {"n": 0, "max": 0}

    async def work_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        running["n"] += 1
        running["max"] = max(running["max"], running["n"])
        await asyncio.sleep(0.05)
        running["n"] -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    mw = GuardMiddleware(work_app, max_body=10_000, max_upload=9_000, max_heavy=2, queue_wait=5.0)

    async def scenario() -> list[int]:
        async def one() -> int:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b'{"a": "x", "b": "y"}', "more_body": False}

            async def send(m: dict[str, Any]) -> None:
                sent.append(m)

            scope = {"type": "http", "method": "POST", "path": "/api/align",
                     "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")]}
            await mw(scope, receive, send)
            return int(sent[0]["status"])

        return list(await asyncio.gather(*(one() for _ in range(8))))

    assert asyncio.run(scenario()) == [200] * 8
    assert running["max"] == 2
