/* fork with a running hub: the child gets a working hub of its own (new
 * epoll, eventfd and offload pool), the parent is unaffected. */
#include <sys/socket.h>
#include <sys/wait.h>

#include "test.h"

static int fds[2];
static int got;

/* Waits on the socketpair across the fork: in the child the wait must be
 * registered with the child's new epoll instance to be woken. */
static void reader(void *arg) {
    (void)arg;
    char c;
    ASSERT_EQ(guv_trampoline(fds[0], GUV_READ), GUV_READ);
    ASSERT_EQ(read(fds[0], &c, 1), 1);
    got = c;
}

static void sleeper(void *arg) {
    ASSERT_EQ(guv_sleep(0.05), 0);
    ++*(int *)arg;
}

static void offloaded(void *arg) { *(int *)arg = 42; }

/* The child's hub works: a green thread waiting on an fd since before the
 * fork is woken, new green threads sleep and offload; the parent's hub is
 * untouched by the child's registrations and still wakes its own reader. */
static void test_child_gets_working_hub(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ASSERT(guv_spawn(reader, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0); /* the reader is now suspended on fds[0] */

    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        int n = 0, v = 0;
        for (int i = 0; i < 10; i++) ASSERT(guv_spawn(sleeper, &n) >= 1);
        ASSERT_EQ(guv_offload(offloaded, &v), 0);
        ASSERT_EQ(v, 42);
        ASSERT_EQ(write(fds[1], "c", 1), 1); /* the child's copy of the pair */
        ASSERT_EQ(guv_run(), 0);
        ASSERT_EQ(n, 10);
        ASSERT_EQ(got, 'c');
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The child consumed its byte from the shared socket; the parent's reader
     * is still waiting and is woken by the parent's own write. */
    ASSERT_EQ(got, 0);
    ASSERT_EQ(write(fds[1], "p", 1), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, 'p');
    ASSERT_OK(guv_close(fds[0]));
    ASSERT_OK(guv_close(fds[1]));
}

int main(void) {
    RUN(test_child_gets_working_hub);
    return 0;
}
