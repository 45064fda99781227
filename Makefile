# Two entry points on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup sysdeps demo test lint bench clean

sysdeps:
	@command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing prometheus (Debian package)…"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager) >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)
	@test -x /usr/lib/postgresql/15/bin/initdb || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: sysdeps $(STAMP)

demo: setup
	$(BIN)/clusterdeck demo

test: setup
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:randomly

bench: setup
	$(BIN)/python bench/run.py

clean:
	-$(BIN)/clusterdeck lab down
	rm -rf $(VENV)
