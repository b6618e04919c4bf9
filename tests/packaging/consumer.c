/*
 * A program outside guv's tree, built against an installed guv with
 * pkg-config or CMake, as C and (through consumer.cpp) as C++, with
 * -Wall -Wextra -Werror -pedantic: proof that the installed header and
 * libraries are all a user needs.
 *
 * Two green threads bounce a counter over a non-blocking socketpair,
 * suspending in guv_trampoline() whenever a read would block, while a
 * hundred sleepers nap in between. Exits 0 only if every check holds.
 */
#define _POSIX_C_SOURCE 200809L
#include <guv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BOUNCES 1000
#define SLEEPERS 100

static int ends[2];
static int pings_answered; /* replies the pinger received, each one more than it sent */
static int sleepers_woken; /* sleepers that slept at least what they asked for */

/* Move exactly `len` bytes, suspending this green thread (never the OS thread)
 * whenever the socket is not ready. */
static int transfer(int fd, void *buf, size_t len, int writing) {
    char *p = (char *)buf;
    while (len > 0) {
        ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            if (guv_trampoline(fd, writing ? GUV_WRITE : GUV_READ) < 0) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static void pinger(void *arg) {
    (void)arg;
    for (int i = 0; i < BOUNCES; i++) {
        int reply = -1;
        if (transfer(ends[0], &i, sizeof i, 1) < 0) return;
        if (transfer(ends[0], &reply, sizeof reply, 0) < 0) return;
        if (reply == i + 1) pings_answered++;
    }
}

static void ponger(void *arg) {
    (void)arg;
    for (int i = 0; i < BOUNCES; i++) {
        int value = -1;
        if (transfer(ends[1], &value, sizeof value, 0) < 0) return;
        value++;
        if (transfer(ends[1], &value, sizeof value, 1) < 0) return;
    }
}

static void sleeper(void *arg) {
    double seconds = 0.001 * (double)(1 + (int)(size_t)arg % 10);
    double start = guv_now();
    if (guv_sleep(seconds) == 0 && guv_now() - start >= seconds) sleepers_woken++;
}

int main(void) {
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", GUV_VERSION_MAJOR, GUV_VERSION_MINOR, GUV_VERSION_PATCH);
    if (strcmp(version, GUV_VERSION) != 0) {
        fprintf(stderr, "consumer: GUV_VERSION \"%s\" disagrees with the macros (%s)\n", GUV_VERSION, version);
        return 1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) < 0) return perror("socketpair"), 1;
    for (int i = 0; i < 2; i++) fcntl(ends[i], F_SETFL, fcntl(ends[i], F_GETFL) | O_NONBLOCK);

    if (guv_spawn(pinger, NULL) < 1 || guv_spawn(ponger, NULL) < 1) return perror("guv_spawn"), 1;
    for (size_t i = 0; i < SLEEPERS; i++)
        if (guv_spawn(sleeper, (void *)i) < 1) return perror("guv_spawn"), 1;
    if (guv_run() != 0) return perror("guv_run"), 1;

    guv_close(ends[0]);
    guv_close(ends[1]);
    if (pings_answered != BOUNCES || sleepers_woken != SLEEPERS || guv_count() != 0) {
        fprintf(stderr, "consumer: %d/%d bounces, %d/%d sleepers, %lld green threads left\n",
                pings_answered, BOUNCES, sleepers_woken, SLEEPERS, (long long)guv_count());
        return 1;
    }
    printf("consumer: ok: guv %s, %d bounces over a socketpair, %d sleepers\n", GUV_VERSION, BOUNCES, SLEEPERS);
    return 0;
}
