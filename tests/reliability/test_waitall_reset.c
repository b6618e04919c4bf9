/* Regression test (a core bug this suite found, fixed in src/io.rs): a
 * guv_recv(MSG_WAITALL) that got part of the data before the peer reset the
 * connection returns the partial count, as recv(2) does, and the next read
 * reports the reset (-1 ECONNRESET), as after a plain blocking recv. The
 * emulation's last recvfrom had consumed the socket error, so the next read
 * returned 0, a clean end; guv now keeps such an error for the fd's next call. */
#include "rel.h"

static int listener;
static struct sockaddr_in addr;

static void server(void *arg) {
    (void)arg;
    int fd = guv_accept(listener, NULL, NULL);
    ASSERT(fd >= 0);
    char buf[16];
    ASSERT_EQ(guv_recv(fd, buf, 10, MSG_WAITALL), 3); /* "abc", then the reset */
    errno = 0;
    ssize_t n = guv_read(fd, buf, sizeof buf);
    if (n != -1 || errno != ECONNRESET)
        FAIL("the read after a partial MSG_WAITALL returned %zd (%s), not -1 ECONNRESET", n, test_errno_name(errno));
    ASSERT_OK(guv_close(fd));
}

static void resetter(void *arg) {
    (void)arg;
    int fd = rel_connect(&addr);
    ASSERT_EQ(guv_write(fd, "abc", 3), 3);
    ASSERT_EQ(guv_sleep(0.002), 0);
    rel_reset(fd);
}

static void test_waitall_keeps_the_reset(void) {
    listener = rel_listen_loopback(&addr);
    ASSERT(guv_spawn(server, NULL) >= 1);
    ASSERT(guv_spawn(resetter, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_OK(guv_close(listener));
}

int main(void) {
    RUN(test_waitall_keeps_the_reset);
    return 0;
}
