/* guv called from a signal handler that interrupted guv itself on the same
 * thread is refused with EDEADLK and leaves the hub untouched; every -1 sets
 * errno. Before, a guv_yield from a 1 kHz handler that landed inside
 * guv_spawn made guv_run fail with EDEADLK with work unfinished, then every
 * later call failed (guv_spawn with errno 0) or crashed. */
#include <signal.h>

#define TEST_TIMEOUT 20
#include "test.h"

static volatile sig_atomic_t calls, refused, bad_errno;
static int64_t victim;

static void note(int r) {
    calls++;
    if (r == -1) {
        if (errno == EDEADLK)
            refused++;
        else if (errno != ECANCELED && errno != ESRCH)
            bad_errno = errno ? errno : -1;
    }
}

static void handler(int sig) {
    (void)sig;
    int saved = errno;
    note(guv_yield());
    note((int)guv_count());
    int64_t id = guv_spawn(test_noop, NULL);
    note(id < 0 ? -1 : 0);
    note(guv_kill(victim));
    note(guv_unpark(victim));
    errno = saved;
}

static volatile int stop, go;

static void *storm(void *arg) {
    pthread_t target = *(pthread_t *)arg;
    while (!go)
        usleep(1000);
    while (!stop) {
        pthread_kill(target, SIGUSR1);
        usleep(200);
    }
    return NULL;
}

static int done;

static void worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++) {
        ASSERT_OK(guv_spawn(test_noop, NULL));
        ASSERT_OK(guv_yield());
    }
    /* One instruction: a handler that yields in the middle of a plain
     * done++ lets other workers run between its load and its store. */
    __atomic_fetch_add(&done, 1, __ATOMIC_RELAXED);
}

/* A storm of handlers calling guv while green threads spawn and yield:
 * guv_run finishes every worker, and the hub stays usable. */
static void test_handler_storm(void) {
    pthread_t self = pthread_self(), t;
    ASSERT_EQ(pthread_create(&t, NULL, storm, &self), 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    victim = guv_spawn(test_sleep_forever, NULL);
    ASSERT_OK(victim);
    go = 1;
    double t0 = guv_now();
    int rounds = 0;
    while (guv_now() - t0 < 3) {
        done = 0;
        for (int i = 0; i < 100; i++)
            ASSERT_OK(guv_spawn(worker, NULL));
        ASSERT_OK(guv_kill(victim));
        ASSERT_EQ(guv_run(), 0);
        ASSERT_EQ(done, 100);
        victim = guv_spawn(test_sleep_forever, NULL);
        ASSERT_OK(victim);
        rounds++;
    }
    stop = 1;
    ASSERT_EQ(pthread_join(t, NULL), 0);
    signal(SIGUSR1, SIG_IGN);
    ASSERT_OK(guv_kill(victim));
    ASSERT_EQ(guv_run(), 0);
    printf("  %d rounds, %d calls from handlers, %d refused\n", rounds, (int)calls, (int)refused);
    ASSERT_EQ(bad_errno, 0);
    ASSERT(calls > 0);
    /* Usable afterwards. */
    ASSERT_EQ(guv_count(), 0);
    int n = 0;
    ASSERT_OK(guv_spawn(test_count, &n));
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(n, 1);
}

static void handler_inside_guv(int sig) {
    (void)sig;
    int saved = errno;
    errno = 0;
    int r = guv_yield();
    if (r == 0 || errno != EDEADLK)
        bad_errno = r == 0 ? -2 : errno;
    calls++;
    errno = saved;
}

static void raiser(void *arg) {
    (void)arg;
    /* guv_sleep is inside guv while the signal arrives from another thread;
     * raise() here instead would run the handler in user code. */
    ASSERT_OK(guv_sleep(0.2));
}

static void *signal_soon(void *arg) {
    usleep(50 * 1000);
    pthread_kill(*(pthread_t *)arg, SIGUSR2);
    return NULL;
}

/* A handler that interrupted the hub's own epoll wait: refused, EDEADLK. */
static void test_handler_interrupting_hub(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler_inside_guv;
    ASSERT_EQ(sigaction(SIGUSR2, &sa, NULL), 0);
    calls = 0;
    bad_errno = 0;
    ASSERT_OK(guv_spawn(raiser, NULL));
    pthread_t self = pthread_self(), t;
    ASSERT_EQ(pthread_create(&t, NULL, signal_soon, &self), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(calls, 1);
    ASSERT_EQ(bad_errno, 0);
    signal(SIGUSR2, SIG_DFL);
}

int main(void) {
    RUN(test_handler_interrupting_hub);
    RUN(test_handler_storm);
    return 0;
}
