/* guv_run: returns when no green thread is left, refuses to nest, and
 * reports deadlock instead of hanging. */
#include <dirent.h>
#include <sys/socket.h>

#include "test.h"

/* With nothing spawned, guv_run returns 0 at once. */
static void test_run_empty(void) {
    double t0 = guv_now();
    ASSERT_EQ(guv_run(), 0);
    ASSERT(guv_now() - t0 < 0.5);
}

static int late_done;

static void late(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.02), 0);
    late_done = 1;
}

static void spawner(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT(guv_spawn(late, NULL) >= 1);
}

/* guv_run also waits for green threads spawned while it runs. */
static void test_run_waits_for_late_spawns(void) {
    late_done = 0;
    ASSERT(guv_spawn(spawner, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(late_done, 1);
}

static int nested_rc, nested_errno;

static void run_inside(void *arg) {
    (void)arg;
    errno = 0;
    nested_rc = guv_run();
    nested_errno = errno;
}

/* guv_run inside a green thread fails with EPERM. */
static void test_run_in_green_thread_is_eperm(void) {
    ASSERT(guv_spawn(run_inside, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(nested_rc, -1);
    ASSERT_EQ(nested_errno, EPERM);
}

static int64_t cycle_ids[2];
static int cycle_errno[2];

static void join_other(void *arg) {
    int me = (int)(intptr_t)arg;
    ASSERT_ERRNO(guv_join(cycle_ids[1 - me]), ECANCELED);
    cycle_errno[me] = errno;
}

/* Two green threads joining each other: guv_run reports EDEADLK (rather than
 * hanging) and leaves them suspended; killing them lets them unwind, and a
 * second guv_run then finishes. */
static void test_join_cycle_is_edeadlk(void) {
    cycle_ids[0] = guv_spawn(join_other, (void *)0);
    cycle_ids[1] = guv_spawn(join_other, (void *)1);
    ASSERT_ERRNO(guv_run(), EDEADLK);
    ASSERT_EQ(guv_count(), 2);
    ASSERT_EQ(guv_kill(cycle_ids[0]), 0);
    ASSERT_EQ(guv_kill(cycle_ids[1]), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(cycle_errno[0], ECANCELED);
    ASSERT_EQ(cycle_errno[1], ECANCELED);
}

static int64_t chain[3];

static void join_next(void *arg) {
    int me = (int)(intptr_t)arg;
    ASSERT_ERRNO(guv_join(chain[(me + 1) % 3]), ECANCELED);
}

/* Main joins a green thread that is part of a three-way join cycle: the wait
 * can never end, so main's guv_join fails with EDEADLK. */
static void test_main_join_into_cycle_is_edeadlk(void) {
    for (int i = 0; i < 3; i++) chain[i] = guv_spawn(join_next, (void *)(intptr_t)i);
    ASSERT_ERRNO(guv_join(chain[0]), EDEADLK);
    for (int i = 0; i < 3; i++) ASSERT_EQ(guv_kill(chain[i]), 0);
    ASSERT_EQ(guv_run(), 0);
}

static int chained_done;

static void sleep_a_little(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.02), 0);
    chained_done++;
}

static void join_arg(void *arg) {
    ASSERT_EQ(guv_join(*(int64_t *)arg), 0);
    chained_done++;
}

/* Main joins a, a joins b, b sleeps: a chain of joins that ends with a timer
 * is not a deadlock. */
static void test_join_chain_ending_in_timer_is_fine(void) {
    static int64_t b;
    chained_done = 0;
    b = guv_spawn(sleep_a_little, NULL);
    int64_t a = guv_spawn(join_arg, &b);
    ASSERT_EQ(guv_join(a), 0);
    ASSERT_EQ(chained_done, 2);
}

static int spinner_turns;

static void spinner(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) {
        spinner_turns++;
        ASSERT_EQ(guv_yield(), 0);
    }
}

/* A guv_run that ended in EDEADLK leaves the hub usable: fresh green
 * threads run normally afterwards. */
static void test_hub_usable_after_edeadlk(void) {
    cycle_ids[0] = guv_spawn(join_other, (void *)0);
    cycle_ids[1] = guv_spawn(join_other, (void *)1);
    ASSERT_ERRNO(guv_run(), EDEADLK);
    spinner_turns = 0;
    ASSERT(guv_spawn(spinner, NULL) >= 1);
    ASSERT_ERRNO(guv_run(), EDEADLK); /* the spinner ran; the cycle remains */
    ASSERT_EQ(spinner_turns, 5);
    ASSERT_EQ(guv_kill(cycle_ids[0]), 0);
    ASSERT_EQ(guv_kill(cycle_ids[1]), 0);
    ASSERT_EQ(guv_run(), 0);
}

static void trampoline_forever(void *arg) {
    ASSERT_ERRNO(guv_trampoline(*(int *)arg, GUV_READ), ECANCELED);
}

static void *abandon(void *arg) {
    int *sv = arg;
    /* Green threads suspended in every kind of wait, then the OS thread
     * returns without running them to the end: the hub must leak them, not
     * unwind them or free stacks that are still in use. */
    for (int i = 0; i < 50; i++) ASSERT(guv_spawn(test_sleep_forever, NULL) >= 1);
    cycle_ids[0] = guv_spawn(join_other, (void *)0);
    cycle_ids[1] = guv_spawn(join_other, (void *)1);
    ASSERT(guv_spawn(trampoline_forever, &sv[0]) >= 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_count(), 53);
    return NULL;
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    ASSERT(d != NULL);
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* An OS thread exits with 53 suspended green threads: no crash, the hub's
 * own fds (epoll, eventfd) are closed, and the process (and this thread's
 * hub) carries on. */
static void test_thread_exit_with_suspended_green_threads(void) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    test_on_thread(abandon, sv); /* warm-up */
    int fds = open_fds();
    for (int round = 0; round < 3; round++) test_on_thread(abandon, sv);
    ASSERT_EQ(open_fds(), fds);
    int n = 0;
    ASSERT(guv_spawn(test_count, &n) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 1);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    RUN(test_run_empty);
    RUN(test_run_waits_for_late_spawns);
    RUN(test_run_in_green_thread_is_eperm);
    RUN(test_join_cycle_is_edeadlk);
    RUN(test_main_join_into_cycle_is_edeadlk);
    RUN(test_join_chain_ending_in_timer_is_fine);
    RUN(test_hub_usable_after_edeadlk);
    RUN(test_thread_exit_with_suspended_green_threads);
    return 0;
}
