// 10,000 green threads at once from C++, each with its own captures.
#include <guv.hpp>

#include <memory>
#include <vector>

#include "check.hpp"

using namespace std::chrono_literals;

/* 10,000 tasks each sleep 200 ms, all at the same time: they finish in well
   under the 2,000 s that sleeping one after the other would take, and each
   returns a result computed from its own move-only capture. */
static void test_ten_thousand_tasks() {
    const int n = 10000;
    std::vector<guv::task<long>> tasks;
    tasks.reserve(n);
    double start = guv_now();
    for (int i = 0; i < n; i++) {
        tasks.push_back(guv::spawn([box = std::make_unique<long>(i)] {
            guv::sleep(200ms);
            return *box * 2;
        }));
    }
    CHECK(guv_count() == n);
    long sum = 0;
    for (auto& t : tasks) sum += t.join();
    double took = guv_now() - start;
    CHECK(sum == 2L * n * (n - 1) / 2);
    CHECK(guv_count() == 0);
    CHECK(took >= 0.199 && took < 30.0);
}

int main() {
    RUN(test_ten_thousand_tasks);
    return 0;
}
