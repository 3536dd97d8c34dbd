"""Resolve the hand labels in credits_labels.tsv to offsets and write credits_sample.jsonl.

Usage: python tests/data/make_credits_sample.py [--data ../shared/data]

The labels were written by reading each sampled document in full (see the README); this script only
finds each labelled snippet in its document and turns the [bracketed] name into character offsets.
It fails loudly when a snippet is missing or ambiguous. Output: one JSON object per document with
``doc`` ("helsinki:ID" / "reuters:ID"), ``split`` (``dev``: labelled first and used while
building the extractor; ``heldout``: labelled afterwards, never used to tune it), ``chars`` (length of the text), ``sha1`` (of the text) and
``credits`` (``start``, ``end``, ``text``, ``name``, ``kind``, ``form``, ``context``: 40 characters each
side) -- labels and short snippets only, never the whole article.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPORA = {"helsinki": "helsinki.jsonl.gz", "reuters": "reuters21578.jsonl.gz"}


def snippet_regex(snippet: str) -> re.Pattern[str]:
    m = re.fullmatch(r"(.*?)\[(.+?)\](.*)", snippet, flags=re.S)
    if not m:
        raise ValueError(f"no [name] in snippet {snippet!r}")
    before, name, after = m.groups()

    def lit(s: str) -> str:
        return r"\s+".join(re.escape(p) for p in s.split(" "))

    left = lit(before) if before else r"(?<!\w)"
    right = lit(after) if after else r"(?!\w)"
    return re.compile(left + "(" + lit(name) + ")" + right)


def load_texts(data: Path, wanted: dict[str, set[str]]) -> dict[str, str]:
    out = {}
    for corpus, ids in wanted.items():
        with gzip.open(data / CORPORA[corpus], "rt", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if str(d["id"]) in ids:
                    out[f"{corpus}:{d['id']}"] = d["text"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    ap.add_argument("--labels", type=Path, default=HERE / "credits_labels.tsv")
    ap.add_argument("--out", type=Path, default=HERE / "credits_sample.jsonl")
    args = ap.parse_args()
    rows, split, splits = [], "dev", {}
    for ln in args.labels.read_text(encoding="utf-8").splitlines():
        if not ln.strip() or ln.startswith("#"):
            continue
        r = ln.rstrip("\n").split("\t")
        if r[0] == "@split":
            split = r[1]
            continue
        splits.setdefault(r[0], split)
        rows.append(r)
    order: list[str] = []
    wanted: dict[str, set[str]] = {}
    for r in rows:
        if r[0] not in order:
            order.append(r[0])
        corpus, _, doc_id = r[0].partition(":")
        wanted.setdefault(corpus, set()).add(doc_id)
    texts = load_texts(args.data, wanted)
    docs: dict[str, list[dict]] = {d: [] for d in order}
    for r in rows:
        doc = r[0]
        if doc not in texts:
            print(f"error: {doc} not found in the corpora", file=sys.stderr)
            return 1
        if r[1] == "-":
            continue
        snippet, name, kind, form = r[1:5]
        occ = r[5] if len(r) > 5 else None
        text = texts[doc]
        hits = list(snippet_regex(snippet).finditer(text))
        if not hits:
            print(f"error: {doc}: snippet {snippet!r} not found", file=sys.stderr)
            return 1
        if occ is None:
            if len(hits) != 1:
                print(f"error: {doc}: snippet {snippet!r} occurs {len(hits)} times", file=sys.stderr)
                return 1
            chosen = hits
        elif occ == "*":
            chosen = hits
        else:
            chosen = [hits[int(occ)]]
        for h in chosen:
            s, e = h.span(1)
            docs[doc].append({"start": s, "end": e, "text": text[s:e], "name": name, "kind": kind, "form": form,
                              "context": text[max(0, s - 40):e + 40]})
    n = 0
    with args.out.open("w", encoding="utf-8") as fh:
        for doc in order:
            text = texts[doc]
            creds = sorted(docs[doc], key=lambda c: (c["start"], c["end"]))
            n += len(creds)
            fh.write(json.dumps({"doc": doc, "split": splits[doc], "chars": len(text), "sha1": hashlib.sha1(text.encode()).hexdigest(),
                                 "credits": creds}, ensure_ascii=False) + "\n")
    print(f"{len(order)} documents, {n} credit mentions, "
          f"{sum(1 for d in order if not docs[d])} documents without credits -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
