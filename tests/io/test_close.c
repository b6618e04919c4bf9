/* fd lifecycle: guv_close and guv_forget wake waiters with EBADF, and an fd
 * number reused after guv_close never sees the old fd's events. */
#include "io.h"

static int sv[2];
static ssize_t got_n;
static int got_errno;

static void reader(void *arg) {
    (void)arg;
    char b[8];
    errno = 0;
    got_n = guv_read(sv[0], b, sizeof b);
    got_errno = errno;
}

static void writer_of_much(void *arg) {
    (void)arg;
    static char big[1 << 20];
    errno = 0;
    got_n = guv_write(sv[0], big, sizeof big);
    got_errno = errno;
}

/* guv_close of an fd a green thread waits to read: the read fails with EBADF. */
static void test_close_wakes_reader(void) {
    io_socketpair(sv, 0);
    got_n = -2;
    ASSERT(guv_spawn(reader, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(got_n, -2);
    double t0 = guv_now();
    ASSERT_EQ(guv_close(sv[0]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT(guv_now() - t0 < 0.5);
    ASSERT_EQ(got_n, -1);
    ASSERT_EQ(got_errno, EBADF);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

/* The same for a writer waiting for room: EBADF if nothing was written yet,
 * else the count written so far (as an interrupted blocking write). */
static void test_close_wakes_writer(void) {
    io_socketpair(sv, 0);
    io_fill(sv[0]);
    got_n = -2;
    ASSERT(guv_spawn(writer_of_much, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(guv_close(sv[0]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_n, -1);
    ASSERT_EQ(got_errno, EBADF);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

/* guv_forget wakes the waiter with EBADF but leaves the fd open and usable. */
static void test_forget_wakes_but_keeps_fd(void) {
    io_socketpair(sv, 0);
    got_n = -2;
    ASSERT(guv_spawn(reader, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(guv_forget(sv[0]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_errno, EBADF);
    ASSERT(fcntl(sv[0], F_GETFD) != -1);
    /* A new wait on it works: the forgotten fd is registered afresh. */
    ASSERT(guv_spawn(reader, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(write(sv[1], "again", 5), 5);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_n, 5);
    ASSERT_ERRNO(guv_forget(-1), EBADF);
    io_close2(sv);
}

static void close_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.03), 0);
    ASSERT_EQ(guv_close(*(int *)arg), 0);
}

/* guv_close during guv_poll: poll reports POLLNVAL for the fd. */
static void test_close_during_poll(void) {
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(close_later, &sv[0]) >= 1);
    struct pollfd p = {sv[0], POLLIN, 0};
    ASSERT_EQ(guv_poll(&p, 1, 2000), 1);
    ASSERT_EQ(p.revents, POLLNVAL);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

/* An fd that was registered, readable and unread when guv_close closed it;
 * a new socket then gets the same number. The new owner sees no readiness
 * until its own peer writes, and then it does. */
static void test_reused_number_no_stale_event(void) {
    io_socketpair(sv, 0);
    int old = sv[0], old_peer = sv[1];
    ASSERT_EQ(write(old_peer, "x", 1), 1);
    ASSERT_EQ(guv_trampoline(old, GUV_READ), GUV_READ); /* registered, readable */
    ASSERT_EQ(write(old_peer, "more", 4), 4);            /* a fresh edge pending */
    ASSERT_EQ(guv_close(old), 0);
    io_socketpair(sv, 0);
    ASSERT_EQ(sv[0], old);
    ASSERT_ERRNO(guv_trampoline_timeout(sv[0], GUV_READ, 0.1), ETIMEDOUT);
    ASSERT_OK(guv_timeout_begin(0.1));
    char b[8];
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ETIMEDOUT);
    ASSERT_OK(guv_timeout_end());
    struct io_later w = {sv[1], 0.05, "new", 3};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 3);
    ASSERT(memcmp(b, "new", 3) == 0);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
    ASSERT_EQ(guv_close(old_peer), 0);
}

/* A waiter on the old fd is woken by guv_close; a waiter on the reused
 * number is not woken by anything done to the old one. */
static void test_reused_number_waiters(void) {
    io_socketpair(sv, 0);
    int old = sv[0], old_peer = sv[1];
    got_n = -2;
    ASSERT(guv_spawn(reader, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_close(old), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_errno, EBADF);
    io_socketpair(sv, 0);
    ASSERT_EQ(sv[0], old);
    got_n = -2;
    ASSERT(guv_spawn(reader, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.05), 0);
    /* The old peer hangs up: that concerns the closed socket only. */
    ASSERT_EQ(guv_close(old_peer), 0);
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(got_n, -2);
    ASSERT_EQ(write(sv[1], "mine", 4), 4);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_n, 4);
    io_close2(sv);
}

/* A pipe reuses the number of a closed socket: guv picks the right call. */
static void test_reused_as_pipe(void) {
    io_socketpair(sv, 0);
    int old = sv[0];
    ASSERT_EQ(guv_write(sv[1], "s", 1), 1);
    char b[4];
    ASSERT_EQ(guv_read(sv[0], b, 1), 1);
    ASSERT_EQ(guv_close(sv[0]), 0);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(p[0], old);
    struct io_later w = {p[1], 0.03, "pipe", 4};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    ASSERT_EQ(guv_read(p[0], b, sizeof b), 4);
    ASSERT(memcmp(b, "pipe", 4) == 0);
    ASSERT(!io_nonblocking(p[0]));
    ASSERT_EQ(guv_run(), 0);
    io_close2(p);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

/* The other documented way to close: guv_forget, then close(2). A socket
 * that was non-blocking and registered leaves nothing behind for a blocking
 * pipe that gets its number: the pipe's read waits for its own data. */
static void test_forget_then_close_then_reuse(void) {
    io_socketpair(sv, SOCK_NONBLOCK);
    int old = sv[0];
    char b[8];
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), EAGAIN);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ), GUV_READ);
    ASSERT_OK(guv_forget(sv[0]));
    ASSERT_EQ(close(sv[0]), 0);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(p[0], old);
    ASSERT_ERRNO(guv_trampoline_timeout(p[0], GUV_READ, 0.05), ETIMEDOUT);
    struct io_later w = {p[1], 0.03, "fresh", 5};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    ASSERT_EQ(guv_read(p[0], b, sizeof b), 5);
    ASSERT(!io_nonblocking(p[0]));
    ASSERT_EQ(guv_run(), 0);
    io_close2(p);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

int main(void) {
    RUN(test_close_wakes_reader);
    RUN(test_close_wakes_writer);
    RUN(test_forget_wakes_but_keeps_fd);
    RUN(test_close_during_poll);
    RUN(test_reused_number_no_stale_event);
    RUN(test_reused_number_waiters);
    RUN(test_reused_as_pipe);
    RUN(test_forget_then_close_then_reuse);
    return 0;
}
