/* An fd closed and its number reused. Closed behind guv's back (plain
 * close(2), no guv_close): guv trusts its registration for speed, but checks
 * it once a wait lasts, so a wait on the new fd ends instead of hanging
 * forever. Closed either way: no event of the old fd reaches the new one. */
#include <fcntl.h>
#include <sys/socket.h>

#include "test.h"

static int reused[2];

static void late_write(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.05));
    ASSERT_EQ(write(reused[1], "n", 1), 1);
}

/* The reader's guv_read on the reused number sees the write. */
static void test_wait_on_reused_number_ends(void) {
    int old[2];
    char c;
    ASSERT_EQ(pipe(old), 0);
    ASSERT_EQ(write(old[1], "o", 1), 1);
    ASSERT_EQ(guv_read(old[0], &c, 1), 1); /* guv now knows old[0] */
    /* Register it in guv's reactor: a wait that ends by a write. */
    ASSERT_EQ(guv_trampoline_timeout(old[0], GUV_READ, 0.01), -1);
    close(old[0]); /* behind guv's back */
    close(old[1]);

    ASSERT_EQ(pipe(reused), 0);
    ASSERT_EQ(reused[0], old[0]); /* the same number, a new pipe */
    ASSERT(guv_spawn(late_write, NULL) >= 1);
    double t0 = guv_now();
    ASSERT_EQ(guv_read(reused[0], &c, 1), 1);
    ASSERT_EQ(c, 'n');
    if (guv_now() - t0 > 5) FAIL("the read took %.2f s", guv_now() - t0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_OK(guv_close(reused[0]));
    ASSERT_OK(guv_close(reused[1]));
}

/* An fd closed behind guv's back while a green thread waits on it: the
 * waiter gets EBADF within about a second rather than sleeping on. */
static int lone[2];

static void waiter(void *arg) {
    char c;
    (void)arg;
    ASSERT_ERRNO(guv_read(lone[0], &c, 1), EBADF);
}

static void closer(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.05));
    close(lone[0]);
}

static void test_closed_while_waiting_is_ebadf(void) {
    ASSERT_EQ(pipe(lone), 0);
    ASSERT(guv_spawn(waiter, NULL) >= 1);
    ASSERT(guv_spawn(closer, NULL) >= 1);
    double t0 = guv_now();
    ASSERT_EQ(guv_run(), 0);
    if (guv_now() - t0 > 5) FAIL("the waiter took %.2f s", guv_now() - t0);
    close(lone[1]);
}

static int timeout_rc, timeout_errno;

static void wait_quietly(void *arg) {
    errno = 0;
    timeout_rc = guv_trampoline_timeout(*(int *)arg, GUV_READ, 0.1);
    timeout_errno = errno;
}

/* A socket whose number was closed by `close_old` right after a wait saw it
 * ready is reused by a new socket: a waiter on the new one gets no stale
 * event of the old (it times out while the new one is quiet), then its own. */
static void reuse_gets_no_stale_event(int (*close_old)(int)) {
    int a[2], b[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    /* Registered and ready: an edge is pending for the old socket. */
    ASSERT_EQ(write(a[1], "x", 1), 1);
    ASSERT_EQ(guv_trampoline(a[0], GUV_READ), GUV_READ);
    int old = a[0];
    ASSERT_EQ(close_old(a[0]), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    ASSERT_EQ(b[0], old); /* the lowest free number is reused */
    static int fd;
    fd = b[0];
    ASSERT(guv_spawn(wait_quietly, &fd) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(timeout_rc, -1);
    ASSERT_EQ(timeout_errno, ETIMEDOUT);
    ASSERT_EQ(write(b[1], "z", 1), 1);
    ASSERT_EQ(guv_trampoline(b[0], GUV_READ), GUV_READ);
    close(a[1]);
    ASSERT_OK(guv_close(b[0]));
    close(b[1]);
}

static void test_no_stale_event_after_guv_close(void) { reuse_gets_no_stale_event(guv_close); }
static void test_no_stale_event_after_plain_close(void) { reuse_gets_no_stale_event(close); }

int main(void) {
    RUN(test_wait_on_reused_number_ends);
    RUN(test_closed_while_waiting_is_ebadf);
    RUN(test_no_stale_event_after_guv_close);
    RUN(test_no_stale_event_after_plain_close);
    return 0;
}
