/*
 * What the hook's own tests share, on top of tests/drivers/drivers.h:
 * 50 workers that call only libc (never guv), run beside a ticker, and a
 * gate that proves they overlapped on one OS thread.
 */
#ifndef GUV_HOOK_TEST_H
#define GUV_HOOK_TEST_H

#include "drivers.h"

/* Each worker's wait; serially 50 x 0.2 s = 10 s. */
#define HOOK_WAIT 0.2

/* Runs fn(i) in 50 green threads and asserts they overlapped: the whole
 * batch within the gate, at least one wait long, and the ticker running. */
static inline void hook_check_parallel(const char *what, void (*fn)(int, void *), void *ctx)
{
    int ticks;
    double elapsed = drv_parallel(DRV_CONCURRENCY, fn, ctx, &ticks);
    printf("  %s: %d x %.1f s took %.2f s (serial %.0f s); ticker ticked %d times\n", what, DRV_CONCURRENCY,
           HOOK_WAIT, elapsed, DRV_CONCURRENCY * HOOK_WAIT, ticks);
    ASSERT(elapsed >= HOOK_WAIT * 0.95);
    ASSERT(elapsed < DRV_GATE_SECONDS);
    ASSERT(ticks >= 10);
}

#endif /* GUV_HOOK_TEST_H */
