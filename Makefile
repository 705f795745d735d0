# Every target installs what it needs into .venv first, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: serve demo test node-deps lint proto bench bench-smoke docker-check clean

# Serving needs the runtime dependencies only; tests, lint and benchmarks add the test extra.
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## serve: run the server on its embedded store (127.0.0.1:50051, data in ./jis-data)
serve: $(RUNTIME)
	$(VENV)/bin/jis serve

## demo: a test-clock server on a throwaway store, and a simulated 8-hour day played against it
demo: $(RUNTIME)
	@dir=$$(mktemp -d); \
	$(VENV)/bin/jis serve --test-clock --port 50061 --data-dir $$dir/data > $$dir/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$dir' EXIT; \
	for i in $$(seq 1 120); do grep -q "jis SERVING" $$dir/server.log && break; sleep 0.5; done; \
	$(VENV)/bin/jis simulate --server 127.0.0.1:50061 --seed 1 --hours 8 --progress

## test: the whole test suite
test: $(STAMP) node-deps
	$(PY) -m pytest

## node-deps: the grpc-js client of the HA tests (tests/node, pinned by its package-lock), where npm is
NODE_DEPS := tests/node/node_modules/@grpc/grpc-js/package.json
node-deps:
	@if command -v npm >/dev/null && [ ! -e $(NODE_DEPS) ]; then \
		cd tests/node && npm ci --no-audit --no-fund --silent; fi

## lint: ruff (lint + format check), strict mypy on jis/, the generated-code check, hadolint
lint: $(STAMP)
	$(VENV)/bin/ruff check jis tests bench proto
	$(VENV)/bin/ruff format --check jis tests bench proto
	$(VENV)/bin/mypy
	$(PY) proto/generate.py --check
	$(VENV)/bin/hadolint Dockerfile

## proto: regenerate jis/v1 from proto/jis/v1
proto: $(STAMP)
	$(PY) proto/generate.py

## bench: the benchmark suite (not part of the tests); the results table goes to bench/results/results.{md,json}
bench: $(STAMP)
	$(PY) -m pytest bench --benchmark-enable -p no:cacheprovider

## bench-smoke: every benchmark once at tiny sizes, so they cannot rot (CI runs this)
bench-smoke: $(STAMP)
	JIS_BENCH_SMOKE=1 $(PY) -m pytest bench -q -p no:cacheprovider

## docker-check: build the image, run it and check it from the host (TLS, volume, non-root); an engine runs or JIS_DOCKER_SETUP starts one
docker-check: $(STAMP)
	ops/docker/docker-check.sh $(DOCKER_CHECK_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
