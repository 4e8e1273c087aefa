# The two set-up commands: each makes .venv when needed and installs what it uses, at the exact versions of
# constraints.txt (`make constraints` refreshes them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIN := --constraint constraints.txt

.PHONY: demo playground test chromium crash bench lint typecheck check constraints clean

# No build isolation: the package is built with the pinned setuptools installed here, not whichever is newest.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIN) pip setuptools
	$(BIN)/python -m pip install --quiet $(PIN) --no-build-isolation -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/referral-bot demo

# Both sides in the browser, a phone with Telegram and the team's Slack, until Ctrl-C: it prints the page's address.
playground: $(STAMP)
	$(BIN)/referral-bot playground

test: $(STAMP) chromium
	$(BIN)/python -m pytest

# The browser tests (tests/test_landing_page.py, tests/test_playground.py) drive Debian's chromium: installed here
# when missing, as root, with the emoji font the bot's messages need in the README's screenshots; anyone else is told
# how. SKIP_BROWSER=1 skips both the install and those tests.
chromium:
	@test "$(SKIP_BROWSER)" = 1 || test -x /usr/bin/chromium || { \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "make: installing Debian's chromium for the browser tests"; \
	        export DEBIAN_FRONTEND=noninteractive; \
	        apt-get install -y -q chromium fonts-noto-color-emoji \
	            || { apt-get update -q && apt-get install -y -q chromium fonts-noto-color-emoji; }; \
	    else \
	        echo "make: the browser tests need /usr/bin/chromium: run 'sudo apt-get install -y chromium'" \
	             "(or SKIP_BROWSER=1 make test to skip them)" >&2; \
	        exit 1; \
	    fi; }

crash: $(STAMP)
	$(BIN)/python -m pytest -m crash -s tests/test_crash.py

# Benchmarks (minutes long; results under bench/results/, table in docs/benchmarks.md). BENCH=<word> picks some.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

# ruff, then the layer rules of pyproject.toml's [tool.importlinter] (who may import what; no import cycles).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy --strict over the five packages, the tests and the benchmarks (pyproject.toml's [tool.mypy] files).
typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# The newest versions pyproject.toml's ranges allow, resolved in a scratch environment and written down exactly.
constraints:
	rm -rf .venv-pin && $(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --quiet --upgrade pip 'setuptools>=77,<85'
	.venv-pin/bin/python -m pip install --quiet --no-build-isolation -e '.[dev]'
	(echo "# Exact versions of everything make, CI and the README's deploy steps install. Refresh: make constraints"; \
	 .venv-pin/bin/python -m pip freeze --all --exclude-editable | LC_ALL=C sort -f) > constraints.txt
	rm -rf .venv-pin

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
