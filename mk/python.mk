# Python binding (bindings/python), tested against servers named by GUV_TEST_PG, _MYSQL, _REDIS.
## make test-python        bindings/python/tests on each CPython of PYTHON_VERSIONS, pip installed in build/python
## make test-python-eco    the ecosystem suite (tests_ecosystem) on the first; numbers in build/python-eco-*.txt
## make compat-python-eco  the ecosystem suite on every one (`make compat`)
## make compat-cpython     CPython's own tests under monkey_patch, every CPython (`make compat`): benches/results/python-compat.md
## make test-python-compat the clean subset of those: no failure, no hang
## make compat-foreign     psycopg2's own tests (5 ways) and the original guv's tests and README, every CPython: benches/results/python-foreign.md
## make test-hook-python   CPython sockets, sleep and psycopg2 under LD_PRELOAD of the hook
## make test-python-package  wheels and an sdist from the tree as cloned, each run in a fresh venv
## make bench-python       vs gevent (speed, 10k-1M sleepers), guv.wsgi vs gevent/eventlet/gunicorn: benches/results/python.md
PYTHON_VERSIONS ?= 3.11 3.12 3.13
# PY_<version>: pyenv's newest <version>.*, else python<version> on PATH; deps-python fails if one is missing.
$(foreach v,$(PYTHON_VERSIONS),$(eval PY_$(v) := $(or $(lastword $(sort $(wildcard \
	$(HOME)/.pyenv/versions/$(v).*/bin/python$(v)))),$(shell command -v python$(v)))))
PY_VERSIONS := $(foreach v,$(PYTHON_VERSIONS),$(if $(PY_$(v)),$(v)))
PY1      := $(firstword $(PY_VERSIONS))
PY_ALL   := $(foreach v,$(PY_VERSIONS),$(PY_$(v)))
PY_DIR   := $(ROOT)/bindings/python
PY_SRCS  := guv setup.py pyproject.toml README.md
PY_FILES := $(shell find $(addprefix $(PY_DIR)/,$(PY_SRCS)) -type f)
PY_DEPS  := pytest psycopg2-binary setuptools wheel requests
ECO_DEPS := redis hiredis pg8000 mysqlclient gunicorn boto3 'moto[server]' cryptography psycopg psycopg-binary PyMySQL
# $(call pytest,VERSION,TESTS[,ENV]): pytest with that CPython, from its install directory.
pytest = cd $(OUT)/python/$(1) && $(TEST_ENV) $(3) timeout 600 $(PY_$(1)) -m pytest -q -p no:cacheprovider $(2)
# psycopg2cffi builds against the cffi installed before it, and against libpq-dev (deps-drivers).
deps-python: deps-drivers
	@test -z "$(filter-out $(PY_VERSIONS),$(PYTHON_VERSIONS))" || { echo "$@: no python$(filter-out $(PY_VERSIONS),$(PYTHON_VERSIONS))" >&2; exit 1; }
	$(call deps,pkg-config,$(PY_DEPS) cffi,$(PY_ALL))
	$(call deps,,--no-build-isolation psycopg2cffi,$(PY_ALL))
# mysqlclient builds against libmariadb-dev; `make compat` needs the packages on every CPython.
deps-python-eco: deps-drivers deps-python
	$(call deps,,$(ECO_DEPS),$(foreach v,$(if $(filter compat%,$(MAKECMDGOALS)),$(PY_VERSIONS),$(PY1)),$(PY_$(v))))
# From a copy of the sources: setuptools writes build/ beside setup.py.
python-install: $(foreach v,$(PY_VERSIONS),$(OUT)/python/$(v)/.installed)
$(OUT)/python/%/.installed: $(GUV_SO) $(PY_FILES) | deps-python
	rm -rf $(@D) $(OUT)/python/src-$* && mkdir -p $(OUT)/python/src-$*
	cp -r $(addprefix $(PY_DIR)/,$(PY_SRCS)) $(OUT)/python/src-$*/ && GUV_LIBRARY=$(GUV_SO) GUV_CRATE=$(ROOT) \
	  $(PY_$*) -m pip install -q --root-user-action=ignore --no-build-isolation --no-deps --target $(@D) \
	  $(OUT)/python/src-$* && touch $@
# One CPython after the other: the suites share the servers (and count their own queries there).
test-python: python-install
	$(foreach v,$(PY_VERSIONS),($(call pytest,$(v),$(PY_DIR)/tests,GUV_TEST_INSTALLED=$(OUT)/python/$(v))) && ) true
eco_env = PYTHONPATH=$(OUT)/python/$(1) GUV_HOOK_LIBRARY=$(HOOK_SO) GUV_ECO_REPORT=$(OUT)/python-eco-$(1).txt
test-python-eco: $(OUT)/python/$(PY1)/.installed $(HOOK_SO) | deps-python-eco
	$(call pytest,$(PY1),$(PY_DIR)/tests_ecosystem,$(call eco_env,$(PY1))) && cat $(OUT)/python-eco-$(PY1).txt
compat-python-eco: python-install $(HOOK_SO) | deps-python-eco
	$(foreach v,$(PY_VERSIONS),($(call pytest,$(v),$(PY_DIR)/tests_ecosystem,$(call eco_env,$(v)))) && ) true
# The binding and the hook both use target/debug's libguv, so there is one hub.
test-hook-python: $(OUT)/python/$(PY1)/.installed $(HOOK_SO)
	cd $(OUT)/python/$(PY1) && $(TEST_ENV) PYTHONPATH=. GUV_LIBRARY=$(GUV_SO) LD_PRELOAD=$(HOOK_SO) \
	  timeout $(TIMEOUT) $(PY_$(PY1)) $(ROOT)/tests/hook/test_python.py
PY_PKG_ENV := env -u GUV_LIBRARY CARGO_TARGET_DIR=$(ROOT)/target/python-package
# Built again when what they package changes (setup.py's CRATE_FILES, the hook, the binding).
PY_PACKAGES := $(OUT)/python/package/.built
$(PY_PACKAGES): $(RUST_SRCS) $(ROOT)/cbindgen.toml $(HOOK_SRCS) $(TEST_HDRS) $(PY_FILES) | deps-python
	$(PY_PKG_ENV) sh $(PY_DIR)/tests_package/build.sh $(@D) $(PY_ALL) && touch $@
test-python-package: $(PY_PACKAGES) | deps-python
	cd $(OUT)/python/package && $(PY_PKG_ENV) GUV_PKG_DIR=$(OUT)/python/package GUV_PKG_PYTHONS="$(PY_ALL)" \
	  timeout 600 $(PY_$(PY1)) -m pytest -q -p no:cacheprovider $(PY_DIR)/tests_package
# Against the release libguv (GUV_LIBRARY comes before the package's own copy).
bench-python: $(OUT)/python/$(PY1)/.installed $(GUV_RELEASE)/libguv.so
	$(call deps,wrk,gevent eventlet gunicorn,$(PY_$(PY1)))
	cd $(OUT)/python/$(PY1) && for b in bench bench_wsgi bench_scale; do $(TEST_ENV) PYTHONPATH=. GUV_LIBRARY=$(GUV_RELEASE)/libguv.so \
	  $(PY_$(PY1)) $(PY_DIR)/bench/$$b.py $(ROOT)/benches/results/python.md || exit 1; done
COMPAT_MODULES ?= test_socketserver test_threading_local test_queue test_thread test_threading test_select \
	test_selectors test_socket test_subprocess
# $(call cpython_tests,VERSION,ARGS): its own test package under monkey_patch, each module in a process of its own.
cpython_tests = mkdir -p $(OUT)/python/compat-tmp $(OUT)/python/compat-logs-$(1) && $(TEST_ENV) PYTHONPATH=$(OUT)/python/$(1) \
	TMPDIR=$(OUT)/python/compat-tmp $(PY_$(1)) $(PY_DIR)/compat/run.py --python $(PY_$(1)) --timeout 30 \
	--logs $(OUT)/python/compat-logs-$(1) $(2)
compat-cpython: python-install
	rm -f $(OUT)/python/compat.md && $(foreach v,$(PY_VERSIONS),$(call cpython_tests,$(v),--out $(OUT)/python/compat.md $(COMPAT_MODULES)) && ) true
	sh $(PY_DIR)/compat/report.sh $(OUT)/python/compat.md > $(ROOT)/benches/results/python-compat.md
test-python-compat: $(OUT)/python/$(PY1)/.installed
	$(call cpython_tests,$(PY1),--expect-clean --out $(OUT)/python/compat-clean.md test_socketserver test_thread \
	  test_threading_local test_select test_selectors)
# GUV_ORIGINAL: a clone of github.com/veegee/guv (else compat/foreign.py clones it).
compat-foreign: python-install
	$(call deps,,gunicorn,$(PY_ALL))
	$(TEST_ENV) $(PY_$(PY1)) $(PY_DIR)/compat/foreign.py --work $(OUT)/python/foreign \
	  $(foreach v,$(PY_VERSIONS),--python $(PY_$(v))=$(OUT)/python/$(v)) \
	  $(if $(GUV_ORIGINAL),--guv-src $(GUV_ORIGINAL)) --out $(ROOT)/benches/results/python-foreign.md
