/* test_train.c - the trainer: task generators and their held-out splits, AdamW against hand-computed
 * values, the schedule, clipping, bit-identical runs (repeat, 1 vs 2 threads, resume), a short run that
 * learns, the first 10 losses of a fixed run against PyTorch, and bad input through the command line. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/checkpoint.h"
#include "train/backward.h"
#include "train/optim.h"
#include "train/tasks.h"
#include "train/trainer.h"

static char tmpdir[256];

/* Creates the scratch folder the tests write into. */
static int setup_dir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sf_test_train.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes the scratch folder and everything in it. */
static int teardown_dir(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Returns a path inside the scratch folder (one of 64 static buffers, reused round-robin). */
static const char *tmp_path(const char *name) {
    static char buf[64][512];
    static int k = 0;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Returns 1 if path exists. */
static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Returns 1 if the word list exists (the words tests need it). */
static int have_words(void) { return access(SF_TASK_DEFAULT_WORDS, R_OK) == 0; }

/* ---- tasks ------------------------------------------------------------------------------------ */

/* Checks that the same key gives the same example, that examples fit the task's model, and that a
 * generated example lies in the split it was asked for. */
static void check_task_generator(const char *name) {
    sf_task t;
    sf_err e = sf_task_open(&t, name, NULL);
    assert_true(e.ok);
    int distinct = 0;
    sf_example prev = {0};
    for (int split = 0; split < 2; split++) {
        for (int k = 0; k < 300; k++) {
            sf_example a, b;
            sf_task_example(&t, (sf_split)split, 1000 + (uint64_t)k, &a);
            sf_task_example(&t, (sf_split)split, 1000 + (uint64_t)k, &b);
            assert_memory_equal(&a, &b, sizeof a);
            assert_true(a.n >= 2 && a.n <= t.cfg.max_len);
            assert_true(a.n_src <= t.cfg.max_len);
            assert_int_equal(a.in[0], SF_TOK_BOS);
            assert_int_equal(a.tgt[a.n - 1], SF_TOK_EOS);
            for (int i = 0; i + 1 < a.n; i++) /* teacher forcing: input i+1 is target i where counted */
                if (a.tgt[i] != SF_TOK_PAD) assert_int_equal(a.in[i + 1], a.tgt[i]);
            const int *content = a.n_src ? a.src : a.in + 1;
            int nc = a.n_src ? a.n_src : strcmp(name, "sort") == 0 ? 6 : a.n_prompt - 1; /* add: "a+b=" */
            if (strcmp(name, "add") == 0) { /* the split of the unordered pair: "min+max=" */
                char q[32];
                int x, y, ids[SF_TASK_MAX_LEN];
                sf_task_text(&t, a.in + 1, a.n_prompt - 1, q, sizeof q);
                assert_int_equal(sscanf(q, "%d+%d=", &x, &y), 2);
                snprintf(q, sizeof q, "%d+%d=", x < y ? x : y, x < y ? y : x);
                for (nc = 0; q[nc]; nc++) ids[nc] = SF_TOK_FIRST_CHAR + (int)(strchr(t.alphabet, q[nc]) - t.alphabet);
                assert_int_equal(sf_task_split_of(&t, ids, nc), split);
            } else if (strcmp(name, "words") != 0) {
                assert_int_equal(sf_task_split_of(&t, content, nc), split);
            }
            if (memcmp(&a, &prev, sizeof a) != 0) distinct++;
            prev = a;
        }
    }
    assert_true(distinct > 500);
    sf_task_close(&t);
}

/* Task generators are deterministic, well formed and respect their split. */
static void test_task_generators(void **state) {
    (void)state;
    check_task_generator("reverse");
    check_task_generator("copy");
    check_task_generator("sort");
    check_task_generator("add");
    check_task_generator("induction");
    check_task_generator("dates");
    if (have_words()) check_task_generator("words");
}

/* The examples themselves: reverse reverses, copy copies, sort sorts with the loss only after '=', add
 * adds with the loss only on the sum, dates writes valid dates of both orders in ISO 8601. */
static void test_task_contents(void **state) {
    (void)state;
    sf_task t;
    sf_example ex;
    assert_true(sf_task_open(&t, "reverse", NULL).ok);
    sf_task_example(&t, SF_SPLIT_TRAIN, 7, &ex);
    assert_true(ex.n_src >= 4 && ex.n_src <= 12 && ex.n == ex.n_src + 1 && ex.n_prompt == 1);
    for (int i = 0; i < ex.n_src; i++) assert_int_equal(ex.tgt[i], ex.src[ex.n_src - 1 - i]);
    sf_task_close(&t);

    assert_true(sf_task_open(&t, "copy", NULL).ok);
    sf_task_example(&t, SF_SPLIT_HELDOUT, 7, &ex);
    for (int i = 0; i < ex.n_src; i++) assert_int_equal(ex.tgt[i], ex.src[i]);
    sf_task_close(&t);

    assert_true(sf_task_open(&t, "sort", NULL).ok);
    for (int k = 0; k < 50; k++) {
        sf_task_example(&t, SF_SPLIT_TRAIN, (uint64_t)k, &ex);
        assert_int_equal(ex.n, 14);
        assert_int_equal(ex.n_prompt, 8);
        assert_int_equal(ex.in[7], SF_TOK_FIRST_CHAR + 3); /* '=' */
        for (int i = 0; i < 7; i++) assert_int_equal(ex.tgt[i], SF_TOK_PAD);
        int count_in[3] = {0}, count_out[3] = {0};
        for (int i = 0; i < 6; i++) {
            count_in[ex.in[1 + i] - SF_TOK_FIRST_CHAR]++;
            count_out[ex.tgt[7 + i] - SF_TOK_FIRST_CHAR]++;
            if (i) assert_true(ex.tgt[7 + i] >= ex.tgt[6 + i]);
        }
        assert_memory_equal(count_in, count_out, sizeof count_in);
    }
    sf_task_close(&t);

    char in[64], iso[64];
    sf_task_date_text(25, 12, 2023, 0, in, iso, sizeof in);
    assert_string_equal(in, "25 december 2023");
    assert_string_equal(iso, "2023-12-25");
    sf_task_date_text(4, 7, 1776, 1, in, iso, sizeof in);
    assert_string_equal(in, "july 4, 1776");
    assert_string_equal(iso, "1776-07-04");
    static const char *months[] = {"january", "february", "march",     "april",   "may",      "june",
                                   "july",    "august",   "september", "october", "november", "december"};
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    assert_true(sf_task_open(&t, "dates", NULL).ok);
    int british = 0, american = 0, leap_days = 0;
    for (int k = 0; k < 3000; k++) {
        sf_task_example(&t, k % 2 ? SF_SPLIT_HELDOUT : SF_SPLIT_TRAIN, (uint64_t)k, &ex);
        char out[64], name[32], want[64];
        sf_task_text(&t, ex.src, ex.n_src, in, sizeof in);
        sf_task_text(&t, ex.tgt, ex.n - 1, out, sizeof out);
        assert_int_equal(ex.tgt[ex.n - 1], SF_TOK_EOS);
        int d, y, m = -1;
        if (in[0] >= '0' && in[0] <= '9') {
            assert_int_equal(sscanf(in, "%d %31s %d", &d, name, &y), 3);
            british++;
        } else {
            assert_int_equal(sscanf(in, "%31s %d, %d", name, &d, &y), 3);
            american++;
        }
        for (int i = 0; i < 12; i++)
            if (strcmp(name, months[i]) == 0) m = i + 1;
        assert_true(m >= 1 && y >= 1000 && y <= 2999);
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        assert_true(d >= 1 && d <= mdays[m - 1] + (m == 2 && leap)); /* a real calendar day */
        leap_days += m == 2 && d == 29;
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        assert_string_equal(out, want);
        assert_true(ex.n_src <= t.cfg.max_len && ex.n <= t.cfg.max_len);
    }
    assert_true(british > 1200 && american > 1200 && leap_days > 0);
    sf_task_close(&t);

    assert_true(sf_task_open(&t, "add", NULL).ok);
    for (int k = 0; k < 200; k++) {
        sf_task_example(&t, SF_SPLIT_TRAIN, (uint64_t)k, &ex);
        char in[64], out[64];
        sf_task_text(&t, ex.in + 1, ex.n_prompt - 1, in, sizeof in);
        sf_task_text(&t, ex.tgt + ex.n_prompt - 1, ex.n - ex.n_prompt, out, sizeof out);
        int a, b;
        assert_int_equal(sscanf(in, "%d+%d=", &a, &b), 2);
        assert_true(a >= 0 && a < 1000 && b >= 0 && b < 1000);
        assert_int_equal(atoi(out), a + b);
        for (int i = 0; i < ex.n_prompt - 1; i++) assert_int_equal(ex.tgt[i], SF_TOK_PAD);
    }
    sf_task_close(&t);

    /* induction: <bos> x | x[k..] <eos>, x distinct letters, the copy at least 4 long, the loss on the copy
     * after its given first letter */
    assert_true(sf_task_open(&t, "induction", NULL).ok);
    assert_int_equal(t.cfg.d_ff, 0);
    int starts = 0;
    for (int k = 0; k < 300; k++) {
        sf_task_example(&t, k % 2 ? SF_SPLIT_TRAIN : SF_SPLIT_HELDOUT, (uint64_t)k, &ex);
        int sep = SF_TOK_FIRST_CHAR + 26, n = ex.n_prompt - 3, m = ex.n - ex.n_prompt + 1;
        assert_true(n >= 4 && n <= 15 && m >= 4 && m <= n);
        assert_int_equal(ex.in[n + 1], sep);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) assert_true(ex.in[1 + i] != ex.in[1 + j]);
        for (int i = 0; i < m; i++) assert_int_equal(ex.in[n + 2 + i], ex.in[1 + n - m + i]);
        for (int i = 0; i < ex.n_prompt - 1; i++) assert_int_equal(ex.tgt[i], SF_TOK_PAD);
        assert_int_equal(ex.n, n + 2 + m);
        starts += m < n;
    }
    assert_true(starts > 100); /* most copies start after the string's first letter */
    sf_task_close(&t);
}

/* Held-out strings never appear among training strings: enumerate all 729 sort inputs and check the
 * training generator never produces a held-out one; for reverse, a large sample of both splits shares
 * no source string. */
static void test_heldout_disjoint(void **state) {
    (void)state;
    sf_task t;
    assert_true(sf_task_open(&t, "sort", NULL).ok);
    unsigned char held[729] = {0};
    int n_held = 0;
    for (int code = 0; code < 729; code++) {
        int x[6], c = code;
        for (int i = 0; i < 6; i++, c /= 3) x[i] = SF_TOK_FIRST_CHAR + c % 3;
        held[code] = sf_task_split_of(&t, x, 6) == SF_SPLIT_HELDOUT;
        n_held += held[code];
    }
    assert_true(n_held > 30 && n_held < 150); /* about one in ten */
    unsigned char seen_held[729] = {0};
    for (int k = 0; k < 5000; k++) {
        sf_example ex;
        sf_task_example(&t, SF_SPLIT_TRAIN, (uint64_t)k, &ex);
        int code = 0;
        for (int i = 5; i >= 0; i--) code = code * 3 + (ex.in[1 + i] - SF_TOK_FIRST_CHAR);
        assert_false(held[code]);
        sf_task_example(&t, SF_SPLIT_HELDOUT, (uint64_t)k, &ex);
        code = 0;
        for (int i = 5; i >= 0; i--) code = code * 3 + (ex.in[1 + i] - SF_TOK_FIRST_CHAR);
        assert_true(held[code]);
        seen_held[code] = 1;
    }
    int covered = 0;
    for (int i = 0; i < 729; i++) covered += seen_held[i];
    assert_int_equal(covered, n_held); /* evaluation reaches every held-out input */
    sf_task_close(&t);

    /* reverse: 4000 training and 1000 held-out sources, compared pairwise through a sorted list */
    assert_true(sf_task_open(&t, "reverse", NULL).ok);
    enum { NT = 4000, NH = 1000 };
    char(*s)[16] = calloc(NT + NH, 16);
    int *split = calloc(NT + NH, sizeof *split);
    for (int k = 0; k < NT + NH; k++) {
        sf_example ex;
        sf_task_example(&t, k < NT ? SF_SPLIT_TRAIN : SF_SPLIT_HELDOUT, (uint64_t)k * 31 + 5, &ex);
        sf_task_text(&t, ex.src, ex.n_src, s[k], 16);
        split[k] = k >= NT;
    }
    for (int a = NT; a < NT + NH; a++)
        for (int b = 0; b < NT; b++) assert_string_not_equal(s[a], s[b]);
    free(s);
    free(split);
    sf_task_close(&t);
}

/* The word list: only lowercase a-z words are kept, each in exactly one split; missing and empty
 * lists are errors that say so. */
static void test_words_list(void **state) {
    (void)state;
    const char *path = tmp_path("words.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("apple\nBanana\ncherry's\nkiwi\r\n\nzebra\nabcdefghijklmnopqrstuvwxyz\n\xc3\xa9" "clair\n", f);
    for (int i = 0; i < 200; i++) fprintf(f, "q%c%c\n", 'a' + i / 26, 'a' + i % 26); /* 200 more words */
    fclose(f);
    sf_task t;
    sf_err e = sf_task_open(&t, "words", path);
    assert_true(e.ok);
    /* Banana, cherry's, eclair and the 26-letter one are dropped; kiwi loses its \r */
    assert_int_equal(t.n_train + t.n_held, 203);
    assert_true(t.n_held > 5 && t.n_held < 45);
    for (int i = 0; i < t.n_held; i++) {
        for (int j = 0; j < t.n_train; j++) assert_string_not_equal(t.held[i], t.train[j]);
        int ids[32], n = (int)strlen(t.held[i]);
        for (int k = 0; k < n; k++) ids[k] = SF_TOK_FIRST_CHAR + t.held[i][k] - 'a';
        assert_int_equal(sf_task_split_of(&t, ids, n), SF_SPLIT_HELDOUT);
    }
    double p[30];
    assert_true(sf_task_unigram(&t, p, 30));
    double sum = 0;
    for (int i = 0; i < 30; i++) sum += p[i];
    assert_true(fabs(sum - 1.0) < 1e-9);
    sf_task_close(&t);

    e = sf_task_open(&t, "words", tmp_path("no-such-words"));
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "no-such-words"));
    f = fopen(tmp_path("empty.txt"), "w");
    fclose(f);
    e = sf_task_open(&t, "words", tmp_path("empty.txt"));
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "no usable words"));
    e = sf_task_open(&t, "nonsense", NULL);
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "unknown task"));
}

/* ---- optimizer -------------------------------------------------------------------------------- */

/* Two AdamW steps on three parameters against values worked out by hand (torch.optim.AdamW's
 * formulas): p1 = p0 (1 - lr wd) - lr * g / (|g| + eps) at t = 1 since m^ = g and v^ = g^2. */
static void test_adamw_hand(void **state) {
    (void)state;
    float params[3] = {1.0f, -2.0f, 0.5f}, m[3] = {0}, v[3] = {0};
    unsigned char decay[3] = {1, 1, 0};
    sf_adamw o = {0};
    o.cfg = sf_adamw_defaults(10);
    o.cfg.beta1 = 0.9f;
    o.cfg.beta2 = 0.999f;
    o.cfg.eps = 1e-8f;
    o.cfg.weight_decay = 0.1f;
    o.n = 3;
    o.m = m;
    o.v = v;
    o.decay = decay;
    float g1[3] = {0.1f, -0.2f, 0.3f};
    sf_adamw_step(&o, params, g1, 0.01f);
    /* p0 * (1 - 0.01 * 0.1) - 0.01 * sign(g) (eps is negligible) */
    assert_float_equal(params[0], 1.0f * 0.999f - 0.01f, 1e-6);
    assert_float_equal(params[1], -2.0f * 0.999f + 0.01f, 1e-6);
    assert_float_equal(params[2], 0.5f - 0.01f, 1e-6); /* no decay on this one */
    assert_float_equal(m[0], 0.01f, 1e-7);
    assert_float_equal(v[1], 0.001f * 0.04f, 1e-9);
    /* step 2 with g2: m = 0.9 m + 0.1 g2, v = 0.999 v + 0.001 g2^2, m^ = m / 0.19, v^ = v / 0.001999 */
    float g2[3] = {0.3f, 0.0f, -0.1f};
    float p_before[3] = {params[0], params[1], params[2]};
    sf_adamw_step(&o, params, g2, 0.02f);
    for (int i = 0; i < 3; i++) {
        double mm = 0.9 * (0.1 * g1[i]) + 0.1 * g2[i];
        double vv = 0.999 * (0.001 * g1[i] * g1[i]) + 0.001 * g2[i] * g2[i];
        double mhat = mm / (1 - 0.9 * 0.9), vhat = vv / (1 - 0.999 * 0.999);
        double p = p_before[i] * (decay[i] ? 1 - 0.02 * 0.1 : 1.0) - 0.02 * mhat / (sqrt(vhat) + 1e-8);
        assert_float_equal(params[i], p, 1e-6);
    }
    assert_int_equal(o.t, 2);
}

/* Sets o up as an optimizer of n parameters over the caller's moments and decay mask (defaults, 10 steps). */
static void bare_adamw(sf_adamw *o, size_t n, float *m, float *v, unsigned char *decay) {
    memset(o, 0, sizeof *o);
    o->cfg = sf_adamw_defaults(10);
    o->n = n;
    o->m = m;
    o->v = v;
    o->decay = decay;
}

/* AdamW shared by threads gives one thread's bits: 50,000 parameters (several spans, a ragged last one),
 * two steps, 1 against 3 threads; a step at another learning rate gives other bits, so the comparison can
 * tell. */
static void test_adamw_threads(void **state) {
    (void)state;
    enum { N = 50000 };
    float *p[3], *m[3], *v[3], *g = malloc(N * sizeof(float));
    unsigned char *decay = malloc(N);
    sf_adamw o[3];
    sf_rng r;
    sf_rng_seed(&r, 3);
    for (int i = 0; i < N; i++) {
        g[i] = sf_rng_normal(&r);
        decay[i] = (unsigned char)(i % 3 != 0);
    }
    for (int k = 0; k < 3; k++) {
        p[k] = malloc(N * sizeof(float));
        m[k] = calloc(N, sizeof(float));
        v[k] = calloc(N, sizeof(float));
        assert_true(p[k] && m[k] && v[k]);
        for (int i = 0; i < N; i++) p[k][i] = 0.001f * (float)(i % 997) - 0.5f;
        bare_adamw(&o[k], N, m[k], v[k], decay);
    }
    for (int step = 0; step < 2; step++) {
        sf_adamw_step(&o[0], p[0], g, 0.01f);
        sf_adamw_step_threads(&o[1], p[1], g, 0.01f, 3);
        sf_adamw_step_threads(&o[2], p[2], g, 0.0100001f, 3);
    }
    assert_memory_equal(p[0], p[1], N * sizeof(float));
    assert_memory_equal(m[0], m[1], N * sizeof(float));
    assert_memory_equal(v[0], v[1], N * sizeof(float));
    assert_int_equal(o[1].t, 2);
    assert_true(memcmp(p[0], p[2], N * sizeof(float)) != 0);
    for (int k = 0; k < 3; k++) {
        free(p[k]);
        free(m[k]);
        free(v[k]);
    }
    free(g);
    free(decay);
}

/* Which tensors get weight decay: linear matrices yes; embeddings, biases and LayerNorms no. */
static void test_decay_mask(void **state) {
    (void)state;
    assert_true(sf_adamw_decays("enc.0.self.wqkv", 2));
    assert_true(sf_adamw_decays("dec.1.ffn.w2", 2));
    assert_true(sf_adamw_decays("lm_head", 2));
    assert_false(sf_adamw_decays("tok_emb", 2));
    assert_false(sf_adamw_decays("pos_emb", 2));
    assert_false(sf_adamw_decays("dec.0.ffn.b1", 1));
    assert_false(sf_adamw_decays("dec.0.ln_ffn.w", 1));
}

/* Warmup is linear from lr/warmup, the cosine starts at lr and ends at lr * min_lr_frac. */
static void test_schedule(void **state) {
    (void)state;
    sf_adamw_cfg c = sf_adamw_defaults(111);
    c.lr = 1.0f;
    c.warmup = 10;
    c.min_lr_frac = 0.1f;
    assert_float_equal(sf_lr_at(&c, 0), 0.1f, 1e-7);
    assert_float_equal(sf_lr_at(&c, 4), 0.5f, 1e-7);
    assert_float_equal(sf_lr_at(&c, 9), 1.0f, 1e-7);
    assert_float_equal(sf_lr_at(&c, 10), 1.0f, 1e-7);
    assert_float_equal(sf_lr_at(&c, 60), 0.55f, 1e-6);  /* half way down the cosine */
    assert_float_equal(sf_lr_at(&c, 35), 0.1f + 0.45f * (1.0f + cosf(3.14159265f * 0.25f)), 1e-6);
    assert_float_equal(sf_lr_at(&c, 110), 0.1f, 1e-7);  /* the last step */
    assert_float_equal(sf_lr_at(&c, 500), 0.1f, 1e-7);  /* held after the end */
    for (long s = 11; s < 111; s++) assert_true(sf_lr_at(&c, s) <= sf_lr_at(&c, s - 1));
}

/* Clipping scales to the limit and reports the norm before clipping; below the limit nothing changes. */
static void test_clip(void **state) {
    (void)state;
    float g[2] = {3.0f, 4.0f};
    assert_float_equal(sf_grad_clip(g, 2, 1.0f), 5.0, 1e-9);
    assert_float_equal(g[0], 0.6f, 1e-6);
    assert_float_equal(g[1], 0.8f, 1e-6);
    float h[2] = {0.3f, 0.4f};
    assert_float_equal(sf_grad_clip(h, 2, 1.0f), 0.5, 1e-7);
    assert_true(h[0] == 0.3f && h[1] == 0.4f);
}

/* The trainer's fused pass (the clipping factor applied span by span inside the AdamW step, 3 threads)
 * equals sf_grad_clip then sf_adamw_step bit for bit: the parameters, both moments and the clipped
 * gradient left behind; with a limit above the norm the gradient is left as it was. */
static void test_adamw_scaled(void **state) {
    (void)state;
    enum { N = 40000 };
    float *p[2], *m[2], *v[2], *g[2];
    unsigned char *decay = malloc(N);
    sf_adamw o[2];
    sf_rng r;
    sf_rng_seed(&r, 5);
    for (int k = 0; k < 2; k++) {
        p[k] = malloc(N * sizeof(float));
        m[k] = calloc(N, sizeof(float));
        v[k] = calloc(N, sizeof(float));
        g[k] = malloc(N * sizeof(float));
        assert_true(p[k] && m[k] && v[k] && g[k]);
        bare_adamw(&o[k], N, m[k], v[k], decay);
    }
    for (int i = 0; i < N; i++) {
        g[0][i] = g[1][i] = sf_rng_normal(&r);
        p[0][i] = p[1][i] = 0.001f * (float)(i % 991) - 0.5f;
        decay[i] = (unsigned char)(i % 4 != 0);
    }
    for (int step = 0; step < 3; step++) {
        float limit = step == 2 ? 1e9f : 1.0f; /* the norm is about 200: clipped twice, then not */
        double n0 = sf_grad_clip(g[0], N, limit);
        sf_adamw_step(&o[0], p[0], g[0], 0.01f);
        double n1 = sf_grad_norm(g[1], N);
        float scale = sf_grad_clip_scale(n1, limit);
        assert_true(n0 == n1);
        assert_true(step == 2 ? scale == 1.0f : scale < 0.01f);
        sf_adamw_step_scaled(&o[1], p[1], g[1], scale, 0.01f, 3);
        assert_memory_equal(g[0], g[1], N * sizeof(float));
        assert_memory_equal(p[0], p[1], N * sizeof(float));
        assert_memory_equal(m[0], m[1], N * sizeof(float));
        assert_memory_equal(v[0], v[1], N * sizeof(float));
        for (int i = 0; i < N; i++) g[0][i] = g[1][i] = sf_rng_normal(&r) * 40.0f;
    }
    for (int k = 0; k < 2; k++) {
        free(p[k]);
        free(m[k]);
        free(v[k]);
        free(g[k]);
    }
    free(decay);
}

/* ---- training --------------------------------------------------------------------------------- */

/* Builds a small model for task t (d_model 32, 2 heads, d_ff 64, one layer per stack), seeded. */
static void small_model(sf_model *m, const sf_task *t, unsigned long long seed) {
    sf_config c = t->cfg;
    c.d_model = 32;
    c.n_heads = 2;
    c.d_ff = 64;
    if (c.family == SF_FAMILY_ENCDEC) c.n_enc_layers = 1;
    c.n_dec_layers = c.family == SF_FAMILY_ENCDEC ? 1 : 2;
    assert_true(sf_model_build(m, &c).ok);
    assert_true(sf_tokenizer_build(&m->tok, t->alphabet, strlen(t->alphabet)).ok);
    sf_model_init_random(m, seed);
}

/* Trains a fresh small model of task `name` for `steps` steps on `threads` threads; returns the
 * parameters (malloc'd) and, if losses is not NULL, each step's loss. */
static float *train_run(const char *name, int steps, int threads, int batch, double *losses) {
    sf_task t;
    assert_true(sf_task_open(&t, name, NULL).ok);
    sf_model m;
    small_model(&m, &t, 42);
    sf_adamw_cfg oc = sf_adamw_defaults(steps);
    oc.warmup = 5;
    oc.lr = 3e-3f;
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &oc, threads).ok);
    sf_example *ex = malloc((size_t)batch * sizeof *ex);
    for (int s = 0; s < steps; s++) {
        sf_step_stats st;
        sf_task_batch(&t, 7, s, ex, batch);
        sf_err e = sf_trainer_step(&tr, ex, batch, &st);
        assert_true(e.ok);
        if (losses) losses[s] = st.loss;
    }
    float *p = malloc(m.n_params * sizeof *p);
    memcpy(p, m.params, m.n_params * sizeof *p);
    free(ex);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    sf_task_close(&t);
    return p;
}

/* Returns the parameter count of the small model of a task. */
static size_t small_params(const char *name) {
    sf_task t;
    assert_true(sf_task_open(&t, name, NULL).ok);
    sf_model m;
    small_model(&m, &t, 1);
    size_t n = m.n_params;
    sf_model_free(&m);
    sf_task_close(&t);
    return n;
}

/* Trains a fresh small model of task `name` for `steps` steps of batch[s] examples on `threads` threads and
 * returns the parameters (malloc'd); with `poison`, every chunk buffer and the gradient are filled with NaN
 * before each step, as if they held anything at all; with `hold`, the trainer's test hook holds each step's
 * last chunk back until the other threads have begun summing every span of the gradient (checked). */
static float *train_run_batches_hold(const char *name, const int *batch, int steps, int threads, int poison,
                                     int hold) {
    sf_task t;
    assert_true(sf_task_open(&t, name, NULL).ok);
    sf_model m;
    small_model(&m, &t, 43);
    sf_adamw_cfg oc = sf_adamw_defaults(steps);
    oc.warmup = 2;
    oc.lr = 3e-3f;
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &oc, threads).ok);
    tr.hold_last_chunk = hold;
    for (int s = 0; s < steps; s++) {
        sf_example *ex = malloc((size_t)batch[s] * sizeof *ex);
        assert_non_null(ex);
        sf_task_batch(&t, 11, s, ex, batch[s]);
        if (poison) {
            for (size_t i = 0; i < (size_t)SF_TRAIN_CHUNKS * m.n_params; i++) tr.chunk_grad[i] = NAN;
            for (size_t i = 0; i < m.n_params; i++) tr.grad[i] = NAN;
        }
        sf_step_stats st;
        sf_err e = sf_trainer_step(&tr, ex, batch[s], &st);
        if (!e.ok) fail_msg("%s, step %d (batch %d%s): %s", name, s, batch[s], poison ? ", poisoned buffers" : "", e.msg);
        if (hold && threads > 1 && batch[s] > 1) /* every span was begun before the last chunk was complete */
            assert_int_equal(tr.early_spans, (m.n_params + SF_TRAIN_SUM_SPAN - 1) / SF_TRAIN_SUM_SPAN);
        if (threads == 1) assert_int_equal(tr.early_spans, 0);
        free(ex);
    }
    float *p = malloc(m.n_params * sizeof *p);
    memcpy(p, m.params, m.n_params * sizeof *p);
    sf_trainer_free(&tr);
    sf_model_free(&m);
    sf_task_close(&t);
    return p;
}

/* The same without the hook. */
static float *train_run_batches(const char *name, const int *batch, int steps, int threads, int poison) {
    return train_run_batches_hold(name, batch, steps, threads, poison, 0);
}

/* Each step writes its chunk buffers before it reads them (the first packed pass of a chunk writes its
 * buffer whole, nothing zeroes them between steps): buffers full of NaN before every step give the same
 * bits as the calloc'd ones, with batches that change size (fewer examples than chunks, and chunks of two
 * packs: 200 reversals are 25 per chunk, more than a pack's 256 rows), on 1 and 2 threads, both families. */
static void test_stale_chunk_buffers(void **state) {
    (void)state;
    static const int batch[4] = {200, 12, 5, 24};
    const char *names[] = {"reverse", "sort"};
    for (int k = 0; k < 2; k++) {
        size_t n = small_params(names[k]);
        float *a = train_run_batches(names[k], batch, 4, 2, 0);
        float *b = train_run_batches(names[k], batch, 4, 2, 1);
        float *c = train_run_batches(names[k], batch, 4, 1, 1);
        assert_memory_equal(a, b, n * sizeof *a);
        assert_memory_equal(a, c, n * sizeof *a);
        free(a);
        free(b);
        free(c);
    }
}

/* The sums a thread makes while the last chunk still runs (the complete chunks, in chunk order, into spans
 * of the gradient, finished after the last chunk) give one thread's bits: with the test hook every span
 * takes that path on 2 and 3 threads (on 3, spans begun with different numbers of chunks), over poisoned
 * buffers, with batches of one chunk (nothing to sum early), fewer chunks than threads, a last chunk of
 * two examples after seven of one (9), chunks of two packs (200); without the hook on 3 threads too. A
 * span summed out of order, a chunk added twice or left out would change the bits. */
static void test_early_sums(void **state) {
    (void)state;
    static const int batch[7] = {9, 200, 12, 1, 2, 5, 24};
    const char *names[] = {"reverse", "sort"};
    for (int k = 0; k < 2; k++) {
        size_t n = small_params(names[k]);
        assert_true(n > 2 * SF_TRAIN_SUM_SPAN);
        float *ref = train_run_batches(names[k], batch, 7, 1, 0);
        int runs[3][3] = {{2, 1, 1}, {3, 1, 1}, {3, 1, 0}}; /* threads, poison, hold */
        for (int r = 0; r < 3; r++) {
            float *p = train_run_batches_hold(names[k], batch, 7, runs[r][0], runs[r][1], runs[r][2]);
            assert_memory_equal(ref, p, n * sizeof *p);
            free(p);
        }
        free(ref);
    }
}

/* The same run twice gives the same bits; so do 1 and 2 threads (both families). */
static void test_determinism(void **state) {
    (void)state;
    const char *names[] = {"reverse", "sort"};
    for (int k = 0; k < 2; k++) {
        size_t n = small_params(names[k]);
        float *a = train_run(names[k], 6, 2, 12, NULL);
        float *b = train_run(names[k], 6, 2, 12, NULL);
        float *c = train_run(names[k], 6, 1, 12, NULL);
        assert_memory_equal(a, b, n * sizeof *a);
        assert_memory_equal(a, c, n * sizeof *a);
        free(a);
        free(b);
        free(c);
    }
}

/* When OpenMP runs the trainer's regions on one thread although two were asked for (OMP_DYNAMIC, a thread
 * limit, a nested region), the chunk sum still covers every parameter: the same bits as one thread. */
static void test_fewer_threads_than_asked(void **state) {
    (void)state;
#ifdef _OPENMP
    size_t n = small_params("reverse");
    float *a = train_run("reverse", 4, 1, 12, NULL);
    int levels = omp_get_max_active_levels();
    omp_set_max_active_levels(0); /* every parallel region gets a team of one */
    float *b = train_run("reverse", 4, 2, 12, NULL);
    omp_set_max_active_levels(levels);
    assert_true(n > 2 * 4096); /* more than one span of the chunk sum, so the threads would share them */
    assert_memory_equal(a, b, n * sizeof *a);
    free(a);
    free(b);
#else
    skip();
#endif
}

/* The norm a step reports is sf_grad_norm of the summed gradient bit for bit, on 1, 2 and 3 threads
 * (the trainer chains it beside the chunk sum): with clipping off, tr->grad is that gradient. */
static void test_step_norm(void **state) {
    (void)state;
    sf_task t;
    assert_true(sf_task_open(&t, "reverse", NULL).ok);
    sf_example ex[12];
    for (int threads = 1; threads <= 3; threads++) {
        sf_model m;
        small_model(&m, &t, 42);
        sf_adamw_cfg oc = sf_adamw_defaults(4);
        oc.clip = 0.0f;
        sf_trainer tr;
        assert_true(sf_trainer_init(&tr, &m, &oc, threads).ok);
        for (int s = 0; s < 2; s++) {
            sf_step_stats st;
            sf_task_batch(&t, 7, s, ex, 12);
            assert_true(sf_trainer_step(&tr, ex, 12, &st).ok);
            assert_true(st.grad_norm > 0.0 && st.grad_norm == sf_grad_norm(tr.grad, m.n_params));
        }
        sf_trainer_free(&tr);
        sf_model_free(&m);
    }
    sf_task_close(&t);
}

/* A short run on reverse lowers the loss clearly (mean of the last 10 steps vs the first 10). */
static void test_short_run_learns(void **state) {
    (void)state;
    double losses[150];
    free(train_run("reverse", 150, 0, 16, losses));
    double first = 0, last = 0;
    for (int i = 0; i < 10; i++) {
        first += losses[i] / 10;
        last += losses[140 + i] / 10;
    }
    print_message("reverse, small model: mean loss of steps 1-10 %.3f, of steps 141-150 %.3f\n", first, last);
    assert_true(last < 0.8 * first);
    assert_true(last < 3.0); /* below the uniform guess over 27 outputs (ln 27 = 3.30) */
}

/* Stopping after 3 steps, saving the optimizer state and resuming gives the same bits as 6 steps. */
static void test_resume_state(void **state) {
    (void)state;
    const char *name = "reverse";
    size_t n = small_params(name);
    float *straight = train_run(name, 6, 2, 8, NULL);

    sf_task t;
    assert_true(sf_task_open(&t, name, NULL).ok);
    sf_model m;
    small_model(&m, &t, 42);
    sf_adamw_cfg oc = sf_adamw_defaults(6);
    oc.warmup = 5;
    oc.lr = 3e-3f;
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &oc, 1).ok);
    sf_example ex[8];
    for (int s = 0; s < 3; s++) {
        sf_task_batch(&t, 7, s, ex, 8);
        assert_true(sf_trainer_step(&tr, ex, 8, NULL).ok);
    }
    const char *ck = tmp_path("resume.sfm"), *st = tmp_path("resume.sfm.opt");
    assert_true(sf_checkpoint_save(&m, ck).ok);
    assert_true(sf_trainer_save_state(&tr, st, name, 7, 8).ok);
    sf_trainer_free(&tr);
    sf_model_free(&m);

    sf_model m2;
    assert_true(sf_checkpoint_load(ck, &m2).ok);
    sf_adamw_cfg other = sf_adamw_defaults(999); /* replaced by the saved schedule */
    assert_true(sf_trainer_init(&tr, &m2, &other, 2).ok);
    uint64_t seed = 0;
    int batch = 0;
    sf_err e = sf_trainer_load_state(&tr, st, name, &seed, &batch);
    assert_true(e.ok);
    assert_int_equal(seed, 7);
    assert_int_equal(batch, 8);
    assert_int_equal(tr.step, 3);
    assert_int_equal(tr.opt.cfg.total, 6);
    for (long s = tr.step; s < 6; s++) {
        sf_task_batch(&t, seed, s, ex, batch);
        assert_true(sf_trainer_step(&tr, ex, batch, NULL).ok);
    }
    assert_memory_equal(m2.params, straight, n * sizeof *straight);

    e = sf_trainer_load_state(&tr, st, "copy", &seed, &batch); /* another task's state is refused */
    assert_false(e.ok);
    assert_non_null(strstr(e.msg, "reverse"));
    sf_trainer_free(&tr);
    sf_model_free(&m2);
    sf_task_close(&t);
    free(straight);
}

/* Greedy decoding stops at <eos> and emits no special tokens but <eos>. */
static void test_greedy(void **state) {
    (void)state;
    sf_task t;
    assert_true(sf_task_open(&t, "copy", NULL).ok);
    sf_model m;
    small_model(&m, &t, 3);
    sf_seq s;
    assert_true(sf_seq_build(&s, &m.cfg).ok);
    sf_example ex;
    sf_task_example(&t, SF_SPLIT_HELDOUT, 1, &ex);
    int out[SF_TASK_MAX_LEN];
    int n = sf_greedy(&m, &s, &ex, out, SF_TASK_MAX_LEN);
    assert_true(n >= 1 && n <= m.cfg.max_len);
    for (int i = 0; i < n; i++) {
        assert_true(out[i] == SF_TOK_EOS || out[i] >= SF_TOK_FIRST_CHAR);
        if (out[i] == SF_TOK_EOS) assert_int_equal(i, n - 1);
    }
    sf_seq_free(&s);
    sf_model_free(&m);
    sf_task_close(&t);
}

/* ---- against PyTorch -------------------------------------------------------------------------- */

/* Reads the next whitespace-separated word of f and checks it is `want`. */
static void expect_word(FILE *f, const char *want) {
    char w[64];
    assert_int_equal(fscanf(f, "%63s", w), 1);
    assert_string_equal(w, want);
}

/* Runs the fixed run described by fixture `name`.losses (weights in `name`.sfm, written by
 * tests/make_train_fixtures.py) and compares each step's loss with PyTorch's. */
static void check_torch_losses(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.losses", SF_FIXTURE_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        print_message("no fixture %s; run tests/make_train_fixtures.py\n", path);
        skip();
    }
    char line[512];
    while (fgets(line, sizeof line, f) && line[0] == '#') {}
    int steps, batch;
    assert_int_equal(sscanf(line, "steps %d batch %d", &steps, &batch), 2);
    sf_adamw_cfg c = sf_adamw_defaults(1);
    expect_word(f, "lr");
    assert_int_equal(fscanf(f, "%f", &c.lr), 1);
    expect_word(f, "min_lr_frac");
    assert_int_equal(fscanf(f, "%f", &c.min_lr_frac), 1);
    expect_word(f, "warmup");
    assert_int_equal(fscanf(f, "%d", &c.warmup), 1);
    expect_word(f, "total");
    assert_int_equal(fscanf(f, "%d", &c.total), 1);
    expect_word(f, "betas");
    assert_int_equal(fscanf(f, "%f %f", &c.beta1, &c.beta2), 2);
    expect_word(f, "eps");
    assert_int_equal(fscanf(f, "%f", &c.eps), 1);
    expect_word(f, "weight_decay");
    assert_int_equal(fscanf(f, "%f", &c.weight_decay), 1);
    expect_word(f, "clip");
    assert_int_equal(fscanf(f, "%f", &c.clip), 1);

    sf_model m;
    snprintf(path, sizeof path, "%s/%s.sfm", SF_FIXTURE_DIR, name);
    sf_err e = sf_checkpoint_load(path, &m);
    assert_true(e.ok);
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &c, 2).ok);
    sf_example *ex = calloc((size_t)batch, sizeof *ex);
    double worst = 0.0;
    for (int s = 0; s < steps; s++) {
        for (int b = 0; b < batch; b++) {
            sf_example *x = &ex[b];
            memset(x, 0, sizeof *x);
            expect_word(f, "ex");
            assert_int_equal(fscanf(f, "%d", &x->n_src), 1);
            for (int i = 0; i < x->n_src; i++) assert_int_equal(fscanf(f, "%d", &x->src[i]), 1);
            assert_int_equal(fscanf(f, "%d", &x->n), 1);
            assert_true(x->n >= 1 && x->n <= SF_TASK_MAX_LEN);
            for (int i = 0; i < x->n; i++) assert_int_equal(fscanf(f, "%d", &x->in[i]), 1);
            for (int i = 0; i < x->n; i++) assert_int_equal(fscanf(f, "%d", &x->tgt[i]), 1);
        }
        double want;
        int k;
        expect_word(f, "loss");
        assert_int_equal(fscanf(f, "%d %lf", &k, &want), 2);
        assert_int_equal(k, s);
        sf_step_stats st;
        assert_true(sf_trainer_step(&tr, ex, batch, &st).ok);
        double d = fabs(st.loss - want);
        if (d > worst) worst = d;
        print_message("%s step %d: loss %.6f, torch %.6f, |diff| %.2g\n", name, s, st.loss, want, d);
        assert_true(d < 1e-5 * (1.0 + fabs(want)));
    }
    print_message("%s: worst loss difference over %d steps %.2g\n", name, steps, worst);
    fclose(f);
    free(ex);
    sf_trainer_free(&tr);
    sf_model_free(&m);
}

/* The first 10 losses of fixed runs (one encoder-decoder, one decoder-only) equal PyTorch's. */
static void test_torch_losses(void **state) {
    (void)state;
    check_torch_losses("train_encdec");
    check_torch_losses("train_gpt");
}

/* ---- the command line ------------------------------------------------------------------------- */

/* Runs the stepformer binary with args (NULL-terminated), output to a file; returns the exit status
 * and leaves the combined output in out (cap bytes). */
static int run_cli(char *out, size_t cap, ...) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)SF_BINARY;
    va_list ap;
    va_start(ap, cap);
    for (char *a; argc < 31 && (a = va_arg(ap, char *)) != NULL;) argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char log[512];
    snprintf(log, sizeof log, "%s/cli.log", tmpdir);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *o = freopen(log, "w", stdout);
        if (!o || dup2(fileno(stdout), 2) < 0) _exit(127);
        execv(SF_BINARY, argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = '\0';
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Returns the number of entries in the scratch folder whose names start with prefix. */
static int count_files(const char *prefix) {
    char cmd[600], buf[64];
    snprintf(cmd, sizeof cmd, "ls -1 '%s' | grep -c '^%s' || true", tmpdir, prefix);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p && fgets(buf, sizeof buf, p)) n = atoi(buf);
    if (p) pclose(p);
    return n;
}

/* Every bad input: a clear message, a non-zero exit, and nothing written at the output path. */
static void test_cli_bad_input(void **state) {
    (void)state;
    char out[8192];
    const char *o = tmp_path("bad.sfm");
    int rc = run_cli(out, sizeof out, "train", "--task", "nonsense", "--out", o, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "unknown task 'nonsense'"));
    rc = run_cli(out, sizeof out, "train", "--task", "words", "--words", tmp_path("missing.txt"), "--out", o, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "word list"));
    assert_non_null(strstr(out, "missing.txt"));
    FILE *f = fopen(tmp_path("empty-words"), "w");
    fclose(f);
    rc = run_cli(out, sizeof out, "train", "--task", "words", "--words", tmp_path("empty-words"), "--out", o, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "no usable words"));
    rc = run_cli(out, sizeof out, "train", "--task", "reverse", "--steps", "0", "--out", o, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "--steps '0'"));
    rc = run_cli(out, sizeof out, "train", "--task", "reverse", "--steps", "2", "--out", "/nonexistent-dir/x.sfm", NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "/nonexistent-dir/x.sfm"));
    assert_false(exists("/nonexistent-dir"));
    rc = run_cli(out, sizeof out, "train", "--task", "reverse", "--steps", "2", "--out", tmpdir, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "is a folder"));
    /* a resume file of the other family */
    const char *gpt = tmp_path("gpt.sfm");
    rc = run_cli(out, sizeof out, "init", "--family", "gpt", "--out", gpt, NULL);
    assert_int_equal(rc, 0);
    rc = run_cli(out, sizeof out, "train", "--task", "reverse", "--steps", "2", "--resume", gpt, "--out", o, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "is a gpt model; task reverse trains encdec models"));
    /* a resume file that is not a checkpoint at all */
    rc = run_cli(out, sizeof out, "train", "--task", "reverse", "--steps", "2", "--resume", tmp_path("empty-words"),
                 "--out", o, NULL);
    assert_int_not_equal(rc, 0);
    assert_false(exists(o));
    assert_int_equal(count_files("bad.sfm"), 0); /* no temporary or probe file left either */
    /* eval: a model of the wrong task */
    rc = run_cli(out, sizeof out, "eval", "--model", gpt, "--task", "copy", NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "task copy trains encdec models"));
}

/* A real command-line run: trains, saves model and optimizer state, evaluates with the accuracy as the
 * last line, resumes to a later step, and gives the same file for the same command. */
static void test_cli_train_eval(void **state) {
    (void)state;
    char out[16384];
    const char *a = tmp_path("a.sfm"), *b = tmp_path("b.sfm");
    int rc = run_cli(out, sizeof out, "train", "--task", "sort", "--steps", "4", "--batch", "8", "--seed", "3",
                     "--warmup", "10", "--out", a, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "step 4/4"));
    assert_true(exists(a));
    assert_true(exists(tmp_path("a.sfm.opt")));
    rc = run_cli(out, sizeof out, "train", "--task", "sort", "--steps", "4", "--batch", "8", "--seed", "3",
                 "--warmup", "10", "--threads", "1", "--out", b, NULL);
    assert_int_equal(rc, 0);
    unsigned char *da, *db;
    size_t la, lb;
    assert_true(sf_read_file(a, SF_MAX_FILE_BYTES, &da, &la).ok);
    assert_true(sf_read_file(b, SF_MAX_FILE_BYTES, &db, &lb).ok);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la); /* same command (and 1 vs 2 threads): the same checkpoint */
    free(da);
    free(db);

    rc = run_cli(out, sizeof out, "eval", "--model", a, "--task", "sort", "--n", "20", NULL);
    assert_int_equal(rc, 0);
    char *last = strstr(out, "accuracy: ");
    assert_non_null(last);
    while (strstr(last + 1, "\naccuracy: ")) last = strstr(last + 1, "\naccuracy: ") + 1;
    double acc = -1;
    assert_int_equal(sscanf(last, "accuracy: %lf", &acc), 1);
    assert_true(acc >= 0.0 && acc <= 1.0);
    assert_string_equal(strchr(last, '\n'), "\n"); /* it is the last line */

    /* resume a to 6 steps, and compare with a straight 6-step run (warmup 10 > 6 steps: the learning
     * rates do not depend on the total, which the resumed run changes from 4 to 6) */
    rc = run_cli(out, sizeof out, "train", "--task", "sort", "--steps", "6", "--resume", a, "--out", a, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "(resumed)"));
    rc = run_cli(out, sizeof out, "train", "--task", "sort", "--steps", "6", "--resume", a, "--out", a, NULL);
    assert_int_not_equal(rc, 0); /* nothing left to do */
    assert_non_null(strstr(out, "already trained 6 of 6 steps"));
    const char *c = tmp_path("c.sfm");
    rc = run_cli(out, sizeof out, "train", "--task", "sort", "--steps", "6", "--batch", "8", "--seed", "3",
                 "--warmup", "10", "--out", c, NULL);
    assert_int_equal(rc, 0);
    assert_true(sf_read_file(a, SF_MAX_FILE_BYTES, &da, &la).ok);
    assert_true(sf_read_file(c, SF_MAX_FILE_BYTES, &db, &lb).ok);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la); /* 4 + 2 resumed steps = 6 straight steps, bit for bit */
    free(da);
    free(db);
}

/* Ctrl-C during training saves a valid checkpoint and its optimizer state and exits with 130. */
static void test_cli_interrupt(void **state) {
    (void)state;
    const char *o = tmp_path("int.sfm"), *log = tmp_path("int.log");
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0) _exit(127);
        execl(SF_BINARY, SF_BINARY, "train", "--task", "copy", "--steps", "100000", "--out", o, (char *)NULL);
        _exit(127);
    }
    /* wait until training has begun (the header line is printed before the first step) */
    for (int i = 0; i < 200; i++) {
        struct stat st;
        if (stat(log, &st) == 0 && st.st_size > 0) break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 500000000};
    nanosleep(&ts, NULL);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    sf_model m;
    sf_err e = sf_checkpoint_load(o, &m);
    assert_true(e.ok);
    sf_adamw_cfg oc = sf_adamw_defaults(1);
    sf_trainer tr;
    assert_true(sf_trainer_init(&tr, &m, &oc, 1).ok);
    uint64_t seed;
    int batch;
    assert_true(sf_trainer_load_state(&tr, tmp_path("int.sfm.opt"), "copy", &seed, &batch).ok);
    assert_true(tr.step >= 1 && tr.step < 100000);
    assert_int_equal(tr.opt.cfg.total, 100000);
    sf_trainer_free(&tr);
    sf_model_free(&m);
}

/* Runs every test in a fresh scratch folder. */
int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_generators),
        cmocka_unit_test(test_task_contents),
        cmocka_unit_test(test_heldout_disjoint),
        cmocka_unit_test(test_words_list),
        cmocka_unit_test(test_adamw_hand),
        cmocka_unit_test(test_adamw_threads),
        cmocka_unit_test(test_decay_mask),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_adamw_scaled),
        cmocka_unit_test(test_step_norm),
        cmocka_unit_test(test_fewer_threads_than_asked),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_stale_chunk_buffers),
        cmocka_unit_test(test_early_sums),
        cmocka_unit_test(test_short_run_learns),
        cmocka_unit_test(test_resume_state),
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_torch_losses),
        cmocka_unit_test(test_cli_bad_input),
        cmocka_unit_test(test_cli_train_eval),
        cmocka_unit_test(test_cli_interrupt),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
