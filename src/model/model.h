/* model.h - weights, the per-sequence record of every intermediate, and the forward passes.
 *
 * Sizes: V vocab, C d_model, NH heads, HS = C/NH head size, F d_ff (0: attention-only, no FFN), L the
 * record's capacity.
 * Every buffer of a sequence record has room for L positions; n_src / n_tgt say how many are filled.
 * L follows the tokens actually run (it starts small and the forward passes grow it, never past the
 * model's max_len), so memory follows the input, not the longest sequence the model accepts.
 * The forward passes write every intermediate into the record; the trace (trace.h) names them. */
#ifndef SF_MODEL_H
#define SF_MODEL_H

#include <stddef.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "config.h"
#include "tokenizer.h"

/* ---- weights ---------------------------------------------------------------------------------- */

typedef struct { float *w, *b; } sf_ln_w; /* LayerNorm gain and bias, (C) each */

typedef struct {
    float *w_in, *b_in; /* self: fused QKV (3C,C),(3C) rows q|k|v; cross: W_q (C,C),(C) */
    float *w_kv, *b_kv; /* cross only: fused K|V from the encoder output (2C,C),(2C); else NULL */
    float *wo, *bo;     /* output projection (C,C),(C) */
} sf_attn_w;

typedef struct { float *w1, *b1, *w2, *b2; } sf_ffn_w; /* (F,C),(F),(C,F),(C) */

typedef struct {
    sf_attn_w self;  sf_ln_w ln_self;  /* encoder: self-attention; decoder: masked self-attention */
    sf_attn_w cross; sf_ln_w ln_cross; /* encoder-decoder decoder only */
    sf_ffn_w ffn;    sf_ln_w ln_ffn;
} sf_layer_w;

typedef struct {
    float *tok_emb;    /* (V,C) */
    float *pos_emb;    /* (L,C) learned positions, or NULL */
    sf_layer_w *enc;   /* (n_enc_layers) */
    sf_layer_w *dec;   /* (n_dec_layers) */
    sf_ln_w enc_ln_f;  /* pre-LN only: final encoder LayerNorm */
    sf_ln_w dec_ln_f;  /* pre-LN only: final decoder LayerNorm (GPT-2's ln_f) */
    float *lm_head;    /* (V,C) when not tied, else NULL (logits use tok_emb) */
} sf_weights;

/* One named parameter tensor, as stored in a checkpoint. */
typedef struct {
    char name[48];
    int rank;
    int dims[2];
    size_t offset; /* in floats, into sf_model.params */
    size_t count;  /* number of floats */
} sf_param;

typedef struct {
    sf_config cfg;
    sf_tokenizer tok;
    float *params;      /* one allocation holding every weight */
    size_t n_params;    /* floats in params */
    sf_param *table;    /* (n_table) canonical order */
    int n_table;
    sf_weights w;       /* typed pointers into params */
    int format;         /* sf_format the weights were read from (format.h); 0 when built in memory */
} sf_model;

/* Builds the parameter table for cfg and allocates zeroed weights; the tokenizer is left empty.
 * Returns an error (never aborts) if cfg is invalid or memory is short. */
sf_err sf_model_build(sf_model *m, const sf_config *cfg);
/* The same, but refuses (before allocating the weights) when they would exceed max_params floats:
 * loaders pass what the file can hold, so a small file can never ask for a large allocation. */
sf_err sf_model_build_limited(sf_model *m, const sf_config *cfg, size_t max_params);
/* Builds only the parameter table for cfg (names, shapes, offsets and n_params) without allocating the
 * weights (m->params and the typed pointers stay NULL): what a file of that config must hold. */
sf_err sf_model_plan(sf_model *m, const sf_config *cfg);
void sf_model_free(sf_model *m);

/* Fills the weights with a seeded random initialisation (GPT-2's N(0, 0.02) for gpt, Xavier-uniform
 * for encdec; LayerNorm gains 1 and every bias 0). */
void sf_model_init_random(sf_model *m, unsigned long long seed);
/* The same with the gpt family's standard deviation gpt_sd instead of GPT-2's 0.02 (0: 0.02); residual
 * projections are still divided by sqrt(2 x layers) and learned positions drawn at 0.01. 0.02 suits
 * GPT-2's width 768 (about 1/sqrt(768)); a narrow model's attention starts almost uniform with it and can
 * sit on a long plateau before heads compose, so narrow task models may ask for ~1/sqrt(d_model). */
void sf_model_init_random_sd(sf_model *m, unsigned long long seed, float gpt_sd);

/* Returns the parameter named `name`, or NULL. */
const sf_param *sf_model_param(const sf_model *m, const char *name);

/* ---- the per-sequence record ------------------------------------------------------------------ */

typedef struct {       /* one attention sub-layer, for one sequence */
    float *in;         /* (L,C) residual stream entering the sub-layer */
    float *ln;         /* (L,C) pre-LN: LayerNorm of `in`, the attention input; else NULL */
    float *ln_mean, *ln_rstd; /* (L) statistics of whichever LayerNorm this sub-layer has */
    float *q;          /* (NH,L,HS) queries (a packed record: see sf_attn_qkv) */
    float *k, *v;      /* (NH,L,HS) keys and values (for cross-attention, from the encoder output) */
    float *mask;       /* (L,L) additive mask shared by the heads: 0 = may look, -inf = may not */
    float *scores;     /* (NH,L,L) raw q.k; masked cells are -inf */
    float *scaled;     /* (NH,L,L) scores / sqrt(HS); masked cells are -inf */
    float *probs;      /* (NH,L,L) softmax over keys; masked cells are 0 */
    float *out;        /* (NH,L,HS) probs . v */
    float *concat;     /* (L,C) the heads side by side */
    float *proj;       /* (L,C) concat . W_o^T + b_o */
    float *resid;      /* (L,C) in + proj */
    float *norm;       /* (L,C) post-LN: LayerNorm(resid), the sub-layer's output; else NULL */
} sf_attn_rec;

typedef struct {       /* one feed-forward sub-layer, for one sequence; all NULL when d_ff is 0 */
    float *in;         /* (L,C) residual stream entering */
    float *ln;         /* (L,C) pre-LN only */
    float *ln_mean, *ln_rstd; /* (L) */
    float *pre;        /* (L,F) hidden before the activation */
    float *hidden;     /* (L,F) hidden after the activation */
    float *proj;       /* (L,C) back to the model width */
    float *resid;      /* (L,C) in + proj */
    float *norm;       /* (L,C) post-LN only */
} sf_ffn_rec;

typedef struct {
    sf_attn_rec self, cross; /* cross is all NULL except in the encoder-decoder's decoder */
    sf_ffn_rec ffn;
} sf_layer_rec;

typedef struct {       /* one stack (encoder or decoder) for one sequence */
    int *ids;          /* (L) token ids */
    float *tok;        /* (L,C) token embeddings (after the sqrt(C) scale when scale_emb) */
    float *pos;        /* (L,C) positional encodings (zeros for pos = none) */
    float *sum;        /* (L,C) tok + pos: the residual stream's start */
    sf_layer_rec *layers;
    float *ln_f;       /* (L,C) pre-LN: final LayerNorm; else NULL */
    float *ln_f_mean, *ln_f_rstd; /* (L) */
} sf_stack_rec;

typedef struct {
    int L;             /* capacity in positions: every (L,...) buffer below; grows, never past cfg.max_len */
    int K;             /* row length of the square (query x key) blocks: L, except in a packed record */
    int packed;        /* 1: a packed record (sf_seq_build_packed or _grad), which only the trainer uses */
    int grad;          /* 1: a packed gradient workspace (sf_seq_build_packed_grad), not an activation record */
    int n_src;         /* encoder positions filled */
    int n_tgt;         /* decoder positions filled */
    sf_stack_rec enc, dec;
    float *logits;     /* (L,V) next-token logits at each decoder position */
    float *probs;      /* (L,V) softmax of logits */
    float *tmp;        /* (L,3C) scratch for fused Q|K|V projections before they are split into heads */
    const struct sf_interv *interv; /* interventions the forward passes apply (interv.h), or NULL; not owned */
    float *mem;        /* one allocation behind every float pointer above */
    size_t mem_floats;
    sf_config cfg;     /* the config the record is laid out for */
    unsigned grown;    /* times the record has moved to a larger allocation: every pointer into it (a trace,
                        * a panel's row) taken before a growth is stale; sf_trace_sync refreshes a trace */
    /* what sampling drew from (filled by sf_run; its own allocation, grown with the tokens generated): */
    float *sampled;    /* (cap_sampled,V) row t: the distribution the token after position t was drawn from */
    int cap_sampled;   /* rows allocated in `sampled` */
    int has_sampled;   /* 1 when the last sf_run generated: rows [0, n_tgt) of `sampled` are valid */
} sf_seq;

/* The most memory one sequence record may take (attention needs heads x L^2 floats per layer): a small
 * checkpoint must not be able to make the program ask for more. Checked whenever the record grows. */
#define SF_MAX_RECORD_BYTES ((size_t)2 << 30)

/* Positions a new record has room for (or max_len, if smaller) before it first grows. */
#define SF_SEQ_FIRST_CAP 16

/* Allocates a small record for cfg (SF_SEQ_FIRST_CAP positions); the forward passes grow it. */
sf_err sf_seq_build(sf_seq *s, const sf_config *cfg);
/* Makes room for n positions (1..max_len): when the record holds fewer, moves it into buffers for the
 * next power of two (at most max_len; exactly n when only that fits the cap), keeping every recorded
 * value (square attention blocks gain masked key columns) and counting the move in s->grown. Refuses
 * (with the size it would need, s unchanged) when n positions pass SF_MAX_RECORD_BYTES. */
sf_err sf_seq_reserve(sf_seq *s, int n);
/* Returns the bytes a record of cfg takes for `positions` positions (the memory budget's unit). */
size_t sf_seq_bytes(const sf_config *cfg, int positions);
/* Returns the most positions a record of cfg can hold: max_len, or fewer when SF_MAX_RECORD_BYTES
 * allows fewer (0 if not even one fits). Generation stops there instead of failing on the next step. */
int sf_seq_max_positions(const sf_config *cfg);
void sf_seq_free(sf_seq *s);

/* ---- packed records: several sequences end to end, for the trainer ------------------------------ */
/* A packed record holds the rows of several sequences one after another (sequence i's encoder rows
 * [src0[i], src0[i]+n_src[i]), its decoder rows [dec0[i], dec0[i]+n_dec[i])), so every row-wise step
 * (products, LayerNorms, activations, the head) runs over all of them at once; only attention runs per
 * sequence, each query row against its own sequence's keys. Its square blocks (probs) are (L, K) per
 * head: K is the longest sequence, not L, and a row's cells past its sequence's keys are never written.
 * Row t of sequence i is at position t - start. Only the trainer builds them (backward.h); the trace, the
 * window and the single-sequence passes below read sequence records only and refuse a packed one.
 *
 * A packed activation record keeps only what the packed backward reads, and every row it keeps gets the
 * same bits as the sequence alone in a sequence record: its q, k, v stay in the fused rows the
 * projections wrote (sf_attn_qkv); a sub-layer's `in` is the previous sub-layer's output rows (or the
 * stack's sum), not a copy; with ReLU `pre` is `hidden` (the pre-activation rectified in place: the
 * backward asks only whether it was positive). Scratch that nothing reads after its sub-layer is shared
 * by all of them: tok and pos (in `tmp`; the backward reads the ids), proj (`tmp` too), scores and scaled
 * (one head's (L, K), which the next head overwrites). Not kept at all: mask (a key the query may not see
 * is the -inf of the scores) and the heads' out (written straight into concat).
 *
 * A gradient workspace (sf_seq_build_packed_grad) is the packed backward's other record (gact): it has
 * only the rows the backward writes and reads, most of them shared by every sub-layer (a sub-layer's
 * backward uses them up before the one below it starts): two stream buffers per stack taking turns as
 * the gradient of a sub-layer's output and of its input (the stack's output gradient and `sum` among
 * them), concat, cross-attention's q, a pre-LN `ln`, the FFN's hidden and pre, one head's square
 * gradients (probs, scaled, scores: (L, K)) and values transposed (`v`), tmp and logits. Everything else
 * is NULL. */

#define SF_PACK_MAX 64 /* sequences in one packed pass */

typedef struct {
    int n;                       /* sequences, 1..SF_PACK_MAX */
    const int *src[SF_PACK_MAX]; /* encoder inputs (encoder-decoder only) */
    int n_src[SF_PACK_MAX];
    const int *dec[SF_PACK_MAX]; /* decoder inputs */
    int n_dec[SF_PACK_MAX];
    int src0[SF_PACK_MAX], dec0[SF_PACK_MAX]; /* first rows; sf_pack_rows fills them */
    int src_rows, dec_rows, longest;          /* total rows of each stack and the longest sequence; the same */
} sf_pack;

/* One attention run inside a record: query rows [q0, q0+nq), at positions qpos, qpos+1, ... of their
 * sequence, against key rows [k0, k0+nk). A sequence record's pass is one; a packed record's, one per
 * sequence. */
typedef struct { int q0, nq, qpos, k0, nk; } sf_att_seg;

/* Fills p's first rows and totals from its lengths; fails when a length is outside 1..max_len (the
 * encoder's only for encoder-decoder models) or n is outside 1..SF_PACK_MAX. */
sf_err sf_pack_rows(const sf_model *m, sf_pack *p);
/* Allocates an empty packed activation record for cfg; sf_forward_packed grows it. */
sf_err sf_seq_build_packed(sf_seq *s, const sf_config *cfg);
/* Allocates an empty gradient workspace for cfg (the packed backward's gact); the packed backward grows it
 * to its activation record's layout. sf_forward_packed refuses it. */
sf_err sf_seq_build_packed_grad(sf_seq *s, const sf_config *cfg);
/* Makes a packed record's room at least `rows` rows with key rows of at least `keys` (<= max_len);
 * its contents are scratch between passes, so a growth keeps nothing. */
sf_err sf_seq_reserve_packed(sf_seq *s, int rows, int keys);
/* Runs the encoder (encoder-decoder) and the decoder with its head over every sequence of p in the
 * packed activation record s (sf_pack_rows is called here): logits and probs of decoder row dec0[i]+t are
 * those of sequence i's position t. s->n_src and s->n_tgt receive the row totals. Refuses a sequence
 * record and a gradient workspace. */
sf_err sf_forward_packed(const sf_model *m, sf_seq *s, sf_pack *p);

/* Returns the residual stream leaving an attention or FFN sub-layer (norm for post-LN, else resid). */
const float *sf_attn_output(const sf_attn_rec *a);
/* Where an attention record's queries, keys and values are: head h's row t of q is at
 * q + h*head + t*ldq, of k at k + h*head + t*ldkv, of v at v + h*head + t*ldkv. A sequence record keeps
 * each head's rows together (NH,L,HS): head = L*HS, ldq = ldkv = HS. A packed record keeps the rows the
 * projections wrote: head = HS, and self-attention's rows are q|k|v (ldq = ldkv = 3C, from a->q),
 * cross-attention's q rows (ldq = C, at a->q) and k|v rows (ldkv = 2C, from a->k). */
typedef struct {
    float *q, *k, *v;
    size_t head, ldq, ldkv;
} sf_qkv_view;
sf_qkv_view sf_attn_qkv(const sf_seq *s, const sf_attn_rec *a, int cross);
const float *sf_ffn_output(const sf_ffn_rec *f);
/* Returns the residual stream leaving a layer: its FFN's output, or (attention-only models) its last
 * attention sub-layer's. */
const float *sf_layer_output(const sf_layer_rec *r);
/* Returns the final output of a stack for the first n positions' worth of storage (ln_f or last layer). */
const float *sf_stack_output(const sf_model *m, const sf_stack_rec *st, int n_layers);

/* ---- forward passes --------------------------------------------------------------------------- */
/* Each grows the record (sf_seq_reserve) when the positions it writes do not fit, and fails with the
 * record cap's message when they cannot. */

/* Runs the whole encoder over src(n) (encoder-decoder only). Clears any decoder state. */
sf_err sf_encode(const sf_model *m, sf_seq *s, const int *src, int n);

/* Appends one token to the decoder and computes its position with the KV cache: every layer's keys
 * and values for earlier positions are reused, only the new row is computed. Fills logits/probs
 * for that position. */
sf_err sf_decode_step(const sf_model *m, sf_seq *s, int token);

/* Runs the decoder over tgt(n) from scratch in one pass (all rows at once, causal mask applied to
 * the full score matrix). Must agree with n calls of sf_decode_step. */
sf_err sf_decode_full(const sf_model *m, sf_seq *s, const int *tgt, int n);

/* Forgets the decoder's positions (the encoder's stay). */
void sf_decode_reset(sf_seq *s);

#endif
