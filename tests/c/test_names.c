/* guv_set_name / guv_get_name: copied, truncated to 63 bytes, per green
 * thread, gone with it. */
#include "test.h"

static int64_t named_id;

static void names_itself(void *arg) {
    (void)arg;
    ASSERT_EQ(guv_set_name(0, "worker-1"), 0);
    char buf[64];
    ASSERT_EQ(guv_get_name(0, buf, sizeof buf), 8);
    ASSERT(strcmp(buf, "worker-1") == 0);
    /* The same name through its id. */
    ASSERT_EQ(guv_get_name(guv_current(), buf, sizeof buf), 8);
    ASSERT(strcmp(buf, "worker-1") == 0);
    ASSERT_EQ(guv_sleep(0.01), 0);
}

/* A green thread names itself with id 0; its name is read back by id 0 and by its id. */
static void test_name_self(void) {
    named_id = guv_spawn(names_itself, NULL);
    ASSERT(named_id >= 1);
    ASSERT_EQ(guv_run(), 0);
}

/* Main names another green thread before it starts; the caller's buffer is a copy. */
static void test_name_other_is_copied(void) {
    int64_t id = guv_spawn(test_noop, NULL);
    char name[16] = "sleeper";
    ASSERT_EQ(guv_set_name(id, name), 0);
    strcpy(name, "changed");
    char buf[64];
    ASSERT_EQ(guv_get_name(id, buf, sizeof buf), 7);
    ASSERT(strcmp(buf, "sleeper") == 0);
    ASSERT_EQ(guv_run(), 0);
}

/* A 100-byte name keeps its first 63 bytes; a short buffer gets a truncated,
 * NUL-terminated copy while the return value is the full length. */
static void test_truncation(void) {
    char long_name[101];
    memset(long_name, 'x', 100);
    long_name[100] = 0;
    ASSERT_EQ(guv_set_name(0, long_name), 0);
    char buf[128];
    ASSERT_EQ(guv_get_name(0, buf, sizeof buf), 63);
    ASSERT_EQ(strlen(buf), 63);
    char small[5];
    ASSERT_EQ(guv_get_name(0, small, sizeof small), 63);
    ASSERT(strcmp(small, "xxxx") == 0);
    ASSERT_EQ(guv_set_name(0, ""), 0);
    ASSERT_EQ(guv_get_name(0, buf, sizeof buf), 0);
    ASSERT(buf[0] == 0);
}

/* An ended green thread's id, a made-up id and a negative id are ESRCH;
 * NULL name or buffer and a zero length are EINVAL. */
static void test_errors(void) {
    int64_t id = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_set_name(id, "short-lived"), 0);
    ASSERT_EQ(guv_run(), 0);
    char buf[64];
    ASSERT_ERRNO(guv_set_name(id, "late"), ESRCH);
    ASSERT_ERRNO(guv_get_name(id, buf, sizeof buf), ESRCH);
    ASSERT_ERRNO(guv_set_name(id + 12345, "nobody"), ESRCH);
    ASSERT_ERRNO(guv_set_name(-5, "nobody"), ESRCH);
    ASSERT_ERRNO(guv_set_name(0, NULL), EINVAL);
    ASSERT_ERRNO(guv_get_name(0, NULL, 8), EINVAL);
    ASSERT_ERRNO(guv_get_name(0, buf, 0), EINVAL);
}

static void *other_thread_id(void *arg) {
    /* Another OS thread's hub does not know the id. */
    char buf[64];
    ASSERT_ERRNO(guv_get_name(*(int64_t *)arg, buf, sizeof buf), ESRCH);
    ASSERT_ERRNO(guv_set_name(*(int64_t *)arg, "x"), ESRCH);
    return NULL;
}

/* Ids of another hub are refused (ESRCH), not misread as a local slot. */
static void test_other_hub(void) {
    int64_t id = guv_spawn(test_noop, NULL);
    test_on_thread(other_thread_id, &id);
    ASSERT_EQ(guv_run(), 0);
}

/* A slot reused by a new green thread does not inherit the old name. */
static void test_reused_slot_is_unnamed(void) {
    int64_t a = guv_spawn(test_noop, NULL);
    ASSERT_EQ(guv_set_name(a, "first"), 0);
    ASSERT_EQ(guv_run(), 0);
    int64_t b = guv_spawn(test_noop, NULL);
    ASSERT(b != a);
    char buf[64];
    ASSERT_EQ(guv_get_name(b, buf, sizeof buf), 0);
    ASSERT_EQ(guv_run(), 0);
}

int main(void) {
    RUN(test_name_self);
    RUN(test_name_other_is_copied);
    RUN(test_truncation);
    RUN(test_errors);
    RUN(test_other_hub);
    RUN(test_reused_slot_is_unnamed);
    return 0;
}
