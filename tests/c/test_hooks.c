/* guv_add_hooks: per-task callbacks at start, end and every switch; several
 * sets, each with its own task data, called in a defined order. */
#include <stddef.h>

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

static const guv_hooks hooks = {.size = sizeof(guv_hooks), .task_start = on_start, .task_end = on_end,
                                 .switch_out = on_out, .switch_in = on_in, .may_switch = may_switch,
                                 .userdata = &hk};

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
    int set = guv_add_hooks(&hooks);
    ASSERT(set > 0);
    for (int i = 0; i < TASKS; i++) ASSERT(guv_spawn(three_switches, (void *)(intptr_t)i) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
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
    int set = guv_add_hooks(&hooks);
    ASSERT(set > 0);
    ASSERT(guv_spawn(refused, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
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
    int set = guv_add_hooks(&hooks);
    ASSERT(set > 0);
    ASSERT_EQ(guv_sleep(0.001), 0); /* main: no callbacks */
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(hk.next, 0);
    ASSERT_EQ(hk.asked, 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
    ASSERT(guv_spawn(unhooked, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(hk.next, 0);
}

/* All members NULL is a valid hook set. */
static void test_null_members(void) {
    guv_hooks none;
    memset(&none, 0, sizeof none);
    none.size = sizeof none;
    int set = guv_add_hooks(&none);
    ASSERT(set > 0);
    ASSERT(guv_spawn(unhooked, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

/* guv_hooks.size must be the size of a guv_hooks this guv knows: 0 (a
 * struct filled without it), one between two versions and a larger one
 * (from a newer guv.h) are refused
 * and leave the hooks in force as they were; so is NULL. */
static void test_size_is_checked(void) {
    memset(&hk, 0, sizeof hk);
    hk.allow = 1;
    int set = guv_add_hooks(&hooks);
    ASSERT(set > 0);
    guv_hooks bad = hooks;
    bad.size = 0;
    ASSERT_ERRNO(guv_add_hooks(&bad), EINVAL);
    bad.size = sizeof(guv_hooks) + sizeof(void *);
    ASSERT_ERRNO(guv_add_hooks(&bad), EINVAL);
    bad.size = offsetof(guv_hooks, never_started) + 4; /* part of a pointer */
    ASSERT_ERRNO(guv_add_hooks(&bad), EINVAL);
    ASSERT_ERRNO(guv_add_hooks(NULL), EINVAL);
    ASSERT(guv_spawn(unhooked, NULL) >= 1); /* still hooked by `hooks` */
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(hk.next, 1);
    ASSERT_EQ(hk.rec[0].ended, 1);
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

/* ---- Several sets ---- */

/* One of several independent hook sets, keeping what a binding keeps: its own
 * record per task, and which task it believes runs (as Python's binding keeps
 * the PyThreadState, C++'s the exception record), NULL while none does. */
struct chained {
    int which; /* its index in sets[] */
    struct task_rec rec[TASKS];
    int next;
    int allow;
    int asked;
    struct task_rec *running;
};
static struct chained sets[GUV_HOOKS_MAX];

/* Every callback of every set, in the order they ran: set index * 16 + event. */
enum { EV_START = 1, EV_END, EV_OUT, EV_IN };
#define LOG_MAX 4096
static int evlog[LOG_MAX];
static int nlog;

static void log_event(struct chained *c, int ev) {
    ASSERT(nlog < LOG_MAX);
    evlog[nlog++] = c->which * 16 + ev;
}

static void *c_start(void *userdata) {
    struct chained *c = userdata;
    ASSERT(c->next < TASKS);
    struct task_rec *r = &c->rec[c->next++];
    r->id = guv_current();
    r->started++;
    c->running = r;
    log_event(c, EV_START);
    return r;
}

static void c_end(void *userdata, void *data) {
    struct chained *c = userdata;
    struct task_rec *r = data;
    ASSERT(c->running == r);
    ASSERT_EQ(r->id, guv_current());
    r->ended++;
    c->running = NULL;
    log_event(c, EV_END);
}

static void c_out(void *userdata, void *data) {
    struct chained *c = userdata;
    struct task_rec *r = data;
    ASSERT(c->running == r);
    r->outs++;
    c->running = NULL;
    log_event(c, EV_OUT);
}

static void c_in(void *userdata, void *data) {
    struct chained *c = userdata;
    struct task_rec *r = data;
    ASSERT(c->running == NULL);
    ASSERT_EQ(r->id, guv_current());
    r->ins++;
    c->running = r;
    log_event(c, EV_IN);
}

static int32_t c_may(void *userdata, void *data) {
    struct chained *c = userdata;
    ASSERT(c->running == data);
    c->asked++;
    return c->allow;
}

static void reset_sets(void) {
    memset(sets, 0, sizeof sets);
    for (int i = 0; i < GUV_HOOKS_MAX; i++) {
        sets[i].which = i;
        sets[i].allow = 1;
    }
    nlog = 0;
}

static int add_set(int i) {
    guv_hooks h = {.size = sizeof(guv_hooks), .task_start = c_start, .task_end = c_end, .switch_out = c_out,
                   .switch_in = c_in, .may_switch = c_may, .userdata = &sets[i]};
    return guv_add_hooks(&h);
}

/* After each switch, every set named in `mask` holds this task's own record. */
static void switch_and_check(int mask) {
    for (int k = 0; k < 3; k++) {
        ASSERT_EQ(k == 1 ? guv_yield() : guv_sleep(0.001), 0);
        for (int i = 0; i < GUV_HOOKS_MAX; i++)
            if (mask & (1 << i)) {
                ASSERT(sets[i].running != NULL);
                ASSERT_EQ(sets[i].running->id, guv_current());
            }
    }
}

static void both_sets(void *arg) {
    (void)arg;
    switch_and_check(3);
}

/* The events of set `a` are each followed at once by the same event of set
 * `b`: one switch runs every set's callback back to back, in that order. */
static void assert_followed(int a, int b, int ev) {
    int seen = 0;
    for (int i = 0; i < nlog; i++)
        if (evlog[i] == a * 16 + ev) {
            ASSERT(i + 1 < nlog);
            ASSERT_EQ(evlog[i + 1], b * 16 + ev);
            seen++;
        }
    ASSERT(seen > 0);
}

/* Two sets registered side by side both run for every green thread, each
 * with its own userdata and task data, and each finds its own record for the
 * running task after every switch. start and switch_in run in registration
 * order, switch_out and end in reverse. */
static void test_two_sets_keep_their_own_task_data(void) {
    reset_sets();
    int a = add_set(0), b = add_set(1);
    ASSERT(a > 0 && b > 0 && a != b);
    for (int i = 0; i < TASKS; i++) ASSERT(guv_spawn(both_sets, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(a), 0);
    ASSERT_EQ(guv_remove_hooks(b), 0);
    for (int s = 0; s < 2; s++) {
        ASSERT_EQ(sets[s].next, TASKS);
        ASSERT(sets[s].running == NULL);
        for (int i = 0; i < TASKS; i++) {
            ASSERT_EQ(sets[s].rec[i].id, sets[0].rec[i].id);
            ASSERT_EQ(sets[s].rec[i].started, 1);
            ASSERT_EQ(sets[s].rec[i].ended, 1);
            ASSERT_EQ(sets[s].rec[i].outs, 3);
            ASSERT_EQ(sets[s].rec[i].ins, 3);
        }
    }
    assert_followed(0, 1, EV_START);
    assert_followed(0, 1, EV_IN);
    assert_followed(1, 0, EV_OUT);
    assert_followed(1, 0, EV_END);
}

static void refused_by_either(void *arg) {
    (void)arg;
    for (int who = 0; who < 2; who++) {
        sets[who].allow = 0;
        sets[0].asked = sets[1].asked = 0;
        ASSERT_EQ(guv_can_switch(), 0);
        ASSERT_ERRNO(guv_yield(), EACCES);
        ASSERT_ERRNO(guv_sleep(0.001), EACCES);
        /* Asked in registration order; the first refusal ends the asking. */
        ASSERT(sets[0].asked > 0);
        ASSERT_EQ(sets[1].asked, who == 0 ? 0 : sets[0].asked);
        sets[who].allow = 1;
    }
    ASSERT_EQ(sets[0].rec[0].outs + sets[1].rec[0].outs, 0); /* no switch happened */
    ASSERT_EQ(guv_can_switch(), 1);
    ASSERT_EQ(guv_yield(), 0);
    ASSERT_EQ(sets[0].rec[0].outs, 1);
    ASSERT_EQ(sets[1].rec[0].outs, 1);
}

/* may_switch: the switch is refused when any set refuses it. */
static void test_any_refusal_wins(void) {
    reset_sets();
    int a = add_set(0), b = add_set(1);
    ASSERT(guv_spawn(refused_by_either, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(guv_remove_hooks(a), 0);
    ASSERT_EQ(guv_remove_hooks(b), 0);
}

static void only_set1(void *arg) {
    (void)arg;
    switch_and_check(2);
}

/* Removing one set leaves the other in force; a green thread already started
 * keeps both for life. A removed handle is not valid again, even once the set
 * is added anew, which puts it last in the order. */
static void test_removing_one_set_keeps_the_other(void) {
    reset_sets();
    int a = add_set(0), b = add_set(1);
    ASSERT(guv_spawn(both_sets, NULL) >= 1);
    ASSERT_EQ(guv_yield(), 0); /* started with both, now asleep */
    ASSERT_EQ(guv_remove_hooks(a), 0);
    ASSERT_ERRNO(guv_remove_hooks(a), ENOENT);
    ASSERT_ERRNO(guv_remove_hooks(0), ENOENT);
    ASSERT(guv_spawn(only_set1, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(sets[0].next, 1);
    ASSERT_EQ(sets[0].rec[0].ended, 1);
    ASSERT_EQ(sets[0].rec[0].ins, 3);
    ASSERT_EQ(sets[1].next, 2);
    ASSERT_EQ(sets[1].rec[1].ended, 1);

    nlog = 0;
    int again = add_set(0);
    ASSERT(again > 0 && again != a);
    ASSERT_ERRNO(guv_remove_hooks(a), ENOENT);
    ASSERT(guv_spawn(test_noop, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    assert_followed(1, 0, EV_START);
    assert_followed(0, 1, EV_END);
    ASSERT_EQ(guv_remove_hooks(again), 0);
    ASSERT_EQ(guv_remove_hooks(b), 0);
}

static void all_sets(void *arg) {
    (void)arg;
    switch_and_check((1 << GUV_HOOKS_MAX) - 1);
}

/* Up to GUV_HOOKS_MAX sets are in force at once: one more is refused with
 * ENOSPC until one is removed. */
static void test_at_most_guv_hooks_max_sets(void) {
    reset_sets();
    int h[GUV_HOOKS_MAX];
    for (int i = 0; i < GUV_HOOKS_MAX; i++) ASSERT((h[i] = add_set(i)) > 0);
    guv_hooks extra = {.size = sizeof(guv_hooks)};
    ASSERT_ERRNO(guv_add_hooks(&extra), ENOSPC);
    ASSERT(guv_spawn(all_sets, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    for (int i = 0; i < GUV_HOOKS_MAX; i++) {
        ASSERT_EQ(sets[i].rec[0].ins, 3);
        ASSERT_EQ(sets[i].rec[0].ended, 1);
    }
    for (int i = 0; i + 1 < GUV_HOOKS_MAX; i++) {
        assert_followed(i, i + 1, EV_IN);
        assert_followed(i + 1, i, EV_OUT);
    }
    ASSERT_EQ(guv_remove_hooks(h[1]), 0);
    int e = guv_add_hooks(&extra);
    ASSERT(e > 0);
    ASSERT_EQ(guv_remove_hooks(e), 0);
    for (int i = 0; i < GUV_HOOKS_MAX; i++)
        if (i != 1) ASSERT_EQ(guv_remove_hooks(h[i]), 0);
}

int main(void) {
    RUN(test_hook_counts);
    RUN(test_may_switch_refuses);
    RUN(test_hooks_apply_to_new_threads_only);
    RUN(test_null_members);
    RUN(test_size_is_checked);
    RUN(test_two_sets_keep_their_own_task_data);
    RUN(test_any_refusal_wins);
    RUN(test_removing_one_set_keeps_the_other);
    RUN(test_at_most_guv_hooks_max_sets);
    return 0;
}
