/*
 * Socketpair ping-pong: two green threads on one OS thread bounce one byte
 * over a blocking AF_UNIX socketpair with guv_read/guv_write. For scale, the
 * same exchange between two OS threads with plain blocking read/write.
 *
 *   pingpong [SECONDS]     prints "guv <round trips/s>" and "threads <round trips/s>"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guv.h"

static int sv[2];
static double seconds = 1.0;
static long trips;
static volatile int stop;

/* Serves: echo each byte back until EOF. */
static void pong(void *arg) {
    (void)arg;
    char c;
    while (guv_read(sv[1], &c, 1) == 1) guv_write(sv[1], &c, 1);
}

static void ping(void *arg) {
    (void)arg;
    char c = 'x';
    double end = guv_now() + seconds;
    /* Check the clock every 1024 trips: the clock is not what we measure. */
    while ((trips & 1023) || guv_now() < end) {
        guv_write(sv[0], &c, 1);
        guv_read(sv[0], &c, 1);
        trips++;
    }
    shutdown(sv[0], SHUT_WR);
}

static double run_guv(void) {
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    trips = 0;
    double t0 = guv_now();
    guv_spawn(pong, NULL);
    guv_spawn(ping, NULL);
    guv_run();
    double rate = trips / (guv_now() - t0);
    guv_close(sv[0]);
    guv_close(sv[1]);
    return rate;
}

static void *pong_thread(void *arg) {
    (void)arg;
    char c;
    while (read(sv[1], &c, 1) == 1) {
        if (write(sv[1], &c, 1) != 1) break;
    }
    return NULL;
}

static double run_threads(void) {
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t t;
    pthread_create(&t, NULL, pong_thread, NULL);
    char c = 'x';
    long n = 0;
    double t0 = guv_now(), end = t0 + seconds;
    while ((n & 1023) || guv_now() < end) {
        if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1) break;
        n++;
    }
    double rate = n / (guv_now() - t0);
    shutdown(sv[0], SHUT_WR);
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    return rate;
}

int main(int argc, char **argv) {
    if (argc > 1) seconds = atof(argv[1]);
    printf("guv %.0f\n", run_guv());
    printf("threads %.0f\n", run_threads());
    return 0;
}
