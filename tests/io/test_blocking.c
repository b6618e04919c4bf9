/* Blocking-mode emulation: guv_read/guv_write/guv_recv/guv_send on fds the
 * caller left in blocking mode suspend only the calling green thread, and
 * the fd's O_NONBLOCK flag is as the caller left it afterwards. */
#include "io.h"

static char got[64];
static ssize_t got_n;
static int ticks_during;

static void read_one(void *arg) {
    int fd = *(int *)arg;
    int before = io_ticks;
    got_n = guv_read(fd, got, sizeof got);
    ticks_during = io_ticks - before;
    io_ticker_stop = 1;
}

/* Spawns a reader on fds[0] and a writer that writes into fds[1] 0.1 s later;
 * checks the reader got the bytes only after the hub ticked meanwhile. */
static void reader_and_late_writer(int fds[2]) {
    struct io_later w = {fds[1], 0.1, "hello", 5};
    got_n = -2;
    memset(got, 0, sizeof got);
    io_ticker_start();
    ASSERT(guv_spawn(read_one, &fds[0]) >= 1);
    ASSERT(guv_spawn(io_write_later, &w) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got_n, 5);
    ASSERT(memcmp(got, "hello", 5) == 0);
    /* The reader was suspended, not blocking the OS thread: the ticker ran. */
    ASSERT(ticks_during >= 1);
}

/* A blocking socketpair: the read suspends, the writer runs, the flag stays off. */
static void test_socketpair_read_waits(void) {
    int sv[2];
    io_socketpair(sv, 0);
    reader_and_late_writer(sv);
    ASSERT(!io_nonblocking(sv[0]));
    ASSERT(!io_nonblocking(sv[1]));
    io_close2(sv);
}

/* A blocking pipe (O_NONBLOCK toggled per attempt): same, flag restored. */
static void test_pipe_read_waits(void) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    reader_and_late_writer(p);
    ASSERT(!io_nonblocking(p[0]));
    ASSERT(!io_nonblocking(p[1]));
    io_close2(p);
}

/* A non-blocking pipe's flag is left on as well (nothing toggles it off). */
static void test_pipe_flag_kept_on(void) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
    ASSERT_EQ(guv_write(p[1], "ab", 2), 2);
    char b[2];
    ASSERT_EQ(guv_read(p[0], b, 2), 2);
    ASSERT(io_nonblocking(p[0]));
    ASSERT(io_nonblocking(p[1]));
    io_close2(p);
}

#define BIG (8u << 20)
static unsigned char *big_out, *big_in;
static size_t big_read;

static void write_big(void *arg) {
    ASSERT_EQ(guv_write(*(int *)arg, big_out, BIG), BIG);
}

static void drain_big(void *arg) {
    int fd = *(int *)arg;
    big_read = 0;
    while (big_read < BIG) {
        ssize_t n = guv_read(fd, big_in + big_read, BIG - big_read);
        ASSERT(n > 0);
        big_read += (size_t)n;
    }
}

/* guv_write of 8 MiB on a blocking socketpair returns all 8 MiB once a reader
 * green thread has drained it, bytes intact and in order. */
static void run_big_write(int fds[2]) {
    big_out = malloc(BIG);
    big_in = malloc(BIG);
    ASSERT(big_out && big_in);
    for (size_t i = 0; i < BIG; i++) big_out[i] = (unsigned char)(i * 7 + (i >> 13));
    ASSERT(guv_spawn(write_big, &fds[1]) >= 1);
    ASSERT(guv_spawn(drain_big, &fds[0]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(big_read, BIG);
    ASSERT(memcmp(big_in, big_out, BIG) == 0);
    ASSERT(!io_nonblocking(fds[0]) && !io_nonblocking(fds[1]));
    free(big_out);
    free(big_in);
}

static void test_large_write_socketpair(void) {
    int sv[2];
    io_socketpair(sv, 0);
    run_big_write(sv);
    io_close2(sv);
}

static void test_large_write_pipe(void) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    run_big_write(p);
    io_close2(p);
}

static void send_all(void *arg) {
    int fd = *(int *)arg;
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(guv_send(fd, "ping", 4, 0), 4);
}

/* guv_recv / guv_send: the same emulation through the socket calls. */
static void test_recv_send(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(send_all, &sv[1]) >= 1);
    char b[8];
    double t0 = guv_now();
    ASSERT_EQ(guv_recv(sv[0], b, sizeof b, 0), 4);
    ASSERT(guv_now() - t0 >= 0.04);
    ASSERT(memcmp(b, "ping", 4) == 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT(!io_nonblocking(sv[0]));
    io_close2(sv);
}

static void close_later(void *arg) {
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(shutdown(*(int *)arg, SHUT_WR), 0);
}

/* A waiting read returns 0 (EOF) when the peer shuts down its side. */
static void test_read_eof(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT(guv_spawn(close_later, &sv[1]) >= 1);
    char b[8];
    ASSERT_EQ(guv_read(sv[0], b, sizeof b), 0);
    ASSERT_EQ(guv_run(), 0);
    io_close2(sv);
}

/* Writing to a peer that has gone fails with EPIPE, as write(2) does
 * (SIGPIPE ignored), rather than waiting. */
static void test_write_epipe(void) {
    int sv[2];
    io_socketpair(sv, 0);
    ASSERT_EQ(guv_close(sv[0]), 0);
    signal(SIGPIPE, SIG_IGN);
    ASSERT_ERRNO(guv_write(sv[1], "x", 1), EPIPE);
    ASSERT_EQ(guv_close(sv[1]), 0);
}

int main(void) {
    RUN(test_socketpair_read_waits);
    RUN(test_pipe_read_waits);
    RUN(test_pipe_flag_kept_on);
    RUN(test_large_write_socketpair);
    RUN(test_large_write_pipe);
    RUN(test_recv_send);
    RUN(test_read_eof);
    RUN(test_write_epipe);
    return 0;
}
