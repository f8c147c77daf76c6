/* ops.c - forward (and, for the trainer, backward) passes of every op the model uses. */
#include "ops.h"

#include <math.h>

void sf_matmul_forward(float *out, const float *in, const float *w, const float *bias, int N, int IC,
                       int OC) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * IC;
        float *y = out + (size_t)n * OC;
        for (int o = 0; o < OC; o++) {
            const float *wrow = w + (size_t)o * IC;
            float acc = bias ? bias[o] : 0.0f;
            for (int i = 0; i < IC; i++) acc += x[i] * wrow[i];
            y[o] = acc;
        }
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

void sf_relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

#define SF_GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void sf_gelu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanhf(SF_GELU_K * (x + 0.044715f * x * x * x)));
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

float sf_dot(const float *a, const float *b, int n) {
    float acc = 0.0f;
    for (int i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}
