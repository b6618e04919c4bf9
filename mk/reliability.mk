# Reliability under hostile input, faults and load: tests/reliability, fuzz/fuzz_api.c, valgrind.
## make test-reliability   each program at its short size, a valgrind subset, the corpus, 30 s of fuzzing
## make soak-reliability   10M spawns, 1M fd waits and sleepers, valgrind, 10 min of fuzzing: benches/results
## make fuzz-reliability [FUZZ_SECONDS=30 FUZZ_SEED=1]   fuzz (seed 0: random)
## make test-reliability-tsan   test_threads.c under ThreadSanitizer, its reports shown (test-c-tsan fails on one)
REL_TESTS := $(basename $(notdir $(wildcard $(ROOT)/tests/reliability/test_*.c)))
# The core C tests that cover the most of the API per second under valgrind.
REL_VG_TESTS := test_misuse test_trampoline test_timeout test_join test_kill test_close test_park test_hub_remote test_unhold_race
# test_thread_exit counts the cleanups a forced unwind runs.
$(OUT)/reliability/test_thread_exit: EXTRA_CFLAGS := -fexceptions
# Stable rustc instruments the core with SanitizerCoverage (cargo-fuzz needs nightly); clang
# links harness and libFuzzer. --target keeps build scripts uninstrumented; no LTO.
FUZZ_TRIPLE := $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_A := $(OUT)/fuzz-target/$(FUZZ_TRIPLE)/release/libguv.a
FUZZ_SECONDS ?= 30
# -print_funcs=0: NEW_FUNC lines start a symbolizer on pipes, which the harness's fd check counts.
FUZZ_FLAGS = -max_len=512 -timeout=20 -print_funcs=0 -seed=$(or $(FUZZ_SEED),1) -artifact_prefix=$(OUT)/fuzz/crash-
$(FUZZ_A): $(RUST_SRCS)
	CARGO_TARGET_DIR=$(OUT)/fuzz-target RUSTFLAGS="-Cpasses=sancov-module -Cdebug-assertions=on $(addprefix \
	  -Cllvm-args=-sanitizer-coverage-,level=4 inline-8bit-counters pc-table trace-compares)" $(cargo) rustc -q \
	  --release --config profile.release.lto=false --config profile.release.codegen-units=16 --lib \
	  --crate-type staticlib --target $(FUZZ_TRIPLE)
$(OUT)/fuzz/fuzz_api: $(ROOT)/fuzz/fuzz_api.c $(TEST_HDRS) $(FUZZ_A) | deps-reliability
	$(call cc_prog,$(FUZZ_A),-fsanitize=fuzzer,$(CLANG))
# The same harness as a seeded random driver, against the plain library.
$(OUT)/fuzz/replay: $(ROOT)/fuzz/fuzz_api.c $(TEST_HDRS) $(GUV_A)
	$(call cc_prog,$(GUV_A),-DFUZZ_STANDALONE)
deps-reliability:
	$(call deps,valgrind clang libclang-rt-dev)
# The programs alone first (they have timing gates), then valgrind and the fuzzer side by side.
test-reliability: rel-programs
	$(MAKE) --no-print-directory rel-valgrind fuzz-reliability
rel-programs: $(addprefix $(OUT)/reliability/,$(REL_TESTS))
	$(call run_tests,$(OUT)/reliability,$(filter-out test_soak,$(REL_TESTS)))
	$(call run_tests,$(OUT)/reliability,test_soak,GUV_STACK_SIZE=65536)
# Not test_eintr (its timing gates do not hold under valgrind) nor test_emfile (valgrind needs fds).
rel-valgrind: $(addprefix $(OUT)/c/,$(REL_VG_TESTS)) $(OUT)/reliability/test_reset $(OUT)/fuzz/replay | deps-reliability
	$(call run_tests,$(OUT)/c,$(REL_VG_TESTS),,$(VALGRIND))
	$(call run_tests,$(OUT)/reliability,test_reset,,$(VALGRIND))
	$(call run_tests,$(OUT)/fuzz,replay,,$(VALGRIND),$(ROOT)/fuzz/corpus/*)
rel-thread-exit-valgrind: $(OUT)/reliability/test_thread_exit | deps-reliability
	$(call run_tests,$(OUT)/reliability,test_thread_exit,REL_THREAD_EXITS=10 REL_RSS_CHECK=0,$(VALGRIND_THREAD_EXIT))
# New inputs go to a scratch directory: fuzz/corpus is only read (the soak merges into it).
fuzz-reliability: $(OUT)/fuzz/fuzz_api
	rm -rf $(OUT)/fuzz/new && mkdir -p $(OUT)/fuzz/new
	timeout $$(( $(FUZZ_SECONDS) + 120 )) $< $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) $(OUT)/fuzz/new \
	  $(ROOT)/fuzz/corpus > $(OUT)/fuzz/fuzz.log 2>&1 && grep -E '^Done|INITED' $(OUT)/fuzz/fuzz.log && tail -1 \
	  $(OUT)/fuzz/fuzz.log | grep -q '^Done' || { tail -40 $(OUT)/fuzz/fuzz.log; echo "FAILED: $@"; exit 1; }
test-reliability-tsan: $(OUT)/tsan/reliability/test_threads
	$(call run_tests,$(OUT)/tsan/reliability,test_threads,TSAN_OPTIONS="halt_on_error=0 exitcode=0")
soak-reliability: $(OUT)/release/tests/reliability/test_soak $(OUT)/c/test_stack_release $(OUT)/fuzz/fuzz_api | deps-reliability
	OUT=$(OUT) SOAK=$< TEST_ENV="$(TEST_ENV)" sh $(ROOT)/tests/reliability/soak.sh
