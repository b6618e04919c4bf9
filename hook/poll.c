/* Readiness waits: poll, ppoll, select, pselect and epoll_wait all become
 * guv_poll inside a green thread. A call with a signal mask passes through:
 * swapping the mask atomically with the wait cannot be done cooperatively. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include "hook.h"

extern void __chk_fail(void) __attribute__((noreturn));

DEFINE_REAL(poll);
DEFINE_REAL(ppoll);
DEFINE_REAL(select);
DEFINE_REAL(pselect);
DEFINE_REAL(epoll_wait);
DEFINE_REAL(epoll_pwait);

/* A zero timeout never waits, so it needs no green thread switch either. */
static bool green_wait(int timeout_ms)
{
    return timeout_ms != 0 && hook_green();
}

/* A timespec as poll's milliseconds, rounded up so a wait is never cut
 * short; -1 for NULL (forever), -2 for an invalid one (the real call
 * reports EINVAL). */
static int timespec_ms(const struct timespec *ts)
{
    if (!ts)
        return -1;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
        return -2;
    long long ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
    return ms > INT32_MAX ? -1 : (int)ms;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (!green_wait(timeout))
        return REAL(poll)(fds, nfds, timeout);
    GREEN_OR_REAL(guv_poll(fds, nfds, timeout), REAL(poll)(fds, nfds, timeout));
}

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
    if (fdslen / sizeof *fds < nfds)
        __chk_fail();
    return poll(fds, nfds, timeout);
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *sigmask)
{
    int ms = timespec_ms(tmo);
    if (sigmask || ms < -1 || !green_wait(ms))
        return REAL(ppoll)(fds, nfds, tmo, sigmask);
    GREEN_OR_REAL(guv_poll(fds, nfds, ms), REAL(ppoll)(fds, nfds, tmo, sigmask));
}

int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *sigmask,
                size_t fdslen)
{
    if (fdslen / sizeof *fds < nfds)
        __chk_fail();
    return ppoll(fds, nfds, tmo, sigmask);
}

/* select's three sets as a pollfd array, waited on with guv_poll, and the
 * sets rewritten from the results as select(2) reports them. Returns -2
 * when the plain call must be made instead. */
static int select_by_poll(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int ms)
{
    if (nfds < 0 || nfds > FD_SETSIZE)
        return -2;
    struct pollfd *p = NULL;
    int n = 0;
    if (nfds > 0) {
        p = malloc(sizeof *p * (size_t)nfds);
        if (!p)
            return -2;
    }
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (rd && FD_ISSET(fd, rd))
            ev |= POLLIN;
        if (wr && FD_ISSET(fd, wr))
            ev |= POLLOUT;
        if (ex && FD_ISSET(fd, ex))
            ev |= POLLPRI;
        if (ev)
            p[n++] = (struct pollfd){ .fd = fd, .events = ev };
    }
    int r = guv_poll(p, (nfds_t)n, ms);
    if (r == -1 && errno == EDEADLK) {
        free(p);
        return -2;
    }
    if (r < 0) {
        int e = errno;
        free(p);
        errno = e;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (p[i].revents & POLLNVAL) {
            free(p);
            errno = EBADF;
            return -1;
        }
    }
    if (rd)
        FD_ZERO(rd);
    if (wr)
        FD_ZERO(wr);
    if (ex)
        FD_ZERO(ex);
    int count = 0;
    for (int i = 0; i < n; i++) {
        short re = p[i].revents, ev = p[i].events;
        /* As the kernel's select: hang-up and error make a fd readable and writable. */
        if ((ev & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
            FD_SET(p[i].fd, rd);
            count++;
        }
        if ((ev & POLLOUT) && (re & (POLLOUT | POLLERR))) {
            FD_SET(p[i].fd, wr);
            count++;
        }
        if ((ev & POLLPRI) && (re & POLLPRI)) {
            FD_SET(p[i].fd, ex);
            count++;
        }
    }
    free(p);
    return count;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    int ms = -1;
    if (tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
            return REAL(select)(nfds, rd, wr, ex, tv);
        long long t = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
        ms = t > INT32_MAX ? -1 : (int)t;
    }
    if (!green_wait(ms))
        return REAL(select)(nfds, rd, wr, ex, tv);
    double start = guv_now();
    int r = select_by_poll(nfds, rd, wr, ex, ms);
    if (r == -2)
        return REAL(select)(nfds, rd, wr, ex, tv);
    if (tv) {
        /* Linux's select leaves the time not slept in *tv. */
        double left = tv->tv_sec + tv->tv_usec / 1e6 - (guv_now() - start);
        if (left < 0 || r == 0)
            left = 0;
        tv->tv_sec = (time_t)left;
        tv->tv_usec = (suseconds_t)((left - (double)tv->tv_sec) * 1e6);
    }
    return r;
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts, const sigset_t *sigmask)
{
    int ms = timespec_ms(ts);
    if (sigmask || ms < -1 || !green_wait(ms))
        return REAL(pselect)(nfds, rd, wr, ex, ts, sigmask);
    int r = select_by_poll(nfds, rd, wr, ex, ms);
    if (r == -2)
        return REAL(pselect)(nfds, rd, wr, ex, ts, sigmask);
    return r;
}

/* Waits until the epoll instance itself is readable, then collects its
 * events without blocking; repeats while another reader took them first. */
static int epoll_by_poll(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    double until = timeout < 0 ? -1 : guv_now() + timeout / 1e3;
    for (;;) {
        int n = REAL(epoll_wait)(epfd, events, maxevents, 0);
        if (n != 0)
            return n;
        int left = -1;
        if (until >= 0) {
            double s = until - guv_now();
            if (s <= 0)
                return 0;
            left = (int)(s * 1e3) + 1;
        }
        struct pollfd p = { .fd = epfd, .events = POLLIN };
        int r = guv_poll(&p, 1, left);
        if (r < 0)
            return r == -1 && errno == EDEADLK ? REAL(epoll_wait)(epfd, events, maxevents, timeout) : -1;
        if (r == 0)
            return 0;
        if (p.revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    }
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    if (maxevents <= 0 || !green_wait(timeout))
        return REAL(epoll_wait)(epfd, events, maxevents, timeout);
    return epoll_by_poll(epfd, events, maxevents, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *sigmask)
{
    if (sigmask || maxevents <= 0 || !green_wait(timeout))
        return REAL(epoll_pwait)(epfd, events, maxevents, timeout, sigmask);
    return epoll_by_poll(epfd, events, maxevents, timeout);
}
