/* The sleeps and readiness waits of libc, called by 50 green threads that
 * never call guv, overlap on one OS thread; with GUV_HOOK=0 they do not. */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hook_test.h"

static const struct timespec wait_ts = { 0, (long)(HOOK_WAIT * 1e9) };

static void do_nanosleep(int i, void *ctx)
{
    (void)i, (void)ctx;
    struct timespec rem = { 7, 7 };
    ASSERT_EQ(nanosleep(&wait_ts, &rem), 0);
}

static void do_usleep(int i, void *ctx)
{
    (void)i, (void)ctx;
    ASSERT_EQ(usleep((useconds_t)(HOOK_WAIT * 1e6)), 0);
}

static void do_clock_nanosleep_abs(int i, void *ctx)
{
    (void)i, (void)ctx;
    struct timespec t;
    ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &t), 0);
    t.tv_nsec += wait_ts.tv_nsec;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    ASSERT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
    struct timespec now;
    ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    ASSERT(now.tv_sec > t.tv_sec || (now.tv_sec == t.tv_sec && now.tv_nsec >= t.tv_nsec));
}

/* poll, ppoll, select and pselect on a socket nobody writes to time out. */
static int quiet_fd(int i)
{
    static int pairs[DRV_CONCURRENCY][2];
    if (pairs[i][0] == 0)
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]));
    return pairs[i][0];
}

static void do_poll(int i, void *ctx)
{
    (void)ctx;
    struct pollfd p = { .fd = quiet_fd(i), .events = POLLIN };
    ASSERT_EQ(poll(&p, 1, (int)(HOOK_WAIT * 1e3)), 0);
}

static void do_ppoll(int i, void *ctx)
{
    (void)ctx;
    struct pollfd p = { .fd = quiet_fd(i), .events = POLLIN };
    ASSERT_EQ(ppoll(&p, 1, &wait_ts, NULL), 0);
}

static void do_select(int i, void *ctx)
{
    (void)ctx;
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(quiet_fd(i), &rd);
    struct timeval tv = { 0, (long)(HOOK_WAIT * 1e6) };
    ASSERT_EQ(select(quiet_fd(i) + 1, &rd, NULL, NULL, &tv), 0);
    /* As Linux's select: the time left, none after a timeout. */
    ASSERT(tv.tv_sec == 0 && tv.tv_usec == 0);
    ASSERT(!FD_ISSET(quiet_fd(i), &rd));
}

static void do_pselect(int i, void *ctx)
{
    (void)ctx;
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(quiet_fd(i), &rd);
    ASSERT_EQ(pselect(quiet_fd(i) + 1, &rd, NULL, NULL, &wait_ts, NULL), 0);
}

static void do_epoll_wait(int i, void *ctx)
{
    (void)ctx;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_OK(ep);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = quiet_fd(i) };
    ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, quiet_fd(i), &ev));
    ASSERT_EQ(epoll_wait(ep, &ev, 1, (int)(HOOK_WAIT * 1e3)), 0);
    ASSERT_OK(close(ep));
}

static void test_nanosleep(void) { hook_check_parallel("nanosleep", do_nanosleep, NULL); }
static void test_usleep(void) { hook_check_parallel("usleep", do_usleep, NULL); }
static void test_clock_nanosleep(void)
{
    hook_check_parallel("clock_nanosleep(TIMER_ABSTIME)", do_clock_nanosleep_abs, NULL);
}
static void test_poll(void) { hook_check_parallel("poll timeout", do_poll, NULL); }
static void test_ppoll(void) { hook_check_parallel("ppoll timeout", do_ppoll, NULL); }
static void test_select(void) { hook_check_parallel("select timeout", do_select, NULL); }
static void test_pselect(void) { hook_check_parallel("pselect timeout", do_pselect, NULL); }
static void test_epoll_wait(void) { hook_check_parallel("epoll_wait timeout", do_epoll_wait, NULL); }

/* A wait that ends by readiness: a writer wakes 50 pollers, selectors and
 * epoll waiters, each told the right fd is readable. */
static int ready_pairs[DRV_CONCURRENCY][2];

static void wait_readable(int i, void *ctx)
{
    (void)ctx;
    int fd = ready_pairs[i][0];
    struct pollfd p = { .fd = fd, .events = POLLIN };
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    ASSERT(p.revents & POLLIN);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    ASSERT_EQ(select(fd + 1, &rd, NULL, NULL, NULL), 1);
    ASSERT(FD_ISSET(fd, &rd));
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 77 };
    ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    ASSERT_EQ(epoll_wait(ep, &ev, 1, 5000), 1);
    ASSERT_EQ(ev.data.u32, 77);
    close(ep);
    char b;
    ASSERT_EQ(read(fd, &b, 1), 1);
    ASSERT_EQ(b, 'a' + i % 26);
}

static void write_later(void *arg)
{
    (void)arg;
    usleep((useconds_t)(HOOK_WAIT * 1e6));
    for (int i = 0; i < DRV_CONCURRENCY; i++) {
        char b = (char)('a' + i % 26);
        ASSERT_EQ(write(ready_pairs[i][1], &b, 1), 1);
    }
}

static void test_readiness_wakes(void)
{
    for (int i = 0; i < DRV_CONCURRENCY; i++)
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, ready_pairs[i]));
    ASSERT_OK(guv_spawn(write_later, NULL));
    hook_check_parallel("poll, select, epoll_wait woken by a write", wait_readable, NULL);
    for (int i = 0; i < DRV_CONCURRENCY; i++) {
        close(ready_pairs[i][0]);
        close(ready_pairs[i][1]);
    }
}

static void usleep_once(void *arg)
{
    do_usleep(0, arg);
}

/* Run again with GUV_HOOK=0 (see main): the same sleeps, now serial. Not
 * through drv_parallel, which asserts that its workers overlapped. */
static void test_disabled_sleeps_are_serial(void)
{
    double t0 = guv_now();
    for (int i = 0; i < 5; i++)
        ASSERT_OK(guv_spawn(usleep_once, NULL));
    ASSERT_OK(guv_run());
    double elapsed = guv_now() - t0;
    printf("  GUV_HOOK=0: 5 x usleep(%.1f s) took %.2f s\n", HOOK_WAIT, elapsed);
    ASSERT(elapsed >= 5 * HOOK_WAIT * 0.95);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "disabled") == 0) {
        RUN(test_disabled_sleeps_are_serial);
        return 0;
    }
    RUN(test_nanosleep);
    RUN(test_usleep);
    RUN(test_clock_nanosleep);
    RUN(test_poll);
    RUN(test_ppoll);
    RUN(test_select);
    RUN(test_pselect);
    RUN(test_epoll_wait);
    RUN(test_readiness_wakes);
    /* GUV_HOOK is read once per process: check it in a fresh one. */
    fflush(stdout);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "GUV_HOOK=0 %s disabled", argv[0]);
    ASSERT_EQ(system(cmd), 0);
    return 0;
}
