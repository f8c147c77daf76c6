/* ops.h - the math of a Transformer on plain row-major float buffers.
 *
 * Argument order follows llm.c: outputs first, then inputs, then sizes. Size names are fixed:
 * N rows, C channels (model width), OC/IC output/input channels, F feed-forward width.
 * A linear layer's weight is (OC, IC) as in PyTorch, so checkpoints map one-to-one.
 * Backward passes for the trainer live beside their forward in the same file. */
#ifndef SF_OPS_H
#define SF_OPS_H

#include <stddef.h>

#define SF_LN_EPS_DEFAULT 1e-5f

/* SF_VEC before a function compiles it twice, for AVX-512 and for any x86-64, and the loader picks the
 * copy for this processor (GCC's target_clones): its loops then run sixteen lanes wide instead of four.
 * The arithmetic is the same IEEE operations in the same order either way (nothing is fused or
 * reordered: -ffp-contract is off in ISO C), so the bits are too. Other compilers and processors (and
 * sanitizer builds) get the one portable copy. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define SF_VEC __attribute__((target_clones("avx512f", "default")))
#else
#define SF_VEC
#endif

/* out(N,OC) = in(N,IC) . w(OC,IC)^T + bias(OC); bias may be NULL.
 * Each output is one chain of fused multiply-adds (fmaf, one rounding each) over i = 0..IC-1 in
 * ascending order, started at the bias (or 0). So a row's result does not depend on N or on the other
 * rows (one row alone, as the KV-cache step computes it, gives the same bits as in a full pass), and
 * the AVX-512, AVX2 and plain C kernels (chosen at run time) give the same bits. */
void sf_matmul_forward(float *out, const float *in, const float *w, const float *bias, int N, int IC,
                       int OC);
/* out(OC) = in(IC) . w(OC,IC)^T + bias(OC) for a single row (a decoder step): the same chains as one row
 * of sf_matmul_forward (the bias, then fmaf over i ascending), so bit for bit the same numbers with every
 * kernel set, but laid out for a row: the weights are streamed once, eight rows side by side, and a large
 * matrix is cut into chunks of rows shared by the pool's threads (pool.h; STEPFORMER_THREADS). bias may
 * be NULL. */
void sf_matvec_forward(float *out, const float *in, const float *w, const float *bias, int IC, int OC);
/* Backward of sf_matmul_forward, given dout(N,OC): adds dout . w to dinp(N,IC), dout^T . inp to
 * dweight(OC,IC) and the column sums of dout to dbias(OC). Any of the three outputs may be NULL.
 * As in the forward, each element is one chain in a fixed order, started at the value it holds:
 * dinp over o ascending and dweight over n ascending (fused multiply-adds), dbias over n (additions). */
void sf_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int N, int IC, int OC);
/* sf_matmul_backward with the outputs `set` names written instead of added to: SF_SET_DINP dinp,
 * SF_SET_DWEIGHT dweight and dbias. Each written element is the chain sf_matmul_backward adds to a zeroed
 * buffer, bit for bit, but the buffer is neither read nor zeroed first (the trainer's first product into
 * a chunk's gradient buffer, an input gradient nothing else adds to). */
#define SF_SET_DINP 1
#define SF_SET_DWEIGHT 2
void sf_matmul_backward_set(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int N, int IC, int OC, int set);
/* The accumulation every product above is made of, for strided operands:
 *     c[r*ldc + w] += sum over j = 0..J-1 of a[r*ars + j*ajs] * b[j*ldb + w]   (r < R, w < W)
 * each element one chain of fused multiply-adds over j ascending, started at the value it holds. */
void sf_matmul_acc(float *c, int ldc, const float *a, int ars, int ajs, const float *b, int ldb, int R, int W,
                   int J);
/* The backward of one attention head's out = probs . v over a segment of nq queries and nk keys (head size
 * HS; vt is v transposed, (HS, nk) at row stride ldvt): writes dprobs(nq, nk) = dout . v^T and
 * dv(nk, HS) = probs^T . dout, each element the chain sf_matmul_acc adds to a zeroed buffer (dprobs over
 * d ascending, dv over the queries ascending), bit for bit, without reading or zeroing either first. */
void sf_attn_values_backward(float *dprobs, int ldp, float *dv, int ldv, const float *dout, int ldo, const float *vt,
                             int ldvt, const float *probs, int ldpr, int nq, int nk, int HS);
/* The backward of one attention head's scores = q . k^T over a segment: writes dq(nq, HS) = dscores . k
 * (a chain over the keys ascending) and dk(nk, HS) = dscores^T . q (over the queries ascending), the
 * chains sf_matmul_acc adds to zeroed buffers, bit for bit, neither buffer read or zeroed first. */
void sf_attn_scores_backward(float *dq, int ldq, float *dk, int ldk, const float *dscores, int lds, const float *q,
                             int ldqi, const float *k, int ldki, int nq, int nk, int HS);
/* One attention head's whole backward over a segment of nq queries and nk keys (head size HS), from the
 * head's output gradient dout, its values v (nk rows at stride ldvi) and the same transposed as
 * sf_attn_values_backward takes them (vt (HS, nk) at row stride ldvt), its probabilities probs (row
 * stride ldpr), q and k, with the softmax's scale: writes dv, dq and dk, each element the chain that
 * sf_attn_values_backward, sf_attn_softmax_backward (rows of nk cells) and sf_attn_scores_backward give
 * run one after another, bit for bit. dprobs, dscaled and dscores (nq rows of nk cells at probs' stride)
 * are those calls' cells: written by them with the plain kernels or larger segments; with the AVX-512
 * kernels, 16-dimensional heads and segments of at most 16 x 16 (sf_attn_head_backward_local) the
 * gradients between the products stay in local buffers, and neither they nor vt are touched. */
void sf_attn_head_backward(float *dq, int ldq, float *dk, int ldk, float *dv, int ldv, const float *dout, int ldo,
                           const float *v, int ldvi, const float *vt, int ldvt, const float *probs, int ldpr,
                           const float *q, int ldqi, const float *k, int ldki, int nq, int nk, int HS, float scale,
                           float *dprobs, float *dscaled, float *dscores);
/* Returns whether sf_attn_head_backward keeps a segment of nq queries and nk keys of head size HS out of
 * memory with the kernels in use: it then reads neither vt (which may be NULL) nor the three cells. */
int sf_attn_head_backward_local(int nq, int nk, int HS);
#ifdef SF_MATMUL_COUNT
/* Only in the counting build (bench_train_bycall, which compiles ops.c with SF_MATMUL_COUNT): forgets the
 * time counted so far in every product, by kind and shape ... */
void sf_matmul_count_reset(void);
/* ... and prints it per kind and shape (calls and microseconds per step over `steps` steps, GFLOP/s, share
 * of a one-thread FMA peak of peak_per_thread GFLOP/s), most time first. */
void sf_matmul_count_print(double peak_per_thread, long steps);
#endif
/* Chooses the matmul kernels: "avx512", "avx2" or "c", or NULL for the best this processor has.
 * Returns the name of the kernels now in use, or NULL (and changes nothing) if the processor lacks
 * them. For tests and benchmarks; not to be called while another thread multiplies. */
const char *sf_matmul_use(const char *name);

/* out(n) = softmax(in(n)); -inf entries get probability 0; a row of all -inf becomes all 0.
 * Stable for any finite scores (subtracts the row max). out may alias in. The exponentials are libm's
 * expf of in - max, summed in double in order; with the AVX-512 kernels they are computed sixteen at a
 * time, bit for bit glibc's expf (on other C libraries the plain C kernels give their libm's). */
void sf_softmax_forward(float *out, const float *in, int n);
/* Writes e^(in - max) for in(n) into e (0 for -inf entries, all 0 for a row of all -inf) and returns
 * their sum in double: the numbers sf_softmax_forward divides, and the sum it divides by, with the kernels
 * in use (sf_matmul_use). For tests: every kernel set must return the sum one at a time in order. */
double sf_softmax_expsum(float *e, const float *in, int n);
/* Backward of sf_softmax_forward from its output probs(n) and dprobs(n): adds
 * probs_i (dprobs_i - sum_j probs_j dprobs_j) to dinp(n). Entries with probability 0 (masked) get 0. */
void sf_softmax_backward(float *dinp, const float *dprobs, const float *probs, int n);
/* sf_softmax_forward of rows(n) contiguous rows of in into out (which may alias in): the same bits row
 * by row; with the AVX-512 kernels sixteen rows side by side, one per lane, when n <= 64. */
void sf_softmax_rows(float *out, const float *in, int rows, int n);
/* Attention's softmax over rows rows, row r's n[r] cells at r*ld in each buffer: scaled = scores * scale
 * over its first seen[r] cells, and -inf in scores and scaled over the rest (keys the query may not
 * see), then probs = sf_softmax_forward(scaled, n[r]): the bits of that loop row by row, computed with
 * the AVX-512 kernels sixteen rows side by side (one per lane; rows of at most 64 cells). */
void sf_attn_softmax(float *probs, float *scaled, float *scores, size_t ld, int rows, const int *seen, const int *n,
                     float scale);
/* Backward of sf_attn_softmax from dprobs: writes dscaled = what sf_softmax_backward adds to a zeroed
 * row of n[r] cells, and dscores = dscaled * scale; the same bits row by row, sixteen rows side by side
 * with the AVX-512 kernels. */
void sf_attn_softmax_backward(float *dscores, float *dscaled, const float *dprobs, const float *probs, size_t ld,
                              int rows, const int *n, float scale);

/* out(N,C) = (in - mean) / sqrt(var + eps) * w + b per row (biased variance, as PyTorch).
 * mean(N) and rstd(N) receive the row statistics when non-NULL (the trainer keeps them). */
void sf_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                          const float *b, int N, int C, float eps);
/* Backward of sf_layernorm_forward, from dout(N,C) and the saved mean(N), rstd(N): adds the gradient
 * to dinp(N,C), dweight(C) and dbias(C) (dweight/dbias may be NULL). */
void sf_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, const float *mean, const float *rstd, int N, int C);

/* out(n) = max(0, in); out may alias in. */
void sf_relu_forward(float *out, const float *in, size_t n);
/* Backward of ReLU: adds dout where in > 0 to dinp(n) (the derivative at 0 is taken as 0, as PyTorch). */
void sf_relu_backward(float *dinp, const float *dout, const float *in, size_t n);

/* out(n) = GELU with the tanh approximation (GPT-2):
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); out may alias in. */
void sf_gelu_forward(float *out, const float *in, size_t n);
/* Backward of the tanh-approximation GELU: adds dout * gelu'(in) to dinp(n). */
void sf_gelu_backward(float *dinp, const float *dout, const float *in, size_t n);

/* Returns the cross-entropy -log softmax(logits)[target] of one row of logits(V), computed stably
 * (log-sum-exp with the row max subtracted, in double). */
float sf_crossentropy_forward(const float *logits, int target, int V);
/* Backward of softmax followed by cross-entropy, from the row's probabilities probs(V) = softmax(logits):
 * adds dloss * (probs - onehot(target)) to dlogits(V). */
void sf_crossentropy_softmax_backward(float *dlogits, const float *probs, int target, float dloss, int V);

/* out(n) = a + b; out may alias either. */
void sf_add_forward(float *out, const float *a, const float *b, size_t n);

/* out(C) = the sinusoidal encoding of position pos (Vaswani et al. 2017, section 3.5):
 * PE(pos,2i) = sin(pos / 10000^(2i/C)), PE(pos,2i+1) = cos(pos / 10000^(2i/C)). */
void sf_sinusoid_forward(float *out, int pos, int C);

/* dst[c*ldd + r] = src[r*lds + c] for r < rows, c < cols (a copy: the same bits on every processor). */
void sf_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols);

/* Returns the dot product of a(n) and b(n). */
float sf_dot(const float *a, const float *b, int n);
/* out[t*ldo + j] = sf_dot(q + t*ldq, k + j*ldk, n) for t < nq, j < nk, bit for bit, with 16 keys
 * computed side by side (a block of attention scores: query rows against key rows). */
void sf_dot_rows(float *out, int ldo, const float *q, int ldq, int nq, const float *k, int ldk, int nk, int n);
/* out[t*ldo + d] = sum over the keys j < seen[t] whose probability probs[t*ldp + j] is not 0, in ascending
 * order, of probs[t*ldp + j] * v[j*ldv + d] (d < HS, t < nq): each term a product and then an addition,
 * each rounded (nothing fused), started at 0 (an attention head's weighted sum of values). Every kernel
 * set gives the bits of that loop; with the AVX-512 kernels (16-dimensional heads, at most 16 keys)
 * sixteen rows run side by side. */
void sf_attn_weighted_values(float *out, int ldo, const float *probs, int ldp, const int *seen, int nq, const float *v,
                             int ldv, int HS);

#endif
