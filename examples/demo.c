/*
 * guv demo: one process, one OS thread, thousands of green threads.
 *
 *   - a green TCP echo server on 127.0.0.1 (an ephemeral port): an acceptor
 *     and one green thread per connection, on non-blocking sockets that wait
 *     in guv_trampoline(), the way a C driver made cooperative does;
 *   - 2,000 green clients on ordinary blocking sockets, calling guv_connect(),
 *     guv_write() and guv_read(): each blocks only itself while it waits;
 *   - a storm of 10,000 green sleepers napping in between;
 *   - a monitor reading the OS thread count from /proc/self/status.
 *
 * Every echoed byte is checked. Exits 0 only if all results are right and
 * the process never had more than one OS thread.
 */
#define _GNU_SOURCE
#include <guv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    CLIENTS = 2000,   /* concurrent connections */
    ROUNDS = 10,      /* messages each client sends and reads back */
    MESSAGE = 256,    /* bytes per message */
    SLEEPERS = 10000,
    NAPS = 3,         /* naps per sleeper, 1 to 20 ms each */
    STACK = 64 * 1024 /* small stacks: these green threads need little */
};

static struct {
    int listener;
    struct sockaddr_in addr;
    long threads_finished;
    long clients_verified; /* clients whose every echoed byte matched */
    long clients_done;
    long bytes_served;     /* bytes the server echoed back */
    long bytes_verified;   /* bytes clients read back and compared */
    long naps_ok;          /* naps that lasted at least what was asked */
    int max_os_threads;
    int failed;
} demo;

static void fail(const char *what) {
    fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
    demo.failed = 1;
}

static void spawn(guv_fn fn, void *arg) {
    if (guv_spawn_ex(fn, arg, STACK) < 1) {
        fail("guv_spawn_ex");
        exit(1);
    }
}

/* Threads: line of /proc/self/status. */
static int os_threads(void) {
    char line[256];
    int threads = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &threads) == 1) break;
    fclose(f);
    return threads;
}

/* Server side, the driver pattern: try the non-blocking call; on EAGAIN wait
 * in guv_trampoline(), which suspends this green thread and runs the others. */
static void echo_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) break; /* the client closed */
        if (n < 0) {
            if (errno != EAGAIN || guv_trampoline(fd, GUV_READ) < 0) {
                fail("server read");
                break;
            }
            continue;
        }
        for (ssize_t sent = 0; sent < n;) {
            ssize_t m = write(fd, buf + sent, (size_t)(n - sent));
            if (m > 0) {
                sent += m;
            } else if (errno != EAGAIN || guv_trampoline(fd, GUV_WRITE) < 0) {
                fail("server write");
                goto out;
            }
        }
        demo.bytes_served += n;
    }
out:
    guv_close(fd); /* wakes any waiter and forgets the fd before closing it */
    demo.threads_finished++;
}

static void acceptor(void *arg) {
    (void)arg;
    for (int accepted = 0; accepted < CLIENTS;) {
        int fd = accept4(demo.listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            spawn(echo_connection, (void *)(intptr_t)fd);
            accepted++;
        } else if (errno != EAGAIN || guv_trampoline(demo.listener, GUV_READ) < 0) {
            fail("accept");
            break;
        }
    }
    guv_close(demo.listener);
    demo.threads_finished++;
}

/* Client side, the greenified calls: the socket stays in blocking mode and
 * guv_connect/guv_write/guv_read block only the calling green thread. */
static void client(void *arg) {
    int id = (int)(intptr_t)arg;
    char out[MESSAGE], in[MESSAGE];
    int ok = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || guv_connect(fd, (struct sockaddr *)&demo.addr, sizeof demo.addr) < 0) {
        fail("client connect");
        ok = 0;
    }
    for (int round = 0; ok && round < ROUNDS; round++) {
        for (int i = 0; i < MESSAGE; i++) out[i] = (char)(id * 31 + round * 7 + i);
        if (guv_write(fd, out, MESSAGE) != MESSAGE) {
            fail("client write");
            ok = 0;
            break;
        }
        for (size_t got = 0; got < MESSAGE;) {
            ssize_t n = guv_read(fd, in + got, MESSAGE - got);
            if (n <= 0) {
                fail(n == 0 ? "client read: server closed early" : "client read");
                ok = 0;
                break;
            }
            got += (size_t)n;
        }
        if (ok && memcmp(in, out, MESSAGE) != 0) {
            fprintf(stderr, "demo: client %d round %d: echo differs from what was sent\n", id, round);
            demo.failed = 1;
            ok = 0;
        }
        if (ok) demo.bytes_verified += MESSAGE;
    }
    if (fd >= 0) guv_close(fd);
    demo.clients_verified += ok;
    demo.clients_done++;
    demo.threads_finished++;
}

static void sleeper(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int nap = 0; nap < NAPS; nap++) {
        double seconds = 0.001 * (1 + (id + nap * 7) % 20);
        double start = guv_now();
        if (guv_sleep(seconds) < 0) {
            fail("guv_sleep");
            break;
        }
        if (guv_now() - start >= seconds) demo.naps_ok++;
    }
    demo.threads_finished++;
}

/* Samples the OS thread count while everything else runs. */
static void monitor(void *arg) {
    (void)arg;
    while (demo.clients_done < CLIENTS && !demo.failed) {
        int n = os_threads();
        if (n > demo.max_os_threads) demo.max_os_threads = n;
        guv_sleep(0.002);
    }
    demo.threads_finished++;
}

static void listen_on_loopback(void) {
    socklen_t len = sizeof demo.addr;
    demo.addr.sin_family = AF_INET;
    demo.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    demo.addr.sin_port = 0; /* the kernel picks a free port */
    demo.listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (demo.listener < 0 || bind(demo.listener, (struct sockaddr *)&demo.addr, sizeof demo.addr) < 0 ||
        listen(demo.listener, CLIENTS) < 0 || getsockname(demo.listener, (struct sockaddr *)&demo.addr, &len) < 0) {
        fail("listen on 127.0.0.1");
        exit(1);
    }
}

/* Two fds per connection (client and server ends) must fit under the limit. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    rlim_t need = 2 * CLIENTS + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need) {
        fprintf(stderr, "demo: needs %lu open files; the hard limit allows %lu\n", (unsigned long)need,
                (unsigned long)rl.rlim_max);
        exit(1);
    }
}

int main(void) {
    raise_fd_limit();
    listen_on_loopback();
    double start = guv_now();

    for (int i = 0; i < SLEEPERS; i++) spawn(sleeper, (void *)(intptr_t)i);
    spawn(acceptor, NULL);
    for (int i = 0; i < CLIENTS; i++) spawn(client, (void *)(intptr_t)i);
    spawn(monitor, NULL);
    if (guv_run() < 0) fail("guv_run");

    double wall = guv_now() - start;
    int threads_now = os_threads();
    if (threads_now > demo.max_os_threads) demo.max_os_threads = threads_now;

    long expected_threads = SLEEPERS + 1 + 2L * CLIENTS + 1;
    long expected_bytes = (long)CLIENTS * ROUNDS * MESSAGE;
    int ok = !demo.failed && demo.threads_finished == expected_threads && demo.clients_verified == CLIENTS &&
             demo.bytes_verified == expected_bytes && demo.bytes_served == expected_bytes &&
             demo.naps_ok == (long)SLEEPERS * NAPS && demo.max_os_threads == 1;

    printf("guv %s demo: one process, one OS thread\n", GUV_VERSION);
    printf("  green threads run:  %ld (1 acceptor, %d connections, %d clients, %d sleepers, 1 monitor)\n",
           demo.threads_finished, CLIENTS, CLIENTS, SLEEPERS);
    printf("  bytes echoed:       %ld of %ld, every byte checked by its client (%ld/%d clients ok)\n",
           demo.bytes_verified, expected_bytes, demo.clients_verified, CLIENTS);
    printf("  naps on time:       %ld of %ld\n", demo.naps_ok, (long)SLEEPERS * NAPS);
    printf("  wall time:          %.3f s\n", wall);
    printf("  OS threads used:    %d (most seen in /proc/self/status while running)\n", demo.max_os_threads);
    printf("%s\n", ok ? "demo: ok" : "demo: FAILED");
    return ok ? 0 : 1;
}
