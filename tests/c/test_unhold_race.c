/* Regression test for a core bug the C++ binding's tests found (fixed in
 * src/hub.rs): guv_run() on a held hub must return 0 once the last hold is
 * dropped from another thread and no green thread is left. It failed with
 * EDEADLK in 7 to 9 rounds of 5000: Hub::turn read the hold count twice, and
 * an unhold landing between the reads skipped the "done" branch, then found
 * no timer, fd, offload or hold. Expected: "0 of 5000 rounds failed". */
#include <guv.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic(guv_hub *) hub;
static atomic_int ran;

static void count(void *arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void *worker(void *arg) {
    guv_hub *h = guv_hub_self();
    guv_hub_hold(h);
    atomic_store(&hub, h);
    *(int *)arg = guv_run() == 0 ? 0 : errno;
    guv_hub_release(h);
    return NULL;
}

int main(void) {
    int failures = 0;
    for (int i = 0; i < 5000; i++) {
        int err = -1;
        pthread_t t;
        atomic_store(&hub, NULL);
        atomic_store(&ran, 0);
        pthread_create(&t, NULL, worker, &err);
        guv_hub *h;
        while (!(h = atomic_load(&hub))) {
        }
        guv_hub_spawn(h, count, NULL);
        while (atomic_load(&ran) == 0) {
        }
        guv_hub_unhold(h); /* the only hold: run() should now return 0 */
        pthread_join(t, NULL);
        if (err) {
            failures++;
            printf("round %d: guv_run failed with %s; its only green thread had ended\n", i, strerror(err));
        }
    }
    printf("unhold_race: %d of 5000 rounds failed\n", failures);
    return failures != 0;
}
