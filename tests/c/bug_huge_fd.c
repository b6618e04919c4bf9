/* Known core bug (kept out of `make test`; run by `make test-c-known-bugs`):
 * guv_trampoline on a huge fd number that is not open aborts the process
 * instead of failing with EBADF. Reactor::state() grows its per-fd vector to
 * fd + 1 entries before epoll has said whether the fd exists: for INT_MAX
 * that is a 64 GiB allocation, which fails and aborts ("memory allocation
 * of 68719476736 bytes failed"). Each call runs in a child process. */
#include <limits.h>
#include <sys/wait.h>

#include "test.h"

static void expect_ebadf_in_child(int fd, int timeout_zero) {
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        errno = 0;
        int rc = timeout_zero ? guv_trampoline_timeout(fd, GUV_READ, 0) : guv_trampoline(fd, GUV_READ);
        _exit(rc == -1 && errno == EBADF ? 0 : 1);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("guv_trampoline(%d, GUV_READ): child status %#x, expected -1/EBADF", fd, status);
}

static void test_huge_fd_is_ebadf(void) {
    expect_ebadf_in_child(INT_MAX, 1); /* poll(2) path: fine */
    expect_ebadf_in_child(100000, 0);  /* fine: a 2.8 MB vector */
    expect_ebadf_in_child(INT_MAX, 0); /* got: abort, 64 GiB allocation */
}

int main(void) {
    RUN(test_huge_fd_is_ebadf);
    return 0;
}
