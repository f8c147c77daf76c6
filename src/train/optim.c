/* optim.c - AdamW with decoupled weight decay, warmup + cosine schedule, gradient-norm clipping. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h" /* SF_VEC */
#include "core/mem.h"

/* Returns the defaults documented in optim.h for a schedule of `total` steps. */
sf_adamw_cfg sf_adamw_defaults(int total) {
    sf_adamw_cfg c;
    c.lr = 1e-3f;
    c.min_lr_frac = 0.1f;
    c.warmup = 100;
    c.total = total;
    c.beta1 = 0.9f;
    c.beta2 = 0.98f;
    c.eps = 1e-8f;
    c.weight_decay = 0.01f;
    c.clip = 1.0f;
    return c;
}

/* Returns 1 for the matrices of linear layers: rank 2 and not an embedding table. */
int sf_adamw_decays(const char *name, int rank) {
    if (rank != 2) return 0; /* biases and LayerNorm gains/biases are rank 1 */
    return strcmp(name, "tok_emb") != 0 && strcmp(name, "pos_emb") != 0;
}

/* Allocates the moments (zero) and the per-float decay mask from the model's tensor table. */
sf_err sf_adamw_init(sf_adamw *o, const sf_model *m, const sf_adamw_cfg *cfg) {
    memset(o, 0, sizeof *o);
    if (cfg->total < 1) return sf_fail("optimizer: the schedule needs at least one step");
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr)) return sf_fail("optimizer: learning rate must be positive");
    o->cfg = *cfg;
    o->n = m->n_params;
    o->m = sf_big_calloc(o->n, sizeof *o->m); /* huge pages (core/mem.h): AdamW streams them every step */
    o->v = sf_big_calloc(o->n, sizeof *o->v);
    o->decay = calloc(o->n, 1);
    if (!o->m || !o->v || !o->decay) {
        sf_adamw_free(o);
        return sf_fail("optimizer: out of memory for %zu parameters", m->n_params);
    }
    for (int i = 0; i < m->n_table; i++) {
        const sf_param *p = &m->table[i];
        if (sf_adamw_decays(p->name, p->rank)) memset(o->decay + p->offset, 1, p->count);
    }
    return sf_ok();
}

/* Frees the moments and the mask; safe on a zeroed or already freed optimizer. */
void sf_adamw_free(sf_adamw *o) {
    sf_big_free(o->m);
    sf_big_free(o->v);
    free(o->decay);
    o->m = o->v = NULL;
    o->decay = NULL;
}

/* Returns the scheduled learning rate for 0-based step `step`. */
float sf_lr_at(const sf_adamw_cfg *c, long step) {
    if (step < c->warmup) return c->lr * (float)(step + 1) / (float)c->warmup;
    long span = (long)c->total - 1 - c->warmup;
    double progress = span > 0 ? (double)(step - c->warmup) / (double)span : 1.0;
    if (progress > 1.0) progress = 1.0;
    double lo = (double)c->lr * c->min_lr_frac;
    return (float)(lo + 0.5 * ((double)c->lr - lo) * (1.0 + cos(3.14159265358979323846 * progress)));
}

/* Returns sqrt(sum grad^2) accumulated in double in index order. */
double sf_grad_norm(const float *grad, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)grad[i] * grad[i];
    return sqrt(s);
}

/* Returns the norm before clipping, after scaling grad down to max_norm if it was larger. */
double sf_grad_clip(float *grad, size_t n, float max_norm) {
    double norm = sf_grad_norm(grad, n);
    float scale = sf_grad_clip_scale(norm, max_norm);
    if (scale != 1.0f)
        for (size_t i = 0; i < n; i++) grad[i] *= scale;
    return norm;
}

/* Returns the clipping factor for a gradient of this norm (1 when it is not clipped). */
float sf_grad_clip_scale(double norm, float max_norm) {
    if (max_norm > 0.0f && norm > max_norm) return (float)((double)max_norm / (norm + 1e-6));
    return 1.0f;
}

/* Returns the parameter p (already decayed) after one AdamW step with gradient g, updating its moments
 * *m and *v: torch.optim.AdamW's order of operations. */
static inline float adamw_one(float p, float g, float *m, float *v, float b1, float b2, float bc2_sqrt,
                              float step_size, float eps) {
    float mi = *m = b1 * *m + (1.0f - b1) * g;
    float vi = *v = b2 * *v + (1.0f - b2) * g * g;
    float denom = sqrtf(vi) / bc2_sqrt + eps;
    return p - step_size * (mi / denom);
}

/* Updates params[i0,i1) in place with one AdamW step (the scalars computed by the caller). Compiled for
 * AVX-512 and for any x86-64 (SF_VEC, ops.h): sixteen lanes of the same correctly rounded operations
 * (multiplies, additions, sqrtf, divisions; nothing fused), so the same bits. */
SF_VEC static void adamw_span(sf_adamw *o, float *params, const float *grad, size_t i0, size_t i1, float b1, float b2,
                       float bc2_sqrt, float step_size, float decay) {
    float *restrict pp = params, *restrict mm = o->m, *restrict vv = o->v;
    const float *restrict gg = grad;
    const unsigned char *restrict dd = o->decay;
    float eps = o->cfg.eps, dm1 = decay - 1.0f;
    if (1.0f + dm1 == decay) {
        /* the decay factor as arithmetic (1 + 1 (decay - 1) = decay, 1 + 0 = 1, both exact) instead of a
         * branch, so the loop vectorises; every element gets the same arithmetic as below */
        for (size_t i = i0; i < i1; i++)
            pp[i] = adamw_one(pp[i] * (1.0f + (float)dd[i] * dm1), gg[i], &mm[i], &vv[i], b1, b2, bc2_sqrt, step_size,
                              eps);
        return;
    }
    for (size_t i = i0; i < i1; i++) /* a decay factor below a half: decay - 1 may not be exact */
        pp[i] = adamw_one(dd[i] ? pp[i] * decay : pp[i], gg[i], &mm[i], &vv[i], b1, b2, bc2_sqrt, step_size, eps);
}

/* Updates params in place with one AdamW step at learning rate lr. */
void sf_adamw_step(sf_adamw *o, float *params, const float *grad, float lr) { sf_adamw_step_threads(o, params, grad, lr, 1); }

/* The same on `threads` threads: each element's update depends on that element alone, so the threads
 * share whole spans of parameters and the bits are those of one thread. */
void sf_adamw_step_threads(sf_adamw *o, float *params, const float *grad, float lr, int threads) {
    sf_adamw_step_scaled(o, params, (float *)grad, 1.0f, lr, threads); /* a scale of 1 writes nothing */
}

/* Multiplies grad[i0,i1) by scale (not at all when it is 1), then updates params[i0,i1). */
SF_VEC static void scaled_span(sf_adamw *o, float *params, float *grad, float scale, size_t i0, size_t i1, float b1,
                        float b2, float bc2_sqrt, float step_size, float decay) {
    if (scale != 1.0f)
        for (size_t i = i0; i < i1; i++) grad[i] *= scale;
    adamw_span(o, params, grad, i0, i1, b1, b2, bc2_sqrt, step_size, decay);
}

/* Advances o->t and returns the scalars of that update at learning rate lr; see optim.h. */
sf_adamw_scalars sf_adamw_begin(sf_adamw *o, float lr) {
    const sf_adamw_cfg *c = &o->cfg;
    sf_adamw_scalars k;
    o->t++;
    k.b1 = c->beta1;
    k.b2 = c->beta2;
    /* the scalars in double, as torch computes them in Python */
    double bc1 = 1.0 - pow((double)k.b1, (double)o->t);
    double bc2 = 1.0 - pow((double)k.b2, (double)o->t);
    k.step_size = (float)((double)lr / bc1);
    k.bc2_sqrt = (float)sqrt(bc2);
    k.decay = (float)(1.0 - (double)lr * c->weight_decay);
    return k;
}

/* Scales grad[i0,i1) by scale and updates params[i0,i1) with the update k; see optim.h. */
void sf_adamw_span(sf_adamw *o, const sf_adamw_scalars *k, float *params, float *grad, float scale, size_t i0,
                   size_t i1) {
    for (size_t a = i0; a < i1; a += SF_ADAMW_SPAN)
        scaled_span(o, params, grad, scale, a, a + SF_ADAMW_SPAN < i1 ? a + SF_ADAMW_SPAN : i1, k->b1, k->b2,
                    k->bc2_sqrt, k->step_size, k->decay);
}

/* The AdamW step after the clipping factor; see optim.h. */
void sf_adamw_step_scaled(sf_adamw *o, float *params, float *grad, float scale, float lr, int threads) {
    sf_adamw_scalars k = sf_adamw_begin(o, lr);
    long long n = (long long)o->n, SPAN = SF_ADAMW_SPAN;
    if (threads < 2 || n < 2 * SPAN) {
        sf_adamw_span(o, &k, params, grad, scale, 0, (size_t)n);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long long i0 = 0; i0 < n; i0 += SPAN)
        sf_adamw_span(o, &k, params, grad, scale, (size_t)i0, (size_t)(i0 + SPAN < n ? i0 + SPAN : n));
}
