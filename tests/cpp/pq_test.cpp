// guv/pq.hpp against the local PostgreSQL: exceptions for failed commands and
// interrupted waits, and a plain C driver call (guv_PQexec) made inside catch
// blocks of several tasks at once.
// In C++, guv.h's guv_stats function hides struct guv_stats under -Wshadow
// (told to its owner): include it first with that warning off, so that this
// test's -Wshadow checks guv.hpp, guv/pq.h and guv/pq.hpp themselves.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#include <guv.h>
#pragma GCC diagnostic pop

#include <guv.hpp>
#include <guv/pq.hpp>

#include <string>

#include "check.hpp"

using namespace std::chrono_literals;

static const char* conninfo = "host=127.0.0.1 dbname=test user=postgres";

/* A query's rows come back in an owning result. */
static void test_exec_returns_rows() {
    auto t = guv::spawn([] {
        guv::pq::connection c = guv::pq::connect(conninfo);
        guv::pq::result r = guv::pq::exec(c.get(), "SELECT 40 + 2");
        CHECK(PQntuples(r.get()) == 1);
        CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "42");
        r = guv::pq::exec(c.get(), "SELECT $1::int * 2", {"21"});
        CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "42");
    });
    t.join();
}

/* A failed command throws guv::pq::error with its SQLSTATE; the connection goes on. */
static void test_failed_command_throws_pq_error() {
    guv::pq::connection c = guv::pq::connect(conninfo);
    std::string state;
    try {
        guv::pq::exec(c.get(), "SELEC 1");
    } catch (const guv::pq::error& e) {
        state = e.sqlstate();
    }
    CHECK(state == "42601");  // syntax_error
    CHECK(std::string(PQgetvalue(guv::pq::exec(c.get(), "SELECT 1").get(), 0, 0)) == "1");
}

/* A guv::timeout passing mid-query throws ETIMEDOUT, not a pq::error: the
   query was cancelled on the server and the connection is usable again. */
static void test_timeout_throws_system_error() {
    auto t = guv::spawn([] {
        guv::pq::connection c = guv::pq::connect(conninfo);
        double start = guv_now();
        {
            guv::timeout limit(50ms);
            CHECK_THROWS_ERRNO(guv::pq::exec(c.get(), "SELECT pg_sleep(5)"), ETIMEDOUT);
        }
        CHECK(guv_now() - start < 3.0);
        CHECK(PQstatus(c.get()) == CONNECTION_OK);
        CHECK(std::string(PQgetvalue(guv::pq::exec(c.get(), "SELECT 7").get(), 0, 0)) == "7");
    });
    t.join();
}

/* A killed task's query throws ECANCELED. */
static void test_kill_throws_ecanceled() {
    auto t = guv::spawn([] {
        guv::pq::connection c = guv::pq::connect(conninfo);
        CHECK_THROWS_ERRNO(guv::pq::exec(c.get(), "SELECT pg_sleep(5)"), ECANCELED);
    });
    guv::sleep(100ms);
    t.kill();
    t.join();
}

/* Several tasks run the C driver's guv_PQexec (no wrapper of this header)
   inside their catch blocks, as code that logs or rolls back in a handler
   does: each still has its own exception afterwards. */
static void test_c_driver_inside_catch() {
    auto handler = [](int id) {
        guv::pq::connection c = guv::pq::connect(conninfo);
        try {
            throw std::runtime_error(std::to_string(id));
        } catch (const std::runtime_error& e) {
            std::string sql = "SELECT pg_sleep(0.0" + std::to_string(id) + ")";
            PGresult* r = guv_PQexec(c.get(), sql.c_str());
            CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
            PQclear(r);
            CHECK(e.what() == std::to_string(id));
            try {
                throw;
            } catch (const std::runtime_error& again) {
                CHECK(&again == &e);
            }
        }
        return id;
    };
    auto a = guv::spawn(handler, 1);
    auto b = guv::spawn(handler, 5);
    auto c = guv::spawn(handler, 3);
    CHECK(a.join() + b.join() + c.join() == 9);
}

int main() {
    RUN(test_exec_returns_rows);
    RUN(test_failed_command_throws_pq_error);
    RUN(test_timeout_throws_system_error);
    RUN(test_kill_throws_ecanceled);
    RUN(test_c_driver_inside_catch);
    return 0;
}
