/*
 * libguv_hook internals shared by its files: the real libc functions, the
 * per-fd cache, and the one question every wrapper asks first — "may this
 * call become a guv call?".
 *
 * A wrapper passes straight through to libc when the hook is disabled
 * (GUV_HOOK=0), outside any green thread (guv_current() == 0: main, other OS
 * threads, guv's offload threads and the hub's own loop), on an fd that is
 * a regular file or that its owner made non-blocking, and when
 * guv_can_switch() says no (the binding's may_switch, e.g. the GIL is held).
 */
#ifndef GUV_HOOK_INTERNAL_H
#define GUV_HOOK_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "guv.h"

/* Only the libc names are exported; the hook's own helpers stay inside. */
#pragma GCC visibility push(hidden)

/* dlsym(RTLD_NEXT, name), resolved once per function; aborts if missing. */
void *hook_dlsym(void **slot, const char *name);
#define REAL(name) ((__typeof__(&name))hook_dlsym((void **)&real_##name, #name))
#define DEFINE_REAL(name) static void *real_##name

/* The GUV_HOOK environment variable, read once: 0 turns every wrapper into
 * a plain pass-through. */
bool hook_enabled(void);

/* Inside a green thread (GUV_HOOK permitting). Marks the OS thread as one
 * that runs green threads (see hook_thread_has_hub). */
bool hook_in_green_thread(void);

/* Inside a green thread that may switch now. */
bool hook_green(void);

/* Whether this OS thread has run green threads under a wrapper, so that it
 * has a hub worth telling about a close; asking guv elsewhere would create
 * a hub (and its epoll fd) in every thread that closes an fd. */
bool hook_thread_has_hub(void);

/* False in a vfork child, which shares the parent's memory (and so its
 * hub) but not its fds. One getpid system call: for the close paths only. */
bool hook_in_own_process(void);

/* Whether `fd` is one guv should wait on: not a regular file (or directory
 * or block device), and not set non-blocking by its owner. The answer comes
 * from a per-fd cache filled by fstat and F_GETFL on first use. A stale
 * entry only costs cooperation, never correctness: guv's I/O layer checks
 * O_NONBLOCK again before it would wait, so a wrong "blocking" still
 * returns EAGAIN, and a wrong "pass through" blocks the plain way. */
bool hook_fd_waitable(int fd);

/* Forget the cache entry of `fd` (closed, replaced or newly created). */
void hook_fd_forget(int fd);

/* A new fd, returned as is: its number may have been closed behind the
 * hook's back (fclose and other glibc internals), so its entry starts afresh. */
int hook_fd_fresh(int fd);

/* The owner set (or cleared) O_NONBLOCK on `fd`. */
void hook_fd_set_nonblock(int fd, bool nonblock);

/* hook_green() and hook_fd_waitable(fd); the binding's may_switch, the
 * dearest question, is asked last. */
static inline bool hook_green_fd(int fd)
{
    return hook_in_green_thread() && hook_fd_waitable(fd) && guv_can_switch() != 0;
}

/* A guv call refused to switch after all (EDEADLK: may_switch changed its
 * mind, or libc was entered from inside the hub): do the plain call. */
#define GREEN_OR_REAL(green, real)                  \
    do {                                            \
        __typeof__(green) r_ = (green);             \
        if (r_ == -1 && errno == EDEADLK) return (real); \
        return r_;                                  \
    } while (0)

/* As GREEN_OR_REAL for a call on `fd`. guv lets one green thread wait to
 * read and one to write per fd (EBUSY for a second); plain code expects
 * any number, so a second waiter waits with guv_poll, which has no such
 * limit, and tries again. */
#define GREEN_IO(fd, pollev, green, real)                                  \
    do {                                                                   \
        for (;;) {                                                         \
            __typeof__(green) r_ = (green);                                \
            if (r_ == -1 && errno == EBUSY) {                              \
                struct pollfd p_ = { .fd = (fd), .events = (pollev) };      \
                if (guv_poll(&p_, 1, -1) >= 0)                             \
                    continue;                                              \
                r_ = -1;                                                   \
            }                                                              \
            if (r_ == -1 && errno == EDEADLK)                              \
                return (real);                                             \
            return r_;                                                     \
        }                                                                  \
    } while (0)

#pragma GCC visibility pop

#endif /* GUV_HOOK_INTERNAL_H */
