"""newstrace: trace where news text comes from -- reprints, spun copies, composites.

Public API::

    from newstrace import Index, align_texts
    idx = Index.open("news.duckdb")
    idx.add([{"id": "a1", "text": "..."}])
    idx.build()
    result = idx.trace("pasted text")
"""

from newstrace.align import align_texts
from newstrace.errors import IncompatibleIndex, NewstraceError, UserError
from newstrace.index import BuildReport, Index
from newstrace.model import Document, IngestReport, Passage
from newstrace.params import DEFAULT_PARAMS, Params
from newstrace.tokens import split_sentences, tokenize_text

__version__ = "0.1.0"

__all__ = [
    "BuildReport",
    "DEFAULT_PARAMS",
    "Document",
    "IncompatibleIndex",
    "Index",
    "IngestReport",
    "NewstraceError",
    "Params",
    "Passage",
    "UserError",
    "align_texts",
    "split_sentences",
    "tokenize_text",
    "__version__",
]
