/* cmd_train.c - the `train` and `eval` subcommands: train a task's model from the command line with a
 * live progress line, atomic checkpoints and clean Ctrl-C; measure it on held-out examples. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "model/checkpoint.h"
#include "model/run.h"
#include "train/backward.h"
#include "train/snapshot.h"
#include "train/tasks.h"
#include "train/trainer.h"
#include "train_hook.h"

#define EXIT_INTERRUPTED 130

static volatile sig_atomic_t interrupted = 0;

/* Records a Ctrl-C (or SIGTERM); the training loop saves and stops at the end of its current step. A
 * second one, while a failed save waits for room, gives up on saving. */
static void on_signal(int sig) {
    (void)sig;
    interrupted++;
}

/* Returns seconds on a monotonic clock. */
static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Writes a duration as "1h02m", "3m05s" or "42s" into out. */
static const char *fmt_duration(double s, char out[32]) {
    if (!(s >= 0.0) || s > 1e7) s = 0.0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, 32, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(out, 32, "%ldm%02lds", t / 60, t % 60);
    else snprintf(out, 32, "%lds", t);
    return out;
}

/* Returns success if a file can be created in the folder of path (by creating and removing a probe
 * file there) and path is not a folder itself. */
static sf_err check_writable(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return sf_fail("%s: is a folder; expected a file name", path);
    size_t n = strlen(path) + 48;
    char *probe = malloc(n);
    if (!probe) return sf_fail("%s: out of memory", path);
    snprintf(probe, n, "%s.probe.%ld", path, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        sf_err e = sf_fail("%s: cannot write there: %s", path, strerror(errno));
        free(probe);
        return e;
    }
    close(fd);
    unlink(probe);
    free(probe);
    return sf_ok();
}

/* Returns success if model m can be trained or evaluated on task t: same family, same alphabet. */
static sf_err check_model_fits(const sf_model *m, const sf_task *t, const char *path) {
    if (m->cfg.family != t->cfg.family)
        return sf_fail("%s: is a %s model; task %s trains %s models", path, sf_family_name(m->cfg.family), t->name,
                       sf_family_name(t->cfg.family));
    size_t len;
    char *alpha = sf_tokenizer_alphabet(&m->tok, &len);
    int same = alpha && strcmp(alpha, t->alphabet) == 0;
    sf_err e = same ? sf_ok()
                    : sf_fail("%s: its alphabet \"%s\" is not task %s's \"%s\"", path, alpha ? alpha : "?", t->name,
                              t->alphabet);
    free(alpha);
    if (e.ok && m->cfg.max_len < t->cfg.max_len)
        e = sf_fail("%s: max_len %d is shorter than task %s's sequences (%d)", path, m->cfg.max_len, t->name,
                    t->cfg.max_len);
    return e;
}

/* Returns a malloc'd "<path>.opt": where the optimizer state of checkpoint path lives. */
static char *state_path(const char *path) {
    size_t n = strlen(path) + 5;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s.opt", path);
    return s;
}

/* What the saves of a run have written so far, for messages after a failure. */
typedef struct {
    long model_step, state_step; /* step last written to F and to F.opt by this run, -1 if none yet */
} save_log;

/* Sleeps for ms milliseconds (returns early on a signal). */
static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Writes the run at tr's step to out and out.opt: the state first (it holds the weights too, so a kill
 * between the two writes leaves out.opt one save ahead of out, never a pair that disagrees), then the
 * model. Each file is written atomically. Returns 1 if both were written; otherwise *report says, for
 * each file, what was and was not written. */
static int save_all(const sf_trainer *tr, const char *out, const char *task, uint64_t seed, int batch, save_log *log,
                    char *report, size_t cap) {
    report[0] = 0;
    sf_buf ckpt, state;
    sf_err e = sf_checkpoint_encode(tr->m, &ckpt);
    if (!e.ok) {
        snprintf(report, cap, "  %s and its .opt: not written: %s\n", out, e.msg);
        return 0;
    }
    char *sp = state_path(out);
    e = sp ? sf_trainer_encode_state(tr, &ckpt, task, seed, batch, &state) : sf_fail("out of memory");
    sf_err es = e.ok ? sf_write_file_atomic(sp, state.data, state.len) : sf_err_wrap(e, sp ? sp : out);
    if (e.ok) sf_buf_free(&state);
    sf_err em = sf_write_file_atomic(out, ckpt.data, ckpt.len);
    sf_buf_free(&ckpt);
    size_t n = 0;
    char was[64];
    if (es.ok) log->state_step = tr->step;
    else {
        if (log->state_step >= 0) snprintf(was, sizeof was, " (it holds step %ld)", log->state_step);
        else was[0] = 0;
        n += (size_t)snprintf(report + n, cap - n, "  %s%s\n", es.msg, was);
    }
    if (em.ok) {
        log->model_step = tr->step;
        if (!es.ok && n < cap) n += (size_t)snprintf(report + n, cap - n, "  %s: written (the model at step %ld)\n", out, tr->step);
    } else if (n < cap) {
        if (log->model_step >= 0) snprintf(was, sizeof was, " (it holds step %ld)", log->model_step);
        else was[0] = 0;
        n += (size_t)snprintf(report + n, cap - n, "  %s%s\n", em.msg, was);
        if (es.ok && n < cap) snprintf(report + n, cap - n, "  %s: written (the optimizer state and the weights of step %ld)\n", sp, tr->step);
    }
    free(sp);
    return es.ok && em.ok;
}

/* The last save failed with the weights still in memory: tries again, then writes the run beside other
 * folders ($TMPDIR, /tmp, $HOME, the current folder) as <name>.rescued-<pid> and its .opt, and if
 * nothing can be written anywhere, keeps trying every 10 s (saying so) until it can or a second Ctrl-C /
 * SIGTERM gives up. Returns the path it saved to (static), or NULL when given up. */
static const char *rescue(const sf_trainer *tr, const char *out, const char *task, uint64_t seed, int batch,
                          save_log *log) {
    static char where[4200];
    char report[4096];
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    const char *tmpdir = getenv("TMPDIR"), *home = getenv("HOME");
    const char *dirs[4] = {tmpdir && *tmpdir ? tmpdir : NULL, "/tmp", home && *home ? home : NULL, "."};
    int given_up_at = interrupted + 1; /* one more signal than now */
    for (int round = 0;; round++) {
        save_log scratch = *log;
        if (save_all(tr, out, task, seed, batch, log, report, sizeof report)) {
            snprintf(where, sizeof where, "%s", out);
            return where;
        }
        for (int d = 0; d < 4; d++) {
            if (!dirs[d]) continue;
            snprintf(where, sizeof where, "%s/%s.rescued-%ld", dirs[d], base, (long)getpid());
            scratch.model_step = scratch.state_step = -1;
            if (save_all(tr, where, task, seed, batch, &scratch, report, sizeof report)) return where;
        }
        if (round == 0)
            fprintf(stderr, "stepformer train: the weights of step %ld are still in memory, but could not be written "
                            "to %s nor to $TMPDIR, /tmp, $HOME or here:\n%sFree some space: trying again every 10 s "
                            "(Ctrl-C or SIGTERM again gives up and loses them).\n", tr->step, out, report);
        for (int k = 0; k < 100; k++) {
            if (interrupted >= given_up_at) return NULL;
            sleep_ms(100);
        }
    }
}

typedef struct {
    const char *task, *out, *resume, *words, *snap_out;
    int steps, batch, threads, warmup, save_every, save_seconds, force, snapshots, snap_bits;
    int snap_steps[256], n_snap_steps; /* --snapshots A,B,C: listed steps (snapshots is then 0) */
    int have_steps, have_seed, have_batch, have_lr, have_warmup;
    int seed;
    float lr;
} train_args;

/* Parses --snapshots: K (every K steps) or a list of increasing steps "50,100,200"; returns 0 after
 * printing why on a bad value. */
static int parse_snapshot_steps(const char *v, train_args *a) {
    if (!strchr(v, ',')) return cli_int("--snapshots", v, 1, 100000000, &a->snapshots);
    a->n_snap_steps = 0;
    for (const char *p = v; *p;) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || k < 1 || k > 100000000 || a->n_snap_steps == 256 ||
            (a->n_snap_steps && k <= a->snap_steps[a->n_snap_steps - 1])) {
            fprintf(stderr, "stepformer train: --snapshots '%s': expected K, or up to 256 increasing steps (1 or more) "
                            "separated by commas\n", v);
            return 0;
        }
        a->snap_steps[a->n_snap_steps++] = (int)k;
        p = *end ? end + 1 : end;
    }
    return 1;
}

/* Returns 1 if a snapshot is due after `step` steps: every K, or a listed step. */
static int snapshot_due(const train_args *a, long step) {
    if (a->snapshots) return step % a->snapshots == 0;
    for (int i = 0; i < a->n_snap_steps; i++)
        if (a->snap_steps[i] == step) return 1;
    return 0;
}

/* Parses the train options into a; returns 0 (after printing why) on a bad option. */
static int parse_train(int argc, char **argv, train_args *a) {
    memset(a, 0, sizeof *a);
    a->save_seconds = 30;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
        int ok = 1;
        if (!strcmp(o, "--force")) { a->force = 1; continue; }
        if (strcmp(o, "--task") && strcmp(o, "--steps") && strcmp(o, "--seed") && strcmp(o, "--threads") &&
            strcmp(o, "--batch") && strcmp(o, "--lr") && strcmp(o, "--warmup") && strcmp(o, "--out") &&
            strcmp(o, "--resume") && strcmp(o, "--words") && strcmp(o, "--save-every") && strcmp(o, "--save-seconds") &&
            strcmp(o, "--snapshots") && strcmp(o, "--snapshot-out") && strcmp(o, "--snapshot-bits")) {
            fprintf(stderr, "stepformer train: unknown option '%s'\n", o);
            return 0;
        }
        if (!(v = cli_value(argc, argv, &i))) return 0;
        if (!strcmp(o, "--task")) a->task = v;
        else if (!strcmp(o, "--out")) a->out = v;
        else if (!strcmp(o, "--resume")) a->resume = v;
        else if (!strcmp(o, "--words")) a->words = v;
        else if (!strcmp(o, "--steps")) ok = a->have_steps = cli_int(o, v, 1, SF_TRAIN_MAX_STEPS, &a->steps);
        else if (!strcmp(o, "--seed")) ok = a->have_seed = cli_int(o, v, 0, 2147483647, &a->seed);
        else if (!strcmp(o, "--threads")) ok = cli_int(o, v, 1, SF_TRAIN_CHUNKS, &a->threads);
        else if (!strcmp(o, "--batch")) ok = a->have_batch = cli_int(o, v, 1, SF_TRAIN_MAX_BATCH, &a->batch);
        else if (!strcmp(o, "--warmup")) ok = a->have_warmup = cli_int(o, v, 0, SF_TRAIN_MAX_STEPS, &a->warmup);
        else if (!strcmp(o, "--save-every")) ok = cli_int(o, v, 0, 100000000, &a->save_every);
        else if (!strcmp(o, "--save-seconds")) ok = cli_int(o, v, 0, 86400, &a->save_seconds);
        else if (!strcmp(o, "--snapshots")) ok = parse_snapshot_steps(v, a);
        else if (!strcmp(o, "--snapshot-out")) a->snap_out = v;
        else if (!strcmp(o, "--snapshot-bits")) {
            ok = cli_int(o, v, 16, 32, &a->snap_bits) && (a->snap_bits == 16 || a->snap_bits == 32);
            if (!ok) fprintf(stderr, "stepformer train: --snapshot-bits '%s': expected 16 or 32\n", v);
        }
        else ok = a->have_lr = cli_float(o, v, 1e-7, 1.0, &a->lr);
        if (!ok) return 0;
    }
    if (!a->task || !a->out) {
        fprintf(stderr, "stepformer train: --task NAME and --out FILE are required (tasks: %s)\n", sf_task_list());
        return 0;
    }
    if ((a->snap_out || a->snap_bits) && !a->snapshots && !a->n_snap_steps) {
        fprintf(stderr, "stepformer train: --snapshot-out and --snapshot-bits go with --snapshots K\n");
        return 0;
    }
    if (!a->snap_bits) a->snap_bits = 32;
    return 1;
}

/* Returns success if training may write out: it does not exist yet (nor its .opt), or it is the very file
 * being resumed (--resume F --out F); otherwise a refusal naming what is there (--force overrides). */
static sf_err check_replace(const char *resume, const char *out) {
    struct stat so, sr;
    char *sp = state_path(out);
    if (!sp) return sf_fail("out of memory");
    int have_out = stat(out, &so) == 0, have_opt = stat(sp, &sr) == 0;
    sf_err e = sf_ok();
    if (have_out && resume) {
        struct stat r;
        if (stat(resume, &r) == 0 && r.st_dev == so.st_dev && r.st_ino == so.st_ino) have_out = have_opt = 0;
    }
    if (have_out)
        e = sf_fail("%s: already exists; not replacing a model: pass --force to overwrite it, --resume %s to go on "
                    "training it, or another --out", out, out);
    else if (have_opt)
        e = sf_fail("%s: an optimizer state (a run's saved weights) already exists there; not replacing it: pass "
                    "--force, or another --out", sp);
    free(sp);
    return e;
}

/* Returns a malloc'd name for the snapshot series of checkpoint out: "x.sfm" -> "x.snap", else
 * out + ".snap". */
static char *snapshot_path(const char *out) {
    size_t n = strlen(out);
    char *s = malloc(n + 6);
    if (!s) return NULL;
    memcpy(s, out, n + 1);
    if (n > 4 && strcmp(out + n - 4, ".sfm") == 0) s[n - 4] = '\0';
    strcat(s, ".snap");
    return s;
}

/* Reports a snapshot that could not be written (a full disk, say) and returns 0: the series stops there,
 * keeping the snapshots already in it, and training goes on, so that the model is still saved. */
static int snapshot_failed(sf_err e, long step, int tty) {
    fprintf(stderr, "%sstepformer train: the snapshot of step %ld was not written: %s; no more snapshots are taken, "
                    "training goes on\n", tty ? "\n" : "", step, e.msg);
    return 0;
}

/* Builds the model to train: loaded from --resume (checked against the task) or freshly initialised. */
static sf_err make_model(const train_args *a, const sf_task *t, sf_model *m) {
    if (a->resume) {
        sf_err e = sf_checkpoint_load(a->resume, m);
        if (!e.ok) return e;
        if (!(e = check_model_fits(m, t, a->resume)).ok) sf_model_free(m);
        return e;
    }
    sf_tokenizer tok;
    sf_err e = sf_tokenizer_build(&tok, t->alphabet, strlen(t->alphabet));
    if (!e.ok) return e;
    if (!(e = sf_model_build(m, &t->cfg)).ok) {
        sf_tokenizer_free(&tok);
        return e;
    }
    m->tok = tok;
    sf_model_init_random_sd(m, (unsigned long long)a->seed, t->init_sd);
    return sf_ok();
}

/* Prints the progress line: redrawn in place on a terminal, one line per report otherwise. */
static void progress(int tty, long step, long total, double loss, double tok_s, double eta, int final) {
    char eta_s[32];
    if (tty) {
        fprintf(stderr, "\rstep %ld/%ld  loss %.4f  %.0f tok/s  ETA %s\033[K%s", step, total, loss, tok_s,
                fmt_duration(eta, eta_s), final ? "\n" : "");
    } else {
        fprintf(stderr, "step %ld/%ld  loss %.4f  %.0f tok/s  ETA %s\n", step, total, loss, tok_s,
                fmt_duration(eta, eta_s));
    }
    fflush(stderr);
}

/* `stepformer train`: see the usage text in main.c; with --watch, cmd_watch.c runs the same loop in a thread. */
int cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--watch") || !strcmp(argv[i], "--watch-frames")) return cmd_train_watch(argc, argv);
    return train_run(argc, argv, NULL);
}

int train_run(int argc, char **argv, const train_hook *hook) {
    train_args a;
    if (!parse_train(argc, argv, &a)) return 2;
    sf_task task;
    sf_err e = sf_task_open(&task, a.task, a.words);
    if (!e.ok) return cli_fail(e);
    if (!(e = check_writable(a.out)).ok) { sf_task_close(&task); return cli_fail(e); }
    if (!a.force && !(e = check_replace(a.resume, a.out)).ok) { sf_task_close(&task); return cli_fail(e); }

    sf_model m;
    if (!(e = make_model(&a, &task, &m)).ok) { sf_task_close(&task); return cli_fail(e); }
    sf_adamw_cfg oc = sf_adamw_defaults(a.have_steps ? a.steps : task.recipe.steps);
    oc.lr = a.have_lr ? a.lr : task.recipe.lr;
    /* short runs warm up for a tenth of their steps at most */
    int short_warmup = oc.total / 10 > 0 ? oc.total / 10 : 1;
    oc.warmup = a.have_warmup ? a.warmup : task.recipe.warmup < short_warmup ? task.recipe.warmup : short_warmup;
    int batch = a.have_batch ? a.batch : task.recipe.batch;
    uint64_t seed = (uint64_t)a.seed;
    sf_trainer tr;
    if (!(e = sf_trainer_init(&tr, &m, &oc, a.threads)).ok) { sf_model_free(&m); sf_task_close(&task); return cli_fail(e); }

    if (a.resume) { /* continue the run: optimizer state and position from the sidecar, if there is one */
        char *sp = state_path(a.resume);
        struct stat st;
        if (sp && stat(sp, &st) == 0) {
            uint64_t s_seed;
            int s_batch;
            float *was = malloc(m.n_params * sizeof *was); /* to tell whether the state's own weights differ */
            if (was) memcpy(was, m.params, m.n_params * sizeof *was);
            e = sf_trainer_load_state(&tr, sp, task.name, &s_seed, &s_batch);
            if (e.ok && was && memcmp(was, m.params, m.n_params * sizeof *was) != 0)
                fprintf(stderr, "stepformer train: %s is not the model saved with %s (a save was cut short between the "
                                "two files, or the model was replaced); resuming from the weights saved in %s, "
                                "step %ld\n", a.resume, sp, sp, tr.step);
            free(was);
            if (e.ok) {
                if (!a.have_seed) seed = s_seed;
                if (!a.have_batch) batch = s_batch;
                if (a.have_steps) tr.opt.cfg.total = a.steps;
                if (a.have_lr) tr.opt.cfg.lr = a.lr;
                if (a.have_warmup) tr.opt.cfg.warmup = a.warmup;
                if (tr.step >= tr.opt.cfg.total)
                    e = sf_fail("%s: already trained %ld of %d steps; pass a larger --steps to go on", a.resume,
                                tr.step, tr.opt.cfg.total);
            }
        } else if (sp) {
            fprintf(stderr, "stepformer train: no optimizer state %s; continuing from the weights with a fresh "
                            "optimizer and schedule\n", sp);
        }
        free(sp);
        if (!e.ok) { sf_trainer_free(&tr); sf_model_free(&m); sf_task_close(&task); return cli_fail(e); }
    }

    long total = tr.opt.cfg.total, start = tr.step;
    /* --snapshots K: the series starts with the weights training starts from */
    sf_snapshot_writer snaps = {.fd = -1};
    int snapping = a.snapshots || a.n_snap_steps;
    char *snap_path = snapping ? (a.snap_out ? strdup(a.snap_out) : snapshot_path(a.out)) : NULL;
    double snap_loss = 0.0;
    long snap_tokens = 0;
    if (snapping) {
        e = snap_path ? sf_snapshot_create(&snaps, snap_path, &m, task.name, a.snapshots, (int)total, a.snap_bits)
                      : sf_fail("out of memory");
        if (e.ok) e = sf_snapshot_take(&snaps, &m, &task, (int)tr.step, 0.0f, NAN);
        if (!e.ok) {
            sf_snapshot_close(&snaps);
            free(snap_path);
            sf_trainer_free(&tr); sf_model_free(&m); sf_task_close(&task);
            return cli_fail(e);
        }
    }
    sf_example *ex = malloc((size_t)batch * sizeof *ex);
    if (!ex) {
        sf_snapshot_close(&snaps);
        free(snap_path);
        sf_trainer_free(&tr); sf_model_free(&m); sf_task_close(&task);
        return cli_fail(sf_fail("out of memory"));
    }
    /* from here on Ctrl-C (or SIGTERM) asks the loop to save and stop */
    interrupted = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int tty = isatty(STDERR_FILENO);
    long report_every = total / 20 > 0 ? total / 20 : 1;
    printf("training %s: %s model, %zu parameters, d_model %d, %d heads, d_ff %d, %d+%d layers; "
           "%ld steps of %d examples, lr %g, seed %llu, %d thread%s%s\n",
           task.name, sf_family_name(m.cfg.family), m.n_params, m.cfg.d_model, m.cfg.n_heads, m.cfg.d_ff,
           m.cfg.n_enc_layers, m.cfg.n_dec_layers, total, batch, (double)tr.opt.cfg.lr, (unsigned long long)seed,
           tr.n_threads, tr.n_threads == 1 ? "" : "s", start ? " (resumed)" : "");
    fflush(stdout);
    if (hook && hook->begin) hook->begin(hook->user, &m, &task, &tr.opt.cfg, start, total);

    double t0 = now_seconds(), last_draw = 0.0, loss_avg = NAN, last_save = t0;
    long tokens = 0;
    sf_step_stats st = {0};
    save_log log = {-1, -1};
    char report[4096];
    while (tr.step < total && !interrupted) {
        sf_task_batch(&task, seed, tr.step, ex, batch);
        if (!(e = sf_trainer_step(&tr, ex, batch, &st)).ok) break;
        tokens += st.tokens;
        loss_avg = isnan(loss_avg) ? st.loss : 0.9 * loss_avg + 0.1 * st.loss;
        double t = now_seconds() - t0, rate = (double)(tr.step - start) / t;
        double eta = rate > 0 ? (double)(total - tr.step) / rate : 0.0;
        if ((tty && (t - last_draw > 0.2 || tr.step == total)) || (!tty && (tr.step % report_every == 0 || tr.step == total))) {
            progress(tty, tr.step, total, loss_avg, (double)tokens / t, eta, tr.step == total);
            last_draw = t;
        }
        if (hook && hook->step && !hook->step(hook->user, &tr, &task, &st, loss_avg, (double)tokens / t))
            interrupted = 1; /* the window asked to stop: save and end as on Ctrl-C */
        /* periodic saves: every --save-seconds (30 s by default) and every --save-every steps */
        int due = (a.save_every > 0 && tr.step % a.save_every == 0) ||
                  (a.save_seconds > 0 && now_seconds() - last_save >= a.save_seconds);
        if (due && tr.step < total) {
            if (!save_all(&tr, a.out, task.name, seed, batch, &log, report, sizeof report))
                fprintf(stderr, "%sstepformer train: saving step %ld failed; training goes on with the weights in "
                                "memory and tries again at the next save:\n%s", tty ? "\n" : "", tr.step, report);
            last_save = now_seconds();
        }
        snap_loss += st.loss * (double)st.tokens;
        snap_tokens += st.tokens;
        if (snapping && (snapshot_due(&a, tr.step) || tr.step == total)) {
            sf_err se = sf_snapshot_take(&snaps, &m, &task, (int)tr.step, st.lr, (float)(snap_loss / (double)snap_tokens));
            if (!se.ok) snapping = snapshot_failed(se, tr.step, tty); /* the model matters more than the series */
            snap_loss = 0.0;
            snap_tokens = 0;
        }
    }
    if (e.ok && snapping && snap_tokens > 0) { /* interrupted between snapshots: keep where it stopped */
        sf_err se = sf_snapshot_take(&snaps, &m, &task, (int)tr.step, st.lr, (float)(snap_loss / (double)snap_tokens));
        if (!se.ok) snapshot_failed(se, tr.step, tty);
    }
    double elapsed = now_seconds() - t0;
    if (tty && tr.step < total) fputc('\n', stderr);
    int status = 0;
    const char *saved_to = NULL;
    if (!e.ok) {
        status = cli_fail(e);
        fprintf(stderr, "stepformer train: stopped at step %ld; %s was not written by this failure\n", tr.step, a.out);
    } else if (!save_all(&tr, a.out, task.name, seed, batch, &log, report, sizeof report)) {
        fprintf(stderr, "stepformer train: saving step %ld failed:\n%s", tr.step, report);
        saved_to = rescue(&tr, a.out, task.name, seed, batch, &log);
        if (!saved_to)
            fprintf(stderr, "stepformer train: gave up; the weights of step %ld were not saved (the last save that was "
                            "written is step %ld)\n", tr.step, log.model_step);
        else if (strcmp(saved_to, a.out) != 0)
            fprintf(stderr, "stepformer train: saved step %ld to %s and %s.opt instead; move them to %s and %s.opt when "
                            "there is room (or --resume %s)\n", tr.step, saved_to, saved_to, a.out, a.out, saved_to);
        else
            fprintf(stderr, "stepformer train: saved step %ld to %s on a later try\n", tr.step, a.out);
        status = saved_to && !strcmp(saved_to, a.out) ? (interrupted ? EXIT_INTERRUPTED : 0) : 1;
    } else if (interrupted) {
        printf("interrupted at step %ld of %ld after %.1f s; saved %s (continue with --resume %s)\n", tr.step, total,
               elapsed, a.out, a.out);
        status = EXIT_INTERRUPTED;
    } else {
        printf("done: %ld steps in %.1f s (%.0f tokens/s), final loss %.4f; saved %s\n", tr.step - start, elapsed,
               (double)tokens / elapsed, st.loss, a.out);
    }
    if (snap_path) {
        if (snaps.count) printf("snapshots: %u in %s (%d-bit weights)\n", snaps.count, snap_path, a.snap_bits);
        sf_snapshot_close(&snaps);
        free(snap_path);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(ex);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    sf_task_close(&task);
    return status;
}

/* ---- eval ------------------------------------------------------------------------------------- */

/* Prints held-out loss per character against the unigram baseline (words), a few sampled words, and
 * the teacher-forced next-character accuracy as the final `accuracy:` line. */
static int eval_lm(const sf_model *m, const sf_task *t, int n) {
    int V = m->cfg.vocab_size;
    sf_seq s;
    sf_err e = sf_seq_build(&s, &m->cfg);
    if (!e.ok) return cli_fail(e);
    double *uni = malloc((size_t)V * sizeof *uni);
    if (!uni || !sf_task_unigram(t, uni, V)) {
        free(uni);
        sf_seq_free(&s);
        return cli_fail(sf_fail("out of memory"));
    }
    double loss = 0.0, uloss = 0.0;
    long right = 0, tokens = 0;
    for (int i = 0; i < n; i++) {
        sf_example ex;
        sf_task_example(t, SF_SPLIT_HELDOUT, sf_task_key(0xE7A1ull, 0, (uint64_t)i), &ex);
        int counted = 0;
        loss += sf_forward_loss(m, &s, ex.src, 0, ex.in, ex.tgt, ex.n, &counted);
        tokens += counted;
        for (int p = 0; p < ex.n; p++) {
            if (ex.tgt[p] == SF_TOK_PAD) continue;
            uloss -= log(uni[ex.tgt[p]]);
            right += sf_argmax(s.logits + (size_t)p * V, V) == ex.tgt[p];
        }
    }
    loss /= (double)tokens;
    uloss /= (double)tokens;
    printf("task %s: %d held-out words (of %d), %ld characters (each word's letters and its end)\n", t->name, n,
           t->n_held, tokens);
    printf("held-out loss: %.4f nats/char (%.3f bits/char, perplexity %.2f)\n", loss, loss / log(2.0), exp(loss));
    printf("unigram baseline: %.4f nats/char (%.3f bits/char, perplexity %.2f)\n", uloss, uloss / log(2.0),
           exp(uloss));
    printf("samples at temperature 1:");
    for (int k = 0; k < 10; k++) {
        sf_run_opts o = {0};
        o.input = "";
        o.max_new = SF_RUN_UNTIL_EOS;
        o.sampler.temperature = 1.0f;
        o.seed = (uint64_t)k + 1;
        int np;
        if (sf_run(m, &s, &o, &np).ok) {
            char word[SF_TASK_MAX_LEN * 8];
            sf_task_text(t, s.dec.ids + np, s.n_tgt - np, word, sizeof word);
            printf(" %s", word);
        }
    }
    printf("\nnext-character accuracy (teacher-forced, held-out words):\naccuracy: %.3f\n",
           (double)right / (double)tokens);
    free(uni);
    sf_seq_free(&s);
    return 0;
}

/* Greedy-decodes n held-out examples; prints a few, the per-token accuracy and, last, the exact-match
 * accuracy as `accuracy: X`. */
static int eval_greedy(const sf_model *m, const sf_task *t, int n, int show) {
    sf_seq s;
    sf_err e = sf_seq_build(&s, &m->cfg);
    if (!e.ok) return cli_fail(e);
    long tok_right = 0, tok_total = 0;
    int exact = 0;
    printf("task %s: %d held-out examples, greedy decoding\n", t->name, n);
    for (int i = 0; i < n; i++) {
        sf_example ex;
        sf_task_example(t, SF_SPLIT_HELDOUT, sf_task_key(0xE7A1ull, 0, (uint64_t)i), &ex);
        int got[SF_TASK_MAX_LEN];
        int ng = sf_greedy(m, &s, &ex, got, SF_TASK_MAX_LEN);
        if (ng < 0) {
            sf_seq_free(&s);
            return cli_fail(sf_fail("example %d does not fit the model", i));
        }
        const int *want = ex.tgt + ex.n_prompt - 1; /* what generation should produce, <eos> included */
        int nw = ex.n - ex.n_prompt + 1, ok = ng == nw;
        for (int k = 0; k < nw; k++) {
            int hit = k < ng && got[k] == want[k];
            tok_right += hit;
            ok &= hit;
        }
        tok_total += nw;
        exact += ok;
        if (i < show) {
            char in[SF_TASK_MAX_LEN * 8], w[SF_TASK_MAX_LEN * 8], g[SF_TASK_MAX_LEN * 8];
            if (m->cfg.family == SF_FAMILY_ENCDEC) sf_task_text(t, ex.src, ex.n_src, in, sizeof in);
            else sf_task_text(t, ex.in + 1, ex.n_prompt - 1, in, sizeof in);
            sf_task_text(t, want, nw, w, sizeof w);
            sf_task_text(t, got, ng, g, sizeof g);
            printf("  %-14s -> %-20s %s\n", in, g, ok ? "ok" : w);
        }
    }
    sf_seq_free(&s);
    printf("per-token accuracy: %.4f (%ld of %ld tokens)\n", (double)tok_right / (double)tok_total, tok_right, tok_total);
    printf("exact matches: %d of %d\n", exact, n);
    printf("accuracy: %.3f\n", (double)exact / (double)n);
    return 0;
}

/* `stepformer eval`: see the usage text in main.c. */
int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *task_name = NULL, *words = NULL;
    int n = 1000, show = 5;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
        int ok = 1;
        if (strcmp(o, "--model") && strcmp(o, "--task") && strcmp(o, "--n") && strcmp(o, "--words") &&
            strcmp(o, "--show")) {
            fprintf(stderr, "stepformer eval: unknown option '%s'\n", o);
            return 2;
        }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(o, "--model")) model = v;
        else if (!strcmp(o, "--task")) task_name = v;
        else if (!strcmp(o, "--words")) words = v;
        else if (!strcmp(o, "--n")) ok = cli_int(o, v, 1, 1000000, &n);
        else ok = cli_int(o, v, 0, 1000000, &show);
        if (!ok) return 2;
    }
    if (!model || !task_name) {
        fprintf(stderr, "stepformer eval: --model FILE and --task NAME are required (tasks: %s)\n", sf_task_list());
        return 2;
    }
    sf_task task;
    sf_err e = sf_task_open(&task, task_name, words);
    if (!e.ok) return cli_fail(e);
    sf_model m;
    if (!(e = sf_checkpoint_load(model, &m)).ok) { sf_task_close(&task); return cli_fail(e); }
    int status;
    if (!(e = check_model_fits(&m, &task, model)).ok) status = cli_fail(e);
    else if (strcmp(task.name, "words") == 0) status = eval_lm(&m, &task, n);
    else status = eval_greedy(&m, &task, n, show);
    sf_model_free(&m);
    sf_task_close(&task);
    return status;
}

/* ---- snapshots -------------------------------------------------------------------------------- */

/* `stepformer snapshots FILE [--extract STEP --out FILE.sfm [--force]]`: prints a snapshot series' header
 * and one line per snapshot; with --extract, writes the model of the last snapshot at or before STEP as a
 * checkpoint (an existing FILE.sfm only with --force). */
int cmd_snapshots(int argc, char **argv) {
    const char *file = NULL, *out = NULL;
    int extract = -1, force = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v;
        if (!strcmp(o, "--force")) { force = 1; continue; }
        if (o[0] != '-') {
            if (file) { fprintf(stderr, "stepformer snapshots: one FILE expected, got '%s' too\n", o); return 2; }
            file = o;
            continue;
        }
        if (strcmp(o, "--extract") && strcmp(o, "--out")) {
            fprintf(stderr, "stepformer snapshots: unknown option '%s'\n", o);
            return 2;
        }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(o, "--out")) out = v;
        else if (!cli_int(o, v, 0, 100000000, &extract)) return 2;
    }
    if (!file || (extract >= 0) != (out != NULL)) {
        fprintf(stderr, "stepformer snapshots: expected FILE (a series written by train --snapshots), and --extract STEP "
                        "with --out FILE.sfm\n");
        return 2;
    }
    sf_err e;
    if (out && !force && !(e = cli_refuse_existing(out)).ok) return cli_fail(e); /* as init and train: no accidents */
    sf_snapshots s;
    if (!(e = sf_snapshots_load(file, &s)).ok) return cli_fail(e);
    const sf_config *c = &s.model.cfg;
    printf("%s: task %s, %s model, d_model %d, %d heads, d_ff %d, %d+%d layers, %zu parameters\n", file, s.task,
           sf_family_name(c->family), c->d_model, c->n_heads, c->d_ff, c->n_enc_layers, c->n_dec_layers,
           s.model.n_params);
    char when[48];
    if (s.interval) snprintf(when, sizeof when, "every %d", s.interval);
    else snprintf(when, sizeof when, "at listed steps");
    printf("%d snapshots, %s of %d steps, %d-bit weights; scored on %d held-out examples%s\n", s.n, when,
           s.total_steps, s.precision, s.n_probe, s.trailing ? " (an unfinished last write was ignored)" : "");
    printf("%7s %10s %11s %14s %10s %8s\n", "step", "lr", "train loss", "held-out loss", "token acc", "exact");
    for (int k = 0; k < s.n; k++) {
        const sf_snapshot_info *in = sf_snapshots_info(&s, k);
        char tl[16] = "-", ex[16] = "-";
        if (!isnan(in->train_loss)) snprintf(tl, sizeof tl, "%.4f", (double)in->train_loss);
        if (!isnan(in->heldout_exact)) snprintf(ex, sizeof ex, "%.3f", (double)in->heldout_exact);
        printf("%7d %10.3g %11s %14.4f %10.3f %8s\n", in->step, (double)in->lr, tl, (double)in->heldout_loss,
               (double)in->heldout_acc, ex);
    }
    int status = 0;
    if (out) {
        int k = sf_snapshots_at_step(&s, extract);
        sf_snapshots_select(&s, k);
        if (!(e = sf_checkpoint_save(&s.model, out)).ok) status = cli_fail(e);
        else printf("wrote %s: the model at step %d\n", out, sf_snapshots_info(&s, k)->step);
    }
    sf_snapshots_free(&s);
    return status;
}
