"""Look-alike letters, invisible characters and repeated text must not hide a copy."""

import time
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from newstrace.align import align_texts
from newstrace.evasion import disguise, evasion_marks
from newstrace.tokens import TOKEN_RE, normalise_word, tokenize_text

ORIGINAL = (
    "GENEVA - Delegates meeting in Geneva on Thursday agreed a new framework for sharing "
    "satellite data on crop yields after two days of talks, officials said. The agreement "
    "commits forty countries to publish harvest estimates every month, and sets up a small "
    "secretariat in Rome to check the figures before release. \"This is the first time "
    "exporters and importers have agreed to look at the same numbers at the same time,\" "
    "one negotiator said after the closing session, adding that the first joint report "
    "was due in the autumn."
)
# the brief's case: Cyrillic а е о р с for Latin a e o p c
CYRILLIC = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441"})


def surfaces(text):
    t = tokenize_text(text)
    return [text[s:e] for s, e in zip(t.starts.tolist(), t.ends.tolist(), strict=True)]


def test_cyrillic_lookalikes_and_zero_width_spaces_align_with_exact_offsets():
    # every word of the copy carries a look-alike letter or a zero-width space
    words = ORIGINAL.split(" ")
    copy = " ".join(w.translate(CYRILLIC) if k % 2 else w[:1] + "\u200b" + w[1:]
                    for k, w in enumerate(words))
    assert tokenize_text(copy).ids.tolist() == tokenize_text(ORIGINAL).ids.tolist()
    passages = align_texts(copy, ORIGINAL)
    assert len(passages) == 1
    p = passages[0]
    assert (p.a_start, p.a_end, p.b_start, p.b_end) == (0, len(copy), 0, len(ORIGINAL))


def test_disguised_copy_aligns_and_offsets_map_back():
    copy, origin = disguise(ORIGINAL, rate=0.8, seed=7)
    assert copy != ORIGINAL
    passages = align_texts(copy, ORIGINAL)
    assert len(passages) == 1
    p = passages[0]
    assert p.a_start == 0 and p.a_end == len(copy)
    assert origin[p.a_start] == p.b_start and origin[p.a_end - 1] == p.b_end - 1
    # each token of the copy slices the original text back, invisible characters aside
    t = tokenize_text(copy)
    for s, e in zip(t.starts.tolist(), t.ends.tolist(), strict=True):
        kept = [o for o in origin[s:e] if o >= 0]
        assert kept == list(range(kept[0], kept[-1] + 1))


def test_invisible_characters_stay_inside_the_word_and_out_of_its_form():
    text = "po\u200blice sa\u00adid t\u2060he ma\ufeffn at\u200d\u200cthe end\u200b."
    assert surfaces(text) == ["po\u200blice", "sa\u00adid", "t\u2060he", "ma\ufeffn",
                              "at\u200d\u200cthe", "end"]
    assert (tokenize_text(text).ids[:4] == tokenize_text("police said the man").ids).all()
    assert surfaces("\u200bword\u200b") == ["word"]  # not at a word's edges


def test_latin_words_are_not_skeleton_merged():
    ids = tokenize_text("modern rnodern Iran lran clear dear 0il oil").ids.tolist()
    assert len(set(ids)) == len(ids)
    assert normalise_word("\u0406ran") == normalise_word("Iran")  # Cyrillic І in a Latin word


def test_non_latin_text_tokenises_as_itself():
    russian = "Полиция заявила в среду, что а сор и оса остались на месте."
    t = tokenize_text(russian)
    assert surfaces(russian)[4:7] == ["что", "а", "сор"]
    for (s, e), i in zip(zip(t.starts.tolist(), t.ends.tolist(), strict=True), t.ids.tolist(),
                         strict=True):
        word = russian[s:e]
        # all-Cyrillic words keep their own form in a Russian text ("а" is a word here)
        assert i == tokenize_text(word.casefold()).ids[0]
    assert tokenize_text("а").ids[0] != tokenize_text("a").ids[0]
    # a Latin letter typed into a Russian word goes the other way
    assert normalise_word("прo\u0434ажа") == normalise_word("продажа")
    greek = "Η αστυνομία ανακοίνωσε ότι"
    assert surfaces(greek) == greek.split()
    assert [normalise_word(w) for w in greek.split()] == [
        unicodedata.normalize("NFKC", w).casefold() for w in greek.split()]
    assert surfaces("北京\u200b市今天") == ["北", "京", "市", "今", "天"]
    assert not evasion_marks(russian)["flagged"] and not evasion_marks(greek)["flagged"]
    persian = "می\u200cخواهم"  # ZWNJ is part of Persian spelling
    assert not evasion_marks(persian)["flagged"]


def test_evasion_marks_counts_and_offsets():
    text = "The p\u043elice s\u200baid the \u0441\u043e\u0440 left. Sil\u00adben."
    m = evasion_marks(text)
    assert m["flagged"]
    assert (m["lookalike_words"], m["lookalike_letters"]) == (2, 4)
    assert (m["invisible_chars"], m["soft_hyphens"]) == (1, 1)
    offsets = [o for e in m["examples"] for o in e["offsets"]]
    assert sorted(text[o] for o in offsets) == sorted("\u043e\u200b\u0441\u043e\u0440")
    assert all(c.isascii() for e in m["examples"] for c in "".join(e["chars"]))
    assert not evasion_marks(ORIGINAL)["flagged"]
    copy, _ = disguise(ORIGINAL, rate=0.8, seed=3)
    assert evasion_marks(copy)["lookalike_letters"] + evasion_marks(copy)["invisible_chars"] > 20


@given(st.text(alphabet=st.sampled_from("ab \u0430\u043e\u200b\u00ad\u034f\ufe0f.-x")))
@settings(max_examples=300)
def test_scanner_and_regex_agree_on_invisible_characters(text):
    assert surfaces(text) == TOKEN_RE.findall(text)


# -- repetition ------------------------------------------------------------------------------


def test_text_repeated_in_the_source_aligns_once():
    passages = align_texts(ORIGINAL, "\n\n".join([ORIGINAL] * 9))
    assert len(passages) == 1
    assert (passages[0].a_start, passages[0].a_end) == (0, len(ORIGINAL))


def test_each_repeat_of_the_query_aligns():
    query = "\n\n".join([ORIGINAL] * 9)
    passages = align_texts(query, ORIGINAL)
    assert [(p.a_start, p.a_end) for p in passages] == [
        (k * (len(ORIGINAL) + 2), k * (len(ORIGINAL) + 2) + len(ORIGINAL)) for k in range(9)]
    assert all((p.b_start, p.b_end) == (0, len(ORIGINAL)) for p in passages)


def test_repeated_page_aligns_with_itself():
    page = "\n\n".join([ORIGINAL] * 10)
    passages = align_texts(page, page)
    covered = sum(p.a_end - p.a_start for p in passages)
    assert covered >= len(page) - 2 and all(p.a_start == p.b_start for p in passages)


def test_one_word_repeated_is_bounded_and_aligns():
    text = " ".join(["police"] * 5000)
    t0 = time.perf_counter()
    passages = align_texts(text, text)
    assert time.perf_counter() - t0 < 5
    assert [(p.a_start, p.a_end, p.b_start, p.b_end) for p in passages] == [
        (0, len(text), 0, len(text))]


def test_trace_finds_a_disguised_copy_and_reports_evasion(tmp_path):
    import json

    from newstrace.index import Index

    other = ("The central bank left interest rates unchanged on Wednesday, saying inflation "
             "was close to target and growth had picked up in the second quarter of the year.")
    copy, origin = disguise(ORIGINAL, rate=0.8, seed=11)
    with Index.open(tmp_path / "e.duckdb") as idx:
        idx.add([{"id": "orig", "text": ORIGINAL}, {"id": "other", "text": other}])
        idx.build()
        result = idx.trace(copy, query_id="q")
        clean = idx.trace(ORIGINAL, query_id="q2")
    assert [s["id"] for s in result["sources"]] == ["orig"]
    p = result["passages"][0]
    assert (origin[p["a_start"]], origin[p["a_end"] - 1] + 1) == (p["b_start"], p["b_end"])
    ev = result["evasion"]
    assert ev["flagged"] and ev["lookalike_letters"] > 0 and ev["invisible_chars"] > 0
    assert clean["evasion"]["flagged"] is False
    json.dumps(result)
