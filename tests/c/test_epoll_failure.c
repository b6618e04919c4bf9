/* epoll_wait failing for a reason guv cannot repair (its epoll fd replaced
 * by a pipe: EINVAL) reaches the caller: main's blocking call fails with
 * that errno, once, instead of the loop printing and retrying for ever. */
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>

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

static int sv[2];

static void reader(void *arg) {
    (void)arg;
    guv_trampoline(sv[0], GUV_READ); /* ends however the test ends it */
}

/* A green thread waits on an fd; the hub's epoll fd becomes a pipe; guv_run
 * fails with EINVAL at once, without spinning, and the waiter is still there. */
static void test_run_fails_with_epoll_error(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int64_t id = guv_spawn(reader, NULL);
    ASSERT_OK(id);
    ASSERT_EQ(guv_yield(), 0); /* the reader now waits in epoll */
    int eps[8];
    ASSERT_EQ(epoll_fds(eps, 8), 1);
    int saved = dup(eps[0]), p[2];
    ASSERT(saved >= 0);
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(dup2(p[0], eps[0]), eps[0]);
    double c0 = cpu_seconds();
    ASSERT_ERRNO(guv_run(), EINVAL);
    ASSERT(cpu_seconds() - c0 < 0.1);
    ASSERT_EQ(guv_count(), 1);
    /* With the epoll instance back in place the hub carries on. */
    ASSERT_EQ(dup2(saved, eps[0]), eps[0]);
    close(saved);
    close(p[0]);
    close(p[1]);
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_count(), 0);
    guv_close(sv[0]);
    close(sv[1]);
}

int main(void) {
    ASSERT_OK(guv_sleep(0)); /* make the hub */
    RUN(test_run_fails_with_epoll_error);
    return 0;
}
