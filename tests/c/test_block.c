/* The blocking detector: a green thread that holds its hub past the
 * threshold is reported once, by name, with the native frame that blocks,
 * and the end of the episode follows; a hub idle in epoll is never reported.
 * Built with -rdynamic (mk/c.mk) so dladdr can name this file's functions. */
#include <time.h>

#include "test.h"

static int count(const char *text, const char *part) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, part)) != NULL; p += strlen(part)) n++;
    return n;
}

static void expect(const char *text, const char *part) {
    if (strstr(text, part) == NULL) FAIL("expected \"%s\" in:\n%s", part, text);
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long spins;

/* Computes for `seconds` without ever calling guv. */
__attribute__((noinline)) void busy_loop(double seconds) {
    double end = mono() + seconds;
    while (mono() < end) {
        for (int i = 0; i < 10000; i++) spins++;
    }
}

void busy_green(void *arg);
void busy_green(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_set_name(0, "busy worker"), 0);
    busy_loop(0.3);
}

static int ticks;
static void ticker(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(guv_sleep(0.01), 0);
        ticks++;
    }
}

/* A green thread busy for 300 ms with a 100 ms threshold: one report naming
 * it and busy_loop, then one line saying the hub ran again. */
static void test_busy_loop_is_reported(void) {
    ASSERT_EQ(guv_set_block_report(0.1), 0);
    test_capture_begin();
    ticks = 0;
    int64_t id = guv_spawn(busy_green, NULL);
    ASSERT(guv_spawn(ticker, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    usleep(100 * 1000); /* the monitor's next samples see the hub empty */
    char *text = test_capture_end();
    ASSERT_EQ(ticks, 5);
    char who[96];
    snprintf(who, sizeof who, "guv: green thread %lld \"busy worker\" has held hub ", (long long)id);
    expect(text, who);
    ASSERT_EQ(count(text, "has held hub"), 1);
    expect(text, " busy_loop+0x");
    expect(text, " busy_green+0x");
    /* The first frame is where the signal landed: in busy_loop or below it
     * (mono's clock_gettime), never in the handler. */
    ASSERT(strstr(text, "on_capture_signal") == NULL);
    snprintf(who, sizeof who, "guv: green thread %lld \"busy worker\" let hub ", (long long)id);
    expect(text, who);
    ASSERT_EQ(count(text, "run again after"), 1);
    /* The episode's length is reported in whole ms: about 300, sampled every 25. */
    const char *after = strstr(text, "run again after ");
    long ms = strtol(after + strlen("run again after "), NULL, 10);
    ASSERT(ms >= 150 && ms <= 600);
    free(text);
    ASSERT_EQ(guv_set_block_report(0), 0);
}

/* A plain sleep(1), without libguv_hook. */
__attribute__((noinline)) void plain_sleeper(void) {
    unsigned left = sleep(1);
    (void)left; /* the capture signal may end it early: sleep is never restarted */
}

void sleepy_green(void *arg);
void sleepy_green(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_set_name(0, "sleepy"), 0);
    plain_sleeper();
}

/* A green thread in a plain sleep(1): reported by name, with libc's sleep
 * and the caller's frame in the stack. */
static void test_plain_sleep_is_reported(void) {
    ASSERT_EQ(guv_set_block_report(0.1), 0);
    test_capture_begin();
    int64_t id = guv_spawn(sleepy_green, NULL);
    ASSERT(guv_spawn(ticker, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    usleep(100 * 1000);
    char *text = test_capture_end();
    char who[96];
    snprintf(who, sizeof who, "guv: green thread %lld \"sleepy\" has held hub ", (long long)id);
    expect(text, who);
    expect(text, "sleep");
    expect(text, " plain_sleeper+0x");
    expect(text, " sleepy_green+0x");
    expect(text, "run again after");
    free(text);
    ASSERT_EQ(guv_set_block_report(0), 0);
}

static void naps(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(1.5), 0);
}

/* A hub asleep in epoll for 1.5 s, with green threads alive, is idle, not
 * blocked: no report. Nor is a thread whose hub has no green thread left.
 * (0.2 s, not less: on a loaded machine the OS may hold a busy hub's thread
 * off the CPU for tens of milliseconds, which the detector cannot tell from
 * a green thread that does not switch.) */
static void test_idle_hub_is_not_reported(void) {
    ASSERT_EQ(guv_set_block_report(0.2), 0);
    test_capture_begin();
    ASSERT(guv_spawn(naps, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    usleep(300 * 1000); /* main computes with no green thread to block */
    char *text = test_capture_end();
    if (text[0] != 0) FAIL("expected no report, got:\n%s", text);
    free(text);
    ASSERT_EQ(guv_set_block_report(0), 0);
}

/* Main is a green thread too: main computing while green threads wait to
 * run is reported as main. */
static void test_main_is_reported(void) {
    ASSERT_EQ(guv_set_block_report(0.1), 0);
    ASSERT_EQ(guv_set_name(0, "the main"), 0);
    test_capture_begin();
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    busy_loop(0.3);
    ASSERT_EQ(guv_run(), 0);
    usleep(100 * 1000);
    char *text = test_capture_end();
    expect(text, "guv: main \"the main\" has held hub ");
    expect(text, " busy_loop+0x");
    free(text);
    ASSERT_EQ(guv_set_name(0, ""), 0);
    ASSERT_EQ(guv_set_block_report(0), 0);
}

static int64_t hook_id = -1;
static int hook_calls, hook_thread;
static void *hook_data;
static double hook_seconds;

static void on_block(void *userdata, int64_t id, void *task_data, int thread, double seconds) {
    ASSERT(userdata == &hook_calls);
    hook_id = id;
    hook_data = task_data;
    hook_thread = thread;
    hook_seconds = seconds;
    /* Last: busy_until_hooked stops at this, and the test then reads the rest. */
    __atomic_add_fetch(&hook_calls, 1, __ATOMIC_RELEASE);
}

/* Computes without calling guv until on_block has been called (on the
 * monitor thread), for at most 5 s: on a loaded machine the monitor may not
 * run within a fixed 300 ms, and the episode would end unseen. */
void busy_until_hooked(void *arg);
void busy_until_hooked(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_set_name(0, "busy worker"), 0);
    double end = mono() + 5.0;
    while (__atomic_load_n(&hook_calls, __ATOMIC_ACQUIRE) == 0 && mono() < end) busy_loop(0.01);
}

/* Runs busy_until_hooked with on_block as the callback; returns its id. */
static int64_t run_busy_green_with_callback(void) {
    hook_calls = 0;
    ASSERT_EQ(guv_set_block_callback(on_block, &hook_calls), 0);
    ASSERT_EQ(guv_set_block_report(0.1), 0);
    test_capture_begin();
    int64_t id = guv_spawn(busy_until_hooked, NULL);
    ASSERT_EQ(guv_run(), 0);
    usleep(100 * 1000);
    free(test_capture_end());
    return id;
}

/* guv_set_block_callback: called once per episode, on the monitor thread,
 * with the offending green thread's id, its (absent) hook data, the hub's OS
 * thread id and the time so far. */
static void test_block_callback(void) {
    int64_t id = run_busy_green_with_callback();
    ASSERT_EQ(hook_calls, 1);
    ASSERT_EQ(hook_id, id);
    ASSERT(hook_data == NULL);
    ASSERT_EQ(hook_thread, gettid());
    ASSERT(hook_seconds >= 0.1 && hook_seconds < 5.0); /* in seconds; the monitor may run late under load */
    ASSERT_EQ(guv_set_block_callback(NULL, NULL), 0);
    ASSERT_EQ(guv_set_block_report(0), 0);
}

static int first_set, second_set;
static void *task_data_of(void *userdata) { return userdata; }

/* With hook sets in force, the callback gets the task data of the first one
 * added. */
static void test_block_callback_gets_first_sets_task_data(void) {
    guv_hooks a = {.size = sizeof(guv_hooks), .task_start = task_data_of, .userdata = &first_set};
    guv_hooks b = {.size = sizeof(guv_hooks), .task_start = task_data_of, .userdata = &second_set};
    int ha = guv_add_hooks(&a), hb = guv_add_hooks(&b);
    ASSERT(ha > 0 && hb > 0);
    int64_t id = run_busy_green_with_callback();
    ASSERT_EQ(hook_calls, 1);
    ASSERT_EQ(hook_id, id);
    ASSERT(hook_data == &first_set);
    ASSERT_EQ(guv_set_block_callback(NULL, NULL), 0);
    ASSERT_EQ(guv_set_block_report(0), 0);
    ASSERT_EQ(guv_remove_hooks(ha), 0);
    ASSERT_EQ(guv_remove_hooks(hb), 0);
}

/* What one set's `blocked` saw, and in which order the sets were told. */
struct told_blocked {
    int calls, order;
    void *task_data;
    int64_t id;
    int thread;
};
static struct told_blocked told[3];
static int told_so_far;

static void on_set_blocked(void *userdata, void *task_data, int64_t id, int thread, double seconds) {
    struct told_blocked *t = userdata == &first_set ? &told[0] : userdata == &second_set ? &told[1] : &told[2];
    t->calls++;
    t->order = told_so_far++;
    t->task_data = task_data;
    t->id = id;
    t->thread = thread;
    ASSERT(seconds >= 0.1);
}

static int third_set;

/* guv_hooks.blocked: after each report, every set the green thread runs
 * with is told, in order, with its own task data (NULL for a set without
 * task_start); the block callback still gets the first set's. */
static void test_each_set_is_told_with_its_task_data(void) {
    memset(told, 0, sizeof told);
    told_so_far = 0;
    guv_hooks a = {.size = sizeof(guv_hooks), .task_start = task_data_of, .userdata = &first_set,
                   .blocked = on_set_blocked};
    guv_hooks b = {.size = sizeof(guv_hooks), .task_start = task_data_of, .userdata = &second_set,
                   .blocked = on_set_blocked};
    guv_hooks c = {.size = sizeof(guv_hooks), .userdata = &third_set, .blocked = on_set_blocked};
    int ha = guv_add_hooks(&a), hb = guv_add_hooks(&b), hc = guv_add_hooks(&c);
    ASSERT(ha > 0 && hb > 0 && hc > 0);
    int64_t id = run_busy_green_with_callback();
    ASSERT_EQ(hook_calls, 1);
    ASSERT(hook_data == &first_set);
    void *expected[3] = {&first_set, &second_set, NULL};
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(told[i].calls, 1);
        ASSERT_EQ(told[i].order, i);
        ASSERT(told[i].task_data == expected[i]);
        ASSERT_EQ(told[i].id, id);
        ASSERT_EQ(told[i].thread, gettid());
    }
    ASSERT_EQ(guv_set_block_callback(NULL, NULL), 0);
    ASSERT_EQ(guv_set_block_report(0), 0);
    ASSERT_EQ(guv_remove_hooks(ha), 0);
    ASSERT_EQ(guv_remove_hooks(hb), 0);
    ASSERT_EQ(guv_remove_hooks(hc), 0);
}

/* Off, a blocking green thread goes unreported. */
static void test_off_is_silent(void) {
    test_capture_begin();
    ASSERT(guv_spawn(busy_green, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    usleep(50 * 1000);
    char *text = test_capture_end();
    if (text[0] != 0) FAIL("expected no report, got:\n%s", text);
    free(text);
}

static void test_bad_threshold(void) {
    ASSERT_ERRNO(guv_set_block_report(-1), EINVAL);
    ASSERT_ERRNO(guv_set_block_report(0.0 / 0.0), EINVAL);
}

int main(void) {
    RUN(test_bad_threshold);
    RUN(test_busy_loop_is_reported);
    RUN(test_plain_sleep_is_reported);
    RUN(test_idle_hub_is_not_reported);
    RUN(test_main_is_reported);
    RUN(test_block_callback);
    RUN(test_block_callback_gets_first_sets_task_data);
    RUN(test_each_set_is_told_with_its_task_data);
    RUN(test_off_is_silent);
    return 0;
}
