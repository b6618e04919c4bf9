/* An installed-tree consumer: N green threads (argv[1], default 50) that
 * call only usleep(0.2 s), cooperative only when libguv_hook is linked in
 * or preloaded. Exits 0 when they overlapped: serially they take N x 0.2 s,
 * together about 0.2 s; the gate sits well between. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <guv.h>

static void nap(void *arg)
{
    (void)arg;
    usleep(200000);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;
    double t0 = guv_now();
    for (int i = 0; i < n; i++)
        if (guv_spawn(nap, NULL) < 0)
            return 2;
    if (guv_run() != 0)
        return 2;
    double elapsed = guv_now() - t0;
    printf("%d x usleep(0.2 s) in green threads: %.2f s\n", n, elapsed);
    return elapsed < 0.2 + n * 0.04 ? 0 : 1;
}
