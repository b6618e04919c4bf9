/* guv_park / guv_unpark / guv_hub_unpark, guv_interrupt, guv_stack_bounds. */
#include <sys/socket.h>

#include "test.h"

static int64_t parked_id;
static int woken;

static void parker(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_park(-1), 0);
    woken++;
}

static void unparker(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.02));
    ASSERT_EQ(woken, 0); /* still parked: nothing else wakes it */
    ASSERT_OK(guv_unpark(parked_id));
}

/* A parked green thread sleeps until unparked, then returns 0. */
static void test_unpark_wakes_parked(void) {
    woken = 0;
    parked_id = guv_spawn(parker, NULL);
    ASSERT(parked_id >= 1);
    ASSERT(guv_spawn(unparker, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(woken, 1);
}

/* An unpark before the park is kept (once): the next park returns at once,
 * the one after waits again (here: times out). */
static void permit_user(void *arg) {
    (void)arg;
    ASSERT_OK(guv_unpark(guv_current()));
    ASSERT_OK(guv_unpark(guv_current())); /* not counted: still one permit */
    ASSERT_EQ(guv_park(-1), 0);
    double t0 = guv_now();
    ASSERT_ERRNO(guv_park(0.05), ETIMEDOUT);
    ASSERT(guv_now() - t0 >= 0.05);
}

static void test_permit_is_kept_once(void) {
    ASSERT(guv_spawn(permit_user, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
}

/* Main can park too, and is unparked by a green thread (id 0 names main). */
static void unpark_main(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.01));
    ASSERT_OK(guv_unpark(0));
}

static void test_main_parks(void) {
    ASSERT(guv_spawn(unpark_main, NULL) >= 1);
    ASSERT_EQ(guv_park(5), 0);
    ASSERT_EQ(guv_run(), 0);
}

/* A park nothing can end is a deadlock, reported rather than hung; a kill
 * ends a park with ECANCELED. */
static void parked_forever(void *arg) {
    ASSERT_ERRNO(guv_park(-1), ECANCELED);
    ++*(int *)arg;
}

static void test_park_deadlock_and_kill(void) {
    ASSERT_ERRNO(guv_park(-1), EDEADLK);
    int ended = 0;
    int64_t id = guv_spawn(parked_forever, &ended);
    ASSERT_ERRNO(guv_run(), EDEADLK);
    ASSERT_OK(guv_kill(id));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ended, 1);
}

/* Another OS thread unparks a green thread through guv_hub_unpark, while
 * guv_hub_hold keeps the hub waiting for it. */
static guv_hub *hub;

static void *remote_unparker(void *arg) {
    (void)arg;
    usleep(20000);
    ASSERT_OK(guv_hub_unpark(hub, parked_id));
    ASSERT_OK(guv_hub_unhold(hub));
    return NULL;
}

static void test_hub_unpark_from_thread(void) {
    woken = 0;
    hub = guv_hub_self();
    ASSERT(hub != NULL);
    parked_id = guv_spawn(parker, NULL);
    ASSERT_OK(guv_hub_hold(hub));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, remote_unparker, NULL), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(woken, 1);
    ASSERT_ERRNO(guv_hub_unpark(hub, 12345), ESRCH);
    ASSERT_ERRNO(guv_hub_unpark(NULL, parked_id), EINVAL);
    guv_hub_release(hub);
}

/* Another OS thread interrupts main's guv_sleep through guv_hub_interrupt. */
static void *remote_interrupter(void *arg) {
    (void)arg;
    usleep(20000);
    ASSERT_OK(guv_hub_interrupt(hub, 0));
    return NULL;
}

static void test_hub_interrupt_main(void) {
    hub = guv_hub_self();
    ASSERT(hub != NULL);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, remote_interrupter, NULL), 0);
    double t0 = guv_now();
    ASSERT_ERRNO(guv_sleep(10), EINTR);
    ASSERT(guv_now() - t0 < 5);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_ERRNO(guv_hub_interrupt(hub, 12345), ESRCH);
    ASSERT_ERRNO(guv_hub_kill(hub, 0), ESRCH);
    guv_hub_release(hub);
}

/* guv_interrupt ends the current blocking call once with EINTR; the next
 * call works. Sent to a running green thread, it fails the next call. */
static void interrupted_sleeper(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_sleep(10), EINTR);
    ASSERT_OK(guv_sleep(0.001));
    ASSERT_OK(guv_interrupt(guv_current()));
    ASSERT_ERRNO(guv_sleep(0.001), EINTR);
    ASSERT_OK(guv_sleep(0.001));
    woken++;
}

static void interrupter(void *arg) {
    ASSERT_OK(guv_yield());
    ASSERT_OK(guv_interrupt(*(int64_t *)arg));
}

static void test_interrupt_is_one_shot(void) {
    woken = 0;
    int64_t id = guv_spawn(interrupted_sleeper, NULL);
    ASSERT(guv_spawn(interrupter, &id) >= 1);
    double t0 = guv_now();
    ASSERT_EQ(guv_run(), 0);
    ASSERT(guv_now() - t0 < 5);
    ASSERT_EQ(woken, 1);
}

/* guv_interrupt(0) ends main's guv_run with EINTR; the green threads stay. */
static void interrupt_main(void *arg) {
    (void)arg;
    ASSERT_OK(guv_interrupt(0));
    ASSERT_OK(guv_sleep(0.01));
}

static void test_interrupt_main_run(void) {
    ASSERT(guv_spawn(interrupt_main, NULL) >= 1);
    ASSERT_ERRNO(guv_run(), EINTR);
    ASSERT_EQ(guv_count(), 1);
    ASSERT_EQ(guv_run(), 0);
}

/* The stack bounds contain the caller's own locals; main has none. */
static void bounds(void *arg) {
    void *lo;
    size_t size;
    int local;
    ASSERT_OK(guv_stack_bounds(&lo, &size));
    ASSERT((char *)&local > (char *)lo && (char *)&local < (char *)lo + size);
    ASSERT_EQ(size, *(size_t *)arg);
    ASSERT_ERRNO(guv_stack_bounds(NULL, &size), EINVAL);
}

static void test_stack_bounds(void) {
    size_t want = 128 * 1024;
    ASSERT(guv_spawn_ex(bounds, &want, want) >= 1);
    ASSERT_EQ(guv_run(), 0);
    void *lo;
    size_t size;
    ASSERT_ERRNO(guv_stack_bounds(&lo, &size), ESRCH);
}

/* Ids that were never issued are refused. */
static void test_unknown_ids(void) {
    ASSERT_ERRNO(guv_unpark(-5), ESRCH);
    ASSERT_ERRNO(guv_interrupt(12345), ESRCH);
}

int main(void) {
    RUN(test_unpark_wakes_parked);
    RUN(test_permit_is_kept_once);
    RUN(test_main_parks);
    RUN(test_park_deadlock_and_kill);
    RUN(test_hub_unpark_from_thread);
    RUN(test_hub_interrupt_main);
    RUN(test_interrupt_is_one_shot);
    RUN(test_interrupt_main_run);
    RUN(test_stack_bounds);
    RUN(test_unknown_ids);
    return 0;
}
