/* heads.c - head-role scores from attention patterns: means of the weight on the previous token, the
 * first key, the diagonal, the anti-diagonal and the induction targets. */
#include "heads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *sf_role_name(int role) {
    static const char *const n[] = {"prev", "first", "self", "anti", "induction"};
    return role >= 0 && role < SF_ROLE_COUNT ? n[role] : "?";
}

const char *sf_role_long_name(int role) {
    static const char *const n[] = {"previous-token", "first-token", "self/diagonal", "anti-diagonal", "induction"};
    return role >= 0 && role < SF_ROLE_COUNT ? n[role] : "?";
}

/* Returns sum / count as a float, or NAN when nothing was counted. */
static float mean_or_nan(double sum, int count) { return count ? (float)(sum / count) : NAN; }

void sf_head_score_pattern(const float *probs, int ld, int nq, int nk, const int *qids, const int *kids, int kind,
                           int causal, float *score) {
    double sum[SF_ROLE_COUNT] = {0};
    int count[SF_ROLE_COUNT] = {0};
    int self = kind == SF_SUB_SELF;
    for (int t = causal ? 1 : 0; t < nq; t++) { /* a causal row 0 sees only itself: it says nothing */
        const float *a = probs + (size_t)t * ld;
        int last = causal ? (t < nk - 1 ? t : nk - 1) : nk - 1; /* the last key row t may see */
        if (self && t >= 1 && t - 1 <= last) { sum[SF_ROLE_PREV] += a[t - 1]; count[SF_ROLE_PREV]++; }
        sum[SF_ROLE_FIRST] += a[0];
        count[SF_ROLE_FIRST]++;
        if (t <= last) { sum[SF_ROLE_SELF] += a[t]; count[SF_ROLE_SELF]++; }
        int anti = nk - 1 - t;
        if (anti >= 0 && anti <= last) { sum[SF_ROLE_ANTI] += a[anti]; count[SF_ROLE_ANTI]++; }
        if (self) { /* the token after each earlier occurrence of this row's token */
            double s = 0.0;
            int found = 0;
            for (int j = 0; j < t && j + 1 <= last; j++)
                if (kids[j] == qids[t]) { s += a[j + 1]; found = 1; }
            if (found) { sum[SF_ROLE_INDUCTION] += s; count[SF_ROLE_INDUCTION]++; }
        }
    }
    for (int r = 0; r < SF_ROLE_COUNT; r++) score[r] = mean_or_nan(sum[r], count[r]);
}

sf_err sf_heads_score(const sf_model *m, const sf_seq *s, sf_head_scores **out, int *n) {
    const sf_config *c = &m->cfg;
    int NH = c->n_heads, L = s->L, encdec = c->family == SF_FAMILY_ENCDEC;
    int per_dec = encdec ? 2 : 1;
    int total = ((s->n_src ? c->n_enc_layers : 0) + (s->n_tgt ? c->n_dec_layers * per_dec : 0)) * NH;
    *out = NULL;
    *n = 0;
    sf_head_scores *h = calloc(total ? (size_t)total : 1, sizeof *h);
    if (!h) return sf_fail("head scores: out of memory");
    int k = 0;
    for (int stack = SF_STACK_ENC; stack <= SF_STACK_DEC; stack++) {
        const sf_stack_rec *st = stack == SF_STACK_ENC ? &s->enc : &s->dec;
        int nq = stack == SF_STACK_ENC ? s->n_src : s->n_tgt;
        int nl = stack == SF_STACK_ENC ? c->n_enc_layers : c->n_dec_layers;
        if (nq == 0) continue;
        for (int l = 0; l < nl; l++)
            for (int sub = SF_SUB_SELF; sub <= SF_SUB_CROSS; sub++) {
                if (sub == SF_SUB_CROSS && (stack == SF_STACK_ENC || !encdec)) continue;
                const sf_attn_rec *a = sub == SF_SUB_CROSS ? &st->layers[l].cross : &st->layers[l].self;
                int nk = sub == SF_SUB_CROSS ? s->n_src : nq;
                const int *kids = sub == SF_SUB_CROSS ? s->enc.ids : st->ids;
                for (int hd = 0; hd < NH; hd++, k++) {
                    h[k].head = (sf_head_ref){stack, l, sub, hd};
                    sf_head_score_pattern(a->probs + (size_t)hd * L * L, L, nq, nk, st->ids, kids, sub,
                                          stack == SF_STACK_DEC && sub == SF_SUB_SELF, h[k].score);
                }
            }
    }
    *out = h;
    *n = k;
    return sf_ok();
}

int sf_role_strongest(const sf_head_scores *h, float threshold) {
    int best = -1;
    for (int r = 0; r < SF_ROLE_COUNT; r++)
        if (!isnan(h->score[r]) && (best < 0 || h->score[r] > h->score[best])) best = r;
    return best >= 0 && h->score[best] >= threshold ? best : -1;
}
