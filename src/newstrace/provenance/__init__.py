"""Stage 7: passages + dates -> sources, derivation class, composites, edits.

One attribution model (:func:`attribute`, ``newstrace.provenance.attribution``) behind
``Index.trace`` (:func:`build_trace`), corpus provenance, ``watch``, the web pages and
the report. Sub-modules:

* ``core``: the pieces (word alignment, copied prose and the derived share, METER
  classes, spin score, earliest-source labels).
* ``edits``: the one seam for edits and moves (``word_edits``, ``find_moves``).
* ``attribution``: :func:`attribute` -> :class:`Attribution`.
* ``trace``: the ``trace --json`` document.

Derivation classes follow the METER corpus (Gaizauskas, Clough et al.): *wholly
derived* when at least ``Params.wholly_derived`` of the text's own prose (outside
quotations) is reused, *partially derived* from ``Params.partially_derived``, else *not
derived*; reworded passages count at a discount (``reworded_weight``).
"""

from newstrace.provenance.attribution import (
    COPY_WITHIN,
    NEAR_IDENTICAL,
    Attribution,
    EditCount,
    Sentence,
    SentenceSource,
    SourceGroup,
    attribute,
)
from newstrace.provenance.core import (
    ALREADY_COPIED,
    ATTRIBUTION_WORDS,
    LEAD_NEAR_COVERAGE,
    MAX_SUBSTITUTION_TOKENS,
    MIN_CONTRIBUTOR_SHARE,
    MIN_COPIED_CONTENT_WORDS,
    REWORDED_MAX_WEIGHT,
    REWORDED_MIN_CONTENT_WORDS,
    REWORDED_MIN_DENSITY,
    SAME_GROUP_OVERLAP,
    SPIN_FLAG_MIN_SUBSTITUTIONS,
    SPIN_FLAG_SCORE,
    classify,
    contributor_groups,
    copied_mask,
    copied_spans,
    derived_share,
    earliest_label,
    exact_share,
    extend_to_sentence_edges,
    group_sources,
    is_lexical_substitution,
    is_spun,
    lead_by_fidelity,
    reworded_weight,
    spin_score,
    word_alignment,
)
from newstrace.provenance.edits import Edit, Move, find_moves, word_edits
from newstrace.provenance.trace import build_trace, edit_dict, find_self, trace_json
from newstrace.tokens import quotation_mask

__all__ = [
    "ALREADY_COPIED", "ATTRIBUTION_WORDS", "COPY_WITHIN", "LEAD_NEAR_COVERAGE",
    "MAX_SUBSTITUTION_TOKENS", "MIN_CONTRIBUTOR_SHARE", "MIN_COPIED_CONTENT_WORDS",
    "NEAR_IDENTICAL", "REWORDED_MAX_WEIGHT", "REWORDED_MIN_CONTENT_WORDS", "REWORDED_MIN_DENSITY",
    "SAME_GROUP_OVERLAP", "SPIN_FLAG_MIN_SUBSTITUTIONS", "SPIN_FLAG_SCORE", "Attribution", "Edit",
    "EditCount", "Move", "Sentence", "SentenceSource", "SourceGroup", "attribute", "build_trace",
    "classify", "contributor_groups", "copied_mask", "copied_spans", "derived_share",
    "earliest_label", "edit_dict", "exact_share", "extend_to_sentence_edges", "find_moves",
    "find_self", "group_sources", "is_lexical_substitution", "is_spun", "lead_by_fidelity",
    "quotation_mask", "reworded_weight", "spin_score", "trace_json",
    "word_alignment", "word_edits",
]
