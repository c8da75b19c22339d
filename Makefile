# Two commands matter on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run run-scaled test lint install install-dev system-deps bench

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Debian's packages the tests drive: chromium (Playwright cannot download its
# own here) and nginx (tests/deploy runs the shipped site). Missing ones are
# skipped by the tests, and fail them under CI.
SYSTEM_DEPS := /usr/bin/chromium:chromium /usr/sbin/nginx:nginx
system-deps:
	@missing=$$(for dep in $(SYSTEM_DEPS); do test -x $${dep%%:*} || echo $${dep#*:}; done); \
	test -z "$$missing" || { \
	  echo "installing Debian's $$missing for the tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	  || { echo "WARNING: could not install $$missing; their tests will be skipped (CI: fail)"; \
	       test -z "$$CI"; }; }

# One process: daphne and the coordinator on the in-memory layer.
run: export DEBUG ?= 1
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --coordinator --host $(HOST) --port $(PORT)

# Redis: one coordinator and two daphne processes, each `manage.py serve` for
# its limits on slow and oversized requests (docs/running.md). The trap
# is needed because a non-interactive shell starts background jobs with
# Ctrl-C ignored.
run-scaled: install
	@test -n "$$REDIS_URL" || { echo "run-scaled needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0 make run-scaled" >&2; exit 2; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve --host $(HOST) --port $(PORT) & a=$$!; \
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve --host $(HOST) --port $$(($(PORT) + 1)) & b=$$!; \
	$(PY) manage.py run_coordinator & c=$$!; \
	trap 'kill -TERM $$c $$a $$b 2>/dev/null; wait; exit 0' INT TERM; \
	wait

# Lint and format check first: a red lint is cheaper to see than a red suite.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev system-deps lint
	$(PY) -m pytest

$(VENV)/.bench: $(VENV)/.dev requirements-bench.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.txt
	touch $@

# The benchmark matrix against a real daphne + Redis + PostgreSQL (bench/README.md).
bench: $(VENV)/.bench
	$(PY) -m bench.run --out BENCHMARKS.md
