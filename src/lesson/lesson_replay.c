/* lesson_replay.c - steps to frames: the lesson's state (run, cursor, focus, highlights, question) as the
 * directives change it, and the snapshot of that state taken into a frame at the end of every step and at
 * every @reveal, so each frame is complete on its own. */
#include "lesson_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns the key and locations of the compare run (main run with overrides). */
void ls_cmp_key(const builder *b, runkey *k, runloc *loc) {
    *k = b->st.run;
    *loc = b->st.loc;
    if (b->st.cmp_model >= 0) { k->snapshot = -1; k->model = b->st.cmp_model; loc->model_line = b->st.cmploc.model_line; loc->model_col = b->st.cmploc.model_col; }
    if (b->st.cmp_input >= 0) {
        k->input = b->st.cmp_input;
        loc->input_line = b->st.cmploc.input_line; loc->input_col = b->st.cmploc.input_col; loc->input_quoted = b->st.cmploc.input_quoted;
    }
    if (b->st.cmp_target >= 0 || b->st.cmp_target == -2) {
        k->target = b->st.cmp_target >= 0 ? b->st.cmp_target : -1;
        loc->target_line = b->st.cmploc.target_line; loc->target_col = b->st.cmploc.target_col; loc->target_quoted = b->st.cmploc.target_quoted;
    }
    if (b->st.cmp_positions >= 0) k->positions = b->st.cmp_positions;
    k->ablate = -1; /* the compared run is the model's own: set against an @ablate main run it shows the change */
    k->ablate_mode = SF_ABLATE_ZERO;
}

/* Interns the narration of part `part` in both languages; offsets -1 when empty. */
static sf_err intern_part(builder *b, int part, int out[SF_LANG_COUNT]) {
    for (int g = 0; g < SF_LANG_COUNT; g++) {
        sf_buf *t = &b->text[part][g];
        if (t->failed) return FAIL(b, 1, "out of memory");
        out[g] = t->len ? ls_intern(b, (const char *)t->data, t->len) : -1;
        if (t->len && out[g] < 0) return FAIL(b, 1, "out of memory");
    }
    return sf_ok();
}

/* Fills the quotes of a frame's narration from its runs into f->shown (when the models are run). */
static sf_err fill_shown(builder *b, iframe *f) {
    for (int p = 0; p < 2; p++)
        for (int g = 0; g < SF_LANG_COUNT; g++) f->shown[p][g] = -1;
    if (!b->o.check_models || !b->n_quotes) return sf_ok();
    runrec *r, *rc = NULL;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok || !r) return e;
    if (b->st.compare) {
        runkey k;
        runloc loc;
        ls_cmp_key(b, &k, &loc);
        if (!(e = ls_get_run(b, &k, &loc, &rc)).ok) return e;
    }
    for (int p = 0; p < 2; p++)
        for (int g = 0; g < SF_LANG_COUNT; g++) {
            const char *text = ls_pstr(b, f->text[p][g]);
            if (!text) continue;
            size_t n = sf_lesson_fill(text, &r->tr, rc ? &rc->tr : NULL, NULL, 0, NULL);
            char *tmp = malloc(n + 1);
            if (!tmp) return FAIL(b, 1, "out of memory");
            text = ls_pstr(b, f->text[p][g]); /* (the pool may have moved while the runs were made) */
            sf_lesson_fill(text, &r->tr, rc ? &rc->tr : NULL, tmp, n + 1, NULL);
            f->shown[p][g] = ls_intern(b, tmp, n);
            free(tmp);
            if (f->shown[p][g] < 0) return FAIL(b, 1, "out of memory");
        }
    return sf_ok();
}

/* Snapshots the current state into an iframe (without appending it). */
static sf_err snapshot(builder *b, int part, iframe *f) {
    memset(f, 0, sizeof *f);
    f->step = b->step;
    f->line = b->step_line;
    for (int g = 0; g < SF_LANG_COUNT; g++) { f->title[g] = b->step_title[g]; f->text[0][g] = f->text[1][g] = -1; }
    sf_err e = intern_part(b, 0, f->text[0]);
    if (!e.ok) return e;
    if (part == 1 && !(e = intern_part(b, 1, f->text[1])).ok) return e;
    f->run = b->st.run;
    runloc dummy;
    ls_cmp_key(b, &f->cmp, &dummy);
    f->compare = b->st.compare;
    f->cmp_align = b->st.compare && b->st.cmp_align;
    f->show_ids = b->st.show_ids;
    f->heat_range = b->st.heat_range;
    f->cursor = b->st.cursor;
    f->cursor_index = b->st.cursor_index;
    f->panel = b->st.panel;
    f->fstack = b->st.fstack; f->fsub = b->st.fsub; f->flayer = b->st.flayer; f->fhead = b->st.fhead;
    f->ask = b->ask;
    if (!(e = fill_shown(b, f)).ok) return e;
    if (b->n_cells + b->n_hl > SF_LESSON_MAX_CELLS)
        return FAIL(b, 1, "too many highlights in one lesson (at most %d)", SF_LESSON_MAX_CELLS);
    if (b->n_cells + b->n_hl > b->cap_cells) {
        int cap = b->cap_cells ? b->cap_cells * 2 : 64;
        while (cap < b->n_cells + b->n_hl) cap *= 2;
        sf_lesson_cells *c = realloc(b->cells, (size_t)cap * sizeof *c);
        if (!c) return FAIL(b, 1, "out of memory");
        b->cells = c;
        b->cap_cells = cap;
    }
    f->hl_first = b->n_cells;
    f->n_hl = b->n_hl;
    if (b->n_hl) memcpy(b->cells + b->n_cells, b->hl, (size_t)b->n_hl * sizeof *b->hl);
    b->n_cells += b->n_hl;
    return sf_ok();
}

/* Appends a frame to the list. */
static sf_err push_frame(builder *b, const iframe *f) {
    if (b->n_frames == SF_LESSON_MAX_FRAMES) return FAIL(b, 1, "too many steps in one lesson (at most %d)", SF_LESSON_MAX_FRAMES);
    if (b->n_frames == b->cap_frames) {
        int cap = b->cap_frames ? b->cap_frames * 2 : 16;
        iframe *p = realloc(b->frames, (size_t)cap * sizeof *p);
        if (!p) return FAIL(b, 1, "out of memory");
        b->frames = p;
        b->cap_frames = cap;
    }
    b->frames[b->n_frames++] = *f;
    return sf_ok();
}

/* Checks that a question does not hide what its own step points at: no highlight on the hidden row (or the
 * scores that give it away), and no scores panel brought forward on the asked head and row, which the
 * question blanks unless it was asked `with scores` (quotes are checked by ls_check_quote). */
static sf_err check_question_hides(builder *b) {
    const sf_lesson_ask *a = &b->ask;
    int row = a->at.lo[1 - a->free_axis];
    for (int i = 0; i < b->n_hl; i++) {
        const sf_lesson_cells *h = &b->hl[i];
        if (h->lo[0] <= row && (h->hi[0] < 0 || h->hi[0] >= row) && sf_lesson_hides(a, h->name, row))
            return ls_fail_at(b, b->hl_line[i], b->hl_col[i], "this highlight is on row %d of %s, which the question on "
                                                              "line %d hides until its answer", row, h->name, b->ask_line);
    }
    const sf_trace_entry *e = NULL;
    runrec *r;
    if (!ls_main_run(b, &r).ok || !r || !(e = sf_trace_find(&r->tr, a->at.name))) return sf_ok();
    if (b->st.panel == SF_PANEL_SCORES && !a->with_scores && e->head >= 0 && (b->st.fhead < 0 ? 0 : b->st.fhead) == e->head &&
        (b->st.fstack < 0 || b->st.fstack == e->stack) && (b->st.flayer < 0 || b->st.flayer == e->layer) &&
        (b->st.fsub < 0 || b->st.fsub == e->sublayer) && b->st.cursor.phase == e->stack && b->st.cursor.token == row)
        return ls_fail_at(b, b->ask_line, b->ask_col, "the scores panel is brought forward on row %d of head %d, which this "
                                                      "question hides until its answer: the learner cannot read it (focus "
                                                      "another panel, or ask about another row)", row, e->head);
    return sf_ok();
}

/* Checks that the compared run can be aligned to the main run by token (`@compare ... align tokens`): both
 * have an encoder, and the compared input is a permutation of the main one; errors point at the `align`. */
static sf_err check_align(builder *b, const runrec *r, const runrec *rc) {
    int line = b->st.align_line, col = b->st.align_col;
    if (r->var.cfg.family != SF_FAMILY_ENCDEC || rc->var.cfg.family != SF_FAMILY_ENCDEC)
        return ls_fail_at(b, line, col, "align tokens reorders the encoder's positions, and this model has no encoder");
    int *map = malloc((size_t)(r->seq.n_src > 0 ? r->seq.n_src : 1) * sizeof *map);
    if (!map) return ls_fail_at(b, line, col, "out of memory");
    int ok = sf_lesson_align(r->seq.enc.ids, r->seq.n_src, rc->seq.enc.ids, rc->seq.n_src, map);
    free(map);
    if (!ok)
        return ls_fail_at(b, line, col, "align tokens needs the compared input to be a permutation of the main one "
                                        "(the same tokens, each as often): %d tokens \"%s\" against %d tokens \"%s\"",
                          r->seq.n_src, ls_pstr(b, r->key.input) ? ls_pstr(b, r->key.input) : "",
                          rc->seq.n_src, ls_pstr(b, rc->key.input) ? ls_pstr(b, rc->key.input) : "");
    return sf_ok();
}

/* Checks what can only be checked once the step's directives are all read: highlighted rows and the
 * revealed answer are on screen at the final cursor, and the cursor exists in the compare run too. */
static sf_err check_frame(builder *b, int revealing) {
    if (!b->o.check_models) return sf_ok();
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r); /* a frame always stands on a step of its run */
    if (!e.ok) return e;
    for (int i = 0; i < b->n_hl; i++)
        if (!(e = ls_check_computed(b, r, b->st.cursor_index, b->hl[i].name, b->hl_row[i], b->hl_line[i], b->hl_col[i],
                                    "this highlight")).ok)
            return e;
    if (revealing && b->ask.state)
        if (!(e = ls_check_computed(b, r, b->st.cursor_index, b->ask.at.name, b->ask_row, b->ask_line, b->ask_col,
                                    "the answer to this question")).ok)
            return e;
    if (b->st.compare) {
        runkey k;
        runloc loc;
        ls_cmp_key(b, &k, &loc);
        runrec *rc;
        if (!(e = ls_get_run(b, &k, &loc, &rc)).ok) return e;
        if (sf_schedule_index(&rc->sch, b->st.cursor) < 0) {
            char d[64];
            sf_cursor_describe(b->st.cursor, d, sizeof d);
            return ls_fail_at(b, b->step_line, 1, "the compared run has no step '%s' (its input or model differs too much)", d);
        }
        if (b->st.cmp_align && !(e = check_align(b, r, rc)).ok) return e;
    }
    int asking = b->ask.state == 1;
    if (asking && !(e = check_question_hides(b)).ok) return e;
    for (int i = 0; i < b->n_quotes; i++) /* what the narration quotes: part 0 shows in both frames of a question */
        if ((b->quotes[i].part == 0 || revealing) && !(e = ls_check_quote(b, &b->quotes[i], asking)).ok) return e;
    return sf_ok();
}

/* Ends the current step: emits its frame (or its reveal frame) and clears per-step state. */
sf_err ls_end_step(builder *b) {
    if (!b->in_step) return sf_ok();
    sf_err e;
    if (b->ask.state == 1) { /* asked but no @reveal: the reveal frame adds nothing but the answer */
        if (!(e = check_frame(b, 0)).ok) return e;
        if (!(e = snapshot(b, 0, &b->ask_frame)).ok) return e;
        if (!(e = push_frame(b, &b->ask_frame)).ok) return e;
        b->ask.state = 2;
    }
    if (!(e = check_frame(b, b->ask.state == 2)).ok) return e;
    iframe f;
    if (!(e = snapshot(b, b->ask.state == 2 ? 1 : 0, &f)).ok) return e;
    if (!(e = push_frame(b, &f)).ok) return e;
    /* translation bookkeeping */
    for (int g = 0; g < SF_LANG_COUNT; g++) { /* a part written in one language but not the other */
        int miss = 0;
        for (int p = 0; p < 2; p++) miss |= !b->text[p][g].len && b->text[p][1 - g].len;
        b->l->missing[g] += miss;
    }
    for (int p = 0; p < 2; p++)
        for (int g = 0; g < SF_LANG_COUNT; g++) { b->text[p][g].len = 0; b->para[p][g] = 0; }
    b->n_hl = 0;
    b->n_quotes = 0;
    memset(&b->ask, 0, sizeof b->ask);
    b->in_step = 0;
    b->step++;
    return sf_ok();
}

/* ---- directives ---------------------------------------------------------------------------------- */

/* Moves the cursor to the start of the (new) main run's schedule. */
void ls_reset_cursor(builder *b) {
    b->st.cursor = (sf_cursor){SF_STACK_ENC, 0, -1, SF_SUB_EMBED, SF_OP_TOK};
    b->st.cursor_index = -1;
}

/* Sets the cursor to the first step of the main run when it was reset. */
sf_err ls_settle_cursor(builder *b, runrec **out) {
    runrec *r;
    sf_err e = ls_main_run(b, &r);
    if (!e.ok) return e;
    if (r && b->st.cursor_index < 0) {
        b->st.cursor_index = 0;
        b->st.cursor = r->sch.steps[0];
    }
    if (out) *out = r;
    return sf_ok();
}

/* Parses `[enc|dec] [token N|all [tokens]] [L<n>] [sublayer] [op] [end]`, or `start` / `end`. */
sf_err ls_do_goto(builder *b, const word *w, int nw) {
    if (nw == 0) return FAIL(b, 1, "expected a step after @goto, e.g. '@goto dec token 3 L1 cross softmax'");
    int phase = -2, token = -2, layer = -2, sub = -2, op = -2, last = 0, only = 0;
    int ccol[6] = {w[0].col, w[0].col, w[0].col, w[0].col, w[0].col, w[0].col}; /* phase token layer sub op */
    for (int i = 0; i < nw; i++) {
        char s[32];
        ls_wstr(w[i], s, sizeof s);
        if (i == 0 && nw == 1 && (!strcmp(s, "start") || !strcmp(s, "end"))) { only = 1; last = s[0] == 'e'; continue; }
        if (!strcmp(s, "enc") || !strcmp(s, "encoder") || !strcmp(s, "dec") || !strcmp(s, "decoder")) {
            if (phase != -2) return FAIL(b, w[i].col, "the stack is given twice");
            phase = s[0] == 'e' ? SF_STACK_ENC : SF_STACK_DEC; ccol[0] = w[i].col;
        } else if (!strcmp(s, "token")) {
            if (i + 1 >= nw || !ls_parse_uint(w[i + 1].p, w[i + 1].n, &token))
                return FAIL(b, i + 1 < nw ? w[i + 1].col : w[i].col + (int)w[i].n, "expected a token number after 'token'");
            ccol[1] = w[i + 1].col;
            i++;
        } else if (!strcmp(s, "all")) {
            token = -1; ccol[1] = w[i].col;
            if (i + 1 < nw && ls_weq(w[i + 1], "tokens")) i++;
        } else if (s[0] == 'L' && s[1] >= '0' && s[1] <= '9') {
            if (!ls_parse_uint(s + 1, strlen(s + 1), &layer)) return FAIL(b, w[i].col, "expected a layer such as L0");
            ccol[2] = w[i].col;
        } else if (!strcmp(s, "end") && i == nw - 1) {
            last = 1;
        } else {
            int found = 0;
            for (int k = 0; k < SF_SUB_COUNT && !found; k++)
                if (!strcmp(s, sf_sublayer_name(k))) { sub = k; ccol[3] = w[i].col; found = 1; }
            for (int k = 0; k < SF_OP_COUNT && !found; k++)
                if (!strcmp(s, sf_op_name(k))) { op = k; ccol[4] = w[i].col; found = 1; }
            if (!found)
                return FAIL(b, w[i].col, "unexpected '%s' in @goto: expected enc|dec, token N, all, L<n>, a sub-layer "
                                         "(embed self cross ffn final head), an operation (e.g. scores softmax wsum) or end", s);
        }
    }
    if (!b->o.check_models) { /* keep what was written */
        if (phase >= 0) b->st.cursor.phase = phase;
        if (token >= -1) b->st.cursor.token = token;
        if (layer >= 0) b->st.cursor.layer = layer;
        if (sub >= 0) b->st.cursor.sublayer = sub;
        if (op >= 0) b->st.cursor.op = op;
        return sf_ok();
    }
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok) return e;
    const sf_config *c = &r->var.cfg;
    if (only) {
        b->st.cursor_index = last ? r->sch.n - 1 : 0;
        b->st.cursor = r->sch.steps[b->st.cursor_index];
        return sf_ok();
    }
    if (phase == SF_STACK_ENC && c->family != SF_FAMILY_ENCDEC)
        return FAIL(b, ccol[0], "this model (%s) has no encoder", sf_family_name(c->family));
    int ph = phase >= 0 ? phase : -1;
    if (token >= 0) {
        int n_enc = r->seq.n_src, n_dec = r->seq.n_tgt;
        if (ph == SF_STACK_ENC && token >= n_enc)
            return FAIL(b, ccol[1], "step past the end of the input: the encoder has %d tokens (0-%d)", n_enc, n_enc - 1);
        if (ph != SF_STACK_ENC && token >= n_dec && !(ph < 0 && token < n_enc))
            return FAIL(b, ccol[1], "step past the end of the input: the decoder has %d positions (0-%d: <bos> then %d "
                                    "more)", n_dec, n_dec - 1, n_dec - 1);
    }
    if (layer >= 0) {
        int nl = ph == SF_STACK_ENC ? c->n_enc_layers : ph == SF_STACK_DEC ? c->n_dec_layers
                 : (c->n_enc_layers > c->n_dec_layers ? c->n_enc_layers : c->n_dec_layers);
        if (layer >= nl)
            return FAIL(b, ccol[2], "layer L%d out of range: the %s has %d layers (L0-L%d)", layer,
                        ph == SF_STACK_ENC ? "encoder" : "decoder", nl, nl - 1);
    }
    if (sub == SF_SUB_CROSS && (c->family != SF_FAMILY_ENCDEC || ph == SF_STACK_ENC))
        return FAIL(b, ccol[3], "no cross-attention here: only an encoder-decoder's decoder has it");
    int hit = -1;
    for (int i = 0; i < r->sch.n; i++) {
        sf_cursor s = r->sch.steps[i];
        if ((phase >= 0 && s.phase != phase) || (token >= -1 && s.token != token) || (layer >= 0 && s.layer != layer) ||
            (sub >= 0 && s.sublayer != sub) || (op >= 0 && s.op != op))
            continue;
        hit = i;
        if (!last) break;
    }
    if (hit < 0) {
        int col = op >= 0 ? ccol[4] : sub >= 0 ? ccol[3] : layer >= 0 ? ccol[2] : token >= -1 ? ccol[1] : ccol[0];
        char what[160];
        snprintf(what, sizeof what, "%s%s%s", sub >= 0 ? sf_sublayer_name(sub) : "", sub >= 0 && op >= 0 ? " " : "",
                 op >= 0 ? sf_op_name(op) : "");
        return FAIL(b, col, "no such step in this model's schedule%s%s%s (encoder rows are 'enc token N', its Q/K/V "
                            "'enc all L<n> self qkv'; see 'stepformer trace')", what[0] ? " ('" : "", what,
                    what[0] ? "')" : "");
    }
    b->st.cursor_index = hit;
    b->st.cursor = r->sch.steps[hit];
    return sf_ok();
}

/* `@next [N]` / `@prev [N]`: moves the cursor N schedule steps. */
sf_err ls_do_move(builder *b, const word *w, int nw, int dir) {
    int n = 1;
    if (nw > 1) return FAIL(b, w[1].col, "expected at most one number");
    if (nw == 1 && (!ls_parse_uint(w[0].p, w[0].n, &n) || n == 0)) return FAIL(b, w[0].col, "expected a number of steps (1 or more)");
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok || !r) return e;
    long to = (long)b->st.cursor_index + (long)dir * n;
    if (to < 0) return FAIL(b, nw ? w[0].col : 1, "step before the start: only %d steps precede the cursor", b->st.cursor_index);
    if (to >= r->sch.n)
        return FAIL(b, nw ? w[0].col : 1, "step past the end of the input: only %d steps follow the cursor",
                    r->sch.n - 1 - b->st.cursor_index);
    b->st.cursor_index = (int)to;
    b->st.cursor = r->sch.steps[to];
    return sf_ok();
}

/* `@focus PANEL [enc|dec] [L<n>] [self|cross|ffn] [H<n>|all]`, or `@focus none`. */
sf_err ls_do_focus(builder *b, const word *w, int nw) {
    char s[32];
    if (nw == 0) return FAIL(b, 1, "expected a panel after @focus: map, tokens, attention, scores, positions, activations, output, heads, lens or none");
    ls_wstr(w[0], s, sizeof s);
    int panel = sf_panel_parse(s);
    if (!panel && strcmp(s, "none"))
        return FAIL(b, w[0].col, "unknown panel '%s': expected map, tokens, attention, scores, positions, activations, output, heads, lens or none", s);
    int stack = -1, sub = -1, layer = -1, head = -1, lcol = 0, hcol = 0, scol = 0;
    for (int i = 1; i < nw; i++) {
        ls_wstr(w[i], s, sizeof s);
        if (!strcmp(s, "enc") || !strcmp(s, "dec")) { stack = s[0] == 'e' ? SF_STACK_ENC : SF_STACK_DEC; scol = w[i].col; }
        else if (!strcmp(s, "self")) sub = SF_SUB_SELF;
        else if (!strcmp(s, "cross")) { sub = SF_SUB_CROSS; if (!scol) scol = w[i].col; }
        else if (!strcmp(s, "ffn")) sub = SF_SUB_FFN;
        else if (!strcmp(s, "all")) head = -1;
        else if (s[0] == 'L' && ls_parse_uint(s + 1, strlen(s + 1), &layer)) lcol = w[i].col;
        else if (s[0] == 'H' && ls_parse_uint(s + 1, strlen(s + 1), &head)) hcol = w[i].col;
        else return FAIL(b, w[i].col, "unexpected '%s' in @focus: expected enc|dec, L<n>, self|cross|ffn, H<n> or all", s);
    }
    runrec *r;
    sf_err e = ls_main_run(b, &r);
    if (!e.ok) return e;
    if (r) {
        const sf_config *c = &r->var.cfg;
        if (stack == SF_STACK_ENC && c->family != SF_FAMILY_ENCDEC)
            return FAIL(b, scol, "this model (%s) has no encoder", sf_family_name(c->family));
        if (sub == SF_SUB_CROSS && (c->family != SF_FAMILY_ENCDEC || stack == SF_STACK_ENC))
            return FAIL(b, scol, "no cross-attention here: only an encoder-decoder's decoder has it");
        int st = stack >= 0 ? stack : b->st.cursor.phase;
        int nl = st == SF_STACK_ENC && c->family == SF_FAMILY_ENCDEC ? c->n_enc_layers : c->n_dec_layers;
        if (layer >= nl)
            return FAIL(b, lcol, "layer L%d out of range: the %s has %d layers (L0-L%d)", layer,
                        st == SF_STACK_ENC ? "encoder" : "decoder", nl, nl - 1);
        if (head >= c->n_heads)
            return FAIL(b, hcol, "head H%d out of range: the model has %d heads (H0-H%d)", head, c->n_heads, c->n_heads - 1);
    }
    b->st.panel = panel;
    b->st.fstack = stack; b->st.fsub = sub; b->st.flayer = layer; b->st.fhead = head;
    return sf_ok();
}

/* Returns the first row selected along axis 0 when that axis counts queries or positions, else -1. */
int ls_first_row(const sf_trace_entry *e, const sf_lesson_cells *c) {
    if (!e || (strcmp(e->axis[0], "query") && strcmp(e->axis[0], "position"))) return -1;
    return c->lo[0];
}

/* `@highlight NAME [axis=N[..M]]...` */
sf_err ls_do_highlight(builder *b, const word *w, int nw) {
    if (b->n_hl == SF_LESSON_MAX_HIGHLIGHTS)
        return FAIL(b, 1, "too many highlights in one step (at most %d)", SF_LESSON_MAX_HIGHLIGHTS);
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok) return e;
    int i = 0;
    const sf_trace_entry *en;
    if (!(e = ls_parse_cells(b, r, w, nw, &i, &b->hl[b->n_hl], &en)).ok) return e;
    if (i < nw) return FAIL(b, w[i].col, "expected axis=N or axis=N..M (e.g. q=3 k=0..2)");
    b->hl_line[b->n_hl] = b->hl[b->n_hl].line = b->line;
    b->hl_col[b->n_hl] = b->hl[b->n_hl].col = w[0].col;
    b->hl_row[b->n_hl] = ls_first_row(en, &b->hl[b->n_hl]);
    b->n_hl++;
    return sf_ok();
}

/* `@ask NAME axis=N [expect axis=M | expect "text"] [with scores]` */
sf_err ls_do_ask(builder *b, const word *w, int nw, int at_col) {
    if (b->ask.state) return FAIL(b, at_col, "only one @ask per step (start a new '## ' step)");
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok) return e;
    int i = 0;
    const sf_trace_entry *en;
    sf_lesson_ask a;
    memset(&a, 0, sizeof a);
    if (!(e = ls_parse_cells(b, r, w, nw, &i, &a.at, &en)).ok) return e;
    if (r && !(e = ls_fixed_row(b, &a.at, w[0].col, &a.free_axis)).ok) return e;
    if (!r) a.free_axis = 1;
    int fixed = a.at.lo[1 - a.free_axis];
    a.answer = -1;
    if (r) {
        a.answer = ls_argmax_along(&r->tr, en, a.free_axis, fixed);
        ls_axis_label(r, en, a.free_axis, a.answer, a.answer_label, sizeof a.answer_label);
    }
    if (nw - i >= 2 && ls_weq(w[nw - 2], "with") && ls_weq(w[nw - 1], "scores")) { /* the row's scores stay shown */
        if (w[0].n < 7 || memcmp(w[0].p + w[0].n - 6, ".probs", 6) || !strcmp("dec.probs", en ? en->name : "") ||
            (en && en->head < 0))
            return FAIL(b, w[nw - 2].col, "'with scores' needs a head's attention weights (NAME ending in .probs)");
        a.with_scores = 1;
        nw -= 2;
    }
    if (i < nw) {
        if (!ls_weq(w[i], "expect")) return FAIL(b, w[i].col, "expected 'expect' followed by the answer, 'with scores', or the end of the line");
        if (i + 1 >= nw) return FAIL(b, w[i].col + (int)w[i].n, "expected the answer after 'expect' (e.g. k=4 or \"e\")");
        if (i + 2 < nw) return FAIL(b, w[i + 2].col, "expected the end of the line");
        int want;
        if (r && !(e = ls_parse_expected(b, r, en, a.free_axis, a.answer, w[i + 1], &want)).ok) return e;
        if (r && b->o.check_claims && want != a.answer) {
            char wl[48];
            ls_axis_label(r, en, a.free_axis, want, wl, sizeof wl);
            return FAIL(b, w[i + 1].col, "the lesson expects %s but the model's largest value is at %s", wl, a.answer_label);
        }
    }
    a.state = 1;
    a.at.line = b->line;
    a.at.col = w[0].col;
    b->ask = a;
    b->ask_line = b->line;
    b->ask_col = w[0].col;
    b->ask_row = en ? (a.free_axis == 1 ? ls_first_row(en, &a.at) : -1) : -1;
    /* the question brings its head (or the output) forward */
    if (en && en->head >= 0) {
        b->st.panel = SF_PANEL_ATTENTION;
        b->st.fstack = en->stack; b->st.fsub = en->sublayer; b->st.flayer = en->layer; b->st.fhead = en->head;
    } else if (en && en->sublayer == SF_SUB_HEAD) {
        b->st.panel = SF_PANEL_OUTPUT;
        b->st.fstack = b->st.fsub = b->st.flayer = b->st.fhead = -1;
    }
    return sf_ok();
}

/* `@reveal`: the asking frame ends here; what follows makes the answer frame. */
sf_err ls_do_reveal(builder *b, const word *w, int nw, int at_col) {
    sf_err e;
    if (nw) return FAIL(b, w[0].col, "expected nothing after @reveal");
    if (b->ask.state != 1) return FAIL(b, at_col, "@reveal without an @ask before it in this step");
    if (!(e = check_frame(b, 0)).ok) return e;
    iframe f;
    if (!(e = snapshot(b, 0, &f)).ok) return e;
    if (!(e = push_frame(b, &f)).ok) return e;
    b->ask.state = 2;
    b->lang = SF_LANG_EN;
    b->part = 1;
    return sf_ok();
}

/* `@compare off` or `@compare SETTING VALUE ...`: switches the second run off, or changes its settings. */
sf_err ls_do_compare(builder *b, const word *w, int nw, int at_col) {
    sf_err e;
    static const char *const want = "expected off, or settings: input TEXT, target TEXT|none, model FILE, positions on|off, "
                                    "align tokens|positions";
    if (nw == 0) return FAIL(b, at_col + 8, "%s", want);
    if (nw == 1 && ls_weq(w[0], "off")) {
        b->st.compare = 0;
        b->st.cmp_model = b->st.cmp_input = b->st.cmp_target = b->st.cmp_positions = -1;
        b->st.cmp_align = 0;
        return sf_ok();
    }
    if (nw % 2) return FAIL(b, w[nw - 1].col + (int)w[nw - 1].n, "expected a value after '%.*s' (quote text with spaces)",
                            (int)w[nw - 1].n, w[nw - 1].p);
    for (int i = 0; i < nw; i += 2) { /* key value pairs; the run is checked once the line is read */
        word v = w[i + 1];
        int q = v.p[0] == '"';
        if (ls_weq(w[i], "input") || (ls_weq(w[i], "target") && !ls_weq(v, "none"))) {
            int off = ls_intern_text(b, v);
            if (off < 0) return FAIL(b, v.col, "out of memory");
            if (w[i].p[0] == 'i') { b->st.cmp_input = off; b->st.cmploc.input_line = b->line; b->st.cmploc.input_col = v.col; b->st.cmploc.input_quoted = q; }
            else { b->st.cmp_target = off; b->st.cmploc.target_line = b->line; b->st.cmploc.target_col = v.col; b->st.cmploc.target_quoted = q; }
        } else if (ls_weq(w[i], "target")) {
            b->st.cmp_target = -2;
        } else if (ls_weq(w[i], "model")) {
            int off;
            b->st.cmploc.model_line = b->line;
            b->st.cmploc.model_col = v.col;
            if (!(e = ls_model_path(b, v, &off)).ok) return e;
            b->st.cmp_model = off;
        } else if (ls_weq(w[i], "positions")) {
            int on = ls_on_off(v);
            if (on < 0) return FAIL(b, v.col, "expected on or off");
            b->st.cmp_positions = on;
        } else if (ls_weq(w[i], "align")) {
            if (!ls_weq(v, "tokens") && !ls_weq(v, "positions")) return FAIL(b, v.col, "expected tokens or positions");
            b->st.cmp_align = ls_weq(v, "tokens");
            b->st.align_line = b->line;
            b->st.align_col = w[i].col;
        } else {
            return FAIL(b, w[i].col, "%s", want);
        }
    }
    b->st.compare = 1;
    if (b->o.check_models) { /* make the run now so a bad input is reported on this line */
        runkey k2;
        runloc loc;
        runrec *rc;
        ls_cmp_key(b, &k2, &loc);
        if (!(e = ls_settle_cursor(b, NULL)).ok) return e;
        if (!(e = ls_get_run(b, &k2, &loc, &rc)).ok) return e;
    }
    return sf_ok();
}

/* `@show ids [on|off]`, `@show range local|full` (several on one line): what the token strip and the
 * attention heatmaps show, from this step on. */
sf_err ls_do_show(builder *b, const word *w, int nw, int at_col) {
    static const char *const want = "expected ids [on|off] or range local|full";
    if (nw == 0) return FAIL(b, at_col + 5, "%s", want);
    for (int i = 0; i < nw; i++) {
        if (ls_weq(w[i], "ids")) {
            int on = i + 1 < nw ? ls_on_off(w[i + 1]) : -1;
            b->st.show_ids = on != 0;
            if (on >= 0) i++;
        } else if (ls_weq(w[i], "range")) {
            if (i + 1 >= nw || (!ls_weq(w[i + 1], "local") && !ls_weq(w[i + 1], "full")))
                return FAIL(b, i + 1 < nw ? w[i + 1].col : w[i].col + (int)w[i].n, "expected local or full after 'range'");
            b->st.heat_range = ls_weq(w[i + 1], "local") ? SF_RANGE_LOCAL : SF_RANGE_FULL;
            i++;
        } else {
            return FAIL(b, w[i].col, "%s", want);
        }
    }
    return sf_ok();
}
