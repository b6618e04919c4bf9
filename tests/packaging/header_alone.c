/* guv.h first and alone, with no feature-test macros: in strict C99, C11,
 * C++11 and C++17 it must pull in every type its declarations use. */
#include <guv.h>

int main(void) {
    guv_fn body = 0;
    struct pollfd pfd = {0, 0, 0};
    (void)body;
    return guv_poll(&pfd, 0, 0) == 0 && GUV_READ != GUV_WRITE ? 0 : 1;
}
