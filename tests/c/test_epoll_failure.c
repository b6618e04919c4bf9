/* guv's own epoll fd closed (a daemon's "close every fd", a buggy close of
 * a stale number) or replaced behind its back: the hub takes a new epoll
 * instance, arms again what its green threads wait on, says so once on
 * stderr, and goes on. Before, it spun at 100% CPU printing "epoll_wait
 * failed" ~270,000 times a second while waits on valid fds failed. (An
 * epoll_wait error guv cannot repair reaches main's blocking call once.) */
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define TEST_TIMEOUT 10
#include "test.h"

/* The fd numbers of this process's epoll instances (guv's hub has one). */
static int epoll_fds(int *fds, int max) {
    DIR *d = opendir("/proc/self/fd");
    ASSERT(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        char path[300], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = 0;
        if (strcmp(target, "anon_inode:[eventpoll]") == 0) fds[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int sv[2], got;

static void reader(void *arg) {
    (void)arg;
    got = guv_trampoline(sv[0], GUV_READ);
}

static void late_write(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.2));
    ASSERT_EQ(write(sv[1], "x", 1), 1);
}

/* A green thread waits on an fd; the hub's epoll fd becomes a pipe
 * (epoll_wait: EINVAL). The hub takes a new epoll instance, re-arms the
 * wait, which still ends when data comes, and leaves the number alone: it
 * is the pipe's now. No spinning. */
static void test_epoll_fd_replaced_is_renewed(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_OK(guv_spawn(reader, NULL));
    ASSERT_EQ(guv_yield(), 0); /* the reader now waits in epoll */
    int eps[8];
    ASSERT_EQ(epoll_fds(eps, 8), 1);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(dup2(p[0], eps[0]), eps[0]);
    ASSERT_OK(guv_spawn(late_write, NULL));
    double c0 = cpu_seconds();
    ASSERT_EQ(guv_run(), 0);
    ASSERT(cpu_seconds() - c0 < 0.1);
    ASSERT_EQ(got, GUV_READ);
    struct stat st;
    ASSERT_EQ(fstat(eps[0], &st), 0);
    ASSERT(S_ISFIFO(st.st_mode));
    close(eps[0]);
    close(p[0]);
    close(p[1]);
    guv_close(sv[0]);
    close(sv[1]);
}

/* Closes every epoll fd of this process (guv's); returns how many. */
static int close_epoll_fds(void) {
    int eps[8], n = epoll_fds(eps, 8);
    for (int i = 0; i < n; i++) close(eps[i]);
    return n;
}

static void late_writer(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.5));
    ASSERT_EQ(write(sv[1], "x", 1), 1);
}

/* Counts lines of what `fn` wrote to stderr. */
static int stderr_lines(void (*fn)(void)) {
    test_capture_begin();
    fn();
    char *text = test_capture_end();
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    if (lines) fprintf(stderr, "  stderr said: %s", text);
    free(text);
    return lines;
}

static double cpu_used, wall_used;

static void wait_after_close(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_OK(guv_spawn(reader, NULL));
    ASSERT_EQ(guv_yield(), 0); /* the reader waits in epoll */
    ASSERT(close_epoll_fds() >= 1);
    ASSERT_OK(guv_spawn(late_writer, NULL));
    double c0 = cpu_seconds(), t0 = guv_now();
    ASSERT_EQ(guv_run(), 0);
    cpu_used = cpu_seconds() - c0;
    wall_used = guv_now() - t0;
}

/* The waiter still gets its data; no busy loop; one message at most. */
static void test_wait_survives_epoll_close(void) {
    int lines = stderr_lines(wait_after_close);
    ASSERT_EQ(got, GUV_READ);
    printf("  run took %.2f s wall, %.3f s CPU, %d stderr lines\n", wall_used, cpu_used, lines);
    ASSERT(cpu_used < 0.25);
    ASSERT(lines <= 1);
    /* And the hub keeps working on fds afterwards. */
    ASSERT_OK(guv_spawn(reader, NULL));
    ASSERT_OK(guv_spawn(late_writer, NULL));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, GUV_READ);
    guv_close(sv[0]);
    close(sv[1]);
}

static void sleep_after_close(void) {
    ASSERT(close_epoll_fds() >= 1);
    double c0 = cpu_seconds();
    ASSERT_OK(guv_sleep(0.3));
    cpu_used = cpu_seconds() - c0;
}

/* Timers alone keep working too, without spinning. */
static void test_sleep_survives_epoll_close(void) {
    int lines = stderr_lines(sleep_after_close);
    ASSERT(cpu_used < 0.2);
    ASSERT(lines <= 1);
}

int main(void) {
    ASSERT_OK(guv_sleep(0)); /* make the hub */
    RUN(test_epoll_fd_replaced_is_renewed);
    RUN(test_wait_survives_epoll_close);
    RUN(test_sleep_survives_epoll_close);
    return 0;
}
