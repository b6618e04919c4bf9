/* guv_hub_*: handing work to a hub from other OS threads. */
#include <stdatomic.h>

#include "test.h"

static pthread_t hub_thread;
static atomic_int ran;
static _Atomic int64_t ran_as;
/* The green thread that brings `ran` to `ran_goal` drops the hub's hold, so
 * guv_run returns when every submission has run, however they interleave. */
static guv_hub *goal_hub;
static int ran_goal;

static void on_hub_thread(void *arg) {
    (void)arg;
    ASSERT(pthread_equal(pthread_self(), hub_thread));
    ran_as = guv_current();
    ASSERT(guv_current() >= 1);
    if (++ran == ran_goal) ASSERT_EQ(guv_hub_unhold(goal_hub), 0);
}

static guv_hub *expect_runs(int goal) {
    hub_thread = pthread_self();
    ran = 0;
    ran_goal = goal;
    goal_hub = guv_hub_self();
    ASSERT(goal_hub != NULL);
    ASSERT_EQ(guv_hub_hold(goal_hub), 0);
    return goal_hub;
}

struct remote {
    guv_hub *hub;
    int spawns;
    double delay;
};

static void *submitter(void *arg) {
    struct remote *r = arg;
    usleep((useconds_t)(r->delay * 1e6));
    for (int i = 0; i < r->spawns; i++) ASSERT_EQ(guv_hub_spawn(r->hub, on_hub_thread, NULL), 0);
    return NULL;
}

/* A held hub's guv_run waits for submissions; green threads submitted from
 * another OS thread run on the hub's thread with an id of their own; the
 * unhold lets guv_run return. */
static void test_spawn_from_other_thread(void) {
    guv_hub *hub = expect_runs(1);
    struct remote r = {hub, 1, 0.05};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, submitter, &r), 0);
    double t0 = guv_now();
    ASSERT_EQ(guv_run(), 0);
    ASSERT(guv_now() - t0 >= 0.04); /* it waited for the submission */
    ASSERT_EQ(ran, 1);
    ASSERT(ran_as >= 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    guv_hub_release(hub);
}

/* Four threads submit 250 green threads each, concurrently. */
static void test_concurrent_submitters(void) {
    guv_hub *hub = expect_runs(1000);
    ASSERT_EQ(guv_hub_hold(hub), 0); /* holds nest */
    ASSERT_EQ(guv_hub_unhold(hub), 0);
    struct remote r = {hub, 250, 0};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_create(&t[i], NULL, submitter, &r), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ran, 1000);
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
    guv_hub_release(hub);
}

struct killer {
    guv_hub *hub;
    int64_t id;
};

static void *kill_from_afar(void *arg) {
    struct killer *k = arg;
    usleep(20 * 1000);
    ASSERT_EQ(guv_hub_kill(k->hub, k->id), 0);
    return NULL;
}

/* guv_hub_kill from another thread wakes a sleeper on the hub with ECANCELED. */
static void test_kill_from_other_thread(void) {
    guv_hub *hub = guv_hub_self();
    struct killer k = {hub, guv_spawn(test_sleep_forever, NULL)};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, kill_from_afar, &k), 0);
    double t0 = guv_now();
    ASSERT_EQ(guv_run(), 0);
    ASSERT(guv_now() - t0 < 2.0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    /* The id has ended: killing it again, from afar, is fine. */
    ASSERT_EQ(guv_hub_kill(hub, k.id), 0);
    guv_hub_release(hub);
}

static void *exit_with_hub(void *arg) {
    *(guv_hub **)arg = guv_hub_self();
    ASSERT(*(guv_hub **)arg != NULL);
    return NULL;
}

/* A hub whose thread has exited refuses submissions with ESRCH; holding a
 * reference keeps the handle itself valid. */
static void test_dead_hub_is_esrch(void) {
    guv_hub *dead = NULL;
    test_on_thread(exit_with_hub, &dead);
    ASSERT_ERRNO(guv_hub_spawn(dead, test_noop, NULL), ESRCH);
    guv_hub *mine = guv_hub_self();
    int64_t id = guv_spawn(test_noop, NULL);
    ASSERT_ERRNO(guv_hub_kill(dead, id), ESRCH); /* not of that hub */
    ASSERT_EQ(guv_run(), 0);
    guv_hub_release(dead);
    guv_hub_release(mine);
}

/* Argument errors: NULL hub or function, ids of another hub, more unholds
 * than holds. guv_hub_release(NULL) is ignored. */
static void test_bad_arguments(void) {
    guv_hub *hub = guv_hub_self();
    ASSERT_ERRNO(guv_hub_spawn(NULL, test_noop, NULL), EINVAL);
    ASSERT_ERRNO(guv_hub_spawn(hub, NULL, NULL), EINVAL);
    ASSERT_ERRNO(guv_hub_kill(NULL, 1), EINVAL);
    ASSERT_ERRNO(guv_hub_kill(hub, 0), ESRCH);
    ASSERT_ERRNO(guv_hub_kill(hub, -1), ESRCH);
    ASSERT_ERRNO(guv_hub_hold(NULL), EINVAL);
    ASSERT_ERRNO(guv_hub_unhold(NULL), EINVAL);
    ASSERT_ERRNO(guv_hub_unhold(hub), EINVAL);
    ASSERT_EQ(guv_hub_hold(hub), 0);
    ASSERT_EQ(guv_hub_unhold(hub), 0);
    ASSERT_ERRNO(guv_hub_unhold(hub), EINVAL);
    guv_hub_release(NULL);
    guv_hub_release(hub);
}

/* Two references to one hub are both valid, and each is released once. */
static void test_references(void) {
    guv_hub *a = guv_hub_self(), *b = guv_hub_self();
    ASSERT(a != NULL && b != NULL);
    guv_hub_release(a);
    guv_hub *hub = expect_runs(1);
    ASSERT_EQ(guv_hub_spawn(b, on_hub_thread, NULL), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ran, 1);
    guv_hub_release(b);
    guv_hub_release(hub);
}

struct peer {
    guv_hub *main_hub;
    int64_t main_id;
    guv_hub *own;
    atomic_int stop;
};

static void *peer_thread(void *arg) {
    struct peer *p = arg;
    p->own = guv_hub_self();
    /* This thread runs a hub of its own while poking the main one. */
    int local = 0;
    for (int i = 0; i < 200; i++) {
        ASSERT(guv_spawn(test_count, &local) >= 1);
        ASSERT_EQ(guv_hub_spawn(p->main_hub, on_hub_thread, NULL), 0);
        ASSERT_ERRNO(guv_join(p->main_id), ESRCH); /* main's id is not of this hub */
        ASSERT_ERRNO(guv_kill(p->main_id), ESRCH);
        ASSERT_EQ(guv_yield(), 0);
    }
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(local, 200);
    guv_hub_release(p->own);
    return NULL;
}

/* Three OS threads each run their own hub and submit to main's at once. */
static void test_hubs_on_many_threads(void) {
    guv_hub *hub = expect_runs(600);
    int64_t sleeper = guv_spawn(test_sleep_forever, NULL);
    struct peer p[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        p[i] = (struct peer){.main_hub = hub, .main_id = sleeper};
        ASSERT_EQ(pthread_create(&t[i], NULL, peer_thread, &p[i]), 0);
    }
    ASSERT_EQ(guv_sleep(0.05), 0);
    ASSERT_EQ(guv_kill(sleeper), 0);
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < 3; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_EQ(ran, 600);
    guv_hub_release(hub);
}

/* A submission already in the inbox when guv_run starts is run, not
 * skipped because no green thread is alive yet. */
static void test_run_runs_pending_submission(void) {
    int n = 0;
    guv_hub *hub = guv_hub_self();
    ASSERT_EQ(guv_hub_spawn(hub, test_count, &n), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 1);
    guv_hub_release(hub);
}

static void *spawn_then_unhold(void *arg) {
    struct remote *r = arg;
    ASSERT_EQ(guv_hub_spawn(r->hub, test_count, &r->spawns), 0);
    ASSERT_EQ(guv_hub_unhold(r->hub), 0);
    return NULL;
}

/* A submitter that spawns and then drops its hold at once: whenever guv_run
 * looks, the submission is run before guv_run returns. */
static void test_spawn_then_unhold_is_never_lost(void) {
    guv_hub *hub = guv_hub_self();
    struct remote r = {hub, 0, 0};
    for (int i = 1; i <= 200; i++) {
        ASSERT_EQ(guv_hub_hold(hub), 0);
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, spawn_then_unhold, &r), 0);
        if (i % 2) ASSERT_EQ(pthread_join(t, NULL), 0); /* both done before guv_run */
        ASSERT_EQ(guv_run(), 0);
        if (i % 2 == 0) ASSERT_EQ(pthread_join(t, NULL), 0);
        ASSERT_EQ(r.spawns, i);
    }
    guv_hub_release(hub);
}

int main(void) {
    RUN(test_spawn_from_other_thread);
    RUN(test_concurrent_submitters);
    RUN(test_kill_from_other_thread);
    RUN(test_dead_hub_is_esrch);
    RUN(test_bad_arguments);
    RUN(test_references);
    RUN(test_hubs_on_many_threads);
    RUN(test_run_runs_pending_submission);
    RUN(test_spawn_then_unhold_is_never_lost);
    return 0;
}
