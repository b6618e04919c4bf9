/* guv_spawn: ids, lazy start, arguments, nesting, counts. */
#include <sys/resource.h>
#include <sys/wait.h>

#include "test.h"

static int64_t seen_id;
static void *seen_arg;

static void record(void *arg) {
    seen_id = guv_current();
    seen_arg = arg;
}

/* The new green thread gets an id >= 1, starts at the hub's next turn (not
 * inside guv_spawn), sees its own id, and gets its argument untouched. */
static void test_spawn_starts_later_with_its_arg(void) {
    void *bogus = (void *)(uintptr_t)0xdead0; /* never dereferenced by guv */
    seen_id = 0;
    int64_t id = guv_spawn(record, bogus);
    ASSERT(id >= 1);
    ASSERT_EQ(seen_id, 0);
    ASSERT_EQ(guv_count(), 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(seen_id, id);
    ASSERT(seen_arg == bogus);
    ASSERT_EQ(guv_count(), 0);
}

/* A NULL function is refused and nothing is scheduled. */
static void test_spawn_null_is_einval(void) {
    ASSERT_ERRNO(guv_spawn(NULL, NULL), EINVAL);
    ASSERT_ERRNO(guv_spawn_ex(NULL, NULL, 0), EINVAL);
    ASSERT_EQ(guv_count(), 0);
}

#define MANY 2000

/* Ids are never reused, even as slots are recycled across runs. */
static void test_ids_are_never_reused(void) {
    static int64_t ids[MANY];
    for (int i = 0; i < MANY; i++) {
        ids[i] = guv_spawn(test_noop, NULL);
        ASSERT(ids[i] >= 1);
        if (i % 3 == 0) ASSERT_EQ(guv_run(), 0); /* frees slots for reuse */
    }
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < MANY; i++)
        for (int j = i + 1; j < MANY; j++)
            if (ids[i] == ids[j]) FAIL("id %lld issued twice (#%d and #%d)", (long long)ids[i], i, j);
}

static int nested_done;

static void grandchild(void *arg) {
    (void)arg;
    nested_done++;
}

static void child(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) ASSERT(guv_spawn(grandchild, NULL) >= 1);
    nested_done++;
}

/* Green threads spawn green threads; guv_run waits for all generations. */
static void test_spawn_from_green_thread(void) {
    nested_done = 0;
    for (int i = 0; i < 4; i++) ASSERT(guv_spawn(child, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(nested_done, 4 + 12);
}

/* Ten thousand green threads alive at once, all run to the end. */
static void test_ten_thousand(void) {
    int n = 0;
    for (int i = 0; i < 10000; i++) ASSERT(guv_spawn(test_count, &n) >= 1);
    ASSERT_EQ(guv_count(), 10000);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 10000);
}

/* guv_current is 0 in main, before and after running green threads. */
static void test_current_is_zero_in_main(void) {
    ASSERT_EQ(guv_current(), 0);
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_current(), 0);
}

#ifndef __SANITIZE_ADDRESS__
static int spawned_ran;

static void count_after_sleep(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.001), 0);
    spawned_ran++;
}

/* In a child limited to 128 MiB more address space: spawning 1 MiB stacks
 * until it fails ends in -1/ENOMEM (no abort), and every green thread that
 * was started still runs to its end. */
static void child_out_of_memory(void) {
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ASSERT(f && fscanf(f, "%ld", &pages) == 1);
    fclose(f);
    rlim_t limit = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (128u << 20);
    struct rlimit r = {limit, limit};
    ASSERT_EQ(setrlimit(RLIMIT_AS, &r), 0);
    int n = 0;
    int64_t id;
    while ((id = guv_spawn_ex(count_after_sleep, NULL, 1 << 20)) >= 1) n++;
    ASSERT_EQ(id, -1);
    ASSERT_EQ(errno, ENOMEM);
    ASSERT(n >= 1 && n < 128);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(spawned_ran, n);
}
#endif

static void test_out_of_memory_is_enomem(void) {
#ifdef __SANITIZE_ADDRESS__
    /* ASan reserves terabytes of shadow address space: RLIMIT_AS cannot work. */
    printf("   (skipped under ASan)\n");
#else
    if (test_under_valgrind()) {
        /* Valgrind manages the address space itself and spins under RLIMIT_AS. */
        printf("   (skipped under valgrind)\n");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        child_out_of_memory();
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) FAIL("child status %#x", status);
#endif
}

int main(void) {
    RUN(test_spawn_starts_later_with_its_arg);
    RUN(test_spawn_null_is_einval);
    RUN(test_ids_are_never_reused);
    RUN(test_spawn_from_green_thread);
    RUN(test_ten_thousand);
    RUN(test_current_is_zero_in_main);
    RUN(test_out_of_memory_is_enomem);
    return 0;
}
