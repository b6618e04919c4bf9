/* Core bug, found by the C++ binding's offload test: a burst of offloads
 * made while the pool has one idle thread should start more pool threads
 * (up to GUV_OFFLOAD_THREADS, default 8), so 8 concurrent 50 ms calls take
 * about 50 ms. Sometimes they run one after another instead (about 400 ms).
 *
 * Cause (src/offload.rs, submit): a thread woken with notify_one still
 * counts as idle until it runs and takes the lock, so every submission of
 * the burst sees `idle > 0`, only notifies, and starts no thread.
 *
 * Each round runs in a fresh child, whose pool starts empty. Expected:
 * "0 of 30 rounds serialised". Got: 13 to 27 of 30 rounds take about 400 ms.
 * Not in `make test`; run with `make cpp-core-bugs`. */
#include <guv.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void nothing(void *arg) { (void)arg; }
static void sleep_50ms(void *arg) {
    (void)arg;
    usleep(50000);
}
static void offloader(void *arg) {
    (void)arg;
    guv_offload(sleep_50ms, NULL);
}

/* One round: exits 1 when the 8 calls did not overlap. */
static void round_in_child(void) {
    guv_offload(nothing, NULL); /* now the pool has one thread, idle */
    double start = guv_now();
    for (int i = 0; i < 8; i++) guv_spawn(offloader, NULL);
    guv_run();
    double took = guv_now() - start;
    if (took > 0.2) printf("8 concurrent 50 ms offloads took %.0f ms\n", took * 1e3);
    fflush(stdout);
    _exit(took > 0.2);
}

int main(void) {
    int slow = 0;
    for (int i = 0; i < 30; i++) {
        pid_t pid = fork();
        if (pid == 0) round_in_child();
        int status;
        waitpid(pid, &status, 0);
        slow += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    printf("offload_burst: %d of 30 rounds serialised\n", slow);
    return slow != 0;
}
