/* trainer.c - batched, multi-threaded, deterministic training steps; greedy decoding; optimizer state. */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backward.h"
#include "core/io.h"
#include "model/sample.h"

#define STATE_MAGIC "SFOPTIM"  /* 7 letters and a NUL */
#define STATE_VERSION 1
#define STATE_TASK_BYTES 16

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
    tr->chunk_grad = calloc((size_t)SF_TRAIN_CHUNKS * m->n_params, sizeof *tr->chunk_grad);
    tr->grad = calloc(m->n_params, sizeof *tr->grad);
    if (!tr->act || !tr->gact || !tr->chunk_grad || !tr->grad) {
        sf_trainer_free(tr);
        return sf_fail("trainer: out of memory");
    }
    for (int t = 0; t < tr->n_threads; t++) {
        if (!(e = sf_seq_build(&tr->act[t], &m->cfg)).ok || !(e = sf_seq_build(&tr->gact[t], &m->cfg)).ok) {
            sf_trainer_free(tr);
            return e;
        }
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
    free(tr->chunk_grad);
    free(tr->grad);
    sf_adamw_free(&tr->opt);
    memset(tr, 0, sizeof *tr);
}

/* Returns how many chunks a batch of n examples is cut into (a function of n only). */
static int n_chunks(int n) { return n < SF_TRAIN_CHUNKS ? n : SF_TRAIN_CHUNKS; }

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

/* Runs one optimizer step over ex(n); see trainer.h. */
sf_err sf_trainer_step(sf_trainer *tr, const sf_example *ex, int n, sf_step_stats *st) {
    const sf_model *m = tr->m;
    size_t P = m->n_params;
    if (n < 1) return sf_fail("trainer: empty batch");
    for (int i = 0; i < n; i++) {
        sf_err e = check_example(m, &ex[i], i);
        if (!e.ok) return e;
    }
    int K = n_chunks(n);
    double loss[SF_TRAIN_CHUNKS] = {0};
    long count[SF_TRAIN_CHUNKS] = {0};
    int bad[SF_TRAIN_CHUNKS] = {0};
    int encdec = m->cfg.family == SF_FAMILY_ENCDEC;

    /* 1. per chunk, in any order on any thread: zero its buffer, add its examples' gradients in order */
#pragma omp parallel for schedule(dynamic, 1) num_threads(tr->n_threads)
    for (int c = 0; c < K; c++) {
        int th = thread_num();
        float *g = tr->chunk_grad + (size_t)c * P;
        memset(g, 0, P * sizeof *g);
        for (int i = c * n / K; i < (c + 1) * n / K; i++) {
            const sf_example *x = &ex[i];
            int counted = 0;
            float l = sf_forward_backward(m, &tr->act[th], &tr->gact[th], x->src, encdec ? x->n_src : 0, x->in,
                                          x->tgt, x->n, g, &counted);
            if (!isfinite(l)) bad[c] = 1;
            loss[c] += l;
            count[c] += counted;
        }
    }
    double total_loss = 0.0;
    long tokens = 0;
    for (int c = 0; c < K; c++) {
        if (bad[c]) return sf_fail("trainer: step %ld: the loss is not finite (diverged, or an invalid example)",
                                   tr->step);
        total_loss += loss[c];
        tokens += count[c];
    }
    if (tokens == 0) return sf_fail("trainer: step %ld: no target token counts in the batch", tr->step);

    /* 2. reduce the chunks in chunk order, scaled to the mean over counted tokens */
    float inv = (float)(1.0 / (double)tokens);
    long long PP = (long long)P, SPAN = 4096; /* each thread sums whole spans, chunk after chunk */
#pragma omp parallel for schedule(static) num_threads(tr->n_threads)
    for (long long i0 = 0; i0 < PP; i0 += SPAN) {
        size_t a = (size_t)i0, e = (size_t)(i0 + SPAN < PP ? i0 + SPAN : PP);
        float *restrict g = tr->grad;
        memcpy(g + a, tr->chunk_grad + a, (e - a) * sizeof *g);
        for (int c = 1; c < K; c++) {
            const float *restrict cg = tr->chunk_grad + (size_t)c * P;
            for (size_t i = a; i < e; i++) g[i] += cg[i];
        }
        for (size_t i = a; i < e; i++) g[i] *= inv;
    }

    /* 3. clip the global norm, then update */
    double norm = sf_grad_clip(tr->grad, P, tr->opt.cfg.clip);
    if (!isfinite(norm)) return sf_fail("trainer: step %ld: the gradient is not finite", tr->step);
    float lr = sf_lr_at(&tr->opt.cfg, tr->step);
    sf_adamw_step(&tr->opt, m->params, tr->grad, lr);
    tr->step++;
    if (st) {
        st->loss = total_loss / (double)tokens;
        st->tokens = tokens;
        st->grad_norm = norm;
        st->lr = lr;
    }
    return sf_ok();
}

/* Returns the mean held-out (or any) loss per counted token over ex(n), computed on the threads. */
double sf_trainer_loss(sf_trainer *tr, const sf_example *ex, int n, long *tokens) {
    const sf_model *m = tr->m;
    int encdec = m->cfg.family == SF_FAMILY_ENCDEC;
    int K = n_chunks(n);
    double loss[SF_TRAIN_CHUNKS] = {0};
    long count[SF_TRAIN_CHUNKS] = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(tr->n_threads)
    for (int c = 0; c < K; c++) {
        int th = thread_num();
        for (int i = c * n / K; i < (c + 1) * n / K; i++) {
            int counted = 0;
            loss[c] += sf_forward_loss(m, &tr->act[th], ex[i].src, encdec ? ex[i].n_src : 0, ex[i].in, ex[i].tgt,
                                       ex[i].n, &counted);
            count[c] += counted;
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
        if (best == SF_TOK_EOS || s->n_tgt >= s->L) break;
        if (!sf_decode_step(m, s, best).ok) return -1;
    }
    return made;
}

/* ---- optimizer state sidecar ------------------------------------------------------------------ */
/* Layout (little-endian): magic[8] version u32, task[16], seed u64, batch u32, step u64,
 * lr min_lr_frac f32, warmup total u32, beta1 beta2 eps weight_decay clip f32, n_params u64,
 * m[n_params] v[n_params] f32, crc32 of everything before it. */

/* Writes the state; see trainer.h. */
sf_err sf_trainer_save_state(const sf_trainer *tr, const char *path, const char *task, uint64_t seed, int batch) {
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
    for (size_t i = 0; i < o->n; i++) sf_buf_f32(&b, o->m[i]);
    for (size_t i = 0; i < o->n; i++) sf_buf_f32(&b, o->v[i]);
    if (b.failed) {
        sf_buf_free(&b);
        return sf_fail("%s: out of memory encoding the optimizer state", path);
    }
    sf_buf_u32(&b, sf_crc32(0, b.data, b.len));
    sf_err e = b.failed ? sf_fail("%s: out of memory", path) : sf_write_file_atomic(path, b.data, b.len);
    sf_buf_free(&b);
    return e;
}

/* Reads the state into tr; see trainer.h. */
sf_err sf_trainer_load_state(sf_trainer *tr, const char *path, const char *task, uint64_t *seed, int *batch) {
    unsigned char *data;
    size_t len;
    sf_err e = sf_read_file(path, SF_MAX_FILE_BYTES, &data, &len);
    if (!e.ok) return e;
    sf_reader r = {data, len, 0};
    const unsigned char *magic, *name;
    uint32_t version, ubatch, warmup, total;
    uint64_t step, n;
    sf_adamw_cfg c;
    if (len < 4 || sf_crc32(0, data, len - 4) != sf_le_u32(data + len - 4)) {
        free(data);
        return sf_fail("%s: checksum mismatch (not an optimizer state, or damaged)", path);
    }
    r.len = len - 4;
    if (!(e = sf_read_bytes(&r, &magic, 8, "magic")).ok) goto done;
    if (memcmp(magic, STATE_MAGIC, 8) != 0) { e = sf_fail("byte 0: not an optimizer state (magic)"); goto done; }
    if (!(e = sf_read_u32(&r, &version, "version")).ok) goto done;
    if (version != STATE_VERSION) { e = sf_fail("byte 8: version %u; expected %d", version, STATE_VERSION); goto done; }
    if (!(e = sf_read_bytes(&r, &name, STATE_TASK_BYTES, "task")).ok) goto done;
    if (strncmp((const char *)name, task, STATE_TASK_BYTES) != 0) {
        char got[STATE_TASK_BYTES + 1] = {0};
        memcpy(got, name, STATE_TASK_BYTES);
        e = sf_fail("the state belongs to task '%s', not '%s'", got, task);
        goto done;
    }
    if (!(e = sf_read_u64(&r, seed, "seed")).ok || !(e = sf_read_u32(&r, &ubatch, "batch")).ok ||
        !(e = sf_read_u64(&r, &step, "step")).ok || !(e = sf_read_f32(&r, &c.lr, "lr")).ok ||
        !(e = sf_read_f32(&r, &c.min_lr_frac, "min_lr_frac")).ok || !(e = sf_read_u32(&r, &warmup, "warmup")).ok ||
        !(e = sf_read_u32(&r, &total, "total")).ok || !(e = sf_read_f32(&r, &c.beta1, "beta1")).ok ||
        !(e = sf_read_f32(&r, &c.beta2, "beta2")).ok || !(e = sf_read_f32(&r, &c.eps, "eps")).ok ||
        !(e = sf_read_f32(&r, &c.weight_decay, "weight_decay")).ok || !(e = sf_read_f32(&r, &c.clip, "clip")).ok ||
        !(e = sf_read_u64(&r, &n, "parameter count")).ok)
        goto done;
    if (n != tr->opt.n) {
        e = sf_fail("the state is for %llu parameters; the model has %zu", (unsigned long long)n, tr->opt.n);
        goto done;
    }
    if (r.len - r.pos != 2 * n * 4) { e = sf_fail("byte %zu: expected %llu moment values", r.pos, (unsigned long long)(2 * n)); goto done; }
    if (ubatch < 1 || ubatch > 1000000 || total < 1 || warmup > 100000000 || step > 100000000) {
        e = sf_fail("implausible batch, schedule or step values");
        goto done;
    }
    if (!(isfinite(c.lr) && c.lr > 0 && c.lr <= 10) || !(c.min_lr_frac >= 0 && c.min_lr_frac <= 1) ||
        !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1) || !(isfinite(c.eps) && c.eps > 0) ||
        !(isfinite(c.weight_decay) && c.weight_decay >= 0) || !(isfinite(c.clip) && c.clip >= 0)) {
        e = sf_fail("implausible optimizer settings (lr, betas, eps, weight decay or clip)");
        goto done;
    }
    for (size_t i = 0; i < 2 * n; i++) { /* checked before anything in tr changes */
        float x = sf_le_f32(data + r.pos + 4 * i);
        if (!isfinite(x) || (i >= n && x < 0)) {
            e = sf_fail("byte %zu: moment value %zu is %g; expected a finite value (and >= 0 for the second moment)",
                        r.pos + 4 * i, i, (double)x);
            goto done;
        }
    }
    c.warmup = (int)warmup;
    c.total = (int)total;
    for (size_t i = 0; i < n; i++) tr->opt.m[i] = sf_le_f32(data + r.pos + 4 * i);
    for (size_t i = 0; i < n; i++) tr->opt.v[i] = sf_le_f32(data + r.pos + 4 * (n + i));
    tr->opt.cfg = c;
    tr->opt.t = (long)step;
    tr->step = (long)step;
    *batch = (int)ubatch;
    e = sf_ok();
done:
    free(data);
    return e.ok ? e : sf_err_wrap(e, path);
}
