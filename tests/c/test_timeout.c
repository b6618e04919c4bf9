/* guv_timeout_begin/end: nested deadlines over every blocking call. */
#include <math.h>
#include <sys/socket.h>

#include "test.h"

static double took;

/* A deadline cuts a longer sleep short with ETIMEDOUT, at the deadline. */
static void deadline_cuts_sleep(void *arg) {
    (void)arg;
    double t0 = guv_now();
    ASSERT_EQ(guv_timeout_begin(0.05), 0);
    ASSERT_ERRNO(guv_sleep(10), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
    took = guv_now() - t0;
    ASSERT(took >= 0.05 && took < 1.0);
    /* Once the deadline is closed, sleeping works again. */
    ASSERT_EQ(guv_sleep(0.001), 0);
}

static void test_deadline_cuts_sleep(void) {
    ASSERT(guv_spawn(deadline_cuts_sleep, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    deadline_cuts_sleep(NULL); /* main is a green thread too */
}

/* A sleep that ends before the deadline succeeds. */
static void test_sleep_within_deadline(void) {
    ASSERT_EQ(guv_timeout_begin(1.0), 0);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_timeout_end(), 0);
}

/* Nested: the earliest open deadline wins, whichever is inner; closing the
 * inner one restores the outer one. */
static void nested(void *arg) {
    (void)arg;
    double t0 = guv_now();
    ASSERT_EQ(guv_timeout_begin(5.0), 0);
    ASSERT_EQ(guv_timeout_begin(0.03), 0);
    ASSERT_ERRNO(guv_sleep(10), ETIMEDOUT);
    ASSERT(guv_now() - t0 < 1.0);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_EQ(guv_sleep(0.01), 0); /* the outer 5 s has not passed */
    ASSERT_EQ(guv_timeout_end(), 0);

    t0 = guv_now();
    ASSERT_EQ(guv_timeout_begin(0.03), 0);
    ASSERT_EQ(guv_timeout_begin(5.0), 0); /* a later inner deadline does not extend the outer */
    ASSERT_ERRNO(guv_sleep(10), ETIMEDOUT);
    ASSERT(guv_now() - t0 < 1.0);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_ERRNO(guv_sleep(0.001), ETIMEDOUT); /* the outer one has passed too */
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_EQ(guv_sleep(0.001), 0);
}

static void test_nested_deadlines(void) {
    ASSERT(guv_spawn(nested, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
}

/* Deadlines apply to trampoline and join as well. */
static void deadline_on_fd_and_join(void *arg) {
    int fd = *(int *)arg;
    ASSERT_EQ(guv_timeout_begin(0.03), 0);
    ASSERT_ERRNO(guv_trampoline(fd, GUV_READ), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
    int64_t sleeper = guv_spawn(test_sleep_forever, NULL);
    ASSERT_EQ(guv_timeout_begin(0.03), 0);
    ASSERT_ERRNO(guv_join(sleeper), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_EQ(guv_kill(sleeper), 0);
    ASSERT_EQ(guv_join(sleeper), 0);
}

static void test_deadline_on_fd_and_join(void) {
    static int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT(guv_spawn(deadline_on_fd_and_join, &sv[0]) >= 1);
    ASSERT_EQ(guv_run(), 0);
    deadline_on_fd_and_join(&sv[0]);
    close(sv[0]);
    close(sv[1]);
}

static int others_done;

static void sleep_briefly(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.05), 0);
    others_done++;
}

static void short_deadline(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_timeout_begin(0.01), 0);
    ASSERT_ERRNO(guv_sleep(1), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
}

/* A deadline is the green thread's own: others sleep on undisturbed. */
static void test_deadline_is_per_green_thread(void) {
    others_done = 0;
    for (int i = 0; i < 3; i++) ASSERT(guv_spawn(sleep_briefly, NULL) >= 1);
    ASSERT(guv_spawn(short_deadline, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(others_done, 3);
}

/* A deadline in the past (0 or negative seconds) fails the next blocking
 * call at once; +inf opens no limit; NaN is refused. */
static void test_odd_deadlines(void) {
    ASSERT_EQ(guv_timeout_begin(0), 0);
    ASSERT_ERRNO(guv_sleep(0.01), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_EQ(guv_timeout_begin(-1), 0);
    ASSERT_ERRNO(guv_sleep(0.01), ETIMEDOUT);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_EQ(guv_timeout_begin(INFINITY), 0);
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_ERRNO(guv_timeout_begin(NAN), EINVAL);
    ASSERT_ERRNO(guv_timeout_end(), EPERM); /* the NaN opened nothing */
}

/* Ending more deadlines than were begun is EPERM, in main and green threads. */
static void end_too_many(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_timeout_end(), EPERM);
    ASSERT_EQ(guv_timeout_begin(1), 0);
    ASSERT_EQ(guv_timeout_end(), 0);
    ASSERT_ERRNO(guv_timeout_end(), EPERM);
}

static void test_end_more_than_begun_is_eperm(void) {
    end_too_many(NULL);
    ASSERT(guv_spawn(end_too_many, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
}

static void leave_open(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_timeout_begin(0.001), 0);
}

static void fresh_slot(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_timeout_end(), EPERM);
    ASSERT_EQ(guv_sleep(0.01), 0);
}

/* A green thread that ends with a deadline open leaves nothing behind for
 * the green thread that reuses its slot. */
static void test_open_deadline_dies_with_its_thread(void) {
    ASSERT(guv_spawn(leave_open, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < 4; i++) ASSERT(guv_spawn(fresh_slot, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
}

/* A kill beats a deadline: a killed green thread under a deadline gets ECANCELED. */
static void killed_under_deadline(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_timeout_begin(5), 0);
    ASSERT_ERRNO(guv_sleep(10), ECANCELED);
    ASSERT_EQ(guv_timeout_end(), 0);
}

static void test_kill_under_deadline(void) {
    int64_t id = guv_spawn(killed_under_deadline, NULL);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_kill(id), 0);
    ASSERT_EQ(guv_run(), 0);
}

int main(void) {
    RUN(test_deadline_cuts_sleep);
    RUN(test_sleep_within_deadline);
    RUN(test_nested_deadlines);
    RUN(test_deadline_on_fd_and_join);
    RUN(test_deadline_is_per_green_thread);
    RUN(test_odd_deadlines);
    RUN(test_end_more_than_begun_is_eperm);
    RUN(test_open_deadline_dies_with_its_thread);
    RUN(test_kill_under_deadline);
    return 0;
}
