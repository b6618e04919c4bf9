/* Sleeps: nanosleep, clock_nanosleep, usleep and sleep become guv_sleep
 * inside a green thread. Invalid arguments go to libc, which rejects them
 * at once without sleeping. */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>

#include "hook.h"

DEFINE_REAL(nanosleep);
DEFINE_REAL(clock_nanosleep);
DEFINE_REAL(usleep);
DEFINE_REAL(sleep);

static bool valid(const struct timespec *ts)
{
    return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static double seconds(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

/* guv_sleep for `s` seconds; on failure (the green thread was killed, a
 * deadline passed) stores the time not slept in *rem, as an interrupted
 * nanosleep does, and returns the errno. EDEADLK means "sleep the plain way". */
static int green_sleep(double s, struct timespec *rem)
{
    double end = guv_now() + s;
    if (guv_sleep(s) == 0)
        return 0;
    int e = errno;
    if (rem && e != EDEADLK) {
        double left = end - guv_now();
        if (left < 0)
            left = 0;
        rem->tv_sec = (time_t)left;
        rem->tv_nsec = (long)((left - (double)rem->tv_sec) * 1e9);
    }
    return e;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!valid(req) || !hook_green())
        return REAL(nanosleep)(req, rem);
    int e = green_sleep(seconds(req), rem);
    if (e == EDEADLK)
        return REAL(nanosleep)(req, rem);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
    /* CPU-time clocks do not advance while the green thread sleeps. */
    bool wall = clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME ||
                clock == CLOCK_TAI;
    if (!wall || !valid(req) || !hook_green())
        return REAL(clock_nanosleep)(clock, flags, req, rem);
    double s = seconds(req);
    if (flags & TIMER_ABSTIME) {
        struct timespec now;
        if (clock_gettime(clock, &now) != 0)
            return REAL(clock_nanosleep)(clock, flags, req, rem);
        s -= seconds(&now);
        /* An absolute sleep is restarted, not resumed: rem is left alone. */
        rem = NULL;
    }
    int e = green_sleep(s, rem);
    if (e == EDEADLK)
        return REAL(clock_nanosleep)(clock, flags, req, rem);
    return e;
}

int usleep(useconds_t usec)
{
    if (!hook_green())
        return REAL(usleep)(usec);
    int e = green_sleep(usec / 1e6, NULL);
    if (e == EDEADLK)
        return REAL(usleep)(usec);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

unsigned int sleep(unsigned int secs)
{
    if (!hook_green())
        return REAL(sleep)(secs);
    struct timespec rem = { 0, 0 };
    int e = green_sleep(secs, &rem);
    if (e == EDEADLK)
        return REAL(sleep)(secs);
    /* Like an interrupted sleep(3): the seconds left, rounded up. */
    return e ? (unsigned int)rem.tv_sec + (rem.tv_nsec > 0) : 0;
}
