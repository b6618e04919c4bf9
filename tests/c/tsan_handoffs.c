/* A correct program over an uninstrumented libguv, built with
 * -fsanitize=thread, gets no report: guv tells ThreadSanitizer about the
 * hand-offs it makes between OS threads (the offload queue, the remote
 * inbox) and about its stack switches (one TSan fiber per green thread).
 * Without that, the job an offload thread runs on a green thread's stack
 * buffer, and the data a guv_hub_spawn submitter hands over, read as races.
 * Run by `make test-c-tsan`, which fails on any report. */
#include <stdatomic.h>

#include "test.h"

#define SUBMISSIONS 50
#define BUF 256

/* Offloaded: fills the caller's stack buffer on an offload thread. */
static void fill(void *arg) {
    char *buf = arg;
    for (int i = 0; i < BUF; i++) buf[i] = (char)(buf[i] + 1);
}

/* A green thread whose stack buffer an offloaded call works on. */
static void offloader(void *arg) {
    char buf[BUF];
    for (int i = 0; i < BUF; i++) buf[i] = (char)i;
    ASSERT_OK(guv_offload(fill, buf));
    for (int i = 0; i < BUF; i++) ASSERT_EQ(buf[i], (char)(i + 1));
    ++*(int *)arg;
}

struct work {
    int input;  /* written by the submitter before guv_hub_spawn */
    int output; /* written by the green thread */
};

static struct work works[SUBMISSIONS];
static int done; /* only the hub's thread touches it */
static guv_hub *hub;

static void submitted(void *arg) {
    struct work *w = arg;
    w->output = w->input * 2;
    int offloads = 0;
    offloader(&offloads); /* offloads from a submitted green thread too */
    ASSERT_EQ(offloads, 1);
    if (++done == SUBMISSIONS) ASSERT_OK(guv_hub_unhold(hub));
}

static void *submitter(void *arg) {
    (void)arg;
    for (int i = 0; i < SUBMISSIONS; i++) {
        works[i].input = i + 1;
        ASSERT_OK(guv_hub_spawn(hub, submitted, &works[i]));
    }
    return NULL;
}

static void test_offload_and_remote_spawn(void) {
    hub = guv_hub_self();
    ASSERT(hub != NULL);
    ASSERT_OK(guv_hub_hold(hub));
    int offloads = 0;
    for (int i = 0; i < 8; i++) ASSERT_OK(guv_spawn(offloader, &offloads));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, submitter, NULL), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(offloads, 8);
    for (int i = 0; i < SUBMISSIONS; i++) ASSERT_EQ(works[i].output, 2 * (i + 1));
    guv_hub_release(hub);
}

int main(void) {
    RUN(test_offload_and_remote_spawn);
    return 0;
}
