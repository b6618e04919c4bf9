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
 * The async API: guv_redisAsyncAttach(ac) is an event-library adapter in
 * the style of hiredis' adapters/libuv.h. hiredis' addRead/addWrite hooks
 * start a green thread per direction that waits on the socket and calls
 * redisAsyncHandleRead/Write; delRead/delWrite and cleanup end it (with
 * guv_kill when it is suspended). guv_run() returns once every attached
 * context is disconnected and freed, as uv_run does. Callbacks run on those
 * green threads, so they may themselves make blocking guv calls.
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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <guv.h>

/* Casts that C++ code built with -Wold-style-cast accepts. */
#ifdef __cplusplus
#define GUV_REDIS__CAST(type, value) (static_cast<type>(value))
#else
#define GUV_REDIS__CAST(type, value) ((type)(value))
#endif

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

/* ---- Adapter for hiredis' async API ---- */

struct guv_redis__ev;

/* One direction of an attached context: the green thread that waits for
 * it (0: none) and whether hiredis wants it. */
struct guv_redis__dir {
    struct guv_redis__ev *ev;
    int events;
    int64_t id;
    int wanted;
};

/* Lives until hiredis has cleaned up and both green threads have ended. */
struct guv_redis__ev {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    int fd;
    int refs;
    struct guv_redis__dir dir[2]; /* read, write */
};

static inline void guv_redis__ev_release(struct guv_redis__ev *ev)
{
    if (--ev->refs == 0)
        free(ev);
}

/* A direction's green thread: wait, hand the event to hiredis, until
 * hiredis no longer wants it or a newer thread has taken over. */
static inline void guv_redis__dir_loop(void *arg)
{
    struct guv_redis__dir *d = GUV_REDIS__CAST(struct guv_redis__dir *, arg);
    struct guv_redis__ev *ev = d->ev;
    int64_t me = guv_current();
    while (ev->ac && d->wanted && d->id == me) {
        if (guv_trampoline(ev->fd, d->events) < 0)
            break;
        if (!ev->ac || !d->wanted || d->id != me)
            break;
        if (d->events == GUV_READ)
            redisAsyncHandleRead(ev->ac);
        else
            redisAsyncHandleWrite(ev->ac);
    }
    if (d->id == me)
        d->id = 0;
    guv_redis__ev_release(ev);
}

static inline void guv_redis__dir_add(struct guv_redis__dir *d)
{
    d->wanted = 1;
    if (d->id)
        return;
    int64_t id = guv_spawn(guv_redis__dir_loop, d);
    if (id > 0) {
        d->id = id;
        d->ev->refs++;
    }
}

/* Detaches the direction's thread; a suspended one is woken by the kill
 * and ends, one that is running ends at its next check. */
static inline void guv_redis__dir_del(struct guv_redis__dir *d)
{
    int64_t id = d->id;
    d->wanted = 0;
    d->id = 0;
    if (id && id != guv_current())
        (void)guv_kill(id);
}

static inline void guv_redis__add_read(void *p)
{
    guv_redis__dir_add(&(GUV_REDIS__CAST(struct guv_redis__ev *, p))->dir[0]);
}

static inline void guv_redis__del_read(void *p)
{
    guv_redis__dir_del(&(GUV_REDIS__CAST(struct guv_redis__ev *, p))->dir[0]);
}

static inline void guv_redis__add_write(void *p)
{
    guv_redis__dir_add(&(GUV_REDIS__CAST(struct guv_redis__ev *, p))->dir[1]);
}

static inline void guv_redis__del_write(void *p)
{
    guv_redis__dir_del(&(GUV_REDIS__CAST(struct guv_redis__ev *, p))->dir[1]);
}

static inline void guv_redis__cleanup(void *p)
{
    struct guv_redis__ev *ev = GUV_REDIS__CAST(struct guv_redis__ev *, p);
    ev->ac = NULL;
    guv_redis__dir_del(&ev->dir[0]);
    guv_redis__dir_del(&ev->dir[1]);
    guv_redis__ev_release(ev);
}

/* Attaches an async context to this OS thread's hub. REDIS_ERR when it is
 * already attached to an event library or out of memory. */
static inline int guv_redisAsyncAttach(redisAsyncContext *ac)
{
    if (ac->ev.data)
        return REDIS_ERR;
    struct guv_redis__ev *ev = GUV_REDIS__CAST(struct guv_redis__ev *, calloc(1, sizeof *ev));
    if (!ev)
        return REDIS_ERR;
    ev->ac = ac;
    ev->fd = ac->c.fd;
    ev->refs = 1; /* hiredis' reference, dropped in cleanup */
    ev->dir[0].ev = ev->dir[1].ev = ev;
    ev->dir[0].events = GUV_READ;
    ev->dir[1].events = GUV_WRITE;
    ac->ev.data = ev;
    ac->ev.addRead = guv_redis__add_read;
    ac->ev.delRead = guv_redis__del_read;
    ac->ev.addWrite = guv_redis__add_write;
    ac->ev.delWrite = guv_redis__del_write;
    ac->ev.cleanup = guv_redis__cleanup;
    /* hiredis learns that a non-blocking connect is done (and calls the
     * connect callback) at the first write readiness: ask for it now. */
    if (!(ac->c.flags & REDIS_CONNECTED))
        guv_redis__add_write(ev);
    return REDIS_OK;
}

#endif /* GUV_HIREDIS_H */
