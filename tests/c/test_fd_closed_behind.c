/* A wait on an fd ends when the fd is closed or replaced behind guv's back
 * (plain close(2) from this or another OS thread, dup2 over it): within
 * about a second for a wait younger than that, at its next check for an
 * older one (at 2, 4 … 64 s of the wait, then each minute). It ends with
 * EBADF when the number is no longer open, else as a wait on what the
 * number now names (poll(2) semantics). Before, the calls drivers use
 * (guv_trampoline, guv_trampoline_timeout, guv_poll) slept on forever and
 * guv_run never returned. */
#include <poll.h>
#include <sys/socket.h>

#define TEST_TIMEOUT 15
#include "test.h"

/* Slack for a loaded machine over the one-second check. */
#define WITHIN 5.0

static int sv[2];
static int wait_rc, wait_errno;
static double waited;

enum how { TRAMPOLINE, TRAMPOLINE_TIMEOUT, AFTER_EAGAIN, POLL, POLL_TWO, READ };
static int quiet[2]; /* a pipe nobody writes to */

static void waiter(void *arg) {
    double t0 = guv_now();
    errno = 0;
    switch ((enum how)(intptr_t)arg) {
    case TRAMPOLINE: wait_rc = guv_trampoline(sv[0], GUV_READ); break;
    case TRAMPOLINE_TIMEOUT: wait_rc = guv_trampoline_timeout(sv[0], GUV_READ, 3600); break;
    case AFTER_EAGAIN: wait_rc = guv_trampoline_after_eagain(sv[0], GUV_READ, -1); break;
    case POLL: {
        struct pollfd p = { sv[0], POLLIN, 0 };
        wait_rc = guv_poll(&p, 1, -1);
        if (wait_rc == 1 && (p.revents & POLLNVAL)) { wait_rc = -1; errno = EBADF; }
        break;
    }
    case POLL_TWO: {
        struct pollfd p[2] = { { quiet[0], POLLIN, 0 }, { sv[0], POLLIN, 0 } };
        wait_rc = guv_poll(p, 2, -1);
        if (wait_rc == 1 && (p[1].revents & POLLNVAL)) { wait_rc = -1; errno = EBADF; }
        break;
    }
    case READ: { char c; wait_rc = (int)guv_read(sv[0], &c, 1); break; }
    }
    wait_errno = errno;
    waited = guv_now() - t0;
}

static void closer(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.1));
    ASSERT_EQ(close(sv[0]), 0);
}

/* A plain close(2) from a green thread of the same hub: EBADF. */
static void closed_by_green_thread(enum how how) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_OK(guv_spawn(waiter, (void *)(intptr_t)how));
    ASSERT_OK(guv_spawn(closer, NULL));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(wait_rc, -1);
    ASSERT_EQ(wait_errno, EBADF);
    if (waited > WITHIN) FAIL("the wait took %.2f s", waited);
    ASSERT_OK(guv_forget(sv[0]));
    close(sv[1]);
}

static void test_trampoline_closed(void) { closed_by_green_thread(TRAMPOLINE); }
static void test_trampoline_timeout_closed(void) { closed_by_green_thread(TRAMPOLINE_TIMEOUT); }
static void test_after_eagain_closed(void) { closed_by_green_thread(AFTER_EAGAIN); }
static void test_poll_closed(void) { closed_by_green_thread(POLL); }
static void test_poll_two_closed(void) { closed_by_green_thread(POLL_TWO); }
static void test_read_closed(void) { closed_by_green_thread(READ); }

/* The program: main closes the fd, then runs the hub. */
static void test_main_closes_then_runs(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_OK(guv_spawn(waiter, (void *)(intptr_t)TRAMPOLINE));
    ASSERT_OK(guv_sleep(0.1));
    ASSERT_EQ(close(sv[0]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(wait_rc, -1);
    ASSERT_EQ(wait_errno, EBADF);
    ASSERT_OK(guv_forget(sv[0]));
    close(sv[1]);
}

static void *close_later(void *arg) {
    (void)arg;
    usleep(100 * 1000);
    close(sv[0]);
    return NULL;
}

/* A close from another OS thread while the hub sleeps in epoll. */
static void test_closed_by_other_thread(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pthread_t t;
    ASSERT_OK(guv_spawn(waiter, (void *)(intptr_t)TRAMPOLINE_TIMEOUT));
    ASSERT_EQ(pthread_create(&t, NULL, close_later, NULL), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(wait_rc, -1);
    ASSERT_EQ(wait_errno, EBADF);
    ASSERT_OK(guv_forget(sv[0]));
    close(sv[1]);
}

static int other[2];

static void replacer(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.1));
    ASSERT_EQ(write(other[1], "x", 1), 1);
    ASSERT_EQ(dup2(other[0], sv[0]), sv[0]);
}

/* dup2 over the fd: the number now names a readable pipe, and the wait
 * ends as a wait on it would (ready to read). */
static void test_replaced_by_dup2(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_EQ(pipe(other), 0);
    ASSERT_OK(guv_spawn(waiter, (void *)(intptr_t)TRAMPOLINE));
    ASSERT_OK(guv_spawn(replacer, NULL));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(wait_rc, GUV_READ);
    if (waited > WITHIN) FAIL("the wait took %.2f s", waited);
    char c;
    ASSERT_EQ(read(sv[0], &c, 1), 1);
    ASSERT_OK(guv_close(sv[0]));
    close(sv[1]);
    close(other[0]);
    close(other[1]);
}

/* A wait that lasts longer than one check still notices a later close, at
 * its check at 4 s; each check is counted in guv_stats. */
static void late_closer(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(2.5));
    ASSERT_EQ(close(sv[0]), 0);
}

static void test_closed_after_long_wait(void) {
    struct guv_stats before, after;
    ASSERT_OK(guv_stats(&before, sizeof before));
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_OK(guv_spawn(waiter, (void *)(intptr_t)TRAMPOLINE));
    ASSERT_OK(guv_spawn(late_closer, NULL));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(wait_rc, -1);
    ASSERT_EQ(wait_errno, EBADF);
    if (waited > 2.5 + WITHIN) FAIL("the wait took %.2f s", waited);
    ASSERT_OK(guv_stats(&after, sizeof after));
    /* At 1 and 2 s, and the one that found it closed (at 4 s, or 2.5+ s
     * when the first came late). */
    uint64_t checks = after.fd_checks - before.fd_checks;
    if (checks < 2 || checks > 3) FAIL("%llu fd checks", (unsigned long long)checks);
    ASSERT_OK(guv_forget(sv[0]));
    close(sv[1]);
}

int main(void) {
    ASSERT_EQ(pipe(quiet), 0);
    RUN(test_trampoline_closed);
    RUN(test_trampoline_timeout_closed);
    RUN(test_after_eagain_closed);
    RUN(test_poll_closed);
    RUN(test_poll_two_closed);
    RUN(test_read_closed);
    RUN(test_main_closes_then_runs);
    RUN(test_closed_by_other_thread);
    RUN(test_replaced_by_dup2);
    RUN(test_closed_after_long_wait);
    return 0;
}
