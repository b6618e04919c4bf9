/* guv remembers an fd's mode (O_NONBLOCK, SO_RCVTIMEO/SO_SNDTIMEO) from its
 * first wait; after the caller changes it, guv_forget makes guv read it anew. */
#include <sys/time.h>

#include "io.h"

static void to_nonblocking(int fd) {
    ASSERT_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    ASSERT_OK(guv_forget(fd));
}

/* Used blocking, then made non-blocking: reads pass straight through. */
static void test_socket_made_nonblocking(void) {
    int sv[2];
    io_socketpair(sv, 0);
    struct io_later w = {sv[1], 0.02, "a", 1};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    char b[4];
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 1); /* waited: blocking mode */
    ASSERT_EQ(guv_run(), 0);
    to_nonblocking(sv[0]);
    double t0 = guv_now();
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), EAGAIN);
    ASSERT(guv_now() - t0 < 0.1);
    ASSERT(io_nonblocking(sv[0]));
    io_close2(sv);
}

/* The same for a pipe (the O_NONBLOCK-toggling path): the caller's new flag
 * is kept, not overwritten with the old one. */
static void test_pipe_made_nonblocking(void) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    struct io_later w = {p[1], 0.02, "a", 1};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    char b[4];
    ASSERT_EQ(guv_read(p[0], b, sizeof b), 1);
    ASSERT_EQ(guv_run(), 0);
    to_nonblocking(p[0]);
    ASSERT_ERRNO(guv_read(p[0], b, sizeof b), EAGAIN);
    ASSERT(io_nonblocking(p[0]));
    io_close2(p);
}

/* Non-blocking first, blocking later: the read waits again. */
static void test_socket_made_blocking(void) {
    int sv[2];
    io_socketpair(sv, SOCK_NONBLOCK);
    char b[4];
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), EAGAIN);
    ASSERT_EQ(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) & ~O_NONBLOCK), 0);
    ASSERT_OK(guv_forget(sv[0]));
    struct io_later w = {sv[1], 0.03, "b", 1};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT(!io_nonblocking(sv[0]));
    io_close2(sv);
}

/* SO_RCVTIMEO set after the first wait is honoured once guv_forget is called. */
static void test_rcvtimeo_set_later(void) {
    int sv[2];
    io_socketpair(sv, 0);
    struct io_later w = {sv[1], 0.02, "c", 1};
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    char b[4];
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 1);
    ASSERT_EQ(guv_run(), 0);
    struct timeval tv = {0, 100 * 1000};
    ASSERT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    ASSERT_OK(guv_forget(sv[0]));
    double t0 = guv_now();
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), EAGAIN);
    double took = guv_now() - t0;
    ASSERT(took >= 0.09 && took < 2.0);
    io_close2(sv);
}

int main(void) {
    RUN(test_socket_made_nonblocking);
    RUN(test_pipe_made_nonblocking);
    RUN(test_socket_made_blocking);
    RUN(test_rcvtimeo_set_later);
    return 0;
}
