"""Screenshots of the web UI on a real index, for docs/ (issue 19).

Usage (the index built first, e.g. from the shared Helsinki corpus):

    newstrace ingest ../shared/data/helsinki.jsonl.gz --db helsinki.duckdb
    newstrace index --db helsinki.duckdb --boilerplate
    python bench/web_screenshots.py helsinki.duckdb --out docs/ --prefix helsinki

Takes the largest cluster's page and the page of the document with the most reused
passages, in headless Chromium (/usr/bin/chromium), the top 1360 x 1500 px. Prints page heights.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import duckdb
import uvicorn
from playwright.sync_api import sync_playwright

from newstrace.web import create_app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--out", default="docs")
    ap.add_argument("--prefix", default="helsinki")
    args = ap.parse_args()
    con = duckdb.connect(args.db, read_only=True)
    cluster = con.execute(
        "SELECT cluster_id FROM cluster_members GROUP BY 1 ORDER BY count(DISTINCT doc_key) DESC LIMIT 1"
    ).fetchone()[0]
    # the most reused article (most other articles sharing text), of ordinary length
    doc = con.execute(
        """SELECT d.id FROM documents d JOIN (SELECT a_key k, b_key o FROM passages UNION ALL
           SELECT b_key, a_key FROM passages) p ON p.k = d.doc_key
           WHERE d.n_chars < 8000 GROUP BY d.id ORDER BY count(DISTINCT p.o) DESC, d.id LIMIT 1"""
    ).fetchone()[0]
    con.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(args.db), host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="off"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    out = Path(args.out)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1360, "height": 1500})
        for name, path in (("cluster", f"/clusters/{cluster}"), ("document", f"/documents/{doc}")):
            page.goto(url + path)
            page.wait_for_load_state("load")
            height = page.evaluate("document.documentElement.scrollHeight")
            target = out / f"{args.prefix}-{name}.png"
            page.screenshot(path=str(target))  # the first 1500 px: readable at full size
            print(f"{target}: {path}, page height {height} px")
        browser.close()
    srv.should_exit = True


if __name__ == "__main__":
    main()
