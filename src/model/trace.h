/* trace.h - every intermediate of a forward pass, by name, as a view with shape and axis meaning.
 *
 * The trace does not copy: each entry points into a sequence record (sf_seq) and reads the current
 * lengths from it, so after each decoder step the same entry shows one more row. When a step makes the
 * record grow (it moves to larger buffers) the entries' pointers and capacities are stale until
 * sf_trace_sync refreshes them in place; meanwhile sf_trace_shape reports empty shapes, so a reader
 * that checks shapes never touches the old buffers. Names:
 *   {enc,dec}.embed.{tok,pos,sum}
 *   {enc,dec}.L{l}.{self,cross}.{in,ln,concat,proj,resid,norm}
 *   {enc,dec}.L{l}.{self,cross}.H{h}.{q,k,v,mask,scores,scaled,probs,out}
 *   {enc,dec}.L{l}.ffn.{in,ln,pre,hidden,proj,resid,norm}
 *   {enc,dec}.ln_f   dec.logits   dec.probs   dec.sample.probs
 *   dec.L{l}.lens.probs   only when a logit lens is added (lens.h)
 * `ln` entries exist for pre-LN models, `norm` and no `ln_f` for post-LN ones. dec.sample.probs (only when
 * the run generated tokens) is the distribution each generated token was drawn from: after temperature and
 * top-k, one-hot when greedy, zeros for rows where nothing was drawn (see sf_run). */
#ifndef SF_TRACE_H
#define SF_TRACE_H

#include "model.h"

#define SF_TRACE_MAX_RANK 2

/* What an axis counts; the length of SRC/TGT axes is the record's current n_src / n_tgt. */
typedef enum { SF_AXIS_FIXED = 0, SF_AXIS_SRC = 1, SF_AXIS_TGT = 2 } sf_axis_len;

/* Which part of the model produced an entry (the cursor uses the same values). */
typedef enum { SF_STACK_ENC = 0, SF_STACK_DEC = 1 } sf_stack;
typedef enum {
    SF_SUB_EMBED = 0, SF_SUB_SELF, SF_SUB_CROSS, SF_SUB_FFN, SF_SUB_FINAL, SF_SUB_HEAD, SF_SUB_COUNT
} sf_sublayer;
typedef enum {
    SF_OP_TOK = 0, SF_OP_POS, SF_OP_SUM,                          /* embedding */
    SF_OP_IN, SF_OP_LN, SF_OP_QKV, SF_OP_SCORES, SF_OP_SCALE,     /* attention */
    SF_OP_MASK, SF_OP_SOFTMAX, SF_OP_WSUM, SF_OP_CONCAT, SF_OP_PROJ,
    SF_OP_RESID, SF_OP_NORM,
    SF_OP_FFN1, SF_OP_ACT, SF_OP_FFN2,                            /* feed-forward (also IN LN RESID NORM) */
    SF_OP_LN_F,                                                   /* final LayerNorm */
    SF_OP_LOGITS, SF_OP_PROBS,                                    /* output head */
    SF_OP_LENS,                                                   /* logit lens read-out (lens.h) */
    SF_OP_COUNT
} sf_op;

typedef struct {
    char name[40];
    const float *data;
    int rank;
    int cap[SF_TRACE_MAX_RANK];        /* allocated extent of each axis (memory layout) */
    int len[SF_TRACE_MAX_RANK];        /* sf_axis_len of each axis */
    const char *axis[SF_TRACE_MAX_RANK]; /* meaning: "query", "key", "position", "channel", ... */
    int stack, layer, sublayer, head, op; /* producer; layer/head are -1 when not applicable */
} sf_trace_entry;

typedef struct {
    const sf_model *m;
    const sf_seq *s;
    sf_trace_entry *e; /* (n) in the order the forward pass computes them */
    int n;
    unsigned grown;    /* s->grown when the entries were made: they are stale once the record grows */
} sf_trace;

/* Registers every entry for model m over record s. Returns an error only when memory is short. */
sf_err sf_trace_build(sf_trace *tr, const sf_model *m, const sf_seq *s);
void sf_trace_free(sf_trace *tr);

/* Appends one entry (a view some other module owns, e.g. a logit lens) to a built trace. Returns an
 * error only when memory is short. sf_trace_sync leaves such entries as they are. */
sf_err sf_trace_add(sf_trace *tr, const sf_trace_entry *e);

/* Returns 1 if the record has grown since the entries were made (their data and cap are stale). */
int sf_trace_stale(const sf_trace *tr);
/* Points every entry at the record's current buffers and capacities again, in place (entry addresses,
 * order and names stay, so pointers to entries held by a viewer remain valid). Returns an error only
 * when memory is short (the trace is then left stale, never half-updated). */
sf_err sf_trace_sync(sf_trace *tr);

/* Returns the entry with that exact name, or NULL. */
const sf_trace_entry *sf_trace_find(const sf_trace *tr, const char *name);

/* Writes the current extent of each axis into dims (all 0 while the trace is stale); returns the rank. */
int sf_trace_shape(const sf_trace *tr, const sf_trace_entry *e, int dims[SF_TRACE_MAX_RANK]);

/* Returns the element at idx (rank indices, each inside the current shape); NAN while the trace is stale. */
float sf_trace_get(const sf_trace *tr, const sf_trace_entry *e, const int *idx);

/* Returns a pointer to row i of a rank-2 entry (cap[1] floats), or the data of a rank-1 entry. */
const float *sf_trace_row(const sf_trace_entry *e, int i);

/* Returns success if every recorded value the trace shows is a finite number (raw and scaled scores and
 * masks, -inf where masked by definition, are not checked: anything else not finite in them reaches the
 * probabilities); otherwise an error naming the first entry and cell that is not: a model whose float32
 * arithmetic overflows (finite but huge weights) is refused rather than drawn. */
sf_err sf_trace_check_finite(const sf_trace *tr);

/* Returns the printable name of a sub-layer ("self", "cross", ...) and an op ("scores", ...). */
const char *sf_sublayer_name(int sub);
const char *sf_op_name(int op);

#endif
