/* Misuse of the C API (issue 10): every case answers with its documented
 * result (-1 and errno, or the documented success) — never a crash, a hang
 * or a silent success. Table-driven: each row names where the call is made,
 * the call, and the expected return value and errno. */
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "test.h"

/* Where a row's call is made. */
enum where {
    MAIN,        /* main, outside any green thread */
    GREEN,       /* inside a green thread */
    ON_HUB,      /* inside guv_call_on_hub() from a green thread */
    ON_HUB_MAIN, /* inside guv_call_on_hub() from main */
    KILLED,      /* inside a green thread that has been killed */
    EXPIRED,     /* inside a green thread whose deadline has passed */
    REFUSED,     /* inside a green thread whose hooks' may_switch says no */
    FOREIGN,     /* on another OS thread (with a hub of its own) */
    GONE,        /* on an OS thread whose hub is already torn down */
};

static const char *const where_name[] = {"main", "green", "on-hub", "on-hub-main", "killed",
                                         "expired", "refused", "foreign", "gone"};

/* What the rows refer to; set up by make_fixtures(). */
static struct {
    int fd, peer;      /* a quiet socket pair, a green thread reading fd */
    int closed;        /* waited on, then closed with close(2) */
    int closed_guv;    /* waited on, then closed with guv_close() */
    int unseen;        /* never open */
    int64_t ended;     /* a green thread of this hub that has ended */
    int64_t never;     /* an id this hub never issued */
    int64_t live;      /* a green thread of this hub, sleeping */
    int64_t other;     /* an id issued by another (exited) thread's hub */
    guv_hub *hub;      /* this thread's hub */
    guv_hub *dead_hub; /* the hub of an exited thread */
} fx;

static int hub_self_result(void) {
    guv_hub *h = guv_hub_self();
    if (!h) return -1;
    guv_hub_release(h);
    return 0;
}

/* X(where, call, expected return, expected errno when it returns -1) */
#define MISUSE(X)                                                          \
    /* NULL functions */                                                   \
    X(MAIN, guv_spawn(NULL, NULL), -1, EINVAL)                             \
    X(MAIN, guv_spawn_ex(NULL, NULL, 0), -1, EINVAL)                       \
    X(MAIN, guv_call_on_hub(NULL, NULL), -1, EINVAL)                       \
    X(MAIN, guv_offload(NULL, NULL), -1, EINVAL)                           \
    X(MAIN, guv_hub_spawn(fx.hub, NULL, NULL), -1, EINVAL)                 \
    X(GREEN, guv_spawn(NULL, NULL), -1, EINVAL)                            \
    /* stack sizes */                                                      \
    X(MAIN, guv_spawn_ex(test_noop, NULL, 1), -1, EINVAL)                  \
    X(MAIN, guv_spawn_ex(test_noop, NULL, 16 * 1024 - 1), -1, EINVAL)      \
    X(MAIN, guv_set_stack_size(0), -1, EINVAL)                             \
    X(MAIN, guv_set_stack_size(16 * 1024 - 1), -1, EINVAL)                 \
    /* NaN, negative and infinite durations */                             \
    X(MAIN, guv_sleep(NAN), -1, EINVAL)                                    \
    X(MAIN, guv_sleep(-NAN), -1, EINVAL)                                   \
    X(GREEN, guv_sleep(NAN), -1, EINVAL)                                   \
    X(MAIN, guv_timeout_begin(NAN), -1, EINVAL)                            \
    X(MAIN, guv_trampoline_timeout(fx.peer, GUV_WRITE, NAN), -1, EINVAL)   \
    X(MAIN, guv_sleep(-1), 0, 0)                                           \
    X(MAIN, guv_sleep(-INFINITY), 0, 0)                                    \
    X(GREEN, guv_sleep(-INFINITY), 0, 0)                                   \
    X(MAIN, guv_trampoline_timeout(fx.peer, GUV_WRITE, -1), GUV_WRITE, 0)  \
    X(MAIN, guv_trampoline_timeout(fx.peer, GUV_WRITE, INFINITY), GUV_WRITE, 0) \
    X(MAIN, guv_trampoline_timeout(fx.peer, GUV_READ, 0), -1, ETIMEDOUT)   \
    X(MAIN, guv_timeout_begin(INFINITY), 0, 0)                             \
    X(MAIN, guv_timeout_end(), 0, 0)                                       \
    /* bad fds */                                                          \
    X(MAIN, guv_trampoline(-1, GUV_READ), -1, EBADF)                       \
    X(MAIN, guv_trampoline(INT_MIN, GUV_WRITE), -1, EBADF)                 \
    X(MAIN, guv_trampoline_timeout(-1, GUV_READ, 0), -1, EBADF)            \
    X(MAIN, guv_trampoline(fx.closed, GUV_READ), -1, EBADF)                \
    X(MAIN, guv_trampoline_timeout(fx.closed, GUV_WRITE, 0), -1, EBADF)    \
    X(MAIN, guv_trampoline(fx.closed_guv, GUV_READ), -1, EBADF)            \
    X(MAIN, guv_trampoline(fx.unseen, GUV_WRITE), -1, EBADF)               \
    X(MAIN, guv_trampoline_timeout(fx.unseen, GUV_READ, 0.01), -1, EBADF)  \
    X(MAIN, guv_trampoline(INT_MAX, GUV_READ), -1, EBADF)                  \
    X(GREEN, guv_trampoline(INT_MAX - 1, GUV_WRITE), -1, EBADF)            \
    X(GREEN, guv_trampoline(fx.closed, GUV_READ), -1, EBADF)               \
    X(GREEN, guv_trampoline(fx.unseen, GUV_READ), -1, EBADF)               \
    X(MAIN, guv_close(-1), -1, EBADF)                                      \
    X(MAIN, guv_close(fx.closed), -1, EBADF)                               \
    X(MAIN, guv_close(fx.closed_guv), -1, EBADF)                           \
    X(MAIN, guv_close(fx.unseen), -1, EBADF)                               \
    X(MAIN, guv_close(INT_MAX), -1, EBADF)                                 \
    /* bad event masks */                                                  \
    X(MAIN, guv_trampoline(fx.peer, 0), -1, EINVAL)                        \
    X(MAIN, guv_trampoline(fx.peer, 4), -1, EINVAL)                        \
    X(MAIN, guv_trampoline(fx.peer, -1), -1, EINVAL)                       \
    X(MAIN, guv_trampoline(fx.peer, GUV_READ | 8), -1, EINVAL)             \
    X(MAIN, guv_trampoline_timeout(fx.peer, 0, 0), -1, EINVAL)             \
    /* a second waiter for the same event */                               \
    X(MAIN, guv_trampoline_timeout(fx.fd, GUV_READ, 0.01), -1, EBUSY)      \
    X(GREEN, guv_trampoline(fx.fd, GUV_READ | GUV_WRITE), -1, EBUSY)       \
    /* ids: 0, negative, never issued, of another hub, ended */            \
    X(MAIN, guv_join(0), -1, ESRCH)                                        \
    X(MAIN, guv_join(-1), -1, ESRCH)                                       \
    X(MAIN, guv_join(INT64_MIN), -1, ESRCH)                                \
    X(MAIN, guv_join(1), -1, ESRCH)                                        \
    X(MAIN, guv_join(INT64_MAX), -1, ESRCH)                                \
    X(MAIN, guv_join(fx.never), -1, ESRCH)                                 \
    X(MAIN, guv_join(fx.other), -1, ESRCH)                                 \
    X(MAIN, guv_join(fx.ended), 0, 0)                                      \
    X(GREEN, guv_join(fx.other), -1, ESRCH)                                \
    X(GREEN, guv_join(guv_current()), -1, EDEADLK)                         \
    X(MAIN, guv_kill(0), -1, ESRCH)                                        \
    X(MAIN, guv_kill(-42), -1, ESRCH)                                      \
    X(MAIN, guv_kill(fx.never), -1, ESRCH)                                 \
    X(MAIN, guv_kill(fx.other), -1, ESRCH)                                 \
    X(MAIN, guv_kill(fx.ended), 0, 0)                                      \
    X(GREEN, guv_kill(fx.ended), 0, 0)                                     \
    X(MAIN, guv_hub_kill(fx.hub, 0), -1, ESRCH)                            \
    X(MAIN, guv_hub_kill(fx.hub, fx.other), -1, ESRCH)                     \
    X(MAIN, guv_hub_kill(fx.hub, fx.never), 0, 0) /* not checkable there */ \
    /* run inside a green thread or a hub-stack callback */                \
    X(GREEN, guv_run(), -1, EPERM)                                         \
    X(ON_HUB, guv_run(), -1, EPERM)                                        \
    X(ON_HUB_MAIN, guv_run(), -1, EPERM)                                   \
    /* blocking calls from a hub-stack callback */                         \
    X(ON_HUB, guv_yield(), -1, EPERM)                                      \
    X(ON_HUB, guv_sleep(0.001), -1, EPERM)                                 \
    X(ON_HUB, guv_sleep(0), -1, EPERM)                                     \
    X(ON_HUB, guv_join(fx.live), -1, EPERM)                                \
    X(ON_HUB, guv_trampoline(fx.peer, GUV_READ), -1, EPERM)                \
    X(ON_HUB, guv_trampoline_timeout(fx.peer, GUV_READ, 1), -1, EPERM)     \
    X(ON_HUB, guv_offload(test_noop, NULL), -1, EPERM)                     \
    X(ON_HUB_MAIN, guv_sleep(0.001), -1, EPERM)                            \
    X(ON_HUB_MAIN, guv_join(fx.live), -1, EPERM)                           \
    X(ON_HUB_MAIN, guv_trampoline(fx.peer, GUV_READ), -1, EPERM)           \
    /* deadlines ended more often than begun */                            \
    X(MAIN, guv_timeout_end(), -1, EPERM)                                  \
    X(GREEN, guv_timeout_end(), -1, EPERM)                                 \
    X(ON_HUB, guv_timeout_end(), -1, EPERM)                                \
    /* blocking after a kill, after a deadline, with switching refused */  \
    X(KILLED, guv_sleep(0.001), -1, ECANCELED)                             \
    X(KILLED, guv_join(fx.live), -1, ECANCELED)                            \
    X(KILLED, guv_trampoline(fx.peer, GUV_READ), -1, ECANCELED)            \
    X(KILLED, guv_kill(guv_current()), 0, 0)                               \
    X(EXPIRED, guv_sleep(1), -1, ETIMEDOUT)                                \
    X(EXPIRED, guv_join(fx.live), -1, ETIMEDOUT)                           \
    X(EXPIRED, guv_trampoline(fx.peer, GUV_READ), -1, ETIMEDOUT)           \
    X(REFUSED, guv_sleep(0.001), -1, EACCES)                              \
    X(REFUSED, guv_join(fx.live), -1, EACCES)                             \
    X(REFUSED, guv_offload(test_noop, NULL), -1, EACCES)                  \
    X(REFUSED, guv_trampoline(fx.peer, GUV_READ), -1, EACCES)             \
    X(MAIN, guv_check(), 0, 0)                                             \
    X(KILLED, guv_check(), -1, ECANCELED)                                  \
    X(EXPIRED, guv_check(), -1, ETIMEDOUT)                                 \
    /* guv_trampoline_after_eagain: guv_trampoline_timeout's errors */     \
    X(MAIN, guv_trampoline_after_eagain(-1, GUV_READ, 1), -1, EBADF)       \
    X(MAIN, guv_trampoline_after_eagain(fx.unseen, GUV_READ, 0.01), -1, EBADF) \
    X(MAIN, guv_trampoline_after_eagain(INT_MAX, GUV_READ, 0.01), -1, EBADF) \
    X(MAIN, guv_trampoline_after_eagain(fx.peer, 0, 1), -1, EINVAL)        \
    X(MAIN, guv_trampoline_after_eagain(fx.peer, 4, 1), -1, EINVAL)        \
    X(MAIN, guv_trampoline_after_eagain(fx.peer, GUV_READ, NAN), -1, EINVAL) \
    X(MAIN, guv_trampoline_after_eagain(fx.fd, GUV_READ, 0.01), -1, EBUSY) \
    X(ON_HUB, guv_trampoline_after_eagain(fx.peer, GUV_READ, 1), -1, EPERM) \
    X(KILLED, guv_trampoline_after_eagain(fx.peer, GUV_READ, 1), -1, ECANCELED) \
    X(EXPIRED, guv_trampoline_after_eagain(fx.peer, GUV_READ, 1), -1, ETIMEDOUT) \
    X(REFUSED, guv_trampoline_after_eagain(fx.peer, GUV_READ, 1), -1, EACCES) \
    /* hub handles */                                                      \
    X(MAIN, guv_hub_spawn(NULL, test_noop, NULL), -1, EINVAL)              \
    X(MAIN, guv_hub_spawn(fx.dead_hub, test_noop, NULL), -1, ESRCH)        \
    X(MAIN, guv_hub_kill(NULL, fx.live), -1, EINVAL)                       \
    X(MAIN, guv_hub_kill(fx.dead_hub, fx.other), -1, ESRCH)                \
    X(MAIN, guv_hub_hold(NULL), -1, EINVAL)                                \
    X(MAIN, guv_hub_unhold(NULL), -1, EINVAL)                              \
    X(MAIN, guv_hub_unhold(fx.hub), -1, EINVAL)                            \
    /* ids of this thread's hub used from another OS thread */             \
    X(FOREIGN, guv_join(fx.live), -1, ESRCH)                               \
    X(FOREIGN, guv_kill(fx.live), -1, ESRCH)                               \
    X(FOREIGN, guv_join(fx.ended), -1, ESRCH)                              \
    X(FOREIGN, guv_kill(fx.ended), -1, ESRCH)                              \
    X(FOREIGN, guv_hub_kill(fx.hub, fx.other), -1, ESRCH)                  \
    X(FOREIGN, guv_hub_unhold(fx.hub), -1, EINVAL)                         \
    /* calls after the hub's thread has exited */                          \
    X(GONE, guv_count(), -1, ESRCH)                                        \
    X(GONE, hub_self_result(), -1, ESRCH)                                  \
    X(GONE, guv_spawn(test_noop, NULL), -1, ESRCH)                         \
    X(GONE, guv_sleep(0.001), -1, ESRCH)                                   \
    X(GONE, guv_kill(fx.live), -1, ESRCH)                                  \
    X(GONE, guv_join(fx.live), -1, ESRCH)

struct row {
    const char *call;
    enum where where;
    long long rc;
    int err;
};

static const struct row rows[] = {
#define ROW(where, call, rc, err) {#call, where, rc, err},
    MISUSE(ROW)
#undef ROW
};
#define NROWS ((int)(sizeof rows / sizeof *rows))

/* Row i's call, numbered in the same order as `rows`. */
enum { COUNTER_BASE = __COUNTER__ };
static long long call_row(int i) {
    switch (i) {
#define CASE(where, call, rc, err) case __COUNTER__ - COUNTER_BASE - 1: return (long long)(call);
        MISUSE(CASE)
#undef CASE
    }
    FAIL("no row %d", i);
    return 0;
}

struct result {
    long long rc;
    int err;
};

static void call_into(int i, struct result *r) {
    errno = 0;
    r->rc = call_row(i);
    r->err = errno;
}

struct job {
    int row;
    struct result r;
};

static void on_hub_cb(void *arg) {
    struct job *j = arg;
    call_into(j->row, &j->r);
}

static void in_green(void *arg) {
    struct job *j = arg;
    switch (rows[j->row].where) {
    case ON_HUB:
        ASSERT_EQ(guv_call_on_hub(on_hub_cb, j), 0);
        return;
    case KILLED:
        ASSERT_EQ(guv_kill(guv_current()), 0);
        break;
    case EXPIRED:
        ASSERT_EQ(guv_timeout_begin(0), 0);
        break;
    default:
        break;
    }
    call_into(j->row, &j->r);
    if (rows[j->row].where == EXPIRED) ASSERT_EQ(guv_timeout_end(), 0);
}

static int32_t say_no(void *userdata, void *task_data) {
    (void)userdata;
    (void)task_data;
    return 0;
}

static void *on_foreign_thread(void *arg) {
    struct job *j = arg;
    call_into(j->row, &j->r);
    ASSERT_EQ(guv_run(), 0);
    return NULL;
}

static pthread_key_t gone_key;

/* A thread-specific-data destructor: glibc runs these after the C++/Rust
 * thread_local destructors, so the thread's hub is already torn down. */
static void after_hub_teardown(void *arg) { call_into(((struct job *)arg)->row, &((struct job *)arg)->r); }

static void *on_gone_thread(void *arg) {
    ASSERT(guv_count() >= 0); /* creates this thread's hub */
    ASSERT_EQ(pthread_setspecific(gone_key, arg), 0);
    return NULL;
}

static void run_row(int i, struct result *r) {
    struct job j = {.row = i};
    switch (rows[i].where) {
    case MAIN:
        call_into(i, &j.r);
        break;
    case ON_HUB_MAIN:
        ASSERT_EQ(guv_call_on_hub(on_hub_cb, &j), 0);
        break;
    case GREEN:
    case ON_HUB:
    case KILLED:
    case EXPIRED:
        ASSERT(guv_join(guv_spawn(in_green, &j)) == 0);
        break;
    case REFUSED: {
        guv_hooks refuse = {.size = sizeof(guv_hooks), .may_switch = say_no};
        int set = guv_add_hooks(&refuse);
        ASSERT(set > 0);
        /* Hooks are taken when the green thread starts, so keep them till it ends. */
        ASSERT(guv_join(guv_spawn(in_green, &j)) == 0);
        ASSERT_EQ(guv_remove_hooks(set), 0);
        break;
    }
    case FOREIGN:
        test_on_thread(on_foreign_thread, &j);
        break;
    case GONE:
        test_on_thread(on_gone_thread, &j);
        break;
    }
    *r = j.r;
}

static void *spawn_and_exit(void *arg) {
    *(int64_t *)arg = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_run(), 0);
    return NULL;
}

static void *keep_hub_and_exit(void *arg) {
    *(guv_hub **)arg = guv_hub_self();
    return NULL;
}

static void reader(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_trampoline(fx.fd, GUV_READ), ECANCELED);
}

static int64_t fx_reader;

static void make_fixtures(void) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    fx.fd = sv[0], fx.peer = sv[1];
    /* Closed fds at numbers nothing else will take (lowest-free allocation). */
    fx.closed = 500, fx.closed_guv = 501, fx.unseen = 900;
    ASSERT_EQ(dup2(fx.peer, fx.closed), fx.closed);
    ASSERT_EQ(dup2(fx.peer, fx.closed_guv), fx.closed_guv);
    ASSERT_EQ(guv_trampoline(fx.closed, GUV_WRITE), GUV_WRITE);
    ASSERT_EQ(guv_trampoline(fx.closed_guv, GUV_WRITE), GUV_WRITE);
    ASSERT_EQ(close(fx.closed), 0);
    ASSERT_EQ(guv_close(fx.closed_guv), 0);
    fx.ended = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_run(), 0);
    /* The slot's last id with its index bits all set: a slot never used. */
    fx.never = fx.ended | ((1 << 21) - 1);
    fx.live = guv_spawn(test_sleep_forever, NULL);
    fx_reader = guv_spawn(reader, NULL);
    ASSERT_EQ(guv_yield(), 0);
    test_on_thread(spawn_and_exit, &fx.other);
    ASSERT(fx.other >= 1);
    fx.hub = guv_hub_self();
    test_on_thread(keep_hub_and_exit, &fx.dead_hub);
    ASSERT(fx.hub && fx.dead_hub);
    ASSERT_EQ(pthread_key_create(&gone_key, after_hub_teardown), 0);
}

static void drop_fixtures(void) {
    ASSERT_EQ(guv_kill(fx.live), 0);
    ASSERT_EQ(guv_kill(fx_reader), 0);
    ASSERT_EQ(guv_run(), 0);
    guv_hub_release(fx.hub);
    guv_hub_release(fx.dead_hub);
    close(fx.fd);
    close(fx.peer);
    pthread_key_delete(gone_key);
}

/* Every row answers as documented. */
static void test_misuse_table(void) {
    ASSERT(NROWS >= 40);
    make_fixtures();
    int bad = 0;
    for (int i = 0; i < NROWS; i++) {
        struct result r;
        run_row(i, &r);
        const struct row *w = &rows[i];
        int good = r.rc == w->rc && (w->rc != -1 || r.err == w->err);
        if (!good) {
            bad++;
            fprintf(stderr, "FAIL [%s] %s = %lld (errno %s), expected %lld (%s)\n", where_name[w->where], w->call,
                    r.rc, test_errno_name(r.err), w->rc, test_errno_name(w->rc == -1 ? w->err : 0));
        }
    }
    drop_fixtures();
    if (bad) FAIL("%d of %d misuse cases answered wrongly", bad, NROWS);
    printf("   %d misuse cases answered as documented\n", NROWS);
}

struct hammer {
    guv_hub *hub;
    int64_t live;
    atomic_int *spawned;
};

static void count_spawned(void *arg) { ++*(atomic_int *)arg; }

static void *hammer(void *arg) {
    struct hammer *h = arg;
    for (int i = 0; i < 300; i++) {
        ASSERT_ERRNO(guv_join(h->live), ESRCH);
        ASSERT_ERRNO(guv_kill(h->live), ESRCH);
        ASSERT_ERRNO(guv_hub_kill(h->hub, 0), ESRCH);
        ASSERT_ERRNO(guv_hub_spawn(h->hub, NULL, NULL), EINVAL);
        ASSERT_EQ(guv_hub_spawn(h->hub, count_spawned, h->spawned), 0);
        ASSERT_EQ(guv_hub_hold(h->hub), 0);
        ASSERT_EQ(guv_hub_unhold(h->hub), 0);
    }
    ASSERT_EQ(guv_hub_kill(h->hub, h->live), 0);
    return NULL;
}

/* Four OS threads misuse (and use) this hub concurrently while it runs:
 * each call still gets its own answer, and the hub stays consistent. */
static void test_concurrent_foreign_calls(void) {
    static atomic_int spawned;
    spawned = 0;
    guv_hub *hub = guv_hub_self();
    struct hammer h = {hub, guv_spawn(test_sleep_forever, NULL), &spawned};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_create(&t[i], NULL, hammer, &h), 0);
    ASSERT_EQ(guv_join(h.live), 0); /* the first hammer to finish kills it */
    for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
    /* Everything submitted by now runs by the time main has blocked once more. */
    while (spawned < 4 * 300) ASSERT_EQ(guv_sleep(0.001), 0);
    ASSERT_EQ(guv_run(), 0);
    guv_hub_release(hub);
}

int main(void) {
    RUN(test_misuse_table);
    RUN(test_concurrent_foreign_calls);
    return 0;
}
