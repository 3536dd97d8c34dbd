"""End-to-end tests of the web UI in a real headless Chromium (Debian's ``chromium``),
driven by Playwright's Python API. Playwright never downloads a browser here: it is
pointed at /usr/bin/chromium. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra (fastapi) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright; no browser download needed)"
)

import uvicorn
from conftest import XSS_TEXT, build_chain_index, build_web_index
from playwright.sync_api import Browser, Page, sync_playwright

from newstrace.fixtures import demo_corpus
from newstrace.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
LIMIT = 100_000



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("webui")
    data = build_web_index(tmp)
    data["tmp"] = tmp
    for url in _serve(data["db"]):
        data["url"] = url
        yield data


def _serve(db: Path) -> Iterator[str]:
    app = create_app(db, max_upload_bytes=LIMIT)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server over an index whose largest cluster has 420 articles."""
    data = build_chain_index(tmp_path_factory.mktemp("chain"))
    for url in _serve(data["db"]):
        data["url"] = url
        yield data


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = ctx.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.console_errors = []  # type: ignore[attr-defined]

    def on_dialog(d: Any) -> None:
        pg.dialogs.append(d.message)  # type: ignore[attr-defined]
        d.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_trace_spun_composite_highlights_each_source(server: dict[str, Any], page: Page) -> None:
    page.goto(server["url"] + "/")
    shot(page, "home")
    page.fill("textarea#text", server["spun"])
    page.click("button[type=submit]")
    page.wait_for_selector(".verdict")
    verdict = page.inner_text(".verdict")
    assert "Wholly derived" in verdict and "composite of 3 sources" in verdict
    legend = page.locator("ol.legend > li.source")
    assert legend.count() == 3
    hrefs = [legend.nth(i).locator(".src-title a").get_attribute("href") for i in range(3)]
    assert sorted(h.rsplit("/", 1)[1] for h in hrefs) == sorted(server["composite"]["truth"]["sources"])
    colours = set()
    for i in range(3):
        sents = page.locator(f"#article .sent.c{i}")
        assert sents.count() >= 1, f"no sentence highlighted for source {i + 1}"
        colours.add(sents.first.evaluate("e => getComputedStyle(e).backgroundColor"))
        assert legend.nth(i).locator(".share").inner_text().endswith("of your text")
    assert len(colours) == 3, colours  # three distinct highlight colours
    assert page.locator("#article ins.ed.substitute").count() >= 1
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "trace")


def test_side_by_side_marks_substitutions(server: dict[str, Any], page: Page) -> None:
    page.goto(server["url"] + "/")
    page.fill("textarea#text", server["spun"])
    page.click("button[type=submit]")
    page.wait_for_selector(".verdict")
    # the second source is the spun one (orig-27 and its copies)
    page.locator("ol.legend > li.source").nth(1).locator("button", has_text="Side by side with your text").click()
    page.wait_for_selector(".sbs")
    assert page.locator("#right ins.ed.substitute").count() >= 2
    assert page.locator("#left del.ed.substitute").count() >= 2
    first = page.locator("#right ins.ed.substitute").first
    assert "→" in (first.get_attribute("title") or "")
    # passage numbers link across
    page.locator("#right a.badge").first.click()
    assert page.url.endswith("#L1")
    page.locator("#left .psg").first.hover()
    assert page.locator("#right .psg.peer-on").count() == 1
    page.mouse.move(0, 0)
    shot(page, "compare-trace")
    spin_rec = next(r for r in demo_corpus() if r["truth"]["kind"] == "spin")
    page.goto(f"{server['url']}/compare?a={spin_rec['truth']['sources'][0]}&b={spin_rec['id']}")
    assert page.locator("#right ins.ed.substitute").count() >= 3
    shot(page, "compare-docs")


def test_xss_article_renders_inert(server: dict[str, Any], page: Page) -> None:
    urls = [
        "/documents/xss-1", "/documents/xss-2", "/compare?a=xss-1&b=xss-2",
        "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "/search?q=satellite",
    ]
    for u in urls:
        page.goto(server["url"] + u)
        page.wait_for_load_state("load")
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        scripts = page.evaluate("Array.from(document.scripts).map(s => s.src)")
        assert all(s.endswith("/static/web.js") for s in scripts), scripts
    body = page.inner_text("body")
    assert "<script>alert(1)</script>" in body  # shown as text
    page.goto(server["url"] + "/")
    page.fill("textarea#text", XSS_TEXT)
    page.click("button[type=submit]")
    page.wait_for_selector(".verdict")
    assert "<img src=x onerror=alert(1)>" in page.inner_text("#article")
    assert page.evaluate("document.querySelectorAll('#article script, #article img, [onerror]').length") == 0
    page.locator("ol.legend button", has_text="Side by side with your text").first.click()
    page.wait_for_selector(".sbs")
    assert page.evaluate("document.querySelectorAll('img, [onerror]').length") == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "xss-compare")


def test_oversize_upload_is_refused(server: dict[str, Any], page: Page) -> None:
    big = server["tmp"] / "big.txt"
    big.write_text("too long " * (LIMIT // 9 + 2000), encoding="utf-8")
    page.goto(server["url"] + "/")
    page.set_input_files("input#file", str(big))
    assert page.locator("textarea#text").is_disabled()
    with page.expect_response(lambda r: r.url.endswith("/trace")) as resp:
        page.click("button[type=submit]")
    assert resp.value.status == 413
    page.wait_for_selector(".error-box")
    msg = page.inner_text(".error-box")
    assert "Too large" in msg and "upload too large" in msg and "limit" in msg
    shot(page, "upload-too-large")
    # a small upload works
    small = server["tmp"] / "small.txt"
    small.write_text(server["spun"], encoding="utf-8")
    page.goto(server["url"] + "/")
    page.set_input_files("input#file", str(small))
    page.click("button[type=submit]")
    page.wait_for_selector(".verdict")
    assert "composite" in page.inner_text(".verdict")


def test_other_pages_render(server: dict[str, Any], page: Page) -> None:
    page.goto(server["url"] + "/corpus")
    assert page.locator("h1").inner_text() == "Corpus overview"
    assert page.locator("table.edits del").count() >= 1
    shot(page, "corpus")
    page.locator("a[href^='/clusters/']").first.click()
    page.wait_for_selector("svg.cluster-graph")
    assert page.locator("svg.cluster-graph circle").count() >= 2
    assert page.locator("svg.cluster-graph path.edge").count() >= 1
    shot(page, "cluster")
    page.goto(server["url"] + "/documents/orig-27")
    assert page.locator(".article .psg").count() >= 1
    shot(page, "document")
    page.goto(server["url"] + "/search?q=court")
    assert page.locator("ol.results li").count() >= 1
    shot(page, "search")
    assert page.console_errors == []  # type: ignore[attr-defined]  (no CSP violations)



# -- a newcomer's first hour (issue 19) ------------------------------------------------------
def test_navigation_watch_favicon_and_no_404(server: dict[str, Any], page: Page) -> None:
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    expected = {"/": "Trace an article", "/search": "Search", "/corpus": "Corpus", "/watch": "Watch"}
    for path, label in expected.items():
        page.goto(server["url"] + path)
        page.wait_for_load_state("load")
        on = page.locator("header nav a.on")
        assert on.count() == 1 and on.inner_text() == label, path
    page.locator("header nav a", has_text="Watch").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/watch")
    # a document page is not "Search": nothing in the navigation is highlighted
    page.goto(server["url"] + "/documents/orig-27")
    page.wait_for_load_state("load")
    assert page.locator("header nav a.on").count() == 0
    icon = page.evaluate("fetch('/favicon.ico').then(r => r.status)")
    assert icon == 200
    linked = page.locator("link[rel=icon]").get_attribute("href")
    assert page.evaluate(f"fetch({linked!r}).then(r => r.status)") == 200
    assert failed == [], failed
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_search_all_words_ranked_with_snippets(server: dict[str, Any], page: Page) -> None:
    page.goto(server["url"] + "/search")
    # two words that never stand together in one phrase, both in one article
    page.fill("input[name=q]", "satellite Rome")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("ol.results li")
    items = page.locator("ol.results li")
    assert items.count() >= 2
    hrefs = [items.nth(i).locator("a").first.get_attribute("href") for i in range(items.count())]
    assert {"/documents/xss-1", "/documents/xss-2"} <= set(hrefs)
    marked = {m.casefold() for m in page.locator("ol.results .snippet mark").all_inner_texts()}
    assert {"satellite", "rome"} <= marked  # the snippet shows every word of the query
    assert "best match first" in page.inner_text("main")
    shot(page, "search-all-words")
    page.fill("input[name=q]", '"satellite Rome"')  # as a phrase: no such phrase
    page.click("form.search button[type=submit]")
    page.wait_for_load_state("load")
    assert page.locator("ol.results li").count() == 0
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_400_member_cluster_page(chain_server: dict[str, Any], page: Page) -> None:
    n = chain_server["n_docs"]
    assert n >= 400
    url = f"{chain_server['url']}/clusters/{chain_server['cluster_id']}"
    page.goto(url)
    page.wait_for_selector("svg.cluster-hist")
    # the timeline is a histogram: a bar per hour with articles, not a row per article
    bars = page.locator("svg.cluster-hist rect.bar")
    assert 10 <= bars.count() <= 60
    counts = [int(t.split(": ")[1].split()[0]) for t in page.locator("svg.cluster-hist rect.bar title").all_text_contents()]
    assert sum(counts) == n
    assert page.locator("svg.cluster-hist circle.first").count() == 1
    box = page.locator("svg.cluster-hist").bounding_box()
    assert box is not None and box["height"] < 400 and box["width"] > 800
    # one page of copies, one row per article, no row twice
    rows = page.locator("table.copies tr td:nth-child(3) a")
    ids = [a.split("/")[-1] for a in (rows.nth(i).get_attribute("href") or "" for i in range(rows.count()))]
    assert len(ids) == 100 and len(set(ids)) == 100
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 8000, height
    assert f"of {n}" in page.inner_text("nav.pager")
    shot(page, "cluster-400")
    seen = set(ids)
    while page.locator("nav.pager a[rel=next]").count():
        page.locator("nav.pager a[rel=next]").first.click()
        page.wait_for_load_state("load")
        more = [page.locator("table.copies tr td:nth-child(3) a").nth(i).get_attribute("href")
                for i in range(page.locator("table.copies tr td:nth-child(3) a").count())]
        assert not seen & set(more)
        seen |= set(more)
    assert len(seen) == n
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_api_docs_render_offline_under_the_csp(server: dict[str, Any], page: Page) -> None:
    """Swagger UI and ReDoc come from the package: they render with no CDN and no inline script."""
    outside: list[str] = []  # anything actually fetched from elsewhere
    page.on("requestfinished", lambda r: r.url.startswith(server["url"]) or r.url.startswith("data:")
            or r.url.startswith("blob:") or outside.append(r.url))
    page.goto(server["url"] + "/docs")
    page.wait_for_selector(".opblock-tag", timeout=20_000)
    assert "Trace an article" in page.inner_text("#swagger-ui")
    assert page.console_errors == []  # type: ignore[attr-defined]
    page.goto(server["url"] + "/redoc")
    page.wait_for_selector(".api-content", timeout=20_000)
    assert "Trace an article" in page.inner_text(".api-content")
    # ReDoc's own "powered by" logo points at its CDN; the CSP blocks it and nothing else
    assert all("img-src" in e and "Content Security Policy" in e
               for e in page.console_errors), page.console_errors  # type: ignore[attr-defined]
    assert outside == []
