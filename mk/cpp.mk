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

# deps-packaging (mk/packaging.mk) installs cmake and g++ when missing.
test-cpp: deps-packaging cpp-prefix
	@mkdir -p $(CPP_TESTS)
	awk '/^```cpp$$/ {on = 1; next} on && /^```$$/ {exit} on' $(ROOT)/bindings/cpp/README.md > $(CPP_TESTS)/readme_example.cpp
	cmake -S $(ROOT)/tests/cpp -B $(CPP_TESTS) -DCMAKE_PREFIX_PATH=$(CPP_PREFIX) -DCMAKE_CXX_COMPILER=$(CXX) \
		-DGUV_README_EXAMPLE=$(CPP_TESTS)/readme_example.cpp >/dev/null
	cmake --build $(CPP_TESTS) -j 2
	cd $(CPP_TESTS) && env -u GUV_STACK_SIZE ctest --output-on-failure

TEST_TARGETS += test-cpp
