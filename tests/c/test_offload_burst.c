/* Regression test for a core bug the C++ binding's tests found (fixed in
 * src/offload.rs): a burst of offloads made while the pool has one idle
 * thread must start more pool threads (up to GUV_OFFLOAD_THREADS, default
 * 8), so 8 concurrent 50 ms calls take about 50 ms, not 400 ms. A thread
 * woken with notify_one still counted as idle until it took the lock, so
 * every submission of the burst only notified and started no thread: 13 to
 * 27 rounds of 30 ran serially. Each round runs in a fresh child, whose
 * pool starts empty. */
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
    /* The bug serialised 13 to 27 rounds of 30; a round or two lost to a
     * loaded machine is not the bug. */
    return slow > 3;
}
