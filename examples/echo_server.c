/*
 * A green TCP echo server: one green thread per connection, all on one OS
 * thread, written as plain blocking code with guv's calls.
 *
 *   cc -Iinclude examples/echo_server.c target/release/libguv.a \
 *      -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o echo_server
 *   ./echo_server [port]        (default 7007; 0 picks a free port)
 *
 * It prints "listening on 127.0.0.1:PORT" and serves until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "guv.h"

/* One connection: echo everything back until the peer closes. */
static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = guv_read(fd, buf, sizeof buf)) > 0) {
        if (guv_write(fd, buf, (size_t)n) != n) break;
    }
    guv_close(fd);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7007;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) != 0) {
        perror("echo_server: listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    /* Main accepts; while it waits in guv_accept the hub runs the connections. */
    for (;;) {
        int fd = guv_accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("echo_server: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (guv_spawn(serve, (void *)(intptr_t)fd) < 0) guv_close(fd);
    }
}
