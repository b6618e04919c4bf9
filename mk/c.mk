# C tests of the core (tests/c) and of the I/O layer (tests/io): one program per feature.
## make test-c [T=sleep]   the core's C tests (T: tests/c/test_sleep.c alone)
## make test-c-sanitize    the same under ASan + UBSan, leaks checked
## make test-c-tsan        tests/c/tsan_*.c under ThreadSanitizer over the plain libguv.so: no report allowed
## make test-c-valgrind    the same under memcheck, leaks checked (test-reliability runs a subset)
## make test-io [T=poll]   the I/O layer's C tests, then the echo example over loopback
## make bench-io [IO_ROUNDS=3 IO_SECONDS=2 IO_CONNS=100,1]   ping-pong, TCP echo (guv vs epoll vs Go), callgrind counts: benches/results/io.md
## make bench-io-ab [AB_ROUNDS=21 AB_SECONDS=2]   guv's echo server against the epoll server side by side, medians with 95 % intervals (printed)
## make bench-detector [DETECTOR_BASE=echo_server]   its cost on the echo server: benches/results/observability.md
C_TESTS  := $(if $(T),test_$(T),$(basename $(notdir $(wildcard $(ROOT)/tests/c/test_*.c))))
C_TSAN   := $(basename $(notdir $(wildcard $(ROOT)/tests/c/tsan_*.c)))
IO_TESTS := $(if $(T),test_$(T),$(basename $(notdir $(wildcard $(ROOT)/tests/io/test_*.c))))
# Probe big frames page by page, so that one larger than the guard region still faults in it.
$(OUT)/c/test_overflow $(OUT)/san/c/test_overflow: EXTRA_CFLAGS := -fstack-clash-protection
# Cleanup handlers that span a switch need the unwinder's version (guv.h, "pthread_exit").
$(OUT)/c/test_pthread_exit $(OUT)/san/c/test_pthread_exit: EXTRA_CFLAGS := -fexceptions
# The blocking detector's test and test_backtrace read their own function names back, which dladdr finds only if exported.
$(OUT)/c/test_block $(OUT)/san/c/test_block $(OUT)/c/test_backtrace $(OUT)/san/c/test_backtrace: EXTRA_CFLAGS := -rdynamic
# Definite leaks are errors (not a forked child's "possibly lost" thread stacks); guv's deliberate
# ones are suppressed with reasons. test_stack's 7 MiB frame would pass for a stack switch.
VALGRIND := valgrind -q --error-exitcode=9 --max-stackframe=16777216 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions=$(ROOT)/tests/reliability/valgrind.supp
# test_run ends threads with suspended green threads, which guv leaks on purpose.
VALGRIND_THREAD_EXIT := $(VALGRIND) --suppressions=$(ROOT)/tests/reliability/valgrind-thread-exit.supp
# Not test_overflow: valgrind takes over SIGSEGV and stack faults. Not the tests that time or
# size the process, which valgrind changes: test_block (the monitor thread must see a green
# thread hold the hub for 50 ms), test_stats (idle time), test_stack_release (RSS after a burst),
# test_hub_spawn_memory (a tight RLIMIT_AS, which valgrind's own mappings exceed).
VG_TESTS := $(filter-out test_overflow test_run test_block test_stats test_stack_release test_hub_spawn_memory,$(C_TESTS))
test-c: $(addprefix $(OUT)/c/,$(C_TESTS))
	$(call run_tests,$(OUT)/c,$(C_TESTS))
test-c-sanitize: $(addprefix $(OUT)/san/c/,$(C_TESTS))
	$(call run_tests,$(OUT)/san/c,$(C_TESTS),$(SAN_ENV))
test-c-tsan: $(addprefix $(OUT)/tsan/c/,$(C_TSAN))
	$(call run_tests,$(OUT)/tsan/c,$(C_TSAN),TSAN_OPTIONS=halt_on_error=1:exitcode=66)
test-c-valgrind: TIMEOUT := 600
test-c-valgrind: $(addprefix $(OUT)/c/,$(VG_TESTS) test_run) | deps-reliability
	$(call run_tests,$(OUT)/c,$(VG_TESTS),,$(VALGRIND))
	$(call run_tests,$(OUT)/c,$(filter test_run,$(C_TESTS)),,$(VALGRIND_THREAD_EXIT))
test-io: $(addprefix $(OUT)/io/,$(IO_TESTS)) $(OUT)/examples/echo_server $(OUT)/examples/echo_client
	$(call run_tests,$(OUT)/io,$(IO_TESTS))
	$(call run_tests,$(ROOT)/tests/io,echo_example.sh,BUILD_IO=$(OUT)/examples,sh)
# The benchmark wants every program in one directory, the example servers too.
IO_BENCH := $(OUT)/release/benches/io
$(IO_BENCH)/echo_%: $(ROOT)/examples/echo_%.c $(TEST_HDRS) $(GUV_RELEASE)/libguv.a
	$(call cc_prog,$(GUV_RELEASE)/libguv.a,-O2)
$(IO_BENCH)/go_echo: $(ROOT)/benches/io/go_echo.go | deps-go
	cd $(ROOT)/benches/io && GOTOOLCHAIN=local GOPROXY=off $(GO) build -o $@ go_echo.go
# valgrind: the instruction counts per round trip (benches/io/callgrind.sh).
bench-io: $(addprefix $(IO_BENCH)/,pingpong epoll_echo load_client echo_server echo_client go_echo)
	$(call deps,valgrind)
	python3 $(ROOT)/benches/io/run.py $(IO_BENCH) $(ROOT)/benches/results/io.md --rounds $(or $(IO_ROUNDS),3) \
	  --seconds $(or $(IO_SECONDS),2) $(if $(IO_CONNS),--conns $(IO_CONNS))
bench-io-ab: $(addprefix $(IO_BENCH)/,epoll_echo load_client echo_server)
	python3 $(ROOT)/benches/io/ab.py $(IO_BENCH) --together --rounds $(or $(AB_ROUNDS),21) --seconds $(or $(AB_SECONDS),2)
bench-detector: $(IO_BENCH)/echo_server $(IO_BENCH)/load_client
	python3 $(ROOT)/benches/io/detector.py $(IO_BENCH) $(ROOT)/benches/results/observability.md \
	  --rounds $(or $(DETECTOR_ROUNDS),5) $(if $(DETECTOR_BASE),--base $(DETECTOR_BASE))
