/* guv_recvmsg / guv_sendmsg: iovecs and ancillary data (SCM_RIGHTS). */
#include "io.h"

static int sv[2];
static int passed_fd = -1;
static char data[16];
static ssize_t got_n;
static int ticks_during;

static void receive_fd(void *arg) {
    (void)arg;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    int before = io_ticks;
    got_n = guv_recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC);
    ticks_during = io_ticks - before;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    ASSERT(c != NULL);
    ASSERT_EQ(c->cmsg_level, SOL_SOCKET);
    ASSERT_EQ(c->cmsg_type, SCM_RIGHTS);
    memcpy(&passed_fd, CMSG_DATA(c), sizeof(int));
}

static void send_fd_later(void *arg) {
    int fd = *(int *)arg;
    ASSERT_EQ(guv_sleep(0.05), 0);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov[2] = {{"here's ", 7}, {"a pipe", 6}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ASSERT_EQ(guv_sendmsg(sv[1], &m, 0), 13);
}

/* A recvmsg waits for a later sendmsg that passes a pipe's write end: the
 * received fd is a new descriptor of that same pipe. */
static void test_pass_fd(void) {
    io_socketpair(sv, 0);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    passed_fd = -1;
    io_ticker_start();
    ASSERT(guv_spawn(receive_fd, NULL) >= 1);
    ASSERT(guv_spawn(send_fd_later, &p[1]) >= 1);
    ASSERT_EQ(guv_sleep(0.12), 0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_run(), 0);
    ASSERT(ticks_during >= 1);
    ASSERT_EQ(got_n, 13);
    ASSERT(memcmp(data, "here's a pipe", 13) == 0);
    ASSERT(passed_fd >= 0 && passed_fd != p[1]);
    ASSERT(fcntl(passed_fd, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(guv_write(passed_fd, "via", 3), 3);
    char b[3];
    ASSERT_EQ(guv_read(p[0], b, 3), 3);
    ASSERT(memcmp(b, "via", 3) == 0);
    ASSERT_EQ(guv_close(passed_fd), 0);
    io_close2(p);
    io_close2(sv);
}

/* sendmsg with flags MSG_DONTWAIT on a full socket: EAGAIN, no wait. */
static void test_sendmsg_dontwait(void) {
    io_socketpair(sv, 0);
    io_fill(sv[1]);
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ASSERT_ERRNO(guv_sendmsg(sv[1], &m, MSG_DONTWAIT), EAGAIN);
    ASSERT(!io_nonblocking(sv[1]));
    io_close2(sv);
}

/* sendmsg into a full blocking socket waits for the peer to drain it, then sends. */
static void test_sendmsg_waits_for_room(void) {
    io_socketpair(sv, 0);
    long filled = io_fill(sv[1]);
    ASSERT(guv_spawn(io_drain, &sv[0]) >= 1);
    struct iovec iov[2] = {{"tail", 4}, {"end", 3}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ASSERT_EQ(guv_sendmsg(sv[1], &m, 0), 7);
    ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(io_drained, filled + 7);
    ASSERT(!io_nonblocking(sv[1]));
    io_close2(sv);
}

int main(void) {
    RUN(test_pass_fd);
    RUN(test_sendmsg_dontwait);
    RUN(test_sendmsg_waits_for_room);
    return 0;
}
