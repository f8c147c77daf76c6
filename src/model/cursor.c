/* cursor.c - the step schedule and cursor movement. */
#include "cursor.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    sf_schedule *s;
    int cap, failed;
} sched_builder;

static void push(sched_builder *b, int phase, int token, int layer, int sub, int op) {
    if (b->failed) return;
    if (b->s->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 256;
        sf_cursor *p = realloc(b->s->steps, (size_t)cap * sizeof *p);
        if (!p) { b->failed = 1; return; }
        b->s->steps = p;
        b->cap = cap;
    }
    b->s->steps[b->s->n++] = (sf_cursor){phase, token, layer, sub, op};
}

static const int attn_ops[] = {SF_OP_SCORES, SF_OP_SCALE, SF_OP_MASK, SF_OP_SOFTMAX, SF_OP_WSUM,
                               SF_OP_CONCAT, SF_OP_PROJ, SF_OP_RESID};
static const int ffn_ops[] = {SF_OP_FFN1, SF_OP_ACT, SF_OP_FFN2, SF_OP_RESID};

/* The steps of one attention sub-layer. Rows from `t0`; all_first puts LN and QKV for all rows first. */
static void push_attn(sched_builder *b, const sf_config *c, int phase, int layer, int sub, int t, int all_first) {
    int pre = c->norm == SF_NORM_PRE;
    if (!all_first) {
        if (pre) push(b, phase, t, layer, sub, SF_OP_LN);
        push(b, phase, t, layer, sub, SF_OP_QKV);
    }
    for (size_t i = 0; i < sizeof attn_ops / sizeof *attn_ops; i++) push(b, phase, t, layer, sub, attn_ops[i]);
    if (!pre) push(b, phase, t, layer, sub, SF_OP_NORM);
}

static void push_ffn(sched_builder *b, const sf_config *c, int phase, int layer, int t) {
    if (c->d_ff == 0) return; /* attention-only: no feed-forward steps */
    int pre = c->norm == SF_NORM_PRE;
    if (pre) push(b, phase, t, layer, SF_SUB_FFN, SF_OP_LN);
    for (size_t i = 0; i < sizeof ffn_ops / sizeof *ffn_ops; i++) push(b, phase, t, layer, SF_SUB_FFN, ffn_ops[i]);
    if (!pre) push(b, phase, t, layer, SF_SUB_FFN, SF_OP_NORM);
}

static void push_embed(sched_builder *b, int phase, int t) {
    push(b, phase, t, -1, SF_SUB_EMBED, SF_OP_TOK);
    push(b, phase, t, -1, SF_SUB_EMBED, SF_OP_POS);
    push(b, phase, t, -1, SF_SUB_EMBED, SF_OP_SUM);
}

sf_err sf_schedule_build(sf_schedule *s, const sf_config *c, int n_src, int n_tgt) {
    s->steps = NULL;
    s->n = 0;
    sched_builder b = {s, 0, 0};
    int pre = c->norm == SF_NORM_PRE;
    if (c->family == SF_FAMILY_ENCDEC && n_src > 0) {
        int P = SF_STACK_ENC;
        for (int t = 0; t < n_src; t++) push_embed(&b, P, t);
        for (int l = 0; l < c->n_enc_layers; l++) {
            if (pre) push(&b, P, -1, l, SF_SUB_SELF, SF_OP_LN);
            push(&b, P, -1, l, SF_SUB_SELF, SF_OP_QKV);
            for (int t = 0; t < n_src; t++) push_attn(&b, c, P, l, SF_SUB_SELF, t, 1);
            for (int t = 0; t < n_src; t++) push_ffn(&b, c, P, l, t);
        }
        if (pre)
            for (int t = 0; t < n_src; t++) push(&b, P, t, -1, SF_SUB_FINAL, SF_OP_LN_F);
    }
    for (int t = 0; t < n_tgt; t++) {
        int P = SF_STACK_DEC;
        push_embed(&b, P, t);
        for (int l = 0; l < c->n_dec_layers; l++) {
            push_attn(&b, c, P, l, SF_SUB_SELF, t, 0);
            if (c->family == SF_FAMILY_ENCDEC) push_attn(&b, c, P, l, SF_SUB_CROSS, t, 0);
            push_ffn(&b, c, P, l, t);
        }
        if (pre) push(&b, P, t, -1, SF_SUB_FINAL, SF_OP_LN_F);
        push(&b, P, t, -1, SF_SUB_HEAD, SF_OP_LOGITS);
        push(&b, P, t, -1, SF_SUB_HEAD, SF_OP_PROBS);
    }
    if (b.failed) {
        sf_schedule_free(s);
        return sf_fail("schedule: out of memory");
    }
    return sf_ok();
}

void sf_schedule_free(sf_schedule *s) {
    free(s->steps);
    s->steps = NULL;
    s->n = 0;
}

int sf_cursor_eq(sf_cursor a, sf_cursor b) {
    return a.phase == b.phase && a.token == b.token && a.layer == b.layer && a.sublayer == b.sublayer && a.op == b.op;
}

int sf_schedule_index(const sf_schedule *s, sf_cursor c) {
    for (int i = 0; i < s->n; i++)
        if (sf_cursor_eq(s->steps[i], c)) return i;
    return -1;
}

int sf_cursor_next(const sf_schedule *s, sf_cursor *c) {
    int i = sf_schedule_index(s, *c);
    if (i < 0 || i + 1 >= s->n) return 0;
    *c = s->steps[i + 1];
    return 1;
}

int sf_cursor_prev(const sf_schedule *s, sf_cursor *c) {
    int i = sf_schedule_index(s, *c);
    if (i <= 0) return 0;
    *c = s->steps[i - 1];
    return 1;
}

const char *sf_cursor_describe(sf_cursor c, char *out, int size) {
    char tok[24], layer[24];
    if (c.token < 0) snprintf(tok, sizeof tok, "all tokens");
    else snprintf(tok, sizeof tok, "token %d", c.token);
    if (c.layer < 0) layer[0] = 0;
    else snprintf(layer, sizeof layer, " L%d", c.layer);
    snprintf(out, (size_t)size, "%s %s%s %s %s", c.phase == SF_STACK_ENC ? "enc" : "dec", tok, layer,
             sf_sublayer_name(c.sublayer), sf_op_name(c.op));
    return out;
}
