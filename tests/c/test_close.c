/* guv_close: wakes the fd's waiters with EBADF, forgets it, closes it. */
#include <fcntl.h>
#include <sys/socket.h>

#include "test.h"

static int rc[2], err[2];

static void wait_on(void *arg) {
    int *a = arg; /* {fd, events, index} */
    errno = 0;
    rc[a[2]] = guv_trampoline(a[0], a[1]);
    err[a[2]] = errno;
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

/* A reader and a writer waiting on an fd are both woken with EBADF, and the
 * fd is closed. */
static void test_close_wakes_waiters(void) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    char junk[4096];
    memset(junk, 0, sizeof junk);
    while (write(sv[0], junk, sizeof junk) > 0) {}
    static int reader[3], writer[3];
    reader[0] = writer[0] = sv[0];
    reader[1] = GUV_READ, writer[1] = GUV_WRITE;
    reader[2] = 0, writer[2] = 1;
    ASSERT(guv_spawn(wait_on, reader) >= 1);
    ASSERT(guv_spawn(wait_on, writer) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_count(), 2);
    ASSERT_EQ(guv_close(sv[0]), 0);
    ASSERT(!is_open(sv[0]));
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(rc[i], -1);
        ASSERT_EQ(err[i], EBADF);
    }
    ASSERT_EQ(close(sv[1]), 0);
}

/* A green thread waiting both ways is woken once, with EBADF. */
static void test_close_wakes_both_ways_waiter(void) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    char junk[4096];
    memset(junk, 0, sizeof junk);
    while (write(sv[0], junk, sizeof junk) > 0) {}
    static int both[3];
    both[0] = sv[0], both[1] = GUV_READ | GUV_WRITE, both[2] = 0;
    ASSERT(guv_spawn(wait_on, both) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_close(sv[0]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(rc[0], -1);
    ASSERT_EQ(err[0], EBADF);
    ASSERT_EQ(close(sv[1]), 0);
}

/* guv_close of an fd guv never waited on just closes it. */
static void test_close_unseen_fd(void) {
    int fd = dup(1);
    ASSERT(fd >= 0);
    ASSERT_EQ(guv_close(fd), 0);
    ASSERT(!is_open(fd));
}

/* fd < 0, fds not open and fds already closed are EBADF. */
static void test_close_bad_fds(void) {
    int fd = dup(1);
    ASSERT_EQ(guv_close(fd), 0);
    ASSERT_ERRNO(guv_close(fd), EBADF);
    ASSERT_ERRNO(guv_close(-1), EBADF);
    ASSERT_ERRNO(guv_close(-1000), EBADF);
    ASSERT_ERRNO(guv_close(100000), EBADF);
}

static void close_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(guv_close(*(int *)arg), 0);
}

/* Main waiting in guv_trampoline is woken by a green thread's guv_close. */
static void test_close_wakes_main(void) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    static int fd;
    fd = sv[0];
    ASSERT(guv_spawn(close_later, &fd) >= 1);
    ASSERT_ERRNO(guv_trampoline(sv[0], GUV_READ), EBADF);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(close(sv[1]), 0);
}

int main(void) {
    RUN(test_close_wakes_waiters);
    RUN(test_close_wakes_both_ways_waiter);
    RUN(test_close_unseen_fd);
    RUN(test_close_bad_fds);
    RUN(test_close_wakes_main);
    return 0;
}
