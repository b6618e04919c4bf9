/*
 * A tiny test harness for guv's C tests, one header, no library.
 *
 *   ASSERT(cond)              fails unless cond holds
 *   ASSERT_EQ(a, b)           compares two integers (printed on failure)
 *   ASSERT_ERRNO(expr, err)   expr must return -1 with errno == err
 *   ASSERT_OK(expr)           expr must not return -1 (errno printed if it does)
 *   RUN(test_fn)              runs one test under a watchdog, then checks that
 *                             it left no green thread behind on this hub
 *   test_capture_begin/_end   collect what is written to stderr in between
 *   test_under_valgrind()     whether the program runs under valgrind
 *
 * A failure prints file:line and the test's name, and ends the process with
 * exit status 1 from whichever thread or green thread it happens in. A test
 * that hangs is ended by the watchdog after TEST_TIMEOUT seconds.
 */
#ifndef GUV_TEST_H
#define GUV_TEST_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guv.h"

#ifndef TEST_TIMEOUT
#define TEST_TIMEOUT 30
#endif

static const char *test_name = "(setup)";

static void test_fail_exit(void) {
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "%s:%d: FAIL in %s: ", __FILE__, __LINE__, test_name); \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        test_fail_exit();                                                      \
    } while (0)

#define ASSERT(cond)                                   \
    do {                                               \
        if (!(cond)) FAIL("assertion `%s` is false", #cond); \
    } while (0)

#define ASSERT_EQ(a, b)                                                      \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_) FAIL("%s == %lld, expected %s == %lld", #a, a_, #b, b_); \
    } while (0)

#define ASSERT_ERRNO(expr, err)                                                 \
    do {                                                                        \
        errno = 0;                                                              \
        long long r_ = (long long)(expr);                                       \
        int e_ = errno;                                                         \
        if (r_ != -1 || e_ != (err))                                            \
            FAIL("%s returned %lld with errno %s, expected -1 with %s", #expr,  \
                 r_, test_errno_name(e_), test_errno_name(err));                \
    } while (0)

#define ASSERT_OK(expr)                                                     \
    do {                                                                    \
        errno = 0;                                                          \
        long long r_ = (long long)(expr);                                   \
        if (r_ == -1) FAIL("%s failed with %s", #expr, test_errno_name(errno)); \
    } while (0)

static inline const char *test_errno_name(int e) {
    switch (e) {
    case 0: return "0";
    case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EBUSY: return "EBUSY";
    case ECANCELED: return "ECANCELED";
    case EDEADLK: return "EDEADLK";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return strerror(e);
    }
}

static void test_watchdog(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: a test hung; the watchdog ended it: ";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, test_name, strlen(test_name));
    w = write(2, "\n", 1);
    (void)w;
    _exit(1);
}

static inline void test_run_one(const char *name, void (*fn)(void)) {
    test_name = name;
    signal(SIGALRM, test_watchdog);
    alarm(TEST_TIMEOUT);
    fn();
    alarm(0);
    /* Every test cleans up after itself: a green thread left alive would
     * leak into (and distort) the next test. */
    if (guv_count() != 0) FAIL("%lld green threads left behind", (long long)guv_count());
    printf("ok %s\n", name);
    fflush(stdout);
}

#define RUN(fn) test_run_one(#fn, fn)

/* Runs fn(arg) on a new OS thread (so with a hub of its own) and waits for it. */
static inline void test_on_thread(void *(*fn)(void *), void *arg) {
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, fn, arg), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
}

/* Runs body() in a forked child, which must exit 0 (body returning counts
 * as that): an abort or a hang (the watchdog's alarm is inherited) is then
 * this test's failure rather than the end of the program. */
static inline void test_in_child(void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("the child %s %d", WIFSIGNALED(status) ? "died of signal" : "exited with",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* The green-thread body that does nothing. */
static inline void test_noop(void *arg) { (void)arg; }

/* A green-thread body that increments the int it is given. */
static inline void test_count(void *arg) { ++*(int *)arg; }

/* A green-thread body that sleeps until it is killed. */
static inline void test_sleep_forever(void *arg) {
    (void)arg;
    while (guv_sleep(1e9) == 0) {}
}

/* Valgrind preloads its vgpreload_*.so into the program: this needs no
 * valgrind header at build time, when valgrind may not be installed yet. */
static inline int test_under_valgrind(void) {
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload");
}

/* stderr goes to a memfd between test_capture_begin and test_capture_end
 * (one capture at a time). */
static int test_saved_stderr = -1, test_captured = -1;

static inline void test_capture_begin(void) {
    fflush(stderr);
    test_captured = memfd_create("stderr", 0);
    ASSERT(test_captured >= 0);
    test_saved_stderr = dup(2);
    ASSERT(dup2(test_captured, 2) == 2);
}

/* What was written to stderr since test_capture_begin (caller frees). */
static inline char *test_capture_end(void) {
    fflush(stderr);
    ASSERT(dup2(test_saved_stderr, 2) == 2);
    close(test_saved_stderr);
    off_t len = lseek(test_captured, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    ASSERT(text != NULL);
    ASSERT_EQ(pread(test_captured, text, (size_t)len, 0), len);
    close(test_captured);
    return text;
}

#endif /* GUV_TEST_H */
