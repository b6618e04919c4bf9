/*
 * Fuzz target: the input bytes are a random sequence of guv calls made by
 * main and by up to eight green threads that take turns reading the next
 * operation from the same byte stream (the hub is single-threaded, so a given
 * input always runs the same way).
 *
 * Invariants checked on every input:
 *   - every call (spawn, sleep, yield, kill, join, trampoline, close,
 *     deadlines, read/write, park/unpark, interrupt) answers with a result or
 *     an errno its documentation allows,
 *     and the exact errno where the case is clear (NaN -> EINVAL, join of self
 *     -> EDEADLK, an id never issued -> ESRCH, timeout_end with none open ->
 *     EPERM, a killed green thread's next sleep -> ECANCELED);
 *   - no stale wake-up: a trampoline that returns GUV_READ finds a byte or
 *     end-of-file unless someone read the socket meanwhile; a sleep that
 *     returns 0 has lasted its time;
 *   - every green thread ends: guv_run() returns 0, or EDEADLK only when the
 *     green threads left all wait in joins without deadline on each other;
 *     after killing the rest guv_run() returns 0 and guv_count() is 0;
 *   - no fd is leaked across an input.
 *
 * Built with clang -fsanitize=fuzzer against a libguv.a whose Rust code has
 * sancov instrumentation (mk/reliability.mk), or with -DFUZZ_STANDALONE as a
 * driver that replays files or runs seeded random inputs.
 */
#include <fcntl.h>
#include <math.h>
#include <sys/socket.h>

#define TEST_TIMEOUT 600
#include "../tests/reliability/rel.h"

enum { MAXW = 8, NSOCK = 6 /* three socketpairs: ends 2k and 2k+1 */, NOPS = 17 };

enum wait_kind { W_NONE, W_SLEEP, W_JOIN, W_FD, W_PARK };

struct worker {
    int64_t id;
    int started, ended, killed;
    int interrupted; /* guv_interrupt()s not yet answered with EINTR */
    int deadlines;  /* guv_timeout_begin() depth */
    enum wait_kind wait;
    int wait_deadline;  /* a deadline was open during the wait */
    int join_target;    /* worker index joined, or -1 */
    int park_forever;   /* parked without timeout */
};

static struct {
    const uint8_t *data;
    size_t size, pos;
    struct worker w[MAXW];
    int nw;
    int fd[NSOCK];
    int closed[NSOCK];
    int nonblock[NSOCK];
    long reads[NSOCK];
    int main_deadlines;
    int main_interrupted;
    int64_t old_id; /* an id of an earlier input's (ended) green thread */
    int trace;      /* FUZZ_TRACE set: print each operation */
} S;

static int take(void) { return S.pos < S.size ? S.data[S.pos++] : -1; }
static int arg(void) {
    int b = take();
    return b < 0 ? 0 : b;
}

static const char *who(int self) { return self < 0 ? "main" : "a green thread"; }

/* `r` must be ok_value-ish (not -1) or -1 with one of `allowed` (0-terminated). */
static void check_errno(const char *call, int self, long long r, int err, const int *allowed) {
    if (r != -1) return;
    for (const int *a = allowed; *a; a++)
        if (*a == err) return;
    FAIL("%s in %s returned -1 with undocumented errno %s", call, who(self), test_errno_name(err));
}
#define ALLOW(...) ((const int[]){__VA_ARGS__, 0})

static double duration(int b) {
    switch (b % 8) {
    case 0: return 0;
    case 1: return -1;
    case 2: return NAN;
    default: return (b % 8) * 1e-4; /* 0.3 to 0.7 ms */
    }
}

/* Picks a green-thread id: one of this input's, self, or ones never valid. */
static int64_t pick_id(int self, int *widx) {
    int b = arg();
    *widx = -1;
    int n = S.nw + 4;
    int k = b % n;
    if (k < S.nw) {
        *widx = k;
        return S.w[k].id;
    }
    switch (k - S.nw) {
    case 0: return 0;
    case 1: return -1 - b;
    case 2: return S.old_id ? S.old_id : INT64_MAX;
    default: *widx = self; return self >= 0 ? S.w[self].id : INT64_MAX;
    }
}

static void worker(void *arg);

/* guv_kill/guv_unpark/guv_interrupt of `id` (picked by pick_id, worker `w`):
 * 0 for an id this hub issued (ended or not; with `zero_is_main`, 0 too),
 * else -1 ESRCH. Returns whether it succeeded on a live worker. */
static int check_id_call(const char *call, int64_t id, int w, int zero_is_main, int r, int e) {
    int valid = w >= 0 || (S.old_id && id == S.old_id) || (zero_is_main && id == 0);
    if (valid && r != 0) FAIL("%s(%lld) of an issued id returned %d (%s)", call, (long long)id, r, test_errno_name(e));
    if (!valid && (r != -1 || e != ESRCH))
        FAIL("%s(%lld) of an id never issued returned %d (%s)", call, (long long)id, r, test_errno_name(e));
    return w >= 0 && !S.w[w].ended;
}

static int *interrupted(int self) { return self < 0 ? &S.main_interrupted : &S.w[self].interrupted; }

/* A blocking call may end early: past an open deadline, killed, or
 * interrupted (which answers once). */
static int preempted(int self, long long r, int e, int killed) {
    /* (a second interrupt that comes after the first has woken the call,
     * before the caller ran, is kept for its next blocking call) */
    if (r == -1 && e == EINTR && *interrupted(self) > 0) {
        --*interrupted(self);
        return 1;
    }
    return r == -1 && ((e == ETIMEDOUT && (self < 0 || S.w[self].deadlines > 0)) || (e == ECANCELED && killed));
}


/* The blocking ops of main run under a short deadline, so that main never
 * waits for ever whatever the green threads do. */
static void main_deadline_begin(int self) {
    if (self < 0) {
        ASSERT_EQ(guv_timeout_begin(0.002), 0);
        S.main_deadlines++;
    }
}
static void main_deadline_end(int self) {
    if (self < 0) {
        ASSERT_EQ(guv_timeout_end(), 0);
        S.main_deadlines--;
    }
}

static int deadline_open(int self) { return self < 0 ? 1 : S.w[self].deadlines > 0; }

static void set_wait(int self, enum wait_kind k, int target) {
    if (self < 0) return;
    S.w[self].wait = k;
    S.w[self].wait_deadline = S.w[self].deadlines > 0;
    S.w[self].join_target = target;
}

/* Runs one operation for `self` (-1 is main). Returns 0 to go on, 1 when
 * the caller must stop (input exhausted, or a green thread was killed). */
static int step(int self) {
    int op = take();
    if (op < 0) return 1;
    int killed_before = self >= 0 && S.w[self].killed;
    if (S.trace) fprintf(stderr, "[%s %d] op %d, next %d, %.6f\n", self < 0 ? "main" : "w", self, op % NOPS, S.pos < S.size ? S.data[S.pos] : -1, guv_now());
    switch (op % NOPS) {
    case 0: { /* spawn */
        if (S.nw == MAXW) break;
        int64_t id = guv_spawn(worker, (void *)(intptr_t)S.nw);
        check_errno("guv_spawn", self, id, errno, ALLOW(ENOMEM, EAGAIN));
        if (id < 0) break;
        ASSERT(id >= 1);
        S.w[S.nw++] = (struct worker){.id = id, .join_target = -1};
        break;
    }
    case 1: { /* sleep */
        double s = duration(arg());
        main_deadline_begin(self);
        set_wait(self, W_SLEEP, -1);
        double t0 = guv_now();
        int r = guv_sleep(s);
        int e = errno;
        double slept = guv_now() - t0;
        set_wait(self, W_NONE, -1);
        main_deadline_end(self);
        if (isnan(s)) {
            if (r != -1 || e != EINVAL) FAIL("guv_sleep(NaN) returned %d (%s), not EINVAL", r, test_errno_name(e));
            break;
        }
        int intr = *interrupted(self);
        if (!preempted(self, r, e, killed_before)) check_errno("guv_sleep", self, r, e, ALLOW(ECANCELED, ETIMEDOUT));
        if (r == 0 && slept < s - 1e-6) FAIL("guv_sleep(%g) returned 0 after %g s", s, slept);
        if (killed_before && s > 0 && !(r == -1 && (e == ECANCELED || (e == EINTR && intr))))
            FAIL("a killed green thread's guv_sleep(%g) returned %d (%s)", s, r, test_errno_name(e));
        if (r == -1 && e == ETIMEDOUT && !deadline_open(self)) FAIL("guv_sleep: ETIMEDOUT with no deadline open");
        if (r == -1 && e == ECANCELED) return 1;
        break;
    }
    case 2: /* yield */
    {
        int r = guv_yield();
        int e = errno;
        /* a killed or timed-out caller learns it at a yield too */
        if (r != 0 && !preempted(self, r, e, killed_before)) FAIL("guv_yield in %s failed with %s", who(self), test_errno_name(e));
        if (r == -1 && e == ECANCELED) return 1;
        break;
    }
    case 3: { /* kill */
        int w;
        int64_t id = pick_id(self, &w);
        int r = guv_kill(id);
        if (check_id_call("guv_kill", id, w, 0, r, errno)) S.w[w].killed = 1;
        break;
    }
    case 4: { /* join */
        int w;
        int64_t id = pick_id(self, &w);
        main_deadline_begin(self);
        set_wait(self, W_JOIN, w);
        int r = guv_join(id);
        int e = errno;
        set_wait(self, W_NONE, -1);
        main_deadline_end(self);
        if (preempted(self, r, e, killed_before)) {
        } else if (w >= 0 && w == self) {
            if (r != -1 || e != EDEADLK) FAIL("guv_join of self returned %d (%s)", r, test_errno_name(e));
        } else if (w >= 0 || (S.old_id && id == S.old_id)) {
            check_errno("guv_join", self, r, e, ALLOW(ECANCELED, ETIMEDOUT));
            if (r == 0 && w >= 0 && !S.w[w].ended) FAIL("guv_join returned 0 before its green thread ended");
        } else if (r != -1 || e != ESRCH) {
            FAIL("guv_join(%lld) of an id never issued returned %d (%s)", (long long)id, r, test_errno_name(e));
        }
        if (r == -1 && e == ETIMEDOUT && !deadline_open(self)) FAIL("guv_join: ETIMEDOUT with no deadline open");
        if (r == -1 && e == ECANCELED) return 1;
        break;
    }
    case 5:   /* trampoline */
    case 6: { /* trampoline with timeout */
        int b = arg(), k = b % NSOCK;
        int events = (b / NSOCK) % 5; /* 0 and 4 are invalid */
        int fd = (b & 0x80) ? -1 : S.fd[k];
        double t = duration(arg());
        long reads = S.reads[k];
        int closed = S.closed[k]; /* before the call: a close while it waits may follow a wake-up */
        main_deadline_begin(self);
        set_wait(self, W_FD, -1);
        int r = op % NOPS == 5 ? guv_trampoline(fd, events) : guv_trampoline_timeout(fd, events, t);
        int e = errno;
        set_wait(self, W_NONE, -1);
        main_deadline_end(self);
        if (events == 0 || events > 3) {
            if (r != -1 || (e != EINVAL && e != EBADF)) FAIL("guv_trampoline(events %d) returned %d (%s)", events, r, test_errno_name(e));
            break;
        }
        if (op % NOPS == 6 && isnan(t)) {
            if (r != -1 || (e != EINVAL && e != EBADF)) FAIL("guv_trampoline_timeout(NaN) returned %d (%s)", r, test_errno_name(e));
            break;
        }
        int pre = preempted(self, r, e, killed_before);
        if (fd < 0 && (r != -1 || e != EBADF)) FAIL("guv_trampoline(-1) returned %d (%s)", r, test_errno_name(e));
        if (closed && !pre && !(r == -1 && e == EBADF))
            FAIL("guv_trampoline%s on closed fd %d returned %d (%s)", op % NOPS == 6 ? "_timeout" : "", fd, r, test_errno_name(e));
        if (fd < 0 || closed) break;
        if (!pre) check_errno("guv_trampoline", self, r, e, ALLOW(EBADF, EBUSY, ECANCELED, ETIMEDOUT));
        if (r == -1 && e == EBADF && !S.closed[k]) FAIL("guv_trampoline: EBADF on an open fd");
        if (r != -1) {
            if (r == 0 || (r & ~events)) FAIL("guv_trampoline(%d) returned mask %d", events, r);
            if ((r & GUV_READ) && S.reads[k] == reads && !S.closed[k]) {
                char c;
                ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
                if (n < 0 && errno == EAGAIN) FAIL("stale wake-up: GUV_READ on fd %d with nothing to read", fd);
            }
            if (r & GUV_READ) {
                char buf[16];
                if (recv(fd, buf, 1 + arg() % 16, MSG_DONTWAIT) > 0) S.reads[k]++;
            }
        }
        if (r == -1 && e == ECANCELED) return 1;
        break;
    }
    case 7: { /* a plain write on a non-blocking end, to wake a reader */
        int k = arg() % NSOCK;
        if (S.closed[k] || !S.nonblock[k]) break;
        ssize_t n = write(S.fd[k], "w", 1);
        if (n < 0 && errno != EAGAIN && errno != EPIPE) FAIL("write: %s", strerror(errno));
        break;
    }
    case 8: { /* guv_close */
        int k = arg() % NSOCK;
        int r = guv_close(S.fd[k]);
        int e = errno;
        if (S.closed[k]) {
            if (r != -1 || e != EBADF) FAIL("guv_close of a closed fd returned %d (%s)", r, test_errno_name(e));
        } else if (r != 0) {
            FAIL("guv_close of an open fd returned %d (%s)", r, test_errno_name(e));
        }
        S.closed[k] = 1;
        break;
    }
    case 9: { /* timeout_begin */
        int b = arg();
        double s = duration(b);
        int r = guv_timeout_begin(s);
        int e = errno;
        if (isnan(s)) {
            if (r != -1 || e != EINVAL) FAIL("guv_timeout_begin(NaN) returned %d (%s)", r, test_errno_name(e));
            break;
        }
        if (r != 0) FAIL("guv_timeout_begin(%g) returned %d (%s)", s, r, test_errno_name(e));
        if (self < 0) S.main_deadlines++;
        else S.w[self].deadlines++;
        break;
    }
    case 10: { /* timeout_end */
        int *depth = self < 0 ? &S.main_deadlines : &S.w[self].deadlines;
        int r = guv_timeout_end();
        int e = errno;
        if (*depth == 0) {
            if (r != -1 || e != EPERM) FAIL("guv_timeout_end with none open returned %d (%s)", r, test_errno_name(e));
        } else {
            if (r != 0) FAIL("guv_timeout_end returned %d (%s)", r, test_errno_name(e));
            --*depth;
        }
        break;
    }
    case 11: { /* guv_read */
        int b = arg(), k = b % NSOCK;
        char buf[16];
        main_deadline_begin(self);
        set_wait(self, W_FD, -1);
        int closed = S.closed[k];
        ssize_t n = guv_read(S.fd[k], buf, 1 + (b / NSOCK) % 16);
        int e = errno;
        set_wait(self, W_NONE, -1);
        main_deadline_end(self);
        if (n > 0) S.reads[k]++;
        int pre = preempted(self, n, e, killed_before);
        if (closed && !pre && !(n == -1 && e == EBADF))
            FAIL("guv_read of a closed fd returned %zd (%s)", n, test_errno_name(e));
        if (S.closed[k]) break;
        if (n == -1 && e == EAGAIN && !S.nonblock[k]) FAIL("guv_read: EAGAIN on a blocking fd");
        if (!pre) check_errno("guv_read", self, n, e, ALLOW(EAGAIN, EBADF, EBUSY, ECANCELED, ETIMEDOUT, ECONNRESET));
        if (n == -1 && e == ECANCELED) return 1;
        break;
    }
    case 12: { /* guv_write */
        int b = arg(), k = b % NSOCK;
        static const char msg[16] = "0123456789abcdef";
        main_deadline_begin(self);
        set_wait(self, W_FD, -1);
        int closed = S.closed[k];
        ssize_t n = guv_write(S.fd[k], msg, 1 + (b / NSOCK) % 16);
        int e = errno;
        set_wait(self, W_NONE, -1);
        main_deadline_end(self);
        int pre = preempted(self, n, e, killed_before);
        if (closed && !pre && !(n == -1 && e == EBADF))
            FAIL("guv_write of a closed fd returned %zd (%s)", n, test_errno_name(e));
        if (S.closed[k]) break;
        if (n == -1 && e == EAGAIN && !S.nonblock[k]) FAIL("guv_write: EAGAIN on a blocking fd");
        if (!pre) check_errno("guv_write", self, n, e, ALLOW(EAGAIN, EBADF, EBUSY, ECANCELED, ETIMEDOUT, EPIPE, ECONNRESET));
        if (n == -1 && e == ECANCELED) return 1;
        break;
    }
    case 14: { /* park */
        double t = duration(arg());
        main_deadline_begin(self);
        set_wait(self, W_PARK, -1);
        if (self >= 0) S.w[self].park_forever = t < 0;
        int r = guv_park(t);
        int e = errno;
        set_wait(self, W_NONE, -1);
        main_deadline_end(self);
        if (isnan(t)) {
            if (r != -1 || e != EINVAL) FAIL("guv_park(NaN) returned %d (%s), not EINVAL", r, test_errno_name(e));
            break;
        }
        if (!preempted(self, r, e, killed_before)) {
            check_errno("guv_park", self, r, e, ALLOW(ETIMEDOUT, ECANCELED, EDEADLK));
            if (r == -1 && e == ETIMEDOUT && t < 0 && !deadline_open(self)) FAIL("guv_park(-1): ETIMEDOUT with no deadline open");
            if (r == -1 && e == EDEADLK && (t >= 0 || deadline_open(self)))
                FAIL("guv_park(%g) in %s: EDEADLK though a timer would end it", t, who(self));
        }
        if (r == -1 && e == ECANCELED) return 1;
        break;
    }
    case 15: { /* unpark */
        int w;
        int64_t id = pick_id(self, &w);
        int r = guv_unpark(id);
        check_id_call("guv_unpark", id, w, 1, r, errno);
        break;
    }
    case 16: { /* interrupt */
        int w;
        int64_t id = pick_id(self, &w);
        int r = guv_interrupt(id);
        if (check_id_call("guv_interrupt", id, w, 1, r, errno)) S.w[w].interrupted++;
        if (r == 0 && id == 0) S.main_interrupted++;
        break;
    }
    case 13: /* a green thread returns early */
        if (self >= 0) return 1;
        break;
    }
    return 0;
}

static void worker(void *arg) {
    int self = (int)(intptr_t)arg;
    struct worker *me = &S.w[self];
    ASSERT_EQ(guv_current(), me->id);
    me->started = 1;
    while (step(self) == 0) {}
    me->wait = W_NONE;
    me->ended = 1;
}

/* After guv_run() failed with EDEADLK: every green thread left waits,
 * without deadline, in a join of another that does the same or parked. */
static void check_deadlock_is_a_join_cycle(void) {
    int live = 0;
    for (int i = 0; i < S.nw; i++) {
        struct worker *w = &S.w[i];
        if (w->ended) continue;
        live++;
        if (!w->started) FAIL("EDEADLK with green thread %d never started", i);
        int stuck_join = w->wait == W_JOIN && w->join_target >= 0 && !S.w[w->join_target].ended;
        int stuck_park = w->wait == W_PARK && w->park_forever;
        if (w->wait_deadline || !(stuck_join || stuck_park))
            FAIL("EDEADLK but green thread %d waits in %d (deadline %d, target %d)", i, (int)w->wait, w->wait_deadline, w->join_target);
    }
    if (live == 0 || guv_count() != live) FAIL("EDEADLK with %d live green threads, guv_count %lld", live, (long long)guv_count());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fds_at_start = -1;
    signal(SIGPIPE, SIG_IGN);
    test_name = "fuzz_api";
    S.trace = getenv("FUZZ_TRACE") != NULL;
    memset(&S.w, 0, sizeof S.w);
    S.data = data, S.size = size, S.pos = 0, S.nw = 0, S.main_deadlines = 0, S.main_interrupted = 0;
    ASSERT_EQ(guv_count(), 0);
    if (fds_at_start < 0) {
        ASSERT_EQ(guv_yield(), 0); /* the hub's epoll fd and eventfd are not a leak */
        fds_at_start = rel_fd_count();
    }
    for (int k = 0; k < NSOCK; k += 2) {
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, &S.fd[k]), 0);
        /* the first pair blocks, the others are non-blocking */
        S.nonblock[k] = S.nonblock[k + 1] = k > 0;
        if (k > 0) {
            ASSERT_OK(fcntl(S.fd[k], F_SETFL, O_NONBLOCK));
            ASSERT_OK(fcntl(S.fd[k + 1], F_SETFL, O_NONBLOCK));
        }
        S.closed[k] = S.closed[k + 1] = 0;
        S.reads[k] = S.reads[k + 1] = 0;
    }

    while (step(-1) == 0) {}
    while (S.main_deadlines > 0) {
        ASSERT_EQ(guv_timeout_end(), 0);
        S.main_deadlines--;
    }
    ASSERT_ERRNO(guv_timeout_end(), EPERM);
    /* An interrupt of main still pending would hit the next input: take it. */
    while (S.main_interrupted > 0) {
        int r = guv_sleep(1e-6);
        if (r == 0) break;
        if (errno != EINTR) FAIL("guv_sleep(1e-6) in main: %s", test_errno_name(errno));
        S.main_interrupted--;
    }

    /* Unless a green thread waits on an fd for ever, the hub must finish by
     * itself: every green thread ends, or a join cycle is reported. */
    int fd_forever = 0;
    for (int i = 0; i < S.nw; i++)
        fd_forever |= !S.w[i].ended && S.w[i].wait == W_FD && !S.w[i].wait_deadline;
    if (!fd_forever) {
        int r = guv_run();
        int e = errno;
        if (r == -1 && e == EDEADLK) check_deadlock_is_a_join_cycle();
        else if (r == -1 && e == EINTR && S.main_interrupted) FAIL("guv_run: EINTR (an interrupt of main left pending), undocumented");
        else if (r != 0) FAIL("guv_run returned %d (%s)", r, test_errno_name(e));
    }
    for (int i = 0; i < S.nw; i++) ASSERT_EQ(guv_kill(S.w[i].id), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_count(), 0);
    for (int i = 0; i < S.nw; i++)
        if (!S.w[i].ended) FAIL("green thread %d never ended", i);
    if (S.nw > 0) S.old_id = S.w[S.nw - 1].id;

    for (int k = 0; k < NSOCK; k++)
        if (!S.closed[k]) ASSERT_OK(guv_close(S.fd[k]));
    for (int k = 0; k < NSOCK; k++) ASSERT_ERRNO(fcntl(S.fd[k], F_GETFD), EBADF);
    /* (libFuzzer opens pipes to a symbolizer for NEW_FUNC lines: run it
     * with -print_funcs=0) */
    ASSERT_EQ(rel_fd_count(), fds_at_start);
    return 0;
}

#ifdef FUZZ_STANDALONE
/* Replays the files named on the command line; with none, runs random
 * inputs from a fixed seed (FUZZ_SEED) for FUZZ_SECONDS seconds. */
int main(int argc, char **argv) {
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            ASSERT(f != NULL);
            static uint8_t buf[1 << 16];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
        }
        printf("fuzz_api: replayed %d inputs\n", argc - 1);
        return 0;
    }
    uint64_t x = (uint64_t)rel_knob("FUZZ_SEED", 1) | 1;
    double end = guv_now() + (double)rel_knob("FUZZ_SECONDS", 10);
    long runs = 0;
    static uint8_t buf[512];
    while (guv_now() < end) {
        size_t n = 1 + (size_t)(x % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        const char *dump = getenv("FUZZ_DUMP");
        if (dump) { /* the input about to run, kept if it fails */
            FILE *f = fopen(dump, "wb");
            ASSERT(f != NULL);
            fwrite(buf, 1, n, f);
            fclose(f);
        }
        LLVMFuzzerTestOneInput(buf, n);
        runs++;
    }
    printf("fuzz_api: %ld random inputs passed\n", runs);
    return 0;
}
#endif
