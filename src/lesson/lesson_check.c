/* lesson_check.c - running the models and checking what a lesson says about them: loading checkpoints,
 * the runs the lesson makes (cached), trace entry names and cell selections, whether a row is computed at
 * the cursor, the answers of questions and the @expect claims. */
#include "lesson_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/checkpoint.h"
#include "../model/tokenizer.h"
#include "../train/snapshot.h"

/* Returns 1 if a file can be opened for reading (asked without opening it: a FIFO must not block). */
static int file_exists(const char *path) { return sf_file_exists(path); }

/* Resolves a model path: absolute as is; else against the lesson's folder and its parents, then the
 * current folder. Writes the first existing candidate (or the first candidate) into out. */
static void resolve_path(const builder *b, const char *rel, char *out, size_t size) {
    char cand[2048];
    const char *md = b->o.model_dir ? b->o.model_dir : getenv("STEPFORMER_MODELS");
    if (md && *md) {
        const char *base = strrchr(rel, '/');
        snprintf(cand, sizeof cand, "%s/%s", md, base ? base + 1 : rel);
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

/* Returns 1 if the file at path is a regular file that starts as a snapshot series does
 * (docs/snapshot-format.md); opened as every file is, never blocking (a FIFO is not one). */
static int is_series(const char *path) {
    sf_file f;
    if (!sf_file_open(&f, path, SF_MAX_FILE_BYTES).ok) return 0;
    char magic[8] = {0};
    int ok = sf_file_read_at(&f, 0, magic, sizeof magic).ok;
    sf_file_close(&f);
    return ok && memcmp(magic, SF_SNAP_MAGIC, sizeof magic) == 0;
}

/* Loads into m the model of series path at training step `step` (-1: its last snapshot); the error names the
 * steps the series has when it has no snapshot at that step. */
static sf_err series_model(const char *path, int step, sf_model *m) {
    sf_snapshots s;
    sf_err e = sf_snapshots_load(path, &s);
    if (!e.ok) return e;
    int k = step < 0 ? s.n - 1 : sf_snapshots_at_step(&s, step);
    if (step >= 0 && sf_snapshots_info(&s, k)->step != step) {
        char steps[512];
        size_t n = 0;
        for (int i = 0; i < s.n && n + 16 < sizeof steps; i++) n += (size_t)snprintf(steps + n, sizeof steps - n, "%s%d", i ? ", " : "", s.info[i].step);
        e = sf_fail("the series has no snapshot at step %d; its steps are %s", step, steps);
        sf_snapshots_free(&s);
        return e;
    }
    sf_snapshots_select(&s, k);
    *m = s.model; /* the selected weights, owned from here on */
    memset(&s.model, 0, sizeof s.model);
    sf_snapshots_free(&s);
    return sf_ok();
}

/* Loads (once) the model at pool offset path (of a series: the snapshot at step `snapshot`, -1 the last); on
 * failure the error points at (line, col). */
static sf_err get_model(builder *b, int path, int snapshot, int line, int col, const sf_model **out) {
    const char *p = ls_pstr(b, path);
    for (int i = 0; i < b->n_models; i++)
        if (strcmp(ls_pstr(b, b->models[i].path), p) == 0 && b->models[i].snapshot == snapshot) { *out = &b->models[i].m; return sf_ok(); }
    if (b->n_models == SF_LESSON_MAX_MODELS)
        return ls_fail_at(b, line, col, "too many different models in one lesson (at most %d; each snapshot counts as one)", SF_LESSON_MAX_MODELS);
    if (!file_exists(p)) return ls_fail_at(b, line, col, "missing model file '%s'", p);
    modrec *r = &b->models[b->n_models];
    int series = is_series(p);
    if (snapshot >= 0 && !series) return ls_fail_at(b, line, col, "@snapshot: '%s' is not a snapshot series (train --snapshots K writes one)", p);
    sf_err e = series ? series_model(p, snapshot, &r->m) : sf_checkpoint_load(p, &r->m);
    if (!e.ok) return ls_fail_at(b, line, col, "%s%s", series ? "" : "cannot load model: ", e.msg);
    r->path = path;
    r->snapshot = snapshot;
    b->n_models++;
    *out = &r->m;
    return sf_ok();
}

/* Frees a run and everything it holds (NULL is fine). */
void ls_run_free(runrec *r) {
    if (!r) return;
    sf_trace_free(&r->tr);
    sf_lens_free(&r->lens);
    sf_schedule_free(&r->sch);
    sf_seq_free(&r->seq);
    if (r->base.mem) sf_seq_free(&r->base);
    sf_interv_free(&r->iv);
    free(r);
}

/* Returns 1 if two runs are the same. */
static int runkey_eq(const builder *b, const runkey *x, const runkey *y) {
    const char *ti = ls_pstr(b, x->target), *tj = ls_pstr(b, y->target);
    return strcmp(ls_pstr(b, x->model), ls_pstr(b, y->model)) == 0 && strcmp(ls_pstr(b, x->input), ls_pstr(b, y->input)) == 0 &&
           ((!ti && !tj) || (ti && tj && strcmp(ti, tj) == 0)) && x->sampler.temperature == y->sampler.temperature &&
           x->sampler.top_k == y->sampler.top_k && x->seed == y->seed && x->max_new == y->max_new &&
           x->positions == y->positions && x->ablate_mode == y->ablate_mode &&
           ((x->ablate < 0 && y->ablate < 0) ||
            (x->ablate >= 0 && y->ablate >= 0 && strcmp(ls_pstr(b, x->ablate), ls_pstr(b, y->ablate)) == 0)) && x->snapshot == y->snapshot;
}

/* Checks that every character of text is in the model's alphabet; errors point at the character. */
static sf_err check_chars(builder *b, const sf_model *m, const char *text, int line, int col, int quoted,
                          const char *what) {
    size_t pos = 0, len = strlen(text);
    int idx = 0;
    if (m->tok.kind != SF_TOKENIZER_CHAR) return sf_ok(); /* GPT-2's byte-level BPE encodes any text */
    while (pos < len) {
        size_t at = pos;
        uint32_t cp;
        if (!sf_utf8_decode(text, len, &pos, &cp)) return ls_fail_at(b, line, col + quoted + idx, "malformed UTF-8 in %s", what);
        int found = 0;
        for (int i = 0; i < m->tok.n_chars && !found; i++) found = m->tok.chars[i] == cp;
        if (!found) {
            char ch[8] = "";
            memcpy(ch, text + at, pos - at < 7 ? pos - at : 7);
            size_t alen;
            char *alpha = sf_tokenizer_alphabet(&m->tok, &alen);
            sf_err e = ls_fail_at(b, line, col + quoted + idx, "%s: '%s' is not in the model's alphabet \"%.200s\"", what, ch,
                                  alpha ? alpha : "?");
            free(alpha);
            return e;
        }
        idx++;
    }
    return sf_ok();
}

/* Returns the bytes run r holds: its record, trace and schedule (the record's allocation, touched or not). */
static size_t run_bytes(const runrec *r) {
    return sizeof *r + (r->seq.mem_floats + (size_t)r->seq.cap_sampled * r->var.cfg.vocab_size) * sizeof(float) +
           (r->lens.probs ? (size_t)r->lens.n_layers * r->lens.n * r->lens.V * sizeof(float) : 0) +
           (r->base.mem ? (r->base.mem_floats + (size_t)r->base.cap_sampled * r->var.cfg.vocab_size) * sizeof(float) : 0) +
           2 * (size_t)r->seq.L * sizeof(int) +
           (size_t)r->tr.n * sizeof(sf_trace_entry) + (size_t)r->sch.n * sizeof(sf_cursor);
}

/* Returns 1 if the frame being built needs run r: it is the one asked for, the main run or, with
 * @compare, the compared run. */
static int run_needed(const builder *b, const runrec *r, const runkey *want) {
    if (runkey_eq(b, &r->key, want) || runkey_eq(b, &r->key, &b->st.run)) return 1;
    if (!b->st.compare) return 0;
    runkey k;
    runloc loc;
    ls_cmp_key(b, &k, &loc);
    return runkey_eq(b, &r->key, &k);
}

/* Frees cached runs the frame being built does not need, least recently used first, until the ones left
 * beside the needed runs take at most SF_LESSON_RUN_BUDGET bytes and a slot is free; returns that slot. */
static int make_room(builder *b, const runkey *want) {
    for (;;) {
        size_t spare = 0;
        int free_slot = -1, oldest = -1;
        for (int i = 0; i < RUN_CACHE; i++) {
            runrec *r = b->runs[i];
            if (!r) { if (free_slot < 0) free_slot = i; continue; }
            if (run_needed(b, r, want)) continue;
            spare += run_bytes(r);
            if (oldest < 0 || r->stamp < b->runs[oldest]->stamp) oldest = i;
        }
        if (free_slot >= 0 && spare <= SF_LESSON_RUN_BUDGET) return free_slot;
        if (oldest < 0) { /* every slot holds a needed run (never: at most three are needed at once) */
            if (free_slot >= 0) return free_slot;
            oldest = 0;
        }
        ls_run_free(b->runs[oldest]);
        b->runs[oldest] = NULL;
    }
}

/* Returns the run for key, making it if needed (other runs are kept within SF_LESSON_RUN_BUDGET, see
 * make_room); errors point at loc. */
sf_err ls_get_run(builder *b, const runkey *key, const runloc *where, runrec **out) {
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
    sf_err e = key->snapshot >= 0 && loc->snap_line ? get_model(b, key->model, key->snapshot, loc->snap_line, loc->snap_col, &m)
                                                    : get_model(b, key->model, key->snapshot, loc->model_line, loc->model_col, &m);
    if (!e.ok) return e;
    if (++b->n_runs_made > SF_LESSON_MAX_RUNS)
        return FAIL(b, 1, "too many different runs in one lesson (at most %d)", SF_LESSON_MAX_RUNS);
    const char *input = ls_pstr(b, key->input), *target = ls_pstr(b, key->target);
    if (!(e = check_chars(b, m, input, loc->input_line, loc->input_col, loc->input_quoted, "input")).ok) return e;
    if (target && !(e = check_chars(b, m, target, loc->target_line, loc->target_col, loc->target_quoted, "target")).ok)
        return e;
    int n_in = 0, n_tg = 0;
    for (const char *p = input; *p; p++) n_in += ((unsigned char)*p & 0xC0) != 0x80;
    for (const char *p = target ? target : ""; *p; p++) n_tg += ((unsigned char)*p & 0xC0) != 0x80;
    int L = m->cfg.max_len;
    if (m->cfg.family == SF_FAMILY_ENCDEC && n_in == 0)
        return ls_fail_at(b, loc->input_line, loc->input_col, "the input is empty; the encoder needs at least one character "
                                                           "(add '@input TEXT')");
    if (m->cfg.family == SF_FAMILY_ENCDEC ? n_in > L : 1 + n_in > L)
        return ls_fail_at(b, loc->input_line, loc->input_col, "input is %d characters; the model takes at most %d", n_in,
                          m->cfg.family == SF_FAMILY_ENCDEC ? L : L - 1);
    if ((m->cfg.family == SF_FAMILY_ENCDEC ? 1 : 1 + n_in) + n_tg > L)
        return ls_fail_at(b, loc->target_line, loc->target_col, "target is too long for the model (%d positions)", L);
    int slot = make_room(b, key); /* before the new record exists, so the two never add up */
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
    ro.max_new = key->max_new ? key->max_new : SF_RUN_UNTIL_EOS; /* `@generate 0` or none: until <eos> */
    ro.sampler = key->sampler;
    ro.seed = key->seed;
    sf_interv_init(&r->iv);
    if (key->ablate >= 0) { /* `@ablate`: the run shown and checked is the ablated one */
        r->iv.mode = key->ablate_mode == SF_ABLATE_MEAN ? SF_ABLATE_MEAN : SF_ABLATE_ZERO;
        e = sf_interv_add_ablate(&r->iv, &r->var.cfg, ls_pstr(b, key->ablate));
        if (!e.ok) {
            ls_run_free(r);
            return ls_fail_at(b, loc->ablate_line ? loc->ablate_line : b->line, loc->ablate_col ? loc->ablate_col : 1, "@ablate: %s", e.msg);
        }
        if ((e = sf_seq_build(&r->base, &r->var.cfg)).ok)
            e = sf_run_interv(&r->var, &r->base, &r->seq, &ro, &r->iv, NULL, &r->n_prompt);
    } else {
        e = sf_run(&r->var, &r->seq, &ro, &r->n_prompt);
    }
    if (e.ok) e = sf_trace_build(&r->tr, &r->var, &r->seq);
    if (e.ok && r->seq.n_tgt > 0 &&
        (size_t)r->var.cfg.n_dec_layers * (size_t)r->seq.n_tgt * (size_t)r->var.cfg.vocab_size <= SF_LESSON_LENS_MAX_FLOATS &&
        (e = sf_lens_compute(&r->lens, &r->var, &r->seq)).ok)
        e = sf_lens_trace(&r->tr, &r->lens); /* (quotes and claims may read dec.L{l}.lens.probs, as the lens panel) */
    if (e.ok) e = sf_schedule_build(&r->sch, &r->var.cfg, r->seq.n_src, r->seq.n_tgt);
    if (!e.ok || r->sch.n == 0) {
        ls_run_free(r);
        return ls_fail_at(b, loc->input_line, loc->input_col, "running the model failed: %s", e.ok ? "no steps" : e.msg);
    }
    r->stamp = b->clock;
    b->runs[slot] = r;
    *out = r;
    return sf_ok();
}

/* Returns the main run (or NULL in syntax-only mode). */
sf_err ls_main_run(builder *b, runrec **r) {
    *r = NULL;
    if (!b->o.check_models) return sf_ok();
    return ls_get_run(b, &b->st.run, &b->st.loc, r);
}

/* Writes the trace name `name` stands for under config c into out: {enc,dec}.out and
 * {enc,dec}.L<n>.{self,cross,ffn}.out become the entry holding that output; other names are copied. */
void ls_canon_name(const sf_config *c, const char *name, char out[64]) {
    int layer, n = 0;
    char sub[8];
    snprintf(out, 64, "%.63s", name);
    if (strncmp(name, "enc.", 4) && strncmp(name, "dec.", 4)) return;
    int enc = name[0] == 'e', nl = enc ? c->n_enc_layers : c->n_dec_layers;
    if (!strcmp(name + 4, "out")) {
        if (c->norm == SF_NORM_PRE) snprintf(out, 64, "%s.ln_f", enc ? "enc" : "dec");
        else snprintf(out, 64, "%s.L%d.ffn.norm", enc ? "enc" : "dec", nl - 1);
    } else if (sscanf(name + 4, "L%d.%7[a-z].out%n", &layer, sub, &n) == 2 && n > 0 && !name[4 + n]) {
        snprintf(out, 64, "%s.L%d.%s.%s", enc ? "enc" : "dec", layer, sub, c->norm == SF_NORM_POST ? "norm" : "resid");
    }
}

/* Returns the entry `name` (aliases as ls_canon_name) of a trace, or NULL. */
const sf_trace_entry *sf_lesson_entry(const sf_trace *tr, const char *name) {
    char canon[64];
    if (!tr || !tr->m) return NULL;
    ls_canon_name(&tr->m->cfg, name, canon);
    return sf_trace_find(tr, canon);
}

/* Resolves an entry name (with the aliases {enc,dec}.out and *.{self,cross,ffn}.out) against a run,
 * giving errors that name the part that is wrong. Writes the canonical name to out. */
static sf_err resolve_entry(builder *b, const runrec *r, word w, char out[40], const sf_trace_entry **entry) {
    char name[64];
    *entry = NULL;
    if (w.n == 0 || w.n >= sizeof name) return FAIL(b, w.col, "expected a trace entry name such as dec.L1.cross.H0.probs");
    ls_wstr(w, name, sizeof name);
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
        if (!ls_parse_uint(lp, strlen(lp), &layer)) return FAIL(b, w.col + starts[1], "expected a layer such as L0");
        if (layer >= n_layers)
            return FAIL(b, w.col + starts[1], "layer L%d out of range: the %s has %d layers (L0-L%d)", layer,
                        enc ? "encoder" : "decoder", n_layers, n_layers - 1);
        if (np >= 3) {
            const char *sub = name + starts[2];
            if (strcmp(sub, "cross") == 0 && (enc || c->family != SF_FAMILY_ENCDEC))
                return FAIL(b, w.col + starts[2], "no cross-attention here: only an encoder-decoder's decoder has it");
            if (strcmp(sub, "self") && strcmp(sub, "cross") && strcmp(sub, "ffn") && (enc || strcmp(sub, "lens")))
                return FAIL(b, w.col + starts[2], "expected self, cross or ffn after L%d%s", layer, enc ? "" : " (or lens)");
            if (np >= 4 && name[starts[3]] == 'H' && name[starts[3] + 1] >= '0' && name[starts[3] + 1] <= '9') {
                int head;
                const char *hp = name + starts[3] + 1;
                if (!ls_parse_uint(hp, strlen(hp), &head)) return FAIL(b, w.col + starts[3], "expected a head such as H0");
                if (head >= c->n_heads)
                    return FAIL(b, w.col + starts[3], "head H%d out of range: the model has %d heads (H0-H%d)", head,
                                c->n_heads, c->n_heads - 1);
            }
        }
    }
    ls_wstr(w, name, sizeof name);
    ls_canon_name(c, name, canon);
    *entry = sf_trace_find(&r->tr, canon);
    if (!*entry)
        return FAIL(b, w.col, "no trace entry '%s' in this model (names look like enc.L0.self.H1.probs, dec.L1.ffn.hidden, "
                              "dec.probs; see docs/lesson-format.md)", canon);
    snprintf(out, 40, "%.39s", canon);
    return sf_ok();
}

/* Returns the vocab id whose text is p(n) ("e", "<eos>") among the first V ids, or -1. */
int ls_vocab_id(const sf_tokenizer *t, int V, const char *p, size_t n) {
    char piece[16];
    for (int id = 0; id < V; id++)
        if (strlen(sf_tokenizer_piece(t, id, piece)) == n && memcmp(piece, p, n) == 0) return id;
    return -1;
}

/* Returns the axis (0 or 1) named by s for an entry, or -1. Accepts row/col, the axis name, or a prefix. */
int ls_axis_of(const sf_trace_entry *e, const char *s) {
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
sf_err ls_parse_cells(builder *b, const runrec *r, const word *w, int nw, int *i, sf_lesson_cells *out,
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
        ls_wstr(axw, ax, sizeof ax);
        int a = ls_axis_of(en, ax);
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
        if (end - v >= 2 && v[0] == '"' && end[-1] == '"') { /* a token by its text, on a vocab axis */
            if (en && strcmp(en->axis[a], "vocab"))
                return FAIL(b, vcol, "a token in quotes stands for a vocab index, but %s counts %ss here: expected a number",
                            ax, en->axis[a]);
            lo = hi = en ? ls_vocab_id(&r->var.tok, dims[a], v + 1, (size_t)(end - v - 2)) : 0;
            if (lo < 0) return FAIL(b, vcol, "%.*s is not a token of this model", (int)(end - v), v);
        } else if (dots) {
            if (!ls_parse_uint(v, (size_t)(dots - v), &lo) || !ls_parse_uint(dots + 2, (size_t)(end - dots - 2), &hi) || hi < lo)
                return FAIL(b, vcol, "expected an index N or a range N..M with N <= M");
        } else {
            if (!ls_parse_uint(v, (size_t)(end - v), &lo)) return FAIL(b, vcol, "expected an index N or a range N..M");
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
sf_err ls_check_computed(builder *b, const runrec *r, int cursor_index, const char *name, int row, int line,
                             int col, const char *what) {
    const sf_trace_entry *e = sf_trace_find(&r->tr, name);
    if (!e) return sf_ok();
    int i = step_of(&r->sch, e, row);
    if (i < 0 || i <= cursor_index) return sf_ok();
    char now[64], then[64], rowtxt[24] = "";
    sf_cursor_describe(r->sch.steps[cursor_index], now, sizeof now);
    sf_cursor_describe(r->sch.steps[i], then, sizeof then);
    if (row >= 0) snprintf(rowtxt, sizeof rowtxt, " row %d", row);
    return ls_fail_at(b, line, col, "%s is not on screen yet: the cursor is at '%s' but %s%s is computed at '%s' "
                                 "(add '@goto %s' first)", what, now, name, rowtxt, then, then);
}

/* Returns the printable label of index idx along axis a of an entry in a run ("'e' (key 4)"). */
void ls_axis_label(const runrec *r, const sf_trace_entry *e, int a, int idx, char *out, size_t size) {
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
int ls_argmax_along(const sf_trace *tr, const sf_trace_entry *e, int free_axis, int fixed) {
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
    return ls_argmax_along(tr, e, a->free_axis, a->at.lo[1 - a->free_axis]);
}

/* Parses `axis=N` or "text" naming one index along the free axis; on success *idx is that index. */
sf_err ls_parse_expected(builder *b, const runrec *r, const sf_trace_entry *e, int free_axis, int answer, word w,
                             int *idx) {
    *idx = -1;
    if (!r) return sf_ok();
    int dims[2];
    sf_trace_shape(&r->tr, e, dims);
    if (w.n >= 2 && w.p[0] == '"') { /* the text at that index: the answer if its text matches, else the first match */
        char want[40], piece[48], lab[64];
        word in = {w.p + 1, w.n - 2, w.col};
        ls_wstr(in, want, sizeof want);
        snprintf(piece, sizeof piece, "'%s' ", want);
        for (int j = 0; j < dims[free_axis]; j++) {
            ls_axis_label(r, e, free_axis, j, lab, sizeof lab);
            if (strncmp(lab, piece, strlen(piece)) == 0 && (*idx < 0 || j == answer)) *idx = j;
        }
        if (*idx < 0) return FAIL(b, w.col, "\"%s\" is not one of the %ss of %s", want, e->axis[free_axis], e->name);
        return sf_ok();
    }
    const char *eq = memchr(w.p, '=', w.n);
    char ax[24];
    if (!eq) return FAIL(b, w.col, "expected %s=N or a quoted token such as \"e\"", e->axis[free_axis]);
    word axw = {w.p, (size_t)(eq - w.p), w.col};
    ls_wstr(axw, ax, sizeof ax);
    if (ls_axis_of(e, ax) != free_axis) return FAIL(b, w.col, "expected %s=N (the axis the answer runs along)", e->axis[free_axis]);
    int v;
    if (!ls_parse_uint(eq + 1, (size_t)(w.p + w.n - eq - 1), &v) || v >= dims[free_axis])
        return FAIL(b, w.col + (int)(eq + 1 - w.p), "expected an index from 0 to %d", dims[free_axis] - 1);
    *idx = v;
    return sf_ok();
}

/* Checks that a selection has one axis fixed to a single index and the other whole; returns the free axis. */
sf_err ls_fixed_row(builder *b, const sf_lesson_cells *c, int col, int *free_axis) {
    int single0 = c->hi[0] >= 0 && c->lo[0] == c->hi[0], single1 = c->hi[1] >= 0 && c->lo[1] == c->hi[1];
    int whole0 = c->hi[0] < 0, whole1 = c->hi[1] < 0;
    if (c->rank == 1) return FAIL(b, col, "expected an entry with two axes (e.g. attention weights)");
    if (single0 && whole1) *free_axis = 1;
    else if (single1 && whole0) *free_axis = 0;
    else return FAIL(b, col, "expected exactly one fixed index (e.g. q=3): the learner picks along the other axis");
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
sf_err ls_do_expect(builder *b, const word *w, int nw, const char *rest, size_t rest_n) {
    if (nw == 0) return FAIL(b, 1, "expected same, differ, zero, above, below, argmax or output after @expect");
    int mode = ls_weq(w[0], "same") ? 0 : ls_weq(w[0], "differ") ? 1 : ls_weq(w[0], "argmax") ? 2 : ls_weq(w[0], "output") ? 3
             : ls_weq(w[0], "zero") ? 4 : ls_weq(w[0], "above") ? 5 : ls_weq(w[0], "below") ? 6 : -1;
    if (mode < 0) return FAIL(b, w[0].col, "expected same, differ, zero, above, below, argmax or output after @expect");
    float bound = 0;
    if (mode >= 5) { /* above|below X NAME ...: the bound comes first */
        if (nw < 2 || !ls_parse_float(w[1], &bound)) return FAIL(b, nw < 2 ? w[0].col + (int)w[0].n : w[1].col, "expected a number");
        w++;
        nw--;
    }
    runrec *r;
    sf_err e = ls_settle_cursor(b, &r);
    if (!e.ok) return e;
    int at = w[0].col; /* where a failed claim points (the claim's word, or its bound) */
    if (nw >= 2 && ls_weq(w[1], "cmp") && mode != 3) { /* a claim about the compared run's own numbers */
        if (mode <= 1) return FAIL(b, w[1].col, "same and differ already compare the two runs: leave out 'cmp'");
        if (!b->st.compare) return FAIL(b, w[1].col, "'cmp' reads the compared run, and this step compares none (@compare)");
        if (r) {
            runkey k;
            runloc loc;
            ls_cmp_key(b, &k, &loc);
            if (!(e = ls_get_run(b, &k, &loc, &r)).ok) return e;
        }
        w++;
        nw--;
    }
    if (mode == 3) {
        size_t off = (size_t)(w[0].p + w[0].n - rest); /* skip "output" */
        int text, col, quoted;
        if (!(e = ls_rest_text(b, rest + off, rest_n - off, "the expected output", &text, &col, &quoted)).ok) return e;
        if (!r || !b->o.check_claims) return sf_ok();
        char got[512] = "", piece[16];
        for (int t = r->n_prompt; t < r->seq.n_tgt; t++)
            strncat(got, sf_tokenizer_piece(&r->var.tok, r->seq.dec.ids[t], piece), sizeof got - strlen(got) - 1);
        if (strcmp(got, ls_pstr(b, text)))
            return FAIL(b, col, "the lesson expects the output \"%s\" but the model writes \"%s\"", ls_pstr(b, text), got);
        return sf_ok();
    }
    int i = 1;
    sf_lesson_cells ca, cb;
    const sf_trace_entry *ea, *eb;
    /* argmax: the last word is the answer (k=4 or "e"), the words before it the row */
    if (mode == 2 && nw < 3) return FAIL(b, w[nw - 1].col + (int)w[nw - 1].n, "expected the row and the answer (e.g. q=3 k=4 or q=3 \"e\")");
    if (!(e = ls_parse_cells(b, r, w, mode == 2 ? nw - 1 : nw, &i, &ca, &ea)).ok) return e;
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
                    return FAIL(b, at, "claim '%s' does not hold: %s[%d,%d] = %g", mode == 4 ? "zero" : mode == 5 ? "above" : "below",
                                ca.name, x, y, (double)v);
            }
        return sf_ok();
    }
    if (mode == 2) {
        int free_axis = 1;
        if (r && !(e = ls_fixed_row(b, &ca, w[1].col, &free_axis)).ok) return e;
        if (i + 1 < nw) return FAIL(b, w[i].col, "expected axis=N, then the answer (e.g. k=4 or \"e\") at the end of the line");
        if (!r) return sf_ok();
        int want, fixed = ca.lo[1 - free_axis];
        int got = ls_argmax_along(&r->tr, ea, free_axis, fixed);
        if (!(e = ls_parse_expected(b, r, ea, free_axis, got, w[i], &want)).ok) return e;
        if (!b->o.check_claims) return sf_ok();
        if (got != want) {
            char wl[48], gl[48];
            ls_axis_label(r, ea, free_axis, want, wl, sizeof wl);
            ls_axis_label(r, ea, free_axis, got, gl, sizeof gl);
            return FAIL(b, w[i].col, "the lesson expects the largest value at %s but the model's is at %s", wl, gl);
        }
        return sf_ok();
    }
    runrec *rb = r;
    if (r && b->st.compare) {
        runkey k;
        runloc loc;
        ls_cmp_key(b, &k, &loc);
        if (!(e = ls_get_run(b, &k, &loc, &rb)).ok) return e;
        if (!(e = ls_main_run(b, &r)).ok) return e; /* may have been evicted: fetch again */
    }
    if (i < nw && ls_weq(w[i], "vs")) {
        i++;
        if (i < nw && !memchr(w[i].p, '=', w[i].n)) {
            if (!(e = ls_parse_cells(b, rb, w, nw, &i, &cb, &eb)).ok) return e;
        } else { /* same name, new selectors */
            word nm = {ca.name, strlen(ca.name), w[1].col};
            word tmp[MAX_WORDS];
            int n2 = 0;
            tmp[n2++] = nm;
            for (int j = i; j < nw && n2 < MAX_WORDS; j++) tmp[n2++] = w[j];
            int k = 0;
            if (!(e = ls_parse_cells(b, rb, tmp, n2, &k, &cb, &eb)).ok) return e;
            i += k - 1;
        }
    } else {
        cb = ca;
    }
    if (i < nw) return FAIL(b, w[i].col, "expected axis=N, 'vs' or the end of the line");
    if (!r || !b->o.check_claims) return sf_ok();
    return compare_cells(b, w[0].col, mode, r, &ca, rb, &cb);
}

/* Interns a model path written in the lesson, resolved against the lesson's folder. */
sf_err ls_model_path(builder *b, word w, int *off) {
    char rel[1024], full[2048];
    if (w.n >= 2 && w.p[0] == '"') { word in = {w.p + 1, w.n - 2, w.col}; ls_wstr(in, rel, sizeof rel); }
    else ls_wstr(w, rel, sizeof rel);
    if (!rel[0]) return FAIL(b, w.col, "expected a model file");
    resolve_path(b, rel, full, sizeof full);
    *off = ls_intern(b, full, strlen(full));
    if (*off < 0) return FAIL(b, w.col, "out of memory");
    if (b->o.check_models) {
        const sf_model *m;
        return get_model(b, *off, -1, b->line, w.col, &m);
    }
    return sf_ok();
}

sf_err ls_check_snapshot(builder *b) {
    if (!b->o.check_models) return sf_ok();
    const sf_model *m;
    return get_model(b, b->st.run.model, b->st.run.snapshot, b->st.loc.snap_line, b->st.loc.snap_col, &m);
}

/* Checks that the file a lesson's @requires names exists; if not, the lesson is skipped after its first step. */
sf_err ls_requires(builder *b, word w) {
    char rel[1024], full[2048];
    if (w.n >= 2 && w.p[0] == '"') { word in = {w.p + 1, w.n - 2, w.col}; ls_wstr(in, rel, sizeof rel); }
    else ls_wstr(w, rel, sizeof rel);
    if (!rel[0]) return FAIL(b, w.col, "expected a file after @requires");
    resolve_path(b, rel, full, sizeof full); /* (titles only too: the lesson index counts the steps that play) */
    if (file_exists(full)) return sf_ok();
    b->skipping = 1;
    const char *md = b->o.model_dir ? b->o.model_dir : getenv("STEPFORMER_MODELS");
    snprintf(b->l->skipped, sizeof b->l->skipped,
             "needs %.200s, which is not there (looked next to the lesson, in the folders above it, in the current folder%s%.200s); "
             "only its first step, how to get it, is shown",
             rel, md && *md ? " and in " : " and in --models DIR or $STEPFORMER_MODELS", md && *md ? md : "");
    return sf_ok();
}

/* Aligns two token sequences by token, a repeated token by occurrence; see lesson.h. */
int sf_lesson_align(const int *a, int na, const int *b, int nb, int *map) {
    if (na != nb || na < 0) return 0;
    for (int i = 0; i < na; i++) {
        int k = 0; /* a[i] is the k-th occurrence of its token in a: match the k-th in b */
        for (int j = 0; j < i; j++) k += a[j] == a[i];
        map[i] = -1;
        for (int j = 0; j < nb; j++)
            if (b[j] == a[i] && k-- == 0) { map[i] = j; break; }
        if (map[i] < 0) return 0;
    }
    return 1; /* (equal lengths and every token of a matched a distinct one of b: a permutation) */
}
