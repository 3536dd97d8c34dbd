"""Reverse trace / watch: a watched original, five later copies dropped into an inbox
one at a time (verbatim credited, verbatim uncredited, spun, cut, composite) plus
unrelated articles; restarts and crashes lose and duplicate nothing; alert rules,
webhook (loopback only), CLI and web pages."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import warnings
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import newstrace.watch as watch_mod
from newstrace.errors import UserError
from newstrace.fixtures import (
    composite,
    delete_sentences,
    load_originals,
    reprint,
    spin_derived,
    write_jsonl,
)
from newstrace.index import Index
from newstrace.watch import (
    add_watch,
    check_rules,
    credit_of,
    rules_passed,
    run_watch,
    set_rules,
    watch_report,
)

WATCHED = "orig-01"  # Northwire; its dateline credits "(Northwire)"
HELD_BACK = ("orig-02", "orig-20", "orig-22")  # arrive later as unrelated articles
FIELDS = ("id", "publisher", "published_at", "title", "url", "text")

# copy id -> (class, credited, file order)
EXPECTED = {
    "c-credited": ("verbatim", True),
    "c-uncredited": ("verbatim", False),
    "c-spun": ("spun", False),
    "c-cut": ("cut", True),
    "c-composite": ("composite", False),
}


def _originals() -> dict[str, dict[str, Any]]:
    return {o["id"]: {k: o.get(k) for k in FIELDS} for o in load_originals()}


def _copies() -> list[dict[str, Any]]:
    by = _originals()
    w = by[WATCHED]["text"]
    assert " (Northwire)" in w
    bare = w.replace(" (Northwire)", "")
    rng = random.Random(7)

    def rec(i: str, text: str, pub: str, at: str | None) -> dict[str, Any]:
        return {"id": i, "publisher": pub, "published_at": at, "title": f"Copy {i}", "text": text}

    return [
        rec("c-credited", reprint(w, rng, "DailyPulse Hub", byline=False, footer=False).text,
            "DailyPulse Hub", "2026-03-03T08:00:00+00:00"),
        rec("c-uncredited", bare, "NewsNow247", "2026-03-03T09:00:00+00:00"),
        rec("c-spun", spin_derived(bare, 0.3, rng).text, "InfoStream Digest", "2026-03-03T10:00:00+00:00"),
        rec("c-cut", delete_sentences(w, 3, rng).text, "Metro Chronicle", None),  # undated
        rec("c-composite", composite([w, by["orig-14"]["text"]], rng).text, "Global Feed Online",
            "2026-03-04T11:00:00+00:00"),
    ]


def _unrelated() -> list[dict[str, Any]]:
    by = _originals()
    return [by[i] for i in HELD_BACK]


def _arrivals() -> list[dict[str, Any]]:
    """Copies interleaved with unrelated articles, in arrival order."""
    c, u = _copies(), _unrelated()
    return [c[0], u[0], c[1], c[2], u[1], c[3], c[4], u[2]]


@pytest.fixture()
def base(tmp_path: Path) -> dict[str, Any]:
    """An index of the originals (minus the held-back ones) with orig-01 watched."""
    recs = [o for i, o in _originals().items() if i not in HELD_BACK]
    write_jsonl(tmp_path / "base.jsonl", recs)
    db = tmp_path / "w.duckdb"
    with Index.open(db) as idx:
        idx.ingest([tmp_path / "base.jsonl"])
        idx.build()
        add_watch(idx, [WATCHED])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return {"db": db, "inbox": inbox, "tmp": tmp_path}


def _drop(inbox: Path, n: int, rec: dict[str, Any]) -> Path:
    """Write atomically (a .part file, then rename), as a feed fetcher would."""
    path = inbox / f"{n:03d}-{rec['id']}.jsonl"
    part = path.with_name(path.name + ".part")
    write_jsonl(part, [rec])
    os.replace(part, path)
    return path


class _Receiver:
    """A loopback webhook receiver (127.0.0.1 only) collecting JSON bodies."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(n)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Any:
    r = _Receiver()
    yield r
    r.close()


def _reuses(db: Path) -> dict[str, dict[str, Any]]:
    with Index.open(db, read_only=True) as idx:
        rep = watch_report(idx)
    out: dict[str, dict[str, Any]] = {}
    for o in rep["originals"]:
        for r in o["reuses"]:
            key = r["copy_id"]
            assert key not in out, f"{key} reported twice"
            assert r["original_id"] == o["id"]
            out[key] = r
    return out


def _check_expected(found: dict[str, dict[str, Any]]) -> None:
    assert set(found) == set(EXPECTED), sorted(found)
    for cid, (cls, credited) in EXPECTED.items():
        r = found[cid]
        assert r["original_id"] == WATCHED
        assert r["class"] == cls, (cid, r["class"])
        assert r["credited"] is credited, (cid, r["credit_match"])
    v = found["c-credited"]
    assert v["share"] > 0.95 and v["n_substitutions"] == 0 and v["cut_chars"] == 0
    assert v["credit_match"] == "publisher credit" and v["lag_seconds"] == 4800.0
    u = found["c-uncredited"]
    assert u["share"] > 0.95 and u["n_substitutions"] == 0 and u["n_deletions"] >= 1
    assert [d["text"] for d in u["edits"]["deletions"]] == ["Northwire"]
    s = found["c-spun"]
    assert s["spun"] and s["spin_score"] >= 2.0 and s["n_substitutions"] >= 3
    assert all(x["source"] != x["replacement"] for x in s["edits"]["substitutions"])
    c = found["c-cut"]
    assert c["lag_seconds"] is None  # undated copy
    assert c["edits"]["cuts"] and c["cut_chars"] > 0.05 * 1510 and c["share"] < 0.95
    assert c["n_substitutions"] == 0
    m = found["c-composite"]
    assert m["composite"] and m["other_sources"] == ["orig-14"]
    assert m["share"] < 0.7 and m["edits"]["cuts"]
    for r in found.values():
        assert not r["backfill"] and r["source_file"].endswith(f"-{r['copy_id']}.jsonl")


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_stream_one_at_a_time(base: dict[str, Any], receiver: _Receiver, mode: str) -> None:
    db, inbox = base["db"], base["inbox"]
    for n, rec in enumerate(_arrivals()):
        _drop(inbox, n, rec)
        rep = run_watch(db, inbox, once=True, settle=0, webhook=receiver.url, mode=mode)
        assert rep.files == 1 and rep.documents == 1
        assert rep.reuses == (1 if rec["id"] in EXPECTED else 0), rec["id"]
    found = _reuses(db)
    _check_expected(found)
    # alerts: default rules (share >= 0.5, uncredited, spin >= 2): every copy passes one
    got = {p["copy"]["id"]: p for p in receiver.received}
    assert len(receiver.received) == 5 and set(got) == set(EXPECTED)
    assert "uncredited" in got["c-uncredited"]["rules"] and "uncredited" not in got["c-credited"]["rules"]
    assert "min_spin" in got["c-spun"]["rules"]
    assert got["c-composite"]["rules"] == ["uncredited"]
    with Index.open(db, read_only=True) as idx:
        n_alerts, undelivered = idx.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE delivered_at IS NULL) FROM alerts"
        ).fetchone()
        done = idx.con.execute("SELECT count(*) FROM watch_files WHERE status = 'done'").fetchone()[0]
    assert (n_alerts, undelivered, done) == (5, 0, 8)
    # another pass finds nothing new, sends nothing again
    again = run_watch(db, inbox, once=True, settle=0, webhook=receiver.url, mode=mode)
    assert (again.files, again.reuses, again.alerts, again.sent) == (0, 0, 0, 0)
    assert len(receiver.received) == 5


def test_crash_between_ingest_and_done(base: dict[str, Any], receiver: _Receiver,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db, inbox = base["db"], base["inbox"]
    arrivals = _arrivals()
    for n, rec in enumerate(arrivals[:3]):
        _drop(inbox, n, rec)
        run_watch(db, inbox, once=True, settle=0, webhook=receiver.url)
    # file 4 (c-spun) and 5 arrive together; the watcher dies after indexing them,
    # before their reuses and "done" mark are committed
    _drop(inbox, 3, arrivals[3])
    _drop(inbox, 4, arrivals[4])
    real = watch_mod._record

    def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(watch_mod, "_record", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_watch(db, inbox, once=True, settle=0, webhook=receiver.url)
    monkeypatch.setattr(watch_mod, "_record", real)
    with Index.open(db, read_only=True) as idx:
        status = dict(idx.con.execute(
            "SELECT regexp_extract(path, '[^/]+$'), status FROM watch_files").fetchall())
        assert idx.con.execute("SELECT count(*) FROM documents WHERE id = 'c-spun'").fetchone()[0] == 1
    assert status["003-c-spun.jsonl"] == "processing"
    assert "004-orig-20.jsonl" not in status or status["004-orig-20.jsonl"] == "processing"
    assert "c-spun" not in _reuses(db)
    # restart: the interrupted file is redone (ingest is idempotent), nothing doubled
    rep = run_watch(db, inbox, once=True, settle=0, webhook=receiver.url)
    assert rep.files == 2 and rep.reuses == 1 and rep.documents == 1  # c-spun was stored before
    for n, rec in enumerate(arrivals[5:], start=5):
        _drop(inbox, n, rec)
        run_watch(db, inbox, once=True, settle=0, webhook=receiver.url)
        run_watch(db, inbox, once=True, settle=0, webhook=receiver.url)  # restart, nothing to do
    _check_expected(_reuses(db))
    assert sorted(p["copy"]["id"] for p in receiver.received) == sorted(EXPECTED)
    # a file touched (new mtime) but unchanged is not processed again
    path = inbox / "000-c-credited.jsonl"
    os.utime(path, (time.time() - 10, time.time() - 10))
    again = run_watch(db, inbox, once=True, settle=0)
    assert again.files == 0 and again.reuses == 0


def test_partial_and_fresh_files_wait(base: dict[str, Any]) -> None:
    db, inbox = base["db"], base["inbox"]
    rec = _copies()[0]
    write_jsonl(inbox / "a.jsonl.part", [rec])
    write_jsonl(inbox / ".hidden.jsonl", [rec])
    assert run_watch(db, inbox, once=True, settle=0).files == 0
    os.replace(inbox / "a.jsonl.part", inbox / "a.jsonl")
    assert run_watch(db, inbox, once=True, settle=60).files == 0  # still "being written"
    rep = run_watch(db, inbox, once=True, settle=0)
    assert rep.files == 1 and rep.reuses == 1


def test_bad_records_and_files(base: dict[str, Any]) -> None:
    db, inbox = base["db"], base["inbox"]
    (inbox / "bad.jsonl").write_text('{"id": "x"}\nnot json\n', encoding="utf-8")
    (inbox / "notes.xyz").write_text("what", encoding="utf-8")
    rep = run_watch(db, inbox, once=True, settle=0)
    assert rep.rejected >= 3 and rep.reuses == 0
    assert run_watch(db, inbox, once=True, settle=0).files == 0  # recorded as done
    with pytest.raises(UserError, match="no such folder"):
        run_watch(db, base["tmp"] / "missing", once=True)


def test_webhook_failure_is_retried_not_fatal(base: dict[str, Any]) -> None:
    db, inbox = base["db"], base["inbox"]
    probe = _Receiver()
    dead_url = probe.url
    probe.close()  # nothing listens there now
    _drop(inbox, 0, _copies()[1])
    rep = run_watch(db, inbox, once=True, settle=0, webhook=dead_url)
    assert rep.reuses == 1 and rep.alerts == 1 and rep.failed == 1 and rep.sent == 0
    live = _Receiver()
    try:
        with Index.open(db) as idx:
            set_rules(idx, webhook=live.url)  # the stored webhook is used from now on
        rep = run_watch(db, inbox, once=True, settle=0)
        assert rep.sent == 1 and len(live.received) == 1
        assert live.received[0]["copy"]["id"] == "c-uncredited"
        assert run_watch(db, inbox, once=True, settle=0).sent == 0
    finally:
        live.close()


def test_rules() -> None:
    assert check_rules({"min_share": "0.3", "uncredited": "no"}) == {"min_share": 0.3, "uncredited": False}
    for bad in ({"min_share": 2}, {"nope": 1}, {"min_spin": "x"}):
        with pytest.raises(UserError):
            check_rules(bad)
    r = {"share": 0.2, "credited": False, "spin_score": 0.0, "chars_reused": 300}
    assert rules_passed(r, {"min_share": 0.5, "uncredited": True}) == ["uncredited"]
    assert rules_passed(r, {"min_share": 0.1, "uncredited": False, "min_chars": 500}) == []
    with pytest.raises(UserError, match="http"):
        watch_mod.check_webhook("file:///etc/passwd")


def test_rules_select_alerts(base: dict[str, Any]) -> None:
    db, inbox = base["db"], base["inbox"]
    for n, rec in enumerate(_copies()):
        _drop(inbox, n, rec)
    rep = run_watch(db, inbox, once=True, settle=0, batch=10,
                    rules={"min_share": None, "uncredited": False, "min_spin": 2.0})
    assert rep.files == 5 and rep.reuses == 5 and rep.alerts == 1
    with Index.open(db, read_only=True) as idx:
        assert idx.con.execute("SELECT copy_id FROM alerts").fetchall() == [("c-spun",)]


def test_credit_rule() -> None:
    w = {"publisher": "Baltic Press Agency", "id": "o"}
    assert credit_of({"text": "ASTANA (BPA) — Talks", "publisher": "X"}, w) == "publisher credit"
    assert credit_of({"text": "… reported by Baltic Press Agency", "publisher": "X"}, w) == "publisher credit"
    assert credit_of({"text": "ASTANA — Talks", "publisher": "X"}, w) is None
    assert credit_of({"text": "ASTANA — Talks", "publisher": "baltic press agency"}, w) == "same publisher"
    assert credit_of({"text": "via BALTPRESS wire", "publisher": "X"}, w, ["BALTPRESS"]) == "alias BALTPRESS"
    assert credit_of({"text": "via BALTPRESSWIRE", "publisher": "X"}, w, ["BALTPRESS"]) is None


def test_backfill_and_publisher_watch(tmp_path: Path) -> None:
    """Copies already indexed are recorded when the watch is added (no alerts)."""
    recs = [o for i, o in _originals().items() if i not in HELD_BACK] + _copies()
    write_jsonl(tmp_path / "all.jsonl", recs)
    db = tmp_path / "b.duckdb"
    with Index.open(db) as idx:
        idx.ingest([tmp_path / "all.jsonl"])
        idx.build()
        out = add_watch(idx, publisher="Northwire")
        assert out["backfilled"] >= 5
        rep = watch_report(idx)
        assert idx.con.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    by = {o["id"]: o for o in rep["originals"]}
    found = {r["copy_id"]: r for r in by[WATCHED]["reuses"]}
    assert set(found) == set(EXPECTED)
    assert all(r["backfill"] for r in found.values())
    assert found["c-spun"]["class"] == "spun" and found["c-composite"]["class"] == "composite"
    # --since in the future: nothing
    with Index.open(db, read_only=True) as idx:
        assert watch_report(idx, since="2100-01-01")["n_reuses"] == 0
        with pytest.raises(UserError, match="since"):
            watch_report(idx, since="yesterday-ish")
    with Index.open(db) as idx, pytest.raises(UserError, match="no document with id"):
        add_watch(idx, ["nope"])


def test_cli(base: dict[str, Any], receiver: _Receiver) -> None:
    from typer.testing import CliRunner

    from newstrace.cli import app

    db, inbox = str(base["db"]), base["inbox"]
    runner = CliRunner()
    res = runner.invoke(app, ["watch", "add", "--db", db, "--publisher", "Baltic Press Agency", "--alias", "BPA"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["watch", "rules", "--db", db, "--min-share", "0.9", "--off", "uncredited",
                              "--webhook", receiver.url])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rules"]["min_share"] == 0.9
    for n, rec in enumerate(_copies()[:2]):
        _drop(inbox, n, rec)
    res = runner.invoke(app, ["watch", "run", "--db", db, "--inbox", str(inbox), "--once", "--settle", "0"])
    assert res.exit_code == 0, res.output
    assert len(receiver.received) == 2
    # the summary of a --once pass is printed once, on stdout (not again on stderr)
    summary = res.stdout.strip().splitlines()[-1]
    assert summary and (res.stdout + res.stderr).count(summary) == 1
    res = runner.invoke(app, ["watch", "add", "--db", db, "orig-01"])
    assert res.exit_code == 1 and isinstance(res.exception, UserError)
    assert "--id orig-01" in str(res.exception) and "no such file" in str(res.exception)
    res = runner.invoke(app, ["watch", "report", "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["n_reuses"] == 2
    res = runner.invoke(app, ["watch", "report", "--db", db])
    assert res.exit_code == 0 and "orig-01" in res.stdout and "2 reuse(s)" in res.stdout
    res = runner.invoke(app, ["watch", "list", "--db", db, "--json"])
    assert {w["value"] for w in json.loads(res.stdout)} == {WATCHED, "Baltic Press Agency"}
    res = runner.invoke(app, ["watch", "rules", "--db", db, "--min-share", "3"])
    assert res.exit_code != 0


def test_watch_help_has_examples() -> None:
    from typer.testing import CliRunner

    from newstrace.cli import app

    for cmd in ("add", "remove", "list", "run", "report", "rules"):
        res = CliRunner().invoke(app, ["watch", cmd, "--help"])
        assert res.exit_code == 0 and "newstrace watch " + cmd in res.stdout, cmd


def test_web_pages(base: dict[str, Any]) -> None:
    pytest.importorskip("fastapi", reason="the web extra (fastapi) is not installed")
    pytest.importorskip("httpx", reason="httpx (for FastAPI's TestClient) is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from newstrace.web import create_app

    db, inbox = base["db"], base["inbox"]
    copies = _copies()
    copies[1]["title"] = "<script>alert(1)</script> copy"
    for n, rec in enumerate(copies):
        _drop(inbox, n, rec)
    run_watch(db, inbox, once=True, settle=0, batch=5)
    client = TestClient(create_app(db))
    page = client.get("/watch")
    assert page.status_code == 200
    assert "c-spun" in page.text or "Copy c-spun" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    api = client.get("/api/watch").json()
    assert api["n_reuses"] == 5
    rid = next(r["reuse_id"] for r in api["originals"][0]["reuses"] if r["copy_id"] == "c-spun")
    one = client.get(f"/watch/reuse/{rid}")
    assert one.status_code == 200 and "Side by side" in one.text and "substitut" in one.text
    assert client.get(f"/api/watch/reuses/{rid}").json()["class"] == "spun"
    assert client.get("/watch/reuse/99999").status_code == 404
    assert client.get("/api/watch?since=garbage").status_code == 400
    feed = client.get("/watch/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 5
    assert all(e.find("a:link", ns).get("href").startswith("http") for e in entries)


def test_web_without_watch_tables(tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason="the web extra (fastapi) is not installed")
    pytest.importorskip("httpx", reason="httpx (for FastAPI's TestClient) is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from newstrace.web import create_app

    db = tmp_path / "plain.duckdb"
    with Index.open(db) as idx:
        idx.add([{"id": "a", "text": "Some text that nobody copied at all, of course."}])
        idx.build()
    client = TestClient(create_app(db))
    assert client.get("/watch").status_code == 200
    assert client.get("/api/watch").json()["n_reuses"] == 0
    assert client.get("/watch/feed.atom").status_code == 200
