/* guv_offload: calls that can never be cooperative run on guv's thread
 * pool, suspending only their caller; the hub stays responsive. */
#include "io.h"

static pthread_t hub_thread;
static int ran_elsewhere;

static void nap(void *arg) {
    (void)arg;
    usleep(50 * 1000);
    if (!pthread_equal(pthread_self(), hub_thread)) __atomic_add_fetch(&ran_elsewhere, 1, __ATOMIC_RELAXED);
}

static int done;
static double max_gap;

static void offloader(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_offload(nap, NULL), 0);
    done++;
}

/* A ticker that records the longest pause between its ticks. */
static void ticker(void *arg) {
    (void)arg;
    double last = guv_now();
    while (done < 100) {
        ASSERT_EQ(guv_sleep(0.01), 0);
        double now = guv_now();
        if (now - last > max_gap) max_gap = now - last;
        last = now;
    }
}

/* 100 green threads each offload a 50 ms usleep at once: all finish in well
 * under the 5 s they would take one after another, each ran off the hub's
 * thread, and a ticker green thread never paused long. */
static void test_hundred_offloads(void) {
    hub_thread = pthread_self();
    done = ran_elsewhere = 0;
    max_gap = 0;
    double t0 = guv_now();
    for (int i = 0; i < 100; i++) ASSERT(guv_spawn(offloader, NULL) >= 1);
    ASSERT(guv_spawn(ticker, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    double took = guv_now() - t0;
    ASSERT_EQ(done, 100);
    ASSERT_EQ(ran_elsewhere, 100);
    ASSERT(took < 2.5);
    ASSERT(max_gap < 0.25);
    printf("   100 offloads of 50 ms: %.2f s; longest pause of the ticker %.0f ms\n", took, max_gap * 1e3);
}

struct sum {
    long n, result;
};

static void add_up(void *arg) {
    struct sum *s = arg;
    s->result = 0;
    for (long i = 1; i <= s->n; i++) s->result += i;
}

/* The function's results are visible to the caller when guv_offload returns,
 * also from main. */
static void test_result_visible(void) {
    struct sum s = {1000, 0};
    ASSERT_EQ(guv_offload(add_up, &s), 0);
    ASSERT_EQ(s.result, 500500);
    ASSERT_ERRNO(guv_offload(NULL, NULL), EINVAL);
}

static int64_t victim;
static int after_kill;

static void offload_then_block(void *arg) {
    (void)arg;
    /* The offloaded call is not interrupted: it completes. */
    ASSERT_EQ(guv_offload(nap, NULL), 0);
    ASSERT_ERRNO(guv_sleep(0.01), ECANCELED);
    after_kill = 1;
}

/* A kill during an offload takes effect at the next blocking call. */
static void test_kill_during_offload(void) {
    after_kill = 0;
    victim = guv_spawn(offload_then_block, NULL);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_kill(victim), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(after_kill, 1);
}

int main(void) {
    RUN(test_hundred_offloads);
    RUN(test_result_visible);
    RUN(test_kill_during_offload);
    return 0;
}
