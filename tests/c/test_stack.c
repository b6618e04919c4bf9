/* Stacks: default size, GUV_STACK_SIZE, guv_spawn_ex sizes, guard kind. */
#include <sys/wait.h>

#include "test.h"

#define KiB 1024

/* Touches `len` bytes of stack in one frame and checks they hold. */
static __attribute__((noinline)) int use_stack(size_t len) {
    volatile char buf[len];
    for (size_t i = 0; i < len; i += 512) buf[i] = (char)i;
    buf[len - 1] = 1;
    int sum = 0;
    for (size_t i = 0; i < len; i += 512) sum += buf[i] == (char)i;
    return sum == (int)((len + 511) / 512) && buf[len - 1] == 1;
}

static int ok_runs;

static void use_arg_bytes(void *arg) {
    ASSERT(use_stack((size_t)(uintptr_t)arg));
    ok_runs++;
}

/* Before the first stack is carved the guard kind is unknown (0); after,
 * it is MADV_GUARD_INSTALL on this kernel (6.13+), which needs no mapping
 * per stack. */
static void test_guard_kind(void) {
    ASSERT_EQ(guv_guard_kind(), 0);
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_guard_kind(), GUV_GUARD_MADVISE);
}

/* Unless GUV_STACK_SIZE says otherwise, stacks are 256 KiB, and nobody chose that size. */
static void test_default_size(void) {
    ASSERT(getenv("GUV_STACK_SIZE") == NULL);
    ASSERT_EQ(guv_stack_size(), 256 * KiB);
    ASSERT_EQ(guv_stack_size_chosen(), 0);
}

/* A 64 KiB buffer on the stack is ordinary C: it fits the default stack. */
static void test_64k_buffer_on_default_stack(void) {
    ok_runs = 0;
    ASSERT(guv_spawn(use_arg_bytes, (void *)(uintptr_t)(64 * KiB)) >= 1);
    ASSERT(guv_spawn(use_arg_bytes, (void *)(uintptr_t)(200 * KiB)) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ok_runs, 2);
}

/* guv_spawn_ex: any size from 16 KiB up works (most of it usable), 0 is the
 * default, and less than 16 KiB is EINVAL. */
static void test_spawn_ex_sizes(void) {
    ok_runs = 0;
    ASSERT(guv_spawn_ex(use_arg_bytes, (void *)(uintptr_t)(8 * KiB), 16 * KiB) >= 1);
    ASSERT(guv_spawn_ex(use_arg_bytes, (void *)(uintptr_t)(8 * KiB), 16 * KiB + 1) >= 1);
    ASSERT(guv_spawn_ex(use_arg_bytes, (void *)(uintptr_t)(48 * KiB), 64 * KiB) >= 1);
    ASSERT(guv_spawn_ex(use_arg_bytes, (void *)(uintptr_t)(900 * KiB), 1024 * KiB) >= 1);
    ASSERT(guv_spawn_ex(use_arg_bytes, (void *)(uintptr_t)(7 * 1024 * KiB), 8 * 1024 * KiB) >= 1);
    ASSERT(guv_spawn_ex(use_arg_bytes, (void *)(uintptr_t)(64 * KiB), 0) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ok_runs, 6);
    ASSERT_ERRNO(guv_spawn_ex(test_noop, NULL, 1), EINVAL);
    ASSERT_ERRNO(guv_spawn_ex(test_noop, NULL, 16 * KiB - 1), EINVAL);
    ASSERT_EQ(guv_count(), 0);
}

static void sleep_on_stack(void *arg) {
    ASSERT(use_stack((size_t)(uintptr_t)arg));
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT(use_stack((size_t)(uintptr_t)arg));
    ok_runs++;
}

/* Green threads of several stack sizes alive at once, each recycled. */
static void test_mixed_sizes_alive_together(void) {
    ok_runs = 0;
    for (int round = 0; round < 3; round++)
        for (size_t kib = 16; kib <= 512; kib *= 2)
            ASSERT(guv_spawn_ex(sleep_on_stack, (void *)(uintptr_t)(kib * KiB / 2), kib * KiB) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ok_runs, 3 * 6);
}

/* guv_set_stack_size changes the default for later spawns, rounded up to
 * pages, and makes it chosen; below 16 KiB is EINVAL and changes nothing. */
static void test_set_stack_size(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    ASSERT_ERRNO(guv_set_stack_size(0), EINVAL);
    ASSERT_ERRNO(guv_set_stack_size(16 * KiB - 1), EINVAL);
    ASSERT_EQ(guv_stack_size(), 256 * KiB);
    ASSERT_EQ(guv_stack_size_chosen(), 0);
    ASSERT_EQ(guv_set_stack_size(16 * KiB), 0);
    ASSERT_EQ(guv_stack_size(), 16 * KiB);
    ASSERT_EQ(guv_stack_size_chosen(), 1);
    ASSERT_EQ(guv_set_stack_size(20000), 0);
    ASSERT_EQ(guv_stack_size(), (20000 + page - 1) / page * page);
    ASSERT_EQ(guv_set_stack_size(1024 * KiB), 0);
    ok_runs = 0;
    ASSERT(guv_spawn(use_arg_bytes, (void *)(uintptr_t)(900 * KiB)) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(ok_runs, 1);
    ASSERT_EQ(guv_set_stack_size(256 * KiB), 0);
}

static const char *self_path;

/* Runs this program again with GUV_STACK_SIZE=value; the child checks that
 * guv_stack_size() is `expect`, chosen by the variable unless it is ignored,
 * and what it wrote to stderr must hold `warnings` lines naming GUV_STACK_SIZE. */
static void check_env(const char *value, size_t expect, int warnings) {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        char want[32];
        snprintf(want, sizeof want, "%zu", expect);
        setenv("GUV_STACK_SIZE", value, 1);
        dup2(out[1], 2);
        execl(self_path, self_path, "--child-expects", want, warnings ? "0" : "1", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char err[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(out[0], err + len, sizeof err - 1 - len)) > 0) len += (size_t)n;
    err[len] = 0;
    close(out[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("with GUV_STACK_SIZE=%s, expected a default of %zu bytes (child status %d): %s", value, expect,
             status, err);
    int said = 0;
    for (char *p = err; (p = strstr(p, "GUV_STACK_SIZE")) != NULL; p++) said++;
    if (said != warnings)
        FAIL("with GUV_STACK_SIZE=%s, stderr named it %d times, expected %d: %s", value, said, warnings, err);
    if (warnings && !strstr(err, "using the default, 256 KiB"))
        FAIL("the warning does not say what is used instead: %s", err);
}

/* GUV_STACK_SIZE sets the initial default, in bytes (decimal or 0x), with
 * an optional K, M or G suffix, rounded up to pages. A value that is not a
 * usable size leaves the 256 KiB default, and says so once on stderr. */
static void test_env_stack_size(void) {
    check_env("65536", 64 * KiB, 0);
    check_env("16384", 16 * KiB, 0);
    check_env("70000", 72 * KiB, 0);
    check_env("1048576", 1024 * KiB, 0);
    check_env("1M", 1024 * KiB, 0);
    check_env("64k", 64 * KiB, 0);
    check_env("128KiB", 128 * KiB, 0);
    check_env("0x40000", 256 * KiB, 0);
    check_env("1000", 256 * KiB, 1);
    check_env("lots", 256 * KiB, 1);
    check_env("0", 256 * KiB, 1);
    check_env("-1", 256 * KiB, 1);
    check_env("9223372036854775808", 256 * KiB, 1);
    check_env("2T", 256 * KiB, 1);
    check_env("", 256 * KiB, 1);
}

int main(int argc, char **argv) {
    self_path = argv[0]; /* not /proc/self/exe, which is valgrind's under valgrind */
    if (argc == 4 && strcmp(argv[1], "--child-expects") == 0) {
        size_t want = (size_t)strtoull(argv[2], NULL, 10);
        if (guv_stack_size() != want) {
            fprintf(stderr, "child: guv_stack_size() is %zu, expected %zu\n", guv_stack_size(), want);
            return 1;
        }
        if (guv_stack_size_chosen() != atoi(argv[3])) {
            fprintf(stderr, "child: guv_stack_size_chosen() is %d, expected %s\n", guv_stack_size_chosen(), argv[3]);
            return 1;
        }
        /* And a green thread really gets (most of) it. */
        ASSERT(guv_spawn(use_arg_bytes, (void *)(uintptr_t)(want / 2)) >= 1);
        ASSERT_EQ(guv_run(), 0);
        /* The warning, if any, came once however often the default is read. */
        ASSERT(guv_spawn(test_noop, NULL) >= 1);
        ASSERT_EQ(guv_run(), 0);
        return 0;
    }
    RUN(test_guard_kind); /* first: before any stack exists */
    RUN(test_default_size);
    RUN(test_64k_buffer_on_default_stack);
    RUN(test_spawn_ex_sizes);
    RUN(test_mixed_sizes_alive_together);
    RUN(test_set_stack_size);
    RUN(test_env_stack_size);
    return 0;
}
