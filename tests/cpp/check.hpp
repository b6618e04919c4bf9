// The checks shared by the C++ binding's tests: each failure names the file,
// the line and the expression, then aborts so ctest reports the test failed.
#ifndef GUV_TEST_CHECK_HPP
#define GUV_TEST_CHECK_HPP

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                            \
        }                                                                            \
    } while (0)

// `stmt` throws std::system_error in the generic category with errno `err`.
#define CHECK_THROWS_ERRNO(stmt, err)                                                \
    do {                                                                             \
        int got_ = 0;                                                                \
        try {                                                                        \
            stmt;                                                                    \
        } catch (const std::system_error& e_) {                                      \
            CHECK(e_.code().category() == std::generic_category());                  \
            got_ = e_.code().value();                                                \
        }                                                                            \
        if (got_ != (err)) {                                                         \
            std::fprintf(stderr, "%s:%d: %s: wanted errno %s, got %s\n", __FILE__, __LINE__, #stmt, \
                         std::strerror(err), got_ ? std::strerror(got_) : "no exception"); \
            std::abort();                                                            \
        }                                                                            \
    } while (0)

#define RUN(test)                                      \
    do {                                               \
        std::fprintf(stderr, "  %s\n", #test);         \
        test();                                        \
    } while (0)

#endif
