# C++ binding: tests/cpp, a CMake project over a scratch install, each test with ASan + UBSan and plain (libpq: pq_test.cpp).
## make test-cpp           the C++ tests and the complete example of bindings/cpp/README.md
## make bench-cpp          instructions per yield with and without guv.hpp's hooks: benches/results/cpp.md
cpp-programs: $(OUT)/prefix/.installed | deps-packaging deps-drivers
	@mkdir -p $(OUT)/cpp
	awk '/^```cpp$$/ {on = 1; next} on && /^```$$/ {exit} on' $(ROOT)/bindings/cpp/README.md > $(OUT)/cpp/readme_example.cpp
	cmake -S $(ROOT)/tests/cpp -B $(OUT)/cpp -DCMAKE_PREFIX_PATH=$(OUT)/prefix -DCMAKE_CXX_COMPILER=$(CXX) \
	  -DGUV_README_EXAMPLE=$(OUT)/cpp/readme_example.cpp >/dev/null
	cmake --build $(OUT)/cpp -j $(JOBS)
test-cpp: cpp-programs
	cd $(OUT)/cpp && $(TEST_ENV) ctest --output-on-failure
bench-cpp: $(OUT)/prefix/.installed | deps-reliability
	CXX=$(CXX) sh $(ROOT)/benches/cpp_hooks.sh $(OUT)/prefix $(OUT)/cpp > $(ROOT)/benches/results/cpp.md && cat $(ROOT)/benches/results/cpp.md
