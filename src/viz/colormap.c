/* colormap.c - the colour tables, built on first use with cglm vector maths. */
#include "colormap.h"

#include <cglm/cglm.h>
#include <math.h>

static vz_rgba table[VZ_CMAP_COUNT][256];
static uint32_t table_argb[VZ_CMAP_COUNT][256];
static int built;

/* Fills viridis from the published polynomial fit of matplotlib's viridis (max error < 1/255). */
static void build_viridis(vz_rgba *out) {
    vec3 c0 = {0.2777273272234177f, 0.005407344544966578f, 0.3340998053353061f};
    vec3 c1 = {0.1050930431085774f, 1.404613529898575f, 1.384590162594685f};
    vec3 c2 = {-0.3308618287255563f, 0.214847559468213f, 0.09509516302823659f};
    vec3 c3 = {-4.634230498983486f, -5.799100973351585f, -19.33244095627987f};
    vec3 c4 = {6.228269936347081f, 14.17993336680509f, 56.69055260068105f};
    vec3 c5 = {4.776384997670288f, -13.74514537774601f, -65.35303263337234f};
    vec3 c6 = {-5.435455855934631f, 4.645852612178535f, 26.3124352495832f};
    for (int i = 0; i < 256; i++) {
        float t = (float)i / 255.0f;
        vec3 acc; /* Horner: c0 + t*(c1 + t*(c2 + ...)) */
        glm_vec3_copy(c6, acc);
        vec3 *cs[] = {&c5, &c4, &c3, &c2, &c1, &c0};
        for (int k = 0; k < 6; k++) {
            glm_vec3_scale(acc, t, acc);
            glm_vec3_add(acc, *cs[k], acc);
        }
        glm_vec3_clamp(acc, 0.0f, 1.0f);
        out[i] = (vz_rgba){(uint8_t)lrintf(acc[0] * 255), (uint8_t)lrintf(acc[1] * 255), (uint8_t)lrintf(acc[2] * 255),
                           255};
    }
}

/* Fills out by interpolating in linear light between n evenly spaced sRGB anchors (0..1 each). */
static void build_anchors(vz_rgba *out, const float (*anchors)[3], int n) {
    for (int i = 0; i < 256; i++) {
        float x = (float)i / 255.0f * (float)(n - 1);
        int k = (int)x;
        if (k > n - 2) k = n - 2;
        float f = x - (float)k;
        vec3 a, b, m;
        for (int j = 0; j < 3; j++) { /* to linear light, mix, back: keeps the white point clean */
            a[j] = powf(anchors[k][j], 2.2f);
            b[j] = powf(anchors[k + 1][j], 2.2f);
        }
        glm_vec3_lerp(a, b, f, m);
        for (int j = 0; j < 3; j++) m[j] = powf(m[j], 1.0f / 2.2f);
        out[i] = (vz_rgba){(uint8_t)lrintf(m[0] * 255), (uint8_t)lrintf(m[1] * 255), (uint8_t)lrintf(m[2] * 255), 255};
    }
}

/* Fills the blue-white-red diverging map from ColorBrewer RdBu anchors. */
static void build_diverging(vz_rgba *out) {
    static const float anchors[7][3] = {
        {0.019f, 0.188f, 0.380f}, {0.129f, 0.400f, 0.675f}, {0.573f, 0.773f, 0.871f}, {0.969f, 0.969f, 0.969f},
        {0.957f, 0.647f, 0.510f}, {0.698f, 0.094f, 0.169f}, {0.404f, 0.000f, 0.122f}};
    build_anchors(out, anchors, 7);
}

/* Fills the blue-white-orange diverging map: RdBu's blue half, ColorBrewer PuOr's orange half. Blue against
 * orange stays apart for every common colour-vision deficiency (no red against green). */
static void build_blue_orange(vz_rgba *out) {
    static const float anchors[7][3] = {
        {0.019f, 0.188f, 0.380f}, {0.129f, 0.400f, 0.675f}, {0.573f, 0.773f, 0.871f}, {0.969f, 0.969f, 0.969f},
        {0.992f, 0.722f, 0.388f}, {0.878f, 0.510f, 0.078f}, {0.498f, 0.231f, 0.031f}};
    build_anchors(out, anchors, 7);
}

/* Fills cividis (Nunez, Anderton & Renslow 2018, PLoS ONE 13(7):e0199239) from the published map sampled at
 * t = 0, 0.2, ..., 1; its lightness rises almost linearly, so six anchors follow it closely. */
static void build_cividis(vz_rgba *out) {
    static const float anchors[6][3] = {
        {0.000f, 0.135f, 0.305f}, {0.208f, 0.271f, 0.424f}, {0.400f, 0.412f, 0.439f},
        {0.580f, 0.557f, 0.467f}, {0.784f, 0.722f, 0.400f}, {0.996f, 0.910f, 0.220f}};
    build_anchors(out, anchors, 6);
}

/* Builds every table once. */
static void build(void) {
    if (built) return;
    build_viridis(table[VZ_CMAP_VIRIDIS]);
    build_diverging(table[VZ_CMAP_DIVERGING]);
    build_cividis(table[VZ_CMAP_CIVIDIS]);
    build_blue_orange(table[VZ_CMAP_BLUE_ORANGE]);
    for (int m = 0; m < VZ_CMAP_COUNT; m++)
        for (int i = 0; i < 256; i++) table_argb[m][i] = vz_rgba_argb(table[m][i]);
    built = 1;
}

uint32_t vz_rgba_argb(vz_rgba c) {
    return (uint32_t)c.a << 24 | (uint32_t)c.r << 16 | (uint32_t)c.g << 8 | c.b;
}

int vz_cmap_signed(vz_cmap map) { return map == VZ_CMAP_DIVERGING || map == VZ_CMAP_BLUE_ORANGE; }

int vz_cmap_index(vz_cmap map, float t) {
    if (vz_cmap_signed(map)) t = (t + 1.0f) * 0.5f;
    if (!(t > 0.0f)) return 0; /* also NaN */
    if (t >= 1.0f) return 255;
    return (int)(t * 255.0f + 0.5f);
}

vz_rgba vz_cmap_entry(vz_cmap map, int i) {
    build();
    if ((int)map < 0 || map >= VZ_CMAP_COUNT) map = VZ_CMAP_VIRIDIS;
    if (i < 0) i = 0;
    if (i > 255) i = 255;
    return table[map][i];
}

vz_rgba vz_cmap_color(vz_cmap map, float t) {
    build();
    if (isnan(t)) return (vz_rgba){128, 128, 128, 255};
    return table[map][vz_cmap_index(map, t)];
}

uint32_t vz_cmap_argb(vz_cmap map, float t) {
    build();
    if (isnan(t)) return 0xff808080u;
    return table_argb[map][vz_cmap_index(map, t)];
}

const char *vz_cmap_name(vz_cmap map) {
    static const char *const names[VZ_CMAP_COUNT] = {"viridis", "diverging", "cividis", "blue-orange"};
    return (int)map >= 0 && map < VZ_CMAP_COUNT ? names[map] : "?";
}
