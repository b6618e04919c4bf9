/* guv_join: waiting for a green thread's end, from main and from green threads. */
#include "test.h"

static int done;

static void sleep_then_mark(void *arg) {
    ASSERT_EQ(guv_sleep(*(double *)arg), 0);
    done++;
}

/* Main joining runs the hub until the target has ended, without guv_run. */
static void test_main_join_runs_hub(void) {
    static double d = 0.03;
    done = 0;
    int64_t id = guv_spawn(sleep_then_mark, &d);
    double t0 = guv_now();
    ASSERT_EQ(guv_join(id), 0);
    ASSERT_EQ(done, 1);
    ASSERT(guv_now() - t0 >= 0.03);
    ASSERT_EQ(guv_count(), 0);
}

/* Joining a green thread that has already ended returns 0 at once, again and again. */
static void test_join_ended_is_zero(void) {
    int64_t id = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < 3; i++) ASSERT_EQ(guv_join(id), 0);
}

/* Joining a green thread that never ran to its first instruction waits for it. */
static void test_join_not_yet_started(void) {
    int n = 0;
    int64_t id = guv_spawn(test_count, &n);
    ASSERT_EQ(guv_join(id), 0);
    ASSERT_EQ(n, 1);
}

static int64_t target;
static int joiners_back;

static void join_target(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_join(target), 0);
    ASSERT_EQ(done, 1); /* the target really ended first */
    joiners_back++;
}

/* Several green threads joining one target all wake when it ends. */
static void test_many_joiners(void) {
    static double d = 0.02;
    done = 0;
    joiners_back = 0;
    target = guv_spawn(sleep_then_mark, &d);
    for (int i = 0; i < 10; i++) ASSERT(guv_spawn(join_target, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(joiners_back, 10);
}

static void join_self(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_join(guv_current()), EDEADLK);
    done++;
}

/* A green thread joining itself fails with EDEADLK (and does not hang). */
static void test_join_self_is_edeadlk(void) {
    done = 0;
    ASSERT(guv_spawn(join_self, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(done, 1);
}

/* Ids never issued by this hub are ESRCH: 0 (main), negatives, and ids just
 * past the last one issued. */
static void test_join_never_issued_is_esrch(void) {
    int64_t last = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_ERRNO(guv_join(0), ESRCH);
    ASSERT_ERRNO(guv_join(-1), ESRCH);
    ASSERT_ERRNO(guv_join(INT64_MIN), ESRCH);
    ASSERT_ERRNO(guv_join(INT64_MAX), ESRCH);
    ASSERT_ERRNO(guv_join(last + 1), ESRCH);
    ASSERT_ERRNO(guv_join(last + 1000), ESRCH);
}

static void *spawn_on_own_hub(void *arg) {
    int64_t *id = arg;
    *id = guv_spawn(test_noop, NULL);
    ASSERT(*id >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_join(*id), 0); /* on its own hub it is "ended" */
    return NULL;
}

/* An id of another OS thread's hub is ESRCH here, even though it was issued. */
static void test_join_other_hubs_id_is_esrch(void) {
    int64_t theirs = 0;
    test_on_thread(spawn_on_own_hub, &theirs);
    ASSERT_ERRNO(guv_join(theirs), ESRCH);
}

static int64_t chain[4];

static void join_previous(void *arg) {
    int me = (int)(intptr_t)arg;
    ASSERT_EQ(guv_join(chain[me - 1]), 0);
    ASSERT_EQ(done, me);
    done++;
}

/* A chain of joins unwinds in order: each ends after the one it joins. */
static void test_join_chain(void) {
    static double d = 0.01;
    done = 0;
    chain[0] = guv_spawn(sleep_then_mark, &d);
    for (int i = 1; i < 4; i++) chain[i] = guv_spawn(join_previous, (void *)(intptr_t)i);
    ASSERT_EQ(guv_join(chain[3]), 0);
    ASSERT_EQ(done, 4);
}

int main(void) {
    RUN(test_main_join_runs_hub);
    RUN(test_join_ended_is_zero);
    RUN(test_join_not_yet_started);
    RUN(test_many_joiners);
    RUN(test_join_self_is_edeadlk);
    RUN(test_join_never_issued_is_esrch);
    RUN(test_join_other_hubs_id_is_esrch);
    RUN(test_join_chain);
    return 0;
}
