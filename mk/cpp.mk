# C++ binding (bindings/cpp/guv.hpp, header-only C++17).
#
# `make test-cpp` installs guv into $(BUILD)/cpp-prefix with the packaging's
# `make install`, then builds tests/cpp as a CMake project outside the tree
# (find_package(guv), guv::guv) and runs it with ctest: every test both under
# ASan + UBSan and plain, and the complete example of bindings/cpp/README.md.

CPP_PREFIX := $(ROOT)/$(BUILD)/cpp-prefix
CPP_TESTS  := $(ROOT)/$(BUILD)/cpp-tests

.PHONY: cpp-prefix test-cpp

cpp-prefix:
	$(MAKE) --no-print-directory install PREFIX=$(CPP_PREFIX) DESTDIR=

# deps-packaging (mk/packaging.mk) installs cmake and g++ when missing,
# deps-drivers (mk/drivers.mk) libpq for tests/cpp/pq_test.cpp.
test-cpp: deps-packaging deps-drivers cpp-prefix
	@mkdir -p $(CPP_TESTS)
	awk '/^```cpp$$/ {on = 1; next} on && /^```$$/ {exit} on' $(ROOT)/bindings/cpp/README.md > $(CPP_TESTS)/readme_example.cpp
	cmake -S $(ROOT)/tests/cpp -B $(CPP_TESTS) -DCMAKE_PREFIX_PATH=$(CPP_PREFIX) -DCMAKE_CXX_COMPILER=$(CXX) \
		-DGUV_README_EXAMPLE=$(CPP_TESTS)/readme_example.cpp >/dev/null
	cmake --build $(CPP_TESTS) -j 2
	cd $(CPP_TESTS) && env -u GUV_STACK_SIZE ctest --output-on-failure

TEST_TARGETS += test-cpp

# Core bugs the C++ binding's tests ran into, each shown by a C program in
# tests/cpp/core-bugs (see its header). Not in `make test`: they fail until
# the core is fixed, and only now and then.
CPP_CORE_BUGS := $(basename $(notdir $(wildcard $(ROOT)/tests/cpp/core-bugs/*.c)))

.PHONY: cpp-core-bugs
cpp-core-bugs: cpp-prefix
	@mkdir -p $(CPP_TESTS)/core-bugs
	@status=0; for b in $(CPP_CORE_BUGS); do \
		$(CC) -O1 -Wall -Wextra -Werror -I$(CPP_PREFIX)/include $(ROOT)/tests/cpp/core-bugs/$$b.c \
			-o $(CPP_TESTS)/core-bugs/$$b -L$(CPP_PREFIX)/lib -lguv -lpthread -Wl,-rpath,$(CPP_PREFIX)/lib || exit 1; \
		$(CPP_TESTS)/core-bugs/$$b || status=1; \
	done; exit $$status

# Instructions per yield with and without guv.hpp's hooks (callgrind: does not
# drift with the machine's load), written to benches/results/cpp.md.
.PHONY: bench-cpp
bench-cpp: ctest-deps-valgrind cpp-prefix
	@mkdir -p $(CPP_TESTS)
	$(CXX) -std=c++17 -O2 -I$(CPP_PREFIX)/include $(ROOT)/benches/cpp_hooks.cpp -o $(CPP_TESTS)/cpp_hooks \
		$(CPP_PREFIX)/lib/libguv.a -lpthread -ldl -lm
	@set -e; for m in hooks nohooks; do \
		valgrind --tool=callgrind --callgrind-out-file=$(CPP_TESTS)/cg.$$m $(CPP_TESTS)/cpp_hooks $$m 2>&1 | \
			sed -n 's/.*I *refs: *//p' | tr -d , > $(CPP_TESTS)/ir.$$m; \
	done; \
	h=$$(cat $(CPP_TESTS)/ir.hooks); n=$$(cat $(CPP_TESTS)/ir.nohooks); \
	{ echo '# C++ binding: what the per-task hooks cost per switch'; echo; \
	  echo 'Written by `make bench-cpp`; do not edit by hand.'; echo; \
	  echo "Run: $$(date -u '+%Y-%m-%d %H:%M UTC'), callgrind instruction counts (independent of load)."; echo; \
	  echo '`benches/cpp_hooks.cpp`: two tasks yield to each other 100000 times each (200000 yields),'; \
	  echo "with guv.hpp's hooks and with them removed before the tasks start (-O2, libguv.a release)."; echo; \
	  echo '| | instructions | per yield |'; echo '|---|---|---|'; \
	  echo "| hooks | $$h | $$((h / 200000)) |"; echo "| no hooks | $$n | $$((n / 200000)) |"; \
	  echo "| hooks' cost | $$((h - n)) | $$(((h - n) / 200000)) |"; } > $(ROOT)/benches/results/cpp.md; \
	cat $(ROOT)/benches/results/cpp.md

BENCH_TARGETS += bench-cpp
