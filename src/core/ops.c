/* ops.c - forward (and, for the trainer, backward) passes of every op the model uses. */
#include "ops.h"

#include <math.h>
#include <string.h>

#include "pool.h"

/* Returns the dot product of a(n) and b(n), summed in 8 independent lanes so the compiler can use
 * SIMD without reordering anything it was not told to (the lanes are added in a fixed order). */
static inline float dot_lanes(const float *a, const float *b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The two matmuls are most of the time of training. Where GCC can, each is built twice, for baseline
 * x86-64 and for AVX2 processors, and the loader picks one: the same arithmetic (explicit lanes, no
 * contraction into FMA in ISO C mode), so the same bits, on wider registers. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SF_HOT_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define SF_HOT_KERNEL
#endif

SF_HOT_KERNEL
void sf_matmul_forward(float *out, const float *in, const float *w, const float *bias, int N, int IC,
                       int OC) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * IC;
        float *y = out + (size_t)n * OC;
        for (int o = 0; o < OC; o++) y[o] = (bias ? bias[o] : 0.0f) + dot_lanes(x, w + (size_t)o * IC, IC);
    }
}

SF_HOT_KERNEL
void sf_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int N, int IC, int OC) {
    /* y[n][o] = sum_i x[n][i] w[o][i] + b[o], so dx[n][i] += d w[o][i], dw[o][i] += d x[n][i], db[o] += d.
     * Every sum runs in one fixed order (dx over o ascending, dw and db over n ascending); blocks of
     * four terms are added one after another, so blocking changes speed, not results. */
    if (dinp)
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * OC;
            float *restrict dx = dinp + (size_t)n * IC;
            int o = 0;
            for (; o + 4 <= OC; o += 4) {
                float d0 = dy[o], d1 = dy[o + 1], d2 = dy[o + 2], d3 = dy[o + 3];
                if (d0 == 0.0f && d1 == 0.0f && d2 == 0.0f && d3 == 0.0f) continue; /* ignored positions */
                const float *w0 = weight + (size_t)o * IC, *w1 = w0 + IC, *w2 = w1 + IC, *w3 = w2 + IC;
                for (int i = 0; i < IC; i++) dx[i] = (((dx[i] + d0 * w0[i]) + d1 * w1[i]) + d2 * w2[i]) + d3 * w3[i];
            }
            for (; o < OC; o++) {
                float d = dy[o];
                const float *wrow = weight + (size_t)o * IC;
                for (int i = 0; i < IC; i++) dx[i] += d * wrow[i];
            }
        }
    for (int o = 0; o < OC; o++) {
        if (dweight) {
            float *restrict dw = dweight + (size_t)o * IC;
            int n = 0;
            for (; n + 4 <= N; n += 4) {
                float d0 = dout[(size_t)n * OC + o], d1 = dout[(size_t)(n + 1) * OC + o];
                float d2 = dout[(size_t)(n + 2) * OC + o], d3 = dout[(size_t)(n + 3) * OC + o];
                if (d0 == 0.0f && d1 == 0.0f && d2 == 0.0f && d3 == 0.0f) continue;
                const float *x0 = inp + (size_t)n * IC, *x1 = x0 + IC, *x2 = x1 + IC, *x3 = x2 + IC;
                for (int i = 0; i < IC; i++) dw[i] = (((dw[i] + d0 * x0[i]) + d1 * x1[i]) + d2 * x2[i]) + d3 * x3[i];
            }
            for (; n < N; n++) {
                float d = dout[(size_t)n * OC + o];
                const float *x = inp + (size_t)n * IC;
                for (int i = 0; i < IC; i++) dw[i] += d * x[i];
            }
        }
        if (dbias)
            for (int n = 0; n < N; n++) dbias[o] += dout[(size_t)n * OC + o];
    }
}

void sf_softmax_forward(float *out, const float *in, int n) {
    float maxv = -INFINITY;
    for (int i = 0; i < n; i++)
        if (in[i] > maxv) maxv = in[i];
    if (maxv == -INFINITY) { /* every key masked: nothing to attend to */
        for (int i = 0; i < n; i++) out[i] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        float e = in[i] == -INFINITY ? 0.0f : expf(in[i] - maxv);
        out[i] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) out[i] *= inv;
}

void sf_softmax_backward(float *dinp, const float *dprobs, const float *probs, int n) {
    /* dL/din_i = sum_j dL/dp_j dp_j/din_i = p_i (dL/dp_i - sum_j p_j dL/dp_j) */
    double dot = 0.0;
    for (int i = 0; i < n; i++)
        if (probs[i] != 0.0f) dot += (double)probs[i] * dprobs[i];
    for (int i = 0; i < n; i++)
        if (probs[i] != 0.0f) dinp[i] += probs[i] * (dprobs[i] - (float)dot);
}

void sf_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                          const float *b, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float m = 0.0f;
        for (int i = 0; i < C; i++) m += x[i];
        m /= (float)C;
        float v = 0.0f;
        for (int i = 0; i < C; i++) {
            float d = x[i] - m;
            v += d * d;
        }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + eps);
        for (int i = 0; i < C; i++) y[i] = (x[i] - m) * s * w[i] + b[i];
        if (mean) mean[n] = m;
        if (rstd) rstd[n] = s;
    }
}

void sf_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, const float *mean, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        /* 1. the gradient reaching the normalised value xhat = (x - m) s is dnorm = dy * w; its two means */
        float dnorm_mean = 0.0f, dnorm_xhat_mean = 0.0f;
        for (int i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            float dnorm = dy[i] * weight[i];
            dnorm_mean += dnorm;
            dnorm_xhat_mean += dnorm * xhat;
        }
        dnorm_mean /= (float)C;
        dnorm_xhat_mean /= (float)C;
        /* 2. gain and bias: y = xhat w + b */
        for (int i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            if (dweight) dweight[i] += dy[i] * xhat;
            if (dbias) dbias[i] += dy[i];
        }
        /* 3. input: the mean and the variance depend on every x, which removes the two means above */
        for (int i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            float dnorm = dy[i] * weight[i];
            dx[i] += s * (dnorm - dnorm_mean - xhat * dnorm_xhat_mean);
        }
    }
}

void sf_relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void sf_relu_backward(float *dinp, const float *dout, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (in[i] > 0.0f) dinp[i] += dout[i];
}

#define SF_GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void sf_gelu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanhf(SF_GELU_K * (x + 0.044715f * x * x * x)));
    }
}

void sf_gelu_backward(float *dinp, const float *dout, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        /* y = 0.5 x (1 + tanh u), u = k (x + 0.044715 x^3):
         * dy/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 * 0.044715 x^2) */
        float x = in[i];
        float u = SF_GELU_K * (x + 0.044715f * x * x * x);
        float th = tanhf(u);
        float du = SF_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
        dinp[i] += dout[i] * grad;
    }
}

void sf_add_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void sf_sinusoid_forward(float *out, int pos, int C) {
    for (int i = 0; i < C; i += 2) {
        /* computed in double so the encoding is exact to float precision at every position */
        double angle = (double)pos / pow(10000.0, (double)i / (double)C);
        out[i] = (float)sin(angle);
        if (i + 1 < C) out[i + 1] = (float)cos(angle);
    }
}

float sf_dot(const float *a, const float *b, int n) { return dot_lanes(a, b, n); }

/* ---- loss ------------------------------------------------------------------------------------- */

float sf_crossentropy_forward(const float *logits, int target, int V) {
    float maxv = -INFINITY;
    for (int i = 0; i < V; i++)
        if (logits[i] > maxv) maxv = logits[i];
    /* -log softmax(z)[t] = log sum_i exp(z_i - max) - (z_t - max) */
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += exp((double)logits[i] - maxv);
    return (float)(log(sum) - ((double)logits[target] - maxv));
}

void sf_crossentropy_softmax_backward(float *dlogits, const float *probs, int target, float dloss, int V) {
    /* d(-log p_t)/dz_i = p_i - [i == t] */
    for (int i = 0; i < V; i++) dlogits[i] += dloss * (probs[i] - (i == target ? 1.0f : 0.0f));
}

/* ---- one row: the decoder step ------------------------------------------------------------------- */

/* A matrix is split over threads only when it is this large (floats): below it one core streams it in
 * less time than the threads take to start. */
#define SF_MATVEC_THREADED ((size_t)1 << 17)

#if defined(__GNUC__)
typedef float sf_v8 __attribute__((vector_size(32))); /* dot_lanes' 8 lanes as one value */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(sf_v8)) /* unaligned; a macro, so no vector crosses a call */
#endif

/* Writes out[o] for rows [o0, o1): each row's dot product in 8 lanes added in dot_lanes' fixed order,
 * then its tail, then the bias added as sf_matmul_forward adds it. Four rows at a time share each read
 * of `in`; their lanes are vectors, lane k of a row doing exactly what dot_lanes' acc[k] does. */
SF_HOT_KERNEL
static void matvec_rows(float *out, const float *in, const float *w, const float *bias, int IC, int o0, int o1) {
    int o = o0;
#if defined(__GNUC__)
    int n8 = IC & ~7;
    for (; o + 4 <= o1; o += 4) {
        const float *wr[4] = {w + (size_t)o * IC, w + (size_t)(o + 1) * IC, w + (size_t)(o + 2) * IC,
                              w + (size_t)(o + 3) * IC};
        sf_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int i = 0; i < n8; i += 8) {
            sf_v8 x, y0, y1, y2, y3;
            LOAD8(x, in + i);
            LOAD8(y0, wr[0] + i);
            LOAD8(y1, wr[1] + i);
            LOAD8(y2, wr[2] + i);
            LOAD8(y3, wr[3] + i);
            a0 += x * y0;
            a1 += x * y1;
            a2 += x * y2;
            a3 += x * y3;
        }
        sf_v8 acc[4] = {a0, a1, a2, a3};
        for (int r = 0; r < 4; r++) {
            sf_v8 v = acc[r];
            float s = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
            for (int i = n8; i < IC; i++) s += in[i] * wr[r][i];
            out[o + r] = (bias ? bias[o + r] : 0.0f) + s;
        }
    }
#endif
    for (; o < o1; o++) out[o] = (bias ? bias[o] : 0.0f) + dot_lanes(in, w + (size_t)o * IC, IC);
}

/* One matrix-vector product, cut into chunks of rows for the pool. */
typedef struct { float *out; const float *in, *w, *bias; int IC, OC; } matvec_job;

#define MATVEC_CHUNK 64 /* rows per chunk: a multiple of 4, about 200 KB of a GPT-2 matrix */

static void matvec_chunk(void *arg, int chunk) {
    const matvec_job *j = arg;
    int o0 = chunk * MATVEC_CHUNK, o1 = o0 + MATVEC_CHUNK < j->OC ? o0 + MATVEC_CHUNK : j->OC;
    matvec_rows(j->out, j->in, j->w, j->bias, j->IC, o0, o1);
}

void sf_matvec_forward(float *out, const float *in, const float *w, const float *bias, int IC, int OC) {
    if ((size_t)OC * (size_t)IC < SF_MATVEC_THREADED) {
        matvec_rows(out, in, w, bias, IC, 0, OC);
        return;
    }
    /* each row is one chunk's, whole: the threads change where a row is summed, never how */
    matvec_job j = {out, in, w, bias, IC, OC};
    sf_parallel(matvec_chunk, &j, (OC + MATVEC_CHUNK - 1) / MATVEC_CHUNK);
}
