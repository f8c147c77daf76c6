/* lesson_player.c - a lesson played in the app: the interpreter's commands executed on a vz_app, a
 * compared second run for @compare, questions answered by clicks, and the lesson index. */
#include "lesson_player.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "panels.h"

/* Returns 1 if two strings are equal, NULL equal only to NULL. */
static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

/* Returns 1 if two runs have the same settings (the model path included). */
static int same_run(const sf_lesson_run *a, const sf_lesson_run *b) {
    return same_str(a->model, b->model) && same_str(a->input, b->input) && same_str(a->target, b->target) &&
           a->sampler.temperature == b->sampler.temperature && a->sampler.top_k == b->sampler.top_k &&
           a->seed == b->seed && a->max_new == b->max_new && a->positions == b->positions;
}

/* Shows a message in the app's top bar (and keeps it in p->err). */
static void say(vz_player *p, const char *msg) {
    snprintf(p->err, sizeof p->err, "%.500s", msg);
    if (!p->have_app) return;
    snprintf(p->app.status, sizeof p->app.status, "%.700s", msg);
    p->app.status_ms = SDL_GetTicks();
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
    if (p->have_ictx) vz_ctx_free(&p->ictx);
    if (p->itext) vz_text_destroy(p->itext);
    memset(p, 0, sizeof *p);
}

/* ---- executing commands ------------------------------------------------------------------------ */

/* Loads the main run's model (slot 0) unless the app already holds that file; returns the error. */
static sf_err load_main(vz_player *p, const sf_lesson_run *run) {
    if (!run->model) return sf_fail("the lesson has no @model");
    if (p->have_app && !strcmp(p->model_path, run->model)) return sf_ok();
    sf_model m;
    sf_err e = sf_checkpoint_load(run->model, &m);
    if (!e.ok) return e;
    if (!p->have_app) {
        vz_run_cfg rc = {run->max_new, (unsigned)run->seed, run->sampler.temperature};
        if (!(e = vz_app_init(&p->app, p->r, &p->fp, &m, run->input, &rc)).ok) return e;
        p->have_app = 1;
        p->app.zoom = p->zoom;
        p->app.lang = p->lang;
        p->app.projector = p->projector;
        p->app.theme = p->theme;
        p->app.cmap = p->cmap;
    } else if (!(e = vz_app_set_model(&p->app, &m, run->input)).ok) {
        return e;
    }
    snprintf(p->model_path, sizeof p->model_path, "%s", run->model);
    p->have_run = 0;
    return sf_ok();
}

/* Runs the main model as run says, unless it already shows exactly that run. */
static sf_err set_main_run(vz_player *p, const sf_lesson_run *run) {
    if (!p->have_app) return sf_fail("no model loaded");
    if (p->have_run && same_run(&p->run, run)) return sf_ok();
    vz_run_spec rs = {run->input, run->target, run->sampler, run->seed, run->max_new, run->positions};
    sf_err e = vz_app_run(&p->app, &rs);
    if (!e.ok) return e;
    p->run = *run;
    p->have_run = 1;
    return sf_ok();
}

/* Loads the compared run's model (slot 1) unless it is already loaded. */
static sf_err load_cmp(vz_player *p, const sf_lesson_run *run) {
    if (!run->model) return sf_fail("the compared run has no model");
    if (p->have_cm && !strcmp(p->cm_path, run->model)) return sf_ok();
    sf_model m;
    sf_err e = sf_checkpoint_load(run->model, &m);
    if (!e.ok) return e;
    free_cmp_run(p);
    if (p->have_cm) sf_model_free(&p->cm);
    p->cm = m;
    p->have_cm = 1;
    snprintf(p->cm_path, sizeof p->cm_path, "%s", run->model);
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
        case SF_LCMD_COMPARE: p->compare = c->on; break;
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

/* Returns the vz_panel a lesson's panel name brings forward, or -1. */
static int panel_of(int lesson_panel) {
    switch (lesson_panel) {
    case SF_PANEL_MAP: return VZ_P_ARCH;
    case SF_PANEL_TOKENS: return VZ_P_TOKENS;
    case SF_PANEL_ATTENTION: return VZ_P_ATTN;
    case SF_PANEL_SCORES: return VZ_P_SCORES;
    case SF_PANEL_POSITIONS: return VZ_P_PE;
    case SF_PANEL_ACTIVATIONS: return VZ_P_ACT;
    case SF_PANEL_OUTPUT: return VZ_P_OUTPUT;
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
    snprintf(out, size, vz_tr(p->lang, VZ_S_LP_KEY), tok, i);
    return out;
}

/* Puts the lesson's focus, highlights, question and narration into the app's view (after every move). */
static void apply(vz_player *p) {
    if (!p->have_app) return;
    vz_app *a = &p->app;
    vz_view *v = &a->v;
    /* focus: the attention block and head the lesson names; what it leaves out follows the cursor */
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
    v->focus_panel = panel_of(p->panel);
    v->heat_zoom = 1.0f;
    /* highlights: the lesson's, then a revealed answer and a wrong pick */
    p->n_hl = p->n_hl > VZ_MAX_HIGHLIGHTS ? VZ_MAX_HIGHLIGHTS : p->n_hl;
    memset(&v->hide, 0, sizeof v->hide);
    int fixed = p->ask.at.lo[1 - p->ask.free_axis];
    if (p->ask.state == 1 && p->ask.free_axis == 1) {
        snprintf(v->hide.name, sizeof v->hide.name, "%s", p->ask.at.name);
        v->hide.lo[0] = v->hide.hi[0] = fixed;
        v->hide.hi[1] = -1;
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
    snprintf(p->narr, sizeof p->narr, "%s%s%s", p->text ? p->text : "", p->text2 && *p->text2 ? "\n" : "",
             p->text2 ? p->text2 : "");
    const sf_lesson_frame *f = sf_interp_frame(&p->it);
    char num[64] = "";
    if (p->number > 0) snprintf(num, sizeof num, vz_tr(p->lang, VZ_S_LP_LESSON_N), p->number);
    int step = f ? f->step + 1 : 0, n_steps = p->have_lesson ? p->lesson.n_steps : 0;
    const char *hint = "";
    if (p->ask.state == 1) hint = vz_tr(p->lang, !strcmp(p->ask.at.name, "dec.probs") ? VZ_S_LP_HINT_OUTPUT : VZ_S_LP_HINT_CELL);
    snprintf(p->info, sizeof p->info, vz_tr(p->lang, VZ_S_LP_INFO), num, step, n_steps);
    snprintf(p->verdict_text, sizeof p->verdict_text, "%s", hint); /* until answered: what to do */
    if (p->ask.state == 2 && p->verdict >= 0) {
        char want[64], got[64];
        pick_label(p, p->ask.answer, want, sizeof want);
        pick_label(p, p->pick, got, sizeof got);
        if (p->verdict) snprintf(p->verdict_text, sizeof p->verdict_text, vz_tr(p->lang, VZ_S_LP_RIGHT), want);
        else snprintf(p->verdict_text, sizeof p->verdict_text, vz_tr(p->lang, VZ_S_LP_WRONG), got, want);
    }
}

/* ---- moving through the lesson ----------------------------------------------------------------- */

int vz_player_goto(vz_player *p, int k) {
    if (!p->have_lesson) return 0;
    sf_lesson_cmds cmds;
    int was = p->it.frame;
    if (!sf_interp_goto(&p->it, k, &cmds) && !(p->deviated && was == p->it.frame && was >= 0)) return 0;
    if (p->deviated) { /* the learner explored by hand: rebuild the whole frame, reloading what they may have changed */
        p->have_run = 0;
        p->model_path[0] = 0;
        p->deviated = 0;
        p->n_hl = 0;
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

/* Returns the number a lesson's file name starts with ("lessons/06-x.md" -> 6), or 0. */
static int file_number(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    return atoi(b);
}

sf_err vz_player_open(vz_player *p, const char *path) {
    sf_lesson l;
    sf_lesson_opts o = {1, 0, NULL}; /* models are loaded and checked; the claims are --check's business */
    sf_err e = sf_lesson_load(path, &o, &l);
    if (!e.ok) return e;
    if (l.n_frames == 0) { sf_lesson_free(&l); return sf_fail("%s: the lesson has no steps ('## ' headings)", path); }
    if (p->have_lesson) sf_lesson_free(&p->lesson);
    p->lesson = l; /* (the run settings kept from an earlier lesson pointed into it: forget them) */
    p->have_lesson = 1;
    free_cmp_run(p);
    p->have_run = 0;
    p->model_path[0] = p->cm_path[0] = 0;
    p->title = p->text = p->text2 = NULL;
    p->n_hl = 0;
    p->compare = 0;
    memset(&p->ask, 0, sizeof p->ask);
    p->deviated = 0;
    p->number = file_number(path);
    sf_interp_init(&p->it, &p->lesson, p->lang);
    p->in_index = 0;
    vz_player_goto(p, 0);
    if (!p->have_app) {
        sf_err e2 = sf_fail("%s", p->err[0] ? p->err : "the lesson's first step loads no model");
        return e2;
    }
    return sf_ok();
}

/* ---- the index --------------------------------------------------------------------------------- */

/* Orders index entries by path. */
static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const vz_index_entry *)a)->path, ((const vz_index_entry *)b)->path);
}

int vz_lessons_list(const char *dir, vz_index_entry *entries, int max) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (nm[0] < '0' || nm[0] > '9' || len < 4 || strcmp(nm + len - 3, ".md")) continue;
        vz_index_entry *x = &entries[n++];
        memset(x, 0, sizeof *x);
        snprintf(x->path, sizeof x->path, "%s/%s", dir, nm);
    }
    closedir(d);
    qsort(entries, (size_t)n, sizeof *entries, entry_cmp);
    for (int i = 0; i < n; i++) {
        vz_index_entry *x = &entries[i];
        sf_lesson l;
        sf_lesson_opts o = {0, 0, NULL}; /* titles only: no models run */
        sf_err e = sf_lesson_load(x->path, &o, &l);
        if (!e.ok) { snprintf(x->error, sizeof x->error, "%.250s", e.msg); continue; }
        for (int g = 0; g < SF_LANG_COUNT; g++)
            if (l.title[g]) snprintf(x->title[g], sizeof x->title[g], "%s", l.title[g]);
        sf_lesson_free(&l);
    }
    return n;
}

sf_err vz_player_show_index(vz_player *p, const char *dir) {
    int n = vz_lessons_list(dir, p->index, VZ_INDEX_MAX);
    if (n < 0) return sf_fail("%s: cannot read the lessons folder", dir);
    if (n == 0) return sf_fail("%s: no lessons (files named NN-topic.md) found", dir);
    p->n_index = n;
    p->sel = 0;
    snprintf(p->index_dir, sizeof p->index_dir, "%s", dir);
    if (!p->itext) {
        sf_err e = vz_text_create(&p->itext, p->r, &p->fp);
        if (!e.ok) return e;
    }
    if (!p->have_ictx) {
        sf_err e = vz_ctx_init(&p->ictx, p->r, p->itext);
        if (!e.ok) return e;
        p->have_ictx = 1;
    }
    p->in_index = 1;
    p->from_index = 1;
    return sf_ok();
}

/* Opens index entry i; on failure the index stays and says why. */
static void open_entry(vz_player *p, int i) {
    if (i < 0 || i >= p->n_index) return;
    p->sel = i;
    sf_err e = vz_player_open(p, p->index[i].path);
    if (!e.ok) {
        snprintf(p->index_msg, sizeof p->index_msg, "%.500s", e.msg);
        p->in_index = 1;
    } else {
        p->index_msg[0] = 0;
    }
}

/* Draws the index: one row per lesson with its number and title in the chosen language. */
static void draw_index(vz_player *p, int w, int h) {
    vz_ctx *c = &p->ictx;
    vz_ctx_begin(c, w, h, p->zoom);
    c->hl = NULL;
    c->n_hl = 0;
    c->hide = NULL;
    SDL_SetRenderDrawColor(p->r, VZ_BG.r, VZ_BG.g, VZ_BG.b, 255);
    SDL_RenderClear(p->r);
    int zh = p->lang == SF_LANG_ZH, fs = c->lay.font, big = fs * 2, pad = vz_px(c, 24);
    vz_label(c, zh ? "stepformer · 课程" : "stepformer · lessons", big, VZ_ACCENT, pad, pad, VZ_LEFT);
    vz_label(c, zh ? "一步一步地走过一个真正的 Transformer。↑ ↓ 选择 · Enter 或点击打开 · l English · q 退出"
                   : "Step through a real Transformer, one token at a time.   up/down choose · Enter or click opens · l \xe4\xb8\xad\xe6\x96\x87 · q quits",
             fs, VZ_DIM, pad, pad + big + vz_px(c, 8), VZ_LEFT);
    int y = pad + big + fs + vz_px(c, 30), rh = fs * 2 + vz_px(c, 8);
    int avail = h - y - pad - fs * 2;
    if (p->n_index * rh > avail && p->n_index > 0) rh = avail / p->n_index;
    if (rh < fs + 4) rh = fs + 4;
    for (int i = 0; i < p->n_index; i++) {
        const vz_index_entry *x = &p->index[i];
        vz_rect row = {pad, y + i * rh, w - 2 * pad, rh - vz_px(c, 4)};
        vz_fill(c, row, i == p->sel ? (vz_rgba){48, 54, 70, 255} : VZ_PANEL);
        vz_outline(c, row, i == p->sel ? VZ_ACCENT : VZ_EDGE, i == p->sel ? vz_px(c, 2) : 1);
        char num[16];
        snprintf(num, sizeof num, "%d", file_number(x->path));
        vz_label(c, num, fs * 5 / 4, VZ_ACCENT, row.x + vz_px(c, 14), row.y + row.h / 2, VZ_MIDDLE);
        const char *t = x->error[0] ? x->error : x->title[p->lang][0] ? x->title[p->lang] : x->title[SF_LANG_EN];
        vz_label(c, t, fs * 5 / 4, x->error[0] ? VZ_HILITE : VZ_FG, row.x + vz_px(c, 60), row.y + row.h / 2, VZ_MIDDLE);
        const char *base = strrchr(x->path, '/');
        vz_label(c, base ? base + 1 : x->path, fs * 3 / 4, VZ_DIM, row.x + row.w - vz_px(c, 12), row.y + row.h / 2,
                 VZ_RIGHT | VZ_MIDDLE);
        vz_click_add(c, row, VZ_CLICK_PICK, i, 0, 0);
    }
    if (p->index_msg[0]) vz_label(c, p->index_msg, fs, VZ_HILITE, pad, h - pad - fs, VZ_LEFT);
    else vz_label(c, p->index_dir, fs * 3 / 4, VZ_DIM, pad, h - pad - fs, VZ_LEFT);
}

/* Handles an event in the index; returns 1 if it changed anything. */
static int index_event(vz_player *p, const SDL_Event *e) {
    if (e->type == SDL_QUIT) { p->quit = 1; return 1; }
    if (e->type == SDL_MOUSEBUTTONDOWN && e->button.button == SDL_BUTTON_LEFT) {
        const vz_click *k = vz_click_at(&p->ictx, e->button.x, e->button.y);
        if (k && k->kind == VZ_CLICK_PICK) open_entry(p, k->a);
        return 1;
    }
    if (e->type == SDL_MOUSEMOTION) {
        const vz_click *k = vz_click_at(&p->ictx, e->motion.x, e->motion.y);
        if (k && k->kind == VZ_CLICK_PICK && k->a != p->sel) { p->sel = k->a; return 1; }
        return 0;
    }
    if (e->type != SDL_KEYDOWN) return e->type == SDL_WINDOWEVENT;
    switch (e->key.keysym.sym) {
    case SDLK_UP: if (p->sel > 0) p->sel--; return 1;
    case SDLK_DOWN: if (p->sel + 1 < p->n_index) p->sel++; return 1;
    case SDLK_HOME: p->sel = 0; return 1;
    case SDLK_END: p->sel = p->n_index - 1; return 1;
    case SDLK_RETURN: case SDLK_KP_ENTER: case SDLK_RIGHT: case SDLK_PAGEDOWN: open_entry(p, p->sel); return 1;
    case SDLK_l: vz_player_set_lang(p, 1 - p->lang); return 1;
    case SDLK_q: case SDLK_ESCAPE: p->quit = 1; return 1;
    default: return 0;
    }
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

int vz_player_event(vz_player *p, const SDL_Event *e) {
    if (p->in_index || !p->have_app) return index_event(p, e);
    vz_app *a = &p->app;
    if (a->editing) { p->deviated = 1; return vz_app_event(a, e); }
    if (e->type == SDL_KEYDOWN) {
        switch (e->key.keysym.sym) {
        case SDLK_PAGEDOWN: case SDLK_RETURN: case SDLK_KP_ENTER: vz_player_next(p); return 1;
        case SDLK_PAGEUP: case SDLK_BACKSPACE: vz_player_prev(p); return 1;
        case SDLK_HOME: vz_player_goto(p, 0); return 1;
        case SDLK_END: vz_player_goto(p, p->lesson.n_frames - 1); return 1;
        case SDLK_l: vz_player_set_lang(p, 1 - p->lang); return 1;
        case SDLK_ESCAPE:
            if (a->v.help) break;
            if (p->from_index) { p->in_index = 1; return 1; }
            p->quit = 1;
            return 1;
        default: break;
        }
    }
    if (e->type == SDL_MOUSEBUTTONDOWN && e->button.button == SDL_BUTTON_LEFT) {
        a->ctx.mx = e->button.x;
        a->ctx.my = e->button.y;
        if (question_click(p, e->button.x, e->button.y)) return 1;
    }
    int changed = vz_app_event(a, e);
    if (changed && (e->type == SDL_KEYDOWN || e->type == SDL_MOUSEBUTTONDOWN || e->type == SDL_DROPFILE) &&
        !(e->type == SDL_KEYDOWN && (e->key.keysym.sym == SDLK_QUESTION || e->key.keysym.sym == SDLK_SLASH ||
                                     e->key.keysym.sym == SDLK_s || e->key.keysym.sym == SDLK_F11 ||
                                     e->key.keysym.sym == SDLK_p || e->key.keysym.sym == SDLK_TAB ||
                                     e->key.keysym.sym == SDLK_m)))
        p->deviated = 1;
    if (a->quit) p->quit = 1;
    return changed;
}

/* Writes a run's label for a comparison ("left: copy.sfm, input 12345678, target ...") in lang into out. */
static void run_label(const sf_lesson_run *r, int with_model, const char *side, int lang, char *out, size_t size) {
    const char *base = r->model ? strrchr(r->model, '/') : NULL;
    base = base ? base + 1 : r->model ? r->model : "?";
    char in[200];
    snprintf(in, sizeof in, vz_tr(lang, VZ_S_CMP_INPUT), r->input ? r->input : "");
    size_t n = (size_t)snprintf(out, size, "%s: %s%s %s", side, with_model ? base : "", with_model ? "," : "", in);
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
    cv->focus_panel = -1;
    memcpy(cv->hl, v->hl, sizeof cv->hl);
    cv->n_hl = v->n_hl;
    cv->input = p->crun.input;
    cv->temperature = p->crun.sampler.temperature;
    cv->id_prefix = "cmp.";
    int models_differ = !same_str(p->run.model, p->crun.model);
    run_label(&p->run, models_differ, vz_tr(p->lang, VZ_S_CMP_LEFT), p->lang, p->label[0], sizeof p->label[0]);
    run_label(&p->crun, models_differ, vz_tr(p->lang, VZ_S_CMP_RIGHT), p->lang, p->label[1], sizeof p->label[1]);
    cv->run_label = p->label[1];
    cv->diff_ref = models_differ ? NULL : v; /* the same model: mark what the change changed */
    v->run_label = p->label[0];
}

void vz_player_frame(vz_player *p, int w, int h) {
    if (p->in_index || !p->have_app) {
        if (p->have_ictx) draw_index(p, w, h);
        else {
            SDL_SetRenderDrawColor(p->r, VZ_BG.r, VZ_BG.g, VZ_BG.b, 255);
            SDL_RenderClear(p->r);
        }
        return;
    }
    if (p->app.lang != p->lang) vz_player_set_lang(p, p->app.lang); /* the app's language changed (its l key) */
    vz_view *v = &p->app.v;
    v->lesson = 1;
    v->narration = p->narr;
    v->narration_title = p->title && *p->title ? p->title : NULL;
    v->lesson_info = p->info;
    v->verdict = p->verdict_text[0] ? p->verdict_text : NULL;
    v->verdict_ok = p->verdict == 1;
    v->cmp = NULL;
    v->run_label = NULL;
    if (p->compare && p->have_crun && v->n_blocks > 0) {
        sync_cmp(p);
        v->cmp = &p->cv;
    }
    vz_app_frame(&p->app, w, h);
}
