/* guv_kill: cancels the target's current and every later blocking call. */
#include <sys/socket.h>

#include "test.h"

static int steps;

static void sleeper_then_more(void *arg) {
    (void)arg;
    errno = 0;
    ASSERT_ERRNO(guv_sleep(10), ECANCELED);
    steps = 1;
    /* Every later blocking call fails too, even ones that would not suspend. */
    ASSERT_ERRNO(guv_sleep(0.001), ECANCELED);
    ASSERT_ERRNO(guv_sleep(0), ECANCELED);
    ASSERT_ERRNO(guv_join(guv_spawn(test_noop, NULL)), ECANCELED);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_ERRNO(guv_trampoline(sv[0], GUV_READ), ECANCELED);
    ASSERT_ERRNO(guv_trampoline_timeout(sv[0], GUV_READ, 1.0), ECANCELED);
    close(sv[0]);
    close(sv[1]);
    steps = 2;
}

/* Killing a sleeper wakes it at once with ECANCELED; later calls fail too. */
static void test_kill_wakes_sleeper(void) {
    steps = 0;
    int64_t id = guv_spawn(sleeper_then_more, NULL);
    ASSERT_EQ(guv_sleep(0.01), 0);
    double t0 = guv_now();
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_join(id), 0);
    ASSERT(guv_now() - t0 < 1.0);
    ASSERT_EQ(steps, 2);
}

static void wait_readable(void *arg) {
    ASSERT_ERRNO(guv_trampoline(*(int *)arg, GUV_READ), ECANCELED);
    steps++;
}

/* Killing a green thread waiting in guv_trampoline wakes it with ECANCELED,
 * and the fd is free for another reader afterwards. */
static void test_kill_wakes_trampoline(void) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    steps = 0;
    int64_t id = guv_spawn(wait_readable, &sv[0]);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_join(id), 0);
    ASSERT_EQ(steps, 1);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ), GUV_READ);
    close(sv[0]);
    close(sv[1]);
}

static void join_arg(void *arg) {
    ASSERT_ERRNO(guv_join(*(int64_t *)arg), ECANCELED);
    steps++;
}

/* Killing a joiner wakes it with ECANCELED; the joined thread lives on. */
static void test_kill_wakes_joiner(void) {
    static int64_t sleeper;
    steps = 0;
    sleeper = guv_spawn(test_sleep_forever, NULL);
    int64_t joiner = guv_spawn(join_arg, &sleeper);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_kill(joiner), 0);
    ASSERT_EQ(guv_join(joiner), 0);
    ASSERT_EQ(steps, 1);
    ASSERT_EQ(guv_count(), 1);
    ASSERT_EQ(guv_kill(sleeper), 0);
    ASSERT_EQ(guv_run(), 0);
}

static void first_call_cancelled(void *arg) {
    (void)arg;
    steps++;
    ASSERT_ERRNO(guv_sleep(0.001), ECANCELED);
}

/* Killing a green thread before it started: its first blocking call fails. */
static void test_kill_before_start(void) {
    steps = 0;
    int64_t id = guv_spawn(first_call_cancelled, NULL);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(steps, 1);
}

static void kill_self(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_kill(guv_current()), 0);
    ASSERT_ERRNO(guv_sleep(0.001), ECANCELED);
    steps++;
}

/* A green thread may kill itself: its next blocking call fails. */
static void test_kill_self(void) {
    steps = 0;
    ASSERT(guv_spawn(kill_self, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(steps, 1);
}

/* Killing an ended green thread is 0, as often as you like; ids never
 * issued are ESRCH. */
static void test_kill_ended_and_unknown(void) {
    int64_t id = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_ERRNO(guv_kill(0), ESRCH);
    ASSERT_ERRNO(guv_kill(-7), ESRCH);
    ASSERT_ERRNO(guv_kill(id + 1), ESRCH);
    ASSERT_ERRNO(guv_kill(INT64_MAX), ESRCH);
}

static int64_t victim;

static void measure_nothing_cancelled(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.001), 0);
}

static void killer(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_kill(victim), 0);
}

/* The kill from another green thread cancels a sleeper; a slot reused by a
 * later green thread does not inherit the cancellation. */
static void test_kill_does_not_leak_into_reused_slot(void) {
    victim = guv_spawn(test_sleep_forever, NULL);
    ASSERT(guv_spawn(killer, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < 10; i++) {
        int64_t id = guv_spawn(measure_nothing_cancelled, NULL);
        ASSERT(id != victim);
    }
    ASSERT_EQ(guv_run(), 0);
}

int main(void) {
    RUN(test_kill_wakes_sleeper);
    RUN(test_kill_wakes_trampoline);
    RUN(test_kill_wakes_joiner);
    RUN(test_kill_before_start);
    RUN(test_kill_self);
    RUN(test_kill_ended_and_unknown);
    RUN(test_kill_does_not_leak_into_reused_slot);
    return 0;
}
