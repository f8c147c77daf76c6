/* panel_narr.c - the narration: without a lesson, one sentence saying what the cursor's operation does and
 * its formula; in a lesson, the step's title and text, a question's verdict or what to do, where we are in
 * the lesson and the keys, and the formula. In projector mode it is a column beside the spotlight. */
#include <stdio.h>
#include <string.h>

#include "panels.h"

/* Where the narration's parts go: the text (title, text, verdict) and the side (lesson info, formula). */
typedef struct {
    vz_rect text, side;
    int column;  /* 1: one column, the side part under the text (projector beside the spotlight) */
} narr_geom;

/* Returns the text of the narration: a lesson's, or the sentence of the cursor's operation. */
static const char *narr_text(const vz_ctx *c, const vz_view *v) {
    return v->narration ? v->narration : vz_op_sentence(v, c->lang);
}

/* Writes the lesson info the narration shows into out: all of it, or (projector) its first line, where
 * the lesson and the step are (the keys are the presenter's, not the room's). Returns out, or NULL. */
static const char *info_text(const vz_ctx *c, const vz_view *v, char *out, size_t size) {
    if (!v->lesson_info) return NULL;
    snprintf(out, size, "%s", v->lesson_info);
    if (c->lay.projector) {
        char *nl = strchr(out, '\n');
        if (nl) *nl = 0;
    }
    return out;
}

/* Returns the height the side part (lesson info, formula) takes at width w. */
static int side_height(vz_ctx *c, const vz_view *v, int w, int px) {
    int h = 0;
    char info[512];
    if (info_text(c, v, info, sizeof info)) h += vz_wrap_height(c, info, px, w) + c->lay.pad / 2;
    return h + vz_wrap_height(c, vz_op_formula(v, c->lang), px, w);
}

/* Lays the narration out in r (inside its frame). */
static narr_geom geom(vz_ctx *c, const vz_view *v, vz_rect r) {
    narr_geom g;
    int pad = c->lay.pad, px = c->lay.f.label;
    g.column = c->lay.arr == VZ_ARR_BESIDE;
    if (g.column) {
        int sh = side_height(c, v, r.w, px);
        if (sh > r.h / 3) sh = r.h / 3;
        g.side = (vz_rect){r.x, r.y + r.h - sh, r.w, sh};
        g.text = (vz_rect){r.x, r.y, r.w, r.h - sh - 2 * pad};
        return g;
    }
    int fw = r.w * (c->lay.arr == VZ_ARR_BELOW ? 1 : v->lesson ? 3 : 4) / (c->lay.arr == VZ_ARR_BELOW ? 4 : 10); /* (below
                                                       * a spotlight: a quarter, the text the most width) */
    g.text = (vz_rect){r.x, r.y, r.w - fw - 2 * pad, r.h};
    g.side = (vz_rect){r.x + r.w - fw, r.y, fw, r.h};
    return g;
}

/* Returns the height the text part needs at size px and width w. */
static int text_height(vz_ctx *c, const vz_view *v, int px, int w, int column) {
    int h = 0, pad = c->lay.pad;
    if (v->narration_title) h += vz_wrap_height(c, v->narration_title, px, w) + pad / 2;
    h += vz_wrap_height(c, narr_text(c, v), px, w);
    if (column && v->verdict) h += pad + vz_wrap_height(c, v->verdict, px, w);
    return h;
}

int vz_narr_fits(vz_ctx *c, const vz_view *v) {
    int need, room;
    vz_narr_measure(c, v, &need, &room);
    return need <= room;
}

void vz_narr_measure(vz_ctx *c, const vz_view *v, int *need, int *room) {
    vz_layout *l = &c->lay;
    *need = *room = 0;
    if (!vz_layout_shown(l, VZ_P_NARR)) return;
    narr_geom g = geom(c, v, vz_rect_inset(l->r[VZ_P_NARR], l->pad));
    *need = text_height(c, v, l->f.narr, g.text.w, g.column);
    *room = g.text.h;
}

int vz_narr_need(vz_ctx *c, const vz_view *v) {
    vz_layout *l = &c->lay;
    if (!vz_layout_shown(l, VZ_P_NARR)) return 0;
    int pad = l->pad, lab = l->f.label;
    narr_geom g = geom(c, v, vz_rect_inset(l->r[VZ_P_NARR], pad));
    if (g.column) return l->r[VZ_P_NARR].h;
    int text = text_height(c, v, l->f.body, g.text.w, 0);
    /* the side, as vz_panel_narration fills it: the verdict, where the lesson is, the formula */
    int side = 0;
    if (v->verdict) side += vz_wrap_height(c, v->verdict, v->lesson ? lab : l->f.body, g.side.w) + pad / 2;
    char info[512];
    if (info_text(c, v, info, sizeof info)) side += vz_wrap_height(c, info, lab, g.side.w) + pad / 2;
    side += vz_wrap_height(c, vz_op_formula(v, c->lang), v->lesson ? lab : l->f.body, g.side.w);
    return (text > side ? text : side) + 2 * pad;
}

void vz_narr_fit(vz_ctx *c, const vz_view *v) {
    vz_layout *l = &c->lay;
    l->f.narr = l->f.body;
    if (!vz_layout_shown(l, VZ_P_NARR)) return;
    vz_rect in = vz_rect_inset(l->r[VZ_P_NARR], l->pad);
    narr_geom g = geom(c, v, in);
    /* from the body size down to the mode's narration minimum, the largest size at which all of it fits */
    int px = l->f.body;
    while (px > l->min_narr && text_height(c, v, px, g.text.w, g.column) > g.text.h) px -= px > 24 ? 2 : 1;
    if (px < l->min_narr) px = l->min_narr;
    l->f.narr = px;
}

void vz_panel_narration(vz_ctx *c, const vz_view *v, vz_rect r) {
    vz_fill_panel(c, r);
    vz_outline(c, r, v->focus_panel == VZ_P_NARR ? c->th->focus : c->th->edge, 1);
    int pad = c->lay.pad, px = c->lay.f.narr, lab = c->lay.f.label;
    vz_rect in = vz_rect_inset(r, pad);
    narr_geom g = geom(c, v, in);
    vz_rect t = g.text;
    int y = t.y;
    if (v->narration_title) y = vz_wrap(c, v->narration_title, px, c->th->accent, t) + pad / 2;
    y = vz_wrap(c, narr_text(c, v), px, c->th->fg, (vz_rect){t.x, y, t.w, t.y + t.h - y});
    vz_rect s = g.side;
    if (g.column) {
        if (v->verdict) vz_wrap(c, v->verdict, px, v->verdict_ok ? c->th->good : c->th->accent, (vz_rect){t.x, y + pad, t.w, t.y + t.h - y - pad});
        vz_line(c, s.x, s.y - pad, s.x + s.w, s.y - pad, c->th->edge);
    } else {
        vz_line(c, s.x - pad, s.y, s.x - pad, s.y + s.h, c->th->edge);
    }
    int y2 = s.y;
    if (!g.column && v->verdict) y2 = vz_wrap(c, v->verdict, v->lesson ? lab : px, v->verdict_ok ? c->th->good : c->th->accent, s) + pad / 2;
    char info[512];
    if (info_text(c, v, info, sizeof info)) y2 = vz_wrap(c, info, lab, c->th->dim, (vz_rect){s.x, y2, s.w, s.y + s.h - y2}) + pad / 2;
    const char *f = vz_op_formula(v, c->lang);
    int fpx = v->lesson || g.column ? lab : px;
    if (vz_wrap_height(c, f, fpx, s.w) > s.y + s.h - y2) return; /* the side is full: the formula gives way whole
        rather than end in "…" (lesson 10 step 5 in Chinese at 1024x768 projector, Scores tab: the narration below it) */
    vz_wrap(c, f, fpx, c->th->accent, (vz_rect){s.x, y2, s.w, s.y + s.h - y2});
}
