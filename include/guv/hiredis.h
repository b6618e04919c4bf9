/*
 * guv/hiredis.h: cooperative hiredis commands for guv green threads.
 *
 * Header-only: link your program with -lhiredis; libguv itself never links
 * hiredis. guv_redisConnect() makes a non-blocking context
 * (redisConnectNonBlock) and waits for the connect in guv_trampoline();
 * guv_redisCommand() and friends behave as redisCommand() on a blocking
 * context: they append the command, write the output buffer with
 * redisBufferWrite() (waiting for GUV_WRITE when the socket is full) and
 * read with redisBufferRead() (waiting for GUV_READ) until the reader holds
 * a reply. Pipelines work as with hiredis: redisAppendCommand() several
 * times, then guv_redisGetReply() once per command. So does pub/sub:
 * guv_redisCommand(c, "SUBSCRIBE ch"), then guv_redisGetReply() per message.
 *
 * Errors are reported hiredis' way: NULL (or REDIS_ERR) with c->err and
 * c->errstr set, after which the context is unusable (hiredis' rule).
 * A wait that fails — ETIMEDOUT from guv_timeout_begin(), ECANCELED from
 * guv_kill(), EDEADLK/EPERM where the caller may not switch — is such an
 * error: c->err = REDIS_ERR_IO, c->errstr = strerror(errno), the socket is
 * shut down, and errno keeps the reason. A reply that arrives later can
 * never be mistaken for the next command's. Free the context with
 * redisFree() and connect again.
 *
 * Not cooperative: the host name lookup in redisConnectNonBlock (pass an IP
 * address). As with blocking hiredis, writing to a connection the server
 * closed raises SIGPIPE: ignore it in programs that may meet one.
 */

#ifndef GUV_HIREDIS_H
#define GUV_HIREDIS_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include <guv.h>

/* Marks `c` failed the way hiredis marks an I/O error; returns REDIS_ERR. */
static inline int guv_redis__fail(redisContext *c, int err)
{
    c->err = REDIS_ERR_IO;
    snprintf(c->errstr, sizeof c->errstr, "%s", strerror(err));
    (void)shutdown(c->fd, SHUT_RDWR);
    errno = err;
    return REDIS_ERR;
}

/* Waits for `events` on the context's socket, failing the context if the wait fails. */
static inline int guv_redis__wait(redisContext *c, int events)
{
    return guv_trampoline(c->fd, events) < 0 ? guv_redis__fail(c, errno) : REDIS_OK;
}

/* Waits for a non-blocking connect to finish: it is done when the socket
 * turns writable, and SO_ERROR then says whether it worked. */
static inline redisContext *guv_redis__connected(redisContext *c)
{
    if (!c || c->err || guv_redis__wait(c, GUV_WRITE) != REDIS_OK)
        return c;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr)
        guv_redis__fail(c, soerr);
    return c;
}

/* As redisConnect: never NULL but out of memory; check c->err. */
static inline redisContext *guv_redisConnect(const char *ip, int port)
{
    return guv_redis__connected(redisConnectNonBlock(ip, port));
}

/* As redisConnectUnix. */
static inline redisContext *guv_redisConnectUnix(const char *path)
{
    return guv_redis__connected(redisConnectUnixNonBlock(path));
}

/* As redisGetReply: the next reply, writing pending commands first.
 * REDIS_OK with *reply set, or REDIS_ERR with c->err set. */
static inline int guv_redisGetReply(redisContext *c, void **reply)
{
    void *aux = NULL;
    if (redisGetReplyFromReader(c, &aux) == REDIS_ERR)
        return REDIS_ERR;
    if (!aux) {
        int done = 0;
        for (;;) {
            if (redisBufferWrite(c, &done) == REDIS_ERR)
                return REDIS_ERR;
            if (done)
                break;
            if (guv_redis__wait(c, GUV_WRITE) != REDIS_OK)
                return REDIS_ERR;
        }
        while (!aux) {
            if (guv_redis__wait(c, GUV_READ) != REDIS_OK || redisBufferRead(c) == REDIS_ERR
                || redisGetReplyFromReader(c, &aux) == REDIS_ERR)
                return REDIS_ERR;
        }
    }
    if (reply)
        *reply = aux;
    else
        freeReplyObject(aux);
    return REDIS_OK;
}

/* The reply to the command just appended, or NULL. */
static inline void *guv_redis__reply(redisContext *c, int appended)
{
    void *reply = NULL;
    if (appended != REDIS_OK || guv_redisGetReply(c, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/* As redisvCommand: a redisReply (freeReplyObject), or NULL with c->err. */
static inline void *guv_redisvCommand(redisContext *c, const char *format, va_list ap)
{
    return guv_redis__reply(c, redisvAppendCommand(c, format, ap));
}

/* As redisCommand: a redisReply (freeReplyObject), or NULL with c->err. */
static inline void *guv_redisCommand(redisContext *c, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    void *reply = guv_redisvCommand(c, format, ap);
    va_end(ap);
    return reply;
}

/* As redisCommandArgv. */
static inline void *guv_redisCommandArgv(redisContext *c, int argc, const char **argv,
                                         const size_t *argvlen)
{
    return guv_redis__reply(c, redisAppendCommandArgv(c, argc, argv, argvlen));
}

#endif /* GUV_HIREDIS_H */
