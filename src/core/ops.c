/* ops.c - forward (and, for the trainer, backward) passes of every op the model uses. */
#include "ops.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
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

/* ---- matrix products ---------------------------------------------------------------------------
 *
 * Every matrix product is built from one accumulation, the "kernel":
 *     C[r][0..W) += sum over j = 0..J-1 of A(r,j) * B[j][0..W),     A(r,j) = a[r*ars + j*ajs]
 * in which each element of C is one chain of fused multiply-adds (one rounding each) in ascending j,
 * starting from the value C already holds. Blocking, vector width and register tiling only decide which
 * independent chains run side by side, never the order inside one: so every element has the same bits
 * whatever N is, wherever its row sits in the batch, and on every processor (the AVX-512 and AVX2
 * kernels and the plain C one with fmaf agree bit for bit; tests/test_ops.c checks it).
 *
 * The forward product reads the weight (OC,IC) row-major, as checkpoints store it. With rows of W as
 * the A operand and the input transposed into B (IC, 16 rows side by side) the kernel's lanes run along
 * 16 input rows; the result comes out transposed and is turned back. The backward products need no
 * transposes: dinp = dout . W reads rows of W as B, dW = dout^T . inp reads rows of inp as B. */

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define SF_X86 1
#include <immintrin.h>
#endif

/* The element-wise ops (LayerNorm, activations, softmax's backward, additions) are SF_VEC (ops.h):
 * compiled for AVX-512 and for any x86-64, the same bits either way. */

#define MM_BLOCK 256 /* forward: rows of W and input channels handled per transposed block */

typedef void (*gemm_fn)(float *, size_t, const float *, size_t, size_t, const float *, size_t, int, int, int,
                        const float *);
typedef void (*transpose_fn)(float *, size_t, const float *, size_t, int, int, int);
typedef void (*forward_fn)(float *, const float *, const float *, const float *, int, int, int);

/* The kernel in plain C: rows one after another, each step of j over the whole row of C (which the
 * compiler vectorises along W without changing any chain). Every kernel takes `init`: NULL to start the
 * chains at the values C holds, or a row of W values to start every row's chains at instead (the
 * forward's bias, which then need not be written into C first). */
static inline void gemm_c_body(float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b,
                               size_t ldb, int R, int W, int J, const float *init) {
    for (int r = 0; r < R; r++) {
        float *restrict cr = c + (size_t)r * ldc;
        if (init)
            for (int w = 0; w < W; w++) cr[w] = init[w];
        for (int j = 0; j < J; j++) {
            float x = a[(size_t)r * ars + (size_t)j * ajs];
            const float *restrict bj = b + (size_t)j * ldb;
            for (int w = 0; w < W; w++) cr[w] = fmaf(x, bj[w], cr[w]);
        }
    }
}

/* The plain C kernel, for any processor. */
static void gemm_c(float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b, size_t ldb, int R,
                   int W, int J, const float *init) {
    gemm_c_body(c, ldc, a, ars, ajs, b, ldb, R, W, J, init);
}

/* Writes dst[k][r] = src[r][k] for r < rows, k < cols (each at most 16); in dst only the first `width`
 * lanes of each row are written (rows beyond `rows` as 0). */
static void transpose_c(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols, int width) {
    for (int k = 0; k < cols; k++)
        for (int r = 0; r < width; r++) dst[(size_t)k * ldd + r] = r < rows ? src[(size_t)r * lds + k] : 0.0f;
}

#ifdef SF_X86
/* The AVX2 kernel's register tile: R rows (1..6) by V vectors of 8 columns (1..2), C's block kept in
 * twelve named registers while j runs (with B's two vectors and A's broadcast, 15 of the 16 ymm
 * registers). R, V and whether the last vector is masked (`part`) are constants at every call, so rows
 * and vectors past them vanish and whole vectors use plain loads. Each element is the chain gemm_c_body
 * computes: started at init's (or C's) value, one fused multiply-add per j ascending. */
#define SF_AVX2 __attribute__((target("avx2,fma")))
#define SF_INLINE2 SF_AVX2 static inline __attribute__((always_inline))
#define T2_LD(v, p) ((v) == V - 1 && part ? _mm256_maskload_ps((p), ml) : _mm256_loadu_ps(p))
#define T2_ST(v, p, x) ((v) == V - 1 && part ? _mm256_maskstore_ps((p), ml, (x)) : _mm256_storeu_ps((p), (x)))
#define T2_DECL(r) __m256 c##r##a = _mm256_setzero_ps(), c##r##b = c##r##a
#define T2_LOAD(r)                                                                                         \
    if (R > r) {                                                                                           \
        c##r##a = T2_LD(0, ci + r * ldi);                                                                  \
        if (V > 1) c##r##b = T2_LD(1, ci + r * ldi + 8);                                                   \
    }
#define T2_FMA(r)                                                                                          \
    if (R > r) {                                                                                           \
        __m256 x = _mm256_broadcast_ss(Q##r + (r % 3) * ars);                                              \
        c##r##a = _mm256_fmadd_ps(x, b0, c##r##a);                                                         \
        if (V > 1) c##r##b = _mm256_fmadd_ps(x, b1, c##r##b);                                              \
    }
#define T2_STORE(r)                                                                                        \
    if (R > r) {                                                                                           \
        T2_ST(0, c + r * ldc, c##r##a);                                                                    \
        if (V > 1) T2_ST(1, c + r * ldc + 8, c##r##b);                                                     \
    }
#define T2_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define Q0 q0
#define Q1 q0
#define Q2 q0
#define Q3 q1
#define Q4 q1
#define Q5 q1

SF_INLINE2 void tile2(const int R, const int V, const int part, float *c, size_t ldc, const float *a, size_t ars,
                      size_t ajs, const float *b, size_t ldb, int J, __m256i ml, const float *init) {
    const float *ci = init ? init : c;
    size_t ldi = init ? 0 : ldc;
    T2_DECL(0); T2_DECL(1); T2_DECL(2); T2_DECL(3); T2_DECL(4); T2_DECL(5);
    T2_ALL(T2_LOAD)
    const float *q0 = a, *q1 = a + 3 * ars;
    for (int j = 0; j < J; j++) {
        const float *bj = b + (size_t)j * ldb;
        __m256 b0 = T2_LD(0, bj), b1 = b0;
        if (V > 1) b1 = T2_LD(1, bj + 8);
        T2_ALL(T2_FMA)
        q0 += ajs, q1 += ajs;
    }
    T2_ALL(T2_STORE)
}
#undef Q0
#undef Q1
#undef Q2
#undef Q3
#undef Q4
#undef Q5

/* Runs one tile2 of R rows (1..6) and V vectors (1..2), the last one masked by ml when part. */
SF_AVX2 static void tile2_any(int R, int V, int part, float *c, size_t ldc, const float *a, size_t ars, size_t ajs,
                              const float *b, size_t ldb, int J, __m256i ml, const float *init) {
    switch ((part * 3 + V) * 8 + R) {
#define SF_T(p, v, r) case (p * 3 + v) * 8 + r: tile2(r, v, p, c, ldc, a, ars, ajs, b, ldb, J, ml, init); return;
#define SF_T6(p, v) SF_T(p, v, 1) SF_T(p, v, 2) SF_T(p, v, 3) SF_T(p, v, 4) SF_T(p, v, 5) SF_T(p, v, 6)
        SF_T6(0, 1) SF_T6(0, 2) SF_T6(1, 1) SF_T6(1, 2)
#undef SF_T6
#undef SF_T
    }
}

/* Transposes the 8 x 8 block r[0..7] (row j holds 8 consecutive channels of weight row j) in place, so
 * that r[k] holds channel k of the eight rows: lane j of r[k] is row j's weight. */
__attribute__((target("avx2,fma"))) static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Returns the mask of the first n (clamped to 0..8) of eight lanes. */
SF_INLINE2 __m256i lanes8(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }

/* transpose_c with AVX2 (the forward's transposes): 8 x 8 blocks through the registers, rows past `rows`
 * as 0, columns past `cols` not read, lanes past `width` not written. */
SF_AVX2 static void transpose_avx2(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols,
                                   int width) {
    for (int h = 0; h < width; h += 8) {
        __m256i wm = lanes8(width - h);
        for (int g = 0; g < cols; g += 8) {
            __m256i cm = lanes8(cols - g);
            __m256 r[8];
            /* whole vectors without masks: vmaskmovps is slow on AMD processors, its stores most */
            for (int i = 0; i < 8; i++)
                r[i] = h + i >= rows ? _mm256_setzero_ps()
                       : cols - g >= 8 ? _mm256_loadu_ps(src + (size_t)(h + i) * lds + g)
                                       : _mm256_maskload_ps(src + (size_t)(h + i) * lds + g, cm);
            transpose8(r);
            int kn = cols - g < 8 ? cols - g : 8;
            if (width - h >= 8)
                for (int k = 0; k < kn; k++) _mm256_storeu_ps(dst + (size_t)(g + k) * ldd + h, r[k]);
            else
                for (int k = 0; k < kn; k++) _mm256_maskstore_ps(dst + (size_t)(g + k) * ldd + h, wm, r[k]);
        }
    }
}

#define GEMM2_PACK_J 256 /* rows of B per copied strip: 256 x 16 floats, 16 KB, stay in L1 */

/* The kernel with AVX2 and FMA: strips of 16 columns, each in tiles of up to 6 rows (the rows shared out
 * evenly between a strip's tiles). When a strip has two tiles or more and B's rows are not already 16
 * floats apart, the strip of B is first copied, GEMM2_PACK_J rows at a time, into an aligned buffer that
 * every tile then reads from L1 (rows of 64 or 256 floats are 256 B or 1 KB apart and fall into a few of
 * L1's sets). The tiles run over one piece of the strip after another, each continuing the chains it
 * left in C: the same fused multiply-adds in the same order as gemm_c_body. */
SF_AVX2 static void gemm_avx2(float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b,
                              size_t ldb, int R, int W, int J, const float *init) {
    float pk[GEMM2_PACK_J * 16] __attribute__((aligned(32)));
    if (R <= 0) return;
    for (int w0 = 0; w0 < W; w0 += 16) {
        int wn = W - w0 < 16 ? W - w0 : 16, V = (wn + 7) / 8, part = wn % 8 != 0;
        int n = wn - 8 * (V - 1); /* lanes of the last vector */
        __m256i ml = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        int tiles = (R + 5) / 6;
        int pack = tiles >= 2 && ldb != 16;
        int j0 = 0;
        do { /* once at least: with J = 0 the tiles still start C at init */
            int jn = pack ? (J - j0 < GEMM2_PACK_J ? J - j0 : GEMM2_PACK_J) : J;
            const float *bp = b + (size_t)j0 * ldb + w0;
            size_t lb = ldb;
            if (pack) {
                for (int j = 0; j < jn; j++) {
                    const float *bj = bp + (size_t)j * ldb;
                    float *d = pk + (size_t)j * 16;
                    for (int v = 0; v < V; v++)
                        _mm256_store_ps(d + 8 * v, v == V - 1 && part ? _mm256_maskload_ps(bj + 8 * v, ml)
                                                                      : _mm256_loadu_ps(bj + 8 * v));
                }
                bp = pk;
                lb = 16;
            }
            const float *aj = a + (size_t)j0 * ajs, *ij = j0 == 0 && init ? init + w0 : NULL;
            for (int t = 0, r0 = 0; t < tiles; t++) {
                int r1 = (int)((long)R * (t + 1) / tiles);
                tile2_any(r1 - r0, V, part, c + (size_t)r0 * ldc + w0, ldc, aj + (size_t)r0 * ars, ars, ajs, bp, lb, jn,
                          ml, ij);
                r0 = r1;
            }
            j0 += jn;
        } while (j0 < J);
    }
}
#endif

#ifdef SF_X86

#define SF_AVX512 __attribute__((target("avx512f")))

/* The register tiles of the kernel. Each keeps its block of C in named registers (so the compiler
 * cannot leave them in memory) while j runs: tilev up to 24 / V rows by V vectors (V = 2..4: 12 rows
 * by 32 columns, 8 by 48, 6 by 64), tile16 up to 24 rows by 16 columns. R and V are constants at every
 * call; rows and vectors past them vanish. Only a tile's last vector is masked (by ml): the others are
 * whole, so their loads are plain ones and no mask has to be kept in a register (GCC reloaded four masks
 * from the stack on every step of j, which cost a third of the kernel's speed). */
#define SF_INLINE512 SF_AVX512 static inline __attribute__((always_inline))
#define TV_MASK(v) ((v) == V - 1 ? ml : (__mmask16)0xFFFF)
#define TV_DECL(r) __m512 c##r##a = _mm512_setzero_ps(), c##r##b = c##r##a, c##r##c = c##r##a, c##r##d = c##r##a
#define TV_LOAD(r)                                                                                         \
    if (R > r) {                                                                                           \
        c##r##a = _mm512_maskz_loadu_ps(TV_MASK(0), ci + r * ldi);                                         \
        if (V > 1) c##r##b = _mm512_maskz_loadu_ps(TV_MASK(1), ci + r * ldi + 16);                         \
        if (V > 2) c##r##c = _mm512_maskz_loadu_ps(TV_MASK(2), ci + r * ldi + 32);                         \
        if (V > 3) c##r##d = _mm512_maskz_loadu_ps(TV_MASK(3), ci + r * ldi + 48);                         \
    }
/* row r reads A through pointer p(r/3) at offset (r%3)*ars, as in tile16 */
#define TV_FMA(r)                                                                                          \
    if (R > r) {                                                                                           \
        __m512 x = _mm512_set1_ps(Q##r[(r % 3) * ars]);                                                    \
        c##r##a = _mm512_fmadd_ps(x, b0, c##r##a);                                                         \
        if (V > 1) c##r##b = _mm512_fmadd_ps(x, b1, c##r##b);                                              \
        if (V > 2) c##r##c = _mm512_fmadd_ps(x, b2, c##r##c);                                              \
        if (V > 3) c##r##d = _mm512_fmadd_ps(x, b3, c##r##d);                                              \
    }
#define TV_STORE(r)                                                                                        \
    if (R > r) {                                                                                           \
        _mm512_mask_storeu_ps(c + r * ldc, TV_MASK(0), c##r##a);                                           \
        if (V > 1) _mm512_mask_storeu_ps(c + r * ldc + 16, TV_MASK(1), c##r##b);                           \
        if (V > 2) _mm512_mask_storeu_ps(c + r * ldc + 32, TV_MASK(2), c##r##c);                           \
        if (V > 3) _mm512_mask_storeu_ps(c + r * ldc + 48, TV_MASK(3), c##r##d);                           \
    }
/* prefetches row r of the next tile's C (at pf) */
#define TV_PF(r)                                                                                           \
    if (R > r) {                                                                                           \
        _mm_prefetch((const char *)(pf + r * ldc), _MM_HINT_T0);                                           \
        if (V > 1) _mm_prefetch((const char *)(pf + r * ldc + 16), _MM_HINT_T0);                           \
        if (V > 2) _mm_prefetch((const char *)(pf + r * ldc + 32), _MM_HINT_T0);                           \
        if (V > 3) _mm_prefetch((const char *)(pf + r * ldc + 48), _MM_HINT_T0);                           \
    }
#define TV_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define Q0 q0
#define Q1 q0
#define Q2 q0
#define Q3 q1
#define Q4 q1
#define Q5 q1
#define Q6 q2
#define Q7 q2
#define Q8 q2
#define Q9 q3
#define Q10 q3
#define Q11 q3

SF_INLINE512 void tilev(const int R, const int V, float *c, size_t ldc, const float *a, size_t ars, size_t ajs,
                        const float *b, size_t ldb, int J, __mmask16 ml, const float *pf, const float *init) {
    const float *ci = init ? init : c; /* where the chains start: C's rows, or one row for all */
    size_t ldi = init ? 0 : ldc;
    TV_DECL(0); TV_DECL(1); TV_DECL(2); TV_DECL(3); TV_DECL(4); TV_DECL(5);
    TV_DECL(6); TV_DECL(7); TV_DECL(8); TV_DECL(9); TV_DECL(10); TV_DECL(11);
    TV_ALL(TV_LOAD)
    if (pf) { TV_ALL(TV_PF) }
    const float *q0 = a, *q1 = a + 3 * ars, *q2 = a + 6 * ars, *q3 = a + 9 * ars;
    for (int j = 0; j < J; j++) {
        const float *bj = b + (size_t)j * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(TV_MASK(0), bj), b1 = b0, b2 = b0, b3 = b0;
        if (V > 1) b1 = _mm512_maskz_loadu_ps(TV_MASK(1), bj + 16);
        if (V > 2) b2 = _mm512_maskz_loadu_ps(TV_MASK(2), bj + 32);
        if (V > 3) b3 = _mm512_maskz_loadu_ps(TV_MASK(3), bj + 48);
        TV_ALL(TV_FMA)
        q0 += ajs, q1 += ajs, q2 += ajs, q3 += ajs;
    }
    TV_ALL(TV_STORE)
}
#undef Q0
#undef Q1
#undef Q2
#undef Q3
#undef Q4
#undef Q5
#undef Q6
#undef Q7
#undef Q8
#undef Q9
#undef Q10
#undef Q11

#define T16_DECL(r) __m512 c##r = _mm512_setzero_ps()
#define T16_LOAD(r) if (R > r) c##r = _mm512_maskz_loadu_ps(m, ci + r * ldi);
/* row r reads A through pointer p(r/3) at offset (r%3)*ars: eight pointers and one stride cover 24 rows,
 * so the addresses stay in registers */
#define T16_FMA(r) if (R > r) c##r = _mm512_fmadd_ps(_mm512_set1_ps(P##r[(r % 3) * ars]), bv, c##r);
#define T16_STORE(r) if (R > r) _mm512_mask_storeu_ps(c + r * ldc, m, c##r);
#define T16_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
                   X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define P0 p0
#define P1 p0
#define P2 p0
#define P3 p1
#define P4 p1
#define P5 p1
#define P6 p2
#define P7 p2
#define P8 p2
#define P9 p3
#define P10 p3
#define P11 p3
#define P12 p4
#define P13 p4
#define P14 p4
#define P15 p5
#define P16 p5
#define P17 p5
#define P18 p6
#define P19 p6
#define P20 p6
#define P21 p7
#define P22 p7
#define P23 p7

SF_INLINE512 void tile16(const int R, float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b,
                         size_t ldb, int J, __mmask16 m, const float *init) {
    const float *ci = init ? init : c;
    size_t ldi = init ? 0 : ldc;
    T16_DECL(0); T16_DECL(1); T16_DECL(2); T16_DECL(3); T16_DECL(4); T16_DECL(5); T16_DECL(6); T16_DECL(7);
    T16_DECL(8); T16_DECL(9); T16_DECL(10); T16_DECL(11); T16_DECL(12); T16_DECL(13); T16_DECL(14); T16_DECL(15);
    T16_DECL(16); T16_DECL(17); T16_DECL(18); T16_DECL(19); T16_DECL(20); T16_DECL(21); T16_DECL(22); T16_DECL(23);
    T16_ALL(T16_LOAD)
    const float *p0 = a, *p1 = a + 3 * ars, *p2 = a + 6 * ars, *p3 = a + 9 * ars, *p4 = a + 12 * ars;
    const float *p5 = a + 15 * ars, *p6 = a + 18 * ars, *p7 = a + 21 * ars;
    for (int j = 0; j < J; j++) {
        __m512 bv = _mm512_maskz_loadu_ps(m, b + (size_t)j * ldb);
        T16_ALL(T16_FMA)
        p0 += ajs, p1 += ajs, p2 += ajs, p3 += ajs, p4 += ajs, p5 += ajs, p6 += ajs, p7 += ajs;
    }
    T16_ALL(T16_STORE)
}
#undef P0
#undef P1
#undef P2
#undef P3
#undef P4
#undef P5
#undef P6
#undef P7
#undef P8
#undef P9
#undef P10
#undef P11
#undef P12
#undef P13
#undef P14
#undef P15
#undef P16
#undef P17
#undef P18
#undef P19
#undef P20
#undef P21
#undef P22
#undef P23

/* Runs one tilev of V vectors (2..4) and R rows (1..24 / V), with the last vector masked by ml; a whole
 * block of 64 columns gets its own copy, in which no load is masked. */
SF_AVX512 static void tilev_any(int R, int V, float *c, size_t ldc, const float *a, size_t ars, size_t ajs,
                                const float *b, size_t ldb, int J, __mmask16 ml, const float *pf, const float *init) {
    switch (V * 16 + R) {
#define SF_T(v, r) case v * 16 + r: tilev(r, v, c, ldc, a, ars, ajs, b, ldb, J, ml, pf, init); return;
        SF_T(2, 1) SF_T(2, 2) SF_T(2, 3) SF_T(2, 4) SF_T(2, 5) SF_T(2, 6)
        SF_T(2, 7) SF_T(2, 8) SF_T(2, 9) SF_T(2, 10) SF_T(2, 11) SF_T(2, 12)
        SF_T(3, 1) SF_T(3, 2) SF_T(3, 3) SF_T(3, 4) SF_T(3, 5) SF_T(3, 6) SF_T(3, 7) SF_T(3, 8)
#undef SF_T
    }
    if (ml == 0xFFFF)
        switch (R) {
#define SF_T(r) case r: tilev(r, 4, c, ldc, a, ars, ajs, b, ldb, J, 0xFFFF, pf, init); return;
            SF_T(1) SF_T(2) SF_T(3) SF_T(4) SF_T(5) SF_T(6)
#undef SF_T
        }
    switch (R) {
#define SF_T(r) case r: tilev(r, 4, c, ldc, a, ars, ajs, b, ldb, J, ml, pf, init); return;
        SF_T(1) SF_T(2) SF_T(3) SF_T(4) SF_T(5) SF_T(6)
#undef SF_T
    }
}

/* Runs one tile16 of R rows (1..24). */
SF_AVX512 static void tile16_any(int R, float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b,
                                 size_t ldb, int J, __mmask16 m, const float *init) {
    switch (R) {
#define SF_T(r) case r: tile16(r, c, ldc, a, ars, ajs, b, ldb, J, m, init); return;
        SF_T(1) SF_T(2) SF_T(3) SF_T(4) SF_T(5) SF_T(6) SF_T(7) SF_T(8) SF_T(9) SF_T(10) SF_T(11) SF_T(12)
        SF_T(13) SF_T(14) SF_T(15) SF_T(16) SF_T(17) SF_T(18) SF_T(19) SF_T(20) SF_T(21) SF_T(22) SF_T(23) SF_T(24)
#undef SF_T
    }
}

/* Returns the mask of the lanes of vector v (0..3) that lie inside a row of `width` columns. */
static inline __mmask16 lanes(int width, int v) {
    int n = width - 16 * v;
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

#define GEMM_PACK_J 128 /* rows of B per packed panel: 128 x 64 floats, 32 KB, stay in L1 */

/* Copies rows [0, jn) of B's panel of wn (1..64) columns at b (row stride ldb) into pk, 64 floats a row,
 * 64-byte aligned. */
SF_AVX512 static void pack_panel(float *restrict pk, const float *b, size_t ldb, int jn, int wn) {
    int V = (wn + 15) / 16;
    __mmask16 ml = lanes(wn, V - 1);
    for (int j = 0; j < jn; j++) {
        const float *bj = b + (size_t)j * ldb;
        float *d = pk + (size_t)j * 64;
        for (int v = 0; v < V - 1; v++) _mm512_store_ps(d + 16 * v, _mm512_loadu_ps(bj + 16 * v));
        _mm512_store_ps(d + 16 * (V - 1), _mm512_maskz_loadu_ps(ml, bj + 16 * (V - 1)));
    }
}

/* The kernel with AVX-512: blocks of 64 columns in tilevs of four vectors, the last block in a tile16
 * (up to 16 columns) or a tilev of as many vectors as it needs; the rows shared out evenly between the
 * tiles of a block. When a block has four tiles or more, its panel of B is first copied, GEMM_PACK_J
 * rows at a time, into an aligned buffer of 64-float rows that every tile then reads from L1: B's own
 * rows are often 1 KB apart (256 columns), so that a panel of them fell into a quarter of L1's sets and
 * was evicted from one tile to the next, and unaligned rows made each vector load touch two lines. The
 * tiles run over one panel of rows of B after another, each continuing the chains it left in C: the same
 * fused multiply-adds in the same order. */
SF_AVX512 static void gemm_512(float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b,
                               size_t ldb, int R, int W, int J, const float *init) {
    float pk[GEMM_PACK_J * 64] __attribute__((aligned(64)));
    for (int w0 = 0; w0 < W; w0 += 64) {
        int wn = W - w0 < 64 ? W - w0 : 64, V = (wn + 15) / 16, rows = 24 / V;
        __mmask16 ml = lanes(wn, V - 1);
        int tiles = (R + rows - 1) / rows;
        /* (a panel already whole, aligned and small enough to stay in L1, as the forward's, is read as it is;
         * and below four tiles the copy does not pay) */
        int pack = V > 1 && tiles >= 4 && (ldb != 64 || J > GEMM_PACK_J || ((uintptr_t)(b + w0) & 63) != 0);
        for (int j0 = 0; j0 < J;) {
            int jn = pack ? (J - j0 < GEMM_PACK_J ? J - j0 : GEMM_PACK_J) : J;
            const float *bp = b + (size_t)j0 * ldb + w0;
            size_t lb = ldb;
            if (pack) {
                pack_panel(pk, bp, ldb, jn, wn);
                bp = pk;
                lb = 64;
            }
            const float *aj = a + (size_t)j0 * ajs, *ij = j0 == 0 && init ? init + w0 : NULL;
            for (int t = 0, r0 = 0; t < tiles; t++) {
                int r1 = (int)((long)R * (t + 1) / tiles);
                if (V == 1)
                    tile16_any(r1 - r0, c + (size_t)r0 * ldc + w0, ldc, aj + (size_t)r0 * ars, ars, ajs, bp, lb, jn, ml, ij);
                else {
                    /* the C of the tile after this one (or of the first of the next panel or block), fetched
                     * while this one runs: a weight gradient's C comes from L2 or further */
                    const float *pf = t + 1 < tiles ? c + (size_t)r1 * ldc + w0
                                      : j0 + jn < J  ? c + w0
                                      : w0 + 64 < W  ? c + w0 + 64
                                                     : NULL;
                    tilev_any(r1 - r0, V, c + (size_t)r0 * ldc + w0, ldc, aj + (size_t)r0 * ars, ars, ajs, bp, lb, jn, ml, pf, ij);
                }
                r0 = r1;
            }
            j0 += jn;
        }
    }
}

/* Transposes the 16 x 16 block in r in place (r[i] lane k becomes r[k] lane i). */
SF_INLINE512 void tr16_512(__m512 *r) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

/* transpose_c with AVX-512: one 16 x 16 block through the registers. */
SF_AVX512 static void transpose_512(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols,
                                    int width) {
    __m512 r[16];
    __mmask16 cm = (__mmask16)((1u << cols) - 1u), wm = (__mmask16)((1u << width) - 1u);
    /* rows past `rows` load nothing (an empty mask reads no memory): no branch per row */
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(i < rows ? cm : 0, src + (size_t)(i < rows ? i : 0) * lds);
    tr16_512(r);
    for (int k = 0; k < cols; k++) _mm512_mask_storeu_ps(dst + (size_t)k * ldd, wm, r[k]);
}
#endif

#define MM_WT_COLS 64  /* forward, many rows: output channels per transposed block of the weight */
#define MM_WT_ROWS 128 /* forward, many rows: input channels per transposed block (32 KB with the above) */

/* Returns whether forward_wide_body is the faster way to multiply N rows into OC outputs. Measured
 * (forward_body against it, alternating in one process, 1 thread): it is 1.1-2.2x faster for the models'
 * shapes at 1-12 and from 17 rows on (1.2-1.5x at 104 rows, a chunk of 8 examples) and for GPT-2's
 * (768 -> 2304, 3072 -> 768: 1.3-1.5x), and about even at 13-16 rows, where forward_body's 16 lanes of
 * rows are nearly full; there, into the vocabulary's 30 outputs, two vectors of outputs do not pay for
 * transposing the weight (0.8-0.93x), so forward_body keeps those. */
static inline int forward_wide_pays(int N, int OC) { return N < 13 || N > 16 || OC > 32; }

/* The forward product for rows as they are: blocks of the weight transposed (input channels down, up to 64
 * output channels across) so that the kernel runs on the rows as they are, the input as A (one broadcast
 * per row) and the block as B, into out itself, started at the bias. Each output is the same chain as in
 * forward_body: the bias, then i ascending (the blocks of input channels one after another). For N rows
 * the transposes cost IC x OC moves against forward_body's N x (IC + OC), and the kernel gets whole
 * vectors of output channels instead of 16 lanes of rows. */
static inline __attribute__((always_inline)) void forward_wide_body(gemm_fn gemm, transpose_fn transpose, float *out,
                                                                   const float *in, const float *w,
                                                                   const float *bias, int N, int IC, int OC) {
    static const float zeros[MM_WT_COLS];
    float wt[MM_WT_ROWS * MM_WT_COLS] __attribute__((aligned(64)));
    for (int o0 = 0; o0 < OC; o0 += MM_WT_COLS) {
        int on = OC - o0 < MM_WT_COLS ? OC - o0 : MM_WT_COLS;
        if (IC <= 0) /* no product: the bias alone */
            for (int n = 0; n < N; n++)
                for (int o = 0; o < on; o++) out[(size_t)n * OC + o0 + o] = bias ? bias[o0 + o] : 0.0f;
        for (int i0 = 0; i0 < IC; i0 += MM_WT_ROWS) {
            int in_ = IC - i0 < MM_WT_ROWS ? IC - i0 : MM_WT_ROWS;
            for (int o = 0; o < on; o += 16)
                for (int i = 0; i < in_; i += 16)
                    transpose(wt + (size_t)i * MM_WT_COLS + o, MM_WT_COLS, w + (size_t)(o0 + o) * IC + i0 + i,
                              (size_t)IC, on - o < 16 ? on - o : 16, in_ - i < 16 ? in_ - i : 16, 16);
            /* the first block of input channels starts the chains at the bias (the kernel's init) */
            gemm(out + o0, (size_t)OC, in + i0, (size_t)IC, 1, wt, MM_WT_COLS, N, on, in_,
                 i0 > 0 ? NULL : bias ? bias + o0 : zeros);
        }
    }
}

/* The forward product with the given kernels (inlined into one copy per instruction set, so that the
 * bias fill and the loops around the kernels are compiled for it too). */
static inline __attribute__((always_inline)) void forward_body(gemm_fn gemm, transpose_fn transpose, float *out,
                                                              const float *in, const float *w, const float *bias,
                                                              int N, int IC, int OC) {
    if (forward_wide_pays(N, OC)) {
        forward_wide_body(gemm, transpose, out, in, w, bias, N, IC, OC);
        return;
    }
    /* per block of 16 input rows: xt = the rows transposed (channels down, rows across), ct = the
     * output transposed, started at the bias; then ct += W . xt, and ct is turned back into rows */
    float xt[MM_BLOCK * 16] __attribute__((aligned(64))), ct[MM_BLOCK * 16] __attribute__((aligned(64)));
    for (int n0 = 0; n0 < N; n0 += 16) {
        int nn = N - n0 < 16 ? N - n0 : 16;
        for (int o0 = 0; o0 < OC; o0 += MM_BLOCK) {
            int on = OC - o0 < MM_BLOCK ? OC - o0 : MM_BLOCK;
            for (int o = 0; o < on; o++) {
                float v = bias ? bias[o0 + o] : 0.0f;
                for (int r = 0; r < 16; r++) ct[o * 16 + r] = v;
            }
            for (int i0 = 0; i0 < IC; i0 += MM_BLOCK) {
                int in_ = IC - i0 < MM_BLOCK ? IC - i0 : MM_BLOCK;
                for (int i = 0; i < in_; i += 16)
                    transpose(xt + i * 16, 16, in + (size_t)n0 * IC + i0 + i, (size_t)IC, nn,
                              in_ - i < 16 ? in_ - i : 16, 16);
                gemm(ct, 16, w + (size_t)o0 * IC + i0, (size_t)IC, 1, xt, 16, on, 16, in_, NULL);
            }
            for (int o = 0; o < on; o += 16)
                transpose(out + (size_t)n0 * OC + o0 + o, (size_t)OC, ct + o * 16, 16, on - o < 16 ? on - o : 16, nn,
                          on - o < 16 ? on - o : 16);
        }
    }
}

/* The forward product with the plain C kernels. */
static void forward_c(float *out, const float *in, const float *w, const float *bias, int N, int IC, int OC) {
    forward_body(gemm_c, transpose_c, out, in, w, bias, N, IC, OC);
}

#ifdef SF_X86
/* The forward product with the AVX2 kernels. */
__attribute__((target("avx2,fma"))) static void forward_avx2(float *out, const float *in, const float *w,
                                                            const float *bias, int N, int IC, int OC) {
    forward_body(gemm_avx2, transpose_avx2, out, in, w, bias, N, IC, OC);
}

/* The forward product with the AVX-512 kernels. */
SF_AVX512 static void forward_512(float *out, const float *in, const float *w, const float *bias, int N, int IC,
                                  int OC) {
    forward_body(gemm_512, transpose_512, out, in, w, bias, N, IC, OC);
}
#endif

/* Adds the column sums of dout(N,OC) to dbias(OC), each sum n ascending from the value dbias holds (the
 * plain C bias gradient; the compiler vectorises it along o). */
static inline __attribute__((always_inline)) void bias_body(float *restrict dbias, const float *restrict dout, int N,
                                                           int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) dbias[o] += dout[(size_t)n * OC + o];
}

/* The bias gradient in plain C. */
static void bias_c(float *dbias, const float *dout, int N, int OC) { bias_body(dbias, dout, N, OC); }

#ifdef SF_X86
/* The bias gradient compiled for AVX2. */
__attribute__((target("avx2,fma"))) static void bias_avx2(float *dbias, const float *dout, int N, int OC) {
    bias_body(dbias, dout, N, OC);
}

/* The bias gradient with AVX-512: 64 columns at a time held in four registers while n runs (the plain
 * loop loaded and stored all of dbias once per row), the last columns one masked vector at a time; the
 * same additions in the same order. */
SF_AVX512 static void bias_512(float *dbias, const float *dout, int N, int OC) {
    int o0 = 0;
    for (; o0 + 64 <= OC; o0 += 64) {
        __m512 a0 = _mm512_loadu_ps(dbias + o0), a1 = _mm512_loadu_ps(dbias + o0 + 16);
        __m512 a2 = _mm512_loadu_ps(dbias + o0 + 32), a3 = _mm512_loadu_ps(dbias + o0 + 48);
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC + o0;
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(d));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(d + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(d + 32));
            a3 = _mm512_add_ps(a3, _mm512_loadu_ps(d + 48));
        }
        _mm512_storeu_ps(dbias + o0, a0);
        _mm512_storeu_ps(dbias + o0 + 16, a1);
        _mm512_storeu_ps(dbias + o0 + 32, a2);
        _mm512_storeu_ps(dbias + o0 + 48, a3);
    }
    for (; o0 < OC; o0 += 16) {
        __mmask16 m = lanes(OC - o0, 0);
        __m512 a = _mm512_maskz_loadu_ps(m, dbias + o0);
        for (int n = 0; n < N; n++) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, dout + (size_t)n * OC + o0));
        _mm512_mask_storeu_ps(dbias + o0, m, a);
    }
}
#endif

typedef void (*bias_fn)(float *, const float *, int, int);

typedef struct {
    const char *name;
    gemm_fn gemm;
    forward_fn forward;
    bias_fn bias;
} mm_kernels;

static const mm_kernels mm_plain = {"c", gemm_c, forward_c, bias_c};
#ifdef SF_X86
static const mm_kernels mm_avx2 = {"avx2", gemm_avx2, forward_avx2, bias_avx2};
static const mm_kernels mm_avx512 = {"avx512", gemm_512, forward_512, bias_512};
#endif
static const mm_kernels *mm_forced; /* set by sf_matmul_use for tests and benchmarks */

/* Returns the kernels for this processor (or the ones sf_matmul_use chose). */
static const mm_kernels *mm_pick(void) {
    if (mm_forced) return mm_forced;
#ifdef SF_X86
    if (__builtin_cpu_supports("avx512f")) return &mm_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &mm_avx2;
#endif
    return &mm_plain;
}

const char *sf_matmul_use(const char *name) {
    if (!name) {
        mm_forced = NULL;
        return mm_pick()->name;
    }
    const mm_kernels *k = strcmp(name, "c") == 0 ? &mm_plain : NULL;
#ifdef SF_X86
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k = &mm_avx2;
    if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f")) k = &mm_avx512;
#endif
    if (k) mm_forced = k;
    return k ? k->name : NULL;
}

#ifdef SF_MATMUL_COUNT
/* The counting build (bench_train_bycall): the processor's time stamp counter read around every product,
 * summed per kind and shape and per thread (each thread its own table, claimed once: no sharing while
 * counting), printed by sf_matmul_count_print. */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>
enum { MMC_FWD, MMC_DINP, MMC_DW, MMC_DB, MMC_ACC, MMC_DOT, MMC_WV, MMC_KINDS };
static const char *const mmc_name[MMC_KINDS] = {"forward", "dinp", "dweight", "dbias", "acc", "dot_rows", "pv"};
typedef struct { int kind, n, ic, oc, tr; long calls; unsigned long long cycles; } mm_count;
#define MMC_SLOTS 96
#define MMC_THREADS 16
static mm_count mmc_tab[MMC_THREADS][MMC_SLOTS];
static atomic_int mmc_threads;
static _Thread_local int mmc_me = -1;
static unsigned long long mmc_t0;
static double mmc_w0;

/* Returns the wall clock in seconds. */
static double mmc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Adds one call of the kind and shape that took cy cycles to this thread's table. */
static void mmc_add(int kind, int n, int ic, int oc, int tr, unsigned long long cy) {
    if (mmc_me < 0) mmc_me = atomic_fetch_add(&mmc_threads, 1);
    if (mmc_me >= MMC_THREADS) return;
    mm_count *t = mmc_tab[mmc_me];
    for (int i = 0; i < MMC_SLOTS; i++) {
        if (t[i].calls && (t[i].kind != kind || t[i].n != n || t[i].ic != ic || t[i].oc != oc || t[i].tr != tr)) continue;
        t[i].kind = kind, t[i].n = n, t[i].ic = ic, t[i].oc = oc, t[i].tr = tr;
        t[i].calls++;
        t[i].cycles += cy;
        return;
    }
}

void sf_matmul_count_reset(void) {
    memset(mmc_tab, 0, sizeof mmc_tab);
    mmc_t0 = __rdtsc();
    mmc_w0 = mmc_now();
}

void sf_matmul_count_print(double peak_per_thread, long steps) {
    double hz = (double)(__rdtsc() - mmc_t0) / (mmc_now() - mmc_w0);
    mm_count all[MMC_SLOTS * 2] = {{0}};
    int na = 0, nt = atomic_load(&mmc_threads);
    double total = 0.0;
    for (int th = 0; th < nt && th < MMC_THREADS; th++)
        for (int i = 0; i < MMC_SLOTS && mmc_tab[th][i].calls; i++) {
            const mm_count *x = &mmc_tab[th][i];
            int k = 0;
            while (k < na && (all[k].kind != x->kind || all[k].n != x->n || all[k].ic != x->ic || all[k].oc != x->oc ||
                              all[k].tr != x->tr))
                k++;
            if (k == na && na < MMC_SLOTS * 2) all[na++] = (mm_count){x->kind, x->n, x->ic, x->oc, x->tr, 0, 0};
            if (k < na) all[k].calls += x->calls, all[k].cycles += x->cycles;
            total += (double)x->cycles;
        }
    for (int i = 1; i < na; i++) /* most cycles first */
        for (int j = i; j > 0 && all[j].cycles > all[j - 1].cycles; j--) {
            mm_count t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    printf("by call (%.2f GHz time stamp counter; %% of time: of all the products' cycles; %% of peak: of %.1f GFLOP/s "
           "per thread; after the out channels, s: written, not added to (sf_matmul_backward_set), t: acc with A transposed)\n",
           hz / 1e9, peak_per_thread);
    printf("%-9s %5s %5s %5s  %9s %11s %7s %9s %7s\n", "kind", "rows", "in", "out", "calls/stp", "us/step", "%time",
           "GFLOP/s", "%peak");
    double kind_cy[MMC_KINDS] = {0}, kind_fl[MMC_KINDS] = {0};
    for (int i = 0; i < na; i++) {
        const mm_count *x = &all[i];
        /* (tr 2 and 3: an attention head's pair of products, sf_attn_values_backward and sf_attn_scores_backward;
         * tr 5: all four, sf_attn_head_backward) */
        double fl = x->kind == MMC_DB ? (double)x->n * x->oc
                                      : (x->tr == 5 ? 8.0 : x->tr == 2 || x->tr == 3 ? 4.0 : 2.0) * x->n * x->ic * x->oc;
        double sec = (double)x->cycles / hz, gf = fl * (double)x->calls / sec / 1e9;
        kind_cy[x->kind] += (double)x->cycles, kind_fl[x->kind] += fl * (double)x->calls;
        printf("%-9s %5d %5d %5d%s %9.1f %11.1f %6.1f%% %9.1f %6.1f%%\n", mmc_name[x->kind], x->n, x->ic, x->oc,
               x->tr == 5 ? "b" : x->tr == 4 ? "w" : x->tr == 3 ? "s" : x->tr == 2 ? "v" : x->tr ? "t" : " ", (double)x->calls / steps,
               1e6 * sec / steps, 100.0 * x->cycles / total, gf,
               100.0 * gf / peak_per_thread);
    }
    for (int k = 0; k < MMC_KINDS; k++)
        if (kind_cy[k] > 0)
            printf("all %-8s %.1f us/step (%.1f%% of the products), %.1f GFLOP/s = %.1f%% of the peak\n", mmc_name[k],
                   1e6 * kind_cy[k] / hz / steps, 100.0 * kind_cy[k] / total, kind_fl[k] / (kind_cy[k] / hz) / 1e9,
                   100.0 * kind_fl[k] / (kind_cy[k] / hz) / 1e9 / peak_per_thread);
    printf("all products: %.1f us/step of processor time\n", 1e6 * total / hz / steps);
}
#define MMC_START unsigned long long mmc_c0 = __rdtsc()
#define MMC_STOP(kind, n, ic, oc, tr) mmc_add(kind, n, ic, oc, tr, __rdtsc() - mmc_c0)
#else
#define MMC_START
#define MMC_STOP(kind, n, ic, oc, tr)
#endif

void sf_matmul_acc(float *c, int ldc, const float *a, int ars, int ajs, const float *b, int ldb, int R, int W,
                   int J) {
    MMC_START;
    const mm_kernels *k = mm_pick();
#ifdef SF_X86
    if (k == &mm_avx512 && W <= 16 && R <= 24 && R > 0 && W > 0 && J > 0) /* one tile: gemm_512 would run just it */
        tile16_any(R, c, (size_t)ldc, a, (size_t)ars, (size_t)ajs, b, (size_t)ldb, J, lanes(W, 0), NULL);
    else
#endif
    if (R > 0 && W > 0 && J > 0)
        k->gemm(c, (size_t)ldc, a, (size_t)ars, (size_t)ajs, b, (size_t)ldb, R, W, J, NULL);
    MMC_STOP(MMC_ACC, R, J, W, ars == 1);
}

void sf_matmul_forward(float *out, const float *in, const float *w, const float *bias, int N, int IC, int OC) {
    MMC_START;
    mm_pick()->forward(out, in, w, bias, N, IC, OC);
    MMC_STOP(MMC_FWD, N, IC, OC, 0);
}

void sf_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int N, int IC, int OC) {
    /* y[n][o] = b[o] + sum_i x[n][i] w[o][i], so dx[n][i] += sum_o d[n][o] w[o][i] (a chain over o),
     * dw[o][i] += sum_n d[n][o] x[n][i] (a chain over n) and db[o] += sum_n d[n][o] (n ascending) */
    const mm_kernels *k = mm_pick();
    if (dinp) {
        MMC_START;
        k->gemm(dinp, (size_t)IC, dout, (size_t)OC, 1, weight, (size_t)IC, N, IC, OC, NULL);
        MMC_STOP(MMC_DINP, N, OC, IC, 0);
    }
    if (dweight) {
        MMC_START;
        k->gemm(dweight, (size_t)IC, dout, 1, (size_t)OC, inp, (size_t)IC, OC, IC, N, NULL);
        MMC_STOP(MMC_DW, OC, N, IC, 0);
    }
    if (dbias) {
        MMC_START;
        k->bias(dbias, dout, N, OC);
        MMC_STOP(MMC_DB, N, 1, OC, 0);
    }
}

#define MM_ZERO_ROW 4096 /* the widest row sf_matmul_backward_set starts from registers */

/* Sets c(R,W) (row stride ldc) to a . b as the kernel would add it to zeros: the kernel's init row (ldi
 * 0), a row of +0.0, starts every chain in registers and the tile stores it without reading C.
 * fmaf(a, b, +0.0) is the first step either way, so the bits are those of a zeroed C; only the first
 * panel of B's rows (GEMM_PACK_J) takes init, later panels continue from what the first stored. */
static void product_set(gemm_fn gemm, float *c, size_t ldc, const float *a, size_t ars, size_t ajs, const float *b,
                        size_t ldb, int R, int W, int J) {
    static const float zeros[MM_ZERO_ROW];
    if (J > 0 && W <= MM_ZERO_ROW) {
        gemm(c, ldc, a, ars, ajs, b, ldb, R, W, J, zeros);
        return;
    }
    for (int r = 0; r < R; r++) memset(c + (size_t)r * ldc, 0, (size_t)W * sizeof *c); /* no chain: +0.0 */
    if (J > 0) gemm(c, ldc, a, ars, ajs, b, ldb, R, W, J, NULL);
}

void sf_matmul_backward_set(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int N, int IC, int OC, int set) {
    const mm_kernels *k = mm_pick();
    if (dinp) {
        MMC_START;
        if (set & SF_SET_DINP) product_set(k->gemm, dinp, (size_t)IC, dout, (size_t)OC, 1, weight, (size_t)IC, N, IC, OC);
        else k->gemm(dinp, (size_t)IC, dout, (size_t)OC, 1, weight, (size_t)IC, N, IC, OC, NULL);
        MMC_STOP(MMC_DINP, N, OC, IC, (set & SF_SET_DINP) ? 4 : 0);
    }
    if (dweight) {
        MMC_START;
        if (set & SF_SET_DWEIGHT) product_set(k->gemm, dweight, (size_t)IC, dout, 1, (size_t)OC, inp, (size_t)IC, OC, IC, N);
        else k->gemm(dweight, (size_t)IC, dout, 1, (size_t)OC, inp, (size_t)IC, OC, IC, N, NULL);
        MMC_STOP(MMC_DW, OC, N, IC, (set & SF_SET_DWEIGHT) ? 4 : 0);
    }
    if (dbias) {
        MMC_START;
        /* zeroed (OC floats, in L1) and then summed: the first addition, +0.0 + d, turns a -0.0 into +0.0
         * as from a zeroed buffer, so it is kept */
        if (set & SF_SET_DWEIGHT) memset(dbias, 0, (size_t)OC * sizeof *dbias);
        k->bias(dbias, dout, N, OC);
        MMC_STOP(MMC_DB, N, 1, OC, (set & SF_SET_DWEIGHT) ? 4 : 0);
    }
}

#ifdef SF_X86
/* tile16_any for an A whose rows are adjacent (ars 1: A(r,j) = a[j*ajs + r], a transposed operand): each
 * step of j reads all rows' values at fixed offsets from one pointer. */
SF_AVX512 static void tile16_unit(int R, float *c, size_t ldc, const float *a, size_t ajs, const float *b, size_t ldb,
                                  int J, __mmask16 m, const float *init) {
    switch (R) {
#define SF_T(r) case r: tile16(r, c, ldc, a, 1, ajs, b, ldb, J, m, init); return;
        SF_T(1) SF_T(2) SF_T(3) SF_T(4) SF_T(5) SF_T(6) SF_T(7) SF_T(8) SF_T(9) SF_T(10) SF_T(11) SF_T(12)
        SF_T(13) SF_T(14) SF_T(15) SF_T(16) SF_T(17) SF_T(18) SF_T(19) SF_T(20) SF_T(21) SF_T(22) SF_T(23) SF_T(24)
#undef SF_T
    }
}
#endif

/* The product of sf_matmul_acc written into c instead of added: c = (the chains sf_matmul_acc adds to a
 * zeroed c), started at +0.0 in registers (one tile: init a row of zeros), c neither read nor zeroed. */
static void acc_set(const mm_kernels *k, float *c, int ldc, const float *a, int ars, int ajs, const float *b, int ldb,
                    int R, int W, int J) {
    if (R <= 0 || W <= 0) return;
#ifdef SF_X86
    static const float zeros[16];
    if (k == &mm_avx512 && W <= 16 && R <= 24 && J > 0) {
        if (ars == 1) tile16_unit(R, c, (size_t)ldc, a, (size_t)ajs, b, (size_t)ldb, J, lanes(W, 0), zeros);
        else tile16_any(R, c, (size_t)ldc, a, (size_t)ars, (size_t)ajs, b, (size_t)ldb, J, lanes(W, 0), zeros);
        return;
    }
#endif
    product_set(k->gemm, c, (size_t)ldc, a, (size_t)ars, (size_t)ajs, b, (size_t)ldb, R, W, J);
}

void sf_attn_values_backward(float *dprobs, int ldp, float *dv, int ldv, const float *dout, int ldo, const float *vt,
                             int ldvt, const float *probs, int ldpr, int nq, int nk, int HS) {
    MMC_START;
    const mm_kernels *k = mm_pick();
    acc_set(k, dprobs, ldp, dout, ldo, 1, vt, ldvt, nq, nk, HS);
    acc_set(k, dv, ldv, probs, 1, ldpr, dout, ldo, nk, HS, nq);
    MMC_STOP(MMC_ACC, nq, nk, HS, 2);
}

void sf_attn_scores_backward(float *dq, int ldq, float *dk, int ldk, const float *dscores, int lds, const float *q,
                             int ldqi, const float *kin, int ldki, int nq, int nk, int HS) {
    MMC_START;
    const mm_kernels *k = mm_pick();
    acc_set(k, dq, ldq, dscores, lds, 1, kin, ldki, nq, HS, nk);
    acc_set(k, dk, ldk, dscores, 1, lds, q, ldqi, nk, HS, nq);
    MMC_STOP(MMC_ACC, nq, nk, HS, 3);
}

/* Returns the float with bit pattern b. */
static inline float float_of_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Returns e^x for finite x in [-104, 20] (below, 0), within 1 ulp: x = n ln2 + r (|r| <= ln2 / 2; ln2
 * split so n ln2_hi is exact), e^r from its Taylor series to r^8, and 2^n as two powers of two from the
 * exponent bits (so results down to the subnormals come out right). Plain arithmetic without branches
 * or calls, so loops using it vectorise; libm's tanhf was half of training a GELU model. */
static inline float exp_fast(float x) {
    const float shift = 12582912.0f; /* 1.5 * 2^23: adding and removing it rounds to an integer */
    float n = (x * 1.44269504088896341f + shift) - shift;
    float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 40320;
    p = p * r + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    int k = (int)n, h = k / 2; /* 2^k = 2^h 2^(k-h), each a normal float for k in [-151, 29] */
    return (1.0f + (r + r * r * p)) * float_of_bits((uint32_t)(h + 127) << 23) *
           float_of_bits((uint32_t)(k - h + 127) << 23);
}

#ifdef SF_X86
/* libm's expf, sixteen at a time: the algorithm of glibc's expf (from 2.27 on; Szabolcs Nagy's, from Arm's
 * optimized-routines) step for step as glibc compiles it for processors with FMA, the copy its loader picks
 * on every AVX-512 processor, so that softmax gets the very bits it got from expf one at a time. In double:
 * z = x 32/ln2 split into k + r (the rounding by adding 1.5 * 2^52), 2^(k/32) from a table of 32 entries
 * with k's integer part added to the exponent, 2^(r/32) by a cubic; then one rounding to float. Each
 * operation is the one glibc's binary does (which of them are fused included). Compared with libm's expf
 * over all 2^32 floats when this was written: every result equal, NaNs' bits too (test_ops checks a dense
 * sweep of softmax's range, through softmax, against libm). Out of the main range the special
 * results glibc returns: 0 for -inf and below -103.97, 2^-149 from there to -103.28, inf above 88.72,
 * NaN for NaN. */
static const uint64_t expf_tab[32] = { /* the bits of 2^(i/32), minus i << 47 */
    0x3ff0000000000000ULL, 0x3fefd9b0d3158574ULL, 0x3fefb5586cf9890fULL, 0x3fef9301d0125b51ULL,
    0x3fef72b83c7d517bULL, 0x3fef54873168b9aaULL, 0x3fef387a6e756238ULL, 0x3fef1e9df51fdee1ULL,
    0x3fef06fe0a31b715ULL, 0x3feef1a7373aa9cbULL, 0x3feedea64c123422ULL, 0x3feece086061892dULL,
    0x3feebfdad5362a27ULL, 0x3feeb42b569d4f82ULL, 0x3feeab07dd485429ULL, 0x3feea47eb03a5585ULL,
    0x3feea09e667f3bcdULL, 0x3fee9f75e8ec5f74ULL, 0x3feea11473eb0187ULL, 0x3feea589994cce13ULL,
    0x3feeace5422aa0dbULL, 0x3feeb737b0cdc5e5ULL, 0x3feec49182a3f090ULL, 0x3feed503b23e255dULL,
    0x3feee89f995ad3adULL, 0x3feeff76f2fb5e47ULL, 0x3fef199bdd85529cULL, 0x3fef3720dcef9069ULL,
    0x3fef5818dcfba487ULL, 0x3fef7c97337b9b5fULL, 0x3fefa4afa2a490daULL, 0x3fefd0765b6e4540ULL,
};

/* Returns expf's main path for eight floats widened to double (xd), rounded to float. */
SF_INLINE512 __m256 expf_main8(__m512d xd) {
    const __m512d invln2n = _mm512_set1_pd(0x1.71547652b82fep+5), shift = _mm512_set1_pd(0x1.8p+52);
    const __m512i *tab = (const __m512i *)expf_tab;
    __m512d kd = _mm512_fmadd_pd(invln2n, xd, shift); /* k in the low bits */
    __m512i ki = _mm512_castpd_si512(kd);
    kd = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fmsub_pd(invln2n, xd, kd);
    __m512i t0 = _mm512_permutex2var_epi64(_mm512_loadu_si512(tab), ki, _mm512_loadu_si512(tab + 1));
    __m512i t1 = _mm512_permutex2var_epi64(_mm512_loadu_si512(tab + 2), ki, _mm512_loadu_si512(tab + 3));
    __m512i t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(ki, _mm512_set1_epi64(16)), t0, t1);
    __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64(ki, 47)));
    __m512d z = _mm512_fmadd_pd(_mm512_set1_pd(0x1.c6af84b912394p-20), r, _mm512_set1_pd(0x1.ebfce50fac4f3p-13));
    __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_fmadd_pd(r, _mm512_set1_pd(0x1.62e42ff0c52d6p-6), _mm512_set1_pd(1.0));
    y = _mm512_fmadd_pd(z, r2, y);
    return _mm512_cvtpd_ps(_mm512_mul_pd(y, s));
}

/* Returns expf(x) for the sixteen lanes of x, bit for bit libm's (see expf_tab). */
SF_INLINE512 __m512 expf_16(__m512 x) {
    __m256 lo = expf_main8(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    __m256 hi = expf_main8(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
    __m512 y = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
    __m512i abstop = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(x), 20), _mm512_set1_epi32(0x7ff));
    __mmask16 big = _mm512_cmpge_epu32_mask(abstop, _mm512_set1_epi32(0x42b)); /* |x| >= 88 or NaN */
    if (big) {
        __mmask16 special = _mm512_cmpge_epu32_mask(abstop, _mm512_set1_epi32(0x7f8)); /* inf, NaN */
        y = _mm512_mask_blend_ps(big & _mm512_cmp_ps_mask(x, _mm512_set1_ps(-0x1.9d1d9ep6f), _CMP_LT_OQ), y,
                                 _mm512_set1_ps(0x1p-149f));
        y = _mm512_mask_blend_ps(big & _mm512_cmp_ps_mask(x, _mm512_set1_ps(-0x1.9fe368p6f), _CMP_LT_OQ), y,
                                 _mm512_setzero_ps());
        y = _mm512_mask_blend_ps(big & _mm512_cmp_ps_mask(x, _mm512_set1_ps(0x1.62e42ep6f), _CMP_GT_OQ), y,
                                 _mm512_set1_ps(INFINITY));
        y = _mm512_mask_blend_ps(special, y, _mm512_add_ps(x, x));
        y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ), y, _mm512_setzero_ps());
    }
    return y;
}

/* The sum of the exponentials, added sixteen at a time, equals their sum one at a time in order when the
 * row has at most SOFTMAX_EXACT_N of them and each is 0 or at least SOFTMAX_EXACT_MIN. Proof: each e is a
 * float in [2^-24, 1] (x - max <= 0, so e <= 1), so its 24-bit significand ends at 2^-47 or above: e is a
 * whole multiple of 2^-47, and so is every partial sum of any of them, in any order. A partial sum is at
 * most n <= 32 = 2^5, and equals 32 only if every e is 1; otherwise it is below 2^5 and a multiple of
 * 2^-47, so it has at most 5 + 47 = 52 significant bits (from 2^4 down to 2^-47), and 32 itself is a power
 * of two: either way a double holds it exactly. So every addition, in whatever order, is exact, and every
 * order gives the exact sum, which is the sequential sum too. (A NaN, or an e in (0, 2^-24), and the row
 * is summed one at a time as before.) The bounds keep a bit to spare (2^-25, or rows up to 64, would still
 * be exact); from 2^-26 on they are not, and tests/test_ops.c (test_softmax_expsum) fails there. */
#define SOFTMAX_EXACT_N 32
#define SOFTMAX_EXACT_MIN 0x1p-24f

/* Writes e^(in - maxv) for in(n) into out (masked keys, -inf, give 0) and returns their sum in double,
 * bit for bit the sum one at a time in order (see SOFTMAX_EXACT_N). */
SF_AVX512 static double softmax_exp_512(float *out, const float *in, int n, float maxv) {
    __m512 mv = _mm512_set1_ps(maxv);
    if (n <= SOFTMAX_EXACT_N) {
        __m512d acc = _mm512_setzero_pd();
        __mmask16 inexact = 0;
        for (int i = 0; i < n; i += 16) {
            __mmask16 m = lanes(n - i, 0);
            __m512 e = _mm512_maskz_mov_ps(m, expf_16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, in + i), mv)));
            /* lanes neither 0 nor >= 2^-24 (NaN included) */
            inexact |= _mm512_cmp_ps_mask(e, _mm512_set1_ps(SOFTMAX_EXACT_MIN), _CMP_NGE_UQ) &
                       _mm512_cmp_ps_mask(e, _mm512_setzero_ps(), _CMP_NEQ_UQ);
            acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
            acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
            _mm512_mask_storeu_ps(out + i, m, e);
        }
        if (!inexact) return _mm512_reduce_add_pd(acc);
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += out[i];
        return sum;
    }
    double sum = 0.0;
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i, 0);
        __m512 e = expf_16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, in + i), mv)); /* e^-inf = 0: masked keys */
        float ev[16];
        _mm512_storeu_ps(ev, e);
        for (int j = 0, k = n - i < 16 ? n - i : 16; j < k; j++) sum += ev[j];
        _mm512_mask_storeu_ps(out + i, m, e);
    }
    return sum;
}

/* Returns the maximum of in(n) with AVX-512 ((in > max ? in : max) per lane: NaNs are passed over, as in
 * the plain loop; which of +0 and -0 it returns may differ from that loop, x - max and e^(x - max) do not). */
SF_AVX512 static float softmax_max_512(const float *in, int n) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 mx = ninf;
    for (int i = 0; i < n; i += 16) mx = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, lanes(n - i, 0), in + i), mx);
    return _mm512_reduce_max_ps(mx);
}

/* sf_softmax_forward with AVX-512: the maximum, the exponentials and the scaling sixteen at a time, the
 * sum of the exponentials in double with the bits of the sum one at a time (its order is part of the
 * result: softmax_exp_512). */
SF_AVX512 static void softmax_512(float *out, const float *in, int n) {
    float maxv = softmax_max_512(in, n);
    if (maxv == -INFINITY) {
        for (int i = 0; i < n; i++) out[i] = 0.0f;
        return;
    }
    double sum = softmax_exp_512(out, in, n, maxv);
    __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i, 0);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + i), inv));
    }
}

/* ---- softmax across rows: one row per lane ------------------------------------------------------
 *
 * A row of attention scores has about as many cells as a vector has lanes (13 of 16 in the reverse
 * model), so a row at a time pays a horizontal maximum and sum and a division per row, each waiting for
 * the last. Sixteen rows side by side instead, one per lane (the rows transposed into columns through
 * the registers, 16 x 16 at a time): the maximum is a vertical one (the same value in any order, up to
 * the sign of a zero, which x - max and its exponential do not see), the exponentials are expf_16's,
 * and each lane adds its row's exponentials in double in ascending order, from 0: the very additions of
 * the sum one at a time (a masked cell, or one past its row, adds +0.0, which changes no sum: a sum from
 * +0 of nonnegative terms is never -0), so the sum, and every probability, has the row path's bits
 * whether or not SOFTMAX_EXACT_N's shortcut applies. The reciprocal and the scaling are per element as
 * in softmax_512. Rows of up to SOFTMAX_COLS cells; longer ones go to the row path. */
#define SOFTMAX_COLS 64

/* Returns the sixteen floats of two vectors of eight doubles, each rounded. */
SF_INLINE512 __m512 pd2ps_512(__m512d lo, __m512d hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo))),
                                               _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1));
}

/* Adds the sixteen floats of v, widened to double, to lo (lanes 0-7) and hi (8-15). */
SF_INLINE512 void add_wide_512(__m512d *lo, __m512d *hi, __m512 v) {
    *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

/* sf_attn_softmax (scale given: in is the scores) or sf_softmax_rows (scale NULL: in is the input) for
 * rows <= 16 rows of at most SOFTMAX_COLS cells, one row per lane (see SOFTMAX_COLS). */
SF_AVX512 static void softmax16_512(float *out, size_t ldo, float *in, size_t ldi, float *ss, int rows,
                                    const int *seen, const int *n, const float *scale) {
    float col[SOFTMAX_COLS][16] __attribute__((aligned(64)));
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    int most = 0;
    for (int r = 0; r < rows; r++) most = n[r] > most ? n[r] : most;
    /* 1. the inputs (scaled and masked) into columns */
    for (int c0 = 0; c0 < most; c0 += 16) {
        __m512 v[16];
        for (int r = 0; r < 16; r++) {
            if (r >= rows) {
                v[r] = ninf;
                continue;
            }
            __mmask16 mn = lanes(n[r] - c0, 0);
            float *src = in + (size_t)r * ldi + c0;
            if (scale) {
                __mmask16 ms = lanes(seen[r] - c0, 0) & mn;
                __m512 x = _mm512_mask_mov_ps(ninf, ms, _mm512_mul_ps(_mm512_maskz_loadu_ps(ms, src), _mm512_set1_ps(*scale)));
                _mm512_mask_storeu_ps(src, mn & (__mmask16)~ms, ninf); /* keys the query may not see */
                _mm512_mask_storeu_ps(ss + (size_t)r * ldi + c0, mn, x);
                v[r] = x;
            } else {
                v[r] = _mm512_mask_loadu_ps(ninf, mn, src);
            }
        }
        tr16_512(v);
        for (int k = 0; k < 16 && c0 + k < most; k++) _mm512_store_ps(col[c0 + k], v[k]);
    }
    /* 2. the maximum, the exponentials and their sum in double, per lane in ascending order */
    __m512 mx = ninf;
    for (int j = 0; j < most; j++) mx = _mm512_max_ps(_mm512_load_ps(col[j]), mx);
    __m512d slo = _mm512_setzero_pd(), shi = slo;
    for (int j = 0; j < most; j++) {
        __m512 x = _mm512_load_ps(col[j]);
        __mmask16 live = _mm512_cmp_ps_mask(x, ninf, _CMP_NEQ_UQ); /* -inf gives 0 (NaN goes through expf) */
        __m512 e = _mm512_maskz_mov_ps(live, expf_16(_mm512_maskz_sub_ps(live, x, mx)));
        add_wide_512(&slo, &shi, e);
        _mm512_store_ps(col[j], e);
    }
    /* 3. each exponential times its row's reciprocal of the sum; a row of all -inf is all 0 */
    __mmask16 some = _mm512_cmp_ps_mask(mx, ninf, _CMP_NEQ_UQ);
    __m512d one = _mm512_set1_pd(1.0);
    __m512 inv = pd2ps_512(_mm512_div_pd(one, slo), _mm512_div_pd(one, shi));
    for (int c0 = 0; c0 < most; c0 += 16) {
        __m512 v[16];
        for (int k = 0; k < 16; k++) /* (a row of NaN and -inf only has the maximum -inf: all 0 as well) */
            v[k] = c0 + k < most ? _mm512_maskz_mul_ps(some, _mm512_load_ps(col[c0 + k]), inv) : _mm512_setzero_ps();
        tr16_512(v);
        for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(out + (size_t)r * ldo + c0, lanes(n[r] - c0, 0), v[r]);
    }
}

/* sf_attn_softmax_backward for rows <= 16 rows of at most SOFTMAX_COLS cells: the dot products one row
 * per lane (probs and dprobs transposed), each in double in ascending order as in sf_softmax_backward;
 * then the rows themselves, each with its own dot. */
SF_AVX512 static void softmax16_backward_512(float *dsc, float *dss, const float *dpr, const float *pr, size_t ld,
                                             int rows, const int *n, float scale) {
    int most = 0;
    for (int r = 0; r < rows; r++) most = n[r] > most ? n[r] : most;
    __m512d dlo = _mm512_setzero_pd(), dhi = dlo;
    for (int c0 = 0; c0 < most; c0 += 16) {
        __m512 p[16], d[16];
        for (int r = 0; r < 16; r++) {
            __mmask16 mn = r < rows ? lanes(n[r] - c0, 0) : 0;
            size_t o = (size_t)(r < rows ? r : 0) * ld + c0;
            p[r] = _mm512_maskz_loadu_ps(mn, pr + o);
            d[r] = _mm512_maskz_loadu_ps(mn, dpr + o);
        }
        tr16_512(p);
        tr16_512(d);
        for (int k = 0; k < 16 && c0 + k < most; k++) {
            /* (double)p * dp is exact (24 + 24 bits); cells with probability 0 are left out, as there */
            __mmask16 nz = _mm512_cmp_ps_mask(p[k], _mm512_setzero_ps(), _CMP_NEQ_UQ);
            __m512 pz = _mm512_maskz_mov_ps(nz, p[k]), dz = _mm512_maskz_mov_ps(nz, d[k]);
            dlo = _mm512_add_pd(dlo, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(pz)),
                                                   _mm512_cvtps_pd(_mm512_castps512_ps256(dz))));
            dhi = _mm512_add_pd(dhi, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(pz), 1))),
                                                   _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dz), 1)))));
        }
    }
    float dot[16] __attribute__((aligned(64)));
    _mm512_store_ps(dot, pd2ps_512(dlo, dhi));
    const __m512 sc = _mm512_set1_ps(scale), zero = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        __m512 dv = _mm512_set1_ps(dot[r]);
        for (int c0 = 0; c0 < n[r]; c0 += 16) {
            __mmask16 mn = lanes(n[r] - c0, 0);
            size_t o = (size_t)r * ld + c0;
            __m512 p = _mm512_maskz_loadu_ps(mn, pr + o);
            __mmask16 nz = _mm512_cmp_ps_mask(p, zero, _CMP_NEQ_UQ);
            /* 0 + p (dp - dot): what sf_softmax_backward adds to a zeroed row (a -0 becomes +0) */
            __m512 g = _mm512_maskz_add_ps(nz, zero, _mm512_mul_ps(p, _mm512_sub_ps(_mm512_maskz_loadu_ps(mn, dpr + o), dv)));
            _mm512_mask_storeu_ps(dss + o, mn, g);
            _mm512_mask_storeu_ps(dsc + o, mn, _mm512_mul_ps(g, sc));
        }
    }
}
#endif

/* Returns the maximum of in(n), NaNs passed over (-inf if there is none). */
static float softmax_max_c(const float *in, int n) {
    float maxv = -INFINITY;
    for (int i = 0; i < n; i++)
        if (in[i] > maxv) maxv = in[i];
    return maxv;
}

/* Writes e^(in - maxv) for in(n) into out (-inf gives 0) and returns their sum in double, in order.
 * libm's expf on purpose: exp_fast (above) would make this loop vectorise and a training step 7% faster,
 * but it changes the probabilities in their last bit, and with them the shipped models: retrained so,
 * reverse.sfm dropped from 1000 to 998 of 1000 held-out strings. (With the AVX-512 kernels
 * softmax_exp_512 computes the same expf sixteen at a time.) */
static double softmax_exp_c(float *out, const float *in, int n, float maxv) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        float e = in[i] == -INFINITY ? 0.0f : expf(in[i] - maxv);
        out[i] = e;
        sum += e;
    }
    return sum;
}

void sf_softmax_forward(float *out, const float *in, int n) {
#ifdef SF_X86
    if (__builtin_cpu_supports("avx512f") && mm_pick() == &mm_avx512) {
        softmax_512(out, in, n);
        return;
    }
#endif
    float maxv = softmax_max_c(in, n);
    if (maxv == -INFINITY) { /* every key masked: nothing to attend to */
        for (int i = 0; i < n; i++) out[i] = 0.0f;
        return;
    }
    float inv = (float)(1.0 / softmax_exp_c(out, in, n, maxv));
    for (int i = 0; i < n; i++) out[i] *= inv;
}

double sf_softmax_expsum(float *e, const float *in, int n) {
#ifdef SF_X86
    if (__builtin_cpu_supports("avx512f") && mm_pick() == &mm_avx512) {
        float maxv = softmax_max_512(in, n);
        if (maxv == -INFINITY) {
            for (int i = 0; i < n; i++) e[i] = 0.0f;
            return 0.0;
        }
        return softmax_exp_512(e, in, n, maxv);
    }
#endif
    float maxv = softmax_max_c(in, n);
    if (maxv == -INFINITY) {
        for (int i = 0; i < n; i++) e[i] = 0.0f;
        return 0.0;
    }
    return softmax_exp_c(e, in, n, maxv);
}

SF_VEC void sf_softmax_backward(float *dinp, const float *dprobs, const float *probs, int n) {
    /* dL/din_i = sum_j dL/dp_j dp_j/din_i = p_i (dL/dp_i - sum_j p_j dL/dp_j) */
    double dot = 0.0;
    for (int i = 0; i < n; i++)
        if (probs[i] != 0.0f) dot += (double)probs[i] * dprobs[i];
    for (int i = 0; i < n; i++)
        if (probs[i] != 0.0f) dinp[i] += probs[i] * (dprobs[i] - (float)dot);
}

void sf_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols) {
    for (int r0 = 0; r0 < rows; r0 += 16)
        for (int c0 = 0; c0 < cols; c0 += 16) {
            int nr = rows - r0 < 16 ? rows - r0 : 16, nc = cols - c0 < 16 ? cols - c0 : 16;
            float *d = dst + (size_t)c0 * ldd + r0;
            const float *s = src + (size_t)r0 * lds + c0;
#ifdef SF_X86
            if (__builtin_cpu_supports("avx512f")) {
                transpose_512(d, ldd, s, lds, nr, nc, nr);
                continue;
            }
#endif
            transpose_c(d, ldd, s, lds, nr, nc, nr);
        }
}

/* Returns whether the AVX-512 softmax kernels are in use (sf_matmul_use). */
static int softmax_512_on(void) {
#ifdef SF_X86
    return __builtin_cpu_supports("avx512f") && mm_pick() == &mm_avx512;
#else
    return 0;
#endif
}

/* Returns the most of n(rows). */
static int most_of(const int *n, int rows) {
    int most = 0;
    for (int r = 0; r < rows; r++) most = n[r] > most ? n[r] : most;
    return most;
}

void sf_attn_softmax(float *pr, float *ss, float *sc, size_t ld, int rows, const int *seen, const int *n, float scale) {
    for (int r0 = 0; r0 < rows; r0 += 16) {
        int nr = rows - r0 < 16 ? rows - r0 : 16;
        size_t o = (size_t)r0 * ld;
#ifdef SF_X86
        if (softmax_512_on() && most_of(n + r0, nr) <= SOFTMAX_COLS) {
            softmax16_512(pr + o, ld, sc + o, ld, ss + o, nr, seen + r0, n + r0, &scale);
            continue;
        }
#endif
        for (int r = 0; r < nr; r++) {
            float *s = sc + o + (size_t)r * ld, *x = ss + o + (size_t)r * ld;
            int k = seen[r0 + r] < n[r0 + r] ? seen[r0 + r] : n[r0 + r];
            for (int j = 0; j < k; j++) x[j] = s[j] * scale;
            for (int j = k; j < n[r0 + r]; j++) s[j] = x[j] = -INFINITY;
            sf_softmax_forward(pr + o + (size_t)r * ld, x, n[r0 + r]);
        }
    }
}

void sf_softmax_rows(float *out, const float *in, int rows, int n) {
    int nn[16];
    for (int r = 0; r < 16; r++) nn[r] = n;
    for (int r0 = 0; r0 < rows; r0 += 16) {
        int nr = rows - r0 < 16 ? rows - r0 : 16;
        size_t o = (size_t)r0 * n;
#ifdef SF_X86
        if (softmax_512_on() && n <= SOFTMAX_COLS) { /* in is only read (no scale) */
            softmax16_512(out + o, (size_t)n, (float *)in + o, (size_t)n, NULL, nr, nn, nn, NULL);
            continue;
        }
#endif
        for (int r = 0; r < nr; r++) sf_softmax_forward(out + o + (size_t)r * n, in + o + (size_t)r * n, n);
    }
}

void sf_attn_softmax_backward(float *dsc, float *dss, const float *dpr, const float *pr, size_t ld, int rows,
                              const int *n, float scale) {
    for (int r0 = 0; r0 < rows; r0 += 16) {
        int nr = rows - r0 < 16 ? rows - r0 : 16;
        size_t o = (size_t)r0 * ld;
#ifdef SF_X86
        if (softmax_512_on() && most_of(n + r0, nr) <= SOFTMAX_COLS) {
            softmax16_backward_512(dsc + o, dss + o, dpr + o, pr + o, ld, nr, n + r0, scale);
            continue;
        }
#endif
        for (int r = 0; r < nr; r++) {
            size_t or = o + (size_t)r * ld;
            memset(dss + or, 0, (size_t)n[r0 + r] * sizeof(float));
            sf_softmax_backward(dss + or, dpr + or, pr + or, n[r0 + r]);
            for (int j = 0; j < n[r0 + r]; j++) dsc[or + j] = dss[or + j] * scale;
        }
    }
}

#ifdef SF_X86
/* sf_attn_head_backward with AVX-512 for 16-dimensional heads and segments of nq (1..16) queries and nk
 * (1..16) keys, every product a tile of chains from +0.0 reading its A operand a scalar at a time: dv as
 * sf_attn_values_backward writes it; dprobs transposed (a row per key, a lane per query) from v's rows and
 * dout transposed (fmaf(v, dout, c) is fmaf(dout, v, c): the same chains over d ascending); the softmax
 * backward's dots per lane in double over the keys ascending and dscores = (0 + p (dp - dot)) * scale, as
 * softmax16_backward_512 computes them, from the probabilities transposed; then dq = dscores . k and
 * dk = dscores^T . q from those columns. Only 4 KB of local buffers in between, no cell of the record. */
SF_AVX512 static void attn_head_backward_512(int nq, int nk, float *dq, size_t ldq, float *dk, size_t ldk, float *dv,
                                             size_t ldv, const float *dout, size_t ldo, const float *v, size_t ldvi,
                                             const float *pr, size_t ldpr, const float *q, size_t ldqi, const float *k,
                                             size_t ldki, float scale) {
    static const float zeros[16];
    float dot_[16][16] __attribute__((aligned(64))), pt[16][16] __attribute__((aligned(64)));
    float dpt[16][16] __attribute__((aligned(64))), ds[16][16] __attribute__((aligned(64)));
    tile16_unit(nk, dv, ldv, pr, ldpr, dout, ldo, nq, 0xFFFF, zeros);
    transpose_512(dot_[0], 16, dout, ldo, nq, 16, 16);         /* dot_[d][t] = dout[t][d] */
    transpose_512(pt[0], 16, pr, ldpr, nq, nk, 16);            /* pt[j][t] = probs[t][j] */
    tile16_any(nk, dpt[0], 16, v, ldvi, 1, dot_[0], 16, 16, lanes(nq, 0), zeros); /* dpt[j][t] = dprobs[t][j] */
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 mq = lanes(nq, 0);
    __m512d dlo = _mm512_setzero_pd(), dhi = dlo;
    for (int j = 0; j < nk; j++) { /* (double)p * dp is exact; cells with probability 0 are left out */
        __m512 p = _mm512_load_ps(pt[j]);
        __mmask16 nz = _mm512_cmp_ps_mask(p, zero, _CMP_NEQ_UQ) & mq;
        __m512 pz = _mm512_maskz_mov_ps(nz, p), dz = _mm512_maskz_load_ps(nz, dpt[j]);
        dlo = _mm512_add_pd(dlo, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(pz)),
                                               _mm512_cvtps_pd(_mm512_castps512_ps256(dz))));
        dhi = _mm512_add_pd(dhi, _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(pz), 1))),
                                               _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dz), 1)))));
    }
    __m512 dotv = pd2ps_512(dlo, dhi), sc = _mm512_set1_ps(scale);
    for (int j = 0; j < nk; j++) { /* ds[j][t] = dscores[t][j] */
        __m512 p = _mm512_load_ps(pt[j]);
        __mmask16 nz = _mm512_cmp_ps_mask(p, zero, _CMP_NEQ_UQ);
        __m512 g = _mm512_maskz_add_ps(nz, zero, _mm512_mul_ps(p, _mm512_sub_ps(_mm512_load_ps(dpt[j]), dotv)));
        _mm512_store_ps(ds[j], _mm512_mul_ps(g, sc));
    }
    tile16_unit(nq, dq, ldq, ds[0], 16, k, ldki, nk, 0xFFFF, zeros);
    tile16_any(nk, dk, ldk, ds[0], 16, 1, q, ldqi, nq, 0xFFFF, zeros);
}
#endif

int sf_attn_head_backward_local(int nq, int nk, int HS) {
    return HS == 16 && nq > 0 && nq <= 16 && nk > 0 && nk <= 16 && softmax_512_on();
}

void sf_attn_head_backward(float *dq, int ldq, float *dk, int ldk, float *dv, int ldv, const float *dout, int ldo,
                           const float *v, int ldvi, const float *vt, int ldvt, const float *probs, int ldpr, const float *q, int ldqi,
                           const float *kin, int ldki, int nq, int nk, int HS, float scale, float *dprobs,
                           float *dscaled, float *dscores) {
    if (nq <= 0 || nk <= 0) return;
#ifdef SF_X86
    if (sf_attn_head_backward_local(nq, nk, HS)) {
        MMC_START;
        attn_head_backward_512(nq, nk, dq, (size_t)ldq, dk, (size_t)ldk, dv, (size_t)ldv, dout, (size_t)ldo, v, (size_t)ldvi,
                               probs, (size_t)ldpr, q, (size_t)ldqi, kin, (size_t)ldki, scale);
        MMC_STOP(MMC_ACC, nq, nk, HS, 5);
        return;
    }
#endif
    sf_attn_values_backward(dprobs, ldpr, dv, ldv, dout, ldo, vt, ldvt, probs, ldpr, nq, nk, HS);
    enum { ROWS = 64 };
    int width[ROWS];
    for (int t = 0; t < ROWS; t++) width[t] = nk;
    for (int t0 = 0; t0 < nq; t0 += ROWS) {
        size_t o = (size_t)t0 * ldpr;
        sf_attn_softmax_backward(dscores + o, dscaled + o, dprobs + o, probs + o, (size_t)ldpr,
                                 nq - t0 < ROWS ? nq - t0 : ROWS, width, scale);
    }
    sf_attn_scores_backward(dq, ldq, dk, ldk, dscores, ldpr, q, ldqi, kin, ldki, nq, nk, HS);
}

/* Returns the sum of x(n), added in 8 independent lanes (element i into lane i % 8) and the lanes in a
 * fixed tree: the compiler can vectorise it without reordering anything. */
static inline float sum_lanes(const float *x, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += x[i];
    return s;
}

/* Returns the sum of (x_i - m)^2 over x(n), in the lanes of sum_lanes. */
static inline float sqdev_lanes(const float *x, float m, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            float d = x[i + k] - m;
            acc[k] += d * d;
        }
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) {
        float d = x[i] - m;
        s += d * d;
    }
    return s;
}

/* sf_layernorm_forward in plain C (compiled twice, see SF_VEC). */
SF_VEC static void layernorm_forward_c(float *out, float *mean, float *rstd, const float *in, const float *w,
                                       const float *b, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float m = sum_lanes(x, C) / (float)C;
        float v = sqdev_lanes(x, m, C) / (float)C;
        float s = 1.0f / sqrtf(v + eps);
        for (int i = 0; i < C; i++) y[i] = (x[i] - m) * s * w[i] + b[i];
        if (mean) mean[n] = m;
        if (rstd) rstd[n] = s;
    }
}

#ifdef SF_X86
/* Returns the eight lanes of a added in sum_lanes's tree (LayerNorm's partial sums), ((a0 + a1) + (a2 + a3)) + ((a4 + a5) +
 * (a6 + a7)): pairs, then pairs of pairs, then the two halves. */
SF_INLINE512 float tree8(__m256 a) {
    __m256 p = _mm256_add_ps(a, _mm256_permute_ps(a, 0xB1)); /* lane 2k: a2k + a2k+1 */
    __m256 q = _mm256_add_ps(p, _mm256_permute_ps(p, 0x4E)); /* lane 0: (a0 + a1) + (a2 + a3); lane 4 alike */
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(q), _mm256_extractf128_ps(q, 1)));
}

/* layernorm_forward_c with AVX-512 for rows of C = 16 V channels (V <= 8): a row in registers, its two
 * sums in one 8-lane vector (element i into lane i % 8, in order, as sum_lanes and sqdev_lanes add them)
 * added in their tree; the same IEEE operations in the same order, so the same bits. */
SF_INLINE512 void layernorm_forward_512(const int V, float *out, float *mean, float *rstd, const float *in,
                                        const float *w, const float *b, int N, float eps) {
    const int C = 16 * V;
    __m512 wv[8], bv[8];
    for (int v = 0; v < V; v++) wv[v] = _mm512_loadu_ps(w + 16 * v), bv[v] = _mm512_loadu_ps(b + 16 * v);
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        __m512 xv[8];
        __m256 a = _mm256_setzero_ps(), q = a;
        for (int v = 0; v < V; v++) {
            xv[v] = _mm512_loadu_ps(x + 16 * v);
            a = _mm256_add_ps(a, _mm512_castps512_ps256(xv[v]));
            a = _mm256_add_ps(a, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv[v]), 1)));
        }
        float m = tree8(a) / (float)C;
        __m512 mv = _mm512_set1_ps(m);
        for (int v = 0; v < V; v++) {
            __m512 d = _mm512_sub_ps(xv[v], mv);
            xv[v] = d;
            d = _mm512_mul_ps(d, d);
            q = _mm256_add_ps(q, _mm512_castps512_ps256(d));
            q = _mm256_add_ps(q, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
        }
        float s = 1.0f / sqrtf(tree8(q) / (float)C + eps);
        __m512 sv = _mm512_set1_ps(s);
        for (int v = 0; v < V; v++)
            _mm512_storeu_ps(out + (size_t)n * C + 16 * v,
                             _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(xv[v], sv), wv[v]), bv[v]));
        if (mean) mean[n] = m;
        if (rstd) rstd[n] = s;
    }
}

/* Runs layernorm_forward_512 for C = 16 V; returns 0 (and does nothing) for other widths. */
SF_AVX512 static int layernorm_forward_512_any(float *out, float *mean, float *rstd, const float *in, const float *w,
                                               const float *b, int N, int C, float eps) {
    switch (C) {
#define SF_L(v) case 16 * v: layernorm_forward_512(v, out, mean, rstd, in, w, b, N, eps); return 1;
        SF_L(1) SF_L(2) SF_L(3) SF_L(4) SF_L(5) SF_L(6) SF_L(7) SF_L(8)
#undef SF_L
    }
    return 0;
}
#endif

void sf_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w, const float *b, int N,
                          int C, float eps) {
#ifdef SF_X86
    if (__builtin_cpu_supports("avx512f") && mm_pick() == &mm_avx512 &&
        layernorm_forward_512_any(out, mean, rstd, in, w, b, N, C, eps))
        return;
#endif
    layernorm_forward_c(out, mean, rstd, in, w, b, N, C, eps);
}

/* sf_layernorm_backward in plain C (compiled twice, see SF_VEC). */
SF_VEC static void layernorm_backward_c(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                        const float *weight, const float *mean, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        /* 1. the gradient reaching the normalised value xhat = (x - m) s is dnorm = dy * w; its two means,
         *    summed in 8 lanes as sum_lanes does */
        float a1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int i = 0;
        for (; i + 8 <= C; i += 8)
            for (int k = 0; k < 8; k++) {
                float xhat = (x[i + k] - m) * s;
                float dnorm = dy[i + k] * weight[i + k];
                a1[k] += dnorm;
                a2[k] += dnorm * xhat;
            }
        float dnorm_mean = ((a1[0] + a1[1]) + (a1[2] + a1[3])) + ((a1[4] + a1[5]) + (a1[6] + a1[7]));
        float dnorm_xhat_mean = ((a2[0] + a2[1]) + (a2[2] + a2[3])) + ((a2[4] + a2[5]) + (a2[6] + a2[7]));
        for (; i < C; i++) {
            float xhat = (x[i] - m) * s;
            float dnorm = dy[i] * weight[i];
            dnorm_mean += dnorm;
            dnorm_xhat_mean += dnorm * xhat;
        }
        dnorm_mean /= (float)C;
        dnorm_xhat_mean /= (float)C;
        /* 2. gain and bias: y = xhat w + b */
        if (dweight)
            for (i = 0; i < C; i++) dweight[i] += dy[i] * ((x[i] - m) * s);
        if (dbias)
            for (i = 0; i < C; i++) dbias[i] += dy[i];
        /* 3. input: the mean and the variance depend on every x, which removes the two means above */
        for (i = 0; i < C; i++) {
            float xhat = (x[i] - m) * s;
            float dnorm = dy[i] * weight[i];
            dx[i] += s * (dnorm - dnorm_mean - xhat * dnorm_xhat_mean);
        }
    }
}

#ifdef SF_X86
/* layernorm_backward_c with AVX-512 for rows of C = 16 V channels (V <= 8): a row's values, its x-hat and
 * its dnorm stay in registers through the three steps, the 8-lane partial sums are one 8-lane vector
 * (element i into lane i % 8, in order), and the gain and bias gradients are held in registers over all
 * the rows. The same IEEE operations in the same order as the plain loops, so the same bits. */
SF_INLINE512 void layernorm_backward_512(const int V, float *dinp, float *dweight, float *dbias, const float *dout,
                                         const float *inp, const float *weight, const float *mean,
                                         const float *rstd, int N) {
    const int C = 16 * V;
    __m512 w[8], dw[8], db[8];
    for (int v = 0; v < V; v++) {
        w[v] = _mm512_loadu_ps(weight + 16 * v);
        dw[v] = dweight ? _mm512_loadu_ps(dweight + 16 * v) : _mm512_setzero_ps();
        db[v] = dbias ? _mm512_loadu_ps(dbias + 16 * v) : _mm512_setzero_ps();
    }
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        __m512 m = _mm512_set1_ps(mean[n]), s = _mm512_set1_ps(rstd[n]);
        __m512 xhat[8], dnorm[8], dyv[8];
        __m256 a1 = _mm256_setzero_ps(), a2 = a1;
        for (int v = 0; v < V; v++) {
            dyv[v] = _mm512_loadu_ps(dy + 16 * v);
            xhat[v] = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + 16 * v), m), s);
            dnorm[v] = _mm512_mul_ps(dyv[v], w[v]);
            __m512 p = _mm512_mul_ps(dnorm[v], xhat[v]);
            a1 = _mm256_add_ps(a1, _mm512_castps512_ps256(dnorm[v]));
            a2 = _mm256_add_ps(a2, _mm512_castps512_ps256(p));
            a1 = _mm256_add_ps(a1, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dnorm[v]), 1)));
            a2 = _mm256_add_ps(a2, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1)));
        }
        __m512 dnorm_mean = _mm512_set1_ps(tree8(a1) / (float)C);
        __m512 dnorm_xhat_mean = _mm512_set1_ps(tree8(a2) / (float)C);
        for (int v = 0; v < V; v++) {
            dw[v] = _mm512_add_ps(dw[v], _mm512_mul_ps(dyv[v], xhat[v]));
            db[v] = _mm512_add_ps(db[v], dyv[v]);
            __m512 g = _mm512_sub_ps(_mm512_sub_ps(dnorm[v], dnorm_mean), _mm512_mul_ps(xhat[v], dnorm_xhat_mean));
            _mm512_storeu_ps(dx + 16 * v, _mm512_add_ps(_mm512_loadu_ps(dx + 16 * v), _mm512_mul_ps(s, g)));
        }
    }
    for (int v = 0; v < V; v++) {
        if (dweight) _mm512_storeu_ps(dweight + 16 * v, dw[v]);
        if (dbias) _mm512_storeu_ps(dbias + 16 * v, db[v]);
    }
}

/* Runs layernorm_backward_512 for C = 16 V; returns 0 (and does nothing) for other widths. */
SF_AVX512 static int layernorm_backward_512_any(float *dinp, float *dweight, float *dbias, const float *dout,
                                                const float *inp, const float *weight, const float *mean,
                                                const float *rstd, int N, int C) {
    switch (C) {
#define SF_L(v) case 16 * v: layernorm_backward_512(v, dinp, dweight, dbias, dout, inp, weight, mean, rstd, N); return 1;
        SF_L(1) SF_L(2) SF_L(3) SF_L(4) SF_L(5) SF_L(6) SF_L(7) SF_L(8)
#undef SF_L
    }
    return 0;
}
#endif

void sf_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, const float *mean, const float *rstd, int N, int C) {
#ifdef SF_X86
    if (__builtin_cpu_supports("avx512f") && mm_pick() == &mm_avx512 &&
        layernorm_backward_512_any(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C))
        return;
#endif
    layernorm_backward_c(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
}

SF_VEC void sf_relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

SF_VEC void sf_relu_backward(float *dinp, const float *dout, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) { /* both loads always happen and no branch: the loop vectorises */
        float d = dout[i];
        dinp[i] += in[i] > 0.0f ? d : 0.0f;
    }
}

#define SF_GELU_K 0.7978845608028654f /* sqrt(2/pi) */

/* Returns tanh(u) within 1.5 ulp (glibc's tanhf: 2.2; measured over every third float of [0, 12]):
 * below 0.55 its odd Taylor series to u^17 (the next term is under 1e-8 of the result), above it
 * 1 - 2 / (e^2|u| + 1). Plain arithmetic without branches or calls, so the loops using it vectorise;
 * the libm call was half the time of training a GELU model. */
static inline float tanh_fast(float u) {
    float a = fabsf(u), z = a * a;
    float q = 6404582.0f / 10854718875.0f;
    q = q * z + -929569.0f / 638512875.0f;
    q = q * z + 21844.0f / 6081075.0f;
    q = q * z + -1382.0f / 155925.0f;
    q = q * z + 62.0f / 2835.0f;
    q = q * z + -17.0f / 315.0f;
    q = q * z + 2.0f / 15.0f;
    q = q * z + -1.0f / 3.0f;
    float small = a + a * z * q;
    float large = 1.0f - 2.0f / (exp_fast(2.0f * (a < 10.0f ? a : 10.0f)) + 1.0f); /* tanh(10) is 1 in float */
    return copysignf(a < 0.55f ? small : large, u);
}

SF_VEC void sf_gelu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanh_fast(SF_GELU_K * (x + 0.044715f * x * x * x)));
    }
}

SF_VEC void sf_gelu_backward(float *dinp, const float *dout, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        /* y = 0.5 x (1 + tanh u), u = k (x + 0.044715 x^3):
         * dy/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 * 0.044715 x^2) */
        float x = in[i];
        float u = SF_GELU_K * (x + 0.044715f * x * x * x);
        float th = tanh_fast(u);
        float du = SF_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
        dinp[i] += dout[i] * grad;
    }
}

SF_VEC void sf_add_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* Writes the sinusoid of position pos into out(C), computed in double so the encoding is exact to
 * float precision at every position. */
static void sinusoid_compute(float *out, int pos, int C) {
    for (int i = 0; i < C; i += 2) {
        double angle = (double)pos / pow(10000.0, (double)i / (double)C);
        out[i] = (float)sin(angle);
        if (i + 1 < C) out[i + 1] = (float)cos(angle);
    }
}

/* The encodings of the first SINUSOID_POS positions for one width, computed once (pow, sin and cos per
 * element were a twentieth of a training step): built by the first caller, published with one atomic
 * exchange, never changed or freed. Other widths are computed each time. */
#define SINUSOID_POS 128
#define SINUSOID_MAX_C 1024
typedef struct {
    int C;
    float pe[]; /* (SINUSOID_POS, C) */
} sinusoid_table;
static _Atomic(sinusoid_table *) sinusoid_cache;

void sf_sinusoid_forward(float *out, int pos, int C) {
    sinusoid_table *t = atomic_load_explicit(&sinusoid_cache, memory_order_acquire);
    if (!t && C <= SINUSOID_MAX_C && C > 0) {
        sinusoid_table *mine = malloc(sizeof *mine + (size_t)SINUSOID_POS * C * sizeof(float));
        if (mine) {
            mine->C = C;
            for (int p = 0; p < SINUSOID_POS; p++) sinusoid_compute(mine->pe + (size_t)p * C, p, C);
            sinusoid_table *none = NULL;
            if (atomic_compare_exchange_strong_explicit(&sinusoid_cache, &none, mine, memory_order_acq_rel,
                                                        memory_order_acquire))
                t = mine;
            else {
                free(mine); /* another thread published first */
                t = none;
            }
        }
    }
    if (t && t->C == C && pos >= 0 && pos < SINUSOID_POS) memcpy(out, t->pe + (size_t)pos * C, (size_t)C * sizeof(float));
    else sinusoid_compute(out, pos, C);
}

float sf_dot(const float *a, const float *b, int n) { return dot_lanes(a, b, n); }

#define DOT_ROWS_MAX_N 256 /* longest vectors sf_dot_rows takes 16 keys at a time for (longer: one by one) */

/* dot_lanes(q_t, k_j, n) for nq queries t and a block of up to 16 keys j side by side: the keys are
 * transposed once into kt so that the loop over j is innermost and vectorises; each key's eight lanes get
 * the same products and sums in the same order as dot_lanes gives them (a product, then an addition,
 * each rounded: nothing is fused). */
static void dot_rows16(float *out, size_t ldo, const float *q, size_t ldq, int nq, const float *k, size_t ldk,
                       int nk, int n) {
    float kt[DOT_ROWS_MAX_N * 16];
    for (int j = 0; j < 16; j++)
        for (int i = 0; i < n; i++) kt[i * 16 + j] = j < nk ? k[(size_t)j * ldk + i] : 0.0f;
    for (int t = 0; t < nq; t++) {
        const float *qt = q + (size_t)t * ldq;
        float acc[8 * 16];
        for (int x = 0; x < 8 * 16; x++) acc[x] = 0.0f;
        int i = 0;
        for (; i + 8 <= n; i += 8)
            for (int l = 0; l < 8; l++) {
                float a = qt[i + l];
                const float *restrict b = kt + (i + l) * 16;
                float *restrict c = acc + l * 16;
                for (int j = 0; j < 16; j++) c[j] += a * b[j];
            }
        float s[16];
        for (int j = 0; j < 16; j++)
            s[j] = ((acc[j] + acc[16 + j]) + (acc[32 + j] + acc[48 + j])) +
                   ((acc[64 + j] + acc[80 + j]) + (acc[96 + j] + acc[112 + j]));
        for (; i < n; i++) {
            float a = qt[i];
            for (int j = 0; j < 16; j++) s[j] += a * kt[i * 16 + j];
        }
        float *o = out + (size_t)t * ldo;
        for (int j = 0; j < nk; j++) o[j] = s[j];
    }
}

#ifdef SF_X86
/* dot_rows16 with AVX-512: the block of keys transposed through the registers, the sixteen keys' eight
 * lanes in eight vectors; the same rounded products and additions in the same order. */
SF_AVX512 static void dot_rows16_512(float *out, size_t ldo, const float *q, size_t ldq, int nq, const float *k,
                                     size_t ldk, int nk, int n) {
    float kt[DOT_ROWS_MAX_N * 16] __attribute__((aligned(64)));
    for (int i = 0; i < n; i += 16) transpose_512(kt + i * 16, 16, k + i, ldk, nk, n - i < 16 ? n - i : 16, 16);
    __mmask16 m = (__mmask16)((1u << nk) - 1u);
    int n8 = n & ~7;
    for (int t = 0; t < nq; t++) {
        const float *qt = q + (size_t)t * ldq;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        /* the lanes start at their first products, not at 0 + the product: that differs only in a zero's
         * sign (+0 + -0 is +0), and only when a lane's products are all -0; the tree of such lanes then
         * differs only in giving -0 for +0, which the + 0 after the tree makes +0 again: the same bits */
        if (n8) {
#define SF_L(l) a##l = _mm512_mul_ps(_mm512_set1_ps(qt[l]), _mm512_load_ps(kt + l * 16));
            SF_L(0) SF_L(1) SF_L(2) SF_L(3) SF_L(4) SF_L(5) SF_L(6) SF_L(7)
#undef SF_L
        }
        for (int i = 8; i < n8; i += 8) {
            const float *b = kt + i * 16;
#define SF_L(l) a##l = _mm512_add_ps(a##l, _mm512_mul_ps(_mm512_set1_ps(qt[i + l]), _mm512_load_ps(b + l * 16)));
            SF_L(0) SF_L(1) SF_L(2) SF_L(3) SF_L(4) SF_L(5) SF_L(6) SF_L(7)
#undef SF_L
        }
        __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                 _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
        if (n8) s = _mm512_add_ps(s, _mm512_setzero_ps());
        for (int i = n8; i < n; i++)
            s = _mm512_add_ps(s, _mm512_mul_ps(_mm512_set1_ps(qt[i]), _mm512_load_ps(kt + i * 16)));
        _mm512_mask_storeu_ps(out + (size_t)t * ldo, m, s);
    }
}
#endif

#ifdef SF_X86
/* dot_rows16 with AVX2 (no FMA: each product is rounded before its addition, as in dot_rows16): the keys
 * in two halves of eight lanes, each half's eight lanes of the sum in eight vectors (each key's sum is
 * its own chain, so halves change nothing); the lanes start at their first products and the tree's sum
 * gets + 0, as in dot_rows16_512. */
SF_AVX2 static void dot_rows16_avx2(float *out, size_t ldo, const float *q, size_t ldq, int nq, const float *k,
                                    size_t ldk, int nk, int n) {
    float kt[DOT_ROWS_MAX_N * 16] __attribute__((aligned(32)));
    for (int j = 0; j < 16; j++)
        for (int i = 0; i < n; i++) kt[i * 16 + j] = j < nk ? k[(size_t)j * ldk + i] : 0.0f;
    int n8 = n & ~7;
    for (int h = 0; h < nk; h += 8) {
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(nk - h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const float *kh = kt + h;
        for (int t = 0; t < nq; t++) {
            const float *qt = q + (size_t)t * ldq;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            if (n8) {
#define SF_L(l) a##l = _mm256_mul_ps(_mm256_set1_ps(qt[l]), _mm256_load_ps(kh + l * 16));
                SF_L(0) SF_L(1) SF_L(2) SF_L(3) SF_L(4) SF_L(5) SF_L(6) SF_L(7)
#undef SF_L
            }
            for (int i = 8; i < n8; i += 8) {
                const float *b = kh + i * 16;
#define SF_L(l) a##l = _mm256_add_ps(a##l, _mm256_mul_ps(_mm256_set1_ps(qt[i + l]), _mm256_load_ps(b + l * 16)));
                SF_L(0) SF_L(1) SF_L(2) SF_L(3) SF_L(4) SF_L(5) SF_L(6) SF_L(7)
#undef SF_L
            }
            __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                     _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
            if (n8) s = _mm256_add_ps(s, _mm256_setzero_ps());
            for (int i = n8; i < n; i++)
                s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(qt[i]), _mm256_load_ps(kh + i * 16)));
            _mm256_maskstore_ps(out + (size_t)t * ldo + h, m, s);
        }
    }
}
#endif

static void dot_rows_run(float *out, int ldo, const float *q, int ldq, int nq, const float *k, int ldk, int nk,
                         int n);

void sf_dot_rows(float *out, int ldo, const float *q, int ldq, int nq, const float *k, int ldk, int nk, int n) {
    MMC_START;
    dot_rows_run(out, ldo, q, ldq, nq, k, ldk, nk, n);
    MMC_STOP(MMC_DOT, nq, n, nk, 0);
}

/* sf_dot_rows with the kernels in use. */
static void dot_rows_run(float *out, int ldo, const float *q, int ldq, int nq, const float *k, int ldk, int nk,
                         int n) {
#ifdef SF_X86
    if (n <= DOT_ROWS_MAX_N && __builtin_cpu_supports("avx512f") && mm_pick() == &mm_avx512) {
        for (int j0 = 0; j0 < nk; j0 += 16)
            dot_rows16_512(out + j0, (size_t)ldo, q, (size_t)ldq, nq, k + (size_t)j0 * ldk, (size_t)ldk,
                           nk - j0 < 16 ? nk - j0 : 16, n);
        return;
    }
    if (n <= DOT_ROWS_MAX_N && __builtin_cpu_supports("avx2") && mm_pick() == &mm_avx2) {
        for (int j0 = 0; j0 < nk; j0 += 16)
            dot_rows16_avx2(out + j0, (size_t)ldo, q, (size_t)ldq, nq, k + (size_t)j0 * ldk, (size_t)ldk,
                            nk - j0 < 16 ? nk - j0 : 16, n);
        return;
    }
#endif
    if (n > DOT_ROWS_MAX_N) {
        for (int t = 0; t < nq; t++)
            for (int j = 0; j < nk; j++)
                out[(size_t)t * ldo + j] = dot_lanes(q + (size_t)t * ldq, k + (size_t)j * ldk, n);
        return;
    }
    for (int j0 = 0; j0 < nk; j0 += 16)
        dot_rows16(out + j0, (size_t)ldo, q, (size_t)ldq, nq, k + (size_t)j0 * ldk, (size_t)ldk,
                   nk - j0 < 16 ? nk - j0 : 16, n);
}

/* One row of sf_attn_weighted_values, for any processor (the compiler vectorises the loop over d). */
SF_VEC static void weighted_row(float *restrict o, const float *restrict pr, const float *restrict v, size_t ldv,
                                int nk, int HS) {
    if (HS == 16) { /* the shipped models' head size: the loop over d is then one register */
        float acc[16] = {0};
        for (int j = 0; j < nk; j++) {
            float p = pr[j];
            if (p == 0.0f) continue;
            const float *restrict vj = v + (size_t)j * ldv;
            for (int d = 0; d < 16; d++) acc[d] += p * vj[d];
        }
        for (int d = 0; d < 16; d++) o[d] = acc[d];
        return;
    }
    for (int d = 0; d < HS; d++) o[d] = 0.0f;
    for (int j = 0; j < nk; j++) {
        float p = pr[j];
        if (p == 0.0f) continue;
        const float *restrict vj = v + (size_t)j * ldv;
        for (int d = 0; d < HS; d++) o[d] += p * vj[d];
    }
}

/* weighted_row for four rows (out and probs at row strides ldo, ldp) of 16-dimensional heads: the same
 * operations per row, the four rows' chains of additions interleaved, so that they wait for one another's
 * latency instead of each for its own (causal rows, which skip the keys they do not see). */
SF_VEC static void weighted_rows4(float *out, size_t ldo, const float *pr, size_t ldp, const int *seen,
                                  const float *restrict v, size_t ldv) {
#if defined(__GNUC__) || defined(__clang__)
    typedef float v16 __attribute__((vector_size(64))); /* GCC/clang vectors: + and * as IEEE, not fused */
    v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int most = seen[0];
    for (int r = 1; r < 4; r++) most = seen[r] > most ? seen[r] : most;
    const float *p0 = pr, *p1 = pr + ldp, *p2 = pr + 2 * ldp, *p3 = pr + 3 * ldp;
    for (int j = 0; j < most; j++) {
        v16 vj;
        memcpy(&vj, v + (size_t)j * ldv, sizeof vj);
        float q0 = j < seen[0] ? p0[j] : 0.0f, q1 = j < seen[1] ? p1[j] : 0.0f;
        float q2 = j < seen[2] ? p2[j] : 0.0f, q3 = j < seen[3] ? p3[j] : 0.0f;
        if (q0 != 0.0f) a0 += q0 * vj;
        if (q1 != 0.0f) a1 += q1 * vj;
        if (q2 != 0.0f) a2 += q2 * vj;
        if (q3 != 0.0f) a3 += q3 * vj;
    }
    memcpy(out, &a0, sizeof a0);
    memcpy(out + ldo, &a1, sizeof a1);
    memcpy(out + 2 * ldo, &a2, sizeof a2);
    memcpy(out + 3 * ldo, &a3, sizeof a3);
#else
    for (int r = 0; r < 4; r++) weighted_row(out + (size_t)r * ldo, pr + (size_t)r * ldp, v, ldv, seen[r], 16);
#endif
}

#ifdef SF_X86
/* R (1..8) rows of sf_attn_weighted_values for 16-dimensional heads whose values (the first `most` keys)
 * are all finite: every row's sum in its own register, each key's value row loaded once for all rows. A
 * term is added for every key j < most, its probability taken as 0 past the row's seen: a term whose
 * probability is 0 is then p * v = +-0, and adding +-0 to a sum that starts at +0 leaves it as it is (such
 * a sum is never -0: +0 + -0 is +0), so the bits are those of skipping it. */
SF_INLINE512 void weighted_tile(const int R, float *out, size_t ldo, const float *pr, size_t ldp, const int *seen,
                                const float *v, size_t ldv, int most) {
    float p[8][16] __attribute__((aligned(64))); /* the rows' probabilities, 0 past seen (and past most) */
    for (int r = 0; r < R; r++) {
        int n = seen[r] < most ? seen[r] : most;
        _mm512_store_ps(p[r], _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), pr + (size_t)r * ldp));
    }
    __m512 a[8];
    for (int r = 0; r < R; r++) a[r] = _mm512_setzero_ps();
    for (int j = 0; j < most; j++) {
        __m512 vj = _mm512_loadu_ps(v + (size_t)j * ldv);
        for (int r = 0; r < R; r++) a[r] = _mm512_add_ps(a[r], _mm512_mul_ps(_mm512_set1_ps(p[r][j]), vj));
    }
    for (int r = 0; r < R; r++) _mm512_storeu_ps(out + (size_t)r * ldo, a[r]);
}

/* Runs sf_attn_weighted_values for 16-dimensional heads and rows of at most 16 keys with AVX-512; returns
 * 0 (and writes nothing) when a value the rows can see is not finite (0 * inf is no zero: the rows then
 * take the exact path). */
SF_AVX512 static int weighted_values_512(float *out, size_t ldo, const float *pr, size_t ldp, const int *seen, int nq,
                                         const float *v, size_t ldv) {
    int most = 0;
    for (int t = 0; t < nq; t++) most = seen[t] > most ? seen[t] : most;
    __mmask16 bad = 0;
    for (int j = 0; j < most; j++) {
        __m512 x = _mm512_loadu_ps(v + (size_t)j * ldv);
        bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(x, x), _mm512_setzero_ps(), _CMP_NEQ_UQ); /* inf - inf, NaN */
    }
    if (bad) return 0;
    for (int t0 = 0; t0 < nq; t0 += 8) {
        int R = nq - t0 < 8 ? nq - t0 : 8;
        float *o = out + (size_t)t0 * ldo;
        const float *p = pr + (size_t)t0 * ldp;
        const int *sn = seen + t0;
        int m = 0;
        for (int t = 0; t < R; t++) m = sn[t] > m ? sn[t] : m;
        switch (R) {
#define SF_T(r) case r: weighted_tile(r, o, ldo, p, ldp, sn, v, ldv, m); break;
            SF_T(1) SF_T(2) SF_T(3) SF_T(4) SF_T(5) SF_T(6) SF_T(7) SF_T(8)
#undef SF_T
        }
    }
    return 1;
}
#endif

void sf_attn_weighted_values(float *out, int ldo, const float *probs, int ldp, const int *seen, int nq, const float *v,
                             int ldv, int HS) {
    MMC_START;
    int most = 0, same = 1;
    for (int t = 0; t < nq; t++) most = seen[t] > most ? seen[t] : most, same &= seen[t] == seen[0];
#ifdef SF_X86
    /* rows that see as many keys side by side (causal rows would add every row's unseen keys' zeros) */
    if (HS == 16 && same && most <= 16 && softmax_512_on() &&
        weighted_values_512(out, (size_t)ldo, probs, (size_t)ldp, seen, nq, v, (size_t)ldv)) {
        MMC_STOP(MMC_WV, nq, most, HS, 0);
        return;
    }
#endif
    int t = 0;
    if (HS == 16)
        for (; t + 4 <= nq; t += 4)
            weighted_rows4(out + (size_t)t * ldo, (size_t)ldo, probs + (size_t)t * ldp, (size_t)ldp, seen + t, v, (size_t)ldv);
    for (; t < nq; t++) weighted_row(out + (size_t)t * ldo, probs + (size_t)t * ldp, v, (size_t)ldv, seen[t], HS);
    MMC_STOP(MMC_WV, nq, most, HS, 0);
}

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

SF_VEC void sf_crossentropy_softmax_backward(float *dlogits, const float *probs, int target, float dloss, int V) {
    /* d(-log p_t)/dz_i = p_i - [i == t] */
    for (int i = 0; i < V; i++) dlogits[i] += dloss * (probs[i] - (i == target ? 1.0f : 0.0f));
}

/* ---- one row: the decoder step ------------------------------------------------------------------- */

/* A matrix is split over threads only when it is this large (floats): below it one core streams it in
 * less time than the threads take to start. */
#define SF_MATVEC_THREADED ((size_t)1 << 17)

/* Writes out[o] for rows [o0, o1) exactly as sf_matmul_forward's kernels compute a row: started at the
 * bias (or +0) and then one fused multiply-add per input channel, i ascending. Eight rows at a time, each
 * row of w read front to back: eight independent scalar chains side by side, which share each read of
 * `in` and hide the latency of one another; the order inside each chain is the kernels' order, so the
 * bits are theirs. (The plain C row; FMA processors take matvec_fma, which vectorises the same chains.) */
static inline __attribute__((always_inline)) void matvec_body(float *out, const float *in, const float *w,
                                                             const float *bias, int IC, int o0, int o1) {
    int o = o0;
    for (; o + 8 <= o1; o += 8) {
        const float *restrict r0 = w + (size_t)o * IC, *restrict r1 = r0 + IC, *restrict r2 = r1 + IC,
                              *restrict r3 = r2 + IC, *restrict r4 = r3 + IC, *restrict r5 = r4 + IC,
                              *restrict r6 = r5 + IC, *restrict r7 = r6 + IC;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
        if (bias) {
            a0 = bias[o]; a1 = bias[o + 1]; a2 = bias[o + 2]; a3 = bias[o + 3];
            a4 = bias[o + 4]; a5 = bias[o + 5]; a6 = bias[o + 6]; a7 = bias[o + 7];
        }
        for (int i = 0; i < IC; i++) {
            float x = in[i];
            a0 = fmaf(r0[i], x, a0); a1 = fmaf(r1[i], x, a1); a2 = fmaf(r2[i], x, a2); a3 = fmaf(r3[i], x, a3);
            a4 = fmaf(r4[i], x, a4); a5 = fmaf(r5[i], x, a5); a6 = fmaf(r6[i], x, a6); a7 = fmaf(r7[i], x, a7);
        }
        out[o] = a0; out[o + 1] = a1; out[o + 2] = a2; out[o + 3] = a3;
        out[o + 4] = a4; out[o + 5] = a5; out[o + 6] = a6; out[o + 7] = a7;
    }
    for (; o < o1; o++) {
        const float *restrict r = w + (size_t)o * IC;
        float a = bias ? bias[o] : 0.0f;
        for (int i = 0; i < IC; i++) a = fmaf(r[i], in[i], a);
        out[o] = a;
    }
}

typedef void (*matvec_fn)(float *, const float *, const float *, const float *, int, int, int);

/* GCC would pack the eight scalar chains into one vector chain, gathering a lane from each row with a
 * shuffle per weight: the same bits, but slower than eight scalar fused multiply-adds, whose loads stream
 * the rows directly. */
#if defined(__GNUC__) && !defined(__clang__)
#define SF_NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define SF_NO_SLP
#endif

/* The rows with plain C's fmaf (the "c" kernels). */
SF_NO_SLP static void matvec_c(float *out, const float *in, const float *w, const float *bias, int IC, int o0, int o1) {
    matvec_body(out, in, w, bias, IC, o0, o1);
}

#ifdef SF_X86
/* Adds channels [i, i+8) of the eight rows at w (row stride IC) to acc, one fused multiply-add per channel
 * in ascending order in every lane (lane j: row j). */
__attribute__((target("avx2,fma"))) static inline __m256 fma8x8(__m256 acc, const float *w, size_t IC, const float *x) {
    __m256 r[8];
    for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(w + (size_t)j * IC);
    transpose8(r);
    for (int k = 0; k < 8; k++) acc = _mm256_fmadd_ps(r[k], _mm256_broadcast_ss(x + k), acc);
    return acc;
}

/* The rows for FMA processors (the "avx2" and "avx512" kernels' row): eight rows per vector, each lane one
 * row's chain; blocks of 8 x 8 weights are read row by row and turned so that a vector holds one channel
 * of eight rows. Two groups of eight rows run side by side, so that two chains hide each other's latency.
 * Leftover channels and rows take the same chain one fused multiply-add at a time. */
SF_NO_SLP __attribute__((target("avx2,fma"))) static void matvec_fma(float *out, const float *in, const float *w,
                                                                    const float *bias, int IC, int o0, int o1) {
    int o = o0, i8 = IC & ~7;
    size_t ic = (size_t)IC;
    for (; o + 16 <= o1; o += 16) {
        const float *wa = w + (size_t)o * ic, *wb = wa + 8 * ic;
        __m256 a = bias ? _mm256_loadu_ps(bias + o) : _mm256_setzero_ps();
        __m256 b = bias ? _mm256_loadu_ps(bias + o + 8) : _mm256_setzero_ps();
        for (int i = 0; i < i8; i += 8) {
            a = fma8x8(a, wa + i, ic, in + i);
            b = fma8x8(b, wb + i, ic, in + i);
        }
        float ra[8], rb[8];
        _mm256_storeu_ps(ra, a);
        _mm256_storeu_ps(rb, b);
        for (int j = 0; j < 8; j++) {
            for (int i = i8; i < IC; i++) {
                ra[j] = fmaf(wa[(size_t)j * ic + i], in[i], ra[j]);
                rb[j] = fmaf(wb[(size_t)j * ic + i], in[i], rb[j]);
            }
            out[o + j] = ra[j];
            out[o + 8 + j] = rb[j];
        }
    }
    for (; o + 8 <= o1; o += 8) {
        const float *wa = w + (size_t)o * ic;
        __m256 a = bias ? _mm256_loadu_ps(bias + o) : _mm256_setzero_ps();
        for (int i = 0; i < i8; i += 8) a = fma8x8(a, wa + i, ic, in + i);
        float ra[8];
        _mm256_storeu_ps(ra, a);
        for (int j = 0; j < 8; j++) {
            for (int i = i8; i < IC; i++) ra[j] = fmaf(wa[(size_t)j * ic + i], in[i], ra[j]);
            out[o + j] = ra[j];
        }
    }
    matvec_body(out, in, w, bias, IC, o, o1);
}
#endif

/* Returns the row function of the kernels in use (sf_matmul_use can force the plain C ones). */
static matvec_fn matvec_pick(void) {
#ifdef SF_X86
    if (mm_pick() != &mm_plain) return matvec_fma;
#endif
    return matvec_c;
}

/* One matrix-vector product, cut into chunks of rows for the pool. */
typedef struct { matvec_fn rows; float *out; const float *in, *w, *bias; int IC, OC; } matvec_job;

#define MATVEC_CHUNK 64 /* rows per chunk: a multiple of 8, about 200 KB of a GPT-2 matrix */

static void matvec_chunk(void *arg, int chunk) {
    const matvec_job *j = arg;
    int o0 = chunk * MATVEC_CHUNK, o1 = o0 + MATVEC_CHUNK < j->OC ? o0 + MATVEC_CHUNK : j->OC;
    j->rows(j->out, j->in, j->w, j->bias, j->IC, o0, o1);
}

void sf_matvec_forward(float *out, const float *in, const float *w, const float *bias, int IC, int OC) {
    matvec_fn rows = matvec_pick(); /* chosen here, so the pool's threads use the same kernels */
    if ((size_t)OC * (size_t)IC < SF_MATVEC_THREADED) {
        rows(out, in, w, bias, IC, 0, OC);
        return;
    }
    /* each row is one chunk's, whole: the threads change where a row is summed, never how */
    matvec_job j = {rows, out, in, w, bias, IC, OC};
    sf_parallel(matvec_chunk, &j, (OC + MATVEC_CHUNK - 1) / MATVEC_CHUNK);
}
