/* An OS thread that exits while green threads are suspended on its hub
 * leaks them: nothing on their stacks is unwound (a cleanup handler that
 * unwinding would run never runs), nothing crashes, the hub's own fds are
 * closed, and the memory left behind per thread is bounded. Repeated
 * REL_THREAD_EXITS times (100 by default). Built with -fexceptions so that
 * a forced unwind would run the cleanup attributes. */
#include <sys/socket.h>

#include "rel.h"

static volatile long unwound, reached;

static void note_unwound(int *p) {
    (void)p;
    unwound++;
}

static int pair[2];
static int64_t first_id;

/* Three ways to be suspended: a sleep, an fd wait, a join. */
static void suspended(void *arg) {
    int kind = (int)(intptr_t)arg;
    __attribute__((cleanup(note_unwound))) int guard = 0;
    (void)guard;
    char big[2048]; /* some stack actually used */
    memset(big, kind, sizeof big);
    reached++;
    if (kind == 0) guv_sleep(1e9);
    else if (kind == 1) guv_trampoline(pair[0], GUV_READ);
    else guv_join(first_id);
    FAIL("a suspended green thread was resumed after its thread exited (%d)", big[0]);
}

enum { PER_THREAD = 30 };

static void *thread_with_suspended(void *arg) {
    (void)arg;
    first_id = -1;
    for (int i = 0; i < PER_THREAD; i++) {
        /* one fd waiter (one reader per fd), the others sleep or join */
        int kind = i == 1 ? 1 : i % 2 ? 2 : 0;
        int64_t id = guv_spawn_ex(suspended, (void *)(intptr_t)kind, 32 * 1024);
        ASSERT(id >= 1);
        if (i == 0) first_id = id;
    }
    ASSERT_EQ(guv_yield(), 0); /* all of them run and suspend */
    ASSERT_EQ(guv_count(), PER_THREAD);
    return NULL; /* the hub is torn down with them suspended */
}

static void test_thread_exit_leaks_without_unwinding(void) {
    const long rounds = rel_knob("REL_THREAD_EXITS", 100);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    int fds_before = rel_fd_count();
    long rss_first = 0;
    for (long r = 0; r < rounds; r++) {
        test_on_thread(thread_with_suspended, NULL);
        if (r == 0) rss_first = rel_rss_kib();
    }
    long rss_last = rel_rss_kib();
    ASSERT_EQ(reached, rounds * PER_THREAD);
    ASSERT_EQ(unwound, 0);
    ASSERT_EQ(rel_fd_count(), fds_before);
    /* Each round leaks 30 stacks of which a few pages were touched (2 KiB
     * of frame here, guv's and corosensei's above it) and their coroutine
     * cells: 16 KiB per green thread leaves room to spare. */
    double per_round = (double)(rss_last - rss_first) / (double)(rounds > 1 ? rounds - 1 : 1);
    if (rel_knob("REL_RSS_CHECK", 1) && per_round > 16 * PER_THREAD)
        FAIL("RSS grew %.0f KiB per exited thread", per_round); /* (not under valgrind, whose RSS is its own) */
    /* This thread's hub is not disturbed: it never saw them. */
    ASSERT_EQ(guv_count(), 0);
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_OK(close(pair[0]));
    ASSERT_OK(close(pair[1]));
    printf("   %ld threads exited with %d suspended green threads each: RSS %ld -> %ld KiB (%.0f KiB a thread)\n",
           rounds, PER_THREAD, rss_first, rss_last, per_round);
}

int main(void) {
    ASSERT_EQ(guv_yield(), 0); /* the main hub's fds exist before counting */
    RUN(test_thread_exit_leaks_without_unwinding);
    return 0;
}
