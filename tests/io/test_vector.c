/* guv_readv / guv_writev: scatter-gather, cooperatively, on sockets and pipes. */
#include "io.h"

static char a[3], b[5];
static ssize_t got;
static int ticks_during;

static void readv_two(void *arg) {
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    int before = io_ticks;
    got = guv_readv(*(int *)arg, iov, 2);
    ticks_during = io_ticks - before;
}

static void writev_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.05), 0);
    struct iovec iov[3] = {{"abc", 3}, {"de", 2}, {"fgh", 3}};
    ASSERT_EQ(guv_writev(*(int *)arg, iov, 3), 8);
}

/* A readv waits for a later writev; the bytes land across both buffers. */
static void run_pair(int fds[2]) {
    got = -2;
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    io_ticker_start();
    ASSERT(guv_spawn(readv_two, &fds[0]) >= 1);
    ASSERT(guv_spawn(writev_later, &fds[1]) >= 1);
    ASSERT_EQ(guv_sleep(0.15), 0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, 8);
    ASSERT(memcmp(a, "abc", 3) == 0);
    ASSERT(memcmp(b, "defgh", 5) == 0);
    ASSERT(ticks_during >= 1);
    ASSERT(!io_nonblocking(fds[0]) && !io_nonblocking(fds[1]));
}

static void test_socketpair(void) {
    int sv[2];
    io_socketpair(sv, 0);
    run_pair(sv);
    io_close2(sv);
}

static void test_pipe(void) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    run_pair(p);
    io_close2(p);
}

/* A writev into a full blocking socket waits for room, and returns what it
 * wrote (a short count is allowed, none is not). */
static void test_writev_waits_for_room(void) {
    int sv[2];
    io_socketpair(sv, 0);
    long filled = io_fill(sv[1]);
    ASSERT(guv_spawn(io_drain, &sv[0]) >= 1);
    static char chunk[4096];
    struct iovec iov[2] = {{chunk, sizeof chunk}, {chunk, sizeof chunk}};
    ssize_t n = guv_writev(sv[1], iov, 2);
    ASSERT(n > 0 && n <= 2 * (ssize_t)sizeof chunk);
    ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(io_drained, filled + n);
    io_close2(sv);
}

int main(void) {
    RUN(test_socketpair);
    RUN(test_pipe);
    RUN(test_writev_waits_for_room);
    return 0;
}
