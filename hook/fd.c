/* fd lifecycle: close, dup2 and dup3 wake the green threads waiting on the
 * fd they end or replace (EBADF) before the real call, since epoll drops a
 * closed fd silently and its waiters would sleep forever; they and the
 * calls that create or reconfigure fds keep the per-fd cache true. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hook.h"

DEFINE_REAL(close);
DEFINE_REAL(dup);
DEFINE_REAL(dup2);
DEFINE_REAL(dup3);
DEFINE_REAL(fcntl);
DEFINE_REAL(fcntl64);
DEFINE_REAL(ioctl);
DEFINE_REAL(socket);
DEFINE_REAL(socketpair);
DEFINE_REAL(pipe);
DEFINE_REAL(pipe2);

/* `fd` is about to be closed or replaced: wake its waiters on this
 * thread's hub, if the thread has one, and drop its cache entry. errno is
 * left as it was, so the real call alone decides it. */
static void ending(int fd)
{
    if (!hook_enabled() || fd < 0)
        return;
    hook_fd_forget(fd);
    if ((guv_current() != 0 || hook_thread_has_hub()) && hook_in_own_process()) {
        int e = errno;
        guv_forget(fd);
        errno = e;
    }
}

static bool is_open(int fd)
{
    return syscall(SYS_fcntl, fd, F_GETFD, 0) >= 0;
}

int close(int fd)
{
    ending(fd);
    return REAL(close)(fd);
}

int dup(int fd)
{
    return hook_fd_fresh(REAL(dup)(fd));
}

int dup2(int oldfd, int newfd)
{
    /* A dup2 that will fail (bad oldfd) or do nothing leaves newfd's waiters be. */
    if (oldfd != newfd && is_open(oldfd))
        ending(newfd);
    int r = REAL(dup2)(oldfd, newfd);
    if (r >= 0)
        hook_fd_forget(newfd);
    return r;
}

int dup3(int oldfd, int newfd, int flags)
{
    if (oldfd != newfd && is_open(oldfd))
        ending(newfd);
    int r = REAL(dup3)(oldfd, newfd, flags);
    if (r >= 0)
        hook_fd_forget(newfd);
    return r;
}

/* After a successful fcntl: the owner's O_NONBLOCK, or a new fd. */
static int after_fcntl(int r, int fd, int cmd, void *arg)
{
    if (r < 0)
        return r;
    if (cmd == F_SETFL)
        hook_fd_set_nonblock(fd, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
    else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        hook_fd_forget(r);
    return r;
}

/* fcntl's third argument is an int or a pointer; like glibc's own wrapper
 * we take it as a pointer, which carries either in the same register. */
int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return after_fcntl(REAL(fcntl)(fd, cmd, arg), fd, cmd, arg);
}

/* What code built with _FILE_OFFSET_BITS=64 (CPython among it) calls. */
int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return after_fcntl(REAL(fcntl64)(fd, cmd, arg), fd, cmd, arg);
}

/* FIONBIO is the other way to set O_NONBLOCK. */
int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = REAL(ioctl)(fd, request, arg);
    if (r >= 0 && request == FIONBIO && arg)
        hook_fd_set_nonblock(fd, *(int *)arg != 0);
    return r;
}

int socket(int domain, int type, int protocol)
{
    return hook_fd_fresh(REAL(socket)(domain, type, protocol));
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
    int r = REAL(socketpair)(domain, type, protocol, sv);
    if (r == 0) {
        hook_fd_fresh(sv[0]);
        hook_fd_fresh(sv[1]);
    }
    return r;
}

int pipe(int fds[2])
{
    int r = REAL(pipe)(fds);
    if (r == 0) {
        hook_fd_fresh(fds[0]);
        hook_fd_fresh(fds[1]);
    }
    return r;
}

int pipe2(int fds[2], int flags)
{
    int r = REAL(pipe2)(fds, flags);
    if (r == 0) {
        hook_fd_fresh(fds[0]);
        hook_fd_fresh(fds[1]);
    }
    return r;
}
