/* guv_hub_spawn() takes the new green thread's stack when it is called: a
 * submission there is no memory for fails there, with ENOMEM, and one that
 * was accepted starts whatever memory is left when the hub gets to it. */
#include <sys/resource.h>

#define TEST_TIMEOUT 10
#include "test.h"

static int ran;

/* Current size of this process's address space, in bytes. */
static size_t vm_size(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    ASSERT(f != NULL);
    unsigned long pages = 0;
    ASSERT_EQ(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Leaves room for small allocations, none for an arena of green-thread
 * stacks (16 of them at least, each with a 64 KiB guard). Returns the limit
 * to put back. */
static struct rlimit no_room_for_stacks(void) {
    struct rlimit saved;
    ASSERT_EQ(getrlimit(RLIMIT_AS, &saved), 0);
    struct rlimit tight = {vm_size() + (1 << 20), saved.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
    return saved;
}

struct submitter {
    guv_hub *hub;
    int rc, err;
};

static void *submit_here(void *arg) {
    struct submitter *s = arg;
    errno = 0;
    s->rc = guv_hub_spawn(s->hub, test_count, &ran);
    s->err = errno;
    return NULL;
}

/* Submits one green thread to the main thread's hub from a thread of its
 * own, on a stack small enough to fit under a tight address-space limit. */
static void submit(struct submitter *s) {
    pthread_attr_t attr;
    pthread_t t;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 64 << 10), 0);
    ASSERT_EQ(pthread_create(&t, &attr, submit_here, s), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

/* A stack size no pool of the hub has yet, so a submission needs a new arena. */
static void fresh_stack_size(size_t kib) {
    ASSERT_OK(guv_set_stack_size(kib << 10));
}

/* Without memory for a stack the submitter is told at once; nothing is
 * queued, so guv_run() has nothing to wait for. */
static void test_no_memory_fails_up_front(void) {
    struct submitter s = {guv_hub_self(), 0, 0};
    ASSERT(s.hub != NULL);
    fresh_stack_size(64);
    struct rlimit saved = no_room_for_stacks();
    submit(&s);
    ASSERT_EQ(setrlimit(RLIMIT_AS, &saved), 0);
    ASSERT_EQ(s.rc, -1);
    ASSERT_EQ(s.err, ENOMEM);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ran, 0);
    guv_hub_release(s.hub);
}

/* An accepted submission owns its stack: the hub starts it even when no
 * memory is left by the time it looks. */
static void test_accepted_submission_starts_without_memory(void) {
    struct submitter s = {guv_hub_self(), 0, 0};
    ASSERT(s.hub != NULL);
    fresh_stack_size(128);
    submit(&s);
    ASSERT_EQ(s.rc, 0);
    struct rlimit saved = no_room_for_stacks();
    int rc = guv_run();
    ASSERT_EQ(setrlimit(RLIMIT_AS, &saved), 0);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(ran, 1);
    guv_hub_release(s.hub);
}

int main(void) {
    ASSERT_OK(guv_sleep(0)); /* make the hub */
    RUN(test_no_memory_fails_up_front);
    RUN(test_accepted_submission_starts_without_memory);
    return 0;
}
