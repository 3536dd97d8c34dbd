"""`make test` ends with a plain line on the browser tests: ran, or skipped and why."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_summary_says_all_browser_tests_were_skipped_and_why(tmp_path: Path) -> None:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    src = (HERE / "test_web_browser.py").read_text(encoding="utf-8")
    assert 'CHROMIUM = Path("/usr/bin/chromium")' in src
    (tmp_path / "test_web_browser.py").write_text(
        src.replace('CHROMIUM = Path("/usr/bin/chromium")', 'CHROMIUM = Path("/nonexistent/chromium")'),
        encoding="utf-8",
    )
    n = src.count("\ndef test_")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    last = out.stdout.strip().splitlines()
    line = next(ln for ln in last if ln.startswith("SKIPPED all"))
    assert f"SKIPPED all {n} browser tests" in line and "/nonexistent/chromium not found" in line
    assert last.index(line) >= len(last) - 3  # at the very end, above pytest's own count
