/* config.h - the shape of a model: family, sizes and the architectural choices. */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include "../core/err.h"

typedef enum { SF_FAMILY_ENCDEC = 1, SF_FAMILY_GPT = 2 } sf_family;
typedef enum { SF_POS_SINUSOIDAL = 1, SF_POS_LEARNED = 2, SF_POS_NONE = 3 } sf_pos_kind;
typedef enum { SF_NORM_POST = 1, SF_NORM_PRE = 2 } sf_norm_kind;
typedef enum { SF_ACT_RELU = 1, SF_ACT_GELU = 2 } sf_act_kind;

/* Hard limits checked before any allocation; they keep every size product far from overflow. */
#define SF_MAX_VOCAB 65536
#define SF_MAX_DMODEL 4096
#define SF_MAX_HEADS 64
#define SF_MAX_DFF 16384
#define SF_MAX_LAYERS 48
#define SF_MAX_LEN 2048

typedef struct {
    int family;        /* sf_family */
    int vocab_size;    /* V: number of token ids */
    int d_model;       /* C: width of the residual stream */
    int n_heads;       /* NH: attention heads; C % NH == 0, head size HS = C / NH */
    int d_ff;          /* F: feed-forward hidden width; 0 = attention-only (no feed-forward sub-layer) */
    int n_enc_layers;  /* encoder layers (0 for GPT) */
    int n_dec_layers;  /* decoder layers */
    int max_len;       /* L: longest sequence (source or target) the model accepts */
    int pos;           /* sf_pos_kind: sinusoidal (the paper), learned (GPT), or none */
    int norm;          /* sf_norm_kind: post-LN (the paper) or pre-LN (GPT-2; adds final LayerNorms) */
    int act;           /* sf_act_kind: ReLU (the paper) or GELU tanh-approx (GPT-2) */
    int tied;          /* 1: output head is the token embedding transposed (no separate lm_head) */
    int scale_emb;     /* 1: token embeddings multiplied by sqrt(C) (the paper); 0 for GPT-2 */
    float ln_eps;      /* LayerNorm epsilon; 1e-5 as in PyTorch and GPT-2 */
} sf_config;

/* Returns the paper's defaults for the family (encdec: sinusoidal, post-LN, ReLU, scaled, tied;
 * gpt: learned positions, pre-LN, GELU, unscaled, tied) at a small size. */
sf_config sf_config_default(sf_family family);

/* Returns success if every field is in range and consistent, else a message naming the field. */
sf_err sf_config_validate(const sf_config *c);

/* Returns the printable name of an enum value ("encdec", "sinusoidal", "post", "gelu", ...). */
const char *sf_family_name(int family);
const char *sf_pos_name(int pos);
const char *sf_norm_name(int norm);
const char *sf_act_name(int act);

/* Parses a name back into the enum value; returns 0 when the name is unknown. */
int sf_family_parse(const char *s);
int sf_pos_parse(const char *s);
int sf_norm_parse(const char *s);
int sf_act_parse(const char *s);

#endif
