# Sésame: `make run` starts the local stack; `make test` runs every check.
# Both set themselves up (virtualenv, dependencies) on a machine with Python 3.11 and make.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

PKG_STAGE := $(or $(STAGE),dev)
CFN_VENV := .venv-cfnlint
CFN_STAMP := $(CFN_VENV)/.installed

.PHONY: refuse-local run test lint types unit integration browser check-policy package \
	template-lint deploy verify-audit audit-digest api-credential bench load clean help \
	cold-start-assets

help:
	@echo "make run    - start the local stack on http://127.0.0.1:8000 (Ctrl-C stops)"
	@echo "make test   - lint, types, unit, integration and browser tests"
	@echo "make verify-audit - check the audit log against its signed digests (STAGE=prod: deployed)"
	@echo "make audit-digest - write one signed digest of the audit chain now"
	@echo "make api-credential NAME=proxy - a grants API client on the local stack (id, secret)"
	@echo "make load   - 20 clients through whole journeys on the local stack, then a reconciliation"

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-layer.txt requirements-dev.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m ops.check_policy policies --write-snapshot
	$(PY) -m local_stack

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/bandit -c pyproject.toml -q -r app.py chalicelib ops

types: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -m unit tests/unit

integration: $(STAMP)
	$(PY) -m pytest -m integration tests/integration

VNU_JAR := .venv/vnu/node_modules/vnu-jar/build/dist/vnu.jar

$(VNU_JAR): | $(STAMP)
	@command -v npm >/dev/null 2>&1 && command -v java >/dev/null 2>&1 || { \
	  echo "The HTML checker needs Node.js (npm) and Java 11+: apt-get install -y npm default-jre-headless"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .venv/vnu vnu-jar@26.9.27

browser: $(STAMP) $(VNU_JAR)
	@bash tests/browser/ensure_chromium.sh $(PY) > .venv/chromium-path
	SESAME_CHROMIUM="$$(tail -n 1 .venv/chromium-path)" SESAME_VNU_JAR="$(VNU_JAR)" \
	  $(PY) -m pytest -m browser tests/browser

$(CFN_STAMP):
	$(PYTHON) -m venv $(CFN_VENV)
	$(CFN_VENV)/bin/python -m pip install --quiet --upgrade pip
	# cfn-lint's SAM support pins an older pydantic: it gets a virtualenv of its own.
	$(CFN_VENV)/bin/python -m pip install --quiet cfn-lint==1.58.0 aws-sam-translator==1.115.0
	@touch $(CFN_STAMP)

refuse-local:
	@if [ "$(PKG_STAGE)" = "local" ]; then \
	  echo "The local stage is never deployed: it trusts loopback and has a development outbox."; \
	  echo "Use STAGE=dev or STAGE=prod."; exit 2; fi

package: refuse-local $(STAMP) $(CFN_STAMP)
	rm -rf build/$(PKG_STAGE)
	$(MAKE) --no-print-directory cold-start-assets
	# SESAME_DEV_ROUTES emptied: a package never has the /dev/* routes (app.py), even when built
	# from a shell or a test run that serves them.
	SESAME_DEV_ROUTES= AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-ca-central-1} $(VENV)/bin/chalice package \
	  --stage $(PKG_STAGE) --merge-template infra/template.json build/$(PKG_STAGE)
	# The sign-in and LDAP libraries (requirements-layer.txt): a layer beside the function zip,
	# Linux wheels for the stage's runtime and architecture (infra/template.json's SignInLayer).
	$(PY) -m ops.build_layer $(PKG_STAGE) build/$(PKG_STAGE)/signin-layer.zip
	$(CFN_VENV)/bin/cfn-lint build/$(PKG_STAGE)/sam.json
	# The client secret and bind password the policy files name must be readable by the role.
	$(PY) -m ops.check_grants $(PKG_STAGE) build/$(PKG_STAGE)/sam.json
	@echo "Template: build/$(PKG_STAGE)/sam.json  Package: build/$(PKG_STAGE)/deployment.zip  Layer: build/$(PKG_STAGE)/signin-layer.zip"

template-lint: package

# What a cold start loads instead of building it (docs/performance.md): the validated policy
# (policies/.validated.json), the compiled templates (templates/.compiled/) and the bytecode
# of app.py and chalicelib/ (hash-checked against the sources, so an edited file is compiled
# afresh; app.py's goes through vendor/, which the package copies to its root).
cold-start-assets: $(STAMP)
	$(PY) -m ops.check_policy policies --write-snapshot
	$(PY) -m ops.compile_templates
	$(PY) -m compileall -q --invalidation-mode checked-hash app.py chalicelib
	mkdir -p vendor/__pycache__
	cp __pycache__/app.cpython-*.pyc vendor/__pycache__/

deploy: refuse-local package
	@command -v sam >/dev/null 2>&1 || { echo "Deploying needs the AWS SAM CLI and credentials; see docs/deploy.md."; exit 1; }
	sam deploy --template-file build/$(PKG_STAGE)/sam.json --stack-name sesame-$(PKG_STAGE) \
	  --capabilities CAPABILITY_IAM --resolve-s3 --parameter-overrides SenderIdentity=$(SENDER_IDENTITY) \
	  $(if $(SENDER_ADDRESS),SenderAddress=$(SENDER_ADDRESS)) $(if $(ALARM_EMAILS),AlarmEmails=$(ALARM_EMAILS))

check-policy: $(STAMP)
	$(PY) -m ops.check_policy $(or $(DIR),policies)

# Checks the audit log (docs/audit.md): the chain, each signed digest (signature, link to the
# previous), the chain against every digest, each request against its last event; prints
# "intact: N events, M digests, last digest at ..." or the first failure and what it means
# (exit 1). Locally it reads the running `make run` emulator; STAGE=dev|prod reads the
# deployed tables, bucket and key (read-only) with the environment's AWS credentials.
# ANCHOR=N:HASH checks the chain alone against a hash noted earlier.
verify-audit: $(STAMP)
	$(PY) -m ops.verify_audit --stage $(or $(STAGE),local) $(if $(ANCHOR),--anchor $(ANCHOR),--digests)

# Writes one signed digest of the chain now (the hourly function does it by itself); locally
# at the local stack's clock. Deployed, it needs the digest function's role.
audit-digest: $(STAMP)
	SESAME_STATE_DIR=$${SESAME_STATE_DIR:-.local} $(PY) -m ops.audit_digest --stage $(or $(STAGE),local)

# Creates a grants API client on the running `make run` emulator and prints two lines,
# client_id=... and client_secret=... (the secret is shown once; only its hash is stored).
api-credential: $(STAMP)
	$(PY) -m local_stack.api_credential --name "$(or $(NAME),proxy)"

# Cold start, AWS calls, latency, package size and cost per use case (bench/run.py rewrites its
# section of docs/performance.md, with the pages at 100 / 10,000 / 100,000 items), then
# audit-chain append throughput, then the anchored verification of 100,000 events and
# 1,000 digests (bench/audit_verify_scale.py), then the delays from the last approval to the
# open door and from a revocation to the closed one, through the local stack's grants API, the
# helper and a real Squid (bench/proxy_delays.py: 3 grants, the sample's settings, each wait
# bounded at 90 s, about 3 minutes); about twelve minutes in all on 2 cores.
bench: $(STAMP) $(CFN_STAMP) cold-start-assets peer-squid
	$(PY) -m bench.run --write docs/performance.md
	$(PY) -m bench.audit_append --backend model --rtt-ms 5,10
	$(PY) -m bench.audit_append --backend moto --rtt-ms 0 --events 10
	$(PY) -m bench.audit_verify_scale --events 100000 --digests 1000 --write docs/performance.md
	$(PY) -m bench.proxy_delays --rounds 3 --refresh 20 --ttl 10 --timeout 90

test: lint types package unit integration browser

clean:
	rm -rf $(VENV) $(CFN_VENV) build .mypy_cache .ruff_cache .pytest_cache test-artifacts

# Concurrent clients through whole journeys against the local stack (under five minutes),
# then a reconciliation of what they were told with what is stored, audited and e-mailed.
load: $(STAMP)
	$(PY) -m bench.load --clients $(or $(CLIENTS),20) --requests $(or $(REQUESTS),500)

# The local OpenID Provider (panva's oidc-provider, pinned in local_stack/oidc/package-lock.json):
# installs Node.js from Debian when it is missing (as root), then `npm ci` when node_modules is
# missing or older than the lockfile. The integration tests start the provider themselves.
.PHONY: oidc-provider
oidc-provider: $(STAMP)
	$(PY) -m local_stack.oidc_process --install

integration: oidc-provider

# A real OpenLDAP slapd for the directory tests (tests/peers/slapd.py starts its own on loopback
# from local_stack/ldap/; openssl makes its test certificates): Debian's slapd, ldap-utils and
# openssl, installed when missing, never skipped.
.PHONY: peer-slapd
peer-slapd:
	@missing=; for program in slapd slapadd slappasswd openssl; do \
	  command -v $$program >/dev/null 2>&1 || [ -x /usr/sbin/$$program ] || missing=yes; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "The directory tests need: sudo apt-get install -y slapd ldap-utils openssl"; \
	    exit 1; fi; \
	  echo "Installing slapd, ldap-utils and openssl (Debian) for the directory tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt="apt-get -y -q -o DPkg::Lock::Timeout=300"; \
	  $$apt install slapd ldap-utils openssl >/dev/null 2>&1 || { \
	    $$apt update >/dev/null && $$apt install slapd ldap-utils openssl >/dev/null; }; \
	fi

integration: peer-slapd
# The browser stage's grant test reads the groups in the same slapd (test_grant_opens_squid.py).
browser: peer-slapd

# The Squid helper (proxy/) is tested against a real Squid: Debian's squid, with htpasswd for its
# password file. Installed here when missing (as root, never asking), so `make integration` never
# skips those tests; without root it says what to install.
SQUID_PACKAGES := squid apache2-utils

peer-squid:
	@if [ -x /usr/sbin/squid ] && command -v htpasswd >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SQUID_PACKAGES) \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SQUID_PACKAGES); }; \
	else echo "The Squid helper's tests need: apt-get install -y $(SQUID_PACKAGES) (as root)"; exit 1; fi

integration: peer-squid
browser: peer-squid

# The helper ships outside chalicelib (the network team installs it): lint and type it too.
lint-proxy: $(STAMP)
	$(VENV)/bin/bandit -c pyproject.toml -q -r proxy

types-proxy: $(STAMP)
	$(PY) -m mypy --strict proxy/sesame_squid_helper.py

lint: lint-proxy
types: types-proxy

.PHONY: peer-squid lint-proxy types-proxy
