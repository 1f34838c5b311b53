# Sésame: `make run` starts the local stack; `make test` runs every check.
# Both set themselves up (virtualenv, dependencies) on a machine with Python 3.11 and make.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint types unit integration browser check-policy verify-audit bench clean help

help:
	@echo "make run    - start the local stack on http://127.0.0.1:8000 (Ctrl-C stops)"
	@echo "make test   - lint, types, unit, integration and browser tests"
	@echo "make verify-audit - check the audit chain of the local stack (STAGE=prod: deployed)"

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m chalicelib.policy_check policies
	$(PY) -m local_stack

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

types: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -m unit tests/unit

integration: $(STAMP)
	$(PY) -m pytest -m integration tests/integration

browser: $(STAMP)
	SESAME_CHROMIUM="$$(bash scripts/ensure_chromium.sh $(PY) | tail -n 1)" && \
	  export SESAME_CHROMIUM && $(PY) -m pytest -m browser tests/browser

check-policy: $(STAMP)
	$(PY) -m chalicelib.policy_check $(or $(DIR),policies)

# Walks the audit chain: "intact, N events, last hash ..." or the first bad event (exit 1).
# Locally it reads the running `make run` emulator; STAGE=dev|prod reads the deployed tables
# with the AWS credentials of the environment. ANCHOR=N:HASH checks against an earlier hash.
verify-audit: $(STAMP)
	$(PY) -m chalicelib.audit_verify --stage $(or $(STAGE),local) $(if $(ANCHOR),--anchor $(ANCHOR))

# Audit-chain append throughput (figures in docs/performance.md); about two minutes.
bench: $(STAMP)
	$(PY) -m bench.audit_append --backend model --rtt-ms 5,10
	$(PY) -m bench.audit_append --backend moto --rtt-ms 0 --events 10

test: lint types unit integration browser

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
