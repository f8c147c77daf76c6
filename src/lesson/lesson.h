/* lesson.h - lesson files (docs/lesson-format.md): parsed, checked against their models, and resolved
 * into frames, each a complete picture of what the app should show at that point of the lesson.
 *
 * A lesson is a list of `## ` steps; a step with an @ask question gives two frames (asking, then the
 * revealed answer), every other step one. Each frame holds the whole state (model, input, cursor, focus,
 * highlights, narration), computed by replaying the directives from the top of the file, so showing frame
 * k never depends on the frames shown before it. Nothing here draws or needs a display. */
#ifndef SF_LESSON_H
#define SF_LESSON_H

#include <stddef.h>

#include "../core/err.h"
#include "../model/cursor.h"
#include "../model/sample.h"

#define SF_LESSON_MAX_BYTES ((size_t)1 << 20) /* largest lesson file (1 MiB) */
#define SF_LESSON_MAX_FRAMES 1024             /* most frames (steps plus reveals) in one lesson */
#define SF_LESSON_MAX_CELLS 4096              /* most @highlight selections in one lesson, over all frames */
#define SF_LESSON_MAX_HIGHLIGHTS 16           /* most @highlight selections in one frame */
#define SF_LESSON_MAX_MODELS 8                /* most distinct model files one lesson loads */
#define SF_LESSON_MAX_QUOTES 64               /* most quoted values ({...}) in one step's narration */
#define SF_LESSON_MAX_RUNS 64                 /* most distinct (model, input, ...) runs one lesson makes */
#define SF_LESSON_RUN_BUDGET ((size_t)64 << 20) /* bytes of runs kept for reuse beside the ones the frame being
                                                * built needs (its main and compared run): checking a lesson
                                                * holds its models, at most two runs and this much more */

enum { SF_LANG_EN = 0, SF_LANG_ZH = 1, SF_LANG_COUNT = 2 };

/* The panels a lesson can bring forward (`@focus NAME`). */
typedef enum {
    SF_PANEL_NONE = 0, SF_PANEL_MAP, SF_PANEL_TOKENS, SF_PANEL_ATTENTION, SF_PANEL_SCORES, SF_PANEL_POSITIONS,
    SF_PANEL_ACTIVATIONS, SF_PANEL_OUTPUT, SF_PANEL_HEADS, SF_PANEL_LENS, SF_PANEL_COUNT
} sf_panel;

/* How the attention panel colours its heatmaps: every head on the weights' whole range 0 to 1, or each head
 * from 0 to its own largest weight (diffuse heads, whose weights of about 0.1 look like 0 on the full range). */
typedef enum { SF_RANGE_FULL = 0, SF_RANGE_LOCAL = 1 } sf_heat_range;

/* How to run a model: the app tokenizes input, encodes, then decodes (teacher-forced or sampled). */
typedef struct {
    const char *model;   /* path of the checkpoint as resolved against the lesson's folder; NULL if none */
    const char *input;   /* UTF-8: encoder source (encdec) or prompt after <bos> (gpt); "" if none */
    const char *target;  /* UTF-8 fed to the decoder after <bos>, or NULL to generate */
    sf_sampler sampler;  /* temperature 0 = greedy */
    unsigned long long seed; /* sampling seed */
    int max_new;         /* most tokens to generate, as sf_run_opts.max_new: SF_RUN_UNTIL_EOS (from `@generate 0`
                          * or no @generate) = until <eos> or full */
    int positions;       /* 1 = positional encoding as the model has it; 0 = switched off (cfg.pos = none) */
    const char *ablate;  /* heads knocked out (`@ablate`), comma-separated ("dec.L1.cross.H0,dec.L1.cross.H2"), or
                          * NULL: none. The run is then the ablated one (sf_run_interv): every value, claim and quote */
    int ablate_mode;     /* SF_ABLATE_ZERO (1) or SF_ABLATE_MEAN (2) when ablate is set */
    int snapshot;        /* the model is a snapshot series (.snap): the training step of the snapshot shown (`@snapshot
                          * N`), or -1: its last; -1 for a checkpoint */
} sf_lesson_run;

/* A selection of cells of one trace entry: an inclusive index range on each axis. */
typedef struct {
    char name[40];       /* trace entry name, aliases resolved ("dec.L1.cross.H0.probs") */
    int rank;            /* rank of the entry (1 or 2); 0 when not checked against a model */
    int lo[2], hi[2];    /* inclusive range on each axis; hi = -1 means "to the end of the axis" */
    int line, col;       /* where the lesson wrote it (for messages) */
} sf_lesson_cells;

/* A question: the learner clicks where they expect the largest value of one row (or column). */
typedef struct {
    int state;           /* 0 no question; 1 asking; 2 answer revealed */
    sf_lesson_cells at;  /* the entry, with one axis fixed to a single index and the other whole */
    int free_axis;       /* the axis the learner chooses along (1 = key for attention weights) */
    int answer;          /* index of the largest value along free_axis; -1 when models were not loaded */
    char answer_label[32]; /* what sits at that index, e.g. "'e' (key 4)"; "" when unknown */
    int with_scores;     /* `with scores`: an attention weight's question leaves the row's scores shown (the
                          * question is what the softmax makes of them), hiding the weights alone */
} sf_lesson_ask;

/* Everything the app shows at one point of the lesson. Strings point into the lesson; NULL = absent. */
typedef struct {
    int step;            /* index of the `## ` step this frame belongs to */
    int line;            /* line of that step's heading */
    const char *title[SF_LANG_COUNT];
    const char *text[2][SF_LANG_COUNT]; /* narration: [0] before @reveal, [1] after it (reveal frame only) */
    const char *shown[2][SF_LANG_COUNT]; /* the same with its quotes filled from the models (parsed with
                                          * check_models; else NULL) */
    sf_lesson_run run;   /* the main run */
    int compare;         /* 1: a second run is shown side by side */
    sf_lesson_run cmp;   /* the second run (valid when compare) */
    int cmp_align;       /* 1: the second run is drawn aligned to the main run's tokens (`@compare ... align tokens`):
                          * its encoder positions reordered so each row and column shows the same token as the main
                          * run's (sf_lesson_align); 0: side by side by position */
    sf_cursor cursor;    /* where the cursor stands (the same step in both runs) */
    int cursor_index;    /* its index in the main run's schedule; -1 when models were not loaded */
    int panel;           /* sf_panel brought forward; SF_PANEL_NONE for the default layout */
    int focus_stack, focus_sublayer, focus_layer, focus_head; /* -1 = follow the cursor / all heads */
    const sf_lesson_cells *hl; /* (n_hl) cells to highlight in this frame */
    int n_hl;
    sf_lesson_ask ask;
    int show_ids;        /* 1: the token strip shows token ids under the tokens instead of positions (`@show ids`) */
    int heat_range;      /* sf_heat_range of the attention heatmaps (`@show range local|full`) */
} sf_lesson_frame;

typedef struct {
    char file[256];      /* file name used in messages */
    const char *title[SF_LANG_COUNT];  /* the `# ` title */
    const char *intro[SF_LANG_COUNT];  /* prose before the first step */
    sf_lesson_frame *frames;           /* (n_frames) */
    int n_frames;
    int n_steps;
    int missing[SF_LANG_COUNT]; /* steps with narration but none in this language (they fall back to English) */
    sf_lesson_cells *cells;     /* storage behind every frame's hl */
    int n_cells;
    char *pool;                 /* storage behind every string */
    size_t pool_len;
    char skipped[600];          /* "" for a whole lesson; else why it ends after its first step: a file its
                                 * `@requires` names is missing (the first step says how to get it) */
    int err_line, err_col;      /* after a failed parse: where (1-based, columns count characters); 0 if the whole file was refused */
} sf_lesson;

typedef struct {
    int check_models;    /* 1: load every model, run it, check cursors, layers, heads and cells, find answers */
    int check_claims;    /* 1 (with check_models): also check @expect lines and `expect` of @ask */
    const char *model_dir; /* when set, a model is looked for here first (by file name), e.g. stand-in models;
                            * when NULL, $STEPFORMER_MODELS if set (e.g. the folder holding gpt2_124M.bin) */
} sf_lesson_opts;

/* Parses a lesson from (buf, len); filename names it in messages and is the folder models are found from.
 * Apps parse with check_models = 1 (cursor indices and answers need the models); fuzzers may use {0}.
 * On failure the lesson is empty, err_line/err_col say where, and the message reads
 * "file:line:col: what was expected". Never aborts; allocation is bounded by the limits above. */
sf_err sf_lesson_parse(const char *buf, size_t len, const char *filename, const sf_lesson_opts *o, sf_lesson *l);

/* Reads path (at most SF_LESSON_MAX_BYTES) and parses it. */
sf_err sf_lesson_load(const char *path, const sf_lesson_opts *o, sf_lesson *l);

/* Returns 1 if (buf, len) looks like a lesson: a directive (a line starting with '@', outside a ``` block) or a
 * translated title or step heading ("# [zh] ", "## [zh] "). A folder's README.md has neither; `lesson --check`
 * skips such a file ("skipped: not a lesson") but checks, and fails, a lesson that is broken. */
int sf_lesson_sniff(const char *buf, size_t len);

/* Reads path (at most SF_LESSON_MAX_BYTES) and returns sf_lesson_sniff of it: 1 a lesson, 0 not one, -1 if it
 * cannot be read (the load then says why). */
int sf_lesson_file_sniff(const char *path);

void sf_lesson_free(sf_lesson *l);

/* Returns the language code for "en" / "zh", or -1 if unknown. */
int sf_lang_parse(const char *s);
/* Returns "en" or "zh". */
const char *sf_lang_name(int lang);
/* Returns the name of a panel ("attention", ...), or "?". */
const char *sf_panel_name(int panel);
/* Returns the panel with that name, or SF_PANEL_NONE. */
int sf_panel_parse(const char *s);

/* Returns a frame's title in lang, falling back to English, then to "". */
const char *sf_lesson_title(const sf_lesson *l, int frame, int lang);
/* Returns part (0 or 1) of a frame's narration in lang, falling back to English, then to "". */
const char *sf_lesson_text(const sf_lesson *l, int frame, int part, int lang);

/* Returns part (0 or 1) of a frame's narration in lang as shown: its quotes filled from the models when the
 * lesson was parsed with check_models (else as sf_lesson_text), the same fallback to English. */
const char *sf_lesson_shown(const sf_lesson *l, int frame, int part, int lang);

/* ---- values of the run quoted in narration (docs/lesson-format.md, "Quoting the run") ------------- */

/* One quote, `{NAME axis=N axis=M [%.2f]}` (a value), `{token enc|dec N}` (a token), `{id enc|dec N}` (its
 * id), any after `cmp` for the compared run. Offsets count bytes from the opening brace. */
typedef struct {
    int cmp;                 /* 1: read from the compared run */
    int token;               /* 1: the token at a position; 0: the value of one cell of an entry */
    int id;                  /* with token: 1 for {id enc N}, the token's id rather than its text */
    int stack, pos;          /* token: SF_STACK_ENC or SF_STACK_DEC, and the position */
    size_t pos_at;           /* token: where the position is */
    size_t name_at, name_len; /* value: the entry's name */
    int n_sel;               /* value: the axis=N selectors (at most 2) */
    size_t sel_at[2], sel_len[2];
    char fmt[8];             /* value: a printf format for a float: %.Nf, %.Ne or %.Ng (N 0-6); "%.2f" if none */
    size_t len;              /* bytes of the whole quote, braces included */
} sf_quote;

/* Parses the quote at p (p[0] == '{', at most n bytes, not past the end of its line). Returns 1; or 0 with
 * *err_at the byte offset of what is wrong and *why what was expected. */
int sf_quote_parse(const char *p, size_t n, sf_quote *q, size_t *err_at, const char **why);

/* Returns the byte offset of the first typed decimal number in s(n) outside quotes ("0.72", "0,72"), or -1.
 * Narration quotes its numbers from the run instead; the parser refuses typed ones. */
long sf_lesson_find_decimal(const char *s, size_t n);

/* Writes text into out (size bytes, always terminated) with every quote replaced by what it names, read
 * from tr (the main run) or cmp (the compared run, may be NULL) -- the traces the panels draw -- and each
 * `\{` by `{`. A quote that names nothing in these traces becomes "?" and counts in *unfilled (may be
 * NULL). Returns the length the whole text needs (as snprintf). Tokens are written as the tokens panel
 * writes them ("a", "<bos>", a space as U+2423). */
size_t sf_lesson_fill(const char *text, const sf_trace *tr, const sf_trace *cmp, char *out, size_t size, int *unfilled);

/* Returns the entry of a trace that `name` names, with the aliases {enc,dec}.out and *.L<n>.<sub>.out; or NULL. */
const sf_trace_entry *sf_lesson_entry(const sf_trace *tr, const char *name);

/* Returns 1 if an open question (a->state 1) hides row `row` of entry `name` until its answer: the asked
 * row of the asked entry, and what would give it away -- for attention weights the same head's scores and
 * scaled scores, for dec.probs the logits and what sampling drew from (dec.sample.probs). */
int sf_lesson_hides(const sf_lesson_ask *a, const char *name, int row);

/* Aligns two token sequences by token: when b is a permutation of a (the same tokens, each as often), writes
 * into map[i] (na ints) the position in b of a's i-th token -- a token that repeats is matched by occurrence,
 * its k-th time in a with its k-th time in b -- and returns 1; otherwise returns 0 and map is unspecified. */
int sf_lesson_align(const int *a, int na, const int *b, int nb, int *map);

/* Returns the index along a's free axis of the largest value of the asked row in the given trace (first on
 * ties), or -1 if the entry or index is not in the trace. The app uses this to judge a learner's click. */
int sf_lesson_ask_answer(const sf_trace *tr, const sf_lesson_ask *a);

#endif
