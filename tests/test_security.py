"""Hostile content and requests: SQL injection through ids and search strings, markup and
odd Unicode in article text rendered in the static report and the web UI, path
traversal, oversize uploads, default bind address."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Comment, NavigableString

from newstrace.errors import UserError
from newstrace.fixtures import demo_corpus
from newstrace.index import Index

HOSTILE_IDS = [
    "x' OR '1'='1",
    "'); DROP TABLE documents; --",
    "1; DELETE FROM passages",
    '" OR ""="',
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "<script>alert('id')</script>",
    "id\u202egnp.exe",
    "zero\u200bwidth",
    "émoji 📰 id",
]
PAYLOADS = [
    "<script>alert('xss-1')</script>",
    '<img src=x onerror="alert(\'xss-2\')">',
    '<a href="javascript:alert(\'xss-3\')">click</a>',
    "<svg onload=alert('xss-4')><iframe src=javascript:alert('xss-5')>",
    '"><body onload=alert(\'xss-6\')>',
    "{{ 7*7 }} {% raw %}",
    "\u202e evil override \u202c and \u2066isolate\u2069 and zero\u200bwidth\u200d\ufeff",
    "<!-- comment --><style>body{display:none}</style>",
]
MARKERS = ["xss-", "onerror", "onload", "javascript:"]


def _hostile_corpus() -> list[dict[str, Any]]:
    base = [r for r in demo_corpus() if r["truth"]["kind"] == "original"][:4]
    out = []
    for n, rec in enumerate(base):
        paras = rec["text"].split("\n\n")
        mixed = "\n\n".join(p + " " + PAYLOADS[(n + i) % len(PAYLOADS)] for i, p in enumerate(paras))
        doc_id = HOSTILE_IDS[n % len(HOSTILE_IDS)]
        out.append({"id": doc_id, "text": mixed, "published_at": f"2026-01-0{n + 1}T10:00:00Z",
                    "publisher": PAYLOADS[n], "title": PAYLOADS[n + 1],
                    "url": "javascript:alert('xss-url')"})
        for k in range(2):  # verbatim reprints so the original gets document and cluster pages
            out.append({"id": HOSTILE_IDS[(n + 4 + 3 * k) % len(HOSTILE_IDS)] + f" copy {n}{k}",
                        "text": PAYLOADS[-1 - k] + "\n\n" + mixed,
                        "published_at": f"2026-02-0{n + 1}T10:00:00+05:00",
                        "publisher": "<b onmouseover=alert('xss-pub')>pub</b>",
                        "title": f"Reprint {k} \u202e of {n}"})
    return out


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "h.duckdb"
    with Index.open(db) as idx:
        report = idx.add(_hostile_corpus())
        assert report.added == 12 and not report.rejected
        idx.build()
        assert idx.stats()["passages"] > 0
    return db


# -- SQL injection -------------------------------------------------------------------------------
def test_hostile_ids_stored_verbatim_and_looked_up_exactly(hostile_db: Path) -> None:
    with Index.open(hostile_db, read_only=True) as idx:
        n = idx.stats()["documents"]
        for rec in _hostile_corpus():
            doc = idx.document(rec["id"])
            assert doc["id"] == rec["id"] and doc["text"] == rec["text"]
        for probe in ["x' OR '1'='1' --", "' OR 1=1 --", "%", "_", "*", "\\", "'", '"', ";"]:
            with pytest.raises(UserError):
                idx.document(probe)
        for probe in ["1 OR 1=1", "1; DROP TABLE clusters", "-1 UNION SELECT 1"]:
            with pytest.raises((UserError, ValueError)):
                idx.cluster(probe)  # type: ignore[arg-type]
        assert idx.stats()["documents"] == n


def test_search_strings_are_parameters(hostile_db: Path) -> None:
    views = pytest.importorskip("newstrace.web.views")
    with Index.open(hostile_db, read_only=True) as idx:
        total = idx.stats()["documents"]
        # none of these occurs literally in the corpus: a literal search finds nothing
        for q in ["' OR '1'='1' --", "%' OR 1=1 --", "x'; DROP TABLE documents; --", "\\%", "_'_"]:
            for field in ("all", "text", "title", "publisher"):
                try:
                    hits = views.search(idx.con, q, field)
                except UserError:
                    continue
                assert hits == [], (q, field, len(hits))
        assert idx.stats()["documents"] == total
        assert len(views.search(idx.con, "onerror=\"alert('xss-2')", "text")) >= 1  # literal match


# -- static report ---------------------------------------------------------------------------------
def _soups(folder: Path) -> dict[Path, BeautifulSoup]:
    return {p: BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser")
            for p in sorted(folder.rglob("*.html"))}


def _assert_inert(soup: BeautifulSoup, where: str, own_scripts: bool = False) -> None:
    """No element, event-handler attribute, script URL or comment built from article text.
    (Article text inside a quoted, escaped attribute value -- a tooltip -- is data, fine.)"""
    for el in soup.find_all(True):
        assert el.name not in ("iframe", "object", "embed", "foreignobject"), (where, str(el)[:200])
        if el.name == "img":
            assert el.get("src") != "x", (where, str(el)[:200])
        if el.name == "body":
            assert not el.attrs, (where, str(el)[:200])
        if el.name == "script":
            assert own_scripts and not any(m in (el.string or "") for m in MARKERS), (where, str(el)[:200])
        if el.name == "style":
            assert "display:none" not in (el.string or ""), where
        for attr, value in el.attrs.items():
            assert not attr.lower().startswith("on"), (where, el.name, attr)
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr in ("href", "src", "action", "formaction", "srcdoc", "style"):
                assert not re.match(r"\s*(javascript|data|vbscript):", text, re.IGNORECASE), (where, text)
                assert not any(m in text for m in MARKERS), (where, el.name, attr, text[:200])
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        assert "comment" not in c, where


@pytest.fixture(scope="module")
def report_dir(hostile_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from newstrace.report import write_report

    out = tmp_path_factory.mktemp("report")
    with Index.open(hostile_db, read_only=True) as idx:
        write_report(idx, out)
    return out


def test_report_renders_hostile_text_inert(report_dir: Path) -> None:
    soups = _soups(report_dir)
    assert len(soups) >= 3
    seen_as_text = set()
    for path, soup in soups.items():
        _assert_inert(soup, str(path.relative_to(report_dir)))
        body_text = soup.get_text()
        for p in PAYLOADS[:5]:
            if p in body_text:
                seen_as_text.add(p)
    # the payloads are shown, as text
    assert len(seen_as_text) >= 3, seen_as_text


def test_report_page_names_cannot_escape_the_folder(report_dir: Path) -> None:
    for p in report_dir.rglob("*"):
        assert report_dir in p.resolve().parents
        assert p.name.isascii() and ".." not in p.name and "\u202e" not in p.name
    for soup in _soups(report_dir).values():
        for a in soup.find_all("a", href=True):
            href = a["href"]
            assert not href.startswith(("/", "http:", "https:", "file:")) or href.startswith("#"), href
            assert "../.." not in href, href


_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_ISOLATING = {"bdi", "td", "th", "li", "p", "div", "blockquote", "pre", "h1", "h2", "h3", "title",
              "section", "article", "main", "body", "header", "footer", "dd", "dt"}


def _bidi_leaks(soup: BeautifulSoup) -> list[str]:
    """Text nodes holding a bidi override whose direction can run into the text after them on
    the same line (not isolated by <bdi>, a dir attribute or ending its block)."""
    leaks = []
    for node in soup.find_all(string=_BIDI):
        if not isinstance(node, NavigableString):
            continue
        parent = node.parent
        isolated = parent is not None and (parent.name == "bdi" or parent.has_attr("dir"))
        if not isolated and parent is not None and parent.name in _ISOLATING:
            # the override still reverses whatever follows it inside the same block
            isolated = node.next_sibling is None
        if not isolated:
            leaks.append(repr(str(node))[:80])
    return leaks


def test_report_isolates_bidi_overrides(report_dir: Path) -> None:
    leaks = [(p.name, leak) for p, s in _soups(report_dir).items() for leak in _bidi_leaks(s)]
    assert not leaks, leaks[:5]


def test_cli_report_on_hostile_db(hostile_db: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "newstrace", "report", "--db", str(hostile_db),
                          "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    for path, soup in _soups(tmp_path / "r").items():
        _assert_inert(soup, path.name)


# -- web -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(hostile_db: Path) -> Any:
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    pytest.importorskip("multipart", reason="the web extra (python-multipart) is not installed")
    pytest.importorskip("httpx", reason="httpx (TestClient) is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from newstrace.web import create_app

    return TestClient(create_app(hostile_db, max_upload_bytes=100_000))


def test_web_pages_render_hostile_content_inert(client: Any) -> None:
    from urllib.parse import quote

    pages = ["/", "/corpus", "/search?q=" + quote("<script>"), "/search?q=" + quote("' OR 1=1 --")]
    pages += ["/documents/" + quote(r["id"], safe="") for r in _hostile_corpus()[:6]]
    pages += ["/clusters/1", "/clusters/2"]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code in (200, 404), (url, resp.status_code)
        _assert_inert(BeautifulSoup(resp.text, "html.parser"), url, own_scripts=True)
    for text in PAYLOADS:
        resp = client.post("/trace", data={"text": text + " " + _hostile_corpus()[0]["text"][:2000]})
        assert resp.status_code == 200
        _assert_inert(BeautifulSoup(resp.text, "html.parser"), "/trace", own_scripts=True)


def test_web_sql_injection_via_ids_and_search(client: Any) -> None:
    from urllib.parse import quote

    for probe in ["x' OR '1'='1' --", "' OR 1=1 --", "%", "1; DROP TABLE documents"]:
        assert client.get("/api/documents/" + quote(probe, safe="")).status_code == 404
    assert client.get("/api/clusters/1%20OR%201=1").status_code in (404, 422)
    resp = client.get("/api/search", params={"q": "%' OR '1'='1"})
    assert resp.status_code == 200
    before = client.get("/api/stats").json()
    client.get("/api/search", params={"q": "'; DROP TABLE documents; --"})
    assert client.get("/api/stats").json() == before
    doc = client.get("/api/documents/" + quote(HOSTILE_IDS[1], safe=""))
    assert doc.status_code == 200 and doc.json()["id"] == HOSTILE_IDS[1]


@pytest.mark.parametrize("path", [
    "/static/../../../../etc/passwd",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%5c..%5c..%5cetc%5cpasswd",
    "/static/....//....//etc/passwd",
    "/static//etc/passwd",
    "/static/%252e%252e/%252e%252e/etc/passwd",
    "/static/web.css%00.html",
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/static/..%2fapp.py",
    "/documents/..%2f..%2f..%2fetc%2fpasswd",
    "/api/documents/../../../../etc/passwd",
    "/clusters/..%2f..%2fetc%2fpasswd",
])
def test_web_path_traversal_refused(client: Any, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code in (400, 404, 405, 422), (path, resp.status_code)
    assert "root:" not in resp.text and "create_app" not in resp.text


def test_web_oversize_upload_refused(client: Any) -> None:
    big = "word " * 60_000  # 300 kB > 100 kB limit
    assert client.post("/api/trace", json={"text": big}).status_code == 413
    files = {"file": ("big.txt", big.encode(), "text/plain")}
    assert client.post("/api/trace", files=files).status_code == 413
    ok = client.post("/api/trace", json={"text": _hostile_corpus()[0]["text"][:3000]})
    assert ok.status_code == 200


def test_serve_binds_loopback_by_default() -> None:
    cli_web = pytest.importorskip("newstrace.cli_web")
    import inspect

    default = inspect.signature(cli_web.serve).parameters["host"].default
    assert getattr(default, "default", default) == "127.0.0.1"
