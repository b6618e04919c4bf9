/*
 * An ordinary program with no green threads: file I/O, a TCP connection
 * and a socketpair served by pthreads, poll, select, sleeps, dup2, fcntl
 * and errors. passthru.sh runs it with and without LD_PRELOAD=libguv_hook.so
 * and expects the same bytes out: outside green threads the hook must be
 * invisible, down to fd numbers and errno values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHECK(expr)                                                            \
    do {                                                                       \
        if (!(expr)) {                                                         \
            fprintf(stderr, "passthru: %s failed: %s\n", #expr, strerror(errno)); \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static void file_io(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/passthru.dat", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    CHECK(fd >= 0);
    printf("file fd %d\n", fd);
    unsigned sum = 0;
    char buf[4096];
    for (int i = 0; i < 64; i++) {
        memset(buf, 'a' + i % 26, sizeof buf);
        CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    }
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t n, total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum = sum * 31 + (unsigned char)buf[i];
        total += n;
    }
    struct iovec iov[2] = { { buf, 10 }, { buf + 10, 20 } };
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    printf("file read %zd bytes, sum %u, readv %zd\n", total, sum, readv(fd, iov, 2));
    printf("file flags %#x\n", fcntl(fd, F_GETFL));
    CHECK(close(fd) == 0);
    CHECK(unlink(path) == 0);
}

/* A thread echoing back everything it reads, upper-cased, until EOF. */
static void *echo(void *arg)
{
    int fd = *(int *)arg;
    char buf[512];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
        CHECK(send(fd, buf, (size_t)n, 0) == n);
    }
    close(fd);
    return NULL;
}

static void exchange(const char *what, int fd)
{
    for (int i = 0; i < 20; i++) {
        char msg[64], got[64];
        int len = snprintf(msg, sizeof msg, "message %d over %s", i, what);
        CHECK(write(fd, msg, (size_t)len) == len);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        CHECK(poll(&p, 1, 5000) == 1);
        ssize_t n = 0;
        while (n < len) {
            ssize_t r = read(fd, got + n, sizeof got - (size_t)n);
            CHECK(r > 0);
            n += r;
        }
        got[n] = 0;
        if (i % 5 == 0)
            printf("%s: %s\n", what, got);
    }
}

static void tcp(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(l, 4) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&a, &alen) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    printf("tcp fds listen %d client %d server %d\n", l, c, s);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, echo, &s) == 0);
    exchange("tcp", c);
    /* select on a quiet socket times out. */
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(c, &rd);
    struct timeval tv = { 0, 20000 };
    printf("select on a quiet socket: %d\n", select(c + 1, &rd, NULL, NULL, &tv));
    CHECK(shutdown(c, SHUT_WR) == 0);
    char b;
    printf("read after the peer closed: %zd\n", read(c, &b, 1));
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(close(c) == 0 && close(l) == 0);
}

static void pair(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    printf("socketpair fds %d %d\n", sv[0], sv[1]);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, echo, &sv[1]) == 0);
    exchange("socketpair", sv[0]);
    /* dup2 onto the socket, then the copy goes on working. */
    int d = dup(sv[0]);
    CHECK(dup2(d, sv[0]) == sv[0]);
    CHECK(close(d) == 0);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(close(sv[0]) == 0);
}

static void errors_and_sleeps(void)
{
    char b;
    /* Each result is taken before errno is printed: argument order is unspecified. */
    errno = 0;
    long r = read(-1, &b, 1);
    printf("read(-1): %ld errno %d\n", r, errno);
    errno = 0;
    r = close(9999);
    printf("close(9999): %ld errno %d\n", r, errno);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    errno = 0;
    r = read(p[0], &b, 1);
    printf("read of an empty non-blocking pipe: %ld errno %d, flags %#x\n", r, errno, fcntl(p[0], F_GETFL));
    close(p[0]);
    close(p[1]);
    struct timespec ts = { 0, 10000000 };
    printf("nanosleep %d usleep %d sleep %u\n", nanosleep(&ts, NULL), usleep(10000), sleep(0));
    struct timespec bad = { 0, 2000000000L };
    errno = 0;
    r = nanosleep(&bad, NULL);
    printf("nanosleep(invalid) %ld errno %d\n", r, errno);
    printf("poll of nothing for 10 ms: %d\n", poll(NULL, 0, 10));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    file_io(argc > 1 ? argv[1] : "/tmp");
    tcp();
    pair();
    errors_and_sleeps();
    printf("done\n");
    return 0;
}
