/* A stack walk that starts inside a blocking call (a hook's switch_out, as a
 * profiler's or a binding's would) reaches the green thread's own function:
 * the unwinder steps through guv_yield, and through guv_sleep and guv_park,
 * which on x86_64 return to their caller by a jump and carry their own CFI.
 * Built with -rdynamic (mk/c.mk) so that dladdr names the test's functions. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>

#include "test.h"

/* Which function the walk must reach, and whether the last one reached it. */
static const char *want;
static int walks, reached;

static void walk(void *userdata, void *task_data) {
    (void)userdata;
    (void)task_data;
    if (!want || !guv_current())
        return;
    void *frames[64];
    int n = backtrace(frames, 64);
    int found = 0;
    for (int i = 0; i < n; i++) {
        Dl_info info;
        if (dladdr(frames[i], &info) && info.dli_sname && strcmp(info.dli_sname, want) == 0)
            found = 1;
    }
    walks++;
    reached += found;
}

__attribute__((noinline)) void bt_yielder(void *arg) {
    (void)arg;
    ASSERT_OK(guv_yield());
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void bt_sleeper(void *arg) {
    (void)arg;
    ASSERT_OK(guv_sleep(0.001));
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void bt_parker(void *arg) {
    (void)arg;
    ASSERT_ERRNO(guv_park(0.001), ETIMEDOUT);
    __asm__ volatile("" ::: "memory");
}

static void walks_reach(guv_fn fn, const char *name) {
    want = name;
    walks = reached = 0;
    ASSERT_OK(guv_join(guv_spawn(fn, NULL)));
    want = NULL;
    ASSERT(walks > 0);
    if (reached != walks)
        FAIL("%d of %d stack walks from inside the blocking call reached %s", walks - reached, walks, name);
}

/* From inside guv_yield, guv_sleep and guv_park the walk reaches their caller. */
static void test_walk_through_blocking_calls(void) {
    walks_reach(bt_yielder, "bt_yielder");
    walks_reach(bt_sleeper, "bt_sleeper");
    walks_reach(bt_parker, "bt_parker");
}

int main(void) {
    guv_hooks hooks = {.size = sizeof hooks, .switch_out = walk};
    int h = guv_add_hooks(&hooks);
    ASSERT_OK(h);
    RUN(test_walk_through_blocking_calls);
    return 0;
}
