# Developer entry points. `make test` is what CI runs (via .ci/run).
VENV := .venv
BIN  := $(VENV)/bin

.PHONY: venv browser run test test-deep lint bench clean

venv: $(VENV)/.stamp

# (Re)install only when pyproject.toml changes.
$(VENV)/.stamp: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "please install chromium (apt-get install chromium)"; exit 1; fi; }

run: venv
	$(BIN)/gongji serve --demo --db sqlite:///./gongji.db --host 127.0.0.1 --port 8000

test: venv browser
	$(BIN)/pytest -q -n 2 -m "not deep"

# The long fuzzing, stateful and crash runs (README "Reliability and security").
test-deep: venv browser
	$(BIN)/pytest -q -n 2 -m deep

# Pyflakes, import order and the layer rules (the rules the tree keeps clean).
lint: venv
	$(BIN)/python -m pip install -q -e '.[lint]'
	$(BIN)/ruff check --select F,I src tests bench
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/test_architecture.py  # layers and cycles

# Benchmarks (bench/README.md): a throwaway durable PostgreSQL, the service, wrk and
# pgbench; results in bench/results/. BENCH_ARGS="--postings 10000000" for the full run.
bench: venv $(VENV)/.bench-stamp
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "please install wrk (apt-get install wrk)"; exit 1; fi; }
	$(BIN)/python -m bench $(BENCH_ARGS)

$(VENV)/.bench-stamp: pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .hypothesis .pgtest artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
