// guv::set_name / name, guv::dump() and guv::stats() over the C calls.
#include <guv.hpp>

#include <string>

#include "check.hpp"

// A named task shows in the dump as sleeping; main as running.
static void dump_names_each_task() {
    auto t = guv::spawn([] { guv::sleep(std::chrono::milliseconds(50)); });
    guv::task_id id = t.id();
    guv::set_name(id, "napper");
    CHECK(guv::name(id) == "napper");
    guv::yield();
    std::string text = guv::dump();
    CHECK(text.rfind("hub=", 0) == 0);
    CHECK(text.find(" green_threads=1 running=1 ") != std::string::npos);
    std::string line = "  id=" + std::to_string(id) + " name=\"napper\" state=sleeping until=+";
    CHECK(text.find(line) != std::string::npos);
    CHECK(text.find("  id=0 name=\"\" state=running ") != std::string::npos);
    t.join();
    CHECK_THROWS_ERRNO(guv::name(id), ESRCH);
}

// stats() counts the spawn and the sleep.
static void stats_count() {
    struct guv_stats before = guv::stats();
    auto t = guv::spawn([] { guv::sleep(std::chrono::milliseconds(1)); });
    t.join();
    struct guv_stats after = guv::stats();
    CHECK(after.spawned - before.spawned == 1);
    CHECK(after.sleeps - before.sleeps == 1);
    CHECK(after.switches > before.switches);
    CHECK(after.green_threads == 0);
}

int main() {
    RUN(dump_names_each_task);
    RUN(stats_count);
    return 0;
}
