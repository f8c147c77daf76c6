/* run.c - a full traced pass: encoder, then the decoder step by step with the KV cache. */
#include "run.h"

#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Makes rows [0, rows) of s->sampled exist, zero-filling new rows (doubling); returns 0 when memory is short. */
static int sampled_reserve(sf_seq *s, int V, int rows) {
    if (rows <= s->cap_sampled) return 1;
    int cap = s->cap_sampled ? s->cap_sampled : 16;
    while (cap < rows) cap *= 2;
    float *p = realloc(s->sampled, (size_t)cap * V * sizeof *p);
    if (!p) return 0;
    memset(p + (size_t)s->cap_sampled * V, 0, (size_t)(cap - s->cap_sampled) * V * sizeof *p);
    s->sampled = p;
    s->cap_sampled = cap;
    return 1;
}

int sf_run_predicted(const sf_model *m, const sf_seq *s, int t) {
    return sf_argmax(s->probs + (size_t)t * m->cfg.vocab_size, m->cfg.vocab_size);
}

sf_err sf_run(const sf_model *m, sf_seq *s, const sf_run_opts *o, int *n_prompt) {
    const sf_config *c = &m->cfg;
    int L = c->max_len; /* the most positions the model takes; the record grows towards it as tokens run */
    int *ids = malloc((size_t)L * sizeof *ids);
    if (!ids) return sf_fail("run: out of memory");
    sf_err e;
    int n = 0, given = 0;
    const char *input = o->input ? o->input : "";
    s->n_src = s->n_tgt = 0;
    s->has_sampled = 0;
    if (s->sampled) memset(s->sampled, 0, (size_t)s->cap_sampled * c->vocab_size * sizeof *s->sampled);
    if (c->family == SF_FAMILY_ENCDEC) {
        e = sf_tokenizer_encode(&m->tok, input, strlen(input), ids, L, &n);
        if (!e.ok) goto done;
        if (n == 0) { e = sf_fail("input: empty; the encoder needs at least one character"); goto done; }
        if (!(e = sf_encode(m, s, ids, n)).ok) goto done;
        ids[0] = sf_tokenizer_bos(&m->tok);
        given = 1;
    } else {
        ids[0] = sf_tokenizer_bos(&m->tok);
        e = sf_tokenizer_encode(&m->tok, input, strlen(input), ids + 1, L - 1, &n);
        if (!e.ok) goto done;
        given = 1 + n;
    }
    if (o->target) {
        int nt = 0;
        e = sf_tokenizer_encode(&m->tok, o->target, strlen(o->target), ids + given, L - given, &nt);
        if (!e.ok) { e = sf_err_wrap(e, "target"); goto done; }
        given += nt;
    }
    /* the given positions are known: room for them at once, rather than a move every doubling */
    if (!(e = sf_seq_reserve(s, given)).ok) goto done;
    for (int t = 0; t < given; t++)
        if (!(e = sf_decode_step(m, s, ids[t])).ok) goto done;
    if (!o->target) {
        sf_rng rng;
        sf_rng_seed(&rng, o->seed);
        int made = 0, V = c->vocab_size, eos = sf_tokenizer_eos(&m->tok);
        float *logits = malloc((size_t)V * sizeof *logits);
        if (!logits) { e = sf_fail("run: out of memory"); goto done; }
        /* generating stops when the sequence is full: max_len, or what the record cap allows (GPT-2 small:
         * the most positions within SF_MAX_RECORD_BYTES, which sf_seq_reserve grows to in one last move) */
        int full = sf_seq_max_positions(c);
        if (full > L) full = L;
        while (s->n_tgt < full && (o->max_new < 0 || made < o->max_new)) {
            /* the model's own logits, except that <pad>, <bos> and <unk> are never chosen mid-sequence */
            memcpy(logits, s->logits + (size_t)(s->n_tgt - 1) * V, (size_t)V * sizeof *logits);
            for (int id = 0; id < V && id < SF_TOK_FIRST_CHAR; id++)
                if (sf_tokenizer_is_control(&m->tok, id)) logits[id] = -INFINITY;
            /* record the distribution actually drawn from (after temperature and top-k; one-hot when greedy) */
            if (!sampled_reserve(s, V, s->n_tgt)) { free(logits); e = sf_fail("run: out of memory"); goto done; }
            int next = sf_sample(&o->sampler, logits, V, &rng, s->sampled + (size_t)(s->n_tgt - 1) * V);
            s->has_sampled = 1;
            if (next == eos) break;
            if (!(e = sf_decode_step(m, s, next)).ok) { free(logits); goto done; }
            made++;
        }
        free(logits);
        if (s->has_sampled && !sampled_reserve(s, V, s->n_tgt)) { e = sf_fail("run: out of memory"); goto done; }
    }
    /* finite weights can still overflow float32 on the way (1e30 x 1e30): such a run is refused, with
     * where it first happened, rather than handed to panels that would have to draw NaN */
    sf_trace tr;
    if ((e = sf_trace_build(&tr, m, s)).ok) {
        e = sf_trace_check_finite(&tr);
        sf_trace_free(&tr);
    }
done:
    if (n_prompt) *n_prompt = given;
    free(ids);
    return e;
}
