/* app.c - the event handling and frame drawing shared by the window, the render command and tests. */
#include "app.h"

#include <SDL2/SDL_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "panels.h"

static void say(vz_app *a, const char *msg);

/* Frees what the last run's experiments hold: the original run behind an ablated one, the lens, the roles. */
static void free_experiments(vz_app *a) {
    sf_trace_free(&a->base_tr);
    if (a->base.mem) sf_seq_free(&a->base);
    memset(&a->base, 0, sizeof a->base);
    sf_lens_free(&a->lens);
    free(a->roles);
    a->roles = NULL;
    a->n_roles = 0;
}

/* Runs the model on a->input into the record and rebuilds the trace and the schedule. With heads knocked out
 * (a->iv) the record is the ablated run (sf_run_interv) and the original one goes into a->base; the logit lens
 * (when small enough) and the head-role scores are computed from the record shown, and the lens joins the trace. */
static sf_err rerun(vz_app *a) {
    sf_run_opts o;
    memset(&o, 0, sizeof o);
    o.input = a->input;
    o.target = a->has_target ? a->target : NULL;
    o.max_new = a->max_new;
    o.sampler.temperature = a->v.temperature;
    o.sampler.top_k = a->top_k;
    o.seed = a->seed;
    a->v.seed = a->seed;
    a->v.top_k = a->top_k;
    a->m.cfg.pos = a->pos_off ? SF_POS_NONE : a->pos_own;
    int n_prompt = 0;
    sf_trace_free(&a->tr); /* (the trace points into the lens and the records freed here) */
    free_experiments(a);
    a->v.iv = NULL;
    a->v.base_tr = NULL;
    a->v.roles = NULL;
    a->v.n_roles = 0;
    a->v.ablated = NULL;
    a->ablated[0] = 0;
    sf_err e;
    if (a->iv.n_ablate > 0) {
        a->iv.mode = a->ablate_mode == SF_ABLATE_MEAN ? SF_ABLATE_MEAN : SF_ABLATE_ZERO;
        if (!(e = sf_seq_build(&a->base, &a->m.cfg)).ok) return e;
        e = sf_run_interv(&a->m, &a->base, &a->s, &o, &a->iv, NULL, &n_prompt);
    } else {
        a->s.interv = NULL;
        e = sf_run(&a->m, &a->s, &o, &n_prompt);
    }
    if (!e.ok) return e;
    sf_schedule_free(&a->sched);
    if (!(e = sf_trace_build(&a->tr, &a->m, &a->s)).ok) return e;
    if (!(e = sf_schedule_build(&a->sched, &a->m.cfg, a->s.n_src, a->s.n_tgt)).ok) return e;
    if (a->iv.n_ablate > 0) {
        if (!(e = sf_trace_build(&a->base_tr, &a->m, &a->base)).ok) return e;
        a->v.iv = &a->iv;
        a->v.base_tr = &a->base_tr;
        a->v.ablated = vz_app_ablated_text(a, a->lang, a->ablated, sizeof a->ablated);
    }
    size_t lens_floats = (size_t)a->m.cfg.n_dec_layers * (size_t)a->s.n_tgt * (size_t)a->m.cfg.vocab_size;
    a->v.lens_too_big = lens_floats > VZ_LENS_MAX_FLOATS;
    if (!a->v.lens_too_big && a->s.n_tgt > 0 && (e = sf_lens_compute(&a->lens, &a->m, &a->s)).ok)
        e = sf_lens_trace(&a->tr, &a->lens);
    if (!e.ok) return e;
    if ((e = sf_heads_score(&a->m, &a->s, &a->roles, &a->n_roles)).ok) {
        a->v.roles = a->roles;
        a->v.n_roles = a->n_roles;
    }
    if (!e.ok) return e;
    a->v.n_prompt = n_prompt;
    a->v.input = a->input;
    a->v.pos_off = a->pos_off && a->pos_own != SF_POS_NONE; /* (the panels say "switched off", not "none") */
    a->ctx.generation++;
    int step = a->v.step;
    if (step >= a->sched.n) step = a->sched.n - 1;
    vz_app_goto(a, step < 0 ? 0 : step);
    return sf_ok();
}

const char *vz_app_ablated_text(const vz_app *a, int lang, char *out, size_t size) {
    out[0] = 0;
    if (a->iv.n_ablate <= 0) return out;
    size_t n = (size_t)snprintf(out, size, vz_tr(lang, VZ_S_ABLATED), vz_tr(lang, a->iv.mode == SF_ABLATE_MEAN ? VZ_S_ABLATE_MEAN : VZ_S_ABLATE_ZERO));
    for (int i = 0; i < a->iv.n_ablate && n < size; i++) {
        char name[48];
        n += (size_t)snprintf(out + n, size - n, " %s", sf_head_name(a->iv.ablate[i], name, sizeof name));
    }
    return out;
}

/* Reruns after the set of knocked-out heads changed; a failure puts the set back as it was (old, n_old). */
static sf_err rerun_ablated(vz_app *a, const sf_head_ref *old, int n_old) {
    sf_err e = rerun(a);
    if (e.ok) return e;
    sf_interv_free(&a->iv); /* (rebuilt from the names: the array may be smaller than the old set) */
    int mode = a->ablate_mode;
    sf_interv_init(&a->iv);
    for (int i = 0; i < n_old; i++) {
        char name[48];
        sf_err e3 = sf_interv_add_ablate(&a->iv, &a->m.cfg, sf_head_name(old[i], name, sizeof name));
        (void)e3;
    }
    a->ablate_mode = mode;
    sf_err e2 = rerun(a);
    (void)e2;
    return e;
}

sf_err vz_app_toggle_ablate(vz_app *a, sf_head_ref h) {
    const sf_config *c = &a->m.cfg;
    int nl = h.stack == SF_STACK_ENC ? c->n_enc_layers : c->n_dec_layers;
    if (h.layer < 0 || h.layer >= nl || h.head < 0 || h.head >= c->n_heads) return sf_fail("no such head");
    int n_old = a->iv.n_ablate;
    sf_head_ref *old = n_old ? malloc((size_t)n_old * sizeof *old) : NULL;
    if (n_old && !old) return sf_fail("out of memory");
    for (int i = 0; i < n_old; i++) old[i] = a->iv.ablate[i];
    int at = -1;
    for (int i = 0; i < a->iv.n_ablate; i++)
        if (!memcmp(&a->iv.ablate[i], &h, sizeof h)) at = i;
    char name[48], msg[200];
    sf_head_name(h, name, sizeof name);
    if (at >= 0) { /* put it back */
        for (int i = at; i + 1 < a->iv.n_ablate; i++) a->iv.ablate[i] = a->iv.ablate[i + 1];
        a->iv.n_ablate--;
        free(a->iv.value); /* (the prepared values were for the old set) */
        a->iv.value = NULL;
    } else {
        sf_err e = sf_interv_add_ablate(&a->iv, c, name);
        if (!e.ok) { free(old); say(a, e.msg); return e; }
    }
    sf_err e = rerun_ablated(a, old, n_old);
    free(old);
    if (!e.ok) { say(a, e.msg); return e; }
    snprintf(msg, sizeof msg, vz_tr(a->lang, at >= 0 ? VZ_S_MSG_RESTORED_HEAD : VZ_S_MSG_ABLATED_HEAD), name);
    say(a, msg);
    return e;
}

sf_err vz_app_restore_all(vz_app *a) {
    int mode = a->iv.mode;
    sf_interv_free(&a->iv);
    sf_interv_init(&a->iv);
    a->iv.mode = mode;
    sf_err e = rerun(a);
    say(a, e.ok ? vz_tr(a->lang, VZ_S_MSG_RESTORED_ALL) : e.msg);
    return e;
}

sf_err vz_app_set_ablate_mode(vz_app *a, int mode) {
    a->ablate_mode = mode == SF_ABLATE_MEAN ? SF_ABLATE_MEAN : SF_ABLATE_ZERO;
    sf_err e = sf_ok();
    if (a->iv.n_ablate > 0) {
        free(a->iv.value);
        a->iv.value = NULL;
        e = rerun(a);
    }
    say(a, !e.ok ? e.msg : vz_tr(a->lang, a->ablate_mode == SF_ABLATE_MEAN ? VZ_S_MSG_ABLATE_MEAN : VZ_S_MSG_ABLATE_ZERO));
    return e;
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
    sf_interv_init(&a->iv);
    a->ablate_mode = SF_ABLATE_ZERO;
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
    vz_app_drop_snapshots(a);
    vz_ctx_free(&a->ctx);
    if (a->text) vz_text_destroy(a->text);
    sf_trace_free(&a->tr);
    free_experiments(a);
    sf_interv_free(&a->iv);
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
    sf_interv_free(&a->iv); /* the lesson's @ablate, or none */
    sf_interv_init(&a->iv);
    a->ablate_mode = rs->ablate_mode == SF_ABLATE_MEAN ? SF_ABLATE_MEAN : SF_ABLATE_ZERO;
    sf_err e = rs->ablate && rs->ablate[0] ? sf_interv_add_ablate(&a->iv, &a->m.cfg, rs->ablate) : sf_ok();
    if (e.ok) e = rerun(a);
    if (!e.ok) { /* keep showing the last good run */
        memcpy(a->input, old_in, sizeof a->input);
        memcpy(a->target, old_tg, sizeof a->target);
        a->has_target = old_has;
        a->v.temperature = old_t;
        a->top_k = old_k;
        a->seed = old_seed;
        a->max_new = old_max;
        a->pos_off = old_off;
        sf_interv_free(&a->iv);
        sf_interv_init(&a->iv);
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
    sf_interv_free(&a->iv); /* the knocked-out heads were the old model's */
    sf_interv_init(&a->iv);
    sf_err e = sf_seq_build(&a->s, &a->m.cfg);
    if (e.ok) {
        snprintf(a->input, sizeof a->input, "%s", input ? input : "");
        a->v.step = 0;
        a->v.block = a->v.head = a->v.enlarged = 0;
        vz_view_init_blocks(&a->v);
        if ((e = rerun(a)).ok) {
            sf_seq_free(&old_s);
            sf_model_free(&old_m);
            vz_app_drop_snapshots(a); /* the series was the old model's */
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

/* Returns the index of the first step of the next token (or row) after step i. */
static int next_token_from(const vz_app *a, int i) {
    sf_cursor c = a->sched.steps[i];
    for (int j = i + 1; j < a->sched.n; j++) {
        sf_cursor s = a->sched.steps[j];
        if (s.phase != c.phase || (s.token != c.token && s.token >= 0 && (c.token < 0 || s.token > c.token) &&
                                   s.layer == (c.phase == SF_STACK_DEC ? -1 : c.layer)))
            return j;
    }
    return a->sched.n - 1;
}

/* Returns the first step of the cursor's token if the cursor is past it, else that of the token before
 * (the token starts are the steps `n` lands on from step 0). */
static int prev_token_step(const vz_app *a) {
    int best = 0;
    for (int i = 0; i < a->v.step;) {
        best = i;
        int j = next_token_from(a, i);
        if (j <= i || j >= a->v.step) break;
        i = j;
    }
    return best;
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
    char msg[128];
    if (!e.ok) say(a, e.msg);
    else if (t == 0) say(a, vz_tr(a->lang, VZ_S_MSG_GREEDY));
    else { snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_TEMPERATURE), (double)t); say(a, msg); }
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

/* Writes the characters the model's tokenizer accepts in plain words ("a–z", "A–C =", "0–9 space") into
 * out: runs of three or more consecutive characters as a range; returns out. */
static const char *describe_alphabet(const vz_app *a, char *out, size_t size) {
    size_t len = 0, n = 0;
    char *alpha = sf_tokenizer_alphabet(&a->m.tok, &len);
    out[0] = 0;
    if (!alpha) return out;
    uint32_t cps[512];
    int k = 0;
    for (size_t pos = 0; pos < len && k < 512;) {
        uint32_t cp;
        if (!sf_utf8_decode(alpha, len, &pos, &cp)) break;
        cps[k++] = cp;
    }
    free(alpha);
    for (int i = 0; i < k && n < size;) {
        int j = i;
        while (j + 1 < k && cps[j + 1] == cps[j] + 1) j++;
        char c0[8], c1[8];
        for (int t = 0; t < 2; t++) {
            uint32_t cp = t ? cps[j] : cps[i];
            char *d = t ? c1 : c0;
            if (cp == ' ') snprintf(d, 8, "%s", vz_tr(a->lang, VZ_S_MSG_SPACE)); /* (fits: "space", "空格") */
            else if (cp < 0x20) snprintf(d, 8, "U+%02X", (unsigned)cp);
            else sf_utf8_encode(cp, d);
        }
        if (j - i >= 2) { /* a range: "a–z" */
            n += (size_t)snprintf(out + n, size - n, "%s%s\xe2\x80\x93%s", n ? " " : "", c0, c1);
            i = j + 1;
        } else {
            n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "", c0);
            i++;
        }
    }
    return out;
}

/* Checks text the learner typed against the model before running it; returns 0 and writes a plain
 * message (the character refused and every character the model knows; too long; empty) into msg, or 1. */
static int input_ok(const vz_app *a, const char *text, char *msg, size_t size) {
    size_t len = strlen(text), pos = 0;
    int chars = 0;
    while (pos < len) {
        size_t at = pos;
        uint32_t cp = 0xFFFD;
        int id, n = 0;
        int bad = !sf_utf8_decode(text, len, &pos, &cp);
        if (bad) { pos = at + 1; cp = 0xFFFD; }
        if (!bad) bad = !sf_tokenizer_encode(&a->m.tok, text + at, pos - at, &id, 1, &n).ok || n != 1;
        if (bad) {
            char ch[16], known[400];
            if (cp == ' ') snprintf(ch, sizeof ch, "%s", vz_tr(a->lang, VZ_S_MSG_SPACE));
            else if (cp < 0x20 || pos - at > 4) snprintf(ch, sizeof ch, "U+%04X", (unsigned)cp);
            else snprintf(ch, sizeof ch, "%.*s", (int)(pos - at), text + at);
            snprintf(msg, size, vz_tr(a->lang, VZ_S_MSG_EDIT_REFUSED), ch, describe_alphabet(a, known, sizeof known));
            return 0;
        }
        chars++;
    }
    int room = a->m.cfg.family == SF_FAMILY_ENCDEC ? a->m.cfg.max_len : a->m.cfg.max_len - 1; /* a GPT's prompt follows <bos> */
    if (chars > room) { snprintf(msg, size, vz_tr(a->lang, VZ_S_MSG_EDIT_TOO_LONG), room, chars); return 0; }
    if (chars == 0 && a->m.cfg.family == SF_FAMILY_ENCDEC) { snprintf(msg, size, "%s", vz_tr(a->lang, VZ_S_MSG_EDIT_EMPTY)); return 0; }
    return 1;
}

/* Handles an event while the input is being edited; returns 1 if it consumed it. A refused text keeps
 * the box open with the text and says why in plain words. */
static int edit_event(vz_app *a, const SDL_Event *e) {
    if (e->type == SDL_TEXTINPUT) {
        size_t n = strlen(a->edit), k = strlen(e->text.text);
        if (n + k < sizeof a->edit) memcpy(a->edit + n, e->text.text, k + 1);
        a->edit_msg[0] = 0;
        return 1;
    }
    if (e->type != SDL_KEYDOWN) return 0;
    switch (e->key.keysym.sym) {
    case SDLK_BACKSPACE: pop_utf8(a->edit); a->edit_msg[0] = 0; return 1;
    case SDLK_ESCAPE:
        a->editing = 0;
        a->edit_msg[0] = 0;
        SDL_StopTextInput();
        say(a, vz_tr(a->lang, VZ_S_MSG_EDIT_CANCELLED));
        return 1;
    case SDLK_RETURN: case SDLK_KP_ENTER: {
        if (!input_ok(a, a->edit, a->edit_msg, sizeof a->edit_msg)) return 1;
        sf_err err = vz_app_set_input(a, a->edit);
        if (!err.ok) { snprintf(a->edit_msg, sizeof a->edit_msg, "%.500s", err.msg); return 1; }
        a->editing = 0;
        a->edit_msg[0] = 0;
        SDL_StopTextInput();
        say(a, vz_tr(a->lang, VZ_S_MSG_INPUT_CHANGED));
        return 1;
    }
    default: return 1; /* while editing, other keys belong to the text (they arrive as SDL_TEXTINPUT) */
    }
}

/* Focuses head h if the model has it, else says which heads there are. */
static void focus_head(vz_app *a, int h) {
    int n = a->m.cfg.n_heads;
    char msg[96];
    if (h >= 0 && h < n) { a->v.head = h; return; }
    snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_NO_HEAD), n - 1);
    say(a, msg);
}

int vz_app_act(vz_app *a, vz_action act, int arg) {
    int n_heads = a->m.cfg.n_heads;
    switch (act) {
    case VZ_ACT_NEXT: case VZ_ACT_OP_NEXT: a->v.help = 0; vz_app_goto(a, a->v.step + 1); return 1;
    case VZ_ACT_PREV: case VZ_ACT_OP_PREV: a->v.help = 0; vz_app_goto(a, a->v.step - 1); return 1;
    case VZ_ACT_FIRST: a->v.help = 0; vz_app_goto(a, 0); return 1;
    case VZ_ACT_LAST: a->v.help = 0; vz_app_goto(a, a->sched.n - 1); return 1;
    case VZ_ACT_TOKEN_NEXT: vz_app_goto(a, next_token_from(a, a->v.step)); return 1;
    case VZ_ACT_TOKEN_PREV: vz_app_goto(a, prev_token_step(a)); return 1;
    case VZ_ACT_HEAD: focus_head(a, arg); return 1;
    case VZ_ACT_HEAD_NEXT: a->v.head = (a->v.head + 1) % n_heads; return 1;
    case VZ_ACT_HEAD_PREV: a->v.head = (a->v.head + n_heads - 1) % n_heads; return 1;
    case VZ_ACT_BLOCK_PREV: if (a->v.block > 0) a->v.block--; return 1;
    case VZ_ACT_BLOCK_NEXT: if (a->v.block + 1 < a->v.n_blocks) a->v.block++; return 1;
    case VZ_ACT_EDIT:
        a->editing = 1;
        a->edit_msg[0] = 0;
        snprintf(a->edit, sizeof a->edit, "%s", a->input);
        SDL_StartTextInput();
        return 1;
    case VZ_ACT_TEMP_DOWN: set_temperature(a, a->v.temperature - 0.1f); return 1;
    case VZ_ACT_TEMP_UP: set_temperature(a, a->v.temperature + 0.1f); return 1;
    case VZ_ACT_IDS: a->v.show_ids = !a->v.show_ids; return 1;
    case VZ_ACT_HEAT_UP: /* (kept within the sequence; the panel clamps the window to the heatmap) */
    case VZ_ACT_HEAT_DOWN: {
        int n = a->v.s->n_src > a->v.s->n_tgt ? a->v.s->n_src : a->v.s->n_tgt, k = a->v.heat_scroll + (act == VZ_ACT_HEAT_UP ? -8 : 8);
        a->v.heat_scroll = k < -n ? -n : k > n ? n : k;
        return 1;
    }
    case VZ_ACT_RANGE: a->v.heat_local = !a->v.heat_local; return 1;
    case VZ_ACT_ABLATE: {
        if (a->v.n_blocks <= 0) return 0;
        vz_block b = a->v.blocks[a->v.block];
        vz_app_toggle_ablate(a, (sf_head_ref){b.stack, b.layer, b.sub, a->v.head});
        return 1;
    }
    case VZ_ACT_RESTORE_ALL: vz_app_restore_all(a); return 1;
    case VZ_ACT_ABLATE_MODE: vz_app_set_ablate_mode(a, a->ablate_mode == SF_ABLATE_MEAN ? SF_ABLATE_ZERO : SF_ABLATE_MEAN); return 1;
    case VZ_ACT_SAVE: a->want_save = 1; return 1;
    case VZ_ACT_LANG: vz_app_set_lang(a, a->lang == VZ_LANG_EN ? VZ_LANG_ZH : VZ_LANG_EN); return 1;
    case VZ_ACT_ZOOM_IN: set_zoom(a, a->zoom * 1.15f); return 1;
    case VZ_ACT_ZOOM_OUT: set_zoom(a, a->zoom / 1.15f); return 1;
    case VZ_ACT_PROJECTOR: vz_app_set_projector(a, !a->projector); return 1;
    case VZ_ACT_SPOT_NEXT: vz_app_spotlight_next(a, 1); return 1;
    case VZ_ACT_SPOT_PREV: vz_app_spotlight_next(a, -1); return 1;
    case VZ_ACT_CMAP: vz_app_cycle_cmap(a); return 1;
    case VZ_ACT_THEME: vz_app_cycle_theme(a); return 1;
    case VZ_ACT_SNAP_PREV: case VZ_ACT_SNAP_NEXT:
        if (!a->snaps) { say(a, vz_tr(a->lang, VZ_S_MSG_NO_SNAPSHOTS)); return 1; }
        vz_app_snapshot(a, a->snap_k + (act == VZ_ACT_SNAP_NEXT ? 1 : -1));
        return 1;
    default: return vz_show_act(act, &a->v.help, &a->blank, &a->want_fullscreen, &a->quit);
    }
}

/* Handles one key press outside editing through the key table's gui mode; returns 1 if the key is bound. */
static int key_event(vz_app *a, const SDL_Keysym *k) {
    int arg;
    vz_action act = vz_key_lookup(VZ_MODE_GUI, k, &arg);
    if (a->blank) act = vz_action_when_blank(act);
    return act != VZ_ACT_NONE && vz_app_act(a, act, arg);
}

/* Handles a left click: focuses the panel under it and acts on the click region there (with Ctrl held, a
 * thumbnail of the grid knocks its head out or puts it back); returns 1. */
static int click_event(vz_app *a, int x, int y, int ctrl) {
    for (int p = 0; p < VZ_P_COUNT; p++)
        if (vz_rect_has(a->ctx.lay.r[p], x, y)) a->v.focus_panel = p;
    const vz_click *c = vz_click_at(&a->ctx, x, y);
    if (!c) return 1;
    int i;
    switch (c->kind) {
    case VZ_CLICK_THUMB:
        if (ctrl && c->c == 1 && c->a >= 0 && c->a < a->v.n_blocks) {
            vz_block b = a->v.blocks[c->a];
            a->v.block = c->a;
            a->v.head = c->b;
            vz_app_toggle_ablate(a, (sf_head_ref){b.stack, b.layer, b.sub, c->b});
            return 1;
        }
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
    case VZ_CLICK_TIMELINE: /* the slider: that snapshot, and drag from here */
        a->tl_x = c->a;
        a->tl_w = c->b;
        if (a->snaps) vz_app_snapshot(a, vz_app_snapshot_at(a, x, c->a, c->b));
        return 1;
    default: return 1;
    }
}

int vz_app_event(vz_app *a, const SDL_Event *e) {
    if (a->editing && edit_event(a, e)) return 1;
    switch (e->type) {
    case SDL_QUIT: a->quit = 1; return 1;
    case SDL_KEYDOWN: return key_event(a, &e->key.keysym);
    case SDL_TEXTINPUT: /* '?' arrives here on layouts where it needs another modifier */
        if (!strcmp(e->text.text, "?") && !a->blank) { a->v.help = !a->v.help; return 1; }
        return 0;
    case SDL_MOUSEMOTION:
        a->ctx.mx = e->motion.x; a->ctx.my = e->motion.y;
        if (a->tl_w > 0 && a->snaps && (e->motion.state & SDL_BUTTON_LMASK)) /* dragging the timeline's knob */
            vz_app_snapshot(a, vz_app_snapshot_at(a, e->motion.x, a->tl_x, a->tl_w));
        return 1;
    case SDL_MOUSEBUTTONUP: a->tl_w = 0; return 0;
    case SDL_MOUSEBUTTONDOWN:
        a->ctx.mx = e->button.x; a->ctx.my = e->button.y;
        if (a->blank) return e->button.button == SDL_BUTTON_LEFT ? vz_app_act(a, VZ_ACT_UNBLANK, 0) : 0;
        return e->button.button == SDL_BUTTON_LEFT ? click_event(a, e->button.x, e->button.y, (SDL_GetModState() & KMOD_CTRL) != 0) : 0;
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
    a->ctx.lang = a->lang;
    if (a->status[0] && SDL_GetTicks() - a->status_ms > 4000) a->status[0] = 0;
    if (a->blank) { /* the black screen: nothing else, not even the top bar */
        SDL_SetRenderDrawColor(a->r, 0, 0, 0, 255);
        SDL_RenderClear(a->r);
        return;
    }
    char edit_line[1700];
    if (a->editing) {
        const char *tail = a->edit; /* long inputs: show the end being typed (whole UTF-8 characters) */
        size_t n = strlen(tail);
        if (n > 48) {
            tail += n - 48;
            while (((unsigned char)*tail & 0xC0) == 0x80) tail++;
        }
        int k = snprintf(edit_line, sizeof edit_line, vz_tr(a->lang, VZ_S_MSG_EDIT_PROMPT), tail == a->edit ? "" : "...", tail);
        if (a->edit_msg[0] && k > 0 && (size_t)k < sizeof edit_line)
            snprintf(edit_line + k, sizeof edit_line - (size_t)k, "   %s", a->edit_msg);
        a->v.status = edit_line;
    } else {
        a->v.status = a->status[0] ? a->status : NULL;
    }
    a->v.projector = a->projector;
    a->v.spotlight = a->spotlight;
    a->v.tl_n = a->snaps ? a->snaps->n : 0;
    a->v.tl_k = a->snap_k;
    a->v.tl_steps = a->snap_steps;
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
        a->want_save = 0; /* the file is named after the step the top bar shows (1-based) */
        snprintf(a->saved, sizeof a->saved, "stepformer-step%d.png", a->v.step + 1);
        sf_err e = vz_app_save_png(a, w, h, a->saved);
        char msg[1024];
        if (e.ok) snprintf(msg, sizeof msg, vz_tr(a->lang, VZ_S_MSG_SAVED), a->saved);
        else snprintf(msg, sizeof msg, "%s", e.msg);
        say(a, msg);
    }
}
