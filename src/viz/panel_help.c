/* panel_help.c - the help overlay listing every key (and a lesson's keys while one plays). Drawn over the
 * panels (its texts are logged as an overlay). */
#include "panels.h"

void vz_help(vz_ctx *c, const vz_view *v) {
    static const char *const lesson_keys[][2] = {
        {"PageDown / Enter", "next lesson step (on a question: show the answer)"},
        {"PageUp / Backspace", "previous lesson step"},
        {"Home / End", "first / last lesson step"},
        {"l", "lesson language: English / \xe4\xb8\xad\xe6\x96\x87"},
        {"click a cell", "answer a question: the key you expect"}};
    static const char *const keys[][2] = {
        {"right / space", "next operation"},        {"left", "previous operation"},
        {"n", "next token"},                        {"r", "reset to the first step"},
        {"1 - 9", "choose head"},                   {"[  ]", "previous / next layer"},
        {"e", "edit the input (Enter runs it, Esc cancels)"},
        {"t / T", "temperature down / up"},         {"s", "save a PNG of the window"},
        {"F11", "full screen"},                     {"+  -", "zoom the whole interface"},
        {"mouse hover", "exact value and its name"}, {"click", "focus a panel, enlarge a head, jump to a block or token"},
        {"wheel", "zoom the attention heatmaps"},   {"?", "this help"},
        {"q / Esc", "quit"}};
    int was = c->owner;
    c->owner = VZ_OWNER_OVERLAY;
    int n = (int)(sizeof keys / sizeof *keys), fs = c->lay.font, lh = fs + fs / 2;
    int nl = v->lesson ? (int)(sizeof lesson_keys / sizeof *lesson_keys) : 0;
    int kw = vz_label_w(c, nl ? "PageUp / Backspace" : "right / space", fs) + vz_px(c, 24);
    int dw = vz_label_w(c, keys[12][1], fs);
    for (int i = 0; i < nl; i++) {
        int lw = vz_label_w(c, lesson_keys[i][1], fs);
        if (lw > dw) dw = lw;
    }
    int w = kw + dw + vz_px(c, 40), h = (n + nl) * lh + vz_px(c, 60);
    vz_rect r = {(c->lay.w - w) / 2, (c->lay.h - h) / 2, w, h};
    vz_fill(c, (vz_rect){0, 0, c->lay.w, c->lay.h}, (vz_rgba){0, 0, 0, 150});
    vz_fill(c, r, (vz_rgba){26, 29, 38, 250});
    vz_outline(c, r, VZ_ACCENT, vz_px(c, 2));
    vz_label(c, "Keys", fs * 5 / 4, VZ_ACCENT, r.x + vz_px(c, 20), r.y + vz_px(c, 12), VZ_LEFT);
    for (int i = 0; i < n; i++) {
        int y = r.y + vz_px(c, 48) + i * lh;
        vz_label(c, keys[i][0], fs, VZ_ACCENT, r.x + vz_px(c, 20), y, VZ_LEFT);
        vz_label(c, keys[i][1], fs, VZ_FG, r.x + vz_px(c, 20) + kw, y, VZ_LEFT);
    }
    for (int i = 0; i < nl; i++) {
        int y = r.y + vz_px(c, 48) + (n + i) * lh;
        vz_label(c, lesson_keys[i][0], fs, VZ_HILITE, r.x + vz_px(c, 20), y, VZ_LEFT);
        vz_label(c, lesson_keys[i][1], fs, VZ_FG, r.x + vz_px(c, 20) + kw, y, VZ_LEFT);
    }
    c->owner = was;
}
