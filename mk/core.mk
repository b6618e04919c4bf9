# Core runtime benchmarks (issue 2): yield vs raw corosensei, spawn+exit, 1M sleepers.
.PHONY: bench-core
bench-core:
	$(CARGO) bench --bench core

BENCH_TARGETS += bench-core
