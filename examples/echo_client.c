/*
 * A green TCP echo client: CONNS green threads on one OS thread, each with
 * its own connection, sending 64-byte messages and checking each echo, for
 * SECONDS seconds.
 *
 *   ./echo_client PORT [CONNS] [SECONDS]     (defaults: 100 connections, 2 s)
 *
 * Prints "N round trips in S s: R/s"; exits 1 if any echo was wrong.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "guv.h"

#define MSG 64

static struct sockaddr_in server;
static double stop_at;
static long trips;
static int failed;

static void client(void *arg) {
    long id = (long)(intptr_t)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || guv_connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
        perror("echo_client: connect");
        failed = 1;
        if (fd >= 0) guv_close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char out[MSG], in[MSG];
    for (long i = 0; guv_now() < stop_at; i++) {
        snprintf(out, sizeof out, "connection %ld message %ld", id, i);
        /* MSG_WAITALL: the echo may come back in pieces. */
        if (guv_write(fd, out, MSG) != MSG || guv_recv(fd, in, MSG, MSG_WAITALL) != MSG ||
            memcmp(in, out, MSG) != 0) {
            fprintf(stderr, "echo_client: connection %ld: bad echo (%s)\n", id, strerror(errno));
            failed = 1;
            break;
        }
        trips++;
    }
    guv_close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: echo_client PORT [CONNS] [SECONDS]\n");
        return 2;
    }
    int conns = argc > 2 ? atoi(argv[2]) : 100;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(argv[1]));
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double t0 = guv_now();
    stop_at = t0 + seconds;
    for (long i = 0; i < conns; i++) {
        if (guv_spawn(client, (void *)(intptr_t)i) < 0) {
            perror("echo_client: spawn");
            return 1;
        }
    }
    guv_run();
    double took = guv_now() - t0;
    printf("%ld round trips in %.2f s: %.0f/s\n", trips, took, trips / took);
    return failed || trips == 0;
}
