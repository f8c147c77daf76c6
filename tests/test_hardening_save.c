/* test_hardening_save.c - nothing the user saved is lost (docs/robustness.md): train and init refuse to
 * replace an existing model unless told to; a save writes through a symbolic link and keeps the file's
 * mode; and with the disk full (a small tmpfs) the trained weights are neither thrown away nor reported
 * wrongly: the message names each file and what was and was not written, and the run is saved elsewhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/io.h"
#include "model/checkpoint.h"
#include "pairkit.h"
#include "runkit.h"
#include "train/trainer.h"

static char dir[] = "/tmp/sf_hsave_XXXXXX";

static int setup(void **state) {
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in(const char *name) {
    static char buf[8][400];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Returns the bytes of path (the caller frees), or NULL when it cannot be read. */
static unsigned char *slurp(const char *path, size_t *len) {
    unsigned char *d;
    return sf_read_file(path, SF_MAX_FILE_BYTES, &d, len).ok ? d : NULL;
}

static int same_bytes(const char *a, const char *b) {
    size_t la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    unsigned char *d = slurp(from, &n);
    assert_non_null(d);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
    free(d);
}

static int run_ok(rk_result *r, const char *const *argv) {
    rk_run(r, argv, NULL, 300);
    if (r->timed_out) fail_msg("%s: timed out", argv[0]);
    return r->status;
}

/* Fails unless model_path and its .opt load and hold the same weights (pairkit.c). */
static void expect_consistent_pair(const char *model_path) {
    const char *bad = pk_check_pair(model_path, "sort", NULL);
    if (bad) fail_msg("%s: %s", model_path, bad);
}

/* init, train and snapshots --extract do not replace an existing model (or a run's state) unless --force
 * or --resume F --out F; a snapshot series is never replaced. */
static void test_refuse_overwrite(void **state) {
    (void)state;
    const char *m = path_in("m.sfm"), *keep = path_in("keep.sfm");
    rk_result r;
    const char *init[] = {"init", "--family", "gpt", "--d-model", "8", "--heads", "2", "--out", m, NULL};
    assert_int_equal(run_ok(&r, init), 0);
    copy_file(m, keep);
    const char *init2[] = {"init", "--family", "gpt", "--d-model", "8", "--heads", "2", "--seed", "9", "--out", m, NULL};
    assert_int_equal(run_ok(&r, init2), 1);
    if (!rk_has(&r, "already exists")) fail_msg("init over an existing model: %s", r.out);
    assert_true(same_bytes(m, keep));
    const char *init3[] = {"init", "--family", "gpt", "--d-model", "8", "--heads", "2", "--seed", "9", "--out", m,
                           "--force", NULL};
    assert_int_equal(run_ok(&r, init3), 0);
    assert_false(same_bytes(m, keep));

    const char *t = path_in("t.sfm"), *tkeep = path_in("tkeep.sfm"), *other = path_in("other.sfm");
    const char *train[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--out", t, NULL};
    assert_int_equal(run_ok(&r, train), 0);
    copy_file(t, tkeep);
    assert_int_equal(run_ok(&r, train), 1); /* the same command again: refused, before any training */
    if (!rk_has(&r, "already exists") || rk_has(&r, "step 1/")) fail_msg("train over an existing model: %s", r.out);
    assert_true(same_bytes(t, tkeep));
    const char *resume[] = {"train", "--task", "sort", "--steps", "4", "--threads", "1", "--resume", t, "--out", t, NULL};
    assert_int_equal(run_ok(&r, resume), 0); /* going on with the same file is what --resume is for */
    assert_false(same_bytes(t, tkeep));
    copy_file(m, other);
    const char *resume_other[] = {"train", "--task", "sort", "--steps", "6", "--threads", "1", "--resume", t,
                                  "--out", other, NULL};
    assert_int_equal(run_ok(&r, resume_other), 1); /* --resume A --out B does not replace an existing B */
    if (!rk_has(&r, "other.sfm: already exists")) fail_msg("resume onto another model: %s", r.out);
    assert_true(same_bytes(other, m));
    /* a run's state without its model is trained work too */
    const char *lone = path_in("lone.sfm");
    char lone_opt[500];
    snprintf(lone_opt, sizeof lone_opt, "%s.opt", lone);
    char t_opt[500];
    snprintf(t_opt, sizeof t_opt, "%s.opt", t);
    copy_file(t_opt, lone_opt);
    const char *train_lone[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--out", lone, NULL};
    assert_int_equal(run_ok(&r, train_lone), 1);
    if (!rk_has(&r, "optimizer state")) fail_msg("train over a lone state: %s", r.out);
    assert_true(same_bytes(lone_opt, t_opt));
    const char *forced[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--out", lone, "--force", NULL};
    assert_int_equal(run_ok(&r, forced), 0);
    /* a snapshot series is never written over, and a model taken out of one does not replace a model */
    const char *sn = path_in("sn.sfm"), *snap = path_in("sn.snap");
    const char *snapped[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--snapshots", "1",
                             "--out", sn, NULL};
    assert_int_equal(run_ok(&r, snapped), 0);
    const char *snapped_again[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--snapshots", "1",
                                   "--out", sn, "--force", NULL};
    assert_int_equal(run_ok(&r, snapped_again), 1); /* --force is for the model; the series stays */
    if (!rk_has(&r, "sn.snap")) fail_msg("train over an existing snapshot series: %s", r.out);
    size_t before_len;
    unsigned char *before = slurp(keep, &before_len);
    assert_non_null(before);
    const char *extract[] = {"snapshots", snap, "--extract", "1", "--out", keep, NULL};
    assert_int_equal(run_ok(&r, extract), 1);
    if (!rk_has(&r, "already exists")) fail_msg("snapshots --extract over an existing model: %s", r.out);
    size_t kept_len;
    unsigned char *kept = slurp(keep, &kept_len);
    assert_non_null(kept);
    assert_true(kept_len == before_len && memcmp(kept, before, before_len) == 0);
    free(kept);
    const char *extract_forced[] = {"snapshots", snap, "--extract", "1", "--out", keep, "--force", NULL};
    assert_int_equal(run_ok(&r, extract_forced), 0);
    size_t after_len;
    unsigned char *after = slurp(keep, &after_len);
    assert_non_null(after);
    assert_false(before_len == after_len && memcmp(before, after, before_len) == 0);
    free(before);
    free(after);
}

/* A save through a symbolic link replaces the file it points to (the link stays a link) and keeps that
 * file's mode (0600 stays 0600); a new file follows the umask. */
static void test_symlink_and_mode_kept(void **state) {
    (void)state;
    const char *real = path_in("real.sfm"), *link = path_in("link.sfm");
    rk_result r;
    const char *train[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--out", real, NULL};
    assert_int_equal(run_ok(&r, train), 0);
    assert_int_equal(chmod(real, 0600), 0);
    char real_opt[500];
    snprintf(real_opt, sizeof real_opt, "%s.opt", real);
    assert_int_equal(chmod(real_opt, 0640), 0);
    assert_int_equal(symlink("real.sfm", link), 0); /* relative, as people make them */
    char link_opt[500];
    snprintf(link_opt, sizeof link_opt, "%s.opt", link);
    assert_int_equal(symlink(real_opt, link_opt), 0);
    copy_file(real, path_in("before.sfm"));
    const char *resume[] = {"train", "--task", "sort", "--steps", "4", "--threads", "1", "--resume", link, "--out",
                            link, NULL};
    assert_int_equal(run_ok(&r, resume), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    if (!S_ISLNK(st.st_mode)) fail_msg("the symlink --out was replaced by a plain file");
    assert_int_equal(lstat(link_opt, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat(real, &st), 0);
    if ((st.st_mode & 07777) != 0600) fail_msg("mode 0600 became %04o", (unsigned)(st.st_mode & 07777));
    assert_int_equal(stat(real_opt, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_false(same_bytes(real, path_in("before.sfm"))); /* the target really was written */
    expect_consistent_pair(real);
    /* a link to a file that does not exist yet: the file is created there, the link kept */
    const char *dangling = path_in("dangling.sfm");
    assert_int_equal(symlink("made.sfm", dangling), 0);
    mode_t old = umask(027);
    const char *init[] = {"init", "--family", "gpt", "--d-model", "8", "--heads", "2", "--out", dangling, NULL};
    assert_int_equal(run_ok(&r, init), 0);
    umask(old);
    assert_int_equal(lstat(dangling, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat(path_in("made.sfm"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* 0666 less the umask 027 */
}

/* With a tmpfs too small for the optimizer state, the model is written and the message says so for both
 * files; the whole run is then saved to $TMPDIR instead, loadable and consistent; nothing is lost. */
static void test_disk_full_loses_nothing(void **state) {
    (void)state;
    const char *mnt = path_in("small");
    assert_int_equal(mkdir(mnt, 0700), 0);
    /* sizes of this run's two files, measured on the roomy disk */
    const char *probe = path_in("probe.sfm");
    rk_result r;
    const char *p[] = {"train", "--task", "sort", "--steps", "2", "--threads", "1", "--out", probe, NULL};
    assert_int_equal(run_ok(&r, p), 0);
    struct stat sm, so;
    char probe_opt[500];
    snprintf(probe_opt, sizeof probe_opt, "%s.opt", probe);
    assert_int_equal(stat(probe, &sm), 0);
    assert_int_equal(stat(probe_opt, &so), 0);
    size_t room = ((size_t)sm.st_size + 4095) / 4096 * 4096 + 8192; /* the model fits, its state does not */
    assert_true((size_t)so.st_size > room);
    char opts[64];
    snprintf(opts, sizeof opts, "size=%zu,mode=0700", room);
    if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
        print_message("  cannot mount a tmpfs here (%s): skipped\n", strerror(errno));
        skip();
    }
    const char *out = path_in("small/run.sfm");
    char env_tmp[500];
    snprintf(env_tmp, sizeof env_tmp, "TMPDIR=%s", dir);
    const char *env[] = {env_tmp, NULL};
    const char *train[] = {"train", "--task", "sort", "--steps", "3", "--threads", "1", "--save-seconds", "0",
                           "--out", out, NULL};
    rk_run(&r, train, env, 300);
    print_message("  disk full: status %d:\n%s\n", r.status, r.out);
    umount2(mnt, MNT_DETACH);
    assert_false(r.timed_out);
    assert_int_equal(r.status, 1); /* not where it was asked for, so not a success */
    if (!rk_has(&r, "run.sfm.opt: not written") || !rk_has(&r, "No space left on device"))
        fail_msg("the state's failure is not reported: %s", r.out);
    if (!rk_has(&r, "run.sfm: written (the model at step 3)")) fail_msg("the model's success is not reported: %s", r.out);
    char rescued[500];
    snprintf(rescued, sizeof rescued, "%s/run.sfm.rescued-", dir);
    const char *at = strstr(r.out, rescued);
    if (!at) fail_msg("the run was not saved elsewhere: %s", r.out);
    char got[500];
    size_t k = 0;
    while (at[k] && at[k] != ' ' && at[k] != '\n' && k + 1 < sizeof got) { got[k] = at[k]; k++; }
    got[k] = 0;
    expect_consistent_pair(got);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuse_overwrite),
        cmocka_unit_test(test_symlink_and_mode_kept),
        cmocka_unit_test(test_disk_full_loses_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
