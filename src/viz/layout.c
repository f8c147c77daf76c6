/* layout.c - a fixed three-column grid between a top strip and a narration strip. */
#include "layout.h"

#include <string.h>

float vz_layout_scale(int w, int h, float zoom) {
    float sw = (float)w / 1920.0f, sh = (float)h / 1080.0f;
    float s = (sw < sh ? sw : sh) * zoom;
    if (s < 0.5f) s = 0.5f;
    if (s > 6.0f) s = 6.0f;
    return s;
}

/* Returns a rectangle, with negative sizes clamped to 0. */
static vz_rect rect(int x, int y, int w, int h) {
    return (vz_rect){x, y, w < 0 ? 0 : w, h < 0 ? 0 : h};
}

/* Splits the span [a, b) at fraction f leaving a gap of g: returns the first part's end. */
static int split(int a, int b, float f, int g, int *second) {
    int m = a + (int)((float)(b - a - g) * f);
    *second = m + g;
    return m;
}

void vz_layout_compute(vz_layout *l, int w, int h, float zoom) {
    vz_layout_compute_narr(l, w, h, zoom, 64.0f);
}

void vz_layout_compute_narr(vz_layout *l, int w, int h, float zoom, float narr_units) {
    memset(l, 0, sizeof *l);
    float s = vz_layout_scale(w, h, zoom);
    l->s = s;
    l->w = w;
    l->h = h;
    l->font = (int)(17.0f * s + 0.5f);
    int g = (int)(6.0f * s + 0.5f);
    if (g < 2) g = 2;
    /* the strips grow with the scale but never take more than a fixed share of the height */
    int top_h = (int)(30.0f * s), tok_h = (int)(84.0f * s), narr_h = (int)(narr_units * s);
    if (top_h > h / 10) top_h = h / 10;
    if (tok_h > h / 5) tok_h = h / 5;
    if (narr_h > (narr_units > 64.0f ? h / 4 : h / 6)) narr_h = narr_units > 64.0f ? h / 4 : h / 6;
    int y = 0;
    l->r[VZ_P_TOP] = rect(0, y, w, top_h);
    y += top_h + g;
    l->r[VZ_P_TOKENS] = rect(g, y, w - 2 * g, tok_h);
    y += tok_h + g;
    int y_end = h - narr_h - g;
    l->r[VZ_P_NARR] = rect(g, y_end + g, w - 2 * g, h - (y_end + g) - g);
    /* columns: 20% | 46% | rest */
    int c1, c2, c2b, c3;
    int x0 = g, x3 = w - g;
    int e1 = split(x0, x3, 0.20f, g, &c2);
    int e2 = split(c2, x3, 0.46f / 0.80f, g, &c3);
    c1 = x0;
    c2b = e2;
    int ys, ye = y_end;
    int a_end = split(y, ye, 0.60f, g, &ys);
    l->r[VZ_P_ARCH] = rect(c1, y, e1 - c1, a_end - y);
    l->r[VZ_P_OUTPUT] = rect(c1, ys, e1 - c1, ye - ys);
    int t_end = split(y, ye, 0.68f, g, &ys);
    l->r[VZ_P_ATTN] = rect(c2, y, c2b - c2, t_end - y);
    l->r[VZ_P_THUMBS] = rect(c2, ys, c2b - c2, ye - ys);
    int y2, y3;
    int s_end = split(y, ye, 0.36f, g, &y2);
    int p_end = split(y2, ye, 0.40f, g, &y3);
    l->r[VZ_P_SCORES] = rect(c3, y, x3 - c3, s_end - y);
    l->r[VZ_P_PE] = rect(c3, y2, x3 - c3, p_end - y2);
    l->r[VZ_P_ACT] = rect(c3, y3, x3 - c3, ye - y3);
}

int vz_rect_overlap(vz_rect a, vz_rect b) {
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0) return 0;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

int vz_rect_has(vz_rect r, int x, int y) {
    return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h;
}

vz_rect vz_rect_inset(vz_rect r, int d) {
    return rect(r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d);
}

static const char *const names[VZ_P_COUNT] = {"top",    "tokens", "arch", "output", "attention",
                                              "thumbs", "scores", "pe",   "activations", "narration"};

const char *vz_panel_name(int p) {
    return p >= 0 && p < VZ_P_COUNT ? names[p] : "?";
}

int vz_panel_parse(const char *name) {
    for (int i = 0; i < VZ_P_COUNT; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}
