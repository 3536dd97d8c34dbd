"""The README's `make demo` sample output is what the demo prints (numbers included)."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

from newstrace.demo import run_demo

README = Path(__file__).resolve().parents[1] / "README.md"
_SKIP = ("compiling the aligner", "HTML report:", "most reused passages", "...")


def _sample() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("`make demo` prints")
    block = text[text.index("```\n", start) + 4 :]
    return block[: block.index("```")].splitlines()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("│")[1:5]]


def test_readme_demo_sample_matches_a_real_run(tmp_path: Path) -> None:
    console = Console(record=True, width=100, color_system=None)
    stats = run_demo(tmp_path / "demo.duckdb", tmp_path / "report", console=console)
    printed = console.export_text().splitlines()
    flat = " ".join(" ".join(printed).split())  # wrapping does not matter
    rows = [_cells(ln) for ln in printed if ln.startswith("│ ") and ln[2] != " "]
    sample = _sample()
    checked = 0
    for line in sample:
        if not line.strip() or line.startswith(_SKIP) or line[0] in "┏┃┡└":
            continue
        if line.startswith("│"):
            assert _cells(line) in rows, line
        else:
            assert " ".join(line.split()) in flat, line
        checked += 1
    assert checked >= 7
    summary = next(ln for ln in sample if "reused passages" in ln)
    numbers = [int(x) for x in re.findall(r"\d+", summary)]
    assert numbers == [stats["documents"], stats["passages"], stats["clusters"], stats["families"]]
