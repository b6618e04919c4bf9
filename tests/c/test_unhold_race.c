/* Regression test for a core bug the C++ binding's tests found (fixed in
 * src/hub.rs): guv_run() on a held hub must return 0 once the last hold is
 * dropped from another thread and no green thread is left. It failed with
 * EDEADLK in 7 to 9 rounds of 5000: Hub::turn read the hold count twice, and
 * an unhold landing between the reads skipped the "done" branch, then found
 * no timer, fd, offload or hold. Expected: "0 of N rounds failed".
 *
 * Main's waits spin briefly (so that the unhold still lands right after the
 * green thread ran, where the bug was), then yield the CPU, and the rounds
 * stop after BUDGET_S seconds: a bare spin on a loaded 2-core machine kept
 * the worker off the CPU, rounds took 10-18 ms instead of <1, and 5000
 * rounds outran make's 60 s timeout (48-88 s at load 9-12), which looked
 * like a hang (main spinning on `ran`, the worker in epoll_wait). A real
 * lost wake-up is told apart from that: a round stuck in one phase for
 * STUCK_S seconds fails loudly (SIGALRM), naming the phase.
 *
 * Under memcheck (make test-reliability) it also checks that main's
 * guv_hub_unhold, on the worker's handle, is done with the handle before
 * the worker's guv_hub_release frees it: the unhold's wake-up read freed
 * memory in 3 runs of 3 before each call took a reference of its own. */
#include <guv.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20000
#define BUDGET_S 20.0
#define STUCK_S 10
/* Busy polls before a wait starts yielding: some tens of microseconds. */
#define SPINS 20000

static _Atomic(guv_hub *) hub;
static atomic_int ran;
static volatile sig_atomic_t round_no, phase;
static const char *const phases[] = {
    "waiting for the worker's hub",
    "waiting for the submitted green thread to run (lost wake-up of guv_hub_spawn?)",
    "joining the worker (guv_run did not return after the last unhold: lost wake-up of guv_hub_unhold?)",
};

static void stuck(int sig) {
    (void)sig;
    char msg[256];
    int n = snprintf(msg, sizeof msg, "unhold_race: FAIL: round %d stuck for %d s %s\n", (int)round_no, STUCK_S,
                     phases[phase]);
    if (write(2, msg, (size_t)n) < 0) {
    }
    _exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One poll of a wait: busy for the first SPINS, then gives the CPU away. */
static void spin(int *n) {
    if (++*n > SPINS) {
        sched_yield();
    }
}

static void count(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void *worker(void *arg) {
    guv_hub *h = guv_hub_self();
    guv_hub_hold(h);
    atomic_store(&hub, h);
    *(int *)arg = guv_run() == 0 ? 0 : errno;
    guv_hub_release(h);
    return NULL;
}

int main(void) {
    signal(SIGALRM, stuck);
    int failures = 0, rounds = 0;
    double end = now() + BUDGET_S;
    for (int i = 0; i < ROUNDS && now() < end; i++, rounds++) {
        round_no = i;
        alarm(STUCK_S);
        int err = -1;
        pthread_t t;
        atomic_store(&hub, NULL);
        atomic_store(&ran, 0);
        pthread_create(&t, NULL, worker, &err);
        guv_hub *h;
        int n = 0;
        phase = 0;
        while (!(h = atomic_load(&hub))) {
            spin(&n);
        }
        guv_hub_spawn(h, count, NULL);
        phase = 1;
        n = 0;
        while (atomic_load(&ran) == 0) {
            spin(&n);
        }
        phase = 2;
        guv_hub_unhold(h); /* the only hold: run() should now return 0 */
        pthread_join(t, NULL);
        if (err) {
            failures++;
            printf("round %d: guv_run failed with %s; its only green thread had ended\n", i, strerror(err));
        }
    }
    alarm(0);
    printf("unhold_race: %d of %d rounds failed\n", failures, rounds);
    return failures != 0 || rounds == 0;
}
