"""Parameters: stored with the index, read back on open, layered with newstrace.toml and --set."""

from __future__ import annotations

import json

import pytest
from conftest import CORPORA

from newstrace.cli import _hoist_sets, main
from newstrace.errors import IncompatibleIndex, UserError
from newstrace.index import Index
from newstrace.params import DEFAULT_PARAMS, PARAMS, Params, parse_sets, read_config, resolve


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_every_parameter_has_help():
    assert [name for name, _, _ in PARAMS] == list(Params.__dataclass_fields__)
    assert all(doc for _, _, doc in PARAMS)


def test_parse_sets_types_and_errors():
    assert parse_sets(["min_density=0.5", "stem=false", "max_gap_tokens=12"]) == {
        "min_density": 0.5, "stem": False, "max_gap_tokens": 12}
    with pytest.raises(UserError, match="unknown parameter 'nope'"):
        parse_sets(["nope=1"])
    with pytest.raises(UserError, match="max_gap_tokens must be int"):
        parse_sets(["max_gap_tokens=1.5"])
    with pytest.raises(UserError, match="expected NAME=VALUE"):
        parse_sets(["min_density"])
    with pytest.raises(UserError, match="stem must be bool"):
        parse_sets(["stem=maybe"])


def test_config_file_errors_name_the_file(tmp_path):
    cfg = tmp_path / "newstrace.toml"
    cfg.write_text("[params]\nmin_density = 0.6\n")
    assert read_config(cfg) == {"min_density": 0.6}
    cfg.write_text("[params]\nmin_densty = 0.6\n")
    with pytest.raises(UserError, match=r"newstrace\.toml.*unknown parameter 'min_densty'"):
        read_config(cfg)
    cfg.write_text("[params\n")
    with pytest.raises(UserError, match="not valid TOML"):
        read_config(cfg)


def test_layers_override_in_order(tmp_path):
    stored = Params(min_density=0.5, max_gap_tokens=10).to_json()
    cfg = tmp_path / "newstrace.toml"
    cfg.write_text("[params]\nmax_gap_tokens = 12\nsnap_tokens = 2\n")
    params, origin = resolve(stored, cfg, {"snap_tokens": 3})
    assert (params.min_density, params.max_gap_tokens, params.snap_tokens) == (0.5, 12, 3)
    assert origin == {"min_density": "index", "max_gap_tokens": str(cfg), "snap_tokens": "--set"}
    # A stored field this version no longer has is ignored, not an error.
    legacy = json.dumps({**json.loads(stored), "retired_knob": 7})
    assert resolve(legacy, None)[0].min_density == 0.5


def test_index_reads_back_the_parameters_it_was_built_with(tmp_path):
    db = tmp_path / "news.duckdb"
    with Index.open(db, overrides={"min_density": 0.55}) as idx:
        idx.ingest([CORPORA / "wire_reprint" / "articles.jsonl"])
        idx.build()
    with Index.open(db, read_only=True) as idx:
        assert idx.params.min_density == 0.55
        assert idx.params.max_gap_tokens == DEFAULT_PARAMS.max_gap_tokens
    # Explicit parameters are used as given.
    with Index.open(db, DEFAULT_PARAMS, read_only=True) as idx:
        assert idx.params.min_density == DEFAULT_PARAMS.min_density
    # An index parameter cannot change once postings are stored.
    with pytest.raises(IncompatibleIndex, match=r"ngram_tokens=3 \(asked: 4\)"):
        Index.open(db, overrides={"ngram_tokens": 4})


def test_cli_set_anywhere_and_params_command(tmp_path, capsys):
    assert _hoist_sets(["trace", "x", "--set", "a=1", "--db", "d", "--set=b=2"]) == [
        "--set", "a=1", "--set=b=2", "trace", "x", "--db", "d"]
    db = tmp_path / "news.duckdb"
    code, _, err = run(["ingest", str(CORPORA / "wire_reprint" / "articles.jsonl"),
                        "--db", str(db), "-q"], capsys)
    assert code == 0, err
    code, _, err = run(["index", "--db", str(db), "-q", "--set", "merge_gap_tokens=33"], capsys)
    assert code == 0, err
    (tmp_path / "newstrace.toml").write_text("[params]\nsnap_tokens = 2\n")
    code, out, err = run(["params", "--db", str(db), "--json", "--set", "min_density=0.4"], capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["merge_gap_tokens"], shown["snap_tokens"], shown["min_density"]) == (33, 2, 0.4)
    code, out, _ = run(["params", "--db", str(db)], capsys)
    assert code == 0 and "merge_gap_tokens" in out and "snap_tokens" in out
    code, _, err = run(["stats", "--db", str(db), "--set", "bogus=1"], capsys)
    assert code == 1 and "unknown parameter 'bogus'" in err and "Traceback" not in err
