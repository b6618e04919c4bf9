// What guv.hpp's per-task hooks (exception record, ASan, task_local) cost
// per switch: two tasks yield to each other 100000 times each, with the
// hooks, and with them removed ("nohooks") before the tasks start.
// `make bench-cpp` counts the instructions of both under callgrind.
#include <guv.hpp>
#include <cstdio>
#include <cstring>
int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "nohooks") == 0) guv_remove_hooks(guv::detail::install_hooks());
    const int n = 100000;
    auto body = [n] { for (int i = 0; i < n; i++) guv::yield(); };
    auto a = guv::spawn(body), b = guv::spawn(body);
    a.join(); b.join();
    std::printf("done\n");
}
