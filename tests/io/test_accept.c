/* guv_accept / guv_accept4: a blocking listener waits for a connection
 * cooperatively; accept4's flags reach the new socket. */
#include "io.h"

static struct sockaddr_in listen_addr;
static int accepted = -1;
static struct sockaddr_in peer;
static socklen_t peer_len;
static int accept_flags;
static int client_fd = -1;
static int ticks_during;

static void acceptor(void *arg) {
    int l = *(int *)arg;
    peer_len = sizeof peer;
    int before = io_ticks;
    accepted = accept_flags < 0 ? guv_accept(l, (struct sockaddr *)&peer, &peer_len)
                                : guv_accept4(l, (struct sockaddr *)&peer, &peer_len, accept_flags);
    ticks_during = io_ticks - before;
}

static void connect_later(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.05), 0);
    client_fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_OK(guv_connect(client_fd, (struct sockaddr *)&listen_addr, sizeof listen_addr));
}

/* Runs an acceptor (with `flags`, or plain guv_accept when negative) and a
 * client that connects 50 ms later; checks the ticker ran meanwhile and the
 * reported peer address is the client's. */
static void accept_one(int flags) {
    int l = io_listener(&listen_addr);
    accepted = -1;
    accept_flags = flags;
    io_ticker_start();
    ASSERT(guv_spawn(acceptor, &l) >= 1);
    ASSERT(guv_spawn(connect_later, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.12), 0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_run(), 0);
    ASSERT(accepted >= 0);
    ASSERT(ticks_during >= 1);
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    ASSERT_EQ(getsockname(client_fd, (struct sockaddr *)&local, &len), 0);
    ASSERT_EQ(peer_len, sizeof peer);
    ASSERT_EQ(peer.sin_port, local.sin_port);
    ASSERT(!io_nonblocking(l));
    /* The connection works both ways. */
    ASSERT_EQ(guv_write(client_fd, "hi", 2), 2);
    char b[2];
    ASSERT_EQ(guv_read(accepted, b, 2), 2);
    ASSERT(memcmp(b, "hi", 2) == 0);
    ASSERT_EQ(guv_close(l), 0);
    ASSERT_EQ(guv_close(client_fd), 0);
}

/* Plain accept: a blocking socket, without close-on-exec. */
static void test_accept(void) {
    accept_one(-1);
    ASSERT(!io_nonblocking(accepted));
    ASSERT_EQ(fcntl(accepted, F_GETFD) & FD_CLOEXEC, 0);
    ASSERT_EQ(guv_close(accepted), 0);
}

/* accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC: both flags are set on the new socket. */
static void test_accept4_flags(void) {
    accept_one(SOCK_NONBLOCK | SOCK_CLOEXEC);
    ASSERT(io_nonblocking(accepted));
    ASSERT(fcntl(accepted, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(guv_close(accepted), 0);
}

/* accept4 with flags 0 is plain accept. */
static void test_accept4_no_flags(void) {
    accept_one(0);
    ASSERT(!io_nonblocking(accepted));
    ASSERT_EQ(fcntl(accepted, F_GETFD) & FD_CLOEXEC, 0);
    ASSERT_EQ(guv_close(accepted), 0);
}

/* Bad flags and a non-listening socket fail as accept4(2) does. */
static void test_accept_errors(void) {
    struct sockaddr_in a;
    int l = io_listener(&a);
    ASSERT_ERRNO(guv_accept4(l, NULL, NULL, 0x40000000), EINVAL);
    ASSERT_EQ(guv_close(l), 0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_ERRNO(guv_accept(s, NULL, NULL), EINVAL);
    ASSERT_EQ(guv_close(s), 0);
    ASSERT_ERRNO(guv_accept(-1, NULL, NULL), EBADF);
}

int main(void) {
    RUN(test_accept);
    RUN(test_accept4_flags);
    RUN(test_accept4_no_flags);
    RUN(test_accept_errors);
    return 0;
}
