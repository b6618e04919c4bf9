/* SO_RCVTIMEO / SO_SNDTIMEO are honoured: a blocking-mode call that waits
 * longer fails with EAGAIN, as the plain call would, while other green
 * threads keep running. */
#include <sys/time.h>

#include "io.h"

static void set_timeo(int fd, int opt, double seconds) {
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv), 0);
}

/* A 0.2 s SO_RCVTIMEO: guv_read, guv_recv and guv_recvmsg fail with EAGAIN
 * after about 0.2 s; the ticker ran meanwhile. */
static void test_rcvtimeo(void) {
    int sv[2];
    io_socketpair(sv, 0);
    set_timeo(sv[0], SO_RCVTIMEO, 0.2);
    int64_t ticker = io_ticker_start();
    char b[4];
    double t0 = guv_now();
    int before = io_ticks;
    ASSERT_ERRNO(guv_read(sv[0], b, sizeof b), EAGAIN);
    double took = guv_now() - t0;
    ASSERT(took >= 0.19 && took < 2.0);
    ASSERT(io_ticks > before);
    t0 = guv_now();
    ASSERT_ERRNO(guv_recv(sv[0], b, sizeof b, 0), EAGAIN);
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ASSERT_ERRNO(guv_recvmsg(sv[0], &m, 0), EAGAIN);
    took = guv_now() - t0;
    ASSERT(took >= 0.38 && took < 4.0);
    io_ticker_stop = 1;
    ASSERT_EQ(guv_join(ticker), 0);
    io_close2(sv);
}

static void write_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(write(*(int *)arg, "abc", 3), 3);
}

/* Data arriving within the timeout is read normally. */
static void test_rcvtimeo_data_in_time(void) {
    int sv[2];
    io_socketpair(sv, 0);
    set_timeo(sv[0], SO_RCVTIMEO, 1.0);
    ASSERT(guv_spawn(write_later, &sv[1]) >= 1);
    char b[4];
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 3);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* A 0.2 s SO_SNDTIMEO on a full socket: guv_send fails with EAGAIN. */
static void test_sndtimeo(void) {
    int sv[2];
    io_socketpair(sv, 0);
    io_fill(sv[1]);
    set_timeo(sv[1], SO_SNDTIMEO, 0.2);
    double t0 = guv_now();
    ASSERT_ERRNO(guv_send(sv[1], "x", 1, 0), EAGAIN);
    double took = guv_now() - t0;
    ASSERT(took >= 0.19 && took < 2.0);
    io_close2(sv);
}

int main(void) {
    RUN(test_rcvtimeo);
    RUN(test_rcvtimeo_data_in_time);
    RUN(test_sndtimeo);
    return 0;
}
