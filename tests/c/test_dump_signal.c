/* GUV_DUMP_SIGNAL: one signal makes every hub of the process write its dump
 * to stderr, busy or idle in epoll. Four hubs on four threads here. */
#include <stdatomic.h>

#include "test.h"

#define HUBS 4

static atomic_int ready_hubs;
static atomic_int stop;
static int64_t first_ids[HUBS];

static void sleeps_until_stopped(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) ASSERT_EQ(guv_sleep(0.02), 0);
}

/* Parked with nothing due: its hub sleeps in epoll until the dump wakes it,
 * and ends when main kills it with guv_hub_kill. */
static void idles(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_park(-1), ECANCELED);
}

static void *hub_thread(void *arg) {
    int i = (int)(intptr_t)arg;
    char name[32];
    snprintf(name, sizeof name, "hub %d main", i);
    ASSERT_EQ(guv_set_name(0, name), 0);
    first_ids[i] = guv_spawn(i % 2 ? sleeps_until_stopped : idles, NULL);
    ASSERT(first_ids[i] >= 1);
    snprintf(name, sizeof name, "worker of hub %d", i);
    ASSERT_EQ(guv_set_name(first_ids[i], name), 0);
    atomic_fetch_add(&ready_hubs, 1);
    ASSERT_EQ(guv_run(), 0);
    return NULL;
}

static guv_hub *hubs[HUBS];

static void *hub_thread_kept(void *arg) {
    int i = (int)(intptr_t)arg;
    hubs[i] = guv_hub_self();
    /* Held, so that a hub whose only green thread is parked waits in epoll
     * instead of failing guv_run with EDEADLK. */
    ASSERT_EQ(guv_hub_hold(hubs[i]), 0);
    return hub_thread(arg);
}

/* Four hubs, two with a busy-ish sleeper, two parked forever in epoll: one
 * SIGUSR2 gives four dumps, each naming its own hub, thread and green threads. */
static void test_four_hubs(void) {
    test_capture_begin();

    pthread_t t[HUBS];
    for (int i = 0; i < HUBS; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, hub_thread_kept, (void *)(intptr_t)i), 0);
    while (atomic_load(&ready_hubs) < HUBS) usleep(1000);
    usleep(100 * 1000); /* every hub is now in guv_run */
    int64_t ids[HUBS];
    for (int i = 0; i < HUBS; i++) ids[i] = first_ids[i];
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    usleep(300 * 1000);
    atomic_store(&stop, 1);
    for (int i = 0; i < HUBS; i += 2) ASSERT_EQ(guv_hub_kill(hubs[i], ids[i]), 0);
    for (int i = 0; i < HUBS; i++) ASSERT_EQ(guv_hub_unhold(hubs[i]), 0);
    for (int i = 0; i < HUBS; i++) {
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
        guv_hub_release(hubs[i]);
    }

    char *text = test_capture_end();

    int headers = 0;
    for (const char *p = text; (p = strstr(p, "hub=")) != NULL; p++) {
        ASSERT(p == text || p[-1] == '\n');
        headers++;
    }
    if (headers != HUBS) FAIL("expected %d dumps, got %d:\n%s", HUBS, headers, text);
    for (int i = 0; i < HUBS; i++) {
        char line[160];
        snprintf(line, sizeof line, "hub=%lld thread=", (long long)((uint64_t)ids[i] >> 39));
        if (strstr(text, line) == NULL) FAIL("no dump of hub %d (%s) in:\n%s", i, line, text);
        snprintf(line, sizeof line, "  id=0 name=\"hub %d main\" state=run ", i);
        if (strstr(text, line) == NULL) FAIL("no main line of hub %d in:\n%s", i, text);
        snprintf(line, sizeof line, "  id=%lld name=\"worker of hub %d\" state=%s ", (long long)ids[i], i,
                 i % 2 ? "sleeping" : "parked");
        if (strstr(text, line) == NULL) FAIL("no worker line of hub %d (%s) in:\n%s", i, line, text);
    }
    free(text);
}

int main(void) {
    /* Read when the process's first hub is made. */
    setenv("GUV_DUMP_SIGNAL", "USR2", 1);
    RUN(test_four_hubs);
    return 0;
}
