"""Crash safety: ``newstrace index`` killed with SIGKILL at random points, then run
again, ends with exactly the database an uninterrupted run produces.

The corpus (2,270 synthetic articles: 2,050 originals and 220 copies of passages
from one or two of them, with 10% of words changed) is big enough that the
fingerprint stage runs in two batches and every stage takes measurable time.
A kill counts as a *kill point* only when the database it leaves behind differs
from the finished one (the build really was mid-work). Compared exactly, table
by table: documents (without ``ingested_at``), postings, fingerprinted, pairs,
paired, passages (without ``passage_id``), clusters, cluster_members, families,
and the provenance tables when present.

``$NEWSTRACE_KILL_COUNT_FILE``, if set, receives the number of kill points survived.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

KILL_POINTS = int(os.environ.get("NEWSTRACE_KILL_POINTS", "10"))

COMPARED = {
    "documents": "doc_key, id, url, publisher, published_at, title, text, content_hash, n_chars",
    "postings": "*",
    "fingerprinted": "*",
    "pairs": "*",
    "paired": "*",
    "passages": "a_key, b_key, a_id, b_id, a_start, a_end, b_start, b_end, score, a_tokens, "
                "b_tokens, matched_tokens",
    "clusters": "*",
    "cluster_members": "*",
    "families": "*",
}
OPTIONAL = ("edges", "doc_provenance", "substitutions", "cluster_provenance")


def synthetic_corpus(n_orig: int = 2050, n_copy: int = 220, seed: int = 7) -> list[dict[str, str]]:
    """Deterministic articles: random-word originals and partial, lightly edited copies."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnoprstuvwy") for _ in range(rng.randint(3, 9)))
             for _ in range(6000)]
    stop = ["the", "of", "and", "to", "in", "a", "said", "on", "for", "with"]
    origs = []
    for i in range(n_orig):
        words = [rng.choice(stop) if rng.random() < 0.3 else rng.choice(vocab)
                 for _ in range(rng.randint(60, 120))]
        sents = [" ".join(words[j:j + 15]).capitalize() + "." for j in range(0, len(words), 15)]
        origs.append({"id": f"orig-{i:04d}", "text": " ".join(sents),
                      "published_at": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                      "publisher": f"agency-{i % 5}"})
    out = list(origs)
    for k in range(n_copy):
        parts = []
        for src in rng.sample(origs, rng.choice([1, 1, 2])):
            w = src["text"].split()
            a = rng.randint(0, len(w) // 2)
            b = min(len(w), a + rng.randint(40, 120))
            parts.append(" ".join(rng.choice(vocab) if rng.random() < 0.1 else x for x in w[a:b]))
        filler = " ".join(rng.choice(vocab) for _ in range(rng.randint(10, 60)))
        out.append({"id": f"copy-{k:04d}", "text": filler + ". " + " ".join(parts),
                    "published_at": f"2024-02-{1 + k % 28:02d}T10:00:00+01:00",
                    "publisher": f"outlet-{k % 40}"})
    return out


def _index_cmd(db: Path) -> list[str]:
    return [sys.executable, "-m", "newstrace", "index", "--db", str(db), "--quiet"]


def _copy_db(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))


def differences(db: Path, ref: Path) -> dict[str, int]:
    """Rows that differ (both directions, with multiplicity) per table; {} if identical."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute(f"ATTACH '{ref}' AS ref (READ_ONLY)")
        tables = dict(COMPARED)
        for t in OPTIONAL:
            have = [con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = ?",
                [t, d]).fetchone()[0] for d in (con.execute("SELECT current_database()").fetchone()[0], "ref")]
            if any(have):
                tables[t] = "*" if all(have) else None  # type: ignore[assignment]
        out = {}
        for table, cols in tables.items():
            if cols is None:
                out[table] = -1
                continue
            n = con.execute(
                f"""SELECT (SELECT count(*) FROM (SELECT {cols} FROM main.{table}
                                                  EXCEPT ALL SELECT {cols} FROM ref.{table}))
                         + (SELECT count(*) FROM (SELECT {cols} FROM ref.{table}
                                                  EXCEPT ALL SELECT {cols} FROM main.{table}))"""
            ).fetchone()[0]
            if n:
                out[table] = int(n)
        return out
    finally:
        con.close()


def stage_of(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:

        def q(sql: str) -> int:
            return con.execute(sql).fetchone()[0]

        docs, fp = q("SELECT count(*) FROM documents"), q("SELECT count(*) FROM fingerprinted")
        if fp < docs:
            return f"fingerprint ({fp}/{docs})"
        if q("SELECT count(*) FROM paired") < docs:
            return "candidates"
        pending = q("SELECT count(*) FROM pairs WHERE NOT aligned")
        if pending:
            return f"align ({pending} pairs left)"
        return "cluster/provenance"
    finally:
        con.close()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from newstrace.index import Index

    tmp = tmp_path_factory.mktemp("crash")
    src = tmp / "corpus.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in synthetic_corpus()))
    db = tmp / "ingested.duckdb"
    with Index.open(db) as idx:
        report = idx.ingest([src])
    assert report.added == 2270 and not report.rejected
    return db


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_equals_uninterrupted(ingested: Path) -> None:
    tmp = ingested.parent
    ref, db = tmp / "ref.duckdb", tmp / "crashed.duckdb"
    _copy_db(ingested, ref)
    _copy_db(ingested, db)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "newstrace", "--help"], check=True, capture_output=True)
    startup = time.perf_counter() - t0  # interpreter + imports: kills before this hit no work
    t0 = time.perf_counter()
    subprocess.run(_index_cmd(ref), check=True, capture_output=True, timeout=300)
    full = time.perf_counter() - t0
    assert differences(ingested, ref)  # the build does change the database

    rng = random.Random(int(os.environ.get("NEWSTRACE_KILL_SEED", "20260528")))
    kills: list[tuple[float, str]] = []
    attempts = chains = 0
    while len(kills) < KILL_POINTS and attempts < 5 * KILL_POINTS:
        # one chain: start from the ingested database, kill repeatedly until a run finishes
        chains += 1
        _copy_db(ingested, db)
        while attempts < 5 * KILL_POINTS:
            attempts += 1
            proc = subprocess.Popen(_index_cmd(db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            delay = rng.uniform(startup, full)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            else:
                err = proc.stderr.read().decode() if proc.stderr else ""
                assert proc.returncode == 0, err
                break  # finished before the kill: this chain is complete
            finally:
                if proc.stderr:
                    proc.stderr.close()
            if differences(db, ref):
                kills.append((round(delay, 2), stage_of(db)))
        final = subprocess.run(_index_cmd(db), capture_output=True, text=True, timeout=300, check=False)
        assert final.returncode == 0, final.stderr
        assert differences(db, ref) == {}, f"chain {chains}: resumed build differs from uninterrupted"
    out = os.environ.get("NEWSTRACE_KILL_COUNT_FILE")
    if out:
        Path(out).write_text(json.dumps({"kill_points": len(kills), "runs": attempts, "chains": chains,
                                         "kills": kills}))
    print(f"\nkill points survived: {len(kills)} in {attempts} runs, {chains} chains; {kills}")
    assert len(kills) >= min(KILL_POINTS, 10), kills
    assert len({stage.split(" ")[0] for _, stage in kills}) >= 2, kills  # not all in one stage


def test_rerun_after_finished_build_changes_nothing(ingested: Path) -> None:
    tmp = ingested.parent
    db = tmp / "twice.duckdb"
    _copy_db(ingested, db)
    from newstrace.index import Index

    with Index.open(db) as idx:
        idx.build()
    snap = tmp / "twice-snapshot.duckdb"
    _copy_db(db, snap)
    with Index.open(db) as idx:
        report = idx.build()
    assert (report.fingerprinted, report.candidate_pairs, report.aligned_pairs) == (0, 0, 0)
    assert differences(db, snap) == {}
