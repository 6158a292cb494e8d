# Thin wrappers around dev.py, which works without make too.
PYTHON ?= python3

.PHONY: demo test setup lint bench
demo:
	$(PYTHON) dev.py demo
test:
	$(PYTHON) dev.py test
setup:
	$(PYTHON) dev.py setup
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
bench:
	$(PYTHON) bench/run.py
