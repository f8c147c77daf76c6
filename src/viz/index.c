/* index.c - the lesson index page: listing the lessons, their thumbnails, the cards grid and its keys. */
#include "index.h"

#include <SDL2/SDL_image.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"
#include "help.h"
#include "lesson_player.h"
#include "panels.h"

/* ---- listing ----------------------------------------------------------------------------------- */

int vz_lesson_number(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    return atoi(b);
}

/* Orders paths (char[1024]) by name. */
static int path_cmp(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* Writes the lesson files (NN-*.md) of dir, sorted, into paths; returns how many (at most max), or -1. */
static int list_files(const char *dir, char (*paths)[1024], int max) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (nm[0] < '0' || nm[0] > '9' || len < 4 || strcmp(nm + len - 3, ".md")) continue;
        snprintf(paths[n++], 1024, "%s/%s", dir, nm);
    }
    closedir(d);
    qsort(paths, (size_t)n, sizeof *paths, path_cmp);
    return n;
}

/* Copies text into out (size bytes) as one line: paragraph breaks become spaces. */
static void one_line(char *out, size_t size, const char *text) {
    snprintf(out, size, "%s", text ? text : "");
    for (char *p = out; *p; p++)
        if (*p == '\n') *p = ' ';
}

int vz_lessons_list(const char *dir, vz_index_entry *entries, int max) {
    char (*paths)[1024] = malloc((size_t)(max > 0 ? max : 1) * sizeof *paths);
    if (!paths) return -1;
    int n = list_files(dir, paths, max);
    for (int i = 0; i < n; i++) {
        vz_index_entry *x = &entries[i];
        memset(x, 0, sizeof *x);
        snprintf(x->path, sizeof x->path, "%s", paths[i]);
        x->number = vz_lesson_number(x->path);
        sf_lesson l;
        sf_lesson_opts o = {0, 0, NULL}; /* titles only: no models run */
        sf_err e = sf_lesson_load(x->path, &o, &l);
        if (!e.ok) { snprintf(x->error, sizeof x->error, "%.250s", e.msg); continue; }
        for (int g = 0; g < SF_LANG_COUNT; g++) {
            if (l.title[g]) snprintf(x->title[g], sizeof x->title[g], "%s", l.title[g]);
            one_line(x->intro[g], sizeof x->intro[g], l.intro[g]);
        }
        x->n_steps = l.n_steps;
        sf_lesson_free(&l);
    }
    free(paths);
    return n;
}

int vz_lessons_neighbour(const char *path, int dir, char *out, size_t size) {
    char folder[1024];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(folder, sizeof folder, "%.*s", (int)(slash - path), path);
    else snprintf(folder, sizeof folder, ".");
    const char *base = slash ? slash + 1 : path;
    char (*paths)[1024] = malloc(VZ_INDEX_MAX * sizeof *paths);
    if (!paths) return 0;
    int n = list_files(folder, paths, VZ_INDEX_MAX), found = 0;
    for (int i = 0; i < n; i++) {
        const char *b = strrchr(paths[i], '/');
        if (strcmp(b ? b + 1 : paths[i], base)) continue;
        int j = i + (dir > 0 ? 1 : -1);
        if (j >= 0 && j < n) { snprintf(out, size, "%s", paths[j]); found = 1; }
        break;
    }
    free(paths);
    return found;
}

/* The largest thumbnail the index loads (a 1024x768 PNG is well under 1 MiB). */
#define VZ_THUMB_MAX_BYTES ((size_t)16 << 20)

void vz_index_load_thumbs(vz_index_entry *entries, int n, const char *dir, SDL_Renderer *r) {
    for (int i = 0; i < n; i++) {
        vz_index_entry *x = &entries[i];
        if (x->thumb || x->number <= 0) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/thumbs/%02d.png", dir, x->number);
        /* checked first (io.h): a FIFO or device there must not block the index, nor a huge file fill memory */
        if (!sf_check_file(path, VZ_THUMB_MAX_BYTES).ok) continue;
        SDL_Surface *s = IMG_Load(path);
        if (!s) continue; /* no picture: the card says so */
        x->thumb = SDL_CreateTextureFromSurface(r, s);
        x->thumb_w = s->w;
        x->thumb_h = s->h;
        SDL_FreeSurface(s);
    }
}

void vz_index_free_thumbs(vz_index_entry *entries, int n) {
    for (int i = 0; i < n; i++)
        if (entries[i].thumb) {
            SDL_DestroyTexture(entries[i].thumb);
            entries[i].thumb = NULL;
        }
}

sf_err vz_player_show_index(vz_player *p, const char *dir) {
    static vz_index_entry fresh[VZ_INDEX_MAX]; /* (large: off the stack) */
    int n = vz_lessons_list(dir, fresh, VZ_INDEX_MAX);
    if (n < 0) return sf_fail("%s: cannot read the lessons folder", dir);
    if (n == 0) return sf_fail("%s: no lessons (files named NN-topic.md) found", dir);
    vz_index_free_thumbs(p->index, p->n_index);
    memcpy(p->index, fresh, (size_t)n * sizeof *fresh);
    p->n_index = n;
    p->sel = 0;
    for (int i = 0; i < n; i++) /* the lesson that is open is the one chosen */
        if (p->have_lesson && !strcmp(p->index[i].path, p->path)) p->sel = i;
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
    vz_index_load_thumbs(p->index, n, dir, p->r);
    p->in_index = 1;
    p->from_index = 1;
    return sf_ok();
}

/* ---- keys -------------------------------------------------------------------------------------- */

/* Opens index entry i (the lesson that is open resumes where it was); on failure the index stays and says why. */
static void open_entry(vz_player *p, int i) {
    if (i < 0 || i >= p->n_index) return;
    p->sel = i;
    if (p->have_lesson && p->have_app && !strcmp(p->index[i].path, p->path)) {
        p->in_index = 0;
        p->index_msg[0] = 0;
        return;
    }
    sf_err e = vz_player_open(p, p->index[i].path);
    if (!e.ok) {
        snprintf(p->index_msg, sizeof p->index_msg, "%.500s", e.msg);
        p->in_index = 1;
    } else {
        p->index_msg[0] = 0;
    }
}

/* Moves the choice to entry i (clamped). */
static void choose(vz_player *p, int i) {
    p->sel = i < 0 ? 0 : i >= p->n_index ? p->n_index - 1 : i;
}

/* Does one action of the key table's index mode; returns 1 if it changed anything. */
static int index_act(vz_player *p, vz_action act) {
    if (p->blank) act = vz_action_when_blank(act);
    switch (act) {
    case VZ_ACT_NEXT: p->help = 0; choose(p, p->sel + 1); return 1;
    case VZ_ACT_PREV: p->help = 0; choose(p, p->sel - 1); return 1;
    case VZ_ACT_FIRST: p->help = 0; choose(p, 0); return 1;
    case VZ_ACT_LAST: p->help = 0; choose(p, p->n_index - 1); return 1;
    case VZ_ACT_OPEN: p->help = 0; open_entry(p, p->sel); return 1;
    case VZ_ACT_SHOW: /* F5: the chosen lesson, full screen */
        p->help = p->blank = 0;
        open_entry(p, p->sel);
        p->want_fullscreen = 1;
        return 1;
    case VZ_ACT_LANG: vz_player_set_lang(p, 1 - p->lang); return 1;
    case VZ_ACT_ZOOM_IN: case VZ_ACT_ZOOM_OUT: {
        float z = p->zoom * (act == VZ_ACT_ZOOM_IN ? 1.15f : 1 / 1.15f);
        p->zoom = z < 0.5f ? 0.5f : z > 3.0f ? 3.0f : z;
        if (p->have_app) p->app.zoom = p->zoom;
        return 1;
    }
    default: return vz_show_act(act, &p->help, &p->blank, &p->want_fullscreen, &p->quit);
    }
}

int vz_index_event(vz_player *p, const SDL_Event *e) {
    switch (e->type) {
    case SDL_QUIT: p->quit = 1; return 1;
    case SDL_KEYDOWN: {
        int arg;
        return index_act(p, vz_key_lookup(VZ_MODE_INDEX, &e->key.keysym, &arg));
    }
    case SDL_TEXTINPUT:
        if (!strcmp(e->text.text, "?") && !p->blank) { p->help = !p->help; return 1; }
        return 0;
    case SDL_MOUSEBUTTONDOWN: {
        if (e->button.button != SDL_BUTTON_LEFT) return 0;
        if (p->blank || p->help) { p->blank = p->help = 0; return 1; }
        const vz_click *k = p->have_ictx ? vz_click_at(&p->ictx, e->button.x, e->button.y) : NULL;
        if (k && k->kind == VZ_CLICK_PICK) open_entry(p, k->a);
        return 1;
    }
    case SDL_MOUSEMOTION: {
        const vz_click *k = p->have_ictx ? vz_click_at(&p->ictx, e->motion.x, e->motion.y) : NULL;
        if (k && k->kind == VZ_CLICK_PICK && k->a != p->sel) { p->sel = k->a; return 1; }
        return 0;
    }
    default: return e->type == SDL_WINDOWEVENT;
    }
}

/* ---- drawing ----------------------------------------------------------------------------------- */

/* Draws entry x's thumbnail into r, letterboxed to its aspect, or a "no picture" box; returns where it went. */
static vz_rect draw_thumb(vz_ctx *c, const vz_index_entry *x, vz_rect r, int px) {
    vz_fill(c, r, c->th->bg);
    if (!x->thumb || x->thumb_w <= 0 || x->thumb_h <= 0) {
        vz_outline(c, r, c->th->edge, 1);
        vz_label(c, vz_tr(c->lang, VZ_S_IDX_NO_THUMB), px, c->th->dim, r.x + r.w / 2, r.y + r.h / 2, VZ_CENTER | VZ_MIDDLE);
        return r;
    }
    int w = r.w, h = (int)((long)r.w * x->thumb_h / x->thumb_w);
    if (h > r.h) { h = r.h; w = (int)((long)r.h * x->thumb_w / x->thumb_h); }
    vz_rect d = {r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, w, h};
    SDL_SetTextureScaleMode(x->thumb, SDL_ScaleModeLinear);
    SDL_RenderCopy(c->r, x->thumb, NULL, &(SDL_Rect){d.x, d.y, d.w, d.h});
    return d;
}

/* Returns the height vz_wrap needs to draw all of s wrapped to width w at px. */
static int text_h(vz_ctx *c, const char *s, int px, int w) { return vz_wrap_height(c, s, px, w); }

/* Writes into out the longest start of s that fits h pixels wrapped to width w at px: all of it, else up to
 * the end of its last sentence that fits, else whole words and an ellipsis. */
static void fit_text(vz_ctx *c, const char *s, int px, int w, int h, char *out, size_t size) {
    snprintf(out, size, "%s", s);
    if (text_h(c, out, px, w) <= h) return;
    size_t best = 0, n = strlen(out);
    for (size_t i = 1; i < n; i++) { /* sentence ends: ". " and the Chinese full stop */
        int end = (out[i - 1] == '.' || out[i - 1] == '!' || out[i - 1] == '?') && out[i] == ' ';
        int zh_end = i >= 3 && !strncmp(out + i - 3, "\xe3\x80\x82", 3);
        if (!end && !zh_end) continue;
        char keep = out[i];
        out[i] = 0;
        if (text_h(c, out, px, w) <= h) best = i;
        out[i] = keep;
    }
    if (best) { out[best] = 0; return; }
    while (n > 0) { /* no sentence fits: drop a word (or a Chinese character) at a time */
        do n--; while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80);
        while (n > 0 && out[n - 1] == ' ') n--;
        char trial[640];
        snprintf(trial, sizeof trial, "%.*s\xe2\x80\xa6", (int)n, out);
        if (text_h(c, trial, px, w) <= h) { snprintf(out, size, "%s", trial); return; }
    }
    out[0] = 0;
}

/* Draws one card: thumbnail with the number on it, title, introduction, step count (and where the open
 * lesson stands). */
static void draw_card(vz_player *p, int i, vz_rect r, int tpx) {
    vz_ctx *c = &p->ictx;
    const vz_index_entry *x = &p->index[i];
    int sel = i == p->sel, lang = p->lang, pad = tpx / 2 + 2;
    vz_fill(c, r, sel ? c->th->tok_seen : c->th->panel);
    vz_outline(c, r, sel ? c->th->accent : c->th->edge, sel ? (tpx / 7 > 2 ? tpx / 7 : 2) : 1);
    /* the thumbnail: 16:9 at the card's height, never more than 40% of its width */
    int th = r.h - 2 * pad, tw = th * 16 / 9;
    if (tw > r.w * 40 / 100) { tw = r.w * 40 / 100; th = tw * 9 / 16; }
    vz_rect tr = {r.x + pad, r.y + (r.h - th) / 2, tw, th};
    p->cards[i].thumb = draw_thumb(c, x, tr, tpx * 2 / 3);
    /* on the thumbnail: the number (top left), the step count (bottom left), where the open lesson stands */
    char num[16], steps[64];
    snprintf(num, sizeof num, "%d", x->number);
    if (x->n_steps == 1) snprintf(steps, sizeof steps, "%s", vz_tr(lang, VZ_S_IDX_STEP1));
    else snprintf(steps, sizeof steps, vz_tr(lang, VZ_S_IDX_STEPS), x->n_steps);
    int mpx = tpx * 2 / 3, bh = tpx + tpx / 3, sh = mpx + mpx / 2;
    int bw = vz_label_w(c, num, tpx) + tpx / 2;
    vz_rgba badge = c->th->panel; /* the labels on the thumbnail sit on the theme's panel colour */
    badge.a = 220;
    vz_fill(c, (vz_rect){tr.x, tr.y, bw, bh}, badge);
    vz_label(c, num, tpx, c->th->accent, tr.x + bw / 2, tr.y + bh / 2, VZ_CENTER | VZ_MIDDLE);
    int sw = 0, open_here = p->have_lesson && !strcmp(x->path, p->path);
    char open[96];
    int ow = 0;
    if (open_here) {
        snprintf(open, sizeof open, vz_tr(lang, VZ_S_IDX_OPEN_NOW), p->lesson.frames[p->it.frame > 0 ? p->it.frame : 0].step + 1);
        ow = vz_label_w(c, open, mpx) + mpx;
    }
    /* the open lesson's badge goes bottom right, beside the step count; where the two would meet (a projector's
     * small thumbnails read "6 s open · step 1"), top right beside the number, and where that is too narrow too,
     * in place of the step count */
    int oy = tr.y + tr.h - sh, steps_fit = !open_here || vz_label_w(c, steps, mpx) + mpx + ow + tpx / 3 <= tw;
    if (!steps_fit && bw + ow + tpx / 3 <= tw) oy = tr.y, steps_fit = 1;
    if (!x->error[0] && steps_fit) {
        sw = vz_label_w(c, steps, mpx) + mpx;
        vz_fill(c, (vz_rect){tr.x, tr.y + tr.h - sh, sw, sh}, badge);
        vz_label(c, steps, mpx, c->th->fg, tr.x + sw / 2, tr.y + tr.h - sh / 2, VZ_CENTER | VZ_MIDDLE);
    }
    if (open_here) { /* the lesson left open */
        vz_fill(c, (vz_rect){tr.x + tr.w - ow, oy, ow, sh}, badge);
        vz_label(c, open, mpx, c->th->good, tr.x + tr.w - ow / 2, oy + sh / 2, VZ_CENTER | VZ_MIDDLE);
    }
    /* the text column: the title (on one line if smaller text makes it fit), then the introduction */
    int x0 = tr.x + tw + pad, w = r.x + r.w - pad - x0, ipx = tpx * 4 / 5, y_end = r.y + r.h - pad;
    if (x->error[0]) {
        vz_wrap(c, x->error, ipx, c->th->hilite, (vz_rect){x0, r.y + pad, w, y_end - r.y - pad});
        return;
    }
    const char *title = x->title[lang][0] ? x->title[lang] : x->title[SF_LANG_EN];
    const char *intro = x->intro[lang][0] ? x->intro[lang] : x->intro[SF_LANG_EN];
    int px = tpx;
    while (px > ipx && vz_label_w(c, title, px) > w) px--;
    int y = vz_wrap(c, title, px, sel ? c->th->accent : c->th->fg, (vz_rect){x0, r.y + pad, w, vz_lh(c, px) * 2});
    vz_rect ir = {x0, y + tpx / 6, w, y_end - y - tpx / 6};
    char fitted[640];
    fit_text(c, intro, ipx, ir.w, ir.h, fitted, sizeof fitted);
    p->cards[i].intro = ir;
    vz_wrap(c, fitted, ipx, c->th->fg, ir);
}

void vz_index_frame(vz_player *p, int w, int h) {
    if (!p->have_ictx || p->blank) { /* no index yet, or the black screen */
        vz_rgba bg = p->blank ? (vz_rgba){0, 0, 0, 255} : vz_theme_get(p->theme)->bg;
        SDL_SetRenderDrawColor(p->r, bg.r, bg.g, bg.b, 255);
        SDL_RenderClear(p->r);
        return;
    }
    vz_ctx *c = &p->ictx;
    vz_ctx_style(c, p->theme, p->cmap, p->lang); /* the theme and language the window shows */
    vz_ctx_begin(c, w, h, p->zoom);
    c->hl = NULL;
    c->n_hl = 0;
    c->hide = NULL;
    SDL_SetRenderDrawColor(p->r, c->th->bg.r, c->th->bg.g, c->th->bg.b, 255);
    SDL_RenderClear(p->r);
    float z = p->zoom > 0 ? p->zoom : 1.0f;
    int m = h / 40 > 6 ? h / 40 : 6, g = h / 80 > 4 ? h / 80 : 4;
    int lo = c->lay.min_text; /* (the normal mode's smallest text) */
    int big = (int)((float)h / 16 * z), spx = (int)((float)h / 42 * z), fpx = h / 48 > lo ? h / 48 : lo;
    if (spx < lo) spx = lo;
    vz_label(c, vz_tr(p->lang, VZ_S_IDX_TITLE), big, c->th->accent, m, m, VZ_LEFT);
    int tw = vz_label_w(c, vz_tr(p->lang, VZ_S_IDX_TITLE), big);
    vz_label(c, vz_tr(p->lang, VZ_S_IDX_SUBTITLE), spx, c->th->fg, m + tw + m, m + big - spx - spx / 4, VZ_LEFT);
    vz_label(c, vz_tr(p->lang, VZ_S_IDX_HINT), spx, c->th->dim, m, m + big + spx / 3, VZ_LEFT);
    /* the grid: two columns on a landscape window (one for a handful of lessons), rows to fill the height */
    int top = m + big + spx + spx / 3 + g * 2, bottom = h - m - fpx - g;
    int gh = bottom - top, gw = w - 2 * m, min_h = h / 9, fit = (gh + g) / (min_h + g);
    if (fit < 1) fit = 1;
    /* (three columns on a wide window, or when two would make the index scroll on a landscape one) */
    int n = p->n_index, cols = n <= 4 || w < h ? 1 : w >= 2 * h || (n + 1) / 2 > fit ? 3 : 2;
    int rows = (n + cols - 1) / cols;
    int shown = rows > fit ? fit : rows;
    int ch = (gh - (shown - 1) * g) / (shown > 0 ? shown : 1), cw = (gw - (cols - 1) * g) / cols;
    int max_h = cw * 2 / 5 > min_h ? cw * 2 / 5 : min_h;
    if (ch > max_h) ch = max_h;
    int sel_row = p->sel / cols; /* scroll so the chosen card shows */
    if (sel_row < p->index_top) p->index_top = sel_row;
    if (sel_row >= p->index_top + shown) p->index_top = sel_row - shown + 1;
    if (p->index_top > rows - shown) p->index_top = rows - shown;
    if (p->index_top < 0) p->index_top = 0;
    int tpx = (int)((float)ch / 5.2f * z);
    if (tpx > h / 20) tpx = h / 20;
    if (tpx < lo) tpx = lo;
    memset(p->cards, 0, sizeof p->cards);
    for (int i = 0; i < n; i++) {
        int row = i / cols - p->index_top, col = i % cols;
        if (row < 0 || row >= shown) continue;
        vz_rect r = {m + col * (cw + g), top + row * (ch + g), cw, ch};
        p->cards[i].card = r;
        draw_card(p, i, r, tpx);
        vz_click_add(c, r, VZ_CLICK_PICK, i, 0, 0);
    }
    int below = n - (p->index_top + shown) * cols;
    if (below > 0) {
        char more[64];
        snprintf(more, sizeof more, vz_tr(p->lang, VZ_S_IDX_MORE), below);
        vz_label(c, more, fpx, c->th->accent, w - m, h - m - fpx, VZ_RIGHT);
    }
    if (p->index_msg[0]) vz_label(c, p->index_msg, fpx, c->th->hilite, m, h - m - fpx, VZ_LEFT);
    else vz_label(c, p->index_dir, fpx, c->th->dim, m, h - m - fpx, VZ_LEFT);
    if (p->help) vz_help_draw(c, VZ_MODE_INDEX);
}
