/* sample.c - greedy, temperature and top-k sampling. */
#include "sample.h"

#include <math.h>
#include <stdlib.h>

int sf_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

int sf_top_k(const float *x, int n, int k, int *idx) {
    /* one pass keeping the k best so far in order (largest first, the earlier index first on ties):
     * O(n) for a 50257-token vocabulary, where choosing k times over all n took milliseconds per frame */
    if (k > n) k = n;
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (kept == k && !(x[i] > x[idx[k - 1]])) continue;
        int p = kept < k ? kept++ : k - 1; /* the slot that opens: a new one, or the last one's */
        while (p > 0 && !(x[idx[p - 1]] >= x[i])) {
            idx[p] = idx[p - 1];
            p--;
        }
        idx[p] = i;
    }
    return k;
}

int sf_sample(const sf_sampler *s, const float *logits, int n, sf_rng *rng, float *probs_out) {
    int greedy = s->temperature <= 0.0f;
    int k = s->top_k > 0 && s->top_k < n ? s->top_k : n;
    /* the k-th largest logit is the cut-off; ties at the cut-off stay in */
    float cut = -INFINITY;
    if (k < n) {
        int *idx = malloc((size_t)k * sizeof *idx);
        if (idx) {
            sf_top_k(logits, n, k, idx);
            cut = logits[idx[k - 1]];
            free(idx);
        }
    }
    int best = sf_argmax(logits, n);
    float maxv = logits[best];
    double sum = 0.0;
    float *p = probs_out ? probs_out : malloc((size_t)n * sizeof *p);
    if (!p) return best;
    for (int i = 0; i < n; i++) {
        if (greedy) p[i] = i == best ? 1.0f : 0.0f;
        else p[i] = logits[i] >= cut ? expf((logits[i] - maxv) / s->temperature) : 0.0f;
        sum += p[i];
    }
    int choice = best;
    if (!greedy) {
        for (int i = 0; i < n; i++) p[i] = (float)(p[i] / sum);
        float u = sf_rng_uniform(rng), acc = 0.0f;
        choice = -1;
        for (int i = 0; i < n; i++) {
            if (p[i] == 0.0f) continue;
            acc += p[i];
            choice = i;
            if (u < acc) break;
        }
        if (choice < 0) choice = best;
    }
    if (!probs_out) free(p);
    return choice;
}
