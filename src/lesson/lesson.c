/* lesson.c - the lesson parser: reads a lesson line by line, replays its directives into a state, and
 * snapshots that state into a frame at the end of every step (and at every @reveal). With models loaded,
 * every directive is checked against the model it will run on, so mistakes surface in `--check`. */
#include "lesson.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/io.h"
#include "../model/checkpoint.h"
#include "../model/run.h"
#include "../model/tokenizer.h"
#include "../model/trace.h"

#define MAX_WORDS 24
#define RUN_CACHE 4

/* ---- internal records -------------------------------------------------------------------------- */

typedef struct {       /* a run as string offsets into the pool (-1 = none) */
    int model, input, target;
    sf_sampler sampler;
    unsigned long long seed;
    int max_new, positions;
} runkey;

typedef struct {       /* where a run's settings were written, for messages */
    int model_line, model_col;
    int input_line, input_col, input_quoted;
    int target_line, target_col, target_quoted;
} runloc;

typedef struct {
    int path;          /* pool offset of the resolved path */
    sf_model m;
} modrec;

typedef struct {
    runkey key;
    unsigned long stamp;   /* last use, for eviction */
    sf_model var;          /* shallow copy of the cached model, positions possibly switched off */
    sf_seq seq;
    sf_trace tr;
    sf_schedule sch;
    int n_prompt;
} runrec;

typedef struct {       /* a frame as offsets, before the pool stops growing */
    int step, line;
    int title[SF_LANG_COUNT];
    int text[2][SF_LANG_COUNT];
    runkey run, cmp;
    int compare;
    sf_cursor cursor;
    int cursor_index;
    int panel, fstack, fsub, flayer, fhead;
    int hl_first, n_hl;
    sf_lesson_ask ask;
} iframe;

typedef struct {       /* the replayed state of the lesson */
    runkey run;
    runloc loc;
    int compare;
    int cmp_model, cmp_input, cmp_target, cmp_positions; /* overrides; -1 = as the main run, -2 target none */
    runloc cmploc;
    sf_cursor cursor;
    int cursor_index;
    int panel, fstack, fsub, flayer, fhead;
} state;

typedef struct {
    const char *p;     /* first byte */
    size_t n;          /* bytes */
    int col;           /* 1-based column in characters */
} word;

typedef struct {
    const char *file;
    char dir[1024];
    sf_lesson_opts o;
    sf_lesson *l;
    sf_buf pool;
    iframe *frames;
    int n_frames, cap_frames;
    sf_lesson_cells *cells;
    int n_cells, cap_cells;
    state st;
    /* the current step */
    int in_step, step, step_line;
    int step_title[SF_LANG_COUNT];
    sf_buf text[2][SF_LANG_COUNT];
    int para[2][SF_LANG_COUNT];   /* a blank line is pending before the next prose line */
    int lang, part;
    sf_lesson_cells hl[SF_LESSON_MAX_HIGHLIGHTS];
    int hl_line[SF_LESSON_MAX_HIGHLIGHTS], hl_col[SF_LESSON_MAX_HIGHLIGHTS], hl_row[SF_LESSON_MAX_HIGHLIGHTS];
    int n_hl;
    sf_lesson_ask ask;
    int ask_line, ask_col, ask_row;
    iframe ask_frame;     /* the asking frame, when a step has no @reveal */
    /* the lesson */
    int title[SF_LANG_COUNT];
    sf_buf intro[SF_LANG_COUNT];
    int intro_para[SF_LANG_COUNT];
    /* models and runs */
    modrec models[SF_LESSON_MAX_MODELS];
    int n_models;
    runrec *runs[RUN_CACHE];
    int n_runs_made;
    unsigned long clock;
    /* position */
    int line;
    const char *line_start;
} builder;

/* ---- small helpers ------------------------------------------------------------------------------- */

/* Returns the 1-based character column of byte p on the current line. */
static int col_of(const builder *b, const char *p) {
    int col = 1;
    for (const char *q = b->line_start; q < p; q++)
        if (((unsigned char)*q & 0xC0) != 0x80) col++;
    return col;
}

/* Returns a failure "file:line:col: msg" and records line and column in the lesson. */
static sf_err fail_at(builder *b, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static sf_err fail_at(builder *b, int line, int col, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->l->err_line = line;
    b->l->err_col = col;
    return sf_fail("%s:%d:%d: %s", b->file, line, col, msg);
}

#define FAIL(b, col, ...) fail_at((b), (b)->line, (col), __VA_ARGS__)

/* Returns 1 if word w is exactly the string s. */
static int weq(word w, const char *s) { return strlen(s) == w.n && memcmp(w.p, s, w.n) == 0; }

/* Copies a word into a NUL-terminated buffer (truncating); returns out. */
static char *wstr(word w, char *out, size_t size) {
    size_t n = w.n < size - 1 ? w.n : size - 1;
    memcpy(out, w.p, n);
    out[n] = 0;
    return out;
}

/* Parses a whole non-negative decimal integer (at most 9 digits) from p(n); returns 1 on success. */
static int parse_uint(const char *p, size_t n, int *out) {
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
static int parse_float(word w, float *out) {
    char tmp[32], *end;
    if (w.n == 0 || w.n >= sizeof tmp) return 0;
    wstr(w, tmp, sizeof tmp);
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v)) return 0;
    *out = (float)v;
    return 1;
}

/* Appends a NUL-terminated copy of p(n) to the pool; returns its offset or -1 when memory is short. */
static int intern(builder *b, const char *p, size_t n) {
    if (b->pool.len + n + 1 > (size_t)INT32_MAX) return -1;
    int off = (int)b->pool.len;
    if (n) sf_buf_put(&b->pool, p, n); /* (sf_buf_put would memcpy to NULL for an empty first put) */
    sf_buf_u8(&b->pool, 0);
    return b->pool.failed ? -1 : off;
}

/* Returns the pool string at offset off, or NULL for -1. */
static const char *pstr(const builder *b, int off) { return off < 0 ? NULL : (const char *)b->pool.data + off; }

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
static int intern_text(builder *b, word w) {
    if (w.n >= 2 && w.p[0] == '"') {
        char *tmp = malloc(w.n);
        if (!tmp) return -1;
        size_t k = 0;
        for (size_t i = 1; i + 1 < w.n; i++) {
            if (w.p[i] == '\\' && i + 2 < w.n) i++;
            tmp[k++] = w.p[i];
        }
        int off = intern(b, tmp, k);
        free(tmp);
        return off;
    }
    return intern(b, w.p, w.n);
}

/* Reads the rest of a directive line as one text argument (quoted, or verbatim and trimmed). */
static sf_err rest_text(builder *b, const char *s, size_t n, const char *what, int *off, int *col, int *quoted) {
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
    *off = intern_text(b, w);
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
                                                       "positions", "activations", "output"};

/* Returns the name of a panel, or "?". */
const char *sf_panel_name(int panel) { return panel >= 0 && panel < SF_PANEL_COUNT ? panel_names[panel] : "?"; }

/* Returns the panel with that name, or SF_PANEL_NONE. */
int sf_panel_parse(const char *s) {
    for (int i = 1; i < SF_PANEL_COUNT; i++)
        if (strcmp(s, panel_names[i]) == 0) return i;
    return SF_PANEL_NONE;
}

/* ---- models and runs ----------------------------------------------------------------------------- */

/* Returns 1 if a file can be opened for reading (asked without opening it: a FIFO must not block). */
static int file_exists(const char *path) { return sf_file_exists(path); }

/* Resolves a model path: absolute as is; else against the lesson's folder and its parents, then the
 * current folder. Writes the first existing candidate (or the first candidate) into out. */
static void resolve_path(const builder *b, const char *rel, char *out, size_t size) {
    char cand[2048];
    if (b->o.model_dir) {
        const char *base = strrchr(rel, '/');
        snprintf(cand, sizeof cand, "%s/%s", b->o.model_dir, base ? base + 1 : rel);
        if (file_exists(cand)) { snprintf(out, size, "%s", cand); return; }
    }
    if (rel[0] == '/') { snprintf(out, size, "%s", rel); return; }
    for (int up = 0; up <= 6; up++) {
        char ups[32] = "";
        for (int i = 0; i < up; i++) strcat(ups, "../");
        if (strcmp(b->dir, ".") == 0) snprintf(cand, sizeof cand, "%s%s", ups, rel);
        else snprintf(cand, sizeof cand, "%s/%s%s", b->dir, ups, rel);
        if (file_exists(cand)) { snprintf(out, size, "%s", cand); return; }
    }
    if (file_exists(rel)) { snprintf(out, size, "%s", rel); return; }
    if (strcmp(b->dir, ".") == 0) snprintf(out, size, "%s", rel);
    else snprintf(out, size, "%s/%s", b->dir, rel);
}

/* Loads (once) the model at pool offset path; on failure the error points at (line, col). */
static sf_err get_model(builder *b, int path, int line, int col, const sf_model **out) {
    const char *p = pstr(b, path);
    for (int i = 0; i < b->n_models; i++)
        if (strcmp(pstr(b, b->models[i].path), p) == 0) { *out = &b->models[i].m; return sf_ok(); }
    if (b->n_models == SF_LESSON_MAX_MODELS)
        return fail_at(b, line, col, "too many different models in one lesson (at most %d)", SF_LESSON_MAX_MODELS);
    if (!file_exists(p)) return fail_at(b, line, col, "missing model file '%s'", p);
    modrec *r = &b->models[b->n_models];
    sf_err e = sf_checkpoint_load(p, &r->m);
    if (!e.ok) return fail_at(b, line, col, "cannot load model: %s", e.msg);
    r->path = path;
    b->n_models++;
    *out = &r->m;
    return sf_ok();
}

/* Frees a run and everything it holds (NULL is fine). */
static void run_free(runrec *r) {
    if (!r) return;
    sf_trace_free(&r->tr);
    sf_schedule_free(&r->sch);
    sf_seq_free(&r->seq);
    free(r);
}

/* Returns 1 if two runs are the same. */
static int runkey_eq(const builder *b, const runkey *x, const runkey *y) {
    const char *ti = pstr(b, x->target), *tj = pstr(b, y->target);
    return strcmp(pstr(b, x->model), pstr(b, y->model)) == 0 && strcmp(pstr(b, x->input), pstr(b, y->input)) == 0 &&
           ((!ti && !tj) || (ti && tj && strcmp(ti, tj) == 0)) && x->sampler.temperature == y->sampler.temperature &&
           x->sampler.top_k == y->sampler.top_k && x->seed == y->seed && x->max_new == y->max_new &&
           x->positions == y->positions;
}

/* Checks that every character of text is in the model's alphabet; errors point at the character. */
static sf_err check_chars(builder *b, const sf_model *m, const char *text, int line, int col, int quoted,
                          const char *what) {
    size_t pos = 0, len = strlen(text);
    int idx = 0;
    while (pos < len) {
        size_t at = pos;
        uint32_t cp;
        if (!sf_utf8_decode(text, len, &pos, &cp)) return fail_at(b, line, col + quoted + idx, "malformed UTF-8 in %s", what);
        int found = 0;
        for (int i = 0; i < m->tok.n_chars && !found; i++) found = m->tok.chars[i] == cp;
        if (!found) {
            char ch[8] = "";
            memcpy(ch, text + at, pos - at < 7 ? pos - at : 7);
            size_t alen;
            char *alpha = sf_tokenizer_alphabet(&m->tok, &alen);
            sf_err e = fail_at(b, line, col + quoted + idx, "%s: '%s' is not in the model's alphabet \"%.200s\"", what, ch,
                               alpha ? alpha : "?");
            free(alpha);
            return e;
        }
        idx++;
    }
    return sf_ok();
}

/* Returns the run for key (making it if needed, evicting the least recently used); errors point at loc. */
static sf_err get_run(builder *b, const runkey *key, const runloc *where, runrec **out) {
    runloc fixed = *where, *loc = &fixed; /* settings never written are blamed on the line that needs them */
    if (!loc->input_line) { loc->input_line = b->line; loc->input_col = 1; }
    if (!loc->model_line) { loc->model_line = b->line; loc->model_col = 1; }
    if (!loc->target_line) { loc->target_line = b->line; loc->target_col = 1; }
    b->clock++;
    for (int i = 0; i < RUN_CACHE; i++)
        if (b->runs[i] && runkey_eq(b, &b->runs[i]->key, key)) {
            b->runs[i]->stamp = b->clock;
            *out = b->runs[i];
            return sf_ok();
        }
    if (key->model < 0) return FAIL(b, 1, "no model loaded yet: add '@model PATH' before this line");
    const sf_model *m;
    sf_err e = get_model(b, key->model, loc->model_line, loc->model_col, &m);
    if (!e.ok) return e;
    if (++b->n_runs_made > SF_LESSON_MAX_RUNS)
        return FAIL(b, 1, "too many different runs in one lesson (at most %d)", SF_LESSON_MAX_RUNS);
    const char *input = pstr(b, key->input), *target = pstr(b, key->target);
    if (!(e = check_chars(b, m, input, loc->input_line, loc->input_col, loc->input_quoted, "input")).ok) return e;
    if (target && !(e = check_chars(b, m, target, loc->target_line, loc->target_col, loc->target_quoted, "target")).ok)
        return e;
    int n_in = 0, n_tg = 0;
    for (const char *p = input; *p; p++) n_in += ((unsigned char)*p & 0xC0) != 0x80;
    for (const char *p = target ? target : ""; *p; p++) n_tg += ((unsigned char)*p & 0xC0) != 0x80;
    int L = m->cfg.max_len;
    if (m->cfg.family == SF_FAMILY_ENCDEC && n_in == 0)
        return fail_at(b, loc->input_line, loc->input_col, "the input is empty; the encoder needs at least one character "
                                                           "(add '@input TEXT')");
    if (m->cfg.family == SF_FAMILY_ENCDEC ? n_in > L : 1 + n_in > L)
        return fail_at(b, loc->input_line, loc->input_col, "input is %d characters; the model takes at most %d", n_in,
                       m->cfg.family == SF_FAMILY_ENCDEC ? L : L - 1);
    if ((m->cfg.family == SF_FAMILY_ENCDEC ? 1 : 1 + n_in) + n_tg > L)
        return fail_at(b, loc->target_line, loc->target_col, "target is too long for the model (%d positions)", L);
    runrec *r = calloc(1, sizeof *r);
    if (!r) return FAIL(b, 1, "out of memory");
    r->key = *key;
    r->var = *m;
    if (!key->positions) r->var.cfg.pos = SF_POS_NONE;
    if (!(e = sf_seq_build(&r->seq, &r->var.cfg)).ok) { free(r); return FAIL(b, 1, "%s", e.msg); }
    sf_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.input = input;
    ro.target = target;
    ro.max_new = key->max_new;
    ro.sampler = key->sampler;
    ro.seed = key->seed;
    e = sf_run(&r->var, &r->seq, &ro, &r->n_prompt);
    if (e.ok) e = sf_trace_build(&r->tr, &r->var, &r->seq);
    if (e.ok) e = sf_schedule_build(&r->sch, &r->var.cfg, r->seq.n_src, r->seq.n_tgt);
    if (!e.ok || r->sch.n == 0) {
        run_free(r);
        return fail_at(b, loc->input_line, loc->input_col, "running the model failed: %s", e.ok ? "no steps" : e.msg);
    }
    int slot = 0;
    for (int i = 0; i < RUN_CACHE; i++) {
        if (!b->runs[i]) { slot = i; break; }
        if (b->runs[i]->stamp < b->runs[slot]->stamp) slot = i;
    }
    run_free(b->runs[slot]);
    r->stamp = b->clock;
    b->runs[slot] = r;
    *out = r;
    return sf_ok();
}

/* Returns the key and locations of the compare run (main run with overrides). */
static void cmp_key(const builder *b, runkey *k, runloc *loc) {
    *k = b->st.run;
    *loc = b->st.loc;
    if (b->st.cmp_model >= 0) { k->model = b->st.cmp_model; loc->model_line = b->st.cmploc.model_line; loc->model_col = b->st.cmploc.model_col; }
    if (b->st.cmp_input >= 0) {
        k->input = b->st.cmp_input;
        loc->input_line = b->st.cmploc.input_line; loc->input_col = b->st.cmploc.input_col; loc->input_quoted = b->st.cmploc.input_quoted;
    }
    if (b->st.cmp_target >= 0 || b->st.cmp_target == -2) {
        k->target = b->st.cmp_target >= 0 ? b->st.cmp_target : -1;
        loc->target_line = b->st.cmploc.target_line; loc->target_col = b->st.cmploc.target_col; loc->target_quoted = b->st.cmploc.target_quoted;
    }
    if (b->st.cmp_positions >= 0) k->positions = b->st.cmp_positions;
}

/* Returns the main run (or NULL in syntax-only mode). */
static sf_err main_run(builder *b, runrec **r) {
    *r = NULL;
    if (!b->o.check_models) return sf_ok();
    return get_run(b, &b->st.run, &b->st.loc, r);
}

/* ---- trace entry names and cell selections ------------------------------------------------------- */

/* Resolves an entry name (with the aliases {enc,dec}.out and *.{self,cross,ffn}.out) against a run,
 * giving errors that name the part that is wrong. Writes the canonical name to out. */
static sf_err resolve_entry(builder *b, const runrec *r, word w, char out[40], const sf_trace_entry **entry) {
    char name[64];
    *entry = NULL;
    if (w.n == 0 || w.n >= sizeof name) return FAIL(b, w.col, "expected a trace entry name such as dec.L1.cross.H0.probs");
    wstr(w, name, sizeof name);
    for (size_t i = 0; i < w.n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
            return FAIL(b, w.col + (int)i, "expected a trace entry name such as dec.L1.cross.H0.probs");
    }
    if (strncmp(name, "enc.", 4) && strncmp(name, "dec.", 4))
        return FAIL(b, w.col, "expected a trace entry name starting with 'enc.' or 'dec.' (e.g. dec.L1.cross.H0.probs)");
    if (!r) { snprintf(out, 40, "%.39s", name); return sf_ok(); }
    const sf_config *c = &r->var.cfg;
    int enc = name[0] == 'e';
    int n_layers = enc ? c->n_enc_layers : c->n_dec_layers;
    if (enc && c->family != SF_FAMILY_ENCDEC)
        return FAIL(b, w.col, "this model (%s) has no encoder; use 'dec.' entries", sf_family_name(c->family));
    /* split into parts with their offsets */
    int starts[8], np = 0;
    starts[np++] = 0;
    for (int i = 0; name[i] && np < 8; i++)
        if (name[i] == '.') { name[i] = 0; starts[np++] = i + 1; }
    char canon[64];
    if (np >= 2 && name[starts[1]] == 'L') {
        int layer;
        const char *lp = name + starts[1] + 1;
        if (!parse_uint(lp, strlen(lp), &layer)) return FAIL(b, w.col + starts[1], "expected a layer such as L0");
        if (layer >= n_layers)
            return FAIL(b, w.col + starts[1], "layer L%d out of range: the %s has %d layers (L0-L%d)", layer,
                        enc ? "encoder" : "decoder", n_layers, n_layers - 1);
        if (np >= 3) {
            const char *sub = name + starts[2];
            if (strcmp(sub, "cross") == 0 && (enc || c->family != SF_FAMILY_ENCDEC))
                return FAIL(b, w.col + starts[2], "no cross-attention here: only an encoder-decoder's decoder has it");
            if (strcmp(sub, "self") && strcmp(sub, "cross") && strcmp(sub, "ffn"))
                return FAIL(b, w.col + starts[2], "expected self, cross or ffn after L%d", layer);
            if (np >= 4 && name[starts[3]] == 'H' && name[starts[3] + 1] >= '0' && name[starts[3] + 1] <= '9') {
                int head;
                const char *hp = name + starts[3] + 1;
                if (!parse_uint(hp, strlen(hp), &head)) return FAIL(b, w.col + starts[3], "expected a head such as H0");
                if (head >= c->n_heads)
                    return FAIL(b, w.col + starts[3], "head H%d out of range: the model has %d heads (H0-H%d)", head,
                                c->n_heads, c->n_heads - 1);
            }
            if (np == 4 && strcmp(name + starts[3], "out") == 0) {
                snprintf(canon, sizeof canon, "%s.L%d.%s.%s", enc ? "enc" : "dec", layer, sub,
                         c->norm == SF_NORM_POST ? "norm" : "resid");
                goto found;
            }
        }
    } else if (np == 2 && strcmp(name + starts[1], "out") == 0) {
        if (c->norm == SF_NORM_PRE) snprintf(canon, sizeof canon, "%s.ln_f", enc ? "enc" : "dec");
        else snprintf(canon, sizeof canon, "%s.L%d.ffn.norm", enc ? "enc" : "dec", n_layers - 1);
        goto found;
    }
    wstr(w, canon, sizeof canon);
found:
    *entry = sf_trace_find(&r->tr, canon);
    if (!*entry)
        return FAIL(b, w.col, "no trace entry '%s' in this model (names look like enc.L0.self.H1.probs, dec.L1.ffn.hidden, "
                              "dec.probs; see docs/lesson-format.md)", canon);
    snprintf(out, 40, "%.39s", canon);
    return sf_ok();
}

/* Returns the axis (0 or 1) named by s for an entry, or -1. Accepts row/col, the axis name, or a prefix. */
static int axis_of(const sf_trace_entry *e, const char *s) {
    if (strcmp(s, "row") == 0) return 0;
    if (strcmp(s, "col") == 0) return 1;
    if (!e) { /* syntax-only: the usual first-axis names */
        return (!strcmp(s, "q") || !strcmp(s, "query") || !strcmp(s, "pos") || !strcmp(s, "position")) ? 0 : 1;
    }
    int hit = -1;
    for (int a = 0; a < e->rank; a++)
        if (strncmp(e->axis[a], s, strlen(s)) == 0) {
            if (hit >= 0 && strcmp(e->axis[a], s) != 0) return -1;
            hit = a;
        }
    return hit;
}

/* Parses NAME followed by axis=N or axis=N..M selectors from w[*i], advancing *i past them. */
static sf_err parse_cells(builder *b, const runrec *r, const word *w, int nw, int *i, sf_lesson_cells *out,
                          const sf_trace_entry **entry) {
    memset(out, 0, sizeof *out);
    out->lo[0] = out->lo[1] = 0;
    out->hi[0] = out->hi[1] = -1;
    if (*i >= nw) return FAIL(b, nw ? w[nw - 1].col + (int)w[nw - 1].n : 1, "expected a trace entry name such as dec.L1.cross.H0.probs");
    sf_err e = resolve_entry(b, r, w[*i], out->name, entry);
    if (!e.ok) return e;
    const sf_trace_entry *en = *entry;
    int dims[SF_TRACE_MAX_RANK] = {0, 0};
    if (en) out->rank = sf_trace_shape(&r->tr, en, dims);
    (*i)++;
    int seen[2] = {0, 0};
    while (*i < nw && memchr(w[*i].p, '=', w[*i].n)) {
        word s = w[*i];
        const char *eq = memchr(s.p, '=', s.n);
        char ax[24];
        word axw = {s.p, (size_t)(eq - s.p), s.col};
        wstr(axw, ax, sizeof ax);
        int a = axis_of(en, ax);
        if (a < 0 || (en && a >= en->rank)) {
            if (en && en->rank == 2)
                return FAIL(b, s.col, "unknown axis '%s' for %s: expected %s= or %s=", ax, out->name, en->axis[0], en->axis[1]);
            return FAIL(b, s.col, "unknown axis '%s'", ax);
        }
        if (seen[a]) return FAIL(b, s.col, "axis '%s' given twice", ax);
        seen[a] = 1;
        const char *v = eq + 1, *end = s.p + s.n, *dots = NULL;
        for (const char *p = v; p + 1 < end; p++) if (p[0] == '.' && p[1] == '.') { dots = p; break; }
        int lo, hi, vcol = s.col + (int)(v - s.p);
        if (dots) {
            if (!parse_uint(v, (size_t)(dots - v), &lo) || !parse_uint(dots + 2, (size_t)(end - dots - 2), &hi) || hi < lo)
                return FAIL(b, vcol, "expected an index N or a range N..M with N <= M");
        } else {
            if (!parse_uint(v, (size_t)(end - v), &lo)) return FAIL(b, vcol, "expected an index N or a range N..M");
            hi = lo;
        }
        if (en && hi >= dims[a])
            return FAIL(b, vcol, "%s=%d is past the end: %s has %d along '%s' (0-%d) in this run", ax, hi, out->name,
                        dims[a], en->axis[a], dims[a] - 1);
        out->lo[a] = lo;
        out->hi[a] = hi;
        (*i)++;
    }
    return sf_ok();
}

/* Returns the first schedule step that computes row `row` (-1 any) of entry e, or -1 if none does. */
static int step_of(const sf_schedule *s, const sf_trace_entry *e, int row) {
    if (strcmp(e->axis[0], "key") == 0) row = -1; /* keys and values: computed all at once */
    for (int i = 0; i < s->n; i++) {
        sf_cursor c = s->steps[i];
        if (c.phase != e->stack || c.layer != e->layer || c.sublayer != e->sublayer) continue;
        if (row >= 0 && c.token != row && c.token != -1) continue;
        if (e->op == SF_OP_IN || c.op == e->op) return i;
    }
    return -1;
}

/* Checks that row `row` of entry `name` is on screen at the run's cursor; errors point at (line, col). */
static sf_err check_computed(builder *b, const runrec *r, int cursor_index, const char *name, int row, int line,
                             int col, const char *what) {
    const sf_trace_entry *e = sf_trace_find(&r->tr, name);
    if (!e) return sf_ok();
    int i = step_of(&r->sch, e, row);
    if (i < 0 || i <= cursor_index) return sf_ok();
    char now[64], then[64], rowtxt[24] = "";
    sf_cursor_describe(r->sch.steps[cursor_index], now, sizeof now);
    sf_cursor_describe(r->sch.steps[i], then, sizeof then);
    if (row >= 0) snprintf(rowtxt, sizeof rowtxt, " row %d", row);
    return fail_at(b, line, col, "%s is not on screen yet: the cursor is at '%s' but %s%s is computed at '%s' "
                                 "(add '@goto %s' first)", what, now, name, rowtxt, then, then);
}

/* Returns the printable label of index idx along axis a of an entry in a run ("'e' (key 4)"). */
static void axis_label(const runrec *r, const sf_trace_entry *e, int a, int idx, char *out, size_t size) {
    const char *ax = e->axis[a];
    const int *ids = NULL;
    char piece[16];
    if (strcmp(ax, "vocab") == 0) {
        snprintf(out, size, "'%s' (token id %d)", sf_tokenizer_piece(&r->var.tok, idx, piece), idx);
        return;
    }
    if (strcmp(ax, "key") == 0) ids = (e->stack == SF_STACK_ENC || e->sublayer == SF_SUB_CROSS) ? r->seq.enc.ids : r->seq.dec.ids;
    else if (strcmp(ax, "query") == 0 || strcmp(ax, "position") == 0) ids = e->stack == SF_STACK_ENC ? r->seq.enc.ids : r->seq.dec.ids;
    if (ids) snprintf(out, size, "'%s' (%s %d)", sf_tokenizer_piece(&r->var.tok, ids[idx], piece), ax, idx);
    else snprintf(out, size, "%s %d", ax, idx);
}

/* Returns the index of the largest value along axis `free` of entry e with the other axis fixed at `fixed`. */
static int argmax_along(const sf_trace *tr, const sf_trace_entry *e, int free_axis, int fixed) {
    int dims[SF_TRACE_MAX_RANK];
    if (sf_trace_shape(tr, e, dims) != 2 || free_axis < 0 || free_axis > 1) return -1;
    if (fixed < 0 || fixed >= dims[1 - free_axis] || dims[free_axis] == 0) return -1;
    int best = 0;
    float bv = -INFINITY;
    for (int j = 0; j < dims[free_axis]; j++) {
        int idx[2];
        idx[free_axis] = j;
        idx[1 - free_axis] = fixed;
        float v = sf_trace_get(tr, e, idx);
        if (v > bv) { bv = v; best = j; }
    }
    return best;
}

/* Returns the index of the largest value along the question's free axis in tr, or -1. */
int sf_lesson_ask_answer(const sf_trace *tr, const sf_lesson_ask *a) {
    if (!tr || !a || a->state == 0) return -1;
    const sf_trace_entry *e = sf_trace_find(tr, a->at.name);
    if (!e || e->rank != 2) return -1;
    return argmax_along(tr, e, a->free_axis, a->at.lo[1 - a->free_axis]);
}

/* Parses `axis=N` or "text" naming one index along the free axis; on success *idx is that index. */
static sf_err parse_expected(builder *b, const runrec *r, const sf_trace_entry *e, int free_axis, int answer, word w,
                             int *idx) {
    *idx = -1;
    if (!r) return sf_ok();
    int dims[2];
    sf_trace_shape(&r->tr, e, dims);
    if (w.n >= 2 && w.p[0] == '"') { /* the text at that index: the answer if its text matches, else the first match */
        char want[40], piece[48], lab[64];
        word in = {w.p + 1, w.n - 2, w.col};
        wstr(in, want, sizeof want);
        snprintf(piece, sizeof piece, "'%s' ", want);
        for (int j = 0; j < dims[free_axis]; j++) {
            axis_label(r, e, free_axis, j, lab, sizeof lab);
            if (strncmp(lab, piece, strlen(piece)) == 0 && (*idx < 0 || j == answer)) *idx = j;
        }
        if (*idx < 0) return FAIL(b, w.col, "\"%s\" is not one of the %ss of %s", want, e->axis[free_axis], e->name);
        return sf_ok();
    }
    const char *eq = memchr(w.p, '=', w.n);
    char ax[24];
    if (!eq) return FAIL(b, w.col, "expected %s=N or a quoted token such as \"e\"", e->axis[free_axis]);
    word axw = {w.p, (size_t)(eq - w.p), w.col};
    wstr(axw, ax, sizeof ax);
    if (axis_of(e, ax) != free_axis) return FAIL(b, w.col, "expected %s=N (the axis the answer runs along)", e->axis[free_axis]);
    int v;
    if (!parse_uint(eq + 1, (size_t)(w.p + w.n - eq - 1), &v) || v >= dims[free_axis])
        return FAIL(b, w.col + (int)(eq + 1 - w.p), "expected an index from 0 to %d", dims[free_axis] - 1);
    *idx = v;
    return sf_ok();
}

/* Checks that a selection has one axis fixed to a single index and the other whole; returns the free axis. */
static sf_err fixed_row(builder *b, const sf_lesson_cells *c, int col, int *free_axis) {
    int single0 = c->hi[0] >= 0 && c->lo[0] == c->hi[0], single1 = c->hi[1] >= 0 && c->lo[1] == c->hi[1];
    int whole0 = c->hi[0] < 0, whole1 = c->hi[1] < 0;
    if (c->rank == 1) return FAIL(b, col, "expected an entry with two axes (e.g. attention weights)");
    if (single0 && whole1) *free_axis = 1;
    else if (single1 && whole0) *free_axis = 0;
    else return FAIL(b, col, "expected exactly one fixed index (e.g. q=3): the learner picks along the other axis");
    return sf_ok();
}

/* ---- narration ----------------------------------------------------------------------------------- */

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

/* ---- frames -------------------------------------------------------------------------------------- */

/* Interns the narration of part `part` in both languages; offsets -1 when empty. */
static sf_err intern_part(builder *b, int part, int out[SF_LANG_COUNT]) {
    for (int g = 0; g < SF_LANG_COUNT; g++) {
        sf_buf *t = &b->text[part][g];
        if (t->failed) return FAIL(b, 1, "out of memory");
        out[g] = t->len ? intern(b, (const char *)t->data, t->len) : -1;
        if (t->len && out[g] < 0) return FAIL(b, 1, "out of memory");
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
    cmp_key(b, &f->cmp, &dummy);
    f->compare = b->st.compare;
    f->cursor = b->st.cursor;
    f->cursor_index = b->st.cursor_index;
    f->panel = b->st.panel;
    f->fstack = b->st.fstack; f->fsub = b->st.fsub; f->flayer = b->st.flayer; f->fhead = b->st.fhead;
    f->ask = b->ask;
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

static sf_err settle_cursor(builder *b, runrec **out);

/* Checks what can only be checked once the step's directives are all read: highlighted rows and the
 * revealed answer are on screen at the final cursor, and the cursor exists in the compare run too. */
static sf_err check_frame(builder *b, int revealing) {
    if (!b->o.check_models) return sf_ok();
    runrec *r;
    sf_err e = settle_cursor(b, &r); /* a frame always stands on a step of its run */
    if (!e.ok) return e;
    for (int i = 0; i < b->n_hl; i++)
        if (!(e = check_computed(b, r, b->st.cursor_index, b->hl[i].name, b->hl_row[i], b->hl_line[i], b->hl_col[i],
                                 "this highlight")).ok)
            return e;
    if (revealing && b->ask.state)
        if (!(e = check_computed(b, r, b->st.cursor_index, b->ask.at.name, b->ask_row, b->ask_line, b->ask_col,
                                 "the answer to this question")).ok)
            return e;
    if (b->st.compare) {
        runkey k;
        runloc loc;
        cmp_key(b, &k, &loc);
        runrec *rc;
        if (!(e = get_run(b, &k, &loc, &rc)).ok) return e;
        if (sf_schedule_index(&rc->sch, b->st.cursor) < 0) {
            char d[64];
            sf_cursor_describe(b->st.cursor, d, sizeof d);
            return fail_at(b, b->step_line, 1, "the compared run has no step '%s' (its input or model differs too much)", d);
        }
    }
    return sf_ok();
}

/* Ends the current step: emits its frame (or its reveal frame) and clears per-step state. */
static sf_err end_step(builder *b) {
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
    memset(&b->ask, 0, sizeof b->ask);
    b->in_step = 0;
    b->step++;
    return sf_ok();
}

/* ---- directives ---------------------------------------------------------------------------------- */

/* Moves the cursor to the start of the (new) main run's schedule. */
static void reset_cursor(builder *b) {
    b->st.cursor = (sf_cursor){SF_STACK_ENC, 0, -1, SF_SUB_EMBED, SF_OP_TOK};
    b->st.cursor_index = -1;
}

/* Sets the cursor to the first step of the main run when it was reset. */
static sf_err settle_cursor(builder *b, runrec **out) {
    runrec *r;
    sf_err e = main_run(b, &r);
    if (!e.ok) return e;
    if (r && b->st.cursor_index < 0) {
        b->st.cursor_index = 0;
        b->st.cursor = r->sch.steps[0];
    }
    if (out) *out = r;
    return sf_ok();
}

/* Parses `[enc|dec] [token N|all [tokens]] [L<n>] [sublayer] [op] [end]`, or `start` / `end`. */
static sf_err do_goto(builder *b, const word *w, int nw) {
    if (nw == 0) return FAIL(b, 1, "expected a step after @goto, e.g. '@goto dec token 3 L1 cross softmax'");
    int phase = -2, token = -2, layer = -2, sub = -2, op = -2, last = 0, only = 0;
    int ccol[6] = {w[0].col, w[0].col, w[0].col, w[0].col, w[0].col, w[0].col}; /* phase token layer sub op */
    for (int i = 0; i < nw; i++) {
        char s[32];
        wstr(w[i], s, sizeof s);
        if (i == 0 && nw == 1 && (!strcmp(s, "start") || !strcmp(s, "end"))) { only = 1; last = s[0] == 'e'; continue; }
        if (!strcmp(s, "enc") || !strcmp(s, "encoder") || !strcmp(s, "dec") || !strcmp(s, "decoder")) {
            if (phase != -2) return FAIL(b, w[i].col, "the stack is given twice");
            phase = s[0] == 'e' ? SF_STACK_ENC : SF_STACK_DEC; ccol[0] = w[i].col;
        } else if (!strcmp(s, "token")) {
            if (i + 1 >= nw || !parse_uint(w[i + 1].p, w[i + 1].n, &token))
                return FAIL(b, i + 1 < nw ? w[i + 1].col : w[i].col + (int)w[i].n, "expected a token number after 'token'");
            ccol[1] = w[i + 1].col;
            i++;
        } else if (!strcmp(s, "all")) {
            token = -1; ccol[1] = w[i].col;
            if (i + 1 < nw && weq(w[i + 1], "tokens")) i++;
        } else if (s[0] == 'L' && s[1] >= '0' && s[1] <= '9') {
            if (!parse_uint(s + 1, strlen(s + 1), &layer)) return FAIL(b, w[i].col, "expected a layer such as L0");
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
    sf_err e = settle_cursor(b, &r);
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
static sf_err do_move(builder *b, const word *w, int nw, int dir) {
    int n = 1;
    if (nw > 1) return FAIL(b, w[1].col, "expected at most one number");
    if (nw == 1 && (!parse_uint(w[0].p, w[0].n, &n) || n == 0)) return FAIL(b, w[0].col, "expected a number of steps (1 or more)");
    runrec *r;
    sf_err e = settle_cursor(b, &r);
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
static sf_err do_focus(builder *b, const word *w, int nw) {
    char s[32];
    if (nw == 0) return FAIL(b, 1, "expected a panel after @focus: map, tokens, attention, scores, positions, activations, output or none");
    wstr(w[0], s, sizeof s);
    int panel = sf_panel_parse(s);
    if (!panel && strcmp(s, "none"))
        return FAIL(b, w[0].col, "unknown panel '%s': expected map, tokens, attention, scores, positions, activations, output or none", s);
    int stack = -1, sub = -1, layer = -1, head = -1, lcol = 0, hcol = 0, scol = 0;
    for (int i = 1; i < nw; i++) {
        wstr(w[i], s, sizeof s);
        if (!strcmp(s, "enc") || !strcmp(s, "dec")) { stack = s[0] == 'e' ? SF_STACK_ENC : SF_STACK_DEC; scol = w[i].col; }
        else if (!strcmp(s, "self")) sub = SF_SUB_SELF;
        else if (!strcmp(s, "cross")) { sub = SF_SUB_CROSS; if (!scol) scol = w[i].col; }
        else if (!strcmp(s, "ffn")) sub = SF_SUB_FFN;
        else if (!strcmp(s, "all")) head = -1;
        else if (s[0] == 'L' && parse_uint(s + 1, strlen(s + 1), &layer)) lcol = w[i].col;
        else if (s[0] == 'H' && parse_uint(s + 1, strlen(s + 1), &head)) hcol = w[i].col;
        else return FAIL(b, w[i].col, "unexpected '%s' in @focus: expected enc|dec, L<n>, self|cross|ffn, H<n> or all", s);
    }
    runrec *r;
    sf_err e = main_run(b, &r);
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
static int first_row(const sf_trace_entry *e, const sf_lesson_cells *c) {
    if (!e || (strcmp(e->axis[0], "query") && strcmp(e->axis[0], "position"))) return -1;
    return c->lo[0];
}

/* `@highlight NAME [axis=N[..M]]...` */
static sf_err do_highlight(builder *b, const word *w, int nw) {
    if (b->n_hl == SF_LESSON_MAX_HIGHLIGHTS)
        return FAIL(b, 1, "too many highlights in one step (at most %d)", SF_LESSON_MAX_HIGHLIGHTS);
    runrec *r;
    sf_err e = settle_cursor(b, &r);
    if (!e.ok) return e;
    int i = 0;
    const sf_trace_entry *en;
    if (!(e = parse_cells(b, r, w, nw, &i, &b->hl[b->n_hl], &en)).ok) return e;
    if (i < nw) return FAIL(b, w[i].col, "expected axis=N or axis=N..M (e.g. q=3 k=0..2)");
    b->hl_line[b->n_hl] = b->line;
    b->hl_col[b->n_hl] = w[0].col;
    b->hl_row[b->n_hl] = first_row(en, &b->hl[b->n_hl]);
    b->n_hl++;
    return sf_ok();
}

/* `@ask NAME axis=N [expect axis=M | expect "text"]` */
static sf_err do_ask(builder *b, const word *w, int nw, int at_col) {
    if (b->ask.state) return FAIL(b, at_col, "only one @ask per step (start a new '## ' step)");
    runrec *r;
    sf_err e = settle_cursor(b, &r);
    if (!e.ok) return e;
    int i = 0;
    const sf_trace_entry *en;
    sf_lesson_ask a;
    memset(&a, 0, sizeof a);
    if (!(e = parse_cells(b, r, w, nw, &i, &a.at, &en)).ok) return e;
    if (r && !(e = fixed_row(b, &a.at, w[0].col, &a.free_axis)).ok) return e;
    if (!r) a.free_axis = 1;
    int fixed = a.at.lo[1 - a.free_axis];
    a.answer = -1;
    if (r) {
        a.answer = argmax_along(&r->tr, en, a.free_axis, fixed);
        axis_label(r, en, a.free_axis, a.answer, a.answer_label, sizeof a.answer_label);
    }
    if (i < nw) {
        if (!weq(w[i], "expect")) return FAIL(b, w[i].col, "expected 'expect' followed by the answer, or the end of the line");
        if (i + 1 >= nw) return FAIL(b, w[i].col + (int)w[i].n, "expected the answer after 'expect' (e.g. k=4 or \"e\")");
        if (i + 2 < nw) return FAIL(b, w[i + 2].col, "expected the end of the line");
        int want;
        if (r && !(e = parse_expected(b, r, en, a.free_axis, a.answer, w[i + 1], &want)).ok) return e;
        if (r && b->o.check_claims && want != a.answer) {
            char wl[48];
            axis_label(r, en, a.free_axis, want, wl, sizeof wl);
            return FAIL(b, w[i + 1].col, "the lesson expects %s but the model's largest value is at %s", wl, a.answer_label);
        }
    }
    a.state = 1;
    b->ask = a;
    b->ask_line = b->line;
    b->ask_col = w[0].col;
    b->ask_row = en ? (a.free_axis == 1 ? first_row(en, &a.at) : -1) : -1;
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

/* Compares two selections; mode 0 = same (all cells equal), 1 = differ (every row has a changed cell). */
static sf_err compare_cells(builder *b, int col, int mode, const runrec *ra, const sf_lesson_cells *ca,
                            const runrec *rb, const sf_lesson_cells *cb) {
    const sf_trace_entry *ea = sf_trace_find(&ra->tr, ca->name), *eb = sf_trace_find(&rb->tr, cb->name);
    if (!ea || !eb) return FAIL(b, col, "'%s' is not in the compared run", !ea ? ca->name : cb->name);
    int da[2], db[2], na[2], nb[2];
    sf_trace_shape(&ra->tr, ea, da);
    sf_trace_shape(&rb->tr, eb, db);
    for (int a = 0; a < ea->rank; a++) {
        int hia = ca->hi[a] < 0 ? da[a] - 1 : ca->hi[a], hib = cb->hi[a] < 0 ? db[a] - 1 : cb->hi[a];
        na[a] = hia - ca->lo[a] + 1;
        nb[a] = hib - cb->lo[a] + 1;
        if (hib >= db[a] || na[a] != nb[a] || na[a] <= 0)
            return FAIL(b, col, "the two selections have different sizes (%d and %d along %s)", na[a], nb[a], ea->axis[a]);
    }
    int rows = ea->rank == 2 ? na[0] : 1, cols = ea->rank == 2 ? na[1] : na[0];
    float worst = 0;
    int wr = 0, wc = 0;
    for (int i = 0; i < rows; i++) {
        float rowmax = 0;
        int rc = 0;
        for (int j = 0; j < cols; j++) {
            int ia[2], ib[2];
            if (ea->rank == 2) { ia[0] = ca->lo[0] + i; ia[1] = ca->lo[1] + j; ib[0] = cb->lo[0] + i; ib[1] = cb->lo[1] + j; }
            else { ia[0] = ca->lo[0] + j; ib[0] = cb->lo[0] + j; }
            float x = sf_trace_get(&ra->tr, ea, ia), y = sf_trace_get(&rb->tr, eb, ib), d;
            if (isinf(x) || isinf(y)) d = (x == y) ? 0.0f : INFINITY;
            else d = fabsf(x - y) / (1.0f + fabsf(x));
            if (d > rowmax) { rowmax = d; rc = j; }
        }
        if (mode == 0 && rowmax > 1e-4f) {
            return FAIL(b, col, "claim 'same' does not hold: %s row %d differs by %.3g at column %d", ca->name,
                        ca->lo[0] + i, (double)rowmax, ca->lo[1] + rc);
        }
        if (mode == 1 && rowmax <= 1e-3f) {
            return FAIL(b, col, "claim 'differ' does not hold: %s row %d is unchanged (largest change %.3g)", ca->name,
                        (ea->rank == 2 ? ca->lo[0] : 0) + i, (double)rowmax);
        }
        if (rowmax > worst) { worst = rowmax; wr = i; wc = rc; }
    }
    (void)wr; (void)wc;
    return sf_ok();
}

/* `@expect same|differ SEL [vs [NAME] SEL]`, `@expect argmax SEL axis=N|"text"`, `@expect output TEXT`. */
static sf_err do_expect(builder *b, const word *w, int nw, const char *rest, size_t rest_n) {
    if (nw == 0) return FAIL(b, 1, "expected same, differ, zero, above, below, argmax or output after @expect");
    int mode = weq(w[0], "same") ? 0 : weq(w[0], "differ") ? 1 : weq(w[0], "argmax") ? 2 : weq(w[0], "output") ? 3
             : weq(w[0], "zero") ? 4 : weq(w[0], "above") ? 5 : weq(w[0], "below") ? 6 : -1;
    if (mode < 0) return FAIL(b, w[0].col, "expected same, differ, zero, above, below, argmax or output after @expect");
    float bound = 0;
    if (mode >= 5) { /* above|below X NAME ...: the bound comes first */
        if (nw < 2 || !parse_float(w[1], &bound)) return FAIL(b, nw < 2 ? w[0].col + (int)w[0].n : w[1].col, "expected a number");
        w++;
        nw--;
    }
    runrec *r;
    sf_err e = settle_cursor(b, &r);
    if (!e.ok) return e;
    if (mode == 3) {
        size_t off = (size_t)(w[0].p + w[0].n - rest); /* skip "output" */
        int text, col, quoted;
        if (!(e = rest_text(b, rest + off, rest_n - off, "the expected output", &text, &col, &quoted)).ok) return e;
        if (!r || !b->o.check_claims) return sf_ok();
        char got[512] = "", piece[16];
        for (int t = r->n_prompt; t < r->seq.n_tgt; t++)
            strncat(got, sf_tokenizer_piece(&r->var.tok, r->seq.dec.ids[t], piece), sizeof got - strlen(got) - 1);
        if (strcmp(got, pstr(b, text)))
            return FAIL(b, col, "the lesson expects the output \"%s\" but the model writes \"%s\"", pstr(b, text), got);
        return sf_ok();
    }
    int i = 1;
    sf_lesson_cells ca, cb;
    const sf_trace_entry *ea, *eb;
    if (!(e = parse_cells(b, r, w, nw, &i, &ca, &ea)).ok) return e;
    if (mode >= 4) { /* every selected cell is exactly zero / above / below the bound */
        if (i < nw) return FAIL(b, w[i].col, "expected axis=N or the end of the line");
        if (!r || !b->o.check_claims) return sf_ok();
        int dims[2] = {1, 1};
        sf_trace_shape(&r->tr, ea, dims);
        int h0 = ca.hi[0] < 0 ? dims[0] - 1 : ca.hi[0], h1 = ea->rank < 2 ? 0 : ca.hi[1] < 0 ? dims[1] - 1 : ca.hi[1];
        for (int x = ca.lo[0]; x <= h0; x++)
            for (int y = ea->rank < 2 ? 0 : ca.lo[1]; y <= h1; y++) {
                int idx[2] = {x, y};
                float v = sf_trace_get(&r->tr, ea, idx);
                if ((mode == 4 && v != 0.0f) || (mode == 5 && !(v > bound)) || (mode == 6 && !(v < bound)))
                    return FAIL(b, w[0].col, "claim '%s' does not hold: %s[%d,%d] = %g", mode == 4 ? "zero" : mode == 5 ? "above" : "below",
                                ca.name, x, y, (double)v);
            }
        return sf_ok();
    }
    if (mode == 2) {
        int free_axis = 1;
        if (r && !(e = fixed_row(b, &ca, w[1].col, &free_axis)).ok) return e;
        if (i >= nw) return FAIL(b, w[nw - 1].col + (int)w[nw - 1].n, "expected the answer (e.g. k=4 or \"e\")");
        if (i + 1 < nw) return FAIL(b, w[i + 1].col, "expected the end of the line");
        if (!r) return sf_ok();
        int want, fixed = ca.lo[1 - free_axis];
        int got = argmax_along(&r->tr, ea, free_axis, fixed);
        if (!(e = parse_expected(b, r, ea, free_axis, got, w[i], &want)).ok) return e;
        if (!b->o.check_claims) return sf_ok();
        if (got != want) {
            char wl[48], gl[48];
            axis_label(r, ea, free_axis, want, wl, sizeof wl);
            axis_label(r, ea, free_axis, got, gl, sizeof gl);
            return FAIL(b, w[i].col, "the lesson expects the largest value at %s but the model's is at %s", wl, gl);
        }
        return sf_ok();
    }
    runrec *rb = r;
    if (r && b->st.compare) {
        runkey k;
        runloc loc;
        cmp_key(b, &k, &loc);
        if (!(e = get_run(b, &k, &loc, &rb)).ok) return e;
        if (!(e = main_run(b, &r)).ok) return e; /* may have been evicted: fetch again */
    }
    if (i < nw && weq(w[i], "vs")) {
        i++;
        if (i < nw && !memchr(w[i].p, '=', w[i].n)) {
            if (!(e = parse_cells(b, rb, w, nw, &i, &cb, &eb)).ok) return e;
        } else { /* same name, new selectors */
            word nm = {ca.name, strlen(ca.name), w[1].col};
            word tmp[MAX_WORDS];
            int n2 = 0;
            tmp[n2++] = nm;
            for (int j = i; j < nw && n2 < MAX_WORDS; j++) tmp[n2++] = w[j];
            int k = 0;
            if (!(e = parse_cells(b, rb, tmp, n2, &k, &cb, &eb)).ok) return e;
            i += k - 1;
        }
    } else {
        cb = ca;
    }
    if (i < nw) return FAIL(b, w[i].col, "expected axis=N, 'vs' or the end of the line");
    if (!r || !b->o.check_claims) return sf_ok();
    return compare_cells(b, w[0].col, mode, r, &ca, rb, &cb);
}

/* `@sample greedy` or `@sample [temperature T] [top-k K] [seed S]` into a runkey. */
static sf_err parse_sample(builder *b, const word *w, int nw, runkey *k) {
    if (nw == 0) return FAIL(b, 1, "expected 'greedy' or 'temperature T [top-k K] [seed S]'");
    if (nw == 1 && weq(w[0], "greedy")) { k->sampler.temperature = 0; k->sampler.top_k = 0; return sf_ok(); }
    for (int i = 0; i < nw; i += 2) {
        if (i + 1 >= nw) return FAIL(b, w[i].col + (int)w[i].n, "expected a value after '%.*s'", (int)w[i].n, w[i].p);
        if (weq(w[i], "temperature")) {
            if (!parse_float(w[i + 1], &k->sampler.temperature) || k->sampler.temperature < 0 || k->sampler.temperature > 100)
                return FAIL(b, w[i + 1].col, "expected a temperature from 0 to 100");
        } else if (weq(w[i], "top-k")) {
            if (!parse_uint(w[i + 1].p, w[i + 1].n, &k->sampler.top_k)) return FAIL(b, w[i + 1].col, "expected a whole number");
        } else if (weq(w[i], "seed")) {
            int s;
            if (!parse_uint(w[i + 1].p, w[i + 1].n, &s)) return FAIL(b, w[i + 1].col, "expected a whole number");
            k->seed = (unsigned long long)s;
        } else {
            return FAIL(b, w[i].col, "expected greedy, temperature, top-k or seed");
        }
    }
    return sf_ok();
}

/* Parses `on` / `off`; returns 1/0, or -1. */
static int on_off(word w) { return weq(w, "on") ? 1 : weq(w, "off") ? 0 : -1; }

/* Interns a model path written in the lesson, resolved against the lesson's folder. */
static sf_err model_path(builder *b, word w, int *off) {
    char rel[1024], full[2048];
    if (w.n >= 2 && w.p[0] == '"') { word in = {w.p + 1, w.n - 2, w.col}; wstr(in, rel, sizeof rel); }
    else wstr(w, rel, sizeof rel);
    if (!rel[0]) return FAIL(b, w.col, "expected a model file");
    resolve_path(b, rel, full, sizeof full);
    *off = intern(b, full, strlen(full));
    if (*off < 0) return FAIL(b, w.col, "out of memory");
    if (b->o.check_models) {
        const sf_model *m;
        return get_model(b, *off, b->line, w.col, &m);
    }
    return sf_ok();
}

/* Dispatches one directive line (s points just after '@'). */
static sf_err directive(builder *b, const char *s, size_t n, int at_col) {
    size_t k = 0;
    while (k < n && s[k] != ' ' && s[k] != '\t') k++;
    char name[24];
    word dw = {s, k, at_col + 1};
    wstr(dw, name, sizeof name);
    const char *rest = s + k;
    size_t rest_n = n - k;
    word w[MAX_WORDS];
    sf_err e = sf_ok();
    int nw = lex(b, rest, rest_n, w, &e);
    if (nw < 0) return e;
    if (!b->in_step && strcmp(name, "model") && strcmp(name, "input") && strcmp(name, "target") && strcmp(name, "sample") &&
        strcmp(name, "generate") && strcmp(name, "positions"))
        return FAIL(b, at_col, "@%s must be inside a step: start one with a '## ' heading", name);
    if (!strcmp(name, "model")) {
        if (nw != 1) return FAIL(b, nw ? w[1].col : at_col + 6, "expected one model file after @model");
        int off;
        b->st.loc.model_line = b->line;
        b->st.loc.model_col = w[0].col;
        if (!(e = model_path(b, w[0], &off)).ok) return e;
        b->st.run.model = off;
        reset_cursor(b);
        b->st.flayer = b->st.fhead = -1;
        return sf_ok();
    }
    if (!strcmp(name, "input") || !strcmp(name, "target")) {
        int off, col, q;
        int tgt = name[0] == 't';
        if (tgt && nw == 1 && weq(w[0], "none")) {
            b->st.run.target = -1;
        } else {
            if (!(e = rest_text(b, rest, rest_n, tgt ? "the target text" : "the input text", &off, &col, &q)).ok) return e;
            if (tgt) { b->st.run.target = off; b->st.loc.target_line = b->line; b->st.loc.target_col = col; b->st.loc.target_quoted = q; }
            else { b->st.run.input = off; b->st.loc.input_line = b->line; b->st.loc.input_col = col; b->st.loc.input_quoted = q; }
        }
        reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "sample")) {
        if (!(e = parse_sample(b, w, nw, &b->st.run)).ok) return e;
        reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "generate")) {
        if (nw != 1 || !parse_uint(w[0].p, w[0].n, &b->st.run.max_new) || b->st.run.max_new > SF_MAX_LEN)
            return FAIL(b, nw ? w[0].col : at_col + 9, "expected the number of tokens to generate (0 = until <eos>)");
        reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "positions")) {
        int v = nw == 1 ? on_off(w[0]) : -1;
        if (v < 0) return FAIL(b, nw ? w[0].col : at_col + 10, "expected on or off");
        b->st.run.positions = v;
        reset_cursor(b);
        return sf_ok();
    }
    if (!strcmp(name, "goto")) return do_goto(b, w, nw);
    if (!strcmp(name, "next")) return do_move(b, w, nw, +1);
    if (!strcmp(name, "prev")) return do_move(b, w, nw, -1);
    if (!strcmp(name, "focus")) return do_focus(b, w, nw);
    if (!strcmp(name, "highlight")) return do_highlight(b, w, nw);
    if (!strcmp(name, "ask")) return do_ask(b, w, nw, at_col);
    if (!strcmp(name, "expect")) return do_expect(b, w, nw, rest, rest_n);
    if (!strcmp(name, "reveal")) {
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
    if (!strcmp(name, "compare")) {
        static const char *const want = "expected off, or settings: input TEXT, target TEXT|none, model FILE, positions on|off";
        if (nw == 0) return FAIL(b, at_col + 8, "%s", want);
        if (nw == 1 && weq(w[0], "off")) {
            b->st.compare = 0;
            b->st.cmp_model = b->st.cmp_input = b->st.cmp_target = b->st.cmp_positions = -1;
            return sf_ok();
        }
        if (nw % 2) return FAIL(b, w[nw - 1].col + (int)w[nw - 1].n, "expected a value after '%.*s' (quote text with spaces)",
                                (int)w[nw - 1].n, w[nw - 1].p);
        for (int i = 0; i < nw; i += 2) { /* key value pairs; the run is checked once the line is read */
            word v = w[i + 1];
            int q = v.p[0] == '"';
            if (weq(w[i], "input") || (weq(w[i], "target") && !weq(v, "none"))) {
                int off = intern_text(b, v);
                if (off < 0) return FAIL(b, v.col, "out of memory");
                if (w[i].p[0] == 'i') { b->st.cmp_input = off; b->st.cmploc.input_line = b->line; b->st.cmploc.input_col = v.col; b->st.cmploc.input_quoted = q; }
                else { b->st.cmp_target = off; b->st.cmploc.target_line = b->line; b->st.cmploc.target_col = v.col; b->st.cmploc.target_quoted = q; }
            } else if (weq(w[i], "target")) {
                b->st.cmp_target = -2;
            } else if (weq(w[i], "model")) {
                int off;
                b->st.cmploc.model_line = b->line;
                b->st.cmploc.model_col = v.col;
                if (!(e = model_path(b, v, &off)).ok) return e;
                b->st.cmp_model = off;
            } else if (weq(w[i], "positions")) {
                int on = on_off(v);
                if (on < 0) return FAIL(b, v.col, "expected on or off");
                b->st.cmp_positions = on;
            } else {
                return FAIL(b, w[i].col, "%s", want);
            }
        }
        b->st.compare = 1;
        if (b->o.check_models) { /* make the run now so a bad input is reported on this line */
            runkey k2;
            runloc loc;
            runrec *rc;
            cmp_key(b, &k2, &loc);
            if (!(e = settle_cursor(b, NULL)).ok) return e;
            if (!(e = get_run(b, &k2, &loc, &rc)).ok) return e;
        }
        return sf_ok();
    }
    return FAIL(b, at_col, "unknown directive '@%s': expected one of @model @input @target @sample @generate "
                           "@positions @goto @next @prev @focus @highlight @compare @ask @reveal @expect", name);
}

/* ---- lines --------------------------------------------------------------------------------------- */

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
        int off = tn ? intern(b, t, tn) : -1;
        if (tn && off < 0) return FAIL(b, 1, "out of memory");
        if (h == 1) {
            if (b->step > 0 || b->in_step) return FAIL(b, col_of(b, s), "the lesson title ('# ') must come before the first step");
            b->title[g] = off;
            return sf_ok();
        }
        if (is_tr && b->in_step && g != SF_LANG_EN) { b->step_title[g] = off; return sf_ok(); }
        if (is_tr && g != SF_LANG_EN) return FAIL(b, col_of(b, s), "a translated heading ('## [%s] ...') must follow the step's own '## ' heading", sf_lang_name(g));
        if (!(e = end_step(b)).ok) return e;
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
    r.max_new = k->max_new;
    r.positions = k->positions;
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
            for (int p = 0; p < 2; p++) o->text[p][g] = f->text[p][g] >= 0 ? P + f->text[p][g] : NULL;
        }
        o->run = pub_run(b, P, &f->run);
        o->compare = f->compare;
        o->cmp = pub_run(b, P, &f->cmp);
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
    b->st.run = (runkey){-1, -1, -1, {0, 0}, 0, 0, 1};
    b->st.cmp_model = b->st.cmp_input = b->st.cmp_target = b->st.cmp_positions = -1;
    b->st.panel = SF_PANEL_NONE;
    b->st.fstack = b->st.fsub = b->st.flayer = b->st.fhead = -1;
    reset_cursor(b);
    for (int g = 0; g < SF_LANG_COUNT; g++) b->title[g] = b->step_title[g] = -1;
    sf_err e = sf_ok();
    if (len > SF_LESSON_MAX_BYTES) {
        e = sf_fail("%s: the lesson is %zu bytes; at most %zu are read", b->file, len, SF_LESSON_MAX_BYTES);
        goto done;
    }
    if (!buf) len = 0;
    if (len && !(e = check_utf8(b, buf, len)).ok) goto done;
    b->st.run.input = intern(b, "", 0);
    if (b->st.run.input < 0) { e = sf_fail("%s: out of memory", b->file); goto done; }
    size_t pos = 0;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB && (unsigned char)buf[2] == 0xBF) pos = 3;
    b->line = 0;
    while (pos < len || (pos == len && b->line == 0)) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        b->line++;
        b->line_start = buf + pos;
        if (!(e = line(b, buf + pos, end - pos)).ok) goto done;
        pos = end + 1;
        if (!nl) break;
    }
    if (!(e = end_step(b)).ok) goto done;
    if (b->n_frames == 0) { e = fail_at(b, 1, 1, "expected at least one step (a line starting with '## ')"); goto done; }
    int intro[SF_LANG_COUNT];
    for (int g = 0; g < SF_LANG_COUNT; g++) {
        intro[g] = b->intro[g].len ? intern(b, (const char *)b->intro[g].data, b->intro[g].len) : -1;
        if (b->intro[g].len && intro[g] < 0) { e = FAIL(b, 1, "out of memory"); goto done; }
    }
    e = finish(b);
    if (e.ok)
        for (int g = 0; g < SF_LANG_COUNT; g++) l->intro[g] = intro[g] >= 0 ? l->pool + intro[g] : NULL;
done:
    for (int i = 0; i < RUN_CACHE; i++) run_free(b->runs[i]);
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

/* Returns part of a frame's narration in lang, falling back to English. */
const char *sf_lesson_text(const sf_lesson *l, int frame, int part, int lang) {
    if (!l || frame < 0 || frame >= l->n_frames || part < 0 || part > 1) return "";
    const sf_lesson_frame *f = &l->frames[frame];
    if (lang >= 0 && lang < SF_LANG_COUNT && f->text[part][lang]) return f->text[part][lang];
    return f->text[part][SF_LANG_EN] ? f->text[part][SF_LANG_EN] : "";
}
