/*
 * Helpers shared by the I/O layer's tests (tests/io/test_*.c): fd pairs,
 * loopback sockets, and a ticker that proves the hub kept running while
 * some green thread was blocked in a guv call.
 */
#ifndef GUV_IO_TEST_H
#define GUV_IO_TEST_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "test.h"

static inline int io_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    ASSERT(fl != -1);
    return (fl & O_NONBLOCK) != 0;
}

/* A connected AF_UNIX stream pair, blocking unless `type_flags` says otherwise. */
static inline void io_socketpair(int sv[2], int type_flags) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | type_flags, 0, sv), 0);
}

static inline void io_close2(int fds[2]) {
    ASSERT_EQ(guv_close(fds[0]), 0);
    ASSERT_EQ(guv_close(fds[1]), 0);
}

/* Fills fd's send buffer (fd must be non-blocking, or written with
 * MSG_DONTWAIT); returns the bytes written. */
static inline long io_fill(int fd) {
    static char junk[65536];
    long total = 0;
    ssize_t n;
    while ((n = send(fd, junk, sizeof junk, MSG_DONTWAIT)) > 0) total += n;
    ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
    return total;
}

static inline struct sockaddr_in io_loopback(uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A socket of `type` bound to 127.0.0.1 on a free port, stored in *addr. */
static inline int io_bound(int type, struct sockaddr_in *addr) {
    int fd = socket(AF_INET, type, 0);
    ASSERT(fd >= 0);
    *addr = io_loopback(0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    socklen_t len = sizeof *addr;
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

/* A blocking TCP listener on 127.0.0.1, its address in *addr. */
static inline int io_listener(struct sockaddr_in *addr) {
    int fd = io_bound(SOCK_STREAM, addr);
    ASSERT_EQ(listen(fd, 64), 0);
    return fd;
}

/* A loopback port nothing listens on: bound once, then released. */
static inline struct sockaddr_in io_closed_port(void) {
    struct sockaddr_in a;
    int fd = io_bound(SOCK_STREAM, &a);
    ASSERT_EQ(close(fd), 0);
    return a;
}

/* A green thread that counts ticks every `io_tick_period` seconds until
 * io_ticker_stop is set: it runs only if the hub kept turning. A test reads
 * io_ticks before a blocking call and after it: more after proves the hub
 * ran the ticker while the call waited. A count, not a time: timers fire in
 * deadline order, and each call waits for a longer sleep or timeout begun
 * after the ticker's 5 ms one, so the ticker ticks first however late the
 * hub gets the CPU (gates like io_ticks >= 5 failed on a loaded machine). */
static int io_ticks;
static volatile int io_ticker_stop;
static double io_tick_period = 0.005;

static inline void io_ticker(void *arg) {
    (void)arg;
    while (!io_ticker_stop) {
        ASSERT_EQ(guv_sleep(io_tick_period), 0);
        io_ticks++;
    }
}

static inline int64_t io_ticker_start(void) {
    io_ticks = 0;
    io_ticker_stop = 0;
    int64_t id = guv_spawn(io_ticker, NULL);
    ASSERT(id >= 1);
    return id;
}

/* A green thread that sleeps `delay` seconds, then writes `len` bytes
 * of `data` to `fd` with plain write(2). */
struct io_later {
    int fd;
    double delay;
    const void *data;
    size_t len;
};

static inline void io_write_later(void *arg) {
    struct io_later *w = arg;
    ASSERT_EQ(guv_sleep(w->delay), 0);
    ASSERT_EQ(write(w->fd, w->data, w->len), (ssize_t)w->len);
}

/* A green thread that reads `*(int *)arg` until EOF, counting the bytes
 * in io_drained. */
static long io_drained;

static inline void io_drain(void *arg) {
    static char sink[1 << 16];
    ssize_t n;
    io_drained = 0;
    while ((n = guv_read(*(int *)arg, sink, sizeof sink)) > 0) io_drained += n;
}

#endif /* GUV_IO_TEST_H */
