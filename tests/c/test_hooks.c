/* guv_set_hooks: per-task callbacks at start, end and every switch. */
#include "test.h"

#define TASKS 10

struct task_rec {
    int64_t id;
    int started, ended, outs, ins;
    int out_now; /* 1 between switch_out and switch_in */
    int body_saw_start;
};

struct counts {
    struct task_rec rec[TASKS];
    int next;
    int allow; /* what may_switch answers */
    int asked;
};
static struct counts hk;

static void *on_start(void *userdata) {
    ASSERT(userdata == &hk);
    struct task_rec *r = &hk.rec[hk.next++];
    r->id = guv_current(); /* runs on the new green thread already */
    r->started++;
    return r;
}

static void on_end(void *userdata, void *data) {
    ASSERT(userdata == &hk);
    struct task_rec *r = data;
    ASSERT_EQ(r->id, guv_current());
    r->ended++;
}

static void on_out(void *userdata, void *data) {
    (void)userdata;
    struct task_rec *r = data;
    ASSERT_EQ(r->out_now, 0);
    r->out_now = 1;
    r->outs++;
}

static void on_in(void *userdata, void *data) {
    (void)userdata;
    struct task_rec *r = data;
    ASSERT_EQ(r->out_now, 1);
    r->out_now = 0;
    r->ins++;
}

static int32_t may_switch(void *userdata, void *data) {
    (void)userdata;
    (void)data;
    hk.asked++;
    return hk.allow;
}

static const guv_hooks hooks = {sizeof(guv_hooks), on_start, on_end, on_out, on_in, may_switch, &hk};

static void three_switches(void *arg) {
    int me = (int)(intptr_t)arg;
    struct task_rec *r = &hk.rec[me];
    ASSERT_EQ(r->id, guv_current());
    ASSERT_EQ(r->started, 1);
    ASSERT_EQ(r->ended, 0);
    ASSERT_EQ(guv_sleep(0.001), 0);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(guv_sleep(0.002), 0);
    ASSERT_EQ(r->outs, 3);
    ASSERT_EQ(r->ins, 3);
}

/* start and end run once per green thread with its own task data; each
 * suspension is one switch_out followed by one switch_in. */
static void test_hook_counts(void) {
    memset(&hk, 0, sizeof hk);
    hk.allow = 1;
    ASSERT_EQ(guv_set_hooks(&hooks), 0);
    for (int i = 0; i < TASKS; i++) ASSERT(guv_spawn(three_switches, (void *)(intptr_t)i) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_set_hooks(NULL), 0);
    ASSERT_EQ(hk.next, TASKS);
    for (int i = 0; i < TASKS; i++) {
        ASSERT_EQ(hk.rec[i].started, 1);
        ASSERT_EQ(hk.rec[i].ended, 1);
        ASSERT_EQ(hk.rec[i].outs, 3);
        ASSERT_EQ(hk.rec[i].ins, 3);
    }
    ASSERT(hk.asked >= 3 * TASKS);
}

static void refused(void *arg) {
    (void)arg;
    hk.allow = 0;
    ASSERT_EQ(guv_can_switch(), 0);
    ASSERT_ERRNO(guv_sleep(0.001), EACCES);
    /* guv_yield too, as guv_hooks says (guv_yield's own doc lists only EPERM). */
    ASSERT_ERRNO(guv_yield(), EACCES);
    ASSERT_ERRNO(guv_join(guv_spawn(test_noop, NULL)), EACCES);
    ASSERT_ERRNO(guv_offload(test_noop, NULL), EACCES);
    ASSERT_ERRNO(guv_trampoline(0, GUV_WRITE), EACCES);
    struct task_rec *r = &hk.rec[0];
    ASSERT_EQ(r->outs, 0); /* a refused switch is no switch */
    hk.allow = 1;
    ASSERT_EQ(guv_can_switch(), 1);
    ASSERT_EQ(guv_sleep(0.001), 0);
    ASSERT_EQ(r->outs, 1);
}

/* may_switch returning 0 makes blocking calls fail with EACCES instead of
 * switching; when it agrees again, they block normally. */
static void test_may_switch_refuses(void) {
    memset(&hk, 0, sizeof hk);
    hk.allow = 1;
    ASSERT_EQ(guv_set_hooks(&hooks), 0);
    ASSERT(guv_spawn(refused, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_set_hooks(NULL), 0);
}

static void unhooked(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_sleep(0.01), 0);
    ASSERT_EQ(guv_yield(), 0);
}

/* Green threads started before the hooks were set keep running without
 * them; main is not a hooked task; removing the hooks stops them. */
static void test_hooks_apply_to_new_threads_only(void) {
    memset(&hk, 0, sizeof hk);
    hk.allow = 1;
    ASSERT(guv_spawn(unhooked, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0); /* started, now sleeping */
    ASSERT_EQ(guv_set_hooks(&hooks), 0);
    ASSERT_EQ(guv_sleep(0.001), 0); /* main: no callbacks */
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(hk.next, 0);
    ASSERT_EQ(hk.asked, 0);
    ASSERT_EQ(guv_set_hooks(NULL), 0);
    ASSERT(guv_spawn(unhooked, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(hk.next, 0);
}

/* All members NULL is a valid hook set. */
static void test_null_members(void) {
    guv_hooks none;
    memset(&none, 0, sizeof none);
    none.size = sizeof none;
    ASSERT_EQ(guv_set_hooks(&none), 0);
    ASSERT(guv_spawn(unhooked, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_set_hooks(NULL), 0);
}

/* guv_hooks.size must be the size of a guv_hooks this guv knows: 0 (a
 * struct filled without it) and a larger one (from a newer guv.h) are refused
 * and leave the hooks in force as they were. */
static void test_size_is_checked(void) {
    memset(&hk, 0, sizeof hk);
    hk.allow = 1;
    ASSERT_EQ(guv_set_hooks(&hooks), 0);
    guv_hooks bad = hooks;
    bad.size = 0;
    ASSERT_ERRNO(guv_set_hooks(&bad), EINVAL);
    bad.size = sizeof(guv_hooks) + sizeof(void *);
    ASSERT_ERRNO(guv_set_hooks(&bad), EINVAL);
    ASSERT(guv_spawn(unhooked, NULL) >= 1); /* still hooked by `hooks` */
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(hk.next, 1);
    ASSERT_EQ(hk.rec[0].ended, 1);
    ASSERT_EQ(guv_set_hooks(NULL), 0);
}

int main(void) {
    RUN(test_hook_counts);
    RUN(test_may_switch_refuses);
    RUN(test_hooks_apply_to_new_threads_only);
    RUN(test_null_members);
    RUN(test_size_is_checked);
    return 0;
}
