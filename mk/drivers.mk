# Driver support modules (include/guv/*.h) against live servers (docs/support-modules.md).
## make test-drivers       the headers compile as C++; tests/drivers and examples/*_example run
## make bench-drivers      libpq SELECT 1 round trips, green vs OS threads: benches/results/drivers.md
DRV_TESTS := $(basename $(notdir $(wildcard $(ROOT)/tests/drivers/test_*.c)))
DRV_EXAMPLES := pq_example mysql_example redis_example
DRV_PROGS := $(addprefix $(OUT)/drivers/,$(DRV_TESTS)) $(addprefix $(OUT)/examples/,$(DRV_EXAMPLES))
# C++ programs include the headers too, with warnings strict users turn on.
DRV_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic -Wold-style-cast -Wshadow -Wzero-as-null-pointer-constant -Wuseless-cast
# Each program's client library, by its pkg-config name.
$(OUT)/drivers/test_pq $(OUT)/examples/pq_example $(OUT)/release/benches/pq_bench $(OUT)/hook/test_pq: PKG := libpq
$(OUT)/drivers/test_mysql $(OUT)/examples/mysql_example $(OUT)/hook/test_mysql: PKG := libmariadb
$(OUT)/drivers/test_redis $(OUT)/drivers/test_redis_async $(OUT)/examples/redis_example $(OUT)/hook/test_redis: PKG := hiredis
$(OUT)/release/benches/pq_bench: EXTRA_CFLAGS := -DGUV_PROFILE=\"release\"
$(DRV_PROGS) $(OUT)/release/benches/pq_bench: | deps-drivers
# The client libraries' development packages: for these tests, the hook's, Go's and Python's.
deps-drivers:
	$(call deps,libpq-dev libmariadb-dev libhiredis-dev libcurl4-openssl-dev pkg-config)
test-drivers: $(DRV_PROGS) | deps-drivers
	@for h in pq:libpq mysql:libmariadb hiredis:hiredis; do echo "#include <guv/$${h%%:*}.h>" | $(CXX) -x c++ - \
	  -fsyntax-only $(DRV_CXXFLAGS) -I$(ROOT)/include $$(pkg-config --cflags $${h##*:}) || exit 1; done
	$(call run_tests,$(OUT)/drivers,$(DRV_TESTS))
	$(call run_tests,$(OUT)/examples,$(DRV_EXAMPLES))
bench-drivers: $(OUT)/release/benches/pq_bench
	$< $(ROOT)/benches/results/drivers.md
