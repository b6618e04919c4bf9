/* Name resolution: glibc's resolver reads files and talks DNS through its
 * own internal calls, which no wrapper sees, so inside a green thread the
 * whole call runs on guv's offload pool and only the caller waits. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

#include "hook.h"

DEFINE_REAL(getaddrinfo);
DEFINE_REAL(getnameinfo);
DEFINE_REAL(gethostbyname);
DEFINE_REAL(gethostbyname2);
DEFINE_REAL(gethostbyname_r);

/* One call and its results; errno and h_errno are per thread, so the
 * offload thread's are carried back to the caller. */
struct call {
    void (*run)(struct call *);
    const void *a[4];
    void *out[4];
    size_t n[2];
    int i[2];
    long r;
    void *rp;
    int err, herr;
};

static void run_call(void *arg)
{
    struct call *c = arg;
    errno = 0;
    c->run(c);
    c->err = errno;
    c->herr = h_errno;
}

/* Runs c->run on the offload pool; false when it must run here instead. */
static bool offloaded(struct call *c)
{
    if (!hook_green() || guv_offload(run_call, c) != 0)
        return false;
    errno = c->err;
    h_errno = c->herr;
    return true;
}

/* A numeric address needs no lookup: resolve it here, without a thread hop. */
static bool numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return !host || inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void run_getaddrinfo(struct call *c)
{
    c->r = REAL(getaddrinfo)(c->a[0], c->a[1], c->a[2], c->out[0]);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    struct call c = { .run = run_getaddrinfo, .a = { node, service, hints }, .out = { res } };
    if (numeric(node) || !offloaded(&c))
        return REAL(getaddrinfo)(node, service, hints, res);
    return (int)c.r;
}

static void run_getnameinfo(struct call *c)
{
    c->r = REAL(getnameinfo)(c->a[0], (socklen_t)c->n[0], c->out[0], (socklen_t)c->n[1], c->out[1],
                             (socklen_t)c->i[0], c->i[1]);
}

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                socklen_t servlen, int flags)
{
    struct call c = { .run = run_getnameinfo, .a = { sa }, .out = { host, serv },
                      .n = { salen, hostlen }, .i = { (int)servlen, flags } };
    if ((flags & NI_NUMERICHOST) || !offloaded(&c))
        return REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
    return (int)c.r;
}

static void run_gethostbyname2(struct call *c)
{
    c->rp = REAL(gethostbyname2)(c->a[0], c->i[0]);
}

struct hostent *gethostbyname2(const char *name, int af)
{
    struct call c = { .run = run_gethostbyname2, .a = { name }, .i = { af } };
    if (!offloaded(&c))
        return REAL(gethostbyname2)(name, af);
    return c.rp;
}

static void run_gethostbyname(struct call *c)
{
    c->rp = REAL(gethostbyname)(c->a[0]);
}

struct hostent *gethostbyname(const char *name)
{
    struct call c = { .run = run_gethostbyname, .a = { name } };
    if (!offloaded(&c))
        return REAL(gethostbyname)(name);
    return c.rp;
}

static void run_gethostbyname_r(struct call *c)
{
    c->r = REAL(gethostbyname_r)(c->a[0], c->out[0], c->out[1], c->n[0], c->out[2], c->out[3]);
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                    int *h_errnop)
{
    struct call c = { .run = run_gethostbyname_r, .a = { name }, .out = { ret, buf, result, h_errnop },
                      .n = { buflen } };
    if (!offloaded(&c))
        return REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
    return (int)c.r;
}
