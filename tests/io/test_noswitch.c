/* Where the caller may not switch (inside a guv_call_on_hub() callback, or
 * when the hooks' may_switch says no) the I/O calls block the OS thread as
 * the plain calls would, rather than fail. */
#include <sys/time.h>

#include "io.h"

static int sv[2];

/* The reader's OS thread, and whether it is about to read. */
static pid_t reader;
static _Atomic int reading;

/* Whether OS thread `tid` of this process sleeps in the kernel (state S). */
static int sleeps(pid_t tid) {
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL);
    ASSERT(fgets(stat, sizeof stat, f) != NULL);
    fclose(f);
    const char *state = strrchr(stat, ')');
    return state != NULL && state[1] == ' ' && state[2] == 'S';
}

/* Another OS thread writes `msg` into sv[1] once the reader sleeps in its
 * read: the read then returns it only if it waited, blocking its thread. An
 * order, not a time (a 50 ms head start was too little on a loaded machine). */
static void *write_from_thread(void *arg) {
    while (!reading || !sleeps(reader)) usleep(1000);
    ASSERT_EQ(write(sv[1], arg, strlen(arg)), (ssize_t)strlen(arg));
    return NULL;
}

static ssize_t got;
static char buf[16];

static void read_blocking(void) {
    ASSERT_EQ(guv_can_switch(), 0);
    reader = gettid();
    reading = 1;
    got = guv_read(sv[0], buf, sizeof buf);
    reading = 0;
}

static void read_on_hub(void *arg) {
    (void)arg;
    read_blocking();
}

/* guv_read in a callback waits (blocking the thread) for the other thread's write. */
static void test_read_in_call_on_hub(void) {
    io_socketpair(sv, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, write_from_thread, "on hub"), 0);
    ASSERT_EQ(guv_call_on_hub(read_on_hub, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(got, 6);
    ASSERT(memcmp(buf, "on hub", 6) == 0);
    ASSERT(!io_nonblocking(sv[0]));
    io_close2(sv);
}

static void recv_timeo_on_hub(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_recv(sv[0], buf, sizeof buf, 0), EAGAIN);
}

/* SO_RCVTIMEO still applies there: EAGAIN after the timeout. */
static void test_rcvtimeo_in_call_on_hub(void) {
    io_socketpair(sv, 0);
    struct timeval tv = {0, 100 * 1000};
    ASSERT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    double t0 = guv_now();
    ASSERT_EQ(guv_call_on_hub(recv_timeo_on_hub, NULL), 0);
    ASSERT(guv_now() - t0 >= 0.09);
    io_close2(sv);
}

static int refuse(void *userdata, void *task_data) {
    (void)userdata;
    (void)task_data;
    return 0;
}

static void read_refused_switch(void *arg) {
    (void)arg;
    read_blocking();
}

/* A green thread whose hooks refuse switches: its read blocks the thread
 * and still gets the data. */
static void test_read_when_may_switch_refuses(void) {
    io_socketpair(sv, 0);
    guv_hooks h = {.size = sizeof(guv_hooks), .may_switch = refuse};
    int set = guv_add_hooks(&h);
    ASSERT(set > 0);
    ASSERT(guv_spawn(read_refused_switch, NULL) >= 1);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, write_from_thread, "hooked"), 0);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(got, 6);
    io_close2(sv);
}

int main(void) {
    RUN(test_read_in_call_on_hub);
    RUN(test_rcvtimeo_in_call_on_hub);
    RUN(test_read_when_may_switch_refuses);
    return 0;
}
