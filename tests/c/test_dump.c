/* guv_dump: one line per green thread with its state, parsed back here, one
 * green thread in each state the format knows. */
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "test.h"

/* The dump of this thread's hub, as a string (caller frees). */
static char *dump_text(void) {
    int fd = memfd_create("dump", 0);
    ASSERT(fd >= 0);
    ASSERT_EQ(guv_dump(fd), 0);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    ASSERT_EQ(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

/* The line of green thread `id` (a copy, caller frees); fails if absent. */
static char *line_of(const char *text, int64_t id) {
    char key[48];
    snprintf(key, sizeof key, "  id=%lld ", (long long)id);
    const char *p = strstr(text, key);
    if (p == NULL) FAIL("no line for id %lld in:\n%s", (long long)id, text);
    size_t n = strcspn(p, "\n");
    char *line = strndup(p, n);
    return line;
}

/* The number after `key` in `line` ("never" reads as -1e9); fails if absent. */
static double field(const char *line, const char *key) {
    const char *p = strstr(line, key);
    if (p == NULL) FAIL("no %s in: %s", key, line);
    p += strlen(key);
    if (strncmp(p, "never", 5) == 0) return -1e9;
    return strtod(p, NULL);
}

static void expect(const char *line, const char *part) {
    if (strstr(line, part) == NULL) FAIL("expected \"%s\" in: %s", part, line);
}

/* Fails unless the line of green thread `id` holds `part`. */
static void expect_line(const char *text, int64_t id, const char *part) {
    char *l = line_of(text, id);
    expect(l, part);
    free(l);
}

/* Fails unless the number after `key` in the line of green thread `id` is
 * in [lo, hi). */
static void expect_field(const char *text, int64_t id, const char *key, double lo, double hi) {
    char *l = line_of(text, id);
    double v = field(l, key);
    if (!(v >= lo && v < hi)) FAIL("%s%g not in [%g, %g) in: %s", key, v, lo, hi, l);
    free(l);
}

static int pipe_r[2], pipe_w[2];
static atomic_int offload_release;
static int64_t sleeper, reader, writer, joiner, parker, deadline_parker, offloader, dumper;

static void sleeps(void *arg) { (void)arg; ASSERT_ERRNO(guv_sleep(10), ECANCELED); }
static void reads(void *arg) { (void)arg; ASSERT_EQ(guv_trampoline_timeout(pipe_r[0], GUV_READ, 5.0), GUV_READ); }
static void writes(void *arg) { (void)arg; ASSERT_EQ(guv_trampoline(pipe_w[1], GUV_WRITE), GUV_WRITE); }
static void joins(void *arg) { (void)arg; ASSERT_EQ(guv_join(sleeper), 0); }
static void parks(void *arg) { (void)arg; ASSERT_EQ(guv_park(-1), 0); }
static void parks_with_deadline(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_timeout_begin(3.0), 0);
    ASSERT_EQ(guv_park(-1), 0);
    ASSERT_EQ(guv_timeout_end(), 0);
}
static void wait_release(void *arg) {
    (void)arg;
    while (!atomic_load(&offload_release)) usleep(1000);
}
static void offloads(void *arg) { (void)arg; ASSERT_EQ(guv_offload(wait_release, NULL), 0); }

static void dumps(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_set_name(0, "the \"dumper\""), 0);
    ASSERT_EQ(guv_sleep(0.05), 0); /* everyone else is now in their wait */
    int64_t fresh = guv_spawn(test_noop, NULL);
    char *text = dump_text();

    /* The header names the hub and counts states, main included. */
    expect(text, "hub=");
    ASSERT(strncmp(text, "hub=", 4) == 0);
    expect(text, " green_threads=9 running=1 ready=1 sleeping=1 fd=2 joining=1 parked=2 offload=1 run=1\n");
    char hub_key[32];
    snprintf(hub_key, sizeof hub_key, "hub=%lld ", (long long)((uint64_t)dumper >> 39));
    ASSERT(strncmp(text, hub_key, strlen(hub_key)) == 0);

    expect_line(text, 0, "name=\"main thread\" state=run ");
    expect_line(text, 0, " stack=0");

    void *lo;
    size_t size;
    ASSERT_EQ(guv_stack_bounds(&lo, &size), 0);
    char stack_field[40];
    snprintf(stack_field, sizeof stack_field, " stack=%zu", size);
    expect_line(text, dumper, "name=\"the \\\"dumper\\\"\" state=running ");
    expect_line(text, dumper, stack_field);
    expect_line(text, fresh, "name=\"\" state=ready for=");

    expect_line(text, sleeper, "name=\"sleeper\" state=sleeping until=+");
    expect_field(text, sleeper, "until=", 8.0, 10.0);
    expect_field(text, sleeper, "for=", 0.03, 1.0);

    char fd_field[48];
    snprintf(fd_field, sizeof fd_field, "state=fd fd=%d events=read until=+", pipe_r[0]);
    expect_line(text, reader, fd_field);
    expect_field(text, reader, "until=", 3.5, 5.0);
    snprintf(fd_field, sizeof fd_field, "state=fd fd=%d events=write until=never", pipe_w[1]);
    expect_line(text, writer, fd_field);

    char target[48];
    snprintf(target, sizeof target, "state=joining target=%lld until=never", (long long)sleeper);
    expect_line(text, joiner, target);
    expect_line(text, parker, "state=parked until=never");
    /* A guv_timeout_begin deadline shows as the park's end. */
    expect_line(text, deadline_parker, "state=parked until=+");
    expect_field(text, deadline_parker, "until=", 1.5, 3.0);
    expect_line(text, offloader, "state=offload for=");
    free(text);

    /* Let everyone finish. */
    ASSERT_EQ(guv_kill(sleeper), 0);
    ASSERT_EQ(write(pipe_r[1], "x", 1), 1);
    char drain[65536];
    while (read(pipe_w[0], drain, sizeof drain) > 0) {}
    ASSERT_EQ(guv_unpark(parker), 0);
    ASSERT_EQ(guv_unpark(deadline_parker), 0);
    atomic_store(&offload_release, 1);
}

/* Every state at once: main in guv_run, the caller running, a fresh green
 * thread ready, a sleeper, fd waits for read (with a timeout) and write
 * (without), a joiner, parkers with and without a deadline, an offload. */
static void test_each_state(void) {
    ASSERT_EQ(pipe(pipe_r), 0);
    ASSERT_EQ(pipe2(pipe_w, O_NONBLOCK), 0);
    while (write(pipe_w[1], "xxxxxxxxxxxxxxxx", 16) == 16) {}
    ASSERT_EQ(guv_set_name(0, "main thread"), 0);
    sleeper = guv_spawn(sleeps, NULL);
    ASSERT_EQ(guv_set_name(sleeper, "sleeper"), 0);
    reader = guv_spawn(reads, NULL);
    writer = guv_spawn(writes, NULL);
    joiner = guv_spawn(joins, NULL);
    parker = guv_spawn(parks, NULL);
    deadline_parker = guv_spawn(parks_with_deadline, NULL);
    offloader = guv_spawn(offloads, NULL);
    dumper = guv_spawn(dumps, NULL);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_set_name(0, ""), 0);
    for (int i = 0; i < 2; i++) {
        close(pipe_r[i]);
        close(pipe_w[i]);
    }
}

/* Outside guv_run, main is the one running; spawned green threads are ready
 * and have the stack they asked for. */
static void test_main_running(void) {
    int64_t a = guv_spawn_ex(test_noop, NULL, 64 * 1024);
    char *text = dump_text();
    expect(text, " green_threads=1 running=1 ready=1 sleeping=0 fd=0 joining=0 parked=0 offload=0 run=0\n");
    expect_line(text, 0, "state=running");
    expect_line(text, a, "state=ready");
    expect_field(text, a, "stack=", 64 * 1024, 1e12);
    free(text);
    ASSERT_EQ(guv_run(), 0);
}

/* Names that would break the line are escaped. */
static void test_name_escaped(void) {
    ASSERT_EQ(guv_set_name(0, "a\nb\\c"), 0);
    char *text = dump_text();
    expect_line(text, 0, "name=\"a\\x0ab\\\\c\" state=running");
    free(text);
    ASSERT_EQ(guv_set_name(0, ""), 0);
}

/* A bad fd is the write's error. */
static void test_bad_fd(void) {
    ASSERT_ERRNO(guv_dump(-1), EBADF);
}

int main(void) {
    RUN(test_each_state);
    RUN(test_main_running);
    RUN(test_name_escaped);
    RUN(test_bad_fd);
    return 0;
}
