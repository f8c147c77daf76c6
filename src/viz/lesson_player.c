/* lesson_player.c - a lesson played in the app: the interpreter's commands executed on a vz_app, a
 * compared second run for @compare, questions answered by clicks, and the lesson index. */
#include "lesson_player.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "panels.h"
#include "strings.h"

/* Returns 1 if two strings are equal, NULL equal only to NULL. */
static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

/* Returns 1 if two runs have the same settings (the model path included). */
static int same_run(const sf_lesson_run *a, const sf_lesson_run *b) {
    return same_str(a->model, b->model) && same_str(a->input, b->input) && same_str(a->target, b->target) &&
           a->sampler.temperature == b->sampler.temperature && a->sampler.top_k == b->sampler.top_k &&
           a->seed == b->seed && a->max_new == b->max_new && a->positions == b->positions && same_str(a->ablate, b->ablate) &&
           (!a->ablate || a->ablate_mode == b->ablate_mode) && a->snapshot == b->snapshot;
}

/* Shows a message in the app's top bar for a few seconds. */
static void tell(vz_player *p, const char *msg) {
    if (!p->have_app) return;
    snprintf(p->app.status, sizeof p->app.status, "%.700s", msg);
    p->app.status_ms = SDL_GetTicks();
}

/* Shows an error in the app's top bar (and keeps it in p->err). */
static void say(vz_player *p, const char *msg) {
    snprintf(p->err, sizeof p->err, "%.500s", msg);
    tell(p, msg);
}

sf_err vz_player_init(vz_player *p, SDL_Renderer *r, const vz_font_paths *fp, int lang) {
    memset(p, 0, sizeof *p);
    p->r = r;
    p->fp = *fp;
    p->lang = lang == SF_LANG_ZH ? SF_LANG_ZH : SF_LANG_EN;
    p->zoom = 1.0f;
    p->verdict = -1;
    p->panel = SF_PANEL_NONE;
    p->stack = p->sublayer = p->layer = p->head = -1;
    return sf_ok();
}

/* Frees the compared run's record, trace and schedule (the model stays). */
static void free_cmp_run(vz_player *p) {
    if (!p->have_crun) return;
    sf_trace_free(&p->ctr);
    sf_schedule_free(&p->csched);
    sf_seq_free(&p->cs);
    p->have_crun = 0;
}

void vz_player_free(vz_player *p) {
    free_cmp_run(p);
    if (p->have_cm) sf_model_free(&p->cm);
    if (p->have_app) vz_app_free(&p->app);
    if (p->have_lesson) sf_lesson_free(&p->lesson);
    vz_index_free_thumbs(p->index, p->n_index);
    if (p->have_ictx) vz_ctx_free(&p->ictx);
    if (p->itext) vz_text_destroy(p->itext);
    memset(p, 0, sizeof *p);
}

/* ---- executing commands ------------------------------------------------------------------------ */

/* Loads the main run's model (slot 0) unless the app already holds that file; returns the error. */
static sf_err load_main(vz_player *p, const sf_lesson_run *run) {
    if (!run->model) return sf_fail("the lesson has no @model");
    if (p->have_app && !strcmp(p->model_path, run->model)) {
        if (p->app.snaps) { /* the same series: only another snapshot's weights */
            int k = run->snapshot < 0 ? p->app.snaps->n - 1 : sf_snapshots_at_step(p->app.snaps, run->snapshot);
            if (vz_app_snapshot(&p->app, k)) p->have_run = 0;
        }
        return sf_ok();
    }
    sf_model m;
    sf_snapshots *series = NULL; /* a snapshot series (@snapshot), else a checkpoint */
    sf_err e = sf_ok();
    if (vz_is_series(run->model)) {
        series = calloc(1, sizeof *series);
        e = series ? sf_snapshots_load(run->model, series) : sf_fail("out of memory");
        if (e.ok) e = vz_model_clone(&series->model, &m);
        else { free(series); series = NULL; }
    } else {
        e = sf_checkpoint_load(run->model, &m);
    }
    if (!e.ok) {
        if (series) { sf_snapshots_free(series); free(series); }
        return e;
    }
    if (!p->have_app) {
        vz_run_cfg rc = {run->max_new, (unsigned)run->seed, run->sampler.temperature};
        if (!(e = vz_app_init(&p->app, p->r, &p->fp, &m, run->input, &rc)).ok) return e;
        p->have_app = 1;
        p->app.zoom = p->zoom;
        p->app.lang = p->lang; /* (set directly: vz_app_set_lang would say so in the top bar) */
        p->app.projector = p->projector;
        p->app.theme = p->theme;
        p->app.cmap = p->cmap;
    } else if (!(e = vz_app_set_model(&p->app, &m, run->input)).ok) {
        if (series) { sf_snapshots_free(series); free(series); }
        return e;
    }
    if (series) { /* the timeline slider, on the lesson's snapshot */
        int k = run->snapshot < 0 ? series->n - 1 : sf_snapshots_at_step(series, run->snapshot);
        if (!(e = vz_app_attach_snapshots(&p->app, series, k)).ok) return e;
    }
    snprintf(p->model_path, sizeof p->model_path, "%s", run->model);
    p->have_run = 0;
    return sf_ok();
}

/* Runs the main model as run says, unless it already shows exactly that run. */
static sf_err set_main_run(vz_player *p, const sf_lesson_run *run) {
    if (!p->have_app) return sf_fail("no model loaded");
    if (p->have_run && same_run(&p->run, run)) return sf_ok();
    vz_run_spec rs = {run->input, run->target, run->sampler, run->seed, run->max_new, run->positions, run->ablate,
                      run->ablate_mode};
    sf_err e = vz_app_run(&p->app, &rs);
    if (!e.ok) return e;
    p->run = *run;
    p->have_run = 1;
    return sf_ok();
}

/* Loads the compared run's model (slot 1) unless it is already loaded. */
static sf_err load_cmp(vz_player *p, const sf_lesson_run *run) {
    if (!run->model) return sf_fail("the compared run has no model");
    if (p->have_cm && !strcmp(p->cm_path, run->model) && p->cm_snap == run->snapshot) return sf_ok();
    sf_model m;
    sf_snapshots s;
    sf_err e = sf_ok();
    if (vz_is_series(run->model)) { /* a series: the compared run's snapshot as a model of its own */
        if ((e = sf_snapshots_load(run->model, &s)).ok) {
            sf_snapshots_select(&s, run->snapshot < 0 ? s.n - 1 : sf_snapshots_at_step(&s, run->snapshot));
            e = vz_model_clone(&s.model, &m);
            sf_snapshots_free(&s);
        }
    } else {
        e = sf_checkpoint_load(run->model, &m);
    }
    if (!e.ok) return e;
    free_cmp_run(p);
    if (p->have_cm) sf_model_free(&p->cm);
    p->cm = m;
    p->have_cm = 1;
    snprintf(p->cm_path, sizeof p->cm_path, "%s", run->model);
    p->cm_snap = run->snapshot;
    return sf_ok();
}

/* Runs the compared model as run says into its own record, trace and schedule. */
static sf_err set_cmp_run(vz_player *p, const sf_lesson_run *run) {
    if (!p->have_cm) return sf_fail("no compared model loaded");
    if (p->have_crun && same_run(&p->crun, run)) return sf_ok();
    free_cmp_run(p);
    p->cvar = p->cm;
    if (!run->positions) p->cvar.cfg.pos = SF_POS_NONE;
    sf_err e = sf_seq_build(&p->cs, &p->cvar.cfg);
    if (!e.ok) return e;
    sf_run_opts o;
    memset(&o, 0, sizeof o);
    o.input = run->input;
    o.target = run->target;
    o.max_new = run->max_new;
    o.sampler = run->sampler;
    o.seed = run->seed;
    p->c_prompt = 0;
    memset(&p->ctr, 0, sizeof p->ctr);
    memset(&p->csched, 0, sizeof p->csched);
    e = sf_run(&p->cvar, &p->cs, &o, &p->c_prompt);
    if (e.ok) e = sf_trace_build(&p->ctr, &p->cvar, &p->cs);
    if (e.ok) e = sf_schedule_build(&p->csched, &p->cvar.cfg, p->cs.n_src, p->cs.n_tgt);
    p->have_crun = 1; /* (free_cmp_run releases whatever was built, also on failure) */
    if (!e.ok) { free_cmp_run(p); return e; }
    p->crun = *run;
    if (p->have_app) p->app.ctx.generation++; /* the compared heatmaps' numbers changed */
    return sf_ok();
}

/* Moves the app's cursor to step c of its schedule; returns 0 if the run has no such step. */
static int put_cursor(vz_player *p, sf_cursor c) {
    if (!p->have_app) return 0;
    for (int i = 0; i < p->app.sched.n; i++)
        if (sf_cursor_eq(p->app.sched.steps[i], c)) { vz_app_goto(&p->app, i); return 1; }
    vz_app_goto(&p->app, 0);
    return 0;
}

/* Executes one batch of interpreter commands on the player's state and the app. */
static void exec(vz_player *p, const sf_lesson_cmds *cmds) {
    for (int i = 0; i < cmds->n; i++) {
        const sf_lesson_cmd *c = &cmds->c[i];
        sf_err e = sf_ok();
        switch (c->kind) {
        case SF_LCMD_LOAD_MODEL: e = c->slot ? load_cmp(p, c->run) : load_main(p, c->run); break;
        case SF_LCMD_SET_RUN: e = c->slot ? set_cmp_run(p, c->run) : set_main_run(p, c->run); break;
        case SF_LCMD_COMPARE:
            p->compare = c->on;
            if (p->align != c->align && p->have_app) p->app.ctx.generation++; /* (the reordered heatmaps) */
            p->align = c->align;
            break;
        case SF_LCMD_SHOW: p->show_ids = c->ids; p->heat_range = c->range; break;
        case SF_LCMD_CURSOR:
            if (!put_cursor(p, c->cursor)) e = sf_fail("the lesson's cursor is not a step of this run");
            break;
        case SF_LCMD_FOCUS:
            p->panel = c->panel; p->stack = c->stack; p->sublayer = c->sublayer; p->layer = c->layer; p->head = c->head;
            break;
        case SF_LCMD_CLEAR_HIGHLIGHTS: p->n_hl = 0; break;
        case SF_LCMD_HIGHLIGHT:
            if (p->n_hl < VZ_MAX_HIGHLIGHTS) {
                vz_highlight *h = &p->hl[p->n_hl++];
                memset(h, 0, sizeof *h);
                snprintf(h->name, sizeof h->name, "%s", c->cells->name);
                h->rank = c->cells->rank;
                memcpy(h->lo, c->cells->lo, sizeof h->lo);
                memcpy(h->hi, c->cells->hi, sizeof h->hi);
            }
            break;
        case SF_LCMD_NARRATE: p->title = c->title; p->text = c->text; p->text2 = c->text2; break;
        case SF_LCMD_QUESTION: p->ask = *c->ask; break;
        default: break;
        }
        if (!e.ok) {
            char d[256], msg[700];
            snprintf(msg, sizeof msg, vz_tr(p->lang, VZ_S_MSG_LESSON_ERR), sf_lesson_cmd_describe(c, d, sizeof d), e.msg);
            say(p, msg);
        }
    }
}

int vz_player_panel_of(int lesson_panel) {
    switch (lesson_panel) {
    case SF_PANEL_MAP: return VZ_P_ARCH;
    case SF_PANEL_TOKENS: return VZ_P_TOKENS;
    case SF_PANEL_ATTENTION: return VZ_P_ATTN;
    case SF_PANEL_SCORES: return VZ_P_SCORES;
    case SF_PANEL_POSITIONS: return VZ_P_PE;
    case SF_PANEL_ACTIVATIONS: return VZ_P_ACT;
    case SF_PANEL_OUTPUT: return VZ_P_OUTPUT;
    case SF_PANEL_HEADS: return VZ_P_THUMBS;
    case SF_PANEL_LENS: return VZ_P_LENS;
    default: return -1;
    }
}

/* Writes what sits at index i along the open question's free axis ("'e' (key 4)") into out; returns out. */
static const char *pick_label(const vz_player *p, int i, char *out, size_t size) {
    const sf_trace_entry *e = sf_trace_find(&p->app.tr, p->ask.at.name);
    char tok[16] = "?";
    if (!e) { snprintf(out, size, "%d", i); return out; }
    if (!strcmp(e->axis[1], "vocab")) {
        if (i >= 0 && i < p->app.m.cfg.vocab_size) sf_tokenizer_piece(&p->app.m.tok, i, tok);
        snprintf(out, size, "'%s'", tok);
        return out;
    }
    int stack = e->sublayer == SF_SUB_CROSS ? SF_STACK_ENC : e->stack;
    int n = stack == SF_STACK_ENC ? p->app.s.n_src : p->app.s.n_tgt;
    if (i >= 0 && i < n) vz_token_label(&p->app.v, stack, i, tok);
    snprintf(out, size, vz_tr(p->lang, VZ_S_PL_PICK_KEY), tok, i);
    return out;
}

/* Puts the lesson's focus, highlights, question and narration into the app's view (after every move). */
static void apply(vz_player *p) {
    if (!p->have_app) return;
    vz_app *a = &p->app;
    vz_view *v = &a->v;
    /* focus: the attention block and head the lesson names; what it leaves out follows the cursor alone
     * (the block it is in or last passed, else the first), never what was focused before this frame */
    v->block = 0;
    vz_app_goto(a, v->step);
    if (v->n_blocks > 0 && (p->stack >= 0 || p->layer >= 0 || p->sublayer == SF_SUB_SELF || p->sublayer == SF_SUB_CROSS)) {
        vz_block want = v->blocks[v->block];
        if (p->stack >= 0 && p->stack != want.stack) want = (vz_block){p->stack, 0, SF_SUB_SELF};
        if (p->layer >= 0) want.layer = p->layer;
        if (p->sublayer == SF_SUB_SELF || p->sublayer == SF_SUB_CROSS) want.sub = p->sublayer;
        if (want.stack == SF_STACK_ENC) want.sub = SF_SUB_SELF;
        for (int b = 0; b < v->n_blocks; b++)
            if (v->blocks[b].stack == want.stack && v->blocks[b].layer == want.layer && v->blocks[b].sub == want.sub) v->block = b;
    }
    v->head = p->head >= 0 && p->head < a->m.cfg.n_heads ? p->head : 0;
    v->enlarged = p->head >= 0 && p->panel == SF_PANEL_ATTENTION;
    v->focus_panel = vz_player_panel_of(p->panel);
    v->heat_zoom = 1.0f;
    v->heat_scroll = 0;
    v->show_ids = p->show_ids;
    v->heat_local = p->heat_range == SF_RANGE_LOCAL;
    /* highlights: the lesson's, then a revealed answer and a wrong pick */
    p->n_hl = p->n_hl > VZ_MAX_HIGHLIGHTS ? VZ_MAX_HIGHLIGHTS : p->n_hl;
    memset(&v->hide, 0, sizeof v->hide);
    int fixed = p->ask.at.lo[1 - p->ask.free_axis];
    if (p->ask.state == 1 && p->ask.free_axis == 1) {
        snprintf(v->hide.name, sizeof v->hide.name, "%s", p->ask.at.name);
        v->hide.lo[0] = v->hide.hi[0] = fixed;
        v->hide.hi[1] = -1;
        v->hide.style = p->ask.with_scores; /* 1: the row's scores stay shown */
    }
    v->n_hl = 0;
    for (int i = 0; i < p->n_hl && v->n_hl < VZ_MAX_HIGHLIGHTS; i++) v->hl[v->n_hl++] = p->hl[i];
    if (p->ask.state == 2 && p->ask.answer >= 0 && p->ask.free_axis == 1) {
        for (int k = 0; k < 2 && v->n_hl < VZ_MAX_HIGHLIGHTS; k++) {
            int col = k == 0 ? p->ask.answer : p->pick;
            if (k == 1 && (p->verdict != 0 || p->pick < 0)) break;
            vz_highlight *h = &v->hl[v->n_hl++];
            memset(h, 0, sizeof *h);
            snprintf(h->name, sizeof h->name, "%s", p->ask.at.name);
            h->rank = 2;
            h->lo[0] = h->hi[0] = fixed;
            h->lo[1] = h->hi[1] = col;
            h->style = k;
        }
    }
    /* narration: the step's text, then the answer's */
    int lang = p->lang;
    char said[2][4096]; /* the narration's quoted values, read from the traces the panels draw */
    const sf_trace *ct = p->compare && p->have_crun ? &p->ctr : NULL;
    sf_lesson_fill(p->text, &a->tr, ct, said[0], sizeof said[0], NULL);
    sf_lesson_fill(p->text2, &a->tr, ct, said[1], sizeof said[1], NULL);
    snprintf(p->narr, sizeof p->narr, "%s%s%s", said[0], said[1][0] ? "\n" : "", said[1]);
    const sf_lesson_frame *f = sf_interp_frame(&p->it);
    char num[64] = "";
    if (p->number > 0) snprintf(num, sizeof num, vz_tr(lang, VZ_S_PL_LESSON_N), p->number);
    int step = f ? f->step + 1 : 0, n_steps = p->have_lesson ? p->lesson.n_steps : 0;
    const char *hint = "";
    if (p->ask.state == 1) hint = vz_tr(lang, !strcmp(p->ask.at.name, "dec.probs") ? VZ_S_PL_ASK_OUTPUT : VZ_S_PL_ASK_KEY);
    snprintf(p->info, sizeof p->info, vz_tr(lang, VZ_S_PL_INFO), num, step, n_steps);
    snprintf(p->verdict_text, sizeof p->verdict_text, "%s", hint); /* until answered: what to do */
    if (p->ask.state == 2 && p->verdict >= 0) {
        char want[64], got[64];
        pick_label(p, p->ask.answer, want, sizeof want);
        pick_label(p, p->pick, got, sizeof got);
        if (p->verdict) snprintf(p->verdict_text, sizeof p->verdict_text, vz_tr(lang, VZ_S_PL_RIGHT), want);
        else snprintf(p->verdict_text, sizeof p->verdict_text, vz_tr(lang, VZ_S_PL_WRONG), got, want);
    }
}

/* ---- moving through the lesson ----------------------------------------------------------------- */

/* Puts the player's lesson state back to "nothing shown", the state sf_lesson_diff from frame -1 starts
 * from: no run (the model is reloaded), no comparison, focus, highlights, narration or question, and no
 * message about what the learner did. */
static void forget_lesson_state(vz_player *p) {
    p->have_run = 0;
    p->model_path[0] = 0;
    p->compare = 0;
    p->align = 0;
    p->show_ids = 0;
    p->heat_range = SF_RANGE_FULL;
    p->panel = SF_PANEL_NONE;
    p->stack = p->sublayer = p->layer = p->head = -1;
    p->n_hl = 0;
    p->title = p->text = p->text2 = NULL;
    memset(&p->ask, 0, sizeof p->ask);
    p->verdict = p->pick = -1;
    p->deviated = 0;
    if (p->have_app) p->app.status[0] = 0;
}

int vz_player_goto(vz_player *p, int k) {
    if (!p->have_lesson) return 0;
    sf_lesson_cmds cmds;
    int was = p->it.frame;
    if (!sf_interp_goto(&p->it, k, &cmds) && !(p->deviated && was == p->it.frame && was >= 0)) return 0;
    if (p->deviated) { /* the learner explored by hand: rebuild the whole frame from nothing, reloading the model */
        forget_lesson_state(p);
        sf_lesson_diff(&p->lesson, -1, p->it.frame, p->lang, &cmds);
    }
    p->verdict = -1;
    p->pick = -1;
    if (p->have_app) p->app.spotlight = -1; /* the lesson's @focus picks the spotlight again */
    exec(p, &cmds);
    apply(p);
    return 1;
}

int vz_player_next(vz_player *p) {
    if (!p->have_lesson || p->it.frame + 1 >= p->lesson.n_frames) return p->deviated ? vz_player_goto(p, p->it.frame) : 0;
    return vz_player_goto(p, p->it.frame + 1);
}

int vz_player_prev(vz_player *p) {
    if (!p->have_lesson || p->it.frame <= 0) return p->deviated ? vz_player_goto(p, p->it.frame) : 0;
    return vz_player_goto(p, p->it.frame - 1);
}

void vz_player_set_lang(vz_player *p, int lang) {
    p->lang = lang == SF_LANG_ZH ? SF_LANG_ZH : SF_LANG_EN;
    if (p->have_app) p->app.lang = p->lang; /* the whole interface follows the lesson's language */
    if (p->have_app) p->app.status[0] = 0; /* a message in the other language goes ("edit cancelled" stayed on a Chinese screen) */
    if (!p->have_lesson) return;
    sf_lesson_cmds cmds;
    sf_interp_set_lang(&p->it, p->lang, &cmds);
    exec(p, &cmds);
    apply(p);
}

int vz_player_pick(vz_player *p, int pick) {
    const sf_lesson_frame *f = p->have_lesson ? sf_interp_frame(&p->it) : NULL;
    if (!f || f->ask.state != 1) return -1;
    int v = sf_interp_judge(&p->it, pick);
    if (v < 0) return -1;
    vz_player_next(p); /* the answer frame */
    p->verdict = v;
    p->pick = pick;
    apply(p);
    return v;
}

int vz_player_frame_index(const vz_player *p) { return p->have_lesson ? p->it.frame : -1; }

const char *vz_player_slide_name(const vz_player *p, int k, char *out, size_t size) {
    const sf_lesson_frame *f = p->have_lesson && k >= 0 && k < p->lesson.n_frames ? &p->lesson.frames[k] : NULL;
    snprintf(out, size, "%02d-step%02d%s.png", k + 1, f ? f->step + 1 : 0,
             !f ? "" : f->ask.state == 1 ? "-question" : f->ask.state == 2 ? "-answer" : "");
    return out;
}

sf_err vz_player_open(vz_player *p, const char *path) {
    sf_lesson l;
    sf_lesson_opts o = {1, 0, p->model_dir}; /* models are loaded and checked; the claims are --check's business */
    sf_err e = sf_lesson_load(path, &o, &l);
    if (!e.ok) return e;
    if (l.n_frames == 0) { sf_lesson_free(&l); return sf_fail("%s: the lesson has no steps ('## ' headings)", path); }
    if (p->have_lesson) sf_lesson_free(&p->lesson);
    p->lesson = l; /* (the run settings kept from an earlier lesson pointed into it: forget them) */
    p->have_lesson = 1;
    free_cmp_run(p);
    p->cm_path[0] = 0;
    forget_lesson_state(p);
    p->number = vz_lesson_number(path);
    snprintf(p->path, sizeof p->path, "%s", path);
    sf_interp_init(&p->it, &p->lesson, p->lang);
    p->in_index = 0;
    vz_player_goto(p, 0);
    if (!p->have_app) {
        sf_err e2 = sf_fail("%s", p->err[0] ? p->err : "the lesson's first step loads no model");
        return e2;
    }
    return sf_ok();
}

/* ---- events and frames ------------------------------------------------------------------------- */

/* Handles a left click during an open question: a pick in the asked head's heatmaps or the output panel's
 * token grid is judged; returns 1 if the click was a pick. */
static int question_click(vz_player *p, int x, int y) {
    if (p->ask.state != 1 || !p->have_app) return 0;
    const vz_click *k = vz_click_at(&p->app.ctx, x, y);
    if (k && k->kind == VZ_CLICK_PICK) return vz_player_pick(p, k->a) >= 0;
    int row, col;
    const vz_hit *h = vz_hit_at(&p->app.ctx, x, y, &row, &col);
    if (!h || p->ask.free_axis != 1 || !vz_hide_covers(&p->app.v.hide, h->h.e->name)) return 0;
    return vz_player_pick(p, col) >= 0;
}

/* Opens the lesson next to the open one (dir +1: the next, at its first frame; -1: the previous, at its
 * last) and says which in the top bar; returns 1 if it opened. */
static int open_neighbour(vz_player *p, int dir) {
    char path[1024], msg[400];
    if (!p->have_lesson || !vz_lessons_neighbour(p->path, dir, path, sizeof path)) return 0;
    sf_err e = vz_player_open(p, path);
    if (!e.ok) { say(p, e.msg); return 0; }
    if (dir < 0) vz_player_goto(p, p->lesson.n_frames - 1);
    const char *t = p->lesson.title[p->lang] ? p->lesson.title[p->lang] : p->lesson.title[SF_LANG_EN];
    snprintf(msg, sizeof msg, vz_tr(p->lang, VZ_S_PL_NEXT_LESSON), p->number, t ? t : "");
    tell(p, msg);
    return 1;
}

int vz_player_advance(vz_player *p, int dir) {
    if (!p->have_lesson) return 0;
    int at_end = dir > 0 ? p->it.frame + 1 >= p->lesson.n_frames : p->it.frame <= 0;
    if (!at_end) return dir > 0 ? vz_player_next(p) : vz_player_prev(p);
    if (open_neighbour(p, dir)) return 1;
    int moved = dir > 0 ? vz_player_next(p) : vz_player_prev(p); /* (puts back what the learner explored) */
    tell(p, vz_tr(p->lang, dir > 0 ? VZ_S_PL_LAST_LESSON : VZ_S_PL_FIRST_LESSON));
    return moved;
}

/* Goes back to the index of the lessons' folder (listing it the first time); says why if it cannot. */
static void back_to_index(vz_player *p) {
    char dir[1024];
    const char *slash = strrchr(p->path, '/');
    if (p->index_dir[0]) snprintf(dir, sizeof dir, "%s", p->index_dir);
    else if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - p->path), p->path);
    else snprintf(dir, sizeof dir, ".");
    if (vz_player_show_index(p, dir).ok) return;
    tell(p, vz_tr(p->lang, VZ_S_PL_NO_INDEX));
}

int vz_player_act(vz_player *p, vz_action act, int arg) {
    if (!p->have_app) return 0;
    vz_app *a = &p->app;
    if (p->blank) act = vz_action_when_blank(act);
    switch (act) {
    case VZ_ACT_NONE: return 0;
    case VZ_ACT_NEXT: p->help = 0; vz_player_advance(p, 1); return 1;
    case VZ_ACT_PREV: p->help = 0; vz_player_advance(p, -1); return 1;
    case VZ_ACT_FIRST: p->help = 0; vz_player_goto(p, 0); return 1;
    case VZ_ACT_LAST: p->help = 0; vz_player_goto(p, p->lesson.n_frames - 1); return 1;
    case VZ_ACT_INDEX: p->help = 0; back_to_index(p); return 1;
    case VZ_ACT_LANG: vz_player_set_lang(p, 1 - p->lang); return 1;
    case VZ_ACT_ALIGN: /* explored: the next lesson move puts the lesson's alignment back */
        if (!p->compare || !p->have_crun) { tell(p, vz_tr(p->lang, VZ_S_PL_NO_CMP)); return 1; }
        if (!p->align && (a->m.cfg.family != SF_FAMILY_ENCDEC || p->cvar.cfg.family != SF_FAMILY_ENCDEC ||
                          !sf_lesson_align(a->s.enc.ids, a->s.n_src, p->cs.enc.ids, p->cs.n_src, p->align_map))) {
            tell(p, vz_tr(p->lang, VZ_S_PL_NO_ALIGN));
            return 1;
        }
        p->align = !p->align;
        p->deviated = 1;
        a->ctx.generation++;
        tell(p, vz_tr(p->lang, p->align ? VZ_S_PL_ALIGNED : VZ_S_PL_UNALIGNED));
        return 1;
    default: { /* the screen's flags; exploring and display are the app's, exploring undone by the next lesson move */
        if (vz_show_act(act, &p->help, &p->blank, &p->want_fullscreen, &p->quit)) return 1;
        int changed = vz_app_act(a, act, arg);
        if (changed && vz_action_explores(act)) p->deviated = 1;
        p->zoom = a->zoom;
        p->projector = a->projector; /* the display modes hold for the next lesson and the index too */
        p->theme = a->theme;
        p->cmap = a->cmap;
        return changed;
    }
    }
}

int vz_player_event(vz_player *p, const SDL_Event *e) {
    if (p->in_index || !p->have_app) return vz_index_event(p, e);
    vz_app *a = &p->app;
    if (a->editing) { p->deviated = 1; return vz_app_event(a, e); }
    switch (e->type) {
    case SDL_QUIT: p->quit = 1; return 1;
    case SDL_KEYDOWN: {
        int arg;
        vz_action act = vz_key_lookup(VZ_MODE_PLAYER, &e->key.keysym, &arg);
        return vz_player_act(p, act, arg);
    }
    case SDL_TEXTINPUT: /* '?' on layouts where it needs another modifier */
        if (!strcmp(e->text.text, "?") && !p->blank) { p->help = !p->help; return 1; }
        return 0;
    case SDL_MOUSEBUTTONDOWN:
        if (e->button.button != SDL_BUTTON_LEFT) return 0;
        a->ctx.mx = e->button.x;
        a->ctx.my = e->button.y;
        if (p->blank || p->help) { p->blank = p->help = 0; return 1; } /* a click brings the step back */
        if (question_click(p, e->button.x, e->button.y)) return 1;
        if (vz_app_event(a, e)) { p->deviated = 1; return 1; }
        return 0;
    case SDL_DROPFILE: /* a model dropped on the window: explored, undone by the next lesson move */
        p->deviated = 1;
        return vz_app_event(a, e);
    default: return vz_app_event(a, e); /* hover, the wheel (a lesson move resets its zoom), window events */
    }
}

/* Writes a run's label for a comparison ("left: copy.sfm, input 12345678, target ...") in lang into out. */
static void run_label(const sf_lesson_run *r, int with_model, const char *side, int lang, char *out, size_t size) {
    const char *base = r->model ? strrchr(r->model, '/') : NULL;
    base = base ? base + 1 : r->model ? r->model : "?";
    char in[200];
    snprintf(in, sizeof in, vz_tr(lang, VZ_S_CMP_INPUT), r->input ? r->input : "");
    char what[400];
    snprintf(what, sizeof what, "%s%s%s", with_model ? base : "", with_model ? vz_tr(lang, VZ_S_CMP_COMMA) : "", in);
    size_t n = (size_t)snprintf(out, size, vz_tr(lang, VZ_S_CMP_LABEL), side, what);
    if (r->target && n < size) n += (size_t)snprintf(out + n, size - n, vz_tr(lang, VZ_S_CMP_TARGET), r->target);
    if (!r->positions && n < size) snprintf(out + n, size - n, "%s", vz_tr(lang, VZ_S_CMP_POS_OFF));
}

/* Points the compared run's view at the same cursor, block, head and highlights as the main view. */
static void sync_cmp(vz_player *p) {
    vz_view *v = &p->app.v, *cv = &p->cv;
    memset(cv, 0, sizeof *cv);
    cv->m = &p->cvar;
    cv->s = &p->cs;
    cv->tr = &p->ctr;
    cv->sched = &p->csched;
    vz_view_init_blocks(cv);
    cv->cur = v->cur;
    cv->n_prompt = p->c_prompt;
    vz_block b = v->blocks[v->block];
    cv->block = -1;
    for (int i = 0; i < cv->n_blocks; i++)
        if (cv->blocks[i].stack == b.stack && cv->blocks[i].layer == b.layer && cv->blocks[i].sub == b.sub) cv->block = i;
    if (cv->block < 0) cv->n_blocks = 0;
    cv->head = v->head < p->cvar.cfg.n_heads ? v->head : 0;
    cv->enlarged = v->enlarged;
    cv->heat_zoom = v->heat_zoom;
    cv->heat_scroll = v->heat_scroll;
    cv->focus_panel = -1;
    memcpy(cv->hl, v->hl, sizeof cv->hl);
    cv->n_hl = v->n_hl;
    cv->input = p->crun.input;
    cv->temperature = p->crun.sampler.temperature;
    cv->seed = p->crun.seed;
    cv->id_prefix = "cmp.";
    int models_differ = !same_str(p->run.model, p->crun.model);
    run_label(&p->run, models_differ, vz_tr(p->lang, VZ_S_CMP_LEFT), p->lang, p->label[0], sizeof p->label[0]);
    run_label(&p->crun, models_differ, vz_tr(p->lang, VZ_S_CMP_RIGHT), p->lang, p->label[1], sizeof p->label[1]);
    cv->diff_ref = models_differ ? NULL : v; /* the same model: mark what the change changed */
    cv->pos_off = !p->crun.positions && p->cm.cfg.pos != SF_POS_NONE;
    cv->show_ids = v->show_ids;
    cv->heat_local = v->heat_local;
    cv->partner = v;
    v->partner = cv;
    /* aligned by token: where each of the main run's input tokens stands in the compared run (refused by the
     * lesson's check when the inputs are not permutations of each other; then drawn by position, and said) */
    cv->align = NULL;
    if (p->align && p->app.m.cfg.family == SF_FAMILY_ENCDEC && p->cvar.cfg.family == SF_FAMILY_ENCDEC &&
        sf_lesson_align(p->app.s.enc.ids, p->app.s.n_src, p->cs.enc.ids, p->cs.n_src, p->align_map))
        cv->align = p->align_map;
    if (cv->align) { /* said first, where a narrow label still shows it: "right, aligned by token: input ..." */
        char side[64];
        snprintf(side, sizeof side, "%s%s", vz_tr(p->lang, VZ_S_CMP_RIGHT), vz_tr(p->lang, VZ_S_CMP_ALIGNED));
        run_label(&p->crun, models_differ, side, p->lang, p->label[1], sizeof p->label[1]);
    }
    cv->run_label = p->label[1];
    v->run_label = p->label[0];
}

/* Writes into out what the narration no longer matches when the learner moved the timeline slider off the
 * step's snapshot (the text and its quotes are about the step's weights); returns out, or NULL when the
 * snapshot shown is the step's. */
static const char *off_snapshot(const vz_player *p, char *out, size_t size) {
    const vz_app *a = &p->app;
    if (!a->snaps || !p->have_run || a->snaps->n <= 0) return NULL;
    int want = p->run.snapshot < 0 ? a->snaps->n - 1 : sf_snapshots_at_step(a->snaps, p->run.snapshot);
    if (want < 0 || want >= a->snaps->n || want == a->snap_k) return NULL;
    snprintf(out, size, vz_tr(p->lang, VZ_S_PL_OFF_SNAP), a->snap_steps[a->snap_k], a->snap_steps[want]);
    return out;
}

void vz_player_frame(vz_player *p, int w, int h) {
    if (p->in_index || !p->have_app) { vz_index_frame(p, w, h); return; }
    p->app.blank = p->blank; /* the presenter's state is the player's: the app draws it */
    p->app.v.help = p->help;
    p->app.lang = p->lang;
    vz_view *v = &p->app.v;
    v->lesson = 1;
    v->narration = p->narr;
    v->narration_title = p->title && *p->title ? p->title : NULL;
    v->lesson_info = p->info;
    v->verdict = p->verdict_text[0] ? p->verdict_text : NULL;
    v->verdict_ok = p->verdict == 1;
    char off[512];
    if (off_snapshot(p, off, sizeof off)) { /* said where a verdict goes: beside the text, in the accent colour */
        snprintf(p->verdict_note, sizeof p->verdict_note, "%s%s%s", p->verdict_text, p->verdict_text[0] ? "\n" : "", off);
        v->verdict = p->verdict_note;
        v->verdict_ok = 0;
    }
    v->cmp = NULL;
    v->partner = NULL;
    v->run_label = NULL;
    if (p->compare && p->have_crun && v->n_blocks > 0) {
        sync_cmp(p);
        v->cmp = &p->cv;
    }
    vz_app_frame(&p->app, w, h);
}
