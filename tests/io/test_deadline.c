/* guv_timeout_begin/end around the I/O calls: nested deadlines interrupt a
 * blocking call with ETIMEDOUT; closing them restores normal waiting. */
#include "io.h"

/* Inner 0.1 s inside outer 5 s: the read fails with ETIMEDOUT at ~0.1 s, the
 * outer deadline is still open and not spent, and after both end the same
 * read waits normally again. */
static void test_nested(void) {
    int sv[2];
    io_socketpair(sv, 0);
    char b[8];
    ASSERT_OK(guv_timeout_begin(5.0));
    ASSERT_OK(guv_timeout_begin(0.1));
    double t0 = guv_now();
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ETIMEDOUT);
    double took = guv_now() - t0;
    ASSERT(took >= 0.09 && took < 2.0);
    ASSERT_OK(guv_timeout_end());
    /* Outer still open: a read that gets data in 0.1 s succeeds. */
    struct io_later w = {sv[1], 0.1, "late", 4};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 4);
    ASSERT_OK(guv_timeout_end());
    ASSERT_ERRNO(guv_timeout_end(), EPERM);
    /* No deadline left: a wait longer than the old inner one works. */
    struct io_later w2 = {sv[1], 0.2, "later", 5};
    ASSERT(guv_spawn(io_write_later, &w2) >= 1);
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 5);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* An outer deadline shorter than the inner one still wins. */
static void test_outer_shorter_wins(void) {
    int sv[2];
    io_socketpair(sv, 0);
    char b[8];
    ASSERT_OK(guv_timeout_begin(0.1));
    ASSERT_OK(guv_timeout_begin(10.0));
    double t0 = guv_now();
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ETIMEDOUT);
    ASSERT(guv_now() - t0 < 2.0);
    ASSERT_OK(guv_timeout_end());
    /* The outer one has passed: every blocking call fails at once, even
     * one that would not need to wait. */
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ETIMEDOUT);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), ETIMEDOUT);
    ASSERT_ERRNO(guv_write(sv[0], "y", 1), ETIMEDOUT);
    ASSERT_OK(guv_timeout_end());
    io_close2(sv);
}

static int timed_out;

/* Each blocking I/O call, in a green thread of its own under a 50 ms
 * deadline, fails with ETIMEDOUT. */
static void each_call(void *arg) {
    long which = (long)(intptr_t)arg;
    int sv[2];
    io_socketpair(sv, 0);
    char b[8];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    struct pollfd p[2] = {{sv[0], POLLIN, 0}, {sv[1], POLLIN, 0}};
    struct sockaddr_in a;
    int l = io_listener(&a);
    int u = io_bound(SOCK_DGRAM, &a);
    static char big[1 << 20];
    long r = 0;
    ASSERT_OK(guv_timeout_begin(0.05));
    errno = 0;
    switch (which) {
    case 0: r = guv_read(sv[0], b, sizeof b); break;
    case 1: r = guv_readv(sv[0], &iov, 1); break;
    case 2: r = guv_recv(sv[0], b, sizeof b, 0); break;
    case 3: r = guv_recv(sv[0], b, sizeof b, MSG_WAITALL); break;
    case 4: r = guv_recvfrom(u, b, sizeof b, 0, NULL, NULL); break;
    case 5: r = guv_recvmsg(sv[0], &m, 0); break;
    case 6: r = guv_accept(l, NULL, NULL); break;
    case 7: r = guv_accept4(l, NULL, NULL, SOCK_CLOEXEC); break;
    case 8: r = guv_poll(p, 1, -1); break;
    case 9: r = guv_poll(p, 2, 10000); break;
    case 10: io_fill(sv[0]); r = guv_write(sv[0], big, sizeof big); break;
    case 11: io_fill(sv[0]); r = guv_send(sv[0], big, sizeof big, 0); break;
    case 12: io_fill(sv[0]); iov.iov_base = big; iov.iov_len = sizeof big; r = guv_writev(sv[0], &iov, 1); break;
    case 13: io_fill(sv[0]); iov.iov_base = big; iov.iov_len = sizeof big; r = guv_sendmsg(sv[0], &m, 0); break;
    }
    int e = errno;
    ASSERT_OK(guv_timeout_end());
    if (r != -1 || e != ETIMEDOUT) FAIL("call %ld returned %ld, errno %s, expected ETIMEDOUT", which, r, test_errno_name(e));
    timed_out++;
    io_close2(sv);
    ASSERT_EQ(guv_close(l), 0);
    ASSERT_EQ(guv_close(u), 0);
}

static void test_every_call(void) {
    timed_out = 0;
    double t0 = guv_now();
    for (long i = 0; i < 14; i++) ASSERT(guv_spawn(each_call, (void *)(intptr_t)i) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(timed_out, 14);
    /* They waited side by side, not one after another. */
    ASSERT(guv_now() - t0 < 0.05 * 14);
}

/* A deadline that does not pass changes nothing: the read gets its data. */
static void test_deadline_not_reached(void) {
    int sv[2];
    io_socketpair(sv, 0);
    struct io_later w = {sv[1], 0.03, "ok", 2};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    char b[2];
    ASSERT_OK(guv_timeout_begin(2.0));
    ASSERT_EQ(guv_read(sv[0], b, 2), 2);
    ASSERT_OK(guv_timeout_end());
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

int main(void) {
    RUN(test_nested);
    RUN(test_outer_shorter_wins);
    RUN(test_every_call);
    RUN(test_deadline_not_reached);
    return 0;
}
