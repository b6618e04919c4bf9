/* Signals interrupting the hub's epoll_wait (EINTR): a SIGUSR1 handler
 * installed without SA_RESTART is fired at the hub's thread every 100 µs
 * while green threads sleep and wait on fds. No wake-up is lost and every
 * sleeper wakes on time. */
#include <stdatomic.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rel.h"

static atomic_long signals, signals_in_epoll;
static atomic_int stop;
static pthread_t hub_thread;
static pid_t hub_tid;

static void on_usr1(int sig) {
    (void)sig;
    atomic_fetch_add(&signals, 1);
}

/* Whether the hub's thread sleeps in epoll_wait or epoll_pwait(2) now: the
 * kernel names the system call a blocked thread is in. guv makes its system
 * calls directly, so the linker cannot see them. */
static int hub_in_epoll_wait(void) {
    char path[64], line[64] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)hub_tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (n <= 0) return 0;
    long nr = strtol(line, NULL, 10);
    return nr == SYS_epoll_wait || nr == SYS_epoll_pwait;
}

/* Fires SIGUSR1 at the hub's thread every 100 µs and counts the signals
 * sent while it slept in epoll_wait: without SA_RESTART each of those ends
 * the wait with EINTR. */
static void *pester(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        if (hub_in_epoll_wait()) atomic_fetch_add(&signals_in_epoll, 1);
        pthread_kill(hub_thread, SIGUSR1);
        usleep(100);
    }
    return NULL;
}

enum { SLEEPERS = 40, PAIRS = 20 };

/* Generous for two shared cores; what is checked is that no wake-up waits
 * for a later event (a lost one would wait for the watchdog). */
#define LATE_MAX 1.0

static int sleepers_on_time;

static void sleeper(void *arg) {
    double d = 0.001 * (double)(1 + (intptr_t)arg); /* 1 to 40 ms */
    double t0 = guv_now();
    ASSERT_EQ(guv_sleep(d), 0);
    double slept = guv_now() - t0;
    ASSERT(slept >= d);
    if (slept > d + LATE_MAX) FAIL("a %.0f ms sleep took %.0f ms", d * 1e3, slept * 1e3);
    sleepers_on_time++;
}

static int pairs[PAIRS][2];
static int readers_done;

static void reader(void *arg) {
    int *sv = arg;
    char c;
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(guv_read(sv[0], &c, 1), 1);
        ASSERT_EQ(c, (char)('a' + i));
    }
    readers_done++;
}

/* Writes one byte to every pair each millisecond, twenty times. */
static void writer(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(guv_sleep(0.001), 0);
        for (int p = 0; p < PAIRS; p++) {
            char c = (char)('a' + i);
            ASSERT_EQ(guv_write(pairs[p][1], &c, 1), 1);
        }
    }
}

static void test_signals_lose_no_wakeup(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = 0; /* no SA_RESTART: epoll_wait fails with EINTR */
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    hub_thread = pthread_self();
    hub_tid = (pid_t)syscall(SYS_gettid);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, pester, NULL), 0);
    for (int round = 0; round < 5; round++) {
        sleepers_on_time = readers_done = 0;
        for (int p = 0; p < PAIRS; p++) {
            ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[p]), 0);
            ASSERT(guv_spawn(reader, pairs[p]) >= 1);
        }
        for (intptr_t i = 0; i < SLEEPERS; i++) ASSERT(guv_spawn(sleeper, (void *)i) >= 1);
        ASSERT(guv_spawn(writer, NULL) >= 1);
        /* main sleeps too: the loop runs on main's stack, in epoll_wait */
        double t0 = guv_now();
        ASSERT_EQ(guv_sleep(0.005), 0);
        ASSERT(guv_now() - t0 >= 0.005);
        ASSERT_EQ(guv_run(), 0);
        ASSERT_EQ(sleepers_on_time, SLEEPERS);
        ASSERT_EQ(readers_done, PAIRS);
        for (int p = 0; p < PAIRS; p++) {
            ASSERT_OK(guv_close(pairs[p][0]));
            ASSERT_OK(guv_close(pairs[p][1]));
        }
    }
    atomic_store(&stop, 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    /* The signals did interrupt the hub's epoll_wait, many times. */
    if (atomic_load(&signals_in_epoll) < 20)
        FAIL("only %ld of %ld signals reached the hub in epoll_wait", atomic_load(&signals_in_epoll),
             atomic_load(&signals));
    printf("   %ld signals, %ld of them sent while the hub slept in epoll_wait\n", atomic_load(&signals),
           atomic_load(&signals_in_epoll));
}

int main(void) {
    RUN(test_signals_lose_no_wakeup);
    return 0;
}
