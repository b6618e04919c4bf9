/* fork with a running hub: as fork(2) copies only the calling OS thread,
 * the child keeps only the calling green thread (main included only if it
 * called fork). The others never run there, nothing of theirs is unwound,
 * and the child gets a working hub of its own (new epoll, eventfd and
 * offload pool); the parent is unaffected. */
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "test.h"

static int fds[2];
static int got, ran_late;

/* Waits on the socketpair across the fork. */
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

/* Sleeps past the fork, then counts: a run in the child would show. */
static void late(void *arg) {
    (void)arg;
    if (guv_sleep(0.1) == 0) ran_late++;
}

static void parked(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_park(-1), 0);
    ran_late++;
}

static void offloaded(void *arg) { *(int *)arg = 42; }

/* Waits for `pid` and fails unless it exited with 0. */
static void expect_exit_0(pid_t pid) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("the child %s %d", WIFSIGNALED(status) ? "died of signal" : "exited with",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* Fork from main: in the child the green threads of before are gone (a
 * reader woken by the child's write stays unrun, a sleeper never counts,
 * joins return at once) and new ones sleep and offload; the parent's
 * reader is still waiting and is woken by the parent's own write. */
static void test_fork_from_main_keeps_main_only(void) {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    int64_t r = guv_spawn(reader, NULL), l = guv_spawn(late, NULL), p = guv_spawn(parked, NULL);
    ASSERT(r >= 1 && l >= 1 && p >= 1);
    ASSERT_EQ(guv_yield(), 0); /* all three now wait */

    fflush(stdout);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        int n = 0, v = 0;
        ASSERT_EQ(guv_count(), 0);
        ASSERT_EQ(guv_join(r), 0);
        ASSERT_EQ(guv_unpark(p), 0); /* ended: a no-op */
        for (int i = 0; i < 10; i++) ASSERT(guv_spawn(sleeper, &n) >= 1);
        ASSERT_EQ(guv_offload(offloaded, &v), 0);
        ASSERT_EQ(v, 42);
        ASSERT_EQ(write(fds[1], "c", 1), 1); /* the child's copy of the pair */
        ASSERT_EQ(guv_sleep(0.2), 0);
        ASSERT_EQ(guv_run(), 0);
        ASSERT_EQ(n, 10);
        ASSERT_EQ(got, 0);
        ASSERT_EQ(ran_late, 0);
        _exit(0);
    }
    expect_exit_0(pid);
    /* The child read nothing: its byte is still in the shared socket, for
     * the parent's reader, whose wait went on. */
    ASSERT_EQ(guv_unpark(p), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(got, 'c');
    ASSERT_EQ(ran_late, 2);
    ASSERT_OK(guv_close(fds[0]));
    ASSERT_OK(guv_close(fds[1]));
}

static int child_done[2];

static void child_helper(void *arg) {
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(write(child_done[1], arg, 1), 1);
}

/* Forks from a green thread. In the child it sleeps, spawns and joins, a
 * wait nothing can end fails with EDEADLK (main, which would get it in the
 * parent, is gone), and it returns before the green thread it spawned
 * last: the child exits with 0 once that one ends too. */
static void forker(void *arg) {
    pid_t *out = arg;
    fflush(stdout);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid > 0) {
        *out = pid;
        return;
    }
    int n = 0;
    ASSERT_EQ(guv_count(), 1);
    ASSERT_EQ(guv_sleep(0.2), 0);
    ASSERT_EQ(ran_late, 0);
    int64_t s = guv_spawn(sleeper, &n);
    ASSERT_OK(s);
    ASSERT_EQ(guv_join(s), 0);
    ASSERT_EQ(n, 1);
    ASSERT_ERRNO(guv_park(-1), EDEADLK);
    ASSERT_OK(guv_spawn(child_helper, "h"));
}

/* The parent's green threads all run; the child's main never returns from
 * guv_run() (it would exit with 3), and the child ends with status 0 after
 * its last green thread, which wrote "h". */
static void test_fork_from_green_thread_keeps_it_only(void) {
    ASSERT_EQ(pipe(child_done), 0);
    ran_late = 0;
    pid_t pid = 0;
    int64_t p = guv_spawn(parked, NULL);
    ASSERT(p >= 1 && guv_spawn(late, NULL) >= 1);
    ASSERT(guv_spawn(forker, &pid) >= 1);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_unpark(p), 0);
    if (guv_run() != 0 || pid == 0) _exit(3);
    expect_exit_0(pid);
    ASSERT_EQ(ran_late, 2);
    char c = 0;
    ASSERT_OK(close(child_done[1]));
    ASSERT_EQ(read(child_done[0], &c, 1), 1);
    ASSERT_EQ(c, 'h');
    ASSERT_OK(close(child_done[0]));
}

static atomic_int churning;

static void *hub_and_exit(void *arg) {
    (void)arg;
    ASSERT_OK(guv_spawn(test_noop, NULL));
    ASSERT_EQ(guv_run(), 0);
    return NULL; /* its hub is dropped as the thread exits */
}

static void *churn(void *arg) {
    (void)arg;
    while (atomic_load(&churning)) test_on_thread(hub_and_exit, NULL);
    return NULL;
}

/* A fork while other OS threads drop their hubs (at their exit): the
 * child's fork handler must not wait for a lock one of them held at the
 * fork, which no thread in the child will ever release. Before, the child
 * hung within a few hundred forks: Hub::drop took LEFT_AT_FORK's lock. */
static void test_fork_while_threads_drop_hubs(void) {
    ASSERT_OK(guv_spawn(test_noop, NULL));
    ASSERT_EQ(guv_run(), 0); /* main has a hub, as the fork handler looks at it */
    pthread_t t[2];
    atomic_store(&churning, 1);
    for (int i = 0; i < 2; i++) ASSERT_EQ(pthread_create(&t[i], NULL, churn, NULL), 0);
    /* 2000 forks, or as many as 5 s allow (under ASan a fork is slow). */
    double stop = guv_now() + 5;
    for (int i = 0; i < 2000 && guv_now() < stop; i++) {
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) _exit(0);
        int status = 0;
        /* Under valgrind the child's leak check at its exit takes most of a second. */
        double until = guv_now() + (test_under_valgrind() ? 20 : 5);
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && guv_now() < until) usleep(200);
        if (r != pid) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            FAIL("fork %d: the child hung in the fork handler", i);
        }
        ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&churning, 0);
    for (int i = 0; i < 2; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
}

int main(void) {
    RUN(test_fork_from_main_keeps_main_only);
    RUN(test_fork_from_green_thread_keeps_it_only);
    RUN(test_fork_while_threads_drop_hubs);
    return 0;
}
