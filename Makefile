# Shortcuts for tasks.py, which does the work (and is what to use where there is no make, e.g. Windows).
#   make book    run every notebook headless, in book order, on the embedded default
#   make test    ruff + the whole pytest suite          make quick   the same without the notebook runs
#   make lab     open JupyterLab                        make env     check the environment
PYTHON ?= python3
NOTEBOOKS ?=
PYTEST_ARGS ?=

.PHONY: setup book book-refresh test quick lab env tokenizer clean

setup:
	$(PYTHON) tasks.py setup

book:
	$(PYTHON) tasks.py book $(NOTEBOOKS)

book-refresh:
	$(PYTHON) tasks.py book --refresh $(NOTEBOOKS)

test:
	$(PYTHON) tasks.py test $(PYTEST_ARGS)

quick:
	$(PYTHON) tasks.py test --quick $(PYTEST_ARGS)

lab:
	$(PYTHON) tasks.py lab

env:
	$(PYTHON) tasks.py env

tokenizer: setup
	.venv/bin/python -m shared.embedded_bpe --retrain

clean:
	rm -rf out .pytest_cache .ruff_cache
