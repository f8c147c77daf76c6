/* optim.h - AdamW, the warmup + cosine learning-rate schedule and global gradient-norm clipping.
 *
 * The update is PyTorch's torch.optim.AdamW (decoupled weight decay), in the same order of operations:
 *   p -= lr * wd * p                       (only on tensors whose decay flag is set)
 *   m  = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Weight decay applies to the matrices of linear layers only: never to LayerNorm gains and biases, to
 * any bias, or to the token and position embeddings (the token embedding doubles as the tied output
 * head; shrinking it would shrink every logit). */
#ifndef SF_OPTIM_H
#define SF_OPTIM_H

#include <stddef.h>

#include "core/err.h"
#include "model/model.h"

typedef struct {
    float lr;           /* peak learning rate */
    float min_lr_frac;  /* the cosine decays to lr * min_lr_frac */
    int warmup;         /* steps of linear warmup from lr/warmup to lr */
    int total;          /* steps in the whole schedule (warmup included) */
    float beta1, beta2; /* moment decay rates (0.9, 0.98 as in the paper; 0.999 is torch's default) */
    float eps;          /* added to sqrt(v) (1e-8 as in torch) */
    float weight_decay; /* decoupled decay per step, multiplied by the learning rate */
    float clip;         /* global gradient-norm limit; 0 turns clipping off */
} sf_adamw_cfg;

typedef struct {
    sf_adamw_cfg cfg;
    size_t n;           /* floats in the model's params */
    float *m, *v;       /* (n) first and second moments */
    unsigned char *decay; /* (n) 1 where weight decay applies */
    long t;             /* updates done so far (the bias corrections use t + 1 for the next one) */
} sf_adamw;

/* Returns sensible defaults: lr 1e-3, warmup 100, cosine to 10%, betas (0.9, 0.98), eps 1e-8,
 * weight decay 0.01, clip 1.0, over `total` steps. */
sf_adamw_cfg sf_adamw_defaults(int total);

/* Allocates zeroed moments for model m and marks which parameters get weight decay. */
sf_err sf_adamw_init(sf_adamw *o, const sf_model *m, const sf_adamw_cfg *cfg);
void sf_adamw_free(sf_adamw *o);

/* Returns 1 if the parameter tensor named `name` (of the given rank) gets weight decay. */
int sf_adamw_decays(const char *name, int rank);

/* Returns the learning rate of step `step` (0-based): linear warmup lr*(step+1)/warmup, then a cosine
 * from lr down to lr*min_lr_frac at step total-1 (and held there after). */
float sf_lr_at(const sf_adamw_cfg *c, long step);

/* Returns the global L2 norm of grad(n), summed in double in index order (deterministic). */
double sf_grad_norm(const float *grad, size_t n);

/* Scales grad(n) so that its global norm is at most max_norm (when max_norm > 0); returns the norm
 * before clipping. Scale factor as torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6). */
double sf_grad_clip(float *grad, size_t n, float max_norm);
/* Returns the factor sf_grad_clip multiplies a gradient of this norm by: max_norm / (norm + 1e-6) as a
 * float when max_norm > 0 and norm > max_norm, else 1 (which changes no bits). */
float sf_grad_clip_scale(double norm, float max_norm);

/* Applies one AdamW update with learning rate lr to params(n) given grad(n); advances o->t. */
void sf_adamw_step(sf_adamw *o, float *params, const float *grad, float lr);
/* The same update shared by `threads` OpenMP threads (the same bits as one). */
void sf_adamw_step_threads(sf_adamw *o, float *params, const float *grad, float lr, int threads);
/* The same after multiplying grad(n) in place by scale (sf_grad_clip_scale's; 1 leaves it as it is), span
 * by span while it is in the cache: sf_grad_clip then sf_adamw_step_threads bit for bit, in one pass. */
void sf_adamw_step_scaled(sf_adamw *o, float *params, float *grad, float scale, float lr, int threads);

/* One update cut into pieces, for a caller that runs its own threads: sf_adamw_begin once, then
 * sf_adamw_span over pieces covering [0, n) once each, on any threads in any order: the bits of
 * sf_adamw_step_scaled (each element's update depends on that element alone). */
#define SF_ADAMW_SPAN 8192 /* floats updated at a time (the span's gradient stays in L1/L2 while it is scaled) */
typedef struct {
    float b1, b2;    /* the moment decay rates */
    float bc2_sqrt;  /* sqrt(1 - b2^t) */
    float step_size; /* lr / (1 - b1^t) */
    float decay;     /* 1 - lr * weight_decay */
} sf_adamw_scalars;
/* Advances o->t and returns the scalars of that update at learning rate lr (in double, as torch). */
sf_adamw_scalars sf_adamw_begin(sf_adamw *o, float lr);
/* Multiplies grad[i0,i1) by scale (1 writes nothing), then updates params[i0,i1) and their moments. */
void sf_adamw_span(sf_adamw *o, const sf_adamw_scalars *k, float *params, float *grad, float scale, size_t i0,
                   size_t i1);

#endif
