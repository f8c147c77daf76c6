/* view.h - what the panels read: the model, its trace, the cursor, and the learner's focus.
 * The application owns and changes it; panels only read it (and the trace through it). */
#ifndef VZ_VIEW_H
#define VZ_VIEW_H

#include "model/cursor.h"
#include "model/heads.h"
#include "model/trace.h"
#include "draw.h"
#include "strings.h"

#define VZ_MAX_BLOCKS (2 * 3 * 48)

typedef struct { int stack, layer, sub; } vz_block; /* one attention sub-layer: (sf_stack, layer, sf_sublayer) */

typedef struct vz_view {
    const sf_model *m;
    const sf_seq *s;
    const sf_trace *tr;
    const sf_schedule *sched;
    sf_cursor cur;        /* the step the learner is at */
    int step;             /* its index in sched */
    int n_prompt;         /* decoder positions given rather than generated */
    vz_block blocks[VZ_MAX_BLOCKS]; /* every attention sub-layer, in the order the model runs them */
    int n_blocks;
    int block;            /* focused block (index into blocks) */
    int head;             /* focused head */
    int enlarged;         /* 1: the attention panel shows only the focused head, large */
    float temperature;    /* sampling temperature the run used */
    unsigned long long seed; /* the sampler's seed the run used (printed beside a temperature above 0) */
    int top_k;            /* the sampler's top-k the run used (0: every token; the output legend says which) */
    float heat_zoom;      /* wheel zoom of the attention heatmaps (1 = fit) */
    int heat_scroll;      /* rows a long heatmap's window is moved from the cursor's query (the up / down keys) */
    int focus_panel;      /* vz_panel the learner clicked last, or -1 */
    const char *narration; /* a lesson's text, or NULL: then the panel explains the current op */
    const char *narration_title; /* a lesson step's title shown above its text, or NULL */
    vz_highlight hl[VZ_MAX_HIGHLIGHTS]; /* cells a lesson highlights */
    int n_hl;
    const char *input;    /* the input text */
    int help;             /* 1: the help overlay is shown */
    const char *status;   /* a transient message for the top bar, or NULL */
    /* set while a lesson plays (src/viz/lesson_player.h); all zero otherwise */
    int lesson;           /* 1: a lesson is playing: a taller narration pane, lesson keys in the help */
    const char *lesson_info; /* the narration pane's side column: lesson, step k of n, keys */
    const char *verdict;  /* a question's verdict ("Right." / "Not quite: ..."), or NULL */
    int verdict_ok;       /* 1: the verdict is "right" */
    vz_highlight hide;    /* a question's asked row (name "" = none): hidden until the answer is revealed */
    const struct vz_view *cmp; /* a second run drawn beside this one in the attention panel (@compare), or NULL */
    const char *run_label; /* this run's label in a comparison ("left: input abcdefgh") */
    const char *id_prefix; /* prefix of this run's heatmap texture ids ("" or "cmp.") */
    const struct vz_view *diff_ref; /* the run this one is compared with (same model): attention cells whose
                                     * weight differs from it (|a-b| / (1+|a|) > 1e-3, as @expect differ) get a dot */
    const struct vz_view *partner; /* the other run of a comparison (on either side), or NULL */
    const int *align;     /* a compared run aligned to the main run by token (`@compare ... align tokens`), or NULL:
                           * on every axis over the encoder's positions, place i shows this run's position align[i],
                           * where the main run's i-th token stands in this run (rows and columns reordered, numbers
                           * unchanged); n_src entries */
    int show_ids;         /* 1: the token strip shows each token's id under it instead of its position */
    int heat_local;       /* 1: each attention heatmap is coloured from 0 to its own largest weight (else 0 to 1) */
    int pos_off;          /* 1: the model's positional encoding is switched off for this run (m->cfg.pos reads none) */
    /* how the window shows it (the app copies its settings here each frame) */
    int projector;        /* 1: projector mode */
    int spotlight;        /* the spotlight asked for (vz_panel), or -1: the lesson's focus, else attention */
    int act_stage;        /* the residual-stream stage the tokens x channels heatmap shows, or -1: the cursor's */
    /* experiments (docs/experiments.md): all computed in src/model by the app, NULL / 0 when absent */
    const sf_interv *iv;        /* the heads knocked out of this run (the trace is the ablated run's), or NULL */
    const sf_trace *base_tr;    /* while heads are knocked out: the original run's trace (its dec.probs behind the bars) */
    const char *ablated;        /* "ablated (zero): dec.L1.cross.H2 ..." for the top bar and the output panel, or NULL */
    const sf_head_scores *roles; /* (n_roles) head-role scores of this run, for the grid's role tags, or NULL */
    int n_roles;
    int lens_too_big;           /* 1: the run's logit lens was not computed (VZ_LENS_MAX_FLOATS) */
    /* a snapshot series playing (gui --snapshots, a lesson's @snapshot): the timeline slider; tl_n 0 = none */
    int tl_n;             /* snapshots in the series */
    int tl_k;             /* the one whose weights the model holds */
    const int *tl_steps;  /* (tl_n) each snapshot's training step, increasing */
} vz_view;

/* Fills v->blocks from the model's configuration and resets the focus. */
void vz_view_init_blocks(vz_view *v);

/* Returns 1 if the cursor has reached the step that computes row `row` of entry e. */
int vz_row_visible(const vz_view *v, const sf_trace_entry *e, int row);

/* Returns how many leading rows (of n) of entry e the cursor has computed. */
int vz_rows_visible(const vz_view *v, const sf_trace_entry *e, int n);

/* Returns the trace entry named by the printf-style format, or NULL. */
const sf_trace_entry *vz_entry(const vz_view *v, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Writes the trace name prefix of a block ("dec.L1.cross") into out; returns out. */
const char *vz_block_prefix(vz_block b, char *out, int size);
/* Writes a reader's title of a block ("Decoder masked self-attention (no looking ahead), layer 1") in lang
 * into out; returns out. */
const char *vz_block_title(vz_block b, int lang, char *out, int size);

/* Writes where the cursor is ("decoder . token 3 . layer 1 cross-attention . scores") in lang into out. */
const char *vz_cursor_text(const vz_view *v, int lang, char *out, int size);
/* The same at a level of brevity: 0 the whole words, 1 short ones ("dec . tok 3 . L0 masked self-attn .
 * weighted sum"), 2 short ones without the operation ("dec . tok 3 . L0 masked self-attn"). */
const char *vz_cursor_text_at(const vz_view *v, int lang, int level, char *out, int size);

/* Returns the position of the run shown at place i of an axis over stack's positions: align[i] for the
 * encoder of a run aligned by token, else i. */
int vz_view_pos(const vz_view *v, int stack, int i);
/* Returns the place at which position pos of stack is shown (the inverse of vz_view_pos), or -1. */
int vz_view_place(const vz_view *v, int stack, int pos);
/* Reorders heatmap h as v shows its entry: the rows and columns of axes over the encoder's positions through
 * v->align (nothing when v is not aligned). */
void vz_view_align_heat(const vz_view *v, vz_heat *h);

/* Returns the query row the scores panel shows for the focused block and head: the one row a lesson
 * highlights there (its scores, scaled scores, mask or weights; every such highlight on that row) once it is
 * computed, else the cursor's token when the cursor is in that stack, else the last computed row; -1 when
 * no row is computed yet. */
int vz_view_query(const vz_view *v);

/* Writes "dec L1 H2 probs[q=3,k=1]" for a cell of an entry into out; returns out. */
const char *vz_cell_name(const sf_trace_entry *e, int row, int col, char *out, int size);

/* Returns one sentence saying what the cursor's operation computes, and its formula, in lang. */
const char *vz_op_sentence(const vz_view *v, int lang);
const char *vz_op_formula(const vz_view *v, int lang);

#endif
