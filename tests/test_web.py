"""Web UI and JSON API, through FastAPI's TestClient (no browser; see test_web_browser.py)."""

from __future__ import annotations

import json
import re
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra (fastapi) is not installed")
pytest.importorskip("multipart", reason="the web extra (python-multipart) is not installed")
pytest.importorskip("httpx", reason="httpx (for FastAPI's TestClient) is not installed")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from conftest import XSS_TEXT, build_web_index

from newstrace.fixtures import demo_corpus
from newstrace.web import create_app

LIMIT = 200_000



@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = build_web_index(tmp_path_factory.mktemp("web"))
    app = create_app(data["db"], max_upload_bytes=LIMIT)
    data["client"] = TestClient(app)
    return data


def _ok_json_error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list)
    return body


def test_home_has_form_and_security_headers(env: dict[str, Any]) -> None:
    r = env["client"].get("/")
    assert r.status_code == 200
    assert '<form class="trace-form" method="post" action="/trace"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_trace_page_spun_composite(env: dict[str, Any]) -> None:
    comp = env["composite"]
    r = env["client"].post("/trace", data={"text": env["spun"]})
    assert r.status_code == 200, r.text
    html = r.text
    assert "Wholly derived" in html and "composite of 3 sources" in html
    # each true source is listed in the legend, each has coloured sentences
    legend = html.split('<ol class="legend">')[1]
    for sid in comp["truth"]["sources"]:
        assert f'href="/documents/{sid}"' in legend
    for colour in ("c0", "c1", "c2"):
        assert f'class="sent {colour}"' in html
    assert 'class="ed substitute"' in html  # spun words marked in the article
    assert html.count('action="/compare"') >= 3


def test_api_trace_json_and_speed(env: dict[str, Any]) -> None:
    client = env["client"]
    client.post("/api/trace", json={"text": env["spun"]})  # warm caches
    t = time.perf_counter()
    r = client.post("/api/trace", json={"text": env["spun"]})
    elapsed = time.perf_counter() - t
    print(f"trace on the demo index: {elapsed * 1000:.1f} ms (server {r.headers['server-timing']})")
    assert r.status_code == 200
    body = r.json()
    for key in ("coverage", "classification", "composite", "sources", "sentences", "edits", "passages"):
        assert key in body
    assert body["composite"] is True
    assert set(env["composite"]["truth"]["sources"]) <= {s["id"] for s in body["sources"]}
    assert elapsed < 3.0


def test_api_trace_file_uploads(env: dict[str, Any]) -> None:
    client = env["client"]
    r = client.post("/api/trace", files={"file": ("a.txt", env["spun"].encode(), "text/plain")})
    assert r.status_code == 200 and r.json()["composite"] is True
    page = "<html><head><title>x</title></head><body><article>" + "".join(
        f"<p>{p}</p>" for p in env["spun"].split("\n\n")
    ) + "</article></body></html>"
    r = client.post("/api/trace", files={"file": ("a.html", page.encode(), "text/html")})
    assert r.status_code == 200, r.text
    assert r.json()["coverage"] > 0.5
    r = client.post("/api/trace", files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")})
    _ok_json_error(r, 415)
    r = client.post("/api/trace", files={"file": ("a.txt", b"\xff\xfe\x00bad", "text/plain")})
    assert r.status_code in (400, 415)


def test_api_errors_are_json(env: dict[str, Any]) -> None:
    client = env["client"]
    _ok_json_error(client.post("/api/trace", json={"text": "   "}), 400)
    _ok_json_error(client.post("/api/trace", json={"nope": 1}), 422)
    _ok_json_error(client.post("/api/trace", content=b"{not json", headers={"content-type": "application/json"}), 400)
    body = _ok_json_error(client.post("/api/align", json={"a": "x"}), 422)
    assert body["errors"] and body["errors"][0]["loc"][-1] == "b"
    _ok_json_error(client.get("/api/documents/no-such-doc"), 404)
    _ok_json_error(client.get("/api/clusters/999999"), 404)
    _ok_json_error(client.get("/api/clusters/abc"), 422)
    _ok_json_error(client.get("/api/nothing-here"), 404)


def test_upload_size_limit(env: dict[str, Any]) -> None:
    client = env["client"]
    big = "word " * (LIMIT // 5 + 100)
    body = _ok_json_error(client.post("/api/trace", json={"text": big}), 413)
    assert "upload too large" in body["error"] and "limit" in body["error"]
    r = client.post("/api/trace", files={"file": ("big.txt", big.encode(), "text/plain")})
    _ok_json_error(r, 413)
    r = client.post("/trace", files={"file": ("big.txt", big.encode(), "text/plain")})
    assert r.status_code == 413 and "upload too large" in r.text and "text/html" in r.headers["content-type"]

    # no Content-Length (chunked): the body is cut off while reading
    def chunks():
        piece = b'{"text": "' + b"x" * 65536
        yield piece
        for _ in range(10):
            yield b"y" * 65536
        yield b'"}'

    r = client.post("/api/trace", content=chunks(), headers={"content-type": "application/json"})
    _ok_json_error(r, 413)
    # just under the limit is fine
    r = client.post("/api/trace", json={"text": "word " * (LIMIT // 5 - 100)})
    assert r.status_code == 200


def test_xss_is_escaped(env: dict[str, Any]) -> None:
    client = env["client"]
    pages = [
        client.get("/documents/xss-1").text,
        client.get("/documents/xss-2").text,
        client.get("/compare", params={"a": "xss-1", "b": "xss-2"}).text,
        client.post("/trace", data={"text": XSS_TEXT}).text,
        client.post("/compare", data={"text": XSS_TEXT, "source": "xss-1"}).text,
        client.get("/search", params={"q": "<script>alert(1)</script>"}).text,
        client.get("/search", params={"q": "satellite"}).text,
        client.get("/corpus").text,
        client.get("/documents/<script>alert(1)</script>").text,
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>Evil" not in html
        assert len(re.findall(r"<script\b", html)) <= 1  # only /static/web.js
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0]


def test_static_files_and_traversal(env: dict[str, Any]) -> None:
    client = env["client"]
    r = client.get("/static/web.css")
    assert r.status_code == 200 and "newstrace" in r.text
    assert client.get("/static/web.js").status_code == 200
    for path in [
        "/static/..%2fapp.py", "/static/..%2F..%2Fweb%2Fapp.py", "/static/%2e%2e/app.py",
        "/static/%2e%2e%2fapp.py", "/static/..\\app.py", "/static/....//app.py",
        "/static/%252e%252e%252fapp.py", "/static//etc/passwd", "/static/../../pyproject.toml",
    ]:
        r = client.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert "create_app" not in r.text and "root:" not in r.text


def test_compare_marks_substitutions(env: dict[str, Any]) -> None:
    client = env["client"]
    spin_rec = next(r for r in demo_corpus() if r["truth"]["kind"] == "spin")
    src = spin_rec["truth"]["sources"][0]
    r = client.get("/compare", params={"a": src, "b": spin_rec["id"]})
    assert r.status_code == 200
    assert 'class="ed substitute"' in r.text and "<del" in r.text and "<ins" in r.text
    assert 'id="L1"' in r.text and 'href="#R1"' in r.text
    n_subs = len(spin_rec["truth"]["substitutions"])
    marked = r.text.count('<ins class="ed substitute"')
    assert marked >= n_subs * 0.5, (marked, n_subs)
    # the query vs a source, posted from the trace page
    r = client.post("/compare", data={"text": env["spun"], "source": "orig-27"})
    assert r.status_code == 200 and 'class="ed substitute"' in r.text
    assert client.get("/compare", params={"a": src, "b": "missing"}).status_code == 404


def test_document_cluster_search_corpus_pages(env: dict[str, Any]) -> None:
    client = env["client"]
    doc = client.get("/api/documents/orig-27").json()
    assert doc["id"] == "orig-27" and doc["passages"]
    r = client.get("/documents/orig-27")
    assert r.status_code == 200 and 'class="psg c0"' in r.text and "/compare?a=orig-27&amp;b=" in r.text
    cid = doc["clusters"][0]["cluster_id"]
    cluster = client.get(f"/api/clusters/{cid}").json()
    r = client.get(f"/clusters/{cid}")
    assert r.status_code == 200
    svg = r.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    n_docs = len({m["id"] for m in cluster["members"]})
    assert svg.count("<circle") == n_docs
    assert svg.count('class="edge"') >= 1
    r = client.get("/search", params={"q": "Aarwald", "field": "title"})
    assert r.status_code == 200 and "<mark>Aarwald</mark>" in r.text
    # no wildcards: punctuation is not a word, so it finds nothing
    for q in ("_", "%", "*"):
        assert client.get("/api/search", params={"q": q, "field": "text"}).json()["results"] == []
    assert client.get("/search", params={"q": "x", "field": "bogus"}).status_code == 400
    r = client.get("/corpus")
    assert r.status_code == 200
    assert "Most reused sources" in r.text and "Substitution dictionary" in r.text
    assert "<del>" in r.text.split("Substitution dictionary")[1]  # at least one pair mined


def test_api_align_and_openapi(env: dict[str, Any]) -> None:
    client = env["client"]
    a = demo_corpus()[0]["text"]
    r = client.post("/api/align", json={"a": a, "b": "Intro line. " + a})
    assert r.status_code == 200
    ps = r.json()["passages"]
    assert ps and {"a_start", "a_end", "b_start", "b_end", "score", "a_id", "b_id"} <= set(ps[0])
    spec = client.get("/openapi.json").json()
    for path in ("/api/trace", "/api/documents/{doc_id}", "/api/clusters/{cluster_id}", "/api/align"):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 200


def test_concurrent_requests(env: dict[str, Any]) -> None:
    client = env["client"]

    def one(i: int) -> int:
        if i % 3 == 0:
            return client.post("/api/trace", json={"text": env["spun"]}).status_code
        if i % 3 == 1:
            return client.get("/api/documents/orig-22").status_code
        return client.get("/search", params={"q": "court"}).status_code

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(one, range(24))) == {200}


def test_cli_serve_get(env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    import inspect

    from newstrace import cli, cli_web

    assert inspect.signature(cli_web.serve).parameters["host"].default.default == "127.0.0.1"
    with pytest.raises(SystemExit) as ex:
        cli.main(["serve", "--db", str(env["db"]), "--get", "/api/stats"])
    assert ex.value.code == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 72
    with pytest.raises(SystemExit) as ex:
        cli.main(["serve", "--db", str(env["db"]), "--get", "/api/documents/nope"])
    assert ex.value.code == 1
    with pytest.raises(SystemExit) as ex:
        cli.main(["serve", "--db", str(env["db"].parent / "missing.duckdb"), "--get", "/"])
    assert ex.value.code == 1
    assert "no such database" in capsys.readouterr().err


def _words(text: str) -> set[str]:
    import re

    return set(re.findall(r"[^\W_]+", text.casefold()))


def test_search_all_words_ranked_with_snippets(env: dict[str, Any]) -> None:
    """All-words search (FTS5): two words far apart in one article find it; every hit
    holds every word; a word in the title ranks above the same word in the text only."""
    client = env["client"]
    docs = {d["id"]: d for d in demo_corpus()}
    orig = docs["orig-27"]
    words = sorted(_words(orig["text"]), key=len)
    first, last = orig["text"].split()[0].strip(",.()"), orig["text"].split()[-1].strip(",.()\"")
    data = client.get("/api/search", params={"q": f"{first} {last}"}).json()
    ids = [r["id"] for r in data["results"]]
    assert "orig-27" in ids and data["total"] == len(ids)
    for r in data["results"]:
        d = docs.get(r["id"])
        if d is not None:
            assert {first.casefold(), last.casefold()} <= _words(d["text"] + " " + (d.get("title") or ""))
    # the same two words as a phrase do not occur together
    assert client.get("/api/search", params={"q": f'"{first} {last}"'}).json()["results"] == []
    # relevance: title matches first
    title_word = max(_words(orig["title"]), key=len)
    res = client.get("/api/search", params={"q": title_word}).json()["results"]
    in_title = [title_word in _words(r["title"] or "") for r in res]
    assert in_title[0] and in_title == sorted(in_title, reverse=True)
    assert [r["score"] for r in res] == sorted((r["score"] for r in res), reverse=True)
    page = client.get("/search", params={"q": f"{first} {last}"})
    assert page.status_code == 200 and "<mark>" in page.text and "best match first" in page.text
    assert words  # the article has words at all


def test_reflow_keeps_offsets_and_paragraphs() -> None:
    from newstrace.web.views import reflow

    text = ("Showers continued throughout the week in\nthe Bahia cocoa zone, alleviating the drought\n"
            "since early January.\n    The dry period means the temporao\nwill be late this year.\n\nEnd")
    out = reflow(text)
    assert len(out) == len(text)
    assert all(a == b or (a == "\n" and b == " ") for a, b in zip(text, out, strict=True))
    assert "week in the Bahia" in out and "January.\n    The dry" in out and "year.\n\nEnd" in out
    prose = "One long paragraph line that is not hard wrapped at all. " * 4
    assert reflow(prose + "\n" + prose) == prose + "\n" + prose  # long lines: left alone


def test_document_page_nav_sidebar_cap_and_favicon(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from newstrace.web import views

    client = env["client"]
    docs = [client.get(f"/api/documents/{d['id']}").json() for d in demo_corpus() if d["id"].startswith("orig-")]
    doc = max(docs, key=lambda d: len({p["other_id"] for p in d["passages"]}))
    others = {p["other_id"] for p in doc["passages"]}
    assert len(others) >= 3
    assert all(p["other_publisher"] for p in doc["passages"])  # added to the JSON, nothing renamed
    monkeypatch.setattr(views, "SIDEBAR_SHOWN", 2)
    page = client.get(f"/documents/{doc['id']}").text
    nav = page.split("<nav>", 1)[1].split("</nav>", 1)[0]
    assert 'class="on"' not in nav and 'href="/watch"' in nav
    aside = page.split('<aside class="legend-col">', 1)[1].split("</aside>", 1)[0]
    first, rest = aside.split("<details", 1)
    assert first.count('<li class="source') == 2
    assert f"show {len(others) - 2} more" in rest and rest.count('<li class="source') == len(others) - 2
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/static/favicon.svg").status_code == 200
    for path, label in (("/", "Trace an article"), ("/search", "Search"), ("/corpus", "Corpus"), ("/watch", "Watch")):
        nav = client.get(path).text.split("<nav>", 1)[1].split("</nav>", 1)[0]
        assert re.search(r'class="on">' + label + "<", nav), path


def test_cluster_page_one_row_per_article(env: dict[str, Any]) -> None:
    client = env["client"]
    found = None
    for cid in range(1, 80):
        r = client.get(f"/api/clusters/{cid}")
        if r.status_code != 200:
            continue
        members = r.json()["members"]
        if len(members) > len({m["id"] for m in members}):
            found = (cid, members)
            break
    if found is None:
        pytest.skip("no cluster with two passages of one article in this index")
    cid, members = found
    page = client.get(f"/clusters/{cid}").text
    table = page.split('<table class="copies">', 1)[1].split("</table>", 1)[0]
    hrefs = re.findall(r'<td><a href="/documents/([^"]+)"', table)
    assert len(hrefs) == len(set(hrefs)) == len({m["id"] for m in members})
