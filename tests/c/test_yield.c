/* guv_yield: round-robin among ready green threads, and from main. */
#include "test.h"

#define N 4
#define ROUNDS 3

static int order[N * ROUNDS];
static int logged;

static void take_turns(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        order[logged++] = me;
        ASSERT_EQ(guv_yield(), 0);
    }
}

/* Each ready green thread runs once per round, in spawn order. */
static void test_round_robin(void) {
    logged = 0;
    for (int i = 0; i < N; i++) ASSERT(guv_spawn(take_turns, (void *)(intptr_t)i) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(logged, N * ROUNDS);
    for (int k = 0; k < N * ROUNDS; k++) ASSERT_EQ(order[k], k % N);
}

static int steps[N];

static void step_forever(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        steps[me]++;
        ASSERT_EQ(guv_yield(), 0);
    }
}

/* A guv_yield from main lets each ready green thread run exactly once. */
static void test_yield_from_main_runs_each_once(void) {
    memset(steps, 0, sizeof steps);
    for (int i = 0; i < N; i++) ASSERT(guv_spawn(step_forever, (void *)(intptr_t)i) >= 1);
    for (int r = 1; r <= ROUNDS; r++) {
        ASSERT_EQ(guv_yield(), 0);
        for (int i = 0; i < N; i++) ASSERT_EQ(steps[i], r);
    }
    ASSERT_EQ(guv_run(), 0);
}

static int alone_yields;

static void yield_alone(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        ASSERT_EQ(guv_yield(), 0);
        alone_yields++;
    }
}

/* With nobody else ready, guv_yield returns at once (main has nothing to
 * run either). */
static void test_yield_with_nobody_else(void) {
    alone_yields = 0;
    ASSERT_EQ(guv_yield(), 0);
    ASSERT(guv_spawn(yield_alone, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(alone_yields, 1000);
}

static int sleeper_woke;

static void short_sleep(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.01), 0);
    sleeper_woke = 1;
}

static void spin_until_woken(void *arg) {
    (void)arg;
    double t0 = guv_now();
    while (!sleeper_woke) {
        ASSERT(guv_now() - t0 < 5.0);
        ASSERT_EQ(guv_yield(), 0);
    }
}

/* A green thread spinning on guv_yield does not starve timers: the hub still
 * looks at the clock between turns. */
static void test_yield_loop_lets_timers_fire(void) {
    sleeper_woke = 0;
    ASSERT(guv_spawn(short_sleep, NULL) >= 1);
    ASSERT(guv_spawn(spin_until_woken, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(sleeper_woke, 1);
}

int main(void) {
    RUN(test_round_robin);
    RUN(test_yield_from_main_runs_each_once);
    RUN(test_yield_with_nobody_else);
    RUN(test_yield_loop_lets_timers_fire);
    return 0;
}
