# C tests of the core runtime: one program per feature in tests/c/test_*.c,
# each built against the static library and the generated header.
#
#   make test-c             build and run them all (part of `make test`)
#   make test-c-sanitize    the same programs built with ASan + UBSan
#   make test-c-tsan        tests/c/tsan_*.c built with TSan over the plain libguv.so: no report allowed
#   make test-c-valgrind    the plain programs under valgrind memcheck (not in `make test`)
#   make test-c-known-bugs  programs that show open core bugs (expected to fail)
#   make test-c T=sleep     one program only (tests/c/test_sleep.c)

CTEST_DIR   := tests/c
CTEST_HDRS  := $(CTEST_DIR)/test.h include/guv.h
CTEST_NAMES := $(if $(T),$(T),$(patsubst $(CTEST_DIR)/test_%.c,%,$(sort $(wildcard $(CTEST_DIR)/test_*.c))))
CTEST_BUGS  := $(patsubst $(CTEST_DIR)/bug_%.c,%,$(sort $(wildcard $(CTEST_DIR)/bug_*.c)))
CTEST_CFLAGS := $(GUV_CFLAGS) -D_GNU_SOURCE
CTEST_SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Full unwinding on malloc: guv's Rust frames have no frame pointers, and the
# leak suppressions name them.
CTEST_SAN_ENV := ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=suppressions=$(ROOT)/$(CTEST_DIR)/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1
# Each program must finish well within this; a hang fails rather than stalls `make test`.
CTEST_TIMEOUT ?= 60
# The tests check the built-in defaults, so the caller's tuning must not leak in.
CTEST_ENV := env -u GUV_STACK_SIZE -u GUV_OFFLOAD_THREADS

.PHONY: test-c-tsan test-c test-c-sanitize test-c-valgrind test-c-known-bugs ctest-run ctest-run-san ctest-run-bugs ctest-deps-valgrind

# Each public target builds the library, then runs a sub-make: only a make
# started after `cargo build` sees the library's new time stamp and relinks.
test-c: lib
	@$(MAKE) --no-print-directory ctest-run
test-c-sanitize: lib
	@$(MAKE) --no-print-directory ctest-run-san
test-c-valgrind: lib ctest-deps-valgrind
	@$(MAKE) --no-print-directory ctest-run-valgrind CTEST_TIMEOUT=600
test-c-known-bugs: lib
	@$(MAKE) --no-print-directory ctest-run-bugs

# The library is a prerequisite only when it exists, so that make does not
# stop on a fresh clone before `lib` has built it.
$(BUILD)/ctest/%: $(CTEST_DIR)/%.c $(CTEST_HDRS) $(wildcard $(GUV_A))
	@mkdir -p $(@D)
	$(CC) $(CTEST_CFLAGS) -o $@ $< $(GUV_LIBS_STATIC)

$(BUILD)/ctest-san/%: $(CTEST_DIR)/%.c $(CTEST_HDRS) $(wildcard $(GUV_A))
	@mkdir -p $(@D)
	$(CC) $(CTEST_CFLAGS) $(CTEST_SAN_FLAGS) -o $@ $< $(GUV_LIBS_STATIC)

# Probe big frames page by page (Debian's GCC does not by default), so that a
# frame larger than the guard region still faults in it.
$(BUILD)/ctest/test_overflow $(BUILD)/ctest-san/test_overflow: CTEST_CFLAGS += -fstack-clash-protection

# pthread_cleanup_push handlers that span a switch need the unwinder's
# version of them (see guv.h, "pthread_exit"), not glibc's per-thread setjmp chain.
$(BUILD)/ctest/test_pthread_exit $(BUILD)/ctest-san/test_pthread_exit: CTEST_CFLAGS += -fexceptions

# Runs each program in $(1) from directory $(2), with environment $(3) and
# under wrapper $(4); stops at the first failure.
define ctest_run
	@for t in $(1); do \
	  echo "== $$t"; \
	  $(CTEST_ENV) $(3) timeout $(CTEST_TIMEOUT) $(4) $(2)/$$t || { echo "FAILED: $$t"; exit 1; }; \
	done
endef

ctest-run: $(addprefix $(BUILD)/ctest/test_,$(CTEST_NAMES))
	$(call ctest_run,$(addprefix test_,$(CTEST_NAMES)),$(BUILD)/ctest)
	@echo "test-c: $(words $(CTEST_NAMES)) programs passed"

ctest-run-san: $(addprefix $(BUILD)/ctest-san/test_,$(CTEST_NAMES))
	$(call ctest_run,$(addprefix test_,$(CTEST_NAMES)),$(BUILD)/ctest-san,$(CTEST_SAN_ENV))
	@echo "test-c-sanitize: $(words $(CTEST_NAMES)) programs passed"

# test_overflow is left out: valgrind takes over SIGSEGV and stack faults.
# --max-stackframe: test_stack makes a 7 MiB frame on purpose.
CTEST_VG_NAMES := $(filter-out overflow,$(CTEST_NAMES))
ctest-run-valgrind: $(addprefix $(BUILD)/ctest/test_,$(CTEST_VG_NAMES))
	$(call ctest_run,$(addprefix test_,$(CTEST_VG_NAMES)),$(BUILD)/ctest,,valgrind -q --error-exitcode=9 --max-stackframe=16777216)
	@echo "test-c-valgrind: $(words $(CTEST_VG_NAMES)) programs passed"

ctest-deps-valgrind:
	@command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }

ctest-run-bugs: $(addprefix $(BUILD)/ctest/bug_,$(CTEST_BUGS))
	@for t in $(addprefix bug_,$(CTEST_BUGS)); do \
	  echo "== $$t"; $(CTEST_ENV) timeout $(CTEST_TIMEOUT) $(BUILD)/ctest/$$t || echo "STILL FAILS: $$t"; \
	done

# A user's program built with -fsanitize=thread over the uninstrumented
# library: guv's TSan annotations must leave it without a single report.
CTEST_TSAN_NAMES := $(patsubst $(CTEST_DIR)/%.c,%,$(wildcard $(CTEST_DIR)/tsan_*.c))
test-c-tsan: lib
	@$(MAKE) --no-print-directory ctest-run-tsan
$(BUILD)/ctest-tsan/%: $(CTEST_DIR)/%.c $(CTEST_HDRS) $(wildcard $(GUV_SO))
	@mkdir -p $(@D)
	$(CC) $(CTEST_CFLAGS) -fsanitize=thread -o $@ $< -L$(TARGET) -lguv -Wl,-rpath,$(TARGET)
ctest-run-tsan: $(addprefix $(BUILD)/ctest-tsan/,$(CTEST_TSAN_NAMES))
	$(call ctest_run,$(CTEST_TSAN_NAMES),$(BUILD)/ctest-tsan,TSAN_OPTIONS=halt_on_error=1:exitcode=66)
	@echo "test-c-tsan: $(words $(CTEST_TSAN_NAMES)) programs passed with no ThreadSanitizer report"

# The sanitized run passed reliably (ASan reports no false positives from
# guv's stack switching; the one LSan report, a deliberate leak, is suppressed).
TEST_TARGETS += test-c test-c-sanitize test-c-tsan

# The blocking detector's test reads its own function names back from the
# report, which dladdr finds only in the dynamic symbol table.
$(BUILD)/ctest/test_block $(BUILD)/ctest-san/test_block: CTEST_CFLAGS += -rdynamic
