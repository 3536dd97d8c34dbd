"""Stage 1: files -> validated article records.

Reads JSONL, JSON arrays, CSV, folders of ``.txt``, HTML (main text extracted
with trafilatura) and WARC (warcio). Every record becomes either a ``Document``
or a rejection naming the file, line/record and reason; one bad record never
stops the others.

Field names: ``id, url, publisher, published_at, title, text``; common aliases
are recognised (``date``, ``pubdate``, ``outlet``, ``source``, ``body``...) and
``field_map`` maps any other (``{"published_at": "pubdate"}``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from newstrace.errors import UserError
from newstrace.model import Document

#: Documents longer than this (characters) are rejected: almost surely not an article.
MAX_TEXT_CHARS = 5_000_000

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

TEXT_SUFFIXES = {".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
WARC_SUFFIXES = {".warc", ".warc.gz", ".arc", ".arc.gz"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json", ".json.gz"}
CSV_SUFFIXES = {".csv", ".tsv", ".csv.gz", ".tsv.gz"}


@dataclass(frozen=True)
class Rejected:
    """A record that could not be stored: where it was and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


Item = tuple[Document, list[str]] | Rejected  # (document, warnings) or a rejection


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for multi in (".warc.gz", ".arc.gz", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz", ".tsv.gz"):
        if name.endswith(multi):
            return multi
    return path.suffix.lower()


def parse_date(value: Any) -> datetime | None:
    """Parse an ISO 8601 / RFC 2822 / epoch date to a naive UTC datetime.

    Raises:
        ValueError: the value is present but not a date.

    >>> parse_date("2026-03-02T10:00:00+02:00")
    datetime.datetime(2026, 3, 2, 8, 0)
    >>> parse_date("") is None
    True
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        dt = datetime.fromtimestamp(float(value) / (1000 if value > 1e11 else 1), tz=timezone.utc)
    else:
        s = str(value).strip()
        if not s:
            return None
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
        except ValueError:
            try:
                dt = parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError):
                dt = _parse_loose(s)
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    if not 1800 <= dt.year <= 2200:
        raise ValueError(f"date out of range: {value!r}")
    return dt


def _parse_loose(s: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y", "%d %B %Y", "%B %d, %Y", "%d-%b-%Y %H:%M:%S.%f"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date: {s[:40]!r}")


def content_hash(fields: Mapping[str, Any]) -> str:
    """Stable hash of a record's content (text plus metadata): re-ingesting it adds nothing."""
    h = hashlib.sha1()
    for key in ("publisher", "url", "title", "published_at", "text"):
        h.update(str(fields.get(key) or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def _pick(record: Mapping[str, Any], name: str, field_map: Mapping[str, str]) -> Any:
    if name in field_map:
        return record.get(field_map[name])
    lowered = {str(k).lower(): v for k, v in record.items()}
    for alias in ALIASES[name]:
        if alias in lowered and lowered[alias] not in (None, ""):
            return lowered[alias]
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def make_document(
    record: Mapping[str, Any], where: str, field_map: Mapping[str, str] | None = None
) -> Item:
    """Validate one raw record into a ``Document`` (with warnings) or a ``Rejected``."""
    field_map = field_map or {}
    if not isinstance(record, Mapping):
        return Rejected(where, f"expected a JSON object, got {type(record).__name__}")
    warnings: list[str] = []
    text = _pick(record, "text", field_map)
    if text is None:
        return Rejected(where, 'missing field "text"')
    if not isinstance(text, str):
        return Rejected(where, f'field "text" must be a string, got {type(text).__name__}')
    if "\x00" in text or _CONTROL.search(text):
        text = _CONTROL.sub("", text)
        warnings.append("control characters removed from text")
    if not text.strip():
        return Rejected(where, "empty text")
    if len(text) > MAX_TEXT_CHARS:
        return Rejected(where, f"text too long ({len(text):,} characters; limit {MAX_TEXT_CHARS:,})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Rejected(where, "text contains unpaired surrogates (invalid Unicode)")
    meta: dict[str, Any] = {}
    for name in ("url", "publisher", "title"):
        value = _pick(record, name, field_map)
        if value is not None and not isinstance(value, str):
            value = str(value)
        meta[name] = _CONTROL.sub("", value).strip() or None if value else None
    raw_date = _pick(record, "published_at", field_map)
    try:
        published = parse_date(raw_date)
    except (ValueError, OverflowError, OSError) as ex:
        published = None
        warnings.append(f"published_at ignored ({ex})")
    digest = content_hash({**meta, "published_at": published.isoformat() if published else "", "text": text})
    raw_id = _pick(record, "id", field_map)
    doc_id = _CONTROL.sub("", str(raw_id)).strip() if raw_id is not None else ""
    if len(doc_id) > 512:
        return Rejected(where, "id longer than 512 characters")
    if not doc_id:
        doc_id = "sha1:" + digest[:16]
    doc = Document(id=doc_id, text=text, published_at=published, **meta)
    return (doc, warnings)


def _decode(data: bytes, where: str) -> tuple[str, list[str]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as ex:
        try:
            return data.decode("cp1252"), [f"not UTF-8 (byte {ex.start}); decoded as Windows-1252"]
        except UnicodeDecodeError:
            return data.decode("latin-1"), [f"not UTF-8 (byte {ex.start}); decoded as Latin-1"]


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((b"\x1f\x8b", b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return True
    return head.count(b"\x00") > len(head) // 100 + 1


def _open_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as ex:
            raise UserError(f"{path}: not a valid gzip file ({ex})") from None
    return data


def _read_jsonl(path: Path, field_map: Mapping[str, str]) -> Iterator[Item]:
    data = _open_bytes(path)
    if _looks_binary(data[:8192]):
        yield Rejected(str(path), "binary file, not JSON Lines")
        return
    stripped = data.lstrip()
    if stripped.startswith(b"["):  # a JSON array of records
        text, _ = _decode(data, str(path))
        try:
            records = json.loads(text)
        except json.JSONDecodeError as ex:
            yield Rejected(f"{path} line {ex.lineno}", f"malformed JSON ({ex.msg})")
            return
        for n, rec in enumerate(records, 1):
            yield _with_warnings(make_document(rec, f"{path} record {n}", field_map), [])
        return
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            line = raw.decode("utf-8-sig")
        except UnicodeDecodeError as ex:
            yield Rejected(where, f"not valid UTF-8 (byte {ex.start})")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as ex:
            yield Rejected(where, f"malformed JSON ({ex.msg} at column {ex.colno})")
            continue
        except RecursionError:
            yield Rejected(where, "malformed JSON (nested too deeply)")
            continue
        yield make_document(rec, where, field_map)


def _with_warnings(item: Item, extra: list[str]) -> Item:
    if isinstance(item, Rejected) or not extra:
        return item
    return (item[0], extra + item[1])


def _read_csv(path: Path, field_map: Mapping[str, str]) -> Iterator[Item]:
    data = _open_bytes(path)
    if _looks_binary(data[:8192]):
        yield Rejected(str(path), "binary file, not CSV")
        return
    text, warns = _decode(data, str(path))
    delimiter = "\t" if ".tsv" in path.name.lower() else ","
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for rec in reader:
            where = f"{path} line {reader.line_num}"
            if None in rec:
                yield Rejected(where, "more values than header columns")
                continue
            yield _with_warnings(make_document(rec, where, field_map), warns)
    except csv.Error as ex:
        yield Rejected(f"{path} line {reader.line_num}", f"malformed CSV ({ex})")


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


def _read_html(path: Path) -> Iterator[Item]:
    data = _open_bytes(path)
    if _looks_binary(data[:8192]):
        yield Rejected(str(path), "binary file, not HTML")
        return
    html, warns = _decode(data, str(path))
    rec = html_to_record(html)
    if not rec.get("text"):
        yield Rejected(str(path), "no article text found in HTML")
        return
    rec["id"] = path.stem
    yield _with_warnings(make_document(rec, str(path)), warns)


def _read_txt(path: Path, root: Path | None) -> Iterator[Item]:
    data = _open_bytes(path)
    if _looks_binary(data[:8192]):
        yield Rejected(str(path), "binary file, not text")
        return
    text, warns = _decode(data, str(path))
    rel = path.relative_to(root) if root else Path(path.name)
    rec = {"id": str(rel.with_suffix("")), "text": text}
    yield _with_warnings(make_document(rec, str(path)), warns)


def _read_warc(path: Path) -> Iterator[Item]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    n = 0
    try:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                ctype = (record.http_headers.get_header("Content-Type") if record.http_headers else "") or ""
                if "html" not in ctype.lower():
                    continue
                n += 1
                url = record.rec_headers.get_header("WARC-Target-URI")
                where = f"{path} record {n} ({url})"
                body = record.content_stream().read()
                html, warns = _decode(body, where)
                rec = html_to_record(html, url)
                if not rec.get("text"):
                    yield Rejected(where, "no article text found in HTML")
                    continue
                if not rec.get("published_at"):
                    rec["published_at"] = record.rec_headers.get_header("WARC-Date")
                yield _with_warnings(make_document(rec, where), warns)
    except ArchiveLoadFailed as ex:
        yield Rejected(str(path), f"not a valid WARC file ({str(ex).splitlines()[0][:120]})")
    except (OSError, EOFError, ValueError) as ex:
        yield Rejected(str(path), f"truncated or corrupt WARC after {n} record(s) ({ex})")


def _files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path | None]]:
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise UserError(f"{path}: no such file or directory")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.startswith("."):
                    yield child, path
        else:
            yield path, None


def read_documents(
    paths: Iterable[str | Path], field_map: Mapping[str, str] | None = None
) -> Iterator[Item]:
    """Yield ``(Document, warnings)`` or ``Rejected`` for every record in ``paths``.

    Folders are read recursively; the format is chosen by file suffix.

    Raises:
        UserError: a path does not exist.
    """
    field_map = field_map or {}
    for path, root in _files(paths):
        suffix = _suffix(path)
        try:
            if suffix in JSONL_SUFFIXES:
                yield from _read_jsonl(path, field_map)
            elif suffix in CSV_SUFFIXES:
                yield from _read_csv(path, field_map)
            elif suffix in HTML_SUFFIXES:
                yield from _read_html(path)
            elif suffix in WARC_SUFFIXES:
                yield from _read_warc(path)
            elif suffix in TEXT_SUFFIXES:
                yield from _read_txt(path, root)
            else:
                yield Rejected(str(path), f"unsupported file type {suffix or '(none)'}")
        except PermissionError:
            yield Rejected(str(path), "permission denied")
        except UserError as ex:
            yield Rejected(str(path), str(ex).split(": ", 1)[-1])
        except OSError as ex:
            yield Rejected(str(path), f"cannot read ({ex.strerror or ex})")


def coerce_documents(docs: Iterable[Document | Mapping[str, Any]]) -> Iterator[Item]:
    """Validate in-memory records (dicts or ``Document``) as ingest does."""
    for n, d in enumerate(docs, 1):
        if isinstance(d, Document):
            d = d.to_dict()
        yield make_document(d, f"record {n}")
