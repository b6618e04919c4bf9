/* guv_offload: blocking calls on the offload pool suspend only their caller. */
#include "test.h"

static void usleep_50ms(void *arg) {
    (void)arg;
    usleep(50 * 1000);
}

static int offloaded, ticks;
static double max_gap;

static void offload_one(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_offload(usleep_50ms, NULL), 0);
    offloaded++;
}

static void ticker(void *arg) {
    (void)arg;
    double last = guv_now();
    while (offloaded < 100) {
        ASSERT_EQ(guv_sleep(0.005), 0);
        double now = guv_now();
        if (now - last > max_gap) max_gap = now - last;
        last = now;
        ticks++;
    }
}

/* 100 green threads each offload a 50 ms usleep at once; a ticker green
 * thread keeps ticking all along (the hub is never blocked), and the calls
 * overlap on the pool (8 threads: about 0.65 s, not 5 s). */
static void test_offload_keeps_hub_running(void) {
    offloaded = ticks = 0;
    max_gap = 0;
    double t0 = guv_now();
    for (int i = 0; i < 100; i++) ASSERT(guv_spawn(offload_one, NULL) >= 1);
    ASSERT(guv_spawn(ticker, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    double took = guv_now() - t0;
    ASSERT_EQ(offloaded, 100);
    if (took >= 2.5) FAIL("100 offloaded 50 ms sleeps took %.2f s", took);
    if (ticks < 20) FAIL("the ticker ticked only %d times in %.2f s", ticks, took);
    if (max_gap > 0.25) FAIL("the ticker stalled for %.3f s", max_gap);
}

struct job {
    pthread_t ran_on;
    int in, out;
};

static void square(void *arg) {
    struct job *j = arg;
    j->ran_on = pthread_self();
    j->out = j->in * j->in;
}

/* The function runs on another OS thread, with the caller's argument, and
 * its results are visible when guv_offload returns (from main as well). */
static void test_offload_runs_elsewhere(void) {
    struct job j = {.in = 12};
    ASSERT_EQ(guv_offload(square, &j), 0);
    ASSERT_EQ(j.out, 144);
    ASSERT(!pthread_equal(j.ran_on, pthread_self()));
}

static void offload_while_killed(void *arg) {
    (void)arg;
    /* The kill lands while the call runs: the call itself completes... */
    ASSERT_EQ(guv_offload(usleep_50ms, NULL), 0);
    /* ...and the cancellation takes effect at the next blocking call. */
    ASSERT_ERRNO(guv_sleep(0.001), ECANCELED);
    offloaded++;
}

static void test_kill_during_offload(void) {
    offloaded = 0;
    int64_t id = guv_spawn(offload_while_killed, NULL);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(offloaded, 1);
}

static void offload_under_deadline(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_timeout_begin(0.01), 0);
    ASSERT_EQ(guv_offload(usleep_50ms, NULL), 0);
    ASSERT_ERRNO(guv_sleep(0.001), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
    offloaded++;
}

/* A deadline passing during the call takes effect at the next blocking call. */
static void test_deadline_during_offload(void) {
    offloaded = 0;
    ASSERT(guv_spawn(offload_under_deadline, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(offloaded, 1);
}

static void set_flag(void *arg) { *(int *)arg = 1; }

static void cleanup_after_kill(void *arg) {
    int ran = 0;
    (void)arg;
    ASSERT_ERRNO(guv_sleep(10), ECANCELED);
    /* Killed: every blocking call fails, except the offload, which runs the
     * job and returns 0 (clean-up that must block, such as cancelling a
     * query on the server, goes there). */
    ASSERT_ERRNO(guv_yield(), ECANCELED);
    ASSERT_EQ(guv_offload(set_flag, &ran), 0);
    ASSERT_EQ(ran, 1);
    ASSERT_ERRNO(guv_sleep(0), ECANCELED);
    offloaded++;
}

/* guv_offload from a green thread that was already killed runs its job. */
static void test_offload_after_kill_runs(void) {
    offloaded = 0;
    int64_t id = guv_spawn(cleanup_after_kill, NULL);
    ASSERT_OK(id);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(offloaded, 1);
}

static void offload_past_deadline(void *arg) {
    int ran = 0;
    (void)arg;
    ASSERT_EQ(guv_timeout_begin(0), 0);
    ASSERT_ERRNO(guv_sleep(1), ETIMEDOUT);
    ASSERT_EQ(guv_offload(set_flag, &ran), 0);
    ASSERT_EQ(ran, 1);
    ASSERT_EQ(guv_timeout_end(), 0);
    offloaded++;
}

/* Likewise past a deadline. */
static void test_offload_past_deadline_runs(void) {
    offloaded = 0;
    ASSERT_OK(guv_spawn(offload_past_deadline, NULL));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(offloaded, 1);
}

static void note_cleanup(void *arg) { ++*(int *)arg; }

/* Ends its pool thread from inside the call, as CPython does to a thread
 * that wants the GIL while the interpreter finalizes. */
static void exits_thread(void *arg) {
    pthread_cleanup_push(note_cleanup, arg);
    pthread_exit(NULL);
    pthread_cleanup_pop(0);
}

/* pthread_exit() inside an offloaded call ends that pool thread, not the
 * process: its cleanup handlers run, the caller returns as if the call had,
 * and the thread no longer counts against the pool's 8: the calls that
 * follow get new ones. */
static void test_pthread_exit_in_offload(void) {
    int cleaned = 0;
    for (int i = 0; i < 10; i++) ASSERT_EQ(guv_offload(exits_thread, &cleaned), 0);
    ASSERT_EQ(cleaned, 10);
    struct job j = {.in = 7};
    ASSERT_EQ(guv_offload(square, &j), 0);
    ASSERT_EQ(j.out, 49);
}

static int exited_cleaned;

static void exits_later(void *arg) {
    (void)arg;
    usleep(50 * 1000); /* the second call is queued meanwhile */
    exits_thread(&exited_cleaned);
}

static void offload_exits_later(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_offload(exits_later, NULL), 0);
}

static void offload_square(void *arg) { ASSERT_EQ(guv_offload(square, arg), 0); }

static void queued_behind_exit(void) {
    alarm(5); /* a call left in the queue would hang its caller: the watchdog ends the child */
    setenv("GUV_OFFLOAD_THREADS", "1", 1);
    struct job j = {.in = 9};
    ASSERT_OK(guv_spawn(offload_exits_later, NULL));
    ASSERT_OK(guv_spawn(offload_square, &j));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(exited_cleaned, 1);
    ASSERT_EQ(j.out, 81);
}

/* A call queued behind one that ends its pool thread still runs when that
 * was the pool's only thread (GUV_OFFLOAD_THREADS=1, in a child, whose pool
 * is new): the pool starts another thread for it. */
static void test_queued_call_outlives_pthread_exit(void) { test_in_child(queued_behind_exit); }

/* A NULL function is refused. */
static void test_offload_null_is_einval(void) {
    ASSERT_ERRNO(guv_offload(NULL, NULL), EINVAL);
}

int main(void) {
    RUN(test_offload_keeps_hub_running);
    RUN(test_offload_runs_elsewhere);
    RUN(test_kill_during_offload);
    RUN(test_deadline_during_offload);
    RUN(test_offload_after_kill_runs);
    RUN(test_offload_past_deadline_runs);
    RUN(test_offload_null_is_einval);
    RUN(test_pthread_exit_in_offload);
    RUN(test_queued_call_outlives_pthread_exit);
    return 0;
}
