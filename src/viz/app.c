/* app.c - the event handling and frame drawing shared by the window, the render command and tests. */
#include "app.h"

#include <SDL2/SDL_image.h>
#include <stdio.h>
#include <string.h>

#include "model/checkpoint.h"
#include "panels.h"

/* Runs the model on a->input into the record and rebuilds the trace and the schedule. */
static sf_err rerun(vz_app *a) {
    sf_run_opts o;
    memset(&o, 0, sizeof o);
    o.input = a->input;
    o.target = a->has_target ? a->target : NULL;
    o.max_new = a->max_new;
    o.sampler.temperature = a->v.temperature;
    o.sampler.top_k = a->top_k;
    o.seed = a->seed;
    a->m.cfg.pos = a->pos_off ? SF_POS_NONE : a->pos_own;
    int n_prompt = 0;
    sf_err e = sf_run(&a->m, &a->s, &o, &n_prompt);
    if (!e.ok) return e;
    sf_trace_free(&a->tr);
    sf_schedule_free(&a->sched);
    if (!(e = sf_trace_build(&a->tr, &a->m, &a->s)).ok) return e;
    if (!(e = sf_schedule_build(&a->sched, &a->m.cfg, a->s.n_src, a->s.n_tgt)).ok) return e;
    a->v.n_prompt = n_prompt;
    a->v.input = a->input;
    a->ctx.generation++;
    int step = a->v.step;
    if (step >= a->sched.n) step = a->sched.n - 1;
    vz_app_goto(a, step < 0 ? 0 : step);
    return sf_ok();
}

sf_err vz_app_init(vz_app *a, SDL_Renderer *r, const vz_font_paths *fp, sf_model *m, const char *input,
                   const vz_run_cfg *rc) {
    memset(a, 0, sizeof *a);
    a->m = *m;
    memset(m, 0, sizeof *m);
    a->pos_own = a->m.cfg.pos;
    a->r = r;
    a->zoom = 1.0f;
    a->only = -1;
    a->spotlight = -1;
    a->max_new = rc ? rc->max_new : 12;
    a->seed = rc ? rc->seed : 0;
    a->v.temperature = rc ? rc->temperature : 0.0f;
    sf_err e = vz_text_create(&a->text, r, fp);
    if (!e.ok) { sf_model_free(&a->m); return e; }
    if (!(e = vz_ctx_init(&a->ctx, r, a->text)).ok) { vz_app_free(a); return e; }
    if (!(e = sf_seq_build(&a->s, &a->m.cfg)).ok) { vz_app_free(a); return e; }
    a->v.m = &a->m;
    a->v.s = &a->s;
    a->v.tr = &a->tr;
    a->v.sched = &a->sched;
    a->v.heat_zoom = 1.0f;
    a->v.focus_panel = -1;
    a->v.spotlight = -1;
    a->v.act_stage = -1;
    vz_view_init_blocks(&a->v);
    snprintf(a->input, sizeof a->input, "%s", input ? input : "");
    if (!(e = rerun(a)).ok) { vz_app_free(a); return e; }
    return sf_ok();
}

void vz_app_free(vz_app *a) {
    vz_ctx_free(&a->ctx);
    if (a->text) vz_text_destroy(a->text);
    sf_trace_free(&a->tr);
    sf_schedule_free(&a->sched);
    if (a->s.mem) sf_seq_free(&a->s);
    sf_model_free(&a->m);
    memset(a, 0, sizeof *a);
}

/* Shows a message in the top bar for a few seconds. */
static void say(vz_app *a, const char *msg) {
    snprintf(a->status, sizeof a->status, "%.700s", msg);
    a->status_ms = SDL_GetTicks();
}

sf_err vz_app_set_input(vz_app *a, const char *input) {
    char old[sizeof a->input];
    memcpy(old, a->input, sizeof old);
    snprintf(a->input, sizeof a->input, "%s", input);
    sf_err e = rerun(a);
    if (!e.ok) { /* keep showing the last good run */
        memcpy(a->input, old, sizeof old);
        sf_err e2 = rerun(a);
        (void)e2;
    }
    return e;
}

sf_err vz_app_run(vz_app *a, const vz_run_spec *rs) {
    char old_in[sizeof a->input], old_tg[sizeof a->target]; /* the last good settings, if this run fails */
    memcpy(old_in, a->input, sizeof old_in);
    memcpy(old_tg, a->target, sizeof old_tg);
    int old_has = a->has_target, old_k = a->top_k, old_max = a->max_new, old_off = a->pos_off;
    unsigned old_seed = a->seed;
    float old_t = a->v.temperature;
    snprintf(a->input, sizeof a->input, "%s", rs->input ? rs->input : "");
    a->has_target = rs->target != NULL;
    snprintf(a->target, sizeof a->target, "%s", rs->target ? rs->target : "");
    a->v.temperature = rs->sampler.temperature;
    a->top_k = rs->sampler.top_k;
    a->seed = (unsigned)rs->seed;
    a->max_new = rs->max_new;
    a->pos_off = !rs->positions;
    a->v.step = 0;
    sf_err e = rerun(a);
    if (!e.ok) { /* keep showing the last good run */
        memcpy(a->input, old_in, sizeof a->input);
        memcpy(a->target, old_tg, sizeof a->target);
        a->has_target = old_has;
        a->v.temperature = old_t;
        a->top_k = old_k;
        a->seed = old_seed;
        a->max_new = old_max;
        a->pos_off = old_off;
        sf_err e2 = rerun(a);
        (void)e2;
    }
    vz_app_goto(a, 0);
    return e;
}

sf_err vz_app_set_model(vz_app *a, sf_model *m, const char *input) {
    sf_model old_m = a->m;
    sf_seq old_s = a->s;
    char old_in[sizeof a->input];
    memcpy(old_in, a->input, sizeof old_in);
    int old_step = a->v.step, old_block = a->v.block, old_head = a->v.head, old_enlarged = a->v.enlarged;
    int old_pos_own = a->pos_own;
    a->m = *m;
    memset(m, 0, sizeof *m);
    a->pos_own = a->m.cfg.pos;
    sf_err e = sf_seq_build(&a->s, &a->m.cfg);
    if (e.ok) {
        snprintf(a->input, sizeof a->input, "%s", input ? input : "");
        a->v.step = 0;
        a->v.block = a->v.head = a->v.enlarged = 0;
        vz_view_init_blocks(&a->v);
        if ((e = rerun(a)).ok) {
            sf_seq_free(&old_s);
            sf_model_free(&old_m);
            return e;
        }
        sf_seq_free(&a->s);
    }
    sf_model_free(&a->m); /* put the old model back and redo its run */
    a->m = old_m;
    a->pos_own = old_pos_own;
    a->s = old_s;
    memcpy(a->input, old_in, sizeof old_in);
    vz_view_init_blocks(&a->v);
    a->v.step = old_step; /* the cursor and the focus stay where they were */
    sf_err e2 = rerun(a);
    (void)e2;
    a->v.block = old_block < a->v.n_blocks ? old_block : 0;
    a->v.head = old_head;
    a->v.enlarged = old_enlarged;
    return e;
}

sf_err vz_app_open_model(vz_app *a, const char *path) {
    sf_model m;
    sf_err e = sf_checkpoint_load(path, &m);
    char input[sizeof a->input]; /* set_model writes a->input: hand it a copy */
    memcpy(input, a->input, sizeof input);
    if (e.ok) e = vz_app_set_model(a, &m, input);
    char msg[sizeof a->status];
    if (e.ok) snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_OPENED), path);
    else snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_OPEN_FAIL), e.msg);
    snprintf(a->status, sizeof a->status, "%s", msg);
    a->status_ms = SDL_GetTicks();
    return e;
}

void vz_app_goto(vz_app *a, int i) {
    if (a->sched.n == 0) return;
    if (i < 0) i = 0;
    if (i >= a->sched.n) i = a->sched.n - 1;
    a->v.step = i;
    a->v.cur = a->sched.steps[i];
    /* focus the attention block the cursor is in, or the last one it passed through */
    for (int j = i; j >= 0; j--) {
        sf_cursor c = a->sched.steps[j];
        if (c.layer < 0 || (c.sublayer != SF_SUB_SELF && c.sublayer != SF_SUB_CROSS)) continue;
        for (int b = 0; b < a->v.n_blocks; b++)
            if (a->v.blocks[b].stack == c.phase && a->v.blocks[b].layer == c.layer && a->v.blocks[b].sub == c.sublayer)
                a->v.block = b;
        break;
    }
}

void vz_app_set_projector(vz_app *a, int on) {
    a->projector = on != 0;
    a->spotlight = -1;
    say(a, vz_tr(a->lang, a->projector ? VZ_S_MSG_PROJECTOR_ON : VZ_S_MSG_PROJECTOR_OFF));
}

void vz_app_spotlight_next(vz_app *a, int dir) {
    int p = a->spotlight >= 0 ? a->spotlight : a->ctx.lay.spot >= 0 ? a->ctx.lay.spot : vz_layout_auto_spot(a->v.focus_panel);
    do p = (p + (dir < 0 ? VZ_P_COUNT - 1 : 1)) % VZ_P_COUNT;
    while (!vz_panel_spotlightable(p));
    a->spotlight = p;
    if (a->only >= 0) a->only = p; /* one panel shown (gui --panel): Tab shows another */
    char msg[160];
    a->ctx.lang = a->lang;
    snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_SPOTLIGHT), vz_panel_label(&a->ctx, p));
    say(a, msg);
}

void vz_app_set_lang(vz_app *a, int lang) {
    a->lang = lang == VZ_LANG_ZH ? VZ_LANG_ZH : VZ_LANG_EN;
    say(a, vz_tr(a->lang, VZ_S_MSG_LANG));
}

void vz_app_cycle_cmap(vz_app *a) {
    static const vz_str names[VZ_PAL_COUNT] = {VZ_S_PAL_VIRIDIS, VZ_S_PAL_CIVIDIS, VZ_S_PAL_BLUE_ORANGE};
    a->cmap = (a->cmap + 1) % VZ_PAL_COUNT;
    a->ctx.generation++; /* every heatmap's colours change */
    char msg[160];
    snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_CMAP), vz_tr(a->lang, names[a->cmap]));
    say(a, msg);
}

void vz_app_cycle_theme(vz_app *a) {
    a->theme = (a->theme + 1) % VZ_THEME_COUNT;
    a->ctx.generation++;
    char msg[160];
    snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_THEME), vz_tr(a->lang, a->theme ? VZ_S_THEME_LIGHT : VZ_S_THEME_DARK));
    say(a, msg);
}

/* Returns the index of the first step of the next token (or row) after the cursor's. */
static int next_token_step(const vz_app *a) {
    sf_cursor c = a->v.cur;
    for (int i = a->v.step + 1; i < a->sched.n; i++) {
        sf_cursor s = a->sched.steps[i];
        if (s.phase != c.phase || (s.token != c.token && s.token >= 0 && (c.token < 0 || s.token > c.token) &&
                                   s.layer == (c.phase == SF_STACK_DEC ? -1 : c.layer)))
            return i;
    }
    return a->sched.n - 1;
}

/* Returns the first step of (stack, layer, sub), preferring the cursor's token; -1 if none. */
static int block_step(const vz_app *a, int stack, int layer, int sub) {
    int first = -1;
    for (int i = 0; i < a->sched.n; i++) {
        sf_cursor s = a->sched.steps[i];
        if (s.phase != stack || s.layer != layer || s.sublayer != sub) continue;
        if (first < 0) first = i;
        if (s.token == a->v.cur.token && a->v.cur.phase == stack) return i;
    }
    return first;
}

/* Returns the first step of token `pos` of stack, or -1. */
static int token_step(const vz_app *a, int stack, int pos) {
    for (int i = 0; i < a->sched.n; i++)
        if (a->sched.steps[i].phase == stack && a->sched.steps[i].token == pos) return i;
    return -1;
}

/* Reruns the model at temperature t (clamped to [0, 3]) and says so in the top bar. */
static void set_temperature(vz_app *a, float t) {
    if (t < 0) t = 0;
    if (t > 3) t = 3;
    a->v.temperature = t;
    sf_err e = rerun(a);
    char msg[96];
    if (!e.ok) say(a, e.msg);
    else { snprintf(msg, sizeof msg, vz_tr(a->lang, t == 0 ? VZ_S_MSG_TEMP_GREEDY : VZ_S_MSG_TEMP), (double)t); say(a, msg); }
}

/* Sets the whole interface's zoom, clamped to [0.5, 3]. */
static void set_zoom(vz_app *a, float z) {
    if (z < 0.5f) z = 0.5f;
    if (z > 3.0f) z = 3.0f;
    a->zoom = z;
}

/* Removes the last UTF-8 character of s. */
static void pop_utf8(char *s) {
    size_t n = strlen(s);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xC0) == 0x80) n--;
    if (n > 0) n--;
    s[n] = 0;
}

/* Handles an event while the input is being edited; returns 1 if it consumed it. */
static int edit_event(vz_app *a, const SDL_Event *e) {
    if (e->type == SDL_TEXTINPUT) {
        size_t n = strlen(a->edit), k = strlen(e->text.text);
        if (n + k < sizeof a->edit) memcpy(a->edit + n, e->text.text, k + 1);
        return 1;
    }
    if (e->type != SDL_KEYDOWN) return 0;
    switch (e->key.keysym.sym) {
    case SDLK_BACKSPACE: pop_utf8(a->edit); return 1;
    case SDLK_ESCAPE: a->editing = 0; SDL_StopTextInput(); say(a, vz_tr(a->lang, VZ_S_MSG_EDIT_CANCEL)); return 1;
    case SDLK_RETURN: case SDLK_KP_ENTER: {
        a->editing = 0;
        SDL_StopTextInput();
        sf_err err = vz_app_set_input(a, a->edit);
        say(a, err.ok ? vz_tr(a->lang, VZ_S_MSG_INPUT_OK) : err.msg);
        return 1;
    }
    default: return 1; /* while editing, other keys belong to the text (they arrive as SDL_TEXTINPUT) */
    }
}

/* Handles one key press outside editing; returns 1 if the key is bound. */
static int key_event(vz_app *a, const SDL_Keysym *k) {
    int shift = (k->mod & KMOD_SHIFT) != 0;
    switch (k->sym) {
    case SDLK_RIGHT: case SDLK_SPACE: vz_app_goto(a, a->v.step + 1); return 1;
    case SDLK_LEFT: vz_app_goto(a, a->v.step - 1); return 1;
    case SDLK_n: vz_app_goto(a, next_token_step(a)); return 1;
    case SDLK_r: vz_app_goto(a, 0); say(a, vz_tr(a->lang, VZ_S_MSG_RESET)); return 1;
    case SDLK_LEFTBRACKET: if (a->v.block > 0) a->v.block--; return 1;
    case SDLK_RIGHTBRACKET: if (a->v.block + 1 < a->v.n_blocks) a->v.block++; return 1;
    case SDLK_e:
        a->editing = 1;
        snprintf(a->edit, sizeof a->edit, "%s", a->input);
        SDL_StartTextInput();
        return 1;
    case SDLK_t: set_temperature(a, a->v.temperature + (shift ? 0.1f : -0.1f)); return 1;
    case SDLK_s: a->want_save = 1; return 1;
    case SDLK_F11: a->want_fullscreen = !a->want_fullscreen; return 1;
    case SDLK_PLUS: case SDLK_KP_PLUS: set_zoom(a, a->zoom * 1.15f); return 1;
    case SDLK_EQUALS: if (shift) set_zoom(a, a->zoom * 1.15f); return 1;
    case SDLK_MINUS: case SDLK_KP_MINUS: set_zoom(a, a->zoom / 1.15f); return 1;
    case SDLK_QUESTION: a->v.help = !a->v.help; return 1;
    case SDLK_SLASH: if (shift) { a->v.help = !a->v.help; return 1; } return 0;
    case SDLK_q: a->quit = 1; return 1;
    /* display keys (v2's key table binds the same functions) */
    case SDLK_p: vz_app_set_projector(a, !a->projector); return 1;
    case SDLK_TAB: vz_app_spotlight_next(a, shift ? -1 : 1); return 1;
    case SDLK_l: vz_app_set_lang(a, a->lang == VZ_LANG_ZH ? VZ_LANG_EN : VZ_LANG_ZH); return 1;
    case SDLK_m: if (shift) vz_app_cycle_theme(a); else vz_app_cycle_cmap(a); return 1;
    case SDLK_ESCAPE: if (a->v.help) a->v.help = 0; else a->quit = 1; return 1;
    default:
        if (k->sym >= SDLK_1 && k->sym <= SDLK_9) {
            int h = (int)(k->sym - SDLK_1);
            if (h < a->m.cfg.n_heads) a->v.head = h;
            return 1;
        }
        return 0;
    }
}

/* Handles a left click: focuses the panel under it and acts on the click region there; returns 1. */
static int click_event(vz_app *a, int x, int y) {
    for (int p = 0; p < VZ_P_COUNT; p++)
        if (vz_rect_has(a->ctx.lay.r[p], x, y)) a->v.focus_panel = p;
    const vz_click *c = vz_click_at(&a->ctx, x, y);
    if (!c) return 1;
    int i;
    switch (c->kind) {
    case VZ_CLICK_THUMB:
        if (c->a >= 0 && c->a < a->v.n_blocks) a->v.block = c->a;
        if (c->c == 1) a->v.enlarged = 1;                        /* a thumbnail: enlarge it */
        else a->v.enlarged = a->v.head == c->b ? !a->v.enlarged : a->v.enlarged; /* a big head: toggle */
        a->v.head = c->b;
        return 1;
    case VZ_CLICK_ARCH:
        if ((i = block_step(a, c->a, c->b, c->c)) >= 0) vz_app_goto(a, i);
        return 1;
    case VZ_CLICK_TOKEN:
        if ((i = token_step(a, c->a, c->b)) >= 0) vz_app_goto(a, i);
        return 1;
    case VZ_CLICK_SPOT: a->spotlight = c->a; return 1;
    case VZ_CLICK_STAGE: a->v.act_stage = a->v.act_stage == c->a ? -1 : c->a; return 1;
    default: return 1;
    }
}

int vz_app_event(vz_app *a, const SDL_Event *e) {
    if (a->editing && edit_event(a, e)) return 1;
    switch (e->type) {
    case SDL_QUIT: a->quit = 1; return 1;
    case SDL_KEYDOWN: return key_event(a, &e->key.keysym);
    case SDL_TEXTINPUT: /* '?' and '+' arrive here on layouts where they need a modifier */
        if (!strcmp(e->text.text, "?")) { a->v.help = !a->v.help; return 1; }
        return 0;
    case SDL_MOUSEMOTION: a->ctx.mx = e->motion.x; a->ctx.my = e->motion.y; return 1;
    case SDL_MOUSEBUTTONDOWN:
        a->ctx.mx = e->button.x; a->ctx.my = e->button.y;
        return e->button.button == SDL_BUTTON_LEFT ? click_event(a, e->button.x, e->button.y) : 0;
    case SDL_DROPFILE: { /* a model file dropped on the window; SDL hands the name to us to free */
        if (e->drop.file) vz_app_open_model(a, e->drop.file);
        SDL_free(e->drop.file);
        return 1;
    }
    case SDL_MOUSEWHEEL: {
        float z = a->v.heat_zoom * (e->wheel.y > 0 ? 1.25f : e->wheel.y < 0 ? 0.8f : 1.0f);
        a->v.heat_zoom = z < 0.25f ? 0.25f : z > 8.0f ? 8.0f : z;
        return 1;
    }
    default: return 0;
    }
}

sf_err vz_app_save_png(vz_app *a, int w, int h, const char *path) {
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!s) return sf_fail("png: %s", SDL_GetError());
    sf_err e = sf_ok();
    if (SDL_RenderReadPixels(a->r, NULL, SDL_PIXELFORMAT_ARGB8888, s->pixels, s->pitch) != 0)
        e = sf_fail("png: cannot read the pixels back: %s", SDL_GetError());
    else if (IMG_SavePNG(s, path) != 0)
        e = sf_fail("%s: cannot write the PNG: %s", path, IMG_GetError());
    SDL_FreeSurface(s);
    return e;
}

void vz_app_frame(vz_app *a, int w, int h) {
    a->frames++;
    if (a->status[0] && SDL_GetTicks() - a->status_ms > 4000) a->status[0] = 0;
    char edit_line[1100];
    if (a->editing) {
        const char *tail = a->edit; /* long inputs: show the end being typed (whole UTF-8 characters) */
        size_t n = strlen(tail);
        if (n > 48) {
            tail += n - 48;
            while (((unsigned char)*tail & 0xC0) == 0x80) tail++;
        }
        snprintf(edit_line, sizeof edit_line, vz_tr(a->lang, VZ_S_MSG_EDIT_LINE), tail == a->edit ? "" : "...", tail);
        a->v.status = edit_line;
    } else {
        a->v.status = a->status[0] ? a->status : NULL;
    }
    a->v.projector = a->projector;
    a->v.spotlight = a->spotlight;
    vz_ctx_style(&a->ctx, a->theme, a->cmap, a->lang);
    vz_draw_all(&a->ctx, &a->v, w, h, a->zoom, a->only);
    a->v.status = NULL;
    if (a->only < 0 && a->zoom > a->ctx.lay.zoom + 1e-3f) { /* the window holds no more: - works at once */
        a->zoom = a->ctx.lay.zoom;
        char msg[160];
        snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_ZOOM_MAX), (double)a->zoom);
        say(a, msg);
    }
    if (a->want_save) {
        a->want_save = 0;
        snprintf(a->saved, sizeof a->saved, "stepformer-step%d.png", a->v.step);
        sf_err e = vz_app_save_png(a, w, h, a->saved);
        char msg[1024];
        if (e.ok) snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_SAVED), a->saved);
        else snprintf(msg, sizeof msg, "%s", e.msg);
        say(a, msg);
    }
}
