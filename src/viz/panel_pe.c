/* panel_pe.c - the positional encoding: four dimensions as curves over the positions (left) and the whole
 * matrix, positions x channels, as a heatmap (right); with a comparison, both runs' matrices. */
#include <math.h>
#include <stdio.h>

#include "panels.h"

/* Returns the height of the lines under the matrix for the cells a lesson frames one by one in entry e ("framed:
 * position 3, dim 0 = 0.14", the trace's value with two decimals, wrapped to width w), the frame's reach included;
 * draws them from (x, y) when draw is set, only the cells too small for their number (vz_heat_unprinted of hm). */
static int pe_framed(vz_ctx *c, const vz_heat *hm, vz_rect g, int x, int y, int w, int draw) {
    int rows[VZ_MAX_HIGHLIGHTS], cols[VZ_MAX_HIGHLIGHTS], sp = c->lay.f.small, need = 0, fr = vz_px(c, 3) + 1;
    char nums[VZ_MAX_HIGHLIGHTS][24], line[128];
    int n = vz_heat_unprinted(c, hm, g, rows, cols, nums, VZ_MAX_HIGHLIGHTS);
    for (int k = 0; k < n; k++) {
        snprintf(line, sizeof line, vz_s(c, VZ_S_PE_FRAMED), rows[k], cols[k], nums[k]);
        int h = vz_wrap_height(c, line, sp, w);
        if (draw) vz_wrap(c, line, sp, c->th->hilite, (vz_rect){x, y + fr + need, w, h});
        need += h;
    }
    return need ? need + fr : 0;
}

void vz_panel_pe(vz_ctx *c, const vz_view *v, vz_rect r) {
    const sf_config *m = &v->m->cfg;
    int stack = v->cur.phase;
    const char *sname = stack == SF_STACK_ENC ? "enc" : "dec";
    char title[160];
    vz_str kind = v->pos_off ? VZ_S_PE_SWITCHED_OFF
                  : m->pos == SF_POS_SINUSOIDAL ? VZ_S_PE_SIN : m->pos == SF_POS_LEARNED ? VZ_S_PE_LEARNED : VZ_S_PE_NONE;
    snprintf(title, sizeof title, vz_s(c, VZ_S_PE_TITLE), vz_s(c, kind), vz_s(c, stack == SF_STACK_ENC ? VZ_S_PE_ENC : VZ_S_PE_DEC));
    vz_rect in = vz_panel_frame(c, r, title, v->focus_panel == VZ_P_PE || c->lay.spot == VZ_P_PE);
    int px = c->lay.f.small, lh = vz_lh(c, px), pad = c->lay.pad, leg_h = vz_legend_h(c);
    if (m->pos == SF_POS_NONE) { /* none: the model has none, or (a lesson's @positions off) it is not added */
        vz_wrap(c, vz_s(c, v->pos_off ? VZ_S_PE_OFF_RUN : VZ_S_PE_OFF), c->lay.f.label, c->th->dim, in);
        return;
    }
    const sf_trace_entry *e = vz_entry(v, "%s.embed.pos", sname);
    if (!e) return;
    int dims[2];
    sf_trace_shape(v->tr, e, dims);
    int n = dims[0], C = dims[1];
    int vis = vz_rows_visible(v, e, n);
    /* left: curves of four dimensions over the positions, their names under them */
    int half = (in.w - pad) / 2;
    vz_rect pl = {in.x, in.y, half, in.h - lh - pad / 2};
    vz_fill(c, pl, c->th->plot);
    int d_pick[4] = {0, 1, C > 8 ? 6 : C - 1, C > 32 ? 16 : C / 2};
    float ymax = vis > 0 ? 1e-6f : 1.0f;
    for (int i = 0; i < vis; i++)
        for (int k = 0; k < 4; k++) {
            float a = fabsf(sf_trace_row(e, i)[d_pick[k]]);
            if (a > ymax) ymax = a;
        }
    int span = n > 1 ? n - 1 : 1;
    vz_line(c, pl.x, pl.y + pl.h / 2, pl.x + pl.w - 1, pl.y + pl.h / 2, c->th->edge);
    int thick = vz_px(c, 1.5f), dot = vz_px(c, 3);
    for (int k = 0; k < 4; k++) {
        SDL_Point pts[SF_MAX_LEN];
        int np = 0;
        for (int i = 0; i < vis && i < SF_MAX_LEN; i++) {
            float y = sf_trace_row(e, i)[d_pick[k]] / ymax;
            pts[np++] = (SDL_Point){pl.x + dot / 2 + (int)((float)i / (float)span * (float)(pl.w - 1 - dot)),
                                    pl.y + pl.h / 2 - (int)(y * (float)(pl.h / 2 - dot))};
        }
        vz_rgba col = c->th->curve[k];
        SDL_SetRenderDrawColor(c->r, col.r, col.g, col.b, 255);
        SDL_SetRenderDrawBlendMode(c->r, SDL_BLENDMODE_NONE);
        for (int th = 0; th < thick && np > 1; th++) { /* thicker lines on big screens */
            for (int i = 0; i < np; i++) pts[i].y += th ? 1 : 0;
            SDL_RenderDrawLines(c->r, pts, np);
        }
        for (int i = 0; i < np; i++) pts[i].y -= thick - 1;
        for (int i = 0; i < np; i++) SDL_RenderFillRect(c->r, &(SDL_Rect){pts[i].x - dot / 2, pts[i].y - dot / 2, dot, dot});
        char t[32], last[32];
        snprintf(t, sizeof t, vz_s(c, VZ_S_PE_DIM), d_pick[k]);
        snprintf(last, sizeof last, vz_s(c, VZ_S_PE_DIM), d_pick[3]);
        if (k > 0 && vz_label_w(c, last, px) > pl.w / 4 - pad / 2) /* narrow: "dim 0", then the numbers alone, never "dim…" */
            snprintf(t, sizeof t, "%d", d_pick[k]);
        vz_print(c, t, px, col, pl.x + k * (pl.w / 4), pl.y + pl.h + pad / 2, VZ_LEFT, pl.w / 4 - pad / 2);
    }
    if (v->cur.phase == stack && v->cur.token >= 0) {
        int x = pl.x + dot / 2 + (int)((float)v->cur.token / (float)span * (float)(pl.w - 1 - dot));
        vz_line(c, x, pl.y, x, pl.y + pl.h - 1, c->th->accent);
    }
    /* right: the matrix, positions x channels, and its legend */
    int fr = vz_px(c, 3) + 1; /* under the caption: room for a lesson's frame around a column (vz_heatmap) */
    vz_rect mr = {in.x + half + pad, in.y + lh + fr, in.w - half - pad, in.h - leg_h - pad / 2 - lh - fr};
    vz_print(c, vz_s(c, VZ_S_PE_MATRIX), px, c->th->dim, mr.x, in.y, VZ_LEFT, mr.w);
    float range = vis > 0 ? vz_absmax(e, 0, vis, C) : 1.0f;
    const sf_trace_entry *ce = v->cmp ? sf_trace_find(v->cmp->tr, e->name) : NULL;
    if (n > 0 && ce) { /* a comparison: the two runs' matrices side by side, each under its run's label */
        int cd[2];
        sf_trace_shape(v->cmp->tr, ce, cd);
        int hw = (mr.w - pad) / 2;
        const sf_trace_entry *two[2] = {e, ce};
        const vz_view *vv[2] = {v, v->cmp};
        /* each run's label, a lesson's ("right: input zyxwvuts") wrapped to its half, both as tall as the longer (at
         * most three lines, the matrices keep the rest) */
        const char *lab[2];
        int lab_h = lh;
        for (int k = 0; k < 2; k++) {
            lab[k] = vv[k]->run_label ? vv[k]->run_label : vz_s(c, k ? VZ_S_RIGHT_RUN : VZ_S_LEFT_RUN);
            if (vz_wrap_height(c, lab[k], px, hw) > 3 * lh) lab[k] = vz_s(c, k ? VZ_S_RIGHT_RUN : VZ_S_LEFT_RUN); /* a
                narrow panel (1024x768, not in focus): "left run", whole, in the colour of the attention panel's label */
            int hk = vz_wrap_height(c, lab[k], px, hw);
            if (hk > lab_h) lab_h = hk;
        }
        if (lab_h > 3 * lh) lab_h = 3 * lh;
        for (int k = 0; k < 2; k++) {
            vz_rect g = {mr.x + k * (hw + pad), mr.y + lab_h, hw, mr.h - lab_h};
            vz_wrap(c, lab[k], px, k ? c->th->focus : c->th->accent, (vz_rect){g.x, mr.y - fr, hw, lab_h});
            int rows = k ? cd[0] : n;
            vz_heat hm = {two[k], 0, rows, C, vz_rows_visible(vv[k], two[k], rows), c->pal->div, 0, range, NULL, 0, 0, 0, NULL, NULL, 1};
            vz_view_align_heat(vv[k], &hm); /* (a run aligned by token: its rows in the left run's token order) */
            int fl = hm.rperm ? 0 : pe_framed(c, &hm, g, g.x, 0, hw, 0); /* framed cells' numbers under the matrix */
            if (fl > 0 && g.h - fl > 2 * rows) g.h -= fl;
            else fl = 0;
            if (rows > 0 && g.h > 0) vz_heatmap(c, k ? "pe.cmp" : "pe", &hm, g);
            if (fl > 0) pe_framed(c, &hm, g, g.x, g.y + g.h, hw, 1);
        }
    } else if (n > 0 && mr.h > 0) {
        vz_heat hm = {e, 0, n, C, vis, c->pal->div, 0, range, NULL, 0, 0, 0, NULL, NULL, 1};
        int fl = pe_framed(c, &hm, mr, mr.x, 0, mr.w, 0); /* framed cells' numbers under the matrix */
        if (fl > 0 && mr.h - fl > 2 * n) mr.h -= fl;
        else fl = 0;
        vz_heatmap(c, "pe", &hm, mr); /* cells need not be square here: positions down, channels across */
        if (fl > 0) pe_framed(c, &hm, mr, mr.x, mr.y + mr.h, mr.w, 1);
    }
    vz_legend(c, (vz_rect){mr.x, in.y + in.h - leg_h, mr.w, leg_h}, c->pal->div, -range, range, 0, vz_s(c, VZ_S_LEG_ABSMAX));
}
