/* Fds other than sockets and pipes: regular files (epoll cannot watch them:
 * always ready), eventfd, /dev/null; and bad fds. */
#include <sys/eventfd.h>

#include "io.h"

/* A regular file is read and written as read(2)/write(2) would, never waiting. */
static void test_regular_file(void) {
    FILE *f = tmpfile();
    ASSERT(f != NULL);
    int fd = fileno(f);
    static char out[100000], in[100000];
    for (size_t i = 0; i < sizeof out; i++) out[i] = (char)(i % 251);
    ASSERT_EQ(guv_write(fd, out, sizeof out), sizeof out);
    ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
    struct iovec iov[2] = {{in, 50000}, {in + 50000, 50000}};
    ASSERT_EQ(guv_readv(fd, iov, 2), sizeof in);
    ASSERT(memcmp(in, out, sizeof in) == 0);
    ASSERT_EQ(guv_read(fd, in, 10), 0); /* EOF */
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    ASSERT_EQ(guv_poll(&p, 1, 1000), 1);
    ASSERT(!io_nonblocking(fd));
    ASSERT_OK(guv_forget(fd));
    fclose(f);
}

static uint64_t got;
static int ticks_during;

static void eventfd_reader(void *arg) {
    int before = io_ticks;
    ASSERT_EQ(guv_read(*(int *)arg, &got, sizeof got), sizeof got);
    ticks_during = io_ticks - before;
}

static void eventfd_writer(void *arg) {
    uint64_t v = 42;
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(guv_write(*(int *)arg, &v, sizeof v), sizeof v);
}

/* A blocking eventfd: the read waits for a later write; the flag is kept. */
static void test_eventfd(void) {
    int fd = eventfd(0, 0);
    ASSERT(fd >= 0);
    got = 0;
    io_ticker_start();
    ASSERT(guv_spawn(eventfd_reader, &fd) >= 1);
    ASSERT(guv_spawn(eventfd_writer, &fd) >= 1);
    ASSERT_EQ(guv_sleep(0.12), 0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, 42);
    ASSERT(ticks_during >= 1);
    ASSERT(!io_nonblocking(fd));
    ASSERT_EQ(guv_close(fd), 0);
}

/* /dev/null swallows writes and reads as EOF. */
static void test_dev_null(void) {
    int fd = open("/dev/null", O_RDWR);
    ASSERT(fd >= 0);
    ASSERT_EQ(guv_write(fd, "abc", 3), 3);
    char b[4];
    ASSERT_EQ(guv_read(fd, b, sizeof b), 0);
    ASSERT_EQ(guv_close(fd), 0);
}

/* Bad fds fail with EBADF, as the plain calls do; zero lengths return 0. */
static void test_bad_fds_and_zero_lengths(void) {
    char b[4];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ASSERT_ERRNO(guv_read(-1, b, sizeof b), EBADF);
    ASSERT_ERRNO(guv_write(-1, b, sizeof b), EBADF);
    ASSERT_ERRNO(guv_readv(-1, &iov, 1), EBADF);
    ASSERT_ERRNO(guv_writev(-1, &iov, 1), EBADF);
    ASSERT_ERRNO(guv_recv(-1, b, sizeof b, 0), EBADF);
    ASSERT_ERRNO(guv_send(-1, b, sizeof b, 0), EBADF);
    ASSERT_ERRNO(guv_recvmsg(-1, &m, 0), EBADF);
    ASSERT_ERRNO(guv_sendmsg(-1, &m, 0), EBADF);
    ASSERT_ERRNO(guv_accept(-1, NULL, NULL), EBADF);
    ASSERT_ERRNO(guv_connect(-1, NULL, 0), EBADF);
    int sv[2];
    io_socketpair(sv, 0);
    int closed = sv[0];
    ASSERT_EQ(guv_close(sv[0]), 0);
    ASSERT_ERRNO(guv_read(closed, b, sizeof b), EBADF);
    ASSERT_ERRNO(guv_write(closed, b, sizeof b), EBADF);
    /* A non-socket given to a socket call: ENOTSOCK. */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_ERRNO(guv_recv(p[0], b, sizeof b, 0), ENOTSOCK);
    ASSERT_ERRNO(guv_send(p[1], b, sizeof b, 0), ENOTSOCK);
    /* Zero-length calls do not wait. */
    ASSERT_EQ(guv_read(p[0], b, 0), 0);
    ASSERT_EQ(guv_write(p[1], b, 0), 0);
    ASSERT_EQ(guv_readv(p[0], &iov, 0), 0);
    io_close2(p);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

int main(void) {
    RUN(test_regular_file);
    RUN(test_eventfd);
    RUN(test_dev_null);
    RUN(test_bad_fds_and_zero_lengths);
    return 0;
}
