# Reliability under hostile input, faults and load (issue 10): programs in
# tests/reliability/ (one per feature), the libFuzzer target in fuzz/, and
# the core C tests under valgrind with leak checking.
#
#   make test-reliability            short variants (part of `make test`):
#                                    valgrind subset, soak at 300k spawns /
#                                    100k fd waits / 100k sleepers, faults,
#                                    threads, EINTR, resets, EMFILE, thread
#                                    exit, corpus replay, 30 s of fuzzing
#   make soak-reliability            long variants (part of `make soak`): 10M
#                                    spawns, 1M fd waits, 1M sleepers, 10 min
#                                    of fuzzing (new inputs merged into
#                                    fuzz/corpus), every C test under valgrind;
#                                    writes benches/results/reliability.md
#   make test-reliability-valgrind   the core C tests under memcheck, leaks included
#   make fuzz-reliability FUZZ_SECONDS=60   fuzz for a while
#   make test-reliability-tsan       tests/reliability/test_threads.c under ThreadSanitizer
#   make test-reliability-known-bugs programs showing open core bugs (expected to fail)

REL_DIR   := tests/reliability
REL_OUT   := $(BUILD)/rel
REL_HDRS  := $(REL_DIR)/rel.h tests/c/test.h include/guv.h
REL_CFLAGS := $(GUV_CFLAGS) -D_GNU_SOURCE -I$(ROOT)/tests/c -I$(ROOT)/$(REL_DIR)
REL_NAMES := $(patsubst $(REL_DIR)/test_%.c,%,$(sort $(wildcard $(REL_DIR)/test_*.c)))
REL_BUGS  := $(patsubst $(REL_DIR)/bug_%.c,%,$(sort $(wildcard $(REL_DIR)/bug_*.c)))
REL_TIMEOUT ?= 120
REL_ENV   := env -u GUV_STACK_SIZE -u GUV_OFFLOAD_THREADS
# The 1M-sleeper soak and its short variant run on 64 KiB stacks.
REL_SOAK_ENV := $(REL_ENV) GUV_STACK_SIZE=65536

.PHONY: test-reliability soak-reliability test-reliability-valgrind fuzz-reliability \
  test-reliability-known-bugs test-reliability-tsan rel-deps rel-run rel-run-valgrind rel-run-bugs rel-fuzz-lib \
  rel-release rel-soak-run

# ---- valgrind: the core C tests (built by mk/ctest.mk, no sanitizer) ----

# Leaks count as errors (definite ones: a forked child's "possibly lost"
# thread stacks are not); guv's deliberate leaks are suppressed with reasons.
# test_stack uses a 7 MiB frame: past valgrind's default 2 MB
# --max-stackframe the stack-pointer move is taken for a stack switch and
# the frame's reads are reported as invalid.
REL_VG := valgrind -q --error-exitcode=9 --max-stackframe=16777216 \
  --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  --suppressions=$(ROOT)/$(REL_DIR)/valgrind.supp
# test_run ends threads with suspended green threads, which guv leaks on purpose.
REL_VG_THREAD_EXIT := $(REL_VG) --suppressions=$(ROOT)/$(REL_DIR)/valgrind-thread-exit.supp
# All of them take 90 s under valgrind: `make test` runs the ones that cover
# the most of the API per second (about 30 s), the soak (REL_VG_ALL=1) all.
REL_VG_QUICK := misuse trampoline timeout join kill close park hub_remote
REL_VG_SLOW  := run
REL_VG_NAMES := $(if $(REL_VG_ALL),$(filter-out overflow $(REL_VG_SLOW),$(CTEST_VG_NAMES)),$(filter $(REL_VG_QUICK),$(CTEST_VG_NAMES)))

# Also the fuzz corpus replayed (every input a different call sequence) and
# the peer-reset program; not test_eintr (its timing gates do not hold under
# valgrind) nor test_emfile (valgrind needs fds of its own).
rel-run-valgrind: $(addprefix $(BUILD)/ctest/test_,$(REL_VG_NAMES) $(if $(REL_VG_ALL),$(REL_VG_SLOW))) \
  $(REL_OUT)/fuzz_api_replay $(REL_OUT)/test_reset $(if $(REL_VG_ALL),$(REL_OUT)/test_thread_exit)
	$(call ctest_run,$(addprefix test_,$(REL_VG_NAMES)),$(BUILD)/ctest,,$(REL_VG))
	$(call ctest_run,test_reset,$(REL_OUT),,$(REL_VG))
	@echo "== fuzz_api_replay (fuzz/corpus)"
	@timeout $(REL_TIMEOUT) $(REL_VG) $(REL_OUT)/fuzz_api_replay fuzz/corpus/* || { echo "FAILED: fuzz_api_replay"; exit 1; }
	$(if $(REL_VG_ALL),$(call ctest_run,$(addprefix test_,$(REL_VG_SLOW)),$(BUILD)/ctest,,$(REL_VG_THREAD_EXIT)))
	$(if $(REL_VG_ALL),$(call ctest_run,test_thread_exit,$(REL_OUT),REL_THREAD_EXITS=10 REL_RSS_CHECK=0,$(REL_VG_THREAD_EXIT)))
	@echo "test-reliability-valgrind: $(words $(REL_VG_NAMES) reset fuzz_replay $(if $(REL_VG_ALL),$(REL_VG_SLOW) thread_exit)) programs clean under memcheck"

test-reliability-valgrind: lib rel-deps
	@$(MAKE) --no-print-directory rel-run-valgrind

# ---- the reliability programs ----

$(REL_OUT)/%: $(REL_DIR)/%.c $(REL_HDRS) $(wildcard $(GUV_A)) | lib
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $< $(GUV_LIBS_STATIC) -lm

# Runs each program of $(1) from directory $(2) with environment $(3).
define rel_run
	@for t in $(1); do \
	  echo "== $$t"; \
	  $(3) timeout $(REL_TIMEOUT) $(2)/$$t || { echo "FAILED: $$t"; exit 1; }; \
	done
endef

# It counts the hub's epoll_wait calls that signals interrupt.
$(REL_OUT)/test_eintr: REL_CFLAGS += -Wl,--wrap=epoll_wait
# A forced unwind would run the program's cleanup attributes, which it counts.
$(REL_OUT)/test_thread_exit: REL_CFLAGS += -fexceptions

rel-run: $(addprefix $(REL_OUT)/test_,$(REL_NAMES))
	$(call rel_run,$(addprefix test_,$(filter-out soak,$(REL_NAMES))),$(REL_OUT),$(REL_ENV))
	$(call rel_run,test_soak,$(REL_OUT),$(REL_SOAK_ENV))

rel-run-bugs: $(addprefix $(REL_OUT)/bug_,$(REL_BUGS))
	@for t in $(addprefix bug_,$(REL_BUGS)); do \
	  echo "== $$t"; $(REL_ENV) timeout $(REL_TIMEOUT) $(REL_OUT)/$$t || echo "STILL FAILS: $$t"; \
	done

test-reliability-known-bugs: lib
	@$(MAKE) --no-print-directory rel-run-bugs

# ---- ThreadSanitizer (not in `make test`) ----
#
# Only the C side is instrumented: the Rust library is not (that needs
# nightly's -Zsanitizer=thread) and guv does not announce its stack switches
# to TSan, so TSan cannot see guv's own synchronization (futexes, eventfd)
# nor green-thread stacks. On tests/reliability/test_threads.c it reports
# races across guv_offload's argument and inside the Rust allocator's
# reallocations, all false positives of that kind (benches/results/
# reliability.md); they are shown, not suppressed, and only the program's own
# checks decide the exit status.
$(REL_OUT)/test_threads_tsan: $(REL_DIR)/test_threads.c $(REL_HDRS) $(wildcard $(GUV_A)) | lib
	@mkdir -p $(@D)
	$(CLANG) $(REL_CFLAGS) -fsanitize=thread -o $@ $< $(GUV_LIBS_STATIC)

test-reliability-tsan: lib rel-deps
	@$(MAKE) --no-print-directory $(REL_OUT)/test_threads_tsan
	TSAN_OPTIONS="halt_on_error=0 exitcode=0" $(REL_ENV) timeout 600 $(REL_OUT)/test_threads_tsan 2>$(REL_OUT)/tsan.log
	@echo "test-reliability-tsan: checks passed; TSan warnings (see $(REL_OUT)/tsan.log): $$(grep -c 'WARNING: ThreadSanitizer' $(REL_OUT)/tsan.log)"

# ---- fuzzing ----
#
# cargo-fuzz needs nightly; instead stable rustc instruments the Rust core
# with SanitizerCoverage (inline 8-bit counters, PC table, comparisons) and
# clang's -fsanitize=fuzzer links the harness and libFuzzer's runtime. The
# flags go through `--target` so that build scripts are not instrumented
# (they would not link without libFuzzer), and only the static library is
# built (the cdylib would not either). Lighter than the release profile:
# the fuzzer wants a quick rebuild more than thin LTO.
REL_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
REL_FUZZ_TARGET := $(ROOT)/$(REL_OUT)/fuzz-target
REL_FUZZ_A := $(REL_FUZZ_TARGET)/$(REL_TRIPLE)/release/libguv.a
REL_SANCOV := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions=on
FUZZ_SECONDS ?= 30
# -print_funcs=0: NEW_FUNC lines start a symbolizer on pipes, which the
# harness's fd-leak check would count.
# make test fuzzes from a fixed seed, so its run is reproducible; the soak
# explores from a random one (FUZZ_SEED=0 is libFuzzer's "random").
FUZZ_SEED ?= 1
REL_FUZZ_FLAGS = -max_len=512 -timeout=20 -print_funcs=0 -seed=$(FUZZ_SEED) -artifact_prefix=$(REL_OUT)/fuzz-crash-
CLANG ?= clang

rel-deps:
	@command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
	@command -v $(CLANG) >/dev/null || { apt-get update -qq && apt-get install -y -qq clang; }

rel-fuzz-lib:
	CARGO_TARGET_DIR=$(REL_FUZZ_TARGET) RUSTFLAGS="$(REL_SANCOV)" $(CARGO) rustc --quiet --release \
	  --config profile.release.lto=false --config profile.release.codegen-units=16 \
	  --lib --crate-type staticlib --target $(REL_TRIPLE)

$(REL_OUT)/fuzz_api: fuzz/fuzz_api.c $(REL_HDRS) $(wildcard $(REL_FUZZ_A))
	@mkdir -p $(@D)
	$(CLANG) $(REL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(REL_FUZZ_A) $(GUV_NATIVE_LIBS) -lm

# The same harness as a seeded random driver, against the plain library:
# replays the corpus in `make test` without libFuzzer.
$(REL_OUT)/fuzz_api_replay: fuzz/fuzz_api.c $(REL_HDRS) $(wildcard $(GUV_A)) | lib
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -DFUZZ_STANDALONE -o $@ $< $(GUV_LIBS_STATIC) -lm

# New inputs go to a scratch directory; fuzz/corpus is only read (the soak
# merges what it found into it).
rel-fuzz-run: $(REL_OUT)/fuzz_api $(REL_OUT)/fuzz_api_replay
	@rm -rf $(REL_OUT)/corpus-new && mkdir -p $(REL_OUT)/corpus-new
	@echo "== fuzz_api: corpus replay (plain build)"
	@timeout $(REL_TIMEOUT) $(REL_OUT)/fuzz_api_replay fuzz/corpus/*
	@echo "== fuzz_api: $(FUZZ_SECONDS) s of libFuzzer"
	@timeout $$(( $(FUZZ_SECONDS) + 120 )) $(REL_OUT)/fuzz_api $(REL_FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	  $(REL_OUT)/corpus-new fuzz/corpus > $(REL_OUT)/fuzz.log 2>&1 \
	  || { tail -40 $(REL_OUT)/fuzz.log; echo "FAILED: fuzz_api (log: $(REL_OUT)/fuzz.log)"; exit 1; }
	@grep -E '^Done|INITED' $(REL_OUT)/fuzz.log; tail -1 $(REL_OUT)/fuzz.log | grep -q '^Done' || { echo "FAILED: fuzz_api did not finish"; exit 1; }

fuzz-reliability: lib rel-deps rel-fuzz-lib
	@$(MAKE) --no-print-directory rel-fuzz-run

test-reliability: lib rel-deps rel-fuzz-lib
	@$(MAKE) --no-print-directory rel-run-valgrind rel-run rel-fuzz-run
	@echo "test-reliability: passed"

TEST_TARGETS += test-reliability

# ---- soak: the long variants, release library, results in the repository ----

REL_REL_OUT := $(REL_OUT)/release
SOAK_FUZZ_SECONDS ?= 600

rel-release:
	$(CARGO) build --release

$(REL_REL_OUT)/test_soak: $(REL_DIR)/test_soak.c $(REL_HDRS) rel-release
	@mkdir -p $(@D)
	$(CC) -I$(ROOT)/include -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -I$(ROOT)/tests/c -I$(ROOT)/$(REL_DIR) \
	  -o $@ $< $(ROOT)/target/release/libguv.a $(GUV_NATIVE_LIBS)

# Runs command $(2), appending its output to log $(1) and showing it; stops on failure.
define rel_logged
	@$(2) >> $(1) 2>&1 || { tail -40 $(1); echo "FAILED: $(2)"; exit 1; }
	@grep -E '^(RESULT|ok|==|test-reliability)' $(1) | tail -3
endef

rel-soak-run: $(REL_REL_OUT)/test_soak $(addprefix $(REL_OUT)/test_,$(REL_NAMES)) $(BUILD)/ctest/test_stack_release
	@rm -f $(REL_OUT)/soak.log $(REL_OUT)/valgrind.log $(REL_OUT)/faults.log
	$(call rel_logged,$(REL_OUT)/faults.log,$(MAKE) --no-print-directory rel-run)
	$(call rel_logged,$(REL_OUT)/soak.log,$(REL_ENV) REL_SPAWNS=10000000 timeout 1800 $(REL_REL_OUT)/test_soak spawn)
	$(call rel_logged,$(REL_OUT)/soak.log,$(REL_ENV) REL_WAITS=1000000 timeout 1800 $(REL_REL_OUT)/test_soak waits)
	$(call rel_logged,$(REL_OUT)/soak.log,$(REL_SOAK_ENV) REL_THREADS=1000000 timeout 1800 $(REL_REL_OUT)/test_soak sleepers)
	$(call rel_logged,$(REL_OUT)/soak.log,$(REL_ENV) GUV_BURST=100000 timeout 600 $(BUILD)/ctest/test_stack_release)
	$(call rel_logged,$(REL_OUT)/valgrind.log,$(MAKE) --no-print-directory rel-run-valgrind REL_VG_ALL=1)
	$(MAKE) --no-print-directory rel-fuzz-run FUZZ_SECONDS=$(SOAK_FUZZ_SECONDS) FUZZ_SEED=0
	$(REL_OUT)/fuzz_api -merge=1 $(REL_FUZZ_FLAGS) fuzz/corpus $(REL_OUT)/corpus-new 2>&1 | tail -1
	@mkdir -p benches/results
	python3 $(REL_DIR)/report.py benches/results/reliability.md $(REL_OUT)/soak.log $(REL_OUT)/valgrind.log \
	  $(REL_OUT)/fuzz.log fuzz/corpus $(REL_OUT)/faults.log
	@echo "soak-reliability: passed; results in benches/results/reliability.md"

soak-reliability: lib rel-deps rel-fuzz-lib
	@$(MAKE) --no-print-directory rel-soak-run

SOAK_TARGETS += soak-reliability
