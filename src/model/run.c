/* run.c - a full traced pass: encoder, then the decoder step by step with the KV cache. */
#include "run.h"

#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    if (c->family == SF_FAMILY_ENCDEC) {
        e = sf_tokenizer_encode(&m->tok, input, strlen(input), ids, L, &n);
        if (!e.ok) goto done;
        if (n == 0) { e = sf_fail("input: empty; the encoder needs at least one character"); goto done; }
        if (!(e = sf_encode(m, s, ids, n)).ok) goto done;
        ids[0] = SF_TOK_BOS;
        given = 1;
    } else {
        ids[0] = SF_TOK_BOS;
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
        int made = 0, V = c->vocab_size;
        float *logits = malloc((size_t)V * sizeof *logits);
        if (!logits) { e = sf_fail("run: out of memory"); goto done; }
        /* generating stops when the sequence is full: max_len, or what the record cap allows */
        int full = sf_seq_max_positions(c);
        if (full > L) full = L;
        while (s->n_tgt < full && (o->max_new <= 0 || made < o->max_new)) {
            /* the model's own logits, except that <pad>, <bos> and <unk> are never chosen mid-sequence */
            memcpy(logits, s->logits + (size_t)(s->n_tgt - 1) * V, (size_t)V * sizeof *logits);
            logits[SF_TOK_PAD] = logits[SF_TOK_BOS] = logits[SF_TOK_UNK] = -INFINITY;
            int next = sf_sample(&o->sampler, logits, V, &rng, NULL);
            if (next == SF_TOK_EOS) break;
            if (!(e = sf_decode_step(m, s, next)).ok) { free(logits); goto done; }
            made++;
        }
        free(logits);
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
