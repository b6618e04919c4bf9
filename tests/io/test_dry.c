/* A read of a blocking TCP socket that came back short has read it dry,
 * so guv's next read of it waits for the fd's next event instead of making
 * the system call that would say EAGAIN (src/reactor.rs, FdFacts::drained).
 * These check that the inference never loses data or the end of a stream,
 * and that AF_UNIX stream sockets (whose reads stop short at passed fds)
 * and datagram sockets are left out of it. */
#include <time.h>

#include "io.h"

static int fds[2];
static ssize_t got[3];
static char data[3][16];
static double waited;
static int witness_ran, ran_during_read;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void witness(void *arg) {
    (void)arg;
    witness_ran = 1;
}

/* fds[0] and fds[1]: a connected blocking stream pair, AF_UNIX or TCP. */
static void stream_pair(int tcp) {
    if (!tcp) {
        io_socketpair(fds, 0);
        return;
    }
    struct sockaddr_in addr;
    int l = io_listener(&addr);
    fds[1] = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fds[1] >= 0);
    ASSERT_EQ(connect(fds[1], (struct sockaddr *)&addr, sizeof addr), 0);
    fds[0] = accept(l, NULL, NULL);
    ASSERT(fds[0] >= 0);
    ASSERT_EQ(close(l), 0);
}

/* The first read waits (guv learns the fd's mode), the second waits for
 * "abc", which came with the end of the stream, and reads it short; the
 * third must see the end at once: the event that announced the end was
 * taken before the short read, and none comes after it. */
static void read_data_then_end(void *arg) {
    (void)arg;
    got[0] = guv_read(fds[0], data[0], sizeof data[0]);
    got[1] = guv_read(fds[0], data[1], sizeof data[1]);
    double t0 = now_s();
    got[2] = guv_read(fds[0], data[2], sizeof data[2]);
    waited = now_s() - t0;
}

static void test_end_after_short_read(int tcp) {
    stream_pair(tcp);
    ASSERT(guv_spawn(read_data_then_end, NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(write(fds[1], "x", 1), 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(write(fds[1], "abc", 3), 3);
    ASSERT_EQ(shutdown(fds[1], SHUT_WR), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got[0], 1);
    ASSERT_EQ(got[1], 3);
    ASSERT(memcmp(data[1], "abc", 3) == 0);
    ASSERT_EQ(got[2], 0);
    /* Not the registration check's second. */
    ASSERT(waited < 0.5);
    io_close2(fds);
}

static void test_end_after_short_read_unix(void) { test_end_after_short_read(0); }
static void test_end_after_short_read_tcp(void) { test_end_after_short_read(1); }

/* Reads twice (the first read waits while guv learns the fd's mode, the
 * second reads what main sent), then, with `more` set, sends "cd" itself;
 * then times a third read, with a witness queued to run if it waits. */
static void read_twice_then_time(void *more) {
    got[0] = guv_read(fds[0], data[0], sizeof data[0]);
    got[1] = guv_read(fds[0], data[1], sizeof data[1]);
    if (more) ASSERT_EQ(send(fds[1], "cd", 2, 0), 2);
    ASSERT(guv_spawn(witness, NULL) >= 1);
    double t0 = now_s();
    got[2] = guv_read(fds[0], data[2], sizeof data[2]);
    waited = now_s() - t0;
    ran_during_read = witness_ran;
}

/* Starts read_twice_then_time on fds[0] (`more`: it sends "cd" itself)
 * and sends it "x" for its first read; main then sends what the second reads. */
static void start_reader(int more) {
    witness_ran = 0;
    ASSERT(guv_spawn(read_twice_then_time, more ? fds : NULL) >= 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(send(fds[1], "x", 1, 0), 1);
    ASSERT_EQ(guv_sleep(0.02), 0);
}

/* Runs the reader to its end; checks that its second read got `second`
 * bytes and its third `third`, promptly (not at the registration check's
 * second), having waited (the witness ran) or not. */
static void finish_reader(size_t second, const char *third, int waits) {
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got[1], (ssize_t)second);
    ASSERT_EQ(got[2], (ssize_t)strlen(third));
    ASSERT(memcmp(data[2], third, strlen(third)) == 0);
    ASSERT(waited < 0.5);
    ASSERT_EQ(ran_during_read, waits);
    io_close2(fds);
}

/* As start_reader and finish_reader, main sending the `n` datagrams or writes of `second`. */
static void run_reader(int more, int n, const char *const *second, const char *third, int waits) {
    start_reader(more);
    for (int i = 0; i < n; i++) ASSERT_EQ(send(fds[1], second[i], strlen(second[i]), 0), (ssize_t)strlen(second[i]));
    finish_reader(strlen(second[0]), third, waits);
}

/* After a short read, data sent before the next read (with no turn of the
 * hub in between) is read by it. On TCP the read waits for the event the
 * data brought, letting the queued witness run first, which proves the
 * system call was skipped; on AF_UNIX it makes the call and reads at once. */
static void test_data_after_short_read(int tcp) {
    static const char *const ab[] = {"ab"};
    stream_pair(tcp);
    run_reader(1, 1, ab, "cd", tcp);
}

static void test_data_after_short_read_unix(void) { test_data_after_short_read(0); }
static void test_data_after_short_read_tcp(void) { test_data_after_short_read(1); }

/* A datagram read is short whatever else is queued: the second datagram,
 * queued with the first, is read at once, without a wait. */
static void test_datagrams_are_not_dry(void) {
    static const char *const two[] = {"one", "two"};
    struct sockaddr_in rx_addr;
    fds[0] = io_bound(SOCK_DGRAM, &rx_addr);
    fds[1] = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT(fds[1] >= 0);
    ASSERT_EQ(connect(fds[1], (struct sockaddr *)&rx_addr, sizeof rx_addr), 0);
    run_reader(0, 2, two, "two", 0);
}

/* An AF_UNIX stream read stops at a message that carries an fd, short,
 * with the next message already queued and its event already taken: the
 * read after it gets that message at once (it waited for the registration
 * check's second when AF_UNIX streams were taken as dry). */
static void test_read_after_passed_fd_unix(void) {
    stream_pair(0);
    start_reader(0);
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {.iov_base = "ab", .iov_len = 2};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int passed = STDIN_FILENO;
    memcpy(CMSG_DATA(c), &passed, sizeof passed);
    ASSERT_EQ(sendmsg(fds[1], &msg, 0), 2);
    ASSERT_EQ(send(fds[1], "cd", 2, 0), 2);
    finish_reader(2, "cd", 0);
}

/* A TCP read stops short at urgent data's mark, with the rest queued and
 * its event already taken (it came with the urgent byte's EPOLLPRI): the
 * read after it gets the rest at once. Everything arrives before the hub
 * looks (main blocks its thread in usleep, not guv_sleep), so no later
 * event could wake a read that took the fd as dry. */
static void test_read_after_urgent_mark_tcp(void) {
    stream_pair(1);
    start_reader(0);
    ASSERT_EQ(send(fds[1], "ab", 2, 0), 2);
    ASSERT_EQ(send(fds[1], "!", 1, MSG_OOB), 1);
    ASSERT_EQ(send(fds[1], "cd", 2, 0), 2);
    usleep(20000);
    finish_reader(2, "cd", 0);
}

int main(void) {
    RUN(test_end_after_short_read_unix);
    RUN(test_end_after_short_read_tcp);
    RUN(test_data_after_short_read_unix);
    RUN(test_data_after_short_read_tcp);
    RUN(test_read_after_passed_fd_unix);
    RUN(test_read_after_urgent_mark_tcp);
    RUN(test_datagrams_are_not_dry);
    return 0;
}
