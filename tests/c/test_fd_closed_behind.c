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

enum how { TRAMPOLINE, TRAMPOLINE_TIMEOUT, AFTER_EAGAIN, POLL, POLL_TWO, READ, HOWS };
static const char *const how_names[HOWS] = { "guv_trampoline", "guv_trampoline_timeout",
                                             "guv_trampoline_after_eagain", "guv_poll", "guv_poll of two",
                                             "guv_read" };
static int quiet[2]; /* a pipe nobody writes to */

/* One wait on fd[0] of its own socketpair, and what it returned. */
struct wait {
    enum how how;
    int fd[2];
    int rc, err;
    double waited;
};

static void wait_on(struct wait *w) {
    double t0 = guv_now();
    int fd = w->fd[0];
    errno = 0;
    switch (w->how) {
    case TRAMPOLINE: w->rc = guv_trampoline(fd, GUV_READ); break;
    case TRAMPOLINE_TIMEOUT: w->rc = guv_trampoline_timeout(fd, GUV_READ, 3600); break;
    case AFTER_EAGAIN: w->rc = guv_trampoline_after_eagain(fd, GUV_READ, -1); break;
    case POLL: {
        struct pollfd p = { fd, POLLIN, 0 };
        w->rc = guv_poll(&p, 1, -1);
        if (w->rc == 1 && (p.revents & POLLNVAL)) { w->rc = -1; errno = EBADF; }
        break;
    }
    case POLL_TWO: {
        struct pollfd p[2] = { { quiet[0], POLLIN, 0 }, { fd, POLLIN, 0 } };
        w->rc = guv_poll(p, 2, -1);
        if (w->rc == 1 && (p[1].revents & POLLNVAL)) { w->rc = -1; errno = EBADF; }
        break;
    }
    case READ: { char c; w->rc = (int)guv_read(fd, &c, 1); break; }
    case HOWS: break;
    }
    w->err = errno;
    w->waited = guv_now() - t0;
}

/* The later tests' waiter: one wait on sv[0], results in the globals. */
static void waiter(void *arg) {
    struct wait w = { (enum how)(intptr_t)arg, { sv[0], sv[1] }, 0, 0, 0 };
    wait_on(&w);
    wait_rc = w.rc;
    wait_errno = w.err;
    waited = w.waited;
}

static void green_waiter(void *arg) { wait_on(arg); }

static void closer(void *arg) {
    ASSERT_OK(guv_sleep(0.1));
    ASSERT_EQ(close(((struct wait *)arg)->fd[0]), 0);
}

/* A plain close(2) from a green thread of the same hub: EBADF, for every kind
 * of wait. They wait at once, since each takes up to guv's one-second check. */
static void test_closed_by_green_thread(void) {
    struct wait w[HOWS];
    for (int how = 0; how < HOWS; how++) {
        w[how] = (struct wait){ (enum how)how, { -1, -1 }, 0, 0, 0 };
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, w[how].fd), 0);
        ASSERT_OK(guv_spawn(green_waiter, &w[how]));
        ASSERT_OK(guv_spawn(closer, &w[how]));
    }
    ASSERT_EQ(guv_run(), 0);
    for (int how = 0; how < HOWS; how++) {
        if (w[how].rc != -1 || w[how].err != EBADF)
            FAIL("%s returned %d, errno %d, not -1 with EBADF", how_names[how], w[how].rc, w[how].err);
        if (w[how].waited > WITHIN) FAIL("%s waited %.2f s", how_names[how], w[how].waited);
        ASSERT_OK(guv_forget(w[how].fd[0]));
        close(w[how].fd[1]);
    }
}

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
    RUN(test_closed_by_green_thread);
    RUN(test_main_closes_then_runs);
    RUN(test_closed_by_other_thread);
    RUN(test_replaced_by_dup2);
    RUN(test_closed_after_long_wait);
    return 0;
}
