# Python binding (bindings/python): the `guv` package, a C extension that
# runs CPython on guv green threads.
#
#   make test-python     for every CPython among PYTHON_VERSIONS found: pip
#                        install the package into build/python/<version>
#                        (with a copy of libguv), then run its pytest suite
#                        there, PostgreSQL tests included (part of `make test`)
#   make test-python-package  what users install: from a fresh copy of the tree, a
#                        wheel per CPython and an sdist, each installed into a fresh
#                        venv and run with no cargo on PATH (part of `make test`)
#   make bench-python    spawn+join and sleep(0) against gevent, guv.wsgi
#                        against gevent.pywsgi, eventlet.wsgi and gunicorn
#                        (wrk), and memory and spawn time of 10k-1M sleeping
#                        green threads against gevent's (a few minutes),
#                        written to benches/results/python.md
#   make compat          CPython's own tests of what monkey_patch patches, from each
#                        interpreter's test package, under monkey_patch (bindings/python/
#                        compat): counts per module in benches/results/python-compat.md
#                        (slow: minutes per interpreter)
#   make test-python-compat  the short subset of those that must stay clean: no
#                        failure, no hang (part of `make test`)
#   make python-deps     install what the suite needs (pip packages, pkg-config), when missing;
#                        psycopg2cffi builds against the cffi installed before it

PYTHON_VERSIONS ?= 3.11 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
PY_DIR  := $(ROOT)/bindings/python
PY_OUT  := $(ROOT)/$(BUILD)/python
PY_DEPS := pytest psycopg2-binary setuptools wheel requests
PY_TEST_TIMEOUT ?= 170
# PostgreSQL the psycopg2 tests use (they fail, never skip, when it is down).
GUV_TEST_PG ?= host=127.0.0.1 port=5432 dbname=test

# pyenv's newest X.Y.*, else pythonX.Y on PATH when it runs.
py_find = $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)))),$(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null))
PYTHONS := $(strip $(foreach v,$(PYTHON_VERSIONS),$(call py_find,$(v))))

.PHONY: python-deps python-bench-deps python-install test-python test-python-package bench-python compat \
	test-python-compat

python-deps:
	@test -n "$(PYTHONS)" || { echo "test-python: no CPython among $(PYTHON_VERSIONS) found" >&2; exit 1; }
	@command -v pkg-config >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q pkg-config; }
	@for py in $(PYTHONS); do \
	  $$py -c 'import pytest, psycopg2, setuptools, wheel, requests' 2>/dev/null || \
	    $$py -m pip install -q --root-user-action=ignore $(PY_DEPS) || exit 1; \
	  $$py -c 'import cffi, psycopg2cffi' 2>/dev/null || { \
	    $$py -m pip install -q --root-user-action=ignore cffi && \
	    $$py -m pip install -q --root-user-action=ignore --no-build-isolation psycopg2cffi; } || exit 1; \
	done

# pip installs the package, with the libguv it was built against, into a
# private target per interpreter. It builds from a copy of the sources in a
# scratch dir per interpreter (setuptools writes build/ and egg-info beside
# setup.py), so two runs sharing this tree never build in the same place.
PY_SRC := guv setup.py pyproject.toml README.md

python-install: lib python-deps
	@for py in $(PYTHONS); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  src=$(PY_OUT)/src-$$v; \
	  rm -rf $(PY_OUT)/$$v $$src && mkdir -p $$src && \
	  (cd $(PY_DIR) && cp -r $(PY_SRC) $$src/) && \
	  GUV_LIBRARY=$(GUV_SO) GUV_CRATE=$(ROOT) $$py -m pip install -q --root-user-action=ignore \
	    --no-build-isolation --no-deps --target $(PY_OUT)/$$v $$src || exit 1; \
	done

# The suite imports the installed package (cwd is the install target) and
# finds libguv as an installed guv would: GUV_LIBRARY unset.
test-python: python-install
	@for py in $(PYTHONS); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== test-python: $$py"; \
	  (cd $(PY_OUT)/$$v && env -u GUV_LIBRARY -u GUV_STACK_SIZE GUV_TEST_INSTALLED=$(PY_OUT)/$$v \
	    GUV_TEST_PG="$(GUV_TEST_PG)" timeout $(PY_TEST_TIMEOUT) $$py -m pytest -q -p no:cacheprovider \
	    $(PY_DIR)/tests) || exit 1; \
	done

TEST_TARGETS += test-python

# The tree as a fresh clone has it (tracked and new files; no target/, build/).
# setup.py builds libguv with cargo, into a target dir kept between runs.
PY_PKG := $(PY_OUT)/package
PY_PKG_CARGO := CARGO_TARGET_DIR=$(ROOT)/target/python-package

test-python-package: python-deps
	@rm -rf $(PY_PKG) && mkdir -p $(PY_PKG)/tree
	@git ls-files -co --exclude-standard | tar -T - -cf - | tar -xf - -C $(PY_PKG)/tree
	@for py in $(PYTHONS); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== test-python-package: wheel for $$py"; \
	  (cd $(PY_PKG)/tree && env -u GUV_LIBRARY $(PY_PKG_CARGO) $$py -m pip wheel -q --no-build-isolation \
	    --no-deps -w $(PY_PKG)/$$v ./bindings/python) || exit 1; \
	done
	@py=$(firstword $(PYTHONS)); echo "== test-python-package: sdist, and a wheel from it"; \
	  (cd $(PY_PKG)/tree/bindings/python && $$py setup.py -q sdist -d $(PY_PKG)/sdist >/dev/null 2>&1) && \
	  env -u GUV_LIBRARY $(PY_PKG_CARGO) $$py -m pip wheel -q --no-build-isolation --no-deps \
	    -w $(PY_PKG)/from-sdist $(PY_PKG)/sdist/guv-*.tar.gz
	@py=$(firstword $(PYTHONS)); cd $(PY_PKG) && env -u GUV_LIBRARY $(PY_PKG_CARGO) GUV_PKG_DIR=$(PY_PKG) \
	  GUV_PKG_PYTHONS="$(PYTHONS)" timeout $(PY_TEST_TIMEOUT) $$py -m pytest -q -p no:cacheprovider \
	  $(PY_DIR)/tests_package

TEST_TARGETS += test-python-package

# What bench-python needs beyond the suite: the servers it compares guv.wsgi
# with, and wrk to load them.
PY_BENCH_DEPS := gevent eventlet gunicorn

python-bench-deps: python-deps
	@command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
	@py=$(firstword $(PYTHONS)); $$py -c 'import gevent, eventlet, gunicorn' 2>/dev/null || \
	  $$py -m pip install -q --root-user-action=ignore $(PY_BENCH_DEPS)

# Against the release libguv (GUV_LIBRARY comes before the package's own copy).
bench-python: python-install python-bench-deps
	@$(CARGO) build --release -q
	@py=$(firstword $(PYTHONS)); v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  mkdir -p $(ROOT)/benches/results && \
	  env GUV_LIBRARY=$(ROOT)/target/release/libguv.so PYTHONPATH=$(PY_OUT)/$$v GUV_TEST_PG="$(GUV_TEST_PG)" \
	    sh -c '$$0 $(PY_DIR)/bench/bench.py $(ROOT)/benches/results/python.md && \
	           $$0 $(PY_DIR)/bench/bench_wsgi.py $(ROOT)/benches/results/python.md && \
	           $$0 $(PY_DIR)/bench/bench_scale.py $(ROOT)/benches/results/python.md' $$py

BENCH_TARGETS += bench-python

COMPAT_RUN     := $(PY_DIR)/compat/run.py
COMPAT_MODULES ?= test_socketserver test_threading_local test_queue test_thread test_threading test_select \
	test_selectors test_socket test_subprocess
COMPAT_CLEAN   := test_thread test_threading_local test_select
COMPAT_TIMEOUT ?= 30
COMPAT_RESULTS := $(ROOT)/benches/results/python-compat.md

# Each interpreter runs its own test package against its own install of guv.
compat_run = v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	mkdir -p $(PY_OUT)/compat-tmp && env -u GUV_LIBRARY PYTHONPATH=$(PY_OUT)/$$v TMPDIR=$(PY_OUT)/compat-tmp \
	$$py $(COMPAT_RUN) --python $$py --timeout $(COMPAT_TIMEOUT)

compat: python-install
	@mkdir -p $(dir $(COMPAT_RESULTS)) && out=$(PY_OUT)/compat.md && rm -f $$out && \
	  for py in $(PYTHONS); do $(compat_run) --out $$out $(COMPAT_MODULES) || exit 1; done && \
	  { echo "# CPython's own tests under guv.monkey_patch()"; echo; \
	    echo "\`make compat\` ($(COMPAT_RUN): each module in a process of its own, libregrtest's"; \
	    echo "per-test timeout $(COMPAT_TIMEOUT) s; a hung test is counted and the module run again without it)."; \
	    echo "Machine load when it ended: $$(cut -d' ' -f1-3 /proc/loadavg) (2 cores)."; echo; \
	    echo "| CPython | module | tests | passed | failed | errors | skipped | hangs | time |"; \
	    echo "|---|---|---|---|---|---|---|---|---|"; cat $$out; } > $(COMPAT_RESULTS)
	@echo "compat: results in $(COMPAT_RESULTS)"


test-python-compat: python-install
	@py=$(firstword $(PYTHONS)); echo "== test-python-compat: $$py"; \
	  $(compat_run) --expect-clean --out $(PY_OUT)/compat-clean.md $(COMPAT_CLEAN)

TEST_TARGETS += test-python-compat
