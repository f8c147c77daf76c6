/* trainer.c - batched, multi-threaded, deterministic training steps; greedy decoding; optimizer state. */
#define _POSIX_C_SOURCE 200809L /* sched_yield */
#include "trainer.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backward.h"
#include "core/io.h"
#include "core/mem.h"
#include "model/checkpoint.h"
#include "model/format.h"
#include "model/sample.h"

#define STATE_MAGIC "SFOPTIM"  /* 7 letters and a NUL */
#define STATE_VERSION 2
#define STATE_TASK_BYTES 16
#define STATE_HEAD_BYTES 92  /* the fixed header; its last 8 bytes are the parameter count */
#define STATE_HEAD2_BYTES 100 /* version 2: then the embedded model's size */
#define SUM_SPAN SF_TRAIN_SUM_SPAN
#define SUM_BLOCK 32  /* of which the norm's chain takes this many at a time, between the last sums */

/* One span of tr->grad during a step's sum. */
struct sf_sum_span {
    int held;       /* chunks 0 .. held-1 are summed into it (0: not written yet this step) */
    atomic_int fin; /* 1 once it holds its final value: every chunk, times 1 / counted tokens */
};

/* Returns the number of threads OpenMP would use by default (1 without OpenMP). */
static int default_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Returns the calling thread's number inside a parallel region (0 without OpenMP). */
static int thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Prepares the optimizer, one act/gact record pair per thread and the chunk gradient buffers. */
sf_err sf_trainer_init(sf_trainer *tr, sf_model *m, const sf_adamw_cfg *oc, int threads) {
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    tr->n_threads = threads > 0 ? threads : default_threads();
    if (tr->n_threads > SF_TRAIN_CHUNKS) tr->n_threads = SF_TRAIN_CHUNKS; /* more could never be busy */
    sf_err e = sf_adamw_init(&tr->opt, m, oc);
    if (!e.ok) return e;
    tr->act = calloc((size_t)tr->n_threads, sizeof *tr->act);
    tr->gact = calloc((size_t)tr->n_threads, sizeof *tr->gact);
    /* on huge pages (core/mem.h): every step writes the chunk buffers whole and reads them back */
    tr->chunk_grad = sf_big_calloc((size_t)SF_TRAIN_CHUNKS * m->n_params, sizeof *tr->chunk_grad);
    tr->grad = sf_big_calloc(m->n_params, sizeof *tr->grad);
    if (!tr->act || !tr->gact || !tr->chunk_grad || !tr->grad) {
        sf_trainer_free(tr);
        return sf_fail("trainer: out of memory");
    }
    for (int t = 0; t < tr->n_threads; t++) {
        if (!(e = sf_seq_build_packed(&tr->act[t], &m->cfg)).ok ||
            !(e = sf_seq_build_packed_grad(&tr->gact[t], &m->cfg)).ok) {
            sf_trainer_free(tr);
            return e;
        }
    }
    /* the step's record of which chunks each span of tr->grad holds (one per SUM_SPAN parameters) */
    tr->sum_spans = calloc((m->n_params + SUM_SPAN - 1) / SUM_SPAN + 1, sizeof *tr->sum_spans);
    if (!tr->sum_spans) {
        sf_trainer_free(tr);
        return sf_fail("trainer: out of memory");
    }
    return sf_ok();
}

/* Frees everything sf_trainer_init allocated (not the model). */
void sf_trainer_free(sf_trainer *tr) {
    if (tr->act)
        for (int t = 0; t < tr->n_threads; t++) sf_seq_free(&tr->act[t]);
    if (tr->gact)
        for (int t = 0; t < tr->n_threads; t++) sf_seq_free(&tr->gact[t]);
    free(tr->act);
    free(tr->gact);
    sf_big_free(tr->chunk_grad);
    sf_big_free(tr->grad);
    free(tr->sum_spans);
    sf_adamw_free(&tr->opt);
    memset(tr, 0, sizeof *tr);
}

/* Returns how many chunks a batch of n examples is cut into (a function of n only). */
static int n_chunks(int n) { return n < SF_TRAIN_CHUNKS ? n : SF_TRAIN_CHUNKS; }

/* Fills p (and tgt) with examples i, i+1, ... before `end` while they fit in one packed pass: at most
 * SF_PACK_MAX sequences and SF_TRAIN_PACK_ROWS rows, and always one. Returns the index after the last.
 * How a chunk is cut into packs changes no bits (backward.h), only the memory and the speed. */
static int fill_pack(const sf_model *m, sf_pack *p, const int **tgt, const sf_example *ex, int i, int end) {
    int encdec = m->cfg.family == SF_FAMILY_ENCDEC, src_rows = 0, dec_rows = 0;
    p->n = 0;
    for (; i < end && p->n < SF_PACK_MAX; i++) {
        const sf_example *x = &ex[i];
        int ns = encdec ? x->n_src : 0;
        if (p->n > 0 && (src_rows + ns > SF_TRAIN_PACK_ROWS || dec_rows + x->n > SF_TRAIN_PACK_ROWS)) break;
        p->src[p->n] = x->src;
        p->n_src[p->n] = ns;
        p->dec[p->n] = x->in;
        p->n_dec[p->n] = x->n;
        tgt[p->n] = x->tgt;
        p->n++;
        src_rows += ns;
        dec_rows += x->n;
    }
    return i;
}

/* Checks that an example fits the model: lengths inside the record, tokens inside the vocabulary. */
static sf_err check_example(const sf_model *m, const sf_example *ex, int i) {
    const sf_config *c = &m->cfg;
    int encdec = c->family == SF_FAMILY_ENCDEC;
    if (ex->n < 1 || ex->n > c->max_len || (encdec && (ex->n_src < 1 || ex->n_src > c->max_len)))
        return sf_fail("example %d: %d source and %d target positions do not fit max_len %d", i, ex->n_src, ex->n,
                       c->max_len);
    for (int t = 0; t < ex->n; t++)
        if (ex->in[t] < 0 || ex->in[t] >= c->vocab_size || ex->tgt[t] < 0 || ex->tgt[t] >= c->vocab_size)
            return sf_fail("example %d: a token at position %d is outside the vocabulary (0..%d)", i, t,
                           c->vocab_size - 1);
    for (int t = 0; encdec && t < ex->n_src; t++)
        if (ex->src[t] < 0 || ex->src[t] >= c->vocab_size)
            return sf_fail("example %d: source token %d is outside the vocabulary", i, t);
    return sf_ok();
}

/* What the threads of one step share. */
typedef struct {
    atomic_int next_chunk;             /* the next chunk to hand out */
    atomic_int done[SF_TRAIN_CHUNKS];  /* 1 once a chunk's buffer is complete */
    atomic_int next_early, next_fin;   /* the next span to claim while the last chunks run / after them */
    double loss[SF_TRAIN_CHUNKS];
    long count[SF_TRAIN_CHUNKS];
    int bad[SF_TRAIN_CHUNKS];
    double norm;                       /* the gradient's norm (thread 0 writes it before the second barrier) */
    sf_adamw_scalars k;                /* the update's scalars (likewise) */
} step_share;

/* One turn of a wait loop: a pause for the processor, and every 1024th turn the processor given up (on a
 * shared machine the thread waited for may not be running). */
static inline void relax(unsigned *turns) {
    if (++*turns % 1024 == 0) {
        sched_yield();
        return;
    }
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* Waits until *flag is set (read with acquire). */
static void wait_set(atomic_int *flag) {
    unsigned turns = 0;
    while (!atomic_load_explicit(flag, memory_order_acquire)) relax(&turns);
}

/* Returns how many chunks, from the first on, are complete. */
static int chunks_done(step_share *S, int K) {
    int u = 0;
    while (u < K && atomic_load_explicit(&S->done[u], memory_order_acquire)) u++;
    return u;
}

/* Adds chunk buffers [from, to) into grad[a,e) in chunk order (chunk 0 writes it), a chunk at a time. */
static void add_chunks(sf_trainer *tr, int from, int to, size_t a, size_t e) {
    size_t P = tr->m->n_params;
    float *restrict g = tr->grad;
    for (int c = from; c < to; c++) {
        const float *restrict cg = tr->chunk_grad + (size_t)c * P;
        if (c == 0)
            for (size_t i = a; i < e; i++) g[i] = cg[i];
        else
            for (size_t i = a; i < e; i++) g[i] += cg[i];
    }
}

/* Adds chunk buffers [from, K) into grad[a,e), then multiplies it by inv: with the chunks before `from`
 * already in it, each element is ((c0 + c1) + ... + c(K-1)) * inv, the same operations in the same order
 * however the span was split. With norm2 (else NULL), adds grad[i]^2 to *norm2 in index order, in double:
 * block by block between the sums, so the chain of additions (latency-bound) runs beside the next block's
 * sums (memory-bound). */
static void finish_span(sf_trainer *tr, int from, int K, float inv, size_t a, size_t e, double *norm2) {
    float *restrict g = tr->grad;
    double s = norm2 ? *norm2 : 0.0;
    for (size_t b0 = a; b0 < e; b0 += SUM_BLOCK) {
        size_t b1 = b0 + SUM_BLOCK < e ? b0 + SUM_BLOCK : e;
        add_chunks(tr, from, K, b0, b1);
        for (size_t i = b0; i < b1; i++) g[i] *= inv;
        if (norm2)
            for (size_t i = b0; i < b1; i++) s += (double)g[i] * g[i];
    }
    if (norm2) *norm2 = s;
}

/* Returns *norm2 plus grad[a,e)^2 added in index order, in double. */
static double chain_span(const float *g, size_t a, size_t e, double norm2) {
    for (size_t i = a; i < e; i++) norm2 += (double)g[i] * g[i];
    return norm2;
}

/* Runs chunk c's examples, in order, into its buffer, several per packed pass (bit for bit the same as one
 * at a time); the first pass writes the buffer (bit for bit as adding to zeros, so nothing has to zero it
 * between steps), the others add to it. */
static void run_chunk(sf_trainer *tr, const sf_example *ex, int n, int K, int c, int th, step_share *S) {
    const sf_model *m = tr->m;
    float *g = tr->chunk_grad + (size_t)c * m->n_params;
    sf_pack p;
    const int *tgt[SF_PACK_MAX];
    for (int i = c * n / K, end = (c + 1) * n / K; i < end && !S->bad[c];) {
        int first = i == c * n / K;
        i = fill_pack(m, &p, tgt, ex, i, end);
        if (!(first ? sf_forward_backward_packed_set : sf_forward_backward_packed)(m, &tr->act[th], &tr->gact[th], &p,
                                                                                 tgt, g, &S->loss[c], &S->count[c]))
            S->bad[c] = 1;
    }
    if (!isfinite(S->loss[c])) S->bad[c] = 1; /* a non-finite example loss makes the sum non-finite */
}

/* A thread with no chunk left sums the complete chunks so far (a prefix, in chunk order) into spans of
 * tr->grad, one span per claim, while the other threads finish the last chunks; it stops once every chunk
 * is complete (a span it is in the middle of is finished first: it then holds the chunks it was begun
 * with, which its record says). */
static void early_sums(sf_trainer *tr, int K, step_share *S, size_t spans) {
    size_t P = tr->m->n_params;
    unsigned turns = 0;
    for (;;) {
        int u = chunks_done(S, K);
        if (u == K) return;
        if (u == 0) { /* chunk 0 still runs: nothing to sum yet */
            relax(&turns);
            continue;
        }
        int s = atomic_fetch_add_explicit(&S->next_early, 1, memory_order_relaxed);
        if (s >= (int)spans) return;
        size_t a = (size_t)s * SUM_SPAN, e = a + SUM_SPAN < P ? a + SUM_SPAN : P;
        SF_PHASE(thread_num(), SF_PH_SPAN, s);
        add_chunks(tr, 0, u, a, e);
        tr->sum_spans[s].held = u; /* read after the barrier */
        SF_PHASE(thread_num(), SF_PH_SPAN_END, s);
    }
}

/* After every chunk is complete: the threads claim spans in index order and finish their sums (the rest
 * of the chunks, the scale by inv); thread 0 also chains the norm in index order, over the spans it claims
 * as it sums them and over the others' once they are final. Returns the norm on thread 0 (0 elsewhere). */
static double finish_sums(sf_trainer *tr, int K, float inv, step_share *S, size_t spans, int th) {
    size_t P = tr->m->n_params;
    struct sf_sum_span *sp = tr->sum_spans;
    double norm2 = 0.0;
    size_t chained = 0; /* thread 0: spans whose squares are in norm2 */
    for (;;) {
        int s = atomic_fetch_add_explicit(&S->next_fin, 1, memory_order_relaxed);
        if (s >= (int)spans) break;
        size_t a = (size_t)s * SUM_SPAN, e = a + SUM_SPAN < P ? a + SUM_SPAN : P;
        if (th != 0) {
            finish_span(tr, sp[s].held, K, inv, a, e, NULL);
            atomic_store_explicit(&sp[s].fin, 1, memory_order_release);
            continue;
        }
        for (; chained < (size_t)s; chained++) { /* the spans the others claimed before this one */
            wait_set(&sp[chained].fin);
            norm2 = chain_span(tr->grad, chained * SUM_SPAN, (chained + 1) * SUM_SPAN, norm2);
        }
        finish_span(tr, sp[s].held, K, inv, a, e, &norm2);
        chained = (size_t)s + 1;
    }
    if (th != 0) return 0.0;
    for (; chained < spans; chained++) {
        wait_set(&sp[chained].fin);
        size_t a = chained * SUM_SPAN;
        norm2 = chain_span(tr->grad, a, a + SUM_SPAN < P ? a + SUM_SPAN : P, norm2);
    }
    return sqrt(norm2);
}

/* Returns the size of the calling thread's team (1 outside a parallel region or without OpenMP). */
static int team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Runs one optimizer step over ex(n); see trainer.h. One parallel region: the chunks (handed out in
 * order), the early sums of the complete chunks while the last ones run, a barrier, the rest of the sums
 * beside the norm's chain, a barrier, the AdamW update. */
sf_err sf_trainer_step(sf_trainer *tr, const sf_example *ex, int n, sf_step_stats *st) {
    const sf_model *m = tr->m;
    size_t P = m->n_params, spans = (P + SUM_SPAN - 1) / SUM_SPAN;
    if (n < 1) return sf_fail("trainer: empty batch");
    for (int i = 0; i < n; i++) {
        sf_err e = check_example(m, &ex[i], i);
        if (!e.ok) return e;
    }
    int K = n_chunks(n);
    step_share S;
    memset(&S, 0, sizeof S);
    atomic_init(&S.next_chunk, 0);
    atomic_init(&S.next_early, 0);
    atomic_init(&S.next_fin, 0);
    for (int c = 0; c < SF_TRAIN_CHUNKS; c++) atomic_init(&S.done[c], 0);
    for (size_t s = 0; s < spans; s++) {
        tr->sum_spans[s].held = 0;
        atomic_init(&tr->sum_spans[s].fin, 0);
    }
    double total_loss = 0.0;
    long tokens = 0;
    int failed = 0;
    float lr = sf_lr_at(&tr->opt.cfg, tr->step);
    SF_PHASE(0, SF_PH_STEP, 0);
#pragma omp parallel num_threads(tr->n_threads)
    {
        int th = thread_num(), team = team_size();
        for (;;) { /* 1. the chunks, in any order on any thread */
            int c = atomic_fetch_add_explicit(&S.next_chunk, 1, memory_order_relaxed);
            if (c >= K) break;
            if (c == K - 1 && K > 1 && tr->hold_last_chunk && team > 1) { /* tests: early sums of every span */
                unsigned turns = 0;
                while (atomic_load_explicit(&S.next_early, memory_order_relaxed) < (int)spans) relax(&turns);
            }
            SF_PHASE(th, SF_PH_CHUNK, c);
            run_chunk(tr, ex, n, K, c, th, &S);
            atomic_store_explicit(&S.done[c], 1, memory_order_release);
            SF_PHASE(th, SF_PH_CHUNK_END, c);
        }
        SF_PHASE(th, SF_PH_SUMS, 0);
        early_sums(tr, K, &S, spans);
        SF_PHASE(th, SF_PH_WAIT1, 0);
#pragma omp barrier
        SF_PHASE(th, SF_PH_FINISH, 0);
        double my_loss = 0.0; /* every thread reads the same totals */
        long my_tokens = 0;
        int my_failed = 0;
        for (int c = 0; c < K; c++) {
            my_failed |= S.bad[c];
            my_loss += S.loss[c];
            my_tokens += S.count[c];
        }
        if (!my_failed && my_tokens > 0) {
            /* 2. the sums, scaled to the mean over counted tokens, and the global norm */
            double norm = finish_sums(tr, K, (float)(1.0 / (double)my_tokens), &S, spans, th);
            if (th == 0) {
                S.norm = norm;
                if (isfinite(norm)) S.k = sf_adamw_begin(&tr->opt, lr);
            }
            SF_PHASE(th, SF_PH_WAIT2, 0);
#pragma omp barrier
            SF_PHASE(th, SF_PH_ADAMW, 0);
            /* 3. clip and update: each thread a share of whole AdamW spans */
            if (isfinite(S.norm)) {
                size_t na = (P + SF_ADAMW_SPAN - 1) / SF_ADAMW_SPAN;
                size_t a = na * (size_t)th / (size_t)team * SF_ADAMW_SPAN;
                size_t e = na * (size_t)(th + 1) / (size_t)team * SF_ADAMW_SPAN;
                sf_adamw_span(&tr->opt, &S.k, m->params, tr->grad, sf_grad_clip_scale(S.norm, tr->opt.cfg.clip), a,
                              e < P ? e : P);
            }
        }
        SF_PHASE(th, SF_PH_DONE, 0);
        if (th == 0) {
            total_loss = my_loss;
            tokens = my_tokens;
            failed = my_failed;
        }
    }
    SF_PHASE(0, SF_PH_STEP_END, 0);
    tr->early_spans = 0;
    for (size_t s = 0; s < spans; s++) tr->early_spans += tr->sum_spans[s].held > 0;
    if (failed || tokens == 0) { /* (the next step writes the buffers anew) */
        if (failed)
            return sf_fail("trainer: step %ld: the loss is not finite (diverged, or an invalid example)", tr->step);
        return sf_fail("trainer: step %ld: no target token counts in the batch", tr->step);
    }
    if (!isfinite(S.norm)) return sf_fail("trainer: step %ld: the gradient is not finite", tr->step);
    tr->step++;
    if (st) {
        st->loss = total_loss / (double)tokens;
        st->tokens = tokens;
        st->grad_norm = S.norm;
        st->lr = lr;
    }
    return sf_ok();
}

/* Returns the mean held-out (or any) loss per counted token over ex(n), computed on the threads. */
double sf_trainer_loss(sf_trainer *tr, const sf_example *ex, int n, long *tokens) {
    const sf_model *m = tr->m;
    int K = n_chunks(n);
    double loss[SF_TRAIN_CHUNKS] = {0};
    long count[SF_TRAIN_CHUNKS] = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(tr->n_threads)
    for (int c = 0; c < K; c++) {
        int th = thread_num();
        sf_pack p;
        const int *tgt[SF_PACK_MAX];
        for (int i = c * n / K, end = (c + 1) * n / K; i < end;) {
            i = fill_pack(m, &p, tgt, ex, i, end);
            if (!sf_forward_loss_packed(m, &tr->act[th], &p, tgt, &loss[c], &count[c])) loss[c] = NAN;
        }
    }
    double total = 0.0;
    long k = 0;
    for (int c = 0; c < K; c++) {
        total += loss[c];
        k += count[c];
    }
    if (tokens) *tokens = k;
    return k ? total / (double)k : NAN;
}

/* Returns the number of generated tokens written to out, or -1 if the model refused the input. */
int sf_greedy(const sf_model *m, sf_seq *s, const sf_example *ex, int *out, int cap) {
    int V = m->cfg.vocab_size, made = 0;
    s->n_src = s->n_tgt = 0;
    if (m->cfg.family == SF_FAMILY_ENCDEC && !sf_encode(m, s, ex->src, ex->n_src).ok) return -1;
    for (int t = 0; t < ex->n_prompt; t++)
        if (!sf_decode_step(m, s, ex->in[t]).ok) return -1;
    while (made < cap) {
        const float *p = s->logits + (size_t)(s->n_tgt - 1) * V;
        int best = -1;
        for (int v = 0; v < V; v++) {
            if (v == SF_TOK_PAD || v == SF_TOK_BOS || v == SF_TOK_UNK) continue;
            if (best < 0 || p[v] > p[best]) best = v;
        }
        out[made++] = best;
        if (best == SF_TOK_EOS || s->n_tgt >= m->cfg.max_len) break;
        if (!sf_decode_step(m, s, best).ok) return -1;
    }
    return made;
}

/* ---- optimizer state: the whole run in one file ---------------------------------------------- */
/* Layout (little-endian): magic[8] version u32, task[16], seed u64, batch u32, step u64,
 * lr min_lr_frac f32, warmup total u32, beta1 beta2 eps weight_decay clip f32, n_params u64 (92 bytes);
 * version 2: model_bytes u64, the checkpoint (.sfm) of the weights at that step, zeros to a multiple of 4;
 * then m[n_params] v[n_params] f32, and the crc32 of everything before it. Version 1 (read, no longer
 * written) has no embedded checkpoint: its weights were only in the model file beside it. */

/* Returns (in *out) the bytes of tr's checkpoint as the state embeds it: its exact size follows from the
 * model's config and alphabet, so a state file's size can be checked before it is read. */
static sf_err model_bytes(const sf_model *m, size_t *out) {
    size_t alen;
    char *alpha = sf_tokenizer_alphabet(&m->tok, &alen);
    if (!alpha) return sf_fail("out of memory");
    free(alpha);
    return sf_checkpoint_plan(&m->cfg, alen, out);
}

/* Returns the size of a version-2 state holding a checkpoint of mb bytes and n parameters' moments. */
static size_t state_bytes(size_t mb, size_t n) { return ((STATE_HEAD2_BYTES + mb + 3) & ~(size_t)3) + 8 * n + 4; }

sf_err sf_trainer_encode_state(const sf_trainer *tr, const sf_buf *ckpt, const char *task, uint64_t seed, int batch,
                               sf_buf *out) {
    const sf_adamw *o = &tr->opt;
    sf_buf b = {0};
    char name[STATE_TASK_BYTES] = {0};
    strncpy(name, task, STATE_TASK_BYTES - 1);
    sf_buf_put(&b, STATE_MAGIC, 8);
    sf_buf_u32(&b, STATE_VERSION);
    sf_buf_put(&b, name, STATE_TASK_BYTES);
    sf_buf_u64(&b, seed);
    sf_buf_u32(&b, (uint32_t)batch);
    sf_buf_u64(&b, (uint64_t)tr->step);
    sf_buf_f32(&b, o->cfg.lr);
    sf_buf_f32(&b, o->cfg.min_lr_frac);
    sf_buf_u32(&b, (uint32_t)o->cfg.warmup);
    sf_buf_u32(&b, (uint32_t)o->cfg.total);
    sf_buf_f32(&b, o->cfg.beta1);
    sf_buf_f32(&b, o->cfg.beta2);
    sf_buf_f32(&b, o->cfg.eps);
    sf_buf_f32(&b, o->cfg.weight_decay);
    sf_buf_f32(&b, o->cfg.clip);
    sf_buf_u64(&b, (uint64_t)o->n);
    sf_buf_u64(&b, (uint64_t)ckpt->len);
    sf_buf_put(&b, ckpt->data, ckpt->len);
    while (b.len % 4) sf_buf_u8(&b, 0);
    for (size_t i = 0; i < o->n; i++) sf_buf_f32(&b, o->m[i]);
    for (size_t i = 0; i < o->n; i++) sf_buf_f32(&b, o->v[i]);
    if (!b.failed) sf_buf_u32(&b, sf_crc32(0, b.data, b.len));
    if (b.failed) {
        sf_buf_free(&b);
        return sf_fail("out of memory encoding the optimizer state");
    }
    *out = b;
    return sf_ok();
}

/* Writes the state; see trainer.h. */
sf_err sf_trainer_save_state(const sf_trainer *tr, const char *path, const char *task, uint64_t seed, int batch) {
    sf_buf ckpt, b;
    sf_err e = sf_checkpoint_encode(tr->m, &ckpt);
    if (!e.ok) return sf_err_wrap(e, path);
    e = sf_trainer_encode_state(tr, &ckpt, task, seed, batch, &b);
    sf_buf_free(&ckpt);
    if (!e.ok) return sf_err_wrap(e, path);
    e = sf_write_file_atomic(path, b.data, b.len);
    sf_buf_free(&b);
    return e;
}

/* Reads the state into tr; see trainer.h. */
sf_err sf_trainer_load_state(sf_trainer *tr, const char *path, const char *task, uint64_t *seed, int *batch) {
    /* the header first: a file that is not a state for this model's size is refused before it is read */
    sf_file f;
    sf_err e = sf_file_open(&f, path, SF_MAX_FILE_BYTES);
    if (!e.ok) return e;
    unsigned char head[STATE_HEAD2_BYTES];
    if (f.size < STATE_HEAD_BYTES + 4 || !sf_file_read_at(&f, 0, head, STATE_HEAD_BYTES).ok ||
        memcmp(head, STATE_MAGIC, 8) != 0) {
        sf_file_close(&f);
        return sf_fail("%s: not an optimizer state (it does not start with \"%s\")", path, STATE_MAGIC);
    }
    uint32_t version = sf_le_u32(head + 8);
    uint64_t claimed = (uint64_t)sf_le_u32(head + STATE_HEAD_BYTES - 8) |
                       (uint64_t)sf_le_u32(head + STATE_HEAD_BYTES - 4) << 32;
    size_t n = tr->opt.n, mb = 0, want = STATE_HEAD_BYTES + 8 * n + 4, moments_at = STATE_HEAD_BYTES;
    if (version == STATE_VERSION) { /* the embedded checkpoint must be exactly this model's size */
        if (!(e = model_bytes(tr->m, &mb)).ok) { sf_file_close(&f); return sf_err_wrap(e, path); }
        want = state_bytes(mb, n);
        moments_at = (STATE_HEAD2_BYTES + mb + 3) & ~(size_t)3;
    } else if (version != 1) {
        sf_file_close(&f);
        return sf_fail("%s: byte 8: version %u; expected 1 or %d", path, version, STATE_VERSION);
    }
    if (claimed != n || f.size != want) {
        sf_file_close(&f);
        return sf_fail("%s: the state is %zu bytes and for %llu parameters; this model's (%zu parameters) is %zu bytes",
                       path, f.size, (unsigned long long)claimed, n, want);
    }
    unsigned char *data;
    e = sf_file_read_all(&f, &data);
    size_t len = f.size;
    sf_file_close(&f);
    if (!e.ok) return e;
    sf_reader r = {data, len, 0};
    const unsigned char *magic, *name;
    uint32_t ubatch, warmup, total;
    uint64_t step, n64, mb64 = 0;
    sf_adamw_cfg c;
    sf_model saved;
    memset(&saved, 0, sizeof saved);
    if (sf_crc32(0, data, len - 4) != sf_le_u32(data + len - 4)) {
        free(data);
        return sf_fail("%s: checksum mismatch (not an optimizer state, or damaged)", path);
    }
    r.len = len - 4;
    if (!(e = sf_read_bytes(&r, &magic, 8, "magic")).ok) goto done;
    if (!(e = sf_read_u32(&r, &version, "version")).ok) goto done;
    if (!(e = sf_read_bytes(&r, &name, STATE_TASK_BYTES, "task")).ok) goto done;
    if (strncmp((const char *)name, task, STATE_TASK_BYTES) != 0) {
        char got[STATE_TASK_BYTES + 1] = {0};
        memcpy(got, name, STATE_TASK_BYTES);
        for (int i = 0; i < STATE_TASK_BYTES; i++)
            if (got[i] && ((unsigned char)got[i] < 0x20 || (unsigned char)got[i] >= 0x7F)) got[i] = '?';
        e = sf_fail("the state belongs to task '%s', not '%s'", got, task);
        goto done;
    }
    if (!(e = sf_read_u64(&r, seed, "seed")).ok || !(e = sf_read_u32(&r, &ubatch, "batch")).ok ||
        !(e = sf_read_u64(&r, &step, "step")).ok || !(e = sf_read_f32(&r, &c.lr, "lr")).ok ||
        !(e = sf_read_f32(&r, &c.min_lr_frac, "min_lr_frac")).ok || !(e = sf_read_u32(&r, &warmup, "warmup")).ok ||
        !(e = sf_read_u32(&r, &total, "total")).ok || !(e = sf_read_f32(&r, &c.beta1, "beta1")).ok ||
        !(e = sf_read_f32(&r, &c.beta2, "beta2")).ok || !(e = sf_read_f32(&r, &c.eps, "eps")).ok ||
        !(e = sf_read_f32(&r, &c.weight_decay, "weight_decay")).ok || !(e = sf_read_f32(&r, &c.clip, "clip")).ok ||
        !(e = sf_read_u64(&r, &n64, "parameter count")).ok)
        goto done;
    if (version == STATE_VERSION) { /* the model of the same step, parsed and checked like any checkpoint */
        const unsigned char *ck;
        if (!(e = sf_read_u64(&r, &mb64, "the embedded model's size")).ok) goto done;
        if (mb64 != mb) { e = sf_fail("byte 92: the embedded model is %llu bytes; expected %zu", (unsigned long long)mb64, mb); goto done; }
        if (!(e = sf_read_bytes(&r, &ck, mb, "the embedded model")).ok) goto done;
        if (!(e = sf_sfm_load_buffer(ck, mb, &saved)).ok) { e = sf_err_wrap(e, "the embedded model"); goto done; }
        size_t la, lb;
        char *a = sf_tokenizer_alphabet(&saved.tok, &la), *b = sf_tokenizer_alphabet(&tr->m->tok, &lb);
        int same = a && b && la == lb && memcmp(a, b, la) == 0 && memcmp(&saved.cfg, &tr->m->cfg, sizeof saved.cfg) == 0;
        free(a);
        free(b);
        if (!same) { e = sf_fail("its embedded model has another config or alphabet than the model being trained"); goto done; }
    }
    /* the limits the command line has: a small file must not ask for a 400 MB batch or a negative total */
    if (ubatch < 1 || ubatch > SF_TRAIN_MAX_BATCH || total < 1 || total > SF_TRAIN_MAX_STEPS ||
        warmup > SF_TRAIN_MAX_STEPS || step > SF_TRAIN_MAX_STEPS) {
        e = sf_fail("implausible batch (%u), schedule (%u warmup, %u total) or step (%llu) values; the limits are %d "
                    "examples and %d steps", ubatch, warmup, total, (unsigned long long)step, SF_TRAIN_MAX_BATCH,
                    SF_TRAIN_MAX_STEPS);
        goto done;
    }
    if (!(isfinite(c.lr) && c.lr > 0 && c.lr <= 10) || !(c.min_lr_frac >= 0 && c.min_lr_frac <= 1) ||
        !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1) || !(isfinite(c.eps) && c.eps > 0) ||
        !(isfinite(c.weight_decay) && c.weight_decay >= 0) || !(isfinite(c.clip) && c.clip >= 0)) {
        e = sf_fail("implausible optimizer settings (lr, betas, eps, weight decay or clip)");
        goto done;
    }
    for (size_t i = 0; i < 2 * n; i++) { /* checked before anything in tr changes */
        float x = sf_le_f32(data + moments_at + 4 * i);
        if (!isfinite(x) || (i >= n && x < 0)) {
            e = sf_fail("byte %zu: moment value %zu is %g; expected a finite value (and >= 0 for the second moment)",
                        moments_at + 4 * i, i, (double)x);
            goto done;
        }
    }
    c.warmup = (int)warmup;
    c.total = (int)total;
    for (size_t i = 0; i < n; i++) tr->opt.m[i] = sf_le_f32(data + moments_at + 4 * i);
    for (size_t i = 0; i < n; i++) tr->opt.v[i] = sf_le_f32(data + moments_at + 4 * (n + i));
    if (saved.params) memcpy(tr->m->params, saved.params, n * sizeof(float)); /* the weights of the same step */
    tr->opt.cfg = c;
    tr->opt.t = (long)step;
    tr->step = (long)step;
    *batch = (int)ubatch;
    e = sf_ok();
done:
    sf_model_free(&saved);
    free(data);
    return e.ok ? e : sf_err_wrap(e, path);
}
