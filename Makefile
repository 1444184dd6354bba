# The two commands: `make demo` and `make test`. Both build .venv from pyproject.toml first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck install clean bench fuzz profile compose-secrets

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv installs the same pins in seconds where it is on PATH; pip otherwise.
	if command -v uv >/dev/null 2>&1; then \
		uv pip install --quiet --python $(PY) -e '.[dev]'; \
	else \
		$(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -e '.[dev]'; \
	fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m governance.demo

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy governance audit registry

# Unit and integration tests on SQLite (the embedded default), then again on PostgreSQL.
test: $(STAMP) lint typecheck
	$(PY) -m governance.testing.run

# Schemathesis over the live schema for every role with ten times the examples and stateful steps of
# `make test` (tests/schema/fuzzing.py), on SQLite; set DATABASE_URL for PostgreSQL.
fuzz: $(STAMP)
	FUZZ_EXAMPLES_FACTOR=$${FUZZ_EXAMPLES_FACTOR:-10} $(PY) -m pytest tests/schema -q

# Each kind of request 200 times in process under cProfile: var/profile/<kind>.txt and summary.json, a JSON
# line per kind (ms and SQL statements per request). SQLite; set DATABASE_URL for PostgreSQL.
profile: $(STAMP)
	$(PY) bench/profile.py

bench: $(STAMP)
	$(PY) bench/audit_append.py
	$(PY) bench/audit_proof.py
	$(PY) bench/audit_verify.py
	$(PY) bench/consent.py
	$(PY) bench/drift.py
	$(PY) bench/lineage.py
	$(PY) bench/jobs.py
	$(PY) bench/serving.py
	$(PY) bench/mlflow_api.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Secrets for docker-compose.yml, written once into ./secrets (never committed).
compose-secrets: $(STAMP)
	mkdir -p secrets && chmod 700 secrets
	test -f secrets/django_secret_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > secrets/django_secret_key
	test -f secrets/pseudonym_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > secrets/pseudonym_key
	test -f secrets/grant_signing_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > secrets/grant_signing_key
	test -f secrets/postgres_password || $(PY) -c "import secrets; print(secrets.token_urlsafe(24))" > secrets/postgres_password
	test -f secrets/database_url || echo "postgres://governance:$$(cat secrets/postgres_password)@postgres:5432/governance" > secrets/database_url
	test -f secrets/audit_signing_key.pem || AUDIT_LOG_ORIGIN=$${AUDIT_LOG_ORIGIN:-governance.example/audit} $(PY) manage.py audit keygen --out secrets/audit_signing_key.pem
	test -f secrets/model_signing_key.pem || $(PY) manage.py model_signing_key generate --out secrets/model_signing_key.pem
	chmod 600 secrets/*
