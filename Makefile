# The two commands a new user runs (see README.md): `make demo` and `make test`.
# Each creates the virtualenv on first use; nothing else needs to be installed beforehand.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo proxy-demo test test-newest lint bench bench-state bench-proxy bench-cascade profile-proxy constraints clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,proxy]'
	touch $(STAMP)

demo: $(STAMP)          ## the offline demo: real Router, mock responses, no keys
	$(BIN)/litellm-router demo

proxy-demo: $(STAMP)    ## the offline proxy walkthrough: fake upstream + stock `litellm --config` proxy, openai client calls
	$(BIN)/python examples/proxy/offline_demo.py

test: $(STAMP)          ## the whole test suite (starts Redis and PostgreSQL, installs Chromium, where missing)
	bash .ci/ensure-redis
	bash .ci/ensure-postgres
	bash .ci/ensure-chromium
	$(BIN)/pytest

# The newest LiteLLM (1.110.2). Its `proxy` extra needs `litellm-proxy==1.110.2`, which the registry
# here does not serve (nor 1.109.3's litellm-proxy-extras 0.4.113), but 1.110.2 still carries
# `litellm/proxy/`: its proxy runs with the proxy dependencies of constraints.txt plus `semver` (the only module
# 1.110's proxy imports that they lack). Its own venv: `make test` keeps the lowest version.
NEWEST        ?= 1.110.2
NEWEST_EXTRAS ?= semver==3.2.0
VENV_NEWEST   ?= .venv-newest
STAMP_NEWEST  := $(VENV_NEWEST)/.installed

$(STAMP_NEWEST): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV_NEWEST)
	$(VENV_NEWEST)/bin/python -m pip install --quiet --upgrade pip
	grep -v '^litellm==' constraints.txt > $(VENV_NEWEST)/constraints.txt
	$(VENV_NEWEST)/bin/python -m pip install --quiet -r $(VENV_NEWEST)/constraints.txt $(NEWEST_EXTRAS)
	$(VENV_NEWEST)/bin/python -m pip install --quiet --no-deps 'litellm==$(NEWEST)'
	$(VENV_NEWEST)/bin/python -m pip install --quiet --no-deps -e .
	touch $(STAMP_NEWEST)

test-newest: $(STAMP_NEWEST)  ## the contract, SDK, Router and proxy tests on the newest supported LiteLLM
	bash .ci/ensure-redis
	$(VENV_NEWEST)/bin/pytest -p no:cacheprovider tests/test_litellm_contract.py tests/test_router.py \
		tests/test_stock_pick.py tests/test_native.py tests/test_completion.py tests/test_provider.py \
		tests/test_proxy_native.py tests/test_groups.py tests/test_proxy_groups.py tests/test_request.py \
		tests/test_otel_import.py tests/test_savings_cache.py

lint: $(STAMP)          ## ruff, mypy and the import contracts (the layering)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)         ## routing overhead benchmark (prints ratios against a stock Router)
	$(BIN)/python bench/bench_routing.py

bench-state: $(STAMP)   ## Redis round trips per request and reserve+settle latency against PING
	$(BIN)/python bench/bench_state.py

bench-proxy: $(STAMP)   ## proxy req/s and CPU per request: plugin vs stock with the same auth, CPU-bound and I/O-bound (needs Redis)
	$(BIN)/python bench/bench_proxy.py

bench-cascade: $(STAMP) ## cascade vs always-strong vs routed: accuracy and cost on a labelled arithmetic set
	$(BIN)/python bench/bench_cascade.py

PROFILE_VARIANTS := stock,plugin-memory
profile-proxy: $(STAMP) ## cProfile of proxy requests, stock beside plugin, with their difference (VARIANT=a,b to choose)
	$(BIN)/python bench/profile_proxy.py --variant $(or $(VARIANT),$(PROFILE_VARIANTS))

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^litellm-router-plugin' > constraints.txt.new
	( echo '# Exact versions the README commands and CI install (tested together). Regenerate with `make constraints`.'; cat constraints.txt.new ) > constraints.txt && rm constraints.txt.new

clean:
	rm -rf $(VENV) $(VENV_NEWEST) .pytest_cache .mypy_cache .ruff_cache
