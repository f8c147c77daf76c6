/* runkit.c - a child process with a deadline, captured output and measured peak memory. */
#define _DEFAULT_SOURCE
#include "runkit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Returns seconds on a monotonic clock. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Appends what can be read now from fd to r->out (up to its size; the rest is read and dropped). */
static void drain(int fd, rk_result *r, size_t *got) {
    char buf[4096];
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0) {
        size_t room = sizeof r->out - 1 - *got, take = (size_t)k < room ? (size_t)k : room;
        memcpy(r->out + *got, buf, take);
        *got += take;
    }
}

int rk_run(rk_result *r, const char *const *argv, const char *const *env, double timeout_s) {
    memset(r, 0, sizeof *r);
    r->status = -1;
    int fds[2];
    if (pipe(fds) != 0) return -1;
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        for (int i = 0; env && env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (!eq) { unsetenv(env[i]); continue; }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
            setenv(name, eq + 1, 1);
        }
        const char *args[64];
        int n = 0;
        args[n++] = SF_BINARY;
        for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
        args[n] = NULL;
        execv(SF_BINARY, (char *const *)args);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    size_t got = 0;
    int done = 0, wst = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        drain(fds[0], r, &got);
        pid_t w = wait4(pid, &wst, WNOHANG, &ru);
        if (w == pid) { done = 1; break; }
        if (now() - t0 > timeout_s) break;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!done) {
        kill(pid, SIGKILL);
        wait4(pid, &wst, 0, &ru);
        r->timed_out = 1;
    }
    drain(fds[0], r, &got);
    close(fds[0]);
    r->out[got] = 0;
    r->seconds = now() - t0;
    r->max_rss_kb = ru.ru_maxrss;
    r->status = WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : -1;
    return r->status;
}

int rk_has(const rk_result *r, const char *needle) { return strstr(r->out, needle) != NULL; }
