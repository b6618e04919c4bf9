// guv/pq.hpp: guv/pq.h for C++, with owning handles and exceptions.
//
// guv_PQexec reports an interrupted wait (a guv::timeout that passed, a
// kill) only through errno, beside a result that looks like any failed
// command; guv::pq::exec throws instead, so the two cannot be confused:
//   - std::system_error with the wait's errno (ETIMEDOUT, ECANCELED, EDEADLK,
//     EPERM) when the wait was interrupted: the command was cancelled on the
//     server and the connection is usable again, unless PQstatus() says
//     CONNECTION_BAD (the server did not answer the cancel in time);
//   - guv::pq::error when the command itself failed (a PGRES_FATAL_ERROR or
//     PGRES_BAD_RESPONSE result, or no result at all), carrying libpq's
//     message and the SQLSTATE.
// Link with -lpq, as for guv/pq.h.

#ifndef GUV_PQ_HPP
#define GUV_PQ_HPP

#include <guv/pq.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace guv::pq {

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
struct connection_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};

// A result and a connection that free themselves (PQclear, PQfinish).
using result = std::unique_ptr<PGresult, result_deleter>;
using connection = std::unique_ptr<PGconn, connection_deleter>;

// A command that failed: what() is libpq's message, sqlstate() the
// five-character SQLSTATE ("" when libpq failed before the server answered).
class error : public std::runtime_error {
public:
    error(const std::string& message, std::string sqlstate)
        : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
    std::string sqlstate_;
};

namespace detail {

// `raw` and `err` are what a guv_PQ* call returned and left in errno.
inline result checked(PGconn* conn, PGresult* raw, int err, const char* what) {
    result res(raw);
    // No result: the command was never sent (errno is then libpq's, not a wait's).
    if (!res) throw error(PQerrorMessage(conn), "");
    if (err != 0) throw std::system_error(err, std::generic_category(), what);
    ExecStatusType st = PQresultStatus(res.get());
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) {
        const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
        throw error(PQresultErrorMessage(res.get()), state ? state : "");
    }
    return res;
}

}  // namespace detail

// guv_PQconnectdb: a connection in CONNECTION_OK. Throws std::system_error
// when the connect was interrupted (ETIMEDOUT, ECANCELED, …) and
// guv::pq::error when it failed.
inline connection connect(const char* conninfo) {
    connection c(guv_PQconnectdb(conninfo));
    int err = errno;
    if (!c && err != 0) throw std::system_error(err, std::generic_category(), "guv_PQconnectdb");
    if (!c) throw std::bad_alloc();
    if (PQstatus(c.get()) != CONNECTION_OK) throw error(PQerrorMessage(c.get()), "");
    return c;
}

// guv_PQexec: the last result of `sql`. Throws as described at the top.
inline result exec(PGconn* conn, const char* sql) {
    PGresult* r = guv_PQexec(conn, sql);
    return detail::checked(conn, r, errno, "guv_PQexec");
}

// guv_PQexecParams with text parameters ($1, $2, …; a null pointer is SQL
// NULL) and a text result.
inline result exec(PGconn* conn, const char* sql, const std::vector<const char*>& params) {
    PGresult* r = guv_PQexecParams(conn, sql, static_cast<int>(params.size()), nullptr, params.data(), nullptr,
                                   nullptr, 0);
    return detail::checked(conn, r, errno, "guv_PQexecParams");
}

}  // namespace guv::pq

#endif  // GUV_PQ_HPP
