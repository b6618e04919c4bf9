/* A guv_hub_spawn() the hub cannot start at once (no memory for a stack)
 * is not dropped: it stays queued, guv_run() does not return before it ran,
 * and it runs as soon as the hub can start it. */
#include <sys/resource.h>

#define TEST_TIMEOUT 10
#include "test.h"

static int ran;
static struct rlimit saved;

static void submitted(void *arg) {
    (void)arg;
    ran++;
}

/* Gives the address-space limit back after a while, from a thread of its
 * own, as memory freed elsewhere would. */
static void *give_memory_back(void *arg) {
    (void)arg;
    usleep(200 * 1000);
    ASSERT_EQ(setrlimit(RLIMIT_AS, &saved), 0);
    return NULL;
}

/* Current size of this process's address space, in bytes. */
static size_t vm_size(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    ASSERT(f != NULL);
    unsigned long pages = 0;
    ASSERT_EQ(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void test_unstartable_submission_waits_for_memory(void) {
    guv_hub *hub = guv_hub_self();
    ASSERT(hub != NULL);
    pthread_t t;
    ASSERT_EQ(getrlimit(RLIMIT_AS, &saved), 0);
    ASSERT_EQ(pthread_create(&t, NULL, give_memory_back, NULL), 0); /* before the limit */
    /* Room for small allocations, none for an arena of green-thread stacks. */
    struct rlimit tight = {vm_size() + (1 << 20), saved.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
    ASSERT_EQ(guv_hub_spawn(hub, submitted, NULL), 0);
    ASSERT_OK(guv_sleep(0.02)); /* the hub tries, and cannot start it */
    ASSERT_EQ(ran, 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ran, 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    guv_hub_release(hub);
}

int main(void) {
    ASSERT_OK(guv_sleep(0)); /* make the hub */
    RUN(test_unstartable_submission_waits_for_memory);
    return 0;
}
