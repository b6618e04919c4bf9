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
 * all under way before the first ended, the whole batch within the gate, at
 * least one wait long, and the ticker running. */
static inline void hook_check_parallel(const char *what, void (*fn)(int, void *), void *ctx)
{
    struct drv_ticker t;
    double elapsed = drv_parallel(DRV_CONCURRENCY, fn, ctx, &t);
    printf("  %s: %d x %.1f s took %.2f s (serial %.0f s); ticker ticked %d times, longest gap %.0f ms\n",
           what, DRV_CONCURRENCY, HOOK_WAIT, elapsed, DRV_CONCURRENCY * HOOK_WAIT, t.ticks, t.max_gap * 1000);
    ASSERT(elapsed >= HOOK_WAIT * 0.95);
    ASSERT(elapsed < DRV_GATE_SECONDS);
    /* The ticker ran while the waits were under way (its 5 ms sleep ends long
     * before a 0.2 s wait; drv_parallel proved the order): once is asked, not
     * the dozens a quiet machine sees (ticks >= 10 failed under load). */
    ASSERT(t.ticks >= 1);
}

#endif /* GUV_HOOK_TEST_H */
