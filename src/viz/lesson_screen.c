/* lesson_screen.c - a lesson checked on the screen: played headless by the real player, each frame drawn
 * once, its highlights looked up in the heatmaps the draw context registered (vz_hit: entry, rows, columns,
 * rectangle, clip, hidden row), and every frame reached again by other paths and compared pixel for pixel. */
#include "lesson_screen.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lesson_player.h"
#include "model/sample.h"
#include "panels.h"

typedef struct {
    const char *file;
    const vz_screen_opts *o;
    FILE *out;
    int problems;
    vz_player *p;
    SDL_Surface *surf;
} screen;

/* Writes one problem "file:line:col: msg (at WxH)" and counts it. */
static void report(screen *s, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void report(screen *s, int line, int col, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->problems++;
    if (s->out)
        fprintf(s->out, "%s:%d:%d: %s (on screen at %dx%d%s)\n", s->file, line, col, msg, s->o->w, s->o->h,
                s->o->mode == VZ_SCREEN_PROJECTOR ? ", projector" : "");
}

/* Puts the player's window into the display mode (before the lesson opens, so its app starts in it, and
 * before every frame); returns 0 (with *why) for a mode this build does not have. In projector mode only
 * the spotlight (the lesson's @focus, else the attention panel) and the narration are drawn, the other
 * panels are tabs: the checks below run on what it draws, so a highlight in a hidden panel is reported. */
static int set_mode(vz_player *p, int mode, const char **why) {
    if (mode != VZ_SCREEN_NORMAL && mode != VZ_SCREEN_PROJECTOR) {
        *why = "no such display mode";
        return 0;
    }
    p->projector = mode == VZ_SCREEN_PROJECTOR;
    if (p->have_app) p->app.projector = p->projector;
    return 1;
}

/* Draws the current frame once (the mouse outside the window: no hover tooltip) and returns a hash of its
 * pixels. */
static uint64_t draw(screen *s) {
    vz_player *p = s->p;
    const char *why;
    set_mode(p, s->o->mode, &why); /* (checked before the lesson opened) */
    if (p->have_app) p->app.ctx.mx = p->app.ctx.my = -1;
    vz_player_frame(p, s->o->w, s->o->h);
    SDL_RenderPresent(p->r);
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < s->surf->h; y++) {
        const uint32_t *row = (const uint32_t *)((const uint8_t *)s->surf->pixels + (size_t)y * s->surf->pitch);
        for (int x = 0; x < s->surf->w; x++) h = (h ^ (row[x] | 0xff000000u)) * 1099511628211ull;
    }
    return h;
}

/* Returns 1 if the heatmap of hit h draws an entry of the player's main run (not the compared one). */
static int main_run_hit(const vz_player *p, const vz_hit *h) {
    return h->h.e >= p->app.tr.e && h->h.e < p->app.tr.e + p->app.tr.n;
}

/* Returns the rectangle of the panel that holds point (x, y) (where a heatmap starts), or the whole window. */
static vz_rect panel_at(const vz_ctx *c, int x, int y) {
    for (int q = 0; q < VZ_P_COUNT; q++)
        if (vz_rect_has(c->lay.r[q], x, y)) return c->lay.r[q];
    return (vz_rect){0, 0, c->lay.w, c->lay.h};
}

enum { SEEN_NONE, SEEN_OTHER_ROWS, SEEN_NOT_COMPUTED, SEEN_HIDDEN, SEEN_CLIPPED, SEEN_OK };

/* Returns how well cell (r, k) of entry e shows in the frame just drawn (the best of every heatmap of e). */
static int cell_seen(screen *s, const sf_trace_entry *e, int r, int k) {
    const vz_ctx *c = &s->p->app.ctx;
    int best = SEEN_NONE;
    for (int i = 0; i < c->n_hits; i++) {
        const vz_hit *hit = &c->hits[i];
        const vz_heat *h = &hit->h;
        if (h->e != e || !main_run_hit(s->p, hit)) continue;
        int got;
        if (r < h->row0 || r >= h->row0 + h->nrows || k >= h->ncols) got = SEEN_OTHER_ROWS;
        else if (r - h->row0 >= h->vis) got = SEEN_NOT_COMPUTED;
        else if (h->hide == r + 1) got = SEEN_HIDDEN;
        else {
            int x0 = hit->r.x + (int)((long)k * hit->r.w / h->ncols), x1 = hit->r.x + (int)((long)(k + 1) * hit->r.w / h->ncols);
            int y0 = hit->r.y + (int)((long)(r - h->row0) * hit->r.h / h->nrows);
            int y1 = hit->r.y + (int)((long)(r - h->row0 + 1) * hit->r.h / h->nrows);
            if (x1 == x0) x1++; /* a sub-pixel cell still colours a pixel */
            if (y1 == y0) y1++;
            vz_rect v = hit->clip, pan = panel_at(c, hit->r.x, hit->r.y); /* visible: in the clip and its panel */
            int vx0 = x0 > v.x ? x0 : v.x, vy0 = y0 > v.y ? y0 : v.y;
            int vx1 = x1 < v.x + v.w ? x1 : v.x + v.w, vy1 = y1 < v.y + v.h ? y1 : v.y + v.h;
            if (vx0 < pan.x) vx0 = pan.x;
            if (vy0 < pan.y) vy0 = pan.y;
            if (vx1 > pan.x + pan.w) vx1 = pan.x + pan.w;
            if (vy1 > pan.y + pan.h) vy1 = pan.y + pan.h;
            if (vx0 < 0) vx0 = 0;
            if (vy0 < 0) vy0 = 0;
            if (vx1 > s->o->w) vx1 = s->o->w;
            if (vy1 > s->o->h) vy1 = s->o->h;
            got = vx1 > vx0 && vy1 > vy0 ? SEEN_OK : SEEN_CLIPPED;
        }
        if (got > best) best = got;
    }
    return best;
}

/* Checks a highlight of dec.probs, which the output panel draws as bars of its 16 most likely tokens (as
 * vz_panel_output does): the panel shows the highlighted position and the token is among its bars. */
static void check_bars(screen *s, const sf_lesson_cells *c, const sf_trace_entry *e, int r, int k, const char *what) {
    const vz_view *v = &s->p->app.v;
    vz_rect pr = s->p->app.ctx.lay.r[VZ_P_OUTPUT];
    int t = v->cur.phase == SF_STACK_DEC ? v->cur.token : -1;
    if (t > 0 && !vz_row_visible(v, e, t)) t--;
    if (pr.w <= 0 || pr.h <= 0 || pr.x >= s->o->w || pr.y >= s->o->h)
        report(s, c->line, c->col, "%s is on dec.probs, but the output panel is not on screen%s", what,
               s->o->mode == VZ_SCREEN_PROJECTOR ? " (projector mode shows only the spotlight: @focus output)" : "");
    else if (!strcmp(v->hide.name, "dec.probs"))
        report(s, c->line, c->col, "%s is on dec.probs, which the question hides until its answer", what);
    else if (t < 0 || !vz_row_visible(v, e, t) || t != r)
        report(s, c->line, c->col, "%s is on dec.probs position %d, but the output panel shows %s", what, r,
               t < 0 ? "no prediction yet" : "another position's prediction");
    else {
        int idx[16], n = sf_top_k(sf_trace_row(e, t), s->p->app.m.cfg.vocab_size, 16, idx), in = 0;
        for (int i = 0; i < n; i++) in |= idx[i] == k;
        if (!in) report(s, c->line, c->col, "%s is on token %d of dec.probs, which is not among the bars drawn", what, k);
    }
}

/* Checks that every cell of a highlight (the lesson's, or a revealed answer) is visible on screen. */
static void check_cells(screen *s, const sf_lesson_cells *c, const char *what) {
    const sf_trace *tr = &s->p->app.tr;
    const sf_trace_entry *e = sf_trace_find(tr, c->name);
    if (!e) { report(s, c->line, c->col, "%s names %s, which the player's run does not have", what, c->name); return; }
    int dims[SF_TRACE_MAX_RANK] = {1, 1};
    sf_trace_shape(tr, e, dims);
    if (e->rank < 2) dims[1] = 1;
    int r0 = c->lo[0], r1 = c->hi[0] < 0 ? dims[0] - 1 : c->hi[0];
    int k0 = e->rank < 2 ? 0 : c->lo[1], k1 = e->rank < 2 ? 0 : c->hi[1] < 0 ? dims[1] - 1 : c->hi[1];
    if (!strcmp(c->name, "dec.probs")) {
        for (int r = r0; r <= r1; r++)
            for (int k = k0; k <= k1; k++) {
                int before = s->problems;
                check_bars(s, c, e, r, k, what);
                if (s->problems != before) return;
            }
        return;
    }
    static const char *const why[] = {
        [SEEN_NONE] = "no panel draws it at this step",
        [SEEN_OTHER_ROWS] = "the panels that draw it show other rows or columns",
        [SEEN_NOT_COMPUTED] = "it is drawn, but not computed yet at the cursor (drawn dark)",
        [SEEN_HIDDEN] = "the question hides it until its answer",
        [SEEN_CLIPPED] = "it lies outside the visible part of its panel (clipped away, or past the panel's edge)",
    };
    for (int r = r0; r <= r1; r++)
        for (int k = k0; k <= k1; k++) {
            int seen = cell_seen(s, e, r, k);
            if (seen == SEEN_OK) continue;
            char cell[128];
            if (e->rank < 2) snprintf(cell, sizeof cell, "%s %s=%d", e->name, e->axis[0], r);
            else snprintf(cell, sizeof cell, "%s %s=%d %s=%d", e->name, e->axis[0], r, e->axis[1], k);
            report(s, c->line, c->col, "%s is not visible at %s: %s%s", what, cell, why[seen],
                   seen == SEEN_NONE && s->o->mode == VZ_SCREEN_PROJECTOR
                       ? " (projector mode shows only the spotlight: @focus the panel that draws it)" : "");
            return;
        }
}

/* Checks that an open question does not blank the panel it brings forward: with the scores panel
 * forward, its strips of the asked head and row must not all be hidden. */
static void check_question_panel(screen *s, const sf_lesson_frame *f) {
    if (f->ask.state != 1 || f->panel != SF_PANEL_SCORES) return;
    const vz_ctx *c = &s->p->app.ctx;
    vz_rect pr = c->lay.r[VZ_P_SCORES];
    int shown = 0, hidden = 0;
    for (int i = 0; i < c->n_hits; i++) {
        const vz_hit *h = &c->hits[i];
        if (!main_run_hit(s->p, h) || !vz_rect_has(pr, h->r.x, h->r.y)) continue;
        if (h->h.hide) hidden++;
        else shown++;
    }
    if (hidden && shown <= 1) /* (the mask strip alone is no subject) */
        report(s, f->ask.at.line, f->ask.at.col, "the scores panel this question brings forward is blanked by the question: "
                                                  "the learner cannot read what it shows");
}

/* The names a lesson's narration gives the panels, per language, and the tab a hidden panel is shown as. */
static const struct {
    int lang;
    const char *phrase; /* as the narration writes it (English: any case) */
    int panel;          /* VZ_P_* */
    vz_str tab;         /* its tab's label */
} panel_names[] = {
    {SF_LANG_EN, "scores panel", VZ_P_SCORES, VZ_S_TAB_SCORES},   {SF_LANG_EN, "output panel", VZ_P_OUTPUT, VZ_S_TAB_OUTPUT},
    {SF_LANG_EN, "attention panel", VZ_P_ATTN, VZ_S_TAB_ATTN},    {SF_LANG_EN, "positions panel", VZ_P_PE, VZ_S_TAB_PE},
    {SF_LANG_EN, "activations panel", VZ_P_ACT, VZ_S_TAB_ACT},    {SF_LANG_EN, "the grid", VZ_P_THUMBS, VZ_S_TAB_THUMBS},
    {SF_LANG_EN, "architecture map", VZ_P_ARCH, VZ_S_TAB_ARCH},   {SF_LANG_EN, "lens panel", VZ_P_LENS, VZ_S_TAB_LENS},
    {SF_LANG_ZH, "分数面板", VZ_P_SCORES, VZ_S_TAB_SCORES},       {SF_LANG_ZH, "输出面板", VZ_P_OUTPUT, VZ_S_TAB_OUTPUT},
    {SF_LANG_ZH, "注意力面板", VZ_P_ATTN, VZ_S_TAB_ATTN},         {SF_LANG_ZH, "位置面板", VZ_P_PE, VZ_S_TAB_PE},
    {SF_LANG_ZH, "激活值面板", VZ_P_ACT, VZ_S_TAB_ACT},           {SF_LANG_ZH, "网格", VZ_P_THUMBS, VZ_S_TAB_THUMBS},
    {SF_LANG_ZH, "结构图", VZ_P_ARCH, VZ_S_TAB_ARCH},
};

/* Returns an ASCII letter in lower case, any other byte as it is. */
static char lower(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch; }

/* Returns the first occurrence of needle in [s, end) (ASCII letters in any case when fold), or NULL. */
static const char *find_in(const char *s, const char *end, const char *needle, int fold) {
    size_t n = strlen(needle);
    for (const char *p = s; p + n <= end; p++) {
        size_t i = 0;
        while (i < n && (p[i] == needle[i] || (fold && lower(p[i]) == lower(needle[i])))) i++;
        if (i == n) return p;
    }
    return NULL;
}

/* Returns 1 if the paragraph [s, end) names the tab labelled `label`: "the Scores tab" in English, the label
 * in quotes ("分数" or “分数”) in Chinese. */
static int names_tab(const char *s, const char *end, const char *label, int lang) {
    char a[96], b[96];
    if (lang == SF_LANG_EN) {
        snprintf(a, sizeof a, "%s tab", label);
        return find_in(s, end, a, 1) != NULL;
    }
    snprintf(a, sizeof a, "\"%s\"", label);
    snprintf(b, sizeof b, "\xe2\x80\x9c%s\xe2\x80\x9d", label);
    return find_in(s, end, a, 0) || find_in(s, end, b, 0);
}

/* Checks that the narration (in the language checked) names no panel that is not on screen, unless the same
 * paragraph names the tab the learner clicks to see it: in projector mode most panels are tabs. */
static void check_named_panels(screen *s, int k) {
    const vz_player *p = s->p;
    const sf_lesson_frame *f = &p->lesson.frames[k];
    const vz_ctx *c = &p->app.ctx;
    for (int part = 0; part < 2; part++) {
        if (part == 1 && f->ask.state != 2) break; /* the text after @reveal shows with the answer only */
        const char *text = sf_lesson_text(&p->lesson, k, part, s->o->lang);
        for (const char *para = text; *para;) {
            const char *end = strchr(para, '\n');
            if (!end) end = para + strlen(para);
            for (size_t i = 0; i < sizeof panel_names / sizeof panel_names[0]; i++) {
                if (panel_names[i].lang != s->o->lang) continue;
                if (!find_in(para, end, panel_names[i].phrase, panel_names[i].lang == SF_LANG_EN)) continue;
                vz_rect r = c->lay.r[panel_names[i].panel];
                if (r.w > 0 && r.h > 0 && r.x < s->o->w && r.y < s->o->h) continue; /* on screen */
                const char *label = vz_tr(s->o->lang, panel_names[i].tab);
                if (names_tab(para, end, label, s->o->lang)) continue;
                const char *name = panel_names[i].phrase;
                if (!strncmp(name, "the ", 4)) name += 4;
                report(s, f->line, 1, "the narration of step %d names the %s, which is not on screen%s: name its tab "
                       "(%s\"%s\"%s) or @focus it", f->step + 1, name,
                       s->o->mode == VZ_SCREEN_PROJECTOR ? " (projector mode shows it only as a tab)" : "",
                       s->o->lang == SF_LANG_EN ? "the " : "", label, s->o->lang == SF_LANG_EN ? " tab" : "");
            }
            para = *end ? end + 1 : end;
        }
    }
}

/* Checks what frame k draws (the player stands on it, just drawn). */
static void check_frame(screen *s, int k) {
    vz_player *p = s->p;
    const sf_lesson_frame *f = &p->lesson.frames[k];
    if (p->err[0]) {
        report(s, f->line, 1, "frame %d could not be shown: %s", k + 1, p->err);
        p->err[0] = 0;
    }
    int need, room; /* the narration, at the size the layout chose, fits its pane: none of it is dropped */
    vz_narr_measure(&p->app.ctx, &p->app.v, &need, &room);
    if (need > room) {
        int lh = vz_lh(&p->app.ctx, p->app.ctx.lay.f.narr);
        report(s, f->line, 1, "the narration of frame %d (step %d) does not fit its pane: it needs %d lines of %d px and "
                              "the pane holds %d, so the rest is not shown (shorten the text)", k + 1, f->step + 1,
               (need + lh - 1) / lh, p->app.ctx.lay.f.narr, room / lh);
    }
    for (int i = 0; i < f->n_hl; i++) check_cells(s, &f->hl[i], "this highlight");
    if (f->ask.state == 2 && f->ask.answer >= 0) { /* the revealed answer is outlined where it is drawn */
        sf_lesson_cells a = f->ask.at;
        a.lo[f->ask.free_axis] = a.hi[f->ask.free_axis] = f->ask.answer;
        check_cells(s, &a, "the answer to this question");
    }
    check_question_panel(s, f);
    check_named_panels(s, k);
}

/* Sends a key press to the player. */
static void key(vz_player *p, SDL_Keycode k, Uint16 mod) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.keysym.sym = k;
    e.key.keysym.mod = mod;
    vz_player_event(p, &e);
}

/* Sends a left click at the middle of panel q to the player. */
static void click_panel(vz_player *p, int q) {
    vz_rect r = p->app.ctx.lay.r[q];
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_MOUSEBUTTONDOWN;
    e.button.button = SDL_BUTTON_LEFT;
    e.button.x = r.x + r.w / 2;
    e.button.y = r.y + r.h / 2;
    vz_player_event(p, &e);
}

/* Reports frame k when it drew `got` instead of the pixels it drew going forward. */
static void same_as_forward(screen *s, const uint64_t *fwd, int k, uint64_t got, const char *how) {
    if (got == fwd[k]) return;
    const sf_lesson_frame *f = &s->p->lesson.frames[k];
    report(s, f->line, 1, "frame %d (step %d) looks different %s than going forward: a frame must depend on the lesson "
                          "and its number alone", k + 1, f->step + 1, how);
}

/* Reaches every frame backwards, by jumps, and after the learner answered, pressed a key or clicked, and
 * compares each picture with the one drawn going forward. */
static void check_purity(screen *s, const uint64_t *fwd) {
    vz_player *p = s->p;
    int n = p->lesson.n_frames;
    for (int k = n - 2; k >= 0; k--) {
        vz_player_prev(p);
        same_as_forward(s, fwd, k, draw(s), "when reached going back");
    }
    for (int i = 0; i < n; i++) {
        int k = (int)(((long)i * 7 + 3) % n);
        vz_player_goto(p, k);
        same_as_forward(s, fwd, k, draw(s), "when jumped to");
    }
    for (int k = 0; k + 1 < n; k++) {
        const sf_lesson_frame *f = &p->lesson.frames[k];
        vz_player_goto(p, k);
        draw(s);
        int next = k + 1;
        if (f->ask.state == 1 && f->ask.answer >= 0) { /* a wrong answer, then on past the answer frame */
            vz_player_pick(p, f->ask.answer == 0 ? 1 : 0);
            next = k + 2;
            if (next >= n) continue;
        }
        draw(s);
        key(p, SDLK_RIGHT, KMOD_LSHIFT); /* explore: an operation of the cursor, a click on the attention panel */
        draw(s);
        click_panel(p, VZ_P_ATTN);
        key(p, SDLK_PAGEDOWN, 0);
        same_as_forward(s, fwd, next, draw(s), "after the learner answered, stepped or clicked on the frame before");
    }
}

/* Checks a lesson on the screen; see lesson_screen.h. */
int vz_lesson_screen_check(const char *path, const vz_screen_opts *o, FILE *out, sf_err *err) {
    *err = sf_ok();
    screen s = {path, o, out, 0, NULL, NULL};
    const char *why = NULL;
    vz_font_paths fp;
    sf_err e = vz_font_find(o->font, &fp);
    if (!e.ok) { *err = e; return -1; }
    s.surf = SDL_CreateRGBSurfaceWithFormat(0, o->w, o->h, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = s.surf ? SDL_CreateSoftwareRenderer(s.surf) : NULL;
    s.p = calloc(1, sizeof *s.p);
    uint64_t *fwd = NULL;
    if (!s.surf || !r || !s.p) { *err = sf_fail("screen check: %s", s.p ? SDL_GetError() : "out of memory"); goto done; }
    vz_player_init(s.p, r, &fp, o->lang);
    s.p->model_dir = o->model_dir;
    if (!set_mode(s.p, o->mode, &why)) { *err = sf_fail("screen check: %s", why); goto done; }
    if (!(e = vz_player_open(s.p, path)).ok) { *err = e; goto done; }
    int n = s.p->lesson.n_frames;
    fwd = calloc((size_t)n, sizeof *fwd);
    if (!fwd) { *err = sf_fail("screen check: out of memory"); goto done; }
    for (int k = 0; k < n; k++) {
        if (k) vz_player_next(s.p);
        fwd[k] = draw(&s);
        check_frame(&s, k);
    }
    if (o->purity) check_purity(&s, fwd);
done:
    free(fwd);
    if (s.p) vz_player_free(s.p);
    free(s.p);
    if (r) SDL_DestroyRenderer(r);
    if (s.surf) SDL_FreeSurface(s.surf);
    return err->ok ? s.problems : -1;
}
