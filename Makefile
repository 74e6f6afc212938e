# The book's commands. Each target sets up .venv on first use (and again only when the requirements change).
#   make book    run every notebook headless, in chapter order, on the embedded default
#   make test    ruff + the whole pytest suite
#   make lab     open JupyterLab
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS ?=
PYTEST_ARGS ?=

.PHONY: setup book book-refresh test lint lab tokenizer clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . 2>/dev/null || \
		$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	$(PY) -m shared.notebook_runner $(NOTEBOOKS)

book-refresh: $(STAMP)
	$(PY) -m shared.notebook_runner --refresh $(NOTEBOOKS)

lint: $(STAMP)
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

lab: $(STAMP)
	$(PY) -m jupyter lab

tokenizer: $(STAMP)
	$(PY) -m shared.embedded_bpe --retrain

clean:
	rm -rf out .pytest_cache .ruff_cache
