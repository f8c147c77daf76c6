/* interp.c - frames to commands: the difference between two frames, and a reference executor. */
#include "interp.h"

#include <stdio.h>
#include <string.h>

/* Returns 1 if two strings are equal, NULL equal only to NULL. */
static int str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

/* Returns 1 if two runs are the same settings. */
static int run_eq(const sf_lesson_run *a, const sf_lesson_run *b) {
    return str_eq(a->model, b->model) && str_eq(a->input, b->input) && str_eq(a->target, b->target) &&
           a->sampler.temperature == b->sampler.temperature && a->sampler.top_k == b->sampler.top_k &&
           a->seed == b->seed && a->max_new == b->max_new && a->positions == b->positions && str_eq(a->ablate, b->ablate) &&
           (!a->ablate || a->ablate_mode == b->ablate_mode) && a->snapshot == b->snapshot;
}

/* Returns 1 if two selections are the same cells. */
static int cells_eq(const sf_lesson_cells *a, const sf_lesson_cells *b) {
    return strcmp(a->name, b->name) == 0 && a->lo[0] == b->lo[0] && a->lo[1] == b->lo[1] && a->hi[0] == b->hi[0] &&
           a->hi[1] == b->hi[1];
}

/* Returns 1 if two questions are the same question in the same state. */
static int ask_eq(const sf_lesson_ask *a, const sf_lesson_ask *b) {
    if (a->state != b->state) return 0;
    return a->state == 0 || (cells_eq(&a->at, &b->at) && a->free_axis == b->free_axis && a->answer == b->answer);
}

/* Appends a command (the list is sized for the most any move needs). */
static sf_lesson_cmd *push(sf_lesson_cmds *out, int kind) {
    if (out->n >= SF_LESSON_MAX_CMDS) return NULL;
    sf_lesson_cmd *c = &out->c[out->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    return c;
}

/* Writes the commands that turn frame `from` into frame `to`: only what changed, narration always. From -1
 * (nothing shown, or an executor whose state is unknown, e.g. after the learner explored) every part is set,
 * highlights cleared and the question (or its absence) included, so no earlier state survives. */
void sf_lesson_diff(const sf_lesson *l, int from, int to, int lang, sf_lesson_cmds *out) {
    out->n = 0;
    if (!l || to < 0 || to >= l->n_frames) return;
    const sf_lesson_frame *a = from >= 0 && from < l->n_frames ? &l->frames[from] : NULL, *b = &l->frames[to];
    sf_lesson_cmd *c;
    int reran = 0;
    /* the main run */
    int snap_moved = a && a->run.snapshot != b->run.snapshot; /* another snapshot of a series: other weights */
    if (!a || !str_eq(a->run.model, b->run.model) || snap_moved) {
        if ((c = push(out, SF_LCMD_LOAD_MODEL))) { c->slot = 0; c->run = &b->run; }
    }
    if (!a || !str_eq(a->run.model, b->run.model) || snap_moved || !run_eq(&a->run, &b->run)) {
        if ((c = push(out, SF_LCMD_SET_RUN))) { c->slot = 0; c->run = &b->run; }
        reran = 1;
    }
    /* the compared run */
    int was = a && a->compare;
    if (b->compare) {
        if (!was || !str_eq(a->cmp.model, b->cmp.model) || a->cmp.snapshot != b->cmp.snapshot)
            if ((c = push(out, SF_LCMD_LOAD_MODEL))) { c->slot = 1; c->run = &b->cmp; }
        if (!was || !run_eq(&a->cmp, &b->cmp)) {
            if ((c = push(out, SF_LCMD_SET_RUN))) { c->slot = 1; c->run = &b->cmp; }
            reran = 1;
        }
    }
    if (!a || a->compare != b->compare || a->cmp_align != b->cmp_align)
        if ((c = push(out, SF_LCMD_COMPARE))) { c->on = b->compare; c->align = b->cmp_align; }
    if (!a || a->show_ids != b->show_ids || a->heat_range != b->heat_range)
        if ((c = push(out, SF_LCMD_SHOW))) { c->ids = b->show_ids; c->range = b->heat_range; }
    /* cursor and focus */
    if (!a || reran || !sf_cursor_eq(a->cursor, b->cursor))
        if ((c = push(out, SF_LCMD_CURSOR))) c->cursor = b->cursor;
    if (!a || a->panel != b->panel || a->focus_stack != b->focus_stack || a->focus_sublayer != b->focus_sublayer ||
        a->focus_layer != b->focus_layer || a->focus_head != b->focus_head)
        if ((c = push(out, SF_LCMD_FOCUS))) {
            c->panel = b->panel;
            c->stack = b->focus_stack;
            c->sublayer = b->focus_sublayer;
            c->layer = b->focus_layer;
            c->head = b->focus_head;
        }
    /* highlights */
    int same_hl = a && a->n_hl == b->n_hl;
    for (int i = 0; same_hl && i < b->n_hl; i++) same_hl = cells_eq(&a->hl[i], &b->hl[i]);
    if (!same_hl) {
        if (!a || a->n_hl) push(out, SF_LCMD_CLEAR_HIGHLIGHTS); /* from nothing: whatever the executor holds */
        for (int i = 0; i < b->n_hl; i++)
            if ((c = push(out, SF_LCMD_HIGHLIGHT))) c->cells = &b->hl[i];
    }
    /* narration and question */
    if ((c = push(out, SF_LCMD_NARRATE))) {
        c->title = sf_lesson_title(l, to, lang);
        c->text = sf_lesson_text(l, to, 0, lang);
        c->text2 = sf_lesson_text(l, to, 1, lang);
    }
    if (!a || !ask_eq(&a->ask, &b->ask))
        if ((c = push(out, SF_LCMD_QUESTION))) c->ask = &b->ask;
}

/* Starts an interpreter before the first frame. */
void sf_interp_init(sf_interp *it, const sf_lesson *l, int lang) {
    it->lesson = l;
    it->lang = lang == SF_LANG_ZH ? SF_LANG_ZH : SF_LANG_EN;
    it->frame = -1;
}

/* Moves to frame k (clamped); returns 1 and the commands if it moved. */
int sf_interp_goto(sf_interp *it, int k, sf_lesson_cmds *out) {
    out->n = 0;
    if (!it->lesson || it->lesson->n_frames == 0) return 0;
    if (k < 0) k = 0;
    if (k >= it->lesson->n_frames) k = it->lesson->n_frames - 1;
    if (k == it->frame) return 0;
    sf_lesson_diff(it->lesson, it->frame, k, it->lang, out);
    it->frame = k;
    return 1;
}

/* Moves one frame forward; returns 0 at the end. */
int sf_interp_next(sf_interp *it, sf_lesson_cmds *out) {
    out->n = 0;
    if (!it->lesson || it->frame + 1 >= it->lesson->n_frames) return 0;
    return sf_interp_goto(it, it->frame + 1, out);
}

/* Moves one frame back; returns 0 at the start. */
int sf_interp_prev(sf_interp *it, sf_lesson_cmds *out) {
    out->n = 0;
    if (it->frame <= 0) return 0;
    return sf_interp_goto(it, it->frame - 1, out);
}

/* Switches the language; the commands re-narrate the current frame. */
void sf_interp_set_lang(sf_interp *it, int lang, sf_lesson_cmds *out) {
    out->n = 0;
    it->lang = lang == SF_LANG_ZH ? SF_LANG_ZH : SF_LANG_EN;
    if (it->frame < 0) return;
    sf_lesson_cmd *c = push(out, SF_LCMD_NARRATE);
    c->title = sf_lesson_title(it->lesson, it->frame, it->lang);
    c->text = sf_lesson_text(it->lesson, it->frame, 0, it->lang);
    c->text2 = sf_lesson_text(it->lesson, it->frame, 1, it->lang);
}

/* Returns the current frame, or NULL before the first. */
const sf_lesson_frame *sf_interp_frame(const sf_interp *it) {
    if (!it->lesson || it->frame < 0 || it->frame >= it->lesson->n_frames) return NULL;
    return &it->lesson->frames[it->frame];
}

/* Returns 1 if pick is the open question's answer, 0 if not, -1 without an open question. */
int sf_interp_judge(const sf_interp *it, int pick) {
    const sf_lesson_frame *f = sf_interp_frame(it);
    if (!f || f->ask.state != 1 || f->ask.answer < 0) return -1;
    return pick == f->ask.answer;
}

/* Returns a view with nothing loaded. */
sf_lesson_view sf_lesson_view_empty(void) {
    sf_lesson_view v;
    memset(&v, 0, sizeof v);
    v.panel = SF_PANEL_NONE;
    v.stack = v.sublayer = v.layer = v.head = -1;
    v.title = v.text = v.text2 = "";
    return v;
}

/* Executes commands on a view, as an app would. */
void sf_lesson_view_apply(sf_lesson_view *v, const sf_lesson_cmds *cmds) {
    for (int i = 0; i < cmds->n; i++) {
        const sf_lesson_cmd *c = &cmds->c[i];
        switch (c->kind) {
        case SF_LCMD_LOAD_MODEL:
            v->run[c->slot].model = c->run->model;
            v->have_run[c->slot] = 0;
            break;
        case SF_LCMD_SET_RUN:
            v->run[c->slot] = *c->run;
            v->have_run[c->slot] = 1;
            v->cursor = (sf_cursor){0, 0, -1, 0, 0};
            break;
        case SF_LCMD_COMPARE: v->compare = c->on; v->align = c->align; break;
        case SF_LCMD_SHOW: v->ids = c->ids; v->range = c->range; break;
        case SF_LCMD_CURSOR: v->cursor = c->cursor; break;
        case SF_LCMD_FOCUS:
            v->panel = c->panel; v->stack = c->stack; v->sublayer = c->sublayer; v->layer = c->layer; v->head = c->head;
            break;
        case SF_LCMD_CLEAR_HIGHLIGHTS: v->n_hl = 0; break;
        case SF_LCMD_HIGHLIGHT:
            if (v->n_hl < SF_LESSON_MAX_HIGHLIGHTS) v->hl[v->n_hl++] = c->cells;
            break;
        case SF_LCMD_NARRATE: v->title = c->title; v->text = c->text; v->text2 = c->text2; break;
        case SF_LCMD_QUESTION: v->ask = *c->ask; break;
        default: break;
        }
    }
}

/* Returns 1 if two views show the same thing. */
int sf_lesson_view_eq(const sf_lesson_view *a, const sf_lesson_view *b) {
    for (int s = 0; s < 2; s++) {
        if (s == 1 && !(a->compare && b->compare)) break; /* a hidden compared run does not show */
        if (a->have_run[s] != b->have_run[s] || !str_eq(a->run[s].model, b->run[s].model)) return 0;
        if (a->have_run[s] && !run_eq(&a->run[s], &b->run[s])) return 0;
    }
    if (a->compare != b->compare || (a->compare && a->align != b->align) || a->ids != b->ids || a->range != b->range ||
        !sf_cursor_eq(a->cursor, b->cursor) || a->panel != b->panel || a->stack != b->stack ||
        a->sublayer != b->sublayer || a->layer != b->layer || a->head != b->head || a->n_hl != b->n_hl)
        return 0;
    for (int i = 0; i < a->n_hl; i++)
        if (!cells_eq(a->hl[i], b->hl[i])) return 0;
    return str_eq(a->title, b->title) && str_eq(a->text, b->text) && str_eq(a->text2, b->text2) && ask_eq(&a->ask, &b->ask);
}

/* Writes a selection as "name q=3 k=0..2" into out. */
static void cells_describe(const sf_lesson_cells *c, char *out, size_t size) {
    size_t n = (size_t)snprintf(out, size, "%s", c->name);
    for (int a = 0; a < 2 && n < size; a++) {
        if (c->hi[a] < 0) continue;
        const char *ax = a == 0 ? "row" : "col";
        if (c->lo[a] == c->hi[a]) n += (size_t)snprintf(out + n, size - n, " %s=%d", ax, c->lo[a]);
        else n += (size_t)snprintf(out + n, size - n, " %s=%d..%d", ax, c->lo[a], c->hi[a]);
    }
}

/* Writes a run's settings ("model M input "abc" target "x" temperature 0.8 ...") into out. */
static void run_describe(const sf_lesson_run *r, char *out, size_t size) {
    size_t n = (size_t)snprintf(out, size, "input \"%s\"", r->input ? r->input : "");
    if (r->target && n < size) n += (size_t)snprintf(out + n, size - n, " target \"%s\"", r->target);
    if (r->sampler.temperature > 0 && n < size)
        n += (size_t)snprintf(out + n, size - n, " temperature %g top-k %d seed %llu", (double)r->sampler.temperature,
                              r->sampler.top_k, r->seed);
    if (r->max_new > 0 && n < size) n += (size_t)snprintf(out + n, size - n, " generate %d", r->max_new);
    if (!r->positions && n < size) n += (size_t)snprintf(out + n, size - n, " positions off");
    if (r->ablate && n < size) snprintf(out + n, size - n, " ablate %s mode %s", r->ablate, r->ablate_mode == 2 ? "mean" : "zero");
}

/* Writes a one-line description of a command into out; returns out. */
const char *sf_lesson_cmd_describe(const sf_lesson_cmd *c, char *out, size_t size) {
    char tmp[512];
    switch (c->kind) {
    case SF_LCMD_LOAD_MODEL:
        snprintf(out, size, "load %s %s", c->slot ? "compared model" : "model", c->run->model ? c->run->model : "(none)");
        break;
    case SF_LCMD_SET_RUN:
        run_describe(c->run, tmp, sizeof tmp);
        snprintf(out, size, "run %s%s", c->slot ? "(compared) " : "", tmp);
        break;
    case SF_LCMD_COMPARE: snprintf(out, size, "compare %s%s", c->on ? "on" : "off", c->on && c->align ? " align tokens" : ""); break;
    case SF_LCMD_SHOW:
        snprintf(out, size, "show ids %s range %s", c->ids ? "on" : "off", c->range == SF_RANGE_LOCAL ? "local" : "full");
        break;
    case SF_LCMD_CURSOR: snprintf(out, size, "cursor %s", sf_cursor_describe(c->cursor, tmp, (int)sizeof tmp)); break;
    case SF_LCMD_FOCUS: {
        size_t n = (size_t)snprintf(out, size, "focus %s", sf_panel_name(c->panel));
        if (c->stack >= 0 && n < size) n += (size_t)snprintf(out + n, size - n, " %s", c->stack ? "dec" : "enc");
        if (c->layer >= 0 && n < size) n += (size_t)snprintf(out + n, size - n, " L%d", c->layer);
        if (c->sublayer >= 0 && n < size) n += (size_t)snprintf(out + n, size - n, " %s", sf_sublayer_name(c->sublayer));
        if (c->head >= 0 && n < size) snprintf(out + n, size - n, " H%d", c->head);
        break;
    }
    case SF_LCMD_CLEAR_HIGHLIGHTS: snprintf(out, size, "clear highlights"); break;
    case SF_LCMD_HIGHLIGHT:
        cells_describe(c->cells, tmp, sizeof tmp);
        snprintf(out, size, "highlight %s", tmp);
        break;
    case SF_LCMD_NARRATE: snprintf(out, size, "narrate \"%s\"", c->title ? c->title : ""); break;
    case SF_LCMD_QUESTION:
        if (c->ask->state == 0) { snprintf(out, size, "no question"); break; }
        cells_describe(&c->ask->at, tmp, sizeof tmp);
        if (c->ask->state == 1) snprintf(out, size, "ask: where is %s largest?", tmp);
        else snprintf(out, size, "reveal: %s is largest at %s", tmp, c->ask->answer_label[0] ? c->ask->answer_label : "?");
        break;
    default: snprintf(out, size, "?"); break;
    }
    return out;
}
