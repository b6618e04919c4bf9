/*
 * What idle keep-alive connections cost a hub: N green threads each wait to
 * read an fd that never gets a byte (an eventfd: one fd each), for SECONDS.
 * Prints the hub's fd checks (one epoll_ctl each, guv_stats' fd_checks), its
 * turns and the process's CPU time. Run under `strace -f -c -e trace=epoll_ctl` to count
 * the system calls themselves (for a libguv without fd_checks too).
 *
 *   idle_fds [N [SECONDS]]     defaults: 10000 fds, 10 s
 *   (built by `make build/release/benches/io/idle_fds`; results: benches/results/idle_fds.md)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "guv.h"

static void waiter(void *arg) {
    int fd = (int)(long)arg;
    guv_trampoline(fd, GUV_READ); /* ends with EBADF when main closes the fd */
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    double seconds = argc > 2 ? atof(argv[2]) : 10;
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
    int *fds = calloc((size_t)n, sizeof *fds);
    for (int i = 0; i < n; i++) {
        fds[i] = eventfd(0, EFD_NONBLOCK);
        if (fds[i] < 0) {
            perror("eventfd (raise ulimit -n)");
            return 1;
        }
        guv_spawn(waiter, (void *)(long)fds[i]);
    }
    guv_sleep(seconds);
    struct guv_stats st = {0};
    guv_stats(&st, sizeof st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%d idle fds for %.0f s: %llu fd checks (%.0f/s), %llu turns, cpu %.3f s\n", n, seconds,
           (unsigned long long)st.fd_checks, st.fd_checks / seconds, (unsigned long long)st.turns,
           ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    for (int i = 0; i < n; i++) guv_close(fds[i]);
    guv_run();
    free(fds);
    return 0;
}
