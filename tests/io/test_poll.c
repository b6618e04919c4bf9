/* guv_poll: poll(2) that suspends only the calling green thread. */
#include "io.h"

/* One fd: poll waits for a later write, the ticker runs meanwhile. */
static void test_one_fd(void) {
    int sv[2];
    io_socketpair(sv, 0);
    struct io_later w = {sv[1], 0.1, "x", 1};
    int64_t ticker = io_ticker_start();
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    struct pollfd p = {sv[0], POLLIN, 0};
    double t0 = guv_now();
    int before = io_ticks;
    ASSERT_EQ(guv_poll(&p, 1, 5000), 1);
    ASSERT(guv_now() - t0 >= 0.09);
    ASSERT_EQ(p.revents, POLLIN);
    ASSERT(io_ticks > before);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_join(ticker), 0);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* Several fds: only the one written to is reported, revents of the others 0. */
static void test_several_fds(void) {
    int a[2], b[2], c[2];
    io_socketpair(a, 0);
    io_socketpair(b, 0);
    ASSERT_EQ(pipe(c), 0);
    struct io_later w = {c[1], 0.05, "x", 1};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    struct pollfd p[3] = {{a[0], POLLIN, 0}, {b[0], POLLIN, 0}, {c[0], POLLIN, 0}};
    ASSERT_EQ(guv_poll(p, 3, 5000), 1);
    ASSERT_EQ(p[0].revents, 0);
    ASSERT_EQ(p[1].revents, 0);
    ASSERT_EQ(p[2].revents, POLLIN);
    ASSERT_EQ(guv_run(), 0);
    /* Two ready at once: both reported. */
    ASSERT_EQ(write(a[1], "y", 1), 1);
    ASSERT_EQ(write(b[1], "y", 1), 1);
    ASSERT_EQ(guv_poll(p, 3, 5000), 3);
    /* POLLOUT and POLLIN asked together on one fd. */
    struct pollfd q = {a[0], POLLIN | POLLOUT, 0};
    ASSERT_EQ(guv_poll(&q, 1, 0), 1);
    ASSERT_EQ(q.revents, POLLIN | POLLOUT);
    io_close2(a);
    io_close2(b);
    io_close2(c);
}

/* Several green threads each polling its own set, all sharing nothing:
 * each wakes for its own fd. */
static int woke;
static void poll_pair(void *arg) {
    int *fds = arg;
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    ASSERT_EQ(guv_poll(p, 2, 5000), 1);
    ASSERT(p[0].revents == POLLIN || p[1].revents == POLLIN);
    woke++;
}

static void test_many_pollers(void) {
    enum { N = 20 };
    int pairs[N][2][2], watched[N][2];
    for (int i = 0; i < N; i++) {
        io_socketpair(pairs[i][0], 0);
        io_socketpair(pairs[i][1], 0);
        watched[i][0] = pairs[i][0][0];
        watched[i][1] = pairs[i][1][0];
        ASSERT(guv_spawn(poll_pair, watched[i]) >= 1);
    }
    woke = 0;
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(woke, 0);
    for (int i = 0; i < N; i++) ASSERT_EQ(write(pairs[i][i % 2][1], "z", 1), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(woke, N);
    for (int i = 0; i < N; i++) {
        io_close2(pairs[i][0]);
        io_close2(pairs[i][1]);
    }
}

/* Timeout 0: a non-blocking look, 0 when nothing is ready. */
static void test_timeout_zero(void) {
    int sv[2];
    io_socketpair(sv, 0);
    struct pollfd p = {sv[0], POLLIN, 0};
    double t0 = guv_now();
    ASSERT_EQ(guv_poll(&p, 1, 0), 0);
    ASSERT(guv_now() - t0 < 0.05);
    ASSERT_EQ(p.revents, 0);
    io_close2(sv);
}

/* A timeout that expires returns 0 after about that long; others ran meanwhile. */
static void test_timeout_expires(void) {
    int sv[2];
    io_socketpair(sv, 0);
    int64_t ticker = io_ticker_start();
    struct pollfd p[2] = {{sv[0], POLLIN, 0}, {sv[1], POLLIN, 0}};
    double t0 = guv_now();
    int before = io_ticks;
    ASSERT_EQ(guv_poll(p, 2, 150), 0);
    double took = guv_now() - t0;
    ASSERT(took >= 0.14 && took < 2.0);
    ASSERT(io_ticks > before);
    t0 = guv_now();
    ASSERT_EQ(guv_poll(p, 1, 100), 0);
    ASSERT(guv_now() - t0 >= 0.09);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_join(ticker), 0);
    io_close2(sv);
}

/* A negative fd is ignored (revents 0); only negative fds: a plain sleep. */
static void test_negative_fd_ignored(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    struct pollfd p[2] = {{-1, POLLIN, 0}, {sv[0], POLLIN, 0}};
    ASSERT_EQ(guv_poll(p, 2, 1000), 1);
    ASSERT_EQ(p[0].revents, 0);
    ASSERT_EQ(p[1].revents, POLLIN);
    struct pollfd none = {-5, POLLIN, 0};
    double t0 = guv_now();
    ASSERT_EQ(guv_poll(&none, 1, 50), 0);
    ASSERT(guv_now() - t0 >= 0.045);
    ASSERT_EQ(none.revents, 0);
    /* No fds at all: poll(NULL, 0, t) sleeps t ms, a common idiom. */
    ASSERT_EQ(guv_poll(NULL, 0, 0), 0);
    t0 = guv_now();
    ASSERT_EQ(guv_poll(NULL, 0, 20), 0);
    ASSERT(guv_now() - t0 >= 0.019);
    io_close2(sv);
}

/* A closed fd is reported with POLLNVAL, at once; a quiet fd beside it is not. */
static void test_pollnval(void) {
    int sv[2], quiet[2];
    io_socketpair(sv, 0);
    io_socketpair(quiet, 0);
    int closed = sv[0];
    io_close2(sv);
    struct pollfd p[2] = {{closed, POLLIN, 0}, {quiet[0], POLLIN, 0}};
    double t0 = guv_now();
    ASSERT_EQ(guv_poll(p, 2, 1000), 1);
    ASSERT(guv_now() - t0 < 0.5);
    ASSERT_EQ(p[0].revents, POLLNVAL);
    ASSERT_EQ(p[1].revents, 0);
    /* A hung-up peer is reported as POLLHUP. */
    ASSERT_EQ(guv_close(quiet[1]), 0);
    ASSERT_EQ(guv_poll(&p[1], 1, 1000), 1);
    ASSERT(p[1].revents & POLLHUP);
    ASSERT_EQ(guv_close(quiet[0]), 0);
}

/* POLLOUT on a full socket waits until the peer drains it. */
static void drain_later(void *arg) {
    static char sink[1 << 16];
    ASSERT_EQ(guv_sleep(0.05), 0);
    while (recv(*(int *)arg, sink, sizeof sink, MSG_DONTWAIT) > 0) {}
}

static void test_pollout_waits_for_room(void) {
    int sv[2];
    io_socketpair(sv, 0);
    io_fill(sv[1]);
    ASSERT(guv_spawn(drain_later, &sv[0]) >= 1);
    struct pollfd p = {sv[1], POLLOUT, 0};
    double t0 = guv_now();
    ASSERT_EQ(guv_poll(&p, 1, 5000), 1);
    ASSERT(guv_now() - t0 >= 0.04);
    ASSERT(p.revents & POLLOUT);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* guv_poll on an fd another green thread waits to read (where guv_read would
 * be EBUSY) still works: it falls back to its own wait. */
static void read_it(void *arg) {
    char b[1];
    ASSERT_EQ(guv_read(*(int *)arg, b, 1), 1);
}

static void test_poll_fd_with_reader(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(read_it, &sv[0]) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    struct io_later w = {sv[1], 0.03, "ab", 2};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    struct pollfd p = {sv[0], POLLIN, 0};
    ASSERT_EQ(guv_poll(&p, 1, 5000), 1);
    ASSERT_EQ(p.revents, POLLIN);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

int main(void) {
    RUN(test_one_fd);
    RUN(test_several_fds);
    RUN(test_many_pollers);
    RUN(test_timeout_zero);
    RUN(test_timeout_expires);
    RUN(test_negative_fd_ignored);
    RUN(test_pollnval);
    RUN(test_pollout_waits_for_room);
    RUN(test_poll_fd_with_reader);
    return 0;
}
