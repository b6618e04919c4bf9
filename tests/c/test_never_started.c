/* guv_hooks.never_started: a green thread that never started, because its
 * hub's OS thread exited first, is handed to every hook set with the
 * function and argument it was spawned with, so that its owner can free the
 * argument (under `make test-c-sanitize` LeakSanitizer checks they are). */
#include <stddef.h>

#include "test.h"

#define MAX_TOLD 8

/* What one hook set was told, in order. */
struct told {
    int n;
    guv_fn func[MAX_TOLD];
    void *arg[MAX_TOLD];
};
static struct told told[2];

/* A green thread's body that owns its malloc'd argument. */
static void owned(void *arg) { free(arg); }

static void on_never_started(void *userdata, guv_fn func, void *arg) {
    struct told *t = userdata;
    ASSERT(t->n < MAX_TOLD);
    t->func[t->n] = func;
    t->arg[t->n] = arg;
    t->n++;
    ASSERT_ERRNO(guv_spawn(test_noop, NULL), ESRCH); /* its hub is gone */
    if (t == &told[0] && func == owned) free(arg);
}

static int add_set(struct told *t) {
    memset(t, 0, sizeof *t);
    guv_hooks h = {.size = sizeof h, .userdata = t, .never_started = on_never_started};
    int set = guv_add_hooks(&h);
    ASSERT(set > 0);
    return set;
}

static int *new_int(int v) {
    int *p = malloc(sizeof *p);
    ASSERT(p != NULL);
    *p = v;
    return p;
}

/* Whether set `t` was told of owned(arg) exactly once. */
static int told_once(const struct told *t, const void *arg) {
    int n = 0;
    for (int i = 0; i < t->n; i++) n += t->func[i] == owned && t->arg[i] == arg;
    return n == 1;
}

static void *spawn_two_run_one(void *arg) {
    int **args = arg;
    ASSERT(guv_spawn(owned, args[0]) >= 1);
    ASSERT_EQ(guv_run(), 0); /* args[0] started, ended and freed itself */
    ASSERT(guv_spawn(owned, args[1]) >= 1);
    ASSERT(guv_spawn_ex(owned, args[2], 64 * 1024) >= 1);
    return NULL; /* exits with two green threads not started */
}

/* Green threads spawned on a thread that exits before running them are
 * told, each once; the one that ran is not. */
static void test_spawned_not_run_is_told(void) {
    int set = add_set(&told[0]);
    int *args[3] = {new_int(0), new_int(1), new_int(2)};
    test_on_thread(spawn_two_run_one, args);
    ASSERT_EQ(told[0].n, 2);
    ASSERT(told_once(&told[0], args[1]));
    ASSERT(told_once(&told[0], args[2]));
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

/* The hub whose thread exits while submissions wait in its inbox. */
struct exiting_hub {
    guv_hub *hub;
    pthread_barrier_t submitted;
};

static void *exit_after_submissions(void *arg) {
    struct exiting_hub *e = arg;
    e->hub = guv_hub_self();
    ASSERT(e->hub != NULL);
    pthread_barrier_wait(&e->submitted); /* the hub is known */
    pthread_barrier_wait(&e->submitted); /* the submissions are queued */
    return NULL;
}

/* guv_hub_spawn submissions still queued when the hub's thread exits are
 * told; a submission refused later (ESRCH) is not, its caller keeps arg. */
static void test_queued_hub_spawn_is_told(void) {
    int set = add_set(&told[0]);
    struct exiting_hub e = {0};
    ASSERT_EQ(pthread_barrier_init(&e.submitted, NULL, 2), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, exit_after_submissions, &e), 0);
    pthread_barrier_wait(&e.submitted);
    int *args[2] = {new_int(0), new_int(1)};
    for (int i = 0; i < 2; i++) ASSERT_EQ(guv_hub_spawn(e.hub, owned, args[i]), 0);
    test_capture_begin();
    pthread_barrier_wait(&e.submitted);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    char *err = test_capture_end();
    ASSERT(strstr(err, "2 green thread(s) submitted with guv_hub_spawn never started") != NULL);
    free(err);
    ASSERT_EQ(told[0].n, 2);
    ASSERT(told_once(&told[0], args[0]));
    ASSERT(told_once(&told[0], args[1]));
    int *mine = new_int(2);
    ASSERT_ERRNO(guv_hub_spawn(e.hub, owned, mine), ESRCH);
    free(mine);
    ASSERT_EQ(told[0].n, 2);
    guv_hub_release(e.hub);
    pthread_barrier_destroy(&e.submitted);
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

/* A spawn that fails leaves arg to its caller: no set is told. */
static void test_failed_spawn_is_not_told(void) {
    int set = add_set(&told[0]);
    int *mine = new_int(0);
    ASSERT_ERRNO(guv_spawn_ex(owned, mine, 1), EINVAL);
    ASSERT_ERRNO(guv_spawn(NULL, mine), EINVAL);
    ASSERT_EQ(told[0].n, 0);
    free(mine);
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

static void *spawn_and_exit(void *arg) {
    ASSERT(guv_spawn(owned, arg) >= 1);
    return NULL;
}

/* Every set in force is told, in the order they were added: a set frees
 * only what it knows (here the first). */
static void test_every_set_is_told(void) {
    int a = add_set(&told[0]), b = add_set(&told[1]);
    int *arg = new_int(0);
    test_on_thread(spawn_and_exit, arg);
    ASSERT_EQ(told[0].n, 1);
    ASSERT_EQ(told[1].n, 1);
    ASSERT(told[0].func[0] == owned && told[0].arg[0] == arg);
    ASSERT(told[1].func[0] == owned && told[1].arg[0] == arg);
    ASSERT_EQ(guv_remove_hooks(a), 0);
    ASSERT_EQ(guv_remove_hooks(b), 0);
}

static void *spawn_noop_and_exit(void *arg) {
    ASSERT(guv_spawn(test_noop, arg) >= 1);
    return NULL;
}

/* A guv_hooks of the first version's size (it ended at userdata) is still
 * accepted; it has no never_started, so whatever lies beyond is not read. */
static void test_first_version_has_none(void) {
    memset(told, 0, sizeof told);
    guv_hooks h = {.size = offsetof(guv_hooks, never_started), .userdata = &told[0],
                   .never_started = on_never_started};
    int set = guv_add_hooks(&h);
    ASSERT(set > 0);
    static int not_owned;
    test_on_thread(spawn_noop_and_exit, &not_owned);
    ASSERT_EQ(told[0].n, 0);
    ASSERT_EQ(guv_remove_hooks(set), 0);
}

int main(void) {
    RUN(test_spawned_not_run_is_told);
    RUN(test_queued_hub_spawn_is_told);
    RUN(test_failed_spawn_is_not_told);
    RUN(test_every_set_is_told);
    RUN(test_first_version_has_none);
    return 0;
}
