"""Syndication at scale (issue 17): reprinted stories stay one cluster; candidates stay linear.

Modes (one per run, so peak RSS is per mode):

- ``--copies N``: Reuters-21578 plus ``--stories`` (20) of its articles each reprinted N
  times (per-copy dateline, byline, footer, two small word edits, a random publication
  time 1-72 h after the original; copies are stored before the originals, so a group's
  first stored document is not its earliest). Checks every story is one cluster holding
  the original and all its copies, that cluster's earliest source is the original, and
  ``trace`` of a further copy lists the original first. Prints index time and peak RSS.
- ``--phrases N``: the adversarial corpus: N short documents of 20 five-word phrases, each
  phrase in 59 documents. Prints candidate pairs and fingerprint+candidate time with the
  default cap and with ``max_pairs_per_doc=0`` (no alignment is run).
- ``--pan DIR``: candidate recall on PAN: every document of DIR indexed (fingerprint +
  candidates only); share of the listed plagiarism pairs (and of their case characters)
  that are candidates, with the default cap and without.

Usage: python bench/syndication.py --copies 100 | --phrases 2000 | --pan ../shared/data/pan13-train
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from newstrace import Index
from newstrace.candidates import find_new_candidates
from newstrace.params import DEFAULT_PARAMS, Params

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CITIES = ["LONDON", "NEW YORK", "TOKYO", "PARIS", "SYDNEY", "CHICAGO", "TORONTO", "BERLIN", "MADRID", "DUBAI"]
FIRST = ["Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kemal", "Lena"]
LAST = ["Smith", "Okafor", "Tanaka", "Garcia", "Novak", "Rossi", "Kim", "Dubois", "Silva", "Berg"]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reprint(text: str, outlet: str, rng: random.Random) -> str:
    """A copy as a syndicating site prints it."""
    words = text.split()
    for _ in range(2):  # small edits: a word changed or dropped
        j = rng.randrange(len(words))
        if rng.random() < 0.5:
            words[j] = rng.choice(["reportedly", "also", "now", "further", "recently"])
        else:
            del words[j]
    dateline = f"{rng.choice(CITIES)}, {rng.randint(1, 28)} March ({outlet}) -"
    byline = f"By {rng.choice(FIRST)} {rng.choice(LAST)}, {outlet} staff"
    footer = f"Copyright {outlet}. Distributed under licence. Read more at {outlet.lower().replace(' ', '')}.example"
    return f"{byline}\n\n{dateline} " + " ".join(words) + f"\n\n{footer}"


def syndication(n_copies: int, n_stories: int, seed: int, data: Path, db: Path | None = None) -> int:
    rng = random.Random(seed)
    with gzip.open(data, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    # stories with no near copy of their own in Reuters (it holds some): their original is known
    starts: dict[str, int] = {}
    for r in records:
        starts[r["text"][:200]] = starts.get(r["text"][:200], 0) + 1
    pool = [r for r in records
            if 200 <= len(r["text"].split()) <= 600 and r.get("date") and starts[r["text"][:200]] == 1]
    stories = rng.sample(pool, n_stories)
    outlets = [f"Outlet {i:04d}" for i in range(max(300, n_copies // 5))]
    copies: list[dict[str, Any]] = []
    for s, story in enumerate(stories):
        t0 = datetime.fromisoformat(story["date"])
        for i in range(n_copies):
            outlet = rng.choice(outlets)
            when = t0 + timedelta(minutes=rng.randint(60, 72 * 60))
            copies.append({"id": f"syn-{s:02d}-{i:05d}", "publisher": outlet, "published_at": when.isoformat(),
                           "text": _reprint(story["text"], outlet, rng)})
    rng.shuffle(copies)
    with tempfile.TemporaryDirectory() as tmp, Index.open(db or Path(tmp) / "s.duckdb") as idx:
        t = time.perf_counter()
        idx.add(copies)
        idx.add(records)
        t_ingest = time.perf_counter() - t
        t = time.perf_counter()
        rep = idx.build()
        t_build = time.perf_counter() - t
        con = idx.con
        rows = []
        ok_cluster = ok_earliest = ok_trace = 0
        t_trace = 0.0
        for s, story in enumerate(stories):
            prefix = f"syn-{s:02d}-"
            best = con.execute(
                """
                SELECT c.cluster_id, c.earliest_id, c.n_docs,
                       count(DISTINCT m.id) FILTER (WHERE m.id LIKE ? || '%') AS copies
                FROM cluster_members m JOIN clusters c USING (cluster_id)
                WHERE m.cluster_id IN (SELECT cluster_id FROM cluster_members WHERE id = ?)
                GROUP BY ALL ORDER BY copies DESC LIMIT 1
                """,
                [prefix, story["id"]],
            ).fetchall()
            cid, earliest, n_docs, n_in = best[0] if best else (None, None, 0, 0)
            one = n_in == n_copies
            early = earliest == story["id"]
            query = _reprint(story["text"], "Outlet New", random.Random(seed * 1000 + s))
            t = time.perf_counter()
            result = idx.trace(query)
            t_trace += time.perf_counter() - t
            first = result["sources"][0]["id"] if result["sources"] else None
            ok_cluster += one
            ok_earliest += early
            ok_trace += first == story["id"]
            rows.append((s, story["id"], n_in, n_docs, earliest, first))
        print(f"copies per story      {n_copies}")
        print(f"documents             {len(records) + len(copies)}")
        print(f"ingest                {t_ingest:.1f} s")
        print(f"build                 {t_build:.1f} s  ({', '.join(f'{k} {v:.1f}' for k, v in rep.seconds.items())})")
        print(f"candidate pairs       {idx.stats()['candidate_pairs']}")
        print(f"near-duplicate docs   {con.execute('SELECT count(*) FROM near_dups').fetchall()[0][0]}")
        print(f"one cluster, all copies  {ok_cluster}/{n_stories}")
        print(f"earliest = original      {ok_earliest}/{n_stories}")
        print(f"trace names original 1st {ok_trace}/{n_stories}   ({t_trace / n_stories * 1000:.0f} ms per trace)")
        bad = [r for r in rows if r[2] != n_copies or r[4] != r[1] or r[5] != r[1]]
        for r in bad[:10]:
            print(f"  story {r[0]}: original {r[1]}, copies in its cluster {r[2]}, cluster docs {r[3]}, "
                  f"earliest {r[4]}, trace first {r[5]}")
        print(f"peak RSS              {_rss_mib():,.0f} MiB")
    return 0


def _phrase_corpus(n_docs: int, per_doc: int = 20, df: int = 59, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    n_phrases = n_docs * per_doc // df
    slots = [j for j in range(n_phrases) for _ in range(df)]
    rng.shuffle(slots)
    vocab = [f"w{i}" for i in range(50_000)]
    phrases = [" ".join(rng.choice(vocab) for _ in range(5)) for _ in range(n_phrases)]
    docs = []
    for i in range(n_docs):
        mine = slots[i * per_doc:(i + 1) * per_doc]
        docs.append({"id": f"adv{i}", "text": ". ".join(phrases[j] for j in mine) + "."})
    return docs


def _candidates_only(docs: list[dict[str, Any]], params: Params) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "a.duckdb", params) as idx:
        idx.add(docs)
        t = time.perf_counter()
        idx._fingerprint(lambda *_: None)
        t_fp = time.perf_counter() - t
        t = time.perf_counter()
        n = find_new_candidates(idx.con, params)
        return n, t_fp, time.perf_counter() - t


def phrases(n_docs: int) -> int:
    docs = _phrase_corpus(n_docs)
    words = sum(len(d["text"].split()) for d in docs)
    print(f"adversarial corpus: {n_docs} documents, {words} words, each 5-word phrase in 59 documents")
    print(f"{'max_pairs_per_doc':>18} {'pairs':>12} {'fingerprint s':>14} {'candidates s':>13}")
    for cap in (DEFAULT_PARAMS.max_pairs_per_doc, 0):
        n, t_fp, t_c = _candidates_only(docs, DEFAULT_PARAMS.with_overrides(max_pairs_per_doc=cap))
        print(f"{cap:>18} {n:>12,} {t_fp:>14.1f} {t_c:>13.1f}")
    print(f"possible pairs {n_docs * (n_docs - 1) // 2:,}; peak RSS {_rss_mib():,.0f} MiB")
    return 0


def pan(directory: Path) -> int:
    from newstrace.evaluate import load_pan

    corpus = load_pan(directory)
    docs = [{"id": k, "text": v} for k, v in corpus.documents.items()]
    positive = [p for p in corpus.pairs if p.obfuscation != "none"]
    print(f"PAN: {len(docs)} documents, {len(positive)} plagiarism pairs")
    print(f"{'max_pairs_per_doc':>18} {'pairs':>9} {'pair recall':>12} {'case-char recall':>17}")
    for cap in (DEFAULT_PARAMS.max_pairs_per_doc, 0):
        params = DEFAULT_PARAMS.with_overrides(max_pairs_per_doc=cap)
        with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "p.duckdb", params) as idx:
            idx.add(docs)
            idx._fingerprint(lambda *_: None)
            n = find_new_candidates(idx.con, params)
            got = set(idx.con.execute(
                "SELECT a.id, b.id FROM pairs p JOIN documents a ON a.doc_key = p.a_key "
                "JOIN documents b ON b.doc_key = p.b_key").fetchall())
        hit = [p for p in positive if (p.suspicious, p.source) in got or (p.source, p.suspicious) in got]
        chars = sum(c.susp_length for p in positive for c in p.cases) or 1
        hit_chars = sum(c.susp_length for p in hit for c in p.cases)
        print(f"{cap:>18} {n:>9,} {len(hit) / len(positive):>12.4f} {hit_chars / chars:>17.4f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--copies", type=int, help="reprints per story (100, 1000, 5000)")
    mode.add_argument("--phrases", type=int, help="documents in the adversarial phrase corpus")
    mode.add_argument("--pan", type=Path, help="PAN-layout directory: candidate recall with/without the cap")
    ap.add_argument("--stories", type=int, default=20)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--data", type=Path, default=DATA / "reuters21578.jsonl.gz")
    ap.add_argument("--db", type=Path, default=None, help="keep the --copies index here (a new file)")
    args = ap.parse_args()
    if args.copies is not None:
        if not args.data.exists():
            print(f"error: {args.data} not found (needs ../shared/data)", file=sys.stderr)
            return 1
        return syndication(args.copies, args.stories, args.seed, args.data, args.db)
    if args.phrases is not None:
        return phrases(args.phrases)
    return pan(args.pan)


if __name__ == "__main__":
    raise SystemExit(main())
