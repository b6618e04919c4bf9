# Observability (issue 16): what the blocking detector costs on the echo
# server, off against on at 100 ms, written to benches/results/observability.md.
#   make bench-detector DETECTOR_BASE=path/to/echo_server   also against a build without it

DETECTOR_ROUNDS ?= 5
.PHONY: bench-detector
bench-detector: $(IO_BENCH_OUT)/echo_server $(IO_BENCH_OUT)/load_client
	python3 benches/io/detector.py $(IO_BENCH_OUT) benches/results/observability.md --rounds $(DETECTOR_ROUNDS) \
		$(if $(DETECTOR_BASE),--base $(DETECTOR_BASE))

BENCH_TARGETS += bench-detector
