/* lesson_parse.c - text to directives and steps: reads a lesson line by line (headings, prose in two
 * languages, comments, escapes), splits directive lines into words and dispatches them, and moves the
 * finished frames into the lesson. The state they change lives in lesson_replay.c, the models they are
 * checked against in lesson_check.c. */
#include "lesson_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/tokenizer.h"

/* Returns the 1-based character column of byte p on the current line. */
static int col_of(const builder *b, const char *p) {
    int col = 1;
    for (const char *q = b->line_start; q < p; q++)
        if (((unsigned char)*q & 0xC0) != 0x80) col++;
    return col;
}

/* Returns a failure "file:line:col: msg" and records line and column in the lesson. */
sf_err ls_fail_at(builder *b, int line, int col, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->l->err_line = line;
    b->l->err_col = col;
    return sf_fail("%s:%d:%d: %s", b->file, line, col, msg);
}

/* Copies a word into a NUL-terminated buffer (truncating); returns out. */
char *ls_wstr(word w, char *out, size_t size) {
    size_t n = w.n < size - 1 ? w.n : size - 1;
    memcpy(out, w.p, n);
    out[n] = 0;
    return out;
}

/* Parses a whole non-negative decimal integer (at most 9 digits) from p(n); returns 1 on success. */
int ls_parse_uint(const char *p, size_t n, int *out) {
    if (n == 0 || n > 9) return 0;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

/* Parses a finite decimal float from a word; returns 1 on success. */
int ls_parse_float(word w, float *out) {
    char tmp[32], *end;
    if (w.n == 0 || w.n >= sizeof tmp) return 0;
    ls_wstr(w, tmp, sizeof tmp);
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v)) return 0;
    *out = (float)v;
    return 1;
}

/* Appends a NUL-terminated copy of p(n) to the pool; returns its offset or -1 when memory is short. */
int ls_intern(builder *b, const char *p, size_t n) {
    if (b->pool.len + n + 1 > (size_t)INT32_MAX) return -1;
    int off = (int)b->pool.len;
    if (n) sf_buf_put(&b->pool, p, n); /* (sf_buf_put would memcpy to NULL for an empty first put) */
    sf_buf_u8(&b->pool, 0);
    return b->pool.failed ? -1 : off;
}

/* Splits s(n) into words at spaces and tabs; a word starting with '"' runs to the closing quote.
 * Returns the number of words, or -1 (with *err set) for an unterminated quote or too many words. */
static int lex(builder *b, const char *s, size_t n, word *w, sf_err *err) {
    int k = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= n) break;
        if (k == MAX_WORDS) { *err = FAIL(b, col_of(b, s + i), "too many words on one line (at most %d)", MAX_WORDS); return -1; }
        size_t j = i;
        if (s[i] == '"') {
            j++;
            while (j < n && s[j] != '"') j += s[j] == '\\' && j + 1 < n ? 2 : 1;
            if (j >= n) { *err = FAIL(b, col_of(b, s + i), "expected a closing '\"' for this quoted text"); return -1; }
            j++;
        } else {
            while (j < n && s[j] != ' ' && s[j] != '\t') j++;
        }
        w[k].p = s + i;
        w[k].n = j - i;
        w[k].col = col_of(b, s + i);
        k++;
        i = j;
    }
    return k;
}

/* Interns the text of a word, removing quotes and \" \\ escapes; returns the offset or -1. */
int ls_intern_text(builder *b, word w) {
    if (w.n >= 2 && w.p[0] == '"') {
        char *tmp = malloc(w.n);
        if (!tmp) return -1;
        size_t k = 0;
        for (size_t i = 1; i + 1 < w.n; i++) {
            if (w.p[i] == '\\' && i + 2 < w.n) i++;
            tmp[k++] = w.p[i];
        }
        int off = ls_intern(b, tmp, k);
        free(tmp);
        return off;
    }
    return ls_intern(b, w.p, w.n);
}

/* Reads the rest of a directive line as one text argument (quoted, or verbatim and trimmed). */
sf_err ls_rest_text(builder *b, const char *s, size_t n, const char *what, int *off, int *col, int *quoted) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (i >= n) return FAIL(b, col_of(b, s + i), "expected %s after the directive (use \"\" for empty text)", what);
    word w = {s + i, n - i, col_of(b, s + i)};
    *quoted = 0;
    if (s[i] == '"') {
        size_t j = i + 1;
        while (j < n && s[j] != '"') j += s[j] == '\\' && j + 1 < n ? 2 : 1;
        if (j >= n) return FAIL(b, w.col, "expected a closing '\"' for this quoted text");
        if (j + 1 != n) return FAIL(b, col_of(b, s + j + 1), "expected nothing after the closing quote");
        *quoted = 1;
    }
    *col = w.col;
    *off = ls_intern_text(b, w);
    if (*off < 0) return FAIL(b, w.col, "out of memory");
    return sf_ok();
}

/* Returns the language code for "en" / "zh", or -1. */
int sf_lang_parse(const char *s) {
    if (strcmp(s, "en") == 0) return SF_LANG_EN;
    if (strcmp(s, "zh") == 0) return SF_LANG_ZH;
    return -1;
}

/* Returns "en" or "zh". */
const char *sf_lang_name(int lang) { return lang == SF_LANG_ZH ? "zh" : "en"; }

static const char *const panel_names[SF_PANEL_COUNT] = {"none", "map", "tokens", "attention", "scores",
                                                       "positions", "activations", "output", "heads", "lens"};

/* Returns the name of a panel, or "?". */
const char *sf_panel_name(int panel) { return panel >= 0 && panel < SF_PANEL_COUNT ? panel_names[panel] : "?"; }

/* Returns the panel with that name, or SF_PANEL_NONE. */
int sf_panel_parse(const char *s) {
    for (int i = 1; i < SF_PANEL_COUNT; i++)
        if (strcmp(s, panel_names[i]) == 0) return i;
    return SF_PANEL_NONE;
}

/* Appends a prose line to a narration buffer: joined to the previous line with a space (none between
 * CJK text), a newline after a blank line or before a list item. */
static void add_prose(sf_buf *t, int *para, const char *p, size_t n) {
    if (t->len > 0) {
        int list = n >= 2 && (p[0] == '-' || p[0] == '*') && p[1] == ' ';
        if (*para || list) sf_buf_put(t, "\n", 1);
        else if (!((t->data[t->len - 1] & 0x80) && ((unsigned char)p[0] & 0x80))) sf_buf_put(t, " ", 1);
    }
    *para = 0;
    sf_buf_put(t, p, n);
}

/* `@sample greedy` or `@sample [temperature T] [top-k K] [seed S]` into a runkey. */
static sf_err parse_sample(builder *b, const word *w, int nw, runkey *k) {
    if (nw == 0) return FAIL(b, 1, "expected 'greedy' or 'temperature T [top-k K] [seed S]'");
    if (nw == 1 && ls_weq(w[0], "greedy")) { k->sampler.temperature = 0; k->sampler.top_k = 0; return sf_ok(); }
    for (int i = 0; i < nw; i += 2) {
        if (i + 1 >= nw) return FAIL(b, w[i].col + (int)w[i].n, "expected a value after '%.*s'", (int)w[i].n, w[i].p);
        if (ls_weq(w[i], "temperature")) {
            if (!ls_parse_float(w[i + 1], &k->sampler.temperature) || k->sampler.temperature < 0 || k->sampler.temperature > 100)
                return FAIL(b, w[i + 1].col, "expected a temperature from 0 to 100");
        } else if (ls_weq(w[i], "top-k")) {
            if (!ls_parse_uint(w[i + 1].p, w[i + 1].n, &k->sampler.top_k)) return FAIL(b, w[i + 1].col, "expected a whole number");
        } else if (ls_weq(w[i], "seed")) {
            int s;
            if (!ls_parse_uint(w[i + 1].p, w[i + 1].n, &s)) return FAIL(b, w[i + 1].col, "expected a whole number");
            k->seed = (unsigned long long)s;
        } else {
            return FAIL(b, w[i].col, "expected greedy, temperature, top-k or seed");
        }
    }
    return sf_ok();
}

/* Returns the column (in w) of the first character of a head name in w that is not spelled
 * {enc,dec}.L<n>.{self,cross}.H<n>, or 0 if every comma-separated name is (the model checks the rest). */
static int bad_head_spelling(word w) {
    size_t i = 0;
    while (i <= w.n) {
        size_t j = i;
        while (j < w.n && w.p[j] != ',') j++;
        const char *p = w.p + i;
        size_t n = j - i, k = 0;
        int ok = n > 4 && (!memcmp(p, "enc.", 4) || !memcmp(p, "dec.", 4));
        if (ok) { k = 4; ok = k < n && p[k] == 'L'; k++; }
        size_t d = k;
        while (ok && k < n && p[k] >= '0' && p[k] <= '9') k++;
        ok = ok && k > d && k < n && p[k] == '.';
        k++;
        if (ok && n - k > 5 && !memcmp(p + k, "self.", 5)) k += 5;
        else if (ok && n - k > 6 && !memcmp(p + k, "cross.", 6)) k += 6;
        else ok = 0;
        ok = ok && k < n && p[k] == 'H';
        d = ++k;
        while (ok && k < n && p[k] >= '0' && p[k] <= '9') k++;
        ok = ok && k > d && k == n;
        if (!ok) return w.col + (int)i;
        i = j + 1;
    }
    return 0;
}

/* `@ablate NAME[,NAME...] [mode zero|mean]` or `@ablate none`: the heads the main run knocks out. */
static sf_err parse_ablate(builder *b, const word *w, int nw, int at_col) {
    static const char *const want = "expected head names (dec.L1.cross.H2,dec.L1.cross.H3) [mode zero|mean], or none";
    if (nw == 0) return FAIL(b, at_col + 8, "%s", want);
    if (nw == 1 && ls_weq(w[0], "none")) { b->st.run.ablate = -1; b->st.run.ablate_mode = SF_ABLATE_ZERO; return sf_ok(); }
    int bad = bad_head_spelling(w[0]);
    if (bad) return FAIL(b, bad, "expected a head name such as dec.L1.cross.H2 ({enc,dec}.L<n>.{self,cross}.H<n>), names "
                                 "separated by commas without spaces");
    int mode = SF_ABLATE_ZERO;
    if (nw >= 2) {
        if (!ls_weq(w[1], "mode")) return FAIL(b, w[1].col, "expected 'mode zero' or 'mode mean' after the head names");
        if (nw < 3 || !sf_ablate_mode_parse(ls_wstr(w[2], (char[8]){0}, 8), &mode) || w[2].n > 4)
            return FAIL(b, nw < 3 ? w[1].col + 4 : w[2].col, "expected zero or mean");
        if (nw > 3) return FAIL(b, w[3].col, "unexpected '%.*s': %s", (int)w[3].n, w[3].p, want);
    }
    int off = ls_intern(b, w[0].p, w[0].n);
    if (off < 0) return FAIL(b, w[0].col, "out of memory");
    b->st.run.ablate = off;
    b->st.run.ablate_mode = mode;
    b->st.loc.ablate_line = b->line;
    b->st.loc.ablate_col = w[0].col;
    return sf_ok();
}

/* Parses `on` / `off`; returns 1/0, or -1. */
int ls_on_off(word w) { return ls_weq(w, "on") ? 1 : ls_weq(w, "off") ? 0 : -1; }

/* Dispatches one directive line (s points just after '@'). */
static sf_err directive(builder *b, const char *s, size_t n, int at_col) {
    size_t k = 0;
    while (k < n && s[k] != ' ' && s[k] != '\t') k++;
    char name[24];
    word dw = {s, k, at_col + 1};
    ls_wstr(dw, name, sizeof name);
    const char *rest = s + k;
    size_t rest_n = n - k;
    word w[MAX_WORDS];
    sf_err e = sf_ok();
    int nw = lex(b, rest, rest_n, w, &e);
    if (nw < 0) return e;
    if (!strcmp(name, "requires")) {
        if (b->in_step || b->n_frames) return FAIL(b, at_col, "@requires belongs before the first step ('## ' heading)");
        if (nw != 1) return FAIL(b, nw ? w[1].col : at_col + 9, "expected one file after @requires");
        return ls_requires(b, w[0]);
    }
    if (!b->in_step && strcmp(name, "model") && strcmp(name, "input") && strcmp(name, "target") && strcmp(name, "sample") &&
        strcmp(name, "generate") && strcmp(name, "positions") && strcmp(name, "ablate") && strcmp(name, "snapshot"))
        return FAIL(b, at_col, "@%s must be inside a step: start one with a '## ' heading", name);
    if (!strcmp(name, "model")) {
        if (nw != 1) return FAIL(b, nw ? w[1].col : at_col + 6, "expected one model file after @model");
        int off;
        b->st.loc.model_line = b->line;
        b->st.loc.model_col = w[0].col;
        if (!(e = ls_model_path(b, w[0], &off)).ok) return e;
        b->st.run.model = off;
        b->st.run.snapshot = -1; /* a series plays its last snapshot until @snapshot */
        b->st.loc.snap_line = 0;
        ls_reset_cursor(b);
        b->st.flayer = b->st.fhead = -1;
        return sf_ok();
    }
    if (!strcmp(name, "input") || !strcmp(name, "target")) {
        int off, col, q;
        int tgt = name[0] == 't';
        if (tgt && nw == 1 && ls_weq(w[0], "none")) {
            b->st.run.target = -1;
        } else {
            if (!(e = ls_rest_text(b, rest, rest_n, tgt ? "the target text" : "the input text", &off, &col, &q)).ok) return e;
            if (tgt) { b->st.run.target = off; b->st.loc.target_line = b->line; b->st.loc.target_col = col; b->st.loc.target_quoted = q; }
            else { b->st.run.input = off; b->st.loc.input_line = b->line; b->st.loc.input_col = col; b->st.loc.input_quoted = q; }
        }
        ls_reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "sample")) {
        if (!(e = parse_sample(b, w, nw, &b->st.run)).ok) return e;
        ls_reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "generate")) {
        if (nw != 1 || !ls_parse_uint(w[0].p, w[0].n, &b->st.run.max_new) || b->st.run.max_new > SF_MAX_LEN)
            return FAIL(b, nw ? w[0].col : at_col + 9, "expected the number of tokens to generate (0 = until <eos>)");
        ls_reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "snapshot")) { /* @snapshot N: the weights of training step N of the series @model loaded */
        int v;
        if (nw != 1 || !ls_parse_uint(w[0].p, w[0].n, &v) || v > 100000000)
            return FAIL(b, nw ? w[nw > 1 ? 1 : 0].col : at_col + 9, "expected one training step after @snapshot (a step of the series, e.g. @snapshot 150)");
        if (b->st.run.model < 0) return FAIL(b, at_col, "@snapshot needs a snapshot series first: '@model FILE.snap'");
        b->st.run.snapshot = v;
        b->st.loc.snap_line = b->line;
        b->st.loc.snap_col = w[0].col;
        ls_reset_cursor(b);
        return ls_check_snapshot(b);
    }
    if (!strcmp(name, "positions")) {
        int v = nw == 1 ? ls_on_off(w[0]) : -1;
        if (v < 0) return FAIL(b, nw ? w[0].col : at_col + 10, "expected on or off");
        b->st.run.positions = v;
        ls_reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "ablate")) {
        if (!(e = parse_ablate(b, w, nw, at_col)).ok) return e;
        ls_reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "goto")) return ls_do_goto(b, w, nw);
    if (!strcmp(name, "next")) return ls_do_move(b, w, nw, +1);
    if (!strcmp(name, "prev")) return ls_do_move(b, w, nw, -1);
    if (!strcmp(name, "focus")) return ls_do_focus(b, w, nw);
    if (!strcmp(name, "highlight")) return ls_do_highlight(b, w, nw);
    if (!strcmp(name, "ask")) return ls_do_ask(b, w, nw, at_col);
    if (!strcmp(name, "expect")) return ls_do_expect(b, w, nw, rest, rest_n);
    if (!strcmp(name, "reveal")) return ls_do_reveal(b, w, nw, at_col);
    if (!strcmp(name, "compare")) return ls_do_compare(b, w, nw, at_col);
    if (!strcmp(name, "show")) return ls_do_show(b, w, nw, at_col);
    return FAIL(b, at_col, "unknown directive '@%s': expected one of @requires @model @input @target @sample @generate "
                           "@positions @ablate @snapshot @goto @next @prev @focus @highlight @show @compare @ask @reveal @expect", name);
}

/* Returns the language of a `[xx]` marker at s(n) and the length of the marker, or -1 if s has none. */
static int lang_marker(builder *b, const char *s, size_t n, size_t *mlen, sf_err *err) {
    if (n < 2 || s[0] != '[') return -1;
    size_t j = 1;
    while (j < n && j < 8 && s[j] != ']') j++;
    if (j >= n || s[j] != ']' || j > 6) return -1;
    char code[8];
    memcpy(code, s + 1, j - 1);
    code[j - 1] = 0;
    for (size_t i = 0; code[i]; i++) if (code[i] < 'a' || code[i] > 'z') return -1;
    int g = sf_lang_parse(code);
    if (g < 0) { *err = FAIL(b, col_of(b, s), "unknown language '[%s]': expected [en] or [zh]", code); return -2; }
    *mlen = j + 1;
    return g;
}

/* Returns the refusal of a typed number at byte d of s(n) (in a title when title is set). */
static sf_err typed_number(builder *b, const char *s, size_t n, long d, int title) {
    size_t k = (size_t)d, end = k; /* the number: digits and the separators between them */
    while (k < n && k - (size_t)d < 24) {
        if (s[k] >= '0' && s[k] <= '9') end = ++k;
        else if (s[k] == '.' || s[k] == ',') k++;
        else if (k + 2 < n && (unsigned char)s[k] == 0xEF && (unsigned char)s[k + 1] == 0xBC && (unsigned char)s[k + 2] == 0x8E)
            k += 3;
        else break;
    }
    k = end;
    return FAIL(b, col_of(b, s + d),
                "a typed number '%.*s' in %s: numbers come from the run, so quote the value instead, e.g. "
                "{dec.L0.self.H0.probs q=5 k=0 %%.2f} (docs/lesson-format.md, \"Quoting the run\")",
                (int)(k - (size_t)d), s + d, title ? "a title (quote it in the narration)" : "the narration");
}

/* Checks a prose line: no typed decimal number, and every quote well formed (recorded for the frames of
 * the step, which check it against the runs; refused in the introduction, shown before any run). */
static sf_err prose_scan(builder *b, const char *s, size_t n) {
    long d = sf_lesson_find_decimal(s, n);
    if (d >= 0) return typed_number(b, s, n, d, 0);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '{') { i++; continue; }
        if (s[i] != '{') continue;
        sf_quote q;
        size_t at;
        const char *why;
        if (!sf_quote_parse(s + i, n - i, &q, &at, &why)) return FAIL(b, col_of(b, s + i + at), "%s", why);
        if (!b->in_step)
            return FAIL(b, col_of(b, s + i), "a quote in the lesson's introduction, which shows before any model runs: "
                                             "quote values in a step's narration");
        if (b->n_quotes == SF_LESSON_MAX_QUOTES)
            return FAIL(b, col_of(b, s + i), "too many quotes in one step (at most %d)", SF_LESSON_MAX_QUOTES);
        b->quotes[b->n_quotes++] = (quote_rec){b->part, b->line, col_of(b, s + i), s + i, q.len};
        i += q.len - 1;
    }
    return sf_ok();
}

/* Handles one line (without its newline). */
static sf_err line(builder *b, const char *s, size_t n) {
    sf_err e = sf_ok();
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    s += i;
    n -= i;
    if (n == 0) { /* paragraph break */
        if (b->in_step) b->para[b->part][b->lang] = 1;
        else b->intro_para[b->lang] = 1;
        return sf_ok();
    }
    if (n >= 2 && s[0] == '%' && s[1] == '%') return sf_ok();
    if (s[0] == '#') {
        size_t h = 0;
        while (h < n && s[h] == '#') h++;
        if (h > 2) return FAIL(b, col_of(b, s), "expected '# ' (the lesson title) or '## ' (a new step)");
        if (h < n && s[h] != ' ' && s[h] != '\t') return FAIL(b, col_of(b, s + h), "expected a space after '%.*s'", (int)h, s);
        const char *t = s + h;
        size_t tn = n - h;
        while (tn && (*t == ' ' || *t == '\t')) { t++; tn--; }
        size_t ml = 0;
        int g = lang_marker(b, t, tn, &ml, &e);
        if (g == -2) return e;
        int is_tr = g >= 0;
        if (g < 0) g = SF_LANG_EN;
        else { t += ml; tn -= ml; while (tn && (*t == ' ' || *t == '\t')) { t++; tn--; } }
        long d = sf_lesson_find_decimal(t, tn);
        if (d >= 0) return typed_number(b, t, tn, d, 1);
        int off = tn ? ls_intern(b, t, tn) : -1;
        if (tn && off < 0) return FAIL(b, 1, "out of memory");
        if (h == 1) {
            if (b->step > 0 || b->in_step) return FAIL(b, col_of(b, s), "the lesson title ('# ') must come before the first step");
            b->title[g] = off;
            return sf_ok();
        }
        if (is_tr && b->in_step && g != SF_LANG_EN) { b->step_title[g] = off; return sf_ok(); }
        if (is_tr && g != SF_LANG_EN) return FAIL(b, col_of(b, s), "a translated heading ('## [%s] ...') must follow the step's own '## ' heading", sf_lang_name(g));
        if (!(e = ls_end_step(b)).ok) return e;
        b->in_step = 1;
        b->step_line = b->line;
        b->step_title[SF_LANG_EN] = off;
        for (int k = 1; k < SF_LANG_COUNT; k++) b->step_title[k] = -1;
        b->lang = SF_LANG_EN;
        b->part = 0;
        return sf_ok();
    }
    if (s[0] == '@') return directive(b, s + 1, n - 1, col_of(b, s));
    if (s[0] == '\\' && n > 1 && (s[1] == '@' || s[1] == '#' || s[1] == '[' || s[1] == '%')) { s++; n--; }
    else {
        size_t ml = 0;
        int g = lang_marker(b, s, n, &ml, &e);
        if (g == -2) return e;
        if (g >= 0) {
            b->lang = g;
            s += ml;
            n -= ml;
            while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
            if (n == 0) return sf_ok();
        }
    }
    if (!(e = prose_scan(b, s, n)).ok) return e;
    if (b->in_step) add_prose(&b->text[b->part][b->lang], &b->para[b->part][b->lang], s, n);
    else add_prose(&b->intro[b->lang], &b->intro_para[b->lang], s, n);
    return sf_ok();
}

/* Checks that buf is UTF-8 without NUL bytes; on failure reports the line and column. */
static sf_err check_utf8(builder *b, const char *buf, size_t len) {
    size_t pos = 0;
    b->line = 1;
    b->line_start = buf;
    while (pos < len) {
        size_t at = pos;
        uint32_t cp;
        if (buf[pos] == 0) return FAIL(b, col_of(b, buf + pos), "unexpected NUL byte: a lesson is UTF-8 text");
        if (!sf_utf8_decode(buf, len, &pos, &cp))
            return FAIL(b, col_of(b, buf + at), "malformed UTF-8 (byte 0x%02X at offset %zu): save the lesson as UTF-8",
                        (unsigned char)buf[at], at);
        if (cp == '\n') { b->line++; b->line_start = buf + pos; }
    }
    return sf_ok();
}

/* ---- finishing ----------------------------------------------------------------------------------- */

/* Returns the public run for an internal one (pointers into the final pool). */
static sf_lesson_run pub_run(const builder *b, const char *pool, const runkey *k) {
    sf_lesson_run r;
    r.model = k->model >= 0 ? pool + k->model : NULL;
    r.input = k->input >= 0 ? pool + k->input : "";
    r.target = k->target >= 0 ? pool + k->target : NULL;
    r.sampler = k->sampler;
    r.seed = k->seed;
    r.max_new = k->max_new ? k->max_new : SF_RUN_UNTIL_EOS; /* `@generate 0` or none: until <eos> */
    r.positions = k->positions;
    r.ablate = k->ablate >= 0 ? pool + k->ablate : NULL;
    r.ablate_mode = k->ablate_mode;
    r.snapshot = k->snapshot;
    (void)b;
    return r;
}

/* Moves the builder's results into the lesson: pool, cells and frames with pointers. */
static sf_err finish(builder *b) {
    sf_lesson *l = b->l;
    if (b->pool.failed) return FAIL(b, 1, "out of memory");
    l->pool = (char *)b->pool.data;
    l->pool_len = b->pool.len;
    b->pool.data = NULL;
    l->cells = b->cells;
    l->n_cells = b->n_cells;
    b->cells = NULL;
    l->frames = calloc((size_t)b->n_frames, sizeof *l->frames);
    if (!l->frames) return FAIL(b, 1, "out of memory");
    l->n_frames = b->n_frames;
    l->n_steps = b->step;
    const char *P = l->pool;
    for (int g = 0; g < SF_LANG_COUNT; g++) l->title[g] = b->title[g] >= 0 ? P + b->title[g] : NULL;
    for (int i = 0; i < b->n_frames; i++) {
        const iframe *f = &b->frames[i];
        sf_lesson_frame *o = &l->frames[i];
        o->step = f->step;
        o->line = f->line;
        for (int g = 0; g < SF_LANG_COUNT; g++) {
            o->title[g] = f->title[g] >= 0 ? P + f->title[g] : NULL;
            for (int p = 0; p < 2; p++) {
                o->text[p][g] = f->text[p][g] >= 0 ? P + f->text[p][g] : NULL;
                o->shown[p][g] = f->shown[p][g] >= 0 ? P + f->shown[p][g] : NULL;
            }
        }
        o->run = pub_run(b, P, &f->run);
        o->compare = f->compare;
        o->cmp = pub_run(b, P, &f->cmp);
        o->cmp_align = f->cmp_align;
        o->show_ids = f->show_ids;
        o->heat_range = f->heat_range;
        o->cursor = f->cursor;
        o->cursor_index = f->cursor_index;
        o->panel = f->panel;
        o->focus_stack = f->fstack; o->focus_sublayer = f->fsub; o->focus_layer = f->flayer; o->focus_head = f->fhead;
        o->hl = f->n_hl ? l->cells + f->hl_first : NULL;
        o->n_hl = f->n_hl;
        o->ask = f->ask;
    }
    return sf_ok();
}

/* Parses and (with o->check_models) checks a lesson; see lesson.h. */
sf_err sf_lesson_parse(const char *buf, size_t len, const char *filename, const sf_lesson_opts *o, sf_lesson *l) {
    memset(l, 0, sizeof *l);
    builder *b = calloc(1, sizeof *b);
    if (!b) return sf_fail("%s: out of memory", filename ? filename : "lesson");
    b->file = filename ? filename : "lesson";
    snprintf(l->file, sizeof l->file, "%s", b->file);
    b->l = l;
    if (o) b->o = *o;
    if (!b->o.check_models) b->o.check_claims = 0;
    /* the folder models are found from */
    const char *slash = strrchr(b->file, '/');
    if (!slash) snprintf(b->dir, sizeof b->dir, ".");
    else if (slash == b->file) snprintf(b->dir, sizeof b->dir, "/");
    else snprintf(b->dir, sizeof b->dir, "%.*s", (int)(slash - b->file), b->file);
    b->st.run = (runkey){-1, -1, -1, {0, 0}, 0, 0, 1, -1, 1, -1};
    b->st.cmp_model = b->st.cmp_input = b->st.cmp_target = b->st.cmp_positions = -1;
    b->st.panel = SF_PANEL_NONE;
    b->st.fstack = b->st.fsub = b->st.flayer = b->st.fhead = -1;
    ls_reset_cursor(b);
    for (int g = 0; g < SF_LANG_COUNT; g++) b->title[g] = b->step_title[g] = -1;
    sf_err e = sf_ok();
    if (len > SF_LESSON_MAX_BYTES) {
        e = sf_fail("%s: the lesson is %zu bytes; at most %zu are read", b->file, len, SF_LESSON_MAX_BYTES);
        goto done;
    }
    if (!buf) len = 0;
    if (len && !(e = check_utf8(b, buf, len)).ok) goto done;
    b->st.run.input = ls_intern(b, "", 0);
    if (b->st.run.input < 0) { e = sf_fail("%s: out of memory", b->file); goto done; }
    size_t pos = 0;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB && (unsigned char)buf[2] == 0xBF) pos = 3;
    b->line = 0;
    while (pos < len || (pos == len && b->line == 0)) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        b->line++;
        b->line_start = buf + pos;
        /* a missing @requires file: the lesson ends where its second step would begin */
        if (b->skipping && b->in_step && end - pos >= 3 && !memcmp(buf + pos, "## ", 3) &&
            !(end - pos >= 8 && !memcmp(buf + pos, "## [zh] ", 8)))
            break;
        if (!(e = line(b, buf + pos, end - pos)).ok) goto done;
        pos = end + 1;
        if (!nl) break;
    }
    if (!(e = ls_end_step(b)).ok) goto done;
    if (b->n_frames == 0) { e = ls_fail_at(b, 1, 1, "expected at least one step (a line starting with '## ')"); goto done; }
    int intro[SF_LANG_COUNT];
    for (int g = 0; g < SF_LANG_COUNT; g++) {
        intro[g] = b->intro[g].len ? ls_intern(b, (const char *)b->intro[g].data, b->intro[g].len) : -1;
        if (b->intro[g].len && intro[g] < 0) { e = FAIL(b, 1, "out of memory"); goto done; }
    }
    e = finish(b);
    if (e.ok)
        for (int g = 0; g < SF_LANG_COUNT; g++) l->intro[g] = intro[g] >= 0 ? l->pool + intro[g] : NULL;
done:
    for (int i = 0; i < RUN_CACHE; i++) ls_run_free(b->runs[i]);
    for (int i = 0; i < b->n_models; i++) sf_model_free(&b->models[i].m);
    for (int p = 0; p < 2; p++)
        for (int g = 0; g < SF_LANG_COUNT; g++) sf_buf_free(&b->text[p][g]);
    for (int g = 0; g < SF_LANG_COUNT; g++) sf_buf_free(&b->intro[g]);
    sf_buf_free(&b->pool);
    free(b->frames);
    free(b->cells);
    free(b);
    if (!e.ok) {
        int line = l->err_line, col = l->err_col;
        sf_lesson_free(l);
        l->err_line = line;
        l->err_col = col;
    }
    return e;
}

/* Reads a lesson file and parses it. */
sf_err sf_lesson_load(const char *path, const sf_lesson_opts *o, sf_lesson *l) {
    unsigned char *data = NULL;
    size_t len = 0;
    memset(l, 0, sizeof *l);
    sf_err e = sf_read_file(path, SF_LESSON_MAX_BYTES, &data, &len);
    if (!e.ok) return e;
    e = sf_lesson_parse((const char *)data, len, path, o, l);
    free(data);
    return e;
}

int sf_lesson_sniff(const char *buf, size_t len) {
    int fence = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && buf[e] != '\n') e++;
        const char *ln = buf + i;
        size_t n = e - i;
        if (n >= 3 && !memcmp(ln, "```", 3)) fence = !fence;
        else if (!fence && n >= 1 && ln[0] == '@') return 1; /* (even a garbled one: "@\x1b[2J…" is a broken lesson) */
        else if (!fence && ((n >= 7 && !memcmp(ln, "# [zh] ", 7)) || (n >= 8 && !memcmp(ln, "## [zh] ", 8)))) return 1;
        i = e + 1;
    }
    return 0;
}

int sf_lesson_file_sniff(const char *path) {
    unsigned char *data = NULL;
    size_t len = 0;
    sf_err e = sf_read_file(path, SF_LESSON_MAX_BYTES, &data, &len);
    if (!e.ok) return -1;
    int r = sf_lesson_sniff((const char *)data, len);
    free(data);
    return r;
}

/* Frees a lesson, keeping only its file name. */
void sf_lesson_free(sf_lesson *l) {
    if (!l) return;
    free(l->frames);
    free(l->cells);
    free(l->pool);
    char file[sizeof l->file];
    memcpy(file, l->file, sizeof file);
    memset(l, 0, sizeof *l);
    memcpy(l->file, file, sizeof file);
}

/* Returns a frame's title in lang, falling back to English. */
const char *sf_lesson_title(const sf_lesson *l, int frame, int lang) {
    if (!l || frame < 0 || frame >= l->n_frames) return "";
    const sf_lesson_frame *f = &l->frames[frame];
    if (lang >= 0 && lang < SF_LANG_COUNT && f->title[lang]) return f->title[lang];
    return f->title[SF_LANG_EN] ? f->title[SF_LANG_EN] : "";
}

/* Returns part of a frame's narration in lang as shown (quotes filled when the models were run). */
const char *sf_lesson_shown(const sf_lesson *l, int frame, int part, int lang) {
    if (!l || frame < 0 || frame >= l->n_frames || part < 0 || part > 1) return "";
    const sf_lesson_frame *f = &l->frames[frame];
    if (lang >= 0 && lang < SF_LANG_COUNT && f->text[part][lang]) return f->shown[part][lang] ? f->shown[part][lang] : f->text[part][lang];
    if (f->text[part][SF_LANG_EN]) return f->shown[part][SF_LANG_EN] ? f->shown[part][SF_LANG_EN] : f->text[part][SF_LANG_EN];
    return "";
}

/* Returns part of a frame's narration in lang, falling back to English. */
const char *sf_lesson_text(const sf_lesson *l, int frame, int part, int lang) {
    if (!l || frame < 0 || frame >= l->n_frames || part < 0 || part > 1) return "";
    const sf_lesson_frame *f = &l->frames[frame];
    if (lang >= 0 && lang < SF_LANG_COUNT && f->text[part][lang]) return f->text[part][lang];
    return f->text[part][SF_LANG_EN] ? f->text[part][SF_LANG_EN] : "";
}
