/* test_grad.c - the backward passes: every op and the whole model against finite differences, and the
 * whole model's gradient against PyTorch (tests/make_grad_fixtures.py).
 *
 * Finite differences are double-sided, f'(x) ~ (f(x + eps) - f(x - eps)) / 2eps. The model runs in
 * float32, so a numerical derivative carries rounding noise of roughly (float noise of f) / eps; the
 * comparison therefore uses a relative tolerance with an absolute floor:
 *     |analytic - numeric| <= REL * max(|analytic|, |numeric|) + ABS.
 * Every check also requires the gradient to be nonzero somewhere, so a backward pass that does nothing
 * cannot pass, and one test feeds a deliberately wrong gradient to the checker to prove it can fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/rng.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "train/backward.h"

#include "expect.h"

#ifndef SF_FIXTURE_DIR
#define SF_FIXTURE_DIR "tests/fixtures"
#endif

/* ---- the finite-difference checker ---------------------------------------------------------------- */

typedef double (*objective)(void *ctx); /* a scalar function of some float buffer the context owns */

typedef struct {
    double rel, abs;   /* tolerance: |a - n| <= rel * max(|a|, |n|) + abs */
    double eps;        /* step of the central difference */
    /* optional: returns 1 if the evaluations since the last call crossed a kink of f (a ReLU changed
     * sides), where a central difference means nothing; such coordinates are skipped and counted */
    int (*crossed)(void *ctx);
    int checked, failed, skipped;
    double worst;      /* largest |a - n| / (rel * max(|a|,|n|) + abs): 1 is the limit */
    double max_abs_grad;
} fd_stats;

/* Compares analytic[i] with the central difference of f at x[i] for one coordinate; returns 1 if they
 * agree. x is restored afterwards. */
static int fd_one(fd_stats *st, const char *what, float *x, size_t i, const float *analytic, objective f, void *ctx,
                  int verbose) {
    float x0 = x[i], xp = x0 + (float)st->eps, xm = x0 - (float)st->eps;
    x[i] = xp;
    double up = f(ctx);
    x[i] = xm;
    double down = f(ctx);
    double h = (double)xp - (double)xm; /* the step float32 actually took */
    x[i] = x0;
    if (st->crossed && st->crossed(ctx)) {
        st->skipped++;
        return 1;
    }
    double num = (up - down) / h, a = analytic[i];
    double lim = st->rel * fmax(fabs(a), fabs(num)) + st->abs;
    double ratio = fabs(a - num) / lim;
    st->checked++;
    if (fabs(a) > st->max_abs_grad) st->max_abs_grad = fabs(a);
    if (!(ratio <= 1.0)) { /* also catches NaN */
        if (verbose && st->failed < 5)
            print_error("%s[%zu]: analytic %.6g, numeric %.6g (|diff| %.3g, limit %.3g)\n", what, i, a, num,
                        fabs(a - num), lim);
        st->failed++;
        if (isnan(ratio)) ratio = INFINITY;
    }
    if (ratio > st->worst) st->worst = ratio;
    return ratio <= 1.0;
}

/* Checks `samples` random coordinates of x(n) (all of them when n <= samples) plus the coordinate with
 * the largest analytic gradient. */
static void fd_check(fd_stats *st, const char *what, float *x, size_t n, const float *analytic, objective f,
                     void *ctx, int samples, sf_rng *r, int verbose) {
    size_t big = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(analytic[i]) > fabsf(analytic[big])) big = i;
    fd_one(st, what, x, big, analytic, f, ctx, verbose);
    if (n <= (size_t)samples) {
        for (size_t i = 0; i < n; i++)
            if (i != big) fd_one(st, what, x, i, analytic, f, ctx, verbose);
    } else {
        for (int s = 0; s < samples; s++) fd_one(st, what, x, (size_t)sf_rng_int(r, (int)n), analytic, f, ctx, verbose);
    }
}

static void fill_normal(float *x, size_t n, float sd, sf_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = sd * sf_rng_normal(r);
}

/* Returns sum_i w[i] * y[i] in double: the scalar that turns an op's output into a loss, so that the
 * gradient reaching the output is exactly w. */
static double weighted_sum(const float *y, const float *w, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)w[i] * y[i];
    return s;
}

/* The gradient buffers start at this value, and the backward passes must add to them (+=). */
#define GRAD_START 0.25f

/* Subtracts GRAD_START from every entry: what the backward pass added. */
static void added(float *g, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] -= GRAD_START;
}

static void fill(float *x, size_t n, float v) {
    for (size_t i = 0; i < n; i++) x[i] = v;
}

/* Asserts that the checks passed and that the gradient was not zero everywhere. */
static void assert_fd_ok(const fd_stats *st, const char *what) {
    printf("%-28s %4d coordinates, worst %.3f of the tolerance, max |grad| %.3g\n", what, st->checked, st->worst,
           st->max_abs_grad);
    assert_true(st->checked > 0);
    assert_int_equal(st->failed, 0);
    assert_true(st->max_abs_grad > 1e-3);
}

/* ---- ops -------------------------------------------------------------------------------------------- */

#define OP_REL 1e-2
#define OP_ABS 5e-4
#define OP_EPS 1e-3

enum { N_ = 5, IC_ = 7, OC_ = 6, LNC_ = 9, SMN_ = 8, ACTN_ = 40, V_ = 11 };

typedef struct {
    float in[N_ * IC_], w[OC_ * IC_], b[OC_], out[N_ * OC_], dout[N_ * OC_];
} matmul_ctx;

static double matmul_f(void *p) {
    matmul_ctx *c = p;
    sf_matmul_forward(c->out, c->in, c->w, c->b, N_, IC_, OC_);
    return weighted_sum(c->out, c->dout, N_ * OC_);
}

static void test_matmul_backward(void **state) {
    (void)state;
    sf_rng r;
    sf_rng_seed(&r, 11);
    matmul_ctx c;
    fill_normal(c.in, N_ * IC_, 1, &r);
    fill_normal(c.w, OC_ * IC_, 1, &r);
    fill_normal(c.b, OC_, 1, &r);
    fill_normal(c.dout, N_ * OC_, 1, &r);
    float din[N_ * IC_], dw[OC_ * IC_], db[OC_];
    fill(din, N_ * IC_, GRAD_START);
    fill(dw, OC_ * IC_, GRAD_START);
    fill(db, OC_, GRAD_START);
    sf_matmul_backward(din, dw, db, c.dout, c.in, c.w, N_, IC_, OC_);
    added(din, N_ * IC_);
    added(dw, OC_ * IC_);
    added(db, OC_);
    fd_stats st = {OP_REL, OP_ABS, OP_EPS, NULL, 0, 0, 0, 0, 0};
    fd_check(&st, "matmul dinp", c.in, N_ * IC_, din, matmul_f, &c, 100, &r, 1);
    fd_check(&st, "matmul dweight", c.w, OC_ * IC_, dw, matmul_f, &c, 100, &r, 1);
    fd_check(&st, "matmul dbias", c.b, OC_, db, matmul_f, &c, 100, &r, 1);
    assert_fd_ok(&st, "matmul");
    /* NULL outputs are skipped */
    sf_matmul_backward(NULL, NULL, db, c.dout, c.in, c.w, N_, IC_, OC_);
}

typedef struct {
    float in[N_ * LNC_], w[LNC_], b[LNC_], out[N_ * LNC_], dout[N_ * LNC_], mean[N_], rstd[N_];
} ln_ctx;

static double ln_f(void *p) {
    ln_ctx *c = p;
    sf_layernorm_forward(c->out, c->mean, c->rstd, c->in, c->w, c->b, N_, LNC_, 1e-5f);
    return weighted_sum(c->out, c->dout, N_ * LNC_);
}

static void test_layernorm_backward(void **state) {
    (void)state;
    sf_rng r;
    sf_rng_seed(&r, 12);
    ln_ctx c;
    fill_normal(c.in, N_ * LNC_, 1, &r);
    for (int i = 0; i < N_ * LNC_; i++) c.in[i] += (float)(i % LNC_) * 0.3f; /* rows with a nonzero mean */
    for (int i = 0; i < LNC_; i++) c.w[i] = 1.0f + 0.3f * sf_rng_normal(&r);
    fill_normal(c.b, LNC_, 1, &r);
    fill_normal(c.dout, N_ * LNC_, 1, &r);
    ln_f(&c); /* fills mean and rstd */
    float din[N_ * LNC_], dw[LNC_], db[LNC_];
    fill(din, N_ * LNC_, GRAD_START);
    fill(dw, LNC_, GRAD_START);
    fill(db, LNC_, GRAD_START);
    sf_layernorm_backward(din, dw, db, c.dout, c.in, c.w, c.mean, c.rstd, N_, LNC_);
    added(din, N_ * LNC_);
    added(dw, LNC_);
    added(db, LNC_);
    fd_stats st = {OP_REL, OP_ABS, OP_EPS, NULL, 0, 0, 0, 0, 0};
    fd_check(&st, "layernorm dinp", c.in, N_ * LNC_, din, ln_f, &c, 100, &r, 1);
    fd_check(&st, "layernorm dweight", c.w, LNC_, dw, ln_f, &c, 100, &r, 1);
    fd_check(&st, "layernorm dbias", c.b, LNC_, db, ln_f, &c, 100, &r, 1);
    assert_fd_ok(&st, "layernorm");
    /* LayerNorm's output does not change when a constant is added to a row: dinp sums to zero per row */
    for (int n = 0; n < N_; n++) {
        double s = 0;
        for (int i = 0; i < LNC_; i++) s += din[n * LNC_ + i];
        assert_true(fabs(s) < 1e-4);
    }
}

typedef struct {
    float in[SMN_], out[SMN_], dout[SMN_];
} softmax_ctx;

static double softmax_f(void *p) {
    softmax_ctx *c = p;
    sf_softmax_forward(c->out, c->in, SMN_);
    return weighted_sum(c->out, c->dout, SMN_);
}

static void test_softmax_backward(void **state) {
    (void)state;
    sf_rng r;
    sf_rng_seed(&r, 13);
    fd_stats st = {OP_REL, OP_ABS, OP_EPS, NULL, 0, 0, 0, 0, 0};
    for (int rep = 0; rep < 20; rep++) {
        softmax_ctx c;
        fill_normal(c.in, SMN_, 2, &r);
        fill_normal(c.dout, SMN_, 1, &r);
        int masked = rep % 3; /* some rows have masked (-inf) entries, as attention rows do */
        for (int k = 0; k < masked; k++) c.in[sf_rng_int(&r, SMN_)] = -INFINITY;
        softmax_f(&c);
        float din[SMN_];
        fill(din, SMN_, GRAD_START);
        sf_softmax_backward(din, c.dout, c.out, SMN_);
        added(din, SMN_);
        double s = 0;
        for (int i = 0; i < SMN_; i++) {
            s += din[i];
            if (c.in[i] == -INFINITY) assert_true(din[i] == 0.0f); /* masked: exactly no gradient */
            else fd_one(&st, "softmax dinp", c.in, (size_t)i, din, softmax_f, &c, 1);
        }
        assert_true(fabs(s) < 1e-5); /* adding a constant to every score changes nothing */
    }
    assert_fd_ok(&st, "softmax");
    /* a row that is entirely masked has all-zero probabilities and gets no gradient */
    float p[4] = {0, 0, 0, 0}, dp[4] = {1, 2, 3, 4}, d[4] = {0, 0, 0, 0};
    sf_softmax_backward(d, dp, p, 4);
    for (int i = 0; i < 4; i++) assert_true(d[i] == 0.0f);
}

typedef struct {
    float in[ACTN_], out[ACTN_], dout[ACTN_];
    int gelu;
} act_ctx;

static double act_f(void *p) {
    act_ctx *c = p;
    if (c->gelu) sf_gelu_forward(c->out, c->in, ACTN_);
    else sf_relu_forward(c->out, c->in, ACTN_);
    return weighted_sum(c->out, c->dout, ACTN_);
}

static void test_activation_backward(void **state) {
    (void)state;
    sf_rng r;
    sf_rng_seed(&r, 14);
    for (int gelu = 0; gelu <= 1; gelu++) {
        act_ctx c;
        c.gelu = gelu;
        for (int i = 0; i < ACTN_; i++) {
            float x = -4.0f + 8.0f * (float)i / (ACTN_ - 1); /* a sweep over [-4, 4] */
            if (fabsf(x) < 0.01f) x = 0.05f;                 /* stay off ReLU's kink */
            c.in[i] = x;
        }
        fill_normal(c.dout, ACTN_, 1, &r);
        float din[ACTN_];
        fill(din, ACTN_, GRAD_START);
        if (gelu) sf_gelu_backward(din, c.dout, c.in, ACTN_);
        else sf_relu_backward(din, c.dout, c.in, ACTN_);
        added(din, ACTN_);
        fd_stats st = {OP_REL, OP_ABS, OP_EPS, NULL, 0, 0, 0, 0, 0};
        fd_check(&st, gelu ? "gelu dinp" : "relu dinp", c.in, ACTN_, din, act_f, &c, ACTN_, &r, 1);
        assert_fd_ok(&st, gelu ? "gelu" : "relu");
    }
    /* known slopes: relu' = 0 below zero, 1 above; gelu'(0) = 0.5 */
    float x[3] = {-1, 0, 2}, one[3] = {1, 1, 1}, d[3] = {0, 0, 0};
    sf_relu_backward(d, one, x, 3);
    assert_true(d[0] == 0 && d[1] == 0 && d[2] == 1);
    float z = 0, g = 0;
    sf_gelu_backward(&g, one, &z, 1);
    assert_true(fabsf(g - 0.5f) < 1e-6f);
}

typedef struct {
    float logits[V_];
    int target;
} ce_ctx;

static double ce_f(void *p) {
    ce_ctx *c = p;
    /* the loss in double, independently of the op under test */
    double mx = c->logits[0], s = 0;
    for (int i = 1; i < V_; i++) mx = fmax(mx, c->logits[i]);
    for (int i = 0; i < V_; i++) s += exp(c->logits[i] - mx);
    return log(s) + mx - c->logits[c->target];
}

static void test_crossentropy(void **state) {
    (void)state;
    sf_rng r;
    sf_rng_seed(&r, 15);
    fd_stats st = {OP_REL, OP_ABS, OP_EPS, NULL, 0, 0, 0, 0, 0};
    for (int rep = 0; rep < 10; rep++) {
        ce_ctx c;
        fill_normal(c.logits, V_, 3, &r);
        c.target = sf_rng_int(&r, V_);
        /* forward: agrees with the independent double computation */
        double want = ce_f(&c);
        assert_true(fabs(sf_crossentropy_forward(c.logits, c.target, V_) - want) < 1e-5 * (1 + want));
        float probs[V_], dl[V_];
        sf_softmax_forward(probs, c.logits, V_);
        fill(dl, V_, GRAD_START);
        sf_crossentropy_softmax_backward(dl, probs, c.target, 1.0f, V_);
        added(dl, V_);
        fd_check(&st, "crossentropy dlogits", c.logits, V_, dl, ce_f, &c, V_, &r, 1);
    }
    assert_fd_ok(&st, "crossentropy (fused softmax)");
    /* large logits stay finite */
    float big[3] = {1000, -1000, 0};
    assert_true(fabsf(sf_crossentropy_forward(big, 0, 3)) < 1e-6f);
    assert_true(fabsf(sf_crossentropy_forward(big, 2, 3) - 1000.0f) < 1e-2f);
}

/* ---- the whole model against finite differences ----------------------------------------------------- */

#define MODEL_REL 1e-2
#define MODEL_ABS 1e-3
#define MODEL_EPS 4e-3
#define MODEL_SAMPLES 24

typedef struct {
    sf_model m;
    sf_seq act, gact;
    int src[8], n_src, in[8], tgt[8], n;
    unsigned long long sig; /* which side of zero every ReLU input is on at the unperturbed weights */
    int crossed;            /* set when an evaluation saw a different pattern */
} model_case;

/* Returns a hash of the sign pattern of every FFN pre-activation the example uses. */
static unsigned long long relu_pattern(const model_case *k) {
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a over one bit per pre-activation */
    int F = k->m.cfg.d_ff;
    for (int s = 0; s < 2; s++) {
        const sf_stack_rec *st = s ? &k->act.dec : &k->act.enc;
        int n = s ? k->n : k->n_src, layers = s ? k->m.cfg.n_dec_layers : k->m.cfg.n_enc_layers;
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < n * F; i++) h = (h ^ (st->layers[l].ffn.pre[i] > 0.0f)) * 1099511628211ULL;
    }
    return h;
}

/* The fd_stats.crossed callback: 1 if a ReLU changed sides since the last call. */
static int model_crossed(void *p) {
    model_case *k = p;
    int c = k->crossed;
    k->crossed = 0;
    return c;
}

/* Builds a tiny random model of the given variant and one example with a <pad> target. The weights are
 * drawn so that nothing is trivial: gains away from 1, biases away from 0, attention far from uniform. */
static void case_build(model_case *k, int family, int norm, int act, int pos, int tied, int scale_emb,
                       unsigned long long seed) {
    sf_config c = sf_config_default(family);
    c.vocab_size = 10;
    c.d_model = 8;
    c.n_heads = 2;
    c.d_ff = 16;
    c.n_enc_layers = family == SF_FAMILY_ENCDEC ? 2 : 0;
    c.n_dec_layers = 2;
    c.max_len = 8;
    c.pos = pos;
    c.norm = norm;
    c.act = act;
    c.tied = tied;
    c.scale_emb = scale_emb;
    c.ln_eps = 1e-5f;
    memset(k, 0, sizeof *k);
    sf_err e = sf_model_build(&k->m, &c);
    if (!e.ok) fail_msg("sf_model_build: %s", e.msg);
    sf_rng r;
    sf_rng_seed(&r, seed);
    for (int i = 0; i < k->m.n_table; i++) {
        const sf_param *p = &k->m.table[i];
        float *x = k->m.params + p->offset;
        int is_ln_gain = strstr(p->name, "ln_") && p->name[strlen(p->name) - 1] == 'w';
        for (size_t j = 0; j < p->count; j++) {
            float z = sf_rng_normal(&r);
            if (is_ln_gain) x[j] = 1.0f + 0.2f * z;
            else if (p->rank == 1) x[j] = 0.2f * z;
            else if (!strcmp(p->name, "tok_emb") || !strcmp(p->name, "pos_emb"))
                x[j] = (scale_emb ? 0.35f : 1.0f) * z;
            else x[j] = 1.2f * z / sqrtf((float)p->dims[1]);
        }
    }
    e = sf_seq_build(&k->act, &c);
    if (e.ok) e = sf_seq_build(&k->gact, &c);
    if (!e.ok) fail_msg("sf_seq_build: %s", e.msg);
    int src[] = {4, 7, 5, 9, 6}, text[] = {8, 5, 9, 4, 6};
    k->n_src = family == SF_FAMILY_ENCDEC ? 5 : 0;
    memcpy(k->src, src, sizeof src);
    k->n = 6;
    k->in[0] = SF_TOK_BOS;
    for (int t = 0; t < 5; t++) k->in[t + 1] = k->tgt[t] = text[t];
    k->tgt[5] = SF_TOK_EOS;
    k->tgt[3] = SF_TOK_PAD; /* one ignored position */
}

static void case_free(model_case *k) {
    sf_seq_free(&k->act);
    sf_seq_free(&k->gact);
    sf_model_free(&k->m);
}

/* Returns the example's summed cross-entropy in double, computed here from the model's logits. */
static double model_f(void *p) {
    model_case *k = p;
    int counted;
    float loss = sf_forward_loss(&k->m, &k->act, k->src, k->n_src, k->in, k->tgt, k->n, &counted);
    assert_false(isnan(loss));
    int V = k->m.cfg.vocab_size;
    double sum = 0;
    for (int t = 0; t < k->n; t++) {
        if (k->tgt[t] == SF_TOK_PAD) continue;
        const float *z = k->act.logits + (size_t)t * V;
        double mx = z[0], s = 0;
        for (int i = 1; i < V; i++) mx = fmax(mx, z[i]);
        for (int i = 0; i < V; i++) s += exp(z[i] - mx);
        sum += log(s) + mx - z[k->tgt[t]];
    }
    if (k->m.cfg.act == SF_ACT_RELU && relu_pattern(k) != k->sig) k->crossed = 1;
    return sum;
}

/* Returns a fresh gradient (n_params floats) of the case's example. */
static float *case_grad(model_case *k, float *loss, int *counted) {
    float *g = calloc(k->m.n_params, sizeof(float));
    assert_non_null(g);
    *loss = sf_forward_backward(&k->m, &k->act, &k->gact, k->src, k->n_src, k->in, k->tgt, k->n, g, counted);
    k->sig = relu_pattern(k);
    k->crossed = 0;
    return g;
}

/* Checks grad against finite differences in every parameter tensor; returns the number of tensors
 * with a failure (each must also have a nonzero gradient somewhere). */
static int check_model_grad(model_case *k, const float *grad, const char *variant, int verbose) {
    sf_rng r;
    sf_rng_seed(&r, 99);
    int bad = 0, checked = 0, skipped = 0;
    double worst = 0;
    for (int i = 0; i < k->m.n_table; i++) {
        const sf_param *p = &k->m.table[i];
        fd_stats st = {MODEL_REL, MODEL_ABS, MODEL_EPS, model_crossed, 0, 0, 0, 0, 0};
        fd_check(&st, p->name, k->m.params + p->offset, p->count, grad + p->offset, model_f, k, MODEL_SAMPLES, &r,
                 verbose);
        float maxg = 0;
        for (size_t j = 0; j < p->count; j++) maxg = fmaxf(maxg, fabsf(grad[p->offset + j]));
        if (st.failed || !(maxg > 1e-4f)) {
            if (verbose)
                print_error("%s: %s: %d of %d coordinates off, max |grad| %.3g\n", variant, p->name, st.failed,
                            st.checked, maxg);
            bad++;
        }
        if (st.worst > worst) worst = st.worst;
        checked += st.checked;
        skipped += st.skipped;
    }
    if (verbose)
        printf("%-40s %2d tensors, %4d coordinates (%d skipped at a ReLU kink), worst %.3f of the tolerance\n",
               variant, k->m.n_table, checked, skipped, worst);
    if (skipped * 20 > checked) { /* more than 5% skipped: the check would prove too little */
        if (verbose) print_error("%s: %d of %d coordinates sit at a ReLU kink\n", variant, skipped, checked);
        bad++;
    }
    return bad;
}

static void check_variant(int family, int norm, int act, int pos, int tied, int scale_emb, unsigned long long seed,
                          const char *variant) {
    model_case k;
    case_build(&k, family, norm, act, pos, tied, scale_emb, seed);
    float loss;
    int counted;
    float *g = case_grad(&k, &loss, &counted);
    assert_int_equal(counted, k.n - 1); /* the <pad> target does not count */
    assert_true(fabs(loss - model_f(&k)) < 1e-4 * (1 + loss));
    assert_int_equal(check_model_grad(&k, g, variant, 1), 0);
    free(g);
    case_free(&k);
}

static void test_fd_encdec_post(void **state) {
    (void)state;
    check_variant(SF_FAMILY_ENCDEC, SF_NORM_POST, SF_ACT_RELU, SF_POS_SINUSOIDAL, 1, 1, 6,
                  "encdec post-LN ReLU sinusoidal tied scaled");
}

static void test_fd_encdec_pre(void **state) {
    (void)state;
    check_variant(SF_FAMILY_ENCDEC, SF_NORM_PRE, SF_ACT_GELU, SF_POS_LEARNED, 0, 0, 1234,
                  "encdec pre-LN GELU learned untied");
}

static void test_fd_gpt_pre(void **state) {
    (void)state;
    check_variant(SF_FAMILY_GPT, SF_NORM_PRE, SF_ACT_GELU, SF_POS_LEARNED, 1, 0, 1234, "gpt pre-LN GELU learned tied");
}

static void test_fd_gpt_post(void **state) {
    (void)state;
    check_variant(SF_FAMILY_GPT, SF_NORM_POST, SF_ACT_RELU, SF_POS_NONE, 0, 0, 1234, "gpt post-LN ReLU no-pos untied");
}

/* The checker must be able to fail: the gradient of a different example (another target) is rejected. */
static void test_fd_catches_a_wrong_gradient(void **state) {
    (void)state;
    model_case k;
    case_build(&k, SF_FAMILY_ENCDEC, SF_NORM_PRE, SF_ACT_GELU, SF_POS_LEARNED, 0, 0, 1234);
    int t3 = k.tgt[3];
    k.tgt[3] = 7; /* the gradient counts position 3, which the checked loss ignores */
    float loss;
    int counted;
    float *g = case_grad(&k, &loss, &counted);
    k.tgt[3] = t3;
    int bad = check_model_grad(&k, g, "wrong gradient", 0);
    printf("a wrong gradient fails in %d of %d tensors\n", bad, k.m.n_table);
    assert_true(bad > k.m.n_table / 2);
    free(g);
    case_free(&k);
}

/* Gradients accumulate (+=), do not depend on what the scratch record held before, and invalid input is
 * refused without touching the gradient. */
static void test_accumulates_and_ignores_scratch(void **state) {
    (void)state;
    model_case k;
    case_build(&k, SF_FAMILY_ENCDEC, SF_NORM_POST, SF_ACT_RELU, SF_POS_SINUSOIDAL, 1, 1, 77);
    float l1, l2;
    int c1, c2;
    float *g1 = case_grad(&k, &l1, &c1);
    /* the activation-gradient record full of NaN: every buffer used must be overwritten or zeroed first */
    for (size_t i = 0; i < k.gact.mem_floats; i++) k.gact.mem[i] = NAN;
    float *g2 = calloc(k.m.n_params, sizeof(float));
    for (size_t i = 0; i < k.m.n_params; i++) g2[i] = g1[i];
    l2 = sf_forward_backward(&k.m, &k.act, &k.gact, k.src, k.n_src, k.in, k.tgt, k.n, g2, &c2);
    assert_true(l1 == l2);
    assert_int_equal(c1, c2);
    /* (the second pass adds term by term onto g1, so the sum is rounded differently from 2 g1) */
    for (size_t i = 0; i < k.m.n_params; i++) assert_true(fabsf(g2[i] - 2.0f * g1[i]) <= 1e-5f * (1 + fabsf(g1[i])));
    /* sf_forward_loss gives the same loss */
    int c3;
    assert_true(sf_forward_loss(&k.m, &k.act, k.src, k.n_src, k.in, k.tgt, k.n, &c3) == l1);
    assert_int_equal(c3, c1);
    /* a target outside the vocabulary: NAN, nothing counted, the gradient untouched */
    k.tgt[1] = k.m.cfg.vocab_size;
    float bad = sf_forward_backward(&k.m, &k.act, &k.gact, k.src, k.n_src, k.in, k.tgt, k.n, g2, &c2);
    assert_true(isnan(bad));
    assert_int_equal(c2, 0);
    for (size_t i = 0; i < k.m.n_params; i++) assert_true(fabsf(g2[i] - 2.0f * g1[i]) <= 1e-5f * (1 + fabsf(g1[i])));
    assert_true(isnan(sf_forward_loss(&k.m, &k.act, k.src, k.n_src, k.in, k.tgt, 0, &c3)));
    free(g1);
    free(g2);
    case_free(&k);
}

/* ---- the whole model against PyTorch ---------------------------------------------------------------- */

#define PT_ABS 1e-4
#define PT_REL 1e-3

/* Compares grad with every expected tensor; returns the number of tensors that are missing, misshapen
 * or off by more than PT_ABS + PT_REL |expected|, and the largest |diff| in *max_diff. */
static int compare_grad(const sf_model *m, const float *grad, const expect *x, const char *what, int verbose,
                        double *max_diff) {
    int failures = 0;
    double worst = 0;
    if (x->n_t != m->n_table) {
        if (verbose) print_error("%s: %d expected tensors, the model has %d\n", what, x->n_t, m->n_table);
        failures++;
    }
    for (int i = 0; i < x->n_t; i++) {
        const expect_tensor *t = &x->t[i];
        const sf_param *p = sf_model_param(m, t->name);
        if (!p || p->rank != t->rank || p->dims[0] != t->dims[0] || (p->rank == 2 && p->dims[1] != t->dims[1])) {
            if (verbose) print_error("%s: %s is missing or has another shape\n", what, t->name);
            failures++;
            continue;
        }
        int bad = 0;
        double tworst = 0;
        for (size_t j = 0; j < p->count; j++) {
            double want = t->v[j], got = grad[p->offset + j], d = fabs(got - want);
            if (!(d <= PT_ABS + PT_REL * fabs(want))) {
                if (verbose && bad < 3)
                    print_error("%s: %s[%zu] = %.9g, PyTorch %.9g (|diff| %.3g)\n", what, t->name, j, got, want, d);
                bad++;
                if (isnan(d)) d = INFINITY;
            }
            if (d > tworst) tworst = d;
        }
        if (bad) failures++;
        if (tworst > worst) worst = tworst;
    }
    *max_diff = worst;
    return failures;
}

/* Loads grad_NAME.sfm and grad_NAME.expect and returns the parsed expectations; fails the test on error. */
static expect *load_grad_fixture(const char *name, sf_model *m) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.sfm", SF_FIXTURE_DIR, name);
    sf_err e = sf_checkpoint_load(path, m);
    if (!e.ok) fail_msg("%s", e.msg);
    snprintf(path, sizeof path, "%s/%s.expect", SF_FIXTURE_DIR, name);
    expect *x = expect_load(path);
    if (x && (!x->has_loss || !x->n_in || x->n_in != x->n_tgt)) {
        print_error("%s: needs loss, and in and tgt of equal length\n", path);
        expect_free(x);
        x = NULL;
    }
    assert_non_null(x);
    assert_int_equal(x->n_src > 0, m->cfg.family == SF_FAMILY_ENCDEC);
    return x;
}

/* Returns a fresh gradient of the fixture's example; the loss and counted positions go to *loss, *counted. */
static float *fixture_grad(const sf_model *m, const expect *x, const int *tgt, float *loss, int *counted) {
    sf_seq act, gact;
    sf_err e = sf_seq_build(&act, &m->cfg);
    if (e.ok) e = sf_seq_build(&gact, &m->cfg);
    if (!e.ok) fail_msg("sf_seq_build: %s", e.msg);
    float *g = calloc(m->n_params, sizeof(float));
    assert_non_null(g);
    *loss = sf_forward_backward(m, &act, &gact, x->src, x->n_src, x->in, tgt, x->n_in, g, counted);
    sf_seq_free(&act);
    sf_seq_free(&gact);
    return g;
}

static void check_grad_fixture(const char *name) {
    sf_model m;
    expect *x = load_grad_fixture(name, &m);
    float loss;
    int counted, pads = 0;
    for (int t = 0; t < x->n_tgt; t++) pads += x->tgt[t] == SF_TOK_PAD;
    float *g = fixture_grad(&m, x, x->tgt, &loss, &counted);
    double max_diff;
    int failures = compare_grad(&m, g, x, name, 1, &max_diff);
    double dloss = fabs(loss - x->loss);
    printf("%-17s loss %.6f (PyTorch %.6f, |diff| %.2g); %d tensors, max |grad diff| %.3g "
           "(tolerance %.0e + %.0e |grad|)\n",
           name, loss, x->loss, dloss, x->n_t, max_diff, PT_ABS, PT_REL);
    assert_int_equal(counted, x->n_tgt - pads);
    assert_true(pads == 1);
    assert_true(dloss <= 1e-4 + 1e-5 * fabs(x->loss));
    assert_int_equal(failures, 0);
    free(g);
    expect_free(x);
    sf_model_free(&m);
}

static void test_torch_encdec_post(void **state) { (void)state; check_grad_fixture("grad_encdec_post"); }
static void test_torch_encdec_pre(void **state) { (void)state; check_grad_fixture("grad_encdec_pre"); }
static void test_torch_gpt_pre(void **state) { (void)state; check_grad_fixture("grad_gpt_pre"); }
static void test_torch_gpt_post(void **state) { (void)state; check_grad_fixture("grad_gpt_post"); }
/* attention-only models (d_ff 0): no FFN sub-layer to go back through */
static void test_torch_gpt_attn_only(void **state) { (void)state; check_grad_fixture("grad_gpt_attn_only"); }
static void test_torch_encdec_attn_only(void **state) { (void)state; check_grad_fixture("grad_encdec_attn_only"); }

/* The comparison must be able to fail: counting the <pad> position (a real target in its place) gives
 * a gradient PyTorch's expectations reject. */
static void test_torch_comparison_catches_pad(void **state) {
    (void)state;
    sf_model m;
    expect *x = load_grad_fixture("grad_gpt_pre", &m);
    int tgt[EXPECT_MAX_IDS];
    memcpy(tgt, x->tgt, (size_t)x->n_tgt * sizeof *tgt);
    for (int t = 0; t < x->n_tgt; t++)
        if (tgt[t] == SF_TOK_PAD) tgt[t] = SF_TOK_FIRST_CHAR;
    float loss;
    int counted;
    float *g = fixture_grad(&m, x, tgt, &loss, &counted);
    double max_diff;
    int failures = compare_grad(&m, g, x, "pad counted", 0, &max_diff);
    printf("with the <pad> position counted: %d of %d tensors fail, max |diff| %.3g\n", failures, x->n_t, max_diff);
    assert_true(failures > x->n_t / 2);
    assert_true(loss > x->loss + 1e-3);
    free(g);
    expect_free(x);
    sf_model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_backward),
        cmocka_unit_test(test_layernorm_backward),
        cmocka_unit_test(test_softmax_backward),
        cmocka_unit_test(test_activation_backward),
        cmocka_unit_test(test_crossentropy),
        cmocka_unit_test(test_fd_encdec_post),
        cmocka_unit_test(test_fd_encdec_pre),
        cmocka_unit_test(test_fd_gpt_pre),
        cmocka_unit_test(test_fd_gpt_post),
        cmocka_unit_test(test_fd_catches_a_wrong_gradient),
        cmocka_unit_test(test_accumulates_and_ignores_scratch),
        cmocka_unit_test(test_torch_encdec_post),
        cmocka_unit_test(test_torch_encdec_pre),
        cmocka_unit_test(test_torch_gpt_pre),
        cmocka_unit_test(test_torch_gpt_post),
        cmocka_unit_test(test_torch_gpt_attn_only),
        cmocka_unit_test(test_torch_encdec_attn_only),
        cmocka_unit_test(test_torch_comparison_catches_pad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
