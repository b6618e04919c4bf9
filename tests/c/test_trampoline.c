/* guv_trampoline and guv_trampoline_timeout: fd readiness. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sys/socket.h>

#include "test.h"

static int sv[2];

static void pair_open(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void pair_close(void) {
    ASSERT_EQ(close(sv[0]), 0);
    ASSERT_EQ(close(sv[1]), 0);
}

/* Fills fd's send buffer so that it is no longer writable. */
static void fill(int fd) {
    static char junk[65536];
    while (write(fd, junk, sizeof junk) > 0) {}
    ASSERT(errno == EAGAIN);
}

/* Drains everything readable from fd; returns the byte count. */
static long drain(int fd) {
    static char buf[65536];
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
    return total;
}

static int got, got_errno;
static double waited;

static void wait_read(void *arg) {
    double t0 = guv_now();
    errno = 0;
    got = guv_trampoline(*(int *)arg, GUV_READ);
    got_errno = errno;
    waited = guv_now() - t0;
}

static void write_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(write(*(int *)arg, "x", 1), 1);
}

/* A reader suspends until the peer writes, then gets GUV_READ. */
static void test_read_readiness(void) {
    pair_open();
    got = 0;
    ASSERT(guv_spawn(wait_read, &sv[0]) >= 1);
    ASSERT(guv_spawn(write_later, &sv[1]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, GUV_READ);
    ASSERT(waited >= 0.04);
    pair_close();
}

/* Data already there: GUV_READ at once. A fresh socket is writable at once. */
static void test_ready_at_once(void) {
    pair_open();
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    double t0 = guv_now();
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ), GUV_READ);
    ASSERT_EQ(guv_trampoline(sv[0], GUV_WRITE), GUV_WRITE);
    ASSERT(guv_now() - t0 < 0.5);
    pair_close();
}

/* Asking both: both bits when both are ready, only the ready one otherwise. */
static void test_both_bits(void) {
    pair_open();
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ | GUV_WRITE), GUV_WRITE);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ | GUV_WRITE), GUV_READ | GUV_WRITE);
    ASSERT_EQ(drain(sv[0]), 1);
    fill(sv[0]);
    ASSERT_EQ(write(sv[1], "y", 1), 1);
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ | GUV_WRITE), GUV_READ);
    pair_close();
}

static void close_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.03), 0);
    ASSERT_EQ(close(*(int *)arg), 0);
}

/* The peer hanging up counts as ready: the reader wakes (and read() says EOF). */
static void test_hangup_is_ready(void) {
    pair_open();
    ASSERT(guv_spawn(wait_read, &sv[0]) >= 1);
    ASSERT(guv_spawn(close_later, &sv[1]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, GUV_READ);
    char c;
    ASSERT_EQ(read(sv[0], &c, 1), 0);
    ASSERT_EQ(close(sv[0]), 0);
}

/* A regular file cannot be watched by epoll: it is ready at once, as poll says. */
static void test_regular_file_ready_at_once(void) {
    char path[] = "/tmp/guv-test-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    unlink(path);
    ASSERT_EQ(guv_trampoline(fd, GUV_READ), GUV_READ);
    ASSERT_EQ(guv_trampoline(fd, GUV_WRITE), GUV_WRITE);
    ASSERT_EQ(guv_trampoline(fd, GUV_READ | GUV_WRITE), GUV_READ | GUV_WRITE);
    ASSERT_EQ(guv_trampoline_timeout(fd, GUV_READ, 0), GUV_READ);
    ASSERT_EQ(close(fd), 0);
}

/* Bad fds are EBADF; events outside READ|WRITE, or none, are EINVAL. */
static void test_bad_arguments(void) {
    pair_open();
    int closed = dup(sv[0]);
    ASSERT_EQ(close(closed), 0);
    ASSERT_ERRNO(guv_trampoline(-1, GUV_READ), EBADF);
    ASSERT_ERRNO(guv_trampoline(closed, GUV_READ), EBADF);
    /* Huge fd numbers, never open: EBADF, not a table of that size. */
    ASSERT_ERRNO(guv_trampoline(INT_MAX, GUV_READ), EBADF);
    ASSERT_ERRNO(guv_trampoline(1 << 30, GUV_WRITE), EBADF);
    ASSERT_ERRNO(guv_trampoline_timeout(INT_MAX, GUV_READ, 0), EBADF);
    ASSERT_ERRNO(guv_trampoline_timeout(closed, GUV_WRITE, 0), EBADF);
    ASSERT_ERRNO(guv_trampoline_timeout(closed, GUV_WRITE, 0.01), EBADF);
    ASSERT_ERRNO(guv_trampoline(sv[0], 0), EINVAL);
    ASSERT_ERRNO(guv_trampoline(sv[0], 4), EINVAL);
    ASSERT_ERRNO(guv_trampoline(sv[0], -1), EINVAL);
    ASSERT_ERRNO(guv_trampoline(sv[0], GUV_READ | 4), EINVAL);
    ASSERT_ERRNO(guv_trampoline_timeout(sv[0], GUV_READ, NAN), EINVAL);
    pair_close();
}

/* An fd closed behind guv's back after a wait (plain close(2)) is EBADF. */
static void test_closed_after_wait_is_ebadf(void) {
    pair_open();
    int fd = dup(sv[0]);
    ASSERT_EQ(guv_trampoline(fd, GUV_WRITE), GUV_WRITE);
    ASSERT_EQ(close(fd), 0);
    ASSERT_ERRNO(guv_trampoline(fd, GUV_WRITE), EBADF);
    pair_close();
}

static int second_rc, second_errno;

static void second_reader(void *arg) {
    errno = 0;
    second_rc = guv_trampoline(*(int *)arg, GUV_READ);
    second_errno = errno;
}

/* A second reader on the same fd is refused; the first is still woken. */
static void test_second_reader_is_busy(void) {
    pair_open();
    got = 0;
    ASSERT(guv_spawn(wait_read, &sv[0]) >= 1);
    ASSERT(guv_spawn(second_reader, &sv[0]) >= 1);
    ASSERT(guv_spawn(write_later, &sv[1]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(second_rc, -1);
    ASSERT_EQ(second_errno, EBUSY);
    ASSERT_EQ(got, GUV_READ);
    pair_close();
}

static int writer_got;

static void wait_write(void *arg) {
    writer_got = guv_trampoline(*(int *)arg, GUV_WRITE);
}

static void drain_then_write_later(void *arg) {
    int peer = *(int *)arg;
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT(drain(peer) > 0);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(write(peer, "x", 1), 1);
}

/* One reader and one writer may wait on the same fd; each is woken by its
 * own event. */
static void test_reader_and_writer_on_one_fd(void) {
    pair_open();
    fill(sv[0]);
    got = writer_got = 0;
    ASSERT(guv_spawn(wait_read, &sv[0]) >= 1);
    ASSERT(guv_spawn(wait_write, &sv[0]) >= 1);
    ASSERT(guv_spawn(drain_then_write_later, &sv[1]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(writer_got, GUV_WRITE);
    ASSERT_EQ(got, GUV_READ);
    ASSERT(waited >= 0.03);
    pair_close();
}

/* A reader and a both-ways waiter overlap on READ: EBUSY. */
static void test_both_overlapping_reader_is_busy(void) {
    pair_open();
    ASSERT(guv_spawn(wait_read, &sv[0]) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    fill(sv[0]);
    ASSERT_ERRNO(guv_trampoline_timeout(sv[0], GUV_READ | GUV_WRITE, 0.01), EBUSY);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, GUV_READ);
    pair_close();
}

/* Main waits on an fd too, running the hub meanwhile. */
static void test_main_trampoline_runs_hub(void) {
    pair_open();
    ASSERT(guv_spawn(write_later, &sv[1]) >= 1);
    ASSERT_EQ(guv_trampoline(sv[0], GUV_READ), GUV_READ);
    ASSERT_EQ(guv_run(), 0);
    pair_close();
}

/* A pipe works as well as a socket. */
static void test_pipe(void) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
    got = 0;
    ASSERT(guv_spawn(wait_read, &p[0]) >= 1);
    ASSERT(guv_spawn(write_later, &p[1]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, GUV_READ);
    close(p[0]);
    close(p[1]);
}

static void timeout_read(void *arg) {
    double t0 = guv_now();
    ASSERT_ERRNO(guv_trampoline_timeout(*(int *)arg, GUV_READ, 0.05), ETIMEDOUT);
    waited = guv_now() - t0;
}

/* With nothing to read, the timeout runs out: ETIMEDOUT after the timeout. */
static void test_timeout_runs_out(void) {
    pair_open();
    ASSERT(guv_spawn(timeout_read, &sv[0]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT(waited >= 0.05);
    ASSERT(waited < 1.0);
    timeout_read(&sv[0]); /* from main too */
    pair_close();
}

/* Timeout 0 polls once without suspending: ready mask or ETIMEDOUT at once. */
static void test_timeout_zero_polls(void) {
    pair_open();
    int n = 0;
    ASSERT(guv_spawn(test_count, &n) >= 1);
    ASSERT_ERRNO(guv_trampoline_timeout(sv[0], GUV_READ, 0), ETIMEDOUT);
    ASSERT_EQ(n, 0); /* it did not suspend: the green thread has not run */
    ASSERT_EQ(guv_trampoline_timeout(sv[0], GUV_WRITE, 0), GUV_WRITE);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(guv_trampoline_timeout(sv[0], GUV_READ | GUV_WRITE, 0), GUV_READ | GUV_WRITE);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 1);
    pair_close();
}

static void wait_read_forever_timeout(void *arg) {
    got = guv_trampoline_timeout(*(int *)arg, GUV_READ, -1);
}

/* A negative timeout waits as long as it takes (here, past a few timers). */
static void test_negative_timeout_waits(void) {
    pair_open();
    got = 0;
    ASSERT(guv_spawn(wait_read_forever_timeout, &sv[0]) >= 1);
    ASSERT(guv_spawn(write_later, &sv[1]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, GUV_READ);
    ASSERT_EQ(guv_trampoline_timeout(sv[0], GUV_WRITE, -INFINITY), GUV_WRITE);
    pair_close();
}

/* Ping-pong over a socketpair between two green threads, many round trips:
 * no wake-up is lost. */
static void pong(void *arg) {
    int fd = *(int *)arg;
    char c;
    for (;;) {
        ASSERT_EQ(guv_trampoline(fd, GUV_READ), GUV_READ);
        ssize_t n = read(fd, &c, 1);
        if (n == 0) return;
        ASSERT_EQ(n, 1);
        ASSERT_EQ(write(fd, &c, 1), 1);
    }
}

static void test_ping_pong(void) {
    pair_open();
    ASSERT(guv_spawn(pong, &sv[1]) >= 1);
    for (int i = 0; i < 2000; i++) {
        char c = (char)i, back;
        ASSERT_EQ(write(sv[0], &c, 1), 1);
        ASSERT_EQ(guv_trampoline(sv[0], GUV_READ), GUV_READ);
        ASSERT_EQ(read(sv[0], &back, 1), 1);
        ASSERT_EQ(back, c);
    }
    ASSERT_EQ(close(sv[0]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(close(sv[1]), 0);
}

int main(void) {
    RUN(test_read_readiness);
    RUN(test_ready_at_once);
    RUN(test_both_bits);
    RUN(test_hangup_is_ready);
    RUN(test_regular_file_ready_at_once);
    RUN(test_bad_arguments);
    RUN(test_closed_after_wait_is_ebadf);
    RUN(test_second_reader_is_busy);
    RUN(test_reader_and_writer_on_one_fd);
    RUN(test_both_overlapping_reader_is_busy);
    RUN(test_main_trampoline_runs_hub);
    RUN(test_pipe);
    RUN(test_timeout_runs_out);
    RUN(test_timeout_zero_polls);
    RUN(test_negative_timeout_waits);
    RUN(test_ping_pong);
    return 0;
}
