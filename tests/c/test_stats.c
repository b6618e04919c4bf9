/* guv_stats: the hub's counters move with what its green threads do, and
 * the size argument lets the struct grow. */
#include "test.h"

static struct guv_stats now_stats(void) {
    struct guv_stats s;
    memset(&s, 0xa5, sizeof s);
    ASSERT_EQ(guv_stats(&s, sizeof s), 0);
    return s;
}

static void sleeps_then_waits(void *arg) {
    int *fds = arg;
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(guv_trampoline(fds[0], GUV_READ), GUV_READ);
}

static void writes_later(void *arg) {
    int *fds = arg;
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(write(fds[1], "x", 1), 1);
}

static void offloaded(void *arg) { (void)arg; }
static void offloads(void *arg) { (void)arg; ASSERT_EQ(guv_offload(offloaded, NULL), 0); }

/* Three green threads: two sleeps, one fd wait, one offload; the counters
 * grow by exactly those, switches and turns move, and the hub slept in epoll
 * for about the 50 ms nothing was ready. */
static void test_counts(void) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    struct guv_stats a = now_stats();
    ASSERT(guv_spawn(sleeps_then_waits, fds) >= 1);
    ASSERT(guv_spawn(writes_later, fds) >= 1);
    ASSERT(guv_spawn(offloads, NULL) >= 1);
    struct guv_stats mid = now_stats();
    ASSERT_EQ(mid.green_threads, 3);
    ASSERT_EQ(mid.spawned - a.spawned, 3);
    ASSERT_EQ(guv_run(), 0);
    struct guv_stats b = now_stats();
    ASSERT_EQ(b.green_threads, 0);
    ASSERT_EQ(b.sleeps - a.sleeps, 2);
    ASSERT_EQ(b.fd_waits - a.fd_waits, 1);
    ASSERT_EQ(b.offloads - a.offloads, 1);
    ASSERT_EQ(b.timers, 0);
    /* Each green thread ran at least twice (start, after its wait), main once. */
    ASSERT(b.switches - a.switches >= 7);
    ASSERT(b.turns - a.turns >= 2);
    ASSERT(b.idle_ns - a.idle_ns >= 30 * 1000000ull && b.idle_ns - a.idle_ns < 2000 * 1000000ull);
    close(fds[0]);
    close(fds[1]);
}

static void sleeps_long(void *arg) { (void)arg; ASSERT_ERRNO(guv_sleep(10), ECANCELED); }

/* A pending sleep is a pending timer. */
static void test_timers_pending(void) {
    int64_t id = guv_spawn(sleeps_long, NULL);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(now_stats().timers, 1);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(now_stats().timers, 0);
}

static void *remote_submitter(void *arg) {
    guv_hub *hub = arg;
    ASSERT_EQ(guv_hub_spawn(hub, test_noop, NULL), 0);
    ASSERT_EQ(guv_hub_unpark(hub, 0), 0);
    ASSERT_EQ(guv_hub_unhold(hub), 0);
    return NULL;
}

/* Requests from another thread are counted once each. */
static void test_remote(void) {
    guv_hub *hub = guv_hub_self();
    ASSERT(hub != NULL);
    struct guv_stats a = now_stats();
    ASSERT_EQ(guv_hub_hold(hub), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, remote_submitter, hub), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    struct guv_stats b = now_stats();
    ASSERT_EQ(b.remote - a.remote, 2);
    ASSERT_EQ(b.spawned - a.spawned, 1);
    guv_hub_release(hub);
}

/* A caller compiled with a shorter struct gets only its fields; a longer one
 * (a newer header) gets the unknown tail zeroed; NULL or size 0 is EINVAL. */
static void test_sizes(void) {
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    uint64_t two[3] = {7, 7, 7};
    ASSERT_EQ(guv_stats((struct guv_stats *)two, 2 * sizeof(uint64_t)), 0);
    ASSERT_EQ(two[0], 1);
    ASSERT_EQ(two[2], 7);
    unsigned char big[sizeof(struct guv_stats) + 16];
    memset(big, 0xff, sizeof big);
    ASSERT_EQ(guv_stats((struct guv_stats *)big, sizeof big), 0);
    for (size_t i = sizeof(struct guv_stats); i < sizeof big; i++) ASSERT_EQ(big[i], 0);
    ASSERT_EQ(((struct guv_stats *)big)->green_threads, 1);
    ASSERT_ERRNO(guv_stats(NULL, sizeof(struct guv_stats)), EINVAL);
    ASSERT_ERRNO(guv_stats((struct guv_stats *)big, 0), EINVAL);
    ASSERT_EQ(guv_run(), 0);
}

int main(void) {
    RUN(test_counts);
    RUN(test_timers_pending);
    RUN(test_remote);
    RUN(test_sizes);
    return 0;
}
