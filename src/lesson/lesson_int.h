/* lesson_int.h - what the three parts of the lesson reader share (internal to src/lesson, not a public
 * header): the builder that lesson_parse.c fills line by line, lesson_replay.c turns into frames and
 * lesson_check.c checks against the models it runs. */
#ifndef SF_LESSON_INT_H
#define SF_LESSON_INT_H

#include <stddef.h>
#include <string.h>

#include "../core/io.h"
#include "../model/interv.h"
#include "../model/lens.h"
#include "../model/run.h"
#include "../model/trace.h"
#include "lesson.h"

#define MAX_WORDS 24
#define RUN_CACHE 4 /* most runs kept at once (the frame needs at most two; the rest within SF_LESSON_RUN_BUDGET) */

/* ---- internal records -------------------------------------------------------------------------- */

typedef struct {       /* a run as string offsets into the pool (-1 = none) */
    int model, input, target;
    sf_sampler sampler;
    unsigned long long seed;
    int max_new, positions;
    int ablate, ablate_mode; /* `@ablate`: pool offset of the head names (-1 none) and SF_ABLATE_ZERO|MEAN */
    int snapshot;      /* @snapshot N of a series, or -1 (the last / a checkpoint) */
} runkey;

typedef struct {       /* where a run's settings were written, for messages */
    int model_line, model_col;
    int input_line, input_col, input_quoted;
    int target_line, target_col, target_quoted;
    int ablate_line, ablate_col;
    int snap_line, snap_col; /* the @snapshot line, or 0 */
} runloc;

typedef struct {
    int path;          /* pool offset of the resolved path */
    int snapshot;      /* of a series: the step of the snapshot whose weights m holds (-1: the last) */
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
    sf_interv iv;          /* `@ablate`: the heads knocked out (seq.interv points here) */
    sf_seq base;           /* and the original run it was prepared from (base.mem NULL when not ablated) */
    sf_lens lens;          /* the logit lens, in the trace as dec.L{l}.lens.probs (none above SF_LESSON_LENS_MAX_FLOATS) */
} runrec;

/* The largest logit lens (decoder layers x positions x vocabulary floats) a lesson run adds to its trace, as the
 * window does (VZ_LENS_MAX_FLOATS): every tiny model's; not a GPT-2's. */
#define SF_LESSON_LENS_MAX_FLOATS ((size_t)4 << 20)

typedef struct {       /* a frame as offsets, before the pool stops growing */
    int step, line;
    int title[SF_LANG_COUNT];
    int text[2][SF_LANG_COUNT];
    int shown[2][SF_LANG_COUNT]; /* the text with its quotes filled (-1: not filled) */
    runkey run, cmp;
    int compare, cmp_align;
    int show_ids, heat_range;
    sf_cursor cursor;
    int cursor_index;
    int panel, fstack, fsub, flayer, fhead;
    int hl_first, n_hl;
    sf_lesson_ask ask;
} iframe;

typedef struct {       /* a quote in the step's narration, checked against each frame that shows it */
    int part;          /* 0 before @reveal, 1 after */
    int line, col;     /* where its '{' is */
    const char *p;     /* its text in the lesson's buffer */
    size_t n;          /* its bytes, braces included */
} quote_rec;

typedef struct {       /* the replayed state of the lesson */
    runkey run;
    runloc loc;
    int compare;
    int cmp_model, cmp_input, cmp_target, cmp_positions; /* overrides; -1 = as the main run, -2 target none */
    int cmp_align, align_line, align_col; /* `align tokens` and where it was written */
    runloc cmploc;
    int show_ids, heat_range; /* @show */
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
    int skipping;         /* a file `@requires` names is missing: the lesson ends with its first step */
    int step_title[SF_LANG_COUNT];
    sf_buf text[2][SF_LANG_COUNT];
    int para[2][SF_LANG_COUNT];   /* a blank line is pending before the next prose line */
    int lang, part;
    sf_lesson_cells hl[SF_LESSON_MAX_HIGHLIGHTS];
    int hl_line[SF_LESSON_MAX_HIGHLIGHTS], hl_col[SF_LESSON_MAX_HIGHLIGHTS], hl_row[SF_LESSON_MAX_HIGHLIGHTS];
    int n_hl;
    sf_lesson_ask ask;
    int ask_line, ask_col, ask_row;
    quote_rec quotes[SF_LESSON_MAX_QUOTES];
    int n_quotes;
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

/* ---- lesson_parse.c: text, words, the string pool ------------------------------------------------ */

/* Returns a failure "file:line:col: msg" and records line and column in the lesson. */
sf_err ls_fail_at(builder *b, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define FAIL(b, col, ...) ls_fail_at((b), (b)->line, (col), __VA_ARGS__)

/* Returns 1 if word w is exactly the string s. */
static inline int ls_weq(word w, const char *s) { return strlen(s) == w.n && memcmp(w.p, s, w.n) == 0; }
/* Returns the pool string at offset off, or NULL for -1. */
static inline const char *ls_pstr(const builder *b, int off) { return off < 0 ? NULL : (const char *)b->pool.data + off; }

/* Copies a word into a NUL-terminated buffer (truncating); returns out. */
char *ls_wstr(word w, char *out, size_t size);
/* Parses a whole non-negative decimal integer (at most 9 digits) from p(n); returns 1 on success. */
int ls_parse_uint(const char *p, size_t n, int *out);
/* Parses a finite decimal float from a word; returns 1 on success. */
int ls_parse_float(word w, float *out);
/* Appends a NUL-terminated copy of p(n) to the pool; returns its offset or -1 when memory is short. */
int ls_intern(builder *b, const char *p, size_t n);
/* Interns the text of a word, removing quotes and \" \\ escapes; returns the offset or -1. */
int ls_intern_text(builder *b, word w);
/* Parses `on` / `off`; returns 1/0, or -1. */
int ls_on_off(word w);
/* Reads the rest of a directive line as one text argument (quoted, or verbatim and trimmed). */
sf_err ls_rest_text(builder *b, const char *s, size_t n, const char *what, int *off, int *col, int *quoted);

/* ---- lesson_replay.c: the state machine that turns steps into frames ----------------------------- */

/* Returns the key and locations of the compare run (main run with overrides). */
void ls_cmp_key(const builder *b, runkey *k, runloc *loc);
/* Ends the current step: emits its frame (or its reveal frame) and clears per-step state. */
sf_err ls_end_step(builder *b);
/* Moves the cursor to the start of the (new) main run's schedule. */
void ls_reset_cursor(builder *b);
/* Checks (with check_models) that the current run's @snapshot names a step of its model's series. */
sf_err ls_check_snapshot(builder *b);
/* Sets the cursor to the first step of the main run when it was reset. */
sf_err ls_settle_cursor(builder *b, runrec **out);
/* Parses `[enc|dec] [token N|all [tokens]] [L<n>] [sublayer] [op] [end]`, or `start` / `end`. */
sf_err ls_do_goto(builder *b, const word *w, int nw);
/* `@next [N]` / `@prev [N]`: moves the cursor N schedule steps. */
sf_err ls_do_move(builder *b, const word *w, int nw, int dir);
/* `@focus PANEL [enc|dec] [L<n>] [self|cross|ffn] [H<n>|all]`, or `@focus none`. */
sf_err ls_do_focus(builder *b, const word *w, int nw);
/* Returns the first row selected along axis 0 when that axis counts queries or positions, else -1. */
int ls_first_row(const sf_trace_entry *e, const sf_lesson_cells *c);
/* `@highlight NAME [axis=N[..M]]...` */
sf_err ls_do_highlight(builder *b, const word *w, int nw);
/* `@ask NAME axis=N [expect axis=M | expect "text"]` */
sf_err ls_do_ask(builder *b, const word *w, int nw, int at_col);

/* `@reveal`: the asking frame ends here; what follows makes the answer frame. */
sf_err ls_do_reveal(builder *b, const word *w, int nw, int at_col);
/* `@compare off` or `@compare SETTING VALUE ...`: switches the second run off, or changes its settings. */
sf_err ls_do_compare(builder *b, const word *w, int nw, int at_col);
/* `@show ids [on|off]`, `@show range local|full`: what the token strip and the attention heatmaps show. */
sf_err ls_do_show(builder *b, const word *w, int nw, int at_col);

/* ---- lesson_quote.c: quoted values ------------------------------------------------------------- */

/* Checks one quote of the frame being built against its run (asking: the frame is a question's, which
 * hides the asked row); errors point at the quote. */
sf_err ls_check_quote(builder *b, const quote_rec *qr, int asking);

/* ---- lesson_check.c: models, runs, trace entries and claims -------------------------------------- */

/* Frees a run and everything it holds (NULL is fine). */
void ls_run_free(runrec *r);
/* Writes the trace name `name` stands for under config c into out ({enc,dec}.out and *.L<n>.<sub>.out
 * become the entry holding that output). */
void ls_canon_name(const sf_config *c, const char *name, char out[64]);
/* Returns the vocab id whose text is p(n) ("e", "<eos>") among the first V ids, or -1. */
int ls_vocab_id(const sf_tokenizer *t, int V, const char *p, size_t n);
/* Returns the axis (0 or 1) named by s for an entry (NULL: syntax only), or -1: row/col, a name or a prefix. */
int ls_axis_of(const sf_trace_entry *e, const char *s);
/* Returns the run for key, making it if needed (other runs are kept within SF_LESSON_RUN_BUDGET); errors
 * point at loc. Pointers to runs the current frame does not need may be freed by the next call. */
sf_err ls_get_run(builder *b, const runkey *key, const runloc *where, runrec **out);
/* Returns the main run (or NULL in syntax-only mode). */
sf_err ls_main_run(builder *b, runrec **r);
/* Parses NAME followed by axis=N or axis=N..M selectors from w[*i], advancing *i past them. */
sf_err ls_parse_cells(builder *b, const runrec *r, const word *w, int nw, int *i, sf_lesson_cells *out,
    const sf_trace_entry **entry);
/* Checks that row `row` of entry `name` is on screen at the run's cursor; errors point at (line, col). */
sf_err ls_check_computed(builder *b, const runrec *r, int cursor_index, const char *name, int row, int line,
    int col, const char *what);
/* Returns the printable label of index idx along axis a of an entry in a run ("'e' (key 4)"). */
void ls_axis_label(const runrec *r, const sf_trace_entry *e, int a, int idx, char *out, size_t size);
/* Returns the index of the largest value along axis `free` of entry e with the other axis fixed at `fixed`. */
int ls_argmax_along(const sf_trace *tr, const sf_trace_entry *e, int free_axis, int fixed);
/* Parses `axis=N` or "text" naming one index along the free axis; on success *idx is that index. */
sf_err ls_parse_expected(builder *b, const runrec *r, const sf_trace_entry *e, int free_axis, int answer, word w,
    int *idx);
/* Checks that a selection has one axis fixed to a single index and the other whole; returns the free axis. */
sf_err ls_fixed_row(builder *b, const sf_lesson_cells *c, int col, int *free_axis);
/* `@expect same|differ SEL [vs [NAME] SEL]`, `@expect argmax SEL axis=N|"text"`, `@expect output TEXT`. */
sf_err ls_do_expect(builder *b, const word *w, int nw, const char *rest, size_t rest_n);
/* Interns a model path written in the lesson, resolved against the lesson's folder. */
sf_err ls_model_path(builder *b, word w, int *off);
/* Handles `@requires FILE`: when models are checked and FILE (resolved as @model resolves it) is missing, the
 * lesson is cut after its first step and l->skipped says why. */
sf_err ls_requires(builder *b, word w);

#endif
