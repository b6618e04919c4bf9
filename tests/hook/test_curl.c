/* libcurl's easy API cooperates under libguv_hook: 50 workers each GET a
 * page from a local HTTP server that takes 0.2 s per request. curl's
 * sockets are non-blocking and it waits in poll(), which is hooked. */
#include <curl/curl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "drivers.h"

extern char **environ;

/* Python's threaded HTTP server, one thread per request, each answering
 * "hello <path>" after DRV_SLEEP seconds; it prints its port first. */
static const char server_py[] =
    "import http.server, sys, time\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        time.sleep(float(sys.argv[1]))\n"
    "        body = ('hello ' + self.path).encode()\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def log_message(self, *args):\n"
    "        pass\n"
    "class S(http.server.ThreadingHTTPServer):\n"
    "    request_queue_size = 128\n"
    "    daemon_threads = True\n"
    "s = S(('127.0.0.1', 0), H)\n"
    "print(s.server_address[1], flush=True)\n"
    "s.serve_forever()\n";

static pid_t server_pid;
static int server_port;

static void start_server(void)
{
    int p[2];
    ASSERT_OK(pipe(p));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char sleep_arg[16];
    snprintf(sleep_arg, sizeof sleep_arg, "%.1f", DRV_SLEEP);
    char *argv[] = { "python3", "-c", (char *)server_py, sleep_arg, NULL };
    int rc = posix_spawnp(&server_pid, "python3", &fa, NULL, argv, environ);
    if (rc != 0)
        FAIL("cannot start python3 for the HTTP server: %s", strerror(rc));
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    ASSERT(f != NULL);
    if (fscanf(f, "%d", &server_port) != 1)
        FAIL("the HTTP server did not report its port");
    fclose(f);
}

static void stop_server(void)
{
    kill(server_pid, SIGTERM);
    ASSERT_EQ(waitpid(server_pid, NULL, 0), server_pid);
}

struct body {
    char data[64];
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t len = size * n;
    if (b->len + len >= sizeof b->data)
        return 0;
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = 0;
    return len;
}

static void get(int i, void *ctx)
{
    (void)ctx;
    char url[64], want[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/%d", server_port, i);
    snprintf(want, sizeof want, "hello /%d", i);
    struct body b = { .len = 0 };
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        FAIL("worker %d: GET %s: %s", i, url, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    ASSERT_EQ(status, 200);
    if (strcmp(b.data, want) != 0)
        FAIL("worker %d: body \"%s\", expected \"%s\"", i, b.data, want);
    curl_easy_cleanup(c);
}

static void test_easy_perform_cooperates(void)
{
    struct drv_ticker ticker;
    double elapsed = drv_parallel(DRV_CONCURRENCY, get, NULL, &ticker);
    drv_check_cooperation("curl_easy_perform(GET)", elapsed, &ticker);
}

int main(void)
{
    ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    start_server();
    RUN(test_easy_perform_cooperates);
    stop_server();
    curl_global_cleanup();
    return 0;
}
