/* A burst of offloads made while the pool has one idle thread starts more
 * pool threads (up to GUV_OFFLOAD_THREADS, default 8), so 8 offloaded calls
 * run at once. A core bug the C++ binding's tests found (fixed in
 * src/offload.rs): a thread woken with notify_one still counted as idle until
 * it took the lock, so the burst started no thread and its calls ran one
 * after another, in about half the rounds. */
#include <sys/wait.h>

#include "test.h"

#define BURST 8
#define ROUNDS 30

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_in = PTHREAD_COND_INITIALIZER;
static int running;

/* On a pool thread: waits (5 s at most) until all BURST calls run at once.
 * Calls run one after another never get there. */
static void meet_the_others(void *arg) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&lock);
    if (++running == BURST) pthread_cond_broadcast(&all_in);
    while (running < BURST && pthread_cond_timedwait(&all_in, &lock, &until) == 0) {}
    *(int *)arg = running >= BURST;
    pthread_mutex_unlock(&lock);
}

static void offloader(void *arg) { ASSERT_OK(guv_offload(meet_the_others, arg)); }

/* One round, in a child whose pool starts empty: exits 1 if the calls did
 * not all run at once. */
static void round_in_child(void) {
    static int met[BURST];
    ASSERT_OK(guv_offload(test_noop, NULL)); /* now the pool has one thread, idle */
    for (int i = 0; i < BURST; i++) ASSERT_OK(guv_spawn(offloader, &met[i]));
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < BURST; i++)
        if (!met[i]) FAIL("offloaded call %d never ran beside the other %d", i, BURST - 1);
    _exit(0);
}

static void test_burst_runs_at_once(void) {
    for (int i = 0; i < ROUNDS; i++) {
        fflush(stdout);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) round_in_child();
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) FAIL("round %d of %d failed", i + 1, ROUNDS);
    }
}

int main(void) {
    RUN(test_burst_runs_at_once);
    return 0;
}
