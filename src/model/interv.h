/* interv.h - interventions handed to the forward pass: knock attention heads out, patch activations in
 * from another run (docs/experiments.md).
 *
 * An sf_interv is plain data. Attach it to a record (s->interv = &iv) and every forward pass over that
 * record (sf_encode, sf_decode_step, sf_decode_full) applies it where it computes the values concerned,
 * so the record, and with it the trace, holds the intervened run: nothing is recomputed afterwards.
 *
 * Names, as the command line spells them:
 *   a head   {enc,dec}.L{l}.{self,cross}.H{h}      dec.L1.self.H2, enc.L0.self.H1, dec.L0.cross.H3
 *   a site   a head's output at every position (dec.L1.self.H2) or at one (dec.L1.self.H2@3);
 *            the residual stream leaving layer l (dec.L1.resid, dec.L1.resid@3), or entering layer 0,
 *            the embedding sum (dec.embed, dec.embed@0)
 * A head's output is the attention-weighted sum of its values (trace entry ...H{h}.out), before the heads
 * are concatenated and projected. Positions count from 0 (<bos> is decoder position 0). */
#ifndef SF_INTERV_H
#define SF_INTERV_H

#include "run.h"
#include "trace.h"

typedef enum { SF_ABLATE_ZERO = 1, SF_ABLATE_MEAN = 2 } sf_ablate_mode;

typedef struct {
    int stack;    /* SF_STACK_ENC or SF_STACK_DEC */
    int layer;
    int sublayer; /* SF_SUB_SELF or SF_SUB_CROSS */
    int head;
} sf_head_ref;

typedef enum { SF_SITE_HEAD = 1, SF_SITE_RESID = 2 } sf_site_kind;

typedef struct {
    int kind;       /* sf_site_kind */
    sf_head_ref at; /* HEAD: the head. RESID: stack and layer (-1: the embedding sum); sublayer, head -1 */
    int pos;        /* one position, or -1 for every position */
} sf_site;

typedef struct sf_interv {
    int mode;            /* sf_ablate_mode: how every ablated head is replaced (default zero) */
    sf_head_ref *ablate; /* (n_ablate) the heads knocked out, each once */
    int n_ablate;
    int head_size;       /* HS of the model the heads and sites were named for (set when adding them) */
    float *value;        /* (n_ablate, HS) what each ablated head outputs at every position: zeros, or its
                          * mean over the positions of the clean run (sf_interv_prepare); NULL until then */
    const sf_seq *from;  /* patching: the finished record of run A, whose values are copied in; or NULL */
    sf_site *patch;      /* (n_patch) the sites copied from `from` */
    int n_patch;
} sf_interv;

/* Empties iv: no ablation (mode zero), no patching. */
void sf_interv_init(sf_interv *iv);
void sf_interv_free(sf_interv *iv);

/* Parses a head name for model config c into *h. The error names what is wrong and what exists. */
sf_err sf_head_parse(const sf_config *c, const char *name, sf_head_ref *h);
/* Parses a site name (see above) for config c into *s; same errors. */
sf_err sf_site_parse(const sf_config *c, const char *name, sf_site *s);
/* Writes the name of a head ("dec.L1.self.H2") or a site ("dec.L0.resid@3") into out(cap); returns out. */
const char *sf_head_name(sf_head_ref h, char *out, size_t cap);
const char *sf_site_name(const sf_site *s, char *out, size_t cap);

/* Adds the heads of a comma-separated list of head names to the ablated set (a head named twice counts
 * once). Forgets any prepared values. */
sf_err sf_interv_add_ablate(sf_interv *iv, const sf_config *c, const char *names);
/* Adds the sites of a comma-separated list of site names to the patched set. */
sf_err sf_interv_add_patch(sf_interv *iv, const sf_config *c, const char *names);
/* Parses "zero" or "mean" into *mode; returns 0 for anything else. */
int sf_ablate_mode_parse(const char *s, int *mode);
const char *sf_ablate_mode_name(int mode);

/* Fills the ablated heads' replacement values: zeros, or (mean mode) each head's output averaged over
 * every position of clean, a finished record of the same model run without interventions (encoder
 * heads over its n_src positions, decoder self- and cross-attention heads over its n_tgt positions).
 * clean may be NULL in zero mode. */
sf_err sf_interv_prepare(sf_interv *iv, const sf_model *m, const sf_seq *clean);

/* Returns success if every head and site of iv exists in config c, the values are prepared when heads
 * are ablated, and a patch source is given when sites are patched. The forward passes call this. */
sf_err sf_interv_check(const sf_interv *iv, const sf_config *c);

/* Returns 1 if head h is in the ablated set. */
int sf_interv_ablated(const sf_interv *iv, sf_head_ref h);

/* Returns what head h outputs at query position t under iv, or NULL to keep the computed value:
 * its ablation value, else run A's output there when a head site covers (h, t) and run A has that
 * position. Ablation wins over patching. */
const float *sf_interv_head_value(const sf_interv *iv, sf_head_ref h, int t);
/* Overwrites rows [t0,t1) of a residual stream buf (L,C) - the embedding sum (layer -1) or the output of
 * layer `layer` of `stack` - with run A's rows where a residual site covers them. */
void sf_interv_patch_resid(const sf_interv *iv, const sf_model *m, int stack, int layer, float *buf, int t0, int t1);

/* Runs o twice: without interventions into base, then with iv into s (after sf_interv_prepare on base).
 * Both records must have been built for m. n_prompt_base / n_prompt (may be NULL) as for sf_run. */
sf_err sf_run_interv(const sf_model *m, sf_seq *base, sf_seq *s, const sf_run_opts *o, sf_interv *iv,
                     int *n_prompt_base, int *n_prompt);

/* How one decoder position's output distribution moved from a baseline run to an intervened one. */
typedef struct {
    double tv;          /* total variation distance, 1/2 sum |p_run - p_base|, in [0, 1] */
    double kl;          /* KL(p_base || p_run) in nats (infinite if p_run is 0 where p_base is not) */
    int top_base, top_run; /* argmax tokens */
    float p_base, p_run;   /* probability of top_base under each run */
} sf_change;

/* Compares position t of two finished records of model m (t below both n_tgt). */
sf_change sf_output_change(const sf_model *m, const sf_seq *base, const sf_seq *run, int t);

#endif
