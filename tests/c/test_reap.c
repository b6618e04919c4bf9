/* guv_reap: kill a green thread and wait out its end, whatever happens to the caller. */
#include "test.h"

static int child_done;

/* Sleeps until killed, then sleeps again (which fails at once) and notes its end. */
static void child(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_sleep(10), ECANCELED);
    ASSERT_ERRNO(guv_sleep(0.01), ECANCELED);
    child_done++;
}

/* Needs a few turns to unwind after its kill: a slow cleanup. */
static void slow_child(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_sleep(10), ECANCELED);
    for (int i = 0; i < 5; i++) ASSERT_ERRNO(guv_yield(), ECANCELED);
    child_done++;
}

static int64_t parent_child;
static int parent_back;

/* A parent that is killed itself, then reaps its child: the reap still waits. */
static void killed_parent(void *arg) {
    (void)arg;
    parent_child = guv_spawn(slow_child, NULL);
    ASSERT(parent_child >= 1);
    ASSERT_ERRNO(guv_sleep(10), ECANCELED);
    ASSERT_ERRNO(guv_join(parent_child), ECANCELED); /* the plain join gives up at once */
    ASSERT_EQ(child_done, 0);
    ASSERT_EQ(guv_reap(parent_child), 0);
    ASSERT_EQ(child_done, 1); /* the child really ended first */
    parent_back++;
}

/* From main: the child is killed and has ended when guv_reap returns. */
static void test_reap_from_main(void) {
    child_done = 0;
    int64_t id = guv_spawn(child, NULL);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_reap(id), 0);
    ASSERT_EQ(child_done, 1);
}

/* A killed caller can still wait for its child's end with guv_reap. */
static void test_reap_by_killed_parent(void) {
    child_done = 0;
    parent_back = 0;
    int64_t parent = guv_spawn(killed_parent, NULL);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_kill(parent), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(parent_back, 1);
}

static void deadline_parent(void *arg) {
    (void)arg;
    int64_t c = guv_spawn(slow_child, NULL);
    ASSERT_EQ(guv_timeout_begin(0.01), 0);
    ASSERT_ERRNO(guv_sleep(10), ETIMEDOUT);
    ASSERT_EQ(guv_reap(c), 0);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_EQ(child_done, 1);
    parent_back++;
}

/* A passed deadline does not end the reap either. */
static void test_reap_past_deadline(void) {
    child_done = 0;
    parent_back = 0;
    ASSERT(guv_spawn(deadline_parent, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(parent_back, 1);
}

static int64_t reaper;

static void reap_then_note(void *arg) {
    ASSERT_EQ(guv_reap(*(int64_t *)arg), 0);
    ASSERT_EQ(child_done, 1);
    parent_back++;
}

static void kill_reaper(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_kill(reaper), 0);
    ASSERT_EQ(guv_interrupt(reaper), 0);
}

/* A kill or an interrupt arriving while the reap waits does not end it. */
static void test_reap_survives_kill_and_interrupt(void) {
    child_done = 0;
    parent_back = 0;
    static int64_t c;
    c = guv_spawn(slow_child, NULL);
    reaper = guv_spawn(reap_then_note, &c);
    ASSERT(guv_spawn(kill_reaper, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(parent_back, 1);
}

static void reap_self(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_reap(guv_current()), EDEADLK);
    parent_back++;
}

/* Reaping an ended id returns 0; never-issued ids are ESRCH; oneself EDEADLK. */
static void test_reap_errors(void) {
    int64_t id = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_reap(id), 0);
    ASSERT_ERRNO(guv_reap(-1), ESRCH);
    ASSERT_ERRNO(guv_reap(0), ESRCH);
    parent_back = 0;
    ASSERT(guv_spawn(reap_self, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(parent_back, 1);
}

int main(void) {
    RUN(test_reap_from_main);
    RUN(test_reap_by_killed_parent);
    RUN(test_reap_past_deadline);
    RUN(test_reap_survives_kill_and_interrupt);
    RUN(test_reap_errors);
    return 0;
}
