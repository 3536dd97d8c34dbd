"""Records passed between the pipeline stages (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Document:
    """One news article as stored. ``text`` is kept exactly as decoded."""

    id: str
    text: str
    url: str | None = None
    publisher: str | None = None
    published_at: datetime | None = None
    title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["published_at"] = self.published_at.isoformat() if self.published_at else None
        return d


@dataclass(frozen=True)
class Passage:
    """A reused passage: ``a_text[a_start:a_end]`` matches ``b_text[b_start:b_end]``.

    Offsets are Python string indices into the original (un-normalised) texts,
    end-exclusive. ``score`` is in [0, 1]: the share of tokens on both sides
    that the alignment matched.
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    score: float
    a_id: str | None = None
    b_id: str | None = None
    a_tokens: int = 0
    b_tokens: int = 0
    matched_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_start": self.a_start,
            "a_end": self.a_end,
            "b_start": self.b_start,
            "b_end": self.b_end,
            "score": round(float(self.score), 4),
            "a_id": self.a_id,
            "b_id": self.b_id,
        }


@dataclass(frozen=True)
class IngestReport:
    """What one ingest call did."""

    added: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (document id, warning)

    def summary(self) -> str:
        return (
            f"added {self.added}, skipped {self.duplicates} duplicate(s), "
            f"rejected {len(self.rejected)}"
        )
