/* guv_sleep: cooperation, duration, ordering, odd durations. */
#include <math.h>
#include <time.h>

#include "test.h"

static int woke;

static void sleep_02(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.2), 0);
    woke++;
}

/* 50 green threads each sleeping 0.2 s finish together, not one after the
 * other (10 s): the sleeps overlap. */
static void test_sleepers_cooperate(void) {
    woke = 0;
    double t0 = guv_now();
    for (int i = 0; i < 50; i++) ASSERT(guv_spawn(sleep_02, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    double took = guv_now() - t0;
    ASSERT_EQ(woke, 50);
    ASSERT(took >= 0.2);
    if (took >= 2.5) FAIL("50 sleeps of 0.2 s took %.2f s", took);
}

/* A sleep lasts at least as long as asked, in main and in a green thread. */
static void measure_sleep(void *arg) {
    (void)arg;
    double t0 = guv_now();
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT(guv_now() - t0 >= 0.05);
}

static void test_sleep_lasts_at_least_asked(void) {
    measure_sleep(NULL);
    ASSERT(guv_spawn(measure_sleep, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
}

static int wake_order[3], wakes;

static void sleep_for(void *arg) {
    int ms = (int)(intptr_t)arg;
    ASSERT_EQ(guv_sleep(ms / 1000.0), 0);
    wake_order[wakes++] = ms;
}

/* Sleepers wake in the order of their deadlines, not of their spawns. */
static void test_sleepers_wake_in_deadline_order(void) {
    wakes = 0;
    ASSERT(guv_spawn(sleep_for, (void *)(intptr_t)60) >= 1);
    ASSERT(guv_spawn(sleep_for, (void *)(intptr_t)20) >= 1);
    ASSERT(guv_spawn(sleep_for, (void *)(intptr_t)40) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(wakes, 3);
    ASSERT_EQ(wake_order[0], 20);
    ASSERT_EQ(wake_order[1], 40);
    ASSERT_EQ(wake_order[2], 60);
}

/* NaN is refused, from main and from a green thread. */
static void sleep_nan(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_sleep(NAN), EINVAL);
    ASSERT_ERRNO(guv_sleep(-NAN), EINVAL);
}

static void test_sleep_nan_is_einval(void) {
    sleep_nan(NULL);
    ASSERT(guv_spawn(sleep_nan, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
}

static int flag;

static void set_flag(void *arg) {
    (void)arg;
    flag = 1;
}

static void sleep_zero_yields(void *arg) {
    double d = *(double *)arg;
    flag = 0;
    ASSERT(guv_spawn(set_flag, NULL) >= 1);
    ASSERT_EQ(flag, 0);
    ASSERT_EQ(guv_sleep(d), 0);
    ASSERT_EQ(flag, 1);
}

/* A duration of zero or less (even -inf) yields: others run, and it returns
 * 0 at once. */
static void test_nonpositive_sleep_yields(void) {
    static double durations[] = {0.0, -0.0, -1.0, -INFINITY, -1e-300};
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        double t0 = guv_now();
        ASSERT(guv_spawn(sleep_zero_yields, &durations[i]) >= 1);
        ASSERT_EQ(guv_run(), 0);
        ASSERT(guv_now() - t0 < 0.5);
    }
}

/* Called from main, guv_sleep runs the hub: green threads progress while
 * main sleeps, without any guv_run. */
static void test_main_sleep_runs_hub(void) {
    woke = 0;
    ASSERT(guv_spawn(measure_sleep, NULL) >= 1);
    ASSERT(guv_spawn(sleep_for, (void *)(intptr_t)10) >= 1);
    wakes = 0;
    ASSERT_EQ(guv_sleep(0.1), 0);
    ASSERT_EQ(wakes, 1);
    ASSERT_EQ(guv_count(), 0);
}

/* An infinite sleep is a sleep until killed. */
static void test_infinite_sleep_until_killed(void) {
    int64_t id = guv_spawn(test_sleep_forever, NULL);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(guv_count(), 1);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
}

/* guv_now is monotonic: it never goes back, and it moves across a sleep. */
static void test_now_is_monotonic(void) {
    double prev = guv_now();
    ASSERT(prev > 0);
    for (int i = 0; i < 100000; i++) {
        double t = guv_now();
        if (t < prev) FAIL("guv_now went back from %.9f to %.9f", prev, t);
        prev = t;
    }
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT(guv_now() - prev >= 0.02);
}

static volatile sig_atomic_t interruptions;

static void count_signal(int sig) {
    (void)sig;
    interruptions++;
}

/* A signal every millisecond (no SA_RESTART) keeps interrupting the hub's
 * epoll_wait with EINTR: no sleeper loses its wake-up or wakes early. */
static void test_signals_lose_no_wakeup(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_t timer;
    ASSERT_EQ(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
    struct itimerspec every_ms = {{0, 1000000}, {0, 1000000}};
    ASSERT_EQ(timer_settime(timer, 0, &every_ms, NULL), 0);
    interruptions = 0;
    woke = 0;
    double t0 = guv_now();
    for (int i = 0; i < 50; i++) ASSERT(guv_spawn(sleep_02, NULL) >= 1);
    ASSERT(guv_spawn(measure_sleep, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    double took = guv_now() - t0;
    ASSERT_EQ(timer_delete(timer), 0);
    signal(SIGUSR1, SIG_DFL);
    ASSERT_EQ(woke, 50);
    ASSERT(took >= 0.2 && took < 2.5);
    if (interruptions < 20) FAIL("only %d signals arrived in %.2f s", (int)interruptions, took);
}

int main(void) {
    RUN(test_sleepers_cooperate);
    RUN(test_sleep_lasts_at_least_asked);
    RUN(test_sleepers_wake_in_deadline_order);
    RUN(test_sleep_nan_is_einval);
    RUN(test_nonpositive_sleep_yields);
    RUN(test_main_sleep_runs_hub);
    RUN(test_infinite_sleep_until_killed);
    RUN(test_now_is_monotonic);
    RUN(test_signals_lose_no_wakeup);
    return 0;
}
