"""Stage 1: files -> validated article records.

Reads JSONL, JSON arrays/objects, CSV/TSV, folders of ``.txt``, HTML (main text
extracted with trafilatura) and WARC (warcio), each optionally gzipped. Every
record becomes either a ``Document`` (with warnings about what was repaired) or
a ``Rejected`` naming the file, line/record and reason; one bad record never
stops the others, and no input -- however broken -- raises anything but
``UserError`` for a path that does not exist.

Robustness rules (tested in ``tests/test_ingest.py`` and fuzzed in
``tests/test_reliability.py``):

* bytes that are not UTF-8 are decoded run by run as Windows-1252 (Latin-1 for
  its five undefined bytes), so a file mixing encodings keeps its UTF-8 parts
  intact; UTF-8/UTF-16 byte-order marks are honoured; the record gets a warning;
* control characters (NUL included) are removed from text and metadata, unpaired
  surrogates (broken ``\\ud83d`` escapes) become U+FFFD -- one character for one,
  so offsets are kept; both with a warning;
* empty or whitespace-only text, text over ``MAX_TEXT_CHARS``, ids over 512
  characters and ids that are not valid Unicode are rejected;
* dates that cannot be parsed, or fall outside 1800-2200, are dropped with a
  warning (the record is kept, undated); time zones are converted to UTC;
* URLs whose scheme is not http/https/ftp (``javascript:``, ``data:``) are dropped
  with a warning;
* a second record with an id already seen in the same call but different content
  is rejected, naming where the first one was (same content: passed on, and
  counted as a duplicate by the index);
* binary files, files that are not gzip although named ``.gz``, truncated gzip
  streams, non-WARC and truncated WARC files, unreadable files, FIFOs and broken
  links are each one rejection (records read before a truncation are kept).

Field names: ``id, url, publisher, published_at, title, text``; common aliases
are recognised (``date``, ``pubdate``, ``outlet``, ``source``, ``body``...) and
``field_map`` maps any other (``{"published_at": "pubdate"}``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import json
import math
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from newstrace.errors import UserError
from newstrace.model import Document

#: Documents longer than this (characters) are rejected: almost surely not an article.
MAX_TEXT_CHARS = 5_000_000
#: HTML pages (and WARC response bodies) larger than this are rejected unread.
MAX_HTML_BYTES = 20_000_000
#: Ids longer than this are rejected.
MAX_ID_CHARS = 512
#: JSON Lines lines longer than this (bytes) are rejected unparsed.
MAX_LINE_BYTES = 64 << 20
#: After this many malformed CSV records in one file, the rest of the file is rejected.
MAX_CSV_ERRORS = 1000

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "doc_id", "docid", "article_id", "uuid", "guid", "newid"),
    "url": ("url", "link", "href", "uri"),
    "publisher": ("publisher", "outlet", "source", "site", "domain", "agency", "publication"),
    "published_at": (
        "published_at", "date", "pubdate", "published", "publish_date", "datetime",
        "timestamp", "time", "created_at",
    ),
    "title": ("title", "headline", "heading"),
    "text": ("text", "body", "content", "article", "fulltext", "full_text"),
}

TEXT_SUFFIXES = {".txt", ".text", ".txt.gz"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".html.gz", ".htm.gz"}
WARC_SUFFIXES = {".warc", ".warc.gz", ".arc", ".arc.gz"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json", ".json.gz"}
CSV_SUFFIXES = {".csv", ".tsv", ".csv.gz", ".tsv.gz"}
_MULTI_SUFFIXES = (
    ".warc.gz", ".arc.gz", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz", ".tsv.gz",
    ".txt.gz", ".html.gz", ".htm.gz",
)
_URL_SCHEMES = ("http", "https", "ftp")


@dataclass(frozen=True)
class Rejected:
    """A record that could not be stored: where it was and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


Item = tuple[Document, list[str]] | Rejected  # (document, warnings) or a rejection


class FieldMap(dict[str, str]):
    """A ``--field NAME=COLUMN`` map that also carries how to read numeric dates
    (``date_order``: ``"dmy"``, ``"mdy"`` or None), so every reader passes both on."""

    def __init__(self, mapping: Mapping[str, str] | None = None, date_order: str | None = None):
        super().__init__(mapping or {})
        if date_order is not None and date_order not in DATE_ORDERS:
            raise UserError(f"--date-order {date_order!r}: expected dmy or mdy")
        self.date_order = date_order


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for multi in _MULTI_SUFFIXES:
        if name.endswith(multi):
            return multi
    return path.suffix.lower()


# -- dates -------------------------------------------------------------------------------------
def parse_date(value: Any, date_order: str | None = None) -> datetime | None:
    """Parse an ISO 8601 / RFC 2822 / epoch date to a naive UTC datetime.

    ``date_order`` (``"dmy"`` or ``"mdy"``) says how to read numeric dates such as
    ``03/05/2024``; without it such a date is read day first (see ``date_ambiguity``).

    Raises:
        ValueError: the value is present but not a date (or outside 1800-2200).

    >>> parse_date("2026-03-02T10:00:00+02:00")
    datetime.datetime(2026, 3, 2, 8, 0)
    >>> parse_date("") is None
    True
    """
    if value is None:
        return None
    try:
        dt = _to_datetime(value, date_order)
        if dt is None:
            return None
        if dt.tzinfo is not None:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError, TypeError, IndexError) as ex:
        raise ValueError(f"not a date: {str(value)[:40]!r}") from ex
    if not 1800 <= dt.year <= 2200:
        raise ValueError(f"date out of range: {str(value)[:40]!r}")
    return dt


def _to_datetime(value: Any, date_order: str | None = None) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        seconds = float(value) / (1000 if abs(value) > 1e11 else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    if not isinstance(value, str):
        raise ValueError(f"expected a string or number, got {type(value).__name__}")  # noqa: TRY004
    s = value.strip()
    if not s:
        return None
    numeric = _NUMERIC_DATE.match(s)
    if numeric:
        return _numeric_date(numeric, date_order)
    try:
        return datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        return _parse_loose(s)


DATE_ORDERS = ("dmy", "mdy")
# day and month as numbers, year last: 03/05/2024, 3.5.2024, 03-05-2024 (optionally a time)
_NUMERIC_DATE = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)


def _numeric_date(m: re.Match[str], date_order: str | None) -> datetime:
    a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if date_order == "mdy" or (date_order is None and a <= 12 < b):
        month, day = a, b
    else:
        day, month = a, b
    hour, minute, second = (int(g) if g else 0 for g in m.group(5, 6, 7))
    return datetime(year, month, day, hour, minute, second)


def date_ambiguity(value: Any, date_order: str | None = None) -> str | None:
    """A warning when ``value`` is a numeric date that reads both ways (``03/05/2024``)
    and no ``date_order`` was given; None otherwise.

    >>> date_ambiguity("03/05/2024")
    "published_at '03/05/2024' is ambiguous: read as day/month (3 May 2024); pass --date-order mdy if it is month/day"
    >>> date_ambiguity("13/05/2024") is None and date_ambiguity("03/05/2024", "dmy") is None
    True
    """
    if date_order is not None or not isinstance(value, str):
        return None
    m = _NUMERIC_DATE.match(value.strip())
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(3))
    if a == b or a > 12 or b > 12:
        return None
    dt = _numeric_date(m, "dmy")
    return (
        f"published_at {value.strip()[:40]!r} is ambiguous: read as day/month "
        f"({dt.day} {dt:%B %Y}); pass --date-order mdy if it is month/day"
    )


def _parse_loose(s: str) -> datetime:
    for fmt in (
        "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S",
        "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d-%b-%Y %H:%M:%S.%f",
        "%Y%m%d",
    ):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date: {s[:40]!r}")


# -- records -----------------------------------------------------------------------------------
def content_hash(fields: Mapping[str, Any]) -> str:
    """Stable hash of a record's content (text plus metadata): re-ingesting it adds nothing."""
    h = hashlib.sha1()
    for key in ("publisher", "url", "title", "published_at", "text"):
        h.update(str(fields.get(key) or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def document_hash(doc: Document) -> str:
    """``content_hash`` of a stored ``Document`` (what the index compares)."""
    return content_hash(
        {
            "publisher": doc.publisher, "url": doc.url, "title": doc.title,
            "published_at": doc.published_at.isoformat() if doc.published_at else "",
            "text": doc.text,
        }
    )


def _pick(record: Mapping[str, Any], name: str, field_map: Mapping[str, str]) -> Any:
    if name in field_map:
        return record.get(field_map[name])
    lowered = {str(k).lower(): v for k, v in record.items()}
    for alias in ALIASES[name]:
        if alias in lowered and lowered[alias] not in (None, ""):
            return lowered[alias]
    return None


def _has(record: Mapping[str, Any], name: str, field_map: Mapping[str, str]) -> bool:
    if name in field_map:
        return field_map[name] in record
    return any(str(k).lower() in ALIASES[name] for k in record)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ESCAPED_BYTES = re.compile(r"[\udc80-\udcff]+")


def _clean(value: str, what: str, warnings: list[str]) -> str:
    """Remove control characters and replace unpaired surrogates (one char for one)."""
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
        warnings.append(f"control characters removed from {what}")
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
        warnings.append(f"invalid Unicode (unpaired surrogates) in {what} replaced by U+FFFD")
    return value


def _metadata(value: Any, name: str, warnings: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        warnings.append(f"{name} ignored (expected a string, got {type(value).__name__})")
        return None
    if not isinstance(value, str):
        value = str(value)
    value = _clean(value, name, warnings).strip()
    if len(value) > 10_000:
        warnings.append(f"{name} truncated to 10,000 characters")
        value = value[:10_000]
    return value or None


def _safe_url(url: str | None, warnings: list[str]) -> str | None:
    if url is None:
        return None
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme and not scheme.isascii():
        scheme = "?"
    if scheme and scheme not in _URL_SCHEMES and "/" not in scheme and "." not in scheme:
        warnings.append(f"url ignored (scheme {scheme[:20]!r} not allowed)")
        return None
    return url


def make_document(
    record: Mapping[str, Any], where: str, field_map: Mapping[str, str] | None = None
) -> Item:
    """Validate one raw record into a ``Document`` (with warnings) or a ``Rejected``.

    Never raises for any record content.
    """
    field_map = {} if field_map is None else field_map
    if not isinstance(record, Mapping):
        return Rejected(where, f"expected a JSON object, got {type(record).__name__}")
    warnings: list[str] = []
    try:
        text = _pick(record, "text", field_map)
    except Exception as ex:  # a Mapping whose keys/values misbehave  # noqa: BLE001
        return Rejected(where, f"unreadable record ({type(ex).__name__})")
    if text is None:
        return Rejected(where, "empty text" if _has(record, "text", field_map) else 'missing field "text"')
    if not isinstance(text, str):
        return Rejected(where, f'field "text" must be a string, got {type(text).__name__}')
    if len(text) > MAX_TEXT_CHARS:
        return Rejected(where, f"text too long ({len(text):,} characters; limit {MAX_TEXT_CHARS:,})")
    text = _clean(text, "text", warnings)
    if not text.strip():
        return Rejected(where, "empty text")
    meta: dict[str, Any] = {
        name: _metadata(_pick(record, name, field_map), name, warnings)
        for name in ("url", "publisher", "title")
    }
    meta["url"] = _safe_url(meta["url"], warnings)
    raw_date = _pick(record, "published_at", field_map)
    date_order = getattr(field_map, "date_order", None)
    try:
        published = parse_date(raw_date, date_order)
    except ValueError as ex:
        published = None
        warnings.append(f"published_at ignored ({ex})")
    else:
        ambiguous = date_ambiguity(raw_date, date_order)
        if ambiguous:
            warnings.append(ambiguous)
    raw_id = _pick(record, "id", field_map)
    if isinstance(raw_id, (dict, list)):
        return Rejected(where, f'field "id" must be a string or number, got {type(raw_id).__name__}')
    doc_id = _CONTROL.sub("", str(raw_id)).strip() if raw_id is not None else ""
    if len(doc_id) > MAX_ID_CHARS:
        return Rejected(where, f"id longer than {MAX_ID_CHARS} characters")
    if _SURROGATE.search(doc_id):
        return Rejected(where, "id is not valid Unicode (unpaired surrogate)")
    if not doc_id:
        digest = content_hash(
            {**meta, "published_at": published.isoformat() if published else "", "text": text}
        )
        doc_id = "sha1:" + digest[:16]
    doc = Document(id=doc_id, text=text, published_at=published, **meta)
    return (doc, warnings)


# -- bytes -> text -----------------------------------------------------------------------------
def decode_bytes(data: bytes) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8; invalid runs are decoded as Windows-1252 (mixed files keep
    their UTF-8 parts). Honours UTF-8 and UTF-16 byte-order marks.

    >>> decode_bytes("café ".encode() + "café".encode("cp1252"))
    ('café café', ['not valid UTF-8 (first bad byte at 10); those bytes decoded as Windows-1252'])
    """
    if _is_utf16(data):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as ex:
            text = data.decode("utf-16", "replace")
            return text, [f"invalid UTF-16 (byte {ex.start}); bad bytes replaced by U+FFFD"]
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as ex:
        first = ex.start
    text = data.decode("utf-8", "surrogateescape")
    return _ESCAPED_BYTES.sub(_repair_run, text), [
        f"not valid UTF-8 (first bad byte at {first}); those bytes decoded as Windows-1252"
    ]


def _is_utf16(data: bytes) -> bool:
    """A UTF-16 byte-order mark followed by what decodes as UTF-16 text."""
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    sample = data[2:4098]
    if len(sample) < 2 or sample.count(b"\x00") * 16 < len(sample):
        return False  # UTF-16 text has ASCII spaces, newlines, quotes: NUL half-bytes
    try:
        sample[: len(sample) // 2 * 2].decode("utf-16-le" if data[0] == 0xFF else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return True


def _repair_run(m: re.Match[str]) -> str:
    raw = m.group(0).encode("utf-8", "surrogateescape")
    return "".join(
        bytes([b]).decode("cp1252", "strict") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        else bytes([b]).decode("latin-1")
        for b in raw
    )


# kept for callers of the old name
def _decode(data: bytes, where: str) -> tuple[str, list[str]]:
    return decode_bytes(data)


#: Magic numbers that contain bytes no text file starts with.
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF-1.", b"\x89PNG\r\n", b"\xff\xd8\xff", b"GIF89a\x00", b"\x7fELF",
                 b"BZh91AY&SY", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"\x28\xb5\x2f\xfd")


def _looks_binary(head: bytes) -> bool:
    """Binary data, judged from the first few KiB: magic numbers, NULs, control bytes, or
    mostly bytes that are not UTF-8."""
    if not head:
        return False
    if _is_utf16(head):
        return False
    if head.startswith(_BINARY_MAGIC) or head.startswith(b"\x1f\x8b"):
        return True
    n = len(head)
    if head.count(b"\x00") > max(4, n // 100):
        return True
    controls = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13, 27))
    if controls > max(8, n // 20):
        return True
    escaped = sum(len(m) for m in _ESCAPED_BYTES.findall(head.decode("utf-8", "surrogateescape")))
    return escaped > n * 3 // 10


def _has_json_line(head: bytes) -> bool:
    """Whether some line of ``head`` is a JSON object (then the file is JSON Lines with
    junk lines, not a binary file)."""
    for line in head.split(b"\n"):
        if line.strip().startswith(b"{"):
            try:
                if isinstance(json.loads(line.decode("utf-8", "replace"), strict=False), dict):
                    return True
            except (ValueError, RecursionError):
                continue
    return False


class _Unreadable(Exception):
    """A whole file cannot be read; the message is the reason."""


_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def _open_stream(path: Path) -> IO[bytes]:
    """Open ``path`` for binary reading, transparently un-gzipping gzip data.

    Raises:
        _Unreadable: a ``.gz`` name on data that is not gzip.
    """
    fh = io.BufferedReader(io.FileIO(path, "rb"), buffer_size=1 << 16)  # closed by the caller
    head = fh.peek(2)[:2]
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if path.name.lower().endswith(".gz"):
        fh.close()
        raise _Unreadable("not a valid gzip file (no gzip header)")
    return fh


def _chunks(fh: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """Read ``fh`` in chunks; a truncated/corrupt gzip stream ends with ``_Truncated``
    after every byte that could be decompressed has been delivered."""
    while True:
        try:
            chunk = fh.read1(size)  # type: ignore[attr-defined]
        except _GZIP_ERRORS as ex:
            raise _Truncated(str(ex)) from None
        if not chunk:
            return
        yield chunk


class _Truncated(Exception):
    """The (gzip) stream broke off; what came before was delivered."""


def _read_all(path: Path, limit: int | None = None) -> tuple[bytes, str | None]:
    """The (un-gzipped) content of ``path`` and, if it broke off, why.

    Raises:
        _Unreadable: not gzip though named so, or over ``limit`` bytes.
    """
    parts: list[bytes] = []
    total = 0
    problem = None
    with _open_stream(path) as fh:
        try:
            for chunk in _chunks(fh):
                parts.append(chunk)
                total += len(chunk)
                if limit is not None and total > limit:
                    raise _Unreadable(f"file too large (over {limit:,} bytes)")
        except _Truncated as ex:
            problem = f"truncated or corrupt gzip data ({ex})"
    return b"".join(parts), problem


def _lines(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes | None]:
    """Split a byte stream into lines (without the newline). A line over
    ``MAX_LINE_BYTES`` is dropped and ``None`` yielded in its place; a partial last line
    of a truncated stream is not yielded (``_Truncated`` propagates)."""
    pending: list[bytes] = []
    size = 0
    for chunk in itertools.chain([first], rest):
        if b"\n" not in chunk:
            if size <= MAX_LINE_BYTES:
                pending.append(chunk)
            size += len(chunk)
            continue
        pieces = chunk.split(b"\n")
        size += len(pieces[0])
        if size > MAX_LINE_BYTES:
            yield None
        else:
            pending.append(pieces[0])
            yield b"".join(pending)
        for piece in pieces[1:-1]:
            yield piece if len(piece) <= MAX_LINE_BYTES else None
        pending = [pieces[-1]]
        size = len(pieces[-1])
    if size > MAX_LINE_BYTES:
        yield None
    else:
        tail = b"".join(pending)
        if tail:
            yield tail


# -- readers: each yields (where, item) --------------------------------------------------------
Located = tuple[str, Item]


def _read_jsonl(path: Path, field_map: Mapping[str, str]) -> Iterator[Located]:
    where0 = str(path)
    with _open_stream(path) as fh:
        chunks = _chunks(fh)
        head = b""
        try:
            while len(head) < 8192:
                chunk = next(chunks, b"")
                if not chunk:
                    break
                head += chunk
        except _Truncated as ex:
            chunks = _raise(ex)
        if _looks_binary(head[:8192]) and not _has_json_line(head[:8192]):
            yield where0, Rejected(where0, "binary file, not JSON Lines")
            return
        if not head.strip():
            yield where0, Rejected(where0, "empty file: no records")
            return
        first = head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
        if (
            first == b"["
            or _is_utf16(head)
            or (first == b"{" and _suffix(path) in (".json", ".json.gz"))
        ):
            parts = [head]
            try:
                parts.extend(chunks)
            except _Truncated as ex:
                yield where0, Rejected(where0, f"truncated or corrupt gzip data ({ex}); file not read")
                return
            yield from _read_json_document(path, b"".join(parts), field_map)
            return
        lineno = 0
        try:
            for lineno, raw in enumerate(_lines(head, chunks), 1):
                if raw is None:
                    where = f"{path} line {lineno}"
                    yield where, Rejected(where, f"line too long (over {MAX_LINE_BYTES:,} bytes)")
                elif raw.strip():
                    yield _jsonl_line(f"{path} line {lineno}", raw, field_map)
        except _Truncated as ex:
            where = f"{path} line {lineno + 1}"
            yield where, Rejected(where, f"truncated or corrupt gzip data after line {lineno} ({ex})")


def _raise(ex: BaseException) -> Iterator[bytes]:
    raise ex
    yield b""  # pragma: no cover


def _jsonl_line(where: str, raw: bytes, field_map: Mapping[str, str]) -> Located:
    line, warns = decode_bytes(raw)
    try:
        rec = json.loads(line, strict=False)
    except json.JSONDecodeError as ex:
        return where, Rejected(where, f"malformed JSON ({ex.msg} at column {ex.colno})")
    except RecursionError:
        return where, Rejected(where, "malformed JSON (nested too deeply)")
    except ValueError as ex:  # e.g. integers with too many digits
        return where, Rejected(where, f"malformed JSON ({str(ex)[:80]})")
    return where, _with_warnings(make_document(rec, where, field_map), warns)


def _read_json_document(path: Path, data: bytes, field_map: Mapping[str, str]) -> Iterator[Located]:
    """A file holding one JSON array of records or one JSON object (else: JSON Lines)."""
    text, warns = decode_bytes(data)
    where0 = str(path)
    problem: str
    try:
        doc = json.loads(text, strict=False)
    except json.JSONDecodeError as ex:
        problem = f"malformed JSON ({ex.msg} at line {ex.lineno} column {ex.colno})"
    except RecursionError:
        problem = "malformed JSON (nested too deeply)"
    except ValueError as ex:
        problem = f"malformed JSON ({str(ex)[:80]})"
    else:
        problem = ""
    if problem:
        # not one JSON document: JSON Lines after all (maybe with a junk first line)?
        located = [
            _jsonl_line(f"{path} line {lineno}", raw, field_map)
            for lineno, raw in enumerate(text.encode("utf-8", "surrogatepass").split(b"\n"), 1)
            if raw.strip()
        ]
        if any(not isinstance(item, Rejected) for _, item in located):
            yield from located
        else:
            yield where0, Rejected(where0, problem + "; file not read")
        return
    if isinstance(doc, dict):
        yield where0, _with_warnings(make_document(doc, where0, field_map), warns)
        return
    if not isinstance(doc, list):
        yield where0, Rejected(where0, f"expected a JSON array of objects, got {type(doc).__name__}")
        return
    if not doc:
        yield where0, Rejected(where0, "empty JSON array: no records")
    for n, rec in enumerate(doc, 1):
        where = f"{path} record {n}"
        yield where, _with_warnings(make_document(rec, where, field_map), warns)


def _with_warnings(item: Item, extra: list[str]) -> Item:
    if isinstance(item, Rejected) or not extra:
        return item
    return (item[0], extra + item[1])


def _read_csv(path: Path, field_map: Mapping[str, str]) -> Iterator[Located]:
    where0 = str(path)
    data, truncated = _read_all(path)
    if truncated:
        data = data[: data.rfind(b"\n") + 1]
    first_line = data[:8192].split(b"\n", 1)[0]
    text_header = b"\x00" not in first_line and any(d in first_line for d in (b",", b"\t", b";", b"|"))
    if _looks_binary(data[:8192]) and not text_header:
        yield where0, Rejected(where0, "binary file, not CSV")
        return
    yield from _csv_records(path, data, field_map)
    if truncated:
        yield where0, Rejected(where0, truncated + "; records after the break lost")


def _csv_records(path: Path, data: bytes, field_map: Mapping[str, str]) -> Iterator[Located]:
    where0 = str(path)
    if _is_utf16(data):
        text, _ = decode_bytes(data)
    else:
        # keep undecodable bytes as escapes; each record is repaired (and warned) on its own
        text = (data[3:] if data.startswith(codecs.BOM_UTF8) else data).decode("utf-8", "surrogateescape")
    delimiter = "\t" if _suffix(path) in (".tsv", ".tsv.gz") else sniff_delimiter(text)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    lines = io.StringIO(text, newline="").readlines()
    header: list[str] | None = None
    pos = 0  # index of the first line the current reader starts at
    errors = 0
    while pos < len(lines):
        reader = csv.reader(itertools.islice(lines, pos, None), delimiter=delimiter, strict=True)
        start = 0
        try:
            while True:
                start = reader.line_num  # lines consumed before this record
                try:
                    row = next(reader)
                except StopIteration:
                    pos = len(lines)
                    break
                lineno = pos + start + 1
                where = f"{path} line {lineno}"
                if header is None:
                    header, _w = _repair_row(row)
                    header = [h.strip() for h in header]
                    if not any(header):
                        yield where, Rejected(where, "empty CSV header")
                        return
                    continue
                if not row or not any(v.strip() for v in row):
                    continue
                if len(row) > len(header):
                    yield where, Rejected(where, f"more values ({len(row)}) than header columns ({len(header)})")
                    continue
                values, warns = _repair_row(row)
                rec = dict(zip(header, values, strict=False))
                yield where, _with_warnings(make_document(rec, where, field_map), warns)
        except csv.Error as ex:
            bad = pos + start + 1
            where = f"{path} line {bad}"
            yield where, Rejected(where, f"malformed CSV ({ex}); record skipped")
            errors += 1
            if errors >= MAX_CSV_ERRORS:
                rest = f"{path} line {bad + 1}"
                yield rest, Rejected(rest, f"too many malformed CSV records ({errors}); rest of file not read")
                return
            pos = bad  # restart on the line after the one the bad record began on
    if header is None:
        yield where0, Rejected(where0, "empty file: no records")


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV file, from its header line (``csv.Sniffer``): comma,
    semicolon, tab or bar; a comma when the header has none of them (one column).

    >>> sniff_delimiter("id;title;text\\n1;a;b\\n"), sniff_delimiter("text\\nabc\\n")
    (';', ',')
    """
    header = text[:65536].split("\n", 1)[0].rstrip("\r")
    if not header.strip():
        return ","
    try:
        return csv.Sniffer().sniff(header + "\n", delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _repair_row(row: list[str]) -> tuple[list[str], list[str]]:
    if not any(_ESCAPED_BYTES.search(v) for v in row):
        return row, []
    fixed = [_ESCAPED_BYTES.sub(_repair_run, v) for v in row]
    return fixed, ["not valid UTF-8; those bytes decoded as Windows-1252"]


def html_to_record(html: str, url: str | None = None) -> dict[str, Any]:
    """Extract the main text and metadata of an HTML page with trafilatura."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=False, with_metadata=True
    )
    if doc is None:
        return {"url": url}
    get = doc.get if isinstance(doc, dict) else lambda k: getattr(doc, k, None)
    return {
        "text": get("text"),
        "title": get("title"),
        "published_at": get("date"),
        "publisher": get("sitename") or get("hostname"),
        "url": url or get("url"),
    }


def _html_item(html_bytes: bytes, where: str, url: str | None, extra: Mapping[str, Any]) -> Item:
    if len(html_bytes) > MAX_HTML_BYTES:
        return Rejected(where, f"HTML page too large ({len(html_bytes):,} bytes; limit {MAX_HTML_BYTES:,})")
    if _looks_binary(html_bytes[:8192]):
        return Rejected(where, "binary content, not HTML")
    html, warns = decode_bytes(html_bytes)
    try:
        rec = html_to_record(_SURROGATE.sub("\ufffd", _CONTROL.sub("", html)), url)
    except Exception as ex:  # trafilatura/lxml on hostile markup: one rejection, not a crash  # noqa: BLE001
        return Rejected(where, f"cannot extract text from HTML ({type(ex).__name__})")
    if not rec.get("text"):
        return Rejected(where, "no article text found in HTML")
    for key, value in extra.items():
        if value is not None and (key == "id" or not rec.get(key)):
            rec[key] = value
    return _with_warnings(make_document(rec, where), warns)


def _read_html(path: Path, root: Path | None) -> Iterator[Located]:
    where = str(path)
    data, truncated = _read_all(path, MAX_HTML_BYTES)
    if truncated:
        yield where, Rejected(where, truncated)
        return
    yield where, _html_item(data, where, None, {"id": _relative_id(path, root)})


def _relative_id(path: Path, root: Path | None) -> str:
    rel = path.relative_to(root) if root else Path(path.name)
    name = rel.name
    for multi in _MULTI_SUFFIXES:
        if name.lower().endswith(multi):
            return str(rel.with_name(name[: -len(multi)]))
    return str(rel.with_suffix(""))


def _read_txt(path: Path, root: Path | None) -> Iterator[Located]:
    where = str(path)
    data, truncated = _read_all(path)
    if truncated:
        yield where, Rejected(where, truncated)
        return
    if _looks_binary(data[:8192]):
        yield where, Rejected(where, "binary file, not text")
        return
    text, warns = decode_bytes(data)
    rec = {"id": _relative_id(path, root), "text": text}
    yield where, _with_warnings(make_document(rec, where), warns)


def _read_warc(path: Path) -> Iterator[Located]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    where0 = str(path)
    n = 0
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if path.name.lower().endswith(".gz") and head[:2] != b"\x1f\x8b":
            yield where0, Rejected(where0, "not a valid gzip file (no gzip header)")
            return
        if head[:2] != b"\x1f\x8b" and not head.startswith((b"WARC", b"file")):
            yield where0, Rejected(where0, "not a WARC file (no WARC header)")
            return
        truncated_at = 0
        if head[:2] == b"\x1f\x8b" and not _gzip_complete(fh):
            truncated_at = -1
        try:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                try:
                    headers = record.http_headers
                    ctype = (headers.get_header("Content-Type") if headers else "") or ""
                    if "html" not in ctype.lower():
                        continue
                    n += 1
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    where = f"{path} record {n} ({str(url)[:200]})"
                    body = record.content_stream().read(MAX_HTML_BYTES + 1)
                    if len(body) <= MAX_HTML_BYTES and getattr(record.raw_stream, "limit", 0) > 0:
                        truncated_at = n
                        break
                    item = _html_item(
                        body, where, url, {"published_at": record.rec_headers.get_header("WARC-Date")}
                    )
                except (ArchiveLoadFailed, EOFError, zlib.error, gzip.BadGzipFile):
                    raise
                except Exception as ex:  # one bad record (bad chunking, encoding...) only  # noqa: BLE001
                    where = f"{path} record {n}"
                    item = Rejected(where, f"unreadable WARC record ({type(ex).__name__}: {str(ex)[:80]})")
                yield where, item
            if truncated_at:
                count = n - 1 if truncated_at > 0 else n
                yield where0, Rejected(
                    where0, f"truncated WARC: {count} record(s) read, the rest of the file is cut off"
                )
        except ArchiveLoadFailed as ex:
            msg = str(ex).splitlines()[0][:120] if str(ex) else type(ex).__name__
            if n:
                yield where0, Rejected(where0, f"truncated or corrupt WARC after {n} record(s) ({msg})")
            else:
                yield where0, Rejected(where0, f"not a valid WARC file ({msg})")
        except (OSError, EOFError, ValueError, zlib.error) as ex:
            yield where0, Rejected(where0, f"truncated or corrupt WARC after {n} record(s) ({str(ex)[:120]})")
        except Exception as ex:  # warcio parser errors on garbage  # noqa: BLE001
            yield where0, Rejected(
                where0, f"corrupt WARC after {n} record(s) ({type(ex).__name__}: {str(ex)[:80]})"
            )


def _gzip_complete(fh: IO[bytes]) -> bool:
    """Whether the gzip stream in ``fh`` (all members) decompresses to its end; rewinds."""
    try:
        with gzip.GzipFile(fileobj=fh, mode="rb") as gz:
            while gz.read1(1 << 20):
                pass
        return True
    except _GZIP_ERRORS:
        return False
    finally:
        fh.seek(0)


# -- files and folders -------------------------------------------------------------------------
def _files(
    paths: Iterable[str | Path], follow_symlinks: bool = False
) -> Iterator[tuple[Path, Path | None, str | None]]:
    """``(file, root folder or None, problem or None)`` for every file under ``paths``.

    Inside a folder, a symbolic link whose target lies outside that folder is not
    read unless ``follow_symlinks`` (a folder of articles should not pull in
    ``/etc/passwd``); paths given directly are always read.
    """
    for name in paths:
        path = Path(name)
        if path.is_dir():
            root = path.resolve()
            for dirpath, dirnames, filenames in os.walk(path, followlinks=False, onerror=None):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    child = Path(dirpath) / name
                    if (not follow_symlinks and child.is_symlink() and child.exists()
                            and not _inside(child, root)):
                        yield child, path, ("symbolic link to a file outside the folder not followed "
                                            "(use --follow-symlinks to read it)")
                        continue
                    yield child, path, _file_problem(child)
                for d in dirnames:
                    sub = Path(dirpath) / d
                    if sub.is_symlink():
                        yield sub, path, "symbolic link to a folder not followed"
        else:
            yield path, None, _file_problem(path)


def _inside(link: Path, root: Path) -> bool:
    """Whether the (fully resolved) target of ``link`` lies inside ``root``."""
    try:
        target = link.resolve(strict=False)
    except (OSError, RuntimeError):  # a loop of links
        return False
    return target == root or root in target.parents


def _file_problem(path: Path) -> str | None:
    if not path.exists():
        return "broken symbolic link" if path.is_symlink() else "no such file"
    if not path.is_file():
        return "not a regular file (device, FIFO or socket)"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def read_documents(
    paths: Iterable[str | Path], field_map: Mapping[str, str] | None = None,
    date_order: str | None = None,
) -> Iterator[Item]:
    """Yield ``(Document, warnings)`` or ``Rejected`` for every record in ``paths``.

    Folders are read recursively (hidden files and folders skipped, links to
    folders not followed); the format is chosen by file suffix. A later record
    with an id seen earlier in this call but different content is rejected.

    Raises:
        UserError: a path does not exist (checked before anything is read).
    """
    fields = FieldMap(field_map, date_order or getattr(field_map, "date_order", None))
    files = [Path(p) for p in paths]
    for path in files:
        if not path.exists() and not path.is_symlink():
            raise UserError(f"{path}: no such file or directory")
    yield from _dedupe(_read_files(files, fields))


def _read_files(
    paths: list[Path], field_map: Mapping[str, str], follow_symlinks: bool = False
) -> Iterator[Located]:
    for path, root, problem in _files(paths, follow_symlinks):
        where = str(path)
        if problem is not None:
            yield where, Rejected(where, problem)
            continue
        suffix = _suffix(path)
        try:
            if suffix in JSONL_SUFFIXES:
                yield from _read_jsonl(path, field_map)
            elif suffix in CSV_SUFFIXES:
                yield from _read_csv(path, field_map)
            elif suffix in HTML_SUFFIXES:
                yield from _read_html(path, root)
            elif suffix in WARC_SUFFIXES:
                yield from _read_warc(path)
            elif suffix in TEXT_SUFFIXES:
                yield from _read_txt(path, root)
            else:
                yield where, Rejected(where, f"unsupported file type {suffix or '(no suffix)'}")
        except _Unreadable as ex:
            yield where, Rejected(where, str(ex))
        except PermissionError:
            yield where, Rejected(where, "permission denied")
        except (EOFError, zlib.error) as ex:
            yield where, Rejected(where, f"truncated or corrupt gzip data ({ex})")
        except OSError as ex:
            yield where, Rejected(where, f"cannot read ({ex.strerror or ex})")
        except MemoryError:
            yield where, Rejected(where, "file too large to read into memory")


def read_located(
    paths: Iterable[str | Path], field_map: Mapping[str, str] | None = None,
    date_order: str | None = None,
    follow_symlinks: bool = False,
) -> Iterator[Located]:
    """Like ``read_documents``, but each item comes with where it was (``"FILE line N"``),
    so a later stage (e.g. a duplicate of an already stored id) can name file and line too.

    Raises:
        UserError: a path does not exist (checked before anything is read).
    """
    fields = FieldMap(field_map, date_order or getattr(field_map, "date_order", None))
    files = [Path(p) for p in paths]
    for path in files:
        if not path.exists() and not path.is_symlink():
            raise UserError(f"{path}: no such file or directory")
    yield from _dedupe_located(_read_files(files, fields, follow_symlinks))


def _dedupe(items: Iterable[Located]) -> Iterator[Item]:
    for _where, item in _dedupe_located(items):
        yield item


def _dedupe_located(items: Iterable[Located]) -> Iterator[Located]:
    """Reject a record whose id was seen before (in this call) with different content."""
    seen: dict[str, tuple[bytes, str]] = {}
    for where, item in items:
        if isinstance(item, Rejected):
            yield where, item
            continue
        doc = item[0]
        digest = bytes.fromhex(document_hash(doc))[:12]
        prev = seen.get(doc.id)
        if prev is None:
            seen[doc.id] = (digest, where)
        elif prev[0] != digest:
            reason = f"duplicate id {doc.id[:80]!r} with different content (first at {prev[1]})"
            yield where, Rejected(where, reason)
            continue
        yield where, item


def coerce_documents(docs: Iterable[Document | Mapping[str, Any]]) -> Iterator[Item]:
    """Validate in-memory records (dicts or ``Document``) as ingest does."""

    def located() -> Iterator[Located]:
        for n, d in enumerate(docs, 1):
            where = f"record {n}"
            if isinstance(d, Document):
                d = d.to_dict()
            yield where, make_document(d, where)

    yield from _dedupe(located())
