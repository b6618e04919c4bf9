# guv — the two commands a newcomer needs are `make demo` and `make test`.
#
# Each area of the project (packaging, C tests, drivers, bindings, …) keeps
# its targets in mk/<area>.mk and adds its test target to TEST_TARGETS, so
# `make test` runs them all, in the order the fragments are named.

CARGO    ?= cargo
CC       ?= cc
CXX      ?= c++
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PROFILE  ?= debug

ROOT     := $(abspath .)
TARGET   := $(ROOT)/target/$(PROFILE)
GUV_A    := $(TARGET)/libguv.a
GUV_SO   := $(TARGET)/libguv.so
GUV_CFLAGS := -I$(ROOT)/include -Wall -Wextra -Werror -g -O1
# What libguv.a needs from the system, kept in one place: guv.pc.in's
# Libs.private, which test-packaging checks against rustc's own list.
GUV_NATIVE_LIBS := $(shell sed -n 's/^Libs.private: *//p' $(ROOT)/guv.pc.in)
GUV_LIBS_STATIC := $(GUV_A) $(GUV_NATIVE_LIBS)
CARGO_PROFILE_FLAG := $(if $(filter release,$(PROFILE)),--release,)

TEST_TARGETS :=
# `make bench` and `make soak` gather their parts the same way; each writes
# its latest results under benches/results/<area>.md.
BENCH_TARGETS :=
SOAK_TARGETS :=

.PHONY: all lib header test test-rust bench soak clean
all: lib

lib:
	$(CARGO) build $(CARGO_PROFILE_FLAG)

# Regenerate include/guv.h from the Rust sources (commit the result).
header:
	GUV_BLESS=1 $(CARGO) test --test header

test-rust:
	$(CARGO) test $(CARGO_PROFILE_FLAG)

TEST_TARGETS += test-rust

-include $(sort $(wildcard mk/*.mk))

# make stops at the first failing suite, so reaching the summary means all passed.
test: $(TEST_TARGETS)
	@echo "make test: all suites passed ($(TEST_TARGETS))"
	@echo "suites: $(words $(TEST_TARGETS)) passed, 0 failed"

bench: $(BENCH_TARGETS)
	@echo "make bench: done; results in benches/results/"

soak: $(SOAK_TARGETS)
	@echo "make soak: done; results in benches/results/"

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
