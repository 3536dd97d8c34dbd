"""Terminal output that data cannot take over.

Every string that comes from data (article text, ids, titles, publishers, dates,
URLs, file names inside corpora) passes through here before it reaches the
terminal:

* ``clean(s)`` drops terminal control: C0 controls except newline and tab, DEL,
  C1 controls, whole ESC sequences (CSI ``ESC[2J``, OSC ``ESC]0;title BEL``...)
  and the Unicode bidi overrides and isolates that reorder what is shown.
* ``safe(s)`` is ``clean`` plus rich markup escaping, for data placed inside a
  markup string (``console.print(f"[bold]{safe(x)}[/bold]")``).
* ``text(s)`` is a ``rich.text.Text`` (never parsed as markup) of ``clean(s)``.
* ``body(s)`` keeps every character position (each control character becomes
  one visible replacement character), for long texts styled by offsets.

``SafeConsole`` is a ``rich.console.Console`` that also cleans every plain
segment it writes, as a second line of defence for anything printed without
these helpers (rich's own cursor and colour codes are not plain segments).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text

#: ESC sequences: CSI (ESC [ params final), OSC/DCS/PM/APC/SOS (ESC ] ... BEL or ST), and
#: two-character escapes (ESC X). An unterminated OSC runs to the end of the string.
_ESC_SEQ = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # other escapes (charset selection, RIS, ...)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # 8-bit OSC, DCS, PM, APC
)
#: Single characters that steer the terminal or the display order.
_CONTROL_CHARS = (
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 except \t \n, DEL, C1
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides and isolates
    "\u200e\u200f\u061c"  # bidi marks
    "]"
)
_CONTROL = re.compile(_CONTROL_CHARS)
_HOSTILE = re.compile(r"[\x1b\x9b\x90\x9d\x9e\x9f]|" + _CONTROL_CHARS)
#: What ``body`` puts in place of each control character (same length).
REPLACEMENT = "\ufffd"


def clean(value: Any) -> str:
    """``value`` as a string without terminal control or escape sequences (see module doc).

    ``"\\r\\n"`` becomes ``"\\n"``; a lone ``"\\r"`` becomes a space.

    Example:
        >>> clean("ok\\x1b[2J\\x1b]0;pwned\\x07 done")
        'ok done'
    """
    s = "" if value is None else str(value)
    if not _HOSTILE.search(s):
        return s
    s = s.replace("\r\n", "\n").replace("\r", " ")
    return _CONTROL.sub("", _ESC_SEQ.sub("", s))


def safe(value: Any) -> str:
    """``clean(value)`` escaped for rich markup: safe inside ``console.print(f"...")``.

    Example:
        >>> safe("x [/] [link=http://e.vil]y[/link]")
        'x \\\\[/] \\\\[link=http://e.vil]y\\\\[/link]'
    """
    return escape(clean(value))


def text(value: Any, style: str = "") -> Text:
    """A rich ``Text`` (not parsed as markup) of ``clean(value)``."""
    return Text(clean(value), style=style)


def body(value: str, style: str = "") -> Text:
    """A rich ``Text`` of a long text with every character position kept.

    Each control character becomes ``REPLACEMENT`` (a ``"\\r"`` a space), so spans
    given as character offsets into ``value`` still style the right characters.
    """
    s = value.replace("\r", " ") if "\r" in value else value
    if _HOSTILE.search(s):
        s = _CONTROL.sub(REPLACEMENT, s)
    return Text(s, style=style)


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` whose output is safe on a terminal and still the same JSON.

    ``json`` already writes C0 controls as ``\\u00XX``; this also writes C1
    controls and bidi overrides as escapes (``ensure_ascii=False`` would emit them raw).
    """
    return escape_json_controls(json.dumps(obj, **kwargs))


def escape_json_controls(out: str) -> str:
    """JSON text with every control character and bidi override written as a ``\\uXXXX`` escape
    (the same JSON value; only valid inside strings, where JSON puts such characters)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", out)


class SafeConsole(Console):
    """A rich console that strips terminal control from every plain segment it writes."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        cleaned = (
            Segment(clean(seg.text), seg.style, seg.control) if not seg.control else seg
            for seg in buffer
        )
        return super()._render_buffer(cleaned)
