/*
 * The load for every echo server: CONNS connections, each sending a
 * MSG-byte request and waiting for its full echo before the next, driven
 * by one epoll loop in a process of its own. Counts round trips after a
 * warm-up.
 *
 *   load_client PORT [CONNS=100] [SECONDS=2] [WARMUP=0.5] [MSG=64] [PAUSE_US=0]
 *   prints "rate <round trips/s> total <round trips including the warm-up>";
 *   exits 1 on a connection error or bad echo
 *
 * With PAUSE_US > 0 the connections go in lockstep: every one sends, all
 * echoes are awaited, then the client pauses that long before the next
 * round. The server then always reads each connection dry and waits, as an
 * unloaded server does, however slowly it runs: instruction counts under
 * callgrind (which slows the server 50x) stay comparable from run to run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct conn {
    int fd;
    size_t got; /* bytes of the current echo received */
    unsigned char seq;
};

static int msg = 64;

static void send_request(struct conn *c) {
    char out[4096];
    memset(out, c->seq, (size_t)msg);
    if (write(c->fd, out, (size_t)msg) != msg) {
        perror("load_client: write");
        exit(1);
    }
    c->got = 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: load_client PORT [CONNS] [SECONDS] [WARMUP] [MSG]\n");
        return 2;
    }
    int nconn = argc > 2 ? atoi(argv[2]) : 100;
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;
    double warmup = argc > 4 ? atof(argv[4]) : 0.5;
    if (argc > 5) msg = atoi(argv[5]);
    long pause_us = argc > 6 ? atol(argv[6]) : 0;
    int waiting = nconn; /* echoes the present lockstep round still waits for */
    if (msg < 1 || msg > 4096) return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ep = epoll_create1(0);
    struct conn *conns = calloc((size_t)nconn, sizeof *conns);
    int one = 1;
    for (int i = 0; i < nconn; i++) {
        struct conn *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
            perror("load_client: connect");
            return 1;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        c->seq = (unsigned char)i;
    }
    for (int i = 0; i < nconn; i++) send_request(&conns[i]);
    struct epoll_event evs[256];
    char in[4096];
    long trips = 0, total = 0;
    double t0 = now(), start = t0 + warmup, end = start + seconds, measured_from = 0;
    int measuring = 0;
    for (;;) {
        int n = epoll_wait(ep, evs, 256, 1000);
        double t = now();
        if (!measuring && t >= start) {
            measuring = 1;
            trips = 0;
            measured_from = t;
        }
        if (measuring && t >= end) {
            printf("rate %.0f total %ld\n", trips / (t - measured_from), total);
            return 0;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            /* Level-triggered, blocking fds: one read per event never blocks. */
            ssize_t r = read(c->fd, in, (size_t)msg - c->got);
            if (r <= 0) {
                fprintf(stderr, "load_client: connection closed (%s)\n", r < 0 ? strerror(errno) : "EOF");
                return 1;
            }
            for (ssize_t k = 0; k < r; k++) {
                if ((unsigned char)in[k] != c->seq) {
                    fprintf(stderr, "load_client: bad echo\n");
                    return 1;
                }
            }
            c->got += (size_t)r;
            if (c->got == (size_t)msg) {
                trips++;
                total++;
                c->seq++;
                if (pause_us == 0) {
                    send_request(c);
                } else if (--waiting == 0) {
                    struct timespec p = {pause_us / 1000000, pause_us % 1000000 * 1000};
                    nanosleep(&p, NULL);
                    for (int k = 0; k < nconn; k++) send_request(&conns[k]);
                    waiting = nconn;
                }
            }
        }
    }
}
