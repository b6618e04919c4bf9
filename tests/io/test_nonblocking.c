/* Pass-through: on fds the caller made non-blocking (or with MSG_DONTWAIT)
 * guv's calls behave exactly as the plain calls, never suspending. */
#include "io.h"

/* guv_read on an empty O_NONBLOCK socket fails with EAGAIN at once. */
static void test_read_empty_socket(void) {
    int sv[2];
    io_socketpair(sv, SOCK_NONBLOCK);
    char b[4];
    double t0 = guv_now();
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), EAGAIN);
    ASSERT_ERRNO(guv_recv(sv[0], b, sizeof b, 0), EAGAIN);
    ASSERT_ERRNO(guv_recv(sv[0], b, sizeof b, MSG_WAITALL), EAGAIN);
    struct iovec iov = {b, sizeof b};
    ASSERT_ERRNO(guv_readv(sv[0], &iov, 1), EAGAIN);
    ASSERT(guv_now() - t0 < 0.1);
    ASSERT(io_nonblocking(sv[0]));
    io_close2(sv);
}

/* The same on an empty O_NONBLOCK pipe. */
static void test_read_empty_pipe(void) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
    char b[4];
    ASSERT_ERRNO(guv_read(p[0], b, sizeof b), EAGAIN);
    ASSERT(io_nonblocking(p[0]));
    io_close2(p);
}

/* MSG_DONTWAIT makes one call non-blocking on a blocking socket, which stays blocking. */
static void test_msg_dontwait(void) {
    int sv[2];
    io_socketpair(sv, 0);
    char b[4];
    ASSERT_ERRNO(guv_recv(sv[0], b, sizeof b, MSG_DONTWAIT), EAGAIN);
    ASSERT_ERRNO(guv_recvfrom(sv[0], b, sizeof b, MSG_DONTWAIT, NULL, NULL), EAGAIN);
    ASSERT(!io_nonblocking(sv[0]));
    io_close2(sv);
}

/* A write into a full non-blocking socket fails with EAGAIN (or writes what fits)
 * rather than waiting for the peer. */
static void test_write_full_socket(void) {
    int sv[2];
    io_socketpair(sv, SOCK_NONBLOCK);
    long filled = io_fill(sv[1]);
    ASSERT(filled > 0);
    static char big[1 << 16];
    double t0 = guv_now();
    ASSERT_ERRNO(guv_write(sv[1], big, sizeof big), EAGAIN);
    ASSERT_ERRNO(guv_send(sv[1], big, sizeof big, 0), EAGAIN);
    ASSERT_ERRNO(guv_send(sv[1], big, sizeof big, MSG_DONTWAIT), EAGAIN);
    ASSERT(guv_now() - t0 < 0.1);
    io_close2(sv);
}

/* A non-blocking listener with no pending connection: EAGAIN at once. */
static void test_accept_nothing_pending(void) {
    struct sockaddr_in a;
    int l = io_listener(&a);
    ASSERT_EQ(fcntl(l, F_SETFL, O_NONBLOCK), 0);
    ASSERT_ERRNO(guv_accept(l, NULL, NULL), EAGAIN);
    ASSERT_ERRNO(guv_accept4(l, NULL, NULL, SOCK_CLOEXEC), EAGAIN);
    ASSERT_EQ(guv_close(l), 0);
}

/* With data there, the non-blocking read returns it as read(2) would. */
static void test_read_with_data(void) {
    int sv[2];
    io_socketpair(sv, SOCK_NONBLOCK);
    ASSERT_EQ(write(sv[1], "abc", 3), 3);
    char b[8];
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 3);
    ASSERT(memcmp(b, "abc", 3) == 0);
    io_close2(sv);
}

int main(void) {
    RUN(test_read_empty_socket);
    RUN(test_read_empty_pipe);
    RUN(test_msg_dontwait);
    RUN(test_write_full_socket);
    RUN(test_accept_nothing_pending);
    RUN(test_read_with_data);
    return 0;
}
