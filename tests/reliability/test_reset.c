/* A peer resetting connections mid-read (close with SO_LINGER {1, 0} sends
 * RST): the reader suspended in guv_read or guv_recv gets -1 ECONNRESET, and
 * the hub goes on serving other connections. */
#include "rel.h"

static int listener;
static struct sockaddr_in addr;

static int resets, served;

/* Accepts one connection, reads the first message, then waits for more:
 * the peer resets the connection during that wait. */
static void server(void *arg) {
    int recv_mode = (int)(intptr_t)arg;
    int fd = guv_accept(listener, NULL, NULL);
    ASSERT(fd >= 0);
    char buf[64];
    ASSERT_EQ(guv_read(fd, buf, 5), 5);
    ASSERT(memcmp(buf, "hello", 5) == 0);
    /* (MSG_WAITALL after partial data loses the reset: bug_waitall_reset.c) */
    errno = 0;
    ssize_t n = recv_mode ? guv_recv(fd, buf, sizeof buf, 0) : guv_read(fd, buf, sizeof buf);
    if (n != -1 || errno != ECONNRESET) FAIL("read after reset returned %zd (%s)", n, test_errno_name(errno));
    resets++;
    ASSERT_OK(guv_close(fd));
}

static void resetter(void *arg) {
    (void)arg;
    int fd = rel_connect(&addr);
    ASSERT_EQ(guv_write(fd, "hello", 5), 5);
    ASSERT_EQ(guv_sleep(0.002), 0); /* the server is suspended in its read now */
    rel_reset(fd);
}

/* A normal echo on the same hub afterwards. */
static void echo_server(void *arg) {
    (void)arg;
    int fd = guv_accept(listener, NULL, NULL);
    ASSERT(fd >= 0);
    char buf[8];
    ASSERT_EQ(guv_read(fd, buf, 4), 4);
    ASSERT_EQ(guv_write(fd, buf, 4), 4);
    ASSERT_EQ(guv_read(fd, buf, sizeof buf), 0);
    ASSERT_OK(guv_close(fd));
    served++;
}

static void echo_client(void *arg) {
    (void)arg;
    int fd = rel_connect(&addr);
    char buf[4];
    ASSERT_EQ(guv_write(fd, "ping", 4), 4);
    ASSERT_EQ(guv_read(fd, buf, 4), 4);
    ASSERT(memcmp(buf, "ping", 4) == 0);
    ASSERT_OK(guv_close(fd));
}

static void test_reset_mid_read(void) {
    listener = rel_listen_loopback(&addr);
    int fds_before = rel_fd_count();
    const int rounds = 50;
    for (int i = 0; i < rounds; i++) {
        void *recv_mode = (void *)(intptr_t)(i & 1);
        ASSERT(guv_spawn(server, recv_mode) >= 1);
        ASSERT(guv_spawn(resetter, NULL) >= 1);
        ASSERT_EQ(guv_run(), 0);
        ASSERT(guv_spawn(echo_server, NULL) >= 1);
        ASSERT(guv_spawn(echo_client, NULL) >= 1);
        ASSERT_EQ(guv_run(), 0);
    }
    ASSERT_EQ(resets, rounds);
    ASSERT_EQ(served, rounds);
    ASSERT_EQ(rel_fd_count(), fds_before);
    ASSERT_OK(guv_close(listener));
}

int main(void) {
    ASSERT_EQ(guv_yield(), 0); /* the hub's own fds exist before counting */
    RUN(test_reset_mid_read);
    return 0;
}
