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
