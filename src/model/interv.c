/* interv.c - head ablation and activation patching as data: names, values, and the lookups the
 * forward pass makes where it computes a head's output or a layer's residual stream. */
#include "interv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sf_interv_init(sf_interv *iv) {
    memset(iv, 0, sizeof *iv);
    iv->mode = SF_ABLATE_ZERO;
}

void sf_interv_free(sf_interv *iv) {
    free(iv->ablate);
    free(iv->value);
    free(iv->patch);
    sf_interv_init(iv);
}

/* ---- names -------------------------------------------------------------------------------------- */

/* Writes what heads model c has ("enc.L0-L1.self.H0-H3, dec.L0-L1.self.H0-H3, ...") into out(cap). */
static void describe_heads(const sf_config *c, char *out, size_t cap) {
    int H = c->n_heads - 1;
    size_t n = 0;
    out[0] = 0;
    if (c->n_enc_layers)
        n += (size_t)snprintf(out + n, cap - n, "enc.L0-L%d.self.H0-H%d, ", c->n_enc_layers - 1, H);
    if (n < cap) n += (size_t)snprintf(out + n, cap - n, "dec.L0-L%d.self.H0-H%d", c->n_dec_layers - 1, H);
    if (n < cap && c->family == SF_FAMILY_ENCDEC)
        snprintf(out + n, cap - n, ", dec.L0-L%d.cross.H0-H%d", c->n_dec_layers - 1, H);
}

/* Parses the decimal digits s[0..n) (1 to 6 of them) into *v; returns 0 if they are not that. */
static int parse_index(const char *s, size_t n, int *v) {
    if (n < 1 || n > 6) return 0;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 1;
}

/* Parses "enc" or "dec" at the start of s into *stack, checking the model has that stack; returns the
 * length consumed, or 0 after writing an error into *e. */
static size_t parse_stack(const sf_config *c, const char *s, const char *name, const char *what, int *stack,
                          sf_err *e) {
    char have[256];
    if (strncmp(s, "enc.", 4) == 0) *stack = SF_STACK_ENC;
    else if (strncmp(s, "dec.", 4) == 0) *stack = SF_STACK_DEC;
    else {
        describe_heads(c, have, sizeof have);
        *e = sf_fail("%s '%s': expected a name starting with enc. or dec., like dec.L1.self.H2 (this model's heads: %s)",
                     what, name, have);
        return 0;
    }
    if (*stack == SF_STACK_ENC && c->n_enc_layers == 0) {
        *e = sf_fail("%s '%s': a gpt model has no encoder (its heads: dec.L0-L%d.self.H0-H%d)", what, name,
                     c->n_dec_layers - 1, c->n_heads - 1);
        return 0;
    }
    return 4;
}

/* Parses "L<l>" ending at '.' or the end of s into *layer (checked against the stack); returns the length
 * consumed (the '.' included), or 0 after writing an error. */
static size_t parse_layer(const sf_config *c, const char *s, int stack, const char *name, const char *what,
                          int *layer, sf_err *e) {
    int nl = stack == SF_STACK_ENC ? c->n_enc_layers : c->n_dec_layers;
    size_t k = strcspn(s, ".@");
    if (s[0] != 'L' || !parse_index(s + 1, k - 1, layer)) {
        *e = sf_fail("%s '%s': expected a layer such as L0 after '%s.'", what, name,
                     stack == SF_STACK_ENC ? "enc" : "dec");
        return 0;
    }
    if (*layer >= nl) {
        *e = sf_fail("%s '%s': layer L%d does not exist; the %s has layers L0-L%d", what, name, *layer,
                     stack == SF_STACK_ENC ? "encoder" : "decoder", nl - 1);
        return 0;
    }
    return s[k] == '.' ? k + 1 : k;
}

/* Parses "self.H<h>" or "cross.H<h>" ending at '@' or the end into *h; returns the length consumed or 0. */
static size_t parse_sub_head(const sf_config *c, const char *s, sf_head_ref *h, const char *name, const char *what,
                             sf_err *e) {
    char have[256];
    size_t k;
    if (strncmp(s, "self.", 5) == 0) { h->sublayer = SF_SUB_SELF; k = 5; }
    else if (strncmp(s, "cross.", 6) == 0) { h->sublayer = SF_SUB_CROSS; k = 6; }
    else {
        describe_heads(c, have, sizeof have);
        *e = sf_fail("%s '%s': expected self.H<n> or cross.H<n> after the layer (this model's heads: %s)", what, name,
                     have);
        return 0;
    }
    if (h->sublayer == SF_SUB_CROSS && (h->stack == SF_STACK_ENC || c->family != SF_FAMILY_ENCDEC)) {
        describe_heads(c, have, sizeof have);
        *e = sf_fail("%s '%s': only an encoder-decoder's decoder has cross-attention (this model's heads: %s)", what,
                     name, have);
        return 0;
    }
    size_t n = strcspn(s + k, "@");
    if (s[k] != 'H' || !parse_index(s + k + 1, n - 1, &h->head)) {
        *e = sf_fail("%s '%s': expected a head such as H0 after '%s'", what, name,
                     h->sublayer == SF_SUB_SELF ? "self." : "cross.");
        return 0;
    }
    if (h->head >= c->n_heads) {
        *e = sf_fail("%s '%s': head H%d does not exist; the model has %d heads per layer (H0-H%d)", what, name, h->head,
                     c->n_heads, c->n_heads - 1);
        return 0;
    }
    return k + n;
}

sf_err sf_head_parse(const sf_config *c, const char *name, sf_head_ref *h) {
    sf_err e = sf_ok();
    size_t k, n;
    memset(h, 0, sizeof *h);
    if (!(k = parse_stack(c, name, name, "head", &h->stack, &e))) return e;
    if (!(n = parse_layer(c, name + k, h->stack, name, "head", &h->layer, &e))) return e;
    if (name[k + n - 1] != '.') return sf_fail("head '%s': expected self.H<n> or cross.H<n> after the layer", name);
    k += n;
    if (!(n = parse_sub_head(c, name + k, h, name, "head", &e))) return e;
    if (name[k + n] != 0)
        return sf_fail("head '%s': unexpected '%s' after the head (names look like dec.L1.self.H2)", name, name + k + n);
    return sf_ok();
}

sf_err sf_site_parse(const sf_config *c, const char *name, sf_site *s) {
    sf_err e = sf_ok();
    size_t k, n;
    memset(s, 0, sizeof *s);
    s->pos = -1;
    if (!(k = parse_stack(c, name, name, "site", &s->at.stack, &e))) return e;
    if (strncmp(name + k, "embed", 5) == 0 && (name[k + 5] == 0 || name[k + 5] == '@')) {
        s->kind = SF_SITE_RESID;
        s->at.layer = -1;
        k += 5;
    } else {
        if (!(n = parse_layer(c, name + k, s->at.stack, name, "site", &s->at.layer, &e))) return e;
        k += n;
        if (name[k - 1] != '.')
            return sf_fail("site '%s': expected resid, self.H<n> or cross.H<n> after the layer", name);
        if (strncmp(name + k, "resid", 5) == 0 && (name[k + 5] == 0 || name[k + 5] == '@')) {
            s->kind = SF_SITE_RESID;
            k += 5;
        } else {
            s->kind = SF_SITE_HEAD;
            if (!(n = parse_sub_head(c, name + k, &s->at, name, "site", &e))) return e;
            k += n;
        }
    }
    if (s->kind == SF_SITE_RESID) s->at.sublayer = s->at.head = -1;
    if (name[k] == '@') {
        if (!parse_index(name + k + 1, strlen(name + k + 1), &s->pos))
            return sf_fail("site '%s': expected a position (0, 1, ...) after '@'", name);
        if (s->pos >= c->max_len)
            return sf_fail("site '%s': position %d is past the model's max_len %d", name, s->pos, c->max_len);
    } else if (name[k] != 0) {
        return sf_fail("site '%s': unexpected '%s' (sites look like dec.L1.self.H2, dec.L1.self.H2@3, dec.L0.resid@3, "
                       "dec.embed@1)", name, name + k);
    }
    return sf_ok();
}

const char *sf_head_name(sf_head_ref h, char *out, size_t cap) {
    snprintf(out, cap, "%s.L%d.%s.H%d", h.stack == SF_STACK_ENC ? "enc" : "dec", h.layer,
             h.sublayer == SF_SUB_CROSS ? "cross" : "self", h.head);
    return out;
}

const char *sf_site_name(const sf_site *s, char *out, size_t cap) {
    char base[48], at[16] = "";
    if (s->kind == SF_SITE_HEAD) sf_head_name(s->at, base, sizeof base);
    else if (s->at.layer < 0) snprintf(base, sizeof base, "%s.embed", s->at.stack == SF_STACK_ENC ? "enc" : "dec");
    else snprintf(base, sizeof base, "%s.L%d.resid", s->at.stack == SF_STACK_ENC ? "enc" : "dec", s->at.layer);
    if (s->pos >= 0) snprintf(at, sizeof at, "@%d", s->pos);
    snprintf(out, cap, "%s%s", base, at);
    return out;
}

int sf_ablate_mode_parse(const char *s, int *mode) {
    if (s && strcmp(s, "zero") == 0) *mode = SF_ABLATE_ZERO;
    else if (s && strcmp(s, "mean") == 0) *mode = SF_ABLATE_MEAN;
    else return 0;
    return 1;
}

const char *sf_ablate_mode_name(int mode) { return mode == SF_ABLATE_MEAN ? "mean" : "zero"; }

static int same_head(sf_head_ref a, sf_head_ref b) {
    return a.stack == b.stack && a.layer == b.layer && a.sublayer == b.sublayer && a.head == b.head;
}

/* Calls add(iv, c, item) for each comma-separated item of names; returns the first error. */
static sf_err each_name(sf_interv *iv, const sf_config *c, const char *names, const char *what,
                        sf_err (*add)(sf_interv *, const sf_config *, const char *)) {
    if (!names || !*names) return sf_fail("%s: expected a comma-separated list of names", what);
    const char *p = names;
    for (;;) {
        size_t n = strcspn(p, ",");
        char item[96];
        if (n == 0) return sf_fail("%s '%s': an empty name in the list", what, names);
        if (n >= sizeof item) return sf_fail("%s: the name '%.*s...' is too long", what, 40, p);
        memcpy(item, p, n);
        item[n] = 0;
        sf_err e = add(iv, c, item);
        if (!e.ok) return e;
        if (!p[n]) return sf_ok();
        p += n + 1;
    }
}

static sf_err add_one_head(sf_interv *iv, const sf_config *c, const char *name) {
    sf_head_ref h;
    sf_err e = sf_head_parse(c, name, &h);
    if (!e.ok) return e;
    for (int i = 0; i < iv->n_ablate; i++)
        if (same_head(iv->ablate[i], h)) return sf_ok();
    sf_head_ref *a = realloc(iv->ablate, (size_t)(iv->n_ablate + 1) * sizeof *a);
    if (!a) return sf_fail("interventions: out of memory");
    iv->ablate = a;
    iv->ablate[iv->n_ablate++] = h;
    return sf_ok();
}

static sf_err add_one_site(sf_interv *iv, const sf_config *c, const char *name) {
    sf_site s;
    sf_err e = sf_site_parse(c, name, &s);
    if (!e.ok) return e;
    sf_site *p = realloc(iv->patch, (size_t)(iv->n_patch + 1) * sizeof *p);
    if (!p) return sf_fail("interventions: out of memory");
    iv->patch = p;
    iv->patch[iv->n_patch++] = s;
    return sf_ok();
}

sf_err sf_interv_add_ablate(sf_interv *iv, const sf_config *c, const char *names) {
    free(iv->value);
    iv->value = NULL;
    iv->head_size = c->d_model / c->n_heads;
    return each_name(iv, c, names, "heads", add_one_head);
}

sf_err sf_interv_add_patch(sf_interv *iv, const sf_config *c, const char *names) {
    iv->head_size = c->d_model / c->n_heads;
    return each_name(iv, c, names, "sites", add_one_site);
}

/* ---- values --------------------------------------------------------------------------------------- */

/* Returns the attention record of head h's sub-layer in record s. */
static const sf_attn_rec *attn_of(const sf_seq *s, sf_head_ref h) {
    const sf_stack_rec *st = h.stack == SF_STACK_ENC ? &s->enc : &s->dec;
    return h.sublayer == SF_SUB_CROSS ? &st->layers[h.layer].cross : &st->layers[h.layer].self;
}

/* Returns how many query positions head h has in record s (encoder: n_src; decoder: n_tgt). */
static int queries_of(const sf_seq *s, sf_head_ref h) { return h.stack == SF_STACK_ENC ? s->n_src : s->n_tgt; }

sf_err sf_interv_prepare(sf_interv *iv, const sf_model *m, const sf_seq *clean) {
    const sf_config *c = &m->cfg;
    int HS = c->d_model / c->n_heads;
    sf_err e = sf_ok();
    free(iv->value);
    iv->value = NULL;
    iv->head_size = HS;
    if (iv->n_ablate == 0) return sf_ok();
    float *v = calloc((size_t)iv->n_ablate * HS, sizeof *v);
    if (!v) return sf_fail("interventions: out of memory");
    for (int i = 0; i < iv->n_ablate && iv->mode == SF_ABLATE_MEAN; i++) {
        sf_head_ref h = iv->ablate[i];
        int n = clean ? queries_of(clean, h) : 0;
        if (n < 1) {
            char name[48];
            e = sf_fail("mean ablation of %s: the clean run has no %s positions to average over",
                        sf_head_name(h, name, sizeof name), h.stack == SF_STACK_ENC ? "encoder" : "decoder");
            break;
        }
        const sf_attn_rec *a = attn_of(clean, h);
        double sum[SF_MAX_DMODEL] = {0}; /* HS <= C <= SF_MAX_DMODEL */
        for (int t = 0; t < n; t++) {
            const float *o = a->out + ((size_t)h.head * clean->L + t) * HS;
            for (int d = 0; d < HS; d++) sum[d] += o[d];
        }
        for (int d = 0; d < HS; d++) v[(size_t)i * HS + d] = (float)(sum[d] / n);
    }
    if (!e.ok) { free(v); return e; }
    iv->value = v;
    return sf_ok();
}

sf_err sf_interv_check(const sf_interv *iv, const sf_config *c) {
    for (int i = 0; i < iv->n_ablate + iv->n_patch; i++) {
        int is_site = i >= iv->n_ablate;
        const sf_site *s = is_site ? &iv->patch[i - iv->n_ablate] : NULL;
        sf_head_ref h = is_site ? s->at : iv->ablate[i];
        int nl = h.stack == SF_STACK_ENC ? c->n_enc_layers : c->n_dec_layers;
        int resid = is_site && s->kind == SF_SITE_RESID;
        int ok = (h.stack == SF_STACK_DEC || h.stack == SF_STACK_ENC) && h.layer >= (resid ? -1 : 0) && h.layer < nl;
        if (ok && !resid)
            ok = h.head >= 0 && h.head < c->n_heads &&
                 (h.sublayer == SF_SUB_SELF ||
                  (h.sublayer == SF_SUB_CROSS && h.stack == SF_STACK_DEC && c->family == SF_FAMILY_ENCDEC));
        if (!ok) return sf_fail("interventions: %s %d names a head or layer this model does not have",
                                is_site ? "patch site" : "ablated head", is_site ? i - iv->n_ablate : i);
    }
    if ((iv->n_ablate || iv->n_patch) && iv->head_size != c->d_model / c->n_heads)
        return sf_fail("interventions: made for a model with heads of %d values, not %d", iv->head_size,
                       c->d_model / c->n_heads);
    if (iv->n_ablate && !iv->value)
        return sf_fail("interventions: the ablated heads' values are not prepared for this model (sf_interv_prepare)");
    if (iv->n_patch && !iv->from) return sf_fail("interventions: sites to patch but no run to patch them from");
    return sf_ok();
}

int sf_interv_ablated(const sf_interv *iv, sf_head_ref h) {
    for (int i = 0; iv && i < iv->n_ablate; i++)
        if (same_head(iv->ablate[i], h)) return 1;
    return 0;
}

const float *sf_interv_head_value(const sf_interv *iv, sf_head_ref h, int t) {
    if (!iv) return NULL;
    for (int i = 0; i < iv->n_ablate; i++)
        if (same_head(iv->ablate[i], h)) return iv->value + (size_t)i * iv->head_size;
    for (int i = 0; i < iv->n_patch; i++) {
        const sf_site *s = &iv->patch[i];
        if (s->kind != SF_SITE_HEAD || !same_head(s->at, h) || (s->pos >= 0 && s->pos != t)) continue;
        if (t >= queries_of(iv->from, h)) return NULL; /* run A is shorter: nothing to copy */
        return attn_of(iv->from, h)->out + ((size_t)h.head * iv->from->L + t) * iv->head_size;
    }
    return NULL;
}

void sf_interv_patch_resid(const sf_interv *iv, const sf_model *m, int stack, int layer, float *buf, int t0, int t1) {
    int C = m->cfg.d_model;
    for (int i = 0; iv && i < iv->n_patch; i++) {
        const sf_site *s = &iv->patch[i];
        if (s->kind != SF_SITE_RESID || s->at.stack != stack || s->at.layer != layer) continue;
        const sf_stack_rec *st = stack == SF_STACK_ENC ? &iv->from->enc : &iv->from->dec;
        const float *src = layer < 0 ? st->sum : sf_layer_output(&st->layers[layer]);
        int n = stack == SF_STACK_ENC ? iv->from->n_src : iv->from->n_tgt;
        for (int t = t0; t < t1 && t < n; t++)
            if (s->pos < 0 || s->pos == t) memcpy(buf + (size_t)t * C, src + (size_t)t * C, (size_t)C * sizeof(float));
    }
}

/* ---- runs and their comparison -------------------------------------------------------------------- */

sf_err sf_run_interv(const sf_model *m, sf_seq *base, sf_seq *s, const sf_run_opts *o, sf_interv *iv,
                     int *n_prompt_base, int *n_prompt) {
    base->interv = NULL;
    s->interv = NULL;
    sf_err e = sf_run(m, base, o, n_prompt_base);
    if (!e.ok) return e;
    if (!(e = sf_interv_prepare(iv, m, base)).ok) return e;
    s->interv = iv;
    e = sf_run(m, s, o, n_prompt);
    return e;
}

sf_change sf_output_change(const sf_model *m, const sf_seq *base, const sf_seq *run, int t) {
    int V = m->cfg.vocab_size;
    const float *p = base->probs + (size_t)t * V, *q = run->probs + (size_t)t * V;
    sf_change c;
    double tv = 0.0, kl = 0.0;
    for (int v = 0; v < V; v++) {
        tv += fabs((double)q[v] - (double)p[v]);
        if (p[v] > 0.0f) kl += q[v] > 0.0f ? (double)p[v] * log((double)p[v] / (double)q[v]) : INFINITY;
    }
    c.tv = 0.5 * tv;
    c.kl = kl;
    c.top_base = sf_argmax(p, V);
    c.top_run = sf_argmax(q, V);
    c.p_base = p[c.top_base];
    c.p_run = q[c.top_base];
    return c;
}
