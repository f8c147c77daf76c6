/* config.c - defaults, validation and names for model configurations. */
#include "config.h"

#include <math.h>
#include <string.h>

sf_config sf_config_default(sf_family family) {
    sf_config c;
    memset(&c, 0, sizeof c);
    c.family = family;
    c.vocab_size = 32;
    c.d_model = 64;
    c.n_heads = 4;
    c.d_ff = 256;
    c.max_len = 64;
    c.ln_eps = 1e-5f;
    c.tied = 1;
    if (family == SF_FAMILY_GPT) {
        c.n_enc_layers = 0;
        c.n_dec_layers = 2;
        c.pos = SF_POS_LEARNED;
        c.norm = SF_NORM_PRE;
        c.act = SF_ACT_GELU;
        c.scale_emb = 0;
    } else {
        c.n_enc_layers = 2;
        c.n_dec_layers = 2;
        c.pos = SF_POS_SINUSOIDAL;
        c.norm = SF_NORM_POST;
        c.act = SF_ACT_RELU;
        c.scale_emb = 1;
    }
    return c;
}

#define RANGE(field, lo, hi)                                                                     \
    if (c->field < (lo) || c->field > (hi))                                                      \
        return sf_fail("config: " #field " is %d; expected %d to %d", c->field, (int)(lo), (int)(hi));

sf_err sf_config_validate(const sf_config *c) {
    if (c->family != SF_FAMILY_ENCDEC && c->family != SF_FAMILY_GPT)
        return sf_fail("config: family is %d; expected 1 (encdec) or 2 (gpt)", c->family);
    RANGE(vocab_size, 5, SF_MAX_VOCAB);
    RANGE(d_model, 2, SF_MAX_DMODEL);
    RANGE(n_heads, 1, SF_MAX_HEADS);
    RANGE(d_ff, 0, SF_MAX_DFF); /* 0: attention only, no feed-forward sub-layer */
    RANGE(n_dec_layers, 1, SF_MAX_LAYERS);
    RANGE(max_len, 1, SF_MAX_LEN);
    if (c->family == SF_FAMILY_ENCDEC) {
        RANGE(n_enc_layers, 1, SF_MAX_LAYERS);
    } else if (c->n_enc_layers != 0) {
        return sf_fail("config: n_enc_layers is %d; a gpt model has no encoder (expected 0)",
                       c->n_enc_layers);
    }
    if (c->d_model % c->n_heads != 0)
        return sf_fail("config: d_model %d is not divisible by n_heads %d", c->d_model, c->n_heads);
    if (c->pos != SF_POS_SINUSOIDAL && c->pos != SF_POS_LEARNED && c->pos != SF_POS_NONE)
        return sf_fail("config: pos is %d; expected 1 (sinusoidal), 2 (learned) or 3 (none)", c->pos);
    if (c->pos == SF_POS_SINUSOIDAL && c->d_model % 2 != 0)
        return sf_fail("config: sinusoidal positions need an even d_model, got %d", c->d_model);
    if (c->norm != SF_NORM_POST && c->norm != SF_NORM_PRE)
        return sf_fail("config: norm is %d; expected 1 (post) or 2 (pre)", c->norm);
    if (c->act != SF_ACT_RELU && c->act != SF_ACT_GELU)
        return sf_fail("config: act is %d; expected 1 (relu) or 2 (gelu)", c->act);
    if (c->tied != 0 && c->tied != 1) return sf_fail("config: tied is %d; expected 0 or 1", c->tied);
    if (c->scale_emb != 0 && c->scale_emb != 1)
        return sf_fail("config: scale_emb is %d; expected 0 or 1", c->scale_emb);
    if (!(c->ln_eps > 0.0f && c->ln_eps < 1.0f)) /* also rejects NaN */
        return sf_fail("config: ln_eps is %g; expected a number in (0, 1)", (double)c->ln_eps);
    return sf_ok();
}

static const char *const family_names[] = {"?", "encdec", "gpt"};
static const char *const pos_names[] = {"?", "sinusoidal", "learned", "none"};
static const char *const norm_names[] = {"?", "post", "pre"};
static const char *const act_names[] = {"?", "relu", "gelu"};

static const char *name_of(const char *const *names, int n, int v) { return v > 0 && v < n ? names[v] : "?"; }
static int parse_of(const char *const *names, int n, const char *s) {
    for (int i = 1; i < n; i++)
        if (s && strcmp(s, names[i]) == 0) return i;
    return 0;
}

const char *sf_family_name(int v) { return name_of(family_names, 3, v); }
const char *sf_pos_name(int v) { return name_of(pos_names, 4, v); }
const char *sf_norm_name(int v) { return name_of(norm_names, 3, v); }
const char *sf_act_name(int v) { return name_of(act_names, 3, v); }
int sf_family_parse(const char *s) { return parse_of(family_names, 3, s); }
int sf_pos_parse(const char *s) { return parse_of(pos_names, 4, s); }
int sf_norm_parse(const char *s) { return parse_of(norm_names, 3, s); }
int sf_act_parse(const char *s) { return parse_of(act_names, 3, s); }
