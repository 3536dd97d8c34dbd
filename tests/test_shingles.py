import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from newstrace.shingles import document_fingerprints, ngram_hashes
from newstrace.tokens import tokenize_text


@given(st.lists(st.sampled_from(["oil", "the", "price", "of", "rose", "a", "x1", "Ölpreis"]), max_size=40), st.integers(1, 6))
@settings(max_examples=200)
def test_ngram_count_and_stop_only_grams_dropped(words, n):
    tok = tokenize_text(" ".join(words))
    hashes, pos = ngram_hashes(tok, n)
    total = max(0, len(tok) - n + 1)
    all_stop = sum(1 for i in range(total) if all(f & 1 for f in tok.stop[i : i + n]))
    assert len(hashes) == len(pos) == total - all_stop


def test_same_ngram_same_hash_anywhere():
    a = tokenize_text("oil prices rose sharply on Monday")
    b = tokenize_text("Yesterday oil prices rose sharply again")
    ha, _ = ngram_hashes(a, 3)
    hb, _ = ngram_hashes(b, 3)
    assert len(set(ha.tolist()) & set(hb.tolist())) == 2  # "oil prices rose", "prices rose sharply"


def test_hashes_equal_across_processes():
    text = "The central bank raised interest rates by half a point on Thursday."
    here = document_fingerprints(tokenize_text(text), 3).tolist()
    code = (
        "from newstrace.shingles import document_fingerprints;"
        "from newstrace.tokens import tokenize_text;"
        f"print(document_fingerprints(tokenize_text({text!r}), 3).tolist())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert eval(out.stdout) == here


def test_fingerprints_unique_sorted():
    fp = document_fingerprints(tokenize_text("a b c a b c a b c oil"), 2)
    assert np.all(np.diff(fp) > 0)
