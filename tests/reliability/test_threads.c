/* Multi-threaded use: eight OS threads, each with its own hub, run green
 * threads at once (sleeps, socketpair ping-pong, offloaded calls); and four
 * producer threads hand 100k green threads to one hub with guv_hub_spawn,
 * killing some with guv_hub_kill while they sleep and waking others with
 * guv_hub_unpark while they park: each submission runs exactly once, each
 * kill and wake-up lands. Also built with -fsanitize=thread
 * (mk/reliability.mk). */
#include <stdatomic.h>
#include <sys/socket.h>

#include "rel.h"

/* ---- one hub per thread ---- */

enum { HUBS = 8, SLEEPERS = 20, PAIRS = 4, ROUNDS = 500, OFFLOADS = 4 };

struct hub_work {
    int sleeps_ok, pongs, offloads_ok;
    int sv[PAIRS][2];
};

static void sleeper(void *arg) {
    struct hub_work *w = arg;
    double d = 0.001 * (double)(1 + w->sleeps_ok % 10), t0 = guv_now();
    ASSERT_EQ(guv_sleep(d), 0);
    ASSERT(guv_now() - t0 >= d);
    w->sleeps_ok++;
}

static void pinger(void *arg) {
    int fd = *(int *)arg;
    char c = 0;
    for (int i = 0; i < ROUNDS; i++) {
        ASSERT_EQ(guv_write(fd, &c, 1), 1);
        ASSERT_EQ(guv_read(fd, &c, 1), 1);
        c++;
    }
    ASSERT_OK(guv_close(fd));
}

struct ponger_arg {
    int fd;
    int *pongs;
};

static void ponger(void *arg) {
    struct ponger_arg *p = arg;
    char c;
    while (guv_read(p->fd, &c, 1) == 1) {
        c++;
        ASSERT_EQ(guv_write(p->fd, &c, 1), 1);
        ++*p->pongs;
    }
    ASSERT_OK(guv_close(p->fd));
}

struct sum {
    long n, result;
};

static void sum_to(void *arg) {
    struct sum *s = arg;
    long r = 0;
    for (long i = 1; i <= s->n; i++) r += i;
    s->result = r;
}

static void offloader(void *arg) {
    struct hub_work *w = arg;
    struct sum s = {100000 + w->offloads_ok, 0};
    ASSERT_EQ(guv_offload(sum_to, &s), 0);
    ASSERT_EQ(s.result, s.n * (s.n + 1) / 2);
    w->offloads_ok++;
}

static void *one_hub(void *arg) {
    (void)arg;
    struct hub_work w;
    memset(&w, 0, sizeof w);
    struct ponger_arg pa[PAIRS];
    for (int p = 0; p < PAIRS; p++) {
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, w.sv[p]), 0);
        pa[p] = (struct ponger_arg){w.sv[p][1], &w.pongs};
        ASSERT(guv_spawn(pinger, &w.sv[p][0]) >= 1);
        ASSERT(guv_spawn(ponger, &pa[p]) >= 1);
    }
    for (int i = 0; i < SLEEPERS; i++) ASSERT(guv_spawn(sleeper, &w) >= 1);
    for (int i = 0; i < OFFLOADS; i++) ASSERT(guv_spawn(offloader, &w) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(w.sleeps_ok, SLEEPERS);
    ASSERT_EQ(w.pongs, PAIRS * ROUNDS);
    ASSERT_EQ(w.offloads_ok, OFFLOADS);
    ASSERT_EQ(guv_count(), 0);
    return NULL;
}

static void test_hub_per_thread(void) {
    pthread_t t[HUBS];
    for (int i = 0; i < HUBS; i++) ASSERT_EQ(pthread_create(&t[i], NULL, one_hub, NULL), 0);
    for (int i = 0; i < HUBS; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
}

/* ---- cross-thread submission into one hub ---- */

enum { PRODUCERS = 4, PER_PRODUCER = 25000, SLEEPER_EVERY = 250 };
#define SUBMISSIONS (PRODUCERS * PER_PRODUCER)
#define KILLS (SUBMISSIONS / SLEEPER_EVERY)

static unsigned char runs[SUBMISSIONS]; /* touched by the hub's thread only */
static int killed_sleepers, unparked;
static _Atomic int64_t sleeper_id[KILLS];
static _Atomic(guv_hub *) target;

static void submitted(void *arg) {
    intptr_t i = (intptr_t)arg;
    runs[i]++;
    if (i % SLEEPER_EVERY != 0) return;
    /* every other such one parks and is unparked, the others are killed */
    int park = (i / SLEEPER_EVERY) % 2;
    atomic_store(&sleeper_id[i / SLEEPER_EVERY], guv_current());
    errno = 0;
    int r = park ? guv_park(60) : guv_sleep(60);
    if (park) {
        if (r != 0) FAIL("a green thread unparked from another thread: %d (%s)", r, test_errno_name(errno));
        unparked++;
    } else {
        if (r != -1 || errno != ECANCELED) FAIL("a sleeper killed from another thread: %d (%s)", r, test_errno_name(errno));
        killed_sleepers++;
    }
}

static void *hub_thread(void *arg) {
    (void)arg;
    guv_hub *h = guv_hub_self();
    ASSERT(h != NULL);
    ASSERT_EQ(guv_hub_hold(h), 0); /* released by the test once producers are done */
    atomic_store(&target, h);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_count(), 0);
    return NULL;
}

static void *producer(void *arg) {
    intptr_t p = (intptr_t)arg;
    guv_hub *h = atomic_load(&target);
    for (intptr_t k = 0; k < PER_PRODUCER; k++) {
        intptr_t i = k * PRODUCERS + p; /* producers interleave their indices */
        ASSERT_EQ(guv_hub_spawn(h, submitted, (void *)i), 0);
        /* kill or unpark that sleeper once it has told its id */
        if (i % SLEEPER_EVERY == 0) {
            int64_t id;
            while ((id = atomic_load(&sleeper_id[i / SLEEPER_EVERY])) == 0) sched_yield();
            if ((i / SLEEPER_EVERY) % 2) ASSERT_EQ(guv_hub_unpark(h, id), 0);
            else ASSERT_EQ(guv_hub_kill(h, id), 0);
        }
    }
    return NULL;
}

static void test_cross_thread_submissions(void) {
    pthread_t hub, prod[PRODUCERS];
    ASSERT_EQ(pthread_create(&hub, NULL, hub_thread, NULL), 0);
    while (atomic_load(&target) == NULL) sched_yield();
    guv_hub *h = atomic_load(&target);
    double t0 = guv_now();
    for (intptr_t p = 0; p < PRODUCERS; p++) ASSERT_EQ(pthread_create(&prod[p], NULL, producer, (void *)p), 0);
    for (int p = 0; p < PRODUCERS; p++) ASSERT_EQ(pthread_join(prod[p], NULL), 0);
    ASSERT_EQ(guv_hub_unhold(h), 0);
    ASSERT_EQ(pthread_join(hub, NULL), 0);
    double secs = guv_now() - t0;
    for (int i = 0; i < SUBMISSIONS; i++)
        if (runs[i] != 1) FAIL("submission %d ran %d times", i, runs[i]);
    ASSERT_EQ(killed_sleepers, KILLS / 2);
    ASSERT_EQ(unparked, KILLS / 2);
    /* the sleepers slept 60 s unless killed */
    ASSERT(secs < 30);
    /* the hub's thread is gone: submissions are refused */
    ASSERT_ERRNO(guv_hub_spawn(h, test_noop, NULL), ESRCH);
    ASSERT_ERRNO(guv_hub_kill(h, 1), ESRCH);
    guv_hub_release(h);
    printf("   %d submissions from %d threads (%d killed while sleeping, %d unparked) in %.2f s\n", SUBMISSIONS, PRODUCERS,
           KILLS / 2, KILLS / 2, secs);
}

int main(void) {
    RUN(test_hub_per_thread);
    RUN(test_cross_thread_submissions);
    return 0;
}
