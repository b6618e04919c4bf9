/* pthread_exit() inside a green thread ends that green thread, as if its
 * function had returned: its cleanup handlers run, its joiners wake, and the
 * OS thread and its hub go on. Before, glibc's forced unwind met the green
 * thread's stack boundary and the process aborted ("FATAL: exception not
 * rethrown") without a word from guv. Each case runs in a child process so
 * that an abort is reported as a failure rather than ending the suite.
 * Built with -fexceptions (mk/c.mk): the handlers span a switch. */
#define TEST_TIMEOUT 15
#include "test.h"

static int cleaned, after_exit, others;

static void cleanup(void *arg) { ++*(int *)arg; }

static void exits(void *arg) {
    (void)arg;
    pthread_cleanup_push(cleanup, &cleaned);
    ASSERT_OK(guv_sleep(0.01));
    pthread_exit(NULL);
    pthread_cleanup_pop(0);
    after_exit = 1;
}

/* Three cleanup handlers, the exit in a called function. */
static __attribute__((noinline)) void exit_here(void) { pthread_exit(NULL); }

static void exits_deep(void *arg) {
    (void)arg;
    pthread_cleanup_push(cleanup, &cleaned);
    pthread_cleanup_push(cleanup, &cleaned);
    pthread_cleanup_push(cleanup, &cleaned);
    exit_here();
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    after_exit = 1;
}

static void exits_plainly(void *arg) {
    (void)arg;
    ASSERT_OK(guv_yield());
    pthread_exit(NULL);
}

static void exit_one(void) {
    int64_t id = guv_spawn(exits, NULL);
    ASSERT_OK(id);
    ASSERT_OK(guv_spawn(test_count, &others));
    ASSERT_OK(guv_join(id));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(cleaned, 1);
    ASSERT_EQ(after_exit, 0);
    ASSERT_EQ(others, 1);
    ASSERT_EQ(guv_count(), 0);
    /* The hub goes on: a new green thread runs on the freed stack. */
    ASSERT_OK(guv_spawn(test_count, &others));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(others, 2);
}

/* The green thread ends; its cleanup handler ran; the hub carries on. */
static void test_pthread_exit_ends_green_thread(void) { test_in_child(exit_one); }

/* 100 under valgrind: memcheck's leak check at the child's exit reads every
 * pooled stack, 30-40 s for 1000 green threads' (past the watchdog), where
 * their exits took under a second. */
static void exit_many(void) {
    int n = test_under_valgrind() ? 100 : 1000;
    for (int i = 0; i < n; i++)
        ASSERT_OK(guv_spawn(i % 2 ? exits_deep : exits, NULL));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(cleaned, n / 2 + n / 2 * 3);
    ASSERT_EQ(after_exit, 0);
    ASSERT_EQ(guv_count(), 0);
}

static void exit_plain(void) {
    int64_t a = guv_spawn(exits_plainly, NULL), b = guv_spawn(exits_plainly, NULL);
    ASSERT_OK(a);
    ASSERT_OK(b);
    ASSERT_OK(guv_join(a));
    ASSERT_OK(guv_join(b));
    ASSERT_EQ(guv_count(), 0);
}

/* Without cleanup handlers, joined from main. */
static void test_pthread_exit_plain(void) { test_in_child(exit_plain); }

/* Many of them, through nested cleanup handlers, leave nothing behind. */
static void test_pthread_exit_many(void) { test_in_child(exit_many); }

static int tested;

static void sleeps_then_tests(void *arg) {
    (void)arg;
    pthread_cleanup_push(cleanup, &cleaned);
    ASSERT_OK(guv_sleep(0.2));
    pthread_testcancel();
    pthread_cleanup_pop(0);
    tested = 1;
}

static void *hub_thread(void *arg) {
    (void)arg;
    ASSERT_OK(guv_spawn(sleeps_then_tests, NULL));
    ASSERT_EQ(guv_run(), 0);
    return NULL;
}

static void cancel_waiting_hub(void) {
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, hub_thread, NULL), 0);
    usleep(50 * 1000); /* its hub now waits in epoll_wait for the sleep's end */
    ASSERT_EQ(pthread_cancel(t), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(cleaned, 1);
    ASSERT_EQ(tested, 0);
}

/* guv's blocking calls and its hub's wait are not cancellation points: a
 * pthread_cancel() sent while the hub waits is acted on at the green
 * thread's next cancellation point, which ends it as pthread_exit() would.
 * (With glibc's epoll_wait, a cancellation point, it was acted on inside the
 * hub's loop, and the process aborted: "FATAL: exception not rethrown".) */
static void test_cancel_while_hub_waits(void) { test_in_child(cancel_waiting_hub); }

int main(void) {
    RUN(test_pthread_exit_ends_green_thread);
    RUN(test_pthread_exit_plain);
    RUN(test_pthread_exit_many);
    RUN(test_cancel_while_hub_waits);
    return 0;
}
