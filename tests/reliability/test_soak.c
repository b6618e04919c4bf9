/* Soak: many spawn/exit cycles and fd waits leave RSS flat and no fd behind;
 * a very large number of green threads sleep at once on guard-paged stacks.
 *
 * Sizes come from the environment (REL_SPAWNS, REL_WAITS, REL_THREADS); the
 * defaults are the short variants of `make test-reliability`. Each test
 * prints a RESULT line that `make soak-reliability` keeps in
 * benches/results/reliability.md. */
#include <fcntl.h>
#include <sys/socket.h>

#define TEST_TIMEOUT 1800
#include "rel.h"

/* RSS may grow this much after warm-up (the first tenth of a run). */
#define RSS_SLACK_KIB 1024

/* Tracks RSS across a run: the level after warm-up and the highest after. */
struct rss_watch {
    long warm, peak;
};

static void rss_sample(struct rss_watch *w, long done, long total) {
    long rss = rel_rss_kib();
    if (done < total / 10) return;
    if (w->warm == 0) w->warm = rss;
    if (rss > w->peak) w->peak = rss;
}

static void rss_check(const struct rss_watch *w, const char *what) {
    ASSERT(w->warm > 0);
    if (w->peak - w->warm > RSS_SLACK_KIB)
        FAIL("%s: RSS grew from %ld to %ld KiB after warm-up", what, w->warm, w->peak);
}

static void bump(void *arg) { ++*(long *)arg; }

static void bump_after_yield(void *arg) {
    ASSERT_EQ(guv_yield(), 0);
    ++*(long *)arg;
}

static void bump_after_spawn(void *arg) {
    ASSERT(guv_spawn(bump, arg) >= 1);
    ++*(long *)arg;
}

/* Spawn and exit REL_SPAWNS green threads in batches (some yield first, some
 * spawn a child): every one runs, RSS stays flat, no fd is left open. */
static void test_spawn_exit_cycles(void) {
    const long cycles = rel_knob("REL_SPAWNS", 300000), batch = 100;
    void (*const kinds[])(void *) = {bump, bump_after_yield, bump, bump_after_spawn};
    struct rss_watch w = {0, 0};
    long ran = 0, done = 0;
    int fds_before = rel_fd_count();
    double t0 = guv_now();
    while (done < cycles) {
        long before = done;
        for (long i = 0; i < batch && done < cycles; i++) {
            void (*fn)(void *) = kinds[i % 4];
            ASSERT(guv_spawn(fn, &ran) >= 1);
            done += fn == bump_after_spawn ? 2 : 1;
        }
        ASSERT_EQ(guv_run(), 0);
        if (done / (cycles / 100 + 1) != before / (cycles / 100 + 1)) rss_sample(&w, done, cycles);
    }
    double secs = guv_now() - t0;
    ASSERT_EQ(ran, done);
    ASSERT_EQ(guv_count(), 0);
    rss_check(&w, "spawn/exit");
    ASSERT_EQ(rel_fd_count(), fds_before);
    printf("RESULT spawn_exit cycles=%ld seconds=%.2f ns_per_cycle=%.0f rss_warm_kib=%ld rss_peak_kib=%ld fds=%d\n",
           done, secs, secs * 1e9 / (double)done, w.warm, w.peak, fds_before);
}

/* One side of a socketpair ping-pong. In trampoline mode the socket is
 * non-blocking and each wait is an explicit guv_trampoline(): a wake-up with
 * no byte to read would show as EAGAIN. Otherwise guv_read/guv_write wait. */
struct side {
    int fd;
    int trampoline;
    long rounds; /* pinger: round trips to make; ponger: bytes echoed */
    long waits;
};

static char get_byte(struct side *s) {
    char c;
    if (s->trampoline) {
        ASSERT_EQ(guv_trampoline(s->fd, GUV_READ), GUV_READ);
        s->waits++;
        ssize_t n = read(s->fd, &c, 1);
        if (n == 0) return 0;
        ASSERT_EQ(n, 1);
    } else {
        ssize_t n = guv_read(s->fd, &c, 1);
        if (n == 0) return 0;
        ASSERT_EQ(n, 1);
        s->waits++;
    }
    return c;
}

static void put_byte(struct side *s, char c) {
    if (s->trampoline) ASSERT_EQ(write(s->fd, &c, 1), 1);
    else ASSERT_EQ(guv_write(s->fd, &c, 1), 1);
}

static void pinger(void *arg) {
    struct side *s = arg;
    for (long i = 0; i < s->rounds; i++) {
        char c = (char)(1 + i % 100);
        put_byte(s, c);
        ASSERT_EQ(get_byte(s), c);
    }
    ASSERT_OK(guv_close(s->fd));
}

static void ponger(void *arg) {
    struct side *s = arg;
    char c;
    while ((c = get_byte(s)) != 0) {
        put_byte(s, c);
        s->rounds++;
    }
    ASSERT_OK(guv_close(s->fd));
}

/* REL_WAITS fd waits: four socketpairs at a time ping-pong 1000 round trips
 * each (two waits per round trip), then are closed and replaced. RSS stays
 * flat and every socket is closed. */
static void test_fd_waits(void) {
    enum { PAIRS = 4, ROUNDS = 1000 };
    const long total = rel_knob("REL_WAITS", 100000);
    struct rss_watch w = {0, 0};
    long waits = 0, batches = 0;
    int fds_before = rel_fd_count();
    double t0 = guv_now();
    while (waits < total) {
        struct side ping[PAIRS], pong[PAIRS];
        for (int p = 0; p < PAIRS; p++) {
            int sv[2];
            ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
            int tramp = (int)((batches + p) & 1);
            if (tramp) {
                ASSERT_OK(fcntl(sv[0], F_SETFL, O_NONBLOCK));
                ASSERT_OK(fcntl(sv[1], F_SETFL, O_NONBLOCK));
            }
            ping[p] = (struct side){sv[0], tramp, ROUNDS, 0};
            pong[p] = (struct side){sv[1], tramp, 0, 0};
            ASSERT(guv_spawn(pinger, &ping[p]) >= 1);
            ASSERT(guv_spawn(ponger, &pong[p]) >= 1);
        }
        ASSERT_EQ(guv_run(), 0);
        for (int p = 0; p < PAIRS; p++) {
            ASSERT_EQ(pong[p].rounds, ROUNDS);
            ASSERT_EQ(ping[p].waits, ROUNDS);
            /* the ponger's last wait is woken by the pinger's close */
            ASSERT_EQ(pong[p].waits, ROUNDS + pong[p].trampoline);
            waits += ping[p].waits + pong[p].waits;
        }
        batches++;
        rss_sample(&w, waits, total);
    }
    double secs = guv_now() - t0;
    rss_check(&w, "fd waits");
    ASSERT_EQ(rel_fd_count(), fds_before);
    printf("RESULT fd_waits waits=%ld socketpairs=%ld seconds=%.2f ns_per_wait=%.0f rss_warm_kib=%ld rss_peak_kib=%ld fds=%d\n",
           waits, batches * PAIRS, secs, secs * 1e9 / (double)waits, w.warm, w.peak, fds_before);
}

static double wake_at;
static long woke;
static long late_ms_max;

static void sleep_until_wake_at(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(wake_at - guv_now()), 0);
    double late = guv_now() - wake_at;
    ASSERT(late >= 0);
    if ((long)(late * 1e3) > late_ms_max) late_ms_max = (long)(late * 1e3);
    woke++;
}

static long alive_seen, maps_seen, rss_seen;

/* Runs after every sleeper has started (the run queue is FIFO): all of them
 * are suspended now, each on its own guarded stack. */
static void observe(void *arg) {
    (void)arg;
    alive_seen = guv_count();
    maps_seen = rel_map_count();
    rss_seen = rel_rss_kib();
}

/* REL_THREADS green threads on 64 KiB stacks (GUV_STACK_SIZE=65536) sleep at
 * once: the guards are MADV_GUARD_INSTALL ones, the mappings stay far below
 * vm.max_map_count, and every sleeper wakes, none before its time. */
static void test_many_sleepers(void) {
    const long n = rel_knob("REL_THREADS", 100000);
    ASSERT_EQ(guv_stack_size(), 65536);
    long max_maps = 0;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    ASSERT(f && fscanf(f, "%ld", &max_maps) == 1);
    fclose(f);
    long maps_before = rel_map_count(), rss_before = rel_rss_kib();
    double t0 = guv_now();
    for (long i = 0; i < n; i++) ASSERT(guv_spawn(sleep_until_wake_at, NULL) >= 1);
    ASSERT(guv_spawn(observe, NULL) >= 1);
    double spawned = guv_now();
    /* Generous: starting them all must not outlast the sleep. */
    wake_at = spawned + 1.0 + (double)n * 5e-6;
    ASSERT_EQ(guv_run(), 0);
    double end = guv_now();
    ASSERT_EQ(guv_guard_kind(), GUV_GUARD_MADVISE);
    ASSERT_EQ(woke, n);
    ASSERT_EQ(alive_seen, n + 1); /* and the observer */
    ASSERT(end >= wake_at);
    /* One mapping per arena of up to 8192 stacks, not one per stack. */
    ASSERT(maps_seen - maps_before < n / 1000 + 100);
    ASSERT(maps_seen < max_maps / 10);
    printf("RESULT sleepers threads=%ld spawn_seconds=%.2f total_seconds=%.2f maps_before=%ld maps_peak=%ld "
           "max_map_count=%ld rss_kib_per_thread=%.1f latest_wake_ms=%ld\n",
           n, spawned - t0, end - t0, maps_before, maps_seen, max_maps,
           (double)(rss_seen - rss_before) / (double)n, late_ms_max);
}

int main(int argc, char **argv) {
    /* The hub's own epoll fd and eventfd open before any fd count. */
    ASSERT_EQ(guv_yield(), 0);
    /* One test by name (as make's soak runs do), else all. */
    const char *only = argc > 1 ? argv[1] : NULL;
    if (!only || !strcmp(only, "spawn")) RUN(test_spawn_exit_cycles);
    if (!only || !strcmp(only, "waits")) RUN(test_fd_waits);
    if (!only || !strcmp(only, "sleepers")) RUN(test_many_sleepers);
    return 0;
}
