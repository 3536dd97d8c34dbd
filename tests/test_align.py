"""Hand-made alignment cases: what the aligner must get right."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import load_corpus

from newstrace.align import align_texts
from newstrace.fixtures import (
    FILLER_SENTENCES,
    composite,
    delete_sentences,
    insert_sentences,
    load_originals,
    spin,
)
from newstrace.params import DEFAULT_PARAMS

ORIGINALS = {r["id"]: r["text"] for r in load_originals()}
SOURCE = ORIGINALS["orig-01"]


def coverage(text: str, spans: list[tuple[int, int]]) -> float:
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    return len(covered) / len(text.strip())


def test_verbatim_whole_article_reprint_from_first_character():
    ps = align_texts(SOURCE, SOURCE)
    assert len(ps) == 1
    p = ps[0]
    assert (p.a_start, p.b_start) == (0, 0)
    assert p.a_end == p.b_end and p.a_end >= len(SOURCE.rstrip()) - 1
    assert p.score == 1.0


def test_reprint_with_byline_and_footer():
    copy = "By Staff Reporter\n\n" + SOURCE + "\n\nCopyright 2026 Example Daily. All rights reserved."
    [p] = align_texts(SOURCE, copy)
    assert SOURCE[p.a_start : p.a_end] == copy[p.b_start : p.b_end]
    assert p.a_start == 0 and p.b_start == len("By Staff Reporter\n\n")


def test_one_word_to_two_word_synonyms():
    src = ("Russia said on Tuesday it wants to expand gas exports to Asia as well as Africa, "
           "and the energy ministry currently expects shipments to rise by a fifth next year.")
    copy = ("Russian Federation stated on Tuesday it wishes for to expand gas exports to Asia like Africa, "
            "and the energy ministry now expects shipments to rise by a fifth next year.")
    [p] = align_texts(src, copy)
    assert p.a_start == 0 and p.b_start == 0
    # the last word takes its full stop in
    assert src[p.a_end - 5 : p.a_end] == "year." and copy[p.b_end - 5 : p.b_end] == "year."


@pytest.mark.parametrize("rate", [0.2, 0.3, 0.4])
@pytest.mark.parametrize("doc_id", ["orig-03", "orig-07", "orig-15", "orig-22"])
def test_spun_copy_found_whole(rate, doc_id):
    src = ORIGINALS[doc_id]
    copy, subs = spin(src, rate, random.Random(7))
    assert subs, "the spinner changed nothing"
    ps = align_texts(src, copy)
    assert ps, "spun copy not found"
    assert coverage(src, [(p.a_start, p.a_end) for p in ps]) > 0.9
    assert coverage(copy, [(p.b_start, p.b_end) for p in ps]) > 0.9


def test_inserted_and_deleted_sentences():
    rng = random.Random(3)
    ins = insert_sentences(SOURCE, FILLER_SENTENCES, rng, count=2)
    ps = align_texts(SOURCE, ins.text)
    assert coverage(SOURCE, [(p.a_start, p.a_end) for p in ps]) > 0.95
    dele = delete_sentences(SOURCE, 2, random.Random(4))
    ps = align_texts(SOURCE, dele.text)
    assert coverage(dele.text, [(p.b_start, p.b_end) for p in ps]) > 0.95


def test_reordered_paragraphs_each_found_as_own_passage():
    src = ORIGINALS["orig-05"]
    paras = src.split("\n\n")
    order = [0, 3, 1, 4, 2] + list(range(5, len(paras)))
    copy = "\n\n".join(paras[i] for i in order)
    ps = align_texts(src, copy)
    assert len(ps) >= 4
    for i, para in enumerate(paras):
        if len(para.split()) < DEFAULT_PARAMS.min_matched_tokens:
            continue  # a one-line paragraph is below the shortest passage reported
        start = src.index(para)
        end = start + len(para)
        hit = [p for p in ps if p.a_start <= start + 5 and p.a_end >= end - 5]
        assert hit, f"paragraph {i} not found as a passage"
        p = hit[0]
        assert copy[p.b_start : p.b_end].strip() in copy
        cstart = copy.index(para)
        assert abs(p.b_start - cstart) <= 5


def test_several_separate_passages_per_pair():
    a, b, c = ORIGINALS["orig-03"], ORIGINALS["orig-07"], ORIGINALS["orig-12"]
    pa, pb = a.split("\n\n"), b.split("\n\n")
    doc = "\n\n".join([pa[0], pb[1], pa[2], pb[2], pa[4]])
    ps = align_texts(a, doc)
    found = sorted(a[p.a_start : p.a_end] for p in ps)
    assert len(ps) == 3
    for para in (pa[0], pa[2], pa[4]):
        assert any(para.rstrip(".") in f or f in para for f in found)
    assert not align_texts(c, doc)


def test_composite_of_three_sources_yields_one_passage_each():
    ids = ["orig-01", "orig-11", "orig-24"]
    texts = [ORIGINALS[i] for i in ids]
    comp = composite(texts, random.Random(5))
    for k, src in enumerate(texts):
        truth = [s for s in comp.spans if s["source_index"] == k]
        ps = align_texts(src, comp.text)
        assert ps, f"source {ids[k]} not found"
        for span in truth:
            assert any(
                p.b_start <= span["copy_start"] + 3 and p.b_end >= span["copy_end"] - 3 for p in ps
            )


def test_passage_offsets_slice_the_original_strings():
    src = "«Zoë Müller» a déclaré: “Le marché européen est en crise.” 北京市 officials met in Łódź on Monday to discuss the €4.5bn rail deal with Polish ministers and regional governors."
    copy = "Reporters heard that «Zoë Müller» a déclaré: “Le marché européen est en crise.” 北京市 officials met in Łódź on Monday to discuss the €4.5bn rail deal with Polish ministers and regional governors. More later."
    [p] = align_texts(src, copy)
    assert src[p.a_start : p.a_end] == copy[p.b_start : p.b_end]
    # the first word takes its opening quotation mark in, the last its full stop
    assert src[p.a_start : p.a_end].startswith("«Zoë")
    assert src[p.a_start : p.a_end].endswith("governors.")


def test_same_event_written_independently_is_not_reuse():
    recs = load_corpus("no_match")
    by_group: dict[str, list[dict]] = {}
    for r in recs:
        by_group.setdefault(r["truth"].get("same_event_group", r["id"]), []).append(r)
    pairs = 0
    for group in by_group.values():
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                pairs += 1
                a, b = group[i]["text"], group[j]["text"]
                ps = align_texts(a, b)
                for p in ps:
                    # only a genuinely shared quotation may match
                    quoted = a[max(0, p.a_start - 2) : p.a_end + 2]
                    assert any(q in quoted for q in "\"“”"), f"non-quote match: {quoted!r}"
                # ... and it stays a small share of either article
                assert coverage(a, [(p.a_start, p.a_end) for p in ps]) < 0.3
    assert pairs >= 4


def test_unrelated_texts_and_degenerate_inputs():
    assert align_texts(ORIGINALS["orig-03"], ORIGINALS["orig-20"]) == []
    assert align_texts("", SOURCE) == []
    assert align_texts(SOURCE, "   \n ") == []
    assert align_texts("word", "word") == []  # below the minimum passage length


def test_alignment_of_a_text_with_itself_covers_it():
    for text in list(ORIGINALS.values())[:10]:
        ps = align_texts(text, text)
        assert coverage(text, [(p.a_start, p.a_end) for p in ps]) > 0.97


# -- sentence stage, summaries, overlap filtering (PAN-style obfuscation) -----------------

REWORDED_SRC = (
    "The regional water board approved a plan to rebuild the old northern reservoir dam. "
    "Engineers warned that cracks in the concrete wall had widened during the winter floods. "
    "Farmers downstream depend on the reservoir for irrigation during the dry summer months. "
    "The rebuilding work is expected to cost about forty million euros over three years. "
    "Local councillors asked the national government to share the cost of the repairs."
)
# words shuffled and replaced inside each sentence, two sentences swapped: no long exact runs
# (sentences left nearly intact are the exact-run stage's job, not this one's)
REWORDED_COPY = (
    "A scheme to rebuild the northern old dam of the reservoir was backed by the regional water board. "
    "Cracks in the wall of concrete had grown in winter floods, engineers cautioned. "
    "For watering in the dry months of summer, farmers downstream rely on this reservoir. "
    "Councillors from the area urged national government to share repair cost. "
    "Rebuilding job should cost forty million euros or so over three years."
)


def test_reworded_and_shuffled_sentences_found_by_the_sentence_stage():
    ps = align_texts(REWORDED_SRC, REWORDED_COPY)
    assert ps, "reworded passage not found"
    assert coverage(REWORDED_SRC, [(p.a_start, p.a_end) for p in ps]) > 0.8
    assert coverage(REWORDED_COPY, [(p.b_start, p.b_end) for p in ps]) > 0.8
    off = DEFAULT_PARAMS.with_overrides(sent_min_seeds=0, sentence_seeds=False)
    assert not align_texts(REWORDED_SRC, REWORDED_COPY, off)  # exact runs alone miss it


def test_a_repeated_source_paragraph_is_reported_once():
    para = SOURCE.split("\n\n")[0]
    other = ORIGINALS["orig-20"].split("\n\n")[0]
    src = para + "\n\n" + other + "\n\n" + para  # the source repeats the paragraph
    ps = align_texts(para, src)
    assert len(ps) == 1  # the same text of A is not aligned twice


def test_adjacent_swapped_sentences_are_not_merged_across():
    s1 = "The minister opened the new hospital wing on Monday morning with local doctors and nurses present."
    s2 = "Patients will be moved into the forty new beds next month once the last safety checks are complete."
    ps = align_texts(s1 + " " + s2, s2 + " " + s1)
    assert len(ps) == 2
    for p in ps:
        assert (p.a_start == 0) != (p.b_start == 0)


def test_long_sparse_passage_needs_lower_density() -> None:
    """A long passage (>= sparse_min_matched tokens) is kept at density relax_density."""
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}x" for i in range(150)]
    src = " ".join(words) + "."
    copy = " ".join(w if i % 5 < 2 else f"q{i}z" for i, w in enumerate(words)) + "."  # 40 % kept
    exact_only = DEFAULT_PARAMS.with_overrides(sent_min_seeds=0)
    found = align_texts(src, copy, exact_only)
    assert len(found) == 1 and found[0].matched_tokens >= 50
    assert align_texts(src, copy, exact_only.with_overrides(sparse_min_matched=0)) == []
    # a short sparse match stays below the bar
    short_src = " ".join(words[:40]) + "."
    short_copy = " ".join(w if i % 5 < 2 else f"q{i}z" for i, w in enumerate(words[:40])) + "."
    assert align_texts(short_src, short_copy, exact_only) == []


def test_a_summary_spanning_most_of_the_source_covers_all_of_it() -> None:
    """A summary condenses a whole text: its B side is extended to B's edges."""
    import numpy as np

    from newstrace.align import _merge_summaries

    # two passages close together in A (tokens 100-160), spread over B 50..520 of 1000
    rows = np.array([[100, 130, 50, 120, 20], [135, 160, 450, 520, 20]], dtype=np.int64)
    out = _merge_summaries(rows, 40, 2.0, 30, 1000)
    assert out.tolist() == [[100, 160, 0, 1000, 40]]
    # the same passages in a much longer B: a summary of a part, not extended
    out = _merge_summaries(rows, 40, 2.0, 30, 5000)
    assert out.tolist() == [[100, 160, 50, 520, 40]]
    # far apart in A: not a summary, left as they are
    far = rows.copy()
    far[1, :2] += 200
    assert _merge_summaries(far, 40, 2.0, 30, 1000).tolist() == far.tolist()


def test_a_reworded_passage_grows_into_shuffled_neighbour_sentences() -> None:
    """Extension stage: a similar sentence next to a reworded passage joins it, in either B order."""
    import numpy as np

    from newstrace.align import _extend_rows

    # 4 sentences of 10 tokens per side; the passage covers sentences 1-2 on both sides.
    # A's sentence 0 matches B's sentence 3, A's 3 matches B's 0 (shuffled edge sentences).
    bnd = np.array([0, 10, 20, 30, 40], dtype=np.int64)
    sid = np.repeat(np.arange(4), 10).astype(np.int64)
    pa = np.array([0, 3], dtype=np.int64)
    pb = np.array([3, 0], dtype=np.int64)
    pc = np.array([5, 5], dtype=np.int64)
    pd = np.array([0.8, 0.8])
    reworded = np.array([[10, 30, 10, 30, 16]], dtype=np.int64)
    out = _extend_rows(reworded, sid, bnd, sid, bnd, pa, pb, pc, pd, 3, 0.5, 15)
    assert out.tolist() == [[0, 40, 0, 40, 26]]
    # a dense copy (verbatim text, a quotation) ends where it ends
    dense = np.array([[10, 30, 10, 30, 20]], dtype=np.int64)
    assert _extend_rows(dense, sid, bnd, sid, bnd, pa, pb, pc, pd, 3, 0.5, 15).tolist() == dense.tolist()
    # too weak to license growth; and a neighbour pair below the Dice bar does not join
    weak = np.array([[10, 30, 10, 30, 12]], dtype=np.int64)
    assert _extend_rows(weak, sid, bnd, sid, bnd, pa, pb, pc, pd, 3, 0.5, 15).tolist() == weak.tolist()
    low = np.array([0.3, 0.3])
    assert _extend_rows(reworded, sid, bnd, sid, bnd, pa, pb, pc, low, 3, 0.5, 15).tolist() == reworded.tolist()


# -- sentence-seed stage (Sanchez-Perez et al. style) ------------------------------------

SEED_SRC = [
    "The regional water board approved a plan to rebuild the old northern reservoir dam.",
    "Engineers warned that cracks in the concrete wall had widened during the winter floods.",
    "Farmers downstream depend on the reservoir for irrigation during the dry summer months.",
    "The rebuilding work is expected to cost about forty million euros over three years.",
    "Local councillors asked the national government to share the cost of the repairs.",
    "Construction crews will start clearing the access road to the dam site next spring.",
]


def _word_salad(sentence: str, rng: random.Random) -> str:
    """PAN-style random obfuscation: the sentence's words shuffled, one word dropped."""
    words = sentence.rstrip(".").split()
    words.pop(rng.randrange(len(words)))
    rng.shuffle(words)
    return " ".join(words) + "."


def test_sentence_seeds_find_shuffled_word_salad_the_other_stages_miss() -> None:
    """Words shuffled inside each sentence, sentences in a scrambled order, inside other text."""
    from newstrace.evaluate import sensitive_params

    rng = random.Random(7)
    salad = [_word_salad(SEED_SRC[i], rng) for i in (4, 1, 5, 0, 3, 2)]
    a = ORIGINALS["orig-03"] + "\n\n" + " ".join(SEED_SRC) + "\n\n" + ORIGINALS["orig-04"]
    b = ORIGINALS["orig-20"] + "\n\n" + " ".join(salad) + "\n\n" + ORIGINALS["orig-09"]
    lo = a.index(SEED_SRC[0])
    hi = a.index(SEED_SRC[-1]) + len(SEED_SRC[-1])
    assert not align_texts(a, b, DEFAULT_PARAMS.with_overrides(sentence_seeds=False))
    for params in (DEFAULT_PARAMS, sensitive_params()):
        ps = align_texts(a, b, params)
        assert ps, "shuffled sentences not found"
        assert coverage(a[lo:hi], [(max(0, p.a_start - lo), p.a_end - lo) for p in ps]) > 0.9
        # nothing outside the reused sentences, on either side
        assert all(p.a_start >= lo - 2 and p.a_end <= hi + 2 for p in ps)
        b_lo = b.index(salad[0])
        assert all(p.b_start >= b_lo - 2 for p in ps)


def test_sentence_seeds_leave_same_event_reporting_apart() -> None:
    """Two outlets' own sentences about one event share names and numbers, not sentences."""
    a = (
        "The regional water board on Tuesday approved a plan to rebuild the northern reservoir "
        "dam after engineers found cracks in its concrete wall. The work will cost about forty "
        "million euros and take three years, the board said. Farmers who draw irrigation water "
        "from the reservoir welcomed the decision but asked for compensation during the works. "
        "Local councillors want the national government to pay half of the bill."
    )
    b = (
        "Cracks found by engineers in the northern reservoir dam will be repaired under a "
        "forty million euro scheme, the regional water board decided on Tuesday. The board "
        "expects the rebuilding to last until 2029. Irrigation for downstream farms will be "
        "rationed while crews work on the wall, a spokeswoman said. Councillors said the "
        "national government should share the cost, which they called too high for the region."
    )
    assert align_texts(a, b) == []


def test_two_adjacent_copied_passages_are_not_merged_into_a_summary() -> None:
    """Two long word-for-word copies side by side in A, taken from two places of B,
    are two passages: only pieces that are not both dense copies form a summary."""
    import numpy as np

    from newstrace.align import _merge_summaries

    # dense copies (matched = span on both sides), 60 tokens each, 400 tokens apart in B
    rows = np.array([[100, 160, 50, 110, 60], [165, 225, 510, 570, 60]], dtype=np.int64)
    assert _merge_summaries(rows, 40, 2.0, 30, 2000).tolist() == rows.tolist()
    # the same layout with sparse (condensed) pieces is a summary
    sparse = rows.copy()
    sparse[:, 4] = 25
    assert _merge_summaries(sparse, 40, 2.0, 30, 2000).tolist() == [[100, 225, 50, 570, 50]]
    # short dense pieces (a copied sentence inside a summary) still merge
    short = np.array([[100, 120, 50, 70, 20], [125, 145, 510, 530, 20]], dtype=np.int64)
    assert _merge_summaries(short, 40, 2.0, 30, 2000).tolist() == [[100, 145, 50, 530, 40]]


def test_loosely_similar_sentence_seed_fragments_need_exact_run_evidence() -> None:
    """A sentence-seed fragment of loosely similar sentences is kept only when it holds
    a few exact runs on both sides (reuse leaves some; pages on the same topic do not);
    summary-shaped fragments (long B span) need more and longer runs."""
    import numpy as np

    from newstrace.align import _SP_MIN_RUNS, _SP_QUOTE_RUN, _SP_SUMMARY_RUNS, _sp_evidence

    frag = np.array([0, 100, 0, 110, 30], dtype=np.int64)
    summ = np.array([0, 100, 0, 400, 30], dtype=np.int64)

    def runs(n, length, b_off=0):
        a = np.arange(n, dtype=np.int64) * 10
        return a, a + b_off, np.full(n, length, dtype=np.int64)

    assert _sp_evidence(frag, *runs(_SP_MIN_RUNS, 3), 2.0)
    assert not _sp_evidence(frag, *runs(_SP_MIN_RUNS - 1, 3), 2.0)
    assert not _sp_evidence(frag, *runs(_SP_MIN_RUNS, 2), 2.0)  # too short
    assert not _sp_evidence(frag, *runs(_SP_MIN_RUNS, 3, b_off=200), 2.0)  # B side outside
    # whole shared sentences (a quotation both reports carry) are no evidence for the
    # look-alike sentences beside them
    assert not _sp_evidence(frag, *runs(_SP_MIN_RUNS, _SP_QUOTE_RUN), 2.0)
    assert not _sp_evidence(summ, *runs(_SP_MIN_RUNS, 3), 2.0)
    assert _sp_evidence(summ, *runs(_SP_SUMMARY_RUNS, 4), 2.0)


SHOP_SOURCE = (
    "The museum opened in the spring after years of delay. Visitors can see the old steam engine "
    "in the main hall. Check out our new store hours listed below, we can't wait to see you soon. "
    "Any questions please feel free to call us at the front desk. We sell hardware, software, spare "
    "parts, new and used systems, laptops, monitors, keyboards, mice and speakers. Thanks from all "
    "of us at the computer shop on the corner. The river floods every few winters and the town has "
    "built a wall."
)
SHOP_SHUFFLED = (
    "Our garden club meets on Tuesdays to swap seeds and cuttings. Members bring tea. "
    "Thanks from all of us at the shop. Hardware, software, spare parts, laptops, monitors, "
    "keyboards, mice and speakers! Any questions please call us. New store hours listed below, "
    "can't wait to see you. The club also runs a plant sale each May, with proceeds going to the "
    "school library."
)


def test_short_shuffled_passage_found_by_run_clusters() -> None:
    """A short passage with its sentences shuffled and words dropped (PAN random
    obfuscation) is below ``min_matched_tokens`` as one chain; the short-fragment rule
    (``short_min_matched``, on by default, guarded by ``topic_contrast``) finds it from
    several distinct exact runs close together on both sides."""
    assert len(align_texts(SHOP_SHUFFLED, SHOP_SOURCE)) == 1
    sens = DEFAULT_PARAMS
    assert sens.short_min_matched > 0
    runs_only = sens.with_overrides(sentence_seeds=False)  # the sentence seeds find it too
    assert align_texts(SHOP_SHUFFLED, SHOP_SOURCE, runs_only.with_overrides(short_min_matched=0)) == []
    got = align_texts(SHOP_SHUFFLED, SHOP_SOURCE, runs_only)
    assert len(got) == 1
    assert "Hardware, software" in SHOP_SHUFFLED[got[0].a_start : got[0].a_end]
    assert "garden club" not in SHOP_SHUFFLED[got[0].a_start : got[0].a_end]


def test_run_clusters_count_a_repeated_phrase_once() -> None:
    """Runs count once per distinct wording: a phrase repeated on a page ("chain link
    fence" x 6) is no evidence of reuse; distinct runs close together are."""
    import numpy as np

    from newstrace.align import _run_clusters

    ids = np.arange(100, dtype=np.int64)
    rep_ids = np.tile(np.array([7, 8, 9], dtype=np.int64), 34)[:100]  # one phrase, repeated
    ra = np.arange(6, dtype=np.int64) * 6
    rb = np.arange(6, dtype=np.int64) * 6 + 3
    rl = np.full(6, 3, dtype=np.int64)
    assert _run_clusters(ids, ra, rb, rl, 14, 5).shape[0] == 1
    assert _run_clusters(rep_ids, ra, rb, rl, 14, 5).shape[0] == 0
    assert _run_clusters(ids, ra, rb, rl, 14, 7).shape[0] == 0  # too few runs
    far = rb.copy()
    far[3:] += 500  # half the runs far away in B: two clusters of 3
    assert _run_clusters(ids, ra, far, rl, 9, 5).shape[0] == 0


def test_range_cos_counts_content_words_inside_the_ranges() -> None:
    import numpy as np

    from newstrace.align import _range_cos, _topic_filter, seed_index

    a_ids = np.array([1, 2, 3, 4, 5, 6], dtype=np.int64)
    b_ids = np.array([9, 1, 2, 3, 8, 8], dtype=np.int64)
    stop = np.zeros(6, dtype=np.uint8)
    a_uv, a_up, _, _ = seed_index(a_ids, stop)
    b_uv, b_up, _, _ = seed_index(b_ids, stop)
    assert _range_cos(a_uv, a_up, b_uv, b_up, 0, 3, 1, 4) == pytest.approx(1.0)
    assert _range_cos(a_uv, a_up, b_uv, b_up, 3, 6, 1, 4) == 0.0
    whole = _range_cos(a_uv, a_up, b_uv, b_up, 0, 6, 0, 6)
    assert whole == pytest.approx(3 / np.sqrt(6 * 8))  # B: 9, 1, 2, 3, 8 x 2
    rows = np.array([[0, 3, 1, 4, 3], [3, 6, 4, 6, 0]], dtype=np.int64)
    kept = _topic_filter(rows, a_uv, a_up, b_uv, b_up, whole + 0.12)
    assert kept.tolist() == [[0, 3, 1, 4, 3]]


_BASIL = Path(__file__).resolve().parents[2] / "shared" / "data" / "basil.jsonl.gz"


@pytest.mark.skipif(not _BASIL.is_file(), reason=f"{_BASIL} absent (BASIL same-event news)")
def test_topic_contrast_keeps_same_event_news_apart_with_the_lax_stages_on() -> None:
    """The lax stages are on by default; without their topic test (``--sensitive``)
    independent reports of one event come out as passages in many more pairs."""
    from newstrace.evaluate import run_basil, sensitive_params

    guarded = run_basil(_BASIL, limit=40)
    bare = run_basil(_BASIL, params=sensitive_params(), limit=40)
    assert DEFAULT_PARAMS.topic_contrast > 0 and sensitive_params().topic_contrast == 0
    assert guarded.pairs_called_derived == 0
    assert bare.pairs_with_unquoted > guarded.pairs_with_unquoted + 5


# -- bag extension (reordered text at a passage's edge) -----------------------------------


def _bag_knobs(**over: float):
    from newstrace import align

    k = align.knobs(DEFAULT_PARAMS.with_overrides(bag_extend_density=0.5))  # --sensitive
    for name, v in over.items():
        k[getattr(align, name)] = v
    return k


def _ids(tokens: list[int], starts: tuple[int, ...] = ()):
    import numpy as np

    ids = np.array(tokens, dtype=np.int64)
    flags = np.zeros(len(tokens), dtype=np.uint8)
    for s in (0, *starts):
        flags[s] |= 2  # sentence start
    return ids, flags


def test_bag_extension_takes_in_moved_clauses_but_not_unrelated_neighbours() -> None:
    """A moved clause lies inside A's span but just before B's: B grows over it, no further."""
    import numpy as np

    from newstrace.align import _bag_extend

    p = list(range(1, 21))  # the passage, found on both sides
    m = [31, 32, 33, 34, 35]  # a clause: moved to after the passage in A, shuffled
    a_ids, a_flags = _ids([900, 901, 902, 903, 904] + p + [33, 31, 35, 32, 34] + [905, 906, 907])
    b_ids, b_flags = _ids([800, 801, 802, 803, 804] + m + p + [805, 806], starts=(5, 10))
    row = np.array([[5, 30, 10, 30, 20]], dtype=np.int64)
    k = _bag_knobs()
    out = _bag_extend(row, a_ids, a_flags, b_ids, b_flags, k, 4)
    assert out[0, :4].tolist() == [5, 30, 5, 30]  # B now starts at the moved clause
    # off: unchanged
    assert _bag_extend(row, a_ids, a_flags, b_ids, b_flags, _bag_knobs(K_BAG_DENSITY=0.0),
                       4).tolist() == row.tolist()
    # unrelated text before B's span, or text repeating words the passage already
    # matched (topic words), is not absorbed
    for before in ([700, 701, 702, 703, 704], [1, 2, 700, 3, 4]):
        b2_ids, b2_flags = _ids([800, 801, 802, 803, 804] + before + p + [805, 806], starts=(5, 10))
        assert _bag_extend(row, a_ids, a_flags, b2_ids, b2_flags, k, 4).tolist() == row.tolist()
    # never into a neighbouring passage
    two = np.array([[5, 30, 10, 30, 20], [0, 5, 7, 10, 3]], dtype=np.int64)
    out = _bag_extend(two, a_ids, a_flags, b_ids, b_flags, k, 4)
    assert out[0, 2] >= 10 or out[0, 2] >= two[1, 3]
    # a passage mostly inside quotation marks (a shared quotation) does not grow: the
    # words around a quotation are each reporter's own
    from newstrace.tokens import QUOTED

    q_flags = a_flags.copy()
    q_flags[5:30] |= QUOTED
    assert _bag_extend(row, a_ids, q_flags, b_ids, b_flags, k, 4).tolist() == row.tolist()


def test_reordered_clauses_at_a_passage_edge_are_covered_on_both_sides() -> None:
    """End to end: B's first sentence reappears inside A's passage, reworded and moved."""
    from newstrace import align
    from newstrace.tokens import tokenize_text

    lead = "The harbour authority confirmed that three cargo cranes collapsed in Sunday's storm."
    moved = "Three cargo cranes collapsed in the storm, the harbour authority confirmed."
    a = ("Stock markets in Asia closed higher on Monday after a quiet session. "
         + " ".join(SEED_SRC[:2]) + " " + moved + " " + " ".join(SEED_SRC[2:4])
         + " Tennis fans queued overnight for the final.")
    b = ("Our weekly gardening column returns next month with tips on roses. " + lead + " "
         + " ".join(SEED_SRC[:4]) + " The museum reopens its east wing after renovation.")
    ta, tb = tokenize_text(a), tokenize_text(b)
    old = align.align_token_ids(ta.ids, ta.stop, tb.ids, tb.stop, _bag_knobs(K_BAG_DENSITY=0.0))
    new = align.align_token_ids(ta.ids, ta.stop, tb.ids, tb.stop, _bag_knobs())
    lead_start = b.index(lead)
    [po] = align.rows_to_passages(old, ta, tb)
    [pn] = align.rows_to_passages(new, ta, tb)
    assert po.b_start > lead_start  # before: B's moved sentence left out
    assert pn.b_start == lead_start  # now: in
    assert "gardening" not in b[pn.b_start:pn.b_end] and "museum" not in b[pn.b_start:pn.b_end]
    assert "Tennis" not in a[pn.a_start:pn.a_end] and "Asia" not in a[pn.a_start:pn.a_end]


# -- whole-text summaries (stage 10) -------------------------------------------------------

_SUMMARY = ("Two people died and thousands were evacuated when Storm Berenice dumped more than "
            "140 millimetres of rain on the Douro basin in northern Portugal. The river rose over six "
            "metres above its average at Peso da Régua, swamping the lower quays and cutting the N222. "
            "A man was found in a submerged car near Lamego and a woman was swept away in Marco de "
            "Canaveses. Some 38,000 homes were without power in Porto and Viseu, controlled releases "
            "from the Crestuma-Lever reservoir added to flooding downstream in Gaia and Ribeira, and a "
            "red warning kept schools in 14 municipalities closed.")
# Background on the same story: the same names and numbers, none of the source's phrasing.
_BACKGROUND = ("Portugal is still counting the cost of Storm Berenice. In Peso da Régua, Lamego and "
               "Marco de Canaveses, families are back in mud-filled kitchens, and E-Redes Norte "
               "technicians from Porto and Viseu are repairing lines. Councillors in Gaia want answers "
               "about the Crestuma-Lever dam; Ribeira shopkeepers say insurance will not cover their "
               "losses. Ana Pinheiro, who leads civil protection in the region, praised volunteers. "
               "Forecasters at the national weather institute expect calmer days and the N222 is open "
               "again between Régua and Lamego.")


def _summary_stage(a: str, b: str, rows=None):
    import numpy as np

    from newstrace.align import _range_cos, _summary_rows, seed_index
    from newstrace.tokens import tokenize_text

    ta, tb = tokenize_text(a), tokenize_text(b)
    a_uv, a_up, a_bv, a_bp = seed_index(ta.ids, ta.stop)
    b_uv, b_up, b_bv, b_bp = seed_index(tb.ids, tb.stop)
    doc_cos = _range_cos(a_uv, a_up, b_uv, b_up, 0, len(ta), 0, len(tb))
    rows = np.zeros((0, 5), np.int64) if rows is None else rows
    out = _summary_rows(rows, len(ta), len(tb), ta.stop, a_uv, a_up, a_bv, a_bp, b_uv, b_up, b_bv,
                        b_bp, doc_cos, DEFAULT_PARAMS.summary_contrast)
    return ta, tb, out


def test_a_block_summarising_the_whole_source_is_a_passage_background_is_not() -> None:
    originals = {r["id"]: r["text"] for r in load_originals()}
    source = originals["orig-01"]  # the storm report the summary condenses
    host_a, host_b = originals["orig-05"], originals["orig-09"]  # other stories around it
    for block, expected in ((_SUMMARY, True), (_BACKGROUND, False)):
        a = host_a + "\n\n" + block + "\n\n" + host_b
        lo, hi = len(host_a) + 2, len(host_a) + 2 + len(block)
        ta, tb, rows = _summary_stage(a, source)
        if not expected:
            assert rows.shape[0] == 0
            continue
        [(a_lo, a_hi, b_lo, b_hi, matched)] = rows.tolist()
        start, end = int(ta.starts[a_lo]), int(ta.ends[a_hi - 1])
        # the block (its sentences, not the other stories' around it) against nearly all
        # of the source
        assert start == lo and hi - 2 <= end <= hi
        assert int(tb.ends[b_hi - 1]) - int(tb.starts[b_lo]) > 0.9 * len(source)
        assert matched > 0


def test_summary_stage_leaves_dense_copies_and_copied_sources_alone() -> None:
    import numpy as np

    originals = {r["id"]: r["text"] for r in load_originals()}
    source, host_a, host_b = originals["orig-01"], originals["orig-05"], originals["orig-09"]
    a = host_a + "\n\n" + _SUMMARY + "\n\n" + host_b
    ta, tb, rows = _summary_stage(a, source)
    [(a_lo, a_hi, b_lo, b_hi, _)] = rows.tolist()
    # a dense copy over the block: it is a copy of part of B, not a summary of B
    dense = np.array([[a_lo, a_hi, 10, 10 + (a_hi - a_lo), a_hi - a_lo]], dtype=np.int64)
    assert _summary_stage(a, source, dense)[2].tolist() == dense.tolist()
    # other passages already cover most of B: B is copied, not summarised
    elsewhere = np.array([[0, 60, 0, len(tb) - 20, 40]], dtype=np.int64)
    assert _summary_stage(a, source, elsewhere)[2].tolist() == elsewhere.tolist()
    # a loose passage inside the block joins the summary passage
    loose = np.array([[a_lo + 10, a_lo + 40, 30, 60, 8]], dtype=np.int64)
    [merged] = _summary_stage(a, source, loose)[2].tolist()
    assert merged[0] <= a_lo + 10 and merged[1] >= a_lo + 40 and merged[3] - merged[2] > 0.9 * len(tb)
