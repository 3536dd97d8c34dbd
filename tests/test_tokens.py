from hypothesis import given, settings
from hypothesis import strategies as st

from newstrace.tokens import normalise_word, split_sentences, tokenize_text


def surfaces(text):
    t = tokenize_text(text)
    return [text[s:e] for s, e in zip(t.starts.tolist(), t.ends.tolist(), strict=True)]


@given(st.text())
@settings(max_examples=400)
def test_token_offsets_slice_back_to_tokens(text):
    t = tokenize_text(text)
    starts, ends = t.starts.tolist(), t.ends.tolist()
    assert len(starts) == len(ends) == len(t.ids) == len(t.stop)
    prev_end = 0
    for s, e in zip(starts, ends, strict=True):
        assert prev_end <= s < e <= len(text)  # increasing, non-overlapping
        tok = text[s:e]
        assert tok.strip() == tok and tok  # no whitespace inside offsets' edges
        prev_end = e


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFFF)))
@settings(max_examples=300)
def test_retokenising_a_token_gives_the_same_token(text):
    for tok in surfaces(text):
        assert surfaces(tok) == [tok]


def test_words_cjk_marks_and_punctuation():
    assert surfaces("Größe, naïve café!") == ["Größe", "naïve", "café"]
    assert surfaces("北京市今天") == ["北", "京", "市", "今", "天"]
    assert surfaces("cafe\u0301 ok") == ["cafe\u0301", "ok"]  # combining accent stays in the word
    assert surfaces("U.S.-China talks") == ["U", "S", "China", "talks"]


def test_ids_are_stable_and_stemmed():
    a = tokenize_text("Reports reported REPORTING")
    assert len(set(a.ids.tolist())) == 1
    assert tokenize_text("Russia").ids[0] == tokenize_text("russia").ids[0]
    assert normalise_word("Reported") == "report"
    assert [f & 1 for f in tokenize_text("the Russia").stop.tolist()] == [1, 0]  # bit 0: stop word
    assert [f & 2 for f in tokenize_text("Rain fell. Then sun").stop.tolist()] == [2, 0, 2, 0]  # bit 1: sentence start


def test_split_sentences_keeps_offsets():
    text = "Mr. Smith arrived in Washington on Monday. He said: \"We agree.\" Talks end today!\n\nNew paragraph"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith arrived in Washington on Monday.",
        'He said: "We agree."',
        "Talks end today!",
        "New paragraph",
    ]


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFFF)))
@settings(max_examples=500)
def test_compiled_scanner_agrees_with_the_token_regex(text):
    from newstrace.tokens import TOKEN_RE

    assert surfaces(text) == TOKEN_RE.findall(text)


def test_flags_record_marks_capitals_and_quotations():
    from newstrace.tokens import CAPITAL, EDGE_MASK, LEAD_SHIFT, QUOTED, TRAIL_SHIFT, edge_offsets

    text = 'Officials said: "The dam held." (Reuters) it rose...'
    t = tokenize_text(text)
    words = surfaces(text)
    flags = dict(zip(words, t.stop.tolist(), strict=True))
    trail = {w: (f >> TRAIL_SHIFT) & EDGE_MASK for w, f in flags.items()}
    lead = {w: (f >> LEAD_SHIFT) & EDGE_MASK for w, f in flags.items()}
    assert trail["held"] == 2 and trail["Reuters"] == 1 and trail["rose"] == 3  # '."' ')' '...'
    assert trail["said"] == 0  # a colon is no closing mark
    assert lead["The"] == 1 and lead["Reuters"] == 1 and lead["dam"] == 0
    assert {w for w, f in flags.items() if f & CAPITAL} == {"Officials", "The", "Reuters"}
    assert {w for w, f in flags.items() if f & QUOTED} == {"The", "dam", "held"}
    i = words.index("The")
    start, end = edge_offsets(t, i, i + 3)
    assert text[start:end] == '"The dam held."'


@given(st.text(alphabet=st.sampled_from(list('ab C."\'()«» \n!?…”“'))))
@settings(max_examples=300)
def test_edge_offsets_only_take_in_marks_next_to_the_tokens(text):
    from newstrace.tokens import edge_offsets

    t = tokenize_text(text)
    for k in range(len(t)):
        start, end = edge_offsets(t, k, k + 1)
        assert start <= t.starts[k] and end >= t.ends[k]
        assert not text[start:t.starts[k]].strip("\"'(«“[") and not text[t.ends[k]:end].strip(".!?…)]\"'”’»")
        assert k == 0 or start >= t.ends[k - 1]  # never into the previous token
