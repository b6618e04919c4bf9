# Database driver support modules (include/guv/{pq,mysql,hiredis}.h),
# tested against the live servers: PostgreSQL, MariaDB and Redis.
#
#   make test-drivers      install client dev packages if missing, check the
#                          headers compile as C++, build and run the examples
#                          and tests/drivers/test_*.c (part of `make test`)
#   make examples-drivers  build examples/{pq,mysql,redis}_example
#   make bench-drivers     libpq SELECT 1 round trips/s, green vs OS threads
#                          (part of `make bench`; writes benches/results/drivers.md)
#
# Servers come from GUV_TEST_PG, GUV_TEST_MYSQL, GUV_TEST_REDIS (see
# docs/support-modules.md); a server that cannot be reached fails the tests.

DRV_DIR    := tests/drivers
DRV_OUT    := $(BUILD)/drivers
DRV_HDRS   := $(DRV_DIR)/drivers.h tests/c/test.h include/guv.h
DRV_CFLAGS := $(GUV_CFLAGS) -I$(ROOT)/tests/c -I$(ROOT)/$(DRV_DIR)
DRV_TIMEOUT ?= 120
DRV_PKGS   := libpq-dev libmariadb-dev libhiredis-dev pkg-config
# A program's driver flags, asked of pkg-config when its recipe runs (after deps-drivers).
drv_flags   = $(shell pkg-config --cflags --libs $(DRV_PKG))

.PHONY: deps-drivers headers-drivers test-drivers examples-drivers bench-drivers

# Installs the client development packages a fresh machine may lack.
deps-drivers:
	@missing=""; for p in $(DRV_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(DRV_OUT)/test_pq $(DRV_OUT)/pq_example $(DRV_OUT)/pq_bench: DRV_PKG := libpq
$(DRV_OUT)/test_pq $(DRV_OUT)/pq_example $(DRV_OUT)/pq_bench: include/guv/pq.h
$(DRV_OUT)/test_mysql $(DRV_OUT)/mysql_example: DRV_PKG := libmariadb
$(DRV_OUT)/test_mysql $(DRV_OUT)/mysql_example: include/guv/mysql.h
DRV_REDIS_PROGS := $(DRV_OUT)/test_redis $(DRV_OUT)/test_redis_async $(DRV_OUT)/redis_example
$(DRV_REDIS_PROGS): DRV_PKG := hiredis
$(DRV_REDIS_PROGS): include/guv/hiredis.h

# Order-only on deps-drivers and lib: they must have run, but re-running
# them must not rebuild every program.
$(DRV_OUT)/test_%: $(DRV_DIR)/test_%.c $(DRV_HDRS) $(wildcard $(GUV_A)) | deps-drivers lib
	@mkdir -p $(@D)
	$(CC) $(DRV_CFLAGS) -o $@ $< $(drv_flags) $(GUV_LIBS_STATIC)

$(DRV_OUT)/%_example: examples/%_example.c include/guv.h $(wildcard $(GUV_A)) | deps-drivers lib
	@mkdir -p $(@D)
	$(CC) $(GUV_CFLAGS) -o $@ $< $(drv_flags) $(GUV_LIBS_STATIC)

$(DRV_OUT)/pq_bench: benches/pq_bench.c include/guv.h $(wildcard $(GUV_A)) | deps-drivers lib
	@mkdir -p $(@D)
	$(CC) $(GUV_CFLAGS) -O2 -DGUV_PROFILE=\"$(PROFILE)\" -o $@ $< $(drv_flags) $(GUV_LIBS_STATIC)

DRV_TESTS    := $(wildcard $(DRV_DIR)/test_*.c)
DRV_EXAMPLES := $(patsubst examples/%.c,%,$(wildcard examples/pq_example.c examples/mysql_example.c examples/redis_example.c))

examples-drivers: $(addprefix $(DRV_OUT)/,$(DRV_EXAMPLES))

# Each header also compiles as C++ (C++ programs include them too), cleanly
# under the strict warnings C++ projects use. The check is of the driver
# headers' own code: guv.h is included first with -Wshadow off, since in C++
# its guv_stats function hides struct guv_stats (OBS_NOTES, issue 19).
DRV_HEADER_PKGS := pq:libpq mysql:libmariadb hiredis:hiredis
headers-drivers: | deps-drivers
	@for hp in $(DRV_HEADER_PKGS); do \
	  h=$${hp%%:*}; p=$${hp##*:}; \
	  { echo '#pragma GCC diagnostic push'; echo '#pragma GCC diagnostic ignored "-Wshadow"'; \
	    echo '#include <guv.h>'; echo '#pragma GCC diagnostic pop'; echo "#include <guv/$$h.h>"; } | $(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -Wold-style-cast -Wshadow \
	    -Wzero-as-null-pointer-constant -Wuseless-cast -fsyntax-only \
	    -I$(ROOT)/include $$(pkg-config --cflags $$p) -x c++ - || { echo "FAILED: guv/$$h.h as C++"; exit 1; }; \
	done

# Runs each driver's tests, then each example once (they print what they did).
test-drivers: headers-drivers examples-drivers $(patsubst $(DRV_DIR)/%.c,$(DRV_OUT)/%,$(DRV_TESTS))
	@for t in $(patsubst $(DRV_DIR)/%.c,%,$(DRV_TESTS)); do \
	  echo "== $$t"; timeout $(DRV_TIMEOUT) $(DRV_OUT)/$$t || { echo "FAILED: $$t"; exit 1; }; \
	done
	@for e in $(DRV_EXAMPLES); do \
	  echo "== $$e"; timeout 30 $(DRV_OUT)/$$e || { echo "FAILED: $$e"; exit 1; }; \
	done
	@echo "test-drivers: passed"

bench-drivers: $(DRV_OUT)/pq_bench
	@mkdir -p benches/results
	$(DRV_OUT)/pq_bench benches/results/drivers.md

TEST_TARGETS  += test-drivers
BENCH_TARGETS += bench-drivers
