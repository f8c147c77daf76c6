/* lesson_quote.c - values of the run quoted in narration: the quote syntax ({enc.L0.self.H0.probs q=3 k=7
 * %.2f}, {token enc 3}, {cmp ...}), typed decimals found and refused, quotes filled from a trace (so the
 * player, `lesson --text` and `--check` show the numbers the panels draw), and the cells a question hides.
 * The parser checks each quote against its model in check_quote (lesson_replay.c calls it per frame). */
#include "lesson_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/tokenizer.h"

/* Returns 1 if c may be part of a trace entry name. */
static int name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

/* Returns 1 if word p(n) is exactly s. */
static int is(const char *p, size_t n, const char *s) { return strlen(s) == n && memcmp(p, s, n) == 0; }

/* Parses a quote; see lesson.h. */
int sf_quote_parse(const char *p, size_t n, sf_quote *q, size_t *err_at, const char **why) {
    memset(q, 0, sizeof *q);
    snprintf(q->fmt, sizeof q->fmt, "%%.2f");
    *err_at = 0;
    size_t end = 1;
    while (end < n && p[end] != '}' && p[end] != '{' && p[end] != '\n') end++;
    if (end >= n || p[end] != '}') {
        *why = "expected '}' to close this quote on the same line (write \\{ for a brace in the text)";
        return 0;
    }
    q->len = end + 1;
    size_t at[8], len[8];
    int nw = 0;
    for (size_t i = 1; i < end;) { /* the words between the braces */
        while (i < end && (p[i] == ' ' || p[i] == '\t')) i++;
        if (i >= end) break;
        if (nw == 8) { *err_at = i; *why = "expected '}': a quote has at most an entry, two axes and a format"; return 0; }
        at[nw] = i;
        while (i < end && p[i] != ' ' && p[i] != '\t') i++;
        len[nw] = i - at[nw];
        nw++;
    }
    int w = 0;
    if (w < nw && is(p + at[w], len[w], "cmp")) { q->cmp = 1; w++; }
    if (w >= nw) {
        *err_at = w ? at[w - 1] + len[w - 1] : 1;
        *why = "expected what to quote: an entry and one index per axis ({dec.L0.self.H0.probs q=5 k=0}) or "
               "a token ({token enc 3})";
        return 0;
    }
    if (is(p + at[w], len[w], "token") || is(p + at[w], len[w], "id")) {
        q->token = 1;
        q->id = p[at[w]] == 'i';
        if (w + 1 >= nw || !(is(p + at[w + 1], len[w + 1], "enc") || is(p + at[w + 1], len[w + 1], "dec"))) {
            *err_at = w + 1 < nw ? at[w + 1] : at[w] + len[w];
            *why = q->id ? "expected enc or dec after 'id' (e.g. {id enc 3})" : "expected enc or dec after 'token' (e.g. {token enc 3})";
            return 0;
        }
        q->stack = p[at[w + 1]] == 'e' ? SF_STACK_ENC : SF_STACK_DEC;
        if (w + 2 >= nw || !ls_parse_uint(p + at[w + 2], len[w + 2], &q->pos)) {
            *err_at = w + 2 < nw ? at[w + 2] : at[w + 1] + len[w + 1];
            *why = "expected a position after the stack (e.g. {token dec 5})";
            return 0;
        }
        q->pos_at = at[w + 2];
        if (w + 3 < nw) { *err_at = at[w + 3]; *why = "expected '}' after the position"; return 0; }
        return 1;
    }
    for (size_t i = 0; i < len[w]; i++)
        if (!name_char(p[at[w] + i])) {
            *err_at = at[w] + i;
            *why = "expected a trace entry name such as dec.L0.self.H0.probs, or 'token'";
            return 0;
        }
    q->name_at = at[w];
    q->name_len = len[w];
    for (w++; w < nw; w++) {
        const char *s = p + at[w];
        if (s[0] == '%') { /* the format, last */
            int digits = -1;
            size_t k = 1;
            if (k < len[w] && s[k] == '.') {
                k++;
                if (k < len[w] && s[k] >= '0' && s[k] <= '6') digits = s[k++] - '0';
                else { *err_at = at[w] + k; *why = "expected a number of decimals from 0 to 6 (e.g. %.2f)"; return 0; }
            }
            if (k + 1 != len[w] || (s[k] != 'f' && s[k] != 'e' && s[k] != 'g')) {
                *err_at = at[w];
                *why = "expected a format %.Nf, %.Ne or %.Ng (N from 0 to 6)";
                return 0;
            }
            if (digits >= 0) snprintf(q->fmt, sizeof q->fmt, "%%.%d%c", digits, s[k]);
            else snprintf(q->fmt, sizeof q->fmt, "%%%c", s[k]);
            if (w + 1 < nw) { *err_at = at[w + 1]; *why = "expected '}' after the format"; return 0; }
            break;
        }
        if (!memchr(s, '=', len[w])) { *err_at = at[w]; *why = "expected axis=N (e.g. q=3) or a format (e.g. %.2f)"; return 0; }
        if (q->n_sel == 2) { *err_at = at[w]; *why = "expected at most two axes"; return 0; }
        q->sel_at[q->n_sel] = at[w];
        q->sel_len[q->n_sel++] = len[w];
    }
    return 1;
}

/* Returns the byte offset of the first typed decimal outside quotes, or -1; see lesson.h. */
long sf_lesson_find_decimal(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '{') { i++; continue; }
        if (s[i] == '{') { /* skip a quote (or what was meant as one) */
            while (i < n && s[i] != '}') i++;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') continue;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        size_t sep = (i < n && (s[i] == '.' || s[i] == ',')) ? 1
                     : (i + 2 < n && (unsigned char)s[i] == 0xEF && (unsigned char)s[i + 1] == 0xBC &&
                        (unsigned char)s[i + 2] == 0x8E) ? 3 : 0; /* U+FF0E FULLWIDTH FULL STOP */
        if (sep && i + sep < n && s[i + sep] >= '0' && s[i + sep] <= '9') return (long)start;
        i--; /* (the loop steps past the digits' end) */
    }
    return -1;
}

/* Writes the token at position pos of a stack of tr's record as the tokens panel shows it; returns 0 if
 * there is no such position. */
static int token_text(const sf_trace *tr, int stack, int pos, int id, char *out, size_t size) {
    if (!tr || !tr->s || !tr->m) return 0;
    const sf_seq *s = tr->s;
    int n = stack == SF_STACK_ENC ? s->n_src : s->n_tgt;
    if (pos < 0 || pos >= n || (stack == SF_STACK_ENC && tr->m->cfg.family != SF_FAMILY_ENCDEC)) return 0;
    if (id) { snprintf(out, size, "%d", (stack == SF_STACK_ENC ? s->enc.ids : s->dec.ids)[pos]); return 1; }
    char piece[16];
    sf_tokenizer_piece(&tr->m->tok, (stack == SF_STACK_ENC ? s->enc.ids : s->dec.ids)[pos], piece);
    snprintf(out, size, "%s", strcmp(piece, " ") ? piece : "\xe2\x90\xa3"); /* a space as U+2423, as drawn */
    return 1;
}

/* Returns the cell a value quote names in tr (idx receives its indices), or NULL if it names none. */
static const sf_trace_entry *quote_cell(const sf_quote *q, const char *src, const sf_trace *tr, int idx[2]) {
    char name[64], ax[24];
    if (!tr || q->name_len >= sizeof name) return NULL;
    memcpy(name, src + q->name_at, q->name_len);
    name[q->name_len] = 0;
    const sf_trace_entry *e = sf_lesson_entry(tr, name);
    if (!e || q->n_sel != e->rank) return NULL;
    int dims[SF_TRACE_MAX_RANK], seen[2] = {0, 0};
    sf_trace_shape(tr, e, dims);
    for (int i = 0; i < q->n_sel; i++) {
        const char *s = src + q->sel_at[i], *eq = memchr(s, '=', q->sel_len[i]);
        size_t an = (size_t)(eq - s);
        if (an >= sizeof ax) return NULL;
        memcpy(ax, s, an);
        ax[an] = 0;
        int a = ls_axis_of(e, ax), v;
        const char *val = eq + 1;
        size_t vn = q->sel_len[i] - an - 1;
        if (a < 0 || a >= e->rank || seen[a]) return NULL;
        if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') { /* a token by its text, on a vocab axis */
            if (strcmp(e->axis[a], "vocab") || (v = ls_vocab_id(&tr->m->tok, dims[a], val + 1, vn - 2)) < 0) return NULL;
        } else if (!ls_parse_uint(val, vn, &v) || v >= dims[a]) {
            return NULL;
        }
        seen[a] = 1;
        idx[a] = v;
    }
    return e;
}

/* Writes what quote q (its text at src) names into out; returns 0 if it names nothing in these traces. */
static int quote_text(const sf_quote *q, const char *src, const sf_trace *tr, const sf_trace *cmp, char *out, size_t size) {
    const sf_trace *t = q->cmp ? cmp : tr;
    if (!t) return 0;
    if (q->token) return token_text(t, q->stack, q->pos, q->id, out, size);
    int idx[2] = {0, 0};
    const sf_trace_entry *e = quote_cell(q, src, t, idx);
    if (!e) return 0;
    float v = sf_trace_get(t, e, idx);
    if (isinf(v)) snprintf(out, size, "%s", v < 0 ? "-\xe2\x88\x9e" : "\xe2\x88\x9e"); /* -∞ as the mask is drawn */
    else snprintf(out, size, q->fmt, (double)v);
    return 1;
}

/* Fills the quotes of text from the traces; see lesson.h. */
size_t sf_lesson_fill(const char *text, const sf_trace *tr, const sf_trace *cmp, char *out, size_t size, int *unfilled) {
    size_t n = 0; /* bytes the whole result needs */
    int bad = 0;
    const char *p = text ? text : "";
#define PUT(s, k)                                                                                  \
    do {                                                                                           \
        size_t k_ = (k);                                                                           \
        if (size && n < size - 1) memcpy(out + n, (s), n + k_ < size - 1 ? k_ : size - 1 - n);       \
        n += k_;                                                                                   \
    } while (0)
    while (*p) {
        if (p[0] == '\\' && p[1] == '{') { PUT("{", 1); p += 2; continue; }
        if (p[0] != '{') {
            size_t k = strcspn(p, "\\{");
            if (k == 0) k = 1;
            PUT(p, k);
            p += k;
            continue;
        }
        sf_quote q;
        size_t err_at;
        const char *why;
        char val[64];
        if (!sf_quote_parse(p, strlen(p), &q, &err_at, &why)) { PUT("{", 1); p++; bad++; continue; }
        if (quote_text(&q, p, tr, cmp, val, sizeof val)) PUT(val, strlen(val));
        else { PUT("?", 1); bad++; }
        p += q.len;
    }
#undef PUT
    if (size) out[n < size ? n : size - 1] = 0;
    if (unfilled) *unfilled = bad;
    return n;
}

/* Returns 1 if an open question hides row `row` of entry name; see lesson.h. */
int sf_lesson_hides(const sf_lesson_ask *a, const char *name, int row) {
    if (!a || a->state != 1 || a->free_axis != 1 || row != a->at.lo[0]) return 0;
    const char *asked = a->at.name;
    if (!strcmp(name, asked)) return 1;
    if (a->with_scores) return 0;
    if (!strcmp(asked, "dec.probs")) return !strcmp(name, "dec.logits") || !strcmp(name, "dec.sample.probs");
    const char *dot = strrchr(asked, '.'), *leaf = strrchr(name, '.');
    if (!dot || !leaf || strcmp(dot, ".probs") || dot - asked != leaf - name || strncmp(name, asked, (size_t)(dot - asked)))
        return 0;
    return !strcmp(leaf, ".scores") || !strcmp(leaf, ".scaled");
}

/* ---- checking the quotes of a step against its runs ---------------------------------------------- */

/* Returns the character column of byte p of a quote recorded at (line, col) with text q0. */
static int quote_col(const quote_rec *r, const char *p) {
    int col = r->col;
    for (const char *s = r->p; s < p; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) col++;
    return col;
}

/* Checks one quote of the frame being built: it names a cell of the (main or compared) run that exists,
 * is computed at the cursor, and that the open question (if asking) does not hide. */
sf_err ls_check_quote(builder *b, const quote_rec *qr, int asking) {
    sf_quote q;
    size_t err_at;
    const char *why;
    if (!sf_quote_parse(qr->p, qr->n, &q, &err_at, &why)) return ls_fail_at(b, qr->line, quote_col(qr, qr->p + err_at), "%s", why);
    if (!b->o.check_models) return sf_ok();
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok) return e;
    int ci = b->st.cursor_index;
    if (q.cmp) {
        if (!b->st.compare)
            return ls_fail_at(b, qr->line, qr->col, "{cmp ...} quotes the compared run, but this step compares nothing "
                                                     "(add '@compare ...' first)");
        runkey k;
        runloc loc;
        ls_cmp_key(b, &k, &loc);
        if (!(e = ls_get_run(b, &k, &loc, &r)).ok) return e;
        ci = sf_schedule_index(&r->sch, b->st.cursor);
        if (ci < 0) return sf_ok(); /* (check_frame reports the missing step) */
    }
    int saved = b->line; /* errors below point at the quote's own line */
    b->line = qr->line;
    if (q.token) {
        const sf_config *c = &r->var.cfg;
        int n = q.stack == SF_STACK_ENC ? r->seq.n_src : r->seq.n_tgt;
        int col = quote_col(qr, qr->p + q.pos_at);
        if (q.stack == SF_STACK_ENC && c->family != SF_FAMILY_ENCDEC)
            e = ls_fail_at(b, qr->line, col, "this model (%s) has no encoder: quote {%s dec N}", sf_family_name(c->family), q.id ? "id" : "token");
        else if (q.pos >= n)
            e = ls_fail_at(b, qr->line, col, "{%s %s %d} is past the end: the %s has %d positions (0-%d) in this run",
                           q.id ? "id" : "token", q.stack == SF_STACK_ENC ? "enc" : "dec", q.pos, q.stack == SF_STACK_ENC ? "encoder" : "decoder", n,
                           n - 1);
        else if (q.stack == SF_STACK_DEC && q.pos >= r->n_prompt) /* a generated token shows once reached */
            e = ls_check_computed(b, r, ci, "dec.embed.sum", q.pos, qr->line, col, "this quoted token");
        b->line = saved;
        return e;
    }
    word w[3];
    int nw = 0;
    w[nw++] = (word){qr->p + q.name_at, q.name_len, quote_col(qr, qr->p + q.name_at)};
    for (int i = 0; i < q.n_sel; i++) w[nw++] = (word){qr->p + q.sel_at[i], q.sel_len[i], quote_col(qr, qr->p + q.sel_at[i])};
    int i = 0;
    sf_lesson_cells cells;
    const sf_trace_entry *en;
    e = ls_parse_cells(b, r, w, nw, &i, &cells, &en);
    if (e.ok)
        for (int a = 0; a < cells.rank && e.ok; a++)
            if (cells.hi[a] < 0 || cells.lo[a] != cells.hi[a])
                e = FAIL(b, w[0].col, "a quote is one number: give every axis of %s one index (%s=N%s%s=N)", cells.name,
                         en->axis[0], en->rank > 1 ? " " : "", en->rank > 1 ? en->axis[1] : "");
    int row = e.ok ? ls_first_row(en, &cells) : -1;
    if (e.ok) e = ls_check_computed(b, r, ci, cells.name, row, qr->line, w[0].col, "this quoted value");
    if (e.ok && asking && !q.cmp && sf_lesson_hides(&b->ask, cells.name, cells.lo[0]))
        e = FAIL(b, w[0].col, "this quote reads row %d of %s, which the question hides until its answer", cells.lo[0],
                 cells.name);
    b->line = saved;
    return e;
}
