/* fd exhaustion: with RLIMIT_NOFILE down to the fds already open, accept
 * and socket fail with EMFILE, guv's own calls that need an fd (guv_poll on
 * several fds makes a temporary epoll fd; a new thread's hub makes an epoll
 * fd and an eventfd) report EMFILE instead of crashing or hanging, and
 * everything works again once fds are free. Runs in a child process, whose
 * limit does not touch the test's. */
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "rel.h"

static int listener, client, pairs[3][2];
static struct sockaddr_in addr;

static void accept_fails(void *arg) {
    (void)arg;
    errno = 0;
    int fd = guv_accept(listener, NULL, NULL);
    if (fd != -1 || errno != EMFILE) FAIL("guv_accept returned %d (%s), not EMFILE", fd, test_errno_name(errno));
}

static void accept_works(void *arg) {
    (void)arg;
    int fd = guv_accept(listener, NULL, NULL);
    ASSERT(fd >= 0);
    ASSERT_OK(guv_close(fd));
}

static void sleeps(void *arg) {
    ASSERT_EQ(guv_sleep(0.001), 0);
    ++*(int *)arg;
}

/* A new OS thread's first guv call must create its hub: no fd for it. */
static void *hub_on_new_thread(void *arg) {
    errno = 0;
    int64_t id = guv_spawn(test_noop, NULL);
    *(int *)arg = id == -1 ? errno : 0;
    if (id >= 1) ASSERT_EQ(guv_run(), 0);
    return NULL;
}

static void child(void) {
    ASSERT_EQ(guv_yield(), 0); /* this thread's hub exists */
    listener = rel_listen_loopback(&addr);
    client = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client, (struct sockaddr *)&addr, sizeof addr), 0); /* pending in the backlog */
    for (int i = 0; i < 3; i++) ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]), 0);
    int highest = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) highest = fd;
    struct rlimit old, low = {(rlim_t)highest + 1, 0};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    low.rlim_max = old.rlim_max;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fill;
    while ((fill = dup(0)) >= 0) {} /* the free numbers below the limit */
    ASSERT_EQ(errno, EMFILE);

    /* the system calls themselves */
    ASSERT_ERRNO(socket(AF_INET, SOCK_STREAM, 0), EMFILE);
    ASSERT(guv_spawn(accept_fails, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);

    /* guv_poll of several fds, none ready: needs an epoll fd */
    struct pollfd p[3];
    for (int i = 0; i < 3; i++) p[i] = (struct pollfd){.fd = pairs[i][0], .events = POLLIN};
    ASSERT_ERRNO(guv_poll(p, 3, 50), EMFILE);

    /* a hub for a new thread */
    int err = -1;
    test_on_thread(hub_on_new_thread, &err);
    if (err != EMFILE) FAIL("guv_spawn on a new thread at the fd limit: errno %s, not EMFILE", test_errno_name(err));

    /* what needs no fd goes on working meanwhile */
    int slept = 0;
    for (int i = 0; i < 10; i++) ASSERT(guv_spawn(sleeps, &slept) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(slept, 10);

    /* with fds to spare again, all of it works */
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    ASSERT(guv_spawn(accept_works, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(write(pairs[1][1], "x", 1), 1);
    ASSERT_EQ(guv_poll(p, 3, 1000), 1);
    ASSERT_EQ(p[1].revents, POLLIN);
    err = -1;
    test_on_thread(hub_on_new_thread, &err);
    ASSERT_EQ(err, 0);
}

static void test_fd_exhaustion(void) {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        test_name = "test_fd_exhaustion (child)";
        child();
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) FAIL("child status %#x", status);
}

int main(void) {
    RUN(test_fd_exhaustion);
    return 0;
}
