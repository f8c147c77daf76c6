/* test_hardening_kill.c - a training run killed with SIGKILL loses at most about one save period
 * (docs/training.md): `stepformer train` with the default saving (every 30 s) is killed after N seconds
 * (the first argument; 40 in the ctest `test_hardening_kill_default`), and the model at --out must load,
 * with its optimizer state (.opt) holding exactly the same weights. Further arguments are passed to
 * train (the quick ctest passes --save-seconds 1 and kills after 10 s). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "pairkit.h"

static double kill_after = 40;
static char **extra;
static int n_extra;

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void test_sigkill_keeps_recent_work(void **state) {
    (void)state;
    char dir[] = "/tmp/sf_hkill_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[256], opt[300];
    snprintf(out, sizeof out, "%s/run.sfm", dir);
    snprintf(opt, sizeof opt, "%s.opt", out);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) { dup2(null, 1); dup2(null, 2); }
        const char *args[32] = {SF_BINARY, "train", "--task", "sort", "--steps", "100000000", "--threads", "1",
                                "--out", out};
        int n = 10;
        for (int i = 0; i < n_extra && n < 31; i++) args[n++] = extra[i];
        args[n] = NULL;
        execv(SF_BINARY, (char *const *)args);
        _exit(127);
    }
    sleep_s(kill_after);
    int status = 0;
    assert_int_equal(waitpid(p, &status, WNOHANG), 0); /* still training */
    assert_int_equal(kill(p, SIGKILL), 0);
    assert_int_equal(waitpid(p, &status, 0), p);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    long step = 0;
    const char *bad = pk_check_pair(out, "sort", &step);
    if (bad) fail_msg("killed after %.0f s: %s", kill_after, bad);
    print_message("  killed after %.0f s: model and state of step %ld saved, and they agree\n", kill_after, step);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv) {
    if (argc > 1) kill_after = atof(argv[1]);
    extra = argv + 2;
    n_extra = argc > 2 ? argc - 2 : 0;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill_keeps_recent_work)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
