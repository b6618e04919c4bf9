/* getaddrinfo, getnameinfo and gethostbyname called by 50 green threads
 * (run on guv's offload pool by the hook) answer as they do in main. */
#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

#include "hook_test.h"

/* The first IPv4 address getaddrinfo gives for `host`, as text. */
static void first_v4(const char *host, char *out, size_t len)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(host, "80", &hints, &res);
    if (rc != 0)
        FAIL("getaddrinfo(%s): %s", host, gai_strerror(rc));
    ASSERT(inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, out, (socklen_t)len));
    ASSERT_EQ(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 80);
    freeaddrinfo(res);
}

static char main_addr[64], main_name[256];

static void resolve(int i, void *ctx)
{
    (void)i, (void)ctx;
    char addr[64];
    first_v4("localhost", addr, sizeof addr);
    ASSERT(strcmp(addr, main_addr) == 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    char host[256], serv[32];
    ASSERT_EQ(getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, serv, sizeof serv, 0), 0);
    ASSERT(strcmp(host, main_name) == 0);
    /* A name that cannot exist fails as in main, with its error code. */
    struct addrinfo hints = { .ai_family = AF_INET, .ai_flags = AI_NUMERICHOST }, *res;
    ASSERT_EQ(getaddrinfo("not-an-address", NULL, &hints, &res), EAI_NONAME);
}

static void test_resolver_in_green_threads(void)
{
    first_v4("localhost", main_addr, sizeof main_addr);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    char serv[32];
    ASSERT_EQ(getnameinfo((struct sockaddr *)&sa, sizeof sa, main_name, sizeof main_name, serv, sizeof serv, 0),
              0);
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, resolve, NULL, &ticker);
    printf("  %d x getaddrinfo + getnameinfo of localhost: %.2f s\n", DRV_CONCURRENCY, elapsed);
    ASSERT(elapsed < DRV_GATE_SECONDS);
}

static void by_name(void *arg)
{
    struct hostent *h = gethostbyname("localhost");
    ASSERT(h != NULL);
    ASSERT_EQ(h->h_addrtype, AF_INET);
    char addr[64];
    ASSERT(inet_ntop(AF_INET, h->h_addr_list[0], addr, sizeof addr));
    ASSERT(strcmp(addr, main_addr) == 0);
    struct hostent he, *res = NULL;
    char buf[1024];
    int herr = 0;
    ASSERT_EQ(gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr), 0);
    ASSERT(res == &he);
    *(int *)arg = 1;
}

static void test_gethostbyname(void)
{
    int done = 0;
    ASSERT_OK(guv_spawn(by_name, &done));
    ASSERT_OK(guv_run());
    ASSERT_EQ(done, 1);
}

int main(void)
{
    RUN(test_resolver_in_green_threads);
    RUN(test_gethostbyname);
    return 0;
}
