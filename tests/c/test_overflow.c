/* Stack overflow in a green thread is reported, then aborts. Each case runs
 * in a forked child; the parent checks how it died and what it printed. */
#include <sys/resource.h>
#include <sys/wait.h>

#include "test.h"

/* Deeper than any stack here; volatile so the compiler sees an end. */
static volatile int max_depth = 1 << 30;

/* Recursion with small (512-byte) frames: the fault lands in the guard. */
static __attribute__((noinline)) int recurse_small(int depth) {
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = (char)depth;
    if (depth >= max_depth) return 0;
    return recurse_small(depth + 1) + frame[0] + frame[511];
}

/* Recursion with 40 KiB frames, whose first store may skip a page or two
 * (GCC without stack-clash protection): the 64 KiB guard still catches it. */
static __attribute__((noinline)) int recurse_big(int depth) {
    volatile char frame[40 * 1024];
    frame[0] = (char)depth;
    if (depth >= max_depth) return 0;
    return recurse_big(depth + 1) + frame[0];
}

/* One frame larger than the whole stack and its guard together. Built with
 * -fstack-clash-protection (see mk/c.mk), GCC probes it page by page,
 * so the probe lands in the guard instead of in the neighbouring stack. */
static __attribute__((noinline)) int huge_frame(void) {
    volatile char frame[400 * 1024];
    frame[0] = 1;
    frame[sizeof frame - 1] = 1;
    return frame[0] + frame[sizeof frame - 1];
}

static void overflow_huge(void *arg) {
    (void)arg;
    printf("%lld\n", (long long)guv_current());
    fflush(stdout);
    huge_frame();
}

static void overflow_small(void *arg) {
    (void)arg;
    printf("%lld\n", (long long)guv_current());
    fflush(stdout);
    recurse_small(0);
}

static void overflow_big(void *arg) {
    (void)arg;
    printf("%lld\n", (long long)guv_current());
    fflush(stdout);
    recurse_big(0);
}

struct outcome {
    int status;
    char out[256];
    char err[4096];
};

/* Keeps the first cap-1 bytes and drains the rest, so the child never blocks on a full pipe. */
static void read_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    ssize_t r;
    char spill[4096];
    while ((r = read(fd, n + 1 < cap ? buf + n : spill, n + 1 < cap ? cap - 1 - n : sizeof spill)) > 0)
        if (n + 1 < cap) n += (size_t)r;
    buf[n] = 0;
}

/* Runs body() in a child with its stdout and stderr captured. */
static void in_child(void (*body)(void), struct outcome *o) {
    int out[2], err[2];
    ASSERT_EQ(pipe(out), 0);
    ASSERT_EQ(pipe(err), 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        /* No core dumps for the expected crashes. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        body();
        _exit(0);
    }
    close(out[1]);
    close(err[1]);
    /* stderr first: it may be long (ASan's report), stdout is one line. */
    read_all(err[0], o->err, sizeof o->err);
    read_all(out[0], o->out, sizeof o->out);
    close(out[0]);
    close(err[0]);
    ASSERT_EQ(waitpid(pid, &o->status, 0), pid);
}

static void expect_reported(struct outcome *o, size_t stack_size) {
    if (!WIFSIGNALED(o->status) || WTERMSIG(o->status) != SIGABRT)
        FAIL("child status %#x, expected death by SIGABRT; stderr: %s", o->status, o->err);
    if (!strstr(o->err, "overflowed its stack"))
        FAIL("stderr lacks \"overflowed its stack\": %s", o->err);
    /* It names the green thread (its id, printed by the child) and the size. */
    char expect[128];
    long long id = atoll(o->out);
    ASSERT(id >= 1);
    snprintf(expect, sizeof expect, "green thread %lld overflowed its stack (%zu bytes", id, stack_size);
    if (!strstr(o->err, expect)) FAIL("stderr lacks \"%s\": %s", expect, o->err);
}

static void child_small_default(void) {
    ASSERT(guv_spawn(overflow_small, NULL) >= 1);
    guv_run();
}

static void child_small_64k(void) {
    ASSERT(guv_spawn(test_noop, NULL) >= 1); /* another, unaffected thread */
    ASSERT(guv_spawn_ex(overflow_small, NULL, 64 * 1024) >= 1);
    guv_run();
}

static void child_big_frames(void) {
    ASSERT(guv_spawn_ex(overflow_big, NULL, 128 * 1024) >= 1);
    guv_run();
}

static void child_huge_frame(void) {
    ASSERT(guv_spawn(test_sleep_forever, NULL) >= 1); /* a neighbouring stack */
    ASSERT(guv_spawn(overflow_huge, NULL) >= 1);
    guv_run();
}

static void child_batched(void) {
    /* Past the first 1024 stacks a pool installs guards 64 slots at a time. */
    for (int i = 0; i < 1100; i++) ASSERT(guv_spawn_ex(test_sleep_forever, NULL, 64 * 1024) >= 1);
    ASSERT(guv_spawn_ex(overflow_small, NULL, 64 * 1024) >= 1);
    guv_run();
}

/* A stack whose guard was installed in a batch with its neighbours' still catches an overflow. */
static void test_overflow_batched_guard(void) {
    struct outcome o;
    in_child(child_batched, &o);
    expect_reported(&o, 64 * 1024);
}

/* A 400 KiB frame on a 256 KiB stack. */
static void test_overflow_one_huge_frame(void) {
    struct outcome o;
    in_child(child_huge_frame, &o);
    expect_reported(&o, 256 * 1024);
}

/* Small frames on the default 256 KiB stack. */
static void test_overflow_small_frames(void) {
    struct outcome o;
    in_child(child_small_default, &o);
    expect_reported(&o, 256 * 1024);
}

/* Small frames on a 64 KiB stack from guv_spawn_ex. */
static void test_overflow_small_stack(void) {
    struct outcome o;
    in_child(child_small_64k, &o);
    expect_reported(&o, 64 * 1024);
}

/* 40 KiB frames. */
static void test_overflow_big_frames(void) {
    struct outcome o;
    in_child(child_big_frames, &o);
    expect_reported(&o, 128 * 1024);
}

static void overflow_named(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_set_name(0, "deep \"recursion\""), 0);
    overflow_small(NULL);
}

static void child_named(void) {
    ASSERT(guv_spawn(overflow_named, NULL) >= 1);
    guv_run();
}

/* A named green thread's report carries its name beside its id. */
static void test_overflow_names_the_thread(void) {
    struct outcome o;
    in_child(child_named, &o);
    char expect[128];
    snprintf(expect, sizeof expect, "green thread %lld \"deep \"recursion\"\" overflowed its stack (%d bytes",
             atoll(o.out), 256 * 1024);
    if (!strstr(o.err, expect)) FAIL("stderr lacks \"%s\": %s", expect, o.err);
}

static void child_main_overflow(void) {
    /* The hub (and its SIGSEGV handler) exist, but main is no green thread. */
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    struct rlimit small = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_STACK, &small);
    recurse_small(0);
}

/* An overflow of main's own stack is not blamed on a green thread: guv
 * hands the fault to the handler installed before it, so the process dies
 * as it would without guv (of SIGSEGV, or under ASan by ASan's report). */
static void test_main_overflow_is_not_ours(void) {
    struct outcome o;
    in_child(child_main_overflow, &o);
#ifdef __SANITIZE_ADDRESS__
    if (!strstr(o.err, "AddressSanitizer: stack-overflow") || (WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0))
        FAIL("child status %#x, expected ASan's stack-overflow report; stderr: %.300s", o.status, o.err);
#else
    if (!WIFSIGNALED(o.status) || WTERMSIG(o.status) != SIGSEGV)
        FAIL("child status %#x, expected death by SIGSEGV; stderr: %s", o.status, o.err);
#endif
    ASSERT(strstr(o.err, "overflowed its stack") == NULL);
}

int main(void) {
    RUN(test_overflow_small_frames);
    RUN(test_overflow_small_stack);
    RUN(test_overflow_batched_guard);
    RUN(test_overflow_big_frames);
    RUN(test_overflow_one_huge_frame);
    RUN(test_overflow_names_the_thread);
    RUN(test_main_overflow_is_not_ours);
    return 0;
}
