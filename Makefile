# One command sets up and runs the demo; one sets up and runs the tests.
# `make demo` installs only what the demo needs (no Spark, web or test tools);
# `make test` installs every extra. Both use the same .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
STAMP  := $(VENV)/.installed-$(HASH)
DEMO_STAMP := $(VENV)/.demo-installed-$(HASH)

.PHONY: demo test lint bench clean

$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	rm -f $(VENV)/.demo-installed-*
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[web,spark,eval,dev]'
	rm -f $(VENV)/.installed-* $(VENV)/.demo-installed-*
	touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/newstrace demo --db demo.duckdb --out demo-report

# pytest exits 5 when it collected no test: that is a failure, not a pass.
test: $(STAMP)
	$(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests were collected"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/index_reuters.py

clean:
	rm -rf $(VENV) demo.duckdb demo-report .pytest_cache
