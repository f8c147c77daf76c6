/* view.c - cursor visibility of trace rows, names and the built-in narration. */
#include "view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vz_view_init_blocks(vz_view *v) {
    const sf_config *c = &v->m->cfg;
    v->n_blocks = 0;
    for (int l = 0; l < c->n_enc_layers && v->n_blocks < VZ_MAX_BLOCKS; l++)
        v->blocks[v->n_blocks++] = (vz_block){SF_STACK_ENC, l, SF_SUB_SELF};
    for (int l = 0; l < c->n_dec_layers && v->n_blocks + 1 < VZ_MAX_BLOCKS; l++) {
        v->blocks[v->n_blocks++] = (vz_block){SF_STACK_DEC, l, SF_SUB_SELF};
        if (c->family == SF_FAMILY_ENCDEC) v->blocks[v->n_blocks++] = (vz_block){SF_STACK_DEC, l, SF_SUB_CROSS};
    }
    if (v->block >= v->n_blocks) v->block = 0;
    if (v->head >= c->n_heads) v->head = 0;
}

/* Order of an op inside its sub-layer, as the schedule walks it. */
static int op_rank(int op) {
    switch (op) {
    case SF_OP_TOK: case SF_OP_IN: case SF_OP_LN_F: case SF_OP_LOGITS: return 0;
    case SF_OP_POS: case SF_OP_LN: case SF_OP_PROBS: return 1;
    case SF_OP_SUM: case SF_OP_QKV: return 2;
    case SF_OP_SCORES: case SF_OP_FFN1: return 3;
    case SF_OP_SCALE: case SF_OP_ACT: return 4;
    case SF_OP_MASK: case SF_OP_FFN2: return 5;
    case SF_OP_SOFTMAX: return 6;
    case SF_OP_WSUM: return 7;
    case SF_OP_CONCAT: return 8;
    case SF_OP_PROJ: return 9;
    case SF_OP_RESID: return 10;
    case SF_OP_NORM: return 11;
    default: return 12;
    }
}

typedef struct { int k[5]; } step_key;

/* Returns a key that orders steps exactly as the schedule does (see cursor.c). */
static step_key key_of(int n_layers, int stack, int token, int layer, int sub, int op) {
    int lo = layer >= 0 ? layer : sub == SF_SUB_EMBED ? -1 : sub == SF_SUB_FINAL ? n_layers : n_layers + 1;
    if (stack == SF_STACK_ENC) {
        int stage = 0;
        if (sub == SF_SUB_SELF) {
            if (op == SF_OP_IN || op == SF_OP_LN || op == SF_OP_QKV) token = -1;
            else stage = 1;
        } else if (sub == SF_SUB_FFN) stage = 2;
        return (step_key){{0, lo, stage, token, op_rank(op)}};
    }
    int so = sub == SF_SUB_CROSS ? 1 : sub == SF_SUB_FFN ? 2 : 0;
    return (step_key){{1, token, lo, so, op_rank(op)}};
}

/* Returns 1 if step a comes at or before step b. */
static int key_le(step_key a, step_key b) {
    for (int i = 0; i < 5; i++)
        if (a.k[i] != b.k[i]) return a.k[i] < b.k[i];
    return 1;
}

int vz_row_visible(const vz_view *v, const sf_trace_entry *e, int row) {
    const sf_config *c = &v->m->cfg;
    int nl_e = e->stack == SF_STACK_ENC ? c->n_enc_layers : c->n_dec_layers;
    int nl_c = v->cur.phase == SF_STACK_ENC ? c->n_enc_layers : c->n_dec_layers;
    /* cross-attention keys and values come from the finished encoder: ready with the decoder's first token */
    if (e->sublayer == SF_SUB_CROSS && e->op == SF_OP_QKV && e->len[0] == SF_AXIS_SRC && e->axis[0][0] == 'k')
        row = 0;
    step_key a = key_of(nl_e, e->stack, row, e->layer, e->sublayer, e->op);
    step_key b = key_of(nl_c, v->cur.phase, v->cur.token, v->cur.layer, v->cur.sublayer, v->cur.op);
    return key_le(a, b);
}

int vz_rows_visible(const vz_view *v, const sf_trace_entry *e, int n) {
    int r = 0;
    while (r < n && vz_row_visible(v, e, r)) r++;
    return r;
}

const sf_trace_entry *vz_entry(const vz_view *v, const char *fmt, ...) {
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return sf_trace_find(v->tr, name);
}

const char *vz_block_prefix(vz_block b, char *out, int size) {
    snprintf(out, (size_t)size, "%s.L%d.%s", b.stack == SF_STACK_ENC ? "enc" : "dec", b.layer,
             b.sub == SF_SUB_CROSS ? "cross" : "self");
    return out;
}

const char *vz_block_title(vz_block b, int lang, char *out, int size) {
    vz_str what = b.stack == SF_STACK_ENC ? VZ_S_ATTN_ENC : b.sub == SF_SUB_CROSS ? VZ_S_ATTN_CROSS : VZ_S_ATTN_DEC;
    snprintf(out, (size_t)size, vz_tr(lang, what), b.layer);
    return out;
}

/* Returns the string id naming a sub-layer of a stack. */
static vz_str sub_name(int stack, int sub, int brief) {
    switch (sub) {
    case SF_SUB_EMBED: return VZ_S_SUB_EMBED;
    case SF_SUB_SELF: return stack == SF_STACK_DEC ? (brief ? VZ_S_SUB_MSELF_SHORT : VZ_S_SUB_MSELF) : (brief ? VZ_S_SUB_SELF_SHORT : VZ_S_SUB_SELF);
    case SF_SUB_CROSS: return brief ? VZ_S_SUB_CROSS_SHORT : VZ_S_SUB_CROSS;
    case SF_SUB_FFN: return brief ? VZ_S_SUB_FFN_SHORT : VZ_S_SUB_FFN;
    case SF_SUB_FINAL: return brief ? VZ_S_SUB_FINAL_SHORT : VZ_S_SUB_FINAL;
    case SF_SUB_HEAD: return brief ? VZ_S_SUB_HEAD_SHORT : VZ_S_SUB_HEAD;
    default: return VZ_S_NONE;
    }
}

const char *vz_cursor_text_at(const vz_view *v, int lang, int level, char *out, int size) {
    static const vz_str ops[SF_OP_COUNT] = {
        VZ_S_OP_TOK, VZ_S_OP_POS, VZ_S_OP_SUM, VZ_S_OP_IN, VZ_S_OP_LN, VZ_S_OP_QKV, VZ_S_OP_SCORES,
        VZ_S_OP_SCALE, VZ_S_OP_MASK, VZ_S_OP_SOFTMAX, VZ_S_OP_WSUM, VZ_S_OP_CONCAT, VZ_S_OP_PROJ,
        VZ_S_OP_RESID, VZ_S_OP_NORM, VZ_S_OP_FFN1, VZ_S_OP_ACT, VZ_S_OP_FFN2, VZ_S_OP_LN_F,
        VZ_S_OP_LOGITS, VZ_S_OP_PROBS};
    sf_cursor c = v->cur;
    int brief = level >= 1;
    char tok[48], layer[48] = "";
    if (c.token < 0) snprintf(tok, sizeof tok, "%s", vz_tr(lang, VZ_S_CUR_ALL));
    else snprintf(tok, sizeof tok, vz_tr(lang, brief ? VZ_S_CUR_TOKEN_SHORT : VZ_S_CUR_TOKEN), c.token);
    if (c.layer >= 0) snprintf(layer, sizeof layer, vz_tr(lang, brief ? VZ_S_CUR_LAYER_SHORT : VZ_S_CUR_LAYER), c.layer);
    const char *stack = vz_tr(lang, c.phase == SF_STACK_ENC ? (brief ? VZ_S_CUR_ENC_SHORT : VZ_S_ENCODER)
                                                             : (brief ? VZ_S_CUR_DEC_SHORT : VZ_S_DECODER));
    const char *op = c.op >= 0 && c.op < SF_OP_COUNT ? vz_tr(lang, ops[c.op]) : "";
    if (level >= 2 || !op[0]) /* the sub-layer, not the operation in it */
        snprintf(out, (size_t)size, "%s \xc2\xb7 %s \xc2\xb7 %s%s%s", stack, tok, layer, layer[0] ? " " : "",
                 vz_tr(lang, sub_name(c.phase, c.sublayer, brief)));
    else
        snprintf(out, (size_t)size, "%s \xc2\xb7 %s \xc2\xb7 %s%s%s \xc2\xb7 %s", stack, tok, layer, layer[0] ? " " : "",
                 vz_tr(lang, sub_name(c.phase, c.sublayer, brief)), op);
    return out;
}

const char *vz_cursor_text(const vz_view *v, int lang, char *out, int size) { return vz_cursor_text_at(v, lang, 0, out, size); }

int vz_view_pos(const vz_view *v, int stack, int i) {
    return v->align && stack == SF_STACK_ENC && i >= 0 && i < v->s->n_src ? v->align[i] : i;
}

int vz_view_place(const vz_view *v, int stack, int pos) {
    if (!v->align || stack != SF_STACK_ENC) return pos;
    for (int i = 0; i < v->s->n_src; i++)
        if (v->align[i] == pos) return i;
    return -1;
}

void vz_view_align_heat(const vz_view *v, vz_heat *h) {
    if (!v->align || !h->e) return;
    if (h->e->len[0] == SF_AXIS_SRC && h->row0 == 0 && h->nrows == v->s->n_src) h->rperm = v->align;
    if (h->e->rank == 2 && h->e->len[1] == SF_AXIS_SRC && h->ncols == v->s->n_src) h->cperm = v->align;
}

/* Returns the one query row a lesson highlights in the focused head of block prefix p (its scores, scaled
 * scores, mask or weights), when every such highlight that picks a single row picks that same row; else -1.
 * A highlight over several rows (a column, "every row reads key 7") names no row and is passed over, so the
 * cell the narration quotes from it ("row 3's weight on it") is the row the scores panel prints. */
static int highlighted_query(const vz_view *v, const char *p) {
    char head[48];
    snprintf(head, sizeof head, "%s.H%d.", p, v->head);
    int row = -1;
    for (int i = 0; i < v->n_hl; i++) {
        const vz_highlight *g = &v->hl[i];
        if (strncmp(g->name, head, strlen(head))) continue;
        const char *leaf = g->name + strlen(head);
        if (strcmp(leaf, "scores") && strcmp(leaf, "scaled") && strcmp(leaf, "mask") && strcmp(leaf, "probs")) continue;
        if (g->lo[0] != g->hi[0]) continue;
        if (row >= 0 && g->lo[0] != row) return -1;
        row = g->lo[0];
    }
    return row;
}

int vz_view_query(const vz_view *v) {
    if (v->n_blocks == 0) return -1;
    vz_block b = v->blocks[v->block];
    char p[32];
    const sf_trace_entry *e = vz_entry(v, "%s.H%d.scores", vz_block_prefix(b, p, sizeof p), v->head);
    if (!e) return -1;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int hq = highlighted_query(v, p); /* the row the lesson points at, once computed, before the cursor's */
    if (hq >= 0 && hq < dims[0] && vz_row_visible(v, e, hq)) return hq;
    if (v->cur.phase == b.stack && v->cur.token >= 0 && v->cur.token < dims[0]) return v->cur.token;
    int n = vz_rows_visible(v, e, dims[0]);
    return n - 1;
}

/* Returns the short letter for an axis meaning ("query" -> "q"). */
static const char *axis_short(const char *a) {
    if (!strcmp(a, "query")) return "q";
    if (!strcmp(a, "key")) return "k";
    if (!strcmp(a, "position")) return "pos";
    if (!strcmp(a, "channel")) return "c";
    if (!strcmp(a, "head_dim")) return "d";
    if (!strcmp(a, "hidden")) return "j";
    if (!strcmp(a, "vocab")) return "id";
    return a;
}

const char *vz_cell_name(const sf_trace_entry *e, int row, int col, char *out, int size) {
    char head[16] = "", layer[16] = "", sub[16] = "";
    const char *leaf = strrchr(e->name, '.');
    leaf = leaf ? leaf + 1 : e->name;
    if (e->layer >= 0) snprintf(layer, sizeof layer, " L%d", e->layer);
    if (e->sublayer == SF_SUB_CROSS || e->sublayer == SF_SUB_FFN) snprintf(sub, sizeof sub, " %s", sf_sublayer_name(e->sublayer));
    if (e->head >= 0) snprintf(head, sizeof head, " H%d", e->head);
    if (e->rank == 2)
        snprintf(out, (size_t)size, "%s%s%s%s %s[%s=%d,%s=%d]", e->stack == SF_STACK_ENC ? "enc" : "dec", layer, sub,
                 head, leaf, axis_short(e->axis[0]), row, axis_short(e->axis[1]), col);
    else
        snprintf(out, (size_t)size, "%s%s%s%s %s[%s=%d]", e->stack == SF_STACK_ENC ? "enc" : "dec", layer, sub, head,
                 leaf, axis_short(e->axis[0]), row);
    return out;
}

const char *vz_op_sentence(const vz_view *v, int lang) {
    int cross = v->cur.sublayer == SF_SUB_CROSS, ffn = v->cur.sublayer == SF_SUB_FFN;
    int enc = v->cur.phase == SF_STACK_ENC;
    vz_str id;
    switch (v->cur.op) {
    case SF_OP_TOK: id = VZ_S_SAY_TOK; break;
    case SF_OP_POS: id = VZ_S_SAY_POS; break;
    case SF_OP_SUM: id = VZ_S_SAY_SUM; break;
    case SF_OP_IN: id = VZ_S_SAY_IN; break;
    case SF_OP_LN: id = VZ_S_SAY_LN; break;
    case SF_OP_QKV: id = cross ? VZ_S_SAY_QKV_CROSS : enc ? VZ_S_SAY_QKV_ENC : VZ_S_SAY_QKV_DEC; break;
    case SF_OP_SCORES: id = VZ_S_SAY_SCORES; break;
    case SF_OP_SCALE: id = VZ_S_SAY_SCALE; break;
    case SF_OP_MASK: id = enc || cross ? VZ_S_SAY_MASK_NONE : VZ_S_SAY_MASK; break;
    case SF_OP_SOFTMAX: id = VZ_S_SAY_SOFTMAX; break;
    case SF_OP_WSUM: id = VZ_S_SAY_WSUM; break;
    case SF_OP_CONCAT: id = VZ_S_SAY_CONCAT; break;
    case SF_OP_PROJ: id = ffn ? VZ_S_SAY_PROJ_FFN : VZ_S_SAY_PROJ; break;
    case SF_OP_RESID: id = VZ_S_SAY_RESID; break;
    case SF_OP_NORM: id = VZ_S_SAY_NORM; break;
    case SF_OP_FFN1: id = VZ_S_SAY_FFN1; break;
    case SF_OP_ACT: id = VZ_S_SAY_ACT; break;
    case SF_OP_FFN2: id = VZ_S_SAY_FFN2; break;
    case SF_OP_LN_F: id = VZ_S_SAY_LN_F; break;
    case SF_OP_LOGITS: id = VZ_S_SAY_LOGITS; break;
    case SF_OP_PROBS: id = VZ_S_SAY_PROBS; break;
    default: id = VZ_S_NONE;
    }
    return vz_tr(lang, id);
}

const char *vz_op_formula(const vz_view *v, int lang) {
    switch (v->cur.op) {
    case SF_OP_TOK: return v->m->cfg.scale_emb ? "x = E[id] * sqrt(d_model)" : "x = E[id]";
    case SF_OP_POS:
        return v->m->cfg.pos == SF_POS_SINUSOIDAL ? "PE(p, 2i) = sin(p / 10000^(2i/d)),  PE(p, 2i+1) = cos(p / 10000^(2i/d))"
               : v->m->cfg.pos == SF_POS_LEARNED  ? vz_tr(lang, VZ_S_F_LEARNED_POS)
                                                 : vz_tr(lang, VZ_S_F_NO_POS);
    case SF_OP_SUM: return "h0 = x_tok + x_pos";
    case SF_OP_IN: return "x = h";
    case SF_OP_LN: case SF_OP_NORM: case SF_OP_LN_F: return "LN(x) = g * (x - mean(x)) / sqrt(var(x) + eps) + b";
    case SF_OP_QKV: return "q = x W_Q,   k = x W_K,   v = x W_V";
    case SF_OP_SCORES: return "s_j = q . k_j";
    case SF_OP_SCALE: return "s_j / sqrt(d_head)";
    case SF_OP_MASK: /* the encoder and cross-attention add no mask: every key is there */
        return v->cur.phase == SF_STACK_ENC || v->cur.sublayer == SF_SUB_CROSS ? vz_tr(lang, VZ_S_F_NO_MASK)
                                                                                 : "s_j + m_j,   m_j = 0 if j <= i else -inf";
    case SF_OP_SOFTMAX: return "a_j = exp(s_j) / sum_k exp(s_k)";
    case SF_OP_WSUM: return "o = sum_j a_j v_j";
    case SF_OP_CONCAT: { /* the heads by their own numbers, as the panels name them (H0..H3), not "o_1 ... o_h" */
        static char cat[96];
        int nh = v->m->cfg.n_heads, n = 0;
        if (nh <= 1) return "o = o_0";
        n = snprintf(cat, sizeof cat, "o = [o_0 ; o_1");
        if (nh > 5) n += snprintf(cat + n, sizeof cat - (size_t)n, " ; ... ; o_%d]", nh - 1);
        else {
            for (int h = 2; h < nh; h++) n += snprintf(cat + n, sizeof cat - (size_t)n, " ; o_%d", h);
            snprintf(cat + n, sizeof cat - (size_t)n, "]");
        }
        return cat;
    }
    case SF_OP_PROJ: return v->cur.sublayer == SF_SUB_FFN ? "y = h W_2 + b_2" : "y = o W_O + b_O";
    case SF_OP_RESID: return "h = x + y";
    case SF_OP_FFN1: return "h = x W_1 + b_1";
    case SF_OP_ACT: return v->m->cfg.act == SF_ACT_GELU ? vz_tr(lang, VZ_S_F_GELU) : "ReLU(h) = max(0, h)";
    case SF_OP_FFN2: return "y = h W_2 + b_2";
    case SF_OP_LOGITS: return "z = h E^T";
    case SF_OP_PROBS: return "p_i = exp(z_i / T) / sum_j exp(z_j / T)";
    default: return "";
    }
}
