/*
 * The baseline: a hand-written single-threaded edge-triggered epoll echo
 * server, as a C programmer would write it without any runtime.
 *
 *   epoll_echo PORT        prints "listening on 127.0.0.1:PORT"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes read but not yet written back, per fd (empty in the common case). */
struct conn {
    char *pending;
    size_t len;
};

static struct conn *conns;
static int nconns;

static struct conn *conn_of(int fd) {
    if (fd >= nconns) {
        int n = fd * 2 + 16;
        conns = realloc(conns, n * sizeof *conns);
        memset(conns + nconns, 0, (n - nconns) * sizeof *conns);
        nconns = n;
    }
    return &conns[fd];
}

static void drop(int fd) {
    struct conn *c = conn_of(fd);
    free(c->pending);
    c->pending = NULL;
    c->len = 0;
    close(fd);
}

/* Writes what it can; keeps the rest for EPOLLOUT. Returns -1 on error. */
static int send_or_keep(int fd, const char *buf, size_t len) {
    struct conn *c = conn_of(fd);
    if (c->len == 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno != EAGAIN) return -1;
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        }
    }
    if (len > 0) {
        c->pending = realloc(c->pending, c->len + len);
        memcpy(c->pending + c->len, buf, len);
        c->len += len;
    }
    return 0;
}

static int flush(int fd) {
    struct conn *c = conn_of(fd);
    while (c->len > 0) {
        ssize_t n = write(fd, c->pending, c->len);
        if (n < 0) return errno == EAGAIN ? 0 : -1;
        memmove(c->pending, c->pending + n, c->len - (size_t)n);
        c->len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7008;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen)) {
        perror("epoll_echo: listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    char buf[4096];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            int dead = 0;
            if (evs[i].events & EPOLLOUT) dead = flush(fd) < 0;
            if (!dead && evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                /* Edge-triggered: read until EAGAIN. */
                for (;;) {
                    ssize_t r = read(fd, buf, sizeof buf);
                    if (r > 0) {
                        if (send_or_keep(fd, buf, (size_t)r) < 0) { dead = 1; break; }
                    } else {
                        if (r == 0 || errno != EAGAIN) dead = 1;
                        break;
                    }
                }
            }
            if (dead) drop(fd);
        }
    }
}
