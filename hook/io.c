/* Data and connection calls: read/write and the socket calls, each handed
 * to its guv_* namesake on a blocking-mode fd inside a green thread. */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hook.h"

/* glibc's report of a _FORTIFY_SOURCE overflow; it does not return. */
extern void __chk_fail(void) __attribute__((noreturn));

DEFINE_REAL(read);
DEFINE_REAL(write);
DEFINE_REAL(readv);
DEFINE_REAL(writev);
DEFINE_REAL(recv);
DEFINE_REAL(recvfrom);
DEFINE_REAL(recvmsg);
DEFINE_REAL(send);
DEFINE_REAL(sendto);
DEFINE_REAL(sendmsg);
DEFINE_REAL(accept);
DEFINE_REAL(accept4);
DEFINE_REAL(connect);

/* A socket call the caller made non-blocking by its flags passes through. */
static bool green_sock(int fd, int flags)
{
    return !(flags & MSG_DONTWAIT) && hook_green_fd(fd);
}

ssize_t read(int fd, void *buf, size_t count)
{
    if (!hook_green_fd(fd))
        return REAL(read)(fd, buf, count);
    GREEN_IO(fd, POLLIN, guv_read(fd, buf, count), REAL(read)(fd, buf, count));
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    if (count > buflen)
        __chk_fail();
    return read(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count)
{
    if (!hook_green_fd(fd))
        return REAL(write)(fd, buf, count);
    GREEN_IO(fd, POLLOUT, guv_write(fd, buf, count), REAL(write)(fd, buf, count));
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (!hook_green_fd(fd))
        return REAL(readv)(fd, iov, iovcnt);
    GREEN_IO(fd, POLLIN, guv_readv(fd, iov, iovcnt), REAL(readv)(fd, iov, iovcnt));
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (!hook_green_fd(fd))
        return REAL(writev)(fd, iov, iovcnt);
    GREEN_IO(fd, POLLOUT, guv_writev(fd, iov, iovcnt), REAL(writev)(fd, iov, iovcnt));
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    if (!green_sock(fd, flags))
        return REAL(recv)(fd, buf, len, flags);
    GREEN_IO(fd, POLLIN, guv_recv(fd, buf, len, flags), REAL(recv)(fd, buf, len, flags));
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return recv(fd, buf, len, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addrlen)
{
    if (!green_sock(fd, flags))
        return REAL(recvfrom)(fd, buf, len, flags, addr, addrlen);
    GREEN_IO(fd, POLLIN, guv_recvfrom(fd, buf, len, flags, addr, addrlen),
                  REAL(recvfrom)(fd, buf, len, flags, addr, addrlen));
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *addrlen)
{
    if (len > buflen)
        __chk_fail();
    return recvfrom(fd, buf, len, flags, addr, addrlen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!green_sock(fd, flags))
        return REAL(recvmsg)(fd, msg, flags);
    GREEN_IO(fd, POLLIN, guv_recvmsg(fd, msg, flags), REAL(recvmsg)(fd, msg, flags));
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    if (!green_sock(fd, flags))
        return REAL(send)(fd, buf, len, flags);
    GREEN_IO(fd, POLLOUT, guv_send(fd, buf, len, flags), REAL(send)(fd, buf, len, flags));
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t addrlen)
{
    if (!green_sock(fd, flags))
        return REAL(sendto)(fd, buf, len, flags, addr, addrlen);
    GREEN_IO(fd, POLLOUT, guv_sendto(fd, buf, len, flags, addr, addrlen),
                  REAL(sendto)(fd, buf, len, flags, addr, addrlen));
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!green_sock(fd, flags))
        return REAL(sendmsg)(fd, msg, flags);
    GREEN_IO(fd, POLLOUT, guv_sendmsg(fd, msg, flags), REAL(sendmsg)(fd, msg, flags));
}

static int green_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    GREEN_IO(fd, POLLIN, guv_accept4(fd, addr, addrlen, flags), REAL(accept4)(fd, addr, addrlen, flags));
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    if (!hook_green_fd(fd))
        return hook_fd_fresh(REAL(accept)(fd, addr, addrlen));
    return hook_fd_fresh(green_accept4(fd, addr, addrlen, 0));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    if (!hook_green_fd(fd))
        return hook_fd_fresh(REAL(accept4)(fd, addr, addrlen, flags));
    return hook_fd_fresh(green_accept4(fd, addr, addrlen, flags));
}

int connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    if (!hook_green_fd(fd))
        return REAL(connect)(fd, addr, addrlen);
    GREEN_IO(fd, POLLOUT, guv_connect(fd, addr, addrlen), REAL(connect)(fd, addr, addrlen));
}
